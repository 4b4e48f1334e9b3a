"""What every personal-data recognizer returns, and the context cues they share."""
from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    start: int
    end: int
    kind: str


# Words that say the number after them names a purchase or a shipment, not a person: such
# numbers are kept (the bot needs them) even when their digits happen to pass a checksum.
ORDER_CUE = re.compile(
    r"\b(?:order|purchase|tracking|track|invoice|booking|reservation|confirmation|reference|ref|"
    r"ticket|case|transaction|parcel|shipment|package|receipt|delivery|item|sku|model|serial|"
    r"version|build|product)\b"
    r"(?:\s+(?:number|no\.?|num|id|code))?\s*(?:is|was|:|#|-)?\s*#?\s*$",
    re.I,
)


def cue_before(text: str, pos: int, pattern: re.Pattern[str], window: int = 40) -> int | None:
    """Distance from the end of the last `pattern` match in the `window` characters before pos
    (same line only) to pos, or None when there is none."""
    start = max(0, pos - window)
    nl = text.rfind("\n", start, pos)
    if nl != -1:
        start = nl + 1
    last = None
    for m in pattern.finditer(text, start, pos):
        last = m
    return None if last is None else pos - last.end()


def order_number_at(text: str, pos: int) -> bool:
    """True when the value at pos directly follows an order/tracking/reference cue."""
    return ORDER_CUE.search(text[max(0, pos - 40):pos]) is not None


def overlaps(a: Finding, b: Finding) -> bool:
    return a.start < b.end and b.start < a.end
