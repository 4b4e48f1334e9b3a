"""Last line of defence before Slack: run the PII redactor over any text we are about to post.

Packets and relayed messages are redacted upstream already; redacting placeholders again
is a no-op, so this only ever catches what slipped through.
"""
from __future__ import annotations

from guardrails.pii import redact


def scrub(text: str) -> str:
    """text with any personal data replaced by typed placeholders ([CARD], [PHONE], ...)."""
    return redact(text).text if text else text
