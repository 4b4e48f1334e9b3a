"""The policy: thresholds and an ordered rule list (policy.yaml) turn an InputReport into an action."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field, ValidationError

from guardrails.codes import PRIORITY_ORDER, Action, Priority, Reason
from guardrails.report import InputReport, PolicyOutcome
from guardrails.verdict import Verdict

DEFAULT_POLICY = Path(__file__).resolve().parent / "policy.yaml"

TOPIC_REASONS = (
    "human_requested", "billing_dispute", "fraud_security", "account_access",
    "legal_threat", "safety_crisis", "privacy_request", "complaint_escalation",
)
SPECIAL_WHEN = ("manipulation", "abuse", "pii_public", "sensitive_data", "out_of_scope", "outside_kb")


class PolicyError(ValueError):
    """The policy file cannot be used; the message names the file and the problem."""


class Thresholds(BaseModel):
    topic: dict[str, float] = Field(default_factory=lambda: {r: 0.5 for r in TOPIC_REASONS})
    manipulation: float = 0.5
    # The sentence model reads many plain imperatives ("Please ensure all files are filtered") as
    # attacks, so it decides on its own only when this sure; below, the cues decide.
    manipulation_model_only: float = 0.95
    abuse: float = 0.7
    out_of_scope: float = 0.5
    scope_low: float = 0.35
    scope_high: float = 0.55


class ConversationKnobs(BaseModel):
    repeated_failure: float = 0.6
    max_unanswered_turns: int = 2
    sentiment_message: float = -0.6
    sentiment_trend: float = -0.5
    shouting_ratio: float = 0.7


class Rule(BaseModel):
    when: str
    action: Action
    public: Action | None = None  # action on a public post; None = same as action


class PiiKnobs(BaseModel):
    sensitive_kinds: list[str] = Field(default_factory=lambda: ["CARD", "IBAN", "SSN", "NATIONAL_ID", "PASSWORD", "PIN", "OTP"])
    escalate_in_dm: bool = True


class PolicyConfig(BaseModel):
    model_config = {"extra": "forbid"}

    version: Literal[1] = 1
    thresholds: Thresholds = Field(default_factory=Thresholds)
    conversation: ConversationKnobs = Field(default_factory=ConversationKnobs)
    rules: list[Rule]
    pii: PiiKnobs = Field(default_factory=PiiKnobs)
    priorities: dict[Reason, Priority]
    sla_minutes: dict[Priority, int]


class Policy:
    """Loaded policy; `decide` is pure and cheap."""

    def __init__(self, config: PolicyConfig, source: str = "<memory>") -> None:
        self.config = config
        self.source = source
        for rule in config.rules:
            if rule.when not in TOPIC_REASONS and rule.when not in SPECIAL_WHEN and rule.when != "repeated_failure":
                raise PolicyError(f"{source}: unknown rule `when: {rule.when}`")
        missing = [p for p in Priority if p not in config.sla_minutes]
        if missing:
            raise PolicyError(f"{source}: sla_minutes lacks {', '.join(missing)}")

    @classmethod
    def load(cls, path: Path | None = None) -> "Policy":
        """Read a policy YAML (default: guardrails/policy.yaml); PolicyError names what is wrong."""
        path = Path(path) if path is not None else DEFAULT_POLICY
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise PolicyError(f"cannot read policy file {path}: {exc.strerror or exc}") from None
        except yaml.YAMLError as exc:
            raise PolicyError(f"policy file {path} is not valid YAML: {str(exc).splitlines()[0]}") from None
        if not isinstance(raw, dict):
            raise PolicyError(f"policy file {path} must be a mapping at top level")
        try:
            config = PolicyConfig.model_validate(raw)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(x) for x in err["loc"])
            raise PolicyError(f"policy file {path}: {where}: {err['msg']}") from None
        return cls(config, str(path))

    # ------------------------------------------------------------------ knobs

    @property
    def thresholds(self) -> Thresholds:
        return self.config.thresholds

    @property
    def conversation(self) -> ConversationKnobs:
        return self.config.conversation

    def priority_for(self, reasons: list[Reason] | list[str]) -> Priority:
        """Highest priority among the reasons (normal when none is known)."""
        prios = [self.config.priorities.get(Reason(r), Priority.NORMAL) for r in reasons]
        return max(prios, key=lambda p: PRIORITY_ORDER[p], default=Priority.NORMAL)

    def sla_minutes(self, priority: Priority | str) -> int:
        return self.config.sla_minutes[Priority(priority)]

    # ------------------------------------------------------------------ decide

    def fired(self, report: InputReport, *, public: bool, unanswered_turns: int = 0) -> dict[str, list[Verdict]]:
        """Every rule condition that holds for this report, with the verdicts behind it."""
        conv = self.conversation
        out: dict[str, list[Verdict]] = {}

        def add(key: str, v: Verdict) -> None:
            out.setdefault(key, []).append(v)

        for v in report.verdicts:
            if not v.triggered:
                continue
            if v.check == "topic" and v.category in TOPIC_REASONS:
                add(v.category, v)
            elif v.check in ("manipulation", "abuse") or v.category in ("out_of_scope", "outside_kb"):
                add(v.category, v)
            elif v.check == "conversation" and v.category == "repeated_failure":
                add("repeated_failure", v)
            elif v.check == "conversation" and v.category in ("go_public", "sentiment_trend", "shouting"):
                # A blow-up risk only together with negative feeling: shouting "THANK YOU" is fine.
                if report.sentiment <= conv.sentiment_message or report.signals.sentiment_trend <= conv.sentiment_trend:
                    add("complaint_escalation", v)
        if unanswered_turns >= conv.max_unanswered_turns:
            add("repeated_failure", Verdict(
                check="conversation", category="repeated_failure", triggered=True, score=1.0,
                reason=f"{unanswered_turns} turns in a row without an answer",
            ))
        pii = report.triggered("pii")
        if pii and public:
            out["pii_public"] = pii
        sensitive = [v for v in pii if v.category.upper() in self.config.pii.sensitive_kinds]
        if sensitive and (public or self.config.pii.escalate_in_dm):
            out["sensitive_data"] = sensitive
        # Abuse with a real issue is a complaint, not something to decline.
        if "abuse" in out and any(k in out for k in TOPIC_REASONS if k != "complaint_escalation"):
            out.setdefault("complaint_escalation", []).extend(out.pop("abuse"))
        return out

    def decide(self, report: InputReport, *, public: bool, unanswered_turns: int = 0,
               clarifications: int = 0) -> PolicyOutcome:
        """Action for one message: the first rule (in policy order) whose condition holds."""
        fired = self.fired(report, public=public, unanswered_turns=unanswered_turns)
        if not fired:
            return PolicyOutcome()
        rule = next((r for r in self.config.rules if r.when in fired), None)
        if rule is None:
            return PolicyOutcome()
        action = (rule.public or rule.action) if public else rule.action
        if rule.when == "outside_kb" and clarifications >= 1:
            action = Action.DECLINE  # asked once already; do not loop on clarifications
        # All escalation reasons that fired, in policy order, the deciding one first.
        order = [r.when for r in self.config.rules]
        reasons = [Reason(k) for k in sorted(fired, key=order.index) if k in Reason.__members__.values()
                   and k in order]
        if rule.when in Reason.__members__.values():
            reasons.remove(Reason(rule.when))
            reasons.insert(0, Reason(rule.when))
        if rule.when == "pii_public" and Reason.SENSITIVE_DATA not in reasons:
            reasons.insert(0, Reason.SENSITIVE_DATA)
        evidence = [v for k in sorted(fired, key=order.index) for v in fired[k]]
        outcome = PolicyOutcome(action=action, evidence=evidence, public_move=public and action in (Action.ESCALATE, Action.MOVE_TO_PRIVATE), rule=rule.when)
        if action in (Action.ESCALATE, Action.MOVE_TO_PRIVATE):
            outcome.reasons = reasons
            if reasons and action == Action.ESCALATE:
                outcome.priority = self.priority_for([reasons[0], *reasons[1:]])
                outcome.sla_minutes = self.sla_minutes(outcome.priority)
        return outcome
