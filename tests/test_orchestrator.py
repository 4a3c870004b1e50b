"""faces/assistant/orchestrator.py, its pure parts: the outline drafts are checked against, the target check of
a claim, what the orchestrator learns from tool results, fetching cited evidence (a stand-in MCP client answers
get_evidence), and the arguments an assisted run refuses before it starts. The full run is replayed from
cassettes in test_assistant.py."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

import pytest
from mcp.types import CallToolResult, TextContent

from icp_agent.errors import UserError
from icp_agent.faces.assistant.claude import AssistantError
from icp_agent.faces.assistant.connection import RemoteServer
from icp_agent.faces.assistant.drafts import Claimed
from icp_agent.faces.assistant.orchestrator import (
    Orchestrator,
    Outline,
    _claim_dict,
    _norm,
    _plain_text,
    run_assisted_async,
)
from icp_agent.workspace import Workspace

OUTLINE = Outline(
    version="icp-1",
    status="ok",
    tiers=[{"segment": "ICP 1", "tier": 1, "name": "ICP 1 Tier 1: industry = Software"}],
    disqualifiers=[{"label": "industry = Retail"}],
)


class EvidenceServer:
    """Answers get_evidence for known ids; a request naming an unknown id fails as the server does."""

    def __init__(self, known: set[str]):
        self.known, self.requests = known, []

    async def call_tool(self, name, arguments):
        self.requests.append(list(arguments["ids"]))
        if set(arguments["ids"]) - self.known:
            return CallToolResult(content=[TextContent(type="text", text="unknown id")], is_error=True)
        items = [{"id": i, "kind": "tier", "statement": f"{i} says 40.", "metrics": {}} for i in arguments["ids"]]
        return CallToolResult(content=[TextContent(type="text", text="{}")], structured_content={"items": items})


def orchestrator(mcp=None) -> Orchestrator:
    return Orchestrator(mcp, None, Path("out"), model="m")  # type: ignore[arg-type]


def test_norm_and_outline_lookups():
    assert _norm("  ICP 1 `Tier`\n1 ") == "icp 1 tier 1"
    assert OUTLINE.tier("icp 1 tier 1") is OUTLINE.tiers[0]
    assert OUTLINE.tier("ICP 1 Tier 1: industry = `Software`") is OUTLINE.tiers[0]  # by its name too
    assert OUTLINE.tier("ICP 2 Tier 1") is None
    assert OUTLINE.disqualifier("Industry = RETAIL") is OUTLINE.disqualifiers[0]
    assert OUTLINE.disqualifier("industry = Banking") is None


def test_claims_must_name_a_tier_disqualifier_or_buying_role():
    run = orchestrator()
    with pytest.raises(AssistantError, match="no ICP version to draft for"):
        run._target_problem(Claimed("narrative", "ICP 1 Tier 1", "narrative", "x", []))
    run.outline = OUTLINE
    assert run._target_problem(Claimed("narrative", "ICP 1 Tier 1", "narrative", "x", [])) is None
    assert run._target_problem(Claimed("narrative", "ICP 3 Tier 1", "narrative", "x", [])) == (
        "no tier of that name; tiers: ICP 1 Tier 1")  # fmt: skip
    assert run._target_problem(Claimed("rationale", "industry = Banking", "rationale", "x", [])) == (
        "no disqualifier of that name; disqualifiers: industry = Retail")  # fmt: skip
    assert run._target_problem(Claimed("persona", "Champion", "who", "x", [])) is None
    assert run._target_problem(Claimed("persona", "CFO", "who", "x", [])).startswith("not a buying role")
    assert run._target_problem(Claimed("theme", "anything", "theme", "x", [])) is None


def test_learn_keeps_evidence_and_titles_per_role():
    run = orchestrator()
    items = [{"id": "E1", "kind": "tier", "statement": "s", "metrics": {"n": 1}}, {"id": "E2", "statement": "brief"}]
    run._learn("list_evidence", {}, CallToolResult(content=[], structured_content={"items": items}))
    assert list(run.evidence) == ["E1"]  # a brief item without its figures is not kept
    roles = {"champion": {"titles": [{"value": "RevOps"}, {"value": "CRO"}]}, "blocker": {}}
    run._learn("get_persona_evidence", {"segment": "ICP 2", "tier": "2"},
               CallToolResult(content=[], structured_content={"roles": roles}))  # fmt: skip
    assert run.titles_seen == {("ICP 2", 2): {"champion": ["RevOps", "CRO"], "blocker": []}}
    run._learn("list_evidence", {}, CallToolResult(content=[], structured_content={"items": items[:1]}, is_error=True))
    assert len(run.evidence) == 1


def test_fetch_evidence_in_chunks_then_one_by_one():
    server = EvidenceServer({f"E{i:08x}" for i in range(25)})
    run = orchestrator(server)
    run.outline = OUTLINE
    wanted = {f"E{i:08x}" for i in range(25)} | {"Eunknown1"}
    asyncio.run(run._fetch_evidence(wanted))
    assert set(run.evidence) == wanted - {"Eunknown1"} and run.unknown_ids == {"Eunknown1"}
    # 20 at a time; the chunk holding the unknown id failed and was asked again one id at a time
    assert [len(r) for r in server.requests] == [20, 6, 1, 1, 1, 1, 1, 1]
    asked = len(server.requests)
    asyncio.run(run._fetch_evidence(wanted))  # known and unknown ids are not asked again
    assert len(server.requests) == asked
    assert [c["name"] for c in run.tool.calls] == ["get_evidence"] * asked


def test_claim_dict_and_plain_text():
    claim = Claimed("persona", "champion", "who", "Text.", ["E1"])
    assert _claim_dict(claim) == {"section": "who", "text": "Text.", "evidence": ["E1"]}
    reply = SimpleNamespace(content=[SimpleNamespace(type="text", text=" a "), SimpleNamespace(type="tool_use"),
                                     SimpleNamespace(type="text", text="b ")])  # fmt: skip
    assert _plain_text(reply) == "a b"  # the text blocks joined, then stripped


def test_an_assisted_run_refuses_what_cannot_work_before_it_starts(tmp_path):
    ws = Workspace(tmp_path / "ws.duckdb")
    remote = RemoteServer("http://127.0.0.1:9/mcp")
    with pytest.raises(UserError, match="a remote server works on its own workspace"):
        asyncio.run(run_assisted_async(ws, None, tmp_path / "out", server=remote))
    with pytest.raises(UserError, match="no workspace and no server"):
        asyncio.run(run_assisted_async(None, None, tmp_path / "out"))
    with pytest.raises(UserError, match="phase 1 needs the folder of exports") as caught:
        asyncio.run(run_assisted_async(ws, None, tmp_path / "out"))
    assert caught.value.hint == "pass DATA_DIR"
    with pytest.raises(UserError, match="unknown phase"):
        asyncio.run(run_assisted_async(ws, None, tmp_path / "out", phases=["nope"]))
    assert not (tmp_path / "out").exists()  # nothing written
