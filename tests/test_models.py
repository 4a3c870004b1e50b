"""Unit tests of icp_agent.models: Section key order, the models' validation, the link report and the workspace
summary. (icp.json's byte-for-byte round trip is in test_schema_criteria.py.)"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from icp_agent.models import LinkReport, WorkspaceSummary


def test_link_report_leaves_out_ambiguity_when_none():
    base = {"kind": "deals", "linked_by": "company_id", "rows": 3, "linked": 2, "unlinked": 1}
    assert "ambiguous" not in LinkReport(**base).model_dump()
    assert LinkReport(**base, ambiguous=1).model_dump()["ambiguous"] == 1


def test_workspace_summary_forbids_unknown_keys():
    assert WorkspaceSummary(workspace="w", schema_version=1).current == {}
    with pytest.raises(ValidationError):
        WorkspaceSummary(workspace="w", schema_version=1, extra_field=1)
