"""GSM8K test split (`gsm8k`): a control where longer thinking should not hurt. The answer is the final number
after "####" in the worked solution (thousands separators removed); the solution itself is kept in metadata."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .. import datasets
from ..core import Item
from ..errors import DataError
from .base import Scoring, Task
from .loading import read_records, select

DATASET = "gsm8k"
FILE = "test.jsonl"
_FINAL = re.compile(r"####\s*([-+]?[\d,]*\.?\d+)\s*$")


def load_gsm8k(path: Path) -> list[Item]:
    items = []
    for lineno, rec in read_records(path):
        question, solution = rec.get("question"), rec.get("answer")
        if not isinstance(question, str) or not isinstance(solution, str):
            raise DataError(f"{path}:{lineno}: needs string fields 'question' and 'answer'")
        m = _FINAL.search(solution.strip())
        if not m:
            raise DataError(f"{path}:{lineno}: the answer does not end in '#### <number>'")
        number = m.group(1).replace(",", "")
        value: int | float = float(number) if "." in number else int(number)
        items.append(Item(id=f"gsm8k-{lineno}", prompt=question, answer=value,
                          metadata={"solution": solution, "line": lineno}))
    return items


class Gsm8k(Task):
    family = "gsm8k"
    scoring = Scoring.NUMERIC
    default_size = 1319

    def __init__(self, name: str | None = None, data: str | None = None, **options: Any) -> None:
        super().__init__(name=name, **options)
        # locate now, so a missing dataset stops a run before anything is created on disk
        self.path = Path(data) if data else datasets.locate(DATASET, FILE)

    def items(self, n: int | None = None, seed: int = 0) -> list[Item]:
        path = self.path
        return select(load_gsm8k(path), n, seed, self.name)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "dataset": DATASET}
