"""Webhook verification, parsing and intake over real HTTP into a real Redis stream (no worker)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json

import httpx
import pytest
import redis

from connectors.app import create_app
from tests.connectors.conftest import (IG_ID, META_SECRET, PAGE_ID, TG_SECRET, VERIFY_TOKEN, WA_PHONE_ID,
                                       X_ME, X_SECRET, make_settings)
from tests.connectors.live import LiveServer
from tests.emulators.webhooks import (messenger_event, meta_signature, post_meta, post_telegram, post_x,
                                      telegram_update, whatsapp_event, x_dm_event, x_mention_event)


@pytest.fixture
def intake(tmp_path, redis_url, redis_prefix):
    """A live app whose intake is the Redis stream; yields (base url, function returning queued messages)."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    app = create_app(make_settings(tmp_path, redis_url=redis_url), redis_prefix=redis_prefix, run_worker=False)

    def queued() -> list[dict]:
        return [json.loads(f["msg"]) for _id, f in client.xrange(redis_prefix + "intake")]

    with LiveServer(app) as server:
        yield server.url, queued


# --- Meta ------------------------------------------------------------------------------------

def test_meta_verification_challenge(intake):
    url, _ = intake
    ok = httpx.get(f"{url}/webhooks/meta", params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN,
                                                   "hub.challenge": "1158201444"})
    assert ok.status_code == 200 and ok.text == "1158201444"
    bad = httpx.get(f"{url}/webhooks/meta", params={"hub.mode": "subscribe", "hub.verify_token": "nope",
                                                    "hub.challenge": "1"})
    assert bad.status_code == 403


def test_meta_bad_or_missing_signature_enqueues_nothing(intake):
    url, queued = intake
    body = json.dumps(messenger_event(PAGE_ID, "PSID1", "m.1", "hello")).encode()
    wrong = httpx.post(f"{url}/webhooks/meta", content=body, headers={
        "Content-Type": "application/json", "X-Hub-Signature-256": meta_signature(body, "not-the-secret")})
    missing = httpx.post(f"{url}/webhooks/meta", content=body, headers={"Content-Type": "application/json"})
    # Signed with the verify token, like a well-known broken sample does.
    token_signed = httpx.post(f"{url}/webhooks/meta", content=body, headers={
        "Content-Type": "application/json", "X-Hub-Signature-256": meta_signature(body, VERIFY_TOKEN)})
    assert (wrong.status_code, missing.status_code, token_signed.status_code) == (401, 401, 401)
    assert queued() == []


def test_meta_batch_every_entry_and_item_skipping_echo_delivery_read(intake):
    url, queued = intake
    a = messenger_event(PAGE_ID, "PSID1", "m.a", "Where is my parcel?")
    b = messenger_event(PAGE_ID, "PSID2", "m.b", "Do you ship abroad?")
    echo = messenger_event(PAGE_ID, "PSID1", "m.echo", "our own reply", echo=True)
    payload = {"object": "page", "entry": [
        {"id": PAGE_ID, "time": 1, "messaging": [
            a["entry"][0]["messaging"][0],
            echo["entry"][0]["messaging"][0],
            {"sender": {"id": "PSID1"}, "recipient": {"id": PAGE_ID}, "delivery": {"mids": ["m.x"], "watermark": 1}},
        ]},
        {"id": PAGE_ID, "time": 2, "messaging": [
            {"sender": {"id": "PSID2"}, "recipient": {"id": PAGE_ID}, "read": {"watermark": 1}},
            b["entry"][0]["messaging"][0],
        ]},
    ]}
    resp = post_meta(url, payload, META_SECRET)
    assert resp.status_code == 200 and resp.text == "EVENT_RECEIVED"
    got = queued()
    assert [(m["customer_id"], m["message_id"], m["channel"]) for m in got] == [
        ("PSID1", "m.a", "messenger"), ("PSID2", "m.b", "messenger")]
    assert got[0]["conversation_key"] == f"messenger:{PAGE_ID}:PSID1"


def test_replayed_delivery_is_accepted_once(intake):
    url, queued = intake
    payload = messenger_event(PAGE_ID, "PSID1", "m.same", "hello")
    assert post_meta(url, payload, META_SECRET).status_code == 200
    assert post_meta(url, payload, META_SECRET).status_code == 200
    assert len(queued()) == 1


def test_instagram_and_whatsapp_shapes(intake):
    url, queued = intake
    assert post_meta(url, messenger_event(IG_ID, "IGSID1", "ig.1", "hi", obj="instagram"), META_SECRET).status_code == 200
    assert post_meta(url, whatsapp_event(WA_PHONE_ID, "15551234567", "wamid.1", "hola"), META_SECRET).status_code == 200
    statuses = {"object": "whatsapp_business_account", "entry": [{"id": "W", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"phone_number_id": WA_PHONE_ID},
        "statuses": [{"id": "wamid.out", "status": "delivered", "timestamp": "1", "recipient_id": "1555"}]}}]}]}
    assert post_meta(url, statuses, META_SECRET).status_code == 200
    got = queued()
    assert [(m["channel"], m["conversation_key"]) for m in got] == [
        ("instagram", f"instagram:{IG_ID}:IGSID1"), ("whatsapp", f"whatsapp:{WA_PHONE_ID}:15551234567")]
    assert got[1]["customer_handle"] == "Sam"


@pytest.mark.parametrize("body, headers, status", [
    (b"{not json", {"Content-Type": "application/json"}, 400),
    (b'{"object": "page"}', {"Content-Type": "text/plain"}, 415),
    (b'{"object": "user", "entry": []}', {"Content-Type": "application/json"}, 404),
    (b'{"object": "page", "entry": [{"messaging": [{"message": {"mid": "m.u", "text": "\xff\xfe bad"}}]}]}',
     {"Content-Type": "application/json"}, 400),
    (b'[1, 2, 3]', {"Content-Type": "application/json"}, 404),
    (b'{"object": "page", "entry": "nope"}', {"Content-Type": "application/json"}, 200),
])
def test_meta_bad_bodies_get_a_clear_4xx(intake, body, headers, status):
    url, queued = intake
    headers = {**headers, "X-Hub-Signature-256": meta_signature(body, META_SECRET)}
    resp = httpx.post(f"{url}/webhooks/meta", content=body, headers=headers)
    assert resp.status_code == status
    if status >= 400:
        assert resp.json()["detail"]
    assert queued() == []


def test_one_megabyte_body_is_refused(intake):
    url, queued = intake
    body = b'{"object":"page","entry":[],"pad":"' + b"x" * (1024 * 1024) + b'"}'
    resp = httpx.post(f"{url}/webhooks/meta", content=body, headers={
        "Content-Type": "application/json", "X-Hub-Signature-256": meta_signature(body, META_SECRET)})
    assert resp.status_code == 413
    assert queued() == []


def test_lone_surrogate_and_control_characters_are_cleaned_not_500(intake):
    url, queued = intake
    body = b'{"object":"page","entry":[{"id":"PAGE1","messaging":[{"sender":{"id":"P9"},"recipient":{"id":"PAGE1"},' \
           b'"message":{"mid":"m.sur","text":"hi \\ud800 there\\u0000"}}]}]}'
    resp = httpx.post(f"{url}/webhooks/meta", content=body, headers={
        "Content-Type": "application/json", "X-Hub-Signature-256": meta_signature(body, META_SECRET)})
    assert resp.status_code == 200
    [msg] = queued()
    assert msg["text"].startswith("hi ") and msg["text"].endswith("there") and "\x00" not in msg["text"]


def test_unconfigured_platform_refuses(tmp_path, redis_url, redis_prefix):
    settings = make_settings(tmp_path, redis_url=redis_url, meta_app_secret=None, meta_verify_token=None,
                             x_consumer_secret=None, telegram_secret_token=None)
    app = create_app(settings, redis_prefix=redis_prefix, run_worker=False)
    with LiveServer(app) as server:
        payload = messenger_event(PAGE_ID, "P", "m.1", "hi")
        assert post_meta(server.url, payload, META_SECRET).status_code == 403
        assert httpx.get(f"{server.url}/webhooks/meta", params={"hub.mode": "subscribe"}).status_code == 403
        assert post_x(server.url, x_dm_event(X_ME, "55", "e1", "hi"), X_SECRET).status_code == 403
        assert httpx.get(f"{server.url}/webhooks/x", params={"crc_token": "abc"}).status_code == 403
        assert post_telegram(server.url, telegram_update(1, 5, 1, "hi"), TG_SECRET).status_code == 403
    assert redis.Redis.from_url(redis_url).xlen(redis_prefix + "intake") == 0


# --- X ---------------------------------------------------------------------------------------

def test_x_crc_response_token(intake):
    url, _ = intake
    resp = httpx.get(f"{url}/webhooks/x", params={"crc_token": "challenge-123"})
    expected = "sha256=" + base64.b64encode(
        hmac.new(X_SECRET.encode(), b"challenge-123", hashlib.sha256).digest()).decode()
    assert resp.status_code == 200 and resp.json() == {"response_token": expected}
    assert httpx.get(f"{url}/webhooks/x").status_code == 400


def test_x_signature_and_own_events(intake):
    url, queued = intake
    dm = x_dm_event(X_ME, "555", "dm.1", "hello")
    assert post_x(url, dm, "wrong-secret").status_code == 401
    assert queued() == []
    assert post_x(url, dm, X_SECRET).status_code == 200
    assert post_x(url, x_dm_event(X_ME, X_ME, "dm.2", "our own DM"), X_SECRET).status_code == 200
    assert post_x(url, x_mention_event(X_ME, "777", "t.1", "@brand do you ship to Canada?"), X_SECRET).status_code == 200
    assert post_x(url, x_mention_event(X_ME, X_ME, "t.2", "our own post"), X_SECRET).status_code == 200
    got = queued()
    assert [(m["channel"], m["message_id"]) for m in got] == [("x_dm", "dm.1"), ("x_public", "t.1")]
    assert got[1]["text"] == "do you ship to Canada?" and got[1]["reply_to_id"] == "t.1" and got[1]["public"]
    assert post_x(url, {"hello": "world"}, X_SECRET).status_code == 400


def test_x_media_links_are_not_taken_for_the_customers_words(intake):
    url, queued = intake
    link = "https://t.co/Zp4Kd8Rw1M"
    photo = {"id_str": "17", "type": "photo", "url": link, "indices": [23, 23 + len(link)]}
    mention = x_mention_event(X_ME, "778", "t.3", f"@brand is this scratch covered by warranty? {link}")
    mention["tweet_create_events"][0]["entities"] = {"media": [photo]}
    assert post_x(url, mention, X_SECRET).status_code == 200
    assert post_x(url, x_dm_event(X_ME, "556", "dm.3", f"Is this the right charger?\n{link}", media=photo),
                  X_SECRET).status_code == 200
    got = queued()
    assert [(m["text"], m["attachments"]) for m in got] == [
        ("is this scratch covered by warranty?", 1), ("Is this the right charger?", 1)]


def test_a_whatsapp_reaction_is_not_a_message_to_answer(intake):
    url, queued = intake
    reaction = whatsapp_event(WA_PHONE_ID, "15551234568", "wamid.r1", None, kind="reaction",
                              content={"message_id": "wamid.ours", "emoji": "\U0001F44D"})
    assert post_meta(url, reaction, META_SECRET).status_code == 200
    assert queued() == []


# --- Telegram ---------------------------------------------------------------------------------

def test_telegram_secret_and_shapes(intake):
    url, queued = intake
    update = telegram_update(100, 42, 7, "hi there")
    assert post_telegram(url, update, "wrong").status_code == 403
    assert httpx.post(f"{url}/webhooks/telegram", json=update).status_code == 403
    assert post_telegram(url, update, TG_SECRET).status_code == 200
    assert post_telegram(url, update, TG_SECRET).status_code == 200  # redelivery
    assert post_telegram(url, {"update_id": 101, "edited_message": {}}, TG_SECRET).status_code == 200
    assert post_telegram(url, {"message": {}}, TG_SECRET).status_code == 400
    got = queued()
    assert [(m["conversation_key"], m["text"]) for m in got] == [("telegram:42", "hi there")]


# --- web chat input ----------------------------------------------------------------------------

def test_webchat_input_errors(intake):
    url, queued = intake
    assert httpx.post(f"{url}/api/chat", json={"session": "abcdefgh12", "text": "   "}).status_code == 422
    assert httpx.post(f"{url}/api/chat", json={"session": "bad session!", "text": "hi"}).status_code == 422
    assert httpx.post(f"{url}/api/chat", content=b"hi", headers={"Content-Type": "text/plain"}).status_code == 415
    big = httpx.post(f"{url}/api/chat", json={"session": "abcdefgh12", "text": "x" * 100_000})
    assert big.status_code == 413
    ok = httpx.post(f"{url}/api/chat", json={"session": "abcdefgh12", "text": "hello", "id": "client-1x"})
    again = httpx.post(f"{url}/api/chat", json={"session": "abcdefgh12", "text": "hello", "id": "client-1x"})
    assert ok.status_code == 202 and again.json()["status"] == "duplicate"
    assert [m["conversation_key"] for m in queued()] == ["webchat:abcdefgh12"]


def test_health_and_metrics(intake):
    url, _ = intake
    assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{url}/readyz")
    assert ready.json()["checks"]["redis"] == "ok"
    assert ready.json()["checks"]["worker"] == "not ready" and ready.status_code == 503  # no worker running
    post_meta(url, messenger_event(PAGE_ID, "PSID1", "m.metric", "hello"), META_SECRET)
    text = httpx.get(f"{url}/metrics").text
    assert 'concierge_webhook_requests_total{outcome="accepted",platform="meta"} 1.0' in text
    assert "concierge_queue_depth 1.0" in text


def test_readyz_needs_a_live_worker_with_the_model_and_a_filled_index(tmp_path, redis_url, redis_prefix):
    from connectors.worker import RedisWorker

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    app = create_app(make_settings(tmp_path, redis_url=redis_url), redis_prefix=redis_prefix, run_worker=False)
    with LiveServer(app) as server:
        # A worker beats with what it loaded; one over an empty index is no use to customers.
        empty = RedisWorker(client, None, prefix=redis_prefix, consumer="ready-empty", block_ms=1,
                            heartbeat={"model": True, "chroma": False})
        empty.ensure_group()
        empty.step()
        ready = httpx.get(f"{server.url}/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"] == {"redis": "ok", "worker": "ok", "chroma": "not ready"}
        RedisWorker(client, None, prefix=redis_prefix, consumer="ready-full", block_ms=1,
                    heartbeat={"model": True, "chroma": True}).step()
        ready = httpx.get(f"{server.url}/readyz")
        assert ready.status_code == 200 and ready.json()["ready"] is True


def test_per_customer_rate_limit(tmp_path, redis_url, redis_prefix):
    import time

    if time.time() % 60 > 55:  # the limit counts per clock minute: don't straddle two
        time.sleep(61 - time.time() % 60)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    app = create_app(make_settings(tmp_path, redis_url=redis_url, rate_limit_per_minute=2),
                     redis_prefix=redis_prefix, run_worker=False)
    with LiveServer(app) as server:
        for n in range(5):
            assert post_telegram(server.url, telegram_update(300 + n, 61, n, f"message {n}"), TG_SECRET).status_code == 200
        assert post_telegram(server.url, telegram_update(400, 62, 1, "another customer"), TG_SECRET).status_code == 200
    entries = [(f["kind"], json.loads(f["msg"])["text"]) for _id, f in client.xrange(redis_prefix + "intake")]
    # Two turns, one "slow down" notice, the rest dropped; other customers are unaffected.
    assert entries == [("turn", "message 0"), ("turn", "message 1"), ("rate_limited", "message 2"),
                       ("turn", "another customer")]
