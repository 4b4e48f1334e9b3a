"""A recording HTTP server on loopback that can fail, rate-limit or hang on demand."""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    json: Any = None
    status: int = 0  # what the emulator answered; 0 while hanging / connection dropped
    response: Any = None


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class EmulatorServer:
    """Subclasses implement `route(req) -> Reply`; faults are queued with fail_next/hang_next."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._faults: list[tuple[str, Any]] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._release = threading.Event()
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: with Nagle on, a keep-alive client's delayed ACK
            # stalls every response ~40 ms (measured: the bench's 1-worker rate was capped near 20 turns/s).
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                try:
                    parsed = json.loads(raw) if raw else None
                except ValueError:
                    parsed = None
                req = Received(
                    method=self.command,
                    path=parts.path,
                    query={k: v[-1] for k, v in parse_qs(parts.query).items()},
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=raw,
                    json=parsed,
                )
                reply = emulator._dispatch(req)
                if reply is None:  # hang: hold the request until released or the client gives up
                    emulator._release.wait(60)
                    self.close_connection = True
                    return
                data = json.dumps(reply.body).encode()
                # Record the outcome before answering: a client that got its answer must already
                # find the request in delivered() (the platform has accepted it either way).
                with emulator._changed:
                    req.status = reply.status
                    req.response = reply.body
                    emulator._changed.notify_all()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                    self.wfile.flush()
                except OSError:
                    return

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- lifecycle ---------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "EmulatorServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "EmulatorServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- faults ------------------------------------------------------------------
    def fail_next(self, n: int = 1, status: int = 500) -> None:
        with self._lock:
            self._faults.extend([("fail", status)] * n)

    def rate_limit_next(self, n: int = 1, retry_after: int = 1) -> None:
        with self._lock:
            self._faults.extend([("ratelimit", retry_after)] * n)

    def hang_next(self, n: int = 1) -> None:
        """The next n requests are recorded, then never answered (until stop())."""
        with self._lock:
            self._faults.extend([("hang", None)] * n)

    # -- inspection ----------------------------------------------------------------
    def delivered(self, path_contains: str = "") -> list[Received]:
        """Requests the emulator answered with a 2xx (what the platform accepted)."""
        with self._lock:
            return [r for r in self.requests if 200 <= r.status < 300 and path_contains in r.path]

    def wait_for(self, predicate, timeout: float = 30.0) -> list[Received]:
        """Block until predicate(list of all requests) is truthy; returns the requests."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(list(self.requests)):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"emulator did not see the expected requests; got {self.summary()}")
                self._changed.wait(min(left, 0.2))
            return list(self.requests)

    def wait_delivered(self, n: int = 1, timeout: float = 30.0) -> list[Received]:
        self.wait_for(lambda reqs: sum(1 for r in reqs if 200 <= r.status < 300) >= n, timeout)
        return self.delivered()

    def summary(self) -> list[tuple[str, str, int]]:
        return [(r.method, r.path, r.status) for r in self.requests]

    # -- internals -------------------------------------------------------------------
    def _dispatch(self, req: Received) -> Reply | None:
        with self._changed:
            self.requests.append(req)
            fault = self._faults.pop(0) if self._faults else None
            self._changed.notify_all()
        if fault is not None:
            kind, arg = fault
            if kind == "hang":
                return None
            if kind == "fail":
                return self.error_reply(arg, "emulated server error")
            if kind == "ratelimit":
                return self.rate_limit_reply(arg)
        try:
            return self.route(req)
        except Exception as exc:  # noqa: BLE001 - an emulator bug must show as a 500, not hang
            return Reply(500, {"error": f"emulator: {exc}"})

    def route(self, req: Received) -> Reply:  # pragma: no cover - abstract
        raise NotImplementedError

    def error_reply(self, status: int, message: str) -> Reply:
        return Reply(status, {"error": {"message": message}})

    def rate_limit_reply(self, retry_after: int) -> Reply:
        return Reply(429, {"error": {"message": "rate limited"}}, {"Retry-After": str(retry_after)})
