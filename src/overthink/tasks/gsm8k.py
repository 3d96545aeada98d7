"""GSM8K test split (`gsm8k`): a control where longer thinking should not hurt. The answer is the final number
after "####" in the worked solution (thousands separators removed); the solution itself is kept in metadata."""

from __future__ import annotations

import re
from pathlib import Path

from ..core import Item
from ..errors import DataError
from .base import Scoring
from .dataset import DatasetTask
from .files import read_records

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


class Gsm8k(DatasetTask):
    family = "gsm8k"
    scoring = Scoring.NUMERIC
    default_size = 1319

    dataset = DATASET
    file = FILE

    def load(self, path: Path) -> list[Item]:
        return load_gsm8k(path)
