"""Header mapping: real HubSpot, Salesforce and Apollo export headers map to canonical fields."""

import pytest

from icp_agent.ingest.fields import FIELDS, SYNONYMS, canonical_field, header_key

REAL_HEADERS = [
    # HubSpot company export
    ("Record ID", "company_id"), ("Company name", "company_name"), ("Company Domain Name", "domain"),
    ("Number of Employees", "employees"), ("Annual Revenue", "annual_revenue"), ("Industry", "industry"),
    ("Country/Region", "country"), ("State/Region", "region"), ("Technologies", "technologies"),
    ("Lifecycle Stage", "lifecycle_stage"), ("Became a Customer Date", "customer_since"),
    ("Company owner", "owner"), ("Last Activity Date", "last_activity_date"),
    # HubSpot deals
    ("Deal Stage", "deal_stage"), ("Close Date", "close_date"), ("Amount", "amount"), ("Deal ID", "deal_id"),
    ("Create Date", "deal_created_date"),
    # Salesforce Account / Opportunity
    ("NumberOfEmployees", "employees"), ("AnnualRevenue", "annual_revenue"), ("BillingCountry", "country"),
    ("BillingState", "region"), ("AccountId", "company_id"), ("StageName", "deal_stage"),
    ("CloseDate", "close_date"), ("Opportunity ID", "deal_id"), ("Account Name", "company_name"),
    ("LeadSource", "lead_source"), ("CreatedDate", "deal_created_date"),
    # Apollo people / companies
    ("# Employees", "employees"), ("Title", "job_title"), ("Job Title", "job_title"), ("Website", "domain"),
    ("Company", "company_name"), ("Seniority", "seniority"), ("Departments", "department"),
    ("First Name", "first_name"), ("Email", "email"),
    # contacts' buying roles
    ("Buying Role", "buying_role"),
    # health and unit economics
    ("Churn Date", "churn_date"), ("Cancellation Date", "churn_date"), ("ARR", "arr"), ("MRR", "mrr"),
    ("CAC", "cac"), ("NPS", "nps"), ("NPS Score", "nps"), ("CSAT", "nps"), ("Starting ARR", "starting_arr"),
    ("Number of Support Tickets", "support_tickets"), ("Referrals", "referrals"), ("Days to Close", "days_to_close"),
    ("CAC Payback Months", "cac_payback_months"),
    # plain snake_case
    ("employees", "employees"), ("annual_revenue", "annual_revenue"), ("company_id", "company_id"),
    ("churn_date", "churn_date"), ("deal_stage", "deal_stage"), ("close_date", "close_date"),
]


@pytest.mark.parametrize("header,field", REAL_HEADERS)
def test_real_export_headers_map_to_canonical_fields(header, field):
    assert canonical_field(header) == field


@pytest.mark.parametrize("spelling", ["NUMBER OF EMPLOYEES", "number-of-employees", " Number  of Employees ",
                                      "number_of_employees", "NumberOfEmployees", "# employees"])
def test_mapping_ignores_case_spaces_and_punctuation(spelling):
    assert canonical_field(spelling) == "employees"


def test_unknown_header_is_not_guessed():
    assert canonical_field("Favourite Pizza") is None


def test_no_synonym_is_claimed_by_two_fields():
    owners = {}
    for field in FIELDS:
        for spelling in (field.name, *field.synonyms):
            key = header_key(spelling)
            assert owners.setdefault(key, field.name) == field.name, (spelling, owners[key], field.name)
    assert len(SYNONYMS) == len(owners)


# --- headers whose meaning depends on the file's kind ---------------------------------------------------------

from icp_agent import toolkit  # noqa: E402
from icp_agent.errors import UserError  # noqa: E402
from icp_agent.ingest.columns import detect_kind, plan_columns  # noqa: E402
from icp_agent.ingest.fields import FIELD_BY_NAME, KIND_SYNONYMS  # noqa: E402
from icp_agent.ingest.mapping import Mapping  # noqa: E402

KIND_HEADERS = [
    # HubSpot deals export
    ("deals", "Record ID", "deal_id"), ("deals", "Associated Company ID(s)", "company_id"),
    ("deals", "Associated Company IDs", "company_id"), ("deals", "Associated Company ID", "company_id"),
    ("deals", "Associated Company IDs (Primary)", "company_id"), ("deals", "Deal Name", "deal_name"),
    # Salesforce opportunities (report and data loader)
    ("deals", "Opportunity ID", "deal_id"), ("deals", "Id", "deal_id"), ("deals", "Account ID", "company_id"),
    ("deals", "AccountId", "company_id"), ("deals", "Company ID", "company_id"), ("deals", "Name", "deal_name"),
    ("deals", "Account Name", "company_name"),
    # contacts: the person, not the company
    ("contacts", "Name", "contact_name"), ("contacts", "Full Name", "contact_name"),
    ("contacts", "Record ID", "contact_id"), ("contacts", "Company Name", "company_name"),
    ("contacts", "Associated Company ID", "company_id"),
    # companies: the company
    ("customers", "Record ID", "company_id"), ("customers", "Name", "company_name"),
    ("prospects", "Id", "company_id"), ("prospects", "Name", "company_name"),
]


@pytest.mark.parametrize("kind,header,field", KIND_HEADERS)
def test_synonyms_depend_on_the_files_kind(kind, header, field):
    assert canonical_field(header, kind) == field


def test_kind_synonyms_name_real_fields():
    for by_field in KIND_SYNONYMS.values():
        for name, spellings in by_field.items():
            assert name in FIELD_BY_NAME and spellings


@pytest.mark.parametrize("header,field", [
    ("Company Industry", "industry"), ("Account Employees", "employees"),
    ("Associated Company Technologies", "technologies"), ("Account: Industry", "industry"),
    ("Account.Industry", "industry"), ("Company - Country", "country"), ("Account: Number of Employees", "employees"),
    ("Organization > Annual Revenue", "annual_revenue"), ("Account.BillingCountry", "country"),
    ("Company: Founded Year", "founded_year"), ("Organisation Technologies", "technologies"),
    ("Account_Industry", "industry"), ("Company – City", "city"), ("Account: Website", "domain"),
    ("Account.Id", "company_id"),
    # the link by name and the domain keep their meaning
    ("Company Name", "company_name"), ("Account Name", "company_name"), ("Company Domain Name", "domain"),
    ("Account: Name", "company_name"), ("Company", "company_name"),
])
@pytest.mark.parametrize("kind", ["deals", "contacts"])
def test_company_fields_under_a_prefix_map_to_the_companys_field(header, field, kind):
    assert canonical_field(header, kind) == field


@pytest.mark.parametrize("header", ["Company Created Date", "Account Stage", "Accounting Code", "Company Notes",
                                    "Account: Deal Amount", "Parent Company Name", "Parent Account ID",
                                    "Parent Account: Industry"])
def test_a_prefix_over_a_non_company_field_is_not_guessed(header):
    assert canonical_field(header, "deals") in (None, "owner")


def test_kind_is_detected_on_neutral_signals_then_headers_mapped_with_it():
    headers = ["Record ID", "Name", "Associated Company ID", "Deal Stage", "Account: Industry"]
    kind, _ = detect_kind(headers)
    assert kind == "deals"
    planned = {c.header: c.name for c in plan_columns(headers, Mapping(), "deals.csv", kind)}
    assert planned == {"Record ID": "deal_id", "Name": "deal_name", "Associated Company ID": "company_id",
                       "Deal Stage": "deal_stage", "Account: Industry": "industry"}
    contacts = ["Record ID", "Name", "Job Title", "Company Name", "Company Industry"]
    kind, _ = detect_kind(contacts)
    assert kind == "contacts"
    assert [c.name for c in plan_columns(contacts, Mapping(), "c.csv", kind)] == [
        "contact_id", "contact_name", "job_title", "company_name", "industry"]


def test_hubspot_contacts_export_imports_the_person_and_the_company(ws, write):
    data = write("contacts.csv", "Record ID,Name,Job Title,Buying Role,Company Name,Associated Company ID,"
                                 "Company Industry\n501,Ana Li,CFO,Economic Buyer,Acme,9100,Computer Software\n"
                                 "502,Bo Ek,CTO,Technical Buyer,Beta,9101,Retail\n")
    report = toolkit.import_data(ws, contacts=data, customers=write("c.csv", "Record ID,Name\n9100,Acme\n")).reports
    fields = {c.header: c.field for c in next(r for r in report if r.kind == "contacts").columns}
    assert fields == {"Record ID": "contact_id", "Name": "contact_name", "Job Title": "job_title",
                      "Buying Role": "buying_role", "Company Name": "company_name",
                      "Associated Company ID": "company_id", "Company Industry": "industry"}


# --- mapping file: a section per file ------------------------------------------------------------------------

COMPANIES = "Acct,Company name,Industry,Lifecycle Stage\n1,Acme,Retail,customer\n2,Beta,Banking,customer\n"
DEALS = "Ref,Acct,Stage,Primary Company\nD1,x,Closed Won,1\nD2,y,Closed Lost,2\n"


def test_mapping_section_per_file_and_global_entries_where_the_column_exists(ws, write):
    mapping = write("map.toml", '[columns]\nAcct = "company_id"\n"Lifecycle Stage" = "lifecycle_stage"\n'
                                '[files."deals.csv".columns]\nRef = "deal_id"\nAcct = "ignore"\n'
                                '"Primary Company" = "company_id"\n')
    result = toolkit.import_data(ws, customers=write("companies.csv", COMPANIES), deals=write("deals.csv", DEALS),
                                 mapping_file=mapping)
    companies, deals = result.reports
    assert {c.header: c.field for c in companies.columns}["Acct"] == "company_id"
    fields = {c.header: (c.field, c.role) for c in deals.columns}
    assert fields["Ref"][0] == "deal_id" and fields["Primary Company"][0] == "company_id"
    assert fields["Acct"] == ("acct", "ignore")  # the file's section wins over [columns]
    assert result.links[0].linked == 2


def test_file_section_is_matched_by_name_case_insensitively(write):
    mapping = Mapping.load(write("m.toml", '[files."Deals.CSV".columns]\nRef = "deal_id"\n'))
    assert mapping.columns_for("/some/where/deals.csv") == {"Ref": "deal_id"}
    assert mapping.columns_for("companies.csv") == {}


@pytest.mark.parametrize("toml,message", [
    ('[columns]\nNowhere = "employees"\n', "no imported file has them"),
    ('[files."deals.csv".columns]\nNowhere = "deal_id"\n', "section for 'deals.csv' names column(s) ['Nowhere']"),
    ('[files."other.csv".columns]\nRef = "deal_id"\n', "section for 'other.csv', which is not among the imported"),
    ('[files."deals.csv"]\nroles = {}\n', "may only hold a columns table"),
])
def test_mapping_entries_that_apply_to_nothing_are_errors(ws, write, toml, message):
    mapping = write("m.toml", toml)
    with pytest.raises(UserError) as error:
        toolkit.import_data(ws, customers=write("companies.csv", COMPANIES), deals=write("deals.csv", DEALS),
                            mapping_file=mapping)
    assert message in str(error.value) and "m.toml" in str(error.value)
    with ws.connect() as con:  # nothing half-imported
        assert con.execute("SELECT count(*) FROM imports").fetchone()[0] == 0


# --- options that name a column accept the header as written ----------------------------------------------

OUTCOMES = "Record ID,Company name,Industry,Is Active?,Time Zone\n" + "".join(
    f"{n},Firm {n},{['Retail', 'Banking'][n % 2]},{'Yes' if n % 3 else 'No'},UTC\n" for n in range(40))


@pytest.mark.parametrize("name", ["is_active", "Is Active?", "is active", "IS ACTIVE"])
def test_good_column_accepts_header_or_field(ws, write, name):
    toolkit.import_data(ws, customers=write("c.csv", OUTCOMES))
    assert toolkit.resolve_field(ws, name) == "is_active"
    health = toolkit.score_health(ws, toolkit.AnalysisOptions(good_column=name))
    assert (health.definition, health.good_column, health.n_good, health.n_bad) == ("column", "is_active", 26, 14)


def test_roles_accept_a_header(ws, write):
    toolkit.import_data(ws, customers=write("c.csv", OUTCOMES))
    roles = toolkit.set_field_roles(ws, {"Time Zone": "fit", "Industry": "ignore"})
    assert roles["time_zone"] == "fit" and roles["industry"] == "ignore"
    with pytest.raises(UserError):
        toolkit.set_field_roles(ws, {"No Such Column": "fit"})


def test_a_column_marked_primary_wins_its_field_over_the_full_list():
    headers = ["Record ID", "Associated Company IDs", "Deal Stage", "Associated Company IDs (Primary)"]
    planned = {c.header: c for c in plan_columns(headers, Mapping(), "deals.csv", "deals")}
    assert planned["Associated Company IDs (Primary)"].name == "company_id"
    assert planned["Associated Company IDs"].name == "associated_company_ids"
    assert "taken by column 'Associated Company IDs (Primary)'" in planned["Associated Company IDs"].note
    # without a primary column the first keeps the field; the mapping file's choice beats both
    assert plan_columns(["Company ID", "Account ID"], Mapping(), "d.csv", "deals")[0].name == "company_id"
    chosen = plan_columns(["Company ID", "Account ID"], Mapping(columns={"Account ID": "company_id"}), "d.csv", "deals")
    assert (chosen[0].name, chosen[0].canonical, chosen[1].name) == ("company_id_2", False, "company_id")


def test_a_value_mapping_is_read_per_field(write):
    from icp_agent.ingest.mapping import Mapping

    path = write("m.toml", '[values.industry]\n"Financial Technology" = "Fintech"\n"Fin-Tech" = "Fintech"\n'
                           '"Fintech" = "Fintech"\n[values.technologies]\nSFDC = "Salesforce"\n')
    mapping = Mapping.load(path)
    assert mapping.values == {
        "industry": {"Financial Technology": "Fintech", "Fintech": "Fintech"},  # "Fin-Tech" is "Fintech" already
        "technologies": {"SFDC": "Salesforce"},
    }


@pytest.mark.parametrize("toml, message", [
    ('[values]\nindustry = "Fintech"\n', "[values.industry] must be a table of labels"),
    ('[values.industry]\n"Fin Tech" = 3\n', "the stored label must be non-empty text"),
    ('[values.industry]\n"Fin Tech" = " "\n', "the stored label must be non-empty text"),
    ('[values.industry]\n"Fin Tech" = "Fintech"\n"FinTech" = "Finance"\n', "are one label"),
    ('[values.industry]\n"Fin Tech" = "Fintech"\n"Payments" = "FinTech"\n', "one label spelled two ways"),
    ('[values.industry]\n"Payments" = "Fintech"\n"Fintech" = "Finance"\n', "is itself a stored label"),
    ('[value.industry]\n"Payments" = "Fintech"\n', "unknown section"),
])
def test_a_bad_value_mapping_is_a_clear_error(write, toml, message):
    from icp_agent.errors import UserError
    from icp_agent.ingest.mapping import Mapping

    with pytest.raises(UserError) as err:
        Mapping.load(write("m.toml", toml))
    assert message in str(err.value) and err.value.file == "m.toml"


def test_a_value_mapping_must_name_a_category_or_list_field_of_the_import(write, ws, cli):
    data = write("c.csv", "Record ID,Company name,Sector,Employees\n1,Acme,Financial Technology,10\n"
                          "2,Bolt,Fintech,20\n3,Crane,Retail,30\n")
    for toml, message in [
        ('[values.segment]\n"Financial Technology" = "Fintech"\n', "[values.segment] names a field no imported file"),
        ('[values.employees]\n"10" = "small"\n', "[values.employees] maps the labels of a band field"),
    ]:
        result = cli("import-data", "--customers", str(data), "--mapping", str(write("m.toml", toml)), expect=2)
        assert message in result.stderr and "Traceback" not in result.stderr
    assert "customers" not in cli.json("inspect-workspace")["current"]  # nothing half-done is stored


def test_a_value_mapping_reads_the_labels_of_a_yes_no_field(ws, write):
    """A yes/no column with ticks and the sheet's own words: "x" is yes on its own, [values.FIELD] maps the words."""
    from conftest import rows

    data = write(
        "accounts.csv",
        "Account,Domain,Renewed,Churned?\nAcme,acme.io,✔,X\nBolt,bolt.io,,no\nCrane,crane.io,✔,gone for good\n"
        "Dune,dune.io,☑,FALSE\n",
    )
    mapping = write("m.toml", '[values.churned]\n"Gone for good" = "yes"\n')
    report = toolkit.import_data(ws, customers=data, mapping_file=mapping).reports[0]
    churned = next(c for c in report.columns if c.field == "churned")
    assert churned.mapped_values == ["'Gone for good' -> 'yes': 1 row"] and churned.unparsed == 0
    stored = {r["company_name"]: (r["renewed"], r["churned"]) for r in rows(ws, "customers")}
    # Renewed holds only ticks and blanks: a blank is an unticked box (no); Churned? is yes/no with a mapped label
    assert stored == {"Acme": (True, True), "Bolt": (False, False), "Crane": (True, True), "Dune": (True, False)}


def test_the_workspaces_value_tables_sit_beneath_a_mappings_own():
    """Mapping.with_workspace_values: a stored line applies unless the mapping maps the same label (case, spaces and
    hyphens aside); the stored fields the mapping lacks come whole; the labels taken are named; the mapping is kept."""
    from icp_agent.ingest.mapping import Mapping

    own = Mapping(values={"industry": {"fin-tech": "Finance", "Shops": "Retail"}})
    stored = {"industry": {"Fin Tech": "Fintech", "Ads": "Agency"}, "technologies": {"SFDC": "Salesforce"}}
    merged = own.with_workspace_values(stored)
    assert merged.values == {
        "industry": {"Ads": "Agency", "fin-tech": "Finance", "Shops": "Retail"},
        "technologies": {"SFDC": "Salesforce"},
    }
    assert merged.inherited == {"industry": frozenset({"Ads"}), "technologies": frozenset({"SFDC"})}
    assert own.values == {"industry": {"fin-tech": "Finance", "Shops": "Retail"}} and own.inherited == {}
    assert own.with_workspace_values({}) is own


def test_a_later_import_without_a_value_table_takes_the_workspaces(ws, write):
    """A prospects file imported after the customers' [values.industry], without a mapping, stores the mapped
    labels, says where the table came from, and its key holds the tables applied: a changed table re-imports."""
    from conftest import rows

    customers = write("c.csv", "Record ID,Company name,Industry\n1,Acme,Agency\n2,Bolt,Advertising\n")
    toolkit.import_data(ws, customers=customers, mapping_file=write("m.toml", '[values.industry]\nAdvertising = "Agency"\n'))
    prospects = write("p.csv", "Company name,Industry\nCore,advertising\nDune,Retail\nEcho,ADVERTISING\n")
    report = toolkit.import_data(ws, prospects=prospects).reports[0]
    assert {r["company_name"]: r["industry"] for r in rows(ws, "prospects")} == {
        "Core": "Agency", "Dune": "Retail", "Echo": "Agency"
    }
    industry = next(c for c in report.columns if c.field == "industry")
    assert industry.mapped_values == [
        "'Advertising' -> 'Agency': 2 rows (the workspace's table: an earlier import's mapping file)"
    ]
    assert report.value_map == {}  # only a file's own lines are kept: a copy would outlive the line's removal
    assert not report.import_id.endswith(report.sha256[:12])  # the applied table is part of the snapshot's key
    # the customers' table changes: the same prospects file is imported again with it
    toolkit.import_data(ws, customers=customers, mapping_file=write("m2.toml", '[values.industry]\nAdvertising = "Media"\n'))
    again = toolkit.import_data(ws, prospects=prospects).reports[0]
    assert not again.already_imported and again.import_id != report.import_id
    assert {r["company_name"]: r["industry"] for r in rows(ws, "prospects")}["Core"] == "Media"
    # a mapping file's own line wins for the same label (case and spaces aside); the workspace's others still apply
    own = write("m3.toml", '[values.industry]\n" advertising " = "Ads"\nRetail = "Retail & Shops"\n')
    third = toolkit.import_data(ws, prospects=prospects, mapping_file=own).reports[0]
    assert {r["company_name"]: r["industry"] for r in rows(ws, "prospects")} == {
        "Core": "Ads", "Dune": "Retail & Shops", "Echo": "Ads"
    }
    assert third.value_map == {"industry": {" advertising ": "Ads", "Retail": "Retail & Shops"}}


def test_the_value_mapping_is_kept_with_each_snapshot_for_scoring(ws, write):
    """Each import report keeps the [values.FIELD] tables of its file's fields (value_map); score_prospects reads
    those of the current snapshots (stored_value_maps), the later import winning a label both map."""
    from conftest import rows

    from icp_agent.toolkit import stored_value_maps

    mapping = write(
        "m.toml", '[values.industry]\n"Fin Tech" = "Fintech"\nPayments = "Fintech"\n[values.technologies]\nSFDC = "Salesforce"\n'
    )
    companies = write("c.csv", "Record ID,Company name,Industry\n1,Acme,Fin Tech\n2,Bolt,Retail\n")
    deals = write("d.csv", "Deal ID,Record ID,Stage,Amount,Technologies\nD1,1,Closed Won,10,SFDC\n")
    reports = toolkit.import_data(ws, customers=companies, deals=deals, mapping_file=mapping).reports
    assert {r.kind: r.value_map for r in reports} == {
        "customers": {"industry": {"Fin Tech": "Fintech", "Payments": "Fintech"}},  # the file has no technologies
        "deals": {"technologies": {"SFDC": "Salesforce"}},
    }
    assert stored_value_maps(ws) == {
        "industry": {"Fin Tech": "Fintech", "Payments": "Fintech"},
        "technologies": {"SFDC": "Salesforce"},
    }
    later = write("m2.toml", '[values.industry]\n"Fin Tech" = "Financial Services"\n"Shops" = "Retail"\n')
    toolkit.import_data(ws, prospects=write("p.csv", "Company name,Industry\nCore,Shops\n"), mapping_file=later)
    assert stored_value_maps(ws)["industry"] == {"Fin Tech": "Financial Services", "Payments": "Fintech", "Shops": "Retail"}
    # a new customers snapshot without a mapping takes the other kinds' tables (prospects, deals), not the lines of
    # the customers snapshot it replaces, and keeps none as its own: a removed line does not come back
    c2 = toolkit.import_data(ws, customers=write("c2.csv", "Record ID,Company name,Industry\n3,Dune,Shops\n"))
    assert c2.reports[0].value_map == {}
    assert {r["company_name"]: r["industry"] for r in rows(ws, "customers")} == {"Dune": "Retail"}
    assert stored_value_maps(ws) == {
        "industry": {"Fin Tech": "Financial Services", "Shops": "Retail"},
        "technologies": {"SFDC": "Salesforce"},
    }
