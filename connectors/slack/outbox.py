"""The Slack outbox in Redis: every Slack call is a job, queued per case, retried until delivered.

Jobs of one case form a FIFO lane (the case message first, then its thread posts and
updates in order); lanes are scheduled in a sorted set by their next attempt time, so a
case that keeps failing never blocks the others. Nothing is ever dropped: a job leaves the
outbox only once Slack has confirmed it (see worker.OutboxWorker).
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import redis

from agent.packet import ContextPacket

POST_CASE = "post_case"
THREAD_POST = "thread_post"
UPDATE_CASE = "update_case"

# Enqueue atomically: a lane that is backing off keeps its later score (ZADD NX).
_ENQUEUE = """
redis.call('set', KEYS[1], ARGV[2])
redis.call('rpush', KEYS[2], ARGV[1])
redis.call('zadd', KEYS[3], 'NX', ARGV[3], ARGV[4])
return 1
"""

# Finish the head job; drop the lane from the schedule only if nothing was enqueued meanwhile.
_FINISH = """
if redis.call('lindex', KEYS[1], 0) == ARGV[1] then redis.call('lpop', KEYS[1]) end
redis.call('del', KEYS[2])
if redis.call('llen', KEYS[1]) == 0 then
  redis.call('zrem', KEYS[3], ARGV[2])
end
return redis.call('llen', KEYS[1])
"""

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


@dataclass
class Job:
    id: str
    kind: str  # POST_CASE | THREAD_POST | UPDATE_CASE
    case_id: str
    payload: dict[str, Any] = field(default_factory=dict)
    created_at: float = 0.0
    attempts: int = 0
    in_flight: bool = False  # a post was sent and not confirmed: look before posting again
    last_error: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: str) -> Job:
        return cls(**json.loads(raw))


@dataclass(frozen=True)
class CaseRef:
    channel: str
    ts: str


class SlackOutbox:
    """Durable queue of Slack calls plus the case -> message mapping (Redis)."""

    def __init__(self, client: redis.Redis, *, channel: str, prefix: str = "concierge:",
                 clock: Callable[[], float] = time.time) -> None:
        if not channel:
            raise ValueError("no Slack channel configured: set CONCIERGE_SLACK_CHANNEL to the "
                             "channel id where cases are posted (e.g. C0123ABCD)")
        self.r = client
        self.channel = channel
        self.prefix = prefix
        self.clock = clock
        self.wakeup = threading.Event()  # set on enqueue so an in-process worker reacts at once
        self._enqueue = self.r.register_script(_ENQUEUE)
        self._finish = self.r.register_script(_FINISH)
        self._release = self.r.register_script(_RELEASE)

    @classmethod
    def from_url(cls, url: str, *, channel: str, prefix: str = "concierge:",
                 clock: Callable[[], float] = time.time) -> SlackOutbox:
        client = redis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=5,
                                      health_check_interval=30)
        return cls(client, channel=channel, prefix=prefix, clock=clock)

    def k(self, *parts: str) -> str:
        return self.prefix + "slack:" + ":".join(parts)

    # --- enqueue -------------------------------------------------------------------
    def post_case(self, packet: ContextPacket, transcript: list[str]) -> None:
        """Queue the case message and its transcript thread posts (a no-op if already queued)."""
        case_id = packet.case_id
        # SET NX: a case opened twice (engine retry, two workers) is posted once.
        if not self.r.set(self.k("packet", case_id), packet.model_dump_json(), nx=True):
            return
        self._add(POST_CASE, case_id, {})
        for text in transcript:
            self._add(THREAD_POST, case_id, {"text": text})

    def replace_packet(self, packet: ContextPacket) -> None:
        """Newer facts for a case already queued (it was escalated again)."""
        self.r.set(self.k("packet", packet.case_id), packet.model_dump_json())

    def thread_post(self, case_id: str, text: str) -> None:
        self._add(THREAD_POST, case_id, {"text": text})

    def update_case(self, case_id: str, status: str, assignee: str | None) -> None:
        self._add(UPDATE_CASE, case_id, {"status": status, "assignee": assignee})

    def _add(self, kind: str, case_id: str, payload: dict[str, Any]) -> Job:
        now = self.clock()
        job = Job(id=uuid.uuid4().hex, kind=kind, case_id=case_id, payload=payload, created_at=now)
        self._enqueue(keys=[self.k("job", job.id), self.k("lane", case_id), self.k("due")],
                      args=[job.id, job.to_json(), now, case_id])
        self.wakeup.set()
        return job

    # --- state ---------------------------------------------------------------------
    def knows(self, case_id: str) -> bool:
        """True once the case was handed to this outbox (posted or waiting to be)."""
        return bool(self.r.exists(self.k("packet", case_id)))

    def packet(self, case_id: str) -> ContextPacket | None:
        raw = self.r.get(self.k("packet", case_id))
        return ContextPacket.model_validate_json(raw) if raw else None

    def case_ref(self, case_id: str) -> CaseRef | None:
        """Where the case message is in Slack, once posted."""
        ref = self.r.hgetall(self.k("case", case_id))
        return CaseRef(ref["channel"], ref["ts"]) if ref else None

    def record_case(self, case_id: str, ref: CaseRef) -> None:
        pipe = self.r.pipeline(transaction=True)
        pipe.hset(self.k("case", case_id), mapping={"channel": ref.channel, "ts": ref.ts})
        pipe.set(self.k("thread", ref.channel, ref.ts), case_id)
        pipe.execute()

    def case_for_thread(self, channel: str, thread_ts: str) -> str | None:
        """The case whose message is the parent of a Slack thread."""
        return self.r.get(self.k("thread", channel, thread_ts))

    def last_state(self, case_id: str, state: str) -> str | None:
        """Swap in the case's last announced state; returns the previous one."""
        return self.r.set(self.k("state", case_id), state, get=True)

    def next_revision(self, case_id: str) -> int:
        return int(self.r.incr(self.k("rev", case_id)))

    def pending(self, case_id: str | None = None) -> int:
        """Jobs not yet delivered (for one case, or all)."""
        if case_id is not None:
            return int(self.r.llen(self.k("lane", case_id)))
        return sum(int(self.r.llen(self.k("lane", c))) for c in self.r.zrange(self.k("due"), 0, -1))

    def jobs(self, case_id: str) -> list[Job]:
        """The queued jobs of a case, oldest first (operators: what is stuck and why)."""
        out = []
        for jid in self.r.lrange(self.k("lane", case_id), 0, -1):
            raw = self.r.get(self.k("job", jid))
            if raw:
                out.append(Job.from_json(raw))
        return out

    # --- used by the worker -------------------------------------------------------------
    def due_lanes(self, now: float, limit: int = 50) -> list[str]:
        return list(self.r.zrangebyscore(self.k("due"), "-inf", now, start=0, num=limit))

    def next_due(self) -> float | None:
        first = self.r.zrange(self.k("due"), 0, 0, withscores=True)
        return float(first[0][1]) if first else None

    def head(self, case_id: str) -> Job | None:
        while True:
            jid = self.r.lindex(self.k("lane", case_id), 0)
            if jid is None:
                self._finish(keys=[self.k("lane", case_id), self.k("job", "-"), self.k("due")],
                             args=["-", case_id])
                return None
            raw = self.r.get(self.k("job", jid))
            if raw is not None:
                return Job.from_json(raw)
            # A job body without its lane entry cannot happen (both written in one script);
            # a lane entry without a body can only be a finished job: skip it.
            self._finish(keys=[self.k("lane", case_id), self.k("job", jid), self.k("due")],
                         args=[jid, case_id])

    def save(self, job: Job) -> None:
        self.r.set(self.k("job", job.id), job.to_json())

    def finish(self, job: Job) -> None:
        self._finish(keys=[self.k("lane", job.case_id), self.k("job", job.id), self.k("due")],
                     args=[job.id, job.case_id])

    def reschedule(self, case_id: str, at: float) -> None:
        self.r.zadd(self.k("due"), {case_id: at})

    def pause_until(self) -> float:
        raw = self.r.get(self.k("pause_until"))
        return float(raw) if raw else 0.0

    def pause(self, until: float) -> None:
        """Slack said 429: nobody calls it again before `until` (shared by every worker)."""
        self.r.set(self.k("pause_until"), until)

    def lease(self, case_id: str, seconds: float) -> str | None:
        token = uuid.uuid4().hex
        ok = self.r.set(self.k("lease", case_id), token, nx=True, px=int(seconds * 1000))
        return token if ok else None

    def release(self, case_id: str, token: str) -> None:
        self._release(keys=[self.k("lease", case_id)], args=[token])
