"""Unit tests of tiers/support.py: the minimum support from two-proportion power, and its note."""

from __future__ import annotations

import pytest

from icp_agent.health.health_score import HealthResult
from icp_agent.tiers.analyse import AnalysisConfig
from icp_agent.tiers.support import (
    _sample_size,
    default_min_support,
    detectable_support,
    min_support_note,
    smallest_detectable_rate,
)
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


def test_the_default_minimum_is_capped_in_a_small_book_at_what_a_strong_effect_needs():
    # 643 customers, 20% good and 20% bad: 1.5x needs 216 (a third of them): capped at 5% (33), no less than
    # what 2x needs (39), so a 74-customer segment churning 2.9x as often is tested
    config = AnalysisConfig()
    assert detectable_support(643, 129 / 643) > 200
    assert default_min_support(643, 129, 129, config) == detectable_support(643, 129 / 643, lift=2.0) == 39
    # 1,000 at 30% bad: 1.5x needs 86, 2x 20: 5% of them (50)
    assert default_min_support(1000, 700, 300, config) == 50
    # a larger book keeps the 1.5x size (under 5% of it): 142 of 5,000, 130 of 22,000
    assert default_min_support(5000, 1000, 1000, config) == detectable_support(5000, 0.2) == 142
    assert default_min_support(22_000, 4620, 4620, config) == 130
    # never below 10
    assert default_min_support(120, 24, 24, config) >= 10


def test_the_small_book_note_says_why_the_minimum_is_below_the_moderate_size():
    health = won_lost_health(n=643, n_good=129, n_bad=129)
    note = min_support_note(39, AnalysisConfig(), health, 643, 129, 129)
    assert (note["rows"], note["chosen_by"], note["detectable_lift"]) == (39, "detectable effect", 2.0)
    assert "would need a segment of 216 of the 643 deals to be detected, more than 5% of them" in note["reason"]
    assert "a rate 2x the base rate would be detected" in note["reason"]


def _book(con, agency_bad: int) -> None:
    """600 customers: about 22% bad (every 7th and 11th), industries A-E of 112 each and 40 'Agency' of which `agency_bad` bad."""
    con.execute(
        f"""CREATE OR REPLACE TABLE book AS SELECT i AS _row,
            CASE WHEN i < 40 THEN 'Agency' ELSE chr(CAST(65 + i % 5 AS INTEGER)) END AS industry,
            CASE WHEN i < 40 THEN i < {agency_bad} ELSE i % 7 = 0 OR i % 11 = 0 END AS bad,
            CASE WHEN i < 40 THEN i >= 36 ELSE i % 3 = 0 AND i % 7 <> 0 AND i % 11 <> 0 END AS good
            FROM range(600) t(i)"""
    )


def test_a_strong_segment_below_the_minimum_support_is_found_and_a_null_one_is_not():
    import duckdb

    from icp_agent.tiers.support import strong_below_support

    con = duckdb.connect()
    _book(con, agency_bad=26)  # 65% of the agencies are bad vs about 20% of the rest
    found = strong_below_support(con, "book", ["industry"], 120, 0.05)
    assert (found.field, found.value, found.n, found.k, found.direction) == ("industry", "Agency", 40, 26, "bad")
    assert found.rate == 0.65 and found.q < 1e-6
    # the same segment at the base rate: nothing; a minimum of 40 or less: the segment is searched, not reported
    _book(con, agency_bad=8)
    assert strong_below_support(con, "book", ["industry"], 120, 0.05) is None
    _book(con, agency_bad=26)
    assert strong_below_support(con, "book", ["industry"], 40, 0.05) is None


def test_equally_strong_values_below_the_support_name_the_first_by_value():
    """Two values held by as many entities with as many good ones tie on q: the one named is the first by text,
    whatever order the engine's GROUP BY returns them in (it varies with the number of threads)."""
    import duckdb

    from icp_agent.tiers.support import strong_below_support

    con = duckdb.connect()
    con.execute(
        "CREATE TABLE r AS SELECT CASE WHEN i < 30 THEN 'Zeta' WHEN i < 60 THEN 'Alpha' ELSE 'Other' END AS industry, "
        "i < 60 OR i % 5 = 0 AS good, NOT (i < 60 OR i % 5 = 0) AS bad FROM range(460) t(i)"
    )
    found = strong_below_support(con, "r", ["industry"], min_support=100, alpha=0.05)
    assert found is not None
    assert (found.field, found.value, found.n, found.k, found.direction) == ("industry", "Alpha", 30, 30, "good")
