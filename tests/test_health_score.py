"""Unit tests of health/health_score.py: the health score, outcome columns and the won/lost deals frame."""

from __future__ import annotations

import duckdb
import pytest

from icp_agent.errors import ArgumentError, DataShapeError, UserError
from icp_agent.health.health_score import (
    HealthConfig,
    available_components,
    build_deals_frame,
    build_frame,
    outcome_words,
    stage_class,
)


@pytest.fixture
def con():
    c = duckdb.connect()
    yield c
    c.close()


def _frame(con, frame="f"):
    cur = con.execute(f"SELECT * FROM {frame} ORDER BY _row")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def test_stage_class_reads_crm_spellings(con):
    got = con.execute(
        f"SELECT s, {stage_class('s')} FROM (VALUES ('Closed Won'), ('closed_lost'), ('Closed-Won'), ('signed'), "
        "('Negotiation'), (NULL), ('Stage: closed won (Q3)')) t(s)"
    ).fetchall()
    assert dict(got) == {
        "Closed Won": "won",
        "closed_lost": "lost",
        "Closed-Won": "won",
        "signed": "won",
        "Negotiation": "open",
        None: None,
        "Stage: closed won (Q3)": "won",
    }


def test_available_components_by_columns():
    assert available_components(set()) == {}
    got = available_components({"churned", "arr", "starting_arr", "tickets_per_year", "support_tickets", "nps"})
    # tickets_per_year (a rate) wins over a raw ticket count; higher is healthier so burden is negated
    assert got == {"retention": "retention_raw", "nrr": "nrr_raw", "support_burden": "-tickets_per_year", "nps": "nps"}
    # cac alone is not enough: it needs revenue to turn into payback months
    assert "cac_efficiency" not in available_components({"cac"})
    assert available_components({"cac", "mrr"})["cac_efficiency"] == "-payback_raw"
    assert available_components({"churn_date"}) == {"retention": "retention_raw"}


def test_health_is_the_percentile_rank_of_one_component(con):
    # no company_id / name / domain column (the SELECT once began "c._row, ,"): still scored.
    # five distinct NPS values: percent_rank = (rank-1)/(n-1) = 0, .25, .5, .75, 1 -> health x100
    con.execute(
        "CREATE TABLE c AS SELECT range AS _row, 10 * (range + 1) AS nps, 'x' || range AS industry FROM range(5)"
    )
    res = build_frame(con, "c", None, "f", HealthConfig(), ["industry"])
    assert (res.definition, res.entity, res.n, res.n_good, res.n_bad) == ("health", "customer", 5, 1, 1)
    assert res.components == ["nps"] and res.weights == {"nps": 10.0}
    rows = _frame(con)
    assert [r["health"] for r in rows] == [0.0, 25.0, 50.0, 75.0, 100.0]
    assert [r["cohort"] for r in rows] == ["bottom", "middle", "middle", "middle", "top"]
    assert [r["industry"] for r in rows] == ["x0", "x1", "x2", "x3", "x4"]
    assert res.cohort_sizes == {"bottom": 1, "middle": 3, "top": 1}
    assert list(res.cohort_sizes) == ["top", "middle", "bottom"]  # icp.json's order, whatever the engine's


def test_missing_component_is_reweighted_not_zero(con):
    # nps ranks 0, .5, 1 (weight 10); referrals ranks 0, 1 over the two rows that have them (weight 10).
    # row 2 has no referrals: its health is its nps rank alone (1.0 -> 100), not (1.0*10 + 0)/20 = 50
    con.execute("CREATE TABLE c AS SELECT * FROM (VALUES (0, 1, 5), (1, 2, 9), (2, 3, NULL)) t(_row, nps, referrals)")
    build_frame(con, "c", None, "f", HealthConfig(), [])
    assert [r["health"] for r in _frame(con)] == [0.0, 75.0, 100.0]


def test_ties_fall_back_to_highest_vs_lowest(con):
    # churn flag only: two levels, so the 20% cut cannot hold; good = retained, bad = churned
    con.execute("CREATE TABLE c AS SELECT range AS _row, range % 3 = 0 AS churned FROM range(9)")
    res = build_frame(con, "c", None, "f", HealthConfig(), [])
    assert (res.n_good, res.n_bad) == (6, 3)
    assert res.note is not None and "retained vs churned" in res.note
    assert res.words == ("at the highest health score", "at the lowest health score")


def test_every_customer_equal_is_a_data_shape_error(con):
    con.execute("CREATE TABLE c AS SELECT range AS _row, 7 AS nps FROM range(4)")
    with pytest.raises(DataShapeError, match="same health"):
        build_frame(con, "c", None, "f", HealthConfig(), [])


def test_no_component_values_is_a_data_shape_error(con):
    con.execute("CREATE TABLE c AS SELECT range AS _row, NULL::INT AS nps FROM range(3)")
    with pytest.raises(DataShapeError, match="none of 3 customers"):
        build_frame(con, "c", None, "f", HealthConfig(), [])


def test_all_weights_zero_is_refused(con):
    con.execute("CREATE TABLE c AS SELECT range AS _row, range AS nps FROM range(3)")
    with pytest.raises(UserError, match="weight 0"):
        build_frame(con, "c", None, "f", HealthConfig(weights={"nps": 0}), [])


def test_no_definition_possible(con):
    con.execute("CREATE TABLE c AS SELECT range AS _row, 'a' AS industry FROM range(3)")
    with pytest.raises(UserError, match="no way to tell good customers from bad"):
        build_frame(con, "c", None, "f", HealthConfig(), [])
    with pytest.raises(UserError, match="no deals are imported"):
        build_frame(con, "c", None, "f", HealthConfig(good="won"), [])
    with pytest.raises(UserError, match="no customers imported"):
        build_frame(con, None, None, "f", HealthConfig(good="health"), [])


def test_bad_column_yes_no(con):
    con.execute(
        "CREATE TABLE c AS SELECT * FROM (VALUES (0, 'yes', 'a'), (1, 'no', 'b'), (2, NULL, 'c'), (3, 'No', 'd')) "
        "t(_row, churned, industry)"
    )
    res = build_frame(con, "c", None, "f", HealthConfig(bad_column="churned"), ["industry"])
    # the NULL row is neither good nor bad and is left out
    assert (res.definition, res.n, res.n_good, res.n_bad) == ("column", 3, 2, 1)
    assert [(r["_row"], r["good"]) for r in _frame(con)] == [(0, False), (1, True), (3, True)]
    assert res.words == ("retained", "churned")


def test_good_value_and_bad_value(con):
    con.execute(
        "CREATE TABLE c AS SELECT * FROM (VALUES (0, 'P I F'), (1, 'CHGOFF'), (2, 'current'), (3, ' p  i f ')) "
        "t(_row, status)"
    )
    res = build_frame(
        con, "c", None, "f", HealthConfig(good_column="status", good_value="P I F", bad_value="CHGOFF"), []
    )
    # whitespace and case are normalised; 'current' is neither and left out
    assert (res.n, res.n_good, res.n_bad) == (3, 2, 1)
    assert [r["_row"] for r in _frame(con) if r["good"]] == [0, 3]


def test_outcome_column_errors_name_the_option(con):
    con.execute("CREATE TABLE c AS SELECT * FROM (VALUES (0, 'gold'), (1, 'silver')) t(_row, plan)")
    with pytest.raises(ArgumentError, match="--good-column 'nope': no such column") as e:
        build_frame(con, "c", None, "f", HealthConfig(good_column="nope"), [])
    assert "plan" in str(e.value)
    with pytest.raises(ArgumentError, match="not a yes/no column"):
        build_frame(con, "c", None, "f", HealthConfig(good_column="plan"), [])
    with pytest.raises(ArgumentError, match="--good-value 'bronze': no row"):
        build_frame(con, "c", None, "f", HealthConfig(good_column="plan", good_value="bronze"), [])
    with pytest.raises(ArgumentError, match="name the same outcome twice"):
        build_frame(con, "c", None, "f", HealthConfig(good_column="plan", bad_column="plan"), [])


def test_outcome_all_one_side_is_a_data_shape_error(con):
    con.execute("CREATE TABLE c AS SELECT * FROM (VALUES (0, TRUE), (1, TRUE)) t(_row, activated)")
    with pytest.raises(DataShapeError, match="2 good and 0 bad") as e:
        build_frame(con, "c", None, "f", HealthConfig(good_column="activated"), [])
    assert e.value.column == "activated"


def test_outcome_words():
    assert outcome_words(HealthConfig(good_column="activated"), "activated") == ("activated", "not activated")
    assert outcome_words(HealthConfig(bad_column="churned"), "churned") == ("retained", "churned")
    assert outcome_words(HealthConfig(bad_column="is_defaulted"), "is_defaulted") == ("repaid", "defaulted")
    assert outcome_words(HealthConfig(bad_column="closed"), "closed") == ("not closed", "closed")
    assert outcome_words(HealthConfig(good_column="is_active"), "is_active") == ("active", "inactive")
    assert outcome_words(HealthConfig(good_column="loan_status", good_value="Paid"), "loan_status") == (
        "loan status = 'Paid'",
        "loan status other than 'Paid'",
    )


def test_deals_frame_keeps_won_and_lost_with_company_fields(con):
    con.execute(
        "CREATE TABLE cu AS SELECT * FROM (VALUES (0, 'acme.com', 'Retail'), (1, 'beta.io', 'Health')) "
        "t(_row, domain, industry)"
    )
    con.execute(
        "CREATE TABLE d AS SELECT * FROM (VALUES (0, 'acme.com', 'Closed Won', 'Other'), "
        "(1, 'beta.io', 'closed lost', NULL), (2, 'gamma.org', 'Lost', 'Media'), (3, 'acme.com', 'Demo', NULL)) "
        "t(_row, domain, deal_stage, industry)"
    )
    res = build_deals_frame(con, "cu", "d", "f", ["industry"])
    assert (res.definition, res.entity, res.n, res.n_good, res.n_bad) == ("won", "deal", 3, 1, 2)
    # the company's own record wins; the deal's copy fills in for a non-customer; the open deal is left out
    assert [(r["_row"], r["industry"], r["good"]) for r in _frame(con)] == [
        (0, "Retail", True),
        (1, "Health", False),
        (2, "Media", False),
    ]


def test_a_field_a_deal_shares_only_by_name_never_fills_in_the_companys(con):
    """Close-shaped: status_label is a lead's status in the leads and an opportunity's in the opportunities. The
    frame keeps the company's (NULL for a deal whose company is not in the file), never the deal's; industry, the
    company's own field, still fills in for a non-customer."""
    con.execute(
        "CREATE TABLE cu AS SELECT * FROM (VALUES (0, 'lead_1', 'Customer', 'Retail'), (1, 'lead_2', 'Churned', NULL)) "
        "t(_row, company_id, status_label, industry)"
    )
    con.execute(
        "CREATE TABLE d AS SELECT * FROM (VALUES (0, 'lead_1', 'won', 'Won - New', 'Other'), "
        "(1, 'lead_2', 'lost', 'Lost - Budget', 'Media'), (2, 'lead_9', 'lost', 'Lost - Price', 'Media')) "
        "t(_row, company_id, deal_stage, status_label, industry)"
    )
    build_deals_frame(con, "cu", "d", "f", ["status_label", "industry"])
    assert [(r["_row"], r["status_label"], r["industry"]) for r in _frame(con)] == [
        (0, "Customer", "Retail"),
        (1, "Churned", "Media"),
        (2, None, "Media"),
    ]


def test_deals_without_won_or_lost_say_what_the_stage_holds(con):
    con.execute("CREATE TABLE d AS SELECT * FROM (VALUES (0, 'Demo'), (1, 'Demo'), (2, 'Won')) t(_row, deal_stage)")
    with pytest.raises(DataShapeError, match=r"1 won and 0 lost deals.*'Demo' \(2\)") as e:
        build_deals_frame(con, None, "d", "f", [])
    assert e.value.column == "deal_stage"
    con.execute("CREATE TABLE d2 AS SELECT 0 AS _row, 'x' AS stage")
    with pytest.raises(DataShapeError, match="no stage column"):
        build_deals_frame(con, None, "d2", "f", [])


def test_accounts_with_a_non_customer_lifecycle_stage_are_left_out(con):
    # a HubSpot-like companies export: 40 customers (NPS, churn date), 24 leads / subscribers / opportunities with no
    # data, 6 'Other' with an NPS (status unknown: kept); no deals, so the stage alone decides
    con.execute("""CREATE TABLE c AS SELECT range AS _row, 'co' || range AS company_name,
        CASE WHEN range < 40 THEN 'customer' WHEN range < 48 THEN 'lead' WHEN range < 56 THEN 'Subscriber'
             WHEN range < 64 THEN 'opportunity' ELSE 'Other' END AS lifecycle_stage,
        CASE WHEN range < 40 OR range >= 64 THEN (range * 7) % 11 END AS nps,
        CASE WHEN range < 40 AND range % 4 = 0 THEN DATE '2024-01-01' END AS churn_date,
        ['EU', 'US'][range % 2 + 1] AS region
        FROM range(70)""")
    res = build_frame(con, "c", None, "f", HealthConfig(), ["lifecycle_stage", "region"])
    assert res.not_customers == 24 and res.n == 46
    left_out = con.execute("SELECT count(*) FROM f WHERE not_customer AND cohort IS NULL AND health IS NULL").fetchall()
    assert left_out[0][0] == 24
    assert (
        con.execute("SELECT count(*) FROM f WHERE _row >= 40 AND _row < 64 AND NOT not_customer").fetchall()[0][0] == 0
    )
    assert res.not_customers_note is not None
    assert res.not_customers_note.startswith("24 accounts are not a customer")
    assert "'lead', 'opportunity', 'subscriber'" in res.not_customers_note
    assert "set-field-roles lifecycle_stage=ignore" in res.not_customers_note
    # the cohorts are cut among the 46 customers: 20% each, ties kept together
    assert res.n_good + res.n_bad < res.n and res.n_good >= 0.15 * res.n and res.n_bad >= 0.15 * res.n
    # with the stage's role set to ignore, every account is scored again
    from icp_agent.schema import FieldInfo, Schema

    info = FieldInfo(
        "lifecycle_stage", "customers", "text", "category", "ignore", "Lifecycle Stage", ("lifecycle_stage",)
    )
    again = build_frame(
        con, "c", None, "g", HealthConfig(), ["region"], schema=Schema(sources={"customers": {"lifecycle_stage": info}})
    )
    assert again.not_customers == 0 and again.not_customers_note is None and again.n == 70


def test_accounts_that_never_won_a_deal_and_hold_no_health_data_are_left_out(con):
    # 30 accounts won a deal (ARR, a churn date for some); 15 only lost or have open deals and no data (prospects);
    # 5 have ARR but no deal at all (customers from before the deals export: kept); 1 account with a stale
    # 'Prospect' type won a deal (kept, counted). Deals name their account by name, written differently.
    con.execute("""CREATE TABLE accounts AS SELECT range AS _row, 'Acme ' || range || ' Ltd' AS company_name,
        CASE WHEN range = 0 THEN 'Prospect' WHEN range < 30 THEN 'Customer' WHEN range < 45 THEN 'Prospect'
             ELSE 'Customer' END AS account_type,
        CASE WHEN range < 30 OR range >= 45 THEN 1000.0 * (range + 1) END AS arr,
        CASE WHEN range < 30 OR range >= 45 THEN (range * 5) % 11 END AS nps,
        CASE WHEN range < 30 AND range % 3 = 0 THEN DATE '2024-03-01' END AS churn_date
        FROM range(50)""")
    con.execute("""CREATE TABLE deals AS
        SELECT range AS _row, 'ACME ' || range || ' LTD' AS company_name, 'Closed Won' AS deal_stage FROM range(30)
        UNION ALL SELECT 100 + range, 'acme ' || (30 + range) || ' ltd', ['Closed Lost', 'Proposal'][range % 2 + 1]
        FROM range(15)""")
    res = build_frame(con, "accounts", "deals", "f", HealthConfig(), ["account_type"])
    assert res.not_customers == 15 and res.n == 35
    assert con.execute("SELECT list(_row ORDER BY _row) FROM f WHERE not_customer").fetchall()[0][0] == list(
        range(30, 45)
    )
    note = res.not_customers_note or ""
    assert "15 accounts are not a customer" in note and "never won a deal" in note
    assert "1 account with a non-customer status ('account_type' = 'prospect') won a deal: scored as customers" in note


def test_tied_groups_stay_together_and_the_shares_are_reported(con):
    # 100 customers: 60 made no referral (tied), 40 made 1..40. The tied group's middle (30%) lies above the bottom
    # 20% cut, so the bottom is the lowest score's group (60 customers), said so; the top is 20 customers
    con.execute("""CREATE TABLE c AS SELECT range AS _row, CASE WHEN range < 60 THEN 0 ELSE range - 59 END AS referrals
        FROM range(100)""")
    res = build_frame(con, "c", None, "f", HealthConfig(), [])
    assert (res.n_good, res.n_bad) == (20, 60)
    assert res.words == ("in the top 20% by health", "at the lowest health score")
    assert res.note is not None and "bad = the lowest (60)" in res.note
    # a tied group straddling the top cut goes to the side its middle lies on: 30 rows at the top score (70% to
    # 100% of the ranks, middle at 85%): top = those 30 (30%), reported; the bottom stays 20
    con.execute("""CREATE TABLE d AS SELECT range AS _row, least(range, 70) AS referrals FROM range(100)""")
    res = build_frame(con, "d", None, "g", HealthConfig(), [])
    assert (res.n_good, res.n_bad) == (30, 20)
    assert res.cohort_note is not None and "the top cohort is 30.0% and the bottom 20.0%" in res.cohort_note
    assert res.words == ("in the top 20% by health", "in the bottom 20% by health")
    # the mid-rank: untied values keep percent_rank, the tied group sits at the mean of its places
    assert con.execute("SELECT max(c_referrals), min(c_referrals) FROM g").fetchall()[0] == pytest.approx(
        ((70 + 99) / 2 / 99, 0.0)
    )


def test_a_post_sale_lifecycle_stage_is_read_as_status_unless_ignored(con):
    from icp_agent.schema import FieldInfo, Schema

    # lifecycle_stage is a post-sale field (never a fit field), still the status; 'Former customer' is a customer
    con.execute("""CREATE TABLE c AS SELECT range AS _row,
        ['Customer', 'Former customer', 'Marketing Qualified Lead', 'Customer'][range % 4 + 1] AS lifecycle_stage,
        CASE WHEN range % 4 <> 2 THEN range % 9 END AS nps FROM range(40)""")
    res = build_frame(con, "c", None, "f", HealthConfig(), [])
    assert (res.not_customers, res.n) == (10, 30)
    info = FieldInfo(
        "lifecycle_stage", "customers", "text", "category", "ignore", "Lifecycle Stage", ("lifecycle_stage",)
    )
    ignored = build_frame(
        con, "c", None, "g", HealthConfig(), [], schema=Schema(sources={"customers": {"lifecycle_stage": info}})
    )
    assert ignored.not_customers == 0 and ignored.n == 30  # the leads have no NPS: nothing to score either way


def test_a_column_outcome_leaves_out_the_accounts_that_are_not_customers(con):
    # a Dynamics-like accounts file: Status Active/Inactive is the outcome; a relationship type tells 40 customers
    # from 30 prospects and partners (Active too: they never bought), so they are left out as in a health build
    con.execute("""CREATE TABLE c AS SELECT range AS _row, 'co' || range AS company_name,
        CASE WHEN range < 40 THEN 'Customer' WHEN range < 60 THEN 'Prospect' ELSE 'Partner' END AS lifecycle_stage,
        CASE WHEN range < 40 AND range % 4 = 0 THEN 'Inactive' WHEN range % 9 = 0 THEN 'Inactive' ELSE 'Active' END
            AS status,
        ['EU', 'US'][range % 2 + 1] AS region
        FROM range(70)""")
    config = HealthConfig(good_column="status", good_value="Active", bad_value="Inactive")
    res = build_frame(con, "c", None, "f", config, ["lifecycle_stage", "region"])
    assert (res.definition, res.n, res.not_customers) == ("column", 40, 30)
    assert (res.n_good, res.n_bad) == (27, 13)  # rows 0, 4, ..., 36 and 9, 18, 27 are inactive
    assert con.execute("SELECT max(_row) FROM f").fetchall()[0][0] == 39
    note = res.not_customers_note or ""
    assert note.startswith("30 accounts are not a customer and left out of the outcome comparison")
    assert "'lifecycle_stage' = 'partner', 'prospect'" in note
    # the outcome column itself is never read as the status; nor when that would leave one side empty
    own = build_frame(
        con, "c", None, "g", HealthConfig(good_column="lifecycle_stage", good_value="Customer"), ["region"]
    )
    assert (own.n, own.not_customers) == (70, 0)
    con.execute("UPDATE c SET status = 'Active' WHERE _row < 40")
    kept = build_frame(con, "c", None, "h", config, ["lifecycle_stage", "region"])
    assert (kept.n, kept.n_bad, kept.not_customers, kept.not_customers_note) == (70, 3, 0, None)


def _customers_with_health(con, rows: int = 2000) -> None:
    """Customers stored in _row order with ids, names, a fit field, a band, dates, churn and two more components."""
    con.execute(f"""CREATE TABLE c AS SELECT range AS _row, 'id' || range AS company_id, 'Co ' || range AS company_name,
        'c' || range || '.com' AS domain, ['Retail', 'Software', NULL][range % 3 + 1] AS industry,
        (range % 7) * 10.0 AS employees_min, (range % 7) * 10.0 + 9 AS employees_max, (range % 7) * 10 AS employees,
        DATE '2020-01-01' + CAST(range % 900 AS INT) AS customer_since,
        CASE WHEN range % 5 = 0 THEN DATE '2023-06-01' + CAST(range % 300 AS INT) END AS churn_date,
        (range * 37) % 11 AS nps, (range * 13) % 9 AS support_tickets, 1000.0 + range AS arr, 'EUR' AS arr_currency
        FROM range({rows})""")


def test_a_stored_frame_is_the_one_statement_frame_written_in_two_steps(con):
    # the stored frame is made in a TEMP table and copied (its compression on every thread): the same rows, in
    # the same order, with the same types as the TEMP frame the one statement makes; no staging table is left, and
    # the evidence shows the one statement
    _customers_with_health(con)
    stored = build_frame(con, "c", None, "f", HealthConfig(), ["industry", "employees"])
    kept = build_frame(con, "c", None, "g", HealthConfig(), ["industry", "employees"], temporary=True)
    assert con.execute("DESCRIBE f").fetchall() == con.execute("DESCRIBE g").fetchall()
    assert con.execute("SELECT * FROM f").fetchall() == con.execute("SELECT * FROM g").fetchall()
    assert con.execute("SELECT list(_row) = list_sort(list(_row)) FROM f").fetchall() == [(True,)]
    assert con.execute("SELECT temporary FROM duckdb_tables() WHERE table_name = 'f'").fetchall() == [(False,)]
    assert not con.execute("SELECT table_name FROM duckdb_tables() WHERE table_name LIKE '%staging%'").fetchall()
    assert stored.queries["frame"].startswith("CREATE OR REPLACE TABLE f AS WITH base AS NOT MATERIALIZED")
    assert stored.queries["frame"] == kept.queries["frame"].replace("TEMP TABLE g", "TABLE f")
    assert (stored.n, stored.n_good, stored.n_bad, stored.cohort_sizes) == (
        kept.n,
        kept.n_good,
        kept.n_bad,
        kept.cohort_sizes,
    )


def test_a_lean_frame_carries_the_fit_fields_and_the_score_alone(con):
    # lean (the backtest's Tier 1 analysis): no ids, names, domains, dates or amounts, and the same scores,
    # cohorts and verdicts as the full frame, row for row
    _customers_with_health(con)
    build_frame(con, "c", None, "f", HealthConfig(), ["industry", "employees"], temporary=True)
    build_frame(con, "c", None, "g", HealthConfig(), ["industry", "employees"], temporary=True, lean=True)
    full = {r[0] for r in con.execute("DESCRIBE f").fetchall()}
    lean = [r[0] for r in con.execute("DESCRIBE g").fetchall()]
    assert set(lean) < full
    assert not {"company_id", "company_name", "domain", "customer_since", "churn_date", "arr", "arr_currency"} & set(
        lean
    )
    assert {"_row", "industry", "employees", "employees_min", "employees_max", "churned_flag", "tenure_months"} <= set(
        lean
    )
    shared = ", ".join(lean)
    assert con.execute(f"SELECT {shared} FROM f").fetchall() == con.execute(f"SELECT {shared} FROM g").fetchall()


def test_an_accounts_type_column_read_as_deal_type_is_a_status(con):
    """A Salesforce accounts export's "Type" (Customer / Prospect / Former Customer) is stored as deal_type, ignored
    by default: its prospects are still left out of the customers, unless the user set the field's role."""
    con.execute("""CREATE TABLE c AS SELECT range AS _row, 'co' || range AS company_name,
        CASE WHEN range < 40 THEN 'Customer' WHEN range < 50 THEN 'Former Customer' ELSE 'Prospect' END AS deal_type,
        CASE WHEN range < 50 THEN DATE '2021-01-01' END AS customer_since,
        CASE WHEN range >= 40 AND range < 50 THEN DATE '2024-01-01' END AS churn_date,
        ['EU', 'US'][range % 2 + 1] AS region
        FROM range(80)""")
    res = build_frame(con, "c", None, "f", HealthConfig(), ["region"])
    assert res.not_customers == 30 and res.n == 50
    assert res.not_customers_note is not None and "'prospect'" in res.not_customers_note
    con.execute("CREATE TABLE field_roles (field VARCHAR PRIMARY KEY, role VARCHAR NOT NULL)")
    con.execute("INSERT INTO field_roles VALUES ('deal_type', 'ignore')")
    assert build_frame(con, "c", None, "g", HealthConfig(), ["region"]).not_customers == 0
