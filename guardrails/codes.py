"""Action, escalation-reason, priority and channel codes of the public eval contract.

They live in guardrails/ because the policy is what maps verdicts to them and
guardrails/ may not import agent/; agent/ re-exports them.
"""
from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    ANSWER = "answer"
    CLARIFY = "clarify"
    ESCALATE = "escalate"
    DECLINE = "decline"
    MOVE_TO_PRIVATE = "move_to_private"
    RELAY = "relay"


class Reason(StrEnum):
    HUMAN_REQUESTED = "human_requested"
    BILLING_DISPUTE = "billing_dispute"
    FRAUD_SECURITY = "fraud_security"
    ACCOUNT_ACCESS = "account_access"
    LEGAL_THREAT = "legal_threat"
    SAFETY_CRISIS = "safety_crisis"
    PRIVACY_REQUEST = "privacy_request"
    COMPLAINT_ESCALATION = "complaint_escalation"
    REPEATED_FAILURE = "repeated_failure"
    NO_ANSWER = "no_answer"
    SENSITIVE_DATA = "sensitive_data"
    OTHER = "other"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


PRIORITY_ORDER = {Priority.LOW: 0, Priority.NORMAL: 1, Priority.HIGH: 2, Priority.URGENT: 3}


class Channel(StrEnum):
    MESSENGER = "messenger"
    INSTAGRAM = "instagram"
    WHATSAPP = "whatsapp"
    X_DM = "x_dm"
    X_PUBLIC = "x_public"
    TELEGRAM = "telegram"
    WEBCHAT = "webchat"


# Channels whose messages are public by nature; a connector may also flag a single
# message public (a comment on a post) with InboundMessage.public.
PUBLIC_CHANNELS = frozenset({Channel.X_PUBLIC})

# Hard per-message limits of each channel's send API (characters; X public is weighted).
CHANNEL_LIMITS = {
    Channel.X_PUBLIC: 280,
    Channel.INSTAGRAM: 1000,
    Channel.MESSENGER: 2000,
    Channel.WHATSAPP: 4096,
    Channel.TELEGRAM: 4096,
    Channel.X_DM: 10000,
    Channel.WEBCHAT: 4000,
}
