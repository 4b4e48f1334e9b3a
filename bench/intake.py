"""Intake throughput: signed Messenger webhooks against `concierge serve` in Redis mode.

    python -m bench intake [--requests 20000] [--concurrency 64] [--seconds 20] [--load python|wrk|both]

Starts `concierge serve` on a free loopback port with its own Redis key prefix, posts
pre-signed webhooks (a distinct message id and customer each, so nothing is deduplicated or
rate-limited) over keep-alive connections with bounded concurrency, then checks the stream
holds what was accepted. Reports accepted requests/s and latency p50/p95/p99; the load
generator shares the 2 cores with the server, so this is a floor. `--load wrk` drives the same
pre-signed requests with wrk (Debian's package, written in C, so it takes less of the server's
CPU); there, accepted = new stream entries, since wrk starts over when it runs out of requests
and a repeat is a duplicate.
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.measure import latency_row, peak_rss_mb, print_table, write_result
from bench.procs import (REDIS_URL, bench_prefix, delete_prefix, free_port, load, messenger_body, meta_signature,
                         service_env, signed_request, start, stop, wait_http)

GOAL_RPS = 1500.0
TEXTS = ["how long do i have to return my headphones", "where is my order", "do you ship to canada",
         "can i change my delivery address", "what does the warranty cover"]


# wrk replays the pre-signed requests from a file (signature TAB body, one per line); each
# connection's thread walks the list from its own offset.
_WRK_LUA = r"""
local path = os.getenv("BENCH_WRK_REQUESTS")
local reqs, n = {}, 0
for line in io.lines(path) do
  local tab = line:find("\t", 1, true)
  reqs[#reqs + 1] = wrk.format("POST", "/webhooks/meta",
    {["Content-Type"] = "application/json", ["X-Hub-Signature-256"] = line:sub(1, tab - 1)}, line:sub(tab + 1))
end
request = function()
  n = n + 1
  return reqs[(n - 1) % #reqs + 1]
end
"""


def _wrk(port: int, bodies: list[bytes], concurrency: int, seconds: float, tmp: Path) -> dict:
    lines = [meta_signature(b) + "\t" + b.decode() for b in bodies]
    (tmp / "requests.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp / "replay.lua").write_text(_WRK_LUA, encoding="utf-8")
    out = subprocess.run(["wrk", "-t1", f"-c{concurrency}", f"-d{max(int(seconds), 1)}s", "--latency",
                          "-s", str(tmp / "replay.lua"), f"http://127.0.0.1:{port}"],
                         env={"BENCH_WRK_REQUESTS": str(tmp / "requests.txt"), "PATH": "/usr/bin:/bin"},
                         capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    ms = {}
    for q, value, unit in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M):
        ms[q] = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    total = re.search(r"(\d+) requests in ([\d.]+)(ms|s)", out)
    elapsed = float(total.group(2)) * (0.001 if total.group(3) == "ms" else 1.0) if total else seconds
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"sent": int(total.group(1)) if total else None, "elapsed_s": elapsed, "p50_ms": ms.get("50"),
            "p99_ms": ms.get("99"), "non_2xx": int(non2xx.group(1)) if non2xx else 0}


def run(requests: int, concurrency: int, seconds: float, log_level: str = "INFO", generator: str = "python") -> dict:
    import redis

    prefix = bench_prefix("intake")
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    port = free_port()
    run_id = uuid.uuid4().hex[:6]
    with tempfile.TemporaryDirectory(prefix="bench-intake-") as tmp:
        env = service_env(prefix, CONCIERGE_DATA_DIR=tmp)
        proc = start(["serve", "--host", "127.0.0.1", "--port", str(port), "--redis-prefix", prefix,
                      "--log-level", log_level], env, Path(tmp) / "serve.log")
        try:
            wait_http(f"http://127.0.0.1:{port}/healthz", proc)
            warm = [signed_request(port, messenger_body(f"w{run_id}{i}", f"m_w{run_id}_{i}", TEXTS[0]))
                    for i in range(200)]
            load(port, warm, min(concurrency, 16), 30)
            bodies = [messenger_body(f"p{run_id}{i}", f"m_{run_id}_{i}", TEXTS[i % len(TEXTS)])
                      for i in range(requests)]
            if generator == "wrk":
                out = _wrk(port, bodies, concurrency, seconds, Path(tmp))
            else:
                out = load(port, [signed_request(port, b) for b in bodies], concurrency, seconds)
            rss = peak_rss_mb(proc.pid)
            queued = int(client.xlen(prefix + "intake")) - 200
        finally:
            stop(proc)
            delete_prefix(client, prefix)
    if generator == "wrk":
        # Answered 200 inside the window and new to the stream (a lap over the list is a duplicate).
        accepted = min(queued, (out["sent"] or 0) - out["non_2xx"])
        return {"load": "wrk", "concurrency": concurrency, "sent": out["sent"], "accepted": accepted, "queued": queued,
                "non_2xx": out["non_2xx"], "elapsed_s": round(out["elapsed_s"], 2),
                "accepted_rps": round(accepted / out["elapsed_s"], 1) if out["elapsed_s"] else None,
                "p50_ms": out["p50_ms"], "p95_ms": None, "p99_ms": out["p99_ms"], "api_peak_rss_mb": rss,
                "log_level": log_level}
    statuses: dict[int, int] = {}
    for status, _ in out["results"]:
        statuses[status] = statuses.get(status, 0) + 1
    ok_ms = [ms for status, ms in out["results"] if status == 200]
    accepted = statuses.get(200, 0)
    return {"load": "python", "concurrency": concurrency, "sent": len(out["results"]), "accepted": accepted,
            "queued": queued, "statuses": statuses, "elapsed_s": round(out["elapsed_s"], 2),
            "accepted_rps": round(accepted / out["elapsed_s"], 1) if out["elapsed_s"] else None,
            **latency_row(ok_ms), "api_peak_rss_mb": rss, "log_level": log_level}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench intake", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=20000, help="at most this many webhooks per run")
    ap.add_argument("--concurrency", default="64", help="comma-separated connection counts, e.g. 16,64")
    ap.add_argument("--seconds", type=float, default=20.0, help="stop each run after this long")
    ap.add_argument("--log-level", default="INFO", help="the server's log level (INFO logs every intake)")
    ap.add_argument("--load", choices=["python", "wrk", "both"], default="python",
                    help="load generator: the asyncio one here, wrk (apt install wrk), or both in turn")
    args = ap.parse_args(argv)
    generators = ["python", "wrk"] if args.load == "both" else [args.load]
    if "wrk" in generators and shutil.which("wrk") is None:
        print("wrk is not installed (apt install wrk); using the Python load generator only", file=sys.stderr)
        generators = ["python"]
    rows = [run(args.requests, int(c), args.seconds, args.log_level, g)
            for g in generators for c in args.concurrency.split(",")]
    print_table("intake: signed Messenger webhooks -> concierge serve (Redis stream), loopback",
                rows, ["load", "concurrency", "sent", "accepted", "queued", "elapsed_s", "accepted_rps",
                       "p50_ms", "p95_ms", "p99_ms", "api_peak_rss_mb"])
    best = max((r["accepted_rps"] or 0) for r in rows)
    print(f"goal: accepted {best} req/s >= {GOAL_RPS:g}: {'met' if best >= GOAL_RPS else 'NOT met'}")
    print(f"written: {write_result('intake', {'rows': rows})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
