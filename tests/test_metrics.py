"""Unit tests of tiers/metrics.py: a tier's observed figures, win rate and company key, in SQL."""

from __future__ import annotations

import duckdb
import pytest

from icp_agent.evidence import Ledger
from icp_agent.health.health_score import HealthResult
from icp_agent.icp_document import Criterion, Tier
from icp_agent.schema import AnalysisInputs
from icp_agent.tiers.metrics import (
    _deals_frame,
    _metric_columns,
    _metrics_by_tier,
    _win_rate,
    company_key_sql,
    criteria_sql,
    outcome_columns,
    tier_metrics,
)
from tiers_data import config


def _c(**kwargs) -> Criterion:
    return Criterion(label="x", **kwargs)


@pytest.fixture
def con():
    c = duckdb.connect()
    yield c
    c.close()


def _inputs(deals=None) -> AnalysisInputs:
    return AnalysisInputs(
        customers="customers", deals=deals, fit_fields={"industry": "category"}, headers={}, imports=[], fingerprint=""
    )


def _health(definition="health", entity="customer") -> HealthResult:
    return HealthResult(
        definition=definition, entity=entity, frame="frame", n=6, n_good=2, n_bad=2, components=[], weights={}
    )


def _tier(n: int, value: str, segment="ICP 1") -> Tier:
    return Tier(
        tier=n,
        segment=segment,
        name=f"{segment} Tier {n}: industry = {value}",
        criteria=[_c(field="industry", op="eq", value=value)],
    )


def test_criteria_sql_band_fields_for_an_old_document(con):
    con.execute(
        "CREATE TABLE r AS SELECT * FROM (VALUES (1, 51.0, 200.0), (2, 1.0, 10.0)) t(id, employees_min, employees_max)"
    )
    old = [_c(field="employees", op="gte", min=50)]  # no kind: an icp.json from before kinds were stored
    assert con.execute(f"SELECT id FROM r WHERE {criteria_sql(old, {'employees'})}").fetchall() == [(1,)]


def test_outcome_and_metric_columns_follow_the_frame():
    assert outcome_columns(set()) == []
    assert [c.rsplit(" AS ", 1)[1] for c in outcome_columns({"health", "churned_flag", "nrr_raw"})] == [
        "health_mean",
        "churn_rate",
        "nrr_median",
    ]
    names = [c.rsplit(" AS ", 1)[1] for c in _metric_columns({"churned_flag", "tenure_months", "cac"})]
    assert names == ["n", "n_good", "n_bad", "churn_rate", "annual_churn", "cac_median", "cac_mean"]


def test_tier_metrics_by_hand(con):
    # industry A: 4 customers of 6, 12 months each, 1 churned -> annual churn 1 / (48 / 12) = 0.25, lifetime 4
    # years; mean ARR 1,000 and mean CAC 500 -> LTV:CAC = 1,000 x 4 / 500 = 8
    con.execute("""CREATE TABLE frame AS SELECT * FROM (VALUES
        (0, 'A', 'top', TRUE, FALSE, FALSE, 12.0, 400.0, 900.0, 80.0),
        (1, 'A', 'top', TRUE, FALSE, FALSE, 12.0, 600.0, 1100.0, 70.0),
        (2, 'A', 'middle', FALSE, FALSE, TRUE, 12.0, 500.0, 1000.0, 50.0),
        (3, 'A', 'middle', FALSE, FALSE, FALSE, 12.0, 500.0, 1000.0, 60.0),
        (4, 'B', 'bottom', FALSE, TRUE, TRUE, 6.0, 100.0, 10.0, 10.0),
        (5, 'B', 'bottom', FALSE, TRUE, TRUE, 6.0, 100.0, 10.0, 20.0),
        (6, 'B', NULL, FALSE, FALSE, FALSE, 1.0, 1.0, 1.0, NULL)
    ) t(_row, industry, cohort, good, bad, churned_flag, tenure_months, cac, arr, health)""")
    tiers = [_tier(1, "A")]
    ledger = Ledger()
    tier_metrics(con, "frame", tiers, _health(), config(), _inputs(), ledger)
    m = tiers[0].metrics
    assert (m.n, m.n_good, m.n_bad) == (4, 2, 0)
    assert m.share == pytest.approx(4 / 6, abs=1e-4)  # of the 6 rows with a cohort
    assert (m.churn_rate, m.annual_churn, m.ltv_cac, m.health_mean) == (0.25, 0.25, 8.0, 65.0)
    assert (m.cac_median, m.arr_median) == (500.0, 1000.0)
    # 67% of all is too broad (over 50%); 4 rows is too narrow (under 10)
    assert [f.split(":")[0] for f in tiers[0].flags] == ["too broad", "too narrow"]
    assert ledger.get(tiers[0].evidence[0]).metrics["n"] == 4


def test_each_row_counts_in_its_best_tier(con):
    con.execute("""CREATE TABLE frame AS SELECT range AS _row, CASE WHEN range < 3 THEN 'A' ELSE 'B' END AS industry,
        'x' AS cohort, range % 2 = 0 AS good, range % 2 = 1 AS bad FROM range(20)""")
    tiers = [_tier(1, "A"), _tier(2, "A")]  # a Tier 2 the same as its Tier 1 adds nobody
    tier_metrics(con, "frame", tiers, _health("column"), config(), _inputs(), Ledger())
    assert [(t.metrics.n, t.metrics.good_rate) for t in tiers] == [(3, pytest.approx(2 / 3, abs=1e-4)), (0, None)]


def test_win_rate(con):
    con.execute("""CREATE TABLE d AS SELECT * FROM (VALUES
        ('A', 10.0, TRUE, FALSE), ('A', 20.0, TRUE, FALSE), ('A', 30.0, FALSE, TRUE), ('B', 40.0, FALSE, TRUE),
        ('B', NULL, TRUE, FALSE)) t(industry, size, good, bad)""")
    a = [_c(field="industry", op="eq", value="A")]
    assert _win_rate(con, "d", a) == {"win_rate": pytest.approx(2 / 3), "win_rate_n": 3}
    # a deal in a better tier is not counted again
    small = [_c(field="size", op="lte", max=10, kind="number")]
    assert _win_rate(con, "d", a, [small]) == {"win_rate": 0.5, "win_rate_n": 2}
    assert _win_rate(con, "d", [_c(field="industry", op="eq", value="Z")]) == {}
    assert _win_rate(con, "d", [_c(field="plan", op="eq", value="x")]) == {
        "win_rate_note": "not measurable: the deals have no plan"
    }
    # lost deals must carry the field (at least half of them), or every match looks won
    con.execute("UPDATE d SET size = NULL WHERE bad")
    assert "lost deals carry no size" in _win_rate(con, "d", small)["win_rate_note"]


def test_company_key_sql(con):
    con.execute(
        "CREATE TABLE f AS SELECT * FROM (VALUES (NULL, 'a.com', 'A'), ('1', 'b.com', NULL)) t(company_id, domain, company_name)"
    )
    # the column filled on most rows; on a tie the earlier of id, domain, name
    assert company_key_sql(con, "f") == '"domain"'
    con.execute("CREATE TABLE g AS SELECT 1 AS x")
    assert company_key_sql(con, "g") is None
    con.execute("CREATE TABLE h AS SELECT NULL::VARCHAR AS company_name")
    assert company_key_sql(con, "h") is None


def test_deals_frame(con):
    assert _deals_frame(con, "frame", _health("won", "deal"), _inputs(), ["industry"]) == "frame"
    assert _deals_frame(con, "frame", _health(), _inputs(), ["industry"]) is None
    con.execute("CREATE TABLE customers AS SELECT 0 AS _row, 'a.com' AS domain, 'A' AS industry")
    con.execute(
        "CREATE TABLE deals AS SELECT * FROM (VALUES (0, 'a.com', 'Won'), (1, 'b.com', 'Lost')) t(_row, domain, deal_stage)"
    )
    made = _deals_frame(con, "frame", _health(), _inputs("deals"), ["industry"])
    assert made == "frame_deals"
    assert con.execute(f"SELECT industry, good FROM {made} ORDER BY _row").fetchall() == [("A", True), (None, False)]
    # deals without a won or lost one give no win rate (no error)
    con.execute("CREATE TABLE open_deals AS SELECT 0 AS _row, 'a.com' AS domain, 'Demo' AS deal_stage")
    assert _deals_frame(con, "frame", _health(), _inputs("open_deals"), ["industry"]) is None


@pytest.mark.parametrize("same_key", [False, True])
def test_one_scan_gives_each_tiers_own_query(con, same_key):
    # the figures of every tier come from one grouped scan; each equals what the tier's own query (its evidence)
    # gives, across segments, with overlapping criteria, a tier nobody is left for, and two tiers that share a
    # (tier, segment), where neither is better and a row counts in both (the scan is then not used)
    con.execute("""CREATE TABLE frame AS SELECT range AS _row, ['A', 'B', 'C'][range % 3 + 1] AS industry,
        CASE WHEN range % 5 = 0 THEN NULL ELSE 'x' END AS cohort, range % 2 = 0 AS good, range % 7 = 0 AS bad,
        range * 1.5 AS health FROM range(60)""")
    tiers = [
        _tier(2, "C"),
        _tier(1, "A"),
        _tier(1, "B", segment="ICP 2"),
        _tier(3, "A"),
        _tier(3, "C", segment="ICP 2"),
    ]
    if same_key:  # another ICP 1 Tier 2, on B or C: B is ICP 2 Tier 1's (a better tier), C both Tier 2s'
        tiers[-1].tier, tiers[-1].segment = 2, "ICP 1"
        tiers[-1].criteria = [_c(field="industry", op="in", values=["B", "C"])]
    ledger = Ledger()
    tier_metrics(con, "frame", tiers, _health(), config(), _inputs(), ledger)
    for t in tiers:
        evidence = ledger.get(t.evidence[0])
        n, n_good, mean = con.execute(f"SELECT n, n_good, health_mean FROM ({evidence.query})").fetchone()
        assert (t.metrics.n, t.metrics.n_good, t.metrics.health_mean) == (n, n_good, mean)
    # 48 rows with a cohort, 16 of each industry; Tier 1s come before Tier 2s whatever their segment
    assert [t.metrics.n for t in tiers] == [16, 16, 16, 0, 16 if same_key else 0]


def test_rows_in_no_tier_count_in_none(con):
    # the one scan groups the rows no tier takes under no tier (left out): every tier's figures are its own rows'
    con.execute("""CREATE TABLE frame AS SELECT range AS _row, ['A', 'B', 'D', NULL][range % 4 + 1] AS industry,
        'x' AS cohort, range % 3 = 0 AS good, range % 3 = 1 AS bad, range * 1.0 AS health FROM range(40)""")
    tiers = [_tier(1, "A"), _tier(2, "B")]
    figures = _metrics_by_tier(con, "frame", tiers, "count(*) AS n, count_if(good) AS n_good, avg(health) AS mean")
    assert sorted(figures.values(), key=lambda f: f["n_good"]) == [
        # A: rows 0, 4, ..., 36 (10 rows; good where divisible by 3: 0, 12, 24, 36); B: 1, 5, ..., 37 (9, 21, 33)
        {"n": 10, "n_good": 3, "mean": 19.0},
        {"n": 10, "n_good": 4, "mean": 18.0},
    ]
    assert set(figures) == {id(t) for t in tiers}
