"""FastAPI routes for Slack over HTTP: POST /slack/events and POST /slack/interactivity.

Bolt's sync dispatch (signature check, auth, ack) runs in the thread pool so a slow Redis
or auth.test never blocks the event loop that serves the platforms' webhooks.
"""
from __future__ import annotations

from fastapi import APIRouter, Request, Response
from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.concurrency import run_in_threadpool

from agent.settings import Settings
from agent.store import ConversationStore


def make_slack_router(bolt_app: App | Settings, store: ConversationStore | None = None) -> APIRouter:
    """Routes for the Events API and interactivity (point both Slack URLs at this app).

    Given Settings (and the store) instead of a Bolt app, the process's SlackService is built
    and started (see wiring.slack_service); in Socket Mode the router is then empty.
    """
    router = APIRouter(tags=["slack"])
    if isinstance(bolt_app, Settings):
        if store is None:
            raise TypeError("make_slack_router(settings, store=...) needs the conversation store")
        from connectors.slack.wiring import slack_service

        service = slack_service(bolt_app, store)
        if service.socket_mode:
            return router
        bolt_app = service.app
    app: App = bolt_app

    async def dispatch(request: Request) -> Response:
        body = await request.body()
        bolt_resp = await run_in_threadpool(app.dispatch, to_bolt_request(request, body))
        return to_starlette_response(bolt_resp)

    router.add_api_route("/slack/events", dispatch, methods=["POST"], include_in_schema=False)
    router.add_api_route("/slack/interactivity", dispatch, methods=["POST"], include_in_schema=False)
    return router
