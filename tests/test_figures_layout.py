"""Figures (issue 31, item 8): the x-axis thinning keeps the first and the last tick (the demo's word-problems
point at 174 tokens, the one that makes the curve "positive", had no label), a probe metric has one colour in
every panel, legends sit outside the data, no matplotlib warning reaches the terminal, and `report --out
DIR/x.html` writes its figures to DIR/figures."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import figure_fixtures
import matplotlib.colors
import matplotlib.pyplot as plt
import pandas as pd
import pytest
from report_fixtures import stub_run
from typer.testing import CliRunner

from overthink.cli import app
from overthink.report import figures
from overthink.report.names import short_names
from overthink.report.trajectories import trajectory_figure


def _curve(xs: list[float], budgets: list[int], task: str = "word-problems", model: str = "m") -> pd.DataFrame:
    return pd.DataFrame({"task": task, "model": model, "mechanism": "forced", "metric": "accuracy",
                         "budget": budgets, "mean_reasoning_tokens": xs, "score": [0.0, 0.0, 0.05, 0.55][:len(xs)],
                         "ci_low": 0.0, "ci_high": 0.7})


@pytest.mark.parametrize(("positions", "kept"), [
    ([0, 10, 20, 30], [0, 1, 2, 3]),
    ([0, 10, 20, 21], [0, 1, 3]),        # the last is kept; the one crowding it goes
    ([0, 1, 2, 30], [0, 3]),
    ([0, 30], [0, 1]),
    ([5], [0]),
])
def test_thinning_keeps_the_first_and_the_last(positions, kept):
    assert figures.thin_ticks([float(p) for p in positions], gap=9.0) == kept


def test_the_demo_word_problems_curve_labels_its_last_point():
    fig = figures.curve_figure(_curve([0, 58, 112, 174], [0, 64, 128, 256]))
    fig.canvas.draw()
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels[0] == "0\nB=0" and labels[-1] == "174\nB=256", labels
    boxes = [t.get_window_extent() for t in fig.axes[0].get_xticklabels()]
    assert all(a.x1 <= b.x0 for a, b in zip(boxes, boxes[1:]))  # no two tick labels touch


def _probes(models: list[str], tasks: dict[str, list[str]]) -> pd.DataFrame:
    rows = []
    for task, columns in tasks.items():
        for k, model in enumerate(models):
            for b in (0, 64, 256):
                row = {"task": task, "model": model, "mechanism": "forced", "budget": b}
                for col, _label, _colour in figures.PROBE_SERIES:
                    row[col] = (0.1 * k + b / 1000) if col in columns else float("nan")
                rows.append(row)
    return pd.DataFrame(rows)


def test_a_probe_metric_has_one_colour_in_every_panel():
    # the first panel has distractor engagement, the second does not: colours used to shift by one
    every = [c for c, _l, _c in figures.PROBE_SERIES]
    fig = figures.probes_figure(_probes(["a", "b"], {"misleading-math": every, "word-problems": every[1:]}))
    colour_of: dict[str, set[str]] = {}
    for ax in fig.axes:
        for line in ax.get_lines():
            metric = line.get_label().split(":")[0]
            colour_of.setdefault(metric, set()).add(matplotlib.colors.to_hex(line.get_color()))
    assert set(colour_of) == {label for _c, label, _col in figures.PROBE_SERIES}
    assert all(len(c) == 1 for c in colour_of.values()), colour_of
    assert len({c.pop() for c in colour_of.values()}) == len(figures.PROBE_SERIES)


def _legend_outside(fig) -> None:
    fig.canvas.draw()
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is not None:
            assert legend.get_window_extent().y1 <= ax.get_window_extent().y0, ax.get_title()


def test_legends_are_outside_the_data_and_no_warning_is_raised():
    every = [c for c, _l, _c in figures.PROBE_SERIES]
    models = [f"openai-compatible:Qwen/Qwen3-8B-{k}@http://127.0.0.1:800{k}/v1" for k in range(4)]
    tasks = [f"task-{t}" for t in range(3)]
    curves = pd.concat([_curve([0, 58, 112, 174], [0, 64, 128, 256], task, m) for task in tasks for m in models])
    traj = pd.DataFrame([{"task": t, "model": m, "budget": b, "share_correct": 0.5, "flips_to_wrong": 1,
                          "flips_to_right": 0} for t in tasks[:3] for m in models[:3] for b in (0, 64, 256)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for fig in (figures.curve_figure(curves), figures.probes_figure(_probes(models, {t: every for t in tasks})),
                    trajectory_figure(traj)):
            _legend_outside(fig)
            figures.export(fig, None, "x")
    assert not [str(w.message) for w in caught]


def test_report_out_writes_figures_beside_the_html_and_nothing_in_the_working_directory(tmp_path: Path,
                                                                                         monkeypatch):
    """One report: `--out DIR/x.html` puts the figures in DIR/figures, nothing in the working directory, and the
    same run given twice (once by a relative path) is reported once."""
    run = stub_run(tmp_path / "run")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        done = CliRunner().invoke(app, ["report", str(run), "../run", "--out", str(tmp_path / "out" / "x.html"),
                                        "--n-boot", "100", "--probe-samples", "50"])
    assert done.exit_code == 0, done.output
    assert "1 run dir(s) given twice; each run is reported once" in done.output
    assert sorted(p.name for p in (tmp_path / "out" / "figures").glob("curves.*")) == ["curves.pdf", "curves.png"]
    assert not list(work.iterdir())
    assert not [str(w.message) for w in caught if "matplotlib" in str(w.filename)]


# -- every figure from 1 to 10 models and 1 to 8 tasks, long model names (issue 27) --------------------------------

FIGURES = figure_fixtures.FIGURES
FAST = {(3, 4), (10, 1)}  # every figure at these sizes in the quick suite; the corners are marked slow
# The corners and the middle of 1-10 models x 1-8 tasks: one panel and one model; the widest legend in one panel;
# the middle; the most panels with the most lines. The other five sizes of the full 3 x 3 grid (they took 78 of its
# 150 s) exercised no layout path these do not: panel grids and legend columns are set by the largest counts.
SIZES = ((1, 1), (3, 4), (10, 1), (10, 8))
GRID = [pytest.param(name, m, t, id=f"{name}-{m}models-{t}tasks",
                     marks=() if (m, t) in FAST else pytest.mark.slow)
        for name in FIGURES for m, t in SIZES if name != "heatmap" or t == 1]


def _first_and_last_ticks_kept(name: str, fig, m: int, t: int) -> None:
    """The x axis labels the shortest and the longest measured length (or budget) of every panel."""
    if name not in ("curves", "factors", "frontier", "probes"):
        return
    panels = [ax for ax in fig.axes if ax.axison]
    xs = {"curves": "mean_reasoning_tokens", "factors": "mean_reasoning_tokens", "frontier": "mean_thinking_tokens"}
    for ax in panels:
        labels = [lab.get_text() for lab in ax.get_xticklabels() if lab.get_text()]
        if name == "probes":
            assert labels[0] == str(figure_fixtures.BUDGETS[0]) and labels[-1] == str(figure_fixtures.BUDGETS[-1])
            continue
        task = ax.get_title().split(" by ")[0]
        frame = figure_fixtures.frontier(m, t)[0] if name == "frontier" else figure_fixtures.curves(m, t)
        x = frame.loc[frame["task"] == task, xs[name]]
        assert labels[0].split("\n")[0] == f"{x.min():.0f}" and labels[-1].split("\n")[0] == f"{x.max():.0f}", \
            (ax.get_title(), labels)


@pytest.mark.parametrize(("name", "n_models", "n_tasks"), GRID)
def test_no_text_overlaps_or_leaves_the_canvas_from_1_to_10_models_and_1_to_8_tasks(name, n_models, n_tasks):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any matplotlib warning (a layout not applied, a glyph missing) fails
        fig = FIGURES[name](n_models, n_tasks)
        try:
            problems = figure_fixtures.layout_problems(fig)
            _first_and_last_ticks_kept(name, fig, n_models, n_tasks)
            legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend() is not None)]
            shown = {text.get_text() for legend in legends for text in legend.get_texts()}
            figures.export(fig, None, name)  # the SVG the report inlines: no warning either
        finally:
            plt.close(fig)
    assert not problems, "\n".join(problems[:20])
    models = figure_fixtures.long_models(n_models)
    assert all(len(m) > figures.NAME_WIDTH for m in models)  # the names really are too long to show whole
    if name != "heatmap" and not (name == "probes" and n_models == 1):  # every model named, each differently
        short = short_names(models, figures.NAME_WIDTH)
        assert len(set(short.values())) == n_models
        whole = {m: re.compile(rf"(^|: ){re.escape(short[m])}( |$)") for m in models}  # the name, not a part
        assert all(any(whole[m].search(text) for text in shown) for m in models), sorted(shown)


def test_the_checker_finds_an_overlap_and_a_legend_over_the_data():
    """The layout check itself can fail: a legend placed over the data and a title run off the canvas."""
    fig = figures.curve_figure(figure_fixtures.curves(3, 1))
    fig.axes[0].legend(loc="center")
    fig.axes[0].set_title("x" * 400)
    problems = figure_fixtures.layout_problems(fig)
    plt.close(fig)
    assert any("covers the data" in p for p in problems) and any("runs off the canvas" in p for p in problems)


def _budget_labels_laid_out_each(fig, ax, points) -> None:
    """figures._budget_labels before it moved one laid-out box (verbatim): every offset tried is laid out."""
    renderer = fig.canvas.get_renderer()
    inside = ax.get_window_extent(renderer)
    placed = []
    offsets = ((4, 4), (4, -11), (-30, 4), (-30, -11), (4, 14), (-30, 14), (4, -21), (-30, -21))
    for xi, yi, b in points:
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


@pytest.mark.parametrize(("n_models", "n_tasks"), [(3, 4), (10, 1)])
def test_budget_labels_land_where_laying_out_every_offset_put_them(n_models, n_tasks, monkeypatch):
    def labels(fig):
        return [(ax.get_title(), a.get_text(), tuple(a.xyann)) for ax in fig.axes for a in ax.texts]

    table = figure_fixtures.curves(n_models, n_tasks)
    fig = figures.curve_figure(table)
    now = labels(fig)
    plt.close(fig)
    monkeypatch.setattr(figures, "_budget_labels", _budget_labels_laid_out_each)
    fig = figures.curve_figure(table)
    before = labels(fig)
    plt.close(fig)
    assert len(now) > 20 and now == before
