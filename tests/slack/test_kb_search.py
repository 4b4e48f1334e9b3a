"""The case message's "Search KB" action (issue 21): the agent gets public and internal articles
in the case thread, internal ones marked; nothing of it reaches the customer."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi import FastAPI

from agent.escalation import Handoff
from agent.outbound import RecordingSender
from connectors.slack.blocks import ACTION_KB_SEARCH
from connectors.slack.bolt_app import build_slack_app
from connectors.slack.client import make_web_client
from connectors.slack.outbox import SlackOutbox
from connectors.slack.routes import make_slack_router
from connectors.slack.sink import SlackSink
from connectors.slack.worker import OutboxWorker
from guardrails.codes import Reason
from tests.slack.conftest import (
    CHANNEL,
    ServedApp,
    action_body,
    escalate,
    eventually,
    make_conversation,
    slack_headers,
)

MIXED = Path(__file__).resolve().parents[2] / "evals" / "internal_kb" / "kb"


@pytest.fixture(scope="module")
def mixed_index(tmp_path_factory, embedder):
    from retrieval.index import KnowledgeIndex

    kb = tmp_path_factory.mktemp("kb")
    shutil.copytree(MIXED, kb, dirs_exist_ok=True)
    index = KnowledgeIndex(persist_dir=tmp_path_factory.mktemp("chroma"), embedder=embedder)
    index.ingest(kb)
    return index


def test_search_kb_button_posts_internal_and_public_articles_to_the_thread(
        emulator, settings, store, redis_url, redis_prefix, http_client, mixed_index):
    outbox = SlackOutbox.from_url(redis_url, channel=CHANNEL, prefix=redis_prefix)
    sender = RecordingSender(store)
    handoff = Handoff(store, sender, SlackSink(outbox, store))
    client = make_web_client(settings)
    worker = OutboxWorker(outbox, client, store=store, idle_poll_s=0.1)
    app = build_slack_app(settings, store, handoff, outbox, client=client,
                          search=lambda q: mixed_index.search(q, k=5, audience="agent").passages)
    api = FastAPI()
    api.include_router(make_slack_router(app, signing_secret=settings.slack_signing_secret))
    served = ServedApp(api)
    worker.start()
    try:
        conv = make_conversation(store, "messenger:kb1",
                                 ["My refund is stuck for three weeks, can someone override it?"])
        case_id = escalate(handoff, store, conv, reasons=[Reason.HUMAN_REQUESTED])
        ref = eventually(lambda: outbox.case_ref(case_id), what="case posted")
        message = emulator.message(CHANNEL, ref.ts)
        accessories = [(b.get("accessory") or {}).get("action_id") for b in message["blocks"]]
        assert ACTION_KB_SEARCH in accessories
        body = action_body(ACTION_KB_SEARCH, case_id, "UAGENT9", ref.ts)
        resp = http_client.post(f"{served.url}/slack/interactivity", content=body,
                                headers=slack_headers(body, content_type="application/x-www-form-urlencoded"))
        assert resp.status_code == 200

        def search_post():
            return next((m["text"] for m in emulator.thread(CHANNEL, ref.ts) if "KB search" in m["text"]), None)

        text = eventually(search_post, what="KB search posted in the thread")
        assert "<@UAGENT9>" in text and "Refund override procedure" in text
        assert "internal: for agents, do not quote" in text
        assert "OVR-5531" in text or "Use the override" in text  # the agent may read it
        assert sender.outbox(conv.id) == []  # nothing went to the customer
    finally:
        worker.stop()
        served.close()
