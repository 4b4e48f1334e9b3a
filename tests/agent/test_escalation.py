"""The context packet, the customer's handoff message, and the handoff state machine."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from agent.case_ids import is_case_id
from agent.conversation import Conversation, ConversationStatus, Turn
from agent.escalation import (
    CaseNotFound, Handoff, HandoffError, InvalidTransition, LocalInbox, build_packet,
    escalation_message,
)
from agent.outbound import RecordingSender
from agent.store_memory import MemoryStore
from agent.store_redis import RedisStore
from agent.summary import split_sentences, summarize_customer
from guardrails.codes import Channel, Priority, Reason
from guardrails.pii import redact
from guardrails.verdict import Span, Verdict
from retrieval.passage import Passage

CARD = "4111 1111 1111 1111"
PHONE = "+1 415 555 0134"
EMAIL = "dana.w@example.org"

PASSAGES = [
    Passage(doc_id="billing-disputes", chunk_id="billing-disputes::0", title="Disputed charges",
            url="https://help.example/billing", score=0.82,
            text="If you see a charge you don't recognise, our billing team reviews it within "
                 "two business days. We never ask for your full card number in chat. "
                 "Card payments can be reversed once the review confirms the charge was wrong."),
    Passage(doc_id="billing-disputes", chunk_id="billing-disputes::1", title="Disputed charges",
            url="https://help.example/billing", score=0.61,
            text="Refunds for reversed charges reach the original card in 5-10 days."),
    Passage(doc_id="shipping", chunk_id="shipping::0", title="Shipping times", score=0.2,
            text="Standard shipping takes three to five days."),
]


def _conversation_with_pii() -> tuple[Conversation, list[str], list[Verdict]]:
    """A conversation built the way the engine builds it: raw text redacted before storing."""
    raw_messages = [
        "hi",
        f"I was charged twice on my card {CARD} for one order and I want the money back.",
        f"You can call me on {PHONE} or email {EMAIL}. This is the second time it happened!",
    ]
    conv = Conversation(id="whatsapp:PN1:15550001", customer_id="cust-77",
                        customer_handle="Dana", channel=Channel.WHATSAPP, platform="meta",
                        link="https://wa.me/x")
    values: list[str] = []
    kinds: list[str] = []
    verdicts: list[Verdict] = []
    bot_lines = ["Hello! How can I help?", "Sorry about that. Could you tell me the order date?"]
    for n, raw in enumerate(raw_messages):
        red = redact(raw)
        values += red.values
        kinds += [k for k in red.kinds if k not in kinds]
        conv.turns.append(Turn(role="user", text=red.text, message_id=f"m{n}"))
        conv.sentiment.append([0.3, -0.2, -0.7][n])
        if n < 2:
            conv.turns.append(Turn(role="bot", text=bot_lines[n],
                                   action="answer" if n == 0 else "clarify"))
        if red.spans:
            verdicts.append(Verdict(check="pii", category=red.kinds[0], triggered=True, score=1.0,
                                    spans=red.spans))
    conv.pii_kinds = kinds
    last = conv.turns[-1].text
    start = last.index("second time")
    verdicts.append(Verdict(check="topic", category="billing_dispute", triggered=True, score=0.91,
                            reason="repeat charge", spans=[Span(start=start, end=start + 11,
                                                                kind="cue")]))
    verdicts.append(Verdict(check="manipulation", category="manipulation", triggered=False))
    return conv, values, verdicts


def test_packet_carries_no_pii_values_anywhere():
    conv, values, verdicts = _conversation_with_pii()
    conv.case_id = "CX-7K3Q9"
    assert {CARD, PHONE, EMAIL} <= set(values)
    packet = build_packet(conv, reasons=[Reason.BILLING_DISPUTE], priority=Priority.HIGH,
                          sla_minutes=30, evidence=verdicts, passages=PASSAGES,
                          intent="billing", pii_values=values)
    dumped = packet.model_dump_json()
    digits_only = re.sub(r"\D", "", dumped)
    for value in values:
        assert value not in dumped
        if sum(c.isdigit() for c in value) >= 7:
            assert re.sub(r"\D", "", value) not in digits_only
    assert packet.pii_kinds == sorted(["CARD", "PHONE", "EMAIL"])
    sensitive = build_packet(conv, reasons=[Reason.SENSITIVE_DATA], priority=Priority.HIGH,
                             sla_minutes=30, evidence=verdicts, pii_values=values)
    pii_ev = [e for e in sensitive.evidence if e.check == "pii"]
    assert {e.words for e in pii_ev} == {"[CARD]", "[EMAIL] [PHONE]"}
    assert all(e.reason == Reason.SENSITIVE_DATA for e in pii_ev)
    assert not any(v in sensitive.model_dump_json() for v in values)


def test_packet_scrubs_a_turn_that_slipped_through_unredacted():
    conv = Conversation(id="webchat:w1", customer_id="c1", case_id="CX-ABCDE",
                        turns=[Turn(role="user", text=f"my card is {CARD}, please refund")])
    packet = build_packet(conv, reasons=[Reason.BILLING_DISPUTE], priority=Priority.NORMAL,
                          sla_minutes=60)
    assert CARD not in packet.model_dump_json()
    assert "[CARD]" in packet.transcript[0].text


def test_packet_contents_for_the_agent():
    conv, values, verdicts = _conversation_with_pii()
    packet = build_packet(conv, case_id="CX-7K3Q9", reasons=[Reason.BILLING_DISPUTE],
                          priority=Priority.HIGH, sla_minutes=30, evidence=verdicts,
                          passages=PASSAGES, intent="billing", pii_values=values)
    assert packet.case_id == "CX-7K3Q9" and packet.priority == Priority.HIGH
    assert packet.sla_due_at - packet.created_at == timedelta(minutes=30)
    # evidence: only the checks that fired, with their scores and the (redacted) words
    assert {(e.check, e.reason) for e in packet.evidence} == {("topic", Reason.BILLING_DISPUTE)}
    topic = next(e for e in packet.evidence if e.check == "topic")
    assert topic.score == pytest.approx(0.91) and topic.words == "second time"
    # what the customer needs, in their own words, without the greeting
    assert "charged twice" in packet.summary and "second time" in packet.summary
    assert "[PHONE]" not in packet.summary  # contact details are not the need
    assert 1 <= len(split_sentences(packet.summary.split(": ", 1)[1])) <= 3
    assert packet.customer_handle == "Dana" and packet.channel == "whatsapp"
    assert packet.platform == "meta" and packet.link == "https://wa.me/x"
    assert packet.sentiment == pytest.approx(-0.7) and packet.sentiment_trend == "worsening"
    assert [line.role for line in packet.transcript] == ["user", "bot", "user", "bot", "user"]
    assert [k.doc_id for k in packet.kb_tried] == ["billing-disputes", "shipping"]
    assert packet.kb_tried[0].score == pytest.approx(0.82)
    assert packet.attempted_answer == "Sorry about that. Could you tell me the order date?"
    # the draft is made of knowledge-base sentences only, about the customer's issue
    kb_sentences = {s for p in PASSAGES for s in split_sentences(p.text)}
    draft = split_sentences(packet.suggested_reply)
    assert draft and set(draft) <= kb_sentences
    assert any("charge" in s for s in draft)
    assert "Standard shipping takes three to five days." not in draft


def test_summary_prefers_the_request_over_small_talk():
    summary = summarize_customer([
        "hello there", "thanks", "My parcel says delivered but it is not at my door.",
        "Can you send a replacement?", "ok"])
    assert "not at my door" in summary and "replacement" in summary
    assert "hello there" not in summary and not summary.endswith("ok.")


def test_escalation_message_states_case_and_only_given_hours():
    plain = escalation_message("CX-7K3Q9")
    assert "CX-7K3Q9" in plain and "repeat" in plain
    assert not re.search(r"\d{1,2}(:\d\d)?\s*(am|pm)|monday|friday|hours", plain, re.I)
    hours = "Our support team is available Monday to Friday, 9am to 6pm CET."
    with_hours = escalation_message("CX-7K3Q9", hours_text=hours)
    assert with_hours.endswith(hours)
    public = escalation_message("CX-7K3Q9", public=True)
    assert "CX-7K3Q9" in public and len(public) <= 280 and "private" in public


# --- handoff state machine -------------------------------------------------------------------
@pytest.fixture(params=["memory", "redis"])
def store(request):
    if request.param == "memory":
        return MemoryStore()
    return RedisStore(request.getfixturevalue("redis_url"),
                      prefix=request.getfixturevalue("redis_prefix"))


def _escalate(handoff: Handoff, store, key: str = "webchat:h1") -> Conversation:
    conv = store.get(key) or Conversation(id=key, customer_id="c9", platform="web",
                                          turns=[Turn(role="user", text="I want a person please")])
    with store.lock(key):
        handoff.escalate(conv, reasons=[Reason.HUMAN_REQUESTED], priority=Priority.NORMAL,
                         sla_minutes=120)
    return conv


def test_handoff_lifecycle(store):
    sender = RecordingSender(store)
    inbox = LocalInbox(store)
    handoff = Handoff(store, sender, inbox)
    conv = _escalate(handoff, store)
    case = conv.case_id
    assert is_case_id(case)
    assert store.get(conv.id).status == ConversationStatus.AWAITING_HUMAN
    assert store.open_cases() == [case] and store.packet(case).reasons == [Reason.HUMAN_REQUESTED]
    assert inbox.opened == [case]

    claimed = handoff.claim(case.lower(), "U-ana")  # typed by a person: case-insensitive
    assert claimed.status == ConversationStatus.HUMAN and claimed.assignee == "U-ana"

    reply = f"Hi, I'm Ana. Our store line is {PHONE} if you prefer to call."
    handoff.agent_reply(case, "U-ana", reply, idempotency_key="slack-ev-1")
    handoff.agent_reply(case, "U-ana", reply, idempotency_key="slack-ev-1")  # Slack retry
    assert [m.text for m in sender.outbox(conv.id)] == [reply]  # the customer gets the raw text
    stored = store.get(conv.id)
    agent_turns = [t for t in stored.turns if t.role == "agent"]
    assert len(agent_turns) == 1 and PHONE not in agent_turns[0].text  # what we keep is redacted

    resolved = handoff.resolve(case, "U-ana")
    assert resolved.status == ConversationStatus.RESOLVED and store.open_cases() == []
    assert store.find_case(case) == conv.id  # still findable
    kinds = [e["kind"] for e in store.case_events(case)]
    assert kinds == ["opened", "claimed", "agent", "resolved"]
    assert inbox.updates[-1] == (case, "resolved")

    with pytest.raises(InvalidTransition, match="already resolved"):
        handoff.resolve(case, "U-ana")
    with pytest.raises(InvalidTransition):
        handoff.claim(case, "U-bob")
    with pytest.raises(InvalidTransition):
        handoff.agent_reply(case, "U-ana", "one more thing")

    again = _escalate(handoff, store)  # a new problem after resolution is a new case
    assert again.case_id != case and store.open_cases() == [again.case_id]


def test_return_to_bot_keeps_the_case_number(store):
    handoff = Handoff(store, RecordingSender(store), LocalInbox(store))
    conv = _escalate(handoff, store, "webchat:h2")
    case = conv.case_id
    replied = handoff.agent_reply(case, "U-bob", "Let me check.")  # replying claims it
    assert replied.status == ConversationStatus.HUMAN and replied.assignee == "U-bob"
    back = handoff.return_to_bot(case, "U-bob")
    assert back.status == ConversationStatus.BOT and back.assignee is None
    assert store.open_cases() == []
    with pytest.raises(InvalidTransition, match="back with the bot"):
        handoff.claim(case, "U-bob")
    reopened = _escalate(handoff, store, "webchat:h2")
    assert reopened.case_id == case and store.open_cases() == [case]
    assert store.case_events(case)[-1]["kind"] == "reopened"


def test_unknown_and_malformed_cases_are_clear_errors(store):
    handoff = Handoff(store, RecordingSender())
    with pytest.raises(CaseNotFound, match="no case CX-ZZZZZ"):
        handoff.resolve("CX-ZZZZZ", "U1")
    with pytest.raises(CaseNotFound, match="not a case number"):
        handoff.claim("CX-00O1I", "U1")
    conv = _escalate(handoff, store, "webchat:h3")
    with pytest.raises(HandoffError, match="empty"):
        handoff.agent_reply(conv.case_id, "U1", "   ")


def test_a_failing_sink_does_not_lose_the_case(store):
    class DownSink:  # e.g. Slack unreachable: the case must still be in the store
        def open_case(self, packet, conv):
            raise ConnectionError("slack down")

        def customer_message(self, conv, text_redacted):
            raise ConnectionError("slack down")

        def case_updated(self, conv):
            raise ConnectionError("slack down")

    handoff = Handoff(store, RecordingSender(), DownSink())
    conv = _escalate(handoff, store, "webchat:h4")
    assert store.packet(conv.case_id) is not None and store.open_cases() == [conv.case_id]
    assert handoff.claim(conv.case_id, "U1").status == ConversationStatus.HUMAN


def test_recording_sender_is_idempotent(tmp_path):
    conv = Conversation(id="webchat:s1", customer_id="c1", platform="web")
    local = RecordingSender()
    local.send(conv, "hello", idempotency_key="k1")
    local.send(conv, "hello", idempotency_key="k1")
    local.send(conv, "hello again", idempotency_key="k2")
    assert [m.text for m in local.sent] == ["hello", "hello again"]
    # persisted: a second process (new store on the same file) neither resends nor loses it
    path = tmp_path / "state.json"
    RecordingSender(MemoryStore(path=path)).send(conv, "hi", idempotency_key="k3")
    other = RecordingSender(MemoryStore(path=path))
    other.send(conv, "hi", idempotency_key="k3")
    assert other.sent == [] and [m.text for m in other.outbox(conv.id)] == ["hi"]
