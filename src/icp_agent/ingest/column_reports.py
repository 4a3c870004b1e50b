"""Column reports: what each imported column became (its field, type, role, % missing,
examples, the values that could not be read, notes and currencies), read from its lookup table or, for
text normalised inline, from the stored table; and `require_readable`, which stops an analysis when a
column that defines a good customer has values that could not be read."""

from __future__ import annotations

from typing import TypeGuard, get_args

from icp_agent.errors import UserError
from icp_agent.ingest import normalize as norm
from icp_agent.ingest.columns import PlannedColumn
from icp_agent.models import ColumnReport, ImportReport
from icp_agent.shapes import RoleName
from icp_agent.sql import quote_identifier as _q


def _is_role_name(role: str) -> TypeGuard[RoleName]:
    return role in get_args(RoleName)


def _settled_role(column: PlannedColumn) -> RoleName:
    """A planned column's role once planning decided it; RuntimeError for one left "auto" (a bug, not the data)."""
    role = column.role
    if not _is_role_name(role):
        raise RuntimeError(f"column {column.header!r} has no decided role ({role!r})")
    return role


def _shown(expr: str) -> str:
    """A stored value as text for examples: 1979.0 shows as 1979."""
    text = f"CAST({expr} AS VARCHAR)"
    return f"CASE WHEN ends_with({text}, '.0') THEN left({text}, -2) ELSE {text} END"  # a regular expression: 3x


# the first values an inline column's examples are picked from (the first three distinct of them)
FIRST_VALUES = 50


def _inline_shown(name: str) -> str:
    return f"CASE WHEN ends_with({name}, '.0') THEN left({name}, -2) ELSE {name} END"  # as _shown, no regex


def stored_scan(
    con, table: str, columns: list[PlannedColumn], inline: set[int]
) -> tuple[list[int], dict[int, list[str]]]:
    """The stored table read for the reports: (per column, the rows whose stored value is NULL, a band's `_min`; per
    inline column, its FIRST_VALUES smallest shown values in order, repeats kept).

    The NULLs of every column come from one statement. An inline column's first values come from a top-N of its
    stored values (`_first_shown`), which DuckDB answers from the row groups' minima (0.01 s of CPU at 10M rows of a
    sorted column, 0.07 s shuffled) where `min(shown value, n)` evaluated and kept every row (0.26 s a column, on one
    thread)."""
    stored = [f"{c.name}_min" if c.type == "band" else c.name for c in columns]
    # count(*) - count(x): DuckDB counts a column's values from its validity alone (8 columns of 10M rows: 0.04 s of
    # CPU, against 0.35 s for count_if(x IS NULL), which evaluates the test on every row)
    row = con.execute(f"SELECT {', '.join(f'count(*) - count({_q(name)})' for name in stored)} FROM {table}").fetchone()
    nulls = [int(n or 0) for n in (row or [0] * len(stored))]
    return nulls, {i: _first_shown(con, table, _q(columns[i].name)) for i in sorted(inline)}


def _shown_text(value: str) -> str:
    """`_inline_shown` in Python."""
    return value[:-2] if value.endswith(".0") else value


def _first_shown(con, table: str, name: str) -> list[str]:
    """The FIRST_VALUES smallest shown values (`_inline_shown`) of text column `name`, in order, repeats kept: what
    `min(shown, FIRST_VALUES)` gives, from a top-N of the stored values themselves.

    A shown value is its stored value or a prefix of it (".0" cut), so it is never larger. With m the largest of the
    FIRST_VALUES smallest stored values, a value left out (>= m) has a smaller shown value than m only if it is p ".0"
    with p < m, which makes p a prefix of m: those few values (at most one per prefix of m) are fetched too, and the
    smallest shown values of both sets are the column's (UTF-8 sorts by code point, as Python does)."""
    stored = [
        r[0]
        for r in con.execute(
            f"SELECT {name} FROM {table} WHERE {name} IS NOT NULL ORDER BY {name} LIMIT {FIRST_VALUES}"
        ).fetchall()
    ]
    if len(stored) == FIRST_VALUES:
        largest = stored[-1]
        below = [f"{largest[:k]}.0" for k in range(len(largest)) if f"{largest[:k]}.0" > largest]
        if below:
            stored += [
                r[0]
                for r in con.execute(
                    f"SELECT {name} FROM {table} WHERE {name} IN ({', '.join('?' * len(below))})", below
                ).fetchall()
            ]
    return sorted(_shown_text(v) for v in stored)[:FIRST_VALUES]


def inline_reports(
    con,
    table: str,
    columns: list[PlannedColumn],
    inline: set[int],
    texts: dict[str, str],
    scan: tuple[list[int], dict[int, list[str]]] | None = None,
) -> dict[int, tuple[int, list[str], list[str]]]:
    """(unparsed, unparsed examples, examples) of the text columns normalised inline, with no lookup table.

    The same figures a lookup gives: examples are the first three distinct stored values in order; a
    value is unparsed when it was present (not blank, not a missing marker) yet stored as NULL (a website
    with no domain in it), counted over the rows stored as NULL only. Call before any row is rejected.
    `scan` is `stored_scan` of the table as it is now (made here when not given).
    """
    nulls_of, firsts = scan or stored_scan(con, table, columns, inline)
    reports = {}
    for i in sorted(inline):
        column, name = columns[i], _q(columns[i].name)
        first = firsts[i]
        examples = list(dict.fromkeys(first))[:3]
        if len(examples) < 3 and len(first) == FIRST_VALUES:  # those repeat: all distinct ones
            examples = [
                r[0]
                for r in con.execute(
                    f"SELECT DISTINCT {_inline_shown(name)} AS v FROM {table} WHERE {name} IS NOT NULL "
                    f"ORDER BY v LIMIT 3"
                ).fetchall()
            ]
        nulls = nulls_of[i]
        unparsed, unparsed_examples = 0, []
        if nulls:  # the NULLs whose value was present: read again from the file's rows, only those rows
            raw = texts[column.header]
            unread = (
                f"FROM _dedup WHERE _row IN (SELECT _row FROM {table} WHERE {name} IS NULL) "
                f"AND {norm.null_if_missing(raw)} IS NOT NULL"
            )
            unparsed = con.execute(f"SELECT count(*) {unread}").fetchone()[0]
            if unparsed:
                unparsed_examples = [
                    f"row {r}: {v}"
                    for r, v in con.execute(
                        f"SELECT min(_row) AS r, {raw} AS v {unread} GROUP BY v ORDER BY r LIMIT 3"
                    ).fetchall()
                ]
        reports[i] = unparsed, unparsed_examples, examples
    return reports


def column_reports(
    con,
    table: str,
    columns: list[PlannedColumn],
    inline: dict[int, tuple[int, list[str], list[str]]] | None = None,
    missing: list[int] | None = None,
) -> list[ColumnReport]:
    """Per column: % missing in the stored table; unparsed values and examples from its lookup.

    `inline` gives (unparsed, unparsed examples, examples) of the columns normalised without a lookup;
    `missing` the NULL counts `stored_scan` gave, when no row has changed since (else they are counted here).
    """
    inline = inline or {}
    total = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0] or 1
    if missing is None:
        missing = stored_scan(con, table, columns, set())[0]
    looked_up = [i for i in range(len(columns)) if i not in inline]
    found = _lookup_figures(con, columns, looked_up)
    reports = []
    for i, column in enumerate(columns):
        if i in inline:
            unparsed, unparsed_examples, examples = inline[i]
            mapped: list[str] = []  # a column without a lookup has no labels mapped
        else:
            unparsed, unparsed_examples, examples = found[i]
            mapped = list(column.mapped)
        reports.append(
            ColumnReport(
                header=column.header,
                field=column.name,
                canonical=column.canonical,
                role=_settled_role(column),
                type=column.type,
                pct_missing=round(100 * missing[i] / total, 1),
                examples=examples,
                unparsed=int(unparsed),
                unparsed_examples=unparsed_examples,
                note=column.note,
                mapped_values=mapped,
                currencies=dict(column.currencies),
                currency=column.stored_currency,
            )
        )
    return reports


def _lookup_figures(
    con, columns: list[PlannedColumn], looked_up: list[int]
) -> dict[int, tuple[int, list[str], list[str]]]:
    """(unparsed, unparsed examples, examples) of each column of `looked_up` from its lookup `_lk_<i>`, all in one
    statement (three small queries per column were 36 statements of a 12-column import)."""
    if not looked_up:
        return {}
    parts = []
    for i in looked_up:
        column = columns[i]
        value = f"{_q(column.name + '__band')}.min" if column.type == "band" else _q(column.name)
        # a word such as "unknown" or "lots" in a number, date or yes/no column is unreadable, not missing
        present = (
            f"{norm.null_if_missing('raw')} IS NOT NULL"
            if column.type in ("text", "category", "list")
            else f"NOT {norm.strictly_missing('raw')}"
        )
        display = (
            _shown(value)
            if column.type != "band"
            # an open-ended band ("10000+", stored with no max) is shown as its export writes it
            else (
                f"coalesce({_shown(_q(column.name + '__band') + '.exact')}, {_shown(value)} || "
                f"coalesce('-' || {_shown(_q(column.name + '__band') + '.max')}, '+'))"
            )
        )
        # first_row is unique per distinct value, so the first three unreadable ones are the same in any plan
        parts.append(
            f"SELECT {i} AS i, (SELECT coalesce(sum(c), 0) FROM _lk_{i} WHERE {value} IS NULL AND {present}), "
            f"(SELECT list({{'r': first_row, 'v': raw}} ORDER BY first_row) FROM (SELECT first_row, raw FROM _lk_{i} "
            f"WHERE {value} IS NULL AND {present} ORDER BY first_row LIMIT 3)), "
            f"(SELECT list(v ORDER BY v) FROM (SELECT DISTINCT {display} AS v FROM _lk_{i} WHERE {value} IS NOT NULL "
            f"ORDER BY v LIMIT 3))"
        )
    return {
        i: (unparsed, [f"row {e['r']}: {e['v']}" for e in bad or []], list(examples or []))
        for i, unparsed, bad, examples in con.execute(" UNION ALL ".join(parts)).fetchall()
    }


def require_readable(report: ImportReport, fields: set[str]) -> None:
    """Stop (UserError, exit 2) when a column that defines a good customer has values that could not be read.

    `fields` are the stored names of the columns the health score or the good-customer definition reads;
    scoring health without them would silently change who counts as a good customer.
    """
    for column in report.columns:
        if (column.field in fields or column.header in fields) and column.unparsed:
            raise UserError(
                f"{column.unparsed:,} value(s) in column {column.header!r} could not be read as "
                f"{column.type} (e.g. {'; '.join(column.unparsed_examples)}), and this column defines a "
                f"good customer",
                file=report.file_name,
                column=column.header,
                hint="correct those values in the file (or leave them blank: a blank is missing on "
                "purpose) and import again"
                + (
                    f', or map them in a mapping file: [values.{column.field}] "{column.unparsed_examples[0].split(": ", 1)[-1]}" = "yes" (or "no")'
                    if column.type == "bool" and column.unparsed_examples
                    else ""
                ),
            )
