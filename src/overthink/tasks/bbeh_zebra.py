"""BIG-Bench Extra Hard zebra puzzles (`bbeh-zebra`): 200 logic grid puzzles, the answer is a position 1..N.

The grid size is parsed from the puzzle text ("There are N people ... in positions 1, ..., N" and one
"Everyone ..." line per attribute) into metadata: `grid_size` ("7x7", the paper's naming by people count),
`num_people`, `num_attributes` (listed, including the distracting ones), `num_clues`, `irrelevant_clues`.
An answer is read as a number; a position outside 1..N is scored wrong, not unparsed (the model did answer).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..core import Item
from ..errors import DataError
from .base import Scoring
from .dataset import DatasetTask

DATASET = "bbeh-zebra"
FILE = "task.json"
_PEOPLE = re.compile(r"There are (\d+) people next to each other in a row")
_ATTRIBUTE = re.compile(r"^Everyone .+:", re.M)
_CLUE = re.compile(r"^Clue \d+:", re.M)
_IRRELEVANT = "might be irrelevant"


def load_puzzles(path: Path) -> list[Item]:
    """Items from a BBEH task.json ({"examples": [{"input", "target"}], "canary"}); DataError on a bad example."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: cannot read BBEH task file ({exc})") from None
    examples = doc.get("examples") if isinstance(doc, dict) else None
    if not isinstance(examples, list):
        raise DataError(f"{path}: expected an object with an 'examples' list")
    items = []
    for i, ex in enumerate(examples):
        where = f"{path}: example {i}"
        if not isinstance(ex, dict) or not isinstance(ex.get("input"), str) or "target" not in ex:
            raise DataError(f"{where}: needs string 'input' and 'target'")
        text, target = ex["input"], str(ex["target"]).strip()
        m = _PEOPLE.search(text)
        if not m:
            raise DataError(f"{where}: no 'There are N people next to each other in a row' sentence")
        people = int(m.group(1))
        if not target.isdigit() or not 1 <= int(target) <= people:
            raise DataError(f"{where}: target {target!r} is not a position 1..{people}")
        items.append(Item(
            id=f"zebra-{i:03d}", prompt=text, answer=int(target),
            metadata={"grid_size": f"{people}x{people}", "num_people": people,
                      "num_attributes": len(_ATTRIBUTE.findall(text)), "num_clues": len(_CLUE.findall(text)),
                      "irrelevant_clues": _IRRELEVANT in text, "index": i},
        ))
    if not items:
        raise DataError(f"{path}: no examples")
    return items


class BbehZebra(DatasetTask):
    family = "bbeh-zebra"
    scoring = Scoring.NUMERIC
    default_size = 200
    paper_size = 200

    dataset = DATASET
    file = FILE

    def load(self, path: Path) -> list[Item]:
        return load_puzzles(path)
