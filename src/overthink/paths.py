"""Where overthink keeps its files: OVERTHINK_HOME for models, data and tasks.

Without the variable, the platform's user cache folder (platformdirs: ~/.cache/overthink on Linux, or
$XDG_CACHE_HOME/overthink; ~/Library/Caches/overthink on macOS; %LOCALAPPDATA%\\overthink\\Cache on Windows), except
that a ~/.cache/overthink made by an earlier version (which used it on every platform) is kept, so its downloads
are found where they are. The functions here only name paths; writers create their directory with `writable`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

APP = "overthink"


def legacy_home() -> Path:
    """The default before platformdirs, on every platform."""
    return Path.home() / ".cache" / APP


def home() -> Path:
    """The cache root. Never created here: a command that only reads must leave no directory behind, so each
    writer creates what it writes into (`writable`)."""
    given = os.environ.get("OVERTHINK_HOME")
    if given:
        return Path(given).expanduser()
    legacy = legacy_home()
    if legacy.is_dir():
        return legacy
    from platformdirs import user_cache_dir  # here: every CLI start imports this module, few ask for the home

    return Path(user_cache_dir(APP, appauthor=False))


def writable(path: Path) -> Path:
    """`path` (a directory under OVERTHINK_HOME), created with its parents: call it right before writing."""
    path.mkdir(parents=True, exist_ok=True)
    return path


def models_dir() -> Path:
    return home() / "models"


def data_dir() -> Path:
    return home() / "data"


def tasks_dir() -> Path:
    return home() / "tasks"


def user_table(name: str, what: str) -> dict[str, Any]:
    """An optional user file OVERTHINK_HOME/<name>: a YAML mapping of `what`; {} when the file is absent."""
    import yaml

    from .errors import ConfigError
    from .yaml_text import parse_yaml

    path = home() / name
    if not path.exists():
        return {}
    try:
        data = parse_yaml(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must map {what}")
    return data
