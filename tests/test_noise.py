"""Statistics that resist noise and leakage: planted truths on generated data, each with the right outcome.

Two generated exports (seeded, small, written to tmp_path; no third-party data):
- accounts: a segment defined on two industries AND a size band (the ICP), a micro-size disqualifier,
  noise fields of a dozen and of hundreds of values, an exit reason filled only for lost accounts
  (an outcome in disguise);
- loans: 22,000 rows shaped like a real loan book: a sector of 335 rows at 32.5% bad against 21%
  overall, a charged-off amount that is non-zero exactly for bad loans, a running loan number, and an
  industry column left blank in an early era with more defaults.
"""

from __future__ import annotations

import csv

import duckdb
import numpy as np
import pytest

from icp_agent import toolkit
from icp_agent.patterns.screen import screen_fields, single_field_auc
from icp_agent.patterns.search import Pattern, part_test_pvalue
from icp_agent.patterns.selectors import FieldSpec, build_selectors, group_categories
from icp_agent.tiers.support import detectable_support
from icp_agent.tiers.candidates import holm
from icp_agent.workspace import Workspace

INDUSTRIES = ["Software", "Internet", "Retail", "Insurance", "Logistics", "Media", "Education", "Construction"]
CITIES = [f"City {chr(65 + i)}" for i in range(12)]


def _write(path, header, rows):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def _accounts(path, seed=11, n=6000):
    rng = np.random.default_rng(seed)
    industry = rng.choice(INDUSTRIES, n)
    employees = np.exp(rng.uniform(np.log(2), np.log(5000), n)).astype(int)
    segment = np.isin(industry, ["Software", "Internet"]) & (employees >= 51) & (employees <= 200)
    micro = employees <= 10
    p_good = np.where(segment, 0.70, np.where(micro, 0.05, 0.25))
    renewed = rng.random(n) < p_good
    city = rng.choice(CITIES, n)  # a dozen values, no effect
    branch = rng.choice([f"BR-{i:03d}" for i in range(300)], n)  # hundreds of values, no effect
    exit_reason = np.where(renewed, "", rng.choice(["Price", "Went silent", "Chose competitor"], n))
    rows = [[f"acct-{i}", industry[i], employees[i], city[i], branch[i], exit_reason[i], str(bool(renewed[i])).lower()]
            for i in range(n)]
    _write(path, ["company_id", "industry", "employees", "city", "branch_code", "exit_reason", "renewed"], rows)
    return segment, micro


def _loans(path, seed=5, n=22_000):
    rng = np.random.default_rng(seed)
    early = np.arange(n) < 0.3 * n  # loan numbers run with time: the early era has more defaults
    sectors = [f"Sector {i:02d}" for i in range(20)]
    sector = rng.choice(sectors[1:], n)
    special = rng.choice(n, 335, replace=False)
    sector[special] = sectors[0]
    bad = rng.random(n) < np.where(early, 0.26, 0.189)
    bad[special] = np.arange(335) < 109  # exactly 32.5% bad in the sector
    charged_off = np.where(bad, np.round(rng.uniform(500, 90_000, n), 2), 0.0)
    industry = np.where(early, "", rng.choice(["Retail", "Food", "Services", "Manufacturing", "Transport"], n))
    employees = rng.integers(1, 120, n)
    city = rng.choice(CITIES, n)  # a dozen values, no effect
    branch = rng.choice([f"BR-{i:03d}" for i in range(300)], n)  # hundreds of values, no effect
    loan_number = 1_000_001 + np.arange(n)
    order = rng.permutation(n)  # rows are not in loan-number order in the file
    rows = [[f"Borrower {i}", loan_number[i], sector[i], industry[i], employees[i], city[i], branch[i],
             charged_off[i], str(not bad[i]).lower()] for i in order]
    # "Sector" maps to the canonical industry field; the era-dependent column stays an attribute
    _write(path, ["company_name", "loan_number", "sector", "naics_industry", "employees", "city", "branch_code",
                  "charged_off_amount", "paid_in_full"], rows)
    return int(bad[special].sum()), float(bad.mean())


def _criterion_fields(icp) -> set[str]:
    fields = {c.field for t in icp.tiers for c in t.criteria}
    fields |= {c.field for d in icp.negative_icp for c in d.criteria}
    return fields | {f.field for f in (icp.scorecard.features if icp.scorecard else [])}


@pytest.fixture(scope="module")
def accounts(tmp_path_factory):
    folder = tmp_path_factory.mktemp("accounts")
    truth = _accounts(folder / "accounts.csv")
    ws = Workspace(folder / "ws.duckdb")
    toolkit.import_data(ws, customers=folder / "accounts.csv")
    icp = toolkit.build_icp(ws, toolkit.AnalysisOptions(good="column", good_column="renewed"))
    return ws, icp, truth


@pytest.fixture(scope="module")
def loans(tmp_path_factory):
    folder = tmp_path_factory.mktemp("loans")
    truth = _loans(folder / "loans.csv")
    ws = Workspace(folder / "ws.duckdb")
    toolkit.import_data(ws, customers=folder / "loans.csv")
    icp = toolkit.build_icp(ws, toolkit.AnalysisOptions(good="column", good_column="paid_in_full"))
    return ws, icp, truth


def test_two_industry_segment_is_one_icp_with_an_in_criterion(accounts):
    _, icp, _ = accounts
    tier1 = [t for t in icp.tiers if t.tier == 1]
    assert len(tier1) == 1, [t.name for t in icp.tiers]  # not one ICP per industry, nor "not micro" as a second
    criteria = {c.field: c for c in tier1[0].criteria}
    assert set(criteria) == {"industry", "employees"}
    assert criteria["industry"].op == "in" and sorted(criteria["industry"].values) == ["Internet", "Software"]
    assert criteria["industry"].label == "industry in {Internet, Software}"
    assert (criteria["employees"].min, criteria["employees"].max) == (51, 200)
    assert tier1[0].metrics.good_rate > 0.6


def test_noise_fields_never_make_a_criterion(accounts):
    _, icp, _ = accounts
    assert not _criterion_fields(icp) & {"city", "branch_code"}
    assert not {c.field for p in icp.patterns if p.q_value < 0.05 for c in p.criteria} & {"city", "branch_code"}
    # the micro disqualifier comes out alone, not dressed up with a city
    micro = [d for d in icp.negative_icp if any(c.field == "employees" for c in d.criteria)]
    assert micro and all(len(d.criteria) == 1 for d in micro)
    assert micro[0].criteria[0].max <= 10


def test_outcome_derived_field_is_excluded_named_and_back_by_role(accounts, tmp_path):
    ws, icp, _ = accounts
    excluded = {e.field: e.model_dump() for e in icp.excluded_fields}
    assert excluded["exit_reason"]["rule"] == "leakage" and excluded["exit_reason"]["evidence"]
    assert "exit_reason" not in _criterion_fields(icp)
    assert any("exit_reason" in w and "excluded" in w for w in icp.warnings)  # the document lists warnings
    scorecard_excluded = {e.field for e in icp.scorecard.excluded}
    assert "exit_reason" in scorecard_excluded
    toolkit.set_field_roles(ws, {"exit_reason": "fit"})
    try:
        again = toolkit.build_icp(ws, toolkit.AnalysisOptions(good="column", good_column="renewed"))
    finally:
        with ws.transaction() as con:
            con.execute("DELETE FROM field_roles WHERE field = 'exit_reason'")
    assert "exit_reason" not in {e.field for e in again.excluded_fields}
    assert "exit_reason" in {c.field for p in again.patterns for c in p.criteria}


def test_loans_sector_is_tested_and_leaks_ids_and_missingness_are_not_criteria(loans):
    ws, icp, (bad_in_sector, base) = loans
    roles = toolkit.field_roles(ws)
    assert roles["branch_code"] == roles["city"] == "fit"  # they reach the analysis
    assert roles["loan_number"] == "ignore"  # a running number: the import already names it an identifier
    assert abs(base - 0.21) < 0.01 and bad_in_sector == 109
    significant = [p for p in icp.patterns if p.q_value < 0.05]
    fields = _criterion_fields(icp) | {c.field for p in significant for c in p.criteria}
    assert not fields & {"charged_off_amount", "loan_number", "city", "branch_code"}
    assert not {c.field for p in icp.patterns for c in p.criteria} & {"charged_off_amount", "loan_number",
                                                                     "branch_code"}
    # the era's blank industry does not make its values look good: no ICP, one disqualifier, the sector
    assert icp.status == "no_significant_icp" and "Kept out of the criteria" in icp.no_icp_reason
    assert [[c.label for c in d.criteria] for d in icp.negative_icp] == [["industry = Sector 00"]]
    assert all(c.op != "is_missing" for p in icp.patterns for c in p.criteria)
    assert all(c.op != "is_missing" for d in icp.negative_icp for c in d.criteria)
    excluded = {e.field: e.rule for e in icp.excluded_fields}
    assert excluded == {"charged_off_amount": "leakage"}
    quality = {(d.field, d.direction) for d in icp.data_quality}
    assert ("naics_industry", "bad") in quality
    assert any("data quality: naics_industry is missing" in w for w in icp.warnings)
    sector = [p for p in icp.patterns if p.direction == "bad" and p.label == "industry = Sector 00"]
    assert sector and sector[0].n == 335 and sector[0].q_value < 0.05


# --- the pieces, on small planted data ---------------------------------------------------------------

def test_detectable_support_follows_n_and_base_rate():
    at_loans = detectable_support(22_000, 0.21)
    assert 100 < at_loans < 335  # the 335-row sector is tested; a fixed 2% (440) would skip it
    assert at_loans < detectable_support(2_000, 0.21) < detectable_support(22_000, 0.05)
    assert detectable_support(300, 0.21) < 150  # small data: sized for a strong effect, never all rows
    # a segment of that size at 1.5x the base rate is significant at 5% (two-proportion z)
    m, p0 = at_loans, 0.21
    p1, rest = 1.5 * p0, 22_000 - at_loans
    pooled = (m * p1 + rest * p0) / 22_000
    z = (p1 - p0) / np.sqrt(pooled * (1 - pooled) * (1 / m + 1 / rest))
    assert z > 1.96


def test_holm_adjustment():
    assert holm(np.array([0.01, 0.04, 0.03])).tolist() == pytest.approx([0.03, 0.06, 0.06])
    assert holm(np.array([0.5, 0.9])).tolist() == pytest.approx([1.0, 1.0])


def test_group_categories_merges_indistinguishable_values_only():
    counts = {"a": {"0": 300, "1": 100}, "b": {"0": 290, "1": 110}, "c": {"0": 100, "1": 300},
              "d": {"0": 110, "1": 290}, "e": {"0": 200, "1": 200}}
    groups = group_categories(counts)
    assert groups == [frozenset({"a", "b"}), frozenset({"e"}), frozenset({"c", "d"})]
    noise = {f"v{i}": {"0": 100 + (i % 3), "1": 100 - (i % 3)} for i in range(12)}
    assert group_categories(noise) == [frozenset(noise)]


def _frame(rows):
    con = duckdb.connect()
    con.execute("CREATE TABLE t (_row INT, good BOOL, bad BOOL, city VARCHAR, amount DOUBLE, ref BIGINT, "
                "note VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    return con


def test_screen_names_leakage_ids_and_keeps_confirmed_fields():
    rng = np.random.default_rng(3)
    rows = []
    for i in range(2000):
        good = bool(rng.random() < 0.3)
        rows.append((i, good, not good, str(rng.choice(CITIES)), 0.0 if good else float(rng.uniform(1, 9)),
                     10_000 + i, None if good else "lost"))
    con = _frame(rows)
    relation = "(SELECT * FROM t ORDER BY _row)"
    specs = [FieldSpec("city", "category"), FieldSpec("amount", "number"), FieldSpec("ref", "number"),
             FieldSpec("note", "category")]
    screen = screen_fields(con, relation, specs, types={"amount": "money", "ref": "number"}, min_count=50)
    assert {e["field"]: e["rule"] for e in screen.excluded} == {"amount": "leakage", "ref": "identifier",
                                                                 "note": "leakage"}
    assert [s.name for s in screen.kept] == ["city"]
    assert 0.4 < single_field_auc(con, relation, specs[0], 50) < 0.6
    kept = screen_fields(con, relation, specs, types={"amount": "money"}, confirmed={"amount", "note"},
                         min_count=50)
    assert {s.name for s in kept.kept} == {"city", "amount", "note"}


def test_combination_must_beat_its_part_significantly():
    rng = np.random.default_rng(8)
    n = 4000
    size = rng.random(n) < 0.2
    city = rng.choice(CITIES, n)
    bad = rng.random(n) < np.where(size, 0.6, 0.2)
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT * FROM (SELECT unnest(?) AS small, unnest(?) AS city, unnest(?) AS bad)",
                [size.tolist(), city.tolist(), bad.tolist()])
    selset = build_selectors(con, "t", [FieldSpec("city", "category"), FieldSpec("small", "bool")])
    small = next(s for s in selset.selectors if s.field == "small" and s.value is True)
    pvalues = []
    for value in CITIES:
        one_city = next(s for s in selset.selectors if s.field == "city" and s.value == value)
        mask = selset.mask(one_city) & selset.mask(small)
        pattern = Pattern((one_city, small), int(mask.sum()), int((mask & bad).sum()), 0.0)
        pvalues.append(part_test_pvalue(pattern, bad, selset))
    assert (holm(np.array(pvalues)) >= 0.05).all()  # no city adds to the size band after the adjustment


def test_quantile_cut_points_snap_to_round_numbers():
    from icp_agent.patterns.selectors import round_cut_points

    values = np.arange(1000, 100_000, 7, dtype=float)  # evenly spread amounts
    counts = np.ones_like(values, dtype=np.int64)
    assert round_cut_points([20_013.0, 39_997.0, 60_006.0, 80_003.0], values, counts) == [20_000, 40_000, 60_000,
                                                                                          80_000]
    # a cut moves only as far as no bin changes by more than a tenth of its rows
    lumpy = np.array([47_100.0, 47_312.0, 90_000.0])
    assert round_cut_points([47_312.0], lumpy, np.array([1000, 1000, 10])) == [47_300.0]
    assert round_cut_points([47_312.0], np.array([47_305.0, 47_312.0]), np.array([1000, 1000])) == [47_312.0]


def test_scorecard_leaves_out_screened_fields_and_scores_data_quality_blanks_as_average():
    from icp_agent.scorecard.fit import fit_scorecard

    rng = np.random.default_rng(21)
    n = 4000
    early = np.arange(n) < 0.4 * n
    industry = np.where(early, None, rng.choice(["Retail", "Food", "Services"], n))
    size = rng.choice(["small", "large"], n)
    good = rng.random(n) < np.where(early, 0.2, 0.35) + np.where(size == "large", 0.2, 0.0)
    leak = np.where(good, "none", "charged off")
    con = duckdb.connect()
    con.execute("CREATE TABLE f AS SELECT * FROM (SELECT unnest(range(?)) AS _row, unnest(?) AS industry, "
                "unnest(?) AS size, unnest(?) AS leak, unnest(?) AS good)",
                [n, industry.tolist(), size.tolist(), leak.tolist(), good.tolist()])
    fields = {"industry": "category", "size": "category", "leak": "category"}
    plain = fit_scorecard(con, "f", fields, time_column=None)
    assert "leak" in {f["field"] for f in plain["features"]}
    card = fit_scorecard(con, "f", fields, time_column=None, neutral_missing=["industry"],
                         screened=[{"field": "leak", "reason": "leak alone separates good from bad"}])
    assert "leak" not in {f["field"] for f in card["features"]}
    assert {"field": "leak", "reason": "leak alone separates good from bad"} in card["excluded"]
    missing_bin = next(b for f in card["features"] if f["field"] == "industry" for b in f["bins"] if b.get("missing"))
    assert missing_bin["points"] == 0 and "data-quality" in missing_bin["neutral"]
    honest = fit_scorecard(con, "f", {"industry": "category", "size": "category"}, time_column=None)
    plain_missing = next(b for f in honest["features"] if f["field"] == "industry" for b in f["bins"]
                         if b.get("missing"))
    assert plain_missing["points"] < 0  # without the finding, the blank era would cost points


def test_the_auc_from_the_shared_counts_per_value_equals_the_auc_of_its_own_query():
    # the screen counts each value once for the AUC and outcome-pure rules; values with neither good nor bad rows
    # (the middle cohort alone) and a rare value pooled must give the same AUC as the AUC's own query
    from icp_agent.patterns.screen import _ValueCounts

    con = duckdb.connect()
    con.execute("""CREATE TABLE t AS SELECT range AS _row,
        ['a', 'b', 'c', NULL, 'rare'][CASE WHEN range % 97 = 0 THEN 5 ELSE range % 4 + 1 END] AS city,
        CASE WHEN range % 13 = 0 THEN NULL ELSE (range % 23)::DOUBLE END AS amount,
        CASE WHEN range % 7 = 0 THEN NULL ELSE (range % 5) * 10.0 END AS staff_min,
        CASE WHEN range % 7 = 0 THEN NULL ELSE (range % 5) * 10.0 + 9 END AS staff_max,
        hash(range, 'g') % 10 < 3 AND range % 4 <> 2 AS good,
        hash(range, 'g') % 10 >= 6 AND range % 4 <> 2 AS bad
        FROM range(4000)""")
    # value 'c' (range % 4 = 2) has no good and no bad row
    assert con.execute("SELECT count_if(good OR bad) FROM t WHERE city = 'c'").fetchall() == [(0,)]
    for spec in (FieldSpec("city", "category"), FieldSpec("amount", "number"), FieldSpec("staff", "band")):
        alone = single_field_auc(con, "t", spec, 50)
        shared = single_field_auc(con, "t", spec, 50, _ValueCounts(con, "t", spec))
        assert alone is not None and shared == alone, spec.name
    # one value decided (every other value has no good or bad row): no AUC, with or without the shared counts
    con.execute("UPDATE t SET good = good AND city = 'a', bad = bad AND city = 'a'")
    spec = FieldSpec("city", "category")
    assert single_field_auc(con, "t", spec, 50) is None
    assert single_field_auc(con, "t", spec, 50, _ValueCounts(con, "t", spec)) is None

