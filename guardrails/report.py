"""Models that input checks and the policy exchange: Redaction, HistoryItem, InputReport, PolicyOutcome."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from guardrails.codes import Action, Priority, Reason
from guardrails.verdict import Span, Verdict


class Redaction(BaseModel):
    """Text with personal data replaced by typed placeholders ([CARD], [PHONE], ...).

    `spans` point into the ORIGINAL text; `values` holds the removed strings for output
    checks (PII echo) only: it is excluded from serialisation and repr, so it never
    reaches logs, stores or reports.
    """

    text: str
    spans: list[Span] = Field(default_factory=list)
    kinds: list[str] = Field(default_factory=list)  # distinct kinds, in order of first appearance
    values: list[str] = Field(default_factory=list, exclude=True, repr=False)

    @property
    def found(self) -> bool:
        return bool(self.spans)


class HistoryItem(BaseModel):
    """One earlier turn of the conversation as the guard sees it (text already redacted)."""

    role: Literal["user", "bot"]
    text: str
    action: str | None = None  # the bot's action for that turn, when role == "bot"


class Signals(BaseModel):
    """Conversation-level numbers the policy thresholds act on."""

    repeated_failure: float = 0.0  # 0..1: customer says it did not help / asks the same again
    sentiment_trend: float = 0.0  # mean compound of the last user turns incl. this one (-1..1)
    shouting: float = 0.0  # share of upper-case letters in long enough messages
    go_public_threat: bool = False
    user_turns: int = 0  # user turns in history + this one


class InputReport(BaseModel):
    """Everything the input checks found about one customer message."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    redacted: Redaction
    verdicts: list[Verdict] = Field(default_factory=list)  # all checks; .triggered tells
    sentiment: float = 0.0  # VADER compound of this message (-1..1)
    signals: Signals = Field(default_factory=Signals)
    public: bool = False
    # Small talk only: "greeting", "thanks" (incl. "ok", "great"), "goodbye", "yes", "no"; else "".
    courtesy: str = ""
    # Embedding of redacted.text (L2-normalised) so the engine can reuse it; never serialised.
    embedding: Any = Field(default=None, exclude=True, repr=False)
    timings_ms: dict[str, float] = Field(default_factory=dict)

    def triggered(self, check: str | None = None) -> list[Verdict]:
        """Triggered verdicts, optionally only those of one check."""
        return [v for v in self.verdicts if v.triggered and (check is None or v.check == check)]

    def score(self, category: str) -> float:
        """Highest score any verdict gave this category (0 when none)."""
        return max((v.score for v in self.verdicts if v.category == category), default=0.0)


class PolicyOutcome(BaseModel):
    """What the policy decided for a message. action None means: go on and answer."""

    action: Action | None = None
    reasons: list[Reason] = Field(default_factory=list)
    priority: Priority | None = None
    sla_minutes: int | None = None
    evidence: list[Verdict] = Field(default_factory=list)
    public_move: bool = False  # public post: reply briefly and move to a private channel
    rule: str = ""  # which policy rule fired (for the packet and for debugging)
