"""Unit tests of icp_agent.models: the argument shapes a model sends, timestamps, Section key order and the
models' validation. (icp.json's byte-for-byte round trip is in test_schema_criteria.py.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import TypeAdapter, ValidationError

from icp_agent.models import (
    CohortMetrics,
    Criterion,
    DataKindName,
    DatasetInfo,
    IdText,
    LinkReport,
    SegmentName,
    TierNumber,
    WorkspaceSummary,
    choice_text,
    one_or_many,
    utc_timestamp,
)


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


def test_section_keeps_given_keys_in_order_and_extras():
    # keys as written: no null for the ones left out, the order kept, an unknown key kept
    section = CohortMetrics.model_validate({"evidence": ["E1"], "future_key": 2, "n": 10})
    assert section.model_dump() == {"evidence": ["E1"], "future_key": 2, "n": 10}
    section.health_mean = 55  # set after loading: appended
    assert list(section.model_dump()) == ["evidence", "future_key", "n", "health_mean"]
    assert section.model_dump()["health_mean"] == 55 and isinstance(section.model_dump()["health_mean"], int)
    assert CohortMetrics().model_dump() == {}


def test_dataset_info_writes_options_only_when_given():
    assert "options" not in DatasetInfo(fingerprint="f").model_dump()
    assert DatasetInfo(fingerprint="f", options={"depth": 2}).model_dump()["options"] == {"depth": 2}


def test_link_report_leaves_out_ambiguity_when_none():
    base = {"kind": "deals", "linked_by": "company_id", "rows": 3, "linked": 2, "unlinked": 1}
    assert "ambiguous" not in LinkReport(**base).model_dump()
    assert LinkReport(**base, ambiguous=1).model_dump()["ambiguous"] == 1


def test_criterion_forbids_unknown_keys_and_ops():
    c = Criterion(field="employees", op="between", min=10, max=50, label="10-50 employees")
    assert (c.min, c.max, c.kind) == (10, 50, None)
    with pytest.raises(ValidationError):
        Criterion(field="x", op="like", label="x")
    with pytest.raises(ValidationError):
        Criterion(field="x", op="eq", label="x", colour="red")


def test_workspace_summary_forbids_unknown_keys():
    assert WorkspaceSummary(workspace="w", schema_version=1).current == {}
    with pytest.raises(ValidationError):
        WorkspaceSummary(workspace="w", schema_version=1, extra_field=1)
