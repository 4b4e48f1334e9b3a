"""Telegram Bot API webhook: secret-token check and Update parsing."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from agent.messages import InboundMessage
from connectors.signatures import secret_equal
from guardrails.codes import Channel

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_ATTACHMENT_KEYS = ("photo", "document", "video", "audio", "voice", "sticker", "animation", "video_note", "location", "contact")


class NotAnUpdate(ValueError):
    """The body is not a Telegram Update."""


def verify_secret(header: str | None, secret: str) -> bool:
    return secret_equal(secret, header)


def parse(payload: Any) -> list[InboundMessage]:
    """The customer message in an Update (edits, channel posts and callbacks are skipped)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("update_id"), int):
        raise NotAnUpdate("not a Telegram Update: integer `update_id` is missing")
    msg = payload.get("message")
    if not isinstance(msg, dict):
        return []
    chat = msg.get("chat") or {}
    sender = msg.get("from") or {}
    if sender.get("is_bot") or "id" not in chat:
        return []
    text = msg.get("text")
    if not isinstance(text, str):
        text = msg.get("caption") if isinstance(msg.get("caption"), str) else ""
    attachments = sum(1 for k in _ATTACHMENT_KEYS if k in msg)
    try:
        at = datetime.fromtimestamp(int(msg.get("date", 0)), timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        at = datetime.now(timezone.utc)
    username = sender.get("username")
    chat_id = str(chat["id"])
    return [
        InboundMessage(
            platform="telegram",
            channel=Channel.TELEGRAM,
            conversation_key=f"telegram:{chat_id}",
            customer_id=str(sender.get("id", chat_id)),
            customer_handle=f"@{username}" if username else sender.get("first_name"),
            # update_id is what Telegram redelivers; the message id is unique per chat only.
            message_id=f"{chat_id}:{msg.get('message_id', payload['update_id'])}",
            text=text,
            attachments=attachments,
            received_at=at if at.year > 1970 else datetime.now(timezone.utc),
        )
    ]
