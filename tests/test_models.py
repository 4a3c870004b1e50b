"""Unit tests of icp_agent.models: Section key order, the models' validation, the link report and the workspace
summary. (icp.json's byte-for-byte round trip is in test_schema_criteria.py.)"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from icp_agent.models import (
    CohortMetrics,
    Criterion,
    DatasetInfo,
    LinkReport,
    WorkspaceSummary,
)


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
