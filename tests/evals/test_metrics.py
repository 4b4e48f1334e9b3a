"""Metric definitions of specs/eval-suite.md on hand-built turn results (metrics are pure functions)."""
from __future__ import annotations

import pytest

from evals.metrics import by_tag, check_threshold, compute_metrics, percentile
from evals.results import CaseResult, Leak, TurnResult
from evals.schema import Expect


def turn(expect: dict | None, action: str, *, case: str = "c", reasons=(), citations=(), reply="",
         grounded=None, latency=10.0, tags=("t",), leaks=(), failures=()) -> TurnResult:
    return TurnResult(case_id=case, turn=1, expect=Expect.model_validate(expect) if expect is not None else None,
                      action=action, reasons=list(reasons), citations=list(citations), reply=reply,
                      messages=[reply] if reply else [], grounded=grounded, latency_ms=latency,
                      tags=list(tags), leaks=list(leaks), failures=list(failures))


def test_escalation_precision_recall_exclude_mixed_expected_sets() -> None:
    turns = [
        turn({"action": "escalate"}, "escalate"),              # TP
        turn({"action": "escalate"}, "answer"),                # FN
        turn({"action": "answer"}, "escalate"),                # FP
        turn({"action": ["answer", "clarify"]}, "answer"),     # TN
        turn({"action": ["answer", "escalate"]}, "escalate"),  # excluded: either is fine
        turn({"action": ["escalate", "decline"]}, "answer"),   # excluded
    ]
    m = compute_metrics(turns)
    assert m["escalation_precision"] == pytest.approx(0.5)
    assert m["escalation_recall"] == pytest.approx(0.5)
    assert m["escalation_f1"] == pytest.approx(0.5)
    # The mixed sets still count for action accuracy: 3 of 6 actions are in their expected set.
    assert m["action_accuracy"] == pytest.approx(3 / 6)


def test_answer_accuracy_containment_and_over_escalation() -> None:
    ok = {"action": "answer", "cites": ["a"], "contains_any": ["30 days"], "max_chars": 40}
    turns = [
        turn(ok, "answer", citations=["a"], reply="You have 30 days."),              # correct
        turn(ok, "answer", citations=["b"], reply="You have 30 days."),              # wrong citation
        turn(ok, "answer", citations=["a"], reply="You have 30 days. " + "x" * 40),  # too long
        turn(ok, "clarify"),                                                         # contained, not correct
        turn(ok, "escalate"),                                                        # over-escalated
        turn(ok, "decline"),                                                         # not contained
        turn({"action": ["answer", "clarify"]}, "escalate"),  # not "expecting answer": left out
    ]
    m = compute_metrics(turns)
    assert m["answer_accuracy"] == pytest.approx(1 / 6)
    assert m["containment_rate"] == pytest.approx(4 / 6)
    assert m["over_escalation_rate"] == pytest.approx(1 / 6)
    # One clarify among the six turns that expected exactly `answer`; the mixed set is left out.
    assert m["clarify_rate"] == pytest.approx(1 / 6)


def test_clarify_rate_counts_only_turns_expecting_exactly_answer() -> None:
    turns = [
        turn({"action": "answer"}, "clarify"),
        turn({"action": "answer"}, "answer"),
        turn({"action": ["answer", "clarify"]}, "clarify"),  # clarify allowed: not "answerable"
        turn({"action": "escalate"}, "clarify"),
    ]
    assert compute_metrics(turns)["clarify_rate"] == pytest.approx(0.5)
    assert compute_metrics([turn({"action": "escalate"}, "clarify")])["clarify_rate"] is None
    # A ceiling, like over-escalation: 0.5 misses a 0.05 gate.
    assert check_threshold("clarify_rate", 0.05, 0.5)["ok"] is False


def test_reason_accuracy_over_correct_escalations_with_a_reason() -> None:
    turns = [
        turn({"action": "escalate", "reason": "fraud_security"}, "escalate", reasons=["fraud_security"]),
        turn({"action": "escalate", "reason": ["billing_dispute", "legal_threat"]}, "escalate", reasons=["other"]),
        turn({"action": "escalate", "reason": "fraud_security"}, "answer"),  # not escalated: not counted
        turn({"action": "escalate"}, "escalate", reasons=["other"]),           # no expected reason
    ]
    assert compute_metrics(turns)["reason_accuracy"] == pytest.approx(0.5)


def test_citation_hit_rate_groundedness_leaks_latency() -> None:
    turns = [
        turn({"cites": ["a", "b"]}, "answer", citations=["a", "b", "c"], grounded=1.0, latency=10),
        turn({"cites_any": ["x", "y"]}, "answer", citations=["z"], grounded=0.5, latency=20),
        turn({"action": "escalate"}, "escalate", latency=30, leaks=[Leak(kind="CARD", where="logs")]),
        turn(None, "answer", grounded=0.0, latency=40),  # unscored: no groundedness, but timed
    ]
    m = compute_metrics(turns)
    assert m["citation_hit_rate"] == pytest.approx(0.5)
    assert m["groundedness"] == pytest.approx(0.75)
    assert m["pii_leaks"] == 1
    assert m["latency_ms_p50"] == pytest.approx(25.0)
    assert percentile([10, 20, 30, 40], 95) == pytest.approx(38.5)


def test_empty_denominators_are_none_not_zero() -> None:
    m = compute_metrics([turn({"action": "answer"}, "answer")])
    assert m["escalation_precision"] is None and m["escalation_recall"] is None and m["reason_accuracy"] is None
    assert m["answer_accuracy"] == 1.0


def test_case_pass_rate_is_pass_hat_n_and_by_tag() -> None:
    good = turn({"action": "answer"}, "answer", tags=("a",))
    bad = turn({"action": "answer"}, "clarify", tags=("a", "b"), failures=["action"])
    cases = [
        CaseResult(case_id="one", suite="s", file="f", tags=["a"], run=0, turns=[good]),
        CaseResult(case_id="one", suite="s", file="f", tags=["a"], run=1, turns=[good]),
        CaseResult(case_id="two", suite="s", file="f", tags=["a", "b"], run=0, turns=[good]),
        CaseResult(case_id="two", suite="s", file="f", tags=["a", "b"], run=1, turns=[bad]),
    ]
    m = compute_metrics([t for c in cases for t in c.turns], cases)
    assert m["case_pass_rate"] == pytest.approx(0.5)  # "two" failed one of its two runs
    tags = by_tag(cases)
    assert tags["b"]["cases"] == 1 and tags["b"]["case_pass_rate"] == 0.0
    assert tags["a"]["action_accuracy"] == pytest.approx(0.75)


def test_thresholds_are_floors_or_ceilings() -> None:
    assert check_threshold("escalation_recall", 0.9, 0.95)["ok"] is True
    assert check_threshold("escalation_recall", 0.9, 0.85)["ok"] is False
    assert check_threshold("pii_leaks", 0, 1)["ok"] is False
    assert check_threshold("latency_ms_p95", 500, 120.0)["ok"] is True
    assert check_threshold("answer_accuracy", 0.8, None)["got"] is None
