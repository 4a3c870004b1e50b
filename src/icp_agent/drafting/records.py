"""What a drafter records besides personas and rationale: tier narratives, interview themes, the known gaps of
each persona, and its drafting record. The arguments and result of the record_drafting tool (the save_drafts
tool's models, DraftClaim among them, live with the toolkit)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from icp_agent.toolkit import DraftClaim


class DraftNarrative(BaseModel):
    """The narrative of one tier: a few cited claims."""

    tier_name: str = Field(description="the tier's name as get_icp gives it")
    claims: list[DraftClaim]


class DraftTheme(BaseModel):
    """One interview theme: its name and the cited quotes or claims that carry it."""

    theme: str = Field(description="a short name, e.g. 'Pipeline visibility'")
    claims: list[DraftClaim]


class PersonaGaps(BaseModel):
    """What the evidence does not say about one saved persona (e.g. 'pains: no interview says')."""

    segment: str = Field(description="ICP 1, ICP 2, ...")
    tier: int = Field(ge=1, le=3)
    role: str = Field(description="the buying role: champion, economic buyer, technical buyer, end user, blocker")
    gaps: list[str] = Field(default_factory=list)


class DraftingRecorded(BaseModel):
    """What record_drafting kept in the ICP version."""

    version: str
    narratives: int = Field(description="tier narratives saved (each replaces the earlier one of its tier)")
    themes: int = Field(description="interview themes saved (they replace the earlier list when any are given)")
    personas_marked: int = Field(description="saved personas now marked with the drafter, model and their gaps")
    record_keys: list[str] = Field(default_factory=list, description="the keys of the drafting record merged in")

    @classmethod
    def of(cls, version: str, narratives: list[DraftNarrative], themes: list[DraftTheme],
           gaps: list[PersonaGaps], record: dict[str, Any]) -> DraftingRecorded:
        return cls(version=version, narratives=len(narratives), themes=len(themes), personas_marked=len(gaps),
                   record_keys=sorted(record))
