"""Positional lookups: each row reads its stored values from a list at its raw value's position, keeping file order.

A column's lookup `_lk_<i>` holds each distinct raw value with its stored values (`lookups.lookup_sql`). A hash join
of the rows to it loses the rows' order, and restoring it is a sort of every stored column, the most expensive step
of a large import (3.2 s of 9.3 s at 10M Parquet rows). So the stored values go into lists (one row, `_lk_lists`) and
a row reads them at a position computed from its raw value; the statement is then projections only, which DuckDB runs
on every thread and stores in the file's order. Three ways to find the position, cheapest first:

- **a perfect hash** (up to PERFECT_MAX values): `hash(raw) % M` with M chosen so that no two of the lookup's raw
  values share a slot (checked in SQL). DuckDB hashes a dictionary-encoded column (Parquet, compressed tables) once
  per dictionary entry: 7 ns per row against 23 ns for an ENUM cast (10M Parquet rows, one thread).
- **a two-level perfect hash** or, with few rows a value, **an ENUM** of the raw values (up to
  `importer.ENUM_MAX_VALUES`, or `importer.ENUM_WIDE_MAX` when many rows repeat each value and the direct reading
  below is a costly one): the position is the value's slot (`displaced_slots`) or its ENUM code.
- **a direct reading** of a bigger lookup (`direct_reading`): nearly always figures and dates ("$12,500", "1,250",
  "$1.2M", "03/14/2024"), thousands of distinct values each read the same way. Per stored field, the cheapest
  candidate expression over the raw text (a cast after removing a currency symbol and grouping marks, a scaled figure,
  a date format, the text itself, a constant) that agrees with the lookup on the most distinct values is chosen, and
  the combination is proven in SQL over every distinct value: where it applies it gives exactly the lookup's stored
  values (`IS NOT DISTINCT FROM`, field by field). The few values where it does not ("n/a", "51-200", "1.250,5 €")
  are read by position as above. A column no candidate covers keeps the join (`importer._write_rows`).

Every position is exact for the rows' values, because a lookup is built from the distinct values of the same rows: the
stored rows are identical to the join's, whatever the export's formats.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from icp_agent.sql import one, sql_literal
from icp_agent.sql import quote_identifier as _q

# Candidates are SQL templates over `{v}`, a non-NULL raw value. A currency symbol is removed before the cast (which
# ignores surrounding spaces); which currency the stored value has, the lookup says (the currency field's candidate is
# its most frequent value: values of another currency stay in the ENUM). `replace` rather than `trim(v, chars)`: a
# trim by a set of characters cost 0.23 s per 1M values, a replace 0.05 s.
_BODY = "replace(replace({v}, '$', ''), ',', '')"  # "." marks decimals, "," groups thousands
_BODY_POUND = "replace(replace({v}, '£', ''), ',', '')"
_BODY_COMMA = "replace(replace(replace({v}, '€', ''), '.', ''), ',', '.')"  # "," marks decimals
# a figure with a scale letter ("$1.2M", "$500K") as `normalize.parse_amount` reads it: round(value * scale, 6).
# `rtrim` and `ends_with`, not `left(body, -1)` and `CASE right(body, 1) WHEN ...`: DuckDB counts characters for left
# and right and evaluates the CASE's operand again for each WHEN (1.02 against 0.63 s of CPU per 10M values)
_SCALED = (
    f"coalesce(TRY_CAST({_BODY} AS DOUBLE), round(TRY_CAST(rtrim({_BODY}, 'KkMB') AS DOUBLE) * "
    f"CASE WHEN ends_with({_BODY}, 'M') THEN 1000000.0 WHEN ends_with({_BODY}, 'K') OR ends_with({_BODY}, 'k') "
    f"THEN 1000.0 WHEN ends_with({_BODY}, 'B') THEN 1000000000.0 END, 6))"
)
_NUMBERS = (
    "TRY_CAST({v} AS DOUBLE)",
    f"TRY_CAST({_BODY} AS DOUBLE)",
    f"TRY_CAST({_BODY_POUND} AS DOUBLE)",
    f"TRY_CAST({_BODY_COMMA} AS DOUBLE)",
    _SCALED,
)
_DATE_FORMATS = ("%m/%d/%Y", "%d/%m/%Y", "%Y/%m/%d", "%d.%m.%Y", "%m-%d-%Y", "%d-%m-%Y")
_DATES = ("TRY_CAST({v} AS DATE)", *(f"CAST(TRY_STRPTIME({{v}}, '{f}') AS DATE)" for f in _DATE_FORMATS))
_TEXTS = ("{v}", "trim({v})")
# the readings as cheap per row as an ENUM lookup or cheaper: a cast of the raw text, the text itself. The others
# (a currency symbol and grouping marks removed, a scale letter, a date format) cost 60-95 ns a row at 10M Parquet
# rows against 40 ns for the ENUM code of one of 10k values (`importer.ENUM_WIDE_MAX` weighs the two).
CHEAP_READINGS = frozenset({"TRY_CAST({v} AS DOUBLE)", "TRY_CAST({v} AS DATE)", *_TEXTS})
_NUMERIC_TYPES = ("DOUBLE", "FLOAT", "BIGINT", "INTEGER", "HUGEINT", "SMALLINT", "TINYINT", "UBIGINT")


@dataclass
class DirectReading:
    """How rows read column i's stored values without the join.

    `columns`: (alias, SQL over the row's raw value) computed once per row below the lookups; `applies`: SQL over
    those aliases, true where `values` hold, the rest read by position (None: `values` hold wherever the raw value is
    not in the rest, which every row then asks of a hash table of it); `values`: per stored name, its SQL over the aliases;
    `rest_table`: the lookup's rows (non-NULL raw values) the expressions do not cover; `rest`: their number;
    `costly`: whether an expression does more than cast the raw text (`CHEAP_READINGS`), costing more per row than an
    ENUM lookup does.
    """

    columns: list[tuple[str, str]]
    applies: str | None
    values: list[str]
    rest_table: str
    rest: int
    costly: bool = False


def _leaves(name: str, dtype: str) -> list[tuple[str, str, str | None]] | None:
    """(SQL path of a stored field, its type, its struct field name or None) for a lookup column: a band's struct
    gives its fields; None for a type no candidate reads (lists, nested structs)."""
    if dtype.startswith("STRUCT(") and dtype.endswith(")"):
        leaves: list[tuple[str, str, str | None]] = []
        for part in dtype[len("STRUCT(") : -1].split(", "):
            field, _, ftype = part.partition(" ")
            if not ftype or "(" in ftype or "[" in ftype:
                return None
            field = field.strip('"')
            leaves.append((f"{_q(name)}.{_q(field)}", ftype, field))
        return leaves
    if dtype in _NUMERIC_TYPES or dtype in ("DATE", "VARCHAR", "BOOLEAN"):
        return [(_q(name), dtype, None)]
    return None


def _candidates(dtype: str) -> tuple[str, ...]:
    """Candidate templates for a field of this type, cheapest first (each but the texts applies where non-NULL)."""
    if dtype in _NUMERIC_TYPES:
        return _NUMBERS
    if dtype == "DATE":
        return _DATES
    if dtype == "VARCHAR":
        return _TEXTS
    return ()


def _literal(value: object, dtype: str) -> str:
    """A constant candidate: `value` as SQL of the field's type."""
    if value is None:
        return f"CAST(NULL AS {dtype})"
    if isinstance(value, str):
        return f"CAST({sql_literal(value)} AS {dtype})"
    return f"CAST({sql_literal(str(value))} AS {dtype})"


# The distinct values a direct reading's candidates are scored on, at most about: their choice only decides which
# candidate is then proven on every value (90k distinct ARR figures: 0.039 s of scoring against 0.004 s)
SCORE_SAMPLE = 4096


def direct_reading(
    con: duckdb.DuckDBPyConnection, i: int, raw: str, names: list[str], limit: int, size: int = 0
) -> DirectReading | None:
    """The direct reading of lookup `_lk_<i>` (stored fields `names`) for rows whose raw value is the SQL `raw`, with
    at most `limit` distinct raw values left to its ENUM; None when no candidate leaves so few (the caller joins).

    Builds `_lk_r_<i>`, the lookup's rows the reading does not cover. Cost: three aggregates over the lookup's rows.
    The candidates are scored on about SCORE_SAMPLE of them when the lookup holds `size` more (a sample by hash, the
    same on every run); the one chosen is then proven on every value, as always.
    """
    types = dict(
        con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? AND database_name = 'temp'",
            [f"_lk_{i}"],
        ).fetchall()
    )
    fields: list[tuple[int, str, str, str | None]] = []  # (stored name's index, SQL path, type, struct field)
    for k, name in enumerate(names):
        leaves = _leaves(name, types.get(name, ""))
        if leaves is None:
            return None
        fields += [(k, path, dtype, field) for path, dtype, field in leaves]
    modes = con.execute(
        f"SELECT {', '.join(f'mode({path})' for _, path, _, _ in fields)} FROM _lk_{i} WHERE raw IS NOT NULL"
    ).fetchone() or [None] * len(fields)
    # per field: (candidate template, applies where non-NULL); the last is the constant, its most frequent value
    options = [
        [(c, c not in _TEXTS) for c in _candidates(dtype)] + [(_literal(mode, dtype), False)]
        for (_, _, dtype, _), mode in zip(fields, modes, strict=True)
    ]
    lookup = f"_lk_{i} WHERE raw IS NOT NULL"
    sampled = lookup + (f" AND hash(raw) % {size // SCORE_SAMPLE} = 0" if size >= 2 * SCORE_SAMPLE else "")
    scores = [
        f"count(*) FILTER ({cand.format(v='raw')} IS NOT DISTINCT FROM {path}"
        + (f" AND {cand.format(v='raw')} IS NOT NULL)" if nullable else ")")
        for (_, path, _, _), found in zip(fields, options, strict=True)
        for cand, nullable in found
    ]
    counts = list(con.execute(f"SELECT {', '.join(scores)} FROM {sampled}").fetchone() or [])
    chosen: list[tuple[str, bool]] = []
    for found in options:
        mine, counts = counts[: len(found)], counts[len(found) :]
        chosen.append(found[mine.index(max(mine))])  # the cheapest of the best
    applies_sql = " AND ".join(sorted({f"{c.format(v='raw')} IS NOT NULL" for c, n in chosen if n})) or "TRUE"
    agree_sql = " AND ".join(
        f"{cand.format(v='raw')} IS NOT DISTINCT FROM {path}"
        for (_, path, _, _), (cand, _) in zip(fields, chosen, strict=True)
    )
    wrong, uncovered, unequal = con.execute(
        f"SELECT count(*) FILTER (({applies_sql}) AND NOT ({agree_sql})), count(*) FILTER (NOT ({applies_sql})), "
        f"count(*) FILTER (NOT (({applies_sql}) AND {agree_sql})) FROM {lookup}"
    ).fetchone() or (0, 0, 0)
    # Where the candidates agree wherever they apply, a row needs the ENUM only where they do not; else every row
    # looks itself up in the ENUM of the values they get wrong, and reads the candidates where it is not there.
    if wrong == 0 and uncovered <= limit:
        rest_filter, rest, holds = f"NOT ({applies_sql})", int(uncovered), True
    elif unequal <= limit:
        rest_filter, rest, holds = f"NOT (({applies_sql}) AND {agree_sql})", int(unequal), False
    else:
        return None
    con.execute(f"CREATE OR REPLACE TEMP TABLE _lk_r_{i} AS SELECT * FROM {lookup} AND {rest_filter}")
    aliases: dict[str, str] = {}
    for cand, _ in chosen:
        aliases.setdefault(cand, f"__dv_{i}_{len(aliases)}")
    values = []
    for k in range(len(names)):
        mine = [(dtype, field, cand) for (f, _, dtype, field), (cand, _) in zip(fields, chosen, strict=True) if f == k]
        if mine[0][1] is None:
            values.append(f"CAST({aliases[mine[0][2]]} AS {mine[0][0]})")
        else:  # a struct (a band): its fields in order
            inner = ", ".join(f"{_q(str(field))} := CAST({aliases[cand]} AS {dtype})" for dtype, field, cand in mine)
            values.append(f"struct_pack({inner})")
    nullable = sorted({aliases[c] for c, n in chosen if n})
    applies = (" AND ".join(f"{a} IS NOT NULL" for a in nullable) or "TRUE") if holds else None
    return DirectReading(
        columns=[(alias, cand.format(v=raw)) for cand, alias in aliases.items()],
        applies=applies,
        values=values,
        rest_table=f"_lk_r_{i}",
        rest=rest,
        costly=any(cand not in CHEAP_READINGS and "{v}" in cand for cand in aliases),
    )


# A lookup of at most this many rows is read by a perfect hash: its slot list then has about n^2 / 2 entries
# (131k at 512), built once; a bigger one by its ENUM.
PERFECT_MAX = 512


def perfect_slots(con: duckdb.DuckDBPyConnection, rows: str, n: int) -> int | None:
    """M such that `hash(raw) % M` differs for each of the `n` rows of `rows` (SQL: a table, maybe with a WHERE; a NULL
    raw value has a hash too), or None past PERFECT_MAX rows. With M near n(n-1)/2 a random M is free of collisions
    with probability about 1/e, so 256 consecutive candidates fail together with probability under 1e-50.

    The n hashes are fetched and the candidates tried in Python, a few sets of n integers: DuckDB's unsigned hash and
    Python's % agree on non-negative numbers. Each candidate was a group of a GROUP BY over 256 x n rows (35 ms for a
    lookup of 500 values)."""
    if n > PERFECT_MAX:
        return None
    hashes = [h for (h,) in con.execute(f"SELECT hash(raw) FROM {rows}").fetchall()]
    low = max(n, n * (n - 1) // 2)
    return next((m for m in range(low, low + 256) if len({h % m for h in hashes}) == n), None)


# Past PERFECT_MAX values, up to DISPLACED_MAX, a lookup is read by a two-level perfect hash ("hash and displace",
# Belazzougui, Botelho and Dietzfelbinger 2009, CHD): the values are grouped in buckets of about KEYS_PER_BUCKET by
# hash(raw) % B; each bucket has a displacement d, chosen when the lists are built, that sends each of its values to
# its own slot (h >> 32) + d * s(h) mod M among M, the least prime past 1.5 n, where the step s(h) =
# (h & 0xFFFFFFFF) mod (M - 1) + 1 is never a multiple of M, so the d's take a value through every slot
# (`displaced_slots`). A row reads its
# bucket's d from a list of B integers: 16 ns a row at 10M Parquet rows of 10k values, against 33 ns for the code of
# an ENUM of them (one thread). Past DISPLACED_MAX values (or with a bucket no d places) the ENUM.
DISPLACED_MAX = 1 << 18
# ... when the `rows` written are this many a value or more: placing the values costs ~2 us each in Python on one core,
# and saves ~17 ns a row spread over two
DISPLACED_ROWS_PER_VALUE = 256
KEYS_PER_BUCKET = 2
DISPLACEMENT_TRIES = 4096
_LOW_32 = 0xFFFFFFFF


@dataclass
class Displaced:
    """A two-level perfect hash of a lookup's raw values: `buckets` (B), `slots` (M) and per bucket its displacement."""

    buckets: int
    slots: int
    displacements: list[int]

    def slot(self, h: str, displacement: str) -> str:
        """SQL: the slot (0-based) of the value whose hash is the SQL `h`, its bucket's displacement the SQL
        `displacement` (an INTEGER; see `bucket`)."""
        step = f"(({h} & {_LOW_32}) % {self.slots - 1} + 1)"
        return f"(({h} >> 32) + CAST({displacement} AS UBIGINT) * {step}) % {self.slots}"

    def bucket(self, h: str) -> str:
        """SQL: the 1-based index of the bucket of the value whose hash is the SQL `h`, in the displacements' list."""
        return f"({h} % {self.buckets})::BIGINT + 1"


def _prime_from(n: int) -> int:
    """The least prime >= n (n >= 2), by trial division: at most a few hundred divisions near DISPLACED_MAX."""
    while any(n % k == 0 for k in range(2, int(n**0.5) + 1)):
        n += 1
    return n


def displaced_slots(con: duckdb.DuckDBPyConnection, rows: str, n: int) -> Displaced | None:
    """A two-level perfect hash (see DISPLACED_MAX) of the `n` rows of `rows` (SQL: a table; a NULL raw value has a
    hash too), or None past DISPLACED_MAX rows, when two values share a hash, or when a bucket finds no displacement
    in DISPLACEMENT_TRIES (the fullest buckets placed first, two thirds of the slots filled at the end: none has come
    near). The hashes are fetched and placed in Python: 10k values in about 20 ms."""
    if n > DISPLACED_MAX:
        return None
    hashes = [h for (h,) in con.execute(f"SELECT hash(raw) FROM {rows}").fetchall()]
    if len(set(hashes)) != len(hashes):
        return None
    buckets = max(1, -(-len(hashes) // KEYS_PER_BUCKET))
    slots = _prime_from(len(hashes) * 3 // 2 + 2)
    members: dict[int, list[int]] = {}
    for h in hashes:
        members.setdefault(h % buckets, []).append(h)
    taken = bytearray(slots)
    displacements = [0] * buckets
    for bucket, found in sorted(members.items(), key=lambda item: -len(item[1])):
        high, step = [h >> 32 for h in found], [(h & _LOW_32) % (slots - 1) + 1 for h in found]
        if len(found) == 1:  # its first free slot (every slot is on its way, and a third of them are free)
            d = 0
            while taken[(high[0] + d * step[0]) % slots]:
                d += 1
            taken[(high[0] + d * step[0]) % slots] = 1
            displacements[bucket] = d
            continue
        for d in range(DISPLACEMENT_TRIES):
            placed = {(a + d * b) % slots for a, b in zip(high, step, strict=True)}
            if len(placed) == len(found) and not any(taken[s] for s in placed):
                break
        else:
            return None
        for s in placed:
            taken[s] = 1
        displacements[bucket] = d
    return Displaced(buckets, slots, displacements)


@dataclass
class Positional:
    """A lookup read by position: `lists` (SQL columns of the one-row table `_lk_lists`), `keys` ((alias, SQL) computed
    once per row below the values, over the row's raw value), `values` (per stored name, its SQL over both)."""

    lists: list[str]
    keys: list[tuple[str, str]]
    values: list[str]


def positional_lookup(
    con: duckdb.DuckDBPyConnection,
    i: int,
    raw: str,
    names: list[str],
    direct: DirectReading | None = None,
    size: int | None = None,
    rows: int = 0,
) -> Positional:
    """Lookup `_lk_<i>` (stored names `names`) read by position for rows whose raw value is the SQL `raw`: the same
    values as `LEFT JOIN _lk_<i> ON _lk_<i>.raw IS NOT DISTINCT FROM raw`. With a `direct` reading only its rest is
    read by position (`DirectReading.columns` are the caller's to compute below). `size`: the lookup's rows, when the
    caller has counted them; `rows`: the rows that will read it (a two-level perfect hash pays off past
    DISPLACED_ROWS_PER_VALUE a value). Creates the ENUM type `_lk_e_<i>` or the table of displacements `_lk_d_<i>`
    when one is used (the caller drops it)."""
    table = direct.rest_table if direct else f"_lk_{i}"  # a direct reading's rest holds no NULL raw value
    n = direct.rest if direct else size if size is not None else one(con, f"SELECT count(*) FROM {table}")
    # the NULL raw value's stored values, at the end of each list (a perfect hash gives it a slot of its own)
    null_entry = [f"(SELECT {_q(name)} FROM _lk_{i} WHERE raw IS NULL)" for name in names]
    lists: list[str]
    keys: list[tuple[str, str]] = []
    # a direct reading that does not say where it applies (`applies` None) needs to know whether a value is in the
    # rest: a perfect hash gives every value some slot, so the rest is read by its ENUM and asked of a hash table
    membership = direct is not None and direct.applies is None
    slots = perfect_slots(con, table, n) if n and not membership else None
    wide = n and not membership and slots is None and rows >= DISPLACED_ROWS_PER_VALUE * n
    displaced = displaced_slots(con, table, n) if wide else None

    def listed(entries: str) -> list[str]:
        """Per stored name, its list (`entries`: SQL of a list of column __NAME__), the NULL raw value's entry last."""
        return [
            f"list_append({entries.replace('__NAME__', _q(name))}, {null_entry[k]}) AS __lk_l_{i}_{k}"
            for k, name in enumerate(names)
        ]

    if not n:  # a direct reading with no rest: the lists hold only the NULL raw value's entry
        lists = [f"[{null_entry[k]}] AS __lk_l_{i}_{k}" for k in range(len(names))]
        position, null_at = "1", 1
    elif slots is not None:
        lists = listed(
            f"(SELECT list(l.__NAME__ ORDER BY s.slot) FROM range({slots}) s(slot) "
            f"LEFT JOIN {table} l ON hash(l.raw) % {slots} = s.slot)"
        )
        position, null_at = f"(hash({raw}) % {slots})::BIGINT + 1", slots + 1
    elif displaced is not None:
        # the displacements in a list beside the stored values'; each row's hash computed once below them
        con.execute(f"CREATE OR REPLACE TEMP TABLE _lk_d_{i} AS SELECT ?::INTEGER[] AS d", [displaced.displacements])
        at = displaced.slot("hash(l.raw)", f"b.d[{displaced.bucket('hash(l.raw)')}]")
        lists = listed(
            f"(SELECT list(l.__NAME__ ORDER BY s.slot) FROM range({displaced.slots}) s(slot) "
            f"LEFT JOIN (SELECT l.*, {at} AS _slot FROM {table} l, _lk_d_{i} b) l ON l._slot = s.slot)"
        )
        lists.append(f"(SELECT d FROM _lk_d_{i}) AS __lk_d_{i}")
        keys.append((f"__lk_h_{i}", f"hash({raw})"))
        h = f"__lk_h_{i}"
        position = f"({displaced.slot(h, f'__lk_d_{i}[{displaced.bucket(h)}]')})::BIGINT + 1"
        null_at = displaced.slots + 1
        if direct is None:
            return Positional(lists, keys, [f"__lk_l_{i}_{k}[{position}]" for k in range(len(names))])
    else:
        con.execute(f"CREATE OR REPLACE TEMP TYPE _lk_e_{i} AS ENUM (SELECT raw FROM {table} WHERE raw IS NOT NULL)")
        present = one(con, f"SELECT count(raw) FROM {table}")
        lists = listed(
            f"(SELECT list(__NAME__ ORDER BY enum_code(CAST(raw AS _lk_e_{i}))) FROM {table} WHERE raw IS NOT NULL)"
        )
        position, null_at = f"coalesce(enum_code(CAST({raw} AS _lk_e_{i})), {present}) + 1", present + 1
    if direct is None:
        keys.append((f"__lk_p_{i}", position))
        return Positional(lists, keys, [f"__lk_l_{i}_{k}[__lk_p_{i}]" for k in range(len(names))])
    if not n:
        values = [f"CASE WHEN {raw} IS NULL THEN __lk_l_{i}_{k}[1] ELSE {v} END" for k, v in enumerate(direct.values)]
        return Positional(lists, keys, values)
    if not membership:  # where the expressions apply they hold: the rest is read only where they do not
        values = [
            f"CASE WHEN {raw} IS NULL THEN __lk_l_{i}_{k}[{null_at}] WHEN {direct.applies} THEN {v} "
            f"ELSE __lk_l_{i}_{k}[{position}] END"
            for k, v in enumerate(direct.values)
        ]
        return Positional(lists, keys, values)
    # else every row asks whether it is in the rest (the values the expressions get wrong or miss), by a hash table
    # of the rest's raw values in lists (`__lk_m_<i>`: bucket hash % n, a few values each), and only a row that is reads
    # its stored values at its ENUM code. Not a TRY_CAST to the ENUM: DuckDB's failed cast to an ENUM costs in
    # proportion to the ENUM's size (10 values: 1 us a row; 1,000: 38 us), and most rows fail it here
    lists.append(
        f"(SELECT list(coalesce(b.raws, []) ORDER BY s.slot) FROM range({n}) s(slot) LEFT JOIN "
        f"(SELECT hash(raw) % {n} AS slot, list(raw) AS raws FROM {table} GROUP BY 1) b ON b.slot = s.slot) "
        f"AS __lk_m_{i}"
    )
    keys.append((f"__lk_h_{i}", f"(hash({raw}) % {n})::BIGINT + 1"))
    values = [
        f"CASE WHEN {raw} IS NULL THEN __lk_l_{i}_{k}[{null_at}] WHEN list_contains(__lk_m_{i}[__lk_h_{i}], {raw}) "
        f"THEN __lk_l_{i}_{k}[enum_code(CAST({raw} AS _lk_e_{i})) + 1] ELSE {v} END"
        for k, v in enumerate(direct.values)
    ]
    return Positional(lists, keys, values)


def keeps_order(con: duckdb.DuckDBPyConnection, statement: str) -> bool:
    """Whether DuckDB writes the rows of `statement` (a CREATE TABLE ... AS SELECT) in the order its scan reads them:
    its plan then stores them through a batch insert, which DuckDB chooses only for a plan of order-keeping operators
    (a join or an IN list it turns into one is not). The proof the positional write relies on, whatever an optimizer
    rule of the installed DuckDB does to the SQL; planning only, about 10 ms for an import's write."""
    plan = con.execute(f"EXPLAIN (FORMAT json) {statement}").fetchall()[0][1]
    return '"BATCH_CREATE_TABLE_AS"' in plan
