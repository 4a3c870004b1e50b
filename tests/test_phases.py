"""faces/assistant/phases.py: the method's five phases as the assisted run enforces them."""

from __future__ import annotations

import pytest

from icp_agent.errors import UserError
from icp_agent.faces.assistant.phases import ANALYSIS_TOOLS, OFFERED_TOOLS, PHASE_KEYS, PHASES, phases_of
from icp_agent.operations import OPERATIONS


def test_five_phases_in_the_methods_order():
    assert PHASE_KEYS == ("assemble", "patterns", "framework", "personas", "validation")
    assert [p.number for p in PHASES] == [1, 2, 3, 4, 5]
    # a phase that must succeed with a tool may use that tool
    assert all(p.required in p.tools for p in PHASES if p.required)
    assert [p.required for p in PHASES] == ["import_data", "find_patterns", "build_icp", None, None]


def test_the_tools_offered_are_operations_and_never_the_writers_of_drafts():
    names = {op.name for op in OPERATIONS}
    assert names >= OFFERED_TOOLS  # every tool offered is an operation under its one name
    assert not {"save_drafts", "render_document", "fit_scorecard"} & OFFERED_TOOLS
    assert ANALYSIS_TOOLS <= OFFERED_TOOLS


def test_phases_of():
    assert phases_of(None) == list(PHASES)
    assert [p.key for p in phases_of(["validation", "patterns"])] == ["patterns", "validation"]  # method order
    assert phases_of([]) == []
    with pytest.raises(UserError) as caught:
        phases_of(["patterns", "drafting"])
    assert "unknown phase(s) ['drafting']" in str(caught.value) and "assemble" in caught.value.hint
