"""Build and sign webhook deliveries the way Meta, X and Telegram do."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import httpx


def meta_signature(body: bytes, app_secret: str) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def x_signature(body: bytes, consumer_secret: str) -> str:
    return "sha256=" + base64.b64encode(hmac.new(consumer_secret.encode(), body, hashlib.sha256).digest()).decode()


def post_meta(base_url: str, payload: Any, app_secret: str, **kw) -> httpx.Response:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": meta_signature(body, app_secret)}
    headers.update(kw.pop("headers", {}))
    return httpx.post(f"{base_url}/webhooks/meta", content=body, headers=headers, timeout=10, **kw)


def post_x(base_url: str, payload: Any, consumer_secret: str, **kw) -> httpx.Response:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "x-twitter-webhooks-signature": x_signature(body, consumer_secret)}
    headers.update(kw.pop("headers", {}))
    return httpx.post(f"{base_url}/webhooks/x", content=body, headers=headers, timeout=10, **kw)


def post_telegram(base_url: str, payload: Any, secret: str, **kw) -> httpx.Response:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret}
    headers.update(kw.pop("headers", {}))
    return httpx.post(f"{base_url}/webhooks/telegram", content=body, headers=headers, timeout=10, **kw)


def now_ms() -> int:
    return int(time.time() * 1000)


def messenger_event(page_id: str, psid: str, mid: str, text: str | None, *, obj: str = "page",
                    attachments: list | None = None, echo: bool = False) -> dict:
    message: dict[str, Any] = {"mid": mid}
    if text is not None:
        message["text"] = text
    if attachments:
        message["attachments"] = attachments
    if echo:
        message["is_echo"] = True
    sender, recipient = (page_id, psid) if echo else (psid, page_id)
    return {"object": obj, "entry": [{"id": page_id, "time": now_ms(), "messaging": [
        {"sender": {"id": sender}, "recipient": {"id": recipient}, "timestamp": now_ms(), "message": message}]}]}


def whatsapp_event(phone_id: str, wa_id: str, wamid: str, text: str | None, name: str = "Sam",
                   *, kind: str = "text", content: dict | None = None) -> dict:
    """A WhatsApp Cloud API message; kind/content give other types (image, sticker, reaction ...)."""
    message: dict[str, Any] = {"from": wa_id, "id": wamid, "timestamp": str(int(time.time())), "type": kind}
    message[kind] = {"body": text} if kind == "text" else (content or {})
    return {"object": "whatsapp_business_account", "entry": [{"id": "WABA1", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550000000", "phone_number_id": phone_id},
        "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
        "messages": [message]}}]}]}


def x_dm_event(me: str, sender: str, event_id: str, text: str, *, media: dict | None = None) -> dict:
    """An Account Activity DM; with media, its t.co link is in the text as X sends it."""
    data: dict[str, Any] = {"text": text, "entities": {}}
    if media is not None:
        data["attachment"] = {"type": "media", "media": media}
    return {"for_user_id": me, "direct_message_events": [{
        "type": "message_create", "id": event_id, "created_timestamp": str(now_ms()),
        "message_create": {"target": {"recipient_id": me if sender != me else "1"}, "sender_id": sender,
                           "message_data": data}}],
        "users": {sender: {"id": sender, "screen_name": "customer"}}}


def x_mention_event(me: str, author: str, tweet_id: str, text: str, screen_name: str = "customer") -> dict:
    return {"for_user_id": me, "user_has_blocked": "false", "tweet_create_events": [{
        "id_str": tweet_id, "text": text, "timestamp_ms": str(now_ms()),
        "user": {"id_str": author, "screen_name": screen_name}}]}


def telegram_update(update_id: int, chat_id: int, message_id: int, text: str | None, **extra) -> dict:
    message: dict[str, Any] = {"message_id": message_id, "from": {"id": chat_id, "is_bot": False, "first_name": "Sam"},
                               "chat": {"id": chat_id, "type": "private"}, "date": int(time.time())}
    if text is not None:
        message["text"] = text
    message.update(extra)
    return {"update_id": update_id, "message": message}
