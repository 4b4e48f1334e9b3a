"""Hand-made features shared by training and run time: cue scores and surface statistics.

They are appended to the sentence embedding so the classifier can weigh a lexicon hit
against what the whole sentence means (a cue inside "how do refunds work" is not a dispute).
"""
from __future__ import annotations

import math
import re

import numpy as np

from guardrails.lexicons import (
    CUES,
    DID_NOT_HELP,
    GO_PUBLIC,
    MANIPULATION_CUES,
    NEGATIVE_CUES,
    Cue,
)

TOPICS = (
    "human_requested",
    "billing_dispute",
    "fraud_security",
    "account_access",
    "legal_threat",
    "safety_crisis",
    "privacy_request",
    "complaint_escalation",
)

EXTRA_NAMES = (*[f"cue_{t}" for t in TOPICS], "cue_manipulation", "go_public", "did_not_help",
               "shouting", "log_len", "question", "placeholder", "info_question")

_PLACEHOLDER = re.compile(r"\[(?:CARD|IBAN|SSN|NATIONAL_ID|PHONE|EMAIL|PIN|PASSWORD|OTP|ACCOUNT|ADDRESS)\]")


# "How do I reset my password?", "how are payments protected against fraud?": asking how
# something works, not reporting that it went wrong. The classifier weighs this against cues.
_INFO_QUESTION = re.compile(
    r"^\W*(?:(?:hi|hey|hello|team|ok|so|ugh|pls|please|excuse me|quick question|@\w+)\W+){0,3}(?:how (?:do|can|does|are|is|long|much|to|would|should)|where (?:do|can|is|are)|"
    r"what (?:is|are|does|do|happens|should)|when (?:do|does|will|is)|which|can i|could i|is (?:it|there) (?:a way|safe|possible)|"
    r"do you|does (?:your|the)|are (?:my|your|card|payments)|turn (?:on|off)|set ?up|enable|disable)\b",
    re.I,
)


def strip_idioms(text: str, category: str) -> str:
    """Blank out idioms that only look alarming ("this plan is killing me")."""
    for pattern in NEGATIVE_CUES.get(category, []):
        text = pattern.sub(lambda m: " " * len(m.group()), text)
    return text


def cue_hits(text: str, cues: list[Cue]) -> list[tuple[Cue, tuple[int, int]]]:
    """Every cue that matches, with the span of its first match."""
    hits = []
    lowered = text.lower()
    for cue in cues:
        m = cue.search(text, lowered)
        if m:
            hits.append((cue, (m.start(), m.end())))
    return hits


def topic_cue(text: str, topic: str) -> tuple[float, str, tuple[int, int] | None]:
    """Best cue score for one topic on text with its idioms removed."""
    hits = cue_hits(strip_idioms(text, topic), CUES[topic])
    if not hits:
        return 0.0, "", None
    cue, span = max(hits, key=lambda h: h[0].score)
    return cue.score, cue.label, span


def manipulation_cue(text: str) -> tuple[float, list[str], list[tuple[int, int]]]:
    """Noisy-or of every matching manipulation cue: several weak hints add up."""
    hits = cue_hits(text, MANIPULATION_CUES)
    miss = 1.0
    for cue, _ in hits:
        miss *= 1.0 - cue.score
    return 1.0 - miss, [c.label for c, _ in hits], [s for _, s in hits]


_LETTER = re.compile(r"[^\W\d_]")
_UPPER_LETTER = re.compile(r"[A-ZÀ-ÖØ-ÞΑ-ΩА-Я]")


def shouting_ratio(text: str) -> float:
    """Share of upper-case letters, 0 for messages too short to be shouting."""
    text = _PLACEHOLDER.sub("", text)
    letters = len(_LETTER.findall(text))  # regex counting: a Python loop per character is slow on pastes
    if letters < 12:
        return 0.0
    return len(_UPPER_LETTER.findall(text)) / letters


def topic_cues(text: str) -> dict[str, tuple[float, str, tuple[int, int] | None]]:
    """topic_cue for every topic, computed once per message and shared by features and verdicts."""
    return {t: topic_cue(text, t) for t in TOPICS}


def extra_features(text: str, cues: dict[str, tuple[float, str, tuple[int, int] | None]] | None = None) -> np.ndarray:
    """The hand-made part of the feature vector, in EXTRA_NAMES order (`cues` from topic_cues, if at hand)."""
    cues = cues or topic_cues(text)
    vals = [cues[t][0] for t in TOPICS]
    vals.append(manipulation_cue(text)[0])
    vals.append(1.0 if GO_PUBLIC.search(text) else 0.0)
    vals.append(1.0 if DID_NOT_HELP.search(text) else 0.0)
    vals.append(shouting_ratio(text))
    vals.append(min(math.log1p(len(text)) / 8.0, 1.0))
    vals.append(1.0 if "?" in text else 0.0)
    vals.append(1.0 if _PLACEHOLDER.search(text) else 0.0)
    vals.append(1.0 if _INFO_QUESTION.search(text) else 0.0)
    return np.asarray(vals, dtype=np.float32)
