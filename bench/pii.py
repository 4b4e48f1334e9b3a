"""Personal-data redaction against outside test data: `python -m bench pii --data ../shared/data/pii`.

Reads `spans.jsonl` (sentences with gold spans, Presidio entity types) and `vectors.jsonl`
(recognizer test vectors: `redact` rows with spans, `keep` rows that are checksum- or
format-invalid lookalikes) and prints, per kind the product claims:

- recall: gold values whose every letter and digit was redacted (and, beside it, the share
  redacted under the right kind); partial: some but not all of them redacted;
- precision: findings of the kind that sit on a gold value of a matching type;
- over-redaction: findings on no gold value at all, and sentences without any gold value
  that changed (sentences of spans.jsonl and redact vectors);
- keep vectors redacted, by kind (a sensitive kind there is a checksum failure given the
  kind of a valid value; ACCOUNT is the deliberate label of a mistyped account number),
  the redactor's time per 1,000
  characters on short messages and on long pastes;
- with the brand suites and `labelled/notinject.jsonl` beside the data folder: user turns
  changed and any PASSWORD found there (ordinary sentences must not lose words).

`--redactor MODULE` measures another module with the same `redact(text)` (a baseline copy).
"""
from __future__ import annotations

import argparse
import importlib
import json
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Callable

import yaml

# Presidio's entity types -> the kind this product would give them.
KIND_OF = {
    "CREDIT_CARD": "CARD", "IBAN_CODE": "IBAN", "US_SSN": "SSN", "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE", "STREET_ADDRESS": "ADDRESS", "IP_ADDRESS": "IP",
    "US_DRIVER_LICENSE": "NATIONAL_ID", "PERSON": "NAME",
}
# Gold types a finding of each kind may rightly cover (an address finding on the zip code or
# the town of that address is right; ACCOUNT is the catch-all for long identifiers).
MATCHES = {
    "CARD": {"CREDIT_CARD"}, "IBAN": {"IBAN_CODE"}, "SSN": {"US_SSN"}, "EMAIL": {"EMAIL_ADDRESS"},
    "PHONE": {"PHONE_NUMBER"}, "ADDRESS": {"STREET_ADDRESS", "ZIP_CODE", "GPE"},
    "IP": {"IP_ADDRESS"}, "NATIONAL_ID": {"US_DRIVER_LICENSE", "US_SSN"}, "NAME": {"PERSON"},
    "ACCOUNT": {"CREDIT_CARD", "IBAN_CODE", "US_DRIVER_LICENSE", "US_SSN"},
}
TARGETS = {"CARD": 0.99, "IBAN": 0.99, "SSN": 0.99, "EMAIL": 0.99, "PHONE": 0.97, "ADDRESS": 0.90}
SENSITIVE = {"CARD", "IBAN", "SSN", "NATIONAL_ID", "PASSWORD", "PIN", "OTP"}
RESULTS = Path(__file__).resolve().parent / "results"

Span = tuple[int, int, str]


def load(data: Path) -> tuple[list[tuple[str, list[Span]]], list[tuple[str, list[Span], str]]]:
    """(sentences with gold spans) and (keep vectors: text, [], type) from the data folder."""
    scored: list[tuple[str, list[Span]]] = []
    keep: list[tuple[str, list[Span], str]] = []
    for line in (data / "spans.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            scored.append((row["text"], [(s["start"], s["end"], s["type"]) for s in row["spans"]]))
    for line in (data / "vectors.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        if row["expect"] == "redact":
            scored.append((row["text"], [(a, b, row["type"]) for a, b in row["spans"]]))
        else:
            keep.append((row["text"], [], row["type"]))
    return scored, keep


def _covered(text: str, start: int, end: int, found: list[Span]) -> tuple[int, int, set[str]]:
    """(letters/digits of text[start:end], how many of them some finding covers, those findings' kinds)."""
    total = hit = 0
    kinds: set[str] = set()
    for i in range(start, end):
        if not text[i].isalnum():
            continue
        total += 1
        for a, b, k in found:
            if a <= i < b:
                hit += 1
                kinds.add(k)
                break
    return total, hit, kinds


def score(redact: Callable[[str], Any], scored: list[tuple[str, list[Span]]],
          keep: list[tuple[str, list[Span], str]], show: int = 0) -> dict[str, Any]:
    gold_n: Counter[str] = Counter()
    removed: Counter[str] = Counter()
    right_kind: Counter[str] = Counter()
    partial: Counter[str] = Counter()
    misses: dict[str, list[str]] = defaultdict(list)
    f_all: Counter[str] = Counter()
    f_tp: Counter[str] = Counter()
    f_other: Counter[str] = Counter()
    f_none: Counter[str] = Counter()
    over_examples: dict[str, list[str]] = defaultdict(list)
    clean_total = clean_changed = 0
    for text, gold in scored:
        red = redact(text)
        found = [(s.start, s.end, s.kind) for s in red.spans]
        if not gold:
            clean_total += 1
            clean_changed += red.text != text
        for start, end, typ in gold:
            gold_n[typ] += 1
            total, hit, kinds = _covered(text, start, end, found)
            if total and hit == total:
                removed[typ] += 1
                if KIND_OF.get(typ) in kinds:
                    right_kind[typ] += 1
            elif hit:
                partial[typ] += 1
            if (not total or hit < total) and len(misses[typ]) < show:
                misses[typ].append(f"{text[start:end]!r} in {red.text[:160]!r}")
        for a, b, kind in found:
            f_all[kind] += 1
            over = [t for s, e, t in gold if s < b and a < e]
            if any(t in MATCHES.get(kind, set()) for t in over):
                f_tp[kind] += 1
            elif over:
                f_other[kind] += 1
            else:
                f_none[kind] += 1
                if len(over_examples[kind]) < show:
                    over_examples[kind].append(f"{text[a:b]!r} in {text[:160]!r}")
    keep_any = keep_sensitive = 0
    keep_kinds: Counter[str] = Counter()
    keep_examples = []
    for text, _, typ in keep:
        red = redact(text)
        kinds = {s.kind for s in red.spans}
        keep_any += bool(kinds)
        keep_kinds.update(kinds)
        if kinds & SENSITIVE:
            keep_sensitive += 1
        if kinds and len(keep_examples) < max(show, 5):
            keep_examples.append(f"{typ}: {text!r} -> {red.text!r}")
    per_type = {}
    for typ in sorted(gold_n, key=lambda t: -gold_n[t]):
        per_type[typ] = {
            "kind": KIND_OF.get(typ), "gold": gold_n[typ],
            "recall": round(removed[typ] / gold_n[typ], 3),
            "right_kind": round(right_kind[typ] / gold_n[typ], 3),
            "partial": partial[typ], "target": TARGETS.get(KIND_OF.get(typ, ""), None),
        }
    per_kind = {
        k: {"findings": f_all[k], "precision": round(f_tp[k] / f_all[k], 3) if f_all[k] else None,
            "on_other_pii": f_other[k], "on_no_pii": f_none[k]}
        for k in sorted(f_all)
    }
    return {
        "per_type": per_type, "per_kind": per_kind,
        "clean_sentences": clean_total, "clean_changed": clean_changed,
        "keep_vectors": len(keep), "keep_redacted": keep_any, "keep_sensitive": keep_sensitive,
        "keep_kinds": dict(keep_kinds), "keep_examples": keep_examples,
        "misses": dict(misses), "over_examples": dict(over_examples),
    }


def timing(redact: Callable[[str], Any], texts: list[str], repeats: int = 3) -> dict[str, float]:
    """Median ms per 1,000 characters: each short message alone, and long pastes of 1-2k characters."""
    def per_k(chunks: list[str]) -> float:
        rates = []
        for chunk in chunks:
            best = float("inf")
            for _ in range(repeats):
                t0 = time.perf_counter()
                redact(chunk)
                best = min(best, time.perf_counter() - t0)
            rates.append(best * 1000 / max(1, len(chunk)) * 1000)
        return round(statistics.median(rates), 3)

    pastes, cur = [], ""
    for t in texts:
        cur = f"{cur}\n{t}" if cur else t
        if len(cur) >= 1500:
            pastes.append(cur)
            cur = ""
    for t in texts[:50]:  # warm caches (phonenumbers metadata loads lazily)
        redact(t)
    return {"short_ms_per_1k_chars": per_k(texts), "paste_ms_per_1k_chars": per_k(pastes),
            "pastes": len(pastes), "paste_chars_median": statistics.median(len(p) for p in pastes) if pastes else 0}


def ordinary_sentences(data: Path) -> dict[str, list[str]]:
    """User turns of the brand suites and every row of labelled/notinject.jsonl, by source."""
    out: dict[str, list[str]] = {}
    for suite in sorted((data.parent / "brands").glob("*/suite.yaml")):
        doc = yaml.safe_load(suite.read_text(encoding="utf-8")) or {}
        turns = []
        for case in doc.get("cases", []):
            turns += [h["text"] for h in case.get("history") or [] if h.get("role") == "user"]
            turns += [t["user"] for t in case.get("turns") or []]
        out[f"brands/{suite.parent.name}"] = turns
    notinject = data.parent / "labelled" / "notinject.jsonl"
    if notinject.exists():
        out["labelled/notinject"] = [json.loads(line)["text"] for line in
                                     notinject.read_text(encoding="utf-8").splitlines() if line.strip()]
    return out


def ordinary(redact: Callable[[str], Any], corpora: dict[str, list[str]], show: int) -> dict[str, Any]:
    out = {}
    for name, texts in corpora.items():
        changed, kinds, passwords, examples = 0, Counter(), 0, []
        for t in texts:
            red = redact(t)
            if red.text != t:
                changed += 1
                kinds.update(s.kind for s in red.spans)
                passwords += sum(s.kind == "PASSWORD" for s in red.spans)
                if len(examples) < show:
                    examples.append(red.text[:200])
        out[name] = {"sentences": len(texts), "changed": changed, "kinds": dict(kinds),
                     "password_findings": passwords, "changed_examples": examples}
    return out


def _fmt(v: Any) -> str:
    return "–" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="the pii data folder (spans.jsonl, vectors.jsonl)")
    ap.add_argument("--redactor", default="guardrails.pii", help="module with redact(text) to measure")
    ap.add_argument("--show", type=int, default=0, help="print up to N misses / over-redactions per kind")
    ap.add_argument("--no-ordinary", action="store_true", help="skip the brand suites and notinject check")
    ap.add_argument("--out", type=Path, default=RESULTS / "pii.json")
    args = ap.parse_args(argv)
    if not (args.data / "spans.jsonl").exists():
        print(f"no spans.jsonl in {args.data}: pass the pii data folder, e.g. --data ../shared/data/pii",
              file=sys.stderr)
        return 2
    redact = importlib.import_module(args.redactor).redact
    scored, keep = load(args.data)
    result = score(redact, scored, keep, args.show)
    result["timing"] = timing(redact, [t for t, _ in scored])
    if not args.no_ordinary:
        result["ordinary"] = ordinary(redact, ordinary_sentences(args.data), args.show)
    result["redactor"] = args.redactor

    print(f"redactor: {args.redactor}   data: {args.data}")
    print("\n| gold type | kind | gold | recall | right kind | partial | target |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for typ, r in result["per_type"].items():
        if r["kind"] is None:
            continue
        print(f"| {typ} | {r['kind']} | {r['gold']} | {_fmt(r['recall'])} | {_fmt(r['right_kind'])} "
              f"| {r['partial']} | {_fmt(r['target'])} |")
    print("\n| kind | findings | precision | on other PII | over-redaction (on no PII) |")
    print("| --- | --- | --- | --- | --- |")
    for kind, r in result["per_kind"].items():
        print(f"| {kind} | {r['findings']} | {_fmt(r['precision'])} | {r['on_other_pii']} | {r['on_no_pii']} |")
    print(f"\nsentences without any gold value changed: {result['clean_changed']} / {result['clean_sentences']}")
    print(f"keep vectors (checksum/format-invalid lookalikes) redacted: {result['keep_redacted']} / "
          f"{result['keep_vectors']} {result['keep_kinds']}; as a sensitive kind: {result['keep_sensitive']}")
    if args.show:
        for ex in result["keep_examples"]:
            print(f"  keep vector redacted: {ex}")
    t = result["timing"]
    print(f"time per 1,000 characters: {t['short_ms_per_1k_chars']} ms (one message each), "
          f"{t['paste_ms_per_1k_chars']} ms (pastes of ~{t['paste_chars_median']:.0f} characters, n={t['pastes']})")
    for name, r in result.get("ordinary", {}).items():
        print(f"{name}: {r['changed']} / {r['sentences']} user sentences changed {r['kinds']}, "
              f"PASSWORD findings {r['password_findings']}")
        for ex in r["changed_examples"]:
            print(f"    {ex!r}")
    if args.show:
        for typ, items in result["misses"].items():
            for m in items:
                print(f"  miss {typ}: {m}")
        for kind, items in result["over_examples"].items():
            for m in items:
                print(f"  over {kind}: {m}")
    for key in ("misses", "over_examples", "keep_examples"):  # values stay out of result files
        result.pop(key)
    for r in result.get("ordinary", {}).values():
        r.pop("changed_examples")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
