"""How likely the knowledge base answers a query: a small logistic model over retrieval signals.

Features of the best passage: its cosine similarity to the (context-resolved) query, the
share of query terms it contains, and its margin over the best passage of another
document. NOTE: the coefficients below are provisional hand-set values, NOT yet fitted;
they still need fitting on knowledge/sample in-scope vs out-of-scope questions.
"""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class AnswerabilityModel:
    intercept: float = -9.0
    w_dense: float = 14.0
    w_coverage: float = 3.0
    w_margin: float = 4.0

    def score(self, dense: float, coverage: float, margin: float) -> float:
        """Probability-like score in [0, 1]."""
        z = (
            self.intercept
            + self.w_dense * dense
            + self.w_coverage * coverage
            + self.w_margin * margin
        )
        return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))


DEFAULT_MODEL = AnswerabilityModel()
