"""The minimum support: the smallest segment the data can tell from chance (two-proportion power), and
icp.json's min_support note that says how it was chosen."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from icp_agent import numbers
from icp_agent.health.health_score import (
    HealthResult,
)

if TYPE_CHECKING:
    from icp_agent.tiers.analyse import AnalysisConfig


def _sized(n: int, n_good: int, n_bad: int, config: AnalysisConfig, lift: float) -> int:
    """The smaller of the segments in which a rate `lift` x the good rate, or the bad rate, would be detected."""
    return min(
        detectable_support(n, n_good / max(n, 1), config.alpha, config.power, lift),
        detectable_support(n, n_bad / max(n, 1), config.alpha, config.power, lift),
    )


def default_min_support(n: int, n_good: int, n_bad: int, config: AnalysisConfig) -> int:
    """The default minimum support: the smallest segment in which a rate `config.detectable_lift` (1.5) x the base
    rate would be detected (`detectable_support`, for the good and the bad rate, the smaller); when that is more
    than `config.support_share` (5%) of the n entities (a small book), that share of them instead, but never less
    than the segment a rate `config.strong_lift` (2) x the base rate needs; at least 10.

    Why the cap: sized for 1.5x alone, 643 customers at a 20% base rate needed segments of 216, a third of the
    book, and "agencies churn 2.9x as often" (74 customers, q=4e-12) was never tested. A segment of 5% of the
    book is one a seller can target; a smaller one that is chance is kept out by the false discovery rate, and one
    smaller than a 2x effect needs could not be told from chance however strong, so testing it only costs the
    correction. In a larger book (5,000 customers: 142 rows, under 5%) the 1.5x size stands, and with it the
    guard against many small segments of noise."""
    moderate = _sized(n, n_good, n_bad, config, config.detectable_lift)
    if moderate <= config.support_share * n:
        return max(10, moderate)
    strong = _sized(n, n_good, n_bad, config, config.strong_lift)
    return max(10, min(moderate, max(math.ceil(config.support_share * n), strong)))


def min_support_note(
    min_support: int,
    config: AnalysisConfig,
    health: HealthResult,
    n: int,
    n_good: int,
    n_bad: int,
    companies: tuple[int, int] | None = None,
) -> dict:
    """icp.json's min_support: the rows a pattern needed, how that was chosen and why (shown in icp.md and the CLI).

    `companies` (deal level): (the fewest companies a pattern needed, the distinct companies behind the n deals),
    from min_companies; the note then says both minimums and that a company's deals are not independent."""
    entity = f"{health.entity}s"
    extra: dict = {}
    tail = ""
    if companies is not None:
        least, total = companies
        extra = {"companies": least, "n_companies": total}
        tail = (
            f"; and at least {least:,} distinct companies, that many {entity} at their mean per company: the {n:,} {entity} "
            f"are from {total:,} companies ({numbers.count(n / max(total, 1))} each), and a company's {entity} share "
            f"its fit fields and much of its outcome, so p-values allow for that too (Rao-Scott design effect)"
        )
    if config.min_support:
        return {
            "rows": min_support,
            "chosen_by": "option",
            "reason": f"a pattern needs at least {min_support:,} {entity} (set with --min-support){tail}",
            **extra,
        }
    moderate = _sized(n, n_good, n_bad, config, config.detectable_lift)
    if min_support < moderate:  # a small book: capped at a share of it (default_min_support)
        strong = _sized(n, n_good, n_bad, config, config.strong_lift)
        sized = (
            f"the smallest segment in which a rate {numbers.number(config.strong_lift)}x the base rate would be"
            if min_support == strong
            else f"{numbers.percent(config.support_share, 0)} of them, in which a rate over "
            f"{numbers.number(config.strong_lift)}x the base rate would be"
        )
        return {
            "rows": min_support,
            "chosen_by": "detectable effect",
            "detectable_lift": config.strong_lift if min_support == strong else config.detectable_lift,
            "alpha": config.alpha,
            "power": config.power,
            "n": n,
            "reason": (
                f"a pattern needs at least {min_support:,} {entity}: a rate {numbers.number(config.detectable_lift)}x "
                f"the base rate ({numbers.percent(n_good / max(n, 1))} {health.words[0]}, "
                f"{numbers.percent(n_bad / max(n, 1))} {health.words[1]}) would need a segment of {moderate:,} of "
                f"the {n:,} {entity} to be detected, more than {numbers.percent(config.support_share, 0)} of them, "
                f"so the minimum is {sized} detected (two-sided alpha {numbers.number(config.alpha)}, "
                f"{numbers.percent(config.power, 0)} power; at least 10): a strong effect in a small segment is "
                f"tested, and the false discovery rate keeps out the ones that are chance{tail}"
            ),
            **extra,
        }
    reason = (
        f"a pattern needs at least {min_support:,} {entity}: the smallest segment in which a rate "
        f"{numbers.number(config.detectable_lift)}x the base rate ({numbers.percent(n_good / max(n, 1))} {health.words[0]}, "
        f"{numbers.percent(n_bad / max(n, 1))} {health.words[1]}) would be detected among {n:,} {entity} "
        f"(two-sided alpha {numbers.number(config.alpha)}, {numbers.percent(config.power, 0)} power; at least 10); smaller segments "
        f"cannot be told from chance{tail}"
    )
    return {
        "rows": min_support,
        "chosen_by": "detectable effect",
        "detectable_lift": config.detectable_lift,
        "alpha": config.alpha,
        "power": config.power,
        "n": n,
        "reason": reason,
        **extra,
    }


def min_companies(min_support: int, n_companies: int, n: int) -> int:
    """The fewest distinct companies a deal-level pattern needs: the deal minimum (`min_support`) expressed in
    companies at the data's mean deals per company, ceil(min_support x n_companies / n), at least 10 and at most
    min_support (equal to it when each company has one deal).

    Why: the fit fields describe the company, so a pattern that reaches the deal minimum through the repeat deals
    of fewer companies than that rests on those few companies (a dozen won renewals of four companies in one
    city), not on the independent evidence the minimum was sized for. Its significance is then allowed for by the
    design effect (tiers/clusters.py). Sizing the company minimum instead by the power of a company-level test of
    `config.detectable_lift` hid real segments of a few dozen companies with a strong effect (the minimum grew to
    the deal minimum counted in companies).
    """
    if n_companies >= n:
        return min_support
    return min(min_support, max(10, math.ceil(min_support * n_companies / max(n, 1))))


def few_companies_flag(n: int | None, companies: int | None, least: int, entity: str = "deal") -> str | None:
    """A tier's warning when its `n` entities (counted in their best tier only) come from fewer than `least`
    companies, the minimum a pattern needed (min_companies); None when they do not, or when rows are companies."""
    if companies is None or not n or companies >= least:
        return None
    return (
        f"few companies: its {n:,} {entity}s are from {companies:,} {'company' if companies == 1 else 'companies'} "
        f"(a pattern needs {least:,}); one company's repeat {entity}s weigh heavily in its figures"
    )


def detectable_support(n: int, base_rate: float, alpha: float = 0.05, power: float = 0.8, lift: float = 1.5) -> int:
    """The smallest segment (rows) in which a rate `lift` x the base rate could be told from the rest.

    Two-proportion z-test (two-sided `alpha`, `power`) of a segment with rate
    p1 = min(lift * p0, (1 + p0) / 2) against the other n - m rows at p0 (`_sample_size`), searched
    by bisection over m <= n / 2. The minimum support follows n and the base rate instead of a fixed
    share: at n = 22,000 and p0 = 21% it is 130 rows, so a 335-row sector at 32.5% is tested. When
    the data is too small to show that effect in any segment, the size that could show a strong one
    (p1 halfway from p0 to 1) is used, and 1 when not even that is detectable (callers floor it).
    """
    if n <= 3 or not 0 < base_rate < 1:
        return 1
    z_alpha = _normal_quantile(1 - alpha / 2)
    z_power = _normal_quantile(power)
    for p1 in (min(lift * base_rate, (1 + base_rate) / 2), (1 + base_rate) / 2):

        def enough(m: int, p1: float = p1) -> bool:
            return _sample_size(base_rate, p1, m / n, power_z=z_power, alpha_z=z_alpha) <= n

        low, high = 1, n // 2
        if not enough(high):
            continue
        while low < high:  # the total needed falls as the segment grows towards half of n
            middle = (low + high) // 2
            if enough(middle):
                high = middle
            else:
                low = middle + 1
        return low
    return 1


def _normal_quantile(q: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(q))


def smallest_detectable_rate(p0: float, share: float, n: int) -> float | None:
    """The smallest good rate a segment of `share` of n entities needs to be told from the rest at p0."""
    for step in range(1, 200):
        p1 = p0 + (1 - p0) * step / 200
        if _sample_size(p0, p1, share) <= n:
            return p1
    return None


def _sample_size(p0: float, p1: float, share: float, power_z: float = 0.8416, alpha_z: float = 1.96) -> int:
    """Entities needed to tell a segment (a `share` of all) with rate p1 from the rest at p0."""
    p_bar = share * p1 + (1 - share) * p0
    numerator = (
        alpha_z * math.sqrt(p_bar * (1 - p_bar) * (1 / share + 1 / (1 - share)))
        + power_z * math.sqrt(p1 * (1 - p1) / share + p0 * (1 - p0) / (1 - share))
    ) ** 2
    return math.ceil(numerator / (p1 - p0) ** 2)


@dataclass(frozen=True)
class BelowSupport:
    """A single trait smaller than the minimum support whose outcome differs significantly: the effect the minimum
    left untested (`strong_below_support`)."""

    field: str
    value: str
    n: int
    k: int  # its entities on the `direction` side
    direction: str  # good | bad
    rate: float
    base: float
    q: float


def strong_below_support(
    con, relation: str, fields: list[str], min_support: int, alpha: float, least: int = 10
) -> BelowSupport | None:
    """The strongest category value of `fields` held by `least` to min_support - 1 entities of `relation` (columns
    good, bad and the fields) whose good or bad rate is above the rest's: two-sided Fisher exact tests of each
    value and side (a side below the base rate counts as p = 1), Benjamini-Hochberg over them all; the smallest q under `alpha`, else None.

    Why: a build with no significant ICP must not blame the data's size when a strong effect sat in a segment the
    minimum support kept out of the search (a churning segment of 74 customers under a minimum of 216). One GROUP
    BY per field, run only when nothing survived."""
    import numpy as np

    from icp_agent.patterns.stats import benjamini_hochberg, fisher_exact_many

    if not fields or min_support <= least:
        return None
    n_all, good_all, bad_all = con.execute(f"SELECT count(*), count_if(good), count_if(bad) FROM {relation}").fetchone()
    rows = []
    for name in fields:
        column = '"' + name.replace('"', '""') + '"'
        rows += [
            (name, *r)
            for r in con.execute(
                f"SELECT CAST({column} AS VARCHAR) AS v, count(*) AS n, count_if(good), count_if(bad) FROM {relation} "
                f"WHERE {column} IS NOT NULL GROUP BY ALL HAVING count(*) BETWEEN {int(least)} AND {int(min_support) - 1} "
                # by value: the first of equal q-values wins below, so the order must not vary with the threads
                "ORDER BY v"
            ).fetchall()
        ]
    if not rows or not n_all:
        return None
    n = np.array([r[2] for r in rows])
    tests = [("good", np.array([r[3] for r in rows]), good_all), ("bad", np.array([r[4] for r in rows]), bad_all)]
    # over-indexing only: a value with fewer good (or bad) than the rest is the other side's effect, tested there
    p = np.concatenate(
        [np.where(k * n_all > total * n, fisher_exact_many(k, n, total, n_all), 1.0) for _, k, total in tests]
    )
    q = benjamini_hochberg(p)
    best = int(np.argmin(q))
    if q[best] >= alpha:
        return None
    side, k, total = tests[best // len(rows)]
    field, value = rows[best % len(rows)][:2]
    i = best % len(rows)
    return BelowSupport(field, value, int(n[i]), int(k[i]), side, float(k[i] / n[i]), total / n_all, float(q[best]))
