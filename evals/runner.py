"""Play suite cases against the engine through its public turn API, as a connector would.

One temporary index per run (ingested from --kb, deleted afterwards), one fresh
conversation store per case (plus the case's history), escalation packets and logs
captured so pii_leaks can look into them.
"""
from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from evals.leaks import PiiValue, explicit_values, find_leaks, pii_values, scrub
from evals.loader import LoadedCase, Suite
from evals.logcapture import LogCapture, capture_logs
from evals.results import CaseResult, TurnResult
from evals.scoring import turn_failures


class KbError(ValueError):
    """The --kb folder cannot be used; str() is one line."""


class EngineStartError(RuntimeError):
    """The engine could not be built or could not play a first turn (e.g. --llm openai, no endpoint)."""


@dataclass
class KbInfo:
    path: str
    documents: int = 0
    chunks: int = 0
    failed: list[str] = field(default_factory=list)  # one line per file that did not load


@dataclass
class RunOutput:
    cases: list[CaseResult]
    kb: KbInfo
    llm: str
    composers: dict[str, int]  # composer name -> turns it composed
    grounding_checker: str
    duration_s: float
    repeat: int = 1
    gate_rejections: int = 0  # turns where the engine's grounding gate rejected a composed reply


class CapturingSink:
    """EscalationSink that keeps what humans would be shown, then hands it to the local inbox."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.packets: list[str] = []  # JSON of every packet opened or reopened
        self.thread: list[str] = []  # customer messages relayed into the case thread

    def open_case(self, packet: Any, conv: Any) -> None:
        self.packets.append(packet.model_dump_json())
        self.inner.open_case(packet, conv)

    def customer_message(self, conv: Any, text_redacted: str) -> None:
        self.thread.append(text_redacted)
        self.inner.customer_message(conv, text_redacted)

    def case_updated(self, conv: Any) -> None:
        self.inner.case_updated(conv)

    def take(self) -> tuple[list[str], list[str]]:
        packets, thread = self.packets, self.thread
        self.packets, self.thread = [], []
        return packets, thread


def kb_document_ids(kb_dir: Path) -> tuple[set[str], str]:
    """Doc ids and the joined text of a KB folder, read with the same loader the index uses."""
    from knowledge.loaders import load_kb

    result = load_kb(kb_dir)
    return {d.doc_id for d in result.documents}, "\n".join(d.text for d in result.documents)


def check_kb_dir(kb_dir: Path) -> None:
    if not kb_dir.exists():
        raise KbError(f"{kb_dir}: --kb folder does not exist")
    if not kb_dir.is_dir():
        raise KbError(f"{kb_dir}: --kb must be a folder of knowledge-base files")


def build_index(kb_dir: Path, workdir: Path, progress: Callable[[int, int], None] | None = None) -> tuple[Any, KbInfo]:
    """Ingest kb_dir into a fresh Chroma index under workdir (temporary, never a server)."""
    from retrieval.index import KnowledgeIndex

    index = KnowledgeIndex(persist_dir=workdir / "chroma", collection="eval_kb")
    report = index.ingest(kb_dir, progress=progress)
    failed = [f"{e.source}: {e.message}" for e in report.failed]
    info = KbInfo(path=str(kb_dir), documents=report.documents, chunks=report.chunks, failed=failed)
    if not report.documents:
        raise KbError(f"{kb_dir}: no knowledge-base documents could be read")
    return index, info


def _messages(decision: Any) -> list[str]:
    """What the customer sees for the turn: the public reply (if any) and the reply itself."""
    out: list[str] = []
    public_text = getattr(decision, "public_text", None)
    if public_text:
        out.append(public_text)
    if decision.text and decision.text not in out:
        out.append(decision.text)
    return out


class CaseRunner:
    """Builds a fresh engine (fresh store, shared index) per case and plays its turns."""

    def __init__(self, settings: Any, index: Any, *, llm: str | None, kb_text: str = "",
                 documents: dict[str, str] | None = None) -> None:
        self.settings = settings
        self.index = index
        self.llm = llm
        self.kb_text = kb_text
        self.documents = documents or {}  # doc_id -> text, for the independent groundedness check
        self.gate_rejections = 0
        self.composers: dict[str, int] = {}
        self.last_engine: Any = None
        self.internal: Any = None  # evals.scoring.InternalDocs of the KB, set by run_suites

    def _engine(self) -> tuple[Any, CapturingSink, Any]:
        from agent.escalation import LocalInbox
        from agent.factory import build_engine
        from agent.outbound import RecordingSender
        from agent.store_memory import MemoryStore

        store = MemoryStore()
        sink = CapturingSink(LocalInbox(store))
        sender = RecordingSender()
        engine = build_engine(self.settings, store=store, index=self.index, sink=sink, sender=sender, llm=self.llm)
        self.last_engine = engine
        return engine, sink, sender

    def groundedness(self, decision: Any) -> float | None:
        """Share of the reply's sentences attributed to the documents it cites, by a checker
        that is not the engine's gate (evals.attribution); None for turns the gate did not
        judge (no answer from the KB)."""
        if decision.grounded is None:
            return None
        from evals.attribution import attribute

        cited = {c.doc_id: self.documents.get(c.doc_id, "") for c in decision.citations}
        score = attribute(decision.text, cited).score
        return 0.0 if score is None else score

    def warm_up(self) -> None:
        """One throwaway turn so model loads are not counted as the first case's latency."""
        from agent.messages import InboundMessage

        engine, _, _ = self._engine()
        engine.handle(InboundMessage(platform="eval", channel="webchat", conversation_key="eval:warmup",
                                     customer_id="eval-warmup", message_id="eval:warmup:1",
                                     text="hello, what can you help me with?"))

    def run(self, case: LoadedCase, run: int, logs: LogCapture) -> CaseResult:
        from agent.messages import InboundMessage

        spec = case.spec
        result = CaseResult(case_id=case.id, suite=case.suite, file=str(case.file), tags=list(spec.tags), run=run)
        engine, sink, sender = self._engine()
        key = f"eval:{case.suite}:{case.id}:{run}"
        template = InboundMessage(
            platform="eval", channel=spec.channel, conversation_key=key,
            customer_id=spec.customer.id or f"eval-{case.id}",
            customer_handle=spec.customer.handle or spec.customer.name,
            message_id=f"{key}:history", text="", public=spec.public,
        )
        values: list[PiiValue] = []
        for line in spec.history:
            if line.role == "user":
                values.extend(pii_values(line.text, exclude_in=self.kb_text))
        if spec.history:
            engine.seed_history(template, [h.model_dump() for h in spec.history])
        logs.take()
        leaked: set[int] = set()
        case_leaks: list[str] = []
        sent_before = 0
        for n, turn in enumerate(spec.turns, start=1):
            values.extend(pii_values(turn.user, exclude_in=self.kb_text))
            if turn.expect is not None and isinstance(turn.expect.no_pii_echo, list):
                values.extend(explicit_values(turn.expect.no_pii_echo))  # values the suite names itself
            msg = template.model_copy(update={
                "message_id": f"{key}:{n}", "text": turn.user, "received_at": datetime.now(timezone.utc),
            })
            tr = TurnResult(case_id=case.id, turn=n, expect=turn.expect, suite=case.suite,
                            tags=list(spec.tags), run=run)
            started = time.perf_counter()
            try:
                decision = engine.handle(msg)
            except Exception as exc:  # noqa: BLE001 - the engine must never raise; record it as a failure
                tr.latency_ms = (time.perf_counter() - started) * 1000
                tr.error = scrub(f"engine raised {type(exc).__name__}: {exc}", values)
                decision = None
            else:
                tr.latency_ms = (time.perf_counter() - started) * 1000
                tr.action = str(decision.action)
                tr.reasons = [str(r) for r in decision.reasons]
                tr.priority = str(decision.priority) if decision.priority else None
                tr.citations = [c.doc_id for c in decision.citations]
                tr.messages = _messages(decision)
                tr.reply = "\n".join(tr.messages)
                tr.grounded = self.groundedness(decision)
                if "failed grounding" in (decision.composer_note or ""):
                    self.gate_rejections += 1
                if decision.composer:
                    self.composers[decision.composer] = self.composers.get(decision.composer, 0) + 1

            # Everything that left the engine during this turn, for the leak check.
            packets, thread = sink.take()
            if decision is not None and decision.case_id:
                current = engine.packet(decision.case_id)
                if current is not None:
                    packets.append(current.model_dump_json())
            sent = [m.text for m in sender.sent[sent_before:]]
            sent_before = len(sender.sent)
            places: list[tuple[str, str]] = [("reply", m) for m in tr.messages]
            if decision is not None:
                places += [("reply", p) for p in decision.parts]
            places += [("message sent", s) for s in sent]
            places += [(_packet_place(p, values), p) for p in packets]
            places += [("case thread", t) for t in thread]
            places += [("logs", line) for line in logs.take()]
            fresh = [v for v in values if id(v) not in leaked]
            for value, leak in find_leaks(fresh, places):
                leaked.add(id(value))
                tr.leaks.append(leak)
                case_leaks.append(f"{leak.kind} in {leak.where}")

            if turn.expect is not None and tr.error is None:
                tr.failures = turn_failures(
                    turn.expect, action=tr.action, reasons=tr.reasons, priority=tr.priority,
                    citations=tr.citations, reply=tr.reply, messages=tr.messages,
                )
                if turn.expect.no_pii_echo and case_leaks and not tr.leaks:
                    tr.failures.append(f"no_pii_echo: customer data leaked earlier ({', '.join(case_leaks)})")
            if tr.error is None and self.internal is not None:
                # Every turn, expectations or not: what the customer saw never cites or quotes
                # an internal (agent-only) article.
                tr.failures += self.internal.failures(tr.reply, tr.citations)
            # Reports must not carry personal data, even data the bot itself leaked.
            tr.reply = scrub(tr.reply, values)
            tr.messages = [scrub(m, values) for m in tr.messages]
            result.turns.append(tr)
        return result


def _packet_place(packet_json: str, values: list[PiiValue]) -> str:
    """Name the packet field a value sits in (for the failure message)."""
    try:
        data = json.loads(packet_json)
    except ValueError:
        return "packet"
    for key, val in data.items():
        text = json.dumps(val, ensure_ascii=False)
        if any(v.pattern.search(text) for v in values):
            return f"packet.{key}"
    return "packet"


def run_suites(
    suites: list[Suite],
    *,
    settings: Any,
    index: Any,
    kb: KbInfo,
    kb_text: str = "",
    llm: str | None = None,
    repeat: int = 1,
    on_case: Callable[[CaseResult], None] | None = None,
) -> RunOutput:
    """Play every case `repeat` times; returns the per-case results."""
    from evals.attribution import NAME as attribution_name
    from evals.attribution import document_texts

    started = time.perf_counter()
    runner = CaseRunner(settings, index, llm=llm, kb_text=kb_text, documents=document_texts(kb.path))
    from evals.scoring import InternalDocs

    runner.internal = InternalDocs.from_kb(kb.path)
    results: list[CaseResult] = []
    with capture_logs() as logs:
        try:
            runner.warm_up()
        except ImportError:
            raise
        except Exception as exc:  # noqa: BLE001 - say what failed in one line; the run cannot start
            raise EngineStartError(f"cannot start the engine ({type(exc).__name__}: {exc})") from exc
        logs.take()
        for suite in suites:
            for case in suite.cases:
                for r in range(repeat):
                    result = runner.run(case, r, logs)
                    results.append(result)
                    if on_case is not None:
                        on_case(result)
    # groundedness comes from an attribution check of its own, not from the engine's gate
    return RunOutput(
        cases=results, kb=kb, llm=getattr(settings, "llm", llm or ""), composers=runner.composers,
        grounding_checker=attribution_name, duration_s=time.perf_counter() - started,
        gate_rejections=runner.gate_rejections,
        repeat=repeat,
    )


class TempWorkdir:
    """A temporary folder for the run's index, removed afterwards whatever happens."""

    def __enter__(self) -> Path:
        self.path = Path(tempfile.mkdtemp(prefix="concierge-eval-"))
        return self.path

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
