"""The method's five phases as the assisted run enforces them: the tools each may use, and the one that must have
succeeded before it ends."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from icp_agent.errors import UserError

PERSONA_TOOL = "get_persona_evidence"


@dataclass(frozen=True)
class Phase:
    """A phase of the method: its key, number and title, the tools the model may call in it, and the one that must
    have succeeded before it ends (None: the phase drafts and needs no tool)."""

    key: str
    number: int
    title: str
    tools: frozenset[str]
    required: str | None = None  # the tool that must have succeeded before the phase may end


PHASES = (
    Phase(
        "assemble",
        1,
        "Data assembly and customer scoring",
        frozenset({"import_data", "inspect_workspace", "set_field_roles", "score_health"}),
        "import_data",
    ),
    Phase(
        "patterns",
        2,
        "Pattern extraction",
        frozenset({"find_patterns", "set_field_roles", "score_health", "query_workspace"}),
        "find_patterns",
    ),
    Phase(
        "framework",
        3,
        "ICP framework",
        frozenset({"build_icp", "get_icp", "get_evidence", "list_evidence"}),
        "build_icp",
    ),
    Phase("personas", 4, "Buyer personas", frozenset({PERSONA_TOOL, "get_evidence", "get_icp"})),
    Phase(
        "validation",
        5,
        "Validation and operationalisation",
        frozenset({"get_icp", "get_evidence", "list_evidence", "query_workspace"}),
    ),
)
OFFERED_TOOLS = frozenset().union(*(p.tools for p in PHASES))  # what Claude sees; the rest is not the model's
ANALYSIS_TOOLS = frozenset({"score_health", "find_patterns", "build_icp"})  # they take the AnalysisOptions
PHASE_KEYS = tuple(p.key for p in PHASES)


def phases_of(keys: Sequence[str] | None) -> list[Phase]:
    """The phases to run, in the method's order (a redraft on a built workspace may skip phase 1)."""
    if keys is None:
        return list(PHASES)
    unknown = [k for k in keys if k not in PHASE_KEYS]
    if unknown:
        raise UserError(f"unknown phase(s) {unknown}", hint=f"phases: {', '.join(PHASE_KEYS)}")
    return [p for p in PHASES if p.key in keys]
