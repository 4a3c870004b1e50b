"""render/tabular.py: the one writer of CSV, TSV and Parquet files; text cells that a spreadsheet would take for
a formula are prefixed with ' and quoted (OWASP CSV injection), numbers and plain signed numbers are not."""

from __future__ import annotations

import duckdb
import pytest

from icp_agent.errors import UserError
from icp_agent.render.tabular import (
    FIRST_CHARACTERS,
    first_code_point_sql,
    is_formula_like,
    neutralise_name,
    neutralise_sql,
    safe_select,
    write_rows,
    write_table,
    write_tables,
)


@pytest.mark.parametrize(
    ("text", "formula"),
    [
        ("=HYPERLINK(1)", True),
        ("+1+1", True),
        ("-A1", True),
        ("@SUM(A1)", True),
        ("\tx", True),
        ("\rx", True),
        ("  =1+1", True),  # a sign after spaces a trimming importer removes
        ("\uff1d1", True),  # a full-width equals sign
        ("-5", False),  # a plain signed number
        ("+3.2", False),
        ("-1e3", False),
        ("Acme", False),
        ("a=b", False),
        ("", False),
    ],
)
def test_is_formula_like(text, formula):
    assert is_formula_like(text) is formula


def test_neutralise_sql_agrees_with_the_python_rule():
    con = duckdb.connect()
    values = ["=1+1", "  @x", "-5", "Acme", "\tx", "-x", None]
    got = [
        con.execute(f"SELECT {neutralise_sql('v')} FROM (SELECT ?::VARCHAR AS v)", [v]).fetchone()[0] for v in values
    ]
    assert got == ["'=1+1", "'  @x", "-5", "Acme", "'\tx", "'-x", None]
    assert neutralise_name("=x") == "'=x" and neutralise_name("name") == "name"


def test_the_first_code_point_test_lets_every_formula_start_through():
    # the cheap test before the patterns must never hide a formula: every character a formula can start with
    # passes it (a full-width sign, the whitespace before a sign), letters and digits do not, nor an empty value
    con = duckdb.connect()
    test = first_code_point_sql("v")
    for ch in FIRST_CHARACTERS:
        assert con.execute(f"SELECT {test} FROM (SELECT ?::VARCHAR AS v)", [ch + "x"]).fetchone()[0] is True, ch
    for text in ("Acme", "0042", "é", "", "😀x"):
        assert con.execute(f"SELECT {test} FROM (SELECT ?::VARCHAR AS v)", [text]).fetchone()[0] is False, text
    values = ["\uff1dSUM(A1)", " \uff0bx", "\r=1", "\n@x", "\uff20", "", "(x)"]
    got = [
        con.execute(f"SELECT {neutralise_sql('v')} FROM (SELECT ?::VARCHAR AS v)", [v]).fetchone()[0] for v in values
    ]
    assert got == ["'\uff1dSUM(A1)", "' \uff0bx", "'\r=1", "'\n@x", "'\uff20", "", "(x)"]
    assert [is_formula_like(v) for v in values] == [True, True, True, True, True, False, False]


def test_safe_select_neutralises_text_and_nested_columns_only():
    con = duckdb.connect()
    select, text = safe_select(con, "SELECT '=cmd' AS \"=n\", -5 AS num, ['-x', 'y'] AS l, 'ok' AS t")
    assert text == ["'=n", "l", "t"]  # num keeps its type
    # a list is written as text; it starts with "[", so it is never taken for a formula
    assert con.execute(select).fetchone() == ("'=cmd", -5, "[-x, y]", "ok")


def test_write_table_csv_tsv_parquet(tmp_path):
    con = duckdb.connect()
    query = "SELECT * FROM (VALUES ('=evil()', -12.5, 'Acme'), ('Beta', 3.0, '-7')) t(name, arr, code)"
    assert write_table(con, query, tmp_path / "a.csv") == 2
    assert (tmp_path / "a.csv").read_text().splitlines() == [
        '"name",arr,"code"',  # the text columns are quoted, headers included
        '"\'=evil()",-12.5,"Acme"',
        '"Beta",3.0,"-7"',
    ]
    assert write_table(con, query, tmp_path / "a.TSV") == 2  # the suffix in any case
    assert (tmp_path / "a.TSV").read_text().splitlines()[1] == '"\'=evil()"\t-12.5\t"Acme"'
    assert write_table(con, query, tmp_path / "a.parquet") == 2
    # Parquet keeps the values unchanged
    assert con.execute(f"SELECT name FROM '{tmp_path / 'a.parquet'}' ORDER BY arr").fetchall() == [
        ("=evil()",),
        ("Beta",),
    ]
    assert write_table(con, query, tmp_path / "a.out", fmt="csv") == 2  # fmt overrides the suffix


def test_write_table_refuses_an_unknown_suffix(tmp_path):
    with pytest.raises(UserError) as caught:
        write_table(duckdb.connect(), "SELECT 1", tmp_path / "a.xlsx")
    assert caught.value.file == str(tmp_path / "a.xlsx")
    assert ".xlsx" in str(caught.value) and ".csv" in caught.value.hint
    with pytest.raises(UserError, match="a file without extension"):
        write_table(duckdb.connect(), "SELECT 1", tmp_path / "noext")


def test_write_rows(tmp_path):
    write_rows(tmp_path / "r.csv", ["priority", "n"], [("high", 3), ("@low", None)])
    assert (tmp_path / "r.csv").read_text().splitlines() == ['"priority",n', '"high",3', '"\'@low",']


def test_write_rows_with_no_rows_writes_the_header(tmp_path):
    # VALUES with no row is a syntax error: this raised a DuckDB ParserException before
    write_rows(tmp_path / "e.csv", ["priority", "n"], [])
    assert (tmp_path / "e.csv").read_text().splitlines() == ['"priority","n"']


def test_write_tables_writes_each_file_as_write_table_does_side_by_side(tmp_path):
    """Several files at once (the CRM files): each the same bytes and count as written alone, in its table's order,
    from a table of an attached database every writer's cursor sees; the engine's threads are restored after."""
    con = duckdb.connect()
    con.execute("SET threads = 3")
    con.execute("ATTACH ':memory:' AS scratch")
    con.execute(
        "CREATE TABLE scratch.t AS SELECT i, CASE WHEN i % 5 = 0 THEN '=cmd' || i ELSE 'name ' || i END AS name "
        "FROM range(200000) r(i) ORDER BY hash(i)"
    )
    queries = [
        ("SELECT * FROM scratch.t", tmp_path / "all.csv"),
        ("SELECT name FROM scratch.t WHERE i % 2 = 0", tmp_path / "even.csv"),
        ("SELECT i FROM scratch.t WHERE i < 10", tmp_path / "few.tsv"),
    ]
    assert write_tables(con, queries) == [200_000, 100_000, 10]
    assert con.execute("SELECT current_setting('threads')").fetchone() == (3,)
    for query, path in queries:
        alone = path.with_name("alone_" + path.name)
        write_table(con, query, alone)
        assert path.read_bytes() == alone.read_bytes()
    first = (tmp_path / "all.csv").read_text().splitlines()[:3]
    expected = con.execute("SELECT i, name FROM scratch.t LIMIT 2").fetchall()
    assert first[1:] == [f'{i},"{name if not name.startswith("=") else chr(39) + name}"' for i, name in expected]


def test_write_tables_raises_a_writer_s_error_after_every_write_ended(tmp_path):
    con = duckdb.connect()
    con.execute("SET threads = 2")
    with pytest.raises(UserError, match="cannot write"):
        write_tables(con, [("SELECT 1 AS x", tmp_path / "a.csv"), ("SELECT 2 AS x", tmp_path / "b.xlsx")])
    assert (tmp_path / "a.csv").read_text() == "x\n1\n"
    assert con.execute("SELECT current_setting('threads')").fetchone() == (2,)
