"""Unit tests of tiers/specs.py: selector specs per fit field, criteria and labels of selectors."""

from __future__ import annotations

import duckdb

from icp_agent.patterns.selectors import FieldSpec, Selector
from icp_agent.tiers.specs import EMPLOYEE_BANDS, REVENUE_BANDS, criterion, display_label, field_specs, with_values


def test_field_specs_by_import_type():
    specs = field_specs(
        {
            "industry": "category",
            "employees": "band",
            "annual_revenue": "money",
            "founded_year": "number",
            "tools": "list",
            "remote": "bool",
            "notes": "text",
            "signup": "date",
        }
    )
    by_name = {s.name: s for s in specs}
    # sorted by name; text and dates are never criteria
    assert [s.name for s in specs] == ["annual_revenue", "employees", "founded_year", "industry", "remote", "tools"]
    assert by_name["employees"] == FieldSpec("employees", "band", bands=EMPLOYEE_BANDS, snap_to_ranges=True)
    # annual revenue gets the business revenue bands; another number gets rounded equal-frequency bins
    assert by_name["annual_revenue"] == FieldSpec("annual_revenue", "number", bands=REVENUE_BANDS, round_cuts=True)
    assert by_name["founded_year"] == FieldSpec("founded_year", "number", bands=None, round_cuts=True)
    assert [by_name[n].kind for n in ("industry", "remote", "tools")] == ["category", "bool", "list"]
    assert field_specs({}) == []


def test_criterion_carries_kind_header_and_label():
    sel = Selector("employees", "band", "between", min=51.0, max=200.0)
    c = criterion(sel, {"employees": "Company size"})
    assert (c.field, c.op, c.min, c.max, c.kind, c.header, c.label) == (
        "employees",
        "between",
        51,
        200,
        "band",
        "Company size",
        "employees 51-200",
    )
    assert criterion(Selector("industry", "category", "eq", value="Retail"), {}).header is None


def test_display_label():
    assert display_label(Selector("employees", "band", "between", min=51.0, max=200.0), {}) == "employees 51-200"
    label = display_label(Selector("annual_revenue", "number", "gte", min=1e9), {"annual_revenue": "money"})
    assert label.startswith("annual revenue >= $")


def test_with_values_needs_two_distinct():
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE f AS SELECT * FROM (VALUES ('a', 1.0, 5.0), ('a', 2.0, NULL), (NULL, NULL, NULL)) "
        "t(one, e_min, e_max)"
    )
    one, band = FieldSpec("one", "category"), FieldSpec("e", "band", bands=((1, 2),))
    assert with_values(con, "f", [one, band]) == [band]
    assert with_values(con, "f", []) == []


def test_fields_with_a_single_value_are_left_out_in_one_scan():
    con = duckdb.connect()
    con.execute("""CREATE TABLE frame AS SELECT range AS _row, 'Software' AS industry, ['a', 'b'][range % 2 + 1] AS city,
        ['x', 'y'] AS tools, CASE WHEN range % 3 = 0 THEN ['x'] ELSE ['x', 'y'] END AS stack,
        10.0 AS staff_min, 10.0 + range % 5 AS staff_max, 1.0 * (range % 7) AS revenue,
        CASE WHEN range = 0 THEN NULL ELSE 5 END AS founded FROM range(100)""")
    specs = [FieldSpec("industry", "category"), FieldSpec("city", "category"), FieldSpec("tools", "list"),
             FieldSpec("stack", "list"), FieldSpec("staff", "band"), FieldSpec("revenue", "number"),
             FieldSpec("founded", "number")]
    # a band field is judged by its lower bound; a missing value is no second value
    assert [s.name for s in with_values(con, "frame", specs)] == ["city", "stack", "revenue"]
