"""Property: the demo company re-exported in any real-world dialect imports to the same canonical values.

A sample of the demo's customers and their deals is imported once as the reference. Hypothesis then
writes the same records again the way other CRMs and spreadsheets write them (HubSpot, Salesforce
report, Apollo and snake_case headers; firmographics on deals under `Account Industry`, `Company
Industry`, `Account: Industry` or `Account.Industry`; US or European numbers; ISO, US, European or
written-out dates; UTF-8, UTF-8 with BOM, UTF-16 or Windows-1252; a Salesforce report footer; optional
columns and the deals file dropped) and asserts that every value read back equals the reference.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import DEMO
from icp_agent import toolkit
from icp_agent.workspace import Workspace

SAMPLE = 160

# canonical field -> header per dialect (None: the dialect has no such column)
CUSTOMER_HEADERS = {
    "hubspot": {"company_id": "Record ID", "company_name": "Company name", "domain": "Company Domain Name",
                "industry": "Industry", "employees": "Number of Employees", "annual_revenue": "Annual Revenue",
                "country": "Country/Region", "city": "City", "technologies": "Technologies",
                "founded_year": "Founded Year", "customer_since": "Became a Customer Date",
                "churn_date": "Churn Date", "starting_arr": "Starting ARR", "arr": "ARR", "nps": "NPS Score",
                "support_tickets": "Number of Support Tickets"},
    "salesforce": {"company_id": "Account ID", "company_name": "Account Name", "domain": "Website",
                   "industry": "Industry", "employees": "Employees", "annual_revenue": "Annual Revenue",
                   "country": "Billing Country", "city": "Billing City", "technologies": "Tech Stack",
                   "founded_year": "Year Founded", "customer_since": "Customer Since",
                   "churn_date": "Cancellation Date", "starting_arr": "Initial ARR", "arr": "Current ARR",
                   "nps": "CSAT Score", "support_tickets": "Ticket Count"},
    "apollo": {"company_id": "Organization ID", "company_name": "Company", "domain": "Website",
               "industry": "Industry", "employees": "# Employees", "annual_revenue": "Annual Revenue",
               "country": "Company Country", "city": "Company City", "technologies": "Technologies",
               "founded_year": "Founded Year", "customer_since": "Customer Start Date",
               "churn_date": "Churned Date", "starting_arr": "Starting ARR", "arr": "ARR", "nps": "NPS",
               "support_tickets": "Support Tickets"},
    "snake": {name: name for name in ("company_id", "company_name", "domain", "industry", "employees",
                                      "annual_revenue", "country", "city", "technologies", "founded_year",
                                      "customer_since", "churn_date", "starting_arr", "arr", "nps",
                                      "support_tickets")},
}
DEAL_HEADERS = {
    "hubspot": {"deal_id": "Record ID", "company_id": "Associated Company IDs", "deal_stage": "Deal Stage",
                "amount": "Amount", "deal_created_date": "Create Date", "close_date": "Close Date"},
    "salesforce": {"deal_id": "Opportunity ID", "company_id": "Account ID", "deal_stage": "Stage",
                   "amount": "Amount", "deal_created_date": "Created Date", "close_date": "Close Date"},
    "apollo": {"deal_id": "Opportunity ID", "company_id": "Account ID", "deal_stage": "Stage",
               "amount": "Amount", "deal_created_date": "Created Date", "close_date": "Closed Date"},
    "snake": {name: name for name in ("deal_id", "company_id", "deal_stage", "amount", "deal_created_date",
                                      "close_date")},
}
DEAL_FIRMOGRAPHICS = {"industry": "Industry", "employees": "Employees", "country": "Country"}
PREFIXES = ["Account {}", "Company {}", "Account: {}", "Account.{}", "Associated Company {}"]
KEY_COLUMNS = {"company_id", "company_name", "domain", "deal_id", "deal_stage"}
MONEY = {"annual_revenue", "starting_arr", "arr", "amount"}
DATES = {"customer_since", "churn_date", "deal_created_date", "close_date"}
FOOTER = ["", "Grand Totals ({n} records)", "Confidential Information - Do Not Distribute",
          "Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved."]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The canonical values of a sample of the demo's customers and their deals, as imported from the original."""
    folder = tmp_path_factory.mktemp("dialects")
    customers_csv, deals_csv = folder / "customers.csv", folder / "deals.csv"
    with (DEMO / "customers.csv").open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    customers_csv.write_text(_csv_text(rows[: SAMPLE + 1]), encoding="utf-8")
    ids = {r[0] for r in rows[1: SAMPLE + 1]}
    with (DEMO / "deals.csv").open(encoding="utf-8") as handle:
        deal_rows = list(csv.reader(handle))
    account = deal_rows[0].index("Account ID")
    deals_csv.write_text(_csv_text([deal_rows[0], *[r for r in deal_rows[1:] if r[account] in ids]]),
                         encoding="utf-8")
    ws = Workspace(folder / "ref.duckdb")
    toolkit.import_data(ws, customers=customers_csv, deals=deals_csv)
    return _canonical(ws)


def _csv_text(rows: list[list[str]], delimiter: str = ",", quote_all: bool = False) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n",
               quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL).writerows(rows)
    return out.getvalue()


def _canonical(ws: Workspace) -> dict[str, dict[str, dict]]:
    """{kind: {id: {field: value}}} for the current customers and deals snapshots."""
    result = {}
    with ws.connect() as con:
        for kind, key in (("customers", "company_id"), ("deals", "deal_id")):
            table = ws.current_table(con, kind)
            if table is None:
                continue
            cursor = con.execute(f"SELECT * FROM {table}")
            names = [d[0] for d in cursor.description]
            result[kind] = {row[names.index(key)]: dict(zip(names, row)) for row in cursor.fetchall()}
    return result


def _number(value: float, numbers: str, decimals: int = 0) -> str:
    text = f"{value:,.{decimals}f}"
    if numbers == "eu":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return text


def _render(field: str, record: dict, dialect: dict) -> str:
    """A canonical value written the way the dialect writes it."""
    value = record.get(field)
    numbers = dialect["numbers"]
    if field == "employees":
        low, high, exact = record.get("employees_min"), record.get("employees_max"), record.get("employees")
        if exact is not None:
            return _number(exact, numbers)
        if low is None:
            return ""
        if high is None:
            return f"{_number(low, numbers)}+" + (" employees" if dialect["headers"] == "apollo" else "")
        return f"{_number(low, numbers)}-{_number(high, numbers)}" + (
            " employees" if dialect["headers"] == "apollo" else "")
    if value is None:
        return ""
    if field in MONEY:
        text = _number(value, numbers, 2)
        if dialect["currency_symbols"]:
            return f"{text} €" if numbers == "eu" else f"${text}"
        return text
    if field in DATES:
        day: dt.date = value
        return {"iso": day.isoformat(), "us": f"{day.month:02d}/{day.day:02d}/{day.year}",
                "eu": f"{day.day:02d}.{day.month:02d}.{day.year}",
                "words": f"{day.strftime('%B')} {day.day}, {day.year}"}[dialect["dates"]]
    if field == "technologies":
        return dialect["list_separator"].join(value)
    if isinstance(value, float):
        return _number(value, numbers, 0 if value == int(value) else 2)
    return str(value)


dialects = st.fixed_dictionaries({
    "headers": st.sampled_from(sorted(CUSTOMER_HEADERS)),
    "numbers": st.sampled_from(["us", "eu"]),
    "currency_symbols": st.booleans(),
    "dates": st.sampled_from(["iso", "us", "eu", "words"]),
    "list_separator": st.sampled_from([";", ", "]),
    "encoding": st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]),
    "footer": st.booleans(),
    "prefix": st.sampled_from(PREFIXES),
    "dropped": st.sets(st.sampled_from(["city", "founded_year", "nps", "technologies", "annual_revenue"]),
                       max_size=3),
    "deals": st.booleans(),
})


def _write(path: Path, rows: list[list[str]], dialect: dict) -> Path:
    delimiter = "\t" if dialect["encoding"] == "utf-16" else (";" if dialect["numbers"] == "eu" else ",")
    footer = [[line.format(n=len(rows) - 1)] if line else [] for line in FOOTER] if dialect["footer"] else []
    text = _csv_text(rows + footer, delimiter, quote_all=dialect["footer"])  # a report quotes every cell
    encoding = dialect["encoding"]
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:  # a name cp1252 cannot hold: such a file would be saved as UTF-8
        data = text.encode("utf-8")
    path.write_bytes(data)
    return path


@pytest.mark.slow
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(dialect=dialects)
def test_any_dialect_imports_the_same_canonical_values(reference, dialect):
    headers = {k: v for k, v in CUSTOMER_HEADERS[dialect["headers"]].items() if k not in dialect["dropped"]}
    customers = reference["customers"]
    rows = [list(headers.values())] + [[_render(f, rec, dialect) for f in headers] for rec in customers.values()]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = {"customers": _write(folder / "companies.csv", rows, dialect)}
        deal_headers = dict(DEAL_HEADERS[dialect["headers"]])
        for field, word in DEAL_FIRMOGRAPHICS.items():
            deal_headers[field] = dialect["prefix"].format(word)
        if dialect["deals"]:
            deal_rows = [list(deal_headers.values())] + [[_render(f, rec, dialect) for f in deal_headers]
                                                         for rec in reference["deals"].values()]
            files["deals"] = _write(folder / "opportunities.csv", deal_rows, dialect)
        ws = Workspace(folder / "ws.duckdb")
        result = toolkit.import_data(ws, **files)
        got = _canonical(ws)
    assert set(got["customers"]) == set(customers), "the same companies, by id"
    for company_id, expected in customers.items():
        _assert_same(expected, got["customers"][company_id], headers, f"company {company_id}", dialect)
    if dialect["deals"]:
        assert set(got["deals"]) == set(reference["deals"])
        for deal_id, expected in reference["deals"].items():
            _assert_same(expected, got["deals"][deal_id], deal_headers, f"deal {deal_id}", dialect)
        links = {link.kind: link for link in result.links}
        assert links["deals"].linked == len(reference["deals"])


def _assert_same(expected: dict, got: dict, written: dict, what: str, dialect: dict) -> None:
    for field in written:
        stored = ["employees", "employees_min", "employees_max"] if field == "employees" else [field]
        for name in stored:
            want, have = expected.get(name), got.get(name)
            where = f"{what}, {name} ({dialect})"
            if isinstance(want, float) and have is not None:
                assert isinstance(have, (int, float)) and math.isclose(want, have, rel_tol=1e-9), (where, want, have)
            elif isinstance(want, list):
                assert sorted(have or []) == sorted(want), (where, want, have)
            else:
                assert have == want, (where, want, have)


def test_the_reference_sample_is_not_trivial(reference):
    """The property means something only if the sample exercises each kind of value."""
    customers = list(reference["customers"].values())
    assert len(customers) == SAMPLE and len(reference["deals"]) > 50
    assert any(c["churn_date"] for c in customers) and any(c["technologies"] for c in customers)
    assert any(c["employees"] is None and c["employees_min"] is not None for c in customers) or any(
        isinstance(c["employees"], float) and c["employees"] >= 1000 for c in customers)


# --- a date column whose day/month order its own values leave open -------------------------------------------------

def _dates(days: list[int], month: int = 2) -> list[str]:
    return [f"{d:02d}/{month:02d}/2024" for d in days]


def test_an_open_day_month_order_follows_the_other_dates_of_the_same_file(tmp_path):
    from icp_agent.ingest.importer import import_file

    ws = Workspace(tmp_path / "ws.duckdb")
    closing = _dates([3, 14, 25, 28])  # a day above 12: dd/MM
    modified = _dates([1, 2, 3, 4], month=5)  # 01/05 .. 04/05: either order
    text = "Record Id,Stage,Closing Date,Modified Time\n" + "".join(
        f"d{i},Closed Won,{c},{m}\n" for i, (c, m) in enumerate(zip(closing, modified)))
    path = tmp_path / "Deals.csv"
    path.write_text(text, encoding="utf-8")
    report = import_file(ws, path, "deals")
    column = next(c for c in report.columns if c.header == "Modified Time")
    assert column.type == "date" and "read as day/month like the export's other dates (Deals.csv: Closing Date)" \
        in column.note
    with ws.connect() as con:
        table = ws.current_table(con, "deals")
        stored = [str(r[0]) for r in con.execute(f"SELECT record_modified FROM {table} ORDER BY _row").fetchall()]
    assert stored == ["2024-05-01", "2024-05-02", "2024-05-03", "2024-05-04"]


def test_an_open_order_follows_the_files_imported_before_it_in_the_same_run(tmp_path):
    ws = Workspace(tmp_path / "ws.duckdb")
    accounts = tmp_path / "Accounts.csv"
    accounts.write_text("Record Id,Account Name,Industry,Created Time\n" + "".join(
        f"a{i},Co {i},Retail,{d} 10:00\n" for i, d in enumerate(_dates([2, 13, 20, 27]))), encoding="utf-8")
    contacts = tmp_path / "Contacts.csv"
    contacts.write_text("Record Id,Account Name.id,Title,Created Time\n" + "".join(
        f"c{i},a{i},CFO,{d} 10:15\n" for i, d in enumerate(_dates([3, 3, 4, 4]))), encoding="utf-8")
    result = toolkit.import_data(ws, customers=accounts, contacts=contacts)
    contacts_report = next(r for r in result.reports if r.kind == "contacts")
    column = next(c for c in contacts_report.columns if c.header == "Created Time")
    assert column.type == "date" and "Accounts.csv: Created Time" in column.note
    with ws.connect() as con:
        table = ws.current_table(con, "contacts")
        stored = {str(r[0]) for r in con.execute(f"SELECT record_created FROM {table}").fetchall()}
    assert stored == {"2024-02-03", "2024-02-04"}  # 3 and 4 February, not 2 March and 2 April


def test_an_open_order_nothing_decides_keeps_an_unneeded_column_as_text_and_stops_for_a_needed_one(tmp_path):
    from icp_agent.errors import UserError
    from icp_agent.ingest.importer import import_file

    ws = Workspace(tmp_path / "ws.duckdb")
    path = tmp_path / "contacts.csv"
    path.write_text("Record Id,Company,Title,Created Time\n" + "".join(
        f"c{i},Co {i},CFO,{d}\n" for i, d in enumerate(_dates([3, 4, 5], month=2))), encoding="utf-8")
    report = import_file(ws, path, "contacts")
    column = next(c for c in report.columns if c.header == "Created Time")
    assert column.type == "text" and column.role == "ignore" and "kept as text" in column.note
    assert [w for w in report.warnings if "'Created Time'" in w and "kept as text" in w]
    assert column.examples[0] == "03/02/2024"
    deals = tmp_path / "deals.csv"  # the close date defines won deals' timing: never guessed, never dropped
    deals.write_text("Deal ID,Stage,Close Date\n" + "".join(
        f"d{i},Closed Won,{d}\n" for i, d in enumerate(_dates([3, 4, 5], month=2))), encoding="utf-8")
    with pytest.raises(UserError) as raised:
        import_file(ws, deals, "deals")
    assert "ambiguous" in str(raised.value) and raised.value.column == "Close Date"
