"""Conversation: the state the engine keeps per customer thread. Text is stored redacted."""
from __future__ import annotations

from datetime import datetime, timezone
from enum import StrEnum

from pydantic import BaseModel, Field

from guardrails.codes import Channel


def _now() -> datetime:
    return datetime.now(timezone.utc)


class ConversationStatus(StrEnum):
    BOT = "bot"
    AWAITING_HUMAN = "awaiting_human"
    HUMAN = "human"
    RESOLVED = "resolved"


class Turn(BaseModel):
    role: str  # "user" | "bot" | "agent" (a human in Slack)
    text: str  # redacted
    at: datetime = Field(default_factory=_now)
    action: str | None = None  # for bot turns: the Decision's action
    citations: list[str] = Field(default_factory=list)  # doc ids cited by a bot turn
    message_id: str | None = None


class Conversation(BaseModel):
    id: str  # the conversation key
    customer_id: str = ""
    customer_handle: str | None = None
    channel: Channel = Channel.WEBCHAT
    platform: str = ""
    link: str | None = None
    status: ConversationStatus = ConversationStatus.BOT
    turns: list[Turn] = Field(default_factory=list)
    case_id: str | None = None
    assignee: str | None = None  # Slack user id of the human who claimed the case
    slack_thread: str | None = None  # "channel:ts" of the case message
    unanswered_turns: int = 0  # consecutive turns the bot could not answer
    clarifications: int = 0  # clarifying questions asked since the last answer
    sentiment: list[float] = Field(default_factory=list)  # VADER compound per user turn
    pii_kinds: list[str] = Field(default_factory=list)  # kinds of personal data seen, never values
    created_at: datetime = Field(default_factory=_now)
    updated_at: datetime = Field(default_factory=_now)
