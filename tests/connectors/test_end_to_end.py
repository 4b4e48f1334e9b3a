"""Signed webhook -> uvicorn app -> Redis stream -> worker (real engine) -> platform emulator."""
from __future__ import annotations

import threading
import time

import httpx
import pytest
import redis

from agent.engine import ATTACHMENT_TEXT
from agent.factory import build_engine
from agent.store_redis import RedisStore
from connectors.app import create_app, make_sink
from connectors.metrics import Metrics
from connectors.senders import RedisLedger, build_sender
from connectors.worker import RedisDecisionCache, RedisOrderLock, RedisWorker, TurnProcessor
from tests.connectors.conftest import IG_ID, META_SECRET, PAGE_ID, TG_SECRET, WA_PHONE_ID, X_ME, X_SECRET, make_settings
from tests.connectors.live import LiveServer
from tests.emulators.webhooks import (messenger_event, post_meta, post_telegram, post_x, telegram_update,
                                      whatsapp_event, x_dm_event, x_mention_event)
from tests.emulators.x_api import weighted_length

QUESTION = "How long does a refund take to reach my card?"


@pytest.fixture
def stack(tmp_path, redis_url, redis_prefix, graph, xapi, tgapi, kb_dirs, kb_index):
    """App + one worker thread against real Redis and the emulators. Yields (app url, store)."""
    settings = make_settings(tmp_path, redis_url=redis_url, graph=graph, xapi=xapi, tgapi=tgapi, kb_dirs=kb_dirs)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    store = RedisStore(redis_url, prefix=redis_prefix)
    metrics = Metrics()
    sender = build_sender(settings, store, RedisLedger(client, redis_prefix), metrics=metrics)
    engine = build_engine(settings, store=store, index=kb_index, sink=make_sink(settings, store), sender=sender)
    processor = TurnProcessor(engine, sender, decisions=RedisDecisionCache(client, redis_prefix),
                              order=RedisOrderLock(client, redis_prefix), metrics=metrics)
    worker = RedisWorker(client, processor, prefix=redis_prefix, consumer="t1", block_ms=200)
    worker.ensure_group()
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    app = create_app(settings, redis_prefix=redis_prefix)
    try:
        with LiveServer(app) as server:
            yield server.url, store, metrics
    finally:
        stop.set()
        thread.join(10)


def test_messenger_reply_reaches_the_sender(stack, graph):
    url, store, metrics = stack
    assert post_meta(url, messenger_event(PAGE_ID, "PSID7", "m.e2e.1", QUESTION), META_SECRET).status_code == 200
    [req] = graph.wait_delivered(1)
    print("messenger reply:", req.json["message"]["text"])
    assert req.path == f"/v21.0/{PAGE_ID}/messages"
    assert req.query["access_token"] == "page-token"
    assert req.json["recipient"] == {"id": "PSID7"}
    assert req.json["messaging_type"] == "RESPONSE"
    assert 0 < len(req.json["message"]["text"]) <= 2000
    conv = store.get(f"messenger:{PAGE_ID}:PSID7")
    assert [t.role for t in conv.turns] == ["user", "bot"]


def test_replayed_webhook_gets_no_second_reply(stack, graph):
    url, store, _ = stack
    payload = messenger_event(PAGE_ID, "PSID8", "m.e2e.replay", QUESTION)
    assert post_meta(url, payload, META_SECRET).status_code == 200
    graph.wait_delivered(1)
    assert post_meta(url, payload, META_SECRET).status_code == 200
    # A later message proves the worker went past the replay: still only one reply for the first.
    assert post_meta(url, messenger_event(PAGE_ID, "PSID8", "m.e2e.next", "Thanks!"), META_SECRET).status_code == 200
    graph.wait_delivered(2)
    conv = store.get(f"messenger:{PAGE_ID}:PSID8")
    assert [t.message_id for t in conv.turns if t.role == "user"] == ["m.e2e.replay", "m.e2e.next"]
    assert len(graph.delivered()) == 2


def test_instagram_reply_within_1000_bytes(stack, graph):
    url, _, _ = stack
    assert post_meta(url, messenger_event(IG_ID, "IGSID3", "ig.e2e.1", QUESTION, obj="instagram"),
                     META_SECRET).status_code == 200
    reqs = graph.wait_delivered(1)
    assert all(r.path == f"/v21.0/{IG_ID}/messages" and r.json["recipient"] == {"id": "IGSID3"} for r in reqs)
    assert all(len(r.json["message"]["text"].encode()) <= 1000 for r in reqs)


def test_whatsapp_reply(stack, graph):
    url, _, _ = stack
    assert post_meta(url, whatsapp_event(WA_PHONE_ID, "15557654321", "wamid.e2e", QUESTION), META_SECRET).status_code == 200
    [req] = graph.wait_delivered(1)
    assert req.path == f"/v21.0/{WA_PHONE_ID}/messages"
    assert req.headers["authorization"] == "Bearer wa-token"
    assert req.json["to"] == "15557654321" and req.json["messaging_product"] == "whatsapp"
    assert 0 < len(req.json["text"]["body"]) <= 4096


def test_x_dm_and_public_reply(stack, xapi):
    url, _, _ = stack
    assert post_x(url, x_dm_event(X_ME, "4242", "dm.e2e", QUESTION), X_SECRET).status_code == 200
    [dm] = xapi.wait_delivered(1)
    assert dm.path == "/2/dm_conversations/with/4242/messages" and dm.json["text"]
    assert post_x(url, x_mention_event(X_ME, "5151", "t.e2e", f"@brand {QUESTION}"), X_SECRET).status_code == 200
    reqs = xapi.wait_delivered(2)
    public = reqs[1]
    assert public.path == "/2/tweets"
    assert public.json["reply"] == {"in_reply_to_tweet_id": "t.e2e"}
    assert 0 < weighted_length(public.json["text"]) <= 280


def test_telegram_reply_and_attachment_only(stack, tgapi):
    url, _, _ = stack
    assert post_telegram(url, telegram_update(900, 31337, 1, QUESTION), TG_SECRET).status_code == 200
    [req] = tgapi.wait_delivered(1)
    assert req.path.endswith("/sendMessage") and req.json["chat_id"] == 31337 and len(req.json["text"]) <= 4096
    photo = telegram_update(901, 31337, 2, None, photo=[{"file_id": "abc", "width": 1, "height": 1}])
    assert post_telegram(url, photo, TG_SECRET).status_code == 200
    reqs = tgapi.wait_delivered(2)
    assert "text" in reqs[1].json["text"].lower()  # tells the customer it reads text


@pytest.mark.parametrize("text", ["🙂🙂🙂", "", "?!"])
def test_odd_text_gets_a_polite_reply(stack, tgapi, text):
    url, _, _ = stack
    assert post_telegram(url, telegram_update(950, 777, 5, text), TG_SECRET).status_code == 200
    [req] = tgapi.wait_delivered(1)
    assert req.json["chat_id"] == 777 and req.json["text"].strip()


def test_rate_limited_platform_send_is_retried_once(stack, tgapi):
    url, _, metrics = stack
    tgapi.rate_limit_next(1, retry_after=1)
    assert post_telegram(url, telegram_update(960, 888, 1, QUESTION), TG_SECRET).status_code == 200
    tgapi.wait_delivered(1)
    assert [r.status for r in tgapi.requests] == [429, 200]


def test_escalation_is_counted_in_metrics(stack, tgapi):
    url, store, metrics = stack
    assert post_telegram(url, telegram_update(970, 999, 1, "I want to speak to a human agent please"),
                         TG_SECRET).status_code == 200
    [reply] = tgapi.wait_delivered(1)
    conv = store.get("telegram:999")
    assert conv.case_id and conv.case_id in reply.json["text"]
    worker_metrics = metrics.render().decode()
    assert 'concierge_escalations_total{reason="human_requested"} 1.0' in worker_metrics
    assert 'concierge_turns_total{action="escalate",channel="telegram"} 1.0' in worker_metrics
    api_metrics = httpx.get(f"{url}/metrics").text  # the API process: requests and queue depth
    assert 'concierge_webhook_requests_total{outcome="accepted",platform="telegram"} 1.0' in api_metrics


def _reply_text(req) -> str:
    body = req.json
    if "message" in body:
        return body["message"]["text"]  # Messenger, Instagram
    if isinstance(body.get("text"), dict):
        return body["text"]["body"]  # WhatsApp
    return body["text"]  # X


_IMAGE = [{"type": "image", "payload": {"url": "https://cdn.example.test/photo.jpg"}}]
_TCO = "https://t.co/Qx7Lm2Vb9K"

ATTACHMENT_ONLY = {
    "messenger_image": lambda: ("meta", messenger_event(PAGE_ID, "PSID20", "m.att.1", None, attachments=_IMAGE)),
    "messenger_sticker": lambda: ("meta", _with_message(
        messenger_event(PAGE_ID, "PSID21", "m.att.2", None, attachments=[
            {"type": "image", "payload": {"url": "https://cdn.example.test/sticker.png", "sticker_id": 369239263222822}}]),
        sticker_id=369239263222822)),
    "instagram_image": lambda: ("meta", messenger_event(IG_ID, "IGSID20", "ig.att.1", None, obj="instagram",
                                                        attachments=_IMAGE)),
    "instagram_unsupported": lambda: ("meta", _with_message(
        messenger_event(IG_ID, "IGSID21", "ig.att.2", None, obj="instagram"), is_unsupported=True)),
    "whatsapp_image": lambda: ("meta", whatsapp_event(WA_PHONE_ID, "15557650020", "wamid.att1", None, kind="image",
                                                      content={"mime_type": "image/jpeg", "sha256": "aa", "id": "M1"})),
    "whatsapp_sticker": lambda: ("meta", whatsapp_event(WA_PHONE_ID, "15557650021", "wamid.att2", None,
                                                        kind="sticker", content={"mime_type": "image/webp",
                                                                                 "sha256": "bb", "id": "M2",
                                                                                 "animated": False})),
    "x_dm_photo": lambda: ("x", x_dm_event(X_ME, "4343", "dm.att.1", _TCO, media={
        "id_str": "1700000000000000001", "type": "photo", "url": _TCO, "display_url": "pic.x.com/Qx7Lm2Vb9K",
        "media_url_https": "https://ton.x.com/1.1/ton/data/dm/1/2/photo.jpg", "indices": [0, len(_TCO)]})),
}


def _with_message(payload: dict, **fields) -> dict:
    payload["entry"][0]["messaging"][0]["message"].update(fields)
    return payload


@pytest.mark.parametrize("case", sorted(ATTACHMENT_ONLY))
def test_attachment_only_message_gets_the_text_only_reply(stack, graph, xapi, case):
    url, _, _ = stack
    platform, payload = ATTACHMENT_ONLY[case]()
    if platform == "meta":
        assert post_meta(url, payload, META_SECRET).status_code == 200
        [req] = graph.wait_delivered(1)
    else:
        assert post_x(url, payload, X_SECRET).status_code == 200
        [req] = xapi.wait_delivered(1)
    assert _reply_text(req) == ATTACHMENT_TEXT
