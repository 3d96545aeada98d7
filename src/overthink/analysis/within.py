"""The within-item linear model: fixed effects absorbed, CR2 cluster-robust errors, a t reference on G - 1 df,
and a within-stratum permutation test for when that t reference is doubtful.

`within_fit(y, X, strata, clusters)` demeans y and X within `strata` (item fixed effects, or finer: (item, replicate)
traces), fits OLS and returns the coefficients with the Bell-McCaffrey (CR2) cluster-robust covariance: each
cluster's residuals are scaled by (I - H_gg)^(-1/2), where H_gg is the cluster's block of the within model's hat
matrix (Pustejovsky & Tipton 2018, fixed effects absorbed). With G clusters the reference is t on G - 1 df. For
one regressor in a balanced design this is exactly the one-sample t-test on per-item slopes. H_gg = B B' has rank
<= k (B = X_g M^(1/2)), so (I - B B')^(-1/2) is applied through the eigenvectors of the k x k matrix B'B - cheap
for items with many samples.

`permutation_p` shuffles whole rows of X within each permutation stratum ((item, replicate) traces in a sweep: the
budgets of one trace are exchangeable under the sharp null of no budget effect) and compares |coefficient|. The
within-item Gram matrix is the same for every such shuffle, so each permutation costs one matrix product - or, for
strata of a few rows (the budgets of a trace), a sum of table look-ups: each stratum's share of the coefficient
under each of its orders is computed once, and a draw's order is read from pairwise comparisons.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

# Student t tails from scipy.special: the functions scipy.stats.t calls (stdtr, stdtrit), so the same floats,
# without stats.t's argument handling (~0.1 ms a call; a calibration makes hundreds of thousands) or the ~1.5 s
# import of scipy.stats.


def t_quantile(q: float, df: float) -> float:
    """scipy.stats.t.ppf(q, df)."""
    return float(special.stdtrit(df, q))


def t_sf(t: float, df: float) -> float:
    """scipy.stats.t.sf(t, df)."""
    return float(special.stdtr(df, -t))


def t_cdf(t: float, df: float) -> float:
    """scipy.stats.t.cdf(t, df)."""
    return float(special.stdtr(df, t))


@dataclass
class Fit:
    beta: np.ndarray
    vcov: np.ndarray
    df: int  # clusters - 1
    n_clusters: int
    resid: np.ndarray

    def se(self, c: np.ndarray) -> float:
        return float(math.sqrt(max(float(c @ self.vcov @ c), 0.0)))

    def contrast(self, c: np.ndarray, level: float = 0.95) -> tuple[float, float, float, float, float]:
        """(estimate, SE, low, high, two-sided p) of the linear contrast c'beta."""
        est, se = float(c @ self.beta), self.se(c)
        if se == 0 or not math.isfinite(se):
            return est, se, math.nan, math.nan, math.nan
        q = t_quantile(0.5 + level / 2, self.df)
        p = 2 * t_sf(abs(est / se), self.df)
        return est, se, est - q * se, est + q * se, p

    def one_sided_p(self, c: np.ndarray, greater: bool) -> float:
        est, se = float(c @ self.beta), self.se(c)
        if se == 0 or not math.isfinite(se):
            return math.nan
        t = est / se
        return t_sf(t, self.df) if greater else t_cdf(t, self.df)


def demean(values: np.ndarray, strata: np.ndarray) -> np.ndarray:
    """Subtract the stratum mean from each row (values: n or n x k)."""
    codes = pd.factorize(np.asarray(strata))[0] if np.asarray(strata).dtype.kind not in "iu" else np.asarray(strata)
    values = np.asarray(values, float)
    flat = values.reshape(len(values), -1)
    counts = np.bincount(codes)
    means = np.column_stack([np.bincount(codes, weights=flat[:, j]) for j in range(flat.shape[1])])
    return (flat - (means / np.maximum(counts, 1)[:, None])[codes]).reshape(values.shape)


def within_fit(y: np.ndarray, X: np.ndarray, strata: np.ndarray, clusters: np.ndarray) -> Fit | None:
    """OLS of demeaned y on demeaned X with CR2 errors clustered by `clusters`; None when X has no within
    variation (singular)."""
    X = np.asarray(X, float).reshape(len(y), -1)
    yw, Xw = demean(np.asarray(y, float), strata), demean(X, strata)
    gram = Xw.T @ Xw
    if np.linalg.matrix_rank(gram, tol=1e-9 * max(1.0, float(np.trace(gram)))) < X.shape[1]:
        return None
    M = np.linalg.inv(gram)
    beta = M @ (Xw.T @ yw)
    resid = yw - Xw @ beta
    w, v = np.linalg.eigh(M)
    half = (v * np.sqrt(np.clip(w, 0, None))) @ v.T  # M^(1/2)
    codes, uniq = pd.factorize(np.asarray(clusters))
    k = X.shape[1]
    meat = np.zeros((k, k))
    sizes = np.bincount(codes)
    order = np.argsort(codes, kind="stable")
    starts = np.concatenate([[0], np.cumsum(sizes)])
    # Clusters of equal size are processed as one batch: (clusters, n_g, k) arrays.
    for size in np.unique(sizes):
        groups = np.flatnonzero(sizes == size)
        idx = order[starts[groups][:, None] + np.arange(size)[None, :]]
        Xg, eg = Xw[idx], resid[idx]
        B = Xg @ half
        lam, V = np.linalg.eigh(np.einsum("gnk,gnl->gkl", B, B))
        lam = np.clip(lam, 0.0, 1 - 1e-9)
        # (I - B B')^(-1/2) e = e + B V diag(((1 - lam)^(-1/2) - 1) / lam) V' B' e   (lam -> 0: factor -> 1/2)
        safe = np.where(lam > 1e-12, lam, 1.0)
        factor = np.where(lam > 1e-12, ((1 - lam) ** -0.5 - 1) / safe, 0.5)
        Be = np.einsum("gnk,gn->gk", B, eg)
        inner = np.einsum("gkl,gl->gk", V, factor * np.einsum("glk,gl->gk", V, Be))
        adj = eg + np.einsum("gnk,gk->gn", B, inner)
        u = np.einsum("gnk,gn->gk", Xg, adj)
        meat += u.T @ u
    vcov = M @ meat @ M
    return Fit(beta=beta, vcov=vcov, df=max(1, len(uniq) - 1), n_clusters=len(uniq), resid=resid)


def permutation_p(y: np.ndarray, X: np.ndarray, strata: np.ndarray, perm_strata: np.ndarray, coef: int = 0, *,
                  n_perm: int = 1999, seed: int = 0, stop_at: float | None = None) -> float:
    """Two-sided permutation p of coefficient `coef`: rows of X shuffled within `perm_strata` (which must nest in
    `strata`, the fixed effects), (1 + #{|b*| >= |b|}) / (1 + n_perm).

    `stop_at`: stop permuting once p >= stop_at is certain and return that lower bound of p (a curtailed test,
    Besag & Clifford 1991: whether p < stop_at is decided exactly as with all n_perm permutations, which are drawn
    in the same order)."""
    X = np.asarray(X, float).reshape(len(y), -1)
    order = np.argsort(pd.factorize(perm_strata)[0], kind="stable")
    y, X, strata, perm_codes = np.asarray(y, float)[order], X[order], np.asarray(strata)[order], \
        pd.factorize(np.asarray(perm_strata)[order])[0]
    yw, Xw = demean(y, strata), demean(X, strata)
    gram = Xw.T @ Xw
    if np.linalg.matrix_rank(gram) < X.shape[1]:
        return math.nan
    row = np.linalg.inv(gram)[coef]
    observed = float(row @ (Xw.T @ yw))
    # The coefficient is row . (Xw' yw); with X's rows shuffled it is (Xw row)[shuffle] . yw: one gather a draw.
    weight = Xw @ row
    sizes = np.bincount(perm_codes)
    equal = bool((sizes == sizes[0]).all())  # strata of one size (a balanced sweep): shuffle each as a block
    rng = np.random.default_rng(seed)
    hits, done, block = 0, 0, max(1, 2_000_000 // max(len(y), 1))
    if stop_at is not None:
        block = min(block, 100)  # the same draws in smaller blocks (a Generator's stream does not depend on them)
    tol = 1e-10 * max(1.0, abs(observed))
    table = _block_table(weight, yw, int(sizes[0])) if equal and sizes[0] <= MAX_TABLE_BLOCK else None
    # The draws depend only on (seed, n_perm, rows): the many curves of one shape a calibration tests share their
    # strata's orders, read once (the same draws and orders, so the same coefficients). A curtailed test (stop_at)
    # draws only what it needs, as before.
    drawn = _drawn_orders(seed, n_perm, len(y), table[2]) if table is not None and stop_at is None and \
        n_perm * len(y) <= MAX_CACHED_DRAWS else None
    while done < n_perm and (stop_at is None or (1 + hits) / (1 + n_perm) < stop_at):
        b = min(block, n_perm - done)
        if drawn is not None:
            stat = _order_stats(drawn[done:done + b], table[0])
        elif table is not None:
            stat = _table_stats(rng.random((b, len(y))), *table)
        else:
            stat = _sorted_stats(rng.random((b, len(y))), weight, yw, perm_codes, sizes if equal else None)
        hits += int((np.abs(stat) >= abs(observed) - tol).sum())
        done += b
    return (1 + hits) / (1 + n_perm)


MAX_TABLE_BLOCK = 6  # strata of up to 6 rows (720 orders, 15 comparisons) go through _block_table


def _sorted_stats(u: np.ndarray, weight: np.ndarray, yw: np.ndarray, perm_codes: np.ndarray,
                  sizes: np.ndarray | None) -> np.ndarray:
    """The permuted coefficients of draws u (b x n): each stratum's rows in the order of their u. `sizes`: the
    strata's sizes when all are equal (consecutive blocks), else None."""
    b = len(u)
    if sizes is not None:  # the order of u within each stratum: argsort of (strata x size) blocks, offset to the rows
        s = int(sizes[0])
        idx = (np.argsort(u.reshape(b, -1, s), axis=2) + (np.arange(len(sizes)) * s)[None, :, None]).reshape(b, -1)
    else:  # sorting stratum code + U(0, 1) keeps each stratum's rows in its own positions, in random order
        idx = np.argsort(perm_codes[None, :] + u, axis=1)
    # X rows shuffled within strata; the item means of X are unchanged, so Xw shuffles with them.
    return weight[idx] @ yw  # (b, n) . (n,)


@functools.lru_cache(maxsize=8)
def _orders(s: int) -> tuple[np.ndarray, np.ndarray]:
    """Every order of s rows (as argsort returns it: the rows from the smallest u up) and a lookup from the
    pairwise comparisons of the u's (bit of pair i < j: u_i > u_j) to the order's number."""
    orders = np.array(list(itertools.permutations(range(s))), dtype=np.int64).reshape(-1, s)
    ranks = np.argsort(orders, axis=1)  # rank of each row in each order
    lookup = np.zeros(1 << (s * (s - 1) // 2), dtype=np.int64)
    codes = np.zeros(len(orders), dtype=np.int64)
    for bit, (i, j) in enumerate(itertools.combinations(range(s), 2)):
        codes |= (ranks[:, i] > ranks[:, j]).astype(np.int64) << bit
    lookup[codes] = np.arange(len(orders))
    return orders, lookup


def _block_table(weight: np.ndarray, yw: np.ndarray, s: int) -> tuple[np.ndarray, np.ndarray, int]:
    """For strata of s consecutive rows: each stratum's share of the coefficient under each of its s! orders
    (strata x orders), the lookup of _orders, and s."""
    orders, lookup = _orders(s)
    w, yb = weight.reshape(-1, s), yw.reshape(-1, s)
    return np.einsum("mkp,mp->mk", w[:, orders], yb), lookup, s


def _table_stats(u: np.ndarray, shares: np.ndarray, lookup: np.ndarray, s: int) -> np.ndarray:
    """_sorted_stats of equal strata of s rows from the table of _block_table: a stratum's order is read from the
    s(s-1)/2 pairwise comparisons of its u's (an argsort of a handful of values per stratum costs more than the
    rest of a permutation), and its share of the coefficient is looked up. The same orders as the argsort, so the
    same coefficients up to the order of the additions (tests/test_calls_inverse.py: the same p-values)."""
    return _order_stats(_order_of(u, lookup, s), shares)


def _order_of(u: np.ndarray, lookup: np.ndarray, s: int) -> np.ndarray:
    """Each stratum's order (its number in _orders(s)) under draws u (b x n): draws x strata."""
    v = u.reshape(len(u), -1, s)
    code = np.zeros(v.shape[:2], dtype=np.uint16)  # s <= 6: 15 bits
    for bit, (i, j) in enumerate(itertools.combinations(range(s), 2)):
        code += (v[:, :, i] > v[:, :, j]) * np.uint16(1 << bit)
    return lookup[code]


def _order_stats(order: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """The permuted coefficients: each stratum's share under its order (draws x strata), summed over strata."""
    m, n_orders = shares.shape
    return shares.ravel()[order + np.arange(0, m * n_orders, n_orders)[None, :]].sum(axis=1)


MAX_CACHED_DRAWS = 4_000_000  # n_perm x rows whose orders are kept (int16, one per stratum: at most 4 MB)


@functools.lru_cache(maxsize=8)
def _drawn_orders(seed: int, n_perm: int, n: int, s: int) -> np.ndarray:
    """The strata's orders under all n_perm draws of permutation_p's Generator (rows of u in the order drawn: a
    Generator's stream does not depend on the blocks it is drawn in). Read-only."""
    order = _order_of(np.random.default_rng(seed).random((n_perm, n)), _orders(s)[1], s).astype(np.int16)
    order.flags.writeable = False
    return order
