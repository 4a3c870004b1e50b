"""Selectors and subgroup search: published pysubgroup results, brute force, SQL/mask agreement."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import duckdb
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icp_agent.patterns.search import Pattern, beats_parts, candidate_space, evaluate, search
from icp_agent.patterns.selectors import (
    FieldSpec,
    Selector,
    SelectorSet,
    build_selectors,
    equal_frequency_cut_points,
    sql_literal,
)
from icp_agent.errors import UserError

REFERENCE = Path(__file__).resolve().parents[1] / "fixtures" / "reference"
CREDIT_NOMINAL = ["checking_status", "credit_history", "purpose", "savings_status", "employment",
                  "personal_status", "other_parties", "property_magnitude", "other_payment_plans",
                  "housing", "job", "own_telephone", "foreign_worker"]
CREDIT_NUMERIC = ["duration", "credit_amount", "installment_commitment", "residence_since", "age",
                  "existing_credits", "num_dependents"]
CREDIT = "(SELECT * FROM credit ORDER BY row_id)"


def described(pattern: Pattern) -> frozenset[tuple[str, object]]:
    return frozenset((s.field, s.value) for s in pattern.selectors)


def target_of(con: duckdb.DuckDBPyConnection, relation: str, expression: str) -> np.ndarray:
    return np.asarray(con.sql(f"SELECT {expression} AS t FROM {relation}").fetchnumpy()["t"], dtype=bool)


# --- credit-g ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def credit() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    numbers = ", ".join(f"CAST({c} AS DOUBLE) AS {c}" for c in CREDIT_NUMERIC)
    con.sql(f"CREATE TABLE credit AS SELECT row_number() OVER () AS row_id, * EXCLUDE ({', '.join(CREDIT_NUMERIC)}), "
            f"{numbers} FROM read_csv({sql_literal(str(REFERENCE / 'credit-g.csv'))}, header = true, all_varchar = true)")
    return con


@pytest.fixture(scope="module")
def credit_nominal(credit) -> tuple[SelectorSet, np.ndarray]:
    selset = build_selectors(credit, CREDIT, [FieldSpec(c, "category") for c in CREDIT_NOMINAL])
    return selset, target_of(credit, CREDIT, "class = 'bad'")


@pytest.fixture(scope="module")
def credit_all(credit) -> tuple[SelectorSet, np.ndarray]:
    specs = [FieldSpec(c, "category") for c in CREDIT_NOMINAL] + [FieldSpec(c, "number") for c in CREDIT_NUMERIC]
    return build_selectors(credit, CREDIT, specs), target_of(credit, CREDIT, "class = 'bad'")


CREDIT_TOP10 = [  # fixtures/reference/README.md: (WRAcc, subgroup, n_sg, bad_sg)
    (0.0553, {"checking_status": "<0", "foreign_worker": "yes"}, 259, 133),
    (0.0528, {"checking_status": "<0"}, 274, 135),
    (0.0523, {"checking_status": "<0", "foreign_worker": "yes", "other_parties": "none"}, 229, 121),
    (0.0506, {"checking_status": "<0", "other_parties": "none"}, 238, 122),
    (0.0496, {"checking_status": "<0", "foreign_worker": "yes", "savings_status": "<100"}, 208, 112),
    (0.0483, {"checking_status": "<0", "savings_status": "<100"}, 219, 114),
    (0.0466, {"checking_status": "<0", "foreign_worker": "yes", "other_parties": "none", "savings_status": "<100"}, 178, 100),
    (0.0455, {"checking_status": "<0", "foreign_worker": "yes", "job": "skilled"}, 165, 95),
    (0.0452, {"checking_status": "<0", "other_parties": "none", "savings_status": "<100"}, 186, 101),
    (0.0444, {"checking_status": "<0", "job": "skilled"}, 172, 96),
]


def test_credit_g_top10_reproduces_pysubgroup(credit_nominal):
    selset, target = credit_nominal
    assert selset.n == 1000 and int(target.sum()) == 300
    result = search(selset, target, depth=5, top_k=10, max_exhaustive_candidates=10**9)
    assert result.exhaustive
    got = [(p.quality, described(p), p.n, p.k) for p in result.patterns]
    want = [(q, frozenset(sg.items()), n, k) for q, sg, n, k in CREDIT_TOP10]
    assert len(got) == len(want)
    for (q_got, _, _, _), (q_want, _, _, _) in zip(got, want):
        assert abs(q_got - q_want) < 5e-5
    # Where qualities tie at 4 decimals the order is arbitrary: compare those groups as sets.
    for quality in {q for q, *_ in want}:
        assert ({row[1:] for row in got if abs(row[0] - quality) < 5e-5}
                == {row[1:] for row in want if row[0] == quality})


def test_credit_g_exact_qualities_of_pysubgroup_test_suite(credit_nominal):
    selset, target = credit_nominal
    result = search(selset, target, depth=5, top_k=10, max_exhaustive_candidates=10**9)
    assert [p.quality for p in result.patterns] == [
        0.055299999999999995, 0.05280000000000001, 0.052300000000000006, 0.05059999999999999,
        0.04959999999999999, 0.048299999999999996, 0.04660000000000001, 0.04550000000000001,
        0.0452, 0.044399999999999995]


def test_credit_g_generalised_wracc_a_half(credit_all):
    """pysubgroup's TestAlgorithms3: StandardQF(0.5), top 12, depth 5, text and numeric selectors."""
    selset, target = credit_all
    result = search(selset, target, depth=5, top_k=12, a=0.5, max_exhaustive_candidates=10**9)
    qualities = [p.quality for p in result.patterns]
    assert qualities[0] == pytest.approx(0.11457431093955019, abs=1e-15)
    assert qualities[11] == pytest.approx(0.10813405094128754, abs=1e-15)
    assert qualities == pytest.approx([
        0.11457431093955019, 0.113713540226172, 0.11201325679119281, 0.1117538749727658,
        0.11161046793076415, 0.11145710640046322, 0.11045259291161472, 0.10929088624672183,
        0.10875519439407161, 0.10866138825404954, 0.10832735026213287, 0.10813405094128754], abs=1e-15)
    assert described(result.patterns[0]) == {("checking_status", "<0"), ("foreign_worker", "yes"), ("job", "skilled"),
                                             ("other_parties", "none"), ("savings_status", "<100")}
    assert ("num_dependents", 1.0) in described(result.patterns[10])


def test_credit_g_with_numeric_selectors_a_one(credit_all):
    """pysubgroup's TestAlgorithms2: the numeric column num_dependents enters at ranks 6 and 8."""
    selset, target = credit_all
    result = search(selset, target, depth=5, top_k=12, max_exhaustive_candidates=10**9)
    assert [p.quality for p in result.patterns] == pytest.approx([
        0.055299999999999995, 0.05280000000000001, 0.052300000000000006, 0.05059999999999999,
        0.04959999999999999, 0.04870000000000001, 0.048299999999999996, 0.0474,
        0.04660000000000001, 0.04550000000000001, 0.0452, 0.044399999999999995], abs=1e-15)
    assert described(result.patterns[7]) == {("checking_status", "<0"), ("num_dependents", 1.0)}


def test_search_is_deterministic_and_independent_of_field_order(credit, credit_nominal):
    selset, target = credit_nominal
    first = search(selset, target, depth=3, top_k=15)
    assert search(selset, target, depth=3, top_k=15).patterns == first.patterns
    reversed_specs = [FieldSpec(c, "category") for c in reversed(CREDIT_NOMINAL)]
    other = search(build_selectors(credit, CREDIT, reversed_specs), target, depth=3, top_k=15)
    assert [(described(p), p.n, p.k, p.quality) for p in other.patterns] == \
           [(described(p), p.n, p.k, p.quality) for p in first.patterns]


def test_beam_search_fallback(credit_nominal):
    selset, target = credit_nominal
    exhaustive = search(selset, target, depth=2, top_k=10)
    wide_beam = search(selset, target, depth=2, top_k=10, max_exhaustive_candidates=0, beam_width=10_000)
    assert exhaustive.exhaustive and not wide_beam.exhaustive
    assert wide_beam.patterns == exhaustive.patterns  # a beam wider than the space is exhaustive
    assert exhaustive.tested < wide_beam.tested <= wide_beam.candidate_space  # pruning vs none
    narrow_beam = search(selset, target, depth=4, top_k=10, max_exhaustive_candidates=0, beam_width=5)
    assert [p.quality for p in narrow_beam.patterns] == sorted((p.quality for p in narrow_beam.patterns), reverse=True)
    assert narrow_beam.patterns[0].quality == pytest.approx(0.0553, abs=5e-5)


def test_evaluate_and_beats_parts(credit_nominal):
    selset, target = credit_nominal
    checking = Selector("checking_status", "category", "eq", value="<0")
    foreign = Selector("foreign_worker", "category", "eq", value="yes")
    native = Selector("foreign_worker", "category", "eq", value="no")
    n, k = evaluate(selset, target, [[checking], [checking, foreign], [checking, native], []])
    assert n.tolist() == [274, 259, 15, 1000] and k.tolist() == [135, 133, 2, 300]
    assert beats_parts(Pattern((checking, foreign), 259, 133, 0.0553), target, selset)
    assert not beats_parts(Pattern((checking, native), 15, 2, -0.02), target, selset)
    assert beats_parts(Pattern((checking,), 274, 135, 0.0528), target, selset)


def test_tested_counts_every_evaluated_candidate(credit_nominal):
    selset, target = credit_nominal
    depth_one = search(selset, target, depth=1, top_k=5)
    assert depth_one.tested == len(selset.selectors) == candidate_space(selset, 1)
    assert search(selset, target, depth=2, top_k=5, min_support=50).tested < candidate_space(selset, 2)


# --- titanic -------------------------------------------------------------------------------

TITANIC_NUMERIC = {"PassengerId", "Pclass", "Age", "SibSp", "Parch", "Fare"}
TITANIC_COLUMNS = ["PassengerId", "Pclass", "Name", "Sex", "Age", "SibSp", "Parch", "Ticket", "Fare", "Cabin", "Embarked"]


def test_titanic_top5_reproduces_pysubgroup_readme():
    con = duckdb.connect()
    con.sql(f"CREATE TABLE titanic AS SELECT * FROM read_csv({sql_literal(str(REFERENCE / 'titanic.csv'))}, "
            "delim = '\t', quote = '', header = true, null_padding = true)")
    relation = "(SELECT * FROM titanic ORDER BY PassengerId)"
    specs = [FieldSpec(c, "number" if c in TITANIC_NUMERIC else "category") for c in TITANIC_COLUMNS]
    selset = build_selectors(con, relation, specs)
    result = search(selset, target_of(con, relation, "Survived = 1"), depth=2, top_k=5)
    got = [(round(p.quality, 6), sorted(s.label for s in p.selectors), p.n, p.k) for p in result.patterns]
    assert got == [
        (0.132150, ["Sex = female"], 56, 40),
        (0.101331, ["Parch = 0", "Sex = female"], 41, 30),
        (0.079142, ["Sex = female", "SibSp in [0, 1)"], 25, 21),
        (0.077663, ["Cabin is missing", "Sex = female"], 43, 27),
        (0.071746, ["Embarked = S", "Sex = female"], 37, 24),
    ]


# --- selectors on a synthetic table with every kind ----------------------------------------

BANDS = ((None, 10), (10, 50), (51, 200), (201, None))
SYNTHETIC_SPECS = [
    FieldSpec("industry", "category"),
    FieldSpec("account tier", "category"),
    FieldSpec("revenue", "number"),
    FieldSpec("seats", "number", bands=((0, 5), (5, 20), (21, None))),
    FieldSpec("is_public", "bool"),
    FieldSpec("technologies", "list"),
    FieldSpec("employees", "band", bands=BANDS),
]


def synthetic(seed: int, rows: int = 300) -> tuple[duckdb.DuckDBPyConnection, str, np.ndarray]:
    """A customers table with every field kind, NULLs, awkward values and a planted segment."""
    rng = np.random.default_rng(seed)
    con = duckdb.connect()
    con.sql("CREATE TABLE customers (id INTEGER, industry VARCHAR, \"account tier\" VARCHAR, revenue DOUBLE, "
            "seats DOUBLE, is_public BOOLEAN, technologies VARCHAR[], employees_min DOUBLE, employees_max DOUBLE, "
            "won BOOLEAN)")
    industries = ["Software", "O'Reilly Media", "Retail", 'Say "hi"', None]
    techs = ["Salesforce", "Slack", "HubSpot", "It's", "Zendesk"]
    ranges = [(1, 10), (11, 50), (51, 200), (201, 500), (5, 5), (10, 10), (300, 300), (None, None)]
    records = []
    for i in range(rows):
        industry = industries[rng.integers(len(industries))]
        tier = [None, "gold", "silver"][rng.integers(3)]
        revenue = None if rng.random() < 0.1 else float(rng.choice([1.0, 2.5, 2.5, 7.0, 9.75, 12.0, 30.0, 31.5, 100.0]))
        seats = None if rng.random() < 0.1 else float(rng.integers(0, 40))
        public = [True, False, None][rng.integers(3)]
        tech = None if rng.random() < 0.1 else sorted(set(rng.choice(techs, rng.integers(0, 4)).tolist()))
        low, high = ranges[rng.integers(len(ranges))]
        planted = industry == "Software" and tech is not None and "Slack" in tech
        won = bool(rng.random() < (0.8 if planted else 0.25))
        records.append({"id": i, "industry": industry, "account tier": tier, "revenue": revenue, "seats": seats,
                        "is_public": public, "technologies": tech, "employees_min": low, "employees_max": high,
                        "won": won})
    con.execute("INSERT INTO customers BY NAME SELECT unnest($1, recursive := true)", [records])
    relation = "(SELECT * FROM customers ORDER BY hash(id))"  # an order unlike the insertion order
    return con, relation, target_of(con, relation, "won")


def test_selector_sql_agrees_with_mask_for_every_selector():
    con, relation, _ = synthetic(seed=1)
    selset = build_selectors(con, relation, SYNTHETIC_SPECS)
    kinds = {(s.field, s.op) for s in selset.selectors}
    assert {("technologies", "contains"), ("technologies", "is_missing"), ("employees", "between"),
            ("employees", "lte"), ("employees", "gte"), ("employees", "is_missing"), ("revenue", "between"),
            ("seats", "between"), ("is_public", "eq"), ("industry", "is_missing")} <= kinds
    predicates = ", ".join(f"coalesce({s.sql()}, false) AS p{i}" for i, s in enumerate(selset.selectors))
    by_sql = con.sql(f"SELECT {predicates} FROM {relation}").fetchnumpy()
    for i, selector in enumerate(selset.selectors):
        np.testing.assert_array_equal(np.asarray(by_sql[f"p{i}"], dtype=bool), selset.mask(i), err_msg=selector.label)


def test_selector_forms():
    con, relation, _ = synthetic(seed=2)
    selset = build_selectors(con, relation, SYNTHETIC_SPECS)
    by_label = {s.label: s for s in selset.selectors}
    quoted = by_label["industry = O'Reilly Media"]
    # categories compare by their spelling-insensitive key (criteria.py), the quote escaped in the literal
    check = duckdb.connect()
    for value, matches in (("O'Reilly Media", True), ("o'reilly  MEDIA", True), ("OReilly Media", False)):
        assert check.execute(f"SELECT {quoted.sql()} FROM (SELECT ? AS industry)", [value]).fetchone()[0] is matches
    assert "'O''Reilly Media'" in quoted.sql()
    assert quoted.criterion() == {"field": "industry", "op": "eq", "value": "O'Reilly Media"}
    listed = by_label["technologies contains It's"].sql()
    assert "'It''s'" in listed
    for value, matches in ((["It's", "Jira"], True), (["it's"], True), (["Its"], False)):
        assert check.execute(f"SELECT {listed} FROM (SELECT ?::VARCHAR[] AS technologies)", [value]).fetchone()[0] \
            is matches
    assert by_label["employees 51-200"].criterion() == {"field": "employees", "op": "between", "min": 51, "max": 200}
    assert by_label["employees 51-200"].sql() == '("employees_min" >= 51 AND "employees_max" <= 200)'
    assert by_label["employees <= 10"].criterion() == {"field": "employees", "op": "lte", "max": 10}
    assert by_label["employees is missing"].sql() == '("employees_min" IS NULL AND "employees_max" IS NULL)'
    assert by_label["account tier is missing"].criterion() == {"field": "account tier", "op": "is_missing"}
    assert '"account tier"' in by_label["account tier = gold"].sql() and "'gold'" in by_label["account tier = gold"].sql()
    assert by_label["is_public = true"].criterion() == {"field": "is_public", "op": "eq", "value": True}
    half_open = next(s for s in selset.selectors if s.field == "revenue" and s.op == "between")
    assert half_open.criterion()["max_exclusive"] is True and "<" in half_open.sql()
    assert Selector("technologies", "list", "is_missing").sql() == '("technologies" IS NULL OR len("technologies") = 0)'
    # Rows with 10 employees sit in two inclusive bands: band selectors may overlap.
    assert np.any(selset.mask(by_label["employees <= 10"]) & selset.mask(by_label["employees 10-50"]))


def test_min_count_and_missing_options():
    con, relation, _ = synthetic(seed=3)
    every = build_selectors(con, relation, SYNTHETIC_SPECS)
    frequent = build_selectors(con, relation, SYNTHETIC_SPECS, min_count=40, include_missing=False)
    assert all(frequent.mask(i).sum() >= 40 for i in range(len(frequent.selectors)))
    assert not any(s.op == "is_missing" for s in frequent.selectors)
    assert len(frequent.selectors) < len(every.selectors)


def test_band_field_needs_bands():
    con, relation, _ = synthetic(seed=4, rows=20)
    with pytest.raises(UserError, match="needs bands"):
        build_selectors(con, relation, [FieldSpec("employees", "band")])


@pytest.mark.parametrize("seed", [5, 6])
@pytest.mark.parametrize("depth, quality, a, min_support", [
    (1, "wracc", 1.0, 1), (2, "wracc", 1.0, 1), (3, "wracc", 1.0, 1), (3, "wracc", 0.5, 1),
    (3, "wracc", 0.0, 15), (2, "wracc", 0.0, 1), (2, "lift", 1.0, 20), (3, "lift", 1.0, 10), (3, "lift", 1.0, 1)])
def test_search_equals_brute_force(seed, depth, quality, a, min_support):
    con, relation, target = synthetic(seed)
    selset = build_selectors(con, relation, SYNTHETIC_SPECS)
    result = search(selset, target, depth=depth, quality=quality, a=a, min_support=min_support, top_k=12)
    expected, tested = brute_force(selset, target, depth, quality, a, min_support, top_k=12)
    assert [(p.selectors, p.n, p.k, p.quality) for p in result.patterns] == expected
    assert result.tested <= tested


def brute_force(selset: SelectorSet, target: np.ndarray, depth: int, quality: str, a: float,
                min_support: int, top_k: int) -> tuple[list, int]:
    """Every conjunction of selectors on distinct fields, ranked like search() ranks them."""
    masks = [selset.mask(i) for i in range(len(selset.selectors))]
    combos, sizes, hits = [], [], []
    for d in range(1, depth + 1):
        for combo in itertools.combinations(range(len(masks)), d):
            if len({int(selset.selector_field[i]) for i in combo}) == d:
                covered = np.logical_and.reduce([masks[i] for i in combo])
                combos.append(combo)
                sizes.append(int(covered.sum()))
                hits.append(int((covered & target).sum()))
    n, k = np.array(sizes), np.array(hits)
    base = target.sum() / target.size
    with np.errstate(divide="ignore", invalid="ignore"):
        q = (k / n) / base if quality == "lift" else (n / target.size) ** a * (k / n - base)
    keep = n >= max(min_support, 1)
    ranked = sorted((-q[i], -n[i], len(combos[i]), tuple(selset.selectors[s].label for s in combos[i]), i)
                    for i in np.flatnonzero(keep))
    return [(tuple(selset.selectors[s] for s in combos[i]), int(n[i]), int(k[i]), float(q[i]))
            for *_, i in ranked[:top_k]], int(keep.sum())


def test_lift_surfaces_the_planted_segment():
    con, relation, target = synthetic(seed=7, rows=2000)
    selset = build_selectors(con, relation, SYNTHETIC_SPECS)
    best = search(selset, target, depth=2, quality="lift", min_support=50, top_k=3).patterns[0]
    assert {s.label for s in best.selectors} == {"industry = Software", "technologies contains Slack"}


def test_search_rejects_bad_input(credit_nominal):
    selset, target = credit_nominal
    with pytest.raises(ValueError, match="one flag per row"):
        search(selset, target[:10])
    with pytest.raises(ValueError, match="same for every row"):
        search(selset, np.ones(selset.n, dtype=bool))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        search(selset, target, a=2.0)


# --- equal-frequency cut points -------------------------------------------------------------

def pysubgroup_cut_points(data: list[float], nbins: int) -> list[float]:
    """pysubgroup 0.9.0 utils.equal_frequency_discretization, unweighted branch, verbatim logic."""
    cutpoints: list[float] = []
    sorted_data = sorted(data)
    number_instances = len(sorted_data)
    for i in range(1, nbins):
        position = i * number_instances // nbins
        while True:
            if position >= number_instances:
                break
            val = sorted_data[position]
            if val not in cutpoints:
                break
            position += 1
        if val not in cutpoints:
            cutpoints.append(val)
    return cutpoints


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 12), min_size=1, max_size=80), st.integers(2, 8))
def test_cut_points_follow_pysubgroup(data, n_bins):
    values, counts = np.unique(np.array(data, dtype=float), return_counts=True)
    assert equal_frequency_cut_points(values, counts, n_bins) == pysubgroup_cut_points([float(x) for x in data], n_bins)


# --- scale ------------------------------------------------------------------------------------

def test_search_on_100k_rows_by_20_fields_completes():
    """Performance smoke (no timing assertion): 100k customers x 20 integer fields, depth 3."""
    con = duckdb.connect()
    fields = ", ".join(f"CAST(hash(range, {i}) % {3 + i % 6} AS VARCHAR) AS f{i}" for i in range(20))
    con.sql(f"CREATE TABLE wide AS SELECT range AS id, {fields}, hash(range, 'y') % 1000 AS draw FROM range(100000)")
    relation = "(SELECT * FROM wide ORDER BY id)"
    selset = build_selectors(con, relation, [FieldSpec(f"f{i}", "category") for i in range(20)])
    target = target_of(con, relation, "CASE WHEN f0 = '1' AND f1 = '1' AND f2 = '1' THEN draw < 700 ELSE draw < 200 END")
    result = search(selset, target, depth=3, top_k=10)
    assert result.exhaustive and len(result.patterns) == 10
    assert {s.label for s in result.patterns[0].selectors} == {"f0 = 1", "f1 = 1", "f2 = 1"}
    assert math.isclose(result.patterns[0].quality,
                        (result.patterns[0].n / selset.n) * (result.patterns[0].k / result.patterns[0].n - target.mean()))


def test_category_groups_are_searchable_in_selectors():
    """With an outcome, indistinguishable values form one `in` selector whose mask, SQL and icp.json agree."""
    rng = np.random.default_rng(4)
    n = 3000
    industry = rng.choice(["Software", "Internet", "Retail", "Media", "Insurance"], n)
    good = rng.random(n) < np.where(np.isin(industry, ["Software", "Internet"]), 0.6, 0.2)
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT * FROM (SELECT unnest(range(?)) AS i, unnest(?) AS industry, "
                "unnest(?) AS good)", [n, industry.tolist(), good.tolist()])
    relation = "(SELECT * FROM t ORDER BY i)"
    plain = build_selectors(con, relation, [FieldSpec("industry", "category")])
    assert all(s.op == "eq" for s in plain.selectors)  # no outcome: exactly pysubgroup's selectors
    selset = build_selectors(con, relation, [FieldSpec("industry", "category")], outcome="good::INT")
    groups = [s for s in selset.selectors if s.op == "in"]
    assert ("Internet", "Software") in [s.values for s in groups]
    assert all(set(s.values) <= {"Internet", "Software"} or not set(s.values) & {"Internet", "Software"}
               for s in groups)  # never a strong value grouped with a weak one
    pair = next(s for s in groups if s.values == ("Internet", "Software"))
    assert pair.label == "industry in {Internet, Software}"
    assert pair.criterion() == {"field": "industry", "op": "in", "values": ["Internet", "Software"]}
    by_sql = np.array([r[0] for r in con.execute(f"SELECT {pair.sql()} FROM {relation}").fetchall()])
    assert (selset.mask(pair) == by_sql).all() and (selset.mask(pair) == np.isin(industry, ["Software", "Internet"])).all()
    best = search(selset, good, depth=1, top_k=1).patterns[0]
    assert best.selectors == (pair,) and best.n == int(np.isin(industry, ["Software", "Internet"]).sum())


def test_every_encoding_path_agrees_with_the_selector_sql():
    """Codes looked up inline (native and text comparisons), through dictionary joins (many values, many lists,
    lists holding NULL), and with outcome groups: each selector's mask equals its SQL, in the relation's order."""
    con = duckdb.connect()
    con.execute("""CREATE TABLE t AS SELECT range AS id,
        (hash(range, 'a') % 8)::INTEGER AS small_int,
        (hash(range, 'b') % 150)::INTEGER AS many_ints,
        DATE '2024-01-01' + INTERVAL ((hash(range, 'c') % 5)::INTEGER) DAY AS day,
        [0.5, 1.25, 3.0][(hash(range, 'd') % 3)::INTEGER + 1] AS ratio,
        CASE WHEN range % 11 = 0 THEN NULL ELSE 'v' || (hash(range, 'e') % 90)::VARCHAR END AS many_text,
        CASE WHEN range % 13 = 0 THEN NULL ELSE list_transform(range(((hash(range, 'f') % 3)::INTEGER)),
             lambda i: ['Slack', 'HubSpot', 'Zoom'][i + 1]) END AS few_lists,
        ['x' || (hash(range, 'g') % 12)::VARCHAR, 'y' || (hash(range, 'h') % 9)::VARCHAR] AS many_lists,
        CASE WHEN range % 7 = 0 THEN ['Slack', NULL] ELSE ['Slack'] END AS null_element,
        hash(range, 'good') % 10 < CASE WHEN hash(range, 'a') % 8 IN (1, 2) THEN 7 ELSE 2 END AS good
        FROM range(4000)""")
    relation = "(SELECT * FROM t ORDER BY hash(id, 'order'))"
    specs = [FieldSpec(name, "category") for name in ("small_int", "many_ints", "day", "ratio", "many_text")]
    specs += [FieldSpec(name, "list") for name in ("few_lists", "many_lists", "null_element")]
    selset = build_selectors(con, relation, specs, min_count=5, outcome="good::INT")
    ops = {(s.field, s.op) for s in selset.selectors}
    assert {("many_ints", "eq"), ("small_int", "in"), ("day", "eq"), ("ratio", "eq"), ("many_text", "is_missing"),
            ("few_lists", "is_missing"), ("many_lists", "contains"), ("null_element", "contains")} <= ops
    assert len([s for s in selset.selectors if s.field == "many_ints" and s.op == "eq"]) > 64  # the join path
    predicates = ", ".join(f"coalesce({s.sql()}, false) AS p{i}" for i, s in enumerate(selset.selectors))
    by_sql = con.sql(f"SELECT {predicates} FROM {relation}").fetchnumpy()
    for i, selector in enumerate(selset.selectors):
        np.testing.assert_array_equal(np.asarray(by_sql[f"p{i}"], dtype=bool), selset.mask(i), err_msg=selector.label)
    slack = next(i for i, s in enumerate(selset.selectors) if s.field == "null_element" and s.value == "Slack")
    assert selset.mask(slack).all()  # a NULL beside an element does not hide the element


@pytest.mark.parametrize("quality", ["wracc", "lift"])
@pytest.mark.parametrize("depth", [2, 3])
def test_search_equals_brute_force_with_wide_fields(quality, depth):
    """A field of hundreds of values refined by a small one: its leaves are counted from a joint histogram whose
    keys (code x matrix value) exceed 16 bits."""
    con = duckdb.connect()
    con.execute("""CREATE TABLE t AS SELECT range AS id, 'v' || (hash(range, 'a') % 230)::VARCHAR AS wide,
        (hash(range, 'b') % 3)::INTEGER AS small, (hash(range, 'c') % 3)::INTEGER AS narrow,
        hash(range, 'y') % 10 < CASE WHEN hash(range, 'a') % 230 % 3 = 0 AND hash(range, 'b') % 3 = 1 THEN 8 ELSE 3 END
            AS won FROM range(20000)""")
    relation = "(SELECT * FROM t ORDER BY id)"
    selset = build_selectors(con, relation, [FieldSpec(f, "category") for f in ("narrow", "wide", "small")])
    assert int(selset.column_cardinality.max()) * 2 * int(selset.column_cardinality.sum()) > 2**16
    target = target_of(con, relation, "won")
    result = search(selset, target, depth=depth, quality=quality, min_support=5, top_k=15)
    expected, tested = brute_force(selset, target, depth, quality, 1.0, 5, top_k=15)
    assert [(p.selectors, p.n, p.k, p.quality) for p in result.patterns] == expected
    assert result.tested <= tested
