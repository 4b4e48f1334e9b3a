"""Fixtures for the Slack side: the Web API emulator, a real Redis outbox, a controllable
clock for backoff, and the FastAPI router served by uvicorn on a free loopback port."""
from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from agent.conversation import Conversation, ConversationStatus, Turn
from agent.escalation import Handoff
from agent.outbound import RecordingSender
from agent.settings import Settings
from agent.store_redis import RedisStore
from connectors.slack.client import make_web_client
from connectors.slack.outbox import SlackOutbox
from connectors.slack.sink import SlackSink
from connectors.slack.worker import OutboxWorker
from guardrails.codes import Channel, Priority, Reason
from guardrails.pii import redact
from tests.emulators.slack_api import BOT_USER_ID, TEAM_ID, SlackApiEmulator

CHANNEL = "C0CASES01"
SIGNING_SECRET = "test-signing-secret-0123456789"
TOKEN = "xoxb-emulator"


class FakeClock:
    """Time for the outbox scheduler that tests move forward instead of sleeping."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def emulator() -> Iterator[SlackApiEmulator]:
    emu = SlackApiEmulator(token=TOKEN).start()
    yield emu
    emu.stop()


@pytest.fixture
def settings(emulator: SlackApiEmulator) -> Settings:
    return Settings(slack_bot_token=TOKEN, slack_signing_secret=SIGNING_SECRET, slack_channel=CHANNEL,
                    slack_base_url=emulator.url, slack_app_token=None, _env_file=None)


@pytest.fixture
def store(redis_url: str, redis_prefix: str) -> RedisStore:
    return RedisStore(redis_url, prefix=redis_prefix)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def outbox(redis_url: str, redis_prefix: str, clock: FakeClock) -> SlackOutbox:
    return SlackOutbox.from_url(redis_url, channel=CHANNEL, prefix=redis_prefix, clock=clock)


@pytest.fixture
def worker(outbox: SlackOutbox, settings: Settings, store: RedisStore) -> OutboxWorker:
    return OutboxWorker(outbox, make_web_client(settings), store=store)


@pytest.fixture
def sender(store: RedisStore) -> RecordingSender:
    return RecordingSender(store)


@pytest.fixture
def sink(outbox: SlackOutbox, store: RedisStore) -> SlackSink:
    return SlackSink(outbox, store)


@pytest.fixture
def handoff(store: RedisStore, sender: RecordingSender, sink: SlackSink) -> Handoff:
    return Handoff(store, sender, sink)


def make_conversation(store: RedisStore, key: str, user_texts: list[str], *,
                      channel: Channel = Channel.MESSENGER, customer_id: str = "psid-4417",
                      handle: str | None = None) -> Conversation:
    """A saved conversation whose turns are stored redacted, as the engine stores them."""
    turns: list[Turn] = []
    kinds: list[str] = []
    for text in user_texts:
        red = redact(text)
        kinds += [k for k in red.kinds if k not in kinds]
        turns.append(Turn(role="user", text=red.text))
        turns.append(Turn(role="bot", text="Let me check that for you.", action="answer"))
    conv = Conversation(id=key, customer_id=customer_id, customer_handle=handle, channel=channel,
                        platform=str(channel), turns=turns, pii_kinds=kinds, sentiment=[-0.2, -0.6])
    store.save(conv)
    return conv


def escalate(handoff: Handoff, store: RedisStore, conv: Conversation, **fields: Any) -> str:
    """Open a case the way the engine does; returns the case id."""
    fields.setdefault("reasons", [Reason.BILLING_DISPUTE])
    fields.setdefault("priority", Priority.HIGH)
    fields.setdefault("sla_minutes", 60)
    with store.lock(conv.id):
        packet = handoff.escalate(conv, **fields)
    return packet.case_id


def drain_all(worker: OutboxWorker, clock: FakeClock, *, rounds: int = 30, step_s: float = 120.0) -> None:
    """Drain until the outbox is empty, moving the clock past each backoff."""
    for _ in range(rounds):
        worker.drain_once()
        if worker.outbox.pending() == 0:
            return
        clock.advance(step_s)
    raise AssertionError(f"outbox still holds {worker.outbox.pending()} jobs")


def status_of(store: RedisStore, key: str) -> ConversationStatus:
    conv = store.get(key)
    assert conv is not None
    return conv.status


# --- signed HTTP requests -------------------------------------------------------------
def sign(body: str, timestamp: int, secret: str = SIGNING_SECRET) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def slack_headers(body: str, *, timestamp: int | None = None, secret: str = SIGNING_SECRET,
                  content_type: str = "application/json", retry_num: int | None = None) -> dict[str, str]:
    ts = int(time.time()) if timestamp is None else timestamp
    headers = {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": sign(body, ts, secret),
               "Content-Type": content_type}
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    return headers


def event_body(event: dict[str, Any], event_id: str) -> str:
    return json.dumps({"token": "legacy", "team_id": TEAM_ID, "api_app_id": "A0CONCIERGE",
                       "event": event, "type": "event_callback", "event_id": event_id,
                       "event_time": int(time.time()),
                       "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}]})


def action_body(action_id: str, case_id: str, user: str, message_ts: str) -> str:
    payload = {
        "type": "block_actions", "api_app_id": "A0CONCIERGE", "token": "legacy",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM_ID},
        "container": {"type": "message", "message_ts": message_ts, "channel_id": CHANNEL,
                      "is_ephemeral": False},
        "trigger_id": "123.456.abc", "team": {"id": TEAM_ID, "domain": "emulator"},
        "channel": {"id": CHANNEL, "name": "cases"}, "response_url": "http://127.0.0.1:9/unused",
        "actions": [{"action_id": action_id, "block_id": f"actions.{case_id}", "value": case_id,
                     "type": "button", "text": {"type": "plain_text", "text": action_id},
                     "action_ts": f"{time.time():.6f}"}],
    }
    return urlencode({"payload": json.dumps(payload)})


class ServedApp:
    """A FastAPI app under uvicorn in a thread, on a port the OS picked."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


def eventually(check: Callable[[], Any], *, timeout_s: float = 30.0, what: str = "condition") -> Any:
    """Poll until check() returns something truthy (listeners and the worker run in threads)."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def http_client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10, trust_env=False) as client:
        yield client
