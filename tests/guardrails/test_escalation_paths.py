"""Crisis wins in every state, other languages reach a person, packets carry what the KB had,
and a customer who is done gets a short close. Real engine: sample KB in Chroma, real embeddings.

Sentences are our own, not from any dataset.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from agent.messages import InboundMessage
from guardrails.language import crisis_text


@pytest.fixture(scope="module")
def kb_index(sample_kb: Path, embedder: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from retrieval.index import KnowledgeIndex

    index = KnowledgeIndex(persist_dir=tmp_path_factory.mktemp("chroma-esc"), embedder=embedder)
    index.ingest(sample_kb)
    return index


@pytest.fixture
def engine(kb_index: Any, tmp_path: Path) -> Any:
    from agent.factory import build_engine
    from agent.settings import Settings
    from agent.store_memory import MemoryStore

    return build_engine(Settings(data_dir=tmp_path / "data", llm_provider="extractive"),
                        store=MemoryStore(), index=kb_index, llm="extractive")


def msg(text: str, key: str = "messenger:page:u1", *, channel: str = "messenger", public: bool = False) -> InboundMessage:
    return InboundMessage(platform="test", channel=channel, conversation_key=key, customer_id="u1",
                          customer_handle="@sam", message_id=os.urandom(6).hex(), text=text, public=public)


def test_crisis_while_waiting_for_a_person_is_answered_at_once_and_raised_to_urgent(engine):
    first = engine.handle(msg("can I talk to someone from your team please", key="c-wait"))
    assert first.action == "escalate" and first.priority == "normal"
    case = first.case_id
    d = engine.handle(msg("honestly I'm going to kill myself tonight", key="c-wait"))
    assert d.action == "escalate" and d.case_id == case  # the same case, not a new one
    assert d.text.startswith(crisis_text("en")) and d.priority == "urgent"
    packet = engine.packet(case)
    assert packet.priority == "urgent" and packet.reasons[0] == "safety_crisis"
    assert "human_requested" in packet.reasons
    assert packet.sla_due_at < packet.created_at.replace(microsecond=0) + __import__("datetime").timedelta(minutes=60)
    # an ordinary message afterwards is relayed to the agent as before
    assert engine.handle(msg("it's about my order", key="c-wait")).action == "relay"


def test_crisis_with_an_agent_on_the_case_alerts_and_keeps_the_agent(engine):
    first = engine.handle(msg("I want a human", key="c-human"))
    engine.handoff.claim(first.case_id, "agent-ana")
    d = engine.handle(msg("I've made my decision, I just want my affairs in order", key="c-human"))
    assert d.action == "escalate" and d.priority == "urgent"
    conv = engine.conversation("c-human")
    assert conv.status == "human" and conv.assignee == "agent-ana"


def test_crisis_on_a_public_post_gets_the_emergency_sentence(engine):
    d = engine.handle(msg("@shop I don't want to be alive anymore", key="x:pub", channel="x_public", public=True))
    assert d.action == "escalate" and "safety_crisis" in d.reasons and d.priority == "urgent"
    assert crisis_text("en") in d.text


@pytest.mark.parametrize("text, reason, phrase", [
    ("Je veux mourir, je n'en peux plus", "safety_crisis", "urgence"),
    ("Ich möchte bitte mit einem Mitarbeiter sprechen", "human_requested", "Mitarbeiter"),
    ("Mijn rekening is gehackt en er staan betalingen die ik niet herken", "fraud_security", "medewerker"),
    ("¿Cuánto tarda en llegar mi pedido a Sevilla?", "other", "equipo"),
])
def test_other_languages_reach_a_person_with_a_reply_in_that_language(engine, text, reason, phrase):
    d = engine.handle(msg(text, key=f"c-{reason}"))
    assert d.action == "escalate" and d.reasons[0] == reason, (d.action, d.reasons)
    assert phrase in d.text
    assert engine.packet(d.case_id).language in ("fr", "de", "nl", "es")


def test_policy_escalations_carry_what_the_kb_had(engine):
    d = engine.handle(msg("someone used my saved card on your store, I never bought those headphones", key="c-kb"))
    assert d.action == "escalate" and d.reasons[0] == "fraud_security"
    packet = engine.packet(d.case_id)
    assert packet.kb_tried  # retrieval ran for the message even though the policy decided first


def test_a_customer_who_is_done_gets_a_short_close(engine):
    first = engine.handle(msg("How do I return an item?", key="c-close"))
    assert first.action == "answer"
    d = engine.handle(msg("great, thanks that solved it", key="c-close"))
    assert d.action == "clarify" and not d.citations and len(d.text) < 120
