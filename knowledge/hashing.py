"""Content hashes that decide whether a document must be re-indexed."""
from __future__ import annotations

import hashlib


def content_hash(*parts: str | None) -> str:
    """sha256 over the parts, length-prefixed so ("ab", "c") and ("a", "bc") differ."""
    digest = hashlib.sha256()
    for part in parts:
        data = b"\x00none" if part is None else part.encode("utf-8")
        digest.update(str(len(data)).encode("ascii"))
        digest.update(b":")
        digest.update(data)
    return digest.hexdigest()
