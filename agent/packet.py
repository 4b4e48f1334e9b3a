"""ContextPacket: everything a human agent needs to take over a case. Versioned, JSON-safe."""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from guardrails.codes import Priority, Reason

PACKET_VERSION = 1


class Evidence(BaseModel):
    reason: Reason
    check: str
    score: float
    words: str = ""  # the redacted words that fired the check


class KbTried(BaseModel):
    doc_id: str
    title: str
    url: str | None = None
    score: float
    internal: bool = False  # an agent-only article: read it, never quote it to the customer as is


class TranscriptLine(BaseModel):
    role: str
    text: str  # redacted
    at: datetime


class ContextPacket(BaseModel):
    version: int = PACKET_VERSION
    case_id: str
    priority: Priority
    reasons: list[Reason]
    evidence: list[Evidence] = Field(default_factory=list)
    summary: str  # 1-3 sentences on what the customer needs; redacted
    customer_id: str
    customer_handle: str | None = None
    platform: str
    channel: str
    public: bool = False
    link: str | None = None
    intent: str | None = None
    sentiment: float | None = None  # latest VADER compound
    sentiment_trend: str | None = None  # "improving" | "steady" | "worsening"
    transcript: list[TranscriptLine] = Field(default_factory=list)
    kb_tried: list[KbTried] = Field(default_factory=list)
    attempted_answer: str | None = None
    suggested_reply: str | None = None
    suggested_reply_internal: bool = False  # the draft quotes an internal article: adapt before sending
    pii_kinds: list[str] = Field(default_factory=list)  # never values
    language: str | None = None  # ISO 639-1 code of the customer's message when it is not English
    conversation_id: str
    created_at: datetime
    sla_due_at: datetime
