"""The scorecard: WoE, points scaling, no double counting, honest minimums, SQL scoring that
matches an independent Python reading of the scorecard, and portability through JSON."""

from __future__ import annotations

import json
import math

import duckdb
import pytest
from hypothesis import given, strategies as st

from icp_agent.scorecard.fit import fit_scorecard
from icp_agent.scorecard.model import points_scaling
from icp_agent.scorecard.emit import score_frame, scorecard_select_sql
from icp_agent.errors import UserError

FIELDS = {"industry": "category", "employees": "band", "technologies": "list", "revenue": "number",
          "is_public": "bool"}
COPIES = {"vertical": "category", "sector": "category"}


def _u(k: int) -> str:
    return f"((hash(range, {k}) % 10000) / 10000.0)"


def _build_frame(con: duckdb.DuckDBPyConnection, n: int = 5000, name: str = "frame") -> None:
    """Synthetic customers: Computer Software (15%) is the planted segment, Marketing the worst,
    employees 51-200 and Salesforce users better; `vertical` and `sector` are noisy copies of
    industry (the same signal twice more); revenue and is_public are noise. Dates rise with _row."""
    industry = (f"CASE WHEN {_u(1)} < 0.15 THEN 'Computer Software' WHEN {_u(1)} < 0.30 THEN 'Internet' "
                f"WHEN {_u(1)} < 0.45 THEN 'Financial Services' WHEN {_u(1)} < 0.58 THEN 'Retail' "
                f"WHEN {_u(1)} < 0.70 THEN 'Marketing and Advertising' WHEN {_u(1)} < 0.80 THEN 'Health Care' "
                f"WHEN {_u(1)} < 0.88 THEN 'Education' WHEN {_u(1)} < 0.95 THEN 'Manufacturing' "
                f"WHEN {_u(1)} < 0.98 THEN 'Rare ' || (hash(range, 11) % 40) END")
    employees = (f"CASE WHEN {_u(2)} < 0.15 THEN [1, 10] WHEN {_u(2)} < 0.35 THEN [11, 50] "
                 f"WHEN {_u(2)} < 0.60 THEN [51, 200] WHEN {_u(2)} < 0.75 THEN [201, 500] "
                 f"WHEN {_u(2)} < 0.85 THEN [501, 1000] WHEN {_u(2)} < 0.92 THEN [1001, 5000] "
                 f"WHEN {_u(2)} < 0.97 THEN [CAST(hash(range, 12) % 300 AS INTEGER) + 1, "
                 f"CAST(hash(range, 12) % 300 AS INTEGER) + 1] END")
    technologies = (f"CASE WHEN {_u(3)} < 0.05 THEN NULL ELSE list_filter(['Salesforce', 'Slack', 'HubSpot'], "
                    f"lambda t: (t = 'Salesforce' AND {_u(4)} < 0.4) OR (t = 'Slack' AND {_u(5)} < 0.5) "
                    f"OR (t = 'HubSpot' AND {_u(6)} < 0.3)) END")
    con.execute(f"""
        CREATE OR REPLACE TABLE {name} AS
        WITH base AS (
            SELECT range AS _row, DATE '2020-01-01' + CAST(range * 1461 // {n} AS INTEGER) AS close_date,
                   {industry} AS industry, {employees} AS emp, {technologies} AS technologies,
                   exp(5 + 3 * {_u(7)}) AS revenue, {_u(8)} < 0.3 AS is_public, {_u(9)} AS draw, {_u(10)} AS noise
            FROM range({n}))
        SELECT _row, close_date, industry, emp[1]::DOUBLE AS employees_min, emp[2]::DOUBLE AS employees_max,
               technologies, revenue, is_public,
               CASE WHEN noise < 0.93 THEN industry ELSE 'Retail' END AS vertical,
               CASE WHEN noise < 0.90 THEN (CASE WHEN industry = 'Computer Software' THEN 'Software' ELSE 'Other' END)
                    ELSE 'Software' END AS sector,
               draw < 1 / (1 + exp(-(-2.2 + 2.8 * coalesce(industry = 'Computer Software', FALSE)::INT
                   + 0.8 * coalesce(industry = 'Internet', FALSE)::INT
                   - 1.5 * coalesce(industry = 'Marketing and Advertising', FALSE)::INT
                   + 1.3 * coalesce((emp[1] + emp[2]) / 2 BETWEEN 51 AND 200, FALSE)::INT
                   + 1.1 * coalesce(list_contains(technologies, 'Salesforce'), FALSE)::INT))) AS good
        FROM base""")


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    _build_frame(connection)
    return connection


@pytest.fixture(scope="module")
def card(con) -> dict:
    return fit_scorecard(con, "frame", FIELDS | COPIES, time_column="close_date")


# (2) points to double the odds ---------------------------------------------------------------

@given(pdo=st.floats(1, 100), base_points=st.floats(0, 1000), base_odds=st.floats(1e-3, 1e3),
       odds=st.floats(1e-4, 1e4))
def test_adding_pdo_points_doubles_the_odds(pdo, base_points, base_odds, odds):
    s = points_scaling(pdo, base_points, base_odds)
    points = lambda o: s["offset"] + s["factor"] * math.log(o)  # noqa: E731
    assert s["factor"] == pytest.approx(pdo / math.log(2))
    assert s["offset"] == pytest.approx(base_points - s["factor"] * math.log(base_odds))
    assert points(base_odds) == pytest.approx(base_points, abs=1e-6)
    assert points(2 * odds) - points(odds) == pytest.approx(pdo)


def test_fit_score_anchors(card):
    scale, pdo = card["fit_score"], card["scaling"]["pdo"]
    at_average = scale["points_at_average_odds"]
    assert at_average == pytest.approx(600)  # base_odds defaults to the data's odds
    fit = lambda points: 100 / (1 + math.exp(-(scale["a"] * (points - at_average) / pdo + scale["b"])))  # noqa: E731
    assert fit(at_average) == pytest.approx(40) and fit(at_average + pdo) == pytest.approx(70)
    bands = {b["priority"]: b for b in card["bands"]}
    assert bands["high"]["odds_vs_average"] == pytest.approx(2) and bands["medium"]["odds_vs_average"] == 1
    assert card["intercept_points"] + sum(min(b["points"] for b in f["bins"]) for f in card["features"]) < \
        bands["high"]["min_points"]


# (3) correlated fields, accuracy on a time holdout ---------------------------------------------

def test_correlated_copies_are_not_counted_twice(con, card):
    alone = fit_scorecard(con, "frame", FIELDS, time_column="close_date")
    assert alone["status"] == card["status"] == "ok"
    single = {f["name"]: f for f in alone["features"]}
    both = {f["name"]: f for f in card["features"]}
    assert single["industry"]["coefficient"] > 0.8
    shared = sum(both[name]["coefficient"] for name in ("industry", "vertical", "sector") if name in both)
    assert both["industry"]["coefficient"] < 0.75 * single["industry"]["coefficient"]
    assert shared == pytest.approx(single["industry"]["coefficient"], rel=0.35)
    # the planted segment earns about as many points with its copies as without them
    def software_points(features: dict) -> int:
        total = 0
        for name in ("industry", "vertical", "sector"):
            if name in features:
                total += max(b["points"] for b in features[name]["bins"]
                             if {"Computer Software", "Software"} & set(b["when"].get("values", [])))
        return total
    assert software_points(both) == pytest.approx(software_points(single), rel=0.3)
    top = max(single["industry"]["bins"], key=lambda b: b["points"])
    assert top["when"]["values"] == ["Computer Software"]
    employees = next(f for f in card["features"] if f["name"] == "employees")
    best = max(employees["bins"], key=lambda b: b["points"])  # whole ranges, cut at their lower bounds
    assert best["label"] == "employees 51-200" and best["when"]["on"] == "midpoint"


def test_holdout_by_time_ranks_the_newest_customers(card):
    evaluation = card["evaluation"]
    assert evaluation["status"] == "ok" and evaluation["split"] == "time"
    assert evaluation["train"]["last"] <= evaluation["holdout"]["first"]
    assert evaluation["holdout"]["n"] == 1250 and evaluation["holdout"]["n_good"] > 100
    assert evaluation["auc"] > 0.75 and evaluation["auc_interval"][0] < evaluation["auc"]
    deciles = evaluation["deciles"]
    assert [d["decile"] for d in deciles] == list(range(1, 11))
    assert deciles[0]["lift"] > 2 > deciles[-1]["lift"]
    assert all(abs(c["predicted"] - c["observed"]) < 0.2 for c in evaluation["calibration"])
    bands = {b["priority"]: b for b in evaluation["bands"]}
    assert bands["high"]["good_rate"] > bands["medium"]["good_rate"] > bands["low"]["good_rate"]
    assert {b["priority"]: b.get("holdout_good_rate") for b in card["bands"]} == \
        {k: v["good_rate"] for k, v in bands.items()}
    noise = {e["field"] for e in card["excluded"]}
    assert {"revenue", "is_public"} <= noise


def test_without_a_date_the_holdout_is_flagged(con):
    card = fit_scorecard(con, "(SELECT * FROM frame WHERE _row < 1500)", {"industry": "category"}, time_column=None)
    assert card["evaluation"]["split"] == "row_order"
    assert any("not the newest" in w for w in card["warnings"])


def test_an_account_never_sits_on_both_sides(con):
    from icp_agent.scorecard.fit import _prepare

    con.execute("CREATE OR REPLACE TABLE accounts AS SELECT *, 'acct' || (_row % 700) AS company FROM frame")
    _prepare(con, "accounts", "split_check", {"industry": "category"}, "close_date", "company", "TRUE", 0.25)
    sides = con.execute("SELECT max(n) FROM (SELECT count(DISTINCT __icp_holdout) AS n FROM split_check "
                        "JOIN accounts USING (_row) GROUP BY company)").fetchall()[0][0]
    share = con.execute("SELECT avg(__icp_holdout::INT) FROM split_check").fetchall()[0][0]
    con.execute("DROP TABLE split_check")
    assert sides == 1 and 0.2 < share < 0.3


def test_without_a_group_each_row_is_its_own_side_the_newest_share_held_out(con):
    from icp_agent.scorecard.fit import _prepare

    _prepare(con, "frame", "split_rows", {"industry": "category"}, "close_date", None, "TRUE", 0.25)
    # the reference: rank the rows by (time, row number), the last 25% (by position) are held out
    wrong = con.execute("""
        SELECT count(*) FROM split_rows s JOIN (
            SELECT _row, (row_number() OVER (ORDER BY close_date ASC NULLS FIRST, _row) - 1)
                         >= 0.75 * count(*) OVER () AS expected FROM frame WHERE good IS NOT NULL) e USING (_row)
        WHERE s.__icp_holdout IS DISTINCT FROM e.expected""").fetchall()[0][0]
    rows, held = con.execute("SELECT count(*), count_if(__icp_holdout) FROM split_rows").fetchall()[0]
    con.execute("DROP TABLE split_rows")
    assert wrong == 0 and rows == con.execute("SELECT count(*) FROM frame WHERE good IS NOT NULL").fetchall()[0][0]
    assert held == rows - math.ceil(0.75 * rows)


# (4) too little data -----------------------------------------------------------------------------

def test_too_few_good_customers_gives_no_score(con):
    con.execute("CREATE OR REPLACE TABLE few AS SELECT * REPLACE (good AND _row % 50 = 0 AS good) FROM frame "
                "WHERE _row < 1000")
    assert con.execute("SELECT count_if(good) FROM few").fetchall()[0][0] < 30
    card = fit_scorecard(con, "few", FIELDS, time_column="close_date")
    assert card["status"] == "insufficient_data" and "features" not in card
    assert f"{card['n_good']} good" in card["reason"] and "at least 30 good" in card["reason"]
    with pytest.raises(UserError, match="cannot score"):
        scorecard_select_sql(card)


def test_noise_alone_gives_no_signal(con):
    card = fit_scorecard(con, "frame", {"revenue": "number", "is_public": "bool"}, time_column="close_date")
    assert card["status"] == "no_signal" and "no fit field separates" in card["reason"]
    assert {e["field"] for e in card["excluded"]} == {"revenue", "is_public"}


# (5) SQL scoring against an independent Python reading -------------------------------------------

NEGATIVE = [{"criteria": [{"field": "industry", "op": "in", "values": ["Marketing and Advertising"],
                           "label": "industry = Marketing and Advertising"}], "reason": "churns"},
            {"criteria": [{"field": "employees", "op": "between", "min": 1, "max": 10, "label": "employees 1-10"},
                          {"field": "is_public", "op": "eq", "value": False, "label": "is_public = false"}],
             "reason": "too small"}]


def _value(record: dict, field: str, kind: str):
    if kind == "band":
        low, high = record[f"{field}_min"], record[f"{field}_max"]
        return (low + high) / 2 if low is not None and high is not None else low if low is not None else high
    return record.get(field)


def _missing(record: dict, field: str, kind: str) -> bool:
    value = _value(record, field, kind)
    return value is None or (kind == "list" and len(value) == 0)


def _matches(when: dict, record: dict, kind: str) -> bool:
    op, field = when["op"], when["field"]
    if op == "is_missing":
        return _missing(record, field, kind)
    if _missing(record, field, kind):
        return False
    value = _value(record, field, kind)
    if kind == "band" and when.get("on") != "midpoint":  # icp.json criteria: the whole range inside
        low, high = record[f"{field}_min"], record[f"{field}_max"]
    else:
        low = high = value
    below = (lambda v, m: v < m) if when.get("max_exclusive") else (lambda v, m: v <= m)
    return {"in": lambda: value in when.get("values", []), "eq": lambda: value == when.get("value"),
            "contains": lambda: when.get("value") in value, "not_contains": lambda: when.get("value") not in value,
            "not_missing": lambda: True, "gte": lambda: low >= when["min"], "lte": lambda: below(high, when["max"]),
            "between": lambda: low >= when["min"] and below(high, when["max"])}[op]()


def _reference(card: dict, record: dict, present: set[str]) -> dict:
    """The scorecard read by hand: bins, points, fit curve, bands, reasons, flags."""
    total, candidates, unseen, missing = card["intercept_points"], [], [], []
    list_missing: dict[str, int] = {}
    for feature in card["features"]:
        field, kind = feature["field"], feature["kind"]
        columns = {f"{field}_min", f"{field}_max"} if kind == "band" else {field}
        if not columns <= present:
            missing.append(field)
            continue
        hit = next((b for b in feature["bins"] if _matches(b["when"], record, kind)), None)
        points = hit["points"] if hit else 0
        total += points
        if hit is None:
            unseen.append(field)
        if hit and hit.get("missing"):
            missing.append(field)
        if kind == "list" and hit and hit.get("missing"):
            list_missing[field] = list_missing.get(field, 0) + points
            continue
        words = hit["label"] if hit and (kind != "category" or hit.get("missing")) else f"{field} {record[field]}"
        candidates.append((points, words))
    candidates += [(points, f"{field} missing") for field, points in list_missing.items()]
    ranked = sorted((c for c in enumerate(candidates) if c[1][0] != 0), key=lambda c: (-abs(c[1][0]), c[0]))
    scale, pdo = card["fit_score"], card["scaling"]["pdo"]
    z = scale["a"] * (total - scale["points_at_average_odds"]) / pdo + scale["b"]
    fit = math.floor(100 / (1 + math.exp(-z)) + 0.5)
    rules = [rule for rule in NEGATIVE if all(
        set(c["field"] + s for s in (("_min", "_max") if card["field_kinds"][c["field"]] == "band" else ("",)))
        <= present and _matches(c, record, card["field_kinds"][c["field"]]) for c in rule["criteria"])]
    return {
        "icp_points": total, "icp_fit_score": fit,
        "icp_priority": "high" if fit >= 70 else "medium" if fit >= 40 else "low",
        "icp_grade": "A" if fit >= 70 else "B" if fit >= 55 else "C" if fit >= 40 else "D",
        "icp_reasons": "; ".join(f"{w} ({p:+d})" for _, (p, w) in ranked[:3]) or None,
        "icp_unseen": unseen or None, "icp_missing_fields": list(dict.fromkeys(missing)) or None,
        "icp_disqualified": bool(rules),
        "icp_disqualifier": " and ".join(c["label"] for c in rules[0]["criteria"]) if rules else None,
    }


def _prospects(con: duckdb.DuckDBPyConnection) -> None:
    """Newer-looking prospects: unseen industries, NULLs in every field, and no `vertical` column."""
    con.execute("""
        CREATE OR REPLACE TABLE prospects AS
        SELECT * EXCLUDE (vertical, good, close_date)
               REPLACE (CASE WHEN _row % 9 = 0 THEN 'Zoology' WHEN _row % 13 = 0 THEN NULL
                             ELSE industry END AS industry,
                        CASE WHEN _row % 11 = 0 THEN NULL ELSE employees_min END AS employees_min,
                        CASE WHEN _row % 11 = 0 THEN NULL ELSE employees_max END AS employees_max,
                        CASE WHEN _row % 7 = 0 THEN [] ELSE technologies END AS technologies)
        FROM frame WHERE _row % 5 = 0""")


def test_sql_scores_match_the_python_reading(con, card):
    _prospects(con)
    scored = score_frame(con, card, "prospects", NEGATIVE)
    columns = scored.columns
    rows = [dict(zip(columns, row)) for row in scored.fetchall()]
    present = set(con.sql("SELECT * FROM prospects LIMIT 0").columns)
    outputs = [c for c in columns if c.startswith("icp_")]
    assert outputs == ["icp_points", "icp_fit_score", "icp_priority", "icp_grade", "icp_reasons", "icp_unseen",
                       "icp_missing_fields", "icp_disqualified", "icp_disqualifier"]
    for row in rows:
        assert {k: row[k] for k in outputs} == _reference(card, row, present), row["_row"]
    unseen = [r for r in rows if r["industry"] == "Zoology"]
    assert unseen and all(r["icp_unseen"] == ["industry"] for r in unseen)
    assert all("vertical" in r["icp_missing_fields"] for r in rows)  # the column is absent: neutral, listed
    assert any(r["icp_disqualified"] for r in rows) and any(r["icp_priority"] == "high" for r in rows)
    assert any(r["icp_reasons"] and "technologies missing" in r["icp_reasons"] for r in rows)


def test_unseen_values_score_neutral_and_nulls_take_the_missing_bin(con, card):
    industry = next(f for f in card["features"] if f["name"] == "industry")
    missing_points = industry["bins"][-1]["points"]
    pairs = con.execute(f"""
        WITH p AS (SELECT * REPLACE (v AS industry)
                   FROM frame, (VALUES ('Zoology'), (NULL), ('Computer Software')) AS x(v) WHERE _row = 4)
        SELECT industry, {dict(scorecard_select_sql(card))['icp_points']} FROM p""").fetchall()
    points = {industry: total for industry, total in pairs}
    software = max(b["points"] for b in industry["bins"])
    assert points["Computer Software"] - points["Zoology"] == software
    assert points[None] - points["Zoology"] == missing_points


# (6) portability ------------------------------------------------------------------------------

def test_scorecard_round_trips_through_json(con, card, tmp_path):
    _prospects(con)
    path = tmp_path / "prospects.parquet"
    con.execute(f"COPY prospects TO '{path}' (FORMAT parquet)")
    loaded = json.loads(json.dumps(card))
    assert loaded == card
    source = f"read_parquet('{path}')"
    present = set(con.sql(f"SELECT * FROM {source} LIMIT 0").columns)

    def score(connection: duckdb.DuckDBPyConnection, scorecard: dict) -> list[tuple]:
        exprs = ", ".join(sql for _, sql in scorecard_select_sql(scorecard, NEGATIVE, present_columns=present))
        return connection.execute(f"SELECT _row, {exprs} FROM {source} ORDER BY _row").fetchall()

    before = score(con, card)
    after = score(duckdb.connect(), loaded)  # no workspace: a prospect file and icp.json's scorecard suffice
    assert after == before and len(after) == 1000
