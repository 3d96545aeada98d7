"""report/ticks.py: laying a figure out with only the x tick labels that bound the others gives the layout that
every label gave (the figure's bytes are compared by bench/bench_figure_build.py)."""

from __future__ import annotations

import figure_fixtures
import matplotlib.pyplot as plt
import numpy as np
import pytest

from overthink.report import figures, ticks


@pytest.mark.parametrize(("widths", "heights", "kept"), [
    ([5, 10, 10, 7, 12, 3], "aaaaaa", [0, 1, 4, 5]),  # wider than all before (1, 4) or all after (4, 5)
    ([5, 5, 5, 5], "aaba", [0, 2, 3]),  # the first of another height
    ([9], "a", [0]),
    ([], "", []),
])
def test_bounding_labels(widths, heights, kept):
    assert ticks.bounding_labels(widths, list(heights)) == kept


def test_the_bounding_labels_reach_as_far_as_all_whatever_the_positions():
    rng = np.random.default_rng(7)
    for _ in range(300):
        n = int(rng.integers(1, 30))
        widths = list(rng.integers(1, 6, n).astype(float))
        heights = list(rng.integers(0, 2, n))
        kept = ticks.bounding_labels(widths, heights)
        pos = np.cumsum(rng.integers(0, 4, n).astype(float))  # increasing, ties allowed
        boxes = [(p - w / 2, p + w / 2, h) for p, w, h in zip(pos, widths, heights)]
        some = [boxes[i] for i in kept]
        assert min(b[0] for b in some) == min(b[0] for b in boxes)
        assert max(b[1] for b in some) == max(b[1] for b in boxes)
        assert {b[2] for b in some} == {b[2] for b in boxes}


@pytest.mark.parametrize("build", [
    lambda: figures.curve_figure(figure_fixtures.curves(10, 1)),
    lambda: figures.frontier_figure(*figure_fixtures.frontier(3, 4)),
])
def test_holding_labels_back_leaves_the_layout_and_the_ticks_as_they_were(build, monkeypatch):
    def drawn(fig):
        fig.draw_without_rendering()
        out = [(tuple(ax.get_position().bounds), [t.get_text() for t in ax.get_xticklabels()],
                tuple(ax.xaxis.label.get_window_extent().bounds)) for ax in fig.axes]
        plt.close(fig)
        return out

    held = []
    monkeypatch.setattr(ticks, "bounding_labels", lambda w, h: held.append(len(w)) or list(range(len(w))))
    every = drawn(build())
    monkeypatch.undo()
    few = ticks.bounding_labels
    kept = []
    monkeypatch.setattr(ticks, "bounding_labels", lambda w, h: kept.append(len(few(w, h))) or few(w, h))
    assert drawn(build()) == every
    assert sum(kept) < sum(held)  # labels really were held back
