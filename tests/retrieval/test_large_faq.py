"""A KB with more titles than the embedder's query cache: the engine starts and serves.

A 12,039-row FAQ export failed at start-up with KeyError on its first question: the outside-KB
check embedded every title through the query cache (2,048 entries) in one batch, and the batch
evicted its own first rows before reading them back. The same happens at any size above the
cache, so these tests shrink the cache instead of ingesting thousands of rows.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agent.messages import InboundMessage

PLACES = ["Maple Court", "Harbour Tower", "Golden Lantern", "Cedar Lodge", "Coral Quay", "Stone Mill",
          "Velvet Studio", "Amber Pavilion", "River Market", "North Gallery", "Sunset Terrace", "Crown Hall"]


@pytest.fixture
def small_cache_embedder() -> Any:
    from retrieval.embeddings import Embedder, default_model_path

    return Embedder(default_model_path(), query_cache_size=4)


def test_a_batch_larger_than_the_query_cache_gets_every_vector(small_cache_embedder: Any) -> None:
    texts = [f"Are there age restrictions for {p}?" for p in PLACES]
    batched = small_cache_embedder.embed_many_cached(texts + texts[:2])
    direct = small_cache_embedder.embed(texts)
    assert batched.shape == (len(texts) + 2, small_cache_embedder.dim)
    assert np.allclose(batched[: len(texts)], direct, atol=1e-5)
    assert np.allclose(batched[len(texts):], direct[:2], atol=1e-5)


def _faq(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for n, place in enumerate(PLACES):
        rows.append({"id": f"age-{n}", "question": f"Are there age restrictions for {place}?",
                     "answer": f"Visitors under {8 + n} years old must come with an adult at {place}."})
        rows.append({"id": f"parking-{n}", "question": f"Does {place} have free parking?",
                     "answer": f"{place} has {20 + n} free parking spaces behind the main entrance."})
    # The same question for many places, as real exports repeat it.
    rows += [{"id": f"cards-{n}", "question": "Do you accept credit cards?",
              "answer": f"Yes, {p} accepts all major credit cards."} for n, p in enumerate(PLACES[:3])]
    (folder / "faq.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return folder


def test_engine_starts_and_answers_on_an_faq_larger_than_the_query_cache(
        small_cache_embedder: Any, tmp_path: Path) -> None:
    from agent.factory import build_engine
    from agent.settings import Settings
    from agent.store_memory import MemoryStore
    from retrieval.index import KnowledgeIndex

    kb = _faq(tmp_path / "kb")
    index = KnowledgeIndex(persist_dir=tmp_path / "chroma", embedder=small_cache_embedder)
    report = index.ingest(kb)
    assert report.documents == len(PLACES) * 2 + 3 and not report.failed

    engine = build_engine(Settings(data_dir=tmp_path / "data", llm_provider="extractive", kb_dir=kb),
                          store=MemoryStore(), index=index, llm="extractive")
    decision = engine.handle(InboundMessage(
        platform="messenger", channel="messenger", conversation_key="messenger:p:u1", customer_id="u1",
        message_id="m1", text="Are there age restrictions for Cedar Lodge?"))
    assert decision.action == "answer", decision.text
    assert [c.doc_id for c in decision.citations][:1] == ["age-3"]
    assert "11 years" in decision.text
    # The outside-KB check reads the index's own vectors: every title and question is in scope.
    scope = index.scope_vectors()
    assert scope is not None and scope.shape[0] == report.documents
