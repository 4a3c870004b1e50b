"""faces/assistant/drafts.py: Claude's reply in the draft markup parsed into claims (one per sentence, with the
evidence its citations or inline ids point at), merged with a repair, and checked by the grounding checker."""

from __future__ import annotations

from icp_agent.evidence import EvidenceItem
from icp_agent.faces.assistant.drafts import Claimed, Draft, _sentences, check_draft, parse_draft

E1, E2 = "E1234abcd", "E9999ffff"


def text(t: str, *cited: str) -> dict:
    """A text block of a reply, citing search results `evidence://<id>`."""
    citations = [{"type": "search_result_location", "source": f"evidence://{i}"} for i in cited]
    return {"type": "text", "text": t, **({"citations": citations} if citations else {})}


def sentences(line: str) -> list[str]:
    return [line[a:b] for a, b in _sentences(line)]


def test_sentences_split_only_at_sentence_ends():
    assert sentences("One. Two! Three?") == ["One.", "Two!", "Three?"]
    assert sentences("Churn was 4.5% vs. 9.0% e.g. in Retail. Next one.") == [
        "Churn was 4.5% vs. 9.0% e.g. in Retail.", "Next one."]  # fmt: skip
    assert sentences('She said "It works. Mostly." Then left.') == ['She said "It works. Mostly."', "Then left."]
    assert sentences("It worked. (E1234abcd)") == ["It worked. (E1234abcd)"]  # a trailing id stays with its sentence
    assert sentences("— 42 —") == []  # no letters: no sentence


def test_parse_draft_headings_sections_titles_gaps_and_citations():
    reply = [
        text("Intro text is ignored.\n## Persona: ICP 1 Tier 1 / champion\n### Who\n"),
        text("- RevOps managers run the tool.", E1),
        text(f" They buy in pilots ({E2}).\n### How they buy\nTitles: RevOps Manager; Sales Ops\n"
             "Gap: no interview on pricing\n## Rationale: industry = Retail\nRetail churns. \n## Other: x\nIgnored.\n"),  # text under another ## heading is no claim (it was the rationale's before)
    ]  # fmt: skip
    draft = parse_draft(reply)
    assert [(c.kind, c.target, c.section, c.text, c.evidence) for c in draft.claims] == [
        ("persona", "ICP 1 Tier 1 / champion", "who", "RevOps managers run the tool.", [E1]),
        ("persona", "ICP 1 Tier 1 / champion", "who", "They buy in pilots.", [E2]),
        ("rationale", "industry = Retail", "rationale", "Retail churns.", []),
    ]
    assert draft.titles == {("persona", "ICP 1 Tier 1 / champion"): ["RevOps Manager", "Sales Ops"]}
    assert draft.gaps == {("persona", "ICP 1 Tier 1 / champion"): ["how they buy: no interview on pricing"]}
    assert draft.claims[0].where == "Persona: ICP 1 Tier 1 / champion / who"
    # only the kinds asked for
    assert [c.kind for c in parse_draft(reply, kinds=("rationale",)).claims] == ["rationale"]
    assert parse_draft([{"type": "tool_use", "id": "x"}]).claims == []


def test_without_merged_and_of():
    a = Claimed("persona", "T", "who", "A.", [E1])
    b = Claimed("persona", "T", "who", "B.", [])
    first = Draft([a, b], titles={("persona", "T"): ["x"]}, gaps={("persona", "T"): ["g1"]})
    kept = first.without([b])
    assert kept.claims == [a] and kept.titles == first.titles
    repair = Draft([Claimed("persona", "t", "who", "A.", [E1]), Claimed("theme", "Size", "theme", "C.", [E2])],
                   gaps={("persona", "T"): ["g1", "g2"]})  # fmt: skip
    merged = kept.merged(repair)
    assert [c.text for c in merged.claims] == ["A.", "C."]  # the same claim (target case aside) counts once
    assert merged.gaps == {("persona", "T"): ["g1", "g2"]}
    assert list(merged.of("theme")) == ["Size"] and merged.of("summary") == {}


def test_check_draft_finds_every_problem():
    evidence = {E1: EvidenceItem(id=E1, kind="tier", statement="ICP 1 Tier 1: 40 customers.")}
    draft = Draft([
        Claimed("narrative", "ICP 1 Tier 1", "narrative", "ICP 1 Tier 1 has 40 customers.", [E1]),
        Claimed("narrative", "ICP 1 Tier 1", "narrative", "ICP 1 Tier 1 has 41 customers.", [E1]),
        Claimed("narrative", "ICP 1 Tier 1", "narrative", "Uncited.", []),
    ])  # fmt: skip
    findings = check_draft(draft, evidence)
    assert [(f.claim.text, f.problem) for f in findings] == [
        ("ICP 1 Tier 1 has 41 customers.", f"the number '41' is not a figure of {E1}"),
        ("Uncited.", "cites no evidence"),
    ]
    assert findings[1].as_dict() == {"where": "Narrative: ICP 1 Tier 1 / narrative", "claim": "Uncited.",
                                     "problem": "cites no evidence"}  # fmt: skip
