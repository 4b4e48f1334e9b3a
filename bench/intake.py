"""Intake throughput: signed Messenger webhooks against `concierge serve` in Redis mode.

    python -m bench intake [--requests 20000] [--concurrency 64] [--seconds 20]

Starts `concierge serve` on a free loopback port with its own Redis key prefix, posts
pre-signed webhooks (a distinct message id and customer each, so nothing is deduplicated or
rate-limited) over keep-alive connections with bounded concurrency, then checks the stream
holds what was accepted. Reports accepted requests/s and latency p50/p95/p99; the load
generator shares the 2 cores with the server, so this is a floor.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.measure import latency_row, peak_rss_mb, print_table, write_result
from bench.procs import (REDIS_URL, bench_prefix, delete_prefix, free_port, load, messenger_body, service_env,
                         signed_request, start, stop, wait_http)

GOAL_RPS = 1500.0
TEXTS = ["how long do i have to return my headphones", "where is my order", "do you ship to canada",
         "can i change my delivery address", "what does the warranty cover"]


def run(requests: int, concurrency: int, seconds: float, log_level: str = "INFO") -> dict:
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
            reqs = [signed_request(port, messenger_body(f"p{run_id}{i}", f"m_{run_id}_{i}", TEXTS[i % len(TEXTS)]))
                    for i in range(requests)]
            out = load(port, reqs, concurrency, seconds)
            rss = peak_rss_mb(proc.pid)
            queued = int(client.xlen(prefix + "intake"))
        finally:
            stop(proc)
            delete_prefix(client, prefix)
    statuses: dict[int, int] = {}
    for status, _ in out["results"]:
        statuses[status] = statuses.get(status, 0) + 1
    ok_ms = [ms for status, ms in out["results"] if status == 200]
    accepted = statuses.get(200, 0)
    return {"concurrency": concurrency, "sent": len(out["results"]), "accepted": accepted,
            "queued": queued - 200, "statuses": statuses, "elapsed_s": round(out["elapsed_s"], 2),
            "accepted_rps": round(accepted / out["elapsed_s"], 1) if out["elapsed_s"] else None,
            **latency_row(ok_ms), "api_peak_rss_mb": rss, "log_level": log_level}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench intake", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=20000, help="at most this many webhooks per run")
    ap.add_argument("--concurrency", default="64", help="comma-separated connection counts, e.g. 16,64")
    ap.add_argument("--seconds", type=float, default=20.0, help="stop each run after this long")
    ap.add_argument("--log-level", default="INFO", help="the server's log level (INFO logs every intake)")
    args = ap.parse_args(argv)
    rows = [run(args.requests, int(c), args.seconds, args.log_level) for c in args.concurrency.split(",")]
    print_table("intake: signed Messenger webhooks -> concierge serve (Redis stream), loopback",
                rows, ["concurrency", "sent", "accepted", "queued", "elapsed_s", "accepted_rps",
                       "p50_ms", "p95_ms", "p99_ms", "api_peak_rss_mb"])
    best = max((r["accepted_rps"] or 0) for r in rows)
    print(f"goal: accepted {best} req/s >= {GOAL_RPS:g}: {'met' if best >= GOAL_RPS else 'NOT met'}")
    print(f"written: {write_result('intake', {'rows': rows})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
