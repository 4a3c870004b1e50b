"""Scoring as SQL: a scorecard (icp.json's data) as DuckDB expressions for points, fit score, band, grade,
reasons, unseen values and missing fields, so a prospect list of any size streams through the engine."""

from __future__ import annotations

from typing import overload

import duckdb

from icp_agent.errors import NotMeasurable, UserError
from icp_agent.ingest.normalize import category_key, category_key_text
from icp_agent.scorecard.labels import field_label
from icp_agent.scorecard.scale import fit_table, level_of, points_lookup_sql
from icp_agent.sql import quote_identifier as _q
from icp_agent.sql import sql_literal
from icp_agent.tiers.criteria import criterion_sql

KINDS = ("category", "number", "bool", "list", "band")


REASONS = 3


def scorecard_select_sql(
    scorecard: dict, negative_icp: list[dict] | None = None, *, present_columns: set[str] | None = None
) -> list[tuple[str, str]]:
    """(name, SQL expression) pairs that score a relation in the frame's column layout.

    icp_points (total), icp_fit_score (0-100), icp_priority, icp_grade, icp_reasons (top fields
    by absolute points, "employees 51-200 (+18); industry Marketing (-25)"), icp_unseen (category
    fields whose value was never seen in training: scored 0, flagged), icp_missing_fields
    (fields NULL or absent from the relation: `present_columns` names the columns it has; an
    absent field scores 0, not its missing bin, since the file says nothing about the company),
    icp_disqualified / icp_disqualifier (the first negative-ICP rule matched; it flags, it does
    not change the score). Pure SQL: DuckDB evaluates shared sub-expressions once per row.
    """
    if scorecard.get("status") != "ok":
        raise UserError(
            f"the scorecard cannot score records: {scorecard.get('reason', scorecard.get('status'))}",
            hint="import more customers with a known outcome, then run the analysis again",
        )
    exprs = score_exprs(scorecard, present_columns)
    rules = [
        (
            rule,
            " AND ".join(
                f"coalesce({_criterion_sql(c, scorecard['field_kinds'].get(c['field']), present_columns)}, FALSE)"
                for c in rule.get("criteria", [])
            ),
        )
        for rule in negative_icp or []
        if rule.get("criteria")
    ]
    disqualified = " OR ".join(f"({sql})" for _, sql in rules) or "FALSE"
    which = (
        "CASE " + " ".join(f"WHEN {sql} THEN {sql_literal(_rule_text(rule))}" for rule, sql in rules) + " END"
        if rules
        else "NULL::VARCHAR"
    )
    return [*exprs.items(), ("icp_disqualified", f"({disqualified})"), ("icp_disqualifier", which)]


def score_frame(
    con: duckdb.DuckDBPyConnection, scorecard: dict, relation: str, negative_icp: list[dict] | None = None
) -> duckdb.DuckDBPyRelation:
    """`relation` (a table, view or parenthesised query) with the icp_* score columns appended."""
    present = set(con.sql(f"SELECT * FROM {relation} LIMIT 0").columns)
    exprs = scorecard_select_sql(scorecard, negative_icp, present_columns=present)
    return con.sql(f"SELECT *, {', '.join(f'{sql} AS {name}' for name, sql in exprs)} FROM {relation}")


def is_present(name: str, kind: str, columns: set[str] | None) -> bool:
    """Whether a scorecard field's columns are in `columns` (a band needs <field>_min and _max); None means
    every column is (a table whose columns are not known yet)."""
    if columns is None:
        return True
    if kind == "band":
        return {f"{name}_min", f"{name}_max"} <= columns
    return name in columns


def value_sql(name: str, kind: str) -> str:
    """A field's value as the scorecard reads it; the casts make a prospect file's types harmless."""
    column = _q(name)
    match kind:
        case "category":
            return f"CAST({column} AS VARCHAR)"
        case "number":
            return f"TRY_CAST({column} AS DOUBLE)"
        case "bool":
            return f"TRY_CAST({column} AS BOOLEAN)"
        case "list":
            return f"TRY_CAST({column} AS VARCHAR[])"
        case "band":  # midpoint of the range; an exact value is its own midpoint
            low, high = _q(name + "_min"), _q(name + "_max")
            return f"coalesce(({low} + {high}) / 2, {low}, {high})"
    raise UserError(f"unknown field kind {kind!r} for field {name!r}")


def missing_sql(name: str, kind: str) -> str:
    """A field's "value is missing" as a DuckDB predicate: a band with neither end, an empty list, a NULL value."""
    if kind == "band":
        return f"({_q(name + '_min')} IS NULL AND {_q(name + '_max')} IS NULL)"
    if kind == "list":
        return f"({value_sql(name, kind)} IS NULL OR len({value_sql(name, kind)}) = 0)"
    return f"({value_sql(name, kind)} IS NULL)"


def _criterion_sql(c: dict, kind: str | None, present: set[str] | None) -> str:
    """A bin's `when` or an icp.json criterion as a predicate; FALSE when its column is absent.

    The criteria compiler (analysis/criteria.py) writes the SQL, with TRY_CASTs so a prospect file's raw
    types are harmless. Band fields: bins (`"on": "midpoint"`) compare the range's midpoint; icp.json
    criteria keep the selectors' meaning (between = the whole range inside, gte on _min, lte on _max).
    """
    kinds = {c["field"]: kind} if kind else None
    try:
        return criterion_sql(c, kinds, present, cast=True)
    except NotMeasurable:
        return "FALSE"
    except ValueError as exc:
        raise UserError(str(exc)) from None


def _rule_text(rule: dict) -> str:
    return " and ".join(c.get("label") or f"{c['field']} {c['op']}" for c in rule["criteria"])


@overload
def code_sql(feature: dict, present: None) -> str: ...
@overload
def code_sql(feature: dict, present: set[str]) -> str | None: ...
def code_sql(feature: dict, present: set[str] | None) -> str | None:
    """The bin a row falls in: i = bins[i - 1] (the missing bin is last), 0 = unseen value, NULL =
    the column is absent. The missing test comes first so the bins never see a NULL."""
    field, kind = feature["field"], feature["kind"]
    if not is_present(field, kind, present):
        return None
    bins = feature["bins"]
    missing = f"WHEN {missing_sql(field, kind)} THEN {len(bins)}"
    if kind == "category":
        # a constant MAP from value to bin (DuckDB would turn each IN list into a join), keyed by the
        # spelling-insensitive key: another file's "Marketing & Advertising" is "Marketing and Advertising"
        keyed: dict[str, int] = {}
        for i, b in enumerate(bins[:-1], 1):
            for v in b["when"]["values"]:
                keyed.setdefault(category_key_text(v), i)  # two spellings of one key: the first bin holds it
        entries = ", ".join(f"{sql_literal(k)}: {i}" for k, i in keyed.items())
        value = category_key(value_sql(field, kind), markers=False)
        return f"(CASE {missing} ELSE coalesce((MAP {{{entries}}})[{value}], 0) END)"
    if kind == "bool":
        entries = ", ".join(f"{sql_literal(v)}: {i}" for i, b in enumerate(bins[:-1], 1) for v in b["when"]["values"])
        return f"(CASE {missing} ELSE coalesce((MAP {{{entries}}})[{value_sql(field, kind)}], 0) END)"
    whens = " ".join(f"WHEN {_criterion_sql(b['when'], kind, present)} THEN {i}" for i, b in enumerate(bins[:-1], 1))
    return f"(CASE {missing} {whens} ELSE 0 END)"


def score_exprs(card: dict, present: set[str] | None) -> dict[str, str]:
    """The score columns. Fit score, priority and grade are look-ups by points total (`points_lookup_sql`),
    so each expression holds the total once and DuckDB plans it quickly."""
    features = card["features"]
    codes = [code_sql(f, present) for f in features]
    total = f"({card['intercept_points']} + {' + '.join(points_sql(f, c) for f, c in zip(features, codes))})"
    low, fits = fit_table(card)
    unseen = [
        f"CASE WHEN {c} = 0 THEN {sql_literal(f['field'])} END"
        for f, c in zip(features, codes)
        if c and f["kind"] == "category"
    ]
    fields = {f["field"]: f["kind"] for f in features}
    missing = [
        f"CASE WHEN {missing_sql(name, kind) if is_present(name, kind, present) else 'TRUE'} "
        f"THEN {sql_literal(name)} END"
        for name, kind in fields.items()
    ]
    return {
        "icp_points": f"CAST({total} AS INTEGER)",
        "icp_fit_score": points_lookup_sql(fits, low, total),
        "icp_priority": points_lookup_sql([level_of(card, "bands", fit) for fit in fits], low, total),
        "icp_grade": points_lookup_sql([level_of(card, "grades", fit) for fit in fits], low, total),
        "icp_reasons": _reasons_sql(features, codes),
        "icp_unseen": _name_list(unseen),
        "icp_missing_fields": _name_list(missing),
    }


def points_sql(feature: dict, code: str | None) -> str:
    """A feature's points as SQL over its bin code (code_sql): the points of the bin the row falls in, 0 for an
    unseen value; "0" when the field's column is absent (code None)."""
    if code is None:
        return "0"
    whens = " ".join(f"WHEN {i} THEN {b['points']}" for i, b in enumerate(feature["bins"], 1))
    return f"(CASE {code} {whens} ELSE 0 END)"


def category_spelling(feature: dict, value: str) -> str:
    """A record's category value in the scorecard's spelling of its key (its bins' values), so a reason reads
    the same whichever file's spelling the record came with; a value the bins never saw keeps its own."""
    spellings: dict[str, str] = {}
    for b in feature["bins"]:
        for v in (b.get("when") or {}).get("values") or []:
            spellings.setdefault(category_key_text(v), str(v))
    if not spellings:
        return value
    entries = ", ".join(f"{sql_literal(k)}: {sql_literal(v)}" for k, v in spellings.items())
    return f"coalesce((MAP {{{entries}}})[{category_key(value, markers=False)}], {value})"


def _reasons_sql(features: list[dict], codes: list[str | None]) -> str:
    """The top fields by absolute points, as "employees 51-200 (+18); industry Marketing (-25)" (the text first:
    a cell starting with a sign reads as a formula in a spreadsheet).

    Each candidate is packed into one integer, ((top - |points|) * positions + position) * codes
    + bin code, so a plain integer sort ranks by size, then position (ties break the same way
    everywhere), and the top three are unpacked into words from constant lists. Integers sort
    and filter far faster per row than structs, and the bin codes appear once, which keeps
    DuckDB's planner quick. A missing list field is one reason (its elements' missing points
    summed), not one per element; an absent column gives none; categories show the record's
    own value ("industry Zoology"), other fields their bin's label.
    """
    shown = [(f, c) for f, c in zip(features, codes) if c is not None]
    points = [[0 if f["kind"] == "list" and b.get("missing") else b["points"] for b in f["bins"]] for f, _ in shown]
    words = [
        [None if f["kind"] == "category" and not b.get("missing") else b["label"] for b in f["bins"]] for f, _ in shown
    ]
    missing_lists: dict[str, int] = {}
    for feature, _ in shown:
        if feature["kind"] == "list":
            missing_lists[feature["field"]] = missing_lists.get(feature["field"], 0) + feature["bins"][-1]["points"]
    extra = [(field, total) for field, total in missing_lists.items() if total != 0]
    points += [[total] for _, total in extra]  # each at its own position, bin 1
    words += [[f"{field_label(field)} missing"] for field, _ in extra]
    if not points:
        return "NULL::VARCHAR"
    top = max(abs(v) for row in points for v in row) + 1
    positions, codes_base = len(points) + 1, max(len(row) for row in points) + 1

    def key(size: str, position: str, code: str) -> str:
        return f"(({top}::BIGINT - abs({size})) * {positions} + {position}) * {codes_base} + {code}"

    keys = (
        [
            f"list_transform([{', '.join(c for _, c in shown)}], "
            f"lambda c, j: {key(f'coalesce({_nested(points)}[j][c], 0)', 'j', 'c')})"
        ]
        if shown
        else []
    )
    keys += [
        f"[CASE WHEN {missing_sql(field, 'list')} THEN {key(str(total), str(len(shown) + i), '1')} "
        f"ELSE {key('0', '0', '0')} END]"
        for i, (field, total) in enumerate(extra, 1)
    ]
    position, code = f"((v // {codes_base}) % {positions})", f"(v % {codes_base})"
    value = f"{_nested(points)}[{position}][{code}]"
    dynamic = " ".join(
        f"WHEN {i} THEN {sql_literal(field_label(f['field']) + ' ')} || "
        f"{category_spelling(f, value_sql(f['field'], 'category'))}"
        for i, (f, _) in enumerate(shown, 1)
        if f["kind"] == "category"
    )
    text = f"{_nested(words)}[{position}][{code}]"
    if dynamic:
        text = f"coalesce({text}, CASE {position} {dynamic} END)"
    candidates = keys[0] if len(keys) == 1 else f"list_concat({', '.join(keys)})"
    best = f"list_slice(list_sort(list_filter({candidates}, lambda v: v < {key('0', '0', '0')})), 1, {REASONS})"
    return (
        f"nullif(array_to_string(list_transform({best}, lambda v: {text} || ' (' || CASE WHEN {value} > 0 "
        f"THEN '+' ELSE '' END || {value} || ')'), '; '), '')"
    )


def _nested(rows: list[list]) -> str:
    return "[" + ", ".join("[" + ", ".join(sql_literal(v) for v in row) + "]" for row in rows) + "]"


def _name_list(cases: list[str]) -> str:
    if not cases:
        return "NULL::VARCHAR[]"
    return f"nullif(list_filter([{', '.join(cases)}], lambda x: x IS NOT NULL), [])"
