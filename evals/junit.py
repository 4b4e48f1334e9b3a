"""JUnit XML of a report: one <testsuite> per suite, one <testcase> per case (CI dashboards read it)."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict
from typing import Any


def _fmt(value: Any) -> str:
    return "n/a" if value is None else (f"{value:.4g}" if isinstance(value, float) else str(value))


def to_junit(report: dict[str, Any]) -> str:
    """The report as a JUnit XML document (a failing case carries its turns' failure reasons)."""
    failures_by_case: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for f in report.get("failures", []):
        failures_by_case[(f.get("suite", ""), f["case"])].append(f)

    root = ET.Element("testsuites", name="concierge-eval")
    rows_by_suite: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in report.get("case_results", []):
        rows_by_suite[row["suite"]].append(row)
    total = failed = 0
    for suite, rows in rows_by_suite.items():
        n_failed = sum(1 for r in rows if not r["passed"])
        ts = ET.SubElement(root, "testsuite", name=suite, tests=str(len(rows)), failures=str(n_failed),
                           errors="0", skipped="0", time="0")
        props = ET.SubElement(ts, "properties")
        for name, value in (report.get("suites", {}).get(suite, {}).get("metrics", {}) or {}).items():
            ET.SubElement(props, "property", name=name, value=_fmt(value))
        for row in rows:
            tc = ET.SubElement(ts, "testcase", classname=f"eval.{suite}", name=row["case"], file=row.get("file", ""),
                               time="0")
            if row["passed"]:
                continue
            fails = failures_by_case.get((suite, row["case"]), [])
            first = fails[0]["why"] if fails else "case failed"
            message = f"turn {fails[0]['turn']}: {first}" if fails else first
            body = "\n".join(
                f"turn {f['turn']}{' run ' + str(f['run']) if 'run' in f else ''}: {f['why']}\n"
                f"  expected: {f['expected']}\n  got: action={f['got'].get('action')} "
                f"reasons={f['got'].get('reasons')} citations={f['got'].get('citations')}\n"
                f"  reply: {f['got'].get('reply', '')}"
                for f in fails
            )
            el = ET.SubElement(tc, "failure", message=message[:500], type="EvalFailure")
            el.text = body
        total += len(rows)
        failed += n_failed

    # Thresholds are the run's gates: one test case each, in their own suite.
    gates = report.get("thresholds", {})
    if gates:
        ts = ET.SubElement(root, "testsuite", name="thresholds", tests=str(len(gates)),
                           failures=str(sum(1 for g in gates.values() if not g["ok"])), errors="0",
                           skipped="0", time="0")
        for key, gate in gates.items():
            tc = ET.SubElement(ts, "testcase", classname="eval.thresholds", name=key, time="0")
            if not gate["ok"]:
                op = "<=" if gate.get("direction") == "max" else ">="
                ET.SubElement(tc, "failure", type="ThresholdMissed",
                              message=f"{key}: want {op} {_fmt(gate['want'])}, got {_fmt(gate['got'])}")
        total += len(gates)
        failed += sum(1 for g in gates.values() if not g["ok"])
    root.set("tests", str(total))
    root.set("failures", str(failed))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
