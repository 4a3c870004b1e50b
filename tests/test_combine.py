"""Unit tests of icp_agent.ingest.combine: several files of one kind in one import combined into one snapshot (rows
of both, each with its file, a record in two files kept once), from flags, the command line and a folder; two
accounts files refused; and a snapshot replaced by another file's said."""

from __future__ import annotations

import pytest

from conftest import rows
from icp_agent import toolkit
from icp_agent.errors import UserError
from icp_agent.ingest.combine import replaced_note
from icp_agent.ingest.plan import plan_import

ACCOUNTS = "Record ID,Company name,Industry,Lifecycle Stage\nc1,Acme,Software,customer\nc2,Bolt,Retail,customer\n"
# a Pipedrive-like export and an older one kept in a spreadsheet: other headers, other date order, one deal in both
PIPEDRIVE = (
    "Deal - ID,Deal - Organization ID,Deal - Status,Deal - Value,Deal - Won time\n"
    "d1,c1,won,1200,2024-03-01\n"
    "d2,c2,lost,800,\n"
)
SHEET = (
    "Opportunity ID,Account ID,Stage,Amount,Close Date\n"
    "d3,c1,Closed Won,$500.00,3/15/2023\n"
    "d2,c2,Closed Lost,$800.00,\n"
    "d9,c2,Closed Lost,lots,\n"
)


def test_two_deals_files_named_are_one_snapshot_of_both(ws, write):
    accounts, a, b = write("accounts.csv", ACCOUNTS), write("pipedrive.csv", PIPEDRIVE), write("old.csv", SHEET)
    result = toolkit.import_data(ws, customers=accounts, deals=[a, b])
    assert [r.kind for r in result.reports] == ["customers", "deals"]  # the files' report is the combined one
    combined = result.reports[-1]
    assert combined.kind == "deals" and combined.file_name == "pipedrive.csv + old.csv"
    assert (combined.rows_read, combined.rows_kept, combined.duplicates_dropped) == (5, 4, 1)
    amount = next(c for c in combined.columns if c.field == "amount")
    assert amount.header == "Deal - Value / Amount" and amount.unparsed == 1
    assert amount.unparsed_examples == ["old.csv row 3: lots"] and amount.pct_missing == 20.0  # of the 5 rows
    assert "(pipedrive.csv 2, old.csv 3)" in " ".join(combined.warnings)
    assert "1 deals are in more than one of the files (pipedrive.csv, old.csv), by deal_id" in " ".join(
        combined.warnings
    )
    stored = rows(ws, "deals")
    assert [(r["deal_id"], r["source_file"], r["amount"]) for r in stored] == [
        ("d1", "pipedrive.csv", 1200.0),
        ("d2", "pipedrive.csv", 800.0),
        ("d3", "old.csv", 500.0),
        ("d9", "old.csv", None),
    ]
    assert [str(r["close_date"]) for r in stored] == ["2024-03-01", "None", "2023-03-15", "None"]
    assert [r["_row"] for r in stored] == [1, 2, 3, 4]
    again = toolkit.import_data(ws, customers=accounts, deals=[a, b])
    assert again.reports[-1].already_imported and again.reports[-1].import_id == combined.import_id


def test_deals_named_twice_on_the_command_line_are_combined(cli, write):
    accounts, a, b = write("accounts.csv", ACCOUNTS), write("pipedrive.csv", PIPEDRIVE), write("old.csv", SHEET)
    out = cli("import-data", "--customers", str(accounts), "--deals", str(a), "--deals", str(b)).output
    assert "2 deals files combined into one snapshot of 4 rows" in out
    summary = cli.json("inspect-workspace")
    assert summary["current"]["deals"]["rows_kept"] == 4


def test_a_folder_with_two_deals_files_combines_them(ws, write, tmp_path):
    write("export/accounts.csv", ACCOUNTS)
    write("export/pipedrive.csv", PIPEDRIVE)
    write("export/old.csv", SHEET)
    result = toolkit.import_data(ws, tmp_path / "export")
    assert all("one of 2 deals files" in p.reason for p in result.plan if p.kind == "deals")
    assert {r["deal_id"] for r in rows(ws, "deals")} == {"d1", "d2", "d3", "d9"}


def test_two_accounts_files_are_refused_naming_the_flag(write):
    with pytest.raises(UserError, match=r"2 files named with --customers: a\.csv, b\.csv; an import takes one"):
        plan_import(customers=[write("a.csv", ACCOUNTS), write("b.csv", ACCOUNTS)])


def test_a_second_deals_import_says_what_it_replaces(ws, write):
    accounts = write("accounts.csv", ACCOUNTS)
    toolkit.import_data(ws, customers=accounts, deals=write("pipedrive.csv", PIPEDRIVE))
    second = toolkit.import_data(ws, deals=write("old.csv", SHEET))
    note = " ".join(second.reports[-1].warnings)
    assert "old.csv replaces the deals imported before (2 rows from pipedrive.csv): the analysis now reads 3" in note
    assert "--deals 'pipedrive.csv' --deals 'old.csv'" in note
    # a newer copy of the same file is the expected replacement: nothing said
    newer = toolkit.import_data(ws, deals=write("old.csv", SHEET + "d4,c2,Closed Won,$10,1/2/2024\n"))
    assert not any("replaces" in w for w in newer.reports[-1].warnings)


def test_replaced_note_only_for_another_file():
    from datetime import datetime

    from icp_agent.models import ImportReport

    report = ImportReport(
        import_id="customers-b",
        kind="customers",
        file_name="b.csv",
        path="b.csv",
        sha256="x",
        format="csv",
        rows_read=1,
        rows_kept=1,
        rows_rejected=0,
        duplicates_dropped=0,
        imported_at=datetime(2026, 1, 1),
    )
    assert replaced_note(report, None) is None and replaced_note(report, ("customers-a", "b.csv", 5)) is None
    assert "a workspace holds one accounts file" in (replaced_note(report, ("customers-a", "a.csv", 5)) or "")


def test_an_accounts_file_named_twice_on_the_command_line_is_refused(cli, write):
    a, b = write("a.csv", ACCOUNTS), write("b.csv", ACCOUNTS)
    result = cli("import-data", "--customers", str(a), "--customers", str(b), expect=2)
    assert "--customers is given 2 times" in result.output and "it takes one" in result.output
