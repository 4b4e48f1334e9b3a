"""OutboxWorker: delivers the Slack outbox, with backoff, Retry-After, and no double posts.

The WebClient it uses has no retry handlers of its own: this worker is the single place
that retries, so a 429 is never retried twice (once by slack_sdk, once here).

Exactly once: before a post, the job is marked in flight; the post carries message
metadata naming the job. If the outcome was ambiguous (5xx, timeout, crash), the next
attempt first looks for that marker in the channel (or thread) and records what it finds
instead of posting again.
"""
from __future__ import annotations

import logging
import random
import threading
import urllib.error
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from agent.store import ConversationStore
from connectors.slack import blocks as bk
from connectors.slack.outbox import POST_CASE, THREAD_POST, UPDATE_CASE, CaseRef, Job, SlackOutbox

log = logging.getLogger(__name__)

MARKER_EVENT = "concierge_outbox"
LOOKBACK_S = 300.0  # how far before a job's creation to search the channel for its marker


class RateLimited(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"Slack rate limit: retry after {retry_after:.0f}s")
        self.retry_after = retry_after


class NotReady(Exception):
    """The job depends on something not delivered yet (e.g. its case message)."""


@dataclass
class DrainReport:
    delivered: int = 0
    failed: int = 0
    paused_until: float | None = None


class OutboxWorker:
    """Delivers due jobs; `drain_once()` for tests and CLIs, `start()`/`stop()` for a thread."""

    def __init__(self, outbox: SlackOutbox, client: WebClient, *, store: ConversationStore | None = None,
                 base_backoff_s: float = 1.0, max_backoff_s: float = 60.0, lease_s: float = 60.0,
                 idle_poll_s: float = 1.0) -> None:
        self.outbox = outbox
        self.client = client
        self.store = store
        self.base_backoff_s = base_backoff_s
        self.max_backoff_s = max_backoff_s
        self.lease_s = lease_s
        self.idle_poll_s = idle_poll_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- one pass ----------------------------------------------------------------------
    def drain_once(self) -> DrainReport:
        """Deliver every job that is due now; failures are rescheduled, never dropped."""
        report = DrainReport()
        now = self.outbox.clock()
        paused = self.outbox.pause_until()
        if paused > now:
            report.paused_until = paused
            return report
        for case_id in self.outbox.due_lanes(now):
            token = self.outbox.lease(case_id, self.lease_s)
            if token is None:
                continue  # another worker has this lane
            try:
                if not self._drain_lane(case_id, report):
                    break  # rate limited: Slack-wide pause, stop calling it
            finally:
                self.outbox.release(case_id, token)
        return report

    def _drain_lane(self, case_id: str, report: DrainReport) -> bool:
        while not self._stop.is_set():
            job = self.outbox.head(case_id)
            if job is None:
                return True
            try:
                self._execute(job)
            except RateLimited as exc:
                until = self.outbox.clock() + exc.retry_after
                self.outbox.pause(until)
                self.outbox.reschedule(case_id, until)
                self._note_failure(job, str(exc))
                report.failed += 1
                report.paused_until = until
                return False
            except Exception as exc:  # noqa: BLE001 - any failure: keep the job, back off
                job.attempts += 1
                self._note_failure(job, _describe(exc))
                self.outbox.reschedule(case_id, self.outbox.clock() + self._backoff(job.attempts))
                report.failed += 1
                return True
            self.outbox.finish(job)
            report.delivered += 1
        return True

    def _note_failure(self, job: Job, error: str) -> None:
        job.last_error = error
        self.outbox.save(job)
        log.warning("slack outbox: %s for case %s not delivered (attempt %d): %s",
                    job.kind, job.case_id, job.attempts, error)

    def _backoff(self, attempts: int) -> float:
        delay = min(self.max_backoff_s, self.base_backoff_s * 2 ** (attempts - 1))
        return delay * (1 + random.random() * 0.1)

    # --- jobs ----------------------------------------------------------------------------
    def _execute(self, job: Job) -> None:
        if job.kind == POST_CASE:
            self._post_case(job)
        elif job.kind == THREAD_POST:
            self._thread_post(job)
        elif job.kind == UPDATE_CASE:
            self._update_case(job)
        else:
            log.error("slack outbox: unknown job kind %r for case %s; skipping it", job.kind, job.case_id)

    def _post_case(self, job: Job) -> None:
        if self.outbox.case_ref(job.case_id) is not None:
            return  # posted already (this job finished on Slack but not here)
        packet = self.outbox.packet(job.case_id)
        if packet is None:
            raise NotReady(f"no packet stored for case {job.case_id}")
        channel = self.outbox.channel
        if job.in_flight:
            ts = self._find_marker(job, channel, thread_ts=None)
            if ts is not None:
                self._posted(job.case_id, CaseRef(channel, ts))
                return
        rev = self.outbox.next_revision(job.case_id)
        resp = self._send_post(job, channel=channel, text=bk.case_fallback_text(packet),
                               blocks=bk.case_blocks(packet, revision=rev))
        self._posted(job.case_id, CaseRef(resp["channel"], resp["ts"]))

    def _thread_post(self, job: Job) -> None:
        ref = self._ref(job)
        if job.in_flight and self._find_marker(job, ref.channel, thread_ts=ref.ts) is not None:
            return
        text = job.payload["text"]
        self._send_post(job, channel=ref.channel, text=text, blocks=bk.thread_blocks(text),
                        thread_ts=ref.ts)

    def _update_case(self, job: Job) -> None:
        ref = self._ref(job)
        packet = self.outbox.packet(job.case_id)
        if packet is None:
            raise NotReady(f"no packet stored for case {job.case_id}")
        status, assignee = job.payload["status"], job.payload.get("assignee")
        rev = self.outbox.next_revision(job.case_id)  # new block_ids on every update
        # chat.update is idempotent: retrying it can't duplicate anything.
        self._call(self.client.chat_update, channel=ref.channel, ts=ref.ts,
                   text=bk.case_fallback_text(packet, status),
                   blocks=bk.case_blocks(packet, status=status, assignee=assignee, revision=rev))

    def _ref(self, job: Job) -> CaseRef:
        ref = self.outbox.case_ref(job.case_id)
        if ref is None:
            raise NotReady(f"case {job.case_id} is not in Slack yet")
        return ref

    def _send_post(self, job: Job, **kwargs: Any) -> Any:
        job.in_flight = True
        self.outbox.save(job)  # saved before the call: a crash mid-call means "look first"
        try:
            resp = self._call(self.client.chat_postMessage, unfurl_links=False, unfurl_media=False,
                              metadata={"event_type": MARKER_EVENT,
                                        "event_payload": {"job": job.id, "case": job.case_id}},
                              **kwargs)
        except Exception as exc:
            if _surely_not_delivered(exc):
                job.in_flight = False
                self.outbox.save(job)
            raise
        return resp

    def _find_marker(self, job: Job, channel: str, thread_ts: str | None) -> str | None:
        """ts of the message this job already posted, if Slack has it."""
        cursor: str | None = None
        for _ in range(20):  # at most 20 pages of 200: far more than a few minutes of a case channel
            if thread_ts is None:
                resp = self._call(self.client.conversations_history, channel=channel,
                                  oldest=f"{max(0.0, job.created_at - LOOKBACK_S):.6f}",
                                  include_all_metadata=True, limit=200, cursor=cursor)
            else:
                resp = self._call(self.client.conversations_replies, channel=channel, ts=thread_ts,
                                  include_all_metadata=True, limit=200, cursor=cursor)
            for msg in resp.get("messages", []):
                meta = msg.get("metadata") or {}
                if meta.get("event_type") == MARKER_EVENT and \
                        (meta.get("event_payload") or {}).get("job") == job.id:
                    return str(msg["ts"])
            cursor = (resp.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return None
        return None

    def _posted(self, case_id: str, ref: CaseRef) -> None:
        self.outbox.record_case(case_id, ref)
        if self.store is None:
            return
        # Let the rest of the system (CLI, packet views) know where the case lives.
        try:
            key = self.store.find_case(case_id)
            if key is None:
                return
            with self.store.lock(key):
                conv = self.store.get(key)
                if conv is not None and conv.slack_thread != f"{ref.channel}:{ref.ts}":
                    conv.slack_thread = f"{ref.channel}:{ref.ts}"
                    self.store.save(conv)
        except Exception as exc:  # noqa: BLE001 - the Slack side is done; this is bookkeeping
            log.warning("slack outbox: case %s posted but its conversation was not updated: %s",
                        case_id, exc)

    def _call(self, method: Any, **kwargs: Any) -> Any:
        try:
            return method(**kwargs)
        except SlackApiError as exc:
            if exc.response.status_code == 429:
                raise RateLimited(_retry_after(exc.response.headers)) from exc
            raise

    # --- thread --------------------------------------------------------------------------
    def start(self) -> None:
        """Drain in a daemon thread until stop()."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name="slack-outbox", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self.outbox.wakeup.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
            self._thread = None

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                report = self.drain_once()
                wait = self._idle_wait(report)
            except Exception as exc:  # noqa: BLE001 - Redis hiccup: keep the loop alive
                log.error("slack outbox worker: %s", exc)
                wait = self.idle_poll_s
            self.outbox.wakeup.wait(wait)
            self.outbox.wakeup.clear()

    def _idle_wait(self, report: DrainReport) -> float:
        now = self.outbox.clock()
        if report.paused_until:
            return max(0.05, report.paused_until - now)
        nxt = self.outbox.next_due()
        if nxt is None:
            return self.idle_poll_s
        return min(self.idle_poll_s, max(0.05, nxt - now))


def _retry_after(headers: Any) -> float:
    for name in ("Retry-After", "retry-after"):
        value = headers.get(name) if headers else None
        if isinstance(value, list):
            value = value[0] if value else None
        if value is not None:
            try:
                return max(1.0, float(value))
            except ValueError:
                break
    return 1.0


def _surely_not_delivered(exc: Exception) -> bool:
    """Errors that prove Slack never accepted the post; anything else might have."""
    if isinstance(exc, RateLimited):
        return True
    if isinstance(exc, SlackApiError):
        return exc.response.status_code < 500  # 200 ok=false or 4xx: rejected
    if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, ConnectionRefusedError):
        return True
    return isinstance(exc, ConnectionRefusedError)


def _describe(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        data = exc.response.data if isinstance(exc.response.data, dict) else {}
        return f"Slack answered {exc.response.status_code} {data.get('error', '')}".strip()
    return f"{type(exc).__name__}: {exc}"
