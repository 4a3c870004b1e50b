"""Unit tests of scorecard/scale.py: the 0-100 fit score of a points total, bands, grades and look-ups."""

from __future__ import annotations

import duckdb
import pytest

from icp_agent.scorecard.scale import (
    FIT_A,
    FIT_B,
    fit_table,
    level_of,
    _levels,
    points_lookup_sql,
    min_points_for,
    fit_value,
)


def _card(**extra) -> dict:
    # points 600 at the data's average odds; 20 points double the odds
    return {
        "scaling": {"pdo": 20},
        "fit_score": {"a": FIT_A, "b": FIT_B, "points_at_average_odds": 600},
        "intercept_points": 600,
        "features": [
            {"bins": [{"points": -10}, {"points": 30}]},
            {"bins": [{"points": 5}, {"points": -3}]},
        ],
        **extra,
    }


def test_anchors():
    # the design: 40 at the average odds, 70 at twice them, 89 at 4x, 97 at 8x, 16 at half
    card = _card()
    assert [fit_value(card, p) for p in (600, 620, 640, 660, 580)] == [40, 70, 89, 97, 16]
    # never saturates before the extremes, and is clamped safely far out
    assert fit_value(card, 10**6) == 100 and fit_value(card, -(10**6)) == 0


def test_fit_table_covers_every_reachable_total():
    # each feature adds one bin's points or 0 (absent): 600 + (-10..30) + (-3..5) = 587..635
    low, fits = fit_table(_card())
    assert (low, len(fits)) == (587, 635 - 587 + 1)
    assert fits[600 - low] == 40 and fits == sorted(fits)
    # the smallest total reaching a score: 40 exactly at the average odds' 600 points (599 scores 39)
    assert min_points_for(_card(), 40) == 600 and fit_value(_card(), 599) == 39
    assert fit_value(_card(), min_points_for(_card(), 70)) >= 70 > fit_value(_card(), min_points_for(_card(), 70) - 1)
    assert min_points_for(_card(), 100) == 636  # no reachable total: one past the top


def test_levels_default_and_edited():
    assert _levels(_card(), "bands") == [("high", 70), ("medium", 40), ("low", 0)]
    assert [level_of(_card(), "bands", f) for f in (70, 69, 40, 39, 0)] == ["high", "medium", "medium", "low", "low"]
    assert [level_of(_card(), "grades", f) for f in (70, 55, 54, 40, 0)] == ["A", "B", "C", "C", "D"]
    # a scorecard's own thresholds win (an edited icp.json)
    edited = _card(bands=[{"priority": "low", "min_score": 0}, {"priority": "high", "min_score": 90}])
    assert level_of(edited, "bands", 89) == "low" and level_of(edited, "bands", 90) == "high"


def test_lookup_in_duckdb_clamps_to_the_ends():
    con = duckdb.connect()
    sql = points_lookup_sql(["a", "b", "c"], 10, "t")
    got = con.execute(f"SELECT t, {sql} FROM (VALUES (9), (10), (11), (12), (13)) v(t) ORDER BY t").fetchall()
    assert got == [(9, "a"), (10, "a"), (11, "b"), (12, "c"), (13, "c")]


@pytest.mark.parametrize("points", [587, 599, 600, 613, 635])
def test_python_and_table_agree(points):
    low, fits = fit_table(_card())
    assert fits[points - low] == fit_value(_card(), points)
