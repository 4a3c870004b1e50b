"""Unit tests of patterns/selectors.py: selectors, their codes and masks, bins, bands and category groups."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from icp_agent.errors import UserError
from icp_agent.patterns.selectors import (
    FieldSpec,
    Selector,
    build_selectors,
    equal_frequency_cut_points,
    group_categories,
    observed_ranges,
    round_cut_points,
    snap_bands,
)


@pytest.fixture
def con():
    c = duckdb.connect()
    yield c
    c.close()


def _masks(selset):
    return {s.label: selset.mask(s).astype(int).tolist() for s in selset.selectors}


def test_masks_from_several_threads_with_a_full_cache(con, monkeypatch):
    # the searches by WRAcc and by lift read one selector set side by side (tiers.candidates): each thread gets
    # each selector's own mask while the cache, kept to 4 masks here, is trimmed under it
    from concurrent.futures import ThreadPoolExecutor

    from icp_agent.patterns import selectors as module

    monkeypatch.setattr(module, "MASK_CACHE_BYTES", 1)
    con.execute(
        "CREATE TABLE r AS SELECT range AS id, ['a', 'b', 'c', 'd', 'e', 'f'][range % 6 + 1] AS x FROM range(600)"
    )
    selset = build_selectors(con, "(SELECT * FROM r ORDER BY id)", [FieldSpec("x", "category")])
    expected = {s.value: np.array([f"{v}" == s.value for v in "abcdef"] * 100) for s in selset.selectors}
    assert len(expected) == 6

    def read(start: int) -> bool:
        return all(
            np.array_equal(
                selset.mask(selset.selectors[(start + i) % 6]), expected[selset.selectors[(start + i) % 6].value]
            )
            for i in range(300)
        )

    with ThreadPoolExecutor(4) as pool:
        assert all(pool.map(read, range(8)))
    assert len(selset._masks) <= 4


def test_selector_labels_criteria_and_sql(con):
    eq = Selector("industry", "category", "eq", value="Software")
    assert eq.label == "industry = Software" and eq.criterion() == {
        "field": "industry",
        "op": "eq",
        "value": "Software",
    }
    binned = Selector("employees", "number", "between", min=10.0, max=50.0, max_exclusive=True)
    assert binned.label == "employees in [10, 50)"
    assert binned.criterion() == {"field": "employees", "op": "between", "min": 10, "max": 50, "max_exclusive": True}
    grouped = Selector("industry", "category", "in", values=("Media", "Retail"))
    assert grouped.label == "industry in {Media, Retail}"
    assert Selector("x", "bool", "eq", value=True).label == "x = true"
    assert Selector("x", "number", "gte", min=2.5).label == "x >= 2.5"
    # the predicate really selects: [10, 50) holds 10 and 49, not 50
    got = con.execute(
        f"SELECT employees FROM (VALUES (9.0), (10.0), (49.0), (50.0)) t(employees) WHERE {binned.sql()}"
    ).fetchall()
    assert got == [(10.0,), (49.0,)]


def test_build_selectors_codes_every_kind(con):
    con.execute(
        "CREATE TABLE r AS SELECT * FROM (VALUES "
        "(0, 'Software', TRUE, ['crm', 'erp'], 1.0), (1, 'Retail', FALSE, ['crm'], 2.0), "
        "(2, 'Software', NULL, [], 3.0), (3, NULL, TRUE, NULL, NULL)) t(id, industry, remote, tools, score)"
    )
    specs = [
        FieldSpec("industry", "category"),
        FieldSpec("remote", "bool"),
        FieldSpec("tools", "list"),
        FieldSpec("score", "number", n_bins=5),
    ]
    selset = build_selectors(con, "(SELECT * FROM r ORDER BY id)", specs)
    assert selset.n == 4 and selset.fields == ["industry", "remote", "tools", "score"]
    masks = _masks(selset)
    assert masks["industry = Software"] == [1, 0, 1, 0]
    assert masks["industry = Retail"] == [0, 1, 0, 0]
    assert masks["industry is missing"] == [0, 0, 0, 1]
    assert masks["remote = true"] == [1, 0, 0, 1]
    assert masks["tools contains crm"] == [1, 1, 0, 0]
    assert masks["tools contains erp"] == [1, 0, 0, 0]
    # three distinct numbers, at most 5 bins: one selector per value
    assert sum(masks[label][i] for label in masks if label.startswith("score") for i in range(3)) == 3
    assert masks["score is missing"] == [0, 0, 0, 1]
    # each selector's index and member table agree with its mask
    s = Selector("industry", "category", "eq", value="Retail")
    i = selset.index(s)
    table = selset.member_table(i)
    assert table[selset.codes[selset.selector_column[i]]].astype(int).tolist() == [0, 1, 0, 0]


def test_min_count_and_include_missing(con):
    con.execute("CREATE TABLE r AS SELECT * FROM (VALUES (0, 'a'), (1, 'a'), (2, 'b'), (3, NULL)) t(id, c)")
    selset = build_selectors(con, "r", [FieldSpec("c", "category")], include_missing=False, min_count=2)
    assert [s.label for s in selset.selectors] == ["c = a"]


def test_number_bands_and_bins(con):
    con.execute("CREATE TABLE r AS SELECT range::DOUBLE AS x FROM range(10)")
    banded = build_selectors(con, "r", [FieldSpec("x", "number", bands=((None, 3), (4, 6), (7, None)))])
    assert {s.label: int(banded.mask(s).sum()) for s in banded.selectors} == {"x <= 3": 4, "x 4-6": 3, "x >= 7": 3}
    # 10 values in 2 equal-frequency bins: cut at the value at position 10 // 2 = 5
    binned = build_selectors(con, "r", [FieldSpec("x", "number", n_bins=2)])
    assert {s.label: int(binned.mask(s).sum()) for s in binned.selectors} == {"x < 5": 5, "x >= 5": 5}


def test_band_field_between_means_inside(con):
    # ranges "1-10", "11-50" and an exact 30: band 1-50 holds all three, 20-50 only the exact 30
    con.execute("CREATE TABLE r AS SELECT * FROM (VALUES (1.0, 10.0), (11.0, 50.0), (30.0, 30.0)) t(emp_min, emp_max)")
    selset = build_selectors(con, "r", [FieldSpec("emp", "band", bands=((1, 50), (20, 50)))])
    assert {s.label: selset.mask(s).astype(int).tolist() for s in selset.selectors} == {
        "emp 1-50": [1, 1, 1],
        "emp 20-50": [0, 0, 1],
    }


def test_bad_specs_are_refused(con):
    con.execute("CREATE TABLE r AS SELECT 1.0 AS x")
    with pytest.raises(UserError, match="only once"):
        build_selectors(con, "r", [FieldSpec("x", "number"), FieldSpec("x", "number")])
    with pytest.raises(UserError, match="'x' has its lower bound above"):
        build_selectors(con, "r", [FieldSpec("x", "number", bands=((5, 1),))])
    with pytest.raises(UserError, match="open on both ends"):
        build_selectors(con, "r", [FieldSpec("x", "number", bands=((None, None),))])


def test_equal_frequency_cut_points():
    # values 1..10 once each, 5 bins: positions 2, 4, 6, 8 -> values 3, 5, 7, 9
    assert equal_frequency_cut_points(np.arange(1.0, 11), np.ones(10, int), 5) == [3.0, 5.0, 7.0, 9.0]
    # one value holding most rows: repeated cut points move on to the next value, and stop at the end
    assert equal_frequency_cut_points(np.array([1.0, 2.0]), np.array([9, 1]), 4) == [1.0, 2.0]


def test_round_cut_points():
    # 1,000 rows, one per 100 of value over 0..99,900; one cut, so bins of 500 rows and a tolerance of
    # 0.1 * 500 = 50 rows: 50,000 moves the boundary from row 474 to row 500 (26 rows), within it
    values = np.arange(0.0, 100_000, 100)
    counts = np.ones(values.size, int)
    assert round_cut_points([47_312.0], values, counts) == [50_000.0]
    # tolerance 5 rows: 50,000 is 26 rows off, 47,000 is 4 (row 470): two significant digits
    assert round_cut_points([47_312.0], values, counts, max_shift=0.01) == [47_000.0]
    # tolerance 0.5 rows: even 47,300 moves a row, so the cut stays
    assert round_cut_points([47_312.0], values, counts, max_shift=0.001) == [47_312.0]
    # cuts that coincide after rounding merge
    assert round_cut_points([48_000.0, 52_000.0], values, counts) == [50_000.0]


def test_observed_ranges_and_snap_bands(con):
    con.execute(
        "CREATE TABLE r AS SELECT * FROM (VALUES (11.0, 50.0), (51.0, 200.0), (201.0, 500.0), (75.0, 75.0), "
        "(501.0, NULL), (NULL, NULL)) t(e_min, e_max)"
    )
    ranged, known, ranges = observed_ranges(con, "r", "e")
    assert (ranged, known) == (4, 5)
    assert ranges == [(11.0, 50.0), (51.0, 200.0), (201.0, 500.0), (501.0, None)]
    # (50, 250) cuts 11-50 and 201-500 -> (51, 200); (1000, None) cuts the open 501+ -> its start (501, None);
    # (None, 40) cuts 11-50: moved to the nearest end that cuts nothing (50)
    assert snap_bands(((50, 250), (1000, None), (None, 40)), ranges) == ((51.0, 200.0), (501.0, None), (None, 50.0))
    # a band moved onto another is merged
    assert snap_bands(((50, 200), (51, 210)), ranges) == ((51.0, 200.0),)
    assert snap_bands(((51, 200),), ranges) == ((51, 200),)


def test_group_categories_merges_noise_keeps_real_splits():
    # a and b both 50% good, c 90%: a and b merge, c stays apart
    counts = {
        "a": {"bad": 50, "good": 50},
        "b": {"bad": 52, "good": 48},
        "c": {"bad": 10, "good": 90},
    }
    assert group_categories(counts) == [frozenset({"a", "b"}), frozenset({"c"})]
    # no difference anywhere: one group
    noise = {v: {"bad": 30, "good": 30} for v in "abcd"}
    assert group_categories(noise) == [frozenset("abcd")]
    assert group_categories({}) == []
    assert group_categories({"a": {"good": 3}}) == [frozenset({"a"})]


def test_outcome_gives_group_selectors(con):
    con.execute(
        "CREATE TABLE r AS SELECT CASE WHEN range < 100 THEN 'a' WHEN range < 200 THEN 'b' ELSE 'c' END AS ind, "
        "CASE WHEN range < 200 THEN range % 2 = 0 ELSE range % 10 <> 0 END AS good FROM range(300)"
    )
    selset = build_selectors(con, "r", [FieldSpec("ind", "category")], outcome="good::INT::VARCHAR")
    grouped = [s for s in selset.selectors if s.op == "in"]
    assert [(s.values, int(selset.mask(s).sum())) for s in grouped] == [(("a", "b"), 200)]


def test_a_stored_table_is_read_through_a_view_with_the_same_codes_as_a_copy(con):
    """A stored table (plain or TEMP) is read where it is, through a view, instead of copied into a temporary
    table first; a subquery is still copied once. Both give the same selectors and the same code per row, in the
    table's own order, and leave nothing behind."""
    con.execute(
        "CREATE TEMP TABLE r AS SELECT range AS id, ['Software', 'Retail', NULL][range % 3 + 1] AS industry, "
        "CASE WHEN range % 4 = 0 THEN ['crm'] WHEN range % 4 = 1 THEN ['crm', 'erp'] END AS tools, "
        "(range * 37 % 100)::DOUBLE AS score, range % 5 < 2 AS good FROM range(400) ORDER BY range * 7 % 400"
    )
    specs = [FieldSpec("industry", "category"), FieldSpec("tools", "list"), FieldSpec("score", "number")]
    made = []
    real_execute = duckdb.DuckDBPyConnection.execute

    class Spy:
        def __getattr__(self, name):
            return getattr(con, name)

        def execute(self, sql, *args):
            if "__icp_selector_rows AS" in sql:
                made.append(sql.split(" __icp_selector_rows")[0])
            return real_execute(con, sql, *args)

    viewed = build_selectors(Spy(), "r", specs, outcome="good::INT")
    copied = build_selectors(Spy(), "(SELECT * FROM r)", specs, outcome="good::INT")
    assert made == ["CREATE OR REPLACE TEMP VIEW", "CREATE OR REPLACE TEMP TABLE"]
    assert [s.label for s in viewed.selectors] == [s.label for s in copied.selectors]
    assert np.array_equal(viewed.codes, copied.codes)
    # row i is the table's row i (stored in id * 7 % 400 order, not by id)
    ids = [r[0] for r in con.execute("SELECT id FROM r").fetchall()]
    software = viewed.mask(Selector("industry", "category", "eq", value="Software"))
    assert software.tolist() == [i % 3 == 0 for i in ids]
    assert con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = '__icp_selector_rows'").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = '__icp_selector_rows'").fetchone() == (
        0,
    )
