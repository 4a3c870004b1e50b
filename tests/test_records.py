"""drafting/records.py: what record_drafting reports it kept (counts of narratives, themes, personas marked,
and the record keys merged)."""

from __future__ import annotations

from icp_agent.drafting.records import DraftingRecorded, DraftNarrative, DraftTheme, PersonaGaps


def test_of_counts_what_was_recorded():
    claims = [{"text": "t", "evidence": ["E1"]}]
    out = DraftingRecorded.of(
        "icp-1",
        [DraftNarrative(tier_name="ICP 1 Tier 1", claims=claims), DraftNarrative(tier_name="ICP 1 Tier 2", claims=[])],
        [DraftTheme(theme="Size", claims=claims)],
        [PersonaGaps(segment="ICP 1", tier=1, role="champion", gaps=["pains"])] * 3,
        {"run_status": "complete", "b": 1, "a": 2},
    )
    assert out.model_dump() == {
        "version": "icp-1",
        "narratives": 2,
        "themes": 1,
        "personas_marked": 3,
        "record_keys": ["a", "b", "run_status"],  # sorted
    }


def test_of_nothing_recorded():
    out = DraftingRecorded.of("icp-1", [], [], [], {})
    assert (out.narratives, out.themes, out.personas_marked, out.record_keys) == (0, 0, 0, [])
