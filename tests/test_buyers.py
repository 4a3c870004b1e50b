"""Unit tests of personas/buyers.py: buying roles, titles per tier, and quotes from interview notes."""

from __future__ import annotations

import re

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icp_agent.evidence import Ledger
from icp_agent.personas.buyers import (
    ROLE_UNKNOWN,
    ROLES,
    _CompanyFinder,
    _role_summary,
    _top,
    note_passages,
    note_quotes,
    persona_evidence,
    role_of,
)
from tiers_data import run


def test_role_of():
    assert [role_of(r) for r in ("Decision-Maker", "  INFLUENCER ", "Technical  Evaluator", "gatekeeper")] == [
        "economic buyer",
        "champion",
        "technical buyer",
        "blocker",
    ]
    assert role_of(None) is None and role_of("") is None and role_of("CEO") is None


def test_top_ranks_by_count_then_name():
    assert _top({"b": 2, "a": 2, "c": 5, "d": 1}, 10, limit=3) == [
        {"value": "c", "n": 5, "share": 0.5},
        {"value": "a", "n": 2, "share": 0.2},
        {"value": "b", "n": 2, "share": 0.2},
    ]


def test_quoted_text_keeps_the_question_it_answers():
    body = (
        "Interviewee: Dana Lee\n"
        'Q: Was "price per seat" a concern for you?\n'
        'A: "Not at our size, honestly it was cheap."\n'
        "## Rollout\n"
        'She said "the rollout took two weeks, start to finish".\n'
    )
    # the quoted words inside the question are part of it, not a quote; a heading ends the question's topic
    assert note_passages(body) == [
        ("Not at our size, honestly it was cheap.", None, 'Was "price per seat" a concern for you?'),
        ("the rollout took two weeks, start to finish", None, None),
    ]


def test_transcript_lines_skip_the_asker_and_metadata():
    body = (
        "Date: 2024-05-01\n"
        "Interviewer: What made you switch?\n"
        "Dana (CFO): The old tool could not forecast anything.\n"
        "Customer: We wanted one place for every pipeline number.\n"
        "Interviewer: Thanks\n"
    )
    assert note_passages(body) == [
        ("The old tool could not forecast anything.", "Dana (CFO)", "What made you switch?"),
        ("We wanted one place for every pipeline number.", None, "What made you switch?"),
    ]
    assert note_quotes(body)[0] == ("The old tool could not forecast anything.", "Dana (CFO)")


def test_bullets_then_sentences():
    bullets = "# Notes\n- onboarding was slow for the team\n- ok\n1. reports are the main reason we stay\n"
    assert [t for t, _, _ in note_passages(bullets)] == [
        "onboarding was slow for the team",
        "reports are the main reason we stay",
    ]
    prose = "We met the team. They use it every single day for planning. Short one."
    assert note_passages(prose) == [("They use it every single day for planning.", None, None)]


def test_note_company():
    finder = _CompanyFinder({"acme corp", "beta"})
    assert finder.company_of("Interview: Acme Corp — CFO", "x.md", "") == "Acme Corp"
    assert finder.company_of(None, "2024-acme-corp-cfo.md", "") == "acme corp"
    assert finder.company_of(None, "call.md", "We spoke with Beta today.") == "beta"
    # whole words only: "alphabetagamma" does not name Beta
    assert finder.company_of(None, "call.md", "alphabetagamma") is None
    assert _CompanyFinder(set()).company_of(None, "acme.md", "acme") is None


def _one_by_one(title, file_name, body, companies):
    """The definition the finder keeps: the title's company, else the names tried one by one, longest first."""
    company = re.split(r"\s+[—–-]\s+", re.sub(r"^\s*interview:\s*", "", title or "", flags=re.I))[0].strip()
    if company.lower() in companies:
        return company
    haystacks = [re.sub(r"[-_.]+", " ", file_name.lower()), (title or "").lower(), body.lower()]
    for candidate in sorted(companies, key=lambda c: (-len(c), c)):
        slug = re.sub(r"[^\w]+", " ", candidate).strip()
        if any(re.search(r"(?<!\w)" + re.escape(candidate) + r"(?!\w)", h) for h in haystacks[1:]) or (
            slug and re.search(r"(?<!\w)" + re.escape(slug) + r"(?!\w)", haystacks[0])
        ):
            return candidate
    return None


@settings(max_examples=200, deadline=None)
@given(
    st.sets(st.sampled_from(["acme", "acme corp", "corp", "beta", "beta-io", "io", "a.b", "b c", "ab"]), max_size=6),
    st.lists(st.sampled_from(["acme", "corp", "beta", "io", "-", ".", " ", "a", "b", "c", "x"]), max_size=12),
    st.sampled_from(["call.md", "acme-corp.md", "beta_io.txt", "a.b.md", "b-c.md"]),
)
def test_the_finder_names_the_company_trying_names_one_by_one_would(companies, words, file_name):
    body = " ".join(words)
    for title in (None, "Interview: Beta — CFO", body):
        assert _CompanyFinder(companies).company_of(title, file_name, body) == _one_by_one(title, file_name, body, companies)


@pytest.fixture
def built():
    con = duckdb.connect()
    icp, _ = run(con)
    # ICP 1 Tier 1 is Software with headcount >= 500: rows 480, 484, ..., 596 (co480 is one of them); co0 is not
    con.execute("""CREATE TABLE contacts AS SELECT * FROM (VALUES
        ('co480', 'VP of Sales', 'Decision Maker'), ('co484', 'Vice President, Sales', 'economic buyer'),
        ('co480', 'Sales Operations Manager', 'champion'), ('co0', 'CEO', 'economic buyer')
    ) t(company_name, job_title, buying_role)""")
    con.execute("CREATE TABLE current_snapshot AS SELECT 'i1' AS import_id, 'interviews' AS kind")
    con.execute(
        "CREATE TABLE interviews AS SELECT 'i1' AS import_id, 1 AS doc_id, 'co480-cfo.md' AS file_name, "
        "'Interview: co480 — CFO' AS title, "
        "'Interviewee: Dana\nQ: Why did you buy?\nA: \"We needed one place for every pipeline number.\"' AS body"
    )
    yield con, icp
    con.close()


def test_persona_evidence_counts_the_tiers_contacts(built):
    con, icp = built
    ledger = Ledger()
    tables = {"frame": "frame_v1", "contacts": "contacts", "deals": None}
    result = persona_evidence(con, icp, "ICP 1", 1, tables, ledger)
    assert (result["tier"], result["source"], result["why_none"]) == ("ICP 1 Tier 1", "customers", None)
    assert set(result["roles"]) == set(ROLES)
    # the CEO of co0 is not at a Tier 1 customer; two economic buyers and one champion are
    assert {role: r["n"] for role, r in result["roles"].items()} == {
        "champion": 1,
        "economic buyer": 2,
        "technical buyer": 0,
        "end user": 0,
        "blocker": 0,
    }
    buyer = result["roles"]["economic buyer"]
    assert buyer["basis"] == "contacts at the tier's customers" and sum(t["n"] for t in buyer["titles"]) == 2
    assert ledger.get(buyer["evidence"]).metrics["n"] == 2
    (quote,) = result["quotes"]
    assert (quote["quote"], quote["question"], quote["company"], quote["speaker"]) == (
        "We needed one place for every pipeline number.",
        "Why did you buy?",
        "co480",
        "Dana",
    )
    assert ledger.get(quote["evidence"]).statement == quote["quote"]


def test_only_contacts_at_the_tiers_customers_are_counted(built):
    """A health frame keeps the accounts that never became customers (not_customer, no cohort) beside the customers:
    a lead in the tier's segment (co484 here) is not one of "the tier's customers", nor are its contacts."""
    con, icp = built
    con.execute(
        "CREATE TABLE frame_h AS SELECT * REPLACE (CASE WHEN company_name = 'co484' THEN NULL ELSE cohort END AS cohort),"
        " company_name = 'co484' AS not_customer FROM frame_v1"
    )
    con.execute("INSERT INTO contacts VALUES ('co484', 'CFO', 'economic buyer'), ('co484', 'RevOps Lead', 'champion')")
    ledger = Ledger()
    result = persona_evidence(con, icp, "ICP 1", 1, {"frame": "frame_h", "contacts": "contacts"}, ledger)
    counts = {role: r["n"] for role, r in result["roles"].items() if r["n"]}
    assert counts == {"economic buyer": 1, "champion": 1}  # co480's two; co484's three are a lead's
    buyer = result["roles"]["economic buyer"]
    assert [t["value"] for t in buyer["titles"]] == ["VP Sales"]
    assert ledger.get(buyer["evidence"]).metrics["n"] == 1
    # the same contacts with co484 a customer: counted
    every = persona_evidence(con, icp, "ICP 1", 1, {"frame": "frame_v1", "contacts": "contacts"}, Ledger())
    assert {role: r["n"] for role, r in every["roles"].items() if r["n"]} == {"economic buyer": 3, "champion": 2}


def test_without_buying_roles_titles_are_summarised_together(built):
    con, icp = built
    con.execute("UPDATE contacts SET buying_role = NULL")
    result = persona_evidence(con, icp, "ICP 1", 1, {"frame": "frame_v1", "contacts": "contacts"}, Ledger())
    assert list(result["roles"]) == [ROLE_UNKNOWN] and result["roles"][ROLE_UNKNOWN]["n"] == 3
    assert any("carry no buying role" in n for n in result["notes"])


def test_no_persona_evidence_says_why(built):
    con, icp = built
    none = persona_evidence(con, icp, "ICP 1", 1, {"frame": "frame_v1", "contacts": None}, Ledger())
    assert none["why_none"] == "no contacts imported: titles and buying roles are unknown" and none["roles"] == {}
    con.execute("CREATE TABLE untitled AS SELECT company_name, buying_role FROM contacts")
    untitled = persona_evidence(con, icp, "ICP 1", 1, {"frame": "frame_v1", "contacts": "untitled"}, Ledger())
    assert "no job title column" in untitled["why_none"]
    missing = persona_evidence(con, icp, "ICP 9", 1, {"frame": "frame_v1", "contacts": "contacts"}, Ledger())
    assert missing["notes"] == ["no ICP 9 Tier 1 in this ICP"] and missing["quotes"] == []


def test_contacts_without_a_title_are_not_counted_as_junior():
    """A blank title says nothing about seniority: shares are of the titled contacts, the statement says how many
    had one, and "mostly" is kept for a real majority."""
    ledger = Ledger()
    titles = ["CFO", "VP Finance", "Head of Finance", "Controller", None, " ", None]
    summary = _role_summary("ICP 1 Tier 1", "economic buyer", titles, "contacts on won deals", ledger)
    assert (summary["n"], summary["titled"]) == (7, 4)
    assert {s["value"]: s["n"] for s in summary["seniority"]} == {"Executive": 1, "Head": 1, "Individual contributor": 1}
    assert all(s["share"] == 0.25 for s in summary["seniority"])  # of the 4 titled, not the 7
    statement = ledger.get(summary["evidence"]).statement
    assert "7 contacts on won deals, 4 with a job title" in statement and "; most often " in statement
    none = _role_summary("ICP 1 Tier 1", "champion", [None, ""], "contacts on won deals", ledger)
    assert none["titled"] == 0 and none["seniority"] == []
    assert ledger.get(none["evidence"]).statement.endswith("2 contacts on won deals; none has a job title.")
    most = _role_summary("ICP 1 Tier 1", "end user", ["CFO", "CEO", "Analyst"], "contacts on won deals", ledger)
    assert most["seniority"][0] == {"value": "Executive", "n": 2, "share": 0.6667}
    assert "; mostly Executive in " in ledger.get(most["evidence"]).statement


def test_the_tiers_of_one_pass_share_the_link_key_to_the_frame(built, monkeypatch):
    # the key from the contacts to the frame is chosen once for every tier given the same `keys`; the same figures
    con, icp = built
    from icp_agent.ingest import links

    chosen = []
    real = links.company_key
    monkeypatch.setattr(links, "company_key", lambda *args: chosen.append(args[1:]) or real(*args))
    tables = {"frame": "frame_v1", "contacts": "contacts", "deals": None}
    keys: dict = {}
    first = persona_evidence(con, icp, "ICP 1", 1, tables, Ledger(), keys=keys)
    again = persona_evidence(con, icp, "ICP 1", 1, tables, Ledger(), keys=keys)
    assert chosen == [("contacts", "frame_v1")] and list(keys) == chosen and keys[chosen[0]] is not None
    assert {r: v["n"] for r, v in again["roles"].items()} == {r: v["n"] for r, v in first["roles"].items()}
    persona_evidence(con, icp, "ICP 1", 1, tables, Ledger())  # no keys: chosen again
    assert chosen == [("contacts", "frame_v1")] * 2


def test_role_summary_reads_each_distinct_title_once_with_the_same_counts():
    from icp_agent.personas.titles import department_of, normalise_title, seniority_of

    titles = ["VP of Sales", "vice president, sales", None, "CFO", "VP of Sales", "", "Sales Ops Manager"] * 3
    summary = _role_summary("ICP 1 Tier 1", "champion", titles, "contacts on won deals", Ledger())
    # row by row, as a reader would count them: the titled contacts only
    by_title, by_level, by_department = {}, {}, {}
    for clean in filter(None, map(normalise_title, titles)):
        by_title[clean] = by_title.get(clean, 0) + 1
        by_level[seniority_of(clean)] = by_level.get(seniority_of(clean), 0) + 1
        by_department[department_of(clean)] = by_department.get(department_of(clean), 0) + 1
    assert (summary["n"], summary["titled"]) == (21, 15) and summary["titles"] == _top(by_title, 15)
    assert summary["seniority"] == _top(by_level, 15, 3) and summary["departments"] == _top(by_department, 15, 3)
    assert summary["titles"][0] == {"value": "VP Sales", "n": 9, "share": round(9 / 15, 4)}  # two spellings
