"""Row checks: what a file's rows must satisfy to be stored. A customers, prospects or per-account
file needs a column naming each row's company or account; rows equal in every column to an earlier one are
dropped; of two different rows with one id the first is kept and the rest rejected, naming the row they
clash with; a row naming no company is rejected; ids a spreadsheet rounded into scientific notation are
kept apart and warned about."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress

import duckdb

from icp_agent.errors import UserError
from icp_agent.ingest.columns import ACCOUNT_TABLE_KINDS, ID_FIELD, PlannedColumn
from icp_agent.ingest.reader import PARQUET_ROW, SourceFile
from icp_agent.models import RejectedRow
from icp_agent.sql import one
from icp_agent.sql import quote_identifier as _q

# A subscription id repeats legitimately in a history export (one row per plan change): not a conflict.
HISTORY_KINDS = frozenset({"subscriptions"})


def require_identity(columns: list[PlannedColumn], kind: str, source: SourceFile, profiles) -> None:
    """Refuse a companies file with no id, name or domain column holding values, and an account table (deals,
    contacts, ...) with no column naming each row's account: a UserError naming the file and its headers.
    `profiles` maps each header to its profile counts (`present` = rows with a value)."""
    names = {c.name for c in columns if profiles[c.header]["present"]}
    if kind in ("customers", "prospects") and not names & {"company_id", "company_name", "domain"}:
        raise UserError(
            f"a {kind} file needs an id, a company name or a domain column; found columns: "
            f"{', '.join(c.header for c in columns)}",
            file=source.name,
            hint="rename one column (e.g. 'Record ID' or 'Company name') or map it in a mapping file "
            '([columns] "Your Header" = "company_id")',
        )
    if kind in ACCOUNT_TABLE_KINDS and not names & {"company_id", "company_name", "domain"}:
        raise UserError(
            f"the {kind} file needs a column naming each row's account (its id, name or domain); "
            f"found columns: {', '.join(c.header for c in columns)}",
            file=source.name,
            hint='map the account column in a mapping file ([columns] "Your Header" = "company_id")',
        )
    if kind == "events":  # health/rollup.py reads a row per event or usage counted per period, nothing else
        from icp_agent.ingest.fields import USAGE_COUNTS

        if "event_time" not in names or not names & {"event_name", *USAGE_COUNTS}:
            raise UserError(
                "an events file needs a date or time column and either an event name (a row per event) or a "
                f"usage count per account and period; found columns: {', '.join(c.header for c in columns)}",
                file=source.name,
                hint="a row per event needs Event (the name) and Timestamp; usage per period needs a period "
                "(Week, Day, Date) and a count (Events, Sessions, Minutes, Active Users); map its columns in a "
                'mapping file ([columns] "Your Header" = "event_time")',
            )


SCIENTIFIC_ID = r"[0-9](\.[0-9]+)?[eE]\+?[0-9]+"  # 1.23457E+17: a spreadsheet rounded a long id
ID_FIELDS = ("company_id", "deal_id", "contact_id")


def _lossy_id(column: str) -> str:
    """SQL: the id is in scientific notation. The regular expression runs only on ids holding an "e" or "E" (a
    search for one byte): the scan of 1M ids took 0.03 s with it on every id, 0.012 s so."""
    text = f"CAST({column} AS VARCHAR)"
    return f"((contains({text}, 'E') OR contains({text}, 'e')) AND regexp_full_match(trim({text}), '{SCIENTIFIC_ID}'))"


def scientific_ids(con, table: str, columns: list[PlannedColumn], file_name: str) -> list[str]:
    """Warn about id columns a spreadsheet turned into scientific notation (distinct ids now look alike).

    Those rows are kept (never folded into one record as id conflicts); their id links nothing
    (ingest/links.py), so the link report shows what they cost.
    """
    warnings = []
    for column in columns:
        if column.name not in ID_FIELDS:
            continue
        q = _q(column.name)
        found = con.execute(
            f"SELECT _row, CAST({q} AS VARCHAR) FROM {table} WHERE {_lossy_id(q)} ORDER BY _row"
        ).fetchall()
        if found:
            rows = ", ".join(str(r) for r, _ in found[:12]) + (", ..." if len(found) > 12 else "")
            warnings.append(
                f"{file_name}: column {column.header!r}: ids in scientific notation lost their digits "
                f"(e.g. {found[0][1]}): {len(found):,} rows share {_ids(len({v for _, v in found}))} "
                f"(rows {rows}); they were kept as separate records and link to nothing. Re-export the "
                f"column as text (format the column as Text before saving, or export from the CRM "
                f"directly)"
            )
    return warnings


def _ids(n: int) -> str:
    return f"{n:,} id" + ("" if n == 1 else "s")


def reject_conflicts(
    con, table: str, kind: str, columns: list[PlannedColumn], unique_header: str | None = None
) -> list[RejectedRow]:
    """Two different rows with the same id: keep the first, reject the rest, say which row they clash with.

    Ids in scientific notation are not compared: they lost their digits, so equal values do not
    mean the same record (see scientific_ids). `unique_header` is the header `unique_id` proved unique in the
    staged rows: when the id column is that header stored as text, no two stored ids are equal and the table is
    not read.
    """
    id_field = ID_FIELD[kind]
    if kind in HISTORY_KINDS or id_field not in {c.name for c in columns}:
        return []
    if unique_header is not None and any(
        c.name == id_field and c.header == unique_header and c.type == "text" for c in columns
    ):
        return []
    id_column = _q(id_field)
    # ids that repeat, by a hash aggregate (no sort); the window below then ranks only their rows. Whether any
    # repeats is read from the aggregate alone (joined back to the rows, the table was read again when some did)
    repeats = f"SELECT {id_column} FROM {table} WHERE {id_column} IS NOT NULL GROUP BY {id_column} HAVING count(*) > 1"
    repeated = f"{id_column} IN ({repeats})"
    if not con.execute(f"SELECT count(*) FROM ({repeats})").fetchone()[0]:
        return []
    comparable = f"{repeated} AND NOT {_lossy_id(id_column)}"
    clashes = con.execute(f"""
        SELECT _row, {id_column}, first_row FROM (
            SELECT _row, {id_column}, min(_row) OVER (PARTITION BY {id_column}) AS first_row FROM {table}
            WHERE {comparable})
        WHERE _row <> first_row ORDER BY _row""").fetchall()
    if not clashes:
        return []
    con.execute(f"""DELETE FROM {table} WHERE _row IN (
        SELECT _row FROM (SELECT _row, min(_row) OVER (PARTITION BY {id_column}) AS first_row FROM {table}
                          WHERE {comparable}) WHERE _row <> first_row)""")
    return [
        RejectedRow(
            row=row,
            column=id_field,
            reason=f"id conflict: {id_field} {value!r} also on row {first} with different values (kept row {first})",
            raw=str(value),
        )
        for row, value, first in clashes
    ]


def _spaced_out(column: str) -> str:
    """SQL: the text of `column` with every tab and Unicode space separator (\\p{Zs}: the space, the no-break space,
    the ideographic space, ...) taken out, anywhere in it. Two values `norm.text` stores alike have the same
    spaced-out text: it only trims them (the characters trim takes off both ends are those separators) and collapses
    runs of spaces and tabs (or stores NULL). The regular expression runs only on values with a space or a tab or a
    character beyond ASCII (most ids have none): 0.015 s of CPU over 1M ids, 0.06 s for norm.trimmed first."""
    return (
        f"CASE WHEN strlen({column}) = length({column}) AND NOT contains({column}, ' ') "
        f"AND NOT contains({column}, chr(9)) THEN {column} ELSE regexp_replace({column}, '[\\t\\p{{Zs}}]', '', 'g') END"
    )


def unique_id(con: duckdb.DuckDBPyConnection, headers: list[str]) -> str | None:
    """The first of `headers` (text columns of _stage, an export's id columns) whose values differ in every staged
    row even with their spaces and tabs taken out (`_spaced_out`; two NULLs are alike), or None.

    Such a column proves two things: no two rows are equal (there is no duplicate row to drop), and no two of its
    values stored as text are equal (`reject_conflicts` has no id conflict to look for). A sort of the values'
    hashes: 0.08 s of CPU at 1M rows, where the duplicate check on the raw ids and the conflict check on the stored
    ones (a hash aggregate) cost 0.07 s and 0.1 s.
    """
    with working_memory(con, DEDUP_WORKING_MEMORY):
        for header in headers:
            if not one(con, f"SELECT count(*) FROM ({_repeated_hashes(_spaced_out(_q(header)))})"):
                return header
    return None


# The first rows a column must differ in to be the duplicate search's key (`_distinct_key`), and the share of all
# rows its repeated values may cover before the search sorts every column's hash instead.
KEY_SAMPLE_ROWS = 10_000
KEY_REPEATS_MAX = 0.05


def _distinct_key(con: duckdb.DuckDBPyConnection, headers: Sequence[str]) -> str | None:
    """SQL of the column of `headers` (columns of _stage) with a value in, and differing in, each of the first
    KEY_SAMPLE_ROWS staged rows (the shortest such column by bytes), or None: one small scan of those rows."""
    if not headers:
        return None
    quoted = [_q(h) for h in headers]
    counts = ", ".join(f"count(DISTINCT {q}), sum(strlen({q}))" for q in quoted)
    row = con.execute(f"SELECT count(*), {counts} FROM (SELECT * FROM _stage LIMIT {KEY_SAMPLE_ROWS})").fetchone()
    if not row or row[0] < 2:
        return None
    found = [(row[2 + 2 * k] or 0, q) for k, q in enumerate(quoted) if row[1 + 2 * k] == row[0]]
    return min(found)[1] if found else None


def _repeated_hashes(column: str) -> str:
    """SQL: the rows of _stage whose hash of `column` (SQL) equals the hash of the row before it in hash order."""
    return (
        f"SELECT _h FROM (SELECT _h, lag(_h) OVER (ORDER BY _h) AS _p FROM (SELECT hash({column}) AS _h FROM _stage)) "
        "WHERE _h = _p"
    )


def reject_anonymous(con, table: str, kind: str, columns: list[PlannedColumn]) -> list[RejectedRow]:
    """Delete from `table` the rows of a companies or account-table file with none of company_id, company_name,
    domain, and return them as rejected rows (row number, the reason); other kinds are left as they are."""
    if kind not in ("customers", "prospects", *ACCOUNT_TABLE_KINDS):
        return []
    keys = [c for c in ("company_id", "company_name", "domain") if c in {col.name for col in columns}]
    condition = " AND ".join(f"{_q(k)} IS NULL" for k in keys)
    rows = [r[0] for r in con.execute(f"SELECT _row FROM {table} WHERE {condition} ORDER BY _row").fetchall()]
    if rows:
        con.execute(f"DELETE FROM {table} WHERE {condition}")
    what = (
        "the company cannot be identified"
        if kind in ("customers", "prospects")
        else f"the {kind[:-1]} belongs to no account"
    )
    return [RejectedRow(row=r, column=None, reason=f"no {' / '.join(keys)}: {what}") for r in rows]


# The working memory the duplicate check's hash table may take above what the connection already holds; beyond
# it DuckDB spills the table's partitions to the temp directory (beside the workspace). Without it the table
# grew to the engine's limit: 10M Parquet rows, one group each, took the import's peak from 0.16 to 0.67 GB
# (the plain CREATE TABLE of the same file peaks at 0.37 GB); with it, 0.35 GB and no slower (1.6 s of CPU
# against 2.2 s: the smaller partitions are cheaper to build).
DEDUP_WORKING_MEMORY = 256 * 2**20


@contextmanager
def working_memory(con: duckdb.DuckDBPyConnection, extra: int) -> Iterator[None]:
    """Lower the connection's memory limit, for the statements inside, to what it holds now plus `extra` bytes
    (never above the limit already set), and restore it after. Operators that can spill (aggregates, joins,
    sorts) then spill to the temp directory instead of growing to the engine's limit.

    The limit restored is the one the workspace set (the variable `icp_memory_limit`, see
    Workspace._settings), else DuckDB's default: the limit read back as text is rounded ("1.8 GiB")."""
    row = con.execute(
        "SELECT current_setting('memory_limit'), (SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory()), "
        "getvariable('icp_memory_limit')"
    ).fetchone()
    setting, held, configured = row if row else (None, 0, None)
    budget = int(held or 0) + extra
    limit = _bytes(str(setting)) if setting is not None else None
    if limit is None or budget >= limit:
        yield
        return
    con.execute(f"SET memory_limit = '{budget // 2**20}MiB'")
    try:
        yield
    except BaseException:
        # a failed statement aborts the transaction, which then refuses even a SET: its error is the one to raise
        with suppress(duckdb.Error):
            _restore_memory_limit(con, configured)
        raise
    _restore_memory_limit(con, configured)


def _restore_memory_limit(con: duckdb.DuckDBPyConnection, configured: str | None) -> None:
    if configured:
        con.execute("SET memory_limit = ?", [configured])
    else:
        con.execute("RESET memory_limit")


def reserve_block_pool(con: duckdb.DuckDBPyConnection, size: int) -> None:
    """Let DuckDB's block allocator keep up to `size` bytes of the blocks it frees, for the rest of the process (the
    setting can only grow; memory is taken as blocks are used, and stays resident once taken).

    Under a working-memory budget (`working_memory`) DuckDB evicts blocks to stay below it and allocates them again,
    and each new allocation is page faults the kernel zeroes: 10M Parquet rows imported took 2.0 s of system CPU
    against 0.3 s for the plain CREATE TABLE of the file; with a 256 MiB pool 1.3 s, and no higher peak."""
    setting = one(con, "SELECT current_setting('block_allocator_memory')")
    if (_bytes(str(setting)) or 0) < size:
        con.execute(f"SET block_allocator_memory = '{size // 2**20}MiB'")


def _bytes(size: str) -> int | None:
    """DuckDB's memory size text ("11.6 GiB", "256.0 MiB") in bytes; None when it is not a size."""
    units = {
        "bytes": 1,
        "kib": 2**10,
        "mib": 2**20,
        "gib": 2**30,
        "tib": 2**40,
        "kb": 10**3,
        "mb": 10**6,
        "gb": 10**9,
        "tb": 10**12,
    }
    parts = size.strip().split()
    if len(parts) != 2 or parts[1].lower() not in units:
        return None
    try:
        return int(float(parts[0]) * units[parts[1].lower()])
    except ValueError:
        return None


def kept_rows_filter(rid: str) -> str:
    """The WHERE clause leaving out of a Parquet file's rows (numbered by `rid`) those listed in `_dup_rows`."""
    return f" WHERE {rid} NOT IN (SELECT _rid FROM _dup_rows)"


def drop_duplicate_rows(
    con: duckdb.DuckDBPyConnection, originals: str, rid: str = "rowid", headers: Sequence[str] = ()
) -> str:
    """Drop from _stage every row equal in all columns to an earlier row (the first is kept); `rid` numbers the
    staged rows in file order; `headers` are the columns `originals` (SQL) lists. Returns the WHERE clause that
    keeps the other rows ("" when none was dropped).

    An id column whose values differ in every row (`unique_id`) proves there is none for a quarter of the CPU of
    hashing every column of every row (0.07 s against 0.25 s at 1M rows): the caller asks it first.

    Only rows whose hash of all columns repeats are compared value by value, so a file without
    duplicates costs one hash per row and a small aggregate, never a copy of the table (a GROUP BY
    over every column materialised the whole file a second time). A _stage table loses the
    duplicates (DELETE); a view over a Parquet file cannot, so they stay listed in _dup_rows and the
    clause returned leaves them out.

    When one of `headers` differs in every one of the first rows (a name, a website: `_distinct_key`), the rows
    whose value of it repeats are the only ones that can repeat, and the hash of that one column is sorted instead
    of every column's: 10M Parquet rows 0.95 s of CPU against 1.27 s. Its repeats are counted first: past
    KEY_REPEATS_MAX of the rows (the column blank in half the file), every column's hash is sorted as before.
    """
    key = _distinct_key(con, headers)
    with working_memory(con, DEDUP_WORKING_MEMORY):
        # the repeated hashes by sorting the hashes and comparing neighbours: a sort of 10M 8-byte keys costs 1.3 s of
        # CPU where a hash aggregate over them (a group per row, as good as none repeat) cost 2.0 s
        hashed = f"hash({originals})"
        if key is not None:
            con.execute(
                "CREATE OR REPLACE TEMP TABLE _dup_keys AS SELECT _h, count(*) + 1 AS n "
                f"FROM ({_repeated_hashes(key)}) GROUP BY _h"
            )
            repeats = one(con, "SELECT coalesce(sum(n), 0) FROM _dup_keys")
            if repeats <= KEY_REPEATS_MAX * one(con, "SELECT count(*) FROM _stage"):
                hashed = f"hash({key})"
            else:
                con.execute("DROP TABLE _dup_keys")
                key = None
        if key is None:
            con.execute(f"""CREATE OR REPLACE TEMP TABLE _dup_keys AS
                SELECT DISTINCT _h FROM ({_repeated_hashes(originals)})""")
            repeats = one(con, "SELECT count(*) FROM _dup_keys")
        if repeats:  # those rows compared value by value
            con.execute(f"""CREATE OR REPLACE TEMP TABLE _dup_rows AS
                SELECT _rid FROM (
                    SELECT {rid} AS _rid, row_number() OVER (PARTITION BY {originals} ORDER BY {rid}) AS _n
                    FROM _stage WHERE {hashed} IN (SELECT _h FROM _dup_keys))
                WHERE _n > 1""")
        con.execute("DROP TABLE _dup_keys")
    if not repeats or not one(con, "SELECT count(*) FROM _dup_rows"):
        con.execute("DROP TABLE IF EXISTS _dup_rows")
        return ""
    if rid == PARQUET_ROW:
        return kept_rows_filter(rid)
    con.execute("DELETE FROM _stage WHERE rowid IN (SELECT _rid FROM _dup_rows)")
    con.execute("DROP TABLE _dup_rows")
    return ""
