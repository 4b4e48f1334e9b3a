"""`python -m bench [NAME [args]]`: run one benchmark (bench/<name>.py's main(argv)), or, with
no name (optionally just `--data DIR`), every benchmark in turn, each bounded in time.

Results go to bench/results/*.json. `--data /work/shared/data` adds the shared-data parts;
without it those are skipped with a note (a clone of the repo has no shared data).
"""
from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
import time

BENCHES = {
    "retrieval": "bench.retrieval",
    "guardrails": "bench.guardrails",
    "engine": "bench.engine",
    "intake": "bench.intake",
    "e2e": "bench.e2e",
    "ingest": "bench.ingest",
    "suites": "bench.suites",
    "store_save": "bench.store_save",
    "grounding": "bench.grounding",
    "pii": "bench.pii",
    "large_faq": "bench.large_faq",
}

# The quick "all" run: (name, args without data, args with data, or None to skip without data).
# Each runs in its own interpreter (clean peak-memory numbers, no cross-benchmark caches) and
# under a time cap so `make bench` stays bounded.
ALL_RUN: list[tuple[str, list[str], list[str] | None, int]] = [
    ("ingest", [], ["--data", "{data}"], 300),
    ("engine", ["--composers", "extractive,llamacpp", "--llm-turns", "20"],
     ["--data", "{data}", "--composers", "extractive,llamacpp", "--llm-turns", "20"], 1500),
    ("intake", ["--requests", "20000", "--seconds", "15"], None, 180),
    ("e2e", ["--workers", "1,2,4", "--seconds", "90"], None, 600),
    ("retrieval", [], ["--data", "{data}", "--limit", "150"], 600),
    ("guardrails", [], ["{data}/covid-faq"], 600),
]
NEEDS_DATA = {"retrieval", "guardrails", "suites"}


def run_all(data: str | None) -> int:
    failed = []
    for name, plain, with_data, cap in ALL_RUN:
        if data is None and name in NEEDS_DATA:
            print(f"\n== {name}: skipped (needs --data /path/to/shared/data)")
            continue
        args = [a.replace("{data}", data) for a in with_data] if data is not None and with_data is not None \
            else plain
        print(f"\n== {name} {' '.join(args)}", flush=True)
        start = time.monotonic()
        try:
            code = subprocess.run([sys.executable, "-m", "bench", name, *args], timeout=cap).returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
        print(f"== {name}: exit {code} in {time.monotonic() - start:.0f}s", flush=True)
        if code != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed or timed out: {', '.join(failed)}")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] == "--data" or args[0].startswith("--data="):
        data = None
        if args:
            data = args[0].split("=", 1)[1] if "=" in args[0] else (args[1] if len(args) > 1 else None)
            if data is None:
                print("usage: python -m bench [--data DIR]", file=sys.stderr)
                return 2
        return run_all(data)
    if args[0] not in BENCHES:
        print(f"usage: python -m bench [--data DIR] | {{{','.join(BENCHES)}}} [options]", file=sys.stderr)
        return 2
    module = importlib.import_module(BENCHES[args[0]])
    if inspect.signature(module.main).parameters:
        return int(module.main(args[1:]) or 0)
    sys.argv = [f"python -m bench {args[0]}", *args[1:]]  # a main() that reads sys.argv itself
    return int(module.main() or 0)


if __name__ == "__main__":
    sys.exit(main())
