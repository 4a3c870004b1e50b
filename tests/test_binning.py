"""Unit tests of scorecard/binning.py: WoE in SQL, pre-bins merged by size and information value, labels."""

from __future__ import annotations

import math

import duckdb
import pytest

from icp_agent.scorecard.binning import (
    _category_bins,
    _list_features,
    _merge,
    _number_bins,
    attach_woe,
    bin_fields,
    interval_label,
    woe_table,
)

SETTINGS = {
    "max_bins": 6,
    "min_bin_share": 0.05,
    "min_iv": 0.02,
    "max_list_elements": 8,
    "l2": 1.0,
    "smoothing": 0.5,
    "neutral_missing": [],
}


def test_woe_matches_a_hand_computed_table():
    con = duckdb.connect()
    rows = (
        [("a", True)] * 3
        + [("a", False)]
        + [("b", True)]
        + [("b", False)] * 3
        + [(None, True)] * 2
        + [(None, False)] * 2
        + [("c", False)] * 2
    )
    con.execute("CREATE TABLE t (v VARCHAR, good BOOLEAN)")
    con.executemany("INSERT INTO t VALUES (?, ?)", rows)
    # 6 good, 8 not good overall: WoE = ln(good_b / not_good_b) - ln(6 / 8)
    raw = woe_table(con, "t", ["v"], smoothing=0)[0]
    assert raw["a"][:2] == (4, 3) and raw["a"][2] == pytest.approx(math.log(3 / 1) - math.log(6 / 8))
    assert raw["b"][2] == pytest.approx(math.log(1 / 3) - math.log(6 / 8))
    assert raw[None][2] == pytest.approx(math.log(2 / 2) - math.log(6 / 8))
    assert raw["c"][2] == -math.inf  # no good customer at all: why the default smooths
    smoothed = woe_table(con, "t", ["v", "v IS NULL"])
    assert smoothed[0]["a"][2] == pytest.approx(math.log(3.5 / 1.5) - math.log(6 / 8))
    assert smoothed[0]["c"][2] == pytest.approx(math.log(0.5 / 2.5) - math.log(6 / 8))
    assert smoothed[1][True][:2] == (4, 2) and smoothed[1][False][:2] == (10, 4)


def test_woe_on_counted_patterns_equals_woe_on_the_rows():
    # _fit aggregates the rows into bin patterns with counts; the WoE read from them must be the rows' own
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE t AS SELECT ['a', 'b', NULL][range % 3 + 1] AS v, range % 4 AS w, "
        "hash(range) % 5 < 2 AS good FROM range(500)"
    )
    con.execute("CREATE TABLE p AS SELECT v, w, count(*) AS rows_, count_if(good) AS good_ FROM t GROUP BY ALL")
    assert con.execute("SELECT count(*) FROM p").fetchone()[0] < 500
    for smoothing in (0.0, 0.5):
        on_rows = woe_table(con, "t", ["v", "w"], smoothing=smoothing)
        on_patterns = woe_table(con, "p", ["v", "w"], smoothing=smoothing, counts=("rows_", "good_"))
        assert on_patterns == on_rows
    assert sum(n for n, _, _ in on_rows[1].values()) == 500


def _nk(items):
    return [(i["n"], i["g"]) for i in items]


def _add(a, b):
    return {"n": a["n"] + b["n"], "g": a["g"] + b["g"]}


def test_merge_small_bins_into_the_closer_rate():
    # the 3-row bin (all good) joins the neighbour whose good rate is closer (90% rather than 50%)
    items = [{"n": 100, "g": 50}, {"n": 3, "g": 3}, {"n": 100, "g": 90}]
    assert _nk(_merge(items, (203, 143), 10, 6, _add)) == [(100, 50), (103, 93)]


def test_merge_down_to_max_bins_losing_the_least_information():
    # 50% and 52% are nearly the same: merging them loses the least information value
    items = [{"n": 100, "g": 50}, {"n": 100, "g": 52}, {"n": 100, "g": 90}]
    assert _nk(_merge(items, (300, 192), 10, 2, _add)) == [(200, 102), (100, 90)]
    assert _nk(_merge(items, (300, 192), 10, 3, _add)) == [(100, 50), (100, 52), (100, 90)]


def test_category_bins_pool_rare_values_as_other():
    table = {"a": (50, 40, 0), "b": (50, 10, 0), "c": (2, 1, 0), "d": (1, 0, 0), None: (5, 2, 0)}
    bins = _category_bins("seg", "category", table, (108, 53), 10, 6)
    # c and d (under half the minimum bin) are pooled; the pool (3 rows) is then merged into b, the closer rate;
    # bins are ordered by good rate, the missing bin last
    assert [b["when"] for b in bins] == [
        {"field": "seg", "op": "in", "values": ["b", "c", "d"]},
        {"field": "seg", "op": "in", "values": ["a"]},
        {"field": "seg", "op": "is_missing"},
    ]
    assert [b["label"] for b in bins] == ["seg b, other (rare values)", "seg a", "seg missing"]
    assert bins[0]["other"] is True and bins[2]["missing"] is True


def test_number_bins_join_empty_prebins_and_read_as_ranges():
    # cuts 10, 20, 30 give [.., 10), [10, 20), [20, 30), [30, ..); the empty [10, 20) joins its right neighbour
    table = {0: (50, 10, 0), 2: (50, 40, 0), 3: (50, 45, 0)}
    bins = _number_bins("x", "number", table, [10.0, 20.0, 30.0], True, (150, 95), 10, 6)
    assert [b["when"] for b in bins] == [
        {"field": "x", "op": "lte", "max": 10, "max_exclusive": True},
        {"field": "x", "op": "between", "min": 10, "max": 30, "max_exclusive": True},
        {"field": "x", "op": "gte", "min": 30},
        {"field": "x", "op": "is_missing"},
    ]
    assert [b["label"] for b in bins] == ["x up to 9", "x 10-29", "x 30+", "x missing"]
    band = _number_bins("e", "band", table, [10.0, 20.0, 30.0], True, (150, 95), 10, 6)
    assert all(b["when"]["on"] == "midpoint" for b in band[:-1])


def test_interval_labels():
    assert interval_label("x", None, None, True) == "x known"
    assert interval_label("x", 51, 201, True) == "x 51-200"
    assert interval_label("x", 5, 6, True) == "x 5"
    assert interval_label("x", None, 2.5, False) == "x under 2.5"
    assert interval_label("x", 1.5, None, False) == "x 1.5 or more"
    assert interval_label("x", 1.5, 2.5, False) == "x 1.5 to under 2.5"


@pytest.fixture
def con():
    c = duckdb.connect()
    # 100 rows: crm on 50 (40 good), not on 50 (10 good); erp on 5 rows only; seg a / b, blank on 20 rows
    # that are all not good
    c.execute("""CREATE TABLE r AS SELECT range AS _row,
        CASE WHEN range < 50 THEN ['crm'] WHEN range < 55 THEN ['erp'] ELSE ['other'] END AS tools,
        CASE WHEN range < 50 THEN range % 5 <> 0 ELSE range % 5 = 0 END AS good,
        CASE WHEN range >= 50 AND range % 5 <> 0 AND range % 2 = 0 THEN NULL WHEN range < 50 THEN 'a' ELSE 'b' END AS seg
        FROM range(100)""")
    yield c
    c.close()


def test_list_features_keep_informative_elements(con):
    missing = woe_table(con, "r", ["(tools IS NULL OR len(tools) = 0)"])[0]
    features, excluded = _list_features(con, "r", "tools", missing, (100, 50), 10, SETTINGS)
    assert [f["name"] for f in features] == ["tools: crm", "tools: other"]
    assert [b["label"] for b in features[0]["bins"]] == ["tools contains crm", "tools without crm", "tools missing"]
    # erp is on 5 rows, fewer than the minimum bin of 10
    assert [e["field"] for e in excluded] == ["tools"] and excluded[0]["reason"].startswith("1 of its 3 elements")


def test_attach_woe_neutral_missing_and_single_bins(con):
    features, _ = bin_fields(con, "r", {"seg": "category"}, 100, 50, 10, SETTINGS)
    kept, dropped = attach_woe(con, "r", features, 100, 50, 10, SETTINGS)
    missing = kept[0]["bins"][-1]
    # 20 blanks, none good: WoE = ln(0.5 / 20.5) - ln(50 / 50)
    assert missing["n"] == 20 and missing["woe"] == pytest.approx(math.log(0.5 / 20.5), abs=1e-6)
    features, _ = bin_fields(con, "r", {"seg": "category"}, 100, 50, 10, SETTINGS)
    kept, _ = attach_woe(con, "r", features, 100, 50, 10, {**SETTINGS, "neutral_missing": ["seg"]})
    missing = kept[0]["bins"][-1]
    assert missing["woe"] == 0.0 and "data-quality finding" in missing["neutral"]
    # a field with one value: a single bin, nothing to tell apart
    con.execute("ALTER TABLE r ADD COLUMN one VARCHAR DEFAULT 'x'")
    features, _ = bin_fields(con, "r", {"one": "category"}, 100, 50, 10, SETTINGS)
    kept, dropped = attach_woe(con, "r", features, 100, 50, 10, SETTINGS)
    assert kept == [] and dropped[0]["reason"] == "a single bin: nothing to tell customers apart"


def test_too_many_categories_is_an_identifier():
    con = duckdb.connect()
    con.execute("CREATE TABLE r AS SELECT 'id' || range AS ref, range % 2 = 0 AS good FROM range(5001)")
    features, excluded = bin_fields(con, "r", {"ref": "category"}, 5001, 2501, 250, SETTINGS)
    assert features == [] and excluded[0]["field"] == "ref" and "too many to score" in excluded[0]["reason"]


def test_woe_table_lists_its_bins_in_value_order():
    """The bins come in one order (the rare values pooled into "other" keep it) whatever the engine's GROUPING SETS
    returns: by value, NULL last."""
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE t AS SELECT ['d', 'b', NULL, 'a', 'c'][i % 5 + 1] AS v, i % 3 = 0 AS good FROM range(50) t(i)"
    )
    assert list(woe_table(con, "t", ["v"])[0]) == ["a", "b", "c", "d", None]
