"""Groundedness for evals: an attribution check that is not the engine's grounding gate.

The gate (guardrails.grounding) decides what the engine may send; if the eval reported the
gate's own verdict, groundedness would be 1.0 by construction. This checker looks at what the
customer saw and at the documents the reply cites, read again from the knowledge-base folder
(whole documents, not the chunks retrieval handed the composer), with a different method:

- each reply sentence is aligned, in order, with the best window of one to three consecutive
  sentences of one cited document (difflib's longest matching blocks over all words, stop
  words included, so a reordering that swaps two facts breaks the alignment);
- it is attributed when at least ALIGNED_SHARE of its words are matched in that order, and
  its anchors agree with the window: every number, every capitalised name and every negation
  of the sentence is in the window, and no negation of the window inside the matched stretch
  is left out of the sentence.

No embedding, no stemming lexicon beyond a plural fold, no shared code with the gate: the two
can disagree, which is the point.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher

NAME = "evals.attribution (ordered word alignment to the cited documents + numbers/names/negations)"
ALIGNED_SHARE = 0.7
WINDOW = 3

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[€$£%]", re.IGNORECASE)
_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[\"'(]?[A-Z0-9])|\n+")
_LINK_LINE = re.compile(r"^\s*\w[\w ]{0,20}:\s*https?://\S+\s*$", re.MULTILINE)
_URL = re.compile(r"https?://\S+|www\.\S+")
_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")
_NEG = frozenset({"not", "no", "never", "cannot", "without", "none", "nor", "neither"})
# Sentences made of these words only carry no claim ("Happy to help!").
_SMALL_TALK = frozenset("""hi hello hey thanks thank you glad happy to help hope that this helps please let me
    know if anything else i can do for sure of course sorry great question welcome a the and is it
    more here you're we're i'm""".split())


def _words(text: str) -> list[str]:
    out = []
    for w in _WORD.findall(_URL.sub(" ", text.replace("’", "'"))):
        w = w.lower()
        if w in ("can't", "cannot", "won't") or w.endswith("n't"):
            out += [{"can't": "can", "cannot": "can", "won't": "will"}.get(w, w[:-3]), "not"]
            continue
        if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
            w = w[:-1]
        out.append(w)
    return out


def _sentences(text: str) -> list[str]:
    return [s.strip(" -*•#>|") for s in _SPLIT.split(text) if s.strip(" -*•#>|")]


def _names(sentence: str) -> set[str]:
    """Capitalised words after the first word: places, products, plans."""
    tokens = re.findall(r"[A-Za-z][\w'+-]*", _URL.sub(" ", sentence))
    return {t.lower() for t in tokens[1:] if t[0].isupper() and not t.isupper() or (t.isupper() and len(t) > 1)}


def _numbers(text: str) -> set[str]:
    return {n.replace(",", "").rstrip(".:") for n in _NUMBER.findall(_URL.sub(" ", text))}


@dataclass
class SentenceAttribution:
    text: str
    attributed: bool
    share: float = 0.0
    document: str | None = None
    why: str = ""


@dataclass
class Attribution:
    score: float | None  # attributed / claim sentences; None when there is no claim
    sentences: list[SentenceAttribution] = field(default_factory=list)


def _windows(doc_sentences: Sequence[str]) -> Iterable[str]:
    for i in range(len(doc_sentences)):
        for size in range(1, WINDOW + 1):
            if i + size <= len(doc_sentences):
                yield " ".join(doc_sentences[i:i + size])


def _attribute(sentence: str, documents: dict[str, list[str]]) -> SentenceAttribution:
    words = _words(sentence)
    best: tuple[float, str | None, str, list[tuple[int, int, int]], list[str]] = (0.0, None, "", [], [])
    for doc_id, doc_sentences in documents.items():
        for window in _windows(doc_sentences):
            w_words = _words(window)
            if not w_words:
                continue
            blocks = SequenceMatcher(None, words, w_words, autojunk=False).get_matching_blocks()
            matched = sum(b.size for b in blocks)
            share = matched / len(words)
            if share > best[0]:
                best = (share, doc_id, window, [(b.a, b.b, b.size) for b in blocks if b.size], w_words)
    share, doc_id, window, blocks, w_words = best
    result = SentenceAttribution(text=sentence, attributed=False, share=round(share, 3), document=doc_id)
    if doc_id is None or share < ALIGNED_SHARE:
        result.why = f"only {share:.0%} of its words align with a cited document"
        return result
    lost_numbers = _numbers(sentence) - _numbers(window)
    if lost_numbers:
        result.why = f"numbers not in the aligned text: {', '.join(sorted(lost_numbers))}"
        return result
    lost_names = _names(sentence) - {w.lower() for w in re.findall(r"[A-Za-z][\w'+-]*", window)}
    if lost_names:
        result.why = f"names not in the aligned text: {', '.join(sorted(lost_names))}"
        return result
    matched_a = {a + k for a, _, size in blocks for k in range(size)}
    matched_b = {b + k for _, b, size in blocks for k in range(size)}
    if any(w in _NEG and i not in matched_a for i, w in enumerate(words)):
        result.why = "a negation the aligned text does not have"
        return result
    if blocks:
        lo, hi = min(matched_b), max(matched_b)
        if any(w_words[i] in _NEG and i not in matched_b for i in range(lo, hi + 1)):
            result.why = "leaves out a negation of the aligned text"
            return result
    result.attributed = True
    return result


def reply_body(reply: str) -> str:
    """The reply without its citation link line ('More: https://...')."""
    return _LINK_LINE.sub("", reply).strip()


def attribute(reply: str, documents: dict[str, str]) -> Attribution:
    """Share of the reply's claim sentences attributed to one of the cited documents."""
    docs = {doc_id: _sentences(text) for doc_id, text in documents.items() if text}
    out = Attribution(score=None)
    for sentence in _sentences(reply_body(reply)):
        words = _words(sentence)
        if not words or all(w in _SMALL_TALK for w in words):
            continue
        out.sentences.append(_attribute(sentence, docs) if docs else
                             SentenceAttribution(text=sentence, attributed=False, why="no cited document"))
    if out.sentences:
        out.score = round(sum(s.attributed for s in out.sentences) / len(out.sentences), 3)
    return out


def document_texts(kb_dir: str) -> dict[str, str]:
    """doc_id -> title and text of every document in the KB folder (the index's own loader)."""
    from pathlib import Path

    from knowledge.chunking import plain_markdown
    from knowledge.loaders import load_kb

    texts: dict[str, str] = {}
    if not Path(kb_dir).is_dir():
        return texts
    for doc in load_kb(Path(kb_dir)).documents:
        # tables read as sentences, as the KB states them to a reader (not as pipes)
        body = plain_markdown(doc.text) if doc.kind in ("markdown", "html") else doc.text
        question = doc.question if doc.question and doc.question != doc.title else None
        texts[doc.doc_id] = "\n".join(t for t in (doc.title, question, body) if t)
    return texts
