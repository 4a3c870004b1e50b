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


def test_an_accounts_file_with_prospects_and_partners_builds_on_the_customers_only(tmp_path):
    """A Pipedrive/HubSpot-like organisations export: customers beside prospects and leads that never won a deal,
    an 'Organization type' saying so (stale on a few customers), deals linked by organisation name. The health
    cohorts hold the customers alone, the warning counts the rest, the type is screened as leakage, and the planted
    segment (Banking in Europe: retained with high NPS) is found."""
    import random

    from icp_agent import toolkit
    from icp_agent.workspace import Workspace

    rng = random.Random(3)
    accounts = ["Organization - Name,Organization type,Industry,Region,Employees,NPS,Cancelled on"]
    deals = ["Deal - Title,Deal - Organization,Deal - Status,Deal - Value"]
    for i in range(700):
        name = f"Org {i:04d} GmbH"
        industry = rng.choice(["Banking", "Retail", "Software", "Logistics", "Media"])
        region = rng.choice(["Europe", "Americas", "Asia"])
        sweet = industry == "Banking" and region == "Europe"
        customer = i % 2 == 0
        kind = "Customer" if customer else rng.choice(["Lead", "Prospect", "Prospect"])
        if customer and i % 20 == 0:
            kind = "Prospect"  # a stale label on a customer that won its deal
        nps = cancelled = ""
        if customer:
            nps = str(rng.randint(8, 10) if sweet else rng.randint(0, 8))
            cancelled = "" if rng.random() < (0.95 if sweet else 0.6) else f"2024-0{rng.randint(1, 9)}-15"
            deals.append(f"Deal {i},{name},won,{rng.randint(5, 50) * 1000}")
        elif i % 3 == 0:
            deals.append(f"Deal {i},{name},lost,{rng.randint(5, 50) * 1000}")
        accounts.append(f"{name},{kind},{industry},{region},{rng.choice(['11-50', '51-200', '201-500'])},{nps},{cancelled}")
    (tmp_path / "organizations.csv").write_text("\n".join(accounts) + "\n")
    (tmp_path / "deals.csv").write_text("\n".join(deals) + "\n")
    ws = Workspace(tmp_path / "ws.duckdb")
    toolkit.import_data(ws, customers=tmp_path / "organizations.csv", deals=tmp_path / "deals.csv")
    icp = toolkit.build_icp(ws, toolkit.AnalysisOptions())
    assert icp.health.definition == "health" and icp.health.n == 350
    assert abs(icp.health.n_good / 350 - 0.2) <= 0.05 and abs(icp.health.n_bad / 350 - 0.2) <= 0.05
    warning = next(w for w in icp.warnings if w.startswith("health: "))
    assert "350 accounts are not a customer" in warning and "never won a deal" in warning
    assert "'lead', 'prospect'" in warning and "won a deal: scored as customers" in warning
    assert "350 accounts are not a customer" in icp.health.description
    assert icp.health.not_customers == 350  # the count a client reads without parsing the warning
    excluded = {e["field"] if isinstance(e, dict) else e.field: e for e in icp.excluded_fields}
    assert any("organization" in name and "type" in name for name in excluded)
    criteria = " ".join(c.label for t in icp.tiers for c in t.criteria).lower()
    assert "banking" in criteria and "type" not in criteria
