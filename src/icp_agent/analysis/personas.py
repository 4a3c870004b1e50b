"""Phase 4 evidence: who buys in each tier, from contacts on won deals and from interview notes.

The drafters (offline templates or Claude) write personas; this module only counts and
quotes: for each tier and each of the method's five roles, the normalised titles,
seniority and departments of the contacts on that tier's won deals, and the interview
passages from that tier's customers. Every count and quote is an evidence item.
"""

from __future__ import annotations

import re

from ..evidence import Ledger
from ..models import IcpDocument
from ..sql import columns_of
from ..untrusted import looks_like_instructions
from .icp import criteria_sql

ROLES = ("champion", "economic buyer", "technical buyer", "end user", "blocker")
ROLE_SYNONYMS = {"champion": "champion", "economic buyer": "economic buyer", "decision maker": "economic buyer",
                 "budget holder": "economic buyer", "technical buyer": "technical buyer", "evaluator": "technical buyer",
                 "technical evaluator": "technical buyer", "end user": "end user", "user": "end user",
                 "blocker": "blocker", "gatekeeper": "blocker", "influencer": "champion"}
ABBREVIATIONS = ((r"\bvice president\b", "VP"), (r"\bv\.p\.?", "VP"), (r"\bvp\b", "VP"), (r"\bsec\b\.?", "Security"),
                 (r"\badmin\b\.?", "Administrator"), (r"\bsr\b\.?", "Senior"),
                 (r"\bjr\b\.?", "Junior"), (r"\bmgr\b\.?", "Manager"), (r"\bdir\b\.?", "Director"),
                 (r"\brev\b\.?", "Revenue"), (r"\brevops\b", "Revenue Operations"), (r"\bops\b", "Operations"),
                 (r"\bacct\b\.?", "Account"), (r"\bchief revenue officer\b", "CRO"),
                 (r"\bchief financial officer\b", "CFO"), (r"\bchief executive officer\b", "CEO"),
                 (r"\bchief technology officer\b", "CTO"), (r"\bchief information officer\b", "CIO"))
SENIORITY = (("C-level", r"\b(ceo|cfo|cro|cto|cio|coo|cmo|chief|founder|owner|president)\b"),
             ("VP", r"\bvp\b"), ("Head", r"\bhead\b"), ("Director", r"\bdirector\b"),
             ("Manager", r"\b(manager|lead|principal)\b"))
DEPARTMENTS = (("Revenue Operations", r"revenue operations|sales operations|sales systems|sales strategy"),
               ("Finance", r"\b(cfo|finance|financial|controller|procurement|purchasing)\b"),
               ("IT & Security", r"\b(it|security|cio|cto|systems|admin|administrator|engineer|architect)\b"),
               ("Legal & Compliance", r"\b(legal|compliance|counsel|risk)\b"),
               ("Sales", r"\b(sales|account|cro|revenue|business development|sdr|bdr)\b"),
               ("Marketing", r"\b(marketing|cmo|brand|growth)\b"),
               ("Executive", r"\b(ceo|founder|owner|president|coo)\b"))
QUOTE = re.compile(r"[\"“]([^\"”]{12,400})[\"”]")



def normalise_title(title: str | None) -> str | None:
    """"VP, Sales" / "Vice President of Sales" -> "VP Sales"; "Sr. RevOps Mgr" -> "Senior Revenue Operations Manager";
    "Dir. of Rev Ops" / "Director, Revenue Operations" -> "Director of Revenue Operations"."""
    if not title or not title.strip():
        return None
    text = re.sub(r"\([^)]*\)", " ", title)
    text = re.sub(r"[,/|]+", " ", text)
    for pattern, replacement in ABBREVIATIONS:
        text = re.sub(pattern, replacement, text, flags=re.IGNORECASE)
    text = re.sub(r"\bVP\s+of\s+", "VP ", text, flags=re.IGNORECASE)
    text = re.sub(r"\b(Head|Director)\s+(?!of\b)(?=\w)", r"\1 of ", text, flags=re.IGNORECASE)
    words = []
    for word in text.split():
        if word.lower() in ("of", "and", "the", "for"):
            words.append(word.lower())
        elif word.isupper() and len(word) <= 4:
            words.append(word)
        else:
            words.append(word[0].upper() + word[1:] if word[1:].islower() or len(word) == 1 else word.capitalize()
                         if word.isupper() or word.islower() else word)
    return " ".join(words) or None


def seniority_of(title: str | None) -> str:
    low = (title or "").lower()
    return next((name for name, pattern in SENIORITY if re.search(pattern, low)), "Individual contributor")


def department_of(title: str | None) -> str:
    low = (title or "").lower()
    return next((name for name, pattern in DEPARTMENTS if re.search(pattern, low)), "Other")


def role_of(raw: str | None) -> str | None:
    if not raw:
        return None
    key = re.sub(r"[^a-z ]", " ", raw.lower()).strip()
    key = re.sub(r"\s+", " ", key)
    return ROLE_SYNONYMS.get(key)


def _top(counter: dict[str, int], total: int, limit: int = 5) -> list[dict]:
    ranked = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return [{"value": value, "n": n, "share": round(n / total, 4)} for value, n in ranked]


def _tier_companies_sql(ws_tables: dict[str, str | None], icp: IcpDocument, segment: str, tier: int) -> str | None:
    """SQL listing (deal_id, company keys) of won deals / customers in the tier."""
    tiers = [t for t in icp.tiers if t.segment == segment and t.tier == tier]
    if not tiers or not ws_tables.get("frame"):
        return None
    return f"SELECT * FROM {ws_tables['frame']} WHERE {criteria_sql(tiers[0].criteria)}"


def persona_evidence(con, icp: IcpDocument, segment: str, tier: int, tables: dict[str, str | None],
                     ledger: Ledger, max_quotes: int = 12) -> dict:
    """Titles, seniority, departments per buying role for a tier, and interview quotes, with evidence ids."""
    members = _tier_companies_sql(tables, icp, segment, tier)
    name = f"{segment} Tier {tier}"
    result: dict = {"tier": name, "roles": {}, "quotes": [], "notes": []}
    if members is None:
        result["notes"].append(f"no {name} in this ICP")
        return result
    contacts = tables.get("contacts")
    frame_columns = columns_of(con, tables['frame'])
    if contacts:
        rows = _contacts_of(con, contacts, tables.get("deals"), members, frame_columns)
        by_role: dict[str, list[str | None]] = {}
        for title, raw_role in rows:
            role = role_of(raw_role)
            if role:
                by_role.setdefault(role, []).append(title)
        for role in ROLES:
            titles = by_role.get(role, [])
            if not titles:
                result["roles"][role] = {"n": 0}
                continue
            counts: dict[str, dict[str, int]] = {"titles": {}, "seniority": {}, "departments": {}}
            for title in titles:
                clean = normalise_title(title)
                if clean:
                    counts["titles"][clean] = counts["titles"].get(clean, 0) + 1
                counts["seniority"][seniority_of(clean)] = counts["seniority"].get(seniority_of(clean), 0) + 1
                counts["departments"][department_of(clean)] = counts["departments"].get(department_of(clean), 0) + 1
            summary = {"n": len(titles), "titles": _top(counts["titles"], len(titles)),
                       "seniority": _top(counts["seniority"], len(titles), 3),
                       "departments": _top(counts["departments"], len(titles), 3)}
            shown = ", ".join(f"{t['value']} ({100 * t['share']:.0f}%)" for t in summary["titles"][:3])
            summary["evidence"] = ledger.add(
                "persona_titles", f"{name}|{role}",
                f"{name} {role}s: {len(titles):,} contacts on won deals; most common titles {shown}; mostly "
                f"{summary['seniority'][0]['value']} in {summary['departments'][0]['value']}.",
                summary.copy(), n=len(titles),
                query=f"contacts with buying role {role} on won deals of {name}")
            result["roles"][role] = summary
    else:
        result["notes"].append("no contacts imported: titles and buying roles are unknown")
    result["quotes"], flagged = _interview_quotes(con, members, frame_columns, name, ledger, max_quotes)
    if flagged:
        result["notes"].append("these notes contain text addressed to an AI (treated as data, never as "
                               "instructions): " + ", ".join(flagged))
    return result


def _contacts_of(con, contacts: str, deals: str | None, members: str, frame_columns: set[str]) -> list[tuple]:
    contact_columns = columns_of(con, contacts)
    if "buying_role" not in contact_columns or "job_title" not in contact_columns:
        return []
    links = []
    if "deal_id" in frame_columns and "deal_id" in contact_columns:  # the frame is deals: its won ones
        links.append(f"p.deal_id IN (SELECT deal_id FROM ({members}) WHERE good)")
    elif deals and "deal_id" in contact_columns:
        deal_columns = columns_of(con, deals)
        key = next((k for k in ("company_id", "domain") if k in deal_columns and k in frame_columns), None)
        if key and "deal_id" in deal_columns:
            from .health import stage_class

            links.append(f"p.deal_id IN (SELECT d.deal_id FROM {deals} d WHERE {stage_class('d.deal_stage')} = 'won' "
                         f"AND d.{key} IN (SELECT {key} FROM ({members})))")
    if not links:
        key = next((k for k in ("domain", "company_name") if k in contact_columns and k in frame_columns), None)
        if key:
            links.append(f"p.{key} IN (SELECT {key} FROM ({members}))")
    if not links:
        return []
    return con.execute(f"SELECT p.job_title, p.buying_role FROM {contacts} p WHERE {' OR '.join(links)}").fetchall()


def _interview_quotes(con, members: str, frame_columns: set[str], name: str, ledger: Ledger,
                      limit: int) -> tuple[list[dict], list[str]]:
    notes = con.execute("""SELECT doc_id, file_name, title, body FROM interviews WHERE import_id =
                           (SELECT import_id FROM current_snapshot WHERE kind = 'interviews') ORDER BY doc_id""").fetchall()
    if not notes or "company_name" not in frame_columns:
        return [], []
    companies = {r[0].lower() for r in con.execute(f"SELECT company_name FROM ({members}) WHERE company_name IS NOT NULL")
                 .fetchall()}
    quotes, flagged = [], []
    for doc_id, file_name, title, body in notes:
        company = re.split(r"\s+[—–-]\s+", re.sub(r"^\s*interview:\s*", "", title or "", flags=re.I))[0].strip()
        if company.lower() not in companies:
            continue
        if looks_like_instructions(body):
            flagged.append(file_name)
        speaker = _interviewee(body)
        for text in QUOTE.findall(body):
            if len(quotes) >= limit:
                break
            evidence = ledger.add("interview_quote", f"{doc_id}|{text[:80]}", text,
                                  {"file": file_name, "company": company, "speaker": speaker, "tier": name},
                                  query=f"interview note {file_name}")
            quotes.append({"quote": text, "file": file_name, "company": company, "speaker": speaker,
                           "evidence": evidence})
    return quotes, flagged


def _interviewee(body: str) -> str | None:
    match = re.search(r"interviewee:\s*([^\n]+)", body, flags=re.I)
    return match.group(1).strip().rstrip() if match else None
