"""Agents in Slack, over real HTTP: signed Events API and interactivity requests reach the
router under uvicorn; the outbox worker runs in its thread against the Web API emulator."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass

import pytest
from fastapi import FastAPI

from agent.conversation import ConversationStatus
from agent.escalation import Handoff
from agent.outbound import RecordingSender
from agent.store_redis import RedisStore
from connectors.slack.blocks import ACTION_CLAIM, ACTION_RESOLVE, ACTION_RETURN
from connectors.slack.bolt_app import build_slack_app
from connectors.slack.client import make_web_client
from connectors.slack.outbox import SlackOutbox
from connectors.slack.routes import make_slack_router
from connectors.slack.sink import SlackSink
from connectors.slack.worker import OutboxWorker
from guardrails.codes import Reason
from tests.emulators.slack_api import BOT_ID, BOT_USER_ID, SlackApiEmulator
from tests.slack.conftest import (
    CHANNEL,
    ServedApp,
    action_body,
    escalate,
    event_body,
    eventually,
    make_conversation,
    slack_headers,
)


@dataclass
class Live:
    url: str
    emulator: SlackApiEmulator
    store: RedisStore
    outbox: SlackOutbox
    handoff: Handoff
    sender: RecordingSender


@pytest.fixture
def live(emulator, settings, store, redis_url, redis_prefix):
    outbox = SlackOutbox.from_url(redis_url, channel=CHANNEL, prefix=redis_prefix)
    sender = RecordingSender(store)
    handoff = Handoff(store, sender, SlackSink(outbox, store))
    client = make_web_client(settings)
    worker = OutboxWorker(outbox, client, store=store, idle_poll_s=0.1)
    api = FastAPI()
    api.include_router(make_slack_router(build_slack_app(settings, store, handoff, outbox, client=client),
                                        signing_secret=settings.slack_signing_secret))
    served = ServedApp(api)
    worker.start()
    yield Live(served.url, emulator, store, outbox, handoff, sender)
    worker.stop()
    served.close()


def _open_case(live: Live, key: str = "messenger:551") -> tuple[str, str, str]:
    """A case posted in Slack: (case id, conversation key, message ts)."""
    conv = make_conversation(live.store, key, ["My refund never arrived, I want a person"])
    case_id = escalate(live.handoff, live.store, conv, reasons=[Reason.HUMAN_REQUESTED])
    ref = eventually(lambda: live.outbox.case_ref(case_id), what="case posted")
    return case_id, conv.id, ref.ts


def _post_action(client, live: Live, action_id: str, case_id: str, ts: str, user: str = "UAGENT1"):
    body = action_body(action_id, case_id, user, ts)
    return client.post(f"{live.url}/slack/interactivity", content=body,
                       headers=slack_headers(body, content_type="application/x-www-form-urlencoded"))


def _post_event(client, live: Live, event: dict, event_id: str, **kw):
    body = event_body(event, event_id)
    return client.post(f"{live.url}/slack/events", content=body, headers=slack_headers(body, **kw))


def _reply(ts_parent: str, text: str, user: str = "UAGENT1", ts: str | None = None) -> dict:
    ts = ts or f"{time.time():.6f}"
    return {"type": "message", "user": user, "text": text, "ts": ts, "thread_ts": ts_parent,
            "parent_user_id": BOT_USER_ID, "channel": CHANNEL, "event_ts": ts, "channel_type": "channel"}


def _buttons(message: dict) -> list[str]:
    return [e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


def test_url_verification_is_answered(live, http_client):
    body = json.dumps({"token": "legacy", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
                       "type": "url_verification"})
    resp = http_client.post(f"{live.url}/slack/events", content=body, headers=slack_headers(body))
    assert resp.status_code == 200
    assert resp.json()["challenge"] == "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"


def test_forged_and_expired_requests_are_rejected(live, http_client):
    case_id, key, ts = _open_case(live)
    body = action_body(ACTION_CLAIM, case_id, "UMALLORY", ts)
    form = "application/x-www-form-urlencoded"
    forged = http_client.post(f"{live.url}/slack/interactivity", content=body,
                              headers=slack_headers(body, secret="not-the-secret", content_type=form))
    expired = http_client.post(f"{live.url}/slack/interactivity", content=body,
                               headers=slack_headers(body, timestamp=int(time.time()) - 6 * 60,
                                                     content_type=form))
    tampered_headers = slack_headers(body, content_type=form)
    tampered = http_client.post(f"{live.url}/slack/interactivity",
                                content=body.replace("UMALLORY", "UMALLOR2"), headers=tampered_headers)
    unsigned = http_client.post(f"{live.url}/slack/events", content=event_body(_reply(ts, "hi"), "Ev0"),
                                headers={"Content-Type": "application/json"})
    assert [r.status_code for r in (forged, expired, tampered, unsigned)] == [401, 401, 401, 401]
    assert live.store.get(key).status == ConversationStatus.AWAITING_HUMAN
    assert live.sender.outbox(key) == []


def test_claim_then_resolve_updates_store_and_message(live, http_client):
    case_id, key, ts = _open_case(live)
    assert _post_action(http_client, live, ACTION_CLAIM, case_id, ts).status_code == 200
    eventually(lambda: live.store.get(key).status == ConversationStatus.HUMAN, what="claimed")
    assert live.store.get(key).assignee == "UAGENT1"
    updated = eventually(lambda: live.emulator.calls("chat.update"), what="message updated")
    message = eventually(lambda: (m := live.emulator.message(CHANNEL, ts)) and "edited" in m and m,
                         what="edited message")
    assert "<@UAGENT1>" in json.dumps(message["blocks"])
    assert _buttons(message) == [ACTION_RESOLVE, ACTION_RETURN]
    first_ids = {b["block_id"] for b in message["blocks"]}
    assert updated[0].params["ts"] == ts

    assert _post_action(http_client, live, ACTION_RESOLVE, case_id, ts).status_code == 200
    eventually(lambda: live.store.get(key).status == ConversationStatus.RESOLVED, what="resolved")
    assert case_id not in live.store.open_cases()
    message = eventually(lambda: (m := live.emulator.message(CHANNEL, ts)) and not _buttons(m) and m,
                         what="buttons gone after resolve")
    assert "Resolved" in json.dumps(message["blocks"])
    assert not first_ids & {b["block_id"] for b in message["blocks"]}  # new block ids on each update


def test_return_to_bot_hands_back_without_resolving(live, http_client):
    case_id, key, ts = _open_case(live)
    _post_action(http_client, live, ACTION_CLAIM, case_id, ts)
    eventually(lambda: live.store.get(key).status == ConversationStatus.HUMAN, what="claimed")
    _post_action(http_client, live, ACTION_RETURN, case_id, ts)
    eventually(lambda: live.store.get(key).status == ConversationStatus.BOT, what="returned")
    conv = live.store.get(key)
    assert conv.assignee is None and conv.case_id == case_id  # case number kept for a reopen
    message = eventually(lambda: (m := live.emulator.message(CHANNEL, ts)) and not _buttons(m) and m,
                         what="message shows returned")
    assert "Returned to the bot" in json.dumps(message["blocks"])
    # A second click on a stale button is refused and explained in the thread, not applied.
    _post_action(http_client, live, ACTION_RESOLVE, case_id, ts, user="UAGENT2")
    eventually(lambda: any("could not resolve" in m["text"] for m in live.emulator.thread(CHANNEL, ts)),
               what="refusal note")
    assert live.store.get(key).status == ConversationStatus.BOT


def test_thread_reply_goes_to_the_customer_once(live, http_client):
    case_id, key, ts = _open_case(live)
    reply = _reply(ts, "Hi, I'm Ana from support &amp; I've reissued your refund: "
                       "<https://help.example.test/refunds|refund status>")
    assert _post_event(http_client, live, reply, "Ev01AGENT").status_code == 200
    sent = eventually(lambda: live.sender.outbox(key), what="reply relayed")
    assert sent[0].text == ("Hi, I'm Ana from support & I've reissued your refund: "
                            "refund status (https://help.example.test/refunds)")
    assert sent[0].channel == "messenger"
    eventually(lambda: live.store.get(key).status == ConversationStatus.HUMAN, what="reply claims")

    # Slack retries the same event (we were slow): the customer still gets it once.
    assert _post_event(http_client, live, reply, "Ev01AGENT", retry_num=1).status_code == 200
    # Not for the customer: our bot's own post, an internal note, a top-level message.
    _post_event(http_client, live, {**_reply(ts, "Customer: bot echo"), "bot_id": BOT_ID,
                                    "user": BOT_USER_ID}, "Ev02BOT")
    _post_event(http_client, live, _reply(ts, "// checking with billing first"), "Ev03NOTE")
    top = _reply(ts, "anyone around?")
    top["thread_ts"] = top["ts"]
    _post_event(http_client, live, top, "Ev04TOP")
    second = _reply(ts, "Is there anything else I can help with?")
    _post_event(http_client, live, second, "Ev05AGENT")
    eventually(lambda: len(live.sender.outbox(key)) >= 2, what="second reply")
    assert [m.text for m in live.sender.outbox(key)] == [sent[0].text, "Is there anything else I can help with?"]
    agent_turns = [t for t in live.store.get(key).turns if t.role == "agent"]
    assert len(agent_turns) == 2


def test_customer_message_while_human_owns_the_case_goes_to_the_thread(live, http_client):
    case_id, key, ts = _open_case(live)
    _post_action(http_client, live, ACTION_CLAIM, case_id, ts)
    eventually(lambda: live.store.get(key).status == ConversationStatus.HUMAN, what="claimed")
    # What the engine does with a message while a human owns the case: relay, no bot reply.
    live.handoff.relay(live.store.get(key), "Thanks, I'll wait for the refund <!channel>")
    posted = eventually(lambda: [m for m in live.emulator.thread(CHANNEL, ts) if "I'll wait" in m["text"]],
                        what="customer message in thread")
    assert posted[0]["text"].startswith("*Customer:*")
    assert "<!channel>" not in posted[0]["text"]  # escaped: a customer cannot ping the channel
    assert live.sender.outbox(key) == []  # nothing was sent back to the customer
