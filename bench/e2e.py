"""End-to-end turns/s: webhook -> `concierge serve` -> Redis stream -> N `concierge worker`s ->
Graph API emulator, with 1, 2 and 4 workers.

    python -m bench e2e [--workers 1,2,4] [--turns 1000] [--seconds 90] [--read-batch 8]

Every message is a fresh customer asking one of the repo's own suite questions (answers,
escalations and declines mixed as in the suites); past the 145 distinct ones the same
questions come again with a greeting in front, so no text is asked twice in a run and the
query caches do not flatter us. A few warm-up turns per worker go first. A run ends when the
stream is drained (nothing lagging or pending). Turn latency = webhook accepted -> reply
received by the emulator. The benchmark process, API, workers, Redis share the 2 cores.
`--read-batch 1,8` runs every worker count with each batch size (a same-run baseline).
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from bench.measure import latency_row, peak_rss_mb, print_table, sample_questions, write_result
from bench.procs import (PAGE_TOKEN, REDIS_URL, bench_prefix, delete_prefix, free_port, load, messenger_body,
                         service_env, signed_request, start, stop, wait_http)

GOAL_TURNS_S = 40.0


def _emulator():
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.emulators.base import Received, Reply
    from tests.emulators.graph_api import GraphApiEmulator

    class TimedGraph(GraphApiEmulator):
        """Records when each recipient's first reply arrived."""

        def __init__(self) -> None:
            super().__init__(page_token=PAGE_TOKEN)
            self.first_reply: dict[str, float] = {}
            self.sends = 0
            self._mu = threading.Lock()

        def route(self, req: Received) -> Reply:
            reply = super().route(req)
            recipient = ((req.json or {}).get("recipient") or {}).get("id") if isinstance(req.json, dict) else None
            with self._mu:
                self.sends += 1
                if recipient and reply.status == 200:
                    self.first_reply.setdefault(recipient, time.perf_counter())
            self.requests.clear()  # bounded memory over long runs
            return reply

    return TimedGraph()


def _depth(client, prefix: str) -> int:
    from connectors.intake import RedisIntake

    return RedisIntake(client, prefix=prefix).depth()


def _post_all(port: int, bodies: list[tuple[str, bytes]], sent_at: dict[str, float]) -> None:
    # posted one small batch at a time so `sent_at` is close to the real acceptance time
    for i in range(0, len(bodies), 16):
        chunk = bodies[i:i + 16]
        now = time.perf_counter()
        for psid, _ in chunk:
            sent_at[psid] = now
        load(port, [signed_request(port, b) for _, b in chunk], 8, 30)


def _drain(client, prefix: str, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if _depth(client, prefix) == 0:
            return True
        time.sleep(0.02)
    return False


def run(workers: int, questions: list[str], seconds: float, chroma_seed: Path, read_batch: int = 8) -> dict:
    import redis

    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    prefix = bench_prefix(f"e2e{workers}")
    emulator = _emulator().start()
    procs = []
    run_id = uuid.uuid4().hex[:6]
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp_s:
        tmp = Path(tmp_s)
        try:
            port = free_port()
            api = start(["serve", "--host", "127.0.0.1", "--port", str(port), "--redis-prefix", prefix,
                         "--log-level", "WARNING"],
                        service_env(prefix, CONCIERGE_DATA_DIR=str(tmp / "api")), tmp / "api.log")
            procs.append(api)
            for n in range(workers):
                data = tmp / f"w{n}"
                shutil.copytree(chroma_seed, data / "chroma")  # each worker its own Chroma folder
                procs.append(start(["worker", "--redis-prefix", prefix, "--consumer", f"bench-{n}",
                                    "--log-level", "WARNING"],
                                   service_env(prefix, CONCIERGE_DATA_DIR=str(data),
                                               CONCIERGE_META_GRAPH_BASE_URL=emulator.url,
                                               CONCIERGE_LLM_PROVIDER="extractive",
                                               CONCIERGE_WORKER_READ_BATCH=str(read_batch)),
                                   tmp / f"worker{n}.log"))
            wait_http(f"http://127.0.0.1:{port}/healthz", api)
            deadline = time.monotonic() + 300
            while sum(1 for _ in client.scan_iter(match=f"{prefix}workers:*")) < workers:
                if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                    raise RuntimeError(f"workers did not start; see logs in {tmp}")
                time.sleep(0.5)
            sent_at: dict[str, float] = {}
            warm = [(f"w{run_id}{i}", messenger_body(f"w{run_id}{i}", f"m_w{run_id}_{i}", f"warm-up question {i}"))
                    for i in range(4 * workers)]
            _post_all(port, warm, sent_at)
            if not _drain(client, prefix, 120):
                raise RuntimeError("warm-up turns did not finish in 120 s")
            bodies = [(f"p{run_id}{i}", messenger_body(f"p{run_id}{i}", f"m_{run_id}_{i}", q))
                      for i, q in enumerate(questions)]
            start_t = time.perf_counter()
            _post_all(port, bodies, sent_at)
            drained = _drain(client, prefix, seconds)
            elapsed = time.perf_counter() - start_t
            time.sleep(0.2)
            rss_workers = [peak_rss_mb(p.pid) for p in procs[1:]]
            rss_api = peak_rss_mb(api.pid)
        finally:
            for p in procs:
                stop(p)
            emulator.stop()
            delete_prefix(client, prefix)
    lat = [(emulator.first_reply[psid] - sent_at[psid]) * 1000 for psid, _ in bodies if psid in emulator.first_reply]
    return {"workers": workers, "read_batch": read_batch, "turns": len(bodies), "replied": len(lat), "drained": drained,
            "elapsed_s": round(elapsed, 2), "turns_per_s": round(len(bodies) / elapsed, 1) if drained else None,
            **latency_row(lat), "api_peak_rss_mb": rss_api,
            "worker_peak_rss_mb": max((r for r in rss_workers if r), default=None)}


def seed_index(tmp: Path) -> Path:
    """Ingest the sample KB once; workers get copies (concurrent first ingests would race)."""
    from agent.settings import SAMPLE_KB
    from retrieval.index import KnowledgeIndex

    folder = tmp / "chroma-seed"
    KnowledgeIndex(persist_dir=folder).ingest(SAMPLE_KB)
    return folder


# Past the suite's distinct questions, each lap puts a greeting in front: still the same
# question, but a different text, so the embedding caches do not answer it.
OPENERS = ["Hi,", "Hello!", "Hey there,", "Good morning.", "Quick question:", "Hi team,", "Hello again,",
           "Sorry to bother you,", "Good evening.", "One more thing:"]


def _questions(turns: int) -> list[str]:
    base = sample_questions(answer_only=False)
    out = list(base)
    lap = 0
    while len(out) < turns:
        opener = OPENERS[lap % len(OPENERS)] + (f" (message {lap // len(OPENERS) + 1})" if lap >= len(OPENERS) else "")
        out += [f"{opener} {q}" for q in base]
        lap += 1
    return out[:turns]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench e2e", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", default="1,2,4", help="comma-separated worker counts")
    ap.add_argument("--turns", type=int, default=1000,
                    help="turns per run: the suite questions, then the same with a greeting in front")
    ap.add_argument("--seconds", type=float, default=90.0, help="give up draining a run after this long")
    ap.add_argument("--read-batch", default="8", help="comma-separated stream entries read at once per worker")
    args = ap.parse_args(argv)
    questions = _questions(args.turns)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-e2e-seed-") as tmp:
        seed = seed_index(Path(tmp))
        for n in [int(w) for w in args.workers.split(",")]:
            for batch in [int(b) for b in args.read_batch.split(",")]:
                print(f"[{time.strftime('%H:%M:%S')}] e2e: {n} worker(s), read batch {batch}",
                      file=sys.stderr, flush=True)
                rows.append(run(n, questions, args.seconds, seed, batch))
    print_table("e2e: webhook -> serve -> Redis stream -> workers -> Graph API emulator (extractive)",
                rows, ["workers", "read_batch", "turns", "replied", "elapsed_s", "turns_per_s", "p50_ms", "p95_ms", "p99_ms",
                       "api_peak_rss_mb", "worker_peak_rss_mb"])
    best = max((r["turns_per_s"] or 0) for r in rows)
    print(f"goal: {best} turns/s >= {GOAL_TURNS_S:g}: {'met' if best >= GOAL_TURNS_S else 'NOT met'}")
    print(f"written: {write_result('e2e', {'rows': rows})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
