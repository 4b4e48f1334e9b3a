"""Fixed replies state a fact only when the KB passage that answers that question states it,
and a shortened public reply keeps the sentence that answers."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.formatting import format_reply, shorten, weighted_length
from agent.messages import InboundMessage
from guardrails.codes import Channel

CONTACT_24_7_ELSEWHERE = """---
id: contact
title: Contacting Harbourline support
---
# Contacting Harbourline support

## Fastest: fix it in the app

Most problems with bookings, seats and refunds are solved in the app in a few minutes, 24/7.

## By phone

- Lost property line: 0800 000 111, 24/7, for lost property only.
"""

CONTACT_WITH_TEAM_HOURS = """---
id: contact
title: Contacting Harbourline support
---
# Contacting Harbourline support

## Chat with our team

Our support team answers messages every day from 9am to 7pm.

## By phone

- Lost property line: 0800 000 111, 24/7, for lost property only.
"""

FERRY = """---
id: timetable
title: Ferry timetable and routes
---
# Ferry timetable and routes

Ferries to the islands leave every two hours from Pier 4. Tickets can be changed up to one hour before departure.
"""


def _engine(tmp_path: Path, embedder: Any, contact: str, **settings: Any) -> Any:
    from agent.factory import build_engine
    from agent.settings import Settings
    from agent.store_memory import MemoryStore
    from retrieval.index import KnowledgeIndex

    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "contact.md").write_text(contact, encoding="utf-8")
    (kb / "timetable.md").write_text(FERRY, encoding="utf-8")
    index = KnowledgeIndex(persist_dir=tmp_path / "chroma", embedder=embedder)
    index.ingest(kb)
    return build_engine(Settings(data_dir=tmp_path / "data", kb_dir=kb, llm_provider="extractive", **settings),
                        store=MemoryStore(), index=index, llm="extractive")


def _ask(engine: Any, text: str) -> Any:
    return engine.handle(InboundMessage(platform="eval", channel="messenger", conversation_key="m:p:u",
                                        customer_id="u", message_id="m1", text=text))


def test_a_24_7_line_elsewhere_is_not_given_as_the_teams_hours(tmp_path: Path, embedder: Any) -> None:
    d = _ask(_engine(tmp_path, embedder, CONTACT_24_7_ELSEWHERE), "I want to talk to a real person please")
    assert d.action == "escalate"
    assert "24/7" not in d.text and "hours" not in d.text.lower()


def test_the_teams_hours_come_from_the_passage_about_reaching_people(tmp_path: Path, embedder: Any) -> None:
    d = _ask(_engine(tmp_path, embedder, CONTACT_WITH_TEAM_HOURS), "I want to talk to a real person please")
    assert d.action == "escalate"
    assert "9am to 7pm" in d.text and "24/7" not in d.text


def test_hours_from_settings_win_over_the_kb(tmp_path: Path, embedder: Any) -> None:
    engine = _engine(tmp_path, embedder, CONTACT_WITH_TEAM_HOURS, support_hours="Monday to Friday, 10:00-16:00")
    d = _ask(engine, "I want to talk to a real person please")
    assert "10:00-16:00" in d.text and "9am" not in d.text


INTRO = ("Gift cards are a great present for anyone who loves music and sound. "
         "They come in physical and digital versions and can be sent to a friend by email or post. ")
ANSWER = "Every gift card stays valid for 3 years from the day it was bought."


def test_a_shortened_public_reply_keeps_the_answering_sentence() -> None:
    body = INTRO + ANSWER + " Balances can be checked in your account at any time."
    kept = shorten(body, 150, weighted_length, keep=2)
    assert ANSWER in kept and weighted_length(kept) <= 150
    plain = shorten(body, 150, weighted_length)
    assert ANSWER not in plain  # without knowing the answer, the intro fills the post
    out = format_reply(body, Channel.X_PUBLIC, public=True, link="https://help.example/gift-cards", keep=2)
    assert ANSWER in out.text and weighted_length(out.text) <= 280


@pytest.mark.parametrize("keep", [None, 0, 5])
def test_shorten_without_a_usable_keep_still_fits(keep: int | None) -> None:
    body = INTRO * 4
    assert weighted_length(shorten(body, 120, weighted_length, keep=keep)) <= 120
