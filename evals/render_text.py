"""The terminal summary of a run (text format): metric table, gates, failures, comparison."""
from __future__ import annotations

from typing import Any, TextIO

from evals.render_md import fmt
from evals.schema import METRIC_NAMES

SHOWN_FAILURES = 15


def print_summary(report: dict[str, Any], out: TextIO) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(file=out, highlight=False, soft_wrap=False)
    table = Table(title=f"Concierge eval: {report['cases']} cases, {report['turns_scored']} scored turns")
    table.add_column("metric")
    table.add_column("value", justify="right")
    comparison = report.get("comparison")
    if comparison:
        table.add_column("delta", justify="right")
    for name in METRIC_NAMES:
        if name not in report["metrics"]:
            continue
        row = [name, fmt(report["metrics"][name], name)]
        if comparison:
            d = comparison["metrics"].get(name, {})
            delta = d.get("delta")
            if delta is None:
                row.append("")
            else:
                style = "green" if d.get("better") else ("red" if d.get("better") is False else "")
                txt = (f"{delta:+.0f} ms" if name.startswith("latency") else
                       f"{delta:+d}" if isinstance(delta, int) else f"{delta * 100:+.1f} pts")
                row.append(f"[{style}]{txt}[/{style}]" if style else txt)
        table.add_row(*row)
    console.print(table)

    gates = report.get("thresholds", {})
    if gates:
        gt = Table(title="Thresholds")
        for col in ("gate", "want", "got", "ok"):
            gt.add_column(col)
        for key, g in gates.items():
            metric = key.split("[")[0]
            op = "<=" if g.get("direction") == "max" else ">="
            gt.add_row(escape(key), f"{op} {fmt(g['want'], metric)}", fmt(g["got"], metric),
                       "[green]yes[/green]" if g["ok"] else "[red]NO[/red]")
        console.print(gt)

    failures = report.get("failures", [])
    if failures:
        ft = Table(title=f"Failures ({len(failures)}; first {min(len(failures), SHOWN_FAILURES)})")
        for col in ("case", "turn", "why"):
            ft.add_column(col, overflow="fold")
        for f in failures[:SHOWN_FAILURES]:
            ft.add_row(escape(str(f["case"])), str(f["turn"]), escape(f["why"]))
        console.print(ft)
    if comparison:
        regressed = comparison.get("pass_to_fail", [])
        fixed = comparison.get("fail_to_pass", [])
        console.print(f"pass -> fail: {len(regressed)}" + (": " + escape(", ".join(c["case"] for c in regressed[:50]))
                                                           if regressed else ""))
        console.print(f"fail -> pass: {len(fixed)}")
    console.print(escape(f"grounding checker: {report.get('grounding_checker', '')}; composer: {report.get('llm', '')}"))
    if gates:
        console.print("[green]all thresholds met[/green]" if report["passed"] else "[red]a threshold was missed[/red]")
