"""`concierge serve` (the API + web chat) and `concierge worker` (turns from the Redis stream)."""
from __future__ import annotations

import signal
import threading
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: Optional[str] = typer.Option(None, help="Interface to bind (default: settings.host, 127.0.0.1)."),
        port: Optional[int] = typer.Option(None, help="Port (default: settings.port, 8000)."),
        redis_prefix: Optional[str] = typer.Option(None, help="Key prefix in Redis (default concierge:)."),
        log_level: str = typer.Option("INFO", help="Log level of the JSON logs."),
    ) -> None:
        """Run the API, the webhooks and the web chat. Without Redis, turns run in this process."""
        import uvicorn

        from agent.settings import SettingsError, load_settings
        from connectors.app import create_app
        from connectors.logging_json import configure_logging

        settings = load_settings()
        configure_logging(log_level)
        bind_host = host or settings.host
        bind_port = port if port is not None else settings.port
        try:
            app_ = create_app(settings, redis_prefix=redis_prefix)
        except SettingsError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        shown = "127.0.0.1" if bind_host in ("0.0.0.0", "::") else bind_host
        mode = "Redis stream (run `concierge worker` too)" if settings.redis_url else "in-process (embedded)"
        typer.echo(f"Concierge is starting; turns: {mode}. The first message waits for the model to load.")
        typer.echo(f"Web chat: http://{shown}:{bind_port}/")
        uvicorn.run(app_, host=bind_host, port=bind_port, log_config=None, access_log=False)

    @app.command()
    def worker(
        consumer: Optional[str] = typer.Option(None, help="Consumer name in the group (default host-pid)."),
        claim_idle_ms: int = typer.Option(30_000, help="Reclaim entries another worker held this long."),
        lease_s: Optional[float] = typer.Option(
            None, min=0.1, help="How long a started send blocks a retry of the same reply "
                               "(default CONCIERGE_SEND_LEASE_S, 60 s; sends get half of it)."),
        redis_prefix: Optional[str] = typer.Option(None, help="Key prefix in Redis (default concierge:)."),
        log_level: str = typer.Option("INFO", help="Log level of the JSON logs."),
    ) -> None:
        """Consume the intake stream: run each turn and send the reply (needs CONCIERGE_REDIS_URL)."""
        import redis

        from agent.factory import build_engine
        from agent.settings import SettingsError, load_settings
        from agent.store_redis import RedisStore
        from connectors.app import make_sink
        from connectors.logging_json import configure_logging
        from connectors.metrics import Metrics
        from connectors.senders import RedisLedger, build_sender
        from connectors.worker import RedisDecisionCache, RedisOrderLock, RedisWorker, TurnProcessor

        settings = load_settings()
        configure_logging(log_level)
        if not settings.redis_url:
            typer.echo("concierge worker needs Redis: set CONCIERGE_REDIS_URL. Without Redis, "
                       "`concierge serve` runs turns in its own process.", err=True)
            raise typer.Exit(2)
        try:
            settings.check_service()
        except SettingsError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        prefix = redis_prefix or settings.redis_prefix
        client = redis.Redis.from_url(settings.redis_url, decode_responses=True, socket_connect_timeout=5)
        try:
            client.ping()
        except redis.RedisError as exc:
            typer.echo(f"Redis at {settings.redis_url} does not answer ({exc}); start it or fix CONCIERGE_REDIS_URL.",
                       err=True)
            raise typer.Exit(2) from None
        store = RedisStore(settings.redis_url, prefix=prefix, ttl_s=settings.conversation_ttl_s)
        metrics = Metrics()
        sender = build_sender(settings, store, RedisLedger(client, prefix), metrics=metrics, lease_s=lease_s)
        engine = build_engine(settings, store=store, sink=make_sink(settings, store), sender=sender)
        processor = TurnProcessor(engine, sender, decisions=RedisDecisionCache(client, prefix),
                                  order=RedisOrderLock(client, prefix), metrics=metrics)
        heartbeat = {"model": True, "chroma": bool(engine.index.doc_ids()),
                     "embedding_backend": engine.index.embedder.backend}
        w = RedisWorker(client, processor, prefix=prefix, consumer=consumer, claim_idle_ms=claim_idle_ms,
                        metrics=metrics, heartbeat=heartbeat, read_batch=settings.worker_read_batch)
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        typer.echo(f"worker {w.consumer} consuming {w.stream}", err=True)
        w.run(stop)
