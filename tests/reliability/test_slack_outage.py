"""Slack down for a while, then rate limiting with Retry-After: every escalation reaches the
case channel exactly once afterwards."""
from __future__ import annotations

from guardrails.codes import Reason
from tests.slack.conftest import (  # noqa: F401 - fixtures reused
    CHANNEL,
    clock,
    drain_all,
    emulator,
    escalate,
    handoff,
    make_conversation,
    outbox,
    sender,
    settings,
    sink,
    store,
    worker,
)

CASES = 30


def _posted_cases(emulator) -> list[str]:  # noqa: F811
    return [(m.get("metadata") or {}).get("event_payload", {}).get("case") for m in emulator.channel_messages(CHANNEL)
            if (m.get("metadata") or {}).get("event_payload", {}).get("case")]


def test_escalations_survive_outage_then_rate_limits(emulator, store, handoff, worker, clock):  # noqa: F811
    emulator.go_down()
    case_ids = []
    for n in range(CASES):
        conv = make_conversation(store, f"messenger:outage{n}", [f"I was charged twice for order {1000 + n}"])
        case_ids.append(escalate(handoff, store, conv, reasons=[Reason.BILLING_DISPUTE]))
    assert len(set(case_ids)) == CASES

    for _ in range(6):  # Slack stays down across several rounds of backoff
        report = worker.drain_once()
        assert report.delivered == 0
        clock.advance(30)
    assert worker.outbox.pending() > 0, "jobs were dropped while Slack was down"

    emulator.come_back()
    emulator.rate_limit(times=12, retry_after=20)  # then Slack answers 429 for a while
    emulator.fail(times=3, status=500, commit_first=True)  # and a few posts land but report failure
    drain_all(worker, clock, rounds=120, step_s=25)

    posted = _posted_cases(emulator)
    assert sorted(set(posted)) == sorted(case_ids), "some cases never reached Slack"
    duplicates = {c: posted.count(c) for c in set(posted) if posted.count(c) > 1}
    assert not duplicates, f"cases posted more than once: {duplicates}"
    assert any(c.status == 429 for c in emulator.calls("chat.postMessage")), "the rate limit was never hit"
    print(f"\n{CASES} escalations: {len(set(posted))} posted once each, 0 duplicates, "
          f"{len(emulator.calls('chat.postMessage'))} chat.postMessage calls")
