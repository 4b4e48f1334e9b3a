"""Input checks: personal data, sensitive topics, manipulation, abuse, scope and conversation signals.

`InputGuard.check` redacts first; every later check sees only the redacted text, so no
personal value can end up in a verdict, a log line or the LLM prompt.
"""
from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence

import numpy as np
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from guardrails.classifier import ModelFileError, TopicClassifier
from guardrails.features import (
    TOPICS,
    extra_features,
    manipulation_cue,
    shouting_ratio,
    topic_cues,
)
from guardrails.language import detect_language
from guardrails.lexicons import ABUSE_CUES, DID_NOT_HELP, GO_PUBLIC, courtesy_kind, cue_language
from guardrails.pii import describe, redact
from guardrails.policy import Policy
from guardrails.report import HistoryItem, InputReport, Signals
from guardrails.verdict import Span, Verdict

Embed = Callable[[list[str]], np.ndarray]

# Sentence models read ~256 word pieces; the head and tail of a long paste carry the intent
# (injections hide at the end), so the model sees both.
_EMBED_HEAD, _EMBED_TAIL = 700, 300
# A cue this strong decides on its own, whatever the classifier thinks.
_DECISIVE_CUE = 0.9

_VADER = SentimentIntensityAnalyzer()
_WORD = re.compile(r"[a-z0-9']+")


def embed_text(redacted_text: str) -> str:
    """The part of a (redacted) message that is embedded: the whole, or head + tail of a long paste."""
    if len(redacted_text) <= _EMBED_HEAD + _EMBED_TAIL:
        return redacted_text
    return redacted_text[:_EMBED_HEAD] + " … " + redacted_text[-_EMBED_TAIL:]


class InputGuard:
    """Runs every input check on one customer message; cheap except for the optional embedding."""

    def __init__(self, policy: Policy | None = None, embed: Embed | None = None, *,
                 classifier: TopicClassifier | None = None, scope_texts: Sequence[str] | None = None) -> None:
        self.policy = policy or Policy.load()
        self.embed = embed
        if classifier is None and embed is not None:
            try:
                classifier = TopicClassifier.load()
            except ModelFileError:
                classifier = None  # rules alone still work; the report says which ran
        self.classifier = classifier
        self._scope_source: Callable[[], np.ndarray | None] = lambda: None
        if scope_texts:
            self.set_scope(scope_texts)

    def set_scope(self, texts: Sequence[str]) -> None:
        """Embed what the knowledge base covers (titles, FAQ questions) for the outside-KB signal."""
        if self.embed is None:
            raise ValueError("set_scope needs an embed function; pass embed= to InputGuard")
        texts = [t for t in texts if t and t.strip()]
        scope = np.asarray(self.embed(list(texts)), dtype=np.float32) if texts else None
        self._scope_source = lambda: scope

    def set_scope_source(self, source: Callable[[], np.ndarray | None]) -> None:
        """Read what the KB covers from `source` at every check (the index's ingest-time title
        and question vectors), so a re-ingest moves the outside-KB check with it."""
        self._scope_source = source

    @property
    def _scope(self) -> np.ndarray | None:
        return self._scope_source()

    # ------------------------------------------------------------------ main entry

    def check(self, text: str, *, public: bool = False, history: Sequence[HistoryItem] = (),
              embedding: np.ndarray | None = None) -> InputReport:
        """All input checks on one message. `embedding`, if given, must be of embed_text(redacted text)."""
        t0 = time.perf_counter()
        timings: dict[str, float] = {}
        red = redact(text)
        clean = red.text
        timings["pii"] = (time.perf_counter() - t0) * 1000

        verdicts: list[Verdict] = self._pii_verdicts(red.spans)

        t1 = time.perf_counter()
        if embedding is None and self.embed is not None and self.classifier is not None:
            embedding = np.asarray(self.embed([embed_text(clean)])[0], dtype=np.float32)
        timings["embed"] = (time.perf_counter() - t1) * 1000

        t2 = time.perf_counter()
        cues = topic_cues(clean)
        extras = extra_features(clean, cues)
        probs: dict[str, float] = {}
        language = detect_language(clean)
        cue_lang = cue_language(clean)
        lang_code = cue_lang if language.english and cue_lang else language.code
        if embedding is not None and self.classifier is not None:
            probs = self.classifier.predict(np.concatenate([embedding, extras]))
            if lang_code != "en":
                # The sentence model reads English only: in another language its topic guesses are
                # noise, so the multilingual cues decide the topic and nothing else does.
                probs = {k: v for k, v in probs.items() if k not in TOPICS and k != "out_of_scope"}
        courtesy = courtesy_kind(clean)
        smalltalk = bool(courtesy)
        sentiment = _VADER.polarity_scores(clean[:2000])["compound"]

        verdicts.append(Verdict(check="language", category=lang_code, triggered=lang_code != "en",
                                score=round(language.confidence, 4),
                                reason=f"detected {language.raw or '?'} p={language.confidence:.2f}"
                                       + (f"; cue language {cue_lang}" if cue_lang else "")))
        verdicts += self._topic_verdicts(cues, probs, smalltalk)
        verdicts.append(self._manipulation_verdict(clean, probs))
        verdicts.append(self._abuse_verdict(clean))
        verdicts += self._scope_verdicts(clean, probs, embedding, smalltalk, bool(history),
                                         self._context_embedding(embedding, history))
        signals, conv_verdicts = self._conversation(clean, sentiment, history)
        verdicts += conv_verdicts
        timings["checks"] = (time.perf_counter() - t2) * 1000
        timings["total"] = (time.perf_counter() - t0) * 1000
        return InputReport(redacted=red, verdicts=verdicts, sentiment=sentiment, signals=signals,
                           public=public, courtesy=courtesy, embedding=embedding, timings_ms=timings)

    # ------------------------------------------------------------------ checks

    def _pii_verdicts(self, spans: list[Span]) -> list[Verdict]:
        by_kind: dict[str, list[Span]] = {}
        for s in spans:
            by_kind.setdefault(s.kind, []).append(s)
        return [
            Verdict(check="pii", category=kind, triggered=True, score=1.0,
                    reason=f"{len(ss)} × {describe(kind)} (redacted)", spans=ss)
            for kind, ss in by_kind.items()
        ]

    def _topic_verdicts(self, cues: dict[str, tuple[float, str, tuple[int, int] | None]], probs: dict[str, float],
                        smalltalk: bool) -> list[Verdict]:
        th = self.policy.thresholds.topic
        out = []
        for topic in TOPICS:
            cue, label, span = cues[topic]
            prob = probs.get(topic)
            if smalltalk:
                score, why = 0.0, "greeting / acknowledgement"
            elif prob is None:
                score, why = cue, (f"rule: {label}" if label else "no cue (rules only)")
            elif cue >= _DECISIVE_CUE and cue > prob:
                score, why = cue, f"rule: {label}"
            else:
                score, why = prob, f"classifier p={prob:.2f}" + (f"; cue: {label}" if label else "")
            spans = [Span(start=span[0], end=span[1], kind=topic)] if span else []
            out.append(Verdict(check="topic", category=topic, triggered=score >= th.get(topic, 0.5),
                               score=round(score, 4), reason=why, spans=spans))
        return out

    def _manipulation_verdict(self, clean: str, probs: dict[str, float]) -> Verdict:
        cue, labels, spans = manipulation_cue(clean)
        prob = probs.get("manipulation", 0.0)
        if prob < self.policy.thresholds.manipulation_model_only:
            prob = min(prob, self.policy.thresholds.manipulation * 0.99)  # shown, never decisive alone
        score = max(cue, prob)
        why = "; ".join(labels[:3]) if labels else ""
        if prob >= cue:
            why = f"classifier p={prob:.2f}" + (f"; cues: {why}" if why else "")
        return Verdict(check="manipulation", category="manipulation",
                       triggered=score >= self.policy.thresholds.manipulation, score=round(score, 4),
                       reason=why or "no cue", spans=[Span(start=a, end=b, kind="manipulation") for a, b in spans[:5]])

    def _abuse_verdict(self, clean: str) -> Verdict:
        best, label, span = 0.0, "", None
        lowered = clean.lower()
        for cue in ABUSE_CUES:
            m = cue.search(clean, lowered)
            if m and cue.score > best:
                best, label, span = cue.score, cue.label, (m.start(), m.end())
        return Verdict(check="abuse", category="abuse", triggered=best >= self.policy.thresholds.abuse,
                       score=best, reason=label or "no cue",
                       spans=[Span(start=span[0], end=span[1], kind="abuse")] if span else [])

    def _context_embedding(self, embedding: np.ndarray | None, history: Sequence[HistoryItem]) -> np.ndarray | None:
        """This message together with the previous user turn, for follow-ups ("and who pays for the label?").

        A fragment alone looks off-topic; with the turn it follows it is near the KB again. The
        previous turn was embedded as its own message, so a caching embed function answers from cache.
        """
        if embedding is None or self.embed is None or self._scope is None:
            return None
        prev = next((h.text for h in reversed(history) if h.role == "user" and h.text.strip()), None)
        if prev is None:
            return None
        before = np.asarray(self.embed([embed_text(prev)])[0], dtype=np.float32)
        joint = embedding + before
        return joint / max(float(np.linalg.norm(joint)), 1e-9)

    def _scope_verdicts(self, clean: str, probs: dict[str, float], embedding: np.ndarray | None,
                        smalltalk: bool, has_history: bool, context: np.ndarray | None = None) -> list[Verdict]:
        th = self.policy.thresholds
        p_oos = 0.0 if smalltalk else probs.get("out_of_scope", 0.0)
        sim = None
        if self._scope is not None and embedding is not None:
            sim = float(np.max(self._scope @ embedding))
            if context is not None:
                sim = max(sim, float(np.max(self._scope @ context)))
        support = 0.0 if sim is None else float(np.clip((sim - th.scope_low) / max(th.scope_high - th.scope_low, 1e-6), 0, 1))
        # Close to what the KB covers: in scope, whatever the classifier says.
        off_role = p_oos * (1.0 - support)
        verdicts = [Verdict(
            check="scope", category="out_of_scope", triggered=off_role >= th.out_of_scope,
            score=round(off_role, 4),
            reason=f"classifier p={p_oos:.2f}" + (f"; nearest KB text cos={sim:.2f}" if sim is not None else ""),
        )]
        if sim is not None:
            # Far from every KB topic but not clearly off-role: maybe a badly worded real
            # question. Follow-ups in a conversation lean on history, so they are left to retrieval.
            outside = 0.0 if (smalltalk or has_history) else 1.0 - support
            verdicts.append(Verdict(
                check="scope", category="outside_kb", triggered=outside >= 1.0 and not verdicts[0].triggered,
                score=round(outside, 4), reason=f"nearest KB text cos={sim:.2f}",
            ))
        return verdicts

    def _conversation(self, clean: str, sentiment: float, history: Sequence[HistoryItem]) -> tuple[Signals, list[Verdict]]:
        knobs = self.policy.conversation
        users = [h.text for h in history if h.role == "user"]
        # Repeated failure: says the answer did not help, or asks (nearly) the same thing again
        # after the bot already replied.
        rf, why = 0.0, ""
        if DID_NOT_HELP.search(clean) and any(h.role == "bot" for h in history):
            rf, why = 0.8, "says the answer did not help"
        bot_answered = any(h.role == "bot" and h.action in (None, "answer", "clarify") for h in history)
        if users and bot_answered:
            now = set(_WORD.findall(clean.lower()))
            for prev in users[-3:]:
                before = set(_WORD.findall(prev.lower()))
                if len(now) >= 3 and before:
                    jac = len(now & before) / len(now | before)
                    if jac >= 0.6 and jac > rf:
                        rf, why = min(1.0, jac + 0.1), f"asks the same again (overlap {jac:.2f})"
        repeats = sum(1 for h in history if h.role == "user" and DID_NOT_HELP.search(h.text))
        if rf > 0 and repeats:
            rf, why = 1.0, why + f"; {repeats} earlier complaint(s) that it did not help"

        trail = [_VADER.polarity_scores(t[:500])["compound"] for t in users[-2:]] + [sentiment]
        trend = float(np.mean(trail))
        shout = shouting_ratio(clean)
        go_public = bool(GO_PUBLIC.search(clean))
        signals = Signals(repeated_failure=rf, sentiment_trend=round(trend, 4), shouting=round(shout, 4),
                          go_public_threat=go_public, user_turns=len(users) + 1)
        verdicts = [
            Verdict(check="conversation", category="repeated_failure", triggered=rf >= knobs.repeated_failure,
                    score=round(rf, 4), reason=why or "none"),
            Verdict(check="conversation", category="sentiment_trend",
                    triggered=len(trail) >= 2 and trend <= knobs.sentiment_trend, score=round(-trend, 4),
                    reason=f"mean sentiment of last {len(trail)} user turns {trend:+.2f}"),
            Verdict(check="conversation", category="shouting", triggered=shout >= knobs.shouting_ratio,
                    score=round(shout, 4), reason=f"{shout:.0%} capitals"),
            Verdict(check="conversation", category="go_public", triggered=go_public,
                    score=1.0 if go_public else 0.0, reason="threatens to go public" if go_public else "none"),
        ]
        return signals, verdicts
