"""The one list of icp-agent's operations: every face reads it.

An operation is one function of `icp_agent.toolkit`, taking a Workspace and its options model (a pydantic
model of `icp_agent.options`) and returning a pydantic model or JSON-able data. The MCP tools carry the same
names, the CLI commands the same names with dashes (build_icp -> `icp-agent build-icp`), and both generate
their parameters from the options model. This module imports nothing heavy (no pydantic, no duckdb), so
`icp-agent --help` lists the commands without loading the analysis.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Operation:
    """One operation: its name, the name of its options model in icp_agent.options, a one-line summary (the
    CLI's command list), and whether it only reads the workspace."""

    name: str
    options: str
    summary: str
    reads: bool = True
    cli: bool = True  # a command of the CLI (save_drafts and record_drafting take structured drafts a model writes:
    # MCP and Python only)

    @property
    def command(self) -> str:
        """The CLI command: the name with dashes."""
        return self.name.replace("_", "-")

    def model(self) -> Any:
        """The options model (imports pydantic)."""
        from icp_agent import options

        return getattr(options, self.options)

    def function(self) -> Callable[..., Any]:
        """The toolkit function (imports the toolkit, and with it duckdb)."""
        from icp_agent import toolkit

        return getattr(toolkit, self.name)


OPERATIONS: tuple[Operation, ...] = (
    Operation("import_data", "ImportOptions", "Import CRM exports (files and folders) as new snapshots.", False),
    Operation(
        "inspect_workspace",
        "InspectOptions",
        "Show what the workspace holds: per column its field, role, type, % missing, examples.",
    ),
    Operation(
        "set_field_roles", "SetFieldRolesOptions", "Override field roles: time_zone=ignore lead_source=fit.", False
    ),
    Operation("score_health", "HealthOptions", "Phase 1 alone: how good is defined, cohorts and their metrics."),
    Operation(
        "find_patterns", "FindPatternsOptions", "Phase 2 alone: the traits that over-index among the best or the worst."
    ),
    Operation("build_icp", "AnalysisOptions", "Build the ICP from what the workspace holds (a new version).", False),
    Operation("get_icp", "VersionOptions", "Show an ICP version (default: the latest)."),
    Operation("list_icp_versions", "NoOptions", "List the ICP versions in the workspace."),
    Operation("get_evidence", "EvidenceOptions", "Show evidence items by id: statement, figures, query."),
    Operation("list_evidence", "ListEvidenceOptions", "List the evidence items of an ICP version."),
    Operation(
        "get_persona_evidence",
        "PersonaEvidenceOptions",
        "Who buys in one tier: titles, seniority, departments, quotes.",
        False,
    ),
    Operation(
        "save_drafts",
        "SaveDraftsOptions",
        "Save drafted personas and rationale, if every claim is grounded.",
        False,
        cli=False,
    ),
    Operation(
        "record_drafting",
        "RecordDraftingOptions",
        "Save drafted tier narratives, interview themes and the drafting record, if every claim is grounded.",
        False,
        cli=False,
    ),
    Operation("fit_scorecard", "VersionOptions", "Fit the lead score again on an ICP version.", False),
    Operation("validate_icp", "ValidateOptions", "Phase 5 again: unit economics, backtest, market.", False),
    Operation("score_prospects", "ScoreOptions", "Score a prospect list with the ICP (every row kept).", False),
    Operation("diff_icp_versions", "DiffOptions", "Compare two ICP versions (default: the last two).", False),
    Operation("query_workspace", "QueryOptions", "Run one read-only SQL query over the workspace."),
    Operation("render_document", "RenderOptions", "Write the ICP document, icp.json and the scoring matrix.", False),
)

BY_NAME = {op.name: op for op in OPERATIONS}


def operation(options: Any, *, positional: tuple[str, ...] = ()) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Make `impl(ws, params, [progress])` an operation taking its `options` model, or the same fields as keywords.

    The returned function is called `f(ws, params)`, `f(ws, **fields)` or, for older callers, with the fields
    named in `positional` in that order (`get_icp(ws, "icp-...")`); a model of another options class (build
    options passed to score_health) gives the fields this one has. A callable after them is the progress
    callback. Invalid fields are an ArgumentError naming the field. `f.options` is the model."""
    from icp_agent.options import parse

    def wrap(impl: Callable[..., T]) -> Callable[..., T]:
        progressive = "progress" in inspect.signature(impl).parameters

        @functools.wraps(impl)
        def call(ws: Any, *args: Any, progress: Any = None, **fields: Any) -> T:
            args_left = list(args)
            given: dict[str, Any] = {}
            base = None
            # a model first (or None for "the defaults" when the operation takes no positional fields)
            if args_left and (hasattr(args_left[0], "model_dump") or (args_left[0] is None and not positional)):
                first = args_left.pop(0)
                if isinstance(first, options):
                    base = first
                elif first is not None:  # another operation's options: the fields this one has
                    given = first.model_dump(include=set(options.model_fields), exclude_unset=True)
            named = {}
            for name in positional:
                if args_left and not callable(args_left[0]):
                    named[name] = args_left.pop(0)
            if progressive and len(args_left) == 1 and (args_left[0] is None or callable(args_left[0])):
                progress = args_left.pop(0)
            if args_left:
                raise TypeError(f"{impl.__name__}: unexpected positional arguments {args_left!r}")
            if base is not None and not (named or fields):
                params = base
            else:
                start = base.model_dump(exclude_unset=True) if base is not None else given
                params = parse(options, {**start, **named, **fields})
            # in a copy of the caller's context: what an operation sets for its own work (the money signs of its
            # labels, tiers.criteria.MONEY_SIGNS) ends with it
            work = contextvars.copy_context()
            return work.run(impl, ws, params, progress) if progressive else work.run(impl, ws, params)

        call.options = options  # type: ignore[attr-defined]
        return call

    return wrap
