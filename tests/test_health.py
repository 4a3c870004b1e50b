"""The health score's frame: percentile mid-ranks by distinct value (DuckDB's percent_rank averaged over ties), in
_row order."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from icp_agent.errors import UserError
from icp_agent.health.health_score import HealthConfig, build_frame, in_row_order

CUSTOMERS = """
    SELECT range AS _row, 'c' || range AS company_name,
           ['Software', 'Retail', NULL][range % 3 + 1] AS industry,
           CASE WHEN range % 17 = 0 THEN NULL ELSE (hash(range, 'nps') % 11)::INTEGER END AS nps,
           CASE WHEN range % 13 = 0 THEN NULL ELSE (hash(range, 'tickets') % 40)::INTEGER END AS support_tickets,
           DATE '2020-01-01' + INTERVAL ((hash(range, 'since') % 1500)::INTEGER) DAY AS customer_since,
           CASE WHEN hash(range, 'churn') % 4 = 0 THEN DATE '2024-06-01' + INTERVAL ((hash(range) % 300)::INTEGER) DAY
                END AS churn_date,
           (hash(range, 'arr') % 90000)::DOUBLE AS arr, (hash(range, 'start') % 60000 + 1)::DOUBLE AS starting_arr
    FROM range({n})"""


def _frame(con, table: str, name: str):
    return build_frame(con, table, None, name, HealthConfig(as_of="2025-06-30"), ["industry"])


@pytest.mark.parametrize("stored", ["in _row order", "shuffled"])
def test_ranks_equal_percent_rank_and_the_frame_keeps_row_order(stored):
    con = duckdb.connect()
    con.execute(f"CREATE TABLE customers AS {CUSTOMERS.format(n=3000)}"
                + (" ORDER BY hash(_row)" if stored == "shuffled" else " ORDER BY _row"))
    result = _frame(con, "customers", "frame")
    assert result.components == ["retention", "nrr", "support_burden", "nps"]
    # the reference: DuckDB's own percent_rank over every row (ties broken by _row), averaged over each tied group
    wrong = con.execute("""
        WITH broken AS (
            SELECT _row, nps, support_tickets,
                   CASE WHEN nps IS NULL THEN NULL ELSE percent_rank() OVER
                        (PARTITION BY nps IS NULL ORDER BY nps, _row) END AS p_nps,
                   CASE WHEN support_tickets IS NULL THEN NULL ELSE percent_rank() OVER
                        (PARTITION BY support_tickets IS NULL ORDER BY -support_tickets, _row) END AS p_tickets
            FROM customers),
        expected AS (
            SELECT _row, avg(p_nps) OVER (PARTITION BY nps) AS c_nps,
                   avg(p_tickets) OVER (PARTITION BY support_tickets) AS c_support_burden FROM broken),
        health_broken AS (
            SELECT _row, health, CASE WHEN health IS NULL THEN NULL ELSE percent_rank() OVER
                   (PARTITION BY health IS NULL ORDER BY health, _row) END AS p FROM frame),
        health_expected AS (SELECT _row, avg(p) OVER (PARTITION BY health) AS health_rank FROM health_broken)
        SELECT count(*) FROM frame f JOIN expected e USING (_row) JOIN health_expected h USING (_row)
        WHERE (f.c_nps IS NULL) <> (e.c_nps IS NULL) OR abs(f.c_nps - e.c_nps) > 1e-9
           OR (f.c_support_burden IS NULL) <> (e.c_support_burden IS NULL)
           OR abs(f.c_support_burden - e.c_support_burden) > 1e-9
           OR (f.health_rank IS NULL) <> (h.health_rank IS NULL) OR abs(f.health_rank - h.health_rank) > 1e-9
        """).fetchall()[0][0]
    assert wrong == 0
    # ties rank at their middle: NPS 0 at (its rows - 1) / 2 / (rows with an NPS - 1), NPS 10 at
    # (rows below + (its rows - 1) / 2) / (rows with an NPS - 1)
    known, low, top = con.execute(
        "SELECT count(nps), count(*) FILTER (nps = 0), count(*) FILTER (nps = 10) FROM customers").fetchall()[0]
    lowest, highest, levels = con.execute("SELECT min(c_nps), max(c_nps), count(DISTINCT c_nps) FROM frame").fetchall()[0]
    assert lowest == pytest.approx((low - 1) / 2 / (known - 1))
    assert highest == pytest.approx((known - top + (top - 1) / 2) / (known - 1))
    assert levels == 11
    assert con.execute("SELECT count(*) FROM frame WHERE nps IS NULL AND c_nps IS NOT NULL").fetchall()[0][0] == 0
    # the frame is in _row order whatever the stored order, one row per customer
    back = con.execute("SELECT count(*) FILTER (d <= 0), count(*) FROM (SELECT _row - lag(_row) OVER () AS d FROM frame)"
                       ).fetchall()[0]
    assert back == (0, 3000)
    top = con.execute("SELECT count(*) FROM frame WHERE cohort = 'top' AND NOT good").fetchall()[0][0]
    assert top == 0 and result.n_good == con.execute("SELECT count_if(health_rank >= 0.8) FROM frame").fetchall()[0][0]


def test_the_same_frame_from_a_shuffled_table():
    con = duckdb.connect()
    con.execute(f"CREATE TABLE ordered AS {CUSTOMERS.format(n=2000)} ORDER BY _row")
    con.execute("CREATE TABLE shuffled AS SELECT * FROM ordered ORDER BY hash(_row, 'shuffle')")
    _frame(con, "ordered", "a")
    _frame(con, "shuffled", "b")
    differ = con.execute("SELECT count(*) FROM a POSITIONAL JOIN b WHERE a._row <> b._row OR a.health IS DISTINCT "
                         "FROM b.health OR a.health_rank IS DISTINCT FROM b.health_rank").fetchall()[0][0]
    assert differ == 0


def test_won_without_deals_is_a_clear_error():
    con = duckdb.connect()
    con.execute(f"CREATE TABLE customers AS {CUSTOMERS.format(n=50)}")
    with pytest.raises(UserError, match="no deals are imported"):
        build_frame(con, "customers", None, "frame", HealthConfig(good="won"), ["industry"])


def test_in_row_order_tells_a_stored_row_order_from_any_other():
    # analyse copies the frame without a sort when this says the frame is stored in _row order
    con = duckdb.connect()
    con.execute("CREATE TABLE ordered AS SELECT range AS _row FROM range(5000) ORDER BY range")
    con.execute("CREATE TABLE shuffled AS SELECT * FROM ordered ORDER BY hash(_row, 'shuffle')")
    con.execute("CREATE TABLE one_back AS SELECT * FROM (VALUES (1), (2), (4), (3), (5)) t(_row)")
    con.execute("CREATE TABLE repeated AS SELECT * FROM (VALUES (1), (2), (2), (3)) t(_row)")
    assert in_row_order(con, "ordered")
    assert not in_row_order(con, "shuffled")
    assert not in_row_order(con, "one_back")
    assert not in_row_order(con, "repeated")  # two rows with one _row are no row order either


def test_retention_curves_read_every_customer_of_a_cohort_and_a_missing_churn_flag_as_retained():
    from icp_agent.evidence import Ledger
    from icp_agent.health.survival import kaplan_meier
    from icp_agent.tiers.retention import retention_curves

    con = duckdb.connect()
    con.execute("""CREATE TABLE frame AS SELECT range AS _row, ['top', 'middle', 'bottom'][range % 3 + 1] AS cohort,
                   CASE WHEN range % 11 = 0 THEN NULL ELSE (range % 37) + 0.5 END AS tenure_months,
                   CASE WHEN range % 5 = 0 THEN NULL ELSE range % 4 = 0 END AS churned_flag FROM range(3000)""")
    curves = {c.group: c for c in retention_curves(con, "frame", [], Ledger())}
    assert set(curves) == {"top", "middle", "bottom"}
    for name, curve in curves.items():
        months, flags = zip(*con.execute(
            "SELECT tenure_months, coalesce(churned_flag, FALSE) FROM frame WHERE tenure_months IS NOT NULL "
            "AND cohort = ? ORDER BY _row", [name]).fetchall())
        assert curve.n == len(months) and curve.events == sum(flags)
        assert curve.points == kaplan_meier(np.array(months, dtype=float), np.array(flags, dtype=bool))


def test_a_temporary_frame_is_the_same_frame_never_written_to_the_workspace(tmp_path):
    # the backtest's throwaway frame: a TEMP table with the same rows as the frame a build keeps
    con = duckdb.connect(str(tmp_path / "ws.duckdb"))
    con.execute(f"CREATE TABLE customers AS {CUSTOMERS.format(n=1500)} ORDER BY _row")
    kept = build_frame(con, "customers", None, "kept", HealthConfig(as_of="2025-06-30"), ["industry"])
    thrown = build_frame(con, "customers", None, "thrown", HealthConfig(as_of="2025-06-30"), ["industry"],
                         temporary=True)
    assert con.execute("SELECT table_name, temporary FROM duckdb_tables() WHERE table_name IN ('kept', 'thrown') "
                       "ORDER BY table_name").fetchall() == [("kept", False), ("thrown", True)]
    assert con.execute("SELECT count(*) FROM (SELECT * FROM kept EXCEPT ALL SELECT * FROM thrown)").fetchall() == [(0,)]
    assert (kept.n, kept.n_good, kept.n_bad) == (thrown.n, thrown.n_good, thrown.n_bad) and kept.n > 1000
