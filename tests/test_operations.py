"""Unit tests of icp_agent.operations: the registry of operations and the `operation` decorator."""

from __future__ import annotations

import pytest

from icp_agent import options, toolkit
from icp_agent.errors import ArgumentError
from icp_agent.operations import BY_NAME, OPERATIONS, Operation, operation


def test_names_are_unique_and_indexed():
    names = [op.name for op in OPERATIONS]
    assert len(names) == len(set(names))
    assert set(BY_NAME) == set(names)
    assert BY_NAME["build_icp"].options == "AnalysisOptions"


def test_command_is_the_name_with_dashes():
    assert BY_NAME["diff_icp_versions"].command == "diff-icp-versions"
    assert Operation("a_b_c", "NoOptions", "x").command == "a-b-c"


def test_every_operation_has_its_model_and_toolkit_function():
    for op in OPERATIONS:
        assert op.model() is getattr(options, op.options)
        assert issubclass(op.model(), options.Options), op.name
        assert op.function() is getattr(toolkit, op.name)
        # the toolkit function was wrapped with the same options model the registry names
        assert op.function().options is op.model(), op.name


def test_reads_and_cli_flags():
    assert BY_NAME["get_icp"].reads and not BY_NAME["build_icp"].reads
    assert not BY_NAME["import_data"].reads
    # the drafting operations take structured drafts: MCP and Python only
    assert {op.name for op in OPERATIONS if not op.cli} == {"save_drafts", "record_drafting"}


# --- the decorator, on a small operation of our own --------------------------------------------------------


def _echo():
    @operation(options.QueryOptions, positional=("sql",))
    def echo(ws, params):
        return (ws, params.sql, params.max_rows)

    return echo


def test_call_with_model_keywords_or_positional():
    echo = _echo()
    assert echo("W", options.QueryOptions(sql="SELECT 1", max_rows=5)) == ("W", "SELECT 1", 5)
    assert echo("W", sql="SELECT 2") == ("W", "SELECT 2", 200)  # the model's default max_rows
    assert echo("W", "SELECT 3", max_rows=7) == ("W", "SELECT 3", 7)
    assert echo.options is options.QueryOptions


def test_model_plus_keywords_overrides_the_model():
    echo = _echo()
    assert echo("W", options.QueryOptions(sql="SELECT 1", max_rows=5), max_rows=9) == ("W", "SELECT 1", 9)


def test_another_operations_model_gives_the_fields_this_one_has():
    @operation(options.HealthOptions)
    def health(ws, params):
        return params

    built = options.AnalysisOptions(min_tenure_months=3, depth=2)
    got = health("W", built)
    assert isinstance(got, options.HealthOptions)
    assert got.min_tenure_months == 3  # shared field carried over; depth is not a health field


def test_none_means_the_defaults_without_positional_fields():
    @operation(options.VersionOptions)
    def version(ws, params):
        return params.version

    assert version("W", None) is None
    assert version("W", version="v1") == "v1"


def test_progress_callback_is_passed_through():
    seen = []

    @operation(options.NoOptions)
    def work(ws, params, progress):
        progress("step")
        return "done"

    assert work("W", seen.append) == "done"
    assert seen == ["step"]
    assert work("W", progress=seen.append) == "done"
    assert seen == ["step", "step"]


def test_bad_field_is_an_argument_error_naming_it():
    echo = _echo()
    with pytest.raises(ArgumentError, match="max_rows"):
        echo("W", sql="SELECT 1", max_rows=0)
    with pytest.raises(ArgumentError, match="no_such"):
        echo("W", sql="SELECT 1", no_such=1)


def test_extra_positional_arguments_are_a_type_error():
    echo = _echo()
    with pytest.raises(TypeError, match="unexpected positional"):
        echo("W", "SELECT 1", "surplus")
