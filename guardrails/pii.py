"""Personal-data recognizers and redaction with typed placeholders.

Recognizers (one module per family): numbers with a checksum or registry via python-stdnum
(`pii_numbers`: cards, IBANs, SSNs, national ids, IP addresses, long identifiers), phones via
`phonenumbers` (`pii_phones`), secrets found by their context words (`pii_secrets`: PINs,
one-time codes, passwords, account numbers, dates of birth), and e-mail addresses and best-effort postal
addresses here. Order numbers are deliberately kept: they identify a purchase, not a person,
give no access to anything, and the bot needs them to help.

Postal addresses are redacted where a simple street pattern finds them, but not claimed: on
outside test data (presidio-research's synthetic international addresses) the patterns
remove under 10% of street addresses, and no offline address library tried did better.
"""
from __future__ import annotations

import re

from guardrails.pii_finding import Finding, overlaps
from guardrails.pii_numbers import (
    find_cards,
    find_ibans,
    find_ips,
    find_long_numbers,
    find_national_ids,
    find_ssns,
    iban_lengths,
    iban_ok,
    luhn_ok,
)
from guardrails.pii_phones import PHONE_REGIONS, find_phones
from guardrails.pii_secrets import find_secrets
from guardrails.report import Redaction
from guardrails.verdict import Span

__all__ = ["PHONE_REGIONS", "PLACEHOLDERS", "Finding", "describe", "find_pii", "iban_lengths", "iban_ok",
           "luhn_ok", "redact"]

PLACEHOLDERS = {
    "CARD": "[CARD]",
    "IBAN": "[IBAN]",
    "SSN": "[SSN]",
    "NATIONAL_ID": "[NATIONAL_ID]",
    "PHONE": "[PHONE]",
    "EMAIL": "[EMAIL]",
    "PIN": "[PIN]",
    "PASSWORD": "[PASSWORD]",
    "OTP": "[OTP]",
    "ACCOUNT": "[ACCOUNT]",
    "IP": "[IP]",
    "DOB": "[DOB]",
    "ADDRESS": "[ADDRESS]",
}

# When two findings overlap, the more specific one wins (then the longer one).
_SPECIFICITY = {
    "EMAIL": 10, "IBAN": 9, "CARD": 9, "IP": 9, "SSN": 8, "NATIONAL_ID": 8, "PASSWORD": 7,
    "PIN": 7, "OTP": 7, "DOB": 7, "ACCOUNT": 6, "PHONE": 5, "ADDRESS": 3,
}
# Kinds that read digits; inside an IBAN-shaped token they would label a piece of it.
_NUMERIC = frozenset({"CARD", "SSN", "NATIONAL_ID", "PHONE", "ACCOUNT", "PIN", "OTP"})

_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")

_STREET_SUFFIX = (
    r"(?i:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl|"
    r"terrace|ter|circle|cir|highway|hwy|parkway|pkwy|square|sq|crescent|close|grove|gardens|"
    r"strasse|straße|rue|calle)"
)
_ADDRESS = re.compile(
    r"\b\d{1,5}[A-Za-z]?\s+(?:[A-Z][A-Za-z'.-]*\s+){1,4}" + _STREET_SUFFIX + r"\b\.?"
    r"(?:\s+(?:NW|NE|SW|SE|N|S|E|W)\b)?"
    r"(?:,?\s*(?i:apt|apartment|unit|suite|ste|flat|#)\.?\s*[A-Za-z0-9-]+)?"
    r"(?:,?\s*[A-Z][A-Za-z .'-]{1,30}?(?:,\s*|\s+)[A-Z]{2}\s+\d{5}(?:-\d{4})?)?",
)
_ADDRESS_CTX = re.compile(
    r"\b(?:i live at|my address is|address:|ship(?:ped)? (?:it )?to|deliver(?:ed)? to|sent to)\s+"
    r"(\d{1,5}[A-Za-z]?\s+[A-Za-z][^\n.!?]{3,60}?)(?=[.!?\n]|$)",
    re.I,
)
_UK_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s+\d[A-Z]{2}\b")
_US_ZIP_AFTER_STATE = re.compile(r"\b(?:[A-Z][a-z]+,?\s+)(?:AL|AK|AZ|AR|CA|CO|CT|DE|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|DC)\s+\d{5}(?:-\d{4})?\b")


def _find_emails(text: str) -> list[Finding]:
    return [Finding(m.start(), m.end(), "EMAIL") for m in _EMAIL.finditer(text)]


def _find_addresses(text: str) -> list[Finding]:
    out = [Finding(m.start(), m.end(), "ADDRESS") for m in _ADDRESS.finditer(text)]
    for m in _ADDRESS_CTX.finditer(text):
        out.append(Finding(m.start(1), m.end(1), "ADDRESS"))
    for rx in (_UK_POSTCODE, _US_ZIP_AFTER_STATE):
        out.extend(Finding(m.start(), m.end(), "ADDRESS") for m in rx.finditer(text))
    return out



_RECOGNIZERS = (
    _find_emails, find_cards, find_ssns, find_national_ids, find_ips,
    find_secrets, find_phones, _find_addresses,
)


def find_pii(text: str) -> list[Finding]:
    """All non-overlapping personal-data findings in text, in order."""
    # An IBAN-shaped token is one value: valid or not, no piece of it is a card or a phone.
    ibans = find_ibans(text)
    found: list[Finding] = list(ibans)
    for rec in _RECOGNIZERS:
        found.extend(f for f in rec(text)
                     if not (f.kind in _NUMERIC and any(overlaps(f, i) for i in ibans)))
    # Long unexplained numbers only where no recognizer already explained the digits.
    found.extend(f for f in find_long_numbers(text) if not any(overlaps(f, g) for g in found))
    # Resolve overlaps: most specific kind first, then the longest span.
    found.sort(key=lambda f: (-_SPECIFICITY[f.kind], -(f.end - f.start), f.start))
    chosen: list[Finding] = []
    for f in found:
        if f.end <= f.start:
            continue
        if not any(overlaps(f, c) for c in chosen):
            chosen.append(f)
    chosen.sort(key=lambda f: f.start)
    return chosen


def redact(text: str) -> Redaction:
    """Replace personal data in text with typed placeholders ([CARD], [PHONE], ...)."""
    findings = find_pii(text)
    parts: list[str] = []
    pos = 0
    kinds: list[str] = []
    for f in findings:
        parts.append(text[pos:f.start])
        parts.append(PLACEHOLDERS[f.kind])
        pos = f.end
        if f.kind not in kinds:
            kinds.append(f.kind)
    parts.append(text[pos:])
    return Redaction(
        text="".join(parts),
        spans=[Span(start=f.start, end=f.end, kind=f.kind) for f in findings],
        kinds=kinds,
        values=[text[f.start:f.end] for f in findings],
    )


_DESCRIPTIONS = {
    "CARD": "payment card number (Luhn-valid)",
    "IBAN": "IBAN (mod-97 valid)",
    "SSN": "US social security number",
    "NATIONAL_ID": "national id / passport / licence number",
    "PHONE": "phone number",
    "EMAIL": "email address",
    "PIN": "PIN or card security code",
    "PASSWORD": "password",
    "OTP": "one-time / verification code",
    "ACCOUNT": "account or other long identifier number",
    "IP": "IP address",
    "DOB": "date of birth",
    "ADDRESS": "postal address",
}


def describe(kind: str) -> str:
    """Human-readable name of a PII kind (never includes the value)."""
    return _DESCRIPTIONS.get(kind, kind.lower())
