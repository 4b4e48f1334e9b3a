"""ConversationStore: where conversations, dedupe keys, locks and cases live.

Two implementations with the same semantics (one contract test suite runs against both):
RedisStore when settings.redis_url is set, MemoryStore (optionally snapshotted to a JSON
file so separate processes share it) as the embedded default.
"""
from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from agent.conversation import Conversation
from agent.packet import ContextPacket

if TYPE_CHECKING:
    from agent.settings import Settings

STATE_FILE = "state.json"


class StoreError(RuntimeError):
    """The store cannot do what was asked (e.g. Redis unreachable)."""


class LockTimeout(TimeoutError):
    """Another worker held the conversation lock for longer than we were willing to wait."""


@runtime_checkable
class ConversationStore(Protocol):
    # --- conversations --------------------------------------------------------
    def get(self, key: str) -> Conversation | None:
        """The conversation stored under key, or None (never seen or expired)."""

    def save(self, conv: Conversation) -> None:
        """Store conv under conv.id; refreshes its TTL."""

    def lock(self, key: str, timeout_s: float = 10.0) -> AbstractContextManager[None]:
        """Exclusive per-conversation lock across threads and processes; raises LockTimeout."""

    def seen(self, dedupe_key: str, ttl_s: int) -> bool:
        """True if dedupe_key was already seen within ttl_s; marks it seen atomically."""

    # --- customers --------------------------------------------------------------
    def link_customer(self, platform: str, platform_user_id: str, customer_id: str) -> None:
        """Map one platform identity to a customer record (several may map to one)."""

    def customer_for(self, platform: str, platform_user_id: str) -> str | None: ...

    def customer_conversations(self, customer_id: str) -> list[str]:
        """Keys of the saved conversations whose customer_id is customer_id."""

    # --- cases -------------------------------------------------------------------
    def next_case_id(self) -> str:
        """A new case number (CX-XXXXX), unique across every process using this store."""

    def index_case(self, case_id: str, key: str) -> None:
        """Point case_id at conversation key and list it as open."""

    def find_case(self, case_id: str) -> str | None:
        """The conversation key of a case, or None."""

    def open_cases(self) -> list[str]:
        """Case ids waiting for or with a human, oldest first."""

    def all_cases(self) -> list[str]:
        """Every indexed case id, oldest first."""

    def close_case(self, case_id: str) -> None:
        """Take case_id off the open list (it stays findable)."""

    def save_packet(self, packet: ContextPacket) -> None: ...

    def packet(self, case_id: str) -> ContextPacket | None: ...

    def append_case_event(self, case_id: str, event: dict[str, Any]) -> None:
        """Append one JSON-safe line to a case's thread (status changes, relayed messages)."""

    def case_events(self, case_id: str) -> list[dict[str, Any]]: ...

    # --- outbound -----------------------------------------------------------------
    def append_outbox(self, conversation_id: str, record: dict[str, Any]) -> None:
        """Record a message sent to the customer (what a chat UI shows)."""

    def outbox(self, conversation_id: str) -> list[dict[str, Any]]: ...


def make_store(settings: Settings) -> ConversationStore:
    """RedisStore when settings.redis_url is set, else a MemoryStore snapshotted in data_dir."""
    if settings.redis_url:
        from agent.store_redis import RedisStore

        return RedisStore(
            settings.redis_url,
            prefix=settings.redis_prefix,
            ttl_s=settings.conversation_ttl_s,
        )
    from agent.store_memory import MemoryStore

    return MemoryStore(path=settings.data_dir / STATE_FILE, ttl_s=settings.conversation_ttl_s)
