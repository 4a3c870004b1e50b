"""faces/cli_output.py: what the commands print. Piped (stdout not a terminal, as under pytest) a listing is a
header line and tab-separated records on stdout, notes on stderr; on a terminal a rich table (a forced-terminal
console stands in for one here)."""

from __future__ import annotations

import io
import json
from types import SimpleNamespace

import pytest
from rich.console import Console

from icp_agent.evidence import EvidenceItem
from icp_agent.faces import cli_output
from icp_agent.faces.cli_output import (
    _cell,
    is_terminal,
    note,
    print_diff,
    print_evidence,
    print_icp,
    print_json,
    print_table,
    print_validation,
    print_versions,
)
from icp_agent.icp_document import Validation
from minimal_icp import icp, tier


@pytest.fixture
def terminal(monkeypatch):
    """A terminal 100 columns wide standing in for stdout; returns what was drawn so far."""
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=100, markup=False, emoji=False, highlight=False,
                      color_system=None)  # fmt: skip
    monkeypatch.setattr(cli_output.out, "_console", console)
    return buffer.getvalue


def test_cell_escapes_what_would_break_a_record():
    assert _cell(None) == "" and _cell(3) == "3"
    assert _cell("a\tb\nc\\d\re") == "a\\tb\\nc\\\\d\\re"


def test_piped_table_is_tab_separated_with_the_title_on_stderr(capsys):
    assert not is_terminal()
    print_table(("id", "text"), [[1, "a\tb"], [2, None]], title="two rows")
    captured = capsys.readouterr()
    assert captured.out.splitlines() == ["id\ttext", "1\ta\\tb", "2\t"]
    assert captured.err.strip() == "two rows"
    print_table(("id",), [])
    assert capsys.readouterr().out == "id\n"  # the header alone: the records are none


def test_terminal_table_draws_every_value(terminal):
    assert is_terminal()
    print_table(("field", "role"), [["industry", "fit"], ["[bold]x", "id"]], title="roles")
    drawn = terminal()
    assert "roles" in drawn and "industry" in drawn and "[bold]x" in drawn  # markup off: printed literally
    before = terminal()
    print_table(("a",), [])
    assert terminal() == before  # nothing drawn for no rows
    note("a note")
    assert terminal().endswith("a note\n")  # beside the table on a terminal


def test_print_versions_without_versions_says_what_to_do(capsys):
    print_versions([])
    captured = capsys.readouterr()
    assert captured.out == "version_id\tcreated_at\tstatus\tdataset_fingerprint\n"
    assert "no ICP versions in this workspace yet" in captured.err and "icp-agent build-icp" in captured.err
    row = SimpleNamespace(version_id="icp-1", created_at="2026-01-01", status="ok", dataset_fingerprint="ab")
    print_versions([row])
    assert capsys.readouterr().out.splitlines()[1] == "icp-1\t2026-01-01\tok\tab"


def test_print_evidence_piped_gives_figures_as_json(capsys):
    item = EvidenceItem(id="E1", kind="tier", statement="40 customers.", metrics={"n": 40}, n=40, query="SELECT 1")
    print_evidence(SimpleNamespace(items=[item]))
    line = capsys.readouterr().out.splitlines()[1].split("\t")
    assert line[:4] == ["E1", "tier", "40", "40 customers."]
    assert json.loads(line[4]) == {"n": 40} and line[5] == "SELECT 1"


def test_print_icp_names_tiers_and_disqualifiers(capsys):
    doc = icp([tier(1, [{"field": "industry", "op": "eq", "value": "Software", "kind": "category"}], n=40)])
    doc.tiers[0].flags = ["too_narrow"]
    print_icp(doc)
    text = capsys.readouterr().out
    assert "ICP icp-test: ok" in text and "ICP 1 Tier 1: 40" in text and "[too_narrow]" in text


def test_print_json(capsys):
    print_json(SimpleNamespace(model_dump=lambda mode: {"a": [1, "é"]}))
    assert json.loads(capsys.readouterr().out) == {"a": [1, "é"]}
    print_json({"plain": True})
    assert json.loads(capsys.readouterr().out) == {"plain": True}


def test_print_validation(capsys):
    validation = Validation.model_validate({
        "unit_economics": {"targets": [{"metric": "cac", "target": "CAC lower", "status": "not measurable",
                                        "reason": "no CAC"}]},
        "backtest": {"status": "held"},
        "market": {"warnings": ["Tier 1 is too narrow"], "revenue_check": {"revenue_target": 1e6,
                   "status": "too narrow"}}})  # fmt: skip
    print_validation(validation)
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0] == "CAC lower: not measurable (no CAC)"
    assert lines[1] == "backtest on the newest customers: held"
    assert lines[2].startswith("revenue target ") and lines[2].endswith(": too narrow")
    assert lines[3] == "  warning: Tier 1 is too narrow"
    assert "the figures are in --json" in captured.err


def test_print_diff_shows_only_what_moved(capsys):
    print_diff({
        "old": "icp-a", "new": "icp-b", "recommendation": "keep", "why": "the tiers hold",
        "migration": {"in_both": 10, "changed_tier": 2, "entity": "customers"},
        "fields": {"industry": {"psi": 0.01, "status": "stable"}, "employees": {"psi": 0.3, "status": "shifted"}},
        "patterns": {"weakened": [], "vanished": [{"pattern": "uses Slack", "direction": "good"}], "appeared": []},
        "old_icp_on_new_customers": {"status": "held"}})  # fmt: skip
    text = capsys.readouterr().out
    assert "icp-a -> icp-b: KEEP (the tiers hold)" in text
    assert "employees: PSI" in text and "(shifted)" in text and "industry" not in text
    assert "vanished: uses Slack (good)" in text and "old ICP on new customers: held" in text


PLAIN_LINES = [
    "customers.csv: customers (companies with lifecycle/revenue fields (arr, churn_date); read as UTF-8)",
    "  customers: 1,000,000 rows read, 1,000,000 kept, 0 rejected, 0 exact duplicates dropped",
    "  warning: [bold]not markup[/bold] :smile: 'Café' – “quoted” 中文 " + "x" * 200,
    "",
]


@pytest.mark.parametrize("text", PLAIN_LINES)
def test_a_plain_line_is_written_as_rich_writes_it(text, monkeypatch):
    """A line of printable text to a stream that is no terminal: the same bytes as the rich Console the module
    makes, without making it."""
    for name in cli_output._TERMINAL_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    rich_out, plain_out = io.StringIO(), io.StringIO()
    Console(file=rich_out, soft_wrap=True, markup=False, emoji=False, highlight=False).print(text, markup=False)
    assert cli_output.write_plain(plain_out, (text,), {"markup": False})
    assert plain_out.getvalue() == rich_out.getvalue() == text + "\n"


@pytest.mark.parametrize(
    "objects,options,setting",
    [
        (("a\tb",), {}, None),  # rich expands the tab
        (("two\nlines",), {}, None),
        (("ends in a space ",), {}, None),
        (("a bell\a",), {}, None),
        (("styled",), {"style": "bold"}, None),
        (("[b]markup[/b]",), {"markup": True}, None),
        (("a", "b"), {}, None),
        ((42,), {}, None),
        (("forced",), {}, "FORCE_COLOR"),
        (("compatible",), {}, "TTY_COMPATIBLE"),
    ],
)
def test_anything_else_is_left_to_rich(objects, options, setting, monkeypatch):
    for name in cli_output._TERMINAL_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    if setting:
        monkeypatch.setenv(setting, "1")
    stream = io.StringIO()
    assert not cli_output.write_plain(stream, objects, options)
    assert stream.getvalue() == ""


def test_a_terminal_is_left_to_rich():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    assert not cli_output.write_plain(stream, ("text",), {}) and stream.getvalue() == ""
