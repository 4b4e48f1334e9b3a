"""Small one-vs-rest logistic classifiers over MiniLM sentence embeddings.

Weights are trained offline by `python -m guardrails.train` from guardrails/data/*.jsonl
and committed as guardrails/model/topics.npz; loading is a file read, prediction a
matrix-vector product (microseconds), so no training or heavy work happens at run time.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from guardrails.features import TOPICS

MODEL_PATH = Path(__file__).resolve().parent / "model" / "topics.npz"

# Labels the classifier predicts: the topic reason codes plus two non-escalation classes.
LABELS = (*TOPICS, "manipulation", "out_of_scope")


class ModelFileError(RuntimeError):
    """The committed classifier file is missing or does not match this code."""


@dataclass(frozen=True)
class TopicClassifier:
    labels: tuple[str, ...]
    weights: np.ndarray  # (dim + n_extra, n_labels)
    bias: np.ndarray  # (n_labels,)
    dim: int  # embedding dimension the weights expect

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> "TopicClassifier":
        """Read the committed weights; raises ModelFileError with what to do when unusable."""
        if not path.exists():
            raise ModelFileError(f"{path} is missing: run `python -m guardrails.train` to build it")
        with np.load(path, allow_pickle=False) as z:
            labels = tuple(str(x) for x in z["labels"])
            weights = z["weights"].astype(np.float32)
            bias = z["bias"].astype(np.float32)
            dim = int(z["dim"])
        if weights.shape != (weights.shape[0], len(labels)) or bias.shape != (len(labels),):
            raise ModelFileError(f"{path} has inconsistent shapes; retrain with `python -m guardrails.train`")
        return cls(labels=labels, weights=weights, bias=bias, dim=dim)

    def save(self, path: Path = MODEL_PATH) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            path, labels=np.array(self.labels), weights=self.weights.astype(np.float16).astype(np.float32),
            bias=self.bias, dim=np.array(self.dim),
        )

    def predict(self, features: np.ndarray) -> dict[str, float]:
        """Probability per label for one feature vector (embedding + extra features)."""
        if features.shape[-1] != self.weights.shape[0]:
            raise ModelFileError(
                f"feature size {features.shape[-1]} != model input {self.weights.shape[0]}; "
                "the embedding model changed: retrain with `python -m guardrails.train`"
            )
        z = features.astype(np.float32) @ self.weights + self.bias
        p = 1.0 / (1.0 + np.exp(-z))
        return {label: float(p[i]) for i, label in enumerate(self.labels)}
