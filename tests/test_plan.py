"""Unit tests of icp_agent.ingest.plan: which file is read as which kind, what a folder's other files become,
and the errors of a plan that cannot be imported."""

from __future__ import annotations

from pathlib import Path

import pytest

from icp_agent.errors import UserError
from icp_agent.ingest.plan import plan_import, plan_inputs

CUSTOMERS = (
    "company_id,company_name,industry,employees,customer_since,churn_date,arr\nc1,Acme,Software,120,2023-01-05,,12000\n"
)
DEALS = "deal_id,company_id,stage,amount,close_date\nd1,c1,Closed Won,5000,2024-01-01\n"
CONTACTS = "contact_id,company_id,first_name,last_name,email,title\nk1,c1,Ann,Lee,ann@acme.com,CFO\n"
PROSPECTS = "company_name,industry,employees,website\nZed,Retail,40,zed.com\n"


def _kinds(plan) -> dict[str, str]:
    return {Path(p.path).name: p.kind for p in plan.files}


def test_a_folder_is_recognised_by_headers(write, tmp_path):
    write("data/accounts.csv", CUSTOMERS)
    write("data/opps.csv", DEALS)
    write("data/people.csv", CONTACTS)
    write("data/notes/2026-01-01-acme.md", '# Interview: Acme\n\nA: "We love it."\n')
    write("data/README.md", "not an export")
    write("data/logo.png", b"\x89PNG....")
    plan = plan_import(tmp_path / "data")
    assert _kinds(plan) == {
        "accounts.csv": "customers",
        "opps.csv": "deals",
        "people.csv": "contacts",
        "notes": "interviews",
    }
    skipped = {Path(s.path).name: s.reason for s in plan.skipped}
    assert set(skipped) == {"README.md", "logo.png"} and "not a tabular export (.md)" in skipped["README.md"]
    read_as = {Path(p.path).name: p.read_as for p in plan.files}
    assert read_as["accounts.csv"] == "UTF-8, comma-delimited" and read_as["notes"] is None


def test_named_files_win_and_a_look_alike_in_the_folder_is_skipped(write, tmp_path):
    mine = write("mine.csv", CUSTOMERS)
    write("data/accounts.csv", CUSTOMERS)
    write("data/opps.csv", DEALS)
    plan = plan_import(tmp_path / "data", customers=mine)
    assert _kinds(plan) == {"mine.csv": "customers", "opps.csv": "deals"}
    assert plan.files[0].reason == "named with --customers"
    assert [s.reason for s in plan.skipped] == ["looks like customers, but --customers names another file"]


def test_the_only_companies_file_is_the_customers(write):
    plan = plan_import(write("companies.csv", PROSPECTS))
    assert [(p.kind, p.reason.startswith("the only companies file")) for p in plan.files] == [("customers", True)]


def test_a_file_given_twice_is_planned_once(write):
    path = write("accounts.csv", CUSTOMERS)
    assert len(plan_inputs([path, path])) == 1


def test_two_files_of_one_kind_is_an_error_naming_both(write, tmp_path):
    write("data/a.csv", CUSTOMERS)
    write("data/b.csv", CUSTOMERS.replace("c1,Acme", "c2,Bolt"))
    with pytest.raises(UserError, match=r"2 files look like customers: a\.csv, b\.csv") as err:
        plan_import(tmp_path / "data")
    assert "--customers" in err.value.hint


def test_no_accounts_file(write):
    with pytest.raises(UserError, match="no customers file found"):
        plan_import(write("people.csv", CONTACTS))
    tickets = write("t.csv", "ticket_id,company_id,created_at,priority\nt1,c1,2024-01-01,high\n")
    with pytest.raises(UserError, match="tickets need an accounts file"):
        plan_import(tickets=tickets)


def test_a_newer_snapshot_of_one_table_is_fine_with_accounts_held(write):
    plan = plan_import(write("opps.csv", DEALS), has_accounts=True)
    assert _kinds(plan) == {"opps.csv": "deals"}


def test_missing_path_and_empty_folder(tmp_path):
    with pytest.raises(UserError, match="no such folder or file") as err:
        plan_import(tmp_path / "absent")
    assert err.value.file == str(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no CSV, Excel, Parquet or JSON-lines exports"):
        plan_import(tmp_path / "empty")


def test_a_text_file_in_a_folder_that_is_no_table_is_skipped(write, tmp_path):
    write("data/accounts.csv", CUSTOMERS)
    write("data/todo.txt", "call Acme\nsend invoice\n")
    plan = plan_import(tmp_path / "data")
    assert _kinds(plan) == {"accounts.csv": "customers"}
    assert [Path(s.path).name for s in plan.skipped] == ["todo.txt"] and "not a table" in plan.skipped[0].reason


def test_a_bad_csv_named_directly_is_an_error(write):
    with pytest.raises(UserError, match="the file is empty"):
        plan_import(write("empty.csv", ""))


# An inferred kind checked against the stored links: a companies file read as customers would replace the accounts
# the stored deals and contacts link to (a Pipedrive-like export: organisations and deals joined by id).


def _pipedrive_workspace(ws, write, n: int = 40) -> None:
    from icp_agent import toolkit

    organisations = "Organization ID,Name,Industry,Employees\n" + "".join(
        f"{100 + i},Org {i} Ltd,{('Logistics', 'Retail')[i % 2]},{5 * (i + 1)}\n" for i in range(n)
    )
    deals = "Deal ID,Organization ID,Title,Stage,Value\n" + "".join(
        f"D{i},{100 + i % n},Deal {i},{('Won', 'Lost', 'Proposal')[i % 3]},{1000 + i}\n" for i in range(2 * n)
    )
    toolkit.import_data(ws, customers=write("organizations.csv", organisations), deals=write("deals.csv", deals))


def _current(ws) -> dict[str, str]:
    with ws.connect() as con:
        return dict(con.execute("SELECT kind, import_id FROM current_snapshot").fetchall())


def test_a_company_list_the_deals_do_not_use_is_read_as_prospects(ws, write):
    """A list of other companies without outcomes (no lifecycle, churn or revenue fields), imported without a
    flag into a workspace whose deals link to its accounts, becomes the prospects: the accounts stay."""
    from icp_agent import toolkit

    _pipedrive_workspace(ws, write)
    before = _current(ws)
    leads = "Company;Website;Sector;Headcount\n" + "".join(
        f"Lead {i} GmbH;lead{i}.de;{('Logistik', 'Handel')[i % 2]};{10 * i + 3}\n" for i in range(30)
    )
    result = toolkit.import_data(ws, data_dir=write("leads.csv", leads))
    assert [(p.kind, p.reason.startswith("a companies list without outcomes")) for p in result.plan] == [
        ("prospects", True)
    ]
    assert "deals: 0 of 80 link to it, 80 to organizations.csv" in result.plan[0].reason
    current = _current(ws)
    assert current["customers"] == before["customers"] and current["deals"] == before["deals"]
    assert current["prospects"].startswith("prospects-") and result.reports[0].rows_kept == 30
    assert [(link.kind, link.linked, link.rows) for link in result.links] == [("deals", 80, 80)]


def test_a_customers_file_that_would_orphan_the_deals_is_refused(ws, write):
    """A companies file with an outcome (a churn flag) whose ids the deals do not use is refused, naming the file
    and the flags; nothing is imported."""
    from icp_agent import toolkit

    _pipedrive_workspace(ws, write)
    before = _current(ws)
    other = "Account Number,Account Name,Churned,Employees\n" + "".join(
        f"A-{i},Other {i} plc,{('yes', 'no')[i % 2]},{i + 2}\n" for i in range(25)
    )
    with pytest.raises(UserError, match=r"deals: 0 of 80 link to it, 80 to organizations\.csv") as error:
        toolkit.import_data(ws, data_dir=write("accounts_other_crm.csv", other))
    assert error.value.file == "accounts_other_crm.csv" and "--prospects accounts_other_crm.csv" in error.value.hint
    assert "--customers accounts_other_crm.csv" in error.value.hint
    assert _current(ws) == before


def test_a_newer_accounts_export_still_replaces_the_accounts(ws, write):
    """The same accounts, exported again with two more (no outcome fields either): the deals keep their links,
    so the inferred kind stands; and a prospect list named with --customers replaces them, as asked."""
    from icp_agent import toolkit

    _pipedrive_workspace(ws, write)
    before = _current(ws)
    newer = "Organization ID,Name,Industry,Employees\n" + "".join(
        f"{100 + i},Org {i} Ltd,Retail,{6 * (i + 1)}\n" for i in range(42)
    )
    result = toolkit.import_data(ws, data_dir=write("organizations_2.csv", newer))
    assert result.plan[0].kind == "customers" and _current(ws)["customers"] != before["customers"]
    assert result.reports[0].rows_kept == 42 and [(k.linked, k.rows) for k in result.links] == [(80, 80)]
    leads = write("leads.csv", "Company,Website\n" + "".join(f"Lead {i},lead{i}.io\n" for i in range(5)))
    named = toolkit.import_data(ws, customers=leads)
    assert named.plan[0].kind == "customers" and named.reports[0].rows_kept == 5
    assert [(k.linked, k.rows) for k in named.links] == [(0, 80)]


def test_a_usage_report_in_a_folder_is_events_and_a_weak_guess_says_so(write, tmp_path):
    write("data/accounts.csv", CUSTOMERS)
    # a Mixpanel-style daily report per account (no event names) beside a company list without outcomes
    write("data/usage_daily.csv", "Date,Company ID,Sessions,Minutes\n2024-01-01,c1,4,31\n2024-01-02,c1,2,12\n")
    write("data/market.csv", PROSPECTS)
    plan = plan_import(tmp_path / "data")
    assert _kinds(plan) == {"accounts.csv": "customers", "usage_daily.csv": "events", "market.csv": "prospects"}
    reasons = {Path(p.path).name: p.reason for p in plan.files}
    assert (
        reasons["usage_daily.csv"] == "usage aggregated per account and period (session_count, usage_minutes per Date)"
    )
    # prospects for want of outcome fields is a guess: the reason says so and names the flags that change it
    assert "a guess, no column says prospects" in reasons["market.csv"]
    assert "--customers" in reasons["market.csv"] and "--events" in reasons["market.csv"]
    # recognised from its columns: no guess
    assert "guess" not in reasons["accounts.csv"] and "guess" not in reasons["usage_daily.csv"]


def test_the_only_companies_file_is_a_guess_and_a_named_events_file_says_its_shape(write):
    events = write("ev.csv", "event,timestamp,group_id\nlogin,2024-01-01T10:00:00,c1\n")
    plan = plan_import(write("companies.csv", PROSPECTS), events=events)
    reasons = {Path(p.path).name: p.reason for p in plan.files}
    assert reasons["companies.csv"].startswith("the only companies file") and "a guess" in reasons["companies.csv"]
    assert reasons["ev.csv"] == "named with --events; a row per event (event name and time)"
    # a named file of neither shape is still read as events, and its reason says what it needs
    odd = write("odd.csv", "Company ID,Plan\nc1,Pro\n")
    plan = plan_import(write("accounts.csv", CUSTOMERS), events=odd)
    assert "it needs an event name and time" in {Path(p.path).name: p.reason for p in plan.files}["odd.csv"]


def test_a_kind_from_the_file_name_is_a_guess(write, tmp_path):
    write("data/accounts.csv", CUSTOMERS)
    write("data/deals-export.csv", "Company,Amount\nAcme,100\n")  # no stage column: only the name says deals
    plan = plan_import(tmp_path / "data")
    reason = {Path(p.path).name: p.reason for p in plan.files}["deals-export.csv"]
    assert reason.startswith("the file name says deals") and "a guess, no column says deals" in reason


def test_an_earlier_runs_output_folder_is_skipped_in_one_line_not_read_as_interviews(write, tmp_path):
    write("data/accounts.csv", CUSTOMERS)
    write("data/opps.csv", DEALS)
    write("data/notes/2026-01-01-acme.md", '# Interview: Acme\n\nA: "We love it."\n')
    # what `icp-agent run data --out data/out` leaves: notes-like .md files and CSV files with company columns
    write("data/out/icp.json", '{"id": "icp-1"}')
    write("data/out/icp.md", "# Ideal Customer Profile\n\nTier 1: Software, 50-200 employees.\n")
    write("data/out/playbook.md", "# Playbook\n")
    write("data/out/import_report.md", "# Import report\n")
    write("data/out/crm_scores.csv", "company_id,company_name,icp_tier,fit_score\nc1,Acme,Tier 1,88\n")
    plan = plan_import(tmp_path / "data")
    assert _kinds(plan) == {"accounts.csv": "customers", "opps.csv": "deals", "notes": "interviews"}
    assert [(Path(s.path).name, s.reason) for s in plan.skipped] == [
        ("out", "the folder icp-agent wrote in an earlier run: icp.json, crm_scores.csv, icp.md, import_report.md "
                "and 1 more; not exports")
    ]
    # a report folder alone (import_report.json, no icp.json) and the CRM files alone are an earlier run's too
    write("data2/accounts.csv", CUSTOMERS)
    write("data2/report/import_report.json", "{}")
    write("data2/report/import_report.md", "# Import report\n")
    write("data2/crm/scoring_matrix.csv", "field,value,points\nindustry,Software,27\n")
    write("data2/notes/a.md", "# Interview\n")
    plan = plan_import(tmp_path / "data2")
    assert _kinds(plan) == {"accounts.csv": "customers", "notes": "interviews"}
    assert {Path(s.path).name: s.reason.split(":")[1] for s in plan.skipped} == {
        "report": " import_report.json, import_report.md; not exports",
        "crm": " scoring_matrix.csv; not exports",
    }


def test_an_earlier_runs_files_beside_the_exports_are_skipped_in_one_line(write, tmp_path):
    write("data/accounts.csv", CUSTOMERS)
    write("data/crm_scores.csv", "company_id,company_name,industry,icp_tier\nc1,Acme,Software,Tier 1\n")
    write("data/routing.csv", "tier,route\nTier 1,senior AE\n")
    write("data/icp.json", "{}")
    plan = plan_import(tmp_path / "data")
    assert _kinds(plan) == {"accounts.csv": "customers"}
    assert [(Path(s.path).name, s.reason) for s in plan.skipped] == [
        ("data", "the files icp-agent wrote in an earlier run: icp.json, crm_scores.csv, routing.csv; not exports")
    ]
    # a routing.csv alone is no earlier run's: it is read as an export (and named in the error when it is none)
    write("other/routing.csv", "tier,route\nTier 1,senior AE\n")
    write("other/accounts.csv", CUSTOMERS)
    assert "routing.csv" not in {Path(s.path).name for s in plan_import(tmp_path / "other").skipped}
    # a folder holding only an earlier run's output says so
    write("out/icp.json", "{}")
    write("out/scoring_matrix.csv", "field,value,points\nindustry,Software,27\n")
    with pytest.raises(UserError, match=r"no CSV.*in this folder \(it holds the files icp-agent wrote in an earlier "
                                        r"run: icp.json, scoring_matrix.csv; not exports\)"):
        plan_import(tmp_path / "out")
