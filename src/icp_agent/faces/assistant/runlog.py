"""The run log (run_log.json): tokens, turns, tool calls and drafts of every phase of an assisted run."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from icp_agent.faces.assistant.phases import Phase
from icp_agent.shapes import utc_timestamp

RUN_LOG = "run_log.json"


@dataclass
class Usage:
    """Tokens of a phase (or a run): input, cache read, cache creation and output, and the requests made."""

    input: int = 0
    cache_read: int = 0
    cache_creation: int = 0
    output: int = 0
    requests: int = 0

    def add(self, usage: Any) -> None:
        """Add one API response's token usage (input, cache read/creation, output) and count the request."""
        self.input += usage.input_tokens or 0
        self.cache_read += usage.cache_read_input_tokens or 0
        self.cache_creation += usage.cache_creation_input_tokens or 0
        self.output += usage.output_tokens or 0
        self.requests += 1

    def as_dict(self) -> dict[str, int]:
        """Token counts and requests as a dict for the run log."""
        return {
            "input": self.input,
            "cache_read": self.cache_read,
            "cache_creation": self.cache_creation,
            "output": self.output,
            "requests": self.requests,
        }


@dataclass
class PhaseLog:
    """One phase of the run as the log shows it: status, turns, tool calls, refusals, tokens and drafts."""

    phase: Phase
    status: str = "running"
    usage: Usage = field(default_factory=Usage)
    turns: int = 0
    tool_calls: int = 0
    refused: int = 0
    remarks: str = ""
    drafts: list[dict[str, Any]] = field(default_factory=list)
    succeeded: set[str] = field(default_factory=set)

    def as_dict(self) -> dict[str, Any]:
        """The phase's log entry: status, turns, tool calls, refused calls, token usage, drafts."""
        return {
            "key": self.phase.key,
            "number": self.phase.number,
            "title": self.phase.title,
            "status": self.status,
            "turns": self.turns,
            "tool_calls": self.tool_calls,
            "refused_calls": self.refused,
            "usage": self.usage.as_dict(),
            "drafts": self.drafts,
            **({"remarks": self.remarks} if self.remarks else {}),
        }


def total_usage(logs: Iterable[PhaseLog]) -> Usage:
    """The tokens and requests of every phase, summed."""
    total = Usage()
    for log in logs:
        for name in (f.name for f in fields(Usage)):
            setattr(total, name, getattr(total, name) + getattr(log.usage, name))
    return total


def run_log(
    *,
    model: str,
    error: Exception | None,
    started: datetime,
    version: str | None,
    limits: dict[str, int],
    prompts: Mapping[str, str],
    tools_offered: list[str],
    phases: list[PhaseLog],
    model_tool_calls: int,
    calls: list[dict[str, Any]],
    dropped: list[dict[str, str]],
) -> dict[str, Any]:
    """The run log as JSON-ready data: status, limits, prompt versions, the tools offered, each phase (turns, tool
    calls, refusals, tokens, drafts), totals, the dropped claims and every tool call in order (`by` says whether
    the model or the orchestrator made it)."""
    return {
        "model": model,
        "status": "failed" if error else "ok",
        "error": str(error) if error else None,
        "started_at": utc_timestamp(started),
        "finished_at": utc_timestamp(datetime.now(UTC)),
        "version": version,
        "limits": limits,
        "prompts": dict(prompts),
        "tools_offered": tools_offered,
        "phases": [log.as_dict() for log in phases],
        "totals": {
            "usage": total_usage(phases).as_dict(),
            "model_tool_calls": model_tool_calls,
            "orchestrator_tool_calls": sum(c["by"] == "orchestrator" for c in calls),
            "dropped_claims": len(dropped),
        },
        "dropped_claims": dropped,
        "calls": calls,
    }
