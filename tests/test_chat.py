"""`icp-agent chat` on the demo company: the main paths replayed from a cassette recorded against the stand-in
(tests/standin.py, ChatModel), streaming included; and what it says without an API key."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from icp_agent import toolkit
from icp_agent.faces.assistant.chat import chat_main
from icp_agent.faces.assistant.connection import RemoteServer
from icp_agent.workspace import Workspace
from conftest import copy_demo
from standin import KEY, TOKEN, ChatModel, http_server
from standin import api, vcr_config  # noqa: F401  (pytest fixtures, used by name)

DEMO = Path(__file__).resolve().parent.parent / "fixtures" / "demo"


@pytest.fixture(scope="module")
def built(built_demo, tmp_path_factory) -> Workspace:
    """The session's built demo (conftest.built_demo), copied: /save writes drafts to the workspace."""
    return copy_demo(built_demo, tmp_path_factory.mktemp("chat")).workspace()


@pytest.mark.vcr
def test_chat_answers_with_citations_shows_tool_calls_and_saves(api, built, tmp_path):
    said = io.StringIO()
    typed = io.StringIO("which customers should we stop selling to?\n/help\n"
                        "draft the champion persona for Tier 1\n/save\n/quit\n")
    with api(ChatModel()) as url:
        code = chat_main(built, out_dir=tmp_path / "doc", api_key=KEY, base_url=url, max_retries=0,
                         model="claude-sonnet-5-5", stdin=typed, stdout=said)
    output = said.getvalue()
    assert code == 0, output
    assert output.startswith("icp-agent chat · claude-sonnet-5-5 · ICP icp-")
    first, second = output.split("you> ")[1], output.split("you> ")[3]

    # tool calls, one line each
    assert re.search(r"  · get_icp\(sections=\['negative_icp'\]\) → \d+\.\dk chars, \d+\.\d s", first)
    assert "  · get_evidence(ids=[" in first
    assert "  · get_persona_evidence(segment='ICP 1', tier=1) →" in second

    # the streamed answer, a marker after each cited sentence, footnotes naming the evidence
    icp = toolkit.get_icp(built)
    disqualifiers = [" AND ".join(c.label for c in d.criteria) for d in icp.negative_icp]
    assert all(label in first for label in disqualifiers)
    assert re.findall(r"\)\.\[(\d)\]", first) == ["1", "2", "3"]
    for number, d in enumerate(icp.negative_icp, start=1):
        assert re.search(rf"\[{number}\] {d.evidence[0]} · \w+: ", first)
    champion = next(p for p in icp.personas if p.role == "champion" and p.tier_name.startswith("ICP 1 Tier 1"))
    assert champion.title_patterns[0] in second and "[1]" in second
    assert re.search(r"\[1\] E[0-9a-f]{8} · Buying role champion on won deals of ICP 1 Tier 1", second)

    assert "/save [folder]" in output.split("you> ")[2]
    assert "Saved the ICP document to" in output and (tmp_path / "doc" / "icp.md").is_file()


@pytest.mark.vcr
def test_chat_talks_to_a_remote_server(api, built, tmp_path):
    """The same conversation with the server over streamable HTTP: the tools answer from its workspace, and /save
    writes the document into the server's own output folder."""
    said = io.StringIO()
    typed = io.StringIO("which customers should we stop selling to?\n/save\n/quit\n")
    with http_server(built, tmp_path / "server") as url, api(ChatModel()) as claude_url:
        code = chat_main(None, server=RemoteServer(url, TOKEN), api_key=KEY, base_url=claude_url, max_retries=0,
                         model="claude-sonnet-5-5", stdin=typed, stdout=said)
    output = said.getvalue()
    assert code == 0, output
    assert output.startswith(f"icp-agent chat · claude-sonnet-5-5 · ICP {toolkit.get_icp(built).id}")
    assert re.search(r"  · get_icp\(sections=\['negative_icp'\]\) → \d+\.\dk chars", output)
    assert f"Saved the ICP document to {tmp_path / 'server' / 'server-out'} on the server" in output
    assert (tmp_path / "server" / "server-out" / "icp.md").is_file()


def test_chat_without_a_key_points_to_the_offline_run_and_claude_desktop(built, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    said = io.StringIO()
    assert chat_main(built, stdin=io.StringIO("hello\n"), stdout=said) == 2
    assert "ANTHROPIC_API_KEY" in said.getvalue() and "icp-agent run DATA_DIR" in said.getvalue()
    assert "Claude Desktop" in said.getvalue() and "icp-agent-mcp" in said.getvalue()


def test_chat_without_an_icp_says_how_to_build_one(tmp_path):
    said = io.StringIO()
    code = chat_main(Workspace(tmp_path / "empty.duckdb"), api_key=KEY, base_url="http://127.0.0.1:9",
                     stdin=io.StringIO(""), stdout=said)
    assert code == 2 and "icp-agent run DATA_DIR" in said.getvalue()
