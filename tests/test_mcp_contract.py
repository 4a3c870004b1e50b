"""The MCP contract as a strict client checks it: every tool's result validates against its own output schema
with format checking on, timestamps carry a zone and one form, tools/list stays small, descriptions are
dedented, and arguments take the shapes a model naturally sends (1 for "ICP 1", "1" for 1, one id for a list).

The demo (imported once per session: conftest.built_demo) is built once per module through the tools;
`test_every_tool_keeps_its_output_schema` then calls every tool tools/list names, and fails when a tool is added
without a call here.
"""

from __future__ import annotations

import inspect
import json
import re
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import anyio
import pytest
from jsonschema import Draft202012Validator
from mcp import Client
from mcp.server.mcpserver import MCPServer
from pydantic import TypeAdapter, ValidationError

from icp_agent.faces.schemas import expected, inline_single_use, lean_schema, schema_at
from icp_agent.faces.server import create_server
from icp_agent.shapes import DataKindName, IdText, SegmentName, TierNumber, choice_text, utc_timestamp
from icp_agent.views import SECTIONS, KindView, VersionInfo
from icp_agent.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent
# ~15k tokens a client pays once per session. Back from 64,000 (63.3 kB with every option of each operation and
# record_drafting) to 60,000 by leaner schemas that validate the same documents: nullable arguments as a type
# list, no `default: null`, definitions used once written in place, get_icp's pointer to icp.json said once
# (58.7 kB measured).
TOOLS_LIST_MAX_BYTES = 60_000
# an RFC 3339 timestamp anywhere in a result: it must end in Z (utc_timestamp's one form)
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")


@pytest.fixture
def anyio_backend():
    return "asyncio"


def strict_validator(schema: dict) -> Draft202012Validator:
    """A validator as strict as the MCP Inspector's: format checking on (rfc3339-validator makes `date-time` a
    real check; without it jsonschema passes any string)."""
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def tools_list_bytes(tools) -> int:
    """tools/list as the wire carries it: each Tool by alias without nulls, compact JSON, UTF-8 bytes."""
    listed = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]
    return len(json.dumps({"tools": listed}, ensure_ascii=False, separators=(",", ":")).encode())


def timestamps_in(value) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in timestamps_in(v)]
    if isinstance(value, list):
        return [s for v in value for s in timestamps_in(v)]
    return [value] if isinstance(value, str) and TIMESTAMP.match(value) else []


def descriptions_in(schema) -> list[str]:
    if isinstance(schema, dict):
        own = [schema["description"]] if isinstance(schema.get("description"), str) else []
        return own + [d for k, v in schema.items() if k != "description" for d in descriptions_in(v)]
    if isinstance(schema, list):
        return [d for v in schema for d in descriptions_in(v)]
    return []


def keywords_in(schema) -> set[str]:
    """The JSON Schema keywords a schema uses (property and $defs names are names, not keywords)."""
    if isinstance(schema, list):
        return {k for item in schema for k in keywords_in(item)}
    if not isinstance(schema, dict):
        return set()
    found = set(schema)
    for key, value in schema.items():
        if key in ("properties", "$defs", "patternProperties") and isinstance(value, dict):
            found |= keywords_in(list(value.values()))
        elif key not in ("enum", "const", "default", "examples"):
            found |= keywords_in(value)
    return found


@dataclass
class Demo:
    server: MCPServer
    root: Path
    built: dict  # build_icp's structured result, checked with the other tools'

    @property
    def version(self) -> str:
        return self.built["version_id"]


@pytest.fixture(scope="module")
def demo(built_demo, tmp_path_factory) -> Demo:
    """A server on a copy of the session's built demo (conftest.built_demo); import_data finds the demo already
    imported, build_icp builds again through the tool."""
    root = tmp_path_factory.mktemp("contract")
    shutil.copy(built_demo.workspace_path, root / "ws.duckdb")
    server = create_server(Workspace(root / "ws.duckdb"), [REPO / "fixtures", root], out_dir=root / "out")

    async def prepare() -> dict:
        async with Client(server) as client:
            for name, arguments in (("import_data", {"data_dir": "demo"}), ("build_icp", {})):
                result = await client.call_tool(name, arguments)
                assert not result.is_error, result.content[0].text
            return result.structured_content

    return Demo(server, root, anyio.run(prepare))


# --- the checker itself -------------------------------------------------------------------------------------


def test_the_checker_rejects_a_timestamp_without_a_zone():
    checker = strict_validator({"type": "string", "format": "date-time"})
    assert not checker.is_valid("2026-11-29T11:20:58.123456")  # what inspect_workspace used to return
    assert not checker.is_valid("2026-11-29 11:20:58")
    assert checker.is_valid("2026-11-29T11:20:58.123456Z") and checker.is_valid("2026-11-29T12:20:58+01:00")


# --- every tool against its own output schema ---------------------------------------------------------------


@pytest.mark.anyio
async def test_every_tool_keeps_its_output_schema(demo):
    results: dict[str, list[dict]] = {}
    async with Client(demo.server) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}

        def check(name: str, structured: dict) -> dict:
            errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                      for e in strict_validator(tools[name].output_schema).iter_errors(structured)]
            assert not errors, f"{name} breaks its output schema: {errors[:5]}"
            results.setdefault(name, []).append(structured)
            return structured

        async def call(name: str, arguments: dict | None = None) -> dict:
            result = await client.call_tool(name, arguments or {})
            assert not result.is_error, f"{name}: {result.content[0].text}"
            return check(name, result.structured_content)

        check("build_icp", demo.built)
        await call("import_data", {"data_dir": "demo"})  # again: already imported, nothing changes
        workspace = await call("inspect_workspace")
        await call("inspect_workspace", {"kind": "deals", "limit": 3})
        fit = next(c["field"] for k in workspace["kinds"] for c in k["columns"] if c["role"] == "fit")
        await call("set_field_roles", {"roles": {fit: "fit"}})  # its role already: the build stays the same
        await call("score_health")
        await call("find_patterns", {"limit": 5})
        for section in SECTIONS:  # each section alone, so none is left out for size
            await call("get_icp", {"sections": [section], "limit": 3})
        await call("get_icp")
        await call("list_icp_versions")
        listed = await call("list_evidence", {"limit": 5})
        await call("get_evidence", {"ids": [item["id"] for item in listed["items"]]})
        found = await call("get_persona_evidence", {"segment": "ICP 1", "tier": 1, "limit": 2})
        champion = found["roles"]["champion"]
        title = champion["titles"][0]
        await call("save_drafts", {"personas": [{
            "segment": "ICP 1", "tier": 1, "role": "champion", "title_patterns": [],
            "claims": [{"section": "who", "evidence": [champion["evidence"]],
                        "text": f"{title['n']} of {champion['n']} champions hold the title {title['value']}."}]}]})
        claim = {"section": "narrative", "evidence": [champion["evidence"]],
                 "text": f"{title['n']} of {champion['n']} champions hold the title {title['value']}."}
        await call("record_drafting", {"drafter": "test", "narratives": [{"tier_name": "ICP 1 Tier 1",
                                                                            "claims": [claim]}],
                                       "persona_gaps": [{"segment": "ICP 1", "tier": 1, "role": "champion",
                                                         "gaps": ["pains: no interview says"]}]})
        await call("fit_scorecard")
        await call("validate_icp")
        await call("score_prospects", {"input_path": "demo/prospects.csv",
                                       "output_path": str(demo.root / "scored.csv")})
        await call("diff_icp_versions", {"old": demo.version, "new": demo.version})
        await call("query_workspace", {"sql": "SELECT version_id, created_at FROM icp_versions"})
        await call("render_document")

    assert set(results) == set(tools), f"tools never called here: {sorted(set(tools) - set(results))}"
    stamps = timestamps_in([results["inspect_workspace"], results["list_icp_versions"], results["get_icp"]])
    assert len(stamps) >= 3 and [s for s in stamps if not s.endswith("Z")] == []


@pytest.mark.anyio
async def test_resources_give_timestamps_in_the_same_form(demo):
    async with Client(demo.server) as client:
        current = json.loads((await client.read_resource("icp://current")).contents[0].text)
        versions = (await client.call_tool("list_icp_versions", {})).structured_content["versions"]
        workspace = (await client.call_tool("inspect_workspace", {})).structured_content
    assert current["created_at"].endswith("Z") and strict_validator(
        {"format": "date-time"}).is_valid(current["created_at"])
    assert current["created_at"] in {v["created_at"] for v in versions}  # one formatter: the same text
    assert all(k["imported_at"].endswith("Z") for k in workspace["kinds"])


def test_one_formatter_for_every_timestamp():
    naive = datetime(2026, 11, 29, 11, 20, 58, 123456)
    assert utc_timestamp(naive) == "2026-11-29T11:20:58.123456Z"  # a workspace TIMESTAMP holds UTC
    assert utc_timestamp(datetime(2026, 11, 29, 12, 20, 58, tzinfo=timezone(timedelta(hours=1)))) == \
        "2026-11-29T11:20:58Z"  # another zone is converted, not relabelled
    view = KindView(kind="customers", file_name="c.csv", import_id="i", imported_at=naive, snapshots=1, rows_read=1,
                    rows_kept=1, rows_rejected=0, duplicates_dropped=0, warnings=[], rejected_examples=[],
                    columns=[], columns_page={"total": 0, "offset": 0, "limit": 50, "truncated": False})
    assert view.model_dump(mode="json")["imported_at"] == "2026-11-29T11:20:58.123456Z"
    assert view.model_dump()["imported_at"] == naive  # Python values stay as given (DuckDB TIMESTAMP wants naive)
    row = VersionInfo(version_id="v", created_at="2026-11-29 11:20:58.123456", dataset_fingerprint="f",
                      status="ok")  # as DuckDB prints a TIMESTAMP
    assert row.model_dump(mode="json")["created_at"] == "2026-11-29T11:20:58.123456Z"


# --- tools/list: size and descriptions ----------------------------------------------------------------------


@pytest.mark.anyio
async def test_tools_list_stays_small_and_dedented(tmp_path):
    server = create_server(Workspace(tmp_path / "ws.duckdb"), [tmp_path])
    async with Client(server, mode="legacy") as client:
        tools = (await client.list_tools()).tools
        prompts = (await client.list_prompts()).prompts
        resources = (await client.list_resources()).resources
    size = tools_list_bytes(tools)
    assert size < TOOLS_LIST_MAX_BYTES, f"tools/list is {size} bytes"
    texts = [(t.name, t.description) for t in tools] + [(p.name, p.description) for p in prompts] + \
            [(r.name, r.description) for r in resources]
    texts += [(t.name, d) for t in tools for d in descriptions_in([t.input_schema, t.output_schema])]
    for name, text in texts:
        assert text == inspect.cleandoc(text), f"{name}: {text!r} is not dedented"
        assert not re.search(r"\n[ \t]", text), f"{name}: an indented line in {text!r}"
    for tool in tools:  # the generated titles are gone, the typed contract is not
        assert "title" not in keywords_in([tool.input_schema, tool.output_schema]), tool.name
        assert tool.output_schema["type"] == "object" and tool.output_schema["required"], tool.name


def test_lean_schemas_accept_and_refuse_the_same_documents():
    from pydantic import BaseModel, Field

    class Inner(BaseModel):
        title: str = Field(description="a field named like a keyword")
        default: int | None = None

    class Outer(BaseModel):
        at: datetime
        note: str | None = None
        tags: list[str] | None = None
        kind: str | None = Field(None, pattern="^[a-z]+$")
        inner: Inner | None = None
        extra: dict[str, object] = {}

    full = Outer.model_json_schema()
    lean = lean_schema(full, output=True)
    assert lean["$defs"]["Inner"]["properties"]["title"] == {"description": "a field named like a keyword",
                                                             "type": "string"}
    assert lean["properties"]["note"] == {"type": ["string", "null"]}
    assert "anyOf" in lean["properties"]["inner"]  # a $ref beside null stays an anyOf
    documents = [{"at": "2026-11-29T11:20:58Z", "note": None, "tags": None, "kind": None, "inner": None, "extra": {}},
                 {"at": "2026-11-29T11:20:58Z", "note": "x", "tags": ["a"], "kind": "abc",
                  "inner": {"title": "t", "default": None}, "extra": {"k": 1}},
                 {"at": "2026-11-29T11:20:58", "note": "x"}, {"at": "2026-11-29T11:20:58Z", "note": 3},
                 {"at": "2026-11-29T11:20:58Z", "tags": [1]}, {"at": "2026-11-29T11:20:58Z", "kind": "ABC"},
                 {"at": "2026-11-29T11:20:58Z", "inner": {"default": 1}}, {"note": "x"}]
    verdicts = [(strict_validator(full).is_valid(d), strict_validator(lean).is_valid(d)) for d in documents]
    assert [a for a, _ in verdicts] == [b for _, b in verdicts] == [True, True] + [False] * 6


def test_lean_argument_schemas_accept_and_refuse_the_same_documents():
    """Arguments (output=False) keep their defaults but not `default: null`; a nullable one reads as a type list."""
    from pydantic import BaseModel, Field

    class Args(BaseModel):
        sheet: str | None = Field(None, description="a sheet name")
        depth: int = Field(3, ge=1, le=4, description="most criteria")
        top: int | None = Field(None, ge=1, description="the most to return")

    full = Args.model_json_schema()
    lean = lean_schema(full, output=False)
    assert lean["properties"]["sheet"] == {"description": "a sheet name", "type": ["string", "null"]}
    assert lean["properties"]["depth"] == {"default": 3, "description": "most criteria", "maximum": 4, "minimum": 1,
                                           "type": "integer"}
    assert lean["properties"]["top"] == {"description": "the most to return", "minimum": 1,
                                         "type": ["integer", "null"]}
    documents = [{}, {"sheet": None, "top": None}, {"sheet": "S", "depth": 4, "top": 2}, {"sheet": 1}, {"depth": 5},
                 {"top": 0}, {"depth": None}]
    verdicts = [(strict_validator(full).is_valid(d), strict_validator(lean).is_valid(d)) for d in documents]
    assert [a for a, _ in verdicts] == [b for _, b in verdicts] == [True] * 3 + [False] * 4


def test_a_definition_used_once_is_written_in_place():
    """inline_single_use: a $def referenced once moves into place; one used twice, one referring to itself and
    one whose reference carries a keyword the definition also has (two descriptions) stay $defs."""
    schema = {
        "type": "object",
        "properties": {
            "one": {"$ref": "#/$defs/Once"},
            "a": {"$ref": "#/$defs/Twice"},
            "b": {"type": "array", "items": {"$ref": "#/$defs/Twice"}},
            "tree": {"$ref": "#/$defs/Node"},
            "described": {"$ref": "#/$defs/Described", "description": "the field's own words"},
        },
        "required": ["one"],
        "$defs": {
            "Once": {"type": "object", "properties": {"inner": {"$ref": "#/$defs/Leaf"}}, "required": ["inner"]},
            "Leaf": {"type": "integer", "minimum": 0},
            "Twice": {"type": "string", "maxLength": 3},
            "Node": {"type": "object", "properties": {"child": {"$ref": "#/$defs/Node"}}},
            "Described": {"type": "object", "description": "the model's docstring", "properties": {"x": {"type": "integer"}}},
        },
    }
    lean = inline_single_use(schema)
    assert lean["properties"]["one"] == {"type": "object", "properties": {"inner": {"type": "integer", "minimum": 0}},
                                         "required": ["inner"]}
    assert set(lean["$defs"]) == {"Twice", "Node", "Described"}
    documents = [{"one": {"inner": 1}, "a": "abc", "b": ["x"], "tree": {"child": {"child": {}}}, "described": {"x": 1}},
                 {"one": {"inner": -1}}, {"one": {}}, {"one": {"inner": 1}, "b": ["abcd"]},
                 {"one": {"inner": 1}, "tree": {"child": 3}}, {"one": {"inner": 1}, "described": {"x": "y"}}, {}]
    verdicts = [(strict_validator(schema).is_valid(d), strict_validator(lean).is_valid(d)) for d in documents]
    assert [a for a, _ in verdicts] == [b for _, b in verdicts] == [True] + [False] * 6


@pytest.mark.parametrize("node, words", [
    ({"type": "integer", "minimum": 1, "maximum": 200}, "an integer from 1 to 200"),
    ({"type": ["number", "null"], "exclusiveMinimum": 0}, "a number above 0"),
    ({"type": "integer", "minimum": 1}, "an integer of at least 1"),
    ({"anyOf": [{"enum": ["health", "won"], "type": "string"}, {"type": "null"}]}, "one of 'health', 'won'"),
    ({"type": ["array", "null"], "items": {"type": "string"}}, "a list of strings"),
    ({"type": "array", "items": {"enum": ["tiers", "health"]}}, "a list of any of 'tiers', 'health'"),
    ({"type": "object", "additionalProperties": {"type": "number"}}, "an object of name: a number"),
    ({"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]}, "a string or an integer"),
    ({"type": "string", "minLength": 1}, "a non-empty string"),
    ({"type": "boolean"}, "true or false"),
    (None, "a value"),
])
def test_a_schema_is_said_in_words(node, words):
    assert expected(node) == words


def test_a_validation_error_is_placed_in_the_schema_the_client_read():
    """schema_at: pydantic's own steps (a union's branch names) are dropped, list indexes and mapping keys kept,
    and $refs followed; a place outside the schema gives None."""
    schema = {
        "type": "object",
        "properties": {
            "sheet": {"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]},
            "roles": {"type": "object", "additionalProperties": {"enum": ["fit", "ignore"]}},
            "drafts": {"type": ["array", "null"], "items": {"$ref": "#/$defs/Draft"}},
        },
        "$defs": {"Draft": {"type": "object", "properties": {"text": {"type": "string", "description": "one line"}}}},
    }
    assert schema_at(schema, ("sheet", "int")) == (["sheet"], schema["properties"]["sheet"])
    assert schema_at(schema, ("roles", "industry")) == (["roles", "industry"], {"enum": ["fit", "ignore"]})
    assert schema_at(schema, ("drafts", 2, "text")) == (["drafts", 2, "text"], {"type": "string",
                                                                                "description": "one line"})
    assert schema_at(schema, ("drafts", 0, "text", 1)) == (["drafts", 0, "text", 1], None)


# --- arguments a model naturally sends ----------------------------------------------------------------------


@pytest.mark.parametrize("given, expected", [(1, "ICP 1"), ("1", "ICP 1"), (2.0, "ICP 2"), ("icp2", "ICP 2"),
                                             ("ICP-3", "ICP 3"), (" icp 1 ", "ICP 1"), ("ICP 1", "ICP 1"),
                                             ("Enterprise", "Enterprise")])
def test_a_segment_is_named_however_a_model_sends_it(given, expected):
    assert TypeAdapter(SegmentName).validate_python(given) == expected


@pytest.mark.parametrize("given, expected", [(1, 1), ("1", 1), ("Tier 2", 2), ("tier-3", 3), (" 2 ", 2)])
def test_a_tier_is_a_number_however_a_model_sends_it(given, expected):
    assert TypeAdapter(TierNumber).validate_python(given) == expected


@pytest.mark.parametrize("given", ["Tier 4", 0, "gold", True])
def test_a_tier_outside_1_to_3_is_refused(given):
    with pytest.raises(ValidationError):
        TypeAdapter(TierNumber).validate_python(given)


def test_a_number_where_an_id_is_expected_is_its_text():
    assert TypeAdapter(IdText).validate_python(12) == "12"
    assert TypeAdapter(IdText).validate_python(3.0) == "3"
    with pytest.raises(ValidationError):
        TypeAdapter(IdText).validate_python(True)  # true is no id


@pytest.mark.parametrize("given, expected", [("deals", "deals"), ("Deals", "deals"), ("deal", "deals"),
                                             (" Customer ", "customers"), ("Companies", "customers"),
                                             ("accounts", "customers"), ("Opportunities", "deals"),
                                             ("prospect", "prospects")])
def test_a_kind_of_export_is_named_however_a_model_sends_it(given, expected):
    assert TypeAdapter(DataKindName).validate_python(given) == expected


def test_a_kind_that_is_none_is_refused():
    with pytest.raises(ValidationError):
        TypeAdapter(DataKindName).validate_python("leads")  # contacts or prospects? not guessed


@pytest.mark.parametrize("given, expected", [("Negative ICP", "negative_icp"), (" Tiers", "tiers"),
                                             ("data-quality", "data_quality"), ("BOTH", "both")])
def test_a_choice_is_written_as_the_choices_are(given, expected):
    assert choice_text(given) == expected


@pytest.mark.anyio
async def test_tools_take_the_arguments_a_model_sends(demo):
    async with Client(demo.server) as client:
        async def ok(name: str, arguments: dict) -> dict:
            result = await client.call_tool(name, arguments)
            assert not result.is_error, f"{name} {arguments}: {result.content[0].text}"
            return result.structured_content

        async def refused(name: str, arguments: dict) -> str:
            result = await client.call_tool(name, arguments)
            assert result.is_error, f"{name} {arguments} should fail"
            return result.content[0].text

        by_name = await ok("get_persona_evidence", {"segment": "ICP 1", "tier": 1, "limit": 1})
        for segment, tier in ((1, 1), ("1", "1"), ("icp 1", "Tier 1")):
            same = await ok("get_persona_evidence", {"segment": segment, "tier": tier, "limit": 1})
            assert (same["tier"], same["roles"].keys()) == (by_name["tier"], by_name["roles"].keys())
        assert "no ICP 9 Tier 1" in await refused("get_persona_evidence", {"segment": 9})
        assert "less than or equal to 3" in await refused("get_persona_evidence", {"tier": "Tier 4"})

        evidence_id = (await ok("list_evidence", {"limit": 1}))["items"][0]["id"]
        one = await ok("get_evidence", {"ids": evidence_id})  # one id, not a list of one
        assert [item["id"] for item in one["items"]] == [evidence_id]
        tiers = await ok("get_icp", {"sections": "tiers", "limit": "2", "offset": "0"})
        assert tiers["sections"] == ["tiers"] and tiers["pages"]["tiers"]["limit"] == 2
        both = await ok("get_icp", {"sections": ["Negative ICP", "Tiers"]})
        assert both["sections"] == ["negative_icp", "tiers"]
        deals = await ok("inspect_workspace", {"kind": "Deal", "limit": 1})
        assert [k["kind"] for k in deals["kinds"]] == ["deals"]
        companies = await ok("inspect_workspace", {"kind": "companies", "limit": 1})
        assert [k["kind"] for k in companies["kinds"]] == ["customers"]
        good = await ok("find_patterns", {"direction": "Good", "limit": 3})
        assert {p["direction"] for p in good["patterns"]} == {"good"}
        # a number for a version id is read as its text: the answer is the toolkit's "no such version",
        # which lists the versions there are, not a type error
        assert "no ICP version '3'" in await refused("get_icp", {"version": 3})
        assert "no ICP version '7'" in await refused("diff_icp_versions", {"old": 7, "new": demo.version})
        versions = await ok("list_icp_versions", {"limit": "5"})
        assert versions["page"]["limit"] == 5

        found = await ok("get_persona_evidence", {"segment": 1, "tier": "1", "limit": 1})
        champion = found["roles"]["champion"]
        title = champion["titles"][0]
        saved = await ok("save_drafts", {"personas": [{
            "segment": 1, "tier": "1", "role": "champion",
            "claims": [{"section": "who", "evidence": [champion["evidence"]],
                        "text": f"{title['n']} of {champion['n']} champions hold the title {title['value']}."}]}]})
        assert saved["saved"] is True and saved["personas_saved"] == 1
        personas = (await ok("get_icp", {"sections": ["personas"], "limit": 50}))["personas"]
        assert any(p.get("segment") == "ICP 1" and p.get("tier") == 1 and p["role"] == "champion" for p in personas)
