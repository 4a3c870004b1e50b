"""Selectors: the single traits ("industry = Software", "employees 50-250") segments are made of.

`build_selectors` turns the fields of a DuckDB relation into selectors and encodes, for every
row, which selectors it satisfies. DuckDB does the data work (the relation read once into a
temporary table, every category counted in one GROUPING SETS scan, cut points, codes looked up
in the projection so the rows keep their order without a sort; dictionary joins and a sort back
only for fields with many values or many distinct lists) and hands back one small unsigned
integer code per row and column, so the search
runs on a compact (columns x rows) code matrix instead of one boolean mask per selector:

- an *exclusive* column holds the selectors of a field whose values exclude each other
  (category, bool and binned number fields, plus their "is missing"): code i + 1 means the
  row satisfies the column's i-th selector, 0 means none of them;
- a *bitmask* column holds up to 8 selectors that can overlap (list elements, business bands
  that share a boundary or contain one another): bit i set means the row satisfies selector i.

Why codes rather than one bitset per selector: a single `bincount` over a segment's codes
counts the support of every refinement at once, so a search node costs rows x fields instead
of rows x selectors; and one byte (two for fields with over 255 values) per row and field is
smaller than bitsets once fields have more than 8 values.

Row order: row i of the code matrix is row i of `SELECT * FROM relation`. Pass a relation with
a defined order (`(SELECT * FROM customers ORDER BY customer_id)`) and build the target array
from the same relation, or masks and target will not line up.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import duckdb
import numpy as np

from icp_agent.errors import UserError
from icp_agent.sql import quote_identifier, sql_literal, table_exists

Kind = Literal["category", "number", "band", "list", "bool"]
Op = Literal["eq", "in", "between", "gte", "lte", "contains", "is_missing"]
Band = tuple[float | None, float | None]

_BITS_PER_COLUMN = 8
MASK_CACHE_BYTES = 64 << 20  # what SelectorSet.mask keeps of recent masks (one byte per row each; 4 at least)
_ROW = "__icp_row"


@dataclass(frozen=True)
class FieldSpec:
    """How one field becomes selectors.

    Layout of the relation: category VARCHAR, number DOUBLE, bool BOOLEAN, list VARCHAR[],
    band two DOUBLE columns `<name>_min` / `<name>_max` (a range such as "51-200" has min 51
    and max 200, an exact value min = max, missing both NULL).
    `bands` are business bands, inclusive, None = open-ended; they are required for `band`
    fields and optional for `number` fields, which are otherwise cut into `n_bins`
    equal-frequency bins (or one selector per value when there are at most `n_bins` values).
    """

    name: str
    kind: Kind
    bands: tuple[Band, ...] | None = None
    n_bins: int = 5
    round_cuts: bool = False  # snap equal-frequency cut points to round numbers (see round_cut_points)
    # band fields: when most values are ranges ("51-200"), cut only at the ranges' own bounds (see snap_bands)
    snap_to_ranges: bool = False


@dataclass(frozen=True)
class Selector:
    """One trait, as a criterion of icp.json and as a DuckDB predicate.

    `kind` is the field's kind, which decides the columns the SQL reads (see FieldSpec).
    Quantile bins are half-open [min, max) like pysubgroup's (`max_exclusive`); business bands
    are inclusive. `gte`/`lte` are the open-ended bins and bands. For `band` fields `between`
    means the whole range lies inside the band: min >= lo AND max <= hi.
    """

    field: str
    kind: Kind
    op: Op
    value: str | float | bool | None = None
    min: float | None = None
    max: float | None = None
    max_exclusive: bool = False
    label: str = dataclasses.field(default="", compare=False)
    values: tuple[str, ...] | None = None  # op "in": a group of category values (sorted)

    def __post_init__(self) -> None:
        if not self.label:
            object.__setattr__(self, "label", self._describe())

    def _describe(self) -> str:
        upper = "<" if self.max_exclusive else "<="
        match self.op:
            case "eq":
                return f"{self.field} = {_show(self.value)}"
            case "in":
                return f"{self.field} in {{{', '.join(self.values or ())}}}"
            case "contains":
                return f"{self.field} contains {self.value}"
            case "is_missing":
                return f"{self.field} is missing"
            case "gte":
                return f"{self.field} >= {_show(self.min)}"
            case "lte":
                return f"{self.field} {upper} {_show(self.max)}"
            case _ if self.max_exclusive:
                return f"{self.field} in [{_show(self.min)}, {_show(self.max)})"
            case _:
                return f"{self.field} {_show(self.min)}-{_show(self.max)}"

    def criterion(self) -> dict:
        """The icp.json form of this selector."""
        out: dict = {"field": self.field, "op": self.op}
        if self.op in ("eq", "contains"):
            out["value"] = _json_number(self.value)
        if self.op == "in":
            out["values"] = list(self.values or ())
        if self.op in ("between", "gte"):
            out["min"] = _json_number(self.min)
        if self.op in ("between", "lte"):
            out["max"] = _json_number(self.max)
            if self.max_exclusive:
                out["max_exclusive"] = True
        return out

    def sql(self) -> str:
        """A DuckDB predicate over the relation's column layout (see FieldSpec), by the criteria compiler."""
        from icp_agent.tiers.criteria import predicate

        return predicate(
            self.field,
            self.kind,
            self.op,
            value=self.value,
            values=self.values,
            min=self.min,
            max=self.max,
            max_exclusive=self.max_exclusive,
        )


@dataclass(frozen=True, eq=False)
class SelectorSet:
    """Selectors of a relation with the per-row codes that say which rows each one covers.

    codes: (n_columns, n) unsigned ints, one array per column (the search scans columns, so
    each is contiguous); position j is row j of the relation (see module doc).
    Selector i lives in column `selector_column[i]`; in an exclusive column it covers the rows
    whose code equals `selector_slot[i]`, in a bitmask column (`column_bitmask`) the rows whose
    code has bit `selector_slot[i]` set. Columns and selectors are grouped by field, fields in
    spec order (`selector_field` indexes `fields`).
    """

    selectors: list[Selector]
    n: int
    codes: np.ndarray
    fields: list[str]
    selector_field: np.ndarray
    selector_column: np.ndarray
    selector_slot: np.ndarray
    column_bitmask: np.ndarray
    column_cardinality: np.ndarray
    _position: dict[Selector, int] = dataclasses.field(init=False, repr=False)
    _masks: dict[int, np.ndarray] = dataclasses.field(init=False, repr=False)
    _masks_lock: threading.Lock = dataclasses.field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_position", {s: i for i, s in enumerate(self.selectors)})
        object.__setattr__(self, "_masks", {})
        # searches of one selector set may run side by side (tiers.candidates: by WRAcc and by lift, each in a
        # thread of its own): the mask cache is read and trimmed under this lock
        object.__setattr__(self, "_masks_lock", threading.Lock())

    def index(self, selector: Selector) -> int:
        """Position of a selector in `selectors` (KeyError if it is not one of them)."""
        return self._position[selector]

    def member_table(self, i: int) -> np.ndarray:
        """For selector i: bool per code of its column, True where the code means "covered"."""
        codes = np.arange(self.column_cardinality[self.selector_column[i]])
        return self._covers(i, codes)

    def mask(self, selector: Selector | int) -> np.ndarray:
        """Boolean row mask (length n) of one selector, read-only.

        The most recently used masks are kept (`MASK_CACHE_BYTES`): an analysis asks for the same few selectors'
        masks hundreds of times (each combination's parts, overlaps, tiers), and each is a pass over n codes."""
        i = int(selector) if isinstance(selector, (int, np.integer)) else self.index(selector)
        with self._masks_lock:  # safe from several threads (the cache is trimmed as it is filled)
            cached = self._masks.pop(i, None)
            if cached is None:
                cached = self._covers(i, self.codes[self.selector_column[i]])
                cached.flags.writeable = False
                if len(self._masks) >= max(4, MASK_CACHE_BYTES // max(self.n, 1)):
                    del self._masks[next(iter(self._masks))]
            self._masks[i] = cached  # most recent last
        return cached

    def _covers(self, i: int, codes: np.ndarray) -> np.ndarray:
        slot = self.selector_slot[i]
        if self.column_bitmask[self.selector_column[i]]:
            return (codes >> slot) & 1 == 1
        return codes == slot


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def _json_number(value: object) -> object:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@dataclass
class _Column:
    """One column of the code matrix: its selectors and the SQL that computes its code."""

    selectors: list[Selector]
    bitmask: bool
    expression: str
    join: str | None = None  # a LEFT JOIN clause the expression reads from

    @property
    def cardinality(self) -> int:
        return 2 ** len(self.selectors) if self.bitmask else len(self.selectors) + 1


def build_selectors(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    specs: list[FieldSpec],
    *,
    include_missing: bool = True,
    min_count: int = 1,
    outcome: str | None = None,
    merge_alpha: float = 0.05,
    built: Callable[[], None] = lambda: None,
    in_place: bool = False,
) -> SelectorSet:
    """Selectors for every field in `specs`, each covering at least `min_count` rows.

    `relation` is a table name or a parenthesised subquery; give it an ORDER BY (module doc).
    Category fields get one equality selector per value, list fields one `contains` per
    element, bool fields one per value, number fields pysubgroup's equal-frequency bins (or
    their business bands), band fields their bands; with `include_missing`, fields that have
    missing rows also get an `is_missing` selector.

    With `outcome` (a column or SQL expression of the relation giving each row's outcome class,
    e.g. the health cohort), category fields also get one `in` selector per group of values
    whose outcome mix cannot be told apart (`group_categories`, CHAID-style merging at
    `merge_alpha`): a segment defined on two industries is then one criterion, and a noise field
    whose values all merge into one group gives no group selector at all. Without `outcome`
    the selectors are exactly pysubgroup's (the reference tests rely on that). `built()` is called after each
    field's selectors (progress: fields done). `in_place`: `relation` is cheap to scan again in its order (a view
    of one table's stored rows, filtered or not), so it is read where it is, as a stored table always is.
    """
    if len({spec.name for spec in specs}) != len(specs):
        raise UserError("each field may appear only once in the selector specs")
    # The relation is read once, into a temporary table of the columns the selectors use (and the outcome), in its
    # own row order: every count below then scans that table instead of re-running the relation (a subquery with
    # an ORDER BY sorts every row again for each of a dozen queries), and the codes are read back in its order.
    # A stored table is already that: its scan is in its own order and costs no more than the copy's, so it is
    # read through a view (the copy of a 1M-row table cost 0.2 s, most of it on one thread)
    rows = _ROWS_TABLE
    kind = "VIEW" if in_place or _is_table(con, relation) else "TABLE"
    needed = dict.fromkeys(name for spec in specs for name in _columns_of(spec))
    con.execute(
        f"CREATE OR REPLACE TEMP {kind} {rows} AS SELECT "
        + ", ".join(
            [
                *(quote_identifier(name) for name in needed),
                *([f"({outcome}) AS {_OUTCOME}"] if outcome is not None else []),
            ]
        )
        + f" FROM {relation}"
    )
    try:
        types = {name: kind for name, kind, *_ in con.execute(f"DESCRIBE {rows}").fetchall()}
        counted = _category_counts(con, rows, [s.name for s in specs if s.kind == "category"], outcome is not None)
        columns: list[_Column] = []
        for position, spec in enumerate(specs):
            columns.extend(
                _columns_for(
                    con,
                    rows,
                    spec,
                    position,
                    include_missing,
                    min_count,
                    _OUTCOME if outcome is not None else None,
                    merge_alpha,
                    types.get(spec.name),
                    counted.get(spec.name),
                )
            )
            built()
        return _encode(con, rows, columns, [spec.name for spec in specs])
    finally:
        con.execute(f"DROP {kind} IF EXISTS {rows}")


def _is_table(con: duckdb.DuckDBPyConnection, relation: str) -> bool:
    """True when `relation` names a stored table (a plain or TEMP table, not a view or a subquery)."""
    name = relation.strip()
    if name.startswith('"') and name.endswith('"') and len(name) > 1:
        name = name[1:-1].replace('""', '"')
    elif not name.isidentifier():
        return False
    return table_exists(con, name)


_ROWS_TABLE = "__icp_selector_rows"
_OUTCOME = "__icp_outcome"
# dictionaries up to this size are looked up in the projection (a CASE tests them in turn, so larger ones join)
_INLINE_VALUES = 64
# types whose VARCHAR form casts back to the same value: their lookups compare the column itself, not its text
_EXACT_TYPES = {
    "VARCHAR",
    "BOOLEAN",
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "DATE",
}


def _inline_lookup(column: str, column_type: str | None, codes: list[tuple[str, int]], otherwise: str) -> str:
    """CASE mapping a category column's text values (as `CAST(column AS VARCHAR)` gives them) to codes.

    The comparison is made in the column's own type where that is exact (casting millions of numbers to text
    cost more than the lookup), on its text otherwise; a row matching no value gets `otherwise`."""
    if column_type in _EXACT_TYPES:
        key = f"base.{column}"
        whens = " ".join(f"WHEN CAST({sql_literal(v)} AS {column_type}) THEN {code}" for v, code in codes)
    else:
        key = f"CAST(base.{column} AS VARCHAR)"
        whens = " ".join(f"WHEN {sql_literal(v)} THEN {code}" for v, code in codes)
    return f"CASE {key} {whens} ELSE {otherwise} END"


def _category_counts(con, relation: str, names: list[str], by_outcome: bool) -> dict[str, list[tuple]]:
    """Per category field, its (text value, outcome class as text or None, rows) counts, in one scan.

    One GROUPING SETS query (a set per field, with the outcome column `__icp_outcome` when `by_outcome`)
    replaces a GROUP BY per field; the values are grouped in their own type and cast to text afterwards, so
    two values with the same text are summed by the caller."""
    if not names:
        return {}
    columns = [quote_identifier(name) for name in names]
    outcome = f", {_OUTCOME}" if by_outcome else ""
    sets = ", ".join(f"({column}{outcome})" for column in columns)
    query = (
        f"SELECT {', '.join(f'CAST({c} AS VARCHAR)' for c in columns)}, "
        f"{f'CAST({_OUTCOME} AS VARCHAR)' if by_outcome else 'NULL'}, count(*), "
        f"{', '.join(f'GROUPING({c})' for c in columns)} FROM {relation} GROUP BY GROUPING SETS ({sets})"
    )
    out: dict[str, list[tuple]] = {name: [] for name in names}
    for row in con.execute(query).fetchall():
        field = row[len(names) + 2 :].index(0)
        out[names[field]].append((row[field], row[len(names)], row[len(names) + 1]))
    return out


def _columns_of(spec: FieldSpec) -> list[str]:
    """The relation's columns a field's selectors read (see FieldSpec's layout)."""
    return [f"{spec.name}_min", f"{spec.name}_max"] if spec.kind == "band" else [spec.name]


def _columns_for(
    con,
    relation: str,
    spec: FieldSpec,
    position: int,
    include_missing: bool,
    min_count: int,
    outcome: str | None = None,
    merge_alpha: float = 0.05,
    column_type: str | None = None,
    counted: list[tuple] | None = None,
) -> list[_Column]:
    column = quote_identifier(spec.name)
    match spec.kind:
        case "category":
            columns = _category_columns(con, relation, spec, position, include_missing, min_count, column_type, counted)
            if outcome is not None:
                columns += _category_group_columns(
                    con, relation, spec, position, outcome, min_count, merge_alpha, column_type, counted
                )
            return columns
        case "list":
            return _list_columns(con, relation, spec, position, include_missing, min_count, column_type)
        case "bool":
            rows = con.sql(f"SELECT {column} AS v, count(*) FROM {relation} GROUP BY v ORDER BY v").fetchall()
            selectors = [
                Selector(spec.name, "bool", "eq", value=bool(v)) for v, c in rows if v is not None and c >= min_count
            ]
            missing = sum(c for v, c in rows if v is None)
            return _exclusive(selectors + _missing(spec, missing, include_missing, min_count))
        case "number" if spec.bands is None:
            return _number_columns(con, relation, spec, include_missing, min_count)
        case "number" | "band":
            if not spec.bands:
                raise UserError(f"band field {spec.name!r} needs bands, e.g. ((1, 50), (51, 200), (201, None))")
            bands = spec.bands
            if spec.kind == "band" and spec.snap_to_ranges:
                ranged, known, ranges = observed_ranges(con, relation, spec.name)
                if known and 2 * ranged >= known:  # the field's values are ranges: their bounds are the cut points
                    bands = snap_bands(bands, ranges)
            selectors = [_band_selector(spec, band) for band in bands]
            if include_missing:
                selectors.append(Selector(spec.name, spec.kind, "is_missing"))
            return _bitmask(_keep_frequent(con, relation, selectors, min_count))
        case _:
            raise UserError(f"unknown field kind {spec.kind!r} for field {spec.name!r}")


def _missing(spec: FieldSpec, missing_rows: int, include_missing: bool, min_count: int) -> list[Selector]:
    if include_missing and missing_rows > 0 and missing_rows >= min_count:
        return [Selector(spec.name, spec.kind, "is_missing")]
    return []


def _exclusive(selectors: list[Selector]) -> list[_Column]:
    """An exclusive column whose code comes from the selectors' own predicates."""
    if not selectors:
        return []
    cases = " ".join(f"WHEN {s.sql()} THEN {i + 1}" for i, s in enumerate(selectors))
    return [_Column(selectors, bitmask=False, expression=f"CASE {cases} ELSE 0 END")]


def _bitmask(selectors: list[Selector]) -> list[_Column]:
    """Bitmask columns of up to 8 (possibly overlapping) selectors each."""
    columns = []
    for start in range(0, len(selectors), _BITS_PER_COLUMN):
        group = selectors[start : start + _BITS_PER_COLUMN]
        bits = " + ".join(f"(CASE WHEN {s.sql()} THEN {1 << i} ELSE 0 END)" for i, s in enumerate(group))
        columns.append(_Column(group, bitmask=True, expression=bits))
    return columns


def _keep_frequent(con, relation: str, selectors: list[Selector], min_count: int) -> list[Selector]:
    counts = con.sql(
        "SELECT " + ", ".join(f"count(*) FILTER (WHERE {s.sql()})" for s in selectors) + f" FROM {relation}"
    ).fetchall()[0]
    return [s for s, count in zip(selectors, counts) if count >= max(min_count, 1)]


def _band_selector(spec: FieldSpec, band: Band) -> Selector:
    low, high = band
    if low is not None and high is not None:
        if low > high:
            raise UserError(f"band {band} of field {spec.name!r} has its lower bound above its upper bound")
        return Selector(spec.name, spec.kind, "between", min=float(low), max=float(high))
    if high is not None:
        return Selector(spec.name, spec.kind, "lte", max=float(high))
    if low is not None:
        return Selector(spec.name, spec.kind, "gte", min=float(low))
    raise UserError(f"band {band} of field {spec.name!r} is open on both ends; give a lower or upper bound")


def observed_ranges(con, relation: str, name: str) -> tuple[int, int, list[Band]]:
    """(rows holding a range, rows holding a range or an exact value, the distinct ranges) of band field `name`.

    A range is a row whose `<name>_min` differs from its `<name>_max` ("51-200" -> (51, 200)); an open
    range ("5001+") has no max and is (5001, None). An exact count has min = max and is not a range."""
    low, high = quote_identifier(f"{name}_min"), quote_identifier(f"{name}_max")
    ranged = f"{low} IS DISTINCT FROM {high} AND ({low} IS NOT NULL OR {high} IS NOT NULL)"
    ranged_rows, known = con.sql(
        f"SELECT count(*) FILTER (WHERE {ranged}), count(*) FILTER (WHERE {low} IS NOT NULL "
        f"OR {high} IS NOT NULL) FROM {relation}"
    ).fetchall()[0]
    ranges = con.sql(f"SELECT DISTINCT {low}, {high} FROM {relation} WHERE {ranged} ORDER BY ALL").fetchall()
    return (
        ranged_rows,
        known,
        [(None if lo is None else float(lo), None if hi is None else float(hi)) for lo, hi in ranges],
    )


def snap_bands(bands: tuple[Band, ...], ranges: list[Band]) -> tuple[Band, ...]:
    """Business bands moved so that no bound cuts through an observed range (inclusive bounds).

    A band's lower bound b cuts inside a range (lo, hi) when lo < b <= hi; its upper bound b when
    lo <= b < hi. Such a bound moves to the nearest bound the ranges themselves have that cuts
    through none (lower bounds to a range's start, upper bounds to a range's end; a tie widens the
    band). A bound that cuts through no range stays. Bands left empty (low above high) or without
    a bound to move to are dropped, duplicates are merged, order is kept.

    Why: with exported ranges, "employees 50-250" holds exactly the rows "51-200" holds, so the
    data cannot tell it from 51-200, but a prospect with 230 employees would fit it. E.g. with
    ranges 11-50, 51-200, 201-500: (50, 250) -> (51, 200); (1000, None) after 501-1000 -> (1001, None).
    """
    inf = math.inf
    spans = [(-inf if lo is None else lo, inf if hi is None else hi) for lo, hi in ranges]

    def cuts_lower(b: float) -> bool:
        return any(lo < b <= hi for lo, hi in spans)

    def cuts_upper(b: float) -> bool:
        return any(lo <= b < hi for lo, hi in spans)

    starts = sorted({lo for lo, _ in spans if lo != -inf and not cuts_lower(lo)})
    ends = sorted({hi for _, hi in spans if hi != inf and not cuts_upper(hi)})

    def move(b: float | None, cuts, options: list[float], widen: int) -> float | bool | None:
        if b is None or not cuts(b):
            return b
        if not options:
            return False
        return min(options, key=lambda o: (abs(o - b), widen * o))

    out: list[Band] = []
    for low, high in bands:
        new_low = move(low, cuts_lower, starts, widen=1)  # a tie goes to the lower start (wider band)
        new_high = move(high, cuts_upper, ends, widen=-1)  # a tie goes to the higher end
        if new_low is False or new_high is False or (new_low is None and new_high is None):
            continue
        if new_low is not None and new_high is not None and new_low > new_high:
            continue
        band = (new_low, new_high)
        if band not in out:
            out.append(band)
    return tuple(out)


def _category_columns(
    con,
    relation: str,
    spec: FieldSpec,
    position: int,
    include_missing: bool,
    min_count: int,
    column_type: str | None = None,
    counted: list[tuple] | None = None,
) -> list[_Column]:
    """Equality selectors per value; codes from a CASE over the values, or a dictionary join when there are many
    (a CASE is O(values) per row)."""
    column = quote_identifier(spec.name)
    if counted is None:
        rows = con.sql(
            f"SELECT CAST({column} AS VARCHAR) AS v, count(*) FROM {relation} GROUP BY v ORDER BY v"
        ).fetchall()
    else:  # (value, outcome, rows) from _category_counts: summed over the outcome, ordered by value as above
        totals: dict[str | None, int] = {}
        for value, _, count in counted:
            totals[value] = totals.get(value, 0) + count
        rows = sorted(totals.items(), key=lambda item: (item[0] is None, item[0] or ""))
    values = [v for v, c in rows if v is not None and c >= min_count]
    missing = sum(c for v, c in rows if v is None)
    selectors = [Selector(spec.name, "category", "eq", value=v) for v in values]
    selectors += _missing(spec, missing, include_missing, min_count)
    if not selectors:
        return []
    missing_code = len(selectors) if selectors[-1].op == "is_missing" else 0
    expression = f"CASE WHEN base.{column} IS NULL THEN {missing_code} ELSE 0 END"
    if not values:
        return [_Column(selectors, bitmask=False, expression=expression)]
    if len(values) <= _INLINE_VALUES:  # a lookup in the row's own projection keeps the row order: no join, no sort
        lookup = _inline_lookup(column, column_type, [(v, i + 1) for i, v in enumerate(values)], expression)
        return [_Column(selectors, bitmask=False, expression=lookup)]
    dictionary = f"__icp_dict_{position}"
    entries = ", ".join(f"({sql_literal(v)}, {i + 1})" for i, v in enumerate(values))
    join = (
        f"LEFT JOIN (VALUES {entries}) AS {dictionary}(__icp_val, __icp_code) "
        f"ON CAST(base.{column} AS VARCHAR) = {dictionary}.__icp_val"
    )
    return [_Column(selectors, bitmask=False, expression=f"coalesce({dictionary}.__icp_code, {expression})", join=join)]


def _category_group_columns(
    con,
    relation: str,
    spec: FieldSpec,
    position: int,
    outcome: str,
    min_count: int,
    merge_alpha: float,
    column_type: str | None = None,
    counted: list[tuple] | None = None,
) -> list[_Column]:
    """One exclusive column of `in` selectors: the groups of 2+ values `group_categories` finds.

    Values rarer than `min_count` are pooled as one "other" value before grouping (so a field
    with hundreds of small values neither makes criteria of its own nor biases a group); a group
    holding that pool is not a criterion a seller could check, and a group holding every
    value says nothing, so neither becomes a selector; nor does a group of more than
    `MAX_GROUP_VALUES` values (a list too long to check; its values keep their own selectors).
    """
    column = quote_identifier(spec.name)
    if counted is None:
        rows = con.sql(
            f"SELECT CAST({column} AS VARCHAR) AS v, ({outcome})::VARCHAR AS o, count(*) FROM {relation} "
            f"WHERE {column} IS NOT NULL AND ({outcome}) IS NOT NULL GROUP BY ALL ORDER BY ALL"
        ).fetchall()
    else:
        merged: dict[tuple[str, str], int] = {}
        for value, klass, count in counted:
            if value is not None and klass is not None:
                merged[(value, klass)] = merged.get((value, klass), 0) + count
        rows = sorted((v, o, c) for (v, o), c in merged.items())
    table: dict[str, dict[str, int]] = {}
    for value, klass, count in rows:
        table.setdefault(value, {})[klass] = count
    totals = {v: sum(c.values()) for v, c in table.items()}
    pooled: dict[str, dict[str, int]] = {}
    for value, counts in table.items():
        key = value if totals[value] >= min_count else _OTHER
        for klass, count in counts.items():
            pooled.setdefault(key, {}).setdefault(klass, 0)
            pooled[key][klass] += count
    groups = [
        g
        for g in group_categories(pooled, alpha=merge_alpha)
        if 1 < len(g) <= MAX_GROUP_VALUES and _OTHER not in g and len(g) < len(pooled)
    ]
    if not groups:
        return []
    selectors = [Selector(spec.name, "category", "in", values=tuple(sorted(g))) for g in groups]
    members = [(v, i + 1) for i, s in enumerate(selectors) for v in s.values or ()]
    if len(members) <= _INLINE_VALUES:
        return [_Column(selectors, bitmask=False, expression=_inline_lookup(column, column_type, members, "0"))]
    dictionary = f"__icp_group_{position}"
    entries = ", ".join(f"({sql_literal(v)}, {code})" for v, code in members)
    join = (
        f"LEFT JOIN (VALUES {entries}) AS {dictionary}(__icp_val, __icp_code) "
        f"ON CAST(base.{column} AS VARCHAR) = {dictionary}.__icp_val"
    )
    return [_Column(selectors, bitmask=False, expression=f"coalesce({dictionary}.__icp_code, 0)", join=join)]


MAX_GROUP_VALUES = 12
_OTHER = "\x00other"  # the pool of rare values; no real value starts with NUL


def group_categories(counts: dict[str, dict[str, int]], *, alpha: float = 0.05) -> list[frozenset[str]]:
    """Groups of category values whose outcome mix cannot be told apart (CHAID's merge step).

    counts: value -> {outcome class -> rows}. Values are ordered by their mean outcome class
    (classes sorted as strings; for two classes, the rate of the second). Then, as in CHAID
    (Kass 1980): the adjacent pair whose chi-square test of homogeneity (2 x classes) has the
    largest p-value is merged while that p-value exceeds alpha / (V - 1), Bonferroni over the V - 1
    adjacent comparisons (CHAID merges at alpha itself, which splits noise values apart by chance
    whenever a real split elsewhere makes the whole grouping significant); and the grouping as a whole must
    be significant after CHAID's Bonferroni multiplier for a nominal field, the number of ways to
    split V values into g groups (the Stirling number S(V, g)): while p(g groups x classes) * S(V, g)
    >= alpha, the most similar adjacent pair is merged again. Noise fields therefore end as one
    group (no split), however their observed rates happen to fall. Returns the groups, lowest
    outcome first; every value is in exactly one group.
    """
    from scipy.stats import chi2_contingency

    classes = sorted({k for c in counts.values() for k in c})
    if len(classes) < 2 or len(counts) < 2:
        return [frozenset(counts)] if counts else []
    matrix = {v: np.array([counts[v].get(k, 0) for k in classes], dtype=float) for v in counts}

    def mean_class(row: np.ndarray) -> float:
        return float(np.dot(row, np.arange(len(classes))) / max(row.sum(), 1))

    def p_value(*rows: np.ndarray) -> float:
        table = np.vstack(rows)
        table = table[:, table.sum(axis=0) > 0]
        if table.shape[1] < 2:
            return 1.0
        return float(chi2_contingency(table, correction=False).pvalue)

    order = sorted(counts, key=lambda v: (mean_class(matrix[v]), v))
    groups = [([v], matrix[v].copy()) for v in order]
    pairs = [p_value(groups[i][1], groups[i + 1][1]) for i in range(len(groups) - 1)]

    def merge(i: int) -> None:
        merged = (groups[i][0] + groups[i + 1][0], groups[i][1] + groups[i + 1][1])
        groups[i : i + 2] = [merged]
        del pairs[i]
        if i > 0:
            pairs[i - 1] = p_value(groups[i - 1][1], merged[1])
        if i < len(groups) - 1:
            pairs[i] = p_value(merged[1], groups[i + 1][1])

    n_values = len(order)
    while pairs and max(pairs) > alpha / (n_values - 1):
        merge(int(np.argmax(pairs)))
    while pairs:
        overall = p_value(*(row for _, row in groups))
        if overall == 0.0 or math.log(overall) + _log_stirling2(n_values, len(groups)) < math.log(alpha):
            break
        merge(int(np.argmax(pairs)))
    return [frozenset(values) for values, _ in groups]


def _log_stirling2(n: int, k: int) -> float:
    """log S(n, k), the Stirling number of the second kind (ways to split n labelled values into k groups)."""
    row = [1]  # S(0, 0)
    for m in range(1, n + 1):
        row = [0] + [j * (row[j] if j < len(row) else 0) + row[j - 1] for j in range(1, min(m, k) + 1)]
    return math.log(row[k]) if k < len(row) and row[k] else 0.0


def _list_columns(
    con,
    relation: str,
    spec: FieldSpec,
    position: int,
    include_missing: bool,
    min_count: int,
    column_type: str | None = None,
) -> list[_Column]:
    """`contains` per element; rows' element codes from unnest + dictionary join, packed as bits."""
    column = quote_identifier(spec.name)
    # counted over the distinct lists (a handful of combinations, typically) rather than every row's elements;
    # the row with a NULL element is the missing count (an unnested element is never NULL: list_distinct drops them)
    lists = f"SELECT {column} AS __icp_list, count(*) AS __icp_n FROM {relation} GROUP BY ALL"
    rows = con.sql(
        f"WITH lists AS ({lists}) "
        "SELECT e, sum(__icp_n)::BIGINT FROM (SELECT unnest(list_distinct(__icp_list)) AS e, __icp_n FROM lists) "
        "GROUP BY e UNION ALL SELECT NULL, coalesce(sum(__icp_n), 0)::BIGINT FROM lists "
        "WHERE __icp_list IS NULL OR len(__icp_list) = 0 ORDER BY 1 NULLS LAST"
    ).fetchall()
    missing_rows = rows.pop()[1]
    selectors = [Selector(spec.name, "list", "contains", value=str(e)) for e, c in rows if c >= min_count]
    selectors += _missing(spec, missing_rows, include_missing, min_count)
    if not selectors:
        return []
    groups = range(0, len(selectors), _BITS_PER_COLUMN)
    missing = f"base.{column} IS NULL OR len(base.{column}) = 0"
    inline = _inline_lists(con, relation, column, column_type, selectors, missing)
    if inline is not None:
        return inline
    # each distinct list's bits, computed once per list and joined back to the rows by the list itself
    hits = f"__icp_hits_{position}"
    bits, expressions = [], []
    for g in groups:
        group = selectors[g : g + _BITS_PER_COLUMN]
        values = [s.value for s in group if s.op == "contains"]
        if values:
            powers = "[" + ", ".join(str(1 << i) for i in range(len(values))) + "]"
            found = f"nullif(list_position([{', '.join(sql_literal(v) for v in values)}], CAST(e AS VARCHAR)), 0)"
            bits.append(
                f"coalesce(list_sum(list_transform(list_distinct(__icp_list), lambda e: coalesce({powers}[{found}], "
                f"0))), 0) AS __icp_g{g // _BITS_PER_COLUMN}"
            )
            expression = f"coalesce({hits}.__icp_g{g // _BITS_PER_COLUMN}, 0)"
        else:
            expression = "0"
        if group[-1].op == "is_missing":
            expression += f" + CASE WHEN {missing} THEN {1 << (len(group) - 1)} ELSE 0 END"
        expressions.append(expression)
    join = (
        (
            f"LEFT JOIN (SELECT __icp_list, {', '.join(bits)} FROM (SELECT DISTINCT {column} AS __icp_list "
            f"FROM {relation} WHERE {column} IS NOT NULL AND len({column}) > 0)) AS {hits} "
            f"ON {hits}.__icp_list IS NOT DISTINCT FROM base.{column}"
        )
        if bits
        else None
    )
    return [
        _Column(selectors[g : g + _BITS_PER_COLUMN], bitmask=True, expression=expression, join=join if g == 0 else None)
        for g, expression in zip(groups, expressions)
    ]


def _inline_lists(
    con, relation: str, column: str, column_type: str | None, selectors: list[Selector], missing: str
) -> list[_Column] | None:
    """Bitmask columns whose codes come from a CASE over the field's distinct lists, when there are few
    (`_INLINE_VALUES`) and none holds a NULL element: the projection keeps the row order, so no join and no
    sort. None otherwise (the caller joins a dictionary of the lists)."""
    if column_type != "VARCHAR[]":
        return None
    lists = [
        row[0]
        for row in con.execute(
            f"SELECT DISTINCT {column} FROM {relation} WHERE {column} IS NOT NULL "
            f"AND len({column}) > 0 LIMIT {_INLINE_VALUES + 1}"
        ).fetchall()
    ]
    if len(lists) > _INLINE_VALUES or any(e is None for values in lists for e in values):
        return None
    lists.sort()
    out = []
    for start in range(0, len(selectors), _BITS_PER_COLUMN):
        group = selectors[start : start + _BITS_PER_COLUMN]
        slots = {s.value: 1 << i for i, s in enumerate(group) if s.op == "contains"}
        whens = []
        for values in lists:
            bits = sum(slots.get(v, 0) for v in set(values))
            if bits:
                whens.append(f"WHEN [{', '.join(sql_literal(v) for v in values)}]::VARCHAR[] THEN {bits}")
        expression = f"CASE base.{column} {' '.join(whens)} ELSE 0 END" if whens else "0"
        if group[-1].op == "is_missing":
            expression += f" + CASE WHEN {missing} THEN {1 << (len(group) - 1)} ELSE 0 END"
        out.append(_Column(group, bitmask=True, expression=expression))
    return out


def _number_columns(con, relation: str, spec: FieldSpec, include_missing: bool, min_count: int) -> list[_Column]:
    column = quote_identifier(spec.name)
    values, counts = _fetch_value_counts(
        con, f"SELECT {column} AS v, count(*) AS c FROM {relation} WHERE {column} IS NOT NULL GROUP BY v ORDER BY v"
    )
    missing = con.sql(f"SELECT count(*) FROM {relation} WHERE {column} IS NULL").fetchall()[0][0]
    if len(values) <= spec.n_bins:
        selectors = [
            Selector(spec.name, "number", "eq", value=float(v)) for v, c in zip(values, counts) if c >= min_count
        ]
    else:
        cuts = equal_frequency_cut_points(values, counts, spec.n_bins)
        if spec.round_cuts:
            cuts = round_cut_points(cuts, values, counts)
        edges = [-math.inf, *cuts, math.inf]
        rows_before = np.concatenate([[0], np.cumsum(counts)])[np.searchsorted(values, edges, side="left")]
        bin_rows = np.diff(rows_before)
        selectors = [
            _bin_selector(spec.name, low, high)
            for low, high, rows in zip(edges[:-1], edges[1:], bin_rows)
            if rows >= max(min_count, 1)
        ]
    return _exclusive(selectors + _missing(spec, missing, include_missing, min_count))


def round_cut_points(
    cuts: list[float], values: np.ndarray, counts: np.ndarray, *, max_shift: float = 0.1
) -> list[float]:
    """Cut points snapped to round numbers a seller would write ($47,312 -> $47,000; 1,987 -> 2,000).

    Each cut moves to the roundest number (fewest significant digits, 1 to 3) whose bin boundary
    moves at most `max_shift` of the rows per bin (n / (len(cuts) + 1)); otherwise it stays. Cuts
    that coincide after rounding are merged. Equal-frequency cuts are arbitrary to a few rows, so
    a round boundary fits as well and reads as a business band.
    """
    ends = np.concatenate([[0], np.cumsum(counts)])
    tolerance = max_shift * ends[-1] / (len(cuts) + 1)

    def rows_below(x: float) -> int:
        return int(ends[np.searchsorted(values, x, side="left")])

    snapped: list[float] = []
    for cut in cuts:
        best = cut
        if cut != 0:
            for digits in (1, 2, 3):
                magnitude = 10 ** (math.floor(math.log10(abs(cut))) - digits + 1)
                candidate = round(cut / magnitude) * magnitude
                if abs(rows_below(candidate) - rows_below(cut)) <= tolerance:
                    best = float(candidate)
                    break
        if not snapped or best > snapped[-1]:
            snapped.append(best)
    return snapped


def _fetch_value_counts(con, query: str) -> tuple[np.ndarray, np.ndarray]:
    result = con.sql(query).fetchnumpy()
    return np.asarray(result["v"], dtype=float), np.asarray(result["c"], dtype=np.int64)


def _bin_selector(name: str, low: float, high: float) -> Selector:
    if low == -math.inf:
        return Selector(name, "number", "lte", max=float(high), max_exclusive=True)
    if high == math.inf:
        return Selector(name, "number", "gte", min=float(low))
    return Selector(name, "number", "between", min=float(low), max=float(high), max_exclusive=True)


def equal_frequency_cut_points(values: np.ndarray, counts: np.ndarray, n_bins: int) -> list[float]:
    """pysubgroup's equal-frequency cut points, from sorted distinct values and their counts.

    pysubgroup sorts the non-missing values, takes the value at position i * n // n_bins for
    i = 1 .. n_bins - 1, and when that value is already a cut point moves on to the next value
    that is not; the bins are then [-inf, c1), [c1, c2), ..., [c_last, inf).
    """
    ends = np.cumsum(counts)  # sorted positions before ends[j] hold values[: j + 1]
    n = int(ends[-1]) if len(ends) else 0
    cuts: list[float] = []
    for i in range(1, n_bins):
        j = int(np.searchsorted(ends, i * n // n_bins, side="right"))
        if cuts and values[j] <= cuts[-1]:
            j = int(np.searchsorted(values, cuts[-1], side="right"))
            if j == len(values):
                continue
        cuts.append(float(values[j]))
    return cuts


def _encode(con, relation: str, columns: list[_Column], field_names: list[str]) -> SelectorSet:
    """Run one query computing every column's code per row, in the relation's row order."""
    joins = " ".join(col.join for col in columns if col.join)
    outputs = ", ".join(
        f"CAST({col.expression} AS {_sql_type(col.cardinality)}) AS c{i}" for i, col in enumerate(columns)
    )
    if columns:
        if joins:
            # row_number() OVER () numbers rows in the relation's order; the joins do not keep that
            # order, so the result is sorted back by it.
            query = (
                f"WITH base AS (SELECT row_number() OVER () AS {_ROW}, * FROM {relation}) "
                f"SELECT {outputs} FROM base {joins} ORDER BY base.{_ROW}"
            )
        else:  # a projection of one table keeps its row order
            query = f"SELECT {outputs} FROM {relation} AS base"
        fetched = con.sql(query).fetchnumpy()
        cardinality = np.array([col.cardinality for col in columns], dtype=np.int64)
        codes = np.empty((len(columns), len(fetched["c0"])), dtype=_dtype(int(cardinality.max())))
        for i in range(len(columns)):
            codes[i] = fetched[f"c{i}"]
    else:
        n_rows = con.sql(f"SELECT count(*) FROM {relation}").fetchall()[0][0]
        cardinality = np.zeros(0, dtype=np.int64)
        codes = np.zeros((0, n_rows), dtype=np.uint8)

    selectors = [selector for col in columns for selector in col.selectors]
    fields = [name for name in field_names if any(s.field == name for s in selectors)]
    field_position = {name: i for i, name in enumerate(fields)}
    return SelectorSet(
        selectors=selectors,
        n=codes.shape[1],
        codes=codes,
        fields=fields,
        selector_field=np.array([field_position[s.field] for s in selectors], dtype=np.int64),
        selector_column=np.array([i for i, col in enumerate(columns) for _ in col.selectors], dtype=np.int64),
        selector_slot=np.array(
            [j if col.bitmask else j + 1 for col in columns for j in range(len(col.selectors))], dtype=np.int64
        ),
        column_bitmask=np.array([col.bitmask for col in columns], dtype=bool),
        column_cardinality=cardinality,
    )


def _sql_type(cardinality: int) -> str:
    return "UTINYINT" if cardinality <= 2**8 else "USMALLINT" if cardinality <= 2**16 else "UINTEGER"


def _dtype(cardinality: int) -> type[np.unsignedinteger]:
    return np.uint8 if cardinality <= 2**8 else np.uint16 if cardinality <= 2**16 else np.uint32
