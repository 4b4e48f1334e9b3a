"""SlackService: everything the Slack side needs, wired once (outbox, sink, handoff, app, worker).

    service = build_slack_service(settings, store, sender)
    engine = build_engine(settings, store=store, sink=service.sink, sender=sender)
    app.include_router(service.router())   # HTTP mode (None in Socket Mode)
    service.start()  ...  service.stop()
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import redis
from fastapi import APIRouter
from slack_bolt import App
from slack_sdk import WebClient

from agent.escalation import Handoff
from agent.outbound import Sender
from agent.settings import Settings
from agent.store import ConversationStore
from connectors.slack.bolt_app import build_slack_app
from connectors.slack.client import SlackConfigError, make_web_client
from connectors.slack.outbox import SlackOutbox
from connectors.slack.routes import make_slack_router
from connectors.slack.sink import SlackSink
from connectors.slack.socket_mode import connect_socket_mode
from connectors.slack.worker import OutboxWorker


@dataclass
class SlackService:
    settings: Settings
    outbox: SlackOutbox
    sink: SlackSink
    handoff: Handoff
    client: WebClient
    app: App
    worker: OutboxWorker
    _socket: Any = field(default=None, repr=False)

    @property
    def socket_mode(self) -> bool:
        return bool(self.settings.slack_app_token)

    def router(self) -> APIRouter | None:
        """Routes for HTTP mode; None in Socket Mode (Slack connects to us over a WebSocket)."""
        return None if self.socket_mode else make_slack_router(
            self.app, signing_secret=self.settings.slack_signing_secret)

    def start(self, *, worker: bool = True) -> None:
        """Start the outbox worker thread and, in Socket Mode, the WebSocket connection."""
        if worker:
            self.worker.start()
        if self.socket_mode and self._socket is None:
            self._socket = connect_socket_mode(self.app, self.settings.slack_app_token)

    def stop(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        self.worker.stop()


def build_slack_service(settings: Settings, store: ConversationStore, sender: Sender, *,
                        redis_client: redis.Redis | None = None, prefix: str | None = None) -> SlackService:
    """Wire the Slack side from settings; needs Redis (the outbox) and a channel id.

    redis_client must use decode_responses=True; prefix defaults to the store's "concierge:".
    """
    if redis_client is None and not settings.redis_url:
        raise SlackConfigError("Slack escalation needs Redis for its outbox: set CONCIERGE_REDIS_URL")
    if not settings.slack_channel:
        raise SlackConfigError("set CONCIERGE_SLACK_CHANNEL to the channel id where cases are posted")
    prefix = prefix or settings.redis_prefix or "concierge:"
    outbox = (SlackOutbox(redis_client, channel=settings.slack_channel, prefix=prefix) if redis_client
              else SlackOutbox.from_url(settings.redis_url or "", channel=settings.slack_channel,
                                        prefix=prefix))
    sink = SlackSink(outbox, store)
    handoff = Handoff(store, sender, sink)
    client = make_web_client(settings)
    app = build_slack_app(settings, store, handoff, outbox, client=client)
    worker = OutboxWorker(outbox, client, store=store)
    return SlackService(settings=settings, outbox=outbox, sink=sink, handoff=handoff, client=client,
                        app=app, worker=worker)
