"""Intake: dedupe a verified inbound message, rate-limit per customer, queue it durably.

RedisIntake appends to a Redis Stream (consumed by `concierge worker` in a consumer
group); MemoryIntake is the embedded default, a thread-safe queue in this process.
"""
from __future__ import annotations

import queue
import threading
import time
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal, Protocol

from agent.messages import InboundMessage

ItemKind = Literal["turn", "rate_limited"]
STREAM = "intake"
GROUP = "workers"


class Submitted(StrEnum):
    ENQUEUED = "enqueued"
    DUPLICATE = "duplicate"
    RATE_LIMITED = "rate_limited"  # dropped; the customer was told once in this window


@dataclass
class QueueItem:
    msg: InboundMessage
    kind: ItemKind = "turn"
    entry_id: str | None = None  # the stream entry id (Redis) once read

    @property
    def key(self) -> str:
        """Stable id of this inbound message across retries: platform + platform message id."""
        return f"{self.msg.platform}:{self.msg.message_id}"

    def to_fields(self) -> dict[str, str]:
        return {"kind": self.kind, "msg": self.msg.model_dump_json()}

    @classmethod
    def from_fields(cls, fields: dict[Any, Any], entry_id: str | None = None) -> "QueueItem":
        f = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
             for k, v in fields.items()}
        kind = f.get("kind", "turn")
        return cls(msg=InboundMessage.model_validate_json(f["msg"]),
                   kind="rate_limited" if kind == "rate_limited" else "turn", entry_id=entry_id)


def clean_text(text: str) -> str:
    """Valid UTF-8 without control characters: lone surrogates and NULs would break storage."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")
    return unicodedata.normalize("NFC", text)


def normalize(msg: InboundMessage) -> InboundMessage:
    update: dict[str, Any] = {"text": clean_text(msg.text)}
    if msg.customer_handle:
        update["customer_handle"] = clean_text(msg.customer_handle)[:80]
    return msg.model_copy(update=update)


class Intake(Protocol):
    def submit(self, msg: InboundMessage) -> Submitted: ...
    def depth(self) -> int: ...


def _window() -> int:
    return int(time.time() // 60)


class RedisIntake:
    """SET NX dedupe key -> per-customer counter -> XADD to the stream."""

    def __init__(self, client: Any, *, prefix: str = "concierge:", dedupe_ttl_s: int = 7 * 24 * 3600,
                 rate_limit_per_minute: int = 20) -> None:
        self.r = client
        self.prefix = prefix
        self.stream = prefix + STREAM
        self.dedupe_ttl_s = dedupe_ttl_s
        self.rate_limit = rate_limit_per_minute

    def submit(self, msg: InboundMessage) -> Submitted:
        msg = normalize(msg)
        dedupe = f"{self.prefix}dedupe:{msg.platform}:{msg.message_id}"
        if not self.r.set(dedupe, "1", nx=True, ex=self.dedupe_ttl_s):
            return Submitted.DUPLICATE
        try:
            kind: ItemKind = "turn"
            if self.rate_limit > 0:
                window = _window()
                counter = f"{self.prefix}rate:{msg.platform}:{msg.customer_id}:{window}"
                pipe = self.r.pipeline()
                pipe.incr(counter)
                pipe.expire(counter, 120)
                count = pipe.execute()[0]
                if count > self.rate_limit:
                    notice = f"{self.prefix}ratenotice:{msg.platform}:{msg.customer_id}:{window}"
                    if not self.r.set(notice, "1", nx=True, ex=120):
                        return Submitted.RATE_LIMITED
                    kind = "rate_limited"
            self.r.xadd(self.stream, QueueItem(msg, kind).to_fields())
        except Exception:
            # Not queued: forget the dedupe key so the platform's retry gets through.
            self.r.delete(dedupe)
            raise
        return Submitted.ENQUEUED if kind == "turn" else Submitted.RATE_LIMITED

    def depth(self) -> int:
        """Entries not yet acknowledged: never read (lag) plus read but pending."""
        try:
            groups = self.r.xinfo_groups(self.stream)
        except Exception:  # noqa: BLE001 - no stream yet
            return 0
        for g in groups:
            name = g.get("name") or g.get(b"name")
            if (name.decode() if isinstance(name, bytes) else name) == GROUP:
                lag = g.get("lag") or g.get(b"lag")
                pending = g.get("pending") or g.get(b"pending") or 0
                if lag is None:  # lag unknown (entries deleted): fall back to the length
                    return int(self.r.xlen(self.stream))
                return int(lag) + int(pending)
        return int(self.r.xlen(self.stream))


class MemoryIntake:
    """The same contract in one process: a queue, a dedupe dict with expiry, per-minute counters."""

    def __init__(self, *, dedupe_ttl_s: int = 7 * 24 * 3600, rate_limit_per_minute: int = 20,
                 max_dedupe_keys: int = 100_000) -> None:
        self.queue: queue.Queue[QueueItem] = queue.Queue()
        self.dedupe_ttl_s = dedupe_ttl_s
        self.rate_limit = rate_limit_per_minute
        self.max_dedupe_keys = max_dedupe_keys
        self._seen: dict[str, float] = {}
        self._counts: dict[tuple[str, int], int] = {}
        self._mutex = threading.Lock()
        self.in_flight = 0

    def submit(self, msg: InboundMessage) -> Submitted:
        msg = normalize(msg)
        now = time.time()
        key = f"{msg.platform}:{msg.message_id}"
        with self._mutex:
            if self._seen.get(key, 0) > now:
                return Submitted.DUPLICATE
            if len(self._seen) >= self.max_dedupe_keys:
                self._seen = {k: t for k, t in self._seen.items() if t > now}
            self._seen[key] = now + self.dedupe_ttl_s
            kind: ItemKind = "turn"
            if self.rate_limit > 0:
                window = _window()
                self._counts = {k: v for k, v in self._counts.items() if k[1] >= window - 1}
                ck = (f"{msg.platform}:{msg.customer_id}", window)
                self._counts[ck] = self._counts.get(ck, 0) + 1
                if self._counts[ck] > self.rate_limit + 1:
                    return Submitted.RATE_LIMITED
                if self._counts[ck] == self.rate_limit + 1:
                    kind = "rate_limited"
        self.queue.put(QueueItem(msg, kind))
        return Submitted.ENQUEUED if kind == "turn" else Submitted.RATE_LIMITED

    def depth(self) -> int:
        return self.queue.qsize() + self.in_flight
