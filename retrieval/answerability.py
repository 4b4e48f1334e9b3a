"""How likely the knowledge base answers a query: a small logistic model over retrieval signals.

Features of the best passage: its cosine similarity to the (context-resolved) query, the
share of query terms it contains, its margin over the best passage of another document,
and the share of query terms the KB knows at all. Coefficients are fitted by
`python -m retrieval.calibrate` on retrieval/data/answerability_examples.jsonl
(hand-written in-scope questions about knowledge/sample vs out-of-scope ones).
"""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class AnswerabilityModel:
    # Fitted by `python -m retrieval.calibrate` (5-fold CV accuracy 0.940 on 350 examples).
    intercept: float = -8.747
    w_dense: float = 9.263
    w_coverage: float = 4.05
    w_margin: float = -0.924
    w_known: float = 3.784

    def score(self, dense: float, coverage: float, margin: float, known: float = 1.0) -> float:
        """Probability-like score in [0, 1]."""
        z = (
            self.intercept
            + self.w_dense * dense
            + self.w_coverage * coverage
            + self.w_margin * margin
            + self.w_known * known
        )
        return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))


DEFAULT_MODEL = AnswerabilityModel()
