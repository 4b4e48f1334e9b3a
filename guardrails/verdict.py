"""Verdict: what one check concluded about one piece of text."""
from __future__ import annotations

from pydantic import BaseModel, Field


class Span(BaseModel):
    """Where a finding sits in the text it was found in. Never carries the value itself."""

    start: int
    end: int
    kind: str  # e.g. "CARD", "PHONE", "EMAIL" for PII; a cue word class for topics


class Verdict(BaseModel):
    check: str  # which check produced it, e.g. "pii", "topic", "manipulation"
    category: str  # a reason code, a PII kind, "manipulation", "out_of_scope", ...
    triggered: bool
    score: float = 0.0
    reason: str = ""  # short human-readable explanation, already redacted
    spans: list[Span] = Field(default_factory=list)
