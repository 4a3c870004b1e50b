"""Unit tests of icp_agent.health.deal_kinds: renewals and expansions left out of won vs lost (and said so), and a
deal's ACV from its amount's period, the CRM's annualised amount or its MRR, as the deals frame reads them."""

from __future__ import annotations

import duckdb

from icp_agent.health.deal_kinds import acv_sql, deal_terms, renewal_retention, renewal_sql
from icp_agent.health.health_score import build_deals_frame, stage_class


def _deals(con, rows: list[tuple], columns: str) -> None:
    con.execute(f"CREATE TABLE deals AS SELECT * FROM (VALUES {', '.join(map(str, rows))}) t({columns})")


def test_renewals_and_expansions_are_left_out_of_won_vs_lost():
    con = duckdb.connect()
    # a HubSpot-like export: the kind in a Type column, amounts per quarter
    _deals(
        con,
        [
            (1, "d1", "c1", "Closed Won", "New Business", 1000.0, "Quarterly"),
            (2, "d2", "c2", "Closed Lost", "New Business", 2000.0, "Quarterly"),
            (3, "d3", "c1", "Closed Won", "Existing Business - Upgrade", 500.0, "Quarterly"),
            (4, "d4", "c3", "Closed Won", "Renewal", 3000.0, "Annual"),
            (5, "d5", "c3", "Closed Lost", "Upsell", 700.0, "Annual"),
            (6, "d6", "c4", "Closed Won", "New Business", 250.0, "one-time"),
        ],
        "_row, deal_id, company_id, deal_stage, deal_type, amount, amount_period",
    )
    result = build_deals_frame(con, None, "deals", "frame", [])
    got = con.execute("SELECT deal_id, good, amount FROM frame ORDER BY _row").fetchall()
    assert got == [("d1", True, 4000.0), ("d2", False, 8000.0), ("d6", True, None)]
    assert (result.n, result.n_good, result.n_bad) == (3, 2, 1)
    assert "new-business deals only (2 won, 1 lost): 3 closed renewal and expansion deals (2 won, 1 lost" in (
        result.note or ""
    )
    assert "2 quarterly x4" in (result.note or "") and "1 one-time amounts" in (result.note or "")


def test_renewals_stay_when_new_business_alone_cannot_be_compared():
    con = duckdb.connect()
    _deals(
        con,
        [
            (1, "d1", "Won", "Sales", 10.0),
            (2, "d2", "Won", "Renewals & Expansion", 20.0),
            (3, "d3", "Lost", "Renewals", 5.0),
        ],
        "_row, deal_id, deal_stage, deal_pipeline, amount",
    )
    terms = deal_terms(con, "deals", stage_class("d.deal_stage"))
    assert not terms.new_only and "are counted with new business" in terms.notes[0]
    assert "1 won and 0 lost" in terms.notes[0]
    result = build_deals_frame(con, None, "deals", "frame", [])
    assert (result.n_good, result.n_bad) == (2, 1)


def test_a_pipeline_or_type_without_renewals_changes_nothing():
    con = duckdb.connect()
    _deals(
        con,
        [(1, "d1", "Won", "Enterprise", 10.0), (2, "d2", "Lost", "SMB", 20.0)],
        "_row, deal_id, deal_stage, deal_pipeline, amount",
    )
    terms = deal_terms(con, "deals", stage_class("d.deal_stage"))
    assert (terms.new_only, terms.notes, terms.acv) == (False, [], "d.amount")


def test_renewal_words_in_type_or_pipeline():
    con = duckdb.connect()
    sql = renewal_sql({"deal_type", "deal_pipeline"}, "t")
    values = [
        ("Renewal", None),
        (None, "Renewals & Expansion"),
        ("Cross-sell", None),
        ("Existing Business", None),
        ("New Business", "Sales"),
        (None, None),
    ]
    got = [
        con.execute(
            f"SELECT {sql} FROM (SELECT ?::VARCHAR AS deal_type, ?::VARCHAR AS deal_pipeline) t", list(v)
        ).fetchall()[0][0]
        for v in values
    ]
    assert got == [True, True, True, True, False, False]
    assert renewal_sql({"amount"}) is None


def test_acv_from_annualised_amount_or_mrr_or_as_written():
    con = duckdb.connect()
    _deals(con, [(1, 100.0, 1200.0, 50.0)], "_row, amount, annualized_amount, deal_mrr")
    assert acv_sql(con, "deals", {"amount", "annualized_amount", "deal_mrr"})[1] == "the CRM's annualised amount"
    expr, how = acv_sql(con, "deals", {"amount", "deal_mrr"})
    assert how == "12 x the deal's MRR" and con.execute(f"SELECT {expr} FROM deals d").fetchall()[0][0] == 600.0
    assert acv_sql(con, "deals", {"amount"}) == ("d.amount", "the amount as written")


def test_a_period_column_of_other_values_is_not_used():
    con = duckdb.connect()
    _deals(con, [(1, 100.0, "24 months"), (2, 50.0, "36 months")], "_row, amount, amount_period")
    assert acv_sql(con, "deals", {"amount", "amount_period"}) == ("d.amount", "the amount as written")


def test_renewals_tell_retention_when_the_customers_have_none():
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE customers AS SELECT * FROM (VALUES (1, 'c1', 'A'), (2, 'c2', 'B'), (3, 'c3', 'C')) "
        "t(_row, company_id, company_name)"
    )
    # an Attio-like export: a yes/no renewal column, the last renewal decides
    _deals(
        con,
        [
            (1, "d1", "c1", "Won", False, "2023-01-10"),
            (2, "d2", "c1", "Won", True, "2024-01-10"),
            (3, "d3", "c1", "Lost", True, "2025-01-10"),
            (4, "d4", "c2", "Won", False, "2023-06-01"),
            (5, "d5", "c2", "Won", True, "2024-06-01"),
            (6, "d6", "c3", "Lost", False, "2024-02-01"),
        ],
        "_row, deal_id, company_id, deal_stage, renewal_flag, close_date",
    )
    con.execute("ALTER TABLE deals ALTER close_date TYPE DATE")
    table, note = renewal_retention(con, "customers", "deals", stage_class("d.deal_stage"))
    got = con.execute(
        f"SELECT company_id, churned, churn_date::VARCHAR, customer_since::VARCHAR FROM {table}"
    ).fetchall()
    assert got == [
        ("c1", True, "2025-01-10", "2023-01-10"),
        ("c2", False, None, "2023-06-01"),
        ("c3", None, None, None),
    ]
    assert "1 companies whose last renewal or expansion was lost count as churned, 1 whose last was won" in note


def test_customers_with_churn_data_keep_it():
    con = duckdb.connect()
    con.execute("CREATE TABLE customers AS SELECT 1 AS _row, 'c1' AS company_id, NULL::DATE AS churn_date")
    _deals(con, [(1, "d1", "c1", "Lost", "Renewal")], "_row, deal_id, company_id, deal_stage, deal_type")
    assert renewal_retention(con, "customers", "deals", stage_class("d.deal_stage")) is None
