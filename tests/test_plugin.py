"""The plugin and third-party clients: skills-ref, `claude plugin validate`, `claude mcp list`, the MCP Inspector.

The npm tools are installed once into .test-tools/ (git-ignored). Without npm these tests
skip and say why; with npm they must pass.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import DEMO, REPO

NPM_PACKAGES = ["@modelcontextprotocol/inspector@2.12.0", "@anthropic-ai/claude-code@2.1.197"]
TOOLS_DIR = REPO / ".test-tools"
VENV_BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def npm_bin() -> Path:
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed: the MCP Inspector and Claude Code checks need it")
    marker = TOOLS_DIR / "installed.json"
    if not marker.exists() or json.loads(marker.read_text()) != NPM_PACKAGES:
        subprocess.run(["npm", "install", "--prefix", str(TOOLS_DIR), "--no-audit", "--no-fund", "--loglevel=error",
                        *NPM_PACKAGES], check=True, timeout=600)
        marker.write_text(json.dumps(NPM_PACKAGES))
    return TOOLS_DIR / "node_modules" / ".bin"


def claude_env(home: Path) -> dict[str, str]:
    """A scratch HOME; uv's cache is kept in .test-tools so uvx builds the server's environment once."""
    return {**os.environ, "HOME": str(home), "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "DISABLE_AUTOUPDATER": "1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "UV_CACHE_DIR": str(TOOLS_DIR / "uv-cache"), "MCP_TIMEOUT": "180000"}


def test_skill_is_valid_per_the_agent_skills_spec():
    result = subprocess.run([str(VENV_BIN / "agentskills"), "validate", str(REPO / "skills" / "icp-agent")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("target", [".", ".claude-plugin/plugin.json"])
def test_claude_plugin_validate(npm_bin, tmp_path, target):
    result = subprocess.run([str(npm_bin / "claude"), "plugin", "validate", "--strict", target], cwd=REPO,
                            env=claude_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "Validation passed" in result.stdout, result.stdout + result.stderr


@pytest.mark.slow
def test_claude_code_connects_to_the_plugins_server(npm_bin, tmp_path):
    assert (VENV_BIN / "uvx").exists(), "uv is a dev dependency: the plugin launches the server with uvx"
    result = subprocess.run([str(npm_bin / "claude"), "--plugin-dir", str(REPO), "mcp", "list"], cwd=tmp_path,
                            env=claude_env(tmp_path), capture_output=True, text=True, timeout=600)
    assert "plugin:icp-agent:icp" in result.stdout and "Connected" in result.stdout, result.stdout + result.stderr


def inspector(npm_bin: Path, workspace: Path, out: Path, *args: str) -> subprocess.CompletedProcess:
    server = [str(VENV_BIN / "icp-agent-mcp"), "--workspace", str(workspace), "--data-root", str(DEMO.parent),
              "--out", str(out)]
    return subprocess.run([str(npm_bin / "mcp-inspector"), "--cli", *args, "--", *server], cwd=workspace.parent,
                          capture_output=True, text=True, timeout=300)


def call(npm_bin, workspace, out, tool: str, arguments: dict) -> dict:
    result = inspector(npm_bin, workspace, out, "--method", "tools/call", "--tool-name", tool,
                       "--tool-args-json", json.dumps(arguments), "--format", "json", "-q")
    assert result.returncode == 0, (tool, result.stdout[-2000:], result.stderr[-2000:])
    data = json.loads(result.stdout)
    data = data.get("result", data)
    assert not data.get("isError"), (tool, data)
    return data.get("structuredContent") or json.loads(data["content"][0]["text"])


@pytest.mark.slow
def test_the_inspector_drives_a_whole_icp_flow_over_stdio(npm_bin, tmp_path):
    workspace, out = tmp_path / "ws.duckdb", tmp_path / "out"
    listed = inspector(npm_bin, workspace, out, "--method", "tools/list", "--strict")
    assert listed.returncode == 0, listed.stdout[-2000:] + listed.stderr[-2000:]
    assert "0 errors" in listed.stderr or "error" not in listed.stderr.lower()
    names = {t["name"] for t in json.loads(listed.stdout)["tools"]}
    assert {"import_data", "build_icp", "get_icp", "get_evidence", "render_document"} <= names
    imported = call(npm_bin, workspace, out, "import_data", {"data_dir": str(DEMO)})
    assert {r["kind"] for r in imported["imported"]} >= {"customers", "deals", "contacts", "prospects"}
    built = call(npm_bin, workspace, out, "build_icp", {})
    assert built["status"] == "ok"
    evidence_id = built["tiers"][0]["evidence"][0]
    item = call(npm_bin, workspace, out, "get_evidence", {"ids": [evidence_id]})
    assert evidence_id in json.dumps(item)
    rendered = call(npm_bin, workspace, out, "render_document", {})
    assert (out / "icp.html").exists() and "icp.html" in json.dumps(rendered)
    resource = inspector(npm_bin, workspace, out, "--method", "resources/read", "--uri", "icp://current")
    assert resource.returncode == 0
    assert json.loads(json.loads(resource.stdout)["contents"][0]["text"])["schema_version"] == "1.0"
    prompt = inspector(npm_bin, workspace, out, "--method", "prompts/get", "--prompt-name", "icp_workflow")
    assert prompt.returncode == 0 and "build_icp" in prompt.stdout
    refused = inspector(npm_bin, workspace, out, "--method", "tools/call", "--tool-name", "get_evidence",
                        "--tool-args-json", json.dumps({"ids": ["Enope"]}), "--format", "json", "-q")
    assert refused.returncode == 5 or '"isError": true' in refused.stdout


def _plugin_launch(data: Path) -> tuple[str, list[str]]:
    """The plugin's launch line from .mcp.json, with Claude Code's variables substituted."""
    spec = json.loads((REPO / ".mcp.json").read_text())["mcpServers"]["icp"]
    values = {"${CLAUDE_PLUGIN_ROOT}": str(REPO), "${CLAUDE_PLUGIN_DATA}": str(data)}
    args = []
    for arg in spec["args"]:
        for name, value in values.items():
            arg = arg.replace(name, value)
        args.append(arg)
    return spec["command"], args


@pytest.mark.slow
def test_the_plugin_starts_offline_once_it_has_started_once(tmp_path):
    """uvx re-resolves a --from directory against the index on every start; the launch line tries
    the cached environment first (uvx --offline), so a laptop without network still starts it."""
    if shutil.which("sh") is None or not (VENV_BIN / "uvx").exists():
        pytest.skip("needs sh and uvx (a dev dependency)")
    command, args = _plugin_launch(tmp_path)
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
           "UV_CACHE_DIR": str(TOOLS_DIR / "uv-cache")}
    online = subprocess.run([command, *args, "--version"], env=env, capture_output=True, text=True, timeout=600)
    assert online.returncode == 0 and "icp-agent-mcp" in online.stdout, online.stderr[-2000:]
    dead_proxy = "http://127.0.0.1:9"  # nothing listens on the discard port: every request fails at once, as offline
    offline_env = {**env, "HTTPS_PROXY": dead_proxy, "HTTP_PROXY": dead_proxy, "ALL_PROXY": dead_proxy,
                   "https_proxy": dead_proxy, "http_proxy": dead_proxy, "NO_PROXY": "", "no_proxy": ""}
    plain = subprocess.run([str(VENV_BIN / "uvx"), "--from", str(REPO), "icp-agent-mcp", "--version"],
                           env=offline_env, capture_output=True, text=True, timeout=300)
    assert plain.returncode != 0, "plain uvx no longer needs the index: the offline-first launch line can go"
    offline = subprocess.run([command, *args, "--version"], env=offline_env, capture_output=True, text=True,
                             timeout=300)
    assert offline.returncode == 0 and "icp-agent-mcp" in offline.stdout, offline.stderr[-2000:]


def test_the_server_advertises_its_icon():
    from icp_agent.resources import icons

    found = {icon.mime_type: icon for icon in icons()}
    assert set(found) == {"image/png", "image/svg+xml"}
    png = base64.b64decode(found["image/png"].src.split(",", 1)[1])
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and struct.unpack(">II", png[16:24]) == (128, 128)
