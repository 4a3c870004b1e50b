"""What an amount is in: its unit (dollars or cents) and the period it is per (a month, a year, once).

Units: Close's export and API give a deal's `value` in cents (100000 is $1,000). An import divides a money
column by 100 when the mapping file's `[units]` says so (`value = "cents"`, or a scale such as 0.01 or
1000), when its header names cents ("Amount (cents)", "value_cents"), or when a companion column shows the
same amounts formatted ("value_formatted" `$1,000` beside 100000 in 90% or more of the rows). A magnitude
alone never decides. `[units] value = "units"` keeps a column as written. Every scale applied is a warning of
the import report.

Periods: a deal's amount beside a period column (Close's `value_period` one_time / monthly / annual,
"Billing Frequency", "Recurring Period", "Term") is per that period. `PERIODS` maps each spelling to the
factor that annualises it (monthly 12, quarterly 4, semi-annual 2, annual 1, weekly 52); one-time amounts
have factor 0: they are not recurring revenue and are kept out of ACV (health/deal_kinds.py). A column is read
as the period only when PERIOD_SHARE of its values are periods; the import report says what it found.
"""

from __future__ import annotations

import math
import re

import duckdb

from icp_agent import numbers
from icp_agent.errors import UserError
from icp_agent.ingest.fields import header_key
from icp_agent.sql import quote_identifier as _q

# a unit word -> the factor that turns an amount written in it into the currency's major unit
UNIT_WORDS: dict[str, float] = {
    "cents": 0.01,
    "cent": 0.01,
    "pence": 0.01,
    "minor": 0.01,
    "minor units": 0.01,
    "units": 1.0,
    "major": 1.0,
    "major units": 1.0,
    "as written": 1.0,
    "thousands": 1000.0,
    "millions": 1_000_000.0,
}
# a header that says its amounts are in minor units: "Amount (cents)", "value_cents", "Amount in cents"
CENTS_HEADER = re.compile(r"(?:^|[\s_(\[-])(?:in[\s_]+)?(?:cents|minor[\s_]+units)(?:$|[\s_)\]-])", re.IGNORECASE)
# a companion column showing the same amounts as text: "value_formatted", "Formatted Amount", "Amount (display)"
COMPANION_WORDS = ("formatted", "display", "displayvalue", "text", "pretty")
CENTS_SHARE = 0.9  # of the rows with both values, those whose amount is 100x the shown one, to read cents

# a period's spelling (lower case, punctuation as spaces) -> the factor that makes the amount annual; 0 is one-time
PERIODS: dict[str, float] = {
    **dict.fromkeys(
        (
            "monthly",
            "month",
            "months",
            "per month",
            "a month",
            "mo",
            "mth",
            "every month",
            "1 month",
            "monthly recurring",
            "mensuel",
            "mensual",
            "monatlich",
            "mensile",
            "maandelijks",
        ),
        12.0,
    ),
    **dict.fromkeys(
        (
            "quarterly",
            "quarter",
            "per quarter",
            "qtr",
            "3 months",
            "every 3 months",
            "trimestriel",
            "trimestral",
            "quartalsweise",
            "vierteljährlich",
        ),
        4.0,
    ),
    **dict.fromkeys(
        ("semi annual", "semi annually", "semiannual", "half yearly", "biannual", "bi annual", "6 months"), 2.0
    ),
    **dict.fromkeys(
        (
            "annual",
            "annually",
            "yearly",
            "year",
            "years",
            "per year",
            "a year",
            "per annum",
            "pa",
            "yr",
            "12 months",
            "1 year",
            "every year",
            "annual recurring",
            "anual",
            "annuel",
            "jährlich",
            "jaarlijks",
            "annuale",
        ),
        1.0,
    ),
    **dict.fromkeys(("weekly", "week", "per week"), 52.0),
    **dict.fromkeys(
        (
            "one time",
            "onetime",
            "one off",
            "oneoff",
            "once",
            "single",
            "single payment",
            "non recurring",
            "nonrecurring",
            "lump sum",
            "fixed",
            "einmalig",
            "ponctuel",
        ),
        0.0,
    ),
}
PERIOD_SHARE = 0.9  # of a column's values, the share that must be periods for it to be read as the amount's period


def period_key(value: str) -> str:
    """The form PERIODS is keyed by: lower case, each run of punctuation or space one space ("One-Time" -> "one time")."""
    return re.sub(r"[^\w]+|_+", " ", value.lower()).strip()


def period_key_sql(expr: str) -> str:
    """SQL of `period_key` on a VARCHAR expression."""
    return f"trim(regexp_replace(lower({expr}::VARCHAR), '[^[:alnum:]\\p{{L}}]+', ' ', 'g'))"


def period_factor_sql(expr: str) -> str:
    """SQL: the factor that annualises an amount whose period is `expr` (PERIODS; 0 one-time; NULL unknown or blank)."""
    by_factor: dict[float, list[str]] = {}
    for spelling, factor in PERIODS.items():
        by_factor.setdefault(factor, []).append(spelling)
    key = period_key_sql(expr)
    cases = " ".join(
        f"WHEN {key} IN ({', '.join(_literal(s) for s in spellings)}) THEN {factor!r}"
        for factor, spellings in by_factor.items()
    )
    return f"(CASE {cases} ELSE NULL END)"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def period_share(con: duckdb.DuckDBPyConnection, table: str, column: str) -> tuple[float, int]:
    """(share 0-1 of `column`'s non-blank values that are periods, how many non-blank values it has)."""
    known, present = con.execute(
        f"SELECT count_if({period_factor_sql(_q(column))} IS NOT NULL), count({_q(column)}) FROM {table} "
        f"WHERE trim({_q(column)}::VARCHAR) <> ''"
    ).fetchall()[0]
    return (known / present if present else 0.0), present


def period_note(con: duckdb.DuckDBPyConnection, table: str, column: str, header: str) -> str:
    """What the import report says about a deals file's period column: the periods counted and what ACV makes of
    them, or that its values are not periods (then nothing is annualised by it)."""
    share, present = period_share(con, table, column)
    counts = con.execute(
        f"SELECT {_q(column)}::VARCHAR, count(*) FROM {table} WHERE {_q(column)} IS NOT NULL GROUP BY 1 "
        f"ORDER BY 2 DESC, 1 LIMIT 6"
    ).fetchall()
    shown = ", ".join(f"{value} {numbers.count(n)}" for value, n in counts)
    if not present or share < PERIOD_SHARE:
        return (
            f"column {header!r} ({shown or 'empty'}) is not read as the amount's period: under "
            f"{numbers.percent(PERIOD_SHARE, 0)} of its values are periods (monthly, quarterly, annual, one-time)"
        )
    return (
        f"column {header!r} is the period of each amount ({shown}): the ICP's ACV annualises the amounts "
        f"(monthly x12, quarterly x4, annual x1) and leaves one-time amounts out of ACV (not recurring revenue)"
    )


def parse_scale(value: object, file_name: str, entry: str) -> float:
    """A `[units]` entry's value as the factor amounts are multiplied by: a unit word (UNIT_WORDS: "cents" is
    0.01) or a positive number. Raises UserError naming the file and entry otherwise."""
    if isinstance(value, str):
        scale = UNIT_WORDS.get(" ".join(value.lower().split()))
        if scale is not None:
            return scale
    elif isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 and math.isfinite(value):
        return float(value)
    raise UserError(
        f"[units] {entry} = {value!r} is not a unit or a positive scale",
        file=file_name,
        column=entry,
        hint=f'write "cents" (amounts in minor units, divided by 100), "units" (as written), "thousands", '
        f'"millions", or the number each amount is multiplied by ({entry} = 0.01)',
    )


def declared_scale(units: dict[str, float], header: str, field: str) -> float | None:
    """The `[units]` scale of a column: by its header, else by its canonical field name, else None."""
    if header in units:
        return units[header]
    return units.get(field)


def apply_amounts(
    con: duckdb.DuckDBPyConnection,
    table: str,
    columns: list,
    units: dict[str, float],
    file_name: str,
    warnings: list[str],
    kind: str | None = None,
) -> dict[str, float]:
    """`apply_units`, then, in a deals file, the period column's `period_note` in `warnings`."""
    applied = apply_units(con, table, columns, units, file_name, warnings)
    period = next((c for c in columns if c.name == "amount_period"), None)
    if kind == "deals" and period is not None:
        warnings.append(f"{file_name}: {period_note(con, table, period.name, period.header)}")
    return applied


def apply_units(
    con: duckdb.DuckDBPyConnection,
    table: str,
    columns: list,
    units: dict[str, float],
    file_name: str,
    warnings: list[str],
) -> dict[str, float]:
    """Scale the money (and declared number) columns of a stored table to the currency's major unit, in place.

    `columns` are the file's PlannedColumns (header, stored name, type); `units` the mapping's `[units]`
    (header or field -> factor). The scale of a column: the declared one, else 0.01 when its header names
    cents or its formatted companion shows amounts 100x smaller (`companion_cents`). A deal's other money columns
    (annualized_amount, deal_mrr, expected_revenue) without a companion follow the amount's detected scale, as
    a CRM writes all of them in one unit. `<field>_original` is scaled with `<field>`. Each scale is reported in
    `warnings`. Returns stored name -> the scale applied (1.0 columns left out).
    """
    stored = {r[0]: r[1] for r in con.execute(f"DESCRIBE {table}").fetchall()}
    applied: dict[str, float] = {}
    reasons: dict[str, str] = {}
    for column in columns:
        if column.name not in stored or column.type not in ("money", "number") or column.role == "ignore":
            continue
        declared = declared_scale(units, column.header, column.name)
        if declared is not None:
            if declared != 1.0:
                applied[column.name], reasons[column.name] = declared, "as the mapping file's [units] declares"
            continue
        if column.type != "money":
            continue
        if CENTS_HEADER.search(column.header):
            applied[column.name], reasons[column.name] = 0.01, "its header says the amounts are in cents"
            continue
        evidence = companion_cents(con, table, column, columns)
        if evidence:
            applied[column.name], reasons[column.name] = 0.01, evidence
    if applied.get("amount") == 0.01 and "amount" not in units:
        for column in columns:
            follows = column.name in ("annualized_amount", "deal_mrr", "expected_revenue") and column.name in stored
            if follows and column.name not in applied and declared_scale(units, column.header, column.name) is None:
                applied[column.name] = 0.01
                reasons[column.name] = "as the deal amount beside it is in cents"
    headers = {c.name: c.header for c in columns}
    for name, scale in applied.items():
        targets = [n for n in (name, f"{name}_original") if stored.get(n) == "DOUBLE"]
        if not targets:
            continue
        con.execute(f"UPDATE {table} SET {', '.join(f'{_q(n)} = {_q(n)} * {scale!r}' for n in targets)}")
        what = (
            "divided by 100 (cents to the currency's unit)"
            if scale == 0.01
            else f"multiplied by {numbers.number(scale)}"
        )
        warnings.append(
            f"{file_name}: column {headers[name]!r}: amounts {what}, {reasons[name]}; "
            f'to keep them as written: [units] "{headers[name]}" = "units" in the mapping file'
        )
    return applied


def companion_cents(con: duckdb.DuckDBPyConnection, table: str, column, columns: list) -> str | None:
    """Why a money column is in cents, when a companion text column ("value_formatted" beside "value") shows the
    same amounts 100x smaller in CENTS_SHARE or more of the rows holding both; else None."""
    key = header_key(column.header)
    wanted = {f"{key}{w}" for w in COMPANION_WORDS} | {f"{w}{key}" for w in COMPANION_WORDS}
    companion = next((c for c in columns if c is not column and header_key(c.header) in wanted), None)
    stored = {r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()}
    if companion is None or companion.name not in stored:
        return None
    raw = f"coalesce({_q(column.name + '_original')}, {_q(column.name)})"
    if column.name + "_original" not in stored:
        raw = _q(column.name)
    shown = (
        f"TRY_CAST(replace(regexp_extract({_q(companion.name)}::VARCHAR, '[0-9][0-9,]*(\\.[0-9]+)?'), ',', '') "
        f"AS DOUBLE)"
    )
    pairs, hundredfold, example = con.execute(
        f"SELECT count(*), count_if(abs(a / s - 100) <= 1), arg_min(s::VARCHAR || '|' || a::VARCHAR, _row) "
        f"FILTER (WHERE abs(a / s - 100) <= 1) FROM (SELECT {raw} AS a, {shown} AS s, _row FROM {table}) "
        f"WHERE a IS NOT NULL AND s > 0"
    ).fetchall()[0]
    if not pairs or hundredfold < CENTS_SHARE * pairs:
        return None
    shown_value, amount = (example or "|").split("|")
    return (
        f"its companion {companion.header!r} shows them 100x smaller in {numbers.count(hundredfold)} of "
        f"{numbers.count(pairs)} rows (e.g. {numbers.figure(float(shown_value))} for {numbers.number(float(amount))})"
    )
