"""Phase 5 without the scorecard: scoring prospect files, validation, CRM exports, playbook, refresh and drift."""

from __future__ import annotations

import csv
import json
import shutil

import duckdb
import pytest

from icp_agent import toolkit
from icp_agent.errors import UserError
from icp_agent.workspace import Workspace

from conftest import DEMO


@pytest.fixture(scope="module")
def demo(built_demo, tmp_path_factory):
    """`run` with a revenue target on a copy of the session's built demo (conftest.built_demo): the import finds
    the files already imported, the build and the report files are this run's."""
    folder = tmp_path_factory.mktemp("ops")
    shutil.copy(built_demo.workspace_path, folder / "ws.duckdb")
    ws = Workspace(folder / "ws.duckdb")
    result = toolkit.run(ws, DEMO, folder / "out", options=toolkit.AnalysisOptions(revenue_target=1_000_000))
    return ws, result, folder


def test_run_writes_every_artefact(demo):
    _, result, folder = demo
    names = set(result.files)
    assert {"icp.json", "icp.schema.json", "icp.md", "icp.html", "scoring_matrix.csv", "hubspot_companies.csv",
            "salesforce_accounts.csv", "routing.csv", "playbook.md", "import_report.md"} <= names
    data = json.loads((folder / "out" / "icp.json").read_text())
    toolkit.check_icp_document(data)
    with open(folder / "out" / "scoring_matrix.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 5000 and {"health", "cohort", "icp_tier"} <= set(rows[0])
    assert {r["cohort"] for r in rows} == {"top", "middle", "bottom"}


def test_scoring_keeps_every_row_and_column(demo, tmp_path):
    ws, result, folder = demo
    out = tmp_path / "scored.parquet"
    scored = toolkit.score_prospects(DEMO / "prospects.csv", out, icp_path=folder / "out" / "icp.json")
    assert scored.rows == 50_000
    assert set(scored.missing_fields) <= {"city", "region", "time_zone"}  # scorecard-only fields: scored neutral
    con = duckdb.connect()
    columns = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM '{out}'").fetchall()]
    original = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_csv('{DEMO / 'prospects.csv'}')").fetchall()]
    assert columns[:len(original)] == original
    names = [r[0] for r in con.execute(f"SELECT \"Company Name\" FROM '{out}'").fetchall()]
    assert names == [r[0] for r in con.execute(
        f"SELECT \"Company Name\" FROM read_csv('{DEMO / 'prospects.csv'}')").fetchall()]  # the input's order
    assert {"icp_tier", "fit_score", "priority", "fit_reasons", "disqualified", "disqualified_by"} <= set(columns)
    tier1 = con.execute(f"SELECT count(*) FROM '{out}' WHERE icp_tier = 1").fetchall()[0][0]
    assert 0.15 < tier1 / 50_000 < 0.25  # README: ~12% Tier-1 segment + ~8% second segment
    low, high, tier1_high = con.execute(f"""SELECT min(fit_score), max(fit_score),
        avg((priority = 'high')::INT) FILTER (icp_tier = 1) FROM '{out}'""").fetchall()[0]
    assert 0 <= low < high <= 100 and tier1_high > 0.8
    assert con.execute(f"SELECT count(*) FROM '{out}' WHERE disqualified AND (priority <> 'low' OR icp_tier IS NOT NULL)"
                       ).fetchall()[0][0] == 0
    reasons = con.execute(f"SELECT fit_reasons FROM '{out}' WHERE icp_tier = 1 LIMIT 1").fetchall()[0][0]
    assert reasons.startswith("industry Computer Software (+")


def test_scoring_says_what_a_file_lacks(demo, write, tmp_path):
    _, result, folder = demo
    icp_path = folder / "out" / "icp.json"
    partial = write("partial.csv", "Company Name,Industry\nAcme,Computer Software\nBeta,Marketing & Advertising\n")
    scored = toolkit.score_prospects(partial, tmp_path / "p.csv", icp_path=icp_path)
    assert "technologies" in scored.missing_fields and scored.rows == 2
    rows = list(csv.DictReader(open(tmp_path / "p.csv", newline="")))
    assert "technologies" in rows[0]["missing_fields"] and rows[0]["icp_tier"] == ""
    assert rows[1]["disqualified"] == "true" and rows[1]["disqualified_by"]
    nothing = write("nothing.csv", "Name,Colour\nAcme,blue\n")
    with pytest.raises(UserError, match="none of the fields the ICP needs"):
        toolkit.score_prospects(nothing, tmp_path / "n.csv", icp_path=icp_path)
    with pytest.raises(UserError, match="name the output .csv or .parquet"):
        toolkit.score_prospects(partial, tmp_path / "n.xlsx", icp_path=icp_path)


def test_validation_reports_targets_backtest_and_market(demo):
    _, result, _ = demo
    validation = result.icp.validation
    targets = {t.metric: t.status for t in validation.unit_economics.targets}
    assert targets["nrr"] == "met" and targets["win_rate"] == "not measurable"
    assert validation.backtest.status == "held"
    market = validation.market
    assert market.prospects == 50_000 and market.revenue_check.status == "large enough"
    assert all(0 < t.share < 0.5 for t in market.tiers)
    assert market.open_pipeline.status.startswith("not measurable")


def test_playbook_and_crm_exports(demo):
    _, _, folder = demo
    playbook = (folder / "out" / "playbook.md").read_text()
    assert "- [ ] industry = Computer Software" in playbook and "Stop (negative ICP)" in playbook
    assert "Senior AE" in playbook and "Beachhead ICP 1" in playbook
    hubspot = list(csv.DictReader(open(folder / "out" / "hubspot_companies.csv", newline="")))
    assert list(hubspot[0]) == ["Record ID", "Company Domain Name", "Company name", "icp_tier", "icp_segment",
                                "fit_points", "fit_score", "priority", "priority_reason", "grade", "fit_reasons",
                                "disqualified_by", "Source Record ID"]
    assert len(hubspot) == 55_000 and {r["icp_tier"] for r in hubspot} >= {"Tier 1", "Not ICP"}
    salesforce = list(csv.DictReader(open(folder / "out" / "salesforce_accounts.csv", newline="")))
    assert list(salesforce[0])[:5] == ["Id", "Name", "Website", "ICP_Tier__c", "ICP_Segment__c"]
    assert "Fit_Score__c" in salesforce[0] and len(salesforce) == 55_000


def test_diff_needs_two_versions_and_then_recommends(tmp_path):
    ws = Workspace(tmp_path / "ws.duckdb")
    toolkit.import_data(ws, customers=DEMO / "customers.csv")
    toolkit.build_icp(ws)
    with pytest.raises(UserError, match="only one ICP version"):
        toolkit.diff_icp_versions(ws)
    toolkit.build_icp(ws)
    result = toolkit.diff_icp_versions(ws)
    assert result["same_data"] and result["recommendation"] == "keep"
    assert result["migration"]["changed_tier"] == 0 and result["migration"]["customers_in_both"] == 5000
    assert all(v["psi"] < 0.01 for v in result["fields"].values())


@pytest.mark.slow
def test_refresh_with_a_shifted_snapshot(tmp_path, cli):
    shifted = tmp_path / "customers_v2.csv"
    con = duckdb.connect()
    # the next export: every company grew fourfold (ranges such as "51-200" are lost on the way)
    con.execute(f"""COPY (SELECT * REPLACE (
            CAST(TRY_CAST(replace("Number of Employees", ',', '') AS INT) * 4 AS VARCHAR) AS "Number of Employees")
        FROM read_csv('{DEMO / "customers.csv"}', all_varchar=true)) TO '{shifted}' (HEADER)""")
    cli("run", "--customers", str(DEMO / "customers.csv"), "--out", str(tmp_path / "v1"), "-q")
    result = cli.json("refresh", "--customers", str(shifted), "--out", str(tmp_path / "v2"), "-q")
    diff = result["diff"]
    assert diff["fields"]["employees"]["status"] in ("watch", "shifted")
    assert diff["recommendation"] in ("recalibrate the scorecard", "rebuild the ICP")
    assert diff["migration"]["changed_tier"] > 0
    assert len(cli.json("list-icp-versions")) == 2


def test_playbook_expand_steps_never_repeat_a_tier(demo):
    """An expand step whose criteria include all of a tier's criteria only re-sells rows that tier already holds."""
    _, _, folder = demo
    icp = json.loads((folder / "out" / "icp.json").read_text())
    playbook = (folder / "out" / "playbook.md").read_text()
    assert "Then expand" in playbook
    names = {f"{t['segment']} Tier {t['tier']}" for t in icp["tiers"]}
    from icp_agent.render.templating import md

    tiers = [[md(c["label"]) for c in t["criteria"]] for t in icp["tiers"]]
    steps = [line.split(". ", 1)[1].rsplit(": lift", 1)[0] for line in playbook.split("Then expand", 1)[1].splitlines()
             if line[:1].isdigit() and ": lift" in line]
    assert steps
    for step in steps:
        if step in names:
            continue  # a Tier 2/3 itself is a step of its own
        parts = step.split(" AND ")
        assert not any(set(labels) <= set(parts) for labels in tiers), step


def test_a_version_keeps_its_options_and_later_steps_use_them(demo, tmp_path, cli, monkeypatch):
    """validate_icp, fit_scorecard and diff_icp_versions run with the options the version was built with (not the
    defaults); refresh rebuilds with them, the options given to it replacing only those."""
    ws, result, _ = demo
    assert result.icp.dataset.options["revenue_target"] == 1_000_000
    assert toolkit.built_with(result.icp) == toolkit.AnalysisOptions(revenue_target=1_000_000)
    # no revenue target given now: the version's own is checked again
    validation = toolkit.validate_icp(ws)
    assert validation.market.revenue_check.revenue_target == 1_000_000
    assert toolkit.validate_icp(ws, revenue_target=2_000_000).market.revenue_check.revenue_target == 2_000_000
    assert toolkit.get_icp(ws).dataset.options["revenue_target"] == 2_000_000  # kept with the new validation

    seen = []
    real = toolkit._analysis_inputs
    monkeypatch.setattr(toolkit, "_analysis_inputs", lambda ws_, con, options: seen.append(options) or
                        real(ws_, con, options))
    toolkit.fit_scorecard(ws)
    assert seen[-1].revenue_target == 2_000_000 and seen[-1].depth == 3
    monkeypatch.undo()

    cli("run", "--customers", str(DEMO / "customers.csv"), "--out", str(tmp_path / "v1"), "--depth", "2",
        "--min-tenure-months", "3", "-q")
    refreshed = cli.json("refresh", "--customers", str(DEMO / "customers.csv"), "--out", str(tmp_path / "v2"),
                         "--alpha", "0.01", "-q")
    options = refreshed["icp"]["dataset"]["options"]
    assert (options["depth"], options["min_tenure_months"], options["alpha"]) == (2, 3.0, 0.01)


def test_operations_take_their_options_model_or_the_same_fields(demo):
    ws, result, _ = demo
    from icp_agent.errors import ArgumentError
    from icp_agent.options import EvidenceOptions, VersionOptions

    assert toolkit.get_icp(ws, VersionOptions(version=result.icp.id)).id == result.icp.id
    assert toolkit.get_icp(ws, result.icp.id).id == toolkit.get_icp(ws, version=result.icp.id).id == result.icp.id
    first = result.icp.evidence[0].id
    assert [i.id for i in toolkit.get_evidence(ws, EvidenceOptions(ids=[first, first])).items] == [first]
    with pytest.raises(ArgumentError, match="depth"):
        toolkit.find_patterns(ws, depth=7)
    with pytest.raises(ArgumentError, match="unknown_option"):
        toolkit.build_icp(ws, unknown_option=1)


def test_the_operation_wrapper_reads_a_model_keywords_or_the_older_positional_form():
    from icp_agent.errors import ArgumentError
    from icp_agent.operations import BY_NAME, OPERATIONS, operation
    from icp_agent.options import DiffOptions

    seen = []

    @operation(DiffOptions, positional=("old", "new"))
    def diff(ws, params, progress=None):
        seen.append((ws, params.old, params.new, params.model_fields_set, progress))
        return params

    def tell(*_args):
        return None

    diff("ws", None, "v2")  # None is the first positional value here, not "no options"
    diff("ws", DiffOptions(old="v1"), new="v2")
    diff("ws", "v1", progress=tell)
    diff("ws", old=1)  # a number where an id is expected is read as its text
    assert seen == [("ws", None, "v2", {"old", "new"}, None), ("ws", "v1", "v2", {"old", "new"}, None),
                    ("ws", "v1", None, {"old"}, tell), ("ws", "1", None, {"old"}, None)]
    with pytest.raises(ArgumentError, match="newest"):
        diff("ws", newest="v2")
    with pytest.raises(TypeError):
        diff("ws", "v1", "v2", "v3")
    # every operation of the registry is a toolkit function taking its model
    for op in OPERATIONS:
        assert op.function().options is op.model(), op.name
    assert BY_NAME["build_icp"].command == "build-icp"


def _crm_export(folder, seed: int = 11) -> None:
    """A CRM look-alike (accounts, won/lost deals, a prospect list without a city): finance companies in Berlin
    with 50-200 employees win 75% of their deals, other finance companies 30%, education 4%, the rest 20%."""
    import random

    rng = random.Random(seed)
    industries = ("Finance", "Education", "Retail", "Software", "Logistics", "Healthcare")
    cities = ("Berlin", "London", "Paris", "Madrid", "Austin")
    accounts, deals = [], []
    for i in range(900):
        industry = rng.choice(industries)
        planted = industry == "Finance" and rng.random() < 0.35  # enough of the planted segment to be found
        city = "Berlin" if planted else rng.choice(cities)
        employees = rng.randint(50, 200) if planted else rng.choice(
            (rng.randint(5, 49), rng.randint(50, 200), rng.randint(201, 2000)))
        name = f"Acct{i:04d} GmbH"
        accounts.append({"Account Name": name, "Industry": industry, "Billing City": city, "Employees": employees})
        win = 0.75 if (industry, city) == ("Finance", "Berlin") and 50 <= employees <= 200 else \
            0.3 if industry == "Finance" else 0.04 if industry == "Education" else 0.2
        for _ in range(rng.randint(2, 4)):
            deals.append({"Deal Name": f"{name} deal", "Account Name": name, "Amount": rng.randint(5, 50) * 1000,
                          "Stage": "Closed Won" if rng.random() < win else "Closed Lost",
                          "Closing Date": f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"})
    prospects = [{"Company Name": f"Prospect{i} AG", "Industry": rng.choice(industries),
                  "Employees": rng.randint(5, 900)} for i in range(300)]
    for name, rows in (("Accounts.csv", accounts), ("Deals.csv", deals), ("Prospects.csv", prospects)):
        with open(folder / name, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


@pytest.fixture(scope="module")
def deal_level(tmp_path_factory):
    folder = tmp_path_factory.mktemp("deal_level")
    _crm_export(folder)
    ws = Workspace(folder / "ws.duckdb")
    result = toolkit.run(ws, None, folder / "out", customers=folder / "Accounts.csv", deals=folder / "Deals.csv",
                         prospects=folder / "Prospects.csv")
    return result.icp, folder / "out"


def test_a_tiers_win_rate_counts_its_own_deals_as_its_other_figures(deal_level):
    """Each deal counts in its best tier only: the win rate too, so Tier 2's win rate is its good rate (won
    deals are the good ones), never the rate of every deal matching its criteria, Tier 1's included."""
    icp, _ = deal_level
    assert icp.health.definition == "won" and len(icp.tiers) >= 2
    for tier in icp.tiers:
        m = tier.metrics
        assert m.win_rate_n == m.n and m.win_rate == pytest.approx(m.good_rate, abs=1e-4), tier.name


def test_playbook_names_each_lifts_basis_and_the_markets_real_reason(deal_level):
    icp, out = deal_level
    playbook = (out / "playbook.md").read_text()
    base = icp.health.n_good / icp.health.n
    for tier in (t for t in icp.tiers if t.tier > 1):
        line = next(line for line in playbook.splitlines() if f"Tier {tier.tier}" in line and ": lift" in line)
        assert f"lift {tier.metrics.good_rate / base:.2f} (won {100 * tier.metrics.good_rate:.1f}% vs " \
               f"{100 * base:.1f}% overall, on this tier's own deals: those also in Tier 1 count there)" in line
    for pattern_line in (line for line in playbook.splitlines() if "as in the traits table" in line):
        assert "on every deal with the trait" in pattern_line
    # the prospect list has no city: the beachhead says so, not "no prospect list"
    tier1 = next(t for t in icp.tiers if t.tier == 1)
    assert "city" in {c.field for c in tier1.criteria}
    assert "market size not measured: the prospect list lacks city" in playbook
    assert "no prospect list" not in playbook


def test_a_disqualifier_on_won_and_lost_deals_leads_with_its_win_rate(deal_level):
    icp, _ = deal_level
    education = next(d for d in icp.negative_icp if any("Education" in c.label for c in d.criteria))
    m = education.metrics
    won, base_won = 1 - m.rate, 1 - m.base_rate
    assert education.reason.startswith(
        f"{100 * won:.1f}% of these deals are won vs {100 * base_won:.1f}% overall ({base_won / won:.2f}x less "
        f"often; {100 * m.rate:.1f}% lost vs {100 * m.base_rate:.1f}%, n={m.n:,}")
