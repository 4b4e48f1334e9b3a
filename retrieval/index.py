"""KnowledgeIndex: hybrid (dense + BM25) search over a KB, stored in Chroma.

Chroma is the system of record (chunk vectors + a per-document manifest of content hashes).
Each process keeps an in-memory mirror (a numpy matrix and a BM25 index over the same
chunks) rebuilt from Chroma whenever the index changes, so a search costs one embedding
and a few vector operations. Ingest is incremental by document content hash.
"""
from __future__ import annotations

import shutil
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
from pydantic import BaseModel, Field

from knowledge.document import Chunk, Document, LoadError
from retrieval.answerability import DEFAULT_MODEL, AnswerabilityModel
from retrieval.chroma_store import ChromaStore
from retrieval.embeddings import Embedder, get_embedder
from retrieval.fusion import FusionWeights, fuse
from retrieval.lexical import LexicalIndex, follow_up_kind, normalise_query, words
from retrieval.passage import Passage
from retrieval.sentences import embedded_texts

# Bump when what we store per chunk changes: every document is then re-indexed once.
# 2: sentence vectors stored with the chunks; 3: document title vectors; 4: audience;
# 5: sentences split at "items." / "post." (abbreviations are whole words now)
INDEX_VERSION = "5"
CUSTOMER, AGENT = "customer", "agent"  # who a search is for: customers never see internal documents
BODY, QUESTION, SENTENCE, TITLE = "body", "question", "sentence", "title"
_REFERENCE = Path(__file__).parent / "data" / "offtopic_reference.txt"


class IngestReport(BaseModel):
    documents: int = 0  # documents in the KB folder after this run
    chunks: int = 0  # chunks in the index after this run
    added: int = 0
    updated: int = 0
    skipped: int = 0  # unchanged, left as they were
    removed: int = 0
    public: int = 0  # documents in the index after this run that customers may be shown
    internal: int = 0  # documents for human agents only (audience: internal)
    failed: list[LoadError] = Field(default_factory=list)


class SearchResult(BaseModel):
    passages: list[Passage]
    answerability: float  # 0..1; >= settings.answerability_threshold means "the KB answers this"
    query: str  # the query as resolved (with conversation context when it was used)


@dataclass(frozen=True)
class SearchTuning:
    """Knobs of the ranking; defaults are the shipped method."""

    fusion: FusionWeights = field(default_factory=FusionWeights)
    history_turns: int = 4  # previous user turns that can resolve a follow-up
    # Weight of the context next to the query's own signal, by how much the query leans on it:
    # a pronoun/"and ..." follow-up, a short query (<= short_terms content terms), or a
    # standalone question (which may switch topic, so context only nudges it).
    history_anaphoric: float = 2.0
    history_short: float = 1.0
    # A self-contained question ("How can I track my order?" after a returns question) names
    # its own topic: the context only nudges it. At 1.0 it steered topic switches to the old
    # topic; at 0.5 hit@1 rose on kestrel 0.907 -> 0.920, own suites 0.831 -> 0.842, doc2dial
    # 0.812 -> 0.805. Scaling the context down by the message's own answerability instead
    # scored alike overall but cost doc2dial 0.06 (its turns stay on one document).
    history_standalone: float = 0.5
    short_terms: int = 2
    history_dense: float = 1.0  # scales all the context weights above for the dense score
    history_lexical: float = 1.0  # scales them for BM25
    history_decay: float = 0.7  # each older turn counts this much of the next one
    question_boost: float = 0.02  # FAQ question-to-question match over question-to-answer
    # A document's first chunk scores at least this share of the query's similarity to the
    # document title. A section body is diluted by its details ("Where is my order?" was closer
    # to the Click & Collect text than to the tracking article's), while the title says what
    # the whole document answers. Only the first chunk: lifting every chunk of a document
    # floods the top k with one document (doc2dial hit@5 fell 0.955 -> 0.945 that way).
    title_lift: float = 0.9
    doc_context: float = 0.0  # how much a chunk inherits from its document's best-matching chunk


@dataclass
class _Mirror:
    """Read-only snapshot of the index used by searches (swapped whole on change)."""

    chunk_ids: list[str]
    doc_ids: list[str]
    titles: list[str]
    urls: list[str | None]
    texts: list[str]
    body: np.ndarray  # (n, dim) body vectors
    question: np.ndarray  # (n, dim) FAQ question vectors; zero rows where none
    has_question: np.ndarray  # (n,) bool
    lexical: LexicalIndex
    title: np.ndarray  # (n, dim) document title vectors on each document's first chunk; zero elsewhere
    has_title: np.ndarray  # (n,) bool
    documents: dict[str, dict[str, Any]]
    generation: int
    doc_names: list[str] = field(default_factory=list)
    doc_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    sentence_rows: dict[str, int] = field(default_factory=dict)  # sentence text -> row of sentences
    sentences: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    scope: np.ndarray | None = None  # built on first use by KnowledgeIndex.scope_vectors
    floor: float | None = None  # built on first use by KnowledgeIndex._floor
    internal: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))  # (n,) agent-only chunks

    def __post_init__(self) -> None:
        if len(self.internal) != len(self.chunk_ids):
            self.internal = np.zeros(len(self.chunk_ids), dtype=bool)
        self.doc_names = sorted(set(self.doc_ids))
        position = {d: i for i, d in enumerate(self.doc_names)}
        self.doc_rows = np.array([position[d] for d in self.doc_ids], dtype=np.int64)

    @property
    def size(self) -> int:
        return len(self.chunk_ids)


def _index_hash(doc: Document, embedder: Embedder) -> str:
    from knowledge.chunking import CHUNKING_VERSION

    model = Path(embedder.model_path).name
    return f"{doc.content_hash}:c{CHUNKING_VERSION}:i{INDEX_VERSION}:{model}"


def _source_file(source: str) -> str:
    # FAQ records are "faq.jsonl#12"; the manifest keeps the row, failures name the file.
    return source.split("#", 1)[0]


class KnowledgeIndex:
    """Hybrid search over one knowledge base; see module docstring."""

    def __init__(
        self,
        persist_dir: Path | None = None,
        chroma_url: str | None = None,
        collection: str = "kb",
        embedder: Embedder | None = None,
        *,
        tuning: SearchTuning | None = None,
        answerability: AnswerabilityModel | None = None,
        max_chunk_chars: int = 900,
        refresh_interval_s: float = 5.0,
    ) -> None:
        self._tmp: str | None = None
        if chroma_url is None and persist_dir is None:
            self._tmp = tempfile.mkdtemp(prefix="concierge-index-")
            weakref.finalize(self, shutil.rmtree, self._tmp, True)
            persist_dir = Path(self._tmp)
        self.embedder = embedder or get_embedder()
        self.store = ChromaStore(path=persist_dir, url=chroma_url, name=collection)
        self.tuning = tuning or SearchTuning()
        self.answerability_model = answerability or DEFAULT_MODEL
        self.max_chunk_chars = max_chunk_chars
        self.refresh_interval_s = refresh_interval_s
        self._ingest_lock = threading.Lock()
        self._reference: np.ndarray | None = None  # vectors of retrieval/data/offtopic_reference.txt
        self._mirror_lock = threading.Lock()
        self._checked_at = time.monotonic()
        self._mirror = self._load_mirror()

    # ------------------------------------------------------------------ state
    def _load_mirror(self) -> _Mirror:
        generation = self.store.generation()
        rows = self.store.all_chunks()
        documents = self.store.documents()
        dim = self.embedder.dim
        body_rows: dict[str, int] = {}
        chunk_ids: list[str] = []
        doc_ids: list[str] = []
        titles: list[str] = []
        urls: list[str | None] = []
        texts: list[str] = []
        internal: list[bool] = []
        body_vecs: list[np.ndarray] = []
        questions: dict[str, np.ndarray] = {}
        title_vecs: dict[str, np.ndarray] = {}
        sentence_rows: dict[str, int] = {}
        sentence_vecs: list[np.ndarray] = []
        order = sorted(
            range(len(rows.ids)),
            key=lambda i: (str(rows.metadatas[i].get("doc_id", "")), int(rows.metadatas[i].get("position", 0))),
        )
        for i in order:
            meta = rows.metadatas[i]
            chunk_id = str(meta.get("chunk_id", rows.ids[i]))
            if meta.get("field") == QUESTION:
                questions[chunk_id] = rows.embeddings[i]
                continue
            if meta.get("field") == TITLE:
                title_vecs[chunk_id] = rows.embeddings[i]
                continue
            if meta.get("field") == SENTENCE:
                text = rows.texts[i] or ""
                if text and text not in sentence_rows:
                    sentence_rows[text] = len(sentence_vecs)
                    sentence_vecs.append(rows.embeddings[i])
                continue
            body_rows[chunk_id] = len(chunk_ids)
            chunk_ids.append(chunk_id)
            doc_ids.append(str(meta.get("doc_id", "")))
            titles.append(str(meta.get("title", "")))
            urls.append(meta.get("url") or None)
            texts.append(rows.texts[i] or "")
            internal.append(meta.get("audience") == "internal")
            body_vecs.append(rows.embeddings[i])
        n = len(chunk_ids)
        body = np.stack(body_vecs).astype(np.float32) if n else np.zeros((0, dim), np.float32)
        question = np.zeros((n, body.shape[1] if n else dim), dtype=np.float32)
        has_question = np.zeros(n, dtype=bool)
        title = np.zeros_like(question)
        has_title = np.zeros(n, dtype=bool)
        for vectors, matrix, flags in ((questions, question, has_question), (title_vecs, title, has_title)):
            for chunk_id, vec in vectors.items():
                row = body_rows.get(chunk_id)
                if row is not None:
                    matrix[row] = vec
                    flags[row] = True
        # Titles count twice for BM25: they name the topic in the customer's words.
        lexical = LexicalIndex([f"{t}\n{t}\n{x}" for t, x in zip(titles, texts)])
        return _Mirror(
            chunk_ids=chunk_ids,
            doc_ids=doc_ids,
            titles=titles,
            urls=urls,
            texts=texts,
            body=body,
            question=question,
            has_question=has_question,
            lexical=lexical,
            title=title,
            has_title=has_title,
            documents=documents,
            generation=generation,
            sentence_rows=sentence_rows,
            sentences=np.stack(sentence_vecs).astype(np.float32) if sentence_vecs
            else np.zeros((0, dim), np.float32),
            internal=np.array(internal, dtype=bool),
        )

    def refresh(self) -> None:
        """Reload the in-memory mirror from Chroma (another process may have ingested)."""
        with self._mirror_lock:
            self._mirror = self._load_mirror()
            self._checked_at = time.monotonic()

    def _maybe_refresh(self) -> None:
        if time.monotonic() - self._checked_at < self.refresh_interval_s:
            return
        self._checked_at = time.monotonic()
        try:
            if self.store.generation() != self._mirror.generation:
                self.refresh()
        except Exception:  # noqa: BLE001 - a hiccup of the server must not fail a search
            pass

    def doc_ids(self) -> set[str]:
        """Ids of the documents in the index."""
        return set(self._mirror.documents)

    def document(self, doc_id: str) -> dict[str, Any] | None:
        """Title and url of one indexed document, or None."""
        meta = self._mirror.documents.get(doc_id)
        if meta is None:
            return None
        return {"title": meta.get("title", doc_id), "url": meta.get("url") or None,
                "internal": meta.get("audience") == "internal"}

    @property
    def has_internal(self) -> bool:
        """Whether any indexed chunk is for agents only (then an agent search differs)."""
        return bool(self._mirror.internal.any())

    @property
    def generation(self) -> int:
        """The index version this process serves (bumped by every ingest that changed something)."""
        return self._mirror.generation

    @property
    def chunk_count(self) -> int:
        return self._mirror.size

    def scope_vectors(self) -> np.ndarray | None:
        """What the KB covers, as stored at ingest: each FAQ question and each document title.

        The outside-KB check reads these; embedding every title again at start-up cost minutes
        on a 12,000-row FAQ, and this way a re-ingest reaches the check with the next search.
        """
        mirror = self._mirror
        if mirror.scope is None:
            # Public documents only: an internal article must not make a customer's question
            # look covered by the KB when no public article answers it.
            public = ~mirror.internal
            rows = [mirror.question[mirror.has_question & public], mirror.title[mirror.has_title & public]]
            stacked = np.concatenate(rows) if any(len(r) for r in rows) else None
            mirror.scope = stacked if stacked is not None and len(stacked) else None
        return mirror.scope

    def _floor(self, mirror: _Mirror) -> float:
        """How close questions that no help center answers come to this KB (dense score, 90th
        percentile over retrieval/data/offtopic_reference.txt): the KB's own zero point."""
        if mirror.floor is None:
            if self._reference is None:
                texts = [t.strip() for t in _REFERENCE.read_text(encoding="utf-8").splitlines()
                         if t.strip() and not t.startswith("#")]
                self._reference = self.embedder.embed(texts)
            best = [float(np.max(self._dense(mirror, v))) for v in self._reference] if mirror.size else []
            mirror.floor = float(np.percentile(best, 90)) if best else 0.0
        return mirror.floor

    def sentence_vectors(self, texts: list[str]) -> list[np.ndarray | None]:
        """Ingest-time vectors of KB sentences (see retrieval.sentences), None for unknown texts."""
        mirror = self._mirror
        rows = mirror.sentence_rows
        return [mirror.sentences[rows[t]] if t in rows else None for t in texts]

    # ------------------------------------------------------------------ ingest
    def ingest(self, kb_dir: Path, progress: Callable[[int, int], None] | None = None) -> IngestReport:
        """Bring the index in line with the folder: add new, replace changed, drop deleted docs."""
        from knowledge.chunking import chunk_document
        from knowledge.loaders import load_kb

        kb_dir = Path(kb_dir)
        if not kb_dir.is_dir():
            raise FileNotFoundError(f"knowledge base folder not found: {kb_dir}")
        with self._ingest_lock:
            loaded = load_kb(kb_dir)
            known = self.store.documents()
            failed_files = {_source_file(e.source) for e in loaded.errors}
            report = IngestReport(documents=len(loaded.documents), failed=list(loaded.errors))

            todo: list[tuple[Document, str]] = []
            for doc in loaded.documents:
                digest = _index_hash(doc, self.embedder)
                old = known.get(doc.doc_id)
                if old is not None and old.get("content_hash") == digest:
                    report.skipped += 1
                    continue
                todo.append((doc, digest))
                if old is None:
                    report.added += 1
                else:
                    report.updated += 1
            present = {d.doc_id for d in loaded.documents}
            # A file that failed to load keeps its old documents: bad input loses nothing.
            removed = [
                doc_id
                for doc_id, meta in known.items()
                if doc_id not in present and _source_file(str(meta.get("source", ""))) not in failed_files
            ]
            report.removed = len(removed)
            if removed:
                self.store.delete_documents(removed)

            total = len(todo)
            if progress:
                progress(0, total)
            step = 32
            for start in range(0, total, step):
                batch = todo[start : start + step]
                self._write_documents(batch, chunk_document)
                if progress:
                    progress(min(start + step, total), total)

            if todo or removed:
                self.store.bump_generation()
            self.refresh()
            report.chunks = self._mirror.size
            report.documents = len(self._mirror.documents)
            report.internal = sum(1 for m in self._mirror.documents.values() if m.get("audience") == "internal")
            report.public = report.documents - report.internal
            return report

    def _write_documents(self, batch: list[tuple[Document, str]], chunk_document: Callable[..., list[Chunk]]) -> None:
        ids: list[str] = []
        texts: list[str] = []
        metas: list[dict[str, Any]] = []
        manifest: dict[str, dict[str, Any]] = {}
        for doc, digest in batch:
            chunks = chunk_document(doc, max_chars=self.max_chunk_chars)
            for chunk in chunks:
                base = {
                    "doc_id": doc.doc_id,
                    "chunk_id": chunk.chunk_id,
                    "title": chunk.title or doc.title,
                    "url": chunk.url or "",
                    "content_hash": digest,
                    "kind": doc.kind,
                    "position": int(chunk.position),
                    "heading": chunk.heading or "",
                    "source": doc.source,
                    "audience": doc.audience,
                }
                ids.append(chunk.chunk_id)
                texts.append(chunk.text)
                metas.append({**base, "field": BODY})
                if chunk.question:
                    ids.append(f"{chunk.chunk_id}#question")
                    texts.append(chunk.question)
                    metas.append({**base, "field": QUESTION})
                elif chunk.position == 0 and doc.title:
                    ids.append(f"{chunk.chunk_id}#title")
                    texts.append(doc.title)
                    metas.append({**base, "field": TITLE})
                # Replies quote these; embedding them here spares every turn that work.
                sentence_meta = {"doc_id": doc.doc_id, "chunk_id": chunk.chunk_id, "field": SENTENCE,
                                 "position": int(chunk.position)}
                for n, sentence in enumerate(embedded_texts(base["title"], chunk.text)):
                    ids.append(f"{chunk.chunk_id}#s{n}")
                    texts.append(sentence)
                    metas.append(sentence_meta)
            manifest[doc.doc_id] = {
                "content_hash": digest,
                "title": doc.title,
                "url": doc.url or "",
                "source": doc.source,
                "kind": doc.kind,
                "chunks": len(chunks),
                "audience": doc.audience,
            }
        vectors = self.embedder.embed(texts)
        # Old chunks go first, the manifest last: a crash in between means "changed" next run.
        self.store.delete_chunks_of(list(manifest))
        if ids:
            self.store.add_chunks(ids, texts, metas, vectors)
        self.store.put_documents(manifest)

    # ------------------------------------------------------------------ search
    def search(self, query: str, k: int = 5, history: list[str] | None = None,
               audience: str = CUSTOMER) -> SearchResult:
        """Top-k passages for `query`; `history` = earlier user turns (oldest first).

        audience "customer" (the default: every reply, public or private) never sees internal
        documents; "agent" (the human's packet and agent-side search) sees both, internal
        passages marked `internal`.
        """
        if audience not in (CUSTOMER, AGENT):
            raise ValueError(f"audience must be {CUSTOMER!r} or {AGENT!r}, got {audience!r}")
        ranked = self._rank(query, history)
        if ranked is not None and audience == CUSTOMER and ranked.mirror.internal.any():
            ranked = _public_only(ranked)
        if ranked is None:
            return SearchResult(passages=[], answerability=0.0, query=(query or "").strip())
        top = np.argsort(-ranked.fused, kind="stable")[: max(k, 1)]
        m = ranked.mirror
        if audience == CUSTOMER:
            top = top[~m.internal[top]]
        passages = [
            Passage(
                doc_id=m.doc_ids[i],
                chunk_id=m.chunk_ids[i],
                title=m.titles[i],
                url=m.urls[i],
                text=m.texts[i],
                score=round(float(ranked.fused[i]), 6),
                dense_score=round(float(ranked.dense[i]), 6),
                lexical_score=round(float(ranked.lexical[i]), 6),
                internal=bool(m.internal[i]),
            )
            for i in top[:k]
        ]
        score = self.answerability_model.score(*self._features(ranked, int(top[0])))
        return SearchResult(passages=passages, answerability=round(score, 4), query=ranked.resolved)

    def answerability_features(
        self, query: str, history: list[str] | None = None
    ) -> tuple[float, float, float, float]:
        """(dense above the KB's floor, coverage, margin, known) of the best passage: the
        answerability model's inputs (see retrieval/answerability.py)."""
        ranked = self._rank(query, history)
        if ranked is None:
            return (0.0, 0.0, 0.0, 0.0)
        return self._features(ranked, int(np.argmax(ranked.fused)))

    def _rank(self, query: str, history: list[str] | None) -> "_Ranked | None":
        self._maybe_refresh()
        mirror = self._mirror
        query = (query or "").strip()
        if mirror.size == 0 or not query or not words(query):
            return None
        tuning = self.tuning
        text = normalise_query(query)
        context = [normalise_query(h) for h in (history or []) if h and h.strip()][-tuning.history_turns :]
        context = [c for c in context if c.casefold() != text.casefold()]

        vectors = self.embedder.embed_many_cached([text, *context])
        dense = self._dense(mirror, vectors[0])
        terms = mirror.lexical.query_terms(text)
        lexical = mirror.lexical.scores(terms)
        resolved = query
        feature_terms = terms
        if context:
            # Follow-ups ("and how much is that?") lean on the recent turns, newest first.
            weights = np.array(
                [tuning.history_decay ** (len(context) - 1 - i) for i in range(len(context))], dtype=np.float32
            )
            ctx_vec = (weights[:, None] * vectors[1:]).sum(axis=0)
            ctx_vec /= max(float(np.linalg.norm(ctx_vec)), 1e-9)
            kind = follow_up_kind(text)
            if kind == "pronoun":
                lean = tuning.history_anaphoric
            elif kind == "opener" or len(set(terms)) <= tuning.short_terms:
                lean = tuning.history_short
            else:
                lean = tuning.history_standalone
            w_dense = lean * tuning.history_dense
            # No title lift for the context: it would hold the conversation on the previous
            # document ("how long until I get my money back?" after "how do I return an item?").
            dense = (dense + w_dense * self._dense(mirror, ctx_vec, title_lift=False)) / (1.0 + w_dense)
            ctx_terms = mirror.lexical.query_terms(" ".join(context))
            if ctx_terms:
                lexical = lexical + lean * tuning.history_lexical * mirror.lexical.scores(ctx_terms)
            if kind:
                # The follow-up's topic words live in the context: count them for answerability.
                feature_terms = terms + [t for t in mirror.lexical.query_terms(context[-1]) if t not in terms]
            resolved = f"{query} [context: {context[-1]}]"
        fused = fuse(dense, lexical, tuning.fusion, mirror.has_question)
        if tuning.doc_context > 0:
            # Long documents: the section that answers may share few words with the question
            # while a neighbouring section names the topic.
            best = np.full(len(mirror.doc_names), -np.inf, dtype=np.float32)
            np.maximum.at(best, mirror.doc_rows, fused)
            fused = fused + tuning.doc_context * best[mirror.doc_rows]
        return _Ranked(mirror, dense, lexical, fused, feature_terms, resolved)

    def _dense(self, mirror: _Mirror, vector: np.ndarray, title_lift: bool = True) -> np.ndarray:
        sims = mirror.body @ vector
        if title_lift and self.tuning.title_lift > 0 and mirror.has_title.any():
            lifted = self.tuning.title_lift * (mirror.title @ vector)
            sims = np.where(mirror.has_title, np.maximum(sims, lifted), sims)
        if mirror.has_question.any():
            q = mirror.question @ vector + self.tuning.question_boost
            sims = np.where(mirror.has_question, np.maximum(sims, q), sims)
        return sims.astype(np.float32)

    def _features(self, ranked: "_Ranked", best: int) -> tuple[float, float, float, float]:
        m, dense = ranked.mirror, ranked.dense
        best_doc = m.doc_ids[best]
        other = [int(i) for i in np.argsort(-dense)[:30] if m.doc_ids[int(i)] != best_doc]
        margin = float(dense[best] - dense[other[0]]) if other else float(dense[best])
        coverage = m.lexical.coverage(ranked.terms, best)
        known = m.lexical.known_share(ranked.terms)
        # Similarity above this KB's own floor: raw cosines run higher on a KB of short FAQ
        # questions than on one of long articles, so one threshold fits every KB only this way.
        return float(dense[best]) - self._floor(m), coverage, margin, known


def _public_only(ranked: "_Ranked") -> "_Ranked | None":
    """The ranking with internal chunks pushed below every public one (a customer search): they
    can be neither a passage nor the best match nor the runner-up the answerability margin reads."""
    internal = ranked.mirror.internal
    if internal.all():
        return None
    low = -1e6
    return _Ranked(ranked.mirror, np.where(internal, low, ranked.dense).astype(np.float32),
                   np.where(internal, 0.0, ranked.lexical).astype(np.float32),
                   np.where(internal, low, ranked.fused).astype(np.float32), ranked.terms, ranked.resolved)


@dataclass
class _Ranked:
    mirror: _Mirror
    dense: np.ndarray
    lexical: np.ndarray
    fused: np.ndarray
    terms: list[str]
    resolved: str
