"""Unit tests of scorecard/model.py: points scaling, the L2 logistic regression on WoE, the fitted card."""

from __future__ import annotations

import math

import duckdb
import pytest

from icp_agent.errors import UserError
from icp_agent.scorecard.model import _round_half_up, learn_scorecard, points_scaling

SETTINGS = {
    "max_bins": 6,
    "min_bin_share": 0.05,
    "min_iv": 0.02,
    "max_list_elements": 8,
    "l2": 0.0,
    "smoothing": 0.5,
    "neutral_missing": [],
}


def test_points_scaling_by_hand():
    # factor = pdo / ln 2; offset = base points - factor x ln(base odds)
    s = points_scaling(20, 600, 50)
    assert s["factor"] == pytest.approx(28.853900817779268)
    assert s["offset"] == pytest.approx(600 - 28.853900817779268 * math.log(50))
    # pdo more points double the odds
    assert s["offset"] + s["factor"] * math.log(100) == pytest.approx(620)
    with pytest.raises(UserError, match=r"pdo \(0\) and base_odds \(1\) must be positive"):
        points_scaling(0, 600, 1)
    with pytest.raises(UserError, match="must be positive"):
        points_scaling(20, 600, 0)


def test_round_half_up_like_the_sql():
    assert [_round_half_up(x) for x in (2.5, -2.5, 2.4999, -0.5, 0.0)] == [3, -2, 2, 0, 0]


@pytest.fixture
def con():
    c = duckdb.connect()
    # A: 500 rows, 400 good; B: 500 rows, 100 good; average odds 1
    c.execute("""CREATE TABLE r AS SELECT range AS _row, CASE WHEN range < 500 THEN 'A' ELSE 'B' END AS seg,
        CASE WHEN range < 500 THEN range % 5 <> 0 ELSE range % 5 = 0 END AS good FROM range(1000)""")
    yield c
    c.close()


def test_one_field_gets_a_coefficient_of_about_one(con):
    card = learn_scorecard(con, "r", {"seg": "category"}, SETTINGS, 20, 600, None)
    (feature,) = card["features"]
    a = next(b for b in feature["bins"] if b["label"] == "seg A")
    # WoE_A = ln(400.5 / 100.5) - ln(500 / 500); the unpenalised fit recovers the log-odds ln 4 = beta x WoE_A
    assert a["woe"] == pytest.approx(math.log(400.5 / 100.5), abs=1e-6)
    assert feature["coefficient"] == pytest.approx(math.log(4) / math.log(400.5 / 100.5), abs=1e-3)
    factor = 20 / math.log(2)
    assert a["points"] == _round_half_up(factor * feature["coefficient"] * a["woe"]) == 40
    # average odds 1: the intercept is ~0 log-odds, so its points are the offset, 600
    assert card["scaling"]["base_odds"] == 1.0 and card["intercept_points"] == 600
    assert card["fit_score"]["average_odds"] == 1.0 and card["field_kinds"] == {"seg": "category"}
    # information value 0.83 > 0.5: flagged as suspiciously strong
    assert feature["iv"] > 0.5 and any("suspiciously well" in w for w in card["warnings"])


def test_the_penalty_shrinks_the_coefficient(con):
    free = learn_scorecard(con, "r", {"seg": "category"}, SETTINGS, 20, 600, None)["features"][0]["coefficient"]
    shrunk = learn_scorecard(con, "r", {"seg": "category"}, {**SETTINGS, "l2": 500.0}, 20, 600, None)["features"][0]
    assert 0 < shrunk["coefficient"] < free


def test_a_field_without_signal_is_left_out(con):
    con.execute(
        "ALTER TABLE r ADD COLUMN noise VARCHAR; UPDATE r SET noise = CASE WHEN _row % 2 = 0 THEN 'x' ELSE 'y' END"
    )
    card = learn_scorecard(con, "r", {"noise": "category"}, SETTINGS, 20, 600, None)
    assert card["features"] == []
    assert card["excluded"][0]["field"] == "noise" and "below 0.02" in card["excluded"][0]["reason"]
    # without features the intercept is the average log-odds: 600 points at base odds 1
    assert card["intercept_points"] == 600


def test_patterns_sql_counts_each_bin_pattern_with_spellings_keyed_once_per_group():
    from icp_agent.scorecard.model import patterns_sql

    con = duckdb.connect()
    # three spellings of one industry, a list field read by two features, a number field binned per row
    con.execute(
        """CREATE TABLE t AS SELECT * FROM (VALUES
        ('Computer Software', ['Slack'], 10.0, TRUE), ('computer_software', ['slack', 'Wix'], 10.0, FALSE),
        ('COMPUTER  SOFTWARE', ['Wix'], 50.0, TRUE), ('Retail', NULL, 50.0, FALSE), (NULL, [], NULL, FALSE),
        ('Mining', ['Slack'], 10.0, TRUE)) v(industry, technologies, revenue, good)"""
    )
    missing = {"when": {"op": "is_missing"}, "missing": True}
    features = [
        {"field": "industry", "kind": "category", "bins": [
            {"when": {"field": "industry", "op": "in", "values": ["Computer Software"]}},
            {"when": {"field": "industry", "op": "in", "values": ["Retail"]}}, missing]},
        {"field": "technologies", "kind": "list", "bins": [
            {"when": {"field": "technologies", "op": "contains", "value": "Slack"}},
            {"when": {"field": "technologies", "op": "not_contains", "value": "Slack"}}, missing]},
        {"field": "technologies", "kind": "list", "bins": [
            {"when": {"field": "technologies", "op": "contains", "value": "Wix"}},
            {"when": {"field": "technologies", "op": "not_contains", "value": "Wix"}}, missing]},
        {"field": "revenue", "kind": "number", "bins": [
            {"when": {"field": "revenue", "op": "between", "min": 0, "max": 20, "max_exclusive": True}},
            {"when": {"field": "revenue", "op": "gte", "min": 20}}, missing]},
    ]  # fmt: skip
    rows = con.execute(f"SELECT * FROM ({patterns_sql('t', features, ['c0', 'c1', 'c2', 'c3'])}) ORDER BY ALL")
    # industry: 1 Computer Software (every spelling), 2 Retail, 3 missing, 0 unseen (Mining); lists: 1 contains,
    # 2 without, 3 missing (NULL or empty); revenue 1 under 20, 2 from 20, 3 missing
    assert rows.fetchall() == [
        (0, 1, 2, 1, 1, 1),
        (1, 1, 1, 1, 1, 0),
        (1, 1, 2, 1, 1, 1),
        (1, 2, 1, 2, 1, 1),
        (2, 3, 3, 2, 1, 0),
        (3, 3, 3, 3, 1, 0),
    ]


def _places(con, rows: int = 2000):
    """Accounts in 4 countries, 12 regions (3 per country), 48 cities (4 per region) and 960 zip codes (20 per
    city), industry independent of place; good depends on the country alone (so region, city and zip carry it too,
    nested in it)."""
    con.execute(
        f"""CREATE OR REPLACE TABLE places AS SELECT i AS _row, z AS zip, z // 20 AS city_n, z // 80 AS region_n,
            z // 240 AS country_n, ['Retail', 'Media', 'Software'][i % 3 + 1] AS industry,
            (hash(i) % 100) < CASE z // 240 WHEN 0 THEN 55 WHEN 1 THEN 35 WHEN 2 THEN 20 ELSE 10 END AS good
            FROM (SELECT i, (hash(i * 7) % 960)::INTEGER AS z FROM range({rows}) t(i))"""
    )
    con.execute(
        "CREATE OR REPLACE TABLE places AS SELECT _row, 'Z' || zip AS zip, 'City' || city_n AS city, "
        "'R' || region_n AS region, ['US', 'CA', 'DE', 'FR'][country_n + 1] AS country, industry, good FROM places"
    )


def test_nested_place_fields_are_found_by_their_values(con):
    from icp_agent.scorecard.model import nested_fields

    _places(con)
    nested = nested_fields(con, "places", ["zip", "city", "region", "country", "industry"])
    assert nested == {
        "zip": ["country", "region", "city"],
        "city": ["country", "region"],
        "region": ["country"],
    }


def test_a_place_enters_the_score_once_at_its_coarsest_informative_level(con):
    _places(con)
    fields = {
        "zip": "category",
        "city": "category",
        "region": "category",
        "country": "category",
        "industry": "category",
    }
    card = learn_scorecard(con, "places", fields, SETTINGS, 20, 600, None)
    assert [f["name"] for f in card["features"]] == ["country"]
    left_out = {e["field"]: e["reason"] for e in card["excluded"]}
    for finer in ("city", "region"):
        assert left_out[finer].startswith("nested in country (each of its values lies within one of country's)")
    assert "zip" in left_out  # two rows a value: pooled into one bin, if not nested


def test_a_field_nested_in_two_equally_coarse_fields_names_them_in_the_fields_order(con):
    """zip lies within region and within its copy state (as many values): both are listed, region first (the
    fields' order), whatever order the engine returns the pairs' purities in."""
    from icp_agent.scorecard.model import nested_fields

    con.execute(
        "CREATE TABLE z AS SELECT 'Z' || (i % 40) AS zip, 'R' || (i % 40 // 10) AS region, "
        "'S' || (i % 40 // 10) AS state FROM range(400) t(i)"
    )
    assert nested_fields(con, "z", ["zip", "region", "state"]) == {"zip": ["region", "state"], "state": ["region"]}
