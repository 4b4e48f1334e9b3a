"""Forged, replayed and expired signatures on every webhook: rejected, nothing queued; a
replayed valid delivery is answered 200 and queued once."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest

from tests.connectors.conftest import META_SECRET, PAGE_ID, TG_SECRET, X_ME, X_SECRET
from tests.emulators.webhooks import (
    meta_signature,
    messenger_event,
    telegram_update,
    x_dm_event,
    x_signature,
)
from tests.reliability.conftest import SLACK_SECRET
from tests.slack.conftest import event_body, sign

JSON = {"Content-Type": "application/json"}


def _meta_body() -> bytes:
    return json.dumps(messenger_event(PAGE_ID, "PSIDSIG", "m.sig.1", "How long does a refund take?")).encode()


def _x_body() -> bytes:
    return json.dumps(x_dm_event(X_ME, "777", "dm.sig.1", "Where is my parcel?")).encode()


def _tg_body() -> bytes:
    return json.dumps(telegram_update(5001, 4242, 1, "Can I change my delivery address?")).encode()


def _sha1(body: bytes, secret: str) -> str:
    return "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


META_FORGERIES = {
    "missing": lambda body: {},
    "wrong secret": lambda body: {"X-Hub-Signature-256": meta_signature(body, "not-the-app-secret")},
    "signed with the verify token": lambda body: {"X-Hub-Signature-256": meta_signature(body, "verify-me")},
    "other body": lambda body: {"X-Hub-Signature-256": meta_signature(body + b" ", META_SECRET)},
    "legacy sha1 only": lambda body: {"X-Hub-Signature": _sha1(body, META_SECRET)},
    "no sha256= prefix, truncated": lambda body: {"X-Hub-Signature-256": meta_signature(body, META_SECRET)[7:40]},
    "empty": lambda body: {"X-Hub-Signature-256": "sha256="},
    "x-style base64": lambda body: {"X-Hub-Signature-256": x_signature(body, META_SECRET)},
}

X_FORGERIES = {
    "missing": lambda body: {},
    "wrong secret": lambda body: {"x-twitter-webhooks-signature": x_signature(body, "nope")},
    "other body": lambda body: {"x-twitter-webhooks-signature": x_signature(body[:-1] + b" }", X_SECRET)},
    "hex instead of base64": lambda body: {"x-twitter-webhooks-signature": meta_signature(body, X_SECRET)},
    "not base64": lambda body: {"x-twitter-webhooks-signature": "sha256=!!!not-base64!!!"},
    "empty": lambda body: {"x-twitter-webhooks-signature": ""},
}

TG_FORGERIES = {
    "missing": {},
    "wrong": {"X-Telegram-Bot-Api-Secret-Token": "guess"},
    "prefix of the secret": {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET[:-1]},
    "secret plus more": {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET + "x"},
    "different case": {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET.upper()},
    "empty": {"X-Telegram-Bot-Api-Secret-Token": ""},
    "non-ascii": {"X-Telegram-Bot-Api-Secret-Token": "s\u00e9cret".encode("latin-1")},
}


@pytest.mark.parametrize("forgery", list(META_FORGERIES))
def test_meta_forged_signature_rejected(intake_app, forgery):
    body = _meta_body()
    resp = intake_app.http.post("/webhooks/meta", content=body, headers={**JSON, **META_FORGERIES[forgery](body)})
    assert resp.status_code in (401, 403)
    assert intake_app.queued() == 0


@pytest.mark.parametrize("forgery", list(X_FORGERIES))
def test_x_forged_signature_rejected(intake_app, forgery):
    body = _x_body()
    resp = intake_app.http.post("/webhooks/x", content=body, headers={**JSON, **X_FORGERIES[forgery](body)})
    assert resp.status_code in (401, 403)
    assert intake_app.queued() == 0


@pytest.mark.parametrize("path,header", [("/webhooks/meta", "X-Hub-Signature-256"),
                                         ("/webhooks/x", "x-twitter-webhooks-signature")])
@pytest.mark.parametrize("value", ["sha256=\u00e9\u00e9", "\u00ff" * 71, "v0=\u00e9"])
def test_non_ascii_signature_header_rejected(intake_app, path, header, value):
    body = _meta_body() if "meta" in path else _x_body()
    resp = intake_app.http.post(path, content=body, headers={**JSON, header: value.encode("latin-1")})
    assert resp.status_code in (401, 403)
    assert intake_app.queued() == 0


def test_slack_non_ascii_signature_rejected(intake_app):
    now = int(time.time())
    body = event_body({"type": "message", "user": "U0AGENT", "text": "hi", "ts": f"{now}.000200",
                       "thread_ts": f"{now}.000100", "channel": "C0RELIAB1", "channel_type": "channel"}, "EvSIG2")
    headers = {**JSON, "X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": "v0=\u00e9".encode("latin-1")}
    resp = intake_app.http.post("/slack/events", content=body.encode(), headers=headers)
    assert resp.status_code == 401


@pytest.mark.parametrize("forgery", list(TG_FORGERIES))
def test_telegram_forged_secret_rejected(intake_app, forgery):
    resp = intake_app.http.post("/webhooks/telegram", content=_tg_body(), headers={**JSON, **TG_FORGERIES[forgery]})
    assert resp.status_code in (401, 403)
    assert intake_app.queued() == 0


def test_replayed_valid_deliveries_are_accepted_and_queued_once(intake_app):
    deliveries = [
        ("/webhooks/meta", _meta_body(), lambda b: {"X-Hub-Signature-256": meta_signature(b, META_SECRET)}),
        ("/webhooks/x", _x_body(), lambda b: {"x-twitter-webhooks-signature": x_signature(b, X_SECRET)}),
        ("/webhooks/telegram", _tg_body(), lambda b: {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}),
    ]
    for n, (path, body, headers) in enumerate(deliveries, start=1):
        for _attempt in range(3):  # the platform redelivers the very same request
            resp = intake_app.http.post(path, content=body, headers={**JSON, **headers(body)})
            assert resp.status_code == 200, (path, resp.text)
        assert intake_app.queued() == n, f"{path}: a replay was queued again"


def _slack_post(intake_app, body: str, *, timestamp: int, signature: str | None = None):
    headers = {**JSON, "X-Slack-Request-Timestamp": str(timestamp),
               "X-Slack-Signature": signature if signature is not None else sign(body, timestamp, SLACK_SECRET)}
    return intake_app.http.post("/slack/events", content=body.encode(), headers=headers)


def test_slack_signed_challenge_is_answered(intake_app):
    body = json.dumps({"token": "legacy", "challenge": "chal-123", "type": "url_verification"})
    resp = _slack_post(intake_app, body, timestamp=int(time.time()))
    assert resp.status_code == 200 and "chal-123" in resp.text


@pytest.mark.parametrize("case", ["expired", "future", "wrong secret", "other body", "missing", "v1 scheme"])
def test_slack_forged_or_expired_requests_rejected(intake_app, case):
    now = int(time.time())
    body = event_body({"type": "message", "user": "U0AGENT", "text": "refund approved", "ts": f"{now}.000200",
                       "thread_ts": f"{now}.000100", "channel": "C0RELIAB1", "channel_type": "channel"}, "EvSIG1")
    ts = now
    signature = None
    if case == "expired":  # a captured request replayed six minutes later
        ts = now - 6 * 60
    elif case == "future":
        ts = now + 6 * 60
    elif case == "wrong secret":
        signature = sign(body, now, "not-the-signing-secret")
    elif case == "other body":
        signature = sign(body.replace("approved", "denied"), now, SLACK_SECRET)
    elif case == "missing":
        signature = ""
    elif case == "v1 scheme":
        signature = sign(body, now, SLACK_SECRET).replace("v0=", "v1=")
    resp = _slack_post(intake_app, body, timestamp=ts, signature=signature)
    assert resp.status_code == 401
    assert intake_app.queued() == 0
    # nothing reached the Slack side either: no outbox job, no relay state
    assert not list(intake_app.r.scan_iter(match=intake_app.prefix + "slack*", count=500))
