"""Many messages through the Redis stream while workers are SIGKILLed and Redis itself is
killed and restarted: every message is answered exactly once, none is lost.

By default 10,000 messages, the count the issue asks for (measured: 575 s on the 2-core box,
one worker at a time); CONCIERGE_RELIABILITY_MESSAGES sets another count for a quick run.
"""
from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from typing import Callable

import httpx
import pytest

from connectors.app import create_app
from tests.connectors.conftest import META_SECRET, PAGE_ID, make_settings
from tests.connectors.live import LiveServer
from tests.connectors.test_worker_crash import _worker
from tests.emulators.graph_api import GraphApiEmulator
from tests.emulators.webhooks import meta_signature, now_ms
from tests.reliability.conftest import poll, stop_process

DEFAULT_MESSAGES = 10_000
IN_FLIGHT = 150  # the poster keeps at most this many unanswered, so it is still posting during the faults
BATCH = 25  # messaging events per signed webhook delivery (Meta batches entries too)
QUESTIONS = [
    "How long does a refund take?",
    "Where is my parcel?",
    "Can I change my delivery address?",
    "How do I reset my password?",
    "What is your returns window?",
]


def _count() -> int:
    return int(os.environ.get("CONCIERGE_RELIABILITY_MESSAGES", DEFAULT_MESSAGES))


def _batch_payload(ids: list[int]) -> bytes:
    events = [{"sender": {"id": f"psid{n}"}, "recipient": {"id": PAGE_ID}, "timestamp": now_ms(),
               "message": {"mid": f"m.chaos.{n}", "text": QUESTIONS[n % len(QUESTIONS)]}} for n in ids]
    return json.dumps({"object": "page", "entry": [{"id": PAGE_ID, "time": now_ms(), "messaging": events}]}).encode()


class Poster(threading.Thread):
    """Delivers signed batches like Meta does: anything but 200 is redelivered later."""

    def __init__(self, url: str, total: int, answered: Callable[[], int]) -> None:
        super().__init__(daemon=True)
        self.url, self.total, self.answered = url, total, answered
        self.redeliveries = 0
        self.error: str | None = None
        self.done = threading.Event()
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=30, trust_env=False) as client:
            for start in range(0, self.total, BATCH):
                while self.answered() < start - IN_FLIGHT and not self.stop.is_set():
                    time.sleep(0.2)
                body = _batch_payload(list(range(start, min(start + BATCH, self.total))))
                headers = {"Content-Type": "application/json", "X-Hub-Signature-256": meta_signature(body, META_SECRET)}
                deadline = time.monotonic() + 300
                while not self.stop.is_set():
                    try:
                        status = client.post(f"{self.url}/webhooks/meta", content=body, headers=headers).status_code
                    except httpx.HTTPError:
                        status = 0
                    if status == 200:
                        break
                    if status not in (0, 503) or time.monotonic() > deadline:
                        self.error = f"batch at {start}: HTTP {status}"
                        return
                    self.redeliveries += 1
                    time.sleep(0.5)
        self.done.set()


# The suite's 600 s per-test cap is for the default count; a longer run gets time in proportion.
@pytest.mark.timeout(max(600, int(_count() * 0.25)))
def test_stream_survives_worker_kills_and_redis_restart(tmp_path, dedicated_redis, graph, kb_dirs):
    """One worker at a time, so each fault hits a known state: the worker is blocked in a
    platform send that was never accepted (the emulator holds it) when it, or Redis, dies."""
    total = _count()
    prefix = "chaos:"
    settings = make_settings(tmp_path, redis_url=dedicated_redis.url, graph=graph, kb_dirs=kb_dirs)
    log = tmp_path / "workers.log"
    workers: list = []

    def answered() -> set[str]:
        return {r.json["recipient"]["id"] for r in graph.delivered()}

    def wait_answered(n: int, what: str) -> None:
        def check() -> bool:
            assert poster.error is None, poster.error
            assert workers[-1].poll() is None, f"the live worker exited: {log.read_text()[-3000:]}"
            return len(answered()) >= n
        poll(check, timeout_s=max(240, total * 0.5), what=what, every_s=0.5)

    def start_worker(name: str) -> None:
        workers.append(_worker(settings, prefix, name, log))
        poll(lambda: dedicated_redis.client().exists(prefix + f"workers:{name}"), timeout_s=240,
             what=f"worker {name} to start")

    def hold_next_send() -> None:
        """The next platform call hangs unanswered: the worker is now blocked mid-turn."""
        seen = len(graph.requests)
        graph.hang_next(1)
        graph.wait_for(lambda reqs: len(reqs) > seen, timeout=120)

    app = create_app(settings, redis_prefix=prefix, run_worker=False)
    poster = None
    started = time.monotonic()
    kills = restarts = 0
    try:
        with LiveServer(app) as server:
            start_worker("w1")
            poster = Poster(server.url, total, lambda: len(answered()))
            poster.start()

            wait_answered(total // 5, "a fifth of the answers")
            hold_next_send()
            workers[-1].kill()  # SIGKILL mid-turn: its pending entry must be reclaimed and answered once
            workers[-1].wait(10)
            kills += 1
            start_worker("w2")

            wait_answered(total * 2 // 5, "two fifths of the answers")
            hold_next_send()
            dedicated_redis.restart(down_s=2.0)  # SIGKILL Redis while the worker waits on the platform
            restarts += 1

            wait_answered(total * 3 // 5, "three fifths of the answers")
            hold_next_send()
            workers[-1].kill()
            workers[-1].wait(10)
            kills += 1
            start_worker("w3")

            wait_answered(total, "every message answered")
            assert poster.done.is_set()
            client = dedicated_redis.client()
            poll(lambda: client.xpending(prefix + "intake", "workers")["pending"] == 0,
                 timeout_s=120, what="no pending entries")
            time.sleep(3)  # a late duplicate would show up now
            dead = client.xlen(prefix + "intake:dead")
    except AssertionError:
        print(log.read_text()[-4000:])
        raise
    finally:
        if poster is not None:
            poster.stop.set()
        for proc in workers:
            stop_process(proc)

    delivered = graph.delivered()
    per_answer = Counter((r.json["recipient"]["id"], r.json["message"]["text"]) for r in delivered)
    duplicates = {k: v for k, v in per_answer.items() if v > 1}
    missing = {f"psid{n}" for n in range(total)} - answered()
    print(f"\n{total} messages, {kills} worker kills, {restarts} Redis restart, {poster.redeliveries} "
          f"webhook redeliveries: {len(answered())} answered, {len(duplicates)} duplicated, "
          f"{len(delivered)} sends, {time.monotonic() - started:.0f}s")
    assert not missing, f"{len(missing)} messages never answered, e.g. {sorted(missing)[:5]}"
    assert not duplicates, f"{len(duplicates)} answers sent more than once, e.g. {list(duplicates.items())[:3]}"
    assert dead == 0, "entries were dead-lettered"


class GatedGraphApi(GraphApiEmulator):
    """Accepts sends only when the gate opens: a send can be held after the worker made it."""

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.gate = threading.Event()

    def route(self, req):
        self.gate.wait(60)
        return super().route(req)


def test_redis_dies_after_platform_accepted_send_no_second_reply(tmp_path, dedicated_redis, kb_dirs):
    """The platform accepts a reply while Redis is down, so 'done' cannot be written then: the
    worker keeps the fact and records it when Redis is back; the reclaimed turn sends nothing."""
    prefix = "gate:"
    log = tmp_path / "workers.log"
    with GatedGraphApi(page_token="page-token", instagram_ids=("IG1",), whatsapp_token="wa-token") as graph:
        settings = make_settings(tmp_path, redis_url=dedicated_redis.url, graph=graph, kb_dirs=kb_dirs)
        app = create_app(settings, redis_prefix=prefix, run_worker=False)
        worker = None
        try:
            with LiveServer(app) as server:
                worker = _worker(settings, prefix, "g1", log)
                body = _batch_payload([0])
                headers = {"Content-Type": "application/json", "X-Hub-Signature-256": meta_signature(body, META_SECRET)}
                assert httpx.post(f"{server.url}/webhooks/meta", content=body, headers=headers,
                                  timeout=30).status_code == 200
                graph.wait_for(lambda reqs: len(reqs) >= 1, timeout=240)  # the worker is sending
                dedicated_redis.kill()
                graph.gate.set()  # the platform accepts the reply; the worker cannot record it
                graph.wait_delivered(1, timeout=60)
                time.sleep(1.0)
                dedicated_redis.start()
                client = dedicated_redis.client()
                poll(lambda: client.exists(prefix + "workers:g1") and
                     client.xpending(prefix + "intake", "workers")["pending"] == 0,
                     timeout_s=120, what="the entry to be settled")
                time.sleep(3)  # a resend, if any, would reach the emulator now
                assert client.get(prefix + "sent:reply:meta:m.chaos.0:0") == "done", "the send was never recorded"
        finally:
            stop_process(worker)
        sends = graph.delivered()
    assert len(sends) == 1, f"the customer got {len(sends)} copies of one reply"
