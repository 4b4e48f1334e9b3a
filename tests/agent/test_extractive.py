"""The extractive composer's reply: the best passage's own sentences, each said once."""
from __future__ import annotations

import re

from agent.composers.base import ComposeRequest
from agent.composers.extractive import ExtractiveComposer
from retrieval.passage import Passage


def _passage(doc_id: str, text: str, title: str = "") -> Passage:
    return Passage(doc_id=doc_id, chunk_id=f"{doc_id}#0", title=title or doc_id, url=None, text=text,
                   score=0.5, dense_score=0.5, lexical_score=0.0)


def test_a_sentence_the_article_repeats_is_said_once(embedder):
    text = ("I received a letter that says my insurance lapsed. "
            "The letter means your insurer told the DMV that your coverage ended. "
            "The letter means your insurer told the DMV that your coverage ended. "
            "Send proof of new coverage within 15 days to avoid a suspension.")
    composer = ExtractiveComposer(embed=embedder.embed)
    reply = composer.compose(ComposeRequest(question="what does the letter mean",
                                            passages=[_passage("insurance-letters", text)])).text
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", reply) if s.strip()]
    assert "coverage ended" in reply
    assert len(sentences) == len(set(sentences)), reply


def test_the_retrievers_first_passage_leads_unless_another_is_far_closer(embedder):
    # The retriever ranked the general answer first; a narrower passage whose one sentence reads a
    # little closer to the question (by 0.06 on the composer's scale) must not take over the reply.
    first = _passage("refund-timing", "We issue refunds within 5 business days of receiving your return.")
    second = _passage("gift-cards", "A refund to a gift card arrives at once.")
    composer = ExtractiveComposer(embed=embedder.embed)
    composed = composer.compose(ComposeRequest(question="when will my refund arrive", passages=[first, second]))
    assert composed.passages[0].doc_id == "refund-timing", composed.text


def test_a_heading_line_ends_its_own_sentence_and_the_reply_stays_grounded(embedder):
    from guardrails.grounding import check_grounding

    text = ("I bought a vehicle from a private seller (not a dealer)\n"
            "You will receive an inspection extension that lasts 10 days from the registration date.\n"
            "An inspection issued to the previous owner is not valid.")
    composer = ExtractiveComposer(embed=embedder.embed)
    composed = composer.compose(ComposeRequest(question="I bought a car from a private seller, what about inspection",
                                               passages=[_passage("inspection", text)]))
    assert "(not a dealer). You will receive" in composed.text, composed.text
    assert check_grounding(composed.text, [text], embedder.embed).ok


def _chunk_passages(doc_id: str, markdown: str) -> list[Passage]:
    """Passages as the index would return them: the KB file through the real loader and chunker."""
    import tempfile
    from pathlib import Path

    from knowledge.chunking import chunk_document
    from knowledge.loaders import load_kb

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / f"{doc_id}.md").write_text(markdown, encoding="utf-8")
        chunks = chunk_document(load_kb(Path(tmp)).documents[0], max_chars=300)
    return [Passage(doc_id=doc_id, chunk_id=c.chunk_id, title=c.title, url=None, text=c.text,
                    score=0.5, dense_score=0.5, lexical_score=0.0) for c in chunks]


def test_how_to_questions_get_the_numbered_steps_whole_and_grounded(embedder):
    from guardrails.grounding import check_grounding

    passages = _chunk_passages("lost-card", (
        "# Lost or stolen card\n\nIf your card is lost, cancel it in the app straight away.\n\n"
        "## Report your card lost\n\nTo report it:\n\n1. Open the app and tap **Card**.\n"
        "2. Tap **Report lost or stolen** and choose what happened.\n"
        "3. Confirm. Your old card stops working immediately.\n\n"
        "Your new card arrives in 3 to 5 working days."))
    composer = ExtractiveComposer(embed=embedder.embed)
    composed = composer.compose(ComposeRequest(question="how do i report my card as stolen?", passages=passages))
    reply = composed.text
    lines = reply.split("\n")
    assert [line[:2] for line in lines if line[:1].isdigit()] == ["1.", "2.", "3."], reply
    assert "Report lost or stolen" in reply and "**" not in reply
    assert check_grounding(reply, [p.text for p in composed.passages], embedder.embed).ok


def test_a_table_answer_is_a_readable_row_not_pipes(embedder):
    from guardrails.grounding import check_grounding

    passages = _chunk_passages("fees", (
        "# Fees\n\nThis page lists everything we charge for.\n\n## Monthly fees\n\n"
        "| Plan | Monthly fee | Card delivery |\n| --- | --- | --- |\n| Basic | £0 | Free |\n"
        "| Premium | £7 | Free |\n| Metal | £15 | £10 |\n"))
    composer = ExtractiveComposer(embed=embedder.embed)
    composed = composer.compose(ComposeRequest(question="how much is the monthly fee for Premium?",
                                               passages=passages))
    reply = composed.text
    assert "Premium — Monthly fee: £7" in reply, reply
    assert "|" not in reply
    assert check_grounding(reply, [p.text for p in composed.passages], embedder.embed).ok


def test_the_fact_asked_for_beats_the_intro_and_pointer_sentences(embedder):
    passage = _passage("gift-cards", (
        "Gift cards make a great present for anyone who loves our shop. "
        "The same card details are shown under Account > Wallet. "
        "Gift cards are valid for 3 years from the date of purchase. "
        "You can use a gift card for any product in our online store."), title="Gift cards")
    composer = ExtractiveComposer(embed=embedder.embed)
    reply = composer.compose(ComposeRequest(question="do gift cards expire?", passages=[passage])).text
    assert "3 years" in reply, reply
    assert "The same card details" not in reply


def test_list_items_ending_in_commas_are_not_glued_with_comma_full_stop(embedder):
    passage = _passage("payments", (
        "We accept these payment methods:\n- Visa and Mastercard credit cards,\n- PayPal,\n"
        "- Apple Pay and Google Pay on phones."), title="Payment methods")
    composer = ExtractiveComposer(embed=embedder.embed)
    reply = composer.compose(ComposeRequest(question="can I pay with paypal or visa credit cards",
                                            passages=[passage])).text
    assert ",." not in reply and ";." not in reply, reply
