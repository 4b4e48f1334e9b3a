"""LLM composer over any LangChain chat model, with a hard wall-clock timeout."""
from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from langchain_core.language_models.chat_models import BaseChatModel

from agent.composers.base import Composed, ComposeRequest, ComposerError
from agent.prompting import MAX_PASSAGES, NO_ANSWER, build_messages

# LLM calls run here so a hung call cannot hold the turn past its timeout; a call that
# overruns finishes in the background and its answer is discarded.
_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="llm")


def _tidy(text: str) -> str:
    text = re.sub(r"<\|?[a-z_]+\|?>", " ", text)  # stray chat-template tokens
    text = re.sub(r"^(assistant|answer|reply)\s*:\s*", "", text.strip(), flags=re.IGNORECASE)
    return re.sub(r"\s+", " ", text).strip()


class ChatComposer:
    """Phrases the reply with a chat model; raises ComposerError on timeout, error or refusal."""

    def __init__(self, model: BaseChatModel, name: str, timeout_s: float) -> None:
        self.model = model
        self.name = name
        self.timeout_s = timeout_s

    def compose(self, request: ComposeRequest) -> Composed:
        if not request.passages:
            raise ComposerError("no passages to answer from")
        messages = build_messages(request)
        future = _POOL.submit(self.model.invoke, messages)
        try:
            result = future.result(timeout=self.timeout_s)
        except FutureTimeout:
            future.cancel()
            raise ComposerError(f"{self.name} did not answer within {self.timeout_s:g}s") from None
        except Exception as exc:  # noqa: BLE001 - any LLM failure means: fall back
            if "timeout" in type(exc).__name__.lower():
                raise ComposerError(f"{self.name} did not answer within {self.timeout_s:g}s") from None
            raise ComposerError(f"{self.name} failed: {type(exc).__name__}: {str(exc)[:160]}") from None
        content = result.content if isinstance(result.content, str) else str(result.content)
        text = _tidy(content)
        if not text:
            raise ComposerError(f"{self.name} returned an empty reply")
        if NO_ANSWER in text.upper().replace(" ", "_"):
            raise ComposerError(f"{self.name} said the passages do not answer")
        return Composed(text=text, passages=request.passages[:MAX_PASSAGES], composer=self.name)
