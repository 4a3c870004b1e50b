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
