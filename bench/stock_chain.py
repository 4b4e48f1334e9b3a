"""The baseline: a stock LangChain RAG chain (the create_retrieval_chain shape, in LCEL).

Retrieve top-k with langchain_chroma.Chroma over HuggingFaceEmbeddings (the same MiniLM
model files), stuff the documents into a prompt, call the same composer or LLM. No
guardrails, no grounding gate, no conversation state: the floor a hand-rolled bot starts from.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

PROMPT_SYSTEM = ("You are a customer support assistant. Answer the question using only the "
                 "context below. If the context does not answer it, say you don't know.\n\n{context}")


def build_store(kb: Path, persist_dir: Path) -> tuple[Any, int]:
    """Chroma over the KB split with RecursiveCharacterTextSplitter; returns (store, chunks)."""
    from langchain_chroma import Chroma
    from langchain_core.documents import Document as LcDocument
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from knowledge.loaders import load_kb
    from retrieval.embeddings import default_model_path

    loaded = load_kb(kb)
    docs = [LcDocument(page_content=(f"{d.question}\n\n{d.text}" if getattr(d, "question", None) else d.text),
                       metadata={"doc_id": d.doc_id, "title": d.title or d.doc_id, "url": d.url or ""})
            for d in loaded.documents]
    splits = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=100).split_documents(docs)
    embeddings = HuggingFaceEmbeddings(model_name=default_model_path(), model_kwargs={"device": "cpu"})
    store = Chroma.from_documents(splits, embeddings, persist_directory=str(persist_dir),
                                  collection_name="stock")
    return store, len(splits)


def build_chain(store: Any, composer: str, *, k: int = 5, llm: Any = None,
                extractive: Any = None) -> Callable[[str], str]:
    """question -> answer text. composer 'extractive' runs the same ExtractiveComposer on the
    retrieved documents; otherwise `llm` (a LangChain chat model) gets the stuffed prompt."""
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_core.runnables import RunnableLambda, RunnableParallel, RunnablePassthrough

    retriever = store.as_retriever(search_kwargs={"k": k})

    if composer == "extractive":
        from agent.composers.base import ComposeRequest
        from retrieval.passage import Passage

        def compose(inputs: dict[str, Any]) -> str:
            passages = [Passage(doc_id=d.metadata.get("doc_id", ""), chunk_id=f"{d.metadata.get('doc_id', '')}::{i}",
                                title=d.metadata.get("title", ""), url=d.metadata.get("url") or None,
                                text=d.page_content, score=1.0 / (i + 1))
                        for i, d in enumerate(inputs["context"])]
            return extractive.compose(ComposeRequest(question=inputs["input"], passages=passages)).text

        chain = RunnableParallel(context=retriever, input=RunnablePassthrough()) | RunnableLambda(compose)
    else:
        def stuff(docs: list[Any]) -> str:
            return "\n\n".join(d.page_content for d in docs)

        prompt = ChatPromptTemplate.from_messages([("system", PROMPT_SYSTEM), ("human", "{input}")])
        chain = (RunnableParallel(context=retriever | stuff, input=RunnablePassthrough())
                 | prompt | llm | StrOutputParser())
    return chain.invoke
