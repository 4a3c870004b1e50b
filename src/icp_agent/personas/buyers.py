"""Phase 4 evidence: who buys in each tier, from contacts on won deals and from interview notes.

The drafters (offline templates or Claude) write personas; this module only counts and
quotes: for each tier and each of the method's five roles, the normalised titles,
seniority and departments of the contacts on that tier's won deals, and the interview
passages from that tier's customers. Every count and quote is an evidence item.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from icp_agent import numbers
from icp_agent.evidence import Ledger
from icp_agent.icp_document import IcpDocument
from icp_agent.personas.titles import department_of, normalise_title, seniority_of
from icp_agent.sql import columns_of
from icp_agent.tiers.criteria import criteria_sql, document_kinds
from icp_agent.untrusted import looks_like_instructions

if TYPE_CHECKING:
    from icp_agent.ingest.links import LinkKey

ROLES = ("champion", "economic buyer", "technical buyer", "end user", "blocker")
# contacts whose file records no buying role: their titles are summarised together
ROLE_UNKNOWN = "contact (buying role not recorded)"
ROLE_SYNONYMS = {
    "champion": "champion",
    "economic buyer": "economic buyer",
    "decision maker": "economic buyer",
    "budget holder": "economic buyer",
    "technical buyer": "technical buyer",
    "evaluator": "technical buyer",
    "technical evaluator": "technical buyer",
    "end user": "end user",
    "user": "end user",
    "blocker": "blocker",
    "gatekeeper": "blocker",
    "influencer": "champion",
}
QUOTE = re.compile(r"[\"“]([^\"”]{12,400})[\"”]")


def role_of(raw: str | None) -> str | None:
    """The buying role a raw contact-role value names (ROLE_SYNONYMS, case and punctuation ignored), or None."""
    if not raw:
        return None
    key = re.sub(r"[^a-z ]", " ", raw.lower()).strip()
    key = re.sub(r"\s+", " ", key)
    return ROLE_SYNONYMS.get(key)


def _top(counter: dict[str, int], total: int, limit: int = 5) -> list[dict]:
    ranked = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return [{"value": value, "n": n, "share": round(n / total, 4)} for value, n in ranked]


def _tier_companies_sql(ws_tables: dict[str, str | None], icp: IcpDocument, segment: str, tier: int) -> str | None:
    """SQL listing (deal_id, company keys) of the frame's rows in the tier: deals, or accounts (of which
    `persona_evidence` keeps the customers)."""
    tiers = [t for t in icp.tiers if t.segment == segment and t.tier == tier]
    if not tiers or not ws_tables.get("frame"):
        return None
    return f"SELECT * FROM {ws_tables['frame']} WHERE {criteria_sql(tiers[0].criteria, document_kinds(icp))}"


def persona_evidence(
    con,
    icp: IcpDocument,
    segment: str,
    tier: int,
    tables: dict[str, str | None],
    ledger: Ledger,
    max_quotes: int = 12,
    keys: dict[tuple[str, str], LinkKey | None] | None = None,
) -> dict:
    """Titles, seniority, departments per buying role for a tier, and interview quotes, with evidence ids.

    Returns {"tier", "roles": {role: {"n", "titles", "seniority", "departments", "evidence", "basis"}},
    "quotes", "notes", "source", "why_none"}. The contacts counted are, in order of preference, those on the
    tier's won deals (the contact names its deal, or the deal names its contact), else the contacts of the
    tier's accounts with a won deal (`source` says which; each statement says so too). When the contacts
    carry no buying role, their titles are summarised under ROLE_UNKNOWN instead of the five roles. When no
    contact can be counted, `why_none` says why (no title column, no link to a deal or company, no contact at
    the tier's good accounts).

    `keys`: the link keys chosen so far ((table, frame) -> key), to share between the tiers of one pass over the
    same frame: each choice counts every candidate key over both tables, and the frame does not change between
    tiers. Leave it out when the frame may have been rebuilt since.
    """
    members = _tier_companies_sql(tables, icp, segment, tier)
    name = f"{segment} Tier {tier}"
    result: dict = {"tier": name, "roles": {}, "quotes": [], "notes": [], "source": None, "why_none": None}
    if members is None:
        result["notes"].append(f"no {name} in this ICP")
        return result
    contacts, frame = tables.get("contacts"), str(tables["frame"])  # a tier's members exist only with a frame
    frame_columns = columns_of(con, frame)
    if "not_customer" in frame_columns:
        # a health frame keeps the accounts that never became customers (leads, prospects) beside the customers:
        # the tier's customers are the others, and only their contacts and interviews speak for the tier
        members = f"SELECT * FROM ({members}) WHERE NOT coalesce(not_customer, FALSE)"
    if contacts:
        found = _contacts_of(con, contacts, tables.get("deals"), members, frame_columns, frame, name, keys)
        result["source"], result["why_none"] = found.source, found.why_none
        by_role: dict[str, list[str | None]] = {}
        for title, raw_role in found.rows:
            role = ROLE_UNKNOWN if not found.has_roles else role_of(raw_role)
            if role:
                by_role.setdefault(role, []).append(title)
        if found.rows and not found.has_roles:
            result["notes"].append(
                f"the contacts carry no buying role: their titles are summarised as "
                f"'{ROLE_UNKNOWN}', and champion, economic buyer, technical buyer, end user and "
                f"blocker cannot be told apart"
            )
        elif found.why_none:
            result["notes"].append(found.why_none)
        for role in ROLES if found.has_roles or not found.rows else (ROLE_UNKNOWN,):
            titles = by_role.get(role, [])
            if not titles:
                result["roles"][role] = {"n": 0}
                continue
            result["roles"][role] = _role_summary(name, role, titles, found.basis, ledger)
    else:
        result["why_none"] = "no contacts imported: titles and buying roles are unknown"
        result["notes"].append(result["why_none"])
    result["quotes"], flagged = _interview_quotes(con, members, frame_columns, name, ledger, max_quotes)
    if flagged:
        result["notes"].append(
            "these notes contain text addressed to an AI (treated as data, never as "
            "instructions): " + ", ".join(flagged)
        )
    return result


def how_often(share: float) -> str:
    """The word for the commonest seniority's share: "mostly" for a majority, "most often" below half."""
    return "mostly" if share >= 0.5 else "most often"


def _role_summary(name: str, role: str, titles: list[str | None], basis: str, ledger: Ledger) -> dict:
    """Counts of normalised titles, seniority and departments of one role's contacts, as an evidence item.

    Shares are of the contacts with a job title (`titled`): a blank title says nothing about seniority, and
    counting it as an individual contributor (the taxonomy's "everyone else") made untitled contacts look junior.
    """
    # each distinct title read once (a few hundred among thousands of contacts), weighted by how many carry it
    titled: dict[str, int] = {}
    for title, n in Counter(titles).items():
        clean = normalise_title(title)
        if clean:
            titled[clean] = titled.get(clean, 0) + n
    n_titled = sum(titled.values())
    counts: dict[str, dict[str, int]] = {"titles": dict(titled), "seniority": {}, "departments": {}}
    for clean, n in titled.items():
        for kind, value in (("seniority", seniority_of(clean)), ("departments", department_of(clean))):
            counts[kind][value] = counts[kind].get(value, 0) + n
    summary: dict[str, Any] = {
        "n": len(titles),
        "titled": n_titled,
        "titles": _top(counts["titles"], n_titled),
        "seniority": _top(counts["seniority"], n_titled, 3),
        "departments": _top(counts["departments"], n_titled, 3),
        "basis": basis,
    }
    who = f"{name} contacts ({ROLE_UNKNOWN})" if role == ROLE_UNKNOWN else f"{name} {role}s"
    if titled:
        shown = ", ".join(f"{t['value']} ({numbers.percent(t['share'], 0)})" for t in summary["titles"][:3])
        level, department = summary["seniority"][0], summary["departments"][0]
        untitled = len(titles) - n_titled
        statement = (
            f"{who}: {numbers.count(len(titles))} {basis}"
            + (f", {numbers.count(n_titled)} with a job title" if untitled else "")
            + f"; most common titles {shown}; {how_often(level['share'])} "
            f"{level['value']} in {department['value']}."
        )
    else:
        statement = f"{who}: {numbers.count(len(titles))} {basis}; none has a job title."
    summary["evidence"] = ledger.add(
        "persona_titles",
        f"{name}|{role}",
        statement,
        summary.copy(),
        n=len(titles),
        query=f"contacts with buying role {role} on won deals of {name}"
        if basis == _Contacts.basis
        else f"{basis}, {name}",
    )
    return summary


@dataclass
class _Contacts:
    """The contacts counted for a tier: (job_title, buying_role) rows, how they were tied to the tier (basis,
    source), whether the file has buying roles, and why none were found."""

    rows: list[tuple] = field(default_factory=list)
    source: str | None = None
    basis: str = "contacts on won deals"
    has_roles: bool = True
    why_none: str | None = None


def _contact_ref(con, deals: str, contact_columns: set[str]) -> str | None:
    """The deals column naming each deal's contact (a contact id such as Zoho's "Contact Name.id"), or None."""
    if "contact_id" not in contact_columns:
        return None
    columns = columns_of(con, deals)
    return next((c for c in sorted(columns) if re.fullmatch(r"(primary_)?contact(_name|_person)?_id", c)), None)


def _key(con, table: str, frame: str, keys: dict[tuple[str, str], LinkKey | None] | None) -> LinkKey | None:
    """links.company_key of `table` to `frame`, from `keys` when this pass chose it already (kept there)."""
    from icp_agent.ingest.links import company_key

    if keys is None:
        return company_key(con, table, frame)
    if (table, frame) not in keys:
        keys[(table, frame)] = company_key(con, table, frame)
    return keys[(table, frame)]


def _contacts_of(
    con,
    contacts: str,
    deals: str | None,
    members: str,
    frame_columns: set[str],
    frame: str | None = None,
    name: str = "this tier",
    keys: dict[tuple[str, str], LinkKey | None] | None = None,
) -> _Contacts:
    contact_columns = columns_of(con, contacts)
    found = _Contacts(has_roles="buying_role" in contact_columns)
    if "job_title" not in contact_columns:
        found.why_none = "the contacts file has no job title column: titles are unknown"
        return found
    if found.has_roles:
        found.has_roles = bool(con.execute(f"SELECT count(buying_role) FROM {contacts}").fetchone()[0])
    role = "p.buying_role" if found.has_roles else "NULL"
    from icp_agent.health.health_score import stage_class

    deal_links = []
    ref = _contact_ref(con, deals, contact_columns) if deals else None
    if "deal_id" in contact_columns and "deal_id" in frame_columns:  # the frame is deals: its won ones
        deal_links.append(f"p.deal_id IN (SELECT deal_id FROM ({members}) WHERE good)")
    elif deals and frame and "deal_id" in contact_columns and "deal_id" in columns_of(con, deals):
        key = _key(con, deals, frame, keys)  # the key chosen by value overlap, as the link report does
        if key:
            deal_links.append(
                f"p.deal_id IN (SELECT d.deal_id FROM {deals} d WHERE "
                f"{stage_class('d.deal_stage')} = 'won' AND {key.expr('d')} IN "
                f"(SELECT {key.company_expr('m')} FROM ({members}) m))"
            )
    if ref and "deal_id" in frame_columns:  # the deal names its contact (Zoho's "Contact Name.id")
        deal_links.append(
            f"p.contact_id IN (SELECT d.{ref} FROM {deals} d WHERE d.deal_id IN "
            f"(SELECT deal_id FROM ({members}) WHERE good))"
        )
    if deal_links:
        found.source = "won deals"
        found.rows = con.execute(
            f"SELECT p.job_title, {role} FROM {contacts} p WHERE {' OR '.join(deal_links)}"
        ).fetchall()
        if found.rows:
            return found
    key = _key(con, contacts, frame, keys) if frame else None
    if key is None:
        found.source = None
        found.why_none = (
            "no contact links to a won deal of this tier"
            if deal_links
            else "no contact links to a deal (the contacts carry no deal id and the deals name no contact)"
        ) + " and none links to a company: titles cannot be tied to the tier"
        return found
    if "deal_id" in frame_columns:  # deals: the accounts with a won deal in the tier
        accounts, found.basis = (
            f"SELECT {key.company_expr('m')} FROM ({members}) m WHERE m.good",
            ("contacts at the tier's accounts with a won deal (contacts are not tied to deals)"),
        )
        found.source = "accounts with a won deal"
    else:  # customers: the tier's customers
        accounts, found.basis = f"SELECT {key.company_expr('m')} FROM ({members}) m", "contacts at the tier's customers"
        found.source = "customers"
    found.rows = con.execute(
        f"SELECT p.job_title, {role} FROM {contacts} p WHERE {key.expr('p')} IN ({accounts})"
    ).fetchall()
    if not found.rows:
        found.why_none = (
            f"no contact links to a won deal of {name}, and no contact works at one of its {found.source}"
            if deal_links
            else f"no contact links to a deal, and no contact works at one of {name}'s {found.source}"
        )
    elif not any(t for t, _ in found.rows):
        found.why_none = f"the contacts at {name}'s {found.source} have no job title"
    return found


def _interview_quotes(
    con, members: str, frame_columns: set[str], name: str, ledger: Ledger, limit: int
) -> tuple[list[dict], list[str]]:
    notes = con.execute("""SELECT doc_id, file_name, title, body FROM interviews WHERE import_id =
                           (SELECT import_id FROM current_snapshot WHERE kind = 'interviews')
                           ORDER BY doc_id""").fetchall()
    if not notes or "company_name" not in frame_columns:
        return [], []
    names = {
        r[0].lower(): r[0]
        for r in con.execute(f"SELECT company_name FROM ({members}) WHERE company_name IS NOT NULL").fetchall()
    }
    companies = set(names)
    quotes: list[dict] = []
    flagged: list[str] = []
    finder = _CompanyFinder(companies)
    for doc_id, file_name, title, body in notes:
        company = finder.company_of(title, file_name, body)
        if company is None:
            continue
        company = names.get(company.lower(), company)
        if looks_like_instructions(body):
            flagged.append(file_name)
        speaker = _interviewee(body)
        for text, said_by, question in note_passages(body):
            if len(quotes) >= limit:
                break
            # the question travels with its answer: "Not at our size." means nothing without "Was price a concern?"
            figures = {"file": file_name, "company": company, "speaker": speaker or said_by, "tier": name}
            if question:
                figures["question"] = question
            evidence = ledger.add(
                "interview_quote", f"{doc_id}|{text[:80]}", text, figures, query=f"interview note {file_name}"
            )
            quotes.append(
                {
                    "quote": text,
                    "question": question,
                    "file": file_name,
                    "company": company,
                    "speaker": speaker or said_by,
                    "evidence": evidence,
                }
            )
    return quotes, flagged


class _CompanyFinder:
    """Which of a tier's companies a note is about: its title ("Interview: Acme — CFO"), else the company named
    in the text or the file name ("2024-acme-corp-cfo.md"), whole words, the longest name first.

    One pattern for all the names, built once per tier: a lookahead at every position finds each name that
    starts there (the longest first), so every named company is seen and the longest wins, as trying the names
    one by one, longest first, would decide, at one scan per note instead of one per company."""

    def __init__(self, companies: set[str]) -> None:
        self.companies = companies
        by_length = sorted(companies, key=lambda c: (-len(c), c))
        self.rank = {c: i for i, c in enumerate(by_length)}
        slugs: dict[str, str] = {}
        for c in by_length:
            slugs.setdefault(re.sub(r"[^\w]+", " ", c).strip(), c)
        slugs.pop("", None)
        self.slug_of = slugs
        self.names = self._pattern(by_length)
        self.slugs = self._pattern(sorted(slugs, key=lambda c: (-len(c), c)))

    @staticmethod
    def _pattern(words: list[str]) -> re.Pattern[str] | None:
        if not words:
            return None
        return re.compile(r"(?=(?<!\w)(" + "|".join(re.escape(w) for w in words) + r")(?!\w))")

    def company_of(self, title: str | None, file_name: str, body: str) -> str | None:
        company = re.split(r"\s+[—–-]\s+", re.sub(r"^\s*interview:\s*", "", title or "", flags=re.I))[0].strip()
        if company.lower() in self.companies:
            return company
        found: set[str] = set()
        if self.names is not None:
            for text in ((title or "").lower(), body.lower()):
                found.update(m[1] for m in self.names.finditer(text))
        if self.slugs is not None:
            found.update(self.slug_of[m[1]] for m in self.slugs.finditer(re.sub(r"[-_.]+", " ", file_name.lower())))
        return min(found, key=self.rank.__getitem__) if found else None


# speakers whose words are questions or metadata, not the customer's
_NOT_CUSTOMER = {
    "q",
    "question",
    "interviewer",
    "moderator",
    "host",
    "researcher",
    "me",
    "we",
    "us",
    "date",
    "interviewee",
    "company",
    "customer since",
    "themes",
    "title",
    "role",
    "attendees",
    "participants",
    "subject",
    "location",
    "duration",
    "status",
    "notes",
    "time",
    "call",
    "meeting",
    "agenda",
    "tags",
}
_LABELLED = re.compile(r"^\s*(?:[-*•>]\s*)?\**(?P<label>[A-Za-z][\w .'&()-]{0,40}?)\**\s*:\s*\**\s*(?P<text>.+)$")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+(?P<text>.+)$")


# the asking side of a transcript: its lines are questions when they ask one ("Interviewer: Lumenfold research" is not)
_ASKER = {"q", "question", "interviewer", "moderator", "host", "researcher", "me", "we", "us"}


def _questions(body: str) -> list[tuple[int, int, str | None]]:
    """The questions of a note as (start, end, text) character spans, in order; a heading that asks nothing is
    (start, end, None): it closes the previous question's topic.

    A question is a line labelled by the asking side ("Q:", "**Q: ...?**", "Interviewer: ...?") or an unlabelled
    line (a heading, a bold line) that ends with "?"."""
    out: list[tuple[int, int, str | None]] = []
    offset = 0
    for line in body.splitlines(keepends=True):
        start, offset = offset, offset + len(line)
        match = _LABELLED.match(line)
        if match and match["label"].strip().lower() in _ASKER:
            text = _clean(match["text"])
            if match["label"].strip().lower() in ("q", "question") or "?" in text:
                out.append((start, offset, text))
        elif not match:
            text = _clean(line.strip().lstrip("#").strip())
            if text.endswith("?"):
                out.append((start, offset, text))
            elif line.lstrip().startswith("#"):
                out.append((start, offset, None))
    return out


def _question_before(questions: list[tuple[int, int, str | None]], position: int) -> str | None:
    before = [q for q in questions if q[1] <= position]
    return before[-1][2] if before else None


def note_passages(body: str) -> list[tuple[str, str | None, str | None]]:
    """Verbatim passages of one interview note, whatever its format: (text, speaker or None, question or None).

    In order: text in quotation marks; else the answers and the customer's lines of a transcript ("A:",
    "Customer:", "Dana (CFO):"; never "Q:", "Interviewer:" or metadata such as "Date:"); else bullet
    points; else the sentences of plain paragraphs (at least six words). The question is the last one asked
    above the passage ("Q: ...", "Interviewer: ...?", a heading or bold line ending in "?"), so an answer such
    as "Not at our size." keeps the "Was price a concern?" it answers; a heading without a question ends it.
    Quoted text inside a question line is part of the question, never a quote.
    """
    questions = _questions(body)
    inside_question = [(s, e) for s, e, text in questions if text]
    quoted = [m for m in QUOTE.finditer(body) if not any(s <= m.start() < e for s, e in inside_question)]
    if quoted:
        return [(m[1], None, _question_before(questions, m.start())) for m in quoted]
    out: list[tuple[str, str | None, str | None]] = []
    offset = 0
    for line in body.splitlines(keepends=True):
        start, offset = offset, offset + len(line)
        match = _LABELLED.match(line)
        if not match:
            continue
        label = match["label"].strip().lower()
        text = _clean(match["text"])
        if label in _NOT_CUSTOMER or len(text) < 12 or len(text.split()) < 3:
            continue
        out.append(
            (
                text,
                None if label in ("a", "answer", "customer", "client", "interviewee") else match["label"].strip(),
                _question_before(questions, start),
            )
        )
    if out:
        return out
    bullets: list[tuple[str, str | None, str | None]] = []
    offset = 0
    for line in body.splitlines(keepends=True):
        start, offset = offset, offset + len(line)
        if (
            (m := _BULLET.match(line))
            and len(_clean(m["text"]).split()) >= 4
            and not _LABELLED.match(_clean(m["text"]))
        ):
            bullets.append((_clean(m["text"]), None, _question_before(questions, start)))
    if bullets:
        return bullets
    prose = " ".join(
        line
        for line in body.splitlines()
        if line.strip() and not line.lstrip().startswith("#") and not _LABELLED.match(line)
    )
    sentences: list[tuple[str, str | None, str | None]] = [
        (s.strip(), None, None) for s in re.split(r"(?<=[.!?])\s+", prose) if len(s.split()) >= 6
    ]
    return sentences[:20]


def note_quotes(body: str) -> list[tuple[str, str | None]]:
    """note_passages without the questions: (text, speaker or None)."""
    return [(text, speaker) for text, speaker, _ in note_passages(body)]


def _clean(text: str) -> str:
    return text.strip().strip("*_").strip().strip('"“”').strip()


def _interviewee(body: str) -> str | None:
    match = re.search(r"interviewee:\s*([^\n]+)", body, flags=re.I)
    return match.group(1).strip().rstrip() if match else None
