"""The knowledge base: load a KB folder into Documents and cut them into Chunks."""
from knowledge.chunking import chunk_document, chunk_documents
from knowledge.document import Chunk, Document, LoadError, LoadResult
from knowledge.hashing import content_hash
from knowledge.loaders import KbFileError, load_file, load_kb

__all__ = [
    "Chunk", "Document", "LoadError", "LoadResult", "KbFileError",
    "chunk_document", "chunk_documents", "content_hash", "load_file", "load_kb",
]
