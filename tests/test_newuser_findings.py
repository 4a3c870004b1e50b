"""Findings from a new user's first run (a Pipedrive export and a hand-kept spreadsheet), analysis side.

Every file here is a generated look-alike: a Pipedrive-style organisations + deals export whose
organisations carry Won/Lost/Closed/Open deal counts, and a customer sheet with a churn flag.
"""

from __future__ import annotations

import csv
import io
import json
import random

import numpy as np
import pytest
from scipy import stats

from icp_agent import toolkit
from icp_agent.patterns.screen import outcome_named
from icp_agent.patterns.stats import fisher_greater_many
from icp_agent.workspace import Workspace

INDUSTRIES = ("Software", "Retail", "Manufacturing", "Finance", "Healthcare", "Logistics")
BANDS = ("1-10", "11-50", "51-200", "201-500", "501-1000")
REASONS = ("Price too high", "Timing", "Went with competitor", "No budget")


def _csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def pipedrive(n_orgs: int = 320, seed: int = 7, *, id_header: str = "Organization - ID",
              count_headers: tuple[str, str, str, str] = ("Organization - Won deals", "Organization - Lost deals",
                                                          "Organization - Closed deals", "Organization - Open deals"),
              reason_header: str = "Deal - Lost reason", status_header: str = "Deal - Status",
              extra_orgs: int = 0) -> tuple[str, str]:
    """(organizations.csv, deals.csv) like Pipedrive's: Software wins 60% of its deals, Retail 8%, the rest 25%.
    One org in eight has no website. `extra_orgs` adds orgs without a single deal (a later snapshot's growth)."""
    rng = random.Random(seed)
    orgs, deals = [], []
    for i in range(1, n_orgs + extra_orgs + 1):
        industry = rng.choice(INDUSTRIES)
        win = {"Software": 0.6, "Retail": 0.08}.get(industry, 0.25)
        statuses = [] if i > n_orgs else [
            "open" if rng.random() < 0.15 else ("won" if rng.random() < win else "lost")
            for _ in range(rng.randint(1, 4))]
        name = f"Org{i:04d} GmbH"
        for status in statuses:
            value = rng.randint(5, 90) * 1000
            deals.append({"Deal - ID": len(deals) + 1, "Deal - Title": f"{name} deal", "Deal - Value": f"{value}.00",
                          "Deal - Currency": "EUR", "Deal - Organization": name,
                          "Deal - Stage": rng.choice(("Qualified", "Demo Scheduled", "Proposal Made")),
                          status_header: status,
                          "Deal - Probability": {"won": 100, "lost": "", "open": rng.choice((20, 40, 60))}[status],
                          "Deal - Weighted value": f"{value if status == 'won' else 0}.00",
                          # like Pipedrive, a lost deal often carries no reason (so the AUC alone misses the field)
                          reason_header: rng.choice(REASONS) if status == "lost" and rng.random() < 0.7 else ""})
        won, lost = statuses.count("won"), statuses.count("lost")
        orgs.append({id_header: i, "Organization - Name": name, "Organization - Industry": industry,
                     "Organization - Number of employees": rng.choice(BANDS),
                     "Organization - Website": "" if i % 8 == 0 else f"https://www.org{i:04d}.com",
                     count_headers[0]: won, count_headers[1]: lost, count_headers[2]: won + lost,
                     count_headers[3]: statuses.count("open")})
    return _csv(orgs), _csv(deals)


MAPPING = """[files."deals.csv".columns]
"Deal - Organization" = "company_name"
"Deal - Value" = "amount"
"Deal - Currency" = "amount_currency"
"{status}" = "deal_stage"
"{stage}" = "ignore"
"""


def _pipedrive_ws(tmp_path, name="ws", status="Deal - Status", stage="Deal - Stage", **kwargs) -> tuple[Workspace, object]:
    folder = tmp_path / f"{name}_data"
    folder.mkdir()
    orgs, deals = pipedrive(**kwargs)
    (folder / "organizations.csv").write_text(orgs, encoding="utf-8")
    (folder / "deals.csv").write_text(deals, encoding="utf-8")
    mapping = tmp_path / f"{name}_map.toml"
    mapping.write_text(MAPPING.format(status=status, stage=stage), encoding="utf-8")
    ws = Workspace(tmp_path / f"{name}.duckdb")
    toolkit.import_data(ws, folder, mapping_file=mapping)
    return ws, folder


@pytest.fixture(scope="module")
def deal_level(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pipedrive")
    ws, folder = _pipedrive_ws(tmp)
    icp = toolkit.build_icp(ws)
    out = tmp / "out"
    out.mkdir()
    toolkit.write_icp_outputs(ws, icp, out)
    return ws, icp, out, tmp


# Finding 1: outcome leakage -------------------------------------------------------------------------------------

def test_outcome_counts_and_lost_reason_are_excluded_as_leakage(deal_level):
    ws, icp, _, _ = deal_level
    excluded = {e.field: e.model_dump() for e in icp.excluded_fields}
    roles = toolkit.field_roles(ws)
    for name in ("organization_won_deals", "organization_lost_deals", "organization_closed_deals",
                 "organization_open_deals", "deal_lost_reason"):
        # named like an outcome: post-sale from the import on (ingest), else excluded as leakage by the screen
        assert roles.get(name) in ("post_sale", "outcome") or excluded[name]["rule"] == "leakage", name
    used = {c.field for t in icp.tiers for c in t.criteria} | {c.field for d in icp.negative_icp for c in d.criteria}
    used |= {c.field for p in icp.patterns for c in p.criteria}
    assert not used & set(excluded), used & set(excluded)
    assert icp.status == "ok" and {c.label for t in icp.tiers if t.tier == 1 for c in t.criteria} == {
        "industry = Software"}


def test_an_outcome_pure_value_is_caught_whatever_the_field_is_called(tmp_path):
    # the same counts under names that say nothing: the purity rule (a value holding >= 5% and >= 30 rows that
    # is ~100% one outcome) catches them, and names the value and its figures
    ws, _ = _pipedrive_ws(tmp_path, count_headers=("Tally A", "Tally B", "Tally C", "Tally D"),
                          reason_header="Note code")
    icp = toolkit.build_icp(ws)
    excluded = {e.field: e.model_dump() for e in icp.excluded_fields}
    for name in ("tally_a", "tally_b", "note_code"):
        assert excluded[name]["rule"] == "leakage", name  # by the AUC rule or the purity rule
    pure = [e.model_dump() for e in icp.excluded_fields if (e.model_extra or {}).get("basis") == "pure value"]
    assert pure and all(e["k"] / e["n"] >= 0.98 and e["n"] >= 30 for e in pure)
    assert any(e["field"] == "note_code" for e in pure)  # its AUC is below 0.95: only the purity rule catches it
    assert all(f"{e['k']:,} of {e['n']:,} deals" in e["reason"] for e in pure)
    used = {c.field for p in icp.patterns for c in p.criteria}
    # closed and open counts say how many deals a company has, not how they ended: under a neutral name only the
    # name rule (Organization - Closed deals) keeps them out, which the test above covers
    assert not used & {"tally_a", "tally_b", "note_code"}


@pytest.mark.parametrize("header", ["Organization - Won deals", "Number of closed won deals", "Lost Deals",
                                    "open_opportunities", "Deal - Lost reason", "churn_reason", "Deal - Probability",
                                    "Weighted Amount", "closedLostCount", "Win Rate"])
def test_outcome_names_are_recognised(header):
    assert outcome_named("x", header)["rule"] == "leakage"


@pytest.mark.parametrize("header", ["Organization - Industry", "Number of employees", "Deal - Source channel",
                                    "Deal - Pipeline", "Uses open source", "Opportunity Owner", "Closed Captioning",
                                    "Technologies", "Lead Source", "Reason for contact form"])
def test_ordinary_fields_are_not_outcome_named(header):
    assert outcome_named("x", header) is None


# Finding 2: the p-value of a pattern tested among the rows where a field is known ------------------------------

@pytest.mark.parametrize("k_sg,n_sg,k_all,n_all", [(204, 204, 830, 1113), (5, 10, 100, 300), (0, 10, 100, 300),
                                                    (30, 30, 30, 60), (7, 40, 12, 90), (1, 1, 1, 2)])
def test_one_sided_fisher_matches_scipy(k_sg, n_sg, k_all, n_all):
    table = [[k_sg, n_sg - k_sg], [k_all - k_sg, n_all - n_sg - k_all + k_sg]]
    expected = stats.fisher_exact(table, alternative="greater").pvalue
    got = fisher_greater_many(np.array([k_sg]), np.array([n_sg]), k_all, n_all)[0]
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-300)


def test_one_sided_fisher_on_many_tables_matches_scipy():
    rng = np.random.default_rng(3)
    n_all, k_all = 500, 140
    n_sg = rng.integers(1, n_all, 200)
    k_sg = np.array([rng.integers(max(0, n - (n_all - k_all)), min(n, k_all) + 1) for n in n_sg])
    got = fisher_greater_many(k_sg, n_sg, k_all, n_all)
    for k, n, p in zip(k_sg, n_sg, got):
        expected = stats.fisher_exact([[k, n - k], [k_all - k, n_all - n - k_all + k]], alternative="greater").pvalue
        assert p == pytest.approx(expected, rel=1e-7, abs=1e-300)


def test_no_reported_pattern_is_100_percent_one_outcome_with_p_1(deal_level):
    _, icp, _, _ = deal_level
    for p in icp.patterns:
        if p.rate == 1.0 and p.n >= 30:
            assert p.p_value < 0.05, p.label


# Finding 3: --bad-column words the outcome the right way round -------------------------------------------------

def handsheet(n: int = 480, seed: int = 11, flag: str = "Gekündigt", yes: str = "Ja", no: str = "Nein") -> str:
    """A hand-kept customer sheet: Retail churns 80%, Software 15%, the rest 45%."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        industry = rng.choice(INDUSTRIES)
        churn = {"Retail": 0.8, "Software": 0.15}.get(industry, 0.45)
        rows.append({"Kunde": f"Kunde {i} KG", "Branche": industry, "Mitarbeiter": rng.choice(BANDS),
                     "Land": rng.choice(("DE", "AT", "CH")), flag: yes if rng.random() < churn else no})
    return _csv(rows)


def test_bad_column_statements_say_churned_and_retained(tmp_path, write):
    path = write("sheet/kunden.csv", handsheet())
    mapping = write("kunden.toml", '[columns]\n"Kunde" = "company_name"\n"Branche" = "industry"\n'
                                   '"Mitarbeiter" = "employees"\n"Gekündigt" = "churned"\n"Land" = "country"\n')
    ws = Workspace(tmp_path / "ws.duckdb")
    toolkit.import_data(ws, path.parent, mapping_file=mapping)
    icp = toolkit.build_icp(ws, toolkit.AnalysisOptions(bad_column="churned"))
    assert (icp.health.good_words, icp.health.bad_words) == ("retained", "churned")
    retail = [d for d in icp.negative_icp if {c.label for c in d.criteria} == {"industry = Retail"}]
    assert retail and "are churned vs" in retail[0].reason
    software = [p for p in icp.patterns if p.label == "industry = Software" and p.direction == "good"]
    statements = {e.id: e.statement for e in icp.evidence}
    assert software and "are retained vs" in statements[software[0].evidence]
    definition = next(e.statement for e in icp.evidence if e.kind == "health_definition")
    assert f"{icp.health.n_good:,} good (retained) and {icp.health.n_bad:,} bad (churned)" in definition
    out = tmp_path / "out"
    out.mkdir()
    toolkit.write_icp_outputs(ws, icp, out)
    text = (out / "icp.md").read_text(encoding="utf-8") + (out / "playbook.md").read_text(encoding="utf-8")
    assert "= false" not in text and "= true" not in text
    assert "### Among retained customers" in text and "### Among churned customers" in text


def test_good_column_words_are_the_column_and_its_negation(tmp_path, write):
    # neighbour: a yes-is-good column, English values
    path = write("sheet/customers.csv", handsheet(flag="Activated", yes="yes", no="no")
                 .replace("Kunde,", "Company Name,").replace("Branche", "Industry").replace("Mitarbeiter", "Employees")
                 .replace("Land", "Country"))
    ws = Workspace(tmp_path / "ws.duckdb")
    toolkit.import_data(ws, customers=path)
    icp = toolkit.build_icp(ws, toolkit.AnalysisOptions(good_column="activated"))
    assert (icp.health.good_words, icp.health.bad_words) == ("activated", "not activated")
    assert all("are not activated vs" in d.reason for d in icp.negative_icp)


# Finding 4: deals whose stage column holds pipeline stages only -----------------------------------------------

def test_pipeline_stages_without_won_or_lost_give_a_clear_error(tmp_path, cli):
    folder = tmp_path / "data"
    folder.mkdir()
    orgs, deals = pipedrive(n_orgs=80)
    (folder / "organizations.csv").write_text(orgs, encoding="utf-8")
    (folder / "deals.csv").write_text(deals, encoding="utf-8")
    mapping = tmp_path / "map.toml"
    mapping.write_text(MAPPING.format(status="Deal - Stage", stage="Deal - Status"), encoding="utf-8")
    result = cli("run", str(folder), "--mapping", str(mapping), "--out", str(tmp_path / "out"), expect=2)
    text = result.output
    assert "internal error" not in text and "no won or lost deals" in text
    assert "'Deal - Stage'" in text and "'Proposal Made'" in text and "deal_stage" in text


# Finding 5: companies, not deals ------------------------------------------------------------------------------

def test_diff_counts_companies_once_not_deal_pairs(tmp_path):
    ws, _ = _pipedrive_ws(tmp_path, name="june", n_orgs=300)
    first = toolkit.build_icp(ws)
    orgs, deals = pipedrive(n_orgs=300, extra_orgs=40)
    later = tmp_path / "september"
    later.mkdir()
    (later / "organizations.csv").write_text(orgs, encoding="utf-8")
    (later / "deals.csv").write_text(deals, encoding="utf-8")
    toolkit.import_data(ws, later, mapping_file=tmp_path / "june_map.toml")
    second = toolkit.build_icp(ws)
    result = toolkit.diff_icp_versions(ws, first.id, second.id)
    moved = result["migration"]
    assert moved["entity"] == "companies"
    with ws.connect() as con:
        companies = con.execute(f"SELECT count(DISTINCT company_name) FROM frame_{first.id.replace('-', '_')}"
                                ).fetchone()[0]
    assert 0 < moved["in_both"] <= companies <= 300


def test_playbook_and_penetration_count_customers_not_deals(deal_level, tmp_path):
    ws, icp, out, _ = deal_level
    tier1 = [t for t in icp.tiers if t.tier == 1][0]
    m = tier1.metrics
    assert m.customers <= m.companies <= m.n and m.customers <= m.n_good
    with ws.connect() as con:
        frame = f"frame_{icp.id.replace('-', '_')}"
        won_companies = con.execute(f"SELECT count(DISTINCT company_name) FROM {frame} WHERE good AND industry = "
                                    "'Software'").fetchone()[0]
    assert m.customers == won_companies
    playbook = (out / "playbook.md").read_text(encoding="utf-8")
    assert f"{m.customers:,} customers today ({m.n:,} closed deals, {m.n_good:,} won" in playbook


# Finding 6: the minimum support is shown with its reason -------------------------------------------------------

def test_minimum_support_is_in_icp_json_the_document_and_the_cli(deal_level, tmp_path, cli):
    _, icp, out, tmp = deal_level
    assert icp.min_support.chosen_by == "detectable effect" and icp.min_support.rows >= 10
    assert "1.5x the base rate" in icp.min_support.reason
    assert f"**Minimum support:** a pattern needs at least {icp.min_support.rows:,} deals" in (
        out / "icp.md").read_text(encoding="utf-8")
    result = cli("run", str(tmp / "ws_data"), "--mapping", str(tmp / "ws_map.toml"), "--out", str(tmp_path / "o"),
                 "--min-support", "40")
    assert "minimum support: a pattern needs at least 40 deals (set with --min-support)" in result.output


# Finding 7: the scoring matrix and the CRM files ---------------------------------------------------------------

def test_scoring_matrix_shows_bands_and_whole_numbers(deal_level):
    _, _, out, _ = deal_level
    rows = list(csv.DictReader((out / "scoring_matrix.csv").open(encoding="utf-8")))
    assert rows and all(r["employees"] in BANDS for r in rows)
    for r in rows:
        assert r["employees"] == f"{r['employees_min']}-{r['employees_max']}"
        assert not r["employees_min"].endswith(".0") and not r["fit_points"].endswith(".0")


def test_hubspot_record_id_only_from_a_hubspot_id_column_and_left_out_rows_are_warned(deal_level, tmp_path):
    _, icp, out, _ = deal_level
    rows = list(csv.DictReader((out / "hubspot_companies.csv").open(encoding="utf-8")))
    assert rows and all(r["Record ID"] == "" for r in rows)  # Pipedrive's "Organization - ID" is not HubSpot's
    assert all(r["Company Domain Name"] for r in rows)
    warnings = [w for w in json.loads((out / "icp.json").read_text(encoding="utf-8"))["warnings"]
                if w.startswith("CRM files:")]
    assert any("40 of 320 customers left out of hubspot_companies.csv" in w for w in warnings), warnings
    # and what a user of another CRM (updating records by its own id) does instead
    assert all("import crm_scores.csv: every row under its id as imported" in w for w in warnings), warnings
    generic = list(csv.DictReader((out / "crm_scores.csv").open(encoding="utf-8")))
    assert len(generic) > len(rows) and all(r["Organization - ID"] for r in generic)  # Pipedrive's own id header
    # neighbour: the same export with HubSpot's id header fills Record ID and leaves nobody out
    ws, _ = _pipedrive_ws(tmp_path, name="hubspot", id_header="Record ID")
    icp = toolkit.build_icp(ws)
    folder = tmp_path / "hub_out"
    folder.mkdir()
    toolkit.write_icp_outputs(ws, icp, folder)
    rows = list(csv.DictReader((folder / "hubspot_companies.csv").open(encoding="utf-8")))
    assert len(rows) == 320 and all(r["Record ID"].isdigit() for r in rows)
    assert not [w for w in icp.warnings if "hubspot_companies.csv" in w]


def test_penetration_counts_customers_against_accounts_not_deals(tmp_path, write):
    # a prospect list that does not hold the customers (Apollo-style), plus three that are customers already:
    # penetration = customers / (customers + matching prospects not yet customers), never above 100%
    ws, _ = _pipedrive_ws(tmp_path)
    rows = [{"Company Name": f"Prospect {i} Ltd", "Website": f"prospect{i}.io", "Industry": "Software",
             "# Employees": 120} for i in range(20)]
    rows += [{"Company Name": f"Org{i:04d} GmbH", "Website": f"org{i:04d}.com", "Industry": "Software",
              "# Employees": 120} for i in range(1, 200)]
    toolkit.import_data(ws, prospects=write("apollo.csv", _csv(rows)))
    icp = toolkit.build_icp(ws)
    tier1 = [t for t in icp.tiers if t.tier == 1][0]
    row = next(r.model_dump() for r in icp.validation.market.tiers if r.tier == tier1.name)
    customers = tier1.metrics.customers
    already = row["already_customers"]
    assert 0 < already <= customers and row["customers"] == customers
    assert row["penetration"] == pytest.approx(customers / (customers + row["prospects"] - already), abs=1e-5)
    assert row["penetration"] <= 1


def test_a_pure_range_of_a_number_field_is_caught_and_a_mixed_field_is_kept():
    import duckdb

    from icp_agent.patterns.screen import screen_fields
    from icp_agent.patterns.selectors import FieldSpec

    con = duckdb.connect()
    # score: values 0-96 carry a 25% win rate, and every deal with a score of 100-199 (10% of rows) is won
    con.execute("""CREATE TABLE t AS SELECT i AS _row, (i % 4 = 0) OR i >= 900 AS good,
                   NOT ((i % 4 = 0) OR i >= 900) AS bad,
                   CASE WHEN i >= 900 THEN 100 + (i - 900) ELSE i % 97 END::DOUBLE AS score,
                   ['a', 'b', 'c'][1 + i % 3] AS plain FROM range(1000) r(i)""")
    screen = screen_fields(con, "t", [FieldSpec("score", "number"), FieldSpec("plain", "category")],
                           entity="deal", words=("won", "lost"))
    assert [s.name for s in screen.kept] == ["plain"]
    (excluded,) = screen.excluded
    assert excluded["basis"] == "pure value" and excluded["value"] == "from 100 to 199"
    assert "100 of 100 deals (100.0%) are won vs 32.5% overall" in excluded["reason"]
    # the user's own word brings it back
    kept = screen_fields(con, "t", [FieldSpec("score", "number")], confirmed={"score"})
    assert [s.name for s in kept.kept] == ["score"]


def test_a_pattern_judged_among_known_rows_says_so_with_that_base_rate(tmp_path, write):
    # "segment" is blank on half the customers (an older era, mostly not activated): its missingness is a
    # data-quality finding, so segment = A must also beat the rows where segment is known; the statement then
    # quotes that base rate beside the p it reports (never a bare p next to the overall base)
    rng = random.Random(5)
    rows = []
    for i in range(600):
        segment = "" if i % 2 else ("A" if i % 4 == 0 else "B")
        rate = {"": 0.2, "A": 0.93, "B": 0.67}[segment]
        rows.append({"Company Name": f"Co {i}", "Segment": segment, "Country": rng.choice(("DE", "FR", "UK")),
                     "Activated": "yes" if rng.random() < rate else "no"})
    ws = Workspace(tmp_path / "ws.duckdb")
    toolkit.import_data(ws, customers=write("customers.csv", _csv(rows)))
    icp = toolkit.build_icp(ws, toolkit.AnalysisOptions(good_column="activated"))
    assert any(d.field == "segment" for d in icp.data_quality)
    evidence = {e.id: e.model_dump() for e in icp.evidence}
    pattern = next(p for p in icp.patterns if p.label == "segment = A" and p.direction == "good")
    item = evidence[pattern.evidence]
    known = item["metrics"]["known_rows"]
    assert known["fields"] == ["segment"] and known["n"] == 300
    k_known = sum(1 for r in rows if r["Segment"] and r["Activated"] == "yes")
    assert known["base_rate"] == pytest.approx(k_known / 300)
    table = [[pattern.k, pattern.n - pattern.k], [k_known - pattern.k, 300 - pattern.n - k_known + pattern.k]]
    assert pattern.p_value == pytest.approx(stats.fisher_exact(table, alternative="greater").pvalue, rel=1e-6)
    assert f"among the 300 customers whose segment is known, {100 * k_known / 300:.1f}% of them activated" in \
        item["statement"]


def test_diff_leaves_screened_out_fields_out_of_the_psi(tmp_path):
    # outcome counts under names that say nothing (named ones are post-sale from the import on): the screen
    # excludes them, and the diff's PSI leaves them out too
    ws, _ = _pipedrive_ws(tmp_path, name="june", n_orgs=200, count_headers=("Tally A", "Tally B", "Tally C", "Tally D"),
                          reason_header="Note code")
    first = toolkit.build_icp(ws)
    second = toolkit.build_icp(ws)
    result = toolkit.diff_icp_versions(ws, first.id, second.id)
    screened = {e.field for e in second.excluded_fields}
    assert screened & {"tally_a", "tally_b", "note_code"} and not screened & set(result["fields"])
    assert "industry" in result["fields"]
