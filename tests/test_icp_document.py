"""Unit tests of icp_agent.icp_document: icp.json's sections as models (key order kept as written, unknown keys
refused where the schema forbids them, options written only when given) and the published schema field by field.
(icp.json's byte-for-byte round trip is in test_schema_criteria.py.)"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from icp_agent.icp_document import CohortMetrics, Criterion, DatasetInfo, IcpDocument


def test_section_keeps_given_keys_in_order_and_extras():
    # keys as written: no null for the ones left out, the order kept, an unknown key kept
    section = CohortMetrics.model_validate({"evidence": ["E1"], "future_key": 2, "n": 10})
    assert section.model_dump() == {"evidence": ["E1"], "future_key": 2, "n": 10}
    section.health_mean = 55  # set after loading: appended
    assert list(section.model_dump()) == ["evidence", "future_key", "n", "health_mean"]
    assert section.model_dump()["health_mean"] == 55 and isinstance(section.model_dump()["health_mean"], int)
    assert CohortMetrics().model_dump() == {}


def test_dataset_info_writes_options_only_when_given():
    assert "options" not in DatasetInfo(fingerprint="f").model_dump()
    assert DatasetInfo(fingerprint="f", options={"depth": 2}).model_dump()["options"] == {"depth": 2}


def test_criterion_forbids_unknown_keys_and_ops():
    c = Criterion(field="employees", op="between", min=10, max=50, label="10-50 employees")
    assert (c.min, c.max, c.kind) == (10, 50, None)
    with pytest.raises(ValidationError):
        Criterion(field="x", op="like", label="x")
    with pytest.raises(ValidationError):
        Criterion(field="x", op="eq", label="x", colour="red")


def test_the_published_schema_describes_every_section_field_by_field():
    # every object in icp.json's schema names its properties (or says what its values are): none is a bare object
    schema = IcpDocument.model_json_schema()
    bare = []

    def walk(node, where):
        if isinstance(node, dict):
            if node.get("type") == "object" and not ({"properties", "additionalProperties", "$ref"} & set(node)):
                bare.append(where)
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")

    walk(schema, "#")
    assert not bare, bare
    assert {"tiers", "scorecard", "validation", "evidence", "negative_icp"} <= set(schema["properties"])
