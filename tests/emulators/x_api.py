"""Emulator of the X API v2 endpoints we call: send a DM, post a reply."""
from __future__ import annotations

import itertools
import re
import unicodedata

from tests.emulators.base import EmulatorServer, Received, Reply

_DM = re.compile(r"^/2/dm_conversations/with/([^/]+)/messages$")
_URL = re.compile(r"https?://\S+")
# The ranges twitter-text's default config weighs 1 (Latin, general punctuation, ...).
_LIGHT = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))


def weighted_length(text: str) -> int:
    """X's weighted length (independent of the product's code): URLs 23, light ranges 1, rest 2."""
    text = unicodedata.normalize("NFC", text)
    total = 0
    for url in _URL.findall(text):
        total += 23
    text = _URL.sub("", text)
    for ch in text:
        cp = ord(ch)
        total += 1 if any(a <= cp <= b for a, b in _LIGHT) else 2
    return total


class XApiEmulator(EmulatorServer):
    def __init__(self, *, user_token: str = "x-user-token") -> None:
        super().__init__()
        self.user_token = user_token
        self._ids = itertools.count(1000)

    def error_reply(self, status: int, message: str) -> Reply:
        return Reply(status, {"title": "Error", "detail": message, "status": status})

    def rate_limit_reply(self, retry_after: int) -> Reply:
        return Reply(429, {"title": "Too Many Requests", "detail": "Too Many Requests", "status": 429},
                     {"x-rate-limit-remaining": "0", "Retry-After": str(retry_after)})

    def route(self, req: Received) -> Reply:
        if req.headers.get("authorization") != f"Bearer {self.user_token}":
            return self.error_reply(401, "Unauthorized")
        body = req.json if isinstance(req.json, dict) else None
        if req.method != "POST" or body is None:
            return self.error_reply(400, "POST a JSON body")
        text = body.get("text")
        if not isinstance(text, str) or not text:
            return self.error_reply(400, "text is required")
        dm = _DM.match(req.path)
        if dm:
            if len(text) > 10000:
                return self.error_reply(400, "text is longer than 10000 characters")
            return Reply(201, {"data": {"dm_conversation_id": f"{dm.group(1)}-me", "dm_event_id": str(next(self._ids))}})
        if req.path == "/2/tweets":
            if weighted_length(text) > 280:
                return self.error_reply(403, "You are not permitted to create a Tweet with more than 280 weighted characters")
            return Reply(201, {"data": {"id": str(next(self._ids)), "text": text}})
        return self.error_reply(404, f"no route {req.path}")
