"""Unit tests of icp_agent.ingest.checks: a file's identity column, duplicate rows dropped, id conflicts and
anonymous rows rejected (naming the rows), and ids a spreadsheet rounded into scientific notation."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from icp_agent.errors import UserError
from icp_agent.ingest.checks import (
    drop_duplicate_rows,
    reject_anonymous,
    reject_conflicts,
    require_identity,
    scientific_ids,
    unique_id,
    working_memory,
)
from icp_agent.ingest.columns import PlannedColumn
from icp_agent.ingest.reader import SourceFile


def _cols(*names: str) -> list[PlannedColumn]:
    return [PlannedColumn(header=n.title(), name=n, canonical=True, type="text", role="id") for n in names]


def _source(name: str = "c.csv") -> SourceFile:
    return SourceFile(path=Path(name), format="csv", sha256="", size=0)


def _present(columns, empty=()):
    return {c.header: {"present": 0 if c.name in empty else 5} for c in columns}


def test_require_identity():
    columns = _cols("company_name", "industry")
    require_identity(columns, "customers", _source(), _present(columns))  # a name is enough
    with pytest.raises(UserError, match="needs an id, a company name or a domain") as err:
        require_identity(columns, "customers", _source(), _present(columns, empty={"company_name"}))
    assert err.value.file == "c.csv" and "Company_Name, Industry" in str(err.value)
    tickets = _cols("ticket_id", "priority")
    with pytest.raises(UserError, match="tickets file needs a column naming each row's account"):
        require_identity(tickets, "tickets", _source("t.csv"), _present(tickets))
    deals = _cols("deal_id")
    require_identity(deals, "deals", _source(), _present(deals))  # deals link later: no identity needed here


def test_an_events_file_needs_a_time_and_a_name_or_a_usage_count():
    for shape in (("company_id", "event_name", "event_time"), ("domain", "event_time", "active_users")):
        columns = _cols(*shape)  # a row per event, or usage counted per period: both read
        require_identity(columns, "events", _source("e.csv"), _present(columns))
    for shape in (("company_id", "event_time", "plan"), ("company_id", "session_count"), ("domain", "event_time")):
        columns = _cols(*shape)
        with pytest.raises(UserError, match="an events file needs a date or time column and either") as err:
            require_identity(columns, "events", _source("e.csv"), _present(columns))
        assert err.value.file == "e.csv" and "Week" in err.value.hint
    # an empty count column is no count
    columns = _cols("company_id", "event_time", "event_count")
    with pytest.raises(UserError, match="an events file needs"):
        require_identity(columns, "events", _source("e.csv"), _present(columns, empty={"event_count"}))


def _table(rows: list[tuple]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE TABLE t (_row BIGINT, company_id VARCHAR, company_name VARCHAR, domain VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", rows)
    return con


def test_reject_conflicts_keeps_the_first_row_of_an_id():
    con = _table([(1, "c1", "Acme", None), (2, "c2", "Bolt", None), (3, "c1", "Acme Corp", None), (4, "c1", "X", None)])
    rejected = reject_conflicts(con, "t", "customers", _cols("company_id", "company_name"))
    assert [(r.row, r.column, r.raw) for r in rejected] == [(3, "company_id", "c1"), (4, "company_id", "c1")]
    assert "also on row 1" in rejected[0].reason
    assert con.execute("SELECT _row FROM t ORDER BY _row").fetchall() == [(1,), (2,)]


def test_no_conflicts_for_history_kinds_or_without_an_id_column():
    con = _table([(1, "c1", "Acme", None), (2, "c1", "Acme 2", None)])
    assert reject_conflicts(con, "t", "customers", _cols("company_name")) == []
    assert con.execute("SELECT count(*) FROM t").fetchone()[0] == 2


def test_scientific_ids_are_not_conflicts_and_are_warned_about():
    con = _table([(1, "1.23457E+17", "Acme", None), (2, "1.23457E+17", "Bolt", None), (3, "c3", "Crane", None)])
    columns = _cols("company_id", "company_name")
    assert reject_conflicts(con, "t", "customers", columns) == []
    warnings = scientific_ids(con, "t", columns, "c.csv")
    assert len(warnings) == 1 and "scientific notation" in warnings[0] and "(rows 1, 2)" in warnings[0]
    assert warnings[0].startswith("c.csv: column 'Company_Id'")


def test_reject_anonymous_rows():
    con = _table([(1, None, None, None), (2, None, "Bolt", None), (3, None, None, "crane.com"), (4, None, None, None)])
    rejected = reject_anonymous(con, "t", "customers", _cols("company_id", "company_name", "domain"))
    assert [r.row for r in rejected] == [1, 4] and "the company cannot be identified" in rejected[0].reason
    assert con.execute("SELECT _row FROM t ORDER BY _row").fetchall() == [(2,), (3,)]
    assert reject_anonymous(con, "t", "deals", _cols("company_id")) == []


def test_reject_anonymous_in_an_account_table_says_so():
    con = _table([(1, None, None, None)])
    [row] = reject_anonymous(con, "t", "tickets", _cols("company_id"))
    assert row.reason == "no company_id: the ticket belongs to no account"


def test_drop_duplicate_rows_keeps_the_first():
    con = duckdb.connect()
    con.execute(
        "CREATE TEMP TABLE _stage AS SELECT * FROM (VALUES ('a', 1), ('b', 2), ('a', 1), ('a', 2), ('a', 1)) t(x, y)"
    )
    assert drop_duplicate_rows(con, "x, y") == ""
    assert con.execute("SELECT x, y FROM _stage ORDER BY rowid").fetchall() == [("a", 1), ("b", 2), ("a", 2)]


def test_drop_duplicate_rows_without_duplicates_changes_nothing():
    con = duckdb.connect()
    con.execute("CREATE TEMP TABLE _stage AS SELECT * FROM (VALUES ('a', 1), ('b', 2)) t(x, y)")
    assert drop_duplicate_rows(con, "x, y") == ""
    assert con.execute("SELECT count(*) FROM _stage").fetchone()[0] == 2


def test_drop_duplicate_rows_of_a_parquet_view_are_left_out_by_the_clause(tmp_path):
    con = duckdb.connect()
    path = tmp_path / "p.parquet"
    con.execute(f"COPY (SELECT * FROM (VALUES ('a', 1), ('b', 2), ('a', 1), ('a', 2), ('a', 1)) t(x, y)) TO '{path}'")
    con.execute(f"CREATE TEMP VIEW _stage AS SELECT * FROM read_parquet('{path}', file_row_number=true)")
    clause = drop_duplicate_rows(con, "x, y", "file_row_number")
    assert clause == " WHERE file_row_number NOT IN (SELECT _rid FROM _dup_rows)"
    assert con.execute(f"SELECT file_row_number FROM _stage{clause} ORDER BY 1").fetchall() == [(0,), (1,), (3,)]


def _stage_ids(con: duckdb.DuckDBPyConnection, ids: list) -> None:
    con.execute("CREATE OR REPLACE TEMP TABLE _stage (id VARCHAR, x VARCHAR)")
    con.executemany("INSERT INTO _stage VALUES (?, ?)", [(i, "same") for i in ids])


def test_unique_id_names_the_id_column_whose_values_differ_in_every_row():
    """An id column whose values all differ, spaces and tabs aside, proves no row repeats and no two ids are stored
    alike as text; ids that repeat, two blank ids, or ids that differ only in their spaces, tabs or the Unicode
    spaces trim takes off their ends prove nothing."""
    con = duckdb.connect()
    _stage_ids(con, ["1", "2", "3"])
    assert unique_id(con, ["x", "id"]) == "id" and unique_id(con, ["x"]) is None
    spaced = (
        ["c 1", "c1"],
        ["c1", "c1 "],
        ["a  b", "a\tb"],
        ["c1", "c1\u00a0"],
        ["\u3000c1", "c1"],
    )  # trim: Unicode too
    for ids in (["1", "2", "1"], ["1", None, "2", None], *spaced):
        _stage_ids(con, ids)
        assert unique_id(con, ["id"]) is None, ids
    _stage_ids(con, ["c1", "C1", "c-1", None])  # letter case and punctuation count, one blank is no repeat
    assert unique_id(con, ["id"]) == "id"


def test_every_character_trim_takes_off_is_taken_out_of_an_id():
    """The proof holds only if what `norm.text` trims off an id's ends (DuckDB's trim) is taken out of it too: every
    space separator, here checked against trim itself; the characters trim keeps (tabs aside) are kept."""
    from icp_agent.ingest.checks import _spaced_out

    con = duckdb.connect()
    chars = [chr(code) for code in (*range(0x20, 0x7F), *range(0x80, 0x3100), 0x200B, 0xFEFF)]
    found = con.execute(
        f"SELECT c, trim(v), {_spaced_out('v')} FROM (SELECT c, c || 'a' || c AS v FROM unnest(?) t(c))", [chars]
    ).fetchall()
    assert len(found) == len(chars) and sum(trimmed == "a" for _, trimmed, _ in found) == 17  # the separators
    for char, trimmed, spaced in found:
        assert spaced == ("a" if trimmed == "a" else f"{char}a{char}"), hex(ord(char))
    _stage_ids(con, ["c1", "c1\u2007", "\u205fc2", "c2"])
    assert unique_id(con, ["id"]) is None


def test_drop_duplicate_rows_compares_the_rows_whatever_their_ids():
    """Ids that repeat (or two blank ids) prove nothing: equal rows go, the first stays."""
    con = duckdb.connect()
    for ids in (["1", "2", "1", "3"], ["1", None, "2", None]):
        _stage_ids(con, ids)
        assert drop_duplicate_rows(con, "id, x") == ""
        assert con.execute("SELECT id FROM _stage ORDER BY rowid").fetchall() == [(i,) for i in dict.fromkeys(ids)]


def test_reject_conflicts_of_an_id_proved_unique_reads_nothing():
    """With the header `unique_id` proved unique stored as text, the table is not read (here: it does not exist);
    another header, or an id stored as another type, is checked as before."""
    con = _table([(1, "c1", "Acme", None), (2, "c1", "Bolt", None)])
    columns = _cols("company_id", "company_name")
    assert reject_conflicts(con, "missing_table", "customers", columns, unique_header="Company_Id") == []
    assert len(reject_conflicts(con, "t", "customers", columns, unique_header="Company_Name")) == 1
    con = _table([(1, "c1", "Acme", None), (2, "c1", "Bolt", None)])
    columns[0].type = "category"
    assert len(reject_conflicts(con, "t", "customers", columns, unique_header="Company_Id")) == 1


def test_drop_duplicate_rows_leaves_no_working_tables_without_duplicates():
    con = duckdb.connect()
    con.execute("CREATE TEMP TABLE _stage AS SELECT * FROM (VALUES ('a', 1), ('a', 2)) t(x, y)")
    assert drop_duplicate_rows(con, "x, y") == ""
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert tables == {"_stage"}


def _stage_rows(con: duckdb.DuckDBPyConnection, rows: list) -> None:
    con.execute("CREATE OR REPLACE TEMP TABLE _stage (site VARCHAR, name VARCHAR, n VARCHAR)")
    con.executemany("INSERT INTO _stage VALUES (?, ?, ?)", rows)


@pytest.mark.parametrize("seed", range(6))
def test_drop_duplicate_rows_by_a_distinct_key_drops_what_every_column_drops(seed, monkeypatch):
    """A column distinct in the first rows (the key) narrows the search to the rows whose key repeats; the rows dropped
    are those the search over every column drops: repeats past the sampled rows, a key repeated with other columns
    different (kept), blank keys, and a key that repeats in most rows (every column's hash is then sorted)."""
    import random

    from icp_agent.ingest import checks

    monkeypatch.setattr(checks, "KEY_SAMPLE_ROWS", 5)
    rng = random.Random(seed)
    rows = [(f"s{i}.com", f"Name {i}", str(i % 3)) for i in range(1000)]
    for _ in range(rng.randint(0, 12)):  # exact repeats, anywhere after the sampled rows
        rows.insert(rng.randint(5, len(rows)), rng.choice(rows))
    for _ in range(rng.randint(0, 4)):  # a repeated key, another column differs: no duplicate
        site, name, n = rng.choice(rows)
        rows.insert(rng.randint(5, len(rows)), (site, name + "!", n))
    if seed % 3 == 2:  # the key blank in most later rows: past KEY_REPEATS_MAX, every column's hash
        rows += [(None, f"Blank {i % 7}", "1") for i in range(200)]
    sorted_hashes = []
    real = checks._repeated_hashes
    monkeypatch.setattr(checks, "_repeated_hashes", lambda column: sorted_hashes.append(column) or real(column))
    con = duckdb.connect()
    kept = {}
    for headers in ((), ("site", "name", "n")):
        _stage_rows(con, rows)
        assert drop_duplicate_rows(con, "site, name, n", "rowid", headers) == ""
        kept[headers] = con.execute("SELECT site, name, n FROM _stage ORDER BY rowid").fetchall()
    assert kept[()] == kept[("site", "name", "n")] == list(dict.fromkeys(rows))
    key = sorted_hashes[1]  # the second search's first sort: the key's alone, then every column's when it repeats
    assert key in ('"site"', '"name"') and sorted_hashes[2:] == (["site, name, n"] if seed % 3 == 2 else [])
    assert {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()} == {"_stage"}


def test_the_duplicate_searchs_key_is_the_shortest_column_distinct_in_the_first_rows(monkeypatch):
    """A column with a blank or a repeat in the first rows is no key; of the others, the fewest bytes is."""
    from icp_agent.ingest import checks

    monkeypatch.setattr(checks, "KEY_SAMPLE_ROWS", 3)
    con = duckdb.connect()
    _stage_rows(con, [("acme.com", "Acme Incorporated", "1"), ("bolt.io", "Bolt", "2"), ("core.ai", "Core Labs", "3")])
    assert checks._distinct_key(con, ["name", "site", "n"]) == '"n"'
    assert checks._distinct_key(con, ["name", "site"]) == '"site"'
    assert checks._distinct_key(con, []) is None
    _stage_rows(con, [("acme.com", "Acme", "1"), (None, "Bolt", "1"), ("core.ai", "Acme", "2"), ("x.io", "D", "2")])
    assert checks._distinct_key(con, ["site", "name", "n"]) is None  # past the 3 rows sampled, "n" repeats too


def test_drop_duplicate_rows_of_a_parquet_view_by_a_distinct_key(tmp_path, monkeypatch):
    from icp_agent.ingest import checks

    monkeypatch.setattr(checks, "KEY_SAMPLE_ROWS", 2)
    con = duckdb.connect()
    path = tmp_path / "p.parquet"
    con.execute(f"COPY (SELECT * FROM (VALUES ('a', 1), ('b', 2), ('a', 1), ('a', 2), ('a', 1)) t(x, y)) TO '{path}'")
    con.execute(f"CREATE TEMP VIEW _stage AS SELECT * FROM read_parquet('{path}', file_row_number=true)")
    clause = drop_duplicate_rows(con, "x, y", "file_row_number", ["x"])
    assert con.execute(f"SELECT file_row_number FROM _stage{clause} ORDER BY 1").fetchall() == [(0,), (1,), (3,)]


@pytest.mark.parametrize(
    "raw,lossy",
    [
        ("1.23457E+17", True),
        (" 1.23457e+17 ", True),
        ("2E10", True),
        ("9.9e5", True),
        ("E12345", False),
        ("ACME-7", False),
        ("1e", False),
        ("123456789012345678", False),
        ("0015e00001AbCdE", False),
    ],
)
def test_ids_in_scientific_notation_in_either_case_and_only_those(raw, lossy):
    con = _table([(1, raw, "Acme", None), (2, "c2", "Bolt", None)])
    warnings = scientific_ids(con, "t", _cols("company_id", "company_name"), "c.csv")
    assert bool(warnings) == lossy


def test_working_memory_lowers_the_limit_inside_and_restores_the_workspace_limit_after():
    """Inside, the limit is what the connection holds plus the extra bytes; after, the limit the workspace set (the
    variable icp_memory_limit), else DuckDB's default; an extra above the limit leaves it as it is."""
    con = duckdb.connect()
    default = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    limit = lambda: con.execute("SELECT current_setting('memory_limit')").fetchone()[0]  # noqa: E731
    with working_memory(con, 64 * 2**20):
        assert limit().endswith("MiB") and float(limit().split()[0]) < 200
    assert limit() == default
    con.execute("SET memory_limit = '1GiB'")
    con.execute("SET VARIABLE icp_memory_limit = '1GiB'")
    with working_memory(con, 64 * 2**20):
        assert float(limit().split()[0]) < 200
    assert limit() == "1.0 GiB"
    with working_memory(con, 2**40):
        assert limit() == "1.0 GiB"


def test_the_block_pool_only_grows():
    """DuckDB refuses to shrink its block allocator's memory: a smaller reservation after a bigger one is no error."""
    from icp_agent.ingest.checks import reserve_block_pool

    con = duckdb.connect()
    setting = "SELECT current_setting('block_allocator_memory')"
    reserve_block_pool(con, 64 * 2**20)
    assert con.execute(setting).fetchone()[0] == "64.0 MiB"
    reserve_block_pool(con, 32 * 2**20)
    assert con.execute(setting).fetchone()[0] == "64.0 MiB"
    reserve_block_pool(con, 96 * 2**20)
    assert con.execute(setting).fetchone()[0] == "96.0 MiB"


def test_a_statement_failing_under_a_working_memory_budget_raises_its_own_error():
    """A failed statement aborts the transaction, which then refuses even the SET restoring the limit (and the one
    ending a progress watch): the error raised is the statement's, not the TransactionException of the clean-up."""
    from icp_agent.progress import watch

    con = duckdb.connect()
    con.execute("BEGIN TRANSACTION")
    with pytest.raises(duckdb.ConversionException), working_memory(con, 64 * 2**20):
        with watch(con, lambda *a: None, "writing", 10):
            con.execute("SELECT CAST('x' AS INTEGER)")
    con.execute("ROLLBACK")
