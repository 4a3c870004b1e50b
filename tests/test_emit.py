"""Unit tests of scorecard/emit.py: a scorecard as DuckDB expressions (points, fit, band, reasons, flags)."""

from __future__ import annotations

import duckdb
import pytest

from icp_agent.errors import UserError
from icp_agent.scorecard.emit import score_frame, scorecard_select_sql
from icp_agent.scorecard.scale import FIT_A, FIT_B, fit_value


def _bin(field, label, points, **when):
    return {"when": {"field": field, **when}, "label": label, "points": points}


def _missing(field, points):
    return {
        "when": {"field": field, "op": "is_missing"},
        "label": f"{field} missing",
        "missing": True,
        "points": points,
    }


CARD = {
    "status": "ok",
    "field_kinds": {"industry": "category", "employees": "band", "tools": "list"},
    "scaling": {"pdo": 20},
    "intercept_points": 600,
    "fit_score": {"a": FIT_A, "b": FIT_B, "points_at_average_odds": 600, "average_odds": 0.5},
    "features": [
        {
            "name": "industry",
            "field": "industry",
            "kind": "category",
            "bins": [
                _bin("industry", "industry Software", 20, op="in", values=["Software"]),
                _bin("industry", "industry Media, Retail", -10, op="in", values=["Media", "Retail"]),
                _missing("industry", -5),
            ],
        },
        {
            "name": "employees",
            "field": "employees",
            "kind": "band",
            "bins": [
                _bin("employees", "employees up to 49", -8, op="lte", max=50, max_exclusive=True, on="midpoint"),
                _bin("employees", "employees 50+", 12, op="gte", min=50, on="midpoint"),
                _missing("employees", 0),
            ],
        },
        {
            "name": "tools: crm",
            "field": "tools",
            "kind": "list",
            "element": "crm",
            "bins": [
                _bin("tools", "tools contains crm", 6, op="contains", value="crm"),
                _bin("tools", "tools without crm", -2, op="not_contains", value="crm"),
                _missing("tools", -1),
            ],
        },
    ],
}
NEGATIVE = [{"criteria": [{"field": "industry", "op": "eq", "value": "Media", "label": "industry = Media"}]}]


@pytest.fixture
def con():
    c = duckdb.connect()
    c.execute("""CREATE TABLE p AS SELECT * FROM (VALUES
        (1, 'Software', 51.0, 200.0, ['CRM']),
        (2, 'Zoology', NULL, NULL, NULL),
        (3, 'MEDIA', 10.0, 20.0, ['erp'])
    ) t(id, industry, employees_min, employees_max, tools)""")
    yield c
    c.close()


def _scored(con, relation="p", negative=None):
    rel = score_frame(con, CARD, f"(SELECT * FROM {relation} ORDER BY id)", negative)
    return [dict(zip(rel.columns, row)) for row in rel.fetchall()]


def test_points_fit_band_and_grade(con):
    rows = _scored(con)
    # 1: 600 + 20 (Software) + 12 (midpoint 125.5) + 6 (crm, keyed case-insensitively) = 638
    # 2: unseen industry 0, employees missing 0, tools missing -1 = 599
    # 3: 'MEDIA' is Media's key -10, midpoint 15 -8, without crm -2 = 580
    assert [r["icp_points"] for r in rows] == [638, 599, 580]
    assert [r["icp_fit_score"] for r in rows] == [fit_value(CARD, p) for p in (638, 599, 580)]
    assert [r["icp_priority"] for r in rows] == ["high", "low", "low"]
    assert [r["icp_grade"] for r in rows] == ["A", "D", "D"]


def test_reasons_unseen_and_missing(con):
    rows = _scored(con)
    # the top three by absolute points; a category shows the record's value in the scorecard's spelling
    assert rows[0]["icp_reasons"] == "industry Software (+20); employees 50+ (+12); tools contains crm (+6)"
    assert rows[2]["icp_reasons"] == "industry Media (-10); employees up to 49 (-8); tools without crm (-2)"
    # zero-point reasons are left out
    assert rows[1]["icp_reasons"] == "tools missing (-1)"
    assert [r["icp_unseen"] for r in rows] == [None, ["industry"], None]
    assert [r["icp_missing_fields"] for r in rows] == [None, ["employees", "tools"], None]


def test_an_absent_column_scores_zero_and_is_listed(con):
    con.execute("CREATE TABLE q AS SELECT id, industry FROM p")
    rows = _scored(con, "q")
    # no employees or tools columns: 0 points each (not their missing bins) and both listed
    assert [r["icp_points"] for r in rows] == [620, 600, 590]
    assert all(r["icp_missing_fields"] == ["employees", "tools"] for r in rows)


def test_negative_icp_flags_without_changing_the_score(con):
    rows = _scored(con, negative=NEGATIVE)
    assert [(r["icp_disqualified"], r["icp_disqualifier"]) for r in rows] == [
        (False, None),
        (False, None),
        (True, "industry = Media"),
    ]
    assert rows[2]["icp_points"] == 580
    names = [name for name, _ in scorecard_select_sql(CARD)]
    assert names[-2:] == ["icp_disqualified", "icp_disqualifier"]


def test_a_card_that_is_not_ok_cannot_score():
    with pytest.raises(UserError, match="cannot score records: 3 good and 2 not-good"):
        scorecard_select_sql({"status": "insufficient_data", "reason": "3 good and 2 not-good"})


def test_reasons_name_a_field_as_the_document_does(con):
    """fit_reasons write a field's stored name in the document's words (scorecard.labels.field_label): a
    custom field "lead_source" reads "lead source Referral (+5)", a missing list "tech stack missing (-1)"."""
    import json

    from icp_agent.scorecard.labels import readable_bin_labels

    card = json.loads(json.dumps(CARD).replace('"industry', '"lead_source').replace('"tools', '"tech_stack'))
    readable_bin_labels(card, set())  # as the build writes the bins' labels
    con.execute(
        "CREATE TABLE r AS SELECT id, industry AS lead_source, employees_min, employees_max, tools AS tech_stack FROM p"
    )
    rel = score_frame(con, card, "(SELECT * FROM r ORDER BY id)", None)
    reasons = [row[rel.columns.index("icp_reasons")] for row in rel.fetchall()]
    assert reasons[0] == "lead source Software (+20); employees 50+ (+12); tech stack contains crm (+6)"
    assert reasons[1] == "tech stack missing (-1)"
