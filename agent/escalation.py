"""Escalation: the context packet for the human agent, the sinks it goes to, and the handoff
state machine over ConversationStatus (bot -> awaiting_human -> human -> resolved / bot).

The store is the source of truth for cases (packet, index, thread lines); sinks (Slack, the
local inbox) are told about changes and may fail without losing the case.
"""
from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol, runtime_checkable

from agent.case_ids import CaseIdError, normalize_case_id
from agent.conversation import Conversation, ConversationStatus, Turn
from agent.outbound import Sender
from agent.packet import ContextPacket, Evidence, KbTried, TranscriptLine
from agent.store import ConversationStore
from agent.summary import split_sentences, summarize_customer, suggest_reply
from guardrails.codes import PRIORITY_ORDER, Priority, Reason
from guardrails.verdict import Verdict
from retrieval.passage import Passage

log = logging.getLogger(__name__)

OPEN_STATUSES = frozenset({ConversationStatus.AWAITING_HUMAN, ConversationStatus.HUMAN})
MAX_TRANSCRIPT = 50  # the latest turns; older ones are in the conversation itself
MAX_WORDS_CHARS = 80
TREND_DELTA = 0.15  # VADER compound change that counts as a real shift in mood


def _now() -> datetime:
    return datetime.now(timezone.utc)


# --- errors ----------------------------------------------------------------------------
class HandoffError(Exception):
    """A handoff action that cannot be done; the message says why and what to do."""


class CaseNotFound(HandoffError, LookupError):
    pass


class InvalidTransition(HandoffError):
    pass


# --- redaction (defence in depth: the engine already stores redacted text) --------------
def _redact_text(text: str) -> str:
    try:
        from guardrails.pii import redact
    except ModuleNotFoundError:  # guardrails.pii not installed yet: text is already redacted
        return text
    return redact(text).text


def _strip_values(data: Any, values: Sequence[str]) -> Any:
    """Replace any known PII value left anywhere in a JSON-like structure."""
    if isinstance(data, str):
        for value in values:
            if value and value in data:
                data = data.replace(value, "[REDACTED]")
        return data
    if isinstance(data, list):
        return [_strip_values(x, values) for x in data]
    if isinstance(data, dict):
        return {k: _strip_values(v, values) for k, v in data.items()}
    return data


# --- packet ------------------------------------------------------------------------------
def sentiment_trend(trail: Sequence[float]) -> str | None:
    """'improving' | 'steady' | 'worsening' from the per-turn sentiment trail; None if too short."""
    if len(trail) < 2:
        return None
    recent = trail[-2:] if len(trail) >= 4 else trail[-1:]
    earlier = trail[: len(trail) - len(recent)]
    delta = sum(recent) / len(recent) - sum(earlier) / len(earlier)
    if delta >= TREND_DELTA:
        return "improving"
    if delta <= -TREND_DELTA:
        return "worsening"
    return "steady"


def _words_at(text: str, start: int, end: int) -> str:
    """The whole words around [start, end) of text."""
    if not (0 <= start < end <= len(text)):
        return ""
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    while end < len(text) and not text[end].isspace():
        end += 1
    return text[start:end].strip(" ,.;:!?")


def _reason_for(verdict: Verdict, reasons: Sequence[Reason]) -> Reason:
    if verdict.check == "pii":
        return Reason.SENSITIVE_DATA
    try:
        return Reason(verdict.category)
    except ValueError:
        return reasons[0] if reasons else Reason.OTHER


def evidence_from(verdicts: Sequence[Verdict | Evidence], reasons: Sequence[Reason],
                  source_text: str = "") -> list[Evidence]:
    """Evidence lines for the fired checks: check, score and the redacted words, never values."""
    out: list[Evidence] = []
    for v in verdicts:
        if isinstance(v, Evidence):
            out.append(v.model_copy(update={"words": _redact_text(v.words)}))
            continue
        if not v.triggered:
            continue
        if v.check == "pii":
            if Reason.SENSITIVE_DATA not in reasons:
                continue  # personal data alone did not cause this escalation; pii_kinds lists it
            kinds = sorted({s.kind for s in v.spans} or {v.category})
            words = " ".join(f"[{k.upper()}]" for k in kinds)
        else:
            found = [_words_at(source_text, s.start, s.end) for s in v.spans]
            words = ", ".join(dict.fromkeys(w for w in found if w)) or v.reason
        words = _redact_text(words)[:MAX_WORDS_CHARS]
        out.append(Evidence(reason=_reason_for(v, reasons), check=v.check,
                            score=round(float(v.score), 4), words=words))
    return out


def _kb_tried(passages: Sequence[Passage]) -> list[KbTried]:
    best: dict[str, KbTried] = {}
    for p in passages:
        if p.doc_id not in best or p.score > best[p.doc_id].score:
            best[p.doc_id] = KbTried(doc_id=p.doc_id, title=p.title, url=p.url,
                                     score=round(float(p.score), 4), internal=p.internal)
    return sorted(best.values(), key=lambda k: -k.score)


def _quotes_internal(reply: str | None, passages: Sequence[Passage]) -> bool:
    """Whether a draft built from passages took a sentence from an internal one."""
    if not reply:
        return False
    return any(s in reply for p in passages if p.internal for s in split_sentences(p.text) if len(s) >= 20)


def _last_bot_answer(conv: Conversation) -> str | None:
    for turn in reversed(conv.turns):
        if turn.role == "bot" and turn.action in (None, "answer", "clarify"):
            return turn.text
    return None


def build_packet(
    conv: Conversation,
    *,
    reasons: Sequence[Reason],
    priority: Priority,
    sla_minutes: int,
    evidence: Sequence[Verdict | Evidence] = (),
    passages: Sequence[Passage] = (),
    attempted_answer: str | None = None,
    suggested_reply: str | None = None,
    summary: str | None = None,
    intent: str | None = None,
    public: bool = False,
    case_id: str | None = None,
    pii_values: Sequence[str] = (),
    now: datetime | None = None,
    language: str | None = None,
) -> ContextPacket:
    """Everything a human needs to take the case over without asking the customer again.

    Text comes from conv's (redacted) turns; pii_values, if given, are scrubbed from every field.
    """
    case = case_id or conv.case_id
    if not case:
        raise ValueError("build_packet needs a case id: set conv.case_id (store.next_case_id())")
    created = now or _now()
    user_texts = [t.text for t in conv.turns if t.role == "user"]
    latest_user = user_texts[-1] if user_texts else ""
    if suggested_reply is None and passages:
        suggested_reply = suggest_reply(" ".join(user_texts[-3:]), passages)
    packet = ContextPacket(
        case_id=case,
        priority=priority,
        reasons=list(dict.fromkeys(reasons)) or [Reason.OTHER],
        evidence=evidence_from(evidence, list(reasons), latest_user),
        summary=_redact_text(summary if summary is not None else summarize_customer(user_texts)),
        customer_id=conv.customer_id,
        customer_handle=conv.customer_handle,
        platform=conv.platform,
        channel=str(conv.channel),
        public=public,
        link=conv.link,
        intent=intent,
        sentiment=round(conv.sentiment[-1], 4) if conv.sentiment else None,
        sentiment_trend=sentiment_trend(conv.sentiment),
        transcript=[TranscriptLine(role=t.role, text=_redact_text(t.text), at=t.at)
                    for t in conv.turns[-MAX_TRANSCRIPT:] if t.text.strip()],
        kb_tried=_kb_tried(passages),
        attempted_answer=_redact_text(attempted_answer) if attempted_answer is not None
        else _last_bot_answer(conv),
        suggested_reply=suggested_reply,
        suggested_reply_internal=_quotes_internal(suggested_reply, passages),
        pii_kinds=sorted(set(conv.pii_kinds)),
        language=language,
        conversation_id=conv.id,
        created_at=created,
        sla_due_at=created + timedelta(minutes=sla_minutes),
    )
    if pii_values:
        packet = ContextPacket.model_validate(
            _strip_values(packet.model_dump(mode="json"), list(pii_values)))
    return packet


def escalation_message(case_id: str, *, hours_text: str | None = None, public: bool = False) -> str:
    """What the customer is told on handoff: the case number and what happens next.

    hours_text is the team's hours as the KB states them (found by the engine); never invented.
    """
    if public:
        return (f"Thanks for flagging this. We've opened case {case_id} and a member of our team "
                f"will follow up. Please send us a private message so we can help with the details.")
    text = (f"I've passed this to our support team. Your case number is {case_id}. A member of the "
            f"team will reply here in this conversation and can see what you've told me, so you "
            f"won't need to repeat it.")
    hours = (hours_text or "").strip()
    if hours:
        if len(hours.split()) > 3 and hours[-1] in ".!?":
            text += " " + hours
        else:
            text += f" Our team's hours: {hours.rstrip('.')}."
    return text


# --- sinks --------------------------------------------------------------------------------
@runtime_checkable
class EscalationSink(Protocol):
    def open_case(self, packet: ContextPacket, conv: Conversation) -> None:
        """A new (or reopened) case: post the packet where humans see it."""

    def customer_message(self, conv: Conversation, text_redacted: str) -> None:
        """The customer wrote while the case is with humans: add it to the case thread."""

    def case_updated(self, conv: Conversation) -> None:
        """Status or assignee changed (claimed, resolved, returned to bot, agent replied)."""


class LocalInbox:
    """The embedded sink (no Slack): cases stay in the store for `concierge escalations`;
    this keeps the notifications of this process for a chat UI or an eval to read."""

    def __init__(self, store: ConversationStore) -> None:
        self.store = store
        self.opened: list[str] = []
        self.messages: list[tuple[str, str]] = []  # (case id, redacted text)
        self.updates: list[tuple[str, str]] = []  # (case id, status)

    def open_case(self, packet: ContextPacket, conv: Conversation) -> None:
        if self.store.packet(packet.case_id) is None:
            self.store.save_packet(packet)
        self.opened.append(packet.case_id)

    def customer_message(self, conv: Conversation, text_redacted: str) -> None:
        self.messages.append((conv.case_id or "", text_redacted))

    def case_updated(self, conv: Conversation) -> None:
        self.updates.append((conv.case_id or "", str(conv.status)))


# --- handoff state machine ------------------------------------------------------------------
def case_status(events: Sequence[dict[str, Any]]) -> str | None:
    """The last status a case's thread recorded."""
    for event in reversed(events):
        if event.get("status"):
            return str(event["status"])
    return None


class Handoff:
    """Moves a conversation between the bot and humans and keeps the case record in the store."""

    def __init__(self, store: ConversationStore, sender: Sender,
                 sink: EscalationSink | None = None, *, lock_timeout_s: float = 10.0) -> None:
        self.store = store
        self.sender = sender
        self.sink = sink
        self.lock_timeout_s = lock_timeout_s

    # -- bot side (the engine calls these while holding the conversation lock) --
    def escalate(self, conv: Conversation, *, reasons: Sequence[Reason], priority: Priority,
                 sla_minutes: int, **packet_fields: Any) -> ContextPacket:
        """Open (or reopen) conv's case, save conv as awaiting_human, and tell the sink.

        Call with the conversation lock held; conv is updated in place and saved.
        The case number is kept for the conversation until the case is resolved.
        """
        previous = self.store.packet(conv.case_id) if conv.case_id else None
        prior_status = case_status(self.store.case_events(conv.case_id)) if conv.case_id else None
        reuse = conv.case_id is not None and prior_status != ConversationStatus.RESOLVED
        case_id = conv.case_id if reuse and conv.case_id else self.store.next_case_id()
        already_open = reuse and conv.status in OPEN_STATUSES
        packet = build_packet(conv, reasons=reasons, priority=priority, sla_minutes=sla_minutes,
                              case_id=case_id, **packet_fields)
        if already_open and previous is not None:  # same case still waiting: keep its clock
            # ... unless the new message raises it (a crisis while waiting): the higher priority
            # and the earlier deadline win, so the case jumps the queue.
            raised = PRIORITY_ORDER[packet.priority] > PRIORITY_ORDER[previous.priority]
            packet = packet.model_copy(update={
                "created_at": previous.created_at,
                "sla_due_at": min(previous.sla_due_at, packet.sla_due_at) if raised else previous.sla_due_at,
                "priority": packet.priority if raised else previous.priority,
                "reasons": list(dict.fromkeys([*packet.reasons, *previous.reasons] if raised
                                              else [*previous.reasons, *packet.reasons]))})
        conv.case_id = case_id
        if not already_open:
            conv.status = ConversationStatus.AWAITING_HUMAN
            conv.assignee = None
        conv.updated_at = _now()
        self.store.save(conv)
        self.store.save_packet(packet)
        self.store.index_case(case_id, conv.id)
        kind = "updated" if already_open else ("reopened" if previous is not None else "opened")
        self._event(case_id, kind, None, status=conv.status,
                    text=", ".join(str(r) for r in packet.reasons))
        self._notify("open_case", case_id, packet, conv)
        return packet

    def relay(self, conv: Conversation, text_redacted: str) -> None:
        """A customer message while the case is with humans: add it to the case thread."""
        if conv.case_id:
            self._event(conv.case_id, "customer", None, text=text_redacted)
        self._notify("customer_message", conv.case_id, conv, text_redacted)

    # -- human side --
    def claim(self, case_id: str, agent: str) -> Conversation:
        """An agent takes the case: status human, assignee set (another agent may take it over)."""
        def apply(conv: Conversation) -> str:
            before = conv.assignee
            conv.status = ConversationStatus.HUMAN
            conv.assignee = agent
            return f"took over from {before}" if before and before != agent else ""
        return self._transition(case_id, agent, "claimed", apply)

    def agent_reply(self, case_id: str, agent: str, text: str, *,
                    idempotency_key: str | None = None) -> Conversation:
        """Send an agent's message to the customer and record it; replying also claims the case.

        The same idempotency_key (e.g. the Slack event id) never sends or records twice.
        """
        if not text.strip():
            raise HandoffError("the reply is empty; write the message to send to the customer")
        key = idempotency_key or uuid.uuid4().hex

        def apply(conv: Conversation) -> str | None:
            if any(t.role == "agent" and t.message_id == key for t in conv.turns):
                return None  # a retry of a reply already sent and recorded
            if conv.assignee is None or conv.status == ConversationStatus.AWAITING_HUMAN:
                conv.assignee = agent
            conv.status = ConversationStatus.HUMAN
            self.sender.send(conv, text, idempotency_key=key)
            # The raw text went to the customer; what we keep is redacted like every turn.
            redacted = _redact_text(text)
            conv.turns.append(Turn(role="agent", text=redacted, message_id=key))
            return redacted
        return self._transition(case_id, agent, "agent", apply)

    def resolve(self, case_id: str, agent: str) -> Conversation:
        """Close the case; the bot answers the customer's next message."""
        def apply(conv: Conversation) -> str:
            conv.status = ConversationStatus.RESOLVED
            conv.unanswered_turns = 0
            conv.clarifications = 0
            return ""
        return self._transition(case_id, agent, "resolved", apply, close=True)

    def return_to_bot(self, case_id: str, agent: str) -> Conversation:
        """Hand the conversation back to the bot without resolving; the case number is kept."""
        def apply(conv: Conversation) -> str:
            conv.status = ConversationStatus.BOT
            conv.assignee = None
            conv.unanswered_turns = 0
            conv.clarifications = 0
            return ""
        return self._transition(case_id, agent, "returned", apply, close=True)

    # -- plumbing --
    def _find(self, case_id: str) -> tuple[str, str]:
        try:
            case = normalize_case_id(case_id)
        except CaseIdError as exc:
            raise CaseNotFound(str(exc)) from exc
        key = self.store.find_case(case)
        if key is None:
            raise CaseNotFound(f"no case {case}; `concierge escalations --all` lists the cases")
        return case, key

    def _transition(self, case_id: str, agent: str, kind: str,
                    apply: Callable[[Conversation], str | None], *, close: bool = False
                    ) -> Conversation:
        case, key = self._find(case_id)
        with self.store.lock(key, timeout_s=self.lock_timeout_s):
            conv = self.store.get(key)
            if conv is None:
                raise CaseNotFound(f"case {case}: its conversation has expired from the store")
            if conv.case_id != case:
                raise InvalidTransition(
                    f"case {case} is closed; this conversation is now case {conv.case_id}")
            if conv.status not in OPEN_STATUSES:
                state = ("already resolved" if conv.status == ConversationStatus.RESOLVED
                         else "back with the bot")
                raise InvalidTransition(
                    f"case {case} is {state}; it reopens when the customer is escalated again")
            note = apply(conv)
            if note is None:
                return conv
            conv.updated_at = _now()
            self.store.save(conv)
        if close:
            self.store.close_case(case)
        self._event(case, kind, agent, status=conv.status, text=note or None)
        self._notify("case_updated", case, conv)
        return conv

    def _event(self, case_id: str, kind: str, actor: str | None, *, status: Any = None,
               text: str | None = None) -> None:
        event: dict[str, Any] = {"at": _now().isoformat(), "kind": kind}
        if actor:
            event["actor"] = actor
        if status is not None:
            event["status"] = str(status)
        if text:
            event["text"] = text
        self.store.append_case_event(case_id, event)

    def _notify(self, method: str, case_id: str | None, *args: Any) -> None:
        if self.sink is None:
            return
        try:
            getattr(self.sink, method)(*args)
        except Exception as exc:  # noqa: BLE001 - the case is safe in the store; the sink can catch up
            log.warning("escalation sink %s failed for case %s: %s", method, case_id,
                        type(exc).__name__)
