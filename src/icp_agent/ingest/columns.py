"""Column planning: which kind a file is (`detect_kind`: deals, contacts, customers, prospects,
subscriptions, tickets or events, from its headers) and which stored name each of its columns gets
(`plan_columns`: the mapping file first, then the kind's synonyms; when two columns claim one field, their
values decide before their headers do). A `PlannedColumn` carries each column's name, type, role and notes
through the rest of the import."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb

from icp_agent import numbers
from icp_agent.errors import UserError
from icp_agent.ingest import normalize as norm
from icp_agent.ingest.fields import (
    FIELD_BY_NAME,
    USAGE_PERIODS,
    attribute_name,
    canonical_field,
    header_key,
    is_converted,
    is_export_furniture,
    is_secondary,
    kind_field,
    marked_record,
    strip_own_prefix,
    without_custom_marker,
)
from icp_agent.ingest.mapping import Mapping
from icp_agent.sql import one

ID_FIELD = {
    "customers": "company_id",
    "prospects": "company_id",
    "deals": "deal_id",
    "contacts": "contact_id",
    "subscriptions": "subscription_id",
    "tickets": "ticket_id",
    "events": "event_id",
}
# Kinds whose rows each belong to one account (company_id, company_name or domain); see health/rollup.py.
ACCOUNT_TABLE_KINDS = ("subscriptions", "tickets", "events")


# Account-level outcomes: a file carrying them is an accounts (customers) file, even with plan and MRR columns.
ACCOUNT_LEVEL = frozenset(
    {"churned", "lifecycle_stage", "nrr", "starting_arr", "starting_mrr", "cac", "nps", "support_tickets", "referrals"}
)


PRIMARY = re.compile(r"\bprimary\b", re.IGNORECASE)
# Fields whose values say whether a column really is that field (plan_columns' value_fit): what they read as.
VALUE_CHECKED = {"deal_stage": "won or lost"}


@dataclass
class PlannedColumn:
    """How one header will be imported: stored name, type, role, date order, decimal mark, currencies."""

    header: str
    name: str
    canonical: bool
    type: str
    role: str
    note: str | None = None
    date_order: str | None = None
    mark: str | None = None  # decimal mark of a number/money column, decided from all its values
    currencies: dict[str, int] = field(default_factory=dict)  # ISO code -> values (money columns)
    currency_source: str | None = None  # stored name of the column giving this money column's currency
    stored_currency: str | None = None  # the currency the stored amounts are in, once apply_currencies ran
    open_values: int = 0  # values that are open bands ("$10M+"), stored as their lower bound
    value_map: dict[str, str] = field(default_factory=dict)  # raw label -> stored label ([values.FIELD])
    mapped: list[str] = field(default_factory=list)  # what value_map did, for the import report
    inherited: frozenset[str] = frozenset()  # value_map's raw labels from the workspace's stored tables
    checkbox: bool = False  # a yes/no column of only ticks and blanks: a blank is no (normalize.is_checkbox)


def plan_columns(
    headers: list[str],
    mapping: Mapping,
    file_name: str,
    kind: str | None = None,
    value_fit: Callable[[str, str], float] | None = None,
) -> list[PlannedColumn]:
    """Decide the stored name of every column of a file of `kind`.

    The mapping file wins (the file's own section, then the global [columns]), then the
    synonyms of the kind (fields.canonical_field). A per-file entry naming a column the file
    lacks is an error; a global one is skipped here (Mapping.check_files looks across files).

    When two columns name one field, `value_fit(header, field)` (the share of the column's values
    that fit the field, 0-1; fields in VALUE_CHECKED only) decides before the header does: Pipedrive's
    "Deal - Status" (won/lost/open) is the deal stage, not "Deal - Stage" (the pipeline step).
    """
    own = mapping.file_columns(file_name)
    missing = [h for h in own if h not in headers]
    if missing:
        raise UserError(
            f"the mapping file's section for {file_name!r} names column(s) {missing} that are not in the file",
            file=mapping.source or file_name,
            column=missing[0],
            hint=f"the file's columns are: {', '.join(headers)}",
        )
    overrides = mapping.columns_for(file_name)
    desired: dict[str, tuple[str, bool]] = {}
    plain = {attribute_name(h) for h in headers}
    for header in headers:
        target = overrides.get(header)
        if target == "ignore":
            desired[header] = attribute_name(header), False
        elif target:
            desired[header] = target, target in FIELD_BY_NAME
        else:
            # an unknown custom field is named without its CRM's marker ("custom.Lead Notes" -> lead_notes) unless
            # another column is named so
            unmarked = attribute_name(without_custom_marker(header))
            if unmarked in plain and unmarked != attribute_name(header):
                unmarked = attribute_name(header)
            name = canonical_field(header, kind) or unmarked
            desired[header] = name, name in FIELD_BY_NAME
    # Two columns naming one field: the mapping file's choice wins, then the one whose values fit the field
    # (VALUE_CHECKED), then an amount already converted to the home currency ("Deal value in base currency" over
    # "Deal value": one currency for every row), then the stronger spelling (fields.SECONDARY_SPELLINGS), then a
    # column marked primary ("Associated Company IDs (Primary)" over the full "Associated Company IDs" list), then
    # the first.
    claims: dict[str, list[str]] = {}
    for header in headers:
        if desired[header][1]:
            claims.setdefault(desired[header][0], []).append(header)
    fit = {
        h: value_fit(h, name)
        for name, hs in claims.items()
        if len(hs) > 1 and name in VALUE_CHECKED and value_fit
        for h in hs
    }
    rank = {
        h: (h not in overrides, -fit.get(h, 0.0), not is_converted(h), is_secondary(h, kind), not PRIMARY.search(h), i)
        for i, h in enumerate(headers)
    }
    winner: dict[str, str] = {}
    for header in sorted(headers, key=rank.__getitem__):
        name, canonical = desired[header]
        if canonical:
            winner.setdefault(name, header)
    planned: list[PlannedColumn] = []
    used: set[str] = set()
    for header in headers:
        target = overrides.get(header)
        note = None
        name, canonical = desired[header]
        duplicate_of = None
        if name in used or (canonical and winner.get(name, header) != header):
            taken_by = winner.get(name, name)
            why = ""
            if fit.get(taken_by, 0.0) > fit.get(header, 0.0):
                why = (
                    f" (its values fit {name}: {numbers.percent(fit[taken_by], 0)} read as {VALUE_CHECKED[name]}, "
                    f"{numbers.percent(fit.get(header, 0.0), 0)} of this column's)"
                )
            note = f"also matches {name!r}, taken by column {taken_by!r}{why}: kept as an attribute"
            duplicate_of = FIELD_BY_NAME.get(name)  # a pipeline stage is still deal progress: never a trait
            name, canonical = attribute_name(header), False
            if name in used or name in FIELD_BY_NAME:  # "Deal - Stage" beside deal_stage: "stage"
                name = attribute_name(strip_own_prefix(header, kind))
            while name in used or name in FIELD_BY_NAME:
                name = f"{name}_2"
        elif not canonical and name in FIELD_BY_NAME:
            name = f"attr_{name}"
        used.add(name)
        spec = FIELD_BY_NAME.get(name) if canonical else None
        spec = spec or duplicate_of  # a second "owner" column is still an owner: same type and role
        column = PlannedColumn(
            header=header,
            name=name,
            canonical=canonical,
            type=mapping.types.get(name) or (spec.type if spec else "auto"),
            role=spec.role if spec else "auto",
            note=note,
            value_map=mapping.values.get(name, {}),
            inherited=mapping.inherited.get(name, frozenset()),
        )
        if target == "ignore" or (not target and not canonical and is_export_furniture(header)):
            column.role = "ignore"  # and an export's own re-import column ("(Do Not Modify) ...") is never a trait
        planned.append(column)
    return planned


def detect_kind(headers: list[str], mapping: Mapping | None = None, file_name: str | None = None) -> tuple[str, str]:
    """Guess a file's kind from its headers; returns (kind, reason).

    Only kind-neutral signals decide (a stage column, job titles, lifecycle fields); the
    headers whose meaning depends on the kind ("Record ID", "Name") are mapped afterwards. An export's
    hidden record id named by its entity ("(Do Not Modify) Opportunity", the first such column) says what a row
    is before any of them. When nothing in the headers tells deals, contacts or customers from a prospect list,
    the file name may (`kind_from_file_name`: "All Opportunities 11-27-2026 4-42-07 PM.xlsx" is deals).
    """
    overrides = mapping.columns_for(file_name) if mapping else {}
    fields = {f for f in (overrides.get(h) or canonical_field(h) for h in headers) if f is not None}
    from icp_agent.ingest.fields import CONTACT_SIGNALS, CUSTOMER_SIGNALS, DEAL_SIGNALS

    marked = next((record for h in headers if not overrides.get(h) and (record := marked_record(h))), None)
    if marked and marked[1] in ("deals", "contacts", *ACCOUNT_TABLE_KINDS):
        header = next(h for h in headers if marked_record(h) == marked)
        return marked[1], f"its record id column {header!r} names the row's entity"
    if fields & DEAL_SIGNALS:
        return "deals", "has a deal stage column"
    if fields & CONTACT_SIGNALS:
        found = sorted(fields & CONTACT_SIGNALS)
        return "contacts", f"has {', '.join(found)} (people, not companies)"
    account_table = _account_table_kind(headers, fields, mapping)
    if account_table:
        return account_table
    signals = sorted(fields & CUSTOMER_SIGNALS)
    if signals:
        return "customers", f"companies with lifecycle/revenue fields ({', '.join(signals)})"
    named = kind_from_file_name(file_name) if not marked else None  # a marked account is a company either way
    if named and named != "prospects":
        return named, f"the file name says {named} (its headers name no stage, job title or lifecycle field)"
    return "prospects", "companies without lifecycle, revenue or outcome fields"


# Words of a file name that say what its rows are, as CRMs name their exports and views ("All Opportunities
# 11-27-2026 4-42-07 PM", "deals-2025", "My Active Contacts", "customer_list"). "Accounts" and "companies" hold
# customers and prospects alike: they say nothing here. Per-account tables (subscriptions, tickets) need their
# columns to be read as such, so a name alone never makes one.
FILE_NAME_KINDS = {
    "deals": r"deals?|opportunit(?:y|ies)|opps?|pipeline",
    "contacts": r"contacts?|people|persons?",
    "customers": r"customers?|clients?",
    "prospects": r"prospects?|leads?|targets?",
}


def kind_from_file_name(file_name: str | None) -> str | None:
    """The one kind the words of `file_name`'s stem name (FILE_NAME_KINDS), else None (none or several)."""
    if not file_name:
        return None
    stem = re.sub(r"\.[A-Za-z0-9]+$", "", file_name.replace("\\", "/").rsplit("/", 1)[-1])
    words = re.findall(r"[a-z]+", re.sub(r"([a-z])([A-Z])", r"\1 \2", stem).lower())
    found = {kind for kind, pattern in FILE_NAME_KINDS.items() for w in words if re.fullmatch(pattern, w)}
    return found.pop() if len(found) == 1 else None


def _account_table_kind(headers: list[str], fields: set[str], mapping: Mapping | None) -> tuple[str, str] | None:
    """subscriptions, tickets or events when the headers say a row is one of those, not an account.

    A file with firmographics or account-level outcomes (churned, NRR, NPS, ...) describes accounts;
    otherwise a subscription needs an amount or plan and a column only subscriptions have, a ticket
    its id (or an open date with a status or priority), an event a name and a time; usage aggregated per
    account and period a period (or date) column, a count (events, sessions, minutes, active users) and an account.
    """
    from icp_agent.ingest.fields import (
        EVENT_SIGNALS,
        FIRMOGRAPHIC,
        SUBSCRIPTION_SIGNALS,
        USAGE_COUNTS,
    )

    def as_kind(kind: str) -> set[str]:
        """The fields the headers name in a file of that kind; none when they describe accounts."""
        found = (
            (mapping.columns.get(h) if mapping else None) or kind_field(h, kind) or canonical_field(h) for h in headers
        )
        named = {f for f in found if f is not None}
        return set() if named & (FIRMOGRAPHIC | ACCOUNT_LEVEL) else named  # Recurly's `state` is no region

    subscriptions = as_kind("subscriptions")
    if subscriptions & {"mrr", "arr", "plan"} and (
        subscriptions & fields & SUBSCRIPTION_SIGNALS or {"plan", "subscription_status"} <= subscriptions
    ):
        found = sorted(subscriptions & ({"mrr", "arr", "plan"} | SUBSCRIPTION_SIGNALS))
        return "subscriptions", f"a row per subscription ({', '.join(found)})"
    tickets = as_kind("tickets")
    if "ticket_id" in tickets & fields or (
        "ticket_created" in tickets and tickets & {"ticket_status", "ticket_priority"}
    ):
        found = sorted(tickets & {"ticket_id", "ticket_created", "ticket_status", "ticket_priority"})
        return "tickets", f"a row per support ticket ({', '.join(found)})"
    events = as_kind("events")
    if events >= EVENT_SIGNALS and "event_count" in events:
        per = _period(headers) or "period"
        return "events", f"events counted per name and period (event_name, event_count per {per})"
    if events >= EVENT_SIGNALS:
        return "events", "a row per event (event name and time)"
    counts = [c for c in USAGE_COUNTS if c in events]
    period = _period(headers)
    if period and counts and events & {"company_id", "domain", "company_name"}:
        return "events", f"usage aggregated per account and period ({', '.join(counts)} per {period})"
    return None


def _period(headers: list[str]) -> str | None:
    """The header of a usage aggregate's period column ("Week", "Day", "Date"), or None: a `Created` date
    beside a count is an account's, not a period."""
    periods = {header_key(p) for p in (*USAGE_PERIODS, "date")}
    return next((h for h in headers if kind_field(h, "events") == "event_time" and header_key(h) in periods), None)


def value_fit(con: duckdb.DuckDBPyConnection, texts: dict[str, str]) -> Callable[[str, str], float]:
    """value_fit for plan_columns: the share of a column's present values that fit a VALUE_CHECKED field.

    deal_stage: values that read as won or lost (health.health_score.stage_class); a pipeline's step names
    ("Qualified", "Proposal Made") read as open whatever the deal's outcome, so they do not count.
    """

    def fit(header: str, field_name: str) -> float:
        if field_name != "deal_stage":
            return 0.0
        # imported here: only a file with a stage column needs the health phase's module
        from icp_agent.health.health_score import stage_class

        present = norm.null_if_missing("raw")
        decided, total = one(  # only the columns that claim deal_stage: one GROUP BY each
            con,
            f"SELECT coalesce(sum(c) FILTER ({stage_class(present)} IN ('won', 'lost')), 0), "
            f"coalesce(sum(c) FILTER ({present} IS NOT NULL), 0) "
            f"FROM (SELECT {texts[header]} AS raw, count(*) AS c FROM _dedup GROUP BY 1)",
        )
        return decided / total if total else 0.0

    return fit


def join_note(note: str | None, extra: str) -> str:
    """A column note with `extra` appended after "; " (or `extra` alone when there was none)."""
    return f"{note}; {extra}" if note else extra
