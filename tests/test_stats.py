"""Statistics helpers: sanity values from fixtures/reference/README.md, agreement with scipy, properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats

from icp_agent.patterns.stats import benjamini_hochberg, fisher_exact, fisher_exact_many, wilson_interval


def scipy_fisher_p(k_sg: int, n_sg: int, k_all: int, n_all: int) -> float:
    table = [[k_sg, n_sg - k_sg], [k_all - k_sg, n_all - n_sg - k_all + k_sg]]
    return float(scipy_stats.fisher_exact(table).pvalue)


def test_wilson_matches_credit_g_reference():
    low, high = wilson_interval(135, 274)
    assert (round(low, 5), round(high, 5)) == (0.43402, 0.55159)


def test_wilson_of_nothing_is_the_unit_interval():
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_wilson_wider_z_gives_wider_interval():
    narrow, wide = wilson_interval(30, 100, z=1.0), wilson_interval(30, 100, z=3.0)
    assert wide[0] < narrow[0] < 0.3 < narrow[1] < wide[1]


def test_fisher_matches_credit_g_reference():
    odds_ratio, p = fisher_exact(135, 274, 300, 1000)
    assert round(odds_ratio, 3) == 3.302
    assert p == pytest.approx(2.05e-15, rel=5e-3)


def test_benjamini_hochberg_matches_reference():
    np.testing.assert_allclose(benjamini_hochberg([0.01, 0.02, 0.03, 0.2]), [0.04, 0.04, 0.04, 0.2])


def test_benjamini_hochberg_counts_untested_patterns_as_p_one():
    # Two reported patterns out of four tested: the other two count as p = 1.
    np.testing.assert_allclose(benjamini_hochberg([0.01, 0.02], n_tests=4), [0.04, 0.04])
    assert benjamini_hochberg([]).size == 0
    with pytest.raises(ValueError, match="n_tests"):
        benjamini_hochberg([0.1, 0.2], n_tests=1)


def test_fisher_many_equals_scipy_on_every_small_table():
    """Every possible table for populations up to 16 rows: ties and symmetric cases included."""
    for n_all in range(1, 17):
        for k_all in range(n_all + 1):
            n_sg, k_sg = zip(*[(n, k) for n in range(n_all + 1)
                               for k in range(max(0, n - (n_all - k_all)), min(n, k_all) + 1)])
            ours = fisher_exact_many(np.array(k_sg), np.array(n_sg), k_all, n_all)
            theirs = [scipy_fisher_p(k, n, k_all, n_all) for k, n in zip(k_sg, n_sg)]
            np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=0)


@pytest.mark.parametrize("n_all, k_all", [(1000, 300), (20_000, 500), (1_000_000, 200_000)])
def test_fisher_many_equals_scipy_on_large_populations(n_all, k_all):
    rng = np.random.default_rng(n_all)
    n_sg = rng.integers(1, n_all, 10_000)
    k_sg = rng.binomial(n_sg, k_all / n_all) + rng.integers(-40, 41, n_sg.size)
    k_sg = np.clip(k_sg, np.maximum(0, n_sg - (n_all - k_all)), np.minimum(n_sg, k_all))
    ours = fisher_exact_many(k_sg, n_sg, k_all, n_all)  # 10,000 tables: one vectorised call
    sample = rng.choice(n_sg.size, 60, replace=False)
    theirs = [scipy_fisher_p(int(k_sg[i]), int(n_sg[i]), k_all, n_all) for i in sample]
    np.testing.assert_allclose(ours[sample], theirs, rtol=1e-7, atol=1e-300)


def test_fisher_many_tables_without_evidence_get_p_one():
    np.testing.assert_array_equal(fisher_exact_many(np.array([0, 30]), np.array([0, 100]), 30, 100), [1, 1])
    np.testing.assert_array_equal(fisher_exact_many(np.array([0]), np.array([5]), 0, 100), [1])


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 60).flatmap(lambda n_all: st.tuples(
    st.just(n_all), st.integers(0, n_all), st.integers(0, n_all))).flatmap(lambda t: st.tuples(
        st.just(t[0]), st.just(t[1]), st.just(t[2]),
        st.integers(max(0, t[2] - (t[0] - t[1])), min(t[2], t[1])))))
def test_fisher_many_matches_scipy_property(table):
    n_all, k_all, n_sg, k_sg = table
    ours = fisher_exact_many(np.array([k_sg]), np.array([n_sg]), k_all, n_all)[0]
    assert ours == pytest.approx(scipy_fisher_p(k_sg, n_sg, k_all, n_all), rel=1e-9, abs=0)


@given(st.integers(1, 10_000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
       st.floats(0.1, 4.0))
def test_wilson_bounds_and_contains_the_rate(counts, z):
    k, n = counts
    low, high = wilson_interval(k, n, z)
    assert 0.0 <= low <= k / n <= high <= 1.0


@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=50))
def test_benjamini_hochberg_properties(p_values):
    p = np.array(p_values)
    adjusted = benjamini_hochberg(p)
    assert np.all(adjusted >= p - 1e-15)
    assert np.all(adjusted <= 1.0)
    order = np.argsort(p, kind="stable")
    assert np.all(np.diff(adjusted[order]) >= -1e-15)  # monotone in p
