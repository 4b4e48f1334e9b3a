"""`concierge eval`: run conversation test suites offline (specs/eval-suite.md). Logic lives in evals/."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("eval")
    def eval_command(
        paths: list[Path] = typer.Argument(..., help="suite files (*.yaml, *.yml, *.jsonl) or folders of them"),
        kb: Path = typer.Option(..., "--kb", help="knowledge-base folder, ingested into a temporary index"),
        out: Optional[Path] = typer.Option(None, "--out", help="write report.json, report.md, junit.xml, report.html here"),
        fmt: str = typer.Option("text", "--format", help="text (summary table) or json (the report on stdout, nothing else)"),
        llm: Optional[str] = typer.Option(None, "--llm", help="composer: extractive | openai | llamacpp"),
        compare: Optional[Path] = typer.Option(None, "--compare", help="an older report.json: print per-metric deltas and pass->fail cases"),
        tag: list[str] = typer.Option([], "--tag", help="only cases with this tag (repeatable)"),
        case: list[str] = typer.Option([], "--case", help="only the case with this id (repeatable)"),
        repeat: int = typer.Option(1, "--repeat", help="run each case N times; it passes only if all N runs pass"),
    ) -> None:
        """Run conversation suites against the bot; exit 0 = thresholds met, 1 = one missed, 2 = bad input."""
        from evals.command import run_eval

        code = run_eval(paths, kb=kb, out=out, fmt=fmt, llm=llm, compare_with=compare, tags=tag,
                        case_ids=case, repeat=repeat)
        raise typer.Exit(code)
