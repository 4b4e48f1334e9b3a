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
from retrieval.sentences import is_faq, reply_sentences

Embed = Callable[[list[str]], np.ndarray]
# Vectors the index computed at ingest, by text (None where it has none).
Known = Callable[[list[str]], list[np.ndarray | None]]

MAX_SENTENCES = 3
MAX_CHARS = 450
PASSAGES_CONSIDERED = 3
_WORD_RE = re.compile(r"[a-z0-9]+")
_STOP = frozenset("""a an the and or but if to of in on at by for with from as is are was were be been
do does did have has had i me my we our you your it its they them this that these those what which
who when where why how can could would should will may not no yes just so too also there here
please thanks thank hi hello hey about get any""".split())


# How much the retriever's order counts against a lower passage whose sentence reads closer to
# the question. The retriever weighs more (BM25, FAQ questions, the conversation) than one
# sentence's similarity does, so it leads clearly; at (0.08, 0.04) the composer's own pick cost
# citation hits: own suites 0.83 -> 0.88, covid paraphrases 0.64 -> 0.70, doc2dial 0.62 -> 0.64
# going to (0.3, 0.15); larger bonuses gained nothing more.
_RANK_BONUS = (0.3, 0.15, 0.0)
_LEANS_BACK = re.compile(r"(this|that|these|those|it|they|then|after that|otherwise|or|also)\b", re.IGNORECASE)


def _terminated(sentence: str) -> str:
    """A heading line ("I bought a car from a private seller") ends the sentence it is: joined to
    the next one bare, it would read as one run-on sentence the grounding check cannot find."""
    core = sentence.rstrip().rstrip("\"')]”’")
    return sentence if core[-1:] in (".", "!", "?", ":", ";") else sentence.rstrip() + "."


def _words(text: str) -> set[str]:
    return {w for w in _WORD_RE.findall(text.lower()) if w not in _STOP and len(w) > 1}


class ExtractiveComposer:
    """Picks up to three supporting sentences from the best passage (ranked by similarity to
    the question and word overlap) and keeps them in the article's order."""

    name = "extractive"

    def __init__(self, embed: Embed | None = None, cache_size: int = 20000, *,
                 known: Known | None = None, embed_query: Embed | None = None) -> None:
        self._embed = embed
        self._known = known
        # The question was already embedded by the input guard and retrieval: reuse that vector.
        self._embed_query = embed_query
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

    def compose(self, request: ComposeRequest) -> Composed:
        passages = request.passages[:PASSAGES_CONSIDERED]
        pool: list[tuple[int, int, str]] = []  # (passage index, position, sentence)
        seen: set[str] = set()
        for pi, passage in enumerate(passages):
            for pos, sentence in enumerate(self.candidates(passage)):
                # Articles repeat themselves (a heading restated, a paragraph pasted twice):
                # a reply says each thing once.
                key = " ".join(_WORD_RE.findall(sentence.lower()))
                if key in seen:
                    continue
                seen.add(key)
                pool.append((pi, pos, sentence))
        if not pool:
            raise ComposerError("no usable sentence in the retrieved passages")

        # The bonus follows the retriever's order of documents, not of chunks: which section of
        # the chosen document answers is the sentences' call. (A document's first chunk leads on
        # its title, "Tracking your order", while "Where to find your tracking link" answers.)
        doc_rank: dict[str, int] = {}
        for passage in passages:
            doc_rank.setdefault(passage.doc_id, len(doc_rank))
        bonus = [_RANK_BONUS[doc_rank[p.doc_id]] for p in passages]
        question = request.question
        q_words = _words(question)
        # An FAQ record is judged by its question: that is what it answers.
        keys = [passages[pi].title if self.is_faq(passages[pi]) else s for pi, _, s in pool]
        similarities = self._similarities(question, keys)
        scores = []
        for n, (pi, pos, sentence) in enumerate(pool):
            overlap = len(q_words & _words(keys[n])) / max(len(q_words), 1)
            similarity = float(similarities[n]) if similarities is not None else 0.0
            # the retriever's order is a good prior; earlier sentences carry the gist
            score = 0.6 * similarity + 0.4 * overlap + bonus[pi] - 0.01 * pos
            scores.append(score)

        best = int(np.argmax(scores))
        best_pi = pool[best][0]
        passage = passages[best_pi]
        own = [n for n in range(len(pool)) if pool[n][0] == best_pi]
        if self.is_faq(passage):
            # an FAQ answer is written to be read whole, from its first sentence
            chosen = self._leading(own, pool)
            text = " ".join(_terminated(pool[i][2]) for i in chosen)
            if re.match(r"(yes|no)\b", text, re.IGNORECASE):
                text = f"{passage.title.strip()} {text}"  # a bare "Yes, ..." needs its question
        else:
            chosen = [best]
            position = {pool[i][1]: i for i in own}
            before = position.get(pool[best][1] - 1)
            if before is not None and _LEANS_BACK.match(pool[best][2]):
                chosen.insert(0, before)  # "This takes..." needs the sentence it refers to
            for n in sorted(own, key=lambda i: -scores[i]):
                if len(chosen) >= MAX_SENTENCES:
                    break
                if n in chosen:
                    continue
                follows = pool[n][1] == pool[best][1] + 1 and (
                    pool[best][2].endswith(":") or len(pool[best][2]) < 90)
                if scores[n] >= 0.8 * scores[best] or follows:
                    if sum(len(pool[i][2]) for i in chosen) + len(pool[n][2]) <= MAX_CHARS:
                        chosen.append(n)
            chosen.sort(key=lambda i: pool[i][1])
            text = " ".join(_terminated(pool[i][2]) for i in chosen)
        text = re.sub(r"\s+", " ", text).strip()
        return Composed(text=text, passages=[passage], composer=self.name)

    def _similarities(self, question: str, keys: list[str]) -> np.ndarray | None:
        if self._embed is None:
            return None
        if self._embed_query is None:
            vectors = self.vectors([question] + keys)
            return None if vectors is None else vectors[1:] @ vectors[0]
        keyed = self.vectors(keys)
        return None if keyed is None else keyed @ self._embed_query([question])[0]

    @staticmethod
    def _leading(own: list[int], pool: list[tuple[int, int, str]]) -> list[int]:
        chosen: list[int] = []
        total = 0
        for n in sorted(own, key=lambda i: pool[i][1]):
            if len(chosen) >= MAX_SENTENCES or (chosen and total + len(pool[n][2]) > MAX_CHARS):
                break
            chosen.append(n)
            total += len(pool[n][2])
        return chosen
