"""Simulated sweeps with a known truth for the calibration of the verdicts (tests/test_calibration.py,
bench/bench_calibration.py): each design of issue 24 as a DataFrame in the columns of `overthink import --format
table`, which `analyze(DataFrame)` reads exactly as the report does. `outcome` reads each dataset's verdicts
through calibration_verdicts.lean_verdicts (the same analysis on arrays; tests/test_calibration.py checks it
equals table_verdicts, the report's table).

Truth: item i has a base probability p_i (logit-normal: logit 0.7 +- `spread`); under the null the budget changes
nothing about correctness. `drop` plants an additive fall (clipped to [0, 1]) linear in log2(budget) from the
smallest thinking budget (0) to the largest (`drop`); thinking off scores as the smallest thinking budget. Lengths:
a thinking budget B gives 50-95 % of B tokens unless a design says otherwise.

Designs (`DESIGNS`):
- grid: items x budgets (3: 0, 1024, 4096; 5: 0, 256, 1024, 4096, 16384) x replicates x difficulty spread.
- shared_trace: one trace per (item, replicate) cut at every budget; 30 % of traces are confused - they run 3x
  longer and are mostly wrong at every budget - so measured length and correctness share a cause.
- truncation: answers that would be wrong are truncated at the small budgets (45 % at the smallest thinking budget,
  none at the largest); the budget still changes nothing about correctness.
- inactive: lengths ignore the budget (and wrong answers run longer).
- natural: K = 5 unbudgeted samples per item; confused samples are longer and mostly wrong (within-item confounding).
- peaked: the score rises 15 points from thinking off to 1024 and falls 15 points from 1024 to 16384.
- curves_M: M independent null curves (different models) in one frame, for `summary --fail-on inverse`.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .analysis import verdicts as V
from .analysis.audit import audit_table
from .analysis.curves import score_table
from .analysis.natural import natural_verdicts
from .analysis.trends import verdict_table
from .calibration_verdicts import lean_verdicts
from .importers.table import frame_tables

BUDGETS = {3: (0, 1024, 4096), 5: (0, 256, 1024, 4096, 16384)}
SPREAD = {"low": 0.5, "high": 2.0}
MODEST_DROP = 0.08


def _expit(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _base(rng: np.random.Generator, n_items: int, spread: float) -> np.ndarray:
    return _expit(np.log(0.7 / 0.3) + spread * rng.standard_normal(n_items))


def _frac(budgets: np.ndarray) -> np.ndarray:
    """0 at the smallest thinking budget (and thinking off), 1 at the largest, linear in log2(budget)."""
    on = budgets[budgets > 0]
    lo, hi = np.log2(on.min()), np.log2(on.max())
    x = np.log2(np.where(budgets > 0, budgets, on.min()))
    return (x - lo) / max(hi - lo, 1e-9)


def _frame(item: np.ndarray, budget: np.ndarray, rep: np.ndarray, tokens: np.ndarray, correct: np.ndarray,
           status: np.ndarray | None = None, model: str | np.ndarray = "sim") -> pd.DataFrame:
    status = np.full(item.shape, "ok", dtype=object) if status is None else status
    return pd.DataFrame({
        "task": "sim", "model": model, "mechanism": "forced", "item_id": np.char.add("q", item.ravel().astype(str)),
        "budget": budget.ravel().astype(object), "replicate": rep.ravel() + 1, "status": status.ravel(),
        "reasoning_tokens": tokens.ravel().round(), "correct": correct.ravel().astype(bool),
    })


def _sweep_arrays(rng: np.random.Generator, n_items: int, n_budgets: int, replicates: int, spread: str,
                  drop: float) -> tuple[np.ndarray, ...]:
    b = np.asarray(BUDGETS[n_budgets], float)
    shape = (n_items, len(b), replicates)
    item, budget, rep = np.meshgrid(np.arange(n_items), b.astype(int), np.arange(replicates), indexing="ij")
    tokens = budget * rng.uniform(0.5, 0.95, shape)
    p = np.clip(_base(rng, n_items, SPREAD[spread])[:, None, None] - drop * _frac(b)[None, :, None], 0, 1)
    return item, budget, rep, tokens, rng.random(shape) < p


def sweep(rng: np.random.Generator, *, n_items: int = 30, n_budgets: int = 5, replicates: int = 3,
          spread: str = "low", drop: float = 0.0, model: str = "sim") -> pd.DataFrame:
    """The plain controlled sweep: independent replicates, lengths follow the budget."""
    return _frame(*_sweep_arrays(rng, n_items, n_budgets, replicates, spread, drop), model=model)


def shared_trace(rng: np.random.Generator, *, n_items: int = 30, n_budgets: int = 5, replicates: int = 3,
                 drop: float = 0.0) -> pd.DataFrame:
    b = np.asarray(BUDGETS[n_budgets], float)
    shape = (n_items, len(b), replicates)
    item, budget, rep = np.meshgrid(np.arange(n_items), b.astype(int), np.arange(replicates), indexing="ij")
    confused = rng.random((n_items, 1, replicates)) < 0.3
    natural_len = rng.lognormal(np.log(1500), 0.6, (n_items, 1, replicates)) * np.where(confused, 3.0, 1.0)
    tokens = np.minimum(budget, natural_len) * rng.uniform(0.9, 1.0, shape)
    p_item = _base(rng, n_items, SPREAD["low"])[:, None, None]
    p = np.clip(np.where(confused, 0.2 * p_item, p_item) - drop * _frac(b)[None, :, None], 0, 1)
    # One trace: the answer at one cut is mostly the answer at the others (70 % shared, else redrawn).
    trace_draw = rng.random((n_items, 1, replicates))
    draw = np.where(rng.random(shape) < 0.7, trace_draw, rng.random(shape))
    return _frame(item, budget, rep, tokens, draw < p)


def truncation(rng: np.random.Generator, *, n_items: int = 30, n_budgets: int = 5, replicates: int = 3,
               drop: float = 0.0) -> pd.DataFrame:
    frame = sweep(rng, n_items=n_items, n_budgets=n_budgets, replicates=replicates, drop=drop)
    b = np.asarray(BUDGETS[n_budgets], float)
    rate = dict(zip(b.astype(int), np.where(b > 0, 0.45 * (1 - _frac(b)), 0.0)))
    hit = (~frame["correct"]) & (rng.random(len(frame)) < frame["budget"].map(rate).astype(float))
    frame.loc[hit, "status"] = "truncated"
    frame.loc[hit, "reasoning_tokens"] = frame.loc[hit, "budget"].astype(float)
    return frame


def inactive(rng: np.random.Generator, *, n_items: int = 30, n_budgets: int = 5, replicates: int = 3,
             drop: float = 0.0) -> pd.DataFrame:
    frame = sweep(rng, n_items=n_items, n_budgets=n_budgets, replicates=replicates, drop=drop)
    length = rng.lognormal(np.log(1200), 0.5, len(frame)) * np.where(frame["correct"], 1.0, 1.6)
    return frame.assign(reasoning_tokens=length.round())


def natural(rng: np.random.Generator, *, n_items: int = 30, k: int = 5, drop: float = 0.0) -> pd.DataFrame:
    confused = rng.random((n_items, k)) < 0.3
    tokens = rng.lognormal(np.log(1500), 0.5, (n_items, k)) * np.where(confused, 2.0, 1.0)
    p_item = _base(rng, n_items, SPREAD["low"])[:, None]
    correct = rng.random((n_items, k)) < np.where(confused, 0.3 * p_item, p_item)
    item, rep = np.meshgrid(np.arange(n_items), np.arange(k), indexing="ij")
    return _frame(item, np.full(item.shape, "natural", dtype=object), rep, tokens, correct)


def peaked(rng: np.random.Generator, *, n_items: int = 30, replicates: int = 3, height: float = 0.15,
           drop: float = 0.0) -> pd.DataFrame:
    b = np.asarray(BUDGETS[5], float)
    shape = (n_items, len(b), replicates)
    item, budget, rep = np.meshgrid(np.arange(n_items), b.astype(int), np.arange(replicates), indexing="ij")
    bump = height * np.array([0.0, 0.5, 1.0, 0.5, 0.0])  # off, 256, 1024, 4096, 16384
    p = np.clip(_base(rng, n_items, SPREAD["low"])[:, None, None] - height / 2 + bump[None, :, None], 0, 1)
    return _frame(item, budget, rep, budget * rng.uniform(0.5, 0.95, shape), rng.random(shape) < p)


def many_curves(rng: np.random.Generator, *, curves: int = 6, n_items: int = 20, drop: float = 0.0) -> pd.DataFrame:
    """`curves` plain sweeps (models m0, m1, ...) in one frame: the frame of their concatenation, built at once."""
    parts = [_sweep_arrays(rng, n_items, 5, 2, "low", drop) for _ in range(curves)]
    arrays = [np.concatenate([part[k].ravel() for part in parts]) for k in range(5)]
    models = np.repeat([f"m{j}" for j in range(curves)], parts[0][0].size) if curves else np.array([], dtype=str)
    return _frame(*arrays, model=models)


@dataclass
class Design:
    name: str
    make: Callable[..., pd.DataFrame]
    kwargs: dict[str, Any] = field(default_factory=dict)
    power: bool = True  # whether a modest-effect version is simulated too


def designs() -> list[Design]:
    """Every design of issue 24's table and the grid, in a stable order."""
    out = [
        Design("shared trace 30x5x3, confused longer and wrong", shared_trace),
        Design("truncation of would-be-wrong answers at small budgets", truncation),
        Design("control inactive (lengths ignore the budget)", inactive, power=False),
        Design("natural runs, within-item confounding", natural, power=False),
        Design("5 items", sweep, dict(n_items=5)),
        Design("10 items", sweep, dict(n_items=10)),
        Design("peaked curve (up from thinking off to 1024, then down)", peaked, power=False),
        *[Design(f"--fail-on over {m} null curves", many_curves, dict(curves=m), power=False) for m in (6, 12, 30)],
    ]
    for n in (10, 30, 100):
        for nb in (3, 5):
            for reps in (1, 3):
                for spread in ("low", "high"):
                    out.append(Design(f"grid {n} items x {nb} budgets x {reps} rep x {spread} spread", sweep,
                                      dict(n_items=n, n_budgets=nb, replicates=reps, spread=spread)))
    return out


def table_verdicts(frame: pd.DataFrame) -> pd.DataFrame:
    """The verdicts of `analyze(frame)`, computed by the same calls as analysis/api.analyze_data without the
    tables that do not feed them (tests/test_calibration.py checks the two agree). The calibration's bulk reads the
    columns it needs from calibration_verdicts.lean_verdicts instead (checked equal to this table)."""
    samples, _items, tasks = frame_tables(frame)
    metrics = {name: info.get("metric", "accuracy") for name, info in tasks.items()}
    controlled = samples[samples["budget"].astype(str) != "natural"]
    if controlled.empty:
        return pd.DataFrame()
    scores = score_table(controlled, metrics)
    return verdict_table(controlled, scores, metrics, audit=audit_table(samples))


INVERSE_CALLS = (V.INVERSE, V.INVERSE_SMALL)


def outcome(design: Design, rng: np.random.Generator, drop: float = 0.0) -> dict[str, float]:
    """One simulated dataset of `design` through the report's verdicts: 1.0 / 0.0 flags per claim.

    `inverse`: the verdict (Holm-adjusted across the frame's curves) says inverse, for any curve - the event
    `summary --fail-on inverse` gates on for the many-curve designs (there: `failed`, verdict exactly "inverse");
    `paper_inverse`: the paper's rule says inverse; natural runs: `inverse` counts any causal word (none are ever
    produced) and `association` the association call."""
    frame = design.make(rng, drop=drop, **design.kwargs)
    if design.make is natural:
        samples, _items, tasks = frame_tables(frame)
        table = natural_verdicts(samples, {name: info.get("metric", "accuracy") for name, info in tasks.items()})
        calls = set(table["trend"])
        return dict(inverse=float(bool(calls & {*INVERSE_CALLS, V.POSITIVE})), paper_inverse=math.nan,
                    association=float(V.LONGER_WORSE in calls))
    # the inactive design's lengths may ignore the budget: the audit's judgement of the control decides its calls
    table = lean_verdicts(frame, control=design.make is inactive)
    verdicts = set(table["verdict"])
    # `summary --fail-on inverse` fails on a verdict of exactly "inverse" (fail_on_hits; a one-column DataFrame to
    # ask it would cost a tenth of a dataset - tests/test_calibration.py checks the two agree)
    return dict(inverse=float(bool(verdicts & set(INVERSE_CALLS))), failed=float(V.INVERSE in verdicts),
                paper_inverse=float(V.INVERSE in table["paper_verdict"]),
                positive=float(V.POSITIVE in verdicts), rises_falls=float(V.RISES_FALLS in verdicts),
                not_identifiable=float(V.NOT_IDENTIFIABLE in verdicts), too_few=float(V.TOO_FEW in verdicts),
                unadjusted_inverse=float(bool(set(table["trend"]) & set(INVERSE_CALLS))),
                complete_case_inverse=float(bool(set(table["complete_case_trend"]) & set(INVERSE_CALLS))))


def rates(design: Design, n: int, *, drop: float = 0.0, seed: int = 0) -> dict[str, float]:
    """Share of `n` datasets with each claim, plus `n`."""
    rng = np.random.default_rng([seed, zlib.crc32(design.name.encode()), int(round(drop * 1000))])
    flags = pd.DataFrame([outcome(design, rng, drop) for _ in range(n)])
    return {**flags.mean(skipna=True).to_dict(), "n": n}


def mc_error(rate: float, n: int) -> float:
    """Monte Carlo standard error of a share estimated from n datasets."""
    return math.sqrt(max(rate * (1 - rate), 0.25 / n) / n) if n else math.nan
