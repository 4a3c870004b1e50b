"""Scoring records against an ICP, from icp.json alone: ONE path for every output that carries a fit score.

`score_layers` is the only place a fit score, tier, priority and disqualifier are defined; the
scored file (`icp-agent score-prospects`, the `score_prospects` tool), the CRM files, routing.csv and the
playbook's counts all evaluate it over the same normalised values:

- over an imported table (the CRM files): the importer already normalised each distinct value;
- over a raw file (`score_file`): one streaming DuckDB plan from the file to the output file, with no
  join and no Python per row. Headers are matched exactly as the importer matches them (`plan_columns`);
  each ICP field's distinct raw values are collected in ONE scan (GROUPING SETS, which also counts the
  rows) and normalised once with the importer's own normaliser (`typed_exprs`). The score's one-field
  parts (`score_plan`: each criterion's match, each scorecard feature's bin code, a category's spelling)
  are evaluated there, once per distinct value, and values with the same parts share a signature.
  Every combination of the fields' signatures is scored once when there are fewer combinations than
  rows (`_combined_query`), else the parts are read per row (`_per_row_query`).

Per row, the score is scalar SQL in a few SELECT layers (`score_plan`): the points total once (fit score,
priority and grade are constant-list look-ups on it), and the three top reasons picked with least() over
packed integer keys, not list sorting.

Order: DuckDB's parallel hash-join probe does not keep the input order (measured: 1M rows came out
shuffled), and sorting on a carried row number is a full sort (10M rows: 35 s, 4.9 GB). So the main pass
has no join: a raw value's signature is its position in an ENUM of the field's raw values ordered by
signature (a hash look-up inside the cast), mapped to the signature by a balanced CASE over the ranges'
starts; the combination's score is read from one constant list. A projection keeps DuckDB's pipeline
order on every thread (preserve_insertion_order); tests/test_scoring_path.py checks it on multi-row-group
Parquet files, on both plans.

Cost: the floor is DuckDB's own CSV -> Parquet copy, mostly the Parquet writer. A CSV's used columns are
read straight as their ENUMs (the reader looks each value up as it parses it), and a small ENUM (a used
column, a text score column) goes to the Parquet writer as it is, which writes its dictionary instead of
hashing each row's text: the main pass then costs about the floor, and the first pass reads only the used
columns. Measured with `python tools/bench.py score --rows 10000000` (10M raw Apollo-style rows to
Parquet, through the CLI, beside the floor; `--before` adds another checkout). Memory is bounded by the workspace's limit
(ICP_AGENT_MEMORY_LIMIT, else workspace.default_memory_limit) on score's own connection, spilling to a
temporary folder beside the output.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
from pydantic import BaseModel, Field

from icp_agent import numbers
from icp_agent.errors import UserError
from icp_agent.icp_document import Criterion, IcpDocument
from icp_agent.ingest import normalize as norm
from icp_agent.ingest.columns import PlannedColumn, plan_columns
from icp_agent.ingest.fields import FIELD_BY_NAME
from icp_agent.ingest.lookups import typed_exprs, unpacked
from icp_agent.ingest.mapping import Mapping
from icp_agent.ingest.reader import convert_to_csv, inspect_file, read_source_sql
from icp_agent.progress import adapt
from icp_agent.render.tabular import write_table
from icp_agent.scorecard.labels import field_label
from icp_agent.sql import quote_identifier as _q
from icp_agent.sql import sql_literal
from icp_agent.tiers.criteria import (
    columns_needed,
    criterion_sql,
    priority_reason_sql,
    priority_sql,
)
from icp_agent.tiers.criteria import implied_kind as criterion_kind
from icp_agent.tiers.criteria import missing_fields as missing_criteria_fields

OUTPUT_FORMATS = {".csv": "(FORMAT csv, HEADER)", ".parquet": "(FORMAT parquet)", ".pq": "(FORMAT parquet)"}
# the score columns, one set of names for scored files and CRM files (Salesforce: the same names as __c fields)
# score every combination of the fields' signatures once when there are at most this many (and fewer than rows)
COMBINATIONS = 1_000_000
# an ENUM goes to a Parquet writer as it is up to this many values (its whole dictionary is written in every
# row group, 122,880 rows: beyond this it outweighs the text's own dictionary), else as text
ENUM_WRITE_LIMIT = 65_536
SCORE_COLUMNS = (
    "icp_tier",
    "icp_segment",
    "fit_points",
    "fit_score",
    "priority",
    "priority_reason",
    "grade",
    "fit_reasons",
    "unseen_fields",
    "disqualified",
    "disqualified_by",
    "missing_fields",
)


class ScoreResult(BaseModel):
    """score_prospects' result (MCP, --json): the files, rows per tier and priority, disqualified rows, fields missing."""

    input: str
    output: str
    rows: int
    by_tier: dict[str, int] = Field(description="rows per tier ('none' = outside the ICP, disqualified included)")
    by_priority: dict[str, int] = Field(default_factory=dict)
    disqualified: int
    missing_fields: list[str] = Field(
        default_factory=list,
        description="fields the ICP's tiers, disqualifiers or scorecard points read that the file does not have",
    )
    used_fields: dict[str, str] = Field(default_factory=dict, description="ICP field -> the file's header")
    replaced_columns: list[str] = Field(
        default_factory=list,
        description="input columns named like a score column (an earlier score): replaced by the new score",
    )
    unseen_values: dict[str, int] = Field(
        default_factory=dict,
        description="ICP field -> rows holding a value the ICP never saw (no points for it; per row: unseen_fields)",
    )
    warnings: list[str] = Field(
        default_factory=list,
        description="per field with unseen values: rows, the commonest values, what to do",
    )
    notes: list[str] = Field(default_factory=list, description="how a multi-valued or location column was read")


def scorecard_dict(icp: IcpDocument) -> dict[str, Any]:
    """The ICP's scorecard as icp.json holds it (a plain dict; {} when there is none): the SQL writers
    read it as data."""
    return icp.scorecard.model_dump(mode="json") if icp.scorecard is not None else {}


def icp_fields(icp: IcpDocument) -> dict[str, str]:
    """Every field the ICP reads, with the normaliser type it needs."""
    fields: dict[str, str] = {}
    criteria = [c for t in icp.tiers for c in t.criteria] + [c for d in icp.negative_icp for c in d.criteria]
    for c in criteria:
        fields.setdefault(c.field, _field_type(c))
    for name, kind in (scorecard_dict(icp).get("field_kinds") or {}).items():
        fields.setdefault(name, kind)
    return fields


def rule_fields(icp: IcpDocument) -> set[str]:
    """The fields a rule of the ICP reads: its tiers' and disqualifiers' criteria and the scorecard's scored
    attributes. A field the scorecard only considered (field_kinds, left out of its features) changes no
    score, so a file that lacks it lacks nothing the ICP uses."""
    fields = {c.field for t in icp.tiers for c in t.criteria} | {c.field for d in icp.negative_icp for c in d.criteria}
    card = scorecard_dict(icp)
    if card.get("status") == "ok":
        fields |= {str(f.get("field") or f.get("name")) for f in card.get("features") or []}
    return fields


def _field_type(c: Criterion) -> str:
    known = FIELD_BY_NAME.get(c.field)
    if known and known.type in ("band", "list", "category", "bool"):
        return known.type
    if known and known.type in ("number", "money", "percent"):
        return "number"
    return criterion_kind(c)


def _shown_values(icp: IcpDocument) -> dict[str, set[str]]:
    """Per field, the category spellings the ICP's criteria and scorecard bins use (a scored file's values
    are matched to them by key, whatever their letter case)."""
    shown: dict[str, set[str]] = {}
    criteria = [c.model_dump() for t in icp.tiers for c in t.criteria] + [
        c.model_dump() for d in icp.negative_icp for c in d.criteria
    ]
    stack: list = [scorecard_dict(icp)]
    while stack:  # the scorecard's bins hold criteria ({"field", "op", "values"}) at some depth
        item = stack.pop()
        if isinstance(item, dict):
            if "field" in item and "op" in item:
                criteria.append(item)
            stack += list(item.values())
        elif isinstance(item, list):
            stack += item
    for c in criteria:
        values = list(c.get("values") or []) + ([c["value"]] if isinstance(c.get("value"), str) else [])
        shown.setdefault(str(c.get("field")), set()).update(str(v) for v in values)
    return shown


def _normalised(column: PlannedColumn, shown: set[str]) -> list[tuple[str, str]]:
    """The importer's normaliser for one raw value `raw`; categories and list elements take the ICP's
    spelling of their key (norm.category's `shown`)."""
    if column.type == "category":
        return [(column.name, norm.category("raw", shown))]
    if column.type == "list":
        return [(column.name, norm.text_list("raw", shown))]
    if column.type == "band":
        # a plain count ("1250", most of a large file's distinct sizes) is its own band without the band
        # parser's regular expressions (20,000 counts: 0.02 s against 2.5 s CPU); the same struct either way
        count = "TRY_CAST(raw AS UBIGINT)"
        plain = f"CAST({count} AS DOUBLE)"
        return [
            (
                f"{column.name}__band",
                f"CASE WHEN CAST({count} AS VARCHAR) = raw THEN struct_pack(min := {plain}, max := {plain}, "
                f"exact := {plain}) ELSE {norm.band('raw')} END",
            )
        ]
    return typed_exprs(column, "raw")


def _planned(name: str, kind: str, header: str) -> PlannedColumn:
    """The importer's plan for one ICP field, so `typed_exprs` normalises it exactly as an import would."""
    return PlannedColumn(header=header, name=name, canonical=name in FIELD_BY_NAME, type=kind, role="fit")


def _absent(kind: str, name: str) -> list[str]:
    if kind == "band":
        return [
            f"NULL::DOUBLE AS {_q(name)}",
            f"NULL::DOUBLE AS {_q(name + '_min')}",
            f"NULL::DOUBLE AS {_q(name + '_max')}",
        ]
    sql_type = {"list": "VARCHAR[]", "number": "DOUBLE", "bool": "BOOLEAN"}.get(kind, "VARCHAR")
    return [f"NULL::{sql_type} AS {_q(name)}"]


def value_labels(
    icp: IcpDocument, stored: dict[str, dict[str, str]] | None = None, mapping: Mapping | None = None
) -> dict[str, dict[str, tuple[str, str]]]:
    """The value mapping a prospect file is scored with: ICP field -> {key of a raw label (`norm.category_key`)
    -> (the raw label as written, the stored label)}, from `stored` (the `[values.FIELD]` tables the workspace's current snapshots were
    imported with, field -> {raw label -> stored label}) then `mapping` (a mapping file for the prospect file,
    whose lines win for the same label).

    `stored` tables on fields the ICP does not read as a category or list are left out (they concern other
    files). A `mapping` table is checked as import checks it: a field the ICP does not read, or reads as
    neither a category nor a list, is a UserError naming the mapping file and the entry."""
    from icp_agent.ingest.mapping import VALUE_MAPPED_TYPES

    kinds = icp_fields(icp)
    labels: dict[str, dict[str, tuple[str, str]]] = {}
    for name, table in (stored or {}).items():
        if kinds.get(name) in VALUE_MAPPED_TYPES:
            labels.setdefault(name, {}).update({norm.category_key_text(r): (r, label) for r, label in table.items()})
    where = (mapping.source if mapping else None) or "the mapping"
    for name, table in (mapping.values if mapping else {}).items():
        mapped = sorted(f for f, kind in kinds.items() if kind in VALUE_MAPPED_TYPES)
        if name not in kinds:
            raise UserError(
                f"[values.{name}] names a field the ICP does not score on",
                file=where,
                hint=f"use a field of the ICP: {', '.join(mapped) or '(it reads no category or list field)'}",
            )
        if kinds[name] not in VALUE_MAPPED_TYPES:
            raise UserError(
                f"[values.{name}] maps the labels of a {kinds[name]} field: only categories and lists have labels "
                f"to map",
                file=where,
                hint=f"remove [values.{name}]"
                + (f"; the ICP's category and list fields: {', '.join(mapped)}" if mapped else ""),
            )
        labels.setdefault(name, {}).update({norm.category_key_text(r): (r, label) for r, label in table.items()})
    return labels


def _mapped_sql(expr: str, labels: dict[str, tuple[str, str]] | None) -> str:
    """SQL: the raw text `expr` as the stored label the value mapping gives its key (`labels`, see `value_labels`),
    else as it is. Evaluated once per distinct value (a field's look-up), never per row."""
    if not labels:
        return expr
    entries = ", ".join(f"{sql_literal(key)}: {sql_literal(label)}" for key, (_, label) in sorted(labels.items()))
    return f"coalesce(MAP {{{entries}}}[{norm.category_key(expr)}], {expr})"


def _mapped_list_sql(expr: str, labels: dict[str, tuple[str, str]] | None) -> str:
    """SQL: a list value `expr` ("sfdc, Slack") with each element mapped (`_mapped_sql`), joined again by ";" (the
    separator `norm.list_elements` splits on first; an element holds none when the value was split on "|" or ",")."""
    if not labels:
        return expr
    return f"array_to_string(list_transform({norm.list_elements(expr)}, lambda x: {_mapped_sql('x', labels)}), ';')"


def _mapped_note(
    con: duckdb.DuckDBPyConnection, i: int, name: str, header: str, elements: str, labels: dict[str, tuple[str, str]]
) -> str:
    """The note on what the value mapping did to the field scanned as r<i>: per label, the rows holding it (whole
    or as one of its elements: `elements`, SQL of a list of texts over `raw`), most rows first, as the import
    reports it, each label as the mapping writes it ("'Advertising' -> 'Agency': 2,626 rows"); or that no value of the column holds a mapped label."""
    keys = ", ".join(
        f"({sql_literal(key)}, {sql_literal(raw)}, {sql_literal(label)})"
        for key, (raw, label) in sorted(labels.items())
    )
    found = con.execute(
        f"WITH m(key, r, label) AS (VALUES {keys}), x AS (SELECT r{i} AS raw, n FROM _icp_distinct WHERE g{i} = 0 "
        f"AND r{i} IS NOT NULL), e AS (SELECT raw, n, v, {norm.category_key('v')} AS key FROM (SELECT raw, n, "
        f"unnest({elements}) AS v FROM x)), per AS (SELECT DISTINCT key, raw, n FROM e) "
        f"SELECT m.r, m.label, sum(per.n) AS rows FROM per JOIN m ON m.key = per.key GROUP BY ALL ORDER BY rows DESC, 1"
    ).fetchall()
    column = f" (column {header!r})" if header != name else ""
    if not found:
        return f"{name}{column}: no value holds a label of the value mapping ([values.{name}])"
    shown = "; ".join(f"{raw!r} -> {label!r}: {int(n):,} row{'s' if n != 1 else ''}" for raw, label, n in found)
    return f"{name}{column}: labels mapped ([values.{name}]): {shown}"


def scored_relation(icp: IcpDocument, relation: str, columns: list[str] | set[str]) -> str:
    """`relation` (a table or parenthesised query with the columns `columns`, normalised as an import stores
    them) with SCORE_COLUMNS appended: the ONE scoring of a stored table (CRM files, scoring matrix).

    An ICP field the relation lacks is added as a typed NULL, so its criteria cannot match and the
    scorecard scores it neutral, instead of SQL that fails on a missing column.
    """
    columns = set(columns)
    present = {c for c in columns if not c.startswith("_")} | {c[:-4] for c in columns if c.endswith("_min")}
    absent = [
        sql
        for name, kind in icp_fields(icp).items()
        if name not in present
        for sql in _absent(kind, name)
        if sql.rsplit(" AS ", 1)[1].strip('"') not in columns
    ]
    base = f"(SELECT *, {', '.join(absent)} FROM {relation})" if absent else relation
    return f"({scored_select(icp, base, present)})"


def store_scores(con: duckdb.DuckDBPyConnection, icp: IcpDocument, table: str, target: str) -> None:
    """CREATE TABLE `target` with `table`'s `_row` and its SCORE_COLUMNS (`scored_relation`), in `table`'s scan
    order (a projection: DuckDB keeps the order), so a POSITIONAL JOIN pastes each row's score beside its row:
    a table read by several outputs (the build's frame: the scoring matrix and the customers' CRM rows) is
    scored once."""
    columns = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
    con.execute(
        f"CREATE OR REPLACE TABLE {target} AS SELECT _row, {', '.join(_q(c) for c in SCORE_COLUMNS)} "
        f"FROM {scored_relation(icp, table, columns)}"
    )


def same_scores(icp: IcpDocument, columns: set[str], other: set[str]) -> bool:
    """True when `scored_relation` gives the same scores over two relations holding the same rows with these
    column sets: every column an ICP field could be read from is in both or in neither (a field one lacks is
    scored as absent there)."""
    return all(
        (column in columns) == (column in other)
        for name in icp_fields(icp)
        for column in (name, f"{name}_min", f"{name}_max")
    )


def match_fields(icp: IcpDocument, headers: list[str]) -> dict[str, str]:
    """ICP field -> the file's header, matched as the importer matches it (synonyms, first header wins);
    a field the importer would not recognise is found by the header the ICP was built from, then by name."""
    fields = icp_fields(icp)
    found = {c.name: c.header for c in plan_columns(headers, Mapping(), "prospects") if c.name in fields}
    originals = {c.field: c.header for t in icp.tiers for c in t.criteria if c.header}
    originals |= {c.field: c.header for d in icp.negative_icp for c in d.criteria if c.header}
    lowered = {h.strip().lower(): h for h in headers}
    taken = set(found.values())
    for field in fields:
        if field in found:
            continue
        for candidate in (originals.get(field), field):
            header = lowered.get((candidate or "").strip().lower())
            if header and header not in taken:
                found[field] = header
                taken.add(header)
                break
    return found


class ScorePlan(NamedTuple):
    """The score of one record as SQL, split where the work is: `parts` (per field, expressions reading that
    field's columns alone: each criterion's match, each scorecard feature's bin code, a category's spelling,
    a missing-value flag) and `layers` (SELECT layers reading only the parts' aliases, ending in
    SCORE_COLUMNS). A part depends on one value of one field, so a raw file evaluates it once per distinct
    raw value (`scoring_query`); a table evaluates it per row (`scored_select`)."""

    parts: dict[str, list[tuple[str, str]]]
    layers: list[list[tuple[str, str]]]


def score_plan(icp: IcpDocument, present: set[str]) -> ScorePlan:
    """The score over a relation holding the ICP's fields, normalised (a band field as <name>, <name>_min,
    <name>_max): private __icp_* columns (the parts; the tier and segment the criteria give, the disqualifier,
    the points total and the reason keys, unseen and missing fields), then SCORE_COLUMNS, in that order.
    Each per-row expression is evaluated once: the points total feeds fit score, priority and grade as
    constant-list look-ups, and the top reasons are picked with scalar least() (`_reason_layers`).

    `present` names the fields the relation really has (the others are NULL there): the scorecard
    scores them neutral and missing_fields lists them. A disqualified record is in no tier and no
    segment (disqualified_by says which rule); priority follows the one rule, `criteria.priority_sql`, and
    priority_reason says which case applied. A criterion on a field the relation lacks is not measurable
    there (criteria.NotMeasurable) and matches no row: unknown is not a match. fit_reasons read
    "industry Computer Software (+27); employees 11-50 (-11)".
    """
    fields = icp_fields(icp)
    band_fields = {n for n, k in fields.items() if k == "band"}
    readable = {c for f in present for c in columns_needed(f, fields.get(f) or "category")}
    parts: dict[str, list[tuple[str, str]]] = {}
    aliases: dict[tuple[str, str], str] = {}

    def part(field: str, sql: str) -> str:
        """The alias of a one-field expression, each distinct expression once."""
        if (field, sql) not in aliases:
            aliases[(field, sql)] = f"__icp_p{len(aliases)}"
            parts.setdefault(field, []).append((aliases[(field, sql)], sql))
        return aliases[(field, sql)]

    def compiled(criteria) -> str | None:
        # criteria_sql's conjunction, one part per criterion (NULL-safe: missing data never matches)
        criteria = list(criteria)
        if missing_criteria_fields(criteria, fields, readable):
            return None  # not measurable here: matches no row
        return " AND ".join(part(c.field, f"coalesce({criterion_sql(c, fields)}, FALSE)") for c in criteria) or "TRUE"

    tier_cases, segment_cases = [], []
    for tier in sorted(icp.tiers, key=lambda t: (t.tier, t.segment)):
        predicate = compiled(tier.criteria)
        if predicate is None:
            continue
        tier_cases.append(f"WHEN {predicate} THEN {tier.tier}")
        segment_cases.append(f"WHEN {predicate} THEN {sql_literal(tier.segment)}")
    disqualifier_cases = [
        f"WHEN {sql} THEN {sql_literal(' AND '.join(c.label for c in d.criteria))}"
        for d in icp.negative_icp
        if (sql := compiled(d.criteria))
    ]
    needed = sorted({c.field for t in icp.tiers for c in t.criteria})
    missing = [f"CASE WHEN {part(f, _null_check(f, f in band_fields))} THEN {sql_literal(f)} END" for f in needed]
    card = scorecard_dict(icp)
    scored = card.get("status") == "ok"
    # a score that does not separate good from bad on its holdout gives no priority (fit.py, evaluation.separation)
    trusted = scored and card.get("separates") is not False
    columns = present | {f"{f}{s}" for f in present & band_fields for s in ("_min", "_max")}
    inner = [
        ("__icp_tier", f"CASE {' '.join(tier_cases)} END" if tier_cases else "NULL::INTEGER"),
        ("__icp_segment", f"CASE {' '.join(segment_cases)} END" if segment_cases else "NULL::VARCHAR"),
        ("__icp_disqualifier", f"CASE {' '.join(disqualifier_cases)} END" if disqualifier_cases else "NULL::VARCHAR"),
        ("__icp_missing", _names(missing)),
    ]
    if scored:
        keys, picks, reasons, unseen = _reason_layers(card, columns, part)
        layers = [inner + [("__icp_unseen", unseen)] + keys, *picks]
    else:
        layers = [inner + [("__icp_unseen", "NULL::VARCHAR"), ("__icp_points", "NULL::INTEGER")]]
        reasons = "NULL::VARCHAR"
    disqualified = "(__icp_disqualifier IS NOT NULL)"
    tier_sql = f"CASE WHEN {disqualified} THEN NULL ELSE __icp_tier END"
    if scored:
        from icp_agent.scorecard.scale import fit_table, level_of, points_lookup_sql

        low, fits = fit_table(card)  # the scorecard's own tables: the same values its SQL gives
        fit_score = points_lookup_sql(fits, low, "__icp_points")
        band = points_lookup_sql([level_of(card, "bands", fit) for fit in fits], low, "__icp_points")
        grade = points_lookup_sql([level_of(card, "grades", fit) for fit in fits], low, "__icp_points")
    else:
        fit_score, band, grade = "NULL::INTEGER", None, "NULL::VARCHAR"
    outer: list[tuple[str, str]] = [
        ("icp_tier", tier_sql),
        ("icp_segment", f"CASE WHEN {disqualified} THEN NULL ELSE __icp_segment END"),
        ("fit_points", "__icp_points"),
        ("fit_score", fit_score),
        ("priority", priority_sql(tier_sql, disqualified, band if trusted else None)),
        (
            "priority_reason",
            priority_reason_sql(tier_sql, disqualified, "__icp_disqualifier", band if trusted else None),
        ),
        ("grade", grade),
        ("fit_reasons", reasons),
        ("unseen_fields", "__icp_unseen"),
        ("disqualified", disqualified),
        ("disqualified_by", "__icp_disqualifier"),
        ("missing_fields", "__icp_missing"),
    ]
    assert tuple(name for name, _ in outer) == SCORE_COLUMNS
    return ScorePlan(parts, [*layers, outer])


def score_layers(icp: IcpDocument, present: set[str]) -> list[list[tuple[str, str]]]:
    """`score_plan` as SELECT layers over a relation holding the ICP's fields: the parts first, per row."""
    plan = score_plan(icp, present)
    return [[p for field_parts in plan.parts.values() for p in field_parts], *plan.layers]


def _names(cases: list[str]) -> str:
    """The names the CASEs give (NULL where a CASE gives none), joined by ", "; NULL when there are none."""
    return f"nullif(concat_ws(', ', {', '.join(cases)}), '')" if cases else "NULL::VARCHAR"


def _reason_layers(card: dict, columns: set[str], part) -> tuple[list, list, str, str]:
    """The scorecard's points total and top reasons as layers of scalar SQL over the parts (each feature's bin
    code, a category's spelling, a list's missing flag: `part(field, sql)` gives their aliases): (points
    total and one key per candidate reason, the picks of the best three, the fit_reasons expression, the
    unseen_fields expression).

    Same candidates, order and text as the scorecard's own `_reasons_sql` (a test compares them): each
    candidate is packed into one integer, ((top - |points|) * positions + position) * codes + bin code,
    so the smallest key is the biggest contribution (ties: the earlier feature). Picking the three
    smallest keys with least() over columns avoids per-row list sorting (1M rows on one thread: every
    score column in 4.0 s, against 6.7 s for the scorecard's list-based SQL).
    """
    from icp_agent.scorecard.emit import (  # not scorecard.fit: scoring never loads the fitting's scipy
        REASONS,
        category_spelling,
        code_sql,
        missing_sql,
        points_sql,
        value_sql,
    )

    features = card["features"]
    all_codes = [code_sql(f, columns) for f in features]
    shown = [f for f, code in zip(features, all_codes) if code is not None]
    code_of = {id(f): part(f["field"], code) for f, code in zip(features, all_codes) if code is not None}
    unseen = _names(
        [f"CASE WHEN {code_of[id(f)]} = 0 THEN {sql_literal(f['field'])} END" for f in shown if f["kind"] == "category"]
    )
    total = " + ".join([str(card["intercept_points"])] + [points_sql(f, code_of[id(f)]) for f in shown])
    points = [[0 if f["kind"] == "list" and b.get("missing") else b["points"] for b in f["bins"]] for f in shown]
    words = [
        [None if f["kind"] == "category" and not b.get("missing") else b["label"] for b in f["bins"]] for f in shown
    ]
    missing_lists: dict[str, int] = {}
    for f in shown:
        if f["kind"] == "list":
            missing_lists[f["field"]] = missing_lists.get(f["field"], 0) + f["bins"][-1]["points"]
    extra = [(field, points_sum) for field, points_sum in missing_lists.items() if points_sum != 0]
    points += [[points_sum] for _, points_sum in extra]
    words += [[f"{field_label(field)} missing"] for field, _ in extra]
    keys = [("__icp_points", f"CAST({total} AS INTEGER)")]
    if not points:
        return keys, [], "NULL::VARCHAR", unseen
    top = max(abs(v) for row in points for v in row) + 1
    positions, codes_base = len(points) + 1, max(len(row) for row in points) + 1

    def key(size: str, position: int, code: str) -> str:
        return f"(({top}::BIGINT - abs({size})) * {positions} + {position}) * {codes_base} + {code}"

    for j, f in enumerate(shown, 1):
        code = code_of[id(f)]
        size = f"coalesce({_lit_list(points[j - 1])}[{code}], 0)"
        keys.append((f"__icp_k{j}", f"CASE WHEN {size} <> 0 THEN {key(size, j, code)} END"))
    for i, (field, points_sum) in enumerate(extra, 1):
        flag = part(field, missing_sql(field, "list"))
        keys.append(
            (f"__icp_k{len(shown) + i}", f"CASE WHEN {flag} THEN {key(str(points_sum), len(shown) + i, '1')} END")
        )
    names = [name for name, _ in keys[1:]]
    picks = []
    for r in range(1, REASONS + 1):
        after = [f"CASE WHEN {n} > __icp_r{r - 1} THEN {n} END" for n in names] if r > 1 else names
        picks.append([(f"__icp_r{r}", f"least({', '.join(after)})" if len(after) > 1 else after[0])])
    # a category reason shows the record's value in the scorecard's spelling (a part: once per distinct value)
    dynamic = [
        (j, f, part(f["field"], category_spelling(f, value_sql(f["field"], "category"))))
        for j, f in enumerate(shown, 1)
        if f["kind"] == "category"
    ]

    # one flat constant list per part, indexed by position * codes + code + 1: the label (NULL where the
    # record's own category value is shown) and the points suffix " (+27)", written once per bin
    labels: list[str | None] = [None] * (positions * codes_base)
    suffixes: list[str | None] = [None] * (positions * codes_base)
    for position, (row_points, row_words) in enumerate(zip(points, words), 1):
        for code, (value, word) in enumerate(zip(row_points, row_words), 1):
            labels[position * codes_base + code] = word
            suffixes[position * codes_base + code] = f" ({'+' if value > 0 else ''}{value})"

    def fragment(v: str) -> str:  # "lead source Referral (+5)" for the packed key in column v
        position = f"(({v} // {codes_base}) % {positions})"
        index = f"({position} * {codes_base} + {v} % {codes_base} + 1)"
        text = f"{_lit_list(labels)}[{index}]"
        if dynamic:
            text = (
                f"coalesce({text}, CASE {position} "
                + " ".join(
                    f"WHEN {j} THEN {sql_literal(field_label(f['field']) + ' ')} || {spelled}"
                    for j, f, spelled in dynamic
                )
                + " END)"
            )
        return f"{text} || {_lit_list(suffixes)}[{index}]"

    parts = ", ".join(fragment(f"__icp_r{r}") for r in range(1, REASONS + 1))
    return keys, picks, f"nullif(concat_ws('; ', {parts}), '')", unseen


def _lit_list(values: list) -> str:
    return (
        "["
        + ", ".join(sql_literal(v) if isinstance(v, str) else ("NULL" if v is None else str(v)) for v in values)
        + "]"
    )


def scored_select(icp: IcpDocument, relation: str, present: set[str], keep: str = "*") -> str:
    """SELECT `keep` (the relation's columns to pass through, as SQL) and SCORE_COLUMNS from `relation`."""
    return _select(score_layers(icp, present), relation, keep)


def _select(layers: list[list[tuple[str, str]]], relation: str, keep: str = "*") -> str:
    """The layers as nested SELECTs over `relation`; the last layer's columns are named as given, the others'
    are private (left out of `*`)."""
    private = [name for layer in layers[:-1] for name, _ in layer]
    if keep == "*" and private:
        keep = f"* EXCLUDE ({', '.join(private)})"
    query = relation
    for layer in layers[:-1]:
        if layer:
            query = f"(SELECT *, {', '.join(f'{sql} AS {name}' for name, sql in layer)} FROM {query})"
    return f"SELECT {keep}, {', '.join(f'{sql} AS {_q(name)}' for name, sql in layers[-1])} FROM {query}"


def _null_check(field: str, band: bool) -> str:
    """TRUE when a tier's field has no value (a band: no lower bound)."""
    return f"({_q(f'{field}_min') if band else _q(field)} IS NULL)"


def connect_for_scoring(spill_to: Path | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory connection with the workspace's memory limit (ICP_AGENT_MEMORY_LIMIT, else half the
    machine's memory: workspace.default_memory_limit); beyond it DuckDB spills to `spill_to` (a folder)."""
    from icp_agent.workspace import default_memory_limit

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    limit = os.environ.get("ICP_AGENT_MEMORY_LIMIT") or default_memory_limit()
    if limit:
        try:
            con.execute("SET memory_limit = ?", [limit])
        except duckdb.Error as exc:
            con.close()
            raise UserError(
                f"memory limit {limit!r} is not a size DuckDB understands",
                hint="use e.g. 2GB or 512MB (ICP_AGENT_MEMORY_LIMIT)",
            ) from exc
    if spill_to is not None:
        con.execute("SET temp_directory = ?", [str(spill_to)])
    return con


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    """The first value of a query that returns one row."""
    row = con.execute(sql).fetchone()
    assert row is not None, sql
    return row[0]


def _estimated_rows(path: Path, con: duckdb.DuckDBPyConnection, source_sql: str) -> int | None:
    """The rows of a file before reading it: Parquet says (its footer); a text file's size over the mean
    length of its first lines (an estimate, for progress only). None for a compressed file."""
    if path.suffix.lower() in (".parquet", ".pq"):
        return _one(con, f"SELECT count(*) FROM {source_sql}")
    if path.suffix.lower() in (".gz", ".zst", ".bz2", ".xz", ".zip"):
        return None
    with open(path, "rb") as handle:
        head = handle.read(1 << 20)
    lines = head.count(b"\n")
    return max(1, int(path.stat().st_size * lines / len(head))) if lines and head else None


def _text(column: str, dtype: str) -> str:
    """A raw column as text, as the importer stages it (Parquet/JSON columns are typed)."""
    if dtype.endswith("[]"):
        return f"array_to_string({column}, ';')"
    return column if dtype == "VARCHAR" else f"CAST({column} AS VARCHAR)"


def scoring_query(
    con: duckdb.DuckDBPyConnection,
    icp: IcpDocument,
    source_sql: str,
    described: list[tuple[str, str]],
    text_enums: bool = False,
    typed_source: Callable[[dict[str, str]], str] | None = None,
    notes: list[str] | None = None,
    labels: dict[str, dict[str, tuple[str, str]]] | None = None,
) -> tuple[str, dict[str, str], list[str], list[str], int]:
    """Build the per-field look-ups and return (query, used fields, missing fields, replaced columns, rows):
    the query streams `source_sql` into every kept input column plus SCORE_COLUMNS, in the file's order.
    With `text_enums` a text column may come as an ENUM of its values (the same text to a Parquet file,
    written far faster); without, every text column is VARCHAR (a CSV's cells are neutralised per type).
    `typed_source` (a CSV) gives the file's table function with some columns read as another type: the used
    columns are then read as their ENUMs. `notes` (a list) receives how the file was read where a column is not
    one plain value (`_choose_columns`, `_location_columns`, `_any_of_parts`) and what the value mapping did.
    `labels` (`value_labels`: field -> {key of a raw label -> (raw label, stored label)}) translates a category's value, each
    element of a multi-valued one and each element of a list before it is normalised, once per distinct value.

    Each used field's distinct raw values come from ONE scan of the file (GROUPING SETS, which also counts
    the rows) and are normalised once by the importer's normaliser (TEMP table `_icp_lk_<i>`); the score's
    parts for that field (`score_plan`: criterion matches, bin codes, spellings) are evaluated there, once
    per distinct value, and packed into one list of structs (`_icp_ls_<i>`) in the order of an ENUM of the
    raw values (`_icp_e_<i>`). Per row, the raw value is cast to the ENUM (a hash look-up) and its parts
    are read at that position: a projection, so the plan has no join and runs on every thread in order.
    """
    headers = [name for name, _ in described]
    types = dict(described)
    fields = icp_fields(icp)
    labels = labels or {}
    used = _choose_columns(con, icp, source_sql, described, match_fields(icp, headers), notes, labels)
    derived = _location_columns(con, icp, source_sql, described, used, notes)
    used |= {f: header for f, (header, _) in derived.items()}
    missing = sorted(rule_fields(icp) - set(used))  # what the note names: fields a rule reads, not considered ones
    plan = score_plan(icp, set(used))
    order = [f for f in fields if f in used and plan.parts.get(f)]  # a field no part reads is never scanned
    raw_text = {f: _text("s." + _q(used[f]), types[used[f]]) for f in order}
    rows = None
    if order:
        raws = ", ".join(f"{raw_text[f]} AS r{i}" for i, f in enumerate(order))
        flags = ", ".join(f"grouping(r{i}) AS g{i}" for i in range(len(order)))
        sets = ", ".join(f"(r{i})" for i in range(len(order)))
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _icp_distinct AS SELECT {', '.join(f'r{i}' for i in range(len(order)))}, "
            f"{flags}, count(*) AS n FROM (SELECT {raws} FROM {source_sql} s) GROUP BY GROUPING SETS ({sets}, ())"
        )
        every = " AND ".join(f"g{i} = 1" for i in range(len(order)))
        rows = _one(con, f"SELECT n FROM _icp_distinct WHERE {every}")
    else:
        rows = _one(con, f"SELECT count(*) FROM {source_sql}")
    inner = [f"s.{_q(h)} AS {_q(f'__raw_{i}')}" for i, h in enumerate(headers)]
    absent: list[str] = []  # the fields the file lacks, as typed NULLs
    per_row: list[tuple[str, str]] = []  # their parts: on typed NULLs (cheap)
    packed: list[_Packed] = []
    shown = _shown_values(icp)
    for name, kind in fields.items():
        parts = plan.parts.get(name, [])
        if name not in used:
            absent += _absent(kind, name)
            per_row += parts
            continue
        if not parts:
            continue
        i = order.index(name)
        column = _planned(name, kind, used[name])
        mapped = labels.get(name)
        typed = ", ".join(f"{expr} AS {_q(alias)}" for alias, expr in _normalised(column, shown.get(name, set())))
        # every distinct raw value, NULL included (a row without a value has parts too: a missing bin)
        values = f"SELECT r{i} AS raw FROM _icp_distinct WHERE g{i} = 0 UNION SELECT NULL"
        several = kind == "category" and name not in derived and _has_lists(con, i)
        if several:  # "FinTech, Payments": the whole value and each of its elements, normalised once each
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE _icp_lk_{i} AS SELECT whole AS raw, e, {', '.join(unpacked(column))} "
                f"FROM (SELECT whole, e, {typed} FROM (SELECT whole, {_mapped_sql('x.v', mapped)} AS raw, x.e AS e "
                f"FROM (SELECT raw AS whole, unnest({_elements('raw')}) AS x FROM ({values}))))"
            )
            elements = f"list_transform({_elements('raw')}, lambda x: x.v)"
        else:  # a location's part ("City, Region, Country") is read from its whole value, once per value
            part = derived[name][1] if name in derived else "raw"
            elements = f"[{part}]" if kind == "category" else norm.list_elements("raw")
            part = _mapped_sql(part, mapped) if kind == "category" else _mapped_list_sql(part, mapped)
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE _icp_lk_{i} AS SELECT whole AS raw, {', '.join(unpacked(column))} "
                f"FROM (SELECT whole, {typed} FROM (SELECT raw AS whole, {part} AS raw FROM ({values})))"
            )
        if mapped and notes is not None:
            notes.append(_mapped_note(con, i, name, used[name], elements, mapped))
        if name == "country" and kind == "category":  # the importer's country names ("UK" = "United Kingdom")
            norm.canonical_countries(con, f"_icp_lk_{i}", name)
        if name == "region" and kind == "category":  # "California" where the CRM wrote "CA"
            region_codes(con, f"_icp_lk_{i}", name, shown.get(name, set()))
        # the field's parts per raw value, and its signature: the rank of its parts (values alike score alike)
        packed_parts = (
            _any_of_parts(con, icp, i, name, parts, shown.get(name, set()), notes, used[name])
            if several
            else f"SELECT raw, struct_pack({', '.join(f'{a} := {sql}' for a, sql in parts)}) AS p FROM _icp_lk_{i}"
        )
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _icp_pk_{i} AS SELECT raw, p, dense_rank() OVER (ORDER BY p) - 1 "
            f"AS sig FROM ({packed_parts})"
        )
        signatures = _one(con, f"SELECT max(sig) + 1 FROM _icp_pk_{i}")
        packed.append(_Packed(i, parts, signatures, *_signature_sql(con, i, raw_text[name])))
    combinations = 1
    for field in packed:
        combinations *= field.signatures
    # a CSV's used columns are read as their ENUMs: the reader finds a value's position as it parses the
    # value (no text column then a cast), and the ENUM goes to the writer as it is (see `_as_written`)
    enum_values: dict[str, int] = {}
    if typed_source is not None:
        reader_types = {}
        for k, field in enumerate(packed):
            if field.values and order[field.i] not in derived:  # a location's part is no column of its own
                header = used[order[field.i]]
                enum_values[header] = field.values
                reader_types[header] = f"_icp_e_{field.i}"
                packed[k] = field._replace(position=f"enum_code(s.{_q(header)})")
        source_sql = typed_source(reader_types)
    taken = {c.lower() for c in SCORE_COLUMNS}
    replaced = [h for h in headers if h.lower() in taken]
    keep = ", ".join(
        f"{_as_written(_q(f'__raw_{i}'), enum_values.get(h), text_enums)} AS {_q(h)}"
        for i, h in enumerate(headers)
        if h not in replaced
    )
    if packed and combinations <= min(COMBINATIONS, max(rows or 0, 1)):
        query = _combined_query(con, plan, packed, per_row, absent, source_sql, inner, keep, text_enums)
    else:
        query = _per_row_query(con, plan, packed, per_row, absent, source_sql, inner, keep)
    return query, used, missing, replaced, rows


def _choose_columns(
    con: duckdb.DuckDBPyConnection,
    icp: IcpDocument,
    source_sql: str,
    described: list[tuple[str, str]],
    used: dict[str, str],
    notes: list[str] | None,
    labels: dict[str, dict[str, tuple[str, str]]],
) -> dict[str, str]:
    """`used` (ICP field -> header) with, for a category field two or more of the file's columns name
    ("Industry" beside a data vendor's "Industries"; a header the ICP was built from counts as naming it), the
    column whose values match the ICP's best: the most non-empty rows holding a value the ICP knows (whole, or
    one of its elements), then the fewest rows holding several values, then the first. One scan of each
    candidate column's distinct values, read through the value mapping (`labels`); the choice is said in `notes`.
    A field one column names is left as matched."""
    from icp_agent.ingest.fields import canonical_field

    kinds = icp_fields(icp)
    types = dict(described)
    taken = set(used.values())
    shown = _shown_values(icp)
    chosen = dict(used)
    criteria = [c for t in icp.tiers for c in t.criteria] + [c for d in icp.negative_icp for c in d.criteria]
    for field, header in used.items():
        if kinds.get(field) != "category":
            continue
        built_from = {c.header.strip().lower() for c in criteria if c.field == field and c.header}
        others = [
            h
            for h, _ in described
            if h not in taken and (canonical_field(h) == field or h.strip().lower() in built_from)
        ]
        if not others:
            continue
        value = norm.category(_mapped_sql("x.v", labels.get(field)), shown.get(field, set()))
        known = _known_sql(value, shown.get(field, set()))
        scores = []
        for position, candidate in enumerate([header, *others]):
            raw = _text(f"s.{_q(candidate)}", types[candidate])
            hits, filled, several = con.execute(
                f"SELECT coalesce(sum(n) FILTER (WHERE list_bool_or(list_transform({_elements('v')}, "
                f"lambda x: {known}))), 0), coalesce(sum(n) FILTER (WHERE v IS NOT NULL), 0), "
                f"coalesce(sum(n) FILTER (WHERE regexp_matches(v, '{LIST_SEPARATORS}')), 0) "
                f"FROM (SELECT {raw} AS v, count(*) AS n FROM {source_sql} s GROUP BY ALL)"
            ).fetchone() or (0, 0, 0)
            share = hits / filled if filled else 0.0
            scores.append(((-share, several / filled if filled else 1.0, position), candidate, share))
        scores.sort()
        chosen[field] = scores[0][1]
        if notes is not None:
            losers = ", ".join(f"{c!r} ({numbers.percent(sh)})" for _, c, sh in scores[1:])
            notes.append(
                f"{field}: read from column {scores[0][1]!r} ({numbers.percent(scores[0][2])} of its filled rows hold "
                f"a value the ICP knows), not {losers}; rename or drop a column to choose otherwise"
            )
    return chosen


# a one-cell location ("Headquarters Location" = "San Francisco, California, United States" in Crunchbase, "HQ",
# "Location", "Based in"): its parts are read as city, region and country when the file has no column for them
LOCATION_HEADER = re.compile(r"(?:^|[^a-z])(?:location|headquarters|hq|head\s*office|based\s*in)(?:$|[^a-z])", re.I)
# the share of a location column's filled rows whose last part must name a country for it to be read as one
LOCATION_COUNTRIES = 0.5


def _location_columns(
    con: duckdb.DuckDBPyConnection,
    icp: IcpDocument,
    source_sql: str,
    described: list[tuple[str, str]],
    used: dict[str, str],
    notes: list[str] | None,
) -> dict[str, tuple[str, str]]:
    """ICP location fields (country, region, city) the file has no column for, read from a one-cell location
    column: field -> (header, SQL of the part over the column's value `raw`, applied once per distinct value
    in the field's look-up). "City, Region, Country" (Crunchbase) or "City,
    Country": the last part is the country (then normalised as the import does: "USA" = "United States"),
    the one before it the region when there are three or more parts, the first the city when there are two
    or more. A column qualifies when its header says location (LOCATION_HEADER) and the last part of at least
    LOCATION_COUNTRIES of its filled rows names a country (`norm.country_name`, on its 2,000 commonest last
    parts): "Greater Boston Area" (LinkedIn) names none and is left alone. Said in `notes`."""
    kinds = icp_fields(icp)
    wanted = [f for f in ("country", "region", "city") if kinds.get(f) == "category" and f not in used]
    if not wanted:
        return {}
    taken = set(used.values())
    for header, dtype in described:
        if header in taken or not LOCATION_HEADER.search(header):
            continue
        parts = f"list_transform(string_split({_text('s.' + _q(header), dtype)}, ','), lambda x: trim(x))"
        commonest = con.execute(
            f"SELECT last, n, sum(n) OVER () FROM (SELECT {parts}[-1] AS last, count(*) AS n FROM {source_sql} s "
            f"WHERE nullif(trim({_text('s.' + _q(header), dtype)}), '') IS NOT NULL GROUP BY 1) ORDER BY n DESC "
            "LIMIT 2000"
        ).fetchall()
        filled = commonest[0][2] if commonest else 0
        countries = sum(n for last, n, _ in commonest if norm.country_name(last))
        if not filled or countries / filled < LOCATION_COUNTRIES:
            continue
        split = "list_transform(string_split(raw, ','), lambda x: trim(x))"
        ways = {
            "country": f"nullif({split}[-1], '')",
            "region": f"CASE WHEN len({split}) >= 3 THEN nullif({split}[-2], '') END",
            "city": f"CASE WHEN len({split}) >= 2 THEN nullif({split}[1], '') END",
        }
        if notes is not None:
            notes.append(
                f'{", ".join(wanted)} read from column {header!r} ("City, Region, Country": the last part names a '
                f"country in {numbers.percent(countries / filled)} of its filled rows)"
            )
        return {f: (header, ways[f]) for f in wanted}
    return {}


@lru_cache(maxsize=1)
def _subdivision_codes() -> dict[str, str]:
    """An ISO 3166-2 subdivision's name key (`norm.country_key`'s spelling rules) -> its code without the
    country ("California" -> "CA", "Ontario" -> "ON", "Bayern" -> "BY"), from pycountry; names two
    subdivisions share ("Distrito Federal") are left out."""
    import pycountry

    found: dict[str, set[str]] = {}
    for part in pycountry.subdivisions:
        found.setdefault(norm._country_key(part.name.split("[")[0]), set()).add(part.code.split("-", 1)[1])
    return {key: next(iter(codes)) for key, codes in found.items() if len(codes) == 1}


def region_codes(con: duckdb.DuckDBPyConnection, table: str, column: str, shown: set[str]) -> int:
    """Rewrite `column` of `table` (a lookup of distinct region values) from a state's or province's name to
    its code ("California" -> "CA") when the ICP writes regions as codes (most of `shown` is 2-3 capital
    letters, as a CRM's state field holds them) and the name is one ISO 3166-2 subdivision's. Returns how
    many distinct values changed."""
    codes = [v for v in shown if re.fullmatch(r"[A-Z]{2,3}", v)]
    if not shown or len(codes) * 2 <= len(shown):
        return 0
    index = _subdivision_codes()
    return norm.rewrite_distinct(con, table, column, lambda v: index.get(norm._country_key(str(v))))


# what separates a multi-valued cell's values: the import's list separators (norm.list_elements)
LIST_SEPARATORS = "[,;|]"


def _elements(raw: str) -> str:
    """SQL: the value `raw` as a list of {v, e}: the whole value first (e = 1), then, when it holds a list
    separator, each of its non-empty elements trimmed (e = 2, 3, ...). A NULL is [{v: NULL, e: 1}]."""
    split = f"list_filter(list_transform({norm.list_elements(raw)}, lambda x: trim(x)), lambda x: x <> '')"
    return (
        f"list_concat([{{'v': {raw}, 'e': 1}}], CASE WHEN regexp_matches({raw}, '{LIST_SEPARATORS}') "
        f"THEN list_transform({split}, lambda x, k: {{'v': x, 'e': k + 1}}) ELSE [] END)"
    )


def _has_lists(con: duckdb.DuckDBPyConnection, i: int) -> bool:
    """True when some distinct raw value of the field scanned as r<i> holds a list separator."""
    return bool(
        _one(
            con,
            f"SELECT coalesce(bool_or(regexp_matches(r{i}, '{LIST_SEPARATORS}')), FALSE) FROM _icp_distinct "
            f"WHERE g{i} = 0",
        )
    )


def _known_sql(value: str, shown: set[str]) -> str:
    """SQL: TRUE when the normalised category `value` is one the ICP spells (`shown`, its criteria and bins)."""
    return f"coalesce({value} IN ({', '.join(sql_literal(v) for v in sorted(shown))}), FALSE)" if shown else "FALSE"


def _any_of_parts(
    con: duckdb.DuckDBPyConnection,
    icp: IcpDocument,
    i: int,
    name: str,
    parts: list[tuple[str, str]],
    shown: set[str],
    notes: list[str] | None,
    header: str,
) -> str:
    """A multi-valued category column ("Financial Services, FinTech, Payments", a data vendor's "Industries"
    for a CRM's one industry per company): SQL giving (raw, p), the field's parts per distinct raw value
    from its elements (`_icp_lk_<i>` holds one row per element, e = 1 the whole value).

    A whole value the ICP knows stays whole. Otherwise a criterion matches when ANY element does
    (bool_or; is_missing and not_contains, and the missing check, when ALL do), and the scorecard's bin
    and spelling come from one element: the first the ICP knows, else the whole value (unseen, as written).
    Says in `notes` how many rows hold several values and how many of those have one the ICP knows."""
    fields = icp_fields(icp)
    criteria = [c for t in icp.tiers for c in t.criteria] + [c for d in icp.negative_icp for c in d.criteria]
    all_of = {_null_check(name, False)} | {
        f"coalesce({criterion_sql(c, fields)}, FALSE)"
        for c in criteria
        if c.field == name and c.op in ("is_missing", "not_contains")
    }
    known = _known_sql(_q(name), shown)
    columns = ", ".join(f"{sql} AS {a}" for a, sql in parts)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _icp_pe_{i} AS SELECT * EXCLUDE (whole_known) FROM (SELECT raw, e, known, "
        f"{columns}, bool_or(known AND e = 1) OVER (PARTITION BY raw) AS whole_known, {_q(name)} IS NULL AS blank "
        f"FROM (SELECT *, {known} AS known FROM _icp_lk_{i})) WHERE e = 1 OR (NOT whole_known AND NOT blank)"
    )
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE _icp_pe_{i})").fetchall())
    first = "CASE WHEN known THEN e ELSE e + 1000000 END"  # the first element the ICP knows, else the whole value
    aggregates = []
    for alias, sql in parts:
        if sql in all_of:
            aggregates.append(f"{alias} := bool_and({alias})")
        elif types.get(alias) == "BOOLEAN":
            aggregates.append(f"{alias} := bool_or({alias})")
        else:
            aggregates.append(f"{alias} := arg_min_null({alias}, {first})")
    if notes is not None:
        several, matched, example = con.execute(
            # the commonest value, the first by text among equally common ones (arg_max's pick varies with threads)
            f"SELECT coalesce(sum(d.n), 0), coalesce(sum(d.n) FILTER (WHERE m.element_known), 0), "
            f"arg_min(d.r{i}, {{'n': -d.n, 'r': d.r{i}}}) "
            f"FROM _icp_distinct d JOIN (SELECT raw, bool_or(known AND e > 1) AS element_known FROM _icp_pe_{i} "
            f"GROUP BY raw HAVING count(*) > 1) m ON d.r{i} = m.raw WHERE d.g{i} = 0"
        ).fetchone() or (0, 0, None)
        if several:
            notes.append(
                f"{name} (column {header!r}): {several:,} rows hold several values (commonest: {example!r}), read one "
                f"by one: a criterion on {name} matches when any of them does, and the scorecard scores the first "
                f"the ICP knows ({matched:,} of those rows have one)"
            )
    return f"SELECT raw, struct_pack({', '.join(aggregates)}) AS p FROM _icp_pe_{i} GROUP BY raw"


def _as_written(column: str, values: int | None, text_enums: bool) -> str:
    """An ENUM column of `values` values as the writer gets it: as it is to a Parquet file (`text_enums`; its
    dictionary is written once per row group, so only a small one), else as text (a CSV's cells are
    neutralised per type). Not an ENUM (`values` None): as it is."""
    if values is None or (text_enums and values <= ENUM_WRITE_LIMIT):
        return column
    return f"CAST({column} AS VARCHAR)"


class _Packed(NamedTuple):
    """A used field's look-up: its index, parts, number of signatures and the SQL of a row's signature."""

    i: int
    parts: list[tuple[str, str]]
    signatures: int
    position: str  # SQL over the file's row: the raw value's position in the field's ENUM (NULL for NULL)
    signature: str  # SQL over __icp_c<i> (that position): the row's signature
    values: int  # the non-NULL raw values, the ENUM `_icp_e_<i>`'s size (0: every value is NULL, no ENUM)


def _signature_sql(con: duckdb.DuckDBPyConnection, i: int, raw: str) -> tuple[str, str, int]:
    """(a row's position, its signature from the position column __icp_c<i>, the number of non-NULL raw
    values): `_icp_pk_<i>.sig` of the raw value `raw`, with no join and no per-row list. An ENUM of the raw
    values (`_icp_e_<i>`) is ordered by signature, so a value's position (a hash look-up) falls in its
    signature's range, found by a balanced CASE over the ranges' starts."""
    null_sig = _one(con, f"SELECT sig FROM _icp_pk_{i} WHERE raw IS NULL")
    values = _one(con, f"SELECT count(raw) FROM _icp_pk_{i}")
    if not values:
        return "NULL::INTEGER", str(null_sig), 0  # every value is NULL
    con.execute(f"CREATE TYPE _icp_e_{i} AS ENUM (SELECT raw FROM _icp_pk_{i} WHERE raw IS NOT NULL ORDER BY sig, raw)")
    starts = con.execute(
        f"SELECT min(enum_code(CAST(raw AS _icp_e_{i}))) AS start, sig FROM _icp_pk_{i} "
        f"WHERE raw IS NOT NULL GROUP BY sig ORDER BY start"
    ).fetchall()

    def tree(lo: int, hi: int) -> str:  # the signature of a position in the ranges starts[lo:hi]
        if hi - lo == 1:
            return str(starts[lo][1])
        mid = (lo + hi) // 2
        return f"CASE WHEN __icp_c{i} < {starts[mid][0]} THEN {tree(lo, mid)} ELSE {tree(mid, hi)} END"

    return (
        f"enum_code(CAST({raw} AS _icp_e_{i}))",
        f"CASE WHEN __icp_c{i} IS NULL THEN {null_sig} ELSE {tree(0, len(starts))} END",
        values,
    )


def _per_row_query(
    con: duckdb.DuckDBPyConnection,
    plan: ScorePlan,
    packed: list[_Packed],
    per_row: list[tuple[str, str]],
    absent: list[str],
    source_sql: str,
    inner: list[str],
    keep: str,
) -> str:
    """The score per row over each field's parts, read per row by signature from the field's list of
    distinct parts (TEMP table `_icp_sl_<i>`, one entry per signature; see `scoring_query`)."""
    unpack, looked_up = [], []
    for field in packed:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _icp_sl_{field.i} AS SELECT list(p ORDER BY sig) AS v "
            f"FROM (SELECT DISTINCT sig, p FROM _icp_pk_{field.i})"
        )
        inner.append(f"{field.position} AS __icp_c{field.i}")
        looked_up.append(f"(SELECT v FROM _icp_sl_{field.i})[{field.signature} + 1] AS __icp_f{field.i}")
        unpack += [f"__icp_f{field.i}.{alias} AS {alias}" for alias, _ in field.parts]
    relation = f"(SELECT {', '.join(inner + absent)} FROM {source_sql} s)"
    if looked_up:
        relation = f"(SELECT *, {', '.join(looked_up)} FROM {relation})"
    if unpack:
        relation = f"(SELECT *, {', '.join(unpack)} FROM {relation})"
    return _select([per_row, *plan.layers], relation, keep)


def _combined_query(
    con: duckdb.DuckDBPyConnection,
    plan: ScorePlan,
    packed: list[_Packed],
    per_row: list[tuple[str, str]],
    absent: list[str],
    source_sql: str,
    inner: list[str],
    keep: str,
    text_enums: bool,
) -> str:
    """The score of every combination of the fields' signatures, computed once (TEMP table `_icp_cl`: one
    list, indexed by the combination's number); per row, the signatures give the number and the score is
    read at it. A record's score depends only on its fields' parts, so this equals `_per_row_query`."""
    strides, stride = [], 1
    for field in packed:
        strides.append(stride)
        stride *= field.signatures
    number = " + ".join(f"g{field.i}.sig * {s}" for field, s in zip(packed, strides))
    columns = [f"g{field.i}.p.{alias} AS {alias}" for field in packed for alias, _ in field.parts]
    signatures = ", ".join(f"(SELECT DISTINCT sig, p FROM _icp_pk_{field.i}) g{field.i}" for field in packed)
    relation = f"(SELECT {number} AS __icp_n, {', '.join(columns + absent)} FROM {signatures})"
    scored = _select([per_row, *plan.layers], relation, "__icp_n")
    con.execute(f"CREATE OR REPLACE TEMP TABLE _icp_cb AS {scored}")
    # DuckDB copies a constant list once per chunk of rows: each text column's values are held as an ENUM
    # (2-4 bytes a value) instead of strings, and turned back into text per row
    types = {r[0]: r[1] for r in con.execute("DESCRIBE _icp_cb").fetchall()}
    texts = [name for name in SCORE_COLUMNS if types[name] == "VARCHAR"]
    sizes = {}
    for k, name in enumerate(texts):
        con.execute(
            f"CREATE TYPE _icp_t_{k} AS ENUM (SELECT DISTINCT {_q(name)} FROM _icp_cb WHERE {_q(name)} IS NOT NULL)"
        )
        sizes[name] = _one(con, f"SELECT count(DISTINCT {_q(name)}) FROM _icp_cb")
    values = ", ".join(
        f"{_q(name)} := CAST({_q(name)} AS _icp_t_{texts.index(name)})"
        if name in texts
        else f"{_q(name)} := {_q(name)}"
        for name in SCORE_COLUMNS
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _icp_cl AS SELECT list(struct_pack({values}) ORDER BY __icp_n) AS v FROM _icp_cb"
    )
    at = " + ".join(f"({field.signature}) * {s}" for field, s in zip(packed, strides))
    positions = ", ".join(f"{field.position} AS __icp_c{field.i}" for field in packed)
    relation = (
        f"(SELECT *, (SELECT v FROM _icp_cl)[{at} + 1] AS __icp_s FROM "
        f"(SELECT {', '.join(inner)}, {positions} FROM {source_sql} s))"
    )
    # a Parquet writer takes the text columns as ENUMs: it writes their dictionary as it is, where text would
    # be hashed again per row (2M rows, 1 thread: the 12 columns in 0.15 s CPU against 0.78 s)
    columns = [_as_written(f"__icp_s.{_q(name)}", sizes.get(name), text_enums) for name in SCORE_COLUMNS]
    return f"SELECT {keep}, {', '.join(f'{c} AS {_q(n)}' for c, n in zip(columns, SCORE_COLUMNS))} FROM {relation}"


def score_file(
    icp: IcpDocument,
    input_path: str | Path,
    output_path: str | Path,
    progress: Callable[..., None] | None = None,
    *,
    stored_values: dict[str, dict[str, str]] | None = None,
    mapping: Mapping | None = None,
) -> ScoreResult:
    """Score a prospect file (CSV/Parquet/JSON lines/Excel) into a CSV or Parquet file, keeping every row and column
    in the input's order, with SCORE_COLUMNS appended (see `score_plan`).

    Two passes over the file: the distinct values of the ICP's fields (and the row count), then the scored
    file itself (`scoring_query`), each reported to `progress` (message, rows done, rows in all) as it runs.
    Memory is bounded by `connect_for_scoring`'s limit; beyond it DuckDB spills to a temporary folder beside
    the output (removed afterwards).

    A workbook, a text file in an encoding DuckDB lacks (cp1252, UTF-16) or with mixed line endings is
    first copied as UTF-8 CSV into that temporary folder, as import does.

    Labels are translated as import translates them (`value_labels`): `stored_values` are the workspace's
    `[values.FIELD]` tables (field -> {raw label -> stored label}), `mapping` a mapping file's (its lines win);
    what they did is said in the notes.

    Errors (UserError): an output that is not .csv/.parquet, a missing output folder, an output that
    would overwrite the input, an ICP with nothing to score with, a file with none of the ICP's fields,
    a file with undecodable bytes, a file DuckDB cannot read, a mapping file's `[values.FIELD]` on a field the ICP
    does not read as a category or list.
    """
    from icp_agent.progress import watch

    source = inspect_file(input_path, digest=False)  # a score needs no import id
    output = Path(output_path)
    if output.suffix.lower() not in OUTPUT_FORMATS:
        raise UserError(
            f"cannot write {output.suffix or 'a file without extension'}",
            file=str(output),
            hint="name the output .csv or .parquet",
        )
    if not output.parent.exists():
        raise UserError("the output folder does not exist", file=str(output))
    if output.resolve() == source.path.resolve():
        raise UserError("the output would overwrite the input", file=str(output), hint="pick another --out")
    if not icp.tiers and not icp.negative_icp and scorecard_dict(icp).get("status") != "ok":
        raise UserError(
            f"this ICP has no tiers, disqualifiers or scorecard to score with (status {icp.status})",
            hint="rebuild it on data with a significant ICP",
        )
    labels = value_labels(icp, stored_values, mapping)
    parquet = output.suffix.lower() != ".csv"
    spill = output.parent / f".{output.name}.icp-spill"
    con = connect_for_scoring(spill)
    try:
        # a workbook, an encoding DuckDB lacks or mixed line endings: read a UTF-8 copy in the spill folder
        # (removed below), as import does; undecodable bytes are a UserError naming the file
        copy = None
        if source.needs_conversion:
            spill.mkdir(exist_ok=True)
            copy = convert_to_csv(source, spill)
        source_sql = read_source_sql(source, lenient=False, path=copy)
        try:
            described = [(r[0], r[1]) for r in con.execute(f"DESCRIBE SELECT * FROM {source_sql}").fetchall()]
            headers = [name for name, _ in described]
            fields = icp_fields(icp)
            located = {"country", "region", "city"} & set(fields) and any(LOCATION_HEADER.search(h) for h in headers)
            if not match_fields(icp, headers) and not located:  # a location column may give country and region
                raise UserError(
                    f"the file has none of the fields the ICP needs ({', '.join(sorted(fields))}); its "
                    f"columns are: {', '.join(headers)}",
                    file=source.name,
                    hint="rename the columns (e.g. 'Industry', 'Number of Employees', 'Technologies') or "
                    "export the prospects with those fields",
                )
            estimate = _estimated_rows(copy or source.path, con, source_sql) if progress else None
            notes: list[str] = []
            typed = None
            if source.format not in ("parquet", "json"):  # a text file: its reader can type a column

                def typed(types: dict[str, str]) -> str:
                    return read_source_sql(source, lenient=False, path=copy, types=types)

            if estimate is None:
                adapt(progress)(f"reading the ICP's fields in {source.name}")
                query, used, missing, replaced, rows = scoring_query(
                    con, icp, source_sql, described, parquet, typed, notes, labels
                )
            else:
                with watch(con, progress, f"reading the ICP's fields in {source.name} (rows estimated)", estimate):
                    query, used, missing, replaced, rows = scoring_query(
                        con, icp, source_sql, described, parquet, typed, notes, labels
                    )
            # no join in the plan: DuckDB's pipeline hands the writer the file's chunks in order on every thread
            con.execute("SET preserve_insertion_order = true")
            target = str(output).replace("'", "''")
            # the one writer: a CSV's formula-like cells are neutralised (render/tabular.py)
            with watch(con, progress, f"scoring {source.name} into {output.name}", rows):
                write_table(con, query, output, fmt="parquet" if parquet else "csv")
        except duckdb.Error as exc:
            raise UserError(f"cannot score the file: {str(exc).splitlines()[0]}", file=source.name) from exc
        reader = f"read_parquet('{target}')" if parquet else f"read_csv('{target}', header=true, all_varchar=true)"
        counts = con.execute(f"SELECT icp_tier, priority, disqualified, count(*) FROM {reader} GROUP BY ALL").fetchall()
        unseen = unseen_counts(con, reader, used)
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)
    by_tier: dict[str, int] = {}
    by_priority: dict[str, int] = {}
    for tier, priority, _disqualified, n in counts:
        key = "none" if tier is None else f"tier {int(tier)}"
        by_tier[key] = by_tier.get(key, 0) + n
        by_priority[str(priority)] = by_priority.get(str(priority), 0) + n
    rows_scored = sum(n for *_, n in counts)
    return ScoreResult(
        input=str(source.path),
        output=str(output),
        rows=rows_scored,
        by_tier=dict(sorted(by_tier.items())),
        by_priority=dict(sorted(by_priority.items())),
        disqualified=sum(n for *_, d, n in counts if str(d).lower() == "true"),
        missing_fields=missing,
        used_fields=used,
        replaced_columns=replaced,
        unseen_values={field: n for field, (n, _) in unseen.items()},
        warnings=untrusted_score_warning(icp)
        + [
            unseen_warning(icp, field, n, rows_scored, examples, used.get(field))
            for field, (n, examples) in unseen.items()
        ],
        notes=notes,
    )


def untrusted_score_warning(icp: IcpDocument) -> list[str]:
    """The warning every scored file carries when the ICP's scorecard does not separate good from not-good on its
    holdout (scorecard "separates" false): its fit_score and grade are not to rank by, and priority ignored them."""
    card = scorecard_dict(icp)
    if card.get("status") != "ok" or card.get("separates") is not False:
        return []
    statement = next((w for w in card.get("warnings") or [] if w.startswith("the fit score does not separate")), None)
    return [
        (statement or "the fit score does not separate good from not-good customers on held-out data")
        + "; the fit_score and grade columns are shown, not to be ranked by"
    ]


def unseen_counts(
    con: duckdb.DuckDBPyConnection, reader: str, used: dict[str, str]
) -> dict[str, tuple[int, list[tuple[str, int]]]]:
    """Per ICP field, the scored rows whose value the scorecard never saw (the output's unseen_fields, a ", "-joined
    list of field names) and the three commonest such values as the file wrote them (from the field's column,
    `used`: field -> header; none when the column is not in the output), most rows first. One pass in SQL."""
    rows = con.execute(
        f"SELECT f, count(*) FROM (SELECT unnest(string_split(unseen_fields, ', ')) AS f FROM {reader} "
        "WHERE unseen_fields IS NOT NULL) GROUP BY f ORDER BY 2 DESC, 1"
    ).fetchall()
    columns = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()}
    out: dict[str, tuple[int, list[tuple[str, int]]]] = {}
    for field, n in rows:
        header = used.get(field)
        examples: list[tuple[str, int]] = []
        if header is not None and header in columns:
            examples = [
                (str(value), count)
                for value, count in con.execute(
                    f"SELECT {_q(header)}::VARCHAR, count(*) FROM {reader} "
                    f"WHERE list_contains(string_split(unseen_fields, ', '), {sql_literal(field)}) "
                    "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 3"
                ).fetchall()
            ]
        out[field] = (int(n), examples)
    return out


def unseen_warning(
    icp: IcpDocument, field: str, n: int, total: int, examples: list[tuple[str, int]], header: str | None
) -> str:
    """The one warning for a field whose values the ICP never saw in `n` of `total` rows: how many, the commonest
    such values (`examples`, as written, with their rows), the values the ICP knows (its scorecard's bins), and
    what to do: when they are another tool's labels for the CRM's values, map them with a mapping file's
    `[values.FIELD]` table (score-prospects --mapping), as import does."""
    known: list[str] = []
    for feature in scorecard_dict(icp).get("features") or []:
        if feature.get("field") == field:
            for b in feature.get("bins") or []:
                known += [str(v) for v in (b.get("when") or {}).get("values") or [] if str(v) not in known]
    column = f" (column {header!r})" if header and header != field else ""
    common = ", ".join(f"{value!r} {count:,}" for value, count in examples)
    shown = ", ".join(known[:8]) + (f" and {len(known) - 8:,} more" if len(known) > 8 else "")
    criterion = " and cannot match a tier or disqualifier on it" if field in rule_fields(icp) else ""
    return (
        f"{field}{column}: {n:,} of {total:,} rows ({numbers.percent(n / max(total, 1))}) hold a value the ICP never "
        f"saw{f' (commonest: {common})' if common else ''}; they get no points for {field}{criterion}. "
        f"{f'The ICP knows the CRM values: {shown} (all in icp.json, scorecard.features). ' if known else ''}"
        f"When these are the same things under another tool's labels, map them to the CRM's with a [values.{field}] "
        f"table in a mapping file (score-prospects --mapping FILE; README, 'Mapping file')."
    )
