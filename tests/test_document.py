"""render/document.py: the context both documents are built from (generic blocks, currencies, the scorecard
table, validation targets, calibration, near-duplicate traits, the headline badge) and the two renderings of a
small ICP. Number wording belongs to icp_agent.numbers: figures are compared through it, not as literals."""

from __future__ import annotations

import math

import duckdb
import pytest

from icp_agent import numbers
from icp_agent.evidence import EvidenceItem
from icp_agent.icp_document import Criterion, PatternStat, Scorecard, Validation
from icp_agent.ingest.currencies import currencies_of, currency_symbols
from icp_agent.models import ImportReport, WorkspaceSummary
from icp_agent.render.document import (
    Block,
    Cell,
    _badge,
    _bounds,
    _implies,
    _ratio_interval,
    _relabel,
    blocks,
    calibration_problems,
    collapse_patterns,
    context,
    evidence_ids,
    pattern_overlaps,
    render_html,
    render_markdown,
    scorecard_bands,
    scorecard_rows,
    validation_targets,
)
from icp_agent.render.templating import SYMBOLS
from minimal_icp import icp, tier


def crit(field: str, op: str, **kw) -> Criterion:
    return Criterion(field=field, op=op, label=f"{field} {op} {kw}", **kw)


def pattern(evidence: str, criteria: list[Criterion], n: int, lift: float, direction: str = "good") -> PatternStat:
    return PatternStat(direction=direction, label=evidence, criteria=criteria, n=n, k=n // 2, rate=0.5,
                       base_rate=0.2, lift=lift, wracc=0.1, ci_low=0.3, ci_high=0.7, p_value=0.01, q_value=0.01,
                       evidence=evidence)  # fmt: skip


def test_evidence_ids_by_shape():
    assert evidence_ids("E3f9a2c1d") == ["E3f9a2c1d"]
    assert evidence_ids(["E3f9a2c1d", "E00000000"]) == ["E3f9a2c1d", "E00000000"]
    assert evidence_ids(["E3f9a2c1d", "not an id"]) == []  # all or nothing
    assert evidence_ids("Eshort") == [] and evidence_ids([]) == [] and evidence_ids(3) == []


def test_blocks_pairs_tables_and_money_under_its_key():
    made = blocks({"status": "ok", "evidence": "E3f9a2c1d", "cac": {"icp": {"n": 4, "mean": 600.0},
                   "non_icp": {"n": 5, "mean": 1000.0}}, "rows": [{"a": 1}, {"a": 2, "b": "x"}]})  # fmt: skip
    assert [(b.kind, b.title) for b in made] == [("pairs", ""), ("heading", "CAC"), ("table", ""), ("table", "rows")]
    assert [c.text for c in made[0].rows[0]] == ["status", "ok"] and made[0].rows[1][1].cites == ["E3f9a2c1d"]
    cac = made[2]
    assert cac.columns == ["", "n", "mean"]
    # sibling dicts of the same figures are one table; under "cac" a mean is an amount in cac's currency
    assert [c.text for c in cac.rows[1]] == ["non ICP", numbers.count(5), numbers.money(1000.0)]
    assert cac.numeric(1) and cac.numeric(2) and not cac.numeric(0)
    assert made[3].columns == ["a", "b"] and [c.text for c in made[3].rows[0]] == [numbers.count(1), "—"]


def test_block_numeric_ignores_empty_cells():
    block = Block("table", rows=[[Cell("—")], [Cell("3", numeric=True)], [Cell("", numeric=False)]])
    assert block.numeric(0)
    assert not Block("table", rows=[[Cell("—")]]).numeric(0)


def report(kind: str, field: str, currencies: dict[str, int]) -> ImportReport:
    return ImportReport.model_validate({
        "import_id": kind, "kind": kind, "file_name": "f", "path": "f", "sha256": "0", "format": "csv",
        "rows_read": 1, "rows_kept": 1, "rows_rejected": 0, "duplicates_dropped": 0,
        "imported_at": "2026-01-01T00:00:00Z",
        "columns": [{"header": field, "field": field, "canonical": True, "role": "outcome", "type": "money",
                     "pct_missing": 0, "currencies": currencies}]})  # fmt: skip


def test_currencies_of_and_their_symbols():
    summary = WorkspaceSummary(workspace="w", schema_version=1, current={
        "customers": report("customers", "arr", {"EUR": 90, "USD": 10}),
        "deals": report("deals", "amount", {"EUR": 5})})  # fmt: skip
    assert currencies_of(summary.current) == {
        "arr": "EUR",
        "amount": "EUR",
        "": "EUR",
    }  # the most frequent; one for all
    mixed = WorkspaceSummary(workspace="w", schema_version=1, current={
        "customers": report("customers", "arr", {"EUR": 1}), "deals": report("deals", "amount", {"GBP": 1})})  # fmt: skip
    assert currencies_of(mixed.current) == {"arr": "EUR", "amount": "GBP"}  # no dataset currency
    assert currency_symbols({"arr": "EUR", "amount": "GBP", "x": "USD", "y": "CHF"}) == {
        "arr": "€", "amount": "£", "x": "$", "y": "CHF "}  # fmt: skip
    assert currency_symbols(None) == {}


def test_relabel_writes_money_criteria_in_their_currency():
    arr = Criterion(field="arr", op="gte", min=50000, kind="number", label="arr $50k+")
    doc = icp([tier(1, [])])
    doc.statement = "ICP: arr $50k+ and more"
    doc.tiers[0].criteria = [arr]
    doc.evidence = [EvidenceItem(id="E1", kind="pattern", statement="arr $50k+: 40 of 50 customers are good.")]
    out = _relabel(doc, {"arr": "€"})
    assert out.tiers[0].criteria[0].label == "arr €50k+" and out.statement == "ICP: arr €50k+ and more"
    assert out.evidence[0].statement == "arr €50k+: 40 of 50 customers are good."  # the appendix says it too
    assert _relabel(doc, {"arr": "$"}) is doc and _relabel(doc, {}) is doc


def card(**data) -> Scorecard:
    return Scorecard.model_validate(data)


def test_scorecard_rows_and_bands():
    sc = card(
        field_kinds={"arr": "number"},
        features=[{"name": "arr", "field": "arr", "kind": "number", "bins": [
            {"label": "arr $1M-$5M", "n": 40, "n_good": 10, "points": 12},
            {"label": "arr missing", "n": 0, "n_good": 0, "points": 0},
            {"label": "arr up to $1M", "n": 10, "n_good": 1, "points": -5, "neutral": "too few"}]}],
        bands=[{"priority": "high", "min_score": 70, "share": 0.25, "good_rate": 0.5, "holdout_good_rate": 0.4, "n": 3}],
    )  # fmt: skip
    token = SYMBOLS.set({"arr": "€"})
    try:
        (row,) = scorecard_rows(sc)
    finally:
        SYMBOLS.reset(token)
    # the empty bin is left out; the attribute's name is taken off each band; amounts in arr's currency
    assert [(b["band"], b["points"], b["n"]) for b in row["bands"]] == [("€1M-€5M", 12, 40), ("up to €1M", -5, 10)]
    assert row["bands"][0]["good_rate"] == 0.25
    assert row["bands"][1]["note"] == "too few rows to score: counted as average"
    assert scorecard_bands(sc) == [
        {"priority": "high", "min_score": 70, "share": 0.25, "good_rate": 0.5, "holdout_good_rate": 0.4, "n": 3}]  # fmt: skip
    assert scorecard_rows(card(features=[{"name": "x", "bins": [{"label": "x a", "n": 0}]}])) == []


def test_ratio_interval_of_two_intervals():
    figures = Validation.model_validate({"unit_economics": {"comparisons": {"nrr": {
        "icp": {"ci_low": 1.2, "ci_high": 1.5}, "non_icp": {"ci_low": 0.9, "ci_high": 1.0}}}}})  # fmt: skip
    comparison = figures.unit_economics.comparisons["nrr"]
    assert _ratio_interval(comparison) == pytest.approx((1.2 / 1.0, 1.5 / 0.9))
    comparison["non_icp"].ci_low = 0  # a zero bound: no interval
    assert _ratio_interval(comparison) == (None, None)
    assert _ratio_interval(None) == (None, None)


def test_validation_targets_scope_and_goal():
    validation = Validation.model_validate({"unit_economics": {"targets": [
        {"metric": "cac", "target": "CAC lower", "status": "met", "ratio": 0.6, "evidence": "E3f9a2c1d"},
        {"metric": "churn_speed", "status": None}]}})  # fmt: skip
    first, second = validation_targets(validation, ["ICP 1", "ICP 2"])
    assert first["scope"] == "Tier 1 of ICP 1 and ICP 2 together"
    assert (first["label"], first["goal"], first["better"], first["evidence"]) == ("CAC", 0.7, "lower", ["E3f9a2c1d"])
    assert (second["label"], second["status"], second["goal"]) == ("churn speed", "not measurable", None)
    assert validation_targets(validation, ["ICP 1"])[0]["scope"] == "ICP 1 Tier 1"
    assert validation_targets(validation, [])[0]["scope"] == "ICP Tier 1"


def test_calibration_problems_outside_the_wilson_interval():
    deciles = [{"decile": 1, "n": 100, "n_good": 50, "predicted": 0.52},  # inside 40-60%
               {"decile": 2, "n": 100, "n_good": 10, "predicted": 0.30},  # over
               {"decile": 3, "n": 100, "n_good": 0, "predicted": 0.02},  # 0 of 100 allows up to 3.7%
               {"decile": 4, "n": 0, "n_good": 0, "predicted": 0.5}]  # fmt: skip
    (problem,) = calibration_problems(card(evaluation={"deciles": deciles}))
    assert (problem["decile"], problem["observed"], problem["ratio"]) == (2, 0.1, pytest.approx(3.0))
    assert problem["low"] < 0.1 < problem["high"] < 0.3
    assert calibration_problems(card()) == []


def test_implies_and_bounds():
    assert _implies(crit("a", "eq", value="x"), crit("a", "in", values=["x", "y"]))
    assert not _implies(crit("a", "in", values=["x", "y"]), crit("a", "eq", value="x"))
    assert _implies(crit("n", "between", min=10, max=20), crit("n", "gte", min=5))
    assert not _implies(crit("n", "gte", min=5), crit("n", "between", min=10, max=20))
    assert not _implies(crit("a", "eq", value="x"), crit("b", "eq", value="x"))
    assert _bounds(crit("n", "lte", max=3)) == (-math.inf, 3) and _bounds(crit("n", "eq", value=3)) is None


def test_collapse_patterns_folds_nested_near_duplicates():
    broad = pattern("Ebroad", [crit("a", "in", values=["x", "y"])], n=100, lift=2.0)
    narrow = pattern("Enarrow", [crit("a", "eq", value="x")], n=90, lift=2.5)  # inside broad; broad is 90% in it
    other = pattern("Eother", [crit("b", "eq", value="z")], n=50, lift=1.5)
    folded = collapse_patterns([broad, narrow, other])
    assert [(p.evidence, [c.evidence for c in under]) for p, under in folded] == [
        ("Enarrow", ["Ebroad"]), ("Eother", [])]  # fmt: skip
    # measured overlaps decide over the criteria
    assert [p.evidence for p, _ in collapse_patterns([broad, narrow], {frozenset(("Ebroad", "Enarrow")): 50})] == [
        "Ebroad", "Enarrow"]  # fmt: skip
    bad = pattern("Ebad", [crit("a", "eq", value="x")], n=90, lift=3.0, direction="bad")
    assert len(collapse_patterns([broad, bad])) == 2  # another direction never folds


def test_pattern_overlaps_counts_shared_rows_in_the_frame():
    con = duckdb.connect()
    con.execute("CREATE TABLE frame_icp_test AS SELECT i AS n, i % 2 = 0 AS even FROM range(10) t(i)")
    doc = icp(patterns=[pattern("E1", [crit("n", "gte", min=5, kind="number")], 5, 2.0),
                        pattern("E2", [crit("even", "eq", value=True, kind="bool")], 5, 1.5),
                        pattern("E3", [crit("n", "lte", max=1, kind="number")], 2, 1.1, direction="bad")])  # fmt: skip
    assert pattern_overlaps(con, doc) == {frozenset(("E1", "E2")): 2}  # 6 and 8
    gone = icp(id="icp-gone", patterns=doc.patterns)
    assert pattern_overlaps(con, gone) == {}  # no frame: the document falls back to nesting criteria


def test_badge_says_how_validation_went():
    assert _badge(icp(), []) == "No significant ICP"
    ok = icp([tier(1, [])])
    assert _badge(ok, []) == "ICP found · not validated"
    assert _badge(ok, [{"status": "not measurable"}]) == "ICP found · no target measurable"
    assert _badge(ok, [{"status": "met"}, {"status": "not met"}, {"status": "not measurable"}]) == (
        "ICP found · 1 of 2 measurable targets met"
    )


def test_context_and_both_renderings_of_a_small_icp():
    t1 = tier(1, [{"field": "industry", "op": "eq", "value": "Software", "kind": "category"}], n=40, churn_rate=0.1)
    t1.evidence = ["E3f9a2c1d"]
    item = EvidenceItem(id="E3f9a2c1d", kind="tier", statement="ICP 1 Tier 1: 40 customers.", query="SELECT 1")
    validation = Validation.model_validate({"unit_economics": {"targets": [
        {"metric": "win_rate", "target": "Tier 1 win rate at least 2x", "status": "not met", "ratio": 1.5}]}})  # fmt: skip
    doc = icp([t1], evidence=[item], validation=validation, warnings=["w1", "w1"])
    ctx = context(doc)
    assert ctx["badge"] == "ICP found · 0 of 1 measurable targets met" and ctx["badge_ok"] is False
    assert ctx["warnings"][0] == "w1" and ctx["warnings"].count("w1") == 1  # once
    assert ctx["warnings"][1].startswith("Validation target not met (ICP 1 Tier 1): Tier 1 win rate at least 2x")
    assert ctx["glance"] == [("churn_rate", "churn")]  # only the outcomes some tier has
    markdown = render_markdown(doc)
    assert "E3f9a2c1d" in markdown and "SELECT 1" in markdown and "industry = Software" in markdown
    html = render_html(doc)
    assert html.lstrip().lower().startswith("<!doctype html>") and 'id="chart-tiers"' in html
    assert "<script" not in html.lower()
    none = render_markdown(icp(no_icp_reason="No significant ICP in this data: too few rows."))
    assert "Too few rows." in none


def test_document_inputs_of_a_fresh_workspace(tmp_path):
    from icp_agent.render.document import document_inputs
    from icp_agent.workspace import Workspace

    assert document_inputs(Workspace(tmp_path / "ws.duckdb"), icp()) == {"currencies": {}, "overlaps": {}}
    # shared rows counted already (the build counts them beside its CRM files) are taken as given, not counted again
    counted = {frozenset({"E1", "E2"}): 40}
    assert document_inputs(Workspace(tmp_path / "ws.duckdb"), icp(), counted) == {
        "currencies": {},
        "overlaps": counted,
    }


def test_scorecard_internals_for_the_appendix():
    from icp_agent.render.document import scorecard_internals

    sc = card(status="ok", scaling={"pdo": 20, "base_points": 600}, field_kinds={"arr": "number"},
              features=[{"name": "arr", "field": "arr", "kind": "number", "iv": 0.3, "coefficient": 0.7, "bins": [
                  {"label": "arr $1M-$5M", "n": 40, "n_good": 10, "woe": 0.4, "points": 12},
                  {"label": "arr other", "n": 5, "n_good": 1, "woe": -0.1, "points": -1, "other": True,
                   "when": {"field": "arr", "op": "in", "values": ["a", "b"]}}]}])  # fmt: skip
    made = scorecard_internals(sc)
    attributes, bins = made[-2], made[-1]
    assert [c.text for c in attributes.rows[0][:2]] == ["arr", "number"]
    assert [r[1].text for r in bins.rows] == ["arr $1M-$5M", "arr other (covers a, b)"]
    assert [b.title for b in made if b.kind == "heading"] == ["scaling"]  # the rest key by key



def _pairs_counted_one_by_one(con, table: str, patterns) -> dict:
    """Each pair of same-direction patterns' rows in common, counted by a statement of its own over `table`."""
    from icp_agent.tiers.criteria import criteria_sql

    def both(p, q):
        return con.execute(
            f"SELECT count(*) FROM {table} WHERE ({criteria_sql(p.criteria)}) AND ({criteria_sql(q.criteria)})"
        ).fetchone()[0]

    return {
        frozenset((p.evidence, q.evidence)): both(p, q)
        for i, p in enumerate(patterns)
        for q in patterns[i + 1 :]
        if p.direction == q.direction
    }


def test_pattern_overlaps_equal_each_pairs_own_count():
    """Grouping the rows by the patterns they match gives, for every pair, the count of rows matching both that the
    pair's own query gives: NULLs, lists, several directions and a pattern in no pair included."""
    con = duckdb.connect()
    con.execute(
        """CREATE TABLE frame_icp_pairs AS SELECT i AS n, CASE WHEN i % 7 = 0 THEN NULL ELSE i % 3 END AS m,
                  CASE i % 4 WHEN 0 THEN ['HubSpot', 'Slack'] WHEN 1 THEN ['hubspot'] WHEN 2 THEN [] END AS tech
           FROM range(200) t(i)"""
    )
    patterns = [
        pattern("G1", [crit("n", "gte", min=50, kind="number")], 150, 2.0),
        pattern("G2", [crit("tech", "contains", value="HubSpot", kind="list")], 100, 1.9),
        pattern("G3", [crit("m", "eq", value=1, kind="number"), crit("n", "lte", max=120, kind="number")], 40, 1.8),
        pattern("B1", [crit("tech", "is_missing", kind="list")], 100, 1.5, direction="bad"),
        pattern("B2", [crit("m", "is_missing", kind="number")], 29, 1.4, direction="bad"),
        pattern("B3", [crit("n", "lte", max=9, kind="number")], 10, 1.3, direction="bad"),
    ]
    doc = icp(id="icp-pairs", patterns=patterns)
    expected = _pairs_counted_one_by_one(con, "frame_icp_pairs", patterns)
    assert len(expected) == 6 and expected[frozenset(("G1", "G2"))] == 74  # n >= 50 with HubSpot in any spelling
    assert expected[frozenset(("B1", "B2"))] == 14  # an empty or no list (i % 4 in 2, 3) and no m (i % 7 = 0)
    assert pattern_overlaps(con, doc) == expected


def test_pattern_overlaps_over_band_and_category_fields_equal_each_pairs_own_count():
    """The criteria are evaluated per distinct combination of the columns they read: a band reads its bounds (its
    own column is never read), a category its spellings (compared by key), and rows alike count once each."""
    con = duckdb.connect()
    con.execute(
        """CREATE TABLE frame_icp_bands AS SELECT i AS _row, 'ignored ' || i AS note,
                  [10.0, 51, 201, NULL][i % 4 + 1] AS size_min, [50.0, 200, 500, NULL][i % 4 + 1] AS size_max,
                  ['Computer Software', 'computer_software', 'Retail', NULL][i % 5 % 4 + 1] AS industry
           FROM range(300) t(i)"""
    )
    patterns = [
        pattern("G1", [crit("size", "between", min=51, max=200, kind="band")], 75, 2.0),
        pattern("G2", [crit("industry", "eq", value="Computer Software", kind="category")], 120, 1.9),
        pattern("G3", [crit("size", "gte", min=51, kind="band"), crit("industry", "eq", value="Retail")], 30, 1.8),
        pattern("B1", [crit("size", "is_missing", kind="band")], 75, 1.5, direction="bad"),
        pattern("B2", [crit("industry", "is_missing", kind="category")], 60, 1.4, direction="bad"),
    ]
    doc = icp(id="icp-bands", patterns=patterns)
    expected = _pairs_counted_one_by_one(con, "frame_icp_bands", patterns)
    assert expected[frozenset(("G1", "G2"))] == 45  # i % 4 = 1 and i % 5 in (0, 1, 4): 3 of every 20 rows
    assert expected[frozenset(("B1", "B2"))] == 15  # i % 4 = 3 and i % 5 = 3: 1 of every 20 rows
    assert pattern_overlaps(con, doc) == expected


def test_a_score_that_does_not_separate_is_said_plainly_in_both_documents():
    t1 = tier(1, [{"field": "industry", "op": "eq", "value": "Software", "kind": "category"}], n=40)
    statement = "the fit score does not separate good from not-good customers on held-out data (holdout AUC 0.61)"
    features = [{"name": "industry", "field": "industry", "kind": "category", "bins": [
        {"label": "industry Software", "n": 40, "n_good": 10, "points": 12}]}]  # fmt: skip
    doc = icp([t1])
    doc.scorecard = card(status="ok", features=features, separates=False, warnings=[statement, "other"])
    assert context(doc)["scorecard_untrusted"] == statement
    assert f"**Do not rank by this score:** {statement}." in render_markdown(doc)
    assert f"<strong>Do not rank by this score:</strong> {statement}." in render_html(doc)
    doc.scorecard = card(status="ok", features=features, separates=True, warnings=["other"])
    assert context(doc)["scorecard_untrusted"] is None and "Do not rank" not in render_markdown(doc)
