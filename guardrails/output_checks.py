"""Output checks on a composed reply: PII echo, unauthorised commitments, channel length."""
from __future__ import annotations

import re

from guardrails.codes import CHANNEL_LIMITS, Channel
from guardrails.pii import describe, find_pii
from guardrails.verdict import Span, Verdict
from guardrails.x_length import weighted_length


def _norm_value(v: str) -> str:
    digits = re.sub(r"\D", "", v)
    return digits if len(digits) >= 4 and len(digits) >= len(re.sub(r"\W", "", v)) * 0.6 else v.lower().strip()


def _pii_echo(reply: str, passages: list[str], pii_values: list[str]) -> Verdict:
    low = reply.lower()
    reply_digits = re.sub(r"\D", "", reply)
    echoed = 0
    for v in pii_values:
        n = _norm_value(v)
        if not n:
            continue
        if n.isdigit():
            if n in reply_digits:
                echoed += 1
        elif n in low:
            echoed += 1
    # Personal data the customer never sent and no passage contains was made up by the composer.
    passage_text = " ".join(passages).lower()
    new_kinds = []
    spans = []
    for f in find_pii(reply):
        value = reply[f.start:f.end].lower()
        if value not in passage_text:
            new_kinds.append(f.kind)
            spans.append(Span(start=f.start, end=f.end, kind=f.kind))
    triggered = echoed > 0 or bool(new_kinds)
    parts = []
    if echoed:
        parts.append(f"{echoed} redacted value(s) from the customer appear in the reply")
    if new_kinds:
        parts.append("reply contains " + ", ".join(sorted({describe(k) for k in new_kinds})) + " not found in any passage")
    return Verdict(check="output", category="pii_echo", triggered=triggered, score=1.0 if triggered else 0.0,
                   reason="; ".join(parts) or "no personal data in reply", spans=spans)


# Commitments only a human (or a KB passage that states them) may make.
_PROMISES = [
    (re.compile(r"\b(?:i|we)(?:'ve| have)?\s+(?:just\s+)?(?:issued|processed|approved|initiated|sent|granted|refunded|credited|reimbursed|waived|cancel+ed)\b.{0,40}\b(?:refund|credit|money|payment|fee|charge|compensation|voucher|replacement|order)\b", re.I), "grants a refund/credit"),
    (re.compile(r"\b(?:i|we)(?:'ll| will| can| are going to|'m going to| am going to)\s+(?:(?:happily|gladly|personally|immediately)\s+)?(?:refund|reimburse|compensate|credit|waive|cancel|replace|send you a (?:new|replacement|free))\b", re.I), "promises a refund/compensation"),
    (re.compile(r"\byou(?:'ll| will)\s+(?:get|receive|be (?:given|issued|sent))\s+(?:a\s+)?(?:full\s+|partial\s+)?(?:refund|credit|compensation|voucher|discount|replacement|free|your money back)", re.I), "promises the customer money/goods"),
    (re.compile(r"\b(?:refund|credit|compensation|voucher|reimbursement)\s+(?:has been|have been|was|is being)\s+(?:issued|processed|approved|sent|granted|applied)\b", re.I), "states a refund was granted"),
    (re.compile(r"\b(?:i|we)\s+(?:guarantee|promise|assure you|warrant)\b|\bguaranteed\b", re.I), "gives a guarantee"),
    (re.compile(r"\b(?:it(?:'s| is| was)\s+(?:entirely\s+|totally\s+|all\s+)?(?:our|my) fault|we (?:are|were) (?:at fault|liable|responsible for (?:the|your) (?:damage|loss|injury))|we admit|we accept (?:full )?(?:liability|responsibility)|we were negligent)", re.I), "admits liability"),
    (re.compile(r"\b(?:free of charge|at no (?:extra )?cost to you|on the house|(?:\d+|ten|twenty|fifty)\s?%\s+off|discount code|promo code|gift card|store credit)\b", re.I), "offers something of value"),
]
_CONTENT = re.compile(r"[a-z0-9]{3,}")
_STOP = frozenset("the and you your for with that this are was were have has will can our not but from they their there then been into about".split())


def _supported(sentence: str, passages: list[str]) -> bool:
    words = {w for w in _CONTENT.findall(sentence.lower()) if w not in _STOP}
    if not words:
        return False
    for p in passages:
        pw = set(_CONTENT.findall(p.lower()))
        if len(words & pw) / len(words) >= 0.6:
            return True
    return False


def _promises(reply: str, passages: list[str]) -> Verdict:
    sentences = [(m.start(), m.group()) for m in re.finditer(r"[^.!?\n]+[.!?]?", reply)]
    found: list[tuple[str, Span]] = []
    for start, sent in sentences:
        for rx, label in _PROMISES:
            m = rx.search(sent)
            if m and not _supported(sent, passages):
                found.append((label, Span(start=start + m.start(), end=start + m.end(), kind="promise")))
                break
    labels = sorted({label for label, _ in found})
    return Verdict(check="output", category="promise", triggered=bool(found), score=1.0 if found else 0.0,
                   reason=("unsupported commitment: " + ", ".join(labels)) if found else "no unsupported commitment",
                   spans=[s for _, s in found])


def _length(reply: str, channel: Channel, public: bool) -> Verdict:
    channel = Channel(channel)
    limit = CHANNEL_LIMITS[channel]
    n = weighted_length(reply) if channel == Channel.X_PUBLIC else len(reply)
    unit = "weighted chars" if channel == Channel.X_PUBLIC else "chars"
    return Verdict(check="output", category="length", triggered=n > limit, score=round(n / limit, 4),
                   reason=f"{n} {unit} (limit {limit} on {channel.value}{', public' if public else ''})")


def check_output(reply: str, *, passages: list[str], channel: Channel, public: bool,
                 pii_values: list[str]) -> list[Verdict]:
    """PII echo, unauthorised commitments and channel length of a reply; `.triggered` marks a problem."""
    return [_pii_echo(reply, passages, pii_values), _promises(reply, passages), _length(reply, channel, public)]
