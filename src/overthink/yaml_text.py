"""YAML parsing for the data tables and user files: PyYAML's libyaml loader where it is built in (10-20x faster
than the pure-Python one on the capability and price tables, which every run loads; the same safe subset and the
same results), else the pure-Python safe loader."""

from __future__ import annotations

from typing import Any

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str) -> Any:
    """`yaml.safe_load` semantics (raises yaml.YAMLError with the problem's line and column)."""
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader
