"""DatasetTask: a task read from one file of a fetched public dataset (see datasets.py), or from `data=PATH`."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from .. import datasets
from ..core import Item
from .base import Task
from .sampling import select


class DatasetTask(Task):
    """A task read from one file of a fetched dataset (or `data=PATH`); items are a seeded selection of it."""

    dataset: ClassVar[str]
    file: ClassVar[str]

    def __init__(self, name: str | None = None, data: str | None = None, **options: Any) -> None:
        super().__init__(name=name, **options)
        # locate now, so a missing dataset stops a run before anything is created on disk
        self.path = Path(data) if data else datasets.locate(self.dataset, self.file)

    def load(self, path: Path) -> list[Item]:
        raise NotImplementedError

    def items(self, n: int | None = None, seed: int = 0) -> list[Item]:
        return select(self.load(self.path), n, seed, self.name)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "dataset": self.dataset}
