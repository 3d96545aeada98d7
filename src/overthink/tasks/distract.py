"""Distractor injection: how robust is *my* task to irrelevant material as thinking grows?

`derive(source, kinds, counts, out)` builds a task whose items are each source item once clean
(`num_distractors` 0) and once per count with that many irrelevant passages inserted. Distractors are nested:
the item with 3 distractors holds the one of the item with 1 plus two more, so a count effect is not a
different-sentence effect. Metadata: `source_item_id`, `num_distractors`, `distractor_kinds`, `distractor_spans`.

Placement: the distractor block goes before the prompt's last paragraph (the question, usually); a one-paragraph
prompt gets it before its last sentence; a one-sentence prompt gets it in front. Generators are seeded by
(seed, item id), so a derived task is reproducible.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import Any

from ..core import Item
from ..errors import DataError
from . import get_task
from .imported import save_task

_NAMES = ["Ana", "Ben", "Chen", "Dara", "Eli", "Fatima", "Goran", "Hiro", "Ines", "Jonas", "Kemi", "Luca"]
_THINGS = ["crates", "tickets", "bottles", "notebooks", "tiles", "seedlings", "batteries", "stamps", "lamps"]
_PLACES = ["the depot", "the north warehouse", "the school fair", "the harbour office", "the bakery", "a library"]


def _math(r: random.Random) -> str:
    a, b, pct = r.randint(12, 480), r.randint(2, 19), r.choice([5, 12, 15, 20, 25, 30, 40, 75])
    name, thing, place = r.choice(_NAMES), r.choice(_THINGS), r.choice(_PLACES)
    return r.choice([
        f"{name} counted {a} {thing} at {place} and then packed them into groups of {b}.",
        f"Last week {place} received {a} {thing}, {pct}% more than the week before.",
        f"{name} paid ${a}.{r.randint(0, 99):02d} for {b} {thing}, then sold {b - 1} of them at a {pct}% markup.",
        f"If {b} people share {a} {thing} equally, {a % b} are left over, which {name} keeps.",
        f"A box at {place} weighs {a} grams; {b} boxes are stacked, and the stack loses {pct}% when unpacked.",
    ])


def _python(r: random.Random) -> str:
    n, m, k = r.randint(3, 12), r.randint(2, 9), r.randint(2, 5)
    var = r.choice(["values", "items", "scores", "data", "nums"])
    body = r.choice([
        f"{var} = [x ** {k} for x in range({n})]\nprint(sum({var}) % {m})",
        f"def f(x):\n    return x * {k} + {m}\n\nprint([f(i) for i in range({n})])",
        f"import math\nprint(math.factorial({min(n, 9)}) // math.gcd({n * m}, {m * k}))",
        f"total = 0\nfor i in range({n}):\n    if i % {k} == 0:\n        total += i\nprint(total)",
        f"class Counter:\n    def __init__(self):\n        self.n = {m}\n\n    def step(self):\n"
        f"        self.n += {k}\n        return self.n",
        f"{var} = {{i: i * {m} for i in range({n})}}\nprint(max({var}.values()) - min({var}.values()))",
        f"try:\n    result = {n} / ({k} - {k})\nexcept ZeroDivisionError:\n    result = {m}",
    ])
    return f"```python\n{body}\n```"


_FACTS = [
    "The Eiffel Tower was completed in 1889.",
    "Honey stored in sealed jars can keep for a very long time.",
    "Mount Everest is the highest mountain above sea level.",
    "Octopuses have three hearts.",
    "The Pacific is the largest of Earth's oceans.",
    "Light from the Sun takes about eight minutes to reach Earth.",
    "The chess piece called the rook moves in straight lines.",
    "Venus rotates in the opposite direction to most planets.",
    "A group of crows is sometimes called a murder.",
    "The Great Barrier Reef lies off the coast of Queensland, Australia.",
    "Bananas are botanically classified as berries.",
    "The Danube flows through more countries than any other river in Europe.",
    "Sharks were swimming in the oceans before trees grew on land.",
    "The Rosetta Stone helped scholars decipher Egyptian hieroglyphs.",
    "Penguins live almost entirely in the Southern Hemisphere.",
    "The first printed book in Europe using movable type is usually dated to the 1450s.",
    "Copper turns green over time as it forms a patina.",
    "A leap year has 366 days.",
    "Saturn's rings are made mostly of ice particles.",
    "The piano was invented in Italy around 1700.",
]


def _fact(r: random.Random) -> str:
    return r.choice(_FACTS)


GENERATORS: dict[str, Callable[[random.Random], str]] = {
    "math": _math, "python": _python, "irrelevant-facts": _fact,
}


def parse_list(value: str | list[Any], what: str) -> list[str]:
    items = [v.strip() for v in value.split(",")] if isinstance(value, str) else [str(v) for v in value]
    items = [v for v in items if v]
    if not items:
        raise DataError(f"--{what}: give at least one value")
    return items


def make_distractors(item_id: str, kinds: list[str], count: int, seed: int) -> list[tuple[str, str]]:
    """`count` (kind, text) pairs for one item; a prefix of the list for a larger count (nested)."""
    r = random.Random(f"distract:{seed}:{item_id}")
    offset = r.randrange(len(kinds))
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    while len(out) < count:
        kind = kinds[(offset + len(out)) % len(kinds)]
        for _ in range(20):  # avoid the same passage twice in one prompt
            text = GENERATORS[kind](r)
            if text not in seen:
                break
        seen.add(text)
        out.append((kind, text))
    return out


def insert(prompt: str, spans: list[str]) -> str:
    if not spans:
        return prompt
    block = "\n\n".join(spans)
    paragraphs = prompt.rstrip().split("\n\n")
    if len(paragraphs) > 1:
        return "\n\n".join([*paragraphs[:-1], block, paragraphs[-1]])
    sentences = re.split(r"(?<=[.!?])\s+(?=\S)", prompt.strip())
    if len(sentences) > 1:
        return " ".join(sentences[:-1]) + "\n\n" + block + "\n\n" + sentences[-1]
    return f"{block}\n\n{prompt.strip()}"


def derive_items(items: list[Item], kinds: list[str], counts: list[int], seed: int) -> list[Item]:
    out = []
    for item in items:
        pool = make_distractors(item.id, kinds, max(counts), seed)
        for count in [0, *counts]:
            chosen = pool[:count]
            spans = [t for _, t in chosen]
            meta = dict(item.metadata)
            for key in ("source_item_id", "num_distractors", "distractor_kinds", "distractor_spans"):
                if key in meta:  # the source task's own distractor fields survive under another name
                    meta[f"source_{key}"] = meta.pop(key)
            meta.update(source_item_id=item.id, num_distractors=count,
                        distractor_kinds=[k for k, _ in chosen], distractor_spans=spans)
            out.append(Item(id=f"{item.id}-d{count}", prompt=insert(item.prompt, spans), answer=item.answer,
                            choices=item.choices, answer_index=item.answer_index, metadata=meta))
    return out


def derive(source: str, kinds: str | list[str], counts: str | list[int], out: str, *, limit: int | None = None,
           seed: int = 0, force: bool = False) -> tuple[str, int]:
    """`overthink tasks distract`: store the derived task `out`; returns (path, number of items)."""
    kind_list = parse_list(kinds, "kinds")
    unknown = [k for k in kind_list if k not in GENERATORS]
    if unknown:
        raise DataError(f"--kinds: unknown {', '.join(unknown)}; choose from {', '.join(GENERATORS)}")
    try:
        count_list = sorted({int(c) for c in parse_list([str(c) for c in counts] if not isinstance(counts, str)
                                                        else counts, "counts")})
    except ValueError:
        raise DataError(f"--counts {counts!r}: give whole numbers, e.g. 1,3,5") from None
    if any(c < 1 for c in count_list):
        raise DataError("--counts: each count must be >= 1 (the clean copy, 0, is always included)")
    task = get_task(source)
    items = derive_items(task.items(n=limit, seed=seed), kind_list, count_list, seed)
    meta = {"derived_from": source, "distractor_kinds": kind_list, "distractor_counts": count_list,
            "seed": seed, "group_size": 1 + len(count_list), "scoring": task.scoring.value,
            "metric": task.metric.value, "metric_label": task.metric_label, "tolerance": task.tolerance}
    path = save_task(out, items, meta, force=force)
    return str(path), len(items)
