"""Unit tests of tiers/candidates.py: candidate patterns, their Fisher p / BH q, the parts test, duplicates."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest
from scipy.stats import fisher_exact

from icp_agent.evidence import Ledger
from icp_agent.patterns.search import Pattern
from icp_agent.patterns.selectors import FieldSpec, Selector, build_selectors
from icp_agent.tiers.candidates import (
    Candidate,
    _clearly_beats_parts,
    _collapse_near_duplicates,
    _distinct_rows,
    _same_but_ranges,
    _search_both,
    find_candidates,
    holm,
    pattern_stat,
)
from tiers_data import config, prepared


@pytest.fixture(scope="module")
def data():
    con = duckdb.connect()
    yield prepared(con)
    con.close()


SOFTWARE = Selector("industry", "category", "eq", value="Software")
BIG = Selector("headcount", "number", "gte", min=500.0)
TOP = Selector("headcount", "number", "between", min=400.0, max=500.0, max_exclusive=True)
NORTH = Selector("region", "category", "eq", value="north")


def test_holm_by_hand():
    # sorted p .01, .03, .04 times 3, 2, 1 = .03, .06, .04; step-down keeps the running max: .03, .06, .06
    assert holm(np.array([0.01, 0.04, 0.03])).tolist() == pytest.approx([0.03, 0.06, 0.06])
    assert holm(np.array([0.5, 0.6])).tolist() == [1.0, 1.0]  # capped at 1
    assert holm(np.array([])).tolist() == []


def test_candidates_best_first_with_fisher_p_and_bh_q(data):
    health, selset, good, _ = data
    ledger = Ledger()
    found, tested = find_candidates(selset, good, "good", config(), 50, health, ledger)
    assert tested > len(found)
    # the two Software segments of 60 rows (54 converted) lead, then Software itself (300 rows, 200 converted)
    assert [(c.pattern.label, c.n, c.k) for c in found[:3]] == [
        ("headcount >= 500 AND industry = Software", 60, 54),
        ("headcount in [400, 500) AND industry = Software", 60, 54),
        ("industry = Software", 300, 200),
    ]
    total, hits = len(good), int(good.sum())
    for c in found:
        # two-sided Fisher exact on (in the pattern, outside) x (converted, not)
        table = [[c.k, c.n - c.k], [hits - c.k, total - hits - (c.n - c.k)]]
        assert c.p == pytest.approx(fisher_exact(table).pvalue, rel=1e-6)
        assert c.p <= c.q <= 1
        assert c.n >= 50 and c.k / c.n > hits / total  # over-indexes, at the minimum support
        item = ledger.get(c.evidence)
        assert (item.metrics["n"], item.metrics["k"], item.metrics["direction"]) == (c.n, c.k, "good")
    # BH over every pattern tested: the smallest p is multiplied by the number tested
    smallest = min(found, key=lambda c: c.p)
    assert smallest.q == pytest.approx(smallest.p * tested)


def test_both_searches_side_by_side_give_what_each_gives_alone(data):
    # the WRAcc and lift searches run in two threads (_search_both): the same patterns, counts and tests as each
    # search run alone, in the order WRAcc, lift
    from icp_agent.patterns.search import search

    _, selset, good, _ = data
    both = _search_both(selset, good, config(), 50)
    alone = [
        search(selset, good, depth=config().depth, min_support=50, quality=q, top_k=config().top_k)
        for q in ("wracc", "lift")
    ]
    assert [[(p.selectors, p.n, p.k, p.quality) for p in r.patterns] for r in both] == [
        [(p.selectors, p.n, p.k, p.quality) for p in r.patterns] for r in alone
    ]
    assert [r.tested for r in both] == [r.tested for r in alone] and both[0].tested > 0
    assert [p.label for p in both[0].patterns][:1] == ["industry = Software"]


def test_both_searches_raise_the_error(data):
    _, selset, good, _ = data
    with pytest.raises(ValueError, match="same for every row"):
        _search_both(selset, np.ones_like(good), config(), 50)


def test_candidates_outside_searches_the_rest_but_measures_all(data):
    health, selset, good, _ = data
    software = selset.mask(SOFTWARE)
    found, _ = find_candidates(selset, good, "good", config(), 50, health, Ledger(), outside=~software)
    # Software rows are not searched, so no pattern on Software is found; figures are still over all rows
    assert found and all("Software" not in c.pattern.label for c in found)
    for c in found:
        rows = np.ones(selset.n, bool)
        for s in c.pattern.selectors:
            rows &= selset.mask(s)
        assert (c.n, c.k) == (int(rows.sum()), int((rows & good).sum()))
    # nothing to find when the rows left are all one outcome
    assert find_candidates(selset, good, "good", config(), 50, health, Ledger(), outside=good) == ([], 0)


def test_candidates_for_the_bad(data):
    health, selset, _, bad = data
    found, _ = find_candidates(selset, bad, "bad", config(), 50, health, Ledger())
    assert (found[0].pattern.label, found[0].n, found[0].k, found[0].direction) == (
        "industry = Health",
        300,
        270,
        "bad",
    )


def _candidate(selset, good, *selectors, p=0.01):
    rows = np.ones(selset.n, bool)
    for s in selectors:
        rows &= selset.mask(s)
    return Candidate(Pattern(tuple(selectors), int(rows.sum()), int((rows & good).sum()), 0.0), "good", p, p)


def test_a_combination_must_beat_its_parts(data):
    _, selset, good, _ = data
    # Software AND north adds nothing to Software (region is noise): dropped; Software AND big does: kept
    noisy = _candidate(selset, good, NORTH, SOFTWARE)
    real = _candidate(selset, good, BIG, SOFTWARE)
    single = _candidate(selset, good, SOFTWARE)
    kept = _clearly_beats_parts([noisy, real, single], selset, good, 0.05)
    assert kept == [real, single]


def test_same_but_ranges_and_collapse():
    assert _same_but_ranges((TOP, SOFTWARE), (BIG, SOFTWARE))
    assert not _same_but_ranges((BIG, SOFTWARE), (BIG, SOFTWARE))  # identical is not a near-duplicate
    assert not _same_but_ranges((BIG, SOFTWARE), (BIG, NORTH))
    # overlapping bands 0-50 and 0-55 with the same category: 51 vs 56 rows of 100, Jaccard 51/56 = 0.91
    con = duckdb.connect()
    con.execute("CREATE TABLE r AS SELECT range::DOUBLE AS x, 'a' AS c FROM range(100)")
    selset = build_selectors(
        con, "r", [FieldSpec("x", "number", bands=((0, 50), (0, 55), (0, 80))), FieldSpec("c", "category")]
    )
    target = np.ones(100, bool)
    c = Selector("c", "category", "eq", value="a")
    first, second, third = (
        _candidate(selset, target, Selector("x", "number", "between", min=0.0, max=hi), c) for hi in (50.0, 55.0, 80.0)
    )
    # the first (best) of a family is kept; 0-80 covers 81 rows, Jaccard 51/81 = 0.63 < 0.8: kept
    assert _collapse_near_duplicates([first, second, third], selset) == [first, third]
    assert _collapse_near_duplicates([first, second, third], selset, min_jaccard=0.6) == [first]


def test_distinct_rows_keeps_one_pattern_per_row_set(data):
    _, selset, _, _ = data
    # the same conjunction in two orders covers the same rows: one is kept; shorter patterns first
    p1 = Pattern((BIG,), 240, 96, 0.1)
    p2 = Pattern((BIG, SOFTWARE), 60, 54, 0.2)
    p3 = Pattern((SOFTWARE, BIG), 60, 54, 0.3)
    assert _distinct_rows(selset, [p3, p2, p1]) == [p1, p3]


def test_pattern_stat(data):
    _, _, good, _ = data
    c = Candidate(Pattern((BIG, SOFTWARE), 60, 54, 0.0), "good", 1e-5, 1e-4, evidence="E1")
    stat = pattern_stat(c, {"industry": "Industry"}, good)
    base = 410 / 1200
    assert (stat.n, stat.k, stat.rate, stat.base_rate) == (60, 54, 0.9, pytest.approx(base))
    assert stat.lift == pytest.approx(0.9 / base)
    assert stat.wracc == pytest.approx(60 / 1200 * (0.9 - base))  # coverage x (rate - base)
    assert stat.ci_low < 0.9 < stat.ci_high
    assert [cr.header for cr in stat.criteria] == [None, "Industry"] and stat.evidence == "E1"
