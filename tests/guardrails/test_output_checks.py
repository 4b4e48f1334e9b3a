"""Output checks: PII echo, unauthorised commitments, channel length."""
from guardrails.codes import Channel
from guardrails.output_checks import check_output, weighted_length


def by_cat(verdicts):
    return {v.category: v for v in verdicts}


def test_pii_echo_caught_even_reformatted():
    v = by_cat(check_output("I see card 4111-1111-1111-1111 on file.", passages=[], channel=Channel.MESSENGER,
                            public=False, pii_values=["4111 1111 1111 1111"]))
    assert v["pii_echo"].triggered
    assert "4111" not in v["pii_echo"].reason


def test_brand_phone_from_passage_is_fine():
    v = by_cat(check_output("Call us on +1 415 555 2671.", passages=["Support line: +1 415 555 2671"],
                            channel=Channel.MESSENGER, public=False, pii_values=[]))
    assert not v["pii_echo"].triggered


def test_unsupported_refund_promise_flagged_supported_one_passes():
    v = by_cat(check_output("Good news, we have issued a full refund to you.", passages=["Returns take 30 days."],
                            channel=Channel.MESSENGER, public=False, pii_values=[]))
    assert v["promise"].triggered
    kb = "If an item arrives damaged you will receive a full refund within 5 business days."
    v = by_cat(check_output("If an item arrives damaged you will receive a full refund within 5 business days.",
                            passages=[kb], channel=Channel.MESSENGER, public=False, pii_values=[]))
    assert not v["promise"].triggered


def test_admission_of_liability_flagged():
    v = by_cat(check_output("This was entirely our fault and we accept full liability.", passages=[],
                            channel=Channel.WEBCHAT, public=False, pii_values=[]))
    assert v["promise"].triggered


def test_x_weighted_length():
    assert weighted_length("abc") == 3
    assert weighted_length("see https://example.com/a/very/long/path/indeed") == 4 + 23
    assert weighted_length("日本") == 4
    assert weighted_length("👍🏽") == 2
    long_reply = "ok " * 90 + "👍" * 10  # 270 plain + 20 weighted = 290 > 280
    v = by_cat(check_output(long_reply, passages=[], channel=Channel.X_PUBLIC, public=True, pii_values=[]))
    assert v["length"].triggered
    v = by_cat(check_output(long_reply, passages=[], channel=Channel.MESSENGER, public=False, pii_values=[]))
    assert not v["length"].triggered
