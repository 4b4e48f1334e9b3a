"""Emulator of the Telegram Bot API method sendMessage."""
from __future__ import annotations

import itertools

from tests.emulators.base import EmulatorServer, Received, Reply


class TelegramApiEmulator(EmulatorServer):
    def __init__(self, *, token: str = "123:bot-token") -> None:
        super().__init__()
        self.token = token
        self._ids = itertools.count(1)

    def error_reply(self, status: int, message: str) -> Reply:
        return Reply(status, {"ok": False, "error_code": status, "description": message})

    def rate_limit_reply(self, retry_after: int) -> Reply:
        return Reply(429, {"ok": False, "error_code": 429, "description": f"Too Many Requests: retry after {retry_after}",
                           "parameters": {"retry_after": retry_after}})

    def route(self, req: Received) -> Reply:
        prefix = f"/bot{self.token}/"
        if not req.path.startswith(prefix):
            return self.error_reply(401, "Unauthorized")
        method = req.path[len(prefix):]
        if method != "sendMessage":
            return self.error_reply(404, "Not Found: method not found")
        body = req.json if isinstance(req.json, dict) else {}
        text = body.get("text")
        if "chat_id" not in body:
            return self.error_reply(400, "Bad Request: chat_id is empty")
        if not isinstance(text, str) or not text.strip():
            return self.error_reply(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            return self.error_reply(400, "Bad Request: message is too long")
        return Reply(200, {"ok": True, "result": {"message_id": next(self._ids), "chat": {"id": body["chat_id"]}, "text": text}})
