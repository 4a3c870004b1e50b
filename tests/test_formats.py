"""Files and their structure: encodings, workbooks, report furniture, malformed rows, folders and mixes.

Each shared case (../shared/cases) is asserted with its right values, and each kind of problem
also on a neighbour made here: another encoding, CRM, delimiter or header.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from icp_agent import toolkit
from icp_agent.errors import UserError
from icp_agent.ingest.importer import import_file
from icp_agent.ingest.mapping import Mapping
from icp_agent.ingest.reader import inspect_file, stage

from conftest import REPO

CASES = REPO.parent / "shared" / "cases"
needs_cases = pytest.mark.skipif(not CASES.is_dir(), reason="the shared export cases (../shared/cases) are absent")

COMPANIES = [("9100", "Zoë Café Société", "Computer Software", "12", "Österreich", "Yes"),
             ("9101", "Ærø Ålborg ApS", "Retail", "45", "Danmark", "No"),
             ("9102", "Łódź Logistics", "Retail", "180", "Polska", "No"),
             ("9103", "Plain Name Inc", "Manufacturing", "950", "United States", "Yes")]
HEADER = ("Record ID", "Company name", "Industry", "Number of Employees", "Country/Region", "Churned")


def table_text(rows, delimiter=",", newline="\r\n") -> str:
    return newline.join(delimiter.join(row) for row in [HEADER, *rows]) + newline


def stored(ws, kind: str, columns: str, order: str = "_row") -> list[tuple]:
    with ws.connect() as con:
        table = ws.current_table(con, kind)
        return con.execute(f"SELECT {columns} FROM {table} ORDER BY {order}").fetchall()


def staged(path, **options) -> list[tuple]:
    """The rows as the reader stages them (before any typing), in file order."""
    con = duckdb.connect()
    source = inspect_file(path, **options)
    stage(con, source, lenient=options.get("lenient", False))
    return con.execute("SELECT * FROM _stage ORDER BY rowid").fetchall()


# --- encodings ---------------------------------------------------------------------------------

@needs_cases
def test_utf16_tab_case_reads_with_names_intact(ws):
    report = import_file(ws, CASES / "utf16-tab" / "companies.txt")
    assert (report.encoding, report.delimiter, report.rows_kept, report.rows_rejected) == ("utf-16", "\t", 24, 0)
    names = [r[0] for r in stored(ws, "customers", "company_name")]
    assert names[1] == "Bramble Systems GmbH" and len(set(names)) == 24
    assert staged(CASES / "utf16-tab" / "companies.txt")[3][4] == "Österreich"


@pytest.mark.parametrize("codec, delimiter", [("utf-16-le", "\t"), ("utf-16-be", "\t"), ("utf-16-le", ","),
                                              ("utf-32-le", ";"), ("utf-8", ",")])
def test_every_bom_encoding_keeps_non_ascii_names(ws, write, codec, delimiter):
    bom = {"utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff", "utf-32-le": b"\xff\xfe\x00\x00",
           "utf-8": b"\xef\xbb\xbf"}[codec]
    path = write(f"c-{codec}.txt", bom + table_text(COMPANIES, delimiter).encode(codec))
    report = import_file(ws, path)
    assert report.rows_kept == 4 and report.delimiter == delimiter
    assert [r[0] for r in stored(ws, "customers", "company_name")] == [c[1] for c in COMPANIES]
    assert stored(ws, "customers", "company_id") == [(c[0],) for c in COMPANIES]  # no BOM glued to the header
    assert not list(path.parent.glob(".icp-agent-stage-*"))  # the UTF-8 copy is removed


def test_windows_1252_curly_quotes_and_euro_are_not_read_as_latin1(ws, write):
    rows = [("1", "“Smart” Widgets – Europe", "Retail", "10", "France", "No"),
            ("2", "Dupont €uro Services", "Retail", "20", "Belgique", "Yes")]
    path = write("cp1252.csv", table_text(rows).encode("cp1252"))
    assert inspect_file(path).encoding == "cp1252"
    import_file(ws, path)
    assert [r[0] for r in stored(ws, "customers", "company_name")] == [r[1] for r in rows]


def test_latin1_without_windows_letters_stays_latin1(ws, write):
    rows = [("1", "Müller Gerätebau", "Manufacturing", "10", "Deutschland", "No"),
            ("2", "Société Générale Café", "Retail", "20", "France", "Yes")]
    path = write("latin1.csv", table_text(rows, ";").encode("latin-1"))
    assert inspect_file(path).encoding == "latin-1"
    import_file(ws, path)
    assert [r[0] for r in stored(ws, "customers", "company_name")] == [r[1] for r in rows]


def test_mixed_utf8_and_single_byte_names_the_row(write):
    path = write("mixed.csv", "Record ID,Company name\n1,Café\n".encode() + b"2,Caf\xe9\n")
    with pytest.raises(UserError, match="mixes UTF-8") as caught:
        inspect_file(path)
    assert caught.value.row == 2


# --- Excel workbooks -----------------------------------------------------------------------------

@pytest.fixture
def workbook(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    first = book.active
    first.title = "Summary"
    first.append(["Opportunity pipeline", None])
    first.append(["Generated by Salesforce", None])
    sheet = book.create_sheet("Accounts")
    sheet.append(["Record ID", "Company name", "Annual Revenue", "Customer Since", "Churned", "Postal Code"])
    sheet.append([1042, "Alder Labs", 1250000.5, dt.datetime(2023, 5, 1), False, "02138"])
    sheet.append([123456789012, "Bramble Systems", 99000, dt.datetime(2021, 12, 31, 14, 30), True, "10115"])
    sheet.append([1044, "Cinder Works", None, dt.date(2020, 1, 2), False, "75001"])
    sheet.append([None, "Total", 1349000.5, None, None, None])
    path = tmp_path / "accounts.xlsx"
    book.save(path)
    return path


def test_workbook_cells_read_as_they_show(workbook):
    rows = staged(workbook, sheet="Accounts")
    assert rows == [("1042", "Alder Labs", "1250000.5", "2023-05-01", "FALSE", "02138"),
                    ("123456789012", "Bramble Systems", "99000", "2021-12-31 14:30:00", "TRUE", "10115"),
                    ("1044", "Cinder Works", None, "2020-01-02", "FALSE", "75001")]


def test_workbook_sheet_by_name_or_index_and_furniture(ws, workbook):
    by_name = import_file(ws, workbook, "customers", sheet="accounts")
    assert (by_name.format, by_name.sheet, by_name.rows_kept, by_name.furniture_dropped) == ("xlsx", "Accounts", 3, 1)
    assert stored(ws, "customers", "company_id") == [("1042",), ("123456789012",), ("1044",)]
    by_index = import_file(ws, workbook, "customers", sheet=1)
    assert by_index.already_imported and by_index.import_id == by_name.import_id


def test_workbook_unknown_sheet_lists_the_sheets(ws, workbook):
    with pytest.raises(UserError, match="its sheets are: Summary, Accounts"):
        import_file(ws, workbook, sheet="Deals")


def test_sheet_option_through_the_cli(cli, workbook):
    result = cli("import-data", str(workbook), "--sheet", "Accounts")
    assert "sheet 'Accounts'" in result.output and "3 kept" in result.output


# --- report furniture ----------------------------------------------------------------------------

@needs_cases
def test_salesforce_report_footer_case(ws):
    case = CASES / "sf-report-footer"
    result = toolkit.import_data(ws, case, mapping_file=case / "mdy.toml")
    reports = {r.kind: r for r in result.reports}
    accounts = next(r for r in result.reports if r.kind in ("customers", "prospects"))
    assert (accounts.rows_kept, accounts.rows_rejected) == (24, 0)
    assert (reports["deals"].rows_kept, reports["deals"].rows_rejected) == (24, 0)
    # blank lines, the grand totals, the confidentiality and copyright lines (+ the Total row for deals)
    assert accounts.furniture_dropped == 5 and reports["deals"].furniture_dropped == 6
    kinds = {f.kind for f in reports["deals"].furniture}
    assert {"report footer", "total or subtotal row"} <= kinds
    assert any("Grand Totals (24 records)" == f.raw for f in reports["deals"].furniture)
    with (case / "opportunities.csv").open() as handle:
        expected = sum(float(r[4]) for r in list(csv.reader(handle))[1:] if len(r) > 4 and r[0])
    assert stored(ws, "deals", "sum(amount)", "1") == [(pytest.approx(expected),)]  # not doubled by the Total row


def test_hubspot_style_report_with_titles_subtotals_and_delimiter_only_rows(ws, write):
    text = ('"Deals by stage"\n"Filtered by: Pipeline equals Sales"\n\n'
            "Deal ID;Company;Deal Stage;Amount\n"
            "D1;Total Energies;closedwon;1.000,00\n"
            "D2;Acme;closedlost;2.000,00\n"
            ";;;\n"
            ";Subtotal;;3.000,00\n"
            "D3;Sum Partners;closedwon;500,00\n"
            "Total;;;3.500,00\n"
            "\n"
            "Report generated on 2024-05-01 by HubSpot\n")
    path = write("deals_report.csv", text)
    report = import_file(ws, path, "deals")
    assert report.rows_kept == 3 and report.rows_rejected == 0
    assert stored(ws, "deals", "deal_id") == [("D1",), ("D2",), ("D3",)]  # "Total Energies" is a company
    # 2 titles, 2 blank lines, 1 delimiter-only row, 2 total rows, 1 footer
    assert report.furniture_dropped == 8
    assert [f.kind for f in report.furniture if f.row is None][:2] == ["title above the header"] * 2


def test_a_total_row_needs_empty_ids_and_only_figures(ws, write):
    text = "Record ID,Company name,Industry,ARR\n1,Total,Retail,100\n2,Sum,,200\n,Total,,300\n"
    report = import_file(ws, write("c.csv", text), "customers")
    assert report.rows_kept == 2 and report.furniture_dropped == 1


# --- malformed rows ------------------------------------------------------------------------------

RAGGED = ('Record ID,Company name,ARR\n1,Acme,10\n2,Beta\n3,Gamma,30,extra\n4,"Delta, Inc",40\n'
          '5,"Epsilon ""E"" ,50\n')


def test_ragged_rows_and_unbalanced_quotes_without_lenient_name_row_and_column(ws, write):
    path = write("ragged.csv", RAGGED)
    with pytest.raises(UserError) as caught:
        import_file(ws, path, "customers")
    assert (caught.value.file, caught.value.row, caught.value.column) == ("ragged.csv", 2, "ARR")
    assert "missing columns" in caught.value.reason and "2 more rows" in caught.value.reason


def test_lenient_rejects_ragged_rows_and_unbalanced_quotes_with_raw_text(ws, write):
    report = import_file(ws, write("ragged.csv", RAGGED), "customers", lenient=True)
    assert report.rows_kept == 2 and report.rows_rejected == 3
    rejected = {r.row: r for r in report.rejected}
    assert set(rejected) == {2, 3, 5}
    assert "missing columns" in rejected[2].reason and rejected[2].raw == "2,Beta"
    assert "too many columns" in rejected[3].reason
    assert "unbalanced quotes" in rejected[5].reason and "Epsilon" in rejected[5].raw
    assert stored(ws, "customers", "company_name") == [("Acme",), ("Delta, Inc",)]


def test_lenient_imports_a_file_where_most_rows_are_ragged(ws, write):
    text = "Record ID,Company name,ARR\n1,A,10\n2,B\n3,C\n4,D\n5,E,50\n"
    with pytest.raises(UserError, match="missing columns.*2 more rows like it"):
        import_file(ws, write("mostly.csv", text), "customers")
    report = import_file(ws, write("mostly.csv", text), "customers", lenient=True)
    assert (report.rows_kept, report.rows_rejected) == (2, 3)


@needs_cases
def test_quoted_newlines_case_keeps_notes_intact(ws):
    path = CASES / "quoted-newlines" / "companies.csv"
    rows = staged(path)
    assert len(rows) == 24
    assert rows[0][3] == 'Kick-off went well.\nAsked for SSO, "hard requirement".'
    report = import_file(ws, path)
    assert (report.rows_kept, report.rows_rejected, report.furniture_dropped) == (24, 0, 0)


def test_blank_lines_inside_quoted_notes_are_not_furniture(ws, write):
    text = 'Record ID,Company name,Notes\n1,Acme,"first\n\nsecond"\n\n2,Beta,plain\n'
    report = import_file(ws, write("notes.csv", text), "customers")
    assert report.rows_kept == 2 and report.furniture_dropped == 1


# --- folders and mixes ---------------------------------------------------------------------------

CUSTOMERS = "Record ID,Company name,Lifecycle Stage,ARR\n1,Acme,customer,100\n2,Beta,customer,200\n"
DEALS = "Deal ID,Company ID,Deal Stage,Amount\nd1,1,closedwon,100\nd2,2,closedlost,50\n"


def test_folder_and_file_mix_skips_non_exports_with_a_note(ws, write, tmp_path):
    write("in/customers.csv", CUSTOMERS)
    write("in/README.md", "# our exports\n")
    write("in/export.log", "2024-05-01 export started\n")
    write("in/logo.png", b"\x89PNG\r\n\x1a\n" + bytes(200))
    write("in/notes.txt", "Remember to ask finance.\n")
    write("in/archive/old.csv", CUSTOMERS)
    deals = write("elsewhere/deals.csv", DEALS)
    result = toolkit.import_data(ws, [tmp_path / "in", deals])
    assert {(Path(p.path).name, p.kind) for p in result.plan} == {("customers.csv", "customers"),
                                                                  ("deals.csv", "deals")}
    skipped = {Path(s.path).name: s.reason for s in result.skipped}
    assert set(skipped) == {"README.md", "export.log", "logo.png", "notes.txt", "archive"}
    assert "not a table" in skipped["notes.txt"] and "not a tabular export" in skipped["logo.png"]
    assert [r.rows_kept for r in result.reports] == [2, 2]
    assert all(p.read_as for p in result.plan)


def test_cli_says_kinds_furniture_and_skipped_files(cli, write, tmp_path):
    write("in/customers.csv", CUSTOMERS + "\nGrand Totals (2 records)\n")
    write("in/README.md", "# notes\n")
    result = cli("import-data", str(tmp_path / "in"))
    assert "customers.csv: customers" in result.output and "comma-delimited" in result.output
    assert "README.md: skipped" in result.output
    assert "2 lines of report furniture dropped" in result.output


def test_cli_says_how_many_kinds_of_furniture_it_did_not_list(cli, write, tmp_path):
    titles = "Accounts report\nRegion: all\nOwner: Dana\nGenerated 2026-11-30\n"
    write("customers.csv", titles + CUSTOMERS + "\nGrand Totals (2 records)\n")
    result = cli("import-data", "--customers", str(tmp_path / "customers.csv"))
    assert "6 lines of report furniture dropped" in result.output  # 4 titles, a blank line, the total
    assert "'Generated 2026-11-30'" in result.output and "Grand Totals" not in result.output
    assert "... 2 more (icp-agent inspect-workspace --json)" in result.output


def test_an_import_of_several_files_is_all_or_nothing(ws, write, tmp_path):
    write("in/customers.csv", CUSTOMERS)
    write("in/deals.csv", DEALS + "d3,1\n")  # a ragged row: the deals file fails without --lenient
    with pytest.raises(UserError, match="deals.csv"):
        toolkit.import_data(ws, tmp_path / "in")
    with ws.connect() as con:
        assert con.execute("SELECT count(*) FROM imports").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM current_snapshot").fetchone()[0] == 0
        assert not con.execute("SELECT count(*) FROM duckdb_tables() WHERE regexp_matches(table_name, '^imp_(customers|deals)_')").fetchone()[0]
    result = toolkit.import_data(ws, tmp_path / "in", lenient=True)
    assert [r.rows_rejected for r in result.reports] == [0, 1]


def test_a_broken_csv_in_a_folder_is_an_error_not_a_skip(ws, write, tmp_path):
    write("in/customers.csv", CUSTOMERS)
    write("in/deals.csv", b"Deal ID,Stage\n1,won\n" + bytes(range(256)) * 20)
    with pytest.raises(UserError, match="deals.csv"):
        toolkit.import_data(ws, tmp_path / "in")


def test_workbook_numbers_keep_a_spreadsheets_precision(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active.append(["Record ID", "Company name", "Share"])
    book.active.append([1.2345678901234567e17, "Alder Labs", 0.1 + 0.2])
    path = tmp_path / "sci.xlsx"
    book.save(path)
    assert staged(path) == [("1.23456789012346e+17", "Alder Labs", "0.3")]
    assert inspect_file(path).headers == ["Record ID", "Company name", "Share"]


ACCOUNTING_EUR = '_-* #,##0.00 €_-;-* #,##0.00 €_-;_-* "-"?? €_-;_-@_-'  # Excel's German accounting format
PRICED = [("D-1", 1000, '"€"#,##0.00', "Euro", "€1,000.00"),
          ("D-2", 2500.5, "[$$-409]#,##0.00", "US Dollar", "$2,500.50"),
          ("D-3", -12.5, ACCOUNTING_EUR, "Euro", "-12.50 €"),
          ("D-4", 3000, "[$$-1009]#,##0.00", "Canadian Dollar", "CAD 3,000.00"),
          ("D-5", 700, '#,##0.00 "CHF"', "Schweizer Franken", "700.00 CHF"),
          ("D-6", 42, "0.00", None, "42.00"),
          ("D-7", "tbd", '"€"#,##0.00', "Euro", "tbd")]


@pytest.fixture
def priced_workbook(tmp_path):
    """Deals whose amounts show their currency only through the cells' number formats, below a title and
    from column B (not A1), with a currency column of names, as Dynamics 365 and SAP write it."""
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet["B1"] = "Open and closed deals"  # the used range starts at B: calamine gives its cells from there
    for r, row in enumerate([("Deal", "Amount", "Currency"), *[(d, a, c) for d, a, _, c, _ in PRICED]], start=3):
        for c, value in enumerate(row, start=2):
            sheet.cell(row=r, column=c, value=value)
    for r, (_, _, fmt, _, _) in enumerate(PRICED, start=4):
        sheet.cell(row=r, column=3).number_format = fmt
    path = tmp_path / "deals.xlsx"
    book.save(path)
    return path


def test_workbook_amounts_carry_the_currency_their_format_shows(priced_workbook):
    assert staged(priced_workbook) == [("D-1", "€1000", "Euro"), ("D-2", "$2500.5", "US Dollar"),
                                       ("D-3", "-€12.5", "Euro"), ("D-4", "CAD 3000", "Canadian Dollar"),
                                       ("D-5", "CHF 700", "Schweizer Franken"), ("D-6", "42", None),
                                       ("D-7", "tbd", "Euro")]  # fmt: skip


def test_workbook_currency_cells_found_whatever_the_writers_attribute_order(priced_workbook, tmp_path):
    # another writer: the style before the place, a namespace prefix, and a row style of a currency format
    import re
    import zipfile

    moved = tmp_path / "reordered.xlsx"
    with zipfile.ZipFile(priced_workbook) as source, zipfile.ZipFile(moved, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename.startswith("xl/worksheets/"):
                data = re.sub(rb'<c r="([A-Z]+[0-9]+)" s="([0-9]+)"', rb'<c s="\2" r="\1"', data)
                data = data.replace(b'<row r="5">', b'<row r="5" s="1" customFormat="1">')
            target.writestr(item, data)
    assert b'<c s="' in zipfile.ZipFile(moved).read("xl/worksheets/sheet1.xml")
    assert staged(moved) == staged(priced_workbook)
    assert staged(moved)[1] == ("D-2", "$2500.5", "US Dollar")


def test_workbook_currency_cells_placed_in_a_table_that_starts_below_and_right_of_a1(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    for cell, value, fmt in (("C3", "Account", None), ("D3", "ARR", None), ("C4", "Alder", None),
                             ("D4", 1200, "[$£-809]#,##0"), ("C5", "Birch", None), ("D5", 900, "#,##0 [$SEK]"),
                             ("C6", "Cedar", None), ("D6", 15, "0.0")):  # fmt: skip
        sheet[cell] = value
        if fmt:
            sheet[cell].number_format = fmt
    path = tmp_path / "offset.xlsx"
    book.save(path)
    assert staged(path) == [("Alder", "£1200"), ("Birch", "SEK 900"), ("Cedar", "15")]


def test_workbook_and_its_csv_store_the_same_amounts_in_the_reporting_currency(ws, priced_workbook, write):
    rates = '[fx]\ncurrency = "EUR"\nUSD = 0.9\nCAD = 0.7\nCHF = 1.05\n'
    mapping = Mapping.load(write("m.toml", rates))
    from_book = import_file(ws, priced_workbook, "deals", mapping=mapping)
    book_rows = stored(ws, "deals", "deal, amount_original, amount_currency, round(amount, 2)")
    # the same sheet saved as CSV by a spreadsheet shows the formatted amounts
    text = "Deal;Amount;Currency\r\n" + "".join(f"{d};{shown};{c or ''}\r\n" for d, _, _, c, shown in PRICED)
    from_csv = import_file(ws, write("deals.csv", text.replace("1,000.00", "1000.00")), "deals", mapping=mapping)
    assert book_rows == stored(ws, "deals", "deal, amount_original, amount_currency, round(amount, 2)")
    assert book_rows == [("D-1", 1000, "EUR", 1000), ("D-2", 2500.5, "USD", 2250.45), ("D-3", -12.5, "EUR", -12.5),
                         ("D-4", 3000, "CAD", 2100), ("D-5", 700, "CHF", 735), ("D-6", 42, "EUR", 42),
                         ("D-7", None, "EUR", None)]  # fmt: skip
    for report in (from_book, from_csv):
        amount = next(c for c in report.columns if c.header == "Amount")
        assert amount.currencies == {"EUR": 3, "CAD": 1, "CHF": 1, "USD": 1}


# --- the demo company re-exported in random file dialects -------------------------------------------

def _demo_rows(limit: int = 60) -> list[list[str]]:
    with (REPO / "fixtures" / "demo" / "customers.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    # a few names a CRM would export with accents, curly quotes and a euro sign
    rows[1][1], rows[2][1], rows[3][1] = "Zoë “Smart” Café", "Ærø €uro ApS", "O'Brien, Müller & Co"
    return rows[: limit + 1]


def _write_dialect(path: Path, rows, *, codec: str, delimiter: str, newline: str, titles: bool, footer: bool,
                   total: bool) -> None:
    lines = io.StringIO()
    writer = csv.writer(lines, delimiter=delimiter, lineterminator=newline, quoting=csv.QUOTE_MINIMAL)
    if titles:
        writer.writerow(["Companies report"])
        writer.writerow(["Filtered by: Lifecycle Stage equals customer"])
        lines.write(newline)
    writer.writerows(rows)
    if total:
        writer.writerow(["", "Total"] + [""] * (len(rows[0]) - 3) + ["123456"])
    if footer:
        lines.write(newline)
        writer.writerow([f"Grand Totals ({len(rows) - 1} records)"])
        writer.writerow(["Confidential Information - Do Not Distribute"])
    if codec == "xlsx":  # the same lines as a workbook's cells (all text, as a CRM's export writes them)
        openpyxl = pytest.importorskip("openpyxl")
        book = openpyxl.Workbook()
        for row in csv.reader(io.StringIO(lines.getvalue()), delimiter=delimiter):
            book.active.append(row or [None])
        book.save(path)
        return
    bom = {"utf-8-sig": b"", "utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE}.get(codec, b"")
    path.write_bytes(bom + lines.getvalue().encode(codec))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(codec=st.sampled_from(["utf-8", "utf-8-sig", "utf-16-le", "utf-16-be", "cp1252", "xlsx"]),
       delimiter=st.sampled_from([",", ";", "\t", "|"]), newline=st.sampled_from(["\n", "\r\n"]),
       titles=st.booleans(), footer=st.booleans(), total=st.booleans())
def test_demo_customers_in_any_file_dialect_stage_the_same_values(tmp_path, codec, delimiter, newline, titles,
                                                                  footer, total):
    rows = _demo_rows()
    suffix = ".xlsx" if codec == "xlsx" else ".csv"
    path = tmp_path / f"customers-{codec}-{ord(delimiter)}-{len(newline)}-{titles:d}{footer:d}{total:d}{suffix}"
    _write_dialect(path, rows, codec=codec, delimiter=delimiter, newline=newline, titles=titles, footer=footer,
                   total=total)
    source = inspect_file(path)
    assert source.headers == rows[0] and source.delimiter == ("," if codec == "xlsx" else delimiter)
    con = duckdb.connect()
    assert stage(con, source) == []
    got = con.execute("SELECT * FROM _stage ORDER BY rowid").fetchall()
    assert got == [tuple(cell or None for cell in row) for row in rows[1:]]
    assert source.furniture_count == 3 * titles + total + 3 * footer


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_bom_is_recognised_by_its_zero_bytes(ws, write, codec):
    path = write(f"nobom-{codec}.txt", table_text(COMPANIES, "\t").encode(codec))
    report = import_file(ws, path)
    assert report.encoding == codec and report.rows_kept == 4
    assert [r[0] for r in stored(ws, "customers", "company_name")] == [c[1] for c in COMPANIES]


def test_cli_lenient_reports_rejected_rows_with_raw_text(cli, write):
    path = write("ragged.csv", RAGGED)
    failed = cli("import-data", "--customers", str(path), expect=2)
    assert "ragged.csv, row 2, column 'ARR': missing columns" in failed.stderr
    result = cli("import-data", "--customers", str(path), "--lenient")
    assert "3 rejected" in result.output
    assert "rejected row 2: missing columns" in result.output and "'2,Beta'" in result.output
