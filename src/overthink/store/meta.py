"""A run's metadata as one typed record (the store's `meta` table: one JSON value per key), like inspect_ai's
`EvalSpec`: what the run was, as opposed to its samples.

`Store.meta()` reads every key in one query and validates it into `RunMeta`; analysis, report, importers and the
public API (`overthink.load`) read the run through it instead of picking keys out of a free dict. Writers still
store one key at a time (`Store.set_meta`, `set_meta_many`) so a resume, an import or a merge changes only what it
owns; the names are the `RunMeta` field names (`META_KEYS`).

Old stores keep loading: every field is optional with the default a run without it had, and keys this version does
not know (a newer overthink's, or a plugin's) are kept as extra fields rather than refused or dropped. A value of the
wrong shape (a hand-edited store) is one StoreError naming the key.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .connection import StoreError


class _Open(BaseModel):
    """Typed where overthink reads a field, open for the rest: stored records are kept as they were written."""

    model_config = ConfigDict(extra="allow", frozen=True)


class Session(_Open):
    """One `run` / `resume` (sweep/provenance.py writes it): versions, platform, start and end, how it ended."""

    overthink: str | None = None
    python: str | None = None
    platform: str | None = None
    packages: dict[str, str] = Field(default_factory=dict)
    started_at: float | None = None
    ended_at: float | None = None
    status: str = "running"  # running | completed | interrupted | stopped | failed ("running" left by a kill)
    resumed: bool = False


class TaskInfo(_Open):
    """What a run stored about a task (`Task.describe()`; imports write the same shape)."""

    name: str | None = None
    family: str | None = None
    metric: str = "accuracy"
    metric_label: str | None = None
    default_size: int | None = None


class ModelInfo(_Open):
    """What a run stored about a model (keyed by its identity: --model-name, else its spec): the spec it ran as,
    its resolved share of the run (budget.py RunSpec: mechanism, answer margin, natural cap, sampling), plus the
    model's own `describe()`."""

    mechanism: str | None = None
    spec: str | None = None
    answer_margin: int | None = None
    natural_cap: int | None = None


class RunMeta(_Open):
    """Every meta key of a run store, typed. `config` is the run's ExperimentConfig as stored (redacted JSON);
    `overthink.config.ExperimentConfig.model_validate(meta.config)` rebuilds it."""

    schema_version: int | None = None
    run_id: str | None = None
    created_at: float | None = None
    config: dict[str, Any] | None = None  # None: imported results, or a run that stopped before it stored one
    sessions: list[Session] = Field(default_factory=list)
    tasks: dict[str, TaskInfo] = Field(default_factory=dict)
    models: dict[str, ModelInfo] = Field(default_factory=dict)
    check: dict[str, Any] | None = None  # `run --check`: the positive control's result (check.CheckResult)
    imported: dict[str, Any] | None = None  # `overthink import`: {"sources": [...]}; such a dir has no model to call
    sequential: dict[str, Any] | None = None  # --until-decided: the design and per-cell decisions
    item_sets: dict[str, Any] = Field(default_factory=dict)  # the items each task's run drew (sweep/items.py)
    merged_from: list[Any] = Field(default_factory=list)  # `overthink merge`: the runs joined into this one

    @property
    def is_imported(self) -> bool:
        return self.imported is not None

    def metrics(self) -> dict[str, str]:
        """Task name -> its metric (accuracy unless the task says otherwise)."""
        return {name: info.metric for name, info in self.tasks.items()}

    def model_specs(self) -> dict[str, str]:
        """Model identity -> the spec it ran as (differs for a model named by `run --model-name`)."""
        return {name: info.spec for name, info in self.models.items() if info.spec}

    def task_dicts(self) -> dict[str, dict[str, Any]]:
        """The tasks as the plain dicts analysis tables carry (RunData.tasks)."""
        return {name: info.model_dump(exclude_unset=True) for name, info in self.tasks.items()}

    @property
    def latest_session(self) -> Session | None:
        return self.sessions[-1] if self.sessions else None


META_KEYS = frozenset(RunMeta.model_fields)


def parse_meta(values: dict[str, Any], where: str) -> RunMeta:
    """`values` (key -> decoded JSON, as stored) as a RunMeta; a key of the wrong shape is one StoreError."""
    try:
        return RunMeta.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "meta"
        raise StoreError(f"{where}: the run's metadata {key!r} (table meta) is not what overthink stores "
                         f"({first['msg']}); the store was edited or damaged. Restore it from a copy, or fix that "
                         f"value with sqlite3") from None
