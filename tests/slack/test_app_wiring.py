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
