"""`concierge escalations` against the embedded store's state file, as a separate process would."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from agent.conversation import Conversation, ConversationStatus, Turn
from agent.escalation import Handoff, LocalInbox
from agent.outbound import RecordingSender
from agent.settings import Settings
from agent.store import make_store
from connectors.cli import app
from guardrails.codes import Channel, Priority, Reason
from guardrails.pii import redact

CARD = "5555 5555 5555 4444"


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("CONCIERGE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CONCIERGE_REDIS_URL", raising=False)
    monkeypatch.delenv("CONCIERGE_SLACK_CHANNEL", raising=False)
    return tmp_path


def _open_case(data_dir, key="webchat:cli1", text=f"my card {CARD} was charged twice",
               priority=Priority.HIGH) -> str:
    """What the bot's process does on escalation, with its own store instance."""
    store = make_store(Settings(data_dir=data_dir, redis_url=None))
    red = redact(text)
    conv = Conversation(id=key, customer_id="c1", customer_handle="@rio", platform="web",
                        channel=Channel.WEBCHAT, pii_kinds=red.kinds,
                        turns=[Turn(role="user", text=red.text)])
    with store.lock(key):
        packet = Handoff(store, RecordingSender(store), LocalInbox(store)).escalate(
            conv, reasons=[Reason.BILLING_DISPUTE], priority=priority, sla_minutes=30,
            pii_values=red.values)
    return packet.case_id


def test_list_show_claim_reply_resolve(env):
    runner = CliRunner()
    low = _open_case(env, "webchat:cli0", "where is my parcel, I want a person",
                     priority=Priority.LOW)
    case = _open_case(env)
    listed = runner.invoke(app, ["escalations", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    assert [r["case"] for r in rows] == [case, low]  # high priority first
    assert rows[0]["status"] == "awaiting_human" and rows[0]["customer"] == "@rio"
    table = runner.invoke(app, ["escalations"])
    assert case in table.output and low in table.output

    shown = runner.invoke(app, ["escalations", "show", case.lower()])
    assert shown.exit_code == 0 and "charged twice" in shown.output
    assert CARD not in shown.output and "CARD" in shown.output
    as_json = json.loads(runner.invoke(app, ["escalations", "show", case, "--json"]).output)
    assert as_json["case_id"] == case and as_json["pii_kinds"] == ["CARD"]

    claimed = runner.invoke(app, ["escalations", "claim", case, "--agent", "U-kim"])
    assert claimed.exit_code == 0 and "claimed by U-kim" in claimed.output
    sent = runner.invoke(app, ["escalations", "reply", case, "We are on it.", "--agent", "U-kim"])
    assert sent.exit_code == 0, sent.output
    store = make_store(Settings(data_dir=env, redis_url=None))  # the bot's process sees it all
    assert [r["text"] for r in store.outbox("webchat:cli1")] == ["We are on it."]
    conv = store.get("webchat:cli1")
    assert conv.status == ConversationStatus.HUMAN and conv.assignee == "U-kim"
    assert conv.turns[-1].role == "agent"

    assert runner.invoke(app, ["escalations", "resolve", case]).exit_code == 0
    assert store.get("webchat:cli1").status == ConversationStatus.RESOLVED
    remaining = json.loads(runner.invoke(app, ["escalations", "--json"]).output)
    assert [r["case"] for r in remaining] == [low]
    everything = json.loads(runner.invoke(app, ["escalations", "--all", "--json"]).output)
    assert {r["case"] for r in everything} == {case, low}

    returned = runner.invoke(app, ["escalations", "return", low])
    assert returned.exit_code == 0 and store.get("webchat:cli0").status == ConversationStatus.BOT


def test_bad_input_is_one_clear_line(env):
    runner = CliRunner()
    case = _open_case(env)
    missing = runner.invoke(app, ["escalations", "show", "CX-ZZZZZ"])
    assert missing.exit_code == 1 and "no case CX-ZZZZZ" in missing.output
    malformed = runner.invoke(app, ["escalations", "claim", "hello"])
    assert malformed.exit_code == 1 and "not a case number" in malformed.output
    assert runner.invoke(app, ["escalations", "resolve", case]).exit_code == 0
    again = runner.invoke(app, ["escalations", "resolve", case])
    assert again.exit_code == 1 and "already resolved" in again.output
    assert "Traceback" not in again.output
    empty = runner.invoke(app, ["escalations"])
    assert empty.exit_code == 0 and "No open cases" in empty.output
