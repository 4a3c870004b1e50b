"""Statistics behind every reported pattern: Wilson intervals, Fisher exact tests, BH adjustment.

scipy does the numerics; this module fixes the conventions (table layout, two-sided tests).
The one exception is `fisher_exact_many`: a search needs p-values for thousands of patterns and
scipy's 2x2 Fisher test takes one table per call, so it re-implements scipy's two-sided rule on
arrays and is tested against scipy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.special import gammaln, ndtr

# scipy.stats (0.3-0.4 s to import) is imported where it is used: a build imports this module before its first
# step and can load scipy.stats on a thread of its own meanwhile (toolkit.build_icp)

Z_95 = 1.959963984540054
# Two tables count as equally likely when their log-probabilities differ by less than this.
# scipy uses 1e-14 on exact pmfs; gammaln-based log-pmfs carry ~1e-9 error at 10^6 rows, so the
# tolerance is R's fisher.test one (1e-7). Only mathematically tied tables fall inside it.
_LOG_TIE = 1e-7
_NEGLIGIBLE = 1e-17  # a tail sum stops when its next term is below this fraction of the sum


def wilson_interval(k: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for k successes in n trials (the whole unit interval when n = 0).

    Wilson rather than the normal approximation because segments are often small and rates
    near 0 or 1, where the normal interval leaves [0, 1] or collapses to a point.
    """
    from scipy import stats

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
    from scipy import stats

    result = stats.fisher_exact(_table(k_sg, n_sg, k_all, n_all))
    return float(result.statistic), float(result.pvalue)


def fisher_exact_many(k_sg: np.ndarray, n_sg: np.ndarray, k_all: int, n_all: int) -> np.ndarray:
    """Two-sided Fisher exact p-values for many segments of one population at once.

    scipy takes one table per call, and its exact pmf costs 10-200 us for populations of
    10^3-10^5, so 10,000 tables would take seconds to minutes; this takes well under a second.
    It is scipy's two-sided rule on arrays: p = P(tables no more likely than the observed one),
    the far tail starting where a binary search beyond the mode finds the pmf below the observed
    one. Log-pmfs come from gammaln, and each tail is summed with the pmf ratio recurrence until
    its terms vanish. Agrees with scipy.stats.fisher_exact to ~1e-9 relative at 10^6 rows and
    better below (tests: 1e-9 on every table up to 16 rows, 1e-7 on 10^3-10^6 rows).
    """

    k_sg = np.asarray(k_sg, dtype=np.int64)
    n_sg = np.asarray(n_sg, dtype=np.int64)
    if k_sg.shape != n_sg.shape:
        raise ValueError("k_sg and n_sg must have the same shape")
    p = np.ones(k_sg.shape, dtype=float)
    # A table with an empty row or column carries no evidence: scipy returns p = 1.
    informative = (n_sg > 0) & (n_sg < n_all) & (0 < k_all < n_all)
    if informative.any():
        p[informative] = _Hypergeometric(n_sg[informative], k_all, n_all).two_sided(k_sg[informative])
    return p


def fisher_greater_many(k_sg: np.ndarray, n_sg: np.ndarray, k_all: int, n_all: int) -> np.ndarray:
    """One-sided Fisher exact p-values that each segment holds MORE targets than chance: P(X >= k).

    The test for a pattern already known to over-index (its direction is fixed before testing),
    e.g. the check that a pattern still over-indexes among the rows where a field is known.
    X is hypergeometric (n_all rows, k_all targets, n_sg drawn); scipy's survival function takes
    arrays, and equals scipy.stats.fisher_exact(table, alternative="greater"). A table with an
    empty row or column carries no evidence: p = 1.
    """
    from scipy import stats

    k_sg = np.asarray(k_sg, dtype=np.int64)
    n_sg = np.asarray(n_sg, dtype=np.int64)
    p = np.ones(k_sg.shape, dtype=float)
    informative = (n_sg > 0) & (n_sg < n_all) & (0 < k_all < n_all)
    if informative.any():
        p[informative] = stats.hypergeom.sf(k_sg[informative] - 1, n_all, k_all, n_sg[informative])
    return np.clip(p, 0.0, 1.0)


class _Hypergeometric:
    """Positives among `draws` rows drawn from n_all rows of which k_all are positive."""

    def __init__(self, draws: np.ndarray, k_all: int, n_all: int):
        self.draws, self.k_all, self.n_all = draws, k_all, n_all
        self.lo = np.maximum(0, draws - (n_all - k_all))
        self.hi = np.minimum(draws, k_all)
        self.mode = ((k_all + 1) * (draws + 1) / (n_all + 2)).astype(np.int64)

    def log_pmf(self, y: np.ndarray, rows: np.ndarray) -> np.ndarray:
        draws, k, n = self.draws[rows], self.k_all, self.n_all
        return (
            gammaln(k + 1)
            - gammaln(y + 1)
            - gammaln(k - y + 1)
            + gammaln(n - k + 1)
            - gammaln(draws - y + 1)
            - gammaln(n - k - draws + y + 1)
            - gammaln(n + 1)
            + gammaln(draws + 1)
            + gammaln(n - draws + 1)
        )

    def two_sided(self, x: np.ndarray) -> np.ndarray:
        everyone = np.arange(x.size)
        log_px = self.log_pmf(x, everyone)
        pvalue = np.ones(x.size)
        as_likely_as_mode = np.abs(log_px - self.log_pmf(self.mode, everyone)) <= _LOG_TIE
        for below_mode in (True, False):
            rows = np.flatnonzero(~as_likely_as_mode & ((x < self.mode) == below_mode))
            if rows.size:
                pvalue[rows] = self._tails(x[rows], log_px[rows], rows, below_mode)
        return np.minimum(pvalue, 1.0)

    def _tails(self, x: np.ndarray, log_px: np.ndarray, rows: np.ndarray, below_mode: bool) -> np.ndarray:
        """Near tail from x outwards plus the far tail beyond the mode, where pmf <= pmf(x)."""
        outwards = -1 if below_mode else 1
        near = np.exp(log_px) * self._tail_sum(x, outwards, rows)
        far_start = self._far_tail_start(log_px, rows, below_mode)
        has_far = np.flatnonzero((far_start >= self.lo[rows]) & (far_start <= self.hi[rows]))
        far = np.zeros(x.size)
        if has_far.size:
            start, far_rows = far_start[has_far], rows[has_far]
            far[has_far] = np.exp(self.log_pmf(start, far_rows)) * self._tail_sum(start, -outwards, far_rows)
        return near + far

    def _far_tail_start(self, log_px: np.ndarray, rows: np.ndarray, below_mode: bool) -> np.ndarray:
        """First y past the mode, on the other side from x, no likelier than x (out of support if none)."""
        limit = log_px + _LOG_TIE
        if below_mode:  # smallest y in (mode, hi] with log_pmf(y) <= limit; hi + 1 if none
            left, right = self.mode[rows] + 1, self.hi[rows] + 1
            while (open_ := left < right).any():
                mid = (left + right) // 2
                no_likelier = self.log_pmf(np.minimum(mid, self.hi[rows]), rows) <= limit
                right = np.where(open_ & no_likelier, mid, right)
                left = np.where(open_ & ~no_likelier, mid + 1, left)
            return left
        # largest y in [lo, mode) with log_pmf(y) <= limit; lo - 1 if none
        left, right = self.lo[rows] - 1, self.mode[rows] - 1
        while (open_ := left < right).any():
            mid = (left + right + 1) // 2
            no_likelier = self.log_pmf(np.maximum(mid, self.lo[rows]), rows) <= limit
            left = np.where(open_ & no_likelier, mid, left)
            right = np.where(open_ & ~no_likelier, mid - 1, right)
        return left

    def _tail_sum(self, start: np.ndarray, step: int, rows: np.ndarray) -> np.ndarray:
        """sum over j >= 0 of pmf(start + j * step) / pmf(start), within the support."""
        k, n = float(self.k_all), float(self.n_all)
        draws, lo, hi = self.draws[rows].astype(float), self.lo[rows], self.hi[rows]
        y = start.astype(float)
        term, total = np.ones(start.size), np.ones(start.size)
        active = np.flatnonzero((y + step >= lo) & (y + step <= hi))
        while active.size:
            ya, da = y[active], draws[active]
            if step > 0:
                ratio = (k - ya) * (da - ya) / ((ya + 1) * (n - k - da + ya + 1))
            else:
                ratio = ya * (n - k - da + ya) / ((k - ya + 1) * (da - ya + 1))
            term[active] *= ratio
            total[active] += term[active]
            y[active] = ya + step
            y_next = y[active] + step
            still = (term[active] > _NEGLIGIBLE * total[active]) & (y_next >= lo[active]) & (y_next <= hi[active])
            active = active[still]
        return total


def benjamini_hochberg(p: Sequence[float] | np.ndarray, *, n_tests: int | None = None) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values, in the input order.

    The family is every pattern the search tested, not only the reported ones: pass
    n_tests = SearchResult.tested and the p-values of the reported patterns; the untested rest
    count as p = 1, which can only raise the adjusted values, so the adjustment stays valid.
    """
    from scipy import stats

    values = np.asarray(p, dtype=float)
    if n_tests is not None and n_tests < values.size:
        raise ValueError(f"n_tests={n_tests} is smaller than the {values.size} p-values given")
    if values.size == 0:
        return values
    padded = np.concatenate([values, np.ones((n_tests or values.size) - values.size)])
    return stats.false_discovery_control(padded, method="bh")[: values.size]
