"""faces/assistant/runlog.py: token usage per phase and in all, and the run log's JSON-ready shape."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace

from icp_agent.faces.assistant.phases import PHASES
from icp_agent.faces.assistant.runlog import PhaseLog, Usage, run_log, total_usage


def response_usage(i: int, cr: int | None, cc: int | None, o: int) -> SimpleNamespace:
    """An API response's usage as the Anthropic SDK gives it (cache counts may be None)."""
    return SimpleNamespace(input_tokens=i, cache_read_input_tokens=cr, cache_creation_input_tokens=cc, output_tokens=o)


def test_usage_adds_responses_and_counts_requests():
    usage = Usage()
    usage.add(response_usage(100, 20, None, 7))
    usage.add(response_usage(50, None, 300, 3))
    assert usage.as_dict() == {"input": 150, "cache_read": 20, "cache_creation": 300, "output": 10, "requests": 2}


def test_total_usage_sums_every_phase():
    a, b = PhaseLog(PHASES[0]), PhaseLog(PHASES[1])
    a.usage.add(response_usage(10, 1, 2, 3))
    b.usage.add(response_usage(5, 0, 0, 1))
    b.usage.add(response_usage(5, 0, 0, 1))
    assert total_usage([a, b]).as_dict() == {"input": 20, "cache_read": 1, "cache_creation": 2, "output": 5,
                                             "requests": 3}  # fmt: skip
    assert total_usage([]).as_dict() == Usage().as_dict()


def test_phase_log_entry():
    log = PhaseLog(PHASES[2], status="ok", turns=3, tool_calls=4, refused=1, drafts=[{"kind": "persona"}])
    entry = log.as_dict()
    assert entry == {
        "key": "framework", "number": 3, "title": "ICP framework", "status": "ok", "turns": 3, "tool_calls": 4,
        "refused_calls": 1, "usage": Usage().as_dict(), "drafts": [{"kind": "persona"}]}  # fmt: skip
    log.remarks = "stopped at the turn limit"
    assert log.as_dict()["remarks"] == "stopped at the turn limit"


def test_run_log():
    phase = PhaseLog(PHASES[0], status="ok")
    phase.usage.add(response_usage(10, 0, 0, 2))
    calls = [{"tool": "import_data", "by": "model"}, {"tool": "get_icp", "by": "orchestrator"},
             {"tool": "build_icp", "by": "orchestrator"}]  # fmt: skip
    started = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    log = run_log(model="claude-x", error=None, started=started, version="icp-1", limits={"turns": 8},
                  prompts={"system": "1"}, tools_offered=["import_data"], phases=[phase], model_tool_calls=1,
                  calls=calls, dropped=[{"claim": "c", "problem": "p"}])  # fmt: skip
    assert json.loads(json.dumps(log)) == log  # JSON-ready
    assert (log["status"], log["error"], log["version"]) == ("ok", None, "icp-1")
    assert log["started_at"].startswith("2026-11-01T12:00:00") and log["finished_at"] >= log["started_at"]
    assert log["totals"] == {"usage": {"input": 10, "cache_read": 0, "cache_creation": 0, "output": 2, "requests": 1},
                             "model_tool_calls": 1, "orchestrator_tool_calls": 2, "dropped_claims": 1}  # fmt: skip
    assert log["phases"][0]["key"] == "assemble" and log["calls"] == calls
    failed = run_log(model="m", error=RuntimeError("API down"), started=started, version=None, limits={}, prompts={},
                     tools_offered=[], phases=[], model_tool_calls=0, calls=[], dropped=[])  # fmt: skip
    assert (failed["status"], failed["error"]) == ("failed", "API down")
