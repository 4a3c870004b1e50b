"""SQL text helpers: every identifier and literal the code writes into DuckDB goes through these."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb


def quote_identifier(name: str) -> str:
    """A column or table name as a quoted identifier, whatever characters a CRM header holds."""
    return '"' + name.replace('"', '""') + '"'


def sql_literal(value: object) -> str:
    """A SQL literal (None is NULL); numbers in a form DuckDB reads back to the same double."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"cannot compare with non-finite number {value!r}")
        return str(int(number)) if number.is_integer() and abs(number) < 2**53 else repr(number)
    return "'" + str(value).replace("'", "''") + "'"


def columns_of(con, relation: str) -> set[str]:
    """The column names of a table, view or parenthesised query."""
    return {row[0] for row in con.execute(f"DESCRIBE {relation}").fetchall()}


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """True when a table named `name` (unquoted, as stored) is in the connection's catalog, temporary or not."""
    found = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]).fetchone()
    return bool(found and found[0])


def one(con: duckdb.DuckDBPyConnection, query: str, params: object = None) -> Any:
    """The one row a query returns (an aggregate, a count, a lookup): its only value when the query selects
    one column, else the row as a tuple (`rows, linked = one(con, "SELECT count(*), count_if(ok) ...")`).

    Raises RuntimeError naming the query when it returns no row: a query that always returns
    one (e.g. a bare aggregate) coming back empty is a bug, not a data problem.
    """
    row = con.execute(query, params).fetchone()
    if row is None:
        raise RuntimeError(f"expected one row, the query returned none: {' '.join(query.split())[:300]}")
    return row[0] if len(row) == 1 else row
