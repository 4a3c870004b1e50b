"""Unit tests of icp_agent.toolkit: each operation's argument errors and its behaviour on a small workspace.

No analysis is built here (test_analysis.py and the demo tests do that): a three-company import, and the stored
tests/data/icp_before_typed_sections.json written into icp_versions as a version, are enough for the operations
that read, page and check."""

from __future__ import annotations

import functools
import json
import shutil
from pathlib import Path

import pytest

from icp_agent import toolkit
from icp_agent.errors import ArgumentError, UserError
from icp_agent.icp_document import IcpDocument
from icp_agent.workspace import Workspace

ICP_FILE = Path(__file__).parent / "data" / "icp_before_typed_sections.json"
CUSTOMERS = """company_id,company_name,industry,employees,customer_since,churn_date,arr
c1,Acme,Software,120,2023-01-05,,12000
c2,Bolt,Retail,40,2022-06-01,2024-02-01,5000
c3,Crane,Software,300,2021-03-15,,30000
"""


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Workspace:
    """The three companies imported once (an import costs a second); each test works on its own copy."""
    folder = tmp_path_factory.mktemp("template")
    (folder / "customers.csv").write_text(CUSTOMERS, encoding="utf-8")
    ws = Workspace(folder / "ws.duckdb")
    toolkit.import_data(ws, customers=folder / "customers.csv")
    return ws


@pytest.fixture
def imported(template, tmp_path) -> Workspace:
    shutil.copy(template.path, tmp_path / "ws.duckdb")
    return Workspace(tmp_path / "ws.duckdb")


@functools.cache
def _stored_icp_json() -> str:
    return toolkit.load_icp(ICP_FILE).model_dump_json()


def _store_icp(ws: Workspace, version_id: str | None = None, created: str = "2026-11-29 13:34:34") -> IcpDocument:
    """The stored ICP written into the workspace as a version, with its evidence items."""
    icp = IcpDocument.model_validate_json(_stored_icp_json())
    if version_id:
        icp = icp.model_copy(update={"id": version_id})
    with ws.transaction() as con:
        con.execute(
            "INSERT INTO icp_versions VALUES (?, ?, ?, ?, ?)",
            [icp.id, created, icp.dataset.fingerprint, icp.status, icp.model_dump_json()],
        )
        for e in icp.evidence:
            con.execute(
                "INSERT INTO evidence VALUES (?, ?, ?, ?, ?, ?, ?)",
                [icp.id, e.id, e.kind, e.statement, json.dumps(e.metrics), e.n, e.query],
            )
    return icp


# --- import and inspect ------------------------------------------------------------------------------------------


def test_import_then_inspect(imported):
    summary = toolkit.inspect_workspace(imported)
    report = summary.current["customers"]
    assert (report.rows_read, report.rows_kept, report.rows_rejected) == (3, 3, 0)
    assert summary.snapshots == {"customers": 1} and summary.schema_version == 1
    assert {"industry", "employees", "arr"} <= set(summary.roles)
    assert toolkit.inspect_workspace(imported, "customers").current.keys() == {"customers"}


def test_inspect_a_kind_not_imported_names_what_is_there(imported):
    with pytest.raises(ArgumentError, match=r"no deals imported.*holds customers") as err:
        toolkit.inspect_workspace(imported, kind="deals")
    assert err.value.file == str(imported.path)


def test_import_a_missing_file_names_it(tmp_path):
    ws = Workspace(tmp_path / "ws.duckdb")
    with pytest.raises(UserError, match=r"nothing\.csv"):
        toolkit.import_data(ws, customers=tmp_path / "nothing.csv")


def test_import_the_same_file_again_changes_nothing(imported, template):
    again = toolkit.import_data(imported, customers=template.path.parent / "customers.csv")
    assert again.reports[0].already_imported
    assert toolkit.inspect_workspace(imported).snapshots == {"customers": 1}


# --- roles -------------------------------------------------------------------------------------------------------


def test_set_field_roles_by_field_or_header(imported):
    roles = toolkit.set_field_roles(imported, {"industry": "ignore"})
    assert roles["industry"] == "ignore"
    assert toolkit.set_field_roles(imported, roles=["industry=fit"])["industry"] == "fit"
    assert toolkit.inspect_workspace(imported).roles["industry"] == "fit"


def test_set_field_roles_unknown_field_or_role(imported):
    with pytest.raises(UserError, match="no field 'colour'"):
        toolkit.set_field_roles(imported, {"colour": "fit"})
    with pytest.raises(ArgumentError, match="roles"):
        toolkit.set_field_roles(imported, {"industry": "maybe"})
    assert toolkit.inspect_workspace(imported).roles["industry"] != "maybe"


# --- versions, evidence ----------------------------------------------------------------------------------------


def test_no_icp_yet(imported):
    assert toolkit.list_icp_versions(imported) == []
    with pytest.raises(UserError, match="no ICP built yet"):
        toolkit.get_icp(imported)
    with pytest.raises(UserError, match="no ICP version"):
        toolkit.diff_icp_versions(imported)
    with pytest.raises(UserError, match="no ICP built yet"):
        toolkit.validate_icp(imported)


def test_get_and_list_versions(imported):
    first = _store_icp(imported, "v-old", "2026-01-01 00:00:00")
    _store_icp(imported, "v-new", "2026-02-01 00:00:00")
    versions = toolkit.list_icp_versions(imported)
    assert [v.version_id for v in versions] == ["v-old", "v-new"]
    assert (
        versions[0].created_at == "2026-01-01T00:00:00Z"
        and versions[0].dataset_fingerprint == first.dataset.fingerprint
    )
    assert toolkit.get_icp(imported).id == "v-new" and toolkit.get_icp(imported, "v-old").id == "v-old"
    with pytest.raises(UserError, match="no ICP version 'v-x'") as err:
        toolkit.get_icp(imported, "v-x")
    assert "v-old, v-new" in err.value.hint


def test_evidence_by_id_and_listing(imported):
    icp = _store_icp(imported)
    a, b = icp.evidence[0].id, icp.evidence[1].id
    got = toolkit.get_evidence(imported, [b, a, b])
    assert [i.id for i in got.items] == [b, a]  # in the order asked, each once
    assert got.items[0].statement == icp.evidence[1].statement
    with pytest.raises(UserError, match="no evidence item 'E0'"):
        toolkit.get_evidence(imported, ["E0"])
    listing = toolkit.list_evidence(imported)
    assert len(listing.items) == 12 and listing.kinds == sorted({e.kind for e in icp.evidence})
    kind = icp.evidence[0].kind
    only = toolkit.list_evidence(imported, kind=kind).items
    assert only and {i.kind for i in only} == {kind}
    assert len(only) == sum(e.kind == kind for e in icp.evidence)


def test_persona_evidence_for_a_tier_the_icp_lacks(imported):
    _store_icp(imported)
    with pytest.raises(UserError, match="no ICP 3 Tier 1") as err:
        toolkit.get_persona_evidence(imported, segment="ICP 3", tier=1)
    assert "ICP 1 Tier 1" in err.value.hint


def test_save_drafts_needs_something_to_save(imported):
    with pytest.raises(ArgumentError, match="nothing to save"):
        toolkit.save_drafts(imported)


def test_render_document_into_a_file_path(imported, tmp_path):
    _store_icp(imported)
    (tmp_path / "taken").write_text("x")
    with pytest.raises(ArgumentError, match="is a file, not a folder"):
        toolkit.render_document(imported, out_dir=tmp_path / "taken")
    assert (tmp_path / "taken").read_text() == "x"


def test_diff_needs_two_versions(imported):
    _store_icp(imported)
    with pytest.raises(UserError, match="only one ICP version"):
        toolkit.diff_icp_versions(imported)


# --- icp.json files --------------------------------------------------------------------------------------------


def test_load_icp_reads_the_stored_document():
    icp = toolkit.load_icp(ICP_FILE)
    assert icp.status == "ok" and len(icp.tiers) == 3 and len(icp.evidence) == 12


@pytest.mark.parametrize(
    "content, said",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not an icp.json object"),
        ('{"schema_version": "0.9"}', "schema_version '0.9' is not supported"),
    ],
)
def test_load_icp_refuses_bad_files(tmp_path, content, said):
    path = tmp_path / "icp.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(UserError, match=said) as err:
        toolkit.load_icp(path)
    assert err.value.file == "icp.json"


def test_load_icp_missing_file(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        toolkit.load_icp(tmp_path / "absent.json")


def test_check_icp_document_points_at_the_place():
    data = json.loads(ICP_FILE.read_text(encoding="utf-8"))
    toolkit.check_icp_document(data)  # the stored document is valid
    data["tiers"][1]["tier"] = "first"
    with pytest.raises(UserError, match="invalid at tiers/1/tier") as err:
        toolkit.check_icp_document(data, "mine.json")
    assert err.value.file == "mine.json"


def test_icp_schema_is_published_draft_2020_12():
    schema = toolkit.icp_schema()
    assert schema["$schema"].endswith("2020-12/schema") and "tiers" in schema["properties"]


# --- scoring and query -------------------------------------------------------------------------------------------


def test_check_output_path_refuses_inputs_workspace_and_imports(imported, template, tmp_path):
    source = tmp_path / "prospects.csv"
    source.write_text("a\n1\n")
    with pytest.raises(UserError, match="would replace the input file"):
        toolkit.check_output_path(source, [source])
    with pytest.raises(UserError, match="would replace the workspace file"):
        toolkit.check_output_path(imported.path, [], imported)
    with pytest.raises(UserError, match=r"imported customers export 'customers\.csv'"):
        toolkit.check_output_path(template.path.parent / "sub" / ".." / "customers.csv", [], imported)
    assert toolkit.check_output_path(tmp_path / "scored.csv", [source], imported) == (tmp_path / "scored.csv").resolve()


def test_score_prospects_without_an_icp(tmp_path):
    source = tmp_path / "p.csv"
    source.write_text("company_name\nAcme\n")
    with pytest.raises(UserError, match="no ICP to score with"):
        toolkit.score_prospects(source, tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


def test_query_workspace(imported):
    r = toolkit.query_workspace(imported, "SELECT company_name FROM customers ORDER BY company_name", max_rows=2)
    assert r.rows == [["Acme"], ["Bolt"]] and r.truncated
    with pytest.raises(ArgumentError, match="max_rows"):
        toolkit.query_workspace(imported, "SELECT 1", max_rows=0)


# --- criteria a seller cannot apply to prospects -----------------------------------------------------------------


def _with_customer_only_fields() -> IcpDocument:
    """The stored ICP (firmographic criteria only), its second tier on a billing plan and its second avoid rule
    on seats as well: fields a customer has, a prospect list does not."""
    from icp_agent.icp_document import Criterion

    icp = IcpDocument.model_validate_json(_stored_icp_json())
    plan = Criterion(field="billing_plan", op="eq", value="Yearly", kind="category", label="billing_plan = Yearly")
    seats = Criterion(field="seats", op="lte", max=5.0, max_exclusive=True, kind="number", label="seats < 5")
    icp.tiers[1].criteria = [plan]
    icp.negative_icp[1].criteria = [*icp.negative_icp[1].criteria, seats]
    icp.warnings = []
    return icp


def test_a_tier_on_fields_prospect_lists_lack_is_named_when_built():
    from types import SimpleNamespace

    icp = IcpDocument.model_validate_json(_stored_icp_json())
    icp.warnings = []
    toolkit._flag_unobservable(icp, SimpleNamespace(schema=None))
    assert icp.warnings == []  # industry, employees, technologies, revenue: on every prospect list
    icp = _with_customer_only_fields()
    toolkit._flag_unobservable(icp, SimpleNamespace(schema=None))
    tier, rule = icp.warnings
    assert tier.startswith(f"{icp.tiers[1].name!r} cannot rank prospects: it uses billing_plan (prospect lists")
    assert "set-field-roles billing_plan=post_sale" in tier
    assert rule.startswith("avoid rule 'employees 1-50 AND technologies contains Wix AND seats < 5' cannot rank")
    assert "it uses seats (" in rule


def test_with_a_prospect_list_its_own_columns_decide():
    from types import SimpleNamespace

    icp = _with_customer_only_fields()
    columns = {"industry", "employees", "technologies", "annual_revenue", "seats"}  # a list that has seats
    schema = SimpleNamespace(
        sources={"prospects": columns}, not_in_prospects=lambda fields: sorted(set(fields) - columns)
    )
    toolkit._flag_unobservable(icp, SimpleNamespace(schema=schema))
    field, tier = icp.warnings
    assert field.startswith("billing_plan: not observable in the prospect list")
    assert tier.startswith(f"{icp.tiers[1].name!r} cannot rank prospects: it uses billing_plan (the prospect list")


def test_the_backtest_runs_ahead_on_a_second_connection_only_for_imported_customers(imported):
    # build_icp starts the backtest's analysis of the older customers beside its own (_backtest_ahead): on the
    # imported customers' table, which a second connection reads; not on a table of the build's own transaction
    # (customers rolled up with their subscriptions), which only the build's connection sees
    from dataclasses import replace

    from icp_agent.options import AnalysisOptions

    options = toolkit._resolve_columns(imported, AnalysisOptions())
    with imported.scratch() as con:
        inputs = toolkit._analysis_inputs(imported, con, options)
        with toolkit._backtest_ahead(imported, con, inputs, options.config(), "icp-t") as older:
            assert older is not None
            ran = older()
        # a year before the newest start date (2023-01-05): only Crane (2021-03-15) is older, too few to analyse
        assert str(ran.cutoff) == "2022-01-05" and ran.icp is None and ran.reason
        con.execute(f"CREATE TEMP TABLE rolled AS FROM {inputs.customers}")
        with toolkit._backtest_ahead(imported, con, replace(inputs, customers="rolled"), options.config(), "t") as none:
            assert none is None


# --- the build's outputs --------------------------------------------------------------------------------------------


def _score_once(ws, con, doc, frame, scratch):
    """(the frame's stored scores, the customers scored for the CRM files), as write_icp_outputs gets them: the
    second is asked for once the matrix has started (toolkit._scored_customers)."""
    scores = toolkit._score_frame_once(con, doc, frame, scratch)
    return scores, (toolkit._scored_customers(ws, con, doc, frame, scores) if scores else None)


def test_the_frame_is_scored_once_for_the_matrix_and_the_customers_crm_rows(imported):
    """write_icp_outputs scores the build's frame once: the matrix reads the stored scores, and so do the CRM files
    for the customers when the frame holds exactly the current customers' rows (same rows, keys and ICP fields, in
    the same order); any difference (a row's field, a deal-level frame, no ICP) and the CRM files score the
    customers' table themselves."""
    from icp_agent.scorecard.scoring import SCORE_COLUMNS, scored_relation
    from minimal_icp import icp, tier

    software = {"field": "industry", "op": "eq", "value": "Software", "kind": "category"}
    doc = icp([tier(1, [software])], id="icp-sh")
    with imported.connect() as con:
        customers = imported.current_table(con, "customers")
        con.execute(f"CREATE TABLE frame_icp_sh AS SELECT *, _row % 2 = 0 AS good FROM {customers} ORDER BY _row")
        with toolkit._scratch(con) as scratch:
            scores, shared = _score_once(imported, con, doc, "frame_icp_sh", scratch)
            assert scores == f"{scratch}.scores" and shared is not None
            relation, columns = shared
            assert "good" in columns and "industry" in columns
            names = ", ".join(SCORE_COLUMNS)
            expected = con.execute(
                f"SELECT company_id, {names} FROM {scored_relation(doc, customers, columns - {'good'})} ORDER BY 1"
            ).fetchall()
            assert con.execute(f"SELECT company_id, {names} FROM {relation} ORDER BY 1").fetchall() == expected
            assert [r[:2] for r in expected] == [("c1", 1), ("c2", None), ("c3", 1)]
            none = doc.model_copy(update={"tiers": [], "status": "no_significant_icp"})
            assert _score_once(imported, con, none, "frame_icp_sh", scratch)[1] is None
        for change, other in (
            ("UPDATE frame_icp_sh SET industry = 'Retail' WHERE company_id = 'c3'", doc),
            ("SELECT 1", doc.model_copy(update={"health": doc.health.model_copy(update={"entity": "deal"})})),
            ("DELETE FROM frame_icp_sh WHERE company_id = 'c2'", doc),
        ):
            con.execute(change)
            with toolkit._scratch(con) as scratch:
                scores, shared = _score_once(imported, con, other, "frame_icp_sh", scratch)
                assert scores == f"{scratch}.scores" and shared is None, change
        with toolkit._scratch(con) as scratch:
            assert _score_once(imported, con, doc, "frame_icp_gone", scratch) == (None, None)


def test_the_analysis_modules_leave_scipy_stats_to_the_thread_that_loads_it_ahead():
    """Importing the build's modules does not load scipy.stats (0.3-0.4 s): build_icp loads it on a thread of its
    own while the health score's SQL runs (toolkit._import_ahead), and each statistic imports it where it is used."""
    import subprocess
    import sys

    code = (
        "import sys, icp_agent.faces.cli, icp_agent.toolkit, icp_agent.tiers.analyse, icp_agent.validation.backtest\n"
        "print('scipy.stats' in sys.modules)\n"
        "thread = icp_agent.toolkit._import_ahead('scipy.stats')\n"
        "thread.join()\n"
        "print('scipy.stats' in sys.modules, icp_agent.toolkit._import_ahead('scipy.stats'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "True", "None"]


def test_the_cyclic_collector_is_paused_while_any_build_runs_and_restored_after():
    """_cyclic_gc_paused: off from the first block's start to the last one's end, in any thread, then as it was."""
    import gc
    import threading

    assert gc.isenabled()
    inner_in, inner_out = threading.Event(), threading.Event()

    def other_build():
        with toolkit._cyclic_gc_paused():
            inner_in.set()
            inner_out.wait(5)

    with toolkit._cyclic_gc_paused():
        assert not gc.isenabled()
        thread = threading.Thread(target=other_build)
        thread.start()
        inner_in.wait(5)
    assert not gc.isenabled()  # the other thread's block still runs
    inner_out.set()
    thread.join()
    assert gc.isenabled()
    gc.disable()  # a caller that had it off keeps it off
    try:
        with toolkit._cyclic_gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_build_icp_runs_with_the_cyclic_collector_paused(imported):
    import gc
    from contextlib import suppress

    from icp_agent.options import AnalysisOptions

    seen = []
    with suppress(UserError):  # too few customers to analyse: the steps before it ran
        toolkit.build_icp(imported, AnalysisOptions(), lambda *args, **kwargs: seen.append(gc.isenabled()))
    assert seen and not any(seen)
    assert gc.isenabled()
