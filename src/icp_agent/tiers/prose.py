"""The ICP statement in the method's template, and why there is no significant ICP when nothing survived."""

from __future__ import annotations

from typing import TYPE_CHECKING

from icp_agent import numbers
from icp_agent.evidence import Ledger
from icp_agent.health.health_score import (
    HealthResult,
)
from icp_agent.icp_document import Disqualifier, Tier
from icp_agent.tiers.candidates import Candidate
from icp_agent.tiers.support import BelowSupport, smallest_detectable_rate

if TYPE_CHECKING:
    from icp_agent.tiers.analyse import AnalysisConfig


def explain_no_icp(
    candidates: list[Candidate],
    health: HealthResult,
    config: AnalysisConfig,
    ledger: Ledger,
    excluded_fields: list[dict] | None = None,
    below: BelowSupport | None = None,
    min_support: int | None = None,
) -> str:
    """Why nothing survived, and what data would help, from the figures (and which fields were screened out).

    `below` (support.strong_below_support): a significant trait smaller than `min_support`, so never searched;
    the reason then names it and the --min-support that would test it, instead of blaming the data's size."""
    base = health.n_good / max(health.n, 1)
    detectable = smallest_detectable_rate(base, 0.1, health.n)
    if candidates:
        best = min(candidates, key=lambda c: c.p)
        lead = (
            f"the strongest trait, {best.pattern.label}, has {numbers.percent(best.k / best.n)} good vs "
            f"{numbers.percent(base)} overall (lift {numbers.ratio(best.k / best.n / base)}, n={best.n:,}, p={numbers.p_value(best.p)}) but "
            f"q={numbers.p_value(best.q)} after correcting for every pattern tested"
        )
    else:
        lead = "no trait over-indexes among the good at all"
    size = (
        f"a segment of 10% of them would need a good rate of about {numbers.percent(detectable)} to be detected "
        f"reliably (80% power, before the correction)"
        if detectable
        else "even a segment of 10% of them that was always good could not be detected reliably"
    )
    if below is not None and min_support:
        word = health.words[0] if below.direction == "good" else health.words[1]
        reason = (
            f"No significant ICP in this data: {lead}. The data is not too small to show an effect: "
            f"{below.field} = {below.value} has {numbers.percent(below.rate)} {word} vs {numbers.percent(below.base)} "
            f"overall ({numbers.ratio(below.rate / below.base)} times as often, n={below.n:,}, "
            f"q={numbers.p_value(below.q)} among the segments below the minimum), but the minimum support of "
            f"{min_support:,} {health.entity}s kept segments that small out of the search: build with --min-support "
            f"{max(10, below.n):,} to test them."
        )
    else:
        reason = (
            f"No significant ICP in this data: {lead}. With {health.n:,} {health.entity}s and a "
            f"{numbers.percent(base)} good rate, {size}: the differences seen are smaller, so they may be chance. More "
            f"closed deals, a real outcome (churn, expansion), or more fit fields (technologies, funding, growth) "
            f"would help."
        )
    if excluded_fields:
        reason += (
            " Kept out of the criteria: "
            + ", ".join(f"{e['field']} ({e['rule']})" for e in excluded_fields)
            + "; see excluded_fields for why."
        )
    ledger.add(
        "no_significant_icp",
        health.definition,
        reason,
        {"n": health.n, "base_rate": base, "detectable_rate": detectable, "alpha": config.alpha}
        | ({"below_support_n": below.n, "below_support_q": below.q} if below is not None and min_support else {}),
        n=health.n,
    )
    return reason


def icp_statement(tiers: list[Tier], disqualifiers: list[Disqualifier], reason: str | None) -> str:
    """The ICP statement in the method's template: the Tier-1 segments as "companies with ...", then who to turn
    away; with no tier, the reason there is no significant ICP."""
    if not tiers:
        return reason or "No significant ICP in this data."
    tier1 = [t for t in tiers if t.tier == 1]
    segments = "; or ".join(f"companies with {_and(c.label for c in t.criteria)} ({t.segment})" for t in tier1)
    signals = sorted({c.label for t in tiers for c in t.criteria})
    excluded = (
        "; ".join(_and(c.label for c in d.criteria) for d in disqualifiers)
        or "nothing yet (no trait over-indexes significantly among the worst)"
    )
    return f"ICP: {segments}. We recognize a fit by: {', '.join(signals)}. We deliberately exclude: {excluded}."


def _and(labels) -> str:
    labels = list(labels)
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]
