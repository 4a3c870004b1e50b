"""The real server in a subprocess: a stdio session, an HTTP session, and the HTTP transport's defences.

Non-loopback tests bind to an address of this machine (or 0.0.0.0) and connect to that same
machine only: no traffic leaves it.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import anyio
import duckdb
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from icp_agent import toolkit
from icp_agent.faces.server import create_server
from icp_agent.workspace import Workspace

CUSTOMERS = """company_id,company_name,industry,employees,customer_since,churn_date,arr,starting_arr
c1,Acme,Software,120,2023-01-05,,12000,10000
c2,Bolt,Retail,40,2022-06-01,2024-02-01,5000,6000
c3,Crane,Software,300,2021-03-15,,30000,20000
"""
INITIALIZE = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "0"}}})
SCRIPT = Path(sys.executable).parent / "icp-agent-mcp"
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "icp_agent.faces.server"]


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def data(tmp_path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "customers.csv").write_text(CUSTOMERS, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> Path:
    """A workspace with the three customers imported, once for the module (an import takes a third of a second)."""
    folder = tmp_path_factory.mktemp("data")
    (folder / "customers.csv").write_text(CUSTOMERS, encoding="utf-8")
    ws = Workspace(folder / "ws.duckdb")
    toolkit.import_data(ws, customers=folder / "customers.csv")
    return ws.path


@pytest.fixture
def workspace(imported, tmp_path, data) -> Path:
    """This test's own copy of the imported workspace (tmp_path/ws.duckdb; the export in tmp_path/data)."""
    shutil.copy(imported, tmp_path / "ws.duckdb")
    return tmp_path / "ws.duckdb"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def own_address() -> str:
    """A non-loopback IPv4 address of this machine, or 0.0.0.0 when it has none."""
    try:
        listing = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True, check=False).stdout
    except FileNotFoundError:
        return "0.0.0.0"
    found = [a for a in re.findall(r"inet (\d+\.\d+\.\d+\.\d+)", listing) if not a.startswith("127.")]
    return found[0] if found else "0.0.0.0"


class HttpServer:
    def __init__(self, tmp_path: Path, *args: str, env: dict[str, str] | None = None):
        self.log = tmp_path / f"server-{time.monotonic_ns()}.log"
        environment = {k: v for k, v in os.environ.items() if k != "ICP_AGENT_TOKEN"} | (env or {})
        with self.log.open("w") as log:
            self.process = subprocess.Popen([*COMMAND, "--http", *args], cwd=tmp_path, env=environment,
                                            stdout=log, stderr=subprocess.STDOUT)

    def wait_listening(self, host: str, port: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the server exited with {self.process.returncode}: {self.log.read_text()}")
            try:
                socket.create_connection((host, port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        pytest.fail(f"the server did not listen within {timeout} s: {self.log.read_text()}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def post(host: str, port: int, **headers: str) -> int:
    """POST an initialize request with raw headers (Host and Origin included) and return the status."""
    connection = http.client.HTTPConnection(host, port, timeout=10)
    try:
        connection.request("POST", "/mcp", INITIALIZE, headers={
            "Content-Type": "application/json", "Accept": "application/json, text/event-stream",
            **{name.replace("_", "-"): value for name, value in headers.items()}})
        return connection.getresponse().status
    finally:
        connection.close()


@pytest.mark.anyio
@pytest.mark.parametrize("launch", [[sys.executable, "-m", "icp_agent.faces.server"],
                                    [str(Path(sys.executable).parent / "icp-agent"), "serve"]],
                         ids=["icp-agent-mcp", "icp-agent serve"])
async def test_stdio_session(tmp_path, data, launch):
    ws = tmp_path / "ws.duckdb"
    params = StdioServerParameters(command=launch[0], cwd=str(tmp_path), env=dict(os.environ),
                                   args=[*launch[1:], "--workspace", str(ws), "--data-root", str(data)])
    async with Client(params) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        imported = await client.call_tool("import_data", {"customers": str(data / "customers.csv")})
        counted = await client.call_tool("query_workspace", {"sql": "SELECT count(*) AS n FROM customers"})
        refused = await client.call_tool("import_data", {"data_dir": "/etc"})
        report = (await client.read_resource("icp://import-report")).contents[0].text
    assert {"import_data", "build_icp", "query_workspace"} <= tools
    assert not imported.is_error and imported.structured_content["imported"][0]["rows_kept"] == 3
    assert counted.structured_content["rows"] == [[3]]
    assert refused.is_error and "outside the folders" in refused.content[0].text
    assert "customers.csv" in report


@pytest.mark.anyio
async def test_http_session_and_dns_rebinding_checks(tmp_path, workspace):
    port = free_port()
    server = HttpServer(tmp_path, "--port", str(port), "--workspace", str(workspace))
    try:
        server.wait_listening("127.0.0.1", port)
        async with Client(f"http://127.0.0.1:{port}/mcp") as client:
            tools = {t.name for t in (await client.list_tools()).tools}
            counted = await client.call_tool("query_workspace", {"sql": "SELECT count(*) AS n FROM customers"})
            # the new user's call over HTTP: one plain argument error, not pydantic's dump
            misnamed = await client.call_tool("score_prospects", {"path": "p.csv", "output_path": "scored.csv"})
        assert "get_icp" in tools and counted.structured_content["rows"] == [[3]]
        text = misnamed.content[0].text
        assert misnamed.is_error and "validation error" not in text and "pydantic" not in text
        assert text.splitlines()[1:3] == [
            "- path: not an argument of score_prospects; did you mean input_path?",
            "- input_path: required but not given: a non-empty string (the prospect file (CSV, Parquet or JSON lines))"]
        assert post("127.0.0.1", port) == 200
        assert post("127.0.0.1", port, Host=f"evil.example:{port}") == 421
        assert post("127.0.0.1", port, Origin="http://evil.example") == 403
    finally:
        server.stop()


def test_a_non_loopback_address_needs_a_token(tmp_path):
    port = free_port()
    server = HttpServer(tmp_path, "--host", own_address(), "--port", str(port))
    try:
        assert server.process.wait(timeout=30) != 0
    finally:
        server.stop()
    log = server.log.read_text()
    assert "without a bearer token" in log and "ICP_AGENT_TOKEN" in log


@pytest.mark.block_network(allowed_hosts=["127.0.0.1", "localhost", re.escape(own_address())])  # this machine only
@pytest.mark.anyio
async def test_with_a_token_requests_must_carry_it(tmp_path, workspace):
    host, port = own_address(), free_port()
    target = "127.0.0.1" if host == "0.0.0.0" else host
    server = HttpServer(tmp_path, "--host", host, "--port", str(port), "--workspace", str(workspace),
                        "--token-env", "ICP_TEST_TOKEN", env={"ICP_TEST_TOKEN": "s3cret-token"})
    try:
        server.wait_listening(target, port)
        assert post(target, port) == 401
        assert post(target, port, Authorization="Bearer wrong") == 401
        assert post(target, port, Authorization="s3cret-token") == 401
        assert post(target, port, Authorization="Bearer s3cret-token") == 200
        authorised = httpx2.AsyncClient(headers={"Authorization": "Bearer s3cret-token"},
                                        timeout=httpx2.Timeout(30, read=300))
        async with authorised, Client(streamable_http_client(f"http://{target}:{port}/mcp",
                                                             http_client=authorised)) as client:
            counted = await client.call_tool("query_workspace", {"sql": "SELECT count(*) AS n FROM customers"})
        assert counted.structured_content["rows"] == [[3]]
    finally:
        server.stop()


@pytest.mark.anyio
async def test_the_server_and_the_cli_share_the_workspace(tmp_path, workspace):
    """The server holds no connection between calls, so a CLI can run meanwhile; while another process holds
    the file, a call waits, then says the workspace is busy; the file stays whole."""
    server = create_server(Workspace(workspace, busy_timeout=0.5), [tmp_path])
    async with Client(server) as client:
        assert not (await client.call_tool("inspect_workspace", {})).is_error
        cli = subprocess.run([sys.executable, "-m", "icp_agent.faces.cli", "set-field-roles", "--workspace", str(workspace),
                              "industry=ignore", "--json"], capture_output=True, text=True, timeout=60)
        assert cli.returncode == 0, cli.stderr
        seen = await client.call_tool("query_workspace", {"sql": "SELECT role FROM field_roles"})
        assert seen.structured_content["rows"] == [["ignore"]]
        holder = subprocess.Popen([sys.executable, "-c", (
            "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('open', flush=True); "
            "time.sleep(30)"), str(workspace)], stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout.readline().strip() == "open"
            for name, arguments in (("inspect_workspace", {}), ("query_workspace", {"sql": "SELECT 1"}),
                                    ("set_field_roles", {"roles": {"industry": "fit"}})):
                busy = await client.call_tool(name, arguments)
                assert busy.is_error and "workspace busy" in busy.content[0].text, name
        finally:
            holder.kill()
            holder.wait()
        assert not (await client.call_tool("set_field_roles", {"roles": {"industry": "fit"}})).is_error
    con = duckdb.connect(str(workspace), read_only=True)
    try:
        assert con.execute("SELECT role FROM field_roles").fetchall() == [("fit",)]
        table = con.execute("SELECT table_name FROM imports WHERE kind = 'customers'").fetchone()[0]
        assert con.execute(f"SELECT count(*) FROM {table}").fetchone() == (3,)
    finally:
        con.close()


# --- issue 13: the token and the Host/Origin check hold on every address ------------------------------------


def test_a_loopback_alias_needs_a_token(tmp_path):
    """127.0.0.2 is loopback too, but only the three exact names go token-free: the server refuses to start."""
    port = free_port()
    server = HttpServer(tmp_path, "--host", "127.0.0.2", "--port", str(port))
    try:
        assert server.process.wait(timeout=30) == 2
    finally:
        server.stop()
    log = server.log.read_text()
    assert "refusing to serve on 127.0.0.2 without a bearer token" in log
    assert "127.0.0.1, ::1 and localhost" in log


def test_the_rebinding_guard_is_configured_for_every_address():
    from icp_agent.faces.transports import needs_token, transport_security

    assert [needs_token(h) for h in ("127.0.0.1", "::1", "localhost", "127.0.0.2", "0.0.0.0", "10.1.2.3",
                                     "LOCALHOST", "127.1")] == [False, False, False, True, True, True, True, True]
    guard = transport_security("127.0.0.2")
    assert guard.enable_dns_rebinding_protection
    assert "127.0.0.2:*" in guard.allowed_hosts and "localhost:*" in guard.allowed_hosts
    assert not any("evil" in h for h in guard.allowed_hosts)
    assert "[::1]:*" in transport_security("::1").allowed_hosts
    wildcard = transport_security("0.0.0.0", ["crm-box.internal"])
    assert "0.0.0.0:*" not in wildcard.allowed_hosts and "crm-box.internal:*" in wildcard.allowed_hosts


@pytest.mark.block_network(allowed_hosts=["127.0.0.1", "127.0.0.2", "localhost"])  # this machine only
def test_a_loopback_alias_with_a_token_still_checks_host_and_origin(tmp_path, workspace):
    host, port = "127.0.0.2", free_port()
    server = HttpServer(tmp_path, "--host", host, "--port", str(port), "--workspace", str(workspace),
                        "--token-env", "ICP_TEST_TOKEN", env={"ICP_TEST_TOKEN": "s3cret-token"})
    bearer = "Bearer s3cret-token"
    try:
        server.wait_listening(host, port)
        assert post(host, port, Authorization=bearer) == 200
        assert post(host, port) == 401
        assert post(host, port, Authorization=bearer, Host=f"evil.example:{port}") == 421
        assert post(host, port, Authorization=bearer, Host="evil.example") == 421
        assert post(host, port, Authorization=bearer, Origin="http://evil.example") == 403
    finally:
        server.stop()


# --- issue 12 item 5: the workspace stays open between calls, and is let go -----------------------------------

OTHER_PROCESS_SETS_A_ROLE = """
import sys
from icp_agent import toolkit
from icp_agent.workspace import Workspace
toolkit.set_field_roles(Workspace(sys.argv[1], busy_timeout=60), {"industry": "ignore"})
"""


def roles_of(result) -> dict[str, str]:
    return {c["field"]: c["role"] for kind in result.structured_content["kinds"] for c in kind["columns"]}


@pytest.mark.anyio
async def test_the_server_holds_the_workspace_open_and_lets_it_go(tmp_path, workspace, monkeypatch):
    """While a client is connected the file stays open (one read-only connection, a cursor per read); a write by
    the server itself is seen by the next read; when idle the file is let go so another process can write, and
    the server reads what it wrote; when the client leaves the file is closed."""
    from icp_agent import workspace as workspace_module

    monkeypatch.setattr(workspace_module, "HOLD_IDLE_S", 0.5)
    linked: list[int] = []  # the link report is computed once per state of the imports, not per look
    from icp_agent.ingest import linking

    compute = linking._link_report  # the computation itself: link_report serves it from the cache
    monkeypatch.setattr(linking, "_link_report", lambda *a, **k: linked.append(1) or compute(*a, **k))
    monkeypatch.setattr(workspace_module, "_remembered", {})  # the fixture's import computed them in this process
    key = str(workspace.resolve())
    server = create_server(Workspace(workspace), [tmp_path])
    async with Client(server) as client:
        first = await client.call_tool("inspect_workspace", {})
        assert not first.is_error and roles_of(first)["employees"] == "fit"
        assert workspace_module._anchors[key].con is not None  # held between calls
        again = await client.call_tool("inspect_workspace", {})
        assert again.structured_content == first.structured_content

        changed = await client.call_tool("set_field_roles", {"roles": {"employees": "ignore"}})
        assert not changed.is_error
        assert roles_of(await client.call_tool("inspect_workspace", {}))["employees"] == "ignore"

        # another process waits for the file (DuckDB's lock), gets it once the server is idle, and writes
        other = await anyio.to_thread.run_sync(lambda: subprocess.run(
            [sys.executable, "-c", OTHER_PROCESS_SETS_A_ROLE, str(workspace)], capture_output=True, text=True,
            timeout=120, env=dict(os.environ), check=False))
        assert other.returncode == 0, other.stderr[-2000:]
        seen = roles_of(await client.call_tool("inspect_workspace", {}))
        assert seen["industry"] == "ignore" and seen["employees"] == "ignore"
        assert len(linked) == 1  # role changes (here and in the other process) left the imports as they were
        reimported = await client.call_tool("import_data", {"customers": str(workspace.parent / "data" /
                                                                            "customers.csv")})
        assert not reimported.is_error
        after_import = len(linked)  # the import reports its own links
        await client.call_tool("inspect_workspace", {})
        assert len(linked) == after_import  # the same file again: the same snapshot, the same links
        changed_file = workspace.parent / "data" / "customers_v2.csv"
        changed_file.write_text(CUSTOMERS + "c4,Dune,Retail,80,2023-09-01,,8000,8000\n", encoding="utf-8")
        assert not (await client.call_tool("import_data", {"customers": str(changed_file)})).is_error
        after_new_import = len(linked)
        fresh = await client.call_tool("inspect_workspace", {})
        # a new snapshot: its links are computed again, once (by the import, which reports them)
        assert len(linked) == after_new_import == after_import + 1
        assert fresh.structured_content["kinds"][0]["rows_kept"] == 4
    assert key not in workspace_module._anchors  # closed with the session
    con = duckdb.connect(str(workspace))  # read-write in this process: nothing holds the file any more
    con.close()


def test_serve_and_icp_agent_mcp_share_one_set_of_options():
    """`icp-agent serve` and `icp-agent-mcp` are declared with the same options (transports.serve_options)."""
    from icp_agent.faces.cli import serve_command

    serve = serve_command()
    from icp_agent.faces.transports import mcp_command

    def options(command) -> dict[str, tuple]:
        return {p.name: (tuple(p.opts), p.default, p.multiple if hasattr(p, "multiple") else None)
                for p in command.params if p.name not in ("version", "help")}

    assert options(serve) == options(mcp_command)
    assert {"workspace", "data_roots", "out_dir", "http", "host", "allow_hosts", "port", "token_env",
            "log_level"} == set(options(serve))


def readme_terminal_check() -> str:
    """The bash block of the README's "Check the server from a terminal"."""
    text = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = text.split("### Check the server from a terminal", 1)[1]
    return re.search(r"```bash\n(.*?)```", section, flags=re.S).group(1)


@pytest.mark.skipif(not shutil.which("curl") or not shutil.which("bash"), reason="needs curl and bash")
@pytest.mark.parametrize("token", [None, "s3cret"], ids=["loopback", "with a token"])
def test_the_readmes_terminal_check_works_as_written(tmp_path, data, token):
    """The README's curl lines, run by bash as written (on a free port instead of 8000): they list every tool with
    its argument names and call one; with ICP_AGENT_TOKEN set (the server then requires it) the same lines work."""
    Workspace(tmp_path / "icp-workspace.duckdb")  # the README's default workspace name, empty
    port = free_port()
    script = readme_terminal_check().replace("8000", str(port))
    environment = {k: v for k, v in os.environ.items() if k != "ICP_AGENT_TOKEN"}
    environment["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environment.get('PATH', '')}"
    if token:
        environment["ICP_AGENT_TOKEN"] = token
    result = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=environment, capture_output=True, text=True,
                            timeout=120)
    assert "score_prospects input_path* output_path* icp_path mapping_file version" in result.stdout, result.stderr
    assert "set_field_roles roles*" in result.stdout
    called = json.loads(result.stdout.split("data: ")[-1])
    assert called["result"]["isError"] is False and called["result"]["structuredContent"]["versions"] == []

