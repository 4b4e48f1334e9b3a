"""Document audience (issue 21): every KB format can mark a document internal (agent-only)."""
from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.loaders import load_kb

REPO = Path(__file__).resolve().parents[2]
ARTICLE = "---\nid: {id}\n{extra}---\n# {title}\n\nSome text about {title}.\n"


def _write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _audiences(kb: Path) -> dict[str, str]:
    result = load_kb(kb)
    assert result.errors == []
    return {d.doc_id: d.audience for d in result.documents}


def test_every_format_can_say_internal(tmp_path: Path) -> None:
    _write(tmp_path, "public.md", ARTICLE.format(id="public", extra="", title="Refunds"))
    _write(tmp_path, "front.md", ARTICLE.format(id="front", extra="audience: Internal\n", title="Override"))
    _write(tmp_path, "said-public.md", ARTICLE.format(id="said-public", extra="audience: public\n", title="X"))
    _write(tmp_path, "page.html", '<html><head><meta name="Audience" content="internal"><title>Script</title>'
                                  "</head><body><p>Say this.</p></body></html>")
    _write(tmp_path, "open.html", "<html><head><title>Open</title></head><body><p>Hello.</p></body></html>")
    _write(tmp_path, "faq.csv", "question,answer,audience\nPublic q?,Public a.,\nAgent q?,Agent a.,internal\n")
    _write(tmp_path, "faq.jsonl", '{"id": "j1", "question": "Q?", "answer": "A."}\n'
                                  '{"id": "j2", "question": "Q2?", "answer": "A2.", "audience": "internal"}\n')
    _write(tmp_path, "billing/internal/deep.md", ARTICLE.format(id="deep", extra="", title="Deep"))
    _write(tmp_path, "internal/notes.txt", "Agent notes.")
    _write(tmp_path, "internal/contradict.md", ARTICLE.format(id="contradict", extra="audience: public\n", title="C"))
    assert _audiences(tmp_path) == {
        "public": "public", "front": "internal", "said-public": "public",
        "page.html": "internal", "open.html": "public",
        "faq#1": "public", "faq#2": "internal", "j1": "public", "j2": "internal",
        "deep": "internal", "internal/notes.txt": "internal",
        "contradict": "internal",  # the folder wins: any of the signs makes a document internal
    }


def test_unknown_audience_is_an_error_naming_the_file_and_row(tmp_path: Path) -> None:
    _write(tmp_path, "a.md", ARTICLE.format(id="a", extra="audience: staff\n", title="A"))
    _write(tmp_path, "faq.csv", "question,answer,audience\nQ?,A.,agents-only\nQ2?,A2.,\n")
    result = load_kb(tmp_path)
    messages = sorted(e.message for e in result.errors)
    assert len(messages) == 2
    assert "a.md" in messages[0] and "public or internal" in messages[0] and "staff" in messages[0]
    assert "faq.csv row 1" in messages[1] and "agents-only" in messages[1]
    assert [d.doc_id for d in result.documents] == ["faq#2"]  # the rest of the folder still loads


def test_flipping_the_audience_changes_the_content_hash(tmp_path: Path) -> None:
    _write(tmp_path, "a.md", ARTICLE.format(id="a", extra="", title="A"))
    before = load_kb(tmp_path).documents[0].content_hash
    _write(tmp_path, "a.md", ARTICLE.format(id="a", extra="audience: internal\n", title="A"))
    assert load_kb(tmp_path).documents[0].content_hash != before


def test_the_mixed_eval_kb_has_internal_articles_in_every_format() -> None:
    docs = load_kb(REPO / "evals" / "internal_kb" / "kb").documents
    internal = {d.kind for d in docs if d.internal}
    assert internal == {"markdown", "html", "faq"}
    assert sum(d.internal for d in docs) == 5 and sum(not d.internal for d in docs) == 6
