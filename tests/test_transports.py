"""faces/transports.py: the bearer-token middleware, which bind addresses need a token, the Host/Origin guard
and the server's shared options. Nothing is served: the middleware is driven with ASGI messages directly."""

from __future__ import annotations

import asyncio

import click
import pytest
from click.testing import CliRunner

from icp_agent.errors import UserError
from icp_agent.faces.transports import (
    BearerTokenMiddleware,
    mcp_command,
    needs_token,
    run,
    serve_http,
    transport_security,
)


def call(middleware: BearerTokenMiddleware, scope: dict) -> tuple[list[dict], list[dict]]:
    """(messages the middleware sent, scopes the wrapped app received)."""
    sent: list[dict] = []
    reached: list[dict] = []

    async def app(scope, receive, send):
        reached.append(scope)

    async def send(message):
        sent.append(message)

    async def receive():
        return {}

    middleware.app = app
    asyncio.run(middleware(scope, receive, send))
    return sent, reached


def test_bearer_token_middleware():
    middleware = BearerTokenMiddleware(None, "s3cret")
    sent, reached = call(middleware, {"type": "http", "headers": [(b"authorization", b"Bearer s3cret")]})
    assert sent == [] and len(reached) == 1
    for headers in ([], [(b"authorization", b"Bearer wrong")], [(b"authorization", b"s3cret")]):
        sent, reached = call(middleware, {"type": "http", "headers": headers})
        assert reached == [] and sent[0]["status"] == 401
        assert (b"www-authenticate", b'Bearer realm="icp-agent"') in sent[0]["headers"]
        assert b"unauthorized" in sent[1]["body"]
    sent, reached = call(middleware, {"type": "lifespan"})  # not a request: passed through
    assert sent == [] and len(reached) == 1


def test_only_the_exact_loopback_names_go_without_a_token():
    assert [needs_token(h) for h in ("127.0.0.1", "::1", "localhost")] == [False, False, False]
    assert [needs_token(h) for h in ("127.0.0.2", "0.0.0.0", "192.168.1.5", "::", "LOCALHOST")] == [True] * 5


def test_transport_security_allows_the_bound_address_and_loopback_names():
    guard = transport_security("192.168.1.5", ["icp.example"])
    assert guard.enable_dns_rebinding_protection
    assert guard.allowed_hosts == [
        "127.0.0.1", "127.0.0.1:*", "localhost", "localhost:*", "[::1]", "[::1]:*", "192.168.1.5", "192.168.1.5:*",
        "icp.example", "icp.example:*"]  # fmt: skip
    assert "https://icp.example:*" in guard.allowed_origins and "http://192.168.1.5" in guard.allowed_origins
    assert len(guard.allowed_origins) == 4 * 5  # two schemes, with and without a port, per name
    # a wildcard bind address is no Host name; an IPv6 address is bracketed as in a Host header
    assert "0.0.0.0" not in transport_security("0.0.0.0").allowed_hosts
    assert "[fe80::1]:*" in transport_security("fe80::1").allowed_hosts
    assert transport_security("localhost").allowed_hosts.count("localhost") == 1


def test_serving_without_a_token_on_another_address_is_refused(monkeypatch, tmp_path):
    with pytest.raises(UserError, match=r"refusing to serve on 0\.0\.0\.0 without a bearer token"):
        serve_http(None, "0.0.0.0", 8000, None)  # type: ignore[arg-type]
    monkeypatch.delenv("NO_SUCH_TOKEN", raising=False)
    with pytest.raises(click.UsageError) as caught:
        run(workspace=str(tmp_path / "ws.duckdb"), http=True, host="10.0.0.1", token_env="NO_SUCH_TOKEN")
    assert "set the environment variable NO_SUCH_TOKEN" in str(caught.value)
    assert not (tmp_path / "ws.duckdb").exists()  # refused before anything started


def test_mcp_command_options():
    result = CliRunner().invoke(mcp_command, ["--help"])
    assert result.exit_code == 0
    for option in ("--workspace", "--data-root", "--out", "--http", "--host", "--allow-host", "--port",
                   "--token-env", "--log-level"):  # fmt: skip
        assert option in result.output
    result = CliRunner().invoke(mcp_command, ["--http", "--host", "10.0.0.1", "--token-env", "NO_SUCH_TOKEN"])
    assert result.exit_code == 2 and "without a bearer token" in result.output
