"""Read a knowledge-base folder into Documents (the KB format of spec eval-suite.md §1).

Formats and document ids:

- ``*.md`` / ``*.markdown``: optional YAML front matter (``id``, ``title``, ``url``, ``tags``).
  id defaults to the path relative to the KB folder without extension (posix separators);
  title defaults to the first ``# `` heading outside code fences, else the file stem.
- ``*.html`` / ``*.htm``: text extracted keeping headings (as ``#`` lines), paragraphs,
  list items and table rows; title = ``<title>``, else the first ``<h1>``, else the stem;
  id = the path relative to the KB folder, extension included (e.g. ``guides/setup.html``).
- ``*.txt``: id = the relative path, extension included; title = the file stem.
- ``*.jsonl`` / ``*.csv`` FAQ files: one record per line/row with ``question`` and ``answer``
  (required) and optional ``id``, ``url``, ``tags`` (a list, or in CSV a string separated by
  commas/semicolons/pipes). Each record is a Document (kind ``faq``, title = question).
  Row numbers are 1-based: in JSONL the physical line number (blank lines are skipped but
  counted), in CSV the data row below the header (the first record is row 1). A record
  without ``id`` gets ``<file stem>#<row number>``; ``source`` is ``<relative path>#<row>``.

Audience: every document is ``public`` (the default) or ``internal`` (for human agents only:
never retrieved, quoted or cited for a customer). Say so with ``audience: internal`` in Markdown
front matter, an ``audience`` column/key in FAQ CSV/JSONL, ``<meta name="audience"
content="internal">`` in HTML, or by placing the file in a folder named ``internal`` anywhere
in its path (``internal/refunds.md``, ``billing/internal/override.md``). Any of them makes the
document internal; another value than public/internal is a load error for that file or row.

Text is decoded as UTF-8 (a BOM is dropped), else cp1252, else latin-1, so odd encodings
never stop a load. Hidden files and folders (``.git``, ``.DS_Store``) are ignored; files
with other extensions are listed in ``LoadResult.skipped``. Every problem becomes a
one-line LoadError naming the file (and row) and the rest of the folder still loads;
a document whose id was already taken by an earlier file (sorted path order) is rejected.
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
from pathlib import Path
from typing import Any

import yaml

from knowledge.document import AUDIENCES, INTERNAL, PUBLIC, Document, LoadError, LoadResult
from knowledge.hashing import content_hash

MARKDOWN_EXT = {".md", ".markdown"}
HTML_EXT = {".html", ".htm"}
TEXT_EXT = {".txt"}
FAQ_EXT = {".jsonl", ".csv"}
SUPPORTED_EXT = MARKDOWN_EXT | HTML_EXT | TEXT_EXT | FAQ_EXT


class KbFileError(ValueError):
    """A whole file could not be loaded; the message is one line naming the file."""


def document_hash(
    *,
    doc_id: str,
    title: str,
    url: str | None,
    text: str,
    question: str | None,
    tags: list[str],
    kind: str,
    source: str,
    audience: str = PUBLIC,
) -> str:
    """Hash of every field that lands in the index for one document."""
    # The audience joins the hash only when internal, so public documents keep their hashes;
    # a flip either way changes it and re-ingest rewrites the document's chunks at once.
    extra = (audience,) if audience != PUBLIC else ()
    return content_hash(doc_id, title, url, text, question, "\x1f".join(tags), kind, source, *extra)


def _make_doc(**fields: Any) -> Document:
    fields.setdefault("url", None)
    fields.setdefault("question", None)
    fields.setdefault("tags", [])
    fields.setdefault("audience", PUBLIC)
    return Document(**fields, content_hash=document_hash(**fields))


# --------------------------------------------------------------------------- decoding


def decode_bytes(data: bytes) -> str:
    """UTF-8 (BOM dropped), else cp1252, else latin-1 (which cannot fail)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _read_text(path: Path, rel: str) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KbFileError(f"{rel}: cannot read file ({exc.strerror or exc})") from exc
    text = decode_bytes(data).replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise KbFileError(f"{rel}: file is empty")
    return text


def _one_line(text: str, limit: int = 160) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


# --------------------------------------------------------------------------- field helpers


def _clean_str(value: Any, field: str, where: str) -> str | None:
    """Optional scalar field as a stripped string (numbers allowed, e.g. id: 42)."""
    if value is None:
        return None
    if isinstance(value, bool) or isinstance(value, (list, dict)):
        raise KbFileError(f"{where}: '{field}' must be a text value, got {type(value).__name__}")
    text = str(value).strip()
    return text or None


def _clean_tags(value: Any, where: str) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        parts = re.split(r"[,;|]", value)
    elif isinstance(value, (list, tuple)):
        parts = []
        for item in value:
            if isinstance(item, (list, dict)) or item is None:
                raise KbFileError(f"{where}: 'tags' must be a list of words")
            parts.append(str(item))
    else:
        raise KbFileError(f"{where}: 'tags' must be a list, got {type(value).__name__}")
    seen: list[str] = []
    for part in parts:
        tag = part.strip()
        if tag and tag not in seen:
            seen.append(tag)
    return seen


def _clean_audience(value: Any, where: str) -> str:
    """`public` (also when empty) or `internal`; anything else is an error the user can fix."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return PUBLIC
    text = str(value).strip().lower()
    if text not in AUDIENCES:
        raise KbFileError(f"{where}: 'audience' must be public or internal, got {_one_line(str(value), 40)!r}")
    return text


def _in_internal_folder(rel: str) -> bool:
    """The folder convention: a directory named `internal` anywhere above the file."""
    return any(part.lower() == INTERNAL for part in Path(rel).parts[:-1])


def _as_internal(doc: Document) -> Document:
    if doc.audience == INTERNAL:
        return doc
    fields = doc.model_dump(exclude={"content_hash", "audience"})
    return _make_doc(**fields, audience=INTERNAL)


# --------------------------------------------------------------------------- markdown

_FRONT_MATTER_END = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.MULTILINE)
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_H1 = re.compile(r"^\s{0,3}#[ \t]+(.+?)[ \t#]*$")


def _split_front_matter(text: str, rel: str) -> tuple[dict[str, Any], str]:
    if not re.match(r"---[ \t]*\n", text):
        return {}, text
    body_start = text.index("\n") + 1
    end = _FRONT_MATTER_END.search(text, body_start)
    if end is None:
        raise KbFileError(f"{rel}: front matter opened with '---' but never closed")
    raw = text[body_start : end.start()]
    try:
        meta = yaml.safe_load(raw) if raw.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 2})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "cannot be parsed"
        raise KbFileError(f"{rel}: invalid YAML front matter{where}: {_one_line(problem)}") from exc
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise KbFileError(f"{rel}: front matter must be 'key: value' lines, got {type(meta).__name__}")
    return meta, text[end.end() :].lstrip("\n")


def first_h1(markdown: str) -> str | None:
    """The first `# ` heading outside fenced code, or None."""
    in_fence = False
    for line in markdown.split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        if not in_fence:
            match = _H1.match(line)
            if match and match.group(1).strip():
                return match.group(1).strip()
    return None


def _load_markdown(path: Path, rel: str) -> list[Document]:
    text = _read_text(path, rel)
    meta, body = _split_front_matter(text, rel)
    meta = {str(k).strip().lower(): v for k, v in meta.items()}
    body = body.strip()
    if not body:
        raise KbFileError(f"{rel}: no text after the front matter")
    doc_id = _clean_str(meta.get("id"), "id", rel) or str(Path(rel).with_suffix("").as_posix())
    title = _clean_str(meta.get("title"), "title", rel) or first_h1(body) or path.stem
    return [
        _make_doc(
            doc_id=doc_id,
            title=title,
            url=_clean_str(meta.get("url"), "url", rel),
            tags=_clean_tags(meta.get("tags"), rel),
            text=body,
            kind="markdown",
            source=rel,
            audience=_clean_audience(meta.get("audience"), rel),
        )
    ]


# --------------------------------------------------------------------------- html

_DROP_TAGS = ("script", "style", "noscript", "template", "svg", "iframe", "head", "title", "form", "button")
_BLOCK_TAGS = {
    "p", "div", "section", "article", "main", "aside", "header", "footer", "nav", "blockquote",
    "pre", "ul", "ol", "dl", "dt", "dd", "table", "thead", "tbody", "tfoot", "figure",
    "figcaption", "details", "summary", "address", "hr", "body", "html",
}


def html_to_text(html: str) -> tuple[str | None, str]:
    """(title, text) with headings as `#` lines and one blank line between blocks."""
    from bs4 import BeautifulSoup, NavigableString, Tag
    from bs4.element import Comment

    soup = BeautifulSoup(html, "html.parser")
    title_tag = soup.find("title")
    title = " ".join(title_tag.get_text(" ").split()) if title_tag else None
    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()

    blocks: list[str] = []
    inline: list[str] = []

    def flush() -> None:
        line = " ".join("".join(inline).split())
        if line:
            blocks.append(line)
        inline.clear()

    def walk(node: Any) -> None:
        for child in node.children:
            if isinstance(child, Comment):
                continue
            if isinstance(child, NavigableString):
                inline.append(str(child))
                continue
            if not isinstance(child, Tag):
                continue
            name = child.name.lower()
            if re.fullmatch(r"h[1-6]", name):
                flush()
                heading = " ".join(child.get_text(" ").split())
                if heading:
                    blocks.append("#" * int(name[1]) + " " + heading)
            elif name == "li":
                flush()
                item = " ".join(child.get_text(" ").split())
                if item:
                    parent = child.parent
                    if parent is not None and parent.name == "ol":  # steps keep their numbers
                        number = 1 + sum(1 for s in child.find_previous_siblings("li"))
                        blocks.append(f"{number}. {item}")
                    else:
                        blocks.append("- " + item)
            elif name == "table":
                flush()
                table = _html_table(child)
                if table:
                    blocks.append(table)
            elif name == "tr":
                flush()
                cells = [" ".join(c.get_text(" ").split()) for c in child.find_all(["td", "th"])]
                row = " | ".join(c for c in cells if c)
                if row:
                    blocks.append(row)
            elif name == "br":
                inline.append("\n")
            elif name in _BLOCK_TAGS:
                flush()
                walk(child)
                flush()
            else:
                walk(child)

    walk(soup)
    flush()
    text = "\n\n".join(blocks)
    if not title:
        title = first_h1(text)
    return title, text


def _html_table(table: Any) -> str:
    """An HTML table as a Markdown table (header row + rule), which chunking turns into one
    sentence per row; cell text only, nested tables flattened into their cell."""
    rows = []
    for tr in table.find_all("tr"):
        if tr.find_parent("table") is not table:
            continue
        cells = [" ".join(c.get_text(" ").split()).replace("|", "/") for c in tr.find_all(["td", "th"], recursive=False)]
        if any(cells):
            rows.append(cells)
    if not rows:
        return ""
    width = max(len(r) for r in rows)
    lines = ["| " + " | ".join(r + [""] * (width - len(r))) + " |" for r in rows]
    lines.insert(1, "| " + " | ".join(["---"] * width) + " |")
    return "\n".join(lines)


def _load_html(path: Path, rel: str) -> list[Document]:
    raw = _read_text(path, rel)
    title, text = html_to_text(raw)
    if not text.strip():
        raise KbFileError(f"{rel}: no visible text in the HTML")
    return [_make_doc(doc_id=rel, title=title or path.stem, text=text, kind="html", source=rel,
                      audience=_html_audience(raw, rel))]


def _html_audience(html: str, rel: str) -> str:
    """`<meta name="audience" content="internal">` (name case-insensitive), else public."""
    if "audience" not in html.lower():
        return PUBLIC
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for meta in soup.find_all("meta"):
        if str(meta.get("name", "")).strip().lower() == "audience":
            return _clean_audience(meta.get("content"), rel)
    return PUBLIC


# --------------------------------------------------------------------------- text


def _load_txt(path: Path, rel: str) -> list[Document]:
    text = _read_text(path, rel).strip()
    return [_make_doc(doc_id=rel, title=path.stem, text=text, kind="text", source=rel)]


# --------------------------------------------------------------------------- FAQ


def _faq_record(
    record: dict[str, Any], row: int, path: Path, rel: str
) -> Document:
    where = f"{rel} row {row}"
    fields = {str(k).strip().lower(): v for k, v in record.items() if k is not None}
    question = _clean_str(fields.get("question"), "question", where)
    answer = _clean_str(fields.get("answer"), "answer", where)
    if not question:
        raise KbFileError(f"{where}: 'question' is missing or empty")
    if not answer:
        raise KbFileError(f"{where}: 'answer' is missing or empty")
    doc_id = _clean_str(fields.get("id"), "id", where) or f"{path.stem}#{row}"
    return _make_doc(
        doc_id=doc_id,
        title=question,
        url=_clean_str(fields.get("url"), "url", where),
        tags=_clean_tags(fields.get("tags"), where),
        text=answer,
        question=question,
        kind="faq",
        source=f"{rel}#{row}",
        audience=_clean_audience(fields.get("audience"), where),
    )


def _faq_jsonl(path: Path, rel: str, errors: list[LoadError]) -> list[Document]:
    text = _read_text(path, rel)
    docs: list[Document] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(LoadError(source=rel, message=f"{rel} row {number}: not valid JSON ({exc.msg})"))
            continue
        if not isinstance(record, dict):
            errors.append(LoadError(source=rel, message=f"{rel} row {number}: expected a JSON object"))
            continue
        try:
            docs.append(_faq_record(record, number, path, rel))
        except KbFileError as exc:
            errors.append(LoadError(source=rel, message=str(exc)))
    return docs


def _csv_delimiter(header_line: str) -> str:
    # Spreadsheets in many locales save ';' or tab separated "CSV".
    for delim in (",", ";", "\t", "|"):
        names = {h.strip().strip('"').lower() for h in header_line.split(delim)}
        if {"question", "answer"} <= names:
            return delim
    return ","


def _faq_csv(path: Path, rel: str, errors: list[LoadError]) -> list[Document]:
    text = _read_text(path, rel)
    header_line = text.lstrip("\n").split("\n", 1)[0]
    reader = csv.DictReader(io.StringIO(text), delimiter=_csv_delimiter(header_line))
    try:
        header = [str(h).strip().lower() for h in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise KbFileError(f"{rel}: cannot read the CSV header ({exc})") from exc
    missing = [col for col in ("question", "answer") if col not in header]
    if missing:
        found = ", ".join(h for h in header if h) or "none"
        raise KbFileError(
            f"{rel}: FAQ CSV needs columns 'question' and 'answer'; missing {', '.join(missing)} (found: {found})"
        )
    docs: list[Document] = []
    row = 0
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            row += 1
            errors.append(LoadError(source=rel, message=f"{rel} row {row}: malformed CSV ({exc})"))
            continue
        row += 1
        if not any((v or "").strip() for v in record.values() if isinstance(v, str)):
            continue  # a blank row in a spreadsheet export is not an error
        try:
            docs.append(_faq_record(record, row, path, rel))
        except KbFileError as exc:
            errors.append(LoadError(source=rel, message=str(exc)))
    return docs


def _load_faq(path: Path, rel: str, errors: list[LoadError]) -> list[Document]:
    if path.suffix.lower() == ".csv":
        return _faq_csv(path, rel, errors)
    return _faq_jsonl(path, rel, errors)


# --------------------------------------------------------------------------- entry points


def _relative(path: Path, kb_dir: Path) -> str:
    try:
        return path.resolve().relative_to(kb_dir.resolve()).as_posix()
    except ValueError:
        return path.name


def _load_file_collecting(path: Path, kb_dir: Path, errors: list[LoadError]) -> list[Document]:
    rel = _relative(path, kb_dir)
    docs = _load_by_type(path, rel, errors)
    return [_as_internal(d) for d in docs] if _in_internal_folder(rel) else docs


def _load_by_type(path: Path, rel: str, errors: list[LoadError]) -> list[Document]:
    ext = path.suffix.lower()
    if ext in MARKDOWN_EXT:
        return _load_markdown(path, rel)
    if ext in HTML_EXT:
        return _load_html(path, rel)
    if ext in TEXT_EXT:
        return _load_txt(path, rel)
    if ext in FAQ_EXT:
        docs = _load_faq(path, rel, errors)
        if not docs and not errors:
            raise KbFileError(f"{rel}: no FAQ records found")
        return docs
    raise KbFileError(f"{rel}: unsupported file type '{ext or path.name}'")


def load_file(path: Path, kb_dir: Path) -> list[Document]:
    """Documents of one KB file; raises KbFileError (one line) on the first problem."""
    errors: list[LoadError] = []
    docs = _load_file_collecting(Path(path), Path(kb_dir), errors)
    if errors:
        raise KbFileError(errors[0].message)
    return docs


def iter_kb_files(kb_dir: Path) -> tuple[list[Path], list[Path]]:
    """(supported files, other files) below kb_dir in sorted order; hidden entries skipped."""
    supported: list[Path] = []
    other: list[Path] = []
    for root, dirs, files in os.walk(kb_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
        for name in sorted(files):
            if name.startswith("."):
                continue
            path = Path(root) / name
            (supported if path.suffix.lower() in SUPPORTED_EXT else other).append(path)
    key = lambda p: p.relative_to(kb_dir).as_posix()  # noqa: E731 - sort key
    return sorted(supported, key=key), sorted(other, key=key)


def load_kb(kb_dir: Path) -> LoadResult:
    """Load every supported file below kb_dir; bad files become LoadErrors, never exceptions."""
    kb_dir = Path(kb_dir)
    result = LoadResult()
    if not kb_dir.is_dir():
        result.errors.append(LoadError(source=str(kb_dir), message=f"{kb_dir}: KB folder not found"))
        return result
    files, other = iter_kb_files(kb_dir)
    result.skipped = [p.relative_to(kb_dir).as_posix() for p in other]
    owner: dict[str, str] = {}
    for path in files:
        rel = _relative(path, kb_dir)
        file_errors: list[LoadError] = []
        try:
            docs = _load_file_collecting(path, kb_dir, file_errors)
        except KbFileError as exc:
            result.errors.append(LoadError(source=rel, message=_one_line(str(exc), 300)))
            continue
        result.errors.extend(file_errors)
        for doc in docs:
            if doc.doc_id in owner:
                result.errors.append(
                    LoadError(
                        source=rel,
                        message=f"{doc.source}: duplicate document id '{doc.doc_id}' (already used by {owner[doc.doc_id]}); skipped",
                    )
                )
                continue
            owner[doc.doc_id] = doc.source
            result.documents.append(doc)
    return result


__all__ = ["load_kb", "load_file", "KbFileError", "decode_bytes", "html_to_text", "document_hash"]
