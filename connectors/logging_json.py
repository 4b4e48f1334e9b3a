"""JSON log lines without personal data: ids and codes only, never message text."""
from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

# Fields a caller may attach with `extra=`; anything else is dropped so message text or
# payloads cannot leak into the logs by accident.
SAFE_FIELDS = frozenset(
    {
        "event", "platform", "channel", "conversation", "message_id", "action", "reasons",
        "status", "stream_id", "consumer", "attempt", "latency_ms", "error", "path",
        "method", "count", "case_id", "idempotency_key", "url", "reclaimed",
    }
)


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
