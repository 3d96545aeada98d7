"""Famous Paradoxes: trivial questions dressed in a famous paradox's framing.

Each framing tells the classic set-up with a twist that makes the answer trivial and checkable (every door is
open, the coin has two heads, the tortoise never moves, ...). A model that pattern-matches the famous paradox
answers the famous answer; one that reads the question answers the trivial one. Each framing states *why* its
answer is what it is (`metadata["why"]`), and keeps its parameters (`metadata["params"]`) so the tests can re-derive
the answer by enumeration. Distractors (irrelevant sentences, one of them the paradox's classic result) come in
counts 0, 1, 3, 5, 7 by default, weighted like the paper's 812 items (92 without, 180 each with 1, 3, 5, 7).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..core import Item
from ..errors import UserError
from .base import Scoring, Task
from .sampling import check_options, parse_distribution, schedule

Built = tuple[str, str, float, dict[str, Any]]  # scenario, question, answer, params


@dataclass(frozen=True)
class Framing:
    paradox: str
    subject: str  # a noun phrase the generic distractors talk about
    classic: str  # the famous result, used as one distractor
    why: str
    build: Callable[[random.Random], Built]


def _birthday(r: random.Random) -> Built:
    days = r.randint(2, 4)
    people = days + r.randint(1, 2)
    return (f"On a small planet a year has only {days} days. A room holds {people} people, each born on that planet.",
            "What is the probability, in percent, that at least two of them share a birthday?", 100,
            {"days": days, "people": people})


def _birthday_same(r: random.Random) -> Built:
    n = r.randint(2, 40)
    return (f"There are {n} people in a room, and every one of them was born on the same day of the year.",
            "What is the probability, in percent, that at least two people in the room share a birthday?", 100,
            {"people": n})


def _monty(r: random.Random) -> Built:
    doors = r.randint(3, 7)
    car = r.randint(1, doors)
    return (f"On a game show there are {doors} doors. The host has opened every one of them: behind door {car} you "
            f"can see a car, and behind each of the others a goat.",
            "Which door number should you choose to win the car?", car, {"doors": doors, "car": car})


def _achilles(r: random.Random) -> Built:
    v = r.randint(2, 9)
    t = r.randint(3, 20)
    return (f"Achilles races a tortoise that starts {v * t} metres ahead. The tortoise falls asleep at the start and "
            f"never moves. Achilles runs at a steady {v} metres per second.",
            "After how many seconds does Achilles reach the tortoise?", t, {"head_start": v * t, "speed": v})


def _arrow(r: random.Random) -> Built:
    t = r.randint(2, 60)
    return ("An arrow lies on a table. Nobody touches it and it is never shot.",
            f"How many metres does the arrow travel in the next {t} seconds?", 0, {"seconds": t, "speed": 0})


def _simpson(r: random.Random) -> Built:
    n1, n2 = r.randint(20, 90), r.randint(20, 90)
    s1, s2 = r.randint(1, n1 - 1), r.randint(1, n2 - 1)
    return (f"Two treatments were tested on mild and on severe cases. Each treatment was given to {n1} mild cases "
            f"with {s1} recoveries and to {n2} severe cases with {s2} recoveries: the counts are identical.",
            "By how many percentage points does treatment A's overall recovery rate exceed treatment B's?", 0,
            {"a": [[s1, n1], [s2, n2]], "b": [[s1, n1], [s2, n2]]})


def _bertrand(r: random.Random) -> Built:
    boxes = r.randint(3, 5)
    return (f"There are {boxes} boxes, and each box holds two gold coins. You pick a box at random and draw a coin; "
            f"it is gold.", "What is the probability, in percent, that the other coin in the same box is gold?",
            100, {"boxes": [["gold", "gold"]] * boxes})


def _envelopes(r: random.Random) -> Built:
    a = r.choice([10, 20, 40, 50, 100, 200])
    b = r.choice([a // 2, a * 2])
    return (f"You are given one of two envelopes, and one holds twice as much as the other. Both are opened: yours "
            f"holds ${a} and the other holds ${b}.", "How many dollars do you gain by switching envelopes?",
            b - a, {"yours": a, "other": b})


def _beauty(r: random.Random) -> Built:
    return ("Sleeping Beauty is put to sleep and a fair coin is tossed; she is woken once if it lands heads and twice "
            "(with her memory erased) if tails. The coin used has heads on both sides, and she knows it.",
            "When she is woken, what should her credence be, in percent, that the coin landed heads?", 100,
            {"faces": ["heads", "heads"], "wakings": {"heads": 1, "tails": 2}})


def _children(r: random.Random) -> Built:
    k = r.randint(2, 4)
    all_k = "both" if k == 2 else f"all {k}"
    return (f"Mr. Smith has {k} children. He tells you truthfully that {all_k} of them are girls.",
            f"What is the probability, in percent, that {all_k} of his children are girls?", 100, {"children": k})


def _prisoners(r: random.Random) -> Built:
    names = ["Adam", "Bruno", "Carl"]
    pardoned = r.choice(names)
    return (f"Three prisoners, {', '.join(names[:2])} and {names[2]}, know one of them will be pardoned. The "
            f"governor then announces publicly that {pardoned} is the one pardoned.",
            f"What is the probability, in percent, that {pardoned} is pardoned?", 100,
            {"prisoners": names, "announced": pardoned})


def _theseus(r: random.Random) -> Built:
    planks = r.randint(50, 300)
    replaced = r.randint(5, planks - 5)
    return (f"The ship of Theseus has {planks} planks. Over the years {replaced} different planks are replaced with "
            f"new ones.", "How many of the original planks are still on the ship?", planks - replaced,
            {"planks": planks, "replaced": replaced})


def _barber(r: random.Random) -> Built:
    men = r.randint(20, 200)
    own = r.randint(1, men - 1)
    return (f"In a village of {men} men, the barber - a woman - shaves exactly those men who do not shave "
            f"themselves. {own} of the men shave themselves.", "How many men does the barber shave?", men - own,
            {"men": men, "shave_themselves": own})


def _hilbert(r: random.Random) -> Built:
    rooms = r.randint(10, 200)
    occupied = r.randint(1, rooms)
    return (f"A hotel has {rooms} rooms, a finite number, and {occupied} of them are occupied, one guest per room. "
            f"The manager may move guests between rooms but never puts two guests in one room.",
            "How many new guests can be given a room of their own?", rooms - occupied,
            {"rooms": rooms, "occupied": occupied})


def _newcomb(r: random.Random) -> Built:
    b = r.choice([0, 1_000_000])
    return (f"In Newcomb's game both boxes are transparent. Box A visibly holds $1,000 and box B visibly holds "
            f"${b:,}.", "If you take both boxes, how many dollars do you get?", 1000 + b, {"a": 1000, "b": b})


def _petersburg(r: random.Random) -> Built:
    pot = r.choice([1, 2, 4, 5, 10])
    return (f"In the St. Petersburg game the pot starts at ${pot} and doubles every time the coin lands heads; the "
            f"game ends at the first tails and you win the pot. The coin has tails on both sides.",
            "How many dollars do you win?", pot, {"pot": pot, "faces": ["tails", "tails"]})


def _sorites(r: random.Random) -> Built:
    grains = r.randint(1000, 10000)
    removed = r.randint(1, 999)
    return (f"A heap holds {grains} grains of sand. You remove {removed} grains, one at a time.",
            "How many grains are left in the heap?", grains - removed, {"grains": grains, "removed": removed})


FRAMINGS: dict[str, Framing] = {
    "birthday_pigeonhole": Framing("birthday paradox", "the room", "In a 365-day year, 23 people have a 50.7% "
        "chance of a shared birthday.", "More people than days in the year: by the pigeonhole principle two must "
        "share a birthday.", _birthday),
    "birthday_same_day": Framing("birthday paradox", "the room", "With 70 people the chance of a shared birthday "
        "exceeds 99.9%.", "Everyone shares the same birthday, and there are at least two people.", _birthday_same),
    "monty_hall_open": Framing("Monty Hall problem", "the game show", "Switching doors wins the car 2/3 of the time "
        "in the classic game.", "Every door is open; the car is visibly behind one door.", _monty),
    "zeno_achilles": Framing("Zeno's Achilles and the tortoise", "the race", "Zeno argued Achilles must first reach "
        "where the tortoise was, infinitely often.", "The tortoise never moves: distance / speed.", _achilles),
    "zeno_arrow": Framing("Zeno's arrow paradox", "the arrow", "Zeno argued a flying arrow is motionless at every "
        "instant.", "The arrow is never shot: speed 0 for any time.", _arrow),
    "simpson_identical": Framing("Simpson's paradox", "the trial", "Aggregated rates can reverse the direction seen "
        "in every subgroup.", "Identical counts in every group give identical overall rates.", _simpson),
    "bertrand_box_gold": Framing("Bertrand's box paradox", "the boxes", "In the classic version the answer is 2/3, "
        "not 1/2.", "Every box holds only gold coins, so the other coin is always gold.", _bertrand),
    "two_envelopes_open": Framing("two envelopes problem", "the envelopes", "The naive argument says switching gains "
        "25% on average.", "Both amounts are visible: the gain is their difference.", _envelopes),
    "sleeping_beauty_two_headed": Framing("Sleeping Beauty problem", "the experiment", "Thirders say 1/3 and halfers "
        "say 1/2 for a fair coin.", "A two-headed coin always lands heads.", _beauty),
    "boy_or_girl_told": Framing("boy or girl paradox", "the family", "Knowing at least one of two children is a girl "
        "gives 1/3 for two girls.", "He states all children are girls; the event is certain.", _children),
    "three_prisoners_announced": Framing("three prisoners problem", "the prison", "The classic answer for the asking "
        "prisoner stays 1/3.", "The pardon is announced publicly; it is certain.", _prisoners),
    "ship_of_theseus": Framing("ship of Theseus", "the ship", "Philosophers have debated for 2,500 years whether it "
        "is the same ship.", "Originals left = planks - replaced planks (each replaced once).", _theseus),
    "barber_woman": Framing("barber paradox", "the village", "Russell used the barber to illustrate a set that "
        "contains itself only if it does not.", "The barber is a woman, so no contradiction: she shaves every man "
        "who does not shave himself.", _barber),
    "hilbert_finite": Framing("Hilbert's hotel", "the hotel", "An infinite full hotel can always take one more "
        "guest.", "A finite hotel has exactly rooms - occupied free rooms; moving guests frees none.", _hilbert),
    "newcomb_transparent": Framing("Newcomb's paradox", "the game", "The predictor is said to be right 99% of the "
        "time.", "Both boxes are visible: taking both gives the sum.", _newcomb),
    "st_petersburg_two_tailed": Framing("St. Petersburg paradox", "the game", "The classic game has an infinite "
        "expected value.", "A two-tailed coin ends the game at the first toss: you win the starting pot.",
                                        _petersburg),
    "sorites": Framing("sorites paradox", "the heap", "Removing one grain never seems to turn a heap into a "
        "non-heap.", "Grains left = grains - grains removed.", _sorites),
}

_GENERIC: dict[str, Callable[[random.Random, str], str]] = {
    "probability": lambda r, s: f"A riddle claims there is a {r.randint(10, 90)}% chance that {s} was arranged "
                                f"by someone else.",
    "age": lambda r, s: f"The story of {s} was first told {r.randint(12, 300)} years ago.",
    "price": lambda r, s: f"A ticket to see {s} costs ${r.randint(2, 60)}.{r.randint(0, 99):02d} per person.",
    "time": lambda r, s: f"Everything about {s} happened on a Tuesday, {r.randint(2, 11)} weeks ago.",
    "crowd": lambda r, s: f"{r.randint(3, 400)} people heard about {s}, and {r.randint(5, 95)}% of them "
                          f"guessed wrong.",
    "weather": lambda r, s: f"It was {r.randint(-5, 35)} degrees Celsius outside {s} that day.",
    "recommendation": lambda r, s: f"A professor rated {s} {r.randint(3, 10)} out of 10 as a teaching example.",
    "distance": lambda r, s: f"The nearest city is {r.randint(2, 900)} kilometres from {s}.",
    "colour": lambda r, s: f"The walls near {s} are painted in {r.randint(2, 7)} different colours.",
}


class FamousParadoxes(Task):
    family = "famous-paradoxes"
    scoring = Scoring.NUMERIC
    default_size = 68
    paper_size = 812

    def __init__(self, name: str | None = None, **options: Any) -> None:
        super().__init__(name, **options)
        check_options(options, ["distractors", "framings"], self.family)
        self.distribution = parse_distribution(options.get("distractors", "0:92,1:180,3:180,5:180,7:180"),
                                               "distractors", allowed=range(len(_GENERIC) + 2))
        chosen = options.get("framings")
        names = sorted(FRAMINGS) if chosen is None else [f.strip() for f in str(chosen).split(",") if f.strip()]
        bad = [f for f in names if f not in FRAMINGS]
        if bad or not names:
            raise UserError(f"option 'framings': unknown {bad or chosen!r}; known: {', '.join(sorted(FRAMINGS))}")
        self.framings = names

    def items(self, n: int | None = None, seed: int = 0) -> list[Item]:
        n = self.default_size if n is None else n
        return [self._item(i, c, seed) for i, c in enumerate(schedule(self.distribution, n))]

    def _item(self, index: int, count: int, seed: int) -> Item:
        r = random.Random(f"{self.family}:{seed}:{index}")
        key = self.framings[index % len(self.framings)]
        fr = FRAMINGS[key]
        scenario, question, answer, params = fr.build(r)
        pool = ["classic", *sorted(_GENERIC)]
        kinds = ["classic"] if count == 1 and r.random() < 0.5 else []
        kinds += r.sample([k for k in pool if k not in kinds], count - len(kinds))
        r.shuffle(kinds)
        spans = [fr.classic if k == "classic" else _GENERIC[k](r, fr.subject) for k in kinds]
        prompt = " ".join([scenario, *spans, question])
        return Item(id=f"fp-{seed}-{index:05d}", prompt=prompt, answer=answer,
                    metadata={"framing": key, "paradox": fr.paradox, "why": fr.why, "params": params,
                              "num_distractors": count, "distractor_kinds": kinds, "distractor_spans": spans})
