"""The JSON Schemas the MCP server publishes for its tools, in their lean form: the same documents validate,
with the noise a model pays for in tokens (derived titles, defaults in outputs, nullable anyOf) left out.
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer

# keywords whose value maps names to schemas (the names are never keywords), and keywords whose value is data
NAMED_SCHEMAS = frozenset({"properties", "$defs", "patternProperties", "dependentSchemas"})
SCHEMA_DATA = frozenset({"enum", "const", "default", "examples"})
# keywords that constrain only instances of their own type: they may stand beside "type": [T, "null"]
TYPE_SPECIFIC = frozenset(
    {
        "type",
        "items",
        "prefixItems",
        "minItems",
        "maxItems",
        "uniqueItems",
        "properties",
        "required",
        "additionalProperties",
        "minProperties",
        "maxProperties",
        "format",
        "minLength",
        "maxLength",
        "pattern",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
    }
)


def lean_schema(node: Any, *, output: bool) -> Any:
    """The published form of a generated JSON Schema, validating exactly the documents the original does.

    Dropped everywhere: the titles pydantic derives from names ("Created At" for created_at), which tell a
    client nothing the name does not, and `additionalProperties: true` (JSON Schema's default). In output
    schemas (a result always carries every field) also each `default`, and a nullable field's
    `anyOf: [{type: T, ...}, {type: null}]` becomes `type: [T, "null"]` when the other branch holds only
    keywords that apply to T alone (so null still passes and nothing else changes). Types, required fields,
    enums, formats, bounds, descriptions and $defs are kept: the typed
    contract is whole."""
    if isinstance(node, list):
        return [lean_schema(item, output=output) for item in node]
    if not isinstance(node, dict):
        return node
    lean: dict[str, Any] = {}
    for key, value in node.items():
        if key == "title" or (output and key == "default") or (key == "additionalProperties" and value is True):
            continue
        if key in NAMED_SCHEMAS and isinstance(value, dict):
            lean[key] = {name: lean_schema(sub, output=output) for name, sub in value.items()}
        elif key in SCHEMA_DATA:
            lean[key] = value
        else:
            lean[key] = lean_schema(value, output=output)
    branches = lean.get("anyOf")
    if output and isinstance(branches, list) and len(branches) == 2 and {"type": "null"} in branches:
        other = branches[0] if branches[1] == {"type": "null"} else branches[1]
        if isinstance(other.get("type"), str) and set(other) <= TYPE_SPECIFIC and not set(other) & set(lean):
            lean = {**{k: v for k, v in lean.items() if k != "anyOf"}, **other, "type": [other["type"], "null"]}
    return lean


def publish_lean_schemas(server: MCPServer, name: str) -> None:
    """Replace a registered tool's published input and output schemas by their lean forms (lean_schema).
    Arguments are still validated by the tool's pydantic model and results by its return type, as before.
    The SDK offers no public hook for the published schemas, hence its tool manager."""
    registered = server._tool_manager.get_tool(name)
    if registered is None:
        raise RuntimeError(f"tool {name} was not registered")
    registered.parameters = lean_schema(registered.parameters, output=False)
    if registered.fn_metadata.output_schema is not None:
        registered.fn_metadata.output_schema = lean_schema(registered.fn_metadata.output_schema, output=True)
