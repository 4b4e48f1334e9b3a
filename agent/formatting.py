"""Channel formatting: fit a reply to each platform's limits, split or shorten at sentence ends.

X counts characters by weight (twitter-text v3): most Latin text weighs 1, CJK and other
wide scripts 2, an emoji sequence 2, and every URL 23 whatever its length.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from guardrails.codes import CHANNEL_LIMITS, Channel
from guardrails.grounding import split_sentences
from guardrails.x_length import X_URL_WEIGHT, weighted_length  # noqa: F401 - re-exported

_ELLIPSIS = "…"
# A reply on a public thread stays short even where the platform allows more.
PUBLIC_MAX_CHARS = 600


def channel_limit(channel: Channel, public: bool) -> int:
    limit = CHANNEL_LIMITS.get(channel, 2000)
    if public and channel != Channel.X_PUBLIC:
        limit = min(limit, PUBLIC_MAX_CHARS)
    return limit


def _measure(channel: Channel):
    return weighted_length if channel == Channel.X_PUBLIC else len


@dataclass
class FormattedReply:
    text: str  # the whole reply (for X public: the one post)
    parts: list[str] = field(default_factory=list)  # messages to send, each within the limit
    link_dropped: bool = False
    shortened: bool = False


def _cut_words(sentence: str, limit: int, measure) -> str:
    """Cut one over-long sentence at a word boundary, ending with an ellipsis."""
    words = sentence.split()
    out = ""
    for word in words:
        candidate = f"{out} {word}".strip()
        if measure(candidate + _ELLIPSIS) > limit:
            break
        out = candidate
    if not out:  # a single giant token: cut characters
        out = sentence
        while out and measure(out + _ELLIPSIS) > limit:
            out = out[:-1]
    return out.rstrip(" ,;:") + _ELLIPSIS


def shorten(text: str, limit: int, measure=len, keep: int | None = None) -> str:
    """Keep whole sentences in their order while they fit; cut the first one if none fits.

    `keep` is the index of the sentence that answers the question: it goes in first, and the
    others fill the room around it, so a short public reply never loses the answer to its intro.
    """
    if measure(text) <= limit:
        return text
    sentences = split_sentences(text)
    if not sentences:
        return _cut_words(text, limit, measure)
    order = list(range(len(sentences)))
    if keep is not None and 0 <= keep < len(sentences):
        order = [keep] + [i for i in order if i != keep]
    kept: list[int] = []
    for i in order:
        candidate = " ".join(sentences[j] for j in sorted(kept + [i]))
        if measure(candidate) <= limit:
            kept.append(i)
        elif keep is None or not kept:
            break  # in plain order, a sentence that does not fit ends the reply
    if not kept:
        return _cut_words(sentences[order[0]], limit, measure)
    return " ".join(sentences[j] for j in sorted(kept))


def split_parts(text: str, limit: int, measure=len) -> list[str]:
    """Split into messages within the limit at paragraph/sentence ends; none is empty."""
    if measure(text) <= limit:
        return [text] if text else []
    parts: list[str] = []
    current = ""
    for paragraph in text.split("\n\n"):
        first_in_paragraph = True
        for sentence in split_sentences(paragraph) or [paragraph]:
            pieces = [sentence]
            if measure(sentence) > limit:  # a sentence longer than a message: cut it in words
                pieces = []
                rest = sentence
                while measure(rest) > limit:
                    head = _cut_words(rest, limit, measure)[: -len(_ELLIPSIS)]
                    if not head.strip():
                        head = rest[:limit]
                    pieces.append(head.strip())
                    rest = rest[len(head):].strip()
                if rest:
                    pieces.append(rest)
            for piece in pieces:
                joiner = "\n\n" if first_in_paragraph else " "
                first_in_paragraph = False
                candidate = f"{current}{joiner}{piece}" if current else piece
                if measure(candidate) <= limit:
                    current = candidate
                else:
                    if current:
                        parts.append(current)
                    current = piece
    if current:
        parts.append(current)
    return parts


def format_reply(body: str, channel: Channel, *, public: bool = False, link: str | None = None,
                 link_label: str = "More", keep: int | None = None) -> FormattedReply:
    """Body plus an optional citation link, fitted to the channel (X public: one post); `keep`
    is the sentence of the body that a shortened reply must keep (see shorten)."""
    body = re.sub(r"[ \t]+", " ", body).strip()
    limit = channel_limit(channel, public)
    measure = _measure(channel)
    link_line = f"{link_label}: {link}" if link else ""
    if channel == Channel.X_PUBLIC or public:
        full = f"{body} {link_line}".strip() if link_line else body
        if measure(full) <= limit:
            return FormattedReply(text=full, parts=[full])
        if link_line:
            room = limit - measure(" " + link_line)
            if room >= 80:  # enough room for a useful sentence: keep the link
                text = f"{shorten(body, room, measure, keep)} {link_line}"
                return FormattedReply(text=text, parts=[text], shortened=True)
        text = shorten(body, limit, measure, keep)
        return FormattedReply(text=text, parts=[text], link_dropped=bool(link_line), shortened=True)
    full = f"{body}\n\n{link_line}" if link_line else body
    parts = split_parts(full, limit, measure)
    return FormattedReply(text=full, parts=parts, shortened=len(parts) > 1)


def fit_text(text: str, channel: Channel, *, public: bool = False) -> FormattedReply:
    """A template message (no link) fitted to the channel."""
    return format_reply(text, channel, public=public)
