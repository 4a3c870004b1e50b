"""drafting/store.py: drafted personas, rationale, narratives and themes are kept in an ICP version only when
every claim is grounded in the version's evidence (and names a tier or disqualifier of it); otherwise nothing is
kept. A fresh workspace holding one version, stored directly."""

from __future__ import annotations

import json

import pytest

from icp_agent.drafting.records import DraftingRecorded
from icp_agent.drafting.store import (
    DraftClaim,
    DraftPersona,
    DraftRationale,
    RecordDraftingOptions,
    SaveDraftsResult,
    record_drafting,
    save_drafts,
)
from icp_agent.errors import UserError
from icp_agent.evidence import Ledger
from icp_agent.icp_document import Disqualifier
from icp_agent.workspace import Workspace
from minimal_icp import icp, tier

RETAIL = {"field": "industry", "op": "eq", "value": "Retail", "label": "industry = Retail"}


@pytest.fixture
def stored(tmp_path):
    ws = Workspace(tmp_path / "ws.duckdb")
    ledger = Ledger()
    tier_ev = ledger.add("tier", "t1", "ICP 1 Tier 1: 120 customers, good rate 38%.", {"n": 120})
    dq_ev = ledger.add("disqualifier", "retail", "industry = Retail: 45% in the bottom 20%.", {"rate": 0.45})
    t1 = tier(1, [{"field": "industry", "op": "eq", "value": "Software", "kind": "category"}])
    t1.evidence = [tier_ev]
    doc = icp([t1], id="icp-s", negative_icp=[Disqualifier(criteria=[RETAIL], reason="r", evidence=[dq_ev])])
    with ws.transaction() as con:
        con.execute(
            "INSERT INTO icp_versions VALUES (?, now(), ?, ?, ?)", [doc.id, "f", doc.status, doc.model_dump_json()]
        )
        ledger.save(con, doc.id)
    return ws, doc, tier_ev, dq_ev


def saved(ws: Workspace, version: str) -> dict:
    with ws.connect() as con:
        return json.loads(con.execute("SELECT icp FROM icp_versions WHERE version_id = ?", [version]).fetchone()[0])


def persona(text: str, *ids: str, tier: int = 1, role: str = "champion") -> DraftPersona:
    return DraftPersona(segment="ICP 1", tier=tier, role=role, claims=[DraftClaim(section="who", text=text,
                        evidence=list(ids))])  # fmt: skip


def test_save_drafts_keeps_grounded_drafts(stored):
    ws, doc, tier_ev, dq_ev = stored
    rationale = DraftRationale(
        disqualifier="industry = Retail",
        claims=[DraftClaim(text="45% of them are in the bottom 20%.", evidence=[dq_ev])],
    )
    out = save_drafts(ws, doc, [persona("ICP 1 Tier 1 has 120 customers.", tier_ev)], [rationale],
                      drafter="claude", model="m1")  # fmt: skip
    assert out == SaveDraftsResult(saved=True, version="icp-s", personas_saved=1, rationales_saved=1)
    data = saved(ws, "icp-s")
    (p,) = data["personas"]
    assert (p["tier_name"], p["role"], p["drafter"], p["model"], p["gaps"]) == (
        "ICP 1 Tier 1", "champion", "claude", "m1", [])  # fmt: skip
    assert data["negative_icp"][0]["rationale"] == "45% of them are in the bottom 20%."
    assert (data["drafting"]["last_saved_by"], data["drafting"]["model"]) == ("claude", "m1")
    # a second draft of the same persona replaces the first
    save_drafts(ws, doc, [persona("120 customers.", tier_ev)], [], drafter="claude", model="m2")
    assert [p["claims"][0]["text"] for p in saved(ws, "icp-s")["personas"]] == ["120 customers."]


def test_save_drafts_refuses_everything_when_one_claim_fails(stored):
    ws, doc, tier_ev, _ = stored
    before = saved(ws, "icp-s")
    out = save_drafts(
        ws,
        doc,
        [persona("ICP 1 Tier 1 has 120 customers.", tier_ev), persona("It has 999 customers.", tier_ev),
         persona("Tier 2 buyers.", tier_ev, tier=2)],
        [DraftRationale(disqualifier="industry = Banking", claims=[])],
        drafter="claude",
        model=None,
    )  # fmt: skip
    assert out.saved is False and out.personas_saved == 0
    assert [p["claim"] for p in out.problems] == [
        "It has 999 customers.",
        "Tier 2 buyers.",  # cites Tier 1 evidence only
        "industry = Banking",
        "ICP 1 Tier 2",
    ]
    assert out.problems[0]["problem"] == f"the number '999' is not a figure of {tier_ev}"
    assert out.problems[2]["problem"] == "not a disqualifier of this ICP; known: industry = Retail"
    assert out.problems[3]["problem"] == "no such tier in this ICP"
    assert saved(ws, "icp-s") == before  # nothing kept


def test_record_drafting_saves_narratives_themes_and_gaps(stored):
    ws, doc, tier_ev, _ = stored
    save_drafts(ws, doc, [persona("120 customers.", tier_ev)], [], drafter="claude", model="m1")
    claim = {"section": "narrative", "text": "ICP 1 Tier 1 holds 120 customers.", "evidence": [tier_ev]}
    params = RecordDraftingOptions(
        drafter="claude",
        model="m1",
        narratives=[{"tier_name": "ICP 1 Tier 1", "claims": [claim]}],
        themes=[{"theme": "Size", "claims": [claim]}],
        persona_gaps=[{"segment": "ICP 1", "tier": 1, "role": "champion", "gaps": ["pains: no interview says"]}],
        record={"run_status": "complete", "prompt_versions": {"persona": "3"}},
    )
    out = record_drafting(ws, doc, params)
    assert out == DraftingRecorded(
        version="icp-s", narratives=1, themes=1, personas_marked=1, record_keys=["prompt_versions", "run_status"]
    )
    data = saved(ws, "icp-s")
    assert [n["tier_name"] for n in data["narratives"]] == ["ICP 1 Tier 1"]
    assert [t["theme"] for t in data["themes"]] == ["Size"]
    assert data["personas"][0]["gaps"] == ["pains: no interview says"]
    assert data["drafting"]["run_status"] == "complete" and data["drafting"]["drafter"] == "claude"
    # a narrative of the same tier replaces the earlier one; themes not given leave the list as it was
    record_drafting(ws, doc, RecordDraftingOptions(drafter="x", narratives=[{"tier_name": "ICP 1 Tier 1",
                                                                              "claims": [claim]}]))  # fmt: skip
    data = saved(ws, "icp-s")
    assert [n["drafter"] for n in data["narratives"]] == ["x"] and len(data["themes"]) == 1


def test_record_drafting_refuses_an_ungrounded_claim(stored):
    ws, doc, tier_ev, _ = stored
    before = saved(ws, "icp-s")
    bad = {"text": "ICP 1 Tier 1 holds 7 customers.", "evidence": [tier_ev]}
    with pytest.raises(UserError) as caught:
        record_drafting(ws, doc, RecordDraftingOptions(drafter="x", themes=[{"theme": "T", "claims": [bad]}]))
    assert "1 drafted claim(s) are not grounded" in str(caught.value)
    assert "ICP 1 Tier 1 holds 7 customers." in str(caught.value)
    assert saved(ws, "icp-s") == before
