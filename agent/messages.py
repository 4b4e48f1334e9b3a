"""InboundMessage: a customer's message, normalized by a connector."""
from __future__ import annotations

from datetime import datetime, timezone

from pydantic import BaseModel, Field

from guardrails.codes import PUBLIC_CHANNELS, Channel


def _now() -> datetime:
    return datetime.now(timezone.utc)


class InboundMessage(BaseModel):
    platform: str  # "meta", "x", "telegram", "web", "cli", "eval"
    channel: Channel
    conversation_key: str  # stable per customer thread on a platform, e.g. "messenger:PAGE:PSID"
    customer_id: str  # platform user id; a connector may map several to one record
    customer_handle: str | None = None  # "@sam", display name
    message_id: str  # platform message id, used for dedupe
    text: str
    public: bool = False  # a public post or comment (x_public is always public)
    reply_to_id: str | None = None  # the post to answer publicly
    link: str | None = None  # link to the post or profile, for the human agent
    attachments: int = 0  # count of non-text attachments
    received_at: datetime = Field(default_factory=_now)

    @property
    def is_public(self) -> bool:
        return self.public or self.channel in PUBLIC_CHANNELS
