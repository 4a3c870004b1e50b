"""The CLI: exit codes, --json on every command, no traceback for a user mistake, the demo end to end."""

from __future__ import annotations

import json

import pytest

from icp_agent.cli import main
from icp_agent.ingest.fields import fields_markdown

from conftest import DEMO, REPO

COMMANDS = ["import", "inspect", "roles", "fields", "run", "build", "score", "refresh", "diff", "evidence",
            "versions", "demo"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_and_json(command, cli):
    result = cli.runner.invoke(main, [command, "--help"])
    assert result.exit_code == 0 and "--json" in result.output and "--workspace" in result.output


def test_docs_fields_md_is_current():
    assert (REPO / "docs" / "fields.md").read_text() == fields_markdown()


def test_run_on_the_demo_prints_the_icp_and_writes_the_report(cli, tmp_path):
    result = cli("run", str(DEMO), "--out", str(tmp_path / "out"))
    assert "ICP 1 Tier 1" in result.stdout and "report:" in result.stdout
    assert (tmp_path / "out" / "icp.html").exists()
    # the prospect list is the evidence of what a seller can observe: the demo's lacks these fit fields
    assert cli.json("inspect")["not_in_prospects"] == ["city", "lead_source", "region", "time_zone"]
    versions = cli.json("versions")
    assert len(versions) == 1 and versions[0]["status"] == "ok"
    evidence_id = json.loads((tmp_path / "out" / "icp.json").read_text())["tiers"][0]["evidence"][0]
    shown = cli.json("evidence", evidence_id)
    assert shown[0]["id"] == evidence_id and shown[0]["query"].startswith("SELECT")


@pytest.mark.parametrize("args,needle", [
    (["run", "/nowhere"], "no such folder"),
    (["run"], "nothing to import"),
    (["build"], "no customers imported yet"),
    (["evidence", "Enope"], "no evidence item 'Enope'"),
    (["diff"], "only one ICP version"),
    (["score", "x.csv", "--icp", "/nowhere/icp.json", "--out", "y.csv"], "no such file"),
    (["run", "--customers", "c.csv", "--weight", "nps"], "is not COMPONENT=NUMBER"),
    (["run", "--customers", "c.csv", "--good", "column"], "--good column needs --good-column"),
    (["run", "--customers", "c.csv", "--revenue-target", "lots"], "is not a valid float"),
])
def test_user_mistakes_exit_2_with_a_message(cli, args, needle):
    result = cli(*args, expect=2)
    assert needle in result.output + result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_roles_override_is_used_by_the_next_build(cli, tmp_path):
    cli("import", "--customers", str(DEMO / "customers.csv"))
    cli("roles", "technologies=ignore")
    icp = cli.json("build", "--out", str(tmp_path / "out"))
    assert "technologies" not in {c["field"] for t in icp["tiers"] for c in t["criteria"]}


def test_the_assistant_and_the_chat_say_what_to_do_without_a_key(cli, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    result = cli("run", str(DEMO), "--assistant", expect=2)
    assert "ANTHROPIC_API_KEY" in result.stderr and "offline" in result.stderr
    assert "pass DATA_DIR instead of --customers" in cli("run", "--customers", "c.csv", "--assistant", expect=2).stderr
    chat = cli.runner.invoke(main, ["chat", "--workspace", str(cli.workspace)], input="")
    assert chat.exit_code == 2 and "ANTHROPIC_API_KEY" in chat.output
