"""Pydantic models of the suite format (specs/eval-suite.md). Unknown fields are errors.

Scalars where the spec allows "one code, or a list" are normalised to lists here so the
rest of the code (and the error messages) only ever deal with lists.
"""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from guardrails.codes import Action, Channel, Priority, Reason

METRIC_NAMES: tuple[str, ...] = (
    "action_accuracy",
    "answer_accuracy",
    "containment_rate",
    "escalation_precision",
    "escalation_recall",
    "escalation_f1",
    "reason_accuracy",
    "citation_hit_rate",
    "groundedness",
    "pii_leaks",
    "over_escalation_rate",
    "latency_ms_p50",
    "latency_ms_p95",
    # Extensions (backward compatible): share of cases whose every scored turn passed; share of
    # turns expecting exactly `answer` that got `clarify` instead.
    "case_pass_rate",
    "clarify_rate",
    # turns whose reply cited or quoted an internal (agent-only) document (issue 21)
    "internal_leaks",
)

# Metrics where a smaller value is better: a threshold on them is a ceiling, not a floor.
LOWER_IS_BETTER = frozenset({"pii_leaks", "internal_leaks", "over_escalation_rate", "clarify_rate", "latency_ms_p50", "latency_ms_p95"})


def _as_list(value: Any) -> Any:
    """`x` -> `[x]`; lists and None pass through (the spec allows one value or a list)."""
    if value is None or isinstance(value, list):
        return value
    if isinstance(value, tuple):
        return list(value)
    return [value]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", use_enum_values=False)


class Expect(_Strict):
    """What a turn must show. Absent keys are not checked."""

    action: list[Action] | None = None
    reason: list[Reason] | None = None
    priority: list[Priority] | None = None
    cites: list[str] | None = None
    cites_any: list[str] | None = None
    contains_any: list[str] | None = None
    contains_all: list[str] | None = None
    not_contains: list[str] | None = None
    max_chars: int | None = Field(default=None, ge=1)
    # true, or the values (strings) that must appear nowhere besides the ones the detector finds.
    no_pii_echo: bool | list[str] | None = None

    @field_validator(
        "action", "reason", "priority", "cites", "cites_any",
        "contains_any", "contains_all", "not_contains", mode="before",
    )
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return _as_list(value)

    def actions(self) -> frozenset[str]:
        return frozenset(a.value for a in self.action or ())


class TurnSpec(_Strict):
    user: str
    expect: Expect | None = None


class HistoryLine(_Strict):
    role: str = Field(pattern="^(user|bot|agent)$")
    text: str


class Customer(_Strict):
    id: str | None = None
    handle: str | None = None
    name: str | None = None
    locale: str | None = None


class CaseDefaults(_Strict):
    """Every optional case field; merged shallowly into each case (the case's value wins)."""

    tags: list[str] | None = None
    channel: Channel | None = None
    customer: Customer | None = None
    history: list[HistoryLine] | None = None
    # Extension: a comment on a public post (any channel) gets the public-reply policy.
    public: bool | None = None

    @field_validator("tags", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return _as_list(value)


class CaseSpec(_Strict):
    id: str
    tags: list[str] = Field(default_factory=list)
    channel: Channel = Channel.WEBCHAT  # the generic channel when a suite names none
    customer: Customer = Field(default_factory=Customer)
    history: list[HistoryLine] = Field(default_factory=list)
    public: bool = False
    turns: list[TurnSpec] = Field(min_length=1)

    @field_validator("tags", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return _as_list(value)

    @field_validator("id", mode="before")
    @classmethod
    def _id_text(cls, value: Any) -> Any:
        # YAML reads `id: 12` as an int; an id is a name, so accept it as text.
        return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


class SuiteHeader(_Strict):
    """The keys of a YAML suite file other than `cases` (validated before the cases)."""

    suite: str | None = None
    defaults: CaseDefaults | None = None
    thresholds: dict[str, float] = Field(default_factory=dict)
    cases: list[Any] = Field(default_factory=list)
