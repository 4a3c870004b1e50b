"""Drafting every prose artefact of an ICP version offline, from its evidence, and grounding it."""

from __future__ import annotations

from icp_agent.evidence import Ledger
from icp_agent.faces.assistant.drafters import (
    OFFLINE_DRAFTER,
    OFFLINE_VERSION,
    draft_personas,
    draft_rationales,
    draft_themes,
    draft_tier_narratives,
    ground,
)
from icp_agent.models import DraftingRecord, IcpDocument, Narrative, Persona, Theme
from icp_agent.personas.buyers import persona_evidence
from icp_agent.untrusted import looks_like_instructions


def tier_tables(ws, con, icp: IcpDocument) -> dict[str, str | None]:
    return {"frame": f"frame_{icp.id.replace('-', '_')}", "contacts": ws.current_table(con, "contacts"),
            "deals": ws.current_table(con, "deals")}


def notes_with_instructions(con) -> list[str]:
    """Interview notes whose text addresses an AI: reported in the document, never obeyed."""
    rows = con.execute("""SELECT file_name, body FROM interviews WHERE import_id =
                          (SELECT import_id FROM current_snapshot WHERE kind = 'interviews') ORDER BY file_name""").fetchall()
    return [name for name, body in rows if looks_like_instructions(body)]


def draft_offline(ws, con, icp: IcpDocument, ledger: Ledger) -> None:
    """Fill personas, rationales, narratives and themes with cited template prose (in place)."""
    tables = tier_tables(ws, con, icp)
    personas, quotes = [], []
    for tier in icp.tiers:
        found = persona_evidence(con, icp, tier.segment, tier.tier, tables, ledger)
        personas += draft_personas(found, {"segment": tier.segment, "tier": tier.tier,
                                           "name": f"{tier.segment} Tier {tier.tier}"})
        quotes += found["quotes"]
    rationales = draft_rationales(icp)
    narratives = draft_tier_narratives(icp, ledger.items)
    themes = draft_themes(quotes)
    problems = []
    for drafts in (personas, rationales, narratives, themes):
        _, found = ground(drafts, ledger.items)
        problems += found
    for persona in personas:
        persona.update(drafter=OFFLINE_DRAFTER, model=None)
    icp.personas = [Persona.model_validate(p) for p in personas]
    for disqualifier, rationale in zip(icp.negative_icp, rationales):
        disqualifier.rationale = " ".join(c["text"] for c in rationale["claims"]) or None
    icp.narratives = [Narrative.model_validate(n) for n in narratives]
    icp.themes = [Theme.model_validate(t) for t in themes]
    icp.drafting = DraftingRecord.model_validate({"drafter": OFFLINE_DRAFTER, "version": OFFLINE_VERSION,
                                                  "model": None, "dropped_claims": [p.model_dump() for p in problems],
                                                  "notes_with_instructions": notes_with_instructions(con)})
