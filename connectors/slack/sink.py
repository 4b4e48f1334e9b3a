"""SlackSink: the EscalationSink that puts cases in Slack, by way of the outbox.

Every method only enqueues (Redis), so the engine never waits on Slack and a Slack outage
loses nothing: the worker delivers when Slack is back.
"""
from __future__ import annotations

import logging
from datetime import datetime

from agent.conversation import Conversation
from agent.packet import ContextPacket, TranscriptLine
from agent.settings import Settings
from agent.store import ConversationStore
from connectors.slack import blocks as bk
from connectors.slack.outbox import SlackOutbox

log = logging.getLogger(__name__)


def _state(status: str, assignee: str | None) -> str:
    return f"{status}|{assignee or ''}"


class SlackSink:
    """EscalationSink: open_case / customer_message / case_updated, all queued in the outbox."""

    def __init__(self, outbox: SlackOutbox | Settings, store: ConversationStore | None = None) -> None:
        if isinstance(outbox, Settings):
            # Built from settings (connectors.app.make_sink): use the process's SlackService,
            # whose worker delivers what this sink queues.
            if store is None:
                raise TypeError("SlackSink(settings, store=...) needs the conversation store")
            from connectors.slack.wiring import slack_service

            outbox = slack_service(outbox, store).outbox
        self.outbox = outbox
        self.store = store  # to post a case first opened elsewhere (e.g. before Slack was set up)

    def open_case(self, packet: ContextPacket, conv: Conversation) -> None:
        case_id = packet.case_id
        previous = self.outbox.packet(case_id)
        if previous is None:
            self.outbox.post_case(packet, bk.transcript_posts(packet))
            self.outbox.last_state(case_id, _state(str(conv.status), conv.assignee))
            return
        # The same case again (escalated anew while open, or reopened after "return to bot"):
        # refresh the message and add what the thread has not seen yet.
        self.outbox.replace_packet(packet)
        reasons = ", ".join(str(r) for r in packet.reasons)
        self.outbox.thread_post(case_id, bk.note_post(f"Escalated again ({reasons})."))
        newer = _newer_lines(packet.transcript, _last_at(previous.transcript))
        if newer:
            for post in bk.transcript_posts(packet.model_copy(update={"transcript": newer})):
                self.outbox.thread_post(case_id, post)
        self.case_updated(conv)

    def customer_message(self, conv: Conversation, text_redacted: str) -> None:
        if not conv.case_id:
            log.warning("customer message for conversation without a case; not sent to Slack")
            return
        self._ensure_posted(conv)
        self.outbox.thread_post(conv.case_id, bk.customer_post(text_redacted))

    def case_updated(self, conv: Conversation) -> None:
        if not conv.case_id:
            return
        self._ensure_posted(conv)
        status = str(conv.status)
        state = _state(status, conv.assignee)
        if self.outbox.last_state(conv.case_id, state) == state:
            return  # nothing a human would see changed (e.g. another reply by the same agent)
        self.outbox.update_case(conv.case_id, status, conv.assignee)
        self.outbox.thread_post(conv.case_id, bk.status_post(status, conv.assignee))

    def _ensure_posted(self, conv: Conversation) -> None:
        case_id = conv.case_id
        if case_id is None or self.outbox.knows(case_id) or self.store is None:
            return
        packet = self.store.packet(case_id)
        if packet is not None:
            self.outbox.post_case(packet, bk.transcript_posts(packet))


def _last_at(lines: list[TranscriptLine]) -> datetime | None:
    return max((t.at for t in lines), default=None)


def _newer_lines(lines: list[TranscriptLine], after: datetime | None) -> list[TranscriptLine]:
    return list(lines) if after is None else [t for t in lines if t.at > after]
