"""Unit tests of tiers/criteria.py: the one criteria compiler, evaluated in DuckDB on a few rows."""

from __future__ import annotations

import duckdb
import pytest

from icp_agent.errors import NotMeasurable
from icp_agent.tiers.criteria import (
    columns_needed,
    criteria_sql,
    criterion_label,
    criterion_sql,
    document_kinds,
    implied_kind,
    kind_of_type,
    missing_fields,
    predicate,
    present_fields,
    priority_reason_sql,
    priority_sql,
    resolve_kind,
    tier_case_sql,
)

KINDS = {"industry": "category", "employees": "band", "revenue": "money", "tools": "list", "remote": "bool"}


@pytest.fixture
def con():
    c = duckdb.connect()
    c.execute("""CREATE TABLE r AS SELECT * FROM (VALUES
        (1, 'Software', 51.0, 200.0, 2e6, ['CRM', 'erp'], TRUE),
        (2, 'MARKETING_AND_ADVERTISING', 11.0, 50.0, 5e5, [], FALSE),
        (3, 'Marketing & Advertising', 300.0, 300.0, NULL, NULL, NULL),
        (4, NULL, NULL, NULL, 1e7, ['crm'], TRUE)
    ) t(id, industry, employees_min, employees_max, revenue, tools, remote)""")
    yield c
    c.close()


def _ids(con, where: str) -> list[int]:
    return [i for (i,) in con.execute(f"SELECT id FROM r WHERE {where} ORDER BY id").fetchall()]


def test_kinds():
    assert [kind_of_type(t) for t in (None, "band", "money", "percent", "text", "date", "id", "category")] == [
        None,
        "band",
        "number",
        "number",
        None,
        None,
        None,
        "category",
    ]
    assert implied_kind({"op": "contains"}) == "list"
    assert implied_kind({"op": "between"}) == "number"
    assert implied_kind({"op": "eq", "value": True}) == "bool"
    assert implied_kind({"op": "eq", "value": "x"}) == "category"
    # the criterion's own kind beats the schema's, which beats the op's
    assert resolve_kind({"field": "employees", "op": "gte", "kind": "number"}, KINDS) == "number"
    assert resolve_kind({"field": "employees", "op": "gte"}, KINDS) == "band"
    assert resolve_kind({"field": "employees", "op": "gte"}, None) == "number"
    assert columns_needed("employees", "band") == ("employees_min", "employees_max")


def test_category_compares_by_key(con):
    # three spellings of one industry are one key; NULL never matches
    assert _ids(con, criterion_sql({"field": "industry", "op": "eq", "value": "marketing and advertising"})) == [2, 3]
    assert _ids(con, criterion_sql({"field": "industry", "op": "in", "values": ["software", "Retail"]})) == [1]


def test_band_semantics(con):
    # between: the whole range inside; gte reads the min, lte the max; eq an exact value
    assert _ids(con, criterion_sql({"field": "employees", "op": "between", "min": 11, "max": 200}, KINDS)) == [1, 2]
    assert _ids(con, criterion_sql({"field": "employees", "op": "gte", "min": 51}, KINDS)) == [1, 3]
    assert _ids(con, criterion_sql({"field": "employees", "op": "lte", "max": 50}, KINDS)) == [2]
    assert _ids(con, criterion_sql({"field": "employees", "op": "eq", "value": 300}, KINDS)) == [3]
    # a scorecard bin on the midpoint: (51 + 200) / 2 = 125.5 is in [100, 150)
    mid = {"field": "employees", "op": "between", "min": 100, "max": 150, "max_exclusive": True, "on": "midpoint"}
    assert _ids(con, criterion_sql(mid, KINDS)) == [1]
    assert _ids(con, criterion_sql({"field": "employees", "op": "is_missing"}, KINDS)) == [4]


def test_numbers_lists_and_bools(con):
    half_open = {"field": "revenue", "op": "between", "min": 5e5, "max": 2e6, "max_exclusive": True}
    assert _ids(con, criterion_sql(half_open, KINDS)) == [2]
    # list elements compare by key: 'CRM' and 'crm' are one tool
    assert _ids(con, criterion_sql({"field": "tools", "op": "contains", "value": "crm"}, KINDS)) == [1, 4]
    assert _ids(con, criterion_sql({"field": "tools", "op": "is_missing"}, KINDS)) == [2, 3]
    assert _ids(con, criterion_sql({"field": "remote", "op": "eq", "value": True}, KINDS)) == [1, 4]
    assert _ids(con, criterion_sql({"field": "revenue", "op": "not_missing"}, KINDS)) == [1, 2, 4]


def test_criteria_sql_is_null_safe_and_checks_columns(con):
    both = [{"field": "remote", "op": "eq", "value": True}, {"field": "revenue", "op": "gte", "min": 1e6}]
    assert _ids(con, criteria_sql(both, KINDS)) == [1, 4]
    # NOT of a conjunction with a NULL field still yields a definite answer (row 3's NULLs do not match)
    assert _ids(con, f"NOT ({criteria_sql(both, KINDS)})") == [2, 3]
    assert criteria_sql([], KINDS) == "TRUE"
    columns = {"id", "industry", "revenue"}
    with pytest.raises(NotMeasurable, match="not measurable on prospects: it has no employees, tools") as e:
        criteria_sql(
            [{"field": "tools", "op": "contains", "value": "x"}, {"field": "employees", "op": "gte", "min": 1}],
            KINDS,
            columns,
            table="prospects",
        )
    assert e.value.fields == ["employees", "tools"]
    assert missing_fields([{"field": "employees", "op": "gte", "min": 1}], KINDS, {"employees_min"}) == ["employees"]


def test_cast_reads_raw_text_columns(con):
    con.execute("CREATE TABLE p AS SELECT * FROM (VALUES (1, '12'), (2, 'n/a'), (3, '7')) t(id, revenue)")
    where = criterion_sql({"field": "revenue", "op": "gte", "min": 10}, KINDS, cast=True)
    assert con.execute(f"SELECT id FROM p WHERE coalesce({where}, FALSE)").fetchall() == [(1,)]


def test_bad_kind_or_op_raise():
    with pytest.raises(ValueError, match="unknown field kind 'date' for field 'x'"):
        predicate("x", "date", "eq", value=1)
    with pytest.raises(ValueError, match="unknown criterion op 'like' on field 'x'"):
        predicate("x", "category", "like", value="a")


def test_present_fields():
    assert present_fields(["a", "_row", "emp_min", "emp_max", "rev_min"], {"emp": "band", "rev": "band"}) == {
        "a",
        "emp_min",
        "emp_max",
        "rev_min",
        "emp",
    }


def test_tier_case_picks_the_best_tier_and_skips_unmeasurable(con):
    tiers = [
        {"tier": 2, "criteria": [{"field": "remote", "op": "eq", "value": True}]},
        {"tier": 1, "criteria": [{"field": "revenue", "op": "gte", "min": 5e6}]},
        {"tier": 3, "criteria": [{"field": "nowhere", "op": "eq", "value": "x"}]},
    ]
    case = tier_case_sql(tiers, KINDS, {"remote", "revenue"})
    assert con.execute(f"SELECT id, {case} FROM r ORDER BY id").fetchall() == [(1, 2), (2, None), (3, None), (4, 1)]
    assert tier_case_sql([], KINDS) == "NULL::INTEGER"


def test_priority_rule(con):
    rows = [
        # tier, disqualified, score band -> priority
        (1, False, None, "high"),
        (2, False, "high", "high"),
        (2, False, "low", "medium"),
        (3, False, "medium", "medium"),
        (3, False, None, "low"),
        (None, False, "high", "medium"),
        (None, False, "low", "low"),
        (1, True, "high", "low"),
        (None, None, None, "low"),
    ]
    con.execute("CREATE TABLE p (tier INTEGER, dq BOOLEAN, band VARCHAR, want VARCHAR)")
    con.executemany("INSERT INTO p VALUES (?, ?, ?, ?)", rows)
    got = con.execute(f"SELECT {priority_sql('tier', 'dq', 'band')}, want FROM p").fetchall()
    assert [g for g, _ in got] == [w for _, w in got]
    reasons = con.execute(f"SELECT {priority_reason_sql('tier', 'dq', 'NULL', 'band')} FROM p").fetchall()
    assert [r for (r,) in reasons][:2] == ["Tier 1", "Tier 2, fit score band high"]
    assert reasons[5][0] == "outside every tier; fit score band high"
    assert reasons[7][0] == "disqualified: negative ICP"


def test_criterion_label_figures():
    label = criterion_label(
        {"field": "annual_revenue", "op": "between", "min": 1e7, "max": 5e7}, {"annual_revenue": "money"}
    )
    assert label.startswith("annual revenue $") and "-" in label
    assert criterion_label({"field": "employees", "op": "between", "min": 51, "max": 200}) == "employees 51-200"
    assert criterion_label({"field": "industry", "op": "in", "values": ["A", "B"]}) == "industry in {A, B}"
    assert criterion_label({"field": "tools", "op": "not_contains", "value": "x"}) == "tools without x"


def test_document_kinds_prefers_the_scorecard():
    icp = {
        "tiers": [{"criteria": [{"field": "employees", "op": "gte", "min": 1}, {"field": "zzz", "op": "eq"}]}],
        "negative_icp": [],
        "scorecard": {"field_kinds": {"zzz": "category"}},
    }
    kinds = document_kinds(icp)
    assert kinds["zzz"] == "category" and "employees" in kinds
