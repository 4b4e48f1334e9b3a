"""Emulator of the Graph API Send endpoints (Messenger, Instagram, WhatsApp Cloud API)."""
from __future__ import annotations

import itertools
import re

from tests.emulators.base import EmulatorServer, Received, Reply

_MESSAGES = re.compile(r"^/(v\d+\.\d+)/([^/]+)/messages$")


class GraphApiEmulator(EmulatorServer):
    def __init__(
        self,
        *,
        page_token: str = "page-token",
        instagram_token: str | None = None,
        instagram_ids: tuple[str, ...] = (),
        whatsapp_token: str = "wa-token",
        version: str = "v21.0",
    ) -> None:
        super().__init__()
        self.page_token = page_token
        self.instagram_token = instagram_token or page_token
        self.instagram_ids = set(instagram_ids)
        self.whatsapp_token = whatsapp_token
        self.version = version
        self._ids = itertools.count(1)

    def error_reply(self, status: int, message: str, code: int = 2) -> Reply:
        return Reply(status, {"error": {"message": message, "type": "OAuthException", "code": code}})

    def route(self, req: Received) -> Reply:
        m = _MESSAGES.match(req.path)
        if req.method != "POST" or not m:
            return self.error_reply(404, f"Unknown path components: {req.path}", 2500)
        version, node = m.groups()
        if version != self.version:
            return self.error_reply(400, f"unexpected version {version}", 100)
        body = req.json
        if not isinstance(body, dict):
            return self.error_reply(400, "body must be JSON", 100)
        bearer = req.headers.get("authorization", "").removeprefix("Bearer ").strip()
        token = req.query.get("access_token") or bearer
        if body.get("messaging_product") == "whatsapp":
            return self._whatsapp(token, body)
        instagram = node in self.instagram_ids
        expected = self.instagram_token if instagram else self.page_token
        if token != expected:
            return self.error_reply(401, "Invalid OAuth access token.", 190)
        recipient = (body.get("recipient") or {}).get("id")
        text = (body.get("message") or {}).get("text")
        if not recipient or not isinstance(text, str) or not text:
            return self.error_reply(400, "recipient.id and message.text are required", 100)
        limit = 1000 if instagram else 2000
        if len(text) > limit:
            return self.error_reply(400, f"(#100) Length of param message[text] must be less than or equal to {limit}", 100)
        mtype = body.get("messaging_type", "RESPONSE")
        if mtype not in ("RESPONSE", "UPDATE", "MESSAGE_TAG"):
            return self.error_reply(400, "(#100) invalid messaging_type", 100)
        if mtype == "MESSAGE_TAG" and not body.get("tag"):
            return self.error_reply(400, "(#100) tag is required with MESSAGE_TAG", 100)
        return Reply(200, {"recipient_id": recipient, "message_id": f"m_{next(self._ids)}"})

    def _whatsapp(self, token: str, body: dict) -> Reply:
        if token != self.whatsapp_token:
            return self.error_reply(401, "Invalid OAuth access token.", 190)
        to = body.get("to")
        text = (body.get("text") or {}).get("body")
        if not to or body.get("type") != "text" or not isinstance(text, str) or not text:
            return self.error_reply(400, "(#100) to, type=text and text.body are required", 100)
        if len(text) > 4096:
            return self.error_reply(400, "(#100) text.body is longer than 4096 characters", 100)
        return Reply(
            200,
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": f"wamid.{next(self._ids)}"}],
            },
        )
