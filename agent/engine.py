"""The turn engine: one customer message in, one Decision out.

Under a per-conversation lock: load the conversation; relay to the humans if they own it;
input guardrails; policy; conversation-aware retrieval; answerability (clarify once, then
escalate); compose; ground; output checks; format for the channel; persist (redacted).
handle() never raises: odd input gets a clarifying or polite reply.
"""
from __future__ import annotations

import logging
import re
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agent.composers.base import Composed, ComposeRequest, Composer, ComposerError
from agent.composers.extractive import ExtractiveComposer
from agent.conversation import Conversation, ConversationStatus, Turn
from agent.decision import Citation, Decision
from agent.escalation import EscalationSink, Handoff, escalation_message
from agent.formatting import fit_text, format_reply
from agent.messages import InboundMessage
from agent.outbound import RecordingSender, Sender
from agent.packet import ContextPacket
from agent.settings import Settings
from agent.store import ConversationStore, LockTimeout
from guardrails.codes import Action, Priority, Reason
from guardrails.output_checks import check_output
from guardrails.grounding import GroundingResult, check_grounding, split_sentences
from guardrails.input_checks import InputGuard, embed_text
from guardrails.language import crisis_text, follow_up_text
from guardrails.lexicons import courtesy_kind
from guardrails.pii import redact
from guardrails.policy import Policy
from guardrails.report import HistoryItem, InputReport, PolicyOutcome, Redaction
from guardrails.verdict import Verdict
from retrieval.lexical import normalise_query
from retrieval.index import KnowledgeIndex
from retrieval.passage import Passage

log = logging.getLogger(__name__)

HISTORY_USER_TURNS = 3  # previous user turns given to retrieval for follow-ups
GUARD_HISTORY_TURNS = 8
DECISION_CACHE = 4096  # decisions kept in process for exact replay of duplicate deliveries
LOCK_TIMEOUT_S = 15.0
_HOURS_RE = re.compile(
    r"\b(\d{1,2}(:\d{2})?\s?(am|pm|[ap]\.m\.)|\d{1,2}:\d{2}|24/7|around the clock|"
    r"(mon|tues|wednes|thurs|fri|satur|sun)day)\b", re.IGNORECASE)
_HOURS_QUERY = "When is the customer support team available? Opening hours to talk to a person"
# A sentence that states when people answer names them (or the chat they staff).
_PEOPLE_RE = re.compile(r"\b(team|agents?|advisers?|advisors?|staff|people|person|specialists?|"
                        r"representatives?|we are|we're|live chat|chat with us)\b", re.IGNORECASE)

DM_INVITE = ("Thanks for reaching out! This is best handled privately: please send us a direct "
             "message so we can help with the details there.")
# Brand-neutral: the same words serve a shop, a bank or a government office's knowledge base.
DECLINE_TEXT = {
    "abuse": "I'm here to help, but I can't continue with messages like that. If you have a "
             "question about our products, services or your account, I'm happy to help.",
    "manipulation": "I can't help with that request. If you have a question about our products, "
                    "services or your account, I'm happy to help.",
    "default": "I'm sorry, that's not something I can help with here. I can answer questions "
               "about our products, services and your account, or hand you to a person.",
}
EMPTY_TEXT = "Hi! How can I help you today? Tell me a little about your question."
# Small talk gets a reply of its own: it is not a question for the knowledge base, and must not
# count as one the bot failed to answer (a "thanks" after a clarification used to escalate).
COURTESY_TEXT = {
    "greeting": "Hi! What can I help you with today? Ask in your own words, or ask for a person "
                "at any time.",
    "thanks": "You're welcome! Is there anything else I can help with?",
    "goodbye": "Thanks for getting in touch. If anything else comes up, just send us a message here.",
    "yes": "Sure, what would you like to know?",
    "agreed": "Great! Is there anything else I can help with?",
}
_ASKS_WHAT_ELSE = (COURTESY_TEXT["greeting"], COURTESY_TEXT["thanks"], COURTESY_TEXT["agreed"])
ATTACHMENT_TEXT = ("Thanks! I can only read text at the moment. Could you describe what you need "
                   "help with in a few words?")
ERROR_TEXT = ("Sorry, something went wrong on my side. Could you send your message again in a "
              "moment? If it's urgent, ask for a person and I'll hand you over.")
BUSY_TEXT = "I'm still working on your previous message; I'll answer that first."
CRISIS_TEXT = ("If you or someone else is in immediate danger, please contact your local "
               "emergency number right away.")


@dataclass
class _Turn:
    """Everything the engine learns about one turn, before it becomes a Decision."""

    msg: InboundMessage
    text: str  # sanitised original text (in memory only)
    redaction: Redaction
    started: float
    note: str = ""
    report: InputReport | None = None
    verdicts: list[Verdict] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    answerability: float | None = None


def sanitise(text: Any, max_chars: int) -> tuple[str, str]:
    """Text safe to process: valid Unicode, no control characters, at most max_chars.

    Returns (text, note); the note says what was changed.
    """
    note = ""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    # lone surrogates (broken UTF-16 from some clients) cannot be encoded: replace them
    text = text.encode("utf-8", "replace").decode("utf-8", "replace")
    if len(text) > max_chars:
        note = f"message cut to its first {max_chars} characters"
        text = text[:max_chars]
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")
    return unicodedata.normalize("NFC", text).strip(), note


def _has_words(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


class Engine:
    """The turn pipeline; one instance serves many conversations and threads."""

    def __init__(self, settings: Settings, *, store: ConversationStore, index: KnowledgeIndex, guard: InputGuard,
                 policy: Policy, composer: Composer, sink: EscalationSink | None = None,
                 sender: Sender | None = None,
                 embed: Callable[[list[str]], np.ndarray] | None = None,
                 fallback: Composer | None = None) -> None:
        self.settings = settings
        self.store = store
        self.index = index
        self.guard = guard
        self.policy = policy
        self.composer = composer
        self.sink = sink
        self.embed = embed
        self.fallback = fallback or (composer if isinstance(composer, ExtractiveComposer)
                                     else ExtractiveComposer(embed=embed))
        self.handoff = Handoff(store, sender or RecordingSender(store, role="agent"), sink,
                               lock_timeout_s=LOCK_TIMEOUT_S)
        self._decisions: OrderedDict[tuple[str, str], Decision] = OrderedDict()
        self._decisions_lock = threading.Lock()
        self._hours: str | None | bool = False  # False: not looked up yet
        self._hours_generation: int | None = None  # the KB version the hours came from

    # ------------------------------------------------------------------ public API
    def handle(self, msg: InboundMessage) -> Decision:
        """Decide and record one turn; never raises for bad input or a failing part."""
        started = time.perf_counter()
        try:
            with self.store.lock(msg.conversation_key, timeout_s=LOCK_TIMEOUT_S):
                decision = self._locked_turn(msg, started)
        except LockTimeout:
            decision = Decision(action=Action.CLARIFY, text=BUSY_TEXT, parts=[BUSY_TEXT],
                                composer="template", composer_note="conversation lock timed out")
        except Exception as exc:  # noqa: BLE001 - a turn must end with a reply, whatever broke
            log.exception("turn failed for conversation %s", msg.conversation_key)
            decision = Decision(action=Action.CLARIFY, text=ERROR_TEXT, parts=[ERROR_TEXT],
                                composer="template",
                                composer_note=f"internal error: {type(exc).__name__}")
        decision.conversation_id = msg.conversation_key
        decision.latency_ms = round((time.perf_counter() - started) * 1000, 2)
        return decision

    def prefetch(self, messages: Sequence[InboundMessage]) -> None:
        """Embed the texts of messages about to be handled in one batch: a batch of short texts
        costs far less than one forward pass each, and handle() then finds them in the cache."""
        embed = self.guard.embed
        if embed is None:
            return
        texts = []
        for msg in messages:
            text, _ = sanitise(msg.text, self.settings.max_message_chars)
            if _has_words(text):
                clean = redact(text).text
                # The guard embeds the message as written, retrieval with chat shorthand expanded
                # ("pls" -> "please"): both go in this batch when they differ.
                texts += [embed_text(clean), normalise_query(clean)]
        if texts:
            embed(list(dict.fromkeys(texts)))

    def seed_history(self, msg_template: InboundMessage, history: Sequence[dict[str, str]]) -> None:
        """Start a conversation from turns the bot did not produce (eval `history:`), redacted."""
        with self.store.lock(msg_template.conversation_key, timeout_s=LOCK_TIMEOUT_S):
            conv = self.store.get(msg_template.conversation_key) or self._new_conversation(msg_template)
            for item in history:
                role = str(item.get("role", "user"))
                role = role if role in ("user", "bot", "agent") else "user"
                text, _ = sanitise(item.get("text", ""), self.settings.max_message_chars)
                red = redact(text)
                conv.turns.append(Turn(role=role, text=red.text))
                if role == "user":
                    _merge_kinds(conv, red.kinds)
            self.store.save(conv)

    def conversation(self, key: str) -> Conversation | None:
        return self.store.get(key)

    def packet(self, case_id: str) -> ContextPacket | None:
        return self.store.packet(case_id)

    # ------------------------------------------------------------------ the turn
    def _locked_turn(self, msg: InboundMessage, started: float) -> Decision:
        key = msg.conversation_key
        cached = self._cached(key, msg.message_id)
        if cached is not None:
            return cached
        conv = self.store.get(key)
        if conv is not None:
            replay = self._replay(conv, msg.message_id)
            if replay is not None:
                return replay
        else:
            conv = self._new_conversation(msg)
        if conv.status == ConversationStatus.RESOLVED:
            conv.status = ConversationStatus.BOT  # a new question after a resolved case

        text, note = sanitise(msg.text, self.settings.max_message_chars)
        turn = _Turn(msg=msg, text=text, redaction=redact(text), started=started, note=note)

        if conv.status in (ConversationStatus.AWAITING_HUMAN, ConversationStatus.HUMAN):
            decision = self._relay(conv, turn)
        elif not _has_words(text):
            decision = self._no_words(conv, turn)
        else:
            decision = self._bot_turn(conv, turn)
        if turn.note and not decision.composer_note:
            decision.composer_note = turn.note
        self._remember(key, msg.message_id, decision)
        return decision

    def _bot_turn(self, conv: Conversation, turn: _Turn) -> Decision:
        msg = turn.msg
        public = msg.is_public
        history_items = _guard_history(conv)
        report = self.guard.check(turn.text, public=public, history=history_items)
        self._record_checked_turn(conv, turn, report)

        outcome = self._decide(report, public, conv)
        language = _language(report)
        if outcome.action == Action.ESCALATE:
            return self._escalate(conv, turn, outcome.reasons or [Reason.OTHER], outcome.priority,
                                  outcome.sla_minutes, evidence=outcome.evidence,
                                  public=public or outcome.public_move, language=language)
        if language != "en" and _only_a_person_can_serve(outcome):
            # The KB and the answer checks are English: a person who reads the language follows
            # up, and the customer is told so in their language (never a decline for being foreign).
            evidence = [v for v in report.verdicts if v.check == "language"]
            return self._escalate(conv, turn, [Reason.OTHER], None, None, evidence=evidence,
                                  public=public, language=language)
        if outcome.action == Action.MOVE_TO_PRIVATE:
            return self._finish(conv, turn, Action.MOVE_TO_PRIVATE, DM_INVITE, public_text=DM_INVITE,
                                reasons=outcome.reasons, priority=outcome.priority)
        if outcome.action == Action.DECLINE:
            # "and who fills in the report?" right after an answer reads off-topic alone; the
            # conversation says otherwise when retrieval, with that context, is confident.
            if _follow_up_on_an_answer(conv, turn, outcome) and self._retrieve(conv, turn):
                return self._answer(conv, turn, public)
            return self._finish(conv, turn, Action.DECLINE, _decline_text(outcome, turn.verdicts),
                                reasons=[])
        if outcome.action is None and report.courtesy:
            reply = _courtesy_reply(conv, report.courtesy)
            if reply:
                formatted = fit_text(reply, msg.channel, public=public)
                return self._finish(conv, turn, Action.CLARIFY, formatted.text, parts=formatted.parts,
                                    public_text=formatted.text if public else None)
        if outcome.action == Action.CLARIFY:  # far from every KB topic: ask, naming the nearest ones
            confident = self._retrieve(conv, turn)
            # outside_kb compares the message with KB titles only; a confident retrieval hit in a
            # document's body ("which speaker is waterproof?") knows better, so it is answered.
            if outcome.rule == "outside_kb" and confident:
                return self._answer(conv, turn, public)
            conv.unanswered_turns += 1
            return self._clarify(conv, turn, turn.passages)
        if outcome.action == Action.RELAY:  # not a policy outcome today; be safe
            return self._relay(conv, turn, already_recorded=True)

        # --- answer from the knowledge base
        if not self._retrieve(conv, turn):
            return self._unanswerable(conv, turn, public)
        return self._answer(conv, turn, public)

    def _retrieve(self, conv: Conversation, turn: _Turn) -> bool:
        """Search with the conversation, into turn; True when the KB answers it confidently."""
        result = self._search(conv, turn)
        turn.passages = list(result.passages)
        turn.answerability = float(result.answerability)
        return bool(turn.passages) and turn.answerability >= self.settings.answerability_threshold

    def _search(self, conv: Conversation, turn: _Turn) -> Any:
        """Retrieval with the previous user turns as context, so follow-ups find their topic."""
        # Small talk says nothing about the topic: "thanks", "yes" as context pulled "where is my
        # order?" towards FAQ answers that start with "Yes".
        prior_users = _prior_user_texts(conv)
        result = self.index.search(turn.redaction.text, k=self.settings.retrieval_k,
                                   history=prior_users or None)
        if prior_users and (not result.passages or result.answerability < self.settings.answerability_threshold):
            # A new topic mid-conversation ("can i pay in 3 parts" after questions about battery
            # life) is pulled off course by the old context: the message alone may answer.
            alone = self.index.search(turn.redaction.text, k=self.settings.retrieval_k)
            if alone.passages and alone.answerability > result.answerability:
                return alone
        return result

    def _agent_passages(self, conv: Conversation, turn: _Turn) -> list[Any]:
        """The packet's KB context for the human: internal articles too (marked internal). The
        customer's own turn.passages never hold them, so no reply or LLM prompt can."""
        if turn.passages and not getattr(self.index, "has_internal", True):
            return list(turn.passages)  # no internal documents: the customer search is the same
        prior = _prior_user_texts(conv)
        try:
            found = self.index.search(turn.redaction.text, k=self.settings.retrieval_k,
                                      history=prior or None, audience="agent")
        except TypeError:  # an index without audiences (test doubles) has no internal documents
            found = self.index.search(turn.redaction.text, k=self.settings.retrieval_k, history=prior or None)
        except Exception:  # noqa: BLE001 - context for the agent must never block a handoff
            log.warning("agent-side retrieval for the escalation packet failed", exc_info=True)
            return list(turn.passages)
        if not turn.passages:
            turn.passages = [p for p in found.passages if not p.internal]
        return list(found.passages)

    def _answer(self, conv: Conversation, turn: _Turn, public: bool) -> Decision:
        request = ComposeRequest(
            question=turn.redaction.text, passages=turn.passages,
            history=[(t.role, t.text) for t in conv.turns[:-1][-6:]],
            channel=turn.msg.channel, public=public)
        composed, grounding, note = self._compose(request, turn)
        if composed is None:
            return self._unanswerable(conv, turn, public, why=note)
        cited = _cited_passages(composed, grounding)
        link = cited[0].url if cited else None
        keep = self._answering_sentence(composed.text, request.question) if public else None
        formatted = format_reply(composed.text, turn.msg.channel, public=public, link=link, keep=keep)
        reply = _scrub(formatted.text, turn.redaction.values)
        parts = [_scrub(p, turn.redaction.values) for p in formatted.parts]
        conv.unanswered_turns = 0
        conv.clarifications = 0
        return self._finish(conv, turn, Action.ANSWER, reply, parts=parts,
                            citations=_citations(cited), composer=composed.composer,
                            composer_note=note, grounded=grounding.share)

    def _answering_sentence(self, text: str, question: str) -> int | None:
        """Index of the reply sentence closest to the question (what a shortened public reply
        keeps), or None without an embedder."""
        sentences = split_sentences(re.sub(r"[ \t]+", " ", text).strip())
        if len(sentences) < 2 or self.embed is None:
            return None
        try:
            vectors = self.embed([question, *sentences])
        except Exception:  # noqa: BLE001 - shortening falls back to the reply's own order
            return None
        if vectors is None:
            return None
        return int(np.argmax(vectors[1:] @ vectors[0]))

    def _compose(self, request: ComposeRequest, turn: _Turn
                 ) -> tuple[Composed | None, GroundingResult | None, str]:
        """Primary composer, gated by grounding and output checks; extractive as the fallback."""
        notes: list[str] = []
        attempts: list[Composer] = [self.composer]
        if self.fallback is not self.composer:
            attempts.append(self.fallback)
        for composer in attempts:
            try:
                composed = composer.compose(request)
            except ComposerError as exc:
                notes.append(str(exc))
                continue
            except Exception as exc:  # noqa: BLE001 - a broken composer must not break the turn
                notes.append(f"{composer.name} failed: {type(exc).__name__}")
                continue
            # The passages the reply cites. The gate attributes each sentence to ONE of them and
            # checks it against that passage alone: words pooled from several passages do not
            # vouch for a claim none of them makes.
            sources = composed.passages or request.passages
            grounding = check_grounding(composed.text, [p.text for p in sources], self.embed)
            if not grounding.ok:
                bad = grounding.unsupported
                why = bad[0].why if bad else "nothing attributable"
                notes.append(f"{composer.name} reply failed grounding "
                             f"({len(bad)} unsupported sentence(s): {why})")
                continue
            failed = self._output_problems(composed.text, sources, turn)
            if failed:
                notes.append(f"{composer.name} reply failed output checks: {', '.join(failed)}")
                continue
            return composed, grounding, "; ".join(notes)
        return None, None, "; ".join(notes)

    def _output_problems(self, reply: str, passages: list[Passage], turn: _Turn) -> list[str]:
        verdicts = check_output(reply, passages=[p.text for p in passages], channel=turn.msg.channel,
                                public=turn.msg.is_public, pii_values=list(turn.redaction.values))
        fired = [v for v in verdicts if v.triggered and v.check != "length"]  # formatting fits length
        turn.verdicts.extend(fired)
        return [f"{v.check}" for v in fired]

    # ------------------------------------------------------------------ outcomes
    def _unanswerable(self, conv: Conversation, turn: _Turn, public: bool, why: str = "") -> Decision:
        conv.unanswered_turns += 1
        if conv.clarifications < 1:
            return self._clarify(conv, turn, turn.passages, note=why)
        priority = self._priority([Reason.NO_ANSWER])
        return self._escalate(conv, turn, [Reason.NO_ANSWER], priority, None, evidence=[],
                              public=public, note=why)

    def _clarify(self, conv: Conversation, turn: _Turn, passages: list[Passage], note: str = "") -> Decision:
        conv.clarifications += 1
        titles = list(dict.fromkeys(p.title for p in passages))[:3]
        if len(titles) >= 2:
            topics = ", ".join(f'"{t}"' for t in titles[:-1]) + f' or "{titles[-1]}"'
            text = (f"I want to make sure I get this right. Is your question about {topics}? "
                    "A few more details (for example the product or what happened) will help me find the answer.")
        elif titles:
            text = (f'I want to make sure I get this right. Is your question about "{titles[0]}"? '
                    "Could you tell me a bit more about what you need?")
        else:
            text = ("I want to make sure I get this right. Could you tell me a bit more about what "
                    "you need help with, for example an order, a delivery, a return or your account?")
        formatted = fit_text(text, turn.msg.channel, public=turn.msg.is_public)
        return self._finish(conv, turn, Action.CLARIFY, formatted.text, parts=formatted.parts,
                            composer_note=note)

    def _escalate(self, conv: Conversation, turn: _Turn, reasons: list[Reason],
                  priority: Priority | None, sla_minutes: int | None, *, evidence: list[Verdict],
                  public: bool, note: str = "", language: str = "en") -> Decision:
        priority = priority or self._priority(reasons)
        sla = sla_minutes if sla_minutes is not None else self._sla(priority)
        hours = None if public else self._support_hours()
        # The bot's reply is part of the transcript the human reads, so record it first.
        placeholder = Turn(role="bot", text="", action=str(Action.ESCALATE),
                           message_id=turn.msg.message_id)
        conv.turns.append(placeholder)
        # Whatever triggered the handoff, the agent starts from what the KB says about the
        # message (kb_tried, and a suggested reply built from it when one fits): one search.
        agent_passages = self._agent_passages(conv, turn)
        packet = self.handoff.escalate(
            conv, reasons=reasons, priority=priority, sla_minutes=sla, evidence=evidence,
            passages=agent_passages, public=public,
            intent=_intent(reasons, turn.passages), pii_values=list(turn.redaction.values),
            language=language)
        if language != "en":
            text = follow_up_text(language, packet.case_id)
        else:
            text = escalation_message(packet.case_id, hours_text=hours, public=public)
        if Reason.SAFETY_CRISIS in reasons:
            text = f"{crisis_text(language)} {text}"
        formatted = fit_text(text, turn.msg.channel, public=public)
        placeholder.text = formatted.text
        public_text = formatted.text if public else None
        return self._finish(conv, turn, Action.ESCALATE, formatted.text, parts=formatted.parts,
                            reasons=reasons, priority=priority, case_id=packet.case_id,
                            public_text=public_text, composer_note=note, bot_turn=placeholder)

    def _relay(self, conv: Conversation, turn: _Turn, already_recorded: bool = False) -> Decision:
        if not already_recorded and _has_words(turn.text):
            crisis = self._crisis_while_with_humans(conv, turn)
            if crisis is not None:
                return crisis
        if not already_recorded:
            _merge_kinds(conv, turn.redaction.kinds)
            self._add_user_turn(conv, turn)
        conv.updated_at = _utcnow()
        self.store.save(conv)
        self.handoff.relay(conv, turn.redaction.text)
        return Decision(action=Action.RELAY, case_id=conv.case_id, composer="",
                        verdicts=[], conversation_id=conv.id)

    def _crisis_while_with_humans(self, conv: Conversation, turn: _Turn) -> Decision | None:
        """A crisis message while a case waits for or is with a person: the emergency sentence at
        once, the open case raised to urgent and the agents alerted (a silent relay could wait
        hours in a normal-priority queue)."""
        try:
            report = self.guard.check(turn.text, public=turn.msg.is_public, history=_guard_history(conv))
        except Exception:  # noqa: BLE001 - a failing check must not stop the relay itself
            log.warning("crisis check on a relayed message failed", exc_info=True)
            return None
        crisis = [v for v in report.verdicts if v.triggered and v.check == "topic"
                  and v.category == Reason.SAFETY_CRISIS]
        if not crisis:
            return None
        self._record_checked_turn(conv, turn, report)
        self.handoff.relay(conv, turn.redaction.text)  # the agent reads the words themselves too
        reasons = [Reason.SAFETY_CRISIS, *[r for r in self._open_reasons(conv) if r != Reason.SAFETY_CRISIS]]
        return self._escalate(conv, turn, reasons, Priority.URGENT, None, evidence=crisis,
                              public=turn.msg.is_public, language=_language(report))

    def _open_reasons(self, conv: Conversation) -> list[Reason]:
        packet = self.store.packet(conv.case_id) if conv.case_id else None
        return list(packet.reasons) if packet is not None else []

    def _no_words(self, conv: Conversation, turn: _Turn) -> Decision:
        self._add_user_turn(conv, turn)
        text = ATTACHMENT_TEXT if turn.msg.attachments and not turn.text else EMPTY_TEXT
        formatted = fit_text(text, turn.msg.channel, public=turn.msg.is_public)
        return self._finish(conv, turn, Action.CLARIFY, formatted.text, parts=formatted.parts)

    def _finish(self, conv: Conversation, turn: _Turn, action: Action, text: str, *,
                parts: list[str] | None = None, public_text: str | None = None,
                citations: list[Citation] | None = None, reasons: Sequence[Reason] = (),
                priority: Priority | None = None, case_id: str | None = None,
                composer: str = "template", composer_note: str = "", grounded: float | None = None,
                bot_turn: Turn | None = None) -> Decision:
        """Record the bot's turn (redacted), save the conversation, build the Decision."""
        text = _scrub(text, turn.redaction.values)
        if bot_turn is None:
            conv.turns.append(Turn(role="bot", text=text, action=str(action),
                                   citations=[c.doc_id for c in citations or []],
                                   message_id=turn.msg.message_id))
        conv.updated_at = _utcnow()
        self.store.save(conv)
        return Decision(
            action=action, text=text, parts=parts if parts is not None else ([text] if text else []),
            public_text=public_text, citations=citations or [], reasons=list(reasons),
            priority=priority, case_id=case_id or (conv.case_id if action == Action.ESCALATE else None),
            verdicts=_public_verdicts(turn.verdicts), composer=composer,
            composer_note=composer_note, grounded=grounded, conversation_id=conv.id)

    # ------------------------------------------------------------------ helpers
    def _record_checked_turn(self, conv: Conversation, turn: _Turn, report: InputReport) -> None:
        """Keep what the input checks found on the turn and record the (redacted) user turn."""
        turn.report = report
        turn.redaction = report.redacted
        turn.verdicts = [v for v in report.verdicts if v.triggered]
        conv.sentiment.append(round(float(report.sentiment), 4))
        _merge_kinds(conv, report.redacted.kinds)
        self._add_user_turn(conv, turn)

    def _add_user_turn(self, conv: Conversation, turn: _Turn) -> None:
        conv.turns.append(Turn(role="user", text=turn.redaction.text, message_id=turn.msg.message_id))

    def _new_conversation(self, msg: InboundMessage) -> Conversation:
        return Conversation(id=msg.conversation_key, customer_id=msg.customer_id,
                            customer_handle=msg.customer_handle, channel=msg.channel,
                            platform=msg.platform, link=msg.link)

    def _decide(self, report: InputReport, public: bool, conv: Conversation) -> PolicyOutcome:
        return self.policy.decide(report, public=public, unanswered_turns=conv.unanswered_turns,
                                  clarifications=conv.clarifications)

    def _priority(self, reasons: list[Reason]) -> Priority:
        try:
            return self.policy.priority_for(reasons)
        except Exception:  # noqa: BLE001 - a policy without an entry still gets a sane default
            return Priority.NORMAL

    def _sla(self, priority: Priority) -> int:
        try:
            return int(self.policy.sla_minutes(priority))
        except Exception:  # noqa: BLE001
            return {Priority.URGENT: 15, Priority.HIGH: 60, Priority.NORMAL: 240}.get(priority, 1440)

    def _support_hours(self) -> str | None:
        """The human team's hours: from settings, else as the KB states them in the passage that
        answers "when can I reach a person" (looked up once per KB version, then remembered)."""
        if self.settings.support_hours:
            return self.settings.support_hours
        generation = getattr(self.index, "generation", None)
        if self._hours is not False and self._hours_generation == generation:
            return self._hours  # type: ignore[return-value]
        found: str | None = None
        try:
            found = self._hours_from_kb()
        except Exception:  # noqa: BLE001 - hours are a courtesy; never block an escalation
            log.warning("could not look up the support hours in the KB")
        self._hours, self._hours_generation = found, generation
        return found

    def _hours_from_kb(self) -> str | None:
        # Only the best document's passages, and only a sentence that says when people answer:
        # a "24/7" self-service page or phone line is not the social team's hours.
        result = self.index.search(_HOURS_QUERY, k=3)
        if not result.passages:
            return None
        best_doc = result.passages[0].doc_id
        for passage in (p for p in result.passages if p.doc_id == best_doc):
            for heading, sentence in _sentences_under_headings(passage.text):
                if (_HOURS_RE.search(sentence) and not sentence.endswith("?")
                        and (_PEOPLE_RE.search(sentence) or _PEOPLE_RE.search(heading))):
                    found = hours_span(sentence)
                    if found:
                        return found
        return None

    def _cached(self, key: str, message_id: str) -> Decision | None:
        with self._decisions_lock:
            decision = self._decisions.get((key, message_id))
        return decision.model_copy(deep=True) if decision is not None else None

    def _remember(self, key: str, message_id: str, decision: Decision) -> None:
        with self._decisions_lock:
            self._decisions[(key, message_id)] = decision.model_copy(deep=True)
            while len(self._decisions) > DECISION_CACHE:
                self._decisions.popitem(last=False)

    def _replay(self, conv: Conversation, message_id: str) -> Decision | None:
        """A duplicate delivery seen by another process: rebuild the Decision from the stored turns."""
        if not any(t.role == "user" and t.message_id == message_id for t in conv.turns):
            return None
        bot = next((t for t in conv.turns if t.role == "bot" and t.message_id == message_id), None)
        if bot is None:
            return Decision(action=Action.RELAY, case_id=conv.case_id, conversation_id=conv.id,
                            composer_note="duplicate delivery")
        citations = []
        for doc_id in bot.citations:
            meta = self.index.document(doc_id) or {}
            citations.append(Citation(doc_id=doc_id, title=meta.get("title") or doc_id, url=meta.get("url")))
        action = Action(bot.action) if bot.action in {a.value for a in Action} else Action.ANSWER
        return Decision(action=action, text=bot.text, parts=[bot.text] if bot.text else [],
                        citations=citations, conversation_id=conv.id,
                        case_id=conv.case_id if action == Action.ESCALATE else None,
                        composer="replay", composer_note="duplicate delivery")


# ---------------------------------------------------------------------- module helpers
def _utcnow():
    from datetime import datetime, timezone

    return datetime.now(timezone.utc)


_DAY_RE = re.compile(r"\b(mon|tues|wednes|thurs|fri|satur|sun)day\b", re.IGNORECASE)
_TIME_RE = re.compile(r"\d{1,2}(:\d{2})?(\s?(am|pm))?(\s?[-–]\s?\d{1,2}(:\d{2})?(\s?(am|pm))?)?"
                      r"(\s(CET|CEST|GMT|UTC|[A-Z]{2,4}T))?", re.IGNORECASE)


def _sentences_under_headings(text: str) -> list[tuple[str, str]]:
    """(the Markdown heading above it, sentence) for every sentence of a passage."""
    out: list[tuple[str, str]] = []
    heading = ""
    lines = text.splitlines()
    for n, line in enumerate(lines):
        stripped = line.strip()
        # A chunk opens with its "Title > Section" line; Markdown headings open sections.
        if stripped.startswith("#") or (n == 0 and len(lines) > 1 and not lines[1].strip()):
            heading = stripped.lstrip("# ")
            continue
        plain = re.sub(r"(\*\*|__|`)", "", stripped.strip("|").replace("|", ","))
        out += [(heading, s) for s in split_sentences(plain)]
    return out


def hours_span(sentence: str) -> str | None:
    """The opening-hours part of a KB sentence ('Monday to Friday 8:00–20:00 ... CET'), verbatim."""
    day = _DAY_RE.search(sentence)
    times = [m for m in _TIME_RE.finditer(sentence) if ":" in m.group(0) or re.search(r"am|pm", m.group(0), re.I)]
    if not times:
        return "24/7" if re.search(r"24/7|around the clock", sentence, re.I) else None
    start = min(day.start(), times[0].start()) if day else times[0].start()
    end = max(m.end() for m in times)
    span = sentence[start:end].strip(" ,;")
    return span if 4 <= len(span) <= 160 else None


def _guard_history(conv: Conversation) -> list[HistoryItem]:
    items = []
    for t in conv.turns[-GUARD_HISTORY_TURNS:]:
        role = "user" if t.role == "user" else "bot"
        items.append(HistoryItem(role=role, text=t.text, action=t.action))
    return items


def _merge_kinds(conv: Conversation, kinds: Sequence[str]) -> None:
    for kind in kinds:
        if kind not in conv.pii_kinds:
            conv.pii_kinds.append(kind)


def _scrub(text: str, values: Sequence[str]) -> str:
    """Last line of defence: no personal value from the customer's message leaves in a reply."""
    for value in values:
        if value and len(value) >= 3 and value in text:
            text = text.replace(value, "[redacted]")
    return text


def _cited_passages(composed: Composed, grounding: GroundingResult | None) -> list[Passage]:
    sources = composed.passages
    if grounding is not None and grounding.sources:
        picked = [sources[i] for i in grounding.sources if i < len(sources)]
    else:
        picked = sources[:1]
    out: list[Passage] = []
    seen: set[str] = set()
    for p in picked:
        if p.doc_id not in seen:
            seen.add(p.doc_id)
            out.append(p)
    return out


def _citations(passages: Sequence[Passage]) -> list[Citation]:
    return [Citation(doc_id=p.doc_id, title=p.title, url=p.url, score=round(float(p.score), 4))
            for p in passages]


def _public_verdicts(verdicts: Sequence[Verdict]) -> list[Verdict]:
    """Triggered verdicts, deduplicated (their reasons are redacted by the checks)."""
    seen: set[tuple[str, str]] = set()
    out = []
    for v in verdicts:
        if (v.check, v.category) not in seen:
            seen.add((v.check, v.category))
            out.append(v)
    return out


def _last_bot_turn(conv: Conversation) -> Turn | None:
    """The bot's latest turn before this message (the user's turn is already recorded)."""
    return next((t for t in reversed(conv.turns) if t.role == "bot"), None)


def _follow_up_on_an_answer(conv: Conversation, turn: _Turn, outcome: PolicyOutcome) -> bool:
    """Declined only as out of scope, in a private conversation whose last bot turn answered."""
    categories = {v.category for v in list(outcome.evidence) + list(turn.verdicts)}
    if turn.msg.is_public or categories - {"out_of_scope"}:
        return False
    last_bot = _last_bot_turn(conv)
    return last_bot is not None and last_bot.action in (None, "answer")


def _courtesy_reply(conv: Conversation, kind: str) -> str | None:
    """The reply to small talk, or None to treat the message as a question.

    A bare "yes" or "no" depends on what the bot said last: after "anything else?" it means
    "I have a question" or "that's all"; "yes" after an answer is agreement; anywhere else (a
    clarifying question, no bot turn yet) it answers the conversation and goes on as before.
    """
    if kind in ("greeting", "thanks", "goodbye"):
        return COURTESY_TEXT[kind]
    last = _last_bot_turn(conv)
    if last is not None and last.text in _ASKS_WHAT_ELSE:
        return COURTESY_TEXT["goodbye"] if kind == "no" else COURTESY_TEXT["yes"]
    if last is not None and kind == "yes" and last.action == str(Action.ANSWER):
        return COURTESY_TEXT["agreed"]
    return None


def _prior_user_texts(conv: Conversation) -> list[str]:
    """The user turns before the latest one, small talk left out ("thanks", "yes" say nothing
    about the topic), newest last: the context retrieval reads for a follow-up."""
    users = [t.text for t in conv.turns if t.role == "user"][:-1]
    return [u for u in users if not courtesy_kind(u)][-HISTORY_USER_TURNS:]


def _language(report: InputReport) -> str:
    """The message's language as the input checks found it ("en" when unsure)."""
    return next((v.category for v in report.verdicts if v.check == "language"), "en")


def _only_a_person_can_serve(outcome: PolicyOutcome) -> bool:
    """A non-English message the bot would answer, clarify or decline as off-topic: a person
    follows up instead. Manipulation and abuse are still declined."""
    if outcome.action is None or outcome.action == Action.CLARIFY:
        return True
    return outcome.action == Action.DECLINE and outcome.rule in ("out_of_scope", "outside_kb")


def _decline_text(outcome: PolicyOutcome, verdicts: Sequence[Verdict]) -> str:
    categories = {v.category for v in list(outcome.evidence) + list(verdicts)} | {v.check for v in verdicts}
    if categories & {"abuse", "toxicity", "harassment"}:
        return DECLINE_TEXT["abuse"]
    if categories & {"manipulation", "prompt_injection", "jailbreak"}:
        return DECLINE_TEXT["manipulation"]
    return DECLINE_TEXT["default"]


def _intent(reasons: Sequence[Reason], passages: Sequence[Passage]) -> str | None:
    if passages and Reason.NO_ANSWER in reasons:
        return f"question near: {passages[0].title}"
    return str(reasons[0]).replace("_", " ") if reasons else None
