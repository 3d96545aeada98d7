"""Terminal output: the summary table of a run, per-curve verdicts, and the model list."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from ..analysis.audit import audit_table
from ..analysis.curves import paper_verdict, score_table
from ..store import Store
from ..store.lock import holder
from ..sweep.provenance import provenance_line
from .audit import audit_rich, summary_verdict


def run_table(store: Store) -> pd.DataFrame:
    """The score table of a run (metrics taken from the tasks recorded with it)."""
    df = store.dataframe()
    if df.empty:
        return pd.DataFrame()
    tasks = store.get_meta("tasks") or {}
    metrics = {name: info.get("metric", "accuracy") for name, info in tasks.items()}
    return score_table(df, metrics)


def _fmt(value: float, pct: bool) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{100 * value:.1f}" if pct else f"{value:.3f}"


def wide_console() -> Console:
    """The terminal's console, or a wide one when output goes to a file or pipe (tables are not cut at 80)."""
    console = Console()
    return console if console.is_terminal else Console(width=160)


def print_summary(run_dir: str | Path, *, plot: bool = True, console: Console | None = None) -> pd.DataFrame:
    console = console or wide_console()
    with Store(run_dir, create=False) as store:
        table = run_table(store)
        audit = audit_table(store.dataframe())
        origin = provenance_line(store.get_meta("sessions"), writing=holder(run_dir) is not None)
    if table.empty:
        console.print(f"{run_dir}: no samples yet")
        if origin:
            console.print(origin, highlight=False, markup=False)
        return table
    out = Table(title=f"overthink summary: {run_dir}", show_lines=False)
    for col in ("task", "model", "mech", "budget", "n", "score [95% CI]", "mean tok", "median tok", "err", "trunc",
                "unparsed"):
        out.add_column(col, justify="left" if col in ("task", "model", "mech") else "right")
    for _, r in table.iterrows():
        pct = r["metric"] != "rmse"
        unit = "%" if pct else " RMSE"
        score = f"{_fmt(r['score'], pct)}{unit} [{_fmt(r['ci_low'], pct)}, {_fmt(r['ci_high'], pct)}]"
        out.add_row(str(r["task"]), str(r["model"]), str(r["mechanism"]), str(r["budget"]), str(r["n"]), score,
                    f"{r['mean_reasoning_tokens']:.0f}", f"{r['median_reasoning_tokens']:.0f}", str(r["errors"]),
                    str(r["truncated"]), str(r["unparsed"]))
    console.print(out)
    if origin:
        console.print(origin, highlight=False, markup=False)
    # Verdicts and curves compare budgets; natural samples (no budget) are analysed by `overthink report`.
    controlled = table[table["budget"].astype(str) != "natural"]
    for (task, model, mech), curve in controlled.groupby(["task", "model", "mechanism"], sort=False):
        metric = curve["metric"].iloc[0]
        verdict, delta = paper_verdict(curve, metric)
        if (inactive := summary_verdict(audit, task, model, mech)) is not None:
            console.print(inactive, highlight=False)
            continue
        if math.isnan(delta):
            why = "no scored samples at the extreme budgets" if verdict == "insufficient" else "no change measured"
            detail = f"{why}; see the err / trunc / unparsed columns"
        else:
            change = f"{100 * delta:+.1f} points" if metric != "rmse" else f"{delta:+.3f} RMSE"
            detail = f"{change} from the shortest to the longest budget; paper's rule"
        console.print(f"verdict {task} / {model} ({mech}): [bold]{verdict}[/bold] ({detail})", highlight=False)
    console.print(audit_rich(audit))
    if plot and len(controlled):
        from .figures import save_curves

        paths = save_curves(controlled, Path(run_dir) / "figures")
        console.print("figure: " + ", ".join(str(p) for p in paths))
    return table


def print_models(console: Console | None = None) -> None:
    from ..models import PROVIDERS

    console = console or wide_console()
    out = Table(title="models")
    for col in ("spec", "installed", "prepared", "size", "licence"):
        out.add_column(col)
    try:
        from ..models.packs import list_packs
    except ImportError:  # the local extra is not installed
        packs = []
    else:
        packs = list_packs()
    for pack in packs:
        out.add_row(pack["spec"], "yes" if pack["installed"] else "no", "yes" if pack["prepared"] else "no",
                    f"{pack['size'] / 1e6:.0f} MB", pack["licence"])
    console.print(out)
    api = [p for p in PROVIDERS if p not in ("local", "stub")]
    console.print("API providers (any model name): " + ", ".join(f"{p}:MODEL" for p in api)
                  + "  e.g. anthropic:claude-sonnet-4-20250514, openai:o4-mini, "
                    "openai-compatible:Qwen/Qwen3-8B@http://127.0.0.1:8000/v1")
