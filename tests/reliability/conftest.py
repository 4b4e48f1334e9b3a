"""Fixtures for the reliability tests: a dedicated, restartable Redis and shared helpers.

The connector fixtures (emulators, the session-wide KB index) are reused from tests/connectors.
"""
from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import redis

from tests.connectors.conftest import graph, kb_dirs, tgapi, xapi  # noqa: F401 - fixtures reused
from tests.connectors.live import free_port


class DedicatedRedis:
    """A redis-server of our own (AOF, fsync always) that a test may kill and restart at will."""

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None
        self.log = workdir / "redis.log"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed")
        cmd = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
               "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no",
               "--protected-mode", "yes", "--logfile", str(self.log)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + 60
        while True:
            try:
                if client.ping():
                    return
            except redis.RedisError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start: {self.log.read_text()[-500:] if self.log.exists() else ''}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: nothing is flushed beyond what AOF with fsync always already wrote."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def restart(self, down_s: float = 1.0) -> None:
        self.kill()
        time.sleep(down_s)
        self.start()

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, decode_responses=True)


@pytest.fixture
def dedicated_redis(tmp_path: Path) -> Iterator[DedicatedRedis]:
    workdir = tmp_path / "redis"
    workdir.mkdir()
    server = DedicatedRedis(workdir)
    server.start()
    yield server
    server.kill()


def poll(check: Callable[[], Any], *, timeout_s: float, what: str, every_s: float = 0.2) -> Any:
    """Wait for check() to be truthy; a generous deadline, never a timed assertion."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(every_s)


def stop_process(proc: subprocess.Popen | None) -> None:
    """Terminate one process we started (by its handle), killing it if it lingers."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


# --- an intake-only app (no worker) on the shared Redis, with Slack mounted ----------------------
SLACK_SECRET = "reliability-signing-secret"
SLACK_TOKEN = "xoxb-emulator"
SLACK_CHANNEL = "C0RELIAB1"


class IntakeApp:
    def __init__(self, client: Any, redis_client: redis.Redis, prefix: str, settings: Any) -> None:
        self.http = client
        self.r = redis_client
        self.prefix = prefix
        self.settings = settings

    def queued(self) -> int:
        """Entries appended to the intake stream so far (nothing consumes them here)."""
        return int(self.r.xlen(self.prefix + "intake"))


@pytest.fixture
def intake_app(tmp_path: Path, redis_url: str, redis_prefix: str, kb_dirs) -> Iterator[IntakeApp]:  # noqa: F811
    from fastapi.testclient import TestClient

    from connectors.app import create_app
    from connectors.slack.wiring import stop_all
    from tests.connectors.conftest import make_settings
    from tests.emulators.slack_api import SlackApiEmulator

    slack = SlackApiEmulator(token=SLACK_TOKEN).start()
    settings = make_settings(tmp_path, redis_url=redis_url, kb_dirs=kb_dirs, rate_limit_per_minute=100_000,
                             slack_bot_token=SLACK_TOKEN, slack_signing_secret=SLACK_SECRET,
                             slack_channel=SLACK_CHANNEL, slack_base_url=slack.url, slack_app_token=None)
    app = create_app(settings, redis_prefix=redis_prefix, run_worker=False)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield IntakeApp(client, redis.Redis.from_url(redis_url, decode_responses=True), redis_prefix, settings)
    finally:
        stop_all()
        slack.stop()


@pytest.fixture(scope="session")
def kb_index_for_worker(kb_dirs):  # noqa: F811
    """The session's sample-KB index (ingested once by tests/connectors' kb_dirs)."""
    from agent.factory import build_index
    from agent.settings import Settings
    from retrieval.embeddings import get_embedder

    settings = Settings(data_dir=kb_dirs["data"], kb_dir=kb_dirs["kb"], _env_file=None)
    return build_index(settings, get_embedder(settings.embedding_model))
