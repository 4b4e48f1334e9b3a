"""A large FAQ knowledge base end to end: generate, ingest, start the engine, answer.

    python -m bench large_faq [--rows 12000] [--queries 200]

Fails loudly (exit 1) when the engine cannot start or a question naming a place is not
answered from that place's row: a 12,039-row FAQ export once stopped start-up with KeyError.
Prints and writes bench/results/large_faq.json: ingest time, start-up time, peak RSS, and
turn latency p50/p95 over questions drawn from the generated rows.
"""
from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.faq_generator import write
from bench.measure import write_result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench large_faq", description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=12000)
    ap.add_argument("--queries", type=int, default=200)
    args = ap.parse_args(argv)

    from agent.factory import build_engine
    from agent.messages import InboundMessage
    from agent.settings import Settings
    from agent.store_memory import MemoryStore
    from retrieval.embeddings import get_embedder
    from retrieval.index import KnowledgeIndex

    with tempfile.TemporaryDirectory(prefix="bench-large-faq-") as tmp:
        kb = Path(tmp) / "kb"
        write(kb, args.rows)
        start = time.perf_counter()
        embedder = get_embedder()
        embedder.embed(["load the model"])
        load_s = time.perf_counter() - start
        index = KnowledgeIndex(persist_dir=Path(tmp) / "chroma", embedder=embedder)
        start = time.perf_counter()
        report = index.ingest(kb, progress=lambda done, total: print(f"\r  ingest {done}/{total}", end="",
                                                                      file=sys.stderr, flush=True))
        ingest_s = time.perf_counter() - start
        print(file=sys.stderr)
        start = time.perf_counter()
        try:
            engine = build_engine(Settings(data_dir=Path(tmp) / "data", kb_dir=kb, llm_provider="extractive"),
                                  store=MemoryStore(), index=index, llm="extractive")
        except Exception as exc:  # noqa: BLE001 - the point of this bench is to say so loudly
            print(f"FAIL: the engine did not start on {args.rows} FAQ rows: {type(exc).__name__}: {exc}")
            return 1
        startup_s = time.perf_counter() - start

        rows = [json.loads(line) for path in sorted(kb.glob("*.jsonl")) for line in path.open(encoding="utf-8")]
        # Questions that name a place have one right row; shared questions have many.
        counts: dict[str, int] = {}
        for row in rows:
            counts[row["question"]] = counts.get(row["question"], 0) + 1
        unique = [r for r in rows if counts[r["question"]] == 1]
        picked = random.Random(3).sample(unique, min(args.queries, len(unique)))
        latencies, answered, right = [], 0, 0
        for n, row in enumerate(picked):
            decision = engine.handle(InboundMessage(
                platform="eval", channel="webchat", conversation_key=f"webchat:bench:{n}", customer_id=str(n),
                message_id=f"m{n}", text=row["question"]))
            latencies.append(decision.latency_ms or 0.0)
            answered += decision.action == "answer"
            right += bool(decision.citations) and decision.citations[0].doc_id == row["id"]

    latencies.sort()
    result = {
        "rows": args.rows, "documents": report.documents, "chunks": report.chunks, "failed": len(report.failed),
        "model_load_s": round(load_s, 2), "ingest_s": round(ingest_s, 1),
        "chunks_per_s": round(report.chunks / ingest_s, 1) if ingest_s else None,
        "engine_start_s": round(startup_s, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "queries": len(picked), "answered": answered, "cited_own_row": right,
        "turn_p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "turn_p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 1) if latencies else None,
    }
    write_result("large_faq", result)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
