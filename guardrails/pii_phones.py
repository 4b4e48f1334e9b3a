"""Phone numbers: Google's `phonenumbers` library, strict where nothing says "phone", lenient where
something does.

- Anywhere: `PhoneNumberMatcher` at Leniency.VALID over a few likely regions (a number that
  is assigned in one of them).
- With a sign that it is a phone (a +country or 00 prefix, a "(0)" trunk digit, or a phone
  word on the same line just before or right after: "call me at", "Mobile:", "-Fax",
  "office"), the lenient test is enough: `is_possible_number` in some region (the right
  length), since fictional and unassigned ranges (555, Ofcom's drama numbers) are still
  someone's way to be reached and must not leak.
- Never: dates, prices, IP addresses, digits glued to letters (tracking codes), numbers right
  after an order/reference word (kept for the bot).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers

from guardrails.pii_finding import Finding, order_number_at

# Regions tried by the matcher besides numbers written with a +country prefix.
PHONE_REGIONS = ("US", "GB", "DE", "FR", "IN", "ES", "AU", "BR")
# Regions whose lengths the lenient test accepts (a possible number in any of them).
_LENIENT_REGIONS = ("US", "GB", "DE", "FR", "IN", "ES", "AU", "BR", "NL", "BE", "CH", "SE", "DK", "NO",
                    "FI", "IT", "PT", "PL", "HU", "JP", "CN", "ZA", "IE", "CA")

# Digits with small separator runs between them, on one line.
_CANDIDATE = re.compile(r"(?:\+|\b00)?\(?\d(?:[ \t().\-/]{0,3}\d){6,16}")
_EXTENSION = re.compile(r"[ \t]*(?:x|ext\.?|extension|#)[ \t]*\d{1,6}\b", re.I)
_DATE_SHAPE = re.compile(r"(\d{1,4})([/.-])(\d{1,2})\2(\d{1,4})")
_TIME = re.compile(r"\d{1,2}:\d{2}(?::\d{2})?")


def _is_date(raw: str) -> bool:
    """12/05/2024, 2024-11-23, 23.11.24: a day, a month and a year in some order ("278-68-38" is not)."""
    if _TIME.fullmatch(raw):
        return True
    m = _DATE_SHAPE.fullmatch(raw)
    if not m:
        return False
    a, b, c = m.group(1), m.group(3), m.group(4)
    x, y, z = int(a), int(b), int(c)
    if len(a) == 4:
        return 1 <= y <= 12 and 1 <= z <= 31
    if len(c) not in (2, 4):
        return False
    return (1 <= x <= 31 and 1 <= y <= 12) or (1 <= x <= 12 and 1 <= y <= 31)
_CUE_BEFORE = re.compile(
    r"\b(?:phone|phones|call|calling|called|cell|cellphone|mobile|mob|tel|telephone|fax|desk|office|"
    r"landline|home|work|text me|text|sms|whats\s?app|my number|reach me|reach|ring|dial|contact|"
    r"answering|answer|voicemail|messages?|number)\b[^\n\d]{0,24}$",
    re.I,
)
_CUE_AFTER = re.compile(r"^[ \t]*[-(,]?[ \t]*(?:office|fax|mobile|cell|home|work|tel|phone|landline|desk)\b", re.I)


@dataclass(frozen=True)
class _Run:
    start: int
    end: int


def _runs(text: str) -> list[_Run]:
    out = []
    for m in _CANDIDATE.finditer(text):
        raw = m.group()
        # Trailing separators and an unmatched "(" are not part of the number.
        end = m.end() - (len(raw) - len(raw.rstrip(" \t(.-")))
        start = m.start()
        if text[start] == "(" and ")" not in text[start:end]:
            start += 1
        digits = sum(c.isdigit() for c in text[start:end])
        groups = re.findall(r"\d+", text[start:end])
        # Phones are written in groups of 2-5 digits (a lone trunk "0" or country digit aside):
        # "1 1 1 1 1 1 1" or "(1) (1) (1)" is a list, not a number, and must not reach the matcher.
        if 7 <= digits <= 17 and len(groups) <= 7 and sum(len(g) == 1 for g in groups) <= 2:
            out.append(_Run(start, end))
    return out


def _excluded(text: str, start: int, end: int) -> bool:
    raw = text[start:end]
    if _is_date(raw):
        return True
    if start > 0 and (text[start - 1].isalnum() or text[start - 1] in "$€£/_"):
        return True  # the tail of a tracking code, a price, a path
    if end < len(text) and (text[end].isalnum() and not _EXTENSION.match(text, end)):
        return True
    if end < len(text) and text[end] in "%/" or re.match(r"\.\d", text[end:end + 2]):
        return True
    return order_number_at(text, start)


def _lenient(raw: str) -> bool:
    digits = re.sub(r"\D", "", raw)
    if raw.startswith("+") or raw.startswith("00"):
        try:
            number = phonenumbers.parse("+" + digits[2:] if raw.startswith("00") else raw, None)
            if phonenumbers.is_possible_number(number):
                return True
        except phonenumbers.NumberParseException:
            pass
        if raw.startswith("+"):
            return False
    if not 7 <= len(digits) <= 15:
        return False
    for region in _LENIENT_REGIONS:
        try:
            if phonenumbers.is_possible_number(phonenumbers.parse(raw, region)):
                return True
        except phonenumbers.NumberParseException:
            continue
    return False


def _cued(text: str, start: int, end: int) -> bool:
    raw = text[start:end]
    if raw.startswith(("+", "00")) or "(0)" in raw:
        return True
    line_start = text.rfind("\n", 0, start) + 1
    if _CUE_BEFORE.search(text[max(line_start, start - 40):start]):
        return True
    ext = _EXTENSION.match(text, end)
    after = ext.end() if ext else end
    return _CUE_AFTER.match(text[after:after + 20]) is not None


def _extend(text: str, start: int, end: int) -> tuple[int, int]:
    """Keep a +country prefix and an extension ("x769") with the number."""
    prefix = re.search(r"\+\d{1,3}[ \t.-]*$", text[max(0, start - 8):start])
    if prefix and not text[start:end].startswith("+"):
        start = start - len(prefix.group())
    ext = _EXTENSION.match(text, end)
    if ext and not re.match(r"[ \t]*#", ext.group()):
        end = ext.end()
    return start, end


_MATCHER_BUDGET = 120


def find_phones(text: str) -> list[Finding]:
    if sum(c.isdigit() for c in text) < 7:
        return []
    out: list[Finding] = []
    budget = _MATCHER_BUDGET
    for run in _runs(text):
        start, end = run.start, run.end
        if _excluded(text, start, end):
            continue
        raw = text[start:end]
        if _cued(text, start, end):
            if _lenient(raw):
                out.append(Finding(*_extend(text, start, end), "PHONE"))
            continue
        # No sign it is a phone: only a number the matcher finds assigned in a likely region. It
        # is slow (~0.5 ms a call and region), so a message gets a bounded number of matcher
        # windows: a paste of thousands of digit groups must not take seconds. Past that, the
        # lenient test decides (a long list of numbers loses a few non-phones rather than leak).
        if budget <= 0:
            if _lenient(raw):
                out.append(Finding(*_extend(text, start, end), "PHONE"))
            continue
        budget -= 1
        a, b = max(0, start - 3), min(len(text), end + 3)
        found = False
        for region in PHONE_REGIONS:
            for match in phonenumbers.PhoneNumberMatcher(text[a:b], region, leniency=phonenumbers.Leniency.VALID):
                s, e = a + match.start, a + match.end
                if _is_date(match.raw_string) or _excluded(text, s, e):
                    continue
                out.append(Finding(*_extend(text, s, e), "PHONE"))
                found = True
            if found:
                break
    return out
