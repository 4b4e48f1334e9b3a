"""The web chat page in headless Chromium: a cited answer, then a human taking over."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from agent.escalation import Handoff
from agent.factory import build_engine
from agent.store_memory import MemoryStore
from connectors.app import create_app
from tests.connectors.conftest import make_settings
from tests.connectors.live import LiveServer

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install chromium)")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def webchat(tmp_path, kb_dirs, kb_index):
    """The embedded app (no Redis): turns run in the app's own background thread."""
    settings = make_settings(tmp_path, kb_dirs=kb_dirs)
    store = MemoryStore()
    senders: list = []

    def engine_factory(store_, sender):
        senders.append(sender)
        return build_engine(settings, store=store_, index=kb_index, sender=sender)

    app = create_app(settings, store=store, engine_factory=engine_factory)
    with LiveServer(app) as server:
        yield server.url, store, senders


def test_page_shows_cited_answer_and_human_takeover(webchat):
    from playwright.sync_api import expect, sync_playwright

    url, store, senders = webchat
    outside: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            page = browser.new_page()
            page.on("request", lambda req: outside.append(req.url) if not req.url.startswith(url) else None)
            page.goto(url + "/")
            expect(page.get_by_role("heading", name="Chat with support")).to_be_visible()
            box = page.get_by_label("Your message")
            box.fill("How long does a refund take to reach my card?")
            page.get_by_role("button", name="Send").click()
            answer = page.locator('#log li[data-role="bot"]').first
            expect(answer).to_contain_text("refund", timeout=60_000)
            source = answer.get_by_role("link", name=re.compile("^Source: "))
            expect(source.first).to_have_attribute("href", re.compile(r"^https?://"))

            box.fill("I want to talk to a human agent")
            box.press("Enter")
            expect(page.locator("#status")).to_have_attribute("data-status", "awaiting_human", timeout=60_000)
            session = page.evaluate("sessionStorage.getItem('concierge-session')")
            conv = store.get(f"webchat:{session}")
            assert conv.case_id

            handoff = Handoff(store, senders[0])
            handoff.agent_reply(conv.case_id, "U123", "Hi, this is Sam from the support team.")
            expect(page.locator("#status")).to_have_attribute("data-status", "human", timeout=30_000)
            expect(page.locator('#log li[data-role="agent"]')).to_contain_text("Sam from the support team")
        finally:
            browser.close()
    assert outside == [], "the page loaded something from outside the app"
