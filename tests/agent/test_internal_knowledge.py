"""Internal articles (issue 21) never reach a customer, on any channel or composer, nor the LLM's
prompt; the human agent's packet shows them, marked internal."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.agent.conftest import message

REPO = Path(__file__).resolve().parents[2]
MIXED = REPO / "evals" / "internal_kb" / "kb"
INTERNAL_IDS = {"refund-override-procedure", "agent-verification-checklist", "internal/retention-offers.html",
                "faq-waive-restocking", "faq-goodwill-credit"}
# Words that only the internal articles say (codes, steps, offers).
INTERNAL_WORDS = ["OVR-5531", "lead-approval", "VB-2046", "bypass", "KEEP50", "half price", "free pause",
                  "RW-880", "GW-12", "admin console", "Manual override", "billing postcode"]
QUESTIONS = [
    ("My refund still hasn't arrived after two weeks, can you override it?", "webchat", False),
    ("I lost access to my email and my phone, how can I verify my identity?", "messenger", False),
    ("Is there a discount if I stay with Brightwave+ instead of cancelling?", "whatsapp", False),
    ("@brightwave can you waive the restocking fee on my earbuds?", "x_public", True),
    ("my order was late, how much goodwill credit can you give me?", "telegram", False),
    ("I want to cancel my Brightwave+ membership, what offers are there to keep me?", "instagram", False),
    # Asked in the internal articles' own words: a search that let them through quoted both.
    ("How do I use the refund override code?", "messenger", False),
    ("what is the retention code for brightwave+?", "webchat", False),
]


@pytest.fixture(scope="module")
def mixed_index(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Any:
    from retrieval.index import KnowledgeIndex

    kb = tmp_path_factory.mktemp("mixed_kb")
    shutil.copytree(MIXED, kb, dirs_exist_ok=True)
    index = KnowledgeIndex(persist_dir=tmp_path_factory.mktemp("mixed_chroma"), embedder=embedder)
    index.ingest(kb)
    return index


@pytest.fixture
def mixed_engine(mixed_index: Any, tmp_path: Path):
    from agent.factory import build_engine
    from agent.settings import Settings
    from agent.store_memory import MemoryStore

    def build(llm: str = "extractive", **settings: Any) -> Any:
        values = {"data_dir": tmp_path / "data", "llm_provider": llm, **settings}
        return build_engine(Settings(**values), store=MemoryStore(), index=mixed_index, llm=llm)

    return build


def _customer_text(decision: Any) -> str:
    return "\n".join([decision.text or "", decision.public_text or "", *decision.parts])


def _assert_nothing_internal(decision: Any) -> None:
    assert not {c.doc_id for c in decision.citations} & INTERNAL_IDS
    said = _customer_text(decision).lower()
    assert not [w for w in INTERNAL_WORDS if w.lower() in said], said


def _play(engine: Any, n: int) -> list[Any]:
    out = []
    for i, (text, channel, public) in enumerate(QUESTIONS):
        out.append(engine.handle(message(text, key=f"{channel}:{n}:{i}", channel=channel, public=public)))
    return out


def test_extractive_replies_never_cite_or_quote_internal_articles(mixed_engine) -> None:
    decisions = _play(mixed_engine("extractive"), 0)
    for d in decisions:
        _assert_nothing_internal(d)
    assert any(d.action == "answer" for d in decisions)  # the public articles still answer


def test_the_llm_prompt_never_holds_internal_articles(mixed_engine, openai_emulator) -> None:
    openai_emulator.mode = "echo"  # a faithful model: it repeats the first excerpt it was given
    engine = mixed_engine("openai", openai_base_url=openai_emulator.url, llm_timeout_s=5)
    decisions = _play(engine, 1)
    assert openai_emulator.requests, "the composer was never asked"
    prompts = str(openai_emulator.requests).lower()
    assert not [w for w in INTERNAL_WORDS if w.lower() in prompts]
    for title in ("Refund override procedure", "Identity verification checklist", "Retention offers"):
        assert title.lower() not in prompts
    for d in decisions:
        _assert_nothing_internal(d)


def test_every_composer_request_holds_public_passages_only(mixed_engine) -> None:
    """What any composer (extractive, openai, llamacpp) gets: the engine's ComposeRequest."""
    engine = mixed_engine("extractive")
    seen: list[Any] = []
    original = engine.composer.compose

    def spy(request: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(request)
        return original(request, *args, **kwargs)

    engine.composer.compose = spy
    _play(engine, 2)
    assert seen
    assert all(not p.internal and p.doc_id not in INTERNAL_IDS for r in seen for p in r.passages)


def test_the_agents_packet_shows_internal_articles_marked(mixed_engine) -> None:
    engine = mixed_engine("extractive")
    d = engine.handle(message("My refund is stuck for three weeks, I want to speak to a human about an override",
                              key="webchat:packet", channel="webchat"))
    assert d.action == "escalate" and d.case_id
    _assert_nothing_internal(d)
    packet = engine.packet(d.case_id)
    tried = {k.doc_id: k.internal for k in packet.kb_tried}
    assert tried.get("refund-override-procedure") is True
    assert all(internal == (doc_id in INTERNAL_IDS) for doc_id, internal in tried.items())
    if packet.suggested_reply and "OVR-5531" in packet.suggested_reply:
        assert packet.suggested_reply_internal

    from connectors.slack.blocks import case_blocks

    text = str(case_blocks(packet))
    assert "internal, do not quote" in text


def test_a_document_made_internal_leaves_customer_replies_at_once(mixed_engine, mixed_index, tmp_path) -> None:
    kb = tmp_path / "kb"
    shutil.copytree(MIXED, kb)
    from retrieval.index import KnowledgeIndex

    index = KnowledgeIndex(persist_dir=tmp_path / "chroma", embedder=mixed_index.embedder)
    index.ingest(kb)
    from agent.factory import build_engine
    from agent.settings import Settings
    from agent.store_memory import MemoryStore

    engine = build_engine(Settings(data_dir=tmp_path / "data", llm_provider="extractive"),
                          store=MemoryStore(), index=index, llm="extractive")
    question = "do you charge a restocking fee on opened earbuds?"
    before = engine.handle(message(question, key="webchat:flip:1", channel="webchat"))
    assert "restocking.html" in {c.doc_id for c in before.citations}
    page = kb / "restocking.html"
    page.write_text(page.read_text().replace("<title>", '<meta name="audience" content="internal"><title>'))
    index.ingest(kb)
    after = engine.handle(message(question, key="webchat:flip:2", channel="webchat"))
    assert "restocking.html" not in {c.doc_id for c in after.citations}
    assert "10 euros" not in _customer_text(after)
