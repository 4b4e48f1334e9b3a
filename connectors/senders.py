"""Platform senders (agent.outbound.Sender): Graph Send API, X v2, Telegram sendMessage, web chat.

PlatformSender routes by the conversation's channel and makes every send idempotent:
an OutboundLedger lease is taken before the HTTP call and marked done after it
succeeds, so a retried turn (a worker killed and its entry reclaimed) does not send
twice (the one remaining window is described at the ledger below). Long texts are split
at sentence ends to each API's limit.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Literal, Protocol

import httpx
import redis

from agent.conversation import Conversation, ConversationStatus
from agent.formatting import shorten, split_parts, weighted_length
from guardrails.codes import Channel

log = logging.getLogger("concierge.senders")

Role = Literal["bot", "agent"]
WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
SENT_TTL_S = 7 * 24 * 3600


class SendError(RuntimeError):
    """The platform refused the message for good (bad token, bad recipient, too long)."""


class TransientSendError(SendError):
    """Worth retrying later: rate limit, 5xx, network, or another worker mid-send."""


class WindowClosed(SendError):
    """The platform's messaging window is closed for this kind of message."""


# --- idempotency ledger ------------------------------------------------------------------
#
# Per idempotency key: absent -> "lease:<until ms>:<owner>" (written before the platform call:
# someone is sending) -> "done" (the platform accepted). begin() answers
#   go     never attempted, or the last attempt failed and was aborted: send;
#   busy   another worker holds a live lease: retry later;
#   done   sent: do nothing;
#   again  an attempt started and was never confirmed (its worker died mid-send, lease
#          expired): it may or may not have reached the customer. We send again (a lost reply
#          is worse than a repeated one) and log it, so each possible duplicate is counted.
# A lease names its owner (a random token per attempt): only the owner may abort it, so a
# worker whose lease expired under it cannot delete the lease of the worker that took over
# (which would let a third one send too). done() is written whoever holds the lease: the
# platform accepted a send for this key, and that fact must not be lost.
# None of the Graph Send API, X v2 or Telegram sendMessage takes an idempotency key, so
# "again" cannot be settled on the platform side; the window is from the platform accepting
# a send to "done" reaching Redis, and RedisLedger keeps an accepted send in memory (and keeps
# writing "done") while Redis is away, so only a worker that dies in that window repeats.
# A lease cannot expire during a live send: PlatformSender gives the HTTP calls (retries and
# waits included) a deadline of SEND_BUDGET_SHARE of the lease.

BeginState = Literal["go", "done", "busy", "again"]


class OutboundLedger(Protocol):
    def begin(self, key: str, lease_s: float, owner: str) -> BeginState: ...
    def done(self, key: str, owner: str) -> bool: ...
    def abort(self, key: str, owner: str) -> bool: ...


_BEGIN = """
local v = redis.call('GET', KEYS[1])
if v == 'done' then return 'done' end
-- a bare 'lease' is an older worker's (it expires by its own PX): still in flight
if v == 'lease' then return 'busy' end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = 'go'
if v then
  -- 'lease:<until>:<owner>', or 'lease:<until>' from a worker before owner tokens
  local until_ms = tonumber(string.match(v, '^lease:(%d+)'))
  if until_ms and until_ms > now then return 'busy' end
  state = 'again'
end
redis.call('SET', KEYS[1], 'lease:' .. (now + tonumber(ARGV[1])) .. ':' .. ARGV[3], 'EX', ARGV[2])
return state
"""
# Only the lease's owner deletes it; "done" and anyone else's lease stay.
_ABORT = """
local v = redis.call('GET', KEYS[1])
if v and string.match(v, '^lease:%d+:(.+)$') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# "done" always; 1 when the caller still held its lease (0: it expired and maybe another
# worker sent too, which the caller logs).
_DONE = """
local v = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], 'done', 'EX', ARGV[2])
if v and string.match(v, '^lease:%d+:(.+)$') == ARGV[1] then return 1 end
return 0
"""


def new_owner() -> str:
    """A token naming one send attempt (the lease's owner)."""
    return uuid.uuid4().hex


class RedisLedger:
    """The send states in Redis, shared by every worker.

    "done" is the fact that must survive a Redis outage: when writing it fails, the key is
    kept here (begin() answers "done" for it) and a background thread writes it as soon as
    Redis answers again. Another worker reclaiming the turn in the moment between Redis coming
    back and that write would still see "again" (and resend).
    """

    def __init__(self, client: Any, prefix: str = "concierge:", *, retry_s: float = 0.2) -> None:
        self.r = client
        self.prefix = prefix
        self.retry_s = retry_s
        self._begin = client.register_script(_BEGIN)
        self._abort = client.register_script(_ABORT)
        self._done = client.register_script(_DONE)
        self._unrecorded: set[str] = set()
        self._mutex = threading.Lock()
        self._flusher: threading.Thread | None = None

    def _k(self, key: str) -> str:
        return f"{self.prefix}sent:{key}"

    def begin(self, key: str, lease_s: float, owner: str) -> BeginState:
        with self._mutex:
            if key in self._unrecorded:
                return "done"
        res = self._begin(keys=[self._k(key)], args=[max(1, int(lease_s * 1000)), SENT_TTL_S, owner])
        return res.decode() if isinstance(res, bytes) else res

    def done(self, key: str, owner: str) -> bool:
        """Record the send; False when the caller's lease had expired (another worker may have sent)."""
        try:
            return bool(self._done(keys=[self._k(key)], args=[owner, SENT_TTL_S]))
        except redis.RedisError as exc:
            log.warning("send not recorded yet", extra={"event": "ledger_unrecorded", "idempotency_key": key,
                                                         "error": type(exc).__name__})
            with self._mutex:
                self._unrecorded.add(key)
                if self._flusher is None or not self._flusher.is_alive():
                    self._flusher = threading.Thread(target=self._flush, name="ledger-flush", daemon=True)
                    self._flusher.start()
            return True

    def abort(self, key: str, owner: str) -> bool:
        """Drop the caller's own lease (a failed attempt); False when it is no longer theirs."""
        return bool(self._abort(keys=[self._k(key)], args=[owner]))

    def unrecorded(self) -> int:
        """Sends the platform accepted that Redis does not know about yet."""
        with self._mutex:
            return len(self._unrecorded)

    def _record(self, key: str) -> None:
        self.r.set(self._k(key), "done", ex=SENT_TTL_S)

    def _flush(self) -> None:
        while True:
            with self._mutex:
                pending = sorted(self._unrecorded)
                if not pending:
                    self._flusher = None
                    return
            for key in pending:
                try:
                    self._record(key)
                except redis.RedisError:
                    break
                with self._mutex:
                    self._unrecorded.discard(key)
                log.info("send recorded", extra={"event": "ledger_recorded", "idempotency_key": key})
            time.sleep(self.retry_s)


class MemoryLedger:
    """The same states in process memory (the embedded default: one process)."""

    def __init__(self) -> None:
        self._state: dict[str, tuple[str, float, str]] = {}
        self._mutex = threading.Lock()

    def begin(self, key: str, lease_s: float, owner: str) -> BeginState:
        now = time.monotonic()
        with self._mutex:
            state, until, _ = self._state.get(key, ("", 0.0, ""))
            if state == "done":
                return "done"
            if state == "lease" and until > now:
                return "busy"
            self._state[key] = ("lease", now + lease_s, owner)
            return "again" if state == "lease" else "go"

    def done(self, key: str, owner: str) -> bool:
        with self._mutex:
            held = self._state.get(key, ("", 0.0, ""))
            self._state[key] = ("done", 0.0, "")
            return held[0] == "lease" and held[2] == owner

    def abort(self, key: str, owner: str) -> bool:
        with self._mutex:
            state, _, holder = self._state.get(key, ("", 0.0, ""))
            if state == "lease" and holder == owner:
                del self._state[key]
                return True
            return False


# --- HTTP plumbing ----------------------------------------------------------------------

class HttpPoster:
    """POST JSON with a few retries on 429/5xx/network errors, honouring Retry-After (capped).

    With a deadline (time.monotonic() seconds) every attempt and every wait ends before it: a
    wait that would cross it is not started, and each attempt's connect, write, read and pool
    timeouts are a quarter of the time left. So the whole call (retries included) ends by the
    deadline unless a response trickles in over several reads, which is what the rest of the
    lease (see SEND_BUDGET_SHARE) is for.
    """

    def __init__(self, *, timeout_s: float = 10.0, attempts: int = 3, max_wait_s: float = 5.0,
                 client: httpx.Client | None = None) -> None:
        self.client = client or httpx.Client(timeout=timeout_s)
        self.timeout_s = timeout_s
        self.attempts = attempts
        self.max_wait_s = max_wait_s

    def post(self, url: str, *, json: dict, headers: dict[str, str] | None = None,
             params: dict[str, str] | None = None, what: str, deadline: float | None = None) -> dict:
        last = f"{what}: no time left to send"
        for attempt in range(1, self.attempts + 1):
            timeout = self.timeout_s
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                timeout = min(timeout, left / 4)
            try:
                resp = self.client.post(url, json=json, headers=headers, params=params, timeout=timeout)
            except httpx.HTTPError as exc:
                last = f"{what}: network error {type(exc).__name__}"
                wait = 0.5 * attempt
            else:
                if resp.status_code < 300:
                    try:
                        return resp.json()
                    except ValueError:
                        return {}
                detail = resp.text[:200]
                if resp.status_code == 429 or resp.status_code >= 500:
                    last = f"{what}: HTTP {resp.status_code} {detail}"
                    wait = _retry_after(resp) or 0.5 * attempt
                else:
                    raise SendError(f"{what} refused: HTTP {resp.status_code} {detail}")
            if attempt < self.attempts:
                wait = min(wait, self.max_wait_s)
                if deadline is not None and time.monotonic() + wait >= deadline:
                    break  # the platform wants more time than this lease has: the turn is retried later
                time.sleep(wait)
        raise TransientSendError(last)


def _retry_after(resp: httpx.Response) -> float | None:
    value = resp.headers.get("Retry-After")
    if value is None:
        try:
            value = resp.json().get("parameters", {}).get("retry_after")  # Telegram
        except (ValueError, AttributeError):
            value = None
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def _last_user_message_at(conv: Conversation) -> datetime | None:
    for turn in reversed(conv.turns):
        if turn.role == "user":
            return turn.at if turn.at.tzinfo else turn.at.replace(tzinfo=timezone.utc)
    return None


def _last_user_message_id(conv: Conversation) -> str | None:
    for turn in reversed(conv.turns):
        if turn.role == "user" and turn.message_id:
            return turn.message_id
    return None


def _key_parts(conv: Conversation) -> list[str]:
    return conv.id.split(":")


# --- platform senders -------------------------------------------------------------------

class MetaSender:
    """Messenger and Instagram via /{id}/messages (page token); WhatsApp via /{phone_id}/messages."""

    def __init__(self, *, base_url: str, version: str, page_token: str | None,
                 instagram_token: str | None = None, whatsapp_token: str | None = None,
                 whatsapp_phone_number_id: str | None = None, poster: HttpPoster | None = None) -> None:
        self.base = base_url.rstrip("/") + "/" + version.strip("/")
        self.page_token = page_token
        self.instagram_token = instagram_token or page_token
        self.whatsapp_token = whatsapp_token
        self.whatsapp_phone_number_id = whatsapp_phone_number_id
        self.poster = poster or HttpPoster()

    def window_params(self, conv: Conversation, role: Role, now: datetime | None = None) -> dict[str, str]:
        """messaging_type (and tag) for Messenger/Instagram, or WindowClosed.

        Inside 24 h of the customer's last message: RESPONSE. After it only a human
        agent may write, with the HUMAN_AGENT tag, for up to 7 days.
        """
        last = _last_user_message_at(conv)
        age = (now or datetime.now(timezone.utc)) - last if last else timedelta(0)
        if age <= WINDOW:
            return {"messaging_type": "RESPONSE"}
        if role == "agent" and age <= HUMAN_AGENT_WINDOW:
            return {"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}
        raise WindowClosed(
            f"{conv.channel} window closed: the customer last wrote {age.days} days ago; "
            "wait for them to write again")

    def split(self, conv: Conversation, text: str) -> list[str]:
        if conv.channel == Channel.WHATSAPP:
            return split_parts(text, 4096)
        if conv.channel == Channel.INSTAGRAM:  # docs disagree on bytes vs chars: count bytes
            return split_parts(text, 1000, _utf8_len)
        return split_parts(text, 2000)

    def send_part(self, conv: Conversation, text: str, role: Role, reply_to: str | None = None,
                  deadline: float | None = None) -> None:
        if conv.channel == Channel.WHATSAPP:
            self._whatsapp(conv, text, deadline)
            return
        _, account, recipient = _key_parts(conv)[:3]
        token = self.instagram_token if conv.channel == Channel.INSTAGRAM else self.page_token
        if not token:
            raise SendError(f"no access token configured for {conv.channel}")
        params = self.window_params(conv, role)
        self.poster.post(
            f"{self.base}/{account}/messages",
            params={"access_token": token},
            json={"recipient": {"id": recipient}, **params, "message": {"text": text}},
            what=f"{conv.channel} send", deadline=deadline,
        )

    def _whatsapp(self, conv: Conversation, part: str, deadline: float | None) -> None:
        _, phone_id, wa_id = _key_parts(conv)[:3]
        phone_id = phone_id or (self.whatsapp_phone_number_id or "")
        if not self.whatsapp_token or not phone_id:
            raise SendError("WhatsApp is not configured: set CONCIERGE_WHATSAPP_TOKEN and _PHONE_NUMBER_ID")
        last = _last_user_message_at(conv)
        if last and datetime.now(timezone.utc) - last > WINDOW:
            # Outside the customer-service window only templates go out; we send none.
            raise WindowClosed("WhatsApp 24-hour window closed: a template message would be needed")
        self.poster.post(
            f"{self.base}/{phone_id}/messages",
            headers={"Authorization": f"Bearer {self.whatsapp_token}"},
            json={"messaging_product": "whatsapp", "recipient_type": "individual", "to": wa_id,
                  "type": "text", "text": {"preview_url": False, "body": part}},
            what="whatsapp send", deadline=deadline,
        )


class XSender:
    """DMs via /2/dm_conversations/with/{id}/messages; public replies via /2/tweets (280 weighted)."""

    def __init__(self, *, base_url: str, user_token: str | None, poster: HttpPoster | None = None) -> None:
        self.base = base_url.rstrip("/")
        self.user_token = user_token
        self.poster = poster or HttpPoster()

    def _headers(self) -> dict[str, str]:
        if not self.user_token:
            raise SendError("X is not configured: set CONCIERGE_X_USER_TOKEN")
        return {"Authorization": f"Bearer {self.user_token}"}

    def split(self, conv: Conversation, text: str) -> list[str]:
        if conv.channel == Channel.X_PUBLIC:
            # One public reply, never a thread: the engine already keeps public replies short.
            return [shorten(text, 280, weighted_length)]
        return split_parts(text, 10000)

    def send_part(self, conv: Conversation, part: str, role: Role, reply_to: str | None = None,
                  deadline: float | None = None) -> None:
        headers = self._headers()
        if conv.channel == Channel.X_PUBLIC:
            target = reply_to or _last_user_message_id(conv)
            if not target:
                raise SendError("x_public reply without a post to answer")
            self.poster.post(f"{self.base}/2/tweets", headers=headers,
                             json={"text": part, "reply": {"in_reply_to_tweet_id": target}}, what="x reply",
                             deadline=deadline)
            return
        participant = conv.customer_id or _key_parts(conv)[-1]
        self.poster.post(f"{self.base}/2/dm_conversations/with/{participant}/messages",
                         headers=headers, json={"text": part}, what="x dm", deadline=deadline)


class TelegramSender:
    def __init__(self, *, base_url: str, bot_token: str | None, poster: HttpPoster | None = None) -> None:
        self.base = base_url.rstrip("/")
        self.bot_token = bot_token
        self.poster = poster or HttpPoster()

    def split(self, conv: Conversation, text: str) -> list[str]:
        return split_parts(text, 4096)

    def send_part(self, conv: Conversation, part: str, role: Role, reply_to: str | None = None,
                  deadline: float | None = None) -> None:
        if not self.bot_token:
            raise SendError("Telegram is not configured: set CONCIERGE_TELEGRAM_BOT_TOKEN")
        chat_id = _key_parts(conv)[1]
        resp = self.poster.post(f"{self.base}/bot{self.bot_token}/sendMessage",
                                json={"chat_id": int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id,
                                      "text": part},
                                what="telegram sendMessage", deadline=deadline)
        if resp.get("ok") is False:
            raise SendError(f"telegram sendMessage refused: {resp.get('description', '')[:200]}")


class WebchatSender:
    """The web chat's 'platform' is the store's outbox, which the page streams over SSE."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def split(self, conv: Conversation, text: str) -> list[str]:
        return [text]

    def send_part(self, conv: Conversation, text: str, role: Role, idempotency_key: str,
                  citations: list[dict] | None = None) -> None:
        self.store.append_outbox(conv.id, {
            "conversation_id": conv.id, "platform": "web", "channel": "webchat",
            "customer_id": conv.customer_id, "text": text, "idempotency_key": idempotency_key,
            "role": role, "citations": citations or [],
            "at": datetime.now(timezone.utc).isoformat(),
        })


# The HTTP calls of one send (retries and waits included) get this share of its lease; the
# rest covers writing "done" and a slow response (see HttpPoster). The one place that ties the
# retry budget to the lease: a lease cannot expire while its owner is still sending.
SEND_BUDGET_SHARE = 0.5


class PlatformSender:
    """agent.outbound.Sender for every channel, idempotent per key (see module docstring).

    Extends the protocol compatibly with keyword-only `reply_to`, `citations`, `role`.
    """

    def __init__(self, *, ledger: OutboundLedger, meta: MetaSender | None = None, x: XSender | None = None,
                 telegram: TelegramSender | None = None, webchat: WebchatSender | None = None,
                 lease_s: float = 60.0, metrics: Any = None) -> None:
        if lease_s <= 0:
            raise ValueError(f"the send lease must be positive, got {lease_s} s")
        self.ledger = ledger
        self.meta, self.x, self.telegram, self.webchat = meta, x, telegram, webchat
        self.lease_s = lease_s
        self.metrics = metrics

    @property
    def budget_s(self) -> float:
        """How long one part's HTTP calls may take, retries included."""
        return self.lease_s * SEND_BUDGET_SHARE

    def send(self, conv: Conversation, text: str, *, idempotency_key: str, reply_to: str | None = None,
             citations: list[dict] | None = None, role: Role | None = None) -> bool:
        """Send once per idempotency_key (each split part has its own); False if all were sent before."""
        if not text.strip():
            return False
        if role is None:
            role = "agent" if conv.status in (ConversationStatus.HUMAN, ConversationStatus.AWAITING_HUMAN) else "bot"
        target = self._target(conv)
        parts = target.split(conv, text)
        sent_any = False
        for n, part in enumerate(parts):
            key = idempotency_key if n == 0 else f"{idempotency_key}#{n}"
            sent_any |= self._send_once(target, conv, part, key, role, reply_to,
                                        citations if n == len(parts) - 1 else None)
        return sent_any

    def _send_once(self, target: Any, conv: Conversation, part: str, key: str, role: Role,
                   reply_to: str | None, citations: list[dict] | None) -> bool:
        owner = new_owner()
        # Taken before the lease starts, so the deadline falls before the lease ends.
        deadline = time.monotonic() + self.budget_s
        state = self.ledger.begin(key, self.lease_s, owner)
        if state == "done":
            return False
        if state == "busy":
            # No key in the text: it names the platform message, which may hold a phone number.
            raise TransientSendError("this reply is being sent by another worker; retry later")
        if state == "again":
            log.warning("resending an unconfirmed send", extra={"event": "send_unconfirmed", "idempotency_key": key,
                                                                "channel": str(conv.channel)})
            if self.metrics:
                self.metrics.sends.labels(str(conv.channel), "unconfirmed_resend").inc()
        started = time.perf_counter()
        channel = str(conv.channel)
        try:
            if isinstance(target, WebchatSender):
                target.send_part(conv, part, role, key, citations)
            else:
                target.send_part(conv, part, role, reply_to, deadline=deadline)
        except Exception:
            self.ledger.abort(key, owner)
            if self.metrics:
                self.metrics.sends.labels(channel, "error").inc()
            raise
        if not self.ledger.done(key, owner):
            # Our lease ran out before the platform answered: another worker may have sent it too.
            log.warning("send confirmed after its lease expired", extra={
                "event": "send_lease_lost", "idempotency_key": key, "channel": channel})
        if self.metrics:
            self.metrics.sends.labels(channel, "sent").inc()
            self.metrics.send_latency.labels(channel).observe(time.perf_counter() - started)
        log.info("sent", extra={"event": "sent", "channel": channel, "conversation": conv.id,
                                "idempotency_key": key})
        return True

    def _target(self, conv: Conversation) -> Any:
        ch = conv.channel
        if ch in (Channel.MESSENGER, Channel.INSTAGRAM, Channel.WHATSAPP):
            target, name = self.meta, "Meta"
        elif ch in (Channel.X_DM, Channel.X_PUBLIC):
            target, name = self.x, "X"
        elif ch == Channel.TELEGRAM:
            target, name = self.telegram, "Telegram"
        elif ch == Channel.WEBCHAT:
            target, name = self.webchat, "web chat"
        else:
            raise SendError(f"no sender for channel {ch}")
        if target is None:
            raise SendError(f"{name} is not configured")
        return target


def build_sender(settings: Any, store: Any, ledger: OutboundLedger, *, metrics: Any = None,
                 lease_s: float | None = None) -> PlatformSender:
    """The PlatformSender for the configured platforms (unconfigured ones fail with a clear error).

    lease_s defaults to settings.send_lease_s; the HTTP retry budget is derived from it.
    """
    poster = HttpPoster(timeout_s=settings.send_timeout_s)
    return PlatformSender(
        ledger=ledger,
        meta=MetaSender(base_url=settings.meta_graph_base_url, version=settings.meta_graph_version,
                        page_token=settings.meta_page_token, instagram_token=settings.instagram_token,
                        whatsapp_token=settings.whatsapp_token,
                        whatsapp_phone_number_id=settings.whatsapp_phone_number_id, poster=poster),
        x=XSender(base_url=settings.x_api_base_url, user_token=settings.x_user_token, poster=poster),
        telegram=TelegramSender(base_url=settings.telegram_api_base_url, bot_token=settings.telegram_bot_token,
                                poster=poster),
        webchat=WebchatSender(store),
        lease_s=lease_s if lease_s is not None else settings.send_lease_s,
        metrics=metrics,
    )
