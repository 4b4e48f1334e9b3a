"""Refit the answerability model on hand-written examples against the sample KB.

    python -m retrieval.calibrate [--examples PATH] [--kb DIR] [--folds 5]

Prints cross-validated accuracy and the fitted coefficients; paste them into
retrieval/answerability.py (DEFAULT_MODEL) to ship them.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

EXAMPLES = Path(__file__).parent / "data" / "answerability_examples.jsonl"


def load_examples(path: Path) -> list[dict]:
    """Rows of {"text", "answerable", optional "history"}; one clear error for a bad line."""
    rows: list[dict] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            rows.append({"text": str(row["text"]), "answerable": bool(row["answerable"]), "history": row.get("history")})
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{n}: not an example row ({exc})") from exc
    return rows


def features(rows: list[dict], kb: Path) -> np.ndarray:
    """answerability_features() of every example against a fresh index of `kb`."""
    from retrieval.index import KnowledgeIndex

    index = KnowledgeIndex()
    index.ingest(kb)
    return np.array([index.answerability_features(r["text"], r["history"]) for r in rows], dtype=np.float64)


def fit(x: np.ndarray, y: np.ndarray, folds: int) -> tuple[object, float]:
    """Logistic regression (mild L2) and its stratified k-fold accuracy."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    model = LogisticRegression(C=10.0, max_iter=1000)
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    accuracy = float(cross_val_score(model, x, y, cv=cv, scoring="accuracy").mean())
    model.fit(x, y)
    return model, accuracy


def main(argv: list[str] | None = None) -> int:
    import knowledge

    sample_kb = Path(knowledge.__file__).parent / "sample"
    parser = argparse.ArgumentParser(prog="python -m retrieval.calibrate", description=__doc__)
    parser.add_argument("--examples", type=Path, default=EXAMPLES)
    parser.add_argument("--kb", type=Path, default=sample_kb)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args(argv)
    try:
        rows = load_examples(args.examples)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    x = features(rows, args.kb)
    y = np.array([r["answerable"] for r in rows], dtype=int)
    model, accuracy = fit(x, y, args.folds)
    w = model.coef_[0]
    print(f"examples: {len(rows)} ({int(y.sum())} answerable, {int(len(y) - y.sum())} not)")
    print(f"cross-validated accuracy ({args.folds}-fold): {accuracy:.3f}")
    print(f"training accuracy: {float(model.score(x, y)):.3f}")
    from retrieval.answerability import AnswerabilityModel

    fitted = AnswerabilityModel(
        intercept=round(float(model.intercept_[0]), 3),
        w_dense=round(float(w[0]), 3),
        w_coverage=round(float(w[1]), 3),
        w_margin=round(float(w[2]), 3),
        w_known=round(float(w[3]), 3),
    )
    print(f"fitted: {fitted!r}")
    wrong = [(r["text"], fitted.score(*f)) for r, f, t in zip(rows, x, y) if (fitted.score(*f) >= 0.5) != bool(t)]
    for text, score in wrong:
        print(f"  misjudged {score:.2f}  {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
