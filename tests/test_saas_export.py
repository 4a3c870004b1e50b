"""Multi-table SaaS exports: accounts + subscriptions + tickets + events, rolled up per account into health.

The export is generated (tools/gen_saas_fixture.py) with a planted segment; a few accounts are
written by hand so the roll-up can be checked exactly. Smaller hand-made exports cover the edge
cases: an ARR column, overlapping subscriptions, a tickets file alone, kind detection per CRM.
"""

from __future__ import annotations

import importlib.util
import json
from datetime import date

import duckdb
import pytest

from icp_agent import toolkit
from icp_agent.health.rollup import roll_up
from icp_agent.errors import UserError
from icp_agent.ingest.columns import detect_kind
from icp_agent.ingest.importer import import_file

from conftest import REPO

DAYS_PER_YEAR, DAYS_PER_MONTH = 365.25, 30.4375


def _generator():
    spec = importlib.util.spec_from_file_location("gen_saas_fixture", REPO / "tools" / "gen_saas_fixture.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def saas_run(tmp_path_factory):
    """`icp-agent run export/ --out out` once on the generated export; the workspace, output and stdout."""
    from click.testing import CliRunner

    from icp_agent.faces.cli import main

    root = tmp_path_factory.mktemp("saas")
    counts = _generator().generate(root / "export")
    result = CliRunner().invoke(main, ["run", str(root / "export"), "--out", str(root / "out"),
                                       "--workspace", str(root / "ws.duckdb")])
    assert result.exit_code == 0, (result.output, result.exception)
    return root, counts, result.stdout


def _rolled(root, *accounts):
    with duckdb.connect(str(root / "ws.duckdb"), read_only=True) as con:
        table = con.execute("SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'rollup_%'").fetchall()
        assert len(table) == 1
        cursor = con.execute(f"SELECT * FROM {table[0][0]} WHERE company_id IN ? ORDER BY company_id", [list(accounts)])
        names = [d[0] for d in cursor.description]
        return {row[names.index("company_id")]: dict(zip(names, row)) for row in cursor.fetchall()}


def test_the_export_runs_end_to_end_and_tier_1_is_the_planted_segment(saas_run):
    root, counts, stdout = saas_run
    # each file's kind is said, from its headers alone
    assert "subscriptions.csv: subscriptions" in stdout and "tickets.csv: tickets" in stdout
    assert "events.csv: events" in stdout and "accounts.csv: customers" in stdout
    icp = json.loads((root / "out" / "icp.json").read_text())
    assert icp["health"]["definition"] == "health"
    assert icp["health"]["components"] == ["retention", "nrr", "support_burden", "activity"]
    tier1 = icp["tiers"][0]
    fields = {c["field"]: c for c in tier1["criteria"]}
    assert set(fields) == {"industry", "employees"}
    assert fields["industry"]["values"] == ["Computer Software"] or fields["industry"].get("value") == \
        "Computer Software"
    assert fields["employees"]["min"] >= 51 and fields["employees"]["max"] <= 200
    assert tier1["metrics"]["n"] == counts["planted_segment"]


def test_rolled_up_values_are_exact(saas_run):
    root, _, _ = saas_run
    got = _rolled(root, "A0001", "A0002", "A0004")
    # two overlapping subscriptions (an add-on a year later): 12 x (1000) at the start, 12 x (1000 + 250) now
    a1 = got["A0001"]
    assert (a1["starting_arr"], a1["arr"], a1["nrr"]) == (12000, 15000, 1.25)
    assert a1["customer_since"] == date(2022, 1, 15) and a1["churned"] is False and a1["churn_date"] is None
    window = (date(2024, 12, 31) - date(2022, 1, 15)).days  # as of the data's last day
    assert a1["tickets"] == 2 and a1["tickets_per_year"] == pytest.approx(2 * DAYS_PER_YEAR / window, rel=1e-12)
    assert a1["usage_events"] == 2 and a1["events_per_month"] == pytest.approx(2 * DAYS_PER_MONTH / window, rel=1e-12)
    assert a1["last_activity_date"] == date(2024, 12, 31) and a1["data_as_of"] == date(2024, 12, 31)
    # one subscription in two rows (a downgrade), cancelled: 6000 at the start, 0 now, churned on its end date;
    # the ticket raised after it churned is not counted
    a2 = got["A0002"]
    assert (a2["starting_arr"], a2["arr"], a2["nrr"]) == (6000, 0, 0)
    assert a2["churned"] is True and a2["churn_date"] == date(2024, 6, 30) and a2["subscription_count"] == 1
    window = (date(2024, 6, 30) - date(2022, 3, 1)).days
    assert a2["tickets"] == 3 and a2["tickets_per_year"] == pytest.approx(3 * DAYS_PER_YEAR / window, rel=1e-12)
    # two products from the same day add up; the add-on that ended lowers nothing below the start
    a4 = got["A0004"]
    assert (a4["starting_arr"], a4["arr"], a4["nrr"], a4["subscription_count"]) == (6000, 6000, 1.0, 3)
    assert a4["tickets"] == 0 and a4["tickets_per_year"] == 0  # the tickets file covers every account


def test_an_account_without_subscriptions_keeps_its_own_values_and_loses_no_health(saas_run):
    root, _, _ = saas_run
    a3 = _rolled(root, "A0003")["A0003"]
    assert a3["starting_arr"] is None and a3["arr"] is None and a3["nrr"] is None
    assert a3["churned"] is False  # the accounts file's flag stands
    assert a3["tickets"] == 1 and a3["tickets_per_year"] is None  # no start date: not measurable, not zero
    with duckdb.connect(str(root / "ws.duckdb"), read_only=True) as con:
        frame = con.execute("SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'frame_%'").fetchall()[0][0]
        row = con.execute(f"SELECT c_nrr, c_support_burden, c_retention, health FROM {frame} "
                          f"WHERE company_id = 'A0003'").fetchone()
    assert row[0] is None and row[1] is None and row[2] is not None and row[3] is not None


def test_accounts_missing_from_the_accounts_file_are_counted_and_reported(saas_run):
    root, _, stdout = saas_run
    assert "subscriptions linked by company_id: 580 of 583 rows; 2 of 401 accounts not in the accounts file " \
           "(e.g. A9001, A9002)" in stdout
    assert "tickets linked by company_name" in stdout  # Zendesk's Organization holds the account's name
    warnings = json.loads((root / "out" / "icp.json").read_text())["warnings"]
    assert any("2 of 401 accounts (3 of 583 rows) are not in the accounts file" in w for w in warnings)
    assert any("ARR = 12 x MRR" in w for w in warnings)


ACCOUNTS = """Customer ID,Company,Industry,Employees,Customer Since,Churned
C1,Alpha GmbH,Retail,120,2023-01-01,no
C2,Beta SA,Retail,300,2023-07-01,yes
C3,Gamma Ltd,Software,50,2022-01-01,no
"""


def test_an_arr_column_and_overlapping_subscriptions_chargebee_style(ws, write):
    """Chargebee-style headers, ARR given (no x12), two subscriptions overlapping for a while, a cancellation."""
    subscriptions = write("subs.csv", "Subscription Id,Customer Id,Plan Id,Status,Started At,Cancelled At,ARR\n"
                                      "sb0,C1,trial,expired,2022-12-01,2023-01-01,0\n"
                                      "sb1,C1,pro,active,2023-01-01,,10000\n"
                                      "sb2,C1,seats,cancelled,2023-06-01,2024-03-01,\"2,000\"\n"
                                      "sb3,C1,seats-v2,active,2024-02-01,,3000\n"
                                      "sb4,C2,basic,cancelled,2023-07-01,2024-01-15,5000\n"
                                      "sb5,C3,basic,expired,2023-07-01,,1000\n"  # ended, says the status only
                                      "sb6,C3,basic,non_renewing,2024-01-01,2024-12-31,2000\n")  # live to its end
    result = toolkit.import_data(ws, customers=write("accounts.csv", ACCOUNTS), subscriptions=subscriptions)
    assert [r.kind for r in result.reports] == ["customers", "subscriptions"]
    with ws.transaction() as con:
        rolled = roll_up(con, ws.current_table(con, "customers"), {"subscriptions": ws.current_table(con, "subscriptions")},
                         as_of="2024-06-30")
        rows = {r[0]: r[1:] for r in con.execute(f"SELECT company_id, starting_arr, arr, nrr, churned, churn_date "
                                                 f"FROM {rolled.table} ORDER BY company_id").fetchall()}
        since = con.execute(f"SELECT customer_since FROM {rolled.table} WHERE company_id = 'C1'").fetchone()[0]
    assert since == date(2023, 1, 1)  # the accounts file's own Customer Since wins over the subscriptions
    # the free trial does not start the account; sb2 ended on 2024-03-01, sb3 overlapped it and stays
    assert rows["C1"] == (10000, 13000, 1.3, False, None)
    assert rows["C2"] == (5000, 0, 0, True, date(2024, 1, 15))
    # an ended row with no date gives no churn date, and the non-renewing one is live until 2024-12-31
    assert rows["C3"] == (1000, 2000, 2.0, False, None)
    assert not any("12 x MRR" in n for n in rolled.notes)


def test_a_tickets_file_alone_beside_the_accounts_gives_support_burden(ws, write):
    accounts = write("accounts.csv", ACCOUNTS)
    tickets = write("cases.csv", "Case Number,Account Name,Created Date,Case Priority,Case Status\n"
                                 "00001,Alpha GmbH,2023-02-01,High,Closed\n"
                                 "00002,alpha gmbh,2023-08-01,Low,Closed\n"
                                 "00003,Beta SA,2023-08-01,Low,Closed\n"
                                 "00004,Beta SA,2024-02-01,Low,Open\n"  # after Beta churned (flag only, no date)
                                 "00005,Omega Inc,2023-09-01,Low,Open\n")
    plan = toolkit.plan_inputs(None, customers=accounts, tickets=tickets)
    assert [p.kind for p in plan] == ["customers", "tickets"]
    result = toolkit.import_data(ws, customers=accounts, tickets=tickets)
    link = [r for r in result.links if r.kind == "tickets"][0]
    assert (link.linked_by, link.rows, link.linked, link.accounts, link.unlinked_accounts) == \
        ("company_name", 5, 4, 3, 1)
    with ws.transaction() as con:
        rolled = roll_up(con, ws.current_table(con, "customers"), {"tickets": ws.current_table(con, "tickets")},
                         as_of="2024-12-31")
        rows = {r[0]: r[1:] for r in con.execute(f"SELECT company_id, tickets, tickets_per_year FROM {rolled.table} "
                                                 f"ORDER BY company_id").fetchall()}
    # the window starts at the later of the account's start and the file's first ticket (2023-02-01)
    assert rows["C1"][0] == 2 and rows["C1"][1] == pytest.approx(2 * DAYS_PER_YEAR / (date(2024, 12, 31) - date(2023, 2, 1)).days)
    assert rows["C2"][0] == 2  # a churn flag without a date: counted to the as-of date
    assert rows["C3"] == (0, 0)
    assert toolkit.score_health(ws).components == ["retention", "support_burden"]


def test_per_account_tables_without_an_accounts_file_say_what_is_missing(ws, write):
    tickets = write("tickets.csv", "Ticket ID,Organization,Created at,Priority,Status\n1,Alpha GmbH,2024-01-01,low,"
                                   "open\n")
    with pytest.raises(UserError, match="tickets need an accounts file"):
        toolkit.import_data(ws, tickets=tickets)
    # once the workspace holds the accounts, a newer tickets snapshot alone is fine
    toolkit.import_data(ws, customers=write("accounts.csv", ACCOUNTS))
    result = toolkit.import_data(ws, tickets=tickets)
    assert [r.kind for r in result.reports] == ["tickets"] and result.links[0].linked == 1


def test_a_link_that_matches_too_little_stops_with_the_figures(ws, write):
    toolkit.import_data(ws, customers=write("accounts.csv", ACCOUNTS),
                        events=write("events.csv", "account_id,event,timestamp\nX1,login,2024-01-01T10:00:00Z\n"
                                                   "X2,login,2024-01-02T10:00:00Z\nC1,login,2024-01-03T10:00:00Z\n"))
    with pytest.raises(UserError, match="only 1 of the 3 accounts in the events are in the accounts file") as error:
        toolkit.build_icp(ws)
    assert "events.csv" in str(error.value)


@pytest.mark.parametrize("headers,kind", [
    # Stripe dashboard export: the subscription is `id`, the account `customer`
    (["id", "customer", "plan", "mrr", "status", "current_period_start", "canceled_at"], "subscriptions"),
    (["Subscription ID", "customer", "plan", "mrr", "status", "start_date", "canceled_at"], "subscriptions"),
    # Chargebee, Baremetrics
    (["Subscription Id", "Customer Id", "Plan Id", "Status", "Started At", "Cancelled At", "MRR"], "subscriptions"),
    (["plan_oid", "plan_name", "plan_amount", "customer_oid", "subscription_oid", "subscription_started_at",
      "subscription_canceled_at"], "subscriptions"),
    # Recurly: account_code, state, activated_at, expires_at
    (["uuid", "account_code", "plan_code", "state", "activated_at", "canceled_at", "expires_at", "quantity"],
     "subscriptions"),
    # Zendesk, HubSpot, Salesforce cases, Intercom
    (["Ticket ID", "Organization", "Created at", "Priority", "Status"], "tickets"),
    (["Ticket ID", "Ticket name", "Pipeline", "Ticket status", "Create date", "Priority", "Associated Company"],
     "tickets"),
    (["Case Number", "Account Name", "Created Date", "Case Priority", "Case Status"], "tickets"),
    (["id", "organization_id", "created_at", "priority", "status"], "tickets"),
    # Segment / Mixpanel-style events
    (["account_id", "event", "timestamp"], "events"),
    (["Account ID", "Event Name", "Occurred At", "Properties"], "events"),
    # an accounts file with plan and MRR is still an accounts file
    (["Account ID", "Account Name", "Industry", "Plan", "MRR", "Churned"], "customers"),
    (["Record ID", "Company name", "MRR", "Start Date", "Churned"], "customers"),
    (["Company", "Industry", "Employees"], "prospects"),
])
def test_kinds_are_detected_from_real_export_headers(headers, kind):
    assert detect_kind(headers)[0] == kind


def test_kind_dependent_headers_map_only_in_their_kind(ws, write):
    report = toolkit.import_data(ws, customers=write("accounts.csv", ACCOUNTS), subscriptions=write(
        "stripe.csv", "id,customer,plan,mrr,status,current_period_start,canceled_at\n"
                      "sub_1,C1,pro,100,active,2024-01-05,\n")).reports[1]
    fields = {c.header: c.field for c in report.columns}
    assert fields == {"id": "subscription_id", "customer": "company_id", "plan": "plan", "mrr": "mrr",
                      "status": "subscription_status", "current_period_start": "period_start",
                      "canceled_at": "churn_date"}


def test_flags_name_the_per_account_files_and_a_missing_account_column_is_explained(cli, write):
    accounts = write("accounts.csv", ACCOUNTS)
    usage = write("usage.csv", "account_id,event,timestamp\nC1,report_viewed,2024-05-01T10:00:00Z\n"
                               "C3,report_viewed,2024-05-02T10:00:00Z\n")
    out = cli("import-data", "--customers", str(accounts), "--events", str(usage)).stdout
    assert "usage.csv: events (named with --events; a row per event (event name and time))" in out
    assert "events linked by company_id: 2 of 2 rows; 0 of 2 accounts not in the accounts file" in out
    odd = write("odd.csv", "what,when\nlogin,2024-05-01\n")
    failed = cli("import-data", "--customers", str(accounts), "--tickets", str(odd), expect=2)
    assert "the tickets file needs a column naming each row's account" in failed.output
    assert "odd.csv" in failed.output


def test_the_billing_id_kept_in_its_own_accounts_column_links_by_its_values(ws, write):
    """Stripe's `customer` holds cus_ ids; the CRM keeps them in a 'Stripe Customer ID' column of its own."""
    accounts = write("accounts.csv", "Account ID,Account Name,Industry,Stripe Customer ID,Churned\n"
                                     "001A,Alpha,Retail,cus_Q1,no\n001B,Beta,Retail,cus_Q2,no\n"
                                     "001C,Gamma,Retail,cus_Q3,yes\n")
    stripe = write("stripe.csv", "id,customer,plan,mrr,status,current_period_start,canceled_at\n"
                                 "sub_1,cus_Q1,pro,100,active,2024-05-01,\nsub_2,cus_Q2,pro,200,active,2024-05-03,\n"
                                 "sub_3,cus_Q3,pro,50,canceled,2024-02-01,2024-03-01\n"
                                 "sub_4,cus_Q9,pro,50,active,2024-05-01,\n")
    links = toolkit.import_data(ws, customers=accounts, subscriptions=stripe).links
    assert [(link.kind, link.linked_by, link.linked, link.rows, link.unlinked_accounts) for link in links] == \
        [("subscriptions", "company_id = stripe_customer_id", 3, 4, 1)]
    with ws.transaction() as con:
        rolled = roll_up(con, ws.current_table(con, "customers"),
                         {"subscriptions": ws.current_table(con, "subscriptions")})
        rows = con.execute(f"SELECT company_id, arr, churned, churn_date FROM {rolled.table} ORDER BY 1").fetchall()
    # the period start stands in for a start date Stripe's dashboard export leaves out; as of its latest (2024-05-03)
    assert rolled.as_of == "2024-05-03" and any("billing period's start stands in" in n for n in rolled.notes)
    assert rows == [("001A", 1200, False, None), ("001B", 2400, False, None), ("001C", 0, True, date(2024, 3, 1))]


def test_cancellation_events_churn_accounts_without_subscriptions(ws, write):
    accounts = write("accounts.csv", "Account ID,Account Name,Industry,Customer Since,Churned\n"
                                     "C1,Alpha,Retail,2023-01-01,no\nC2,Beta,Retail,2023-01-01,no\n"
                                     "C3,Gamma,Retail,2023-01-01,yes\n")
    events = write("events.csv", "account_id,event,timestamp\n"
                                 "C1,Subscription Cancelled,2024-02-01T10:00:00Z\n"
                                 "C1,subscription_reactivated,2024-03-01T10:00:00Z\n"
                                 "C1,report_viewed,2024-04-01T10:00:00Z\n"
                                 "C2,report_viewed,2023-06-01T10:00:00Z\n"
                                 "C2,account_closed,2024-05-15T10:00:00Z\n"
                                 "C3,report_viewed,2023-01-01T10:00:00Z\n")
    toolkit.import_data(ws, customers=accounts, events=events)
    with ws.transaction() as con:
        rolled = roll_up(con, ws.current_table(con, "customers"), {"events": ws.current_table(con, "events")})
        rows = {r[0]: r[1:] for r in con.execute(f"SELECT company_id, churned, churn_date, usage_events, "
                                                 f"last_activity_date FROM {rolled.table}").fetchall()}
    assert rolled.as_of == "2024-05-15"
    assert rows["C1"] == (False, None, 1, date(2024, 4, 1))  # cancelled, then reactivated
    assert rows["C2"] == (True, date(2024, 5, 15), 1, date(2023, 6, 1))
    assert rows["C3"] == (True, None, 1, date(2023, 1, 1))  # no cancellation event: the accounts file's flag


@pytest.mark.parametrize("kind,headers,expected", [
    ("subscriptions", ["uuid", "account_code", "plan_code", "state", "activated_at", "canceled_at", "expires_at"],
     ["subscription_id", "company_id", "plan", "subscription_status", "subscription_start", "churn_date",
      "subscription_end"]),
    ("tickets", ["Ticket ID", "Ticket status", "Create date", "Priority", "Associated Company"],
     ["ticket_id", "ticket_status", "ticket_created", "ticket_priority", "company_name"]),
    ("events", ["Account ID", "Type", "Date"], ["company_id", "event_name", "event_time"]),
])
def test_each_kind_maps_its_export_headers(ws, write, kind, headers, expected):
    rows = {"subscriptions": "s1,A1,pro,active,2024-01-01,,2025-01-01", "tickets": "t1,open,2024-01-01,high,Acme",
            "events": "A1,login,2024-01-01"}
    path = write(f"{kind}.csv", ",".join(headers) + "\n" + rows[kind] + "\n")
    report = import_file(ws, path)
    assert report.kind == kind
    assert [c.field for c in report.columns] == expected


def test_priced_subscriptions_with_time_zone_headers_give_arr_churn_and_as_of(ws, write):
    """Chargebee-style: unit price x quantity per Billing Period Unit x Billing Period, dates headed '(GMT)', churn
    from the statuses and cancellation dates alone (the accounts file has no churn column)."""
    accounts = write("accounts.csv", "Customer ID,Company,Industry\n" + "".join(
        f"C{i},Co {i},Retail\n" for i in range(1, 8)))
    subscriptions = write("subs.csv", (
        "Subscription Id,Customer Id,Plan Unit Price,Plan Quantity,Billing Period,Billing Period Unit,Status,"
        "Started At (GMT),Cancelled At (GMT),Current Term Start (GMT)\n"
        "sb1,C1,10.00,5,1,month,active,2023-01-01,,2024-05-01\n"  # 10 x 5 x 12 = 600
        "sb2,C1,50.00,2,3,month,active,2024-01-01,,2024-04-01\n"  # every 3 months: 50 x 2 x 4 = 400
        "sb3,C2,100.00,1,1,year,cancelled,2023-02-01,2024-06-15,2024-02-01\n"
        "sb4,C3,20.00,1,1,month,cancelled,2023-03-01,2023-09-01,2023-08-01\n"
        "sb5,C3,20.00,1,1,month,in_trial,2024-05-01,,2024-05-01\n"  # live, no ARR yet
        "sb6,C4,30.00,2,1,week,paused,2023-06-01,,2024-03-04\n"  # live, no ARR while paused: 30 x 2 x 52 at start
        "sb7,C5,12.00,1,1,month,non_renewing,2023-01-01,2024-12-31,2024-05-01\n"  # a scheduled cancellation
        "sb8,C6,10.00,1,1,month,unpaid,2023-01-01,,2024-01-01\n"  # no longer paid: ended, no date
        "sb9,C7,10.00,1,1,month,past_due,2023-01-01,,2024-05-01\n"  # retries running: billed
    ))
    toolkit.import_data(ws, customers=accounts, subscriptions=subscriptions)
    with ws.transaction() as con:
        rolled = roll_up(con, ws.current_table(con, "customers"), {"subscriptions": ws.current_table(con, "subscriptions")})
        rows = {r[0]: r[1:] for r in con.execute(
            f"SELECT company_id, starting_arr, arr, round(nrr, 4), churned, churn_date FROM {rolled.table}").fetchall()}
    # the latest cancellation of an ended row, not the scheduled one of a running row (2024-12-31)
    assert rolled.as_of == "2024-06-15"
    assert rows["C1"] == (600, 1000, 1.6667, False, None)
    assert rows["C2"] == (100, 0, 0, True, date(2024, 6, 15))
    assert rows["C3"] == (240, 0, 0, False, None)
    assert rows["C4"] == (3120, 0, 0, False, None)
    assert rows["C5"] == (144, 144, 1, False, None)
    assert rows["C6"] == (120, 0, 0, True, None)
    assert rows["C7"] == (120, 120, 1, False, None)
    assert any("ARR = amount x quantity x billing periods a year" in n and "interval count" in n for n in rolled.notes)
    status = next(n for n in rolled.notes if "statuses counted as" in n)
    assert status == ("subscriptions: statuses counted as live and billed: active 2, non renewing 1, past due 1; "
                      "ended (a given end date decides when): cancelled 2, unpaid 1; live, no ARR yet (not churn): "
                      "in trial 1; live, no ARR while paused (not churn): paused 1")


def test_a_stripe_cancel_at_period_end_stays_live_until_it_ends(ws, write):
    """Stripe's dashboard headers: canceled_at is when the cancel was asked; the row runs until Ended At."""
    accounts = write("accounts.csv", "Customer ID,Company\ncus_1,Alpha\ncus_2,Beta\n")
    subscriptions = write("subscriptions.csv", (
        "id,Customer ID,Plan,Quantity,Interval,Interval Count,Amount,Status,Created (UTC),Current Period Start (UTC),"
        "Current Period End (UTC),Canceled At (UTC),Ended At (UTC),Cancel At Period End\n"
        "sub_1,cus_1,Pro,3,month,1,9.00,active,2024-01-10 10:00,2024-06-10 10:00,2024-07-10 10:00,"
        "2024-06-20 08:00,,true\n"
        "sub_2,cus_2,Pro,1,year,2,240.00,canceled,2022-03-01 10:00,2024-03-01 10:00,2026-03-01 10:00,"
        "2024-06-01 09:00,2024-06-02 09:00,false\n"
    ))
    toolkit.import_data(ws, customers=accounts, subscriptions=subscriptions)
    with ws.transaction() as con:
        fields = {c[0] for c in con.execute(f"DESCRIBE {ws.current_table(con, 'subscriptions')}").fetchall()}
        rolled = roll_up(con, ws.current_table(con, "customers"), {"subscriptions": ws.current_table(con, "subscriptions")})
        rows = {r[0]: r[1:] for r in con.execute(
            f"SELECT company_id, starting_arr, arr, churned, churn_date FROM {rolled.table}").fetchall()}
    assert {"churn_date", "subscription_end", "period_start", "subscription_start", "interval_count"} <= fields
    assert rolled.as_of == "2024-06-10"  # the latest period start; the running row's cancel request is no end
    assert rows["cus_1"] == (324, 324, False, None)  # 9 x 3 x 12
    assert rows["cus_2"] == (120, 0, True, date(2024, 6, 2))  # 240 every 2 years; ended the day after the cancel


def test_the_health_description_says_how_subscriptions_give_churn(ws, write):
    from icp_agent.options import HealthOptions

    accounts = write("accounts.csv", "Account Code,Company,Industry\n" + "".join(
        f"A{i},Co {i},{'Retail' if i % 2 else 'Software'}\n" for i in range(12)))
    subscriptions = write("subscriptions.csv", "Uuid,Account Code,State,Activated At (local time),Canceled At "
                          "(local time),Expires At (local time),Unit Amount,Quantity,Plan Interval Unit\n" + "".join(
        f"s{i},A{i},{'expired' if i % 3 == 0 else 'active'},2023-01-0{1 + i % 9},"
        f"{'2024-02-01,2024-03-01' if i % 3 == 0 else ','},{10 + i},2,months\n" for i in range(12)))
    toolkit.import_data(ws, customers=accounts, subscriptions=subscriptions)
    summary = toolkit.score_health(ws, HealthOptions())
    assert summary.as_of == "2024-03-01" and summary.components == ["retention", "nrr"]
    assert "churn from the subscriptions: an account churned when all its subscriptions ended" in summary.description
    assert "past_due counts as live and billed" in summary.description


def test_a_price_in_cents_named_by_its_header_is_read_in_the_currency_unit(ws, write):
    """Paddle-like: Unit Price in cents by its header, Billing Cycle Interval + Frequency, Quantity."""
    accounts = write("accounts.csv", "Customer ID,Company\nctm_1,Alpha\nctm_2,Beta\n")
    subscriptions = write("subs.csv", (
        "Subscription ID,Customer ID,Status,Started At,Unit Price (cents),Quantity,Billing Cycle Interval,"
        "Billing Cycle Frequency\n"
        "sub_a,ctm_1,active,2024-01-01,1999,3,month,1\n"  # 19.99 x 3 x 12
        "sub_b,ctm_2,deleted,2024-01-01,50000,1,year,1\n"  # Paddle Classic's cancellation
    ))
    result = toolkit.import_data(ws, customers=accounts, subscriptions=subscriptions)
    assert any("Unit Price (cents)" in w and "divided by 100" in w for r in result.reports for w in r.warnings)
    with ws.transaction() as con:
        rolled = roll_up(con, ws.current_table(con, "customers"), {"subscriptions": ws.current_table(con, "subscriptions")},
                         as_of="2024-06-01")
        rows = {r[0]: r[1:] for r in con.execute(
            f"SELECT company_id, round(starting_arr, 2), arr, churned FROM {rolled.table}").fetchall()}
    assert rows == {"ctm_1": (719.64, pytest.approx(719.64), False), "ctm_2": (500.0, 0, True)}


def test_a_weekly_usage_report_in_a_folder_feeds_activity(ws, write, tmp_path):
    """A usage export aggregated per account and week (no event names, as Amplitude's or PostHog's reports
    come) in a folder beside the accounts: recognised as events, read as activity, never as prospects."""
    write("data/accounts.csv", "Account ID,Account Name,Industry,Customer Since,Churned\n"
                               "C1,Alpha,Retail,2023-01-01,no\nC2,Beta,Retail,2023-01-01,no\n"
                               "C3,Gamma,Retail,2023-01-01,yes\n")
    # three weeks from 2024-03-04; C1 has 6 then 4 active users, C2 1 in one week, C3 none
    write("data/usage.csv", "Account ID,Week Starting,Active Users\nC1,2024-03-04,6\nC1,2024-03-11,4\n"
                            "C2,2024-03-18,1\nC3,2024-03-04,0\n")
    result = toolkit.import_data(ws, tmp_path / "data")
    plan = {p.path.rsplit("/", 1)[-1]: (p.kind, p.reason) for p in result.plan}
    assert plan["usage.csv"] == ("events", "usage aggregated per account and period (active_users per Week Starting)")
    with ws.transaction() as con:
        rolled = roll_up(con, ws.current_table(con, "customers"), {"events": ws.current_table(con, "events")},
                         as_of="2024-04-01")
        rows = dict(con.execute(f"SELECT company_id, avg_active_users FROM {rolled.table}").fetchall())
    # the window runs from the week of 2024-03-04 to the end of the week of 2024-04-01: 5 weeks
    assert rows == {"C1": pytest.approx(10 / 5), "C2": pytest.approx(1 / 5), "C3": 0.0}
    assert any("active users per week, averaged" in n for n in rolled.notes)
    assert "activity" in toolkit.score_health(ws).components
