"""Combine the dense and the lexical ranking of the same chunks into one score."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FusionWeights:
    """How much each signal counts. Defaults were chosen on the sample KB, then checked on bench.

    FAQ rows (chunks that carry their own question) get their own pair of weights: their
    dense score is a question-to-question match, the symmetric task MiniLM was trained for
    (paraphrase pairs), and it is more reliable than BM25 over one short question; for
    document passages, where the dense match is question-to-passage, BM25 counts more.
    """

    method: str = "convex"  # "convex": weighted sum of scaled scores; "rrf": reciprocal rank fusion
    dense: float = 0.7
    lexical: float = 0.3
    faq_dense: float = 0.9
    faq_lexical: float = 0.1
    rrf_k: int = 60

    def per_row(self, faq_rows: np.ndarray | None, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(dense weight, lexical weight) of every row."""
        dense = np.full(n, self.dense, dtype=np.float32)
        lexical = np.full(n, self.lexical, dtype=np.float32)
        if faq_rows is not None and faq_rows.any():
            dense[faq_rows] = self.faq_dense
            lexical[faq_rows] = self.faq_lexical
        return dense, lexical


def rrf(dense: np.ndarray, lexical: np.ndarray, weights: FusionWeights, faq_rows: np.ndarray | None = None) -> np.ndarray:
    """Weighted reciprocal rank fusion over all rows (rank 1 = best)."""
    n = dense.shape[0]
    out = np.zeros(n, dtype=np.float32)
    w_dense, w_lexical = weights.per_row(faq_rows, n)
    for scores, weight in ((dense, w_dense), (lexical, w_lexical)):
        order = np.argsort(-scores, kind="stable")
        ranks = np.empty(n, dtype=np.float32)
        ranks[order] = np.arange(1, n + 1, dtype=np.float32)
        contribution = weight / (weights.rrf_k + ranks)
        # A chunk with no lexical match at all gets no lexical vote.
        if scores is lexical:
            contribution[scores <= 0] = 0.0
        out += contribution
    return out


def convex(dense: np.ndarray, lexical: np.ndarray, weights: FusionWeights, faq_rows: np.ndarray | None = None) -> np.ndarray:
    """dense cosine plus BM25 scaled to [0, 1] by this query's best BM25 score."""
    top = float(lexical.max()) if lexical.size else 0.0
    scaled = lexical / top if top > 0 else np.zeros_like(lexical)
    w_dense, w_lexical = weights.per_row(faq_rows, dense.shape[0])
    return (w_dense * dense + w_lexical * scaled).astype(np.float32)


def fuse(dense: np.ndarray, lexical: np.ndarray, weights: FusionWeights, faq_rows: np.ndarray | None = None) -> np.ndarray:
    """One fused score per row; higher is better. `faq_rows` marks rows that are FAQ entries."""
    if weights.method == "rrf":
        return rrf(dense, lexical, weights, faq_rows)
    return convex(dense, lexical, weights, faq_rows)
