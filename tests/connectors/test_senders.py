"""Platform senders against the emulators: windows, limits, idempotency, retries."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
import redis

from agent.conversation import Conversation, ConversationStatus, Turn
from connectors.senders import (MemoryLedger, RedisLedger, SendError, TransientSendError, WindowClosed,
                                build_sender)
from guardrails.codes import Channel
from tests.connectors.conftest import IG_ID, PAGE_ID, make_settings


def _conv(channel: Channel, key: str, customer: str, *, wrote_ago: timedelta, status=ConversationStatus.BOT):
    at = datetime.now(timezone.utc) - wrote_ago
    return Conversation(id=key, customer_id=customer, channel=channel, platform="meta", status=status,
                        turns=[Turn(role="user", text="hello", at=at, message_id="m.1")])


@pytest.fixture
def sender(tmp_path, graph, xapi, tgapi):
    settings = make_settings(tmp_path, graph=graph, xapi=xapi, tgapi=tgapi)
    return build_sender(settings, store=None, ledger=MemoryLedger())


def test_messenger_human_agent_after_24h_uses_the_human_agent_tag(sender, graph):
    conv = _conv(Channel.MESSENGER, f"messenger:{PAGE_ID}:P1", "P1", wrote_ago=timedelta(days=2),
                 status=ConversationStatus.HUMAN)
    assert sender.send(conv, "Sorry for the wait, here is an update.", idempotency_key="a1")
    [req] = graph.delivered()
    assert req.json["messaging_type"] == "MESSAGE_TAG" and req.json["tag"] == "HUMAN_AGENT"


def test_bot_outside_24h_and_agent_after_7_days_are_refused(sender, graph):
    bot = _conv(Channel.MESSENGER, f"messenger:{PAGE_ID}:P2", "P2", wrote_ago=timedelta(hours=30))
    with pytest.raises(WindowClosed):
        sender.send(bot, "A late bot reply", idempotency_key="b1", role="bot")
    late = _conv(Channel.INSTAGRAM, f"instagram:{IG_ID}:I2", "I2", wrote_ago=timedelta(days=8),
                 status=ConversationStatus.HUMAN)
    with pytest.raises(WindowClosed):
        sender.send(late, "A very late reply", idempotency_key="b2")
    assert graph.requests == []


def test_long_text_is_split_to_the_channel_limit(sender, graph):
    text = " ".join(f"Sentence number {i} explains one more detail of the policy." for i in range(60))
    conv = _conv(Channel.INSTAGRAM, f"instagram:{IG_ID}:I3", "I3", wrote_ago=timedelta(minutes=1))
    assert sender.send(conv, text, idempotency_key="c1")
    parts = [r.json["message"]["text"] for r in graph.delivered()]
    assert len(parts) > 1 and all(len(p.encode()) <= 1000 for p in parts)
    assert " ".join(parts) == text
    assert not sender.send(conv, text, idempotency_key="c1")  # a retry sends nothing
    assert len(graph.requests) == len(parts)


def test_refused_send_can_be_retried_and_is_then_sent_once(tmp_path, redis_url, redis_prefix, tgapi):
    settings = make_settings(tmp_path, tgapi=tgapi)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    sender = build_sender(settings, store=None, ledger=RedisLedger(client, redis_prefix))
    conv = Conversation(id="telegram:55", customer_id="55", channel=Channel.TELEGRAM, platform="telegram")
    tgapi.fail_next(3, status=502)  # every attempt of the first call fails
    with pytest.raises(SendError):
        sender.send(conv, "Hello", idempotency_key="k1")
    assert sender.send(conv, "Hello", idempotency_key="k1")
    assert not sender.send(conv, "Hello", idempotency_key="k1")
    assert [r.status for r in tgapi.requests] == [502, 502, 502, 200]


def test_a_hanging_platform_gives_up_before_the_lease_so_no_other_worker_resends(tmp_path, redis_url, redis_prefix,
                                                                                 tgapi):
    """While one worker retries a send that the platform does not answer, every other worker
    must keep seeing "busy": an expired lease ("again") would make it send the reply a second time."""
    settings = make_settings(tmp_path, tgapi=tgapi, send_lease_s=2.0)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    sender = build_sender(settings, store=None, ledger=RedisLedger(client, redis_prefix))
    other_worker = RedisLedger(redis.Redis.from_url(redis_url, decode_responses=True), redis_prefix)
    conv = Conversation(id="telegram:56", customer_id="56", channel=Channel.TELEGRAM, platform="telegram")
    tgapi.hang_next(10)
    outcome: list[BaseException] = []

    def send() -> None:
        try:
            sender.send(conv, "Hello", idempotency_key="hang1")
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            outcome.append(exc)

    thread = threading.Thread(target=send)
    thread.start()
    tgapi.wait_for(lambda reqs: len(reqs) >= 1)
    seen = []
    while thread.is_alive():
        state = other_worker.begin("hang1", lease_s=2.0, owner="other")
        seen.append(state)
        if state != "busy":
            other_worker.abort("hang1", owner="other")  # only looking: never keep the lease
        time.sleep(0.05)
    thread.join()
    assert "again" not in seen, f"the lease expired while its worker was still sending: {seen}"
    assert len(outcome) == 1 and isinstance(outcome[0], TransientSendError)
    assert tgapi.delivered() == []


def test_memory_ledger_lets_only_the_owner_abort():
    ledger = MemoryLedger()
    assert ledger.begin("k", lease_s=0.05, owner="stale") == "go"
    time.sleep(0.1)
    assert ledger.begin("k", lease_s=30, owner="current") == "again"
    assert not ledger.abort("k", owner="stale")
    assert ledger.begin("k", lease_s=30, owner="third") == "busy"
