"""Generate zebra puzzles with a proven unique solution and a minimal clue set.

1. Draw a random solution (one permutation per attribute).
2. Draw random clues true in that solution; keep a clue only when it narrows the propagated domains, until
   propagation alone fixes every position (so the clue set is known to have exactly one solution).
3. Minimise: in random order, drop each clue whose removal still leaves exactly one solution (proved by full
   search). One pass gives a minimal set: removing any remaining clue admits a second solution, because a clue that
   was needed for a superset is needed for every subset.
4. Optionally add distracting clues: true in the solution, not in the minimal set, hence redundant.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ...errors import UserError
from .solver import Clue, Problem, Stats, count_solutions, propagate_all

# Relative frequencies of clue types in the drawing step (BBEH puzzles lean on "is", "is not" and relations).
CLUE_WEIGHTS: dict[str, int] = {
    "same": 6, "not_same": 3, "left_of": 3, "immediately_left_of": 3, "next_to": 3, "between": 2,
    "at_position": 1, "not_at_position": 1, "at_end": 1,
}


@dataclass
class Puzzle:
    n: int
    m: int
    attributes: list[str]  # attribute names, in entity order
    solution: list[int]  # entity -> 0-based position
    clues: list[Clue]  # the minimal set
    distractors: list[Clue]
    stats: Stats  # work to solve the minimal set from scratch


def random_clue(r: random.Random, pos: list[int], n: int, m: int) -> Clue | None:
    """A random clue true in `pos`, or None when the drawn shape is impossible (the caller draws again)."""
    kind = r.choices(list(CLUE_WEIGHTS), weights=list(CLUE_WEIGHTS.values()))[0]
    by_pos = {}
    for e, p in enumerate(pos):
        by_pos.setdefault(p, []).append(e)
    a = r.randrange(n * m)
    pa = pos[a]
    if kind in ("at_position", "not_at_position", "at_end"):
        if kind == "at_position":
            return Clue(kind, a, position=pa)
        if kind == "at_end":
            return Clue(kind, a) if pa in (0, n - 1) else None
        return Clue(kind, a, position=r.choice([q for q in range(n) if q != pa]))
    others = [e for e in range(n * m) if e // n != a // n]  # other attributes only: same-attribute pairs are trivial
    if kind == "same":
        return Clue(kind, a, r.choice([e for e in by_pos[pa] if e != a]))
    if kind == "not_same":
        return Clue(kind, a, r.choice([e for e in others if pos[e] != pa]))
    if kind == "left_of":
        cand = [e for e in range(n * m) if pos[e] > pa]
        return Clue(kind, a, r.choice(cand)) if cand else None
    if kind == "immediately_left_of":
        return Clue(kind, a, r.choice(by_pos[pa + 1])) if pa + 1 < n else None
    if kind == "next_to":
        cand = [e for q in (pa - 1, pa + 1) if 0 <= q < n for e in by_pos[q]]
        return Clue(kind, a, r.choice(cand))
    left = [e for e in range(n * m) if pos[e] < pa]
    right = [e for e in range(n * m) if pos[e] > pa]
    return Clue("between", a, r.choice(left), r.choice(right)) if left and right else None


def _draw_until_solved(r: random.Random, pos: list[int], n: int, m: int) -> list[Clue]:
    """Clues that each narrow the propagated domains, until propagation alone pins every entity."""
    clues: list[Clue] = []
    d = list(Problem(n, m, []).init)
    stats = Stats()
    while any(x & (x - 1) for x in d):
        clue = random_clue(r, pos, n, m)
        if clue is None:
            continue
        trial = Problem(n, m, clues + [clue])
        nd = propagate_all(trial, [x & y for x, y in zip(d, trial.init)], stats)
        if nd is None:
            raise AssertionError("a clue true in the solution made the puzzle inconsistent")  # solver bug
        if nd != d:
            clues.append(clue)
            d = nd
    return clues


def _unique(n: int, m: int, clues: list[Clue]) -> bool:
    p = Problem(n, m, clues)
    d = propagate_all(p)
    if d is not None and not any(x & (x - 1) for x in d):
        return True  # propagation alone pinned everything: one solution, no search needed
    return count_solutions(p, 2)[0] == 1


def minimise(r: random.Random, n: int, m: int, clues: list[Clue]) -> list[Clue]:
    """Drop clues (random order) while the rest still has exactly one solution."""
    kept = list(clues)
    order = list(range(len(kept)))
    r.shuffle(order)
    dropped: set[int] = set()
    for i in order:
        rest = [c for j, c in enumerate(kept) if j != i and j not in dropped]
        if _unique(n, m, rest):
            dropped.add(i)
    return [c for j, c in enumerate(kept) if j not in dropped]


def generate(n: int, m: int, r: random.Random, distractor_clues: int = 0,
             attributes: list[str] | None = None) -> Puzzle:
    """One puzzle on an n x m grid (n people, m attributes) with `distractor_clues` redundant true clues."""
    from .vocab import ATTRIBUTES

    attrs = attributes or r.sample(sorted(ATTRIBUTES), m)
    pos = [p for _ in range(m) for p in r.sample(range(n), n)]
    clues = minimise(r, n, m, _draw_until_solved(r, pos, n, m))
    stats = Stats()
    count, sols = count_solutions(Problem(n, m, clues), 2, stats)
    if count != 1 or sols[0] != pos:
        raise AssertionError("generated puzzle is not uniquely solvable")  # a bug, never user input
    return add_distractors(Puzzle(n, m, attrs, pos, clues, [], stats), r, distractor_clues)


def add_distractors(pz: Puzzle, r: random.Random, count: int) -> Puzzle:
    """`count` distinct true clues outside the minimal set (redundant, since the set already has one solution)."""
    seen = set(pz.clues)
    extra: list[Clue] = []
    misses = 0
    while len(extra) < count and misses < 3000:  # 3000 draws in a row with nothing new: the pool is exhausted
        clue = random_clue(r, pz.solution, pz.n, pz.m)
        if clue is not None and clue not in seen:
            seen.add(clue)
            extra.append(clue)
            misses = 0
        else:
            misses += 1
    if len(extra) < count:
        raise UserError(f"option 'distractor_clues': could not find {count} distinct redundant clues for a "
                        f"{pz.n}x{pz.m} puzzle; ask for fewer")
    return Puzzle(pz.n, pz.m, pz.attributes, pz.solution, pz.clues, extra, pz.stats)

__all__ = ["Puzzle", "add_distractors", "generate", "minimise", "random_clue"]
