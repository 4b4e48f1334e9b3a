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
