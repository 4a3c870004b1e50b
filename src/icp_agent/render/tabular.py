"""The one writer for every tabular file icp-agent produces (CSV, TSV, Parquet).

Spreadsheets evaluate a cell that starts with `=`, `+`, `-` or `@` (and, in some, a
leading tab or carriage return) as a formula: a company name such as
`=HYPERLINK("http://x","y")` in a CRM export would run when a seller opens the file.
Following OWASP's CSV-injection advice (https://owasp.org/www-community/attacks/CSV_Injection),
every text cell that starts with one of those characters is prefixed with a single quote
and every text column is written quoted, so the spreadsheet shows the text instead of
running it. Column names get the same treatment (a scored file keeps its input's headers).

It is done in SQL: the COPY's SELECT wraps each VARCHAR column in a CASE, so a ten-million
row file is never walked in Python. Only VARCHAR columns change; a numeric column (a
negative ARR, say) keeps its type and its sign, because a number is not a formula, and so
does a plain signed number held as text ("-5").
Parquet is written as it is: no reader evaluates a Parquet value, and a typed consumer
should get the data unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from icp_agent.errors import UserError
from icp_agent.sql import quote_identifier as _q
from icp_agent.sql import sql_literal

# OWASP's list: = + - @, tab (0x09), carriage return (0x0D). Full-width ＝ ＋ － ＠ are included because some
# spreadsheet locales fold them to their ASCII forms on input, and so is a sign after leading spaces, because
# importers that trim spaces (LibreOffice's "trim spaces") would then see the sign first.
FORMULA_SIGNS = "=+-@＝＋－＠"
FORMULA_START = FORMULA_SIGNS + "\t\r"
FORMULA_PATTERN = "^(\\s*[=+\\-@＝＋－＠]|[\t\r])"
# A plain signed number ("-5", "+3.2", "-1e3") in a text column is left alone: a spreadsheet reads it as the
# number it is, and a raw export column kept as text (a scored file keeps its input's values) stays readable.
PLAIN_NUMBER = "^[-+]?[0-9]+([.,][0-9]+)?([eE][-+]?[0-9]+)?$"
FORMATS = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet"}


def is_formula_like(text: str) -> bool:
    """True when a spreadsheet could take `text` for a formula (the rule neutralise_sql applies in SQL)."""
    return bool(re.match(FORMULA_PATTERN, text)) and not re.match(PLAIN_NUMBER, text)


def neutralise_name(name: str) -> str:
    """A column name that cannot start a formula."""
    return "'" + name if is_formula_like(name) else name


# Every character FORMULA_PATTERN can start with (a sign, or the whitespace \s allows before one).
FIRST_CHARACTERS = FORMULA_SIGNS + " \t\r\n\f\v"
# Code point ranges holding every character of FIRST_CHARACTERS (and a few more: tab to `-`, `=` to `@`, the
# full-width forms' block): a value whose first code point is outside them cannot start a formula. Two range tests
# on ord() cost less than cutting the first character out of every value (left()) and looking it up in a string
# (a COPY of a 1M-row CRM file: 0.6-0.7 s against 0.8 s on one thread); the patterns decide the rest.
FIRST_CODE_POINTS = ((9, 45), (61, 64), (0xFF0B, 0xFF20))


def first_code_point_sql(expression: str) -> str:
    """SQL: TRUE when the first character of `expression` (VARCHAR) lies in FIRST_CODE_POINTS, FALSE for an empty
    value, NULL for NULL. Plain comparisons, no IN list (DuckDB may turn a long one into a join, which loses the
    rows' order)."""
    tests = " OR ".join(f"ord({expression}) BETWEEN {lo} AND {hi}" for lo, hi in FIRST_CODE_POINTS)
    return f"({tests})"


def neutralise_sql(expression: str) -> str:
    """SQL over a VARCHAR expression: the value prefixed with ' when it starts like a formula, else as it is.

    The regular expressions run only on values whose first character could start a formula (a test of its
    code point, FIRST_CODE_POINTS), so a million names are not each matched against two patterns.
    """
    return (
        f"CASE WHEN {first_code_point_sql(expression)} AND "
        f"regexp_matches({expression}, {sql_literal(FORMULA_PATTERN)}) AND NOT "
        f"regexp_matches({expression}, {sql_literal(PLAIN_NUMBER)}) "
        f"THEN {sql_literal(chr(39))} || {expression} ELSE {expression} END"
    )


def safe_select(con: duckdb.DuckDBPyConnection, query: str) -> tuple[str, list[str]]:
    """(SELECT over `query` with every VARCHAR column neutralised and every name made safe, the text
    columns' output names). Types come from DuckDB's DESCRIBE of the query, never from a column's name."""
    described = con.execute(f"DESCRIBE ({query})").fetchall()
    parts, text_columns = [], []
    for name, sql_type, *_ in described:
        out = neutralise_name(name)
        if sql_type == "VARCHAR":
            parts.append(f"{neutralise_sql(_q(name))} AS {_q(out)}")
            text_columns.append(out)
        elif sql_type.endswith("[]") or sql_type.startswith(("STRUCT", "MAP", "UNION")):
            # nested values are written as text ([a, b], {...}); one starting with a formula sign is defused too
            parts.append(f"{neutralise_sql(f'CAST({_q(name)} AS VARCHAR)')} AS {_q(out)}")
            text_columns.append(out)
        else:
            parts.append(f"{_q(name)} AS {_q(out)}")
    return f"SELECT {', '.join(parts)} FROM ({query})", text_columns


def write_table(con: duckdb.DuckDBPyConnection, query: str, path: str | Path, *, fmt: str | None = None) -> int:
    """Write the rows of `query` (a SELECT) to `path` as CSV (header, comma), TSV (header, tab) or Parquet,
    the format taken from the file's suffix unless `fmt` names it. CSV and TSV cells are neutralised (see the
    module doc); Parquet values are written unchanged. Returns the rows written (COPY's own count). Raises
    UserError for an unknown suffix."""
    path = Path(path)
    kind = fmt or FORMATS.get(path.suffix.lower())
    if kind not in ("csv", "tsv", "parquet"):
        raise UserError(
            f"cannot write {path.suffix or 'a file without extension'}",
            file=str(path),
            hint="name the file .csv, .tsv or .parquet",
        )
    target = sql_literal(str(path))
    if kind == "parquet":
        return con.execute(f"COPY ({query}) TO {target} (FORMAT parquet)").fetchall()[0][0]
    select, text_columns = safe_select(con, query)
    options = ["FORMAT csv", "HEADER", f"DELIMITER {sql_literal(',' if kind == 'csv' else chr(9))}"]
    if text_columns:  # OWASP: quote the cell as well as prefixing it
        options.append(f"FORCE_QUOTE ({', '.join(_q(c) for c in text_columns)})")
    return con.execute(f"COPY ({select}) TO {target} ({', '.join(options)})").fetchall()[0][0]


@contextmanager
def one_thread_each(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Run each statement of the database (`con` and every cursor of it) on one thread for the while (DuckDB's
    threads = 1, restored after), for statements run side by side from threads of their own: file writers.

    DuckDB keeps a file's row order by writing it on about one core: a CSV writer given two threads spent twice
    the CPU for the same time, so several files written at once, each on one thread, finish sooner than one
    after another on two (three 1M-row CRM files: 0.7 s together against 1.2 s in turn, 1.1 s of CPU against
    1.5 s)."""
    row = con.execute("SELECT current_setting('threads')").fetchone()
    con.execute("SET threads = 1")
    try:
        yield
    finally:
        con.execute(f"SET threads = {int(row[0]) if row else 1}")


def write_tables(con: duckdb.DuckDBPyConnection, files: list[tuple[str, str | Path]]) -> list[int]:
    """Write each (query, path) of `files` as `write_table` does, side by side (one_thread_each): the first on
    `con` in this thread (a progress watch on `con` sees it), each other on its own cursor in its own thread.
    Returns the rows written per file, in `files`' order; the first error is raised once every write has ended.

    The queries may read only what every cursor sees: the workspace's tables and attached databases, not `con`'s
    TEMP tables. Each cursor starts with DuckDB's default settings, so its progress bar is switched off."""
    from concurrent.futures import ThreadPoolExecutor, wait

    if len(files) < 2:
        return [write_table(con, query, path) for query, path in files]
    cursors = [con.cursor() for _ in files[1:]]
    try:
        with one_thread_each(con), ThreadPoolExecutor(len(cursors), thread_name_prefix="icp-agent writer") as pool:
            for cursor in cursors:
                cursor.execute("SET enable_progress_bar = false")
            others = [pool.submit(write_table, c, q, p) for c, (q, p) in zip(cursors, files[1:])]
            try:
                first = write_table(con, *files[0])
            finally:
                wait(others)
            return [first, *(future.result() for future in others)]
    finally:
        for cursor in cursors:
            cursor.close()


def write_rows(path: str | Path, columns: list[str], rows: list[tuple], *, fmt: str | None = None) -> None:
    """Write a few rows built in Python (a routing table) through the same writer, on an in-memory DuckDB."""
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        names = ", ".join(_q(c) for c in columns)
        if rows:
            values = ", ".join("(" + ", ".join(sql_literal(v) for v in row) + ")" for row in rows)
            query = f"SELECT * FROM (VALUES {values}) AS t({names})"
        else:  # no rows: the header alone (VALUES needs at least one row)
            query = "SELECT " + ", ".join(f"NULL::VARCHAR AS {_q(c)}" for c in columns) + " WHERE FALSE"
        write_table(con, query, path, fmt=fmt)
    finally:
        con.close()
