"""Unit tests of icp_agent.schema: build_schema over small DuckDB tables and the reconciliation of shared fields."""

from __future__ import annotations

from datetime import datetime

import duckdb
import pytest

from icp_agent.models import ColumnReport, ImportReport
from icp_agent.schema import Schema, build_schema


def _report(kind: str, *columns: tuple[str, ...]) -> ImportReport:
    """An ImportReport with (field, type, role[, header]) columns; the header is the field in capitals unless given."""
    return ImportReport(
        import_id=f"i-{kind}",
        kind=kind,
        file_name=f"{kind}.csv",
        path=f"/x/{kind}.csv",
        sha256="0" * 64,
        format="csv",
        rows_read=1,
        rows_kept=1,
        rows_rejected=0,
        duplicates_dropped=0,
        imported_at=datetime(2026, 1, 1),
        columns=[
            ColumnReport(header=(h or [f.upper()])[0], field=f, canonical=True, role=role, type=t, pct_missing=0)
            for f, t, role, *h in columns
        ],
    )


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE c (company_id VARCHAR, industry VARCHAR, employees VARCHAR, employees_min DOUBLE,"
        " employees_max DOUBLE, arr DOUBLE, annual_revenue DOUBLE, region VARCHAR, status_label VARCHAR,"
        " segment VARCHAR)"
    )
    con.execute(
        "CREATE TABLE d (company_id VARCHAR, industry DOUBLE, arr DOUBLE, annual_revenue DOUBLE, region VARCHAR,"
        " amount DOUBLE, status_label VARCHAR, segment VARCHAR)"
    )
    return con


def _schema(con, roles=None) -> Schema:
    reports = {
        "customers": _report(
            "customers",
            ("company_id", "id", "id"),
            ("industry", "category", "fit"),
            ("employees", "band", "fit"),
            ("arr", "money", "outcome"),
            ("annual_revenue", "money", "fit"),
            ("region", "category", "fit"),
            ("status_label", "category", "fit"),  # a lead's status
            ("segment", "category", "fit"),
            ("missing_col", "category", "fit"),  # named by the report, absent from the table
        ),
        "deals": _report(
            "deals",
            ("company_id", "id", "id"),
            ("industry", "number", "fit"),  # text in the customers, a number in the deals
            ("arr", "number", "fit"),  # a deal's ARR is not its company's
            ("annual_revenue", "number", "fit"),  # money vs number: both numeric
            ("region", "category", "fit"),
            ("status_label", "category", "fit"),  # an opportunity's status: the same name, another record's field
            ("segment", "category", "fit", "Company Segment"),  # the company's own field on the deal: merged
            ("amount", "money", "outcome"),
        ),
    }
    return build_schema(con, reports, {"customers": "c", "deals": "d"}, roles)


def test_fields_types_kinds_and_columns(con):
    s = _schema(con)
    employees = s.field("employees")
    assert employees.source == "customers" and employees.kind == "band"
    assert employees.columns == ("employees", "employees_min", "employees_max")
    assert s.field("company_id").kind is None  # ids are never criteria
    assert s.field("amount").source == "deals"
    assert s.field("amount", "customers") is None
    # customers win where both have the field
    assert s.types()["arr"] == "money" and s.types()["industry"] == "category"
    assert s.kinds() == {
        "industry": "category",
        "employees": "band",
        "arr": "number",
        "annual_revenue": "number",
        "region": "category",
        "status_label": "category",
        "segment": "category",
        "amount": "number",
    }
    assert s.headers()["region"] == "REGION"


def test_a_column_the_table_lacks_is_left_out(con):
    s = _schema(con)
    assert s.field("missing_col") is None and not s.has("missing_col", "customers")


def test_band_needs_its_min_and_max_columns():
    con = duckdb.connect()
    con.execute("CREATE TABLE c (employees VARCHAR, employees_min DOUBLE)")  # no employees_max
    s = build_schema(con, {"customers": _report("customers", ("employees", "band", "fit"))}, {"customers": "c"})
    assert s.field("employees") is None


def test_roles_override_the_reported_role(con):
    s = _schema(con, roles={"region": "ignore"})
    assert s.field("region").role == "ignore" and s.field("industry").role == "fit"


def test_reconciliation(con):
    s = _schema(con)
    by_field = {r["field"]: r for r in s.reconciliation}
    # same type (region): nothing to reconcile; money vs number: cast; category vs number: kept apart; a field
    # that only shares its name (status_label, arr: a deal's own) is kept apart whatever its type
    assert set(by_field) == {"annual_revenue", "arr", "industry", "status_label"}
    assert by_field["annual_revenue"]["choice"] == "cast to number"
    assert by_field["industry"]["choice"] == "kept apart"
    assert by_field["industry"]["types"] == {"customers": "category", "deals": "number"}
    assert by_field["status_label"]["choice"] == by_field["arr"]["choice"] == "kept apart"
    assert s.merge_with_deals("annual_revenue") and s.merge_with_deals("region") and s.merge_with_deals("segment")
    assert not s.merge_with_deals("industry") and not s.merge_with_deals("status_label")
    assert not s.merge_with_deals("arr")
    assert len(s.warnings()) == 4 and any("'INDUSTRY'" in w for w in s.warnings())
    assert "a deal's status_label is not its company's" in by_field["status_label"]["statement"]


def test_not_in_prospects():
    con = duckdb.connect()
    con.execute("CREATE TABLE c (industry VARCHAR, region VARCHAR)")
    con.execute("CREATE TABLE p (industry VARCHAR)")
    reports = {
        "customers": _report("customers", ("industry", "category", "fit"), ("region", "category", "fit")),
        "prospects": _report("prospects", ("industry", "category", "fit")),
    }
    s = build_schema(con, reports, {"customers": "c"})
    assert s.not_in_prospects(["region", "industry"]) == []  # no prospect table: nothing to say
    s = build_schema(con, reports, {"customers": "c", "prospects": "p"})
    assert s.not_in_prospects(["region", "industry", "region"]) == ["region"]


def test_empty_inputs():
    s = build_schema(duckdb.connect(), {}, {})
    assert s.sources == {} and s.kinds() == {} and s.reconciliation == [] and s.field("x") is None
