"""Meta webhooks (Messenger, Instagram, WhatsApp Cloud API): verify and parse.

Signature: X-Hub-Signature-256 = "sha256=" + hex HMAC-SHA256(app secret, raw body).
Every entry and every messaging/changes item is read (Meta batches them); echoes,
deliveries, reads and WhatsApp statuses are skipped.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from agent.messages import InboundMessage
from connectors.signatures import hmac_sha256, secret_equal
from guardrails.codes import Channel

OBJECT_CHANNELS = {"page": Channel.MESSENGER, "instagram": Channel.INSTAGRAM}
WHATSAPP_OBJECT = "whatsapp_business_account"
KNOWN_OBJECTS = frozenset({*OBJECT_CHANNELS, WHATSAPP_OBJECT})


class UnknownObject(ValueError):
    """The payload's `object` is not one we subscribe to."""


def sign(body: bytes, app_secret: str) -> str:
    """The X-Hub-Signature-256 header value Meta sends for this body."""
    return "sha256=" + hmac_sha256(app_secret, body).hex()


def verify_signature(body: bytes, header: str | None, app_secret: str) -> bool:
    """True when the header is the HMAC of the raw body with the app secret."""
    return secret_equal(sign(body, app_secret), header)


def verify_challenge(params: dict[str, str], verify_token: str) -> str | None:
    """The challenge to echo for a valid subscription request, else None."""
    if params.get("hub.mode") != "subscribe":
        return None
    if not secret_equal(verify_token, params.get("hub.verify_token")):
        return None
    challenge = params.get("hub.challenge")
    return challenge if challenge else None


def _ms(ts: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(ts) / 1000, timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return datetime.now(timezone.utc)


def _s(ts: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(ts), timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return datetime.now(timezone.utc)


def _messaging_events(payload: dict, channel: Channel) -> list[InboundMessage]:
    out: list[InboundMessage] = []
    for entry in payload.get("entry") or []:
        if not isinstance(entry, dict):
            continue
        account = str(entry.get("id", ""))
        for ev in entry.get("messaging") or []:
            if not isinstance(ev, dict):
                continue
            msg = ev.get("message")
            # delivery, read, messaging_seen, postback, optin, reaction: nothing to answer.
            if not isinstance(msg, dict) or msg.get("is_echo") or not msg.get("mid"):
                continue
            sender = str((ev.get("sender") or {}).get("id", ""))
            recipient = str((ev.get("recipient") or {}).get("id", "")) or account
            if not sender or sender == recipient:
                continue
            text = msg.get("text")
            if isinstance(msg.get("quick_reply"), dict) and not text:
                text = str(msg["quick_reply"].get("payload", ""))
            out.append(
                InboundMessage(
                    platform="meta",
                    channel=channel,
                    conversation_key=f"{channel.value}:{recipient}:{sender}",
                    customer_id=sender,
                    message_id=str(msg["mid"]),
                    text=text if isinstance(text, str) else "",
                    # Instagram marks a type it does not deliver (e.g. a voice clip) is_unsupported.
                    attachments=len(msg.get("attachments") or []) or (1 if msg.get("is_unsupported") else 0),
                    received_at=_ms(ev.get("timestamp")),
                )
            )
    return out


def _whatsapp_events(payload: dict) -> list[InboundMessage]:
    out: list[InboundMessage] = []
    for entry in payload.get("entry") or []:
        if not isinstance(entry, dict):
            continue
        for change in entry.get("changes") or []:
            if not isinstance(change, dict) or change.get("field") != "messages":
                continue
            value = change.get("value") or {}
            if not isinstance(value, dict):
                continue
            phone_id = str((value.get("metadata") or {}).get("phone_number_id", ""))
            names = {
                str(c.get("wa_id")): ((c.get("profile") or {}).get("name"))
                for c in value.get("contacts") or []
                if isinstance(c, dict)
            }
            # `statuses` (sent/delivered/read/failed) carry no customer text: skipped.
            for m in value.get("messages") or []:
                if not isinstance(m, dict) or not m.get("id") or not m.get("from"):
                    continue
                kind = m.get("type")
                if kind == "reaction":  # an emoji on one of our messages: nothing to answer
                    continue
                text = ""
                attachments = 0
                if kind == "text":
                    text = str((m.get("text") or {}).get("body", ""))
                elif kind == "button":
                    text = str((m.get("button") or {}).get("text", ""))
                elif kind == "interactive":
                    inter = m.get("interactive") or {}
                    reply = inter.get("button_reply") or inter.get("list_reply") or {}
                    text = str(reply.get("title", ""))
                else:  # image, audio, video, document, sticker, location, contacts ...
                    attachments = 1
                    caption = (m.get(kind) or {}).get("caption") if isinstance(kind, str) else None
                    text = caption if isinstance(caption, str) else ""
                wa_id = str(m["from"])
                out.append(
                    InboundMessage(
                        platform="meta",
                        channel=Channel.WHATSAPP,
                        conversation_key=f"whatsapp:{phone_id}:{wa_id}",
                        customer_id=wa_id,
                        customer_handle=names.get(wa_id),
                        message_id=str(m["id"]),
                        text=text,
                        attachments=attachments,
                        received_at=_s(m.get("timestamp")),
                    )
                )
    return out


def parse(payload: Any) -> list[InboundMessage]:
    """Customer messages in a webhook payload (possibly none). Raises UnknownObject."""
    if not isinstance(payload, dict):
        raise UnknownObject("the body is not a JSON object")
    obj = payload.get("object")
    if obj in OBJECT_CHANNELS:
        return _messaging_events(payload, OBJECT_CHANNELS[obj])
    if obj == WHATSAPP_OBJECT:
        return _whatsapp_events(payload)
    raise UnknownObject(f"unknown object {str(obj)[:40]!r}; expected page, instagram or whatsapp_business_account")
