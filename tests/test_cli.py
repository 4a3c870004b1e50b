"""The CLI: exit codes, --json on every command, no traceback for a user mistake, the demo end to end,
read-only commands that never create a workspace, listings that fit a terminal or parse when piped, a
light start."""

from __future__ import annotations

import csv
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

import icp_agent
from conftest import DEMO, REPO, copy_demo
from icp_agent.faces import cli as cli_module
from icp_agent.faces import cli_output
from icp_agent.faces.cli import main
from icp_agent.ingest.fields import fields_markdown
from icp_agent.workspace import Workspace

COMMANDS = ["import-data", "inspect-workspace", "set-field-roles", "score-health", "find-patterns", "build-icp",
            "get-icp", "list-icp-versions", "get-evidence", "list-evidence", "get-persona-evidence", "fit-scorecard",
            "validate-icp", "score-prospects", "diff-icp-versions", "query-workspace", "render-document",
            "run", "refresh", "demo", "chat", "serve", "fields"]
RENAMED = {"import": "import-data", "inspect": "inspect-workspace", "roles": "set-field-roles", "build": "build-icp",
           "score": "score-prospects", "diff": "diff-icp-versions", "versions": "list-icp-versions",
           "evidence": "get-evidence"}


@pytest.mark.parametrize("command", [c for c in COMMANDS if c not in ("chat", "serve")])
def test_every_command_has_help_and_json(command, cli):
    result = cli.runner.invoke(main, [command, "--help"])
    assert result.exit_code == 0 and "--json" in result.output and "--workspace" in result.output


def test_the_commands_are_the_operations_with_dashes_and_list_without_loading_them():
    from icp_agent.operations import OPERATIONS

    listed = main.list_commands(None)
    assert listed == COMMANDS
    assert [op.command for op in OPERATIONS if op.cli] == [c for c in COMMANDS if c.replace("-", "_") in
                                                           {op.name for op in OPERATIONS}]
    mcp_only = {op.name for op in OPERATIONS} - {c.replace("-", "_") for c in listed}
    assert mcp_only == {"save_drafts", "record_drafting"}  # drafts a model writes: MCP and Python only
    help_text = CliRunner().invoke(main, ["--help"]).output
    assert all(name in help_text for name in COMMANDS)
    assert not any(f"  {old} " in help_text for old in RENAMED)  # the old names are hidden


def test_options_come_from_the_models_with_their_bounds_and_defaults(cli):
    from icp_agent.faces.cli_options import parameters
    from icp_agent.options import AnalysisOptions

    build = {p.name: p for p in main.get_command(None, "build-icp").params}
    for name, field in AnalysisOptions.model_fields.items():
        assert name in build, name  # every option of the model, as_of included
        assert build[name].help == field.description
    assert (build["depth"].type.min, build["depth"].type.max, build["depth"].default) == (1, 4, 3)
    assert build["alpha"].type.min_open and build["alpha"].type.max_open and build["alpha"].default == 0.05
    assert build["weights"].opts[0] == "--weight" and build["weights"].multiple
    assert [p.name for p in parameters(AnalysisOptions)] == list(AnalysisOptions.model_fields)
    # a bound or a value the model refuses is exit 2 naming the option, before anything is read
    assert "--depth" in cli("build-icp", "--depth", "9", expect=2).stderr
    assert "--as-of: '30 June' is not an ISO date" in cli("build-icp", "--as-of", "30 June", expect=2).stderr
    assert "--weight: 'nps' is not COMPONENT=W" in cli("build-icp", "--weight", "nps", expect=2).stderr


@pytest.mark.parametrize("old,new", sorted(RENAMED.items()))
def test_the_old_command_names_still_work_and_say_the_new_one(old, new, cli):
    Workspace(cli.workspace).schema_version()
    args = {"roles": ["industry=fit"], "evidence": ["E1"], "score": ["p.csv", "--out", "s.csv"]}.get(old, [])
    before, after = cli(old, *args, "--json", expect=None), cli(new, *args, "--json", expect=None)
    assert before.exit_code == after.exit_code and before.stdout == after.stdout
    assert f"`icp-agent {old}` is renamed `icp-agent {new}`" in before.stderr


def test_docs_fields_md_is_current():
    assert (REPO / "docs" / "fields.md").read_text() == fields_markdown()


@pytest.fixture(scope="module")
def demo_dir(built_demo, tmp_path_factory):
    """`icp-agent demo --out icp-demo` as run once per session (conftest.built_demo, as `make demo` does from the
    repository's root, fixtures/ beside it so the README's relative paths hold), copied for this module since its
    commands write beside it: (folder, the demo's stdout)."""
    demo = copy_demo(built_demo, tmp_path_factory.mktemp("cli-demo"))
    return demo.folder, demo.stdout


@pytest.fixture
def in_demo(demo_dir, monkeypatch):
    """The CLI invoked from the demo's folder with the default --workspace (none there)."""
    folder, _ = demo_dir
    monkeypatch.chdir(folder)
    monkeypatch.delenv("ICP_WORKSPACE", raising=False)
    runner = CliRunner()
    yield lambda *args: runner.invoke(main, list(args))
    assert not (folder / "icp-workspace.duckdb").exists(), "a read-only command created a workspace"


def test_the_demo_prints_the_icp_writes_the_report_and_names_its_workspace(demo_dir, in_demo):
    folder, stdout = demo_dir
    assert "ICP 1 Tier 1" in stdout and "report:" in stdout
    assert (folder / "icp-demo" / "icp.html").exists()
    assert "its workspace is icp-demo/workspace.duckdb" in stdout
    assert "icp-agent list-icp-versions --workspace icp-demo/workspace.duckdb" in stdout
    ws = ["--workspace", "icp-demo/workspace.duckdb"]
    # the prospect list is the evidence of what a seller can observe: the demo's lacks these fit fields
    assert json.loads(in_demo("inspect-workspace", *ws, "--json").stdout)["not_in_prospects"] == \
        ["city", "lead_source", "region", "time_zone"]
    versions = json.loads(in_demo("list-icp-versions", *ws, "--json").stdout)
    assert len(versions) == 1 and versions[0]["status"] == "ok"
    evidence_id = json.loads((folder / "icp-demo" / "icp.json").read_text())["tiers"][0]["evidence"][0]
    shown = json.loads(in_demo("get-evidence", *ws, evidence_id, "--json").stdout)["items"]
    assert shown[0]["id"] == evidence_id and shown[0]["query"].startswith("SELECT")


def readme_demo_commands() -> list[list[str]]:
    """The icp-agent commands of the README's block that follows `make demo` (the one naming its workspace)."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    block = next(b for b in blocks if "icp-demo/workspace.duckdb" in b)
    return [shlex.split(line.split("#")[0])[1:] for line in block.splitlines() if line.startswith("icp-agent ")]


def test_the_readmes_commands_after_make_demo_work_as_written(demo_dir, in_demo):
    folder, _ = demo_dir
    commands = readme_demo_commands()
    assert {c[0] for c in commands} >= {"list-icp-versions", "get-evidence", "inspect-workspace", "score-prospects"}
    for args in commands:
        result = in_demo(*args)
        assert result.exit_code == 0, (args, result.output)
        assert result.stdout.strip(), args
    assert (folder / "scored.csv").exists()


def test_read_only_commands_after_the_demo_name_its_workspace(in_demo):
    for args in (["inspect-workspace"], ["list-icp-versions"], ["get-evidence", "E5699661c"], ["diff-icp-versions"],
                 ["build-icp"], ["score-prospects", "fixtures/demo/prospects.csv", "--out", "s.csv"]):
        result = in_demo(*args)
        assert result.exit_code == 2, (args, result.output)
        assert "no such workspace" in result.stderr and "--workspace icp-demo/workspace.duckdb" in result.stderr
    error = json.loads(in_demo("list-icp-versions", "--json").stdout)["error"]
    assert error["kind"] == "argument" and error["file"] == "icp-workspace.duckdb"
    assert "icp-demo/workspace.duckdb" in error["hint"]
    assert "--icp" in in_demo("score-prospects", "fixtures/demo/prospects.csv", "--out", "s.csv").stderr


def test_score_with_an_icp_file_needs_no_workspace_and_makes_none(demo_dir, in_demo):
    folder, _ = demo_dir
    result = in_demo("score-prospects", "fixtures/demo/prospects.csv", "--icp", "icp-demo/icp.json", "--out", "s2.csv",
                     "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"] == 50_000 and (folder / "s2.csv").exists()


def test_score_prospects_maps_labels_as_the_workspace_was_imported_and_by_a_mapping_file(demo_dir, in_demo, tmp_path):
    """A workspace imported with [values.FIELD] tables scores a prospect file through them (a list element by
    element), a --mapping file adds its own, and each label mapped is counted in the notes; a table the ICP
    cannot use is a user error."""
    ws = str(tmp_path / "w.duckdb")
    (tmp_path / "c.csv").write_text("Record ID,Company name,Industry,Technologies\n1,Acme,SaaS,SFDC\n2,Bolt,Retail,Zoom\n")
    (tmp_path / "m.toml").write_text('[values.industry]\nSaaS = "Computer Software"\n[values.technologies]\nSFDC = "Salesforce"\n')
    in_demo("import-data", "--workspace", ws, "--customers", str(tmp_path / "c.csv"), "--mapping", str(tmp_path / "m.toml"))
    (tmp_path / "p.csv").write_text("Company Name,# Employees,Industry,Technologies\nAcme,120,saas,\"sfdc, Slack\"\n"
                                    "Bolt,120,Advertising Services,Zoom\nCore,120,SaaS,Zoom\n")

    def score(*extra: str) -> tuple[dict, list[tuple[str, str, str]]]:
        result = in_demo("score-prospects", str(tmp_path / "p.csv"), "--workspace", ws, "--icp", "icp-demo/icp.json",
                         "--out", str(tmp_path / "s.csv"), "--json", *extra)
        assert result.exit_code == 0, result.output
        with (tmp_path / "s.csv").open() as f:
            rows = [(r["Company Name"], r["icp_tier"], r["disqualified_by"]) for r in csv.DictReader(f)]
        return json.loads(result.stdout), rows

    summary, rows = score()
    assert rows == [("Acme", "1", ""), ("Bolt", "", ""), ("Core", "", "")]
    assert "technologies (column 'Technologies'): labels mapped ([values.technologies]): 'SFDC' -> 'Salesforce': 1 row" \
        in summary["notes"]
    (tmp_path / "vendor.toml").write_text('[values.industry]\n"Advertising Services" = "Marketing and Advertising"\n')
    summary, rows = score("--mapping", str(tmp_path / "vendor.toml"))
    assert rows == [("Acme", "1", ""), ("Bolt", "", "industry = Marketing and Advertising"), ("Core", "", "")]
    assert ("industry (column 'Industry'): labels mapped ([values.industry]): 'SaaS' -> 'Computer Software': 2 rows; "
            "'Advertising Services' -> 'Marketing and Advertising': 1 row") in summary["notes"]
    (tmp_path / "bad.toml").write_text('[values.lead_source]\nWeb = "Inbound"\n')
    bad = in_demo("score-prospects", str(tmp_path / "p.csv"), "--icp", "icp-demo/icp.json", "--out",
                  str(tmp_path / "s2.csv"), "--mapping", str(tmp_path / "bad.toml"))
    assert bad.exit_code == 2 and "[values.lead_source] names a field the ICP does not score on" in bad.output
    assert "Traceback" not in bad.output and not (tmp_path / "s2.csv").exists()


@pytest.mark.parametrize("args,needle", [
    (["run", "/nowhere"], "no such folder"),
    (["run"], "nothing to import"),
    (["build-icp"], "no customers imported yet"),
    (["get-evidence", "Enope"], "no evidence item 'Enope'"),
    (["diff-icp-versions"], "no ICP version so far"),
    (["score-prospects", "x.csv", "--icp", "/nowhere/icp.json", "--out", "y.csv"], "no such file"),
    (["run", "--customers", "c.csv", "--weight", "nps"], "is not COMPONENT=W"),
    (["run", "--customers", "c.csv", "--good", "column"], "good='column' needs the outcome column"),
    (["run", "--customers", "c.csv", "--revenue-target", "lots"], "is not a valid float"),
])
def test_user_mistakes_exit_2_with_a_message(cli, args, needle):
    Workspace(cli.workspace).schema_version()  # an empty workspace: the commands that only read need one
    result = cli(*args, expect=2)
    assert needle in result.output + result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_roles_override_is_used_by_the_next_build(cli, tmp_path):
    cli("import-data", "--customers", str(DEMO / "customers.csv"))
    cli("set-field-roles", "technologies=ignore")
    icp = cli.json("build-icp", "--out", str(tmp_path / "out"))
    assert "technologies" not in {c["field"] for t in icp["tiers"] for c in t["criteria"]}


def test_the_assistant_and_the_chat_say_what_to_do_without_a_key(cli, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    result = cli("run", str(DEMO), "--assistant", expect=2)
    assert "ANTHROPIC_API_KEY" in result.stderr and "offline" in result.stderr
    assert "pass DATA_DIR instead of --customers" in cli("run", "--customers", "c.csv", "--assistant", expect=2).stderr
    chat = cli.runner.invoke(main, ["chat", "--workspace", str(cli.workspace)], input="")
    assert chat.exit_code == 2 and "ANTHROPIC_API_KEY" in chat.output


READ_ONLY = [["inspect-workspace"], ["list-icp-versions"], ["get-evidence", "E5699661c"], ["diff-icp-versions"],
             ["build-icp"], ["score-prospects", "p.csv", "--out", "s.csv"], ["get-icp"], ["validate-icp"],
             ["query-workspace", "SELECT 1"], ["set-field-roles", "industry=fit"]]


@pytest.mark.parametrize("args", READ_ONLY, ids=lambda a: a[0])
def test_read_only_commands_never_create_a_workspace(args, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ICP_WORKSPACE", raising=False)
    runner = CliRunner()
    result = runner.invoke(main, args)  # nothing here: say how to make one
    assert result.exit_code == 2 and "no such workspace" in result.stderr
    assert "icp-agent run DATA_DIR" in result.stderr and "Traceback" not in result.output
    # a workspace under another name, one folder down, is found; a file that only looks like one is not
    (tmp_path / "notes.duckdb").write_text("not a database")
    (tmp_path / "exports").mkdir()
    Workspace(tmp_path / "exports" / "acme.duckdb").schema_version()
    result = runner.invoke(main, [*args, "--workspace", "other.duckdb", "--json"])
    error = json.loads(result.stdout)["error"]
    assert result.exit_code == 2 and error["file"] == "other.duckdb"
    assert "--workspace exports/acme.duckdb" in error["hint"] and "notes.duckdb" not in error["hint"]
    assert sorted(p.name for p in tmp_path.rglob("*.duckdb")) == ["acme.duckdb", "notes.duckdb"]


def test_empty_results_say_so(cli):
    Workspace(cli.workspace).schema_version()
    result = cli("inspect-workspace")
    assert "holds no imports yet" in result.output and "icp-agent import-data DATA_DIR" in result.output
    result = cli("list-icp-versions")
    assert "no ICP versions" in result.stderr and "icp-agent build-icp" in result.stderr
    assert result.stdout.splitlines() == ["version_id\tcreated_at\tstatus\tdataset_fingerprint"]  # piped: a header
    assert cli.json("list-icp-versions") == []
    assert "no deals imported in this workspace (it holds nothing yet)" in cli("inspect-workspace", "--kind", "deals",
                                                                               expect=2).stderr


def test_json_applies_to_every_commands_errors(cli, tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    failing = {"import-data": ["/nowhere"], "inspect-workspace": [], "set-field-roles": ["no-equals-sign"],
               "run": ["/nowhere"], "build-icp": [], "score-prospects": ["p.csv", "--out", "s.csv"],
               "refresh": ["/nowhere"], "diff-icp-versions": [], "get-evidence": ["E1"], "list-icp-versions": [],
               "demo": ["--out", str(a_file)], "fields": ["--bogus"], "score-health": ["--good", "bogus"],
               "find-patterns": ["--depth", "0"], "get-icp": [], "list-evidence": [], "get-persona-evidence": [],
               "fit-scorecard": [], "validate-icp": ["--revenue-target", "-1"], "query-workspace": ["SELECT 1"],
               "render-document": []}
    assert set(failing) == set(COMMANDS) - {"chat", "serve"}
    for command, args in failing.items():
        cli.workspace = tmp_path / f"{command}.duckdb"  # none yet: a failed import may leave an empty one
        result = cli(command, *args, "--json", expect=2)
        error = json.loads(result.stdout)["error"]
        assert error["kind"] in ("input", "argument") and error["message"], command
        assert not result.stderr.strip(), (command, result.stderr)


def test_json_applies_to_every_output_of_fields(cli):
    fields = cli.json("fields")
    assert {"field", "type", "role", "description", "synonyms"} <= set(fields[0])
    assert cli.json("fields", "--markdown")["markdown"] == fields_markdown()


def test_piped_listings_are_tab_separated_records(cli, write):
    # a quoted newline and a tab inside values: escaped, so each record stays on one line
    path = write("customers.csv", 'Record ID,Company name,Industry,ARR,Churn Date\n'
                                  '1,"Acme\nNorth",Software,1000,\n2,"Beta\tCo",Retail,2000,2024-01-01\n'
                                  '3,Gamma,Software,3000,\n')
    cli("import-data", "--customers", str(path))
    result = cli("inspect-workspace")
    lines = result.stdout.splitlines()
    assert lines[0].split("\t") == ["kind", "header", "field", "role", "type", "% missing", "examples", "unparsed"]
    assert len(lines) == 6 and all(len(line.split("\t")) == 8 for line in lines)
    name = next(line.split("\t") for line in lines if line.split("\t")[1] == "Company name")
    assert name[0] == "customers" and name[6] == "Acme\\nNorth, Beta Co, Gamma"  # the import made the tab a space
    assert not set("│┃━─┏") & set(result.stdout) and "\x1b[" not in result.stdout
    assert "customers: customers.csv" in result.stderr  # the title is a note, beside the records
    roles = cli("set-field-roles", "industry=fit").stdout.splitlines()
    assert roles[0] == "field\trole" and "industry\tfit" in roles
    fields = cli("fields").stdout.splitlines()
    assert fields[0] == "field\ttype\trole\tdescription\theaders" and all(line.count("\t") == 4 for line in fields)
    # escaping, unit-tested where a value carries them
    assert cli_output._cell("Acme\nNorth\tCo\\x") == "Acme\\nNorth\\tCo\\\\x"


def test_terminal_tables_fit_the_width_and_long_lines_are_not_wrapped(cli, monkeypatch, write):
    path = write("a-rather-long-folder-name-for-a-workspace/customers.csv",
                 (REPO / "fixtures" / "demo" / "customers.csv").read_text(encoding="utf-8")[:20000]
                 .rsplit("\n", 1)[0] + "\n")
    cli("import-data", "--customers", str(path))
    for width in (60, 120):
        monkeypatch.setenv("TTY_COMPATIBLE", "1")  # rich draws as on a terminal
        monkeypatch.setenv("COLUMNS", str(width))
        monkeypatch.setattr(cli_output, "out", cli_output._LazyConsole(highlight=False, soft_wrap=True,
                                                                       markup=False, emoji=False))
        text = re.sub(r"\x1b\[[0-9;]*m", "", cli("inspect-workspace").stdout)
        table = [line for line in text.splitlines() if "Company name" in line or "───" in line]
        assert table and all(len(line) <= width for line in table), width
        assert f"workspace {cli.workspace} (schema v1)" in text.splitlines()  # a long path: one line, unwrapped
        assert "\t" not in text and "…" in text  # examples end in an ellipsis instead of wrapping


HEAVY = ("duckdb", "mcp", "anthropic", "scipy", "numpy", "jinja2", "pydantic", "pandas", "pyarrow")


def _cli_in_a_fresh_python(argv: list[str], then: str) -> str:
    """`main(argv)` run in a fresh interpreter (its output to the StringIO `out`), then the Python `then`; what that
    prints."""
    code = (
        "import sys, io, contextlib\n"
        "from icp_agent.faces.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    try:\n"
        f"        main({argv!r})\n"
        "    except SystemExit as exc:\n"
        "        assert exc.code in (0, None), exc.code\n" + then
    )
    env = {**os.environ, "PYTHONPATH": str(Path(icp_agent.__file__).parent.parent)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("argv,allowed", [(["--help"], ()), (["fields"], ()), (["fields", "--json"], ()),
                                          (["inspect-workspace", "--help"], ("pydantic",)),
                                          (["build-icp", "--help"], ("pydantic",))], ids=lambda a: " ".join(a))
def test_the_cli_starts_without_importing_what_the_command_does_not_use(argv, allowed):
    """The command list comes from the registry alone; a command's --help reads its options model (pydantic),
    never the toolkit, duckdb or the analysis."""
    stdout = _cli_in_a_fresh_python(
        argv,
        f"print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))\n",
    )
    assert set(stdout.split()) <= set(allowed)


# what a command that only reads a workspace never needs: the assistant, the MCP server, the analysis phases
# (scipy, numpy), the document (jinja2) and dataframes
NOT_FOR_A_LOOK = ("mcp", "anthropic", "scipy", "numpy", "jinja2", "pandas", "pyarrow", "icp_agent.faces.assistant",
                  "icp_agent.faces.server", "icp_agent.patterns", "icp_agent.tiers", "icp_agent.validation",
                  "icp_agent.render.document", "icp_agent.scorecard.scoring", "icp_agent.health.health_score")


@pytest.mark.parametrize("argv", [["inspect-workspace"], ["inspect-workspace", "--kind", "customers"],
                                  ["list-icp-versions"], ["query-workspace", "SELECT 1"]], ids=" ".join)
def test_a_cheap_command_imports_none_of_the_analysis_the_assistant_or_the_server(argv, ws, write):
    """Run for real on a workspace (not --help): a look at the workspace loads duckdb, pydantic and the toolkit,
    never what another command uses."""
    from icp_agent.ingest.importer import import_file

    import_file(ws, write("customers.csv", "company_id,company_name,industry\n1,Acme,Software\n2,Beta,Retail\n"),
                "customers")
    stdout = _cli_in_a_fresh_python(
        [*argv, '--workspace', str(ws.path)],
        "print('\\n'.join(sorted(sys.modules)))\n",
    )
    loaded = set(stdout.split())
    assert {"duckdb", "icp_agent.toolkit"} <= loaded  # the command did run
    assert sorted(m for m in loaded if m in NOT_FOR_A_LOOK or m.startswith(tuple(f"{n}." for n in NOT_FOR_A_LOOK))) == []


def test_an_import_imports_and_builds_only_what_it_uses(ws, write):
    """`import-data` run for real, its summary piped: the lines are written without rich, the interview notes'
    screening patterns (`untrusted`) are not compiled, and the result models of run, refresh and find-patterns are
    not built (each is built on first use)."""
    path = write("customers.csv", "company_id,company_name,industry\n1,Acme,Software\n2,Beta,Retail\n")
    stdout = _cli_in_a_fresh_python(
        ['import-data', '--customers', str(path), '--workspace', str(ws.path), '--quiet'],
        "from icp_agent import toolkit\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'rich' or m == 'icp_agent.untrusted'),\n"
        "      [m.__name__ for m in (toolkit.RunResult, toolkit.RefreshResult, toolkit.PatternsResult)\n"
        "       if m.__pydantic_complete__], '2 rows read' in out.getvalue())\n",
    )
    assert stdout.strip() == "[] [] True"


@pytest.mark.parametrize("command", ["build-icp", "score-prospects", "diff-icp-versions", "import-data"])
def test_a_commands_help_reads_its_options_without_the_icp_models_or_building_validators(command):
    """--help reads an options model's fields; the ICP document's models (icp_agent.models, evidence) are not
    imported and no options model builds its validator (pydantic builds it when the command runs)."""
    stdout = _cli_in_a_fresh_python(
        [command, '--help'],
        "from icp_agent import options\n"
        "built = [n for n, v in vars(options).items() if isinstance(v, type) and issubclass(v, options.BaseModel)\n"
        "         and v is not options.BaseModel and v.__pydantic_complete__]\n"
        "print(' '.join(sorted(m for m in sys.modules if m in ('icp_agent.models', 'icp_agent.evidence'))), '|',\n"
        "      ' '.join(built))\n",
    )
    assert stdout.split() == ["|"]
    # the models still validate when used: a deferred build is a build on first use, not none
    from icp_agent.options import AnalysisOptions, SaveDraftsOptions
    with pytest.raises(ValidationError):
        SaveDraftsOptions.model_validate({"personas": "not a list", "nonsense": 1})
    assert AnalysisOptions(depth=2).depth == 2


def test_a_pipe_closed_early_is_not_a_bug(cli, monkeypatch):
    def closed(*_args, **_kwargs):
        raise BrokenPipeError(32, "Broken pipe")
    monkeypatch.setattr(cli_module, "print_table", closed)
    result = cli("fields", expect=141)
    assert "internal error" not in result.output + result.stderr
