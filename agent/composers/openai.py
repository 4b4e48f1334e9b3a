"""The `openai` provider: any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp server)."""
from __future__ import annotations

from langchain_openai import ChatOpenAI

from agent.composers.chat import ChatComposer


def openai_chat_model(*, base_url: str | None, api_key: str | None, model: str, timeout_s: float,
                      max_tokens: int) -> ChatOpenAI:
    """A ChatOpenAI with our timeout and no retries (the engine falls back instead of waiting)."""
    return ChatOpenAI(
        model=model,
        base_url=base_url,
        # local servers ignore the key, but the client insists on one
        api_key=api_key or "not-needed",
        timeout=timeout_s,
        max_retries=0,
        max_tokens=max_tokens,
        temperature=0.0,
    )


def openai_composer(*, base_url: str | None, api_key: str | None, model: str, timeout_s: float,
                    max_tokens: int) -> ChatComposer:
    chat = openai_chat_model(base_url=base_url, api_key=api_key, model=model,
                             timeout_s=timeout_s, max_tokens=max_tokens)
    return ChatComposer(chat, "openai", timeout_s)
