"""X's weighted character count (twitter-text v3), shared by formatting and output checks.

Most Latin text weighs 1, CJK and other wide scripts 2, an emoji sequence 2, and every URL 23
whatever its length.
"""
from __future__ import annotations

import re

X_URL_WEIGHT = 23
# twitter-text v3 ranges that weigh 1; everything else weighs 2.
_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
_URL_RE = re.compile(r"https?://[^\s<>\"]+|www\.[^\s<>\"]+", re.IGNORECASE)


def _is_emoji(cp: int) -> bool:
    return (0x1F000 <= cp <= 0x1FAFF or 0x2600 <= cp <= 0x27BF or 0x2B00 <= cp <= 0x2BFF
            or 0x1F1E6 <= cp <= 0x1F1FF or cp in (0x00A9, 0x00AE, 0x203C, 0x2049, 0x2122, 0x2139))


def _is_joiner(cp: int) -> bool:
    """Code points that continue an emoji sequence (ZWJ, variation selectors, skin tones, tags)."""
    return cp in (0x200D, 0xFE0F, 0xFE0E, 0x20E3) or 0x1F3FB <= cp <= 0x1F3FF or 0xE0020 <= cp <= 0xE007F


def _char_weight(cp: int) -> int:
    return 1 if any(lo <= cp <= hi for lo, hi in _LIGHT_RANGES) else 2


def _text_weight(text: str) -> int:
    total = 0
    in_emoji = False
    pending_flag = False  # a regional indicator waiting for its pair
    for i, ch in enumerate(text):
        cp = ord(ch)
        if in_emoji and _is_joiner(cp):
            continue
        if _is_emoji(cp):
            # regional-indicator pairs (flags) and ZWJ sequences count once
            regional = 0x1F1E6 <= cp <= 0x1F1FF
            if in_emoji and (text[i - 1] == "\u200d" or (regional and pending_flag)):
                pending_flag = False
                continue
            total += 2
            in_emoji = True
            pending_flag = regional
        else:
            in_emoji = pending_flag = False
            total += _char_weight(cp)
    return total


def weighted_length(text: str) -> int:
    """Length of the text as X counts it against the 280 limit."""
    total = 0
    last = 0
    for match in _URL_RE.finditer(text):
        total += _text_weight(text[last:match.start()]) + X_URL_WEIGHT
        last = match.end()
    return total + _text_weight(text[last:])
