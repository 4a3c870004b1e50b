"""Statistics behind every reported pattern: Wilson intervals, Fisher exact tests, BH adjustment.

scipy does the numerics; this module only fixes the conventions (table layout, two-sided tests)
and adds a vectorised Fisher test, because a search reports p-values for thousands of patterns
and scipy's 2x2 Fisher test takes one table per call.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats
from scipy.special import ndtr

Z_95 = 1.959963984540054
_FISHER_EPSILON = 1e-14  # scipy.stats.fisher_exact's tolerance for "as likely as the observed table"


def wilson_interval(k: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for k successes in n trials (the whole unit interval when n = 0).

    Wilson rather than the normal approximation because segments are often small and rates
    near 0 or 1, where the normal interval leaves [0, 1] or collapses to a point.
    """
    if n == 0:
        return 0.0, 1.0
    confidence = 1.0 - 2.0 * float(ndtr(-z))
    ci = stats.binomtest(int(k), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


def _table(k_sg: int, n_sg: int, k_all: int, n_all: int) -> list[list[int]]:
    """The 2x2 table: rows = in segment / rest, columns = target / not target."""
    return [[k_sg, n_sg - k_sg], [k_all - k_sg, (n_all - n_sg) - (k_all - k_sg)]]


def fisher_exact(k_sg: int, n_sg: int, k_all: int, n_all: int) -> tuple[float, float]:
    """Two-sided Fisher exact test of a segment against the rest: (sample odds ratio, p)."""
    result = stats.fisher_exact(_table(k_sg, n_sg, k_all, n_all))
    return float(result.statistic), float(result.pvalue)


def fisher_exact_many(k_sg: np.ndarray, n_sg: np.ndarray, k_all: int, n_all: int) -> np.ndarray:
    """Two-sided Fisher p-values for many segments of one population, equal to scipy's per table.

    This is scipy.stats.fisher_exact's two-sided algorithm run on arrays: the same
    hypergeometric pmf/cdf/sf calls and the same binary search for the far tail, so each
    p-value is the one scipy gives for that table, without scipy's per-call overhead.
    """
    k_sg = np.asarray(k_sg, dtype=np.int64)
    n_sg = np.asarray(n_sg, dtype=np.int64)
    if k_sg.shape != n_sg.shape:
        raise ValueError("k_sg and n_sg must have the same shape")
    p = np.ones(k_sg.shape, dtype=float)
    # A table with an empty row or column carries no evidence: scipy returns p = 1.
    informative = (n_sg > 0) & (n_sg < n_all) & (0 < k_all < n_all)
    if informative.any():
        p[informative] = _fisher_two_sided(k_sg[informative], n_sg[informative], k_all, n_all)
    return p


def _fisher_two_sided(x: np.ndarray, row: np.ndarray, col: int, total: int) -> np.ndarray:
    """scipy's two-sided branch, vectorised; x = top-left cell, row/col = its margins."""
    hypergeom = stats.hypergeom
    col_arr = np.full_like(x, col)

    def pmf(v: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return hypergeom.pmf(v, total, row[rows], col)

    everyone = np.arange(x.size)
    mode = ((col_arr + 1) * (row + 1) / (total + 2)).astype(np.int64)
    p_exact = pmf(x, everyone)
    p_mode = pmf(mode, everyone)
    gamma = 1 + _FISHER_EPSILON
    pvalue = np.ones(x.size, dtype=float)

    at_mode = np.abs(p_exact - p_mode) / np.maximum(p_exact, p_mode) <= _FISHER_EPSILON
    below = np.flatnonzero(~at_mode & (x < mode))
    above = np.flatnonzero(~at_mode & (x >= mode))

    if below.size:
        near = hypergeom.cdf(x[below], total, row[below], col)
        threshold = p_exact[below] * gamma
        guess = _binary_search(lambda v, rows: -pmf(v, below[rows]), -threshold, mode[below], col_arr[below])
        far = hypergeom.sf(guess, total, row[below], col)
        far_end_likelier = pmf(col_arr[below], below) > threshold
        pvalue[below] = np.where(far_end_likelier, near, near + far)
    if above.size:
        near = hypergeom.sf(x[above] - 1, total, row[above], col)
        threshold = p_exact[above] * gamma
        guess = _binary_search(lambda v, rows: pmf(v, above[rows]), threshold, np.zeros_like(above), mode[above])
        far = hypergeom.cdf(guess, total, row[above], col)
        far_end_likelier = pmf(np.zeros_like(above), above) > threshold
        pvalue[above] = np.where(far_end_likelier, near, near + far)
    return np.minimum(pvalue, 1.0)


def _binary_search(f, target: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """scipy's _binary_search_for_binom_tst on arrays: i with f(i) <= target < f(i + 1).

    `f(values, rows)` evaluates the (ascending) function for the given rows only.
    """
    lo, hi = lo.copy(), hi.copy()
    found = np.full(lo.shape, -1, dtype=np.int64)
    active = np.flatnonzero(lo < hi)
    while active.size:
        mid = lo[active] + (hi[active] - lo[active]) // 2
        value = f(mid, active)
        smaller, larger = value < target[active], value > target[active]
        lo[active[smaller]] = mid[smaller] + 1
        hi[active[larger]] = mid[larger] - 1
        hit = ~smaller & ~larger
        found[active[hit]] = mid[hit]
        active = active[~hit]
        active = active[lo[active] < hi[active]]
    pending = np.flatnonzero(found < 0)
    at_lo = f(lo[pending], pending) <= target[pending]
    found[pending] = np.where(at_lo, lo[pending], lo[pending] - 1)
    return found


def benjamini_hochberg(p: Sequence[float]) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values, in the input order.

    Pass the p-values of every pattern the search tested, not only the reported ones:
    adjusting over the shortlist alone would understate the false discovery rate.
    """
    values = np.asarray(p, dtype=float)
    if values.size == 0:
        return values
    return stats.false_discovery_control(values, method="bh")
