"""What a run produced, turn by turn and case by case: plain data the metrics are computed from."""
from __future__ import annotations

from dataclasses import dataclass, field

from evals.schema import Expect


@dataclass
class Leak:
    """A customer's personal-data value found where it must not be. Never holds the value."""

    kind: str  # PII kind, e.g. "CARD"
    where: str  # "reply", "packet.summary", "logs", ...


@dataclass
class TurnResult:
    case_id: str
    turn: int  # 1-based position among the case's turns
    expect: Expect | None  # None: played, not scored
    action: str = ""
    reasons: list[str] = field(default_factory=list)
    priority: str | None = None
    citations: list[str] = field(default_factory=list)  # doc ids cited
    reply: str = ""  # every message the customer sees for this turn, joined (redacted for reports)
    messages: list[str] = field(default_factory=list)  # the separate messages (public reply, DM, parts)
    grounded: float | None = None
    latency_ms: float = 0.0
    leaks: list[Leak] = field(default_factory=list)  # leaks first found at this turn
    failures: list[str] = field(default_factory=list)  # why the turn failed its expectations
    error: str | None = None  # the engine raised (a bug: the engine must never raise)
    suite: str = ""
    tags: list[str] = field(default_factory=list)
    run: int = 0  # 0-based repetition index (--repeat)

    @property
    def scored(self) -> bool:
        return self.expect is not None

    @property
    def expected_actions(self) -> frozenset[str]:
        return self.expect.actions() if self.expect is not None else frozenset()

    @property
    def passed(self) -> bool:
        return not self.failures and not self.leaks and self.error is None


@dataclass
class CaseResult:
    case_id: str
    suite: str
    file: str
    tags: list[str]
    run: int = 0
    turns: list[TurnResult] = field(default_factory=list)
    kb_error: str | None = None

    @property
    def passed(self) -> bool:
        return all(t.passed for t in self.turns)
