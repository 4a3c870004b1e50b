"""Drafted prose kept in an ICP version: the draft models save_drafts takes, and a drafter's record (narratives,
themes, persona gaps: drafting/records.py). Every claim is checked against the version's evidence before it is
kept."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from icp_agent.drafting.records import DraftingRecorded
from icp_agent.errors import UserError
from icp_agent.icp_document import DraftingRecord, IcpDocument, Narrative, Persona, Theme
from icp_agent.options import (  # noqa: F401 - the draft models, re-exported
    DraftClaim,
    DraftPersona,
    DraftRationale,
    RecordDraftingOptions,
)
from icp_agent.workspace import Workspace


class SaveDraftsResult(BaseModel):
    """What save_drafts did: whether it saved, counts saved and every claim refused with why (MCP, --json)."""

    saved: bool
    version: str
    problems: list[dict] = Field(default_factory=list, description="every claim refused and why")
    personas_saved: int = 0
    rationales_saved: int = 0


def save_drafts(
    ws: Workspace,
    icp: IcpDocument,
    personas: list[DraftPersona],
    rationales: list[DraftRationale],
    *,
    drafter: str,
    model: str | None,
) -> SaveDraftsResult:
    """Keep drafted personas and negative-ICP rationale in `icp` (replacing earlier drafts of the same persona or
    disqualifier) only when every claim is grounded in the version's evidence and names a tier or disqualifier
    of it; otherwise nothing is kept and the result lists every problem. Scores, tiers, criteria and
    disqualifiers are never touched."""
    from icp_agent.drafting.grounding import Claim, check_claims
    from icp_agent.evidence import version_items
    from icp_agent.toolkit import check_icp_document

    claims = [c for p in personas for c in p.claims] + [c for r in rationales for c in r.claims]
    problems = check_claims([Claim(text=c.text, evidence=c.evidence) for c in claims], version_items(ws, icp.id))
    known = {" AND ".join(c.label for c in d.criteria): d for d in icp.negative_icp}
    problems_out: list[dict[str, Any]] = [p.model_dump() for p in problems]
    for r in rationales:
        if r.disqualifier not in known:
            problems_out.append(
                {"claim": r.disqualifier, "problem": "not a disqualifier of this ICP; known: " + "; ".join(known)}
            )
    tiers = {(t.segment, t.tier) for t in icp.tiers}
    for p in personas:
        if (p.segment, p.tier) not in tiers:
            problems_out.append({"claim": f"{p.segment} Tier {p.tier}", "problem": "no such tier in this ICP"})
    if problems_out:
        return SaveDraftsResult(saved=False, version=icp.id, problems=problems_out)
    for p in personas:
        icp.personas = [x for x in icp.personas if (x.segment, x.tier, x.role) != (p.segment, p.tier, p.role)]
        icp.personas.append(
            Persona.model_validate(
                {
                    **p.model_dump(),
                    "tier_name": f"{p.segment} Tier {p.tier}",
                    "drafter": drafter,
                    "model": model,
                    "gaps": [],
                }
            )
        )
    for r in rationales:
        known[r.disqualifier].rationale = " ".join(c.text for c in r.claims)
    icp.drafting = DraftingRecord.model_validate(
        {**icp.drafting.model_dump(), "last_saved_by": drafter, "model": model}
    )
    check_icp_document(icp.model_dump(mode="json"))
    with ws.transaction() as con:
        con.execute("UPDATE icp_versions SET icp = ? WHERE version_id = ?", [icp.model_dump_json(), icp.id])
    return SaveDraftsResult(saved=True, version=icp.id, personas_saved=len(personas), rationales_saved=len(rationales))


def record_drafting(ws: Workspace, icp: IcpDocument, params: RecordDraftingOptions) -> DraftingRecorded:
    """Save a drafter's tier narratives and interview themes into `icp` (each narrative replacing the earlier one
    of its tier, the themes replacing the earlier list when any are given), mark its saved personas with their
    drafter and known gaps, and merge its record (prompt versions, run status) into the drafting section. All or
    nothing: a claim that is not grounded in the version's evidence is a UserError naming it, and nothing is kept."""
    from icp_agent.drafting.grounding import Claim, check_claims
    from icp_agent.evidence import version_items
    from icp_agent.toolkit import check_icp_document

    drafter, model, record = params.drafter, params.model, params.record or {}
    narratives, themes, gaps = params.narratives or [], params.themes or [], params.persona_gaps or []
    claims = [c for n in narratives for c in n.claims] + [c for t in themes for c in t.claims]
    problems = check_claims([Claim(text=c.text, evidence=c.evidence) for c in claims], version_items(ws, icp.id))
    if problems:
        raise UserError(
            f"{len(problems)} drafted claim(s) are not grounded: "
            + "; ".join(f"{p.claim[:80]!r}: {p.problem}" for p in problems[:5]),
            hint="check each claim with the grounding checker before recording it",
        )
    drafted = {n.tier_name for n in narratives}
    icp.narratives = [n for n in icp.narratives if n.tier_name not in drafted] + [
        Narrative.model_validate({**n.model_dump(), "drafter": drafter, "model": model}) for n in narratives
    ]
    if themes:
        icp.themes = [Theme.model_validate({**t.model_dump(), "drafter": drafter, "model": model}) for t in themes]
    persona_gaps = {(g.segment, g.tier, g.role): g.gaps for g in gaps}
    for persona in icp.personas:
        key = (persona.segment, persona.tier, persona.role)
        if key in persona_gaps:
            persona.drafter, persona.model, persona.gaps = drafter, model, persona_gaps[key]
    icp.drafting = DraftingRecord.model_validate(
        {**icp.drafting.model_dump(), **record, "drafter": drafter, "model": model}
    )
    check_icp_document(icp.model_dump(mode="json"))
    with ws.transaction() as con:
        con.execute("UPDATE icp_versions SET icp = ? WHERE version_id = ?", [icp.model_dump_json(), icp.id])
    return DraftingRecorded.of(icp.id, narratives, themes, gaps, record)
