"""sql.py: identifiers and literals written into DuckDB read back as exactly what they were."""

from __future__ import annotations

import duckdb
import pytest

from icp_agent.sql import columns_of, quote_identifier, sql_literal, table_exists

HEADERS = ['Company "Name"', "Annual Revenue ($)", "Country/Region", "select", "naïve; DROP TABLE x", " spaced "]


def test_any_crm_header_is_a_usable_identifier():
    con = duckdb.connect()
    columns = ", ".join(f"{quote_identifier(h)} VARCHAR" for h in HEADERS)
    con.execute(f"CREATE TABLE t ({columns})")
    assert columns_of(con, "t") == set(HEADERS)
    assert quote_identifier('a"b') == '"a""b"'


@pytest.mark.parametrize(
    "value", ["O'Brien & Sons", "", "line\nbreak", "emoji 🚀", "back\\slash", "'; DROP TABLE t; --"]
)
def test_a_string_literal_reads_back_unchanged(value):
    assert duckdb.connect().execute(f"SELECT {sql_literal(value)}").fetchall()[0][0] == value


@pytest.mark.parametrize("value", [0, 1, -7, 3.0, 0.1, 1 / 3, -2.5e-12, 1e300, 2**53 - 1, 2.0**60, 123456789.123])
def test_a_number_literal_reads_back_as_the_same_double(value):
    text = sql_literal(value)
    assert float(duckdb.connect().execute(f"SELECT {text}::DOUBLE").fetchall()[0][0]) == float(value)


def test_whole_numbers_are_written_as_integers_below_two_to_the_53():
    assert sql_literal(3.0) == "3" and sql_literal(-7) == "-7"
    assert sql_literal(2.0**60) == repr(2.0**60)  # beyond exact integers: the double's own digits


def test_null_and_booleans():
    assert sql_literal(None) == "NULL"
    assert sql_literal(True) == "true" and sql_literal(False) == "false"  # not 1 and 0: bool is an int in Python
    assert duckdb.connect().execute(f"SELECT {sql_literal(True)} AND NOT {sql_literal(False)}").fetchall()[0][0]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_numbers_are_refused(value):
    with pytest.raises(ValueError, match="non-finite"):
        sql_literal(value)


def test_columns_of_a_parenthesised_query():
    con = duckdb.connect()
    assert columns_of(con, "(SELECT 1 AS a, 'x' AS \"b c\")") == {"a", "b c"}


def test_one_row_is_its_value_or_its_tuple_and_no_row_is_a_bug_named_by_its_query():
    from icp_agent.sql import one

    con = duckdb.connect()
    assert one(con, "SELECT count(*) FROM range(5)") == 5
    assert one(con, "SELECT count(*), sum(range) FROM range(?)", [4]) == (4, 6)
    with pytest.raises(RuntimeError, match="returned none: SELECT 1 WHERE false"):
        one(con, "SELECT 1\n   WHERE false")


def test_table_exists_sees_tables_and_temp_tables_not_views():
    con = duckdb.connect()
    con.execute("CREATE TABLE t (a INT)")
    con.execute("CREATE TEMP TABLE tt (a INT)")
    con.execute("CREATE VIEW v AS SELECT 1")
    assert table_exists(con, "t") and table_exists(con, "tt")
    assert not table_exists(con, "v") and not table_exists(con, "missing")
