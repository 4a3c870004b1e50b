"""Phase 1: who is a good customer. The health score, cohorts and the Customer Scoring Matrix.

Three definitions of "good", because companies have different data:
- health: a 0-100 composite of the components the data has, each percentile-normalised,
  a component a customer lacks re-weighted away (never imputed as zero);
- column: one named outcome column: a yes/no column where yes = good ("activated", "renewed"),
  a yes/no column where yes = bad (`bad_column`: "churned", "defaulted"), or any column with the
  value(s) that mean good (`good_value`, e.g. loan status "P I F") and optionally bad (`bad_value`,
  "CHGOFF"; without it every other value is bad);
- won: won vs lost deals, each deal carrying its company's fit fields.
All of it is SQL over the workspace; the result is a table `analysis_frame_<version>`
with one row per entity, its fit fields, its components, health, cohort and `good`/`bad`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Literal

import duckdb

from icp_agent import numbers
from icp_agent.errors import ArgumentError, DataShapeError, UserError
from icp_agent.health.deal_kinds import deal_terms
from icp_agent.health.rollup import SUBSCRIPTION_CHURN_RULE
from icp_agent.ingest.fields import COMPANY_FIELDS
from icp_agent.ingest.links import company_key
from icp_agent.ingest.normalize import boolean
from icp_agent.sql import columns_of, sql_literal, table_exists
from icp_agent.sql import quote_identifier as _q

GoodDefinition = Literal["health", "column", "won"]
Entity = Literal["customer", "deal"]

DEFAULT_WEIGHTS: dict[str, float] = {
    "retention": 20,
    "nrr": 20,
    "cac_efficiency": 15,
    "support_burden": 15,
    "nps": 10,
    "referrals": 10,
    "time_to_close": 10,
    "activity": 10,
}
COMPONENT_TEXT = {
    "retention": "retention: still a customer, and for how long",
    "nrr": "net revenue retention: current vs starting ARR",
    "cac_efficiency": "CAC efficiency: months of revenue to pay back CAC (fewer is better)",
    "support_burden": "support burden: tickets raised (fewer is better)",
    "nps": "NPS / CSAT",
    "referrals": "referrals made",
    "time_to_close": "time to close (faster is better)",
    "activity": "activity: product usage (events, sessions or minutes per month, or active users)",
}
WON = ("closed won", "won", "closedwon", "closed-won", "signed", "contract signed")
LOST = ("closed lost", "lost", "closedlost", "closed-lost", "disqualified", "churned")


@dataclass
class HealthConfig:
    """How good and bad are defined: the health score's weights and cohort shares (0-1), an outcome column, or won/lost deals."""

    good: GoodDefinition | None = None  # None: health when components exist, else won vs lost deals
    good_column: str | None = None
    good_value: str | None = None  # the value of good_column meaning good (non-boolean outcome columns)
    bad_value: str | None = None  # the value meaning bad (default: any other known value)
    bad_column: str | None = None  # a yes/no column where yes = bad (a churn or default flag)
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    min_tenure_months: float = 6.0
    top_share: float = 0.2
    bottom_share: float = 0.2
    as_of: str | None = None  # ISO date; default: the latest date in the data


@dataclass
class HealthResult:
    """The health frame built (table name, one row per entity) with its definition, counts and weights."""

    definition: GoodDefinition
    entity: Entity
    frame: str  # table name with one row per entity
    n: int
    n_good: int
    n_bad: int
    components: list[str]
    weights: dict[str, float]
    censored: int = 0
    as_of: str | None = None
    good_column: str | None = None
    cohort_sizes: dict[str, int] = field(default_factory=dict)
    queries: dict[str, str] = field(default_factory=dict)
    outcome: str | None = None  # the column-outcome rule in words ("mis_status = 'P I F' is good, ...")
    note: str | None = None  # how cohorts were cut when the default rule could not apply
    # accounts of the customers file left out as not customers (prospects, partners, ...: find_non_customers)
    not_customers: int = 0
    not_customers_note: str | None = None
    cohort_note: str | None = None  # the top / bottom shares when ties moved them off the configured shares
    churn_note: str | None = None  # how churn was read when subscriptions gave it (rollup.SUBSCRIPTION_CHURN_RULE)
    # what a good and a bad entity are, as a predicate after "are": ("won", "lost"), ("retained", "churned"),
    # ("in the top 20% by health", "in the bottom 20% by health"); every statement words outcomes with these
    words: tuple[str, str] = ("good", "bad")


def stage_class(expr: str) -> str:
    """'won' / 'lost' / 'open' from a deal stage whatever the CRM called it."""
    key = f"lower(trim(replace(replace({expr}, '_', ' '), '-', ' ')))"
    won = ", ".join(f"'{w}'" for w in WON)
    lost = ", ".join(f"'{w}'" for w in LOST)
    return (
        f"CASE WHEN {key} IN ({won}) OR {key} LIKE '%closed won%' THEN 'won' "
        f"WHEN {key} IN ({lost}) OR {key} LIKE '%closed lost%' THEN 'lost' "
        f"WHEN {expr} IS NULL THEN NULL ELSE 'open' END"
    )


def available_components(columns: set[str]) -> dict[str, str]:
    """SQL of each raw component the customers table supports (higher = healthier, before ranking)."""
    churned = _churned_sql(columns)
    out: dict[str, str] = {}
    if churned:
        out["retention"] = "retention_raw"
    if {"arr", "starting_arr"} <= columns or {"mrr", "starting_mrr"} <= columns or "nrr" in columns:
        out["nrr"] = "nrr_raw"
    if "cac_payback_months" in columns or ("cac" in columns and ({"starting_arr", "arr", "mrr"} & columns)):
        out["cac_efficiency"] = "-payback_raw"
    if "tickets_per_year" in columns:  # rolled up from a tickets file (analysis/rollup.py): a rate, not a count
        out["support_burden"] = "-tickets_per_year"
    elif "support_tickets" in columns:
        out["support_burden"] = "-support_tickets"
    if "nps" in columns:
        out["nps"] = "nps"
    if "referrals" in columns:
        out["referrals"] = "referrals"
    if "days_to_close" in columns:
        out["time_to_close"] = "-days_to_close"
    # rolled up from an events file (health/rollup.py): raw events, or usage per period by its first count
    activity = ("events_per_month", "sessions_per_month", "minutes_per_month", "avg_active_users")
    if found := next((c for c in activity if c in columns), None):
        out["activity"] = found
    return out


def _churned_sql(columns: set[str]) -> str | None:
    parts = []
    if "churned" in columns:
        parts.append("churned")
    if "churn_date" in columns:
        parts.append("churn_date IS NOT NULL")
    if not parts:
        return None
    return f"coalesce({' OR '.join(parts)}, FALSE)" if len(parts) > 1 else f"coalesce({parts[0]}, FALSE)"


def _raw_values(columns: set[str], as_of: str) -> list[str]:
    """Per-customer raw inputs of the components, before percentile ranking."""
    out = []
    churned = _churned_sql(columns)
    if churned:
        out.append(f"{churned} AS churned_flag")
        if "customer_since" in columns:
            end = "coalesce(churn_date, DATE '" + as_of + "')" if "churn_date" in columns else f"DATE '{as_of}'"
            out.append(f"date_diff('day', customer_since, {end}) / 30.4375 AS tenure_months")
        else:
            out.append("NULL::DOUBLE AS tenure_months")
    if {"arr", "starting_arr"} <= columns:
        nrr = "arr / nullif(starting_arr, 0)"
        if {"mrr", "starting_mrr"} <= columns:
            nrr = f"coalesce({nrr}, mrr / nullif(starting_mrr, 0))"
        out.append(f"{'coalesce(nrr, ' + nrr + ')' if 'nrr' in columns else nrr} AS nrr_raw")
    elif {"mrr", "starting_mrr"} <= columns:
        out.append(
            f"{'coalesce(nrr, mrr / nullif(starting_mrr, 0))' if 'nrr' in columns else 'mrr / nullif(starting_mrr, 0)'} AS nrr_raw"
        )
    elif "nrr" in columns:
        out.append("nrr AS nrr_raw")
    if "cac_payback_months" in columns:
        out.append("cac_payback_months AS payback_raw")
    elif "cac" in columns and ({"starting_arr", "arr", "mrr"} & columns):
        revenue = "starting_arr" if "starting_arr" in columns else ("arr" if "arr" in columns else "mrr * 12")
        out.append(f"cac / nullif({revenue} / 12, 0) AS payback_raw")
    return out


def build_frame(
    con: duckdb.DuckDBPyConnection,
    customers: str | None,
    deals: str | None,
    frame: str,
    config: HealthConfig,
    fit_fields: list[str],
    schema=None,
    *,
    temporary: bool = False,
    watched: Callable[[], AbstractContextManager[object]] = nullcontext,
    lean: bool = False,
) -> HealthResult:
    """Create `frame`: one row per entity with fit fields, components, health, cohort, good/bad.

    `schema` (analysis/inputs.py) names the deals' original stage header in the error raised when
    the deals hold no won or lost deal (DataShapeError). `temporary` makes it a TEMP table, for a frame dropped
    before the connection closes (the backtest's): it is never written to the workspace file. `watched()` wraps
    the statement that scores the customers (most of the time: progress.watch reports its rows). `lean` (a frame
    from the health score only): the frame carries the customers' fit fields and the score's own columns, not
    every other column of the customers (their ids, names, domains, dates, amounts): for an analysis that reads
    nothing else (the backtest's, tiers.analyse's tier1_only); copying a million names and domains into it cost
    more than its ranking."""
    definition = config.good
    if definition is None:
        columns = columns_of(con, customers) if customers else set()
        if config.good_column or config.bad_column:
            definition = "column"
        elif customers and available_components(columns):
            definition = "health"
        elif deals:
            definition = "won"
        else:
            raise UserError(
                "no way to tell good customers from bad: the customers file has no health fields "
                "(churn, ARR, NPS, tickets, ...) and there are no won/lost deals",
                hint="import deals with a stage column, or name an outcome column with --good-column",
            )
    if definition == "won":
        if deals is None:
            raise UserError(
                "good = won deals, but no deals are imported",
                hint="import a deals file with a stage column, or choose another definition of good",
            )
        return build_deals_frame(con, customers, deals, frame, fit_fields, schema=schema, temporary=temporary)
    if customers is None:
        raise UserError("no customers imported yet", hint="import a customers file first")
    if definition == "column":
        return _frame_from_column(
            con, customers, frame, config, fit_fields, temporary, deals=deals, schema=schema, watched=watched
        )
    return _frame_from_health(
        con, customers, frame, config, fit_fields, temporary, deals=deals, schema=schema, watched=watched, lean=lean
    )


_NUMERIC_SQL = {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "FLOAT",
    "DOUBLE",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
}


def _column_types(con, relation: str) -> dict[str, str]:
    return {row[0]: row[1] for row in con.execute(f"DESCRIBE {relation}").fetchall()}


def _same_type(a: str | None, b: str | None) -> bool:
    """Two DuckDB column types one coalesce can hold: equal, or both numbers (read as DOUBLE)."""

    def numeric(t):
        return t in _NUMERIC_SQL or (t or "").startswith("DECIMAL")

    return a == b or (numeric(a) and numeric(b))


def _as_of(con, table: str, columns: set[str], config: HealthConfig) -> str:
    if config.as_of:
        return config.as_of
    dates = [
        c for c in ("customer_since", "churn_date", "close_date", "last_activity_date", "data_as_of") if c in columns
    ]
    if not dates:
        return str(con.execute("SELECT current_date").fetchall()[0][0])
    latest = con.execute(
        f"SELECT max(greatest({', '.join(f'coalesce({d}, DATE {chr(39)}1900-01-01{chr(39)})' for d in dates)})) "
        f"FROM {table}"
    ).fetchall()[0][0]
    return str(latest)


def _fit_select(fit_fields: list[str], columns: set[str], alias: str = "c") -> list[str]:
    out = []
    for name in fit_fields:
        if f"{name}_min" in columns:
            out += [f"{alias}.{_q(name)}", f"{alias}.{_q(name + '_min')}", f"{alias}.{_q(name + '_max')}"]
        elif name in columns:
            out.append(f"{alias}.{_q(name)}")
    return out


def _rank_by_value(value: str, name: str, relation: str) -> str:
    """SQL (the body of a SELECT) giving, per distinct non-null `value` of `relation`, its mid-rank as `name` (0-1).

    The mid-rank of a value is the mean of the percent_ranks its tied rows would get if the ties were broken:
    (rows below + (tied rows - 1) / 2) / (rows - 1), in DOUBLE, 0 for a single row. An untied value gets exactly
    `percent_rank() OVER (ORDER BY value)`; a tied group sits at its middle, not at its lowest place, so a yes/no
    component where 80% say yes ranks them at 0.6, not 0.2 (percent_rank put every tied top value at the
    bottom's share, and a health score of such components never reached 50). This is the usual percentile
    rank with ties ((below + tied / 2) / rows, e.g. Crocker & Algina 1986), rescaled so untied ranks run 0-1.
    A GROUP BY and a window over the distinct values replace a sort of every row; join the result back on `value`.
    """
    return (
        f"{value}, CASE WHEN _total > 1 THEN (CAST(sum(_rows) OVER (ORDER BY {value}) - _rows AS DOUBLE) "
        f"+ (_rows - 1) / 2.0) / CAST(_total - 1 AS DOUBLE) ELSE 0.0 END AS {name} "
        f"FROM (SELECT {value}, count(*) AS _rows, sum(count(*)) OVER () AS _total FROM {relation} "
        f"WHERE {value} IS NOT NULL GROUP BY {value})"
    )


def in_row_order(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """True when `table`'s stored order is ascending `_row` (a streaming lag over the scan, no sort): a plain scan
    then reads its rows in `_row` order, so a copy of it needs no ORDER BY."""
    return not con.execute(
        f"SELECT count(*) FROM (SELECT _row <= lag(_row) OVER () AS back FROM {table}) WHERE back"
    ).fetchall()[0][0]


# Values of a lifecycle / account type / customer status column (HubSpot lifecycle stages, Salesforce and Zoho
# account types, Freshsales business types, ...), lower-cased. An account whose value names a relation other than
# buying (a prospect, lead, partner, reseller, competitor, ...) is not a customer; checked before CUSTOMER_VALUE so
# "prospective customer" is a prospect. A column is read as a status only when it holds both kinds of values.
NOT_CUSTOMER_VALUE = (
    r"\b(prospect\w*|leads?|suspects?|subscribers?|opportunit\w*|mql|sql|(marketing|sales)[ _-]?qualified\w*|"
    r"marketingqualifiedlead|salesqualifiedlead|partners?|resellers?|distributors?|integrators?|competitors?|"
    r"vendors?|suppliers?|investors?|press|analysts?|trial\w*|not[ _-]?a[ _-]?customer|non[ _-]?customer)\b"
)
CUSTOMER_VALUE = r"\b(customers?|clients?|churned|evangelists?)\b"
# the columns holding a customer's own health data: an account with none of them has nothing to score but an
# implied "not churned" (an empty churn date reads as retained)
OWN_HEALTH_DATA = (
    "churned",
    "churn_date",
    "customer_since",
    "arr",
    "starting_arr",
    "mrr",
    "starting_mrr",
    "nrr",
    "cac",
    "cac_payback_months",
    "support_tickets",
    "nps",
    "referrals",
    "days_to_close",
    "events_per_month",
    "sessions_per_month",
    "minutes_per_month",
    "avg_active_users",
)


@dataclass
class NonCustomers:
    """Accounts of the customers table that are not customers: how many, and the SQL telling them."""

    count: int = 0
    note: str | None = None  # what was left out, why, and how to change it
    sql: str = "FALSE"  # TRUE for an account that is not a customer, over the customers' columns as alias `c`


def _role_set(con: duckdb.DuckDBPyConnection, field: str) -> bool:
    """True when the user set `field`'s role (`set-field-roles`; the workspace's field_roles table)."""
    if not table_exists(con, "field_roles"):
        return False
    return bool(con.execute("SELECT count(*) FROM field_roles WHERE field = ?", [field]).fetchall()[0][0])


def status_columns(con: duckdb.DuckDBPyConnection, table: str, names: list[str]) -> dict[str, tuple[list, list]]:
    """Columns among `names` of `table` that encode customer status (a lifecycle stage, an account or business type,
    a customer status): column -> (its non-customer values, its customer values), each lower-cased and trimmed.

    A text column is one when its values (at most 40 distinct) include both a customer value (customer, client,
    churned, ...) and a non-customer one (prospect, lead, partner, reseller, ...), and those hold at least half of
    its known rows; each distinct value is classified once. Other values (other, blank) say nothing."""

    types = _column_types(con, table)
    text = [name for name in dict.fromkeys(names) if types.get(name) == "VARCHAR"]
    if not text:
        return {}
    # two scans whatever the number of columns: the distinct counts (approximate: a screen, 40 is far from a
    # high-cardinality column's count), then the value counts of the few low-cardinality columns
    distinct = con.execute(
        f"SELECT {', '.join(f'approx_count_distinct({_q(n)})' for n in text)} FROM {table}"
    ).fetchall()[0]
    few = [n for n, d in zip(text, distinct) if d and d <= 40]
    if not few:
        return {}
    histograms = con.execute(
        f"SELECT {', '.join(f'histogram(lower(trim({_q(n)})))' for n in few)} FROM {table}"
    ).fetchall()[0]
    out: dict[str, tuple[list, list]] = {}
    for name, counts in zip(few, histograms):
        counts = counts or {}
        if len(counts) > 40:
            continue
        other = [v for v in counts if re.search(NOT_CUSTOMER_VALUE, v)]
        customer = [v for v in counts if v not in other and re.search(CUSTOMER_VALUE, v)]
        # most rows hold a status value: an industry list naming "Customer service" and "Resellers" is no status
        if other and customer and sum(counts[v] for v in other + customer) >= 0.5 * sum(counts.values()):
            out[name] = (sorted(other), sorted(customer))
    return out


def find_non_customers(
    con: duckdb.DuckDBPyConnection,
    customers: str,
    deals: str | None,
    fit_fields: list[str],
    schema=None,
    *,
    skip: frozenset[str] = frozenset(),
    left_out_of: str = "the health cohorts",
) -> NonCustomers:
    """The accounts of `customers` the health score must not rank as customers, as SQL over its columns (alias c).

    An accounts export often holds prospects, leads and partners beside the customers; scored, they look like
    retained customers with no other data (an empty churn date reads as "not churned") and swamp the cohorts.
    An account is left out when
    - a status column (`status_columns` over the fit fields, lifecycle_stage and post-sale fields;
      `set-field-roles COLUMN=ignore` stops reading one)
      gives it a non-customer value, unless deals are linked and it won one (a won deal beats a stale label); or
    - deals are imported and linked to the accounts (at least one won deal links), it never won one, it holds
      no health data of its own (OWN_HEALTH_DATA: churn date, ARR, NPS, ...) and no customer status value.
      A customer with data but no won deal stays: a deals export often covers only recent years.
    Columns in `skip` are never read as a status (a column-outcome build's own outcome column); `left_out_of` words
    what the accounts are left out of in the note.
    Returns the SQL (self-contained, so a stored query re-runs), the count and a note saying what was left out and
    how to change it."""
    columns = columns_of(con, customers)
    # the fit fields, the canonical lifecycle_stage and any post-sale field (a status is known after the sale),
    # unless the user set its role to ignore
    sources = schema.sources.get("customers", {}) if schema is not None else {}
    candidates = [f for f in fit_fields if f in columns] + [
        name for name, info in sources.items() if info.role == "post_sale" and name in columns
    ]
    if "lifecycle_stage" in columns:
        candidates.append("lifecycle_stage")
    candidates = [f for f in candidates if (f not in sources or sources[f].role != "ignore") and f not in skip]
    # an accounts export's bare "Type" column is read as deal_type, ignored by default (a deal's new business or
    # renewal); on the accounts it is the account's type (Salesforce: Customer / Prospect / Former Customer), a status
    # like the others unless the user set its role
    if "deal_type" in columns and "deal_type" not in skip and not _role_set(con, "deal_type"):
        candidates.append("deal_type")
    statuses = status_columns(con, customers, candidates)
    won_keys = None
    if deals is not None and "deal_stage" in columns_of(con, deals):
        key = company_key(con, deals, customers)
        if key is not None:
            won_sql = (
                f"coalesce({key.company_expr('c')} IN (SELECT {key.expr('d')} FROM {deals} d "
                f"WHERE {stage_class('d.deal_stage')} = 'won'), FALSE)"
            )
            if con.execute(f"SELECT count_if({won_sql}) FROM {customers} c").fetchall()[0][0]:
                won_keys = won_sql
    won = won_keys or "FALSE"
    labelled = [
        f"coalesce(lower(trim(c.{_q(name)})) IN ({', '.join(sql_literal(v) for v in other)}), FALSE)"
        for name, (other, _) in statuses.items()
    ]
    called_customer = [
        f"coalesce(lower(trim(c.{_q(name)})) IN ({', '.join(sql_literal(v) for v in good)}), FALSE)"
        for name, (_, good) in statuses.items()
    ]
    own = [f"c.{_q(name)} IS NOT NULL" for name in OWN_HEALTH_DATA if name in columns]
    status_out = f"({' OR '.join(labelled)}) AND NOT {won}" if labelled else "FALSE"
    nothing_own = f"NOT ({' OR '.join(own)})" if own else "TRUE"
    no_win_out = (
        f"NOT {won} AND {nothing_own} AND NOT ({' OR '.join(called_customer) or 'FALSE'})" if won_keys else "FALSE"
    )
    labelled_won = f"({' OR '.join(labelled)}) AND {won}" if labelled and won_keys else "FALSE"
    count, by_status, by_deals, kept_won = con.execute(
        f"SELECT count_if(by_status OR by_deals), count_if(by_status), count_if(by_deals AND NOT by_status), "
        f"count_if(kept) FROM (SELECT {status_out} AS by_status, {no_win_out} AS by_deals, {labelled_won} AS kept "
        f"FROM {customers} c)"
    ).fetchall()[0]
    if not count and not kept_won:
        return NonCustomers()

    def header(name: str) -> str:
        info = schema.field(name, "customers") if schema is not None else None
        return info.header if info is not None and info.header else name

    shown = "; ".join(
        f"{header(name)!r} = {', '.join(repr(v) for v in other[:6])}" for name, (other, _) in statuses.items()
    )
    parts = []
    if by_status:
        parts.append(
            f"{by_status:,} have a non-customer status ({shown})" + (" and never won a deal" if won_keys else "")
        )
    if by_deals:
        parts.append(f"{by_deals:,} never won a deal and have no health data of their own (churn date, ARR, NPS, ...)")
    note = (
        f"{count:,} {'accounts are' if count != 1 else 'account is'} not a customer and left out of {left_out_of}: "
        f"{'; '.join(parts)}"
        if count
        else ""
    )
    if kept_won:
        note += ("; " if note else "") + (
            f"{kept_won:,} account{'s' if kept_won != 1 else ''} with a non-customer status ({shown}) won a deal: "
            f"scored as customers"
        )
    how = []
    if statuses:
        how.append(
            "to stop reading a column as a customer status: icp-agent set-field-roles "
            + " ".join(f"{name}=ignore" for name in statuses)
        )
    if by_deals:
        how.append("an account is scored once it has a won deal or health data (a churn date, customer since, ARR)")
    how.append("to compare won vs lost deals instead: --good won")
    return NonCustomers(
        count=count, note=f"{note} ({'; '.join(how)})", sql=f"(({status_out}) OR ({no_win_out}))" if count else "FALSE"
    )


def _create(frame: str, temporary: bool) -> str:
    """The statement that (re)creates a frame: a TEMP table when it is dropped before the connection closes."""
    return f"CREATE OR REPLACE {'TEMP ' if temporary else ''}TABLE {frame}"


def _store_by_position(con, frame: str, select: str) -> None:
    """Create the stored table `frame` from `select`, a plan whose rows come out of a POSITIONAL JOIN, in two steps:
    the rows into a TEMP table (in memory, uncompressed), then that table's plain scan into `frame`. DuckDB runs a
    positional join's pipeline on one thread, and a stored table's row groups are compressed by the pipeline that
    inserts them (and at the commit, for what it left): written straight from the join, a 1M-customer frame was
    compressed on that one thread (1.5 s) and its commit took 0.45 s more, alone at the end of the build; in two
    steps the join takes 0.6 s, the copy 0.63 s on two threads (the scan and the compression on every thread, order
    kept: a plain scan is an order-keeping plan, DuckDB's batch insert) and the commit 0.04 s, for the same CPU.
    Same rows, same order, same types; the TEMP table (memory, or spilled beside the workspace) is dropped."""
    staging = f"__icp_staging_{frame}"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {staging} AS {select}")
    try:
        con.execute(f"CREATE OR REPLACE TABLE {frame} AS SELECT * FROM {staging}")
    finally:
        con.execute(f"DROP TABLE IF EXISTS {staging}")


def _frame_from_health(
    con,
    customers: str,
    frame: str,
    config: HealthConfig,
    fit_fields: list[str],
    temporary: bool = False,
    *,
    deals: str | None = None,
    schema=None,
    watched: Callable[[], AbstractContextManager[object]] = nullcontext,
    lean: bool = False,
) -> HealthResult:
    columns = columns_of(con, customers)
    # accounts that are not customers (prospects, partners, leads) get no health and no cohort: scored, an empty
    # churn date made each a "retained customer" with nothing else known, and they swamped the cohorts
    outside = find_non_customers(con, customers, deals, fit_fields, schema)
    as_of = _as_of(con, customers, columns, config)
    components = available_components(columns)
    weights = {k: float(config.weights.get(k, 0)) for k in components if config.weights.get(k, 0) > 0}
    if not weights:
        raise UserError("every health component available has weight 0", hint="give at least one a weight")
    raw = _raw_values(columns, as_of)
    censor = (
        f"(NOT churned_flag AND tenure_months IS NOT NULL AND tenure_months < {config.min_tenure_months})"
        if "retention" in components
        else "FALSE"
    )
    values = []
    for name in weights:
        value = components[name]
        if name == "retention":
            # active customers rank above churned ones; within each, longer tenure ranks higher
            value = "CASE WHEN censored THEN NULL ELSE (NOT churned_flag)::INT * 1e6 + coalesce(tenure_months, 0) END"
        values.append(f"CASE WHEN NOT not_customer THEN ({value}) END AS {_q('v_' + name)}")
    weighted = " + ".join(f"coalesce({_q('c_' + n)} * {w}, 0)" for n, w in weights.items())
    present = " + ".join(f"CASE WHEN {_q('c_' + n)} IS NULL THEN 0 ELSE {w} END" for n, w in weights.items())
    fit = _fit_select(fit_fields, columns)
    keys = [c for c in ("company_id", "company_name", "domain") if c in columns]
    # Each percentile rank is computed over the component's distinct values (a GROUP BY and a window over the few
    # distinct values) and joined back by value, on a narrow relation (row number and component values): no sort
    # of a million rows per component, and no window over every column of every customer.
    ranks = [f"{_q('r_' + n)} AS (SELECT {_rank_by_value(_q('v_' + n), _q('c_' + n), 'narrow')})" for n in weights]
    joins = " ".join(f"LEFT JOIN {_q('r_' + n)} USING ({_q('v_' + n)})" for n in weights)
    ordered = in_row_order(con, customers)
    # the wide columns are pasted beside the ranks by position when the table is stored in _row order (the
    # import writes it so): sorting every column of every customer back into order cost more than the ranking
    # lean: the row number, the fit fields and the raw inputs' columns (churned_flag, tenure_months, ...), no other
    # column of the customers
    carried = (
        ", ".join(["_row", *(f.split(".", 1)[1] for f in fit), *(r.rsplit(" AS ", 1)[1] for r in raw), "censored"])
        if lean
        else "*"
    )
    wide = (
        f"(SELECT {carried} FROM flagged) f POSITIONAL JOIN (SELECT * FROM ranked ORDER BY _row) r"
        if ordered
        else f"{'flagged' if carried == '*' else f'(SELECT {carried} FROM flagged)'} f JOIN ranked r USING (_row)"
    )
    select = f"""
        WITH base AS NOT MATERIALIZED (
            SELECT c._row{"".join(f", c.{k}" for k in keys)}{"".join(", " + f for f in fit)},
                   {", ".join(raw) + "," if raw else ""} c.*
                   EXCLUDE (_row{"".join(", " + k for k in keys)}{"".join(", " + f.split(".", 1)[1] for f in fit)})
            FROM {customers} c),
        flagged AS NOT MATERIALIZED (SELECT *, {censor} AS censored FROM base),
        narrow AS (SELECT _row, not_customer, {", ".join(values)}
                   FROM (SELECT *, {outside.sql} AS not_customer FROM flagged c)),
        {", ".join(ranks)},
        scored AS (SELECT _row, not_customer, {", ".join(_q("c_" + n) for n in weights)} FROM narrow {joins}),
        health AS (SELECT *, CASE WHEN ({present}) = 0 THEN NULL
                                  ELSE round(100 * ({weighted}) / ({present}), 2) END AS health FROM scored),
        health_ranks AS (SELECT {_rank_by_value("health", "health_rank", "health")}),
        ranked AS (SELECT * FROM health LEFT JOIN health_ranks USING (health))
        SELECT f.*, r.* EXCLUDE (_row),
               CASE WHEN health_rank IS NULL THEN NULL
                    WHEN health_rank >= {1 - config.top_share} THEN 'top'
                    WHEN health_rank < {config.bottom_share} THEN 'bottom' ELSE 'middle' END AS cohort,
               coalesce(health_rank >= {1 - config.top_share}, FALSE) AS good,
               coalesce(health_rank < {config.bottom_share}, FALSE) AS bad
        FROM {wide}{"" if ordered else " ORDER BY _row"}"""
    query = f"{_create(frame, temporary)} AS {select}"  # the frame's definition, as the evidence shows it
    with watched():
        if ordered and not temporary:
            _store_by_position(con, frame, select)
        else:
            con.execute(query)
    n, n_good, n_bad, censored = con.execute(
        f"SELECT count(*) FILTER (health IS NOT NULL), count_if(good), count_if(bad), "
        f"count_if(censored AND NOT not_customer) FROM {frame}"
    ).fetchall()[0]
    n_good, n_bad, censored = n_good or 0, n_bad or 0, censored or 0
    if not n:
        total = con.execute(f"SELECT count(*) FROM {frame}").fetchall()[0][0]
        if total and outside.count == total:
            raise DataShapeError(
                f"none of {total:,} accounts is a customer: {outside.note}",
                hint="import the customers, or compare won vs lost deals with --good won",
            )
        raise DataShapeError(
            "no customers to score"
            if not total
            else f"none of {total:,} customers has a value for the health components ({', '.join(weights)})",
            hint="import customers with churn, ARR, NPS or ticket fields, or name an outcome column",
        )
    note = None
    words = (
        f"in the top {numbers.percent(config.top_share, 0)} by health",
        f"in the bottom {numbers.percent(config.bottom_share, 0)} by health",
    )
    if not n_good or not n_bad:
        # ties: a tied group whose middle lies past the cut (a yes/no churn flag alone, or most customers at one
        # score) leaves the top or bottom cohort empty; then that side is the highest (lowest) score's group
        # (retained vs churned) and the other side keeps its cut
        levels = con.execute(f"SELECT count(DISTINCT health) FROM {frame}").fetchall()[0][0]
        if levels < 2:
            raise DataShapeError(
                f"every scored customer has the same health ({', '.join(weights)}): nothing to compare",
                hint="import more health fields (churn, ARR, NPS, tickets), "
                "or name an outcome column with --good-column",
            )
        top_rule = "cohort = 'top'" if n_good else "health = hi"
        bottom_rule = "cohort = 'bottom'" if n_bad else "health = lo"
        con.execute(f"""{_create(frame, temporary)} AS
            SELECT f.* EXCLUDE (cohort, good, bad),
                   CASE WHEN health IS NULL THEN NULL WHEN {top_rule} THEN 'top' WHEN {bottom_rule} THEN 'bottom'
                        ELSE 'middle' END AS cohort,
                   coalesce({top_rule}, FALSE) AS good, coalesce({bottom_rule}, FALSE) AS bad
            FROM {frame} f, (SELECT max(health) AS hi, min(health) AS lo FROM {frame}) x ORDER BY _row""")
        empty_top, empty_bottom = not n_good, not n_bad
        n_good, n_bad = con.execute(f"SELECT count_if(good), count_if(bad) FROM {frame}").fetchall()[0]
        sides = [
            f"good = the highest score ({n_good:,})" if empty_top else "",
            f"bad = the lowest ({n_bad:,})" if empty_bottom else "",
        ]
        note = (
            f"the health score takes only {levels} distinct values and customers with equal health stay together, "
            f"so the {' and '.join(w for w, e in (('top', empty_top), ('bottom', empty_bottom)) if e)} "
            f"{numbers.percent(config.top_share if empty_top else config.bottom_share, 0)} cannot be cut: "
            + ", ".join(p for p in sides if p)
            + (" - retained vs churned" if list(weights) == ["retention"] else "")
        )
        # a side kept by its cut that is exactly one extreme group too (two levels: retained vs churned) is worded so
        top_is_hi, bottom_is_lo = con.execute(
            f"SELECT bool_and(health = hi) FILTER (good), bool_and(health = lo) FILTER (bad) "
            f"FROM {frame} f, (SELECT max(health) AS hi, min(health) AS lo FROM {frame}) x"
        ).fetchall()[0]
        words = (
            "at the highest health score" if empty_top or top_is_hi else words[0],
            "at the lowest health score" if empty_bottom or bottom_is_lo else words[1],
        )
    # in one order (top, middle, bottom; icp.json's cohort_sizes): a GROUP BY gives its groups in whichever order
    # the engine's threads finish
    sizes = dict(
        con.execute(
            f"SELECT cohort, count(*) FROM {frame} WHERE cohort IS NOT NULL GROUP BY cohort "
            "ORDER BY CASE cohort WHEN 'top' THEN 0 WHEN 'middle' THEN 1 ELSE 2 END"
        ).fetchall()
    )
    cohort_note = None
    top, bottom = sizes.get("top", 0) / n, sizes.get("bottom", 0) / n
    if note is None and max(abs(top - config.top_share), abs(bottom - config.bottom_share)) > 0.02:
        # customers with equal health are never split between cohorts (which of them is "better" is arbitrary):
        # a tied group goes to the side of the cut its middle lies on, so a big group moves a cohort's share
        cohort_note = (
            f"customers with equal health stay together, so the top cohort is {numbers.percent(top)} and the bottom "
            f"{numbers.percent(bottom)} of the {n:,} scored (a tied group goes to the side of the cut its middle "
            f"lies on)"
        )
    return HealthResult(
        definition="health",
        entity="customer",
        frame=frame,
        n=n,
        n_good=n_good,
        n_bad=n_bad,
        components=list(weights),
        weights=weights,
        censored=censored,
        as_of=as_of,
        cohort_sizes=sizes,
        queries={"frame": " ".join(query.split())},
        note=note,
        not_customers=outside.count,
        not_customers_note=outside.note,
        cohort_note=cohort_note,
        churn_note=SUBSCRIPTION_CHURN_RULE if "subscription_count" in columns and "retention" in weights else None,
        words=words,
    )


def _outcome_value(con, customers: str, config: HealthConfig, columns: set[str]) -> tuple[str, str, str]:
    """(column name, SQL of the outcome: TRUE good / FALSE bad / NULL neither, the rule in words)."""
    name = config.good_column or config.bad_column
    option = "--good-column" if config.good_column else "--bad-column"
    if config.good_column and config.bad_column:
        raise ArgumentError(
            "--good-column and --bad-column name the same outcome twice",
            hint="give one: --good-column COL (yes = good) or --bad-column COL (yes = bad)",
        )
    if name not in columns:
        raise ArgumentError(
            f"{option} {name!r}: no such column in the customers data",
            hint=f"columns are: {', '.join(sorted(c for c in columns if not c.startswith('_')))}",
        )
    text = f"lower(regexp_replace(trim(CAST(c.{_q(name)} AS VARCHAR)), '\\s+', ' ', 'g'))"
    if config.good_value is not None or config.bad_value is not None:

        def norm(v: str) -> str:
            return sql_literal(" ".join(str(v).split()).lower())

        values = [
            v
            for (v,) in con.execute(
                f"SELECT DISTINCT {text} FROM {customers} c WHERE {text} IS NOT NULL ORDER BY 1 LIMIT 50"
            ).fetchall()
        ]
        for flag, given in (("--good-value", config.good_value), ("--bad-value", config.bad_value)):
            if given is not None and " ".join(str(given).split()).lower() not in values:
                raise ArgumentError(
                    f"{flag} {given!r}: no row of column {name!r} has that value",
                    hint=f"its values are: {', '.join(values[:20])}",
                )
        good = f"{text} = {norm(config.good_value)}" if config.good_value is not None else None
        bad = f"{text} = {norm(config.bad_value)}" if config.bad_value is not None else None
        if good and bad:
            rule = (
                f"{name} = {config.good_value!r} is good, {name} = {config.bad_value!r} is bad, other values left out"
            )
            return name, f"CASE WHEN {good} THEN TRUE WHEN {bad} THEN FALSE END", rule
        if good:
            rule = f"{name} = {config.good_value!r} is good, any other value bad"
            return name, f"CASE WHEN {text} IS NULL THEN NULL ELSE {good} END", rule
        rule = f"{name} = {config.bad_value!r} is bad, any other value good"
        return name, f"CASE WHEN {text} IS NULL THEN NULL ELSE NOT ({bad}) END", rule
    flag = boolean(f"CAST(c.{_q(name)} AS VARCHAR)")
    known, yes_no = con.execute(f"SELECT count({text}), count({flag}) FROM {customers} c").fetchall()[0]
    if known and yes_no < known:
        values = [
            v
            for (v,) in con.execute(
                f"SELECT {text} FROM {customers} c WHERE {text} IS NOT NULL "
                f"GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 10"
            ).fetchall()
        ]
        raise ArgumentError(
            f"{option} {name!r} is not a yes/no column (values: {', '.join(values)})",
            hint=f"say which value is good: {option} {name} --good-value VALUE [--bad-value VALUE]",
        )
    if config.bad_column:
        return name, f"NOT {flag}", f"{name} = yes is bad (a churn/default flag), no is good"
    return name, flag, f"{name} = yes is good, no is bad"


# the good side of a yes-is-bad flag, where the language has a word for it
_OPPOSITES = {
    "churned": "retained",
    "churn": "retained",
    "cancelled": "retained",
    "canceled": "retained",
    "defaulted": "repaid",
    "default": "repaid",
    "lost": "won",
    "won": "lost",
    "active": "inactive",
}


def outcome_words(config: HealthConfig, name: str) -> tuple[str, str]:
    """(good, bad) for an outcome column, each read after "are": --good-column activated gives
    ("activated", "not activated"); --bad-column churned gives ("retained", "churned"), so a
    statement says "81% of these customers are churned", never "churned = false"; with
    --good-value / --bad-value: ("stage = 'Paid'", "stage = 'Default'") or "stage other than 'Paid'"."""
    label = name.replace("_", " ").strip()
    if config.good_value is not None or config.bad_value is not None:
        good = (
            f"{label} = {config.good_value!r}"
            if config.good_value is not None
            else f"{label} other than {config.bad_value!r}"
        )
        bad = (
            f"{label} = {config.bad_value!r}"
            if config.bad_value is not None
            else f"{label} other than {config.good_value!r}"
        )
        return good, bad
    word = label[3:] if label.startswith("is ") else label
    opposite = _OPPOSITES.get(word.lower())
    if config.bad_column:
        return opposite or f"not {word}", word
    return word, (opposite if opposite and word.lower() in ("active", "won") else f"not {word}")


def _frame_from_column(
    con,
    customers: str,
    frame: str,
    config: HealthConfig,
    fit_fields: list[str],
    temporary: bool = False,
    *,
    deals: str | None = None,
    schema=None,
    watched: Callable[[], AbstractContextManager[object]] = nullcontext,
) -> HealthResult:
    columns = columns_of(con, customers)
    name, value, rule = _outcome_value(con, customers, config, columns)
    value = f"({value})"
    fit = _fit_select([f for f in fit_fields if f != name], columns)
    keys = [c for c in ("company_id", "company_name", "domain") if c in columns]
    # the accounts that are not customers (a prospect is "Active" too) are left out as in a health build, unless
    # that leaves no good or no bad account (the outcome itself tells customers from the rest)
    outside = find_non_customers(
        con,
        customers,
        deals,
        [f for f in fit_fields if f != name],
        schema,
        skip=frozenset({name}),
        left_out_of="the outcome comparison",
    )
    if (
        outside.count
        and 0
        in con.execute(
            f"SELECT count_if({value}), count_if(NOT {value}) FROM {customers} c WHERE NOT ({outside.sql})"
        ).fetchall()[0]
    ):
        outside = NonCustomers()
    query = f"""
        {_create(frame, temporary)} AS
        SELECT c._row{"".join(f", c.{k}" for k in keys)}{"".join(", " + f for f in fit)},
               {value} AS outcome,
               CASE WHEN {value} THEN 'good' WHEN NOT {value} THEN 'bad' END AS cohort,
               coalesce({value}, FALSE) AS good, coalesce(NOT {value}, FALSE) AS bad
        FROM {customers} c WHERE {value} IS NOT NULL AND NOT ({outside.sql}) ORDER BY c._row"""
    with watched():
        con.execute(query)
    n, n_good, n_bad = con.execute(f"SELECT count(*), count_if(good), count_if(bad) FROM {frame}").fetchall()[0]
    if not n_good or not n_bad:
        raise DataShapeError(
            f"outcome {rule}: {n_good or 0} good and {n_bad or 0} bad rows, nothing to compare",
            column=name,
            hint="name an outcome that separates good customers from the rest",
        )
    return HealthResult(
        definition="column",
        entity="customer",
        frame=frame,
        n=n,
        n_good=n_good,
        n_bad=n_bad,
        components=[],
        weights={},
        good_column=name,
        cohort_sizes={"good": n_good, "bad": n_bad},
        queries={"frame": " ".join(query.split())},
        outcome=rule,
        words=outcome_words(config, name),
        not_customers=outside.count,
        not_customers_note=outside.note,
    )


def _stage_problem(con, deals: str, n_good: int, n_bad: int, schema=None) -> str:
    """Why won vs lost cannot be compared: the counts, the column that was read and its commonest values."""
    info = schema.field("deal_stage", "deals") if schema is not None else None
    header = info.header if info is not None and info.header else None
    column = f"the deal stage column ({header!r})" if header and header != "deal_stage" else "the deal stage column"
    values = con.execute(
        f"SELECT deal_stage::VARCHAR, count(*) FROM {deals} WHERE deal_stage IS NOT NULL "
        "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 8"
    ).fetchall()
    shown = ", ".join(f"{v!r} ({c:,})" for v, c in values) or "none: it is empty"
    if not n_good and not n_bad:
        lead = "no won or lost deals"
    else:
        lead = f"{n_good:,} won and {n_bad:,} lost deals: both are needed to compare"
    return (
        f"{lead}: {column} holds {shown}; a won deal needs a value such as 'won' / 'closed won', a lost one "
        f"'lost' / 'closed lost' (anything else is read as an open pipeline stage)"
    )


def build_deals_frame(
    con,
    customers: str | None,
    deals: str,
    frame: str,
    fit_fields: list[str],
    stages: tuple[str, ...] = ("won", "lost"),
    schema=None,
    temporary: bool = False,
) -> HealthResult:
    """One row per deal in `stages`, with its company's fit fields (the customer record's, else the deal's own).

    `amount` is the deal's amount per year (ACV) and renewals and expansions are left out when the deals tell them
    from new business (health/deal_kinds.py); the result's `note` says what was counted.

    A deal's copy of a field fills in the company's only when the two mean the same thing: the
    schema's reconciliation (schema.py: a company's own field, of one kind) says so, without a schema the field is
    one of the company's (ingest.fields.COMPANY_FIELDS), and their DuckDB types agree (numbers of either kind are
    read as DOUBLE). Otherwise the customers' field is used alone. `temporary`: see build_frame.
    """
    deal_columns = columns_of(con, deals)
    if "deal_stage" not in deal_columns:
        raise DataShapeError(
            "the deals have no stage column, so won and lost cannot be told apart",
            hint="import deals with a 'Deal Stage' / 'Stage' column",
        )
    customer_columns = columns_of(con, customers) if customers else set()
    key = company_key(con, deals, customers) if customers else None
    # the key the link report chose and counted (ingest/links.py), so the frame joins what was reported
    # each company's key computed once (it is a normalisation, and for a name or domain a check against the keys
    # several companies share), then used both to keep a company's first row and to join
    join = (
        (
            f"LEFT JOIN (SELECT * FROM (SELECT *, {key.company_expr(customers)} AS __icp_key FROM {customers}) "
            f"QUALIFY row_number() OVER (PARTITION BY __icp_key ORDER BY _row) = 1) c ON c.__icp_key = {key.expr('d')}"
        )
        if key is not None and customers is not None
        else ""
    )
    deal_types = _column_types(con, deals)
    customer_types = _column_types(con, customers) if customers else {}
    fit = []
    for name in fit_fields:
        banded = f"{name}_min" in deal_columns | customer_columns
        for part in [name, f"{name}_min", f"{name}_max"] if banded else [name]:
            # the company's own record wins; a lost deal's account fields fill in for non-customers
            sources = ([f"c.{_q(part)}"] if key and part in customer_columns else []) + (
                [f"d.{_q(part)}"] if part in deal_columns else []
            )
            if len(sources) == 2:
                a, b = customer_types.get(part), deal_types.get(part)
                # the schema says which shared fields are one thing (schema._reconcile); without one, only a
                # company's own fields are: a same-named field of a deal (Close's status_label) is the deal's
                merges = schema.merge_with_deals(name) if schema is not None else name in COMPANY_FIELDS
                if not merges or not _same_type(a, b):
                    fit.append(f"{sources[0]} AS {_q(part)}")  # kept apart: the customers' field alone
                elif a != b:
                    fit.append(
                        f"coalesce(TRY_CAST({sources[0]} AS DOUBLE), TRY_CAST({sources[1]} AS DOUBLE)) AS {_q(part)}"
                    )
                else:
                    fit.append(f"coalesce({sources[0]}, {sources[1]}) AS {_q(part)}")
            elif sources:
                fit.append(f"{sources[0]} AS {_q(part)}")
    ids = [f"d.{c}" for c in ("deal_id", "company_id", "company_name", "domain") if c in deal_columns]
    # the amount per year (ACV), and new business only when renewals can be told apart (health/deal_kinds.py)
    terms = deal_terms(con, deals, stage_class("d.deal_stage"))
    extras = ([f"{terms.acv} AS amount"] if terms.acv else []) + [
        f"d.{c}" for c in ("close_date", "deal_created_date") if c in deal_columns
    ]
    new_only = f" AND NOT {terms.renewal}" if terms.new_only and terms.renewal else ""
    query = f"""
        {_create(frame, temporary)} AS
        SELECT d._row{"".join(", " + i for i in ids)}{"".join(", " + f for f in fit)}{"".join(", " + e for e in extras)},
               {stage_class("d.deal_stage")} AS outcome_stage,
               {stage_class("d.deal_stage")} AS cohort,
               {stage_class("d.deal_stage")} = 'won' AS good, {stage_class("d.deal_stage")} = 'lost' AS bad
        FROM {deals} d {join}
        WHERE {stage_class("d.deal_stage")} IN ({", ".join(f"'{s}'" for s in stages)}){new_only} ORDER BY d._row"""
    con.execute(query)
    n, n_good, n_bad = con.execute(
        f"SELECT count(*), coalesce(count_if(good), 0), coalesce(count_if(bad), 0) FROM {frame}"
    ).fetchall()[0]
    if stages == ("won", "lost") and (n_good == 0 or n_bad == 0):
        raise DataShapeError(
            _stage_problem(con, deals, n_good, n_bad, schema),
            column="deal_stage",
            hint="include closed-won and closed-lost deals in the export, or map the column that "
            "says won/lost (a Status column) to deal_stage in the mapping file "
            '([files."deals.csv".columns] "Status" = "deal_stage"), or name an outcome '
            "column with --good-column / --bad-column",
        )
    return HealthResult(
        definition="won",
        entity="deal",
        frame=frame,
        n=n,
        n_good=n_good,
        n_bad=n_bad,
        components=[],
        weights={},
        cohort_sizes={"won": n_good, "lost": n_bad},
        queries={"frame": " ".join(query.split())},
        words=("won", "lost"),
        note="; ".join(terms.notes) or None,
    )
