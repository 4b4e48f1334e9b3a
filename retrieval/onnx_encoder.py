"""The sentence encoder on ONNX Runtime: the same vectors as sentence-transformers, in half the time.

A customer's question is one short sentence; PyTorch spends most of its ~7 ms on per-op
overhead there, ONNX Runtime ~3.5 ms (2-core box, one thread each). The ONNX graph is
exported once per machine from the local model folder (nothing is downloaded) into a cache
folder, checked against PyTorch's output on a few sentences, and used only if it agrees.
Only the mean-pooled, normalised layout of all-MiniLM-L6-v2 is supported; any other model
folder stays on PyTorch.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger("concierge.embeddings")

EXPORT_VERSION = "1"  # bump when the export below changes: old cache files are then ignored
_MODULES = ["sentence_transformers.models.Transformer", "sentence_transformers.models.Pooling",
            "sentence_transformers.models.Normalize"]
_PROBES = ["Where is my order?", "I was charged twice for the same thing, please refund one of them.",
           "ok", "Wie lange dauert der Versand nach Österreich?"]
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_TOLERANCE = 1e-4  # max abs difference per vector component against PyTorch


class UnsupportedModel(Exception):
    """The model folder is not one this encoder reproduces exactly."""


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "concierge" / "onnx"


def _layout(model_dir: Path) -> int:
    """The max sequence length, after checking the folder is Transformer -> mean Pooling -> Normalize."""
    try:
        modules = json.loads((model_dir / "modules.json").read_text(encoding="utf-8"))
        pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text(encoding="utf-8"))
        config = json.loads((model_dir / "sentence_bert_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UnsupportedModel(f"cannot read the model layout: {exc}") from None
    if [m.get("type") for m in modules] != _MODULES:
        raise UnsupportedModel(f"modules are {[m.get('type') for m in modules]}, not {_MODULES}")
    modes = {k for k, v in pooling.items() if k.startswith("pooling_mode") and v}
    if modes != {"pooling_mode_mean_tokens"}:
        raise UnsupportedModel(f"pooling is {sorted(modes)}, not mean")
    return int(config.get("max_seq_length") or 256)


def _cache_key(model_dir: Path) -> str:
    digest = hashlib.sha256(EXPORT_VERSION.encode())
    for name in ("config.json", "modules.json", "tokenizer.json"):
        path = model_dir / name
        digest.update(path.read_bytes() if path.exists() else b"-")
    for weights in sorted(model_dir.glob("*.safetensors")) + sorted(model_dir.glob("*.bin")):
        stat = weights.stat()
        digest.update(f"{weights.name}:{stat.st_size}:{int(stat.st_mtime)}".encode())
    return digest.hexdigest()[:16]


def _mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    weights = mask[..., None].astype(np.float32)
    pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
    return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)


class OnnxEncoder:
    """tokenize -> ONNX transformer -> mean pooling -> L2 normalisation, on one CPU thread."""

    def __init__(self, model_dir: Path, onnx_path: Path, max_length: int, batch_size: int = 32) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        # The tokenizers library itself, not transformers': the same tokenizer.json, and a worker
        # then never imports torch (about 300 MB less per process).
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length)
        self.tokenizer.no_padding()
        options = ort.SessionOptions()
        # One thread, no spinning: turns are one sentence each and several workers share the cores.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.max_length = max_length
        self.batch_size = batch_size
        self.dim = int(self.session.get_outputs()[0].shape[-1])

    @classmethod
    def load(cls, model_dir: str | Path, cache_dir: Path | None = None) -> "OnnxEncoder":
        """The encoder for model_dir, exporting (and checking) the ONNX graph on first use."""
        model_dir = Path(model_dir)
        max_length = _layout(model_dir)
        cache = Path(cache_dir) if cache_dir else default_cache_dir()
        onnx_path = cache / f"{model_dir.name}-{_cache_key(model_dir)}.onnx"
        if onnx_path.exists():
            try:
                return cls(model_dir, onnx_path, max_length)
            except Exception as exc:  # noqa: BLE001 - a truncated or foreign file: export it again
                log.warning("the cached ONNX model does not load; exporting it again",
                            extra={"event": "onnx_reexport", "path": str(onnx_path), "error": str(exc)[:200]})
        _export(model_dir, onnx_path, max_length)
        return cls(model_dir, onnx_path, max_length)

    def encode(self, texts: list[str]) -> np.ndarray:
        # Similar lengths together: padding is wasted work.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            encodings = self.tokenizer.encode_batch([texts[i] for i in rows])
            width = max(len(e.ids) for e in encodings)
            arrays = {name: np.zeros((len(rows), width), dtype=np.int64) for name in _INPUTS}
            for n, e in enumerate(encodings):  # pad with 0s (BERT's [PAD] id), masked out
                arrays["input_ids"][n, : len(e.ids)] = e.ids
                arrays["attention_mask"][n, : len(e.ids)] = e.attention_mask
                arrays["token_type_ids"][n, : len(e.ids)] = e.type_ids
            hidden = self.session.run(None, {name: arrays[name] for name in self.inputs})[0]
            out[rows] = _mean_pool(hidden, arrays["attention_mask"])
        return out


def _export(model_dir: Path, onnx_path: Path, max_length: int) -> None:
    """Export with torch.onnx (TorchScript exporter), check it against PyTorch, then move it in place."""
    import onnxruntime as ort
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    model = AutoModel.from_pretrained(str(model_dir), local_files_only=True).eval()
    sample = tokenizer(_PROBES, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    names = [n for n in _INPUTS if n in sample]

    class Hidden(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            return self.inner(**dict(zip(names, inputs))).last_hidden_state

    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=onnx_path.parent, suffix=".onnx.tmp")
    os.close(fd)
    try:
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # TracerWarnings about shapes that are dynamic axes here
            # eval() on the wrapper too: the exporter traces it as it is, and a module in training
            # mode traces dropout (measured: vectors off by 0.1, which the check below caught).
            torch.onnx.export(Hidden(model).eval(), tuple(sample[n] for n in names), tmp, input_names=names,
                              output_names=["last_hidden_state"], opset_version=17, dynamo=False,
                              dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]})
            expected = _mean_pool(model(**{n: sample[n] for n in names}).last_hidden_state.numpy(),
                                  sample["attention_mask"].numpy())
        session = ort.InferenceSession(tmp, providers=["CPUExecutionProvider"])
        got = _mean_pool(session.run(None, {n: sample[n].numpy() for n in names})[0], sample["attention_mask"].numpy())
        diff = float(np.abs(got - expected).max())
        if diff > _TOLERANCE:
            raise UnsupportedModel(f"the ONNX export differs from PyTorch by {diff:.2e}")
        os.replace(tmp, onnx_path)  # atomic: a concurrent process sees the whole file or none
        log.info("exported the embedding model to ONNX", extra={"event": "onnx_export", "path": str(onnx_path)})
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
