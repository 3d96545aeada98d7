"""Loading one or more run stores into flat DataFrames for analysis.

Samples come from Store.sample_frame (one query into pandas, not row by row through Store.iter_samples) because
reports must scale to millions of samples. Reasoning text is not loaded here; probes and trace examples fetch text
separately (read_texts, probes.read_sample_texts: through the store as well).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import UserError
from ..store import DB_NAME, Store

SAMPLE_COLUMNS = ("id", "model", "task", "item_id", "budget", "mechanism", "replicate", "status", "reasoning_tokens",
                  "score", "answer",
                  # for the enforcement audit and the token ledger (analysis/audit.py): text sizes, not texts
                  "provider", "reasoning_tokens_source", "output_tokens", "input_tokens", "cost_usd", "sample_meta",
                  "reasoning_chars", "answer_chars", "enforced_by")
# Metadata keys that define a scaling factor of a task (data, not code: add keys here).
FACTOR_KEYS = ("num_distractors", "grid_size", "shots")


@dataclass
class RunData:
    """Samples of all runs (with a `run` column), their items, and task descriptions."""

    samples: pd.DataFrame
    items: pd.DataFrame  # run, task, item_id, prompt, expected, metadata (dict)
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    runs: dict[str, Path] = field(default_factory=dict)

    def metric(self, task: str) -> str:
        return self.tasks.get(task, {}).get("metric", "accuracy")

    def metrics(self) -> dict[str, str]:
        return {t: self.metric(t) for t in self.samples["task"].unique()} if len(self.samples) else {}


def read_samples(store: Store, extra: Sequence[str] = ()) -> pd.DataFrame:
    """One store's samples in the analysis form: SAMPLE_COLUMNS (+ `extra`) as stored, read in one query (no
    per-row decoding: metadata stays JSON text, as `sample_meta`), token counts and scores as floats."""
    frame = store.sample_frame([*SAMPLE_COLUMNS, *extra])
    return frame.astype({"reasoning_tokens": "float64", "score": "float64"})


def _run_labels(run_dirs: Sequence[Path]) -> list[str]:
    names = [p.name or str(p) for p in run_dirs]
    if len(set(names)) == len(names):
        return names
    return [str(p) for p in run_dirs]


def load_runs(run_dirs: Sequence[str | Path]) -> RunData:
    """Load every run dir. A model that appears in more than one run is labelled `model [run]`."""
    paths = [Path(p) for p in run_dirs]
    if not paths:
        raise UserError("give at least one run directory")
    labels = _run_labels(paths)
    frames, item_frames, tasks = [], [], {}
    for label, path in zip(labels, paths):
        if not (path / DB_NAME).exists():
            raise UserError(f"{path} is not a run directory (no {DB_NAME} in it)")
        with Store(path, create=False) as store:
            frame = read_samples(store)
            items = pd.DataFrame(store.items(), columns=["task", "item_id", "prompt", "expected", "metadata"])
            for name, info in store.meta().task_dicts().items():
                tasks.setdefault(name, info)
        frame["run"] = label
        items["run"] = label
        frames.append(frame)
        item_frames.append(items)
    samples = pd.concat(frames, ignore_index=True)
    samples["model_id"] = samples["model"]  # as stored; `model` may become a display label below
    _label_models(samples)
    return RunData(samples, pd.concat(item_frames, ignore_index=True), tasks, dict(zip(labels, paths)))


def _label_models(samples: pd.DataFrame) -> None:
    """Disambiguate a (task, model, mechanism) curve present in several runs so runs compare side by side."""
    if samples.empty or samples["run"].nunique() < 2:
        return
    runs_per = samples.groupby(["task", "model", "mechanism"])["run"].transform("nunique")
    clash = runs_per > 1
    samples.loc[clash, "model"] = samples.loc[clash, "model"] + " [" + samples.loc[clash, "run"] + "]"


def item_factors(items: pd.DataFrame) -> pd.DataFrame:
    """run, task, item_id and one column per scaling factor present in the items' metadata."""
    out = items[["run", "task", "item_id"]].copy()
    for key in FACTOR_KEYS:
        out[key] = [m.get(key) if isinstance(m, dict) else None for m in items["metadata"]]
    return out


def read_texts(path: Path, keys: pd.DataFrame) -> pd.DataFrame:
    """reasoning and answer_text for the given (model_id, task, item_id, budget, mechanism, replicate) keys."""
    wanted = [(k.model_id, k.task, k.item_id, k.budget, k.mechanism, int(k.replicate))
              for k in keys.itertuples(index=False)]
    with Store(path, create=False) as store:
        rows = store.texts(wanted)
    return pd.DataFrame(rows, columns=["reasoning", "answer_text"], index=keys.index)
