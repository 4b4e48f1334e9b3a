"""Composers turn retrieved passages into a reply: extractive (no LLM), openai, llamacpp."""
from agent.composers.base import Composed, ComposeRequest, Composer, ComposerError
from agent.composers.extractive import ExtractiveComposer

__all__ = ["Composed", "ComposeRequest", "Composer", "ComposerError", "ExtractiveComposer"]
