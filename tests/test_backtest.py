"""validation/backtest.py: the ICP rebuilt without the newest 12 months of customers, asked whether its Tier 1
held the best of them. 600 customers built in SQL (tiers_data.make_dated_customers): Software ones score NPS 9
six times in ten, others two in ten."""

from __future__ import annotations

import duckdb
import pytest
from scipy import stats

from icp_agent.evidence import Ledger
from icp_agent.schema import AnalysisInputs
from icp_agent.tiers.analyse import AnalysisConfig, analyse
from icp_agent.validation.backtest import backtest
from minimal_icp import icp
from tiers_data import DATED_INPUTS as INPUTS
from tiers_data import make_dated_customers


@pytest.fixture
def built():
    con = duckdb.connect()
    make_dated_customers(con)
    doc, _ = analyse(con, INPUTS, AnalysisConfig(), "icp-bt")
    assert [c.label for t in doc.tiers if t.tier == 1 for c in t.criteria] == ["industry = Software"]
    yield con, doc
    con.close()


def new_customers(con, software: bool) -> tuple[int, int]:
    """(n, good) of the customers since the cutoff (2025-08-22 minus 12 months), in or out of Software."""
    return con.execute(
        "SELECT count(*), count_if(good) FROM frame_icp_bt WHERE customer_since >= DATE '2024-08-22' "
        f"AND cohort IS NOT NULL AND {'' if software else 'NOT '}(industry = 'Software')"
    ).fetchone()


def test_the_old_tier1_held_the_best_new_customers(built):
    con, doc = built
    ledger = Ledger()
    out = backtest(con, INPUTS, AnalysisConfig(), doc, "frame_icp_bt", ledger)
    # the last customer started 2025-08-22 (day 599): the cutoff is a year before, as a day
    assert out["cutoff"] == "2024-08-22"
    assert out["old_tier1"] == ["industry = Software"]
    n1, k1 = new_customers(con, True)
    n0, k0 = new_customers(con, False)
    assert n1 + n0 == 600 - 234  # days 234..599
    assert (out["new_in_tier1"]["n"], out["new_in_tier1"]["k"]) == (n1, k1)
    assert (out["new_outside"]["n"], out["new_outside"]["k"]) == (n0, k0)
    # the p-value is Fisher's exact test on the 2x2 table Tier 1 / outside x good / not
    _, p = stats.fisher_exact([[k1, n1 - k1], [k0, n0 - k0]])
    assert out["p_value"] == pytest.approx(p, rel=1e-9)
    assert k1 / n1 > k0 / n0 and p < 0.05 and out["status"] == "held"
    assert ledger.get(out["evidence"]).n == n1 + n0
    # the backtest's own frame is dropped, the source view of older customers stays a temp view
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert "frame_icp_bt_backtest" not in tables


def test_the_old_tier1_did_not_hold(built):
    con, doc = built
    con.execute("UPDATE frame_icp_bt SET good = FALSE WHERE industry = 'Software'")  # the new Software ones did badly
    out = backtest(con, INPUTS, AnalysisConfig(), doc, "frame_icp_bt", Ledger())
    assert out["new_in_tier1"]["k"] == 0 and out["status"] == "did not hold"


def test_no_new_customer_on_one_side_is_not_measurable(built):
    con, doc = built
    con.execute("UPDATE frame_icp_bt SET cohort = NULL WHERE industry <> 'Software'")
    out = backtest(con, INPUTS, AnalysisConfig(), doc, "frame_icp_bt", Ledger())
    assert out["status"] == "not measurable" and out["reason"] == "no new customers on one side of the old Tier 1"


def test_older_customers_without_a_pattern_are_not_measurable(built):
    con, doc = built
    con.execute("UPDATE customers SET nps = (company_id * 13) % 10 WHERE customer_since < DATE '2024-08-22'")
    out = backtest(con, INPUTS, AnalysisConfig(), doc, "frame_icp_bt", Ledger())
    assert out == {
        "status": "not measurable",
        "reason": "no significant ICP in the older customers alone",
        "cutoff": "2024-08-22",
    }


def test_what_the_backtest_needs(built):
    con, doc = built
    config = AnalysisConfig()
    won = icp(definition="won")
    assert backtest(con, INPUTS, config, won, "f", Ledger())["reason"].startswith("needs customers with a start date")
    no_customers = AnalysisInputs(None, "deals", {}, {}, [], "x")
    assert backtest(con, no_customers, config, doc, "f", Ledger())["status"] == "not measurable"
    con.execute("ALTER TABLE customers DROP COLUMN customer_since")
    out = backtest(con, INPUTS, config, doc, "frame_icp_bt", Ledger())
    assert out == {"status": "not measurable", "reason": "the customers have no start date (customer_since)"}


def test_tier1_only_finds_the_full_analysis_tier1_and_stops_there(built):
    # the backtest's shortcut: the same Tier 1s (names, segments, criteria), nothing the backtest does not read
    con, doc = built
    short, _ = analyse(con, INPUTS, AnalysisConfig(), "icp-bt-short", keep_frame=False, tier1_only=True)
    con.execute("DROP TABLE IF EXISTS frame_icp_bt_short")

    def tier1(document):
        return [(t.segment, t.name, [c.model_dump() for c in t.criteria]) for t in document.tiers if t.tier == 1]

    assert tier1(short) == tier1(doc) and tier1(short)
    assert [t.tier for t in short.tiers] == [1] * len(tier1(doc))
    assert short.status == "ok" and not short.negative_icp and not short.retention and not short.patterns
    assert doc.patterns  # what the full analysis adds, and the shortcut leaves out


def test_the_older_customers_analysed_on_a_second_connection_give_the_same_backtest(tmp_path):
    # the build analyses the older customers ahead, on a cursor in a second thread (toolkit._backtest_ahead); the
    # backtest then reads that analysis instead of running its own: the same result, and its temp objects stay on
    # the cursor's connection
    from concurrent.futures import ThreadPoolExecutor

    from icp_agent.validation.backtest import older_tier1

    con = duckdb.connect(str(tmp_path / "ws.duckdb"))
    make_dated_customers(con)
    doc, _ = analyse(con, INPUTS, AnalysisConfig(), "icp-bt")
    expected = backtest(con, INPUTS, AnalysisConfig(), doc, "frame_icp_bt", Ledger())
    cursor = con.cursor()
    with ThreadPoolExecutor(1) as pool:
        ahead = pool.submit(older_tier1, cursor, INPUTS, AnalysisConfig(), "icp-bt2")
        assert ahead.result().cutoff.isoformat() == "2024-08-22"
        assert [c.label for t in ahead.result().icp.tiers for c in t.criteria] == ["industry = Software"]
        out = backtest(con, INPUTS, AnalysisConfig(), doc, "frame_icp_bt", Ledger(), ahead.result)
    assert out == expected and out["status"] == "held"
    temp_views = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE temporary").fetchall()}
    assert "frame_icp_bt2_backtest_src" not in temp_views
    cursor.close()
    con.close()
