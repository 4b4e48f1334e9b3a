"""Cases reach Slack through the Redis outbox: once, with the right blocks, through outages
and rate limits, and without personal data."""
from __future__ import annotations

import json

from agent.conversation import ConversationStatus
from connectors.slack.blocks import ACTION_CLAIM, ACTION_RESOLVE, ACTION_RETURN
from guardrails.codes import Reason
from retrieval.passage import Passage
from tests.slack.conftest import CHANNEL, drain_all, escalate, make_conversation


def _passage(doc_id: str, title: str, score: float) -> Passage:
    return Passage(doc_id=doc_id, chunk_id=f"{doc_id}::0", title=title, url=f"https://help.example.test/{doc_id}",
                   text="Refunds are issued to the original payment method within 5-7 business days.",
                   score=score, dense_score=score, lexical_score=score)


def _case_messages(emulator, case_id: str) -> list[dict]:
    return [m for m in emulator.channel_messages(CHANNEL)
            if (m.get("metadata") or {}).get("event_payload", {}).get("case") == case_id]


def _all_texts(blocks: list[dict]) -> str:
    return json.dumps(blocks)


def test_case_is_posted_once_with_the_packet_in_blocks(emulator, store, handoff, worker, clock):
    conv = make_conversation(store, "messenger:4417", [
        "I was charged twice for order 5521 and want the second charge back",
        "This is the third time I am asking, please get me a person",
    ])
    case_id = escalate(handoff, store, conv, reasons=[Reason.BILLING_DISPUTE, Reason.HUMAN_REQUESTED],
                       passages=[_passage("refunds", "Refunds and returns", 0.61),
                                 _passage("billing-faq", "Billing questions", 0.44)],
                       suggested_reply="Sorry about the double charge; I have asked billing to reverse it.")
    drain_all(worker, clock)

    posted = _case_messages(emulator, case_id)
    assert len(posted) == 1
    blocks = posted[0]["blocks"]
    text = _all_texts(blocks)
    for expected in (case_id, "HIGH", "billing_dispute", "human_requested", "Refunds and returns",
                     "Billing questions", "messenger", "Sorry about the double charge"):
        assert expected in text, expected
    buttons = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert [b["action_id"] for b in buttons] == [ACTION_CLAIM, ACTION_RESOLVE, ACTION_RETURN]
    assert {b["value"] for b in buttons} == {case_id}

    thread = emulator.thread(CHANNEL, posted[0]["ts"])
    transcript = "\n".join(m["text"] for m in thread)
    assert "charged twice" in transcript and "get me a person" in transcript
    # the case <-> Slack message mapping is recorded for the conversation too
    assert store.get(conv.id).slack_thread == f"{CHANNEL}:{posted[0]['ts']}"

    # Opening the same case again (the engine retried, or the customer escalated again
    # while waiting) never posts a second case message.
    escalate(handoff, store, store.get(conv.id), reasons=[Reason.BILLING_DISPUTE])
    drain_all(worker, clock)
    assert len(_case_messages(emulator, case_id)) == 1
    assert len(emulator.calls("chat.postMessage")) == len(thread) + 1 + 1  # + one "escalated again" note


def test_block_kit_limits_hold_for_huge_input(emulator, store, handoff, worker, clock):
    long_text = "My parcel never arrived and nobody answers. " * 200  # ~9000 chars
    conv = make_conversation(store, "messenger:long", [long_text] * 3)
    case_id = escalate(handoff, store, conv, reasons=[Reason.COMPLAINT_ESCALATION],
                       passages=[_passage(f"doc{i}", "Shipping delays " * 20, 0.3) for i in range(40)],
                       suggested_reply=long_text, summary=long_text)
    drain_all(worker, clock)
    (posted,) = _case_messages(emulator, case_id)
    for block in posted["blocks"]:
        assert len(block.get("block_id", "")) <= 255
        if block["type"] == "section":
            assert len(block.get("text", {}).get("text", "")) <= 3000
            assert all(len(f["text"]) <= 2000 for f in block.get("fields", []))
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
        for element in block.get("elements", []):
            if element.get("type") == "button":
                assert len(element["text"]["text"]) <= 75 and len(element["value"]) <= 2000
    for reply in emulator.thread(CHANNEL, posted["ts"]):
        assert all(len(b["text"]["text"]) <= 3000 for b in reply["blocks"])


def test_slack_down_then_back_delivers_every_case_exactly_once(emulator, store, handoff, worker, clock):
    emulator.go_down()
    cases = []
    for n in range(3):
        conv = make_conversation(store, f"telegram:{n}", [f"Someone used my account to order item {n}"])
        cases.append(escalate(handoff, store, conv, reasons=[Reason.FRAUD_SECURITY]))
    for _ in range(3):  # a few rounds while Slack is unreachable: nothing lost, nothing sent
        report = worker.drain_once()
        assert report.delivered == 0
        clock.advance(120)
    assert worker.outbox.pending() == 6  # 3 case messages + 3 transcript posts

    emulator.come_back()
    # The first post after the outage reaches Slack but the answer is lost (a 500 after the
    # write): the retry must find the posted message instead of posting it twice.
    emulator.fail(1, status=500, commit_first=True, methods={"chat.postMessage"})
    drain_all(worker, clock)

    for case_id in cases:
        posted = _case_messages(emulator, case_id)
        assert len(posted) == 1, case_id
        assert len(emulator.thread(CHANNEL, posted[0]["ts"])) == 1  # its transcript, once
    assert emulator.calls("conversations.history")  # the ambiguous post was looked up, not redone


def test_ambiguous_thread_post_is_not_duplicated(emulator, store, handoff, worker, clock):
    conv = make_conversation(store, "x_dm:77", ["I want to speak to a human about my refund"])
    case_id = escalate(handoff, store, conv, reasons=[Reason.HUMAN_REQUESTED])
    drain_all(worker, clock)
    handoff.claim(case_id, "UAGENT1")
    handoff.relay(store.get(conv.id), "Are you still there?")
    emulator.fail(2, status=503, commit_first=True, methods={"chat.postMessage"})
    drain_all(worker, clock)
    (posted,) = _case_messages(emulator, case_id)
    texts = [m["text"] for m in emulator.thread(CHANNEL, posted["ts"])]
    assert sum("Are you still there?" in t for t in texts) == 1
    assert emulator.calls("conversations.replies")


def test_rate_limit_retry_after_is_honoured(emulator, store, handoff, worker, clock):
    emulator.rate_limit(1, retry_after=30, methods={"chat.postMessage"})
    conv = make_conversation(store, "whatsapp:9", ["My card was stolen, block it please"])
    case_id = escalate(handoff, store, conv, reasons=[Reason.FRAUD_SECURITY])

    report = worker.drain_once()
    assert report.delivered == 0 and len(emulator.calls("chat.postMessage")) == 1
    clock.advance(29)
    report = worker.drain_once()
    assert report.delivered == 0
    assert len(emulator.calls("chat.postMessage")) == 1  # Slack was not called again too early
    clock.advance(2)
    worker.drain_once()
    assert len(_case_messages(emulator, case_id)) == 1
    assert worker.outbox.pending() == 0


def test_a_failing_case_does_not_hold_back_the_others(emulator, store, handoff, worker, clock):
    first = make_conversation(store, "messenger:a", ["Where is my order?"])
    second = make_conversation(store, "messenger:b", ["I need a person now"])
    case_a = escalate(handoff, store, first, reasons=[Reason.NO_ANSWER])
    emulator.fail(1, status=500, methods={"chat.postMessage"})  # refused before any write
    worker.drain_once()
    case_b = escalate(handoff, store, second, reasons=[Reason.HUMAN_REQUESTED])
    worker.drain_once()  # same instant: case_a is backing off, case_b goes through
    assert len(_case_messages(emulator, case_b)) == 1
    assert _case_messages(emulator, case_a) == []
    assert worker.outbox.jobs(case_a)[0].last_error.startswith("Slack answered 500")
    drain_all(worker, clock)
    assert len(_case_messages(emulator, case_a)) == 1


def test_no_personal_data_values_reach_slack(emulator, store, handoff, worker, clock):
    values = ["4111 1111 1111 1111", "4111111111111111", "jane.roe@example.org", "+1 415 555 0134",
              "14155550134", "DE89 3704 0044 0532 0130 00"]
    conv = make_conversation(store, "whatsapp:14155550134", [
        "My card 4111 1111 1111 1111 was charged twice, email me at jane.roe@example.org",
        "Or call +1 415 555 0134, my IBAN is DE89 3704 0044 0532 0130 00",
    ], customer_id="14155550134", handle="+1 415 555 0134")
    case_id = escalate(handoff, store, conv, reasons=[Reason.BILLING_DISPUTE, Reason.SENSITIVE_DATA],
                       summary="Customer with card 4111 1111 1111 1111 disputes a charge")
    handoff.claim(case_id, "UAGENT1")
    # A relayed message that somehow still carries raw values is scrubbed on the way out.
    handoff.relay(store.get(conv.id), "new number: +1 415 555 0134, card 4111111111111111")
    drain_all(worker, clock)

    calls = emulator.calls()
    assert any(c.method == "chat.postMessage" for c in calls)
    for call in calls:
        for value in values:
            assert value not in call.raw_body, (call.method, value)
    (posted,) = _case_messages(emulator, case_id)
    text = json.dumps(posted["blocks"])
    assert "CARD" in text and "EMAIL" in text  # the kinds are shown, never the values
    assert store.get(conv.id).status == ConversationStatus.HUMAN
