"""Unit tests of icp_agent.ingest.dates: the day/month order of a slashed date column, from the mapping file,
its own values, dots, or the export's other date columns; and what an order nothing decides becomes."""

from __future__ import annotations

import pytest

from icp_agent.errors import UserError
from icp_agent.ingest.columns import PlannedColumn
from icp_agent.ingest.dates import AMBIGUOUS, NEEDED_DATES, ambiguous_date_orders, date_order, _proven_order
from icp_agent.ingest.mapping import Mapping


def profile_columns(slashed=0, mdy=0, dmy=0, dotted=0, present=10):
    # what ingest.profile counts for a column; the role inference reads a few more keys
    return {"slashed": slashed, "mdy": mdy, "dmy": dmy, "dotted": dotted, "present": present, "sampled": present,
            "rows": present, "multiline": 0, "avg_len": 10, "distinct": present, "present_distinct": present,
            "digits": 0, "int_min": 0, "int_max": 0}  # fmt: skip


def _date_column(header: str, name: str | None = None, order: str | None = AMBIGUOUS) -> PlannedColumn:
    return PlannedColumn(
        header=header, name=name or header, canonical=False, type="date", role="auto", date_order=order
    )


def test_date_order_from_the_values():
    column, m = _date_column("d"), Mapping()
    assert date_order(column, profile_columns(slashed=0), m, "f.csv") is None  # ISO dates: no order to decide
    assert date_order(column, profile_columns(slashed=5, mdy=2), m, "f.csv") == "mdy"  # 12/31/2024
    assert date_order(column, profile_columns(slashed=5, dmy=1), m, "f.csv") == "dmy"  # 31/12/2024
    assert date_order(column, profile_columns(slashed=5, dotted=5), m, "f.csv") == "dmy"  # 01.05.2023
    assert date_order(column, profile_columns(slashed=5), m, "f.csv") == AMBIGUOUS


def test_the_mapping_file_decides_first():
    assert date_order(_date_column("d"), profile_columns(slashed=5, dmy=3), Mapping(date_order="mdy"), "f.csv") == "mdy"


def test_mixed_orders_in_even_measure_name_the_file_and_column():
    with pytest.raises(UserError, match="mix day/month/year and month/day/year") as err:
        date_order(_date_column("Close Date"), profile_columns(slashed=5, mdy=1, dmy=1), Mapping(), "deals.csv")
    assert (err.value.file, err.value.column) == ("deals.csv", "Close Date")


def test_mixed_orders_typed_by_hand_read_the_majoritys_order_first():
    column = _date_column("Joined")
    assert date_order(column, profile_columns(slashed=40, mdy=3, dmy=9), Mapping(), "sheet.csv") == "dmy+mdy"
    assert "read day/month like most (9 values prove it), month/day where a value can only be read so (3)" in column.note
    other = _date_column("Renewal")
    assert date_order(other, profile_columns(slashed=40, mdy=7, dmy=2), Mapping(), "sheet.csv") == "mdy+dmy"
    assert date_order(other, profile_columns(slashed=40, mdy=7, dmy=2), Mapping(date_order="dmy"), "s.csv") == "dmy"


def test_proven_order():
    assert _proven_order(profile_columns(slashed=3, dmy=1)) == "dmy"
    assert _proven_order(profile_columns(slashed=3, mdy=1)) == "mdy"
    assert _proven_order(profile_columns(slashed=3, mdy=1, dmy=1)) is None
    assert _proven_order(profile_columns(slashed=0, dmy=1)) is None


def test_another_date_column_of_the_file_decides():
    proven, open_ = _date_column("Signed", order="dmy"), _date_column("Renewal")
    profiles = {"Signed": profile_columns(slashed=5, dmy=2), "Renewal": profile_columns(slashed=5)}
    mapping, warnings = Mapping(), []
    ambiguous_date_orders([proven, open_], profiles, mapping, "c.csv", warnings)
    assert open_.date_order == "dmy" and open_.type == "date" and "day/month" in open_.note
    assert mapping.proven_date_orders == {"c.csv: Signed": "dmy"} and warnings == []


def test_an_earlier_file_of_the_run_decides_when_this_one_does_not():
    mapping = Mapping(proven_date_orders={"deals.csv: Close": "mdy"})
    column = _date_column("Start")
    ambiguous_date_orders([column], {"Start": profile_columns(slashed=5)}, mapping, "c.csv", [])
    assert column.date_order == "mdy" and "deals.csv: Close" in column.note


def test_an_undecided_date_the_analysis_needs_stops_the_import():
    assert "churn_date" in NEEDED_DATES
    column = _date_column("Churn Date", "churn_date")
    with pytest.raises(UserError, match="date order is ambiguous") as err:
        ambiguous_date_orders([column], {"Churn Date": profile_columns(slashed=5)}, Mapping(), "c.csv", [])
    assert (err.value.file, err.value.column) == ("c.csv", "Churn Date")


def test_an_undecided_other_date_is_kept_as_text_with_a_warning():
    column, warnings = _date_column("Last Visit", "last_visit"), []
    ambiguous_date_orders([column], {"Last Visit": profile_columns(slashed=5)}, Mapping(), "c.csv", warnings)
    assert (column.type, column.date_order) == ("text", None)
    assert len(warnings) == 1 and warnings[0].startswith("c.csv: column 'Last Visit'")


def test_disagreeing_evidence_decides_nothing():
    mapping = Mapping(proven_date_orders={"a.csv: x": "mdy", "b.csv: y": "dmy"})
    column = _date_column("Visit", "visit")
    ambiguous_date_orders([column], {"Visit": profile_columns(slashed=5)}, mapping, "c.csv", [])
    assert column.type == "text"
