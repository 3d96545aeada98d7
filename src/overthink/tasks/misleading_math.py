"""Misleading Math: count two objects while distractor sentences bait the model into arithmetic.

"You have one {item1} and one {item2}." + N distractors + "How many different types of {category} do you have?"
The answer is always 2, whatever the distractors say.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from ..core import Item
from .base import Scoring, Task

# category -> (thing 1, its varieties, thing 2, its varieties)
CATEGORIES: dict[str, tuple[str, list[str], str, list[str]]] = {
    "fruit": ("apple", ["Red Delicious", "Granny Smith", "Fuji", "Honeycrisp", "Gala"],
              "orange", ["Navel", "Valencia", "Cara Cara", "blood", "Seville"]),
    "plants": ("fern", ["Boston", "maidenhair", "staghorn", "bird's nest", "sword"],
               "cactus", ["barrel", "saguaro", "prickly pear", "Christmas", "bunny ear"]),
    "books": ("novel", ["mystery", "romance", "science-fiction", "historical", "fantasy"],
              "cookbook", ["baking", "vegan", "Italian", "grilling", "Thai"]),
    "instruments": ("guitar", ["acoustic", "electric", "classical", "bass", "twelve-string"],
                    "violin", ["baroque", "electric", "student", "Stradivarius-copy", "five-string"]),
    "pets": ("cat", ["Siamese", "Persian", "Maine Coon", "Bengal", "Sphynx"],
             "dog", ["Labrador", "Beagle", "Poodle", "Border Collie", "Dachshund"]),
    "clothing": ("jacket", ["denim", "leather", "puffer", "bomber", "rain"],
                 "scarf", ["silk", "wool", "cashmere", "cotton", "knitted"]),
    "beverages": ("tea", ["green", "black", "oolong", "jasmine", "chamomile"],
                  "coffee", ["espresso", "latte", "Americano", "cold-brew", "mocha"]),
    "desserts": ("cake", ["chocolate", "carrot", "cheese", "sponge", "red velvet"],
                 "pie", ["apple", "pecan", "pumpkin", "cherry", "key lime"]),
    "games": ("board game", ["chess", "Monopoly", "Scrabble", "Catan", "Risk"],
              "card game", ["poker", "bridge", "Uno", "solitaire", "rummy"]),
    "cutlery": ("fork", ["dinner", "salad", "dessert", "oyster", "serving"],
                "spoon", ["soup", "tea", "dessert", "serving", "measuring"]),
}

_PEOPLE = ["your aunt", "a friend", "your neighbour", "a shopkeeper", "your cousin", "a colleague"]
_PLACES = ["Spain", "Chile", "Japan", "Kenya", "Canada", "Italy", "Peru", "Norway"]
_MATERIALS = ["cardboard", "glass", "bamboo", "tin", "recycled plastic", "oak"]
_COLOURS = ["deep red", "pale green", "golden", "bluish", "bright orange", "dark brown"]

Distractor = Callable[[random.Random, tuple[str, str, str, str]], str]


def _probability(r: random.Random, n: tuple[str, str, str, str]) -> str:
    t1, v1, t2, v2 = n
    return (f"You are not sure exactly which kinds they are, but a riddle says there is a {r.randint(10, 90)}% "
            f"probability that they are a {v1} {t1} and a {v2} {t2}.")


def _origin(r: random.Random, n: tuple[str, str, str, str]) -> str:
    return (f"The {n[0]} was made or grown in {r.choice(_PLACES)}, where {r.randint(10, 90)}% of all of them "
            f"come out as {n[1]}.")


def _weight(r: random.Random, n: tuple[str, str, str, str]) -> str:
    return f"The {n[0]} weighs {r.randint(50, 900)} grams and the {n[2]} weighs {r.randint(50, 900)} grams."


def _price(r: random.Random, n: tuple[str, str, str, str]) -> str:
    return f"The {n[0]} cost ${r.randint(2, 60)}.{r.randint(0, 99):02d} and the {n[2]} cost ${r.randint(2, 60)}."


def _time(r: random.Random, n: tuple[str, str, str, str]) -> str:
    return f"You got the {n[2]} {r.randint(2, 30)} days after the {n[0]}, {r.randint(1, 12)} months ago."


def _location(r: random.Random, n: tuple[str, str, str, str]) -> str:
    return f"The {n[0]} is kept {r.randint(2, 40)} metres from the {n[2]}, on shelf number {r.randint(1, 9)}."


def _recommendation(r: random.Random, n: tuple[str, str, str, str]) -> str:
    return (f"{r.choice(_PEOPLE).capitalize()} recommended the {n[2]}, rating it {r.randint(3, 10)} out of 10 "
            f"after trying {r.randint(3, 15)} others.")


def _material(r: random.Random, n: tuple[str, str, str, str]) -> str:
    return (f"The {n[0]} came in a {r.choice(_MATERIALS)} box that could hold {r.randint(3, 12)} of them, "
            f"and {r.randint(2, 8)} such boxes were on sale.")


def _colour(r: random.Random, n: tuple[str, str, str, str]) -> str:
    return f"The {n[2]} has a {r.choice(_COLOURS)} tint, which only {r.randint(5, 60)}% of {n[3]} ones have."


def _others(r: random.Random, n: tuple[str, str, str, str]) -> str:
    return (f"{r.choice(_PEOPLE).capitalize()} owns {r.randint(3, 9)} {n[0]}s and {r.randint(3, 9)} {n[2]}s "
            f"of {r.randint(3, 7)} different kinds.")


DISTRACTORS: dict[str, Distractor] = {
    "probability": _probability, "origin": _origin, "weight": _weight, "price": _price, "time": _time,
    "location": _location, "recommendation": _recommendation, "material": _material, "colour": _colour,
    "others": _others,
}


def parse_counts(value: Any) -> list[int]:
    """Distractor counts from "1,2,3", [1, 2] or 3."""
    if isinstance(value, int):
        return [value]
    if isinstance(value, str):
        return [int(v) for v in value.split(",") if v.strip()]
    return [int(v) for v in value]


class MisleadingMath(Task):
    family = "misleading-math"
    scoring = Scoring.NUMERIC
    default_size = 50

    def items(self, n: int | None = None, seed: int = 0) -> list[Item]:
        counts = parse_counts(self.options.get("distractors", [0, 1, 2, 3, 4, 5]))
        n = self.default_size if n is None else n
        # Equal numbers per distractor count, interleaved so any prefix stays balanced.
        return [self._item(i, counts[i % len(counts)], seed) for i in range(n)]

    def _item(self, index: int, count: int, seed: int) -> Item:
        r = random.Random(f"{self.family}:{seed}:{index}")
        category = r.choice(sorted(CATEGORIES))
        t1, vars1, t2, vars2 = CATEGORIES[category]
        names = (t1, r.choice(vars1), t2, r.choice(vars2))
        kinds = r.sample(sorted(DISTRACTORS), count)
        sentences = [DISTRACTORS[k](r, names) for k in kinds]
        prompt = " ".join([f"You have one {t1} and one {t2}.", *sentences,
                           f"How many different types of {category} do you have?"])
        return Item(
            id=f"mm-{seed}-{index:05d}", prompt=prompt, answer=2,
            metadata={"category": category, "items": [t1, t2], "distractor_kinds": kinds,
                      "num_distractors": count, "distractor_spans": sentences},
        )
