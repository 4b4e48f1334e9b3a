"""Refit the answerability model over several knowledge bases, so one threshold fits any KB.

    python -m retrieval.calibrate [--data ../shared/data] [--folds 5]

Without --data: the repo's hand-written examples against the sample KB only (a check that the
shipped coefficients still separate them). With --data, three more KBs of the public
development data join (retrieval/data/answerability_examples.jsonl stays in):
  covid-faq  paraphrases.jsonl (answerable) + out_of_scope.jsonl rows 100-199 (not)
  doc2dial   turns.jsonl with their history (answerable) + out_of_scope.jsonl rows 0-99 (not)
  sample     answerability_examples.jsonl + out_of_scope.jsonl rows 0-99 (not)
Each KB weighs the same. It prints leave-one-KB-out results and, as a held-out check, the
brands under data/brands (never fitted on). Paste the printed model into
retrieval/answerability.py (DEFAULT_MODEL) to ship it.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import yaml

EXAMPLES = Path(__file__).parent / "data" / "answerability_examples.jsonl"

Row = tuple[str, list[str], int]  # (text, earlier user turns, 1 = answerable)


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


def _cases(path: Path) -> Iterator[dict[str, Any]]:
    files = [path] if path.is_file() else sorted(path.glob("*.y*ml"))
    for f in files:
        if f.suffix == ".jsonl":
            yield from (json.loads(line) for line in f.read_text(encoding="utf-8").splitlines() if line.strip())
        else:
            yield from (yaml.safe_load(f.read_text(encoding="utf-8")) or {}).get("cases", [])


def suite_rows(path: Path) -> list[Row]:
    """Turns expecting exactly `answer` (1) or only clarify/decline without answer (0)."""
    rows: list[Row] = []
    for case in _cases(path):
        history = [h["text"] for h in case.get("history") or [] if h.get("role") == "user"]
        for turn in case.get("turns", []):
            expect = turn.get("expect") or {}
            action = expect.get("action")
            actions = [action] if isinstance(action, str) else list(action or [])
            if actions == ["answer"]:
                rows.append((turn["user"], list(history), 1))
            elif actions and "answer" not in actions and set(actions) & {"clarify", "decline"}:
                rows.append((turn["user"], list(history), 0))
            history.append(turn["user"])
    return rows


def features(rows: list[Row], kb: Path) -> np.ndarray:
    """answerability_features() of every row against a fresh index of `kb`."""
    from retrieval.index import KnowledgeIndex

    index = KnowledgeIndex()
    index.ingest(kb)
    return np.array([index.answerability_features(t, h or None) for t, h, _ in rows], dtype=np.float64)


def groups(data: Path | None, sample_kb: Path) -> tuple[dict[str, tuple[Path, list[Row]]], dict[str, tuple[Path, list[Row]]]]:
    """(KBs to fit on, held-out KBs) with their rows."""
    own = [(r["text"], r["history"] or [], int(r["answerable"])) for r in load_examples(EXAMPLES)]
    if data is None:
        return {"sample": (sample_kb, own)}, {}
    oos = [(t, [], 0) for t, _, _ in suite_rows(data / "covid-faq" / "out_of_scope.jsonl")]
    fit = {
        "sample": (sample_kb, own + oos[:100]),
        "covid-faq": (data / "covid-faq" / "kb", suite_rows(data / "covid-faq" / "paraphrases.jsonl") + oos[100:]),
        "doc2dial": (data / "doc2dial" / "kb", suite_rows(data / "doc2dial" / "turns.jsonl") + oos[:100]),
    }
    held = {p.parent.name: (p.parent / "kb", suite_rows(p)) for p in sorted((data / "brands").glob("*/suite.yaml"))}
    return fit, held


def fit_model(xs: list[np.ndarray], ys: list[np.ndarray], c: float = 3.0) -> Any:
    """Logistic regression, each KB weighing the same whatever its number of rows."""
    from sklearn.linear_model import LogisticRegression

    weights = np.concatenate([np.full(len(y), 1.0 / len(y)) for y in ys])
    model = LogisticRegression(C=c, max_iter=2000)
    model.fit(np.vstack(xs), np.concatenate(ys), sample_weight=weights / weights.mean())
    return model


def _rates(scores: np.ndarray, y: np.ndarray) -> str:
    answered = float((scores[y == 1] >= 0.5).mean()) if (y == 1).any() else float("nan")
    rejected = float((scores[y == 0] < 0.5).mean()) if (y == 0).any() else float("nan")
    return f"answerable passed {answered:.3f}, not-answerable held {rejected:.3f}"


def main(argv: list[str] | None = None) -> int:
    import knowledge

    from retrieval.answerability import AnswerabilityModel

    sample_kb = Path(knowledge.__file__).parent / "sample"
    parser = argparse.ArgumentParser(prog="python -m retrieval.calibrate", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="the shared development data folder")
    args = parser.parse_args(argv)
    try:
        fit_on, held = groups(args.data, sample_kb)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    x = {name: features(rows, kb) for name, (kb, rows) in {**fit_on, **held}.items()}
    y = {name: np.array([r[2] for r in rows]) for name, (_, rows) in {**fit_on, **held}.items()}
    names = list(fit_on)
    model = fit_model([x[n] for n in names], [y[n] for n in names])
    w = model.coef_[0]
    fitted = AnswerabilityModel(intercept=round(float(model.intercept_[0]), 3), w_dense=round(float(w[0]), 3),
                                w_coverage=round(float(w[1]), 3), w_margin=round(float(w[2]), 3),
                                w_known=round(float(w[3]), 3))
    print(f"fitted on {', '.join(f'{n} ({len(y[n])})' for n in names)}: {fitted!r}")
    for name in names:
        print(f"  {name} (fitted): {_rates(np.array([fitted.score(*f) for f in x[name]]), y[name])}")
        if len(names) > 1:
            rest = [n for n in names if n != name]
            alone = fit_model([x[n] for n in rest], [y[n] for n in rest])
            print(f"  {name} (left out of the fit): {_rates(alone.predict_proba(x[name])[:, 1], y[name])}")
    for name in held:
        print(f"  {name} (held out): {_rates(np.array([fitted.score(*f) for f in x[name]]), y[name])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
