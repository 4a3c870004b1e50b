"""The ICP analysis against data with a known answer: the demo's planted segments, Olist, Maven."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pytest

from icp_agent import toolkit
from icp_agent.health.health_score import HealthConfig, build_frame
from icp_agent.errors import UserError
from icp_agent.workspace import Workspace

from conftest import copy_demo, shared_dataset

NOISE_AND_POST_SALE = {"founded_year", "time_zone", "city", "region", "owner", "lifecycle_stage", "arr", "nps",
                       "support_tickets", "last_activity_date", "churn_date", "starting_arr", "cac", "referrals",
                       "days_to_close", "customer_since"}


@pytest.fixture(scope="module")
def demo(built_demo, tmp_path_factory):
    """The session's built demo (conftest.built_demo), copied: a test here builds a second version."""
    copy = copy_demo(built_demo, tmp_path_factory.mktemp("demo"))
    return copy.workspace(), copy.icp()


def labels(criteria):
    return {c.label for c in criteria}


def test_demo_recovers_the_planted_tier_one(demo):
    _, icp = demo
    assert icp.status == "ok"
    tier1 = [t for t in icp.tiers if t.tier == 1]
    assert labels(tier1[0].criteria) == {"employees 50-250", "industry = Computer Software",
                                         "technologies contains Salesforce"}
    assert tier1[0].metrics.churn_rate < 0.1 and tier1[0].metrics.good_rate > 0.6


def test_demo_recovers_the_second_segment_as_a_multi_icp(demo):
    _, icp = demo
    second = [t for t in icp.tiers if t.tier == 1 and t.segment == "ICP 2"]
    assert second and {"industry = Financial Services", "employees >= 1,000"} <= labels(second[0].criteria)


def test_demo_negative_icp_holds_the_planted_disqualifiers(demo):
    _, icp = demo
    found = [labels(d.criteria) for d in icp.negative_icp]
    assert {"industry = Marketing and Advertising"} in found
    assert any("technologies contains Wix" in f for f in found)
    for d in icp.negative_icp:
        assert d.metrics.lift > 1.5 and d.metrics.q_value < 0.05 and d.evidence
        assert "bottom 20%" in d.reason


def test_no_noise_or_post_sale_field_in_any_criterion(demo):
    _, icp = demo
    fields = {c.field for t in icp.tiers for c in t.criteria} | {c.field for d in icp.negative_icp for c in d.criteria}
    assert not fields & NOISE_AND_POST_SALE, fields & NOISE_AND_POST_SALE
    assert all(c.header for t in icp.tiers for c in t.criteria)  # the original header is kept beside


def test_every_figure_has_evidence_and_ids_are_stable(demo):
    ws, icp = demo
    ids = {e.id for e in icp.evidence}
    cited = {i for t in icp.tiers for i in t.evidence} | {i for d in icp.negative_icp for i in d.evidence}
    cited |= {p.evidence for p in icp.patterns} | set(icp.health.evidence)
    assert cited <= ids
    again = toolkit.build_icp(ws)
    assert again.id != icp.id and {e.id for e in again.evidence} == ids
    item, = toolkit.get_evidence(ws, icp.tiers[0].evidence[0]).items
    assert item.query.startswith("SELECT") and item.metrics["n"] == icp.tiers[0].metrics.n
    assert len(toolkit.list_icp_versions(ws)) >= 2


def _figures_match(stored: dict, measured: dict) -> list[str]:
    """The names of the stored figures the measured ones contradict (stored floats are rounded, see evidence.clean)."""
    wrong = []
    for name, value in measured.items():
        if name not in stored:
            continue
        if isinstance(value, float) or isinstance(stored[name], float):
            ok = value is not None and stored[name] is not None and abs(float(value) - stored[name]) <= \
                max(1e-4, 1e-5 * abs(stored[name]))
        else:
            ok = value == stored[name]
        if not ok:
            wrong.append(f"{name}: stored {stored[name]!r}, the query gives {value!r}")
    return wrong


def test_every_stored_evidence_query_runs_and_returns_its_figures(demo, tmp_path):
    """Each evidence item's query, run as stored against the workspace, gives the item's own figures."""
    import shutil

    from icp_agent.health.survival import kaplan_meier

    ws, icp = demo
    checked: dict[str, int] = {}
    copy = tmp_path / "copy.duckdb"  # the frame's CREATE statement runs on a copy, not on the build's own table
    with ws.connect() as con:
        items = [toolkit.get_evidence(ws, e.id).items[0] for e in icp.evidence]
        for item in items:
            if not item.query:
                continue
            try:
                con.extract_statements(item.query)
            except duckdb.Error:
                continue  # a description of the computation (persona titles, interview notes), not SQL
            stored = item.metrics
            if item.kind == "health_definition":
                continue  # run below, on a copy of the workspace
            cursor = con.execute(item.query)
            names = [d[0] for d in cursor.description]
            result = [dict(zip(names, row)) for row in cursor.fetchall()]
            if item.kind in ("pattern", "tier"):
                assert len(result) == 1, (item.kind, item.query)
                measured = result[0]
                assert measured["n"] == stored["n"] == item.n
            elif item.kind == "cohort":
                cohort = item.statement.split(":")[0].removeprefix("Cohort ")
                measured = next(r for r in result if r["cohort"] == cohort)
            elif item.kind == "retention_curve":
                months = np.array([r["tenure_months"] for r in result], dtype=float)
                churned = np.array([r["churned_flag"] for r in result], dtype=bool)
                at12 = next((s for t, s in reversed(kaplan_meier(months, churned)) if t <= 12), 1.0)
                measured = {"n": len(result), "events": int(churned.sum()), "retained_12m": at12}
            else:
                raise AssertionError(f"evidence kind {item.kind!r} stores SQL this test does not check yet")
            assert not _figures_match(stored, measured), (item.kind, item.statement, _figures_match(stored, measured))
            assert len(set(measured) & set(stored)) >= 2, (item.kind, sorted(measured), sorted(stored))
            checked[item.kind] = checked.get(item.kind, 0) + 1
    health = next(i for i in items if i.kind == "health_definition")
    shutil.copy(ws.path, copy)
    if Path(f"{ws.path}.wal").exists():
        shutil.copy(f"{ws.path}.wal", f"{copy}.wal")
    with duckdb.connect(str(copy)) as con:
        con.execute(health.query)
        frame = health.query.split()[4]  # CREATE OR REPLACE TABLE <frame> AS ...
        n, n_good, n_bad, censored = con.execute(
            f"SELECT count(*) FILTER (health IS NOT NULL), count_if(good), count_if(bad), count_if(censored) "
            f"FROM {frame}").fetchall()[0]
    assert (n, n_good, n_bad, censored) == tuple(health.metrics[k] for k in ("n", "n_good", "n_bad", "censored"))
    checked["health_definition"] = 1
    assert checked["pattern"] == len([i for i in items if i.kind == "pattern"]) >= 10
    assert {"tier", "cohort", "retention_curve"} <= set(checked), checked


def test_icp_json_validates_and_a_hand_edit_is_pointed_at(demo, tmp_path):
    _, icp = demo
    data = icp.model_dump(mode="json")
    toolkit.check_icp_document(data)
    data["tiers"][0]["criteria"][0]["op"] = "roughly"
    path = tmp_path / "icp.json"
    path.write_text(json.dumps(data))
    with pytest.raises(UserError, match="tiers/0/criteria/0/op"):
        toolkit.load_icp(path)
    data["schema_version"] = "0.3"
    path.write_text(json.dumps(data))
    with pytest.raises(UserError, match="schema_version '0.3' is not supported"):
        toolkit.load_icp(path)


def test_censored_customers_are_counted(demo):
    _, icp = demo
    assert icp.health.censored > 0
    assert icp.health.cohort_sizes["top"] + icp.health.cohort_sizes["middle"] + icp.health.cohort_sizes["bottom"] \
        == icp.health.n


def test_health_reweights_missing_components_instead_of_imputing_zero():
    con = duckdb.connect()
    con.execute("""CREATE TABLE c AS SELECT * FROM (VALUES
        (1, 'a', 10.0, 9.0), (2, 'b', 10.0, NULL), (3, 'c', 0.0, 1.0), (4, 'd', 5.0, 5.0))
        AS t(_row, company_id, referrals, nps)""")
    result = build_frame(con, "c", None, "f", HealthConfig(weights={"referrals": 50, "nps": 50}), [])
    health = dict(con.execute("SELECT company_id, health FROM f").fetchall())
    # mid-ranks: referrals c 0, d 1/3, a and b tied at places 2/3 and 1, so both 5/6; NPS c 0, d 1/2, a 1. b has
    # no NPS, so its score is its referrals rank alone (re-weighted), not dragged down by a zero
    assert health == pytest.approx({"a": 91.67, "b": 83.33, "c": 0.0, "d": 41.67}, abs=0.01)
    assert set(result.components) == {"nps", "referrals"}


def test_olist_activation_rates_match_the_reference(tmp_path):
    folder = shared_dataset("olist-marketing-funnel")
    customers = tmp_path / "olist.csv"
    duckdb.connect().execute(f"""
        COPY (SELECT d.*, d.seller_id IN (SELECT seller_id FROM read_csv('{folder}/olist_sellers_dataset.csv'))
                     AS activated
              FROM read_csv('{folder}/olist_closed_deals_dataset.csv', all_varchar=true) d
              WHERE d.won_date < '2018-07-01') TO '{customers}' (HEADER)""")
    mapping = tmp_path / "map.toml"
    mapping.write_text('[columns]\nmql_id = "company_id"\n')
    ws = Workspace(tmp_path / "ws.duckdb")
    toolkit.import_data(ws, customers=customers, mapping_file=mapping)
    icp = toolkit.build_icp(ws, toolkit.AnalysisOptions(good="column", good_column="activated"))
    assert icp.health.n == 722 and abs(icp.health.n_good / icp.health.n - 0.51) < 0.01
    good = {p.label: p for p in icp.patterns if p.direction == "good"}
    bad = {p.label: p for p in icp.patterns if p.direction == "bad"}
    assert good["lead type = Online Big"].rate == pytest.approx(0.694, abs=0.01)
    assert good["lead type = Online Medium"].rate == pytest.approx(0.584, abs=0.01)
    assert 1 - bad["lead type = Offline"].rate == pytest.approx(0.333, abs=0.01)
    assert 1 - bad["lead type = Industry"].rate == pytest.approx(0.355, abs=0.01)
    assert all(p.lift > 1 for p in (good["lead type = Online Big"], good["lead type = Online Medium"],
                                     bad["lead type = Offline"], bad["lead type = Industry"]))
    assert "activated" not in {c.field for p in icp.patterns for c in p.criteria}


def test_maven_null_control_has_no_significant_icp(tmp_path):
    folder = shared_dataset("maven-crm")
    ws = Workspace(tmp_path / "ws.duckdb")
    toolkit.import_data(ws, customers=folder / "accounts.csv", deals=folder / "sales_pipeline.csv")
    icp = toolkit.build_icp(ws)
    assert icp.status == "no_significant_icp" and not icp.tiers
    assert icp.health.definition == "won"
    assert icp.no_icp_reason.startswith("No significant ICP in this data")
    assert "would help" in icp.statement
    # the outputs of a version without an ICP: no CRM files, and the document (its shared rows counted on their own)
    (tmp_path / "out").mkdir()
    written = toolkit.write_icp_outputs(ws, icp, tmp_path / "out")
    assert {"icp.json", "icp.md", "icp.html", "scoring_matrix.csv"} <= set(written)
    assert "crm_scores.csv" not in written and (tmp_path / "out" / "icp.md").read_text().startswith("#")


def test_demo_near_duplicate_bands_are_collapsed(demo):
    _, icp = demo
    good = {p.label for p in icp.patterns if p.direction == "good"}
    assert "employees 50-250 AND industry = Computer Software AND technologies contains Salesforce" in good
    assert "employees 51-200 AND industry = Computer Software AND technologies contains Salesforce" not in good
    assert not icp.excluded_fields and all(c.op != "is_missing" for p in icp.patterns for c in p.criteria)
