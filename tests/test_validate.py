"""validation/validate.py: phase-5 validation runs unit economics, backtest and market, each measured or
"not measurable: <reason>", into icp.json's Validation section. 600 customers built in SQL
(tiers_data.make_dated_customers): Software ones score NPS 9 six times in ten, others two in ten."""

from __future__ import annotations

import duckdb
import pytest

from icp_agent.evidence import Ledger
from icp_agent.icp_document import Validation
from icp_agent.schema import AnalysisInputs
from icp_agent.tiers.analyse import AnalysisConfig, analyse
from icp_agent.validation.validate import validate
from minimal_icp import icp, tier
from tiers_data import DATED_INPUTS as INPUTS
from tiers_data import make_dated_customers


@pytest.fixture
def built():
    con = duckdb.connect()
    make_dated_customers(con)
    # 20 prospects, 5 of them Software
    con.execute(
        "CREATE TABLE prospects AS SELECT 'p' || i || '.com' AS domain, "
        "CASE WHEN i < 5 THEN 'Software' ELSE 'Retail' END AS industry FROM range(20) t(i)"
    )
    doc, _ = analyse(con, INPUTS, AnalysisConfig(), "icp-v")
    yield con, doc
    con.close()


def test_validate_runs_the_three_parts(built):
    con, doc = built
    ledger = Ledger()
    out = validate(con, INPUTS, AnalysisConfig(), doc, "prospects", None, ledger)
    assert isinstance(out, Validation)
    assert out.backtest.status == "held"
    (tier1,) = out.market.tiers
    assert tier1.tier.startswith("ICP 1 Tier 1")
    # 5 of 20 prospects; the 200 Software customers over 200 + 5 accounts
    assert (tier1.prospects, tier1.share, tier1.customers) == (5, 0.25, 200)
    assert tier1.penetration == pytest.approx(200 / 205, abs=1e-5)
    assert out.market.prospects == 20
    # no churn, NRR, CAC or deals in these customers: every target is not measurable, with its reason
    assert [t.status for t in out.unit_economics.targets] == ["not measurable"] * 4
    assert {t.reason for t in out.unit_economics.targets} == {"no data for this metric"}
    # figures are made JSON-safe: 6 significant digits
    assert out.backtest.p_value == float(f"{out.backtest.p_value:.6g}")
    assert out.backtest.evidence in ledger.items and tier1.evidence in ledger.items


def test_a_part_the_data_cannot_support_is_not_measurable_and_the_rest_runs(built):
    con, _ = built
    # a Tier 1 on a field the frame lacks: unit economics raises NotMeasurable, recorded as not measurable
    odd = icp([tier(1, [{"field": "country", "op": "eq", "value": "US", "kind": "category"}])], id="icp-v")
    out = validate(con, INPUTS, AnalysisConfig(), odd, None, None, Ledger())
    economics = out.model_dump()["unit_economics"]
    assert economics["status"] == "not measurable"
    assert "country" in economics["reason"]
    assert economics["warnings"] == [f"unit economics: not measurable: {economics['reason']}"]
    assert out.backtest.status == "held"  # the backtest rebuilds its own ICP from the older customers


def test_deals_that_cannot_be_framed_are_noted(built):
    con, doc = built
    con.execute("CREATE TABLE deals AS SELECT company_id, 100.0 AS amount FROM customers")  # no stage column
    inputs = AnalysisInputs("customers", "deals", {"industry": "category"}, {"industry": "Industry"}, [], "x")
    out = validate(con, inputs, AnalysisConfig(), doc, None, None, Ledger())
    note = out.unit_economics.not_measurable["deals"]
    assert note.startswith("the deals have no stage column")
    assert out.market.model_dump().get("open_pipeline") is None  # no deals frame: no pipeline figure
