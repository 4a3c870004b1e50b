"""The offline drafter: every prose artefact of an ICP version written from its evidence, no model needed.

Personas, negative-ICP rationale, tier narratives and interview themes are written through the jinja2
templates in drafting/templates/offline.j2: plain, correct, cited. Every claim then goes through the
grounding checker (drafting/grounding.py), the same one that guards Claude's drafts and drafts saved by
any MCP client; a claim that fails is dropped and reported, never shipped silently. Nothing written here
changes a score, a tier, a criterion or a disqualifier.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from icp_agent import numbers
from icp_agent.drafting.grounding import Problem, ground
from icp_agent.evidence import EvidenceItem, Ledger
from icp_agent.icp_document import DraftingRecord, IcpDocument, Narrative, Persona, Theme
from icp_agent.personas.buyers import ROLES, how_often, persona_evidence
from icp_agent.untrusted import looks_like_instructions

OFFLINE_DRAFTER = "offline-templates"
OFFLINE_VERSION = "1"
SECTIONS = {
    "objections": r"\b(price|pricing|expensive|cost|per login|per seat|risk|concern|worried|security review|"
    r"not sure|hesitant|push ?back)\b",
    "pains": r"\b(manual|spreadsheet|frustrat|hard to|struggl|pain|blind|guess|chas|too long|late|messy|errors?)\b",
    "how_they_buy": r"\b(trial|pilot|procurement|contract|approval|approve|budget|sign[- ]off|legal|rfp|vendor)\b",
    "where_they_research": r"\b(g2|peer|peers|community|linkedin|webinar|analyst|gartner|referr|podcast|slack group|"
    r"newsletter|conference)\b",
    "goals": r"\b(want|need|goal|visibility|accura|forecast|faster|save|grow|scale|audit|compliance|confidence)\b",
}


@lru_cache(maxsize=1)
def _macros():
    env = Environment(
        loader=PackageLoader("icp_agent.drafting", "templates"), undefined=StrictUndefined, autoescape=False
    )
    env.filters.update(
        num=numbers.count, pct=numbers.percent, lift=numbers.ratio, how_often=how_often
    )  # as the document's templates spell figures, and the evidence words a seniority's share
    return env.get_template("offline.j2").module


def _role_of_speaker(speaker: str | None) -> str | None:
    match = re.search(r"\(([^)]+)\)", speaker or "")
    return match.group(1).strip().lower() if match else None


def _section_of(text: str) -> str:
    low = text.lower()
    return next((name for name, pattern in SECTIONS.items() if re.search(pattern, low)), "goals")


def draft_personas(evidence_for_tier: dict, tier: dict) -> list[dict[str, Any]]:
    """One persona per buying role of a tier, from its title counts and interview quotes."""
    macros = _macros()
    personas = []
    quotes_by_role: dict[str, list[dict]] = {}
    for q in evidence_for_tier.get("quotes", []):
        quotes_by_role.setdefault(_role_of_speaker(q.get("speaker")) or "", []).append(q)
    roles = list(evidence_for_tier["roles"]) or list(ROLES)
    why = evidence_for_tier.get("why_none")
    for role in roles:
        summary = evidence_for_tier["roles"].get(role, {"n": 0})
        claims, gaps = [], []
        if summary.get("n"):
            claims.append(
                {
                    "section": "who",
                    "text": str(macros.who(tier["name"], role, summary)),
                    "evidence": [summary["evidence"]],
                }
            )
            if summary.get("seniority"):  # none when no contact has a job title
                claims.append(
                    {"section": "who", "text": str(macros.seniority(role, summary)), "evidence": [summary["evidence"]]}
                )
        else:
            gaps.append(
                f"no contacts with the buying role {role}: {why}"
                if why
                else f"no contacts with the buying role {role} on this tier's won deals"
            )
        if role not in ROLES:
            gaps.append(
                "the contacts carry no buying role: champion, economic buyer, technical buyer, end user "
                "and blocker cannot be told apart"
            )
        for q in quotes_by_role.get(role, []):
            claims.append(
                {"section": _section_of(q["quote"]), "text": str(macros.quote(q)), "evidence": [q["evidence"]]}
            )
        covered = {c["section"] for c in claims}
        gaps += [f"no interview evidence on {name.replace('_', ' ')} yet" for name in SECTIONS if name not in covered]
        personas.append(
            {
                "segment": tier["segment"],
                "tier": tier["tier"],
                "tier_name": tier["name"],
                "role": role,
                "title_patterns": [t["value"] for t in summary.get("titles", [])],
                "claims": claims,
                "gaps": gaps,
            }
        )
    return personas


def draft_rationales(icp: IcpDocument) -> list[dict[str, Any]]:
    """Offline (template) rationale for each disqualifier: one claim citing the disqualifier's evidence ids,
    as save_drafts' rationales (dicts with disqualifier and claims).
    """
    macros = _macros()
    group = {
        "health": "customers are in the bottom 20% by health",
        "won": "deals were lost",
        "column": f"customers are {icp.health.bad_words or 'bad'}",
    }[icp.health.definition]
    out = []
    for d in icp.negative_icp:
        labels = " AND ".join(c.label for c in d.criteria)
        out.append(
            {
                "disqualifier": labels,
                "claims": [
                    {
                        "section": "rationale",
                        "text": str(macros.rationale(labels, d.metrics, group)),
                        "evidence": list(d.evidence),
                    }
                ],
            }
        )
    return out


def draft_tier_narratives(icp: IcpDocument, evidence: dict[str, EvidenceItem]) -> list[dict[str, Any]]:
    """Offline (template) narrative per tier from the statement of the tier's first evidence item, citing it
    (dicts with tier_name and claims, as record_drafting's narratives).
    """
    macros = _macros()
    return [
        {
            "tier_name": t.name,
            "claims": [
                {
                    "section": "narrative",
                    "text": str(macros.tier_narrative(evidence[t.evidence[0]].statement)),
                    "evidence": [t.evidence[0]],
                }
            ],
        }
        for t in icp.tiers
        if t.evidence
    ]


_STOPWORD_TEXT = """a about above after again against all also am an and any are as at be because been before
being below between both but by can could did do does doing down during each even every few for from further had has
have having he her here hers him his how i if in into is it its itself just least less like made make many may me
more most much must my no nor not now of off on once one only or other our ours out over own per really same she
should so some still such than that the their them then there these they this those through thing things to too
under until up us very was we were what when where which while who whom why will with would you your yours yes
said say says get got going go went lot lots way well want wanted team teams company companies customer customers
time year years month months week weeks day days people everyone nobody anything something nothing"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def _terms(text: str) -> set[str]:
    """Meaningful words (4+ letters, not stop words) and two-word phrases of a quote."""
    words = list(re.findall(r"[a-z][a-z'-]+", text.lower()))
    kept = [w for w in words if len(w) >= 4 and w not in _STOPWORDS]
    pairs = {
        f"{a} {b}"
        for a, b in itertools.pairwise(words)
        if a not in _STOPWORDS and b not in _STOPWORDS and len(a) >= 3 and len(b) >= 3
    }
    return set(kept) | pairs


def draft_themes(quotes: list[dict], max_themes: int = 6) -> list[dict[str, Any]]:
    """Interview themes from the notes themselves: the terms and two-word phrases most quotes share
    (document frequency >= 2, a phrase preferred over its words), each with its verbatim quotes
    (deduplicated across tiers; a quote goes to the first theme it mentions)."""
    macros = _macros()
    seen: set[str] = set()
    unique = []
    for q in quotes:
        if q["evidence"] not in seen:
            seen.add(q["evidence"])
            unique.append(q)
    terms = [_terms(q["quote"]) for q in unique]
    frequency: dict[str, int] = {}
    for found in terms:
        for term in found:
            frequency[term] = frequency.get(term, 0) + 1
    ranked = sorted((t for t, n in frequency.items() if n >= 2), key=lambda t: (-frequency[t], -(" " in t), t))
    chosen: list[str] = []
    for term in ranked:
        if len(chosen) >= max_themes:
            break
        if any(term in c.split() or c in term.split() or term == c for c in chosen):
            continue  # "pipeline" next to "pipeline visibility": one theme
        chosen.append(term)
    themes: dict[str, list[dict]] = {}
    for q, found in zip(unique, terms):
        theme = next((t for t in chosen if t in found), None)
        if theme:
            themes.setdefault(theme.capitalize(), []).append(
                {"section": "theme", "text": str(macros.quote(q)), "evidence": [q["evidence"]]}
            )
    return [{"theme": name, "claims": claims} for name, claims in themes.items()]


def tier_tables(ws, con, icp: IcpDocument) -> dict[str, str | None]:
    """The tables offline drafting reads: the version's frame and the current contacts and deals (None when absent)."""
    return {
        "frame": f"frame_{icp.id.replace('-', '_')}",
        "contacts": ws.current_table(con, "contacts"),
        "deals": ws.current_table(con, "deals"),
    }


def notes_with_instructions(con) -> list[str]:
    """Interview notes whose text addresses an AI: reported in the document, never obeyed."""
    rows = con.execute("""SELECT file_name, body FROM interviews WHERE import_id =
                          (SELECT import_id FROM current_snapshot WHERE kind = 'interviews') ORDER BY file_name""").fetchall()
    return [name for name, body in rows if looks_like_instructions(body)]


def draft_offline(ws, con, icp: IcpDocument, ledger: Ledger, drafted: Callable[[], None] = lambda: None) -> None:
    """Fill personas, rationales, narratives and themes with cited template prose (in place). `drafted()` is called
    after each tier's personas (their evidence queries are most of the time: progress counts tiers)."""
    tables = tier_tables(ws, con, icp)
    personas, quotes = [], []
    keys: dict = {}  # the link keys to the frame, chosen once for every tier
    for tier in icp.tiers:
        found = persona_evidence(con, icp, tier.segment, tier.tier, tables, ledger, keys=keys)
        personas += draft_personas(
            found, {"segment": tier.segment, "tier": tier.tier, "name": f"{tier.segment} Tier {tier.tier}"}
        )
        quotes += found["quotes"]
        drafted()
    rationales = draft_rationales(icp)
    narratives = draft_tier_narratives(icp, ledger.items)
    themes = draft_themes(quotes)
    problems: list[Problem] = []
    for drafts in (personas, rationales, narratives, themes):
        problems += ground(drafts, ledger.items)[1]
    for persona in personas:
        persona.update(drafter=OFFLINE_DRAFTER, model=None)
    icp.personas = [Persona.model_validate(p) for p in personas]
    for disqualifier, rationale in zip(icp.negative_icp, rationales):
        disqualifier.rationale = " ".join(c["text"] for c in rationale["claims"]) or None
    icp.narratives = [Narrative.model_validate(n) for n in narratives]
    icp.themes = [Theme.model_validate(t) for t in themes]
    icp.drafting = DraftingRecord.model_validate(
        {
            "drafter": OFFLINE_DRAFTER,
            "version": OFFLINE_VERSION,
            "model": None,
            "dropped_claims": [p.model_dump() for p in problems],
            "notes_with_instructions": notes_with_instructions(con),
        }
    )
