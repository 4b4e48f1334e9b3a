"""The turn engine, conversation state, stores, escalation and LLM composers.

Common names are re-exported lazily so `import agent` stays cheap (no model or LLM imports).
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Engine": "agent.engine",
    "build_engine": "agent.factory",
    "EngineConfigError": "agent.factory",
    "Decision": "agent.decision",
    "Citation": "agent.decision",
    "InboundMessage": "agent.messages",
    "Conversation": "agent.conversation",
    "ConversationStatus": "agent.conversation",
    "Turn": "agent.conversation",
    "ContextPacket": "agent.packet",
    "Settings": "agent.settings",
    "load_settings": "agent.settings",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agent' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
