"""Extractive text for the human agent: what the customer needs, and a KB-grounded reply draft.

Both pick whole sentences (the customer's own redacted ones, or the KB's), so they can
neither invent facts nor reintroduce personal data.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from retrieval.passage import Passage

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")
_TOKEN = re.compile(r"\[[A-Z_]+\]|[A-Za-z0-9][A-Za-z0-9'\-]*")  # placeholders stay whole

_STOPWORDS = frozenset("""
a an the and or but if then so to of in on at by for with from as is are was were be been being
am do does did done have has had having i me my mine we our you your yours he she it its they them
their this that these those there here what which who whom when where why how not no yes just
very really too also can could would should will shall may might must about into over under again
any all some more most other such only own same than s t don doesn didn won isn aren wasn
hi hello hey thanks thank please ok okay yeah yep hmm lol well still get got im ive id
""".split())

# Phrases that say what the person wants or what went wrong weigh more than chit-chat.
_NEED_CUES = re.compile(
    r"\b(need|want|would like|wanna|can't|cannot|can not|couldn't|won't|unable|never|not working|"
    r"doesn't work|broken|wrong|charged|refund|cancel|return|lost|stolen|hacked|locked|missing|"
    r"help|problem|issue|question|how do i|how can i|where is|why is|speak|talk|human|person|"
    r"manager|agent|lawyer|complain|delete|urgent|asap)\b",
    re.IGNORECASE,
)
_FILLER = re.compile(r"^(hi|hello|hey|thanks|thank you|ok|okay|yes|no|sure|great|cool)\b[\s!.,]*$",
                     re.IGNORECASE)

MAX_SUMMARY_CHARS = 400


def split_sentences(text: str) -> list[str]:
    """Sentences of a message or passage, trimmed, empty ones dropped."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def content_tokens(text: str) -> list[str]:
    tokens = (t if t.startswith("[") else t.lower() for t in _TOKEN.findall(text))
    return [t for t in tokens if t not in _STOPWORDS and len(t) > 1]


def _informativeness(sentence: str, centrality: Counter[str]) -> float:
    if _FILLER.match(sentence):
        return 0.0
    # Placeholders ([PHONE], [EMAIL]) are contact details, not the need; the transcript has them.
    all_tokens = content_tokens(sentence)
    tokens = {t for t in all_tokens if not t.startswith("[")}
    if not tokens:
        return 0.0
    score = len(tokens) ** 0.5 - 0.75 * (len(all_tokens) - len([t for t in all_tokens
                                                                 if not t.startswith("[")]))
    score += 2.0 * len(_NEED_CUES.findall(sentence))
    score += 0.5 * sum(1 for t in tokens if centrality[t] > 1)  # the customer keeps coming back to it
    if sentence.rstrip().endswith("?"):
        score += 1.0
    return score


def summarize_customer(messages: Sequence[str], max_sentences: int = 3) -> str:
    """1-3 of the customer's own (redacted) sentences that best say what they need, in order."""
    sentences: list[tuple[int, str]] = []
    for text in messages:
        sentences.extend((len(sentences), s) for s in split_sentences(text))
    if not sentences:
        return "The customer has not said anything yet."
    centrality: Counter[str] = Counter()
    for text in messages:
        centrality.update(set(content_tokens(text)))
    scored = [(_informativeness(s, centrality), i, s) for i, s in sentences]
    top = max(x[0] for x in scored)
    # Weak sentences next to a clear request only dilute it.
    informative = [x for x in scored if x[0] > 0 and x[0] >= 0.2 * top] or scored
    best = sorted(informative, key=lambda x: (-x[0], -x[1]))[:max_sentences]
    chosen: list[str] = []
    total = 0
    for _, _, sentence in sorted(best, key=lambda x: x[1]):
        if chosen and total + len(sentence) > MAX_SUMMARY_CHARS:
            continue
        if len(sentence) > MAX_SUMMARY_CHARS:
            sentence = sentence[: MAX_SUMMARY_CHARS - 1].rstrip() + "…"
        chosen.append(sentence if sentence[-1] in ".!?…" else sentence + ".")
        total += len(sentence)
    return "The customer wrote: " + " ".join(chosen)


def suggest_reply(issue: str, passages: Sequence[Passage], max_sentences: int = 3) -> str | None:
    """A reply draft for the agent built only from KB sentences that match the customer's issue."""
    issue_tokens = set(content_tokens(issue))
    candidates: list[tuple[float, int, int, str]] = []
    for p_rank, passage in enumerate(passages):
        for s_rank, sentence in enumerate(split_sentences(passage.text)):
            if sentence.startswith("#") or len(sentence) < 20:
                continue  # headings and fragments read badly in a reply
            tokens = set(content_tokens(sentence))
            if not tokens:
                continue
            overlap = len(tokens & issue_tokens) / (len(tokens) ** 0.5)
            candidates.append((overlap + 0.5 * max(passage.score, 0.0), p_rank, s_rank, sentence))
    if not candidates:
        return None
    best = sorted(candidates, key=lambda c: (-c[0], c[1], c[2]))[:max_sentences]
    if best[0][0] <= 0:
        return None
    ordered = sorted(best, key=lambda c: (c[1], c[2]))  # keep the KB's own order within a passage
    return " ".join(c[3] for c in ordered)
