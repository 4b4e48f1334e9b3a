"""Per-turn latency through Engine.handle vs a stock LangChain RAG chain, same run, same models.

    python -m bench engine [--data /work/shared/data] [--composers extractive,llamacpp]
                           [--llm-turns 20] [--limit N] [--profile]

Each question is a fresh conversation (the stock chain has no state either), asked once:
repeating a question would hit the query-vector cache and flatter us. A few throw-away turns
warm both systems up first. Prints p50/p95/p99 per system and the p95 ratio (stock / ours).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.measure import (RESULTS, jsonl_questions, latency_row, print_table, sample_questions,
                           write_result)

WARMUP = ["warm-up: what can you help me with today", "warm-up: tell me about your store",
          "warm-up: how does this work", "warm-up: is anyone there", "warm-up: what do you sell"]
GOAL_P95_MS = 60.0
GOAL_RATIO = 2.0


def _message(i: int, text: str, tag: str) -> Any:
    from agent.messages import InboundMessage
    from guardrails.codes import Channel

    return InboundMessage(platform="bench", channel=Channel.MESSENGER, conversation_key=f"bench:{tag}:{i}",
                          customer_id=f"{tag}-{i}", message_id=f"{tag}-m{i}", text=text)


def build_concierge(kb: Path, tmp: Path, composer: str) -> tuple[Any, float, int]:
    """(engine, ingest seconds, chunks) on an in-memory store and a fresh Chroma folder."""
    from agent.factory import build_engine
    from agent.settings import Settings
    from agent.store_memory import MemoryStore
    from retrieval.embeddings import get_embedder
    from retrieval.index import KnowledgeIndex

    settings = Settings(data_dir=tmp, kb_dir=kb, chroma_path=tmp / "chroma", redis_url=None,
                        llm_provider=composer, openai_base_url=None, openai_api_key=None)
    index = KnowledgeIndex(persist_dir=tmp / "chroma", embedder=get_embedder(settings.embedding_model))
    start = time.perf_counter()
    report = index.ingest(kb)
    ingest_s = time.perf_counter() - start
    return build_engine(settings, store=MemoryStore(), index=index, llm=composer), ingest_s, report.chunks


def time_engine(engine: Any, questions: list[str], tag: str) -> tuple[list[float], Counter]:
    for i, q in enumerate(WARMUP):
        engine.handle(_message(i, q, f"{tag}-warm"))
    ms: list[float] = []
    actions: Counter = Counter()
    for i, q in enumerate(questions):
        start = time.perf_counter()
        decision = engine.handle(_message(i, q, tag))
        ms.append((time.perf_counter() - start) * 1000)
        actions[str(decision.action)] += 1
        if str(decision.action) == "answer":
            actions[f"composer:{decision.composer}"] += 1
        # The Decision says which composer wrote the reply and why another one did not.
        if "failed grounding" in (decision.composer_note or ""):
            actions["grounding_rejected"] += 1
    return ms, actions


def time_chain(chain: Any, questions: list[str]) -> list[float]:
    for q in WARMUP:
        chain(q)
    ms = []
    for q in questions:
        start = time.perf_counter()
        chain(q)
        ms.append((time.perf_counter() - start) * 1000)
    return ms


def run_kb(name: str, kb: Path, questions: list[str], composer: str, profile: bool = False) -> list[dict]:
    """Both systems on one KB with one composer; returns two table rows."""
    from bench.stock_chain import build_chain, build_store

    with tempfile.TemporaryDirectory(prefix="bench-engine-") as tmp_s:
        tmp = Path(tmp_s)
        t0 = time.perf_counter()
        engine, ingest_s, chunks = build_concierge(kb, tmp, composer)
        _say(f"{name}/{composer}: engine ready in {time.perf_counter() - t0:.1f}s; {len(questions)} turns")
        if profile:
            ms, actions = _profiled(engine, questions, f"{name}-{composer}")
        else:
            ms, actions = time_engine(engine, questions, f"{name}-{composer}")
        ours = {"kb": name, "composer": composer, "system": "concierge", **latency_row(ms),
                "answered": actions.get("answer", 0), "actions": dict(actions),
                "grounding_rejected": actions.get("grounding_rejected", 0)}

        _say(f"{name}/{composer}: concierge p95 {ours['p95_ms']} ms; building the stock chain")
        store, stock_chunks = build_store(kb, tmp / "stock")
        llm = None
        if composer == "llamacpp":
            from agent.composers.llamacpp import LlamaCppChat, default_gguf_path

            llm = LlamaCppChat(model_path=str(default_gguf_path()), max_tokens=engine.settings.llm_max_tokens)
        from agent.composers.extractive import ExtractiveComposer
        from retrieval.embeddings import get_embedder

        chain = build_chain(store, composer, k=engine.settings.retrieval_k, llm=llm,
                            extractive=ExtractiveComposer(embed=get_embedder().embed))
        stock_ms = time_chain(chain, questions)
        stock = {"kb": name, "composer": composer, "system": "langchain-stock", **latency_row(stock_ms),
                 "answered": len(questions)}
    if ours["p95_ms"] and stock["p95_ms"]:
        ours["speedup_p95"] = round(stock["p95_ms"] / ours["p95_ms"], 2)
        ours["speedup_p50"] = round(stock["p50_ms"] / ours["p50_ms"], 2)
    ours["chunks"], stock["chunks"] = chunks, stock_chunks
    ours["ingest_s"] = round(ingest_s, 2)
    return [ours, stock]


def _say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def _profiled(engine: Any, questions: list[str], tag: str) -> tuple[list[float], Counter]:
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005)
    profiler.start()
    try:
        result = time_engine(engine, questions, tag)
    finally:
        profiler.stop()
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"profile-engine-{tag}-{time.strftime('%Y%m%dT%H%M%S')}.html"
    out.write_text(profiler.output_html(), encoding="utf-8")
    print(profiler.output_text(unicode=False, color=False, show_all=False)[:6000])
    print(f"profile written: {out}")
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench engine", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=None, help="shared data folder (adds covid-faq paraphrases)")
    ap.add_argument("--composers", default="extractive,llamacpp", help="comma-separated: extractive,llamacpp")
    ap.add_argument("--limit", type=int, default=None, help="at most N questions per KB (extractive)")
    ap.add_argument("--llm-turns", type=int, default=20, help="questions per KB for the llamacpp composer")
    ap.add_argument("--profile", action="store_true", help="pyinstrument over our extractive turns")
    args = ap.parse_args(argv)

    from agent.settings import SAMPLE_KB

    kbs: list[tuple[str, Path, list[str]]] = [("sample", SAMPLE_KB, sample_questions())]
    if args.data is not None:
        covid = args.data / "covid-faq"
        if not (covid / "kb").is_dir():
            print(f"error: {args.data} has no covid-faq/kb folder", file=sys.stderr)
            return 2
        kbs.append(("covid-faq", covid / "kb", jsonl_questions(covid / "paraphrases.jsonl")))
    else:
        print("note: no --data: covid-faq paraphrases skipped (sample KB only)")

    rows: list[dict] = []
    for composer in [c.strip() for c in args.composers.split(",") if c.strip()]:
        if composer == "llamacpp":
            try:
                from agent.composers.llamacpp import default_gguf_path

                default_gguf_path()
                import llama_cpp  # noqa: F401
            except Exception as exc:  # noqa: BLE001 - optional extra
                print(f"note: llamacpp skipped: {exc}")
                continue
        for name, kb, questions in kbs:
            n = args.llm_turns if composer == "llamacpp" else args.limit
            qs = questions[:n] if n else questions
            rows += run_kb(name, kb, qs, composer, profile=args.profile and composer == "extractive")

    print_table("engine: per-turn latency (ms), one fresh conversation per question",
                rows, ["kb", "composer", "system", "n", "p50_ms", "p95_ms", "p99_ms", "answered", "grounding_rejected",
                 "speedup_p95"])
    for r in rows:
        if r["system"] == "concierge":
            print(f"{r['kb']}/{r['composer']}: {r['actions']}")
    for r in rows:
        if r["system"] == "concierge" and r["composer"] == "extractive":
            ok_p95 = r["p95_ms"] is not None and r["p95_ms"] <= GOAL_P95_MS
            ok_ratio = (r.get("speedup_p95") or 0) >= GOAL_RATIO
            print(f"goal {r['kb']}: p95 {r['p95_ms']} ms <= {GOAL_P95_MS:g}: {'met' if ok_p95 else 'NOT met'}; "
                  f"stock/ours p95 {r.get('speedup_p95')}x >= {GOAL_RATIO:g}x: {'met' if ok_ratio else 'NOT met'}")
    out = write_result("engine", {"rows": rows})
    print(f"written: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
