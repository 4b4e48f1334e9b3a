"""Socket Mode runner: Slack events over a WebSocket (no public URL, no signatures to check)."""
from __future__ import annotations

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler

from connectors.slack.client import SlackConfigError


def connect_socket_mode(bolt_app: App, app_token: str | None) -> SocketModeHandler:
    """Open the Socket Mode connection in background threads; call .close() to stop."""
    if not app_token or not app_token.startswith("xapp-"):
        raise SlackConfigError("Socket Mode needs an app-level token: set CONCIERGE_SLACK_APP_TOKEN "
                               "to the xapp-... token (Basic Information > App-Level Tokens)")
    handler = SocketModeHandler(bolt_app, app_token)
    handler.connect()
    return handler


def run_socket_mode(bolt_app: App, app_token: str | None) -> None:
    """Block serving Socket Mode until the process is stopped."""
    import threading

    connect_socket_mode(bolt_app, app_token)
    threading.Event().wait()
