"""`concierge chat` (interactive) and `concierge ask` (one turn): the terminal as a channel."""
from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Optional

import typer

from guardrails.codes import Channel

LLM_HELP = "composer: extractive | openai | llamacpp (default: openai when an endpoint is set)"


def _engine(kb: Optional[Path], llm: Optional[str]):
    from agent.factory import EngineConfigError, build_engine
    from agent.settings import load_settings

    settings = load_settings(kb_dir=kb)
    try:
        return build_engine(settings, llm=llm)
    except EngineConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _message(text: str, channel: Channel, key: str):
    from agent.messages import InboundMessage

    return InboundMessage(platform="cli", channel=channel, conversation_key=key,
                          customer_id="cli-user", customer_handle="you",
                          message_id=uuid.uuid4().hex, text=text)


def _describe(decision) -> str:
    bits = [f"action={decision.action}"]
    if decision.reasons:
        bits.append("reasons=" + ",".join(str(r) for r in decision.reasons))
    if decision.priority:
        bits.append(f"priority={decision.priority}")
    if decision.case_id:
        bits.append(f"case={decision.case_id}")
    if decision.composer:
        bits.append(f"composer={decision.composer}")
    if decision.grounded is not None:
        bits.append(f"grounded={decision.grounded:.2f}")
    bits.append(f"{decision.latency_ms:.0f} ms")
    lines = ["  [" + " ".join(bits) + "]"]
    for c in decision.citations:
        lines.append(f"  cites {c.doc_id}: {c.title}" + (f" <{c.url}>" if c.url else ""))
    if decision.composer_note:
        lines.append(f"  note: {decision.composer_note}")
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    @app.command()
    def chat(
        channel: Channel = typer.Option(Channel.MESSENGER, "--channel", help="channel to simulate"),
        llm: Optional[str] = typer.Option(None, "--llm", help=LLM_HELP),
        kb: Optional[Path] = typer.Option(None, "--kb", help="knowledge base folder to ingest"),
    ) -> None:
        """Talk to the bot in the terminal. /reset starts over, /status shows the case, /quit leaves."""
        engine = _engine(kb, llm)
        key = f"cli:{uuid.uuid4().hex[:8]}"
        typer.echo(f"Concierge ({channel}). Type a message; /reset, /status, /quit.")
        while True:
            try:
                text = input("you> ")
            except (EOFError, KeyboardInterrupt):
                typer.echo("")
                break
            command = text.strip().lower()
            if command in ("/quit", "/exit"):
                break
            if command == "/reset":
                key = f"cli:{uuid.uuid4().hex[:8]}"
                typer.echo("(new conversation)")
                continue
            if command == "/status":
                conv = engine.conversation(key)
                if conv is None:
                    typer.echo("(no messages yet)")
                else:
                    typer.echo(f"status={conv.status} case={conv.case_id or '-'} turns={len(conv.turns)} "
                               f"unanswered={conv.unanswered_turns}")
                continue
            decision = engine.handle(_message(text, channel, key))
            if decision.action == "relay":
                typer.echo("bot> (a person from the team has this conversation; message passed on)")
            else:
                if decision.public_text and decision.public_text != decision.text:
                    typer.echo(f"bot (public)> {decision.public_text}")
                for part in decision.parts or [decision.text]:
                    typer.echo(f"bot> {part}")
            typer.echo(_describe(decision))

    @app.command()
    def ask(
        text: str = typer.Argument(..., help="the customer's message"),
        as_json: bool = typer.Option(False, "--json", help="print only the Decision as JSON"),
        channel: Channel = typer.Option(Channel.MESSENGER, "--channel", help="channel to simulate"),
        llm: Optional[str] = typer.Option(None, "--llm", help=LLM_HELP),
        kb: Optional[Path] = typer.Option(None, "--kb", help="knowledge base folder to ingest"),
    ) -> None:
        """One turn of a new conversation; prints the reply and what the bot decided."""
        engine = _engine(kb, llm)
        decision = engine.handle(_message(text, channel, f"cli:{uuid.uuid4().hex[:8]}"))
        if as_json:
            typer.echo(json.dumps(decision.model_dump(mode="json"), ensure_ascii=False))
            return
        typer.echo(decision.text or "(no reply)")
        typer.echo(_describe(decision))
