"""What every composer takes and returns. A composer phrases a reply from passages; the
engine's grounding gate decides whether that reply may be sent."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from guardrails.codes import Channel
from retrieval.passage import Passage


class ComposerError(RuntimeError):
    """The composer could not produce a reply (LLM down, timed out, empty answer)."""


@dataclass
class ComposeRequest:
    question: str  # the customer's message, redacted
    passages: list[Passage]  # best first
    history: list[tuple[str, str]] = field(default_factory=list)  # (role, redacted text), oldest first
    channel: Channel = Channel.WEBCHAT
    public: bool = False


@dataclass
class Composed:
    text: str  # the reply body, without the citation link (formatting adds it)
    passages: list[Passage]  # the passages the reply draws on, most important first
    composer: str  # "extractive" | "openai" | "llamacpp"
    note: str = ""


@runtime_checkable
class Composer(Protocol):
    name: str

    def compose(self, request: ComposeRequest) -> Composed:
        """A reply to request.question from request.passages; raises ComposerError."""


_LINK_RE = re.compile(r"\[([^\]]+)\]\((?:https?://|/)[^)]*\)")
_EMPHASIS_RE = re.compile(r"(\*\*|__|`)")


def passage_body(passage: Passage) -> str:
    """The passage text without its title line and Markdown decoration, as plain prose."""
    text = passage.text.strip()
    first, _, rest = text.partition("\n\n")
    if rest and first.strip().startswith(passage.title.strip()[:40]):
        text = rest
    text = _LINK_RE.sub(r"\1", text)
    text = _EMPHASIS_RE.sub("", text)
    lines = []
    for line in text.split("\n"):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "|", "```", ">")):
            if stripped.startswith(">"):
                lines.append(stripped.lstrip("> "))
            continue
        lines.append(stripped)
    return "\n".join(lines)
