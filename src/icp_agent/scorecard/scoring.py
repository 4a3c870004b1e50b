"""Scoring records against an ICP, from icp.json alone: ONE path for every output that carries a fit score.

`score_layers` is the only place a fit score, tier, priority and disqualifier are defined; the
scored file (`icp-agent score`, the `score_prospects` tool), the CRM files, routing.csv and the
playbook's counts all evaluate it over the same normalised values:

- over an imported table (the CRM files): the importer already normalised each distinct value;
- over a raw file (`score_file`): one streaming DuckDB plan from the file to the output file.
  Headers are matched exactly as the importer matches them (`plan_columns`), each ICP field's
  distinct raw values are collected in ONE scan (GROUPING SETS) and normalised once with the
  importer's own normaliser (`_typed_exprs`), and the lookups are joined back while the file
  streams to the writer. Tier, disqualifier and scorecard points are SQL expressions; nothing
  runs in Python per row, and every input row and column is kept, in the input's order.

Per row, the score is scalar SQL in a few SELECT layers (`score_layers`): each scorecard feature's
bin code once, the points total once (fit score, priority and grade are constant-list look-ups on
it), and the three top reasons picked with least() over packed integer keys, not list sorting.

Order: DuckDB's parallel hash-join probe does not keep the input order (measured: 1M rows came
out shuffled), and sorting on a carried row number is a full sort (10M rows: 35 s, 4.9 GB). The
join plan therefore runs on one thread with the join-reordering optimizers off (the file stays the
probe side of every join, IN lists stay expressions), so DuckDB's pipeline hands the writer the
file's chunks in order (preserve_insertion_order); the distinct scan before it uses every thread.
tests/test_scoring_path.py checks the order on a multi-row-group Parquet file. The price is one
core for the main pass: 10M raw Apollo-style rows to Parquet take 24.6 s and 432 MB peak, against
4.5 s and 729 MB for DuckDB's own `COPY (SELECT * FROM read_csv(...))` of the same file on 2 cores
(`python tools/bench.py score`; the old per-row path took 200+ s and 7 GB). Memory is bounded by
ICP_AGENT_MEMORY_LIMIT (the same setting as the workspace) on score's own connection.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
from pydantic import BaseModel, Field

from icp_agent.errors import UserError
from icp_agent.ingest import normalize as norm
from icp_agent.ingest.fields import FIELD_BY_NAME
from icp_agent.ingest.importer import (
    Mapping,
    PlannedColumn,
    _typed_exprs,
    _unpacked,
    plan_columns,
)
from icp_agent.ingest.reader import inspect_file, read_source_sql
from icp_agent.models import Criterion, IcpDocument
from icp_agent.render.tabular import write_table
from icp_agent.sql import quote_identifier as _q
from icp_agent.sql import sql_literal
from icp_agent.tiers.criteria import (
    NotMeasurable,
    columns_needed,
    criteria_sql,
    priority_reason_sql,
    priority_sql,
)
from icp_agent.tiers.criteria import implied_kind as criterion_kind

OUTPUT_FORMATS = {".csv": "(FORMAT csv, HEADER)", ".parquet": "(FORMAT parquet)", ".pq": "(FORMAT parquet)"}
# the score columns, one set of names for scored files and CRM files (Salesforce: the same names as __c fields)
SCORE_COLUMNS = ("icp_tier", "icp_segment", "fit_points", "fit_score", "priority", "priority_reason", "grade",
                 "fit_reasons", "unseen_fields", "disqualified", "disqualified_by", "missing_fields")
ORDER_BREAKING_OPTIMIZERS = "join_order,build_side_probe_side,in_clause"


class ScoreResult(BaseModel):
    input: str
    output: str
    rows: int
    by_tier: dict[str, int] = Field(description="rows per tier ('none' = outside the ICP, disqualified included)")
    by_priority: dict[str, int] = Field(default_factory=dict)
    disqualified: int
    missing_fields: list[str] = Field(default_factory=list, description="ICP fields the file does not have")
    used_fields: dict[str, str] = Field(default_factory=dict, description="ICP field -> the file's header")
    replaced_columns: list[str] = Field(default_factory=list,
                                        description="input columns named like a score column (an earlier score): "
                                                    "replaced by the new score")


def icp_fields(icp: IcpDocument) -> dict[str, str]:
    """Every field the ICP reads, with the normaliser type it needs."""
    fields: dict[str, str] = {}
    criteria = [c for t in icp.tiers for c in t.criteria] + [c for d in icp.negative_icp for c in d.criteria]
    for c in criteria:
        fields.setdefault(c.field, _field_type(c))
    for name, kind in (icp.scorecard.field_kinds if icp.scorecard else {}).items():
        fields.setdefault(name, kind)
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
    criteria = [c.model_dump() for t in icp.tiers for c in t.criteria] + \
        [c.model_dump() for d in icp.negative_icp for c in d.criteria]
    stack: list = [icp.scorecard.model_dump() if icp.scorecard else {}]
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
        shown.setdefault(c.get("field"), set()).update(str(v) for v in values)
    return shown


def _normalised(column: PlannedColumn, shown: set[str]) -> list[tuple[str, str]]:
    """The importer's normaliser for one raw value `raw`; categories and list elements take the ICP's
    spelling of their key (norm.category's `shown`)."""
    if column.type == "category":
        return [(column.name, norm.category("raw", shown))]
    if column.type == "list":
        return [(column.name, norm.text_list("raw", shown))]
    return _typed_exprs(column, "raw")


def _planned(name: str, kind: str, header: str) -> PlannedColumn:
    """The importer's plan for one ICP field, so `_typed_exprs` normalises it exactly as an import would."""
    return PlannedColumn(header=header, name=name, canonical=name in FIELD_BY_NAME, type=kind, role="fit")


def _absent(kind: str, name: str) -> list[str]:
    if kind == "band":
        return [f"NULL::DOUBLE AS {_q(name)}", f"NULL::DOUBLE AS {_q(name + '_min')}",
                f"NULL::DOUBLE AS {_q(name + '_max')}"]
    sql_type = {"list": "VARCHAR[]", "number": "DOUBLE", "bool": "BOOLEAN"}.get(kind, "VARCHAR")
    return [f"NULL::{sql_type} AS {_q(name)}"]


def scored_relation(icp: IcpDocument, relation: str, columns: list[str] | set[str]) -> str:
    """`relation` (a table or parenthesised query with the columns `columns`, normalised as an import stores
    them) with SCORE_COLUMNS appended: the ONE scoring of a stored table (CRM files, scoring matrix).

    An ICP field the relation lacks is added as a typed NULL, so its criteria cannot match and the
    scorecard scores it neutral, instead of SQL that fails on a missing column.
    """
    columns = set(columns)
    present = {c for c in columns if not c.startswith("_")} | {c[:-4] for c in columns if c.endswith("_min")}
    absent = [sql for name, kind in icp_fields(icp).items() if name not in present
              for sql in _absent(kind, name) if sql.rsplit(" AS ", 1)[1].strip('"') not in columns]
    base = f"(SELECT *, {', '.join(absent)} FROM {relation})" if absent else relation
    return f"({scored_select(icp, base, present)})"


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


def score_layers(icp: IcpDocument, present: set[str]) -> list[list[tuple[str, str]]]:
    """The score as SELECT layers over a relation holding the ICP's fields, normalised (a band field as
    <name>, <name>_min, <name>_max), each layer reading the columns of the one before: private __icp_*
    columns (the tier and segment the criteria give, the disqualifier, each scorecard feature's bin
    code, the points total, the reason keys, unseen and missing fields), then SCORE_COLUMNS, in that
    order. Each per-row expression is evaluated once: the points total feeds fit score, priority and
    grade as constant-list look-ups, and the top reasons are picked with scalar least() (`_reason_layers`).

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

    def compiled(criteria) -> str | None:
        try:
            return criteria_sql(criteria, fields, readable)
        except NotMeasurable:
            return None

    tier_cases, segment_cases = [], []
    for tier in sorted(icp.tiers, key=lambda t: (t.tier, t.segment)):
        predicate = compiled(tier.criteria)
        if predicate is None:
            continue
        tier_cases.append(f"WHEN {predicate} THEN {tier.tier}")
        segment_cases.append(f"WHEN {predicate} THEN {sql_literal(tier.segment)}")
    disqualifier_cases = [f"WHEN {sql} THEN {sql_literal(' AND '.join(c.label for c in d.criteria))}"
                          for d in icp.negative_icp if (sql := compiled(d.criteria))]
    needed = sorted({c.field for t in icp.tiers for c in t.criteria})
    missing_sql = (f"list_filter([{', '.join(_null_check(f, f in band_fields) for f in needed)}], "
                   f"lambda x: x IS NOT NULL)") if needed else "[]::VARCHAR[]"
    card = icp.scorecard.model_dump() if icp.scorecard else {}
    columns = present | {f"{f}{s}" for f in present & band_fields for s in ("_min", "_max")}
    scores = dict(_scorecard_columns(icp, columns))
    inner = [("__icp_tier", f"CASE {' '.join(tier_cases)} END" if tier_cases else "NULL::INTEGER"),
             ("__icp_segment", f"CASE {' '.join(segment_cases)} END" if segment_cases else "NULL::VARCHAR"),
             ("__icp_disqualifier", f"CASE {' '.join(disqualifier_cases)} END" if disqualifier_cases
              else "NULL::VARCHAR"),
             ("__icp_unseen", scores.get("unseen_fields", "NULL::VARCHAR")),
             ("__icp_missing", f"nullif(array_to_string({missing_sql}, ', '), '')")]
    if scores:
        codes, keys, picks, reasons = _reason_layers(card, columns)
        layers = [inner + codes, keys, *picks]
    else:
        layers = [inner + [("__icp_points", "NULL::INTEGER")]]
        reasons = "NULL::VARCHAR"
    disqualified = "(__icp_disqualifier IS NOT NULL)"
    tier = f"CASE WHEN {disqualified} THEN NULL ELSE __icp_tier END"
    if scores:
        from icp_agent.scorecard.fit import _fit_table, _level, _lookup

        low, fits = _fit_table(card)  # the scorecard's own tables: the same values its SQL gives
        fit_score = _lookup(fits, low, "__icp_points")
        band = _lookup([_level(card, "bands", fit) for fit in fits], low, "__icp_points")
        grade = _lookup([_level(card, "grades", fit) for fit in fits], low, "__icp_points")
    else:
        fit_score, band, grade = "NULL::INTEGER", None, "NULL::VARCHAR"
    outer = [("icp_tier", tier), ("icp_segment", f"CASE WHEN {disqualified} THEN NULL ELSE __icp_segment END"),
             ("fit_points", "__icp_points"), ("fit_score", fit_score),
             ("priority", priority_sql(tier, disqualified, band)),
             ("priority_reason", priority_reason_sql(tier, disqualified, "__icp_disqualifier", band)), ("grade", grade),
             ("fit_reasons", reasons), ("unseen_fields", "__icp_unseen"),
             ("disqualified", disqualified), ("disqualified_by", "__icp_disqualifier"),
             ("missing_fields", "__icp_missing")]
    assert tuple(name for name, _ in outer) == SCORE_COLUMNS
    return [*layers, outer]


def _reason_layers(card: dict, columns: set[str]) -> tuple[list, list, list, str]:
    """The scorecard's points total and top reasons as layers of scalar SQL: (bin codes, points total and
    one key per candidate reason, the picks of the best three, the fit_reasons expression).

    Same candidates, order and text as the scorecard's own `_reasons_sql` (a test compares them): each
    candidate is packed into one integer, ((top - |points|) * positions + position) * codes + bin code,
    so the smallest key is the biggest contribution (ties: the earlier feature). Picking the three
    smallest keys with least() over columns avoids per-row list sorting (1M rows on one thread: every
    score column in 4.0 s, against 6.7 s for the scorecard's list-based SQL).
    """
    from icp_agent.scorecard.fit import (
        REASONS,
        _code_sql,
        _missing_sql,
        _points_sql,
        _spelled,
        _value_sql,
    )

    features = card["features"]
    all_codes = [_code_sql(f, columns) for f in features]
    codes = [(f"__icp_c{j}", code) for j, code in enumerate(all_codes) if code is not None]
    shown = [f for f, code in zip(features, all_codes) if code is not None]
    code_of = {id(f): f"__icp_c{j}" for j, f in enumerate(features) if all_codes[j] is not None}
    total = " + ".join([str(card["intercept_points"])] + [_points_sql(f, code_of[id(f)]) for f in shown])
    points = [[0 if f["kind"] == "list" and b.get("missing") else b["points"] for b in f["bins"]] for f in shown]
    words = [[None if f["kind"] == "category" and not b.get("missing") else b["label"] for b in f["bins"]]
             for f in shown]
    missing_lists: dict[str, int] = {}
    for f in shown:
        if f["kind"] == "list":
            missing_lists[f["field"]] = missing_lists.get(f["field"], 0) + f["bins"][-1]["points"]
    extra = [(field, points_sum) for field, points_sum in missing_lists.items() if points_sum != 0]
    points += [[points_sum] for _, points_sum in extra]
    words += [[f"{field} missing"] for field, _ in extra]
    keys = [("__icp_points", f"CAST({total} AS INTEGER)")]
    if not points:
        return codes, keys, [], "NULL::VARCHAR"
    top = max(abs(v) for row in points for v in row) + 1
    positions, codes_base = len(points) + 1, max(len(row) for row in points) + 1

    def key(size: str, position: int, code: str) -> str:
        return f"(({top}::BIGINT - abs({size})) * {positions} + {position}) * {codes_base} + {code}"

    for j, f in enumerate(shown, 1):
        code = code_of[id(f)]
        size = f"coalesce({_lit_list(points[j - 1])}[{code}], 0)"
        keys.append((f"__icp_k{j}", f"CASE WHEN {size} <> 0 THEN {key(size, j, code)} END"))
    for i, (field, points_sum) in enumerate(extra, 1):
        keys.append((f"__icp_k{len(shown) + i}",
                     f"CASE WHEN {_missing_sql(field, 'list')} THEN {key(str(points_sum), len(shown) + i, '1')} END"))
    names = [name for name, _ in keys[1:]]
    picks = []
    for r in range(1, REASONS + 1):
        after = [f"CASE WHEN {n} > __icp_r{r - 1} THEN {n} END" for n in names] if r > 1 else names
        picks.append([(f"__icp_r{r}", f"least({', '.join(after)})" if len(after) > 1 else after[0])])
    dynamic = [(j, f) for j, f in enumerate(shown, 1) if f["kind"] == "category"]

    # one flat constant list per part, indexed by position * codes + code + 1: the label (NULL where the
    # record's own category value is shown) and the points suffix " (+27)", written once per bin
    labels, suffixes = [None] * (positions * codes_base), [None] * (positions * codes_base)
    for position, (row_points, row_words) in enumerate(zip(points, words), 1):
        for code, (value, word) in enumerate(zip(row_points, row_words), 1):
            labels[position * codes_base + code] = word
            suffixes[position * codes_base + code] = f" ({'+' if value > 0 else ''}{value})"

    def fragment(v: str) -> str:  # "industry Computer Software (+27)" for the packed key in column v
        position, index = f"(({v} // {codes_base}) % {positions})", f"(({v} // {codes_base}) % {positions} * " \
                                                                    f"{codes_base} + {v} % {codes_base} + 1)"
        text = f"{_lit_list(labels)}[{index}]"
        if dynamic:
            text = (f"coalesce({text}, CASE {position} " + " ".join(
                f"WHEN {j} THEN {sql_literal(f['field'] + ' ')} || {_spelled(f, _value_sql(f['field'], 'category'))}"
                for j, f in dynamic) + " END)")
        return f"{text} || {_lit_list(suffixes)}[{index}]"

    parts = ", ".join(fragment(f"__icp_r{r}") for r in range(1, REASONS + 1))
    return codes, keys, picks, f"nullif(concat_ws('; ', {parts}), '')"


def _lit_list(values: list) -> str:
    return "[" + ", ".join(sql_literal(v) if isinstance(v, str) else ("NULL" if v is None else str(v))
                           for v in values) + "]"


def scored_select(icp: IcpDocument, relation: str, present: set[str], keep: str = "*") -> str:
    """SELECT `keep` (the relation's columns to pass through, as SQL) and SCORE_COLUMNS from `relation`."""
    layers = score_layers(icp, present)
    private = [name for layer in layers[:-1] for name, _ in layer]
    if keep == "*":
        keep = f"* EXCLUDE ({', '.join(private)})"
    query = relation
    for layer in layers[:-1]:
        query = f"(SELECT *, {', '.join(f'{sql} AS {name}' for name, sql in layer)} FROM {query})"
    return f"SELECT {keep}, {', '.join(f'{sql} AS {_q(name)}' for name, sql in layers[-1])} FROM {query}"


def _scorecard_columns(icp: IcpDocument, present: set[str]) -> list[tuple[str, str]]:
    """The scorecard's unseen-value flag (category values never seen in training), or nothing when the ICP
    has no usable scorecard. Points, reasons, fit score, band and grade come from `score_layers`; the
    disqualifier and missing fields too, since they depend on the tiers."""
    card = icp.scorecard.model_dump() if icp.scorecard else {}
    if card.get("status") != "ok":
        return []
    from icp_agent.scorecard.fit import scorecard_select_sql

    unseen = dict(scorecard_select_sql(card, None, present_columns=present))["icp_unseen"]
    return [("unseen_fields", f"array_to_string({unseen}, ', ')")]


def _null_check(field: str, band: bool) -> str:
    column = _q(f"{field}_min") if band else _q(field)
    return f"CASE WHEN {column} IS NULL THEN {sql_literal(field)} END"


def connect_for_scoring() -> duckdb.DuckDBPyConnection:
    """An in-memory connection with ICP_AGENT_MEMORY_LIMIT applied (DuckDB spills beyond it)."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    limit = os.environ.get("ICP_AGENT_MEMORY_LIMIT")
    if limit:
        try:
            con.execute("SET memory_limit = ?", [limit])
        except duckdb.Error as exc:
            con.close()
            raise UserError(f"memory limit {limit!r} is not a size DuckDB understands",
                            hint="use e.g. 2GB or 512MB (ICP_AGENT_MEMORY_LIMIT)") from exc
    return con


def _text(column: str, dtype: str) -> str:
    """A raw column as text, as the importer stages it (Parquet/JSON columns are typed)."""
    if dtype.endswith("[]"):
        return f"array_to_string({column}, ';')"
    return column if dtype == "VARCHAR" else f"CAST({column} AS VARCHAR)"


def scoring_query(con: duckdb.DuckDBPyConnection, icp: IcpDocument, source_sql: str,
                  described: list[tuple[str, str]]) -> tuple[str, dict[str, str], list[str], list[str]]:
    """Build the lookups (TEMP tables `_icp_lk_<i>`) and return (query, used fields, missing fields,
    replaced columns): the query streams `source_sql` into every kept input column plus SCORE_COLUMNS.

    Each used field's distinct raw values come from ONE scan of the file (GROUPING SETS) and are
    normalised once by the importer's normaliser; the query joins them back on the raw text.
    """
    headers = [name for name, _ in described]
    types = dict(described)
    fields = icp_fields(icp)
    used = match_fields(icp, headers)
    missing = sorted(set(fields) - set(used))
    order = [f for f in fields if f in used]
    if order:
        raws = ", ".join(f"{_text(_q(used[f]), types[used[f]])} AS r{i}" for i, f in enumerate(order))
        flags = ", ".join(f"grouping(r{i}) AS g{i}" for i in range(len(order)))
        sets = ", ".join(f"(r{i})" for i in range(len(order)))
        con.execute(f"CREATE OR REPLACE TEMP TABLE _icp_distinct AS SELECT {', '.join(f'r{i}' for i in range(len(order)))}, "
                    f"{flags} FROM (SELECT {raws} FROM {source_sql}) GROUP BY GROUPING SETS ({sets})")
    inner = [f"s.{_q(h)} AS {_q(f'__raw_{i}')}" for i, h in enumerate(headers)]
    joins = []
    shown = _shown_values(icp)
    for name, kind in fields.items():
        if name not in used:
            inner += _absent(kind, name)
            continue
        i = order.index(name)
        column = _planned(name, kind, used[name])
        typed = ", ".join(f"{expr} AS {_q(alias)}" for alias, expr in _normalised(column, shown.get(name, set())))
        con.execute(f"CREATE OR REPLACE TEMP TABLE _icp_lk_{i} AS SELECT raw, {', '.join(_unpacked(column))} "
                    f"FROM (SELECT r{i} AS raw, {typed} FROM _icp_distinct WHERE g{i} = 0)")
        if name == "country" and kind == "category":  # the importer's country names ("UK" = "United Kingdom")
            norm.canonical_countries(con, f"_icp_lk_{i}", name)
        joins.append(f"LEFT JOIN _icp_lk_{i} ON _icp_lk_{i}.raw IS NOT DISTINCT FROM "
                     f"{_text('s.' + _q(used[name]), types[used[name]])}")
        names = [name, f"{name}_min", f"{name}_max"] if kind == "band" else [name]
        inner += [f"_icp_lk_{i}.{_q(n)}" for n in names]
    taken = {c.lower() for c in SCORE_COLUMNS}
    replaced = [h for h in headers if h.lower() in taken]
    keep = ", ".join(f"{_q(f'__raw_{i}')} AS {_q(h)}" for i, h in enumerate(headers) if h not in replaced)
    query = scored_select(icp, f"(SELECT {', '.join(inner)} FROM {source_sql} s {' '.join(joins)})", set(used), keep)
    return query, used, missing, replaced


def score_file(icp: IcpDocument, input_path: str | Path, output_path: str | Path) -> ScoreResult:
    """Score a prospect file (CSV/Parquet/JSON lines) into a CSV or Parquet file, keeping every row and column
    in the input's order, with SCORE_COLUMNS appended (see `score_layers`).

    Errors (UserError): an output that is not .csv/.parquet, a missing output folder, an output that
    would overwrite the input, an ICP with nothing to score with, a file with none of the ICP's fields,
    a file DuckDB cannot read.
    """
    source = inspect_file(input_path, digest=False)  # a score needs no import id
    output = Path(output_path)
    if output.suffix.lower() not in OUTPUT_FORMATS:
        raise UserError(f"cannot write {output.suffix or 'a file without extension'}", file=str(output),
                        hint="name the output .csv or .parquet")
    if not output.parent.exists():
        raise UserError("the output folder does not exist", file=str(output))
    if output.resolve() == source.path.resolve():
        raise UserError("the output would overwrite the input", file=str(output), hint="pick another --out")
    if not icp.tiers and not icp.negative_icp and (icp.scorecard.status if icp.scorecard else None) != "ok":
        raise UserError("this ICP has no tiers, disqualifiers or scorecard to score with "
                        f"(status {icp.status})", hint="rebuild it on data with a significant ICP")
    con = connect_for_scoring()
    try:
        source_sql = read_source_sql(source, lenient=False)
        try:
            described = [(r[0], r[1]) for r in con.execute(f"DESCRIBE SELECT * FROM {source_sql}").fetchall()]
            headers = [name for name, _ in described]
            fields = icp_fields(icp)
            if not match_fields(icp, headers):
                raise UserError(f"the file has none of the fields the ICP needs ({', '.join(sorted(fields))}); its "
                                f"columns are: {', '.join(headers)}", file=source.name,
                                hint="rename the columns (e.g. 'Industry', 'Number of Employees', 'Technologies') or "
                                     "export the prospects with those fields")
            query, used, missing, replaced = scoring_query(con, icp, source_sql, described)
            con.execute("SET preserve_insertion_order = true")
            # the file stays the probe side of every join (the optimizer would make a small file the build
            # side), IN lists stay expressions, and one thread keeps the order: see the module's docstring
            con.execute(f"SET disabled_optimizers = '{ORDER_BREAKING_OPTIMIZERS}'")
            con.execute("SET threads = 1")
            target = str(output).replace("'", "''")
            # the one writer: a CSV's formula-like cells are neutralised (render/tabular.py)
            write_table(con, query, output, fmt="csv" if output.suffix.lower() == ".csv" else "parquet")
        except duckdb.Error as exc:
            raise UserError(f"cannot score the file: {str(exc).splitlines()[0]}", file=source.name) from exc
        con.execute("RESET threads")
        con.execute("RESET disabled_optimizers")
        reader = (f"read_parquet('{target}')" if output.suffix.lower() != ".csv" else
                  f"read_csv('{target}', header=true, all_varchar=true)")
        counts = con.execute(f"SELECT icp_tier, priority, disqualified, count(*) FROM {reader} GROUP BY ALL").fetchall()
    finally:
        con.close()
    by_tier: dict[str, int] = {}
    by_priority: dict[str, int] = {}
    for tier, priority, disqualified, n in counts:
        key = "none" if tier is None else f"tier {int(tier)}"
        by_tier[key] = by_tier.get(key, 0) + n
        by_priority[str(priority)] = by_priority.get(str(priority), 0) + n
    return ScoreResult(input=str(source.path), output=str(output), rows=sum(n for *_, n in counts),
                       by_tier=dict(sorted(by_tier.items())), by_priority=dict(sorted(by_priority.items())),
                       disqualified=sum(n for *_, d, n in counts if str(d).lower() == "true"),
                       missing_fields=missing, used_fields=used, replaced_columns=replaced)
