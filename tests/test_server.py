"""The MCP server in-process: tools, resources and prompts as a client sees them, on the demo company.

The demo is imported once per module through the import_data tool itself and built with build_icp;
the other tests read that workspace (in both client modes) and check the results' structure, that
every error names its cause and remedy, and that no output outgrows a model's context (10k tokens).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError

from icp_agent.faces.server import StepProgress, create_server
from icp_agent.resources import prompt_template, render_prompt
from icp_agent.toolkit import AnalysisOptions
from icp_agent.views import SECTIONS
from icp_agent.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "fixtures" / "demo"
MODES = ["auto", "legacy"]
TOOLS = {"import_data", "inspect_workspace", "set_field_roles", "score_health", "find_patterns", "build_icp",
         "get_icp", "list_icp_versions",
         "get_evidence", "list_evidence", "get_persona_evidence", "save_drafts", "score_prospects",
         "diff_icp_versions", "query_workspace", "render_document", "fit_scorecard", "validate_icp", "record_drafting"}
READ_ONLY = {"inspect_workspace", "score_health", "find_patterns", "get_icp", "list_icp_versions", "get_evidence",
             "list_evidence", "query_workspace"}
MAX_TOKENS = 10_000


@pytest.fixture
def anyio_backend():
    return "asyncio"


@dataclass
class Demo:
    server: MCPServer
    workspace: Workspace
    root: Path
    imported: dict
    built: dict
    progress: list[tuple[str, float, float | None, str | None]] = field(default_factory=list)


async def call(client: Client, name: str, arguments: dict | None = None, **kwargs) -> dict:
    """Call a tool that must succeed; check its output fits a context window and return the structured result."""
    result = await client.call_tool(name, arguments or {}, **kwargs)
    text = result.content[0].text
    assert not result.is_error, f"{name}: {text}"
    assert len(text) / 4 < MAX_TOKENS, f"{name} returned ~{len(text) // 4} tokens"
    assert json.loads(text) == result.structured_content
    return result.structured_content


async def fails(client: Client, name: str, arguments: dict) -> str:
    result = await client.call_tool(name, arguments)
    assert result.is_error, f"{name} {arguments} should fail"
    return result.content[0].text


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Demo:
    root = tmp_path_factory.mktemp("server")
    workspace = Workspace(root / "ws.duckdb")
    server = create_server(workspace, [REPO / "fixtures", root], out_dir=root / "out")
    progress: list[tuple[str, float, float | None, str | None]] = []

    async def prepare() -> tuple[dict, dict]:
        async with Client(server, mode="auto") as client:
            imported = await call(client, "import_data", {"data_dir": "demo"}, progress_callback=recorder("import"))
            built = await call(client, "build_icp", {}, progress_callback=recorder("build"))
            return imported, built

    def recorder(tool: str):
        async def record(done: float, total: float | None, message: str | None) -> None:
            progress.append((tool, done, total, message))
        return record

    imported, built = anyio.run(prepare)
    return Demo(server, workspace, root, imported, built, progress)


@pytest.fixture
def empty(tmp_path) -> MCPServer:
    return create_server(Workspace(tmp_path / "ws.duckdb"), [REPO / "fixtures", tmp_path])


# --- what a client sees before calling anything --------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_every_tool_documents_itself(empty, mode):
    async with Client(empty, mode=mode) as client:
        tools = (await client.list_tools()).tools
    assert {t.name for t in tools} == TOOLS
    for tool in tools:
        assert len(tool.description) > 40, tool.name
        assert tool.output_schema and tool.output_schema.get("type") == "object", tool.name
        for name, prop in tool.input_schema.get("properties", {}).items():
            assert prop.get("description"), f"{tool.name}.{name} has no description"
        assert "ctx" not in tool.input_schema.get("properties", {})
        hints = tool.annotations
        assert hints and hints.title and hints.open_world_hint is False, tool.name
        assert hints.read_only_hint is (tool.name in READ_ONLY), tool.name
        assert hints.idempotent_hint is not None and hints.destructive_hint is not None, tool.name
    by_name = {t.name: t for t in tools}
    assert by_name["import_data"].annotations.idempotent_hint is True
    assert by_name["import_data"].annotations.destructive_hint is False
    assert by_name["build_icp"].annotations.idempotent_hint is False
    assert by_name["build_icp"].input_schema["properties"]["good"]["anyOf"][0]["enum"] == ["health", "column", "won"]


def test_build_icp_parameters_are_the_toolkits_options(empty):
    """Every AnalysisOptions field is a parameter with its own default and bounds: the faces cannot drift."""
    tools = anyio.run(empty.list_tools)
    properties = next(t for t in tools if t.name == "build_icp").input_schema["properties"]
    assert set(properties) == set(AnalysisOptions.model_fields) | {"top_patterns"}
    for name, option in AnalysisOptions.model_fields.items():
        # a default of None is left out of the published schema (the argument is simply not required)
        assert properties[name].get("default") == option.default and properties[name]["description"], name
    assert (properties["depth"]["minimum"], properties["depth"]["maximum"]) == (1, 4)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_resources_and_prompts_are_listed(empty, mode):
    async with Client(empty, mode=mode) as client:
        resources = {str(r.uri) for r in (await client.list_resources()).resources}
        templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
        workflow = (await client.get_prompt("icp_workflow", {"data_dir": "exports"})).messages[0].content.text
        personas = (await client.get_prompt("draft_personas", {"tier": "2"})).messages[0].content.text
        rationale = (await client.get_prompt("negative_icp_rationale")).messages[0].content.text
    assert resources == {"icp://current", "icp://document", "icp://import-report"}
    assert templates == {"icp://evidence/{evidence_id}"}
    assert set(prompts) == {"icp_workflow", "draft_personas", "negative_icp_rationale"}
    assert all(p.description for p in prompts.values())
    assert "(exports)" in workflow and "never" in workflow.lower() and "no tool returned" in workflow
    assert workflow.index("import_data") < workflow.index("build_icp") < workflow.index("render_document")
    assert "Tier 2" in personas and "champion" in personas
    assert "get_evidence" in rationale
    # the text is the prompts/ template's, rendered: written once, versioned in its front matter
    assert personas == render_prompt("mcp_personas", tier=2, segment="ICP 1")
    assert workflow == render_prompt("mcp_workflow", data_dir="exports")
    assert rationale == render_prompt("mcp_negative_icp")
    assert all(prompt_template(name)[1]["version"] for name in ("mcp_workflow", "mcp_personas", "mcp_negative_icp"))
    for text in (workflow, personas, rationale):
        for tool in ("get_icp", "import_data", "build_icp", "render_document", "get_evidence", "list_evidence",
                     "query_workspace", "inspect_workspace", "set_field_roles"):
            assert tool not in text or tool in TOOLS


# --- the method on the demo ----------------------------------------------------------------------------------


def test_import_data_reports_each_file(demo):
    imported = demo.imported
    assert {p["kind"] for p in imported["plan"]} == {"customers", "deals", "contacts", "prospects", "interviews"}
    customers = next(f for f in imported["imported"] if f["kind"] == "customers")
    assert customers["rows_kept"] == 5000 and customers["rows_rejected"] == 3 and customers["columns"] > 10
    assert imported["interviews"]["documents"] == 12
    assert {link["kind"] for link in imported["links"]} == {"deals", "contacts"}
    assert any(tool == "import" and "importing" in (message or "") for tool, _, _, message in demo.progress)
    # long statements report rows done of the total (and the time left once they have run a second)
    assert any(tool == "import" and re.match(r"normalising ([\d,]+) rows: \1 of \1 rows", message or "")
               for tool, _, _, message in demo.progress)


def test_build_icp_returns_a_compact_summary(demo):
    built = demo.built
    assert built["status"] == "ok" and built["version_id"].startswith("icp-")
    assert [t["tier"] for t in built["tiers"]][:1] == [1]
    assert all(t["criteria"] and t["evidence"] and "n" in t["metrics"] for t in built["tiers"])
    assert built["negative_icp"] and all(d["reason"] and d["evidence"] for d in built["negative_icp"])
    assert len(built["top_patterns"]) == 5 < built["patterns_total"]
    cited = {e for t in built["tiers"] for e in t["evidence"]} | {p["evidence"] for p in built["top_patterns"]}
    assert cited <= set(built["evidence_ids"])
    steps = [(done, message) for tool, done, _, message in demo.progress if tool == "build"]
    assert len(steps) >= 3 and [d for d, _ in steps] == sorted(d for d, _ in steps)


def test_build_icp_notifications_carry_its_steps_as_their_total(demo):
    """build_icp declares its steps: every notification has that total, its progress grows and ends at it, and the
    messages count each long step in its own unit (customers scored, validation's checks, the lead score's
    stages)."""
    from icp_agent.toolkit import BUILD_STEPS

    build = [(done, total, message or "") for tool, done, total, message in demo.progress if tool == "build"]
    assert {total for _, total, _ in build} == {BUILD_STEPS}
    values = [done for done, _, _ in build]
    assert values == sorted(values) and len(set(values)) == len(values) and values[-1] == BUILD_STEPS
    assert any(re.match(r"scoring customer health: [\d,]+ of 5,000 customers", m) for _, _, m in build)
    assert any(re.match(r"validating the ICP: \d of \d checks", m) for _, _, m in build)
    assert any(m.startswith("fitting the lead-scoring model: 4 of 4 stages") for _, _, m in build)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_reading_tools_on_the_demo(demo, mode):
    version = demo.built["version_id"]
    async with Client(demo.server, mode=mode) as client:
        summary = await call(client, "inspect_workspace")
        assert {k["kind"] for k in summary["kinds"]} == {"customers", "deals", "contacts", "prospects"}
        assert summary["interviews"] == 12
        page = await call(client, "inspect_workspace", {"kind": "customers", "limit": 5, "offset": 5})
        (customers,) = page["kinds"]
        assert len(customers["columns"]) == 5 and customers["columns_page"]["truncated"] is True
        assert customers["columns_page"]["next_offset"] == 10 and customers["rejected_examples"]

        icp = await call(client, "get_icp")
        assert icp["id"] == version and icp["sections"] == ["health", "tiers", "negative_icp"]
        assert icp["tiers"][0]["criteria"][0]["op"] and icp["patterns"] is None
        patterns = await call(client, "get_icp", {"version": version, "sections": ["patterns"], "limit": 3})
        assert len(patterns["patterns"]) == 3 and patterns["tiers"] is None
        assert patterns["pages"]["patterns"]["next_offset"] == 3 and patterns["truncated"]
        everything = await call(client, "get_icp", {"sections": list(SECTIONS), "limit": 200})
        assert set(everything["sections"]) | set(everything["omitted_sections"]) == set(SECTIONS)
        assert everything["truncated"] is bool(everything["omitted_sections"])
        for section in everything["omitted_sections"]:
            alone = await call(client, "get_icp", {"sections": [section]})
            assert alone["sections"] == [section] and alone[section] is not None

        versions = await call(client, "list_icp_versions")
        assert versions["versions"][0]["version_id"] == version and versions["page"]["total"] >= 1

        health = await call(client, "score_health")
        assert health["cohort_sizes"] == {"top": 1000, "middle": 3000, "bottom": 1000} and health["censored"] > 0
        worst = await call(client, "find_patterns", {"direction": "bad", "limit": 2})
        assert len(worst["patterns"]) == 2 and worst["truncated"] and {p["direction"] for p in worst["patterns"]} == {"bad"}
        assert worst["patterns"][0]["label"] == "industry = Marketing and Advertising"
        assert (await call(client, "list_icp_versions"))["page"]["total"] == versions["page"]["total"]  # saved nothing

        listed = await call(client, "list_evidence", {"limit": 4})
        assert listed["version_id"] == version and len(listed["items"]) == 4 and listed["page"]["truncated"]
        assert {"pattern", "tier"} <= set(listed["kinds"])
        tiers_only = await call(client, "list_evidence", {"kind": "tier"})
        assert tiers_only["items"] and {i["kind"] for i in tiers_only["items"]} == {"tier"}
        all_evidence = await call(client, "list_evidence", {"limit": 200})
        assert all_evidence["page"]["total"] >= len(demo.built["evidence_ids"])

        ids = demo.built["tiers"][0]["evidence"] + [demo.built["top_patterns"][0]["evidence"]]
        items = (await call(client, "get_evidence", {"ids": ids}))["items"]
        assert [i["id"] for i in items] == ids and all(i["statement"] and i["metrics"] for i in items)
        many = (await call(client, "get_evidence", {"ids": demo.built["evidence_ids"][:20]}))["items"]
        assert len(many) == min(20, len(demo.built["evidence_ids"]))

        counted = await call(client, "query_workspace", {"sql": "SELECT count(*) AS n FROM customers"})
        assert counted["rows"] == [[5000]] and counted["truncated"] is False
        industries = await call(client, "query_workspace", {
            "sql": "SELECT industry, count(*) AS n FROM customers GROUP BY ALL ORDER BY n DESC, industry",
            "max_rows": 3})
        assert industries["row_count_returned"] == 3 and industries["truncated"] is True
        notes = await call(client, "query_workspace", {"sql": "SELECT file_name, body FROM interviews"})
        assert notes["row_count_returned"] >= 1 and notes["truncated"]

        roles = await call(client, "set_field_roles", {"roles": {"owner": "ignore"}})
        assert roles["roles"]["owner"] == "ignore" and roles["roles"]["industry"] == "fit"


@pytest.mark.anyio
async def test_persona_evidence_and_grounded_drafts(demo):
    async with Client(demo.server) as client:
        found = await call(client, "get_persona_evidence", {"segment": "ICP 1", "tier": 1, "limit": 2})
        champion = found["roles"]["champion"]
        assert champion["titles"] and len(found["quotes"]) <= 2 and found["quotes_page"]["total"] >= len(found["quotes"])
        cited = await call(client, "get_evidence", {"ids": [champion["evidence"]] + [q["evidence"] for q in found["quotes"]]})
        assert len(cited["items"]) == 1 + len(found["quotes"])

        def persona(*claims: tuple[str, list[str]]) -> dict:
            return {"personas": [{"segment": "ICP 1", "tier": 1, "role": "champion", "title_patterns": [],
                                  "claims": [{"section": "who", "text": t, "evidence": e} for t, e in claims]}]}

        # a refusal is a result the drafter can act on, not an error: every claim placed, with its problem
        refused = await call(client, "save_drafts", persona(
            ("Champions run Revenue Operations in 97% of won deals.", [champion["evidence"]]),
            ("They want a forecast they can defend.", []),
            ("They dislike spreadsheets.", ["E00000000"])))
        assert refused["status"] == "refused" and refused["saved"] is False and refused["personas_saved"] == 0
        assert "call save_drafts again" in refused["next_step"]
        problems = {p["claim"]: p for p in refused["problems"]}
        assert set(problems) == {"Champions run Revenue Operations in 97% of won deals.",
                                 "They want a forecast they can defend.", "They dislike spreadsheets."}
        assert all(p["draft"] == "persona ICP 1 Tier 1 champion" and p["section"] == "who" for p in problems.values())
        assert problems["They dislike spreadsheets."]["evidence"] == ["E00000000"]
        assert "E00000000" in problems["They dislike spreadsheets."]["problem"]
        assert problems["They want a forecast they can defend."]["evidence"] == []
        assert "cites no evidence" in problems["They want a forecast they can defend."]["problem"]
        assert problems["Champions run Revenue Operations in 97% of won deals."]["evidence"] == [champion["evidence"]]
        assert "97" in problems["Champions run Revenue Operations in 97% of won deals."]["problem"]
        unknown_tier = await call(client, "save_drafts", {"personas": [{
            "segment": "ICP 9", "tier": 1, "role": "champion",
            "claims": [{"section": "who", "text": "x", "evidence": [champion["evidence"]]}]}]})
        assert unknown_tier["status"] == "refused"
        assert {"draft": "persona ICP 9 Tier 1 champion", "section": None, "claim": "ICP 9 Tier 1", "evidence": [],
                "problem": "no such tier in this ICP"} in unknown_tier["problems"]
        title = champion["titles"][0]
        saved = await call(client, "save_drafts", {**persona(
            (f"{title['n']} of {champion['n']} champions hold the title {title['value']}.", [champion["evidence"]])),
            "model": "test-model"})
        assert saved["saved"] is True and saved["status"] == "saved" and saved["personas_saved"] == 1
        assert saved["problems"] == [] and saved["next_step"] is None
        personas = (await call(client, "get_icp", {"sections": ["personas"], "limit": 50}))["personas"]
        assert any(p["role"] == "champion" and p.get("model") == "test-model" for p in personas)
        assert "nothing to save" in await fails(client, "save_drafts", {})
        assert "no ICP 9 Tier 1" in await fails(client, "get_persona_evidence", {"segment": "ICP 9"})


@pytest.mark.anyio
async def test_score_prospects_and_compare_versions(demo):
    version = demo.built["version_id"]
    progress: list[tuple[float, str | None]] = []

    async def record(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, message))

    async with Client(demo.server) as client:
        scored = await call(client, "score_prospects", {"input_path": "demo/prospects.csv",
                                                        "output_path": str(demo.root / "scored.csv")},
                            progress_callback=record)
        assert scored["rows"] == 50000 and sum(scored["by_tier"].values()) == 50000
        # scoring a file reports its rows as MCP progress (a whole market takes minutes), growing
        assert ("scoring prospects.csv into scored.csv: 50,000 of 50,000 rows"
                in [re.sub(r", about .*", "", m or "") for _, m in progress]), progress
        assert [d for d, _ in progress] == sorted(d for d, _ in progress)
        assert (demo.root / "scored.csv").is_file()
        outside = await fails(client, "score_prospects", {"input_path": "demo/prospects.csv",
                                                          "output_path": "/tmp/icp-agent-scored.csv"})
        assert "outside the folders" in outside and not Path("/tmp/icp-agent-scored.csv").exists()
        same = await call(client, "diff_icp_versions", {"old": version, "new": version})
        assert (same["old"], same["new"]) == (version, version) and same["recommendation"] and same["why"]
        assert "no ICP version 'icp-nope'" in await fails(client, "diff_icp_versions", {"old": "icp-nope",
                                                                                       "new": version})


@pytest.mark.anyio
async def test_fit_scorecard_and_validate(demo):
    async with Client(demo.server) as client:
        card = await call(client, "fit_scorecard")
        assert card["status"] == "ok" and card["auc"] > 0.7 and card["evidence"]
        assert [b["priority"] for b in card["bands"]] == ["high", "medium", "low"]
        assert any(f["name"] == "industry" for f in card["features"])
        validation = await call(client, "validate_icp", {"revenue_target": 50_000_000})
        assert validation["market"]["revenue_check"]["revenue_target"] == 50_000_000
        assert validation["backtest"]["status"] == "held"
        assert {t["metric"] for t in validation["unit_economics"]["targets"]} == {"win_rate", "cac", "nrr",
                                                                                "sales_cycle_days"}
        assert "greater than 0" in await fails(client, "validate_icp", {"revenue_target": -5})


@pytest.mark.anyio
async def test_resources_on_the_demo(demo):
    evidence_id = demo.built["evidence_ids"][0]
    async with Client(demo.server) as client:
        current = json.loads((await client.read_resource("icp://current")).contents[0].text)
        item = json.loads((await client.read_resource(f"icp://evidence/{evidence_id}")).contents[0].text)
        report = (await client.read_resource("icp://import-report")).contents[0].text
        document = (await client.read_resource("icp://document")).contents[0].text
    assert current["id"] == demo.built["version_id"] and current["schema_version"] == "1.0"
    assert item["id"] == evidence_id and item["statement"]
    assert report.startswith("# Import report") and "customers.csv" in report
    assert document.startswith("#") and demo.built["version_id"] in document


@pytest.mark.anyio
async def test_render_document_writes_the_files(demo):
    async with Client(demo.server) as client:
        default = await call(client, "render_document")
        elsewhere = await call(client, "render_document", {"out_dir": str(demo.root / "report")})
    assert default["out_dir"] == str(demo.root / "out") and default["version_id"] == demo.built["version_id"]
    for result in (default, elsewhere):
        names = {Path(f).name for f in result["files"]}
        assert {"icp.md", "icp.html", "icp.json"} <= names
        assert all(Path(f).is_file() for f in result["files"])


def test_progress_figures_grow_by_step_and_rows():
    """Each notification's progress grows (the protocol requires it) though rows restart at every step: steps
    begun less one, plus the share of the step's rows done; the message says the rows done of the total."""
    figures = StepProgress()
    reports = [("reading", None, None), ("normalising", 0, 1000), ("normalising", 500, 1000),
               ("normalising", 1000, 1000), ("building", None, None), ("building", None, None), ("scoring", 0, 0)]
    sent = [figures(*report) for report in reports]
    assert [value for value, _, _ in sent] == [0.0, 1.0, 1.495, 1.99, 2.0, 2.0001, 3.0]
    assert {total for _, total, _ in sent} == {None}  # a tool that declares no steps has no total
    assert sent[2][2] == "normalising: 500 of 1,000 rows" and sent[4][2] == "building"
    declared = StepProgress(steps=3)  # a build declares its steps: the total, never below the steps begun
    assert [declared(*report)[1] for report in reports] == [3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 4.0]


@pytest.mark.anyio
async def test_progress_reaches_a_legacy_client(demo):
    messages: list[str | None] = []

    async def record(done: float, total: float | None, message: str | None) -> None:
        messages.append(message)

    async with Client(demo.server, mode="legacy") as client:
        rebuilt = await call(client, "build_icp", {"depth": 2, "top_patterns": 0}, progress_callback=record)
    assert rebuilt["status"] == "ok" and rebuilt["top_patterns"] == [] and len(messages) >= 3


# --- errors a model can act on -------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_errors_on_an_empty_workspace_say_what_to_do(empty, mode):
    async with Client(empty, mode=mode) as client:
        assert "import_data" in await fails(client, "query_workspace", {"sql": "SELECT 1"})
        message = await fails(client, "build_icp", {})
        assert "no customers imported yet" in message and "import_data" in message
        assert "no ICP built yet" in await fails(client, "get_icp", {})
        assert "build_icp" in await fails(client, "list_evidence", {})
        assert "nothing to import" in await fails(client, "import_data", {})
        inspected = await call(client, "inspect_workspace")
        assert inspected["kinds"] == []


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_errors_on_the_demo_say_what_was_wrong(demo, tmp_path, mode):
    async with Client(demo.server, mode=mode) as client:
        assert "no evidence item 'E00000000'" in await fails(client, "get_evidence", {"ids": ["E00000000"]})
        assert "no ICP version 'icp-nope'" in await fails(client, "get_icp", {"version": "icp-nope"})
        bad_role = await fails(client, "set_field_roles", {"roles": {"industry": "important"}})
        assert "'fit'" in bad_role and "'post_sale'" in bad_role
        assert "no field 'nonexistent'" in await fails(client, "set_field_roles", {"roles": {"nonexistent": "fit"}})
        for path in ("/etc", "../../..", str(tmp_path)):
            message = await fails(client, "import_data", {"data_dir": path})
            assert "outside the folders this server may read" in message and "--data-root" in message
        assert "outside" in await fails(client, "render_document", {"out_dir": "/tmp/elsewhere-icp"})
        assert "only SELECT" in await fails(client, "query_workspace", {"sql": "DELETE FROM imports"})
        assert "exactly one SELECT" in await fails(client, "query_workspace", {"sql": "SELECT 1; SELECT 2"})
        assert "duckdb_tables()" in await fails(client, "query_workspace", {"sql": "SELECT * FROM nowhere"})
        assert "unknown health component" in await fails(client, "build_icp", {"weights": {"vibes": 1.0}})
        assert "depth" in await fails(client, "build_icp", {"depth": 9})
        assert "ids" in await fails(client, "get_evidence", {"ids": []})
        with pytest.raises(MCPError, match="no evidence item"):
            await client.read_resource("icp://evidence/E00000000")


RAW_PYDANTIC = ("validation error for", "errors.pydantic.dev", "Arguments\n", "[type=")


def argument_lines(text: str) -> list[str]:
    """The problem lines of an argument error, after checking it is one plain message, not pydantic's dump."""
    assert text.startswith("Error executing tool ") and "argument error: " in text, text
    assert not any(raw in text for raw in RAW_PYDANTIC), text
    return [line for line in text.splitlines() if line.startswith("- ")]


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_every_tool_answers_arguments_that_do_not_fit_with_one_plain_message(empty, mode):
    """For every tool: an argument it does not take is refused (never silently dropped), each required argument
    left out is named with what it wants, a non-integer given for an integer says what fits, and the message
    ends with the names the tool takes."""
    async with Client(empty, mode=mode) as client:
        for tool in (await client.list_tools()).tools:
            schema = tool.input_schema
            names, required = list(schema.get("properties", {})), schema.get("required", [])
            text = await fails(client, tool.name, {"zz_not_an_argument": 1})
            lines = argument_lines(text)
            assert lines[0] == f"- zz_not_an_argument: not an argument of {tool.name}", text
            assert [line.split(":")[0] for line in lines[1:]] == [f"- {name}" for name in required], text
            takes = ", ".join(f"{name} (required)" if name in required else name for name in names)
            assert f"\n{tool.name} takes: {takes or 'no arguments'}. tools/list gives" in text, text
            for name in required:
                description = schema["properties"][name]["description"]
                assert f"- {name}: required but not given: " in text and description in text, text
            integers = [name for name, prop in schema.get("properties", {}).items() if prop.get("type") == "integer"]
            for name in integers:
                text = await fails(client, tool.name, {name: "many"})
                bad = [line for line in argument_lines(text) if line.startswith(f"- {name} = 'many': ")]
                assert len(bad) == 1 and "; expected an integer" in bad[0], text


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_argument_errors_name_the_argument_meant(empty, mode):
    async with Client(empty, mode=mode) as client:
        # the new user's call: `path` for input_path. The did-you-mean is the required argument not given,
        # not icp_path or output_path (already given), though both share the word
        text = await fails(client, "score_prospects", {"path": "prospects.csv", "output_path": "scored.csv"})
        assert argument_lines(text) == [
            "- path: not an argument of score_prospects; did you mean input_path?",
            "- input_path: required but not given: a non-empty string (the prospect file (CSV, Parquet or JSON lines))",
        ]
        assert "score_prospects takes: input_path (required), output_path (required), icp_path, version." in text
        # a misspelt optional argument used to be dropped and the tool run with its default
        assert argument_lines(await fails(client, "list_icp_versions", {"limt": 3})) == [
            "- limt: not an argument of list_icp_versions; did you mean limit?"]
        assert argument_lines(await fails(client, "render_document", {"outDir": "out"}))[0] == (
            "- outDir: not an argument of render_document; did you mean out_dir?")
        assert argument_lines(await fails(client, "build_icp", {"good": "best", "depth": 9})) == [
            "- good = 'best': Input should be 'health', 'column' or 'won'; expected one of 'health', 'column', "
            "'won' (" + AnalysisOptions.model_fields["good"].description + ")",
            "- depth = 9: Input should be less than or equal to 4; expected an integer from 1 to 4 (most criteria "
            "combined in one pattern)",
        ]
        # inside a list of objects: the place as the client wrote it, and the key it misspelt
        claim = {"section": "who", "txt": "CFOs sign", "evidence": ["E1"]}
        persona = {"segment": "ICP 1", "tier": 1, "role": "champion", "claims": [claim]}
        lines = argument_lines(await fails(client, "save_drafts", {"personas": [persona]}))
        assert lines[0].startswith("- personas[0].claims[0].text: required but not given: a string (one statement)")
        assert lines[1].startswith("- personas[0].claims[0].txt: not a field there; did you mean text? (it takes")
        # a misspelt optional key inside an object is refused, not dropped: the claim would lose its evidence
        claim = {"section": "who", "text": "CFOs sign", "evidence_ids": ["E1"]}
        persona = {"segment": "ICP 1", "tier": 1, "role": "champion", "claims": [claim]}
        lines = argument_lines(await fails(client, "save_drafts", {"personas": [persona]}))
        assert len(lines) == 1 and lines[0].startswith(
            "- personas[0].claims[0].evidence_ids: not a field there; did you mean evidence? (it takes"), lines
        # a union's branches report one line, not one per branch
        lines = argument_lines(await fails(client, "import_data", {"sheet": [1]}))
        assert lines == ["- sheet = [1]: Input should be a valid string; expected a string or an integer (the "
                         "worksheet of an Excel workbook to read: its name or 0-based index (default: the first))"]
        unknown = await client.call_tool("buld_icp", {})
        assert unknown.is_error and "Unknown tool: buld_icp; did you mean build_icp? The tools: " in (
            unknown.content[0].text)


# --- concurrency ---------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.anyio
async def test_parallel_calls_match_sequential_ones(demo):
    ids = demo.built["evidence_ids"]
    tiers = [{"version": demo.built["version_id"], "segment": t["segment"], "tier": t["tier"], "limit": 3}
             for t in demo.built["tiers"]]
    calls = []
    for i in range(32):
        calls.append([
            ("get_evidence", {"ids": [ids[i % len(ids)]]}),
            ("inspect_workspace", {"kind": ["customers", "deals", "contacts", "prospects"][i % 4], "limit": 3}),
            ("query_workspace", {"sql": f"SELECT count(*) AS n FROM deals WHERE _row % 32 = {i}"}),
            ("list_evidence", {"offset": i % 10, "limit": 5}),
            ("get_icp", {"sections": ["tiers"]}),
            ("get_persona_evidence", tiers[i % len(tiers)]),
        ][i % 6])
    async with Client(demo.server) as client:
        for tier in tiers:  # the first call adds its evidence items to the version: do that once, up front
            await call(client, "get_persona_evidence", tier)
        sequential = [await call(client, name, args) for name, args in calls]
        results: list[dict | None] = [None] * len(calls)

        async def run(index: int, name: str, args: dict) -> None:
            results[index] = await call(client, name, args)

        async with anyio.create_task_group() as group:
            for index, (name, args) in enumerate(calls):
                group.start_soon(run, index, name, args)
    assert results == sequential


@pytest.mark.anyio
async def test_record_drafting_keeps_grounded_narratives_and_refuses_the_rest(demo, tmp_path):
    """The assistant's narratives, themes and drafting record go through this tool (it never calls the toolkit):
    all or nothing, every claim through the grounding checker, on a copy of the demo so other tests see no change."""
    (tmp_path / "ws.duckdb").write_bytes(demo.workspace.path.read_bytes())
    server = create_server(Workspace(tmp_path / "ws.duckdb"), [tmp_path])
    async with Client(server) as client:
        before = await call(client, "get_icp", {"sections": ["tiers", "narratives", "themes"]})
        tier = before["tiers"][0]
        item = (await call(client, "get_evidence", {"ids": tier["evidence"][:1]}))["items"][0]
        good = {"section": "narrative", "text": item["statement"], "evidence": [item["id"]]}
        wrong = {"section": "narrative", "text": "These customers renew 987% more often.", "evidence": [item["id"]]}
        refused = await fails(client, "record_drafting", {
            "drafter": "test", "narratives": [{"tier_name": tier["name"], "claims": [good, wrong]}]})
        assert "not grounded" in refused and "987" in refused
        assert (await call(client, "get_icp", {"sections": ["narratives"]}))["narratives"] == before["narratives"]

        kept = await call(client, "record_drafting", {
            "drafter": "test", "model": "test-model", "record": {"prompt_versions": {"system": "1"}},
            "narratives": [{"tier_name": tier["name"], "claims": [good]}],
            "themes": [{"theme": "Renewals", "claims": [{**good, "section": "theme"}]}]})
        assert kept == {"version": before["id"], "narratives": 1, "themes": 1, "personas_marked": 0,
                        "record_keys": ["prompt_versions"]}
        after = await call(client, "get_icp", {"sections": ["narratives", "themes", "drafting"]})
    mine = [n for n in after["narratives"] if n["tier_name"] == tier["name"]]
    assert mine == [{"tier_name": tier["name"], "claims": [good], "drafter": "test", "model": "test-model"}]
    assert after["themes"] == [{"theme": "Renewals", "claims": [{**good, "section": "theme"}], "drafter": "test",
                                "model": "test-model"}]
    assert after["drafting"]["prompt_versions"] == {"system": "1"} and after["drafting"]["drafter"] == "test"


OTHER_PROCESS_ADDS_A_VERSION = """
import sys
from icp_agent.workspace import Workspace
with Workspace(sys.argv[1]).transaction() as con:  # waits (DuckDB's lock) until the server lets the file go
    con.execute(\"\"\"INSERT INTO icp_versions SELECT 'icp-from-another-process', created_at + INTERVAL 1 DAY,
                    dataset_fingerprint, status, json_merge_patch(icp, '{"id": "icp-from-another-process"}')
                    FROM icp_versions ORDER BY created_at DESC LIMIT 1\"\"\")
"""


@pytest.mark.anyio
async def test_a_warm_get_icp_is_kept_until_another_process_writes_a_version(demo, tmp_path, monkeypatch):
    """get_icp keeps the validated document while the server holds the file (nothing else can write it); another
    process writing once the server is idle is seen by the next call."""
    import os
    import shutil
    import subprocess
    import sys

    from icp_agent import toolkit
    from icp_agent import workspace as workspace_module

    monkeypatch.setattr(workspace_module, "HOLD_IDLE_S", 0.3)
    shutil.copy(demo.workspace.path, tmp_path / "ws.duckdb")
    server = create_server(Workspace(tmp_path / "ws.duckdb"), [tmp_path])
    read: list[str | None] = []
    real = toolkit.icp_version
    monkeypatch.setattr(toolkit, "icp_version", lambda con, version: read.append(version) or real(con, version))
    async with Client(server) as client:
        first = await call(client, "get_icp")
        assert await call(client, "get_icp") == first and read == [None]  # the second call read nothing
        assert first["id"].startswith("icp-")  # the latest version: other tests of the module build more
        other = await anyio.to_thread.run_sync(lambda: subprocess.run(
            [sys.executable, "-c", OTHER_PROCESS_ADDS_A_VERSION, str(tmp_path / "ws.duckdb")], capture_output=True,
            text=True, timeout=120, env=dict(os.environ), check=False))
        assert other.returncode == 0, other.stderr[-2000:]
        after = await call(client, "get_icp")
        assert after["id"] == "icp-from-another-process" and after["tiers"] == first["tiers"]
        named = await call(client, "get_icp", {"version": first["id"]})
        assert named["id"] == first["id"]
