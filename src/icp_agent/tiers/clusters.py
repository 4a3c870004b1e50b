"""Deals are not independent: the companies behind a deal-level analysis, counted and allowed for in the tests.

When good and bad are won and lost deals, one company's deals (yearly renewals, several opportunities) share
its fit fields and much of its outcome: 51 deals from 13 companies are closer to 13 observations than to 51.
Two things follow, both computed here on the company of each deal (a cluster):

- support in companies: a pattern must also hold `min_companies` distinct companies, the smallest segment the
  data can tell from chance counted in companies (support.detectable_support on the number of companies), since
  the fit fields describe the company and the question "which companies win" has companies as its units;
- significance with the clustering allowed for: each group (the pattern's deals, the other deals) gets a
  design effect d, its counts are divided by d (the effective sample sizes) and go into the Pearson chi-square
  test of two proportions (the adjusted chi-square of Rao J.N.K., Scott A.J., "A simple method for the analysis
  of clustered binary data", Biometrics 48, 1992, 577-585; and of Donner A., Klar N., "Design and Analysis of
  Cluster Randomization Trials", 2000, ch. 6). d is the larger of two estimates, floored at 1 so the adjustment
  never makes a test bolder:
  - Rao-Scott's, from the group's own companies: the ratio-estimator variance of its rate
    v = m / (m - 1) * sum_j (y_j - p * n_j)^2 / n^2 (m companies, n_j deals and y_j targets of company j) over
    the binomial one, d = n * v / (p (1 - p)); it cannot be estimated when every deal of the group has one
    outcome (then 1), the case of a few companies whose renewals are all won;
  - Donner-Klar's, from the deals per company and the data's intra-company correlation of the outcome:
    d = 1 + (sum_j n_j^2 / n - 1) * rho, rho the one-way ANOVA estimate over all companies (Fleiss; Donner
    1986), which holds for such a group too.
  One deal per company gives d = 1 (or m / (m - 1)) and the plain test.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np


@dataclass(frozen=True)
class Clusters:
    """The company of each row of an analysis (codes 0..count-1 in the rows' order); a row whose company is
    unknown is a company of its own (the conservative reading would need a key the data lacks)."""

    codes: np.ndarray  # int64, one per row
    count: int

    @property
    def repeated(self) -> bool:
        """Whether some company has more than one row (else every adjustment here is a no-op)."""
        return self.count < len(self.codes)

    def companies(self, rows: np.ndarray) -> int:
        """Distinct companies among `rows` (a boolean mask over the analysis rows)."""
        return int(np.count_nonzero(np.bincount(np.compress(rows, self.codes), minlength=self.count)))

    def adjusted_pvalues(self, masks: list[np.ndarray], target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Two-sided cluster-adjusted p-values (module docstring) of each mask's target rate against the other
        rows', and each mask's design effect. Shapes: masks are boolean arrays over the rows, target one too;
        returns two arrays of len(masks)."""
        _, p, effects = self.measure(masks, target)
        return p, effects

    def measure(self, masks: list[np.ndarray], target: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per mask: its distinct companies, its cluster-adjusted two-sided p-value and its design effect (three
        arrays of len(masks)); one pass over each mask's rows (their company codes, counted with and without
        the target's weights)."""
        target = np.asarray(target, dtype=bool)
        all_n = np.bincount(self.codes, minlength=self.count)
        all_y = np.bincount(self.codes[target], minlength=self.count)
        rho = intra_company_correlation(all_n, all_y)
        companies = np.zeros(len(masks), dtype=np.int64)
        p = np.ones(len(masks))
        effects = np.ones(len(masks))
        packed = self.codes * 2 + target  # a row's company and outcome in one code: one count per mask
        for i, rows in enumerate(masks):
            # np.compress copies the selected codes several times faster than boolean indexing
            counts = np.bincount(np.compress(rows, packed), minlength=2 * self.count)
            y_in = counts[1::2]
            n_in = counts[0::2] + y_in
            companies[i] = np.count_nonzero(n_in)
            d_in = max(_design_effect(n_in, y_in), _kish(n_in, rho))
            d_out = max(_design_effect(all_n - n_in, all_y - y_in), _kish(all_n - n_in, rho))
            effects[i] = d_in
            p[i] = _two_proportions(
                y_in.sum() / d_in, n_in.sum() / d_in, (all_y - y_in).sum() / d_out, (all_n - n_in).sum() / d_out
            )
        return companies, p, effects


def _design_effect(n_j: np.ndarray, y_j: np.ndarray) -> float:
    """Rao and Scott's (1992) design effect of a rate from per-company counts n_j (rows) and y_j (targets)."""
    m = int(np.count_nonzero(n_j))
    n, y = int(n_j.sum()), int(y_j.sum())
    if n == 0 or y in (0, n):
        return 1.0
    if m == 1:
        return float(n)  # one company: all its rows are one observation
    rate = y / n
    # a company without rows here adds 0 to the sum: no need to select the present ones
    variance = m / (m - 1) * float(((y_j - rate * n_j) ** 2).sum()) / n**2
    return max(1.0, n * variance / (rate * (1 - rate)))


def intra_company_correlation(n_j: np.ndarray, y_j: np.ndarray) -> float:
    """The one-way ANOVA estimate of the intra-company correlation of a 0/1 outcome (Fleiss 1981; Donner 1986),
    from per-company rows n_j and targets y_j: (MSB - MSW) / (MSB + (n0 - 1) MSW), n0 the adjusted mean company
    size; clipped to 0-1, and 0 when no company has two rows."""
    present = n_j > 0
    n_j, y_j = n_j[present].astype(float), y_j[present].astype(float)
    k, n, y = len(n_j), float(n_j.sum()), float(y_j.sum())
    if k < 2 or n <= k:
        return 0.0
    explained = float((y_j**2 / n_j).sum())
    between = (explained - y**2 / n) / (k - 1)
    within = (y - explained) / (n - k)
    n0 = (n - float((n_j**2).sum()) / n) / (k - 1)
    denominator = between + (n0 - 1) * within
    if denominator <= 0:
        return 0.0 if between <= within else 1.0
    return min(1.0, max(0.0, (between - within) / denominator))


def _kish(n_j: np.ndarray, rho: float) -> float:
    """Donner-Klar's variance inflation of a group's rate: 1 + (sum n_j^2 / n - 1) * rho."""
    n = int(n_j.sum())
    if n == 0 or rho == 0:
        return 1.0
    return 1.0 + (float(np.dot(n_j, n_j)) / n - 1) * rho


def _two_proportions(y1: float, n1: float, y2: float, n2: float) -> float:
    """Two-sided Pearson chi-square p of two proportions from (effective) counts; 1 when a side is empty."""
    if n1 <= 0 or n2 <= 0:
        return 1.0
    pooled = (y1 + y2) / (n1 + n2)
    if pooled in (0.0, 1.0):
        return 1.0
    statistic = (y1 / n1 - y2 / n2) ** 2 / (pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    from scipy.stats import chi2  # where it is used: see patterns/stats.py

    return float(chi2.sf(statistic, 1))


def company_clusters(con: duckdb.DuckDBPyConnection, relation: str, key: str | None) -> Clusters | None:
    """The companies of `relation`'s rows (read in _row order) from the column `key` (quoted SQL, as
    metrics.company_key_sql gives), numbered in SQL; None without a key. A row with no company gets its own code."""
    if key is None:
        return None
    ranks = con.execute(
        f"SELECT dense_rank() OVER (ORDER BY {key}) - 1 AS c, {key} IS NULL AS unknown FROM {relation} ORDER BY _row"
    ).fetchnumpy()
    codes = np.asarray(ranks["c"], dtype=np.int64)
    unknown = np.asarray(ranks["unknown"], dtype=bool)
    count = int(codes[~unknown].max()) + 1 if (~unknown).any() else 0
    codes[unknown] = count + np.arange(int(unknown.sum()))
    return Clusters(codes=codes, count=count + int(unknown.sum()))
