"""Fixtures for the connector tests: emulators, settings pointing at them, a shared KB index."""
from __future__ import annotations

from pathlib import Path

import pytest

from agent.settings import Settings
from tests.emulators.graph_api import GraphApiEmulator
from tests.emulators.telegram_api import TelegramApiEmulator
from tests.emulators.x_api import XApiEmulator

META_SECRET = "meta-app-secret"
VERIFY_TOKEN = "verify-me"
X_SECRET = "x-consumer-secret"
X_ME = "9000"
TG_SECRET = "tg-secret_token-1"
TG_TOKEN = "123456:bot-token"
PAGE_ID = "PAGE1"
IG_ID = "IG1"
WA_PHONE_ID = "PHONE1"


@pytest.fixture
def graph():
    with GraphApiEmulator(page_token="page-token", instagram_ids=(IG_ID,), whatsapp_token="wa-token") as em:
        yield em


@pytest.fixture
def xapi():
    with XApiEmulator(user_token="x-user-token") as em:
        yield em


@pytest.fixture
def tgapi():
    with TelegramApiEmulator(token=TG_TOKEN) as em:
        yield em


@pytest.fixture(scope="session")
def kb_dirs(tmp_path_factory, sample_kb) -> dict[str, Path]:
    """A data dir whose Chroma index holds the sample KB, ingested once per session."""
    from agent.factory import build_index
    from retrieval.embeddings import get_embedder

    data = tmp_path_factory.mktemp("concierge-data")
    settings = Settings(data_dir=data, kb_dir=sample_kb, _env_file=None)
    index = build_index(settings, get_embedder(settings.embedding_model))
    index.ingest(sample_kb)
    return {"data": data, "chroma": settings.chroma_dir, "kb": sample_kb}


@pytest.fixture(scope="session")
def kb_index(kb_dirs):
    from agent.factory import build_index
    from retrieval.embeddings import get_embedder

    settings = Settings(data_dir=kb_dirs["data"], kb_dir=kb_dirs["kb"], _env_file=None)
    return build_index(settings, get_embedder(settings.embedding_model))


def make_settings(tmp_path: Path, *, redis_url: str | None = None, graph=None, xapi=None, tgapi=None,
                  kb_dirs: dict | None = None, **extra) -> Settings:
    values = dict(
        data_dir=tmp_path / "data",
        redis_url=redis_url,
        meta_app_secret=META_SECRET, meta_verify_token=VERIFY_TOKEN, meta_page_token="page-token",
        meta_page_id=PAGE_ID, whatsapp_token="wa-token", whatsapp_phone_number_id=WA_PHONE_ID,
        x_consumer_secret=X_SECRET, x_user_token="x-user-token", x_user_id=X_ME,
        telegram_bot_token=TG_TOKEN, telegram_secret_token=TG_SECRET,
        llm_provider="extractive",
    )
    if graph is not None:
        values["meta_graph_base_url"] = graph.url
    if xapi is not None:
        values["x_api_base_url"] = xapi.url
    if tgapi is not None:
        values["telegram_api_base_url"] = tgapi.url
    if kb_dirs is not None:
        values["kb_dir"] = kb_dirs["kb"]
        values["chroma_path"] = kb_dirs["chroma"]
    values.update(extra)
    return Settings(_env_file=None, **values)
