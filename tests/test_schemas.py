"""faces/schemas.py: the lean published form of a tool's JSON Schemas; it must validate exactly the documents
the generated schema does (checked with jsonschema on documents that pass and fail)."""

from __future__ import annotations

import jsonschema
import pytest
from mcp.server.mcpserver import MCPServer
from pydantic import BaseModel, Field

from icp_agent.faces.schemas import lean_schema, publish_lean_schemas


class Inner(BaseModel):
    label: str = Field(title="Label", description="kept")


class Result(BaseModel):
    name: str
    count: int | None = Field(None, ge=0)
    tags: list[str] | None = None
    inner: Inner | None = None
    kind: str = Field("a", json_schema_extra={"enum": ["a", "b"]})
    extra: dict = Field(default_factory=dict)


def test_titles_and_default_additional_properties_are_dropped():
    schema = {"title": "X", "type": "object", "additionalProperties": True,
              "properties": {"title": {"type": "string", "title": "Title"}}, "enum": [{"title": 1}]}  # fmt: skip
    # "title" as a property name and inside enum data stays: only the keyword goes
    assert lean_schema(schema, output=False) == {
        "type": "object", "properties": {"title": {"type": "string"}}, "enum": [{"title": 1}]}  # fmt: skip


def test_output_schemas_lose_defaults_and_nullable_anyof():
    original = Result.model_json_schema()
    lean = lean_schema(original, output=True)
    props = lean["properties"]
    assert props["count"] == {"type": ["integer", "null"], "minimum": 0}
    assert props["tags"] == {"type": ["array", "null"], "items": {"type": "string"}}
    # a $ref branch is not a plain type: it stays an anyOf
    assert props["inner"] == {"anyOf": [{"$ref": "#/$defs/Inner"}, {"type": "null"}]}
    assert lean["$defs"]["Inner"]["properties"]["label"] == {"type": "string", "description": "kept"}
    assert "default" not in repr(lean) and "title" not in lean
    assert lean["required"] == original["required"]
    # inputs keep their defaults
    assert lean_schema(original, output=False)["properties"]["kind"]["default"] == "a"


@pytest.mark.parametrize(
    "document",
    [
        {"name": "x"},
        {"name": "x", "count": None, "tags": None, "inner": None},
        {"name": "x", "count": 3, "tags": ["a"], "inner": {"label": "l"}, "kind": "b"},
        {"name": "x", "count": -1},
        {"name": "x", "count": "3"},
        {"name": "x", "tags": [1]},
        {"name": "x", "inner": {}},
        {"name": "x", "kind": "c"},
        {"count": 1},
    ],
)
def test_lean_validates_exactly_what_the_original_does(document):
    original = Result.model_json_schema()
    verdict = jsonschema.Draft202012Validator(original).is_valid(document)
    for output in (True, False):
        assert jsonschema.Draft202012Validator(lean_schema(original, output=output)).is_valid(document) is verdict


def test_publish_lean_schemas_replaces_a_tools_schemas():
    server = MCPServer("t")

    @server.tool()
    def describe(name: str, limit: int | None = None) -> Result:
        """A tool."""
        return Result(name=name)

    publish_lean_schemas(server, "describe")
    tool = server._tool_manager.get_tool("describe")
    assert "title" not in tool.parameters and tool.parameters["properties"]["name"] == {"type": "string"}
    assert tool.fn_metadata.output_schema["properties"]["count"]["type"] == ["integer", "null"]
    with pytest.raises(RuntimeError, match="tool nope was not registered"):
        publish_lean_schemas(server, "nope")
