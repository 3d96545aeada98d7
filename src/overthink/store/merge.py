"""`overthink merge RUN_DIR... --into DIR`: shard run dirs (or any compatible runs) into one store, losslessly.

Everything a run dir holds comes along: items, samples with every column (typed facts such as enforced_by
included: columns are read from the files, not from a list here), review labels (re-pointed at the merged samples'
ids), batch records, the sessions' provenance, and the tasks' and models' descriptions. The merged store records
where each part came from (`merged_from`).

Runs whose semantic config differs (seed, temperature, mechanism, ...: ExperimentConfig.semantic_diff) are refused:
their samples are not comparable. The same sample key in two runs is an overlap when the two rows agree on
everything a model produced (status, answer, reasoning, tokens, score; not the run id, time, latency or attempts):
one is kept and the count is reported. A key whose rows disagree is a conflict and the merge is refused, with
nothing written; an error sample never conflicts with a finished one (the finished one is kept: an error is not a
result). Everything is checked first and then written in one transaction.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import ExperimentConfig
from ..errors import UserError
from .run_store import Store
from .schema import KEY

# Columns that say when and how a sample was fetched, not what the model produced: they may differ in an overlap.
VOLATILE = frozenset({"id", "run_id", "created_at", "attempts", "latency_s"})
MERGED_META = ("config", "tasks", "models", "sessions", "run_id", "created_at", "schema_version", "merged_from")


@dataclass
class MergeResult:
    into: Path
    samples: int = 0  # rows written
    overlaps: int = 0  # same key, same content, kept once
    replaced_errors: int = 0  # an error sample replaced by a finished one from another run
    items: int = 0
    labels: int = 0
    batches: int = 0
    sources: list[dict[str, Any]] = field(default_factory=list)


def _columns(store: Store, table: str) -> list[str]:
    return [r[1] for r in store.conn.execute(f"PRAGMA table_info({table})")]


def _rows(store: Store, table: str, columns: Sequence[str]) -> list[dict[str, Any]]:
    cur = store.conn.execute(f"SELECT {', '.join(columns)} FROM {table}")
    return [dict(zip(columns, row)) for row in cur]


def _content(row: dict[str, Any]) -> str:
    body = {k: v for k, v in row.items() if k not in VOLATILE}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _key(row: dict[str, Any]) -> tuple:
    return tuple(row[k] for k in KEY)


def _semantic_check(configs: list[tuple[Path, dict[str, Any]]]) -> None:
    first_path, first = configs[0]
    base = ExperimentConfig.model_validate(first)
    for path, cfg in configs[1:]:
        diff = base.semantic_diff(ExperimentConfig.model_validate(cfg))
        if diff:
            raise UserError(f"{path} was run with different {', '.join(diff)} than {first_path}: its samples are not "
                            "comparable, so it is not merged")


def merge_runs(sources: Sequence[str | Path], into: str | Path) -> MergeResult:
    """Merge `sources` into the run dir `into` (new or existing). Raises UserError, writing nothing, on a
    semantic difference or a conflicting sample or item."""
    into = Path(into)
    paths = [Path(p) for p in sources]
    if not paths:
        raise UserError("merge: name at least one run dir to merge")
    if any(p.resolve() == into.resolve() for p in paths):
        raise UserError(f"merge: {into} is both a source and the target")
    stores = [Store(p, create=False, readonly=True) for p in paths]
    try:
        return _merge(stores, into)
    finally:
        for store in stores:
            store.close()


def _merge(stores: list[Store], into: Path) -> MergeResult:
    configs = []
    for store in stores:
        if store.get_meta("imported") is not None:
            configs.append((store.run_dir, None))
            continue
        cfg = store.get_meta("config")
        if cfg is None:
            raise UserError(f"{store.run_dir} has no stored config: not a run overthink made")
        configs.append((store.run_dir, cfg))
    target_exists = (into / "overthink.sqlite").exists()
    with Store(into) as target:
        if target_exists and target.get_meta("config") is not None:
            configs.insert(0, (into, target.get_meta("config")))
        kinds = {c is None for _, c in configs}
        if len(kinds) > 1:
            raise UserError("merge: imported results and runs overthink made are not merged together")
        if None not in kinds:
            _semantic_check(configs)
        result = MergeResult(into)
        plan = _plan(stores, target, result)
        _write(stores, target, plan, configs, result)
        target.fill_probes()  # copied rows carry no probe cache (the triggers clear it): measure them once here
    return result


@dataclass
class _Plan:
    samples: dict[tuple, tuple[int, dict[str, Any]]]  # key -> (source index, row)
    items: dict[tuple, tuple[int, dict[str, Any]]]
    batches: dict[str, tuple[int, dict[str, Any]]]


def _plan(stores: list[Store], target: Store, result: MergeResult) -> _Plan:
    """Check every source against the target and each other; nothing is written here."""
    sample_cols = _columns(target, "samples")
    existing = {_key(r): r for r in _rows(target, "samples", sample_cols)}
    items_existing = {(r["task"], r["item_id"]): r for r in _rows(target, "items", _columns(target, "items"))}
    plan = _Plan({}, {}, {})
    for index, store in enumerate(stores):
        cols = [c for c in _columns(store, "samples") if c in sample_cols]
        missing = set(_columns(store, "samples")) - set(sample_cols)
        if missing:
            raise UserError(f"{store.run_dir}: columns {', '.join(sorted(missing))} are unknown to this version of "
                            "overthink; merge with the version that made the run")
        for row in _rows(store, "samples", cols):
            key = _key(row)
            seen = plan.samples.get(key, (None, existing.get(key)))[1]
            if seen is None:
                plan.samples[key] = (index, row)
                continue
            if _content(seen) == _content({c: row.get(c) for c in seen}):
                result.overlaps += 1
                continue
            if seen["status"] == "error" and row["status"] != "error":
                plan.samples[key] = (index, row)
                result.replaced_errors += 1
                continue
            if row["status"] == "error":
                result.replaced_errors += 1
                continue
            raise UserError(f"merge conflict: sample {dict(zip(KEY, key))} differs between {store.run_dir} and an "
                            "earlier run; nothing was merged")
        item_cols = _columns(store, "items")
        for row in _rows(store, "items", item_cols):
            key = (row["task"], row["item_id"])
            seen = plan.items.get(key, (None, items_existing.get(key)))[1]
            if seen is None:
                plan.items[key] = (index, row)
            elif seen.get("content_hash") != row.get("content_hash"):
                raise UserError(f"merge conflict: item {key[1]!r} of task {key[0]!r} is a different question in "
                                f"{store.run_dir}; nothing was merged")
        for row in _rows(store, "batches", _columns(store, "batches")):
            plan.batches.setdefault(row["batch_id"], (index, row))
    return plan


def _write(stores: list[Store], target: Store, plan: _Plan, configs: list, result: MergeResult) -> None:
    conn = target.conn
    sample_cols = [c for c in _columns(target, "samples") if c != "id"]
    conn.execute("BEGIN IMMEDIATE")
    try:
        for _index, row in plan.items.values():
            cols = list(row)
            conn.execute(f"INSERT OR IGNORE INTO items ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                         [row[c] for c in cols])
            result.items += 1
        for _index, row in plan.samples.values():
            cols = [c for c in sample_cols if c in row]
            values = [row[c] for c in cols]
            # OR REPLACE: a stored error sample of the same key (UNIQUE over KEY) gives way to the finished one
            conn.execute(f"INSERT OR REPLACE INTO samples ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                         values)
            result.samples += 1
        merged_id = {tuple(k): i for i, *k in conn.execute(f"SELECT id, {', '.join(KEY)} FROM samples")}
        for store in stores:
            old_to_key = {r["id"]: _key(r) for r in _rows(store, "samples", ["id", *KEY])}
            label_cols = [c for c in _columns(store, "labels") if c != "id"]
            for row in _rows(store, "labels", label_cols):
                sample = merged_id.get(old_to_key.get(row["sample_id"]))
                if sample is None:
                    continue
                row["sample_id"] = sample
                marks = ", ".join("?" * len(label_cols))
                conn.execute(f"INSERT INTO labels ({', '.join(label_cols)}) VALUES ({marks})",
                             [row[c] for c in label_cols])
                result.labels += 1
        for _index, row in plan.batches.values():
            cols = list(row)
            conn.execute(f"INSERT OR IGNORE INTO batches ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                         [row[c] for c in cols])
            result.batches += 1
        _write_meta(stores, target, configs, result)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _write_meta(stores: list[Store], target: Store, configs: list, result: MergeResult) -> None:
    tasks = dict(target.get_meta("tasks") or {})
    models = dict(target.get_meta("models") or {})
    sessions = list(target.get_meta("sessions") or [])
    merged_from = list(target.get_meta("merged_from") or [])
    for store in stores:
        tasks.update(store.get_meta("tasks") or {})
        models.update(store.get_meta("models") or {})
        run_id = store.get_meta("run_id")
        for session in store.get_meta("sessions") or []:
            sessions.append({**session, "merged_from_run": run_id})
        shard = (store.get_meta("config") or {}).get("shard")
        entry = {"path": str(store.run_dir.resolve()), "run_id": run_id, "shard": shard, "samples": store.count()}
        merged_from.append(entry)
        result.sources.append(entry)
    values: dict[str, Any] = {}
    for store in reversed(stores):  # imported, check results, ...: the first source's wins; the target's stays
        for key, value in _other_meta(store).items():
            if target.get_meta(key) is None:
                values[key] = value
    values |= {"tasks": tasks, "models": models, "sessions": sessions, "merged_from": merged_from}
    first_config = next((c for _, c in configs if c is not None), None)
    if first_config is not None and target.get_meta("config") is None:
        values["config"] = {**first_config, "shard": None, "run_dir": str(target.run_dir)}
    if target.get_meta("run_id") is None:
        values.update(run_id=stores[0].get_meta("run_id") if len(stores) == 1 else f"merged-{int(time.time())}",
                      created_at=min((s.get_meta("created_at") or time.time()) for s in stores))
    for key, value in values.items():
        target.conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
                            "value = excluded.value", (key, json.dumps(value, default=str)))


def _other_meta(store: Store) -> dict[str, Any]:
    keys = [r[0] for r in store.conn.execute("SELECT key FROM meta")]
    return {k: store.get_meta(k) for k in keys if k not in MERGED_META}
