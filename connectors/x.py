"""X (Account Activity API) webhooks: CRC, signature, DMs and public mentions.

CRC and body signature share one primitive: "sha256=" + base64 HMAC-SHA256 keyed with
the consumer secret. DMs we sent ourselves (sender_id == for_user_id) and our own
posts are skipped; retweets are not questions and are skipped too.
"""
from __future__ import annotations

import base64
import re
from datetime import datetime, timezone
from typing import Any

from agent.messages import InboundMessage
from connectors.signatures import hmac_sha256, secret_equal
from guardrails.codes import Channel

_LEADING_MENTIONS = re.compile(r"^(?:\s*@\w{1,15})+\s*")


class NotAnXEvent(ValueError):
    """The body is not an Account Activity event."""


def signature(secret: str, message: bytes) -> str:
    """"sha256=" + base64 HMAC-SHA256(secret, message): used for CRC and for bodies."""
    return "sha256=" + base64.b64encode(hmac_sha256(secret, message)).decode()


def crc_response(crc_token: str, consumer_secret: str) -> dict[str, str]:
    """The JSON X expects back from the GET CRC check."""
    return {"response_token": signature(consumer_secret, crc_token.encode())}


def verify_signature(body: bytes, header: str | None, consumer_secret: str) -> bool:
    return secret_equal(signature(consumer_secret, body), header)


def _ms(ts: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(ts) / 1000, timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return datetime.now(timezone.utc)


def _without_media_links(text: str, media: list[Any]) -> str:
    """X puts each attached photo's or video's t.co link into the text: that link is not words."""
    for item in media:
        link = item.get("url") if isinstance(item, dict) else None
        if isinstance(link, str) and link:
            text = text.replace(link, "")
    return text.strip()


def _dm_events(payload: dict, me: str) -> list[InboundMessage]:
    out: list[InboundMessage] = []
    users = payload.get("users") if isinstance(payload.get("users"), dict) else {}
    for ev in payload.get("direct_message_events") or []:
        if not isinstance(ev, dict) or ev.get("type") != "message_create" or not ev.get("id"):
            continue
        mc = ev.get("message_create") or {}
        sender = str(mc.get("sender_id", ""))
        if not sender or sender == me:
            continue
        data = mc.get("message_data") or {}
        attachment = data.get("attachment") if isinstance(data.get("attachment"), dict) else {}
        media = [attachment.get("media")] if attachment.get("type") == "media" else []
        user = users.get(sender) if isinstance(users.get(sender), dict) else {}
        handle = user.get("screen_name")
        out.append(
            InboundMessage(
                platform="x",
                channel=Channel.X_DM,
                conversation_key=f"x_dm:{me}:{sender}",
                customer_id=sender,
                customer_handle=f"@{handle}" if handle else None,
                message_id=str(ev["id"]),
                text=_without_media_links(str(data.get("text") or ""), media),
                attachments=1 if attachment else 0,
                received_at=_ms(ev.get("created_timestamp")),
            )
        )
    return out


def _tweet_events(payload: dict, me: str) -> list[InboundMessage]:
    out: list[InboundMessage] = []
    for tw in payload.get("tweet_create_events") or []:
        if not isinstance(tw, dict) or not tw.get("id_str"):
            continue
        user = tw.get("user") or {}
        author = str(user.get("id_str", ""))
        if not author or author == me or "retweeted_status" in tw:
            continue
        full = (tw.get("extended_tweet") or {}).get("full_text") or tw.get("full_text") or tw.get("text") or ""
        media = ((tw.get("extended_tweet") or {}).get("entities") or tw.get("entities") or {}).get("media") or []
        media = media if isinstance(media, list) else []
        text = _without_media_links(_LEADING_MENTIONS.sub("", str(full)), media)
        handle = user.get("screen_name")
        tid = str(tw["id_str"])
        out.append(
            InboundMessage(
                platform="x",
                channel=Channel.X_PUBLIC,
                conversation_key=f"x_public:{me}:{author}",
                customer_id=author,
                customer_handle=f"@{handle}" if handle else None,
                message_id=tid,
                text=text,
                public=True,
                reply_to_id=tid,
                link=f"https://x.com/{handle or 'i'}/status/{tid}",
                attachments=len(media),
                received_at=_ms(tw.get("timestamp_ms")),
            )
        )
    return out


def parse(payload: Any, own_user_id: str | None = None) -> list[InboundMessage]:
    """Customer DMs and mentions in an Account Activity payload (typing/read events skipped)."""
    if not isinstance(payload, dict) or "for_user_id" not in payload:
        raise NotAnXEvent("not an Account Activity event: `for_user_id` is missing")
    me = str(own_user_id or payload.get("for_user_id"))
    return _dm_events(payload, me) + _tweet_events(payload, me)
