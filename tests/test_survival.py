"""Unit tests of health/survival.py: the Kaplan-Meier retention curve against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from icp_agent.health.survival import kaplan_meier


def test_matches_a_hand_computed_curve():
    # months 1, 2, 2, 3, 5 with churn at 1, 2 and 3 (2 and 5 censored: still customers).
    # S(1) = 4/5 = 0.8; at 2, 4 at risk and 1 event: 0.8 * 3/4 = 0.6; at 3, 2 at risk: 0.6 * 1/2 = 0.3;
    # the curve then stays flat to the last observation (5 months)
    got = kaplan_meier(np.array([1, 2, 2, 3, 5.0]), np.array([1, 0, 1, 1, 0]))
    assert got == [(0.0, 1.0), (1.0, 0.8), (2.0, 0.6), (3.0, 0.3), (5.0, 0.3)]


def test_censoring_changes_the_curve():
    # the same times, all churned: the empirical survival 1 - i/n, down to 0
    got = kaplan_meier(np.array([1, 2, 2, 3, 5.0]), np.ones(5))
    assert got == [(0.0, 1.0), (1.0, 0.8), (2.0, 0.4), (3.0, 0.2), (5.0, 0.0)]


def test_no_churn_is_a_flat_line_to_the_horizon():
    assert kaplan_meier(np.array([3.0, 12.5]), np.array([False, False])) == [(0.0, 1.0), (12.5, 1.0)]


def test_empty_input():
    assert kaplan_meier(np.array([]), np.array([])) == [(0.0, 1.0), (0.0, 1.0)]


def test_missing_months_are_dropped_and_negative_ones_clipped():
    # the NaN (churned) is dropped, so nothing churned; -2 months counts as 0
    assert kaplan_meier(np.array([1.0, np.nan, -2.0]), np.array([0, 1, 0])) == [(0.0, 1.0), (1.0, 1.0)]
    # a negative churn time becomes a churn at month 0: S(0) = 1/2
    assert kaplan_meier(np.array([-1.0, 4.0]), np.array([1, 0])) == [(0.0, 1.0), (0.0, 0.5), (4.0, 0.5)]


def test_steps_thinned_to_max_points():
    # 100 customers churning at months 0..99: S(k) = 1 - (k + 1)/100; 5 points kept at the evenly spaced
    # steps 0, 25, 50, 74, 99 (np.linspace(0, 99, 5) rounded)
    got = kaplan_meier(np.arange(100.0), np.ones(100), max_points=5)
    assert got[0] == (0.0, 1.0)
    assert got[1:] == [
        (0.0, pytest.approx(0.99)),
        (25.0, pytest.approx(0.74)),
        (50.0, pytest.approx(0.49)),
        (74.0, pytest.approx(0.25)),
        (99.0, pytest.approx(0.0)),
    ]
