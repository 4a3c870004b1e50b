"""Unit tests of scorecard/scoring.py: the one scoring path, over a table and over a raw prospect file.

The ICP is built in memory from tests/tiers_data.py (tiers on industry and headcount, Health a disqualifier)
with a scorecard fitted on its frame."""

from __future__ import annotations

import csv

import duckdb
import pytest

from icp_agent.errors import UserError
from icp_agent.icp_document import Scorecard
from icp_agent.scorecard.emit import scorecard_select_sql
from icp_agent.scorecard.fit import fit_scorecard
from icp_agent.scorecard.scoring import (
    SCORE_COLUMNS,
    icp_fields,
    match_fields,
    rule_fields,
    score_file,
    scorecard_dict,
    scored_relation,
)
from tiers_data import FIT_FIELDS, run


@pytest.fixture(scope="module")
def built():
    con = duckdb.connect()
    icp, _ = run(con)
    card = fit_scorecard(con, "frame_v1", FIT_FIELDS, time_column=None)
    icp.scorecard = Scorecard.model_validate(card)
    yield con, icp
    con.close()


def test_fields_the_icp_reads(built):
    _, icp = built
    assert icp_fields(icp) == {"headcount": "number", "industry": "category", "region": "category"}
    features = {f["field"] for f in scorecard_dict(icp)["features"]}
    assert rule_fields(icp) == {"headcount", "industry"} | features


def test_match_fields_like_the_importer(built):
    _, icp = built
    # "Company Industry" is a synonym of industry; headcount (not a canonical field) is found by its name
    assert match_fields(icp, ["Name", "Company Industry", "HEADCOUNT"]) == {
        "industry": "Company Industry",
        "headcount": "HEADCOUNT",
    }
    assert match_fields(icp, ["Name", "Notes"]) == {}


def _score_table(con, icp):
    cols = [r[0] for r in con.execute("DESCRIBE customers").fetchall()]
    sql = scored_relation(icp, "customers", cols)
    cur = con.execute(f"SELECT * FROM {sql} ORDER BY _row")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def test_scored_table_follows_the_tiers_and_disqualifiers(built):
    con, icp = built
    rows = _score_table(con, icp)
    assert set(SCORE_COLUMNS) <= set(rows[0])
    for r in rows:
        software, big = r["industry"] == "Software", r["headcount"] >= 500
        top = r["industry"] == "Software" and 400 <= r["headcount"] < 500
        expected = 1 if (software and (big or top)) else 2 if software else None
        if r["industry"] == "Health":
            # a disqualified record is in no tier and low priority, whatever its score
            assert (r["disqualified"], r["icp_tier"], r["priority"]) == (True, None, "low")
            assert r["disqualified_by"]
        else:
            assert r["icp_tier"] == expected, r
        if r["icp_tier"] == 1:
            assert r["priority"] == "high" and r["icp_segment"] in ("ICP 1", "ICP 2")
    # the points agree with the scorecard's own SQL (scorecard/emit.py) on the same rows
    exprs = dict(scorecard_select_sql(scorecard_dict(icp)))
    points = [p for (p,) in con.execute(f"SELECT {exprs['icp_points']} FROM customers ORDER BY _row").fetchall()]
    assert [r["fit_points"] for r in rows] == points


def test_a_table_without_a_field_scores_it_neutral(built):
    con, icp = built
    con.execute("CREATE OR REPLACE TABLE thin AS SELECT _row, industry FROM customers")
    sql = scored_relation(icp, "thin", ["_row", "industry"])
    got = con.execute(f"SELECT icp_tier, missing_fields FROM {sql} WHERE industry = 'Software' LIMIT 1").fetchall()
    # no headcount: Tier 1 cannot be measured (unknown is not a match), Tier 2 (Software alone) can
    assert got[0][0] == 2 and "headcount" in got[0][1]


def _prospects(tmp_path):
    path = tmp_path / "prospects.csv"
    rows = [
        ("Acme", "Software", "560", "north"),
        ("Bolt", "Health", "100", "south"),
        ("Core", "retail", "100", "north"),  # another spelling of Retail
        ("Dune", "Software", "100", ""),
    ]
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Name", "Industry", "Headcount", "Region"])
        w.writerows(rows)
    return path


def test_score_file(built, tmp_path):
    con, icp = built
    out = tmp_path / "scored.csv"
    result = score_file(icp, _prospects(tmp_path), out)
    # Health and {Media, Retail} are the disqualifiers: Bolt and Core
    assert (result.rows, result.disqualified) == (4, 2)
    assert result.by_tier == {"none": 2, "tier 1": 1, "tier 2": 1}
    assert result.used_fields == {"industry": "Industry", "headcount": "Headcount", "region": "Region"}
    assert result.missing_fields == []
    with out.open() as f:
        scored = list(csv.DictReader(f))
    # every input column kept, in order, then the score columns
    assert list(scored[0])[:4] == ["Name", "Industry", "Headcount", "Region"]
    assert list(scored[0])[4:] == list(SCORE_COLUMNS)
    assert [(r["Name"], r["icp_tier"], r["disqualified"].lower()) for r in scored] == [
        ("Acme", "1", "false"),
        ("Bolt", "", "true"),
        ("Core", "", "true"),
        ("Dune", "2", "false"),
    ]
    # Core's 'retail' is keyed to the ICP's Retail
    assert "Retail" in scored[2]["disqualified_by"]
    # the file's points equal the table path's for the same values
    table = {(r["industry"], r["headcount"], r["region"]): r["fit_points"] for r in _score_table(con, icp)}
    assert int(scored[0]["fit_points"]) == table[("Software", 560.0, "north")]


def test_score_file_errors_name_the_file(built, tmp_path):
    _, icp = built
    source = _prospects(tmp_path)
    with pytest.raises(UserError, match=r"cannot write \.txt") as e:
        score_file(icp, source, tmp_path / "out.txt")
    assert e.value.file.endswith("out.txt")
    with pytest.raises(UserError, match="output folder does not exist"):
        score_file(icp, source, tmp_path / "nowhere" / "out.csv")
    with pytest.raises(UserError, match="would overwrite the input"):
        score_file(icp, source, source)
    other = tmp_path / "other.csv"
    other.write_text("Name,Notes\nA,x\n")
    with pytest.raises(UserError, match=r"none of the fields the ICP needs.*columns are: Name, Notes") as e:
        score_file(icp, other, tmp_path / "o.csv")
    assert e.value.file == "other.csv"
    empty = icp.model_copy(update={"tiers": [], "negative_icp": [], "scorecard": None, "status": "no_significant_icp"})
    with pytest.raises(UserError, match="no tiers, disqualifiers or scorecard"):
        score_file(empty, source, tmp_path / "o.csv")


def test_a_score_that_does_not_separate_gives_no_priority_and_says_so(built, tmp_path):
    """The same ICP with its scorecard judged not to separate on the holdout (separates: false): Tier 2 is medium
    however high its fit score, Tier 1 stays high, outside the tiers every row is low; a scored file warns."""
    con, icp = built
    trusted = {r["_row"]: r for r in _score_table(con, icp)}
    assert any(r["priority"] == "high" and r["icp_tier"] == 2 for r in trusted.values())  # raised by the score
    statement = "the fit score does not separate good from not-good customers on held-out data (holdout AUC 0.55)"
    untrusted_icp = icp.model_copy(deep=True)
    untrusted_icp.scorecard.separates = False
    untrusted_icp.scorecard.warnings = [statement, *untrusted_icp.scorecard.warnings]
    rows = _score_table(con, untrusted_icp)
    for r in rows:
        before = trusted[r["_row"]]
        assert r["fit_score"] == before["fit_score"]  # the score is still shown
        expected = {1: "high", 2: "medium", None: "low"}[r["icp_tier"]]
        assert r["priority"] == ("low" if r["disqualified"] else expected), r
        assert "fit score band" not in r["priority_reason"]
    result = score_file(untrusted_icp, _prospects(tmp_path), tmp_path / "scored.csv")
    assert result.warnings[0] == statement + "; the fit_score and grade columns are shown, not to be ranked by"
    trusted_warnings = score_file(icp, _prospects(tmp_path), tmp_path / "scored2.csv").warnings
    assert not any("does not separate" in w for w in trusted_warnings)
