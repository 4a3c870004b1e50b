"""Unit tests of tiers/segments.py: picking segments, their tiers, and the disqualifiers."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from icp_agent.evidence import Ledger
from icp_agent.health.health_score import HealthResult
from icp_agent.patterns.search import Pattern
from icp_agent.patterns.selectors import Selector
from icp_agent.tiers.candidates import Candidate, find_candidates
from icp_agent.tiers.segments import (
    _best_part,
    build_disqualifiers,
    overlap_with,
    pick_greedy,
    choose_segments,
    tier_members,
    build_tiers,
    disqualifier_reason,
)
from tiers_data import config, inputs, prepared

SOFTWARE = Selector("industry", "category", "eq", value="Software")
HEALTH = Selector("industry", "category", "eq", value="Health")
BIG = Selector("headcount", "number", "gte", min=500.0)
TOP = Selector("headcount", "number", "between", min=400.0, max=500.0, max_exclusive=True)
NORTH = Selector("region", "category", "eq", value="north")


@pytest.fixture(scope="module")
def data():
    con = duckdb.connect()
    yield con, *prepared(con)
    con.close()


def _candidate(selset, target, *selectors, direction="good"):
    rows = np.ones(selset.n, bool)
    for s in selectors:
        rows &= selset.mask(s)
    return Candidate(Pattern(tuple(selectors), int(rows.sum()), int((rows & target).sum()), 0.0), direction)


def test_segments_by_sequential_covering(data):
    _, health, selset, good, _ = data
    segments, candidates = choose_segments(selset, good, config(), 50, health, Ledger())
    # ICP 1 and a second, distinct and strong segment found on the rows ICP 1 leaves
    assert [(c.pattern.label, c.n, c.k) for c in segments] == [
        ("headcount >= 500 AND industry = Software", 60, 54),
        ("headcount in [400, 500) AND industry = Software", 60, 54),
    ]
    assert len(candidates) >= len(segments)
    one, _ = choose_segments(selset, good, config(max_segments=1), 50, health, Ledger())
    assert [c.pattern.label for c in one] == ["headcount >= 500 AND industry = Software"]


def test_pick_skips_overlapping_and_deep(data):
    _, _, selset, good, _ = data
    big_sw = _candidate(selset, good, BIG, SOFTWARE)
    software = _candidate(selset, good, SOFTWARE)
    top_sw = _candidate(selset, good, TOP, SOFTWARE)
    # Software holds all of big_sw: overlap coefficient 60 / 60 = 1 > 0.2, skipped; top_sw is disjoint
    assert pick_greedy([big_sw, software, top_sw], selset, 3, 0.2) == [big_sw, top_sw]
    assert pick_greedy([big_sw, software, top_sw], selset, 1, 0.2) == [big_sw]
    assert pick_greedy([big_sw, software, top_sw], selset, 3, 0.2, max_depth=1) == [software]
    # with overlap allowed, nested patterns are all kept
    assert pick_greedy([big_sw, software, top_sw], selset, 3, 1.0) == [big_sw, software, top_sw]


def test_members_and_overlap(data):
    _, _, selset, good, _ = data
    segments = [_candidate(selset, good, BIG, SOFTWARE), _candidate(selset, good, TOP, SOFTWARE)]
    members = tier_members(selset, segments)
    assert int(members.sum()) == 120
    software = _candidate(selset, good, SOFTWARE)
    assert overlap_with(software, members, selset) == pytest.approx(120 / 300)


def test_best_part_is_judged_on_the_rows_it_adds(data):
    _, _, selset, good, _ = data
    taken = selset.mask(BIG) & selset.mask(SOFTWARE)
    # Software without the big ones: 240 rows, 146 converted (61%); headcount >= 500 without Software: 180
    # rows, 42 converted (23%, below the 34% base): not a tier
    assert _best_part([(SOFTWARE,), (BIG,)], selset, good, good.mean(), taken, 10) == (SOFTWARE,)
    assert _best_part([(BIG,)], selset, good, good.mean(), taken, 10) is None
    assert _best_part([(SOFTWARE,)], selset, good, good.mean(), taken, 500) is None  # too few rows


def test_tiers_of_a_segment(data):
    con, health, selset, good, _ = data
    segment = _candidate(selset, good, BIG, SOFTWARE)
    tiers = build_tiers(con, "frame", [segment], selset, good, config(), health, inputs(), Ledger())
    assert [(t.tier, t.name) for t in tiers] == [
        (1, "ICP 1 Tier 1: headcount >= 500 AND industry = Software"),
        (2, "ICP 1 Tier 2: industry = Software"),
    ]
    # each entity counts in its best tier only
    assert [(t.metrics.n, t.metrics.n_good) for t in tiers] == [(60, 54), (240, 146)]
    assert all(t.evidence for t in tiers)


def _health(definition="column") -> HealthResult:
    return HealthResult(
        definition=definition,
        entity="deal" if definition == "won" else "customer",
        frame="frame",
        n=100,
        n_good=25,
        n_bad=75,
        components=[],
        weights={},
        words=("won", "lost") if definition == "won" else ("converted", "not converted"),
    )


def test_disqualifiers(data):
    _, health, selset, _, bad = data
    ledger = Ledger()
    found, _ = find_candidates(selset, bad, "bad", config(), 50, health, ledger)
    health_dq = next(c for c in found if c.pattern.label == "industry = Health")
    (dq,) = build_disqualifiers([health_dq], health, inputs(), ledger)
    assert [c.field for c in dq.criteria] == ["industry"] and dq.criteria[0].header == "Industry"
    assert (dq.metrics.n, dq.metrics.k, dq.metrics.rate) == (300, 270, 0.9)
    assert dq.metrics.base_rate == pytest.approx(790 / 1200)
    assert dq.evidence == [health_dq.evidence]


def test_disqualifier_reason_leads_with_the_win_rate_for_deals():
    # won vs lost (3.3% won vs 22.5%): the win rate leads, then the lost rate (numbers' format not asserted)
    won = disqualifier_reason(0.967, 0.775, 30, 0.001, _health("won"))
    assert won.index(" won vs ") < won.index("less often") < won.index(" lost vs ")
    assert "none of them" in disqualifier_reason(1.0, 0.775, 30, 0.001, _health("won"))
    # otherwise the bad rate leads, as a multiple of the base
    other = disqualifier_reason(0.9, 0.6, 300, 1e-8, _health())
    assert " not converted vs " in other and "times as often" in other and "less often" not in other
