"""Unit tests of icp_agent.options: the options models, their parsers and `parse`'s errors."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import PurePosixPath

import pytest

from icp_agent.errors import ArgumentError
from icp_agent.options import (
    AnalysisOptions,
    EvidenceOptions,
    FindPatternsOptions,
    HealthOptions,
    ImportOptions,
    InspectOptions,
    PersonaEvidenceOptions,
    QueryOptions,
    ScoreOptions,
    SetFieldRolesOptions,
    parse,
)


def test_defaults_of_analysis_options():
    o = AnalysisOptions()
    assert (o.depth, o.alpha, o.min_support, o.min_tenure_months) == (3, 0.05, None, 6.0)
    assert o.allow_unlinked is False and o.revenue_target is None


def test_unknown_option_is_an_argument_error_naming_it():
    with pytest.raises(ArgumentError, match="dpeth"):
        parse(AnalysisOptions, {"dpeth": 2})


def test_bounds_are_argument_errors_with_the_value_given():
    with pytest.raises(ArgumentError, match=r"depth.*got 9"):
        parse(AnalysisOptions, {"depth": 9})
    with pytest.raises(ArgumentError, match="alpha"):
        parse(AnalysisOptions, {"alpha": 1.0})


def test_spelled_names_the_argument_as_the_face_writes_it():
    with pytest.raises(ArgumentError, match="--min-tenure-months"):
        parse(AnalysisOptions, {"min_tenure_months": -1}, spelled=lambda n: "--" + n.replace("_", "-"))


def test_literal_choice_error_lists_the_choices():
    with pytest.raises(ArgumentError) as err:
        parse(HealthOptions, {"good": "best"})
    assert "'best'" in str(err.value) and "health" in str(err.value) and "won" in str(err.value)


def test_several_problems_are_counted_in_the_hint():
    with pytest.raises(ArgumentError) as err:
        parse(AnalysisOptions, {"depth": 0, "alpha": 2})
    assert err.value.hint == "2 problem(s) in all"


def test_choice_text_normalises_choices():
    assert HealthOptions(good=" Won ").good == "won"
    assert FindPatternsOptions(direction="GOOD").direction == "good"


def test_as_of_accepts_iso_dates_and_datetimes():
    assert HealthOptions(as_of="2026-06-30").as_of == "2026-06-30"
    assert HealthOptions(as_of="2026-06-30T12:00:00").as_of == "2026-06-30"
    assert HealthOptions(as_of=date(2025, 1, 2)).as_of == "2025-01-02"
    assert HealthOptions(as_of=datetime(2025, 1, 2, 3, 4)).as_of == "2025-01-02"
    with pytest.raises(ArgumentError, match=r"as_of.*not an ISO date"):
        parse(HealthOptions, {"as_of": "30/06/2026"})


def test_weight_pairs_from_command_line_text_or_dict():
    assert HealthOptions(weights=["nps=20", " retention = 5 "]).weights == {"nps": 20.0, "retention": 5.0}
    assert HealthOptions(weights="nps=1").weights == {"nps": 1.0}
    assert HealthOptions(weights={"nps": 3}).weights == {"nps": 3.0}
    with pytest.raises(ArgumentError, match=r"weights.*'nps' is not COMPONENT=W"):
        parse(HealthOptions, {"weights": ["nps"]})
    with pytest.raises(ArgumentError, match="weights"):
        parse(HealthOptions, {"weights": ["nps="]})


def test_set_field_roles_pairs_and_role_text():
    o = SetFieldRolesOptions(roles=["time_zone=ignore", "lead_source=Post-Sale"])
    assert o.roles == {"time_zone": "ignore", "lead_source": "post_sale"}
    assert SetFieldRolesOptions(roles={"a": "FIT"}).roles == {"a": "fit"}
    with pytest.raises(ArgumentError, match="roles"):
        parse(SetFieldRolesOptions, {"roles": {"a": "maybe"}})
    with pytest.raises(ArgumentError, match="roles"):
        parse(SetFieldRolesOptions, {"roles": {}})  # min_length=1


def test_config_builds_the_analysis_config():
    cfg = AnalysisOptions(weights={"nps": 40}, depth=2, alpha=0.1, min_support=12).config()
    assert cfg.health.weights["nps"] == 40
    assert (cfg.depth, cfg.alpha, cfg.min_support) == (2, 0.1, 12)
    # a good_column alone implies good='column'
    assert HealthOptions(good_column="activated").config().health.good == "column"
    assert HealthOptions().config().health.good is None


@pytest.mark.parametrize(
    "given, named",
    [
        ({"weights": {"happiness": 1}}, "happiness"),
        ({"good": "column"}, "good='column'"),
        ({"good_value": "P I F"}, "good_value"),
        ({"good": "won", "good_column": "x"}, "good='won'"),
    ],
)
def test_config_rules_between_options_are_argument_errors(given, named):
    with pytest.raises(ArgumentError) as err:
        HealthOptions(**given).config()
    assert named in str(err.value)


def test_analysis_keeps_only_health_fields():
    o = HealthOptions(min_tenure_months=2).analysis()
    assert isinstance(o, AnalysisOptions) and o.min_tenure_months == 2 and o.depth == 3


def test_import_options_paths_and_files():
    o = ImportOptions(data_dir=PurePosixPath("/tmp/x"), customers=PurePosixPath("/tmp/c.csv"))
    assert o.data_dir == ["/tmp/x"] and o.customers == "/tmp/c.csv"
    assert ImportOptions(deals="a.csv").deals == ["a.csv"] and ImportOptions(deals=["a", "b"]).deals == ["a", "b"]
    files = o.files()
    assert (
        files["customers"] == "/tmp/c.csv"
        and files["lenient"] is False
        and set(files) == set(ImportOptions.model_fields)
    )


def test_evidence_ids_one_or_many_and_bounds():
    assert EvidenceOptions(ids="E1").ids == ["E1"]
    assert EvidenceOptions(ids=12).ids == ["12"]  # a JSON number read as its text
    with pytest.raises(ArgumentError, match="ids"):
        parse(EvidenceOptions, {"ids": [f"E{i}" for i in range(21)]})
    with pytest.raises(ArgumentError, match="ids"):
        parse(EvidenceOptions, {"ids": []})


def test_persona_segment_and_tier_spellings():
    o = PersonaEvidenceOptions(segment="icp-2", tier="Tier 3")
    assert (o.segment, o.tier) == ("ICP 2", 3)
    with pytest.raises(ArgumentError, match="tier"):
        parse(PersonaEvidenceOptions, {"tier": 4})
    with pytest.raises(ArgumentError, match="tier"):
        parse(PersonaEvidenceOptions, {"tier": True})


def test_inspect_kind_synonyms():
    assert InspectOptions(kind="Companies").kind == "customers"
    assert InspectOptions(kind="deal").kind == "deals"
    with pytest.raises(ArgumentError, match="kind"):
        parse(InspectOptions, {"kind": "widgets"})


def test_query_and_score_required_fields():
    with pytest.raises(ArgumentError, match="sql"):
        parse(QueryOptions, {"sql": ""})
    with pytest.raises(ArgumentError, match="max_rows"):
        parse(QueryOptions, {"sql": "SELECT 1", "max_rows": 1001})
    with pytest.raises(ArgumentError, match="output_path"):
        parse(ScoreOptions, {"input_path": "p.csv"})
