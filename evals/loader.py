"""Read suite files (YAML or JSONL) into validated cases; every problem is one line naming file and case."""
from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from evals.schema import METRIC_NAMES, CaseDefaults, CaseSpec, SuiteHeader

SUITE_SUFFIXES = (".yaml", ".yml", ".jsonl")

_KIND = {"action": "action", "reason": "reason code", "priority": "priority", "channel": "channel"}


class SuiteError(ValueError):
    """A suite cannot be used as written; str() is one line naming the file and the case.

    Whatever the file put into the message (a case id, a field name, a value) has its
    non-printable characters escaped, so a newline in an id cannot split the line.
    """

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))


def one_line(text: str) -> str:
    """text with every non-printable character (newline, tab, U+2028 ...) as its escape."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


@dataclass
class LoadedCase:
    spec: CaseSpec
    suite: str
    file: Path
    line: int | None = None  # JSONL line number (1-based), for messages

    @property
    def id(self) -> str:
        return self.spec.id


@dataclass
class Suite:
    name: str
    file: Path
    thresholds: dict[str, float] = field(default_factory=dict)
    cases: list[LoadedCase] = field(default_factory=list)


def _where(loc: Sequence[Any]) -> str:
    """('turns', 0, 'expect', 'reason', 1) -> 'turn 1 expect.reason[1]'."""
    parts: list[str] = []
    loc = list(loc)
    i = 0
    while i < len(loc):
        item = loc[i]
        if item in ("turns", "history") and i + 1 < len(loc) and isinstance(loc[i + 1], int):
            parts.append(f"{'turn' if item == 'turns' else 'history line'} {loc[i + 1] + 1}")
            i += 2
            continue
        if isinstance(item, int):
            if parts:
                parts[-1] += f"[{item}]"
            else:
                parts.append(f"[{item}]")
        else:
            if parts and not parts[-1].startswith(("turn ", "history line ")):
                parts[-1] += f".{item}"
            else:
                parts.append(str(item))
        i += 1
    return " ".join(parts)


def _field_name(loc: Sequence[Any]) -> str:
    names = [x for x in loc if isinstance(x, str)]
    return names[-1] if names else ""


def _describe(err: dict[str, Any]) -> str:
    """One pydantic error as a sentence a suite author can act on."""
    loc = err.get("loc", ())
    kind = err.get("type", "")
    where = _where(loc)
    if kind == "extra_forbidden":
        parent = _where(loc[:-1])
        return f"{parent + ': ' if parent else ''}unknown field '{loc[-1]}'"
    if kind == "enum":
        fname = _field_name(loc)
        what = _KIND.get(fname, fname)
        allowed = ", ".join(x.strip("'") for x in err["ctx"]["expected"].replace(" or ", ", ").split(", "))
        return f"{where}: unknown {what} {err.get('input')!r} (expected one of: {allowed})"
    if kind == "missing":
        return f"missing required field '{_where(loc)}'"
    if kind == "too_short" and _field_name(loc) == "turns":
        return "a case needs at least one turn"
    if kind == "string_pattern_mismatch" and _field_name(loc) == "role":
        return f"{where}: unknown role {err.get('input')!r} (expected user, bot or agent)"
    return f"{where}: {err.get('msg', 'invalid value')}"


def _case_label(raw: Any, index: int) -> str:
    if isinstance(raw, dict) and raw.get("id") is not None:
        return f"case '{raw['id']}'"
    return f"case #{index + 1}"


def _validate_case(raw: Any, defaults: CaseDefaults | None, path: Path, index: int, stem: str) -> CaseSpec:
    label = _case_label(raw, index)
    if not isinstance(raw, dict):
        raise SuiteError(f"{path}: {label}: expected a mapping with 'id' and 'turns', got {type(raw).__name__}")
    merged: dict[str, Any] = {}
    if defaults is not None:
        merged.update(defaults.model_dump(exclude_none=True))
    merged.update(raw)  # shallow: a case's value replaces the default's
    merged.setdefault("id", f"{stem}-{index + 1}")
    try:
        return CaseSpec.model_validate(merged)
    except ValidationError as exc:
        raise SuiteError(f"{path}: {label}: {_describe(exc.errors()[0])}") from None


def _check_thresholds(thresholds: dict[str, Any], path: Path) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, want in thresholds.items():
        if name not in METRIC_NAMES:
            raise SuiteError(
                f"{path}: thresholds: unknown metric '{name}' (known: {', '.join(METRIC_NAMES)})"
            )
        if isinstance(want, bool) or not isinstance(want, int | float):
            raise SuiteError(f"{path}: thresholds: '{name}' must be a number, got {want!r}")
        out[name] = float(want)
    return out


def _load_yaml(path: Path) -> Suite:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SuiteError(f"{path}: not valid YAML{at}: {problem}") from None
    if not isinstance(data, dict):
        raise SuiteError(f"{path}: expected a mapping with 'cases' at the top, got {type(data).__name__}")
    if "cases" not in data:
        raise SuiteError(f"{path}: no 'cases' list")
    try:
        header = SuiteHeader.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = err.get("loc", ())
        if err.get("type") == "extra_forbidden" and len(loc) == 1:
            raise SuiteError(
                f"{path}: unknown top-level field '{loc[0]}' (allowed: suite, defaults, thresholds, cases)"
            ) from None
        if loc and loc[0] == "thresholds" and len(loc) == 2:
            raise SuiteError(f"{path}: thresholds: '{loc[1]}' must be a number, got {err.get('input')!r}") from None
        raise SuiteError(f"{path}: {_describe(err)}") from None
    suite = Suite(name=header.suite or path.stem, file=path,
                  thresholds=_check_thresholds(data.get("thresholds") or {}, path))
    for i, raw in enumerate(header.cases):
        spec = _validate_case(raw, header.defaults, path, i, path.stem)
        suite.cases.append(LoadedCase(spec=spec, suite=suite.name, file=path))
    return suite


def _load_jsonl(path: Path) -> Suite:
    suite = Suite(name=path.stem, file=path)
    index = 0
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SuiteError(f"{path}: line {lineno}: not valid JSON ({exc.msg})") from None
        try:
            spec = _validate_case(raw, None, path, index, path.stem)
        except SuiteError as exc:
            # Add the line number: a JSONL case is easiest to find by it.
            msg = str(exc)
            head = one_line(f"{path}: ")
            raise SuiteError(f"{head}line {lineno}: {msg[len(head):]}") from None
        suite.cases.append(LoadedCase(spec=spec, suite=suite.name, file=path, line=lineno))
        index += 1
    return suite


def load_suite_file(path: Path) -> Suite:
    """One suite file; raises SuiteError with a one-line message."""
    try:
        if path.suffix.lower() == ".jsonl":
            suite = _load_jsonl(path)
        else:
            suite = _load_yaml(path)
    except OSError as exc:
        raise SuiteError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise SuiteError(f"{path}: not UTF-8 text") from None
    seen: set[str] = set()
    for case in suite.cases:
        if case.id in seen:
            raise SuiteError(f"{path}: case '{case.id}': duplicate case id in this file")
        seen.add(case.id)
    if not suite.cases:
        raise SuiteError(f"{path}: no cases")
    return suite


def _is_under(path: Path, folder: Path | None) -> bool:
    if folder is None:
        return False
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def find_suite_files(paths: Iterable[Path], *, skip: Path | None = None) -> list[Path]:
    """Suite files named or found (recursively) under the given folders.

    Files under `skip` (the --kb folder) are the knowledge base, not suites, when found by
    recursion: `concierge eval data/covid-faq --kb data/covid-faq/kb` must not read the FAQ.
    """
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            for candidate in sorted(path.rglob("*")):
                rel_parts = candidate.relative_to(path).parts
                if any(part.startswith(".") for part in rel_parts):
                    continue
                if candidate.is_file() and candidate.suffix.lower() in SUITE_SUFFIXES:
                    if not _is_under(candidate, skip):
                        found.append(candidate)
        elif path.is_file():
            found.append(path)
        else:
            raise SuiteError(f"{path}: no such file or folder")
    unique: list[Path] = []
    seen: set[Path] = set()
    for path in found:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(path)
    if not unique:
        names = ", ".join(str(p) for p in paths)
        raise SuiteError(f"{names}: no suite files (*.yaml, *.yml, *.jsonl) found")
    return unique


def load_suites(paths: Iterable[Path], *, skip: Path | None = None) -> list[Suite]:
    """Every suite under `paths`; raises SuiteError on the first problem."""
    return [load_suite_file(p) for p in find_suite_files(list(paths), skip=skip)]


def check_doc_ids(suites: Iterable[Suite], doc_ids: set[str]) -> None:
    """Every doc id a case cites must exist in the knowledge base; else SuiteError."""
    for suite in suites:
        for case in suite.cases:
            for n, turn in enumerate(case.spec.turns, start=1):
                if turn.expect is None:
                    continue
                for key in ("cites", "cites_any"):
                    for doc_id in getattr(turn.expect, key) or ():
                        if doc_id not in doc_ids:
                            hint = _closest(doc_id, doc_ids)
                            line = f"line {case.line}: " if case.line else ""
                            raise SuiteError(
                                f"{case.file}: {line}case '{case.id}': turn {n} expect.{key}: unknown doc id "
                                f"'{doc_id}' (not in the knowledge base{hint})"
                            )


def _closest(doc_id: str, doc_ids: set[str]) -> str:
    import difflib

    match = difflib.get_close_matches(doc_id, sorted(doc_ids), n=1, cutoff=0.6)
    return f"; did you mean '{match[0]}'?" if match else ""


def select_cases(suites: list[Suite], *, tags: Sequence[str] = (), case_ids: Sequence[str] = ()) -> list[Suite]:
    """Keep cases having any of `tags` (if given) and whose id is in `case_ids` (if given)."""
    wanted_tags = set(tags)
    wanted_ids = set(case_ids)
    out: list[Suite] = []
    for suite in suites:
        kept = [
            c for c in suite.cases
            if (not wanted_tags or wanted_tags & set(c.spec.tags)) and (not wanted_ids or c.id in wanted_ids)
        ]
        out.append(Suite(name=suite.name, file=suite.file, thresholds=suite.thresholds, cases=kept))
    return out
