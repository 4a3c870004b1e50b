"""Several files of one kind in one import: their rows combined into one snapshot, and a replaced snapshot said.

A second deals (contacts, subscriptions, tickets, events) file in an import is more rows of that kind: an older
export saved from a spreadsheet beside the CRM's, or one export per pipeline or region. Each file is imported
as its own snapshot (typed, normalised, reported as usual); `combine_imports` then stores their union as the
kind's current snapshot, each row with the file it came from (`source_file`). A record in more than one file (the
same id: `deal_id`, `contact_id`, ...) is kept once, from the first file given that has it, and counted. Customers
and prospects are one file each: several companies files say nothing about which holds the accounts.

Across imports, a snapshot replaces the one before it (a newer export of the same table): `replaced_note` says
so when the file differs from the one replaced, naming how to combine them instead.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import duckdb

from icp_agent.ingest.columns import ID_FIELD
from icp_agent.ingest.importer import already_imported
from icp_agent.models import ColumnReport, ImportReport
from icp_agent.sql import one
from icp_agent.sql import quote_identifier as _q

# kinds whose files are rows of records: several files of one of these in an import are combined
COMBINED_KINDS = ("deals", "contacts", "subscriptions", "tickets", "events")
SOURCE_COLUMN = "source_file"
_NUMERIC = {"BIGINT", "INTEGER", "DOUBLE", "FLOAT", "HUGEINT", "SMALLINT", "TINYINT", "UBIGINT", "DECIMAL"}


def combine_imports(con: duckdb.DuckDBPyConnection, reports: list[ImportReport], kind: str) -> ImportReport:
    """Store the union of the snapshots `reports` (files of `kind`, in the order given) as `kind`'s current snapshot.

    Columns are matched by stored name (the canonical field), a column a file lacks is NULL in its rows, and one
    typed differently in two files is DOUBLE when both are numbers, else text. `source_file` names each row's file.
    Rows sharing an id with an earlier file's row are left out (counted in `duplicates_dropped` and a warning).
    The snapshot's id derives from its parts' ids, so the same files again are "already imported". Returns its
    report: the parts' counts summed, their columns merged per field (`_merged_columns`), their rejects and
    warnings, and the combination's own warnings. It stands for the files in import_data's result (`replace_parts`).
    """
    key = hashlib.sha256("\0".join(r.import_id for r in reports).encode()).hexdigest()
    import_id, table = f"{kind}-{key[:12]}", f"imp_{kind}_{key[:12]}"
    found = already_imported(con, kind, import_id)
    if found is not None:
        return found
    tables = [one(con, "SELECT table_name FROM imports WHERE import_id = ?", [r.import_id]) for r in reports]
    described = [{name: dtype for name, dtype, *_ in con.execute(f"DESCRIBE {_q(t)}").fetchall()} for t in tables]
    names = list(dict.fromkeys(n for d in described for n in d if n not in ("_row", SOURCE_COLUMN)))
    types = {n: _common_type([d[n] for d in described if n in d]) for n in names}
    parts = []
    for i, (report, columns) in enumerate(zip(reports, described, strict=True)):
        cells = [
            (f"CAST({_q(n)} AS {types[n]})" if columns[n] != types[n] else _q(n))
            if n in columns
            else f"NULL::{types[n]}"
            for n in names
        ]
        file_name = report.file_name.replace("'", "''")
        parts.append(
            f"SELECT {i} AS __file, _row AS __file_row, '{file_name}' AS {SOURCE_COLUMN}, "
            + ", ".join(f"{c} AS {_q(n)}" for c, n in zip(cells, names, strict=True))
            + f" FROM {_q(tables[i])}"
        )
    union = " UNION ALL ".join(parts)
    id_field = ID_FIELD.get(kind, "")
    keep = (
        f" QUALIFY {_q(id_field)} IS NULL OR row_number() OVER (PARTITION BY {_q(id_field)} ORDER BY __file, __file_row) = 1"
        if id_field in names
        else ""
    )
    body = ", ".join([SOURCE_COLUMN, *(_q(n) for n in names)])
    con.execute(
        f"CREATE TABLE {_q(table)} AS SELECT row_number() OVER (ORDER BY __file, __file_row) AS _row, {body} "
        f"FROM (SELECT * FROM ({union}){keep}) ORDER BY __file, __file_row"
    )
    rows = one(con, f"SELECT count(*) FROM {_q(table)}")
    total = sum(r.rows_kept for r in reports)
    files = ", ".join(r.file_name for r in reports)
    warnings = [w for r in reports for w in r.warnings]
    if id_field in names:
        if total - rows:
            warnings.append(
                f"{total - rows:,} {kind} are in more than one of the files ({files}), by {id_field}: each is kept "
                f"once, from the first file given that has it"
            )
    else:
        warnings.append(f"the {kind} files have no {id_field}: a record in two of them counts twice ({files})")
    each = ", ".join(f"{r.file_name} {r.rows_kept:,}" for r in reports)
    warnings.append(
        f"{len(reports)} {kind} files combined into one snapshot of {rows:,} rows ({each}); column "
        f"{SOURCE_COLUMN!r} names each row's file"
    )
    merged = _merged_columns(reports)
    report = ImportReport(
        import_id=import_id,
        kind=reports[0].kind,
        file_name=" + ".join(r.file_name for r in reports),
        path="; ".join(r.path for r in reports),
        sha256=key,
        format="combined",
        rows_read=sum(r.rows_read for r in reports),
        rows_kept=rows,
        rows_rejected=sum(r.rows_rejected for r in reports),
        duplicates_dropped=sum(r.duplicates_dropped for r in reports) + total - rows,
        conflicts=sum(r.conflicts for r in reports),
        imported_at=datetime.now(UTC).replace(tzinfo=None),
        detected_as=f"{len(reports)} files of {kind}, combined: "
        + "; ".join(f"{r.file_name} ({r.detected_as})" for r in reports),
        columns=merged,
        rejected=[x for r in reports for x in r.rejected][:50],
        warnings=warnings,
        furniture_dropped=sum(r.furniture_dropped for r in reports),
        furniture=[x for r in reports for x in r.furniture][:50],
    )
    con.execute(
        "INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            import_id,
            kind,
            report.file_name,
            report.path,
            key,
            "combined",
            None,
            None,
            report.rows_read,
            report.rows_kept,
            report.rows_rejected,
            report.duplicates_dropped,
            table,
            report.imported_at,
            report.model_dump_json(),
        ],
    )
    con.execute("INSERT OR REPLACE INTO current_snapshot VALUES (?, ?)", [kind, import_id])
    return report


def _common_type(types: list[str]) -> str:
    """One type for a column several files typed: theirs when they agree, DOUBLE for numbers, else VARCHAR."""
    if len(set(types)) == 1:
        return types[0]
    if all(t.split("(")[0] in _NUMERIC for t in types):
        return "DOUBLE"
    return "VARCHAR"


def _merged_columns(reports: list[ImportReport]) -> list[ColumnReport]:
    """The columns of the combined snapshot, one per stored field in first-seen order: the first file's header,
    role and type; % missing over all the files' rows; examples, unparsed values (later files' named), currencies
    and notes of every file."""
    by_field: dict[str, list[tuple[ImportReport, ColumnReport]]] = {}
    for report in reports:
        for column in report.columns:
            by_field.setdefault(column.field, []).append((report, column))
    total = sum(r.rows_kept for r in reports) or 1
    merged = []
    for parts in by_field.values():
        first = parts[0][1]
        in_files = {id(r) for r, _ in parts}
        missing_rows = sum(c.pct_missing / 100 * r.rows_kept for r, c in parts) + sum(
            r.rows_kept for r in reports if id(r) not in in_files
        )
        currencies: dict[str, int] = {}
        for _, c in parts:
            for code, n in c.currencies.items():
                currencies[code] = currencies.get(code, 0) + n
        headers = list(dict.fromkeys(c.header for _, c in parts))
        notes = [c.note for _, c in parts if c.note]
        merged.append(
            first.model_copy(
                update={
                    "header": " / ".join(headers),
                    "pct_missing": round(100 * missing_rows / total, 1),
                    "examples": list(dict.fromkeys(e for _, c in parts for e in c.examples))[:3],
                    "unparsed": sum(c.unparsed for _, c in parts),
                    "unparsed_examples": [
                        e if i == 0 else f"{r.file_name} {e}"
                        for i, (r, c) in enumerate(parts)
                        for e in c.unparsed_examples
                    ][:5],
                    "currencies": currencies,
                    "note": "; ".join(dict.fromkeys(notes)) or None,
                }
            )
        )
    return merged


def replace_parts(reports: list[ImportReport], combined: ImportReport) -> list[ImportReport]:
    """`reports` with the files `combined` is made of replaced by it, where the first of them was: the result
    reports each file once, with what it became."""
    parts = set(combined.file_name.split(" + "))
    out: list[ImportReport] = []
    for report in reports:
        if report.kind == combined.kind and report.file_name in parts:
            if combined not in out:
                out.append(combined)
        else:
            out.append(report)
    return out


def current_imports(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, str, int]]:
    """Each kind's current snapshot before an import: kind -> (import id, file name, rows kept)."""
    return {
        kind: (import_id, file_name, rows)
        for kind, import_id, file_name, rows in con.execute(
            "SELECT c.kind, c.import_id, i.file_name, i.rows_kept FROM current_snapshot c JOIN imports i USING (import_id)"
        ).fetchall()
    }


def replaced_note(report: ImportReport, before: tuple[str, str, int] | None) -> str | None:
    """What a new snapshot replaced, when it is another file than the one before it (None for a newer copy of the
    same file, or nothing before): the rows the workspace no longer uses, and how to keep both."""
    if before is None or before[0] == report.import_id or before[1] == report.file_name:
        return None
    kind, (_, earlier, rows) = report.kind, before
    named = " ".join(f"--{kind} {name!r}" for name in [*earlier.split(" + "), report.file_name])
    combine = (
        f"to add its rows to those, import the files together (icp-agent import-data {named})"
        if kind in COMBINED_KINDS
        else "a workspace holds one accounts file"
    )
    return (
        f"{report.file_name} replaces the {kind} imported before ({rows:,} rows from {earlier}): the analysis now "
        f"reads {report.rows_kept:,} {kind} from {report.file_name} only; {combine}"
    )
