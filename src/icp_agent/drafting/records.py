"""What a drafter records besides personas and rationale: tier narratives, interview themes, the known gaps of
each persona, and its drafting record. The arguments are the record_drafting operation's options
(icp_agent.options.RecordDraftingOptions and its parts, re-exported here); its result is DraftingRecorded."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from icp_agent.options import (  # noqa: F401 - re-exported: the record_drafting tool's argument models
    DraftClaim,
    DraftNarrative,
    DraftTheme,
    PersonaGaps,
)


class DraftingRecorded(BaseModel):
    """What record_drafting kept in the ICP version."""

    version: str
    narratives: int = Field(description="tier narratives saved (each replaces the earlier one of its tier)")
    themes: int = Field(description="interview themes saved (they replace the earlier list when any are given)")
    personas_marked: int = Field(description="saved personas now marked with the drafter, model and their gaps")
    record_keys: list[str] = Field(default_factory=list, description="the keys of the drafting record merged in")

    @classmethod
    def of(
        cls,
        version: str,
        narratives: list[DraftNarrative],
        themes: list[DraftTheme],
        gaps: list[PersonaGaps],
        record: dict[str, Any],
    ) -> DraftingRecorded:
        """The result of recording these narratives, themes, persona gaps and record keys in `version` (counts only)."""
        return cls(
            version=version,
            narratives=len(narratives),
            themes=len(themes),
            personas_marked=len(gaps),
            record_keys=sorted(record),
        )
