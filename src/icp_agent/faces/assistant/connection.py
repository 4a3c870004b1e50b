"""The assistant's MCP session: the server in process (the default), or a remote one over streamable HTTP.

Both the assisted run and the chat reach the workspace only through this session, so what they can do is what
any MCP client of the server can do (Claude Desktop through the plugin, another machine over HTTP).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcp import Client

from icp_agent.faces.assistant.claude import AssistantError

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from icp_agent.workspace import Workspace

STATUS = {
    401: "the server wants its bearer token, and this one is missing or wrong",
    403: "the server refused this Origin",
    404: "no MCP endpoint at this address",
    421: "the server does not answer to this host name (see its --allow-host)",
}
TOKEN_ENV = "ICP_AGENT_TOKEN"  # the variable `icp-agent serve --http` reads its token from, by default


@dataclass(frozen=True)
class RemoteServer:
    """An icp-agent MCP server served with `icp-agent serve --http`: its URL (ending in /mcp) and the bearer token
    it wants (None for a loopback server started without one). The token is never shown in repr()."""

    url: str
    token: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, url: str, token_env: str = TOKEN_ENV) -> RemoteServer:
        """The server at `url` with the token held by the environment variable `token_env`, if it is set."""
        return cls(url, os.environ.get(token_env) or None)


def in_process(workspace: Workspace, data_roots: Sequence[Path], out_dir: Path) -> MCPServer:
    """The icp-agent server on `workspace`, in this process: tool arguments may name files under `data_roots`
    and `out_dir`; render_document writes to `out_dir` by default."""
    # the server (and the analysis behind it) loads only when it is used
    from icp_agent.faces.server import create_server

    return create_server(workspace, [*data_roots, out_dir], out_dir=out_dir)


@asynccontextmanager
async def connect(server: MCPServer | RemoteServer) -> AsyncIterator[Client]:
    """An initialised MCP client session on `server`.

    Raises AssistantError when a remote server cannot be reached or refuses the session (a wrong URL, a missing
    or wrong token), naming the URL and what to check.
    """
    if not isinstance(server, RemoteServer):
        async with Client(server) as session:
            yield session
        return
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    headers = {"Authorization": f"Bearer {server.token}"} if server.token else None
    refused: list[int] = []  # the SDK reports a refused request without its HTTP status: keep it here

    async def note_refusal(response: Any) -> None:
        if response.status_code >= 400:
            refused.append(response.status_code)

    opened = False
    try:
        async with create_mcp_http_client(headers=headers) as http:
            http.event_hooks["response"].append(note_refusal)
            async with Client(streamable_http_client(server.url, http_client=http)) as session:
                opened = True
                yield session
    except Exception as exc:  # connection refused, 401, 404, a closed stream: all say "cannot use this server"
        if opened:
            raise
        reason = _reason(exc)
        if refused:
            reason = f"HTTP {refused[-1]} ({STATUS.get(refused[-1], reason)})"
        raise AssistantError(
            f"cannot open an MCP session with {server.url}: {reason}",
            hint=f"check the URL (the server's address ending in /mcp) and the bearer token (set "
            f"{TOKEN_ENV}, or the variable named by --token-env, to the server's "
            f"token)",
        ) from exc


def _reason(exc: BaseException) -> str:
    """The innermost message of an exception (task groups wrap transport errors in ExceptionGroups)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return str(exc) or type(exc).__name__
