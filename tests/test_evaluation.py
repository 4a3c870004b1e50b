"""Unit tests of scorecard/evaluation.py: AUC and its interval, holdout figures, band tables."""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pytest
from scipy.stats import mannwhitneyu

from icp_agent.scorecard.evaluation import _auc, _auc_interval, band_warnings, _rate_and_lift
from icp_agent.scorecard.fit import fit_scorecard
from scorecard_data import FIELDS, make_frame


def test_auc_by_hand():
    # scores s1 < s2 < s3 with good 0, 1, 2 and not-good 2, 1, 0: of the 9 (good, not-good) pairs the good
    # scores higher in 1x2 + 2x3 = 8 and ties in 1 -> (8 + 0.5) / 9
    assert _auc(np.array([0.0, 1, 2]), np.array([2.0, 1, 0])) == pytest.approx(8.5 / 9)
    assert _auc(np.array([0.0, 3]), np.array([3.0, 0])) == 1.0
    assert _auc(np.array([3.0]), np.array([3.0])) == 0.5  # all tied


def test_auc_matches_mann_whitney():
    rng = np.random.default_rng(7)
    good, bad = rng.integers(0, 20, 60), rng.integers(0, 15, 80)
    scores = np.arange(20)
    g = np.array([(good == s).sum() for s in scores], dtype=float)
    b = np.array([(bad == s).sum() for s in scores], dtype=float)
    u = mannwhitneyu(good, bad).statistic
    assert _auc(g, b) == pytest.approx(u / (60 * 80))


def test_auc_interval_hanley_mcneil():
    # AUC 0.8 with 50 + 50: Q1 = 0.8 / 1.2, Q2 = 2 x 0.64 / 1.8,
    # SE = sqrt((0.16 + 49 (Q1 - 0.64) + 49 (Q2 - 0.64)) / 2500) = 0.0445
    q1, q2 = 0.8 / 1.2, 1.28 / 1.8
    se = math.sqrt((0.16 + 49 * (q1 - 0.64) + 49 * (q2 - 0.64)) / 2500)
    assert se == pytest.approx(0.0445, abs=1e-4)
    assert _auc_interval(0.8, 50, 50) == pytest.approx((0.8 - 1.96 * se, 0.8 + 1.96 * se))
    assert _auc_interval(1.0, 50, 50) == (1.0, 1.0)  # clipped to [0, 1]


def test_rate_and_lift_and_band_warnings():
    assert _rate_and_lift(0, 0, 0.3) == {"good_rate": None, "lift": None}
    assert _rate_and_lift(40, 30, 0.25) == {"good_rate": 0.75, "lift": 3.0}
    assert band_warnings({"bands": [{"priority": "high", "n": 5}, {"priority": "low", "n": 9}]}) == []
    warned = band_warnings({"bands": [{"priority": "high", "n": 0}, {"priority": "medium", "n": 0}]})
    assert len(warned) == 1 and "high or medium" in warned[0]


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    make_frame(c)
    yield c
    c.close()


def test_holdout_figures_add_up(con):
    ev = fit_scorecard(con, "frame", FIELDS, time_column="signup")["evaluation"]
    holdout = ev["holdout"]
    # the newest 200 rows; their counts by SQL
    n, g = con.execute("SELECT count(*), count_if(good) FROM frame WHERE signup >= DATE '2020-01-01' + 600").fetchall()[
        0
    ]
    assert (holdout["n"], holdout["n_good"]) == (n, g)
    deciles = ev["deciles"]
    assert [d["decile"] for d in deciles] == list(range(1, 11))
    assert sum(d["n"] for d in deciles) == n and sum(d["n_good"] for d in deciles) == g
    for d in deciles:
        assert d["good_rate"] == pytest.approx(d["n_good"] / d["n"], abs=1e-4)
        assert d["lift"] == pytest.approx(d["good_rate"] / (g / n), abs=2e-3)
    # deciles run from the highest points down
    assert deciles[0]["points"][0] >= deciles[-1]["points"][1]
    assert [c["observed"] for c in ev["calibration"]] == [d["good_rate"] for d in deciles]
    assert sum(b["n"] for b in ev["bands"]) == n and sum(b["n"] for b in ev["grades"]) == n
    low, high = ev["auc_interval"]
    assert low < ev["auc"] < high


def test_without_a_date_the_split_is_by_row_order(con):
    ev = fit_scorecard(con, "frame", FIELDS, time_column=None)["evaluation"]
    assert ev["split"] == "row_order" and ev["time_column"] is None
    assert any("no usable date column" in w for w in ev["warnings"])


def test_too_small_a_holdout_is_not_measured(con):
    ev = fit_scorecard(con, "frame", FIELDS, time_column="signup", holdout_share=0.01)["evaluation"]
    assert ev["status"] == "too_small" and "auc" not in ev
    assert ev["holdout"]["n"] == 8


def _judged(auc, interval, rates, n=40):
    bands = [{"priority": p, "n": n, "good_rate": r} for p, r in zip(("high", "medium", "low"), rates)]
    return {"status": "ok", "auc": auc, "auc_interval": interval, "bands": bands}


def test_a_score_separates_only_above_chance_with_rising_bands():
    from icp_agent.scorecard.evaluation import separation

    assert separation(_judged(0.74, [0.66, 0.82], [0.4, 0.2, 0.1])) == (True, None)
    ok, statement = separation(_judged(0.61, [0.44, 0.79], [0.4, 0.2, 0.1]))
    assert ok is False and "holdout AUC 0.61, 95% interval 0.44-0.79, includes 0.5" in statement
    assert statement.endswith("do not use it to rank prospects; priority follows the ICP's tiers alone")
    # the report's case: high 8.1% vs low 7.3% with medium above both
    ok, statement = separation(_judged(0.7, [0.6, 0.8], [0.081, 0.09, 0.073]))
    assert ok is False and "does not rise from the low band to the high one (low 7.3%, medium 9.0%, high 8.1%" in statement
    # a band with too few holdout rows is not compared; an unmeasured holdout is not judged
    thin = _judged(0.7, [0.6, 0.8], [0.4, 0.05, 0.1])
    thin["bands"][1]["n"] = 3
    assert separation(thin) == (True, None)
    assert separation({"status": "too_small"}) == (None, None)
