"""Unit tests of scorecard/scoring.py: the one scoring path, over a table and over a raw prospect file.

The ICP is built in memory from tests/tiers_data.py (tiers on industry and headcount, Health a disqualifier)
with a scorecard fitted on its frame."""

from __future__ import annotations

import csv

import duckdb
import pytest

from icp_agent.errors import UserError
from icp_agent.icp_document import Scorecard
from icp_agent.ingest import normalize as norm
from icp_agent.ingest.mapping import Mapping
from icp_agent.scorecard.emit import scorecard_select_sql
from icp_agent.scorecard.fit import fit_scorecard
from icp_agent.scorecard.scoring import (
    SCORE_COLUMNS,
    _mapped_list_sql,
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


def _write(path, header, rows):
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_a_multi_valued_column_matches_when_any_value_does(built, tmp_path):
    """A data vendor's several industries per company (ZoomInfo-style ';' lists, one '|' list) against an ICP
    built on one industry per customer: a criterion matches when any value does, points go to the first value
    the ICP knows, and the file's rows with several values are said."""
    _, icp = built
    source = _write(
        tmp_path / "zoominfo.csv",
        ["Company", "Industries", "Headcount"],
        [
            ("Acme", "Computer Services; Software", "560"),  # Software: Tier 1
            ("Bolt", "Software;Health", "100"),  # Software matches Tier 2, Health the disqualifier: disqualified
            ("Core", "Wholesale | retail", "100"),  # retail is the ICP's Retail, a disqualifier
            ("Dune", "Consulting; Services", "100"),  # nothing the ICP knows
            ("Echo", "Software", "100"),
            ("Fizz", "", "100"),  # no value: missing, as in a one-value column
        ],
    )
    out = tmp_path / "scored.csv"
    result = score_file(icp, source, out)
    with out.open() as f:
        scored = {r["Company"]: r for r in csv.DictReader(f)}
    assert scored.pop("Fizz")["missing_fields"] == "industry"
    assert all(r["missing_fields"] == "" for r in scored.values())
    assert result.used_fields["industry"] == "Industries"
    assert [(n, r["icp_tier"], r["disqualified"].lower()) for n, r in scored.items()] == [
        ("Acme", "1", "false"),
        ("Bolt", "", "true"),
        ("Core", "", "true"),
        ("Dune", "", "false"),
        ("Echo", "2", "false"),
    ]
    assert scored["Bolt"]["disqualified_by"] == "industry = Health"
    assert "Retail" in scored["Core"]["disqualified_by"]
    # Acme scores as Software (the value the ICP knows), exactly as a one-value Software row of its size
    single = _write(tmp_path / "one.csv", ["Company", "Industry", "Headcount"], [("Acme", "Software", "560")])
    score_file(icp, single, tmp_path / "one_scored.csv")
    with (tmp_path / "one_scored.csv").open() as f:
        alone = next(csv.DictReader(f))
    assert scored["Acme"]["fit_points"] == alone["fit_points"]
    assert "industry Software" in scored["Acme"]["fit_reasons"]
    assert scored["Acme"]["unseen_fields"] == "" and scored["Dune"]["unseen_fields"] == "industry"
    assert result.unseen_values == {"industry": 1}
    assert len(result.notes) == 1
    assert "industry (column 'Industries'): 4 rows hold several values" in result.notes[0]
    assert "(3 of those rows have one)" in result.notes[0]
    # each multi-valued cell is as common (one row): the example is the first by text, on any number of threads
    assert "(commonest: 'Computer Services; Software')" in result.notes[0]


def test_the_better_matching_of_two_columns_naming_a_field_wins(built, tmp_path):
    """'Industry' (the CRM's vocabulary, added by the user) beside the vendor's 'Industries' (first in the file):
    the column whose values the ICP knows wins, and the choice is said; alone, 'Industries' is read."""
    _, icp = built
    rows = [
        ("Acme", "SaaS, Cloud", "560", "Software"),
        ("Bolt", "Hospitals", "100", "Health"),
        ("Core", "Shops", "100", "Retail"),
    ]
    source = _write(tmp_path / "both.csv", ["Company", "Industries", "Headcount", "Industry"], rows)
    result = score_file(icp, source, tmp_path / "scored.csv")
    assert result.used_fields["industry"] == "Industry"
    assert (result.by_tier, result.disqualified) == ({"none": 2, "tier 1": 1}, 2)
    assert any(
        n.startswith("industry: read from column 'Industry' (100.0%") and "'Industries' (0.0%)" in n
        for n in result.notes
    )


def test_a_one_cell_location_gives_country_and_region(built, tmp_path):
    """An 'HQ' column in 'City, Country' or 'City, State, Country' cells (Crunchbase's 'Headquarters Location',
    other spellings here): the last part is the country, normalised as the import does ('Deutschland' = Germany),
    the one before it the region, written as the CRM's codes when the ICP's regions are codes (Ontario = ON);
    LinkedIn's 'Greater Boston Area' names no country and matches nothing."""
    _, built_icp = built
    from icp_agent.icp_document import Criterion, Tier

    def criterion(field, values):
        return Criterion(field=field, op="in", values=values, kind="category", label=f"{field} in {values}")

    places = criterion("country", ["Canada", "Germany"])
    icp = built_icp.model_copy(
        update={
            "tiers": [
                Tier(tier=1, segment="ICP 1", name="t1", criteria=[places, criterion("region", ["BY", "ON", "TX"])]),
                Tier(tier=2, segment="ICP 1", name="t2", criteria=[places]),
            ],
            "negative_icp": [],
            "scorecard": None,
        }
    )
    source = _write(
        tmp_path / "vendor.csv",
        ["Company", "HQ", "Employees"],
        [
            ("Maple", "Toronto, Ontario, Canada", "10"),
            ("Brez", "München, Bayern, Deutschland", "10"),
            ("Kiwi", "Auckland, New Zealand", "10"),
            ("Loop", "Greater Boston Area", "10"),
            ("Vanc", "Vancouver, Canada", "10"),
        ],
    )
    out = tmp_path / "scored.csv"
    result = score_file(icp, source, out)
    with out.open() as f:
        tiers = {r["Company"]: r["icp_tier"] for r in csv.DictReader(f)}
    assert tiers == {"Maple": "1", "Brez": "1", "Kiwi": "", "Loop": "", "Vanc": "2"}
    assert result.used_fields == {"country": "HQ", "region": "HQ"}
    assert result.missing_fields == []
    assert result.notes == [
        "country, region read from column 'HQ' (\"City, Region, Country\": the last part names a country in 80.0% "
        "of its filled rows)"
    ]
    # a location column whose parts name no country is not read as one
    remote = _write(tmp_path / "remote.csv", ["Company", "Location", "Industry"], [("A", "Remote, Worldwide", "x")])
    assert score_file(icp, remote, tmp_path / "r.csv").missing_fields == ["country", "region"]


def test_fit_reasons_name_a_field_as_the_document_does(built, tmp_path):
    """A scored file's fit_reasons write a category field's stored name in words, as the scorecard's own SQL
    and the document do: a custom field "lead_source" reads "lead source Software (+n)"."""
    import json

    _, built_icp = built
    card = json.loads(json.dumps(scorecard_dict(built_icp)).replace('"industry', '"lead_source'))
    icp = built_icp.model_copy(update={"tiers": [], "negative_icp": [], "scorecard": Scorecard.model_validate(card)})
    source = _write(tmp_path / "leads.csv", ["Name", "lead_source"], [("Acme", "Software")])
    out = tmp_path / "scored.csv"
    score_file(icp, source, out)
    with out.open() as f:
        reasons = next(csv.DictReader(f))["fit_reasons"]
    assert reasons.startswith("lead source Software (+") and "lead_source" not in reasons


def test_the_column_the_icp_was_built_from_competes_with_a_synonym(built, tmp_path):
    """A CRM column the ICP was built from ("Market Segment" here, no synonym of industry) beside a vendor's
    'Industries': both name industry, and the one holding the ICP's values is read."""
    _, built_icp = built

    def renamed(criteria):
        return [c.model_copy(update={"header": "Market Segment"}) if c.field == "industry" else c for c in criteria]

    icp = built_icp.model_copy(
        update={
            "tiers": [t.model_copy(update={"criteria": renamed(t.criteria)}) for t in built_icp.tiers],
            "negative_icp": [d.model_copy(update={"criteria": renamed(d.criteria)}) for d in built_icp.negative_icp],
        }
    )
    rows = [("Acme", "Cloud, SaaS", "560", "Software"), ("Bolt", "Hospitals", "100", "Health")]
    source = _write(tmp_path / "both.csv", ["Company", "Industries", "Headcount", "Market Segment"], rows)
    result = score_file(icp, source, tmp_path / "scored.csv")
    assert result.used_fields["industry"] == "Market Segment"
    assert (result.by_tier, result.disqualified) == ({"none": 1, "tier 1": 1}, 1)


def test_a_value_mapping_translates_another_tools_labels(built, tmp_path):
    """A LinkedIn-style list ('Computer Software', 'Hospital & Health Care') scored with a mapping file's
    [values.industry]: labels match whatever their case or spacing, a multi-valued cell is mapped element by
    element, an unmapped label stays unseen, and the note counts the rows per label as the import does."""
    _, icp = built
    source = _write(
        tmp_path / "linkedin.csv",
        ["Company", "Industry", "Headcount"],
        [
            ("Acme", "computer  software", "560"),  # -> Software: Tier 1
            ("Bolt", "Hospital & Health Care", "100"),  # -> Health: disqualified
            ("Core", "Internet | Retailers", "100"),  # Retailers -> Retail (one element of two): disqualified
            ("Dune", "Management Consulting", "100"),  # not mapped: unseen
            ("Echo", "Computer Software", "100"),  # Tier 2
        ],
    )
    toml = tmp_path / "linkedin.toml"
    toml.write_text(
        '[values.industry]\n"Computer Software" = "Software"\n"Hospital & Health Care" = "Health"\n'
        '"Retailers" = "Retail"\n"Oil & Energy" = "Energy"\n'
    )
    out = tmp_path / "scored.csv"
    result = score_file(icp, source, out, mapping=Mapping.load(toml))
    with out.open() as f:
        scored = {r["Company"]: r for r in csv.DictReader(f)}
    assert [(n, r["icp_tier"], r["disqualified"].lower()) for n, r in scored.items()] == [
        ("Acme", "1", "false"),
        ("Bolt", "", "true"),
        ("Core", "", "true"),
        ("Dune", "", "false"),
        ("Echo", "2", "false"),
    ]
    assert scored["Bolt"]["disqualified_by"] == "industry = Health"
    assert result.unseen_values == {"industry": 1}
    assert [r["unseen_fields"] for r in scored.values()] == ["", "", "", "industry", ""]
    assert (
        "industry (column 'Industry'): labels mapped ([values.industry]): 'Computer Software' -> 'Software': 2 rows; "
        "'Hospital & Health Care' -> 'Health': 1 row; 'Retailers' -> 'Retail': 1 row" in result.notes
    )
    # a mapped label scores exactly as the CRM's own label
    plain = _write(tmp_path / "plain.csv", ["Company", "Industry", "Headcount"], [("Acme", "Software", "560")])
    score_file(icp, plain, tmp_path / "plain_scored.csv")
    with (tmp_path / "plain_scored.csv").open() as f:
        assert next(csv.DictReader(f))["fit_points"] == scored["Acme"]["fit_points"]
    # the unseen warning points to the mapping file
    assert "[values.industry] table in a mapping file (score-prospects --mapping FILE" in result.warnings[0]


def test_the_workspaces_value_mapping_applies_and_a_mapping_file_wins(built, tmp_path):
    """The [values] tables the workspace was imported with translate the file's labels (those on fields the ICP
    does not read are left alone); a mapping file's line for the same label wins."""
    _, icp = built
    source = _write(
        tmp_path / "p.csv",
        ["Company", "Sector", "Headcount"],
        [("Acme", "IT Services", "560"), ("Bolt", "Pharma", "90")],
    )
    stored = {"industry": {"it services": "Software", "Pharma": "Health"}, "lead_source": {"Web": "Inbound"}}
    out = tmp_path / "scored.csv"
    result = score_file(icp, source, out, stored_values=stored)
    assert (result.by_tier, result.disqualified) == ({"none": 1, "tier 1": 1}, 1)
    assert result.notes == [
        "industry (column 'Sector'): labels mapped ([values.industry]): 'Pharma' -> 'Health': 1 row; "
        "'it services' -> 'Software': 1 row"
    ]
    toml = tmp_path / "m.toml"
    toml.write_text('[values.industry]\n"PHARMA" = "Retail"\n')
    score_file(icp, source, out, stored_values=stored, mapping=Mapping.load(toml))
    with out.open() as f:
        assert [r["disqualified_by"] for r in csv.DictReader(f)] == ["", "industry in {Media, Retail}"]


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[values.lead_source]\nWeb = "Inbound"\n', r"\[values.lead_source\] names a field the ICP does not score on"),
        ('[values.headcount]\n"10" = "small"\n', r"\[values.headcount\] maps the labels of a number field"),
        ('[values.industry]\n"Fin Tech" = "Fintech"\n"FinTech" = "Finance"\n', "are one label"),
    ],
)
def test_a_bad_value_mapping_is_an_error_naming_the_file(built, tmp_path, toml, message):
    _, icp = built
    path = tmp_path / "vendor.toml"
    path.write_text(toml)
    out = tmp_path / "scored.csv"
    with pytest.raises(UserError, match=message) as e:
        score_file(icp, _prospects(tmp_path), out, mapping=Mapping.load(path))
    assert e.value.file == "vendor.toml"
    assert not out.exists()


def test_a_list_is_mapped_element_by_element():
    """A list field (technologies) is translated per element before it is split and normalised as import does."""
    labels = {
        norm.category_key_text(raw): (raw, label)
        for raw, label in {"SFDC": "Salesforce", "G Suite": "Google Workspace"}.items()
    }
    sql = norm.text_list(_mapped_list_sql("raw", labels))
    rows = duckdb.sql(
        f"SELECT {sql} FROM (VALUES ('sfdc; Slack'), ('gsuite|SFDC'), ('Slack'), (NULL)) t(raw)"
    ).fetchall()
    assert [r[0] for r in rows] == [["Salesforce", "Slack"], ["Google Workspace", "Salesforce"], ["Slack"], None]


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
