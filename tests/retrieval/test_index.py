"""KnowledgeIndex on the sample KB: real Chroma, real MiniLM, real BM25."""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from retrieval.chroma_store import parse_chroma_url
from retrieval.index import KnowledgeIndex


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory, sample_kb, embedder) -> KnowledgeIndex:
    index = KnowledgeIndex(tmp_path_factory.mktemp("chroma-sample"), embedder=embedder)
    report = index.ingest(sample_kb)
    assert report.failed == []
    return index


def _top_doc(index: KnowledgeIndex, query: str, history: list[str] | None = None) -> str:
    return index.search(query, k=5, history=history).passages[0].doc_id


@pytest.mark.parametrize(
    ("query", "doc_id"),
    [
        ("How do I change my password?", {"password-reset", "faq-forgot-password"}),
        ("do you deliver to canada and what does it cost", {"international-shipping", "faq-ship-to-us"}),
        ("my bluetooth headphones won't pair with my phone", {"bluetooth-pairing", "faq-pair-earbuds"}),
        ("how long do refunds take to arrive", {"refunds", "faq-refund-time"}),
        ("can i pay with a gift card", {"gift-cards", "payment-methods"}),
        ("hw do i rest my pasword", {"password-reset", "faq-forgot-password"}),  # typos
        ("pls help cant log in 2 the app", {"app-login"}),  # slang
    ],
)
def test_sample_questions_find_the_right_document(sample_index, query, doc_id):
    assert _top_doc(sample_index, query) in doc_id


def test_passages_carry_scores_and_metadata(sample_index):
    result = sample_index.search("how do I reset my password", k=3)
    assert len(result.passages) == 3
    assert len({p.chunk_id for p in result.passages}) == 3
    scores = [p.score for p in result.passages]
    assert scores == sorted(scores, reverse=True)
    top = result.passages[0]
    assert top.dense_score is not None and top.lexical_score is not None
    assert top.title and top.text
    assert sample_index.document(top.doc_id)["title"] == top.title


@pytest.mark.parametrize(
    ("query", "doc_id"),
    [
        # Same meaning as an FAQ question, few shared words; a passage sharing surface words
        # ("refunds", "delivery") is about something else and must not win.
        ("can the bot give me my money back?", "faq-refund-bot"),
        ("is delivery to america possible?", "faq-ship-to-us"),
    ],
)
def test_faq_question_paraphrase_beats_passage_with_shared_words(sample_index, query, doc_id):
    assert _top_doc(sample_index, query) == doc_id


def test_follow_up_uses_history(sample_index):
    follow_up = "and how much does that cost?"
    history = ["do you ship to the United States?"]
    assert _top_doc(sample_index, follow_up, history) in {"international-shipping", "faq-ship-to-us"}
    assert "context" in sample_index.search(follow_up, history=history).query


def test_empty_query_returns_nothing(sample_index):
    result = sample_index.search("   ")
    assert result.passages == [] and result.answerability == 0.0


def test_incremental_ingest(tmp_path, sample_kb, embedder):
    kb = tmp_path / "kb"
    shutil.copytree(sample_kb, kb)
    index = KnowledgeIndex(tmp_path / "chroma", embedder=embedder)
    first = index.ingest(kb)
    assert first.added == first.documents > 0 and first.skipped == 0

    again = index.ingest(kb)
    assert (again.added, again.updated, again.removed) == (0, 0, 0)
    assert again.skipped == first.documents and again.chunks == first.chunks

    article = kb / "store" / "store-locations.md"
    article.write_text(
        article.read_text(encoding="utf-8")
        + "\n\n## Rooftop kiosk\n\nOur zeppelin hangar kiosk sells refurbished turntables.\n",
        encoding="utf-8",
    )
    (kb / "troubleshooting" / "battery-charging.md").unlink()
    (kb / "billing" / "broken.jsonl").write_text('{"question": "no answer here"}\n', encoding="utf-8")
    changed = index.ingest(kb)
    assert changed.updated == 1 and changed.removed == 1 and changed.added == 0
    assert [e.source.split("#")[0] for e in changed.failed] == ["billing/broken.jsonl"]
    assert "battery-charging" not in index.doc_ids()
    assert _top_doc(index, "zeppelin hangar turntables") == "store-locations"
    assert all(p.doc_id != "battery-charging" for p in index.search("battery charging time", k=10).passages)

    # A new process (new client) sees the same state: nothing to do.
    reopened = KnowledgeIndex(tmp_path / "chroma", embedder=embedder)
    assert reopened.doc_ids() == index.doc_ids()
    assert reopened.ingest(kb).skipped == changed.documents


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_http_client_mode(tmp_path, sample_kb, embedder):
    chroma = Path(sys.executable).parent / "chroma"
    if not chroma.exists():
        pytest.skip("the chroma CLI is not installed")
    port = _free_port()
    server = subprocess.Popen(
        [str(chroma), "run", "--path", str(tmp_path / "server"), "--port", str(port), "--host", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        index = None
        while index is None:
            try:
                index = KnowledgeIndex(chroma_url=url, embedder=embedder)
            except ConnectionError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.5)
        kb = tmp_path / "kb"
        kb.mkdir()
        shutil.copy(sample_kb / "account" / "password-reset.md", kb)
        shutil.copy(sample_kb / "returns" / "refunds.md", kb)
        assert index.ingest(kb).added == 2
        assert _top_doc(index, "I forgot my password") == "password-reset"  # only two docs here
        other = KnowledgeIndex(chroma_url=url, embedder=embedder)
        assert other.doc_ids() == {"password-reset", "refunds"}
        assert other.ingest(kb).skipped == 2
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_parse_chroma_url():
    assert parse_chroma_url("http://chroma:8000") == ("chroma", 8000, False)
    assert parse_chroma_url("https://vectors.example.com") == ("vectors.example.com", 443, True)
    with pytest.raises(ValueError):
        parse_chroma_url("ftp://x")


def test_cli_search_json(tmp_path, sample_kb):
    from typer.testing import CliRunner

    from connectors.cli import app

    kb = tmp_path / "kb"
    kb.mkdir()
    shutil.copy(sample_kb / "account" / "password-reset.md", kb)
    shutil.copy(sample_kb / "returns" / "refunds.md", kb)
    runner = CliRunner()
    data = ["--data-dir", str(tmp_path / "data")]
    result = runner.invoke(app, ["search", "reset my password", "--kb", str(kb), "-k", "2", "--json", *data])
    assert result.exit_code == 0, result.output
    passages = json.loads(result.stdout)
    assert [p["doc_id"] for p in passages][0] == "password-reset"
    assert {"doc_id", "chunk_id", "title", "url", "text", "score"} <= set(passages[0])

    missing = runner.invoke(app, ["ingest", str(tmp_path / "nope"), *data])
    assert missing.exit_code == 2
    ingested = runner.invoke(app, ["ingest", str(kb), *data])
    assert ingested.exit_code == 0 and "skipped" in ingested.stdout
