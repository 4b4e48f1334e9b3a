"""Per-suite eval table: `concierge eval` on each suite file of a data folder, one row each.

    python -m bench suites --data /work/shared/data [--llm extractive] [--limit-files NAME,...]

The evaluator's own numbers (the same command a user runs, through the CLI, one process per
file so no state leaks between suites), gathered into the README's results table. Writes
bench/results/suites.json and prints a Markdown table.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.measure import RESULTS

# (suite file relative to --data, its knowledge base relative to --data)
SUITES: list[tuple[str, str]] = [
    ("covid-faq/paraphrases.jsonl", "covid-faq/kb"),
    ("covid-faq/out_of_scope.jsonl", "covid-faq/kb"),
    ("covid-faq/human_requested.jsonl", "covid-faq/kb"),
    ("covid-faq/fraud_security.jsonl", "covid-faq/kb"),
    ("covid-faq/manipulation.jsonl", "covid-faq/kb"),
    ("doc2dial/turns.jsonl", "doc2dial/kb"),
]
COLUMNS = [
    ("action_accuracy", "action acc."), ("escalation_precision", "esc. P"), ("escalation_recall", "esc. R"),
    ("reason_accuracy", "reason acc."), ("containment_rate", "containment"),
    ("citation_hit_rate", "citation hit"), ("groundedness", "grounded"), ("pii_leaks", "PII leaks"),
    ("latency_ms_p50", "p50 ms"), ("latency_ms_p95", "p95 ms"),
]


def run_suite(suite: Path, kb: Path, llm: str | None) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "connectors.cli", "eval", str(suite), "--kb", str(kb), "--format", "json"]
    if llm:
        cmd += ["--llm", llm]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode not in (0, 1):  # 1 = a threshold missed, still a report
        raise RuntimeError(f"{suite}: eval exited {done.returncode}: {done.stderr.strip()[-400:]}")
    return json.loads(done.stdout)


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.0f}" if value >= 10 else f"{value:.3f}"
    return str(value)


def table(rows: list[dict[str, Any]]) -> str:
    head = "| suite | cases | " + " | ".join(label for _, label in COLUMNS) + " |"
    sep = "| --- " * (len(COLUMNS) + 2) + "|"
    lines = [head, sep]
    for row in rows:
        m = row["metrics"]
        lines.append(f"| {row['suite']} | {row['cases']} | " + " | ".join(_cell(m.get(k)) for k, _ in COLUMNS) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench suites", description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, type=Path, help="the shared data folder (…/shared/data)")
    ap.add_argument("--llm", default=None, help="composer for the run (default: the eval default)")
    ap.add_argument("--only", default="", help="comma-separated substrings of suite paths to run")
    args = ap.parse_args(argv)
    wanted = [s for s in args.only.split(",") if s]
    rows = []
    for suite, kb in SUITES:
        if wanted and not any(w in suite for w in wanted):
            continue
        path = args.data / suite
        if not path.exists():
            print(f"skipped {suite}: not found under {args.data}", file=sys.stderr)
            continue
        report = run_suite(path, args.data / kb, args.llm)
        rows.append({"suite": suite, "cases": report["cases"], "metrics": report["metrics"]})
        print(f"{suite}: {report['cases']} cases, action accuracy {report['metrics'].get('action_accuracy')}",
              file=sys.stderr, flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "suites.json").write_text(json.dumps(rows, indent=2), encoding="utf-8")
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
