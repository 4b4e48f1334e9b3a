"""The run's report: the JSON of specs/eval-suite.md (plus extra keys) and its comparison to an older one."""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from evals.loader import Suite
from evals.metrics import by_tag, check_threshold, compute_metrics, metric_counts
from evals.results import CaseResult, TurnResult
from evals.runner import RunOutput
from evals.schema import LOWER_IS_BETTER, METRIC_NAMES

REPLY_CHARS = 400  # replies in failures are cut to this (the full text is in the bot's own logs)
LATENCY_BINS = 12


def _round(value: Any) -> Any:
    return round(value, 4) if isinstance(value, float) else value


def _rounded(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: _round(v) for k, v in metrics.items()}


def _why(turn: TurnResult) -> str:
    parts = list(turn.failures)
    parts += [f"PII leak: customer's {leak.kind} appeared in {leak.where}" for leak in turn.leaks]
    if turn.error:
        parts.append(turn.error)
    return "; ".join(parts)


def failure_entry(turn: TurnResult, file: str, repeat: int) -> dict[str, Any]:
    reply = turn.reply if len(turn.reply) <= REPLY_CHARS else turn.reply[: REPLY_CHARS - 1] + "…"
    entry: dict[str, Any] = {
        "case": turn.case_id,
        "turn": turn.turn,
        "expected": turn.expect.model_dump(mode="json", exclude_none=True) if turn.expect else {},
        "got": {
            "action": turn.action or None,
            "reasons": turn.reasons,
            "priority": turn.priority,
            "citations": turn.citations,
            "reply": reply,
            "grounded": turn.grounded,
        },
        "why": _why(turn),
        "suite": turn.suite,
        "file": file,
        "tags": turn.tags,
    }
    if repeat > 1:
        entry["run"] = turn.run + 1
    return entry


def confusion(turns: Sequence[TurnResult]) -> dict[str, dict[str, int]]:
    """Expected action (a set is written a|b) -> actual action -> scored turns."""
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for t in turns:
        if not t.expected_actions:
            continue
        label = "|".join(sorted(t.expected_actions))
        out[label][t.action or "error"] += 1
    return {k: dict(v) for k, v in sorted(out.items())}


def latency_histogram(turns: Sequence[TurnResult], bins: int = LATENCY_BINS) -> dict[str, list[float]]:
    values = [t.latency_ms for t in turns if t.error is None]
    if not values:
        return {"edges_ms": [], "counts": []}
    lo, hi = min(values), max(values)
    if hi - lo < 1e-9:
        return {"edges_ms": [round(lo, 2), round(hi + 1, 2)], "counts": [len(values)]}
    width = (hi - lo) / bins
    counts = [0] * bins
    for v in values:
        counts[min(int((v - lo) / width), bins - 1)] += 1
    return {"edges_ms": [round(lo + i * width, 2) for i in range(bins + 1)], "counts": counts}


def case_rows(cases: Sequence[CaseResult]) -> list[dict[str, Any]]:
    """One row per case across repetitions: passed only if every run passed (pass^N)."""
    grouped: dict[tuple[str, str], list[CaseResult]] = {}
    for c in cases:
        grouped.setdefault((c.suite, c.case_id), []).append(c)
    rows = []
    for (suite, case_id), runs in grouped.items():
        first = runs[0]
        rows.append({
            "suite": suite, "case": case_id, "file": first.file, "tags": first.tags,
            "passed": all(r.passed for r in runs), "runs": len(runs),
            "runs_passed": sum(1 for r in runs if r.passed), "turns": len(first.turns),
        })
    return rows


def _thresholds(suites: Sequence[Suite], cases: Sequence[CaseResult]) -> dict[str, dict[str, Any]]:
    """Each suite's gates, measured over that suite's own cases.

    Keyed by metric name; when several suites gate the same metric the key is
    "metric[suite]" so no gate hides another.
    """
    declared = Counter(m for s in suites for m in s.thresholds)
    out: dict[str, dict[str, Any]] = {}
    for suite in suites:
        if not suite.thresholds:
            continue
        mine = [c for c in cases if c.suite == suite.name and c.file == str(suite.file)]
        metrics = compute_metrics([t for c in mine for t in c.turns], mine)
        for metric, want in suite.thresholds.items():
            key = metric if declared[metric] == 1 else f"{metric}[{suite.name}]"
            entry = check_threshold(metric, want, metrics[metric])
            entry["got"] = _round(entry["got"])
            entry["suite"] = suite.name
            entry["direction"] = "max" if metric in LOWER_IS_BETTER else "min"
            out[key] = entry
    return out


def build_report(suites: Sequence[Suite], run: RunOutput, *, filters: dict[str, Any] | None = None) -> dict[str, Any]:
    """The report dict (report.json); spec keys first, extras after."""
    turns = [t for c in run.cases for t in c.turns]
    first_run_turns = [t for c in run.cases if c.run == 0 for t in c.turns]
    failures = [failure_entry(t, c.file, run.repeat) for c in run.cases for t in c.turns if not t.passed]
    rows = case_rows(run.cases)
    metrics = compute_metrics(turns, run.cases)
    per_suite = {}
    for suite in suites:
        mine = [c for c in run.cases if c.suite == suite.name and c.file == str(suite.file)]
        suite_turns = [t for c in mine for t in c.turns]
        per_suite[suite.name] = {
            "file": str(suite.file), "cases": len({c.case_id for c in mine}),
            "turns_scored": sum(1 for t in suite_turns if t.scored and t.run == 0),
            "metrics": _rounded(compute_metrics(suite_turns, mine)),
        }
    report: dict[str, Any] = {
        "suite_files": [str(s.file) for s in suites],
        "cases": len(rows),
        "turns_scored": sum(1 for t in first_run_turns if t.scored),
        "metrics": _rounded(metrics),
        "by_tag": {tag: _rounded(m) for tag, m in by_tag(run.cases).items()},
        "failures": failures,
        "thresholds": _thresholds(suites, run.cases),
        # --- extras (backward-compatible additions) ---
        "passed": None,
        "counts": metric_counts(turns),
        "suites": per_suite,
        "case_results": rows,
        "confusion": confusion(turns),
        "latency_histogram": latency_histogram(turns),
        "grounding_checker": run.grounding_checker,
        "gate_rejections": getattr(run, "gate_rejections", 0),
        "llm": run.llm,
        "composers": run.composers,
        "kb": {"path": run.kb.path, "documents": run.kb.documents, "chunks": run.kb.chunks, "failed": run.kb.failed},
        "repeat": run.repeat,
        "filters": filters or {},
        "duration_s": round(run.duration_s, 2),
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "metric_notes": {
            "null": "not measured: no turn in scope for this metric",
            "case_pass_rate": "share of cases whose every turn passed in every run (pass^N with --repeat N)",
            "latency": "engine wall time per turn, in-process, after one warm-up turn",
        },
    }
    report["passed"] = all(t["ok"] for t in report["thresholds"].values())
    return report


def compare(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Per-metric deltas and the cases that went pass->fail (regressed) or fail->pass (fixed)."""
    deltas: dict[str, dict[str, Any]] = {}
    old_m, new_m = old.get("metrics", {}) or {}, new.get("metrics", {}) or {}
    for name in [*METRIC_NAMES, *[k for k in new_m if k not in METRIC_NAMES]]:
        if name not in old_m and name not in new_m:
            continue
        a, b = old_m.get(name), new_m.get(name)
        delta = _round(b - a) if isinstance(a, int | float) and isinstance(b, int | float) else None
        better = None
        if delta:
            better = (delta < 0) if name in LOWER_IS_BETTER else (delta > 0)
        deltas[name] = {"old": a, "new": b, "delta": delta, "better": better}

    def status(report: dict[str, Any]) -> dict[tuple[str, str], bool] | None:
        rows = report.get("case_results")
        if isinstance(rows, list):
            return {(str(r.get("suite", "")), str(r.get("case"))): bool(r.get("passed")) for r in rows}
        return None

    old_s, new_s = status(old), status(new)
    regressed: list[dict[str, str]] = []
    fixed: list[dict[str, str]] = []
    if old_s is not None and new_s is not None:
        for key, passed in new_s.items():
            if key in old_s and old_s[key] and not passed:
                regressed.append({"suite": key[0], "case": key[1]})
            elif key in old_s and not old_s[key] and passed:
                fixed.append({"suite": key[0], "case": key[1]})
    else:  # an older report without case_results: fall back to the failures lists
        old_failed = {str(f.get("case")) for f in old.get("failures", [])}
        new_failed = {str(f.get("case")) for f in new.get("failures", [])}
        regressed = [{"suite": "", "case": c} for c in sorted(new_failed - old_failed)]
        fixed = [{"suite": "", "case": c} for c in sorted(old_failed - new_failed)]
    return {"metrics": deltas, "pass_to_fail": regressed, "fail_to_pass": fixed}
