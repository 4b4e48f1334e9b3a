"""The LLM endpoint hangs, fails or talks nonsense: every turn still ends, with a grounded
answer from the knowledge base or a hand-off, never with the model's invention."""
from __future__ import annotations

import threading

import pytest

from agent.factory import build_engine
from agent.settings import Settings
from agent.store_memory import MemoryStore
from guardrails.codes import Action
from guardrails.grounding import check_grounding
from tests.agent.conftest import message, openai_emulator  # noqa: F401 - fixture reused

HARD_LIMIT_S = 120  # only to stop a hung test; the turn budget itself is not timed here
QUESTIONS = ["How long does a refund take?", "Can I change my delivery address?", "How do I reset my password?"]
INVENTED = "Every customer gets a free electric scooter with each order"
FAULTS = {
    "hangs": dict(mode="sleep", delay_s=30.0, answer=INVENTED),
    "http 500": dict(mode="error"),
    "invents": dict(mode="fixed", answer=INVENTED + ". Refunds are instant and paid in gold."),
    "garbage": dict(mode="fixed", answer="\x00\ufffd}}{{ <|im_end|> null null " * 20),
    "empty": dict(mode="fixed", answer=""),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_every_turn_ends_grounded_or_escalated(openai_emulator, kb_index_for_worker, tmp_path, fault):  # noqa: F811
    for name, value in FAULTS[fault].items():
        setattr(openai_emulator, name, value)
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", llm_provider="openai",
                        openai_base_url=openai_emulator.url, llm_timeout_s=1.0)
    engine = build_engine(settings, store=MemoryStore(), index=kb_index_for_worker, llm="openai")

    for n, question in enumerate(QUESTIONS):
        result: dict = {}
        turn = threading.Thread(target=lambda: result.update(
            decision=engine.handle(message(question, key=f"messenger:page:{fault}{n}", message_id=f"{fault}-{n}"))),
            daemon=True)
        turn.start()
        turn.join(HARD_LIMIT_S)
        assert not turn.is_alive(), f"{fault}: the turn for {question!r} never ended"
        decision = result["decision"]
        assert decision.action in (Action.ANSWER, Action.ESCALATE, Action.CLARIFY), decision.action
        assert decision.text.strip(), "the customer got no reply at all"
        assert "scooter" not in decision.text and "gold" not in decision.text and "\x00" not in decision.text
        if decision.action == Action.ANSWER:
            assert decision.citations, "an answer without a knowledge-base citation"
            passages = [p.text for p in kb_index_for_worker.search(question, k=8).passages]
            assert check_grounding(decision.text, passages).share > 0.5, decision.text
    assert openai_emulator.requests, "the engine never asked the LLM endpoint"
