"""`concierge eval`: load suites, run them on a temporary index, write reports, exit 0/1/2."""
from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from evals.loader import SuiteError, Suite, check_doc_ids, load_suites, select_cases

EXIT_OK, EXIT_THRESHOLD, EXIT_BAD_INPUT = 0, 1, 2
LLM_CHOICES = ("extractive", "openai", "llamacpp")


class UsageError(ValueError):
    """Bad command-line input; str() is one line."""


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send everything written to stdout (Python or C level) to stderr for the duration.

    `--format json` promises nothing but the JSON on stdout; libraries that print (or C
    code writing to fd 1) must not break that.
    """
    sys.stdout.flush()
    saved_fd: int | None = None
    try:
        if sys.stdout.fileno() == 1:
            saved_fd = os.dup(1)
            os.dup2(2, 1)
    except (AttributeError, OSError, ValueError):  # not a real file (e.g. a test runner's buffer)
        saved_fd = None
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        if saved_fd is not None:
            os.dup2(saved_fd, 1)
            os.close(saved_fd)


def _read_old_report(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the report to compare with ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise UsageError(f"{path}: not a JSON report ({exc})") from None
    if not isinstance(data, dict) or "metrics" not in data:
        raise UsageError(f"{path}: not a concierge eval report (no 'metrics')")
    return data


def _progress(err: TextIO, total: int):  # noqa: ANN202 - rich types stay local
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(file=err, stderr=True)
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[status]}"), TimeElapsedColumn(),
                    console=console, transient=False, disable=total == 0)


def prepare(
    paths: Sequence[Path], kb: Path, *, tags: Sequence[str] = (), case_ids: Sequence[str] = ()
) -> tuple[list[Suite], set[str], str]:
    """Load, validate and filter the suites; the KB's doc ids and text. Raises SuiteError/KbError."""
    from evals.runner import check_kb_dir, kb_document_ids

    check_kb_dir(kb)
    suites = load_suites(paths, skip=kb)
    doc_ids, kb_text = kb_document_ids(kb)
    check_doc_ids(suites, doc_ids)  # before any model loads: a typo fails in a second
    suites = select_cases(suites, tags=tags, case_ids=case_ids)
    if not any(s.cases for s in suites):
        wanted = [*(f"--tag {t}" for t in tags), *(f"--case {c}" for c in case_ids)]
        raise SuiteError(f"no case matches {' '.join(wanted)} in {', '.join(str(p) for p in paths)}")
    return [s for s in suites if s.cases], doc_ids, kb_text


def run_eval(
    paths: Sequence[Path],
    *,
    kb: Path,
    out: Path | None = None,
    fmt: str = "text",
    llm: str | None = None,
    compare_with: Path | None = None,
    tags: Sequence[str] = (),
    case_ids: Sequence[str] = (),
    repeat: int = 1,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run the command; returns the exit code (0 met, 1 threshold missed, 2 bad input)."""
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    try:
        if fmt not in ("text", "json"):
            raise UsageError(f"--format must be text or json, not {fmt!r}")
        if llm is not None and llm not in LLM_CHOICES:
            raise UsageError(f"--llm must be one of {', '.join(LLM_CHOICES)}, not {llm!r}")
        if repeat < 1:
            raise UsageError(f"--repeat must be 1 or more, not {repeat}")
        if fmt == "json":
            with stdout_to_stderr():
                report = _run(paths, kb=kb, out=out, llm=llm, compare_with=compare_with, tags=tags,
                              case_ids=case_ids, repeat=repeat, stderr=stderr)
            stdout.write(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
            stdout.flush()
        else:
            report = _run(paths, kb=kb, out=out, llm=llm, compare_with=compare_with, tags=tags,
                          case_ids=case_ids, repeat=repeat, stderr=stderr)
            from evals.render_text import print_summary

            print_summary(report, stdout)
    except (SuiteError, UsageError) as exc:
        print(f"error: {exc}", file=stderr)
        return EXIT_BAD_INPUT
    except Exception as exc:  # noqa: BLE001 - KbError, engine start-up failures: one line, not a traceback
        from evals.runner import EngineStartError, KbError

        if isinstance(exc, KbError | EngineStartError):
            print(f"error: {exc}", file=stderr)
            return EXIT_BAD_INPUT
        raise
    return EXIT_OK if report["passed"] else EXIT_THRESHOLD


def _run(
    paths: Sequence[Path], *, kb: Path, out: Path | None, llm: str | None, compare_with: Path | None,
    tags: Sequence[str], case_ids: Sequence[str], repeat: int, stderr: TextIO,
) -> dict[str, Any]:
    from agent.settings import load_settings
    from evals.report import build_report, compare
    from evals.runner import TempWorkdir, build_index, run_suites

    suites, _, kb_text = prepare(paths, kb, tags=tags, case_ids=case_ids)
    old = _read_old_report(compare_with) if compare_with is not None else None
    if out is not None:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"{out}: cannot create the output folder ({exc.strerror or exc})") from None
    total = sum(len(s.cases) for s in suites) * repeat
    with TempWorkdir() as work, _progress(stderr, total) as progress:
        task = progress.add_task("ingesting KB", total=None, status="")

        def on_ingest(done: int, of: int) -> None:
            progress.update(task, completed=done, total=of)

        index, kb_info = build_index(kb, work, progress=on_ingest)
        check_doc_ids(suites, index.doc_ids())
        for line in kb_info.failed:
            print(f"warning: KB file not loaded: {line}", file=stderr)
        settings = load_settings(kb_dir=kb, data_dir=work, llm_provider=llm)
        counts = {"pass": 0, "fail": 0}
        progress.update(task, description="running cases", completed=0, total=total,
                        status="starting the engine")

        def on_case(result: Any) -> None:
            counts["pass" if result.passed else "fail"] += 1
            progress.update(task, advance=1, status=f"{counts['pass']} passed, {counts['fail']} failed")

        run = run_suites(suites, settings=settings, index=index, kb=kb_info, kb_text=kb_text, llm=llm,
                         repeat=repeat, on_case=on_case)
    filters = {"tags": list(tags), "cases": list(case_ids)} if tags or case_ids else {}
    report = build_report(suites, run, filters=filters)
    if old is not None:
        report["comparison"] = compare(old, report)
    if out is not None:
        write_outputs(report, out)
        print(f"reports written to {out}/ (report.json, report.md, junit.xml, report.html)", file=stderr)
    return report


def write_outputs(report: dict[str, Any], out: Path) -> None:
    """report.json, report.md, junit.xml and report.html into out/."""
    from evals.junit import to_junit
    from evals.render_html import to_html
    from evals.render_md import to_markdown

    (out / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (out / "report.md").write_text(to_markdown(report), encoding="utf-8")
    (out / "junit.xml").write_text(to_junit(report), encoding="utf-8")
    (out / "report.html").write_text(to_html(report), encoding="utf-8")
