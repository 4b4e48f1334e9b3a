"""Intake: dedupe a verified inbound message, rate-limit per customer, queue it durably.

RedisIntake appends to a Redis Stream (consumed by `concierge worker` in a consumer
group); MemoryIntake is the embedded default, a thread-safe queue in this process.
"""
from __future__ import annotations

import contextlib
import queue
import threading
import time
import unicodedata
import uuid
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


# One round trip per webhook: the dedupe key, the per-customer counter and the XADD run as
# one script, with the same steps the three separate calls made (and atomically).
# KEYS: dedupe, counter, notice, stream. ARGV: dedupe TTL, rate limit (0 = none), message JSON,
# this attempt's token (the dedupe value, so a failed attempt removes only its own key).
SUBMIT_LUA = """
if not redis.call('SET', KEYS[1], ARGV[4], 'NX', 'EX', ARGV[1]) then return 'duplicate' end
local kind = 'turn'
local limit = tonumber(ARGV[2])
if limit > 0 then
  local count = redis.call('INCR', KEYS[2])
  redis.call('EXPIRE', KEYS[2], 120)
  if count > limit then
    if not redis.call('SET', KEYS[3], '1', 'NX', 'EX', 120) then return 'dropped' end
    kind = 'rate_limited'
  end
end
redis.call('XADD', KEYS[4], '*', 'kind', kind, 'msg', ARGV[3])
return kind
"""
FORGET_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_OUTCOMES = {"duplicate": Submitted.DUPLICATE, "dropped": Submitted.RATE_LIMITED,
             "turn": Submitted.ENQUEUED, "rate_limited": Submitted.RATE_LIMITED}


def outcome_of(reply: Any) -> Submitted:
    """The submit script's reply as an outcome."""
    return _OUTCOMES[reply.decode() if isinstance(reply, bytes) else str(reply)]


@dataclass(frozen=True)
class ScriptCall:
    keys: list[str]  # dedupe, counter, notice, stream
    args: list[Any]  # dedupe TTL, rate limit, message JSON, token
    token: str

    @property
    def dedupe_key(self) -> str:
        return self.keys[0]


class RedisIntake:
    """SET NX dedupe key -> per-customer counter -> XADD to the stream, in one script call."""

    def __init__(self, client: Any, *, prefix: str = "concierge:", dedupe_ttl_s: int = 7 * 24 * 3600,
                 rate_limit_per_minute: int = 20) -> None:
        self.r = client
        self.prefix = prefix
        self.stream = prefix + STREAM
        self.dedupe_ttl_s = dedupe_ttl_s
        self.rate_limit = rate_limit_per_minute
        # EVALSHA, reloading the script by itself after a Redis restart (NOSCRIPT).
        self._submit = client.register_script(SUBMIT_LUA)
        self._forget = client.register_script(FORGET_LUA)

    def prepare(self, msg: InboundMessage) -> ScriptCall:
        """The script call that submits msg: its keys and arguments, and this attempt's token."""
        msg = normalize(msg)
        dedupe = f"{self.prefix}dedupe:{msg.platform}:{msg.message_id}"
        who = f"{msg.platform}:{msg.customer_id}:{_window()}"
        keys = [dedupe, f"{self.prefix}rate:{who}", f"{self.prefix}ratenotice:{who}", self.stream]
        token = uuid.uuid4().hex
        return ScriptCall(keys, [self.dedupe_ttl_s, max(self.rate_limit, 0), msg.model_dump_json(), token], token)

    def submit(self, msg: InboundMessage) -> Submitted:
        call = self.prepare(msg)
        try:
            outcome = self._submit(keys=call.keys, args=call.args)
        except Exception:
            # Not queued (or not known to be): forget the dedupe key this attempt set, if it got that
            # far, so the platform's retry gets through; an earlier delivery's key stays.
            with contextlib.suppress(Exception):  # Redis down: the original error says more
                self._forget(keys=[call.dedupe_key], args=[call.token])
            raise
        return outcome_of(outcome)

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
