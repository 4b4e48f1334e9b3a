"""Shared fixtures: a real Redis, the sample KB, the real embedding model."""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


def _redis_url() -> str:
    return os.environ.get("CONCIERGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of a real Redis. Skips when none answers, unless CONCIERGE_REQUIRE_REDIS=1."""
    import redis

    url = _redis_url()
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "no Redis here"
        if os.environ.get("CONCIERGE_REQUIRE_REDIS") == "1":
            pytest.fail(f"Redis at {url} does not answer ({exc}); CONCIERGE_REQUIRE_REDIS=1")
        pytest.skip(f"no Redis at {url}")
    return url


@pytest.fixture
def redis_prefix(redis_url: str):
    """A unique key prefix for one test; its keys are deleted afterwards."""
    import redis

    prefix = f"cgtest:{uuid.uuid4().hex[:10]}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=prefix + "*", count=500))
    if keys:
        client.delete(*keys)


@pytest.fixture(scope="session")
def sample_kb() -> Path:
    return REPO / "knowledge" / "sample"


@pytest.fixture(scope="session")
def embedder():
    from retrieval.embeddings import get_embedder

    return get_embedder()
