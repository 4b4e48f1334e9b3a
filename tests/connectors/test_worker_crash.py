"""A worker killed (SIGKILL) mid-turn: after a restart the message is answered exactly once."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from agent.store_redis import RedisStore
from connectors.app import create_app
from tests.connectors.conftest import META_SECRET, PAGE_ID, make_settings
from tests.connectors.live import LiveServer
from tests.emulators.webhooks import messenger_event, post_meta

QUESTION = "How long does a refund take to reach my card?"


def _worker(settings, prefix: str, consumer: str, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONCIERGE_")}
    env.update({
        "CONCIERGE_REDIS_URL": settings.redis_url,
        "CONCIERGE_DATA_DIR": str(settings.data_dir),
        "CONCIERGE_KB_DIR": str(settings.kb_dir),
        "CONCIERGE_CHROMA_PATH": str(settings.chroma_path),
        "CONCIERGE_LLM_PROVIDER": "extractive",
        "CONCIERGE_META_PAGE_TOKEN": settings.meta_page_token,
        "CONCIERGE_META_GRAPH_BASE_URL": settings.meta_graph_base_url,
        "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
    })
    cmd = [sys.executable, "-m", "connectors.cli", "worker", "--consumer", consumer, "--claim-idle-ms", "1000",
           "--lease-s", "2", "--redis-prefix", prefix]
    return subprocess.Popen(cmd, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, cwd=Path.cwd())


def test_killed_worker_message_processed_exactly_once(tmp_path, redis_url, redis_prefix, graph, kb_dirs):
    settings = make_settings(tmp_path, redis_url=redis_url, graph=graph, kb_dirs=kb_dirs)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    log = tmp_path / "workers.log"
    app = create_app(settings, redis_prefix=redis_prefix, run_worker=False)
    first = second = None
    try:
        with LiveServer(app) as server:
            graph.hang_next(1)  # the first send never gets an answer: the worker is mid-turn
            first = _worker(settings, redis_prefix, "w1", log)
            assert post_meta(server.url, messenger_event(PAGE_ID, "PSIDK", "m.kill.1", QUESTION),
                             META_SECRET).status_code == 200
            graph.wait_for(lambda reqs: len(reqs) >= 1, timeout=120)
            first.send_signal(signal.SIGKILL)
            first.wait(10)
            pending = client.xpending(redis_prefix + "intake", "workers")
            assert pending["pending"] == 1, "the entry was read but not acknowledged"

            second = _worker(settings, redis_prefix, "w2", log)
            graph.wait_delivered(1, timeout=120)
            # A later message proves w2 went on past the reclaimed one.
            assert post_meta(server.url, messenger_event(PAGE_ID, "PSIDK", "m.kill.2", "Thanks!"),
                             META_SECRET).status_code == 200
            graph.wait_delivered(2, timeout=60)
    except AssertionError:
        print(log.read_text()[-4000:])
        raise
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
    delivered = graph.delivered()
    assert len(delivered) == 2 and all(r.json["recipient"] == {"id": "PSIDK"} for r in delivered)
    conv = RedisStore(redis_url, prefix=redis_prefix).get(f"messenger:{PAGE_ID}:PSIDK")
    assert [(t.role, t.message_id) for t in conv.turns] == [
        ("user", "m.kill.1"), ("bot", "m.kill.1"), ("user", "m.kill.2"), ("bot", "m.kill.2")]
    assert client.xpending(redis_prefix + "intake", "workers")["pending"] == 0
