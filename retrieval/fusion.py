"""Combine the dense and the lexical ranking of the same chunks into one score."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FusionWeights:
    """How much each signal counts. Defaults were chosen on the sample KB, then checked on bench."""

    method: str = "convex"  # "convex": weighted sum of scaled scores; "rrf": reciprocal rank fusion
    dense: float = 0.7
    lexical: float = 0.3
    rrf_k: int = 60


def rrf(dense: np.ndarray, lexical: np.ndarray, weights: FusionWeights) -> np.ndarray:
    """Weighted reciprocal rank fusion over all rows (rank 1 = best)."""
    n = dense.shape[0]
    out = np.zeros(n, dtype=np.float32)
    for scores, weight in ((dense, weights.dense), (lexical, weights.lexical)):
        if weight <= 0:
            continue
        order = np.argsort(-scores, kind="stable")
        ranks = np.empty(n, dtype=np.float32)
        ranks[order] = np.arange(1, n + 1, dtype=np.float32)
        contribution = weight / (weights.rrf_k + ranks)
        # A chunk with no lexical match at all gets no lexical vote.
        if scores is lexical:
            contribution[scores <= 0] = 0.0
        out += contribution
    return out


def convex(dense: np.ndarray, lexical: np.ndarray, weights: FusionWeights) -> np.ndarray:
    """dense cosine plus BM25 scaled to [0, 1] by this query's best BM25 score."""
    top = float(lexical.max()) if lexical.size else 0.0
    scaled = lexical / top if top > 0 else np.zeros_like(lexical)
    return (weights.dense * dense + weights.lexical * scaled).astype(np.float32)


def fuse(dense: np.ndarray, lexical: np.ndarray, weights: FusionWeights) -> np.ndarray:
    """One fused score per row; higher is better."""
    if weights.method == "rrf":
        return rrf(dense, lexical, weights)
    return convex(dense, lexical, weights)
