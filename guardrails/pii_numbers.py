"""Recognizers for numbers with a checksum or a registry: payment cards, IBANs, national ids, IPs.

Checksums and registries come from python-stdnum (IBAN country formats from the SWIFT
registry with mod-97, US SSN ranges and its list of never-valid numbers, Spanish DNI/NIE,
Aadhaar's Verhoeff, Canadian SIN's Luhn). A value only gets a sensitive kind when its
checksum holds over the WHOLE token the customer wrote: a prefix that happens to pass is not
the value (about 1 in 97 random tails pass mod-97, 1 in 10 pass Luhn). An IBAN-shaped token
that fails its check is still somebody's (mistyped) account number: it is redacted as
ACCOUNT, which opens no case.
"""
from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from importlib import resources

from stdnum import iban as std_iban
from stdnum import luhn as std_luhn
from stdnum.ca import sin as std_sin
from stdnum.es import dni as std_dni
from stdnum.es import nie as std_nie
from stdnum.in_ import aadhaar as std_aadhaar
from stdnum.us import ssn as std_ssn

from guardrails.pii_finding import Finding, cue_before, order_number_at


def luhn_ok(digits: str) -> bool:
    """Luhn checksum (payment cards, Canadian SIN)."""
    return digits.isdigit() and std_luhn.is_valid(digits)


@lru_cache(maxsize=1)
def iban_lengths() -> dict[str, int]:
    """IBAN length of every country in python-stdnum's copy of the SWIFT registry."""
    out: dict[str, int] = {}
    text = (resources.files("stdnum") / "iban.dat").read_text(encoding="utf-8")
    for line in text.splitlines():
        m = re.match(r'([A-Z]{2}) .*bban="([^"]+)"', line)
        if m:
            out[m.group(1)] = 4 + sum(int(n) for n in re.findall(r"(\d+)!", m.group(2)))
    return out


def iban_ok(value: str) -> bool:
    """A whole IBAN (separators allowed): registry format and length, mod-97."""
    compact = re.sub(r"[ .-]", "", value).upper()
    # check_country=False: the registry format and mod-97 are what makes an IBAN; some
    # countries' inner bank check digits (ES, BE, ...) are not on every valid-looking example.
    return iban_lengths().get(compact[:2]) == len(compact) and std_iban.is_valid(compact, check_country=False)


# ---------------------------------------------------------------- payment cards

# Issuer prefixes (IIN ranges) and the lengths each issues. Without a card word nearby a
# Luhn-valid number must also start like a card of its length: "cancel purchase
# 113542617735902" passes Luhn but no scheme issues 15 digits starting with 11.
_IIN: tuple[tuple[str, str, tuple[int, ...]], ...] = (
    ("4", "4", (13, 16, 19)),                       # Visa
    ("51", "55", (16,)), ("2221", "2720", (16,)),   # Mastercard
    ("34", "34", (15,)), ("37", "37", (15,)),       # Amex
    ("300", "305", (14, 16, 19)), ("3095", "3095", (14, 16)), ("36", "36", (14, 16, 19)),
    ("38", "39", (14, 16, 19)),                     # Diners
    ("6011", "6011", (16, 19)), ("644", "649", (16, 19)), ("65", "65", (16, 19)),  # Discover
    ("35", "35", (16, 17, 18, 19)), ("2131", "2131", (15,)), ("1800", "1800", (15,)),  # JCB
    ("50", "50", (13, 16, 19)), ("56", "69", (13, 16, 19)),  # Maestro, UnionPay 62, RuPay 60
    ("2200", "2204", (16, 17, 18, 19)),             # Mir
    ("81", "82", (16,)), ("508", "508", (16,)),     # RuPay
    ("9792", "9792", (16,)),                        # Troy
)

_CARD_CANDIDATE = re.compile(r"(?<![\w.,-])\d(?:[ -]?\d){11,18}(?![\w-]|[.,]\d)")
_CARD_CUE = re.compile(
    r"\b(?:card|visa|master\s?card|amex|american express|maestro|discover|debit|credit|cc|jcb|diners|"
    r"unionpay|mir|rupay|pan)\b",
    re.I,
)


def _iin_ok(digits: str) -> bool:
    n = len(digits)
    for lo, hi, lengths in _IIN:
        head = digits[:len(lo)]
        if n in lengths and lo <= head <= hi:
            return True
    return False


def _card_grouping_ok(raw: str) -> bool:
    """Cards are written whole or in the issuers' groups: 4-4-4-4(-3), 4-6-5, 4-6-4. Eight-digit
    groups (binary bytes) or 3-3-4 runs (phones) are something else."""
    groups = re.split(r"[ -]", raw)
    if len(groups) == 1:
        return True
    if len({c for c in raw if not c.isdigit()}) > 1:
        return False
    sizes = [len(g) for g in groups]
    if sizes[:-1] == [4] * (len(sizes) - 1) and 1 <= sizes[-1] <= 4:
        return True
    return sizes in ([4, 6, 5], [4, 6, 4])


def find_cards(text: str) -> list[Finding]:
    out = []
    for m in _CARD_CANDIDATE.finditer(text):
        raw = m.group()
        digits = re.sub(r"\D", "", raw)
        if not (12 <= len(digits) <= 19) or len(set(digits)) == 1 or not luhn_ok(digits):
            continue
        if not _card_grouping_ok(raw) or order_number_at(text, m.start()):
            continue
        if _iin_ok(digits) or cue_before(text, m.start(), _CARD_CUE, 50) is not None:
            out.append(Finding(m.start(), m.end(), "CARD"))
    return out


# ---------------------------------------------------------------- IBAN

# Country code, check digits, then letters/digits grouped by single spaces, dashes or dots.
_IBAN_CANDIDATE = re.compile(r"\b([A-Za-z]{2})(\d{2})((?:[ .-]?[A-Za-z0-9]){10,40})", re.I)


def _more_groups(raw: str, end: int, *, lone_letter: bool = True) -> int:
    """End of the writer's grouping that continues after raw[:end]: while the group before was a
    full group of 4, a following group of 1-4 letters/digits after the same separator belongs to
    the same value if it has a digit, or is in capitals like the value ("... CAKP S731 1")."""
    seps = {c for c in raw[:end] if c in " .-"} or set(raw[end:end + 1]) & set(" .-")
    capitals = raw[:2].isupper()
    while True:
        last_group = re.split(r"[ .-]", raw[:end])[-1]
        more = re.match(r"([ .-])([A-Za-z0-9]{1,4})(?![A-Za-z0-9])", raw[end:])
        if not (more and more.group(1) in seps and len(last_group) == 4):
            return end
        group = more.group(2)
        # After a complete IBAN a lone capital is a word ("... 8901 X in a sentence"), not a group.
        if not (any(c.isdigit() for c in group) or (capitals and group.isupper() and (lone_letter or len(group) >= 2))):
            return end
        end += more.end()


def find_ibans(text: str) -> list[Finding]:
    out = []
    lengths = iban_lengths()
    pos = 0
    while (m := _IBAN_CANDIDATE.search(text, pos)) is not None:
        # The candidate may have swallowed words (and another IBAN) after the value: go on
        # from the end of what this one used, not from the end of the match.
        pos = m.start() + 4
        cc = m.group(1).upper()
        want = lengths.get(cc)
        if want is None:
            continue
        raw = m.group()
        # The registry fixes the length: take exactly that many letters/digits, and only if
        # the token ends there (a longer token is not this IBAN, whatever its prefix).
        n, end = 0, None
        for i, ch in enumerate(raw):
            if ch.isalnum():
                n += 1
                if n == want:
                    end = i + 1
                    break
        if end is None or (end < len(raw) and raw[end].isalnum()):
            # Shorter or longer than this country's IBANs: not a valid IBAN, but with enough
            # digits still somebody's (mistyped) account number.
            first = len(re.match(r"[A-Za-z0-9]*", raw).group())
            token = raw[:_more_groups(raw, first)]  # not the words swallowed after it
            if sum(c.isdigit() for c in token) >= 10:
                out.append(Finding(m.start(), m.start() + len(token), "ACCOUNT"))
                pos = m.start() + len(token)
            continue
        # "AD12 0001 2030 2003 5910 0100 7311": the writer's groups go on past the registry
        # length, so the whole run is the value (mistyped), not its valid-looking prefix.
        stop = _more_groups(raw, end, lone_letter=False)
        if stop > end:
            out.append(Finding(m.start(), m.start() + stop, "ACCOUNT"))
            pos = m.start() + stop
            continue
        kind = "IBAN" if iban_ok(raw[:end]) else "ACCOUNT"
        out.append(Finding(m.start(), m.start() + end, kind))
        pos = m.start() + end
    return out


# ---------------------------------------------------------------- US SSN

_SSN = re.compile(r"(?<![\w.-])(\d{3})([- .])(\d{2})\2(\d{4})(?![\w-]|\.\d)")
_SSN_CTX = re.compile(
    r"\b(?:ssn|social security(?: number| no\.?| #)?|social)\s*(?:number|no\.?|#)?\s*(?:is|:|=|-)?\s*"
    r"(\d{3}[- .]?\d{2}[- .]?\d{4})\b",
    re.I,
)


def find_ssns(text: str) -> list[Finding]:
    out = [Finding(m.start(), m.end(), "SSN") for m in _SSN.finditer(text)
           if std_ssn.is_valid(m.group(1) + m.group(3) + m.group(4))]
    out += [Finding(m.start(1), m.end(1), "SSN") for m in _SSN_CTX.finditer(text)
            if std_ssn.is_valid(re.sub(r"\D", "", m.group(1)))]
    return out


# ---------------------------------------------------------------- national ids

_NINO = re.compile(r"\b(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b", re.I)
_DNI = re.compile(r"\b([XYZ]?\d{7,8})[- ]?([A-Za-z])\b")
_AADHAAR = re.compile(r"(?<![\w-])[2-9]\d{3}[ -]?\d{4}[ -]?\d{4}(?![\w-])")
_AADHAAR_CUE = re.compile(r"aadhaar|aadhar|uid|\bid\b|identity", re.I)
_SIN_CTX = re.compile(r"\b(?:sin|social insurance(?: number)?)\s*(?:number|no\.?|#)?\s*(?:is|:)?\s*(\d{3}[- ]?\d{3}[- ]?\d{3})\b", re.I)
# An id word, then its value: letters and digits, at least one digit, 5-20 long.
_ID_VALUE = r"([A-Za-z]{0,3}\d[A-Za-z0-9-]{4,18})\b"
_ID_CTX = re.compile(
    r"\b(?:passport|national id|national identity|ni number|nin|id card|identity card|driver'?s? licen[cs]e|"
    r"driving licen[cs]e|licen[cs]e|tax id|tin|bsn|nino|national insurance|id)\s*(?:number|no\.?|#|num)?\s*"
    r"(?:is|:|=|-)?\s*" + _ID_VALUE,
    re.I,
)
# The strong id words may stand a clause away from the value ("my licence so here is the
# number: D610-..."), on the same sentence.
_ID_FAR = re.compile(
    r"\b(?:passport|licen[cs]e|national id|national insurance|identity card|id card|tax id)\b"
    r"[^\n.!?\d]{0,80}?(?:number|no\.?|#|is|:|=)\s*" + _ID_VALUE,
    re.I,
)


def find_national_ids(text: str) -> list[Finding]:
    out = [Finding(m.start(), m.end(), "NATIONAL_ID") for m in _NINO.finditer(text)
           if any(c.isdigit() for c in m.group())]
    for m in _DNI.finditer(text):
        value = m.group(1) + m.group(2)
        if std_dni.is_valid(value) or std_nie.is_valid(value):
            out.append(Finding(m.start(), m.end(), "NATIONAL_ID"))
    for m in _AADHAAR.finditer(text):
        if std_aadhaar.is_valid(m.group()) and cue_before(text, m.start(), _AADHAAR_CUE, 50) is not None:
            out.append(Finding(m.start(), m.end(), "NATIONAL_ID"))
    for m in _SIN_CTX.finditer(text):
        if std_sin.is_valid(m.group(1)):
            out.append(Finding(m.start(1), m.end(1), "NATIONAL_ID"))
    for rx in (_ID_CTX, _ID_FAR):
        out += [Finding(m.start(1), m.end(1), "NATIONAL_ID") for m in rx.finditer(text)]
    return out


# ---------------------------------------------------------------- IP addresses

_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")
_IPV6 = re.compile(r"(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])")
_VERSION_CUE = re.compile(r"\b(?:v|ver|version|build|release|firmware|ios|android|app)\s*\.?\s*$", re.I)


def find_ips(text: str) -> list[Finding]:
    """IPv4/IPv6 addresses (a version number like "version 10.2.1.4" is not one)."""
    out = []
    for rx in (_IPV4, _IPV6):
        for m in rx.finditer(text):
            raw = m.group()
            if rx is _IPV6 and (raw.count(":") < 2 or sum(c.isalnum() for c in raw) < 6):
                continue  # "10:30:00" style times have too few hex digits or parse below
            try:
                ip = ipaddress.ip_address(raw)
            except ValueError:
                continue
            if not ip.is_global:
                continue  # 127.0.0.1, 192.168.x.x, 10.x: nobody's address on the internet
            if _VERSION_CUE.search(text[max(0, m.start() - 12):m.start()]):
                continue
            out.append(Finding(m.start(), m.end(), "IP"))
    return out


# ---------------------------------------------------------------- long identifiers

_LONG_DIGITS = re.compile(r"(?<![\w.$€£-])\d(?:[ -]?\d){11,}(?![\w])")


def find_long_numbers(text: str) -> list[Finding]:
    """Digit runs of 12+ digits no other recognizer explains: identifiers of something, treated as
    account numbers, except right after an order/tracking/reference word (kept for the bot)."""
    out = []
    for m in _LONG_DIGITS.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        # Longer than any account/card number, or only 0s and 1s: data (binary bytes), not an id.
        if len(digits) > 34 or set(digits) <= {"0", "1"} and len(digits) > 19:
            continue
        if not order_number_at(text, m.start()):
            out.append(Finding(m.start(), m.end(), "ACCOUNT"))
    return out
