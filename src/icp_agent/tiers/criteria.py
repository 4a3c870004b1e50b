"""The one criteria compiler: an icp.json criterion as a DuckDB predicate and as words.

Every place that evaluates a criterion goes through here: the search's selectors
(`Selector.sql`), the tiers and the negative ICP (`criteria_sql`, `tier_case_sql`), the
scorecard's bins and disqualifier rules, prospect scoring and the CRM exports, validation
and drift. The rules live in one place:

- the field's KIND decides the columns a criterion reads, and the kind comes from the
  build's schema (analysis/inputs.py: the import's type of the field), never from the
  field's name or a `_min` suffix. Kinds and their column layout:
  category VARCHAR, number DOUBLE, bool BOOLEAN, list VARCHAR[], band two DOUBLE columns
  `<name>_min` / `<name>_max` (a range "51-200" has min 51, max 200; an exact value min = max).
  When no schema is at hand (an icp.json read on its own), the op implies the kind
  (`contains` a list, ranges a number, a bool value a bool, else a category).
- band semantics: `between` = the whole range lies inside [min, max]; `gte` reads `_min`,
  `lte` reads `_max`; `eq` = an exact value. Scorecard bins may ask for the midpoint instead
  (`"on": "midpoint"`).
- a criterion on a field the relation lacks is never SQL that fails: when the caller passes
  the relation's columns, `criterion_sql` raises NotMeasurable ("not measurable on this
  table") and the caller decides (report the step as not measurable, or score it FALSE).
- NULL-safe conjunctions: missing data never matches (`coalesce(..., FALSE)`).

The priority rule (tier, fit score and disqualifier agree) is `priority_sql`, also here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

from icp_agent import numbers
from icp_agent.errors import NotMeasurable  # callers catch it from here too
from icp_agent.scorecard.labels import field_label
from icp_agent.sql import quote_identifier as _q
from icp_agent.sql import sql_literal

KINDS = ("band", "number", "category", "list", "bool")
NUMERIC_TYPES = {"number", "money", "percent", "integer", "float", "currency"}


def kind_of_type(import_type: str | None) -> str | None:
    """The criterion kind of an import type (band, number/money/percent, list, bool, category...)."""
    if import_type is None:
        return None
    if import_type in KINDS:
        return import_type
    if import_type in NUMERIC_TYPES:
        return "number"
    if import_type in ("text", "date", "id"):
        return None  # not a criterion kind: free text, dates and ids are never criteria
    return "category"


def _get(c: Any, key: str) -> Any:
    return c.get(key) if isinstance(c, Mapping) else getattr(c, key, None)


def implied_kind(c: Any) -> str:
    """The kind a criterion implies when no schema says (contains: a list; ranges: a number; a bool value)."""
    op, value = _get(c, "op"), _get(c, "value")
    if op in ("contains", "not_contains"):
        return "list"
    if op in ("between", "gte", "lte"):
        return "number"
    if isinstance(value, bool):
        return "bool"
    return "category"


def resolve_kind(c: Any, kinds: Mapping[str, str] | None) -> str:
    """The kind of a criterion's field: its own (set by the build from the schema), else the schema's
    (kinds: field -> kind or import type), else the one its op implies."""
    own = _get(c, "kind")
    if own in KINDS:
        return own
    known = kind_of_type((kinds or {}).get(_get(c, "field")))
    return known or implied_kind(c)


def columns_needed(field: str, kind: str) -> tuple[str, ...]:
    """The relation's columns a criterion on `field` of `kind` reads."""
    return (f"{field}_min", f"{field}_max") if kind == "band" else (field,)


def value_sql(field: str, kind: str, *, cast: bool = False) -> str:
    """A field's value expression; `cast` wraps it in TRY_CAST so a prospect file's raw types are harmless.
    For a band it is the range's midpoint (an exact value is its own midpoint)."""
    if kind == "band":
        low, high = _q(f"{field}_min"), _q(f"{field}_max")
        if cast:
            low, high = f"TRY_CAST({low} AS DOUBLE)", f"TRY_CAST({high} AS DOUBLE)"
        return f"coalesce(({low} + {high}) / 2, {low}, {high})"
    column = _q(field)
    if not cast:
        return column
    sql_type = {"number": "DOUBLE", "bool": "BOOLEAN", "list": "VARCHAR[]"}.get(kind, "VARCHAR")
    return f"CAST({column} AS VARCHAR)" if sql_type == "VARCHAR" else f"TRY_CAST({column} AS {sql_type})"


def _key(expr: str) -> str:
    """Categories compare by key, not spelling: one file's "Marketing & Advertising" is another's "Marketing
    and Advertising" and a third's "MARKETING_AND_ADVERTISING" (the importer shows each file's most frequent
    spelling; ingest/normalize.py's category_key)."""
    from icp_agent.ingest.normalize import category_key

    return category_key(expr, markers=False)


def missing_sql(field: str, kind: str, *, cast: bool = False) -> str:
    """TRUE when the field has no value on a row (an empty list counts as missing)."""
    if kind == "band":
        return f"({_q(field + '_min')} IS NULL AND {_q(field + '_max')} IS NULL)"
    value = value_sql(field, kind, cast=cast)
    if kind == "list":
        return f"({value} IS NULL OR len({value}) = 0)"
    return f"{value} IS NULL" if not cast else f"({value} IS NULL)"


def predicate(
    field: str,
    kind: str,
    op: str,
    *,
    value: Any = None,
    values: Iterable[Any] | None = None,
    min: float | None = None,
    max: float | None = None,
    max_exclusive: bool = False,
    on: str | None = None,
    cast: bool = False,
) -> str:
    """The DuckDB predicate of one condition on a field of a given kind (see the module doc for layouts)."""
    if kind not in KINDS:
        raise ValueError(f"unknown field kind {kind!r} for field {field!r}")
    column = value_sql(field, kind, cast=cast) if kind != "band" else _q(field)
    low = high = column
    if kind == "band":
        if on == "midpoint":
            low = high = value_sql(field, kind, cast=cast)
        else:
            low, high = _q(f"{field}_min"), _q(f"{field}_max")
            if cast:
                low, high = f"TRY_CAST({low} AS DOUBLE)", f"TRY_CAST({high} AS DOUBLE)"
    upper = "<" if max_exclusive else "<="
    match op:
        case "is_missing":
            return missing_sql(field, kind, cast=cast)
        case "not_missing":
            return f"NOT {missing_sql(field, kind, cast=cast)}"
        case "eq" if kind == "band":
            return f"({low} = {sql_literal(value)} AND {high} = {sql_literal(value)})"
        case "eq" if kind == "category":
            return f"{_key(column)} = {_key(sql_literal(value))}"
        case "eq":
            return f"{column} = {sql_literal(value)}"
        case "in":
            if kind == "band":
                return (
                    "("
                    + " OR ".join(f"({low} = {sql_literal(v)} AND {high} = {sql_literal(v)})" for v in values or [])
                    + ")"
                    if values
                    else "FALSE"
                )
            if kind == "category":
                return f"list_contains([{', '.join(_key(sql_literal(v)) for v in values or [])}], {_key(column)})"
            # list_contains, not IN: DuckDB rewrites long IN lists into joins
            return f"list_contains([{', '.join(sql_literal(v) for v in values or [])}], {column})"
        case "contains" if kind == "list":
            return f"list_contains(list_transform({column}, lambda x: {_key('x')}), {_key(sql_literal(value))})"
        case "not_contains" if kind == "list":
            return f"NOT list_contains(list_transform({column}, lambda x: {_key('x')}), {_key(sql_literal(value))})"
        case "contains":
            return f"list_contains({column}, {sql_literal(value)})"
        case "not_contains":
            return f"NOT list_contains({column}, {sql_literal(value)})"
        case "gte":
            return f"{low} >= {sql_literal(min)}"
        case "lte":
            return f"{high} {upper} {sql_literal(max)}"
        case "between":
            return f"({low} >= {sql_literal(min)} AND {high} {upper} {sql_literal(max)})"
    raise ValueError(f"unknown criterion op {op!r} on field {field!r}")


def criterion_sql(
    c: Any,
    kinds: Mapping[str, str] | None = None,
    columns: set[str] | None = None,
    *,
    cast: bool = False,
    table: str | None = None,
) -> str:
    """One criterion (an icp_document.Criterion or its dict) as a DuckDB predicate.

    kinds: field -> kind or import type, from the build's schema (Schema.kinds()); columns: the
    relation's columns, to check the criterion is measurable there. Raises NotMeasurable when
    the relation lacks a column the criterion reads.
    """
    field = _get(c, "field")
    kind = resolve_kind(c, kinds)
    if columns is not None:
        absent = [name for name in columns_needed(field, kind) if name not in columns]
        if absent:
            where = f" {table}" if table else " this table"
            raise NotMeasurable(f"not measurable on{where}: it has no {field}", fields=[field], table=table)
    return predicate(
        field,
        kind,
        _get(c, "op"),
        value=_get(c, "value"),
        values=_get(c, "values"),
        min=_get(c, "min"),
        max=_get(c, "max"),
        max_exclusive=bool(_get(c, "max_exclusive")),
        on=_get(c, "on"),
        cast=cast,
    )


def criteria_sql(
    criteria: Iterable[Any],
    kinds: Mapping[str, str] | None = None,
    columns: set[str] | None = None,
    *,
    cast: bool = False,
    table: str | None = None,
) -> str:
    """A conjunction of criteria, NULL-safe (missing data never matches); TRUE when there are none.
    Raises NotMeasurable naming every field the relation lacks."""
    criteria = list(criteria)
    if columns is not None:
        absent = missing_fields(criteria, kinds, columns)
        if absent:
            where = f" {table}" if table else " this table"
            raise NotMeasurable(f"not measurable on{where}: it has no {', '.join(absent)}", fields=absent, table=table)
    return " AND ".join(f"coalesce({criterion_sql(c, kinds, cast=cast)}, FALSE)" for c in criteria) or "TRUE"


def missing_fields(criteria: Iterable[Any], kinds: Mapping[str, str] | None, columns: set[str]) -> list[str]:
    """Fields of the criteria a relation with `columns` lacks (sorted, unique)."""
    out = set()
    for c in criteria:
        field = _get(c, "field")
        if any(name not in columns for name in columns_needed(field, resolve_kind(c, kinds))):
            out.add(field)
    return sorted(out)


def present_fields(columns: Iterable[str], kinds: Mapping[str, str] | None = None) -> set[str]:
    """The fields a relation holds, from its columns and the schema's kinds (a band needs both bounds)."""
    columns = set(columns)
    out = {c for c in columns if not c.startswith("_")}
    for field, kind in (kinds or {}).items():
        if kind_of_type(kind) == "band" and {f"{field}_min", f"{field}_max"} <= columns:
            out.add(field)
    return out


def tier_case_sql(
    tiers: Iterable[Any], kinds: Mapping[str, str] | None = None, columns: set[str] | None = None, *, cast: bool = False
) -> str:
    """SQL CASE giving each row its best tier (1 beats 2 beats 3), NULL outside the ICP.

    With `columns`, a tier whose criteria the relation cannot evaluate is left out (no row is
    placed in it: unknown is not a match), so the SQL never fails.
    """
    whens = []
    for tier in sorted(tiers, key=lambda t: (_get(t, "tier"), _get(t, "segment") or "")):
        try:
            whens.append(
                f"WHEN {criteria_sql(_get(tier, 'criteria'), kinds, columns, cast=cast)} THEN {_get(tier, 'tier')}"
            )
        except NotMeasurable:
            continue
    return "CASE " + " ".join(whens) + " END" if whens else "NULL::INTEGER"


def document_kinds(icp: Any) -> dict[str, str]:
    """Field kinds for an ICP document whose criteria may predate `Criterion.kind` (an older version in the
    workspace, an icp.json from elsewhere): the scorecard's field kinds, else the canonical field's import type."""
    from icp_agent.ingest.fields import FIELD_BY_NAME

    criteria = [c for t in _get(icp, "tiers") or [] for c in _get(t, "criteria")] + [
        c for d in _get(icp, "negative_icp") or [] for c in _get(d, "criteria")
    ]
    kinds: dict[str, str] = {}
    for c in criteria:
        known = FIELD_BY_NAME.get(_get(c, "field"))
        if known is not None and (kind := kind_of_type(known.type)):
            kinds[_get(c, "field")] = kind
    kinds.update(_get(_get(icp, "scorecard") or {}, "field_kinds") or {})
    return kinds


# --- words ----------------------------------------------------------------------------------------


# Money field -> the sign its labels write ("€", "CHF "), "" for the dataset's one currency: set by the toolkit for
# the operation that makes labels, from the currencies the imports recorded (toolkit._money_signs). Unset: "$".
MONEY_SIGNS: ContextVar[Mapping[str, str]] = ContextVar("money_signs", default=MappingProxyType({}))


def money_sign(field: str) -> str:
    """The sign a money field's labels write: its import's currency (MONEY_SIGNS), else "$"."""
    signs = MONEY_SIGNS.get()
    return signs.get(field) or signs.get("") or "$"


def amount(value: float, money: bool, sign: str = "$") -> str:
    """1200000 -> "$1.2M" for money (k from a thousand; `sign` from money_sign), "1,200,000" otherwise
    (numbers.number)."""
    return numbers.money(value, sign, short_from=1e3) if money else numbers.number(value)


def criterion_label(c: Any, types: Mapping[str, str] | None = None) -> str:
    """A criterion as a seller reads it: "annual revenue $10M-$50M", "employees 51-200", "industry in A, B".

    types: field -> import type (money fields show as $); the op decides the wording.
    """
    field, op = _get(c, "field"), _get(c, "op")
    name = field_label(field)
    money = (types or {}).get(field) == "money"
    sign = money_sign(field) if money else "$"
    lo, hi, exclusive = _get(c, "min"), _get(c, "max"), bool(_get(c, "max_exclusive"))
    match op:
        case "eq":
            return f"{name} = {_get(c, 'value')}"
        case "in":
            return f"{name} in {{{', '.join(str(v) for v in _get(c, 'values') or [])}}}"
        case "contains":
            return f"{name} contains {_get(c, 'value')}"
        case "not_contains":
            return f"{name} without {_get(c, 'value')}"
        case "is_missing":
            return f"{name} is missing"
        case "not_missing":
            return f"{name} is known"
        case "gte":
            return f"{name} >= {amount(lo, money, sign)}"
        case "lte":
            return f"{name} {'<' if exclusive else '<='} {amount(hi, money, sign)}"
    if exclusive:
        return f"{name} in [{amount(lo, money, sign)}, {amount(hi, money, sign)})"
    return f"{name} {amount(lo, money, sign)}-{amount(hi, money, sign)}"


# --- priority -------------------------------------------------------------------------------------

PRIORITY_RULE = (
    "Priority follows the tier, then the fit score: a disqualified account is in no tier and is low "
    "priority; Tier 1 is high; Tier 2 is medium, or high when its fit score reaches the high band; "
    "Tier 3 is medium when its fit score reaches the medium band, else low; an account outside every "
    "tier is at most medium, whatever its score, and then says why (its fit score's band)."
)


def priority_sql(tier: str, disqualified: str, score_priority: str | None = None) -> str:
    """The one priority rule (PRIORITY_RULE) as SQL: 'high' / 'medium' / 'low'.

    tier: SQL of the row's tier (NULL outside the ICP, already NULL when disqualified);
    disqualified: SQL, TRUE when a negative-ICP rule matches; score_priority: SQL of the
    scorecard's band ('high' / 'medium' / 'low' by fit score) or None without a trusted scorecard.
    """
    score = score_priority or "NULL::VARCHAR"
    return (
        f"CASE WHEN coalesce({disqualified}, FALSE) THEN 'low' "
        f"WHEN ({tier}) = 1 THEN 'high' "
        f"WHEN ({tier}) = 2 THEN CASE WHEN ({score}) = 'high' THEN 'high' ELSE 'medium' END "
        f"WHEN ({tier}) = 3 THEN CASE WHEN ({score}) IN ('high', 'medium') THEN 'medium' ELSE 'low' END "
        f"WHEN ({score}) IN ('high', 'medium') THEN 'medium' ELSE 'low' END"
    )


def priority_reason_sql(tier: str, disqualified: str, disqualifier: str, score_priority: str | None = None) -> str:
    """Why a row got its priority, in words (the rule applied), for the CRM files."""
    score = score_priority or "NULL::VARCHAR"
    return (
        f"CASE WHEN coalesce({disqualified}, FALSE) THEN 'disqualified: ' || coalesce({disqualifier}, 'negative ICP') "
        f"WHEN ({tier}) IS NOT NULL THEN 'Tier ' || ({tier}) || coalesce(', fit score band ' || ({score}), '') "
        f"WHEN ({score}) IN ('high', 'medium') THEN 'outside every tier; fit score band ' || ({score}) "
        f"ELSE 'outside every tier' END"
    )
