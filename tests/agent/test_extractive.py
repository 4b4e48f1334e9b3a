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
