"""Document and Chunk: what the loaders read and what the index stores."""
from __future__ import annotations

from pydantic import BaseModel, Field


class Document(BaseModel):
    doc_id: str  # what suites cite (spec §1)
    title: str
    url: str | None = None
    tags: list[str] = Field(default_factory=list)
    text: str  # body text (Markdown kept as Markdown; HTML reduced to text)
    kind: str  # "markdown" | "html" | "text" | "faq"
    source: str  # path relative to the KB folder (FAQ: "file.jsonl#row")
    question: str | None = None  # FAQ records: the question, matched question-to-question
    content_hash: str  # sha256 of everything that ends up in the index for this doc
    # "public" (default) or "internal": internal articles are for human agents only; the bot
    # never retrieves, quotes or cites them to a customer (front matter, FAQ column, HTML meta
    # tag or an `internal/` folder in the path).
    audience: str = "public"

    @property
    def internal(self) -> bool:
        return self.audience == INTERNAL


PUBLIC, INTERNAL = "public", "internal"
AUDIENCES = (PUBLIC, INTERNAL)


class Chunk(BaseModel):
    chunk_id: str  # stable across runs: f"{doc_id}::{n}" style, derived from content position
    doc_id: str
    title: str
    url: str | None = None
    text: str  # the chunk body (with its heading path prefixed for context)
    heading: str | None = None  # Markdown heading path, e.g. "Returns > Refund timing"
    question: str | None = None  # FAQ question for FAQ chunks
    content_hash: str  # of the owning document, to sync incremental ingest
    position: int = 0
    body: str | None = None  # the chunk text without the title/heading prefix (for quoting)


class LoadError(BaseModel):
    source: str  # file path relative to the KB folder
    message: str  # one line, says what was wrong


class LoadResult(BaseModel):
    documents: list[Document] = Field(default_factory=list)
    errors: list[LoadError] = Field(default_factory=list)
    skipped: list[str] = Field(default_factory=list)  # files with unsupported extensions
