"""Sentence vectors are computed at ingest and stored with the chunks, so a turn embeds only the
customer's message; replies are the same as when every sentence is embedded on the spot."""
from __future__ import annotations

import numpy as np
import pytest

from agent.composers.base import ComposeRequest
from agent.composers.extractive import ExtractiveComposer
from retrieval.index import KnowledgeIndex

QUESTIONS = ["how long do refunds take to arrive", "can i pay with a gift card",
             "my bluetooth headphones won't pair with my phone", "do you ship to canada"]


@pytest.fixture(scope="module")
def stored(tmp_path_factory, sample_kb, embedder):
    folder = tmp_path_factory.mktemp("chroma-sentences")
    KnowledgeIndex(folder, embedder=embedder).ingest(sample_kb)
    # A second process opening the same folder: it embeds nothing, it reads what ingest stored.
    return KnowledgeIndex(folder, embedder=embedder)


class CountingEmbed:
    def __init__(self, embed) -> None:
        self.embed, self.texts = embed, 0

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.texts += len(texts)
        return self.embed(texts)


def test_stored_sentence_vectors_match_fresh_embeddings(stored, embedder):
    passages = [p for q in QUESTIONS for p in stored.search(q, k=3).passages]
    texts = [s for p in passages for s in ExtractiveComposer.candidates(p)]
    texts += [p.title for p in passages if ExtractiveComposer.is_faq(p)]  # an FAQ is matched by its question
    vectors = stored.sentence_vectors(texts)
    assert all(v is not None for v in vectors), "a reply sentence has no stored vector"
    assert np.allclose(np.stack(vectors), embedder.embed(texts), atol=1e-4)
    assert stored.sentence_vectors(["a sentence that is in no article at all."]) == [None]


def test_turn_embeds_only_the_question_and_replies_do_not_change(stored, embedder):
    counting = CountingEmbed(embedder.embed)
    fast = ExtractiveComposer(embed=counting, known=stored.sentence_vectors,
                              embed_query=embedder.embed_many_cached)
    plain = ExtractiveComposer(embed=embedder.embed)
    for question in QUESTIONS:
        request = ComposeRequest(question=question, passages=stored.search(question, k=3).passages)
        assert fast.compose(request).text == plain.compose(request).text
    assert counting.texts == 0  # every KB sentence came from the index, the question from the cache
