"""Issue 13: outputs that cannot attack the people who open them.

Every test runs an attack and asserts it fails and nothing changed: formula injection through every
tabular file the CLI and the MCP tools write, markdown/HTML injection through every markdown file.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
from pathlib import Path

import duckdb
import pytest
from markdown_it import MarkdownIt
from mcp import Client

from icp_agent.render.tabular import FORMULA_START, is_formula_like, write_rows, write_table
from icp_agent.render.templating import md, md_code
from icp_agent.server import create_server
from icp_agent.workspace import Workspace

from conftest import DEMO

# OWASP's CSV-injection examples plus a leading tab: each would run (or fetch) when a spreadsheet opens the cell
FORMULAS = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3", "\t=1", "\r=1+1", "＝1+1"]
MARKUP = ["![x](http://evil/beacon.png)", '<img src="http://evil/beacon.png">', "[click](javascript:alert(1))",
          "<script>alert(1)</script>", "<http://evil/auto>", "www.evil.example/track"]


@pytest.fixture
def anyio_backend():
    return "asyncio"


def _rewrite(path: Path, column: str, values: list[str], extra: dict[str, list[str]] | None = None) -> None:
    """Put the attack values into the first rows' `column` (and add extra columns), keeping the file valid CSV."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    at = header.index(column)
    for i, value in enumerate(values, start=1):
        rows[i][at] = value
    for name, column_values in (extra or {}).items():
        header.append(name)
        for i, row in enumerate(rows[1:]):
            row.append(column_values[i % len(column_values)])
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)


@pytest.fixture(scope="module")
def attacked(tmp_path_factory) -> Path:
    """The demo company's exports with formula and markup payloads in names, headers and a file name."""
    root = tmp_path_factory.mktemp("attacked")
    data = root / "data"
    shutil.copytree(DEMO, data, ignore=shutil.ignore_patterns("interviews"))
    _rewrite(data / "customers.csv", "Company name", FORMULAS + MARKUP)
    _rewrite(data / "prospects.csv", "Company Name", FORMULAS + MARKUP,
             extra={"=cmd|' /C calc'!A0": FORMULAS, "Delta": ["-5", "3", "-1.5"]})
    lines = (data / "prospects.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (data / "prospects.csv").write_text("".join(lines[:3001]), encoding="utf-8")  # keep the test quick
    (data / "customers.csv").rename(data / "<img src=x onerror=alert(1)>.csv")
    return root


@pytest.fixture(scope="module")
def outputs(attacked) -> Path:
    """Every file `run`, `score` (workspace ICP and icp.json, CSV and Parquet), `demo`, and the MCP tools
    render_document and score_prospects write, from the attacked exports."""
    import anyio

    from conftest import Cli

    data, out = attacked / "data", attacked / "out"
    out.mkdir()
    cli = Cli(out / "ws.duckdb")
    cli("run", "--customers", str(data / "<img src=x onerror=alert(1)>.csv"), "--deals", str(data / "deals.csv"),
        "--prospects", str(data / "prospects.csv"),
        "--out", str(out / "run"), "--quiet")
    cli("score", str(data / "prospects.csv"), "--out", str(out / "scored_ws.csv"), "--quiet")
    cli("score", str(data / "prospects.csv"), "--icp", str(out / "run" / "icp.json"),
        "--out", str(out / "scored_icp.csv"), "--quiet")
    cli("score", str(data / "prospects.csv"), "--out", str(out / "scored.parquet"), "--quiet")
    cli("demo", "--out", str(out / "demo"), "--quiet")

    async def mcp_tools():
        server = create_server(Workspace(out / "ws.duckdb"), [out, data], out_dir=out / "mcp")
        async with Client(server) as client:
            rendered = await client.call_tool("render_document", {})
            scored = await client.call_tool("score_prospects", {"input_path": str(data / "prospects.csv"),
                                                                "output_path": str(out / "mcp_scored.csv")})
        assert not rendered.is_error and not scored.is_error, (rendered, scored)

    anyio.run(mcp_tools)
    return out


def _cells(path: Path) -> list[list[str]]:
    text = path.read_text(encoding="utf-8")
    dialect = "excel-tab" if path.suffix == ".tsv" else "excel"
    return list(csv.reader(io.StringIO(text, newline=""), dialect))


def _formula_cells(path: Path) -> list[tuple[int, str]]:
    return [(r, cell) for r, row in enumerate(_cells(path)) for cell in row if is_formula_like(cell)]


def test_formula_cells_are_neutralised_in_every_tabular_file(attacked, outputs):
    """No cell of any CSV the CLI or the MCP tools wrote starts like a formula; the payloads are there, prefixed."""
    tmp_path, data = outputs, attacked / "data"
    written = sorted(p for p in tmp_path.rglob("*") if p.suffix in (".csv", ".tsv"))
    names = {p.relative_to(tmp_path).as_posix() for p in written}
    assert {"run/hubspot_companies.csv", "run/salesforce_accounts.csv", "run/routing.csv", "run/scoring_matrix.csv",
            "scored_ws.csv", "scored_icp.csv", "demo/scoring_matrix.csv", "demo/hubspot_companies.csv",
            "mcp/scoring_matrix.csv", "mcp/hubspot_companies.csv", "mcp_scored.csv"} <= names
    assert {p.name: _formula_cells(p)[:3] for p in written} == {p.name: [] for p in written}

    # the payloads are kept, shown as text: a single quote in front, the cell quoted (OWASP)
    hubspot = (tmp_path / "run" / "hubspot_companies.csv").read_text(encoding="utf-8")
    assert '"\'=HYPERLINK(""http://x"",""y"")"' in hubspot and "\"'@SUM(1)\"" in hubspot and "\"'-2+3\"" in hubspot
    for path, column in ((tmp_path / "run" / "scoring_matrix.csv", 1), (tmp_path / "run" / "hubspot_companies.csv", 2),
                         (tmp_path / "run" / "salesforce_accounts.csv", 1)):
        shown = {row[column] for row in _cells(path)}
        # the importer turns the tab into a space (" =1"); a sign after spaces is neutralised as well
        assert all({"'" + f, "'" + f.strip(), "'" + f.replace("\t", " ").replace("\r", " ")} & shown
                   for f in FORMULAS), (path.name, sorted(shown)[:12])
    scored = duckdb.sql(f"SELECT * FROM read_csv('{tmp_path / 'scored_ws.csv'}')")
    assert "'=cmd|' /C calc'!A0" in scored.columns  # a header from the data is neutralised too
    # numbers stay numbers, signs and all (the scorer keeps raw values as text: a plain number is not prefixed)
    assert sorted({v for (v,) in duckdb.sql(f"SELECT Delta FROM read_csv('{tmp_path / 'scored_ws.csv'}')")
                  .fetchall()}) == [-5.0, -1.5, 3.0]
    names = [r[0] for r in duckdb.sql(f"SELECT \"Company Name\" FROM read_csv('{tmp_path / 'scored_ws.csv'}') "
                                      "LIMIT 7").fetchall()]
    assert [n.replace("\n", "\r") for n in names] == ["'" + f for f in FORMULAS]  # DuckDB reads a quoted CR as LF
    # Parquet: nothing evaluates a Parquet value, so the data is written as it is
    parquet = duckdb.sql(f"SELECT \"Company Name\" FROM read_parquet('{tmp_path / 'scored.parquet'}') LIMIT 7")
    assert [r[0].replace("\n", "\r") for r in parquet.fetchall()] == FORMULAS
    # the inputs were not changed
    assert _cells(data / "prospects.csv")[1][0] == FORMULAS[0]


def test_the_writer_neutralises_tsv_and_python_rows(tmp_path):
    con = duckdb.connect()
    query = ("SELECT * FROM (VALUES ('@SUM(1)', -5, ['=1', 'b']), ('ok', 3, NULL)) "
             "AS t(\"+name\", amount, tags)")
    write_table(con, query, tmp_path / "out.tsv")
    rows = _cells(tmp_path / "out.tsv")
    assert rows == [["'+name", "amount", "tags"], ["'@SUM(1)", "-5", "['=1', b]"], ["ok", "3", ""]]
    write_rows(tmp_path / "rows.csv", ["route", "n", "text"], [("-low", -2, "-2.5"), ("=A1", 1, "-2+3")])
    assert _cells(tmp_path / "rows.csv") == [["route", "n", "text"], ["'-low", "-2", "-2.5"], ["'=A1", "1", "'-2+3"]]
    matrix = duckdb.connect()
    write_table(matrix, "SELECT -1.5::DOUBLE AS nrr, -3 AS delta, '-3' AS raw", tmp_path / "typed.csv")
    assert (tmp_path / "typed.csv").read_text() == 'nrr,delta,"raw"\n-1.5,-3,"-3"\n'
    assert set(FORMULA_START) >= {"=", "+", "-", "@", "\t", "\r"}


# --- markdown --------------------------------------------------------------------------------------------------


def _rendered_html(markdown: str) -> str:
    return MarkdownIt("commonmark", {"html": True, "linkify": False}).enable("table").render(markdown)


def _assert_inert(markdown: str, where: str) -> None:
    html = _rendered_html(markdown)
    assert "<img" not in html, (where, re.findall(r".{40}<img.{40}", html))
    assert "<script" not in html, where
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert all(h.startswith("#") for h in hrefs), (where, hrefs)  # only links to its own evidence appendix
    assert not re.search(r"(?<![\\])https?://evil", markdown.replace("http\\://", "")), where  # no GFM autolink
    assert not re.search(r"(?<!\\)www\.evil", markdown), where


def test_markdown_escape_makes_data_inert():
    for payload in MARKUP + ["**bold** _x_ `code` | pipe", "- list item", "1. first", "> quote", "# heading",
                             "line one\n<img src=x>\n# two"]:
        escaped = md(payload)
        assert "\n" not in escaped
        html = _rendered_html(escaped)
        assert "<img" not in html and "<script" not in html and "<a " not in html and "<h1" not in html
        assert "<ul" not in html and "<ol" not in html and "<blockquote" not in html and "<strong" not in html
    # the text a reader sees is the text the data held
    assert _rendered_html(md("Smith & Sons (UK) Ltd. $5M-$10M")).strip() == "<p>Smith &amp; Sons (UK) Ltd. $5M-$10M</p>"
    assert md_code("a`b.csv") == "``a`b.csv``"


def test_every_markdown_file_shows_data_inert(outputs):
    """icp.md, playbook.md and import_report.md from a run whose company names, file name and a header carry
    markup; then the ICP document and playbook again with every criterion label, segment and reason replaced
    by a payload."""
    from icp_agent import toolkit
    from icp_agent.render.document import render_markdown
    from icp_agent.render.exports import render_playbook

    tmp_path = outputs
    written = sorted(tmp_path.rglob("*.md"))
    assert {"run/icp.md", "run/playbook.md", "run/import_report.md", "mcp/icp.md", "demo/icp.md"} <= \
        {p.relative_to(tmp_path).as_posix() for p in written}
    for path in written:
        _assert_inert(path.read_text(encoding="utf-8"), path.name)
    report = (tmp_path / "run" / "import_report.md").read_text(encoding="utf-8")
    assert "&lt;img src=x onerror=alert(1)>.csv" in report  # the file name is shown, as text

    icp = toolkit.current_icp(Workspace(tmp_path / "ws.duckdb"))
    assert icp.status == "ok" and icp.tiers
    payloads = iter(MARKUP * 50)
    for tier in icp.tiers:
        tier.segment = next(payloads)
        for c in tier.criteria:
            c.label, c.header = next(payloads), next(payloads)
    for d in icp.negative_icp:
        d.reason = next(payloads)
        for c in d.criteria:
            c.label = next(payloads)
    icp.statement = next(payloads)
    _assert_inert(render_markdown(icp), "icp.md (labels replaced)")
    _assert_inert(render_playbook(icp, {"high": 1}), "playbook.md (labels replaced)")
