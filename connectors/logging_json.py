"""JSON log lines without personal data: ids and codes only, never message text."""
from __future__ import annotations

import hashlib
from functools import lru_cache
import json
import logging
import re
import sys
from datetime import datetime, timezone

from guardrails.pii import redact

# Fields a caller may attach with `extra=`; anything else is dropped so message text or
# payloads cannot leak into the logs by accident.
SAFE_FIELDS = frozenset(
    {
        "event", "platform", "channel", "conversation", "message_id", "action", "reasons",
        "status", "stream_id", "consumer", "attempt", "latency_ms", "error", "path",
        "method", "count", "case_id", "idempotency_key", "url", "reclaimed",
    }
)


# Free text that may quote what a customer or a platform wrote: redacted like message text.
FREE_TEXT = ("msg", "error", "exc")


def pseudonymous(conversation: str) -> str:
    """"whatsapp:<phone id>:<customer's phone number>" -> "whatsapp:<12 hex>".

    Conversation keys hold platform user ids, and a WhatsApp id is the customer's phone
    number; a stable hash still lets one follow a conversation through the log.
    """
    channel, _, rest = conversation.partition(":")
    if not rest:
        return hashlib.sha256(conversation.encode()).hexdigest()[:12]
    return f"{channel}:{hashlib.sha256(rest.encode()).hexdigest()[:12]}"


# Leading labels of an idempotency key ("reply:meta:<message id>:0#1") that name no one.
_KEY_LABELS = frozenset({"reply", "send", "meta", "x", "telegram", "web", "slack"})
_PART_COUNTER = re.compile(r"^\d{1,3}(?:#\d{1,3})?$")
# A WhatsApp message id is base64 that spells the customer's phone number.
_WAMID = re.compile(r"wamid\.[A-Za-z0-9+/=_-]+")


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:12]


def pseudonymous_id(value: str) -> str:
    """A platform message id, or an idempotency key built from one, with the id hashed.

    "wamid.HBgL..." -> "<12 hex>"; "reply:meta:wamid.HBgL...:0#1" -> "reply:meta:<12 hex>:0#1"
    with the same 12 hex, so a send can be matched to the intake line of its message.
    """
    parts = value.split(":")
    head: list[str] = []
    while len(parts) > 1 and parts[0] in _KEY_LABELS:
        head.append(parts.pop(0))
    tail = [parts.pop()] if head and len(parts) > 1 and _PART_COUNTER.match(parts[-1]) else []
    return ":".join([*head, _digest(":".join(parts)), *tail])


@lru_cache(maxsize=4096)
def _scrub(text: str) -> str:
    # Most log messages are the same few constants ("intake", "turn"): cache so the hot path
    # does not run every PII recognizer on them again (redaction is ~20 us even on one word).
    return redact(_WAMID.sub(lambda m: pseudonymous_id(m.group(0)), text)).text


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, msg and whitelisted extras."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key in SAFE_FIELDS:
            if key in record.__dict__:
                line[key] = record.__dict__[key]
        if record.exc_info and record.exc_info[0] is not None:
            # The exception type and message only: a traceback may quote customer text.
            exc = record.exc_info[1]
            line["exc"] = f"{record.exc_info[0].__name__}: {str(exc)[:200]}"
        if isinstance(line.get("conversation"), str):
            line["conversation"] = pseudonymous(line["conversation"])
        for key in ("message_id", "idempotency_key"):
            if isinstance(line.get(key), str):
                line[key] = pseudonymous_id(line[key])
        for key in FREE_TEXT:
            if isinstance(line.get(key), str):
                line[key] = _scrub(line[key])
        return json.dumps(line, default=str, ensure_ascii=False)


def configure_logging(level: str = "INFO", stream=None) -> None:
    """Route the root logger (and uvicorn's) to JSON lines on stderr."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True
    # httpx logs full request URLs, which carry access tokens for the Graph API.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
