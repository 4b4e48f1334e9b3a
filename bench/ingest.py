"""Ingestion: chunks/s of KnowledgeIndex.ingest (fresh Chroma folder, model already loaded),
the no-change re-ingest, and the ingesting process's peak RSS.

    python -m bench ingest [--data /work/shared/data]

Each KB is ingested in a child process so its peak memory (ru_maxrss) is its own.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.measure import ROOT, print_table, write_result


def child(kb: Path) -> dict:
    from retrieval.embeddings import get_embedder
    from retrieval.index import KnowledgeIndex

    start = time.perf_counter()
    embedder = get_embedder()
    embedder.embed(["load the model"])
    load_s = time.perf_counter() - start
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        index = KnowledgeIndex(persist_dir=Path(tmp), embedder=embedder)
        start = time.perf_counter()
        report = index.ingest(kb)
        first_s = time.perf_counter() - start
        start = time.perf_counter()
        again = index.ingest(kb)
        again_s = time.perf_counter() - start
    return {"documents": report.documents, "chunks": report.chunks, "failed": len(report.failed),
            "model_load_s": round(load_s, 2), "ingest_s": round(first_s, 2),
            "chunks_per_s": round(report.chunks / first_s, 1) if first_s else None,
            "reingest_s": round(again_s, 2), "reingest_skipped": again.skipped}


def measure(name: str, kb: Path) -> dict:
    """Run child(kb) in a fresh interpreter; add its peak RSS."""
    proc = subprocess.Popen([sys.executable, "-m", "bench.ingest", "--child", str(kb)], cwd=str(ROOT),
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env={**os.environ})
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        return {"kb": name, "error": f"child exited {proc.returncode}"}
    row = json.loads(out.decode().strip().splitlines()[-1])
    return {"kb": name, **row, "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench ingest", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=None, help="shared data folder (adds covid-faq and doc2dial KBs)")
    ap.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child is not None:
        print(json.dumps(child(args.child)))
        return 0
    from agent.settings import SAMPLE_KB

    kbs = [("sample", SAMPLE_KB)]
    if args.data is not None:
        kbs += [("covid-faq", args.data / "covid-faq" / "kb"), ("doc2dial", args.data / "doc2dial" / "kb")]
    else:
        print("note: no --data: covid-faq and doc2dial KBs skipped (sample KB only)")
    rows = [measure(name, kb) for name, kb in kbs if kb.is_dir()]
    print_table("ingest: KnowledgeIndex.ingest into a fresh Chroma folder (model preloaded)", rows,
                ["kb", "documents", "chunks", "ingest_s", "chunks_per_s", "reingest_s", "model_load_s",
                 "peak_rss_mb"])
    print(f"written: {write_result('ingest', {'rows': rows})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
