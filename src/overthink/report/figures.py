"""Figures: score vs measured mean reasoning tokens, one panel per task, one line per (model, mechanism)."""

from __future__ import annotations

import math
import re
import warnings
from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")  # headless: figures are files, never windows
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

_SVG_STRIP = re.compile(r"<!--.*?-->|<metadata>.*?</metadata>", re.DOTALL)
METRIC_LABELS = {"accuracy": "accuracy", "rmse": "RMSE (lower is better)",
                 "matching_behavior": "answers matching the behaviour"}
TICK_GAP = 0.09  # least distance between two x tick labels, as a share of the axis span
# The probe metrics, each with one colour in every panel (a model is told by its line style instead).
PROBE_SERIES = (("distractor_engagement", "distractor engagement", "tab:blue"),
                ("share_second_guessing", "second-guessing", "tab:orange"),
                ("share_truncated", "truncated", "tab:red"),
                ("share_unparsed", "unparsed", "tab:purple"))
LINE_STYLES = ("-", "--", ":", "-.")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def layout(fig) -> None:
    """tight_layout without its 'not applied' warning reaching the terminal: when a panel is too crowded for it,
    the saved files still hold every label and legend (they are saved with bbox_inches='tight')."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*[Tt]ight layout not applied.*")
        warnings.filterwarnings("ignore", message=".*not compatible with tight_layout.*")
        fig.tight_layout()


def thin_ticks(positions: list[float], gap: float) -> list[int]:
    """Indices of the tick positions (sorted, in display units) to label: the first and the last always, and
    between them each one at least `gap` from the one kept before it and from the last."""
    if len(positions) <= 2:
        return list(range(len(positions)))
    keep = [0]
    last = len(positions) - 1
    for i in range(1, last):
        if positions[i] - positions[keep[-1]] >= gap and positions[last] - positions[i] >= gap:
            keep.append(i)
    return keep + [last]


def _task_panels(table: pd.DataFrame):
    """One panel per task of `table`, three to a row: (tasks, figure, axes)."""
    tasks = list(dict.fromkeys(table["task"]))
    cols = min(3, len(tasks))
    rows = math.ceil(len(tasks) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 4.2 * rows), squeeze=False)
    return tasks, fig, axes


def curve_figure(table: pd.DataFrame):
    """A matplotlib Figure of the curves in a score table (see analysis.curves.score_table)."""
    tasks, fig, axes = _task_panels(table)
    for ax, task in zip(axes.flat, tasks):
        sub = table[table["task"] == task]
        metric = sub["metric"].iloc[0]
        lines = list(sub.groupby(["model", "mechanism"], sort=False))
        for (model, mech), line in lines:
            _errorbar(ax, line["mean_reasoning_tokens"].fillna(0), line, label=f"{model} ({mech})")
        ax.set_xscale("symlog", linthresh=16)
        ax.margins(x=0.08)
        _length_ticks(ax, sub, with_budgets=len(lines) == 1)
        ax.set_xlabel("mean reasoning tokens (measured)" + ("; B = budget" if len(lines) == 1 else ""))
        _score_axis(ax, metric)
        ax.set_title(task)
        _legend_below(ax)
    for ax in list(axes.flat)[len(tasks):]:
        ax.axis("off")
    layout(fig)
    for ax, task in zip(axes.flat, tasks):  # after layout: label placement needs final positions
        sub = table[table["task"] == task]
        if sub.groupby(["model", "mechanism"]).ngroups > 1:
            _budget_labels(fig, ax, sub)
    return fig


def _errorbar(ax, x, line: pd.DataFrame, label: str) -> None:
    y = line["score"]
    err = [(y - line["ci_low"]).clip(lower=0).fillna(0), (line["ci_high"] - y).clip(lower=0).fillna(0)]
    ax.errorbar(x, y, yerr=err, marker="o", capsize=3, label=label)


def _length_ticks(ax, sub: pd.DataFrame, *, with_budgets: bool) -> None:
    """Major x ticks at the measured mean lengths (not 0, 10^1, 10^2), thinned so their labels never collide."""
    points = (sub.assign(x=sub["mean_reasoning_tokens"].fillna(0)).sort_values("x")[["x", "budget"]]
              .drop_duplicates("x"))
    if points.empty:
        return
    trans = ax.xaxis.get_transform()
    pos = trans.transform(points["x"].to_numpy(float))
    span = max(float(pos.max() - pos.min()), 1e-9)
    chosen = points.iloc[thin_ticks([float(p) for p in pos], TICK_GAP * span)]
    labels = [f"{x:.0f}" + (f"\nB={b}" if with_budgets else "") for x, b in zip(chosen["x"], chosen["budget"])]
    ax.set_xticks(chosen["x"].to_numpy(float), labels, fontsize=8)
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())


def _legend_below(ax, ncol: int = 1) -> None:
    """The legend under the axes, outside the plotting area, so it never covers a line."""
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=ncol, frameon=False)


def _budget_labels(fig, ax, sub: pd.DataFrame) -> None:
    """`B=` labels next to each point, placed greedily so no two overlap (a label that fits nowhere is dropped)."""
    renderer = fig.canvas.get_renderer()
    inside = ax.get_window_extent(renderer)
    placed = []
    offsets = ((4, 4), (4, -11), (-30, 4), (-30, -11), (4, 14), (-30, 14), (4, -21), (-30, -21))
    for (_model, _mech), line in sub.groupby(["model", "mechanism"], sort=False):
        for xi, yi, b in zip(line["mean_reasoning_tokens"].fillna(0), line["score"], line["budget"]):
            if pd.isna(yi):
                continue
            for dx, dy in offsets:
                text = ax.annotate(f"B={b}", (xi, yi), textcoords="offset points", xytext=(dx, dy), fontsize=7,
                                   alpha=0.75)
                box = text.get_window_extent(renderer).expanded(1.05, 1.1)
                fits = inside.x0 <= box.x0 and box.x1 <= inside.x1 and inside.y0 <= box.y0 and box.y1 <= inside.y1
                if fits and not any(box.overlaps(other) for other in placed):
                    placed.append(box)
                    break
                text.remove()


def save_curves(table: pd.DataFrame, out_dir: str | Path, name: str = "curves",
                formats: tuple[str, ...] = ("png", "svg")) -> list[Path]:
    """Write the curve figure in each format; returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fig = curve_figure(table)
    paths = []
    for fmt in formats:
        path = out / f"{name}.{fmt}"
        fig.savefig(path, dpi=150, bbox_inches="tight")
        paths.append(path)
    plt.close(fig)
    return paths


# -- more figures for the HTML report (each returns a Figure; `export` writes it inline as SVG and to files) --------

def _grid(n: int, width: float = 5.2, height: float = 3.8):
    cols = max(1, min(3, n))
    rows = max(1, math.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    return fig, list(axes.flat)


def _score_axis(ax, metric: str) -> None:
    """Scores in % like the tables (RMSE in its own units)."""
    ax.set_ylabel(METRIC_LABELS.get(metric, metric) + ("" if metric == "rmse" else " (%)"))
    if metric != "rmse":
        ax.set_ylim(-0.03, 1.03)
        ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, decimals=0))
    ax.grid(alpha=0.3)


def factor_figure(table: pd.DataFrame):
    """Curves split by a scaling factor: one panel per (task, factor), one line per (model, factor value), with
    95 % CIs (a few items per line swing widely; the bars show it) and the legend outside the plot."""
    panels = list(table.groupby(["task", "factor"], sort=False))
    fig, axes = _grid(len(panels), height=4.6)
    for ax, ((task, factor), sub) in zip(axes, panels):
        groups = list(sub.groupby(["model", "factor_value"], sort=False))
        for (model, value), line in groups:
            n = int(line["n_items"].max()) if "n_items" in line else 0
            _errorbar(ax, line["mean_reasoning_tokens"].fillna(0), line,
                      label=f"{model} {factor}={value}" + (f" ({n} items)" if n else ""))
        ax.set_xscale("symlog", linthresh=16)
        ax.margins(x=0.08)
        _length_ticks(ax, sub, with_budgets=False)
        ax.set_xlabel("mean reasoning tokens (measured)")
        _score_axis(ax, sub["metric"].iloc[0])
        ax.set_title(f"{task} by {factor}")
        _legend_below(ax, ncol=2 if len(groups) > 3 else 1)
    layout(fig)
    return fig


def rank_figure(table: pd.DataFrame, column: str = "length_rank",
                xlabel: str = "length rank within item (1 = shortest)"):
    """Natural overthinking: score per length rank (or quantile), one panel per task."""
    tasks = list(dict.fromkeys(table["task"]))
    fig, axes = _grid(len(tasks))
    for ax, task in zip(axes, tasks):
        sub = table[table["task"] == task]
        for (model, mech), line in sub.groupby(["model", "mechanism"], sort=False):
            y = line["score"]
            err = [(y - line["ci_low"]).clip(lower=0).fillna(0), (line["ci_high"] - y).clip(lower=0).fillna(0)]
            ax.errorbar(line[column], y, yerr=err, marker="o", capsize=3, label=f"{model} ({mech})")
        ax.set_xlabel(xlabel)
        _score_axis(ax, sub["metric"].iloc[0])
        ax.set_title(task)
        _legend_below(ax)
    layout(fig)
    return fig


def heatmap_figure(corr: pd.DataFrame, task: str):
    """Correlation of predictions with each feature per (model, budget), ground truth in the first row."""
    sub = corr[corr["task"] == task].copy()
    sub["row"] = [("ground truth" if m == "ground truth" else f"{m} B={b}")
                  for m, b in zip(sub["model"], sub["budget"])]
    grid = sub.pivot_table(index="row", columns="feature", values="r", sort=False)
    fig, ax = plt.subplots(figsize=(1.1 * grid.shape[1] + 3, 0.42 * grid.shape[0] + 1.8))
    im = ax.imshow(grid.to_numpy(float), cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
    ax.set_xticks(range(grid.shape[1]), grid.columns, rotation=35, ha="right", fontsize=8)
    ax.set_yticks(range(grid.shape[0]), grid.index, fontsize=8)
    for (i, j), v in pd.DataFrame(grid.to_numpy(float)).stack().items():
        ax.text(j, i, f"{v:+.2f}", ha="center", va="center", fontsize=7)
    fig.colorbar(im, ax=ax, label="Pearson r")
    ax.set_title(f"{task}: correlation with each feature")
    layout(fig)
    return fig


def probes_figure(probes: pd.DataFrame):
    """Per task: distractor engagement, second-guessing and truncation share against the budget. A metric has
    the same colour in every panel; models differ by line style and marker."""
    tasks = list(dict.fromkeys(probes["task"]))
    fig, axes = _grid(len(tasks))
    models = list(dict.fromkeys(probes["model"]))
    for ax, task in zip(axes, tasks):
        sub = probes[probes["task"] == task]
        for (model, _mech), line in sub.groupby(["model", "mechanism"], sort=False):
            k = models.index(model)
            x = [str(b) for b in line["budget"]]
            for col, label, colour in PROBE_SERIES:
                if col in line and line[col].notna().any():
                    ax.plot(x, line[col], color=colour, linestyle=LINE_STYLES[k % len(LINE_STYLES)],
                            marker=MARKERS[k % len(MARKERS)], label=f"{label}: {model}" if len(models) > 1
                            else label)
        ax.set_ylim(-0.03, 1.03)
        ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, decimals=0))
        ax.set_xlabel("budget")
        ax.set_ylabel("share of samples (%)")
        ax.set_title(task)
        ax.grid(alpha=0.3)
        _legend_below(ax, ncol=2)
    layout(fig)
    return fig


def export(fig, out_dir: str | Path | None, name: str, formats: tuple[str, ...] = ("png", "pdf")) -> str:
    """Save the figure as PNG and PDF (for papers) and return it as an inline SVG string; closes the figure."""
    import io

    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        for fmt in formats:
            fig.savefig(out / f"{name}.{fmt}", dpi=150, bbox_inches="tight")
    buf = io.StringIO()
    # Text as paths (matplotlib's default): no model- or user-supplied string reaches the SVG as markup.
    with matplotlib.rc_context({"svg.fonttype": "path"}):
        fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    # Drop comments (matplotlib copies label text into them) and the metadata block: smaller, and nothing but
    # drawing instructions is left.
    return _SVG_STRIP.sub("", svg)


def frontier_figure(table: pd.DataFrame, recs: pd.DataFrame):
    """Accuracy (non-answers wrong, 95 % item-bootstrap CI) against mean thinking tokens per budget, one panel per
    task and one line per (model, mechanism); budgets on the accuracy / thinking-token frontier are filled, the
    recommended budget is ringed with a star (analysis/recommend.py)."""
    tasks, fig, axes = _task_panels(table)
    for ax, task in zip(axes.flat, tasks):
        sub = table[table["task"] == task]
        for (model, mech), line in sub.groupby(["model", "mechanism"], sort=False):
            x, y = line["mean_thinking_tokens"].fillna(0), line["accuracy"]
            err = [(y - line["accuracy_lo"]).clip(lower=0).fillna(0), (line["accuracy_hi"] - y).clip(lower=0).fillna(0)]
            bars = ax.errorbar(x, y, yerr=err, marker="o", mfc="white", capsize=3, label=f"{model} ({mech})")
            front = line["on_frontier"].astype(bool)
            ax.plot(x[front], y[front], "o", color=bars[0].get_color())
            for xi, yi, b in zip(x, y, line["budget"]):
                ax.annotate(f"B={b}", (xi, yi), textcoords="offset points", xytext=(4, 4), fontsize=7)
            rec = recs[(recs["task"] == task) & (recs["model"] == model) & (recs["mechanism"] == mech)]
            if len(rec) and rec.iloc[0]["recommended_budget"] is not None:
                at = line[line["budget"].astype(str) == str(rec.iloc[0]["recommended_budget"])]
                ax.plot(at["mean_thinking_tokens"].fillna(0), at["accuracy"], marker="*", ms=16, mfc="none",
                        mec="black", ls="none", label=f"recommended: B={rec.iloc[0]['recommended_budget']}")
        ax.set_xscale("symlog", linthresh=16)
        ax.margins(x=0.1)
        ax.set_xlabel("mean thinking tokens (measured); filled = on the frontier")
        _score_axis(ax, "accuracy")
        ax.set_title(task)
        _legend_below(ax)
    for ax in list(axes.flat)[len(tasks):]:
        ax.axis("off")
    fig.tight_layout()
    return fig
