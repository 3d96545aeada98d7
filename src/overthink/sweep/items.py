"""A run's items: generated (or loaded) once, then read back from the store by every resume.

Building items can take a minute (1,000 zebra puzzles are solved to check uniqueness); a resume, or a summary of a
finished run, should not pay for it again. The store keeps each task's items (prompt, expected answer, choices,
metadata) and, in the run's meta `item_sets`, what they were built from: the task's options, the limit, the seed
and the shard. A resume whose settings match reads the items back; any difference (a larger --limit, another shard,
an older store without `item_sets`) builds them again, and the store refuses an item id whose content changed.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from ..config import ExperimentConfig
from ..core import Item
from ..store import Store
from ..tasks import Task
from ..tasks.imported import FileTask

META_KEY = "item_sets"


def shard_items(items: list[Item], shard: tuple[int, int] | None) -> list[Item]:
    """The items of shard (I, N): every N-th item from the I-th, so an item's budgets, replicates and shared trace
    stay in one shard, the shards are balanced, and their union is the unsharded run's items (same ids, same
    seeds: a sample's seed depends on the config's seed, task, item and replicate only)."""
    if shard is None:
        return items
    index, count = shard
    return items[index::count]


def _built_from(task: Task, cfg: ExperimentConfig) -> dict[str, Any]:
    """What a task's items were built from, as the store keeps it (JSON: a path option becomes its text)."""
    return json.loads(json.dumps({"options": task.options, "limit": cfg.limit, "seed": cfg.seed,
                                  "shard": cfg.shard}, default=str))


def _item(row: dict[str, Any]) -> Item:
    meta = dict(row["metadata"] or {})
    choices = meta.pop("choices", None)
    if choices is not None:  # a multiple-choice item: `expected` is its letter
        expected = row["expected"] or ""
        index = ord(expected.upper()) - ord("A") if len(expected) == 1 else None
        return Item(id=row["item_id"], prompt=row["prompt"], choices=tuple(choices), answer_index=index,
                    metadata=meta)
    # open answers are compared as text, or parsed as numbers by the scorer: the stored text is the answer
    return Item(id=row["item_id"], prompt=row["prompt"], answer=row["expected"], metadata=meta)


def _rebuildable(task: Task) -> bool:
    """Built-in families: their items follow from (options, limit, seed) alone. An imported or plugin task reads a
    file that may change between sessions: it is built again, so the store can refuse a changed item."""
    return type(task).__module__.startswith("overthink.tasks.") and not isinstance(task, FileTask)


def run_items(task: Task, cfg: ExperimentConfig, store: Store) -> list[Item]:
    """The task's items for this run: read back from the store when it built them with these settings, else built
    (and stored, with what they were built from)."""
    sets = store.get_meta(META_KEY) or {}
    built = _built_from(task, cfg)
    if _rebuildable(task) and sets.get(task.name, {}).get("from") == built:
        rows = store.items(task.name)
        if len(rows) == sets[task.name].get("count"):
            order = {item_id: i for i, item_id in enumerate(sets[task.name].get("order") or [])}
            items = [_item(r) for r in rows]
            return sorted(items, key=lambda it: order.get(it.id, len(order)))
    items = task.items(n=cfg.limit, seed=cfg.seed)
    if cfg.limit is not None and len(items) < cfg.limit:
        print(f"{task.name}: limit {cfg.limit} is above the task's {len(items)} items; running all {len(items)}",
              file=sys.stderr)
    items = shard_items(items, cfg.shard_of())
    store.add_items(task.name, items)
    sets[task.name] = {"from": built, "count": len(items), "order": [it.id for it in items]}
    store.set_meta(META_KEY, sets)
    return items
