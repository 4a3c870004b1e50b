"""Canonical fields: what a CRM column means, whatever the export called it.

Every field has a type (how its values are normalised), a default role (how the
analysis may use it) and the header spellings HubSpot, Salesforce, Apollo and plain
snake_case exports use for it. Headers are compared after `header_key`, so case,
spaces and punctuation never matter ("Number of Employees" = "NumberOfEmployees" =
"number_of_employees"). The table is rendered into docs/fields.md by `icp-agent fields --markdown`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

FieldType = Literal["text", "category", "number", "money", "band", "percent", "bool", "date", "list"]
Role = Literal["id", "fit", "outcome", "post_sale", "ignore"]
ROLES: tuple[Role, ...] = ("id", "fit", "outcome", "post_sale", "ignore")


@dataclass(frozen=True)
class Field:
    """A canonical field: name, type, default role, description and the header synonyms recognised as it."""

    name: str
    type: FieldType
    role: Role
    description: str
    synonyms: tuple[str, ...] = ()


def header_key(header: str) -> str:
    """Case- and punctuation-insensitive form of a header ("# Employees" -> "employees")."""
    key = header.strip().lower().replace("&", "and").replace("#", "number of ")
    return re.sub(r"[^a-z0-9]+", "", key)


FIELDS: tuple[Field, ...] = (
    # identity and linking
    Field(
        "company_id",
        "text",
        "id",
        "the company's record id in the CRM",
        (
            "Record ID",
            "Company ID",
            "Account ID",
            "AccountId",
            "Id",
            "company_id",
            "hubspot company id",
            "Salesforce Account ID",
            "Account Record ID",
            "Associated Company ID",
            "Associated Company IDs",
            "Associated Company IDs (Primary)",
            "Primary Associated Company ID",
            "Organization ID",
            "Customer ID",
            "customer_oid",
        ),
    ),
    Field(
        "company_name",
        "text",
        "id",
        "the company's name",
        (
            "Company name",
            "Company",
            "Name",
            "Account Name",
            "Organization Name",
            "Company Name for Emails",
            "Associated Company",
            "account",
            "Customer Name",
            "Organization",
            "Organisation",
        ),
    ),
    Field(
        "domain",
        "text",
        "id",
        "the company's web domain, lower-cased without scheme or www",
        (
            "Company Domain Name",
            "Domain",
            "Website",
            "Website URL",
            "Company Website",
            "Company Domain",
            "Primary Domain",
            "url",
        ),
    ),
    Field(
        "deal_id",
        "text",
        "id",
        "the deal/opportunity id",
        ("Deal ID", "Opportunity ID", "OpportunityId", "Opportunity Record ID", "deal_record_id", "opportunity_id"),
    ),
    Field("deal_name", "text", "ignore", "the deal's name", ("Deal Name", "Opportunity Name")),
    Field("contact_id", "text", "id", "the contact's record id", ("Contact ID", "Person ID", "Lead ID")),
    Field(
        "contact_name",
        "text",
        "ignore",
        "a contact's full name",
        ("Full Name", "Contact Name", "Person Name", "Contact Person", "Contact person name"),
    ),
    # firmographic / technographic fit fields
    Field(
        "industry",
        "category",
        "fit",
        "industry, enum spellings unified",
        ("Industry", "Account Industry", "Company Industry", "Sector", "Vertical", "business_segment"),
    ),
    Field(
        "employees",
        "band",
        "fit",
        "employee count; a range such as 51-200 is kept with its bounds",
        (
            "Number of Employees",
            "NumberOfEmployees",
            "Employees",
            "Employee Count",
            "Headcount",
            "Account Employees",
            "Company Size",
            "Employee Range",
            "Estimated Num Employees",
            "Size",
            "num_employees",
            "company_employees",
        ),
    ),
    Field(
        "annual_revenue",
        "money",
        "fit",
        "the company's annual revenue (a firmographic, not what it pays us)",
        (
            "Annual Revenue",
            "AnnualRevenue",
            "Company Revenue",
            "Revenue",
            "Account Annual Revenue",
            "Estimated Annual Revenue",
        ),
    ),
    Field(
        "country",
        "category",
        "fit",
        "country",
        (
            "Country/Region",
            "Country",
            "BillingCountry",
            "Billing Country",
            "Company Country",
            "Account Country",
            "HQ Country",
            "office_location",
            "Address - Country",
            "Address Country",
            "Country of address",
        ),
    ),
    Field(
        "region",
        "category",
        "fit",
        "state or region",
        (
            "State/Region",
            "State",
            "BillingState",
            "Billing State/Province",
            "State/Province",
            "State or Province",
            "Province",
            "Region",
            "Company State",
        ),
    ),
    Field("city", "category", "fit", "city", ("City", "BillingCity", "Billing City", "Company City")),
    Field(
        "technologies",
        "list",
        "fit",
        "technologies used, a list",
        ("Technologies", "Tech Stack", "Technologies Used", "Technology", "Installed Technologies"),
    ),
    Field(
        "founded_year",
        "number",
        "fit",
        "year the company was founded",
        ("Founded Year", "Year Founded", "Founded", "year_established"),
    ),
    Field(
        "business_type",
        "category",
        "fit",
        "kind of business (reseller, manufacturer, ...)",
        ("Business Type", "Company Type", "Account Type"),
    ),
    Field(
        "lead_source",
        "category",
        "fit",
        "how the company came to us (observable before the sale)",
        ("Lead Source", "LeadSource", "Original Source", "Source", "origin", "Source Channel", "Lead Channel"),
    ),
    # deal fields
    Field(
        "deal_stage",
        "category",
        "outcome",
        "deal stage (won / lost / open)",
        ("Deal Stage", "Stage", "StageName", "Opportunity Stage", "Deal Status", "Sales Stage"),
    ),
    Field(
        "amount",
        "money",
        "outcome",
        "deal amount",
        ("Amount", "Deal Amount", "Opportunity Amount", "close_value", "Deal Value"),
    ),
    Field(
        "close_date",
        "date",
        "outcome",
        "date the deal closed",
        (
            "Close Date",
            "CloseDate",
            "Closing Date",
            "won_date",
            "Closed Date",
            "Date Closed",
            "Close Time",
            "Closed Time",
            "Won Time",
            "Won Date",
            "Date Won",
            "Actual Close Date",
            "Est. Close Date",
            "Estimated Close Date",
            "Expected Close Date",
        ),
    ),
    Field(
        "deal_created_date",
        "date",
        "outcome",
        "date the deal was created",
        (
            "Created Date",
            "CreatedDate",
            "Create Date",
            "Deal Create Date",
            "engage_date",
            "Deal Created",
            "Deal Created Date",
            "Deal Creation Date",
        ),
    ),
    Field(
        "deal_probability",
        "number",
        "post_sale",
        "the rep's win probability of a deal, in percent points as exported (known only during the sale)",
        ("Probability (%)", "Probability", "Deal Probability", "Win Probability"),
    ),
    Field(
        "expected_revenue",
        "money",
        "post_sale",
        "a deal's amount weighted by its probability (known only during the sale)",
        ("Expected Revenue", "ExpectedRevenue", "Weighted Amount", "Weighted Revenue"),
    ),
    Field(
        "deal_rating",
        "category",
        "post_sale",
        "the rep's rating of a deal (hot, warm, cold: known only during the sale)",
        ("Deal Rating", "Opportunity Rating"),
    ),
    Field("next_step", "text", "ignore", "a deal's next step, free text", ("Next Step", "NextStep", "Next Steps")),
    Field(
        "exchange_rate",
        "number",
        "ignore",
        "the exchange rate a record's currency had to the CRM's home currency (bookkeeping, never a trait)",
        ("Exchange Rate", "FX Rate", "Currency Rate", "Conversion Rate"),
    ),
    Field(
        "record_created",
        "date",
        "ignore",
        "when the CRM record was created (a deal's creation is deal_created_date)",
        ("Created Time", "Created On", "Record Created", "Created At"),
    ),
    Field(
        "record_modified",
        "date",
        "ignore",
        "when the CRM record was last modified (bookkeeping)",
        (
            "Modified Time",
            "Modified On",
            "Modified Date",
            "Last Modified Time",
            "Last Modified Date",
            "LastModifiedDate",
            "Updated At",
            "Last Updated",
        ),
    ),
    Field(
        "record_status",
        "category",
        "post_sale",
        "whether the CRM record is active or deactivated (Dynamics' Status and Status Reason): known after the sale",
        ("Record Status", "Record State", "Status Reason", "Active Status"),
    ),
    Field(
        "row_checksum",
        "text",
        "ignore",
        "an export's checksum or version stamp of a row, for re-import (bookkeeping)",
        ("Row Checksum", "Checksum", "Row Version", "Version Number"),
    ),
    Field(
        "deal_type",
        "category",
        "ignore",
        "new business / renewal / upsell: renewals and expansions are kept out of win rates (health/deal_kinds.py)",
        ("Type", "Deal Type", "Opportunity Type", "Recurring revenue deal type"),
    ),
    # a deal's amount per period, and what tells the period or the deal's kind (health/deal_kinds.py reads them)
    Field(
        "deal_pipeline",
        "category",
        "ignore",
        "the deal's pipeline: a 'Renewals & Expansion' pipeline holds renewals, kept out of win rates",
        ("Pipeline", "Pipeline Name", "Deal Pipeline", "Sales Pipeline", "Opportunity Pipeline"),
    ),
    Field(
        "renewal_flag",
        "bool",
        "ignore",
        "yes when a deal is a renewal or expansion (kept out of win rates)",
        ("Renewal?", "Is Renewal", "Renewal Flag", "Is Expansion", "Is Upsell"),
    ),
    Field(
        "amount_period",
        "category",
        "ignore",
        "the period a deal's amount is per (monthly, quarterly, annual, one-time): ACV annualises it",
        (
            "Value Period",
            "Amount Period",
            "Billing Frequency",
            "Billing Period",
            "Billing Cycle",
            "Recurring Period",
            "Recurring Revenue Period",
            "Payment Frequency",
            "Revenue Period",
            "Billing Interval",
            "Payment Interval",
            "Frequency",
            "Recurrence",
            "Term",
        ),
    ),
    Field(
        "annualized_amount",
        "money",
        "outcome",
        "a deal's amount per year (ACV), as the CRM annualised it",
        (
            "Annualized Value",
            "Annualised Value",
            "Annualized Amount",
            "Annualised Amount",
            "Annual Contract Value",
            "ACV",
            "Annualized Revenue",
        ),
    ),
    Field(
        "deal_mrr",
        "money",
        "outcome",
        "a deal's monthly recurring revenue (its ACV is 12 x it when no period or annualised amount says more)",
        ("Deal MRR", "Opportunity MRR"),
    ),
    # customer lifecycle and health
    Field(
        "lifecycle_stage",
        "category",
        "post_sale",
        "CRM lifecycle stage: the account's relation to us (customer, prospect, partner, ...)",
        (
            "Lifecycle Stage",
            "Lifecycle",
            "Customer Status",
            "Account Status",
            "Customer Stage",
            "Relationship Type",
            "Relationship Status",
        ),
    ),
    Field(
        "customer_since",
        "date",
        "outcome",
        "date the company became a customer",
        (
            "Became a Customer Date",
            "Customer Since",
            "Start Date",
            "Contract Start Date",
            "First Deal Closed Date",
            "Customer Start Date",
            "Subscription Start Date",
        ),
    ),
    Field(
        "churn_date",
        "date",
        "outcome",
        "date the customer churned (empty = active)",
        (
            "Churn Date",
            "Churned Date",
            "Cancellation Date",
            "Cancelled At",
            "Canceled At",
            "Churned At",
            "Contract End Date",
            "Cancel Date",
            "subscription_canceled_at",
        ),
    ),
    Field(
        "churned",
        "bool",
        "outcome",
        "whether the customer churned",
        ("Churned", "Is Churned", "Cancelled", "Canceled", "Has Churned"),
    ),
    Field(
        "starting_arr",
        "money",
        "outcome",
        "annual recurring revenue at the start",
        ("Starting ARR", "Initial ARR", "Start ARR", "First Year ARR", "Original ARR", "Starting MRR x12"),
    ),
    Field(
        "arr",
        "money",
        "outcome",
        "current annual recurring revenue",
        ("ARR", "Current ARR", "Annual Recurring Revenue", "Total ARR"),
    ),
    Field(
        "mrr",
        "money",
        "outcome",
        "current monthly recurring revenue",
        ("MRR", "Current MRR", "Monthly Recurring Revenue"),
    ),
    Field(
        "starting_mrr", "money", "outcome", "monthly recurring revenue at the start", ("Starting MRR", "Initial MRR")
    ),
    Field(
        "nrr",
        "percent",
        "outcome",
        "net revenue retention",
        ("NRR", "Net Revenue Retention", "Net Dollar Retention", "NDR"),
    ),
    Field(
        "cac", "money", "outcome", "customer acquisition cost", ("CAC", "Customer Acquisition Cost", "Acquisition Cost")
    ),
    Field(
        "cac_payback_months",
        "number",
        "outcome",
        "months to pay back CAC",
        ("CAC Payback", "CAC Payback Months", "Payback Months", "Payback Period"),
    ),
    Field(
        "nps",
        "number",
        "outcome",
        "NPS or CSAT score",
        ("NPS", "NPS Score", "CSAT", "CSAT Score", "Net Promoter Score", "Satisfaction Score"),
    ),
    Field(
        "support_tickets",
        "number",
        "outcome",
        "support tickets raised (a burden: lower is healthier)",
        (
            "Number of Support Tickets",
            "Support Tickets",
            "Tickets",
            "Ticket Count",
            "Open Tickets",
            "Number of Tickets",
        ),
    ),
    Field("referrals", "number", "outcome", "referrals made", ("Referrals", "Referral Count", "Number of Referrals")),
    Field(
        "days_to_close",
        "number",
        "outcome",
        "days from first touch to close (faster is healthier)",
        ("Days to Close", "Time to Close", "Sales Cycle Days", "Sales Cycle", "Days to Close (days)"),
    ),
    # multi-table SaaS exports: subscriptions (Stripe, Chargebee, Recurly, Baremetrics), tickets (Zendesk,
    # Intercom, Salesforce cases) and product events; each row names its account, and analysis/rollup.py
    # aggregates them per account into the health inputs above
    Field(
        "subscription_id",
        "text",
        "id",
        "a subscription's id (a subscriptions file)",
        ("Subscription ID", "subscription_oid", "Subscription Number", "sub_id"),
    ),
    Field(
        "plan",
        "category",
        "post_sale",
        "the plan or price subscribed to",
        ("Plan", "Plan Name", "Plan ID", "Plan Code", "plan_oid", "Subscription Plan", "Price ID"),
    ),
    Field(
        "subscription_quantity",
        "number",
        "post_sale",
        "how many units (seats, licences) a subscription bills: its amount is per unit",
        ("Plan Quantity", "Subscription Quantity", "Quantity of Units"),
    ),
    Field(
        "interval_count",
        "number",
        "ignore",
        "how many periods one bill of a subscription covers (3 with a monthly interval: every 3 months)",
        ("Interval Count", "Billing Interval Count", "Plan Interval Count", "Plan Interval Length"),
    ),
    Field(
        "subscription_status",
        "category",
        "post_sale",
        "a subscription's status (active, canceled, ...)",
        ("Subscription Status", "Subscription State"),
    ),
    Field(
        "subscription_start",
        "date",
        "outcome",
        "when a subscription started",
        (
            "Subscription Started At",
            "subscription_started_at",
            "Started At",
            "start_date_at",
            "Activated At",
            "Subscription Start",
            "Subscription Created At",
        ),
    ),
    Field(
        "subscription_end",
        "date",
        "outcome",
        "when a subscription ended (empty = still running)",
        ("Ended At", "Subscription Ended At", "Subscription End Date", "Subscription End", "Expired At"),
    ),
    Field(
        "period_start",
        "date",
        "post_sale",
        "start of a subscription's current billing period",
        ("Current Period Start", "current_period_start", "Current Term Start", "current_term_start"),
    ),
    Field(
        "ticket_id",
        "text",
        "id",
        "a support ticket's id (a tickets file)",
        ("Ticket ID", "Ticket Number", "Case Number", "Case ID", "CaseNumber", "Conversation ID"),
    ),
    Field(
        "ticket_created",
        "date",
        "outcome",
        "when a support ticket was opened",
        ("Ticket Created", "Ticket Created At", "Ticket Created Date", "Case Created Date", "Date/Time Opened"),
    ),
    Field("ticket_status", "category", "post_sale", "a ticket's status", ("Ticket Status", "Case Status")),
    Field("ticket_priority", "category", "post_sale", "a ticket's priority", ("Ticket Priority", "Case Priority")),
    Field(
        "event_id",
        "text",
        "id",
        "an event's id (a repeated id is the same event sent twice)",
        ("Event ID", "message_id", "insert_id"),
    ),
    Field(
        "event_name",
        "category",
        "post_sale",
        "what happened (a product or lifecycle event)",
        ("Event", "Event Name", "Event Type"),
    ),
    Field(
        "event_time",
        "date",
        "post_sale",
        "when the event happened (in usage aggregated per period: the day, week or month the row counts)",
        ("Timestamp", "Event Time", "Event Date", "Event Timestamp", "Occurred At", "Happened At"),
    ),
    # usage aggregated per account and period (Amplitude, Mixpanel, PostHog or Segment reports): a row per account
    # per day, week or month with counts instead of a row per event; their spellings are the events kind's below
    Field("event_count", "number", "post_sale", "usage events counted in a period (a usage aggregate)"),
    Field("active_users", "number", "post_sale", "users active in a period (weekly/daily/monthly active users)"),
    Field("session_count", "number", "post_sale", "sessions counted in a period (a usage aggregate)"),
    Field("usage_minutes", "number", "post_sale", "minutes of use in a period (a usage aggregate)"),
    Field(
        "last_activity_date",
        "date",
        "post_sale",
        "last activity logged",
        ("Last Activity Date", "Last Activity", "Last Contacted", "Last Engagement Date"),
    ),
    Field(
        "owner",
        "category",
        "ignore",
        "the account owner (a sales rep)",
        ("Company owner", "Account Owner", "Owner", "Deal Owner", "Contact owner", "sales_agent", "sr_id", "sdr_id"),
    ),
    # contacts
    Field(
        "job_title",
        "text",
        "ignore",
        "a contact's job title",
        ("Job Title", "Title", "Contact Title", "Position", "Role Title"),
    ),
    Field(
        "buying_role",
        "category",
        "ignore",
        "a contact's buying role",
        ("Buying Role", "Buying Roles", "Role", "Contact Role", "Opportunity Contact Role"),
    ),
    Field("seniority", "category", "ignore", "a contact's seniority", ("Seniority",)),
    Field("department", "category", "ignore", "a contact's department", ("Departments", "Department")),
    Field("email", "text", "ignore", "a contact's email", ("Email", "Email Address", "Work Email")),
    Field("first_name", "text", "ignore", "a contact's first name", ("First Name", "FirstName")),
    Field("last_name", "text", "ignore", "a contact's last name", ("Last Name", "LastName")),
)

# Headers whose meaning depends on the file's kind: "Record ID" is the deal's id in a deals
# export and the company's in a companies export; "Name" is the person in a contacts file.
# These win over the kind-neutral synonyms above for a file of that kind. A new kind adds
# its own block here.
# Per-account tables: in a Stripe subscriptions export `id` is the subscription and `customer` the
# account; in a Zendesk tickets export `Status` is the ticket's. They apply only to a file of that kind.
# The period column of usage counted per account and period (its day, week or month): one of these, or `date`,
# makes a file of counts an events file (a `created` date beside a count is an account's, not a period).
USAGE_PERIODS = (
    *("day", "week", "month", "quarter", "period", "date_bucket"),
    *("week_start", "week_starting", "week_of", "week_beginning", "week_ending", "period_start", "month_start"),
)
_ACCOUNT_LINK: dict[str, tuple[str, ...]] = {
    "company_id": ("customer", "account_code"),
    "domain": ("customer_email",),
    "company_name": ("organization", "requester_organization", "customer_company", "account_company"),
}
KIND_SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "deals": {
        "deal_id": ("Record ID", "Id", "Deal Record ID"),
        "deal_name": ("Name", "Title", "Topic"),
        # Dynamics: the estimate is set on every opportunity, the actual (defaulting to the estimate) only once won
        "amount": ("Value", "Est. Revenue", "Estimated Revenue", "Actual Revenue"),
        "deal_stage": ("Status",),
        "deal_rating": ("Rating",),
        # HubSpot's deal properties: a deal's recurring revenue, monthly or per year
        "deal_mrr": ("MRR", "Monthly recurring revenue"),
        "annualized_amount": ("ARR", "Annual recurring revenue"),
        "deal_created_date": ("Created", "Add time", "Create time", "Created Time", "Created On", "Created At"),
        # the deal's company and contact as a lookup shows them: by name (Dynamics' "Potential Customer")
        "company_name": ("Potential Customer", "Customer", "Customer Account"),
        "contact_name": ("Contact", "Primary Contact"),
    },
    "contacts": {
        "contact_id": ("Record ID", "Id", "Contact Record ID"),
        "contact_name": ("Name",),
        "company_name": ("Parent Customer", "Parent Customer Name"),
        "record_status": ("Status",),
    },
    # an account's Status (Active/Inactive) is whether the record was deactivated: churn or cleanup, after the sale
    "customers": {"company_id": ("Record ID", "Id"), "company_name": ("Name",), "record_status": ("Status",)},
    "prospects": {"company_id": ("Record ID", "Id"), "company_name": ("Name",), "record_status": ("Status",)},
    "subscriptions": {
        **_ACCOUNT_LINK,
        "subscription_id": ("id", "subscription", "uuid"),
        "subscription_status": ("status", "state"),
        "subscription_start": ("created", "created_at", "created_utc", "start", "start_date", "activated_at"),
        "subscription_end": ("end_date", "ended_at", "expires_at"),
        # the price per unit, the units and the billing period: Stripe's Amount x Quantity per Interval (x Interval
        # Count), Chargebee's Plan Unit Price per Billing Period Unit (x Billing Period), Recurly's Unit Amount per
        # Plan Interval Unit (x Plan Interval Length), Paddle's Unit Price per Billing Cycle Interval (x Frequency)
        "amount": ("amount", "unit_amount", "unit_price", "plan_unit_price"),
        "subscription_quantity": ("quantity", "qty", "plan_quantity", "units"),
        "amount_period": (
            "interval",
            "plan_interval",
            "billing_interval",
            "billing_period_unit",
            "plan_interval_unit",
            "interval_unit",
            "billing_cycle_interval",
        ),
        "interval_count": ("interval_count", "billing_period", "interval_length", "billing_cycle_frequency"),
    },
    "tickets": {
        **_ACCOUNT_LINK,
        "ticket_id": ("id",),
        "ticket_priority": ("priority",),
        "ticket_status": ("status", "state"),
        "ticket_created": ("created", "created_at", "created_date", "create_date", "date_created", "opened_at"),
    },
    "events": {
        **_ACCOUNT_LINK,
        # Segment's group call and PostHog's first group type name the account a user's event belongs to
        "company_id": (*_ACCOUNT_LINK["company_id"], "group_id", "groupId", "context_groupId", "$group_0"),
        # a product analytics export keyed by the user: their email's domain names the account
        "domain": (*_ACCOUNT_LINK["domain"], "email", "user_email", "person_email", "context_traits_email"),
        "event_name": ("type", "name", "action"),
        "event_time": ("time", "date", "created", "created_at", "sent_at", *USAGE_PERIODS),
        # usage aggregated per period: a plural "Events" is a count of them, never an event's name
        "event_count": (
            *("events", "event_count", "events_count", "total_events", "number_of_events", "actions"),
            *("totals", "event_totals", "event_count_total"),
        ),
        "active_users": (
            *("active_users", "weekly_active_users", "daily_active_users", "monthly_active_users"),
            *("wau", "dau", "mau", "unique_users", "uniques"),
        ),
        "session_count": ("sessions", "session_count", "number_of_sessions", "total_sessions"),
        "usage_minutes": (
            *("minutes", "usage_minutes", "active_minutes", "session_minutes", "minutes_used"),
            *("time_spent", "time_spent_min", "time_spent_minutes", "time_in_app_min"),
        ),
    },
}

FIELD_BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}
SYNONYMS: dict[str, str] = {}
for _field in FIELDS:
    for _spelling in (_field.name, *_field.synonyms):
        SYNONYMS.setdefault(header_key(_spelling), _field.name)
KIND_SYNONYM_KEYS: dict[str, dict[str, str]] = {
    kind: {header_key(s): name for name, spellings in by_field.items() for s in spellings}
    for kind, by_field in KIND_SYNONYMS.items()
}

# Fields that mean "this companies file is our customer list, not a prospect list".
CUSTOMER_SIGNALS = frozenset(
    {
        "lifecycle_stage",
        "customer_since",
        "churn_date",
        "churned",
        "arr",
        "mrr",
        "starting_arr",
        "starting_mrr",
        "nrr",
        "cac",
        "nps",
        "support_tickets",
    }
)
CONTACT_SIGNALS = frozenset({"job_title", "buying_role"})
DEAL_SIGNALS = frozenset({"deal_stage"})
# Per-account tables (a row per subscription, ticket or event): analysis/rollup.py aggregates them.
SUBSCRIPTION_SIGNALS = frozenset(
    {"subscription_id", "subscription_status", "subscription_start", "subscription_end", "period_start"}
)
TICKET_SIGNALS = frozenset({"ticket_id", "ticket_created"})
EVENT_SIGNALS = frozenset({"event_name", "event_time"})  # both needed: a name and a time
# the counts of usage aggregated per account and period, in the order one is chosen as the account's activity
USAGE_COUNTS = ("event_count", "session_count", "usage_minutes", "active_users")
ACCOUNT_TABLE_KINDS = ("subscriptions", "tickets", "events")


def kind_field(header: str, kind: str) -> str | None:
    """The canonical field a header names only in a file of `kind` (KIND_SYNONYMS), else None."""
    return KIND_SYNONYM_KEYS.get(kind, {}).get(header_key(header))


FIRMOGRAPHIC = frozenset(
    {
        "industry",
        "employees",
        "annual_revenue",
        "country",
        "region",
        "city",
        "technologies",
        "founded_year",
        "business_type",
    }
)
# What a "Company ..." / "Account: ..." column on a deal or contact can be: the company's own fields.
COMPANY_FIELDS = FIRMOGRAPHIC | {"company_id", "company_name", "domain"}
# Deals and contacts carry their company's fields under a prefix: "Company Industry",
# "Account: Industry", "Account.Industry", "Associated Company Technologies", "Company - Country".
COMPANY_PREFIX = re.compile(
    r"^\s*(?:associated|primary)?\s*(?:company|account|organi[sz]ation|org)"
    r"(?:\s*[:.\-\u2013\u2014/|>_]+\s*|\s+)(?P<rest>\S.*)$",
    re.IGNORECASE,
)


# A contact's fields, which a deal or company export may carry under a person prefix ("Person - Job title").
CONTACT_FIELDS = frozenset(
    {
        "contact_id",
        "contact_name",
        "job_title",
        "buying_role",
        "seniority",
        "department",
        "email",
        "first_name",
        "last_name",
    }
)
PERSON_PREFIX = re.compile(
    r"^\s*(?:primary\s+)?(?:person|contact)(?:\s*[:.\-\u2013\u2014/|>_]+\s*)(?P<rest>\S.*)$", re.IGNORECASE
)
# Exports such as Pipedrive's prefix every column with its entity ("Deal - Status" in the deals file,
# "Organization - Industry" in the organizations file). A file's OWN prefix says nothing: it is stripped before
# the synonyms are matched. Only with a separator ("Deal - Value", "Deal: Value", "Deal.Value"), so that
# "Deal Stage" or "Account Name" are matched whole.
OWN_PREFIX_WORDS = {
    "deals": r"deal|opportunity|opp",
    "customers": r"organi[sz]ation|org|account|company",
    "prospects": r"organi[sz]ation|org|account|company|lead",
    "contacts": r"person|contact|lead",
}
OWN_PREFIX = {
    kind: re.compile(rf"^\s*(?:{words})\s*[:.\-\u2013\u2014/|>_]+\s*(?P<rest>\S.*)$", re.IGNORECASE)
    for kind, words in OWN_PREFIX_WORDS.items()
}
# Weaker spellings of a field: when another column of the file names the field too, that one wins
# ("Close time", set for won and lost deals, over "Won time", set for won deals only; a deal's "Stage" over a
# "Status" when neither column's values read as won or lost).
# Dynamics' "Status Reason" details its "Status": the first wins. A closed deal's actual close date wins over the estimate (Dynamics' "Actual Close Date" over "Est. Close Date"); an
# actual revenue, set only once a deal is won, yields to the estimate every deal has (a lost deal keeps its size).
SECONDARY_SPELLINGS = frozenset(
    header_key(s)
    for s in (
        "Won Time",
        "Won Date",
        "Date Won",
        "won_date",
        "Status",
        "Status Reason",
        "Est. Close Date",
        "Estimated Close Date",
        "Expected Close Date",
        "Actual Revenue",
    )
)


# A deal's or contact's column holding its company's record id, under any of the spellings CRMs give a lookup's id:
# Zoho's "Account Name.id" (the lookup field is "Account Name", its id "<lookup>.id"), "Account.id", "Account ID",
# Salesforce's "AccountId" and report form "Account Name: Account ID", "Company ID", "Organization ID". Only in a
# file that is not itself a companies file. A "Parent Account ID" is never the row's company: it names the parent
# of the account the row belongs to, so linking by it would join deals to the wrong company.
_ENTITY = r"(?:company|account|organi[sz]ation|org)"
_GAP = r"[\s_]*"  # "Account Name", "account_name", "AccountName"
_SEP = r"(?:\s*[:.\-\u2013\u2014/|>_]+\s*|\s+)?"
REFERENCE_ID = re.compile(
    rf"^\s*(?P<parent>parent{_GAP})?(?:(?:associated|primary){_GAP})?{_ENTITY}(?:{_GAP}name)?{_SEP}"
    rf"(?:{_ENTITY}{_GAP})?(?:record{_GAP})?id$",
    re.IGNORECASE,
)
# The same for a contact lookup on a deal ("Contact Name.id", "Contact ID", "Primary Contact ID").
CONTACT_REFERENCE_ID = re.compile(
    rf"^\s*(?:primary{_GAP})?(?:contact|person)(?:{_GAP}name)?{_SEP}(?:(?:contact|person){_GAP})?(?:record{_GAP})?id$",
    re.IGNORECASE,
)
COMPANY_KINDS = ("customers", "prospects")

# Dynamics 365's Export to Excel adds hidden columns marked "(Do Not Modify)" for re-import: the record's GUID
# under its entity's name ("(Do Not Modify) Account", "(Do Not Modify) Opportunity"), a row checksum and the
# modified time. The entity names the record: its id field, and the kind of a file whose rows are such records.
DO_NOT_MODIFY = re.compile(r"^\s*[(\[]\s*do\s*not\s*modify\s*[)\]]\s*[:\-]?\s*(?P<rest>\S.*)$", re.IGNORECASE)
ENTITY_RECORDS: dict[str, tuple[str, str]] = {  # entity word (header_key) -> (id field, kind of a file of them)
    **dict.fromkeys(("account", "company", "organization", "organisation", "customer"), ("company_id", "companies")),
    **dict.fromkeys(("opportunity", "deal"), ("deal_id", "deals")),
    **dict.fromkeys(("contact", "person", "lead"), ("contact_id", "contacts")),
    **dict.fromkeys(("case", "incident", "ticket"), ("ticket_id", "tickets")),
    "subscription": ("subscription_id", "subscriptions"),
}


def marked_record(header: str) -> tuple[str, str] | None:
    """(id field, kind) when `header` is an export's hidden record id named by its entity ("(Do Not Modify)
    Opportunity" -> ("deal_id", "deals"); kind "companies" for an account), else None."""
    matched = DO_NOT_MODIFY.match(header)
    return ENTITY_RECORDS.get(header_key(matched["rest"])) if matched else None


def is_export_furniture(header: str) -> bool:
    """True for a column an export adds for its own re-import ("(Do Not Modify) Row Checksum"): never a trait."""
    return bool(DO_NOT_MODIFY.match(header))


# Address fields under the address's name: Dynamics' "Address 1: Country/Region", "Address 2: City", "Billing
# Address - State", "Mailing Address City". What is left must name a location field.
ADDRESS_PREFIX = re.compile(
    r"^\s*(?:(?:billing|mailing|shipping|postal|primary|main|business|office|head\s*office|hq|registered|street)"
    r"[\s_]*)?address(?P<number>[\s_]*\d+)?(?:\s*[:.\-\u2013\u2014/|>_]+\s*|\s+)(?P<rest>\S.*)$",
    re.IGNORECASE,
)
LOCATION_FIELDS = frozenset({"country", "region", "city"})


def address_field(header: str) -> tuple[str, int] | None:
    """(location field, address number) for a header naming a part of an address ("Address 1: City" ->
    ("city", 1); 1 when unnumbered), else None."""
    matched = ADDRESS_PREFIX.match(header)
    if not matched:
        return None
    found = SYNONYMS.get(header_key(matched["rest"]))
    if found not in LOCATION_FIELDS:
        return None
    return found, int(matched["number"]) if matched["number"] else 1


def reference_field(header: str, kind: str | None) -> str | None:
    """company_id (or contact_id) when `header` names another entity's record id in a file of `kind`, else None.

    "Account Name.id" in a Zoho deals export is the account's id, not the deal's: the file's own id is
    "Record Id". Applies to every kind but the companies' own files (customers, prospects; a company's "Parent
    Account.id" is another company) and, for a contact lookup, the contacts' file."""
    if kind is None or kind in COMPANY_KINDS:
        return None
    if (matched := REFERENCE_ID.match(header)) and not matched["parent"]:
        return "company_id"
    if kind != "contacts" and CONTACT_REFERENCE_ID.match(header):
        return "contact_id"
    return None


def strip_own_prefix(header: str, kind: str | None) -> str:
    """The header without the file's own entity prefix ("Deal - Value" in a deals file -> "Value")."""
    pattern = OWN_PREFIX.get(kind or "")
    matched = pattern.match(header) if pattern else None
    return matched["rest"] if matched else header


def is_secondary(header: str, kind: str | None = None) -> bool:
    """True for a weaker spelling of its field (SECONDARY_SPELLINGS), with or without the own prefix, and for a
    second or later address ("Address 2: City" yields to "Address 1: City")."""
    address = address_field(strip_own_prefix(header, kind))
    return header_key(strip_own_prefix(header, kind)) in SECONDARY_SPELLINGS or bool(address and address[1] > 1)


# A CRM's custom-field markers say nothing about what the field means: the rest of the name does. Prefixes:
# Close's `custom.` ("custom.Industry" in its CSV export; the API's "custom.cf_<id>" names the field by an id),
# Freshsales', Freshdesk's, Zoho Desk's and Chargebee's `cf_` ("cf_arr"), Zoho Books' `CF.` ("CF.Industry"), a
# plain `custom_`/`Custom:`, and a record's custom-attribute map flattened by an API export (Intercom's
# "custom_attributes.plan", "custom_fields.X", HubSpot's "properties.industry", Stripe's "metadata.plan" or
# "metadata[plan]"). Suffixes: Salesforce's (and Insightly's) API-name `__c` with an optional managed-package
# namespace ("ARR__c", "acme__Churn_Date__c"), a person account's `__pc`, Stripe's "plan (metadata)". A marker
# may follow an entity prefix ("Deal - cf_arr", "Organization - custom.Industry"): the prefix stays.
# A flattened map needs its key syntax ("properties.x", "metadata[x]", "Custom fields: x"), so that "Properties
# Owned" or "Metadata Source" keep their words; "custom"/"cf" may also be followed by a space ("Custom Industry").
CUSTOM_PREFIX = re.compile(
    r"^\s*(?:(?:custom[\s_.]*(?:fields?|attributes?|properties)|properties|metadata)\s*(?:[.:]\s*|\[\s*)"
    r"|(?:custom|cf)(?:\s*[._:\-]+\s*|\s+))(?P<rest>[^\]\s](?:.*[^\]\s])?)\s*\]?\s*$",
    re.IGNORECASE,
)
CUSTOM_SUFFIX = re.compile(
    r"^(?:[A-Za-z0-9]+__)?(?P<rest>\S.*?)__p?c\s*$|^(?P<noted>\S.*?)\s*[(\[]\s*(?:metadata|custom(?:\s*field)?)\s*[)\]]\s*$",
    re.IGNORECASE,
)
# Salesforce names a lookup's record by its relationship: "Account__r.Industry" is the account's industry.
RELATIONSHIP = re.compile(r"^\s*(?P<entity>[A-Za-z0-9_]+?)__r\s*\.\s*(?P<rest>\S.*)$", re.IGNORECASE)
MARKED_ENTITY = re.compile(
    r"^(?P<entity>\s*(?:deal|opportunity|opp|organi[sz]ation|org|account|company|person|contact|lead)"
    r"\s*[:.\-\u2013\u2014/|>]+\s*)(?P<rest>\S.*)$",
    re.IGNORECASE,
)


def without_custom_marker(header: str) -> str:
    """`header` without its CRM custom-field markers (CUSTOM_PREFIX, CUSTOM_SUFFIX; "custom.Churn Date" ->
    "Churn Date", "Deal - cf_arr" -> "Deal - arr", "Account__r.Industry__c" -> "Account.Industry", "custom.cf_x7Yq" ->
    "x7Yq"); `header` itself when it has none."""
    current = header
    while True:
        if relation := RELATIONSHIP.match(current):
            current = f"{relation['entity']}.{relation['rest']}"
            continue
        entity = MARKED_ENTITY.match(current)
        head, rest = (entity["entity"], entity["rest"]) if entity else ("", current)
        prefixed = CUSTOM_PREFIX.match(rest)
        suffixed = CUSTOM_SUFFIX.match(rest)
        if prefixed:
            rest = prefixed["rest"]
        elif suffixed:
            rest = suffixed["rest"] or suffixed["noted"]
        else:
            return current
        current = head + rest


# A money column already converted to the CRM's home currency ("Deal value in base currency", Salesforce's
# "Amount (converted)", HubSpot's "Amount in company currency", Pipedrive's "Value in default currency"): the same
# field, in one currency for every row, so no currency column qualifies it (currencies.pair_currency_columns).
CONVERTED = re.compile(
    r"^(?P<rest>\S.*?)\s*(?:[(\[]\s*converted\s*[)\]]|[\s_-]+converted"
    r"|[\s_(-]+in[\s_]+(?:the[\s_]+)?(?:base|company|home|default|corporate|reporting|account|org)[\s_]+"
    r"currency\)?)\s*$",
    re.IGNORECASE,
)


def is_converted(header: str) -> bool:
    """True for a header that says its amounts are already in the CRM's home currency (CONVERTED)."""
    return bool(CONVERTED.match(header))


# Fields a plural header may name ("Accounts" on a contact is its company, "Emails" its address); a plural is
# otherwise a count ("Events", "Customers", "Subscriptions" on an account are numbers, never an event or an id).
PLURAL_FIELDS = frozenset(
    {"company_name", "domain", "email", "industry", "country", "region", "city", "owner", "job_title", "plan"}
)
VariantKind = Literal["marker", "timezone", "cents", "converted", "type", "plural"]
# A money column's minor-unit note ("Unit Amount (cents)", "amount_cents", "Price in minor units"): the same field,
# which the import then divides by 100 (ingest/amounts.CENTS_HEADER reads the same note)
CENTS_NOTE = re.compile(r"^(?P<rest>\S.*?)[\s_(\[-]+(?:in[\s_]+)?(?:cents|minor[\s_]+units)[)\]]?\s*$", re.IGNORECASE)
# A date column's time-zone note: Stripe's dashboard writes "Canceled At (UTC)", others "(GMT)", "[UTC]",
# "(America/New_York)", "(local time)", "(UTC+01:00)", "(CET)" or "_utc": the same field, in that zone. Zone
# abbreviations count only in capitals ("(CET)"), so that "(Cost)" stays a word.
TIMEZONE_NOTE = re.compile(
    r"^(?P<rest>\S.*?)\s*(?:[(\[]\s*(?:(?:utc|gmt|z)(?:\s*[+-]\s*\d{1,2}(?::?\d{2})?)?|local(?:\s+time)?"
    r"|(?:local\s+)?time\s*zone|[a-z]+(?:/[a-z_+-]+)+|(?-i:[A-Z]{1,4}T))\s*[)\]]|[\s_-]+(?:utc|gmt))\s*$",
    re.IGNORECASE,
)


def header_variants(header: str) -> list[tuple[str, VariantKind]]:
    """Other spellings of an unknown header to try, in order, each with what was changed: without a custom-field
    marker ("cf_arr" -> "arr", "Churn_Date__c" -> "Churn_Date"), without a time-zone note ("Canceled At (UTC)" ->
    "Canceled At", TIMEZONE_NOTE), without a cents note ("amount_cents", CENTS_NOTE), without "converted"/"in base
    currency", then
    the last word singular ("Accounts" -> "Account", "Industries" -> "Industry") or without a trailing "type"
    ("Industry type" -> "Industry"). Each variant is the previous one with one more change; `canonical_field`
    says which fields a "type" or plural variant may name."""
    variants: list[tuple[str, VariantKind]] = []
    current = header
    unmarked = without_custom_marker(current)
    if unmarked != current:
        current = unmarked
        variants.append((current, "marker"))
    zoned = TIMEZONE_NOTE.match(current)
    if zoned:
        current = zoned["rest"]
        variants.append((current, "timezone"))
    minor = CENTS_NOTE.match(current)
    if minor:
        current = minor["rest"]
        variants.append((current, "cents"))
    converted = CONVERTED.match(current)
    if converted:
        current = converted["rest"]
        variants.append((current, "converted"))
    words = re.split(r"[\s_]+", current.strip())
    last = words[-1] if words else ""
    if len(words) > 1 and last.lower() == "type":
        variants.append((" ".join(words[:-1]), "type"))
    elif len(last) > 3 and last.lower().endswith("ies"):
        variants.append((" ".join([*words[:-1], last[:-3] + "y"]), "plural"))
    elif len(last) > 3 and last.lower().endswith("s") and not last.lower().endswith(("ss", "us", "is")):
        variants.append((" ".join([*words[:-1], last[:-1]]), "plural"))
    return variants


def canonical_field(header: str, kind: str | None = None) -> str | None:
    """The canonical field a header names in a file of `kind`, or None when it is not one we know.

    Order: the kind's own spellings (KIND_SYNONYMS), another entity's record id (`reference_field`: "Account
    Name.id" on a deal is company_id), the kind-neutral synonyms; then the same
    with the file's own entity prefix stripped ("Deal - Value" in a deals file -> amount); then
    another entity's prefix: a company prefix ("Account: Industry", "Deal - Organization" aside,
    "Organization - Industry" on a deal -> industry) when what is left names a company field, a
    person prefix ("Person - Job title" -> job_title) when it names a contact field. A header none of
    that names is tried again as its `header_variants`: without a CRM's custom-field marker ("cf_arr",
    "ARR__c"), without a time-zone note ("Ended At (UTC)", only for a date field) or a cents note ("Amount
    (cents)", only for a money field), without "in base currency",
    singular or without a trailing "type" ("Accounts", "Industry type").
    """
    found = _canonical_field(header, kind)
    if found:
        return found
    zoned = cents = False
    for variant, changed in header_variants(header):
        zoned, cents = zoned or changed == "timezone", cents or changed == "cents"
        found = _canonical_field(variant, kind)
        if not found:
            continue
        if zoned and FIELD_BY_NAME[found].type != "date":
            continue  # a time-zone note says the column holds times: "Amount (UTC)" is no amount
        if cents and FIELD_BY_NAME[found].type != "money":
            continue  # only money is in cents: "Employees (cents)" is no head count
        if changed == "type" and FIELD_BY_NAME[found].type != "category":
            continue  # "Customer type" is no customer id
        if changed == "plural" and (found not in PLURAL_FIELDS or (found == "company_name" and kind in COMPANY_KINDS)):
            continue  # "Events" on an account is a count; "Accounts" in a companies file is not its own name
        return found
    return None


def _canonical_field(header: str, kind: str | None) -> str | None:
    """canonical_field for the header as written (no variants)."""
    by_kind = KIND_SYNONYM_KEYS.get(kind or "", {})
    if marked := DO_NOT_MODIFY.match(header):  # "(Do Not Modify) Account": the account's id; else what follows
        record = ENTITY_RECORDS.get(header_key(marked["rest"]))
        return record[0] if record else _canonical_field(marked["rest"], kind)
    key = header_key(header)
    found = by_kind.get(key) or reference_field(header, kind) or SYNONYMS.get(key)
    if found:
        return found
    rest = strip_own_prefix(header, kind)
    if rest != header:
        found = by_kind.get(header_key(rest)) or SYNONYMS.get(header_key(rest))
        if found:
            return found
    if address := address_field(rest):
        return address[0]
    prefixed = COMPANY_PREFIX.match(header)
    if prefixed:
        rest_key = header_key(prefixed["rest"])
        found = KIND_SYNONYM_KEYS["customers"].get(rest_key) if kind not in ("customers", "prospects") else None
        found = found or SYNONYMS.get(rest_key)
        if found in COMPANY_FIELDS:
            return found
    prefixed = PERSON_PREFIX.match(header)
    if prefixed and kind != "contacts":
        rest_key = header_key(prefixed["rest"])
        found = KIND_SYNONYM_KEYS["contacts"].get(rest_key) or SYNONYMS.get(rest_key)
        if found in CONTACT_FIELDS:
            return found
    return None


def attribute_name(header: str) -> str:
    """A snake_case column name for an unknown header, kept as an attribute."""
    name = re.sub(r"[^a-z0-9]+", "_", header.strip().lower()).strip("_")
    return name or "column"


def fields_markdown() -> str:
    """The reference page of canonical fields (docs/fields.md; a test keeps it current)."""
    lines = [
        "# Canonical fields",
        "",
        "Headers are matched after lower-casing and dropping spaces and punctuation, so `Number of Employees`,",
        "`NumberOfEmployees`, `# Employees` and `number_of_employees` are one field. Roles: `id` links records,",
        "`fit` may become an ICP criterion (observable before the sale), `outcome` feeds health and validation,",
        "`post_sale` is shown but never a criterion, `ignore` is kept and unused. Override any of it with",
        "`icp-agent set-field-roles FIELD=ROLE` or a mapping file. Generated by `icp-agent fields --markdown`.",
        "",
        "| field | type | default role | meaning | headers recognised |",
        "|---|---|---|---|---|",
    ]
    for f in FIELDS:
        lines.append(f"| `{f.name}` | {f.type} | {f.role} | {f.description} | {', '.join(f.synonyms)} |")
    lines += [
        "",
        "## Headers that depend on the file's kind",
        "",
        "These spellings win over the table above in a file of that kind (`Record ID` is the deal's id in a",
        "deals export, the company's in a companies export; `Name` is the person in a contacts file).",
        "",
        "| kind | field | headers recognised |",
        "|---|---|---|",
    ]
    for kind, by_field in KIND_SYNONYMS.items():
        for name, spellings in by_field.items():
            lines.append(f"| {kind} | `{name}` | {', '.join(spellings)} |")
    lines += [
        "",
        "## Company fields under a prefix",
        "",
        "A deal or contact column naming its company's field under a prefix maps to that field:",
        "`Company Industry`, `Account Employees`, `Associated Company Technologies`, `Account: Industry`,",
        "`Account.Industry` and `Company - Country` are `industry`, `employees`, `technologies` and `country`.",
        f"The prefixed fields: {', '.join(f'`{f}`' for f in sorted(COMPANY_FIELDS))}.",
        "",
        "## Another record's id on a deal or contact",
        "",
        "In a deals, contacts or other non-company file, a column naming its company's record id is `company_id`,",
        "whatever the CRM calls the lookup: Zoho's `Account Name.id`, `Account.id`, `Account ID`, Salesforce's",
        "`AccountId` and report form `Account Name: Account ID`, `Company ID`, `Organization ID`; never `Parent Account ID`",
        "(the parent of the row's account). `Contact Name.id` on a deal is `contact_id`. In a companies file the",
        "row's own id is `Record Id`/`Id`; its `Parent Account.id` is another company's id.",
        "",
        "## A file's own entity prefix",
        "",
        "Exports that prefix every column with its entity (Pipedrive's `Deal - Value`, `Organization - Industry`,",
        "`Person - Job title`) are matched without the file's own prefix: deal/opportunity in a deals file,",
        "organization/account/company in a companies file, person/contact in a contacts file. A person prefix on",
        "another file's column names a contact field (`Person - Job title` -> `job_title`). When two columns",
        "name one field, a mapping file's choice wins, then (for `deal_stage`) the column whose values read as",
        "won or lost, then an amount already in the home currency, then the stronger spelling (`Close time` over",
        "`Won time`), then a column marked primary.",
        "",
        "## Export furniture and address parts",
        "",
        "Dynamics 365's Export to Excel marks the columns it needs for re-import `(Do Not Modify)`: under an",
        "entity's name it is that record's id (`(Do Not Modify) Account` -> `company_id`, `(Do Not Modify)",
        "Opportunity` -> `deal_id`, `(Do Not Modify) Contact` -> `contact_id`), and it tells the file's kind;",
        "any other such column (`Row Checksum`, `Modified On`) is bookkeeping, role `ignore`. A location under an",
        "address's name is that location: `Address 1: Country/Region`, `Address 1: City`, `Billing Address -",
        "State` -> `country`, `city`, `region`; a second address (`Address 2: City`) yields to the first.",
        "",
        "## Custom fields, converted amounts, plurals",
        "",
        "A header none of the above names is tried again without a CRM's custom-field markers (Close's",
        "`custom.ARR`, Freshsales' `cf_arr`, Zoho Books' `CF.ARR`, Salesforce's `ARR__c`, `acme__ARR__c` or",
        "`ARR__pc`, `custom_arr`, `Custom: ARR`, an API export's `custom_attributes.arr`, `properties.arr` or",
        "`metadata[arr]`, Stripe's `arr (metadata)` -> `arr`; also behind an entity prefix, `Deal - cf_arr`;",
        "Salesforce's `Account__r.Industry` is `Account.Industry`): a marker never decides what a column means,",
        "and an unknown custom field is kept under its name without the marker. Then without a note that it is",
        "already converted to the home currency (`Deal value in base currency`, `Amount (converted)`, `Amount in",
        "company currency` -> `amount`; no currency column converts such a column again), then with its last word",
        "singular or without a trailing `type` (`Accounts` -> `company_name`, `Industry type` -> `industry`).",
    ]
    return "\n".join(lines) + "\n"
