"""The grounding gate: supported sentences pass; invented numbers, facts and negations fail."""
from __future__ import annotations

from guardrails.grounding import check_grounding, numbers_in, split_sentences

PASSAGE = ("You have 30 days from delivery to return a product. Refunds reach your card within "
           "5 to 10 business days. Return labels cost €4.95 within the EU.")


def test_copied_and_paraphrased_sentences_are_supported():
    result = check_grounding("You have thirty days from delivery to return a product. Happy to help!", [PASSAGE])
    assert result.ok and result.share == 1.0
    assert result.sentences[1].neutral  # courtesy carries no claim


def test_invented_number_is_rejected():
    result = check_grounding("You have 90 days from delivery to return a product.", [PASSAGE])
    assert not result.ok
    assert result.unsupported[0].missing_numbers == ["90"]


def test_invented_fact_and_negation_are_rejected():
    invented = check_grounding("We refund in cash at any store and give a free gift voucher.", [PASSAGE])
    negated = check_grounding("Return labels are not charged within the EU.", [PASSAGE])
    assert not invented.ok and invented.share == 0.0
    assert not negated.ok


def test_reply_without_claims_or_passages_is_not_grounded():
    assert not check_grounding("Thanks! Hope that helps.", [PASSAGE]).ok
    assert not check_grounding("You have 30 days.", []).ok


def test_numbers_and_sentences_are_normalised():
    assert {"30", "4.95"} <= numbers_in("thirty days, €4.95")
    assert split_sentences("Go to Account > Orders. Then pick e.g. the return.\n- Pack it") == [
        "Go to Account > Orders.", "Then pick e.g. the return.", "Pack it"]


def test_a_quoted_negative_sentence_is_supported_by_itself_not_judged_by_a_neighbour():
    # The article says both; the reply quotes the negative one word for word.
    passage = ("You can renew your registration online or by mail. "
               "You cannot renew your registration online if it expired more than a year ago.")
    quoted = check_grounding("You cannot renew your registration online if it expired more than a year ago.",
                             [passage])
    invented = check_grounding("You cannot renew your registration by mail.", [passage])
    assert quoted.ok and quoted.sentences[0].why == "quoted"
    assert not invented.ok
