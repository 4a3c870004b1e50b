"""Links between files: the key chosen by how many values match, and what the analysis joins on."""

from __future__ import annotations

import csv
import io

import pytest
from conftest import REPO

from icp_agent import toolkit
from icp_agent.errors import UserError
from icp_agent.health.health_score import build_deals_frame
from icp_agent.ingest import links
from icp_agent.models import LinkReport

CASES = REPO.parent / "shared" / "cases"


def case(name: str):
    folder = CASES / name
    if not folder.is_dir():
        pytest.skip(f"../shared/cases/{name} is not beside the repository")
    return folder


def tables(ws):
    with ws.connect() as con:
        return ws.current_table(con, "customers"), ws.current_table(con, "deals"), ws.current_table(con, "contacts")


def frame_rows(ws, fields=("industry",)):
    """deal_id -> company fields as the won/lost frame joined them (the analysis' own join)."""
    customers, deals, _ = tables(ws)
    with ws.connect() as con:
        build_deals_frame(con, customers, deals, "t_frame", list(fields), stages=("won", "lost", "open"))
        names = ", ".join(fields)
        return {r[0]: r[1:] for r in con.execute(f"SELECT deal_id, {names} FROM t_frame").fetchall()}


def to_csv(header: list[str], rows: list[list]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


# --- the shared cases ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("deals_file", ["deals.csv", "deals_singular_header.csv"])
def test_hubspot_deal_tied_to_several_companies_links_to_the_first(ws, deals_file):
    folder = case("hubspot-multi-company-deal")
    result = toolkit.import_data(ws, customers=folder / "companies.csv", deals=folder / deals_file)
    deals_report = next(r for r in result.reports if r.kind == "deals")
    fields = {c.header: c.field for c in deals_report.columns}
    assert fields["Record ID"] == "deal_id" and fields[deals_report.columns[2].header] == "company_id"
    assert deals_report.rows_kept == 24 and deals_report.conflicts == 0
    (link,) = result.links
    assert (link.linked, link.rows, link.unlinked, link.method) == (24, 24, 0, "id")
    assert link.multiple_companies == 6 and "linked to the first" in link.notes[0]
    joined = frame_rows(ws)
    assert joined["770000"] == ("Computer Software",)  # 9100;9101 -> Alder Labs (9100), not Bramble (Retail)
    assert all(v[0] is not None for v in joined.values())


def test_salesforce_15_and_18_character_ids_of_one_record_match(ws):
    folder = case("sf-15-18-ids")
    result = toolkit.import_data(ws, customers=folder / "accounts.csv", deals=folder / "opportunities.csv")
    assert result.reports[0].rows_kept == 24  # ...Ab005QAY and ...AB005QAZ stay two accounts
    (link,) = result.links
    assert (link.linked, link.rows, link.method) == (24, 24, "Salesforce id (first 15 characters)")
    assert link.tried["id"] == 0 and link.tried["salesforce_id"] == 24
    assert any("24 of 24 18-character ids carry a checksum that does not fit" in n for n in link.notes)
    joined = frame_rows(ws, ("employees",))
    assert joined["0065g00000Op005"] == (15000,)  # 0015g00000Ab005 -> Fennel Analytics
    assert joined["0065g00000Op006"] == (12,)  # 0015g00000AB005 -> Gable Health, not Fennel


def test_ids_in_scientific_notation_are_diagnosed_never_folded(ws):
    folder = case("excel-sci-ids")
    result = toolkit.import_data(ws, customers=folder / "companies.csv", deals=folder / "deals.csv")
    companies = result.reports[0]
    assert (companies.rows_kept, companies.rows_rejected, companies.conflicts) == (24, 0, 0)
    (warning,) = [w for w in companies.warnings if "scientific notation" in w]
    assert "'Record ID'" in warning and "12 rows share 1 id " in warning and "rows 1, 3, 5" in warning
    assert "re-export the column as text" in warning.lower()
    (link,) = result.links
    assert (link.linked, link.unlinked) == (12, 12)
    assert "scientific notation" in link.cause


def test_run_stops_when_half_the_deals_link_and_says_why(cli, tmp_path):
    folder = case("excel-sci-ids")
    result = cli("run", str(folder), "--out", str(tmp_path / "out"), expect=2)
    assert "12 of 24 deals" in result.stderr and "scientific notation" in result.stderr
    assert "--allow-unlinked" in result.stderr
    assert not (tmp_path / "out" / "icp.json").exists()


# --- neighbours: other CRMs, headers and spellings ------------------------------------------------------------

def sf_id(prefix15: str) -> str:
    """An 18-character Salesforce id with its real case checksum."""
    suffix = ""
    for chunk in range(3):
        bits = sum(1 << i for i, ch in enumerate(prefix15[5 * chunk:5 * chunk + 5]) if ch.isupper())
        suffix += "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"[bits]
    return prefix15 + suffix


def test_salesforce_ids_with_real_checksums_and_case_variants(ws, write):
    ids = [f"001Dn00000{c}x{i:03d}" for i, c in enumerate("AaBbCcDdEe")]
    accounts = to_csv(["Id", "Name", "Industry"], [[sf_id(i), f"Co {n}", f"Ind {n}"] for n, i in enumerate(ids)])
    opps = to_csv(["Id", "AccountId", "StageName"], [[f"006Dn00000Op{n:03d}", i, "Closed Won" if n % 2 else "Closed Lost"]
                                                    for n, i in enumerate(ids)])
    result = toolkit.import_data(ws, customers=write("Account.csv", accounts), deals=write("Opportunity.csv", opps))
    (link,) = result.links
    assert (link.linked, link.method) == (10, "Salesforce id (first 15 characters)")
    assert not any("checksum" in n for n in link.notes)  # real ids: their checksums fit
    joined = frame_rows(ws)
    assert [joined[f"006Dn00000Op{n:03d}"][0] for n in range(10)] == [f"Ind {n}" for n in range(10)]


def test_long_numeric_ids_are_not_cut_to_15_characters(ws, write):
    # 18-digit ids sharing their first 15 digits: cutting them would fold different companies together
    ids = [f"123456789012345{n:03d}" for n in range(10)]
    companies = to_csv(["Company ID", "Company name", "Industry"], [[i, f"Co {n}", "Retail"] for n, i in enumerate(ids)])
    deals = to_csv(["Deal ID", "Company ID", "Deal Stage"], [[f"D{n}", i, "closedwon"] for n, i in enumerate(ids[:6])]
                   + [[f"D{n}", f"999999999999999{n:03d}", "closedlost"] for n in range(6, 10)])
    result = toolkit.import_data(ws, customers=write("c.csv", companies), deals=write("d.csv", deals))
    (link,) = result.links
    assert (link.method, link.linked) == ("id", 6) and "salesforce_id" not in link.tried


def test_scientific_notation_in_the_deals_link_column(ws, write):
    companies = to_csv(["Company ID", "Company name"], [[f"98765432101234{n:04d}", f"Co {n}"] for n in range(6)])
    deals = to_csv(["Deal ID", "Company ID", "Deal Stage"], [[f"D{n}", "9.87654E+17", "Won"] for n in range(6)])
    result = toolkit.import_data(ws, customers=write("c.csv", companies), deals=write("d.csv", deals))
    assert any("scientific notation" in w and "'Company ID'" in w for w in result.reports[1].warnings)
    (link,) = result.links
    assert link.linked == 0 and "scientific notation" in link.cause and "6 in the deals file" in link.cause


def test_key_chosen_by_matching_values_not_by_columns_present(ws, write):
    # both files have an id column, but the deals' ids come from another system: the domains match
    companies = to_csv(["Record ID", "Company name", "Website", "Industry"],
                       [[str(100 + n), f"Firm {n}", f"firm{n}.com", f"I{n}"] for n in range(8)])
    spellings = ["https://www.firm{n}.com/pricing", "FIRM{n}.COM", "firm{n}.com.", "http://firm{n}.com:8080",
                 "www.firm{n}.com", "firm{n}.com/", "sales@firm{n}.com", "Firm{n}.com"]
    deals = to_csv(["Deal ID", "Company ID", "Company Domain Name", "Deal Stage"],
                   [[f"D{n}", f"SF-{n}", spellings[n].format(n=n), "closedwon"] for n in range(8)])
    result = toolkit.import_data(ws, customers=write("companies.csv", companies), deals=write("deals.csv", deals))
    (link,) = result.links
    assert (link.linked_by, link.method, link.linked, link.tried["id"]) == ("domain", "domain", 8, 0)
    assert frame_rows(ws) == {f"D{n}": (f"I{n}",) for n in range(8)}


@pytest.mark.parametrize("company,deal", [
    ("Acme, Inc.", "ACME Inc"), ("Acme Inc.", "acme"), ("Globex LLC", "Globex"), ("Initech Ltd", "Initech Limited"),
    ("Müller GmbH", "Muller"), ("Société Générale S.A.", "Societe Generale"), ("Widgets Pty Ltd", "Widgets"),
    ("Hooli Corp.", "Hooli Corporation"), ("Vandelay Industries PLC", "Vandelay Industries"),
    ("Black & Decker", "Black and Decker"), ("Philips N.V.", "Philips"), ("Ahold B.V.", "AHOLD BV"),
    ("Siemens AG", "siemens"), ("Dassault SAS", "Dassault"), ("Foo Co., Ltd.", "Foo"),
])
def test_names_match_across_case_punctuation_accents_and_legal_suffixes(ws, write, company, deal):
    companies = to_csv(["Company name", "Industry"], [[company, "Retail"], ["Unrelated Name", "Banking"]])
    deals = to_csv(["Deal Name", "Company", "Deal Stage"], [["deal", deal, "closedwon"]])
    result = toolkit.import_data(ws, customers=write("c.csv", companies), deals=write("d.csv", deals))
    (link,) = result.links
    assert (link.method, link.linked) == ("name", 1)


def test_different_names_do_not_match(ws, write):
    companies = to_csv(["Company name"], [["Acme Labs"], ["Co"], ["Inc"]])
    deals = to_csv(["Company", "Deal Stage"], [["Acme", "won"], ["Acme Labs Group", "won"], ["Company", "won"]])
    result = toolkit.import_data(ws, customers=write("c.csv", companies), deals=write("d.csv", deals))
    assert result.links[0].linked == 0


def test_contacts_link_by_domain_with_kind_dependent_headers(ws, write):
    companies = to_csv(["Record ID", "Name", "Website", "Industry", "Lifecycle Stage"],
                       [[str(n), f"Firm {n}", f"https://firm{n}.io", "Retail", "customer"] for n in range(4)])
    contacts = to_csv(["Record ID", "Name", "Job Title", "Buying Role", "Email"],
                      [[f"C{n}", f"Person {n}", "CTO", "Technical Buyer", f"p{n}@firm{n}.io"] for n in range(4)])
    result = toolkit.import_data(ws, customers=write("companies.csv", companies),
                                 contacts=write("contacts.csv", contacts))
    report = next(r for r in result.reports if r.kind == "contacts")
    assert {c.header: c.field for c in report.columns}["Name"] == "contact_name"
    assert {c.header: c.field for c in report.columns}["Record ID"] == "contact_id"
    (link,) = result.links  # no company column: the work e-mail's domain is the company's
    assert (link.kind, link.linked, link.rows, link.method) == ("contacts", 4, 4, "email domain")


def test_contacts_link_through_a_company_column_and_report_the_key(ws, write):
    companies = to_csv(["Company ID", "Company name", "Lifecycle Stage"],
                       [[str(n), f"Firm {n}", "customer"] for n in range(4)])
    contacts = to_csv(["Record ID", "Full Name", "Title", "Associated Company ID"],
                      [[f"C{n}", f"P {n}", "CFO", f"{n};{n + 1}"] for n in range(3)] + [["C9", "P 9", "CFO", "77"]])
    result = toolkit.import_data(ws, customers=write("c.csv", companies), contacts=write("p.csv", contacts))
    (link,) = result.links
    assert (link.kind, link.linked, link.unlinked, link.multiple_companies) == ("contacts", 3, 1, 3)
    assert link.method == "id"


# --- the stop rule --------------------------------------------------------------------------------------------

def report(linked, rows, standalone=0, cause="ids in scientific notation lost their digits"):
    return LinkReport(kind="deals", linked_by="company_id", rows=rows, linked=linked, standalone=standalone,
                      unlinked=rows - linked - standalone, cause=cause)


def test_half_or_fewer_linked_stops_unless_allowed():
    with pytest.raises(UserError) as stopped:
        toolkit.check_links([report(12, 24)], allow_unlinked=False)
    assert "12 of 24 deals (50%)" in str(stopped.value) and "scientific notation" in str(stopped.value)
    [counted] = toolkit.check_links([report(13, 24)], allow_unlinked=False)  # goes on, the rest counted once
    assert counted.startswith("11 of 24 deals (46%) link to no company")
    assert toolkit.check_links([report(2, 24, standalone=22)], allow_unlinked=False) == []  # own firmographics
    allowed = [report(5, 24)]
    (warning,) = toolkit.check_links(allowed, allow_unlinked=True)
    assert allowed[0].allowed_unlinked and "19 deals were analysed without" in warning


def synthetic_export(write, linked: int, total: int = 240):
    """Companies and their won/lost deals (won tied to industry); `linked` deals carry a company id."""
    companies, deals = [], []
    for n in range(total):
        industry = ["Software", "Retail", "Banking", "Logistics"][n % 4]
        won = (industry in ("Software", "Logistics")) == (n % 10 != 0)
        companies.append([str(5000 + n), f"Firm {n}", industry, 20 + (n * 37) % 900])
        link = str(5000 + n) if n < linked else f"X{n}"
        deals.append([f"D{n}", link, "closedwon" if won else "closedlost", 1000 + n])
    write("in/companies.csv", to_csv(["Record ID", "Company name", "Industry", "Number of Employees"], companies))
    write("in/deals.csv", to_csv(["Deal ID", "Associated Company ID", "Deal Stage", "Amount"], deals))


def test_allow_unlinked_builds_and_the_icp_says_how_much_was_left_out(cli, write, tmp_path):
    synthetic_export(write, linked=100)
    stopped = cli("run", str(tmp_path / "in"), "--out", str(tmp_path / "o1"), expect=2)
    assert "100 of 240 deals" in stopped.stderr
    cli("run", str(tmp_path / "in"), "--out", str(tmp_path / "o2"), "--allow-unlinked")
    import json

    icp = json.loads((tmp_path / "o2" / "icp.json").read_text())
    (link,) = icp["dataset"]["links"]
    assert (link["linked"], link["rows"], link["allowed_unlinked"]) == (100, 240, True)
    assert any("140 deals were analysed without" in w for w in icp["warnings"])
    assert "140 deals were analysed without" in (tmp_path / "o2" / "icp.md").read_text()


def test_a_few_unlinked_deals_are_one_warning_and_no_missing_field_finding(cli, write, tmp_path):
    """160 of 240 deals link by id; the 80 others, all lost, name no known company and carry no company field: the
    ICP warns once with their count, and no field is reported "missing for 80 deals" among the lost."""
    companies, deals = [], []
    for n in range(240):
        industry, country = ["Software", "Retail", "Banking", "Logistics"][n % 4], ["DE", "FR", "SE"][n // 4 % 3]
        won = n < 160 and n // 12 % 5 < (3 if industry in ("Software", "Logistics") else 2)
        companies.append([str(5000 + n), f"Firm {n}", industry, country])
        deals.append([f"D{n}", str(5000 + n) if n < 160 else f"X{n}", "closedwon" if won else "closedlost"])
    write("in/companies.csv", to_csv(["Record ID", "Company name", "Industry", "Country"], companies))
    write("in/deals.csv", to_csv(["Deal ID", "Associated Company ID", "Deal Stage"], deals))
    cli("run", str(tmp_path / "in"), "--out", str(tmp_path / "o"))
    import json

    icp = json.loads((tmp_path / "o" / "icp.json").read_text())
    assert not icp["excluded_fields"]  # industry and country are screened, so their missingness is
    counted = [w for w in icp["warnings"] if "link to no company" in w]
    assert len(counted) == 1 and counted[0].startswith("80 of 240 deals (33%) link to no company")
    assert icp["data_quality"] == []


def test_one_key_expression_for_both_sides():
    key = links.LinkKey("company_id", "salesforce_id")
    assert "left(" in key.expr("d") and key.expr("d").replace("d.", "c.") == key.company_expr("c")
    email = links.LinkKey("email", "email domain")
    assert "p.email" in email.expr("p") and "c.domain" in email.company_expr("c")


@pytest.mark.parametrize("raw,key", [("https://www.Acme.com/about", "acme.com"), ("acme.com.", "acme.com"),
                                     ("ACME.com:443", "acme.com"), ("ana@acme.com", "acme.com"),
                                     ("www2.acme.co.uk/", "acme.co.uk"), ("", None)])
def test_domain_key(raw, key):
    import duckdb

    con = duckdb.connect()
    assert con.execute(f"SELECT {links.domain_key('t.v')} FROM (SELECT ?::VARCHAR AS v) t", [raw]).fetchall() == [(key,)]


def test_a_name_fitting_several_companies_by_stem_and_none_by_full_name_links_to_none_of_them(ws, write):
    """"Irondata" and "Irondata LLC" are one stem once legal suffixes drop: a deal naming either exactly links to
    that one; a deal whose full name is neither's ("IRONDATA, L.L.C.", "Irondata GmbH") is left unlinked and
    reported with the stem and both companies, never joined to whichever comes first; the others link."""
    companies = write("companies.csv", "Company name,Industry,Churned\nIrondata,Software,no\nIrondata LLC,Retail,yes\n"
                      + "".join(f"Firm {i},Ind {i},no\n" for i in range(8)))
    named = ["Irondata LLC", "irondata", "IRONDATA, L.L.C.", "Irondata GmbH"]
    deals = write("deals.csv", to_csv(["Deal ID", "Company", "Stage", "Amount"], [
        [f"D{i}", named[i] if i < 4 else f"Firm {i} Inc.", "Closed Won", 100] for i in range(8)]))
    result = toolkit.import_data(ws, customers=companies, deals=deals)
    link = next(r for r in result.links if r.kind == "deals")
    assert (link.linked_by, link.linked, link.ambiguous, link.unlinked) == ("company_name", 6, 2, 2)
    assert {e["value"]: (e["key"], e["rows"], e["companies"]) for e in link.ambiguous_examples} == {
        v: ("irondata", 1, ["Irondata", "Irondata LLC"]) for v in ("IRONDATA, L.L.C.", "Irondata GmbH")}
    (note,) = [n for n in link.notes if "fits several companies" in n]
    assert note.startswith("2 deals are not linked") and "Irondata / Irondata LLC" in note
    joined = frame_rows(ws)  # the analysis joins exactly what the report counted
    assert joined == {"D0": ("Retail",), "D1": ("Software",), "D2": (None,), "D3": (None,),
                      **{f"D{i}": (f"Ind {i}",) for i in range(4, 8)}}


def salesforce_like():
    """Salesforce-report-shaped accounts, opportunities and contacts naming their account by "Account Name" only,
    whose accounts share stems ("Nordwind GmbH" / "Nordwind Inc." / "Nordwind", "Bergwave Ltd" / "Bergwave Ltd.")
    but not full names; the deals and contacts name them as the accounts do or in other case, spacing or
    punctuation, and a few by a name no account carries ("Nordwind AG", "Bergwave, Ltd")."""
    accounts = [("Nordwind GmbH", "Logistics"), ("Nordwind Inc.", "Software"), ("Nordwind", "Retail"),
                ("Bergwave Ltd", "Banking"), ("Bergwave Ltd.", "Insurance"), ("Solo Corp", "Energy")]
    accounts += [(f"Firm {n} AG", f"Ind {n}") for n in range(6)]
    named = {"O1": ("Nordwind GmbH", "Logistics"), "O2": ("NORDWIND  GMBH", "Logistics"),
             "O3": ("Nordwind, Inc.", "Software"), "O4": ("nordwind", "Retail"), "O5": ("Nordwind AG", None),
             "O6": ("Bergwave Ltd.", "Insurance"), "O7": ("Bergwave Ltd", "Banking"), "O8": ("Bergwave, Ltd", None),
             "O9": ("Solo", "Energy"), **{f"O{10 + n}": (f"Firm {n} AG", f"Ind {n}") for n in range(6)}}
    acc = to_csv(["Account Name", "Billing Country", "Industry", "Type"],
                 [[name, "Germany", industry, "Customer"] for name, industry in accounts])
    opps = to_csv(["Opportunity ID", "Opportunity Name", "Account Name", "Stage", "Amount", "Close Date"],
                  [[o, f"Renewal {o}", name, "Closed Won" if int(o[1:]) % 2 else "Closed Lost", 1000, "2025-03-01"]
                   for o, (name, _) in named.items()])
    people = to_csv(["First Name", "Last Name", "Title", "Account Name"],
                    [[f"P{o}", "Doe", "CFO", name] for o, (name, _) in named.items()])
    return acc, opps, people, {o: industry for o, (_, industry) in named.items()}


def test_a_full_name_one_account_carries_links_to_it_though_its_stem_is_shared(ws, write):
    acc, opps, people, truth = salesforce_like()
    result = toolkit.import_data(ws, customers=write("Accounts.csv", acc), deals=write("Opportunities.csv", opps),
                                 contacts=write("Contacts.csv", people))
    deals, contacts = result.links
    assert (deals.method, deals.rows, deals.linked, deals.ambiguous) == ("name", 15, 13, 2)
    assert {e["value"]: (e["key"], e["companies"]) for e in deals.ambiguous_examples} == {
        "Nordwind AG": ("nordwind", ["Nordwind", "Nordwind GmbH", "Nordwind Inc."]),
        "Bergwave, Ltd": ("bergwave", ["Bergwave Ltd", "Bergwave Ltd."])}
    assert (contacts.rows, contacts.linked, contacts.ambiguous) == (15, 13, 2)
    # the analysis joins every deal to the account its name picks, with the report's key
    assert {k: v[0] for k, v in frame_rows(ws).items()} == truth
    customers, _, contact_table = tables(ws)
    with ws.connect() as con:  # and every contact, by the key the personas join on
        key = links.company_key(con, contact_table, customers)
        joined = con.execute(
            f"SELECT p.first_name, c.industry FROM {contact_table} p LEFT JOIN {customers} c "
            f"ON {key.company_expr('c')} = {key.expr('p')}"
        ).fetchall()
    assert dict(joined) == {f"P{o}": industry for o, industry in truth.items()}


def test_the_name_key_is_one_expression_for_both_sides():
    key = links.LinkKey("company_name", "name", "accounts", ("company_name",))
    assert key.expr("d").replace("d.company_name", "c.company_name") == key.company_expr("c")


def test_a_domain_two_companies_share_links_to_neither(ws, write):
    companies = to_csv(["Company name", "Website", "Industry"],
                       [["North Shipping", "https://north.example", "Logistics"],
                        ["North Bank", "north.example", "Banking"], ["", "www.north.example", "Retail"]]
                       + [[f"Firm {n}", f"firm{n}.com", f"I{n}"] for n in range(6)])
    deals = to_csv(["Deal ID", "Company Domain Name", "Deal Stage"],
                   [["D0", "www.north.example", "closedwon"], ["D1", "sales@north.example", "closedlost"]]
                   + [[f"D{n}", f"https://firm{n}.com/", "closedwon"] for n in range(2, 6)])
    result = toolkit.import_data(ws, customers=write("c.csv", companies), deals=write("d.csv", deals))
    (link,) = result.links
    assert (link.method, link.linked, link.ambiguous, link.unlinked) == ("domain", 4, 2, 2)
    # the import stores both spellings as north.example: one value, two rows
    assert [(e["key"], e["rows"], e["companies"]) for e in link.ambiguous_examples] == [
        ("north.example", 2, ["North Bank", "North Shipping", "north.example"])]  # a company without a name
    assert frame_rows(ws) == {"D0": (None,), "D1": (None,), **{f"D{n}": (f"I{n}",) for n in range(2, 6)}}


def test_one_company_on_several_rows_is_not_ambiguous_two_with_one_name_are(ws, write):
    # rows with the same id are one company; two ids under one name are two companies
    # (a name as written that two ids carry fits both, whatever its stem)
    companies = to_csv(["Company ID", "Company name", "Industry"],
                       [["1", "Acme", "Retail"], ["1", "Acme", "Retail "], ["2", "Twin", "Banking"],
                        ["3", "Twin Ltd", "Software"], ["4", "Solo", "Logistics"], ["5", "Pair GmbH", "Energy"],
                        ["6", "Pair GmbH", "Mining"]])
    deals = to_csv(["Deal ID", "Company", "Deal Stage"],
                   [["D1", "Acme Inc", "won"], ["D2", "Twin", "won"], ["D3", "Solo", "lost"], ["D4", "pair gmbh", "won"]])
    result = toolkit.import_data(ws, customers=write("c.csv", companies), deals=write("d.csv", deals))
    (link,) = result.links
    assert (link.method, link.linked, link.ambiguous) == ("name", 3, 1)
    assert [(e["value"], e["key"], e["companies"]) for e in link.ambiguous_examples] == [
        ("pair gmbh", "pair", ["Pair GmbH"])]
    joined = frame_rows(ws)
    assert joined["D2"] == ("Banking",) and joined["D3"] == ("Logistics",) and joined["D1"][0].strip() == "Retail"
    assert joined["D4"] == (None,)


def test_contacts_a_deal_id_links_are_not_ambiguous(ws, write):
    companies = to_csv(["Company name", "Industry", "Lifecycle Stage"],
                       [["Irondata", "Software", "customer"], ["Irondata LLC", "Retail", "customer"],
                        ["Firm", "Retail", "customer"]])
    deals = to_csv(["Deal ID", "Company", "Deal Stage"], [["D1", "Firm", "won"]])
    contacts = to_csv(["Record ID", "Job Title", "Deal ID", "Company"],
                      [["C1", "CTO", "D1", "Irondata Ltd"], ["C2", "CFO", "", "Irondata Inc"], ["C3", "CEO", "", "Firm"]])
    result = toolkit.import_data(ws, customers=write("c.csv", companies), deals=write("d.csv", deals),
                                 contacts=write("p.csv", contacts))
    link = next(r for r in result.links if r.kind == "contacts")
    assert (link.linked, link.ambiguous, link.unlinked) == (2, 1, 1)
    assert [(e["value"], e["rows"]) for e in link.ambiguous_examples] == [("Irondata Inc", 1)]


# --- a lookup's id beside its name (Zoho's "Account Name" / "Account Name.id") ------------------------------------

@pytest.mark.parametrize("header", ["Account Name.id", "Account.id", "Account ID", "Company ID", "Organization ID",
                                    "Account Name: Account ID", "AccountId", "account_name_id", "Company Record ID"])
def test_another_entitys_id_header_is_the_company_id_in_deals_and_contacts(header):
    from icp_agent.ingest.fields import canonical_field

    assert canonical_field(header, "deals") == "company_id"
    assert canonical_field(header, "contacts") == "company_id"


@pytest.mark.parametrize("kind", ["deals", "contacts"])
def test_a_parent_accounts_id_is_never_the_rows_company(kind):
    """A deal's "Parent Account ID" names the parent of its account: linking by it would join the wrong company."""
    from icp_agent.ingest.fields import canonical_field

    assert canonical_field("Parent Account ID", kind) is None
    assert canonical_field("Parent Account.id", kind) is None


def test_a_companies_file_keeps_its_own_record_id_and_its_parents_apart():
    from icp_agent.ingest.fields import canonical_field

    assert canonical_field("Record Id", "customers") == "company_id"
    assert canonical_field("Parent Account.id", "customers") is None  # another company's id, kept as an attribute
    assert canonical_field("Record Id", "deals") == "deal_id"
    assert canonical_field("Account Name", "deals") == "company_name"
    assert canonical_field("Account Number", "deals") is None
    assert canonical_field("Contact Name.id", "deals") == "contact_id"


def zoho_like(pairs: int = 6, singles: int = 10, missing_ids: int = 0, id_header: str = "Account Name.id"):
    """A Zoho-style accounts file whose first `pairs` x 2 accounts share a base name ("Base0 GmbH" / "Base0 Ltd",
    one key once legal suffixes drop, different industries), and a deals file naming each account twice by
    "Account Name" without its legal suffix ("Base0", so the name alone cannot tell the pair apart) and its record
    id under `id_header` (blank on the first `missing_ids` deals)."""
    accounts = [(f"zcrm_{n:06d}", f"Base{n // 2} {'GmbH' if n % 2 == 0 else 'Ltd'}", f"Ind{n}")
                for n in range(2 * pairs)]
    accounts += [(f"zcrm_{n:06d}", f"Solo{n} Inc.", f"Ind{n}") for n in range(2 * pairs, 2 * pairs + singles)]
    acc = to_csv(["Record Id", "Account Name", "Parent Account.id", "Industry"],
                 [[i, name, "", ind] for i, name, ind in accounts])
    deal_rows = []
    for j in range(2 * len(accounts)):
        i, name, _ = accounts[j % len(accounts)]
        stage = "Closed Won" if j % 3 else "Closed Lost"
        deal_rows.append([f"zdeal_{j:06d}", name.rsplit(" ", 1)[0], "" if j < missing_ids else i, stage])
    deals = to_csv(["Record Id", "Account Name", id_header, "Stage"], deal_rows)
    return acc, deals, {f"zdeal_{j:06d}": accounts[j % len(accounts)][2] for j in range(len(deal_rows))}


def test_zoho_deals_link_by_the_account_id_not_names_two_accounts_share(ws, write):
    acc, deals, truth = zoho_like()
    result = toolkit.import_data(ws, customers=write("Accounts.csv", acc), deals=write("Deals.csv", deals))
    (link,) = result.links
    assert (link.linked_by, link.method, link.linked, link.unlinked, link.ambiguous) == ("company_id", "id", 44, 0, 0)
    assert link.tried == {"id": 44, "name": 20}  # the 12 accounts in pairs: 24 deals fit two companies by name
    (why,) = [n for n in link.notes if n.startswith("linked by id")]
    assert "name would link 20 and leaves 24 fitting several companies" in why
    assert {k: v[0] for k, v in frame_rows(ws).items()} == truth  # every deal joins its own account's industry


def test_about_as_many_rows_the_key_with_no_ambiguous_value_wins(ws, write):
    # one pair and 60 single accounts, 124 deals: the name links 120 (the pair's 4 deals fit two companies); the
    # id is blank on 6 deals and links 118, within 5% of 120: the id, with no ambiguous value, wins
    acc, deals, truth = zoho_like(pairs=1, singles=60, missing_ids=6)
    result = toolkit.import_data(ws, customers=write("Accounts.csv", acc), deals=write("Deals.csv", deals))
    (link,) = result.links
    assert link.tried == {"id": 118, "name": 120}
    assert (link.method, link.linked, link.ambiguous) == ("id", 118, 0)
    (why,) = [n for n in link.notes if n.startswith("linked by id")]
    assert "name would link 120 and leaves 4 fitting several companies" in why
    assert "within 5%" in why and "no ambiguous value wins" in why
    joined = {k: v[0] for k, v in frame_rows(ws).items()}
    assert joined == {k: (v if int(k[-6:]) >= 6 else None) for k, v in truth.items()}


def test_about_as_many_rows_and_no_ambiguity_either_way_the_most_rows_win(ws, write):
    acc, deals, _ = zoho_like(pairs=0, singles=60, missing_ids=3)
    result = toolkit.import_data(ws, customers=write("Accounts.csv", acc), deals=write("Deals.csv", deals))
    (link,) = result.links
    assert link.tried == {"id": 117, "name": 120}
    assert (link.method, link.linked) == ("name", 120)
    assert not [n for n in link.notes if n.startswith("linked by")]


def test_far_fewer_rows_by_id_the_name_still_wins_and_the_ambiguity_is_reported(ws, write):
    acc, deals, _ = zoho_like(pairs=1, singles=60, missing_ids=40)  # ids on a third of the deals only
    result = toolkit.import_data(ws, customers=write("Accounts.csv", acc), deals=write("Deals.csv", deals))
    (link,) = result.links
    assert link.method == "name" and link.tried == {"id": 84, "name": 120}
    assert link.ambiguous == 4


def test_an_id_column_under_an_unknown_header_links_by_its_values(ws, write, tmp_path):
    """A deals file whose account id sits under a header no synonym knows, beside names two accounts share: the
    column's values are the companies' record ids, so it links every deal (and says so); the mapping line gives the
    same link, named."""
    acc, deals, truth = zoho_like(id_header="Acct Ref")
    result = toolkit.import_data(ws, customers=write("Accounts.csv", acc), deals=write("Deals.csv", deals))
    (link,) = result.links
    assert (link.linked_by, link.method, link.linked, link.ambiguous) == ("acct_ref", "id in column 'Acct Ref'", 44, 0)
    assert link.tried == {"name": 20, "id in column 'Acct Ref'": 44}
    assert any(n.startswith("linked by the values of column 'Acct Ref': 44 of 44 rows hold a company's record id")
               for n in link.notes)
    assert {k: v[0] for k, v in frame_rows(ws).items()} == truth
    mapping = tmp_path / "mapping.toml"
    mapping.write_text('[files."Deals.csv".columns]\n"Acct Ref" = "company_id"\n', encoding="utf-8")
    result = toolkit.import_data(ws, customers=write("Accounts.csv", acc), deals=write("Deals.csv", deals),
                                 mapping_file=mapping)
    (link,) = result.links
    assert (link.method, link.linked, link.ambiguous) == ("id", 44, 0)
    assert {k: v[0] for k, v in frame_rows(ws).items()} == truth


def test_ambiguous_names_without_an_id_column_say_what_to_write(ws, write):
    """No column holds the accounts' ids: the names two accounts share stay unlinked, and the note says what to
    map (a placeholder for the id column) or how to name the companies."""
    acc, deals, _ = zoho_like(id_header="Acct Ref", missing_ids=44)
    result = toolkit.import_data(ws, customers=write("Accounts.csv", acc), deals=write("Deals.csv", deals))
    (link,) = result.links
    assert (link.method, link.linked, link.ambiguous) == ("name", 20, 24)
    (note,) = [n for n in link.notes if "fits several companies" in n]
    assert '"<the column holding the company\'s record id>" = "company_id"' in note
    assert note.endswith("; or name each company in the deals exactly as the companies' file does (a full name one "
                         "company has links to it, whatever its stem)")


def test_an_unrecognised_company_column_links_by_its_values(ws, write):
    # the contacts' company sits in a column no synonym names ("Employer"): its values are the companies' names
    companies = to_csv(["Company name", "Industry", "Lifecycle Stage"],
                       [[f"Northwind {n} GmbH", "Retail", "customer"] for n in range(6)])
    contacts = to_csv(["Full Name", "Job Title", "Employer", "Team"],
                      [[f"P {n}", "CFO", f"northwind {n}", "Finance"] for n in range(5)] + [["P 9", "CFO", "Other", "x"]])
    result = toolkit.import_data(ws, customers=write("c.csv", companies), contacts=write("people.csv", contacts))
    (link,) = result.links
    assert (link.kind, link.linked, link.rows, link.method) == ("contacts", 5, 6, "name in column 'Employer'")
    assert link.cause is None
    assert "linked by the values of column 'Employer': 5 of 6 rows hold a company's name" in link.notes[0]


def test_a_column_matching_under_half_the_rows_is_not_the_link(ws, write):
    # "Client Ref" holds the companies' ids on 2 of 5 deals: too few to be the link (a chance overlap)
    companies = to_csv(["Record ID", "Company name", "Lifecycle Stage"],
                       [[f"A-{n}", f"Firm {n}", "customer"] for n in range(4)])
    refs = ["A-0", "A-1", "x-7", "x-8", "x-9"]
    deals = to_csv(["Deal Name", "Deal Stage", "Client Ref"], [[f"D{n}", "won", r] for n, r in enumerate(refs)])
    result = toolkit.import_data(ws, customers=write("c.csv", companies), deals=write("d.csv", deals))
    (link,) = result.links
    assert (link.linked, link.linked_by, link.tried) == (0, None, {})
    assert "share no key column" in link.cause


def test_close_lead_ids_link_deals_and_contacts_by_their_values(ws, write):
    """Close-shaped: the opportunities and contacts carry lead_id (read as a contact id, or nothing), whose values
    are the leads' ids; the contacts' e-mail domains are shared by duplicated leads. Both files link by lead_id."""
    leads = [(f"lead_{n:04d}", f"Firm{n} Inc.", f"https://firm{n // 2}.com", ["Fintech", "Retail"][n % 2])
             for n in range(20)]
    companies = to_csv(["id", "display_name", "url", "custom.Industry"], [list(r) for r in leads])
    opps = to_csv(["id", "lead_id", "status_type", "value"],
                  [[f"oppo_{j}", leads[j % 20][0], "won" if j % 3 else "lost", 1000 + j] for j in range(40)])
    people = to_csv(["id", "lead_id", "name", "title", "emails"],
                    [[f"cont_{j}", leads[j % 20][0], f"P{j}", "CFO", f"p{j}@firm{(j % 20) // 2}.com"] for j in range(30)])
    result = toolkit.import_data(ws, customers=write("leads.csv", companies), deals=write("opportunities.csv", opps),
                                 contacts=write("contacts.csv", people))
    by_kind = {link.kind: link for link in result.links}
    deals, contacts = by_kind["deals"], by_kind["contacts"]
    assert (deals.method, deals.linked, deals.rows) == ("id in column 'lead_id'", 40, 40)
    assert (contacts.method, contacts.linked, contacts.rows, contacts.ambiguous) == ("id in column 'lead_id'", 30, 30, 0)
    assert contacts.tried["email domain"] == 0  # every firm's domain is two leads'
    frame = frame_rows(ws, ("industry",))
    assert {k: v[0] for k, v in frame.items()} == {f"oppo_{j}": leads[j % 20][3] for j in range(40)}


def test_a_key_between_imported_tables_is_chosen_once_per_process(ws, write, monkeypatch):
    # imp_<kind>_<hash> tables never change after their import: the link report's choice is the frame's and the
    # customer filter's; a table of any other name (a frame) is counted every time
    companies = to_csv(
        ["Company name", "Website", "Industry"], [[f"Firm {n}", f"firm{n}.com", "Retail"] for n in range(6)]
    )
    deals = to_csv(
        ["Deal ID", "Company Domain Name", "Deal Stage"], [[f"D{n}", f"firm{n}.com", "won"] for n in range(6)]
    )
    toolkit.import_data(ws, customers=write("companies.csv", companies), deals=write("deals.csv", deals))
    customers, deal_table, _ = tables(ws)
    assert links.IMPORTED_TABLE.fullmatch(customers) and links.IMPORTED_TABLE.fullmatch(deal_table)
    counted = []
    real = links._count_linked
    monkeypatch.setattr(links, "_count_linked", lambda *args: counted.append(args[1:4:2]) or real(*args))
    with ws.connect() as con:
        first = links.choose_key(con, deal_table, customers)  # made by import_data's link report: remembered
        first.tried["domain"] = -1  # each caller gets its own copy
        again = links.choose_key(con, deal_table, customers)
        con.execute(f"CREATE TABLE frame_x AS SELECT * FROM {customers}")
        other = links.choose_key(con, deal_table, "frame_x")
    assert (again.key, again.tried) == (first.key, {"domain": 6})  # not the first caller's edited copy
    assert other.key == links.LinkKey("domain", "domain", "frame_x", ("company_name",))
    assert [(table, key.method) for table, key in counted] == [(deal_table, "domain")]  # the frame's key alone


def test_a_big_tables_columns_are_screened_on_a_sample_and_counted_in_full(monkeypatch):
    # with the screen's sample at 10 rows, a 100-row table is screened on every 10th row; the column kept is counted
    # over all 100 (73 hold a company id), and a column matching on the sample only ('luck') is not kept
    import duckdb

    con = duckdb.connect()
    con.execute("CREATE TABLE c AS SELECT i AS _row, 'C' || i AS company_id FROM range(40) t(i)")
    con.execute(
        "CREATE TABLE d AS SELECT i AS _row, 'D' || i AS deal_id, CASE WHEN i % 100 < 73 THEN 'C' || (i % 40) "
        "ELSE 'x' || i END AS ref, CASE WHEN i % 10 = 0 THEN 'C1' ELSE 'y' || i END AS luck FROM range(100) t(i)"
    )
    monkeypatch.setattr(links, "BY_VALUE_SAMPLE", 10)
    choice = links._choose_key(con, "d", "c")
    assert (choice.key.column, choice.tried) == ("ref", {"id in column 'ref'": 73, "id in column 'luck'": 10})
