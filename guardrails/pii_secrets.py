"""Secrets with no shape of their own, found by the words around them: PINs, one-time codes,
passwords, account numbers, dates of birth.

A password is only taken where the customer states one ("my password is X", "pwd: X"), and
only when X looks like a secret rather than a description of it: "password is wrong",
"password is hacked", "create a secure password using a combination of..." keep their words.
"""
from __future__ import annotations

import re

from guardrails.pii_finding import Finding

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
# A date of birth is identity-verification data: only after its own words (other dates are kept).
_DOB_CTX = re.compile(
    r"\b(?:dob|d\.o\.b\.?|date of birth|birth ?date|birthday|born(?: on)?)\s*(?:is|was|:|-)?\s*"
    r"(\d{1,4}[/.-]\d{1,2}[/.-]\d{2,4}|\d{1,2}(?:st|nd|rd|th)?\s+[A-Za-z]{3,9}\.?,?\s+\d{4}|"
    r"[A-Za-z]{3,9}\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4})",
    re.I,
)
# "password is X", "pwd: X", "password = X", "my password was 'X'"; the value may be quoted.
_PASSWORD_CTX = re.compile(
    r"\b(?:password|passwd|pwd|pw|passphrase)[ \t]*(?:is|was|:|=(?!=))[ \t]*([\"'“‘]?)(\S{3,64})",
    re.I,
)
# "password hunter2!" without a verb: only a token that cannot be an ordinary word.
_PASSWORD_BARE = re.compile(r"\b(?:password|passwd|pwd|pw)[ \t]+(\S{4,64})", re.I)
_TRAILING = ".,;:\"'”’)"

# Words that follow "password is" without being a password.
_NOT_SECRET = frozenset(
    """is was not wrong incorrect correct right expired invalid reset changed updated locked
    there here the a an my your this that it same different too still also now just only
    being been working broken ok okay fine good bad weak strong long short missing gone
    lost forgotten forgot required needed case sensitive rejected accepted saved stored
    ready set no yes and or but when what which who how why where for to of in on at by
    with from as if so then than very really please help again anymore any every
    hacked compromised leaked stolen known unknown secure safe unsafe new old easy hard
    simple complex blank empty visible hidden encrypted protected mine yours his hers theirs
    ours something nothing anything everything actually definitely probably already
    definitely somehow suddenly apparently supposedly""".split()
)
# Endings of words that describe a password rather than being one (hacked, expiring, easily,
# unusable, powerful, useless, ...).
_DESCRIPTIVE = re.compile(r"[a-z]+(?:ed|ing|ly|able|ible|ful|less|ous|ive|ent|ant|est|er)", re.I)


def _looks_secret(token: str) -> bool:
    """Letters with digits, a symbol inside a word, or an inner capital: not how ordinary words
    (or a bracketed aside) are written."""
    t = token.strip("()[]{}<>.,!?:;\"'“”‘’")
    return bool(
        (re.search(r"\d", t) and re.search(r"[^\W\d_]", t))
        or re.search(r"\w[^\w\s'’-]+\w", t)
        or re.search(r"[a-z][A-Z]", t)
    )


def find_secrets(text: str) -> list[Finding]:
    out = []
    for m in _PIN_CTX.finditer(text):
        out.append(Finding(m.start(1), m.end(1), "PIN"))
    for m in _OTP_CTX.finditer(text):
        if _NOT_OTP_BEFORE.search(text[:m.start()]):  # "zip code 94107", "promo code 2024"
            continue
        out.append(Finding(m.start(1), m.end(1), "OTP"))
    for m in _PASSWORD_CTX.finditer(text):
        quoted, token = m.group(1), m.group(2)
        word = token.lower().strip(".,!?;:\"'“”‘’")
        if not quoted and not _looks_secret(token) and not word.isdigit():
            if word in _NOT_SECRET or _DESCRIPTIVE.fullmatch(word) or not word.isalnum():
                continue
        out.append(Finding(m.start(2), m.start(2) + len(token.rstrip(_TRAILING)), "PASSWORD"))
    for m in _PASSWORD_BARE.finditer(text):
        if _looks_secret(m.group(1)):
            # "!" and "?" may be part of the password: redact them with it.
            out.append(Finding(m.start(1), m.start(1) + len(m.group(1).rstrip(_TRAILING)), "PASSWORD"))
    out += [Finding(m.start(1), m.end(1), "DOB") for m in _DOB_CTX.finditer(text)]
    for m in _ACCOUNT_CTX.finditer(text):
        val = m.group(1)
        if len(re.sub(r"\D", "", val)) >= 6:
            end = m.start(1) + len(val.rstrip(" -"))
            out.append(Finding(m.start(1), end, "ACCOUNT"))
    return out
