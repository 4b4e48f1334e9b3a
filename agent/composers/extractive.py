"""Extractive composer: no LLM. The reply is the passage sentences that best answer the
question, in the knowledge base's own words, so it is grounded by construction."""
from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

from agent.composers.base import Composed, ComposeRequest, ComposerError
from retrieval.passage import Passage
from agent.composers.selection import (Candidate, Corpus, SelectorModel, TermStats, candidate_pool,
                                       default_model, features)
from retrieval.sentences import is_faq, numbered_steps, reply_sentences

Embed = Callable[[list[str]], np.ndarray]
# Vectors the index computed at ingest, by text (None where it has none).
Known = Callable[[list[str]], list[np.ndarray | None]]

MAX_SENTENCES = 3
MAX_CHARS = 450
MAX_STEPS_CHARS = 700  # a numbered list is quoted whole up to this length
PASSAGES_CONSIDERED = 3
# A second sentence of the chosen passage joins the reply when the selector rates it at least
# this share of the best one's probability (softmax over the candidates).
EXTRA_SHARE = 0.35
# How much better (in selector score, log-odds) a sentence of another document must be to take
# the reply away from the retriever's first document.
DOC_SWITCH_MARGIN = 1.0
_WORD_RE = re.compile(r"[a-z0-9]+")
_LEANS_BACK = re.compile(r"(this|that|these|those|it|they|then|after that|otherwise|or|also)\b", re.IGNORECASE)
_POINTER = re.compile(r"\b(see|shown|listed|described|explained|covered|mentioned)\s+(above|below|under|in|on)\b|"
                      r"\bthe same (link|page|button|steps|form)\b|^\(?see\b", re.IGNORECASE)
_SEE_ARTICLE = re.compile(r"\b[Ss]ee (?:the )?[A-Z][a-z]+")  # "see Munchbox+ membership": an article's title


def _points_elsewhere(sentence: str) -> bool:
    return bool(_POINTER.search(sentence) or _SEE_ARTICLE.search(sentence))


def _terminated(sentence: str) -> str:
    """A heading line ("I bought a car from a private seller") ends the sentence it is: joined to
    the next one bare, it would read as one run-on sentence the grounding check cannot find. A
    list item that ends in a comma or semicolon ends with a full stop instead (not ",.")."""
    sentence = sentence.rstrip()
    core = sentence.rstrip("\"')]”’")
    if core[-1:] in (".", "!", "?", ":"):
        return sentence
    if core[-1:] in (",", ";") and core == sentence:
        return sentence[:-1].rstrip() + "."
    return sentence + "."


class ExtractiveComposer:
    """Picks the sentence that answers the question with the learned selector (see
    agent/composers/selection.py), then quotes it with what it needs: the sentence it refers
    back to, the list it introduces, or close runners-up of the same passage, in the article's
    order. A numbered list is quoted whole, as steps."""

    name = "extractive"

    def __init__(self, embed: Embed | None = None, cache_size: int = 20000, *,
                 known: Known | None = None, embed_query: Embed | None = None,
                 corpus: Corpus | None = None, model: SelectorModel | None = None) -> None:
        self._embed = embed
        self._known = known
        # The question was already embedded by the input guard and retrieval: reuse that vector.
        self._embed_query = embed_query
        # The KB's chunk texts, for term weights; re-read when the index swaps them.
        self._corpus = corpus
        self._stats: tuple[int, int, TermStats] | None = None
        self._model = model or default_model()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._mutex = threading.Lock()

    def vectors(self, texts: list[str]) -> np.ndarray | None:
        """Sentence vectors: the index's ingest-time vectors first, then a memo of what was
        embedded here, so a KB sentence is embedded at most once per process."""
        if self._embed is None or not texts:
            return None
        known: dict[str, np.ndarray] = {}
        if self._known is not None:
            known = {t: v for t, v in zip(texts, self._known(texts)) if v is not None}
        with self._mutex:
            known.update((t, self._cache[t]) for t in texts if t not in known and t in self._cache)
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:
            fresh = self._embed(missing)
            known.update(zip(missing, fresh))
            with self._mutex:
                self._cache.update(zip(missing, fresh))
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return np.stack([known[t] for t in texts])

    @staticmethod
    def is_faq(passage: Passage) -> bool:
        return is_faq(passage)

    @staticmethod
    def candidates(passage: Passage) -> list[str]:
        """Sentences of a passage that can stand alone in a reply."""
        return reply_sentences(passage)

    def term_stats(self, passages: list[Passage]) -> TermStats:
        """Term weights of the KB (its chunks), or of the passages at hand when no KB is known."""
        if self._corpus is not None:
            texts = self._corpus()
            current = self._stats
            if current is not None and current[0] == id(texts) and current[1] == len(texts):
                return current[2]
            if texts:
                stats = TermStats(texts)
                self._stats = (id(texts), len(texts), stats)
                return stats
        return TermStats([p.text for p in passages])

    def select(self, request: ComposeRequest) -> tuple[list[Passage], list[Candidate], np.ndarray]:
        """The candidate sentences of the passages considered and the selector's score of each."""
        passages = request.passages[:PASSAGES_CONSIDERED]
        pool = candidate_pool(passages)
        if not pool:
            return passages, pool, np.zeros(0, dtype=np.float32)
        similarities = self._similarities(request.question, [c.key for c in pool])
        x = features(request.question, pool, passages, similarities, self.term_stats(passages))
        return passages, pool, self._model.scores(x)

    def compose(self, request: ComposeRequest) -> Composed:
        passages, pool, scores = self.select(request)
        if not pool:
            raise ComposerError("no usable sentence in the retrieved passages")
        # A sentence that only points elsewhere ("..., see International shipping") never leads a
        # reply: the customer asked for the thing, not for where it is written.
        scores = np.where([_points_elsewhere(c.text) for c in pool], scores - 100.0, scores)
        best = int(np.argmax(scores))
        # The retriever weighs more than one sentence can (BM25 over the whole chunk, FAQ
        # questions, the conversation): its first document keeps the reply unless a sentence of
        # another one is clearly the better answer.
        lead = [n for n in range(len(pool)) if passages[pool[n].passage].doc_id == passages[0].doc_id]
        if lead:
            lead_best = max(lead, key=lambda n: scores[n])
            if scores[best] - scores[lead_best] < DOC_SWITCH_MARGIN:
                best = lead_best
        passage = passages[pool[best].passage]
        own = [n for n in range(len(pool)) if pool[n].passage == pool[best].passage]
        if self.is_faq(passage):
            # an FAQ answer is written to be read whole, from its first sentence
            chosen = self._leading(own, pool)
            text = " ".join(_terminated(pool[i].text) for i in chosen)
            if re.match(r"(yes|no)\b", text, re.IGNORECASE):
                text = f"{passage.title.strip()} {text}"  # a bare "Yes, ..." needs its question
        else:
            text = self._steps(pool, best, own, passage) or self._sentences(pool, scores, best, own)
        text = re.sub(r"[ \t]+", " ", text).strip()
        return Composed(text=text, passages=[passage], composer=self.name)

    @staticmethod
    def _steps(pool: list[Candidate], best: int, own: list[int], passage: Passage) -> str:
        """A numbered list quoted whole, one step a line, after the line that introduces it."""
        sentence = pool[best].sentence
        steps = sentence.steps
        if steps is None and sentence.lead_in:
            follower = next((pool[n].sentence for n in own if pool[n].sentence.line == sentence.line + 1), None)
            steps = follower.steps if follower is not None else None
        if steps is None:
            return ""
        items = numbered_steps(passage, steps)
        if len(items) < 2:
            return ""
        lead = next((pool[n].text for n in own if pool[n].sentence.lead_in
                     and any(pool[m].sentence.steps == steps and pool[m].sentence.line == pool[n].sentence.line + 1
                             for m in own)), "")
        text = "\n".join(([lead] if lead else []) + items)
        return text if len(text) <= MAX_STEPS_CHARS else ""

    @staticmethod
    def _sentences(pool: list[Candidate], scores: np.ndarray, best: int, own: list[int]) -> str:
        chosen = [best]
        position = {pool[i].position: i for i in own}
        before = position.get(pool[best].position - 1)
        if before is not None and _LEANS_BACK.match(pool[best].text):
            chosen.insert(0, before)  # "This takes..." needs the sentence it refers to
        share = np.exp(scores - scores[best])
        for n in sorted(own, key=lambda i: -scores[i]):
            if len(chosen) >= MAX_SENTENCES:
                break
            if n in chosen or _points_elsewhere(pool[n].text):
                continue  # a sentence that only points elsewhere adds nothing to a reply
            follows = pool[n].position == pool[best].position + 1 and pool[best].text.endswith(":")
            if share[n] >= EXTRA_SHARE or follows:
                if sum(len(pool[i].text) for i in chosen) + len(pool[n].text) <= MAX_CHARS:
                    chosen.append(n)
        chosen.sort(key=lambda i: pool[i].position)
        return " ".join(_terminated(pool[i].text) for i in chosen)

    def _similarities(self, question: str, keys: list[str]) -> np.ndarray | None:
        if self._embed is None:
            return None
        if self._embed_query is None:
            vectors = self.vectors([question] + keys)
            return None if vectors is None else vectors[1:] @ vectors[0]
        keyed = self.vectors(keys)
        return None if keyed is None else keyed @ self._embed_query([question])[0]

    @staticmethod
    def _leading(own: list[int], pool: list[Candidate]) -> list[int]:
        chosen: list[int] = []
        total = 0
        for n in sorted(own, key=lambda i: pool[i].position):
            if len(chosen) >= MAX_SENTENCES or (chosen and total + len(pool[n].text) > MAX_CHARS):
                break
            chosen.append(n)
            total += len(pool[n].text)
        return chosen
