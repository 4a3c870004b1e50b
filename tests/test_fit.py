"""Unit tests of scorecard/fit.py: fit_scorecard on a small synthetic frame (tests/scorecard_data.py)."""

from __future__ import annotations

import math

import duckdb
import pytest

from icp_agent.errors import UserError
from icp_agent.scorecard.fit import fit_scorecard
from scorecard_data import FIELDS, make_frame


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    make_frame(c)
    yield c
    c.close()


@pytest.fixture(scope="module")
def card(con):
    return fit_scorecard(con, "frame", FIELDS, time_column="signup")


def test_fits_the_fields_with_signal(con, card):
    n, n_good = con.execute("SELECT count(*), count_if(good) FROM frame").fetchall()[0]
    assert (card["status"], card["n"], card["n_good"], card["n_not_good"]) == ("ok", n, n_good, n - n_good)
    # industry and employee band carry the designed signal; tools and region none
    assert [f["name"] for f in card["features"]] == ["industry", "employees"]
    assert {e["field"] for e in card["excluded"]} == {"tools", "region"}
    assert all(f["coefficient"] > 0 for f in card["features"])


def test_woe_and_points_by_hand(con, card):
    n, n_good = card["n"], card["n_good"]
    industry = card["features"][0]
    software = next(b for b in industry["bins"] if b["label"] == "industry Software")
    k, g = con.execute("SELECT count(*), count_if(good) FROM frame WHERE industry = 'Software'").fetchall()[0]
    # WoE = ln((good_b + 0.5) / (not_good_b + 0.5)) - ln(good / not_good)
    woe = math.log((g + 0.5) / (k - g + 0.5)) - math.log(n_good / (n - n_good))
    assert (software["n"], software["n_good"]) == (k, g) and software["woe"] == pytest.approx(woe, abs=1e-6)
    # points = round(factor x coefficient x WoE), factor = pdo / ln 2
    factor = 20 / math.log(2)
    assert card["scaling"]["factor"] == pytest.approx(factor)
    assert software["points"] == math.floor(factor * industry["coefficient"] * software["woe"] + 0.5)
    # base odds default to the data's: 600 points at the average odds
    assert card["scaling"]["base_odds"] == pytest.approx(n_good / (n - n_good))
    assert card["fit_score"]["points_at_average_odds"] == pytest.approx(600)


def test_band_bins_follow_the_ranges(card):
    employees = card["features"][1]
    labels = [b["label"] for b in employees["bins"]]
    # cut at the observed lower bounds, so no standard range straddles two bins; placed by the midpoint
    assert labels == [
        "employees up to 10",
        "employees 11-50",
        "employees 51-200",
        "employees 201-1000",
        "employees 1001+",
        "employees missing",
    ]
    assert all(b["when"].get("on") == "midpoint" for b in employees["bins"][:-1])


def test_holdout_is_the_newest_quarter(card):
    ev = card["evaluation"]
    assert (ev["split"], ev["holdout"]["n"], ev["train"]["n"]) == ("time", 200, 600)
    assert ev["train"]["last"] < ev["holdout"]["first"]
    assert ev["status"] == "ok" and 0.5 < ev["auc"] <= 1
    bands = card["bands"]
    assert [b["priority"] for b in bands] == ["high", "medium", "low"]
    assert sum(b["n"] for b in bands) == card["n"]


def test_where_screened_and_missing_fields(con):
    card = fit_scorecard(
        con,
        "frame",
        {**FIELDS, "nowhere": "number"},
        time_column="signup",
        where="industry <> 'Health'",
        screened=[{"field": "employees", "reason": "leakage: outcome-derived"}],
    )
    assert card["n"] == 600
    assert [f["name"] for f in card["features"]] == ["industry"]
    reasons = {e["field"]: e["reason"] for e in card["excluded"]}
    assert reasons["employees"] == "leakage: outcome-derived" and reasons["nowhere"] == "not in the data"


def test_too_few_or_no_signal(con):
    few = fit_scorecard(con, "frame", FIELDS, time_column="signup", min_good=1000)
    assert few["status"] == "insufficient_data" and few["min_good"] == 1000 and "1000 good" in few["reason"]
    noise = fit_scorecard(con, "frame", {"region": "category"}, time_column="signup")
    assert noise["status"] == "no_signal" and "region" in noise["reason"]


def test_bad_arguments_name_themselves(con):
    with pytest.raises(UserError, match="holdout_share must be in"):
        fit_scorecard(con, "frame", FIELDS, time_column="signup", holdout_share=1.0)
    with pytest.raises(UserError, match="max_bins must be >= 2"):
        fit_scorecard(con, "frame", FIELDS, time_column="signup", max_bins=1)
    with pytest.raises(UserError, match=r"unknown field kinds.*'when': 'date'"):
        fit_scorecard(con, "frame", {"when": "date"}, time_column="signup")
    with pytest.raises(UserError, match="the frame frame has no column 'closed_at'"):
        fit_scorecard(con, "frame", FIELDS, time_column="closed_at")


def test_the_holdout_is_the_newest_rows_by_date_then_row_number():
    from icp_agent.scorecard.fit import _prepare

    con = duckdb.connect()
    # 8 rows: two without a date (the oldest), two on the same newest day (row number breaks the tie)
    con.execute(
        """CREATE TABLE f AS SELECT * FROM (VALUES
        (1, TRUE, DATE '2024-03-01', 'a'), (2, FALSE, NULL, 'b'), (3, TRUE, DATE '2024-05-01', 'a'),
        (4, FALSE, DATE '2024-05-01', 'b'), (5, TRUE, DATE '2024-01-01', 'a'), (6, FALSE, NULL, 'b'),
        (7, TRUE, DATE '2024-04-01', 'a'), (8, FALSE, DATE '2024-02-01', 'b')) t(_row, good, signup, industry)"""
    )
    _prepare(con, "f", "t", {"industry": "category"}, "signup", None, "TRUE", 0.25)
    # by (date, row): 2, 6 (no date), 5, 8, 1, 7, 3, 4: the last quarter is rows 3 and 4
    held = con.execute("SELECT _row FROM t WHERE __icp_holdout ORDER BY _row").fetchall()
    assert held == [(3,), (4,)]
    assert con.execute("SELECT count(*), count_if(__icp_t IS NULL) FROM t").fetchone() == (8, 2)
    # the cut inside a date's tied rows (row number decides), inside the rows without a date, on a date's first row,
    # past every row (share 0 of 8: none), and with no date column at all (row number alone)
    for share, time_column, expected in (
        (0.5, "signup", [1, 3, 4, 7]),
        (0.875, "signup", [6, 5, 8, 1, 7, 3, 4]),
        (0.625, "signup", [8, 1, 7, 3, 4]),
        (0.125, "signup", [4]),
        (0.0, "signup", []),
        (0.25, None, [7, 8]),
    ):
        _prepare(con, "f", "s", {"industry": "category"}, time_column, None, "TRUE", share)
        # every modelled row once, in no particular order (every reader of the table aggregates)
        assert sorted(r[0] for r in con.execute("SELECT _row FROM s").fetchall()) == list(range(1, 9))
        held = con.execute("SELECT _row FROM s WHERE __icp_holdout").fetchall()
        assert sorted(r[0] for r in held) == sorted(expected), (share, time_column)
        con.execute("DROP TABLE s")
    # with a group column an account sits wholly on one side, placed by its first date: b's (2024-02-01) is newer
    # than a's (2024-01-01); holding out half the rows holds out all of b, a quarter would split b: none
    _prepare(con, "f", "q", {"industry": "category"}, "signup", "industry", "TRUE", 0.25)
    assert con.execute("SELECT count_if(__icp_holdout) FROM q").fetchone() == (0,)
    _prepare(con, "f", "g", {"industry": "category"}, "signup", "industry", "TRUE", 0.5)
    held = con.execute("SELECT _row FROM g WHERE __icp_holdout ORDER BY _row").fetchall()
    assert held == [(2,), (4,), (6,), (8,)]


def test_the_scorecard_does_not_depend_on_the_frames_row_order(con, card):
    """The modelled rows are stored unsorted (a sort of every row cost 0.35 s at 1M customers): every step reads
    them through aggregates, so the same frame stored in another order gives the same scorecard, figure for figure."""
    con.execute("CREATE OR REPLACE TABLE shuffled AS SELECT * FROM frame ORDER BY hash(_row * 31 + 7)")
    assert [r[0] for r in con.execute("SELECT _row FROM shuffled LIMIT 5").fetchall()] != [0, 1, 2, 3, 4]
    assert fit_scorecard(con, "shuffled", FIELDS, time_column="signup") == card
