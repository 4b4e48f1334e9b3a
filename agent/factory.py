"""Assemble an Engine from Settings: store, index (ingested if empty), guardrails, composer."""
from __future__ import annotations

import logging
from typing import Any

from agent.composers.base import Composer
from agent.composers.extractive import ExtractiveComposer
from agent.composers.selection import kb_corpus
from agent.engine import Engine
from agent.escalation import EscalationSink, LocalInbox
from agent.outbound import RecordingSender, Sender
from agent.settings import Settings
from agent.store import ConversationStore, make_store

log = logging.getLogger(__name__)

LLM_CHOICES = ("extractive", "openai", "llamacpp")


class EngineConfigError(ValueError):
    """The settings ask for something that cannot be built; the message says what to change."""


def build_composer(settings: Settings, llm: str | None, extractive: ExtractiveComposer) -> Composer:
    """The composer named by llm (or settings.llm); extractive needs nothing else."""
    name = (llm or settings.llm).lower()
    if name == "extractive":
        return extractive
    if name == "openai":
        if not (settings.openai_base_url or settings.openai_api_key):
            raise EngineConfigError(
                "--llm openai needs an endpoint: set CONCIERGE_OPENAI_BASE_URL (vLLM, Ollama, "
                "llama.cpp server) or CONCIERGE_OPENAI_API_KEY")
        from agent.composers.openai import openai_composer

        return openai_composer(base_url=settings.openai_base_url, api_key=settings.openai_api_key,
                               model=settings.openai_model, timeout_s=settings.llm_timeout_s,
                               max_tokens=settings.llm_max_tokens)
    if name == "llamacpp":
        from agent.composers.llamacpp import LocalModelError, llamacpp_composer

        try:
            return llamacpp_composer(model_path=settings.llamacpp_model_path,
                                     timeout_s=settings.llm_timeout_s,
                                     max_tokens=settings.llm_max_tokens)
        except LocalModelError as exc:
            raise EngineConfigError(str(exc)) from exc
    raise EngineConfigError(f"unknown --llm {name!r}; choose one of {', '.join(LLM_CHOICES)}")


def build_index(settings: Settings, embedder: Any) -> Any:
    from retrieval.index import KnowledgeIndex

    if settings.chroma_url:
        return KnowledgeIndex(chroma_url=settings.chroma_url, embedder=embedder)
    settings.chroma_dir.mkdir(parents=True, exist_ok=True)
    return KnowledgeIndex(persist_dir=settings.chroma_dir, embedder=embedder)


def make_embedder(settings: Settings) -> Any:
    """The process-wide embedder that settings ask for (model folder, backend, export cache)."""
    from retrieval.embeddings import get_embedder

    return get_embedder(settings.embedding_model, settings.embedding_backend, settings.model_cache_dir)


def build_engine(settings: Settings, *, store: ConversationStore | None = None, index: Any = None,
                 sink: EscalationSink | None = None, sender: Sender | None = None,
                 llm: str | None = None) -> Engine:
    """An Engine wired from settings; parts passed in are used as they are.

    An index passed in that already holds documents is not re-ingested; otherwise
    settings.kb_dir is ingested (incremental: unchanged files are skipped).
    """
    from guardrails.input_checks import InputGuard
    from guardrails.policy import Policy
    embedder = index.embedder if index is not None and hasattr(index, "embedder") else make_embedder(settings)
    if index is None:
        index = build_index(settings, embedder)
        _ingest(index, settings)
    elif not index.doc_ids():
        _ingest(index, settings)
    store = store if store is not None else make_store(settings)
    policy = Policy.load(settings.policy_file)
    # The guard's classifiers and retrieval share the query-vector cache: one embedding per message.
    guard = InputGuard(policy=policy, embed=embedder.embed_many_cached)
    if hasattr(index, "scope_vectors"):
        guard.set_scope_source(index.scope_vectors)  # titles and FAQ questions: what the KB covers
    else:
        scope = [(index.document(d) or {}).get("title", "") for d in sorted(index.doc_ids())]
        if any(scope):
            guard.set_scope(scope)
    extractive = ExtractiveComposer(embed=embedder.embed, known=getattr(index, "sentence_vectors", None),
                                    embed_query=embedder.embed_many_cached, corpus=kb_corpus(index))
    composer = build_composer(settings, llm, extractive)
    return Engine(settings, store=store, index=index, guard=guard, policy=policy,
                  composer=composer, sink=sink if sink is not None else LocalInbox(store),
                  sender=sender if sender is not None else RecordingSender(store),
                  embed=extractive.vectors, fallback=extractive)


def _ingest(index: Any, settings: Settings) -> None:
    kb_dir = settings.kb_dir
    if not kb_dir.is_dir():
        raise EngineConfigError(f"knowledge base folder not found: {kb_dir} (set --kb or CONCIERGE_KB_DIR)")
    report = index.ingest(kb_dir)
    for failure in getattr(report, "failed", []):
        log.warning("KB file skipped: %s: %s", failure.source, failure.message)
