"""Rounds of a sequential run (`overthink run --until-decided`): an executor that runs the plan round by round and
stops each cell (task x model x mechanism) once its anytime-valid decision is reached (analysis/sequential.py).

Items are put in a seeded random order per task (fixed by seed, task and the ceiling `limit`); round r asks every
open cell for the next items of that order, all budgets and replicates of an item together (one unit: a shared
trace stays one trace; with --batch a round is one batch per model). After each round the decisions are computed
again *from the store*, so a resumed run replays the same looks on the same items and reaches the same decisions
as an uninterrupted one, and nothing finished is asked for twice. The per-round decisions are stored in the run's
meta under "sequential" for the readers (summary, report, analyze).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..analysis import sequential as seq
from ..budget import RunSpec
from ..config import ExperimentConfig
from ..core import DONE_STATUSES, Item
from ..errors import ConfigError
from ..providers import ModelBase
from ..store import Store
from ..tasks import Task
from .guard import CostGuard
from .plan import Plan, stable_seed
from .record import Recorder

META_KEY = "sequential"
DONE = {s.value for s in DONE_STATUSES}
COLUMNS = ["model", "task", "item_id", "budget", "mechanism", "replicate", "status", "correct"]


def check_config(cfg: ExperimentConfig, tasks: Sequence[Task]) -> None:
    """Refuse, before anything runs, a sequential design that cannot be decided."""
    if not cfg.until_decided:
        return
    if cfg.natural:
        raise ConfigError("--until-decided decides the effect of assigned budgets; a --natural run has none")
    if len(cfg.budgets) < 2:
        raise ConfigError("--until-decided needs at least two budgets to compare")
    if cfg.shard is not None:  # each shard would decide on its own slice, looking at the same cells N times
        raise ConfigError("--until-decided decides on all of a task's items; it does not go with --shard")
    for task in tasks:
        if task.metric.value != "accuracy":
            raise ConfigError(f"--until-decided: task {task.name} is scored by {task.metric.value}, not right / "
                              f"wrong; the sequential decision needs correctness")


def item_order(task: str, items: Sequence[Item], seed: int) -> list[str]:
    """The seeded random order a sequential run draws a task's items in."""
    rng = np.random.default_rng(stable_seed(seed, task, "until-decided"))
    return [items[i].id for i in rng.permutation(len(items))]


@dataclass
class Cell:
    task: str
    model: str
    mechanism: str
    order: list[str]
    decision: str = seq.OPEN
    rounds: int = 0
    items: int = 0
    complete: int = 0  # leading items of the order with every budget and replicate finished
    low: float | None = None
    high: float | None = None
    estimate: float | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ends(self) -> list[int]:
        return seq.round_ends(len(self.order))

    def record(self) -> dict[str, Any]:
        return {"task": self.task, "model": self.model, "mechanism": self.mechanism, "ceiling": len(self.order),
                "decision": self.decision, "reason": seq.REASONS[self.decision], "rounds": self.rounds,
                "items": self.items, "low": self.low, "high": self.high, "estimate": self.estimate,
                "history": self.history}


def _correct(rows: list[dict[str, Any]], cell: Cell, budgets: list[str], reps: int) -> np.ndarray:
    """(complete items, budgets, replicates) of 0/1 for the cell's leading complete items (not answered = 0)."""
    index = {b: j for j, b in enumerate(budgets)}
    got: dict[str, np.ndarray] = {}
    for r in rows:
        if (r["task"], r["model"], r["mechanism"]) != (cell.task, cell.model, cell.mechanism):
            continue
        j = index.get(str(r["budget"]))
        if j is None or r["status"] not in DONE or not 0 <= r["replicate"] < reps:
            continue
        grid = got.setdefault(r["item_id"], np.full((len(budgets), reps), np.nan))
        grid[j, r["replicate"]] = 1.0 if r["correct"] else 0.0
    out = []
    for item_id in cell.order:
        grid = got.get(item_id)
        if grid is None or np.isnan(grid).any():
            break
        out.append(grid)
    return np.array(out).reshape(len(out), len(budgets), reps)


def evaluate(cfg: ExperimentConfig, cells: list[Cell], store: Store) -> None:
    """Replay every cell's looks on the items the store has finished, in order (the same data, the same looks,
    the same decisions, however the run was interrupted)."""
    rows = store.sample_rows(COLUMNS)
    budgets = [str(b) for b in cfg.budgets]
    for cell in cells:
        correct = _correct(rows, cell, budgets, cfg.replicates)
        cell.complete = len(correct)
        ends = [e for e in cell.ends if e <= cell.complete]
        if not ends:
            continue
        d = seq.decide(seq.item_statistic(correct)[None, :], n_budgets=len(budgets), alpha=cfg.alpha,
                       delta=cfg.flat_margin, ends=ends, ceiling=len(cell.order), keep_history=True)
        cell.decision, cell.rounds, cell.items = str(d.decision[0]), int(d.rounds[0]), int(d.items[0])
        cell.low, cell.high, cell.estimate = (round(float(v[0]), 4) for v in (d.low, d.high, d.estimate))
        cell.history = d.history[0] if d.history else []


def design(cfg: ExperimentConfig) -> dict[str, Any]:
    return {"method": seq.METHOD, "statistic": seq.STATISTIC, "alpha": cfg.alpha, "flat_margin": cfg.flat_margin,
            "first_round": seq.FIRST_ROUND, "growth": seq.GROWTH, "seed": cfg.seed}


def save(cfg: ExperimentConfig, cells: list[Cell], store: Store) -> None:
    store.set_meta(META_KEY, {**design(cfg), "cells": [c.record() for c in cells]})


class Rounds:
    """An executor (same call as pool / batch) that runs `inner` on one round's units at a time."""

    def __init__(self, cfg: ExperimentConfig, tasks: Sequence[tuple[Task, list[Item]]], specs: Mapping[str, RunSpec],
                 store: Store, inner: Any) -> None:
        old = store.get_meta(META_KEY)
        mine = design(cfg)
        if old is not None:
            changed = [k for k in ("statistic", "first_round", "growth") if old.get(k) != mine[k]]
            if changed:
                raise ConfigError(f"{store.run_dir} was started with another sequential {', '.join(changed)} "
                                  f"({', '.join(str(old.get(k)) for k in changed)}); its looks cannot be replayed. "
                                  f"Use a new --run-dir.")
        self.cfg, self.store, self.inner = cfg, store, inner
        self.cells = [Cell(task.name, model, specs[model].mechanism.value, item_order(task.name, items, cfg.seed))
                      for model in cfg.model_ids() for task, items in tasks]

    async def __call__(self, plan: Plan, models: Mapping[str, ModelBase], recorder: Recorder,
                       guard: CostGuard) -> None:
        remaining = list(plan.units)
        recorder.stats.planned = 0
        while True:
            recorder.flush()
            evaluate(self.cfg, self.cells, self.store)
            save(self.cfg, self.cells, self.store)
            wanted: dict[tuple[str, str], set[str]] = {}
            for cell in self.cells:
                if cell.decision == seq.OPEN:
                    target = cell.ends[cell.rounds]
                    wanted[(cell.task, cell.model)] = set(cell.order[:target])
            units = [u for u in remaining if u.item.id in wanted.get((u.task.name, u.model), ())]
            if not units or recorder.stats.stopped:
                return  # every cell decided, or a round could not finish (errors are retried on resume)
            taken = {id(u) for u in units}
            remaining = [u for u in remaining if id(u) not in taken]
            recorder.stats.planned += sum(len(u.budgets) for u in units)
            await self.inner(Plan(plan.cfg, units, plan.specs), models, recorder, guard)
