"""Unit tests of icp_agent.ingest.columns: detect_kind from headers, and plan_columns' stored names, the mapping
file's overrides, and the tie-breaks when two columns claim one field."""

from __future__ import annotations

import pytest

from icp_agent.errors import UserError
from icp_agent.ingest.columns import detect_kind, plan_columns
from icp_agent.ingest.mapping import Mapping


@pytest.mark.parametrize(
    "headers, kind",
    [
        (["deal_id", "company_id", "stage", "amount"], "deals"),
        (["Deal Name", "Deal Stage", "Amount"], "deals"),
        (["contact_id", "email", "job title", "company_id"], "contacts"),
        (["company_id", "company_name", "industry", "churn_date", "arr"], "customers"),
        (["company_name", "industry", "employees", "website"], "prospects"),
        (["subscription_id", "company_id", "plan", "mrr", "started_at"], "subscriptions"),
        (["ticket_id", "company_id", "created_at", "priority"], "tickets"),
    ],
)
def test_detect_kind(headers, kind):
    got, reason = detect_kind(headers)
    assert got == kind and reason


def test_detect_kind_reason_names_the_signals():
    assert detect_kind(["email", "job title"])[1] == "has job_title (people, not companies)"


def test_detect_kind_with_a_mapping_override():
    mapping = Mapping(columns={"Phase": "deal_stage"})
    assert detect_kind(["Account", "Phase"], mapping, "x.csv")[0] == "deals"
    assert detect_kind(["Account", "Phase"])[0] == "prospects"


def _names(planned):
    return [(c.header, c.name, c.canonical) for c in planned]


def test_plan_columns_canonical_and_attribute_names():
    planned = plan_columns(["Company Name", "Industry", "Favourite Colour"], Mapping(), "c.csv", "customers")
    assert _names(planned) == [
        ("Company Name", "company_name", True),
        ("Industry", "industry", True),
        ("Favourite Colour", "favourite_colour", False),
    ]
    assert planned[1].type != "auto" and planned[1].role == "fit"
    assert (planned[2].type, planned[2].role) == ("auto", "auto")


def test_a_custom_fields_marker_is_dropped_from_its_name():
    headers = ["id", "custom.Employees", "custom.Onboarding Owner", "Onboarding Owner", "ARR__c", "custom.Lead Notes"]
    planned = plan_columns(headers, Mapping(), "leads.csv", "customers")
    assert [(c.name, c.canonical) for c in planned] == [
        ("company_id", True),
        ("employees", True),
        ("custom_onboarding_owner", False),  # a plain column has the name without the marker
        ("onboarding_owner", False),
        ("arr", True),
        ("lead_notes", False),  # an unknown custom field is named without its marker
    ]
    assert all(c.note is None for c in planned)


def test_plan_columns_mapping_wins_and_ignore():
    mapping = Mapping(columns={"Sector": "industry", "Notes": "ignore"}, types={"industry": "category"})
    planned = plan_columns(["Sector", "Notes"], mapping, "c.csv", "customers")
    assert _names(planned) == [("Sector", "industry", True), ("Notes", "notes", False)]
    assert planned[0].type == "category" and planned[1].role == "ignore"


def test_two_columns_for_one_field_keep_one_and_note_the_other():
    planned = plan_columns(
        ["Industry", "industry_2"], Mapping(columns={"industry_2": "industry"}), "c.csv", "customers"
    )
    by_header = {c.header: c for c in planned}
    assert by_header["industry_2"].name == "industry"  # the mapping file's choice wins
    assert by_header["Industry"].name != "industry" and not by_header["Industry"].canonical
    assert "taken by column 'industry_2'" in by_header["Industry"].note


def test_the_primary_column_wins():
    planned = plan_columns(["Associated Company IDs", "Associated Company IDs (Primary)"], Mapping(), "d.csv", "deals")
    winner = [c.header for c in planned if c.canonical]
    assert winner == ["Associated Company IDs (Primary)"]


def test_value_fit_decides_which_column_is_the_deal_stage():
    headers = ["Deal - Stage", "Deal - Status"]
    first = plan_columns(headers, Mapping(), "d.csv", "deals")
    fit = {"Deal - Stage": 0.0, "Deal - Status": 1.0}
    second = plan_columns(headers, Mapping(), "d.csv", "deals", value_fit=lambda h, f: fit[h])
    assert [c.header for c in second if c.name == "deal_stage"] == ["Deal - Status"]
    loser = next(c for c in second if c.header == "Deal - Stage")
    assert "read as won or lost" in loser.note and loser.name not in ("deal_stage",)
    assert {c.name for c in first} != set() and len({c.name for c in second}) == 2  # names stay unique


def test_a_file_section_naming_a_missing_column_is_an_error():
    mapping = Mapping(files={"c.csv": {"Secteur": "industry"}})
    with pytest.raises(UserError, match=r"names column\(s\) \['Secteur'\]") as err:
        plan_columns(["Industry"], mapping, "c.csv", "customers")
    assert err.value.column == "Secteur" and "Industry" in err.value.hint


def test_stored_names_are_unique():
    planned = plan_columns(["Colour", "colour ", "COLOUR"], Mapping(), "c.csv", "customers")
    names = [c.name for c in planned]
    assert len(set(names)) == 3


@pytest.mark.parametrize("headers, file_name, kind", [
    # the hidden record id names the row's entity, whatever else the headers say
    (["(Do Not Modify) Opportunity", "(Do Not Modify) Row Checksum", "Topic", "Account", "Est. Revenue"], None,
     "deals"),
    (["(Do Not Modify) Contact", "Full Name", "Company Name", "Email"], None, "contacts"),
    (["(Do Not Modify) Account", "Account Name", "Relationship Type", "Industry"], None, "customers"),
    # a marked account stays a company whatever the file is called
    (["(Do Not Modify) Account", "Account Name", "Industry"], "All Contacts.xlsx", "prospects"),
    # headers that tell nothing: the file name decides
    (["Topic", "Account", "Est. Revenue"], "All Opportunities 11-27-2026 4-42-07 PM.xlsx", "deals"),
    (["Full Name", "Account", "Email"], "My Active Contacts 11-27-2026 4-42-07 PM.xlsx", "contacts"),
    (["Name", "Industry", "Website"], "customer_list.csv", "customers"),
    (["Name", "Industry", "Website"], "My Active Accounts 11-27-2026 4-42-07 PM.xlsx", "prospects"),
    (["Name", "Industry", "Website"], "customers_and_prospects.csv", "prospects"),  # two kinds named: neither
    (["Deal Stage", "Amount"], "contacts.csv", "deals"),  # a header signal beats the name
])
def test_detect_kind_from_record_ids_and_file_names(headers, file_name, kind):
    got, reason = detect_kind(headers, file_name=file_name)
    assert got == kind and reason


def test_dynamics_ties_and_furniture():
    headers = ["(Do Not Modify) Account", "(Do Not Modify) Row Checksum", "(Do Not Modify) Sync Token",
               "Account Name", "Address 2: City", "Address 1: City", "Status", "Status Reason"]
    planned = {c.header: c for c in plan_columns(headers, Mapping(), "a.xlsx", "customers")}
    assert planned["Address 1: City"].name == "city" and planned["Address 2: City"].name == "address_2_city"
    assert planned["Status"].name == "record_status" and planned["Status"].role == "post_sale"
    assert planned["Status Reason"].role == "post_sale"  # a second status column is still no trait
    assert planned["(Do Not Modify) Sync Token"].role == "ignore"  # unknown furniture: never a trait
    assert planned["(Do Not Modify) Row Checksum"].role == "ignore"
    deal_headers = ["(Do Not Modify) Opportunity", "Est. Close Date", "Actual Close Date", "Actual Revenue",
                    "Est. Revenue", "Status", "Rating"]
    deals = {c.header: c for c in plan_columns(deal_headers, Mapping(), "o.xlsx", "deals")}
    assert deals["Actual Close Date"].name == "close_date" and deals["Est. Close Date"].role == "outcome"
    assert deals["Est. Revenue"].name == "amount" and deals["Actual Revenue"].role == "outcome"
    assert deals["Rating"].role == "post_sale" and deals["Status"].name == "deal_stage"


@pytest.mark.parametrize("kind, text, loaded", [
    ("customers", "company_id,company_name,industry\n1,Acme,Software\n2,Beta,Retail\n", False),
    ("deals", "deal_id,company_id,Deal - Stage,Deal - Status,amount\nd1,1,Proposal,won,100\nd2,2,Demo,lost,50\n", True),
])
def test_value_fit_loads_the_health_phase_only_for_two_stage_columns(tmp_path, kind, text, loaded):
    # value_fit reads deal stages with health_score.stage_class when two columns claim the stage (Pipedrive's
    # "Deal - Stage" and "Deal - Status"): an import without such a tie never loads the health phase
    import os
    import subprocess
    import sys
    from pathlib import Path

    import icp_agent

    path = tmp_path / f"{kind}.csv"
    path.write_text(text, encoding="utf-8")
    code = ("import sys\n"
            "from icp_agent.ingest.importer import import_file\n"
            "from icp_agent.workspace import Workspace\n"
            f"import_file(Workspace({str(tmp_path / 'w.duckdb')!r}), {str(path)!r}, {kind!r})\n"
            "print('icp_agent.health.health_score' in sys.modules)\n")
    env = {**os.environ, "PYTHONPATH": str(Path(icp_agent.__file__).parent.parent)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(loaded)]


@pytest.mark.parametrize(
    "headers, reason",
    [
        # Mixpanel / Segment / PostHog raw events: a row per event, the account as a group id
        (["event", "timestamp", "distinct_id", "$group_0"], "a row per event (event name and time)"),
        (["event", "timestamp", "user_id", "group_id"], "a row per event (event name and time)"),
        # a daily report per account: the first count named, with the period's header
        (
            ["Day", "Account ID", "Sessions", "DAU"],
            "usage aggregated per account and period (session_count, active_users per Day)",
        ),
        (["Organization", "Week Of", "Minutes"], "usage aggregated per account and period (usage_minutes per Week Of)"),
        # an event segmentation export: events counted per name, account and period
        (
            ["Event", "Date", "Account ID", "Totals"],
            "events counted per name and period (event_name, event_count per Date)",
        ),
    ],
)
def test_detect_kind_usage_exports_are_events(headers, reason):
    assert detect_kind(headers) == ("events", reason)


def test_a_usage_count_without_a_period_or_an_account_is_no_events_file():
    assert detect_kind(["Company", "Industry", "Week", "Sessions"])[0] == "prospects"  # firmographics: accounts
    assert detect_kind(["Week", "Sessions", "DAU"])[0] == "prospects"  # no account to roll up into


def test_a_created_date_beside_a_count_is_no_usage_period():
    # an account list with its creation date and a user count is companies, not usage per period
    assert detect_kind(["Company", "Created", "Users"])[0] == "prospects"
    assert detect_kind(["Account ID", "Created At", "Sessions"])[0] == "prospects"
    assert detect_kind(["Account ID", "Month", "Sessions"])[0] == "events"
