"""Findings from a new user's first run on a Pipedrive export and a hand-kept German spreadsheet.

Every file here is a small generated look-alike (the user's own files are never copied in).
"""

from __future__ import annotations

import random

import pytest

from icp_agent import toolkit
from icp_agent.ingest.importer import import_file
from icp_agent.ingest.mapping import Mapping

DEAL_HEADERS = ["Deal - ID", "Deal - Title", "Deal - Creator", "Deal - Owner", "Deal - Value", "Deal - Currency",
                "Deal - Weighted value", "Deal - Probability", "Deal - Organization", "Deal - Contact person",
                "Deal - Stage", "Deal - Status", "Deal - Deal created", "Deal - Won time", "Deal - Lost time",
                "Deal - Close time", "Deal - Lost reason"]
ORG_HEADERS = ["Organization - ID", "Organization - Name", "Organization - Owner", "Organization - Address - Country",
               "Organization - Industry", "Organization - Number of employees", "Organization - Won deals",
               "Organization - Lost deals", "Organization - Open deals", "Organization - Closed deals"]


def pipedrive(n_orgs: int = 40, seed: int = 7) -> tuple[str, str]:
    """(organizations.csv, deals.csv) text shaped like a Pipedrive export, every header prefixed by its entity."""
    rng = random.Random(seed)
    people = ["Lena Vogt", "Marco Rossi", "Priya Nair", "Tom Becker"]
    orgs, deals = [ORG_HEADERS], [DEAL_HEADERS]
    deal_id = 0
    for i in range(1, n_orgs + 1):
        name = f"Org{i:03d} GmbH"
        country, currency = rng.choice([("Germany", "EUR"), ("United States", "USD"), ("United Kingdom", "GBP")])
        counts = {"won": 0, "lost": 0, "open": 0}
        for _ in range(rng.randint(1, 3)):
            deal_id += 1
            status = rng.choice(["won", "lost", "open"])
            counts[status] += 1
            created = f"2024-{rng.randint(1, 9):02d}-{rng.randint(1, 28):02d} 10:00:00"
            closed = f"2025-{rng.randint(1, 9):02d}-{rng.randint(1, 28):02d} 11:00:00" if status != "open" else ""
            value = f"{rng.randint(40, 600) * 100}.00"
            deals.append([str(deal_id), f"{name} - Pro", rng.choice(people), rng.choice(people), value, currency,
                          value if status == "won" else "0.00", "" if status != "open" else "40", name,
                          rng.choice(["Anna Schmidt", "Raj Patel", "Eva Novak"]),
                          rng.choice(["Qualified", "Proposal Made", "Negotiations Started"]), status, created,
                          closed if status == "won" else "", closed if status == "lost" else "", closed,
                          rng.choice(["Price too high", "Timing", ""]) if status == "lost" else ""])
        orgs.append([str(i), name, rng.choice(people), country, rng.choice(["Software", "Retail", "Healthcare"]),
                     rng.choice(["11-50", "51-200", "201-500"]), str(counts["won"]), str(counts["lost"]),
                     str(counts["open"]), str(counts["won"] + counts["lost"])])
    as_csv = lambda rows: "\n".join(",".join(f'"{c}"' if "," in c else c for c in row) for row in rows) + "\n"  # noqa: E731
    return as_csv(orgs), as_csv(deals)


def _columns(ws, kind: str) -> dict[str, dict]:
    report = toolkit.inspect_workspace(ws).current[kind]
    return {c.header: c.model_dump() for c in report.columns}


# 1. a new or changed mapping is a new snapshot; the same inputs stay idempotent

def test_a_new_mapping_is_a_new_snapshot_and_the_same_inputs_stay_idempotent(ws, write, tmp_path):
    orgs, deals = pipedrive()
    write("data/organizations.csv", orgs)
    write("data/deals.csv", deals)
    first = toolkit.import_data(ws, tmp_path / "data")
    mapping = write("map.toml", '[files."deals.csv".columns]\n"Deal - Title" = "ignore"\n')
    second = toolkit.import_data(ws, tmp_path / "data", mapping_file=mapping)
    by_kind = {r.kind: r for r in second.reports}
    assert not by_kind["deals"].already_imported  # the mapping changes the deals file
    assert by_kind["customers"].already_imported  # nothing in it applies to the organizations file
    assert by_kind["deals"].import_id != {r.kind: r for r in first.reports}["deals"].import_id
    assert by_kind["deals"].sha256 == {r.kind: r for r in first.reports}["deals"].sha256  # the file's own digest
    assert {c["field"]: c["role"] for c in _columns(ws, "deals").values()}["deal_title"] == "ignore"
    again = toolkit.import_data(ws, tmp_path / "data", mapping_file=mapping)
    assert all(r.already_imported for r in again.reports)
    # a neighbour: --lenient and exchange rates change what is stored too
    fx = write("fx.csv", "currency,rate\nUSD,1\nEUR,1.1\nGBP,1.3\n")
    with_fx = toolkit.import_data(ws, tmp_path / "data", mapping_file=mapping, fx_file=fx)
    assert not {r.kind: r for r in with_fx.reports}["deals"].already_imported
    lenient = import_file(ws, tmp_path / "data" / "deals.csv", "deals", lenient=True)
    assert not lenient.already_imported
    assert import_file(ws, tmp_path / "data" / "deals.csv", "deals", lenient=True).already_imported


def test_a_mapping_role_or_type_changes_the_snapshot_only_of_files_with_that_field(ws, write):
    path = write("customers.csv", "Company,Industry,Plan tier\nA,Software,gold\nB,Retail,silver\n")
    base = import_file(ws, path, "customers")
    other = import_file(ws, path, "customers", mapping=Mapping(roles={"seats": "ignore"}))
    assert other.already_imported and other.import_id == base.import_id
    changed = import_file(ws, path, "customers", mapping=Mapping(roles={"plan_tier": "ignore"}))
    assert not changed.already_imported
    assert {c.field: c.role for c in changed.columns}["plan_tier"] == "ignore"


# 4. a currency column and a money field's parsed currency never collide

@pytest.mark.parametrize("currency_header, values", [
    ("Deal - Currency", ["1200.00", "3400.00", "560.00"]),  # Pipedrive: plain amounts, the code beside them
    ("Currency", ["$1,200.00", "€3.400,00", "£560.00"]),  # amounts that name their currency too
])
def test_a_currency_column_beside_a_mapped_money_field_does_not_collide(ws, write, currency_header, values):
    rows = [f"{i},Deal {i},won,\"{v}\",{code}" for i, (v, code) in enumerate(zip(values, ["USD", "EUR", "GBP"]), 1)]
    path = write("deals.csv", f"Deal - ID,Deal - Title,Deal - Status,Deal - Value,{currency_header}\n"
                              + "\n".join(rows) + "\n")
    report = import_file(ws, path, "deals", mapping=Mapping(columns={"Deal - Value": "amount"}))
    assert {c.field: c.currencies for c in report.columns}["amount"] == {"USD": 1, "EUR": 1, "GBP": 1}
    with ws.connect() as con:
        table = ws.current_table(con, "deals")
        stored = con.execute(f"SELECT amount_original, amount_currency FROM {table} ORDER BY _row").fetchall()
    assert stored == [(1200.0, "USD"), (3400.0, "EUR"), (560.0, "GBP")]


def test_a_column_already_named_like_the_parsed_currency_keeps_its_values(ws, write):
    # the user mapped a non-currency column onto amount_currency; the amounts name their own currency
    path = write("deals.csv", "Deal ID,Stage,Amount,Budget owner\n1,won,$100,finance\n2,lost,$250,it\n")
    report = import_file(ws, path, "deals", mapping=Mapping(columns={"Budget owner": "amount_currency"}))
    with ws.connect() as con:
        table = ws.current_table(con, "deals")
        rows = con.execute(f"SELECT amount_currency, amount_currency_2 FROM {table} ORDER BY _row").fetchall()
    assert rows == [("finance", "USD"), ("it", "USD")]
    assert "amount_currency_2" in {c.field: c.note for c in report.columns}["amount"]


# 5. a folder plus --prospects FILE: the folder's only companies file is the customers file

def test_named_prospects_leave_the_folders_only_companies_file_as_customers(write, tmp_path):
    orgs, deals = pipedrive()
    write("data/organizations.csv", orgs)
    write("data/deals.csv", deals)
    prospects = write("prospects.csv", "Company,Industry,Employees\nAcme,Software,51-200\nBeta,Retail,11-50\n")
    plan = toolkit.plan_import(tmp_path / "data", prospects=prospects)
    kinds = {p.path.rsplit("/", 1)[-1]: (p.kind, p.reason) for p in plan.files}
    assert kinds["organizations.csv"][0] == "customers" and "only companies file" in kinds["organizations.csv"][1]
    assert kinds["prospects.csv"][0] == "prospects" and not plan.skipped
    # a neighbour: two companies files without outcomes beside named prospects stay ambiguous: both are
    # skipped with the reason, none is taken for the customers
    write("data/accounts.csv", "Account Name,Industry\nX,Software\nY,Retail\n")
    plan = toolkit.plan_import(tmp_path / "data", prospects=prospects)
    assert "customers" not in {p.kind for p in plan.files}
    assert sorted(s.path.rsplit("/", 1)[-1] for s in plan.skipped) == ["accounts.csv", "organizations.csv"]
    plan = toolkit.plan_import(tmp_path / "data", prospects=prospects, customers=tmp_path / "data" / "accounts.csv")
    assert [s.reason for s in plan.skipped] == ["looks like prospects, but --prospects names another file"]


# 6. only the columns the chosen definition of good reads must be readable

def _customers_with_unreadable_arr(n: int = 80) -> str:
    rng = random.Random(3)
    lines = ["Company,Industry,Employees,ARR,Churned"]
    for i in range(n):
        industry = rng.choice(["Software", "Retail", "Healthcare"])
        churned = rng.random() < (0.2 if industry == "Software" else 0.6)
        arr = "tbd" if i in (5, 17) else str(rng.randint(10, 90) * 1000)
        lines.append(f"C{i:03d},{industry},{rng.choice(['11-50', '51-200'])},{arr},{'yes' if churned else 'no'}")
    return "\n".join(lines) + "\n"


def test_an_unreadable_arr_does_not_block_a_churn_flag_build(ws, write):
    path = write("customers.csv", _customers_with_unreadable_arr())
    report = import_file(ws, path, "customers")
    assert {c.field: c.unparsed for c in report.columns}["arr"] == 2  # still reported as unreadable
    icp = toolkit.build_icp(ws, toolkit.AnalysisOptions(bad_column="churned"))
    assert icp.health.definition  # built on the churn flag alone
    # the health score reads ARR: there the unreadable values stop the build, naming the column
    with pytest.raises(Exception) as caught:
        toolkit.build_icp(ws, toolkit.AnalysisOptions())
    assert "ARR" in str(caught.value) and "tbd" in str(caught.value)
    # a neighbour: the churn flag itself unreadable still stops a churn-flag build
    bad = _customers_with_unreadable_arr().replace(",yes\n", ",kinda\n", 1)
    import_file(ws, write("customers2.csv", bad), "customers")
    with pytest.raises(Exception) as caught:
        toolkit.build_icp(ws, toolkit.AnalysisOptions(bad_column="churned"))
    assert "Churned" in str(caught.value)


# 7. total rows labelled in other languages are report furniture

@pytest.mark.parametrize("label", ["Summe", "Gesamt", "Gesamtsumme", "Total général", "Totale", "Suma", "Totaal",
                                   "Total"])
def test_a_total_row_in_another_language_is_furniture(ws, write, label):
    rows = ["Kunde;Branche;Mitarbeiter;ARR;Notizen", "Mainsoft KG;Software;51-200;7.465,92 €;",
            "Elbmarkt GmbH;Manufacturing;11-50;10.935,29 €;renewal talk Q3", ";;;;",
            f"{label};;;18.401,21 €;2 Kunden"]
    path = write("kunden.csv", "\r\n".join(rows) + "\r\n")
    report = import_file(ws, path, "customers", mapping=Mapping(columns={"Kunde": "company_name"}))
    assert report.rows_kept == 2 and report.rows_rejected == 0
    assert any(f.kind == "total or subtotal row" and f.raw.startswith(label) for f in report.furniture)


def test_a_company_named_like_a_total_word_is_kept(ws, write):
    # a real account whose name is a total word but has an industry is never a total row
    path = write("kunden.csv", "Kunde;Branche;Mitarbeiter\nSumme;Software;51-200\nGesamt AG;Retail;11-50\n")
    report = import_file(ws, path, "customers", mapping=Mapping(columns={"Kunde": "company_name"}))
    assert report.rows_kept == 2 and report.furniture_dropped == 0


# 8. mixed line endings and a title line above the header

@pytest.mark.parametrize("encoding", ["utf-8", "cp1252"])
@pytest.mark.parametrize("layout", ["title_lf", "switch_midway", "lone_cr_tail"])
def test_mixed_line_endings_with_a_title_line_are_read(ws, write, encoding, layout):
    rng = random.Random(11)
    rows = [f"Firma {i} GmbH;{rng.choice(['Software', 'Retail'])};{rng.choice(['11-50', '51-200'])};"
            f"{rng.randint(1, 90)}.{rng.randint(100, 999)},00 €;{rng.choice(['ja', 'nein'])}" for i in range(60)]
    header = "Kunde;Branche;Mitarbeiter;ARR;Gekündigt"
    title = "Kundenliste Quillstack - Stand 30.09.2025"
    if layout == "title_lf":  # a title typed on another system, the table from Excel
        text = title + "\n" + header + "\r\n" + "\r\n".join(rows) + "\r\n;;;;\nSumme;;;;60 Kunden\n"
    elif layout == "switch_midway":  # rows appended by another tool
        text = title + "\r\n" + header + "\r\n" + "\r\n".join(rows[:25]) + "\n" + "\n".join(rows[25:]) + "\n"
    else:
        text = title + "\r\n" + header + "\r\n" + "\r\n".join(rows[:50]) + "\r" + "\r".join(rows[50:]) + "\r"
    path = write("kunden.csv", text.encode(encoding))
    report = import_file(ws, path, "customers", mapping=Mapping(columns={"Kunde": "company_name",
                                                                         "Gekündigt": "churned"}))
    assert report.rows_kept == 60 and report.rows_rejected == 0
    assert report.furniture[0].kind == "title above the header" and report.furniture[0].raw == title
    with ws.connect() as con:
        table = ws.current_table(con, "customers")
        last = con.execute(f"SELECT company_name, churned FROM {table} ORDER BY _row DESC LIMIT 1").fetchone()
    assert last[0] == "Firma 59 GmbH" and last[1] in (True, False)  # no stray \r in the last column


def test_rows_the_reader_cannot_find_get_a_clear_message(ws, write):
    from icp_agent.errors import UserError
    from icp_agent.ingest import reader

    path = write("notes.csv", "Company,Industry\nAcme,Software\nBeta,Retail\n")
    source = reader.inspect_file(path)
    assert reader._lines_below_header(source) == 2
    with pytest.raises(UserError, match="no data rows"):
        import_file(ws, write("empty.csv", "Company,Industry\nTotal,\n"), "customers")


# 2. entity-prefixed headers (Pipedrive): own prefix stripped, other prefixes mapped, values decide a tie

def test_pipedrive_headers_map_without_a_mapping_file(ws, write, tmp_path):
    orgs, deals = pipedrive()
    write("data/organizations.csv", orgs)
    write("data/deals.csv", deals)
    result = toolkit.import_data(ws, tmp_path / "data")
    deal_cols = {h: (c["field"], c["role"]) for h, c in _columns(ws, "deals").items()}
    assert deal_cols["Deal - Title"][0] == "deal_name"
    assert deal_cols["Deal - Value"] == ("amount", "outcome")
    assert deal_cols["Deal - Organization"][0] == "company_name"
    assert deal_cols["Deal - Deal created"][0] == "deal_created_date"
    assert deal_cols["Deal - Close time"][0] == "close_date"  # set for won and lost deals
    assert deal_cols["Deal - Won time"][0] != "close_date"  # the weaker spelling, kept as an attribute
    assert deal_cols["Deal - Status"][0] == "deal_stage"  # won/lost/open, though "Deal - Stage" comes first
    stage = _columns(ws, "deals")["Deal - Stage"]
    assert stage["field"] == "stage" and stage["role"] == "outcome"  # pipeline progress: never a criterion
    assert "taken by column 'Deal - Status'" in stage["note"] and "won or lost" in stage["note"]
    org_cols = {h: c["field"] for h, c in _columns(ws, "customers").items()}
    assert org_cols["Organization - Address - Country"] == "country"
    assert org_cols["Organization - Number of employees"] == "employees"
    assert org_cols["Organization - Name"] == "company_name"
    link = next(r for r in result.links if r.kind == "deals")
    assert link.linked == link.rows  # "Deal - Organization" names each deal's company
    with ws.connect() as con:
        table = ws.current_table(con, "deals")
        stages = dict(con.execute(f"SELECT deal_stage, count(*) FROM {table} GROUP BY 1").fetchall())
    assert {s.lower() for s in stages} == {"won", "lost", "open"}


def test_other_crms_prefixes_and_the_stage_tie_in_either_order(ws, write):
    # a neighbour: Salesforce-style "Opportunity: ..." headers, the outcome column first, a contact prefix
    rows = ["Opportunity: ID,Opportunity: Status,Opportunity: Stage,Opportunity: Amount,Account: Account Name,"
            "Account: Industry,Contact: Title"]
    rng = random.Random(5)
    for i in range(30):
        rows.append(f"{i},{rng.choice(['Closed Won', 'Closed Lost', 'Open'])},{rng.choice(['Discovery', 'Demo'])},"
                    f"{rng.randint(1, 50) * 1000},Acct {i % 7},{rng.choice(['Software', 'Retail'])},"
                    f"{rng.choice(['CFO', 'VP Sales'])}")
    report = import_file(ws, write("opportunities.csv", "\n".join(rows) + "\n"))
    cols = {c.header: c for c in report.columns}
    assert report.kind == "deals"
    assert cols["Opportunity: Status"].field == "deal_stage"
    assert cols["Opportunity: Stage"].field == "opportunity_stage" and "won or lost" in cols["Opportunity: Stage"].note
    assert cols["Opportunity: Amount"].field == "amount" and cols["Opportunity: ID"].field == "deal_id"
    assert cols["Account: Account Name"].field == "company_name" and cols["Account: Industry"].field == "industry"
    assert cols["Contact: Title"].field == "job_title"


def test_a_contacts_export_with_person_prefixes(ws, write):
    path = write("people.csv", "Person - ID,Person - Name,Person - Job title,Person - Email,Organization - Name\n"
                               "1,Anna Schmidt,CFO,anna@a.de,Org001 GmbH\n2,Raj Patel,CTO,raj@b.io,Org002 GmbH\n")
    report = import_file(ws, path)
    assert report.kind == "contacts"
    assert {c.header: c.field for c in report.columns} == {
        "Person - ID": "contact_id", "Person - Name": "contact_name", "Person - Job title": "job_title",
        "Person - Email": "email", "Organization - Name": "company_name"}


# 3. people are never fit fields; outcome-derived columns are post-sale

def test_person_and_outcome_derived_columns_get_their_roles_at_import(ws, write):
    orgs, deals = pipedrive()
    org_report = import_file(ws, write("organizations.csv", orgs), "customers")
    deal_report = import_file(ws, write("deals.csv", deals), "deals")
    roles = {c.header: c.role for c in org_report.columns + deal_report.columns}
    for header in ("Deal - Creator", "Deal - Contact person", "Deal - Owner", "Organization - Owner"):
        assert roles[header] == "ignore", header
    for header in ("Organization - Won deals", "Organization - Lost deals", "Organization - Open deals",
                   "Organization - Closed deals", "Deal - Lost reason", "Deal - Weighted value", "Deal - Probability"):
        assert roles[header] in ("post_sale", "outcome"), header
    assert roles["Organization - Industry"] == "fit"


def test_role_hints_are_whole_words_of_any_header_style(ws, write):
    rng = random.Random(9)
    headers = ["Company", "Sales rep", "Assigned to", "Created by", "Owner name", "Win reason", "Next activity date",
               "Email messages count", "LastLoginDays", "DoneActivities", "Carrier", "Departure hub"]
    lines = [",".join(headers)]
    for i in range(40):
        lines.append(",".join([f"C{i}", rng.choice(["Lena Vogt", "Tom Becker"]), rng.choice(["Priya Nair", "Ann Lee"]),
                               rng.choice(["Marco Rossi", "Sam Poe"]), rng.choice(["Lena Vogt", "Tom Becker"]),
                               rng.choice(["Price", "Features"]), rng.choice(["high", "low"]), str(rng.randint(0, 9)),
                               str(rng.randint(0, 30)), str(rng.randint(0, 9)), rng.choice(["DHL", "UPS"]),
                               rng.choice(["Hamburg", "Rotterdam"])]))
    report = import_file(ws, write("accounts.csv", "\n".join(lines) + "\n"), "customers")
    roles = {c.header: c.role for c in report.columns}
    assert [roles[h] for h in ("Sales rep", "Assigned to", "Created by", "Owner name")] == ["ignore"] * 4
    assert [roles[h] for h in ("Win reason", "Next activity date", "Email messages count", "LastLoginDays",
                               "DoneActivities")] == ["post_sale"] * 5
    assert roles["Carrier"] == "fit" and roles["Departure hub"] == "fit"  # "carrier" holds no ARR


def test_without_won_or_lost_values_the_stage_column_keeps_deal_stage(ws, write):
    # a neighbour: only open deals, a status that is no outcome (active/paused): "Stage" stays the deal stage
    path = write("deals.csv", "Deal ID,Status,Stage,Amount\n1,active,Discovery,100\n2,paused,Demo,200\n"
                              "3,active,Proposal,300\n")
    report = import_file(ws, path, "deals")
    cols = {c.header: c.field for c in report.columns}
    assert cols["Stage"] == "deal_stage" and cols["Status"] != "deal_stage"


# 4. a Dynamics 365 "Export to Excel" folder, read without a mapping file

def _xlsx(path, title: str, rows: list[list]) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    for column in "ABC":  # Dynamics hides its re-import columns
        sheet.column_dimensions[column].hidden = True
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)


def test_a_dynamics_export_folder_reads_without_a_mapping(ws, tmp_path):
    # a look-alike of another shape than the user's: the opportunity's company under "Account" (not "Potential
    # Customer"), a state column, no Job Title or Role on the contacts (only their hidden id says what they are),
    # UK accounts spelt as England / Great Britain / Scotland; every name unique so each lookup links
    import datetime as dt
    import uuid

    rng = random.Random(11)
    guid = lambda: str(uuid.UUID(int=rng.getrandbits(128)))  # noqa: E731
    furniture = ["(Do Not Modify) Row Checksum", "(Do Not Modify) Modified On"]
    uk = ["England", "Great Britain", "Scotland", "United Kingdom", "Wales"]
    accounts = [["(Do Not Modify) Account", *furniture, "Account Name", "Address 1: State/Province",
                 "Address 1: Country/Region", "Number of Employees", "Industry", "Relationship Type", "Status"]]
    opportunities = [["(Do Not Modify) Opportunity", *furniture, "Topic", "Account", "Status", "Status Reason",
                      "Est. Revenue", "Est. Close Date", "Actual Close Date", "Rating"]]
    contacts = [["(Do Not Modify) Contact", *furniture, "Full Name", "Parent Customer", "Email", "Status"]]
    stamp = dt.datetime(2026, 3, 2, 9, 15)
    for i in range(30):
        name = f"Firm{i:02d} {'Ltd' if i % 2 else 'GmbH'}"
        country = uk[i % 5] if i < 15 else "Deutschland"
        accounts.append([guid(), f"sum{i}", stamp, name, "Bayern" if i >= 15 else None, country, 50 + 10 * i,
                         "Logistics" if i % 3 else "Retail", "Customer" if i < 20 else ["Prospect", "Partner"][i % 2],
                         "Inactive" if i % 7 == 0 else "Active"])
        for j in range(2):
            won = (i + j) % 3 != 0
            close = dt.datetime(2025, 1 + (i % 12), 1 + j)
            opportunities.append([guid(), f"s{i}{j}", stamp, f"{name} - rollout {j}", name, "Won" if won else "Lost",
                                  "Won" if won else "Out-Sold", 1000 * (i + 5), close, close,
                                  rng.choice(["Hot", "Warm", "Cold"])])
        contacts.append([guid(), f"c{i}", stamp, f"Person {i}", name, f"p{i}@firm{i}.example", "Active"])
    folder = tmp_path / "exports"
    _xlsx(folder / "My Active Accounts 03-02-2026 9-15-33 AM.xlsx", "My Active Accounts", accounts)
    _xlsx(folder / "All Opportunities 03-02-2026 9-15-33 AM.xlsx", "All Opportunities", opportunities)
    _xlsx(folder / "My Contacts 03-02-2026 9-15-33 AM.xlsx", "My Contacts", contacts)

    result = toolkit.import_data(ws, folder)
    kinds = {r.kind: r for r in result.reports}
    assert set(kinds) == {"customers", "deals", "contacts"}
    assert "Accounts" in kinds["customers"].file_name and "Opportunities" in kinds["deals"].file_name
    customers = {h: (c["field"], c["role"]) for h, c in _columns(ws, "customers").items()}
    assert customers["(Do Not Modify) Account"] == ("company_id", "id")
    assert customers["(Do Not Modify) Row Checksum"][1] == customers["(Do Not Modify) Modified On"][1] == "ignore"
    assert customers["Address 1: Country/Region"] == ("country", "fit")
    assert customers["Address 1: State/Province"] == ("region", "fit")
    assert customers["Relationship Type"] == ("lifecycle_stage", "post_sale")
    assert customers["Status"] == ("record_status", "post_sale")  # a deactivated record: never a trait
    deals = {h: (c["field"], c["role"]) for h, c in _columns(ws, "deals").items()}
    assert deals["(Do Not Modify) Opportunity"] == ("deal_id", "id")
    assert deals["Account"][0] == "company_name" and deals["Topic"][0] == "deal_name"
    assert deals["Status"] == ("deal_stage", "outcome") and deals["Status Reason"][1] == "post_sale"
    assert deals["Est. Revenue"] == ("amount", "outcome") and deals["Actual Close Date"][0] == "close_date"
    assert deals["Est. Close Date"][1] == "outcome" and deals["Rating"] == ("deal_rating", "post_sale")
    people = {h: c["field"] for h, c in _columns(ws, "contacts").items()}
    assert people["(Do Not Modify) Contact"] == "contact_id" and people["Parent Customer"] == "company_name"
    links = {r.kind: (r.linked, r.rows) for r in result.links}
    assert links["deals"] == (60, 60) and links["contacts"] == (30, 30)
    with ws.connect() as con:
        table = ws.current_table(con, "customers")
        countries = dict(con.execute(f"SELECT country, count(*) FROM {table} GROUP BY 1").fetchall())
    assert countries == {"United Kingdom": 15, "Germany": 15}


def test_a_folder_whose_headers_tell_nothing_is_read_by_its_file_names(write, tmp_path):
    # a deals view exported without its status column and a contacts view without titles: two files that looked like
    # prospects beside the accounts; their names say what they hold ("Accounts" says nothing: the only companies file)
    from icp_agent.ingest.plan import plan_import

    write("views/All Opportunities 01-02-2026 3-04-05 PM.csv", "Topic,Account,Est. Revenue\nRollout,Acme,1000\n")
    write("views/My Active Contacts 01-02-2026 3-04-05 PM.csv", "Full Name,Account,Email\nAnn Lee,Acme,a@acme.io\n")
    write("views/My Active Accounts 01-02-2026 3-04-05 PM.csv", "Account Name,Industry\nAcme,Retail\n")
    plan = plan_import(tmp_path / "views")
    by_kind = {p.kind: p.path.rsplit("/", 1)[-1] for p in plan.files}
    assert by_kind["deals"].startswith("All Opportunities") and by_kind["contacts"].startswith("My Active Contacts")
    assert by_kind["customers"].startswith("My Active Accounts") and len(plan.files) == 3
    assert "file name says deals" in next(p.reason for p in plan.files if p.kind == "deals")
