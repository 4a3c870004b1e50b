"""render/exports.py: the CRM files (HubSpot, Salesforce), routing.csv and the sales playbook, all from one scored
table. A fresh workspace with customers and prospects tables registered as current imports, written in SQL.
Number wording belongs to icp_agent.numbers: the playbook's figures are read back as numbers, not as text."""

from __future__ import annotations

import csv
import json
import re

import pytest

from icp_agent.icp_document import Disqualifier, MarketTier, PatternStat, TierMetrics, Validation
from icp_agent.render.exports import (
    _IS_SALESFORCE_ID,
    _adjacent,
    _market_size,
    _tier_count,
    generic_id_column,
    id_header,
    is_hubspot_id_header,
    render_playbook,
    salesforce_field,
    write_crm_exports,
)
from icp_agent.workspace import Workspace
from minimal_icp import icp, tier

SOFTWARE = {"field": "industry", "op": "eq", "value": "Software", "kind": "category"}
RETAIL = {"field": "industry", "op": "eq", "value": "Retail", "kind": "category", "label": "industry = Retail"}


def read_csv(path) -> list[dict]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def figures(text: str) -> list[float]:
    return [float(x.replace(",", "")) for x in re.findall(r"\d[\d,]*(?:\.\d+)?", text)]


@pytest.fixture
def ws(tmp_path):
    ws = Workspace(tmp_path / "ws.duckdb")
    with ws.transaction() as con:
        con.execute(
            """CREATE TABLE cust AS SELECT * FROM (VALUES
            ('123', 'a.com', 'Acme', 'Software'), ('456', NULL, '=Evil', 'Retail'), ('789', 'c.com', 'Cee', NULL)
            ) t(company_id, domain, company_name, industry)"""
        )
        con.execute(
            """CREATE TABLE pros AS SELECT * FROM (VALUES
            ('0015g00000ABCDEAAA', 'p.com', 'Pea', 'Software'), ('x1', NULL, 'Nodomain', 'Retail'),
            ('x2', 'q.com', 'Queue', 'Banking')) t(company_id, domain, company_name, industry)"""
        )
        report = {"columns": [{"field": "company_id", "header": "Record ID"}]}
        for import_id, kind, table, rep in (("i1", "customers", "cust", report), ("i2", "prospects", "pros", {})):
            con.execute(
                "INSERT INTO imports (import_id, kind, file_name, sha256, table_name, imported_at, report) "
                "VALUES (?, ?, 'f.csv', 'x', ?, now(), ?)",
                [import_id, kind, table, json.dumps(rep)],
            )
            con.execute("INSERT INTO current_snapshot VALUES (?, ?)", [kind, import_id])
    return ws


def doc(**fields):
    return icp([tier(1, [SOFTWARE])], negative_icp=[Disqualifier(criteria=[RETAIL], reason="churns")], **fields)


def test_salesforce_field_and_hubspot_headers():
    assert salesforce_field("fit_score") == "Fit_Score__c"
    assert salesforce_field("icp_tier") == "ICP_Tier__c"
    assert is_hubspot_id_header("Record ID") and is_hubspot_id_header("hs_object_id")
    assert is_hubspot_id_header("HubSpot-Company-ID")
    assert not is_hubspot_id_header("Organization ID") and not is_hubspot_id_header(None)


def test_id_header_reads_the_import_report(ws):
    with ws.connect() as con:
        assert id_header(con, "customers") == "Record ID"
        assert id_header(con, "prospects") is None  # its report has no columns
        assert id_header(con, "deals") is None  # no such import


def test_write_crm_exports(ws, tmp_path):
    document = doc()
    counts, by_priority = write_crm_exports(ws, document, tmp_path)
    hubspot = read_csv(tmp_path / "hubspot_companies.csv")
    # customers' ids came from HubSpot's "Record ID" and are digits: all three match; prospects need a domain
    assert [(r["Record ID"], r["Company Domain Name"]) for r in hubspot] == [
        ("123", "a.com"), ("456", ""), ("789", "c.com"), ("", "p.com"), ("", "q.com")]  # fmt: skip
    assert [r["icp_tier"] for r in hubspot] == ["Tier 1", "Not ICP", "Not ICP", "Tier 1", "Not ICP"]
    assert hubspot[1]["Company name"] == "'=Evil"  # neutralised
    assert hubspot[1]["disqualified_by"] == "industry = Retail"
    salesforce = read_csv(tmp_path / "salesforce_accounts.csv")
    # only 0015g00000ABCDEAAA is a Salesforce id; rows without one need a Website
    assert [(r["Id"], r["Website"]) for r in salesforce] == [
        ("", "a.com"), ("", "c.com"), ("0015g00000ABCDEAAA", "p.com"), ("", "q.com")]  # fmt: skip
    assert "ICP_Tier__c" in salesforce[0] and "Fit_Score__c" in salesforce[0]
    # every file carries the id as imported, whatever the CRM: the HubSpot ids and the prospects' other ids
    assert [r["Source Record ID"] for r in hubspot] == ["123", "456", "789", "0015g00000ABCDEAAA", "x2"]
    assert [r["Source_Record_ID__c"] for r in salesforce] == ["123", "789", "0015g00000ABCDEAAA", "x2"]
    # crm_scores.csv: every row under the imports' id header, the rows HubSpot and Salesforce cannot match too
    generic = read_csv(tmp_path / "crm_scores.csv")
    assert list(generic[0])[:4] == ["source", "Record ID", "name", "domain"]
    assert [(r["source"], r["Record ID"], r["icp_tier"], r["disqualified_by"]) for r in generic] == [
        ("customers", "123", "Tier 1", ""),
        ("customers", "456", "Not ICP", "industry = Retail"),
        ("customers", "789", "Not ICP", ""),
        ("prospects", "0015g00000ABCDEAAA", "Tier 1", ""),
        ("prospects", "x1", "Not ICP", "industry = Retail"),
        ("prospects", "x2", "Not ICP", ""),
    ]
    assert {"fit_score", "priority", "fit_reasons"} <= set(generic[0])
    assert counts == {"hubspot_companies.csv": 5, "salesforce_accounts.csv": 4, "crm_scores.csv": 6, "routing.csv": 3}
    # prospects: Pea Tier 1 (high), Nodomain disqualified and Queue outside every tier (low)
    assert by_priority == {"high": 1, "low": 2}
    routing = read_csv(tmp_path / "routing.csv")
    assert [(r["priority"], r["prospects"]) for r in routing] == [("high", "1"), ("medium", "0"), ("low", "2")]
    # rows each CRM could not match are counted into the warnings
    hubspot_warning = [w for w in document.warnings if "hubspot_companies.csv" in w]
    salesforce_warning = [w for w in document.warnings if "salesforce_accounts.csv" in w]
    assert len(hubspot_warning) == 1 and "prospects" in hubspot_warning[0]
    assert figures(hubspot_warning[0])[:2] == [1, 3]  # 1 of 3 prospects
    assert {w.split(" left out")[0].split()[-1] for w in salesforce_warning} == {"customers", "prospects"}
    write_crm_exports(ws, document, tmp_path)  # a second run adds no duplicate warning
    assert len([w for w in document.warnings if "hubspot_companies.csv" in w]) == 1


def test_generic_id_column_is_the_imported_header():
    # Close's leads: "id"; Zoho's "Record Id"; none imported, or a header that would clash: record_id
    assert generic_id_column([None, "id"]) == "id"
    assert generic_id_column(["Record Id", "Organization - ID"]) == "Record Id"
    assert generic_id_column([None, None]) == "record_id"
    assert generic_id_column(["Name"]) == "record_id"


def test_write_crm_exports_without_imports(tmp_path):
    assert write_crm_exports(Workspace(tmp_path / "empty.duckdb"), doc(), tmp_path) == ({}, {})
    assert not (tmp_path / "hubspot_companies.csv").exists()


def test_tier_count_counts_companies_at_deal_level():
    assert figures(_tier_count(icp(), TierMetrics(n=12))) == [12]
    assert "customers today" in _tier_count(icp(), TierMetrics(n=12))
    deal = icp(entity="deal")
    assert figures(_tier_count(deal, TierMetrics(n=40, n_good=10))) == [40, 10]
    text = _tier_count(deal, TierMetrics(n=40, n_good=10, customers=8, companies=30))
    assert figures(text) == [8, 40, 10, 30] and "customers today" in text


def test_market_size_says_why_it_was_not_measured():
    row = MarketTier(prospects=1200, penetration=0.05)
    assert figures(_market_size(icp(), row)) == [1200, 5.0]
    assert _market_size(icp(), MarketTier()) == "market size not measured (no prospect list)"
    lacks = MarketTier(status="not measurable: the prospect list lacks industry")
    assert _market_size(icp(), lacks) == "market size not measured: the prospect list lacks industry"
    failed = icp(validation=Validation.model_validate({"market": {"status": "not measurable", "reason": "no deals"}}))
    assert _market_size(failed, MarketTier()) == "market size not measured: no deals"
    listed = icp(validation=Validation.model_validate({"market": {"prospects": 50, "tiers": []}}))
    assert _market_size(listed, MarketTier()) == "market size not measured for this tier"


def pattern(label: str, field: str, lift: float, q: float = 0.01, direction: str = "good") -> PatternStat:
    criteria = [{"field": field, "op": "eq", "value": label, "label": label}]
    return PatternStat(direction=direction, label=label, criteria=criteria, n=10, k=5, rate=0.5, base_rate=0.2,
                       lift=lift, wracc=0.1, ci_low=0.2, ci_high=0.8, p_value=q, q_value=q, evidence="Ep")  # fmt: skip


def test_adjacent_ranks_tiers_and_new_patterns_by_lift():
    t2 = tier(2, [{**SOFTWARE, "value": "Banking"}], good_rate=0.4)
    document = icp(
        [tier(1, [SOFTWARE]), t2],
        patterns=[
            pattern("industry = Insurance", "industry", 5.0),  # re-cuts Tier 1's field: left out
            pattern("uses Slack", "technologies", 3.0),
            pattern("uses Jira", "technologies", 9.0, q=0.2),  # not significant
            pattern("region = EU", "region", 1.5, direction="bad"),
        ],
    )
    out = _adjacent(document, {})
    # Tier 2: good rate 0.4 over the base 2 / 10 = lift 2.0; the Slack pattern's lift 3.0 ranks first
    assert [(c[0], c[1]) for c in out] == [("uses Slack", 3.0), ("ICP 1 Tier 2", pytest.approx(2.0))]


def test_render_playbook():
    t1 = tier(1, [SOFTWARE], n=120, churn_rate=0.05)
    t1.evidence = ["Et1"]
    document = icp([t1], negative_icp=[Disqualifier(criteria=[RETAIL], reason="*churns*", evidence=["Ed"])])
    text = render_playbook(document, {"high": 7, "low": 2})
    assert text.startswith("# Sales playbook (icp-test)")
    assert "**Tier 1 (ICP 1)** [Et1]: " in text and "- [ ] industry = Software" in text
    assert "- [ ] industry = Retail: \\*churns\\* [Ed]" in text  # data goes through md
    assert "| high | Senior AE | work now: direct outreach within 24 hours | 7 |" in text
    assert "| medium | AE | work this week: sequenced outreach | 0 |" in text
    assert "1. Beachhead ICP 1: industry = Software (market size not measured (no prospect list))." in text
    none = render_playbook(icp(no_icp_reason="too *few* rows"))
    assert "nothing to qualify against yet" in none and "too \\*few\\* rows" in none and "Routing" not in none


def test_a_table_sorted_once_is_written_in_its_order_by_a_filtered_copy(tmp_path):
    # write_crm_exports sorts the scored rows once and lets each file's COPY scan it unsorted: DuckDB keeps a table's
    # insertion order through a scan, a filter and a projection (preserve_insertion_order), on several threads and
    # row groups too
    import duckdb

    from icp_agent.render.tabular import write_table

    con = duckdb.connect()
    con.execute("SET threads = 4")
    con.execute(
        "CREATE TEMP TABLE t AS FROM (SELECT CASE WHEN i % 3 = 0 THEN 'prospects' ELSE 'customers' END AS source, "
        "CAST(hash(i) % 1000000 AS VARCHAR) AS record_id, CASE WHEN i % 7 > 0 THEN 'd' || i END AS domain "
        "FROM range(300000) r(i)) ORDER BY source, record_id, domain"
    )
    path = tmp_path / "out.csv"
    written = write_table(con, "SELECT source, record_id, domain FROM t WHERE domain IS NOT NULL", path)
    with path.open(newline="") as f:
        rows = [(r["source"], r["record_id"], r["domain"]) for r in csv.DictReader(f)]
    assert written == len(rows) > 250_000
    assert rows == sorted(rows)  # record ids are text: their order is the text order the table was sorted in


def test_rows_without_id_or_domain_are_written_by_name(tmp_path):
    """Prospects with neither an id nor a domain tie on the CRM files' sort key: they are written by name (then
    their scores), never in the order the engine's threads finished them."""
    ws = Workspace(tmp_path / "ws.duckdb")
    with ws.transaction() as con:
        con.execute(
            """CREATE TABLE pros AS SELECT * FROM (VALUES (NULL, NULL, 'Zed', 'Software'), (NULL, NULL, 'Bee', 'Retail'),
            (NULL, NULL, 'Ant', 'Banking')) t(company_id, domain, company_name, industry)"""
        )
        con.execute(
            "INSERT INTO imports (import_id, kind, file_name, sha256, table_name, imported_at, report) "
            "VALUES ('i1', 'prospects', 'f.csv', 'x', 'pros', now(), '{}')"
        )
        con.execute("INSERT INTO current_snapshot VALUES ('prospects', 'i1')")
    write_crm_exports(ws, doc(), tmp_path)
    assert [r["name"] for r in read_csv(tmp_path / "crm_scores.csv")] == ["Ant", "Bee", "Zed"]


def test_a_salesforce_id_is_15_or_18_letters_and_digits_not_all_digits():
    # the length test before the patterns: only ids of 15 or 18 characters are matched, with the same verdicts
    import duckdb

    ids = {
        "0015g00000ABCDE": True,  # 15
        "0015g00000ABCDEAAA": True,  # 18
        "0015g00000ABCDEA": False,  # 16
        "0015g00000ABCDEAAAB": False,  # 19
        "001500000012345": False,  # 15 digits: a number, not a Salesforce id
        "0015g00000ABC-E": False,  # not all letters and digits
        "0015g00000ABCDé": False,  # 15 characters, one not ASCII
        "": False,
        None: False,
    }
    got = duckdb.connect().execute(
        f"SELECT record_id, {_IS_SALESFORCE_ID} FROM (SELECT unnest(?::VARCHAR[]) AS record_id)", [list(ids)]
    )
    assert dict(got.fetchall()) == ids
