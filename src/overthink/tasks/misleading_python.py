"""Misleading Python: the misleading-math frame with Python snippets as distractors.

"You have one {item1} and one {item2}." + N fenced Python snippets that compute irrelevant quantities about the
things + "How many different types of {category} do you have?" The answer is always 2. Twelve snippet kinds cover
the paper's list (comprehension, assignment, def, arithmetic with math calls, class, recursion, loop, try/except,
lambda, @property) plus two more (dict, generator).
"""

from __future__ import annotations

import random
from collections.abc import Callable

from .misleading_math import CountingTask

Names = tuple[str, str, str, str]  # thing 1, its variety, thing 2, its variety
Snippet = Callable[[random.Random, Names], str]


def _ident(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text.lower()).strip("_")


def _fence(code: str) -> str:
    return f"```python\n{code.strip()}\n```"


def _comprehension(r: random.Random, n: Names) -> str:
    k = r.randint(3, 9)
    return _fence(f"{_ident(n[0])}_weights = [w * {r.randint(2, 5)} for w in range({k}) if w % 2 == 0]\n"
                  f"print(len({_ident(n[0])}_weights))")


def _assignment(r: random.Random, n: Names) -> str:
    return _fence(f"{_ident(n[1])}_count = {r.randint(2, 12)}\n{_ident(n[3])}_count = {r.randint(2, 12)}\n"
                  f"total = {_ident(n[1])}_count + {_ident(n[3])}_count")


def _def(r: random.Random, n: Names) -> str:
    return _fence(f"def price_of_{_ident(n[2])}(qty):\n    return qty * {r.randint(2, 40)}.{r.randint(0, 99):02d}\n\n"
                  f"print(price_of_{_ident(n[2])}({r.randint(2, 9)}))")


def _math_calls(r: random.Random, n: Names) -> str:
    return _fence(f"import math\nkinds = math.factorial({r.randint(3, 6)}) // math.gcd({r.randint(4, 30)}, "
                  f"{r.randint(4, 30)})\nprint({n[0] + ' varieties:'!r}, kinds)")


def _class(r: random.Random, n: Names) -> str:
    return _fence(f"class {_ident(n[0]).title().replace('_', '')}:\n    def __init__(self):\n"
                  f"        self.variety = {n[1]!r}\n        self.grams = {r.randint(50, 900)}\n\n"
                  f"items = [{_ident(n[0]).title().replace('_', '')}() for _ in range({r.randint(2, 7)})]")


def _recursion(r: random.Random, n: Names) -> str:
    return _fence(f"def count_{_ident(n[2])}s(n):\n    return 1 if n <= 1 else n + count_{_ident(n[2])}s(n - 1)\n\n"
                  f"print(count_{_ident(n[2])}s({r.randint(3, 8)}))")


def _loop(r: random.Random, n: Names) -> str:
    return _fence(f"stock = 0\nfor day in range({r.randint(3, 10)}):\n    stock += {r.randint(2, 6)}  "
                  f"# new {n[3]} {n[2]}s\nprint(stock)")


def _try_except(r: random.Random, n: Names) -> str:
    return _fence(f"try:\n    ratio = {r.randint(2, 20)} / {r.choice([0, r.randint(2, 5)])}\n"
                  f"except ZeroDivisionError:\n    ratio = {r.randint(1, 9)}  # {n[0]}s per box\nprint(ratio)")


def _lambda(r: random.Random, n: Names) -> str:
    return _fence(f"probability = lambda p: round(p * {r.randint(10, 90)} / 100, 2)\n"
                  f"print(probability(1.0), {f'chance the {n[2]} is {n[3]}'!r})")


def _property(r: random.Random, n: Names) -> str:
    name = _ident(n[2]).title().replace("_", "")
    return _fence(f"class {name}:\n    @property\n    def age_days(self):\n        return {r.randint(2, 60)}\n\n"
                  f"print({name}().age_days)")


def _dict(r: random.Random, n: Names) -> str:
    return _fence(f"origin = {{{n[1]!r}: {r.randint(10, 90)}, {n[3]!r}: {r.randint(10, 90)}}}  # percent\n"
                  f"print(sum(origin.values()))")


def _generator(r: random.Random, n: Names) -> str:
    return _fence(f"sizes = ({_ident(n[0])} ** 2 for {_ident(n[0])} in range({r.randint(3, 9)}))\nprint(sum(sizes))")


SNIPPETS: dict[str, Snippet] = {
    "comprehension": _comprehension, "assignment": _assignment, "def": _def, "math_calls": _math_calls,
    "class": _class, "recursion": _recursion, "loop": _loop, "try_except": _try_except, "lambda": _lambda,
    "property": _property, "dict": _dict, "generator": _generator,
}


class MisleadingPython(CountingTask):
    family = "misleading-python"
    id_prefix = "mp"
    distractor_table = SNIPPETS
    joiner = "\n\n"
