"""Scoring a prospect list against an ICP, from icp.json alone, streaming through DuckDB.

The file is read by DuckDB's reader, the fields the ICP needs are normalised with the
same SQL as an import, and tier, disqualifier and fit score are SQL expressions: one
COPY statement from the input file to the output file, so ten million rows never
become ten million Python objects. Every input row and column is kept.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
from pydantic import BaseModel, Field

from .analysis.criteria import NotMeasurable, columns_needed, criteria_sql, priority_reason_sql, priority_sql
from .analysis.criteria import implied_kind as criterion_kind
from .errors import UserError
from .ingest import normalize as norm
from .ingest.fields import FIELD_BY_NAME, canonical_field
from .ingest.reader import inspect_file, read_source_sql
from .models import Criterion, IcpDocument
from .render.tabular import write_table
from .sql import quote_identifier as _q
from .sql import sql_literal

OUTPUT_FORMATS = {".csv": "(FORMAT csv, HEADER)", ".parquet": "(FORMAT parquet)", ".pq": "(FORMAT parquet)"}


class ScoreResult(BaseModel):
    input: str
    output: str
    rows: int
    by_tier: dict[str, int] = Field(description="rows per tier ('none' = outside the ICP)")
    by_priority: dict[str, int] = Field(default_factory=dict)
    disqualified: int
    missing_fields: list[str] = Field(default_factory=list, description="ICP fields the file does not have")
    used_fields: dict[str, str] = Field(default_factory=dict, description="ICP field -> the file's header")



def icp_fields(icp: IcpDocument) -> dict[str, str]:
    """Every field the ICP reads, with the normaliser type it needs."""
    fields: dict[str, str] = {}
    criteria = [c for t in icp.tiers for c in t.criteria] + [c for d in icp.negative_icp for c in d.criteria]
    for c in criteria:
        fields.setdefault(c.field, _field_type(c))
    for name, kind in ((icp.scorecard or {}).get("field_kinds") or {}).items():
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
    stack: list = [icp.scorecard or {}]
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


def _normalised(kind: str, raw: str, name: str, shown: set[str] = frozenset()) -> list[str]:
    if kind == "band":
        packed = norm.band(raw)
        return [f"({packed}).exact AS {_q(name)}", f"({packed}).min AS {_q(name + '_min')}",
                f"({packed}).max AS {_q(name + '_max')}"]
    if kind == "list":
        return [f"{norm.text_list(raw, shown)} AS {_q(name)}"]
    if kind == "number":
        return [f"{norm.number(raw)} AS {_q(name)}"]
    if kind == "bool":
        return [f"{norm.boolean(raw)} AS {_q(name)}"]
    return [f"{norm.category(raw, shown)} AS {_q(name)}"]


def _absent(kind: str, name: str) -> list[str]:
    if kind == "band":
        return [f"NULL::DOUBLE AS {_q(name)}", f"NULL::DOUBLE AS {_q(name + '_min')}",
                f"NULL::DOUBLE AS {_q(name + '_max')}"]
    sql_type = {"list": "VARCHAR[]", "number": "DOUBLE", "bool": "BOOLEAN"}.get(kind, "VARCHAR")
    return [f"NULL::{sql_type} AS {_q(name)}"]


def _match_headers(headers: list[str], fields: dict[str, str], originals: dict[str, str]) -> dict[str, str]:
    """ICP field -> the file's header: by synonym, by the header the ICP was built from, or by name."""
    found: dict[str, str] = {}
    for header in headers:
        field = canonical_field(header)
        if field in fields and field not in found:
            found[field] = header
    lowered = {h.strip().lower(): h for h in headers}
    for field in fields:
        if field in found:
            continue
        for candidate in (originals.get(field), field):
            if candidate and candidate.strip().lower() in lowered:
                found[field] = lowered[candidate.strip().lower()]
                break
    return found


def scoring_query(icp: IcpDocument, source_sql: str, headers: list[str], raw_types: dict[str, str]) -> tuple[str, dict[str, str], list[str]]:
    """SELECT over `source_sql` giving every original column plus the icp_* columns."""
    fields = icp_fields(icp)
    originals = {c.field: c.header for t in icp.tiers for c in t.criteria if c.header}
    originals |= {c.field: c.header for d in icp.negative_icp for c in d.criteria if c.header}
    used = _match_headers(headers, fields, originals)
    missing = sorted(set(fields) - set(used))
    # row_number() OVER () streams; ordering by it keeps the input's row order in the output
    inner = ["row_number() OVER () AS __icp_row"] + [f"{_q(h)} AS {_q(f'__raw_{i}')}" for i, h in enumerate(headers)]
    shown = _shown_values(icp)
    for name, kind in fields.items():
        if name in used:
            header = used[name]
            raw = _q(header)
            if raw_types.get(header, "VARCHAR") != "VARCHAR":
                raw = f"array_to_string({raw}, ';')" if raw_types[header].endswith("[]") else f"CAST({raw} AS VARCHAR)"
            inner += _normalised(kind, raw, name, shown.get(name, set()))
        else:
            inner += _absent(kind, name)
    outer = [f"{_q(f'__raw_{i}')} AS {_q(h)}" for i, h in enumerate(headers)]
    outer += [f"{expr} AS {_q(name)}" for name, expr in icp_columns(icp, set(used))]
    query = f"SELECT {', '.join(outer)} FROM (SELECT {', '.join(inner)} FROM {source_sql}) ORDER BY __icp_row"
    return query, used, missing


def icp_columns(icp: IcpDocument, present: set[str]) -> list[tuple[str, str]]:
    """(name, SQL) of the icp_* columns over a relation holding the ICP's fields, normalised.

    `present` names the fields the relation really has (the others are NULL there): the
    scorecard scores them neutral and icp_missing_fields lists them.
    """
    fields = icp_fields(icp)
    band_fields = {n for n, k in fields.items() if k == "band"}
    # the criteria compiler decides what a tier or disqualifier reads; one on a field the relation lacks
    # is not measurable there and matches no row (unknown is not a match)
    columns = {c for f in present for c in columns_needed(f, fields.get(f) or "category")}

    def compiled(criteria) -> str | None:
        try:
            return criteria_sql(criteria, fields, columns)
        except NotMeasurable:
            return None

    disqualifier_cases = [f"WHEN {sql} THEN {sql_literal(' AND '.join(c.label for c in d.criteria))}"
                          for d in icp.negative_icp if (sql := compiled(d.criteria))]
    disqualifier_sql = f"CASE {' '.join(disqualifier_cases)} END" if disqualifier_cases else "NULL::VARCHAR"
    tier_cases, segment_cases = [], []
    for tier in sorted(icp.tiers, key=lambda t: (t.tier, t.segment)):
        predicate = compiled(tier.criteria)
        if predicate is None:
            continue
        tier_cases.append(f"WHEN {predicate} THEN {tier.tier}")
        segment_cases.append(f"WHEN {predicate} THEN {sql_literal(tier.segment)}")
    # a disqualified account is in no tier (criteria.PRIORITY_RULE)
    tier_sql = (f"CASE WHEN {disqualifier_sql} IS NOT NULL THEN NULL {' '.join(tier_cases)} END"
                if tier_cases else "NULL::INTEGER")
    segment_sql = (f"CASE WHEN {disqualifier_sql} IS NOT NULL THEN NULL {' '.join(segment_cases)} END"
                   if segment_cases else "NULL::VARCHAR")
    needed = sorted({c.field for t in icp.tiers for c in t.criteria})
    missing_sql = (f"list_filter([{', '.join(_null_check(f, f in band_fields) if f in present else sql_literal(f) for f in needed)}], "
                   f"lambda x: x IS NOT NULL)") if needed else "[]::VARCHAR[]"
    columns = [("icp_tier", tier_sql), ("icp_segment", segment_sql)]
    scores = _scorecard_columns(icp, present)
    disqualified = f"{disqualifier_sql} IS NOT NULL"
    if scores:  # priority by the one rule: tier first, then the fit score's band; disqualified = low
        band = dict(scores).get("icp_priority")
        columns += [(name, priority_sql(tier_sql, disqualified, band) if name == "icp_priority" else expr)
                    for name, expr in scores]
        columns.append(("icp_priority_reason", priority_reason_sql(tier_sql, disqualified, disqualifier_sql, band)))
    else:  # no trustworthy scorecard: priority from the tier alone, and no score is printed
        columns += [("icp_fit_score", "NULL::INTEGER"),
                    ("icp_priority", priority_sql(tier_sql, disqualified)),
                    ("icp_reasons", "NULL::VARCHAR"),
                    ("icp_priority_reason", priority_reason_sql(tier_sql, disqualified, disqualifier_sql))]
    columns += [("icp_disqualified", disqualified), ("icp_disqualifier", disqualifier_sql),
                ("icp_missing_fields", f"nullif(array_to_string({missing_sql}, ', '), '')")]
    return columns


def _scorecard_columns(icp: IcpDocument, present: set[str]) -> list[str]:
    card = icp.scorecard or {}
    if card.get("status") != "ok":
        return []
    from .analysis.scorecard import scorecard_select_sql

    negative = [d.model_dump() for d in icp.negative_icp]
    own = {"icp_disqualified", "icp_disqualifier", "icp_missing_fields"}  # the tier-aware versions below win
    columns = [(name, expr) for name, expr in scorecard_select_sql(card, negative, present_columns=present)
               if name not in own]
    return [(name, f"array_to_string({expr}, ', ')" if name == "icp_unseen" else expr) for name, expr in columns]


def _null_check(field: str, band: bool) -> str:
    column = _q(f"{field}_min") if band else _q(field)
    return f"CASE WHEN {column} IS NULL THEN {sql_literal(field)} END"


def score_file(icp: IcpDocument, input_path: str | Path, output_path: str | Path) -> ScoreResult:
    """Score a prospect file (CSV/Parquet/JSON lines) into a CSV or Parquet file, keeping every row."""
    source = inspect_file(input_path)
    output = Path(output_path)
    if output.suffix.lower() not in OUTPUT_FORMATS:
        raise UserError(f"cannot write {output.suffix or 'a file without extension'}", file=str(output),
                        hint="name the output .csv or .parquet")
    if not output.parent.exists():
        raise UserError("the output folder does not exist", file=str(output))
    if output.resolve() == source.path.resolve():
        raise UserError("the output would overwrite the input", file=str(output), hint="pick another --out")
    if not icp.tiers and not icp.negative_icp and (icp.scorecard or {}).get("status") != "ok":
        raise UserError("this ICP has no tiers, disqualifiers or scorecard to score with "
                        f"(status {icp.status})", hint="rebuild it on data with a significant ICP")
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    try:
        con.execute("SET preserve_insertion_order = true")
        source_sql = read_source_sql(source, lenient=False)
        described = con.execute(f"DESCRIBE SELECT * FROM {source_sql}").fetchall()
        headers = [r[0] for r in described]
        types = {r[0]: r[1] for r in described}
        query, used, missing = scoring_query(icp, source_sql, headers, types)
        fields = icp_fields(icp)
        if not used:
            raise UserError(f"the file has none of the fields the ICP needs ({', '.join(sorted(fields))}); its columns "
                            f"are: {', '.join(headers)}", file=source.name,
                            hint="rename the columns (e.g. 'Industry', 'Number of Employees', 'Technologies') or "
                                 "export the prospects with those fields")
        target = str(output).replace("'", "''")
        try:
            write_table(con, query, output, fmt="csv" if output.suffix.lower() == ".csv" else "parquet")
        except duckdb.Error as exc:
            raise UserError(f"cannot score the file: {str(exc).splitlines()[0]}", file=source.name) from exc
        reader = (f"read_parquet('{target}')" if output.suffix.lower() != ".csv" else
                  f"read_csv('{target}', header=true, types={{'icp_tier': 'INTEGER', 'icp_disqualified': 'BOOLEAN'}})")
        rows, disqualified = con.execute(f"SELECT count(*), count_if(icp_disqualified) FROM {reader}").fetchall()[0]
        by_tier = {("none" if t is None else f"tier {t}"): n for t, n in con.execute(
            f"SELECT icp_tier, count(*) FROM {reader} GROUP BY ALL ORDER BY ALL").fetchall()}
        by_priority = dict(con.execute(f"SELECT icp_priority, count(*) FROM {reader} GROUP BY ALL ORDER BY ALL").fetchall())
    finally:
        con.close()
    return ScoreResult(input=str(source.path), output=str(output), rows=rows, by_tier=by_tier,
                       by_priority={str(k): v for k, v in by_priority.items()}, disqualified=disqualified,
                       missing_fields=missing, used_fields=used)
