"""Types and values as real exports write them: codes, free text, spellings, amounts, currencies, booleans,
sizes, dates, and unreadable values that are reported rather than silently missing (issue 9)."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import duckdb
import pytest
from conftest import SHARED, rows
from hypothesis import given, settings
from hypothesis import strategies as st

from icp_agent import toolkit
from icp_agent.errors import UserError
from icp_agent.ingest import normalize as norm
from icp_agent.ingest.importer import import_file
from icp_agent.ingest.mapping import Mapping
from icp_agent.sql import sql_literal
from icp_agent.workspace import Workspace

CASES = SHARED.parent / "cases"


def case(name: str) -> Path:
    path = CASES / name
    if not path.exists():
        pytest.skip(f"shared case {name} not present at {path}")
    return path


def column(report, header):
    return next(c for c in report.columns if c.header == header)


# --- amounts, one value at a time ---

@pytest.mark.parametrize("raw,value,currency,open_band", [
    ("1.234,56 €", 1234.56, "EUR", False), ("1 234,56", 1234.56, None, False),
    ("1\u202f234,56", 1234.56, None, False), ("1\u00a0234,56 €", 1234.56, "EUR", False),
    ("CHF 1'234.50", 1234.5, "CHF", False), ("(1,234)", -1234.0, None, False), ("$1.5B", 1.5e9, "USD", False),
    ("$500K", 500_000.0, "USD", False), ("$1MM", 1e6, "USD", False), ("USD 3.2 million", 3.2e6, "USD", False),
    ("$10M+", 1e7, "USD", True), ("1.320.006,00 €", 1_320_006.0, "EUR", False), ("€24.000", 24_000.0, "EUR", False),
    ("¥22,500,000", 22_500_000.0, "JPY", False), ("£48,000", 48_000.0, "GBP", False), ("1000 eur", 1000.0, "EUR", False),
    ("CA$ 5", 5.0, "CAD", False), ("(€300)", -300.0, "EUR", False), ("-$300", -300.0, "USD", False),
    ("2,5 Mio. €", 2.5e6, "EUR", False), ("0", 0.0, None, False),
])
def test_amounts_in_the_formats_people_export(raw, value, currency, open_band):
    parsed = norm.parse_amount(raw)
    assert parsed == {"value": pytest.approx(value), "currency": currency, "open": open_band}


@pytest.mark.parametrize("raw", ["lots", "1e400", "12 employees", "abc", "n/a", "", "1,2,3.4.5", "$", "12,34,5"])
def test_unreadable_amounts_are_none(raw):
    assert norm.parse_amount(raw) is None


def test_the_decimal_mark_is_decided_per_column_not_per_value():
    german = [("1.320.006,00 €", 1), ("3.200", 2)]
    assert norm.decimal_mark(german) == ","
    assert norm.parse_amount("3.200", ",")["value"] == 3200
    english = [("0.25", 3), ("3.200", 1)]  # a score column: its other values prove "." is decimal
    assert norm.decimal_mark(english) == "."
    assert norm.parse_amount("3.200", ".")["value"] == 3.2
    # grouping alone proves nothing: the lone three-digit group stays thousands
    assert norm.decimal_mark([("22,500,000", 1), ("€24.000", 1)]) is None
    assert norm.parse_amount("€24.000", None)["value"] == 24_000


def test_currency_codes_come_from_iso_4217():
    assert norm.currency_code("usd") == "USD" and norm.currency_code("€") == "EUR"
    assert norm.currency_code("XYZ") is None and norm.currency_code("dollars") is None


# --- the shared cases, with neighbours ---

def test_excel_eu_semicolon_every_value_read(ws):
    report = import_file(ws, case("excel-eu-semicolon") / "firmen.csv")
    assert all(c.unparsed == 0 for c in report.columns), [(c.header, c.unparsed_examples) for c in report.columns]
    first, _, _, _, ember = rows(ws, "customers")[:5]
    assert first["annual_revenue"] == 1_320_006 and first["annual_revenue_currency"] == "EUR"
    assert ember["employees"] == 3200 and ember["arr"] == 150_000
    assert first["customer_since"] == date(2022, 1, 1) and first["churned"] is True
    assert column(report, "Annual Revenue").currencies == {"EUR": 24}
    assert {r["churned"] for r in rows(ws, "customers")} == {True, False}


def test_german_neighbour_with_a_column_that_has_no_evidence_of_its_own(ws, write):
    path = write("firmen2.csv", "Firma;Branche;Mitarbeiter;Umsatz;Kunde seit;Gekuendigt\n"
                                "A;Handel;3.200;2.500,50;01.02.2023;Nein\nB;Handel;15.000;900,00;02.03.2023;Ja\n"
                                "C;Bau;12;1.000.000,00;03.04.2023;nein\n")
    import_file(ws, path, "customers", mapping=Mapping(columns={"Firma": "company_name", "Mitarbeiter": "employees",
                                                                "Umsatz": "annual_revenue"}))
    a, b, c = rows(ws, "customers")
    assert (a["employees"], b["employees"], c["employees"]) == (3200, 15000, 12)
    assert (a["annual_revenue"], c["annual_revenue"]) == (2500.5, 1_000_000)
    assert a["gekuendigt"] is False and b["gekuendigt"] is True
    assert a["kunde_seit"] == date(2023, 2, 1)  # dotted dates are day first even when every day is <= 12


def test_codes_stay_text_and_are_never_numbers(ws):
    report = import_file(ws, case("codes-as-numbers") / "companies.csv")
    for header in ("Postal Code", "SIC Code", "NAICS Code"):
        assert column(report, header).type in ("category", "text"), header
    data = rows(ws, "customers")
    assert data[0]["postal_code"] == "02138" and data[4]["postal_code"] == "00501"
    assert data[0]["naics_code"] == "541511"
    options = toolkit.AnalysisOptions()
    with ws.connect() as con:
        fit = toolkit._analysis_inputs(ws, con, options).fit_fields
    assert all(fit.get(f) not in ("number", "money", "band") for f in ("postal_code", "sic_code", "naics_code"))


def test_code_neighbours_zip_phone_and_row_ids(ws, write):
    lines = ["Company,Zip,Phone,Row Number,Order No,Seats,Churned"]
    for i in range(30):
        lines.append(f"C{i},{'0' if i % 2 else '9'}{i % 3}210,+1 555-01{i:02d},{i + 1},{1000 + 7 * i},{(i % 4) * 10},"
                     f"{'yes' if i % 3 else 'no'}")
    report = import_file(ws, write("c.csv", "\n".join(lines) + "\n"), "customers")
    assert column(report, "Zip").type == "category" and rows(ws, "customers")[1]["zip"] == "01210"
    assert column(report, "Phone").type in ("text", "category") and column(report, "Phone").role != "fit"
    assert column(report, "Row Number").role == "ignore" and "identifies a row" in column(report, "Row Number").note
    assert column(report, "Order No").role == "ignore"
    assert column(report, "Seats").type == "number"  # repeated numbers are still a quantity


def test_free_text_is_kept_intact_and_never_a_category(ws):
    report = import_file(ws, case("quoted-newlines") / "companies.csv")
    notes = column(report, "Notes")
    assert (notes.type, notes.role) == ("text", "ignore")
    data = rows(ws, "customers")
    assert len(data) == 24
    assert data[0]["notes"] == 'Kick-off went well.\nAsked for SSO, "hard requirement".'
    assert data[4]["notes"] == 'Champion left, "new VP" unknown\n\nFollow up in Q3'


def test_free_text_neighbour_named_description_single_line(ws, write):
    lines = ["Company,Description,Segment,Churned"]
    for i in range(20):
        lines.append(f"C{i},Uses our API for {['billing', 'payroll', 'CRM sync'][i % 3]} across {i} teams in EMEA,"
                     f"{['SMB', 'Mid-Market'][i % 2]},{'yes' if i % 2 else 'no'}")
    report = import_file(ws, write("d.csv", "\n".join(lines) + "\n"), "customers")
    assert (column(report, "Description").type, column(report, "Description").role) == ("text", "ignore")
    assert column(report, "Segment").type == "category"
    assert rows(ws, "customers")[0]["description"] == "Uses our API for billing across 0 teams in EMEA"


def test_categories_show_their_most_frequent_original_spelling(ws, write):
    values = [("HubSpot", "VA", "Île-de-France", "DevTools;HubSpot", "CFO")] * 3 + \
             [("Hubspot", "Va", "ÎLE-DE-FRANCE", "devtools;hubspot", "cfo")] + \
             [("hubspot", "va", "ile-de-france ", "DEVTOOLS", "Cfo")]
    lines = ["Company,Original Source,State,Region Name,Technologies,Buyer,Churned"]
    for i, (src, state, region, tech, buyer) in enumerate(values * 3):
        lines.append(f"C{i},{src},{state},{region},{tech},{buyer},{'yes' if i % 2 else 'no'}")
    import_file(ws, write("s.csv", "\n".join(lines) + "\n"), "customers")
    data = rows(ws, "customers")
    assert {r["lead_source"] for r in data} == {"HubSpot"}
    assert {r["region"] for r in data} == {"VA"}
    assert {r["region_name"] for r in data} == {"Île-de-France", "Ile-de-france"}  # accents make another key
    assert {tuple(r["technologies"]) for r in data} == {("DevTools", "HubSpot"), ("DevTools",)}
    assert {r["buyer"] for r in data} == {"CFO"}


def test_employee_ranges_every_size_read(ws):
    report = import_file(ws, case("employee-ranges") / "prospects_apollo.csv", "prospects")
    assert column(report, "Company Size").unparsed == 0
    bounds = {r["company_name"]: (r["employees_min"], r["employees_max"]) for r in rows(ws, "prospects")}
    assert bounds["Alder Labs"] == (10001, None) and bounds["Bramble Systems"] == (5001, 10000)
    assert bounds["Dapple Foods"] == (201, 500) and bounds["Hollow Retail"] == (1, 1)
    assert bounds["Ivory Labs"] == (501, 1000) and bounds["Gable Health"] == (2, 10)


@pytest.mark.parametrize("raw,low,high", [("10,001+ employees", 10001, None), ("Self-employed", 1, 1),
                                          ("51-200 Mitarbeiter", 51, 200), ("1 employee", 1, 1), ("-5", None, None)])
def test_size_neighbours(raw, low, high):
    con = duckdb.connect()
    result = con.execute(f"SELECT {norm.band('x')} FROM (SELECT ?::VARCHAR AS x)", [raw]).fetchone()[0]
    assert (result["min"], result["max"]) == (low, high)


@pytest.mark.parametrize("yes,no", [("Ja", "Nein"), ("oui", "non"), ("Sí", "No"), ("si", "no"), ("Y", "N"),
                                    ("wahr", "falsch"), ("TRUE", "false"), ("1", "0")])
def test_booleans_in_the_languages_exports_come_in(yes, no):
    con = duckdb.connect()
    get = lambda v: con.execute(f"SELECT {norm.boolean('x')} FROM (SELECT ?::VARCHAR AS x)", [v]).fetchone()[0]  # noqa: E731
    assert (get(yes), get(no)) == (True, False)


def test_a_ticked_column_is_a_checkbox_blank_is_no(ws, write):
    """A column of ticks and blanks (a sheet's checkbox) is yes/no: the tick yes, the blank an unticked box."""
    lines = ["Company,Partner,Churned"] + [f"C{i},{'x' if i % 3 == 0 else ''},{'yes' if i % 2 else 'no'}"
                                           for i in range(12)]
    report = import_file(ws, write("x.csv", "\n".join(lines) + "\n"), "customers")
    assert column(report, "Partner").type == "bool"
    assert [r["partner"] for r in rows(ws, "customers")] == [i % 3 == 0 for i in range(12)]


@pytest.mark.parametrize("raw,expected", [
    ("1682899200", date(2023, 5, 1)), ("1682899200000", date(2023, 5, 1)), ("May 1, 2023", date(2023, 5, 1)),
    ("1-May-23", date(2023, 5, 1)), ("01 May 2023", date(2023, 5, 1)), ("2023-05-01T23:30:00+02:00", date(2023, 5, 1)),
    ("2023-05-01T10:00:00Z", date(2023, 5, 1)), ("45047", date(2023, 5, 1)), ("June 3rd, 2022", date(2022, 6, 3)),
    ("12", None), ("someday", None),
])
def test_dates_in_the_forms_exports_use(raw, expected):
    con = duckdb.connect()
    assert con.execute(f"SELECT {norm.date('x', None)} FROM (SELECT ?::VARCHAR AS x)", [raw]).fetchone()[0] == expected


def test_serial_numbers_are_dates_only_in_a_column_named_like_a_date(ws, write):
    lines = ["Company,Signed Date,Seats,Churned"] + [f"C{i},{45000 + i * 30},{45000 + i},{'yes' if i % 2 else 'no'}"
                                                     for i in range(12)]
    report = import_file(ws, write("serial.csv", "\n".join(lines) + "\n"), "customers")
    assert column(report, "Signed Date").type == "date" and column(report, "Seats").type == "number"
    assert rows(ws, "customers")[0]["signed_date"] == date(2023, 3, 15)


# --- currencies ---

@pytest.mark.parametrize("name", ["opportunities.csv", "opportunities_symbols.csv"])
def test_mixed_currencies_are_never_mixed(ws, name):
    report = import_file(ws, case("mixed-currency") / name, "deals")
    amount = column(report, "Amount")
    assert amount.currencies == {"USD": 10, "EUR": 5, "GBP": 5, "JPY": 4}
    assert any("14 amounts in EUR, GBP, JPY not comparable with USD" in w for w in report.warnings)
    data = rows(ws, "deals")
    assert {r["amount_currency"] for r in data if r["amount"] is not None} == {"USD"}
    bramble = next(r for r in data if r["company_name"] == "Bramble Systems")
    assert (bramble["amount"], bramble["amount_original"], bramble["amount_currency"]) == (None, 24_000, "EUR")
    if name == "opportunities.csv":
        assert column(report, "Amount Currency").role == "ignore"


def test_rates_from_the_user_convert_to_the_reporting_currency(ws, write, tmp_path):
    rates = write("rates.csv", "currency,rate\nUSD,1\nEUR,1.10\nGBP,1.25\nJPY,0.0067\n")
    result = toolkit.import_data(ws, deals=case("mixed-currency") / "opportunities.csv", fx_file=rates,
                                 customers=case("codes-as-numbers") / "companies.csv")
    deals = next(r for r in result.reports if r.kind == "deals")
    assert not deals.warnings
    data = {r["company_name"]: r for r in rows(ws, "deals")}
    assert data["Bramble Systems"]["amount"] == pytest.approx(26_400)
    assert data["Ember Logistics"]["amount"] == pytest.approx(150_750)
    assert data["Alder Labs"]["amount"] == 12_000 and data["Cinder Works"]["amount_original"] == 48_000


def test_rates_in_the_mapping_file_with_another_reporting_currency(ws, write):
    mapping = write("m.toml", '[fx]\ncurrency = "EUR"\nUSD = 0.9\nGBP = 1.15\n')
    import_file(ws, case("mixed-currency") / "opportunities_symbols.csv", "deals", mapping=Mapping.load(mapping))
    data = {r["company_name"]: r for r in rows(ws, "deals")}
    assert data["Alder Labs"]["amount"] == pytest.approx(10_800) and data["Bramble Systems"]["amount"] == 24_000
    assert data["Ember Logistics"]["amount"] is None  # no JPY rate: not comparable, kept in amount_original
    assert data["Ember Logistics"]["amount_original"] == 22_500_000


def test_the_document_shows_amounts_in_the_reporting_currency_they_were_converted_to(ws, write):
    # most amounts written in dollars, the reporting currency euros: the stored amounts are euros, and so is
    # the document's sign (it took the commonest written currency, "$", for amounts converted to EUR)
    from icp_agent.ingest.currencies import currencies_of

    mapping = Mapping.load(write("m.toml", '[fx]\ncurrency = "EUR"\nUSD = 0.9\n'))
    deals = "Deal ID,Company,Stage,Amount\n1,Alder,Won,$100\n2,Birch,Lost,$200\n3,Cedar,Won,€300\n"
    report = import_file(ws, write("deals.csv", deals), "deals", mapping=mapping)
    amount = column(report, "Amount")
    assert (amount.currencies, amount.currency) == ({"USD": 2, "EUR": 1}, "EUR")
    assert [r["amount"] for r in rows(ws, "deals")] == [pytest.approx(90), pytest.approx(180), 300]
    # a customers file whose revenue names no currency is in the reporting currency the mapping names
    customers = "Record ID,Company name,Annual Revenue\n1,Alder,5000000\n2,Birch,7000000\n"
    revenue = column(import_file(ws, write("c.csv", customers), "customers", mapping=mapping), "Annual Revenue")
    assert (revenue.currencies, revenue.currency) == ({"EUR": 2}, "EUR")
    assert currencies_of(toolkit.inspect_workspace(ws).current) == {"amount": "EUR", "annual_revenue": "EUR", "": "EUR"}


@pytest.mark.parametrize("content,message", [
    ("currency,rate\nEUR,1.1\nGBP,1.2\n", "reporting currency"), ("currency,rate\nUSD,1\nEURO,1.1\n", "ISO 4217"),
    ("currency,rate\nUSD,1\nEUR,-1\n", "positive"), ("code,value\nUSD,1\n", "currency and rate"),
])
def test_bad_rate_files_say_what_is_wrong(write, content, message):
    with pytest.raises(UserError, match=message):
        Mapping().load_fx(write("fx.csv", content))


# --- no value becomes missing silently ---

BAD = ("Record ID,Company name,Industry,Number of Employees,ARR,Activated,Churned\n"
       "1,Alder,Software,lots,\"$12,000\",yes,Yes\n2,Bramble,Retail,unknown,\"$24,000\",no,No\n"
       "3,Cinder,Retail,1e400,\"$10,000\",kinda,No\n4,Dapple,Software,-5,\"$9,000\",yes,No\n"
       "5,Ember,Software,50,\"$8,000\",no,No\n")


def test_unreadable_values_are_counted_and_printed(cli, write):
    path = write("bad.csv", BAD)
    result = cli("import-data", "--customers", str(path))
    assert "'Number of Employees': 4 value(s) could not be read as band" in result.output
    assert "row 1: lots" in result.output and "row 2: unknown" in result.output
    report = cli.json("inspect-workspace")["current"]["customers"]
    employees = next(c for c in report["columns"] if c["header"] == "Number of Employees")
    assert employees["unparsed"] == 4 and len(employees["unparsed_examples"]) == 3


def test_a_good_customer_column_with_unreadable_values_stops_the_run(cli, write, tmp_path):
    path = write("bad.csv", BAD)
    result = cli("run", "--customers", str(path), "--good-column", "activated", "--out", str(tmp_path / "o"),
                 expect=2)
    assert "bad.csv" in result.output and "'Activated'" in result.output and "kinda" in result.output
    # neighbour: a health component (Churned) with an unreadable value stops the analysis too, naming it
    other = Workspace(tmp_path / "other.duckdb")
    import_file(other, write("bad_health.csv", BAD.replace("kinda", "yes").replace(",No\n5", ",Maybe\n5")),
                "customers")
    with other.connect() as con, pytest.raises(UserError, match="'Churned'.*Maybe"):
        toolkit._analysis_inputs(other, con, toolkit.AnalysisOptions())
    fine = Workspace(tmp_path / "fine.duckdb")
    import_file(fine, write("ok.csv", BAD.replace("kinda", "yes")), "customers")
    with fine.connect() as con:
        assert toolkit._analysis_inputs(fine, con, toolkit.AnalysisOptions()).customers


def test_money_open_bands_are_lower_bounds_and_said(ws, write):
    lines = ["Company,Annual Revenue,Churned"] + [f"C{i},{v},{'yes' if i % 2 else 'no'}" for i, v in
                                                  enumerate(["$10M+", "$1.5B", "$500K", "$1MM", "USD 3.2 million"])]
    report = import_file(ws, write("rev.csv", "\n".join(lines) + "\n"), "customers")
    revenue = [r["annual_revenue"] for r in rows(ws, "customers")]
    assert revenue == [1e7, 1.5e9, 5e5, 1e6, pytest.approx(3.2e6)]
    assert "open band" in (column(report, "Annual Revenue").note or "")
    assert all(math.isfinite(v) for v in revenue)


def test_a_scored_file_matches_the_icp_spelling_whatever_its_letter_case():
    from icp_agent.scorecard.scoring import _normalised, _planned

    con = duckdb.connect()
    (_, category), = _normalised(_planned("lead_source", "category", "Lead Source"), {"HubSpot", "Île-de-France"})
    (_, listed), = _normalised(_planned("technologies", "list", "Technologies"), {"DevTools", "HubSpot"})
    get = lambda sql, v: con.execute(f"SELECT {sql} FROM (SELECT ?::VARCHAR AS raw)", [v]).fetchone()[0]  # noqa: E731
    assert get(category, "hubspot ") == "HubSpot" and get(category, "Other Source") == "Other Source"
    assert get(listed, "devtools;HUBSPOT;Slack") == ["DevTools", "HubSpot", "Slack"]


@pytest.mark.parametrize("header", ["BillingPostalCode", "Zip", "SicCode", "NAICS", "Mobile Phone", "ZIP/Postal code"])
def test_code_headers_without_leading_zeros_stay_codes(ws, write, header):
    lines = [f"Company,{header},Churned"] + [f"C{i},{94105 + (i % 4) * 1000},{'yes' if i % 2 else 'no'}"
                                             for i in range(20)]
    report = import_file(ws, write("z.csv", "\n".join(lines) + "\n"), "customers")
    assert column(report, header).type == "category"


@pytest.mark.parametrize("header", ["SignupDate", "Signed At", "activation_datetime"])
def test_epoch_seconds_under_date_headers_are_dates(ws, write, header):
    lines = [f"Company,{header},Churned"] + [f"C{i},{1682899200 + i * 86400},{'yes' if i % 2 else 'no'}"
                                             for i in range(12)]
    report = import_file(ws, write("e.csv", "\n".join(lines) + "\n"), "customers")
    assert column(report, header).type == "date"
    assert rows(ws, "customers")[0][column(report, header).field] == date(2023, 5, 1)


# 40 lists of 30 to 60 values (about 1,600 values; 300 lists of 1 to 40 gave about 1,200): the SQL costs per query,
# binding the expression, not per value
@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(
    st.from_regex(r"\A ?\$(\d{1,3}(,\d{3}){0,3}|\d{1,9})(\.\d{1,3})? ?\Z"),  # the dollar shapes, and near misses
    st.from_regex(r"\A ?\$\d{1,5}(\.\d{1,3})?[KkMmBb]? ?\Z"),  # scaled dollars, and near misses
    st.from_regex(r"\A-?\$?[\d,.]{1,10}[KkMm+]?\Z")), min_size=30, max_size=60))
def test_amounts_read_in_sql_equal_the_parser(values):
    """Dollar amounts read in SQL (norm.DOLLARS) give what parse_amount gives, for either decimal mark."""
    con = duckdb.connect()
    norm.register_functions(con)
    for mark in (None, ".", ","):
        got = con.execute(f"SELECT v, {norm.amount('v', mark)} FROM unnest(?::VARCHAR[]) t(v)", [values]).fetchall()
        for raw, parsed in got:
            expected = norm.parse_amount(raw, mark)
            if expected is None or expected["value"] is None:
                assert parsed is None or parsed["value"] is None, (raw, mark, parsed)
            else:
                assert parsed == expected, (raw, mark, parsed, expected)


def test_scaled_dollars_read_in_sql_equal_the_parser_on_every_shape():
    """Every billions value of norm.SCALED_DOLLARS ("$0B" to "$7.99b"), and a sample of the thousands and millions, read
    in SQL give what parse_amount gives with either mark. The thousands and millions cannot part: below 1e9 the
    figure's and the product's rounding errors stay far under the half millionth both roundings turn on."""
    import random

    rng = random.Random(12)
    decimals = ["", *(f".{d}" for d in range(10)), *(f".{d:02d}" for d in range(100))]
    values = [f"${n}{d}{s}" for n in range(8) for d in decimals for s in "bB"]
    values += [f"${rng.randrange(10**rng.randint(1, 4))}{rng.choice(decimals)}{rng.choice('kKmM')}" for _ in range(3000)]
    values = [v for v in values if not (v[-1] in "mM" and len(v.split(".")[0]) > 4)]  # millions: 3 digits at most
    con = duckdb.connect()
    matched = con.execute(
        f"SELECT bool_and(regexp_matches(v, {sql_literal(norm.SCALED_DOLLARS)})) FROM unnest(?::VARCHAR[]) t(v)", [values]
    ).fetchone()[0]
    assert matched  # every value tested is read in SQL
    for mark in (None, "."):
        got = con.execute(f"SELECT v, {norm.amount('v', mark, python=False)} FROM unnest(?::VARCHAR[]) t(v)", [values])
        for raw, parsed in got.fetchall():
            assert parsed == norm.parse_amount(raw, mark), (raw, mark)
    assert norm.parse_amount("$8.2B")["value"] != 8.2e9  # past 7: the roundings part, so the parser reads it


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.from_regex(
                r"\A(~ ?|ca\. |\(|-|\$|€|EUR )?\d{1,4}[-/]\d{1,4}([-/]\d{2,4})?( ?(k|M|ish|-ish|\+|\)|USD|€))?\Z"
            ),
            st.text(alphabet="0123456789-/.,$€ ()+kKmMi~sh", min_size=1, max_size=12),
        ),
        min_size=30,
        max_size=60,
    )
)
def test_values_sql_never_reads_as_amounts_are_none_in_the_parser(values):
    """A value norm.NOT_AN_AMOUNT sets aside without a Python call (a "/" anywhere, a "-" between digits) is one
    parse_amount reads as None, with any decimal mark."""
    con = duckdb.connect()
    sql = f"SELECT v, {norm.NOT_AN_AMOUNT.format('v')} FROM unnest(?::VARCHAR[]) t(v)"
    for raw, set_aside in con.execute(sql, [values]).fetchall():
        if set_aside:
            assert all(norm.parse_amount(raw, mark) is None for mark in (None, ".", ",")), raw


def test_dates_and_ranges_are_set_aside_as_no_amount_and_signs_stay_read():
    con = duckdb.connect()
    norm.register_functions(con)
    values = ["12/14/2022", "2024-01-01", "51-200", "n/a", "$1-2M", "UTC", "ten", "5-ish", "-5", "$-1,200", "1.5k"]
    values += ["(1,234)", "1,250", "12,000,000.50", "١٢"]
    got = dict(con.execute(f"SELECT v, {norm.amount('v')} FROM unnest(?::VARCHAR[]) t(v)", [values]).fetchall())
    assert [v for v in values if got[v] is None] == ["12/14/2022", "2024-01-01", "51-200", "n/a", "$1-2M", "UTC", "ten"]
    assert {v: got[v]["value"] for v in values if got[v]} == {
        "5-ish": 5,
        "-5": -5,
        "$-1,200": -1200,
        "1.5k": 1500,
        "(1,234)": -1234,
        "1,250": 1250,
        "12,000,000.50": 12_000_000.5,
        "١٢": 12,  # Arabic-Indic digits: not ASCII, so left to the parser
    }
    # the same values read in SQL only: what the parser alone reads is left for it, marked, never read as nothing
    left = con.execute(
        f"SELECT v FROM (SELECT v, {norm.amount('v', python=False)} AS a FROM unnest(?::VARCHAR[]) t(v)) "
        f"WHERE {norm.left_for_python('v', 'a')} ORDER BY v",
        [values],
    ).fetchall()
    assert [v for (v,) in left] == sorted(["5-ish", "$-1,200", "1.5k", "(1,234)", "١٢"])
    needs = con.execute(f"SELECT v FROM unnest(?::VARCHAR[]) t(v) WHERE {norm.needs_python('v')}", [values]).fetchall()
    assert sorted(v for (v,) in needs) == [v for (v,) in left]


def test_labels_in_icp_json_carry_the_imports_currency(tmp_path):
    """A EUR export's criteria, traits, evidence and lead-score bins say €, in icp.json itself (what get_icp gives a
    model and what scored files' fit_reasons quote), not only in the rendered document; a USD workspace's stay $."""
    import random

    rng = random.Random(5)
    lines = ["Company,Industry,Annual Revenue,NPS,Churned"]
    for i in range(600):
        revenue = rng.choice([2, 5, 20, 40, 80]) * 1_000_000
        big = revenue >= 20_000_000
        nps = rng.randint(7, 10) if big and rng.random() < 0.8 else rng.randint(0, 7)
        lines.append(f"Co {i},{rng.choice(['Retail', 'Banking', 'Media'])},€{revenue},{nps},"
                     f"{'yes' if rng.random() < (0.1 if big else 0.4) else 'no'}")
    (tmp_path / "customers.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    ws = Workspace(tmp_path / "ws.duckdb")
    toolkit.import_data(ws, customers=tmp_path / "customers.csv")
    icp = toolkit.build_icp(ws)
    labels = [c.label for t in icp.tiers for c in t.criteria] + [p.label for p in icp.patterns]
    money = [label for label in labels if label.startswith("annual revenue")]
    assert money and all("€" in label and "$" not in label for label in money), money
    statements = [e.statement for e in icp.evidence if "annual revenue" in e.statement]
    assert statements and not any("$" in s for s in statements)
    assert icp.scorecard is not None
    bins = [b.label for f in icp.scorecard.features if f.field == "annual_revenue" for b in f.bins]
    assert not any("$" in (label or "") for label in bins), bins
    # the money signs were this operation's own: nothing set in them outlives it
    from icp_agent.tiers.criteria import money_sign

    assert money_sign("annual_revenue") == "$"


def test_a_count_typed_loosely_in_a_sheet_is_a_number(ws, write):
    """A hand-kept sheet's licences column with "12ish", "5-ish", "30 ish" and "?" (someone did not know) is a
    number without a [types] line: the loose figures read as their figure, "?" is missing, not unreadable."""
    loose = {3: "12ish", 7: "5-ish", 11: "30 ish", 15: "?", 19: "??"}
    lines = [f"Org {k},org{k}.net,{loose.get(k, k + 2)}\n" for k in range(40)]
    report = import_file(
        ws, write("book.csv", "Organisation,Site,Licences\n" + "".join(lines)), "prospects"
    )
    licences = next(c for c in report.columns if c.header == "Licences")
    assert licences.type == "number" and licences.unparsed == 0
    stored = [r["licences"] for r in rows(ws, "prospects")]
    assert stored[3] == 12 and stored[7] == 5 and stored[11] == 30 and stored[15] is None and stored[19] is None
    assert stored[0] == 2 and stored[39] == 41


def test_a_date_column_typed_by_hand_in_several_forms_is_read_per_value(ws, write):
    """A sheet's date column in ISO, day/month (most), month/day with a two-digit year, month names and dots is a
    date: each value read in the form it can only be, the rest in the majority's order; a loose value is reported."""
    forms = ["2025-02-14", "21/06/2024", "Jan 9, 2025", "3 Feb 2023", "17.10.2024", "2/27/25", "05/04/2024",
             "14/11/2023", "30/01/2026", "last spring"]
    lines = [f"Firm {k},firm{k}.org,\"{forms[k % len(forms)]}\"\n" for k in range(30)]
    report = import_file(ws, write("sheet.csv", "Company,Website,First invoice date\n" + "".join(lines)), "prospects")
    invoice = column(report, "First invoice date")
    assert invoice.type == "date" and invoice.unparsed == 3 and "last spring" in invoice.unparsed_examples[0]
    stored = [r["first_invoice_date"] for r in rows(ws, "prospects")][:10]
    assert stored == [date(2025, 2, 14), date(2024, 6, 21), date(2025, 1, 9), date(2023, 2, 3), date(2024, 10, 17),
                      date(2025, 2, 27), date(2024, 4, 5), date(2023, 11, 14), date(2026, 1, 30), None]
