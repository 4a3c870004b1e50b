"""The one error boundary (errors.py): classes, the CLI's exit codes and output forms, the MCP tools' messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mcp import Client

from icp_agent import toolkit
from icp_agent.errors import (
    ArgumentError,
    DataShapeError,
    InputError,
    NotMeasurable,
    ServiceError,
    UserError,
    close_names,
    describe,
)
from icp_agent.faces.server import create_server
from icp_agent.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def anyio_backend():
    return "asyncio"


def test_the_classes_share_userError_and_say_their_kind():
    cases = [(InputError("bad amount", file="deals.csv", row=3, column="Amount", hint="fix it"), "input"),
             (ArgumentError("--depth must be 1-4"), "argument"), (DataShapeError("no lost deals"), "data_shape"),
             (ServiceError("the API timed out"), "service"), (NotMeasurable("no industry", fields=["industry"]),
                                                              "data_shape"), (UserError("old style"), "input")]
    for error, kind in cases:
        assert isinstance(error, UserError)
        info = error.as_dict()
        assert info["kind"] == kind and info["message"] == str(error)
    first = cases[0][0].as_dict()
    assert (first["file"], first["row"], first["column"], first["hint"]) == ("deals.csv", 3, "Amount", "fix it")
    assert first["message"] == "deals.csv, row 3, column 'Amount': bad amount. fix it"
    assert describe(KeyError("x"))["kind"] == "bug"


@pytest.mark.parametrize("given, names, prefer, meant", [
    ("inputPath", ["input_path", "output_path"], (), ["input_path"]),  # another spelling of the same name
    ("--out-dir", ["out_dir", "out"], (), ["out_dir"]),
    ("limt", ["limit", "offset"], (), ["limit"]),  # a typo
    ("segmnet", ["segment", "tier", "seg"], (), ["segment"]),
    ("path", ["input_path", "output_path", "icp_path"], ["input_path"], ["input_path"]),  # the one not given
    ("path", ["mapping_path", "fx_path", "lenient"], (), ["fx_path", "mapping_path"]),  # share a word
    ("colour", ["industry", "employees"], (), []),  # nothing close: no guess
])
def test_close_names_guess_what_was_meant(given, names, prefer, meant):
    assert close_names(given, names, prefer=prefer) == meant


# --- the CLI ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ["run", "--good", "bogus", "x"],            # a bad choice
    ["run", "--depth", "9", "x"],               # out of bounds
    ["run", "--alpha", "2", "x"],
    ["run", "--min-support", "0", "x"],
    ["run", "--budget", "0", "x"],
    ["inspect-workspace", "--kind", "tickets"],
    ["build-icp", "--frobnicate"],              # an unknown option
    ["build-icp", "--weight", "nps"],           # a value the model parses (component=weight)
    ["build-icp", "--good", "column"],          # a combination that cannot work
    ["build-icp", "--good-value", "P I F"],
    ["build-icp", "--good", "won", "--good-column", "status"],
    ["build-icp", "--as-of", "yesterday"],      # not an ISO date
    ["score-health", "--min-tenure-months", "-1"],
    ["find-patterns", "--direction", "sideways"],
    ["set-field-roles", "industry"],
    ["set-field-roles", "industry=fitt"],       # not a role
])
def test_every_invalid_option_value_exits_2_also_as_json(cli, args):
    plain = cli(*args, expect=2)
    assert "Traceback" not in plain.output
    assert plain.output.strip()
    result = cli(*args, "--json", expect=2)
    error = json.loads(result.stdout)["error"]
    assert set(error) >= {"kind", "message", "file", "row", "column", "hint"}
    assert error["kind"] in ("argument", "input") and error["message"]


def test_a_user_problem_names_file_and_remedy_in_json(cli, tmp_path):
    result = cli("import-data", "--customers", str(tmp_path / "nope.csv"), "--json", expect=2)
    error = json.loads(result.stdout)["error"]
    assert "nope.csv" in error["message"] and error["kind"] != "bug"


def test_messages_are_plain_text_never_markup(cli, tmp_path):
    """A company, file or field named like rich markup prints literally."""
    result = cli("set-field-roles", "[bold]x[/bold]", expect=2)
    assert "[bold]x[/bold]" in result.output
    result = cli("import-data", "--customers", str(tmp_path / "[red]acme:smile:.csv"), expect=2)
    assert "[red]acme:smile:.csv" in result.output


def test_a_bug_exits_1_with_one_line_and_the_traceback_file(cli, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("boom in list_icp_versions")

    monkeypatch.setattr(toolkit, "list_icp_versions", broken)
    Workspace(cli.workspace).schema_version()  # versions reads a workspace; it never creates one
    result = cli("list-icp-versions", expect=1)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "RuntimeError: boom in list_icp_versions" in lines[0]
    path = Path(lines[0].rsplit(" in ", 1)[1].strip())
    assert path.exists() and "Traceback" in path.read_text() and "broken" in path.read_text()
    error = json.loads(cli("list-icp-versions", "--json", expect=1).stdout)["error"]
    assert error["kind"] == "bug" and Path(error["traceback"]).exists()


def test_data_shape_problems_exit_2(cli, write):
    """A customers file with no outcome at all (no health fields, no deals) stops with exit 2, saying why."""
    path = write("c.csv", "Company,Industry,Employees\n" + "".join(f"Co {i},Software,{10 + i}\n" for i in range(30)))
    result = cli("run", "--customers", str(path), "--out", str(path.parent / "out"), "--json", expect=2)
    error = json.loads(result.stdout)["error"]
    assert "good customers from bad" in error["message"] and error["hint"]


# --- the MCP tools ------------------------------------------------------------------------------------------------

@pytest.mark.anyio
async def test_mcp_tools_return_actionable_messages_for_every_failure(tmp_path, monkeypatch):
    server = create_server(Workspace(tmp_path / "ws.duckdb"), [REPO / "fixtures", tmp_path])
    async with Client(server, mode="auto") as client:
        result = await client.call_tool("build_icp", {"good_value": "P I F"})
        assert result.is_error
        text = result.content[0].text
        assert "argument error" in text and "good_column" in text.replace("--good-column", "good_column")

        def broken(*_args, **_kwargs):
            raise RuntimeError("boom in list_icp_versions")

        monkeypatch.setattr(toolkit, "list_icp_versions", broken)
        result = await client.call_tool("list_icp_versions", {})
        assert result.is_error
        text = result.content[0].text
        assert "internal error" in text and "RuntimeError: boom in list_icp_versions" in text
        assert "bug" in text and Path(text.split("traceback is in ", 1)[1].split(". ", 1)[0]).exists()


def test_the_boundary_does_not_swallow_bugs_inside_a_build(monkeypatch, ws):
    """A phase's bug is not turned into "not measurable": only data-shape problems are."""
    from icp_agent.icp_document import IcpDocument

    icp = IcpDocument.model_construct(warnings=[])
    with pytest.raises(ZeroDivisionError):
        toolkit._phase(icp, "validation", lambda: 1 / 0)
    toolkit._phase(icp, "validation", lambda: (_ for _ in ()).throw(DataShapeError("the deals have no industry")))
    assert icp.warnings == ["validation: not measurable: the deals have no industry"]
