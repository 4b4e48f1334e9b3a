"""Cross-brand eval table: every suite under a data folder plus the own suites, one row each.

    python -m bench suites --data ../shared/data [--only SUBSTR,...] [--tag TAG]... [--jobs N]
                           [--default-kb brands/munchbox/kb] [--llm extractive]

Suites are found, not listed: every *.yaml / *.yml / *.jsonl below --data that is a suite (a YAML
mapping with `cases`, or JSON lines with `turns`), outside folders named `kb`, `labelled` or `pii`.
A suite runs against the `kb/` folder of its nearest ancestor (up to --data); suites with none
(safety/) run against --default-kb (relative paths are taken from --data). The own suites
(evals/suites) run against knowledge/sample. One `concierge eval` process per knowledge base, with
all of its suite files, so each KB is ingested and the engine started once; the report's per-suite
metrics give the suite rows and its overall metrics the KB row.

The macro row averages each metric over the knowledge bases (a KB's value pools the turns of all
its suites); the worst row is the lowest value (highest for over-escalation, clarify, leaks and
latency) with the KB it came from. Suites run on the default KB form their own group, so a shop's
numbers are not mixed with the safety sets. Judge a change to answering by these two rows, not by
one suite. Writes bench/results/suites.json and prints one Markdown table.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from bench.measure import RESULTS, ROOT

OWN_SUITES = ROOT / "evals" / "suites"
OWN_KB = ROOT / "knowledge" / "sample"
DEFAULT_KB = "brands/munchbox/kb"
NOT_SUITES = frozenset({"kb", "labelled", "pii"})  # data folders, never suites
SUITE_EXTS = (".yaml", ".yml", ".jsonl")

# (metric key, column label, lower is better)
COLUMNS: list[tuple[str, str, bool]] = [
    ("action_accuracy", "action acc.", False),
    ("answer_accuracy", "answer acc.", False),
    ("citation_hit_rate", "citation hit", False),
    ("escalation_recall", "esc. recall", False),
    ("escalation_precision", "esc. precision", False),
    ("reason_accuracy", "reason acc.", False),
    ("over_escalation_rate", "over-escalation", True),
    ("clarify_rate", "clarify on answerable", True),
    ("containment_rate", "containment", False),
    ("pii_leaks", "PII leaks", True),
    ("latency_ms_p95", "p95 ms", True),
]


@dataclass
class Group:
    """The suites that share one knowledge base: one eval process."""

    label: str  # short name shown in the table (e.g. brands/kestrel, own sample)
    kb: Path
    suites: list[tuple[str, Path]] = field(default_factory=list)  # (row label, file)


def is_suite(path: Path) -> bool:
    """A suite file by content: YAML with `cases`, or JSON lines whose first record has `turns`."""
    try:
        if path.suffix == ".jsonl":
            with path.open(encoding="utf-8") as fh:
                first = next((line for line in fh if line.strip()), "")
            record = json.loads(first) if first else None
            return isinstance(record, dict) and "turns" in record
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return isinstance(data, dict) and "cases" in data
    except (OSError, ValueError, yaml.YAMLError):
        return False


def nearest_kb(path: Path, root: Path) -> Path | None:
    """The `kb/` folder of the suite's nearest ancestor folder, searching up to `root` itself."""
    folder = path.parent
    while True:
        if (folder / "kb").is_dir():
            return folder / "kb"
        if folder == root or root not in folder.parents:
            return None
        folder = folder.parent


def _short(kb: Path, root: Path) -> str:
    """brands/kestrel for …/brands/kestrel/kb: the folder that owns the KB."""
    rel = kb.relative_to(root) if root in kb.parents else kb
    return str(rel.parent) if rel.name == "kb" and str(rel.parent) != "." else str(rel)


def discover(data: Path | None, default_kb: Path | None) -> tuple[list[Group], list[str]]:
    """Groups to run (own suites first, then data KBs by path, the default-KB group last); notes."""
    groups: list[Group] = []
    notes: list[str] = []
    own = Group("own (knowledge/sample)", OWN_KB)
    for path in sorted(p for p in OWN_SUITES.rglob("*") if p.suffix in SUITE_EXTS):
        own.suites.append((str(path.relative_to(ROOT)), path))
    groups.append(own)
    if data is None:
        return groups, notes
    by_kb: dict[Path, Group] = {}
    on_default: Group | None = None
    for path in sorted(p for p in data.rglob("*") if p.suffix in SUITE_EXTS and p.is_file()):
        rel = path.relative_to(data)
        if NOT_SUITES & set(rel.parts[:-1]):
            continue
        if not is_suite(path):
            notes.append(f"skipped {rel}: not a suite (no `cases` / `turns`)")
            continue
        kb = nearest_kb(path, data)
        if kb is None:
            if default_kb is None or not default_kb.is_dir():
                notes.append(f"skipped {rel}: no kb/ above it and no default KB ({default_kb})")
                continue
            if on_default is None:
                on_default = Group(f"{{suites}} on default KB {_short(default_kb, data)}", default_kb)
            on_default.suites.append((str(rel), path))
            continue
        group = by_kb.setdefault(kb, Group(_short(kb, data), kb))
        group.suites.append((str(rel), path))
    groups += sorted(by_kb.values(), key=lambda g: str(g.kb))
    if on_default is not None:
        folders = sorted({str(Path(label).parent) for label, _ in on_default.suites})
        on_default.label = on_default.label.replace("{suites}", "+".join(folders))
        groups.append(on_default)
    return groups, notes


def suite_name(path: Path) -> str:
    """The name the eval report keys a suite by: the YAML `suite:` header, else the file stem."""
    if path.suffix in (".yaml", ".yml"):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            data = None
        if isinstance(data, dict) and data.get("suite"):
            return str(data["suite"])
    return path.stem


def run_eval(files: list[Path], kb: Path, *, tags: list[str], llm: str | None) -> tuple[int, dict[str, Any] | None, str]:
    """(exit code, report or None, last stderr line) of one `concierge eval` process."""
    cmd = [sys.executable, "-m", "connectors.cli", "eval", *map(str, files), "--kb", str(kb), "--format", "json"]
    for tag in tags:
        cmd += ["--tag", tag]
    if llm:
        cmd += ["--llm", llm]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, stdin=subprocess.DEVNULL)
    err_lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
    last = err_lines[-1] if err_lines else ""
    if done.returncode not in (0, 1):  # 1 = a threshold missed: still a full report
        return done.returncode, None, last
    try:  # a Python traceback also exits 1, with nothing on stdout
        return done.returncode, json.loads(done.stdout), last
    except ValueError:
        return done.returncode, None, last or "no report on stdout"


def run_group(group: Group, *, tags: list[str], llm: str | None) -> dict[str, Any]:
    """One eval over all of the group's files; a file whose suite name another file also uses is
    run again alone for its own row (the report keys per-suite metrics by name)."""
    start = time.monotonic()
    files = [path for _, path in group.suites]
    code, report, err = run_eval(files, group.kb, tags=tags, llm=llm)
    out: dict[str, Any] = {"kb": group.label, "kb_path": str(group.kb), "exit": code, "suites": []}
    if report is None:
        # --tag/--only can leave a KB with no case: nothing to measure, not a failure
        out["skipped" if "no case matches" in err else "error"] = err
        out["duration_s"] = round(time.monotonic() - start, 1)
        return out
    names = {path: suite_name(path) for path in files}
    shared = {n for n, k in Counter(names.values()).items() if k > 1}
    per_suite = report.get("suites", {})
    for label, path in group.suites:
        entry = per_suite.get(names[path])
        if names[path] in shared:
            _, alone, _ = run_eval([path], group.kb, tags=tags, llm=llm)
            entry = (alone or {}).get("suites", {}).get(names[path])
        if entry is None:  # every case filtered away by --tag
            out["suites"].append({"suite": label, "cases": 0, "metrics": {}})
            continue
        out["suites"].append({"suite": label, "cases": entry["cases"], "metrics": _pick(entry["metrics"])})
    out["cases"] = report["cases"]
    out["metrics"] = _pick(report["metrics"])
    out["thresholds_passed"] = report.get("passed")
    out["duration_s"] = round(time.monotonic() - start, 1)
    return out


def _pick(metrics: dict[str, Any]) -> dict[str, Any]:
    """The table's metrics plus the few others worth keeping in the JSON."""
    keys = [k for k, _, _ in COLUMNS] + ["escalation_f1", "groundedness", "latency_ms_p50", "case_pass_rate"]
    return {k: metrics.get(k) for k in keys}


def summary_rows(kbs: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(macro: mean of each metric over the KBs that measured it, worst: {metric: {value, kb}})."""
    macro: dict[str, Any] = {}
    worst: dict[str, Any] = {}
    for key, _, lower_better in COLUMNS:
        values = [(kb["metrics"][key], kb["kb"]) for kb in kbs if kb.get("metrics", {}).get(key) is not None]
        if not values:
            macro[key] = None
            worst[key] = None
            continue
        macro[key] = round(sum(v for v, _ in values) / len(values), 4)
        value, where = (max if lower_better else min)(values, key=lambda vk: vk[0])
        if len(values) > 1 and all(v == value for v, _ in values):
            where = "all"  # a tie everywhere names no KB
        worst[key] = {"value": value, "kb": where}
    return macro, worst


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.0f}" if value >= 10 else f"{value:.3f}"
    return str(value)


def table(kbs: list[dict[str, Any]], macro: dict[str, Any], worst: dict[str, Any]) -> str:
    head = "| suite | cases | " + " | ".join(label for _, label, _ in COLUMNS) + " |"
    lines = [head, "| --- " * (len(COLUMNS) + 2) + "|"]

    def row(name: str, cases: Any, cells: list[str]) -> None:
        lines.append(f"| {name} | {cases} | " + " | ".join(cells) + " |")

    for kb in kbs:
        for s in kb["suites"]:
            row(s["suite"], s["cases"], [_cell(s["metrics"].get(k)) for k, _, _ in COLUMNS])
    for kb in kbs:
        if "metrics" in kb:
            n = len(kb["suites"])
            row(f"*KB {kb['kb']}* ({n} suite{'s' if n != 1 else ''})", kb["cases"],
                [_cell(kb["metrics"].get(k)) for k, _, _ in COLUMNS])
        else:
            why = f"skipped: {kb['skipped']}" if "skipped" in kb else f"failed: {kb.get('error', '')}"
            row(f"*KB {kb['kb']}*", "–", [why.replace("|", "/")[:80]] + ["–"] * (len(COLUMNS) - 1))
    measured = [kb for kb in kbs if "metrics" in kb]
    row(f"**macro over {len(measured)} KB{'s' if len(measured) != 1 else ''}**", sum(kb["cases"] for kb in measured),
        [f"**{_cell(macro[k])}**" for k, _, _ in COLUMNS])
    row("**worst KB**", "",
        [f"**{_cell(w['value'])}** {w['kb']}" if w else "–" for w in (worst[k] for k, _, _ in COLUMNS)])
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench suites", description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None,
                    help="the shared data folder (../shared/data); without it only the own suites run")
    ap.add_argument("--default-kb", default=DEFAULT_KB,
                    help=f"KB for suites with no kb/ above them; relative to --data (default {DEFAULT_KB})")
    ap.add_argument("--only", default="",
                    help="comma-separated substrings of suite paths to run ('own' = the own suites)")
    ap.add_argument("--tag", action="append", default=[], help="only cases with this tag (repeatable)")
    ap.add_argument("--jobs", type=int, default=1, help="eval processes at once (default 1: 2 cores)")
    ap.add_argument("--llm", default=None, help="composer for the run (default: the eval default)")
    ap.add_argument("--out", type=Path, default=RESULTS / "suites.json", help="results JSON")
    args = ap.parse_args(argv)

    data = args.data.resolve() if args.data is not None else None
    if data is not None and not data.is_dir():
        print(f"error: --data {args.data}: not a folder", file=sys.stderr)
        return 2
    default_kb = Path(args.default_kb)
    if not default_kb.is_absolute() and data is not None:
        default_kb = data / default_kb
    groups, notes = discover(data, default_kb)
    wanted = [w for w in args.only.split(",") if w]
    if wanted:
        for g in groups:
            own = g.kb == OWN_KB
            g.suites = [(label, p) for label, p in g.suites
                        if any(w in label or (w == "own" and own) for w in wanted)]
    groups = [g for g in groups if g.suites]
    for note in notes:
        print(note, file=sys.stderr)
    if not groups:
        print("error: no suite to run", file=sys.stderr)
        return 2

    def one(group: Group) -> dict[str, Any]:
        result = run_group(group, tags=args.tag, llm=args.llm)
        state = f"exit {result['exit']}" + "".join(f": {result[k]}" for k in ("error", "skipped") if k in result)
        print(f"{group.label}: {len(group.suites)} suites, {result.get('cases', 0)} cases, "
              f"{result['duration_s']}s, {state}", file=sys.stderr, flush=True)
        return result

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        kbs = list(pool.map(one, groups))
    macro, worst = summary_rows([kb for kb in kbs if "metrics" in kb])
    results = {
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": "python -m bench suites " + " ".join(sys.argv[1:] if argv is None else argv),
        "data": str(data) if data else None,
        "default_kb": str(default_kb),
        "tags": args.tag,
        "llm": args.llm or "default",
        "duration_s": round(time.monotonic() - started, 1),
        "columns": {k: label for k, label, _ in COLUMNS},
        "macro": macro,
        "worst": worst,
        "kbs": kbs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(table(kbs, macro, worst))
    print(f"\nresults: {args.out}", file=sys.stderr)
    return 1 if any("error" in kb for kb in kbs) else 0


if __name__ == "__main__":
    raise SystemExit(main())
