"""Unit tests of icp_agent.query: run_readonly_query over a small DuckDB file, its caps, cells and errors.

(The attacks on the hardened connection are in test_query_attacks.py.)"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal

import duckdb
import pytest

from icp_agent.errors import UserError
from icp_agent.query import MAX_CELL_CHARS, _capped, _cell, _json_value, _message, run_readonly_query


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t AS SELECT range AS n, 'v' || range AS s FROM range(10)")
    con.execute("CREATE TABLE long_text AS SELECT repeat('x', 1500) AS s")
    # what a workspace keeps to name the current snapshot of each kind
    con.execute("CREATE TABLE snap_1 AS SELECT 'c1' AS company_id UNION ALL SELECT 'c2'")
    con.execute("CREATE TABLE imports (import_id VARCHAR, table_name VARCHAR)")
    con.execute("INSERT INTO imports VALUES ('i1', 'snap_1')")
    con.execute("CREATE TABLE current_snapshot (kind VARCHAR, import_id VARCHAR)")
    con.execute("INSERT INTO current_snapshot VALUES ('customers', 'i1')")
    con.close()
    return path


def test_select_rows_columns_and_types(db):
    r = run_readonly_query(db, "SELECT n, s FROM t WHERE n < 3 ORDER BY n")
    assert r.columns == ["n", "s"] and r.column_types == ["BIGINT", "VARCHAR"]
    assert r.rows == [[0, "v0"], [1, "v1"], [2, "v2"]]
    assert r.row_count_returned == 3 and not r.truncated and r.truncated_reason is None


def test_current_snapshot_views_by_kind(db):
    r = run_readonly_query(db, "SELECT count(*) AS n FROM customers")
    assert r.rows == [[2]]


def test_row_cap_says_it_cut(db):
    r = run_readonly_query(db, "SELECT n FROM t ORDER BY n", max_rows=4)
    assert [row[0] for row in r.rows] == [0, 1, 2, 3]
    assert r.truncated and "more than" in r.truncated_reason and "LIMIT/OFFSET" in r.truncated_reason


def test_exactly_max_rows_is_not_truncated(db):
    r = run_readonly_query(db, "SELECT n FROM t", max_rows=10)
    assert r.row_count_returned == 10 and not r.truncated


def test_long_text_is_clipped(db):
    r = run_readonly_query(db, "SELECT s FROM long_text")
    assert r.rows[0][0] == "x" * MAX_CELL_CHARS + "…"
    assert r.truncated and str(MAX_CELL_CHARS) in r.truncated_reason


def test_character_cap_stops_at_a_whole_row(db):
    # each row ["vN"] is 6 characters of JSON; 20 characters hold three of them
    r = run_readonly_query(db, "SELECT s FROM t ORDER BY n", max_chars=20)
    assert r.rows == [["v0"], ["v1"], ["v2"]]
    assert r.truncated and "characters after" in r.truncated_reason


def test_empty_result(db):
    r = run_readonly_query(db, "SELECT n FROM t WHERE n < 0")
    assert r.rows == [] and r.row_count_returned == 0 and not r.truncated and r.columns == ["n"]


@pytest.mark.parametrize(
    "sql, said",
    [
        ("SELECT 1; SELECT 2", "2 statements"),
        ("DELETE FROM t", "only SELECT"),
        ("SELEC 1", "not valid SQL"),
        ("SELECT nope FROM t", "the query failed"),
    ],
)
def test_bad_queries_are_user_errors(db, sql, said):
    with pytest.raises(UserError, match=said):
        run_readonly_query(db, sql)


def test_no_workspace_file(tmp_path):
    with pytest.raises(UserError, match="no workspace yet"):
        run_readonly_query(tmp_path / "absent.duckdb", "SELECT 1")


def test_timeout_stops_a_long_query(db):
    with pytest.raises(UserError, match=r"longer than .* and was stopped"):
        run_readonly_query(db, "SELECT count(*) FROM range(10000000000) a", timeout_s=0.2)


def test_json_values():
    assert _json_value(float("nan")) is None and _json_value(float("inf")) is None
    assert _json_value(Decimal("1.25")) == 1.25
    assert _json_value(dt.date(2026, 1, 2)) == "2026-01-02"
    assert _json_value(dt.timedelta(days=1)) == "1 day, 0:00:00"
    u = uuid.UUID(int=1)
    assert _json_value(u) == str(u)
    assert _json_value(b"ab") == "YWI="  # base64 of "ab"
    assert _json_value({1: [Decimal("2")]}) == {"1": [2.0]}


def test_nested_cells_are_json_text():
    assert json.loads(_cell([1, 2])) == [1, 2]
    assert json.loads(_cell({"a": None})) == {"a": None}
    assert _cell(3) == 3 and _cell(None) is None


def test_capped_keeps_rows_under_both_caps():
    r = _capped(["a"], ["INTEGER"], [(1,), (2,), (3,)], max_rows=2, max_chars=1000)
    assert r.rows == [[1], [2]] and r.truncated


def test_message_drops_the_echoed_query():
    exc = Exception("Binder Error: no column\n\nLINE 1: SELECT nope\n               ^")
    assert _message(exc) == "Binder Error: no column"
