"""Value lookups: the SQL that turns a planned column's raw text into its stored values. Types in
LOOKUP_TYPES are normalised once per distinct value into a lookup table `_lk_<i>` (categories and list
elements in their most frequent spelling, numbers and money with the decimal mark all the column's values
decide); the others by one expression per value (`typed_exprs`, also used by scoring); a band's struct is
unpacked into <name>, <name>_min and <name>_max."""

from __future__ import annotations

import duckdb

from icp_agent.ingest import normalize as norm
from icp_agent.ingest.columns import PlannedColumn
from icp_agent.sql import one, sql_literal
from icp_agent.sql import quote_identifier as _q

LOOKUP_TYPES = frozenset({"category", "list", "number", "money", "currency"})  # always normalised via `_lk_<i>`


def typed_exprs(column: PlannedColumn, v: str) -> list[tuple[str, str]]:
    """(stored column name, SQL) pairs for a planned column; a band becomes a struct, unpacked later.

    Types in LOOKUP_TYPES have their SQL in `lookup_sql` (it needs the column's other values).
    """
    kind = column.type
    if kind == "band":
        # a plain count ("1250", most of an export's distinct sizes) is its own band without the band parser's regular
        # expressions (5,000 employee counts: 37 -> 18 ms), as scoring reads it; the same struct either way
        count = f"TRY_CAST({v} AS UBIGINT)"
        plain = f"CAST({count} AS DOUBLE)"
        return [
            (
                f"{column.name}__band",
                f"CASE WHEN CAST({count} AS VARCHAR) = {v} THEN struct_pack(min := {plain}, max := {plain}, "
                f"exact := {plain}) ELSE {norm.band(v)} END",
            )
        ]
    if kind == "date":
        return [(column.name, norm.date(v, column.date_order))]
    if column.name == "domain":
        return [(column.name, norm.domain(v))]
    if kind == "bool":
        return [(column.name, norm.boolean(norm.relabel(v, column.value_map), blank_is_no=column.checkbox))]
    return [(column.name, norm.typed(kind, v))]


def stored_names(column: PlannedColumn) -> list[str]:
    """The names a lookup-typed column stores: a money column also keeps the currency its values named."""
    if column.type == "money" and (column.currencies or column.currency_source):
        # a scratch name: `apply_currencies` merges it into `<field>_currency`, which a currency column of
        # the file (or a mapping entry) may already be called
        return [column.name, f"{column.name}__parsed_currency"]
    return [column.name]


def lookup_sql(column: PlannedColumn, i: int, python: bool = True) -> str:
    """SELECT building `_lk_<i>`: each distinct raw value of column i with its normalised value(s).

    Categories and list elements are shown in the most frequent original spelling of their
    case-folded key; numbers and money are read by `norm.amount` with the column's decimal mark (in SQL, else by
    `norm.parse_amount`; with `python` False those values are left unread and marked in a last column `_py`).
    """
    names = [_q(n) for n in stored_names(column)]
    if column.value_map and column.type in ("category", "list"):
        return _mapped_lookup_sql(column, i, names[0])
    if column.type == "category":
        spellings = norm.display_spellings(f"SELECT raw AS value, c AS weight FROM _dist_{i}")
        return (
            f"SELECT d.raw, d.c, d.first_row, s.display AS {names[0]} FROM _dist_{i} d "
            f"LEFT JOIN ({spellings}) s ON s.key = {norm.category_key('d.raw')}"
        )
    if column.type == "list":
        # the elements are split once (materialised); their spellings and keys are computed per distinct element
        # (a few dozen tools), not per element of every distinct value (thousands of combinations), and each element
        # finds its display by plain equality
        exploded = f"SELECT raw, unnest({norm.list_elements('raw')}) AS value, c AS weight FROM _dist_{i}"
        spellings = norm.display_spellings("SELECT value, sum(weight) AS weight FROM x GROUP BY value")
        shown = (
            f"SELECT e.value, s.display FROM (SELECT DISTINCT value FROM x) e "
            f"JOIN ({spellings}) s ON s.key = {norm.category_key('e.value')}"
        )
        return (
            f"WITH x AS MATERIALIZED ({exploded}), shown AS MATERIALIZED ({shown}) "
            f"SELECT d.raw, d.c, d.first_row, CASE WHEN {norm.null_if_missing('d.raw')} IS NULL THEN NULL ELSE "
            f"coalesce(list_sort(list_distinct(list(s.display) FILTER (s.display IS NOT NULL))), []) END "
            f"AS {names[0]} FROM _dist_{i} d LEFT JOIN x ON x.raw = d.raw "
            f"LEFT JOIN shown s ON s.value = x.value GROUP BY d.raw, d.c, d.first_row"
        )
    if column.type == "currency":
        return f"SELECT raw, c, first_row, icp_currency(raw) AS {names[0]} FROM _dist_{i}"
    parts = [f"a.value AS {names[0]}"]
    if column.type == "money":  # the currencies and open bands are counted from the lookup (count_currencies)
        parts += [f"a.currency AS {_q(f'{column.name}__parsed_currency')}", "a.open AS _open"]
    if not python:
        parts.append(f"{norm.left_for_python('raw', 'a')} AS _py")
    # materialised: each field read from `a` would otherwise call the Python parser again
    return (
        f"WITH parsed AS MATERIALIZED (SELECT *, {norm.amount('raw', column.mark, python)} AS a FROM _dist_{i}) "
        f"SELECT raw, c, first_row, {', '.join(parts)} FROM parsed"
    )


def build_lookup(con: duckdb.DuckDBPyConnection, column: PlannedColumn, i: int) -> None:
    """Create `_lk_<i>` (`lookup_sql`). A number or money column's values are read in SQL first; only when some are
    left for the Python parser is it registered (`norm.functions_for`: DuckDB imports numpy to register it, 0.05 s)
    and those values read by it, the same values `lookup_sql` with the parser in it gives."""
    if column.type not in ("number", "money"):
        con.execute(norm.functions_for(con, f"CREATE OR REPLACE TEMP TABLE _lk_{i} AS {lookup_sql(column, i)}"))
        return
    con.execute(f"CREATE OR REPLACE TEMP TABLE _lk_{i} AS {lookup_sql(column, i, python=False)}")
    if one(con, f"SELECT count_if(_py) FROM _lk_{i}"):
        fields = [(_q(column.name), "value")]
        if column.type == "money":
            fields += [(_q(f"{column.name}__parsed_currency"), "currency"), ("_open", "open")]
        sets = ", ".join(f"{name} = p.a.{field}" for name, field in fields)
        con.execute(
            norm.functions_for(
                con,
                f"UPDATE _lk_{i} SET {sets} FROM (SELECT raw AS r, {norm.amount('raw', column.mark)} AS a "
                f"FROM _lk_{i} WHERE _py) p WHERE _lk_{i}.raw = p.r",
            )
        )
    con.execute(f"ALTER TABLE _lk_{i} DROP COLUMN _py")


def _value_map_sql(column: PlannedColumn) -> str:
    """CTEs `_vm` (key of a raw label -> its raw label and the stored label the mapping file gives it) and `_vl`
    (key of a stored label -> the label as the mapping file writes it)."""
    rows = ", ".join(f"({sql_literal(raw)}, {sql_literal(label)})" for raw, label in column.value_map.items())
    return (
        f"_vm AS (SELECT {norm.category_key('r')} AS key, r, t AS target FROM (VALUES {rows}) v(r, t)), "
        f"_vl AS (SELECT DISTINCT {norm.category_key('target')} AS key, target AS label FROM _vm)"
    )


def _mapped_lookup_sql(column: PlannedColumn, i: int, name: str) -> str:
    """`lookup_sql` for a category or list column the mapping file maps labels of (`[values.FIELD]`): a raw value
    (a list's element) whose key a raw label has counts as its stored label, spellings are chosen over the mapped
    values, and a stored label is shown as the mapping file writes it."""
    if column.type == "category":
        mapped = (
            f"SELECT d.raw, d.c, d.first_row, coalesce(_vm.target, d.raw) AS value FROM _dist_{i} d "
            f"LEFT JOIN _vm ON _vm.key = {norm.category_key('d.raw')}"
        )
        spellings = norm.display_spellings("SELECT value, c AS weight FROM x")
        return (
            f"WITH {_value_map_sql(column)}, x AS MATERIALIZED ({mapped}) "
            f"SELECT x.raw, x.c, x.first_row, coalesce(_vl.label, s.display) AS {name} FROM x "
            f"LEFT JOIN ({spellings}) s ON s.key = {norm.category_key('x.value')} "
            f"LEFT JOIN _vl ON _vl.key = {norm.category_key('x.value')}"
        )
    exploded = (
        f"SELECT e.raw, coalesce(_vm.target, e.value) AS value, e.weight FROM (SELECT raw, "
        f"unnest({norm.list_elements('raw')}) AS value, c AS weight FROM _dist_{i}) e "
        f"LEFT JOIN _vm ON _vm.key = {norm.category_key('e.value')}"
    )
    spellings = norm.display_spellings("SELECT value, sum(weight) AS weight FROM x GROUP BY value")
    shown = (
        f"SELECT e.value, coalesce(_vl.label, s.display) AS display FROM (SELECT DISTINCT value FROM x) e "
        f"JOIN ({spellings}) s ON s.key = {norm.category_key('e.value')} "
        f"LEFT JOIN _vl ON _vl.key = {norm.category_key('e.value')}"
    )
    return (
        f"WITH {_value_map_sql(column)}, x AS MATERIALIZED ({exploded}), shown AS MATERIALIZED ({shown}) "
        f"SELECT d.raw, d.c, d.first_row, CASE WHEN {norm.null_if_missing('d.raw')} IS NULL THEN NULL ELSE "
        f"coalesce(list_sort(list_distinct(list(s.display) FILTER (s.display IS NOT NULL))), []) END "
        f"AS {name} FROM _dist_{i} d LEFT JOIN x ON x.raw = d.raw "
        f"LEFT JOIN shown s ON s.value = x.value GROUP BY d.raw, d.c, d.first_row"
    )


def mapped_values(con: duckdb.DuckDBPyConnection, column: PlannedColumn, i: int) -> list[str]:
    """What the mapping file's `[values.FIELD]` did to column i, once its lookup `_lk_<i>` is built: per raw label
    that matched, "'raw label' -> 'stored label': N rows" (a list counts its elements), most rows first; a label
    taken from the workspace's stored tables (`Mapping.with_workspace_values`) says so."""
    if not column.value_map or column.type not in ("category", "list", "bool"):
        return []
    value = f"unnest({norm.list_elements('raw')})" if column.type == "list" else "raw"
    found = con.execute(
        f"WITH {_value_map_sql(column)} SELECT _vm.r, _vm.target, sum(x.c) AS n "
        f"FROM (SELECT {value} AS value, c FROM _dist_{i}) x JOIN _vm ON _vm.key = {norm.category_key('x.value')} "
        f"GROUP BY ALL ORDER BY n DESC, _vm.r"
    ).fetchall()
    earlier = " (the workspace's table: an earlier import's mapping file)"
    return [
        f"{raw!r} -> {label!r}: {int(n):,} row{'s' if n != 1 else ''}" + (earlier if raw in column.inherited else "")
        for raw, label, n in found
    ]


def read_amounts(con: duckdb.DuckDBPyConnection, columns: list[PlannedColumn]) -> None:
    """Decide each number/money column's decimal mark from all its distinct values.

    A column without evidence takes the mark the file's other columns agree on (a German file
    with `1.320.006,00 €` in one column writes `3.200` employees in another).
    """
    values = [i for i, column in enumerate(columns) if column.type in ("number", "money")]
    for i, mark in norm.decimal_marks(con, {i: f"_dist_{i}" for i in values}).items():
        columns[i].mark = mark
    decided = [c.mark for c in columns if c.mark]
    file_mark = max(set(decided), key=decided.count) if decided and len(set(decided)) == 1 else None
    for i in values:
        columns[i].mark = columns[i].mark or file_mark


def unpacked(column: PlannedColumn) -> list[str]:
    """The outer SELECT's columns: a band's struct becomes <name>, <name>_min and <name>_max."""
    if column.type in LOOKUP_TYPES:
        return [_q(n) for n in stored_names(column)]
    if column.type != "band":
        return [_q(column.name)]
    packed = _q(f"{column.name}__band")
    return [
        f"{packed}.exact AS {_q(column.name)}",
        f"{packed}.min AS {_q(column.name + '_min')}",
        f"{packed}.max AS {_q(column.name + '_max')}",
    ]
