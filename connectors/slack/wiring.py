"""One SlackService per process, built from Settings, for callers that only hold settings
(connectors.app's make_sink / _slack_router). Its outbox worker (and, with an app token,
the Socket Mode connection) start once, the first time it is asked for."""
from __future__ import annotations

import threading
from typing import Any

from agent.outbound import Sender
from agent.settings import Settings
from agent.store import ConversationStore
from connectors.slack.client import SlackConfigError
from connectors.slack.service import SlackService, build_slack_service

_services: dict[tuple[Any, ...], SlackService] = {}
_mutex = threading.Lock()


def slack_service(settings: Settings, store: ConversationStore, *, sender: Sender | None = None,
                  start: bool = True) -> SlackService:
    """The process's SlackService for these settings (created and started on first use)."""
    if not settings.redis_url:
        raise SlackConfigError("Slack escalation needs Redis for its outbox: set CONCIERGE_REDIS_URL "
                               "(or unset CONCIERGE_SLACK_BOT_TOKEN to keep cases in the local inbox)")
    prefix = getattr(store, "prefix", None) or settings.redis_prefix or "concierge:"
    key = (settings.redis_url, prefix, settings.slack_channel, settings.slack_base_url, id(store))
    with _mutex:
        service = _services.get(key)
        if service is None:
            service = build_slack_service(settings, store, sender or _platform_sender(settings, store, prefix),
                                          prefix=prefix)
            _services[key] = service
        if start:
            service.start()
        return service


def _platform_sender(settings: Settings, store: ConversationStore, prefix: str) -> Sender:
    # Agents' replies go out through the same platform senders (and send ledger) as the bot's.
    import redis

    from connectors.senders import RedisLedger, build_sender

    client = redis.Redis.from_url(settings.redis_url or "", decode_responses=True, socket_connect_timeout=5)
    return build_sender(settings, store, RedisLedger(client, prefix))


def stop_all() -> None:
    """Stop every service this process started (tests, shutdown hooks)."""
    with _mutex:
        for service in _services.values():
            service.stop()
        _services.clear()
