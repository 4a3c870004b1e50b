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
