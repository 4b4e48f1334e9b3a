"""Fuzzing every way in: arbitrary and signed, structurally plausible bodies never get a 5xx,
and the worker survives whatever got queued; suite files load or fail with one clean line."""
from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.connectors.conftest import META_SECRET, PAGE_ID, TG_SECRET, X_ME, X_SECRET
from tests.emulators.webhooks import meta_signature, x_signature
from tests.reliability.conftest import SLACK_SECRET
from tests.slack.conftest import sign

FUZZ = settings(max_examples=150, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
                      st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=40))
json_any = st.recursive(json_leaf, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                           st.dictionaries(st.text(max_size=12), inner, max_size=4)),
                        max_leaves=12)


def plausible(template: Any) -> st.SearchStrategy:
    """The template's shape with any node kept, replaced by arbitrary JSON, or (in dicts) dropped."""
    if isinstance(template, dict):
        fields = {k: plausible(v) for k, v in template.items()}

        @st.composite
        def build(draw):
            out = {}
            for k, strategy in fields.items():
                if not draw(st.integers(0, 9)) == 0:  # drop a key one time in ten
                    out[k] = draw(strategy)
            return out
        return st.one_of(build(), json_any) if template else json_any
    if isinstance(template, list):
        return st.one_of(st.lists(plausible(template[0]), min_size=0, max_size=3), json_any)
    text_like = st.text(max_size=60) if isinstance(template, str) else json_leaf
    return st.one_of(st.just(template), text_like, json_leaf)


MESSENGER = {"object": "page", "entry": [{"id": PAGE_ID, "time": 1700000000000, "messaging": [
    {"sender": {"id": "PSIDF"}, "recipient": {"id": PAGE_ID}, "timestamp": 1700000000000,
     "message": {"mid": "m.fuzz", "text": "hello", "is_echo": False, "attachments": [{"type": "image"}]},
     "delivery": {"mids": ["m.x"]}, "postback": {"payload": "P"}}]}]}
INSTAGRAM = {**MESSENGER, "object": "instagram"}
WHATSAPP = {"object": "whatsapp_business_account", "entry": [{"id": "WABA1", "changes": [{"field": "messages", "value": {
    "messaging_product": "whatsapp", "metadata": {"display_phone_number": "1555", "phone_number_id": "PHONE1"},
    "contacts": [{"profile": {"name": "Sam"}, "wa_id": "4917"}],
    "messages": [{"from": "4917", "id": "wamid.F", "timestamp": "1700000000", "type": "text", "text": {"body": "hi"}}],
    "statuses": [{"id": "wamid.S", "status": "read"}]}}]}]}
X_DM = {"for_user_id": X_ME, "direct_message_events": [{"type": "message_create", "id": "dmF",
        "created_timestamp": "1700000000000", "message_create": {"target": {"recipient_id": X_ME}, "sender_id": "55",
                                                                 "message_data": {"text": "hi", "entities": {}}}}],
        "users": {"55": {"id": "55", "screen_name": "c"}}}
X_MENTION = {"for_user_id": X_ME, "user_has_blocked": "false", "tweet_create_events": [{
    "id_str": "1", "text": "@brand help", "extended_tweet": {"full_text": "@brand help"}, "timestamp_ms": "1700000000000",
    "in_reply_to_status_id_str": None, "user": {"id_str": "55", "screen_name": "c"}}]}
TELEGRAM = {"update_id": 7, "message": {"message_id": 1, "from": {"id": 9, "is_bot": False, "first_name": "S"},
                                        "chat": {"id": 9, "type": "private"}, "date": 1700000000, "text": "hi"},
            "edited_message": {"message_id": 2}}
WEBCHAT = {"session": "session-abcdef", "text": "hello", "id": "client-msg-1"}
SLACK_EVENT = {"token": "t", "team_id": "T1", "api_app_id": "A1", "type": "event_callback", "event_id": "Ev1",
               "event_time": 1700000000, "event": {"type": "message", "user": "U1", "text": "hi", "ts": "1.2",
                                                    "thread_ts": "1.1", "channel": "C0RELIAB1"},
               "challenge": "c"}


def _signed(path: str, body: bytes) -> dict[str, str | bytes]:
    if path == "/webhooks/meta":
        return {"X-Hub-Signature-256": meta_signature(body, META_SECRET)}
    if path == "/webhooks/x":
        return {"x-twitter-webhooks-signature": x_signature(body, X_SECRET)}
    if path == "/webhooks/telegram":
        return {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
    if path == "/slack/events":
        ts = int(time.time())
        return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": sign(body.decode("utf-8", "replace"), ts,
                                                                                 SLACK_SECRET)}
    return {}


POST_ROUTES = ["/webhooks/meta", "/webhooks/x", "/webhooks/telegram", "/api/chat"]
content_types = st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain",
                                 "application/x-www-form-urlencoded", ""])


def _no_5xx(resp, what: str) -> None:
    assert resp.status_code < 500, f"{what}: HTTP {resp.status_code} {resp.text[:300]}"


def test_arbitrary_bodies_never_5xx(intake_app):
    @FUZZ
    @given(path=st.sampled_from(POST_ROUTES), body=st.one_of(st.binary(max_size=2000), json_any.map(
        lambda v: json.dumps(v).encode())), ctype=content_types, signed=st.booleans())
    def check(path, body, ctype, signed):
        headers = {"Content-Type": ctype} if ctype else {}
        if signed:
            headers.update(_signed(path, body))
        _no_5xx(intake_app.http.post(path, content=body, headers=headers), path)

    check()


@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "signed"])
@pytest.mark.parametrize("body,ctype", [(b"\xab", "text/plain"), (b"[]", "application/json"),
                                        (b"not json", "application/json"),
                                        (b'{"user": true}', "application/json"),
                                        (b"payload=%7B%22user%22%3A1%7D", "application/x-www-form-urlencoded")])
def test_slack_events_junk_body_is_a_4xx(intake_app, body, ctype, signed):
    headers = {"Content-Type": ctype, **(_signed("/slack/events", body) if signed else {})}
    resp = intake_app.http.post("/slack/events", content=body, headers=headers)
    assert 400 <= resp.status_code < 500, f"HTTP {resp.status_code} {resp.text[:300]}"
    if not signed:
        assert resp.status_code == 401


def test_arbitrary_verification_queries_never_5xx(intake_app):
    @FUZZ
    @given(path=st.sampled_from(["/webhooks/meta", "/webhooks/x"]),
           params=st.dictionaries(st.sampled_from(["hub.mode", "hub.challenge", "hub.verify_token", "crc_token", "x"]),
                                  st.text(max_size=80), max_size=4))
    def check(path, params):
        _no_5xx(intake_app.http.get(path, params=params), path)

    check()


SIGNED_SHAPES = [("/webhooks/meta", MESSENGER), ("/webhooks/meta", INSTAGRAM), ("/webhooks/meta", WHATSAPP),
                 ("/webhooks/x", X_DM), ("/webhooks/x", X_MENTION), ("/webhooks/telegram", TELEGRAM),
                 ("/api/chat", WEBCHAT)]


@pytest.mark.parametrize("path,template", SIGNED_SHAPES, ids=[f"{p}-{i}" for i, (p, _) in enumerate(SIGNED_SHAPES)])
def test_signed_plausible_payloads_never_5xx_and_worker_survives(intake_app, kb_index_for_worker, path, template):
    @FUZZ
    @given(payload=plausible(template))
    def check(payload):
        body = json.dumps(payload).encode()
        resp = intake_app.http.post(path, content=body, headers={"Content-Type": "application/json",
                                                                 **_signed(path, body)})
        _no_5xx(resp, path)

    check()
    drain_with_real_worker(intake_app, kb_index_for_worker)


def drain_with_real_worker(intake_app, index) -> None:
    """Run the real worker over everything the fuzzing queued: no crash, nothing dead-lettered."""
    from agent.factory import build_engine
    from agent.store_redis import RedisStore
    from connectors.app import make_sink
    from connectors.senders import RedisLedger, build_sender
    from connectors.worker import RedisDecisionCache, RedisOrderLock, RedisWorker, TurnProcessor

    s, r, prefix = intake_app.settings, intake_app.r, intake_app.prefix
    queued = intake_app.queued()
    store = RedisStore(s.redis_url, prefix=prefix)
    sender = build_sender(s, store, RedisLedger(r, prefix))
    engine = build_engine(s, store=store, index=index, sink=make_sink(s, store), sender=sender)
    processor = TurnProcessor(engine, sender, decisions=RedisDecisionCache(r, prefix),
                              order=RedisOrderLock(r, prefix))
    worker = RedisWorker(r, processor, prefix=prefix, consumer="fuzz", block_ms=100, claim_idle_ms=60_000)
    worker.ensure_group()
    handled = 0
    for _ in range(queued + 5):
        n = worker.step()  # raises if the worker would crash
        handled += n
        if n == 0 and handled >= queued:
            break
    assert handled == queued, f"queued {queued}, the worker handled {handled}"
    assert r.xlen(prefix + "intake:dead") == 0, r.xrange(prefix + "intake:dead", count=3)
