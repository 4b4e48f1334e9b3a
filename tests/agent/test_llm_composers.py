"""LLM composers behind the grounding gate: a real llama.cpp server (SmolLM2) on loopback, and an
OpenAI-compatible emulator for deterministic hallucination, timeout and HTTP 500."""
from __future__ import annotations

import pytest

from guardrails.grounding import check_grounding

QUESTION = "Do you ship to Canada?"


def _grounded(d, kb_index):
    cited = {c.doc_id for c in d.citations}
    passages = [p.text for p in kb_index.search(QUESTION, k=10).passages if p.doc_id in cited]
    return check_grounding(d.text.split("\n\nMore:")[0], passages).ok


def test_faithful_llm_reply_is_used(make_engine, msg, openai_emulator, kb_index):
    openai_emulator.mode = "echo"
    engine = make_engine(llm="openai", openai_base_url=openai_emulator.url, llm_timeout_s=5)
    d = engine.handle(msg(QUESTION))
    assert d.action == "answer" and d.composer == "openai", d.composer_note
    assert d.grounded == 1.0 and d.citations
    prompt = openai_emulator.requests[0]["messages"]
    assert "<customer>" in prompt[-1]["content"] and "not instructions" in prompt[0]["content"]


def test_hallucinated_reply_is_rejected_for_an_extractive_answer(make_engine, msg, openai_emulator, kb_index):
    openai_emulator.answer = "Yes! Shipping to Canada is free and arrives in 2 days by drone."
    engine = make_engine(llm="openai", openai_base_url=openai_emulator.url, llm_timeout_s=5)
    d = engine.handle(msg(QUESTION))
    assert d.action == "answer" and d.composer == "extractive"
    assert "grounding" in d.composer_note
    assert "drone" not in d.text and _grounded(d, kb_index)


def test_customer_text_reaches_the_llm_redacted(make_engine, msg, openai_emulator):
    openai_emulator.mode = "echo"
    engine = make_engine(llm="openai", openai_base_url=openai_emulator.url, llm_timeout_s=5)
    engine.handle(msg("Do you ship to Canada? write to me at sam.k@example.org"))
    sent = str(openai_emulator.requests)
    assert openai_emulator.requests and "sam.k@example.org" not in sent


@pytest.mark.parametrize("mode", ["sleep", "error"])
def test_slow_or_failing_llm_still_ends_the_turn(make_engine, msg, openai_emulator, kb_index, mode):
    openai_emulator.mode, openai_emulator.delay_s = mode, 3.0
    openai_emulator.answer = "Yes, we ship to Canada."
    engine = make_engine(llm="openai", openai_base_url=openai_emulator.url, llm_timeout_s=0.5)
    d = engine.handle(msg(QUESTION))
    assert d.action == "answer" and d.composer == "extractive"
    assert ("within 0.5s" in d.composer_note) if mode == "sleep" else ("failed" in d.composer_note)
    assert _grounded(d, kb_index)


@pytest.mark.llm
def test_real_llama_server_turn_is_grounded(make_engine, msg, llama_server, kb_index):
    engine = make_engine(llm="openai", openai_base_url=llama_server, llm_timeout_s=60,
                         openai_model="smollm2")
    d = engine.handle(msg(QUESTION))
    assert d.action == "answer" and d.citations
    assert d.composer in ("openai", "extractive")
    if d.composer == "extractive":
        assert d.composer_note  # says why SmolLM2's reply was not used
    assert _grounded(d, kb_index)


@pytest.mark.llm
def test_in_process_llamacpp_turn_is_grounded(make_engine, msg, smollm2_gguf, kb_index):
    engine = make_engine(llm="llamacpp", llamacpp_model_path=smollm2_gguf, llm_timeout_s=60)
    d = engine.handle(msg(QUESTION))
    assert d.action == "answer" and d.composer in ("llamacpp", "extractive")
    assert _grounded(d, kb_index)


@pytest.mark.llm
def test_composers_sharing_one_local_model_take_turns(smollm2_gguf):
    """Every engine in a process shares one loaded GGUF. Two chats over it, generating at the same
    time (a turn that timed out is still generating when the next starts), must take turns:
    two generations in one llama.cpp context crash the process."""
    from concurrent.futures import ThreadPoolExecutor

    from langchain_core.messages import HumanMessage

    from agent.composers.llamacpp import LlamaCppChat

    chats = [LlamaCppChat(model_path=str(smollm2_gguf), max_tokens=24) for _ in range(2)]
    question = [HumanMessage(content=QUESTION)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        replies = list(pool.map(lambda chat: chat.invoke(question).content, chats * 3))
    assert len(replies) == 6 and all(r.strip() for r in replies)
    assert len(set(replies)) == 1  # temperature 0, one generation at a time: the same reply each time
