"""Unit tests of icp_agent.ingest.column_reports: each column's report (% missing, examples, unreadable values)
from a small stored table and its lookup tables, the inline text columns' report, and require_readable."""

from __future__ import annotations

from datetime import datetime

import duckdb
import pytest

from icp_agent.errors import UserError
from icp_agent.ingest.column_reports import (
    _first_shown,
    _inline_shown,
    _settled_role,
    column_reports,
    inline_reports,
    require_readable,
    stored_scan,
)
from icp_agent.ingest.columns import PlannedColumn
from icp_agent.models import ColumnReport, ImportReport


def _col(name: str, type_: str, role: str = "fit") -> PlannedColumn:
    return PlannedColumn(header=name.title(), name=name, canonical=True, type=type_, role=role)


@pytest.fixture
def con():
    """Four stored rows: employees (number) and industry (category), with the lookups an import builds."""
    con = duckdb.connect()
    con.execute("CREATE TABLE t (employees DOUBLE, industry VARCHAR)")
    con.execute("INSERT INTO t VALUES (1979.0, 'SaaS'), (NULL, 'SaaS'), (12.5, NULL), (NULL, 'Retail')")
    # _lk_<i>: each distinct raw value, its count, its first row and the value stored
    con.execute("""CREATE TABLE _lk_0 AS SELECT * FROM (VALUES ('1979', 1, 1, 1979.0), ('lots', 1, 2, NULL),
                   ('12.5', 1, 3, 12.5), ('', 1, 4, NULL)) t(raw, c, first_row, employees)""")
    con.execute("""CREATE TABLE _lk_1 AS SELECT * FROM (VALUES ('SaaS', 2, 1, 'SaaS'), (NULL, 1, 3, NULL),
                   ('Retail', 1, 4, 'Retail')) t(raw, c, first_row, industry)""")
    return con


def test_column_reports(con):
    employees, industry = column_reports(con, "t", [_col("employees", "number"), _col("industry", "category")])
    # employees: 2 of 4 stored values missing = 50%; "lots" was present but unreadable, "" is missing on purpose
    assert (employees.pct_missing, employees.unparsed, employees.unparsed_examples) == (50.0, 1, ["row 2: lots"])
    assert employees.examples == ["12.5", "1979"]  # 1979.0 shown as 1979
    assert (industry.pct_missing, industry.unparsed, industry.examples) == (25.0, 0, ["Retail", "SaaS"])
    assert (industry.field, industry.header, industry.role, industry.type) == (
        "industry",
        "Industry",
        "fit",
        "category",
    )


def test_lookup_columns_report_their_first_three_unreadable_values_by_row_and_three_smallest_examples():
    """Every lookup column's figures come from one statement: the unreadable values' count (with repeats) and the
    first three by first row, and the three smallest distinct values as shown (an open band with its "+")."""
    con = duckdb.connect()
    con.execute("CREATE TABLE t (arr DOUBLE, seats_min DOUBLE)")
    con.execute("INSERT INTO t VALUES (NULL, NULL)")
    con.execute("""CREATE TABLE _lk_0 AS SELECT * FROM (VALUES ('9', 2, 40, 9.0), ('x7', 3, 30, NULL),
                   ('x5', 1, 7, NULL), ('10.5', 1, 8, 10.5), ('x9', 1, 12, NULL), ('x2', 2, 2, NULL),
                   ('100', 1, 1, 100.0), ('n/a', 4, 3, NULL)) t(raw, c, first_row, arr)""")
    con.execute("""CREATE TABLE _lk_1 AS SELECT raw, c, first_row, {'min': lo, 'max': hi, 'exact': ex} AS seats__band
                   FROM (VALUES ('1-10', 1, 1, 1.0, 10.0, NULL), ('500+', 1, 2, 500.0, NULL, NULL),
                   ('12', 1, 3, 12.0, 12.0, 12.0)) t(raw, c, first_row, lo, hi, ex)""")
    arr, seats = column_reports(con, "t", [_col("arr", "money"), _col("seats", "band")])
    assert (arr.unparsed, arr.unparsed_examples) == (7, ["row 2: x2", "row 7: x5", "row 12: x9"])
    assert arr.examples == ["10.5", "100", "9"]  # as text: "100" sorts before "9"
    assert (seats.unparsed, seats.unparsed_examples, seats.examples) == (0, [], ["1-10", "12", "500+"])


def test_a_role_left_auto_is_a_bug_not_a_user_error():
    with pytest.raises(RuntimeError, match="no decided role"):
        _settled_role(_col("x", "text", role="auto"))
    assert _settled_role(_col("x", "text", role="ignore")) == "ignore"


def test_inline_reports():
    con = duckdb.connect()
    con.execute("""CREATE TABLE _dedup AS SELECT * FROM (VALUES (1, 'https://acme.com'), (2, 'not a site'),
                   (3, ''), (4, 'bolt.io')) t(_row, website)""")
    con.execute("""CREATE TABLE t AS SELECT * FROM (VALUES (1, 'acme.com'), (2, NULL), (3, NULL), (4, 'bolt.io'))
                   t(_row, domain)""")
    column = _col("domain", "text", role="id")
    got = inline_reports(con, "t", [column], {0}, {"Domain": "website"})
    # 2 NULLs stored, 1 of them missing in the file: 1 unparsed, the row named
    assert got == {0: (1, ["row 2: not a site"], ["acme.com", "bolt.io"])}


def _report(unparsed: int) -> ImportReport:
    column = ColumnReport(header="Churned", field="churned", canonical=True, role="outcome", type="bool",
                          pct_missing=0, unparsed=unparsed, unparsed_examples=["row 7: kinda"])  # fmt: skip
    return ImportReport(import_id="i", kind="customers", file_name="c.csv", path="c.csv", sha256="0", format="csv",
                        rows_read=9, rows_kept=9, rows_rejected=0, duplicates_dropped=0,
                        imported_at=datetime(2026, 1, 1), columns=[column])  # fmt: skip


def test_require_readable():
    require_readable(_report(0), {"churned"})
    require_readable(_report(2), {"nps"})  # not a column the definition reads
    with pytest.raises(UserError, match="in column 'Churned' could not be read as bool") as err:
        require_readable(_report(2), {"churned"})
    assert (err.value.file, err.value.column) == ("c.csv", "Churned") and "row 7: kinda" in str(err.value)
    assert '[values.churned] "kinda" = "yes" (or "no")' in err.value.hint  # a yes/no label the mapping file maps
    with pytest.raises(UserError):
        require_readable(_report(1), {"Churned"})  # by header too


def test_stored_scan_counts_every_columns_nulls_and_lists_the_inline_columns_first_values():
    con = duckdb.connect()
    con.execute("""CREATE TABLE t AS SELECT * FROM (VALUES ('b.io', 3.0, 'x', ['a']), (NULL, NULL, 'y', []),
                   ('a.io', 5.0, NULL, NULL), ('a.io', NULL, NULL, ['b'])) v(domain, employees_min, notes, tools)""")
    columns = [_col("domain", "text"), _col("employees", "band"), _col("notes", "text"), _col("tools", "list")]
    nulls, first = stored_scan(con, "t", columns, {0})
    # a band's NULLs are its _min's, an empty list is no NULL; the first values are sorted, repeats kept (the reports
    # keep distinct ones)
    assert nulls == [1, 2, 2, 1] and first == {0: ["a.io", "a.io", "b.io"]}
    # the column reports take the counts given (no scan of their own)
    done = {i: (0, [], []) for i in range(4)}
    assert [r.pct_missing for r in column_reports(con, "t", columns, done, missing=[4, 0, 1, 2])] == [
        100.0,
        0.0,
        25.0,
        50.0,
    ]


@pytest.mark.parametrize(
    "values",
    [
        [f"Acme {i}" for i in range(200)],  # no value cut: the top-N alone
        # the 50th smallest stored value is "p-..." and a larger "p.0" shows as "p", below it: fetched too
        [f"p-{i:03d}" for i in range(120)] + ["p.0", "p.0", "zz.0", "p-.0"],
        [f"{c}{i}" for c in "!-." for i in range(30)] + [".0", "!.0", "1.0", "10.0"],  # a prefix as short as ""
        ["Web 2.0", "Web 2", "Web 2.0 Labs", "Web 1.0"] * 20,
        ["b", "a.0", "c"],  # fewer than FIRST_VALUES
    ],
)
def test_first_shown_values_are_what_a_min_over_every_shown_value_gives(values):
    """The top-N of the stored values plus the few values whose ".0" cut moves them below it give exactly the
    FIRST_VALUES smallest shown values, repeats included, as `min(shown, FIRST_VALUES)` over every row does."""
    con = duckdb.connect()
    con.execute("CREATE TABLE t (name VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?)", [[v] for v in [*values, None]])
    expected = con.execute(f"SELECT min({_inline_shown('name')}, 50) FROM t").fetchone()[0]
    assert _first_shown(con, "t", "name") == expected
