"""Unit tests of health/rollup.py: linking per-account tables to the accounts file and rolling them up."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from icp_agent.errors import UserError
from icp_agent.health.health_score import available_components
from icp_agent.health.rollup import link_accounts, roll_up


@pytest.fixture
def con():
    c = duckdb.connect()
    yield c
    c.close()


def _rows(con, table):
    cur = con.execute(f"SELECT * FROM {table} ORDER BY _row")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def _accounts(con):
    con.execute(
        "CREATE TABLE acc AS SELECT * FROM (VALUES (0, 'A1', 'Acme', 'acme.com'), (1, 'B1', 'Beta', 'beta.io'), "
        "(2, 'C1', 'Gamma', 'gamma.org')) t(_row, company_id, company_name, domain)"
    )


def test_link_picks_the_column_pair_that_matches_most(con):
    _accounts(con)
    # the table's company_name holds ids (a billing export's "customer"); case and spaces do not matter
    con.execute(
        "CREATE TABLE t AS SELECT * FROM (VALUES (0, ' a1'), (1, 'B1'), (2, 'B1'), (3, 'Z9'), (4, NULL)) "
        "t(_row, company_name)"
    )
    link = link_accounts(con, "tickets", "t", "acc")
    assert (link.child_key, link.account_key) == ("company_name", "company_id")
    assert (link.rows, link.linked_rows, link.accounts, link.linked_accounts) == (5, 3, 3, 2)
    assert link.unlinked_examples == [{"account": "Z9", "rows": 1, "row": 3}]
    report = link.report()
    assert (report.linked_by, report.unlinked, report.unlinked_accounts) == ("company_name = company_id", 2, 1)
    assert "1 of 3 accounts" in link.note() and "Z9" in link.note()


def test_link_tries_other_text_columns_when_keys_match_few(con):
    con.execute(
        "CREATE TABLE acc AS SELECT * FROM (VALUES (0, 'Acme', 'cus_1'), (1, 'Beta', 'cus_2')) "
        "t(_row, company_name, stripe_customer)"
    )
    con.execute("CREATE TABLE s AS SELECT * FROM (VALUES (0, 'cus_1'), (1, 'cus_2')) t(_row, company_id)")
    link = link_accounts(con, "subscriptions", "s", "acc")
    assert (link.child_key, link.account_key, link.linked_accounts) == ("company_id", "stripe_customer", 2)
    assert link.note() is None


def test_link_without_a_shared_key_column(con):
    _accounts(con)
    con.execute("CREATE TABLE t AS SELECT * FROM (VALUES (0, 'x'), (1, 'y')) t(_row, subject)")
    link = link_accounts(con, "tickets", "t", "acc")
    assert (link.child_key, link.account_key, link.rows, link.linked_rows) == (None, None, 2, 0)
    assert link.report().linked_by is None


def test_subscriptions_give_arr_nrr_churn_and_tenure(con):
    _accounts(con)
    # A1: one live monthly plan, 100/month -> ARR 1,200 throughout, NRR 1.
    # B1: ended 2023-06-01 -> churned that day, ARR 0 on as_of.
    # C1: one subscription with a plan change (two rows, one id): 1,000 then 1,500 -> ARR 1,500 (not 2,500), NRR 1.5.
    con.execute(
        "CREATE TABLE s AS SELECT * FROM (VALUES "
        "(0, 'A1', 's1', DATE '2023-01-01', NULL::DATE, 100.0), "
        "(1, 'B1', 's2', DATE '2023-01-01', DATE '2023-06-01', 100.0), "
        "(2, 'C1', 's3', DATE '2023-01-01', NULL, 1000.0 / 12), "
        "(3, 'C1', 's3', DATE '2023-07-01', NULL, 125.0)) "
        "t(_row, company_id, subscription_id, subscription_start, subscription_end, mrr)"
    )
    rolled = roll_up(con, "acc", {"subscriptions": "s"}, as_of="2024-01-01")
    assert rolled.as_of == "2024-01-01"
    got = {r["company_id"]: r for r in _rows(con, rolled.table)}
    assert got["A1"]["arr"] == pytest.approx(1200) and got["A1"]["nrr"] == pytest.approx(1.0)
    assert got["A1"]["churned"] is False and got["A1"]["churn_date"] is None
    assert got["B1"]["churned"] is True and str(got["B1"]["churn_date"]) == "2023-06-01"
    assert got["B1"]["arr"] == 0 and got["B1"]["starting_arr"] == pytest.approx(1200)
    assert got["C1"]["arr"] == pytest.approx(1500) and got["C1"]["nrr"] == pytest.approx(1.5)
    assert got["C1"]["subscription_count"] == 1
    assert str(got["C1"]["customer_since"]) == "2023-01-01"
    assert any("12 x MRR" in n for n in rolled.notes)
    assert {"starting_arr", "arr", "nrr", "churned", "data_as_of"} <= set(rolled.columns)


def test_ended_status_without_an_end_date_is_not_live(con):
    _accounts(con)
    con.execute(
        "CREATE TABLE s AS SELECT * FROM (VALUES (0, 'A1', DATE '2023-01-01', 'Canceled'), "
        "(1, 'B1', DATE '2023-01-01', 'active')) t(_row, company_id, subscription_start, subscription_status)"
    )
    rolled = roll_up(con, "acc", {"subscriptions": "s"}, as_of="2024-01-01")
    got = {r["company_id"]: r["churned"] for r in _rows(con, rolled.table)}
    # C1 has no subscription: the accounts file has no churn column, so it stays unknown
    assert got == {"A1": True, "B1": False, "C1": None}


def test_tickets_per_year_over_the_observed_window(con):
    _accounts(con)
    con.execute("ALTER TABLE acc ADD COLUMN customer_since DATE; UPDATE acc SET customer_since = DATE '2020-01-01'")
    # the tickets file begins 2023-07-02, so the window is 2023-07-02 .. 2024-01-01 = 183 days, not four years:
    # A1: 2 tickets -> 2 * 365.25 / 183; B1: none -> 0 (the file covers every account)
    con.execute(
        "CREATE TABLE tk AS SELECT * FROM (VALUES (0, 'acme.com', DATE '2023-07-02'), "
        "(1, 'ACME.com', DATE '2023-12-01'), (2, 'gamma.org', DATE '2023-09-01')) t(_row, domain, ticket_created)"
    )
    rolled = roll_up(con, "acc", {"tickets": "tk"}, as_of="2024-01-01")
    got = {r["company_id"]: (r["tickets"], r["tickets_per_year"]) for r in _rows(con, rolled.table)}
    assert got["A1"] == (2, pytest.approx(2 * 365.25 / 183))
    assert got["B1"] == (0, 0.0)
    assert got["C1"] == (1, pytest.approx(365.25 / 183))


def test_cancellation_event_churns_unless_reactivated(con):
    _accounts(con)
    con.execute(
        "CREATE TABLE ev AS SELECT * FROM (VALUES "
        "(0, 'A1', 'login', TIMESTAMP '2023-12-01 10:00'), (1, 'A1', 'Account Cancelled', TIMESTAMP '2023-12-15'), "
        "(2, 'B1', 'cancel', TIMESTAMP '2023-10-01'), (3, 'B1', 'reactivated', TIMESTAMP '2023-11-01'), "
        "(4, 'B1', 'report_run', TIMESTAMP '2023-12-20')) t(_row, company_id, event_name, event_time)"
    )
    rolled = roll_up(con, "acc", {"events": "ev"})
    # as_of defaults to the latest date in the data: the last event
    assert rolled.as_of.startswith("2023-12-20")
    got = {r["company_id"]: r for r in _rows(con, rolled.table)}
    assert got["A1"]["churned"] is True and str(got["A1"]["churn_date"]).startswith("2023-12-15")
    assert got["B1"]["churned"] is False
    assert got["A1"]["usage_events"] == 1 and got["B1"]["usage_events"] == 1  # cancel / reactivate are not usage
    assert str(got["B1"]["last_activity_date"]).startswith("2023-12-20")


def test_too_few_linked_accounts_is_an_error_naming_the_table(con):
    _accounts(con)
    con.execute(
        "CREATE TABLE tk AS SELECT * FROM (VALUES (0, 'A1', DATE '2023-01-01'), (1, 'X1', DATE '2023-01-01'), "
        "(2, 'X2', DATE '2023-01-01')) t(_row, company_id, ticket_created)"
    )
    with pytest.raises(UserError, match="only 1 of the 3 accounts in the tickets") as e:
        roll_up(con, "acc", {"tickets": "tk"}, as_of="2024-01-01")
    assert e.value.file == "tk"  # outside a workspace the table's name stands for the file


def test_no_dates_anywhere_is_an_error(con):
    _accounts(con)
    con.execute("CREATE TABLE tk AS SELECT * FROM (VALUES (0, 'A1')) t(_row, company_id)")
    with pytest.raises(UserError, match="carry no dates"):
        roll_up(con, "acc", {"tickets": "tk"})


def test_subscriptions_without_a_start_column(con):
    _accounts(con)
    con.execute("CREATE TABLE s AS SELECT * FROM (VALUES (0, 'A1', 10.0)) t(_row, company_id, mrr)")
    with pytest.raises(UserError, match="no start date column") as e:
        roll_up(con, "acc", {"subscriptions": "s"}, as_of="2024-01-01")
    assert e.value.file == "s"


def test_accounts_sharing_a_name_get_none_of_its_rows(con):
    # two different companies named Acme: a ticket naming only "Acme" cannot be told apart, so it is linked to
    # neither (it used to be counted for both: 3 tickets became 6); Beta's ticket still links
    con.execute(
        "CREATE TABLE acc AS SELECT * FROM (VALUES (0, 'A1', 'Acme', DATE '2023-01-01'), "
        "(1, 'A2', 'ACME ', DATE '2023-01-01'), (2, 'B1', 'Beta', DATE '2023-01-01'), "
        "(3, 'B1', 'Beta', DATE '2023-01-01')) t(_row, company_id, company_name, customer_since)"
    )
    con.execute(
        "CREATE TABLE tk AS SELECT * FROM (VALUES (0, 'Acme', DATE '2023-06-01'), (1, 'Acme', DATE '2023-07-01'), "
        "(2, 'acme', DATE '2023-08-01'), (3, 'Beta', DATE '2023-06-01'), (4, 'Beta', DATE '2023-07-01')) "
        "t(_row, company_name, ticket_created)"
    )
    link = link_accounts(con, "tickets", "tk", "acc")
    assert (link.child_key, link.account_key) == ("company_name", "company_name")
    # Beta listed twice with the same id is one account, so its rows still link
    assert (link.rows, link.linked_rows, link.accounts, link.linked_accounts, link.ambiguous_accounts) == (
        5,
        2,
        2,
        1,
        1,
    )
    assert "share that company_name" in link.note()
    rolled = roll_up(con, "acc", {"tickets": "tk"}, as_of="2024-01-01")
    assert [(r["company_id"], r["tickets"]) for r in _rows(con, rolled.table)] == [
        ("A1", 0),
        ("A2", 0),
        ("B1", 2),
        ("B1", 2),
    ]


def test_a_shared_name_loses_to_a_unique_domain(con):
    con.execute(
        "CREATE TABLE acc AS SELECT * FROM (VALUES (0, 'Acme', 'acme.com'), (1, 'Acme', 'acme.co.uk'), "
        "(2, 'Beta', 'beta.io')) t(_row, company_name, domain)"
    )
    con.execute(
        "CREATE TABLE tk AS SELECT * FROM (VALUES (0, 'Acme', 'acme.com'), (1, 'Acme', 'acme.co.uk'), "
        "(2, 'Beta', 'beta.io')) t(_row, company_name, domain)"
    )
    link = link_accounts(con, "tickets", "tk", "acc")
    assert (link.child_key, link.account_key, link.linked_rows, link.ambiguous_accounts) == ("domain", "domain", 3, 0)


def test_rows_the_first_key_leaves_unlinked_link_by_a_second(con):
    # a Chargebee-style export: the customer's e-mail domain, and the company as typed at checkout. Two customers
    # paid with personal addresses (outlook.com), one left it blank: their company names still name an account,
    # written with another legal suffix ("Dorvane S.L." for "Dorvane") and in capitals. "Helix" fits two
    # accounts: it stays unlinked, as with one key.
    con.execute(
        "CREATE TABLE acc AS SELECT * FROM (VALUES (0, 'Dorvane', 'dorvane.es'), (1, 'Kestrel Labs', 'kestrel.io'), "
        "(2, 'Morrow GmbH', 'morrow.de'), (3, 'Helix', 'helix.com'), (4, 'Helix', 'helix.fr'), "
        "(5, 'Orbit Ltd', 'orbit.co.uk')) t(_row, company_name, domain)"
    )
    con.execute(
        "CREATE TABLE s AS SELECT * FROM (VALUES "
        "(0, 'dorvane.es', 'Dorvane', 'S1', DATE '2024-01-01', NULL::DATE, 100.0), "
        "(1, 'kestrel.io', 'Kestrel Labs', 'S2', DATE '2024-01-01', NULL, 200.0), "
        "(2, 'morrow.de', 'Morrow', 'S3', DATE '2024-01-01', DATE '2024-06-01', 50.0), "
        "(3, 'orbit.co.uk', 'Orbit', 'S4', DATE '2024-01-01', NULL, 10.0), "
        "(4, 'outlook.com', 'Dorvane S.L.', 'S5', DATE '2024-03-01', NULL, 30.0), "
        "(5, 'outlook.com', 'HELIX', 'S6', DATE '2024-01-01', NULL, 70.0), "
        "(6, NULL, 'MORROW GMBH', 'S7', DATE '2024-02-01', DATE '2024-05-01', 40.0)) "
        "t(_row, domain, company_name, subscription_id, subscription_start, subscription_end, arr)"
    )
    link = link_accounts(con, "subscriptions", "s", "acc")
    assert (link.child_key, link.account_key, link.fallback) == ("domain", "domain", ("company_name", "company_name"))
    assert link.by_key == {"domain": 4, "company_name": 2}
    assert (link.rows, link.linked_rows) == (7, 6)
    report = link.report()
    assert (report.linked_by, report.tried, report.unlinked) == (
        "domain, then company_name",
        {"domain": 4, "company_name": 2},
        1,
    )
    rolled = roll_up(con, "acc", {"subscriptions": "s"}, as_of="2024-07-01")
    got = {r["company_name"] + " " + r["domain"]: r for r in _rows(con, rolled.table)}
    # Dorvane: S1 by domain and S5 by name, both live; Morrow: S3 by domain and S7 (no e-mail) by name, both ended
    assert (got["Dorvane dorvane.es"]["subscription_count"], got["Dorvane dorvane.es"]["arr"]) == (2, 130.0)
    assert got["Morrow GmbH morrow.de"]["subscription_count"] == 2
    assert got["Morrow GmbH morrow.de"]["churned"] is True
    assert str(got["Morrow GmbH morrow.de"]["churn_date"]) == "2024-06-01"
    # the personal address names no account, "HELIX" fits two: neither Helix gets S6
    assert got["Helix helix.com"]["subscription_count"] == 0 and got["Helix helix.fr"]["subscription_count"] == 0


def test_one_key_linking_every_row_has_no_second(con):
    _accounts(con)
    con.execute(
        "CREATE TABLE s AS SELECT * FROM (VALUES (0, 'acme.com', 'Zed'), (1, 'beta.io', NULL)) t(_row, domain, company_name)"
    )
    link = link_accounts(con, "subscriptions", "s", "acc")
    assert (link.child_key, link.fallback, link.linked_rows) == ("domain", None, 2)
    assert link.report().tried == {}


def test_as_of_takes_ended_rows_cancellations_not_a_running_rows_expiry(con):
    """Recurly: a `canceled` row runs until expires_at (a future date); an `expired` row's end is past."""
    _accounts(con)
    con.execute(
        "CREATE TABLE s AS SELECT * FROM (VALUES "
        "(0, 'A1', DATE '2023-01-01', DATE '2024-03-01', DATE '2024-09-30', 'canceled'), "
        "(1, 'B1', DATE '2023-01-01', DATE '2024-02-01', DATE '2024-04-02', 'expired'), "
        "(2, 'C1', DATE '2023-05-01', NULL, NULL, 'active')) "
        "t(_row, company_id, subscription_start, churn_date, subscription_end, subscription_status)"
    )
    rolled = roll_up(con, "acc", {"subscriptions": "s"})
    assert rolled.as_of == "2024-04-02"
    got = {r["company_id"]: (r["churned"], r["churn_date"]) for r in _rows(con, rolled.table)}
    assert got == {"A1": (False, None), "B1": (True, date(2024, 4, 2)), "C1": (False, None)}


def test_without_a_status_a_cancellation_beside_an_end_column_is_a_request(con):
    """Stripe with its Status column ignored: Ended At is the end; a Canceled At alone is a cancel at period end."""
    _accounts(con)
    con.execute(
        "CREATE TABLE s AS SELECT * FROM (VALUES "
        "(0, 'A1', DATE '2023-01-01', DATE '2023-12-20', NULL::DATE), "
        "(1, 'B1', DATE '2023-01-01', DATE '2023-11-01', DATE '2023-11-02')) "
        "t(_row, company_id, subscription_start, churn_date, subscription_end)"
    )
    rolled = roll_up(con, "acc", {"subscriptions": "s"}, as_of="2024-01-01")
    got = {r["company_id"]: (r["churned"], r["churn_date"]) for r in _rows(con, rolled.table)}
    assert got == {"A1": (False, None), "B1": (True, date(2023, 11, 2)), "C1": (None, None)}
    # a file with cancellation dates only (Chargebee's Cancelled At): those are the ends
    con.execute("CREATE TABLE s2 AS SELECT * EXCLUDE (subscription_end) FROM s")
    rolled = roll_up(con, "acc", {"subscriptions": "s2"}, as_of="2024-01-01")
    got = {r["company_id"]: (r["churned"], r["churn_date"]) for r in _rows(con, rolled.table)}
    assert got == {"A1": (True, date(2023, 12, 20)), "B1": (True, date(2023, 11, 1)), "C1": (None, None)}


def test_usage_aggregated_per_day_gives_sessions_per_month(con):
    _accounts(con)
    con.execute("ALTER TABLE acc ADD COLUMN customer_since DATE; UPDATE acc SET customer_since = DATE '2020-01-01'")
    # a PostHog-style daily report: no event names, a row per account and day with counts (days apart by 1 most
    # often: a day is the period); sessions win over active users. The file begins 2023-12-01 and as_of is
    # 2024-01-30: 60 days to the start of the last day, 61 to its end, for every account
    con.execute(
        "CREATE TABLE ev AS SELECT * FROM (VALUES (0, 'A1', DATE '2023-12-01', 10, 3), "
        "(1, 'a1 ', DATE '2024-01-15', 20, 4), (2, 'B1', DATE '2024-01-10', 0, 0), (3, 'B1', DATE '2024-01-11', 0, 0), "
        "(4, 'B1', DATE '2024-01-12', 0, 0), (5, 'A1', DATE '2024-02-05', 99, 9)) "
        "t(_row, company_id, event_time, session_count, active_users)"
    )
    rolled = roll_up(con, "acc", {"events": "ev"}, as_of="2024-01-30")
    got = {r["company_id"]: r for r in _rows(con, rolled.table)}
    # A1: 10 + 20 sessions (the row after as_of is not counted) over 61 days
    assert got["A1"]["usage_sessions"] == 30 and got["A1"]["sessions_per_month"] == pytest.approx(30 * 30.4375 / 61)
    assert str(got["A1"]["last_activity_date"]) == "2024-01-15"
    # B1 has a row without use: no activity; C1 has no row: 0 (the file covers every account)
    assert (got["B1"]["sessions_per_month"], got["B1"]["last_activity_date"]) == (0.0, None)
    assert got["C1"]["sessions_per_month"] == 0.0
    # no cancellation event in an aggregate: churn stays what the accounts file says (nothing here)
    assert {r["churned"] for r in got.values()} == {None}
    assert "events_per_month" not in rolled.columns and "sessions_per_month" in rolled.columns
    assert any(
        "usage aggregated per account and day" in n and "sessions per month" in n and "active_users not used" in n
        for n in rolled.notes
    )
    assert available_components(set(rolled.columns))["activity"] == "sessions_per_month"


def test_weekly_active_users_alone_average_per_week(con):
    _accounts(con)
    con.execute("ALTER TABLE acc ADD COLUMN customer_since DATE; UPDATE acc SET customer_since = DATE '2020-01-01'")
    # C1 became a customer on Wednesday 2024-01-10: the row of its week (from Monday the 8th) still counts
    con.execute("UPDATE acc SET customer_since = DATE '2024-01-10' WHERE company_id = 'C1'")
    # weekly rows by domain from 2024-01-01, as_of 2024-01-29 (a week's start): the window runs to that week's
    # end, 35 days (5 weeks); A1 was active two weeks (3 and 5 users), no row the other three: 8 user-weeks /
    # 5 weeks = 1.6 a week; B1: 16 / 5 = 3.2
    con.execute(
        "CREATE TABLE ev AS SELECT * FROM (VALUES (0, 'acme.com', DATE '2024-01-01', 3), "
        "(1, 'acme.com', DATE '2024-01-08', 5), (2, 'beta.io', DATE '2024-01-01', 4), (3, 'beta.io', DATE '2024-01-08', 4), "
        "(4, 'beta.io', DATE '2024-01-15', 4), (5, 'beta.io', DATE '2024-01-22', 4), (6, 'gamma.org', DATE '2024-01-08', 2)) t(_row, domain, event_time, active_users)"
    )
    rolled = roll_up(con, "acc", {"events": "ev"}, as_of="2024-01-29")
    got = {r["company_id"]: r["avg_active_users"] for r in _rows(con, rolled.table)}
    # C1: 2 user-weeks over 2024-01-10 .. the end of the week of the 29th (26 days), at least a month
    assert got == {"A1": pytest.approx(1.6), "B1": pytest.approx(3.2), "C1": pytest.approx(2 * 7 / 30.4375)}
    assert any("active users per week, averaged" in n for n in rolled.notes)
    assert available_components(set(rolled.columns))["activity"] == "avg_active_users"


def test_events_counted_per_name_and_month_count_their_counts(con):
    _accounts(con)
    con.execute("ALTER TABLE acc ADD COLUMN customer_since DATE; UPDATE acc SET customer_since = DATE '2020-01-01'")
    # an event segmentation export: a row per account, event name and month with its count. Months from 2024-01-01
    # to 2024-03-01 (as_of): the window runs to the end of March, 60 days + a month on average (30.4375)
    con.execute(
        "CREATE TABLE ev AS SELECT * FROM (VALUES "
        "(0, 'A1', 'Report Viewed', DATE '2024-01-01', 30), (1, 'A1', 'Report Viewed', DATE '2024-02-01', 50), "
        "(2, 'A1', 'Invoice Paid', DATE '2024-02-01', 1), (3, 'B1', 'Report Viewed', DATE '2024-01-01', 12), "
        "(4, 'B1', 'Subscription Cancelled', DATE '2024-02-01', 1), (5, 'C1', 'Account Closed', DATE '2024-03-01', 0)) "
        "t(_row, company_id, event_name, event_time, event_count)"
    )
    rolled = roll_up(con, "acc", {"events": "ev"}, as_of="2024-03-01")
    got = {r["company_id"]: r for r in _rows(con, rolled.table)}
    # A1: 80 usage events (the billing event is not usage) over 90.4375 days
    assert got["A1"]["usage_events"] == 80
    assert got["A1"]["events_per_month"] == pytest.approx(80 * 30.4375 / (60 + 30.4375))
    assert got["A1"]["churned"] is None  # no cancellation: the accounts file says nothing
    # B1 cancelled in February: churned then, its 12 events over Jan 1 .. the end of February's month
    assert got["B1"]["churned"] is True and str(got["B1"]["churn_date"]) == "2024-02-01"
    assert got["B1"]["events_per_month"] == pytest.approx(12 * 30.4375 / (31 + 30.4375))
    assert got["C1"]["churned"] is None  # a cancellation counted 0 times did not happen
    assert any("counted per event name, account and month" in n for n in rolled.notes)


def test_events_of_neither_shape_are_an_error_naming_the_columns(con):
    _accounts(con)
    # a date and an account but neither an event name nor a usage count
    con.execute(
        "CREATE TABLE ev AS SELECT * FROM (VALUES (0, 'A1', DATE '2024-01-01', 'Pro')) t(_row, company_id, event_time, plan)"
    )
    with pytest.raises(UserError, match="needs a date or time column and either an event name") as e:
        roll_up(con, "acc", {"events": "ev"}, as_of="2024-01-31")
    assert e.value.file == "ev" and "plan" in e.value.reason and "Week" in e.value.hint
    # a period read as text (a month spelled 'Jan 2024') cannot be dated
    con.execute(
        "CREATE TABLE ev2 AS SELECT * FROM (VALUES (0, 'A1', 'Jan 2024', 5)) t(_row, company_id, event_time, event_count)"
    )
    with pytest.raises(UserError, match="read as varchar, not dates"):
        roll_up(con, "acc", {"events": "ev2"}, as_of="2024-01-31")
