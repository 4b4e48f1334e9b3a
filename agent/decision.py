"""Decision: what the engine decided for one turn."""
from __future__ import annotations

from pydantic import BaseModel, Field

from guardrails.codes import Action, Priority, Reason
from guardrails.verdict import Verdict


class Citation(BaseModel):
    doc_id: str
    title: str
    url: str | None = None
    score: float = 0.0


class Decision(BaseModel):
    action: Action
    text: str = ""  # the reply to send; empty for relay
    parts: list[str] = Field(default_factory=list)  # text split to the channel's limit
    public_text: str | None = None  # move_to_private: the short public reply
    citations: list[Citation] = Field(default_factory=list)
    reasons: list[Reason] = Field(default_factory=list)  # escalation codes
    priority: Priority | None = None
    case_id: str | None = None
    verdicts: list[Verdict] = Field(default_factory=list)  # only triggered ones, redacted
    composer: str = ""  # "extractive" | "openai" | "llamacpp" | "template"
    composer_note: str = ""  # why the composer fell back, if it did
    grounded: float | None = None  # share of reply sentences the grounding check attributed
    conversation_id: str = ""
    latency_ms: float = 0.0
