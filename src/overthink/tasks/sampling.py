"""Shared helpers for tasks: deterministic item selection, per-item counts from a distribution, option checks.

`select` and `interleave` choose which items a run uses (a seeded shuffle whose prefixes nest; balanced groups).

A distribution of distractor counts is given as "1,2,3,4,5" (equal shares), a list, a single int, or a weights dict
{"0": 92, "1": 180, ...}. Items get their count from a smooth weighted round-robin, so the first n items hold the
counts in proportion to the weights for every n (equal weights: exactly equal numbers, interleaved).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from ..core import Item
from ..errors import DataError, UserError


def select(items: list[Item], n: int | None, seed: int, key: str) -> list[Item]:
    """The first n items of a seeded shuffle (n=None: all). Any n is a subset of any larger n for one seed."""
    if n is None or n >= len(items):
        n = len(items)
    if n < 0:
        raise DataError(f"item count must be >= 0, got {n}")
    order = list(range(len(items)))
    random.Random(f"{key}:{seed}").shuffle(order)
    return [items[i] for i in order[:n]]


def interleave(groups: list[list[Item]], n: int | None) -> list[Item]:
    """Round-robin across groups so that any prefix stays balanced; first n (n=None: all)."""
    out: list[Item] = []
    longest = max((len(g) for g in groups), default=0)
    for i in range(longest):
        out.extend(g[i] for g in groups if i < len(g))
    return out if n is None else out[:n]


def parse_distribution(value: Any, option: str, allowed: Sequence[int] | None = None) -> dict[int, float]:
    """Counts -> weights from "1,2,3", "0:1,1:2", [1, 2], 3 or {"1": 2.0}. UserError naming `option` when bad."""
    try:
        if isinstance(value, bool):
            raise ValueError("a bool is not a count")
        if isinstance(value, int):
            dist = {value: 1.0}
        elif isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            if parts and all(":" in p for p in parts):
                dist = {int(k): float(w) for k, w in (p.split(":", 1) for p in parts)}
            else:
                dist = {}
                for p in parts:
                    dist[int(p)] = dist.get(int(p), 0.0) + 1.0
        elif isinstance(value, Mapping):
            dist = {int(k): float(w) for k, w in value.items()}
        elif isinstance(value, Sequence):
            dist = {}
            for v in value:
                if isinstance(v, bool):
                    raise ValueError("a bool is not a count")
                dist[int(v)] = dist.get(int(v), 0.0) + 1.0
        else:
            raise ValueError(f"unsupported type {type(value).__name__}")
    except (TypeError, ValueError) as exc:
        raise UserError(f"option {option!r}: cannot read {value!r} as counts or a weights dict ({exc})") from None
    if not dist:
        raise UserError(f"option {option!r}: no counts given")
    for count, weight in dist.items():
        if count < 0 or weight < 0 or weight != weight:
            raise UserError(f"option {option!r}: counts and weights must be >= 0, got {count}: {weight}")
        if allowed is not None and count not in allowed:
            raise UserError(f"option {option!r}: count {count} not allowed (choose from {list(allowed)})")
    dist = {k: w for k, w in sorted(dist.items()) if w > 0}
    if not dist:
        raise UserError(f"option {option!r}: all weights are zero")
    return dist


def schedule(dist: Mapping[int, float], n: int) -> list[int]:
    """The count for each of n items: smooth weighted round-robin (deterministic, every prefix proportional)."""
    keys = sorted(dist)
    total = sum(dist[k] for k in keys)
    current = {k: 0.0 for k in keys}
    out = []
    for _ in range(n):
        for k in keys:
            current[k] += dist[k]
        best = max(keys, key=lambda k: (current[k], -k))
        current[best] -= total
        out.append(best)
    return out


def check_options(options: Mapping[str, Any], known: Sequence[str], task: str) -> None:
    """Reject unknown option names (a typo would otherwise be silently ignored)."""
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise UserError(f"task {task}: unknown option(s) {', '.join(map(repr, unknown))}; "
                        f"known: {', '.join(known) or 'none'}")
