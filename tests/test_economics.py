"""validation/economics.py: Tier 1 vs non-ICP unit economics with 95% intervals, against the method's targets."""

from __future__ import annotations

import math

import duckdb
import pytest
from scipy import stats

from icp_agent.evidence import Ledger
from icp_agent.validation.economics import TARGETS, _means_by_tier1, rate_ci, unit_economics
from minimal_icp import icp, tier

SOFTWARE = [{"field": "industry", "op": "eq", "value": "Software", "kind": "category"}]


@pytest.fixture
def con():
    con = duckdb.connect()
    # 4 Tier-1 customers (Software), 4 others, 1 censored other that churn ignores
    con.execute(
        """CREATE TABLE frame AS SELECT * FROM (VALUES
        ('Software', TRUE,  FALSE, 1.2, 500.0, 20),
        ('Software', TRUE,  FALSE, 1.4, 700.0, 40),
        ('Software', FALSE, FALSE, NULL, NULL, NULL),
        ('Software', FALSE, FALSE, NULL, NULL, NULL),
        ('Retail',   TRUE,  FALSE, 1.0, 900.0, 60),
        ('Retail',   FALSE, FALSE, 1.0, 1100.0, 80),
        ('Retail',   FALSE, FALSE, NULL, NULL, NULL),
        ('Retail',   FALSE, FALSE, NULL, NULL, NULL),
        ('Retail',   TRUE,  TRUE,  NULL, NULL, NULL)
        ) t(industry, churned_flag, censored, nrr_raw, cac, days_to_close)"""
    )
    # deals: Tier 1 3 won of 4 closed, others 1 won of 4 closed, one open deal (not counted)
    con.execute(
        """CREATE TABLE deals AS SELECT * FROM (VALUES
        ('Software', TRUE, FALSE, 100.0), ('Software', TRUE, FALSE, 300.0), ('Software', TRUE, FALSE, 200.0),
        ('Software', FALSE, TRUE, 50.0),
        ('Retail', TRUE, FALSE, 80.0), ('Retail', FALSE, TRUE, 10.0), ('Retail', FALSE, TRUE, 10.0),
        ('Retail', FALSE, TRUE, 10.0), ('Retail', FALSE, FALSE, 999.0)
        ) t(industry, good, bad, amount)"""
    )
    yield con
    con.close()


def test_rate_ci_is_k_over_n_with_a_wilson_interval():
    out = rate_ci(3, 4)
    assert (out["n"], out["k"], out["rate"]) == (4, 3, 0.75)
    # Wilson: (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n), z = 1.959964
    z, n, p = 1.959964, 4, 0.75
    centre, half = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert out["ci_low"] == pytest.approx((centre - half) / (1 + z * z / n), abs=1e-5)
    assert out["ci_high"] == pytest.approx((centre + half) / (1 + z * z / n), abs=1e-5)
    assert rate_ci(0, 0)["rate"] is None


def test_means_by_tier1_are_t_intervals_in_sql_ignoring_nan_and_null():
    con = duckdb.connect()
    # Tier 1 (Software): 1.2, 1.4, NaN, NULL; outside: 5.0 and a NULL-industry row (NULL predicate = outside)
    con.execute(
        "CREATE TABLE f AS SELECT * FROM (VALUES ('Software', 1.2), ('Software', 1.4), ('Software', 'NaN'::DOUBLE), "
        "('Software', NULL), ('Retail', 5.0), (NULL, NULL)) t(industry, v)"
    )
    out = _means_by_tier1(con, "f", "v", "industry = 'Software'")
    # mean 1.3, sd 0.1414, half = t(0.975, 1) * sd / sqrt(2) = 12.706 * 0.1
    icp_side = out["icp"]
    assert icp_side["n"] == 2 and icp_side["mean"] == pytest.approx(1.3)
    assert icp_side["ci_high"] - icp_side["mean"] == pytest.approx(stats.t.ppf(0.975, 1) * 0.1, rel=1e-9)
    assert icp_side["mean"] - icp_side["ci_low"] == pytest.approx(stats.t.ppf(0.975, 1) * 0.1, rel=1e-9)
    assert icp_side["median"] == pytest.approx(1.3)
    assert out["non_icp"] == {"n": 1, "mean": 5.0}  # one value: no interval
    # a side with no value at all; `where` filters before the split
    assert _means_by_tier1(con, "f", "v", "industry = 'Software'", "industry = 'Software'")["non_icp"] == {
        "n": 0,
        "mean": None,
    }
    # the median of an even count is the midpoint, as numpy's
    con.execute("INSERT INTO f VALUES ('Retail', 6.0), ('Retail', 9.0), ('Retail', 10.0)")
    assert _means_by_tier1(con, "f", "v", "industry = 'Software'")["non_icp"]["median"] == pytest.approx(7.5)


def test_unit_economics_compares_tier1_with_the_rest(con):
    ledger = Ledger()
    out = unit_economics(con, "frame", "deals", icp([tier(1, SOFTWARE)]), ledger)
    c = out["comparisons"]
    # churn over uncensored rows: Tier 1 2 of 4, others 1 of 4 (the censored churned one is left out)
    assert (c["churn"]["icp"]["k"], c["churn"]["icp"]["n"]) == (2, 4)
    assert (c["churn"]["non_icp"]["k"], c["churn"]["non_icp"]["n"]) == (1, 4)
    assert c["nrr"]["icp"]["mean"] == pytest.approx(1.3) and c["nrr"]["non_icp"]["mean"] == pytest.approx(1.0)
    assert c["cac"]["icp"]["mean"] == pytest.approx(600) and c["cac"]["non_icp"]["mean"] == pytest.approx(1000)
    assert c["sales_cycle_days"]["icp"]["mean"] == pytest.approx(30)
    assert (c["win_rate"]["icp"]["k"], c["win_rate"]["icp"]["n"]) == (3, 4)
    assert (c["win_rate"]["non_icp"]["k"], c["win_rate"]["non_icp"]["n"]) == (1, 4)
    # ACV: won deals only, median of 100, 300, 200 is 200; mean 200
    assert c["acv"]["icp"]["mean"] == pytest.approx(200) and c["acv"]["non_icp"]["n"] == 1
    targets = {t["metric"]: t for t in out["targets"]}
    assert list(targets) == list(TARGETS)
    assert targets["win_rate"]["ratio"] == pytest.approx(3.0) and targets["win_rate"]["status"] == "met"
    assert targets["nrr"]["ratio"] == pytest.approx(1.3) and targets["nrr"]["status"] == "met"  # >= 1.2
    assert targets["cac"]["ratio"] == pytest.approx(0.6) and targets["cac"]["status"] == "met"  # <= 0.7
    # cycle 30 vs 70 days: 0.429 <= 0.7
    assert targets["sales_cycle_days"]["ratio"] == pytest.approx(30 / 70, abs=1e-3)
    assert targets["sales_cycle_days"]["status"] == "met"
    item = ledger.get(targets["cac"]["evidence"])
    assert item.kind == "validation_target" and item.metrics["ratio"] == pytest.approx(0.6) and item.n == 4
    assert ledger.get(out["churn_evidence"]).metrics["icp"]["rate"] == 0.5


def test_a_target_not_met_and_one_side_missing(con):
    con.execute("UPDATE frame SET cac = 950 WHERE industry = 'Software'")  # 950 / 1000 = 0.95 > 0.7
    con.execute("UPDATE frame SET nrr_raw = NULL WHERE industry = 'Retail'")
    out = unit_economics(con, "frame", None, icp([tier(1, SOFTWARE)]), Ledger())
    targets = {t["metric"]: t for t in out["targets"]}
    assert targets["cac"]["status"] == "not met" and targets["cac"]["ratio"] == pytest.approx(0.95)
    assert targets["nrr"]["status"] == "not measurable"
    assert targets["nrr"]["reason"] == "one side (Tier 1 or non-ICP) has no value"
    assert targets["win_rate"] == {
        "metric": "win_rate",
        "target": TARGETS["win_rate"][2],
        "status": "not measurable",
        "reason": "no data for this metric",
    }


def test_no_tier1_gives_nothing_to_compare(con):
    ledger = Ledger()
    out = unit_economics(con, "frame", "deals", icp([tier(2, SOFTWARE)]), ledger)
    assert out == {"comparisons": {}, "targets": [], "not_measurable": {}}
    assert ledger.all() == []


def test_deals_without_the_tier1_field_are_not_measurable(con):
    con.execute("ALTER TABLE deals DROP COLUMN industry")
    out = unit_economics(con, "frame", "deals", icp([tier(1, SOFTWARE)]), Ledger())
    assert "win_rate" not in out["comparisons"] and "acv" not in out["comparisons"]
    assert out["not_measurable"]["win_rate"] == "the deals have no industry"
    targets = {t["metric"]: t for t in out["targets"]}
    assert targets["win_rate"]["reason"] == "the deals have no industry"


def test_lost_deals_mostly_without_the_field_make_win_rate_not_measurable(con):
    con.execute("UPDATE deals SET industry = NULL WHERE bad")  # 5 of 5 lost deals have no industry
    out = unit_economics(con, "frame", "deals", icp([tier(1, SOFTWARE)]), Ledger())
    assert "win_rate" not in out["comparisons"]
    assert out["not_measurable"]["win_rate"] == "lost deals carry no industry"


def test_rate_comparisons_keep_one_order_whatever_the_rows_order(con):
    # the Tier-1 rows come first in both tables: a GROUP BY without ORDER BY gave its groups in the order the engine
    # met them (and, in parallel, in whichever order its threads finished), so icp.json's keys could swap between
    # two builds of the same data; both rate comparisons read non_icp, then icp
    out = unit_economics(con, "frame", "deals", icp([tier(1, SOFTWARE)]), Ledger())
    assert list(out["comparisons"]["churn"]) == ["non_icp", "icp"]
    assert list(out["comparisons"]["win_rate"]) == ["non_icp", "icp"]


def test_churn_by_tier1_counts_every_row_of_alike_customers():
    # the Tier-1 predicate is evaluated per distinct combination of the columns it reads (a list in any spelling,
    # a band's bounds), weighted by the rows: rows alike in those columns still count one by one
    con = duckdb.connect()
    con.execute(
        """CREATE TABLE frame AS SELECT ['HubSpot', 'Slack'][i % 2 + 1] AS x,
                  CASE i % 3 WHEN 0 THEN ['slack', 'Zoom'] WHEN 1 THEN ['Salesforce'] END AS tech,
                  51.0 AS size_min, CASE WHEN i % 5 = 0 THEN 500.0 ELSE 200.0 END AS size_max,
                  i % 4 = 0 AS churned_flag, i % 7 = 0 AS censored FROM range(420) t(i)"""
    )
    tech = {"field": "tech", "op": "contains", "value": "Slack", "kind": "list"}
    size = {"field": "size", "op": "between", "min": 51, "max": 200, "kind": "band"}
    out = unit_economics(con, "frame", None, icp([tier(1, [tech, size])]), Ledger())
    rows = con.execute(
        "SELECT i % 3 = 0 AND i % 5 <> 0, count(*), count_if(i % 4 = 0) FROM range(420) t(i) WHERE i % 7 <> 0 "
        "GROUP BY ALL ORDER BY 1"
    ).fetchall()
    assert [(c["n"], c["k"]) for c in out["comparisons"]["churn"].values()] == [(n, k) for _, n, k in rows]
    assert list(out["comparisons"]["churn"]) == ["non_icp", "icp"] and rows[1][1] == 96
