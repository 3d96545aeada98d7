"""Plots: ticks at the measured lengths, y in %, error bars and an outside legend on the factor split, and
`B=` labels that never overlap."""

from __future__ import annotations

import itertools

import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib.container import ErrorbarContainer

from overthink.analysis.curves import score_table
from overthink.analysis.simulate import simulate_sweep
from overthink.report import figures


def _scores(n_lines: int = 3) -> pd.DataFrame:
    parts = []
    for k in range(n_lines):  # lines with almost the same lengths and scores: the case where labels collide
        df = simulate_sweep(np.random.default_rng(k), n_items=12, replicates=1, budgets=(0, 64, 256, 1024),
                            model=f"m{k}")
        parts.append(df)
    return score_table(pd.concat(parts), n_boot=100)


def _boxes(fig, texts):
    renderer = fig.canvas.get_renderer()
    return [t.get_window_extent(renderer) for t in texts]


def test_curve_ticks_percent_and_budget_labels_do_not_overlap():
    table = _scores()
    fig = figures.curve_figure(table)
    fig.canvas.draw()
    ax = fig.axes[0]
    means = set(np.round(table["mean_reasoning_tokens"].fillna(0), 6))
    ticks = list(ax.get_xticks())
    assert ticks and all(round(t, 6) in means for t in ticks)  # ticks sit at measured lengths, not 10^k
    assert min(ticks) == min(means) and max(means) / max(ticks) < 1.1  # thinned: one tick per close cluster
    assert isinstance(ax.yaxis.get_major_formatter(), matplotlib.ticker.PercentFormatter)
    assert "%" in ax.yaxis.get_major_formatter()(0.5)
    labels = [t for t in ax.texts if t.get_text().startswith("B=")]
    assert len(labels) >= 4
    boxes = _boxes(fig, labels)
    assert not any(a.overlaps(b) for a, b in itertools.combinations(boxes, 2))
    inside = ax.get_window_extent(fig.canvas.get_renderer())
    assert all(inside.x0 <= b.x0 and b.x1 <= inside.x1 for b in boxes)
    ticks_text = _boxes(fig, [t for t in ax.get_xticklabels() if t.get_text()])
    assert not any(a.overlaps(b) for a, b in itertools.combinations(ticks_text, 2))
    # One line per panel: the ticks carry the budgets themselves.
    one = figures.curve_figure(table[table["model"] == "m0"])
    assert [t.get_text().split("\n")[1] for t in one.axes[0].get_xticklabels()] == ["B=0", "B=64", "B=256", "B=1024"]


def test_factor_figure_has_error_bars_and_a_legend_outside_the_plot():
    table = _scores(2)
    table = pd.concat([table.assign(factor="num_distractors", factor_value=str(v)) for v in (0, 3, 5)])
    fig = figures.factor_figure(table)
    fig.canvas.draw()
    ax = fig.axes[0]
    bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert len(bars) == 6 and all(c.has_yerr for c in bars)
    renderer = fig.canvas.get_renderer()
    legend = ax.get_legend().get_window_extent(renderer)
    assert not legend.overlaps(ax.get_window_extent(renderer))
    assert ax.get_legend().get_texts()[0].get_text().endswith("(12 items)")
