"""What a run still has to do: the typed sample key, the units of work and the requests they become.

A unit is one (model, task, item, replicate) with the budgets not yet finished in the store; all budgets of a unit
share one seed, so a shared-trace model can answer them from one thinking trace. The plan is built from the
store's finished keys (errors are not finished: they run again).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..budget import BudgetPlan, RunSpec
from ..config import ExperimentConfig
from ..core import Budget, Item
from ..mechanism import resolve, resolve_spec
from ..providers import GenerateRequest, ModelBase, ModelSpec, answer_margin_for, natural_cap_for
from ..providers.registry import info_of_spec
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


def model_options(cfg: ExperimentConfig, spec: str) -> dict[str, Any]:
    """A model's options: its model_options, with the run's natural_cap (flag or file) for the embedded model,
    whose own natural_cap option it overrides (the run-level field is the later, more explicit layer)."""
    options = dict(cfg.model_options.get(spec, {}))
    if cfg.natural_cap is not None and (info := info_of_spec(spec)) is not None and info.embedded:
        options["natural_cap"] = cfg.natural_cap
    return options


def resolve_run_spec(cfg: ExperimentConfig, spec: str, model: ModelBase | None = None) -> RunSpec:
    """`cfg` resolved for one model, once: the mechanism `auto` means for it (mechanism.resolve; for a model that
    is not created, e.g. an estimate, from its spec and options), the answer margin (the config's, else the
    provider's), the natural cap (the config's, else the model's option, else the provider's) and sampling."""
    parsed = model.spec if model is not None else ModelSpec.parse(spec)
    options = model_options(cfg, spec)
    mechanism = resolve(cfg.mechanism, model) if model is not None else \
        resolve_spec(cfg.mechanism, parsed, options)
    margin = cfg.answer_margin or (model.default_answer_margin if model is not None
                                   else answer_margin_for(parsed.provider))
    cap = cfg.natural_cap if cfg.natural_cap is not None else \
        int(options.get("natural_cap") or natural_cap_for(parsed.provider))
    return RunSpec(cfg.identity(spec), mechanism, margin, cap, cfg.cautioned, cfg.temperature, cfg.top_p)


def resolve_run_specs(cfg: ExperimentConfig, models: Mapping[str, ModelBase] | None = None) -> dict[str, RunSpec]:
    """Every model of a run resolved once, keyed by its identity (--model-name, else its spec; created models,
    keyed the same way, when given, else from their specs)."""
    return {ident: resolve_run_spec(cfg, spec, (models or {}).get(ident)) for ident, spec in cfg.model_ids().items()}


def make_request(spec: RunSpec, plan: BudgetPlan, prompt: str, seed: int, system: str | None = None,
                 key: Budget | None = None) -> GenerateRequest:
    """A run's request for a prompt at a plan, with the run's sampling settings (`overthink check` builds its
    requests here too, so it sends what the run would)."""
    return GenerateRequest(prompt=prompt, plan=plan, seed=seed, system=system, temperature=spec.temperature,
                           top_p=spec.top_p, key=key)


@dataclass
class Plan:
    """The pending units of a run and how each (unit, budget) becomes a request. Executors receive this."""

    cfg: ExperimentConfig
    units: list[Unit]
    specs: dict[str, RunSpec]  # each model's resolved share of the run
    _plans: dict[tuple[str, Budget], BudgetPlan] = field(default_factory=dict, repr=False)

    @property
    def mechanism(self) -> str:
        return self.cfg.mechanism.value

    @property
    def planned(self) -> int:
        return sum(len(u.budgets) for u in self.units)

    def for_model(self, spec: str) -> list[Unit]:
        return [u for u in self.units if u.model == spec]

    def requests(self, unit: Unit) -> list[GenerateRequest]:
        """One request per pending budget of `unit`; the prompt is rendered once for all of them."""
        prompt = unit.task.render(unit.item)
        return [self._request(unit, budget, prompt) for budget in unit.budgets]

    def _request(self, unit: Unit, budget: Budget, prompt: str) -> GenerateRequest:
        spec = self.specs[unit.model]
        plan = self._plans.get((unit.model, budget))
        if plan is None:  # plans are frozen and depend only on (model, budget): build each once
            plan = self._plans[(unit.model, budget)] = spec.plan(budget)
        return make_request(spec, plan, prompt, unit.seed, unit.task.system, key=budget)


def build_plan(cfg: ExperimentConfig, tasks: Sequence[tuple[Task, list[Item]]], done: set[tuple],
               specs: Mapping[str, RunSpec] | None = None) -> Plan:
    """Every (model, task, item, replicate) with at least one budget whose key is not in `done`. `specs`: each
    model's resolved share of the run (resolve_run_specs; a detected server profile can change what auto means),
    resolved from the config's specs when not given."""
    specs = dict(specs) if specs is not None else resolve_run_specs(cfg)
    budgets = cfg.sweep_budgets()
    units = []
    for model in cfg.model_ids():  # a sample is keyed by the model's identity (--model-name)
        mech = specs[model].mechanism.value
        for task, items in tasks:
            for item in items:
                for rep in range(cfg.sweep_replicates()):
                    pending = [b for b in budgets if SampleKey(model, task.name, item.id, b, mech, rep) not in done]
                    if pending:
                        units.append(Unit(model, task, item, rep, stable_seed(cfg.seed, task.name, item.id, rep),
                                          pending))
    return Plan(cfg, units, specs)
