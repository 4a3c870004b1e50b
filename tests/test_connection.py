"""faces/assistant/connection.py: the assistant's MCP session, in process or remote. A remote server that cannot
be reached is an AssistantError naming the URL; the in-process one is a real server on an empty workspace."""

from __future__ import annotations

import asyncio
import socket

import pytest

from icp_agent.faces.assistant.claude import AssistantError
from icp_agent.faces.assistant.connection import RemoteServer, _reason, connect, in_process
from icp_agent.workspace import Workspace


def test_remote_server_hides_its_token(monkeypatch):
    monkeypatch.setenv("H8_TOKEN", "s3cret")
    server = RemoteServer.from_env("http://127.0.0.1:8000/mcp", "H8_TOKEN")
    assert server.token == "s3cret" and "s3cret" not in repr(server)
    monkeypatch.setenv("H8_TOKEN", "")
    assert RemoteServer.from_env("http://x/mcp", "H8_TOKEN").token is None


def test_reason_is_the_innermost_message():
    inner = ExceptionGroup("outer", [ExceptionGroup("middle", [ConnectionError("refused")])])
    assert _reason(inner) == "refused"
    assert _reason(TimeoutError()) == "TimeoutError"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_remote_server_is_an_assistant_error():
    url = f"http://127.0.0.1:{free_port()}/mcp"  # nothing listens there

    async def open_session():
        async with connect(RemoteServer(url)):
            pass

    with pytest.raises(AssistantError) as caught:
        asyncio.run(open_session())
    assert str(caught.value).startswith(f"cannot open an MCP session with {url}: ")
    assert "ICP_AGENT_TOKEN" in caught.value.hint and "/mcp" in caught.value.hint


def test_in_process_session_lists_the_servers_tools(tmp_path):
    server = in_process(Workspace(tmp_path / "ws.duckdb"), [tmp_path], tmp_path / "out")

    async def tools():
        async with connect(server) as session:
            return [t.name for t in (await session.list_tools()).tools]

    names = asyncio.run(tools())
    assert {"import_data", "build_icp", "get_icp", "save_drafts", "render_document"} <= set(names)
