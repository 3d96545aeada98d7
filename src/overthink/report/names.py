"""Model names short enough for a terminal table, and still unique: cut names made 60 rows of
`openai-compatible:Qwen/Qwen3-8B@http://127.0.0.1:80…` look identical. Used by every terminal table that names a
model (summary, efficiency, audit, cost, power, estimate, check) and the figures' legends; a table that shows an
abbreviation prints `legend_lines` under it."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

PROVIDER_SHORT = {"openai-compatible": "oai-compat", "anthropic-bedrock": "bedrock", "anthropic-vertex": "vertex"}


def _compact(name: str) -> str:
    """A shorter spelling of one spec: a short provider, `http://host:port/v1` as `host:port`."""
    provider, sep, rest = name.partition(":")
    if sep and provider in PROVIDER_SHORT:
        name = f"{PROVIDER_SHORT[provider]}:{rest}"
    name = re.sub(r"@https?://([^/\s]+)(/v1)?/?$", r"@\1", name)
    return name.replace("@127.0.0.1:", "@:").replace("@localhost:", "@:")


def short_names(names: Iterable[str], width: int = 40) -> dict[str, str]:
    """name -> a unique display name of at most `width` characters (names that fit are kept as they are).
    Too-long names keep their start and their end around a `…`, with as much of the end as tells them apart."""
    names = list(dict.fromkeys(names))
    out = {n: n if len(n) <= width else _compact(n) for n in names}
    long = [n for n in names if len(out[n]) > width]
    for tail in range(max(4, width // 2), width):
        head = width - tail - 1
        trial = {n: out[n][:head] + "…" + out[n][-tail:] for n in long}
        if len(set(trial.values()) | {out[n] for n in names if n not in long}) == len(names):
            out.update(trial)
            return out
    return {n: n for n in names}  # nothing short is unique: the full names


def legend_lines(names: dict[str, str]) -> list[str]:
    """'SHORT = FULL' for every name shown abbreviated: the legend printed under a table ([] when none was)."""
    return [f"{short} = {full}" for full, short in names.items() if short != full]


def name_column(table: Any, names: dict[str, str], header: str = "model") -> None:
    """Keep the abbreviated names whole in a rich table: one wider than the terminal is shrunk column by column,
    and rich would cut the names again with its own '…' (other columns wrap instead)."""
    for column in table.columns:
        if column.header == header:
            column.min_width = max((len(n) for n in names.values()), default=0)
