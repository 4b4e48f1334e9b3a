"""The slack-bolt App for human agents: case buttons and replies in case threads.

Bolt verifies signatures (v0, 5-minute window) and answers url_verification in HTTP mode;
in Socket Mode there is nothing to verify. Listeners only touch the store and the outbox:
whatever they have to say in Slack is queued, never posted inline.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient

from agent.conversation import Conversation
from agent.escalation import Handoff, HandoffError
from agent.settings import Settings
from agent.store import ConversationStore
from connectors.slack import blocks as bk
from connectors.slack.client import SlackConfigError, make_web_client
from connectors.slack.outbox import SlackOutbox
from connectors.slack.sink import SlackSink
from connectors.slack.text import is_internal_note, slack_to_plain

from retrieval.passage import Passage

log = logging.getLogger(__name__)

EVENT_DEDUPE_TTL_S = 3600  # Slack retries an event for about 5 minutes
ACTION_VERBS = {bk.ACTION_CLAIM: "claim", bk.ACTION_RESOLVE: "resolve", bk.ACTION_RETURN: "return to bot"}
# Message subtypes a human writes; edits, deletions, joins and bot messages are not replies.
HUMAN_SUBTYPES = frozenset({None, "thread_broadcast", "file_share"})


def build_slack_app(settings: Settings, store: ConversationStore, handoff: Handoff, outbox: SlackOutbox,
                    *, client: WebClient | None = None, process_before_response: bool = False,
                    search: Callable[[str], Sequence[Passage]] | None = None) -> App:
    """The Bolt app. Socket Mode when settings.slack_app_token is set, else HTTP (needs the
    signing secret). The token is checked lazily, so the app starts even while Slack is down.

    search: the agent-side KB search behind the case message's "Search KB" button (public and
    internal articles); by default the configured index, opened on the first click."""
    socket_mode = bool(settings.slack_app_token)
    if not socket_mode and not settings.slack_signing_secret:
        raise SlackConfigError("Slack over HTTP needs CONCIERGE_SLACK_SIGNING_SECRET (Basic Information > "
                               "App Credentials), or set CONCIERGE_SLACK_APP_TOKEN (xapp-...) for Socket Mode")
    app = App(client=client or make_web_client(settings),
              signing_secret=settings.slack_signing_secret or "",
              token_verification_enabled=False,
              process_before_response=process_before_response,
              name="concierge-slack")
    sink = SlackSink(outbox, store)

    def announce(conv: Conversation) -> None:
        # Handoff tells its own sink; only a Handoff built without one needs us to do it.
        if handoff.sink is None:
            sink.case_updated(conv)

    @app.middleware
    def drop_event_retries(body: dict[str, Any], next: Callable[[], None]) -> BoltResponse | None:  # noqa: A002
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and store.seen(f"slack:event:{event_id}", EVENT_DEDUPE_TTL_S):
            return BoltResponse(status=200, body="")  # a retry of an event we already took
        next()
        return None

    def on_button(ack: Callable[..., None], body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        case_id = str(action.get("value") or "")
        user = (body.get("user") or {}).get("id") or "unknown"
        action_id = action.get("action_id", "")
        try:
            if action_id == bk.ACTION_CLAIM:
                conv = handoff.claim(case_id, user)
            elif action_id == bk.ACTION_RESOLVE:
                conv = handoff.resolve(case_id, user)
            else:
                conv = handoff.return_to_bot(case_id, user)
        except HandoffError as exc:
            log.info("slack: %s on %s refused: %s", action_id, case_id, exc)
            if outbox.knows(case_id):
                outbox.thread_post(case_id, bk.agent_note(
                    user, f"could not {ACTION_VERBS.get(action_id, action_id)}: {exc}"))
            return
        announce(conv)

    for action_id in bk.CASE_ACTIONS:
        app.action(action_id)(on_button)

    searcher: list[Callable[[str], Sequence[Passage]]] = [search] if search is not None else []

    @app.action(bk.ACTION_KB_SEARCH)
    def on_kb_search(ack: Callable[..., None], body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        case_id = str(action.get("value") or "")
        user = (body.get("user") or {}).get("id") or "unknown"
        packet = store.packet(case_id)
        if packet is None:
            return
        conv = store.get(packet.conversation_id)
        said = [t.text for t in (conv.turns if conv is not None else []) if t.role == "user" and t.text]
        query = said[-1] if said else packet.summary  # stored redacted, as the packet is
        try:
            if not searcher:
                searcher.append(_index_search(settings))
            passages = list(searcher[0](query))
        except Exception as exc:  # noqa: BLE001 - say so in the thread, never fail the click
            log.warning("slack: KB search on %s failed: %s", case_id, exc)
            outbox.thread_post(case_id, bk.agent_note(user, f"KB search failed ({type(exc).__name__})"))
            return
        outbox.thread_post(case_id, bk.kb_search_post(user, query, passages))

    @app.event("message")
    def on_message(event: dict[str, Any]) -> None:
        thread_ts, ts = event.get("thread_ts"), event.get("ts")
        if event.get("subtype") not in HUMAN_SUBTYPES or event.get("bot_id") or not event.get("user"):
            return
        if not thread_ts or thread_ts == ts:
            return  # top-level chatter in the channel, not a reply to a case
        channel = event.get("channel", "")
        case_id = outbox.case_for_thread(channel, thread_ts)
        if case_id is None:
            return  # a thread under some other message
        raw = event.get("text") or ""
        if is_internal_note(raw):
            return
        text = slack_to_plain(raw)
        user = event["user"]
        try:
            # The Slack message ts is stable across event retries: the customer gets it once.
            conv = handoff.agent_reply(case_id, user, text, idempotency_key=f"slack:{channel}:{ts}")
        except HandoffError as exc:
            outbox.thread_post(case_id, bk.agent_note(user, f"not sent to the customer: {exc}"))
            return
        except Exception as exc:  # noqa: BLE001 - the platform send failed: say so where the agent looks
            log.warning("slack: reply on %s not delivered: %s", case_id, exc)
            outbox.thread_post(case_id, bk.agent_note(
                user, f"not delivered to the customer ({type(exc).__name__}); send it again"))
            return
        announce(conv)

    return app


def _index_search(settings: Settings) -> Callable[[str], Sequence[Passage]]:
    """The configured index searched as the agent (internal articles included, marked)."""
    from agent.factory import build_index, make_embedder

    index = build_index(settings, make_embedder(settings))
    return lambda query: index.search(query, k=5, audience="agent").passages
