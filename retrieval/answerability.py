"""How likely the knowledge base answers a query: a small logistic model over retrieval signals.

Features of the best passage: its cosine similarity to the (context-resolved) query above the
KB's own floor (how close questions no help center answers come to this KB, measured once per
index version from retrieval/data/offtopic_reference.txt), the share of query terms it
contains, its margin over the best passage of another document, and the share of query terms
the KB knows at all. The floor is what makes one threshold fit any KB: raw cosines run higher
on a KB of short FAQ questions than on one of long articles.

Coefficients are fitted by `python -m retrieval.calibrate --data ../shared/data` over four
KBs, each weighing the same: the sample KB with retrieval/data/answerability_examples.jsonl
(hand-written), COVID-QA FAQ paraphrases, doc2dial dialogue turns, and CLINC out-of-scope
queries as the negatives of each (credits in NOTICE).
"""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class AnswerabilityModel:
    # Fitted by `python -m retrieval.calibrate --data ../shared/data` (2026-12-01). Left out of
    # the fit, each KB: sample 0.984 answerable passed / 0.850 off-topic held, covid-faq
    # 0.992 / 0.950, doc2dial 0.868 / 0.950. Brands never fitted on: answerable turns passed
    # kestrel 0.880, munchbox 0.783 (the sample-only model before: 0.77 and 0.62).
    intercept: float = -4.199
    w_dense: float = 11.285  # on the cosine above the KB's floor
    w_coverage: float = 0.751
    w_margin: float = -1.174
    w_known: float = 3.838

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
