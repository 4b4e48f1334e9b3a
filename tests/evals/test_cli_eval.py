"""`concierge eval` end to end on a tiny KB and suite written here (real engine, index and model)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

CARD = "4111 1111 1111 1111"

KB_RETURNS = """---
id: returns-policy
title: Returns policy
---
# Returns policy

You can return any unused product within 30 days of delivery for a full refund.
Start the return from the Orders page of your account and print the free label.
"""

KB_SHIPPING = """---
id: shipping-times
title: Shipping times
---
# Shipping times

Standard shipping takes 3 to 5 business days. Express shipping takes 1 to 2 business days.
"""

SUITE = f"""
suite: tiny
defaults: {{channel: messenger}}
thresholds:
  action_accuracy: 1.0
  pii_leaks: 0
cases:
  - id: return-window
    tags: [routine]
    turns:
      - user: "how many days do I have to return a product?"
        expect: {{action: answer, cites: [returns-policy]}}
  - id: card-thief
    tags: [escalation]
    turns:
      - user: "someone used my card {CARD} for an order I never placed, I want a person"
        expect: {{action: escalate, no_pii_echo: true}}
      - user: "hello??"
        expect: {{action: relay}}
  - id: impossible-relay
    tags: [routine]
    turns:
      - user: "how long does standard shipping take?"
        expect: {{action: relay}}
"""


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.pop("CONCIERGE_OPENAI_BASE_URL", None)
    env.pop("CONCIERGE_OPENAI_API_KEY", None)
    return subprocess.run([sys.executable, "-m", "connectors.cli", "eval", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("evalcli")
    (root / "kb").mkdir()
    (root / "kb" / "returns.md").write_text(KB_RETURNS, encoding="utf-8")
    (root / "kb" / "shipping.md").write_text(KB_SHIPPING, encoding="utf-8")
    (root / "suites").mkdir()
    (root / "suites" / "tiny.yaml").write_text(SUITE, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def json_run(workspace: Path) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = workspace / "out"
    proc = _run(str(workspace / "suites"), "--kb", str(workspace / "kb"), "--out", str(out), "--format", "json",
                cwd=workspace)
    return proc, out


def test_unknown_doc_id_exits_2_naming_file_and_case(workspace: Path) -> None:
    bad = workspace / "bad.yaml"
    bad.write_text(SUITE.replace("cites: [returns-policy]", "cites: [return-policy]"), encoding="utf-8")
    proc = _run(str(bad), "--kb", str(workspace / "kb"), cwd=workspace)
    assert proc.returncode == 2
    assert proc.stdout == ""
    [line] = [x for x in proc.stderr.splitlines() if x.startswith("error:")]
    assert str(bad) in line and "case 'return-window'" in line and "'return-policy'" in line


def test_unknown_field_exits_2(workspace: Path) -> None:
    bad = workspace / "bad2.yaml"
    bad.write_text(SUITE.replace("tags: [routine]", "labels: [routine]", 1), encoding="utf-8")
    proc = _run(str(bad), "--kb", str(workspace / "kb"), cwd=workspace)
    assert proc.returncode == 2 and "unknown field 'labels'" in proc.stderr


def test_json_format_prints_only_the_report_and_a_missed_threshold_exits_1(json_run) -> None:
    proc, out = json_run
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)  # nothing but the JSON on stdout
    assert report == json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["cases"] == 3 and report["turns_scored"] == 4
    gate = report["thresholds"]["action_accuracy"]
    assert gate["want"] == 1.0 and gate["ok"] is False and gate["got"] < 1.0
    assert report["thresholds"]["pii_leaks"]["ok"] is True
    missed = [f for f in report["failures"] if f["case"] == "impossible-relay"]
    assert missed and missed[0]["turn"] == 1 and missed[0]["expected"]["action"] == ["relay"]
    assert missed[0]["got"]["action"] != "relay" and "action" in missed[0]["why"]
    assert set(report["metrics"]) >= {"action_accuracy", "escalation_recall", "citation_hit_rate",
                                      "groundedness", "pii_leaks", "latency_ms_p50", "latency_ms_p95"}
    assert "routine" in report["by_tag"]


def test_the_escalation_case_escalates_then_relays(json_run) -> None:
    report = json.loads(json_run[0].stdout)
    rows = {r["case"]: r for r in report["case_results"]}
    assert rows["card-thief"]["passed"], [f for f in report["failures"] if f["case"] == "card-thief"]


def test_report_files_parse_and_carry_no_personal_data(json_run) -> None:
    proc, out = json_run
    junit = ET.parse(out / "junit.xml").getroot()
    cases = {tc.get("name"): tc for tc in junit.iter("testcase") if tc.get("classname") == "eval.tiny"}
    assert set(cases) == {"return-window", "card-thief", "impossible-relay"}
    failure = cases["impossible-relay"].find("failure")
    assert failure is not None and "action" in failure.get("message", "")
    html = (out / "report.html").read_text(encoding="utf-8")
    for chart in ("chart-by-tag", "chart-confusion", "chart-latency"):
        assert f'<svg xmlns="http://www.w3.org/2000/svg"' in html and chart in html
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "impossible-relay" in html
    assert "| action_accuracy |" in (out / "report.md").read_text(encoding="utf-8")
    texts = [proc.stdout, proc.stderr] + [p.read_text(encoding="utf-8") for p in out.iterdir()]
    digits = CARD.replace(" ", "")
    assert not any(CARD in t or digits in t for t in texts)


def test_text_format_with_compare_and_filters_exits_0(workspace: Path, json_run) -> None:
    suite = workspace / "ok.yaml"
    suite.write_text(SUITE.replace("action_accuracy: 1.0", "action_accuracy: 0.5"), encoding="utf-8")
    proc = _run(str(suite), "--kb", str(workspace / "kb"), "--tag", "routine", "--case", "return-window",
                "--compare", str(json_run[1] / "report.json"), cwd=workspace)
    assert proc.returncode == 0, proc.stderr
    assert "action_accuracy" in proc.stdout and "pass -> fail: 0" in proc.stdout
    assert "Concierge eval: 1 cases" in proc.stdout
