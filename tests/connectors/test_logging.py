"""JSON logs carry ids a person can follow, never a customer's phone number, email or text."""
from __future__ import annotations

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
