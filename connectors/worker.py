"""Workers: take queued inbound messages, run the engine, send the reply, acknowledge.

Exactly one reply per inbound message, even when a worker dies mid-turn:
- the Decision is cached per inbound message before sending, so a reclaimed entry
  does not run the engine a second time (whose dedupe would swallow the reply);
- every send goes through PlatformSender's ledger (lease, then 'done');
- the stream entry is acknowledged (and deleted: it holds customer text) only after that.
Pending entries of a dead consumer are reclaimed with XAUTOCLAIM after claim_idle_ms.
"""
from __future__ import annotations

import json
import logging
import os
import queue
import socket
import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator

from agent.conversation import Conversation
from agent.decision import Decision
from connectors.intake import GROUP, STREAM, MemoryIntake, QueueItem
from connectors.senders import PlatformSender, SendError, TransientSendError
from guardrails.codes import Action

log = logging.getLogger("concierge.worker")

RATE_LIMIT_REPLY = ("You're sending messages faster than I can answer. I'll reply to what you've "
                    "sent; please wait a minute before sending more.")
DECISION_TTL_S = 24 * 3600
# Entries read at once when a backlog builds up: their texts are embedded in one batch, which
# on 2 cores costs ~8 ms a message instead of ~20-25 ms one at a time. Each is still processed
# (and acknowledged) in stream order, one by one.
READ_BATCH = 8


class Retry(Exception):
    """Leave the entry pending; it is retried after claim_idle_ms."""


# --- decision cache ------------------------------------------------------------------------

class RedisDecisionCache:
    def __init__(self, client: Any, prefix: str) -> None:
        self.r, self.prefix = client, prefix

    def get(self, key: str) -> Decision | None:
        raw = self.r.get(f"{self.prefix}decision:{key}")
        return Decision.model_validate_json(raw) if raw else None

    def put(self, key: str, decision: Decision) -> None:
        self.r.set(f"{self.prefix}decision:{key}", decision.model_dump_json(), ex=DECISION_TTL_S)


class MemoryDecisionCache:
    def __init__(self, max_items: int = 10_000) -> None:
        self._items: dict[str, Decision] = {}
        self.max_items = max_items

    def get(self, key: str) -> Decision | None:
        return self._items.get(key)

    def put(self, key: str, decision: Decision) -> None:
        if len(self._items) >= self.max_items:
            self._items.pop(next(iter(self._items)))
        self._items[key] = decision


# --- per-conversation order lock ------------------------------------------------------------

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# Take the lock when free, or when its holder was working on this very stream entry: we got
# the entry through XAUTOCLAIM, so that holder stopped answering (it died mid-turn).
_ACQUIRE = """
local v = redis.call('GET', KEYS[1])
if (not v) or (ARGV[3] ~= '' and string.sub(v, -string.len(ARGV[3])) == ARGV[3]) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""


class RedisOrderLock:
    """Held across turn + send so two workers never interleave one conversation's replies."""

    def __init__(self, client: Any, prefix: str, lease_s: float = 60.0, wait_s: float = 10.0) -> None:
        self.r, self.prefix, self.lease_s, self.wait_s = client, prefix, lease_s, wait_s
        self._release = client.register_script(_RELEASE)
        self._acquire = client.register_script(_ACQUIRE)

    @contextmanager
    def hold(self, conversation_key: str, entry_id: str | None = None) -> Iterator[None]:
        key = f"{self.prefix}order:{conversation_key}"
        suffix = f"|{entry_id}" if entry_id else ""
        token = f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}:{time.monotonic_ns()}{suffix}"
        deadline = time.monotonic() + self.wait_s
        while not self._acquire(keys=[key], args=[token, int(self.lease_s * 1000), suffix]):
            if time.monotonic() > deadline:
                raise Retry(f"conversation {conversation_key} is busy in another worker")
            time.sleep(0.05)
        try:
            yield
        finally:
            self._release(keys=[key], args=[token])


class LocalOrderLock:
    def __init__(self) -> None:
        self._locks: dict[str, threading.Lock] = {}
        self._mutex = threading.Lock()

    @contextmanager
    def hold(self, conversation_key: str, entry_id: str | None = None) -> Iterator[None]:
        with self._mutex:
            lock = self._locks.setdefault(conversation_key, threading.Lock())
        with lock:
            yield


# --- one turn ------------------------------------------------------------------------------

class TurnProcessor:
    """Runs one queued item: engine turn (or a canned reply), then the idempotent send."""

    def __init__(self, engine: Any, sender: PlatformSender, *, decisions: Any, order: Any,
                 metrics: Any = None) -> None:
        self.engine = engine
        self.sender = sender
        self.decisions = decisions
        self.order = order
        self.metrics = metrics

    def prefetch(self, items: list[QueueItem]) -> None:
        """Let the engine prepare several queued turns at once (batched embedding)."""
        prefetch = getattr(self.engine, "prefetch", None)
        messages = [item.msg for item in items if item.kind == "turn"]
        if prefetch is not None and len(messages) > 1:
            prefetch(messages)

    def process(self, item: QueueItem) -> None:
        """Raises Retry for a transient failure; permanent send failures are logged and dropped."""
        msg = item.msg
        with self.order.hold(msg.conversation_key, item.entry_id):
            decision = self.decisions.get(item.key)
            if decision is None:
                decision = self._decide(item)
                self.decisions.put(item.key, decision)
            self._deliver(item, decision)

    def _decide(self, item: QueueItem) -> Decision:
        msg = item.msg
        if item.kind == "rate_limited":
            return Decision(action=Action.DECLINE, text=RATE_LIMIT_REPLY, composer="template",
                            conversation_id=msg.conversation_key)
        started = time.perf_counter()
        decision = self.engine.handle(msg)
        if self.metrics:
            self.metrics.turn_latency.observe(time.perf_counter() - started)
            self.metrics.turns.labels(str(msg.channel), str(decision.action)).inc()
            for reason in decision.reasons:
                self.metrics.escalations.labels(str(reason)).inc()
        log.info("turn", extra={"event": "turn", "channel": str(msg.channel), "conversation": msg.conversation_key,
                                "action": str(decision.action), "reasons": [str(r) for r in decision.reasons],
                                "latency_ms": round((time.perf_counter() - started) * 1000, 1)})
        return decision

    def _conversation(self, item: QueueItem) -> Conversation:
        msg = item.msg
        conv = None
        getter = getattr(self.engine, "conversation", None)
        if getter is not None:
            conv = getter(msg.conversation_key)
        return conv or Conversation(id=msg.conversation_key, customer_id=msg.customer_id,
                                    customer_handle=msg.customer_handle, channel=msg.channel,
                                    platform=msg.platform, link=msg.link)

    def _deliver(self, item: QueueItem, decision: Decision) -> None:
        msg = item.msg
        if decision.action == Action.RELAY:
            return  # a human has the conversation; the engine relayed it to them
        if msg.is_public and decision.public_text:
            texts = [decision.public_text]
        else:
            texts = [p for p in (decision.parts or [decision.text]) if p and p.strip()]
        if not texts:
            return
        conv = self._conversation(item)
        citations = [{"title": c.title, "url": c.url, "doc_id": c.doc_id} for c in decision.citations]
        for n, text in enumerate(texts):
            try:
                self.sender.send(conv, text, idempotency_key=f"reply:{item.key}:{n}", reply_to=msg.reply_to_id,
                                 citations=citations if n == len(texts) - 1 else None, role="bot")
            except TransientSendError as exc:
                raise Retry(str(exc)) from exc
            except SendError as exc:
                # Retrying cannot help (bad token, closed window): record and move on.
                log.warning("send refused", extra={"event": "send_refused", "channel": str(msg.channel),
                                                   "conversation": msg.conversation_key, "error": str(exc)[:200]})
                return


# --- Redis Streams worker ---------------------------------------------------------------------

class RedisWorker:
    """One consumer in the group: reclaim stale pending entries, read new ones, process, ack."""

    def __init__(self, client: Any, processor: TurnProcessor, *, prefix: str = "concierge:",
                 consumer: str | None = None, claim_idle_ms: int = 30_000, block_ms: int = 1000,
                 max_deliveries: int = 10, metrics: Any = None, heartbeat: dict | None = None,
                 read_batch: int = READ_BATCH) -> None:
        self.r = client
        self.processor = processor
        self.prefix = prefix
        self.stream = prefix + STREAM
        self.dead = prefix + STREAM + ":dead"
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}"
        self.claim_idle_ms = claim_idle_ms
        self.block_ms = block_ms
        self.max_deliveries = max_deliveries
        self.metrics = metrics
        self.heartbeat = heartbeat or {}
        self.read_batch = max(1, read_batch)
        self._claim_cursor = "0-0"
        self._last_claim = 0.0

    def ensure_group(self) -> None:
        try:
            self.r.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except Exception as exc:  # noqa: BLE001
            if "BUSYGROUP" not in str(exc):
                raise

    def run(self, stop: threading.Event) -> None:
        self.ensure_group()
        log.info("worker started", extra={"event": "worker_started", "consumer": self.consumer})
        while not stop.is_set():
            try:
                self.step()
            except Exception as exc:  # noqa: BLE001 - Redis hiccup: wait and go on, never die
                log.error("worker step failed", extra={"event": "worker_error", "error": str(exc)[:200]})
                stop.wait(1.0)

    def step(self) -> int:
        """One round: heartbeat, reclaim (at most every claim interval), read. Returns items handled."""
        self._beat()
        handled = 0
        now = time.monotonic()
        if now - self._last_claim >= min(self.claim_idle_ms / 1000, 5.0):
            self._last_claim = now
            handled += self._reclaim()
        resp = self.r.xreadgroup(GROUP, self.consumer, {self.stream: ">"}, count=self.read_batch,
                                 block=self.block_ms)
        entries = [entry for _stream, batch in resp or [] for entry in batch]
        self._prefetch(entries)
        for entry_id, fields in entries:
            self._handle(entry_id, fields)
            handled += 1
        return handled

    def _prefetch(self, entries: list) -> None:
        if len(entries) < 2:
            return
        items = []
        for entry_id, fields in entries:
            try:
                items.append(QueueItem.from_fields(fields, _s(entry_id)))
            except Exception:  # noqa: BLE001 - _handle dead-letters it
                continue
        try:
            self.processor.prefetch(items)
        except Exception as exc:  # noqa: BLE001 - only a speed-up: the turns run without it
            log.warning("prefetch failed", extra={"event": "prefetch_failed", "error": str(exc)[:200]})

    def _beat(self) -> None:
        self.r.set(f"{self.prefix}workers:{self.consumer}", json.dumps({**self.heartbeat, "at": time.time()}), ex=30)

    def _reclaim(self) -> int:
        res = self.r.xautoclaim(self.stream, GROUP, self.consumer, min_idle_time=self.claim_idle_ms,
                                start_id=self._claim_cursor, count=10)
        self._claim_cursor = res[0] if res[0] else "0-0"
        entries = res[1]
        for entry_id, fields in entries:
            if fields is None:  # deleted while pending
                self.r.xack(self.stream, GROUP, entry_id)
                continue
            log.info("reclaimed", extra={"event": "reclaimed", "stream_id": _s(entry_id), "consumer": self.consumer})
            self._handle(entry_id, fields)
        return len(entries)

    def _handle(self, entry_id: Any, fields: dict) -> None:
        eid = _s(entry_id)
        try:
            item = QueueItem.from_fields(fields, eid)
        except Exception as exc:  # noqa: BLE001 - a corrupt entry must not wedge the group
            self._dead_letter(eid, fields, f"unreadable entry: {exc}")
            return
        try:
            self.processor.process(item)
        except Retry as exc:
            log.info("retry later", extra={"event": "retry", "stream_id": eid, "error": str(exc)[:200]})
            self._maybe_give_up(eid, fields, str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - engine bug or store outage: retry, then dead-letter
            log.exception("turn failed", extra={"event": "turn_failed", "stream_id": eid})
            self._maybe_give_up(eid, fields, f"{type(exc).__name__}: {exc}")
            return
        self._ack(eid)

    def _ack(self, eid: str) -> None:
        pipe = self.r.pipeline()
        pipe.xack(self.stream, GROUP, eid)
        pipe.xdel(self.stream, eid)  # the entry holds customer text: keep it no longer than needed
        pipe.execute()

    def _maybe_give_up(self, eid: str, fields: dict, why: str) -> None:
        info = self.r.xpending_range(self.stream, GROUP, min=eid, max=eid, count=1)
        delivered = int(info[0]["times_delivered"]) if info else 1
        if delivered >= self.max_deliveries:
            self._dead_letter(eid, fields, why)

    def _dead_letter(self, eid: str, fields: dict, why: str) -> None:
        log.error("dead-lettered", extra={"event": "dead_letter", "stream_id": eid, "error": why[:200]})
        self.r.xadd(self.dead, {"entry": eid, "error": why[:500], **{_s(k): v for k, v in fields.items()}},
                    maxlen=10_000, approximate=True)
        self._ack(eid)


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


# --- in-process worker (embedded default) -----------------------------------------------------

class LocalWorker:
    """Drains a MemoryIntake in a background thread; transient failures are retried a few times."""

    def __init__(self, intake: MemoryIntake, processor_factory: Any, *, attempts: int = 3) -> None:
        self.intake = intake
        self.processor_factory = processor_factory  # called once, in the thread (loads the engine)
        self.attempts = attempts
        self.processor: TurnProcessor | None = None
        self.error: str | None = None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="concierge-worker", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def close(self, timeout: float = 5.0) -> None:
        self.stop.set()
        self.thread.join(timeout)

    def _run(self) -> None:
        try:
            self.processor = self.processor_factory()
        except Exception as exc:  # noqa: BLE001 - reported by /readyz
            self.error = f"{type(exc).__name__}: {exc}"
            log.exception("engine failed to load", extra={"event": "engine_failed"})
            return
        while not self.stop.is_set():
            try:
                item = self.intake.queue.get(timeout=0.5)
            except queue.Empty:
                continue
            self.intake.in_flight += 1
            try:
                self._process(item)
            finally:
                self.intake.in_flight -= 1

    def _process(self, item: QueueItem) -> None:
        assert self.processor is not None
        for attempt in range(1, self.attempts + 1):
            try:
                self.processor.process(item)
                return
            except Retry as exc:
                log.info("retry", extra={"event": "retry", "attempt": attempt, "error": str(exc)[:200]})
                self.stop.wait(min(2.0 * attempt, 5.0))
            except Exception:  # noqa: BLE001 - one bad turn must not stop the service
                log.exception("turn failed", extra={"event": "turn_failed", "conversation": item.msg.conversation_key})
                return
