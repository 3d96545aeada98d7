"""Flip shares next to the share expected when each trajectory's cut order is shuffled (analysis/trajectories.py):
the baseline is exact, and with no effect of length the excess over it is 0 while the raw flip share is not."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from overthink.analysis.trajectories import flip_shares, shuffled_shares


def _brute(seq: tuple[bool, ...]) -> dict[str, float]:
    orders = list(itertools.permutations(seq))
    down = [any(a and not b for a, b in zip(o, o[1:])) for o in orders]
    up = [any(b and not a for a, b in zip(o, o[1:])) for o in orders]
    lost = [any(o) and not o[-1] for o in orders]
    return {"down": np.mean(down), "up": np.mean(up), "any": np.mean([d or u for d, u in zip(down, up)]),
            "lost": np.mean(lost)}


@pytest.mark.parametrize("m", [2, 3, 4, 5, 6])
def test_shuffled_share_is_the_exact_permutation_chance(m):
    for k in range(m + 1):
        exact = _brute(tuple([True] * k + [False] * (m - k)))
        for kind, value in shuffled_shares(m, k).items():
            assert value == pytest.approx(exact[kind]), (m, k, kind)


def _trajectories(rng: np.random.Generator, n_items: int, n_cuts: int, drop: float) -> pd.DataFrame:
    """Independent draws per cut; the chance of a right answer falls by `drop` from the first cut to the last."""
    p_item = rng.uniform(0.2, 0.9, n_items)
    rows = []
    for i in range(n_items):
        for j in range(n_cuts):
            ok = rng.random() < max(0.0, p_item[i] - drop * j / (n_cuts - 1))
            rows.append(dict(run="r", task="t", model="m", mechanism="forced", item_id=f"i{i}", replicate=0,
                             cut=64 * (j + 1), source="budget", correct=bool(ok),
                             answer="8" if ok else str(rng.integers(0, 7)), design="independent"))
    return pd.DataFrame(rows)


def test_with_no_effect_flips_are_common_but_the_excess_is_zero():
    rng = np.random.default_rng(11)
    rows = [flip_shares(_trajectories(rng, 30, 5, 0.0), n_boot=300).iloc[0] for _ in range(150)]
    raw = np.array([r["share_correct_to_wrong"] for r in rows])
    excess = np.array([r["share_correct_to_wrong_excess"] for r in rows])
    assert raw.mean() > 0.3  # the headline number alone: a third of trajectories "flip correct -> wrong"
    assert abs(excess.mean()) < 3 * excess.std(ddof=1) / math.sqrt(len(excess)) + 0.005
    covered = np.mean([r["share_correct_to_wrong_excess_lo"] <= 0 <= r["share_correct_to_wrong_excess_hi"]
                       for r in rows])
    assert covered >= 0.88  # nominal 95 %; the percentile bootstrap on 30 items runs a little narrow
    lost = np.array([r["share_lost_excess"] for r in rows])
    assert abs(lost.mean()) < 3 * lost.std(ddof=1) / math.sqrt(len(lost)) + 0.005


def test_a_real_loss_with_length_shows_as_a_positive_excess():
    rng = np.random.default_rng(12)
    rows = [flip_shares(_trajectories(rng, 30, 5, 0.5), n_boot=300).iloc[0] for _ in range(60)]
    found = np.mean([r["share_lost_excess_lo"] > 0 for r in rows])
    assert found > 0.6
    assert np.mean([r["share_correct_to_wrong_excess"] for r in rows]) > 0
