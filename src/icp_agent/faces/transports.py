"""How the MCP server is reached: stdio, or streamable HTTP guarded by Host/Origin checks and a bearer token;
and the one set of options `icp-agent-mcp` and `icp-agent serve` share (serve_options, run).

Imports stay light (click only) until a server is started: `icp-agent --help` must not load the MCP SDK.
"""

from __future__ import annotations

import hmac
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from icp_agent import __version__
from icp_agent.errors import UserError
from icp_agent.locations import DEFAULT_PATH

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer
    from mcp.server.transport_security import TransportSecuritySettings

DEFAULT_OUT = "icp-out"


class BearerTokenMiddleware:
    """Every HTTP request must carry `Authorization: Bearer <token>`; others get 401 before MCP sees them."""

    def __init__(self, app: Any, token: str):
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "http":
            given = next((value for name, value in scope["headers"] if name == b"authorization"), b"")
            if not hmac.compare_digest(given, self.expected):
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"www-authenticate", b'Bearer realm="icp-agent"'),
                        ],
                    }
                )
                await send(
                    {
                        "type": "http.response.body",
                        "body": b'{"error": "unauthorized: send Authorization: Bearer <token>"}',
                    }
                )
                return
        await self.app(scope, receive, send)


# The only bind addresses that may go without a token: the exact names the loopback interface answers to
# for this machine alone. Other loopback aliases (127.0.0.2, ...) are treated like any other address: a
# token is required, because a browser can be pointed at them as easily as at a LAN address.
TOKEN_FREE_HOSTS = ("127.0.0.1", "::1", "localhost")
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def needs_token(host: str) -> bool:
    """True unless `host` is exactly 127.0.0.1, ::1 or localhost."""
    return host not in TOKEN_FREE_HOSTS


def transport_security(host: str, allowed_hosts: list[str] | None = None) -> TransportSecuritySettings:
    """The DNS-rebinding guard, always on: Host must name the bound address (or a loopback name, or one the
    operator allowed with --allow-host) and Origin, when sent, the same; anything else gets 421 (Host) or 403
    (Origin) before MCP sees the request. The SDK turns this on by itself only for the three loopback
    strings, so it is configured here explicitly for every bind address."""
    from mcp.server.transport_security import TransportSecuritySettings

    names = list(LOOPBACK_NAMES)
    bound = f"[{host}]" if ":" in host and not host.startswith("[") else host
    if host not in ("0.0.0.0", "::") and bound not in names:
        names.append(bound)
    names += [name for name in (allowed_hosts or []) if name not in names]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[pattern for name in names for pattern in (name, f"{name}:*")],
        allowed_origins=[
            pattern
            for name in names
            for scheme in ("http", "https")
            for pattern in (f"{scheme}://{name}", f"{scheme}://{name}:*")
        ],
    )


def serve_http(
    server: MCPServer, host: str, port: int, token: str | None, allowed_hosts: list[str] | None = None
) -> None:
    """Streamable HTTP at /mcp, the Host/Origin check on whatever the address (bad Host 421, bad Origin 403),
    the bearer token checked first when one is set."""
    import uvicorn

    if needs_token(host) and not token:  # run() says so politely; this guards other callers
        raise UserError(f"refusing to serve on {host} without a bearer token")
    app: Any = server.streamable_http_app(host=host, transport_security=transport_security(host, allowed_hosts))
    if token:
        app = BearerTokenMiddleware(app, token)
    uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_config=None)).run()


# --- the one set of options: `icp-agent-mcp` and `icp-agent serve` ---------------------------------------------

# --workspace, declared once for every command that takes it: the CLI's commands, `chat`, `serve` and icp-agent-mcp
workspace_option = click.option(
    "--workspace",
    "-w",
    default=DEFAULT_PATH,
    show_default=True,
    envvar="ICP_WORKSPACE",
    help="the DuckDB workspace file (env ICP_WORKSPACE)",
)


def serve_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The server's options, declared once for `icp-agent-mcp` and `icp-agent serve`: each passes them to run()."""
    options = [
        workspace_option,
        click.option(
            "--data-root",
            "data_roots",
            multiple=True,
            type=click.Path(path_type=Path),
            metavar="DIR",
            help="another folder tool calls may read (repeatable; the working directory always is)",
        ),
        click.option(
            "--out",
            "out_dir",
            type=click.Path(path_type=Path),
            help=f"folder render_document writes to (default ./{DEFAULT_OUT})",
        ),
        click.option("--http", is_flag=True, help="serve streamable HTTP at /mcp instead of stdio"),
        click.option(
            "--host",
            default="127.0.0.1",
            show_default=True,
            help="HTTP address; any other than 127.0.0.1, ::1 or localhost needs a bearer token",
        ),
        click.option(
            "--allow-host",
            "allow_hosts",
            multiple=True,
            metavar="NAME",
            help="another Host name clients may use (repeatable; e.g. the machine's DNS name when bound "
            "to 0.0.0.0); the bound address and the loopback names always are",
        ),
        click.option("--port", type=int, default=8000, show_default=True, help="HTTP port"),
        click.option(
            "--token-env",
            default="ICP_AGENT_TOKEN",
            show_default=True,
            metavar="NAME",
            help="environment variable holding the bearer token HTTP clients must send",
        ),
        click.option(
            "--log-level",
            default="WARNING",
            show_default=True,
            type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def run(
    *,
    workspace: str,
    data_roots: tuple[Path, ...] = (),
    out_dir: Path | None = None,
    http: bool = False,
    host: str = "127.0.0.1",
    allow_hosts: tuple[str, ...] = (),
    port: int = 8000,
    token_env: str = "ICP_AGENT_TOKEN",
    log_level: str = "WARNING",
) -> None:
    """Serve the workspace until the client (stdio) or the process (HTTP) stops; the workspace file is closed
    then. The options are serve_options'. A missing token for a non-loopback HTTP address is a usage error
    (exit 2) before anything starts. Logging goes to stderr: on stdio, stdout carries the protocol only."""
    logging.basicConfig(
        stream=sys.stderr, level=log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    token = os.environ.get(token_env) or None
    if http and needs_token(host) and not token:
        raise click.UsageError(
            f"refusing to serve on {host} without a bearer token: only 127.0.0.1, ::1 and localhost may go without "
            f"one (other loopback aliases included); set the environment variable {token_env} (or bind to "
            "127.0.0.1)"
        )
    from icp_agent.faces.server import create_server
    from icp_agent.workspace import Workspace

    server = create_server(Workspace(workspace), [Path.cwd(), *data_roots], out_dir=out_dir)
    if http:
        serve_http(server, host, port, token, list(allow_hosts))
    else:
        server.run()


@click.command(name="icp-agent-mcp", context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="icp-agent-mcp", message="%(prog)s %(version)s")
@serve_options
def mcp_command(**options: Any) -> None:
    """The icp-agent MCP server (stdio by default; --http for streamable HTTP at /mcp)."""
    run(**options)
