"""Passage: one retrieved chunk of the knowledge base with its score."""
from __future__ import annotations

from pydantic import BaseModel


class Passage(BaseModel):
    doc_id: str
    chunk_id: str
    title: str
    url: str | None = None
    text: str
    score: float  # fused relevance; higher is better
    dense_score: float | None = None  # cosine similarity from the embedding search
    lexical_score: float | None = None  # BM25
    internal: bool = False  # from an internal (agent-only) document; only agent searches return these
