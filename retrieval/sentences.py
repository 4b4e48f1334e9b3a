"""The sentences of a chunk as replies quote them.

The extractive composer picks reply sentences from these, and the grounding check compares
replies with them, so the index embeds them once at ingest (see KnowledgeIndex) instead of
every turn re-embedding the sentences of the passages it retrieved.
"""
from __future__ import annotations

import re

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


def reply_sentences(passage: Passage) -> list[str]:
    """Sentences of a passage that can stand alone in a reply."""
    body = passage_body(passage).strip()
    if is_faq(passage) and body.startswith(passage.title.strip()):
        body = body[len(passage.title.strip()):]
    out = []
    for sentence in split_sentences(body):
        sentence = sentence.strip()
        if len(sentence) < 15 or sentence.endswith("?"):
            continue
        if not _ENDS_LIKE_SENTENCE.search(sentence) and len(sentence) < 40:
            continue  # a heading or label, not a sentence
        out.append(sentence)
    return out


def embedded_texts(title: str, text: str) -> list[str]:
    """Every text of one chunk that a turn may need a vector for: its reply sentences, its
    title (an FAQ record is matched by its question) and the raw sentences grounding reads."""
    passage = Passage(doc_id="", chunk_id="", title=title, text=text, score=0.0)
    out = reply_sentences(passage)
    if is_faq(passage):
        out.append(title)
    out.extend(split_sentences(text))
    return list(dict.fromkeys(t for t in out if t))
