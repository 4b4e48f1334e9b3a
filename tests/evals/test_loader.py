"""Suite loading: the formats of specs/eval-suite.md and one-line errors naming file and case."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.loader import SuiteError, check_doc_ids, find_suite_files, load_suites, select_cases


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """
suite: returns
defaults:
  channel: x_public
  customer: {handle: "@sam", locale: en}
  tags: [default-tag]
thresholds: {escalation_recall: 0.9, pii_leaks: 0}
cases:
  - id: window
    tags: [routine]
    channel: messenger
    turns:
      - user: "how long to return?"
        expect: {action: answer, cites: [returns-policy], reason: fraud_security}
      - user: "thanks"
  - id: inherits
    turns:
      - user: "hi"
        expect: {action: [answer, clarify]}
"""


def test_yaml_suite_defaults_merge_shallowly_case_wins(tmp_path: Path) -> None:
    [suite] = load_suites([_write(tmp_path / "s.yaml", GOOD)])
    assert suite.name == "returns"
    assert suite.thresholds == {"escalation_recall": 0.9, "pii_leaks": 0.0}
    window, inherits = suite.cases
    assert window.spec.channel == "messenger" and window.spec.tags == ["routine"]
    assert inherits.spec.channel == "x_public" and inherits.spec.tags == ["default-tag"]
    assert inherits.spec.customer.handle == "@sam"
    first = window.spec.turns[0].expect
    assert first.actions() == {"answer"} and [r.value for r in first.reason] == ["fraud_security"]
    assert window.spec.turns[1].expect is None  # played, not scored


def test_jsonl_one_case_per_line_with_history(tmp_path: Path) -> None:
    lines = [
        {"id": "a", "channel": "telegram", "turns": [{"user": "x", "expect": {"action": "escalate"}}]},
        {"id": "b", "history": [{"role": "user", "text": "q"}, {"role": "bot", "text": "r"}],
         "turns": [{"user": "y"}]},
    ]
    path = _write(tmp_path / "cases.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n\n")
    [suite] = load_suites([path])
    assert suite.name == "cases" and [c.id for c in suite.cases] == ["a", "b"]
    assert len(suite.cases[1].spec.history) == 2


def test_folders_are_recursive_and_skip_the_kb_folder(tmp_path: Path) -> None:
    _write(tmp_path / "suites" / "a.yaml", GOOD)
    _write(tmp_path / "suites" / "deeper" / "b.yml", GOOD.replace("suite: returns", "suite: other"))
    _write(tmp_path / "suites" / "kb" / "faq.jsonl", '{"question": "q", "answer": "a"}\n')
    files = find_suite_files([tmp_path / "suites"], skip=tmp_path / "suites" / "kb")
    assert sorted(p.name for p in files) == ["a.yaml", "b.yml"]


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        (GOOD.replace("tags: [routine]", "tagz: [routine]"), ["case 'window'", "unknown field 'tagz'"]),
        (GOOD.replace("reason: fraud_security", "reason: fraud"), ["case 'window'", "unknown reason code 'fraud'"]),
        (GOOD.replace("action: answer,", "action: respond,"), ["case 'window'", "unknown action 'respond'"]),
        (GOOD.replace("channel: messenger", "channel: tiktok"), ["case 'window'", "unknown channel 'tiktok'"]),
        (GOOD.replace("expect: {action: answer,", "expect: {colour: red, action: answer,"),
         ["case 'window'", "turn 1 expect: unknown field 'colour'"]),
        (GOOD.replace("escalation_recall", "escalation_recal"), ["thresholds", "unknown metric 'escalation_recal'"]),
        (GOOD.replace("  channel: x_public", "  chanel: x_public"), ["defaults", "unknown field 'chanel'"]),
        (GOOD.replace("suite: returns", "suite: returns\nowner: me"), ["unknown top-level field 'owner'"]),
        ("cases: [\n", ["not valid YAML"]),
    ],
)
def test_bad_suites_give_one_line_errors_naming_file_and_case(tmp_path: Path, text: str, needles: list[str]) -> None:
    path = _write(tmp_path / "bad.yaml", text)
    with pytest.raises(SuiteError) as info:
        load_suites([path])
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    for needle in needles:
        assert needle in message


def test_bad_jsonl_line_names_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "c.jsonl", '{"id": "ok", "turns": [{"user": "x"}]}\n{"id": "z", "turns": [{"usr": "x"}]}\n')
    with pytest.raises(SuiteError, match=r"c\.jsonl: line 2: case 'z'"):
        load_suites([path])


def test_unknown_doc_id_names_file_case_and_suggests(tmp_path: Path) -> None:
    suites = load_suites([_write(tmp_path / "s.yaml", GOOD)])
    check_doc_ids(suites, {"returns-policy"})
    with pytest.raises(SuiteError) as info:
        check_doc_ids(suites, {"returns-policies"})
    assert "case 'window'" in str(info.value) and "unknown doc id 'returns-policy'" in str(info.value)
    assert "did you mean 'returns-policies'" in str(info.value)


def test_missing_path_and_duplicate_ids_are_errors(tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match="no such file"):
        load_suites([tmp_path / "nope.yaml"])
    dup = GOOD.replace("id: inherits", "id: window")
    with pytest.raises(SuiteError, match="duplicate case id"):
        load_suites([_write(tmp_path / "d.yaml", dup)])


def test_tag_and_case_filters(tmp_path: Path) -> None:
    suites = load_suites([_write(tmp_path / "s.yaml", GOOD)])
    assert [c.id for s in select_cases(suites, tags=["routine"]) for c in s.cases] == ["window"]
    assert [c.id for s in select_cases(suites, case_ids=["inherits"]) for c in s.cases] == ["inherits"]
