"""`concierge ask` and `concierge chat` through the real typer app, over the session's index."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from connectors.cli import app


def _env(kb_dir, tmp_path):
    # the session index folder: ingest is incremental, so the sample KB is not embedded again
    return {"CONCIERGE_CHROMA_PATH": str(kb_dir), "CONCIERGE_DATA_DIR": str(tmp_path),
            "CONCIERGE_LLM_PROVIDER": "extractive"}


def test_ask_json_prints_only_the_decision(kb_index, kb_dir, tmp_path):
    result = CliRunner().invoke(app, ["ask", "Do you ship to Canada?", "--json"], env=_env(kb_dir, tmp_path))
    assert result.exit_code == 0, result.output
    decision = json.loads(result.stdout)
    assert decision["action"] == "answer" and decision["citations"]


def test_chat_session_shows_action_and_handles_commands(kb_index, kb_dir, tmp_path):
    script = "Do you ship to Canada?\n/status\n/reset\n/status\n/quit\n"
    result = CliRunner().invoke(app, ["chat", "--channel", "whatsapp"], input=script,
                                env=_env(kb_dir, tmp_path))
    assert result.exit_code == 0, result.output
    assert "action=answer" in result.stdout and "cites " in result.stdout
    assert "status=bot" in result.stdout and "(no messages yet)" in result.stdout


def test_unknown_llm_is_a_clear_error(kb_index, kb_dir, tmp_path):
    result = CliRunner().invoke(app, ["ask", "hi", "--llm", "gpt-banana"], env=_env(kb_dir, tmp_path))
    assert result.exit_code == 2
    assert "unknown --llm" in result.output
