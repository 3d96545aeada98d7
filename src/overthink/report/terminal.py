"""Terminal output: the summary table of a run, per-curve verdicts, and the model list."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..analysis.verdicts import missing, terminal_line
from ..errors import UserError
from .audit import audit_rich
from .console import wide_console
from .cost import print_cost
from .efficiency import print_efficiency
from .names import legend_lines, name_column, short_names
from .sequential import sequential_lines
from .stamps import unchanged
from .summary import FAIL_EXIT, FAIL_ON, Summary, build_summary, failing_curves, write_csv, write_json

CURVE_FORMATS = ("png", "svg")  # the curve figure a run's summary writes into RUN/figures


def _fmt(value: float, pct: bool) -> str:
    if missing(value):
        return "-"
    return f"{100 * value:.1f}" if pct else f"{value:.3f}"


def _tokens(value: float) -> str:
    return "-" if missing(value) else f"{value:.0f}"


def _score_cell(r: pd.Series) -> str:
    pct = r["metric"] != "rmse"
    if missing(r["score"]):
        return "-"
    unit = "%" if pct else " RMSE"
    return f"{_fmt(r['score'], pct)}{unit} [{_fmt(r['ci_low'], pct)}, {_fmt(r['ci_high'], pct)}]"


def print_summary(run_dir: str | Path, *, plot: bool = True, console: Console | None = None,
                  summary: Summary | None = None) -> pd.DataFrame:
    """The score table (n = scored / total samples), one verdict line per curve, then setup warnings, once."""
    console = console or wide_console()
    summary = summary or build_summary(run_dir)
    table = summary.scores
    origin = summary.provenance
    if table.empty:
        console.print(f"{run_dir}: no samples yet")
        if origin:
            console.print(origin, highlight=False, markup=False)
        return table
    out = Table(title=f"overthink summary: {run_dir}", show_lines=False)
    for col in ("task", "model", "mech", "budget", "n", "score [95% CI]", "mean tok", "median tok", "err", "trunc",
                "unparsed"):
        out.add_column(col, justify="left" if col in ("task", "model", "mech") else "right")
    names = short_names(str(m) for m in table["model"])  # unique, not cut (report/names.py)
    legend = legend_lines(names)
    out.caption = escape("\n".join(legend)) if legend else None
    name_column(out, names)
    for _, r in table.iterrows():
        out.add_row(escape(str(r["task"])), escape(names[str(r["model"])]), str(r["mechanism"]), str(r["budget"]),
                    f"{r['n_scored']}/{r['n']}", _score_cell(r), _tokens(r["mean_reasoning_tokens"]),
                    _tokens(r["median_reasoning_tokens"]), str(r["errors"]), str(r["truncated"]),
                    str(r["unparsed"]))
    console.print(out)
    if origin:
        console.print(origin, highlight=False, markup=False)
    if summary.sequential:  # --until-decided: the decisions first, the fixed-design verdicts labelled descriptive
        for line in sequential_lines(summary.sequential):
            console.print(line, highlight=False, markup=False)
    # Verdicts and curves compare budgets; natural samples (no budget) are analysed by `overthink report`.
    # The verdict line of a curve whose control was inactive says "not identifiable" itself (analysis/verdicts.py).
    for row in summary.verdicts.to_dict("records"):
        console.print(terminal_line(row, bold=lambda text: f"[bold]{escape(text)}[/bold]", plain=escape),
                      highlight=False)
    if len(summary.verdicts) > 1:
        console.print("verdicts: Holm-adjusted across the curves tested (family-wise 5 %); BH q-values in --json",
                      highlight=False, markup=False)
    print_efficiency(summary.efficiency, console)
    print_cost(summary.cost, console)
    for warning in summary.warnings:
        console.print(f"warning: {warning}", highlight=False, markup=False)
    controlled = table[table["budget"].astype(str) != "natural"]
    console.print(audit_rich(summary.audit))
    # A figure shows curves: drawn when some curve has two budgets. One point per curve is in the table above,
    # and matplotlib (~0.7 s to import and draw) is not worth a figure of single points.
    curves = controlled.groupby(["task", "model", "mechanism"])["budget"].nunique() if len(controlled) else ()
    if plot and any(n >= 2 for n in curves):
        paths = unchanged(controlled, Path(run_dir) / "figures", "curves", CURVE_FORMATS)
        if paths is None:
            from .figures import save_curves  # matplotlib: imported only when there is something to draw

            paths = save_curves(controlled, Path(run_dir) / "figures", formats=CURVE_FORMATS)
        console.print("figure: " + ", ".join(str(p) for p in paths))
    elif plot and len(controlled):
        console.print("figure: none (one budget per curve, no curve to draw)", highlight=False)
    return table


def run_summary_command(run_dir: str | Path, *, as_json: bool = False, as_csv: bool = False,
                        fail_on: str | None = None, out: TextIO | None = None, tolerance: float = 2.0) -> int:
    """What `overthink summary` does; returns the exit code (FAIL_EXIT when --fail-on matched, else 0)."""
    if as_json and as_csv:
        raise UserError("--json and --csv: choose one")
    if fail_on is not None and fail_on not in FAIL_ON:
        raise UserError(f"--fail-on {fail_on!r}: choose one of {', '.join(FAIL_ON)}")
    if not 0 <= tolerance < 100:
        raise UserError(f"--tolerance {tolerance}: give accuracy points between 0 and 100 (e.g. 2)")
    summary = build_summary(run_dir, tolerance=tolerance / 100)
    out = out or sys.stdout
    if as_json:
        write_json(summary, out)
    elif as_csv:
        write_csv(summary, out)
    else:
        print_summary(run_dir, plot=False, summary=summary)
    failing = failing_curves(summary, fail_on) if fail_on else []
    if failing:
        tested = int(summary.verdicts["n_curves_tested"].max()) if "n_curves_tested" in summary.verdicts else 1
        by = ("the sequential decision (--until-decided)" if summary.sequential else
              f"the calibrated test on requested budgets (Holm-adjusted across {tested} tested "
              f"curve{'' if tested == 1 else 's'})")
        print(f"--fail-on {fail_on}: {len(failing)} curve{'' if len(failing) == 1 else 's'} called {fail_on} by "
              f"{by}: {'; '.join(failing)}", file=sys.stderr)
        return FAIL_EXIT
    return 0


def print_models(console: Console | None = None) -> None:
    from ..providers import PROVIDERS

    console = console or wide_console()
    out = Table(title="models")
    for col in ("spec", "installed", "prepared", "size", "licence"):
        out.add_column(col)
    try:
        from ..local.packs import list_packs
    except ImportError:  # the local extra is not installed
        packs = []
    else:
        packs = list_packs()
    for pack in packs:
        out.add_row(pack["spec"], "yes" if pack["installed"] else "no", "yes" if pack["prepared"] else "no",
                    f"{pack['size'] / 1e6:.0f} MB", pack["licence"])
    console.print(out)
    api = [p for p, info in PROVIDERS.items() if info.listed and not info.embedded]
    console.print("API providers (any model name): " + ", ".join(f"{p}:MODEL" for p in api)
                  + "  e.g. anthropic:claude-sonnet-4-20250514, openai:o4-mini, "
                    "openai-compatible:Qwen/Qwen3-8B@http://127.0.0.1:8000/v1")


def _power_cell(r: dict, name: str, error: str) -> str:
    """"83 % ± 1.7": a simulated power and its Monte Carlo standard error (in points)."""
    se = r.get(error)
    return f"{100 * r[name]:.0f} %" + ("" if missing(se) else f" ± {100 * se:.1f}")


def print_power(plan: pd.DataFrame, run_dir: str, *, console: Console) -> None:
    """The sample-size plan of `overthink power` as a table, with notes below it."""
    if plan.empty:
        console.print(f"{run_dir}: nothing to plan")
        return
    first = plan.iloc[0]
    out = Table(title=f"overthink power: {run_dir} - drop of {100 * first['detect']:.0f} points, "
                      f"{100 * first['target_power']:.0f} % power, two-sided 5 % trend test")
    for col in ("task", "model", "mech", "pilot items", "replicates", "items needed", "samples", "power there",
                "power at pilot size"):
        out.add_column(col, justify="left" if col in ("task", "model", "mech") else "right")
    notes = []
    names = short_names(str(m) for m in plan["model"])
    legend = legend_lines(names)
    out.caption = escape("\n".join(legend)) if legend else None
    name_column(out, names)
    for r in plan.to_dict("records"):
        if missing(r.get("replicates")):
            notes.append(f"{r['task']} / {r['model']}: {r['note']}")
            continue
        needed = r["items_needed"]
        out.add_row(escape(str(r["task"])), escape(names[str(r["model"])]), str(r["mechanism"]), str(r["pilot_items"]),
                    str(int(r["replicates"])), "-" if missing(needed) else f"{int(needed):,}",
                    "-" if missing(r["samples_needed"]) else f"{int(r['samples_needed']):,}",
                    _power_cell(r, "power_at_items", "power_mc_error"),
                    _power_cell(r, "power_at_pilot_items", "power_at_pilot_items_mc_error"))
        if r.get("failed_fits"):
            notes.append(f"{r['task']} / {r['model']}: {int(r['failed_fits'])} of {int(r['sims_at_items'])} simulated "
                         f"fits failed (a near-constant sweep) and count as no call")
        if r.get("note"):
            notes.append(f"{r['task']} / {r['model']}: {r['note']}")
    if out.row_count:
        console.print(out)
        sims = plan["sims_at_items"].dropna() if "sims_at_items" in plan else []
        if len(sims):
            console.print(f"power from {int(max(sims))} simulated sweeps per size near the crossing; "
                          f"± = its Monte Carlo standard error", highlight=False, markup=False)
    for note in dict.fromkeys(notes):
        console.print(f"note: {note}", highlight=False, markup=False)
