"""The sweet spot's change point (analysis/sweetspot.py): corrected for picking the peak, so a flat curve rarely gets
one; a real drop after the peak does; a budget at 0 % or 100 % (a separated logistic fit) is no reason for "not
enough data"."""

from __future__ import annotations

import math

import numpy as np

from overthink.analysis.simulate import sweep_frame
from overthink.analysis.sweetspot import sweet_spot


def _curve(rng: np.random.Generator, n_items: int, shift: list[float], reps: int = 1, base=(0.3, 0.9)):
    budgets = [0] + [64 * 2 ** k for k in range(len(shift) - 1)]
    p = np.clip(rng.uniform(*base, n_items)[:, None, None] + np.asarray(shift)[None, :, None], 0, 1)
    shape = (n_items, len(shift), reps)
    return sweep_frame(rng.random(shape) < p, np.broadcast_to(np.asarray(budgets, float)[None, :, None], shape),
                       budgets)


def test_a_flat_curve_rarely_gets_a_change_point():
    rng = np.random.default_rng(21)
    n = 200
    named = sum(sweet_spot(_curve(rng, 20, [0.0] * 5), n_boot=400)["change_point"] is not None for _ in range(n))
    # the fixed-peak rule it replaces named one in 14-20 % of such datasets; the target is 5 %
    assert named / n <= 0.05 + 2 * math.sqrt(0.05 * 0.95 / n)


def test_a_real_drop_after_the_peak_is_found():
    rng = np.random.default_rng(22)
    hits = [sweet_spot(_curve(rng, 100, [0.0, 0.05, 0.10, -0.05, -0.15]), n_boot=400) for _ in range(40)]
    assert np.mean([h["change_point"] is not None for h in hits]) > 0.7
    assert all(h["change_point"] in (None, 256, 512) for h in hits)


def test_separated_budgets_give_a_sweet_spot_not_not_enough_data():
    n = 12  # every item right at 0 and 64, wrong at 128 and 256: a logistic fit separates here
    correct = np.zeros((n, 4, 1), bool)
    correct[:, :2] = True
    curve = sweep_frame(correct, np.broadcast_to(np.asarray([0, 64, 128, 256.])[None, :, None], correct.shape),
                        [0, 64, 128, 256])
    s = sweet_spot(curve, n_boot=300)
    assert s["change_point"] == 128 and s["recommended_budget"] == 0
    assert s["sureness_words"] == "confident" and "bootstrap" in s["method"]


def test_a_budget_with_no_scored_sample_is_skipped_not_the_curve():
    rng = np.random.default_rng(23)
    curve = _curve(rng, 20, [0.0, 0.0, -0.6, -0.6])
    unscored = curve["budget"] == 64
    curve.loc[unscored, "status"], curve.loc[unscored, "score"] = "unparsed", np.nan
    s = sweet_spot(curve, n_boot=300)
    assert s["recommended_budget"] == 0 and s["change_point"] == 128 and s["sureness_words"] != "not enough data"
