"""Routine how-to questions that mention sensitive words go on to the KB; real incidents escalate.

Uses the real embedding model and the committed classifier weights (guardrails/model/topics.npz).
"""
import pytest

from guardrails.codes import Action, Reason
from guardrails.input_checks import InputGuard
from guardrails.policy import Policy


@pytest.fixture(scope="module")
def guard(embedder):
    g = InputGuard(Policy.load(), embedder.embed)
    assert g.classifier is not None, "guardrails/model/topics.npz missing: run python -m guardrails.train"
    return g


def outcome(guard, text, public=False):
    return guard.policy.decide(guard.check(text, public=public), public=public)


# Self-service questions the sample KB answers (knowledge/sample/account/*, payments): no escalation.
ROUTINE = [
    "what's the way to reset my password",
    "I forgot my password",
    "where can I change the email address on my account?",
    "turn on two factor authentication",
    "how do I enable 2fa",
    "how is my card protected from fraud when I pay on your site?",
    "I'm an attorney and on calls all day, which headset has the clearest microphone?",
    "can I pay for my order with klarna",
]


@pytest.mark.parametrize("text", ROUTINE)
def test_routine_account_and_payment_questions_are_not_escalated(guard, text):
    o = outcome(guard, text)
    assert o.action != Action.ESCALATE, (text, o.reasons)


# Each real incident with the reason an agent should see first.
INCIDENTS = [
    ("agent plz", Reason.HUMAN_REQUESTED),
    ("an actual person please", Reason.HUMAN_REQUESTED),
    ("pass me on to somebody", Reason.HUMAN_REQUESTED),
    ("is there a real human here", Reason.HUMAN_REQUESTED),
    ("the bot keeps looping, let me chat with someone", Reason.HUMAN_REQUESTED),
    ("block my debit card now", Reason.FRAUD_SECURITY),
    ("I've lost my bank card", Reason.FRAUD_SECURITY),
    ("a stranger spent money from my account", Reason.FRAUD_SECURITY),
    ("there's a charge on my statement that I didn't make", Reason.FRAUD_SECURITY),
    ("I reset my password twice and I'm still locked out", Reason.ACCOUNT_ACCESS),
    ("I can't sign in and the reset link never arrives", Reason.ACCOUNT_ACCESS),
    ("the charger is sparking next to my son's bed", Reason.SAFETY_CRISIS),
    ("I'll come to your office and hurt your staff", Reason.SAFETY_CRISIS),
    ("I'm reporting your company to the consumer watchdog", Reason.LEGAL_THREAT),
    ("afterpay took my payment twice for the same headphones", Reason.BILLING_DISPUTE),
]


@pytest.mark.parametrize("text,reason", INCIDENTS)
def test_incidents_escalate_with_the_right_first_reason(guard, text, reason):
    o = outcome(guard, text)
    assert o.action == Action.ESCALATE, (text, o.rule)
    assert o.reasons[0] == reason, (text, o.reasons)


def test_unrecognised_charge_is_fraud_not_a_billing_dispute(guard):
    o = outcome(guard, "what is this payment to you, I don't recognise it")
    assert o.action == Action.ESCALATE and o.reasons[0] == Reason.FRAUD_SECURITY
