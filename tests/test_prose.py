"""Unit tests of tiers/prose.py: the ICP statement and the reason there is no significant ICP."""

from __future__ import annotations

from icp_agent.evidence import Ledger
from icp_agent.health.health_score import HealthResult
from icp_agent.icp_document import Criterion, Disqualifier, PatternMetrics, Tier
from icp_agent.patterns.search import Pattern
from icp_agent.patterns.selectors import Selector
from icp_agent.tiers.candidates import Candidate
from icp_agent.tiers.prose import _and, explain_no_icp, icp_statement
from icp_agent.tiers.support import smallest_detectable_rate
from tiers_data import config, won_lost_health


def _c(label: str) -> Criterion:
    field, value = label.split(" = ")
    return Criterion(field=field, op="eq", value=value, label=label)


def _tier(n: int, segment: str, *labels: str) -> Tier:
    return Tier(tier=n, segment=segment, name=f"{segment} Tier {n}", criteria=[_c(x) for x in labels])


def _health() -> HealthResult:
    return won_lost_health(n=400, n_good=100, n_bad=300)


def test_and():
    assert _and(["a"]) == "a"
    assert _and(["a", "b"]) == "a and b"
    assert _and(iter(["a", "b", "c"])) == "a, b and c"


def test_statement_follows_the_template():
    tiers = [
        _tier(1, "ICP 1", "industry = Software", "region = EU"),
        _tier(2, "ICP 1", "industry = Software"),
        _tier(1, "ICP 2", "plan = Pro"),
    ]
    metrics = PatternMetrics(
        n=10, k=9, rate=0.9, base_rate=0.5, lift=1.8, ci_low=0.6, ci_high=0.98, p_value=0.01, q_value=0.02
    )
    dq = [Disqualifier(criteria=[_c("industry = Health")], reason="r", metrics=metrics, evidence=["E1"])]
    assert icp_statement(tiers, dq, None) == (
        "ICP: companies with industry = Software and region = EU (ICP 1); or companies with plan = Pro (ICP 2). "
        "We recognize a fit by: industry = Software, plan = Pro, region = EU. "
        "We deliberately exclude: industry = Health."
    )
    assert icp_statement(tiers[:1], [], None).endswith(
        "We deliberately exclude: nothing yet (no trait over-indexes significantly among the worst)."
    )
    assert icp_statement([], [], "because") == "because"
    assert icp_statement([], [], None) == "No significant ICP in this data."


def test_no_icp_reason_names_the_strongest_trait_and_the_figures():
    selector = Selector("region", "category", "eq", value="EU")
    weak = Candidate(Pattern((selector,), 50, 15, 0.0), "good", p=0.2, q=0.9)
    ledger = Ledger()
    reason = explain_no_icp([weak], _health(), config(), ledger, [{"field": "deal_ref", "rule": "identifier"}])
    assert "region = EU" in reason and "deal_ref (identifier)" in reason
    item = next(i for i in ledger.all() if i.kind == "no_significant_icp")
    # base rate 100 / 400; the good rate a segment of 10% of 400 deals would need (80% power)
    assert item.metrics["base_rate"] == 0.25
    assert item.metrics["detectable_rate"] == smallest_detectable_rate(0.25, 0.1, 400)
    assert 0.25 < item.metrics["detectable_rate"] < 1
    assert item.statement == reason
    none = explain_no_icp([], _health(), config(), Ledger())
    assert "no trait over-indexes among the good at all" in none and "Kept out" not in none


def test_a_strong_effect_below_the_minimum_support_is_named_not_the_datas_size():
    from icp_agent.tiers.support import BelowSupport

    selector = Selector("region", "category", "eq", value="EU")
    weak = Candidate(Pattern((selector,), 50, 15, 0.0), "good", p=0.2, q=0.9)
    below = BelowSupport("industry", "Agency", n=40, k=24, direction="bad", rate=0.6, base=0.2, q=2e-6)
    ledger = Ledger()
    reason = explain_no_icp([weak], _health(), config(), ledger, None, below, 120)
    assert "industry = Agency has 60.0% lost vs 20.0% overall (3.00 times as often, n=40" in reason
    assert "the minimum support of 120 deals kept segments that small out of the search" in reason
    assert reason.endswith("build with --min-support 40 to test them.")
    assert "may be chance" not in reason and "would help" not in reason
    item = next(i for i in ledger.all() if i.kind == "no_significant_icp")
    assert (item.metrics["below_support_n"], item.statement) == (40, reason)
