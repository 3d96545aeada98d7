"""Natural overthinking: runs with `--natural K` (K samples per item, no budget).

Each item's K samples are ranked by reasoning length (rank 1 = shortest) and the score is computed per rank, so every
rank holds one sample of every item and item difficulty cancels out (the paper's method). The score per length
quantile (quantiles over all samples of the curve) is shown too, but it mixes difficulty with length: hard items
tend to get long answers. Ties in length are broken by replicate number, which is arbitrary but deterministic.

The test (`natural_verdicts`) is the within-item linear model of trends.py on log2(1 + reasoning tokens), complete
cases (a truncated natural sample is long because it was cut, not because of what it chose). Lengths were not
assigned - a confused sample can both think longer and be wrong - so its calls are associations and are worded so:
"longer answers to the same item were less often correct (an association: lengths were not assigned)".
"""

from __future__ import annotations

import pandas as pd

from ..core import NATURAL
from .curves import N_BOOT, score_table
from .trends import trend_test
from .verdicts import natural_call, words

KEYS = ["task", "model", "mechanism"]


def natural_samples(samples: pd.DataFrame) -> pd.DataFrame:
    return samples[samples["budget"].astype(str) == NATURAL]


def _with_rank(nat: pd.DataFrame) -> pd.DataFrame:
    # Only answered samples have a length; errors keep no rank (they are counted in the controlled tables).
    nat = nat[nat["status"] != "error"].sort_values(KEYS + ["item_id", "reasoning_tokens", "replicate"])
    nat = nat.assign(length_rank=nat.groupby(KEYS + ["item_id"]).cumcount() + 1)
    return nat


def rank_table(samples: pd.DataFrame, metrics: dict[str, str], *, n_boot: int = N_BOOT) -> pd.DataFrame:
    """Score per length rank within item (1 = shortest of the item's K samples), with item-bootstrap CIs."""
    nat = natural_samples(samples)
    if nat.empty:
        return pd.DataFrame()
    return score_table(_with_rank(nat), metrics, by=KEYS + ["length_rank"], n_boot=n_boot)


def quantile_table(samples: pd.DataFrame, metrics: dict[str, str], *, q: int = 5,
                   n_boot: int = N_BOOT) -> pd.DataFrame:
    """Score per reasoning-length quantile of the curve's samples (confounded by difficulty; see module doc)."""
    nat = natural_samples(samples)
    nat = nat[nat["reasoning_tokens"].notna()]
    if nat.empty:
        return pd.DataFrame()
    parts = []
    for _, g in nat.groupby(KEYS, sort=False):
        bins = min(q, g["reasoning_tokens"].nunique())
        if bins < 2:
            continue
        parts.append(g.assign(length_quantile=pd.qcut(g["reasoning_tokens"].rank(method="first"), bins,
                                                      labels=False) + 1))
    if not parts:
        return pd.DataFrame()
    table = score_table(pd.concat(parts), metrics, by=KEYS + ["length_quantile"], n_boot=n_boot)
    return table.sort_values(KEYS + ["length_quantile"], kind="stable").reset_index(drop=True)


def natural_verdicts(samples: pd.DataFrame, metrics: dict[str, str]) -> pd.DataFrame:
    """The within-item test on the natural samples' measured lengths, one row per curve (an association)."""
    nat = natural_samples(samples)
    rows = []
    for key, g in nat.groupby(KEYS, sort=False):
        row = dict(zip(KEYS, key), metric=metrics.get(key[0], "accuracy"), k=int(g["replicate"].nunique()))
        row.update(trend_test(g, row["metric"], basis="length"))
        row["trend"] = natural_call(str(row["trend"]))
        row["verdict_words"] = words(row["trend"], row["metric"])
        rows.append(row)
    return pd.DataFrame(rows)
