"""Unit tests of icp_agent.ingest.amounts: amounts in cents (declared in [units], named by the header, or shown by a
formatted companion column) scaled at import, bad [units] entries refused, and a deal amount's period column
recognised by its values and reported."""

from __future__ import annotations

import duckdb
import pytest

from conftest import rows
from icp_agent.errors import UserError
from icp_agent.ingest.amounts import PERIODS, parse_scale, period_factor_sql, period_key
from icp_agent.ingest.importer import import_file, import_key
from icp_agent.ingest.mapping import Mapping
from icp_agent.ingest.reader import inspect_file

# a Copper/Attio-like deals export: the amount in minor units beside a formatted copy, with a billing frequency
DEALS_FORMATTED = """Opportunity ID,Company,Status,Amount,Amount (formatted),Billing Frequency
o1,Acme,Won,250000,"£2,500.00",Monthly
o2,Bolt,Lost,1200050,"£12,000.50",Yearly
o3,Crane,Won,90000,£900,Quarterly
o4,Dyno,Won,40000,£400,One-off
"""


def test_a_formatted_companion_shows_the_amounts_are_cents(ws, write):
    report = import_file(ws, write("opps.csv", DEALS_FORMATTED), "deals")
    assert [r["amount"] for r in rows(ws, "deals")] == [2500.0, 12000.5, 900.0, 400.0]
    said = " ".join(report.warnings)
    assert "'Amount': amounts divided by 100" in said and "'Amount (formatted)'" in said and "4 of 4 rows" in said
    assert '[units] "Amount" = "units"' in said


def test_the_period_column_is_recognised_and_reported(ws, write):
    report = import_file(ws, write("opps.csv", DEALS_FORMATTED), "deals")
    columns = {c.header: c.field for c in report.columns}
    assert columns["Billing Frequency"] == "amount_period"
    note = next(w for w in report.warnings if "Billing Frequency" in w)
    assert "is the period of each amount" in note and "Monthly 1" in note and "one-time amounts out of ACV" in note


def test_a_term_column_of_contract_lengths_is_not_a_period(ws, write):
    text = "deal_id,company_id,stage,amount,Term\nd1,c1,Won,1200,24 months\nd2,c2,Lost,900,36 months\n"
    report = import_file(ws, write("deals.csv", text), "deals")
    note = next(w for w in report.warnings if "'Term'" in w)
    assert "is not read as the amount's period" in note


def test_units_declared_in_the_mapping_file_scale_the_column(ws, write, tmp_path):
    (tmp_path / "map.toml").write_text('[units]\n"Deal value" = "cents"\n')
    text = "deal_id,company_id,stage,Deal value\nd1,c1,Won,150000\nd2,c2,Lost,99\n"
    mapping = Mapping.load(tmp_path / "map.toml")
    assert mapping.units == {"Deal value": 0.01}
    report = import_file(ws, write("deals.csv", text), "deals", mapping=mapping)
    assert [r["amount"] for r in rows(ws, "deals")] == [1500.0, 0.99]
    assert any("as the mapping file's [units] declares" in w for w in report.warnings)


def test_units_as_written_override_what_the_companion_says(ws, write, tmp_path):
    (tmp_path / "map.toml").write_text('[units]\namount = "units"\n')
    import_file(ws, write("opps.csv", DEALS_FORMATTED), "deals", mapping=Mapping.load(tmp_path / "map.toml"))
    assert [r["amount"] for r in rows(ws, "deals")] == [250000.0, 1200050.0, 90000.0, 40000.0]


def test_a_header_naming_cents_is_scaled(ws, write, tmp_path):
    (tmp_path / "map.toml").write_text('[columns]\n"amount_cents" = "amount"\n')
    text = "deal_id,company_id,stage,amount_cents\nd1,c1,Won,$12345\n"
    import_file(ws, write("deals.csv", text), "deals", mapping=Mapping.load(tmp_path / "map.toml"))
    assert [r["amount"] for r in rows(ws, "deals")] == [123.45]


def test_amounts_without_evidence_are_never_scaled_by_magnitude(ws, write):
    text = 'deal_id,company_id,stage,amount,amount_formatted\nd1,c1,Won,5000000,"$5,000,000"\nd2,c2,Lost,7000000,\n'
    report = import_file(ws, write("deals.csv", text), "deals")
    assert [r["amount"] for r in rows(ws, "deals")] == [5000000.0, 7000000.0]
    assert not any("divided by 100" in w for w in report.warnings)


def test_declared_units_change_the_snapshot_key(tmp_path, write):
    source = inspect_file(write("deals.csv", "deal_id,company_id,stage,amount\nd1,c1,Won,100\n"))
    plain = import_key(source, "deals", Mapping(), False)
    assert import_key(source, "deals", Mapping(units={"amount": 0.01}), False) != plain
    assert import_key(source, "deals", Mapping(units={"other": 0.01}), False) == plain


@pytest.mark.parametrize(
    "value,scale",
    [("cents", 0.01), ("Minor units", 0.01), ("units", 1.0), ("thousands", 1000.0), (0.01, 0.01), (5, 5.0)],
)
def test_a_units_entry_is_a_unit_word_or_a_positive_scale(value, scale):
    assert parse_scale(value, "map.toml", "value") == scale


@pytest.mark.parametrize("value", ["pennies", 0, -1, True, float("inf"), [1]])
def test_a_bad_units_entry_is_refused_naming_it(value):
    with pytest.raises(UserError, match=r"\[units\] value = .* is not a unit or a positive scale") as caught:
        parse_scale(value, "map.toml", "value")
    assert caught.value.file == "map.toml" and "cents" in (caught.value.hint or "")


def test_a_units_entry_naming_nothing_imported_is_refused(tmp_path):
    (tmp_path / "map.toml").write_text('[units]\nvalu = "cents"\n')
    mapping = Mapping.load(tmp_path / "map.toml")
    with pytest.raises(UserError, match=r"\[units\] names \['valu'\]"):
        mapping.check_files({"deals.csv": ["id", "value"]})
    mapping.units = {"value": 0.01, "amount": 0.01}
    mapping.check_files({"deals.csv": ["id", "value"]})  # a header, and a field: both fine


def test_period_spellings_annualise():
    con = duckdb.connect()
    factors = {
        text: con.execute(f"SELECT {period_factor_sql(repr(text))}").fetchall()[0][0]
        for text in (
            "Monthly",
            "per month",
            "QUARTERLY",
            "Annually",
            "one_time",
            "One-Time",
            "Semi-annual",
            "24 months",
        )
    }
    assert factors == {
        "Monthly": 12.0,
        "per month": 12.0,
        "QUARTERLY": 4.0,
        "Annually": 1.0,
        "one_time": 0.0,
        "One-Time": 0.0,
        "Semi-annual": 2.0,
        "24 months": None,
    }
    assert all(period_key(k) == k for k in PERIODS)


def test_a_mapping_file_with_a_bad_unit_stops_before_anything_is_imported(tmp_path):
    (tmp_path / "map.toml").write_text('[units]\nvalue = "pennies"\n')
    with pytest.raises(UserError, match=r"\[units\] value = 'pennies' is not a unit or a positive scale") as caught:
        Mapping.load(tmp_path / "map.toml")
    assert caught.value.file == "map.toml"
    (tmp_path / "map.toml").write_text('units = "cents"\n')
    with pytest.raises(UserError, match=r"\[units\] must be a table"):
        Mapping.load(tmp_path / "map.toml")
