"""Country values: one name per country (CLDR/ISO spellings, codes, other languages), at import and in scoring."""

from __future__ import annotations

import csv
import io

import duckdb
import pytest

from icp_agent import toolkit
from icp_agent.icp_document import Criterion
from icp_agent.ingest import normalize as norm


@pytest.mark.parametrize("raw,name", [
    ("UK", "United Kingdom"), ("United Kingdom", "United Kingdom"), ("GBR", "United Kingdom"), ("gb", "United Kingdom"),
    ("USA", "United States"), ("US", "United States"), ("U.S.A.", "United States"), ("united states", "United States"),
    ("United States of America", "United States"), ("Vereinigte Staaten", "United States"),
    ("Deutschland", "Germany"), ("DE", "Germany"), ("GERMANY", "Germany"), ("Allemagne", "Germany"),
    ("The Netherlands", "Netherlands"), ("Schweiz", "Switzerland"), ("Österreich", "Austria"),
    ("Korea, Republic of", "South Korea"), ("Czech Republic", "Czechia"), ("España", "Spain"),
    # common English names and the UK's constituent countries, as CRM country fields hold them
    ("Great Britain", "United Kingdom"), ("England", "United Kingdom"), ("Scotland", "United Kingdom"),
    ("Wales", "United Kingdom"), ("Northern Ireland", "United Kingdom"), ("holland", "Netherlands"),
    ("Ivory Coast", "Côte d’Ivoire"), ("Turkey", "Türkiye"), ("UAE", "United Arab Emirates"),
    ("Republic of Ireland", "Ireland"), ("Aruba", "Aruba"),  # Aruba is a country of its own in ISO 3166
])
def test_country_spellings_name_one_country(raw, name):
    assert norm.country_name(raw) == name


@pytest.mark.parametrize("raw,name", [
    ("GER", "Germany"), ("SUI", "Switzerland"), ("NED", "Netherlands"), ("DEN", "Denmark"), ("POR", "Portugal"),
    ("CRO", "Croatia"), ("RSA", "South Africa"), ("ger", "Germany"), ("Ned.", "Netherlands"), ("ENG", "United Kingdom"),
    ("KSA", "Saudi Arabia"), ("U.S.", "United States"), ("BUR", "Myanmar (Burma)"),  # an ISO code wins over IOC's
    ("DEU", "Germany"), ("CHE", "Switzerland"),  # ISO alpha-3 still read
])
def test_sports_codes_people_type_name_their_country(raw, name):
    assert norm.country_name(raw) == name


@pytest.mark.parametrize("raw", ["EMEA", "Europe", "EU", "840", "Korea", "Atlantis", "North America", "", "Bavaria",
                                 "Ontario"])
def test_regions_and_unknown_spellings_are_not_countries(raw):
    assert norm.country_name(raw) is None


def to_csv(header, rows):
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([header, *rows])
    return buffer.getvalue()


SPELLINGS = ["UK", "United Kingdom", "USA", "United States", "U.S.", "Deutschland", "Germany", "GER", "EMEA",
             "Atlantis"]


@pytest.mark.parametrize("header", ["Country/Region", "Billing Country", "Organization - Address - Country"])
def test_import_stores_one_name_per_country(ws, write, header):
    rows = [[f"Firm {n}", SPELLINGS[n % len(SPELLINGS)], "customer"] for n in range(40)]
    mapping = write("m.toml", f'[columns]\n"{header}" = "country"\n')
    toolkit.import_data(ws, customers=write("c.csv", to_csv(["Company name", header, "Lifecycle Stage"], rows)),
                        mapping_file=mapping)
    with ws.connect() as con:
        table = ws.current_table(con, "customers")
        counts = dict(con.execute(f"SELECT country, count(*) FROM {table} GROUP BY 1").fetchall())
    assert counts == {"United Kingdom": 8, "United States": 12, "Germany": 12, "EMEA": 4, "Atlantis": 4}


def test_canonical_countries_rewrites_a_lookup_once_per_value():
    con = duckdb.connect()
    con.execute("CREATE TABLE lk AS SELECT * FROM (VALUES ('uk', 'UK'), ('Uk', 'UK'), ('de', 'Deutschland'), "
                "('x', 'Narnia'), ('n', NULL)) t(raw, country)")
    assert norm.canonical_countries(con, "lk") == 2  # "UK" and "Deutschland"; Narnia and NULL stay
    assert con.execute("SELECT raw, country FROM lk ORDER BY raw").fetchall() == [
        ("Uk", "United Kingdom"), ("de", "Germany"), ("n", None), ("uk", "United Kingdom"), ("x", "Narnia")]


def test_scoring_reads_countries_as_the_import_stores_them(tmp_path):
    from icp_agent.scorecard.scoring import score_file
    from test_render import make_icp

    base = make_icp()
    tier = base.tiers[0].model_copy(update={"criteria": [
        Criterion(field="country", op="in", values=["Germany", "United Kingdom"], kind="category",
                  label="country in {Germany, United Kingdom}")]})
    icp = base.model_copy(update={"tiers": [tier], "negative_icp": [], "scorecard": None})
    prospects = tmp_path / "p.csv"
    prospects.write_text(to_csv(["Company", "Country"], [["A", "UK"], ["B", "Deutschland"], ["C", "GBR"],
                                                         ["D", "USA"], ["E", "EMEA"], ["F", "de"]]))
    score_file(icp, prospects, tmp_path / "out.csv")
    got = duckdb.connect().execute(f"SELECT Company, icp_tier FROM read_csv('{tmp_path / 'out.csv'}', "
                                   f"all_varchar=true) ORDER BY Company").fetchall()
    assert [c for c, t in got if t and t != "none"] == ["A", "B", "C", "F"]


def test_the_country_asset_is_what_babel_and_pycountry_give():
    # country_name reads assets/countries.json (generated by tools/gen_countries.py); built again from the installed
    # CLDR and ISO data it must be the same, so an upgrade or an edited alias cannot leave it stale
    index, english = norm.build_country_index()
    assert norm._country_index() == (index, english)
    assert index[norm._country_key("Vereinigte Staaten")] == "US" and english["DE"] == "Germany"
