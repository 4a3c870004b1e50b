"""validation/market.py: tier shares of the prospect universe, penetration, the revenue-target check and the
share of open pipeline in Tier 1."""

from __future__ import annotations

import duckdb
import pytest

from icp_agent.evidence import Ledger
from icp_agent.validation.market import _prospects_already_customers, _tier1_acv, market
from minimal_icp import icp, tier

SOFTWARE = [{"field": "industry", "op": "eq", "value": "Software", "kind": "category"}]
RETAIL = [{"field": "industry", "op": "eq", "value": "Retail", "kind": "category"}]


def doc():
    return icp([tier(1, SOFTWARE, customers=3, n=5), tier(2, RETAIL, n=4)], id="icp-m")


@pytest.fixture
def con():
    con = duckdb.connect()
    # 10 prospects: 4 Software (a.com is already a customer), 6 Retail
    con.execute(
        """CREATE TABLE prospects AS SELECT * FROM (VALUES
        ('A.com', 'Software'), ('p2.com', 'Software'), ('p3.com', 'Software'), ('p4.com', 'Software'),
        ('r1.com', 'Retail'), ('r2.com', 'Retail'), ('r3.com', 'Retail'), ('r4.com', 'Retail'),
        ('r5.com', 'Retail'), ('r6.com', 'Retail')) t(domain, industry)"""
    )
    # the version's frame: a.com a Software customer with a cohort; r1.com a Retail one without (not counted)
    con.execute(
        """CREATE TABLE frame_icp_m AS SELECT * FROM (VALUES
        ('a.com', 'Software', 'top'), ('r1.com', 'Retail', NULL)) t(domain, industry, cohort)"""
    )
    # deals: Tier-1 won amounts 100, 200, 300 (median 200); 4 open deals, 1 of them Tier 1
    con.execute(
        """CREATE TABLE deals AS SELECT * FROM (VALUES
        ('Software', TRUE, 100.0, 'top'), ('Software', TRUE, 300.0, 'top'), ('Software', TRUE, 200.0, 'top'),
        ('Software', FALSE, 5000.0, 'bottom'), ('Retail', TRUE, 9000.0, 'top'),
        ('Software', FALSE, NULL, 'open'), ('Retail', FALSE, NULL, 'open'), ('Retail', FALSE, NULL, 'open'),
        ('Retail', FALSE, NULL, 'open')) t(industry, good, amount, cohort)"""
    )
    yield con
    con.close()


def test_market_shares_penetration_revenue_and_pipeline(con):
    ledger = Ledger()
    out = market(con, "prospects", doc(), ledger, 300.0, "deals")
    assert out["prospects"] == 10
    t1, t2 = out["tiers"]
    # Tier 1: 4 of 10 prospects; 3 customers + 4 matching - 1 already a customer (a.com, any case) = 6 accounts
    assert (t1["prospects"], t1["share"], t1["customers"], t1["already_customers"]) == (4, 0.4, 3, 1)
    assert t1["penetration"] == pytest.approx(3 / 6)
    # Tier 2: no customers metric, so n = 4; r1.com has no cohort, so none already a customer: 4 / (4 + 6)
    assert (t2["prospects"], t2["customers"], t2["already_customers"]) == (6, 4, 0)
    assert t2["penetration"] == pytest.approx(0.4)
    assert ledger.get(t1["evidence"]).metrics["prospects"] == 4
    # revenue: 4 Tier-1 accounts x median Tier-1 ACV 200 = 800, under 3 x 300
    check = out["revenue_check"]
    assert (check["tier1_accounts"], check["median_tier1_acv"], check["potential"]) == (4, 200.0, 800.0)
    assert check["status"] == "too narrow"
    assert ledger.get(check["evidence"]).metrics["potential"] == 800.0
    # open pipeline: 1 of 4 open deals in Tier 1, under 40%
    pipe = out["open_pipeline"]
    assert (pipe["open_deals"], pipe["in_tier1"], pipe["share"], pipe["status"]) == (4, 1, 0.25, "targeting problem")
    assert len(out["warnings"]) == 3  # Tier 2 too broad (60%), Tier 1 too narrow, pipeline under 40%
    assert "Tier 1 is too narrow for the revenue target" in out["warnings"]


def test_a_revenue_target_met_and_healthy_pipeline(con):
    con.execute("UPDATE deals SET industry = 'Software' WHERE cohort = 'open'")
    out = market(con, "prospects", doc(), Ledger(), 200.0, "deals")
    assert out["revenue_check"]["status"] == "large enough"  # 800 >= 3 x 200
    assert out["open_pipeline"]["share"] == 1.0 and out["open_pipeline"]["status"] == "ok"


def test_a_prospect_list_without_the_field_is_not_measurable(con):
    con.execute("ALTER TABLE prospects DROP COLUMN industry")
    out = market(con, "prospects", doc(), Ledger(), None, None)
    assert out["tiers"] == [
        {"tier": "ICP 1 Tier 1", "status": "not measurable: the prospect list lacks industry"},
        {"tier": "ICP 1 Tier 2", "status": "not measurable: the prospect list lacks industry"},
    ]
    assert "revenue_check" not in out and "open_pipeline" not in out


def test_no_prospects_and_no_deals_is_empty():
    out = market(duckdb.connect(), None, doc(), Ledger(), 1000.0, None)
    assert out == {"tiers": [], "warnings": []}


def test_a_revenue_target_without_deal_amounts_is_not_measurable(con):
    out = market(con, "prospects", doc(), Ledger(), 300.0, None)
    assert out["revenue_check"]["potential"] is None
    assert out["revenue_check"]["status"].startswith("not measurable")


def test_open_deals_without_the_tier1_field_are_not_measurable(con):
    con.execute("UPDATE deals SET industry = NULL WHERE cohort = 'open'")
    out = market(con, None, doc(), Ledger(), None, "deals")
    assert out["open_pipeline"] == {"status": "not measurable: open deals carry no industry"}


def test_tier1_acv_is_the_median_won_amount_in_tier1(con):
    assert _tier1_acv(con, "deals", doc()) == 200.0
    assert _tier1_acv(con, None, doc()) is None
    con.execute("ALTER TABLE deals DROP COLUMN amount")
    assert _tier1_acv(con, "deals", doc()) is None


def test_already_customers_needs_the_versions_frame(con):
    t1 = doc().tiers[0]
    assert _prospects_already_customers(con, "prospects", doc(), t1) == 1
    assert _prospects_already_customers(con, "prospects", icp([t1], id="icp-other"), t1) == 0  # no frame
