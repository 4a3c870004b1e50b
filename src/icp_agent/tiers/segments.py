"""Choosing from the candidates: ICP segments by sequential covering, their tiers (Tier 2 and 3 are broader
parts judged on the entities they add) and the disqualifiers."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Literal, cast

import numpy as np

from icp_agent import numbers
from icp_agent.evidence import Ledger
from icp_agent.health.health_score import (
    HealthResult,
)
from icp_agent.icp_document import Disqualifier, PatternMetrics, Tier
from icp_agent.patterns.selectors import (
    Selector,
    SelectorSet,
)
from icp_agent.patterns.stats import (
    wilson_interval,
)
from icp_agent.schema import AnalysisInputs
from icp_agent.tiers.candidates import Candidate, covered_rows, find_candidates, group_words
from icp_agent.tiers.clusters import Clusters
from icp_agent.tiers.metrics import tier_metrics
from icp_agent.tiers.specs import criterion

if TYPE_CHECKING:
    from icp_agent.tiers.analyse import AnalysisConfig


def choose_segments(
    selset: SelectorSet,
    good: np.ndarray,
    config: AnalysisConfig,
    min_support: int,
    health: HealthResult,
    ledger: Ledger,
    known: dict[str, np.ndarray] | None = None,
    *,
    clusters: Clusters | None = None,
    min_companies: int = 0,
    searched: Callable[[], None] = lambda: None,
) -> tuple[list[Candidate], list[Candidate]]:
    """The ICP segments (sequential covering) and every good candidate found on the way, best first.

    A top-k search fills up with variants of the strongest segment (the same segment with one more
    or one different criterion), so a second, weaker but distinct segment may never be listed. After
    each pick the search is run again on the rows no chosen segment covers, until `max_segments` are
    chosen or a round adds none; the BH family grows with every round's tests.

    ICP 1 is the best significant segment, however modest; a further ICP must also be strong: the
    lower bound of its lift at least `detectable_lift` (the effect the minimum support is sized
    for), so "not the worst sizes" does not become an ICP of its own next to a real segment.
    `clusters` and `min_companies` (deal level) go to find_candidates: support in companies, p allowing for them.
    `searched()` is called after each round's search (progress: at most `max_segments` rounds).
    """
    base = good.mean()

    def choose(candidates: list[Candidate]) -> list[Candidate]:
        significant = [c for c in candidates if c.q < config.alpha]
        first = significant[:1]
        strong = [c for c in significant[1:] if wilson_interval(c.k, c.n)[0] / base >= config.detectable_lift]
        return pick_greedy(first + strong, selset, config.max_segments, config.max_segment_overlap)

    candidates, tested = find_candidates(
        selset,
        good,
        "good",
        config,
        min_support,
        health,
        ledger,
        known=known,
        clusters=clusters,
        min_companies=min_companies,
    )
    searched()
    segments = choose(candidates)
    while segments and len(segments) < config.max_segments:
        covered = tier_members(selset, segments)
        more, more_tested = find_candidates(
            selset,
            good,
            "good",
            config,
            min_support,
            health,
            ledger,
            outside=~covered,
            tested_before=tested,
            known=known,
            clusters=clusters,
            min_companies=min_companies,
        )
        searched()
        tested += more_tested
        found = {c.pattern.selectors for c in candidates}
        more = [c for c in more if c.pattern.selectors not in found]
        if not more:
            break
        candidates = sorted(
            candidates + more, key=lambda c: (-wilson_interval(c.k, c.n)[0] / base, -c.n, c.pattern.label)
        )
        chosen = choose(candidates)
        if len(chosen) <= len(segments):
            break
        segments = chosen
    return segments, candidates


def pick_greedy(
    candidates: list[Candidate], selset: SelectorSet, limit: int, max_overlap: float, max_depth: int | None = None
) -> list[Candidate]:
    """Greedy: best first, skipping any that overlaps an earlier pick by more than max_overlap.

    Overlap is the overlap coefficient |A and B| / min(|A|, |B|): a pattern nested in another
    (Reseller AND Online Big inside Reseller) is the same segment, not a second one.
    """
    chosen: list[tuple[Candidate, np.ndarray]] = []
    for c in candidates:
        if max_depth and len(c.pattern.selectors) > max_depth:
            continue
        rows = covered_rows(selset, c.pattern.selectors)
        if all((rows & other).sum() / max(min(rows.sum(), other.sum()), 1) <= max_overlap for _, other in chosen):
            chosen.append((c, rows))
        if len(chosen) == limit:
            break
    return [c for c, _ in chosen]


def build_tiers(
    con,
    frame: str,
    segments: list[Candidate],
    selset: SelectorSet,
    good: np.ndarray,
    config: AnalysisConfig,
    health: HealthResult,
    inputs: AnalysisInputs,
    ledger: Ledger,
    min_support: int = 10,
    *,
    clusters: Clusters | None = None,
    min_companies: int = 0,
    watched: Callable[[], AbstractContextManager[object]] = nullcontext,
) -> list[Tier]:
    """Tier 1 is each segment; Tiers 2 and 3 are its broader parts that still do at least as well as average.

    A part is judged on the entities it adds (those not already in a better tier), so a
    Tier 2 or 3 never borrows its figures from the Tier 1 entities inside it. At deal level (`clusters`), those
    entities must also come from at least `min_companies` companies. `watched()` wraps the scan measuring every
    tier (progress.watch reports its rows).
    """
    tiers: list[Tier] = []
    base = good.mean()
    taken = np.zeros(selset.n, dtype=bool)
    for segment in segments:
        taken |= covered_rows(selset, segment.pattern.selectors)
    for number, segment in enumerate(segments, start=1):
        name = f"ICP {number}"
        chosen = [tuple(segment.pattern.selectors)]
        parts = [tuple(p) for size in range(len(chosen[0]) - 1, 0, -1) for p in itertools.combinations(chosen[0], size)]
        for _ in (2, 3):
            pick = _best_part(
                [p for p in parts if len(p) <= len(chosen[-1]) and p not in chosen],
                selset,
                good,
                base,
                taken,
                min_support,
                clusters,
                min_companies,
            )
            if pick is None:
                break
            chosen.append(pick)
            taken |= covered_rows(selset, pick)
        for tier_number, selectors in enumerate(chosen, start=1):
            tiers.append(
                Tier(
                    tier=cast(Literal[1, 2, 3], tier_number),  # at most three tiers are chosen above
                    segment=name,
                    name=f"{name} Tier {tier_number}: " + " AND ".join(s.label for s in selectors),
                    criteria=[criterion(s, inputs.headers) for s in selectors],
                )
            )
    tiers.sort(key=lambda t: (t.tier, t.segment))
    tier_metrics(con, frame, tiers, health, config, inputs, ledger, watched=watched)
    return tiers


def _best_part(
    options: list[tuple[Selector, ...]],
    selset: SelectorSet,
    good: np.ndarray,
    base: float,
    taken: np.ndarray,
    min_n: int,
    clusters: Clusters | None = None,
    min_companies: int = 0,
) -> tuple[Selector, ...] | None:
    """The option whose new entities (outside `taken`) have the best lower-bound good rate, at least average,
    among at least `min_n` entities (and `min_companies` companies with `clusters`)."""
    best, best_low = None, -1.0
    for option in options:
        rows = covered_rows(selset, option) & ~taken
        n, k = int(rows.sum()), int((rows & good).sum())
        if n < min_n or k / n < base:
            continue
        if clusters is not None and clusters.companies(rows) < min_companies:
            continue
        low = wilson_interval(k, n)[0]
        if low > best_low:
            best, best_low = option, low
    return best


def tier_members(selset: SelectorSet, segments: list[Candidate]) -> np.ndarray:
    """The entities in any of `segments` (a boolean array over the selector set's rows): a tier's union."""
    rows = np.zeros(selset.n, dtype=bool)
    for segment in segments:
        rows |= covered_rows(selset, segment.pattern.selectors)
    return rows


def overlap_with(c: Candidate, tier_rows: np.ndarray, selset: SelectorSet) -> float:
    """The share (0-1) of a candidate's entities already inside `tier_rows`."""
    rows = covered_rows(selset, c.pattern.selectors)
    return float((rows & tier_rows).sum() / max(rows.sum(), 1))


def build_disqualifiers(
    picks: list[Candidate], health: HealthResult, inputs: AnalysisInputs, ledger: Ledger
) -> list[Disqualifier]:
    """The negative ICP: each bad-over-indexing pick as a Disqualifier with its criteria, figures, the reason in
    words and its evidence."""
    out = []
    for c in picks:
        metrics = ledger.get(c.evidence).metrics
        reason = disqualifier_reason(c.k / c.n, metrics["base_rate"], c.n, c.q, health)
        out.append(
            Disqualifier(
                criteria=[criterion(s, inputs.headers) for s in c.pattern.selectors],
                reason=reason,
                metrics=PatternMetrics.model_validate(
                    {
                        k: metrics[k]
                        for k in (
                            "n",
                            "k",
                            "rate",
                            "base_rate",
                            "lift",
                            "ci_low",
                            "ci_high",
                            "p_value",
                            "q_value",
                            "companies",
                        )
                        if k in metrics
                    }
                ),
                evidence=[c.evidence],
            )
        )
    return out


def disqualifier_reason(rate: float, base: float, n: int, q: float, health: HealthResult) -> str:
    """Why a segment is a disqualifier, in the words a seller reads right.

    `rate` and `base` are the bad-outcome shares (0-1) in the segment and overall. When good and bad are the
    two sides of one outcome (won vs lost deals), the good outcome leads: "3.3% of these deals are won vs
    22.5% overall (6.82x less often; 96.7% lost vs 77.5%)", since a bad rate near the base's (97% vs 78%,
    1.2x) undersells a win rate cut by seven. Otherwise (a health cohort, where some entities are neither)
    the bad rate and how many times the base it is."""
    bad_words = group_words("bad", health)
    tail = f"n={n:,}, q={numbers.p_value(q)}"
    if health.definition == "won":
        good, base_good = 1 - rate, 1 - base
        less = f"{numbers.ratio(base_good / good)}x less often" if good > 0 else "none of them"
        return (
            f"{numbers.percent(good)} of these {health.entity}s are {group_words('good', health)} vs "
            f"{numbers.percent(base_good)} overall ({less}; {numbers.percent(rate)} {bad_words} vs "
            f"{numbers.percent(base)}, {tail})"
        )
    return (
        f"{numbers.percent(rate)} of these {health.entity}s are {bad_words} vs {numbers.percent(base)} overall "
        f"({numbers.ratio(rate / base)} times as often, {tail})"
    )
