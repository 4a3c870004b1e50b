"""Benchmark of the assisted run: tokens and tool calls per phase from the cassette, and the offline run's wall time.

The figures come from tests/cassettes/test_assistant/test_full_assisted_run_on_the_demo.yaml, a full assisted
run on the demo data. That cassette was recorded against tests/standin.py, whose token counts are estimates
(four characters a token, prompt caching simulated the way the API describes it), so they measure how much the
orchestrator sends and how much of it is cacheable, not a real model's bill; re-recording against the real API
gives real counts with the same code.

The budget below is what a full assisted run on the demo must stay within (tests/test_assistant.py checks it):
few tool calls because tool outputs are aggregates (no call returns rows), a largest request far below the
context window, and most prompt tokens read from the cache (system prompt, tool definitions and the
conversation so far carry cache breakpoints).

    python tools/bench_assistant.py            # prints the report as JSON
"""

from __future__ import annotations

import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CASSETTE = REPO / "tests" / "cassettes" / "test_assistant" / "test_full_assisted_run_on_the_demo.yaml"
PHASE_KEYS = {1: "assemble", 2: "patterns", 3: "framework", 4: "personas", 5: "validation"}
BUDGET = {
    "tool_calls": 15,  # calls the model makes over the five phases
    "requests": 30,  # Messages API requests
    "prompt_tokens": 180_000,  # input + cache read + cache creation, over the run
    "uncached_prompt_tokens": 40_000,  # input + cache creation: what is not read from the cache
    "largest_request_tokens": 16_000,  # the biggest single prompt: tool outputs stay aggregated
    "output": 10_000,  # tokens the model writes
    "cache_read_share": 0.7,  # at least this share of prompt tokens is read from the cache
}


def _messages(body: str) -> list[dict[str, Any]]:
    """A response body as messages: one JSON message, or the final state of a server-sent event stream."""
    if not body.lstrip().startswith("event:"):
        return [json.loads(body)]
    message: dict[str, Any] = {}
    for data in re.findall(r"^data: (.*)$", body, re.M):
        event = json.loads(data)
        if event["type"] == "message_start":
            message = {**event["message"], "content": []}
        elif event["type"] == "content_block_start":
            message["content"].append(event["content_block"])
        elif event["type"] == "message_delta":
            message["usage"] = {**message["usage"], **event["usage"]}
    return [message]


def from_cassette(path: Path = CASSETTE) -> dict[str, Any]:
    """Tokens (input, cache read, cache creation, output), requests and tool calls per phase."""
    import yaml

    phases: dict[str, dict[str, int]] = {}
    largest = 0
    for interaction in yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"]:
        if interaction["response"]["status"]["code"] != 200:
            continue
        request = json.loads(interaction["request"]["body"])
        first = "".join(b.get("text") or "" for b in request["messages"][0]["content"])
        key = PHASE_KEYS[int(re.search(r"Phase (\d) of 5", first).group(1))]
        phase = phases.setdefault(
            key, {"requests": 0, "tool_calls": 0, "input": 0, "cache_read": 0, "cache_creation": 0, "output": 0}
        )
        for message in _messages(interaction["response"]["body"]["string"]):
            usage = message["usage"]
            prompt = (
                (usage.get("input_tokens") or 0)
                + (usage.get("cache_read_input_tokens") or 0)
                + (usage.get("cache_creation_input_tokens") or 0)
            )
            largest = max(largest, prompt)
            phase["requests"] += 1
            phase["tool_calls"] += sum(b["type"] == "tool_use" for b in message["content"])
            phase["input"] += usage.get("input_tokens") or 0
            phase["cache_read"] += usage.get("cache_read_input_tokens") or 0
            phase["cache_creation"] += usage.get("cache_creation_input_tokens") or 0
            phase["output"] += usage.get("output_tokens") or 0
    totals = {name: sum(p[name] for p in phases.values()) for name in next(iter(phases.values()))}
    prompt_tokens = totals["input"] + totals["cache_read"] + totals["cache_creation"]
    totals.update(
        prompt_tokens=prompt_tokens,
        uncached_prompt_tokens=totals["input"] + totals["cache_creation"],
        largest_request_tokens=largest,
        cache_read_share=round(totals["cache_read"] / prompt_tokens, 3) if prompt_tokens else 0.0,
    )
    return {"phases": phases, "totals": totals}


def offline_wall_time(repeats: int = 1) -> float:
    """Seconds for `icp-agent run` on the demo data without the assistant (median of `repeats`)."""
    from icp_agent import toolkit
    from icp_agent.workspace import Workspace

    times = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            toolkit.run(Workspace(Path(tmp) / "ws.duckdb"), REPO / "fixtures" / "demo", Path(tmp) / "out")
            times.append(time.perf_counter() - started)
    return round(statistics.median(times), 2)


def run(offline: bool = True) -> dict[str, Any]:
    """The report: per-phase and total figures, the budget, whether the run kept it, and the offline wall time."""
    report = {
        "source": str(CASSETTE.relative_to(REPO)),
        "token_counts": "stand-in estimates (4 chars/token)",
        **from_cassette(),
        "budget": BUDGET,
    }
    totals = report["totals"]
    report["within_budget"] = all(
        totals[name] >= limit if name == "cache_read_share" else totals[name] <= limit for name, limit in BUDGET.items()
    )
    if offline:
        report["offline_run_seconds"] = offline_wall_time()
    return report


if __name__ == "__main__":
    json.dump(run(), sys.stdout, indent=2)
    print()
