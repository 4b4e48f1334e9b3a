"""A Slack Web API emulator: a real HTTP server on loopback that slack_sdk.WebClient talks to.

It keeps channels and threads in memory, records every request, and can misbehave on
demand: rate-limit (429 + Retry-After), fail (500/503), fail *after* committing a post
(the ambiguous failure that makes naive retries post twice), or go down entirely
(the listening socket is closed, so connections are refused) and come back on the same port.
"""
from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

BOT_USER_ID = "UBOTCONCIERGE"
BOT_ID = "BBOTCONCIERGE"
TEAM_ID = "T0EMULATOR"


@dataclass
class RecordedCall:
    method: str  # e.g. "chat.postMessage"
    params: dict[str, Any]
    raw_body: str
    headers: dict[str, str]
    status: int = 200  # what the emulator answered


@dataclass
class _Fault:
    status: int
    retry_after: int | None = None
    commit_first: bool = False  # apply the call, then answer with the error
    methods: frozenset[str] | None = None  # None: every method except auth.test


@dataclass
class SlackState:
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # channel -> messages
    calls: list[RecordedCall] = field(default_factory=list)
    faults: list[_Fault] = field(default_factory=list)


class SlackApiEmulator:
    """Start with `.start()`, point `WebClient(base_url=emulator.url)` at it, `.stop()` at the end."""

    def __init__(self, token: str = "xoxb-emulator", app_token: str = "xapp-1-emulator") -> None:
        self.token = token
        self.app_token = app_token
        self.socket_url: str | None = None  # set by SocketModeEmulator: apps.connections.open gives it out
        self.state = SlackState()
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # --- lifecycle -------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def start(self) -> SlackApiEmulator:
        emulator = self

        class Handler(_Handler):
            emu = emulator

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True, name=f"slack-emulator-{self.port}")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def go_down(self) -> None:
        """Close the listening socket: every call now fails with 'connection refused'."""
        self.stop()

    def come_back(self) -> None:
        """Listen again on the same port, with the same state."""
        self.start()

    # --- faults ------------------------------------------------------------------------
    def rate_limit(self, times: int = 1, retry_after: int = 1, methods: set[str] | None = None) -> None:
        """The next `times` calls answer 429 with Retry-After."""
        self._add_faults(times, _Fault(429, retry_after, methods=_frozen(methods)))

    def fail(self, times: int = 1, status: int = 500, *, commit_first: bool = False,
             methods: set[str] | None = None) -> None:
        """The next `times` calls answer `status`; with commit_first the call takes effect anyway."""
        self._add_faults(times, _Fault(status, commit_first=commit_first, methods=_frozen(methods)))

    def _add_faults(self, times: int, fault: _Fault) -> None:
        with self._lock:
            self.state.faults.extend([fault] * times)

    def _take_fault(self, method: str) -> _Fault | None:
        if method == "auth.test":
            return None
        with self._lock:
            for i, fault in enumerate(self.state.faults):
                if fault.methods is None or method in fault.methods:
                    return self.state.faults.pop(i)
        return None

    # --- inspection ----------------------------------------------------------------
    def calls(self, method: str | None = None) -> list[RecordedCall]:
        with self._lock:
            return [c for c in self.state.calls if method is None or c.method == method]

    def channel_messages(self, channel: str) -> list[dict[str, Any]]:
        """Top-level messages of a channel, oldest first."""
        with self._lock:
            return [dict(m) for m in self.state.messages.get(channel, []) if _is_top(m)]

    def thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """Replies in the thread under ts, oldest first (without the parent)."""
        with self._lock:
            return [dict(m) for m in self.state.messages.get(channel, [])
                    if m.get("thread_ts") == ts and m["ts"] != ts]

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        with self._lock:
            for m in self.state.messages.get(channel, []):
                if m["ts"] == ts:
                    return dict(m)
        return None

    # --- API methods ------------------------------------------------------------------
    def _next_ts(self) -> str:
        # Real Slack ts are epoch seconds with a 6-digit suffix, unique per channel.
        return f"{int(time.time())}.{next(self._ts):06d}"

    def handle(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"ok": True, "url": "https://emulator.slack.test/", "team": "Emulator",
                    "user": "concierge", "team_id": TEAM_ID, "user_id": BOT_USER_ID,
                    "bot_id": BOT_ID, "is_enterprise_install": False}
        if method == "apps.connections.open":
            if self.socket_url is None:
                return {"ok": False, "error": "not_allowed_token_type"}
            return {"ok": True, "url": self.socket_url}
        if method == "chat.postMessage":
            return self._post(params)
        if method == "chat.update":
            return self._update(params)
        if method == "conversations.history":
            return self._history(params, replies=False)
        if method == "conversations.replies":
            return self._history(params, replies=True)
        return {"ok": False, "error": "unknown_method"}

    def _post(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = p.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not (p.get("text") or p.get("blocks")):
            return {"ok": False, "error": "no_text"}
        with self._lock:
            msgs = self.state.messages.setdefault(channel, [])
            thread_ts = p.get("thread_ts")
            if thread_ts and not any(m["ts"] == thread_ts for m in msgs):
                return {"ok": False, "error": "thread_not_found"}
            msg = {"type": "message", "ts": self._next_ts(), "text": p.get("text") or "",
                   "blocks": _as_list(p.get("blocks")), "bot_id": BOT_ID, "user": BOT_USER_ID}
            if thread_ts:
                msg["thread_ts"] = thread_ts
            if p.get("metadata"):
                msg["metadata"] = _as_obj(p["metadata"])
            msgs.append(msg)
        return {"ok": True, "channel": channel, "ts": msg["ts"], "message": msg}

    def _update(self, p: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            for m in self.state.messages.get(p.get("channel", ""), []):
                if m["ts"] == p.get("ts"):
                    if p.get("text") is not None:
                        m["text"] = p["text"]
                    if p.get("blocks") is not None:
                        m["blocks"] = _as_list(p["blocks"])
                    m["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
                    return {"ok": True, "channel": p["channel"], "ts": m["ts"], "text": m["text"]}
        return {"ok": False, "error": "message_not_found"}

    def _history(self, p: dict[str, Any], *, replies: bool) -> dict[str, Any]:
        channel = p.get("channel", "")
        oldest = float(p.get("oldest") or 0)
        limit = int(p.get("limit") or 100)
        cursor = int(p.get("cursor") or 0)
        with_meta = str(p.get("include_all_metadata", "")).lower() in ("1", "true")
        with self._lock:
            msgs = self.state.messages.get(channel, [])
            if replies:
                parent = p.get("ts")
                picked = [m for m in msgs if m["ts"] == parent or m.get("thread_ts") == parent]
                if not picked:
                    return {"ok": False, "error": "thread_not_found"}
            else:
                picked = [m for m in reversed(msgs) if _is_top(m)]  # history: newest first
            picked = [m for m in picked if float(m["ts"]) >= oldest]
            page = picked[cursor:cursor + limit]
            out = []
            for m in page:
                m = dict(m)
                if not with_meta:
                    m.pop("metadata", None)
                out.append(m)
        more = cursor + limit < len(picked)
        return {"ok": True, "messages": out, "has_more": more,
                "response_metadata": {"next_cursor": str(cursor + limit) if more else ""}}


def _is_top(m: dict[str, Any]) -> bool:
    return m.get("thread_ts") in (None, m["ts"])


def _frozen(methods: set[str] | None) -> frozenset[str] | None:
    return frozenset(methods) if methods else None


def _as_list(v: Any) -> list[Any]:
    if v is None:
        return []
    return json.loads(v) if isinstance(v, str) else list(v)


def _as_obj(v: Any) -> dict[str, Any]:
    return json.loads(v) if isinstance(v, str) else dict(v)


class _Handler(BaseHTTPRequestHandler):
    emu: SlackApiEmulator
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle on, a keep-alive client's delayed ACK
    # stalls every response ~40 ms (measured: the bench's 1-worker rate was capped near 20 turns/s).
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self.do_POST()

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        parsed = urlparse(self.path)
        method = parsed.path.rsplit("/", 1)[-1]
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8") if length else ""
        params: dict[str, Any] = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        ctype = self.headers.get("Content-Type", "")
        if raw and "json" in ctype:
            params.update(json.loads(raw))
        elif raw:
            params.update({k: v[-1] for k, v in parse_qs(raw).items()})
        headers = {k.lower(): v for k, v in self.headers.items()}
        emu = self.emu
        call = RecordedCall(method=method, params=params, raw_body=raw, headers=headers)
        with emu._lock:
            emu.state.calls.append(call)

        auth = headers.get("authorization", "")
        token = auth.removeprefix("Bearer ").strip() or params.get("token")
        wanted = emu.app_token if method == "apps.connections.open" else emu.token
        if token != wanted:
            self._reply(call, 200, {"ok": False, "error": "invalid_auth"})
            return
        fault = emu._take_fault(method)
        if fault is not None:
            if fault.commit_first:
                emu.handle(method, params)
            extra = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            body = {"ok": False, "error": "ratelimited" if fault.status == 429 else "fatal_error"}
            self._reply(call, fault.status, body, extra)
            return
        self._reply(call, 200, emu.handle(method, params))

    def _reply(self, call: RecordedCall, status: int, body: dict[str, Any],
               headers: dict[str, str] | None = None) -> None:
        call.status = status
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)


class SocketModeEmulator:
    """Slack's Socket Mode side: a WebSocket server that says hello, pushes event envelopes
    and collects the acks. Register it with `api.socket_url = sm.url`."""

    def __init__(self) -> None:
        self.acks: list[dict[str, Any]] = []
        self._clients: list[Any] = []
        self._lock = threading.Condition()
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def start(self) -> SocketModeEmulator:
        from websockets.sync.server import serve

        self._server = serve(self._session, "127.0.0.1", 0, compression=None)
        port = self._server.socket.getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}/link/?ticket=emulator"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="slack-socket-emulator")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _session(self, ws: Any) -> None:
        ws.send(json.dumps({"type": "hello", "num_connections": 1,
                            "debug_info": {"host": "emulator", "approximate_connection_time": 3600},
                            "connection_info": {"app_id": "A0CONCIERGE"}}))
        with self._lock:
            self._clients.append(ws)
            self._lock.notify_all()
        try:
            for raw in ws:
                msg = json.loads(raw)
                if "envelope_id" in msg:
                    with self._lock:
                        self.acks.append(msg)
                        self._lock.notify_all()
        except Exception:  # noqa: BLE001 - the client went away; nothing to report
            pass
        finally:
            with self._lock:
                if ws in self._clients:
                    self._clients.remove(ws)

    def wait_connected(self, timeout_s: float = 30.0) -> None:
        with self._lock:
            if not self._lock.wait_for(lambda: bool(self._clients), timeout=timeout_s):
                raise AssertionError("no Socket Mode client connected")

    def send_event(self, body: dict[str, Any], *, retry_attempt: int = 0,
                   timeout_s: float = 30.0) -> dict[str, Any]:
        """Push one Events API body as an envelope; returns the client's ack."""
        envelope_id = f"env-{next(_ENVELOPES)}"
        envelope = {"envelope_id": envelope_id, "type": "events_api", "payload": body,
                    "accepts_response_payload": False, "retry_attempt": retry_attempt,
                    "retry_reason": "timeout" if retry_attempt else ""}
        self.wait_connected(timeout_s)
        with self._lock:
            ws = self._clients[-1]
        ws.send(json.dumps(envelope))
        with self._lock:
            ok = self._lock.wait_for(lambda: any(a["envelope_id"] == envelope_id for a in self.acks),
                                     timeout=timeout_s)
            if not ok:
                raise AssertionError(f"envelope {envelope_id} was not acknowledged")
            return next(a for a in self.acks if a["envelope_id"] == envelope_id)


_ENVELOPES = itertools.count(1)
