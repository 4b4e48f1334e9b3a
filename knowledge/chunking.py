"""Split Documents into Chunks for the index.

Markdown (and HTML, whose loader keeps headings as `#` lines) is cut at headings; each chunk
carries its heading path ("Returns > Refund timing") and its text starts with
"<title> > <heading path>" so a chunk read alone still says what it is about. Tables become
one readable sentence per row ("Monthly fee — Standard: £0; Premium: £7."), so a reply can
quote a row without pipes. Sections longer than max_chars are cut at paragraphs, then lines,
then sentences, then words (never inside a word); a numbered list and the line that
introduces it stay one piece while they fit. A tiny last piece is merged into the one before
it. A FAQ record is exactly one chunk. Chunk ids are f"{doc_id}::{n}" (n from 0 in document order), so the same
document always gives the same ids.
"""
from __future__ import annotations

import re

from knowledge.document import Chunk, Document

# Bump when the way chunks are cut changes, so indexes can tell stale chunks apart.
CHUNKING_VERSION = "2"

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
    """Markdown reduced to readable text: link text kept, emphasis marks gone, tables as one
    sentence per row (see table_sentences).

    Chunks are embedded and quoted back to customers, where `**`, raw URLs and `|` are noise.
    """
    text = _LINK.sub(r"\1", text)
    text = _STRONG.sub(r"\2", text)
    text = _EMPHASIS.sub(r"\1", text)
    text = _CODE.sub(r"\1", text)
    lines: list[str] = []
    table: list[str] = []

    def flush_table() -> None:
        if table:
            lines.extend(_table_lines(table))
            table.clear()

    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith("|") and stripped.endswith("|") and len(stripped) > 1:
            table.append(stripped)
            continue
        if table and _TABLE_RULE.match(line) and "|" in line:
            table.append(stripped)
            continue
        flush_table()
        lines.append(line)
    flush_table()
    return "\n".join(lines).strip()


def _cells(row: str) -> list[str]:
    return [cell.strip() for cell in row.strip().strip("|").split("|")]


def _table_lines(rows: list[str]) -> list[str]:
    """A Markdown table as sentences; a table with no header rule is read as rows all the same."""
    has_rule = len(rows) >= 2 and bool(_TABLE_RULE.match(rows[1]))
    if not has_rule:
        return [" | ".join(c for c in _cells(r) if c) for r in rows if not _TABLE_RULE.match(r)]
    header = _cells(rows[0])
    body = [_cells(r) for r in rows[2:] if not _TABLE_RULE.match(r)]
    return table_sentences(header, body)


_DIGIT = re.compile(r"\d")


def table_sentences(header: list[str], rows: list[list[str]]) -> list[str]:
    """One readable sentence per table row, built from the header and the row.

    A row-label table ("What | Standard | Premium" / "Monthly fee | £0 | £7") reads
    "Monthly fee — Standard: £0; Premium: £7."; a table whose columns are plain lists of names
    (no numbers, no repeated or comma-separated cells: "United States | Canada" over city
    names) reads one sentence per column: "Canada: Toronto, Montréal, Vancouver."
    """
    width = max([len(header)] + [len(r) for r in rows]) if rows else len(header)
    header = [h.rstrip("?").strip() for h in header] + [""] * (width - len(header))
    rows = [r + [""] * (width - len(r)) for r in rows if any(r)]
    if not rows:
        return [_sentence(" ".join(h for h in header if h))] if any(header) else []
    if width == 1:
        return [_sentence(r[0]) for r in rows if r[0]]
    if _column_lists(header, rows):
        out = []
        for col in range(width):
            items = [r[col] for r in rows if r[col]]
            if items:
                out.append(_sentence(f"{header[col]}: {', '.join(items)}" if header[col] else ", ".join(items)))
        return out
    out = []
    for row in rows:
        label = row[0]
        parts = []
        for col in range(1, width):
            value = row[col]
            if not value:
                continue
            parts.append(f"{header[col]}: {value}" if header[col] else value)
        if not parts:
            if label:
                out.append(_sentence(label))
            continue
        body = "; ".join(p.rstrip(".;") for p in parts)
        out.append(_sentence(f"{label} — {body}" if label else body))
    return out


def _column_lists(header: list[str], rows: list[list[str]]) -> bool:
    if not all(header) or len(rows) < 2:
        return False
    cells = [c for r in rows for c in r if c]
    if any(_DIGIT.search(c) or "," in c or ";" in c for c in cells):
        return False
    for col in range(len(header)):
        values = [r[col].casefold() for r in rows if r[col]]
        if len(values) != len(set(values)):
            return False
    return True


def _sentence(text: str) -> str:
    text = " ".join(text.split()).rstrip(" ,;")
    return text if text[-1:] in (".", "!", "?") else f"{text}."


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
    text = "\n\n".join(_paragraphs(text))
    if not text:
        return []
    if len(text) <= max_chars:
        return [text]
    units: list[tuple[str, str]] = []  # (piece, separator to rejoin with)
    for para in _paragraphs(text):
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


_NUMBERED = re.compile(r"^\s*\d{1,2}[.)]\s")


def _paragraphs(text: str) -> list[str]:
    """Paragraphs, with a numbered list kept whole: its items (even when blank lines part them)
    and the line that introduces it ("To report it:") are one unit, so no chunk starts at step 3."""
    out: list[str] = []
    in_list = False
    for para in re.split(r"\n\s*\n", text):
        para = para.strip()
        if not para:
            continue
        numbered = bool(_NUMBERED.match(para))
        if numbered and out and (in_list or out[-1].endswith(":")):
            out[-1] = f"{out[-1]}\n{para}"
        else:
            out.append(para)
        # a list goes on while its paragraphs end in items (not in a prose paragraph after it)
        in_list = numbered and bool(_NUMBERED.match(para.split("\n")[-1])) or (
            in_list and numbered)
    return out


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
