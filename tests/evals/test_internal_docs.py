"""`concierge eval` fails a turn whose reply cites or quotes an internal document (issue 21), and
the mixed public/internal suite in evals/internal_kb passes on the shipped engine."""
from __future__ import annotations

import io
import json
from pathlib import Path

from evals.scoring import InternalDocs

REPO = Path(__file__).resolve().parents[2]
SUITE = REPO / "evals" / "internal_kb" / "suite.yaml"
KB = REPO / "evals" / "internal_kb" / "kb"


def test_citing_or_quoting_an_internal_document_fails_the_turn() -> None:
    docs = InternalDocs(
        {"override": "Enter the override code OVR-5531 and the carrier tracking number in the admin console."},
        ["We refund your return within 5 business days after it reaches our warehouse."])
    assert docs.failures("We refund your return within 5 business days after it reaches our warehouse.",
                         ["refunds"]) == []
    assert docs.failures("Sure.", ["override"]) == ["internal: cites internal document override"]
    quoted = docs.failures("Please enter the override code OVR-5531 and the carrier tracking number!", [])
    assert quoted == ["internal: quotes internal document override"]


def test_wording_shared_with_a_public_document_is_not_a_quote() -> None:
    shared = "you can cancel your membership at any time in your account settings"
    docs = InternalDocs({"script": f"{shared}. Offer code KEEP50 first."}, [f"{shared}."])
    assert docs.failures(shared.capitalize() + ".", ["public"]) == []


def test_from_kb_reads_every_format() -> None:
    docs = InternalDocs.from_kb(str(KB))
    assert docs.ids == {"refund-override-procedure", "agent-verification-checklist",
                        "internal/retention-offers.html", "faq-waive-restocking", "faq-goodwill-credit"}


def _eval(*args: str, **kwargs) -> tuple[int, dict]:
    from evals.command import run_eval

    out, err = io.StringIO(), io.StringIO()
    code = run_eval([SUITE], kb=KB, fmt="json", stdout=out, stderr=err, **kwargs)
    return code, json.loads(out.getvalue())


def test_the_mixed_suite_passes_and_a_leaking_search_fails_it(monkeypatch) -> None:
    code, report = _eval()
    assert code == 0, report["failures"]
    assert report["metrics"]["internal_leaks"] == 0
    assert not [f for f in report["failures"] if "internal:" in f["why"]]

    # The same engine with a search that lets internal articles through: the check catches it.
    from retrieval.index import KnowledgeIndex

    search = KnowledgeIndex.search
    monkeypatch.setattr(KnowledgeIndex, "search",
                        lambda self, query, k=5, history=None, audience="agent":
                        search(self, query, k=k, history=history, audience="agent"))
    code, report = _eval(case_ids=["override-code", "retention-code"])
    assert code == 1 and report["metrics"]["internal_leaks"] == 2  # the suite's threshold is 0
    why = " | ".join(f["why"] for f in report["failures"])
    assert "internal: cites internal document refund-override-procedure" in why
    assert "internal: cites internal document internal/retention-offers.html" in why
