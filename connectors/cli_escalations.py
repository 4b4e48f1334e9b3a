"""`concierge escalations`: the human side from a terminal (list, show, claim, reply, resolve, return).

Works against the same store as the bot (make_store(settings)): Redis when CONCIERGE_REDIS_URL
is set, otherwise the embedded store's state file in CONCIERGE_DATA_DIR, so a separate
`concierge chat` / `make run` process and this command see the same cases.
"""
from __future__ import annotations

import getpass
import json
from datetime import datetime, timezone
from typing import Any

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from agent.case_ids import CaseIdError, normalize_case_id
from agent.conversation import Conversation
from agent.escalation import EscalationSink, Handoff, HandoffError, LocalInbox
from agent.outbound import RecordingSender, Sender
from agent.settings import Settings, load_settings
from agent.store import ConversationStore, LockTimeout, StoreError, make_store
from guardrails.codes import PRIORITY_ORDER, Channel, Priority

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

# Which setting makes a platform sender usable, per channel (webchat needs none: the store's outbox).
_CHANNEL_TOKEN = {
    Channel.MESSENGER: "meta_page_token", Channel.INSTAGRAM: "instagram_token",
    Channel.WHATSAPP: "whatsapp_token", Channel.X_DM: "x_user_token",
    Channel.X_PUBLIC: "x_user_token", Channel.TELEGRAM: "telegram_bot_token",
}


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {escape(message)}")
    return typer.Exit(1)


def _store(settings: Settings) -> ConversationStore:
    try:
        return make_store(settings)
    except StoreError as exc:
        raise _fail(str(exc)) from exc


def _sink(settings: Settings, store: ConversationStore) -> EscalationSink:
    """Slack (through its outbox, delivered by the running service) when configured, else local."""
    if settings.redis_url and settings.slack_channel:
        from connectors.slack.outbox import SlackOutbox
        from connectors.slack.sink import SlackSink

        outbox = SlackOutbox.from_url(settings.redis_url, channel=settings.slack_channel,
                                      prefix=settings.redis_prefix)
        return SlackSink(outbox, store)
    return LocalInbox(store)


def _sender(settings: Settings, store: ConversationStore, conv: Conversation | None
            ) -> tuple[Sender, str | None]:
    """The platform's sender when its credentials are set; otherwise the store's outbox.

    Returns the sender and a note for the user when the message is only recorded.
    """
    token_field = _CHANNEL_TOKEN.get(conv.channel) if conv is not None else None
    if token_field and getattr(settings, token_field, None):
        from connectors.senders import MemoryLedger, RedisLedger, build_sender

        redis_client = getattr(store, "r", None)
        ledger = (RedisLedger(redis_client, getattr(store, "prefix", "concierge:"))
                  if redis_client is not None else MemoryLedger())
        return build_sender(settings, store, ledger), None
    note = None
    if conv is not None and conv.channel != Channel.WEBCHAT:
        note = (f"no {conv.channel} credentials configured: the reply is recorded in the outbox "
                f"(the chat UI shows it) but not delivered to the platform")
    return RecordingSender(store), note


def _case(store: ConversationStore, case: str) -> tuple[str, str]:
    try:
        case_id = normalize_case_id(case)
    except CaseIdError as exc:
        raise _fail(str(exc)) from exc
    key = store.find_case(case_id)
    if key is None:
        raise _fail(f"no case {case_id}; `concierge escalations --all` lists the cases")
    return case_id, key


def _age(since: datetime, now: datetime) -> str:
    seconds = max(0, int((now - since).total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"
    return f"{seconds // 86400}d{(seconds % 86400) // 3600}h"


def _due(due: datetime, now: datetime) -> str:
    return f"overdue {_age(due, now)}" if now > due else f"in {_age(now, due)}"


def _rows(store: ConversationStore, cases: list[str]) -> list[dict[str, Any]]:
    now = datetime.now(timezone.utc)
    rows = []
    for case_id in cases:
        packet = store.packet(case_id)
        key = store.find_case(case_id)
        conv = store.get(key) if key else None
        if packet is None:
            continue
        rows.append({
            "case": case_id,
            "priority": str(packet.priority),
            "reasons": [str(r) for r in packet.reasons],
            "customer": packet.customer_handle or packet.customer_id,
            "channel": packet.channel,
            "age": _age(packet.created_at, now),
            "sla": _due(packet.sla_due_at, now),
            "status": str(conv.status) if conv else "expired",
            "assignee": conv.assignee if conv else None,
            "created_at": packet.created_at.isoformat(),
            "sla_due_at": packet.sla_due_at.isoformat(),
        })
    # Most urgent first, then oldest: the order an agent should work them.
    rows.sort(key=lambda r: (-PRIORITY_ORDER[Priority(r["priority"])], r["created_at"]))
    return rows


def _print_packet(store: ConversationStore, case_id: str, key: str) -> None:
    packet = store.packet(case_id)
    if packet is None:
        raise _fail(f"case {case_id} has no context packet stored")
    conv = store.get(key)
    now = datetime.now(timezone.utc)
    status = f"{conv.status}" + (f" ({conv.assignee})" if conv and conv.assignee else "") \
        if conv else "conversation expired"
    out.print(f"[bold]{packet.case_id}[/bold]  {packet.priority.upper()}  "
              f"{escape(', '.join(str(r) for r in packet.reasons))}  status: {escape(status)}")
    out.print(f"opened {_age(packet.created_at, now)} ago, SLA due {_due(packet.sla_due_at, now)}")
    who = packet.customer_handle or packet.customer_id
    out.print(f"customer: {escape(who)} on {packet.channel} ({packet.platform})"
              + (f"  {escape(packet.link)}" if packet.link else "")
              + ("  [public]" if packet.public else ""))
    if packet.intent:
        out.print(f"intent: {escape(packet.intent)}")
    if packet.sentiment is not None:
        out.print(f"sentiment: {packet.sentiment:+.2f}"
                  + (f" ({packet.sentiment_trend})" if packet.sentiment_trend else ""))
    if packet.pii_kinds:
        out.print(f"personal data seen (redacted): {', '.join(packet.pii_kinds)}")
    out.print(f"\n[bold]Summary[/bold]\n{escape(packet.summary)}")
    if packet.evidence:
        out.print("\n[bold]Why[/bold]")
        for ev in packet.evidence:
            words = f' "{escape(ev.words)}"' if ev.words else ""
            out.print(f"  {ev.reason}: {ev.check} {ev.score:.2f}{words}")
    out.print("\n[bold]Transcript[/bold]")
    lines = [(t.role, t.text) for t in packet.transcript]
    if conv is not None:  # what happened after the packet was built (relayed, agent replies)
        lines += [(t.role, t.text) for t in conv.turns if t.at > packet.created_at]
    for role, text in lines:
        out.print(f"  {role:>5}: {escape(text)}")
    if packet.kb_tried:
        out.print("\n[bold]Knowledge base tried[/bold]")
        for kb in packet.kb_tried:
            out.print(f"  {kb.score:.2f}  {escape(kb.title)} ({kb.doc_id})" + ("  [internal]" if kb.internal else ""))
    if packet.attempted_answer:
        out.print(f"\n[bold]Bot's last answer[/bold]\n{escape(packet.attempted_answer)}")
    if packet.suggested_reply:
        note = " (built from an internal article: rewrite it before sending)" if packet.suggested_reply_internal else ""
        out.print(f"\n[bold]Suggested reply[/bold]{note}\n{escape(packet.suggested_reply)}")
    events = store.case_events(case_id)
    if events:
        out.print("\n[bold]Case history[/bold]")
        for e in events:
            actor = f" by {e['actor']}" if e.get("actor") else ""
            text = f": {e['text']}" if e.get("text") and e.get("kind") != "agent" else ""
            out.print(f"  {e.get('at', '')[:19]}  {e.get('kind')}{escape(actor)}{escape(text)}")


def register(app: typer.Typer) -> None:
    esc = typer.Typer(help="Cases handed to humans: list, show, claim, reply, resolve, return.",
                      no_args_is_help=False)
    app.add_typer(esc, name="escalations")

    @esc.callback(invoke_without_command=True)
    def list_cases(
        ctx: typer.Context,
        all_cases: bool = typer.Option(False, "--all", help="Include resolved and returned cases."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    ) -> None:
        """List open cases, most urgent first."""
        if ctx.invoked_subcommand is not None:
            return
        store = _store(load_settings())
        rows = _rows(store, store.all_cases() if all_cases else store.open_cases())
        if as_json:
            out.print_json(json.dumps(rows))
            return
        if not rows:
            out.print("No open cases." if not all_cases else "No cases yet.")
            return
        table = Table(box=box.SIMPLE_HEAD)
        table.add_column("case", no_wrap=True)
        table.add_column("priority", no_wrap=True)
        for name in ("reasons", "customer", "channel", "age", "SLA", "status"):
            table.add_column(name, overflow="fold")  # wrap, never cut: agents copy from it
        for r in rows:
            status = r["status"] + (f" ({r['assignee']})" if r["assignee"] else "")
            table.add_row(r["case"], r["priority"], escape(", ".join(r["reasons"])),
                          escape(r["customer"]), r["channel"], r["age"], r["sla"], escape(status))
        out.print(table)

    @esc.command("show")
    def show(case: str = typer.Argument(..., help="Case number, e.g. CX-7K3Q9."),
             as_json: bool = typer.Option(False, "--json", help="Print the context packet as JSON.")
             ) -> None:
        """Show a case's context packet and what happened since."""
        store = _store(load_settings())
        case_id, key = _case(store, case)
        if as_json:
            packet = store.packet(case_id)
            if packet is None:
                raise _fail(f"case {case_id} has no context packet stored")
            out.print_json(packet.model_dump_json())
            return
        _print_packet(store, case_id, key)

    def _handoff(settings: Settings, store: ConversationStore, conv: Conversation | None
                 ) -> tuple[Handoff, str | None]:
        sender, note = _sender(settings, store, conv)
        return Handoff(store, sender, _sink(settings, store)), note

    def _run(case: str, agent: str, action: str, text: str | None = None) -> None:
        settings = load_settings()
        store = _store(settings)
        case_id, key = _case(store, case)
        handoff, note = _handoff(settings, store, store.get(key))
        try:
            if action == "claim":
                conv = handoff.claim(case_id, agent)
            elif action == "resolve":
                conv = handoff.resolve(case_id, agent)
            elif action == "return":
                conv = handoff.return_to_bot(case_id, agent)
            else:
                conv = handoff.agent_reply(case_id, agent, text or "")
        except (HandoffError, LockTimeout, StoreError) as exc:
            raise _fail(str(exc)) from exc
        except Exception as exc:  # a platform refusing the reply: say so, nothing was recorded
            if action != "reply":
                raise
            raise _fail(f"the reply was not sent: {exc}") from exc
        done = {"claim": f"claimed by {agent}", "resolve": "resolved; the bot answers next",
                "return": "returned to the bot (case number kept)",
                "reply": "reply sent"}[action]
        out.print(f"{case_id}: {done} (status {conv.status})")
        if note and action == "reply":
            err.print(f"[yellow]note:[/yellow] {escape(note)}")

    agent_opt = typer.Option(None, "--agent", help="Who you are in the case history "
                                                  "(default: cli:<your user name>).")

    def _agent(agent: str | None) -> str:
        return agent or f"cli:{getpass.getuser()}"

    @esc.command("claim")
    def claim(case: str, agent: str | None = agent_opt) -> None:
        """Take a case: it is yours until resolved or returned to the bot."""
        _run(case, _agent(agent), "claim")

    @esc.command("reply")
    def reply(case: str, text: str = typer.Argument(..., help="The message to send to the customer."),
              agent: str | None = agent_opt) -> None:
        """Send a message to the customer (claims the case if nobody has)."""
        _run(case, _agent(agent), "reply", text)

    @esc.command("resolve")
    def resolve(case: str, agent: str | None = agent_opt) -> None:
        """Close the case; the bot answers the customer's next message."""
        _run(case, _agent(agent), "resolve")

    @esc.command("return")
    def return_to_bot(case: str, agent: str | None = agent_opt) -> None:
        """Hand the conversation back to the bot without resolving the case."""
        _run(case, _agent(agent), "return")
