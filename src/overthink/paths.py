"""Where overthink keeps its files: OVERTHINK_HOME (default ~/.cache/overthink) for models, data and tasks."""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """The cache root. Created on first use."""
    root = Path(os.environ.get("OVERTHINK_HOME") or Path.home() / ".cache" / "overthink").expanduser()
    root.mkdir(parents=True, exist_ok=True)
    return root


def models_dir() -> Path:
    path = home() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir() -> Path:
    path = home() / "data"
    path.mkdir(parents=True, exist_ok=True)
    return path


def tasks_dir() -> Path:
    path = home() / "tasks"
    path.mkdir(parents=True, exist_ok=True)
    return path
