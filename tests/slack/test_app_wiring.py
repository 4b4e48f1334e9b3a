"""The Slack side as connectors.app wires it from settings alone: make_sink and the routes
share one per-process SlackService whose worker delivers the outbox."""
from __future__ import annotations

import pytest

from agent.conversation import ConversationStatus
from agent.escalation import Handoff
from agent.outbound import RecordingSender
from agent.settings import Settings
from connectors.slack import wiring
from connectors.slack.blocks import ACTION_CLAIM
from guardrails.codes import Reason
from tests.slack.conftest import (
    CHANNEL,
    SIGNING_SECRET,
    TOKEN,
    ServedApp,
    action_body,
    escalate,
    eventually,
    make_conversation,
    slack_headers,
)


@pytest.fixture
def app_settings(emulator, redis_url) -> Settings:
    return Settings(slack_bot_token=TOKEN, slack_signing_secret=SIGNING_SECRET, slack_channel=CHANNEL,
                    slack_base_url=emulator.url, slack_app_token=None, redis_url=redis_url, _env_file=None)


def test_app_routes_and_sink_from_settings(app_settings, emulator, store, redis_prefix, http_client):
    from connectors.app import create_app, make_sink

    served = ServedApp(create_app(app_settings, store=store, redis_prefix=redis_prefix, run_worker=False))
    try:
        handoff = Handoff(store, RecordingSender(store), make_sink(app_settings, store))
        conv = make_conversation(store, "telegram:31", ["I need to talk to someone about a charge"])
        case_id = escalate(handoff, store, conv, reasons=[Reason.BILLING_DISPUTE])
        service = wiring.slack_service(app_settings, store)
        ref = eventually(lambda: service.outbox.case_ref(case_id), what="case posted by the worker")
        body = action_body(ACTION_CLAIM, case_id, "UAGENT3", ref.ts)
        resp = http_client.post(f"{served.url}/slack/interactivity", content=body,
                                headers=slack_headers(body, content_type="application/x-www-form-urlencoded"))
        assert resp.status_code == 200
        eventually(lambda: store.get(conv.id).status == ConversationStatus.HUMAN, what="claimed")
        assert store.get(conv.id).assignee == "UAGENT3"
    finally:
        served.close()
        wiring.stop_all()


def test_slack_without_redis_is_a_clear_error(emulator, store):
    settings = Settings(slack_bot_token=TOKEN, slack_signing_secret=SIGNING_SECRET, slack_channel=CHANNEL,
                        slack_base_url=emulator.url, redis_url=None, _env_file=None)
    from connectors.slack.sink import SlackSink

    with pytest.raises(ValueError, match="CONCIERGE_REDIS_URL"):
        SlackSink(settings, store)


@pytest.mark.parametrize("partial,needs", [
    ({"redis_url": None}, "CONCIERGE_REDIS_URL"),
    ({"slack_channel": None}, "CONCIERGE_SLACK_CHANNEL"),
    ({"slack_signing_secret": None}, "CONCIERGE_SLACK_SIGNING_SECRET"),
    ({"slack_bot_token": None}, "CONCIERGE_SLACK_BOT_TOKEN"),
])
def test_incomplete_slack_settings_stop_the_app_at_startup(app_settings, partial, needs):
    from agent.settings import SettingsError
    from connectors.app import create_app

    settings = app_settings.model_copy(update=partial)
    with pytest.raises(SettingsError, match=needs):
        create_app(settings, run_worker=False)


def test_serve_with_slack_but_no_redis_exits_with_what_to_set(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if not k.startswith("CONCIERGE_")}
    env.update({"CONCIERGE_SLACK_BOT_TOKEN": TOKEN, "CONCIERGE_SLACK_CHANNEL": CHANNEL,
                "CONCIERGE_SLACK_SIGNING_SECRET": SIGNING_SECRET, "CONCIERGE_DATA_DIR": str(tmp_path)})
    done = subprocess.run([sys.executable, "-m", "connectors.cli", "serve", "--port", "1"], env=env,
                          cwd=Path(__file__).resolve().parents[2],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "CONCIERGE_REDIS_URL" in done.stderr and "Traceback" not in done.stderr
