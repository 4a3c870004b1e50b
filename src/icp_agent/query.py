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

from .errors import UserError, WorkspaceBusy
from .sql import quote_identifier
from .workspace import _process_lock

MAX_CELL_CHARS = 1000
MEMORY_LIMIT = "1GB"  # a runaway query must not take the server's memory with it
TABLE_HINT = ("the current snapshots are the views customers, deals, contacts and prospects; list every table with "
              "SELECT table_name FROM duckdb_tables(), a table's columns with DESCRIBE customers")


# A cell: a scalar, or a DuckDB LIST/STRUCT rendered as JSON text, so the schema says what a value can be.
Cell = str | int | float | bool | None


class QueryResult(BaseModel):
    columns: list[str] = Field(description="column names, in order")
    column_types: list[str] = Field(description="DuckDB type of each column")
    rows: list[list[Cell]] = Field(description="rows as lists of JSON values, in the columns' order")
    row_count_returned: int
    truncated: bool = Field(description="true when rows or values were left out: see truncated_reason")
    truncated_reason: str | None = Field(None, description="what was cut and how to ask for the rest")


def run_readonly_query(workspace_path: str | Path, sql: str, *, max_rows: int = 200, max_chars: int = 20000,
                       timeout_s: float = 10, busy_timeout: float = 15) -> QueryResult:
    """Run one SELECT on a locked-down, read-only connection and return capped, JSON-safe rows."""
    path = Path(workspace_path)
    if not path.is_file():
        raise UserError("no workspace yet", hint="import data first (the import_data tool or icp-agent import)")
    with _process_lock:  # DuckDB will not open a file read-only while this process holds it read-write
        con = open_locked_down(path, busy_timeout)
        try:
            statement = _single_query(con, sql)
            timer = threading.Timer(timeout_s, _interrupt, [con])
            timer.start()
            try:
                cursor = con.execute(statement)
                columns = [d[0] for d in cursor.description]
                types = [str(d[1]) for d in cursor.description]
                fetched = cursor.fetchmany(max_rows + 1)
            except duckdb.InterruptException as exc:
                raise UserError(f"the query ran longer than {timeout_s:g} s and was stopped",
                                hint="filter, aggregate (GROUP BY) or add a LIMIT") from exc
            except duckdb.PermissionException as exc:
                raise UserError(f"refused by the database: {_message(exc)}",
                                hint="queries can read the workspace's own tables only: no files, extensions "
                                     "or settings") from exc
            except duckdb.Error as exc:
                raise UserError(f"the query failed: {_message(exc)}", hint=TABLE_HINT) from exc
            finally:
                timer.cancel()
        finally:
            con.close()
    return _capped(columns, types, fetched, max_rows, max_chars)


def open_locked_down(path: str | Path, busy_timeout: float = 15) -> duckdb.DuckDBPyConnection:
    """The hardened connection (the caller holds the workspace's process lock). Public so tests can prove that
    the engine, not the statement check, refuses writes, files and settings."""
    con = _connect_read_only(Path(path), busy_timeout)
    try:
        _current_snapshot_views(con)
        con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        con.execute("SET enable_progress_bar = false")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


def _connect_read_only(path: Path, busy_timeout: float) -> duckdb.DuckDBPyConnection:
    """Another process writing the file holds its lock: wait for it like the workspace does, then say busy."""
    deadline = time.monotonic() + busy_timeout
    delay = 0.05
    while True:
        try:
            return duckdb.connect(str(path), read_only=True)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise UserError(f"cannot open the workspace: {_message(exc)}", file=str(path)) from exc
            if time.monotonic() >= deadline:
                raise WorkspaceBusy("workspace busy: another icp-agent process is writing it", file=str(path),
                                    hint="try again when it has finished") from exc
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
        except duckdb.Error as exc:
            raise UserError(f"not a usable DuckDB workspace: {_message(exc)}", file=str(path)) from exc


def _current_snapshot_views(con: duckdb.DuckDBPyConnection) -> None:
    """Temporary views named after each kind, so a query need not know the snapshot tables' generated names."""
    if not con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'current_snapshot'").fetchone()[0]:
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
        raise UserError(f"{len(statements)} statements given; exactly one SELECT is allowed",
                        hint="send one query per call (no ';' between statements)")
    statement = statements[0]
    if statement.type != duckdb.StatementType.SELECT:
        raise UserError(f"only SELECT queries are allowed here, not {statement.type.name}",
                        hint="the workspace is read-only through this tool: use the other tools to change it")
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
            reasons.append(f"the result passed {max_chars} characters after {len(rows)} rows: select fewer "
                           "columns or rows, or page with LIMIT/OFFSET")
            break
        rows.append(row)
        used += size
    if clipped:
        reasons.insert(0, f"text values longer than {MAX_CELL_CHARS} characters were cut: select substr(col, start, "
                          "length) to read the rest")
    return QueryResult(columns=columns, column_types=types, rows=rows, row_count_returned=len(rows),
                       truncated=bool(reasons), truncated_reason="; ".join(reasons) or None)


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
    try:
        con.interrupt()
    except duckdb.Error:
        pass  # the query finished and the connection closed in the meantime




def _message(exc: Exception) -> str:
    """DuckDB's message without the echoed query (its "LINE 1: ..." tail), on one line."""
    lines = []
    for line in str(exc).strip().splitlines():
        if line.startswith("LINE "):
            break
        if line.strip():
            lines.append(line.strip())
    return " ".join(lines)
