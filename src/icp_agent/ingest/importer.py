"""Importing one file into the workspace: map headers, type and normalise values, report.

The whole import is one transaction. Its product is a typed table per snapshot
(`imp_<kind>_<sha12>`), rows in `imports`/`import_rejects`, and an ImportReport that
says for every column what it became and for every rejected row why. The steps live beside it:
mapping (the user's overrides), columns (kind and column planning), profile (type and role
inference), dates (day/month order), lookups (normalised values), currencies, checks (rows
refused or dropped) and column_reports.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeGuard

import duckdb

from icp_agent.errors import UserError
from icp_agent.ingest import normalize as norm
from icp_agent.ingest.amounts import apply_amounts
from icp_agent.ingest.checks import (
    ID_FIELDS,
    drop_duplicate_rows,
    kept_rows_filter,
    reject_anonymous,
    reject_conflicts,
    require_identity,
    reserve_block_pool,
    scientific_ids,
    unique_id,
    working_memory,
)
from icp_agent.ingest.column_reports import column_reports, inline_reports, stored_scan
from icp_agent.ingest.columns import ID_FIELD, detect_kind, plan_columns, value_fit
from icp_agent.ingest.currencies import apply_currencies, count_currencies, pair_currency_columns, scalar
from icp_agent.ingest.dates import AMBIGUOUS, ambiguous_date_orders, date_order
from icp_agent.ingest.fields import canonical_field
from icp_agent.ingest.lookups import (
    LOOKUP_TYPES,
    build_lookup,
    mapped_values,
    read_amounts,
    stored_names,
    typed_exprs,
    unpacked,
)
from icp_agent.ingest.mapping import Mapping
from icp_agent.ingest.positional import DirectReading, direct_reading, keeps_order, positional_lookup
from icp_agent.ingest.profile import (
    PROFILE_ROWS,
    distinct_values,
    infer_role,
    infer_type,
    profile_columns,
    profile_known,
)
from icp_agent.ingest.reader import (
    DUCKDB_ROW_GROUP_ROWS,
    PARQUET_ROW,
    SourceFile,
    drop_stage,
    inspect_file,
    peek_headers,
    stage,
    stage_is_view,
)
from icp_agent.models import FurnitureRow, ImportReport, RejectedRow
from icp_agent.progress import Parts, adapt, watch
from icp_agent.shapes import Kind
from icp_agent.sql import one
from icp_agent.sql import quote_identifier as _q
from icp_agent.workspace import Workspace

MAX_REJECTS_IN_REPORT = 50


def _staged_as_text(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """SQL per original column giving its value as VARCHAR (Parquet/JSON columns are typed)."""
    result = {}
    view = stage_is_view(con)
    for name, dtype, *_ in con.execute("DESCRIBE _stage").fetchall():
        if view and name == PARQUET_ROW:  # the row number a Parquet view adds, not a column of the file
            continue
        column = _q(name)
        if dtype.endswith("[]"):
            result[name] = f"array_to_string({column}, ';')"
        elif dtype == "VARCHAR":
            result[name] = column
        else:
            result[name] = f"CAST({column} AS VARCHAR)"
    return result


def import_file(
    ws: Workspace,
    path: str | Path,
    kind: str | None = None,
    *,
    mapping: Mapping | None = None,
    lenient: bool = False,
    progress: Callable[[str], None] | None = None,
    reason: str = "named by the caller",
    sheet: str | int | None = None,
) -> ImportReport:
    """Import one tabular file as a new snapshot of its kind (idempotent on the file's content).

    One transaction: a failure leaves the workspace as it was. `sheet` picks a workbook's
    worksheet (name or 0-based index). Raises UserError for anything wrong with the file.
    """
    with ws.transaction() as con:
        return import_into(
            con,
            path,
            kind,
            mapping=mapping,
            lenient=lenient,
            progress=progress,
            reason=reason,
            sheet=sheet,
            scratch_dir=ws.path.parent,
        )


@contextmanager
def _memory_refused(con: duckdb.DuckDBPyConnection, source: SourceFile) -> Iterator[None]:
    """DuckDB out of memory while the file is staged, profiled or written: a UserError naming the file, the engine's limit
    and the setting that raises it (the import's transaction is rolled back: nothing is stored)."""
    limit = one(con, "SELECT coalesce(getvariable('icp_memory_limit'), current_setting('memory_limit'))")
    try:
        yield
    except duckdb.OutOfMemoryException as exc:
        raise UserError(
            f"ran out of memory importing it (the engine's limit is {limit}; nothing was imported)",
            file=source.name,
            hint="set ICP_AGENT_MEMORY_LIMIT higher (e.g. ICP_AGENT_MEMORY_LIMIT=8GB) or close other programs, "
            "and import it again",
        ) from exc


def import_into(
    con: duckdb.DuckDBPyConnection,
    path: str | Path | SourceFile,
    kind: str | None = None,
    *,
    mapping: Mapping | None = None,
    lenient: bool = False,
    progress: Callable[[str], None] | None = None,
    reason: str = "named by the caller",
    sheet: str | int | None = None,
    scratch_dir: Path | None = None,
) -> ImportReport:
    """`import_file` inside the caller's transaction, so several files can commit (or roll back) together.

    `scratch_dir` receives the UTF-8 copy of a workbook or UTF-16/cp1252 file while it is read.
    """
    mapping = mapping or Mapping()
    # the file's digest (the snapshot's name) is read beside the staging and the profiling, and waited for only
    # where it is needed: at the write, or here when an earlier import of the kind might be of the same bytes (the
    # search for empty lines, beside the staging)
    source = path if isinstance(path, SourceFile) else inspect_file(path, lenient=lenient, sheet=sheet, wait=False)
    report_progress = adapt(progress)
    say = lambda message: report_progress(message)  # noqa: E731 - a step without rows
    if kind is None:
        if source.format not in ("csv", "xlsx"):
            stage(con, source, lenient=lenient, scratch_dir=scratch_dir)
        kind, reason = detect_kind(source.headers, mapping, source.name)
    if not _importable(kind):
        raise UserError(f"unknown kind {kind!r}", hint=f"use one of {', '.join(ID_FIELD)}")
    # a field without a [values.FIELD] of its own is stored as the workspace's files of other kinds were (and the
    # tables applied are part of the key: a changed table re-imports). Not the snapshot this import replaces: a line
    # removed from the mapping file must not come back from the file imported with it
    mapping = mapping.with_workspace_values(workspace_value_maps(con, other_than=kind))
    naming = _SnapshotNames(source, kind, mapping, lenient)
    # a snapshot's id begins with its kind: without an import of the kind, none can be of this file (no wait)
    if source.pending_sha256 is None or one(con, "SELECT count(*) FROM imports WHERE kind = ?", [kind]):
        found = already_imported(con, kind, naming.import_id)
        if found is not None:
            return found
    reading = f"reading {source.name}" + (f" (sheet {source.sheet!r})" if source.sheet else "")
    with _memory_refused(con, source):
        with watch(con, progress, reading, _estimated_rows(con, source)):
            reader_rejects = stage(con, source, lenient=lenient, scratch_dir=scratch_dir)
        with _DuplicateSearches() as searches:
            try:  # a Parquet file's rows profiled as if none repeated, while a second connection looks for repeats
                report = _build_snapshot(con, source, kind, naming, mapping, reader_rejects, say, progress, searches)
            except _DuplicatesFound as repeated:  # some did: built again without them
                report = _build_snapshot(
                    con, source, kind, naming, mapping, reader_rejects, say, progress, repeated_rows=repeated.rows
                )
    report.detected_as = reason
    report.furniture_dropped = source.furniture_count
    report.furniture = [FurnitureRow(**f) for f in source.furniture]
    report.sheet = source.sheet
    # kept with the snapshot: score_prospects and later imports translate labels as this import's own mapping file
    # did. Only its own lines: a line taken from the workspace and copied here would outlive its removal from the
    # mapping file that first had it (the key still covers every line applied, so a changed table re-imports)
    own = {
        c.field: {
            raw: label
            for raw, label in mapping.values[c.field].items()
            if raw not in mapping.inherited.get(c.field, ())
        }
        for c in report.columns
        if c.field in mapping.values
    }
    report.value_map = {name: table for name, table in own.items() if table}
    con.execute(
        "INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            naming.import_id,
            kind,
            source.name,
            str(source.path.resolve()),
            source.digest(),
            source.format,
            source.encoding,
            source.delimiter,
            report.rows_read,
            report.rows_kept,
            report.rows_rejected,
            report.duplicates_dropped,
            naming.table,
            report.imported_at,
            report.model_dump_json(),
        ],
    )
    con.execute("INSERT OR REPLACE INTO current_snapshot VALUES (?, ?)", [kind, naming.import_id])
    con.execute("DROP VIEW IF EXISTS _dedup")
    drop_stage(con)
    con.execute("DROP TABLE IF EXISTS _dup_rows")
    return report


def already_imported(con: duckdb.DuckDBPyConnection, kind: str, import_id: str) -> ImportReport | None:
    """The stored report of snapshot `import_id` (made current again for `kind`, marked already_imported), or None
    when nothing was imported under that id."""
    existing = con.execute("SELECT report FROM imports WHERE import_id = ?", [import_id]).fetchone()
    if not existing:
        return None
    con.execute("INSERT OR REPLACE INTO current_snapshot VALUES (?, ?)", [kind, import_id])
    report = ImportReport.model_validate_json(existing[0])
    report.already_imported = True
    return report


def workspace_value_maps(con: duckdb.DuckDBPyConnection, other_than: str | None = None) -> dict[str, dict[str, str]]:
    """The `[values.FIELD]` tables the workspace's current snapshots (but the one of kind `other_than`) were
    imported with, each from its own mapping file (each import report's value_map): field -> {raw label -> stored
    label}; where two snapshots map one label, the later import wins. Read inside the caller's transaction, so a
    run's later file sees its earlier files' tables."""
    reports = con.execute(
        "SELECT i.report FROM current_snapshot c JOIN imports i USING (import_id) "
        "WHERE c.kind IS DISTINCT FROM ? ORDER BY i.imported_at",
        [other_than],
    ).fetchall()
    tables: dict[str, dict[str, str]] = {}
    for (report,) in reports:
        data = json.loads(report) if report else {}
        for name, table in ((data.get("value_map") if isinstance(data, dict) else None) or {}).items():
            tables.setdefault(name, {}).update(table)
    return tables


def withdraw_import(con: duckdb.DuckDBPyConnection, report: ImportReport, previous: str | None) -> None:
    """Undo `import_into` inside the caller's transaction: the snapshot `report` describes is forgotten (unless it
    was imported before this call) and `previous` (an import id, or None) is its kind's current snapshot again.

    Used where a rollback will not do: the import's connection keeps its Python functions registered only while
    no transaction that registered them was rolled back (DuckDB then refuses to register them again)."""
    if not report.already_imported:
        table = one(con, "SELECT table_name FROM imports WHERE import_id = ?", [report.import_id])
        con.execute("DELETE FROM import_rejects WHERE import_id = ?", [report.import_id])
        con.execute("DELETE FROM imports WHERE import_id = ?", [report.import_id])
        if table:
            con.execute(f"DROP TABLE IF EXISTS {_q(table)}")
    if previous is None:
        con.execute("DELETE FROM current_snapshot WHERE kind = ?", [report.kind])
    else:
        con.execute("INSERT OR REPLACE INTO current_snapshot VALUES (?, ?)", [report.kind, previous])


def _importable(kind: str) -> TypeGuard[Kind]:
    """True for a kind a table file imports as (the keys of ID_FIELD; interviews have their own path)."""
    return kind in ID_FIELD


def import_key(source: SourceFile, kind: str, mapping: Mapping, lenient: bool) -> str:
    """The identity of a snapshot: the file's bytes (and sheet) plus every setting that changes what is stored.

    Those settings are the mapping entries that apply to this file (its header overrides, and the roles and
    types of the fields it has), the date order, the exchange rates, the declared [units] and --lenient. Importing the same file
    with the same settings again is a no-op ("already imported"); a new or changed mapping is a new snapshot.
    Without any such setting the key is the file's sha256, so the ids of earlier imports stay valid.
    """
    return _keyed(source.digest(), _key_settings(source, kind, mapping, lenient))


def _keyed(digest: str, settings: str | None) -> str:
    """`import_key` of a file's digest and its settings (`_key_settings`)."""
    return digest if settings is None else hashlib.sha256(f"{digest}\0{settings}".encode()).hexdigest()


def _key_settings(source: SourceFile, kind: str, mapping: Mapping, lenient: bool) -> str | None:
    """The settings `import_key` adds to the file's digest, as JSON; None without any."""
    headers = peek_headers(source)
    columns = {h: t for h, t in mapping.columns_for(source.name).items() if h in headers}
    names = {c.name for c in plan_columns(headers, mapping, source.name, kind)} | set(headers)
    settings = {
        "columns": columns,
        "roles": {f: r for f, r in mapping.roles.items() if f in names},
        "types": {f: t for f, t in mapping.types.items() if f in names},
        "values": {f: m for f, m in mapping.values.items() if f in names},
        "date_order": mapping.date_order,
        "fx": mapping.fx,
        "fx_currency": mapping.fx_currency,
        "lenient": lenient,
    }
    units = {h: u for h, u in mapping.units.items() if h in names}
    if units:  # only when declared, so the keys of imports without [units] stay as they were
        settings["units"] = units
    if not any(settings.values()):
        return None
    return json.dumps(settings, sort_keys=True, ensure_ascii=False)


class _SnapshotNames:
    """A snapshot's import id (`<kind>-<key12>`) and table (`imp_<kind>_<key12>`) from its `import_key`: the settings
    read now, the file's digest when either is first asked for (`SourceFile.digest`: it may still be being read)."""

    def __init__(self, source: SourceFile, kind: str, mapping: Mapping, lenient: bool) -> None:
        self._source, self._kind = source, kind
        self._settings = _key_settings(source, kind, mapping, lenient)

    @functools.cached_property
    def _key(self) -> str:
        return _keyed(self._source.digest(), self._settings)[:12]

    @property
    def import_id(self) -> str:
        return f"{self._kind}-{self._key}"

    @property
    def table(self) -> str:
        return f"imp_{self._kind}_{self._key}"


def _estimated_rows(con: duckdb.DuckDBPyConnection, source: SourceFile) -> int:
    """Rows of a file before reading it, for progress: Parquet's metadata, else size / the first lines' length."""
    try:
        if source.format == "parquet":
            return int(one(con, "SELECT sum(num_rows) FROM parquet_file_metadata(?)", [str(source.path)]) or 0)
        with source.path.open("rb") as handle:
            head = handle.read(1 << 20)
        lines = head.count(b"\n")
        return int(source.path.stat().st_size / (len(head) / lines)) if lines else 1
    except (OSError, duckdb.Error):
        return 0


def _build_snapshot(
    con: duckdb.DuckDBPyConnection,
    source: SourceFile,
    kind: Kind,
    naming: _SnapshotNames,
    mapping: Mapping,
    reader_rejects: list[dict],
    say: Callable[[str], None],
    progress: Callable[..., None] | None = None,
    searches: _DuplicateSearches | None = None,
    repeated_rows: list[int] | None = None,
) -> ImportReport:
    """The snapshot of the staged rows in `naming.table` (named once the profiling is done: the file's digest is
    waited for there). A Parquet file's repeated rows are searched for by `searches` (when
    given) beside the profiling, which then assumes none: if some are found, `_DuplicatesFound` is raised before the
    write, and the caller builds again with those rows (`repeated_rows`, staged row numbers) left out."""
    rows_read = one(con, "SELECT count(*) FROM _stage") + len(reader_rejects)
    if rows_read >= BLOCK_POOL_MIN_ROWS:
        reserve_block_pool(con, BLOCK_POOL)
    texts = _staged_as_text(con)
    originals = ", ".join(_q(h) for h in texts)
    if stage_is_view(con):  # a Parquet file read in place: its own row numbers, from 0
        rid, first = PARQUET_ROW, 0
    else:  # temp tables number rows from an offset
        rid, first = "rowid", con.execute("SELECT min(rowid) FROM _stage").fetchall()[0][0]
    with watch(con, progress, "finding duplicate rows", rows_read):
        # text id columns (equal text hashes alike; a typed value may not: -0.0 and 0.0) that may prove no row repeats
        # and, stored as text, no id conflicts (`reject_conflicts`)
        plain = [h for h in texts if texts[h] == _q(h)]  # columns staged as text, as the file gives them
        ids = [h for h in plain if canonical_field(h) in ID_FIELDS]
        search, unique = None, None
        if repeated_rows is not None:
            con.execute("CREATE OR REPLACE TEMP TABLE _dup_rows AS SELECT unnest(?::BIGINT[]) AS _rid", [repeated_rows])
            kept_filter = kept_rows_filter(rid)
        elif searches is not None and rid == PARQUET_ROW:
            search, kept_filter = searches.start(con, originals, rid, ids, plain), ""
        else:
            unique = unique_id(con, ids)
            kept_filter = "" if unique else drop_duplicate_rows(con, originals, rid, plain)
    # a view, not a copy: every later step reads the staged rows where they are. `_rid` is the staged row number
    # itself: a range of rows is selected on it, since only a bare column's range is pushed into the scan (a
    # filter on `_row`, computed from it, made each batch and the profile read the whole Parquet file)
    _kept_rows_view(con, "_dedup", rid, first, originals, kept_filter)
    kept_after_dedup = one(con, "SELECT count(*) FROM _dedup")
    duplicates = rows_read - len(reader_rejects) - kept_after_dedup
    # columns profiled of all: the ones normalised inline once their first rows are read, each other one once its
    # distinct values are (a GROUP BY over every row: most of the step at 1M rows)
    profiled = Parts(progress, f"profiling {len(texts)} columns", "columns")
    profiled.expect(len(texts))
    columns = plan_columns(list(texts), mapping, source.name, kind, value_fit=value_fit(con, texts))
    known = {c.header for c in columns if c.type not in ("auto", "band", "date") and c.role != "auto"}
    known_text = {c.header for c in columns if c.header in known and c.type == "text"}
    profiles = profile_known(con, texts, known_text, head=f"_rid < {first + PROFILE_ROWS}")
    # text that rarely repeats in the first rows (ids, names, websites, notes) is normalised inline, once per row,
    # with no lookup table
    inline = {
        i
        for i, c in enumerate(columns)
        if c.header in known_text and profiles[c.header]["distinct_raw"] > 0.5 * profiles[c.header]["rows"]
    }
    index = {h: i for i, h in enumerate(texts)}
    profiled.reach(len(inline))
    for i, (header, text) in enumerate(texts.items()):
        if i not in inline:
            distinct_values(con, {header: text}, index)
            profiled.advance()
    # the unknown columns' type evidence, read from their distinct values in one statement: a step of its own (tens
    # of seconds when columns are unique per row), uncounted: DuckDB's progress of that statement (a union of the
    # `_dist` tables feeding one aggregate) stayed at 0% throughout, so the faces show its time so far
    untyped = [h for h in texts if h not in known]
    if untyped:
        whose = "1 column's" if len(untyped) == 1 else f"{len(untyped)} columns'"
        say(f"reading the types of {whose} values")
    decided = {c.header for c in columns if c.type != "auto"}  # a band's or a date's evidence: no type parsers
    profiles |= profile_columns(con, {h: t for h, t in texts.items() if h not in known_text}, known, index, decided)
    warnings: list[str] = []
    for column in columns:
        profile = profiles[column.header]
        if column.type == "auto":
            column.type = infer_type(profile, column.name)
        if column.type == "band" and profile["range"] == 0 and not column.canonical:
            column.type = "number"
        if column.type == "bool" and column.header in index:  # ticks and blanks: a blank is an unticked box
            column.checkbox = bool(one(con, norm.is_checkbox(f"SELECT raw FROM _dist_{index[column.header]}")))
        if column.type == "date":
            column.date_order = date_order(column, profile, mapping, source.name)
            if column.date_order == AMBIGUOUS:
                continue  # decided below, by the export's other date columns
        column.role = mapping.roles.get(column.name) or infer_role(column, profile, kind)
        if profile["present"] == 0:
            column.role = "ignore"
            warnings.append(f"{source.name}: column {column.header!r} is empty in every row: ignored")
    ambiguous_date_orders(columns, profiles, mapping, source.name, warnings)
    read_amounts(con, columns)
    pair_currency_columns(columns)
    require_identity(columns, kind, source, profiles)
    inner, outer = ["d._row"], ["_row"]
    looked_up: list[tuple[int, str, list[str]]] = []  # (i, the row's raw value, the names its lookup stores)
    for i, column in enumerate(columns):
        raw = texts[column.header].replace(_q(column.header), "d." + _q(column.header))
        if column.type in LOOKUP_TYPES:
            # normalised once per distinct value, with what the column's other values say (spelling, mark)
            build_lookup(con, column, i)
            column.mapped = mapped_values(con, column, i)
            if column.type == "money":
                count_currencies(con, column, f"_lk_{i}")
            if column.name == "country" and column.type == "category":  # "UK" = "United Kingdom"
                norm.canonical_countries(con, f"_lk_{i}", column.name)
            looked_up.append((i, raw, stored_names(column)))
        elif i in inline:
            # text normalised per row in two steps (`per_row_parts`): the value here, the rest over it in `outer`
            value, body = norm.per_row_parts("domain" if column.name == "domain" else "text", raw)
            inner.append(f"{value} AS {_q(column.name)}")
            outer.append(f"{body.replace('_icp_v', _q(column.name))} AS {_q(column.name)}")
            continue
        else:
            typed = ", ".join(f"{expr} AS {_q(name)}" for name, expr in typed_exprs(column, "raw"))
            con.execute(
                norm.functions_for(
                    con, f"CREATE OR REPLACE TEMP TABLE _lk_{i} AS SELECT raw, c, first_row, {typed} FROM _dist_{i}"
                )
            )
            column.mapped = mapped_values(con, column, i)  # a yes/no field's labels ([values.FIELD])
            looked_up.append((i, raw, [name for name, _ in typed_exprs(column, "raw")]))
        outer += unpacked(column)
    # the parsed currencies last: `apply_currencies` renames each into `<field>_currency`, where adding that
    # column would put it
    outer = [o for o in outer if not o.endswith('__parsed_currency"')] + [
        o for o in outer if o.endswith('__parsed_currency"')
    ]
    if search is not None:
        if repeated := search.result():
            raise _DuplicatesFound(repeated)
        unique = search.unique
    table, import_id = naming.table, naming.import_id  # the digest waited for (read beside the staging and profiling)
    # the stored rows need not stay in memory once written (they are in the workspace file): under a working-memory
    # budget DuckDB drops them from its cache instead of holding the whole table until the commit
    with working_memory(con, _write_memory(con, rows_read)):
        written = _rows_in_order(con, kept_filter, rid, first, originals)
        sizes = _lookup_sizes(con, [i for i, _, _ in looked_up])
        direct = _direct_readings(con, looked_up, sizes, kept_after_dedup) if written else None
        ordered = None  # the positional write's SELECT, once its plan is proven to keep the rows' order
        if written and direct is not None:
            # no join, so no sort: one statement streams the rows in file order (`positional`)
            lists: list[str] = []
            keys: list[tuple[str, str]] = []  # computed once per row, below the stored values that read them
            looked_cols = []
            for i, raw, names in looked_up:
                reading = direct.get(i)
                found = positional_lookup(con, i, raw, names, reading, sizes[i], kept_after_dedup)
                lists += found.lists
                keys += (reading.columns if reading else []) + found.keys
                looked_cols += [f"{v} AS {_q(name)}" for v, name in zip(found.values, names, strict=True)]
            con.execute(f"CREATE OR REPLACE TEMP TABLE _lk_lists AS SELECT {', '.join(lists) or '1 AS _none'}")
            rows = f"(SELECT d.*{''.join(f', {sql} AS {alias}' for alias, sql in keys)} FROM {written} d) d"
            select = f"SELECT {', '.join(outer)} FROM (SELECT {', '.join(inner + looked_cols)} FROM {rows}, _lk_lists)"
            if keeps_order(con, f"CREATE TABLE {table} AS {select}"):
                ordered = select
        if ordered is not None:
            with watch(con, progress, f"normalising {kept_after_dedup:,} rows", kept_after_dedup):
                con.execute(f"CREATE TABLE {table} AS {ordered}")
        else:
            joins = [f"LEFT JOIN _lk_{i} ON _lk_{i}.raw IS NOT DISTINCT FROM {raw}" for i, raw, _ in looked_up]
            inner += [f"_lk_{i}.{_q(name)}" for i, _, names in looked_up for name in names]
            _write_rows(
                con,
                table,
                lambda start, end: (
                    f"SELECT {', '.join(outer)} FROM (SELECT {', '.join(inner)} FROM _dedup d {' '.join(joins)} "
                    f"WHERE d._rid BETWEEN {start + first - 1} AND {end + first - 1}) ORDER BY _row"
                ),
                progress,
                kept_after_dedup,
            )
        con.execute("DROP TABLE IF EXISTS _lk_lists")
        for i, _, _ in looked_up:
            con.execute(f"DROP TYPE IF EXISTS _lk_e_{i}")
            con.execute(f"DROP TABLE IF EXISTS _lk_r_{i}")
            con.execute(f"DROP TABLE IF EXISTS _lk_d_{i}")
        if written not in (None, "_dedup"):
            con.execute("DROP VIEW IF EXISTS _dedup_in_order")
            con.execute("DROP TABLE IF EXISTS _dup_mask")
        apply_currencies(con, table, columns, mapping, source.name, warnings)
        apply_amounts(con, table, columns, mapping.units, source.name, warnings, kind)  # cents; the amount's period
        # before rejections, as the lookups count; one scan gives the inline columns' figures and every column's
        # NULLs (reused by the column reports when no row is rejected below)
        scan = stored_scan(con, table, columns, inline)
        inline_done = inline_reports(con, table, columns, inline, texts, scan)
        rejects = [RejectedRow(**r) for r in reader_rejects]
        warnings += scientific_ids(con, table, columns, source.name)
        rejects += reject_conflicts(con, table, kind, columns, unique)
        rejects += reject_anonymous(con, table, kind, columns)
        for r in rejects:
            con.execute(
                "INSERT INTO import_rejects VALUES (?, ?, ?, ?, ?)", [import_id, r.row, r.column, r.reason, r.raw]
            )
        deleted = len(rejects) > len(reader_rejects)  # conflicts and anonymous rows left the table
        reports = column_reports(con, table, columns, inline_done, None if deleted else scan[0])
    rows_kept = one(con, f"SELECT count(*) FROM {table}")
    return ImportReport(
        import_id=import_id,
        kind=kind,
        file_name=source.name,
        path=str(source.path),
        sha256=source.digest(),
        format=source.format,
        encoding=source.encoding if source.format == "csv" else None,
        delimiter=source.delimiter,
        rows_read=rows_read,
        rows_kept=rows_kept,
        rows_rejected=len(rejects),
        duplicates_dropped=duplicates,
        conflicts=sum("conflict" in r.reason for r in rejects),
        imported_at=datetime.now(UTC).replace(tzinfo=None),
        columns=reports,
        rejected=rejects[:MAX_REJECTS_IN_REPORT],
        warnings=warnings,
    )


# DuckDB's working memory while the rows are written and checked (see `working_memory`). Measured on a loaded
# 2-core machine (CPU, peak): 10M Parquet rows 19.5 s, 0.67 GB with no budget; 22.7 s, 0.47 GB with 192 MB and
# batches of WRITE_BATCH_ROWS; 25 s, 0.48 GB with 128 MB and 1M-row batches (each batch's sort spilled); 1M CSV rows
# 6.7 s, 0.77 GB; 6.9 s, 0.55 GB; 7.4 s, 0.49 GB.
WRITE_MEMORY = 192 * 2**20
# The write holds a few row groups a thread of rows about as large as the staged ones are in memory. A 400k-row export
# whose stage took 1,170 bytes a row in memory (long names and notes) ran out under 300 MiB above it (1.1 row groups'
# worth a thread) and was written under 400 MiB (1.5); the bench's 1M customers (216 bytes a row) write under
# WRITE_MEMORY (3.8). A stage of wide rows gets WRITE_ROW_GROUPS row groups a thread when that is more than WRITE_MEMORY.
WRITE_ROW_GROUPS = 2


def _write_memory(con: duckdb.DuckDBPyConnection, rows: int) -> int:
    """The write's working memory in bytes: WRITE_MEMORY, or WRITE_ROW_GROUPS row groups a thread of `rows` staged
    rows as large as the memory DuckDB holds now for each (the stage, a table; a Parquet file read in place holds
    next to none), when that is more."""
    found = con.execute(
        "SELECT (SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory()), current_setting('threads')"
    ).fetchone()
    held, threads = (int(found[0]), int(found[1])) if found else (0, 1)
    return max(WRITE_MEMORY, WRITE_ROW_GROUPS * threads * DUCKDB_ROW_GROUP_ROWS * held // max(rows, 1))


# The blocks DuckDB's allocator keeps when it frees them (`checks.reserve_block_pool`): the write's and the duplicate
# search's working memory, so that staying under those budgets does not free and fault in the same memory again. Only
# for a file of BLOCK_POOL_MIN_ROWS rows or more: at 1M CSV rows the system CPU did not change (0.5 s) and the peak grew
# by 20 MB.
BLOCK_POOL = 256 * 2**20
BLOCK_POOL_MIN_ROWS = 2_000_000

# Lookups are read by position (`positional.positional_lookup`: a perfect hash up to `positional.PERFECT_MAX` values,
# an ENUM up to this many); a bigger lookup by a direct reading that leaves at most this many of its values to them
# (`positional.direct_reading`). Only a lookup no reading covers (a list column with thousands of combinations), or
# a Parquet file with a duplicate row past DUPLICATES_IN_ORDER_MAX_ROW, sends the rows through hash joins and a sort
# by batch (`_write_rows`). Measured when this was the only limit: an ENUM of 5k-90k values cost more CPU than the
# joins and their sort (1M-row CSV, 13 lookups: 4.1 s against 3.4 s for the write), though less memory (0.52
# against 0.75 GB); the direct reading leaves them a few values.
ENUM_MAX_VALUES = 2048


# A Parquet file's duplicate rows are left out of `_dedup` by an anti-join, which does not keep the rows' order; the
# positional write leaves them out by a bit mask of their row numbers instead (`_rows_in_order`): one bit per row up to
# the last duplicate (10M rows: 1.2 MB), read at the row's number. Not an ENUM of their numbers: DuckDB's failed cast
# to an ENUM costs in proportion to the ENUM's size (1,000 values: 38 us per row kept, 45 s for 2M rows).
DUPLICATES_IN_ORDER_MAX_ROW = 2**31 - 1  # get_bit reads an INTEGER position; past it the write joins


class _DuplicatesFound(Exception):
    """A speculative `_build_snapshot` found repeated rows: `rows`, the staged row numbers of the later copies."""

    def __init__(self, rows: list[int]):
        super().__init__(f"{len(rows)} repeated rows")
        self.rows = rows


class _DuplicateSearch:
    """`checks.unique_id`, then `checks.drop_duplicate_rows`, over a Parquet file's staged rows, run on a second
    connection (a cursor with the same `_stage` view and memory setting) in a thread of its own; `result()` waits for
    the rows found repeated (`unique` is then the id column proving there are none, if one does).

    The search is a sort of every row's hash, or of one column's (`drop_duplicate_rows`; 10M rows: 0.95-1.3 s of
    CPU); the profiling that follows
    it is ~130 small statements that keep one core busy. Side by side, the search takes the idle core."""

    def __init__(self, con: duckdb.DuckDBPyConnection, originals: str, rid: str, ids: list[str], plain: list[str]):
        view = one(con, "SELECT sql FROM duckdb_views() WHERE view_name = '_stage' AND temporary")
        limit = one(con, "SELECT getvariable('icp_memory_limit')")
        self._cursor = con.cursor()
        if limit is not None:  # working_memory restores this limit after the search
            self._cursor.execute("SET VARIABLE icp_memory_limit = ?", [limit])
        self._cursor.execute(view)
        self._rows: list[int] = []
        self.unique: str | None = None  # `checks.unique_id` of the id columns, once the search has ended
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(originals, rid, ids, plain), daemon=True)
        self._thread.start()

    def _run(self, originals: str, rid: str, ids: list[str], plain: list[str]) -> None:
        try:
            self.unique = unique_id(self._cursor, ids)
            if not self.unique and drop_duplicate_rows(self._cursor, originals, rid, plain):
                self._rows = [r for (r,) in self._cursor.execute("SELECT _rid FROM _dup_rows ORDER BY _rid").fetchall()]
        except BaseException as error:  # raised again by result(), in the caller's thread
            self._error = error

    def result(self) -> list[int]:
        """The repeated rows (later copies, staged row numbers), once the search ends; its error raised again."""
        self.close()
        if self._error is not None:
            raise self._error
        return self._rows

    def close(self, interrupt: bool = False) -> None:
        """End the search (interrupted when `interrupt`) and close its connection."""
        if interrupt and self._thread.is_alive():
            self._cursor.interrupt()
        self._thread.join()
        self._cursor.close()


class _DuplicateSearches:
    """The searches an import starts (`start`), each interrupted and closed when the import leaves this context, also
    by an error: no thread is left reading the file."""

    def __init__(self) -> None:
        self._started: list[_DuplicateSearch] = []

    def start(
        self, con: duckdb.DuckDBPyConnection, originals: str, rid: str, ids: list[str], plain: list[str]
    ) -> _DuplicateSearch:
        search = _DuplicateSearch(con, originals, rid, ids, plain)
        self._started.append(search)
        return search

    def __enter__(self) -> _DuplicateSearches:
        return self

    def __exit__(self, *exc: object) -> None:
        for search in self._started:
            search.close(interrupt=True)


def _rows_in_order(
    con: duckdb.DuckDBPyConnection, kept_filter: str, rid: str, first: int, originals: str
) -> str | None:
    """The relation the positional write reads the kept rows from, in file order: `_dedup` when no filter leaves rows
    out, else a view leaving the duplicate rows (`_dup_rows`) out by a bit mask of their row numbers (`_dup_mask`,
    one row), a test on each row (None for a row number past DUPLICATES_IN_ORDER_MAX_ROW)."""
    if not kept_filter:
        return "_dedup"
    last = one(con, "SELECT max(_rid) FROM _dup_rows")
    if last > DUPLICATES_IN_ORDER_MAX_ROW:
        return None
    con.execute(f"CREATE OR REPLACE TEMP TABLE _dup_mask AS SELECT bitstring_agg(_rid, 0, {last}) AS m FROM _dup_rows")
    where = f" WHERE {rid} > {last} OR get_bit(_dup_mask.m, CAST({rid} AS INTEGER)) = 0"
    return _kept_rows_view(con, "_dedup_in_order", rid, first, originals, where, source="_stage, _dup_mask")


def _kept_rows_view(
    con: duckdb.DuckDBPyConnection,
    name: str,
    rid: str,
    first: int,
    originals: str,
    where: str,
    source: str = "_stage",
) -> str:
    """Create the view `name` of the staged rows `where` keeps (a WHERE clause, or "", over `source`: _stage and any
    one-row table it reads): each row's `_row` (its line in the file, from 1), its original columns and its staged row
    number `_rid`. Returns `name`."""
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT {rid} - {first} + 1 AS _row, {originals}, {rid} AS _rid "
        f"FROM {source}{where}"
    )
    return name


def _lookup_sizes(con: duckdb.DuckDBPyConnection, looked_up: list[int]) -> dict[int, int]:
    """The rows (distinct raw values) of each lookup `_lk_<i>` of `looked_up`, in one statement."""
    if not looked_up:
        return {}
    counts = con.execute(f"SELECT {', '.join(f'(SELECT count(*) FROM _lk_{i})' for i in looked_up)}").fetchone()
    return dict(zip(looked_up, (int(n) for n in counts or ()), strict=True))


# A lookup of up to ENUM_WIDE_MAX values, each repeated by ROWS_PER_ENUM_VALUE rows or more on average, is read by its
# ENUM rather than a costly direct reading (`DirectReading.costly`): the ENUM and its lists cost about 1 us a value to
# build, and save 20-50 ns on each row (10M Parquet rows, 10k distinct revenues "$658,000.00": 0.57 against 0.82 s of
# CPU). Past ENUM_WIDE_MAX values an ENUM costs more a row (see ENUM_MAX_VALUES).
ENUM_WIDE_MAX = 65_536
ROWS_PER_ENUM_VALUE = 128


def _direct_readings(
    con: duckdb.DuckDBPyConnection, looked_up: list[tuple[int, str, list[str]]], sizes: dict[int, int], rows: int
) -> dict[int, DirectReading] | None:
    """Per lookup bigger than ENUM_MAX_VALUES (`sizes`: each lookup's rows), its direct reading, unless its ENUM is
    cheaper over the `rows` rows written (see ENUM_WIDE_MAX); None when one has none (the rows are joined)."""
    found: dict[int, DirectReading] = {}
    for i, raw, names in looked_up:
        if sizes[i] <= ENUM_MAX_VALUES:
            continue
        reading = direct_reading(con, i, raw, names, ENUM_MAX_VALUES, sizes[i])
        if reading is None:
            return None
        if reading.costly and sizes[i] <= ENUM_WIDE_MAX and rows >= ROWS_PER_ENUM_VALUE * sizes[i]:
            con.execute(f"DROP TABLE {reading.rest_table}")
            continue
        found[i] = reading
    return found


WRITE_BATCH_ROWS = 4 * 122_880  # four of DuckDB's row groups: a batch's sort fits in WRITE_MEMORY


def _write_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    select: Callable[[int, int], str],
    progress: Callable[..., None] | None,
    rows: int,
) -> None:
    """Create `table` from `select(first, last)` (the SELECT of the rows whose `_row` is from first to last,
    ordered by `_row`), in batches of WRITE_BATCH_ROWS file rows; `rows` (the rows to write) scales progress.

    The lookups are hash joins, which do not keep the rows' order, so the rows are sorted by `_row`
    before they are stored; sorting one batch at a time bounds the memory the sort takes (a full sort
    held the whole file in memory: at 10M Parquet rows the import peaked at 2.4 GB with one batch, 0.85 GB
    with 2M-row batches, 0.67 GB with 1M- or 500k-row ones, but 30, 32 and 35 s of CPU with batches of 10M, 1M
    and 500k rows; a 1M-row CSV peaked at 0.79 GB in one batch, 0.64 GB in two; those CPU figures included a
    bug: each batch's scan read the whole Parquet file). Each batch's scan reads only its rows: the caller selects
    on the staged row number `_rid`, which is pushed down into the scan (a Parquet file's row numbers, a table's
    rowid). The caller runs this under a working-memory budget (WRITE_MEMORY), so the written rows leave DuckDB's
    cache.
    """
    last = scalar(con, "SELECT coalesce(max(_row), 0) FROM _dedup")
    done, shown = 0, [0]
    message = f"normalising {rows:,} rows"

    def shifted(step: str, n: int | None = None, total: int | None = None) -> None:
        if progress is not None and n is not None:  # a batch's rows done, counted into the whole step's
            shown[0] = max(shown[0], min(rows, done + n))  # a batch's estimate never takes the count back
            report(step, shown[0], rows)

    report = adapt(progress)
    for start in range(1, max(last, 1) + 1, WRITE_BATCH_ROWS):
        end = start + WRITE_BATCH_ROWS - 1
        batch = select(start, end)
        share = rows if last <= WRITE_BATCH_ROWS else min(WRITE_BATCH_ROWS, rows - done)
        with watch(con, shifted if progress is not None else None, message, share):
            con.execute(f"CREATE TABLE {table} AS {batch}" if start == 1 else f"INSERT INTO {table} {batch}")
        done = scalar(con, f"SELECT count(*) FROM {table}")
