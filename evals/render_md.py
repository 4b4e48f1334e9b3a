"""report.md: the report as Markdown (for a PR comment or a CI summary)."""
from __future__ import annotations

from typing import Any

from evals.schema import METRIC_NAMES

MAX_FAILURES = 200


def fmt(value: Any, metric: str = "") -> str:
    """A metric value for people: rates as percentages, latency in ms, None as n/a."""
    if value is None:
        return "n/a"
    if metric.startswith("latency"):
        return f"{value:.0f} ms"
    if metric == "pii_leaks" or isinstance(value, bool) or isinstance(value, int):
        return str(value)
    return f"{value * 100:.1f}%"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(report: dict[str, Any]) -> str:
    lines = ["# Concierge eval report", ""]
    lines.append(f"Suites: {', '.join(report.get('suite_files', []))}  ")
    lines.append(f"Cases: {report['cases']}, scored turns: {report['turns_scored']}, "
                 f"repeat: {report.get('repeat', 1)}, KB: {report.get('kb', {}).get('path', '')} "
                 f"({report.get('kb', {}).get('documents', 0)} documents)  ")
    lines.append(f"Composer: {report.get('llm', '')}; grounding checker: {report.get('grounding_checker', '')}")
    lines += ["", "## Metrics", "", "| metric | value |", "| --- | --- |"]
    for name in METRIC_NAMES:
        if name in report["metrics"]:
            lines.append(f"| {name} | {fmt(report['metrics'][name], name)} |")
    gates = report.get("thresholds", {})
    if gates:
        lines += ["", "## Thresholds", "", "| gate | want | got | ok |", "| --- | --- | --- | --- |"]
        for key, g in gates.items():
            op = "<=" if g.get("direction") == "max" else ">="
            metric = key.split("[")[0]
            lines.append(f"| {_cell(key)} | {op} {fmt(g['want'], metric)} | {fmt(g['got'], metric)} | "
                         f"{'yes' if g['ok'] else '**NO**'} |")
    by_tag = report.get("by_tag", {})
    if by_tag:
        cols = ["action_accuracy", "answer_accuracy", "escalation_recall", "escalation_precision",
                "citation_hit_rate", "case_pass_rate"]
        lines += ["", "## By tag", "", "| tag | cases | " + " | ".join(cols) + " |",
                  "| --- | --- | " + " | ".join("---" for _ in cols) + " |"]
        for tag, m in by_tag.items():
            lines.append(f"| {_cell(tag)} | {m.get('cases', '')} | " + " | ".join(fmt(m.get(c), c) for c in cols) + " |")
    cmp = report.get("comparison")
    if cmp:
        lines += ["", "## Compared with the previous report", "", "| metric | old | new | delta |",
                  "| --- | --- | --- | --- |"]
        for name, d in cmp["metrics"].items():
            delta = d["delta"]
            delta_txt = "" if delta is None else (f"{delta:+.0f} ms" if name.startswith("latency")
                                                  else (f"{delta:+d}" if isinstance(delta, int)
                                                        else f"{delta * 100:+.1f} pts"))
            lines.append(f"| {name} | {fmt(d['old'], name)} | {fmt(d['new'], name)} | {delta_txt} |")
        if cmp["pass_to_fail"]:
            lines += ["", "Cases that went pass -> fail: " + ", ".join(c["case"] for c in cmp["pass_to_fail"])]
    failures = report.get("failures", [])
    lines += ["", f"## Failures ({len(failures)})", ""]
    if failures:
        lines += ["| case | turn | expected | got | why |", "| --- | --- | --- | --- | --- |"]
        for f in failures[:MAX_FAILURES]:
            expected = ", ".join(f"{k}={v}" for k, v in f["expected"].items())
            got = f"{f['got'].get('action')} {f['got'].get('reasons') or ''} {f['got'].get('citations') or ''}"
            lines.append(f"| {_cell(f['case'])} | {f['turn']} | {_cell(expected)} | {_cell(got)} | {_cell(f['why'])} |")
        if len(failures) > MAX_FAILURES:
            lines.append(f"\n... and {len(failures) - MAX_FAILURES} more (see report.json)")
    else:
        lines.append("None.")
    return "\n".join(lines) + "\n"
