"""What every composer takes and returns. A composer phrases a reply from passages; the
engine's grounding gate decides whether that reply may be sent."""
from __future__ import annotations

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
