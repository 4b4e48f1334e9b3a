"""Service processes for the benchmarks: `concierge serve` / `concierge worker` subprocesses on
loopback with their own Redis key prefix, a signed-webhook load generator, and cleanup."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from bench.measure import ROOT, free_port

REDIS_URL = os.environ.get("CONCIERGE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
APP_SECRET = "bench-app-secret"
PAGE_ID = "1000"
PAGE_TOKEN = "page-token"
CLI = [str(Path(sys.executable).parent / "concierge")]


def bench_prefix(name: str) -> str:
    return f"bench-{name}-{uuid.uuid4().hex[:8]}:"


def service_env(prefix: str, **extra: str) -> dict[str, str]:
    """The environment of a serve/worker subprocess: Redis, the Meta app, no Slack, no LLM endpoint."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONCIERGE_")}
    env.update({
        "CONCIERGE_REDIS_URL": REDIS_URL, "CONCIERGE_REDIS_PREFIX": prefix,
        "CONCIERGE_META_APP_SECRET": APP_SECRET, "CONCIERGE_META_VERIFY_TOKEN": "bench-verify",
        "CONCIERGE_META_PAGE_ID": PAGE_ID, "CONCIERGE_META_PAGE_TOKEN": PAGE_TOKEN,
        "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False",
        "TOKENIZERS_PARALLELISM": "false",
    })
    env.update(extra)
    return env


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """A subprocess in its own process group (so its children go with it), logging to a file."""
    handle = log.open("wb")
    return subprocess.Popen(CLI + args, env=env, cwd=str(ROOT), stdout=handle, stderr=subprocess.STDOUT,
                            start_new_session=True)


def stop(proc: subprocess.Popen, grace_s: float = 10.0) -> None:
    """SIGTERM to the process (by pid), then SIGKILL after the grace period."""
    if proc.poll() is not None:
        return
    try:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
    except ProcessLookupError:
        pass


def wait_http(url: str, proc: subprocess.Popen, timeout_s: float = 180.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{' '.join(proc.args)} exited with {proc.returncode} before answering")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout_s:.0f}s")


def delete_prefix(client: Any, prefix: str) -> int:
    """Delete every key under our prefix (never FLUSHDB: the Redis is shared)."""
    n = 0
    batch: list[str] = []
    for key in client.scan_iter(match=f"{prefix}*", count=1000):
        batch.append(key)
        if len(batch) >= 500:
            n += client.delete(*batch)
            batch.clear()
    if batch:
        n += client.delete(*batch)
    return n


def messenger_body(psid: str, mid: str, text: str) -> bytes:
    now = int(time.time() * 1000)
    return json.dumps({"object": "page", "entry": [{"id": PAGE_ID, "time": now, "messaging": [
        {"sender": {"id": psid}, "recipient": {"id": PAGE_ID}, "timestamp": now,
         "message": {"mid": mid, "text": text}}]}]}).encode()


def meta_signature(body: bytes) -> str:
    """The X-Hub-Signature-256 value Meta sends with `body`."""
    return "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()


def signed_request(port: int, body: bytes) -> bytes:
    """A complete HTTP/1.1 keep-alive POST /webhooks/meta with a valid X-Hub-Signature-256."""
    sig = meta_signature(body)
    head = (f"POST /webhooks/meta HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"X-Hub-Signature-256: {sig}\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


async def _one_connection(port: int, queue: list[bytes], results: list[tuple[int, float]], deadline: float) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while queue and time.perf_counter() < deadline:
            request = queue.pop()
            start = time.perf_counter()
            writer.write(request)
            await writer.drain()
            status_line = await reader.readline()
            length = 0
            close = False
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value.strip())
                elif name.lower() == "connection" and value.strip().lower() == "close":
                    close = True
            if length:
                await reader.readexactly(length)
            status = int(status_line.split()[1]) if status_line else 0
            results.append((status, (time.perf_counter() - start) * 1000))
            if close or not status_line:
                break
    finally:
        writer.close()


def load(port: int, requests: list[bytes], concurrency: int, max_s: float) -> dict[str, Any]:
    """Send pre-built requests over `concurrency` keep-alive connections; stop at max_s."""
    queue = list(reversed(requests))
    results: list[tuple[int, float]] = []

    async def run() -> float:
        start = time.perf_counter()
        deadline = start + max_s
        await asyncio.gather(*(_one_connection(port, queue, results, deadline) for _ in range(concurrency)),
                             return_exceptions=True)
        return time.perf_counter() - start

    elapsed = asyncio.run(run())
    return {"elapsed_s": elapsed, "results": results}


__all__ = ["REDIS_URL", "bench_prefix", "service_env", "start", "stop", "wait_http", "delete_prefix",
           "messenger_body", "meta_signature", "signed_request", "load", "free_port"]
