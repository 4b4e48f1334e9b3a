"""Slack message text -> plain text for the customer (links, mentions and escapes unwrapped)."""
from __future__ import annotations

import re

_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]+))?>")
_USER = re.compile(r"<@([A-Z0-9]+)(?:\|([^>]+))?>")
_CHANNEL = re.compile(r"<#([A-Z0-9]+)(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!([a-z]+)(?:\^[^|>]*)?(?:\|([^>]+))?>")

INTERNAL_NOTE_PREFIX = "//"  # a thread message starting with this stays among the agents


def slack_to_plain(text: str) -> str:
    """What the customer should read for a Slack message: no <...> markup, no &amp; escapes."""
    def link(m: re.Match[str]) -> str:
        url, label = m.group(1), m.group(2)
        url = url.removeprefix("mailto:")
        return url if not label or label == url else f"{label} ({url})"

    text = _LINK.sub(link, text)
    text = _USER.sub(lambda m: "@" + (m.group(2) or "agent"), text)
    text = _CHANNEL.sub(lambda m: "#" + (m.group(2) or "channel"), text)
    text = _SPECIAL.sub(lambda m: m.group(2) or "", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()


def is_internal_note(text: str) -> bool:
    """Agents talk among themselves in the case thread by starting a message with //."""
    return text.lstrip().startswith(INTERNAL_NOTE_PREFIX)
