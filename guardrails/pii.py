"""Personal-data recognizers and redaction with typed placeholders.

Recognizers are rules with checksums where the format has one (Luhn, mod-97, SSN ranges,
Spanish DNI letter, Verhoeff for Aadhaar, UK NINO prefixes), the `phonenumbers` library for
phones, and context cues for secrets that have no shape of their own (PINs, passwords,
one-time codes, account numbers). Order numbers are deliberately kept: they identify a
purchase, not a person, give no access to anything, and the bot needs them to help.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers

from guardrails.report import Redaction
from guardrails.verdict import Span

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
    "ADDRESS": "[ADDRESS]",
}

# When two findings overlap, the more specific one wins (then the longer one).
_SPECIFICITY = {
    "EMAIL": 10, "IBAN": 9, "CARD": 9, "SSN": 8, "NATIONAL_ID": 8, "PASSWORD": 7,
    "PIN": 7, "OTP": 7, "ACCOUNT": 6, "PHONE": 5, "ADDRESS": 3,
}

# Regions tried by the phone matcher besides numbers written with a +country prefix.
PHONE_REGIONS = ("US", "GB", "DE", "FR", "IN", "ES", "AU", "BR")


@dataclass(frozen=True)
class Finding:
    start: int
    end: int
    kind: str


# ---------------------------------------------------------------- checksums


def luhn_ok(digits: str) -> bool:
    """Luhn checksum (payment cards, Canadian SIN)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_ok(iban: str) -> bool:
    """ISO 13616 mod-97 check on an IBAN without spaces."""
    s = iban.upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", s):
        return False
    expected = _IBAN_LENGTHS.get(s[:2])
    if expected is not None and len(s) != expected:
        return False
    rearranged = s[4:] + s[:4]
    numeric = "".join(str(int(c, 36)) for c in rearranged)
    return int(numeric) % 97 == 1


_IBAN_LENGTHS = {
    "AT": 20, "BE": 16, "CH": 21, "CZ": 24, "DE": 22, "DK": 18, "ES": 24, "FI": 18, "FR": 27,
    "GB": 22, "IE": 22, "IT": 27, "LU": 20, "NL": 18, "NO": 15, "PL": 28, "PT": 25, "SE": 24,
}


def ssn_ok(area: str, group: str, serial: str) -> bool:
    """US SSN ranges the SSA never issues are not SSNs (000, 666, 9xx areas; 00 group; 0000 serial)."""
    return not (area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000")


_VERHOEFF_D = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 4, 0, 6, 7, 8, 9, 5], [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7], [4, 0, 1, 2, 3, 9, 5, 6, 7, 8], [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2], [7, 6, 5, 9, 8, 2, 1, 0, 4, 3], [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
]
_VERHOEFF_P = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 5, 7, 6, 2, 8, 3, 0, 9, 4], [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7], [9, 4, 5, 3, 1, 2, 6, 8, 7, 0], [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5], [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
]


def verhoeff_ok(digits: str) -> bool:
    """Verhoeff checksum (Indian Aadhaar numbers)."""
    c = 0
    for i, ch in enumerate(reversed(digits)):
        c = _VERHOEFF_D[c][_VERHOEFF_P[i % 8][int(ch)]]
    return c == 0


_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def dni_ok(number: str, letter: str) -> bool:
    """Spanish DNI/NIE control letter."""
    return _DNI_LETTERS[int(number) % 23] == letter.upper()


# ---------------------------------------------------------------- recognizers

_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
# 13-19 digits, optionally grouped by single spaces or dashes.
_CARD = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])")
_IBAN = re.compile(r"\b[A-Za-z]{2}\d{2}(?:[ ]?[A-Za-z0-9]){11,30}\b")
_SSN = re.compile(r"(?<![\w-])(\d{3})[- ](\d{2})[- ](\d{4})(?![\w-])")
_SSN_CTX = re.compile(
    r"\b(?:ssn|social security(?: number| no\.?| #)?|social)\s*(?:number|no\.?|#)?\s*(?:is|:|=|-)?\s*"
    r"(\d{3}[- ]?\d{2}[- ]?\d{4})\b",
    re.I,
)
_NINO = re.compile(r"\b(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b", re.I)
_DNI = re.compile(r"\b([XYZ]?)(\d{7,8})[- ]?([A-Za-z])\b")
_AADHAAR = re.compile(r"(?<![\w-])([2-9]\d{3})[ -]?(\d{4})[ -]?(\d{4})(?![\w-])")
_SIN_CTX = re.compile(r"\b(?:sin|social insurance(?: number)?)\s*(?:number|no\.?|#)?\s*(?:is|:)?\s*(\d{3}[- ]?\d{3}[- ]?\d{3})\b", re.I)
_ID_CTX = re.compile(
    r"\b(?:passport|national id|national identity|ni number|nin|id card|identity card|driver'?s? licen[cs]e|"
    r"licen[cs]e|tax id|tin|bsn|nino|national insurance|id)\s*(?:number|no\.?|#|num)?\s*"
    r"(?:is|:|=|-)?\s*([A-Za-z]{0,3}\d[A-Za-z0-9-]{4,18})\b",
    re.I,
)
_ACCOUNT_CTX = re.compile(
    r"\b(?:account|acct|a/c|acc|member(?:ship)?|customer|routing|sort code|bank account|"
    r"checking|savings|loyalty|card)\s*(?:number|no\.?|#|num|id)?\s*(?:is|was|:|=|-)?\s*"
    r"(#?\s?[A-Za-z]{0,3}\d[\d -]{4,24}\d[A-Za-z]?)\b",
    re.I,
)
_PIN_CTX = re.compile(
    r"\b(?:pin|pin code|pin number|passcode|pass code|security code|cvv|cvc|cvv2)\s*(?:number|code)?\s*"
    r"(?:is|was|:|=|-|of)?\s*(\d{3,8})\b",
    re.I,
)
_OTP_CTX = re.compile(
    r"\b(?:otp|one[- ]time (?:code|password|passcode|pin)|verification code|verify code|"
    r"confirmation code|security code|auth(?:entication)? code|2fa code|2fa|sms code|login code|"
    r"code)\s*(?:is|was|:|=|-)?\s*(\d{4,8}|\d{3}[ -]\d{3})\b",
    re.I,
)
_NOT_OTP_BEFORE = re.compile(r"\b(?:zip|postal|post|promo|discount|coupon|area|country|error|style|product|sku|model)\s*$", re.I)
_PASSWORD_CTX = re.compile(
    r"\b(?:password|passwd|pwd|pw|passphrase|login)\s*(?:is|was|:|=|-)\s*[\"'“]?(\S{3,64}?)[\"'”]?(?=[\s,;!?]|\.(?:\s|$)|$)",
    re.I,
)
_PASSWORD_BARE = re.compile(r"\b(?:password|passwd|pwd)\s+([^\s]{4,64})(?=[\s,;!?]|\.(?:\s|$)|$)", re.I)
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
_LONG_DIGITS = re.compile(r"(?<![\w.$€£-])\d(?:[ -]?\d){11,}(?![\w])")

# Words that follow "password is" without being a password.
_NOT_SECRET = frozenset(
    """is was not wrong incorrect correct right expired invalid reset changed updated locked
    there here the a an my your this that it same different too still also now just only
    being been working broken ok okay fine good bad weak strong long short missing gone
    lost forgotten forgot required needed case sensitive rejected accepted saved stored
    ready set no yes and or but when what which who how why where for to of in on at by
    with from as if so then than very really please help again anymore any every""".split()
)


def _digits(s: str) -> str:
    return re.sub(r"\D", "", s)


def _find_emails(text: str) -> list[Finding]:
    return [Finding(m.start(), m.end(), "EMAIL") for m in _EMAIL.finditer(text)]


def _find_cards(text: str) -> list[Finding]:
    out = []
    for m in _CARD.finditer(text):
        d = _digits(m.group())
        if 13 <= len(d) <= 19 and luhn_ok(d) and len(set(d)) > 1:
            out.append(Finding(m.start(), m.end(), "CARD"))
    return out


def _find_ibans(text: str) -> list[Finding]:
    out = []
    for m in _IBAN.finditer(text):
        raw = m.group()
        compact = raw.replace(" ", "")
        # The regex may swallow a following word; shrink until the checksum holds.
        while len(compact) >= 15:
            if iban_ok(compact):
                # map compact length back onto the raw span
                n, end = 0, m.start()
                for i, ch in enumerate(raw):
                    if ch != " ":
                        n += 1
                    if n == len(compact):
                        end = m.start() + i + 1
                        break
                out.append(Finding(m.start(), end, "IBAN"))
                break
            compact = compact[:-1]
    return out


def _find_ssn(text: str) -> list[Finding]:
    out = [
        Finding(m.start(), m.end(), "SSN")
        for m in _SSN.finditer(text)
        if ssn_ok(m.group(1), m.group(2), m.group(3)) and m.group().count("-") in (0, 2)
        and not (" " in m.group() and "-" not in m.group() and not _near(text, m.start(), r"ssn|social"))
    ]
    for m in _SSN_CTX.finditer(text):
        out.append(Finding(m.start(1), m.end(1), "SSN"))
    return out


def _near(text: str, pos: int, pattern: str, window: int = 40) -> bool:
    return re.search(pattern, text[max(0, pos - window):pos], re.I) is not None


def _find_national_ids(text: str) -> list[Finding]:
    out = [Finding(m.start(), m.end(), "NATIONAL_ID") for m in _NINO.finditer(text)
           if any(c.isdigit() for c in m.group())]
    for m in _DNI.finditer(text):
        prefix, num, letter = m.group(1), m.group(2), m.group(3)
        if prefix:
            num = str("XYZ".index(prefix.upper())) + num
        if len(m.group(2)) == 8 or prefix:
            if dni_ok(num, letter):
                out.append(Finding(m.start(), m.end(), "NATIONAL_ID"))
    for m in _AADHAAR.finditer(text):
        d = _digits(m.group())
        if verhoeff_ok(d) and _near(text, m.start(), r"aadhaar|aadhar|uid|id\b|identity", 50):
            out.append(Finding(m.start(), m.end(), "NATIONAL_ID"))
    for m in _SIN_CTX.finditer(text):
        if luhn_ok(_digits(m.group(1))):
            out.append(Finding(m.start(1), m.end(1), "NATIONAL_ID"))
    for m in _ID_CTX.finditer(text):
        out.append(Finding(m.start(1), m.end(1), "NATIONAL_ID"))
    return out


_PHONE_CANDIDATE = re.compile(r"[+(]?\d[\d\s().-]{5,22}\d")


@dataclass(frozen=True)
class _Shifted:
    start: int
    end: int
    raw_string: str


_DATE_LIKE = re.compile(r"\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}")


def _find_phones(text: str) -> list[Finding]:
    if sum(c.isdigit() for c in text) < 7:
        return []
    seen: set[tuple[int, int]] = set()
    out = []
    # The matcher is slow (~0.5 ms a call); run it only on windows around digit runs that
    # could hold a phone number (7-15 digits, not a date), and stop trying regions once every
    # digit run in the window is explained.
    windows: list[tuple[int, int, list[tuple[int, int]]]] = []
    for m in _PHONE_CANDIDATE.finditer(text):
        raw = m.group().strip()
        digits = sum(c.isdigit() for c in raw)
        if digits < 7 or _DATE_LIKE.fullmatch(raw):
            continue
        a, b = max(0, m.start() - 3), min(len(text), m.end() + 3)
        if windows and a <= windows[-1][1]:
            windows[-1] = (windows[-1][0], b, [*windows[-1][2], (m.start(), m.end())])
        else:
            windows.append((a, b, [(m.start(), m.end())]))
    for a, b, runs in windows:
        covered: list[tuple[int, int]] = []
        for region in PHONE_REGIONS:
            for match in phonenumbers.PhoneNumberMatcher(text[a:b], region, leniency=phonenumbers.Leniency.VALID):
                match = _Shifted(match.start + a, match.start + a + len(match.raw_string), match.raw_string)
                key = (match.start, match.end)
                if key in seen:
                    continue
                seen.add(key)
                covered.append(key)
                raw = match.raw_string
                # A bare date or a price is not a phone number even if the digits happen to be valid.
                if _DATE_LIKE.fullmatch(raw) or re.search(r"[$€£]", text[max(0, match.start - 1):match.start]):
                    continue
                start = match.start
                prefix = re.search(r"\+\d{1,3}[\s.-]*$", text[:start])
                if prefix and not raw.startswith("+"):
                    start = prefix.start()  # "+1 (800) ..." : keep the country code with the number
                out.append(Finding(start, match.end, "PHONE"))
            if all(any(s <= rs + 1 and e >= re_ - 1 for s, e in covered) for rs, re_ in runs):
                break
        out.extend(_possible_phones(text, runs, covered))
    return out


_PHONE_CUE = re.compile(r"\b(phone|call|cell|mobile|tel|text me|sms|whats\s?app|my number|reach me|ring)\b", re.IGNORECASE)


def _possible_phones(text: str, runs: list[tuple[int, int]], covered: list[tuple[int, int]]) -> list[Finding]:
    """Runs the VALID matcher left alone that are still phone-shaped: a +country prefix, or a
    phone word just before. Fictional/unassigned ranges (555, Ofcom's drama numbers) are not
    "valid" but are still someone's way to be reached in a message: redact rather than leak."""
    out = []
    for rs, re_ in runs:
        if any(s <= rs + 1 and e >= re_ - 1 for s, e in covered):
            continue
        raw = text[rs:re_].strip()
        if rs > 0 and text[rs - 1].isalnum():  # the tail of a tracking code, not a number of its own
            continue
        if not (raw.startswith("+") or _PHONE_CUE.search(text[max(0, rs - 30):rs])):
            continue
        if _DATE_LIKE.fullmatch(raw) or re.search(r"[$€£]", text[max(0, rs - 1):rs]):
            continue
        try:
            number = phonenumbers.parse(raw, None if raw.startswith("+") else PHONE_REGIONS[0])
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(number):
            out.append(Finding(rs, re_, "PHONE"))
    return out


def _find_context_secrets(text: str) -> list[Finding]:
    out = []
    for m in _PIN_CTX.finditer(text):
        out.append(Finding(m.start(1), m.end(1), "PIN"))
    for m in _OTP_CTX.finditer(text):
        if _NOT_OTP_BEFORE.search(text[:m.start()]):  # "zip code 94107", "promo code 2024"
            continue
        out.append(Finding(m.start(1), m.end(1), "OTP"))
    for rx in (_PASSWORD_CTX, _PASSWORD_BARE):
        for m in rx.finditer(text):
            token = m.group(1).strip("\"'“”")
            if token.lower().strip(".,!?") in _NOT_SECRET:
                continue
            out.append(Finding(m.start(1), m.start(1) + len(m.group(1).rstrip("\"'”")), "PASSWORD"))
    for m in _ACCOUNT_CTX.finditer(text):
        val = m.group(1)
        if len(_digits(val)) >= 6:
            end = m.start(1) + len(val.rstrip(" -"))
            out.append(Finding(m.start(1), end, "ACCOUNT"))
    return out


def _find_addresses(text: str) -> list[Finding]:
    out = [Finding(m.start(), m.end(), "ADDRESS") for m in _ADDRESS.finditer(text)]
    for m in _ADDRESS_CTX.finditer(text):
        out.append(Finding(m.start(1), m.end(1), "ADDRESS"))
    for rx in (_UK_POSTCODE, _US_ZIP_AFTER_STATE):
        out.extend(Finding(m.start(), m.end(), "ADDRESS") for m in rx.finditer(text))
    return out


def _find_long_numbers(text: str) -> list[Finding]:
    """Unexplained digit runs of 12+ digits: identifiers of something, treated as account numbers."""
    return [Finding(m.start(), m.end(), "ACCOUNT") for m in _LONG_DIGITS.finditer(text)]


_RECOGNIZERS = (
    _find_emails, _find_cards, _find_ibans, _find_ssn, _find_national_ids,
    _find_context_secrets, _find_phones, _find_addresses,
)


def find_pii(text: str) -> list[Finding]:
    """All non-overlapping personal-data findings in text, in order."""
    found: list[Finding] = []
    for rec in _RECOGNIZERS:
        found.extend(rec(text))
    # Long unexplained numbers only where no recognizer already explained the digits.
    found.extend(f for f in _find_long_numbers(text)
                 if all(f.end <= g.start or f.start >= g.end for g in found))
    # Resolve overlaps: most specific kind first, then the longest span.
    found.sort(key=lambda f: (-_SPECIFICITY[f.kind], -(f.end - f.start), f.start))
    chosen: list[Finding] = []
    for f in found:
        if f.end <= f.start:
            continue
        if all(f.end <= c.start or f.start >= c.end for c in chosen):
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
    "ADDRESS": "postal address",
}


def describe(kind: str) -> str:
    """Human-readable name of a PII kind (never includes the value)."""
    return _DESCRIPTIONS.get(kind, kind.lower())
