"""Unit tests of icp_agent.ingest.fields: header keys, the canonical field a header names in a file of each kind
(own prefixes, company and person prefixes, record-id lookups), attribute names, and the field table's shape."""

from __future__ import annotations

import pytest

from icp_agent.ingest.fields import (
    FIELD_BY_NAME,
    FIELDS,
    ROLES,
    attribute_name,
    canonical_field,
    fields_markdown,
    header_key,
    is_converted,
    is_secondary,
    kind_field,
    reference_field,
    strip_own_prefix,
    without_custom_marker,
)


def test_header_key():
    assert header_key(" # Employees ") == "numberofemployees"
    assert header_key("Number of Employees") == header_key("NumberOfEmployees") == header_key("number_of_employees")
    assert header_key("R&D") == "randd"


@pytest.mark.parametrize(
    "header, kind, field",
    [
        ("Industry", None, "industry"),
        ("# Employees", None, "employees"),
        ("Record ID", "deals", "deal_id"),  # the kind's own spelling
        ("Record ID", "customers", "company_id"),
        ("Name", "contacts", "contact_name"),
        ("Name", "customers", "company_name"),
        ("Deal - Value", "deals", "amount"),  # the file's own prefix stripped
        ("Account: Industry", "deals", "industry"),  # a company prefix on a deal
        ("Company - Country", "contacts", "country"),
        ("Person - Job title", "deals", "job_title"),  # a person prefix on a deal
        ("Account Name.id", "deals", "company_id"),  # Zoho's lookup id
        ("AccountId", "contacts", "company_id"),
        ("Contact Name.id", "deals", "contact_id"),
        ("status", "tickets", "ticket_status"),
        ("customer", "subscriptions", "company_id"),
        ("Favourite colour", None, None),
    ],
)
def test_canonical_field(header, kind, field):
    assert canonical_field(header, kind) == field


def test_a_parent_account_id_is_never_the_rows_company():
    assert reference_field("Parent Account ID", "deals") is None
    assert canonical_field("Parent Account.id", "customers") != "company_id"


def test_reference_field_only_outside_companies_files():
    assert reference_field("Account Name.id", "deals") == "company_id"
    assert reference_field("Account Name.id", "customers") is None
    assert reference_field("Contact ID", "contacts") is None  # a contacts file's own id is not a lookup
    assert reference_field("Contact ID", "deals") == "contact_id"
    assert reference_field("x", None) is None


def test_strip_own_prefix_and_secondary():
    assert strip_own_prefix("Deal - Status", "deals") == "Status"
    assert strip_own_prefix("Deal Stage", "deals") == "Deal Stage"  # no separator: matched whole
    assert strip_own_prefix("Deal - Status", "contacts") == "Deal - Status"
    assert is_secondary("Deal - Status", "deals") and is_secondary("Won Time")
    assert not is_secondary("Close Time")


def test_kind_field():
    assert kind_field("priority", "tickets") == "ticket_priority"
    assert kind_field("priority", "deals") is None
    assert kind_field("x", "no-such-kind") is None


def test_attribute_name():
    assert attribute_name(" Favourite Colour (main) ") == "favourite_colour_main"
    assert attribute_name("%%%") == "column"


def test_field_table():
    assert len(FIELD_BY_NAME) == len(FIELDS)  # names are unique
    assert all(f.role in ROLES for f in FIELDS)
    assert FIELD_BY_NAME["company_id"].role == "id" and FIELD_BY_NAME["industry"].role == "fit"


def test_fields_markdown_lists_every_field():
    text = fields_markdown()
    assert text.startswith("# Canonical fields\n")
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert len(rows) == len(FIELDS)
    assert f"| `industry` | {FIELD_BY_NAME['industry'].type} | fit |" in text


@pytest.mark.parametrize("header,kind,field", [
    ("cf_arr", "customers", "arr"),  # Freshsales' custom-field prefix
    ("custom_churn_date", "customers", "churn_date"),
    ("NPS_Score__c", "customers", "nps"),  # Salesforce API name
    ("acme__Customer_Since__c", "customers", "customer_since"),  # a managed package's namespace too
    ("cf_buying_role", "contacts", "buying_role"),
    ("Accounts", "contacts", "company_name"),  # plural of a known header
    ("Companies", "deals", "company_name"),
    ("Industries", "customers", "industry"),
    ("Emails", "contacts", "email"),
    ("Industry type", "customers", "industry"),  # a trailing "type"
    ("Created At", "deals", "deal_created_date"),
    ("Created At", "customers", "record_created"),
    ("Updated At", "customers", "record_modified"),
    ("Amount (converted)", "deals", "amount"),
    ("Amount in company currency", "deals", "amount"),
    ("cf_deal_value_in_base_currency", "deals", "amount"),
    ("custom.Employees", "customers", "employees"),  # Close's CSV export
    ("custom.Churn Date", "customers", "churn_date"),
    ("Custom: Customer Since", "customers", "customer_since"),
    ("CF.Industry", "customers", "industry"),  # Zoho Books
    ("custom_attributes.nps", "customers", "nps"),  # an API export's flattened custom-attribute map
    ("properties.annualrevenue", "customers", "annual_revenue"),
    ("metadata[plan]", "subscriptions", "plan"),  # Stripe
    ("industry (metadata)", "customers", "industry"),
    ("Employees__pc", "customers", "employees"),  # a Salesforce person account
    ("Account__r.Industry__c", "deals", "industry"),  # a lookup's record by its relationship
    ("Deal - cf_arr", "deals", "annualized_amount"),  # a marker behind the file's own entity prefix (a deal's ARR is its ACV)
    ("Organization - custom.Country", "deals", "country"),  # behind another entity's prefix
    ("Person - custom.Job Title", "deals", "job_title"),
])
def test_custom_field_markers_and_header_variants(header, kind, field):
    assert canonical_field(header, kind) == field


@pytest.mark.parametrize("header,kind", [
    ("Status", "events"), ("Business", "customers"), ("Parent account", "customers"), ("cf_products", "deals"),
    ("Process", "customers"), ("Apparatus", "customers"), ("Customer type", "subscriptions"),
    ("Events", "customers"), ("Customers", "subscriptions"), ("Subscriptions", "customers"), ("Accounts", "customers"),
])
def test_variants_never_invent_a_field(header, kind):
    assert canonical_field(header, kind) is None


@pytest.mark.parametrize("header,unmarked", [
    ("custom.cf_v6S011I6Mq", "v6S011I6Mq"),  # Close's API names a custom field by its id: no meaning left
    ("Customer Since", "Customer Since"), ("CFO", "CFO"), ("Properties", "Properties"), ("Metadata", "Metadata"),
    ("Account - Region", "Account - Region"), ("custom", "custom"), ("Deal - custom.Lost Reason", "Deal - Lost Reason"),
    ("Properties Owned", "Properties Owned"), ("Metadata Source", "Metadata Source"), ("Custom Fields", "Fields"),
    ("custom_fields.region", "region"), ("Custom Fields: Region", "Region"), ("properties[employees]", "employees"),
])
def test_without_custom_marker_strips_only_markers(header, unmarked):
    assert without_custom_marker(header) == unmarked


def test_a_marker_never_decides_the_meaning():
    assert canonical_field("custom.Favourite Colour", "customers") is None
    assert canonical_field("custom.Favourite Colour", "customers") == canonical_field("Favourite Colour", "customers")
    assert canonical_field("cf_customer", "subscriptions") == canonical_field("customer", "subscriptions")


def test_is_converted():
    assert is_converted("Deal value in base currency") and is_converted("Amount (converted)")
    assert is_converted("amount_in_home_currency") and is_converted("Value in default currency")
    assert not is_converted("Deal value") and not is_converted("Currency") and not is_converted("Converted")


@pytest.mark.parametrize("header,kind,field", [
    # an export's hidden record id names its entity: the row's own id, or another record's on a deal
    ("(Do Not Modify) Opportunity", "deals", "deal_id"),
    ("(Do Not Modify) Account", "customers", "company_id"),
    ("(Do Not Modify) Contact", "contacts", "contact_id"),
    ("(Do Not Modify) Account", "deals", "company_id"),
    ("[Do not modify] Case", "tickets", "ticket_id"),
    ("(Do Not Modify) Modified On", "customers", "record_modified"),  # other furniture: what follows the mark
    ("(Do Not Modify) Row Checksum", "deals", "row_checksum"),
    # a location under an address's name, numbered or named
    ("Address 1: Country/Region", "customers", "country"),
    ("Address 1: City", "contacts", "city"),
    ("Address 2: State/Province", "prospects", "region"),
    ("Billing Address - Country", "customers", "country"),
    ("Mailing Address City", "prospects", "city"),
    ("Organization - Address 1: City", "customers", "city"),
    ("Email Address", "contacts", "email"),  # a synonym of its own, not an address part
    # a lookup shown by name, an opportunity's name, estimate and actual, a sales stage, a rep's rating
    ("Potential Customer", "deals", "company_name"),
    ("Parent Customer", "contacts", "company_name"),
    ("Contact", "deals", "contact_name"),
    ("Topic", "deals", "deal_name"),
    ("Est. Revenue", "deals", "amount"),
    ("Actual Revenue", "deals", "amount"),
    ("Actual Close Date", "deals", "close_date"),
    ("Est. Close Date", "deals", "close_date"),
    ("Sales Stage", None, "deal_stage"),
    ("Rating", "deals", "deal_rating"),
    # the account's relation to us is its lifecycle; its Status (Active/Inactive) the record's state
    ("Relationship Type", "customers", "lifecycle_stage"),
    ("Status", "customers", "record_status"),
    ("Status", "prospects", "record_status"),
    ("Status Reason", "deals", "record_status"),
    ("Status", "deals", "deal_stage"),
    ("State/Province", "customers", "region"),
])
def test_dynamics_style_headers(header, kind, field):
    assert canonical_field(header, kind) == field


@pytest.mark.parametrize("header,kind", [
    ("Address 1: Street 1", "customers"), ("Address 1: ZIP/Postal Code", "customers"), ("Topic", "customers"),
    ("(Do Not Modify) Something Else", "customers"), ("Rating", "customers"), ("Potential Customer", "customers"),
])
def test_address_parts_and_deal_headers_name_nothing_else(header, kind):
    assert canonical_field(header, kind) is None


def test_furniture_records_and_secondary_addresses():
    from icp_agent.ingest.fields import is_export_furniture, is_secondary, marked_record

    assert marked_record("(Do Not Modify) Opportunity") == ("deal_id", "deals")
    assert marked_record("(Do Not Modify) Account") == ("company_id", "companies")
    assert marked_record("(Do Not Modify) Row Checksum") is None and marked_record("Opportunity") is None
    assert is_export_furniture("(Do Not Modify) Row Checksum") and not is_export_furniture("Row Checksum")
    assert is_secondary("Address 2: City") and not is_secondary("Address 1: City") and not is_secondary("City")
    assert is_secondary("Est. Close Date") and not is_secondary("Actual Close Date")


@pytest.mark.parametrize(
    "header,kind,field",
    [
        ("value_period", "deals", "amount_period"),  # Close
        ("Billing Frequency", "deals", "amount_period"),
        ("Recurring Period", "deals", "amount_period"),
        ("Term", "deals", "amount_period"),
        ("pipeline_name", "deals", "deal_pipeline"),  # Close
        ("Deal - Pipeline", "deals", "deal_pipeline"),  # Pipedrive
        ("Recurring revenue deal type", "deals", "deal_type"),  # HubSpot
        ("annualized_value", "deals", "annualized_amount"),  # Close
        ("Annual contract value", "deals", "annualized_amount"),  # HubSpot
        ("Annual recurring revenue", "deals", "annualized_amount"),  # HubSpot's deal property
        ("MRR", "deals", "deal_mrr"),
        ("MRR", "customers", "mrr"),  # an account's MRR stays the account's
        ("Renewal?", "deals", "renewal_flag"),
    ],
)
def test_deal_period_kind_and_annual_value_headers(header, kind, field):
    assert canonical_field(header, kind) == field


@pytest.mark.parametrize("header,kind,field", [
    ("Canceled At (UTC)", "subscriptions", "churn_date"),  # Stripe's dashboard export
    ("Ended At (UTC)", "subscriptions", "subscription_end"),
    ("Current Period Start (UTC)", "subscriptions", "period_start"),
    ("Start (UTC)", "subscriptions", "subscription_start"),
    ("Cancelled At (GMT)", "subscriptions", "churn_date"),
    ("Expires At [UTC]", "subscriptions", "subscription_end"),
    ("Activated At (America/New_York)", "subscriptions", "subscription_start"),
    ("Churn Date (local time)", "customers", "churn_date"),
    ("Customer Since (UTC+01:00)", "customers", "customer_since"),
    ("Cancel Date (CET)", "customers", "churn_date"),
    ("cancelled_at_utc", "customers", "churn_date"),
    ("Customer Since (Europe/Berlin) (metadata)", "customers", "customer_since"),
])
def test_a_time_zone_note_names_the_date_field(header, kind, field):
    assert canonical_field(header, kind) == field


@pytest.mark.parametrize("header", ["Amount (UTC)", "Churn Date (Cost)", "Industry (GMT)", "Customer Since (notes)"])
def test_a_time_zone_note_names_only_date_fields(header):
    assert canonical_field(header, "customers") is None


@pytest.mark.parametrize("headers,fields", [
    # Stripe: Amount per unit x Quantity per Interval x Interval Count
    (["Amount", "Quantity", "Interval", "Interval Count"],
     ["amount", "subscription_quantity", "amount_period", "interval_count"]),
    # Chargebee: Billing Period is the count of Billing Period Units
    (["Plan Unit Price", "Plan Quantity", "Billing Period", "Billing Period Unit"],
     ["amount", "subscription_quantity", "interval_count", "amount_period"]),
    # Recurly and Paddle
    (["Unit Amount", "Quantity", "Plan Interval Length", "Plan Interval Unit"],
     ["amount", "subscription_quantity", "interval_count", "amount_period"]),
    (["Unit Price", "Quantity", "Billing Cycle Frequency", "Billing Cycle Interval"],
     ["amount", "subscription_quantity", "interval_count", "amount_period"]),
])
def test_a_subscriptions_price_quantity_and_interval(headers, fields):
    assert [canonical_field(h, "subscriptions") for h in headers] == fields
    # elsewhere a Quantity or Billing Period keeps its kind-neutral meaning
    assert canonical_field("Quantity", "deals") is None and canonical_field("Billing Period", "deals") == "amount_period"


@pytest.mark.parametrize("header,kind,field", [
    ("Unit Amount (cents)", "subscriptions", "amount"), ("unit_amount_cents", "subscriptions", "amount"),
    ("Amount in cents", "deals", "amount"), ("Deal value in minor units", "deals", "amount"),
    ("ARR_cents", "customers", "arr"), ("Employees (cents)", "customers", None), ("Cents", "deals", None),
])
def test_a_cents_note_names_only_money_fields(header, kind, field):
    assert canonical_field(header, kind) == field


@pytest.mark.parametrize(
    "header, kind, field",
    [
        # usage aggregated per account and period (Mixpanel, PostHog, Segment reports): the period, the counts
        ("Day", "events", "event_time"),
        ("Week Starting", "events", "event_time"),
        ("DAU", "events", "active_users"),
        ("Monthly Active Users", "events", "active_users"),
        ("Total Events", "events", "event_count"),
        ("Session Count", "events", "session_count"),
        ("Time Spent (min)", "events", "usage_minutes"),
        ("groupId", "events", "company_id"),  # Segment's group call names the account
        ("$group_0", "events", "company_id"),  # PostHog's first group type
        ("User Email", "events", "domain"),  # an event keyed by its user: the email's domain is the account
        ("Email", "contacts", "email"),
        # outside an events file these say nothing: an account's "Events" or "Day" is no usage period or count
        ("Events", "customers", None),
        ("Day", None, None),
        ("DAU", "customers", None),
    ],
)
def test_usage_aggregate_headers_only_in_an_events_file(header, kind, field):
    assert canonical_field(header, kind) == field
