"""Multi-table SaaS exports: subscriptions, tickets and events rolled up per account into health inputs.

A SaaS company's exports are an accounts file (firmographics, maybe a churn flag) plus tables
with a row per subscription (Stripe, Chargebee, Recurly, Baremetrics), per support ticket
(Zendesk, Intercom, Salesforce cases) and per product or lifecycle event. `roll_up` aggregates
those tables per account, in SQL, and writes one table: the accounts with the health inputs
`analysis/health.py` reads. Definitions (all as of one date, `as_of`):

- ARR of a subscription row: its ARR column, else 12 x its MRR column, else its price: amount x quantity x
  the billing periods a year holds / the interval count (`_priced_arr`; stated in the notes). A row whose
  status says it has not started paying (trialing, incomplete, future) has none.
- ARR of an account on a day D: the sum over its subscriptions live on D. Rows sharing a
  subscription id are that subscription's history: on D the row that started last (on or before
  D) stands for it, so a plan change is not counted twice. Overlapping different subscriptions
  (add-ons, seats, a second product) add up.
- starting_arr: ARR on the account's first paid subscription start (a free trial before it does
  not count); arr: ARR on `as_of` (0 once all have ended); nrr = arr / starting_arr (a ratio,
  1.1 = 110%); customer_since: that first paid start (the first start when no amounts are given).
- A row is live on D when it started on or before D and its end (ended_at, else canceled_at) is
  empty or after D; a row without an end date whose status says it ended (canceled, expired,
  unpaid, ...: ENDED_STATUS) is not live on `as_of`. A cancellation date is no end while the status
  says the row runs (Stripe's cancel at period end), nor, without a status, beside an end column.
  A paused row is live without ARR on `as_of`; past_due is live and billed. The notes count each status.
- churned: the account has subscriptions and none is live on `as_of`; churn_date: the last end.
  Without subscription rows, a cancellation event (cancel, churn, terminate, ...) not followed
  by a reactivation churns it on that event's day. Otherwise the accounts file's own values stand.
- tickets_per_year: tickets opened in the account's observed window / the window in years; the
  window runs from the later of its customer_since and the tickets file's first date (an export
  of the last year says nothing about the years before) to its churn date or `as_of`, and counts
  at least one month. An account with no ticket in the file has 0 (the file covers every account).
- events_per_month: usage events (every event that is neither a cancellation nor a billing or
  lifecycle event) over the same kind of window; last_activity_date: the latest usage event.
  Usage aggregated per account and period (Amplitude's weekly active accounts, a Mixpanel or PostHog
  report: a period column and counts, no event names; `_usage_shape`) gives the same from its first
  count: events, sessions or minutes per month (the counts summed), else active users per period
  averaged over the window; last_activity_date is the last period with use. It has no cancellations.
- data_as_of: `as_of`, so the health score's tenure and these figures agree on the date. By default the
  latest date the data holds (`_as_of`): starts, current period starts, ticket and event dates, and the
  cancellations and ends of rows whose status says they ended (a scheduled end is a future date).

A value from these tables wins over the accounts file's for accounts the tables mention; an
account they do not mention keeps its own values, and a component nobody measured stays
missing (re-weighted by the health score, never zero). Accounts in the tables but not in the
accounts file are counted and reported, never invented; so are rows naming a value several accounts
share (two companies called Acme): they are linked to neither, not counted for both. The rows the chosen key
leaves unlinked (a Stripe customer paying from a gmail address) link by the second key pair linking the most of
them (`link_accounts`); names compare by their stem when one account has it (`_value`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import duckdb

from icp_agent.errors import UserError
from icp_agent.ingest.amounts import period_factor_sql
from icp_agent.models import LinkReport
from icp_agent.sql import columns_of, sql_literal
from icp_agent.sql import quote_identifier as _q

RollupKind = Literal["subscriptions", "tickets", "events"]
ROLLUP_KINDS: tuple[RollupKind, ...] = ("subscriptions", "tickets", "events")
ACCOUNT_KEYS = ("company_id", "domain", "company_name")  # ids beat domains beat names on a tie
DAYS_PER_MONTH = 30.4375
DAYS_PER_YEAR = 365.25
# Event names (lower-cased) by what they say about the account.
CANCEL_EVENT = r"cancel|churn|terminat|deactivat|closed?[ _-]?account|account[ _-]?closed|offboard"
REACTIVATION_EVENT = r"reactivat|resum|restart|re-?subscri|win[ _-]?back"
LIFECYCLE_EVENT = (
    r"subscri|invoice|payment|billing|charge|refund|plan|trial|sign[ _-]?up|renew|upgrade|"
    r"downgrade|checkout|coupon|" + REACTIVATION_EVENT
)
# Statuses, when a row has no end date (its dates, when given, decide). Chargebee's non_renewing is still live until
# its term ends, so it is not here; Paddle Classic's `deleted` is its cancellation; Stripe's `unpaid` (retries
# exhausted, invoices left open) is no longer paid for and counts as ended; `incomplete_expired` never started.
ENDED_STATUS = r"cancel|expired|ended|churn|inactive|terminat|deleted|unpaid"
# Live but not paying (yet): a trial, a first payment not yet made, a start in the future, a pause. The account is
# no churn, but the row adds no ARR on the day (a paused row's earlier revenue still counts at its start). Stripe's
# past_due is still billed (retries running) and counts in full, as Stripe's own MRR does.
UNPAID_STATUS = r"trial|incomplete|future|pause"
NOT_STARTED_STATUS = r"trial|incomplete|future"  # never paid: no starting ARR either
FINISHED_STATUS = r"expired|ended|deleted|terminat|churn|inactive"  # past its end date (not a cancel still running)
MIN_LINKED_SHARE = 0.5
# How churn is read from subscriptions, in words (icp.json's health description; the README says the same)
SUBSCRIPTION_CHURN_RULE = (
    "churn from the subscriptions: an account churned when all its subscriptions ended (canceled, ended, expired, "
    "deleted or unpaid; a given end date decides when), on the last end; past_due counts as live and billed, "
    "trialing, incomplete and future as live without ARR yet, paused as live without current ARR"
)


def _key(expr: str) -> str:
    """A link value compared case- and space-insensitively, whatever its stored type."""
    return f"nullif(lower(trim(CAST({expr} AS VARCHAR))), '')"


def _others(con: duckdb.DuckDBPyConnection, accounts: str, key: str) -> str:
    """SQL over an accounts row telling accounts apart: its other id, domain and name columns as a list (NULL when
    the file has no other key column)."""
    others = [_key(_q(k)) for k in ACCOUNT_KEYS if k != key and k in columns_of(con, accounts)]
    return f"list_value({', '.join(others)})" if others else "NULL"


def _value(con: duckdb.DuckDBPyConnection, expr: str, accounts: str, key: str) -> str:
    """SQL of a link value compared with the accounts file's `key` column: case and spaces aside (`_key`); for a
    name, its stem (ingest/links.py `name_key`: punctuation and legal suffixes dropped, "Quazen Freight S.L." is
    "quazen freight") when exactly one account has that stem, else the name as written (case and spaces aside),
    so "Acme Inc" and "Acme LLC", two accounts, each still link by their full name."""
    if key != "company_name":
        return _key(expr)
    from icp_agent.ingest.links import name_key

    others = _others(con, accounts, key)
    one = f"count(DISTINCT {others}) = 1" if others != "NULL" else "count(*) = 1"
    stems = f"(SELECT {name_key(_q(key))} AS k FROM {accounts} GROUP BY 1 HAVING {one})"
    stem = name_key(expr)
    # chr(3) keeps a written name apart from every stem
    return f"(CASE WHEN {stem} IN {stems} THEN {stem} ELSE chr(3) || {_key(expr)} END)"


def _unique_keys(con: duckdb.DuckDBPyConnection, accounts: str, key: str) -> str:
    """SQL subquery of the values of `key` that name exactly one account (normalised as `_value`).

    Two accounts may share a name ("Acme" in two countries): a table row naming only "Acme" cannot
    be told apart, so it is linked to neither instead of being counted for both. Rows sharing a value
    that agree on the accounts file's other id, domain and name columns are one account listed twice.
    """
    value = _value(con, _q(key), accounts, key)
    others = _others(con, accounts, key)
    one = f"count(DISTINCT {others}) = 1" if others != "NULL" else "count(*) = 1"
    return f"(SELECT {value} FROM {accounts} WHERE {value} IS NOT NULL GROUP BY 1 HAVING {one})"


def _account_key(con: duckdb.DuckDBPyConnection, expr: str, accounts: str, key: str) -> str:
    """The link value of an accounts row (`expr` is its `key` column), NULL when another account shares it."""
    value = _value(con, expr, accounts, key)
    return f"CASE WHEN {value} IN {_unique_keys(con, accounts, key)} THEN {value} END"


def _row(con: duckdb.DuckDBPyConnection, query: str) -> tuple[Any, ...]:
    """The row of a query that returns exactly one (an aggregate without GROUP BY)."""
    row = con.execute(query).fetchone()
    assert row is not None, query
    return row


class _Keys(NamedTuple):
    """The column pair that links a per-account table to the accounts file, and the second pair tried for the
    rows the first leaves unlinked (a Stripe row with a gmail address still names its customer)."""

    child: str  # column in the table
    account: str  # column in the accounts file
    fallback: tuple[str, str] | None = None  # (column in the table, column in the accounts file)


def _account_expr(con: duckdb.DuckDBPyConnection, alias: str, keys: _Keys, accounts: str) -> str:
    """SQL of an accounts row's link value (`alias` is the accounts table or its alias), equal to `_child_expr`
    of the table rows that link to it: the first key's value, else (a second key, the first key's value missing
    or shared) the second key's value marked so the two never collide; NULL when neither names one account."""
    first = _account_key(con, f"{alias}.{_q(keys.account)}", accounts, keys.account)
    if keys.fallback is None:
        return first
    second = _account_key(con, f"{alias}.{_q(keys.fallback[1])}", accounts, keys.fallback[1])
    return f"coalesce({first}, chr(1) || {second})"


def _child_expr(con: duckdb.DuckDBPyConnection, alias: str, keys: _Keys, accounts: str) -> str:
    """SQL of a table row's link value (`alias` is the table or its alias): with one key, the key's value; with a
    second key, the first key's value when it names one account, NULL when several accounts share it (ambiguous
    rows stay out, as with one key), else the value `_account_expr` gives the one account the second key names.
    The second key's values are looked up in maps built once per query (`hashed_lookup`: no per-row subquery)."""
    value = _value(con, f"{alias}.{_q(keys.child)}", accounts, keys.account)
    if keys.fallback is None:
        return value
    child2, account2 = keys.fallback
    shared = f"(SELECT {_value(con, _q(keys.account), accounts, keys.account)} FROM {accounts})"
    pairs = (
        f"SELECT f, min(k) AS k FROM (SELECT {_account_key(con, f'a.{_q(account2)}', accounts, account2)} AS f, "
        f"{_account_expr(con, 'a', keys, accounts)} AS k FROM {accounts} a) WHERE f IS NOT NULL AND k IS NOT NULL "
        f"GROUP BY f HAVING count(DISTINCT k) = 1"
    )
    from icp_agent.ingest.links import hashed_lookup

    lookup = hashed_lookup(pairs, _value(con, f"{alias}.{_q(child2)}", accounts, account2))
    return (
        f"(CASE WHEN {value} IN {_unique_keys(con, accounts, keys.account)} THEN {value} "
        f"WHEN {value} IN {shared} THEN NULL ELSE {lookup} END)"
    )


@dataclass
class AccountLink:
    """How one per-account table links to the accounts file: which columns, and how much matched."""

    kind: RollupKind
    table: str
    child_key: str | None  # column in the table
    account_key: str | None  # column in the accounts file
    rows: int
    linked_rows: int
    accounts: int
    linked_accounts: int
    unlinked_examples: list[dict[str, Any]] = field(default_factory=list)
    ambiguous_accounts: int = 0  # of the unlinked: values several accounts of the accounts file share
    # the second key for the rows the first leaves unlinked: (column in the table, column in the accounts file)
    fallback: tuple[str, str] | None = None
    by_key: dict[str, int] = field(default_factory=dict)  # rows each key linked, the first key first

    @property
    def keys(self) -> _Keys | None:
        """The key(s) the rollup joins on, None when nothing links."""
        if not self.child_key or self.account_key is None:
            return None
        return _Keys(self.child_key, self.account_key, self.fallback)

    def report(self) -> LinkReport:
        """The LinkReport of this rollup: rows and accounts linked to the accounts file."""
        keys = self.keys
        pairs = [(keys.child, keys.account), *([keys.fallback] if keys.fallback else [])] if keys else []
        linked_by = (
            ", then ".join(child if child == account else f"{child} = {account}" for child, account in pairs)
            if pairs
            else (self.child_key or None)
        )
        return LinkReport(
            kind=self.kind,
            linked_by=linked_by,
            tried=dict(self.by_key) if self.fallback else {},
            rows=self.rows,
            linked=self.linked_rows,
            unlinked=self.rows - self.linked_rows,
            unlinked_examples=self.unlinked_examples,
            accounts=self.accounts,
            unlinked_accounts=self.accounts - self.linked_accounts,
        )

    def note(self) -> str | None:
        """A sentence on the accounts not in the accounts file (left out of health), or None when all linked."""
        missing = self.accounts - self.linked_accounts
        if not missing:
            return None
        names = ", ".join(str(e["account"]) for e in self.unlinked_examples[:5])
        shared = (
            f", {self.ambiguous_accounts:,} of them because several accounts share that {self.account_key}"
            if self.ambiguous_accounts
            else ""
        )
        return (
            f"{self.kind}: {missing:,} of {self.accounts:,} accounts ({self.rows - self.linked_rows:,} of "
            f"{self.rows:,} rows) are not in the accounts file and are left out of health{shared} (e.g. {names})"
        )


def link_accounts(con: duckdb.DuckDBPyConnection, kind: RollupKind, table: str, accounts: str) -> AccountLink:
    """Pick the column pair (id, domain or name on each side) whose values match most accounts.

    Headers differ between systems (Stripe's `customer` holds an id, Zendesk's `Organization` a
    name), so the link is chosen by evidence: distinct values of the table found in the accounts
    file. When the id, domain and name columns match fewer than half, the accounts file's other
    text columns are tried too (a `Stripe Customer ID` kept as an attribute). Returns the figures for the report, with up to 10 unmatched accounts and their row counts.
    """
    child_columns, account_columns = columns_of(con, table), columns_of(con, accounts)
    children = [k for k in ACCOUNT_KEYS if k in child_columns]

    def best_of(keys: list[str], best: tuple[str, str, int] | None) -> tuple[str, str, int] | None:
        for child in children:
            for key in keys:
                matched = _row(
                    con,
                    f"SELECT count(DISTINCT {_value(con, 't.' + _q(child), accounts, key)}) FROM {table} t WHERE "
                    f"{_value(con, 't.' + _q(child), accounts, key)} IN {_unique_keys(con, accounts, key)}",
                )[0]
                if best is None or matched > best[2]:
                    best = (child, key, matched)
        return best

    best = best_of([k for k in ACCOUNT_KEYS if k in account_columns], None)
    named = _row(con, f"SELECT count(DISTINCT {_key('t.' + _q(best[0]))}) FROM {table} t")[0] if best else 0
    if best and best[2] < MIN_LINKED_SHARE * named:
        # the accounts file may keep the billing or helpdesk id in a column of its own ("Stripe Customer ID"):
        # try its other text columns, by the same evidence
        others = sorted(
            name
            for name, dtype in con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {accounts})").fetchall()
            if dtype == "VARCHAR" and not name.startswith("_") and name not in ACCOUNT_KEYS
        )
        best = best_of(others, best)
    if best is None:
        rows = _row(con, f"SELECT count(*) FROM {table}")[0]
        return AccountLink(kind, table, None, None, rows, 0, 0, 0)
    child, key, _ = best
    keys = _Keys(child, key)

    def linked_by(keys: _Keys) -> str:
        """SQL: the table row (alias t) names one account by these keys."""
        if keys.fallback is None:  # one key's value is kept as it is (it joins to nothing when not linked)
            return f"{_value(con, 't.' + _q(keys.child), accounts, keys.account)} IN {_unique_keys(con, accounts, keys.account)}"
        return f"{_child_expr(con, 't', keys, accounts)} IS NOT NULL"

    rows, first_rows = _row(con, f"SELECT count(*), count_if({linked_by(keys)}) FROM {table} t")
    by_key = {child: first_rows}
    if first_rows < rows:
        # the rows the first key leaves unlinked (a personal e-mail domain, a blank) may still name their account
        # by another column (Stripe's Customer Name): the second key that links the most of them, those rows only
        second: tuple[int, tuple[str, str]] | None = None
        for child2 in children:
            for key2 in ACCOUNT_KEYS:
                if child2 == child or key2 == key or key2 not in account_columns:
                    continue
                trial = _Keys(child, key, (child2, key2))
                n = _row(con, f"SELECT count_if({linked_by(trial)}) FROM {table} t")[0]
                if n > first_rows and (second is None or n > second[0]):
                    second = (n, (child2, key2))
        if second is not None:
            keys = _Keys(child, key, second[1])
            by_key[second[1][0]] = second[0] - first_rows
    linked = linked_by(keys)
    value = f"CASE WHEN {linked} THEN {_child_expr(con, 't', keys, accounts)} END"
    # an account not linked is told by its first key's value, else its second's
    first = _value(con, "t." + _q(child), accounts, key)
    named_value = f"coalesce({value}, {first}" + (
        f", chr(2) || {_key('t.' + _q(keys.fallback[0]))})" if keys.fallback else ")"
    )
    known = f"{first} IN (SELECT {_value(con, _q(key), accounts, key)} FROM {accounts})"
    rows, linked_rows, named, linked_accounts, ambiguous = _row(
        con,
        f"SELECT count(*), count_if({linked}), count(DISTINCT {named_value}), count(DISTINCT {value}), "
        f"count(DISTINCT {first}) FILTER ({known} AND NOT ({linked})) FROM {table} t",
    )
    examples = con.execute(
        f"SELECT min(t.{_q(child)}), count(*) AS n, min(t._row) AS first_row FROM {table} t "
        f"WHERE {_key('t.' + _q(child))} IS NOT NULL AND NOT ({linked}) GROUP BY {_key('t.' + _q(child))} "
        f"ORDER BY n DESC, first_row LIMIT 10"
    ).fetchall()
    return AccountLink(
        kind,
        table,
        child,
        key,
        rows,
        linked_rows,
        named,
        linked_accounts,
        [{"account": a, "rows": n, "row": r} for a, n, r in examples],
        ambiguous,
        keys.fallback,
        by_key,
    )


@dataclass
class Rollup:
    """The accounts table with health inputs from the per-account tables, and what was done."""

    table: str
    as_of: str
    links: list[AccountLink]
    columns: list[str]  # the columns the tables supplied
    notes: list[str]
    query: str


def _file_of(con, table: str) -> str:
    """The file a snapshot table was imported from, for messages (the table name outside a workspace)."""
    try:
        row = con.execute("SELECT file_name FROM imports WHERE table_name = ?", [table]).fetchone()
    except duckdb.CatalogException:
        row = None
    return row[0] if row else table


def _first(columns: set[str], *names: str) -> str | None:
    """coalesce() of those of `names` the table has, or None."""
    present = [f"t.{_q(n)}" for n in names if n in columns]
    return None if not present else present[0] if len(present) == 1 else f"coalesce({', '.join(present)})"


def _as_of(con, accounts: str, tables: dict[RollupKind, str]) -> str:
    """The latest date the data describes: starts, ticket and event dates, the accounts' own dates.

    Subscription ends are left out unless the row's status says it has ended: a cancellation
    scheduled for the end of a paid period is a future date, not the date of the export; a
    cancelled or expired row's dates are past (the latest cancellation is often the latest date).
    """
    dates: list[str] = []
    wanted = {
        "subscriptions": ("subscription_start", "customer_since", "period_start"),
        "tickets": ("ticket_created",),
        "events": ("event_time",),
        "customers": ("customer_since", "churn_date", "last_activity_date"),
    }
    sources: list[tuple[str, str]] = [*tables.items(), ("customers", accounts)]
    for kind, table in sources:
        columns = columns_of(con, table)
        dates += [f"(SELECT max({_q(c)}) FROM {table})" for c in wanted[kind] if c in columns]
        if kind == "subscriptions" and "subscription_status" in columns:
            # a row whose status says it ended did so by the export: its cancellation (Stripe's canceled_at,
            # Chargebee's cancelled_at) and, once expired or ended, its end (Recurly's `canceled` runs until expires_at)
            status = "lower(CAST(subscription_status AS VARCHAR))"
            over = {"churn_date": ENDED_STATUS, "subscription_end": FINISHED_STATUS}
            dates += [
                f"(SELECT max({c}) FROM {table} WHERE regexp_matches({status}, {sql_literal(pattern)}))"
                for c, pattern in over.items()
                if c in columns
            ]
    latest = con.execute(f"SELECT greatest({', '.join(dates)})").fetchone()[0] if dates else None
    if latest is None:
        raise UserError(
            "the subscriptions, tickets and events carry no dates, so nothing can be measured as of a day",
            hint="check their date columns in `icp-agent inspect-workspace` (each needs a start, created or timestamp "
            "column), or give the analysis an as_of date",
        )
    return str(latest)


def _subscriptions_sql(con, table: str, acct: str, as_of: str, notes: list[str]) -> tuple[str, list[str]]:
    """SQL of the subscriptions rolled up per account (`acct`: SQL of a row's link value over alias t) and the
    money columns it gives."""
    columns = columns_of(con, table)
    start = _first(columns, "subscription_start", "customer_since", "period_start")
    status = "lower(CAST(t.subscription_status AS VARCHAR))" if "subscription_status" in columns else None

    def status_is(pattern: str) -> str:
        return f"coalesce(regexp_matches({status}, {sql_literal(pattern)}), FALSE)" if status else "FALSE"

    # The end is the ended date, else the cancellation date; but a row whose status says it still runs is live
    # whatever its cancellation date (Stripe's canceled_at is the request of a cancel at the period's end), and
    # without a status, beside an end column (kept only when some row has an end) a cancellation without an end
    # is such a request
    ended_at = _first(columns, "subscription_end")
    cancelled_at = _first(columns, "churn_date")
    if cancelled_at and status:
        cancelled_at = f"CASE WHEN {status} IS NULL OR {status_is(ENDED_STATUS)} THEN {cancelled_at} END"
    elif cancelled_at and ended_at:
        cancelled_at = None
    end = (
        f"coalesce({ended_at}, {cancelled_at})" if ended_at and cancelled_at else ended_at or cancelled_at
    ) or "NULL::DATE"
    if start is None:
        raise UserError(
            "the subscriptions have no start date column, so ARR over time cannot be measured",
            file=_file_of(con, table),
            hint="map the start column (e.g. start_date, created) to subscription_start in a mapping file",
        )
    if not {"subscription_start", "customer_since"} & columns:
        notes.append(
            "subscriptions: no start date column, so the current billing period's start stands in: "
            "tenure and starting ARR cover the current period only (NRR is then about 1)"
        )
    if "arr" in columns and "mrr" in columns:
        arr = "coalesce(t.arr, 12 * t.mrr)"
        notes.append("subscriptions: ARR from the ARR column, else 12 x MRR")
    elif "arr" in columns:
        arr = "t.arr"
    elif "mrr" in columns:
        arr = "12 * t.mrr"
        notes.append("subscriptions: ARR = 12 x MRR (the file gives monthly recurring revenue)")
    elif "amount" in columns and "amount_period" in columns:
        arr = _priced_arr(con, table, columns, notes)
    else:
        arr = None
        notes.append(
            "subscriptions: no MRR or ARR column"
            + (" and no billing interval beside the amount" if "amount" in columns else "")
            + ", so starting/current ARR and NRR are not measurable; the subscriptions still give tenure and churn"
            + (" (map the interval column to amount_period in a mapping file)" if "amount" in columns else "")
        )
    if arr and status:
        arr = f"CASE WHEN {status_is(NOT_STARTED_STATUS)} THEN NULL ELSE {arr} END"
    if status:
        notes.append(_status_note(con, table))
    # a status that says ended matters only without an end date: dates, when given, decide
    ended = f"({end} IS NULL AND {status_is(ENDED_STATUS)})"
    paying = f"NOT {status_is(UNPAID_STATUS)}"
    sid = "CAST(t.subscription_id AS VARCHAR)" if "subscription_id" in columns else "CAST(t._row AS VARCHAR)"
    day = f"DATE {sql_literal(as_of)}"
    subs = (
        f"SELECT {acct} AS acct, {sid} AS sid, t._row, {start} AS start_date, "
        f"{end} AS end_date, {arr or 'NULL::DOUBLE'} AS arr, {ended} AS ended, {paying} AS paying FROM {table} t"
    )

    def arr_on(day_expr: str, name: str, extra: str = "") -> str:
        # per subscription, the row that started last on or before the day stands for it (a history row per change)
        return (
            f"(SELECT acct, sum(arr) FILTER (WHERE (end_date IS NULL OR end_date > on_day){extra}) AS {name} "
            f"FROM (SELECT s.*, {day_expr} AS on_day FROM s JOIN firsts f USING (acct) "
            f"WHERE s.start_date <= {day_expr} "
            f"QUALIFY row_number() OVER (PARTITION BY s.acct, s.sid ORDER BY s.start_date DESC, s._row DESC) = 1) "
            f"GROUP BY acct)"
        )

    sql = f"""(WITH s AS ({subs}),
        firsts AS (SELECT acct, coalesce(min(start_date) FILTER (WHERE arr > 0), min(start_date)) AS first_start
                   FROM s WHERE acct IS NOT NULL GROUP BY acct),
        live AS (SELECT acct, bool_or(start_date <= {day} AND (end_date IS NULL OR end_date > {day}) AND NOT ended)
                          AS live, max(end_date) FILTER (WHERE end_date <= {day}) AS last_end,
                        count(DISTINCT sid) AS subscription_count
                 FROM s WHERE acct IS NOT NULL AND start_date IS NOT NULL GROUP BY acct)
        SELECT f.acct, f.first_start, l.live, l.last_end, l.subscription_count,
               coalesce(a0.starting_arr, 0) AS starting_arr, coalesce(a1.arr, 0) AS arr
        FROM firsts f JOIN live l USING (acct)
        LEFT JOIN {arr_on("f.first_start", "starting_arr")} a0 USING (acct)
        LEFT JOIN {arr_on(day, "arr", " AND NOT ended AND paying")} a1 USING (acct))"""
    return sql, (["starting_arr", "arr", "nrr"] if arr else [])


def _priced_arr(con, table: str, columns: set[str], notes: list[str]) -> str:
    """SQL of a row's ARR from its price: amount x quantity x the periods a year holds (month 12, year 1, week 52;
    ingest/amounts.PERIODS) / its interval count (Stripe's "Interval Count", Chargebee's "Billing Period": 3
    months bill 4 times a year). The amount is per unit when a quantity is given (Stripe's plan amount, Chargebee's
    plan unit price): map the quantity column to "ignore" when the amount is already the total. A row whose
    interval is not a period has no ARR (counted in the note); a one-time price adds 0."""
    quantity = "coalesce(t.subscription_quantity, 1)" if "subscription_quantity" in columns else "1"
    count = "coalesce(nullif(t.interval_count, 0), 1)" if "interval_count" in columns else "1"
    factor = period_factor_sql("t.amount_period")
    unread = _row(con, f"SELECT count(*) FILTER (WHERE t.amount IS NOT NULL AND {factor} IS NULL) FROM {table} t")[0]
    notes.append(
        "subscriptions: ARR = amount"
        + (" x quantity" if "subscription_quantity" in columns else "")
        + " x billing periods a year (monthly x12, yearly x1, weekly x52"
        + (", divided by the interval count" if "interval_count" in columns else "")
        + ")"
        + (f"; {unread:,} rows whose interval is not a period have no ARR" if unread else "")
    )
    return f"(t.amount * {quantity} * {factor} / {count})"


def _status_note(con, table: str) -> str:
    """A sentence on how each subscription status counted (rows per status, by ENDED/UNPAID/past-due rules)."""
    rows = con.execute(
        f"SELECT lower(trim(CAST(t.subscription_status AS VARCHAR))) AS status_value, count(*) FROM {table} t "
        f"WHERE status_value IS NOT NULL AND status_value <> '' GROUP BY 1 ORDER BY 2 DESC, 1"
    ).fetchall()
    how: dict[str, list[str]] = {}
    for value, n in rows:
        if re.search(ENDED_STATUS, value):
            kind = "ended (a given end date decides when)"
        elif re.search(NOT_STARTED_STATUS, value):
            kind = "live, no ARR yet (not churn)"
        elif re.search(UNPAID_STATUS, value):
            kind = "live, no ARR while paused (not churn)"
        else:
            kind = "live and billed"
        how.setdefault(kind, []).append(f"{value} {n:,}")
    return "subscriptions: statuses counted as " + "; ".join(f"{k}: {', '.join(v)}" for k, v in how.items())


# What each count of usage aggregated per period rolls up to: (total column, rate column, what the rate is)
USAGE_ROLLUPS: dict[str, tuple[str, str, str]] = {
    "event_count": ("usage_events", "events_per_month", "usage events per month"),
    "session_count": ("usage_sessions", "sessions_per_month", "sessions per month"),
    "usage_minutes": ("usage_minutes_total", "minutes_per_month", "minutes of use per month"),
    "active_users": ("active_user_periods", "avg_active_users", "active users per {period}, averaged"),
}


class UsageShape(NamedTuple):
    """How an events table is read: a row per event (measure None), events counted per name and period, or usage
    counted per account and period (no names)."""

    measure: str | None  # the count column of a usage aggregate (USAGE_COUNTS), None for a row per event
    named: bool  # rows name their event: cancellations and billing events are told apart from usage
    columns: tuple[str, str]  # the rolled-up total column and rate column
    per: float  # days the rate is per: a month, or the period of an average over periods
    period: float  # days a row counts (0 for a row per event): the window runs to the end of the last period
    note: str  # which shape was read, for the build's notes ("" for a row per event, the usual shape)


def _usage_shape(con: duckdb.DuckDBPyConnection, table: str) -> UsageShape:
    """Which shape the events table has: raw events (event_name, event_time) or usage aggregated per period.

    An aggregate (Amplitude's weekly active accounts, a Mixpanel or PostHog report by day or week) has a period
    column (stored as event_time) and counts; its activity is the first count of USAGE_COUNTS it has: events,
    sessions or minutes per month, else active users per period averaged over the account's window (a period
    without a row counts 0 users). The period is the commonest gap between the file's dates (the shorter on a
    tie: 7 days for weekly rows); a row counts its whole period, so an account's window runs to the end of the
    period holding its end. Rows naming their event with an event_count (Amplitude's event segmentation, a
    Mixpanel insights table) are events counted per name and period: each counts its count, and a cancellation
    among them still churns. Raises UserError naming the file when the table has neither shape, or its time is
    no date.
    """
    from icp_agent.ingest.fields import USAGE_COUNTS

    columns = columns_of(con, table)
    measure = next((c for c in USAGE_COUNTS if c in columns), None)
    if "event_time" not in columns or ("event_name" not in columns and measure is None):
        has = ", ".join(c for c in sorted(columns) if not c.startswith("_"))
        raise UserError(
            f"an events file needs a date or time column and either an event name (a row per event) or a usage count "
            f"per account and period; it has {has}",
            file=_file_of(con, table),
            hint="a row per event needs Event (the name) and Timestamp; usage per period needs a period (Week, Day, "
            "Date) and a count (Events, Sessions, Minutes, Active Users); map its columns in a mapping file "
            '([columns] "My header" = "event_time")',
        )
    dtype = con.execute(f"SELECT typeof(event_time) FROM {table} LIMIT 1").fetchone()
    if dtype and not str(dtype[0]).startswith(("DATE", "TIMESTAMP")):
        raise UserError(
            f"the events' time column was read as {str(dtype[0]).lower()}, not dates, so activity cannot be dated",
            file=_file_of(con, table),
            hint="check its values in `icp-agent inspect-workspace events` (a week or day as 2026-01-05), or map "
            "another column to event_time in a mapping file",
        )
    named = "event_name" in columns
    if measure is None or (named and measure != "event_count"):  # a row per event (a count is its property)
        return UsageShape(None, named, ("usage_events", "events_per_month"), DAYS_PER_MONTH, 0, "")
    total, rate, words = USAGE_ROLLUPS[measure]
    days = con.execute(
        f"SELECT d FROM (SELECT date_diff('day', lag(p) OVER (ORDER BY p), p) AS d "
        f"FROM (SELECT DISTINCT CAST(event_time AS DATE) AS p FROM {table})) WHERE d > 0 "
        f"GROUP BY d ORDER BY count(*) DESC, d LIMIT 1"
    ).fetchone()
    gap = int(days[0]) if days else 1
    # calendar months and quarters differ in length: a gap of 28-31 (89-92) days is a month (quarter) on average
    label = {1: "day", 7: "week"}.get(gap, "month" if 28 <= gap <= 31 else "quarter" if 89 <= gap <= 92 else "")
    period = {"month": DAYS_PER_MONTH, "quarter": DAYS_PER_YEAR / 4}.get(label, float(gap))
    label = label or f"{gap} days"
    words = words.format(period=label)
    per = period if measure == "active_users" else DAYS_PER_MONTH
    if named:  # Amplitude's event segmentation, a Mixpanel insights table: events counted per name and period
        return UsageShape(
            measure,
            named,
            (total, rate),
            DAYS_PER_MONTH,
            period,
            f"events: counted per event name, account and {label} (event_count); activity = usage events per month",
        )
    others = [c for c in USAGE_COUNTS if c in columns and c != measure]
    also = f" ({', '.join(others)} not used)" if others else ""
    return UsageShape(
        measure,
        named,
        (total, rate),
        per,
        period,
        f"events: usage aggregated per account and {label}, no event names: activity = {words} from "
        f"{measure}{also}; no cancellation events, so churn comes from the subscriptions or the accounts file",
    )


def _window(start: str, end: str, table_first: str, period: float = 0) -> str:
    """Days from the later of the account's start and the file's first date to its end (plus `period`, the days
    the last row of a usage aggregate counts), at least a month."""
    begin = f"greatest({start}, {table_first})"
    return (
        f"CASE WHEN {start} IS NULL OR {begin} > {end} THEN NULL "
        f"ELSE greatest(date_diff('day', {begin}, {end}) + {period}, {DAYS_PER_MONTH}) END"
    )


def roll_up(
    con: duckdb.DuckDBPyConnection, accounts: str, tables: dict[RollupKind, str], as_of: str | None = None
) -> Rollup:
    """Write `rollup_<hash>`: the accounts table plus health inputs aggregated from `tables`.

    `tables` maps "subscriptions" / "tickets" / "events" to their snapshot tables; `as_of` is an
    ISO date (default: the latest date in the data). Columns added (those the tables support):
    customer_since, starting_arr, arr, nrr, churned, churn_date, subscription_count, tickets,
    tickets_per_year, usage_events, events_per_month (or a usage aggregate's USAGE_ROLLUPS pair),
    last_activity_date, data_as_of. Raises UserError when fewer than half the accounts a table names
    are in the accounts file, or the events have neither shape (`_usage_shape`).
    """
    as_of = as_of or _as_of(con, accounts, tables)
    day = f"DATE {sql_literal(as_of)}"
    notes: list[str] = []
    links = {kind: link_accounts(con, kind, table, accounts) for kind, table in tables.items()}
    for link in links.values():
        if link.accounts and link.linked_accounts < MIN_LINKED_SHARE * link.accounts:
            raise UserError(
                f"only {link.linked_accounts:,} of the {link.accounts:,} accounts in the {link.kind} "
                f"are in the accounts file (linked by {link.report().linked_by or 'nothing shared'})",
                file=_file_of(con, link.table),
                hint="check that both files name accounts the same way (the same ids, "
                "domains or names), or map the account column in a mapping file",
            )
        if link.accounts == 0:
            notes.append(f"{link.kind}: no row names an account in the accounts file: left out")
        elif note := link.note():
            notes.append(note)
    account_columns = columns_of(con, accounts)
    own = lambda name, cast: f"c.{_q(name)}" if name in account_columns else f"NULL::{cast}"  # noqa: E731
    usable = {kind: keys for kind, link in links.items() if (keys := link.keys) is not None}
    sub, tix, ev = usable.get("subscriptions"), usable.get("tickets"), usable.get("events")
    ctes, joins, base = [], [], []
    since = own("customer_since", "DATE")
    event_churn, has_event_info = "NULL::DATE", "FALSE"
    if sub:
        sub_sql, money = _subscriptions_sql(
            con, tables["subscriptions"], _child_expr(con, "t", sub, accounts), as_of, notes
        )
        ctes.append(f"sa AS {sub_sql}")
        joins.append(f"LEFT JOIN sa s ON s.acct = {_account_expr(con, 'c', sub, accounts)}")
        since = f"coalesce({since}, s.first_start)"
    usage_shape = _usage_shape(con, tables["events"]) if ev else None
    if ev and usage_shape:
        table = tables["events"]
        # a row counts once, or its count when the events are counted per period (a row of 0 is no event)
        measure = usage_shape.measure
        weight = f"coalesce(CAST(t.{_q(measure)} AS DOUBLE), 0)" if measure else "1"
        if usage_shape.named:  # its name says what it was
            name = "lower(CAST(t.event_name AS VARCHAR))"
            cancel, lifecycle, reactivation = (
                f"(coalesce(regexp_matches({name}, {sql_literal(p)}), FALSE) AND {weight} > 0)"
                for p in (CANCEL_EVENT, LIFECYCLE_EVENT, REACTIVATION_EVENT)
            )
            usage = f"(NOT {cancel} AND NOT {lifecycle} AND {weight} > 0)"
        else:  # usage counted per period: no event says cancel; a period with use is activity
            cancel = reactivation = "FALSE"
            usage = f"({weight} > 0)"
        if usage_shape.note:
            notes.append(usage_shape.note)
        ctes.append(f"""ea AS (SELECT {_child_expr(con, "t", ev, accounts)} AS acct,

                max(t.event_time) FILTER ({cancel} AND t.event_time <= {day}) AS cancelled_at,
                max(t.event_time) FILTER ({reactivation} AND t.event_time <= {day}) AS reactivated_at,
                max(t.event_time) FILTER ({usage} AND t.event_time <= {day}) AS last_usage
            FROM {table} t GROUP BY 1)""")
        ctes.append(f"""eu AS (SELECT {_child_expr(con, "t", ev, accounts)} AS acct, t.event_time AS at, {weight} AS n
                        FROM {table} t WHERE {usage} AND t.event_time <= {day})""")
        joins.append(f"LEFT JOIN ea e ON e.acct = {_account_expr(con, 'c', ev, accounts)}")

        event_churn = (
            "CASE WHEN e.cancelled_at IS NOT NULL AND (e.reactivated_at IS NULL OR e.reactivated_at < "
            "e.cancelled_at) THEN e.cancelled_at END"
        )
        has_event_info = "e.cancelled_at IS NOT NULL"
    has_sub = "s.acct IS NOT NULL" if sub else "FALSE"
    base.append(f"{since} AS customer_since")
    if sub or ev:
        # the subscriptions' dated record first, then a cancellation event, then the accounts file's own values
        by_sub = (
            (
                f"WHEN {has_sub} THEN NOT s.live ",
                f"WHEN {has_sub} THEN CASE WHEN NOT s.live THEN coalesce(s.last_end, {event_churn}) END ",
            )
            if sub
            else ("", "")
        )
        base.append(
            f"CASE {by_sub[0]}WHEN {has_event_info} THEN {event_churn} IS NOT NULL "
            f"ELSE {own('churned', 'BOOLEAN')} END AS churned"
        )
        base.append(
            f"CASE {by_sub[1]}WHEN {has_event_info} THEN {event_churn} ELSE {own('churn_date', 'DATE')} END "
            f"AS churn_date"
        )
    if sub:
        base.append(f"CASE WHEN {has_sub} THEN s.subscription_count ELSE 0 END AS subscription_count")
        if money:
            for column in ("starting_arr", "arr"):
                base.append(f"CASE WHEN {has_sub} THEN s.{column} ELSE {own(column, 'DOUBLE')} END AS {column}")
            base.append(
                f"CASE WHEN {has_sub} THEN s.arr / nullif(s.starting_arr, 0) ELSE {own('nrr', 'DOUBLE')} END AS nrr"
            )
    if ev and usage_shape:
        base.append(f"greatest(e.last_usage, {own('last_activity_date', 'DATE')}) AS last_activity_date")
    churn_known = bool(sub or ev) or "churn_date" in account_columns
    end = f"least(coalesce({'b.churn_date' if churn_known else 'NULL::DATE'}, {day}), {day})"
    group = "b._row, b.customer_since" + (", b.churn_date" if churn_known else "")  # one row per account
    rates: list[tuple[str, str]] = []  # (cte, its columns)
    if tix:
        table = tables["tickets"]
        dated = "ticket_created" in columns_of(con, table)
        first = f"(SELECT min(ticket_created) FROM {table})" if dated else "b.customer_since"
        in_window = (
            f"tk.at >= greatest(b.customer_since, {first}) AND tk.at <= {end}" if dated else "tk.acct IS NOT NULL"
        )
        if not dated:
            notes.append("tickets: no date a ticket was opened, so every ticket counts over the account's tenure")
        ctes.append(f"""rt AS (SELECT b._row, count(tk.acct) FILTER ({in_window}) AS tickets,
                count(tk.acct) FILTER ({in_window}) * {DAYS_PER_YEAR} / ({_window("b.customer_since", end, first)})
                    AS tickets_per_year
            FROM b LEFT JOIN (SELECT {_child_expr(con, "t", tix, accounts)} AS acct,
                                     {"t.ticket_created" if dated else "NULL::DATE"} AS at FROM {table} t) tk
                ON tk.acct = {_account_expr(con, "b", tix, accounts)} GROUP BY {group})""")
        rates.append(("rt", "tickets, tickets_per_year"))
    if ev and usage_shape:
        first = f"(SELECT min(event_time) FROM {tables['events']})"
        # a period row counts when its period overlaps the window (a customer since Wednesday has that week)
        period = usage_shape.period
        since = f"b.customer_since - INTERVAL {round(period) - 1} DAY" if period > 1 else "b.customer_since"
        in_window = f"eu.at >= greatest({since}, {first}) AND eu.at <= {end}"
        total, rate = usage_shape.columns
        used = f"coalesce(sum(eu.n) FILTER ({in_window}), 0)"
        ctes.append(f"""re AS (SELECT b._row, {used} AS {total},
                {used} * {usage_shape.per} / ({_window("b.customer_since", end, first, period)}) AS {rate}
            FROM b LEFT JOIN eu ON eu.acct = {_account_expr(con, "b", ev, accounts)}

            GROUP BY {group})""")
        rates.append(("re", f"{total}, {rate}"))
    added = [b.rsplit(" AS ", 1)[1] for b in base] + [c for _, cols in rates for c in cols.split(", ")]
    replaced = [c for c in [*added, "data_as_of"] if c in account_columns]
    exclude = f" EXCLUDE ({', '.join(_q(c) for c in replaced)})" if replaced else ""
    b_cte = f"b AS (SELECT c.*{exclude}, {', '.join(base)} FROM {accounts} c {' '.join(joins)})"
    ctes = (
        [c for c in ctes if not c.startswith(("rt ", "re "))]
        + [b_cte]
        + [c for c in ctes if c.startswith(("rt ", "re "))]
    )
    digest = hashlib.sha256(repr((accounts, sorted(tables.items()), as_of)).encode()).hexdigest()[:12]
    name = f"rollup_{digest}"
    picked = "".join(f", {cte}.{col}" for cte, cols in rates for col in cols.split(", "))
    joined = "".join(f" JOIN {cte} USING (_row)" for cte, _ in rates)
    query = (
        f"CREATE OR REPLACE TABLE {name} AS WITH {', '.join(ctes)} "
        f"SELECT b.*{picked}, {day} AS data_as_of FROM b{joined} ORDER BY b._row"
    )
    con.execute(query)
    if sub and "churned" in account_columns:
        disagree = _row(
            con,
            f"SELECT count(*) FROM {name} n JOIN {accounts} c USING (_row) WHERE c.churned IS NOT "
            f"NULL AND n.churned IS NOT NULL AND c.churned <> n.churned",
        )[0]
        if disagree:
            notes.append(
                f"subscriptions: {disagree:,} accounts' churn flag in the accounts file disagrees with their "
                f"subscriptions on {as_of}; the subscriptions' dated record is used"
            )
    if tix:
        unmeasured = _row(con, f"SELECT count(*) FROM {name} WHERE tickets_per_year IS NULL")[0]
        if unmeasured:
            notes.append(
                f"tickets: {unmeasured:,} account{'s' if unmeasured != 1 else ''} without a start date "
                f"(customer since or a subscription), or ended before the tickets file begins: tickets per "
                f"year not measurable, the support component is left out for them"
            )
    return Rollup(
        table=name,
        as_of=as_of,
        links=list(links.values()),
        columns=[*added, "data_as_of"],
        notes=notes,
        query=" ".join(query.split()),
    )
