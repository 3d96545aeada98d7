"""Misleading Math: count two objects while distractor sentences bait the model into arithmetic.

"You have one {item1} and one {item2}." + N distractors + "How many different types of {category} do you have?"
The answer is always 2, whatever the distractors say. 10 categories, each with two variety lists; 10 distractor
kinds; the number of distractors per item follows a configurable distribution (default: equal numbers of 1..5).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any, ClassVar

from ..core import Item
from .base import Scoring, Task
from .sampling import check_options, parse_distribution, schedule

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


class CountingTask(Task):
    """The shared frame of misleading-math and misleading-python: two things, N distractors, "how many types?".

    Options: `distractors` - counts per item as "1,2,3,4,5" (equal numbers, the default, like the paper's 2,500
    items), "0" for a control without distractors, or a weights dict {"0": 1, "3": 2}.
    """

    scoring = Scoring.NUMERIC
    default_size = 50
    paper_size = 2500
    id_prefix = "mm"
    distractor_table: ClassVar[dict[str, Distractor]] = {}
    joiner = " "

    def __init__(self, name: str | None = None, **options: Any) -> None:
        super().__init__(name, **options)
        check_options(options, ["distractors"], self.family)
        kinds = len(self.distractor_table)
        self.distribution = parse_distribution(options.get("distractors", "1,2,3,4,5"), "distractors",
                                               allowed=range(kinds + 1))

    def items(self, n: int | None = None, seed: int = 0) -> list[Item]:
        n = self.default_size if n is None else n
        return [self._item(i, count, seed) for i, count in enumerate(schedule(self.distribution, n))]

    def _item(self, index: int, count: int, seed: int) -> Item:
        r = random.Random(f"{self.family}:{seed}:{index}")
        category = r.choice(sorted(CATEGORIES))
        t1, vars1, t2, vars2 = CATEGORIES[category]
        names = (t1, r.choice(vars1), t2, r.choice(vars2))
        kinds = r.sample(sorted(self.distractor_table), count)
        spans = [self.distractor_table[k](r, names) for k in kinds]
        prompt = self.joiner.join([f"You have one {t1} and one {t2}.", *spans,
                                   f"How many different types of {category} do you have?"])
        return Item(
            id=f"{self.id_prefix}-{seed}-{index:05d}", prompt=prompt, answer=2,
            metadata={"category": category, "items": [t1, t2], "varieties": [names[1], names[3]],
                      "distractor_kinds": kinds, "num_distractors": count, "distractor_spans": spans},
        )


class MisleadingMath(CountingTask):
    family = "misleading-math"
    id_prefix = "mm"
    distractor_table = DISTRACTORS
