"""Sending to the customer: the Sender protocol and RecordingSender (CLI, web chat, evals)."""
from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from agent.conversation import Conversation

if TYPE_CHECKING:
    from agent.store import ConversationStore

# How long a send's idempotency key is remembered (platform retries are shorter than this).
IDEMPOTENCY_TTL_S = 7 * 24 * 3600


@runtime_checkable
class Sender(Protocol):
    def send(self, conv: Conversation, text: str, *, idempotency_key: str) -> None:
        """Deliver text to the customer of conv; a repeated idempotency_key must not send twice."""


class OutboundMessage(BaseModel):
    conversation_id: str
    platform: str
    channel: str
    customer_id: str
    text: str
    idempotency_key: str
    role: str = "agent"  # who wrote it: "agent" (human) or "bot"
    at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))


class RecordingSender:
    """Keeps what it sent. With a store, the outbox is persisted (store.outbox(conv_id)) and
    idempotency holds across processes; without one, both live in this object."""

    def __init__(self, store: ConversationStore | None = None, *, role: str = "agent") -> None:
        self.store = store
        self.role = role
        self.sent: list[OutboundMessage] = []
        self._keys: set[str] = set()
        self._mutex = threading.Lock()

    def send(self, conv: Conversation, text: str, *, idempotency_key: str) -> None:
        msg = OutboundMessage(conversation_id=conv.id, platform=conv.platform,
                              channel=str(conv.channel), customer_id=conv.customer_id, text=text,
                              idempotency_key=idempotency_key, role=self.role)
        with self._mutex:
            if idempotency_key in self._keys:
                return
            if self.store is not None and self.store.seen(f"send:{idempotency_key}",
                                                           IDEMPOTENCY_TTL_S):
                self._keys.add(idempotency_key)
                return
            self._keys.add(idempotency_key)
            if self.store is not None:
                self.store.append_outbox(conv.id, msg.model_dump(mode="json"))
            self.sent.append(msg)

    def outbox(self, conversation_id: str) -> list[OutboundMessage]:
        """Everything sent to one conversation, from the store when there is one."""
        if self.store is not None:
            return [OutboundMessage.model_validate(r) for r in self.store.outbox(conversation_id)]
        return [m for m in self.sent if m.conversation_id == conversation_id]
