"""Unit tests of tiers/retention.py: Kaplan-Meier curves per cohort and per Tier 1, with evidence."""

from __future__ import annotations

import duckdb
import pytest

from icp_agent.evidence import Ledger
from icp_agent.icp_document import Criterion, Tier
from icp_agent.tiers.retention import retention_curves


@pytest.fixture
def con():
    c = duckdb.connect()
    c.execute("""CREATE TABLE frame AS SELECT * FROM (VALUES
        ('top', 'A', 6.0, TRUE), ('top', 'A', 12.0, FALSE), ('top', 'B', 24.0, FALSE), ('top', 'B', 30.0, FALSE),
        ('bottom', 'A', 3.0, TRUE), ('bottom', 'B', 9.0, TRUE), ('bottom', 'B', NULL, TRUE)
    ) t(cohort, industry, tenure_months, churned_flag)""")
    yield c
    c.close()


def _tier(n: int) -> Tier:
    return Tier(
        tier=n,
        segment="ICP 1",
        name=f"ICP 1 Tier {n}: industry = A",
        criteria=[Criterion(field="industry", op="eq", value="A", label="industry = A")],
    )


def test_curves_per_cohort_and_tier_1(con):
    ledger = Ledger()
    curves = retention_curves(con, "frame", [_tier(1), _tier(2)], ledger)
    # no middle cohort rows: no curve; Tier 2 gets none
    assert [(c.kind, c.group, c.n, c.events) for c in curves] == [
        ("cohort", "top", 4, 1),
        ("cohort", "bottom", 2, 2),  # the row without a tenure is left out
        ("tier", "ICP 1 Tier 1: industry = A", 3, 2),
    ]
    # top: 4 at risk, one churn at 6 months -> 0.75, flat at each later (censored) time to 30 months
    assert curves[0].points == [(0.0, 1.0), (6.0, 0.75), (12.0, 0.75), (24.0, 0.75), (30.0, 0.75)]
    # retained after 12 months: the last step at or before 12 -> 0.75 (top), 0 (bottom, both churned by 9),
    # Tier 1 (3, 6 churned; 12 censored): 2/3 after 3 months, x 1/2 after 6 = 1/3
    assert [ledger.get(c.evidence).metrics["retained_12m"] for c in curves] == [
        0.75,
        0.0,
        pytest.approx(1 / 3, abs=1e-4),
    ]


def test_no_curves_without_tenure_and_churn(con):
    con.execute("CREATE TABLE bare AS SELECT 'top' AS cohort, 1 AS x")
    assert retention_curves(con, "bare", [], Ledger()) == []
