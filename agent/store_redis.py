"""RedisStore: ConversationStore on Redis, shared by every API process and worker."""
from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis

from agent.case_ids import random_case_id
from agent.conversation import Conversation
from agent.packet import ContextPacket
from agent.store import LockTimeout, StoreError

# Delete the lock only if we still own it: after a lease expiry another worker may hold it.
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class RedisStore:
    """Conversations as JSON strings with a TTL; cases in a sorted-set index; locks by SET NX PX."""

    def __init__(self, url: str, prefix: str = "concierge:", ttl_s: int = 30 * 24 * 3600,
                 *, lock_lease_s: float = 30.0, client: redis.Redis | None = None) -> None:
        self.prefix = prefix
        self.ttl_s = ttl_s
        self.lock_lease_s = lock_lease_s
        self.r = client or redis.Redis.from_url(url, decode_responses=True,
                                               socket_connect_timeout=5, health_check_interval=30)
        self._release = self.r.register_script(_RELEASE)
        self._url = url

    def _k(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except redis.ConnectionError as exc:
            raise StoreError(f"Redis at {self._url} does not answer ({exc}); "
                             "start it or unset CONCIERGE_REDIS_URL") from exc

    # --- conversations ------------------------------------------------------------
    def get(self, key: str) -> Conversation | None:
        with self._errors():
            raw = self.r.get(self._k("conv", key))
        return Conversation.model_validate_json(raw) if raw is not None else None

    def save(self, conv: Conversation) -> None:
        with self._errors():
            pipe = self.r.pipeline(transaction=True)
            pipe.set(self._k("conv", conv.id), conv.model_dump_json(), ex=self.ttl_s)
            if conv.customer_id:
                ck = self._k("custconv", conv.customer_id)
                pipe.sadd(ck, conv.id)
                pipe.expire(ck, self.ttl_s)
            pipe.execute()

    @contextmanager
    def lock(self, key: str, timeout_s: float = 10.0) -> Iterator[None]:
        lock_key = self._k("lock", key)
        token = uuid.uuid4().hex
        deadline = time.monotonic() + timeout_s
        lease_ms = int(self.lock_lease_s * 1000)
        with self._errors():
            while not self.r.set(lock_key, token, nx=True, px=lease_ms):
                if time.monotonic() >= deadline:
                    raise LockTimeout(f"conversation {key!r} stayed locked for {timeout_s:.0f}s")
                time.sleep(0.005)
        try:
            yield
        finally:
            with self._errors():
                self._release(keys=[lock_key], args=[token])

    def seen(self, dedupe_key: str, ttl_s: int) -> bool:
        with self._errors():
            return not self.r.set(self._k("seen", dedupe_key), 1, nx=True, ex=ttl_s)

    # --- customers -----------------------------------------------------------------
    def link_customer(self, platform: str, platform_user_id: str, customer_id: str) -> None:
        with self._errors():
            self.r.hset(self._k("customers"), f"{platform}\x1f{platform_user_id}", customer_id)

    def customer_for(self, platform: str, platform_user_id: str) -> str | None:
        with self._errors():
            return self.r.hget(self._k("customers"), f"{platform}\x1f{platform_user_id}")

    def customer_conversations(self, customer_id: str) -> list[str]:
        with self._errors():
            keys = sorted(self.r.smembers(self._k("custconv", customer_id)))
            if not keys:
                return []
            alive = self.r.exists  # conversations expire on their own; drop the dead ones
            return [k for k in keys if alive(self._k("conv", k))]

    # --- cases -----------------------------------------------------------------------
    def next_case_id(self) -> str:
        with self._errors():
            while True:
                candidate = random_case_id()
                # Reservations never expire so a number is never handed out twice.
                if self.r.set(self._k("caseid", candidate), 1, nx=True):
                    return candidate

    def index_case(self, case_id: str, key: str) -> None:
        with self._errors():
            now = time.time()
            pipe = self.r.pipeline(transaction=True)
            pipe.set(self._k("case", case_id), key)
            pipe.zadd(self._k("cases"), {case_id: now}, nx=True)
            pipe.execute()
            first_seen = self.r.zscore(self._k("cases"), case_id) or now
            self.r.zadd(self._k("open"), {case_id: first_seen}, nx=True)

    def find_case(self, case_id: str) -> str | None:
        with self._errors():
            return self.r.get(self._k("case", case_id))

    def open_cases(self) -> list[str]:
        with self._errors():
            return list(self.r.zrange(self._k("open"), 0, -1))

    def all_cases(self) -> list[str]:
        with self._errors():
            return list(self.r.zrange(self._k("cases"), 0, -1))

    def close_case(self, case_id: str) -> None:
        with self._errors():
            self.r.zrem(self._k("open"), case_id)

    def save_packet(self, packet: ContextPacket) -> None:
        with self._errors():
            self.r.set(self._k("packet", packet.case_id), packet.model_dump_json())

    def packet(self, case_id: str) -> ContextPacket | None:
        with self._errors():
            raw = self.r.get(self._k("packet", case_id))
        return ContextPacket.model_validate_json(raw) if raw is not None else None

    def append_case_event(self, case_id: str, event: dict[str, Any]) -> None:
        with self._errors():
            self.r.rpush(self._k("events", case_id), json.dumps(event, default=str))

    def case_events(self, case_id: str) -> list[dict[str, Any]]:
        with self._errors():
            return [json.loads(x) for x in self.r.lrange(self._k("events", case_id), 0, -1)]

    # --- outbound ---------------------------------------------------------------------
    def append_outbox(self, conversation_id: str, record: dict[str, Any]) -> None:
        with self._errors():
            key = self._k("outbox", conversation_id)
            pipe = self.r.pipeline(transaction=True)
            pipe.rpush(key, json.dumps(record, default=str))
            pipe.expire(key, self.ttl_s)
            pipe.execute()

    def outbox(self, conversation_id: str) -> list[dict[str, Any]]:
        with self._errors():
            return [json.loads(x) for x in self.r.lrange(self._k("outbox", conversation_id), 0, -1)]
