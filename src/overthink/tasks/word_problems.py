"""Word problems: short multi-step arithmetic with known answers. A positive control: small models get these
right more often when they may think longer (measured for this project with budget forcing on Qwen2.5-Coder-0.5B:
4 / 5 / 10 / 16 / 16 of 20 two-step problems right at budgets 0 / 64 / 128 / 256 / 1024)."""

from __future__ import annotations

import random
from collections.abc import Callable

from ..core import Item
from .base import Scoring, Task

_NAMES = ["Ana", "Ben", "Chen", "Dara", "Eli", "Fatima", "Goran", "Hana", "Ivo", "Jun", "Kofi", "Lena"]

Template = Callable[[random.Random, str], tuple[str, int]]


def _buy_packs(r: random.Random, name: str) -> tuple[str, int]:
    a, b, c = r.randint(5, 30), r.randint(2, 6), r.randint(3, 12)
    return (f"{name} has {a} marbles. {name} buys {b} bags with {c} marbles in each bag. "
            f"How many marbles does {name} have now?", a + b * c)


def _spend_earn(r: random.Random, name: str) -> tuple[str, int]:
    a, b, c = r.randint(40, 120), r.randint(5, 35), r.randint(5, 50)
    return (f"{name} had {a} dollars, spent {b} dollars on lunch and then earned {c} dollars. "
            f"How many dollars does {name} have now?", a - b + c)


def _shelves(r: random.Random, name: str) -> tuple[str, int]:
    a, b = r.randint(6, 15), r.randint(3, 8)
    c = r.randint(2, a * b - 1)
    return (f"A bookcase has {b} shelves with {a} books on each shelf. {name} takes away {c} books. "
            f"How many books are left in the bookcase?", a * b - c)


def _reading(r: random.Random, name: str) -> tuple[str, int]:
    a, b, c = r.randint(8, 30), r.randint(3, 9), r.randint(5, 40)
    return (f"{name} reads {a} pages every day for {b} days and then {c} more pages on the last evening. "
            f"How many pages does {name} read in total?", a * b + c)


def _share(r: random.Random, name: str) -> tuple[str, int]:
    friends, each, eaten = r.randint(2, 6), r.randint(4, 12), r.randint(1, 3)
    return (f"{name} shares {friends * each} sweets equally among {friends} friends. Each friend then eats "
            f"{eaten} of their sweets. How many sweets does each friend have left?", each - eaten)


def _travel(r: random.Random, name: str) -> tuple[str, int]:
    a, b, c = r.randint(30, 90), r.randint(2, 5), r.randint(5, 60)
    return (f"{name} drives at {a} kilometres per hour for {b} hours and then drives {c} more kilometres. "
            f"How many kilometres does {name} drive in total?", a * b + c)


def _tickets(r: random.Random, name: str) -> tuple[str, int]:
    adult, child, na, nc = r.randint(8, 20), r.randint(3, 7), r.randint(1, 4), r.randint(1, 5)
    return (f"A museum ticket costs {adult} dollars for an adult and {child} dollars for a child. {name} buys "
            f"{na} adult tickets and {nc} child tickets. How many dollars does {name} pay?", adult * na + child * nc)


TEMPLATES: dict[str, Template] = {
    "buy_packs": _buy_packs, "spend_earn": _spend_earn, "shelves": _shelves, "reading": _reading,
    "share": _share, "travel": _travel, "tickets": _tickets,
}


class WordProblems(Task):
    family = "word-problems"
    scoring = Scoring.NUMERIC
    default_size = 20

    def items(self, n: int | None = None, seed: int = 0) -> list[Item]:
        n = self.default_size if n is None else n
        kinds = sorted(TEMPLATES)
        out = []
        for i in range(n):
            r = random.Random(f"{self.family}:{seed}:{i}")
            kind = kinds[i % len(kinds)]
            prompt, answer = TEMPLATES[kind](r, r.choice(_NAMES))
            out.append(Item(id=f"wp-{seed}-{i:05d}", prompt=prompt, answer=answer, metadata={"template": kind}))
        return out
