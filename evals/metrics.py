"""The metrics of specs/eval-suite.md as pure functions of turn results.

A metric whose denominator is empty (e.g. no turn expected `answer`) is None ("not
measured"), not 0: a suite without escalations did not score 0 on escalation precision.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from evals.results import CaseResult, TurnResult
from evals.schema import LOWER_IS_BETTER
from evals.scoring import citations_ok, content_failures, has_citation_check

ESCALATE = "escalate"
ANSWER = "answer"
CLARIFY = "clarify"
# "Answered (not escalated, not declined)": relay means a human already has it.
NOT_CONTAINED = frozenset({"escalate", "decline", "relay"})


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in [0, 100]); None for no values."""
    if not values:
        return None
    data = sorted(values)
    if len(data) == 1:
        return float(data[0])
    pos = (len(data) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return float(data[lo] + (data[hi] - data[lo]) * (pos - lo))


def expects_only(turn: TurnResult, action: str) -> bool:
    """The expected set is exactly {action} (the spec's must-escalate / must-answer)."""
    return turn.expected_actions == frozenset({action})


def answer_correct(turn: TurnResult) -> bool:
    """Action is answer and every cites/contains/max_chars check passes."""
    if turn.action != ANSWER or turn.expect is None:
        return False
    return citations_ok(turn.expect, turn.citations) and not content_failures(turn.expect, turn.reply, turn.messages)


def escalation_counts(turns: Iterable[TurnResult]) -> tuple[int, int, int]:
    """(tp, fp, fn) over turns whose expected set is only-escalate or excludes escalate.

    Sets that include escalate among other actions say "either is fine": they are
    neither positives nor negatives, so they are left out.
    """
    tp = fp = fn = 0
    for t in turns:
        expected = t.expected_actions
        if not expected:
            continue
        if ESCALATE in expected and len(expected) > 1:
            continue
        must = expected == frozenset({ESCALATE})
        did = t.action == ESCALATE
        if must and did:
            tp += 1
        elif must:
            fn += 1
        elif did:
            fp += 1
    return tp, fp, fn


def case_pass_rate(cases: Sequence[CaseResult]) -> float | None:
    """Share of cases that passed in every run (pass^N when each case ran N times)."""
    outcome: dict[tuple[str, str, str], bool] = {}
    for c in cases:
        key = (c.suite, c.file, c.case_id)
        outcome[key] = outcome.get(key, True) and c.passed
    return _ratio(sum(outcome.values()), len(outcome))


def compute_metrics(turns: Sequence[TurnResult], cases: Sequence[CaseResult] = ()) -> dict[str, Any]:
    """All metrics over the given turns (scored ones count; pii_leaks and latency count every turn)."""
    scored = [t for t in turns if t.scored]
    with_action = [t for t in scored if t.expected_actions]
    expect_answer = [t for t in with_action if expects_only(t, ANSWER)]
    answered = [t for t in scored if t.action == ANSWER]

    tp, fp, fn = escalation_counts(scored)
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    if precision is None or recall is None:
        f1 = None
    else:
        f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)

    escalated_ok = [
        t for t in scored
        if t.action == ESCALATE and ESCALATE in t.expected_actions and t.expect and t.expect.reason
    ]
    reason_hits = sum(1 for t in escalated_ok if {r.value for r in t.expect.reason} & set(t.reasons))  # type: ignore[union-attr]

    cite_turns = [t for t in scored if has_citation_check(t.expect)]
    grounded = [t.grounded for t in answered if t.grounded is not None]
    latencies = [t.latency_ms for t in turns if t.error is None]

    return {
        "action_accuracy": _ratio(sum(1 for t in with_action if t.action in t.expected_actions), len(with_action)),
        "answer_accuracy": _ratio(sum(1 for t in expect_answer if answer_correct(t)), len(expect_answer)),
        "containment_rate": _ratio(sum(1 for t in expect_answer if t.action not in NOT_CONTAINED), len(expect_answer)),
        "escalation_precision": precision,
        "escalation_recall": recall,
        "escalation_f1": f1,
        "reason_accuracy": _ratio(reason_hits, len(escalated_ok)),
        "citation_hit_rate": _ratio(
            sum(1 for t in cite_turns if citations_ok(t.expect, t.citations)), len(cite_turns)  # type: ignore[arg-type]
        ),
        "groundedness": sum(grounded) / len(grounded) if grounded else None,
        "pii_leaks": sum(len(t.leaks) for t in turns),
        "over_escalation_rate": _ratio(sum(1 for t in expect_answer if t.action == ESCALATE), len(expect_answer)),
        # A question the KB answers, met with "is your question about A or B?": contained, yet unanswered.
        "clarify_rate": _ratio(sum(1 for t in expect_answer if t.action == CLARIFY), len(expect_answer)),
        "latency_ms_p50": percentile(latencies, 50),
        "latency_ms_p95": percentile(latencies, 95),
        "case_pass_rate": case_pass_rate(cases),
        # every turn, scored or not: evals.scoring.InternalDocs marks these failures "internal: ..."
        "internal_leaks": sum(1 for t in turns if any(f.startswith("internal:") for f in t.failures)),
    }


def metric_counts(turns: Sequence[TurnResult]) -> dict[str, int]:
    """Denominators behind the metrics, so a reader can tell 1.0 of 2 from 1.0 of 200."""
    scored = [t for t in turns if t.scored]
    tp, fp, fn = escalation_counts(scored)
    return {
        "turns_played": len(turns),
        "turns_scored": len(scored),
        "turns_with_expected_action": sum(1 for t in scored if t.expected_actions),
        "turns_expecting_answer": sum(1 for t in scored if expects_only(t, ANSWER)),
        "turns_must_escalate": tp + fn,
        "turns_escalated": sum(1 for t in scored if t.action == ESCALATE),
        "escalation_tp": tp,
        "escalation_fp": fp,
        "escalation_fn": fn,
        "turns_with_citation_check": sum(1 for t in scored if has_citation_check(t.expect)),
        "turns_answered": sum(1 for t in scored if t.action == ANSWER),
        "engine_errors": sum(1 for t in turns if t.error is not None),
    }


def by_tag(cases: Sequence[CaseResult]) -> dict[str, dict[str, Any]]:
    """Every metric per tag (a case counts under each of its tags), plus case counts."""
    tags = sorted({tag for c in cases for tag in c.tags})
    out: dict[str, dict[str, Any]] = {}
    for tag in tags:
        tagged = [c for c in cases if tag in c.tags]
        turns = [t for c in tagged for t in c.turns]
        entry = compute_metrics(turns, tagged)
        entry["cases"] = len({(c.suite, c.case_id) for c in tagged})
        entry["turns_scored"] = sum(1 for t in turns if t.scored)
        out[tag] = entry
    return out


def check_threshold(metric: str, want: float, got: float | None) -> dict[str, Any]:
    """{want, got, ok}: a floor for most metrics, a ceiling for leaks, over-escalation and latency."""
    if got is None:
        # Nothing in scope to measure (e.g. filtered away by --tag): not a miss, but said so.
        return {"want": want, "got": None, "ok": True, "note": "not measured: no turns in scope"}
    ok = got <= want if metric in LOWER_IS_BETTER else got >= want
    if metric in ("pii_leaks", "internal_leaks") and float(want).is_integer():
        want = int(want)  # a count, written as one
    return {"want": want, "got": got, "ok": ok}
