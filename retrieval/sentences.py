"""The sentences of a chunk as replies quote them.

The extractive composer picks reply sentences from these, and the grounding check compares
replies with them, so the index embeds them once at ingest (see KnowledgeIndex) instead of
every turn re-embedding the sentences of the passages it retrieved.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from guardrails.grounding import split_sentences
from retrieval.passage import Passage

_LINK_RE = re.compile(r"\[([^\]]+)\]\((?:https?://|/)[^)]*\)")
_EMPHASIS_RE = re.compile(r"(\*\*|__|`)")
_ENDS_LIKE_SENTENCE = re.compile(r"[.!:)]$")


def passage_body(passage: Passage) -> str:
    """The passage text without its title line and Markdown decoration, as plain prose."""
    text = passage.text.strip()
    first, _, rest = text.partition("\n\n")
    if rest and first.strip().startswith(passage.title.strip()[:40]):
        text = rest
    text = _LINK_RE.sub(r"\1", text)
    text = _EMPHASIS_RE.sub("", text)
    lines = []
    for line in text.split("\n"):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "|", "```", ">")):
            if stripped.startswith(">"):
                lines.append(stripped.lstrip("> "))
            continue
        lines.append(stripped)
    return "\n".join(lines)


def is_faq(passage: Passage) -> bool:
    return passage.title.rstrip().endswith("?")


@dataclass(frozen=True)
class ReplySentence:
    """One sentence a reply may quote, with where it sits in its passage."""

    text: str
    position: int  # order among the passage's reply sentences
    line: int  # line of the passage body it comes from
    steps: int | None = None  # which numbered list of the passage it belongs to, if any
    item: bool = False  # a bullet or numbered item rather than running prose
    lead_in: bool = False  # ends with ":" and introduces the list right after it


_NUMBERED_RE = re.compile(r"^\d{1,2}[.)]\s+")
_BULLET_RE = re.compile(r"^[-*•]\s+")


def _body_lines(passage: Passage) -> list[str]:
    body = passage_body(passage).strip()
    if is_faq(passage) and body.startswith(passage.title.strip()):
        body = body[len(passage.title.strip()):].strip()
    return body.split("\n")


def reply_candidates(passage: Passage) -> list[ReplySentence]:
    """Sentences of a passage that can stand alone in a reply, with their list membership."""
    lines = _body_lines(passage)
    steps_of: dict[int, int] = {}
    lists = 0
    for n, line in enumerate(lines):
        if _NUMBERED_RE.match(line):
            if n == 0 or n - 1 not in steps_of:
                lists += 1
            steps_of[n] = lists - 1
    out: list[ReplySentence] = []
    for n, line in enumerate(lines):
        item = bool(_NUMBERED_RE.match(line) or _BULLET_RE.match(line))
        lead_in = line.rstrip().endswith(":") and (n + 1) in steps_of
        for sentence in split_sentences(line):
            sentence = sentence.strip()
            if len(sentence) < 15 or sentence.endswith("?"):
                continue
            if not _ENDS_LIKE_SENTENCE.search(sentence) and len(sentence) < 40:
                continue  # a heading or label, not a sentence
            out.append(ReplySentence(text=sentence, position=len(out), line=n, steps=steps_of.get(n),
                                     item=item, lead_in=lead_in))
    return out


def numbered_steps(passage: Passage, steps: int) -> list[str]:
    """The items of one numbered list of a passage, as written ("1. Open the app.")."""
    lines = _body_lines(passage)
    out: list[str] = []
    lists = -1
    for n, line in enumerate(lines):
        if _NUMBERED_RE.match(line):
            if n == 0 or not _NUMBERED_RE.match(lines[n - 1]):
                lists += 1
            if lists == steps:
                out.append(line.strip())
    return out


def reply_sentences(passage: Passage) -> list[str]:
    """Sentences of a passage that can stand alone in a reply."""
    return [c.text for c in reply_candidates(passage)]


def embedded_texts(title: str, text: str) -> list[str]:
    """Every text of one chunk that a turn may need a vector for: its reply sentences, its
    title (an FAQ record is matched by its question) and the raw sentences grounding reads."""
    passage = Passage(doc_id="", chunk_id="", title=title, text=text, score=0.0)
    out = reply_sentences(passage)
    if is_faq(passage):
        out.append(title)
    out.extend(split_sentences(text))
    return list(dict.fromkeys(t for t in out if t))
