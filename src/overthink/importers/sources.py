"""`import_sources(sources, run_dir, fmt, opts)`: the entry point of `overthink import`.

It reads every file (directories recursively), detects each file's format, validates every row, and writes nothing
unless all of them are good (a DataError lists each bad row as `file:line: reason`). The run dir is marked as imported;
summary, report, review, export and analysis read it like any other run. Re-importing the same files adds nothing;
more budgets extend the curves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..core import budget_sort_key
from ..errors import UserError
from . import inspect_logs, paper, table
from .common import Collected, Options, WriteStats, check_options, check_target, write
from .rows import TABLE_SUFFIXES, read_text

FORMATS = ("inspect", "paper", "table")
_SUFFIXES = {"inspect": inspect_logs.LOG_SUFFIXES, "paper": (".jsonl", ".ndjson", ".json"), "table": TABLE_SUFFIXES}

@dataclass
class ImportResult:
    files: int
    samples: int
    stats: WriteStats
    formats: dict[str, int] = field(default_factory=dict)  # format -> files
    tasks: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    budgets: list[str] = field(default_factory=list)


def expand(sources: list[Path], fmt: str | None) -> list[Path]:
    """Files from files and directories (recursively: the paper's raw/MODEL/TASK.jsonl tree, a log dir)."""
    suffixes = _SUFFIXES[fmt] if fmt else tuple({s for v in _SUFFIXES.values() for s in v})
    out: list[Path] = []
    for src in sources:
        if src.is_dir():
            found = sorted(p for p in src.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)
            if not found:
                raise UserError(f"{src}: no {', '.join(suffixes)} files in this directory")
            out += found
        elif src.is_file():
            out.append(src)
        else:
            raise UserError(f"{src}: no such file or directory")
    return list(dict.fromkeys(out))


def detect(path: Path, errors: list[str]) -> str | None:
    """The format of one file: .eval -> inspect; .json -> inspect unless it holds JSON lines; .jsonl -> paper when
    its first row has the paper's fields, else table; .csv / .parquet -> table."""
    suffix = path.suffix.lower()
    if suffix == ".eval":
        return "inspect"
    if suffix in (".csv", ".parquet"):
        return "table"
    if suffix not in (".json", ".jsonl", ".ndjson"):
        errors.append(f"{path}: unknown file type {suffix or '(none)'!r}; give --format inspect|paper|table")
        return None
    text = read_text(path, errors)
    if text is None:
        return None
    head = text.lstrip()[:4096]
    if suffix == ".json" and head.startswith("{") and '"eval"' in text[:200_000]:
        return "inspect"
    first = next((line for line in text.splitlines() if line.strip()), "")
    return "paper" if all(f'"{k}"' in first for k in paper.PAPER_KEYS) else "table"


def import_sources(sources: list[Path], run_dir: Path, fmt: str | None = None,
                   opts: Options | None = None) -> ImportResult:
    """Read, validate and store everything; raises UserError / DataError (exit 2) and then writes nothing."""
    opts = opts or Options()
    if fmt is not None and fmt not in FORMATS:
        raise UserError(f"--format {fmt!r}: one of {', '.join(FORMATS)}")
    check_options(opts)
    check_target(run_dir)  # before reading gigabytes of logs
    files = expand([Path(s) for s in sources], fmt)
    got = Collected()
    used: dict[str, int] = {}
    for path in files:
        kind = fmt or detect(path, got.errors)
        if kind is None:
            continue
        used[kind] = used.get(kind, 0) + 1
        {"inspect": inspect_logs.collect, "paper": paper.collect, "table": table.collect}[kind](path, opts, got)
    stats = write(run_dir, got)
    recs = [r for _, r in got.samples]
    return ImportResult(files=len(files), samples=len(recs), stats=stats, formats=used,
                        tasks=sorted({r.task for r in recs}), models=sorted({r.model for r in recs}),
                        budgets=[str(b) for b in sorted({r.budget for r in recs}, key=budget_sort_key)])
