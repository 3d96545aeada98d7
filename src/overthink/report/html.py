"""The self-contained HTML report: headline verdicts, curves, sweet spots, then details.

Jinja2 renders with autoescape on: every string from a store (model output, prompts, model and task names) is
escaped. The only markup inserted unescaped is the SVG that matplotlib writes for our own figures, with text drawn
as paths. A Content-Security-Policy forbids scripts and network access as a second line of defence; the page needs
neither (sections collapse with <details>).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from ..analysis.api import ANALYSIS_STEPS, analyze_data, stored_samples
from ..analysis.curves import N_BOOT
from ..analysis.load import load_runs
from ..analysis.trends import MIN_VERDICT_ITEMS
from ..analysis.verdicts import slope_sentence, words
from ..progress import StepProgress, quiet
from ..review.labels import label_counts
from ..store import Store
from . import figures
from .audit import html_tables
from .cards import card
from .drawing import Drawer, use_worker
from .efficiency import efficiency_context
from .examples import pick_examples
from .sequential import DESCRIPTIVE, design_line
from .sequential import table as sequential_table
from .text import fmt_delta, fmt_num, fmt_p, fmt_score, headline, missing, sweet_sentence
from .trajectories import trajectory_context

REPORT_STEPS = ANALYSIS_STEPS + 3  # load, the analysis, figures, HTML


def _env() -> Environment:
    env = Environment(loader=PackageLoader("overthink.report", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    env.filters.update(score=fmt_score, delta=fmt_delta, num=fmt_num, p=fmt_p)
    return env


def _rows(df: pd.DataFrame, columns: dict[str, Any]) -> dict[str, Any]:
    """A table for the template: header labels and rows of display strings. columns: label -> column or callable."""
    rows = []
    for rec in df.to_dict("records"):
        row = []
        for spec in columns.values():
            value = spec(rec) if callable(spec) else rec.get(spec)
            row.append("-" if missing(value) else value if isinstance(value, str) else
                       str(int(value)) if isinstance(value, float) and value.is_integer() else fmt_num(value)
                       if isinstance(value, float) else str(value))
        rows.append(row)
    return {"header": list(columns), "rows": rows}


def _clean_budgets(row: dict[str, Any]) -> dict[str, Any]:
    """Budget cells of a mixed column come back as floats or NaN from pandas: 64.0 -> 64, NaN -> None."""
    for key in ("peak_budget", "change_point", "recommended_budget"):
        value = row.get(key)
        if missing(value):
            row[key] = None
        elif isinstance(value, float) and value.is_integer():
            row[key] = int(value)
    return row


def _label_table(run_dirs: Sequence[str | Path]) -> dict[str, Any] | None:
    """Label counts per (task, model, budget) x failure mode, when any run has labels."""
    frames = []
    for run_dir in run_dirs:
        with Store(run_dir, create=False) as store:
            counts = label_counts(store)
        if len(counts):
            frames.append(counts.assign(run=str(run_dir)))
    if not frames:
        return None
    counts = pd.concat(frames)
    wide = counts.pivot_table(index=["task", "model", "budget"], columns="label", values="count", aggfunc="sum",
                              fill_value=0, sort=False)
    header = ["task", "model", "budget", *wide.columns]
    return {"header": header, "rows": [[*key, *(int(v) for v in row)] for key, row in zip(wide.index, wide.values)]}


def _score_cols() -> dict[str, Any]:
    return {"task": "task", "model": "model", "mech": "mechanism", "budget": "budget",
            "n (scored / total)": lambda r: f"{r['n_scored']} / {r['n']}", "items": "n_items",
            "score": lambda r: fmt_score(r["score"], r["metric"]),
            "95 % CI": lambda r: f"{fmt_score(r['ci_low'], r['metric'])} - {fmt_score(r['ci_high'], r['metric'])}",
            "mean tokens": lambda r: fmt_num(r["mean_reasoning_tokens"], 0), "errors": "errors",
            "truncated": "truncated", "unparsed": "unparsed"}


def _change(r: dict[str, Any], key: str) -> str:
    value = r.get(key)
    if missing(value):
        return "-"
    return f"{value:+.3f}" if r["metric"] == "rmse" else f"{100 * value:+.1f} points"


def _natural_sentence(v: dict[str, Any]) -> str:
    clause = slope_sentence(v)
    if not missing(v.get("uniform_score")):
        return (f"Each item was answered {v['k']} times without a budget; every scored answer got the same score "
                f"({fmt_score(v['uniform_score'], v['metric'])}), so nothing changes with length.")
    if not clause:
        return (f"Not enough data for a trend test: {v['n_obs']} scored samples from {v['n_clusters']} items "
                f"(at least {MIN_VERDICT_ITEMS} items are needed).")
    return (f"Each item was answered {v['k']} times without a budget, so lengths were not assigned: this is an "
            f"association within items, not an effect of reasoning longer. The {clause}.")


def _early_figure(drawer: Drawer, name: str, table: pd.DataFrame) -> None:
    """Hand a figure to the drawer as soon as analyze_data has its table (drawn beside the rest of the analysis)."""
    if name == "scores" and len(table):
        controlled = table[table["budget"].astype(str) != "natural"]
        if len(controlled):
            drawer.add("curves", figures.curve_figure, controlled)
    elif name == "factor_scores" and len(table):
        on = table["budget"].astype(str) != "natural"
        drawer.add("factors", figures.factor_figure, table[on] if on.any() else table)
    elif name == "probes" and len(table):
        drawer.add("probes", figures.probes_figure, table)


def build_context(run_dirs: Sequence[str | Path], out_dir: Path | None, *, n_boot: int = N_BOOT,
                  probes_per_group: int = 2000, progress: StepProgress | None = None,
                  drawer: Drawer | None = None) -> dict[str, Any]:
    """The template's context; `progress` is advanced after loading, each analysis table and the figures.
    `drawer` (report/drawing.py) draws the figures, in process unless the caller gives one with a worker."""
    own = Drawer(None if out_dir is None else out_dir / "figures") if drawer is None else None
    with own if own is not None else contextlib.nullcontext():
        return _context(run_dirs, drawer if drawer is not None else own, n_boot=n_boot,
                        probes_per_group=probes_per_group, bar=progress or quiet())


def _context(run_dirs: Sequence[str | Path], drawer: Drawer, *, n_boot: int, probes_per_group: int,
             bar: StepProgress) -> dict[str, Any]:
    data = load_runs(run_dirs)
    bar.advance("load")
    t = analyze_data(data, n_boot=n_boot, probes_per_group=probes_per_group, progress=bar,
                     on_table=lambda name, table: _early_figure(drawer, name, table))
    notes: list[str] = []
    scores = t["scores"]
    if len(t["efficiency"]):
        drawer.add("frontier", figures.frontier_figure, t["efficiency"], t["recommendation"])
    if len(t["natural_rank"]):
        drawer.add("natural_rank", figures.rank_figure, t["natural_rank"])
    else:
        notes.append("Natural overthinking: no run with --natural K, so no per-rank analysis.")
    if len(t["feature_corr"]):
        # named as before the figures were drawn early: by how many figures come before them in the report
        first = sum(name in drawer.jobs for name in ("curves", "frontier", "factors", "natural_rank"))
        for i, task in enumerate(dict.fromkeys(t["feature_corr"]["task"])):
            drawer.add(f"features_{first + i}", figures.heatmap_figure, t["feature_corr"], task)
        if t["feature_variance"].empty:
            notes.append("Spurious features: the task declares no causal / spurious feature lists, so the variance "
                         "shares are not computed.")
    else:
        notes.append("Spurious features: no item carries input features (grades-regression), section skipped.")
    if len(t["probes"]) and t["probes"]["distractor_engagement"].isna().all():
        notes.append("Distractor engagement: no item lists distractor_spans or no reasoning text was stored.")

    verdicts = t["verdicts"].to_dict("records")
    heads = [dict(v, sentence=headline(v), words=v["verdict_words"]) for v in verdicts]
    natural = [dict(v, verdict=v["trend"], words=words(str(v["trend"]), v["metric"]), sentence=_natural_sentence(v))
               for v in t["natural_verdicts"].to_dict("records")]
    sweet = [dict(s, sentence=sweet_sentence(s)) for s in map(_clean_budgets, t["sweet_spot"].to_dict("records"))]
    tables = {
        "scores": _rows(scores, _score_cols()) if len(scores) else None,
        "verdicts": _rows(t["verdicts"], {
            "task": "task", "model": "model", "mech": "mechanism", "verdict": "verdict",
            "paper's rule": "paper_verdict",
            "change": lambda r: fmt_delta(r["paper_delta"], r["metric"]), "this curve alone": "trend",
            # issue 24: the fitted change over the budgets (squared error for RMSE), its CI and the adjusted p
            "fitted change": lambda r: _change(r, "change"),
            "95 % CI": lambda r: f"{_change(r, 'change_low')} to {_change(r, 'change_high')}",
            "p": lambda r: fmt_p(r["p"]), "Holm p": lambda r: fmt_p(r.get("p_adj_holm")),
            "BH q": lambda r: fmt_num(r.get("q_bh"), 3), "bend": "shape",
            "complete cases": "complete_case_trend", "Spearman (within item)": "spearman",
            "Spearman p": lambda r: fmt_p(r["spearman_p"]), "items": "n_clusters",
            "80 % power at": lambda r: fmt_delta(r["detectable_change"], r["metric"]).lstrip("+"),
        }) if len(t["verdicts"]) else None,
        "factors": _rows(t["factor_scores"], {"factor": "factor", "value": "factor_value", **_score_cols()})
        if len(t["factor_scores"]) else None,
        "natural_rank": _rows(t["natural_rank"], {"rank": "length_rank", **_score_cols()})
        if len(t["natural_rank"]) else None,
        "natural_quantile": _rows(t["natural_quantile"], {"quantile": "length_quantile", **_score_cols()})
        if len(t["natural_quantile"]) else None,
        "feature_variance": _rows(t["feature_variance"], {
            "task": "task", "model": "model", "budget": "budget", "n": "n", "R² causal": "r2_causal",
            "R² spurious": "r2_spurious", "R² all": "r2_all"}) if len(t["feature_variance"]) else None,
        "probes": _rows(t["probes"], {
            "task": "task", "model": "model", "mech": "mechanism", "budget": "budget", "n": "n",
            "truncated": lambda r: fmt_score(r["share_truncated"], "accuracy"),
            "unparsed": lambda r: fmt_score(r["share_unparsed"], "accuracy"),
            "errors": lambda r: fmt_score(r["share_error"], "accuracy"),
            "texts read": lambda r: fmt_num(r["n_text"], 0),  # a count, not "20.00"
            "distractor engagement": lambda r: fmt_score(r["distractor_engagement"], "accuracy"),
            "second-guessing": lambda r: fmt_score(r["share_second_guessing"], "accuracy"),
            "markers / sample": "markers_per_sample", "answer changes / sample": "mean_answer_changes",
        }) if len(t["probes"]) else None,
    }
    tables["labels"] = _label_table(run_dirs)
    sequential = []  # runs made with --until-decided: their stored design and decisions
    for label, path in data.runs.items():
        with Store(path, create=False) as store:
            meta = store.meta().sequential
        if meta:
            sequential.append({"run": label, "design": design_line(meta), "table": sequential_table(meta)})
    tables.update(html_tables(t))  # the enforcement audit and the token ledger
    context = dict(
        title="overthink report", generated=dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        runs=t["runs"].to_dict("records"), headlines=heads, natural=natural,
        cards=[card(h) for h in heads] + [card(h, tag="natural", lead=h["sentence"]) for h in natural],
        sweet=sweet,
        tables=tables, notes=notes, warnings=list(t["warnings"]["warning"]), examples=pick_examples(data),
        n_boot=n_boot, probes_per_group=probes_per_group, sequential=sequential, sequential_note=DESCRIPTIVE,
        tables_raw=t, **trajectory_context(t, drawer.add), **efficiency_context(t),
    )
    context["figures"] = drawer.figures()
    bar.advance("figures")
    return context


def render(context: dict[str, Any]) -> str:
    return _env().get_template("report.html.j2").render(**context)


def build_report(run_dirs: Sequence[str | Path], out: str | Path = "report.html", *, n_boot: int = N_BOOT,
                 probes_per_group: int = 2000) -> Path:
    """Analyse the runs and write one self-contained HTML file; figures also go to <out dir>/figures as PNG/PDF."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    samples = stored_samples(run_dirs)
    with StepProgress("report", REPORT_STEPS, samples=samples) as bar, \
            Drawer(out.parent / "figures", worker=use_worker(samples)) as drawer:
        context = build_context(run_dirs, out.parent, n_boot=n_boot, probes_per_group=probes_per_group,
                                progress=bar, drawer=drawer)
        out.write_text(render(context), encoding="utf-8")
        bar.advance("HTML")
    return out
