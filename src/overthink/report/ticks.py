"""X ticks at many measured lengths, laid out at the cost of a few.

A panel of 10 models x 5 budgets has about 50 distinct mean lengths; figures.py ticks each one, lets constrained
layout place the panels, then keeps the labels that fit side by side at the final size (often 6). The layout needs
of the x tick labels only the box around them all (matplotlib's Axis.get_tightbbox unions their boxes, and the axis
label is placed below the lowest). A label's box is its position plus a part fixed by its text: its width (the
widest line; labels are centred) and its lines' heights and descents. So the labels laid out can be the few that
bound the others whatever the final positions are (they only increase left to right): the first of each height,
and each wider than every label before it or than every label after it. Measured with the renderer and font the
layout uses, the box around them is the box around all, to the bit, and the figure is the same: tested byte for
byte (bench/bench_figure_build.py) against laying out every label.
"""

from __future__ import annotations

import weakref
from collections.abc import Hashable, Sequence

import numpy as np

# every tick of an axis (positions, labels) while only the bounding few are set on it: figures._thin_xticks picks
# from all of them after the layout
_ALL: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def bounding_labels(widths: Sequence[float], heights: Sequence[Hashable]) -> list[int]:
    """Indices of labels (in the order of their positions) whose boxes together reach as far as all of theirs, for
    any increasing positions: the first label of each height, and each label wider than every one before it (it may
    reach furthest left) or than every one after it (furthest right). The first and the last are always in."""
    keep: set[int] = set()
    seen: set[Hashable] = set()
    widest = -np.inf
    for i, (w, h) in enumerate(zip(widths, heights)):
        if h not in seen or w > widest:
            keep.add(i)
            seen.add(h)
            widest = max(widest, w)
    widest = -np.inf
    for i in range(len(widths) - 1, -1, -1):
        if widths[i] > widest:
            keep.add(i)
            widest = widths[i]
    return sorted(keep)


def _measured(ax, labels: list[str], size: float) -> tuple[list[float], list[tuple]] | None:
    """(width, heights) of each label as the layout will measure it, or None when a label is not plain text."""
    label = ax.xaxis.get_major_ticks(1)[0].label1
    if label.get_usetex() or any("$" in t or "\\" in t for t in labels):
        return None  # mathtext or TeX: measured another way
    prop = label.get_fontproperties().copy()
    prop.set_size(size)  # what set_xticks(..., fontsize=size) gives every label
    renderer = ax.get_figure(root=True).canvas.get_renderer()
    metrics: dict[str, tuple[float, float, float]] = {}
    widths, heights = [], []
    for text in labels:
        lines = [metrics.setdefault(line, renderer.get_text_width_height_descent(line, prop, ismath=False)
                                    if line else (0.0, 0.0, 0.0)) for line in text.split("\n")]
        widths.append(max(w for w, _h, _d in lines))
        heights.append(tuple((h, d) for _w, h, d in lines))
    return widths, heights


def set_length_ticks(ax, xs: np.ndarray, labels: list[str], size: float) -> None:
    """Tick `xs` (increasing) with `labels` at font `size`, setting only the labels that bound the others until
    `all_ticks` is asked for them (after the layout)."""
    measured = _measured(ax, labels, size) if len(xs) > 2 else None
    keep = bounding_labels(*measured) if measured else list(range(len(xs)))
    ax.set_xticks(xs[keep], [labels[i] for i in keep], fontsize=size)
    if len(keep) < len(xs):
        _ALL[ax] = (list(xs), list(labels))


def all_ticks(ax) -> tuple[list[float], list[str]]:
    """Every x tick of `ax` (positions, labels): the ones set_length_ticks held back too."""
    held = _ALL.pop(ax, None)
    if held is not None:
        return held
    return list(ax.get_xticks()), [t.get_text() for t in ax.get_xticklabels()]
