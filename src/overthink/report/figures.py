"""Figures: small multiples - a panel per task, a line per model - with every legend outside the data.

Each figure is laid out by matplotlib's constrained layout on a canvas sized from its content (panels, legend
entries and the measured width of their labels), then frozen, so that from 1 to 10 models and 1 to 8 tasks no text
overlaps another or the data and nothing runs off the canvas (tests/test_figures_layout.py renders that grid and
checks the boxes). A model keeps one colour and marker in every panel; long model names are abbreviated uniquely
(report/names.py). No matplotlib warning reaches the terminal: the layout never needs to give up.
"""

from __future__ import annotations

import functools
import io
import math
import re
import warnings
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.ticker
import numpy as np

matplotlib.use("Agg")  # headless: figures are files, never windows
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.backends.backend_agg import RendererAgg  # noqa: E402
from matplotlib.font_manager import FontProperties  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from . import stamps  # noqa: E402
from .names import short_names  # noqa: E402
from .ticks import all_ticks, set_length_ticks  # noqa: E402

_SVG_STRIP = re.compile(r"<!--.*?-->|<metadata>.*?</metadata>", re.DOTALL)
METRIC_LABELS = {"accuracy": "accuracy", "rmse": "RMSE (lower is better)",
                 "matching_behavior": "answers matching the behaviour"}
TICK_GAP = 0.09  # least distance between two x tick labels, as a share of the axis span (before layout)
TICK_PAD = 6.0  # points between two x tick labels (after layout, measured)
# The probe metrics, each with one colour in every panel (a model is told by its line style instead).
PROBE_SERIES = (("distractor_engagement", "distractor engagement", "tab:blue"),
                ("share_second_guessing", "second-guessing", "tab:orange"),
                ("share_truncated", "truncated", "tab:red"),
                ("share_unparsed", "unparsed", "tab:purple"))
LINE_STYLES = ("-", "--", ":", "-.")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "h", "<", ">", "p")
PANEL_W, PANEL_H = 5.2, 4.0  # inches per panel
COLS = 3  # panels per row
LEGEND_SIZE = 7.0  # points
NAME_WIDTH = 40  # characters of a model name in a figure; longer ones are abbreviated uniquely
_MEASURE = RendererAgg(10, 10, 72)  # at 72 dpi a pixel is a point


@functools.lru_cache(maxsize=4096)
def text_width(text: str, size: float = LEGEND_SIZE) -> float:
    """Width of one line of `text` in points at font `size` (Agg's metrics: the ones the PNG is drawn with).
    Remembered: legends and tick thinning measure the same labels again and again."""
    width, _height, _descent = _MEASURE.get_text_width_height_descent(text, FontProperties(size=size), ismath=False)
    return float(width)


def plain(text: Any) -> str:
    """A label drawn as written: a '$' would start matplotlib's mathtext, and a model name is not a formula."""
    return str(text).replace("$", r"\$")


def layout(fig) -> None:
    """tight_layout without its 'not applied' warning reaching the terminal (figures that still use it: the
    saved files hold every label, being saved with bbox_inches='tight'). Constrained figures lay out themselves."""
    if fig.get_layout_engine() is not None:
        return
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


# -- canvas, legends and styles -----------------------------------------------------------------------------------

def legend_shape(labels: Sequence[str], width_in: float) -> tuple[int, float]:
    """(columns, height in inches) of a legend of `labels` in `width_in`: as many columns as fit the width."""
    if not labels:
        return 1, 0.0
    em = LEGEND_SIZE
    # a column: the widest label, the handle (2 em) and its pad (0.8 em), with room to spare for rounding
    column = 1.03 * max(text_width(t) for t in labels) + 3.2 * em
    spacing = 2.0 * em
    room = width_in * 72 - 4 * em
    ncol = max(1, min(len(labels), int((room + spacing) // (column + spacing))))
    rows = math.ceil(len(labels) / ncol)
    return ncol, (rows * 1.75 * em + 1.5 * em) / 72  # a row: the text (1.2 em) and the label spacing (0.5 em)


def panels(n: int, *, legend: Sequence[str] = (), width: float = PANEL_W, height: float = PANEL_H):
    """A constrained figure of `n` panels, COLS to a row, with room below them for a legend of `legend`'s
    labels: (figure, the panels' axes, the legend's columns). Grid cells without a panel are switched off."""
    cols = max(1, min(COLS, n))
    rows = max(1, math.ceil(n / cols))
    ncol, legend_h = legend_shape(legend, width * cols)
    fig = plt.figure(figsize=(width * cols, height * rows + legend_h), layout="constrained")
    grid = fig.subplots(rows, cols, squeeze=False)
    axes = list(grid.flat)
    for ax in axes[n:]:
        ax.axis("off")
    return fig, axes[:n], ncol


def _task_panels(table: pd.DataFrame, legend: Sequence[str] = ()):
    """One panel per task of `table`: (tasks, figure, axes, legend columns)."""
    tasks = list(dict.fromkeys(table["task"]))
    fig, axes, ncol = panels(len(tasks), legend=legend)
    return tasks, fig, axes, ncol


def series_styles(keys: Sequence[Hashable]) -> dict[Hashable, dict[str, Any]]:
    """One colour and marker per series (a model x mechanism), the same in every panel of a figure."""
    keys = list(dict.fromkeys(keys))
    cmap = plt.get_cmap("tab10" if len(keys) <= 10 else "tab20")
    return {k: {"color": cmap(i % cmap.N), "marker": MARKERS[i % len(MARKERS)]} for i, k in enumerate(keys)}


def series_labels(frame: pd.DataFrame) -> dict[tuple[Any, Any], str]:
    """(model, mechanism) -> its legend label: the model abbreviated uniquely, the mechanism in brackets."""
    pairs = list(dict.fromkeys(zip(frame["model"], frame["mechanism"])))
    names = short_names([str(m) for m, _ in pairs], NAME_WIDTH)
    return {(m, mech): plain(f"{names[str(m)]} ({mech})") for m, mech in pairs}


def shared_legend(fig, handles: list, labels: list[str], ncol: int) -> None:
    """One legend for every panel, below them all (the series are the same in each panel)."""
    if labels:
        fig.legend(handles, labels, loc="outside lower center", ncol=ncol, fontsize=LEGEND_SIZE, frameon=False)


def _series_handles(labels: dict, styles: dict) -> tuple[list, list[str]]:
    handles = [Line2D([], [], color=styles[k]["color"], marker=styles[k]["marker"]) for k in labels]
    return handles, list(labels.values())


def freeze(fig) -> None:
    """Lay the figure out once and keep it: what is placed afterwards (budget labels, thinned ticks) needs the
    final positions, and must not move the panels again. No layout engine is left on the figure (not even
    matplotlib's "none" placeholder): with one, every savefig first runs a whole layout draw that changes nothing,
    one more draw per format saved. Only the layout is run here, not the draw around it (draw_without_rendering):
    savefig draws the figure anyway, and that draw changed nothing it needs (a second of CPU at 10 models x 8
    tasks; what a draw does before the layout, the axes' aspect, is done here too)."""
    for ax in fig.axes:
        ax.apply_aspect()
    fig.get_layout_engine().execute(fig)
    with matplotlib.rc_context({"figure.autolayout": False, "figure.constrained_layout.use": False}):
        fig.set_layout_engine(None)  # (None with these two off: no engine at all)


def _thin_xticks(ax) -> None:
    """After layout: keep the x tick labels that fit side by side, the first and the last always."""
    ticks, labels = all_ticks(ax)
    if len(ticks) <= 2:
        return
    size = ax.get_xticklabels()[0].get_fontsize()
    widest = max(max(text_width(line, size) for line in label.split("\n")) for label in labels)
    dpi_scale = ax.figure.dpi / 72
    pos = [float(x) for x, _y in ax.transData.transform([(t, 0) for t in ticks])]
    order = sorted(range(len(ticks)), key=lambda i: pos[i])
    keep = [order[i] for i in thin_ticks([pos[i] for i in order], (widest + TICK_PAD) * dpi_scale)]
    ax.set_xticks([ticks[i] for i in keep], [labels[i] for i in keep])


def _length_ticks(ax, sub: pd.DataFrame, column: str = "mean_reasoning_tokens", *, with_budgets: bool) -> None:
    """Major x ticks at the measured mean lengths (not 0, 10^1, 10^2); `_thin_xticks` drops the ones whose labels
    would collide once the panel has its final size (until then only the labels that bound the others are set on
    the axis: report/ticks.py)."""
    points = (sub.assign(x=sub[column].fillna(0)).sort_values("x")[["x", "budget"]].drop_duplicates("x"))
    if points.empty:
        return
    labels = [f"{x:.0f}" + (f"\nB={b}" if with_budgets else "") for x, b in zip(points["x"], points["budget"])]
    set_length_ticks(ax, points["x"].to_numpy(float), labels, 8)
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())


def _score_axis(ax, metric: str) -> None:
    """Scores in % like the tables (RMSE in its own units)."""
    ax.set_ylabel(METRIC_LABELS.get(metric, metric) + ("" if metric == "rmse" else " (%)"))
    if metric != "rmse":
        ax.set_ylim(-0.03, 1.03)
        ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, decimals=0))
    ax.grid(alpha=0.3)


def _below_above(y: np.ndarray, low: np.ndarray, high: np.ndarray) -> list[np.ndarray]:
    """Error bar lengths below and above `y`: never negative, 0 where a bound is missing (numpy, not pandas: a
    figure of 10 models x 8 tasks has 80 lines)."""
    return [np.nan_to_num(np.maximum(y - low, 0), nan=0.0), np.nan_to_num(np.maximum(high - y, 0), nan=0.0)]


def _errorbar(ax, x, line: pd.DataFrame, label: str, y: str = "score", low: str = "ci_low", high: str = "ci_high",
              **style: Any) -> Any:
    ys = line[y].to_numpy(float)
    err = _below_above(ys, line[low].to_numpy(float), line[high].to_numpy(float))
    # object arrays: what errorbar makes of the pandas columns it was given before
    return ax.errorbar(np.asarray(x, dtype=object), ys.astype(object), yerr=err, capsize=3, label=label,
                       **({"marker": "o"} | style))


def _budget_labels(fig, ax, points: list[tuple[float, float, Any]]) -> None:
    """`B=` labels next to points (x, y, budget), placed greedily in order so no two overlap and each stays in
    the panel (a label that fits nowhere is dropped)."""
    renderer = fig.canvas.get_renderer()
    inside = ax.get_window_extent(renderer)
    placed = []
    offsets = ((4, 4), (4, -11), (-30, 4), (-30, -11), (4, 14), (-30, 14), (4, -21), (-30, -21))
    px = fig.dpi / 72  # offset points -> display pixels
    # A point 4 pt inside the panel is in it at any dpi (matplotlib's test allows 1 pixel of slack either way).
    inner = inside.padded(-4 * px)
    dx0, dy0 = offsets[0]
    for xi, yi, b in points:
        if pd.isna(yi):
            continue
        # One label is laid out; its box at the other offsets is the same box moved (text layout is the costly
        # part: up to eight layouts per point took seconds in a figure of 10 models x 8 tasks).
        text = ax.annotate(f"B={b}", (xi, yi), textcoords="offset points", xytext=(dx0, dy0), fontsize=7,
                           alpha=0.75)
        first = text.get_window_extent(renderer)
        for dx, dy in offsets:
            box = first.translated((dx - dx0) * px, (dy - dy0) * px).expanded(1.05, 1.1)
            fits = inside.x0 <= box.x0 and box.x1 <= inside.x1 and inside.y0 <= box.y0 and box.y1 <= inside.y1
            if fits and not any(box.overlaps(other) for other in placed):
                placed.append(box)
                text.xyann = (dx, dy)
                anchor = ax.transData.transform((xi, yi))
                if inner.contains(*anchor):
                    # Drawn in every save: no need to test in each one that the point is in the panel.
                    text.set_annotation_clip(False)
                break
        else:
            text.remove()


def _line_points(sub: pd.DataFrame, x: str, y: str) -> list[tuple[float, float, Any]]:
    return [(xi, yi, b) for _key, line in sub.groupby(["model", "mechanism"], sort=False)
            for xi, yi, b in zip(line[x].fillna(0), line[y], line["budget"])]


# -- the figures --------------------------------------------------------------------------------------------------

def curve_figure(table: pd.DataFrame):
    """A matplotlib Figure of the curves in a score table (see analysis.curves.score_table): a panel per task, a
    line per (model, mechanism), one legend below the panels."""
    labels = series_labels(table)
    styles = series_styles(list(labels))
    tasks, fig, axes, ncol = _task_panels(table, list(labels.values()))
    crowded = []
    for ax, task in zip(axes, tasks):
        sub = table[table["task"] == task]
        lines = list(sub.groupby(["model", "mechanism"], sort=False))
        for key, line in lines:
            _errorbar(ax, line["mean_reasoning_tokens"].fillna(0), line, label=labels[key], **styles[key])
        ax.set_xscale("symlog", linthresh=16)
        ax.margins(x=0.08)
        _length_ticks(ax, sub, with_budgets=len(lines) == 1)
        ax.set_xlabel("mean reasoning tokens (measured)" + ("; B = budget" if len(lines) == 1 else ""))
        _score_axis(ax, sub["metric"].iloc[0])
        ax.set_title(plain(task))
        if len(lines) > 1:
            crowded.append((ax, sub))
    shared_legend(fig, *_series_handles(labels, styles), ncol)
    freeze(fig)
    for ax in axes:
        _thin_xticks(ax)
    for ax, sub in crowded:  # after layout: label placement needs final positions
        _budget_labels(fig, ax, _line_points(sub, "mean_reasoning_tokens", "score"))
    return fig


def save_curves(table: pd.DataFrame, out_dir: str | Path, name: str = "curves",
                formats: tuple[str, ...] = ("png", "svg")) -> list[Path]:
    """Write the curve figure in each format and its stamp (report/stamps.py: a caller may skip an unchanged
    table); returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stamps.stamp_path(out, name).unlink(missing_ok=True)
    fig = curve_figure(table)
    paths = [out / f"{name}.{fmt}" for fmt in formats]
    for path in paths:  # laid out and frozen already: a "tight" bbox would draw the figure twice per file
        fig.savefig(path, dpi=150)
    plt.close(fig)
    stamps.stamp_path(out, name).write_text(stamps.stamp_key(table, formats))
    return paths


# -- more figures for the HTML report (each returns a Figure; `export` writes it inline as SVG and to files) --------

def _grid(n: int, width: float = 5.2, height: float = 3.8):
    """`n` panels with tight_layout (for figures that place a legend under each panel themselves)."""
    cols = max(1, min(3, n))
    rows = max(1, math.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    return fig, list(axes.flat)


def factor_figure(table: pd.DataFrame):
    """Curves split by a scaling factor: one panel per (task, factor), one line per (model, factor value), with
    95 % CIs (a few items per line swing widely; the bars show it). A model has one colour, a factor value one
    line style; each panel's legend (its lines' item counts differ) sits in a row of its own below the panel."""
    panel_list = list(table.groupby(["task", "factor"], sort=False))
    models = list(dict.fromkeys(table["model"]))
    names = short_names([str(m) for m in models], NAME_WIDTH)
    colours = series_styles(models)
    contents = []
    for (task, factor), sub in panel_list:
        values = list(dict.fromkeys(sub["factor_value"]))
        lines = []
        for (model, value), line in sub.groupby(["model", "factor_value"], sort=False):
            n = int(line["n_items"].max()) if "n_items" in line else 0
            lines.append((model, values.index(value), line,
                          plain(f"{names[str(model)]} {factor}={value}" + (f" ({n} items)" if n else ""))))
        contents.append((task, factor, sub, lines))
    cols = max(1, min(COLS, len(contents)))
    rows = max(1, math.ceil(len(contents) / cols))
    shapes = [legend_shape([lab for *_x, lab in lines], PANEL_W) for *_x, lines in contents]
    legend_h = max(h for _n, h in shapes) * 1.1 + 0.1
    fig = plt.figure(figsize=(PANEL_W * cols, rows * (PANEL_H + legend_h)), layout="constrained")
    grid = fig.add_gridspec(2 * rows, cols, height_ratios=[PANEL_H, legend_h] * rows)
    rooms = []
    for i, ((task, factor, sub, lines), (ncol, _h)) in enumerate(zip(contents, shapes)):
        r, c = divmod(i, cols)
        ax = fig.add_subplot(grid[2 * r, c])
        room = fig.add_subplot(grid[2 * r + 1, c])
        room.axis("off")
        for model, k, line, label in lines:
            _errorbar(ax, line["mean_reasoning_tokens"].fillna(0), line, label=label, color=colours[model]["color"],
                      marker=MARKERS[k % len(MARKERS)], linestyle=LINE_STYLES[k % len(LINE_STYLES)])
        ax.set_xscale("symlog", linthresh=16)
        ax.margins(x=0.08)
        _length_ticks(ax, sub, with_budgets=False)
        ax.set_xlabel("mean reasoning tokens (measured)")
        _score_axis(ax, sub["metric"].iloc[0])
        ax.set_title(plain(f"{task} by {factor}"))
        rooms.append((ax, room, ncol))
    freeze(fig)
    for ax, room, ncol in rooms:
        _thin_xticks(ax)
        # the legend belongs to its panel (its lines) and sits in the row laid out for it below the panel
        box = room.get_position()
        ax.legend(fontsize=LEGEND_SIZE, loc="upper center", bbox_to_anchor=(box.x0 + box.width / 2, box.y1),
                  bbox_transform=fig.transFigure, ncol=ncol, frameon=False, borderaxespad=0)
    return fig


def rank_figure(table: pd.DataFrame, column: str = "length_rank",
                xlabel: str = "length rank within item (1 = shortest)"):
    """Natural overthinking: score per length rank (or quantile), one panel per task, one legend below."""
    labels = series_labels(table)
    styles = series_styles(list(labels))
    tasks, fig, axes, ncol = _task_panels(table, list(labels.values()))
    for ax, task in zip(axes, tasks):
        sub = table[table["task"] == task]
        for key, line in sub.groupby(["model", "mechanism"], sort=False):
            _errorbar(ax, line[column], line, label=labels[key], **styles[key])
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.set_xlabel(xlabel)
        _score_axis(ax, sub["metric"].iloc[0])
        ax.set_title(plain(task))
    shared_legend(fig, *_series_handles(labels, styles), ncol)
    freeze(fig)
    return fig


def heatmap_figure(corr: pd.DataFrame, task: str):
    """Correlation of predictions with each feature per (model, budget), ground truth in the first row."""
    sub = corr[corr["task"] == task].copy()
    names = short_names([str(m) for m in sub["model"] if m != "ground truth"], NAME_WIDTH)
    sub["row"] = [("ground truth" if m == "ground truth" else plain(f"{names[str(m)]} B={b}"))
                  for m, b in zip(sub["model"], sub["budget"])]
    grid = sub.pivot_table(index="row", columns="feature", values="r", sort=False)
    label_w = max(text_width(str(r), 8) for r in grid.index) / 72
    fig, ax = plt.subplots(figsize=(0.9 * grid.shape[1] + label_w + 2.2, 0.3 * grid.shape[0] + 2.4),
                           layout="constrained")
    im = ax.imshow(grid.to_numpy(float), cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
    # upright labels would collide; at 90 degrees each takes one line height of the axis, however long it is
    ax.set_xticks(range(grid.shape[1]), [plain(c) for c in grid.columns], rotation=90, fontsize=8)
    ax.set_yticks(range(grid.shape[0]), grid.index, fontsize=8)
    for (i, j), v in pd.DataFrame(grid.to_numpy(float)).stack().items():
        ax.text(j, i, f"{v:+.2f}", ha="center", va="center", fontsize=7)
    fig.colorbar(im, ax=ax, label="Pearson r")
    ax.set_title(plain(f"{task}: correlation with each feature"))
    freeze(fig)
    return fig


def probes_figure(probes: pd.DataFrame):
    """Per task: distractor engagement, second-guessing and truncation share against the budget. A metric has
    the same colour in every panel; models differ by line style and marker. One legend below the panels: the
    metrics by colour, then the models by line style."""
    tasks = list(dict.fromkeys(probes["task"]))
    models = list(dict.fromkeys(probes["model"]))
    names = short_names([str(m) for m in models], NAME_WIDTH)
    shown = [(col, label, colour) for col, label, colour in PROBE_SERIES
             if col in probes and probes[col].notna().any()]
    handles = [Line2D([], [], color=colour, linewidth=2) for _c, _l, colour in shown]
    labels = [label for _c, label, _colour in shown]
    if len(models) > 1:
        handles += [Line2D([], [], color="0.3", linestyle=LINE_STYLES[k % len(LINE_STYLES)],
                           marker=MARKERS[k % len(MARKERS)]) for k in range(len(models))]
        labels += [plain(names[str(m)]) for m in models]
    fig, axes, ncol = panels(len(tasks), legend=labels)
    for ax, task in zip(axes, tasks):
        sub = probes[probes["task"] == task]
        for (model, _mech), line in sub.groupby(["model", "mechanism"], sort=False):
            k = models.index(model)
            x = [str(b) for b in line["budget"]]
            for col, label, colour in shown:
                if line[col].notna().any():
                    ax.plot(x, line[col], color=colour, linestyle=LINE_STYLES[k % len(LINE_STYLES)],
                            marker=MARKERS[k % len(MARKERS)], label=f"{label}: {model}" if len(models) > 1
                            else label)
        ax.set_ylim(-0.03, 1.03)
        ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, decimals=0))
        ax.set_xlabel("budget")
        ax.set_ylabel("share of samples (%)")
        ax.set_title(plain(task))
        ax.grid(alpha=0.3)
    shared_legend(fig, handles, labels, ncol)
    freeze(fig)
    for ax in axes:
        _thin_xticks(ax)
    return fig


def export(fig, out_dir: str | Path | None, name: str, formats: tuple[str, ...] = ("png", "pdf")) -> str:
    """Save the figure as PNG and PDF (for papers) and return it as an inline SVG string; closes the figure."""
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        for fmt in formats:
            fig.savefig(out / f"{name}.{fmt}", dpi=150)
    buf = io.StringIO()
    # Text as paths (matplotlib's default): no model- or user-supplied string reaches the SVG as markup.
    with matplotlib.rc_context({"svg.fonttype": "path"}):
        fig.savefig(buf, format="svg")
    plt.close(fig)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    # Drop comments (matplotlib copies label text into them) and the metadata block: smaller, and nothing but
    # drawing instructions is left.
    return _SVG_STRIP.sub("", svg)


def frontier_figure(table: pd.DataFrame, recs: pd.DataFrame):
    """Accuracy (non-answers wrong, 95 % item-bootstrap CI) against mean thinking tokens per budget, one panel per
    task and one line per (model, mechanism); budgets on the accuracy / thinking-token frontier are filled, the
    recommended budget is ringed with a star (analysis/recommend.py) and labelled first."""
    labels = series_labels(table)
    styles = series_styles(list(labels))
    handles, names = _series_handles(labels, styles)
    star = {"marker": "*", "ms": 16, "mfc": "none", "mec": "black", "ls": "none"}
    handles.append(Line2D([], [], **star))
    names.append("recommended budget")
    tasks, fig, axes, ncol = _task_panels(table, names)
    placed = []
    best_of: dict = {}  # (task, model, mechanism) -> its recommended budget (the first row's, as it was looked up)
    for task, model, mech, budget in zip(recs["task"], recs["model"], recs["mechanism"], recs["recommended_budget"]):
        best_of.setdefault((task, model, mech), budget)
    for ax, task in zip(axes, tasks):
        sub = table[table["task"] == task]
        first, rest = [], []
        for key, line in sub.groupby(["model", "mechanism"], sort=False):
            x, y = line["mean_thinking_tokens"].fillna(0), line["accuracy"]
            _errorbar(ax, x, line, labels[key], "accuracy", "accuracy_lo", "accuracy_hi", mfc="white", **styles[key])
            front = line["on_frontier"].astype(bool)
            ax.plot(x[front], y[front], ls="none", **styles[key])
            best = best_of.get((task, *key))
            for xi, yi, b in zip(x, y, line["budget"]):
                (first if best is not None and str(b) == str(best) else rest).append((xi, yi, b))
            if best is not None:
                at = line[line["budget"].astype(str) == str(best)]
                ax.plot(at["mean_thinking_tokens"].fillna(0), at["accuracy"], **star)
        ax.set_xscale("symlog", linthresh=16)
        ax.margins(x=0.1)
        _length_ticks(ax, sub, "mean_thinking_tokens", with_budgets=False)
        ax.set_xlabel("mean thinking tokens (measured); filled = on the frontier")
        _score_axis(ax, "accuracy")
        ax.set_title(plain(task))
        placed.append((ax, first + rest))
    shared_legend(fig, handles, names, ncol)
    freeze(fig)
    for ax, points in placed:
        _thin_xticks(ax)
        _budget_labels(fig, ax, points)
    return fig
