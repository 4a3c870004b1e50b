"""render/matrix.py: scoring_matrix.csv, every entity of a version with its fields, health, cohort and the score
columns of the one scoring path. A fresh workspace with a small frame table written in SQL."""

from __future__ import annotations

import csv

import duckdb
import pytest

from icp_agent.icp_document import Disqualifier
from icp_agent.render.matrix import _fit_columns, _matrix_column, export_scoring_matrix
from icp_agent.workspace import Workspace
from minimal_icp import icp, tier

SOFTWARE = {"field": "industry", "op": "eq", "value": "Software", "kind": "category"}
SMALL = {"field": "employees", "op": "lte", "max": 50, "kind": "band", "label": "employees <= 50"}


@pytest.fixture
def ws(tmp_path):
    ws = Workspace(tmp_path / "ws.duckdb")
    with ws.transaction() as con:
        con.execute(
            """CREATE TABLE frame_icp_mx AS SELECT * FROM (VALUES
            (2, 'c2', 'Retail', 'as typed', 10.0, 50.0, 30.5, 'bottom', FALSE, TRUE, 7.0, 1.25, 'secret'),
            (1, 'c1', 'Software', '51 to 200', 51.0, 200.0, 90.0, 'top', TRUE, FALSE, 9.0, 1.5, 'secret'),
            (3, 'c3', NULL, '10k+', 10001.0, NULL, NULL, NULL, FALSE, FALSE, NULL, NULL, 'secret')
            ) t(_row, company_id, industry, employees, employees_min, employees_max, health, cohort, good, bad, arr, nrr_raw,
                notes)"""
        )
    return ws


def doc():
    return icp(
        [tier(1, [SOFTWARE])],
        id="icp-mx",
        negative_icp=[Disqualifier(criteria=[SMALL], reason="small")],
    )


def test_export_scoring_matrix(ws, tmp_path):
    path = tmp_path / "scoring_matrix.csv"
    assert export_scoring_matrix(ws, doc(), path) == 3
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["company_id"] for r in rows] == ["c1", "c2", "c3"]  # in _row order
    header = list(rows[0])
    # the kept columns in frame order, then the score columns; notes and arr are not ICP fields
    assert header[:9] == [
        "company_id", "industry", "employees", "employees_min", "employees_max", "health", "cohort", "good", "bad"]  # fmt: skip
    assert "notes" not in header and "arr" not in header
    assert "nrr_raw" in header and "icp_tier" in header and "fit_score" in header
    # a band shows its range from its bounds, not as typed; an open-ended one its floor and a plus
    assert [r["employees"] for r in rows] == ["51-200", "10-50", "10001+"]
    assert [r["employees_min"] for r in rows] == ["51", "10", "10001"]  # whole numbers written as integers
    assert [r["priority"] for r in rows] == ["high", "low", "low"]
    assert [r["icp_tier"] for r in rows] == ["1", "", ""]
    assert rows[1]["disqualified_by"] == "employees <= 50"
    assert [r["health"] for r in rows] == ["90.0", "30.5", ""]


def test_matrix_column():
    con = duckdb.connect()
    con.execute(
        """CREATE TABLE f AS SELECT * FROM (VALUES
        (1.0, 10.0, 10.0, 2.0, 1.5), (NULL, 5.0, NULL, 3.0, 2.0), (2.5, NULL, NULL, NULL, NULL)
        ) t(e_min, e_max, x, whole, frac)"""
    )
    types = {r[0]: r[1] for r in con.execute("DESCRIBE f").fetchall()}

    def values(column: str) -> list:
        return [r[0] for r in con.execute(f"SELECT {_matrix_column(con, 'f', column, types)} FROM f").fetchall()]

    assert values("e") == ["1-10", "up to 5", "2.5+"]
    assert values("whole") == [2, 3, None]  # all whole: written as integers
    assert values("frac") == [1.5, 2.0, None]  # not all whole: as they are
    assert values("x") == [10, None, None]


def test_fit_columns_are_the_icps_fields_and_their_parts():
    columns = ["industry", "employees_min", "employees_max", "industry_key", "arr", "region"]
    assert _fit_columns(doc(), columns) == {"industry", "employees_min", "employees_max", "industry_key"}
    assert _fit_columns(icp(), columns) == set()


def test_the_matrix_from_stored_scores_is_the_matrix_scored_in_place(ws, tmp_path):
    """The build scores its frame once (scoring.store_scores, in the frame's stored order) and pastes the scores
    beside its rows: the same file, byte for byte, as scoring the frame in the matrix's own statement, on a frame
    not stored in _row order (written sorted by _row either way)."""
    from icp_agent.render.matrix import write_scoring_matrix
    from icp_agent.scorecard.scoring import store_scores

    with ws.connect() as con:
        con.execute("ATTACH ':memory:' AS scratch")
        store_scores(con, doc(), "frame_icp_mx", "scratch.scores")
        assert con.execute("SELECT _row, icp_tier, priority FROM scratch.scores").fetchall() == [
            (2, None, "low"),
            (1, 1, "high"),
            (3, None, "low"),
        ]
        assert write_scoring_matrix(con, doc(), tmp_path / "stored.csv", "scratch.scores") == 3
        assert write_scoring_matrix(con, doc(), tmp_path / "scored.csv") == 3
    assert (tmp_path / "stored.csv").read_bytes() == (tmp_path / "scored.csv").read_bytes()
