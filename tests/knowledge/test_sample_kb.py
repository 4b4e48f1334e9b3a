"""The shipped Brightwave sample KB: loads cleanly, ids unique, facts the eval suites rely on present."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from knowledge.chunking import chunk_document
from knowledge.loaders import load_kb

HELP = "https://help.brightwave.example/"


@pytest.fixture(scope="module")
def sample(sample_kb: Path):
    return load_kb(sample_kb)


def test_loads_without_errors(sample) -> None:
    assert sample.errors == []
    assert sample.skipped == []
    assert len(sample.documents) >= 25
    ids = [d.doc_id for d in sample.documents]
    assert len(ids) == len(set(ids))


def test_articles_have_metadata(sample) -> None:
    articles = [d for d in sample.documents if d.kind == "markdown"]
    faqs = [d for d in sample.documents if d.kind == "faq"]
    assert len(articles) >= 28 and len(faqs) >= 20
    for doc in sample.documents:
        assert re.fullmatch(r"[a-z0-9-]+", doc.doc_id), doc.doc_id
        assert doc.url and doc.url.startswith(HELP), doc.doc_id
        assert doc.tags, doc.doc_id
    assert all(d.doc_id.startswith("faq-") for d in faqs)


def test_internal_links_point_to_existing_articles(sample) -> None:
    urls = {d.url for d in sample.documents}
    for doc in sample.documents:
        for link in re.findall(r"\((https://help\.brightwave\.example/[^)\s]+)\)", doc.text):
            assert link in urls, f"{doc.doc_id} links to missing {link}"


@pytest.mark.parametrize(
    ("doc_id", "facts"),
    [
        ("returns-policy", ["30 days", "60 days"]),
        ("change-cancel-order", ["1 hour"]),
        ("shipping-options", ["€50", "€4.95"]),
        ("warranty", ["2-year"]),
        ("contact-us", ["8:00–20:00", "9:00–17:00"]),
        ("delete-account-data-requests", ["privacy@brightwave.example", "30 days"]),
        ("about-the-assistant", ["can't issue refunds"]),
    ],
)
def test_key_facts_present(sample, doc_id: str, facts: list[str]) -> None:
    doc = {d.doc_id: d for d in sample.documents}[doc_id]
    for fact in facts:
        assert fact in doc.text, f"{doc_id} should state {fact!r}"


def test_every_document_chunks_within_budget(sample) -> None:
    for doc in sample.documents:
        chunks = chunk_document(doc)
        assert chunks, doc.doc_id
        if doc.kind != "faq":
            assert all(len(c.text) <= 900 + 180 + 2 for c in chunks), doc.doc_id
