"""Arbitrary suite files: the loader returns a suite or raises one clean line, and
`concierge eval` turns every bad file into exit code 2 and a one-line error, never a traceback."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from evals.command import run_eval
from evals.loader import Suite, SuiteError, load_suite_file
from tests.reliability.test_fuzz_webhooks import FUZZ, json_any, plausible

CASE = {"id": "c1", "channel": "messenger", "tags": ["routine"], "customer": {"handle": "@sam"},
        "history": [{"role": "user", "text": "hi"}],
        "turns": [{"user": "How long does a refund take?",
                   "expect": {"action": ["answer", "clarify"], "cites": ["refunds"], "reason": "no_answer",
                              "priority": "high", "must_not_contain": ["guarantee"]}}]}
SUITE = {"suite": "fuzz", "defaults": {"channel": "telegram"}, "thresholds": {"escalation_recall": 0.9},
         "cases": [CASE]}

yaml_texts = st.one_of(
    st.text(max_size=400),
    plausible(SUITE).map(lambda v: yaml.safe_dump(v, allow_unicode=True)),
    plausible(SUITE).map(lambda v: json.dumps(v)),  # JSON is YAML too
)
jsonl_texts = st.one_of(
    st.text(max_size=400),
    st.lists(st.one_of(plausible(CASE).map(json.dumps), json_any.map(json.dumps), st.text(max_size=40)),
             max_size=4).map("\n".join),
)
raw_bytes = st.binary(max_size=300)


@pytest.mark.parametrize("name,text,shown", [("cases.jsonl", '{"id": "a\\nb"}\n', "case 'a\\nb'"),
                                             ("suite.yaml", 'cases:\n  - id: "a\\vb"\n', "case 'a\\x0bb'"),
                                             ("cases.jsonl", '{"id": "a\\u2028b"}\n', "case 'a\\u2028b'")])
def test_case_id_with_control_characters_gives_one_line(tmp_path, name, text, shown):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SuiteError) as err:
        load_suite_file(path)
    assert len(str(err.value).splitlines()) == 1, str(err.value)
    assert shown in str(err.value), "the id is shown escaped, not dropped"


def _check_file(path: Path, sample_kb: Path) -> None:
    try:
        suite = load_suite_file(path)
    except SuiteError as exc:
        message = str(exc)
        assert message and "\n" not in message and "Traceback" not in message, repr(message)
        assert str(path) in message, f"the error does not name the file: {message!r}"
        out, err = io.StringIO(), io.StringIO()
        code = run_eval([path], kb=sample_kb, stdout=out, stderr=err)
        assert code == 2, (code, err.getvalue())
        lines = err.getvalue().strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), err.getvalue()
    else:
        assert isinstance(suite, Suite) and suite.cases


def test_arbitrary_yaml_suites(tmp_path, sample_kb):
    @FUZZ
    @given(text=yaml_texts)
    def check(text):
        path = tmp_path / "suite.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        _check_file(path, sample_kb)

    check()


def test_arbitrary_jsonl_suites(tmp_path, sample_kb):
    @FUZZ
    @given(text=jsonl_texts)
    def check(text):
        path = tmp_path / "cases.jsonl"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        _check_file(path, sample_kb)

    check()


def test_arbitrary_bytes_suites(tmp_path, sample_kb):
    @FUZZ
    @given(data=raw_bytes, suffix=st.sampled_from([".yaml", ".yml", ".jsonl"]))
    def check(data, suffix):
        path = tmp_path / f"raw{suffix}"
        path.write_bytes(data)
        _check_file(path, sample_kb)

    check()
