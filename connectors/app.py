"""The FastAPI app: platform webhooks, the web chat, health, readiness and metrics.

A webhook is verified, parsed, deduplicated and queued, then answered 200 at once;
turns run in `concierge worker` (Redis configured) or in a background thread of this
process (the embedded default), so `concierge serve` alone is a working bot.
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field, ValidationError

from agent.messages import InboundMessage
from agent.settings import Settings, load_settings
from connectors import meta, telegram, x
from connectors.intake import MemoryIntake, RedisIntake, Submitted
from connectors.intake_batch import BatchedRedisIntake
from connectors.metrics import Metrics
from guardrails.codes import Channel

log = logging.getLogger("concierge.app")

STATIC = Path(__file__).resolve().parent / "static"
MAX_WEBHOOK_BYTES = 256 * 1024  # Meta/X/Telegram events are a few KB; a batch stays far below this
MAX_CHAT_BYTES = 32 * 1024
_SESSION = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


@dataclass
class Service:
    """What the routes need, built once per app."""

    settings: Settings
    store: Any
    intake: Any
    metrics: Metrics
    redis: Any = None
    prefix: str = "concierge:"
    local_worker: Any = None
    ready_checks: dict[str, Callable[[], bool]] = field(default_factory=dict)
    batched: BatchedRedisIntake | None = None  # Redis mode: submits pipelined across requests

    async def submit(self, msg: InboundMessage) -> Submitted:
        if self.batched is not None:
            return await self.batched.submit(msg)
        return self.intake.submit(msg)  # in memory: a dict and a queue, no I/O


# --- request helpers -----------------------------------------------------------------------

async def read_body(request: Request, cap: int) -> bytes:
    """The raw body, refusing (413) anything over cap bytes without reading it all."""
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > cap:
        raise HTTPException(413, f"body too large: {length} bytes, limit {cap}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise HTTPException(413, f"body too large: over the {cap}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def require_json(request: Request) -> None:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise HTTPException(415, f"content type must be application/json, got {ctype or 'none'!r}")


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise HTTPException(400, "body is not valid UTF-8") from None
    except ValueError as exc:
        raise HTTPException(400, f"body is not valid JSON: {exc}") from None


async def submit_all(svc: Service, platform: str, messages: list[InboundMessage]) -> dict[str, int]:
    """Queue every message of one delivery; 503 (the platform redelivers it all) if any cannot be.

    The submits go out together, in order, so a batched delivery costs one Redis round trip."""
    counts = {s.value: 0 for s in Submitted}
    outcomes = await asyncio.gather(*(svc.submit(msg) for msg in messages), return_exceptions=True)
    failed = next((o for o in outcomes if isinstance(o, BaseException)), None)
    if failed is not None:  # queue down; what did get in is a duplicate on redelivery
        log.error("intake failed", extra={"event": "intake_failed", "platform": platform, "error": str(failed)[:200]})
        svc.metrics.requests.labels(platform, "unavailable").inc()
        raise HTTPException(503, "the message queue is unavailable; retry later")
    for msg, outcome in zip(messages, outcomes):
        counts[outcome.value] += 1
        log.info("intake", extra={"event": "intake", "platform": platform, "channel": str(msg.channel),
                                  "message_id": msg.message_id, "status": outcome.value})
    svc.metrics.requests.labels(platform, "accepted").inc()
    return counts


# --- platform routes ---------------------------------------------------------------------------

_SHAPE_ERRORS = (ValidationError, TypeError, AttributeError, KeyError, ValueError)


@dataclass(frozen=True)
class Webhook:
    """What differs between the platforms' POST webhooks; take_webhook does the rest."""

    platform: str
    secret_setting: str  # the variable to name when the secret is not configured
    secret: str | None
    verify: Callable[[bytes, Request, str], bool]
    parse: Callable[[Any], list[InboundMessage]]
    not_ours: type[Exception]  # the parser's "not an event of this platform"
    not_ours_status: int = 400
    bad_signature_status: int = 401
    reply: Callable[[], Response] = lambda: JSONResponse({"ok": True})


def refuse_unconfigured(svc: Service, platform: str, setting: str) -> HTTPException:
    svc.metrics.requests.labels(platform, "not_configured").inc()
    return HTTPException(403, f"{platform} webhooks are not configured: set {setting}")


async def take_webhook(svc: Service, hook: Webhook, request: Request) -> Response:
    """Verify on the raw bytes, then parse and queue; nothing is queued unless all of it passes."""
    if not hook.secret:
        raise refuse_unconfigured(svc, hook.platform, hook.secret_setting)
    body = await read_body(request, MAX_WEBHOOK_BYTES)
    if not hook.verify(body, request, hook.secret):
        svc.metrics.requests.labels(hook.platform, "bad_signature").inc()
        raise HTTPException(hook.bad_signature_status, "signature missing or invalid")
    require_json(request)
    payload = parse_json(body)
    try:
        messages = hook.parse(payload)
    except hook.not_ours as exc:
        raise HTTPException(hook.not_ours_status, str(exc)) from None
    except _SHAPE_ERRORS as exc:
        raise HTTPException(400, f"unexpected event shape: {type(exc).__name__}") from None
    await submit_all(svc, hook.platform, messages)
    return hook.reply()


def platform_router(svc: Service) -> APIRouter:
    router = APIRouter()
    s = svc.settings
    hooks = {  # POST /webhooks/<key>
        "meta": Webhook(
            "meta", "CONCIERGE_META_APP_SECRET", s.meta_app_secret,
            verify=lambda body, req, secret: meta.verify_signature(body, req.headers.get("x-hub-signature-256"),
                                                                   secret),
            parse=meta.parse, not_ours=meta.UnknownObject,
            not_ours_status=404,  # as Meta's quick-start answers for objects it does not handle
            reply=lambda: PlainTextResponse("EVENT_RECEIVED")),
        "x": Webhook(
            "x", "CONCIERGE_X_CONSUMER_SECRET", s.x_consumer_secret,
            verify=lambda body, req, secret: x.verify_signature(body, req.headers.get("x-twitter-webhooks-signature"),
                                                                secret),
            parse=lambda payload: x.parse(payload, s.x_user_id), not_ours=x.NotAnXEvent),
        "telegram": Webhook(
            "telegram", "CONCIERGE_TELEGRAM_SECRET_TOKEN", s.telegram_secret_token,
            verify=lambda body, req, secret: telegram.verify_secret(req.headers.get(telegram.SECRET_HEADER), secret),
            parse=telegram.parse, not_ours=telegram.NotAnUpdate, bad_signature_status=403),
    }

    @router.get("/webhooks/meta")
    async def meta_verify(request: Request) -> Response:
        if not s.meta_verify_token:
            raise refuse_unconfigured(svc, "meta", "CONCIERGE_META_VERIFY_TOKEN")
        challenge = meta.verify_challenge(dict(request.query_params), s.meta_verify_token)
        if challenge is None:
            raise HTTPException(403, "verification failed: wrong hub.mode or hub.verify_token")
        return PlainTextResponse(challenge)

    @router.get("/webhooks/x")
    async def x_crc(request: Request) -> Response:
        if not s.x_consumer_secret:
            raise refuse_unconfigured(svc, "x", "CONCIERGE_X_CONSUMER_SECRET")
        token = request.query_params.get("crc_token")
        if not token:
            raise HTTPException(400, "crc_token query parameter is required")
        return JSONResponse(x.crc_response(token, s.x_consumer_secret))

    def endpoint(hook: Webhook) -> Callable[[Request], Any]:
        async def receive(request: Request) -> Response:
            return await take_webhook(svc, hook, request)
        return receive

    for name, hook in hooks.items():
        router.add_api_route(f"/webhooks/{name}", endpoint(hook), methods=["POST"], name=f"{name}_events")
    return router


# --- web chat ------------------------------------------------------------------------------------

class ChatIn(BaseModel):
    session: str = Field(min_length=8, max_length=64)
    text: str = Field(max_length=8000)
    id: str | None = Field(default=None, max_length=64)  # client message id: a resend is not a second turn


def webchat_router(svc: Service) -> APIRouter:
    router = APIRouter()

    @router.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @router.post("/api/chat", status_code=202)
    async def chat(request: Request) -> JSONResponse:
        require_json(request)
        body = await read_body(request, MAX_CHAT_BYTES)
        try:
            data = ChatIn.model_validate(parse_json(body))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or "body"
            raise HTTPException(422, f"{where}: {first.get('msg')}") from None
        if not _SESSION.match(data.session):
            raise HTTPException(422, "session must be 8-64 letters, digits, '-' or '_'")
        if not data.text.strip():
            raise HTTPException(422, "text: the message is empty")
        message_id = data.id if data.id and _SESSION.match(data.id) else uuid.uuid4().hex
        msg = InboundMessage(platform="web", channel=Channel.WEBCHAT, conversation_key=f"webchat:{data.session}",
                             customer_id=data.session, message_id=f"{data.session}:{message_id}", text=data.text)
        counts = await submit_all(svc, "web", [msg])
        status = next(k for k, v in counts.items() if v)
        return JSONResponse({"id": message_id, "status": status}, status_code=202)

    @router.get("/api/chat/{session}/events")
    async def events(session: str, request: Request) -> StreamingResponse:
        if not _SESSION.match(session):
            raise HTTPException(422, "session must be 8-64 letters, digits, '-' or '_'")
        start = request.headers.get("last-event-id", "")
        offset = int(start) + 1 if start.isdigit() else 0
        return StreamingResponse(_event_stream(svc, request, f"webchat:{session}", offset),
                                 media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    return router


async def _event_stream(svc: Service, request: Request, conv_id: str, offset: int):
    """Server-sent events: each outbox record once (id = its index), plus status changes."""
    status: str | None = None
    idle = 0.0
    yield "retry: 2000\n\n"
    while not await request.is_disconnected():
        try:
            records, conv = await asyncio.to_thread(lambda: (svc.store.outbox(conv_id), svc.store.get(conv_id)))
        except Exception:  # noqa: BLE001 - store hiccup: tell the page nothing, try again
            records, conv = [], None
        for i in range(offset, len(records)):
            r = records[i]
            data = {"role": r.get("role", "bot"), "text": r.get("text", ""), "citations": r.get("citations") or [],
                    "at": r.get("at")}
            yield f"id: {i}\nevent: message\ndata: {json.dumps(data)}\n\n"
            idle = 0.0
        offset = max(offset, len(records))
        current = str(conv.status) if conv is not None else "bot"
        if current != status:
            status = current
            yield f"event: status\ndata: {json.dumps({'status': status, 'case_id': conv.case_id if conv else None})}\n\n"
        await asyncio.sleep(0.3)
        idle += 0.3
        if idle >= 15:
            idle = 0.0
            yield ": keep-alive\n\n"


# --- health -------------------------------------------------------------------------------------

def health_router(svc: Service) -> APIRouter:
    router = APIRouter()

    @router.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz() -> JSONResponse:
        checks: dict[str, str] = {}
        for name, check in svc.ready_checks.items():
            try:
                ok = await asyncio.to_thread(check)
                checks[name] = "ok" if ok else "not ready"
            except Exception as exc:  # noqa: BLE001
                checks[name] = f"error: {type(exc).__name__}"
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    @router.get("/metrics")
    async def metrics() -> Response:
        try:
            svc.metrics.queue_depth.set(await asyncio.to_thread(svc.intake.depth))
        except Exception:  # noqa: BLE001 - metrics must render even when Redis is down
            pass
        return Response(svc.metrics.render(), media_type="text/plain; version=0.0.4")

    return router


# --- wiring -------------------------------------------------------------------------------------

def _slack_router(settings: Settings, store: Any) -> APIRouter | None:
    """The Events API routes when Slack is reached over HTTP (Socket Mode mounts nothing)."""
    if not (settings.slack_bot_token and settings.slack_signing_secret):
        return None
    from connectors.slack.routes import make_slack_router

    return make_slack_router(settings, store=store)


def create_app(settings: Settings | None = None, *, store: Any = None, redis_prefix: str | None = None,
               engine_factory: Callable[[Any, Any], Any] | None = None, run_worker: bool | None = None) -> FastAPI:
    """The app. With settings.redis_url, intake goes to the Redis stream; otherwise turns run in
    a background thread here (run_worker=False turns that off, e.g. for a pure intake test).
    engine_factory(store, sender) -> Engine defaults to agent.factory.build_engine."""
    settings = settings or load_settings()
    settings.check_service()
    prefix = redis_prefix or settings.redis_prefix
    metrics = Metrics()
    redis_client = None
    if settings.redis_url:
        import redis

        from agent.store_redis import RedisStore

        redis_client = redis.Redis.from_url(settings.redis_url, decode_responses=True, socket_connect_timeout=5)
        store = store or RedisStore(settings.redis_url, prefix=prefix, ttl_s=settings.conversation_ttl_s)
        intake: Any = RedisIntake(redis_client, prefix=prefix, dedupe_ttl_s=settings.dedupe_ttl_s,
                                  rate_limit_per_minute=settings.rate_limit_per_minute)
    else:
        if store is None:
            from agent.store import make_store

            store = make_store(settings)
        intake = MemoryIntake(dedupe_ttl_s=settings.dedupe_ttl_s, rate_limit_per_minute=settings.rate_limit_per_minute)
    svc = Service(settings=settings, store=store, intake=intake, metrics=metrics, redis=redis_client, prefix=prefix)
    if isinstance(intake, RedisIntake):
        svc.batched = BatchedRedisIntake(intake, settings.redis_url)

    if redis_client is not None:
        svc.ready_checks["redis"] = lambda: bool(redis_client.ping())
        svc.ready_checks["worker"] = lambda: any(h.get("model") for h in _worker_heartbeats(redis_client, prefix))
        svc.ready_checks["chroma"] = lambda: any(h.get("chroma") for h in _worker_heartbeats(redis_client, prefix))
    embedded = run_worker if run_worker is not None else redis_client is None
    if embedded:
        from connectors.worker import LocalOrderLock, LocalWorker, MemoryDecisionCache, TurnProcessor
        from connectors.senders import MemoryLedger, build_sender

        if not isinstance(intake, MemoryIntake):
            raise ValueError("the in-process worker needs the in-memory intake (no Redis URL)")
        sender = build_sender(settings, store, MemoryLedger(), metrics=metrics)
        factory = engine_factory or _default_engine_factory(settings)

        def make_processor() -> TurnProcessor:
            engine = factory(store, sender)
            return TurnProcessor(engine, sender, decisions=MemoryDecisionCache(), order=LocalOrderLock(),
                                 metrics=metrics)

        svc.local_worker = LocalWorker(intake, make_processor)
        svc.ready_checks["engine"] = lambda: svc.local_worker.processor is not None
        svc.ready_checks["chroma"] = lambda: _index_ok(svc.local_worker.processor)

    async def lifespan(app: FastAPI):
        if svc.local_worker is not None:
            svc.local_worker.start()
        yield
        if svc.local_worker is not None:
            svc.local_worker.close()

    app = FastAPI(title="Concierge", version="0.1.0", lifespan=_as_cm(lifespan))
    app.state.service = svc
    app.include_router(health_router(svc))
    app.include_router(platform_router(svc))
    app.include_router(webchat_router(svc))
    slack = _slack_router(settings, store)
    if slack is not None:
        app.include_router(slack)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Last resort: log without the body (it may hold personal data) and say what to do.
        log.exception("unhandled error", extra={"event": "unhandled", "path": request.url.path})
        return JSONResponse({"detail": "internal error; the request was not processed, retry later"}, status_code=500)

    return app


def _worker_heartbeats(client: Any, prefix: str) -> list[dict]:
    """What each live `concierge worker` reports (its key expires when it stops beating)."""
    beats: list[dict] = []
    for key in client.scan_iter(match=f"{prefix}workers:*", count=100):
        try:
            beat = json.loads(client.get(key) or "null")
        except ValueError:
            continue
        if isinstance(beat, dict):
            beats.append(beat)
    return beats


def _index_ok(processor: Any) -> bool:
    if processor is None:
        return False
    index = getattr(processor.engine, "index", None)
    return bool(index is not None and index.doc_ids())


def _default_engine_factory(settings: Settings) -> Callable[[Any, Any], Any]:
    def factory(store: Any, sender: Any) -> Any:
        from agent.factory import build_engine

        return build_engine(settings, store=store, sink=make_sink(settings, store), sender=sender)

    return factory


def make_sink(settings: Settings, store: Any) -> Any:
    """Slack when it is configured, else the local inbox (`concierge escalations`)."""
    from agent.escalation import LocalInbox

    if settings.slack_bot_token and settings.slack_channel:
        from connectors.slack.sink import SlackSink

        return SlackSink(settings, store=store)
    return LocalInbox(store)


def _as_cm(lifespan):
    from contextlib import asynccontextmanager

    return asynccontextmanager(lifespan)
