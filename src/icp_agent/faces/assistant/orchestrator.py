"""The assisted run: Claude works through the method's five phases over our own MCP server.

The orchestrator is only an MCP client of the server (in process by default, or a remote one over streamable
HTTP): it lists the server's tools, hands their schemas to Claude, and runs the calls Claude asks for over MCP, so
what Claude sees here is what Claude Desktop sees through the plugin. Everything it reads or saves itself (the
outline, evidence, drafts, the drafting record, the document) goes through tools and resources as well.

Within a phase the model chooses the tools and their arguments; the orchestrator enforces the phase order (a tool
of another phase is refused with a message naming the right phase), a tool-call budget for the whole run and a
turn limit per conversation, and records every call, every prompt version and the tokens of every phase in the
run log.

Evidence reaches the model as `search_result` blocks (source `evidence://<id>`, citations on), so its prose
comes back with citations; each cited sentence becomes a claim whose evidence is what it cites. Claims go
through the same grounding checker as every other drafter (plus a check that no instruction found in customer
data was acted on); a draft that fails is sent back once with its problems, and what still fails is dropped and
reported in icp.json's `drafting.dropped_claims`. Personas and rationale are saved through the save_drafts
tool; scores, tiers, criteria and disqualifiers come from the tools only, and nothing the model writes
changes them. A run that fails half way keeps what the tools computed and writes the document and the run log
all the same.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anthropic
import anyio
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult
from pydantic import BaseModel, Field

from icp_agent.drafting.offline import OFFLINE_DRAFTER
from icp_agent.errors import UserError
from icp_agent.evidence import EvidenceItem
from icp_agent.faces.assistant.bridge import (
    ToolCaller,
    claude_tools,
    plain,
    tool_result_content,
    user_message,
    with_cache_breakpoints,
)
from icp_agent.faces.assistant.claude import (
    AssistantError,
    explain,
    make_client,
    resolve_model,
)
from icp_agent.faces.assistant.connection import RemoteServer, connect, in_process
from icp_agent.faces.assistant.drafts import (
    Claimed,
    Draft,
    Finding,
    check_draft,
    parse_draft,
)
from icp_agent.faces.assistant.phases import (
    ANALYSIS_TOOLS,
    OFFERED_TOOLS,
    PERSONA_TOOL,
    PHASES,
    Phase,
    phases_of,
)
from icp_agent.faces.assistant.prompts import Prompts
from icp_agent.faces.assistant.runlog import RUN_LOG, PhaseLog, run_log, total_usage
from icp_agent.personas.buyers import ROLES

if TYPE_CHECKING:
    from icp_agent.toolkit import AnalysisOptions
    from icp_agent.workspace import Workspace

DRAFTER = "claude"
SAVE_TOOL = "save_drafts"
RECORD_TOOL = "record_drafting"
DEFAULT_BUDGET = 40
DEFAULT_TURNS = 10
MAX_TOKENS = 8192


@dataclass
class Outline:
    """What phases 3 and 4 draft for: the built version's tiers and disqualifiers."""

    version: str
    status: str
    tiers: list[dict[str, Any]]
    disqualifiers: list[dict[str, Any]]

    def tier(self, target: str) -> dict[str, Any] | None:
        """The tier named "ICP n Tier m" or by its name (case, spaces and backticks ignored), or None."""
        key = _norm(target)
        return next(
            (t for t in self.tiers if key in (_norm(f"{t['segment']} Tier {t['tier']}"), _norm(t["name"]))), None
        )

    def disqualifier(self, target: str) -> dict[str, Any] | None:
        """The disqualifier with this label (case, spaces and backticks ignored), or None."""
        key = _norm(target)
        return next((d for d in self.disqualifiers if _norm(d["label"]) == key), None)


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("`", "")).strip().lower()


class AssistedRun(BaseModel):
    """What an assisted run (run --assistant) did: status, files written, tool calls, token usage."""

    status: str = Field(description="ok, or failed (see error): a failed run keeps what the tools computed")
    error: str | None = None
    model: str
    version: str | None = Field(None, description="the ICP version drafted for")
    out_dir: str
    files: list[str] = Field(default_factory=list, description="files written into out_dir")
    server_files: list[str] = Field(
        default_factory=list, description="with a remote server: the document files it wrote into its own output folder"
    )
    tool_calls: int = Field(0, description="tool calls the model made (the budget counts these)")
    usage: dict[str, int] = Field(default_factory=dict, description="tokens over the whole run")
    dropped_claims: int = 0


class Orchestrator:
    """One assisted run: the phases in order, each a conversation with Claude over the server's tools."""

    def __init__(
        self,
        mcp: Client,
        claude: anthropic.AsyncAnthropic,
        out_dir: Path,
        *,
        model: str,
        budget: int = DEFAULT_BUDGET,
        max_turns: int = DEFAULT_TURNS,
        options: AnalysisOptions | None = None,
        max_tokens: int = MAX_TOKENS,
        progress: Callable[[str], None] | None = None,
        remote: bool = False,
    ) -> None:
        self.mcp, self.claude, self.out_dir, self.remote = mcp, claude, out_dir, remote
        self.model, self.budget, self.max_turns, self.max_tokens = model, budget, max_turns, max_tokens
        self.options = options.model_dump(exclude_defaults=True) if options else {}
        self.progress = progress or (lambda _message: None)
        self.prompts = Prompts()
        self.tool = ToolCaller(mcp)
        self.system: list[Any] = []  # Anthropic request params, built as plain dicts
        self.tools: list[Any] = []
        self.phase_logs: list[PhaseLog] = []
        self.model_calls = 0
        self.outline: Outline | None = None
        self.evidence: dict[str, EvidenceItem] = {}
        self.unknown_ids: set[str] = set()
        self.titles_seen: dict[tuple[str, int], dict[str, list[str]]] = {}
        self.narratives: list[dict[str, Any]] = []
        self.themes: dict[str, list[dict[str, Any]]] = {}
        self.summaries: dict[str, list[dict[str, Any]]] = {}
        self.gaps: dict[tuple[str, int, str], list[str]] = {}
        self.saved_personas: set[tuple[str, int, str]] = set()
        self.dropped: list[dict[str, str]] = []
        self.error: AssistantError | None = None
        self.started = datetime.now(UTC)

    @property
    def built(self) -> Outline:
        """The outline drafted for; phases 3 to 5 run only once it is loaded."""
        if self.outline is None:
            raise AssistantError("no ICP version to draft for", hint="run the phases from the start first")
        return self.outline

    # -- the run --

    async def run(self, phases: Sequence[Phase]) -> AssistedRun:
        """Run the phases in order, Claude over the MCP server's tools; an AssistantError ends the run with status
        failed, keeping what the tools computed.
        """
        self.system = [{"type": "text", "text": self.prompts.render("system"), "cache_control": {"type": "ephemeral"}}]
        self.tools = claude_tools((await self.mcp.list_tools()).tools, OFFERED_TOOLS)
        try:
            if "framework" not in {p.key for p in phases}:  # a redraft: the drafts are for the current version
                await self._load_outline(None, required=any(p.number > 3 for p in phases))
            for phase in phases:
                log = PhaseLog(phase)
                self.phase_logs.append(log)
                self.progress(f"phase {phase.number}/5: {phase.title.lower()}")
                await getattr(self, f"_{phase.key}")(phase, log)
                log.status = "ok" if log.status == "running" else log.status
                if phase.key in ("framework", "personas"):
                    await self._persist()
        except AssistantError as exc:
            self.error = exc
            if self.phase_logs:
                self.phase_logs[-1].status = "failed"
        return await self._finish()

    async def _until_required(self, phase: Phase, log: PhaseLog, messages: list[dict[str, Any]]) -> Any:
        """Converse; if the phase's required tool has not succeeded by the end, say so once; then give up."""
        reply = await self._converse(phase, log, messages)
        if phase.required and phase.required not in log.succeeded:
            messages.append(
                user_message(
                    f"{phase.required} has not succeeded yet, and phase {phase.number} ends only "
                    f"when it has. Call it now."
                )
            )
            reply = await self._converse(phase, log, messages)
        if phase.required and phase.required not in log.succeeded:
            raise AssistantError(
                f"the model ended phase {phase.number} ({phase.title}) without a successful {phase.required} call",
                hint=f"see {RUN_LOG} for its tool calls; `icp-agent run` without --assistant runs "
                "every step deterministically",
            )
        return reply

    async def _assemble(self, phase: Phase, log: PhaseLog) -> None:
        messages = [user_message(self.prompts.render("phase_1", options=self.options))]
        log.remarks = _plain_text(await self._until_required(phase, log, messages))

    async def _patterns(self, phase: Phase, log: PhaseLog) -> None:
        messages = [user_message(self.prompts.render("phase_2", options=self.options))]
        log.remarks = _plain_text(await self._until_required(phase, log, messages))

    async def _framework(self, phase: Phase, log: PhaseLog) -> None:
        messages = [user_message(self.prompts.render("phase_3", options=self.options))]
        reply = await self._until_required(phase, log, messages)
        outline = self.built
        draft = await self._draft(phase, log, messages, {"summary"}, "patterns summary", reply)
        self.summaries["patterns"] = [_claim_dict(c) for c in draft.claims]
        if outline.tiers:
            messages.append(
                user_message(self.prompts.render("narrative", version=outline.version, tiers=outline.tiers))
            )
            draft = await self._draft(phase, log, messages, {"narrative"}, "tier narratives")
            for target, claims in draft.of("narrative").items():
                if (tier := outline.tier(target)) is None:
                    continue  # the check has dropped claims under an unknown tier already
                self.narratives = [n for n in self.narratives if n["tier_name"] != tier["name"]]
                # who drafted it goes once, with the record (record_drafting's drafter and model)
                self.narratives.append({"tier_name": tier["name"], "claims": [_claim_dict(c) for c in claims]})
        if outline.disqualifiers:
            messages.append(
                user_message(
                    self.prompts.render("rationale", version=outline.version, disqualifiers=outline.disqualifiers)
                )
            )
            draft = await self._draft(phase, log, messages, {"rationale"}, "negative ICP rationale")
            rationales = [
                {
                    "disqualifier": disqualifier["label"],
                    "claims": [{**_claim_dict(c), "section": "rationale"} for c in claims],
                }
                for target, claims in draft.of("rationale").items()
                if (disqualifier := outline.disqualifier(target)) is not None
            ]
            await self._save(phase, rationales=rationales)

    async def _personas(self, phase: Phase, log: PhaseLog) -> None:
        if self.outline is None or not self.outline.tiers:
            log.status = "skipped: no tiers in this ICP"
            return
        for tier in self.outline.tiers:
            self.progress(f"phase 4/5: personas of {tier['segment']} Tier {tier['tier']}")
            opening = self.prompts.render("phase_4") + "\n\n" + self.prompts.render("persona", tier=tier)
            messages = [user_message(opening)]
            draft = await self._draft(
                phase, log, messages, {"persona", "theme"}, f"personas of {tier['segment']} Tier {tier['tier']}"
            )
            seen = self.titles_seen.get((tier["segment"], tier["tier"]), {})
            personas = []
            for target, claims in draft.of("persona").items():
                role = _norm(target)
                titles = draft.titles.get(("persona", target), [])
                known = {_norm(t).rstrip(".") for t in seen.get(role, [])}
                for title in titles:
                    if _norm(title).rstrip(".") not in known:
                        self.dropped.append(
                            {
                                "where": f"Persona: {role} / titles",
                                "claim": title,
                                "drafter": DRAFTER,
                                "problem": "not a title of this role's contacts on won deals",
                            }
                        )
                personas.append(
                    {
                        "segment": tier["segment"],
                        "tier": tier["tier"],
                        "role": role,
                        "title_patterns": [t for t in titles if _norm(t).rstrip(".") in known],
                        "claims": [_claim_dict(c) for c in claims],
                    }
                )
                self.gaps[(tier["segment"], tier["tier"], role)] = draft.gaps.get(("persona", target), [])
            for name, claims in draft.of("theme").items():
                kept = self.themes.setdefault(name, [])
                cited = {tuple(c["evidence"]) for c in kept}
                kept += [_claim_dict(c) for c in claims if tuple(c.evidence) not in cited]
            await self._save(phase, personas=personas)

    async def _validation(self, phase: Phase, log: PhaseLog) -> None:
        if self.outline is None or not self.outline.tiers:
            log.status = "skipped: no tiers to validate in this ICP"
            return
        messages = [user_message(self.prompts.render("phase_5", version=self.outline.version))]
        draft = await self._draft(phase, log, messages, {"summary"}, "validation summary")
        self.summaries["validation"] = [_claim_dict(c) for c in draft.claims]

    # -- conversations --

    async def _converse(self, phase: Phase, log: PhaseLog, messages: list[dict[str, Any]]) -> Any:
        """Ask Claude, run the tool calls it makes, until it answers without one; return that answer."""
        for _ in range(self.max_turns):
            log.turns += 1
            try:
                reply = await self.claude.messages.create(
                    model=self.model,
                    max_tokens=self.max_tokens,
                    system=self.system,
                    tools=self.tools,
                    messages=with_cache_breakpoints(messages),
                )
            except anthropic.AnthropicError as exc:
                raise explain(exc, self.model) from exc
            log.usage.add(reply.usage)
            messages.append({"role": "assistant", "content": [b.to_dict() for b in reply.content]})
            uses = [b for b in reply.content if b.type == "tool_use"]
            if reply.stop_reason != "tool_use" or not uses:
                return reply
            messages.append({"role": "user", "content": [await self._model_call(phase, log, b) for b in uses]})
        raise AssistantError(
            f"the model was still calling tools after {self.max_turns} turns in phase {phase.number} ({phase.title})",
            hint=f"see {RUN_LOG} for its calls; what the tools computed is kept",
        )

    async def _model_call(self, phase: Phase, log: PhaseLog, use: Any) -> dict[str, Any]:
        if self.model_calls >= self.budget:
            recent = ", ".join(c["name"] for c in self.tool.calls[-5:] if c["by"] == "model")
            raise AssistantError(
                f"the model used up its budget of {self.budget} tool calls in phase {phase.number} "
                f"({phase.title}); its last calls: {recent}",
                hint=f"the run stopped and kept what the tools computed; raise --budget if this data "
                f"really needs more calls, and see {RUN_LOG}",
            )
        self.model_calls += 1
        log.tool_calls += 1
        arguments = dict(use.input or {})
        if use.name in ANALYSIS_TOOLS:
            arguments.update(self.options)  # the user's analysis options win over the model's
        if use.name not in phase.tools:
            owner = next((p for p in PHASES if use.name in p.tools), None)
            reason = (
                f"{use.name} is not a tool of phase {phase.number} ({phase.title})"
                + (f"; it belongs to phase {owner.number} ({owner.title})" if owner else "")
                + f". Phases run in order: use {', '.join(sorted(phase.tools))}."
            )
            log.refused += 1
            self.tool.refused(use.name, arguments, reason, phase.key)
            return {
                "type": "tool_result",
                "tool_use_id": use.id,
                "is_error": True,
                "content": [{"type": "text", "text": reason}],
            }
        self.progress(f"phase {phase.number}/5: {use.name}")
        result = await self.tool(use.name, arguments, by="model", phase=phase.key)
        self._learn(use.name, arguments, result)
        if not result.is_error:
            log.succeeded.add(use.name)
            if use.name == "build_icp":
                await self._load_outline(phase)
        content, is_error = tool_result_content(result)
        return {"type": "tool_result", "tool_use_id": use.id, "content": content, "is_error": is_error}

    def _learn(self, name: str, arguments: dict[str, Any], result: CallToolResult) -> None:
        """Keep full evidence items the model has read (the checker needs them) and the titles per buying role."""
        data = result.structured_content
        if result.is_error or not isinstance(data, dict):
            return
        for item in data.get("items") or []:
            if isinstance(item, dict) and {"id", "kind", "statement", "metrics"} <= set(item):
                self.evidence[item["id"]] = EvidenceItem(**item)
        if name == PERSONA_TOOL and isinstance(data.get("roles"), dict):
            key = (arguments.get("segment", "ICP 1"), int(arguments.get("tier", 1)))
            self.titles_seen[key] = {
                role: [t["value"] for t in summary.get("titles", [])] for role, summary in data["roles"].items()
            }

    async def _draft(
        self, phase: Phase, log: PhaseLog, messages: list[dict[str, Any]], kinds: set[str], what: str, reply: Any = None
    ) -> Draft:
        """A cited draft (the reply given, or the next one), checked; sent back once with its problems; what still
        fails is dropped and reported."""
        draft = parse_draft((reply or await self._converse(phase, log, messages)).content, kinds)
        findings = await self._check(draft)
        record = {
            "draft": what,
            "claims": len(draft.claims),
            "refused": len({id(f.claim) for f in findings}),
            "dropped": 0,
        }
        log.drafts.append(record)
        if not findings:
            return draft
        messages.append(user_message(self.prompts.render("repair", problems=[f.as_dict() for f in findings])))
        repair = parse_draft((await self._converse(phase, log, messages)).content, kinds)
        draft = draft.without(f.claim for f in findings).merged(repair)
        remaining = await self._check(draft)
        record["dropped"] = len({id(f.claim) for f in remaining})
        self.dropped += [{**f.as_dict(), "drafter": DRAFTER} for f in remaining]
        return draft.without(f.claim for f in remaining)

    async def _check(self, draft: Draft) -> list[Finding]:
        await self._fetch_evidence({i for c in draft.claims for i in c.evidence})
        findings = check_draft(draft, self.evidence)
        for claim in draft.claims:
            problem = self._target_problem(claim)
            if problem:
                findings.append(Finding(claim, problem))
        return findings

    def _target_problem(self, claim: Claimed) -> str | None:
        outline = self.built
        if claim.kind == "narrative" and outline.tier(claim.target) is None:
            names = "; ".join(f"{t['segment']} Tier {t['tier']}" for t in outline.tiers)
            return f"no tier of that name; tiers: {names}"
        if claim.kind == "rationale" and outline.disqualifier(claim.target) is None:
            return "no disqualifier of that name; disqualifiers: " + "; ".join(
                d["label"] for d in outline.disqualifiers
            )
        if claim.kind == "persona" and _norm(claim.target) not in ROLES:
            return f"not a buying role of the method ({', '.join(ROLES)})"
        return None

    async def _fetch_evidence(self, ids: set[str]) -> None:
        """The full evidence items behind cited ids, through get_evidence (20 at a time; one by one on an error)."""
        missing = sorted(ids - set(self.evidence) - self.unknown_ids)
        for start in range(0, len(missing), 20):
            chunk = missing[start : start + 20]
            if not await self._get_evidence(chunk):
                for evidence_id in chunk:
                    if not await self._get_evidence([evidence_id]):
                        self.unknown_ids.add(evidence_id)

    async def _get_evidence(self, ids: list[str]) -> bool:
        result = await self.tool(
            "get_evidence",
            {"ids": ids, "version": self.built.version},
            by="orchestrator",
            phase=self.phase_logs[-1].phase.key if self.phase_logs else None,
        )
        self._learn("get_evidence", {}, result)
        return not result.is_error

    async def _load_outline(self, phase: Phase | None, required: bool = True) -> None:
        """The version's tiers and disqualifiers, read over MCP (after build_icp, or at the start of a redraft)."""
        result = await self.tool(
            "get_icp", {"sections": ["tiers", "negative_icp"]}, by="orchestrator", phase=phase.key if phase else None
        )
        if result.is_error:
            if required:
                raise AssistantError(
                    f"no ICP to draft for: {plain(result)}",
                    hint="run the phases from the start (or `icp-agent run`) first",
                )
            return
        data = result.structured_content
        self.outline = Outline(
            version=data["id"],
            status=data["status"],
            tiers=[
                {"segment": t["segment"], "tier": t["tier"], "name": t["name"], "evidence": t["evidence"]}
                for t in data.get("tiers") or []
            ],
            disqualifiers=[
                {"label": " AND ".join(c["label"] for c in d["criteria"]), "evidence": d["evidence"]}
                for d in data.get("negative_icp") or []
            ],
        )

    async def _save(
        self,
        phase: Phase,
        *,
        personas: list[dict[str, Any]] | None = None,
        rationales: list[dict[str, Any]] | None = None,
    ) -> None:
        """Through the save_drafts tool: it runs the grounding checker again and refuses anything ungrounded."""
        personas = [p for p in personas or [] if p["claims"]]
        rationales = [r for r in rationales or [] if r["claims"]]
        if not personas and not rationales:
            return
        arguments = {"personas": personas, "rationales": rationales, "model": self.model, "version": self.built.version}
        result = await self.tool(SAVE_TOOL, arguments, by="orchestrator", phase=phase.key)
        saved = result.structured_content or {}
        if result.is_error or not saved.get("saved"):
            problems = saved.get("problems") or [{"claim": "(all)", "problem": plain(result)}]
            self.dropped += [{"where": "save_drafts", "drafter": DRAFTER, **p} for p in problems]
        else:
            self.saved_personas |= {(p["segment"], p["tier"], p["role"]) for p in personas}

    # -- results --

    async def _persist(self) -> None:
        """Narratives, themes, persona gaps and the drafting record into the ICP version through the record_drafting
        tool (which checks every claim again): the save_drafts tool carries personas and rationale only. The
        dropped claims of other drafters (the offline one's) are read first and kept."""
        if self.outline is None:
            return
        phase = self.phase_logs[-1].phase.key if self.phase_logs else None
        current = await self.tool(
            "get_icp", {"version": self.outline.version, "sections": ["drafting"]}, by="orchestrator", phase=phase
        )
        drafting = (current.structured_content or {}).get("drafting") or {}
        earlier = [d for d in drafting.get("dropped_claims", []) if d.get("drafter") != DRAFTER]
        arguments = {
            "version": self.outline.version,
            "drafter": DRAFTER,
            "model": self.model,
            "narratives": self.narratives,
            "themes": [{"theme": name, "claims": claims} for name, claims in self.themes.items() if claims],
            "persona_gaps": [
                {"segment": segment, "tier": tier, "role": role, "gaps": self.gaps.get((segment, tier, role), [])}
                for segment, tier, role in sorted(self.saved_personas)
            ],
            "record": {
                "fallback_drafter": OFFLINE_DRAFTER,
                "prompt_versions": dict(self.prompts.versions),
                "summaries": self.summaries,
                "dropped_claims": earlier + self.dropped,
                "assisted_run": {
                    "status": "failed" if self.error else "ok",
                    "error": str(self.error) if self.error else None,
                    "phases": [p.phase.key for p in self.phase_logs if p.status == "ok"],
                    "run_log": RUN_LOG,
                },
            },
        }
        result = await self.tool(RECORD_TOOL, arguments, by="orchestrator", phase=phase)
        if result.is_error:
            raise AssistantError(
                f"the server refused the drafting record: {plain(result)}",
                hint=f"see {RUN_LOG}; the drafts saved through save_drafts are kept",
            )

    async def _write_document(self) -> tuple[list[str], list[str]]:
        """The document through render_document, into the server's output folder: out_dir for the server in
        process; for a remote server its own folder (listed as server files), with icp.json and icp.md read
        back as resources into out_dir. The import report, read as a resource, goes into out_dir as well."""
        files: list[str] = []
        self.progress("writing the ICP document")
        result = await self.tool("render_document", {"version": self.built.version}, by="orchestrator", phase=None)
        written = [] if result.is_error else list(result.structured_content["files"])
        if result.is_error:
            self.error = self.error or AssistantError(f"writing the document failed: {plain(result)}")
        elif not self.remote:
            files += [Path(f).name for f in written]
        resources = {"import_report.md": "icp://import-report"}
        if self.remote:
            resources = {"icp.json": "icp://current", "icp.md": "icp://document", **resources}
        for name, uri in resources.items():
            try:
                read = await self.mcp.read_resource(uri)
                text = "".join(getattr(c, "text", "") for c in read.contents)
            except MCPError:
                text = ""
            if text:
                (self.out_dir / name).write_text(text, encoding="utf-8")
                files.append(name)
        return files, written if self.remote else []

    async def _finish(self) -> AssistedRun:
        files: list[str] = []
        server_files: list[str] = []
        if self.outline is not None:
            try:
                await self._persist()
            except AssistantError as exc:
                self.error = self.error or exc
            files, server_files = await self._write_document()
        usage = total_usage(self.phase_logs)
        log = run_log(
            model=self.model,
            error=self.error,
            started=self.started,
            version=self.outline.version if self.outline else None,
            limits={
                "tool_call_budget": self.budget,
                "turns_per_conversation": self.max_turns,
                "max_tokens": self.max_tokens,
            },
            prompts=self.prompts.versions,
            tools_offered=[t["name"] for t in self.tools],
            phases=self.phase_logs,
            model_tool_calls=self.model_calls,
            calls=self.tool.calls,
            dropped=self.dropped,
        )
        (self.out_dir / RUN_LOG).write_text(
            json.dumps(log, indent=2, ensure_ascii=False, default=str), encoding="utf-8"
        )
        files.append(RUN_LOG)
        return AssistedRun(
            status="failed" if self.error else "ok",
            error=str(self.error) if self.error else None,
            model=self.model,
            version=self.outline.version if self.outline else None,
            out_dir=str(self.out_dir),
            files=files,
            server_files=server_files,
            tool_calls=self.model_calls,
            usage=usage.as_dict(),
            dropped_claims=len(self.dropped),
        )


def _claim_dict(claim: Claimed) -> dict[str, Any]:
    return {"section": claim.section, "text": claim.text, "evidence": claim.evidence}


def _plain_text(reply: Any) -> str:
    return "".join(b.text for b in reply.content if b.type == "text").strip()


# --- entry points ---------------------------------------------------------------------------------------------


async def run_assisted_async(
    workspace: Workspace | None,
    data_dir: str | Path | None,
    out_dir: str | Path,
    *,
    server: RemoteServer | None = None,
    model: str | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    budget: int = DEFAULT_BUDGET,
    max_turns: int = DEFAULT_TURNS,
    max_retries: int | None = None,
    options: AnalysisOptions | None = None,
    phases: Sequence[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> AssistedRun:
    """The assisted run over MCP: a server in process on `workspace` whose data root is `data_dir` (the default),
    or the remote `server`, which imports from its own data folder (then workspace and data_dir are None)."""
    chosen = phases_of(phases)
    if server is not None and (workspace is not None or data_dir is not None):
        raise UserError(
            "a remote server works on its own workspace and data folder",
            hint="pass DATA_DIR and --workspace only without --server; start the server in (or with "
            "--data-root) the folder of exports instead",
        )
    if server is None and workspace is None:
        raise UserError("no workspace and no server to run on", hint="pass a workspace, or --server URL")
    if server is None and chosen and chosen[0].key == "assemble" and data_dir is None:
        raise UserError("phase 1 needs the folder of exports", hint="pass DATA_DIR")
    claude = make_client(api_key, base_url, **({"max_retries": max_retries} if max_retries is not None else {}))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if server is not None:
        target: Any = server
    else:
        assert workspace is not None  # no workspace and no server was refused above
        target = in_process(workspace, [Path(data_dir)] if data_dir is not None else [], out)
    async with claude, connect(target) as mcp:
        orchestrator = Orchestrator(
            mcp,
            claude,
            out,
            model=resolve_model(model),
            budget=budget,
            max_turns=max_turns,
            options=options,
            progress=progress,
            remote=server is not None,
        )
        return await orchestrator.run(chosen)


def run_assisted(
    workspace: Workspace | None,
    data_dir: str | Path | None,
    out_dir: str | Path,
    *,
    server: RemoteServer | None = None,
    model: str | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    budget: int = DEFAULT_BUDGET,
    max_turns: int = DEFAULT_TURNS,
    max_retries: int | None = None,
    options: AnalysisOptions | None = None,
    phases: Sequence[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> AssistedRun:
    """`icp-agent run --assistant`: import, build and draft with Claude, then write the report folder.

    Claude works through the server's tools only: the server in process on `workspace` (data root `data_dir`) by
    default, or the remote `server` (`--server URL`). Returns with status "failed" (and the reason) when the API or
    a limit stops the run half way; what the tools computed and the drafts saved so far are kept and written.
    Raises AssistantError only when the run cannot start (no API key, a remote server that cannot be reached).
    """
    return anyio.run(
        lambda: run_assisted_async(
            workspace,
            data_dir,
            out_dir,
            server=server,
            model=model,
            api_key=api_key,
            base_url=base_url,
            budget=budget,
            max_turns=max_turns,
            max_retries=max_retries,
            options=options,
            phases=phases,
            progress=progress,
        )
    )
