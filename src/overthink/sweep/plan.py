"""What a run still has to do: the typed sample key, the units of work and the requests they become.

A unit is one (model, task, item, replicate) with the budgets not yet finished in the store; all budgets of a unit
share one seed, so a shared-trace model can answer them from one thinking trace. The plan is built from the
store's finished keys (errors are not finished: they run again).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from ..budget import BudgetPlan, plan_budget
from ..config import ExperimentConfig
from ..core import NATURAL, Budget, Item, Mechanism
from ..mechanism import resolve, resolve_spec
from ..models import GenerateRequest, ModelBase, ModelSpec
from ..tasks import Task


class SampleKey(NamedTuple):
    """What identifies a sample in the store; equal to the store's plain key tuples."""

    model: str
    task: str
    item_id: str
    budget: Budget
    mechanism: str
    replicate: int


def stable_seed(*parts: object) -> int:
    """A seed that depends only on its parts (not on Python's hash randomisation)."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


@dataclass
class Unit:
    model: str
    task: Task
    item: Item
    replicate: int
    seed: int
    budgets: list[Budget]

    def key(self, budget: Budget, mechanism: str) -> SampleKey:
        return SampleKey(self.model, self.task.name, self.item.id, budget, mechanism, self.replicate)


def budget_plan(cfg: ExperimentConfig, budget: Budget, margin: int, mechanism: Mechanism | None = None,
                natural_cap: int | None = None) -> BudgetPlan:
    """The request plan of a budget; `margin` is the model's default answer room unless the config sets one;
    `mechanism` is the model's resolved one (the config's `auto` resolved by mechanism.resolve); `natural_cap` the
    model's own cap on natural thinking, which the config's natural_cap overrides."""
    cap = cfg.natural_cap if cfg.natural_cap is not None else natural_cap
    natural = {"natural_max_tokens": cap} if cap is not None and budget == NATURAL else {}
    return plan_budget(budget, mechanism or cfg.mechanism, answer_margin=cfg.answer_margin or margin,
                       cautioned=cfg.cautioned, **natural)


def plan_for(cfg: ExperimentConfig, budget: Budget, model: ModelBase) -> BudgetPlan:
    return budget_plan(cfg, budget, model.default_answer_margin, resolve(cfg.mechanism, model))


def make_request(cfg: ExperimentConfig, plan: BudgetPlan, prompt: str, seed: int, system: str | None = None,
                 key: Budget | None = None) -> GenerateRequest:
    """A run's request for a prompt at a plan: the config's sampling settings (`overthink check` builds its
    requests here too, so it sends what the run would)."""
    return GenerateRequest(prompt=prompt, plan=plan, seed=seed, system=system, temperature=cfg.temperature,
                           top_p=cfg.top_p, key=key)


@dataclass
class Plan:
    """The pending units of a run and how each (unit, budget) becomes a request. Executors receive this."""

    cfg: ExperimentConfig
    units: list[Unit]
    _plans: dict[tuple[str, Budget], BudgetPlan] = field(default_factory=dict, repr=False)

    @property
    def mechanism(self) -> str:
        return self.cfg.mechanism.value

    @property
    def planned(self) -> int:
        return sum(len(u.budgets) for u in self.units)

    def for_model(self, spec: str) -> list[Unit]:
        return [u for u in self.units if u.model == spec]

    def requests(self, unit: Unit, model: ModelBase) -> list[GenerateRequest]:
        """One request per pending budget of `unit`; the prompt is rendered once for all of them."""
        prompt = unit.task.render(unit.item)
        return [self._request(unit, budget, model, prompt) for budget in unit.budgets]

    def _request(self, unit: Unit, budget: Budget, model: ModelBase, prompt: str) -> GenerateRequest:
        plan = self._plans.get((unit.model, budget))
        if plan is None:  # plans are frozen and depend only on (model, budget): build each once
            plan = self._plans[(unit.model, budget)] = plan_for(self.cfg, budget, model)
        return make_request(self.cfg, plan, prompt, unit.seed, unit.task.system, key=budget)


def build_plan(cfg: ExperimentConfig, tasks: Sequence[tuple[Task, list[Item]]], done: set[tuple],
               mechanisms: dict[str, str] | None = None) -> Plan:
    """Every (model, task, item, replicate) with at least one budget whose key is not in `done`. `mechanisms`:
    each created model's resolved mechanism (a detected server profile can change what auto means)."""
    budgets = cfg.sweep_budgets()
    units = []
    for model, spec in cfg.model_ids().items():  # a sample is keyed by the model's identity (--model-name)
        mech = (mechanisms or {}).get(model) or resolve_spec(cfg.mechanism, ModelSpec.parse(spec),
                                                             cfg.model_options.get(spec)).value
        for task, items in tasks:
            for item in items:
                for rep in range(cfg.sweep_replicates()):
                    pending = [b for b in budgets if SampleKey(model, task.name, item.id, b, mech, rep) not in done]
                    if pending:
                        units.append(Unit(model, task, item, rep, stable_seed(cfg.seed, task.name, item.id, rep),
                                          pending))
    return Plan(cfg, units)
