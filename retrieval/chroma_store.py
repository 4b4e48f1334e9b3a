"""Chroma as the system of record: chunk vectors plus a per-document manifest.

Two collections per index name: `concierge-<name>` holds one entry per chunk vector
(metadata says which document, which chunk, which field) and `concierge-<name>-manifest`
one entry per document (its content hash), so any process sees the same ingest state.
We compute the embeddings ourselves; Chroma never embeds.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

_PAGE = 2000
# The manifest holds no real vectors; Chroma needs one, so every entry gets this.
_MANIFEST_VECTOR = [1.0]


def parse_chroma_url(url: str) -> tuple[str, int, bool]:
    """(host, port, ssl) of a Chroma server URL such as http://chroma:8000."""
    raw = url if "://" in url else f"http://{url}"
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValueError(f"chroma URL {url!r} is not http(s)://host[:port]")
    ssl = parsed.scheme == "https"
    port = parsed.port or (443 if ssl else 8000)
    return parsed.hostname, port, ssl


def _collection_name(name: str) -> str:
    # Chroma wants 3-512 chars of [a-zA-Z0-9._-]; "kb" alone is too short.
    safe = "".join(c if c.isalnum() or c in "._-" else "-" for c in name).strip("-._") or "kb"
    return f"concierge-{safe}"[:500]


@dataclass
class StoredRows:
    ids: list[str]
    texts: list[str]
    metadatas: list[dict[str, Any]]
    embeddings: np.ndarray


class ChromaStore:
    """Thin wrapper over a Chroma client: chunk entries and the document manifest."""

    def __init__(self, *, path: Path | None = None, url: str | None = None, name: str = "kb") -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        settings = ChromaSettings(anonymized_telemetry=False)
        if url:
            host, port, ssl = parse_chroma_url(url)
            try:
                self.client = chromadb.HttpClient(host=host, port=port, ssl=ssl, settings=settings)
                self.client.heartbeat()
            except Exception as exc:  # noqa: BLE001 - connection problems come in many types
                raise ConnectionError(
                    f"cannot reach the Chroma server at {url} ({type(exc).__name__}); "
                    "start it or unset CONCIERGE_CHROMA_URL to use a local folder"
                ) from exc
            self.location = url
        else:
            if path is None:
                raise ValueError("ChromaStore needs a path or a url")
            path.mkdir(parents=True, exist_ok=True)
            self.client = chromadb.PersistentClient(path=str(path), settings=settings)
            self.location = str(path)
        base = _collection_name(name)
        self.chunks = self.client.get_or_create_collection(
            base, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
        )
        self.manifest = self.client.get_or_create_collection(
            f"{base}-manifest", embedding_function=None, metadata={"generation": 0}
        )
        self.max_batch = max(1, int(self.client.get_max_batch_size()))

    # ------------------------------------------------------------------ manifest
    def documents(self) -> dict[str, dict[str, Any]]:
        """doc_id -> manifest metadata (content_hash, title, url, source, kind, chunks)."""
        out: dict[str, dict[str, Any]] = {}
        offset = 0
        while True:
            page = self.manifest.get(include=["metadatas"], limit=_PAGE, offset=offset)
            for doc_id, meta in zip(page["ids"], page["metadatas"] or []):
                out[doc_id] = dict(meta or {})
            if len(page["ids"]) < _PAGE:
                return out
            offset += _PAGE

    def generation(self) -> int:
        """Bumped by every ingest that changed something; lets other processes notice."""
        meta = self.client.get_collection(self.manifest.name).metadata or {}
        return int(meta.get("generation", 0))

    def bump_generation(self) -> int:
        new = self.generation() + 1
        self.manifest.modify(metadata={"generation": new})
        return new

    def put_documents(self, entries: dict[str, dict[str, Any]]) -> None:
        ids = list(entries)
        for start in range(0, len(ids), self.max_batch):
            batch = ids[start : start + self.max_batch]
            self.manifest.upsert(
                ids=batch,
                embeddings=[_MANIFEST_VECTOR] * len(batch),
                metadatas=[entries[i] for i in batch],
            )

    def delete_documents(self, doc_ids: list[str]) -> None:
        """Remove documents' chunk entries and their manifest entries."""
        for start in range(0, len(doc_ids), 200):
            batch = doc_ids[start : start + 200]
            self.chunks.delete(where={"doc_id": {"$in": batch}})
            self.manifest.delete(ids=batch)

    def delete_chunks_of(self, doc_ids: list[str]) -> None:
        for start in range(0, len(doc_ids), 200):
            self.chunks.delete(where={"doc_id": {"$in": doc_ids[start : start + 200]}})

    # ------------------------------------------------------------------ chunks
    def add_chunks(
        self, ids: list[str], texts: list[str], metadatas: list[dict[str, Any]], embeddings: np.ndarray
    ) -> None:
        for start in range(0, len(ids), self.max_batch):
            end = start + self.max_batch
            self.chunks.add(
                ids=ids[start:end],
                documents=texts[start:end],
                metadatas=metadatas[start:end],
                embeddings=embeddings[start:end],
            )

    def all_chunks(self) -> StoredRows:
        """Every chunk entry with its vector, for the in-memory mirror."""
        ids: list[str] = []
        texts: list[str] = []
        metas: list[dict[str, Any]] = []
        vectors: list[np.ndarray] = []
        offset = 0
        while True:
            page = self.chunks.get(
                include=["documents", "metadatas", "embeddings"], limit=_PAGE, offset=offset
            )
            ids.extend(page["ids"])
            texts.extend(page["documents"] or [])
            metas.extend(dict(m or {}) for m in (page["metadatas"] or []))
            if len(page["ids"]):
                vectors.append(np.asarray(page["embeddings"], dtype=np.float32))
            if len(page["ids"]) < _PAGE:
                break
            offset += _PAGE
        matrix = np.concatenate(vectors) if vectors else np.zeros((0, 0), dtype=np.float32)
        return StoredRows(ids=ids, texts=texts, metadatas=metas, embeddings=matrix)
