"""The one WebClient the Slack side uses: pointed at settings.slack_base_url, no retry handlers.

Retrying belongs to the outbox worker alone (backoff, Retry-After, no double posts); a
client that also retried would double every wait and could post twice.
"""
from __future__ import annotations

from slack_sdk import WebClient

from agent.settings import Settings

TIMEOUT_S = 10


class SlackConfigError(ValueError):
    """Slack settings that cannot work; the message names the variable to set."""


def make_web_client(settings: Settings) -> WebClient:
    if not settings.slack_bot_token:
        raise SlackConfigError("Slack is not configured: set CONCIERGE_SLACK_BOT_TOKEN (xoxb-...)")
    return WebClient(token=settings.slack_bot_token, base_url=settings.slack_base_url,
                     timeout=TIMEOUT_S, retry_handlers=[])
