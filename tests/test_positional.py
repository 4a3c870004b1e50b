"""Positional lookups (ingest/positional.py): rows read their stored values by position (a perfect hash, an ENUM or a
proven direct expression), never by a join, and store exactly what the join stores, in file order."""

from __future__ import annotations

import duckdb
import pytest

from icp_agent.ingest import importer
from icp_agent.ingest.importer import import_file
from icp_agent.ingest.normalize import MISSING_MARKERS, one_of
from icp_agent.ingest.positional import PERFECT_MAX, direct_reading, displaced_slots, keeps_order, perfect_slots
from icp_agent.workspace import Workspace

# Big lookups in the formats exports carry: ISO and US dates with blanks and markers, European money with its symbol
# after, dollar figures with thousands marks and scale letters, bare decimals and negatives, free-text titles whose
# spelling varies by case (stored in the most frequent spelling), and a small category.
WIDE = """COPY (SELECT range AS "Record ID", 'Acme ' || range AS "Company name",
  CASE WHEN range % 50 = 0 THEN 'n/a' ELSE strftime(DATE '2008-01-01' + CAST(range * 7 % 3000 AS INTEGER), '%Y-%m-%d')
       END AS "Became a Customer Date",
  CASE WHEN range % 37 = 0 THEN '' ELSE strftime(DATE '2010-01-01' + CAST(range * 11 % 2500 AS INTEGER), '%m/%d/%Y')
       END AS "Churn Date",
  CASE WHEN range % 41 = 0 THEN '-' ELSE replace(replace(replace(format('{:,.2f}', (range * 7919 % 900000) / 100.0),
       ',', 'X'), '.', ','), 'X', '.') || ' €' END AS "Contract Value",
  CASE range % 3 WHEN 0 THEN '$' || format('{:,}', range * 13 % 90000) WHEN 1 THEN '$' || (range % 900) || '.5M'
       ELSE 'n/a' END AS "Annual Revenue",
  CASE WHEN range % 4 = 0 THEN NULL ELSE CAST(range * 17 % 5000 - 2500 AS VARCHAR) END AS "NPS Score",
  CASE WHEN range % 9 = 0 THEN '51-200' ELSE CAST(range * 19 % 4000 AS VARCHAR) END AS "Number of Employees",
  ['VP Sales', 'vp sales', 'Head of RevOps', 'CTO'][range % 4 + 1] || ' ' || (range % 2500) AS "Job Title",
  ['Retail', 'RETAIL', 'Computer Software', 'n/a'][range % 4 + 1] AS "Industry"
  FROM range(ROWS)) TO 'PATH' OPTIONS"""


def _stored(path) -> list[tuple]:
    with Workspace(path).connect() as con:
        table = con.execute("SELECT table_name FROM imports").fetchone()[0]
        return con.execute(f"SELECT * FROM {table}").fetchall()  # the stored order: no ORDER BY


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_direct_readings_store_what_joins_store_in_file_order(tmp_path, monkeypatch, fmt):
    """Every big lookup of an export in many formats is read directly (its common values by one proven expression,
    the rest by position): the stored rows, values and report equal the joined ones, in the file's order."""
    rows = 40_000
    source = tmp_path / f"wide.{fmt}"
    options = "(FORMAT parquet, ROW_GROUP_SIZE 5000)" if fmt == "parquet" else "(HEADER)"
    duckdb.connect().execute(WIDE.replace("ROWS", str(rows)).replace("PATH", str(source)).replace("OPTIONS", options))
    readings: list[dict] = []
    real = importer._direct_readings
    monkeypatch.setattr(importer, "_direct_readings", lambda *args: readings.append(r := real(*args)) or r)
    direct = import_file(Workspace(tmp_path / "direct.duckdb"), source, "customers")
    found = readings[0]
    assert found is not None and len(found) == 7  # both dates, both amounts, the scores, the employees, the titles
    rests = sorted(r.rest for r in found.values())
    assert rests[-1] <= importer.ENUM_MAX_VALUES and rests[0] <= 1  # "n/a", "-", "", "51-200" and spellings left
    monkeypatch.setattr(importer, "_direct_readings", lambda *args: None)  # the reference: every lookup joined
    joined = import_file(Workspace(tmp_path / "joined.duckdb"), source, "customers")
    stored = _stored(tmp_path / "direct.duckdb")
    assert stored == _stored(tmp_path / "joined.duckdb") and len(stored) == rows
    assert [r[0] for r in stored] == list(range(1, rows + 1))
    assert direct.model_dump(exclude={"imported_at"}) == joined.model_dump(exclude={"imported_at"})


def test_a_reading_wrong_on_some_values_leaves_them_to_the_enum(tmp_path, monkeypatch):
    """Industries stored in their most frequent spelling: the raw text is right for most values but not for the rarer
    spelling ("retail 7" is stored "Retail 7"); those values are looked up (an ENUM says which), the others read as
    they are. A column no expression covers (lists of tools) keeps the join, with the same result."""
    monkeypatch.setattr(importer, "ENUM_MAX_VALUES", 64)
    source = tmp_path / "industries.csv"
    duckdb.connect().execute(f"""COPY (SELECT range AS "Record ID", 'Acme ' || range AS "Company name",
        CASE WHEN range % 7 = 0 THEN 'retail ' ELSE 'Retail ' END || (range % 40) AS "Industry"
        FROM range(3000)) TO '{source}' (HEADER)""")
    readings: list = []
    real = importer._direct_readings
    monkeypatch.setattr(importer, "_direct_readings", lambda *args: readings.append(r := real(*args)) or r)
    with monkeypatch.context() as patch:  # written by position, in one statement: no join, no sort
        patch.setattr(importer, "_write_rows", lambda *args: pytest.fail("the rows were joined"))
        import_file(Workspace(tmp_path / "direct.duckdb"), source, "customers")
    (industry,) = readings[0].values()
    # "retail 0".."retail 39": every row asks a hash table of them, and those read their ENUM code
    assert industry.applies is None and industry.rest == 40
    monkeypatch.setattr(importer, "_direct_readings", lambda *args: None)
    import_file(Workspace(tmp_path / "joined.duckdb"), source, "customers")
    stored = _stored(tmp_path / "direct.duckdb")
    assert stored == _stored(tmp_path / "joined.duckdb")
    assert stored[7][-1] == "Retail 7" and stored[8][-1] == "Retail 8"  # row 7 was "retail 7"

    tools = tmp_path / "tools.csv"
    duckdb.connect().execute(f"""COPY (SELECT range AS "Record ID", 'Acme ' || range AS "Company name",
        'Tool' || (range % 300) || ';Tool' || (range % 7) AS "Technologies" FROM range(3000)) TO '{tools}' (HEADER)""")
    readings.clear()
    monkeypatch.setattr(importer, "_direct_readings", lambda *args: readings.append(r := real(*args)) or r)
    import_file(Workspace(tmp_path / "tools_direct.duckdb"), tools, "customers")
    assert readings == [None]  # a list column has no direct reading: the rows are joined and sorted


def test_values_repeated_by_many_rows_are_read_by_their_enum_where_the_reading_is_costly(tmp_path, monkeypatch):
    """200 distinct dollar figures over 40,000 rows (200 rows each): an ENUM lookup is cheaper per row than removing
    "$" and "," from every value, so that column has no direct reading; plain counts cast as they are keep theirs.
    Both store what the join stores."""
    monkeypatch.setattr(importer, "ENUM_MAX_VALUES", 64)
    source = tmp_path / "repeated.csv"
    duckdb.connect().execute(f"""COPY (SELECT range AS "Record ID", 'Acme ' || range AS "Company name",
        CASE WHEN range % 50 = 0 THEN 'n/a' ELSE '$' || format('{{:,}}', range % 200 * 1250) || '.00' END
            AS "Annual Revenue",
        CAST(range % 200 * 3 AS VARCHAR) AS "Number of Employees"
        FROM range(40000)) TO '{source}' (HEADER)""")
    readings: list = []
    real = importer._direct_readings
    monkeypatch.setattr(importer, "_direct_readings", lambda *args: readings.append(r := real(*args)) or r)
    import_file(Workspace(tmp_path / "direct.duckdb"), source, "customers")
    (employees,) = readings[0].values()  # the revenue's reading was left for its ENUM
    assert not employees.costly and employees.columns[0][1].startswith("TRY_CAST(")
    monkeypatch.setattr(importer, "_direct_readings", lambda *args: None)
    import_file(Workspace(tmp_path / "joined.duckdb"), source, "customers")
    stored = _stored(tmp_path / "direct.duckdb")
    assert stored == _stored(tmp_path / "joined.duckdb") and len(stored) == 40_000
    with Workspace(tmp_path / "direct.duckdb").connect() as con:
        table = con.execute("SELECT table_name FROM imports").fetchone()[0]
        revenue = con.execute(f"SELECT annual_revenue FROM {table} WHERE _row IN (2, 51) ORDER BY _row").fetchall()
    assert revenue == [(1250.0,), (None,)]  # "$1,250.00", "n/a"


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("displaced", [True, False])
def test_a_wide_lookup_read_by_its_two_level_hash_or_its_enum_stores_what_the_join_stores(
    tmp_path, monkeypatch, fmt, displaced
):
    """1,500 distinct dollar figures (and blanks, "n/a") read by position past the perfect hash's limit: by the
    two-level perfect hash when enough rows read each value, else by the ENUM; both store what the join stores, in
    file order, and leave no working table behind."""
    from icp_agent.ingest import positional

    monkeypatch.setattr(importer, "ENUM_MAX_VALUES", 64)
    monkeypatch.setattr(importer, "ROWS_PER_ENUM_VALUE", 1)
    monkeypatch.setattr(positional, "DISPLACED_ROWS_PER_VALUE", 1 if displaced else 10**9)
    placed: list[int] = []
    real_slots = positional.displaced_slots
    monkeypatch.setattr(positional, "displaced_slots", lambda con, t, n: placed.append(n) or real_slots(con, t, n))
    source = tmp_path / f"wide.{fmt}"
    options = "(FORMAT parquet, ROW_GROUP_SIZE 4000)" if fmt == "parquet" else "(HEADER)"
    duckdb.connect().execute(f"""COPY (SELECT range AS "Record ID", 'Acme ' || range AS "Company name",
        CASE WHEN range % 50 = 0 THEN 'n/a' WHEN range % 77 = 0 THEN NULL
             ELSE '$' || format('{{:,}}', range * 7 % 1500 * 1250) || '.00' END AS "Annual Revenue"
        FROM range(30000)) TO '{source}' {options}""")
    import_file(Workspace(tmp_path / "direct.duckdb"), source, "customers")
    assert (max(placed) > PERFECT_MAX) if displaced else not placed
    monkeypatch.setattr(importer, "_direct_readings", lambda *args: None)
    import_file(Workspace(tmp_path / "joined.duckdb"), source, "customers")
    stored = _stored(tmp_path / "direct.duckdb")
    assert stored == _stored(tmp_path / "joined.duckdb") and len(stored) == 30_000
    assert stored[1][-2:] == (1250.0 * 7, "USD") and stored[50][-2] is None  # row 2 "$8,750.00", row 51 "n/a"
    with Workspace(tmp_path / "direct.duckdb").connect() as con:
        left = con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()
    assert left == []


def test_perfect_slots_give_each_value_its_own_slot():
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE lk AS SELECT CASE WHEN range = 0 THEN NULL ELSE 'value ' || range END AS raw FROM range(300)"
    )
    slots = perfect_slots(con, "lk", 300)
    assert slots is not None and slots >= 300
    distinct = con.execute(f"SELECT count(DISTINCT hash(raw) % {slots}) FROM lk").fetchone()[0]
    assert distinct == 300  # the NULL raw value included
    assert perfect_slots(con, "lk", PERFECT_MAX + 1) is None


@pytest.mark.parametrize("n", [513, 10_000])
def test_displaced_slots_give_each_value_its_own_slot_in_sql(n):
    """The slots placed in Python are the slots the SQL computes (DuckDB's hash, its UBIGINT arithmetic), one per
    value, the NULL raw value included, among about 1.5 n."""
    con = duckdb.connect()
    con.execute(
        f"CREATE TABLE lk AS SELECT CASE WHEN range = 0 THEN NULL ELSE '$' || range || '.00' END AS raw FROM range({n})"
    )
    displaced = displaced_slots(con, "lk", n)
    assert displaced is not None and n < displaced.slots <= 1.6 * n + 10 and len(displaced.displacements) >= n / 2
    con.execute("CREATE TABLE d AS SELECT ?::INTEGER[] AS d", [displaced.displacements])
    at = displaced.slot("hash(raw)", f"d.d[{displaced.bucket('hash(raw)')}]")
    found = con.execute(f"SELECT count(DISTINCT {at}), min({at}), max({at}) FROM lk, d").fetchone()
    assert found[0] == n and found[1] >= 0 and found[2] < displaced.slots


def test_displaced_slots_give_way_to_the_enum_past_their_limit(monkeypatch):
    from icp_agent.ingest import positional

    con = duckdb.connect()
    con.execute("CREATE TABLE lk AS SELECT 'v' || range AS raw FROM range(600)")
    monkeypatch.setattr(positional, "DISPLACED_MAX", 599)
    assert displaced_slots(con, "lk", 600) is None
    monkeypatch.setattr(positional, "DISPLACEMENT_TRIES", 0)  # no bucket can be placed
    monkeypatch.setattr(positional, "DISPLACED_MAX", 600)
    assert displaced_slots(con, "lk", 600) is None


def test_direct_reading_proves_its_candidates_on_every_value():
    """The chosen expression agrees with the lookup wherever it applies; values it would read wrong are its rest."""
    con = duckdb.connect()
    # a lookup as the importer builds it: raw, count, first row, the stored value; "1.5" is stored 1500 here (a
    # column whose values group thousands with "."), which a cast would read 1.5
    con.execute("""CREATE TEMP TABLE _lk_0 AS SELECT raw, c, first_row, CAST(v AS DOUBLE) AS "arr" FROM (VALUES
        ('$1,200', 3, 1, 1200), ('7', 1, 2, 7), ('1.5', 1, 3, 1500), ('n/a', 2, 4, NULL), (NULL, 5, 5, NULL))
        t(raw, c, first_row, v)""")
    reading = direct_reading(con, 0, "d.raw", ["arr"], 10)
    assert reading is not None and reading.applies is None and reading.rest == 2  # "1.5" and "n/a"
    rest = {r[0] for r in con.execute(f"SELECT raw FROM {reading.rest_table}").fetchall()}
    assert rest == {"1.5", "n/a"}
    assert direct_reading(con, 0, "d.raw", ["arr"], 1) is None  # more than the limit left: the caller joins


@pytest.mark.parametrize("rows", [9_000, 40_000])
def test_direct_reading_scored_on_a_sample_is_proven_on_every_value(rows):
    """A big lookup's candidates are scored on a sample of its values; the reading chosen is the one scoring every
    value chooses, and its rest (the values it reads wrong or not at all) is found among all of them."""
    from icp_agent.ingest.positional import SCORE_SAMPLE

    con = duckdb.connect()
    con.execute(f"""CREATE TEMP TABLE _lk_0 AS SELECT raw, 1 AS c, r AS first_row,
        CAST(CASE WHEN r % 997 = 0 THEN NULL WHEN r % 1009 = 0 THEN r * 1000 ELSE r END AS DOUBLE) AS "arr"
        FROM (SELECT range AS r, CASE WHEN range % 997 = 0 THEN 'n/a' ELSE '$' || format('{{:,}}', range) END AS raw
              FROM range({rows}))""")
    assert rows >= 2 * SCORE_SAMPLE
    sampled = direct_reading(con, 0, "d.raw", ["arr"], 500, rows)
    everything = direct_reading(con, 0, "d.raw", ["arr"], 500)
    assert sampled is not None and everything is not None
    assert (sampled.columns, sampled.applies, sampled.rest) == (everything.columns, everything.applies, everything.rest)
    assert sampled.rest == (rows - 1) // 997 + 1 + (rows - 1) // 1009  # the n/a's (0 among them), the x1000s


def test_a_parquet_files_duplicate_rows_are_left_out_in_file_order(tmp_path, monkeypatch):
    """A Parquet file's exact duplicate rows are left out of the positional write by a test on each row (a bit mask of
    their row numbers), not by an anti-join: the rows stored, in file order, and the report equal the joined write's,
    rows after the last duplicate included."""
    source = tmp_path / "dups.parquet"
    duckdb.connect().execute(f"""COPY (SELECT k AS "Record ID", 'Acme ' || k AS "Company name",
        ['Retail', 'RETAIL', 'Computer Software', 'n/a'][k % 4 + 1] AS "Industry", '$' || format('{{:,}}', k * 7) AS "ARR"
        FROM (SELECT r, CASE WHEN r BETWEEN 9000 AND 9999 THEN r - 9000 ELSE r END AS k FROM range(12000) t(r)))
        TO '{source}' (FORMAT parquet, ROW_GROUP_SIZE 2000)""")  # rows 9000-9999 repeat rows 0-999
    written: list = []
    real = importer._rows_in_order
    monkeypatch.setattr(importer, "_rows_in_order", lambda *args: written.append(r := real(*args)) or r)
    ordered = import_file(Workspace(tmp_path / "ordered.duckdb"), source, "customers")
    assert written == ["_dedup_in_order"] and ordered.duplicates_dropped == 1000 and ordered.rows_kept == 11000
    monkeypatch.setattr(importer, "_direct_readings", lambda *args: None)  # the reference: joined, sorted
    joined = import_file(Workspace(tmp_path / "joined.duckdb"), source, "customers")
    stored = _stored(tmp_path / "ordered.duckdb")
    assert stored == _stored(tmp_path / "joined.duckdb")
    assert [r[0] for r in stored] == [*range(1, 9001), *range(10001, 12001)]
    assert ordered.model_dump(exclude={"imported_at"}) == joined.model_dump(exclude={"imported_at"})
    with Workspace(tmp_path / "ordered.duckdb").connect() as con:  # no working view or table left behind
        assert not con.execute("SELECT * FROM duckdb_tables() WHERE table_name = '_dup_mask'").fetchall()


def test_keeps_order_proves_the_plan_stores_rows_in_scan_order():
    """A projection's plan stores rows in order; a join does not, nor an IN list DuckDB turns into one (list_contains
    over constants is rewritten so); one_of's marker test stays a projection."""
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT range AS r, CAST(range AS VARCHAR) AS x FROM range(1000)")
    markers = ", ".join(f"'{m}'" for m in MISSING_MARKERS)
    assert keeps_order(con, "CREATE TABLE u AS SELECT r, lower(x) FROM t")
    assert not keeps_order(con, "CREATE TABLE u AS SELECT t.r FROM t JOIN t t2 ON t.x = t2.x")
    assert not keeps_order(
        con, f"CREATE TABLE u AS SELECT r, coalesce(list_contains([{markers}], lower(x)), FALSE) FROM t"
    )
    assert keeps_order(con, f"CREATE TABLE u AS SELECT r, {one_of('lower(x)', MISSING_MARKERS)} FROM t")


def test_a_write_whose_plan_would_not_keep_order_is_joined_and_sorted(tmp_path, monkeypatch):
    """Were the positional write's plan not proven to keep the rows' order (an optimizer rule of another DuckDB), the
    rows go through the joins and their sort: the same rows stored, in file order."""
    source = tmp_path / "wide.csv"
    duckdb.connect().execute(WIDE.replace("ROWS", "5000").replace("PATH", str(source)).replace("OPTIONS", "(HEADER)"))
    proofs: list[bool] = []
    real = importer.keeps_order
    monkeypatch.setattr(importer, "keeps_order", lambda con, sql: proofs.append(real(con, sql)) or proofs[-1])
    import_file(Workspace(tmp_path / "positional.duckdb"), source, "customers")
    assert proofs == [True]  # the write of this export is positional, and proven so
    batches: list[int] = []
    write_rows = importer._write_rows
    monkeypatch.setattr(importer, "keeps_order", lambda con, sql: False)
    monkeypatch.setattr(importer, "_write_rows", lambda *args: batches.append(1) or write_rows(*args))
    import_file(Workspace(tmp_path / "joined.duckdb"), source, "customers")
    assert batches == [1]
    assert _stored(tmp_path / "positional.duckdb") == _stored(tmp_path / "joined.duckdb")
