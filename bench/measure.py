"""Shared bits of the service benchmarks: percentiles, question sets, peak RSS, result files."""
from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
SUITES = ROOT / "evals" / "suites"


def pct(values: list[float], q: float) -> float | None:
    """The q-th percentile (0..100), nearest-rank on the sorted values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return round(ordered[rank], 2)


def latency_row(ms: list[float]) -> dict[str, Any]:
    return {"n": len(ms), "p50_ms": pct(ms, 50), "p95_ms": pct(ms, 95), "p99_ms": pct(ms, 99),
            "mean_ms": round(sum(ms) / len(ms), 2) if ms else None}


def sample_questions(answer_only: bool = True) -> list[str]:
    """First user turns of the repo's own suites (routine answers by default), deduplicated."""
    import yaml

    out: list[str] = []
    for path in sorted(SUITES.glob("*.yaml")):
        suite = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for case in suite.get("cases", []):
            turns = case.get("turns") or []
            if not turns or case.get("history"):
                continue
            action = (turns[0].get("expect") or {}).get("action")
            if answer_only and action != "answer":
                continue
            out.append(str(turns[0]["user"]))
    return list(dict.fromkeys(out))


def jsonl_questions(path: Path) -> list[str]:
    """First user turn of each single-turn case in a suite .jsonl file."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            case = json.loads(line)
            if not case.get("history"):
                out.append(case["turns"][0]["user"])
    return list(dict.fromkeys(out))


def peak_rss_mb(pid: int | None = None) -> float | None:
    """Peak resident set size (VmHWM) of a process, in MB; None if unreadable."""
    try:
        text = Path(f"/proc/{pid or os.getpid()}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_result(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{name}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    return out


def print_table(title: str, rows: list[dict[str, Any]], cols: list[str]) -> None:
    print(f"\n{title}")
    widths = {c: max(len(c), *(len(_fmt(r.get(c))) for r in rows)) for c in cols} if rows else {}
    print("  ".join(c.ljust(widths[c]) for c in cols))
    for r in rows:
        print("  ".join(_fmt(r.get(c)).ljust(widths[c]) for c in cols))


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.2f}"
    return str(v)
