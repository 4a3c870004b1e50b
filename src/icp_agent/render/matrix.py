"""scoring_matrix.csv: every entity of an ICP version with its fields, health, cohort and score columns."""

from __future__ import annotations

from pathlib import Path

import duckdb

from icp_agent.icp_document import IcpDocument
from icp_agent.workspace import Workspace


def export_scoring_matrix(ws: Workspace, icp: IcpDocument, path: str | Path) -> int:
    """scoring_matrix.csv: every entity with its fit fields, components, health, cohort and its score columns
    (icp_tier, icp_segment, fit_points, fit_score, priority, grade, fit_reasons, disqualified_by) from the one
    scoring path (`scoring.scored_relation`), so a customer's tier and fit score here equal the CRM files'.
    Returns the rows written."""
    with ws.connect() as con:
        return write_scoring_matrix(con, icp, path)


def write_scoring_matrix(
    con: duckdb.DuckDBPyConnection, icp: IcpDocument, path: str | Path, scores: str | None = None
) -> int:
    """export_scoring_matrix on an open workspace connection (or a cursor of one: the build writes the matrix on
    its own cursor, beside the CRM files). `scores`: the frame's scores already stored (`scoring.store_scores`,
    in the frame's order), pasted beside its rows instead of scoring them again. Returns the rows written (COPY's
    own count)."""
    from icp_agent.health.health_score import in_row_order
    from icp_agent.render.tabular import write_table
    from icp_agent.scorecard.scoring import SCORE_COLUMNS, scored_relation

    frame = f"frame_{icp.id.replace('-', '_')}"
    types = {r[0]: r[1] for r in con.execute(f"DESCRIBE {frame}").fetchall()}
    columns = list(types)
    keep = [
        c
        for c in columns
        if c
        in (
            "company_id",
            "company_name",
            "domain",
            "deal_id",
            "health",
            "cohort",
            "censored",
            "good",
            "bad",
            "outcome",
            "outcome_stage",
            "tenure_months",
            "churned_flag",
            "nrr_raw",
            "payback_raw",
        )
        or c.startswith("c_")
        or c in _fit_columns(icp, columns)
    ]
    names = ", ".join(name for name in SCORE_COLUMNS if name not in ("unseen_fields", "disqualified", "missing_fields"))
    whole = _whole_numbers(con, frame, [c for c in keep if _is_number(types, c)])
    select = ", ".join(_matrix_column(con, frame, c, types, whole.get(c)) for c in keep)
    # the scoring is a projection of the frame (no join), so a frame stored in `_row` order is written in that
    # order by a plain scan; only a frame stored otherwise pays for a sort of every row
    order = "" if in_row_order(con, frame) else " ORDER BY _row"
    # COPY's own count is the frame's rows (a projection of it): the frame is not scanned again to count them
    scored = (
        scored_relation(icp, frame, columns)
        if scores is None
        else f"(SELECT f.*, s.* EXCLUDE (_row) FROM {frame} f POSITIONAL JOIN {scores} s)"
    )
    return write_table(con, f"SELECT {select}, {names} FROM {scored}{order}", path, fmt="csv")


def _is_number(types: dict[str, str], column: str) -> bool:
    return types.get(column) in ("DOUBLE", "FLOAT", "REAL") or str(types.get(column, "")).startswith("DECIMAL")


def _whole_numbers(con, frame: str, columns: list[str]) -> dict[str, bool]:
    """{number column: every value is whole}, for all of `columns` in one scan of the frame."""
    from icp_agent.sql import quote_identifier

    if not columns:
        return {}
    checks = [
        f"coalesce(bool_and({name} = round({name}) AND abs({name}) < 1e15), FALSE)"
        for name in map(quote_identifier, columns)
    ]
    return dict(zip(columns, con.execute(f"SELECT {', '.join(checks)} FROM {frame}").fetchone()))


def _matrix_column(con, frame: str, column: str, types: dict[str, str], whole: bool | None = None) -> str:
    """One scoring-matrix column as a person reads it: a band field (`employees` beside `employees_min` and
    `employees_max`) shows its range ("51-200", "10,001+" as 10001+, an exact 250 as 250) instead of an empty
    cell for every range; a number column whose values are all whole is written as integers (51, not 51.0).
    `whole`: whether a number column's values are all whole, when the caller checked (`_whole_numbers`)."""
    from icp_agent.sql import quote_identifier

    name = quote_identifier(column)
    low, high = f"{column}_min", f"{column}_max"
    if low in types and high in types:
        lo, hi = quote_identifier(low), quote_identifier(high)
        text = "CAST(CAST({0} AS BIGINT) AS VARCHAR)"
        integral = "{0} = round({0}) AND abs({0}) < 1e15"

        def show(x: str) -> str:
            return f"CASE WHEN {integral.format(x)} THEN {text.format(x)} ELSE CAST({x} AS VARCHAR) END"

        return (
            f"CASE WHEN {lo} IS NULL AND {hi} IS NULL THEN NULL WHEN {hi} IS NULL THEN {show(lo)} || '+' "
            f"WHEN {lo} IS NULL THEN 'up to ' || {show(hi)} WHEN {lo} = {hi} THEN {show(lo)} "
            f"ELSE {show(lo)} || '-' || {show(hi)} END AS {name}"
        )
    if _is_number(types, column):
        if whole is None:
            whole = _whole_numbers(con, frame, [column])[column]
        if whole:
            return f"CAST({name} AS BIGINT) AS {name}"
    return name


def _fit_columns(icp: IcpDocument, columns: list[str]) -> set[str]:
    fields = {c.field for t in icp.tiers for c in t.criteria} | {c.field for d in icp.negative_icp for c in d.criteria}
    fields |= {c.field for p in icp.patterns for c in p.criteria}
    return {c for c in columns if c in fields or c.rsplit("_", 1)[0] in fields}
