"""Which model accepts which reasoning control, looked up in a data table (data/capabilities.yaml).

Layers, later wins: the packaged table < $OVERTHINK_HOME/capabilities.yaml (tried first, entry by entry) <
the run's `model_options[SPEC]["capabilities"]` mapping. No model-name logic lives in code: a new model is a new
table row, not a new regex.
"""

from __future__ import annotations

import fnmatch
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from ..errors import ConfigError
from ..paths import user_table

KNOWN_FIELDS = {
    "match", "thinking", "efforts", "min_budget", "reasoning", "temperature", "system_role", "budget_field",
    "think_open", "think_close", "thinking_switch", "max_budget",
}


@lru_cache(maxsize=1)
def _packaged() -> dict[str, Any]:
    text = resources.files("overthink").joinpath("data", "capabilities.yaml").read_text()
    return yaml.safe_load(text)


def _user_table() -> dict[str, Any]:
    return user_table("capabilities.yaml", "provider names to tables")


def _check(entry: dict[str, Any], where: str) -> dict[str, Any]:
    unknown = set(entry) - KNOWN_FIELDS
    if unknown:
        raise ConfigError(f"{where}: unknown capability field(s) {', '.join(sorted(unknown))}; "
                          f"known: {', '.join(sorted(KNOWN_FIELDS - {'match'}))}")
    return entry


def capabilities(provider: str, model: str, override: dict[str, Any] | None = None) -> dict[str, Any]:
    """The capability record for one model: provider defaults, then the first matching row, then `override`."""
    packaged = _packaged().get(provider, {})
    user = _user_table().get(provider, {}) or {}
    caps = dict(packaged.get("defaults", {}))
    caps.update(user.get("defaults", {}) or {})
    rows = list(user.get("models", []) or []) + list(packaged.get("models", []) or [])
    for row in rows:
        if fnmatch.fnmatchcase(model, str(row.get("match", ""))):
            caps.update({k: v for k, v in _check(row, f"capabilities for {provider}").items() if k != "match"})
            break
    if override:
        if not isinstance(override, dict):
            raise ConfigError(f"model_options.capabilities for {provider}:{model} must be a mapping")
        caps.update(_check(dict(override), f"model_options.capabilities for {provider}:{model}"))
    caps["match"] = model
    return caps
