"""Zebra puzzles: every puzzle re-solved by brute force (independent of overthink's solver), unique, minimal."""

from __future__ import annotations

import itertools
import random

import pytest

from overthink.errors import UserError
from overthink.tasks import get_task
from overthink.tasks.zebra import clue_text, solve_metadata
from overthink.tasks.zebra.generate import generate


def _holds(clue: dict, pos: dict) -> bool | None:
    """Truth of a structured clue under a partial assignment {(attr, value): position 1..N}; None if undecided."""
    keys = [tuple(clue[k]) for k in ("a", "b", "c") if k in clue]
    if any(k not in pos for k in keys):
        return None
    p = [pos[k] for k in keys]
    n = pos["__n__"]
    t = clue["type"]
    return {
        "same": lambda: p[0] == p[1], "not_same": lambda: p[0] != p[1], "left_of": lambda: p[0] < p[1],
        "immediately_left_of": lambda: p[0] + 1 == p[1], "next_to": lambda: abs(p[0] - p[1]) == 1,
        "between": lambda: p[1] < p[0] < p[2], "at_position": lambda: p[0] == clue.get("position"),
        "not_at_position": lambda: p[0] != clue.get("position"), "at_end": lambda: p[0] in (1, n),
    }[t]()


def brute_force(meta: dict, clues: list[dict], limit: int = 2) -> list[dict]:
    """All assignments (up to limit) satisfying `clues`: permutations per attribute, pruning on decided clues."""
    n = meta["people"]
    attrs = list(meta["solution"])
    values = {a: sorted(meta["solution"][a]) for a in attrs}
    found: list[dict] = []

    def rec(k: int, pos: dict) -> None:
        if len(found) >= limit:
            return
        if k == len(attrs):
            found.append({a: [v for p in range(1, n + 1) for v in values[a] if pos[(a, v)] == p] for a in attrs})
            return
        for perm in itertools.permutations(range(1, n + 1)):
            trial = dict(pos)
            trial.update({(attrs[k], v): perm[i] for i, v in enumerate(values[attrs[k]])})
            if all(_holds(c, trial) is not False for c in clues):
                rec(k + 1, trial)

    rec(0, {"__n__": n})
    return found


@pytest.mark.parametrize("grid", ["3x3", "3x4", "4x3", "4x4"])
def test_small_puzzles_unique_and_minimal_by_brute_force(grid: str) -> None:
    items = get_task("zebra", grids=grid).items(3, seed=7)
    for item in items:
        meta = item.metadata
        clues = meta["clues"]
        distractors = set(meta["distractor_clue_numbers"])
        sols = brute_force(meta, clues)
        assert sols == [meta["solution"]]  # exactly one solution, the recorded one
        attr, value = meta["question"]
        assert meta["solution"][attr].index(value) + 1 == item.answer
        assert "Question: What position is" in item.prompt
        for i, c in enumerate(clues, 1):
            assert f"Clue {i}: {clue_text(c)}" in item.prompt
        minimal = [c for i, c in enumerate(clues, 1) if i not in distractors]
        assert len(minimal) == meta["num_minimal_clues"]
        assert brute_force(meta, minimal) == [meta["solution"]]  # distractors are redundant
        for drop in range(len(minimal)):  # removing any minimal clue admits a second solution
            rest = minimal[:drop] + minimal[drop + 1:]
            assert len(brute_force(meta, rest)) == 2, (item.id, minimal[drop])


def test_own_solver_agrees_and_metadata_is_complete() -> None:
    task = get_task("zebra", grids="5x5,6x4", distractor_clues=3)
    for item in task.items(4, seed=1):
        meta = item.metadata
        assert solve_metadata(meta) == [meta["solution"]]
        assert meta["num_distractor_clues"] == 3 and len(meta["distractor_spans"]) == 3
        assert meta["num_clues"] == meta["num_minimal_clues"] + 3 == len(meta["clues"])
        assert meta["difficulty"]["propagations"] > 0
        assert 1 <= item.answer <= meta["people"]
        assert "Some of clues provided might be irrelevant" in item.prompt
        for span in meta["distractor_spans"]:
            assert span in item.prompt


def test_eight_by_eight_has_no_distractors_by_default_and_is_unique() -> None:
    item = get_task("zebra", grids="8x8").items(1, seed=3)[0]
    assert item.metadata["num_distractor_clues"] == 0
    assert "irrelevant" not in item.prompt
    assert solve_metadata(item.metadata) == [item.metadata["solution"]]


def test_grid_schedule_deterministic_and_seed_dependent() -> None:
    task = get_task("zebra", grids="3x3:1,4x3:1")
    a, b, c = task.items(4, 0), task.items(4, 0), task.items(4, 1)
    assert a == b and a != c
    assert [i.metadata["grid_size"] for i in a] == ["3x3", "4x3", "3x3", "4x3"]
    assert len({i.id for i in a}) == 4


def test_generate_rejects_nothing_true_and_scores_answers() -> None:
    task = get_task("zebra", grids="4x4")
    item = task.items(1, 2)[0]
    assert task.grade(item, f"<answer>{item.answer}</answer>").correct
    assert not task.grade(item, f"<answer>{item.answer % 4 + 1}</answer>").correct
    assert task.grade(item, "position three").status == "unparsed"
    pz = generate(5, 3, random.Random(0))
    assert len(pz.solution) == 15 and pz.clues


@pytest.mark.parametrize("opts", [{"grids": "9x9"}, {"grids": "2x5"}, {"grids": "ax5"},
                                  {"distractor_clues": "many"}, {"distractor_clues": -1}, {"size": 5}])
def test_bad_options_raise_user_error(opts: dict) -> None:
    with pytest.raises(UserError):
        get_task("zebra", **opts)


def test_impossible_distractor_count_is_a_user_error() -> None:
    with pytest.raises(UserError, match="distractor_clues"):
        get_task("zebra", grids="3x3", distractor_clues=5000).items(1)
