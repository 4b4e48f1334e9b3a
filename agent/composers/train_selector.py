"""Train the answer selector (agent/composers/selection.py) and report held-out accuracy.

    python -m agent.composers.train_selector --data ../shared/data [--out PATH] [--eval-only]

Each training example is one question: the real retriever runs over its knowledge base, the
candidate sentences of the top passages get the selector's features, and the sentences that
hold the answer are the positives. Sources:

- doc2dial (`labelled/doc2dial_answers.jsonl` over `doc2dial/kb`): a sentence of the gold
  document that overlaps the gold answer span (answer_start is a character offset into the
  file body after its front matter);
- each dev brand (`brands/<b>/suite.yaml` over `brands/<b>/kb`) and the repo's own suites over
  `knowledge/sample`: a sentence of a cited document that contains one of a routine turn's
  `contains_any` facts.

The model is a linear score with a softmax over one question's candidates (conditional logit),
L2-regularised. Reported: top-1 accuracy (the best-scored sentence is a positive) on held-out
dialogues (5 folds grouped by dialogue_id) and leave-one-brand-out, next to the hand-weighted
score it replaced.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agent.composers.selection import (FEATURES, MODEL_PATH, SelectorModel, TermStats,
                                       candidate_pool, features, kb_corpus, terms)

REPO = Path(__file__).resolve().parents[2]
PASSAGES = 3  # as ExtractiveComposer.PASSAGES_CONSIDERED
HISTORY = 3  # previous user turns searched with a follow-up, as the engine does


@dataclass
class Group:
    source: str  # "doc2dial" or a brand name
    split: str  # dialogue id / case id: examples that must stay on one side of a split
    x: np.ndarray
    y: np.ndarray  # 1.0 for sentences that hold the answer
    baseline: np.ndarray  # the hand-weighted score this model replaced


def _front_matter_body(text: str) -> tuple[dict[str, str], str]:
    meta: dict[str, str] = {}
    if text.startswith("---\n"):
        end = text.index("\n---\n", 4)
        for line in text[4:end].split("\n"):
            key, _, value = line.partition(":")
            meta[key.strip()] = value.strip().strip('"')
        text = text[end + 5:]
        if text.startswith("\n"):
            text = text[1:]
    return meta, text


def _overlaps_span(sentence: str, body: str, start: int, end: int, answer: str) -> bool:
    at = body.find(sentence)
    while at >= 0:
        if at < end and at + len(sentence) > start:
            return True
        at = body.find(sentence, at + 1)
    # the chunker may have reflowed the text: fall back to shared words
    s_terms, a_terms = set(terms(sentence)), set(terms(answer))
    return bool(s_terms) and len(s_terms & a_terms) >= 0.6 * min(len(s_terms), len(a_terms))


def _build_index(kb: Path):
    from retrieval.embeddings import get_embedder
    from retrieval.index import KnowledgeIndex

    index = KnowledgeIndex(embedder=get_embedder())
    index.ingest(kb)
    return index


def _group(index, stats: TermStats, question: str, history: list[str], label) -> tuple | None:
    result = index.search(question, k=5, history=history[-HISTORY:] or None)
    passages = result.passages[:PASSAGES]
    pool = candidate_pool(passages)
    if not pool:
        return None
    y = np.array([1.0 if label(passages[c.passage], c.text) else 0.0 for c in pool], dtype=np.float32)
    if not y.any():
        return None  # the answer is not among the candidates: nothing to learn from
    keys = [c.key for c in pool]
    known = index.sentence_vectors(keys)
    missing = [k for k, v in zip(keys, known) if v is None]
    fresh = dict(zip(missing, index.embedder.embed(missing))) if missing else {}
    vectors = np.stack([v if v is not None else fresh[k] for k, v in zip(keys, known)])
    q = index.embedder.embed([question])[0]
    sims = vectors @ q
    x = features(question, pool, passages, sims, stats)
    # the hand-weighted score of the composer before this model, for comparison
    doc_rank: dict[str, int] = {}
    for p in passages:
        doc_rank.setdefault(p.doc_id, len(doc_rank))
    q_words = set(re.findall(r"[a-z0-9]+", question.lower()))
    base = []
    for n, c in enumerate(pool):
        words = set(re.findall(r"[a-z0-9]+", c.key.lower()))
        overlap = len(q_words & words) / max(len(q_words), 1)
        base.append(0.6 * sims[n] + 0.4 * overlap + (0.3, 0.15, 0.0)[doc_rank[passages[c.passage].doc_id]]
                    - 0.01 * c.position)
    return x, y, np.array(base, dtype=np.float32)


def doc2dial_groups(data: Path) -> list[Group]:
    kb = data / "doc2dial" / "kb"
    bodies: dict[str, str] = {}
    for path in kb.rglob("*.md"):
        meta, body = _front_matter_body(path.read_text(encoding="utf-8"))
        bodies[meta.get("id", path.stem)] = body
    index = _build_index(kb)
    stats = TermStats(kb_corpus(index)())
    groups = []
    with open(data / "labelled" / "doc2dial_answers.jsonl", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    for n, row in enumerate(rows):
        body = bodies.get(row["doc_id"])
        if body is None:
            continue
        start = int(row["answer_start"])
        end = start + len(row["answer_text"])

        def label(passage, sentence, row=row, body=body, start=start, end=end) -> bool:
            return passage.doc_id == row["doc_id"] and _overlaps_span(sentence, body, start, end, row["answer_text"])

        history = [h["text"] for h in row.get("history", []) if h.get("role") == "user"]
        built = _group(index, stats, row["question"], history, label)
        if built is not None:
            groups.append(Group("doc2dial", row["dialogue_id"], *built))
        if n % 200 == 0:
            print(f"doc2dial {n}/{len(rows)}: {len(groups)} usable", file=sys.stderr)
    return groups


def suite_groups(source: str, suite_paths: list[Path], kb: Path) -> list[Group]:
    from evals.loader import load_suites

    index = _build_index(kb)
    stats = TermStats(kb_corpus(index)())
    groups = []
    for suite in load_suites(suite_paths):
        for case in suite.cases:
            spec = case.spec
            if "routine" not in spec.tags:
                continue
            history = [h.text for h in spec.history if h.role == "user"]
            for turn in spec.turns:
                expect = turn.expect
                if expect and expect.contains_any and (expect.cites or expect.cites_any):
                    cited = set(expect.cites or []) | set(expect.cites_any or [])
                    facts = [f.lower() for f in expect.contains_any]

                    def label(passage, sentence, cited=cited, facts=facts) -> bool:
                        return passage.doc_id in cited and any(f in sentence.lower() for f in facts)

                    built = _group(index, stats, turn.user, history, label)
                    if built is not None:
                        groups.append(Group(source, f"{source}:{spec.id}", *built))
                history.append(turn.user)
    print(f"{source}: {len(groups)} usable questions", file=sys.stderr)
    return groups


def fit(groups: list[Group], l2: float = 1.0, source_weight: dict[str, float] | None = None) -> SelectorModel:
    """Conditional logit: maximise the softmax probability of the positives in each group."""
    from scipy.optimize import minimize

    rows = np.concatenate([g.x for g in groups])
    mean = rows.mean(axis=0)
    scale = rows.std(axis=0)
    scale[scale < 1e-6] = 1.0
    xs = [(g.x - mean) / scale for g in groups]
    ys = [g.y for g in groups]
    weights = np.array([(source_weight or {}).get(g.source, 1.0) for g in groups])
    weights = weights / weights.sum()

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total = 0.0
        grad = np.zeros_like(w)
        for x, y, gw in zip(xs, ys, weights):
            s = x @ w
            s = s - s.max()
            p = np.exp(s)
            p /= p.sum()
            pos = p[y > 0].sum()
            total -= gw * np.log(pos + 1e-12)
            # d(-log sum_pos p)/dw = E_p[x] - E_{p|pos}[x]
            q = np.where(y > 0, p, 0.0) / max(pos, 1e-12)
            grad += gw * ((p - q) @ x)
        total += 0.5 * l2 * float(w @ w) / len(groups)
        grad += l2 * w / len(groups)
        return total, grad

    result = minimize(loss, np.zeros(len(FEATURES)), jac=True, method="L-BFGS-B", options={"maxiter": 500})
    return SelectorModel(list(FEATURES), mean.astype(np.float32), scale.astype(np.float32),
                         result.x.astype(np.float32))


def top1(model: SelectorModel | None, groups: list[Group]) -> float:
    """Share of questions whose best-scored candidate holds the answer (None model: baseline)."""
    if not groups:
        return float("nan")
    hits = 0
    for g in groups:
        scores = g.baseline if model is None else model.scores(g.x)
        hits += int(g.y[int(np.argmax(scores))] > 0)
    return hits / len(groups)


def evaluate(groups: list[Group], weights: dict[str, float], l2: float) -> dict[str, dict[str, float]]:
    report: dict[str, dict[str, float]] = {}
    d2d = [g for g in groups if g.source == "doc2dial"]
    others = [g for g in groups if g.source != "doc2dial"]
    dialogues = sorted({g.split for g in d2d})
    rng = np.random.default_rng(0)
    rng.shuffle(dialogues)
    folds = 5
    hits_model, hits_base, total = 0.0, 0.0, 0
    for k in range(folds):
        held = set(dialogues[k::folds])
        test = [g for g in d2d if g.split in held]
        train = [g for g in d2d if g.split not in held] + others
        model = fit(train, l2, weights)
        hits_model += top1(model, test) * len(test)
        hits_base += top1(None, test) * len(test)
        total += len(test)
    report["doc2dial (held-out dialogues, 5 folds)"] = {
        "n": total, "selector": hits_model / total, "hand_weighted": hits_base / total}
    for source in sorted({g.source for g in others}):
        test = [g for g in others if g.source == source]
        train = [g for g in groups if g.source != source]
        model = fit(train, l2, weights)
        report[f"{source} (left out)"] = {"n": len(test), "selector": top1(model, test),
                                          "hand_weighted": top1(None, test)}
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="the dev data folder (../shared/data)")
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    parser.add_argument("--cache", type=Path, default=None, help="reuse/keep built features here (.npz)")
    parser.add_argument("--l2", type=float, default=0.1)
    parser.add_argument("--brand-weight", type=float, default=10.0,
                        help="weight of one brand question against one doc2dial question")
    parser.add_argument("--eval-only", action="store_true")
    args = parser.parse_args(argv)

    groups = _load_cache(args.cache) if args.cache and args.cache.exists() else None
    if groups is None:
        groups = doc2dial_groups(args.data)
        for brand in sorted(p for p in (args.data / "brands").iterdir() if (p / "suite.yaml").exists()):
            groups += suite_groups(brand.name, [brand / "suite.yaml"], brand / "kb")
        groups += suite_groups("own", [REPO / "evals" / "suites"], REPO / "knowledge" / "sample")
        if args.cache:
            _save_cache(args.cache, groups)
    weights = {s: args.brand_weight for s in {g.source for g in groups} if s != "doc2dial"}
    report = evaluate(groups, weights, args.l2)
    for name, row in report.items():
        print(f"{name:45s} n={row['n']:5d}  selector top-1 {row['selector']:.3f}  "
              f"hand-weighted {row['hand_weighted']:.3f}")
    if args.eval_only:
        return 0
    model = fit(groups, args.l2, weights)
    counts = {s: sum(1 for g in groups if g.source == s) for s in sorted({g.source for g in groups})}
    model.to_json(args.out, meta={"trained_on": counts, "l2": args.l2, "brand_weight": args.brand_weight,
                                  "held_out": report,
                                  "script": "python -m agent.composers.train_selector --data <shared/data>"})
    for name, w in sorted(zip(FEATURES, model.weights), key=lambda t: -abs(t[1])):
        print(f"  {name:20s} {w:+.3f}")
    print(f"wrote {args.out}")
    return 0


def _save_cache(path: Path, groups: list[Group]) -> None:
    meta = [(g.source, g.split, len(g.y)) for g in groups]
    np.savez_compressed(path, x=np.concatenate([g.x for g in groups]), y=np.concatenate([g.y for g in groups]),
                        b=np.concatenate([g.baseline for g in groups]), meta=json.dumps(meta),
                        features=json.dumps(FEATURES))


def _load_cache(path: Path) -> list[Group] | None:
    data = np.load(path)
    if json.loads(str(data["features"])) != FEATURES:
        return None
    groups, at = [], 0
    for source, split, n in json.loads(str(data["meta"])):
        groups.append(Group(source, split, data["x"][at:at + n], data["y"][at:at + n], data["b"][at:at + n]))
        at += n
    return groups


if __name__ == "__main__":
    raise SystemExit(main())
