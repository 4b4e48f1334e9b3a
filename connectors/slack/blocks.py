"""Block Kit for a case: the case message (with Claim / Resolve / Return to bot) and thread posts.

Everything shown is redacted text and kinds of personal data, never values; free text is
escaped for mrkdwn (a customer typing "<!channel>" must not ping the channel) and cut to
Block Kit's limits. The slack_sdk block models validate the limits when serialised.
"""
from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from agent.packet import ContextPacket
from connectors.slack.scrub import scrub

SECTION_MAX = 3000
FIELD_MAX = 2000
HEADER_MAX = 150
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
BLOCK_ID_MAX = 255
FALLBACK_MAX = 3000  # the notification text; Slack truncates long ones anyway
THREAD_POST_MAX = 2900  # one section per thread post, under the 3000 limit after a heading

ACTION_CLAIM = "concierge_claim"
ACTION_RESOLVE = "concierge_resolve"
ACTION_RETURN = "concierge_return"
CASE_ACTIONS = (ACTION_CLAIM, ACTION_RESOLVE, ACTION_RETURN)
# Next to "KB articles tried": search public and internal articles for the agent (thread post).
ACTION_KB_SEARCH = "concierge_kb_search"
KB_SEARCH_SNIPPET = 300

PRIORITY_MARK = {"urgent": ":red_circle:", "high": ":large_orange_circle:",
                 "normal": ":large_yellow_circle:", "low": ":white_circle:"}
STATUS_LABEL = {"awaiting_human": "Waiting for an agent", "human": "With an agent",
                "bot": "Returned to the bot", "resolved": "Resolved"}


def escape(text: str) -> str:
    """Escape the three characters Slack treats as control sequences in mrkdwn."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cut(text: str, limit: int) -> str:
    """text shortened to at most limit characters, marked with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def safe(text: str | None, limit: int = SECTION_MAX) -> str:
    """Redacted, escaped and cut: the only way free text reaches Slack."""
    return cut(escape(scrub(text or "")), limit)


def customer_label(packet: ContextPacket) -> str:
    """Who the customer is, without exposing a phone number used as a platform id."""
    who = packet.customer_handle or packet.customer_id
    digits = sum(ch.isdigit() for ch in who)
    if digits >= 7:  # WhatsApp ids are phone numbers: show only the tail
        who = "…" + who[-4:]
    return scrub(who)


def case_blocks(packet: ContextPacket, *, status: str = "awaiting_human",
                assignee: str | None = None, revision: int = 0) -> list[dict[str, Any]]:
    """The case message. Block ids carry the revision so each chat.update gets new ones."""
    rid = f"{packet.case_id}.r{revision}"
    prio = str(packet.priority)
    reasons = ", ".join(str(r) for r in packet.reasons) or "other"
    header = cut(f"{packet.case_id} · {prio.upper()} · {reasons}", HEADER_MAX)
    blocks: list[Any] = [
        HeaderBlock(text=PlainTextObject(text=header, emoji=True), block_id=_bid("head", rid)),
        SectionBlock(block_id=_bid("summary", rid), text=MarkdownTextObject(
            text=cut(f"{PRIORITY_MARK.get(prio, '')} *Summary*\n{safe(packet.summary, SECTION_MAX - 40)}",
                     SECTION_MAX))),
        SectionBlock(block_id=_bid("facts", rid), fields=[
            MarkdownTextObject(text=cut(f"*Priority*\n{prio}", FIELD_MAX)),
            MarkdownTextObject(text=cut(f"*Reasons*\n{escape(reasons)}", FIELD_MAX)),
            MarkdownTextObject(text=cut(
                f"*Customer*\n{escape(customer_label(packet))} on {escape(packet.channel)}"
                + (" (public)" if packet.public else ""), FIELD_MAX)),
            MarkdownTextObject(text=cut(f"*Status*\n{_status_text(status, assignee)}", FIELD_MAX)),
            MarkdownTextObject(text=cut(f"*SLA due*\n<!date^{int(packet.sla_due_at.timestamp())}"
                                        f"^{{date_short_pretty}} {{time}}|{packet.sla_due_at:%Y-%m-%d %H:%M} UTC>",
                                        FIELD_MAX)),
            MarkdownTextObject(text=cut(f"*Intent / sentiment*\n{escape(packet.intent or 'unknown')}"
                                        f" / {_sentiment(packet)}", FIELD_MAX)),
        ]),
    ]
    if packet.link:
        blocks.append(SectionBlock(block_id=_bid("link", rid), text=MarkdownTextObject(
            text=cut(f"*Conversation*: {_conversation_link(packet.link, packet.platform)}", SECTION_MAX))))
    if packet.evidence:
        lines = [f"• {escape(str(e.reason))} — {escape(e.check)} ({e.score:.2f})"
                 + (f": “{safe(e.words, 300)}”" if e.words else "") for e in packet.evidence]
        blocks.append(_lines_section("evidence", rid, "*Why it came to you*", lines))
    if packet.kb_tried:
        lines = [f"• {_kb_link(k.title, k.url)} ({k.score:.2f})" + (" · _internal, do not quote_" if k.internal else "")
                 for k in packet.kb_tried]
        blocks.append(_lines_section("kb", rid, "*KB articles tried*", lines))
    else:
        blocks.append(_lines_section("kb", rid, "*KB articles tried*", ["none matched"]))
    if status not in ("resolved", "bot"):
        blocks[-1].accessory = ButtonElement(text=cut("Search KB (internal too)", BUTTON_TEXT_MAX),
                                             action_id=ACTION_KB_SEARCH, value=cut(packet.case_id, BUTTON_VALUE_MAX))
    if packet.attempted_answer:
        blocks.append(SectionBlock(block_id=_bid("attempt", rid), text=MarkdownTextObject(
            text=cut("*Bot's attempted answer*\n" + safe(packet.attempted_answer), SECTION_MAX))))
    if packet.suggested_reply:
        blocks.append(SectionBlock(block_id=_bid("suggest", rid), text=MarkdownTextObject(
            text=cut("*Suggested reply* (reply in the thread to send it to the customer)\n"
                     + ("_Built from an internal article: rewrite it before sending._\n"
                        if packet.suggested_reply_internal else "")
                     + safe(packet.suggested_reply), SECTION_MAX))))
    kinds = ", ".join(escape(k) for k in packet.pii_kinds) or "none"
    blocks.append(ContextBlock(block_id=_bid("meta", rid), elements=[MarkdownTextObject(
        text=cut(f"Personal data seen (kinds only): {kinds} · transcript in the thread · "
                 f"replies in the thread go to the customer (start with // for a note among agents)", SECTION_MAX))]))
    blocks.append(DividerBlock(block_id=_bid("div", rid)))
    actions = _buttons(packet.case_id, status)
    if actions:
        blocks.append(ActionsBlock(block_id=_bid("actions", rid), elements=actions))
    return [b.to_dict() for b in blocks]


def case_fallback_text(packet: ContextPacket, status: str = "awaiting_human") -> str:
    """The notification text shown where blocks are not (push notifications, search)."""
    reasons = ", ".join(str(r) for r in packet.reasons) or "other"
    return cut(f"[{str(packet.priority).upper()}] {packet.case_id} ({reasons}) — "
               f"{STATUS_LABEL.get(status, status)}: {safe(packet.summary, 500)}", FALLBACK_MAX)


def transcript_posts(packet: ContextPacket) -> list[str]:
    """The redacted transcript as one or more thread posts, each within one section's limit."""
    lines = [f"*{escape(t.role)}* ({t.at:%H:%M}): {safe(t.text, THREAD_POST_MAX - 40)}"
             for t in packet.transcript]
    if not lines:
        return ["_No transcript._"]
    posts: list[str] = []
    current = "*Transcript* (redacted)"
    for line in lines:
        if len(current) + 1 + len(line) > THREAD_POST_MAX:
            posts.append(current)
            current = "*Transcript* (continued)"
        current += "\n" + line
    posts.append(current)
    return posts


def customer_post(text_redacted: str) -> str:
    return cut("*Customer:* " + safe(text_redacted, THREAD_POST_MAX), THREAD_POST_MAX)


def status_post(status: str, assignee: str | None) -> str:
    return cut(f"_Status: {_status_text(status, assignee)}._", THREAD_POST_MAX)


def note_post(text: str) -> str:
    return cut(f"_{safe(text, THREAD_POST_MAX - 2)}_", THREAD_POST_MAX)


def thread_blocks(text: str) -> list[dict[str, Any]]:
    return [SectionBlock(text=MarkdownTextObject(text=cut(text, SECTION_MAX))).to_dict()]


def _status_text(status: str, assignee: str | None) -> str:
    label = STATUS_LABEL.get(status, status)
    if assignee and status in ("human", "resolved", "bot"):
        return f"{label} (<@{escape(assignee)}>)"
    return label


def _sentiment(packet: ContextPacket) -> str:
    if packet.sentiment is None:
        return "n/a"
    trend = f", {escape(packet.sentiment_trend)}" if packet.sentiment_trend else ""
    return f"{packet.sentiment:+.2f}{trend}"


def _kb_link(title: str, url: str | None) -> str:
    name = safe(title, 200)
    return f"<{escape(url)}|{name}>" if url and url.startswith(("http://", "https://")) else name


def _conversation_link(link: str, platform: str) -> str:
    # A link that embeds personal data (wa.me/<phone>) is withheld rather than shown redacted.
    if not link.startswith(("http://", "https://")) or scrub(link) != link:
        return f"open it on {escape(platform)} (link withheld: it contains personal data)"
    return f"<{escape(link)}|open on {escape(platform)}>"


def _lines_section(name: str, rid: str, heading: str, lines: list[str]) -> SectionBlock:
    text = heading
    for line in lines:
        if len(text) + 1 + len(line) > SECTION_MAX - 2:
            text += "\n…"
            break
        text += "\n" + line
    return SectionBlock(block_id=_bid(name, rid), text=MarkdownTextObject(text=cut(text, SECTION_MAX)))


def _buttons(case_id: str, status: str) -> list[ButtonElement]:
    if status in ("resolved", "bot"):
        return []  # closed or handed back: nothing left to click
    value = cut(case_id, BUTTON_VALUE_MAX)
    buttons = []
    if status != "human":
        buttons.append(ButtonElement(text=cut("Claim", BUTTON_TEXT_MAX), action_id=ACTION_CLAIM,
                                     value=value, style="primary"))
    buttons.append(ButtonElement(text=cut("Resolve", BUTTON_TEXT_MAX), action_id=ACTION_RESOLVE,
                                 value=value, style="primary" if status == "human" else None))
    buttons.append(ButtonElement(text=cut("Return to bot", BUTTON_TEXT_MAX), action_id=ACTION_RETURN,
                                 value=value))
    return buttons


def _bid(name: str, rid: str) -> str:
    return cut(f"{name}.{rid}", BLOCK_ID_MAX)


def kb_search_post(user: str, query: str, passages: list[Any]) -> str:
    """The agent-side KB search as a thread post: public and internal articles, internal marked."""
    head = f"<@{escape(user)}> KB search (public and internal articles) for “{safe(query, 200)}”:"
    if not passages:
        return cut(head + "\nnothing matched", THREAD_POST_MAX)
    lines = [head]
    for p in passages:
        mark = " · _internal: for agents, do not quote to the customer_" if getattr(p, "internal", False) else ""
        snippet = " ".join(str(p.text).split())
        lines.append(f"• {_kb_link(p.title, p.url)}{mark}\n> {safe(snippet, KB_SEARCH_SNIPPET)}")
    return cut("\n".join(lines), THREAD_POST_MAX)


def agent_note(user: str, text: str) -> str:
    """A note to one agent in the thread (e.g. why their reply was not sent)."""
    return cut(f"<@{escape(user)}> " + safe(text, THREAD_POST_MAX - 40), THREAD_POST_MAX)
