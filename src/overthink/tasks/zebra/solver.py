"""A small finite-domain solver for zebra puzzles: bitmask domains, queue propagation, MRV search.

Entities are (attribute, value) pairs, numbered e = attribute * n + value; each entity has a position 0..n-1 and
the entities of one attribute occupy distinct positions (a permutation). A domain is a bitmask over positions.
Clues (structured, see `Clue`) compile to primitive constraints; `count_solutions` proves uniqueness by exhausting
the search tree (stopping at `limit`), and reports how much work that took (a difficulty measure).

Primitive constraints: SAME a=b, DIFF a!=b, LT a<b, IMM a+1=b, NEXT |a-b|=1, ALLDIFF (one attribute).
Unary clues (at / not at a position, at one of the ends) become masks on the initial domains.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

SAME, DIFF, LT, IMM, NEXT, ALLDIFF = range(6)

# Clue types (structured form). "between": pos(b) < pos(a) < pos(c) - "a is somewhere in between b and c in that order".
BINARY = ("same", "not_same", "left_of", "immediately_left_of", "next_to")
UNARY = ("at_position", "not_at_position", "at_end")
CLUE_TYPES = BINARY + UNARY + ("between",)


@dataclass(frozen=True)
class Clue:
    type: str
    a: int  # entity ids; b/c unused (-1) for unary clues
    b: int = -1
    c: int = -1
    position: int = -1  # 0-based, at_position / not_at_position

    def holds(self, pos: Sequence[int], n: int) -> bool:
        """Whether the clue is true for a full assignment entity -> position (0-based)."""
        t, pa = self.type, pos[self.a]
        if t == "same":
            return pa == pos[self.b]
        if t == "not_same":
            return pa != pos[self.b]
        if t == "left_of":
            return pa < pos[self.b]
        if t == "immediately_left_of":
            return pa + 1 == pos[self.b]
        if t == "next_to":
            return abs(pa - pos[self.b]) == 1
        if t == "between":
            return pos[self.b] < pa < pos[self.c]
        if t == "at_position":
            return pa == self.position
        if t == "not_at_position":
            return pa != self.position
        if t == "at_end":
            return pa in (0, n - 1)
        raise ValueError(f"unknown clue type {t!r}")


@dataclass
class Stats:
    nodes: int = 0  # search nodes (branches taken)
    propagations: int = 0  # constraint revisions


@dataclass
class Problem:
    n: int
    m: int
    clues: list[Clue]
    init: list[int] = field(init=False)
    cons: list[tuple[int, int, int]] = field(init=False)
    watch: list[list[int]] = field(init=False)

    def __post_init__(self) -> None:
        n, full = self.n, (1 << self.n) - 1
        self.init = [full] * (n * self.m)
        cons: list[tuple[int, int, int]] = [(ALLDIFF, k, 0) for k in range(self.m)]
        for cl in self.clues:
            t = cl.type
            if t == "at_position":
                self.init[cl.a] &= 1 << cl.position
            elif t == "not_at_position":
                self.init[cl.a] &= full & ~(1 << cl.position)
            elif t == "at_end":
                self.init[cl.a] &= 1 | (1 << (n - 1))
            elif t == "between":
                cons += [(LT, cl.b, cl.a), (LT, cl.a, cl.c)]
            else:
                cons.append(({"same": SAME, "not_same": DIFF, "left_of": LT, "immediately_left_of": IMM,
                              "next_to": NEXT}[t], cl.a, cl.b))
        self.cons = cons
        self.watch = [[] for _ in range(n * self.m)]
        for i, (kind, a, b) in enumerate(cons):
            targets = range(a * n, a * n + n) if kind == ALLDIFF else (a, b)
            for e in targets:
                self.watch[e].append(i)


def _propagate(p: Problem, d: list[int], queue: list[int], queued: list[bool], stats: Stats) -> bool:
    """Revise constraints until nothing changes; False on a wipe-out."""
    n, full, cons, watch = p.n, (1 << p.n) - 1, p.cons, p.watch
    while queue:
        ci = queue.pop()
        queued[ci] = False
        stats.propagations += 1
        kind, a, b = cons[ci]
        changed: list[int] = []
        if kind == ALLDIFF:
            ents = range(a * n, a * n + n)
            while True:
                fixed, once, twice = 0, 0, 0
                for e in ents:
                    x = d[e]
                    if not x & (x - 1):
                        if x & fixed:
                            return False
                        fixed |= x
                    twice |= once & x
                    once |= x
                if once != full:
                    return False
                uniq = once & ~twice
                again = False
                for e in ents:
                    x = d[e]
                    if x & (x - 1):
                        y = x & ~fixed
                        u = y & uniq
                        if u:
                            if u & (u - 1):
                                return False
                            y = u
                        if y != x:
                            if not y:
                                return False
                            d[e] = y
                            changed.append(e)
                            again = True
                if not again:
                    break
        else:
            da, db = d[a], d[b]
            if kind == SAME:
                na = nb = da & db
            elif kind == LT:
                na = da & ((1 << (db.bit_length() - 1)) - 1) if db else 0
                nb = db & ~(((da & -da) << 1) - 1)
            elif kind == IMM:
                nb = db & (da << 1)
                na = da & (nb >> 1)
            elif kind == NEXT:
                nb = db & ((da << 1) | (da >> 1)) & full
                na = da & ((nb << 1) | (nb >> 1))
            else:  # DIFF
                na = da & ~db if not db & (db - 1) else da
                nb = db & ~na if not na & (na - 1) else db
            if not na or not nb:
                return False
            if na != da:
                d[a] = na
                changed.append(a)
            if nb != db:
                d[b] = nb
                changed.append(b)
        for e in changed:
            for cj in watch[e]:
                if not queued[cj]:
                    queued[cj] = True
                    queue.append(cj)
    return True


def propagate_all(p: Problem, d: list[int] | None = None, stats: Stats | None = None) -> list[int] | None:
    """Domains after full propagation from `d` (default: the initial domains); None when inconsistent."""
    d = list(p.init if d is None else d)
    if any(x == 0 for x in d):
        return None
    queue = list(range(len(p.cons)))
    ok = _propagate(p, d, queue, [True] * len(p.cons), stats or Stats())
    return d if ok else None


def count_solutions(p: Problem, limit: int = 2, stats: Stats | None = None) -> tuple[int, list[list[int]]]:
    """Number of solutions (stopping at `limit`) and the solutions found, as entity -> 0-based position lists."""
    stats = stats if stats is not None else Stats()
    found: list[list[int]] = []
    root = propagate_all(p, stats=stats)
    if root is None:
        return 0, found
    ncons = len(p.cons)
    stack = [root]
    while stack and len(found) < limit:
        d = stack.pop()
        best, best_size = -1, 99
        for e, x in enumerate(d):
            if x & (x - 1):
                size = x.bit_count()
                if size < best_size:
                    best, best_size = e, size
                    if size == 2:
                        break
        if best < 0:
            found.append([x.bit_length() - 1 for x in d])
            continue
        x = d[best]
        while x:
            bit = x & -x
            x ^= bit
            child = list(d)
            child[best] = bit
            stats.nodes += 1
            queued = [False] * ncons
            queue = list(p.watch[best])
            for ci in queue:
                queued[ci] = True
            if _propagate(p, child, queue, queued, stats):
                stack.append(child)
    return len(found), found
