"""MCP round-trip latency on the demo workspace, in-process (mcp.Client(server)) and over stdio (a
subprocess server), p50 / p95 in ms.

Measured, interleaved call by call so other load on the machine affects each alike:
- `noop`: a tool that does nothing, registered on the same server (the floor of a tool call: protocol,
  validation, dispatch, result);
- `inspect_workspace`, `list_icp_versions` and `get_icp` (its default sections): warm read
  tools (issue 12's target: within 3 ms of the no-op);
- `build_icp`: a long write (fewer repeats).
The `- no-op` rows give each read tool's p50 minus the no-op's p50.

The SDK client checks every structured result against the tool's output schema with jsonschema (about 50 ms
for inspect_workspace's 17 kB result on a loaded 2-core machine): that is the client's cost, not the server's,
and grows with the result, so the warm rows are measured without it; `inspect_workspace (client validates)`
shows the round trip with it.

    python tools/bench_mcp.py [--repeats 100]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters
from pydantic import BaseModel

REPO = Path(__file__).resolve().parent.parent


class Nothing(BaseModel):
    """The no-op tool's result."""


def noop() -> Nothing:
    return Nothing()


def _percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50_ms": round(1000 * statistics.median(ordered), 1), "p95_ms": round(1000 * p95, 1), "n": len(ordered)}


async def _once(client: Client, tool: str, arguments: dict) -> float:
    start = time.perf_counter()
    result = await client.call_tool(tool, arguments)
    elapsed = time.perf_counter() - start
    if result.is_error:
        raise RuntimeError(f"{tool} failed: {result.content[0].text}")
    return elapsed


WARM = (("noop", {}), ("inspect_workspace", {}), ("list_icp_versions", {}), ("get_icp", {}))


async def _measure(client: Client, repeats: int, mode: str) -> list[dict]:
    await client.call_tool("import_data", {"data_dir": str(REPO / "fixtures" / "demo")})
    await client.call_tool("build_icp", {})
    validated = [await _once(client, "inspect_workspace", {}) for _ in range(max(3, repeats // 5))]
    validate = client.session.validate_tool_result

    async def unchecked(name: str, result: object) -> None:  # the client's own schema check, left out (above)
        return None

    client.session.validate_tool_result = unchecked  # type: ignore[method-assign]
    samples: dict[str, list[float]] = {tool: [] for tool, _ in WARM}
    for _ in range(3):  # warm-up: first calls import modules and fill caches
        for tool, arguments in WARM:
            await _once(client, tool, arguments)
    for _ in range(repeats):  # interleaved: each round calls every tool once
        for tool, arguments in WARM:
            samples[tool].append(await _once(client, tool, arguments))
    rows = [{"transport": mode, "tool": tool, **_percentiles(found)} for tool, found in samples.items()]
    floor = rows[0]["p50_ms"]
    rows += [
        {"transport": mode, "tool": f"{row['tool']} - no-op", "p50_ms": round(row["p50_ms"] - floor, 1)}
        for row in rows[1:]
    ]
    client.session.validate_tool_result = validate  # type: ignore[method-assign]
    rows.append({"transport": mode, "tool": "inspect_workspace (client validates)", **_percentiles(validated)})
    builds = [await _once(client, "build_icp", {}) for _ in range(max(3, repeats // 20))]
    rows.append({"transport": mode, "tool": "build_icp", **_percentiles(builds)})
    return rows


def _server(workspace: Path, out_dir: Path):  # -> MCPServer, imported late
    """The icp-agent server with one more tool, `noop`, which returns an empty result through the same path."""
    from icp_agent.faces.server import _as_tool, create_server
    from icp_agent.workspace import Workspace

    server = create_server(Workspace(workspace), [REPO], out_dir=out_dir)
    server.add_tool(_as_tool(noop), name="noop", description="does nothing")
    return server


async def _run(repeats: int) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        async with Client(_server(Path(tmp) / "inproc.duckdb", Path(tmp) / "out")) as client:
            rows += await _measure(client, repeats, "in-process")
        params = StdioServerParameters(
            command=sys.executable,
            args=[__file__, "--serve-stdio", str(Path(tmp) / "stdio.duckdb"), str(Path(tmp) / "out")],
            env=dict(os.environ),
        )  # PYTHONPATH included: the server runs the same source as this process
        async with Client(params) as client:
            rows += await _measure(client, repeats, "stdio")
    return rows


def run(repeats: int = 100) -> list[dict]:
    return anyio.run(_run, repeats)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--serve-stdio", nargs=2, metavar=("WORKSPACE", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_stdio:  # the subprocess side of the stdio measurement
        _server(Path(args.serve_stdio[0]), Path(args.serve_stdio[1])).run()
        return
    for row in run(args.repeats):
        print(json.dumps(row))


if __name__ == "__main__":
    main()
