"""Band fields: cut points at the bounds of the ranges the data holds, business bands on exact counts."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from icp_agent.tiers.specs import EMPLOYEE_BANDS, field_specs
from icp_agent.patterns.selectors import FieldSpec, build_selectors, observed_ranges, snap_bands

LINKEDIN = [(1, 10), (11, 50), (51, 200), (201, 500), (501, 1000), (1001, 5000), (5001, None)]


def test_a_business_band_never_cuts_inside_an_exported_range():
    snapped = snap_bands(EMPLOYEE_BANDS, LINKEDIN)
    assert (50, 250) not in snapped and (51, 200) in snapped  # 50-250 holds exactly the "51-200" rows
    assert (1001, None) in snapped and (1000, None) not in snapped  # 1000+ started inside "501-1000"
    assert (5001, None) in snapped and (10001, None) not in snapped  # nothing to cut "5001+" at
    assert (201, 1000) in snapped and (1, 50) in snapped  # bounds that are range bounds stay
    bounds = {b for band in snapped for b in band if b is not None}
    for lo, hi in snapped:  # no bound strictly inside a range
        assert not any(a < lo <= (b or np.inf) for a, b in LINKEDIN if lo is not None)
        assert not any(a <= hi < (b or np.inf) for a, b in LINKEDIN if hi is not None)
    assert bounds <= {a for a, _ in LINKEDIN} | {b for _, b in LINKEDIN if b}


def test_another_crm_s_ranges_give_its_own_bounds():
    # Apollo/ZoomInfo-style ranges: 1-9, 10-49, 50-249, 250-999, 1000+
    snapped = snap_bands(EMPLOYEE_BANDS, [(1, 9), (10, 49), (50, 249), (250, 999), (1000, None)])
    assert snapped == ((1, 9), (10, 49), (50, 249), (250, 999), (1000, None), (1, 49))


def test_bands_between_ranges_and_on_exact_counts_stay():
    assert snap_bands(((50, 250), (1, 10)), []) == ((50, 250), (1, 10))
    # a gap between exported ranges: a bound in the gap cuts through no range
    assert snap_bands(((60, 100),), [(1, 50), (101, 200)]) == ((60, 100),)


def table(con, rows):
    con.execute("CREATE OR REPLACE TABLE t (id INTEGER, employees_min DOUBLE, employees_max DOUBLE)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?)", [(i, lo, hi) for i, (lo, hi) in enumerate(rows)])
    return "(SELECT * FROM t ORDER BY id)"


def band_labels(con, relation):
    (spec,) = [s for s in field_specs({"employees": "band"})]
    return {s.label for s in build_selectors(con, relation, [spec]).selectors}


def test_selectors_of_exported_ranges_use_the_ranges_bounds():
    con = duckdb.connect()
    rng = np.random.default_rng(7)
    ranges = [LINKEDIN[i] for i in rng.integers(0, len(LINKEDIN), 400)] + [(205, 205), (230, 230), (None, None)]
    relation = table(con, ranges)
    assert observed_ranges(con, relation, "employees")[:2] == (400, 402)
    labels = band_labels(con, relation)
    assert labels == {"employees 1-10", "employees 11-50", "employees 51-200", "employees 201-500",
                      "employees 501-1000", "employees 1001-5000", "employees >= 5001", "employees 1-50",
                      "employees 201-1000", "employees >= 1001", "employees is missing"}


def test_exact_counts_keep_the_round_business_bands():
    con = duckdb.connect()
    rng = np.random.default_rng(8)
    counts = [(float(v), float(v)) for v in rng.integers(1, 3000, 400)]
    relation = table(con, counts + [(51, 200)] * 40)  # a few exported ranges among exact counts
    labels = band_labels(con, relation)
    assert "employees 50-250" in labels and "employees 51-200" in labels


@pytest.mark.parametrize("snap", [False, True])
def test_without_ranges_snapping_changes_nothing(snap):
    con = duckdb.connect()
    relation = table(con, [(float(v), float(v)) for v in range(1, 400)])
    spec = FieldSpec("employees", "band", bands=EMPLOYEE_BANDS, snap_to_ranges=snap)
    assert len(build_selectors(con, relation, [spec]).selectors) == len(
        build_selectors(con, relation, [FieldSpec("employees", "band", bands=EMPLOYEE_BANDS)]).selectors)


def test_a_prospect_with_201_or_205_employees_is_outside_the_band_the_ranges_gave():
    # the reported failure: data bands "51-200" became "employees 50-250", and scoring put 201 and 205 inside
    con = duckdb.connect()
    relation = table(con, [(51, 200)] * 120 + [(201, 500)] * 80 + [(11, 50)] * 60)
    (spec,) = field_specs({"employees": "band"})
    selectors = [s for s in build_selectors(con, relation, [spec]).selectors if s.op == "between" and s.min >= 50
                 and s.min <= 51]
    assert [s.label for s in selectors] == ["employees 51-200"]
    prospects = "(SELECT * FROM (VALUES (1, 120.0, 120.0), (2, 201.0, 201.0), (3, 205.0, 205.0), (4, 250.0, 250.0)) " \
                "p(id, employees_min, employees_max))"
    inside = con.execute(f"SELECT id FROM {prospects} WHERE {selectors[0].sql()} ORDER BY id").fetchall()
    assert inside == [(1,)]


def test_on_exact_counts_each_band_label_is_its_rule():
    """A Zoho-style export holds exact counts, no ranges: nothing to snap, so 50-250 (a business band) and 51-200
    (LinkedIn's) are both bands, each selecting what its label says (a tier's "employees 50-250" next to a
    trait's "employees 51-200" are two rules, not one rule shown two ways)."""
    import re

    con = duckdb.connect()
    rng = np.random.default_rng(9)
    relation = table(con, [(float(v), float(v)) for v in rng.integers(1, 3000, 500)])
    (spec,) = field_specs({"employees": "band"})
    checked = set()
    for s in build_selectors(con, relation, [spec]).selectors:
        match = re.fullmatch(r"employees (\d+)-(\d+)", s.label.replace(",", ""))
        if not match:
            continue
        lo, hi = int(match[1]), int(match[2])
        edges = f"(SELECT * FROM (VALUES (1, {lo - 1}.0, {lo - 1}.0), (2, {lo}.0, {lo}.0), (3, {hi}.0, {hi}.0), " \
                f"(4, {hi + 1}.0, {hi + 1}.0)) p(id, employees_min, employees_max))"
        assert con.execute(f"SELECT id FROM {edges} WHERE {s.sql()} ORDER BY id").fetchall() == [(2,), (3,)], s.label
        checked.add(s.label)
    assert {"employees 50-250", "employees 51-200"} <= checked
