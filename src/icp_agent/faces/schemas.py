"""The JSON Schemas the MCP server publishes for its tools, in their lean form: the same documents validate,
with the noise a model pays for in tokens (derived titles, defaults in outputs, nullable anyOf) left out.
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer

# keywords whose value maps names to schemas (the names are never keywords), and keywords whose value is data
NAMED_SCHEMAS = frozenset({"properties", "$defs", "patternProperties", "dependentSchemas"})
SCHEMA_DATA = frozenset({"enum", "const", "default", "examples"})
LOCAL_REF = "#/$defs/"
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
    client nothing the name does not, and `additionalProperties: true` (JSON Schema's default); and a nullable
    field's `anyOf: [{type: T, ...}, {type: null}]` becomes `type: [T, "null"]` when the other branch holds only
    keywords that apply to T alone (so null still passes and nothing else changes); and `default: null`, which
    says no more than the argument's absence from `required`. In output schemas (a result always carries every
    field) also every other `default`. Types, required fields, enums, formats, bounds, descriptions, an
    argument's default value and $defs are kept (inline_single_use then writes a definition used once in
    place): the typed contract is whole. A `default` is an annotation
    (JSON Schema never validates by it), so none of this changes which documents pass."""
    if isinstance(node, list):
        return [lean_schema(item, output=output) for item in node]
    if not isinstance(node, dict):
        return node
    lean: dict[str, Any] = {}
    for key, value in node.items():
        if (
            key == "title"
            or (key == "default" and (output or value is None))
            or (key == "additionalProperties" and value is True)
        ):
            continue
        if key in NAMED_SCHEMAS and isinstance(value, dict):
            lean[key] = {name: lean_schema(sub, output=output) for name, sub in value.items()}
        elif key in SCHEMA_DATA:
            lean[key] = value
        else:
            lean[key] = lean_schema(value, output=output)
    branches = lean.get("anyOf")
    if isinstance(branches, list) and len(branches) == 2 and {"type": "null"} in branches:
        other = branches[0] if branches[1] == {"type": "null"} else branches[1]
        if isinstance(other.get("type"), str) and set(other) <= TYPE_SPECIFIC and not set(other) & set(lean):
            lean = {**{k: v for k, v in lean.items() if k != "anyOf"}, **other, "type": [other["type"], "null"]}
    return lean


def _ref_counts(node: Any, counts: dict[str, int]) -> dict[str, int]:
    """How many times each local definition (#/$defs/Name) is referenced in `node`."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(LOCAL_REF):
            counts[ref[len(LOCAL_REF) :]] = counts.get(ref[len(LOCAL_REF) :], 0) + 1
        for key, value in node.items():
            if key not in SCHEMA_DATA:
                _ref_counts(value, counts)
    elif isinstance(node, list):
        for item in node:
            _ref_counts(item, counts)
    return counts


def inline_single_use(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with each definition referenced once written in place of its `$ref` (repeated until none is
    left), validating the same documents: a $def used once costs its name twice and a `$ref` for nothing.
    A definition that refers to itself stays, and so does a `$ref` whose siblings would clash with the
    definition's own keywords (a field's description beside a model's)."""
    defs: dict[str, Any] = dict(schema.get("$defs") or {})
    body = {k: v for k, v in schema.items() if k != "$defs"}
    while defs:
        counts = _ref_counts([body, defs], {})
        once = {
            name
            for name, sub in defs.items()
            if counts.get(name) == 1 and not _ref_counts(sub, {}).get(name) and not _clashes(name, sub, [body, defs])
        }
        if not once:
            break

        body = _place(body, defs, once)
        defs = {name: _place(sub, defs, once) for name, sub in defs.items() if name not in once}
    return {**body, "$defs": defs} if defs else body


def _place(node: Any, defs: dict[str, Any], once: set[str]) -> Any:
    """`node` with each `$ref` to a definition in `once` replaced by the definition (its siblings kept)."""
    if isinstance(node, list):
        return [_place(item, defs, once) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith(LOCAL_REF) and ref[len(LOCAL_REF) :] in once:
        siblings = {k: _place(v, defs, once) for k, v in node.items() if k != "$ref"}
        return {**_place(defs[ref[len(LOCAL_REF) :]], defs, once), **siblings}
    return {k: v if k in SCHEMA_DATA else _place(v, defs, once) for k, v in node.items()}


def _clashes(name: str, definition: dict[str, Any], node: Any) -> bool:
    """Whether the $ref to `name` somewhere in `node` has a sibling keyword the definition also holds."""
    if isinstance(node, list):
        return any(_clashes(name, definition, item) for item in node)
    if not isinstance(node, dict):
        return False
    if node.get("$ref") == LOCAL_REF + name and (set(node) - {"$ref"}) & set(definition):
        return True
    return any(_clashes(name, definition, value) for key, value in node.items() if key not in SCHEMA_DATA)


def publish_lean_schemas(server: MCPServer, name: str) -> None:
    """Replace a registered tool's published input and output schemas by their lean forms (lean_schema, then
    inline_single_use).
    Arguments are still validated by the tool's pydantic model and results by its return type, as before.
    The SDK offers no public hook for the published schemas, hence its tool manager."""
    registered = server._tool_manager.get_tool(name)
    if registered is None:
        raise RuntimeError(f"tool {name} was not registered")
    registered.parameters = inline_single_use(lean_schema(registered.parameters, output=False))
    if registered.fn_metadata.output_schema is not None:
        registered.fn_metadata.output_schema = inline_single_use(
            lean_schema(registered.fn_metadata.output_schema, output=True)
        )


# --- reading a published input schema back: where a validation error points and what belongs there -------------


def _followed(node: Any, defs: dict[str, Any]) -> dict[str, Any]:
    """`node` with a local `$ref` replaced by its definition (siblings kept) and a nullable `anyOf` by its
    non-null branch, so the caller sees the keywords of the value itself."""
    if not isinstance(node, dict):
        return {}
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith(LOCAL_REF) and ref[len(LOCAL_REF) :] in defs:
        node = {**_followed(defs[ref[len(LOCAL_REF) :]], defs), **{k: v for k, v in node.items() if k != "$ref"}}
    branches = [b for b in node.get("anyOf") or [] if b != {"type": "null"}]
    if len(branches) == 1:
        node = {**{k: v for k, v in node.items() if k != "anyOf"}, **_followed(branches[0], defs)}
    return node


def schema_at(schema: dict[str, Any], loc: tuple[str | int, ...]) -> tuple[list[str | int], dict[str, Any] | None]:
    """Follow a pydantic validation error's location through a tool's published input schema.

    Returns the location as the client wrote it (pydantic's own steps, such as the branch names `str` and
    `int` of a union, dropped) and the schema of the value found there ($ref and nullable anyOf followed),
    or None when the location leaves the schema (the value is then not one the schema describes)."""
    defs = schema.get("$defs") or {}
    node: dict[str, Any] | None = _followed(schema, defs)
    path: list[str | int] = []
    for part in loc:
        if node is None:
            path.append(part)
            continue
        properties = node.get("properties") or {}
        extra = node.get("additionalProperties")
        if isinstance(part, int):
            items = node.get("items")
            node = _followed(items, defs) if isinstance(items, dict) else None
        elif part in properties:
            node = _followed(properties[part], defs)
        elif isinstance(extra, dict):  # a key of a mapping (roles: {field: role})
            node = _followed(extra, defs)
        else:
            continue  # a step of pydantic's, not of the client's document
        path.append(part)
    return path, node


def _one_type(name: str, node: dict[str, Any]) -> str:
    """One JSON type in words, with the bounds that apply to it."""
    low = node.get("minimum", node.get("exclusiveMinimum"))
    high = node.get("maximum", node.get("exclusiveMaximum"))
    if name in ("integer", "number"):
        word = "an integer" if name == "integer" else "a number"
        if low is not None and high is not None:
            return f"{word} from {low} to {high}"
        if low is not None:
            return f"{word} {'above' if 'exclusiveMinimum' in node else 'of at least'} {low}"
        if high is not None:
            return f"{word} {'below' if 'exclusiveMaximum' in node else 'of at most'} {high}"
        return word
    if name == "array":
        items = node.get("items")
        return f"a list of {expected(items, plural=True)}" if isinstance(items, dict) else "a list"
    if name == "object":
        extra = node.get("additionalProperties")
        if isinstance(extra, dict) and not node.get("properties"):
            return f"an object of name: {expected(extra)}"
        keys = list(node.get("properties") or {})
        return f"an object with {', '.join(keys)}" if keys else "an object"
    if name == "string" and node.get("minLength"):
        return "a non-empty string"
    return {"string": "a string", "boolean": "true or false", "null": "null"}.get(name, name)


def expected(node: dict[str, Any] | None, *, plural: bool = False) -> str:
    """What a published schema accepts, in words: `an integer from 1 to 200`, `one of 'health', 'won'`, `a list
    of strings`, `a string or an integer` (null, which only says an argument is optional, is left out)."""
    if not node:
        return "values" if plural else "a value"
    if "enum" in node:
        return ("any of " if plural else "one of ") + ", ".join(repr(v) for v in node["enum"] if v is not None)
    if "const" in node:
        return repr(node["const"])
    branches = [b for b in node.get("anyOf") or node.get("oneOf") or [] if b != {"type": "null"}]
    if branches:
        return " or ".join(expected(b, plural=plural) for b in branches)
    types = node.get("type")
    names = [t for t in (types if isinstance(types, list) else [types]) if t and t != "null"]
    if not names:
        return "values" if plural else "a value"
    words = " or ".join(_one_type(name, node) for name in names)
    if plural:  # a list of strings, not a list of a string
        words = {"a string": "strings", "an integer": "integers", "a number": "numbers"}.get(words, words)
    return words
