"""`concierge ingest DIR` and `concierge search "text"`: the knowledge base from the terminal."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer


def _open_index(data_dir: Path | None, kb_dir: Path | None):
    """The configured index, or a clear error and exit 2 (a missing folder, Chroma down)."""
    from agent.settings import load_settings
    from agent.factory import make_embedder
    from retrieval.index import KnowledgeIndex

    if kb_dir is not None and not kb_dir.is_dir():
        typer.echo(f"error: knowledge base folder not found: {kb_dir}", err=True)
        raise typer.Exit(2)
    try:
        settings = load_settings(data_dir=data_dir)
        embedder = make_embedder(settings)
        if settings.chroma_url:
            return KnowledgeIndex(chroma_url=settings.chroma_url, embedder=embedder)
        return KnowledgeIndex(settings.chroma_dir, embedder=embedder)
    except (ConnectionError, ValueError, FileNotFoundError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def register(app: typer.Typer) -> None:
    @app.command()
    def ingest(
        kb_dir: Path = typer.Argument(..., help="Knowledge base folder (Markdown, HTML, text, FAQ CSV/JSONL)."),
        data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Where the index lives (default: settings)."),
    ) -> None:
        """Index a knowledge base folder (incremental: unchanged files are skipped)."""
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
        from rich.table import Table

        console = Console(stderr=False)
        index = _open_index(data_dir, kb_dir)
        with Progress(
            TextColumn("indexing"), BarColumn(), MofNCompleteColumn(), console=console, transient=True
        ) as bar:
            task = bar.add_task("indexing", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            report = index.ingest(kb_dir, progress=progress)
        table = Table(title=f"Ingested {kb_dir}")
        columns = ("documents", "chunks", "added", "updated", "skipped", "removed")
        for name in columns:
            table.add_column(name, justify="right")
        table.add_column("failed", justify="right")
        table.add_row(*(str(getattr(report, n)) for n in columns), str(len(report.failed)))
        console.print(table)
        # Internal documents are for human agents only (audience: internal): say how many.
        console.print(f"{report.public} public, {report.internal} internal (agent-only) documents",
                      highlight=False)
        for error in report.failed:
            console.print(f"[red]failed[/red] {error.source}: {error.message}", markup=True, highlight=False)

    @app.command()
    def search(
        text: str = typer.Argument(..., help="What to look for."),
        kb: Optional[Path] = typer.Option(None, "--kb", help="Index this folder first (incremental)."),
        k: int = typer.Option(5, "-k", "--k", min=1, max=100, help="How many passages."),
        as_json: bool = typer.Option(False, "--json", help="Print a JSON list of passages only."),
        internal: bool = typer.Option(
            False, "--internal", help="Agent-side search: internal (agent-only) articles too, marked internal."),
        data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Where the index lives (default: settings)."),
    ) -> None:
        """Search the knowledge base and show the ranked passages (what a customer's question finds;
        --internal: what a human agent may read, internal articles included)."""
        index = _open_index(data_dir, kb)
        if kb is not None:
            report = index.ingest(kb)
            for error in report.failed:
                typer.echo(f"warning: {error.source}: {error.message}", err=True)
        if not index.doc_ids():
            typer.echo("error: the index is empty; run `concierge ingest DIR` or pass --kb DIR", err=True)
            raise typer.Exit(2)
        result = index.search(text, k=k, audience="agent" if internal else "customer")
        if as_json:
            typer.echo(json.dumps([p.model_dump() for p in result.passages], ensure_ascii=False))
            return
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"answerability {result.answerability:.2f}")
        table.add_column("#", justify="right")
        table.add_column("doc id")
        table.add_column("title")
        table.add_column("score", justify="right")
        if internal:
            table.add_column("audience")
        for n, p in enumerate(result.passages, 1):
            row = [str(n), p.doc_id, p.title, f"{p.score:.3f}"]
            table.add_row(*row, *(["internal" if p.internal else "public"] if internal else []))
        Console().print(table)
