"""drift/versions.py: what changed between two ICP versions (PSI per field, tier migration, pattern changes, the
old Tier 1 on the new customers) and the recommendation to keep, recalibrate or rebuild."""

from __future__ import annotations

import math

import duckdb
import pytest

from icp_agent.drift.versions import (
    PSI_ACT,
    PSI_WATCH,
    _psi_status,
    diff,
    field_psi,
    frame_of,
    migration,
    old_icp_on_new_customers,
    pattern_changes,
    psi,
)
from icp_agent.evidence import Ledger
from icp_agent.icp_document import PatternStat
from minimal_icp import icp, tier

SOFTWARE = [{"field": "industry", "op": "eq", "value": "Software", "kind": "category"}]
RETAIL = [{"field": "industry", "op": "eq", "value": "Retail", "kind": "category"}]


def pattern(label: str, lift: float, q: float, direction: str = "good") -> PatternStat:
    return PatternStat(direction=direction, label=label, criteria=[], n=10, k=5, rate=0.5, base_rate=0.2, lift=lift,
                       wracc=0.1, ci_low=0.2, ci_high=0.8, p_value=q, q_value=q, evidence="E0")  # fmt: skip


def test_psi_against_a_hand_computed_value():
    # (0.25 - 0.5) ln(0.25/0.5) + (0.75 - 0.5) ln(0.75/0.5) = 0.25 ln 2 + 0.25 ln 1.5 = 0.274653
    assert psi([50, 50], [25, 75]) == pytest.approx(0.25 * math.log(2) + 0.25 * math.log(1.5))
    assert psi([50, 50], [25, 75]) == pytest.approx(0.274653, abs=1e-6)
    assert psi([10, 20, 30], [1, 2, 3]) == 0.0  # same shares, any totals
    # an empty bin is floored at 1e-4 instead of dividing by zero: (0.5 - 1e-4) ln(0.5 / 1e-4) + (1e-4 - 0.5) ln(...)
    assert psi([10, 0], [5, 5]) == pytest.approx((0.5 - 1e-4) * math.log(0.5 / 1e-4) + (0.5 - 1) * math.log(0.5))
    assert psi([], []) == 0.0


def test_psi_status_thresholds():
    assert [_psi_status(v) for v in (0.0, PSI_WATCH - 1e-9, PSI_WATCH, PSI_ACT - 1e-9, PSI_ACT)] == [
        "stable", "stable", "watch", "watch", "shifted"]  # fmt: skip


@pytest.fixture
def con():
    con = duckdb.connect()
    # old: companies 1-4 (2 Software, 2 Retail); new: 1-4 again plus 5-12 arrived since
    con.execute(
        """CREATE TABLE frame_icp_old AS SELECT * FROM (VALUES
        (1, 'Software', 10, TRUE, 'top'), (2, 'Software', 20, FALSE, 'middle'),
        (3, 'Retail', 30, FALSE, 'bottom'), (4, 'Retail', 40, TRUE, 'top')
        ) t(company_id, industry, employees, good, cohort)"""
    )
    con.execute(
        """CREATE TABLE frame_icp_new AS SELECT * FROM (VALUES
        (1, 'Software', 10, TRUE, 'top'), (2, 'Retail', 20, FALSE, 'middle'),
        (3, 'Retail', 30, FALSE, 'bottom'), (4, 'Retail', 40, TRUE, 'top'),
        (5, 'Software', 50, TRUE, 'top'), (6, 'Software', 50, TRUE, 'top'), (7, 'Software', 50, TRUE, 'top'),
        (8, 'Software', 50, FALSE, 'middle'), (9, 'Retail', 50, FALSE, 'bottom'), (10, 'Retail', 50, FALSE, 'bottom'),
        (11, 'Retail', 50, FALSE, 'middle'), (12, 'Retail', 50, TRUE, NULL)
        ) t(company_id, industry, employees, good, cohort)"""
    )
    yield con
    con.close()


def test_frame_of_names_the_versions_table():
    assert frame_of(icp(id="icp-2026-a")) == "frame_icp_2026_a"


def test_field_psi_per_field(con):
    out = field_psi(con, "frame_icp_old", "frame_icp_new", {"industry": "category", "country": "category"})
    assert list(out) == ["industry"]  # country is in neither frame: left out
    # old 2 Software / 2 Retail; new 5 Software / 7 Retail of 12
    expected = psi([2, 2], [7, 5])
    assert out["industry"]["psi"] == round(expected, 4) and out["industry"]["bins"] == 2
    assert out["industry"]["status"] == _psi_status(expected)


def test_migration_counts_each_company_once(con):
    old = icp([tier(1, SOFTWARE), tier(2, RETAIL)], id="icp-old")
    new = icp([tier(1, RETAIL)], id="icp-new")
    out = migration(con, old, new, "company_id")
    # 1: Software 1 -> none; 2: Software 1 -> Retail 1; 3, 4: Retail 2 -> 1
    assert out["matrix"] == {"1": {"1": 1, "none": 1}, "2": {"1": 2}}
    assert (out["in_both"], out["changed_tier"], out["entity"], out["customers_in_both"]) == (4, 3, "customers", 4)
    deals = migration(con, icp([tier(1, SOFTWARE)], id="icp-old", entity="deal"), new, "company_id")
    assert deals["entity"] == "companies" and "customers_in_both" not in deals


def test_pattern_changes():
    old = icp(patterns=[pattern("a", 3.0, 0.01), pattern("b", 2.0, 0.01), pattern("c", 2.0, 0.01),
                        pattern("x", 5.0, 0.5)])  # fmt: skip
    new = icp(patterns=[pattern("a", 2.0, 0.01), pattern("b", 1.9, 0.01), pattern("c", 2.0, 0.2),
                        pattern("d", 4.0, 0.001), pattern("x", 5.0, 0.01)])  # fmt: skip
    out = pattern_changes(old, new)
    # a: 2.0 < 0.85 x 3.0 weakened; b: 1.9 >= 1.7 holds; c: no longer significant; d, x: newly significant
    assert out["weakened"] == [{"pattern": "a", "direction": "good", "lift_before": 3.0, "lift_after": 2.0}]
    assert out["vanished"] == [{"pattern": "c", "direction": "good", "lift_before": 2.0, "lift_after": 2.0}]
    assert [p["pattern"] for p in out["appeared"]] == ["d", "x"]
    gone = pattern_changes(old, icp())["vanished"]
    assert [(p["pattern"], p["lift_after"]) for p in gone] == [("a", None), ("b", None), ("c", None)]


def test_old_tier1_on_the_new_customers(con):
    old = icp([tier(1, SOFTWARE)], id="icp-old")
    out = old_icp_on_new_customers(con, old, icp(id="icp-new"), "company_id")
    # new companies 5-11 with a cohort: Software 3 good of 4, Retail 0 of 3 (12 has no cohort)
    assert (out["new_in_tier1"]["n"], out["new_in_tier1"]["good"]) == (4, 3)
    assert (out["new_outside"]["n"], out["new_outside"]["good"]) == (3, 0)
    # Fisher exact two-sided on [[3, 1], [0, 3]]: (C(4,3)C(3,0) + C(4,0)C(3,3)) / C(7,3) = (4 + 1) / 35
    assert out["p_value"] == pytest.approx(5 / 35)
    assert out["status"] == "did not hold"  # better, but p = 0.14 is not significant


def test_old_tier1_not_measurable(con):
    no_tier1 = old_icp_on_new_customers(con, icp(id="icp-old"), icp(id="icp-new"), "company_id")
    assert no_tier1 == {"status": "not measurable", "reason": "the old version had no Tier 1"}
    other = icp([tier(1, [{"field": "region", "op": "eq", "value": "EU", "kind": "category"}])], id="icp-old")
    out = old_icp_on_new_customers(con, other, icp(id="icp-new"), "company_id")
    assert out["reason"] == "the old Tier 1 reads region, which the new snapshot lacks"
    con.execute("DELETE FROM frame_icp_new WHERE industry = 'Retail'")
    one_side = old_icp_on_new_customers(con, icp([tier(1, SOFTWARE)], id="icp-old"), icp(id="icp-new"), "company_id")
    assert one_side["reason"] == "4 new customers, not enough on both sides of Tier 1"


def test_diff_recommends_a_rebuild_when_tier1_changed(con):
    old = icp([tier(1, SOFTWARE)], id="icp-old")
    new = icp([tier(1, RETAIL)], id="icp-new")
    ledger = Ledger()
    out = diff(con, old, new, {"industry": "category"}, ledger)
    assert (out["old"], out["new"], out["same_data"]) == ("icp-old", "icp-new", True)
    assert out["migration"]["key"] == "company_id"
    assert out["recommendation"] == "rebuild the ICP"
    assert "industry = Software no longer holds" in out["why"]
    assert "the old Tier 1 did not hold the best new customers" in out["why"]
    assert ledger.get(out["evidence"]).metrics["recommendation"] == "rebuild the ICP"


def test_diff_keeps_or_recalibrates_by_psi(con):
    old = icp([tier(1, SOFTWARE)], id="icp-old")
    new = icp([tier(1, SOFTWARE)], id="icp-new")
    con.execute("UPDATE frame_icp_new SET good = TRUE, cohort = 'top' WHERE industry = 'Retail' AND company_id > 4")
    con.execute(
        "UPDATE frame_icp_new SET good = FALSE, cohort = 'bottom' WHERE industry = 'Software' AND company_id > 4"
    )
    out = diff(con, old, new, {"employees": "number"}, Ledger())
    # employees: every new company at 50, above the old deciles: the top bin grows from 1 of 4 to 8 of 12
    assert out["fields"]["employees"]["status"] == "shifted"
    assert out["old_icp_on_new_customers"]["status"] == "did not hold"
    assert out["recommendation"] == "rebuild the ICP"
    # without the new Retail companies the old Tier 1 cannot be tested: employees' shift asks for a recalibration
    con.execute("DELETE FROM frame_icp_new WHERE company_id > 4 AND industry = 'Retail'")
    recalibrate = diff(con, old, new, {"employees": "number"}, Ledger())
    assert recalibrate["old_icp_on_new_customers"]["status"] == "not measurable"
    assert recalibrate["recommendation"] == "recalibrate the scorecard"
    assert recalibrate["why"] == "the distribution of employees moved (PSI >= 0.25)"
    con.execute("DELETE FROM frame_icp_new WHERE company_id > 4")
    con.execute("UPDATE frame_icp_new SET industry = 'Software' WHERE company_id = 2")
    kept = diff(con, old, new, {"employees": "number", "industry": "category"}, Ledger())
    assert kept["fields"]["employees"]["psi"] == 0.0 and kept["fields"]["industry"]["psi"] == 0.0
    assert kept["old_icp_on_new_customers"]["status"] == "not measurable"
    assert (kept["recommendation"], kept["why"]) == ("keep", "the tiers hold and no field moved beyond PSI 0.1")
    leaky = icp([tier(1, SOFTWARE)], id="icp-new", excluded_fields=[{"field": "industry", "rule": "leakage"}])
    screened = diff(con, old, leaky, {"industry": "category"}, Ledger())
    assert screened["fields"] == {}
