"""FastAPI routes for Slack over HTTP: POST /slack/events and POST /slack/interactivity.

The v0 signature and its 5-minute window are checked here, on the raw bytes, before Bolt
parses anything: Bolt decodes and json-loads the body first, so junk from anyone would be a
500. Bolt's sync dispatch (its own signature check, auth, ack) then runs in the thread pool
so a slow Redis or auth.test never blocks the event loop that serves the platforms' webhooks.
"""
from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response
from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.concurrency import run_in_threadpool

from agent.settings import Settings
from agent.store import ConversationStore
from connectors.signatures import slack_request_valid

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 1024 * 1024  # Slack's payloads are a few KB; refuse before reading a flood

# What Bolt raises on a body it cannot parse (a JSON array, a `user` that is not an object ...)
_MALFORMED = (ValueError, TypeError, AttributeError, KeyError, IndexError)


def _text(status: int, body: str) -> Response:
    return Response(body, status_code=status, media_type="text/plain")


def make_slack_router(bolt_app: App | Settings, store: ConversationStore | None = None, *,
                      signing_secret: str | None = None) -> APIRouter:
    """Routes for the Events API and interactivity (point both Slack URLs at this app).

    Given Settings (and the store) instead of a Bolt app, the process's SlackService is built
    and started (see wiring.slack_service); in Socket Mode the router is then empty. Given a
    Bolt app, pass the signing secret it was built with.
    """
    router = APIRouter(tags=["slack"])
    if isinstance(bolt_app, Settings):
        if store is None:
            raise TypeError("make_slack_router(settings, store=...) needs the conversation store")
        from connectors.slack.wiring import slack_service

        signing_secret = bolt_app.slack_signing_secret
        service = slack_service(bolt_app, store)
        if service.socket_mode:
            return router
        bolt_app = service.app
    if not signing_secret:
        raise TypeError("make_slack_router needs the signing secret to verify Slack's requests")
    app: App = bolt_app
    secret: str = signing_secret

    async def dispatch(request: Request) -> Response:
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > MAX_BODY_BYTES:
            return _text(413, f"body too large: limit {MAX_BODY_BYTES} bytes")
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return _text(413, f"body too large: limit {MAX_BODY_BYTES} bytes")
        if not slack_request_valid(body, request.headers.get("x-slack-request-timestamp"),
                                   request.headers.get("x-slack-signature"), secret):
            return _text(401, "signature missing, invalid or outside the 5-minute window")
        try:
            bolt_req = to_bolt_request(request, body)
        except UnicodeDecodeError:
            return _text(400, "body is not valid UTF-8")
        except _MALFORMED as exc:
            return _text(400, f"malformed Slack request: {type(exc).__name__}")
        try:
            bolt_resp = await run_in_threadpool(app.dispatch, bolt_req)
        except _MALFORMED as exc:  # signed, so from Slack, yet not a shape Bolt understands
            log.warning("slack: unreadable signed request: %s", type(exc).__name__)
            return _text(400, f"malformed Slack request: {type(exc).__name__}")
        return to_starlette_response(bolt_resp)

    router.add_api_route("/slack/events", dispatch, methods=["POST"], include_in_schema=False)
    router.add_api_route("/slack/interactivity", dispatch, methods=["POST"], include_in_schema=False)
    return router
