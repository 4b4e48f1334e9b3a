"""The ONNX Runtime embedder gives PyTorch's vectors, exports once, and steps aside for models it
cannot reproduce (real model, real export, real ONNX Runtime)."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from retrieval.embeddings import Embedder, default_model_path
from retrieval.onnx_encoder import UnsupportedModel

TEXTS = [
    "Where is my order?",
    "I was charged twice for order 4417 and want one of the payments back. " * 6,
    "ok",
    "",
    "Wie lange dauert der Versand nach Österreich? 🇦🇹",
    "word " * 400,  # over the model's 256 tokens: truncated the same way
]


@pytest.fixture(scope="module")
def torch_vectors() -> np.ndarray:
    return Embedder(default_model_path(), backend="torch").embed(TEXTS)


def test_onnx_vectors_are_pytorchs_and_the_export_is_reused(tmp_path, torch_vectors):
    onnx = Embedder(default_model_path(), backend="onnx", cache_dir=tmp_path)
    assert onnx.backend == "onnx"
    assert float(np.abs(onnx.embed(TEXTS) - torch_vectors).max()) < 1e-5
    # One text at a time (no padding) and all at once (padded) agree too.
    singles = np.stack([onnx.embed([t])[0] for t in TEXTS])
    assert float(np.abs(singles - torch_vectors).max()) < 1e-5
    exported = list(tmp_path.glob("*.onnx"))
    assert len(exported) == 1
    stamp = exported[0].stat().st_mtime_ns
    again = Embedder(default_model_path(), backend="onnx", cache_dir=tmp_path)
    assert again.embed(TEXTS[:1]).shape == (1, 384)
    assert exported[0].stat().st_mtime_ns == stamp  # loaded from the cache, not exported again


def test_a_damaged_cached_export_is_replaced(tmp_path, torch_vectors):
    Embedder(default_model_path(), backend="onnx", cache_dir=tmp_path)
    (cached,) = tmp_path.glob("*.onnx")
    cached.write_bytes(b"not an onnx graph")
    repaired = Embedder(default_model_path(), backend="onnx", cache_dir=tmp_path)
    assert float(np.abs(repaired.embed(TEXTS) - torch_vectors).max()) < 1e-5
    assert cached.stat().st_size > 1_000_000


def _cls_pooled_copy(tmp_path: Path) -> Path:
    """The packaged model folder with CLS pooling instead of mean: not the layout we reproduce."""
    src = Path(default_model_path())
    dst = tmp_path / "cls-model"
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("*.safetensors", "*.bin"))
    for weights in src.glob("*.safetensors"):
        os.symlink(weights, dst / weights.name)
    pooling = json.loads((dst / "1_Pooling" / "config.json").read_text())
    pooling.update(pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    (dst / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    return dst


def test_a_model_it_cannot_reproduce_stays_on_pytorch(tmp_path):
    model = _cls_pooled_copy(tmp_path)
    with pytest.raises(UnsupportedModel, match="pooling"):
        Embedder(str(model), backend="onnx", cache_dir=tmp_path / "cache")
    auto = Embedder(str(model), backend="auto", cache_dir=tmp_path / "cache")
    assert auto.backend == "torch"
    assert auto.embed(["Where is my order?"]).shape == (1, 384)
    assert not (tmp_path / "cache").exists()  # nothing was exported for it
