"""Unit tests of patterns/screen.py: leakage, identifier and missingness screening of fit fields."""

from __future__ import annotations

import duckdb
import pytest

from icp_agent.patterns.screen import customer_status, known_rows, outcome_named, screen_fields, single_field_auc
from icp_agent.patterns.selectors import FieldSpec


@pytest.fixture
def con():
    c = duckdb.connect()
    yield c
    c.close()


@pytest.mark.parametrize(
    "name, header",
    [
        ("won_deals", None),
        ("x", "Number of closed won deals"),
        ("lost_reason", None),
        ("churnReason", None),
        ("deal_probability", None),
        ("weighted_value", None),
        ("open_opportunities", None),
    ],
)
def test_outcome_named_catches_outcome_fields(name, header):
    rule = outcome_named(name, header)
    assert rule is not None and (rule["rule"], rule["basis"]) == ("leakage", "name")
    assert f"set-field-roles {name}=fit" in rule["reason"]


@pytest.mark.parametrize("name", ["industry", "employees", "window_count", "closing_country"])
def test_outcome_named_leaves_traits(name):
    assert outcome_named(name) is None


def test_single_field_auc_matches_mann_whitney(con):
    # good 3, 4; bad 1, 2, 3: of the 6 (good, bad) pairs the good ranks higher in 5 and ties in 1 -> 5.5 / 6
    con.execute(
        "CREATE TABLE r AS SELECT *, NOT good AS bad FROM (VALUES (3.0, TRUE), (4.0, TRUE), (1.0, FALSE), "
        "(2.0, FALSE), (3.0, FALSE)) t(x, good)"
    )
    assert single_field_auc(con, "r", FieldSpec("x", "number")) == pytest.approx(5.5 / 6)
    # one value only: nothing to order
    con.execute("CREATE TABLE one AS SELECT 1.0 AS x, range < 2 AS good, range >= 2 AS bad FROM range(4)")
    assert single_field_auc(con, "one", FieldSpec("x", "number")) is None


def test_single_field_auc_missing_ranks_lowest(con):
    # missing only on the bad rows: every good row ranks above every bad one
    con.execute(
        "CREATE TABLE r AS SELECT CASE WHEN range < 5 THEN 1.0 END AS x, range < 5 AS good, range >= 5 AS bad "
        "FROM range(10)"
    )
    assert single_field_auc(con, "r", FieldSpec("x", "number")) == 1.0


def test_single_field_auc_pools_rare_categories(con):
    # 'a' (20 rows, all good) and 'z' (20 rows, all bad) are frequent; 'b' and 'c' (1 row each: one good, one
    # bad) are pooled into one value with good share 0.5. Order: z (0), pooled (0.5), a (1):
    # AUC = (good_pooled * (bad_z + bad_pooled / 2) + good_a * (bad_z + bad_pooled)) / (good * bad)
    #     = (1 * (20 + 0.5) + 20 * 21) / (21 * 21)
    con.execute(
        "CREATE TABLE r AS SELECT CASE WHEN range < 20 THEN 'a' WHEN range = 20 THEN 'b' WHEN range = 21 THEN 'c' "
        "ELSE 'z' END AS c, range <= 20 AS good, range > 20 AS bad FROM range(42)"
    )
    assert single_field_auc(con, "r", FieldSpec("c", "category"), min_count=10) == pytest.approx(
        (1 * 20.5 + 20 * 21) / (21 * 21)
    )


@pytest.fixture
def screened(con):
    # 200 rows, good = the first 100
    con.execute("""CREATE TABLE r AS SELECT range AS i, range < 100 AS good, range >= 100 AS bad,
        ['n', 's'][range % 2 + 1] AS region,
        'c' || range AS customer_ref,
        range::DOUBLE AS record_no,
        CASE WHEN range >= 100 THEN 100.0 + range ELSE 0.0 END AS charged_off,
        CASE WHEN range < 40 THEN 'X' ELSE ['p', 'q'][range % 2 + 1] END AS pure,
        CASE WHEN range < 180 THEN 'y' END AS phone,
        'why' AS lost_reason
        FROM range(200)""")
    specs = [
        FieldSpec("region", "category"),
        FieldSpec("customer_ref", "category"),
        FieldSpec("record_no", "number"),
        FieldSpec("charged_off", "number"),
        FieldSpec("pure", "category"),
        FieldSpec("phone", "category"),
        FieldSpec("lost_reason", "category"),
    ]
    return specs


def test_screen_fields_excludes_each_kind_with_its_reason(con, screened):
    screen = screen_fields(con, "(SELECT * FROM r ORDER BY i)", screened, entity="customer", words=("won", "lost"))
    assert [s.name for s in screen.kept] == ["region", "phone"]
    got = {e["field"]: e for e in screen.excluded}
    assert (got["customer_ref"]["rule"], got["customer_ref"]["distinct"], got["customer_ref"]["rows"]) == (
        "identifier",
        200,
        200,
    )
    assert got["record_no"]["rule"] == "identifier"
    # charged_off is 0 on every good row and positive on every bad one: AUC 0 (perfect, inverted)
    assert (got["charged_off"]["rule"], got["charged_off"]["auc"]) == ("leakage", 0.0)
    # 'X' holds 40 rows, all good (vs 50% overall): AUC only 0.7, but outcome-pure
    pure = got["pure"]
    assert (pure["basis"], pure["value"], pure["n"], pure["k"], pure["rate"], pure["base_rate"]) == (
        "pure value",
        "= X",
        40,
        40,
        1.0,
        0.5,
    )
    assert got["lost_reason"]["basis"] == "name"
    # phone is missing on 20 rows, all lost (vs 50%): a data-quality finding, not an exclusion
    assert len(screen.missingness) == 1
    m = screen.missingness[0]
    assert (m["field"], m["direction"], m["n"], m["k"], m["rate"], m["base_rate"]) == ("phone", "bad", 20, 20, 1.0, 0.5)
    assert m["q_value"] < 0.05


def test_confirmed_fields_are_never_excluded(con, screened):
    screen = screen_fields(con, "r", screened, confirmed={"charged_off", "lost_reason"})
    assert {"charged_off", "lost_reason"} <= {s.name for s in screen.kept}
    assert {e["field"] for e in screen.excluded} == {"customer_ref", "record_no", "pure"}


def test_money_numbers_are_never_identifiers(con):
    con.execute(
        "CREATE TABLE r AS SELECT range::DOUBLE AS revenue, range % 2 = 0 AS good, range % 2 = 1 AS bad FROM range(100)"
    )
    spec = [FieldSpec("revenue", "number")]
    assert screen_fields(con, "r", spec, types={"revenue": "money"}).excluded == []
    assert screen_fields(con, "r", spec).excluded[0]["rule"] == "identifier"


def test_empty_relation_keeps_everything(con):
    con.execute("CREATE TABLE r (x VARCHAR, good BOOLEAN, bad BOOLEAN)")
    screen = screen_fields(con, "r", [FieldSpec("x", "category")])
    assert ([s.name for s in screen.kept], screen.excluded, screen.missingness) == (["x"], [], [])


def test_known_rows(con):
    con.execute(
        "CREATE TABLE r AS SELECT * FROM (VALUES (1, 'a', ['x'], 1.0, NULL::DOUBLE), (2, NULL, [], NULL, NULL), "
        "(3, 'b', NULL, NULL, 5.0)) t(i, c, l, e_min, e_max)"
    )
    specs = [FieldSpec("c", "category"), FieldSpec("l", "list"), FieldSpec("e", "band", bands=((0, 1),))]
    got = known_rows(con, "(SELECT * FROM r ORDER BY i)", specs, {"c", "l", "e"})
    assert {k: v.tolist() for k, v in got.items()} == {
        "c": [True, False, True],
        "l": [True, False, False],  # an empty list is missing
        "e": [True, False, True],
    }
    assert known_rows(con, "r", specs, set()) == {}


def test_customer_status_fields_are_leakage_whatever_their_mix(con):
    # 300 accounts, good = a third; a Salesforce-like account type that is NOT tied to the outcome (so neither the
    # AUC nor the pure-value rule fires), a Zoho-like relationship with customers and partners only, a lifecycle
    # stage named as such, and traits that merely mention a word (segment 'Enterprise', company type 'Public')
    con.execute("""CREATE TABLE r AS SELECT range AS i, range % 3 = 0 AS good, range % 3 = 1 AS bad,
        ['Customer - Direct', 'Channel Partner / Reseller', 'Prospect'][range % 7 % 3 + 1] AS sf_type,
        ['Customer', 'Partner'][range % 5 % 2 + 1] AS relationship,
        ['a', 'b', 'c'][range % 4 % 3 + 1] AS lifecycle_stage,
        ['Enterprise', 'Mid-market', 'SMB'][range % 11 % 3 + 1] AS segment,
        ['Public', 'Private'][range % 13 % 2 + 1] AS company_type
        FROM range(300)""")
    specs = [
        FieldSpec(n, "category") for n in ("sf_type", "relationship", "lifecycle_stage", "segment", "company_type")
    ]
    screen = screen_fields(con, "(SELECT * FROM r ORDER BY i)", specs, headers={"sf_type": "Account Type"})
    assert [s.name for s in screen.kept] == ["segment", "company_type"]
    got = {e["field"]: e for e in screen.excluded}
    assert (got["sf_type"]["rule"], got["sf_type"]["basis"]) == ("leakage", "status values")
    assert "sf_type ('Account Type') records whether an account is a customer" in got["sf_type"]["reason"]
    assert "'Channel Partner / Reseller', 'Customer - Direct', 'Prospect'" in got["sf_type"]["reason"]
    assert got["relationship"]["basis"] == "status values"
    assert got["lifecycle_stage"]["basis"] == "name"
    assert "set-field-roles relationship=fit" in got["relationship"]["reason"]
    # a user's explicit fit role brings one back
    again = screen_fields(con, "r", specs, confirmed={"relationship"})
    assert "relationship" in {s.name for s in again.kept}
    # one customer value alone ('Customer' everywhere) says nothing about status; numbers are never status fields
    assert customer_status(FieldSpec("x", "category")) is None
    assert customer_status(FieldSpec("customer_status", "number")) is None


def test_an_industry_list_naming_customers_is_no_status(con):
    # 'Customer service' and 'Value-added resellers' are industries here, on a fifth of the rows: a trait
    con.execute("""CREATE TABLE r AS SELECT range AS i, range % 3 = 0 AS good, range % 3 = 1 AS bad,
        ['Customer service', 'Value-added resellers', 'Banking', 'Software', 'Retail', 'Insurance', 'Media', 'Energy',
         'Mining', 'Travel'][range % 10 + 1] AS industry FROM range(300)""")
    spec = FieldSpec("industry", "category")
    assert [s.name for s in screen_fields(con, "r", [spec]).kept] == ["industry"]


def test_a_record_state_is_leakage_but_active_words_in_a_trait_are_not(con):
    # an account's record state (Dynamics' Status: Active, or Inactive once deactivated: churn or cleanup) is known
    # after the sale whatever its mix; a segment that merely contains "Active" beside other values is a trait
    con.execute("""CREATE TABLE r AS SELECT range AS i, range % 3 = 0 AS good, range % 3 = 1 AS bad,
        ['Active', 'Inactive', 'Active'][range % 7 % 3 + 1] AS record_state,
        ['Enabled', 'Archived'][range % 5 % 2 + 1] AS flag,
        ['Active lifestyle', 'Outdoor', 'Home'][range % 11 % 3 + 1] AS segment,
        ['Active', 'Dormant', 'New'][range % 13 % 3 + 1] AS buyer_stage
        FROM range(300)""")
    specs = [FieldSpec(n, "category") for n in ("record_state", "flag", "segment", "buyer_stage")]
    screen = screen_fields(con, "(SELECT * FROM r ORDER BY i)", specs, headers={"record_state": "Status"})
    assert [s.name for s in screen.kept] == ["segment", "buyer_stage"]
    got = {e["field"]: e for e in screen.excluded}
    assert (got["record_state"]["rule"], got["record_state"]["basis"]) == ("leakage", "record state values")
    assert (
        "record_state ('Status') records whether an account is a customer or its record was deactivated"
        in (got["record_state"]["reason"])
    )
    assert "'Active', 'Inactive'" in got["record_state"]["reason"]
    assert got["flag"]["basis"] == "record state values"


def test_rows_missing_every_field_are_left_out_of_the_screen(con):
    """Deals that link to no company carry none of its fields: all lost here, they would make each field's
    "missing" outcome-pure (excluding every field) or "missing among the lost" (the nu4 report's "country is
    missing for 850 deals"). Left out, only a field missing on rows that have the others is a finding."""
    con.execute("""CREATE TABLE r AS SELECT range AS i, range % 2 = 0 AS good, range % 2 = 1 AS bad,
        CASE WHEN range < 300 THEN ['DE', 'SE', 'US'][range % 3 + 1] END AS country,
        CASE WHEN range < 300 THEN ['a', 'b'][range // 2 % 2 + 1] END AS industry,
        CASE WHEN range < 300 AND range % 10 <> 1 AND range % 100 <> 0 THEN 10.0 * (range // 2 % 7 + 1) END AS employees
        FROM range(300)
        UNION ALL SELECT 300 + range, FALSE, TRUE, NULL, NULL, NULL FROM range(120)""")
    specs = [FieldSpec("country", "category"), FieldSpec("industry", "category"), FieldSpec("employees", "number")]
    screen = screen_fields(con, "r", specs, entity="deal", words=("won", "lost"))
    assert [s.name for s in screen.kept] == ["country", "industry", "employees"]
    # employees is missing on 33 of the 300 rows that have the other fields, 30 of them lost (vs 50% of those 300)
    assert [(m["field"], m["direction"], m["n"], m["k"], m["base_rate"]) for m in screen.missingness] == [
        ("employees", "bad", 33, 30, 0.5)
    ]


def test_missingness_tests_every_field_and_side_against_its_own_outcome(con):
    """The missing rows' tests, batched per side (good, bad), give each field and side its own two-sided Fisher
    exact p: scipy's on the field's 2x2 table (missing or not x good or not), whatever the other fields hold."""
    from scipy.stats import fisher_exact

    # 30% good, 20% bad, 50% neither; a: missing mostly on bad rows, b: mostly on good rows, c: at random
    con.execute("""CREATE TABLE r AS SELECT range AS i, range % 10 < 3 AS good, range % 10 >= 8 AS bad,
        CASE WHEN range % 10 = 9 AND range % 7 < 5 THEN NULL ELSE 'x' || (range % 4) END AS a,
        CASE WHEN range % 10 = 0 AND range % 3 < 2 THEN NULL ELSE 1.0 * (range % 9) END AS b,
        CASE WHEN range % 13 = 0 THEN NULL ELSE 'y' || (range % 2) END AS c
        FROM range(2000)""")
    specs = [FieldSpec("a", "category"), FieldSpec("b", "number"), FieldSpec("c", "category")]
    screen = screen_fields(con, "r", specs, confirmed={"a", "b", "c"})
    found = {(m["field"], m["direction"]): m for m in screen.missingness}
    assert sorted(found) == [("a", "bad"), ("b", "good")]
    for (name, side), m in found.items():
        n_side, missing, k = con.execute(
            f"SELECT count_if({side}), count_if({name} IS NULL), count_if({side} AND {name} IS NULL) FROM r"
        ).fetchone()
        assert (m["n"], m["k"], m["base_rate"]) == (missing, k, n_side / 2000)
        expected = fisher_exact([[k, missing - k], [n_side - k, 2000 - missing - n_side + k]]).pvalue
        assert m["p_value"] == pytest.approx(expected, rel=1e-9)
