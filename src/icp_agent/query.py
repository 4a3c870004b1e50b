"""Read-only SQL over the workspace, for the questions the fixed tools do not answer.

The safety is the engine's, not a parser's: each query gets its own connection, opened
read-only, with `enable_external_access=false` (no files, no network, no extensions) and
then `lock_configuration=true`, so no statement can write the file, touch another file or
turn those settings back on. The statement check before it only turns the obvious
mistakes (two statements, an UPDATE) into a message a model can act on.

Results are capped by rows, by characters and by time, and say when they were cut.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import math
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
from pydantic import BaseModel, Field

from icp_agent import numbers
from icp_agent.errors import UserError
from icp_agent.sql import quote_identifier, table_exists
from icp_agent.workspace import READ_ONLY_CONFIG, connect_read_only, process_lock

MAX_CELL_CHARS = 1000
TABLE_HINT = (
    "the current snapshots are the views customers, deals, contacts and prospects; list every table with "
    "SELECT table_name FROM duckdb_tables(), a table's columns with DESCRIBE customers"
)


# A cell: a scalar, or a DuckDB LIST/STRUCT rendered as JSON text, so the schema says what a value can be.
Cell = str | int | float | bool | None


class QueryResult(BaseModel):
    """query_workspace's result (MCP, --json): columns, types and rows, and what was truncated."""

    columns: list[str] = Field(description="column names, in order")
    column_types: list[str] = Field(description="DuckDB type of each column")
    rows: list[list[Cell]] = Field(description="rows as lists of JSON values, in the columns' order")
    row_count_returned: int
    truncated: bool = Field(description="true when rows or values were left out: see truncated_reason")
    truncated_reason: str | None = Field(None, description="what was cut and how to ask for the rest")


def run_readonly_query(
    workspace_path: str | Path,
    sql: str,
    *,
    max_rows: int = 200,
    max_chars: int = 20000,
    timeout_s: float = 10,
    busy_timeout: float = 15,
) -> QueryResult:
    """Run one SELECT on a locked-down, read-only connection and return capped, JSON-safe rows.

    Fair and bounded: the connection is this call's own (other reads run beside it; see
    workspace.ReadWriteLock), the engine's memory and threads are capped (workspace.READ_ONLY_CONFIG), the
    result is cut in SQL before Python builds it (LIMIT max_rows + 1, text cells to MAX_CELL_CHARS + 1), and
    one timer interrupts the connection timeout_s after the call started, whatever step it is in."""
    path = Path(workspace_path)
    if not path.is_file():
        raise UserError("no workspace yet", hint="import data first (the import_data tool or icp-agent import-data)")
    started = time.monotonic()
    with process_lock.reading(busy_timeout, path):
        con = open_locked_down(path, busy_timeout)
        left = max(timeout_s - (time.monotonic() - started), 0.01)
        timer = threading.Timer(left, _interrupt, [con])
        timer.start()
        try:
            statement = _single_query(con, sql)
            try:
                cursor = con.execute(_bounded(con, statement.query, max_rows))
                columns = [d[0] for d in cursor.description]
                types = [str(d[1]) for d in cursor.description]
                fetched = cursor.fetchmany(max_rows + 1)
            except duckdb.InterruptException as exc:
                raise UserError(
                    f"the query ran longer than {numbers.number(timeout_s)} s and was stopped",
                    hint="filter, aggregate (GROUP BY) or add a LIMIT",
                ) from exc
            except duckdb.OutOfMemoryException as exc:
                raise UserError(
                    f"the query needed more than the {READ_ONLY_CONFIG['memory_limit']} this tool may "
                    "use and was stopped",
                    hint="select fewer or shorter values, or aggregate",
                ) from exc
            except duckdb.PermissionException as exc:
                raise UserError(
                    f"refused by the database: {_message(exc)}",
                    hint="queries can read the workspace's own tables only: no files, extensions or settings",
                ) from exc
            except duckdb.Error as exc:
                raise UserError(f"the query failed: {_message(exc)}", hint=TABLE_HINT) from exc
        finally:
            timer.cancel()
            con.close()
    return _capped(columns, types, fetched, max_rows, max_chars)


def _bounded(con: duckdb.DuckDBPyConnection, query: str, max_rows: int) -> str:
    """The query wrapped so the engine stops after max_rows + 1 rows and cuts each text value to
    MAX_CELL_CHARS + 1 characters: a result is bounded before it is built. A statement that cannot be a
    subquery (a PRAGMA-style one) runs as it is; fetchmany still caps its rows."""
    body = query.strip().rstrip(";")
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM ({body}) AS q").fetchall()
    except duckdb.InterruptException:
        raise
    except duckdb.Error:
        return query
    names = [r[0] for r in described]
    if len(set(names)) != len(names):
        return query  # duplicate names cannot be selected one by one; the row cap still holds
    columns = [
        f"left({quote_identifier(n)}, {MAX_CELL_CHARS + 1}) AS {quote_identifier(n)}"
        if t == "VARCHAR"
        else quote_identifier(n)
        for n, t, *_ in described
    ]
    return f"SELECT {', '.join(columns)} FROM ({body}) AS q LIMIT {max_rows + 1}"


def open_locked_down(path: str | Path, busy_timeout: float = 15) -> duckdb.DuckDBPyConnection:
    """The hardened connection (the caller holds the read side of the workspace's process lock). Public so tests
    can prove that the engine, not the statement check, refuses writes, files and settings."""
    con = connect_read_only(Path(path), busy_timeout)
    try:
        _current_snapshot_views(con)
    except BaseException:
        con.close()
        raise
    return con


def _current_snapshot_views(con: duckdb.DuckDBPyConnection) -> None:
    """Temporary views named after each kind, so a query need not know the snapshot tables' generated names."""
    if not table_exists(con, "current_snapshot"):
        return
    for kind, table in con.execute("""SELECT c.kind, i.table_name FROM current_snapshot c JOIN imports i
                                      USING (import_id) WHERE c.kind <> 'interviews'""").fetchall():
        con.execute(f"CREATE TEMP VIEW {quote_identifier(kind)} AS SELECT * FROM main.{quote_identifier(table)}")


def _single_query(con: duckdb.DuckDBPyConnection, sql: str) -> duckdb.Statement:
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise UserError(f"not valid SQL: {_message(exc)}", hint="write one DuckDB SELECT statement") from exc
    if len(statements) != 1:
        raise UserError(
            f"{len(statements)} statements given; exactly one SELECT is allowed",
            hint="send one query per call (no ';' between statements)",
        )
    statement = statements[0]
    if statement.type != duckdb.StatementType.SELECT:
        raise UserError(
            f"only SELECT queries are allowed here, not {statement.type.name}",
            hint="the workspace is read-only through this tool: use the other tools to change it",
        )
    return statement


def _capped(columns: list[str], types: list[str], fetched: list[tuple], max_rows: int, max_chars: int) -> QueryResult:
    reasons: list[str] = []
    if len(fetched) > max_rows:
        fetched = fetched[:max_rows]
        reasons.append(f"more than {max_rows} rows: filter, aggregate, or page with LIMIT/OFFSET")
    rows: list[list[Any]] = []
    used = 0
    clipped = False
    for raw in fetched:
        row = [_cell(v) for v in raw]
        row, cut = _clip_long_strings(row)
        clipped |= cut
        size = len(json.dumps(row, ensure_ascii=False))
        if used + size > max_chars:
            reasons.append(
                f"the result passed {max_chars} characters after {len(rows)} rows: select fewer "
                "columns or rows, or page with LIMIT/OFFSET"
            )
            break
        rows.append(row)
        used += size
    if clipped:
        reasons.insert(
            0,
            f"text values longer than {MAX_CELL_CHARS} characters were cut: select substr(col, start, "
            "length) to read the rest",
        )
    return QueryResult(
        columns=columns,
        column_types=types,
        rows=rows,
        row_count_returned=len(rows),
        truncated=bool(reasons),
        truncated_reason="; ".join(reasons) or None,
    )


def _cell(value: Any) -> Cell:
    """A top-level cell: nested LIST/STRUCT values become JSON text (see Cell)."""
    converted = _json_value(value)
    return json.dumps(converted, ensure_ascii=False) if isinstance(converted, (list, dict)) else converted


def _json_value(value: Any) -> Any:
    """DuckDB's Python values as JSON: decimals as floats, dates as ISO text, NaN as null."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, Decimal):
        return _json_value(float(value))
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_json_value(v) for v in value]
    return str(value)


def _clip_long_strings(row: list[Any]) -> tuple[list[Any], bool]:
    clipped = [v[:MAX_CELL_CHARS] + "…" if isinstance(v, str) and len(v) > MAX_CELL_CHARS else v for v in row]
    return clipped, clipped != row


def _interrupt(con: duckdb.DuckDBPyConnection) -> None:
    with contextlib.suppress(duckdb.Error):  # the query finished and the connection closed in the meantime
        con.interrupt()


def _message(exc: Exception) -> str:
    """DuckDB's message without the echoed query (its "LINE 1: ..." tail), on one line."""
    lines = []
    for line in str(exc).strip().splitlines():
        if line.startswith("LINE "):
            break
        if line.strip():
            lines.append(line.strip())
    return " ".join(lines)
