"""Human-friendly case numbers like CX-7K3Q9: short, easy to read aloud, no look-alike characters."""
from __future__ import annotations

import re
import secrets

# No 0/O, 1/I: case numbers are read out on the phone and typed from screenshots.
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
PREFIX = "CX-"
LENGTH = 5

_PATTERN = re.compile(rf"^{PREFIX}[{ALPHABET}]{{{LENGTH}}}$")


class CaseIdError(ValueError):
    """A string that cannot be a case number."""


def random_case_id() -> str:
    """A random candidate case number; the store makes it unique (32^5 ≈ 33.5M values)."""
    return PREFIX + "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def is_case_id(text: str) -> bool:
    return bool(_PATTERN.match(text))


def normalize_case_id(text: str) -> str:
    """Accept what a person types ('cx-7k3q9', '7K3Q9', ' CX 7K3Q9 ') and return 'CX-7K3Q9'."""
    raw = re.sub(r"[\s_-]", "", text.strip().upper())
    if raw.startswith("CX"):
        raw = raw[2:]
    candidate = PREFIX + raw
    if not is_case_id(candidate):
        raise CaseIdError(
            f"{text.strip()!r} is not a case number: expected {PREFIX} followed by {LENGTH} "
            f"characters from {ALPHABET} (e.g. CX-7K3Q9)"
        )
    return candidate
