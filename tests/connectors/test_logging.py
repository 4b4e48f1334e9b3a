"""JSON logs carry ids a person can follow, never a customer's phone number, email or text."""
from __future__ import annotations

import base64
import io
import json
import logging
from datetime import datetime, timezone

import pytest

from agent.conversation import Conversation, Turn
from connectors.logging_json import configure_logging
from connectors.senders import MemoryLedger, WindowClosed, build_sender
from guardrails.codes import Channel
from tests.connectors.conftest import WA_PHONE_ID, make_settings

PHONE = "15557654321"


@pytest.fixture
def log_lines():
    stream = io.StringIO()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging("INFO", stream)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def _whatsapp(wrote_at: datetime) -> Conversation:
    return Conversation(id=f"whatsapp:{WA_PHONE_ID}:{PHONE}", customer_id=PHONE, channel=Channel.WHATSAPP,
                        platform="meta", turns=[Turn(role="user", text="hi", at=wrote_at, message_id="wamid.L1")])


def test_a_whatsapp_send_is_logged_without_the_customers_number(tmp_path, graph, log_lines):
    sender = build_sender(make_settings(tmp_path, graph=graph), store=None, ledger=MemoryLedger())
    assert sender.send(_whatsapp(datetime.now(timezone.utc)), "Your refund is on its way.", idempotency_key="log1")
    [sent] = [line for line in log_lines() if line.get("event") == "sent"]
    assert PHONE not in json.dumps(sent)
    assert sent["conversation"].startswith("whatsapp:") and len(sent["conversation"]) == len("whatsapp:") + 12
    # the same conversation always gets the same pseudonym, so it can be followed
    assert sender.send(_whatsapp(datetime.now(timezone.utc)), "And one more thing.", idempotency_key="log2")
    assert len({line["conversation"] for line in log_lines() if line.get("event") == "sent"}) == 1


def test_error_text_is_redacted_in_the_log(log_lines):
    try:
        raise WindowClosed("refused for jane.doe@example.com, card 4111 1111 1111 1111, phone +49 151 23456789")
    except WindowClosed as exc:
        logging.getLogger("concierge.worker").exception("send refused: %s", exc, extra={"error": str(exc)})
    [line] = log_lines()
    text = json.dumps(line)
    assert "jane.doe@example.com" not in text and "4111" not in text and "23456789" not in text
    assert "[EMAIL]" in line["error"] and "send refused" in line["msg"]


def _wamid_for(phone: str) -> str:
    """A WhatsApp message id shaped like the real ones: base64 of bytes that hold the phone number."""
    return "wamid." + base64.b64encode(b"\x1c\x18\x0b" + phone.encode() + b"\x15\x02\x00\x12\x18\x14"
                                       + b"7F3A0C9E21B84D5A6C1E").decode()


def test_a_whatsapp_message_id_never_reaches_the_log(tmp_path, graph, kb_dirs, log_lines):
    """Signed webhook -> in-process worker -> Graph emulator: the intake and send lines carry
    the message id hashed (it encodes the phone number), the same hash in both."""
    from fastapi.testclient import TestClient

    from connectors.app import create_app
    from tests.connectors.conftest import META_SECRET
    from tests.emulators.webhooks import meta_signature, whatsapp_event

    wamid = _wamid_for(PHONE)
    assert PHONE in base64.b64decode(wamid.removeprefix("wamid.")).decode("latin-1")
    settings = make_settings(tmp_path, graph=graph, kb_dirs=kb_dirs)
    body = json.dumps(whatsapp_event(WA_PHONE_ID, PHONE, wamid, "How long does a refund take?")).encode()
    with TestClient(create_app(settings)) as client:
        resp = client.post("/webhooks/meta", content=body, headers={
            "Content-Type": "application/json", "X-Hub-Signature-256": meta_signature(body, META_SECRET)})
        assert resp.status_code == 200
        graph.wait_delivered(1)
    lines = log_lines()
    text = "\n".join(json.dumps(line) for line in lines)
    assert wamid not in text and wamid.removeprefix("wamid.")[:16] not in text and PHONE not in text
    [intake] = [line for line in lines if line.get("event") == "intake"]
    [sent] = [line for line in lines if line.get("event") == "sent"]
    label, platform, hashed, part = sent["idempotency_key"].split(":")
    assert (label, platform, part) == ("reply", "meta", "0")
    assert hashed == intake["message_id"] and len(hashed) == 12


def test_a_wamid_quoted_in_an_error_is_hashed(log_lines):
    wamid = _wamid_for(PHONE)
    logging.getLogger("concierge.worker").warning("send failed", extra={"error": f"duplicate of {wamid} refused"})
    [line] = log_lines()
    assert wamid not in json.dumps(line) and line["error"].startswith("duplicate of ")
