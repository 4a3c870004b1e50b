"""Unit tests of tiers/support.py: the minimum support from two-proportion power, and its note."""

from __future__ import annotations

import pytest

from icp_agent.health.health_score import HealthResult
from icp_agent.tiers.analyse import AnalysisConfig
from icp_agent.tiers.support import _sample_size, detectable_support, min_support_note, smallest_detectable_rate
from tiers_data import won_lost_health


def test_sample_size_matches_the_textbook_formula():
    # Fleiss (1981) without continuity correction, equal groups, p0 = 0.2 vs p1 = 0.3, alpha 0.05 two-sided,
    # 80% power: n per group = (1.96 sqrt(2 * .25 * .75) + 0.8416 sqrt(.3 * .7 + .2 * .8))^2 / 0.1^2 = 293.2,
    # so 586.3 in all -> 587 (a segment that is half of the entities)
    assert _sample_size(0.2, 0.3, 0.5) == 587
    # an unequal split needs more in all than an equal one
    assert _sample_size(0.2, 0.3, 0.1) > 587


def test_detectable_support_reference_value():
    # the docstring's case: n = 22,000 at a base rate of 21% -> 130 rows (p1 = 1.5 x 21% = 31.5%)
    m = detectable_support(22_000, 0.21)
    assert m == 130
    # the smallest such size: 130 rows suffice, 129 do not
    assert _sample_size(0.21, 0.315, 130 / 22_000) <= 22_000 < _sample_size(0.21, 0.315, 129 / 22_000)


def test_detectable_support_follows_the_effect_and_the_data():
    # the size a segment needs depends mostly on its own rows, little on n: 133 of 5,000 vs 130 of 22,000
    assert detectable_support(5_000, 0.21) == 133
    # a larger effect is seen in a smaller segment; a stricter alpha or more power needs a larger one
    assert detectable_support(22_000, 0.21, lift=2.0) < 130
    assert detectable_support(22_000, 0.21, alpha=0.01) > 130
    assert detectable_support(22_000, 0.21, power=0.9) > 130


def test_detectable_support_falls_back_and_floors():
    # too few rows, or a base rate of 0 / 1: 1 (callers floor at 10)
    assert detectable_support(3, 0.5) == 1
    assert detectable_support(1000, 0.0) == 1
    assert detectable_support(1000, 1.0) == 1
    # n = 100 at 50%: even half the rows at 75% cannot be told apart (168 needed) -> 1
    assert detectable_support(100, 0.5) == 1


def test_detectable_rate():
    # the inverse of the sample size: 587 entities in two halves detect p1 = 0.3 at p0 = 0.2
    assert smallest_detectable_rate(0.2, 0.5, 587) == pytest.approx(0.3)
    assert smallest_detectable_rate(0.2, 0.5, 586) > 0.3
    assert smallest_detectable_rate(0.2, 0.01, 5) is None


def _health() -> HealthResult:
    return won_lost_health(n=200, n_good=50, n_bad=150)


def test_min_support_note():
    note = min_support_note(37, AnalysisConfig(), _health(), 200, 50, 150)
    assert {k: note[k] for k in ("rows", "chosen_by", "detectable_lift", "alpha", "power", "n")} == {
        "rows": 37,
        "chosen_by": "detectable effect",
        "detectable_lift": 1.5,
        "alpha": 0.05,
        "power": 0.8,
        "n": 200,
    }
    chosen = min_support_note(15, AnalysisConfig(min_support=15), _health(), 200, 50, 150)
    assert (chosen["rows"], chosen["chosen_by"]) == (15, "option") and "--min-support" in chosen["reason"]
