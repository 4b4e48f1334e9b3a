"""Socket Mode: with an app token the same app takes events over a WebSocket (no signatures),
wired end to end by build_slack_service."""
from __future__ import annotations

import json

import redis

from agent.conversation import ConversationStatus
from agent.outbound import RecordingSender
from agent.settings import Settings
from connectors.slack.service import build_slack_service
from guardrails.codes import Reason
from tests.emulators.slack_api import SocketModeEmulator
from tests.slack.conftest import CHANNEL, TOKEN, escalate, event_body, eventually, make_conversation


def test_socket_mode_relays_a_thread_reply(emulator, store, redis_url, redis_prefix):
    socket = SocketModeEmulator().start()
    emulator.socket_url = socket.url
    settings = Settings(slack_bot_token=TOKEN, slack_app_token=emulator.app_token, slack_signing_secret=None,
                        slack_channel=CHANNEL, slack_base_url=emulator.url, _env_file=None)
    sender = RecordingSender(store)
    service = build_slack_service(settings, store, sender, prefix=redis_prefix,
                                  redis_client=redis.Redis.from_url(redis_url, decode_responses=True))
    assert service.router() is None  # nothing to mount: Slack connects to us
    service.start()
    try:
        socket.wait_connected()
        conv = make_conversation(store, "instagram:8812", ["Please put me through to a person"],
                                 channel="instagram")
        case_id = escalate(service.handoff, store, conv, reasons=[Reason.HUMAN_REQUESTED])
        ref = eventually(lambda: service.outbox.case_ref(case_id), what="case posted")
        reply = {"type": "message", "user": "UAGENT7", "text": "Hello, I can help with that.",
                 "ts": "1700000001.000200", "thread_ts": ref.ts, "channel": CHANNEL,
                 "event_ts": "1700000001.000200", "channel_type": "channel"}
        body = json.loads(event_body(reply, "EvSOCKET1"))
        socket.send_event(body)
        socket.send_event(body, retry_attempt=1)  # Slack redelivers: acked, not resent
        sent = eventually(lambda: sender.outbox(conv.id), what="reply relayed")
        eventually(lambda: store.get(conv.id).status == ConversationStatus.HUMAN, what="claimed by reply")
        assert [m.text for m in sender.outbox(conv.id)] == ["Hello, I can help with that."]
        assert sent[0].channel == "instagram"
    finally:
        service.stop()
        socket.stop()
