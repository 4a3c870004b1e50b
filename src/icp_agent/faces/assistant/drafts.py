"""Claude's drafts: cited prose parsed into claims, and each claim through the grounding checker.

A reply in the draft markup (`## Kind: target` headings, `### Section` subheadings, `Titles:` and `Gap:` lines)
becomes claims, one per sentence, each with the evidence ids its citations (or inline ids) point at.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from icp_agent.drafting.grounding import Claim, check_claims
from icp_agent.evidence import EvidenceItem
from icp_agent.faces.assistant.bridge import SOURCE

KINDS = ("summary", "narrative", "rationale", "persona", "theme")
HEADING = re.compile(
    r"^#{1,2}\s*\**\s*(summary|narrative|rationale|persona|theme)\s*[:\-–—]\s*(.+?)\**\s*$", re.IGNORECASE
)
SUBHEADING = re.compile(r"^#{3,}\s*\**\s*(.+?)\s*:?\**\s*$")
TITLES = re.compile(r"^(?:[-*]\s*)?\**titles?\**\s*:\s*(.+)$", re.IGNORECASE)
GAP = re.compile(r"^(?:[-*]\s*)?\**gaps?\**\s*:\s*(.+)$", re.IGNORECASE)
BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
INLINE_ID = re.compile(r"\bE[0-9a-f]{8}\b")
BRACKETED_IDS = re.compile(r"\s*[\[(](?:\s*E[0-9a-f]{8}\s*[,;]?)+[\])]")
ABBREVIATIONS = {"e.g", "i.e", "vs", "etc", "approx", "incl", "no", "dr", "mr", "ms", "jr", "sr", "inc", "ltd", "co"}
SECTIONS = {
    "who": "who",
    "goals": "goals",
    "pains": "pains",
    "objections": "objections",
    "how they buy": "how_they_buy",
    "where they research": "where_they_research",
}
DEFAULT_SECTION = {
    "summary": "summary",
    "narrative": "narrative",
    "rationale": "rationale",
    "persona": "who",
    "theme": "theme",
}


@dataclass
class Claimed:
    """One sentence of a draft, where it sits, and the evidence ids it cites."""

    kind: str
    target: str
    section: str
    text: str
    evidence: list[str]

    @property
    def where(self) -> str:
        """Where the claim sits, for a reader: "Kind: target / section"."""
        return f"{self.kind.title()}: {self.target} / {self.section.replace('_', ' ')}"

    def key(self) -> tuple[str, str, str, str]:
        """Identity of a claim (kind, target lower-cased, section, text): the same claim sent twice counts once."""
        return self.kind, self.target.lower(), self.section, self.text


@dataclass
class Draft:
    """The claims of one reply (or of a reply and its repair), with the titles and gaps listed per target."""

    claims: list[Claimed] = field(default_factory=list)
    titles: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    gaps: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def without(self, refused: Iterable[Claimed]) -> Draft:
        """This draft less the refused claims (matched by identity); titles and gaps kept."""
        drop = {id(c) for c in refused}
        return Draft([c for c in self.claims if id(c) not in drop], self.titles, self.gaps)

    def merged(self, repair: Draft) -> Draft:
        """The first draft's passing claims plus the repaired ones (a claim sent twice counts once)."""
        seen = {c.key() for c in self.claims}
        claims = self.claims + [c for c in repair.claims if c.key() not in seen]
        titles = {**self.titles, **repair.titles}
        gaps = {
            k: list(dict.fromkeys(self.gaps.get(k, []) + repair.gaps.get(k, []))) for k in {*self.gaps, *repair.gaps}
        }
        return Draft(claims, titles, gaps)

    def of(self, kind: str) -> dict[str, list[Claimed]]:
        """The claims of one kind grouped by target, in draft order."""
        grouped: dict[str, list[Claimed]] = {}
        for claim in self.claims:
            if claim.kind == kind:
                grouped.setdefault(claim.target, []).append(claim)
        return grouped


def _text_and_citations(content: Iterable[Any]) -> tuple[str, list[tuple[int, int, list[str]]]]:
    """The reply's text blocks joined, with the character span each cited block covers and what it cites."""
    text, spans = "", []
    for block in content:
        block = block if isinstance(block, dict) else block.to_dict()
        if block.get("type") != "text":
            continue
        start = len(text)
        text += block["text"]
        sources = [
            c["source"].removeprefix(SOURCE)
            for c in block.get("citations") or []
            if c.get("type") == "search_result_location"
        ]
        if sources:
            spans.append((start, len(text), sources))
    return text, spans


def _sentences(line: str) -> list[tuple[int, int]]:
    """Sentence spans of one line; never splits inside a quotation, after an abbreviation or inside a number."""
    spans, start, quoted, i = [], 0, False, 0
    while i < len(line):
        ch = line[i]
        if ch in '"“”':
            closing = quoted and ch != "“"
            quoted = not closing
            if closing and line[i - 1] in ".!?" and (i + 1 == len(line) or line[i + 1] == " "):
                spans.append((start, i + 1))  # a quotation that ends its sentence
                start = i + 1
        elif ch in ".!?" and not quoted:
            end = i + 1
            while end < len(line) and line[end] in "\"”')]":
                end += 1
            word = re.search(r"([\w.]+)$", line[start:i])
            if (end == len(line) or line[end] == " ") and not (word and word.group(1).lower() in ABBREVIATIONS):
                spans.append((start, end))
                start = end
            i = end
            continue
        i += 1
    spans.append((start, len(line)))
    for k in range(len(spans) - 1, 0, -1):  # "... worked." (E1234abcd): an id after the full stop is the sentence's
        if BRACKETED_IDS.fullmatch(line[spans[k][0] : spans[k][1]].rstrip(". ")):
            spans[k - 1 : k + 1] = [(spans[k - 1][0], spans[k][1])]
    return [(s + len(line[s:e]) - len(line[s:e].lstrip()), e) for s, e in spans if re.search(r"[A-Za-z]", line[s:e])]


def parse_draft(content: Iterable[Any], kinds: Iterable[str] = KINDS) -> Draft:
    """Claims from a reply in the draft markup: every sentence under a `## Kind: target` heading of an expected
    kind, with the evidence its citations (or inline ids) point at. Text under other headings is ignored."""
    text, spans = _text_and_citations(content)
    wanted = set(kinds)
    draft, kind, target, section, pos = Draft(), None, "", "", 0
    for line in text.split("\n"):
        start, pos = pos, pos + len(line) + 1
        stripped = line.strip()
        if not stripped:
            continue
        if heading := HEADING.match(stripped):
            kind, target = heading.group(1).lower(), heading.group(2).strip().strip("`*").strip()
            kind = kind if kind in wanted else None
            section = DEFAULT_SECTION.get(kind or "", "")
            continue
        if stripped.startswith("#"):
            if (sub := SUBHEADING.match(stripped)) and kind:
                name = sub.group(1).strip("*` ").lower()
                section = SECTIONS.get(name, re.sub(r"\W+", "_", name).strip("_"))
            elif not stripped.startswith("###"):
                kind = None  # another `#`/`##` heading ends the draft section: its text is not a claim
            continue
        if kind is None:
            continue
        if titles := TITLES.match(stripped):
            draft.titles[(kind, target)] = [t.strip(" `*") for t in re.split(r"[;|]", titles.group(1)) if t.strip(" .")]
            continue
        if gap := GAP.match(stripped):
            draft.gaps.setdefault((kind, target), []).append(
                f"{section.replace('_', ' ')}: {gap.group(1).strip()}" if kind == "persona" else gap.group(1).strip()
            )
            continue
        body_at = start + len(line) - len(line.lstrip())
        bullet = BULLET.match(line.lstrip())
        if bullet:
            body_at += bullet.end()
        body = text[body_at : start + len(line)]
        for s, e in _sentences(body):
            a, b = body_at + s, body_at + e
            sentence = text[a:b].strip()
            cited = [
                src
                for lo, hi, sources in spans
                if lo < b and hi > a and re.search(r"\w", text[max(lo, a) : min(hi, b)])
                for src in sources
            ]
            cited += INLINE_ID.findall(sentence)
            draft.claims.append(
                Claimed(kind, target, section, BRACKETED_IDS.sub("", sentence).strip(), list(dict.fromkeys(cited)))
            )
    return draft


@dataclass
class Finding:
    """A claim and one problem the grounding check (or the orchestrator's target check) found with it."""

    claim: Claimed
    problem: str

    def as_dict(self) -> dict[str, str]:
        """The finding as {where, claim, problem}."""
        return {"where": self.claim.where, "claim": self.claim.text, "problem": self.problem}


def check_draft(draft: Draft, evidence: Mapping[str, EvidenceItem]) -> list[Finding]:
    """Every claim through the grounding checker (which includes the instruction check)."""
    findings = []
    for claim in draft.claims:
        found = [p.problem for p in check_claims([Claim(text=claim.text, evidence=claim.evidence)], evidence)]
        findings += [Finding(claim, problem) for problem in found]
    return findings
