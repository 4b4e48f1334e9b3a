"""Capture everything the run logs, so pii_leaks can look for customer data in it."""
from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

# Our own packages log at DEBUG during a run: a value logged only at DEBUG would still
# leak in a deployment that turns DEBUG on.
OWN_PACKAGES = ("agent", "guardrails", "retrieval", "knowledge", "connectors", "evals")

_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("x", 0, "", 0, "", None, None))) | {"message", "asctime"}


class LogCapture(logging.Handler):
    """Keeps the text of every record (message, extra fields, traceback) until taken."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not break the run
            message = f"{record.msg!r} % {record.args!r}"
        parts = [record.name, record.levelname, message]
        extras = {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS}
        if extras:
            parts.append(repr(extras))
        if record.exc_info:
            parts.append("".join(traceback.format_exception(*record.exc_info)))
        if record.stack_info:
            parts.append(record.stack_info)
        self.lines.append(" | ".join(parts))

    def take(self) -> list[str]:
        """The lines captured since the last take()."""
        lines, self.lines = self.lines, []
        return lines


class _AtLeast(logging.Filter):
    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= self.level


@contextmanager
def capture_logs() -> Iterator[LogCapture]:
    """Attach a capturing handler for the duration; other handlers see what they saw before."""
    root = logging.getLogger()
    capture = LogCapture()
    shown_level = root.getEffectiveLevel()
    gate = _AtLeast(shown_level)
    existing = list(root.handlers)
    for handler in existing:
        handler.addFilter(gate)
    fallback: logging.Handler | None = None
    if not existing:  # keep warnings visible on stderr as Python's last-resort handler would
        fallback = logging.StreamHandler(sys.stderr)
        fallback.setLevel(logging.WARNING)
        root.addHandler(fallback)
    saved_levels = {}
    for name in OWN_PACKAGES:
        logger = logging.getLogger(name)
        saved_levels[name] = logger.level
        logger.setLevel(logging.DEBUG)
    root.addHandler(capture)
    try:
        yield capture
    finally:
        root.removeHandler(capture)
        for name, level in saved_levels.items():
            logging.getLogger(name).setLevel(level)
        for handler in existing:
            handler.removeFilter(gate)
        if fallback is not None:
            root.removeHandler(fallback)
