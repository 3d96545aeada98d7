"""Figure files kept while their table is unchanged: a stamp (`.NAME.stamp` beside the files) holds a hash of the
table, the formats and the overthink version they were drawn with. A run's summary redraws its curve figure only
when the stamp differs, so a resume with nothing to do neither imports matplotlib nor draws (~0.8 s of a 3 s
resume). Kept apart from figures.py, which imports matplotlib."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..version import __version__


def stamp_key(table: pd.DataFrame, formats: Sequence[str]) -> str:
    return hashlib.sha256(f"{__version__}\n{tuple(formats)}\n{table.to_csv()}".encode()).hexdigest()


def stamp_path(out_dir: Path, name: str) -> Path:
    return out_dir / f".{name}.stamp"


def unchanged(table: pd.DataFrame, out_dir: Path, name: str, formats: Sequence[str]) -> list[Path] | None:
    """The figure's files when they exist and were drawn from this very table, else None (draw them)."""
    paths = [out_dir / f"{name}.{fmt}" for fmt in formats]
    stamp = stamp_path(out_dir, name)
    if stamp.is_file() and stamp.read_text() == stamp_key(table, formats) and all(p.is_file() for p in paths):
        return paths
    return None
