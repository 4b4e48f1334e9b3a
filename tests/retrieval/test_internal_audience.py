"""Internal documents in the index (issue 21): customers' searches never see them, agents' do."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from retrieval.index import KnowledgeIndex

REPO = Path(__file__).resolve().parents[2]
MIXED = REPO / "evals" / "internal_kb" / "kb"
INTERNAL_IDS = {"refund-override-procedure", "agent-verification-checklist", "internal/retention-offers.html",
                "faq-waive-restocking", "faq-goodwill-credit"}
QUESTIONS = [
    "my refund is stuck, can you do a manual override?",
    "I lost access to my email and phone, how do I verify my identity?",
    "is there a discount if I stay with Brightwave+?",
    "can you waive the restocking fee?",
    "how much goodwill credit can I get?",
]


@pytest.fixture(scope="module")
def mixed(tmp_path_factory, embedder):
    kb = tmp_path_factory.mktemp("kb")
    shutil.copytree(MIXED, kb, dirs_exist_ok=True)
    chroma = tmp_path_factory.mktemp("chroma")
    index = KnowledgeIndex(persist_dir=chroma, embedder=embedder)
    report = index.ingest(kb)
    return index, kb, report, chroma


def test_ingest_counts_public_and_internal(mixed) -> None:
    report = mixed[2]
    assert (report.documents, report.public, report.internal) == (11, 6, 5)


def test_customer_search_never_returns_internal_passages(mixed) -> None:
    index = mixed[0]
    for question in QUESTIONS:
        for k in (1, 5, 50):  # even asking for every chunk
            found = index.search(question, k=k)
            assert found.passages, question
            assert not {p.doc_id for p in found.passages} & INTERNAL_IDS, question
            assert not any(p.internal for p in found.passages)


def test_agent_search_sees_internal_articles_marked(mixed) -> None:
    index = mixed[0]
    found = index.search("my refund is stuck, can you do a manual override?", k=5, audience="agent")
    internal = [p for p in found.passages if p.internal]
    assert internal and internal[0].doc_id == "refund-override-procedure"
    assert all((p.doc_id in INTERNAL_IDS) == p.internal for p in found.passages)
    with pytest.raises(ValueError, match="audience"):
        index.search("refund", audience="staff")


def test_scope_vectors_cover_public_documents_only(mixed) -> None:
    index = mixed[0]
    # one title or FAQ question vector per public document
    assert len(index.scope_vectors()) == 6


def test_reingest_that_makes_a_document_internal_hides_it_at_once(mixed, tmp_path, embedder) -> None:
    index, kb, _, chroma = mixed
    question = "How long until I get my money back after a return?"
    assert index.search(question, k=3).passages[0].doc_id == "refunds"
    other = KnowledgeIndex(persist_dir=chroma, embedder=embedder)  # another process on the same store
    page = kb / "refunds.md"
    original = page.read_text(encoding="utf-8")
    page.write_text(original.replace("tags: [returns, refund]", "tags: [returns, refund]\naudience: internal"),
                    encoding="utf-8")
    try:
        report = index.ingest(kb)
        assert (report.updated, report.public, report.internal) == (1, 5, 6)
        assert "refunds" not in {p.doc_id for p in index.search(question, k=50).passages}
        assert "refunds" in {p.doc_id for p in index.search(question, k=5, audience="agent").passages}
        other.refresh()  # what a worker does when it sees the new generation
        assert "refunds" not in {p.doc_id for p in other.search(question, k=50).passages}
    finally:
        page.write_text(original, encoding="utf-8")
        report = index.ingest(kb)
    assert report.internal == 5 and index.search(question, k=3).passages[0].doc_id == "refunds"


def test_cli_search_internal_flag(tmp_path) -> None:
    from typer.testing import CliRunner

    from connectors.cli import app

    runner = CliRunner()
    data = ["--data-dir", str(tmp_path / "data")]
    ingest = runner.invoke(app, ["ingest", str(MIXED), *data])
    assert ingest.exit_code == 0, ingest.output
    assert "6 public, 5 internal" in ingest.output
    question = "my refund is stuck, can you do a manual override?"
    customer = runner.invoke(app, ["search", question, "-k", "20", "--json", *data])
    agent = runner.invoke(app, ["search", question, "-k", "5", "--json", "--internal", *data])
    assert customer.exit_code == 0 and agent.exit_code == 0, customer.output + agent.output
    customer_ids = {p["doc_id"] for p in json.loads(customer.output)}
    agent_rows = json.loads(agent.output)
    assert not customer_ids & INTERNAL_IDS
    assert any(p["internal"] and p["doc_id"] == "refund-override-procedure" for p in agent_rows)
    table = runner.invoke(app, ["search", question, "--internal", *data])
    assert "internal" in table.output
