"""validation/tier1.py: Tier 1 as a predicate over any table, and the Tier-1 fields a set of deals lacks."""

from __future__ import annotations

import duckdb
import pytest

from icp_agent.errors import NotMeasurable
from icp_agent.validation.tier1 import tier1_columns, tier1_sql, unknown_tier1_fields
from minimal_icp import icp, tier

SOFTWARE = {"field": "industry", "op": "eq", "value": "Software", "kind": "category"}
BIG = {"field": "employees", "op": "gte", "min": 100, "kind": "number"}
US = {"field": "country", "op": "eq", "value": "US", "kind": "category"}


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute(
        """CREATE TABLE t AS SELECT * FROM (VALUES
        (1, 'Software', 500, 'US'), (2, 'Software', 50, 'US'), (3, 'Retail', 500, 'DE'),
        (4, NULL, 500, 'US'), (5, 'software', 100, NULL)) t(id, industry, employees, country)"""
    )
    yield con
    con.close()


def matching(con, sql: str) -> list[int]:
    return [r[0] for r in con.execute(f"SELECT id FROM t WHERE coalesce(({sql}), FALSE) ORDER BY id").fetchall()]


def test_tier1_is_the_or_of_every_segments_tier1(con):
    doc = icp([tier(1, [SOFTWARE, BIG]), tier(1, [US], segment="ICP 2"), tier(2, [{**SOFTWARE, "value": "Retail"}])])
    sql = tier1_sql(doc, {"id", "industry", "employees", "country"})
    # ICP 1: Software (any spelling) and >= 100 employees: 1, 5; ICP 2: US: 1, 2, 4. Tier 2 (Retail) is not Tier 1.
    assert matching(con, sql) == [1, 2, 4, 5]


def test_missing_values_never_match(con):
    assert matching(con, tier1_sql(icp([tier(1, [SOFTWARE])]))) == [1, 2, 5]  # row 4: industry NULL


def test_no_tier1_is_none():
    assert tier1_sql(icp([tier(2, [SOFTWARE])])) is None
    assert tier1_sql(icp([])) is None


def test_a_relation_without_a_tier1_field_is_not_measurable():
    with pytest.raises(NotMeasurable) as caught:
        tier1_sql(icp([tier(1, [SOFTWARE, BIG])]), {"industry"}, "the deals")
    assert caught.value.fields == ["employees"]
    assert caught.value.table == "the deals"
    assert "the deals" in str(caught.value) and "employees" in str(caught.value)


def test_unknown_tier1_fields_are_the_absent_and_the_mostly_null(con):
    doc = icp([tier(1, [SOFTWARE, BIG]), tier(1, [{**US, "field": "region"}], segment="ICP 2")])
    # region: not a column; country is not a Tier-1 field; industry NULL on 1 of 5 rows (known 80%): kept
    assert unknown_tier1_fields(con, "t", doc, "TRUE") == ["region"]
    # over rows 3-5, industry is known on 2 of 3 (67%): kept; over rows 4-5 on 1 of 2 (50%): kept (< 0.5 is unknown)
    assert unknown_tier1_fields(con, "t", doc, "id >= 4") == ["region"]
    # over row 4 only, industry is unknown: listed, sorted
    assert unknown_tier1_fields(con, "t", doc, "id = 4") == ["industry", "region"]
    # no rows: nothing known either way, so nothing is called unknown but the absent column
    assert unknown_tier1_fields(con, "t", doc, "FALSE") == ["region"]


def test_tier1_columns_are_the_columns_its_predicate_reads():
    # a band reads its bounds, never its own column; fields of other tiers are not read
    size = {"field": "size", "op": "between", "min": 51, "max": 200, "kind": "band"}
    tech = {"field": "tech", "op": "contains", "value": "Slack", "kind": "list"}
    doc = icp([tier(1, [SOFTWARE, size]), tier(1, [tech], segment="ICP 2"), tier(2, [US])])
    assert tier1_columns(doc) == ["industry", "size_max", "size_min", "tech"]
    assert tier1_columns(icp([tier(2, [US])])) == []
