"""One scoring path: a scored file, the CRM files, routing.csv and the playbook give one record one score.

The demo is scored twice, as the raw prospect file (`icp-agent score-prospects`) and as the imported table
(the CRM files): every prospect must get the same tier, fit score, priority, reasons and
disqualifier in both. Neighbours: the same rows under HubSpot-style headers and other spellings,
as Parquet; CRM files built from Salesforce-id and HubSpot-id customers.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil

import duckdb
import pytest

from icp_agent import toolkit
from icp_agent.errors import UserError
from icp_agent.ingest import normalize as norm
from icp_agent.ingest.importer import import_file
from icp_agent.render.exports import salesforce_field, write_crm_exports
from icp_agent.scorecard.scoring import SCORE_COLUMNS, connect_for_scoring
from icp_agent.workspace import Workspace

from conftest import DEMO

COMPARED = ("fit_points", "fit_score", "priority", "grade", "fit_reasons")


@pytest.fixture(scope="module")
def demo(built_demo, tmp_path_factory):
    """The session's built demo (conftest.built_demo; its report files copied to folder/out, its workspace read
    only) and its prospects scored from icp.json."""
    folder = tmp_path_factory.mktemp("path")
    shutil.copytree(built_demo.out, folder / "out", ignore=shutil.ignore_patterns("workspace.duckdb*"))
    scored = folder / "scored.csv"
    toolkit.score_prospects(DEMO / "prospects.csv", scored, icp_path=folder / "out" / "icp.json")
    return built_demo.workspace(), built_demo.icp(), folder, scored


def _read(path, where: str = "TRUE") -> list[dict]:
    con = duckdb.connect()
    reader = f"read_csv('{path}', all_varchar=true)" if str(path).endswith(".csv") else f"read_parquet('{path}')"
    relation = con.sql(f"SELECT * FROM {reader} WHERE {where}")
    return [dict(zip(relation.columns, row)) for row in relation.fetchall()]


def test_scored_file_equals_the_crm_files_row_for_row(demo):
    _, _, folder, scored = demo
    con = duckdb.connect()
    con.execute(f"CREATE TABLE s AS SELECT {norm.domain('Website')} AS dom, * FROM read_csv('{scored}', all_varchar=true)")
    con.execute(f"""CREATE TABLE h AS SELECT * FROM read_csv('{folder / "out" / "hubspot_companies.csv"}',
                    all_varchar=true) WHERE "Record ID" IS NULL""")  # the prospects (customers carry their id)
    assert con.execute("SELECT count(*), count(DISTINCT dom) FROM s").fetchall()[0] == (50_000, 50_000)
    differences = ", ".join(f"count_if(s.{c} IS DISTINCT FROM h.{c})" for c in COMPARED)
    row = con.execute(f"""SELECT count(*), {differences},
            count_if(coalesce('Tier ' || s.icp_tier, 'Not ICP') IS DISTINCT FROM h.icp_tier),
            count_if(s.disqualified_by IS DISTINCT FROM h.disqualified_by)
        FROM s JOIN h ON s.dom = h."Company Domain Name" """).fetchall()[0]
    assert row[0] == 50_000 and set(row[1:]) == {0}, row
    # employees is scored in both (it was absent from scored files: 0 of 50,000 had employee points)
    with_employees = con.execute("SELECT count_if(fit_reasons LIKE '%employees%') FROM s").fetchall()[0][0]
    assert with_employees > 10_000


def test_priority_counts_agree_in_routing_and_playbook(demo):
    _, _, folder, scored = demo
    counts = dict(duckdb.connect().execute(f"SELECT priority, count(*) FROM read_csv('{scored}') GROUP BY ALL")
                  .fetchall())
    routing = {r["priority"]: int(r["prospects"]) for r in csv.DictReader(open(folder / "out" / "routing.csv"))}
    assert routing == counts and sum(counts.values()) == 50_000
    playbook = (folder / "out" / "playbook.md").read_text()
    for priority, n in counts.items():
        assert re.search(rf"^\| {priority} \| [^|]+ \| [^|]+ \| {n:,} \|$", playbook, re.M), priority


def test_tier_priority_and_disqualifier_agree(demo):
    _, _, folder, scored = demo
    for path, tier_outside in ((scored, "IS NULL"), (folder / "out" / "hubspot_companies.csv", "= 'Not ICP'")):
        con = duckdb.connect()
        reader = f"read_csv('{path}', all_varchar=true)"
        clashes = con.execute(f"""SELECT count_if(disqualified_by IS NOT NULL AND (icp_tier {tier_outside}) IS NOT TRUE),
                count_if(disqualified_by IS NOT NULL AND priority <> 'low'),
                count_if((icp_tier {tier_outside}) AND priority = 'high'),
                count_if(disqualified_by IS NOT NULL) FROM {reader}""").fetchall()[0]
        assert clashes[:3] == (0, 0, 0) and clashes[3] > 0, (path, clashes)


def test_reasons_read_as_text_with_points_after(demo):
    _, _, folder, scored = demo
    reason = re.compile(r"^[^+\-=@; ][^;]* \([+-]\d+\)$")
    for path, column in ((scored, "fit_reasons"), (folder / "out" / "hubspot_companies.csv", "fit_reasons"),
                         (folder / "out" / "salesforce_accounts.csv", "Fit_Reasons__c")):
        values = [r[0] for r in duckdb.connect().execute(
            f"SELECT DISTINCT {column} FROM read_csv('{path}', all_varchar=true) WHERE {column} IS NOT NULL").fetchall()]
        assert values and all(reason.match(part) for value in values for part in value.split("; ")), path
    assert "industry Computer Software (+27)" in {part for v in values for part in v.split("; ")}


def test_other_headers_and_spellings_score_the_same(demo, tmp_path):
    """HubSpot-style headers, upper-case enum spellings, '$' money and Parquet: the same rows, the same scores."""
    _, _, folder, scored = demo
    variant = tmp_path / "hubspot_prospects.parquet"
    duckdb.connect().execute(f"""COPY (SELECT "Company Name" AS "Company name", "Website" AS "Company Domain Name",
            "# Employees" AS "Number of Employees", upper(replace(replace("Industry", ' & ', '_AND_'), ' ', '_'))
            AS "Industry", "Technologies" AS "Technologies", CASE WHEN "Annual Revenue" IS NULL THEN 'n/a'
            ELSE '$' || "Annual Revenue" END AS "Annual Revenue", "Country" AS "Country/Region"
        FROM read_csv('{DEMO / "prospects.csv"}', all_varchar=true) LIMIT 3000) TO '{variant}' (FORMAT parquet)""")
    out = tmp_path / "variant.parquet"
    result = toolkit.score_prospects(variant, out, icp_path=folder / "out" / "icp.json")
    assert result.rows == 3000 and result.used_fields["employees"] == "Number of Employees"
    original = _read(scored)[:3000]
    again = _read(out)
    for column in ("icp_tier", *COMPARED, "disqualified_by"):
        assert [str(r[column]) if r[column] is not None else None for r in again] == \
               [r[column] for r in original], column


def test_rescoring_a_scored_file_replaces_its_score_columns(demo, tmp_path):
    _, _, folder, scored = demo
    small = tmp_path / "scored_small.csv"
    duckdb.connect().execute(f"COPY (SELECT * FROM read_csv('{scored}', all_varchar=true) LIMIT 500) TO '{small}' (HEADER)")
    result = toolkit.score_prospects(small, tmp_path / "again.csv", icp_path=folder / "out" / "icp.json")
    assert result.replaced_columns == list(SCORE_COLUMNS)
    header = next(csv.reader(open(tmp_path / "again.csv")))
    assert len(header) == len(set(header)) and header[-len(SCORE_COLUMNS):] == list(SCORE_COLUMNS)
    assert _read(tmp_path / "again.csv") == _read(small)


def test_large_parquet_keeps_the_input_order(demo, tmp_path):
    """More rows than one DuckDB row group and several threads' worth of chunks."""
    _, _, folder, _ = demo
    source = tmp_path / "many.parquet"
    duckdb.connect().execute(f"""COPY (SELECT 'p' || range AS "Company Name", 'p' || range || '.com' AS "Website",
            ['1-10', '51-200', '10001+', CAST(range % 5000 AS VARCHAR)][range % 4 + 1] AS "# Employees",
            ['Computer Software', 'marketing & advertising', 'Retail'][range % 3 + 1] AS "Industry",
            ['Salesforce, Slack', 'Wix'][range % 2 + 1] AS "Technologies"
        FROM range(150000)) TO '{source}' (FORMAT parquet, ROW_GROUP_SIZE 20000)""")
    out = tmp_path / "many_scored.parquet"
    toolkit.score_prospects(source, out, icp_path=folder / "out" / "icp.json")
    misplaced = duckdb.connect().execute(f"""SELECT count(*), count_if("Company Name" <> 'p' || file_row_number)
        FROM read_parquet('{out}', file_row_number=true)""").fetchall()[0]
    assert misplaced == (150_000, 0)


def test_crm_ids_follow_each_crms_conventions(demo, tmp_path, write):
    ws_demo, icp, _, _ = demo
    shutil.copy(ws_demo.path, tmp_path / "copy.duckdb")
    ws = Workspace(tmp_path / "copy.duckdb")
    customers = write("sf_accounts.csv", "Account ID,Account Name,Website,Industry,Employees,Lifecycle Stage\n"
                                         "0015g00000AbCdEAAX,Acme,https://www.acme.io/about,Computer Software,120,customer\n"
                                         "001000000000123,Beta,beta.com,Retail,10,customer\n"
                                         "5100073506,Gamma,gamma.com,Retail,10,customer\n"
                                         "bad id,Delta,,Retail,10,customer\n")
    import_file(ws, customers, "customers")
    out = tmp_path / "out"
    out.mkdir()
    write_crm_exports(ws, icp, out)
    salesforce = {r["Name"]: r for r in csv.DictReader(open(out / "salesforce_accounts.csv"))}
    hubspot = {r["Company name"]: r for r in csv.DictReader(open(out / "hubspot_companies.csv"))}
    assert salesforce["Acme"]["Id"] == "0015g00000AbCdEAAX" and salesforce["Acme"]["Website"] == "acme.io"
    assert salesforce["Beta"]["Id"] == "" and salesforce["Beta"]["Website"] == "beta.com"  # all digits: not an Id
    assert salesforce["Gamma"]["Id"] == ""  # a HubSpot record id never goes into Salesforce's Id
    assert "Delta" not in salesforce and "Delta" not in hubspot  # no id, no domain: nothing to match on
    # digits under Salesforce's "Account ID" are not a HubSpot record id: Record ID is filled only from a HubSpot
    # id column (test_newuser_findings covers "Record ID"); the row still matches on its domain
    assert hubspot["Gamma"]["Record ID"] == "" and hubspot["Gamma"]["Company Domain Name"] == "gamma.com"
    assert hubspot["Acme"]["Record ID"] == "" and hubspot["Acme"]["Company Domain Name"] == "acme.io"
    assert salesforce_field("fit_score") == "Fit_Score__c" and salesforce_field("icp_tier") == "ICP_Tier__c"


def test_memory_limit_applies_to_scores_own_connection(monkeypatch):
    monkeypatch.setenv("ICP_AGENT_MEMORY_LIMIT", "300MB")
    con = connect_for_scoring()
    assert con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0] in ("286.1 MiB", "300.0 MB")
    monkeypatch.setenv("ICP_AGENT_MEMORY_LIMIT", "lots")
    with pytest.raises(UserError, match="ICP_AGENT_MEMORY_LIMIT"):
        connect_for_scoring()


def test_scoring_layers_agree_with_the_scorecards_own_sql(demo):
    """score_layers picks reasons and points with scalar SQL; the scorecard's own SQL must give the same."""
    from icp_agent.scorecard.emit import scorecard_select_sql
    from icp_agent.scorecard.scoring import scored_select

    ws, icp, _, _ = demo
    with ws.connect() as con:
        table = ws.current_table(con, "prospects")
        columns = {r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()}
        present = {c for c in columns if not c.startswith("_")} | {c[:-4] for c in columns if c.endswith("_min")}
        own = dict(scorecard_select_sql(icp.scorecard.model_dump(mode="json"), None, present_columns=columns))
        ours = scored_select(icp, table, present, keep="_row")
        differing = con.execute(f"""SELECT count(*), count_if(a.fit_reasons IS DISTINCT FROM b.reasons),
                count_if(a.fit_points IS DISTINCT FROM b.points), count_if(a.fit_score IS DISTINCT FROM b.fit),
                count_if(a.grade IS DISTINCT FROM b.grade)
            FROM ({ours}) a JOIN (SELECT _row, {own['icp_reasons']} AS reasons, {own['icp_points']} AS points,
                                         {own['icp_fit_score']} AS fit, {own['icp_grade']} AS grade FROM {table}) b
            USING (_row)""").fetchall()[0]
    assert differing == (50_000, 0, 0, 0, 0)


def test_both_plans_give_the_same_scores_in_the_same_order(demo, tmp_path, monkeypatch):
    """Scoring every combination of the fields' signatures once and scoring the parts per row are one score;
    both keep the input's order on several threads. Empty strings, blanks and a column with no value at all
    take the NULL and the unseen-value paths."""
    from icp_agent.scorecard import scoring

    _, _, folder, _ = demo
    source = tmp_path / "mixed.parquet"
    duckdb.connect().execute(f"""COPY (SELECT 'p' || range AS "Company Name",
            ['1-10', '51-200', '10001+', '', NULL, CAST(range % 700 AS VARCHAR)][range % 6 + 1] AS "# Employees",
            ['Computer Software', 'COMPUTER_SOFTWARE', 'marketing & advertising', '', NULL, 'Zoology']
                [range % 6 + 1] AS "Industry",
            ['Salesforce, Slack', 'Wix', '', NULL][range % 4 + 1] AS "Technologies",
            NULL::VARCHAR AS "Country"
        FROM range(120000)) TO '{source}' (FORMAT parquet, ROW_GROUP_SIZE 10000)""")
    outputs, plans = {}, []
    real = {name: getattr(scoring, name) for name in ("_combined_query", "_per_row_query")}
    for name in real:
        monkeypatch.setattr(scoring, name, lambda *args, _name=name: plans.append(_name) or real[_name](*args))
    for limit in (0, 10_000_000):
        monkeypatch.setattr(scoring, "COMBINATIONS", limit)
        outputs[limit] = tmp_path / f"scored_{limit}.parquet"
        toolkit.score_prospects(source, outputs[limit], icp_path=folder / "out" / "icp.json")
    assert plans == ["_per_row_query", "_combined_query"]
    con = duckdb.connect()
    con.execute("SET threads = 1")
    for path in outputs.values():
        assert con.execute(f"""SELECT count(*), count_if("Company Name" <> 'p' || file_row_number)
            FROM read_parquet('{path}', file_row_number=true)""").fetchall()[0] == (120_000, 0)
    per_row, combined = (f"read_parquet('{outputs[k]}', file_row_number=true)" for k in outputs)
    assert con.execute(f"SELECT count(*) FROM (SELECT * FROM {per_row} EXCEPT ALL SELECT * FROM {combined})"
                       ).fetchall()[0][0] == 0
    rows = {r[0]: r[1:] for r in con.execute(f"""SELECT "Company Name", unseen_fields, missing_fields, fit_reasons
        FROM read_parquet('{outputs[0]}') WHERE "Company Name" IN ('p0', 'p1', 'p4', 'p5')""").fetchall()}
    assert rows["p5"][0] == "industry"  # Zoology: a category the scorecard never saw
    assert "industry" in rows["p4"][1] and "employees" in rows["p4"][1]  # NULLs: missing
    assert all("industry Computer Software (+27)" in rows[r][2] for r in ("p0", "p1"))  # two spellings, one text


def test_score_reports_rows_done_and_spills_beside_the_output(demo, tmp_path, monkeypatch):
    from icp_agent.scorecard import scoring
    from icp_agent.workspace import default_memory_limit

    _, _, folder, _ = demo
    monkeypatch.delenv("ICP_AGENT_MEMORY_LIMIT", raising=False)
    seen, settings = [], {}
    real = scoring.connect_for_scoring

    def spy(spill_to=None):
        con = real(spill_to)
        settings.update(limit=con.execute("SELECT current_setting('memory_limit')").fetchone()[0],
                        temp=con.execute("SELECT current_setting('temp_directory')").fetchone()[0])
        return con
    monkeypatch.setattr(scoring, "connect_for_scoring", spy)
    out = tmp_path / "scored.csv"
    result = toolkit.score_prospects(DEMO / "prospects.csv", out, icp_path=folder / "out" / "icp.json",
                                     progress=lambda message, done=None, total=None: seen.append((message, done, total)))
    steps = {message: total for message, _, total in seen}
    assert len(steps) == 2 and list(steps.values())[-1] == result.rows == 50_000
    assert seen[-1] == (list(steps)[-1], 50_000, 50_000)
    assert 40_000 < list(steps.values())[0] < 60_000  # the first pass: rows estimated from the file's size
    assert settings["temp"] == str(tmp_path / ".scored.csv.icp-spill")
    assert not (tmp_path / ".scored.csv.icp-spill").exists()
    expected = duckdb.connect()
    expected.execute("SET memory_limit = ?", [default_memory_limit()])
    assert settings["limit"] == expected.execute("SELECT current_setting('memory_limit')").fetchone()[0]


def test_the_missing_fields_note_names_only_fields_a_rule_reads(demo, tmp_path):
    """`score` notes the ICP fields the file lacks: those of the tiers, the disqualifiers and the scorecard's
    scored attributes, never a field the scorecard only considered (field_kinds without points)."""
    _, _, folder, _ = demo
    icp = json.loads((folder / "out" / "icp.json").read_text())
    rules = {c["field"] for t in icp["tiers"] for c in t["criteria"]} | \
        {c["field"] for d in icp["negative_icp"] for c in d["criteria"]} | \
        {f["field"] for f in icp["scorecard"]["features"]}
    considered = set(icp["scorecard"]["field_kinds"]) - rules
    assert considered and "industry" in rules  # the demo's scorecard left some considered fields out
    small = tmp_path / "two_columns.csv"
    small.write_text("Company Name,Industry\nAcme,Software\nBeta,Retail\n")
    result = toolkit.score_prospects(small, tmp_path / "scored.csv", icp_path=folder / "out" / "icp.json")
    assert result.missing_fields == sorted(rules - {"industry"})
    assert not considered & set(result.missing_fields)


def test_a_csvs_used_columns_read_as_enums_keep_their_text(demo, tmp_path, monkeypatch):
    """A CSV's used columns are read as ENUMs of their values and Parquet gets ENUMs as they are: every value
    (spaces, quotes, commas, a missing marker, a formula) comes out as the file has it, the scores equal those of
    the same rows read as text (Parquet input), a large ENUM is written as text, and a CSV's cells are still
    neutralised."""
    from icp_agent.scorecard import scoring

    _, _, folder, _ = demo
    icp = folder / "out" / "icp.json"
    values = {
        "# Employees": ["51-200", " 51-200 ", "12", "", "n/a", "10001+", '"5,000"'],
        "Industry": ["Computer Software", " Retail ", "=1+2", '"Marketing, ""Ads"""', "n/a", "", "@SUM(1)"],
        "Technologies": ['"Salesforce, Slack"', "Wix", "", "HubSpot", " Wix ", "NULL", "-"],
        "Country": ["United States", "UK", "n/a", "", "Germany", " France", "=cmd"],
    }
    rows = 7 * 11
    lines = ["Company Name," + ",".join(values)]
    for r in range(rows):
        lines.append(f"p{r}," + ",".join(v[(r * (k + 1) + r // 7) % 7] for k, v in enumerate(values.values())))
    source = tmp_path / "tricky.csv"
    source.write_text("\n".join(lines) + "\n")
    as_parquet = tmp_path / "tricky.parquet"
    duckdb.connect().execute(f"""COPY (SELECT * FROM read_csv('{source}', all_varchar=true, header=true))
        TO '{as_parquet}' (FORMAT parquet)""")
    outputs = {}
    for name, path in (("csv_to_parquet", source), ("csv_to_csv", source), ("parquet_to_parquet", as_parquet)):
        outputs[name] = tmp_path / f"{name}.{name.rsplit('_', 1)[1]}"
        toolkit.score_prospects(path, outputs[name], icp_path=icp)
    monkeypatch.setattr(scoring, "ENUM_WRITE_LIMIT", 0)  # every ENUM written as text
    outputs["as_text"] = tmp_path / "as_text.parquet"
    toolkit.score_prospects(source, outputs["as_text"], icp_path=icp)
    monkeypatch.setattr(scoring, "COMBINATIONS", 0)  # the parts read per row, from the ENUM positions too
    outputs["per_row"] = tmp_path / "per_row.parquet"
    toolkit.score_prospects(source, outputs["per_row"], icp_path=icp)

    original = _read(as_parquet)
    assert len(original) == rows
    scored = {name: _read(path) for name, path in outputs.items()}
    for name, result in scored.items():
        assert [{k: r[k] for k in original[0]} for r in result if name != "csv_to_csv"] in ([], original), name
        texts = [[None if r[c] is None else str(r[c]).lower() for c in SCORE_COLUMNS] for r in result]
        reference = [[None if r[c] is None else str(r[c]).lower() for c in SCORE_COLUMNS]
                     for r in scored["parquet_to_parquet"]]
        assert texts == reference, name
    assert {r["Industry"] for r in original} >= {" Retail ", "=1+2", 'Marketing, "Ads"', "@SUM(1)"}
    assert {r["Industry"] for r in scored["csv_to_csv"]} >= {" Retail ", "'=1+2", "'@SUM(1)"}
    assert {r["Country"] for r in scored["csv_to_csv"]} >= {"'=cmd", " France"}
    industry = dict(duckdb.connect().execute(f"""SELECT "Industry", any_value(fit_reasons)
        FROM read_parquet('{outputs["csv_to_parquet"]}') GROUP BY ALL""").fetchall())
    assert "industry Retail" in industry[" Retail "] and "industry Computer Software" in industry["Computer Software"]


def test_a_plain_count_is_the_band_the_band_parser_gives():
    """Scoring reads a plain count ("1250") as its band without the parser's regular expressions: the same
    struct as the importer's norm.band for every count, and the parser's for anything else."""
    from icp_agent.ingest.lookups import typed_exprs
    from icp_agent.scorecard.scoring import _normalised, _planned

    column = _planned("employees", "band", "# Employees")
    ours, importer = _normalised(column, set()), typed_exprs(column, "raw")
    assert [name for name, _ in ours] == [name for name, _ in importer] == ["employees__band"]
    con = duckdb.connect()
    con.execute("""CREATE TABLE v AS SELECT CAST(range * 7 AS VARCHAR) AS raw FROM range(30000) UNION ALL
        SELECT unnest(['0', '007', ' 12', '12 ', '+5', '-5', '1e3', '12.0', '1,250', '51-200', '10001+', '<10', '',
                       'n/a', '18446744073709551615', '18446744073709551616', '100000000000000000000']) UNION ALL
        SELECT NULL""")
    row = con.execute(f"""SELECT count(*), count_if(({ours[0][1]}) IS DISTINCT FROM ({importer[0][1]})),
        count_if(({ours[0][1]}).exact = 1250) FROM v""").fetchone()
    assert row == (30_018, 0, 1)


def _crlf_prospects(rows: list[list[str]], header: list[str]) -> bytes:
    """The rows as a UTF-8 CSV with CRLF line endings, accented names only past the reader's head sample, and the
    last row padded so that the tail window the reader checks for line endings starts between a \\r and its \\n."""
    from icp_agent.ingest.reader import SAMPLE_BYTES, TAIL_BYTES

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for i, row in enumerate(rows[:-1]):
        writer.writerow([f"{row[0]} Ltda. São Paulo" if i > 2 * len(rows) // 3 else row[0], *row[1:]])
    body = buffer.getvalue().encode()
    assert len(body) > SAMPLE_BYTES + TAIL_BYTES and body.index("São".encode()) > SAMPLE_BYTES
    last = io.StringIO()
    csv.writer(last, lineterminator="\r\n").writerow([*rows[-1][:-1], "Açaí"])
    newline = body.index(b"\n", len(body) + len(last.getvalue().encode()) - TAIL_BYTES)
    pad = newline + TAIL_BYTES - len(body) - len(last.getvalue().encode())
    last = io.StringIO()
    csv.writer(last, lineterminator="\r\n").writerow([*rows[-1][:-1], "Açaí" + "x" * pad])
    data = body + last.getvalue().encode()
    assert data[len(data) - TAIL_BYTES - 1 : len(data) - TAIL_BYTES + 1] == b"\r\n"
    return data


@pytest.mark.parametrize("variant", ["crlf_utf8", "lf_rows_appended", "cp1252", "undecodable"])
def test_any_readable_text_file_scores_like_the_original(demo, tmp_path, variant):
    """A valid UTF-8 CRLF file with accents far into it scores (it was refused as needing conversion when the
    tail window began at a \\n); a file with mixed line endings or in cp1252 is read through a UTF-8 copy, as
    import reads it; bytes that are not text in any one encoding get the clear encoding error."""
    _, _, folder, scored = demo
    con = duckdb.connect()
    relation = con.sql(f"SELECT * FROM read_csv('{DEMO / 'prospects.csv'}', all_varchar=true) LIMIT 3000")
    header = relation.columns
    rows = [["" if v is None else v for v in r] for r in relation.fetchall()]
    data = _crlf_prospects(rows, header)
    if variant == "lf_rows_appended":  # rows appended by another tool: the last rows end in \n
        cut = data.index(b"\r\n", len(data) - 20_000)
        data = data[:cut] + data[cut:].replace(b"\r\n", b"\n")
    elif variant == "cp1252":
        data = data.decode().replace("Ltda.", "Ltda. – “Matriz”").encode("cp1252")
    elif variant == "undecodable":  # UTF-8 with one cp1252 row pasted in
        data += "Bäckerei Schmidt,baeckerei.de,12,retail,Germany,,,,\r\n".encode("cp1252")
    source = tmp_path / f"{variant}.csv"
    source.write_bytes(data)
    out = tmp_path / "scored.csv"
    if variant == "undecodable":
        with pytest.raises(UserError, match="undecodable bytes") as error:
            toolkit.score_prospects(source, out, icp_path=folder / "out" / "icp.json")
        assert error.value.file == source.name and error.value.row == 3001
        return
    result = toolkit.score_prospects(source, out, icp_path=folder / "out" / "icp.json")
    assert result.rows == 3000
    again, original = _read(out), _read(scored)[:3000]
    for column in ("icp_tier", *COMPARED, "disqualified_by"):
        assert [r[column] for r in again] == [r[column] for r in original], column
    assert again[-1]["Company Name"] == rows[-1][0] and again[-2]["Company Name"].endswith(" São Paulo")
    assert again[-1]["Short Description"].startswith("Açaí") and not again[-1]["Short Description"].endswith("\r")
    assert not list(tmp_path.glob(".*icp-spill*"))  # the UTF-8 copy went with the spill folder


def test_values_the_icp_never_saw_are_counted_once_per_field(demo, tmp_path):
    """Another tool's labels (an Apollo-style list): the result says once, per field, how many rows hold a value
    the ICP never saw, the commonest of them and what to do; a blank is missing, not unseen."""
    _, _, folder, _ = demo
    source = tmp_path / "other-tool.csv"
    industries = ["saas"] * 7 + ["fintech"] * 5 + ["Zoology"] * 3 + ["Computer Software"] * 4 + [""]
    with source.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["Company", "Industry", "Employees"])
        writer.writerows([f"c{i}", industry, 120] for i, industry in enumerate(industries))
    result = toolkit.score_prospects(source, tmp_path / "scored.csv", icp_path=folder / "out" / "icp.json")
    assert result.unseen_values == {"industry": 15}
    [warning] = result.warnings
    assert warning.startswith("industry (column 'Industry'): 15 of 20 rows (75.0%) hold a value the ICP never saw")
    assert "(commonest: 'saas' 7, 'fintech' 5, 'Zoology' 3)" in warning
    assert "map them to the CRM's with a [values.industry] table in a mapping file (score-prospects --mapping FILE" in warning
    # the per-row column agrees with the count
    per_row = duckdb.connect().execute(
        f"SELECT count_if(unseen_fields = 'industry') FROM read_csv('{tmp_path / 'scored.csv'}', all_varchar=true)"
    ).fetchall()[0][0]
    assert per_row == 15
