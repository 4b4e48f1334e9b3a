"""Answer selection: which sentence of the retrieved passages answers the question.

A small linear model scores every candidate sentence from features that mean the same on any
knowledge base: similarity to the question (MiniLM), word overlap weighted by the KB's own
term statistics, whether the sentence states what the question asks for (a duration, an
amount, a time, a place, steps, a yes/no), names and numbers of the question found in it, its
heading, place in the passage and the retriever's rank, and whether it only points elsewhere
or introduces the article. The weights are learned (agent/composers/train_selector.py) from
gold answer spans of real dialogues and the dev brands' expected facts, and shipped in
agent/composers/model/answer_selector.json.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from retrieval.passage import Passage
from retrieval.sentences import ReplySentence, is_faq, reply_candidates

MODEL_PATH = Path(__file__).parent / "model" / "answer_selector.json"

_WORD_RE = re.compile(r"[a-z0-9]+")
_STOP = frozenset("""a an the and or but if to of in on at by for with from as is are was were be been
being do does did doing have has had i me my mine we us our you your yours it its they them their
this that these those what which who whom whose when where why how can could would should will
shall may might must not no yes just so too also there here please thanks thank hi hello hey about
get got any some am im ive id dont doesnt didnt cant wont isnt arent into out up down over than then
very really much many more most such only own same other each all both few one ones let lets ok
okay want need know like""".split())


@lru_cache(maxsize=50000)
def _stem(word: str) -> str:
    """Crude suffix stripping so 'refunds'/'refunded'/'refunding' meet 'refund'."""
    for suffix, repl in (("ies", "y"), ("ied", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)] + repl
    return word


def terms(text: str) -> list[str]:
    """Stemmed content words of a text."""
    return [_stem(w) for w in _WORD_RE.findall(text.lower()) if w not in _STOP and len(w) > 1]


class TermStats:
    """Inverse document frequency of terms over one KB's chunks: a word every article uses
    ("account" in a bank's help center) says little; a rare one ("chargeback") says a lot."""

    def __init__(self, texts: Sequence[str]) -> None:
        df: dict[str, int] = {}
        for text in texts:
            for term in set(terms(text)):
                df[term] = df.get(term, 0) + 1
        self.n = max(len(texts), 1)
        self._df = df
        self._unknown = math.log((self.n + 1) / 0.5)

    def idf(self, term: str) -> float:
        df = self._df.get(term)
        return self._unknown if df is None else math.log((self.n + 1) / (df + 0.5))


# What the question asks for, and whether a sentence states that kind of thing. Plain English
# cues of question and answer types, not any knowledge base's vocabulary.
_UNIT = r"(?:minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?|business days?|working days?)"
_Q_TYPES: dict[str, re.Pattern[str]] = {
    "duration": re.compile(r"\bhow (long|soon|many (minutes|hours|days|weeks|months|years))\b|"
                           r"\bwhen (will|does|do|would|can|should)\b.*\b(arrive|come|get|take|receive|back|"
                           r"reach|expire|ready|processed|clear|land)\b|\b(how quickly|how fast|deadline)\b", re.I),
    "amount": re.compile(r"\bhow much\b|\b(cost|costs|price|prices|fee|fees|charge|charges|charged|pay|"
                         r"paid|rate|rates|interest|limit|limits|minimum|maximum|commission|amount|"
                         r"expensive|cheap|free)\b", re.I),
    "time": re.compile(r"\bwhat time\b|\b(hours|open|opening|close|closing|until|when)\b", re.I),
    "place": re.compile(r"\bwhere\b|\b(address|location|locations|which countries|which cities|"
                        r"deliver to|available in)\b", re.I),
    "steps": re.compile(r"\bhow (do|can|should|would) (i|we|you)\b|\bhow to\b|\b(steps?|process|"
                        r"procedure|what (do|should) i do|what can i do|set up|setup)\b", re.I),
    "yesno": re.compile(r"^\s*(can|could|do|does|did|is|are|was|were|will|would|should|may|have|has|am)\b", re.I),
    "contact": re.compile(r"\b(contact|call|phone|email|e-mail|reach|talk to|speak to|number)\b", re.I),
}
_S_TYPES: dict[str, re.Pattern[str]] = {
    "duration": re.compile(rf"\b\d+(?:[.,]\d+)?(?:\s*(?:-|–|to)\s*\d+)?\s*{_UNIT}\b|\b(within|up to|at least|"
                           rf"immediately|instantly|instant|straight away|right away|same day|next (working |"
                           rf"business )?day|overnight)\b", re.I),
    "amount": re.compile(r"[£$€¥]\s?\d|\d\s?(%|percent|usd|eur|gbp|cad)\b|\b(free|no fee|no charge|"
                         r"costs?|charge[sd]?|fee)\b", re.I),
    "time": re.compile(r"\b\d{1,2}(:\d{2})?\s*(a\.?m\.?|p\.?m\.?)|\b\d{1,2}:\d{2}\b|24/7|\b(monday|tuesday|"
                       r"wednesday|thursday|friday|saturday|sunday|weekdays?|weekends?|midnight|noon|"
                       r"january|february|march|april|june|july|august|september|october|november|"
                       r"december)\b", re.I),
    "place": re.compile(r"\s>\s|\b(under|in the app|on the website|at (the|our|any)|in (the|our|all|most)|"
                        r"address|located|branch|store|office|countries|cities)\b", re.I),
    "steps": re.compile(r"^(go|tap|open|select|choose|click|enter|call|contact|send|visit|use|add|"
                        r"check|log|sign|fill|follow|download|upload|submit|complete|make|find|press|"
                        r"type|pick|bring|take|request|report|update|change|cancel|apply|confirm)\b|"
                        r"\s>\s", re.I),
    "yesno": re.compile(r"\b(yes|no|not|can|can't|cannot|won't|don't|doesn't|never|only|must|need|"
                        r"always|any)\b", re.I),
    "contact": re.compile(r"\b(call|phone|email|e-mail|message us|contact|chat|write to)\b|"
                          r"\+?\d[\d ]{7,}\d|@\w", re.I),
}
_NUMBER_RE = re.compile(r"\d")
# A sentence that sends the reader elsewhere instead of saying the thing.
_POINTER_RE = re.compile(
    r"\b(see|shown|listed|described|explained|covered|mentioned|detailed|outlined)\s+(above|below|"
    r"under|in|on|at|here)\b|\bthe same (link|page|button|steps|form|way|as)\b|\bfor more "
    r"(information|details|info)\b|\b(find|read|learn) (out )?more\b|\bclick here\b|\bsee\s+[A-Z\"“]|"
    r"^\(?see\b|\bas (described|explained|shown|mentioned) (above|below|earlier)\b", re.I)
_INTRO_RE = re.compile(r"\bthis (page|article|guide|section|help page|document)\b|\b(here's|here is) "
                       r"(how|what)\b|\bwe explain\b|\byou'll find\b|\bthis (explains|covers|lists)\b", re.I)
_LEANS_BACK_RE = re.compile(r"(this|that|these|those|it|they|then|after that|otherwise|or|also)\b", re.I)
_TOKEN_RE = re.compile(r"[A-Za-z][A-Za-z'’]*|\d+(?:[.,]\d+)?|[.!?]")

FEATURES = [
    "cos", "cos_gap", "overlap", "overlap_gap", "idf_hits", "heading", "title_restate",
    "q_entities", "entity_agree", "entity_in_passage",
    *[f"match_{t}" for t in _Q_TYPES], *[f"states_{t}" for t in _S_TYPES], "has_number",
    "pointer", "intro", "first_in_passage", "first_chunk", "position",
    "doc_rank0", "doc_rank1", "chunk_rank", "length", "short", "leans_back", "lead_in", "step", "item",
    "faq",
]


@dataclass(frozen=True)
class Candidate:
    """A reply sentence of one of the retrieved passages."""

    passage: int  # index into the passages considered
    sentence: ReplySentence
    key: str  # what it is matched by: the sentence, or an FAQ record's question

    @property
    def text(self) -> str:
        return self.sentence.text

    @property
    def position(self) -> int:
        return self.sentence.position


def candidate_pool(passages: Sequence[Passage]) -> list[Candidate]:
    """Reply sentences of the passages, each said once (articles repeat headings and paragraphs)."""
    pool: list[Candidate] = []
    seen: set[str] = set()
    for pi, passage in enumerate(passages):
        for sentence in _candidates(passage.title, passage.text):
            key = " ".join(_WORD_RE.findall(sentence.text.lower()))
            if key in seen:
                continue
            seen.add(key)
            # An FAQ record is judged by its question: that is what it answers.
            pool.append(Candidate(pi, sentence, passage.title if is_faq(passage) else sentence.text))
    return pool


@lru_cache(maxsize=4096)
def _candidates(title: str, text: str) -> tuple[ReplySentence, ...]:
    """Reply sentences of one chunk, split once per process (chunks recur from turn to turn)."""
    return tuple(reply_candidates(Passage(doc_id="", chunk_id="", title=title, text=text, score=0.0)))


def _entities(question: str) -> set[str]:
    """Names and numbers of the question ("Berlin", "17"), lower-cased."""
    out: set[str] = set()
    starts = True  # a capital at the start of a sentence says nothing
    for token in _TOKEN_RE.findall(question):
        if token in ".!?":
            starts = True
            continue
        if token[0].isdigit() or (token[0].isupper() and not starts):
            low = token.lower()
            if low not in _STOP and (len(low) > 1 or low.isdigit()):
                out.add(low)
        starts = False
    return out


def _heading(passage: Passage) -> str:
    first = passage.text.strip().split("\n", 1)[0]
    return first if first.startswith(passage.title.strip()[:40]) else passage.title


def features(question: str, pool: Sequence[Candidate], passages: Sequence[Passage],
             similarities: np.ndarray | None, stats: TermStats | None) -> np.ndarray:
    """One row of FEATURES per candidate."""
    n = len(pool)
    x = np.zeros((n, len(FEATURES)), dtype=np.float32)
    if n == 0:
        return x
    col = {name: i for i, name in enumerate(FEATURES)}
    sims = np.asarray(similarities, dtype=np.float32) if similarities is not None else np.zeros(n, np.float32)
    idf = stats.idf if stats is not None else (lambda _t: 1.0)
    q_terms = set(terms(question))
    q_weight = sum(idf(t) for t in q_terms) or 1.0
    q_types = [1.0 if rx.search(question) else 0.0 for rx in _Q_TYPES.values()]
    entities = _entities(question)
    doc_rank: dict[str, int] = {}
    for p in passages:
        doc_rank.setdefault(p.doc_id, len(doc_rank))
    heading_cache: dict[int, tuple[float, set[str], float, str]] = {}
    for pi, p in enumerate(passages):
        head = _heading(p)
        h_terms = set(terms(head))
        low = p.text.lower()
        in_passage = (sum(1 for e in entities if e in low) / len(entities)) if entities else 0.0
        heading_cache[pi] = (sum(idf(t) for t in q_terms & h_terms) / q_weight, set(terms(p.title)),
                             in_passage, low)
    overlaps = np.zeros(n, dtype=np.float32)
    for i, cand in enumerate(pool):
        c_terms = _sentence_facts(cand.key)[0]
        hits = q_terms & c_terms
        overlaps[i] = sum(idf(t) for t in hits) / q_weight
        x[i, col["idf_hits"]] = math.log1p(sum(idf(t) for t in hits))
    x[:, col["cos"]] = sims
    x[:, col["cos_gap"]] = sims - sims.max()
    x[:, col["overlap"]] = overlaps
    x[:, col["overlap_gap"]] = overlaps - overlaps.max()
    x[:, col["q_entities"]] = 1.0 if entities else 0.0
    for i, cand in enumerate(pool):
        passage = passages[cand.passage]
        text = cand.text
        heading, title_terms, in_passage, _ = heading_cache[cand.passage]
        s_terms, states, flags = _sentence_facts(text)
        x[i, col["heading"]] = heading
        x[i, col["title_restate"]] = len(s_terms & title_terms) / len(s_terms) if s_terms else 0.0
        if entities:
            low = text.lower()
            x[i, col["entity_agree"]] = sum(1 for e in entities if e in low) / len(entities)
            x[i, col["entity_in_passage"]] = in_passage
        for t, name in enumerate(_S_TYPES):
            x[i, col[f"states_{name}"]] = states[t]
            x[i, col[f"match_{name}"]] = states[t] * q_types[t]
        x[i, col["has_number"]], x[i, col["pointer"]], x[i, col["intro"]] = flags
        x[i, col["first_in_passage"]] = 1.0 if cand.position == 0 else 0.0
        x[i, col["first_chunk"]] = 1.0 if passage.chunk_id.endswith("::0") else 0.0
        x[i, col["position"]] = math.log1p(cand.position)
        rank = doc_rank[passage.doc_id]
        x[i, col["doc_rank0"]] = 1.0 if rank == 0 else 0.0
        x[i, col["doc_rank1"]] = 1.0 if rank == 1 else 0.0
        x[i, col["chunk_rank"]] = float(cand.passage)
        x[i, col["length"]] = math.log(max(len(text), 10))
        x[i, col["short"]] = 1.0 if len(text) < 40 else 0.0
        x[i, col["leans_back"]] = 1.0 if _LEANS_BACK_RE.match(text) else 0.0
        x[i, col["lead_in"]] = 1.0 if cand.sentence.lead_in else 0.0
        x[i, col["step"]] = 1.0 if cand.sentence.steps is not None else 0.0
        x[i, col["item"]] = 1.0 if cand.sentence.item else 0.0
        x[i, col["faq"]] = 1.0 if is_faq(passage) else 0.0
    return x


@lru_cache(maxsize=20000)
def _sentence_facts(text: str) -> tuple[frozenset[str], tuple[float, ...], tuple[float, float, float]]:
    """What a KB sentence states, whatever the question: computed once per sentence."""
    states = tuple(1.0 if rx.search(text) else 0.0 for rx in _S_TYPES.values())
    flags = (1.0 if _NUMBER_RE.search(text) else 0.0, 1.0 if _POINTER_RE.search(text) else 0.0,
             1.0 if _INTRO_RE.search(text) else 0.0)
    return frozenset(terms(text)), states, flags


@dataclass
class SelectorModel:
    """Linear scores over standardised features; a softmax over one question's candidates."""

    names: list[str]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray

    def scores(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.scale) @ self.weights

    def to_json(self, path: Path, meta: dict | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"features": self.names, "mean": [round(float(v), 6) for v in self.mean],
                   "scale": [round(float(v), 6) for v in self.scale],
                   "weights": [round(float(v), 6) for v in self.weights], "meta": meta or {}}
        path.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def from_json(cls, path: Path) -> "SelectorModel":
        data = json.loads(path.read_text(encoding="utf-8"))
        names = list(data["features"])
        if names != FEATURES:
            raise ValueError(f"{path}: trained on other features than this code computes; "
                             "retrain with python -m agent.composers.train_selector")
        return cls(names, np.array(data["mean"], np.float32), np.array(data["scale"], np.float32),
                   np.array(data["weights"], np.float32))


@lru_cache(maxsize=1)
def default_model() -> SelectorModel:
    return SelectorModel.from_json(MODEL_PATH)


Corpus = Callable[[], Sequence[str]]


def kb_corpus(index: object) -> Corpus | None:
    """The chunk texts of a knowledge index, for TermStats: its `chunk_texts()` when it has one,
    else the texts of the snapshot KnowledgeIndex searches (re-read each call, so a re-ingest
    reaches the term weights)."""
    public = getattr(index, "chunk_texts", None)
    if callable(public):
        return public
    if hasattr(index, "_mirror"):
        return lambda: index._mirror.texts  # type: ignore[attr-defined]
    return None
