"""Currencies of money columns: the currencies a money column's values name (counted from its
lookup), the currency column that qualifies a money column (`Amount Currency`, `CurrencyIsoCode`), and one
comparable currency per money column: amounts in other currencies are converted with the user's rates,
else the file's own exchange-rate column, else stored as NULL with a warning, the amount as written kept
in `<field>_original`."""

from __future__ import annotations

from functools import lru_cache

import duckdb

from icp_agent.ingest.columns import PlannedColumn, join_note
from icp_agent.ingest.fields import header_key, is_converted
from icp_agent.ingest.mapping import Mapping
from icp_agent.sql import quote_identifier as _q
from icp_agent.sql import sql_literal


def count_currencies(con: duckdb.DuckDBPyConnection, column: PlannedColumn, lookup: str) -> None:
    """A money column's currencies (ISO code -> rows) and open bands ("$10M+": rows), from its lookup table:
    each distinct value was parsed once there, so nothing is parsed again."""
    parsed = _q(f"{column.name}__parsed_currency")
    for code, rows, open_rows in con.execute(
        f"SELECT {parsed}, sum(c), sum(c) FILTER (_open) FROM {lookup} WHERE raw IS NOT NULL "
        f"GROUP BY 1 ORDER BY 2 DESC, 1"
    ).fetchall():
        if code is not None:
            column.currencies[code] = int(rows)
        column.open_values += int(open_rows or 0)


def pair_currency_columns(columns: list[PlannedColumn]) -> None:
    """Tie a currency column (`Amount Currency`, `CurrencyIsoCode`) to the money column(s) it qualifies.

    A currency column named after a money column (`Amount Currency`) qualifies that one; a bare `Currency`
    qualifies every money column but those whose header says they are already converted to the home currency
    ("Deal value in base currency", "Amount (converted)": fields.is_converted), which the row's own currency
    would convert a second time."""
    money = [c for c in columns if c.type == "money"]
    for currency in (c for c in columns if c.type == "currency"):
        prefix = header_key(currency.header)
        for suffix in ("currencyisocode", "currencycode", "isocode", "currency", "ccy"):
            if prefix.endswith(suffix):
                prefix = prefix[: -len(suffix)]
                break
        targets = [m for m in money if prefix and prefix in (header_key(m.header), header_key(m.name))] or [
            m for m in money if not is_converted(m.header)
        ]
        for converted in (m for m in money if m not in targets and is_converted(m.header)):
            converted.note = join_note(
                converted.note,
                f"already in the home currency (its header says so): not converted with column {currency.header!r}",
            )
        for target in targets:
            target.currency_source = currency.name
        currency.role = "ignore"
        currency.note = currency.note or (
            f"the currency of {', '.join(t.header for t in targets)}" if targets else "currency codes"
        )


@lru_cache(maxsize=1)
def _shared_symbol_pairs() -> str:
    """SQL list of 'READ/CODE' strings where a bare symbol read as the first may mean the second: "$" is read
    as USD but is the sign of every dollar, peso and real, "¥" of the yuan too, "£" of every pound (from CLDR's
    English symbols and names in babel)."""
    from babel.numbers import get_currency_name, get_currency_symbol, list_currencies

    shared = {"USD": ("$", ("Dollar", "Peso", "Real")), "JPY": ("¥", ("Yen", "Yuan")), "GBP": ("£", ("Pound",))}
    pairs = [
        (read, code)
        for read, (sign, names) in shared.items()
        for code in sorted(list_currencies())
        if code != read
        and (sign in get_currency_symbol(code, "en") or any(n in get_currency_name(code, locale="en") for n in names))
    ]
    return ", ".join(sql_literal(f"{a}/{b}") for a, b in pairs)


def scalar(con: duckdb.DuckDBPyConnection, query: str) -> int:
    """The one number a query returns."""
    row = con.execute(query).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def apply_currencies(
    con, table: str, columns: list[PlannedColumn], mapping: Mapping, file_name: str, warnings: list[str]
) -> None:
    """Give every money column with currencies `<field>_currency`, and one comparable currency.

    When its amounts are in more than one currency (or in one other than the reporting currency the
    user named), `<field>_original` keeps the amount as the file wrote it and `<field>` holds it in the
    reporting currency: converted with the user's rates (`--fx` or `[fx]` in the mapping file: units of
    the reporting currency per unit), or NULL when no rate was given, so that no mean, median, ACV or
    revenue check downstream mixes currencies. Without rates the reporting currency is the column's
    most frequent one. Each step is reported in `warnings` and the column's note.
    """
    for column in columns:
        if column.type != "money" or not (column.currencies or column.currency_source):
            continue
        existing = {r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()}
        own = f"{column.name}_currency"
        if own in existing and own != column.currency_source:
            # another column of the file already holds that name: the parsed currency goes beside it
            taken = own
            while own in existing:
                own = f"{own}_2"
            column.note = join_note(
                column.note, f"its currency is stored as {own!r} ({taken!r} is another column of the file)"
            )
        name, currency, parsed = _q(column.name), _q(own), _q(f"{column.name}__parsed_currency")
        given = currency
        if own != column.currency_source:  # one UPDATE fills the new column (each rewrites every row)
            con.execute(f"ALTER TABLE {table} ADD COLUMN {currency} VARCHAR")
            given = _q(column.currency_source) if column.currency_source else "NULL"
        if column.currency_source:
            # the value's own symbol or code wins over the row's currency column when they disagree ("$11,376"
            # beside Currency=EUR is dollars); a bare "$", "¥" or "£" agrees with any currency it is written for
            clash = (
                f"{parsed} IS NOT NULL AND {given} IS NOT NULL AND {parsed} <> {given} "
                f"AND {parsed} || '/' || {given} NOT IN ({_shared_symbol_pairs()})"
            )
            clashes = scalar(con, f"SELECT count(*) FROM {table} WHERE {name} IS NOT NULL AND {clash}")
            con.execute(
                f"UPDATE {table} SET {currency} = CASE WHEN {clash} THEN {parsed} ELSE coalesce({given}, {parsed}) END"
            )
            if clashes:
                source = next((c.header for c in columns if c.name == column.currency_source), column.currency_source)
                message = (
                    f"{clashes:,} amounts carry their own currency, not the one column {source!r} gives: "
                    f"each is read in its own currency"
                )
                column.note = join_note(column.note, message)
                warnings.append(f"{file_name}: column {column.header!r}: {message}")
        else:
            con.execute(f"UPDATE {table} SET {currency} = coalesce({given}, {parsed})")
        con.execute(f"ALTER TABLE {table} DROP COLUMN {parsed}")
        counts = dict(
            con.execute(
                f"SELECT {currency}, count(*) FROM {table} WHERE {name} IS NOT NULL "
                f"AND {currency} IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1"
            ).fetchall()
        )
        column.currencies = counts
        if not counts:
            continue
        dominant = next(iter(counts))
        unmarked = con.execute(
            f"SELECT count(*) FROM {table} WHERE {name} IS NOT NULL AND {currency} IS NULL"
        ).fetchone()[0]
        if unmarked:  # "12000" beside "$12,000": the column's own currency
            con.execute(
                f"UPDATE {table} SET {currency} = ? WHERE {name} IS NOT NULL AND {currency} IS NULL", [dominant]
            )
            counts[dominant] += unmarked
        reporting = mapping.fx_currency or dominant
        others = sorted(set(counts) - {reporting})
        if column.open_values:
            column.note = join_note(
                column.note, f"{column.open_values} open band(s) such as $10M+ stored as their lower bound"
            )
        if not others:
            continue
        rates = {reporting: 1.0} | {c: r for c, r in mapping.fx.items() if c != reporting}
        con.execute(f"ALTER TABLE {table} ADD COLUMN {_q(column.name + '_original')} DOUBLE")
        con.execute(f"UPDATE {table} SET {_q(column.name + '_original')} = {name}")
        cases = " ".join(f"WHEN {sql_literal(c)} THEN {name} * {float(r)!r}" for c, r in rates.items())
        per_row = _row_rates(con, table, columns, currency, reporting, [c for c in others if c not in rates])
        if per_row:  # the file's own rate, row by row, where the user gave none for the currency
            cases += " " + " ".join(
                f"WHEN {sql_literal(c)} THEN CASE WHEN {per_row[1]} > 0 THEN {name} * {per_row[1]} END"
                for c in per_row[2]
            )
        con.execute(f"UPDATE {table} SET {name} = CASE {currency} {cases} ELSE NULL END")
        converted = [c for c in others if c in rates]
        missing = [c for c in others if c not in rates and c not in (per_row[2] if per_row else [])]
        if converted:
            column.note = join_note(
                column.note,
                f"{sum(counts[c] for c in converted):,} amounts in "
                f"{', '.join(converted)} converted to {reporting} with the given rates",
            )
        if per_row:
            done = scalar(
                con,
                f"SELECT count(*) FROM {table} WHERE {currency} IN "
                f"({', '.join(sql_literal(c) for c in per_row[2])}) AND {name} IS NOT NULL",
            )
            message = (
                f"{done:,} amounts in {', '.join(per_row[2])} converted to {reporting} with the file's own "
                f"column {per_row[0]!r} (read as units of {reporting} per unit, as the rows in {reporting} "
                f"carry 1; if the CRM gives the inverse, pass --fx rates, which win)"
            )
            column.note = join_note(column.note, message)
            warnings.append(f"{file_name}: column {column.header!r}: {message}")
        if missing:
            message = (
                f"{sum(counts[c] for c in missing):,} amounts in {', '.join(missing)} not comparable with "
                f"{reporting}: give --fx rates (a CSV with columns currency,rate) or an fx table in the "
                f"mapping file"
            )
            home = [c.header for c in columns if c.type == "money" and c.canonical and is_converted(c.header)]
            if home and not column.canonical:  # the field it would be is read from the converted column already
                message += f" (column {home[0]!r} already gives amounts in the home currency)"
            column.note = join_note(column.note, message)
            warnings.append(f"{file_name}: column {column.header!r}: {message}")


def _row_rates(
    con: duckdb.DuckDBPyConnection,
    table: str,
    columns: list[PlannedColumn],
    currency: str,
    reporting: str,
    wanted: list[str],
) -> tuple[str, str, list[str]] | None:
    """The file's exchange-rate column to convert the currencies in `wanted` with, row by row: (its header, its
    quoted stored name, the currencies it converts), or None.

    Zoho's deals carry "Currency" and "Exchange Rate" on every row; the rate is the record currency's rate to
    the CRM's home currency. It is used only when every row in the reporting currency that has a rate has 1 (the
    rates are relative to that currency) and only for currencies whose rows all have a positive rate; it is read
    as units of the reporting currency per unit (HubSpot's documented conversionRate, and the --fx convention)."""
    rate = next((c for c in columns if c.name == "exchange_rate" and c.type == "number"), None)
    if rate is None or not wanted:
        return None
    r = _q(rate.name)
    off_one = scalar(
        con,
        f"SELECT count(*) FROM {table} WHERE {currency} = {sql_literal(reporting)} AND {r} IS NOT NULL AND {r} <> 1",
    )
    if off_one or not scalar(
        con, f"SELECT count(*) FROM {table} WHERE {currency} = {sql_literal(reporting)} AND {r} = 1"
    ):
        return None
    usable = [
        c
        for c in wanted
        if not scalar(
            con, f"SELECT count(*) FROM {table} WHERE {currency} = {sql_literal(c)} AND coalesce({r}, 0) <= 0"
        )
    ]
    return (rate.header, r, usable) if usable else None
