"""Unit tests of icp_agent.shapes: the argument shapes a model sends (ids as numbers, segment and tier spellings,
kinds by their CRM names, one value for a list) and the one timestamp form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import TypeAdapter, ValidationError

from icp_agent.shapes import DataKindName, IdText, SegmentName, TierNumber, choice_text, one_or_many, utc_timestamp


def _read(kind, value):
    return TypeAdapter(kind).validate_python(value)


def test_utc_timestamp():
    assert utc_timestamp(datetime(2026, 11, 29, 11, 20, 58)) == "2026-11-29T11:20:58Z"  # naive is UTC
    assert utc_timestamp(datetime(2026, 1, 1, 12, 0, 0, 5000, tzinfo=UTC)) == "2026-01-01T12:00:00.005000Z"
    paris = timezone(timedelta(hours=1))
    assert utc_timestamp(datetime(2026, 1, 1, 12, 0, tzinfo=paris)) == "2026-01-01T11:00:00Z"


def test_id_text_reads_numbers_as_text():
    assert _read(IdText, 3) == "3" and _read(IdText, 12.0) == "12" and _read(IdText, "E1") == "E1"
    with pytest.raises(ValidationError):
        _read(IdText, 1.5)  # not a whole number: no id
    with pytest.raises(ValidationError):
        _read(IdText, True)


@pytest.mark.parametrize("given", [1, "1", "icp1", "ICP-1", " icp_1 ", "ICP 1", 1.0])
def test_segment_name_spellings(given):
    assert _read(SegmentName, given) == "ICP 1"


def test_segment_name_other_text_is_kept():
    assert _read(SegmentName, "Enterprise") == "Enterprise"


@pytest.mark.parametrize("given, tier", [(1, 1), ("2", 2), ("Tier 3", 3), ("tier-2", 2), (" TIER_1 ", 1)])
def test_tier_number_spellings(given, tier):
    assert _read(TierNumber, given) == tier


@pytest.mark.parametrize("given", [0, 4, True, False, "Tier four", None])
def test_tier_number_refuses(given):
    with pytest.raises(ValidationError):
        _read(TierNumber, given)


def test_one_or_many_and_choice_text():
    assert one_or_many("E1") == ["E1"] and one_or_many(3) == [3] and one_or_many(["a"]) == ["a"]
    assert one_or_many(True) is True and one_or_many(None) is None
    assert choice_text(" Negative ICP ") == "negative_icp" and choice_text("post-sale") == "post_sale"
    assert choice_text(7) == 7


@pytest.mark.parametrize(
    "given, kind",
    [("Deals", "deals"), ("deal", "deals"), ("Companies", "customers"), ("accounts", "customers"),
     ("opportunity", "deals"), ("contact", "contacts"), ("events", "events")],
)  # fmt: skip
def test_data_kind_synonyms(given, kind):
    assert _read(DataKindName, given) == kind


def test_data_kind_refuses_unknown():
    with pytest.raises(ValidationError):
        _read(DataKindName, "widgets")
