"""Split Documents into Chunks for the index.

Markdown (and HTML, whose loader keeps headings as `#` lines) is cut at headings; each chunk
carries its heading path ("Returns > Refund timing") and its text starts with
"<title> > <heading path>" so a chunk read alone still says what it is about. Sections
longer than max_chars are cut at paragraphs, then lines, then sentences, then words (never
inside a word). A tiny last piece is merged into the one before it. A FAQ record is exactly
one chunk. Chunk ids are f"{doc_id}::{n}" (n from 0 in document order), so the same
document always gives the same ids.
"""
from __future__ import annotations

import re

from knowledge.document import Chunk, Document

# Bump when the way chunks are cut changes, so indexes can tell stale chunks apart.
CHUNKING_VERSION = "1"

_HEADING = re.compile(r"^\s{0,3}(#{1,6})[ \t]+(.+?)[ \t#]*$")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
# End of a sentence: . ! ? (optionally followed by a closing quote/bracket) then space and
# something that can start a sentence.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")


def chunk_document(doc: Document, max_chars: int = 900) -> list[Chunk]:
    """Chunks of one document, ids f"{doc_id}::{n}"; FAQ records give exactly one chunk."""
    max_chars = max(max_chars, 200)
    if doc.kind == "faq":
        question = doc.question or doc.title
        body = f"{question}\n\n{doc.text}".strip()
        return [_chunk(doc, 0, body, body, heading=None)]
    if doc.kind in ("markdown", "html"):
        sections = [
            (plain_markdown(h) if h else None, plain_markdown(body))
            for h, body in _markdown_sections(doc.text, doc.title)
        ]
    else:
        sections = [(None, doc.text)]

    pieces: list[tuple[str | None, str]] = []
    for heading, body in sections:
        prefix = _prefix(doc.title, heading)
        budget = max(max_chars - len(prefix) - 2, max_chars // 2)
        for part in split_text(body, budget):
            pieces.append((heading, part))
    if not pieces:
        pieces = [(None, doc.title)]
    chunks = []
    for n, (heading, part) in enumerate(pieces):
        text = f"{_prefix(doc.title, heading)}\n\n{part}"
        chunks.append(_chunk(doc, n, text, part, heading))
    return chunks


def chunk_documents(docs: list[Document], max_chars: int = 900) -> list[Chunk]:
    """All chunks of several documents, in order."""
    return [chunk for doc in docs for chunk in chunk_document(doc, max_chars)]


def _chunk(doc: Document, n: int, text: str, body: str, heading: str | None) -> Chunk:
    return Chunk(
        chunk_id=f"{doc.doc_id}::{n}",
        doc_id=doc.doc_id,
        title=doc.title,
        url=doc.url,
        text=text,
        body=body,
        heading=heading,
        question=doc.question,
        content_hash=doc.content_hash,
        position=n,
    )


_LINK = re.compile(r"!?\[([^\]]*)\]\([^)\s]*(?:\s+\"[^\"]*\")?\)")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EMPHASIS = re.compile(r"(?<![*\w])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![*\w])")
_CODE = re.compile(r"`([^`\n]+)`")
_TABLE_RULE = re.compile(r"^\s*\|?[\s:|-]*-{3,}[\s:|-]*$")


def plain_markdown(text: str) -> str:
    """Markdown reduced to readable text: link text kept, emphasis marks and table rules gone.

    Chunks are embedded and quoted back to customers, where `**` and raw URLs are noise.
    """
    text = _LINK.sub(r"\1", text)
    text = _STRONG.sub(r"\2", text)
    text = _EMPHASIS.sub(r"\1", text)
    text = _CODE.sub(r"\1", text)
    lines = []
    for line in text.split("\n"):
        if _TABLE_RULE.match(line) and "|" in line:
            continue
        stripped = line.strip()
        if stripped.startswith("|") and stripped.endswith("|") and len(stripped) > 1:
            line = " | ".join(cell.strip() for cell in stripped[1:-1].split("|"))
        lines.append(line)
    return "\n".join(lines).strip()


def _prefix(title: str, heading: str | None) -> str:
    return f"{title} > {heading}" if heading else title


def _markdown_sections(text: str, title: str) -> list[tuple[str | None, str]]:
    """(heading path, body) per heading; a leading H1 equal to the title is not repeated."""
    sections: list[tuple[str | None, str]] = []
    stack: list[tuple[int, str]] = []
    lines: list[str] = []
    in_fence = False

    def close() -> None:
        body = "\n".join(lines).strip()
        lines.clear()
        if body:
            path = " > ".join(h for _, h in stack) or None
            sections.append((path, body))

    for line in text.split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match is None:
            lines.append(line)
            continue
        close()
        level, heading = len(match.group(1)), match.group(2).strip()
        while stack and stack[-1][0] >= level:
            stack.pop()
        if level == 1 and heading.casefold() == title.strip().casefold():
            continue  # the document title heads every chunk anyway
        stack.append((level, heading))
    close()
    return sections


def split_text(text: str, max_chars: int) -> list[str]:
    """Cut text into pieces of at most ~max_chars at paragraph/line/sentence/word limits."""
    text = text.strip()
    if not text:
        return []
    if len(text) <= max_chars:
        return [text]
    units: list[tuple[str, str]] = []  # (piece, separator to rejoin with)
    for para in re.split(r"\n\s*\n", text):
        para = para.strip()
        if not para:
            continue
        if len(para) <= max_chars:
            units.append((para, "\n\n"))
            continue
        for line in para.split("\n"):
            line = line.strip()
            if not line:
                continue
            if len(line) <= max_chars:
                units.append((line, "\n"))
                continue
            for sentence in _sentences(line):
                if len(sentence) <= max_chars:
                    units.append((sentence, " "))
                else:
                    units.extend((w, " ") for w in _word_pieces(sentence, max_chars))
    return _pack(units, max_chars)


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def _word_pieces(text: str, max_chars: int) -> list[str]:
    pieces: list[str] = []
    current = ""
    for word in text.split():
        while len(word) > max_chars:  # a single "word" longer than a chunk (a URL, a hash)
            if current:
                pieces.append(current)
                current = ""
            pieces.append(word[:max_chars])
            word = word[max_chars:]
        if current and len(current) + 1 + len(word) > max_chars:
            pieces.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        pieces.append(current)
    return pieces


def _pack(units: list[tuple[str, str]], max_chars: int) -> list[str]:
    """Greedy packing; a last piece under a fifth of max_chars joins the one before."""
    pieces: list[str] = []
    current = ""
    for piece, sep in units:
        if current and len(current) + len(sep) + len(piece) > max_chars:
            pieces.append(current)
            current = piece
        else:
            current = f"{current}{sep}{piece}" if current else piece
    if current:
        pieces.append(current)
    tiny = max_chars // 5
    if len(pieces) >= 2 and len(pieces[-1]) < tiny:
        last = pieces.pop()
        pieces[-1] = f"{pieces[-1]}\n\n{last}"
    return pieces


__all__ = ["chunk_document", "chunk_documents", "split_text", "plain_markdown", "CHUNKING_VERSION"]
