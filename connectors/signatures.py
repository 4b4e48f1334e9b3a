"""HMAC and header comparison shared by every webhook's verification (Meta, X, Telegram, Slack).

Header values reach us as str decoded from latin-1, so a forged header may hold any
character; hmac.compare_digest refuses non-ASCII str with TypeError (a 500). Comparing
bytes keeps every forgery a plain mismatch.
"""
from __future__ import annotations

import hashlib
import hmac
import time


def hmac_sha256(secret: str, message: bytes) -> bytes:
    """The raw HMAC-SHA256 digest of message keyed with secret."""
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()


def secret_equal(expected: str, given: str | bytes | None) -> bool:
    """Constant-time equality of an expected secret or signature and whatever the request sent.

    No stripping: HTTP servers already drop the optional whitespace around header values."""
    if not given:
        return False
    if isinstance(given, str):
        # surrogatepass: lossless for any str, so no two different values encode alike
        given = given.encode("utf-8", "surrogatepass")
    return hmac.compare_digest(expected.encode("utf-8"), given)


SLACK_WINDOW_S = 5 * 60


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's v0 signature: "v0=" + hex HMAC-SHA256 of b"v0:{timestamp}:" + body."""
    return "v0=" + hmac_sha256(secret, b"v0:" + timestamp.encode("ascii") + b":" + body).hex()


def slack_request_valid(body: bytes, timestamp: str | None, signature: str | None, secret: str,
                        *, now: float | None = None, window_s: int = SLACK_WINDOW_S) -> bool:
    """True for a v0-signed request whose timestamp is within window_s of now (replays refused)."""
    if not timestamp or not timestamp.isascii() or not timestamp.isdigit():
        return False
    if abs((now if now is not None else time.time()) - int(timestamp)) > window_s:
        return False
    return secret_equal(slack_signature(secret, timestamp, body), signature)
