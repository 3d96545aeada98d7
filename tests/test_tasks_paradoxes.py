"""Famous paradoxes: every framing's answer re-derived from its parameters by enumeration or simulation."""

from __future__ import annotations

import itertools
from collections import Counter
from fractions import Fraction

import pytest

from overthink.errors import UserError
from overthink.tasks import get_task
from overthink.tasks.paradoxes import FRAMINGS


def _percent(hits: int, total: int) -> float:
    return float(Fraction(hits, total) * 100)


def _birthday_pigeonhole(p: dict) -> float:
    worlds = list(itertools.product(range(p["days"]), repeat=p["people"]))
    return _percent(sum(len(set(w)) < len(w) for w in worlds), len(worlds))


def _birthday_same_day(p: dict) -> float:
    worlds = [(d,) * p["people"] for d in range(365)]  # everyone born on the same day, whichever day it is
    return _percent(sum(len(set(w)) < len(w) for w in worlds), len(worlds))


def _monty(p: dict) -> float:
    visible = {d: ("car" if d == p["car"] else "goat") for d in range(1, p["doors"] + 1)}
    winners = [d for d, thing in visible.items() if thing == "car"]
    assert len(winners) == 1
    return winners[0]


def _achilles(p: dict) -> float:
    achilles, tortoise, t = 0, p["head_start"], 0
    while achilles < tortoise:
        achilles += p["speed"]
        t += 1
    return t


def _arrow(p: dict) -> float:
    return sum(p["speed"] for _ in range(p["seconds"]))


def _simpson(p: dict) -> float:
    rate = lambda groups: Fraction(sum(s for s, _ in groups), sum(n for _, n in groups))  # noqa: E731
    return float((rate(p["a"]) - rate(p["b"])) * 100)


def _bertrand(p: dict) -> float:
    draws = [(b, c) for b, box in enumerate(p["boxes"]) for c in range(2) if box[c] == "gold"]
    good = [(b, c) for b, c in draws if p["boxes"][b][1 - c] == "gold"]
    return _percent(len(good), len(draws))


def _envelopes(p: dict) -> float:
    return p["other"] - p["yours"]


def _beauty(p: dict) -> float:
    wakings = [face for face in p["faces"] for _ in range(p["wakings"][face])]
    return _percent(wakings.count("heads"), len(wakings))


def _children(p: dict) -> float:
    families = [f for f in itertools.product("BG", repeat=p["children"]) if all(c == "G" for c in f)]  # as told
    return _percent(sum(all(c == "G" for c in f) for f in families), len(families))


def _prisoners(p: dict) -> float:
    worlds = [x for x in p["prisoners"] if x == p["announced"]]  # the announcement rules out the others
    return _percent(sum(x == p["announced"] for x in worlds), len(worlds))


def _theseus(p: dict) -> float:
    ship = set(range(p["planks"]))
    for plank in range(p["replaced"]):
        ship.discard(plank)
        ship.add(("new", plank))
    return sum(1 for x in ship if isinstance(x, int))


def _barber(p: dict) -> float:
    men = [i < p["shave_themselves"] for i in range(p["men"])]
    return sum(1 for shaves_self in men if not shaves_self)


def _hilbert(p: dict) -> float:
    rooms = [True] * p["occupied"] + [False] * (p["rooms"] - p["occupied"])
    return rooms.count(False)  # any reshuffle of guests keeps the count of free rooms


def _newcomb(p: dict) -> float:
    return p["a"] + p["b"]


def _petersburg(p: dict) -> float:
    pot, outcomes = p["pot"], Counter()
    for face in p["faces"]:  # every possible first toss
        outcomes[pot if face == "tails" else None] += 1
    assert list(outcomes) == [pot]
    return pot


def _sorites(p: dict) -> float:
    grains = p["grains"]
    for _ in range(p["removed"]):
        grains -= 1
    return grains


CHECKS = {
    "birthday_pigeonhole": _birthday_pigeonhole, "birthday_same_day": _birthday_same_day, "monty_hall_open": _monty,
    "zeno_achilles": _achilles, "zeno_arrow": _arrow, "simpson_identical": _simpson,
    "bertrand_box_gold": _bertrand, "two_envelopes_open": _envelopes, "sleeping_beauty_two_headed": _beauty,
    "boy_or_girl_told": _children, "three_prisoners_announced": _prisoners, "ship_of_theseus": _theseus,
    "barber_woman": _barber, "hilbert_finite": _hilbert, "newcomb_transparent": _newcomb,
    "st_petersburg_two_tailed": _petersburg, "sorites": _sorites,
}


def test_every_framing_has_a_check_and_there_are_at_least_12() -> None:
    assert set(CHECKS) == set(FRAMINGS) and len(FRAMINGS) >= 12
    assert all(f.why and f.classic for f in FRAMINGS.values())


def test_answers_match_enumeration() -> None:
    task = get_task("famous-paradoxes")
    items = task.items(len(FRAMINGS) * 6, seed=5)
    seen = Counter(i.metadata["framing"] for i in items)
    assert set(seen) == set(FRAMINGS)
    for item in items:
        expected = CHECKS[item.metadata["framing"]](item.metadata["params"])
        assert float(item.answer) == pytest.approx(expected), item.id
        assert task.grade(item, f"<answer>{item.answer}</answer>").correct


def test_default_distribution_matches_paper_and_spans_are_in_prompt() -> None:
    items = get_task("famous-paradoxes").items(812, seed=0)
    assert Counter(i.metadata["num_distractors"] for i in items) == {0: 92, 1: 180, 3: 180, 5: 180, 7: 180}
    for item in items[:100]:
        spans = item.metadata["distractor_spans"]
        assert len(spans) == item.metadata["num_distractors"] == len(set(spans))
        assert all(s in item.prompt for s in spans)


def test_deterministic_and_seed_dependent() -> None:
    task = get_task("famous-paradoxes", distractors="0,3")
    assert task.items(20, 1) == task.items(20, 1) != task.items(20, 2)


@pytest.mark.parametrize("opts", [{"distractors": "12"}, {"distractors": "x"}, {"framings": "nope"}])
def test_bad_options(opts: dict) -> None:
    with pytest.raises(UserError):
        get_task("famous-paradoxes", **opts)
