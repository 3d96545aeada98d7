"""Which model accepts which reasoning control, looked up in a data table (data/capabilities.yaml).

Layers, later wins: the packaged table < $OVERTHINK_HOME/capabilities.yaml (tried first, entry by entry) <
the run's `model_options[SPEC]["capabilities"]` mapping. No model-name logic lives in code: a new model is a new
table row, not a new regex. Every layer is checked against `Capabilities` on its own, so a bad value is reported
with the file (or model_options entry), the provider, the row and the field it came from.
"""

from __future__ import annotations

import fnmatch
from functools import lru_cache
from importlib import resources
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import ConfigError
from ..paths import home, user_table
from ..yaml_text import parse_yaml

FILE = "capabilities.yaml"


class Capabilities(BaseModel):
    """One model's capability record; the fields are documented in data/capabilities.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    match: str = ""  # the row's glob; in a looked-up record, the model name
    thinking: tuple[str, ...] = ()  # accepted thinking modes; names are the provider's (budget_tokens, adaptive..)
    efforts: tuple[str, ...] = ()
    min_budget: int = Field(1024, ge=0)
    max_budget: int | None = Field(None, ge=0)
    reasoning: bool = False
    temperature: bool = True
    system_role: str = "system"
    budget_field: str | None = None
    think_open: str = "<think>\n"
    think_close: str = "</think>"
    thinking_switch: bool = True

    def get(self, name: str, default: Any = None) -> Any:
        """A field as a table layer declared it, else `default` (a mapping-style read: unset fields are absent)."""
        return getattr(self, name) if name in self.model_fields_set else default


class _Table(BaseModel):
    """One provider's section of a capabilities file."""

    model_config = ConfigDict(extra="forbid")

    defaults: dict[str, Any] = Field(default_factory=dict)
    models: list[dict[str, Any]] = Field(default_factory=list)


KNOWN_FIELDS = frozenset(Capabilities.model_fields)


def _layer(data: Any, where: str) -> dict[str, Any]:
    """`data` checked as a partial capability record: the fields it sets, with their values checked."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: must be a mapping of capability fields, got {type(data).__name__}")
    unknown = sorted(str(k) for k in set(data) - KNOWN_FIELDS)
    if unknown:
        raise ConfigError(f"{where}: unknown capability field(s) {', '.join(unknown)}; "
                          f"known: {', '.join(sorted(KNOWN_FIELDS - {'match'}))}")
    try:
        checked = Capabilities.model_validate({k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"{where}: capability field '{field}': {err['msg']} (got {err['input']!r})") from None
    return checked.model_dump(include=checked.model_fields_set)


def _tables(data: Any, path: str) -> dict[str, _Table]:
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must map provider names to tables")
    out = {}
    for provider, table in data.items():
        try:
            out[str(provider)] = _Table.model_validate(table or {})
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"]) or "(table)"
            raise ConfigError(f"{path}: {provider}: '{field}': {err['msg']} (a provider maps 'defaults' to "
                              f"capability fields and 'models' to a list of rows with a 'match' glob)") from None
    return out


@lru_cache(maxsize=1)
def _packaged() -> tuple[str, dict[str, _Table]]:
    source = resources.files("overthink").joinpath("data", FILE)
    return str(source), _tables(parse_yaml(source.read_text()), str(source))


def _user() -> tuple[str, dict[str, _Table]]:
    path = str(home() / FILE)
    return path, _tables(user_table(FILE, "provider names to tables"), path)


def capabilities(provider: str, model: str, override: dict[str, Any] | None = None) -> Capabilities:
    """The capability record for one model: provider defaults, then the first matching row, then `override`."""
    (packaged_path, packaged), (user_path, user) = _packaged(), _user()
    empty = _Table()
    ours, theirs = packaged.get(provider, empty), user.get(provider, empty)
    caps = _layer(ours.defaults, f"{packaged_path}: {provider}.defaults")
    caps.update(_layer(theirs.defaults, f"{user_path}: {provider}.defaults"))
    rows = [(user_path, i, row) for i, row in enumerate(theirs.models)]
    rows += [(packaged_path, i, row) for i, row in enumerate(ours.models)]
    found: dict[str, Any] | None = None
    for path, i, row in rows:  # every row is checked, so a bad row is reported whichever model is asked for
        where = f"{path}: {provider}.models[{i}]"
        if not isinstance(row, dict) or not isinstance(row.get("match"), str):
            raise ConfigError(f"{where}: a row needs a 'match' glob (text), e.g. {{match: \"model-name*\"}}")
        checked = _layer(row, where)
        if found is None and fnmatch.fnmatchcase(model, row["match"]):
            found = checked
    caps.update(found or {})
    if override is not None:
        caps.update(_layer(override, f"model_options for {provider}:{model}: capabilities"))
    caps["match"] = model
    return Capabilities.model_validate(caps)
