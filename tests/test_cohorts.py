"""Unit tests of tiers/cohorts.py: icp.json's health section from a health frame."""

from __future__ import annotations

import duckdb
import pytest

from icp_agent.evidence import Ledger
from icp_agent.health.health_score import HealthConfig, build_deals_frame, build_frame
from icp_agent.tiers.cohorts import health_summary
from tiers_data import config


@pytest.fixture
def con():
    c = duckdb.connect()
    yield c
    c.close()


def test_health_cohorts_metrics_and_histogram(con):
    # NPS 1..10: health = 100 x percent_rank = 0, 11.1, ..., 100, and its own rank the same; top 20% = rank
    # >= 0.8 (88.9, 100; 77.8 ranks 0.78), bottom = rank < 0.2 (0, 11.1)
    con.execute("CREATE TABLE c AS SELECT range AS _row, range + 1 AS nps FROM range(10)")
    health = build_frame(con, "c", None, "frame", HealthConfig(), [])
    ledger = Ledger()
    summary = health_summary(con, health, config(), ledger)
    assert (summary.definition, summary.n, summary.n_good, summary.n_bad) == ("health", 10, 2, 2)
    assert summary.cohort_sizes == {"top": 2, "middle": 6, "bottom": 2}
    assert {k: v.n for k, v in summary.cohort_metrics.items()} == {"bottom": 2, "middle": 6, "top": 2}
    assert summary.cohort_metrics["top"].health_mean == pytest.approx((88.89 + 100) / 2, abs=0.05)
    # one bar per tenth of the score, 100 in the last
    assert summary.histogram == {
        "bottom": [1, 1, 0, 0, 0, 0, 0, 0, 0, 0],
        "middle": [0, 0, 1, 1, 1, 1, 1, 1, 0, 0],
        "top": [0, 0, 0, 0, 0, 0, 0, 0, 1, 1],
    }
    assert summary.weights == {"nps": 10.0} and summary.min_tenure_months == 6.0
    assert "NPS" in summary.description
    # the definition and one item per cohort, each in the ledger with its figures
    assert len(summary.evidence) == 4
    assert ledger.get(summary.evidence[0]).metrics["n_good"] == 2
    assert sorted(ledger.get(e).metrics["n"] for e in summary.evidence[1:]) == [2, 2, 6]


def test_column_definition(con):
    con.execute("CREATE TABLE c AS SELECT range AS _row, range < 3 AS churned FROM range(10)")
    health = build_frame(con, "c", None, "frame", HealthConfig(bad_column="churned"), [])
    summary = health_summary(con, health, config(), Ledger())
    assert (summary.good_column, summary.good_words, summary.bad_words) == ("churned", "retained", "churned")
    assert {k: v.n for k, v in summary.cohort_metrics.items()} == {"bad": 3, "good": 7}
    assert summary.histogram == {} and summary.min_tenure_months is None
    assert "'churned'" in summary.description


def test_won_deals_get_the_median_amount(con):
    con.execute(
        "CREATE TABLE d AS SELECT * FROM (VALUES (0, 'Won', 100.0), (1, 'Won', 300.0), (2, 'Lost', 50.0)) "
        "t(_row, deal_stage, amount)"
    )
    health = build_deals_frame(con, None, "d", "frame", [])
    summary = health_summary(con, health, config(), Ledger())
    assert summary.entity == "deal"
    assert (summary.cohort_metrics["won"].acv_median, summary.cohort_metrics["lost"].acv_median) == (200.0, 50.0)
