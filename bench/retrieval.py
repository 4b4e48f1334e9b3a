"""Retrieval benchmark: Concierge hybrid search vs a stock LangChain + Chroma baseline.

    python -m bench retrieval --data /work/shared/data [--answerability] [--limit N]

Same embedding model for both. Prints hit@1, hit@5, MRR (by cited document id), per-query
latency p50/p95 (after warm-up), the CPU time per query (p50, this process only: on a shared,
loaded machine wall time mostly measures waiting for a core), ingest time, and hit@1 on the
even- and odd-numbered cases separately (weights chosen by looking at one half are checked on
the other); writes JSON to bench/results/.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

RESULTS = Path(__file__).resolve().parent / "results"


def _cases(path: Path, limit: int | None) -> list[dict]:
    """(query, history of user turns, expected doc ids) per case."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        case = json.loads(line)
        turn = case["turns"][-1]
        expect = turn.get("expect", {})
        wanted = set(expect.get("cites", [])) | set(expect.get("cites_any", []))
        history = [h["text"] for h in case.get("history", []) if h.get("role") == "user"]
        out.append({"query": turn["user"], "history": history, "expected": wanted})
    return out[:limit] if limit else out


def _score(cases: list[dict], search: Callable[[str, list[str]], list[str]]) -> dict:
    hits1 = hits5 = 0
    half_hits = [0, 0]
    rr = 0.0
    latencies = []
    cpu = []
    for case in cases[:5]:  # warm-up (model, caches, allocator)
        search(case["query"], case["history"])
    for n, case in enumerate(cases):
        start, start_cpu = time.perf_counter(), time.process_time()
        ranked = search(case["query"], case["history"])
        latencies.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        docs = list(dict.fromkeys(ranked))
        ranks = [i for i, d in enumerate(ranked) if d in case["expected"]]
        if ranks:
            first = ranks[0]
            hits1 += first == 0
            half_hits[n % 2] += first == 0
            hits5 += first < 5
            rr += 1.0 / (docs.index(ranked[first]) + 1)
    n = max(len(cases), 1)
    latencies.sort()
    return {
        "n": len(cases),
        "hit@1": round(hits1 / n, 4),
        "hit@5": round(hits5 / n, 4),
        "mrr": round(rr / n, 4),
        "p50_ms": round(statistics.median(latencies), 2) if latencies else None,
        "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 2) if latencies else None,
        "cpu_p50_ms": round(statistics.median(cpu), 2) if cpu else None,
        "hit@1_even": round(half_hits[0] / max((len(cases) + 1) // 2, 1), 4),
        "hit@1_odd": round(half_hits[1] / max(len(cases) // 2, 1), 4),
    }


def run_concierge(kb: Path, cases: list[dict], modes: tuple[bool, ...] = (True,)) -> list[dict]:
    from retrieval.index import KnowledgeIndex

    with tempfile.TemporaryDirectory() as tmp:
        index = KnowledgeIndex(Path(tmp))
        start = time.perf_counter()
        report = index.ingest(kb)
        ingest_s = time.perf_counter() - start

        out = []
        for use_history in modes:

            def search(query: str, history: list[str], use_history: bool = use_history) -> list[str]:
                result = index.search(query, k=5, history=history if use_history else None)
                return [p.doc_id for p in result.passages]

            scores = _score(cases, search)
            scores.update(ingest_s=round(ingest_s, 2), chunks=report.chunks, failed=len(report.failed))
            out.append(scores)
        return out


def run_baseline(kb: Path, cases: list[dict]) -> dict:
    """Stock LangChain: recursive splitter, HuggingFaceEmbeddings, Chroma similarity_search."""
    from langchain_chroma import Chroma
    from langchain_core.documents import Document as LcDocument
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from knowledge.loaders import load_kb
    from retrieval.embeddings import default_model_path

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        loaded = load_kb(kb)
        docs = [
            LcDocument(
                page_content=(f"{d.question}\n\n{d.text}" if d.question else d.text),
                metadata={"doc_id": d.doc_id},
            )
            for d in loaded.documents
        ]
        splits = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=100).split_documents(docs)
        embeddings = HuggingFaceEmbeddings(model_name=default_model_path(), model_kwargs={"device": "cpu"})
        store = Chroma.from_documents(splits, embeddings, persist_directory=tmp, collection_name="baseline")
        ingest_s = time.perf_counter() - start

        def search(query: str, history: list[str]) -> list[str]:
            return [d.metadata["doc_id"] for d in store.similarity_search(query, k=5)]

        scores = _score(cases, search)
        scores.update(ingest_s=round(ingest_s, 2), chunks=len(splits))
        return scores


def run_answerability(data: Path) -> dict:
    """Precision/recall of `answerability >= t`: covid paraphrases (answerable) vs out_of_scope."""
    from retrieval.index import KnowledgeIndex

    pos = _cases(data / "covid-faq" / "paraphrases.jsonl", None)
    neg = _cases(data / "covid-faq" / "out_of_scope.jsonl", None)
    with tempfile.TemporaryDirectory() as tmp:
        index = KnowledgeIndex(Path(tmp))
        index.ingest(data / "covid-faq" / "kb")
        p_scores = [index.search(c["query"], k=5).answerability for c in pos]
        n_scores = [index.search(c["query"], k=5).answerability for c in neg]
    rows = []
    for t in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        tp = sum(s >= t for s in p_scores)
        fp = sum(s >= t for s in n_scores)
        precision = tp / (tp + fp) if tp + fp else 1.0
        rows.append(
            {
                "threshold": t,
                "precision": round(precision, 4),
                "recall": round(tp / len(p_scores), 4),
                "oos_rejected": round(1 - fp / len(n_scores), 4),
            }
        )
    return {"answerable": len(p_scores), "not_answerable": len(n_scores), "curve": rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench retrieval", description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="folder with covid-faq/ and doc2dial/")
    parser.add_argument("--answerability", action="store_true", help="also print the answerability curve")
    parser.add_argument("--limit", type=int, default=None, help="at most N cases per suite (quick runs)")
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args(argv)
    data: Path = args.data
    if not (data / "covid-faq").is_dir() or not (data / "doc2dial").is_dir():
        print(f"error: {data} has no covid-faq/ and doc2dial/ folders", file=sys.stderr)
        return 2

    suites = {
        "covid": (data / "covid-faq" / "kb", _cases(data / "covid-faq" / "paraphrases.jsonl", args.limit)),
        "doc2dial": (data / "doc2dial" / "kb", _cases(data / "doc2dial" / "turns.jsonl", args.limit)),
    }
    results: dict[str, dict] = {}
    for name, (kb, cases) in suites.items():
        runs = run_concierge(kb, cases, (True, False) if name == "doc2dial" else (True,))
        results[name] = {"concierge": runs[0]}
        if len(runs) > 1:
            results[name]["concierge_no_history"] = runs[1]
        if not args.no_baseline:
            results[name]["langchain_baseline"] = run_baseline(kb, cases)
    if args.answerability:
        results["answerability"] = run_answerability(data)

    cols = ("hit@1", "hit@5", "mrr", "p50_ms", "p95_ms", "cpu_p50_ms", "ingest_s", "chunks", "hit@1_even", "hit@1_odd")
    print(f"{'suite':<10} {'system':<22} " + " ".join(f"{c:>10}" for c in cols))
    for name in suites:
        for system, row in results[name].items():
            print(f"{name:<10} {system:<22} " + " ".join(f"{str(row.get(c, '')):>10}" for c in cols))
    if args.answerability:
        print("\nanswerability (covid paraphrases = answerable, out_of_scope = not)")
        print(f"{'threshold':>9} {'precision':>9} {'recall':>7} {'oos_rejected':>12}")
        for row in results["answerability"]["curve"]:
            print(f"{row['threshold']:>9} {row['precision']:>9} {row['recall']:>7} {row['oos_rejected']:>12}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"retrieval-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"\nwritten: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
