"""`python -m bench suites` finds every suite of a data folder and its KB without a list in the code."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.suites import discover, summary_rows

CASE = {"id": "c1", "turns": [{"user": "hi", "expect": {"action": "answer"}}]}


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture()
def data(tmp_path: Path) -> Path:
    suite_yaml = "suite: s\ncases:\n  - id: c1\n    turns: [{user: hi}]\n"
    _write(tmp_path / "brands/acme/kb/a.md", "# A\n\ntext\n")
    _write(tmp_path / "brands/acme/suite.yaml", suite_yaml)
    _write(tmp_path / "brands/acme/README.md", "not a suite\n")
    _write(tmp_path / "faq-set/kb/faq.jsonl", json.dumps({"question": "q", "answer": "a"}) + "\n")
    _write(tmp_path / "faq-set/paraphrases.jsonl", json.dumps(CASE) + "\n")
    _write(tmp_path / "faq-set/notes.jsonl", json.dumps({"text": "plain data"}) + "\n")
    # a source added later, its suites one folder deeper than its kb/
    _write(tmp_path / "newsource/kb/doc.md", "# D\n")
    _write(tmp_path / "newsource/dialogues/turns.yml", suite_yaml)
    _write(tmp_path / "safety/crisis.jsonl", json.dumps(CASE) + "\n")
    _write(tmp_path / "labelled/answers.jsonl", json.dumps(CASE) + "\n")  # suite-shaped, still data
    _write(tmp_path / "pii/spans.jsonl", json.dumps(CASE) + "\n")
    return tmp_path


def test_each_suite_runs_against_the_nearest_kb_and_data_folders_are_skipped(data: Path) -> None:
    groups, notes = discover(data, data / "brands/acme/kb")
    found = {g.label: (g.kb, [label for label, _ in g.suites]) for g in groups}
    assert found["brands/acme"] == (data / "brands/acme/kb", ["brands/acme/suite.yaml"])
    assert found["faq-set"] == (data / "faq-set/kb", ["faq-set/paraphrases.jsonl"])
    assert found["newsource"] == (data / "newsource/kb", ["newsource/dialogues/turns.yml"])
    # no kb/ above safety/: the default KB, in a group of its own (not mixed into the shop's numbers)
    assert found["safety on default KB brands/acme"] == (data / "brands/acme/kb", ["safety/crisis.jsonl"])
    every = [label for g in groups for label, _ in g.suites]
    assert not [s for s in every if s.startswith(("labelled/", "pii/")) or "/kb/" in s]
    assert any("faq-set/notes.jsonl" in n for n in notes)  # JSON lines without turns: said, not run
    assert groups[0].label.startswith("own") and groups[0].suites  # the project's own suites come first


def test_a_suite_without_kb_and_without_default_kb_is_skipped_with_a_note(data: Path) -> None:
    groups, notes = discover(data, data / "missing/kb")
    assert all(not label.startswith("safety/") for g in groups for label, _ in g.suites)
    assert any("safety/crisis.jsonl" in n for n in notes)


def test_macro_is_the_mean_over_kbs_and_worst_takes_the_direction_of_each_metric() -> None:
    kbs = [
        {"kb": "a", "metrics": {"answer_accuracy": 0.9, "over_escalation_rate": 0.0, "clarify_rate": None}},
        {"kb": "b", "metrics": {"answer_accuracy": 0.5, "over_escalation_rate": 0.2, "clarify_rate": 0.1}},
    ]
    macro, worst = summary_rows(kbs)
    assert macro["answer_accuracy"] == pytest.approx(0.7)
    assert worst["answer_accuracy"] == {"value": 0.5, "kb": "b"}
    assert worst["over_escalation_rate"] == {"value": 0.2, "kb": "b"}
    assert macro["clarify_rate"] == pytest.approx(0.1)  # a KB that did not measure it is left out
    assert macro["citation_hit_rate"] is None and worst["citation_hit_rate"] is None
