"""Zebra puzzles in the BBEH wording, generated with a proven unique solution and a minimal clue set.

Options: `grids` - "5x5,6x6,7x7,8x8" (the default; equal numbers) or with weights "5x5:40,8x8:50"; people and
attributes each in 3..8. `distractor_clues` - "auto" (the default: about 30 % extra redundant clues on grids below
8 people, none on 8, like BBEH), or a fixed number.

Metadata per item (verify a puzzle without parsing English: rebuild `clues` and solve):
- `grid_size` "NxM", `people`, `attributes`, `num_clues` (shown), `num_minimal_clues`, `num_distractor_clues`,
  `distractor_clue_numbers` (1-based clue numbers), `distractor_spans` (their sentences);
- `difficulty`: {"search_nodes", "propagations"} the solver spent proving the minimal set has one solution;
- `solution`: {attribute: [value at position 1, ..., value at position N]};
- `clues`: in the order shown, each {"type", "a": [attribute, value], ...}:
  same / not_same / left_of (a somewhere left of b) / immediately_left_of / next_to take "a" and "b";
  between takes "a", "b", "c" meaning position(b) < position(a) < position(c);
  at_position / not_at_position take "a" and "position" (1-based); at_end takes "a";
- `question`: [attribute, value] of the person asked about; the answer is their 1-based position.
"""

from __future__ import annotations

import random
from typing import Any

from ...core import Item
from ...errors import UserError
from ..base import Scoring, Task
from ..sampling import check_options, parse_distribution, schedule
from .generate import Puzzle, add_distractors, generate
from .solver import Clue, Problem, count_solutions
from .vocab import ATTRIBUTES, ORDINALS

MIN_SIZE, MAX_SIZE = 3, 8


def parse_grids(value: Any) -> dict[tuple[int, int], float]:
    """"5x5,8x8" or "5x5:40,8x8:50" or a list/dict of such -> {(people, attributes): weight}."""
    if isinstance(value, dict):
        parts = [f"{k}:{w}" for k, w in value.items()]
    elif isinstance(value, str):
        parts = [p.strip() for p in value.split(",") if p.strip()]
    else:
        parts = [str(v) for v in value]
    out: dict[tuple[int, int], float] = {}
    for part in parts:
        grid, _, weight = part.partition(":")
        try:
            n, m = (int(x) for x in grid.lower().split("x"))
            w = float(weight) if weight else 1.0
        except ValueError:
            raise UserError(f"option 'grids': cannot read {part!r} (expected NxM or NxM:weight)") from None
        if not (MIN_SIZE <= n <= MAX_SIZE and MIN_SIZE <= m <= MAX_SIZE) or w < 0:
            raise UserError(f"option 'grids': {part!r} out of range (people and attributes in 3..8)")
        out[(n, m)] = out.get((n, m), 0.0) + w
    if not out or not any(out.values()):
        raise UserError("option 'grids': no grid sizes given")
    return out


def ref(attr: str, value: str) -> str:
    return ATTRIBUTES[attr][1].format(value)


def clue_text(clue: dict[str, Any]) -> str:
    """One clue in the BBEH wording, from its structured form."""
    a = ref(*clue["a"])
    t = clue["type"]
    if t in ("at_position", "not_at_position"):
        neg = "not " if t == "not_at_position" else ""
        text = f"{a} is {neg}the person at the {ORDINALS[clue['position'] - 1]} position."
    elif t == "at_end":
        text = f"{a} is at one of the ends."
    elif t == "between":
        text = f"{a} is somewhere in between {ref(*clue['b'])} and {ref(*clue['c'])} in that order."
    else:
        rel = {"same": "is", "not_same": "is not", "left_of": "is somewhere to the left of",
               "immediately_left_of": "is immediately to the left of", "next_to": "is next to"}[t]
        text = f"{a} {rel} {ref(*clue['b'])}."
    return text[0].upper() + text[1:]


def clue_to_dict(clue: Clue, names: list[tuple[str, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {"type": clue.type, "a": list(names[clue.a])}
    for key in ("b", "c"):
        if getattr(clue, key) >= 0:
            out[key] = list(names[getattr(clue, key)])
    if clue.position >= 0:
        out["position"] = clue.position + 1
    return out


def clues_from_metadata(meta: dict[str, Any]) -> tuple[int, int, list[Clue]]:
    """Rebuild (people, attributes, solver clues) from an item's metadata, ignoring nothing (distractors included)."""
    n = meta["people"]
    attrs = list(meta["solution"])
    index = {(a, v): k * n + i for k, a in enumerate(attrs) for i, v in enumerate(sorted(meta["solution"][a]))}
    clues = []
    for c in meta["clues"]:
        ent = {k: index[tuple(c[k])] for k in ("a", "b", "c") if k in c}
        clues.append(Clue(c["type"], ent["a"], ent.get("b", -1), ent.get("c", -1), c.get("position", 0) - 1))
    return n, len(attrs), clues


def solve_metadata(meta: dict[str, Any], limit: int = 2) -> list[dict[str, list[str]]]:
    """Solutions (up to `limit`) of the puzzle described by an item's metadata, as solution grids."""
    n, m, clues = clues_from_metadata(meta)
    attrs = list(meta["solution"])
    _, sols = count_solutions(Problem(n, m, clues), limit)
    grids = []
    for pos in sols:
        grid = {}
        for k, a in enumerate(attrs):
            values = sorted(meta["solution"][a])
            row = [""] * n
            for i, v in enumerate(values):
                row[pos[k * n + i]] = v
            grid[a] = row
        grids.append(grid)
    return grids


class Zebra(Task):
    family = "zebra"
    scoring = Scoring.NUMERIC
    default_size = 50
    paper_size = 200

    def __init__(self, name: str | None = None, **options: Any) -> None:
        super().__init__(name, **options)
        check_options(options, ["grids", "distractor_clues"], self.family)
        self.grids = parse_grids(options.get("grids", "5x5,6x6,7x7,8x8"))
        dc = options.get("distractor_clues", "auto")
        if dc != "auto":
            parse_distribution(dc, "distractor_clues")  # validates: non-negative integer(s)
            if not isinstance(dc, int) and not str(dc).strip().isdigit():
                raise UserError(f"option 'distractor_clues': expected 'auto' or a number, got {dc!r}")
            dc = int(dc)
        self.distractor_clues = dc

    def items(self, n: int | None = None, seed: int = 0) -> list[Item]:
        n = self.default_size if n is None else n
        keys = sorted(self.grids)
        code = schedule({i: self.grids[k] for i, k in enumerate(keys)}, n)
        return [self._item(i, *keys[c], seed) for i, c in enumerate(code)]

    def _item(self, index: int, n: int, m: int, seed: int) -> Item:
        r = random.Random(f"{self.family}:{seed}:{index}")
        attrs = r.sample(sorted(ATTRIBUTES), m)
        # each attribute uses n of its values; entity k*n+i is the i-th of them in sorted order
        values = {a: sorted(r.sample(ATTRIBUTES[a][2], n)) for a in attrs}
        names = [(a, v) for a in attrs for v in values[a]]
        puzzle = generate(n, m, r, 0, attrs)
        extra = self.distractor_clues
        if extra == "auto":  # like BBEH: redundant clues on grids below 8 people, none on 8
            extra = 0 if n >= 8 else round(0.3 * len(puzzle.clues))
        puzzle = add_distractors(puzzle, r, extra)
        return self._render(puzzle, names, values, r, seed, index)

    def _render(self, pz: Puzzle, names: list[tuple[str, str]], values: dict[str, list[str]],
                r: random.Random, seed: int, index: int) -> Item:
        n = pz.n
        shown = [(c, False) for c in pz.clues] + [(c, True) for c in pz.distractors]
        r.shuffle(shown)
        dicts = [clue_to_dict(c, names) for c, _ in shown]
        texts = [clue_text(d) for d in dicts]
        pinned = {c.a for c in pz.clues if c.type == "at_position"}
        target = r.choice([e for e in range(n * pz.m) if e not in pinned] or list(range(n * pz.m)))
        lines = [f"There are {n} people next to each other in a row in positions "
                 f"{', '.join(str(i) for i in range(1, n + 1))} who have the following characteristics."]
        for a in pz.attributes:
            lines.append(f"{ATTRIBUTES[a][0]}: {', '.join(r.sample(values[a], n))}.")
        lines.append("Using the clues provided below, answer the question at the end.")
        if pz.distractors:
            lines.append("Some of clues provided might be irrelevant to the puzzle.")
        lines += [f"Clue {i}: {t}" for i, t in enumerate(texts, 1)]
        lines.append("")
        lines.append(f"Question: What position is {ref(*names[target])} at?")
        solution = {a: [""] * n for a in pz.attributes}
        for e, p in enumerate(pz.solution):
            solution[names[e][0]][p] = names[e][1]
        distractor_numbers = [i for i, (_, d) in enumerate(shown, 1) if d]
        meta = {
            "grid_size": f"{n}x{pz.m}", "people": n, "attributes": pz.m, "num_clues": len(shown),
            "num_minimal_clues": len(pz.clues), "num_distractor_clues": len(pz.distractors),
            "distractor_clue_numbers": distractor_numbers,
            "distractor_spans": [texts[i - 1] for i in distractor_numbers],
            "difficulty": {"search_nodes": pz.stats.nodes, "propagations": pz.stats.propagations},
            "solution": solution, "clues": dicts, "question": list(names[target]),
        }
        return Item(id=f"zb-{seed}-{index:05d}", prompt="\n".join(lines), answer=pz.solution[target] + 1,
                    metadata=meta)

