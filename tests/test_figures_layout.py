"""Figures (issue 31, item 8): the x-axis thinning keeps the first and the last tick (the demo's word-problems
point at 174 tokens, the one that makes the curve "positive", had no label), a probe metric has one colour in
every panel, legends sit outside the data, no matplotlib warning reaches the terminal, and `report --out
DIR/x.html` writes its figures to DIR/figures."""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib.colors
import pandas as pd
import pytest
from report_fixtures import stub_run
from typer.testing import CliRunner

from overthink.cli import app
from overthink.report import figures
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
    run = stub_run(tmp_path / "run")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        done = CliRunner().invoke(app, ["report", str(run), "--out", str(tmp_path / "out" / "x.html"),
                                        "--n-boot", "100", "--probe-samples", "50"])
    assert done.exit_code == 0, done.output
    assert sorted(p.name for p in (tmp_path / "out" / "figures").glob("curves.*")) == ["curves.pdf", "curves.png"]
    assert not list(work.iterdir())
    assert not [str(w.message) for w in caught if "matplotlib" in str(w.filename)]


def test_the_same_run_twice_is_reported_once(tmp_path: Path, monkeypatch):
    run = stub_run(tmp_path / "run")
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(app, ["report", str(run), "run", "--out", "x.html", "--n-boot", "100",
                                    "--probe-samples", "50"])
    assert done.exit_code == 0, done.output
    assert "1 run dir(s) given twice; each run is reported once" in done.output
