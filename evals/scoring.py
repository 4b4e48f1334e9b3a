"""Check one turn's result against its `expect` block: a list of reasons it failed (empty = passed)."""
from __future__ import annotations

from evals.schema import Expect


def _fmt(values: list[str] | frozenset[str] | set[str]) -> str:
    items = sorted(values)
    return items[0] if len(items) == 1 else "any of [" + ", ".join(items) + "]"


def citations_ok(expect: Expect, cited: list[str]) -> bool:
    """`cites`: all among the citations; `cites_any`: at least one. Empty lists check nothing."""
    have = set(cited)
    if expect.cites and not set(expect.cites) <= have:
        return False
    if expect.cites_any and not have & set(expect.cites_any):
        return False
    return True


def has_citation_check(expect: Expect | None) -> bool:
    return expect is not None and bool(expect.cites or expect.cites_any)


def content_failures(expect: Expect, reply: str, messages: list[str]) -> list[str]:
    """contains_any / contains_all / not_contains (case-insensitive) and max_chars (per message)."""
    why: list[str] = []
    low = reply.lower()
    if expect.contains_any and not any(s.lower() in low for s in expect.contains_any):
        why.append(f"reply contains none of {expect.contains_any}")
    if expect.contains_all:
        missing = [s for s in expect.contains_all if s.lower() not in low]
        if missing:
            why.append(f"reply lacks {missing}")
    if expect.not_contains:
        present = [s for s in expect.not_contains if s.lower() in low]
        if present:
            why.append(f"reply contains forbidden {present}")
    if expect.max_chars is not None:
        longest = max((len(m) for m in messages), default=len(reply))
        if longest > expect.max_chars:
            why.append(f"reply is {longest} chars, max {expect.max_chars}")
    return why


def turn_failures(
    expect: Expect,
    *,
    action: str,
    reasons: list[str],
    priority: str | None,
    citations: list[str],
    reply: str,
    messages: list[str],
) -> list[str]:
    """Every way the turn missed its expectations, one short phrase each."""
    why: list[str] = []
    if expect.action and action not in expect.actions():
        why.append(f"action: expected {_fmt(expect.actions())}, got {action or 'nothing'}")
    if expect.reason:
        wanted = {r.value for r in expect.reason}
        if not wanted & set(reasons):
            why.append(f"reason: expected {_fmt(wanted)}, got {reasons or 'none'}")
    if expect.priority:
        wanted_p = {p.value for p in expect.priority}
        if priority not in wanted_p:
            why.append(f"priority: expected {_fmt(wanted_p)}, got {priority or 'none'}")
    if expect.cites and not set(expect.cites) <= set(citations):
        missing = sorted(set(expect.cites) - set(citations))
        why.append(f"cites: missing {missing}, cited {sorted(set(citations))}")
    if expect.cites_any and not set(citations) & set(expect.cites_any):
        why.append(f"cites_any: none of {expect.cites_any} cited, cited {sorted(set(citations))}")
    why.extend(content_failures(expect, reply, messages))
    return why


# --- internal documents (audience: internal): never cited or quoted to a customer -------------

QUOTE_WORDS = 8  # a run of this many words shared with an internal article (and no public one) is a quote


def _words(text: str) -> list[str]:
    import re

    return re.findall(r"[a-z0-9]+", text.lower())


def _shingles(words: list[str], n: int = QUOTE_WORDS) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


class InternalDocs:
    """The KB's internal documents, as word runs that no public document shares."""

    def __init__(self, internal: dict[str, str], public: list[str]) -> None:
        common: set[tuple[str, ...]] = set()
        for text in public:
            common |= _shingles(_words(text))
        self.ids = set(internal)
        self.runs = {doc_id: _shingles(_words(text)) - common for doc_id, text in internal.items()}

    @classmethod
    def from_kb(cls, kb_dir: str) -> "InternalDocs":
        from pathlib import Path

        from knowledge.loaders import load_kb

        internal: dict[str, str] = {}
        public: list[str] = []
        if Path(kb_dir).is_dir():
            for doc in load_kb(Path(kb_dir)).documents:
                text = "\n".join(t for t in (doc.title, doc.question, doc.text) if t)
                if doc.internal:
                    internal[doc.doc_id] = text
                else:
                    public.append(text)
        return cls(internal, public)

    def failures(self, reply: str, citations: list[str]) -> list[str]:
        """A customer reply that cites an internal document or quotes one of its word runs."""
        why = [f"internal: cites internal document {d}" for d in dict.fromkeys(citations) if d in self.ids]
        said = _shingles(_words(reply))
        if said:
            why += [f"internal: quotes internal document {d}" for d, runs in sorted(self.runs.items())
                    if said & runs and d not in citations]
        return why
