"""MCP round-trip latency on the demo workspace: a cheap tool and pattern extraction (build_icp),
in-process (mcp.Client(server)) and over stdio (a subprocess server), p50 / p95.

    python tools/bench_mcp.py [--repeats 30]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters

REPO = Path(__file__).resolve().parent.parent


def _percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50_ms": round(1000 * statistics.median(ordered), 1), "p95_ms": round(1000 * p95, 1), "n": len(ordered)}


async def _timed(client: Client, tool: str, arguments: dict, repeats: int) -> list[float]:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = await client.call_tool(tool, arguments)
        samples.append(time.perf_counter() - start)
        if result.is_error:
            raise RuntimeError(f"{tool} failed: {result.content[0].text}")
    return samples


async def _measure(client: Client, repeats: int, mode: str) -> list[dict]:
    await client.call_tool("import_data", {"data_dir": str(REPO / "fixtures" / "demo")})
    await client.call_tool("build_icp", {})
    rows = []
    for tool, arguments, count in (("list_icp_versions", {}, repeats), ("build_icp", {}, max(3, repeats // 6))):
        rows.append({"transport": mode, "tool": tool, **_percentiles(await _timed(client, tool, arguments, count))})
    return rows


async def _run(repeats: int) -> list[dict]:
    from icp_agent.faces.server import create_server
    from icp_agent.workspace import Workspace

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        server = create_server(Workspace(Path(tmp) / "inproc.duckdb"), [REPO], out_dir=Path(tmp) / "out")
        async with Client(server) as client:
            rows += await _measure(client, repeats, "in-process")
        params = StdioServerParameters(command=sys.executable, args=[
            "-m", "icp_agent.faces.server", "--workspace", str(Path(tmp) / "stdio.duckdb"), "--data-root", str(REPO)])
        async with Client(params) as client:
            rows += await _measure(client, repeats, "stdio")
    return rows


def run(repeats: int = 30) -> list[dict]:
    return anyio.run(_run, repeats)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=30)
    for row in run(parser.parse_args(argv).repeats):
        print(json.dumps(row))


if __name__ == "__main__":
    main()
