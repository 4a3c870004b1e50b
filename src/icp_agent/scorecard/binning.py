"""Phase 5: the points-based lead score (a scorecard), fitted and judged honestly.

The method is optbinning's scorecard (WoE binning + logistic regression, "points to double the
odds" scaling); nothing here depends on optbinning.

1. Bins per fit field, learned on the training rows only. Every bin is a criterion-like
   condition (`when`), so a bin reads like a criterion of icp.json:
   - number: up to 20 equal-frequency pre-bins, half-open [lo, hi) with open ends;
   - band (employees as `_min`/`_max`): a row is placed by the midpoint of its range (an exact
     value by itself, an open range by its one bound), and cut points are taken from observed
     lower bounds, so standard ranges such as "51-200" never straddle two bins;
   - category / bool: one pre-bin per value holding at least half the minimum bin share, the
     rarer values pooled into an "other" bin; pre-bins are ordered by good rate;
   - list (technologies): one indicator feature per element ("contains Salesforce" /
     "without Salesforce"), for elements with at least a minimum bin on both sides whose
     presence alone reaches `min_iv`, the `max_list_elements` most informative; the logistic
     model, not the binning, sorts out elements that travel together.
   Adjacent pre-bins are merged while one is below `min_bin_share` of the training rows
   (into the neighbour with the closer good rate), then while there are more than `max_bins`
   (the pair whose merge loses the least information value). Each field also has a missing
   bin (NULL, or an empty list); with fewer rows than the minimum bin it scores neutral.
2. Weight of evidence per bin, in SQL: WoE = ln((good_b + s) / (not_good_b + s)) - ln(good /
   not_good), the bin's log-odds of being good against the average (positive = better than
   average; s = 0.5 keeps empty cells finite). Note the sign: optbinning's WoE is the opposite,
   because its event is the bad outcome.
3. An L2-penalised logistic regression of `good` on the WoE features (scipy L-BFGS-B on counts
   of identical bin patterns, so a million rows need only their distinct patterns). A field's
   coefficient is ~1 when it carries evidence nothing else carries and shrinks when correlated
   fields share it, so the same signal is not counted twice. Coefficients are held >= 0: a
   field never scores against its own evidence. Fields below `min_iv` information value, and
   fields whose coefficient ends at 0, are left out and listed with the reason.
4. Points: score = offset + factor * ln(odds), factor = pdo / ln 2, offset = base_points -
   factor * ln(base_odds). Each bin gets round(factor * coefficient * WoE) points (0 =
   average evidence); the intercept gets the rest. Adding `pdo` points doubles the odds.
5. Fit score 0-100 = 100 * sigmoid(a * log2(odds / average odds) + b), with a and b set so the
   data's average odds of being good score 40 and twice the average odds score 70 (4x: 89,
   8x: 97, half: 16). The points are log-odds, so this is a fixed curve over the points,
   with no hard clamp, so the best prospects stay ranked. The method's bands thereby keep a
   meaning calibrated on the data: high (70+) = at least twice the average odds, medium
   (40-69) = at least average, low (< 40) = below average; grades A 70+, B 55+ (1.4x the
   average odds), C 40+, D below. Each band reports its threshold in points and probability
   and the good rate observed in it, in-sample and on the holdout. SQL looks the score up in
   a table of every reachable points total, so Python and DuckDB agree to the digit.
6. Evaluation: fit on the older rows, score the newest `holdout_share` (by `time_column`; rows
   without a date count as old; with `group_column` every account sits wholly on one side,
   placed by its first date). AUC with its interval, lift by decile and by band, calibration
   per decile. Then everything is refit on all rows for the final points: the newest
   customers are the most like tomorrow's prospects, and the holdout figures describe the
   procedure (fitted on less, older data, so they lean conservative).

"Good" is the frame's `good`; everything else with a verdict is "not good" (for a health
frame that includes the middle 60%). Scoring is pure SQL (`scorecard_select_sql`): a prospect
list of any size streams through DuckDB, from the scorecard dict (icp.json) alone. A NULL
takes its field's missing bin; a category value never seen in training scores 0 and is
flagged (icp_unseen); a column the prospect file lacks scores 0 and is listed
(icp_missing_fields), so no record silently scores as if it had been checked.
"""

from __future__ import annotations

import math
import uuid
from typing import Any

import duckdb
import numpy as np
from scipy.optimize import minimize
from scipy.special import expit

from icp_agent import numbers
from icp_agent.errors import NotMeasurable, UserError
from icp_agent.ingest.normalize import category_key, category_key_text
from icp_agent.sql import quote_identifier as _q
from icp_agent.sql import sql_literal
from icp_agent.tiers.criteria import criterion_sql

KINDS = ("category", "number", "bool", "list", "band")
# The 0-100 fit score is 100 * sigmoid(FIT_A * log2(odds / average odds) + FIT_B): 40 at the data's
# average odds of being good, 70 at twice them (so the method's bands keep a meaning), and it
# never saturates, so the best prospects stay ranked.
FIT_B = math.log(40 / 60)
FIT_A = math.log(70 / 30) - FIT_B
PRIORITIES = (("high", 70), ("medium", 40), ("low", 0))
GRADES = (("A", 70), ("B", 55), ("C", 40), ("D", 0))
PREBINS = 20
MAX_CATEGORY_VALUES = 5000  # beyond this a "category" is an identifier, not a trait
MIN_HOLDOUT_CLASS = 10  # good and not-good rows the holdout needs before its AUC means anything
REASONS = 3


def points_scaling(pdo: float, base_points: float, base_odds: float) -> dict[str, float]:
    """optbinning's "points to double the odds" constants: points = offset + factor * ln(odds)."""
    if pdo <= 0 or base_odds <= 0:
        raise UserError(f"pdo ({pdo}) and base_odds ({base_odds}) must be positive")
    factor = pdo / math.log(2)
    return {"pdo": pdo, "base_points": base_points, "base_odds": base_odds, "factor": factor,
            "offset": base_points - factor * math.log(base_odds)}


def woe_table(con: duckdb.DuckDBPyConnection, relation: str, codes: list[str], *,
              smoothing: float = 0.5) -> list[dict[Any, tuple[int, int, float]]]:
    """Per code expression: {bin value: (rows, good rows, WoE)}, all in one pass over `relation`.

    `relation` has a boolean `good`; each code is a SQL expression naming a row's bin (NULL is a
    bin too). WoE = ln((good_b + s) / (not_good_b + s)) - ln(good / not_good) over the relation.
    """
    aliases = [f"__icp_c{i}" for i in range(len(codes))]
    select = ", ".join(f"{code} AS {alias}" for code, alias in zip(codes, aliases))
    which = "CASE " + " ".join(f"WHEN grouping({a}) = 0 THEN {i}" for i, a in enumerate(aliases)) + " END"
    s = float(smoothing)
    rows = con.execute(f"""
        WITH scored AS (SELECT good, {select} FROM {relation}),
        totals AS (SELECT count(*)::DOUBLE AS n, count_if(good)::DOUBLE AS g FROM scored),
        bins AS (SELECT {which} AS which, {', '.join(aliases)}, count(*)::BIGINT AS n, count_if(good)::BIGINT AS g
                 FROM scored GROUP BY GROUPING SETS ({', '.join(f'({a})' for a in aliases)}))
        SELECT bins.*, ln((bins.g + {s!r}) / (bins.n - bins.g + {s!r})) - ln(totals.g / (totals.n - totals.g))
        FROM bins, totals""").fetchall()
    out: list[dict[Any, tuple[int, int, float]]] = [{} for _ in codes]
    for row in rows:
        which = row[0]
        out[which][row[1 + which]] = (int(row[-3]), int(row[-2]), float(row[-1]))
    return out


def fit_scorecard(con: duckdb.DuckDBPyConnection, frame: str, fields: dict[str, str], *,
                  time_column: str | None, group_column: str | None = None, where: str | None = None,
                  holdout_share: float = 0.25, min_good: int = 30, min_bad: int = 30, pdo: float = 20,
                  base_points: float = 600, base_odds: float | None = None, max_bins: int = 6,
                  min_bin_share: float = 0.05, min_iv: float = 0.02, max_list_elements: int = 8,
                  l2: float = 1.0, smoothing: float = 0.5, screened: list[dict] | None = None,
                  neutral_missing: list[str] | None = None) -> dict:
    """The scorecard for icp.json ("scorecard"): bins, WoE, coefficients, points, bands, evaluation.

    `frame` has one row per entity, `_row`, boolean `good` and the fit fields in the layout of
    `fields` (module doc). Rows modelled: `where` if given, else those with a `cohort` (a verdict)
    when the frame has that column, else all. `min_bad` counts rows that are not good. `base_odds`
    defaults to the data's odds of being good, so `base_points` is the average customer's points.
    Returns status "insufficient_data" (with the counts and minimums) instead of an untrustworthy
    model, and "no_signal" when no field separates good from not-good customers.
    `screened`: fields the ICP's screen kept out of every criterion (icp.json's excluded_fields:
    outcome-derived or identifier-like); they are left out here too, listed in "excluded" with
    their reason, so the lead score never rests on an outcome in disguise. `neutral_missing`: fields
    whose missingness is a data-quality finding (icp.json's data_quality); their missing bin scores
    as average, since a blank marks how records were kept, not what a company is.
    """
    if not 0 <= holdout_share < 1:
        raise UserError(f"holdout_share must be in [0, 1), got {holdout_share}")
    if max_bins < 2 or not 0 < min_bin_share < 0.5:
        raise UserError(f"max_bins must be >= 2 (got {max_bins}) and min_bin_share in (0, 0.5) (got {min_bin_share})")
    unknown = {name: kind for name, kind in fields.items() if kind not in KINDS}
    if unknown:
        raise UserError(f"unknown field kinds {unknown}", hint=f"kinds are {', '.join(KINDS)}")
    columns = set(con.sql(f"SELECT * FROM {frame} LIMIT 0").columns)
    for name in ("_row", "good", time_column, group_column):
        if name is not None and name not in columns:
            raise UserError(f"the frame {frame} has no column {name!r}")
    screened_out = {item["field"]: item["reason"] for item in screened or []}
    usable = {name: kind for name, kind in fields.items()
              if _is_present(name, kind, columns) and name not in screened_out}
    excluded = [{"field": name, "reason": screened_out.get(name, "not in the data")}
                for name in fields if name not in usable]
    settings = {"max_bins": max_bins, "min_bin_share": min_bin_share, "min_iv": min_iv,
                "max_list_elements": max_list_elements, "l2": l2, "smoothing": smoothing,
                "neutral_missing": sorted(set(neutral_missing or []))}
    table = f"__icp_scorecard_{uuid.uuid4().hex[:12]}"
    if where is None:
        where = "cohort IS NOT NULL" if "cohort" in columns else "TRUE"
    try:
        _prepare(con, frame, table, usable, time_column, group_column, where, holdout_share)
        n, n_good = con.execute(f"SELECT count(*), count_if(good)::BIGINT FROM {table}").fetchall()[0]
        counts = {"n": n, "n_good": n_good, "n_not_good": n - n_good, "min_good": min_good, "min_bad": min_bad}
        if n_good < min_good or n - n_good < min_bad:
            return {"status": "insufficient_data", **counts,
                    "reason": f"{n_good} good and {n - n_good} not-good rows; the scorecard needs at least "
                              f"{min_good} good and {min_bad} not-good before its scores can be trusted"}
        evaluation = _evaluate(con, table, usable, time_column, group_column, holdout_share, settings,
                               pdo, base_points, base_odds)
        card = _fit(con, f"(SELECT * FROM {table})", usable, settings, pdo, base_points, base_odds)
        card["excluded"] = excluded + card["excluded"]
        if not card["features"]:
            best = max(card["excluded"], key=lambda e: e.get("iv", -1), default=None)
            return {"status": "no_signal", **counts, "excluded": card["excluded"],
                    "reason": "no fit field separates good from not-good customers"
                              + (f" (the strongest, {best['field']}, has information value {best['iv']})"
                                 if best and "iv" in best else "")}
        card["bands"], card["grades"] = _band_tables(con, table, card, evaluation)
        warnings = card.pop("warnings") + evaluation["warnings"] + _band_warnings(card)
        return {"status": "ok", **counts, **card, "evaluation": evaluation, "settings": settings, "warnings": warnings}
    finally:
        con.execute(f"DROP TABLE IF EXISTS {table}")


def scorecard_select_sql(scorecard: dict, negative_icp: list[dict] | None = None, *,
                         present_columns: set[str] | None = None) -> list[tuple[str, str]]:
    """(name, SQL expression) pairs that score a relation in the frame's column layout.

    icp_points (total), icp_fit_score (0-100), icp_priority, icp_grade, icp_reasons (top fields
    by absolute points, "employees 51-200 (+18); industry Marketing (-25)"), icp_unseen (category
    fields whose value was never seen in training: scored 0, flagged), icp_missing_fields
    (fields NULL or absent from the relation: `present_columns` names the columns it has; an
    absent field scores 0, not its missing bin, since the file says nothing about the company),
    icp_disqualified / icp_disqualifier (the first negative-ICP rule matched; it flags, it does
    not change the score). Pure SQL: DuckDB evaluates shared sub-expressions once per row.
    """
    if scorecard.get("status") != "ok":
        raise UserError(f"the scorecard cannot score records: {scorecard.get('reason', scorecard.get('status'))}",
                        hint="import more customers with a known outcome, then run the analysis again")
    exprs = _score_exprs(scorecard, present_columns)
    rules = [(rule, " AND ".join(
        f"coalesce({_criterion_sql(c, scorecard['field_kinds'].get(c['field']), present_columns)}, FALSE)"
        for c in rule.get("criteria", []))) for rule in negative_icp or [] if rule.get("criteria")]
    disqualified = " OR ".join(f"({sql})" for _, sql in rules) or "FALSE"
    which = ("CASE " + " ".join(f"WHEN {sql} THEN {sql_literal(_rule_text(rule))}" for rule, sql in rules) + " END"
             if rules else "NULL::VARCHAR")
    return [*exprs.items(), ("icp_disqualified", f"({disqualified})"), ("icp_disqualifier", which)]


def score_frame(con: duckdb.DuckDBPyConnection, scorecard: dict, relation: str,
                negative_icp: list[dict] | None = None) -> duckdb.DuckDBPyRelation:
    """`relation` (a table, view or parenthesised query) with the icp_* score columns appended."""
    present = set(con.sql(f"SELECT * FROM {relation} LIMIT 0").columns)
    exprs = scorecard_select_sql(scorecard, negative_icp, present_columns=present)
    return con.sql(f"SELECT *, {', '.join(f'{sql} AS {name}' for name, sql in exprs)} FROM {relation}")


# --- preparing the rows -----------------------------------------------------------------------

def _prepare(con, frame: str, table: str, fields: dict[str, str], time_column: str | None,
             group_column: str | None, where: str, holdout_share: float) -> None:
    """A temp table of the modelled rows, typed like the scoring SQL reads them, with the split."""
    typed = []
    for name, kind in fields.items():
        if kind == "band":
            typed += [f"TRY_CAST({_q(name + suffix)} AS DOUBLE) AS {_q(name + suffix)}" for suffix in ("_min", "_max")]
        else:
            typed.append(f"{_value_sql(name, kind)} AS {_q(name)}")
    time = _q(time_column) if time_column else "NULL"
    group = f"coalesce(CAST({_q(group_column)} AS VARCHAR), '#' || _row)" if group_column else "CAST(_row AS VARCHAR)"
    con.execute(f"""
        CREATE TEMP TABLE {table} AS
        WITH base AS (SELECT _row, good, {time} AS __icp_t, {group} AS __icp_g{''.join(', ' + t for t in typed)}
                      FROM {frame} WHERE ({where}) AND good IS NOT NULL),
        groups AS (SELECT __icp_g, min(__icp_t) AS t, min(_row) AS r, count(*) AS n FROM base GROUP BY __icp_g),
        ordered AS (SELECT __icp_g, sum(n) OVER (ORDER BY t ASC NULLS FIRST, r ROWS UNBOUNDED PRECEDING) - n AS before,
                           sum(n) OVER () AS total FROM groups)
        SELECT base.* EXCLUDE (__icp_g), ordered.before >= {1 - holdout_share!r} * ordered.total AS __icp_holdout
        FROM base JOIN ordered USING (__icp_g)""")


def _is_present(name: str, kind: str, columns: set[str] | None) -> bool:
    if columns is None:
        return True
    if kind == "band":
        return {f"{name}_min", f"{name}_max"} <= columns
    return name in columns



def _value_sql(name: str, kind: str) -> str:
    """A field's value as the scorecard reads it; the casts make a prospect file's types harmless."""
    column = _q(name)
    match kind:
        case "category":
            return f"CAST({column} AS VARCHAR)"
        case "number":
            return f"TRY_CAST({column} AS DOUBLE)"
        case "bool":
            return f"TRY_CAST({column} AS BOOLEAN)"
        case "list":
            return f"TRY_CAST({column} AS VARCHAR[])"
        case "band":  # midpoint of the range; an exact value is its own midpoint
            low, high = _q(name + "_min"), _q(name + "_max")
            return f"coalesce(({low} + {high}) / 2, {low}, {high})"
    raise UserError(f"unknown field kind {kind!r} for field {name!r}")


def _missing_sql(name: str, kind: str) -> str:
    if kind == "band":
        return f"({_q(name + '_min')} IS NULL AND {_q(name + '_max')} IS NULL)"
    if kind == "list":
        return f"({_value_sql(name, kind)} IS NULL OR len({_value_sql(name, kind)}) = 0)"
    return f"({_value_sql(name, kind)} IS NULL)"


def _criterion_sql(c: dict, kind: str | None, present: set[str] | None) -> str:
    """A bin's `when` or an icp.json criterion as a predicate; FALSE when its column is absent.

    The criteria compiler (analysis/criteria.py) writes the SQL, with TRY_CASTs so a prospect file's raw
    types are harmless. Band fields: bins (`"on": "midpoint"`) compare the range's midpoint; icp.json
    criteria keep the selectors' meaning (between = the whole range inside, gte on _min, lte on _max).
    """
    kinds = {c["field"]: kind} if kind else None
    try:
        return criterion_sql(c, kinds, present, cast=True)
    except NotMeasurable:
        return "FALSE"
    except ValueError as exc:
        raise UserError(str(exc)) from None


def _rule_text(rule: dict) -> str:
    return " and ".join(c.get("label") or f"{c['field']} {c['op']}" for c in rule["criteria"])


# --- binning ----------------------------------------------------------------------------------

def _fit(con, relation: str, fields: dict[str, str], settings: dict, pdo: float, base_points: float,
         base_odds: float | None) -> dict:
    """Bins, WoE, coefficients and points learned on `relation` (a subquery of the temp table)."""
    n, n_good = con.execute(f"SELECT count(*), count_if(good)::BIGINT FROM {relation}").fetchall()[0]
    min_n = max(math.ceil(settings["min_bin_share"] * n), 1)
    features, excluded = _bin_fields(con, relation, fields, n, n_good, min_n, settings)
    features, dropped = _attach_woe(con, relation, features, n, n_good, min_n, settings)
    excluded += dropped
    average_odds = n_good / (n - n_good)
    scaling = points_scaling(pdo, base_points, base_odds or average_odds)
    warnings = []
    intercept = math.log(average_odds)
    if features:
        intercept, coefficients, converged = _logistic(con, relation, features, settings["l2"])
        if not converged:
            warnings.append("the logistic regression did not fully converge; points may shift slightly on a refit")
        kept = []
        for feature, beta in zip(features, coefficients):
            if beta <= 1e-6:
                excluded.append({"field": feature["name"], "iv": feature["iv"],
                                 "reason": "adds nothing once the other fields are known (coefficient 0)"})
                continue
            feature["coefficient"] = round(float(beta), 4)
            for b in feature["bins"]:
                b["points"] = 0 if b.get("neutral") else int(_round_half_up(scaling["factor"] * beta * b["woe"]))
            kept.append(feature)
        features = kept
    for feature in features:
        if feature["iv"] > 0.5:
            warnings.append(f"{feature['name']} separates good from not-good suspiciously well (information value "
                            f"{feature['iv']}): check that a seller knows it before the sale")
    points_at_average = scaling["offset"] + scaling["factor"] * math.log(average_odds)
    return {
        "method": "WoE binning + L2 logistic regression, points to double the odds (optbinning's scorecard)",
        "target": "good", "field_kinds": dict(fields), "scaling": scaling,
        "intercept_points": int(_round_half_up(scaling["offset"] + scaling["factor"] * intercept)),
        "fit_score": {"rule": "fit = round(100 / (1 + exp(-(a * (points - points_at_average_odds) / pdo + b)))): "
                              "40 at the data's average odds of being good, 70 at twice them, 89 at 4x, 16 at half",
                      "a": FIT_A, "b": FIT_B, "average_odds": average_odds,
                      "points_at_average_odds": points_at_average},
        "features": features, "excluded": excluded, "warnings": warnings,
    }


def _bin_fields(con, relation: str, fields: dict[str, str], n: int, n_good: int, min_n: int,
                settings: dict) -> tuple[list[dict], list[dict]]:
    """Merged bins (without WoE yet) for every field; list fields become one feature per element."""
    numeric = [name for name, kind in fields.items() if kind in ("number", "band")]
    cuts: dict[str, tuple[list[float], bool]] = {}
    if numeric:
        probabilities = [i / PREBINS for i in range(1, PREBINS)]
        parts = []
        for name in numeric:
            source = _q(name + "_min") if fields[name] == "band" else _value_sql(name, "number")
            parts += [f"quantile_disc({source}, {probabilities})",
                      f"coalesce(bool_and({source} = floor({source})), TRUE)"]
        row = con.execute(f"SELECT {', '.join(parts)} FROM {relation}").fetchall()[0]
        for i, name in enumerate(numeric):
            cuts[name] = (sorted({float(c) for c in row[2 * i] or [] if c is not None}), bool(row[2 * i + 1]))
    codes = []
    for name, kind in fields.items():
        if kind in ("number", "band"):
            value = _value_sql(name, kind)
            whens = " ".join(f"WHEN {value} < {sql_literal(c)} THEN {i}" for i, c in enumerate(cuts[name][0]))
            codes.append(f"CASE WHEN {value} IS NULL THEN NULL {whens} ELSE {len(cuts[name][0])} END")
        elif kind == "list":
            codes.append(_missing_sql(name, kind))
        else:
            codes.append(_value_sql(name, kind))
    tables = woe_table(con, relation, codes) if codes else []
    features, excluded = [], []
    totals = (n, n_good)
    for (name, kind), table in zip(fields.items(), tables):
        if kind in ("number", "band"):
            bins = _number_bins(name, kind, table, *cuts[name], totals, min_n, settings["max_bins"])
        elif kind == "list":
            elements, left_out = _list_features(con, relation, name, table, totals, min_n, settings)
            features += elements
            excluded += left_out
            continue
        else:
            if len(table) > MAX_CATEGORY_VALUES:
                excluded.append({"field": name, "reason": f"{len(table):,} distinct values: too many to score as "
                                                          "categories (an identifier, or a field to group first)"})
                continue
            bins = _category_bins(name, kind, table, totals, min_n, settings["max_bins"])
        features.append({"name": name, "field": name, "kind": kind, "bins": bins})
    return features, excluded


def _merge(items: list[dict], totals: tuple[int, int], min_n: int, max_bins: int, combine) -> list[dict]:
    """Merge adjacent bins: small ones into the neighbour with the closer good rate, then the
    pair that loses the least information value, until at most `max_bins` remain."""
    items = list(items)
    while len(items) > 1:
        small = [i for i, item in enumerate(items) if item["n"] < min_n]
        if not small:
            break
        i = min(small, key=lambda k: items[k]["n"])
        neighbours = [j for j in (i - 1, i + 1) if 0 <= j < len(items)]
        j = min(neighbours, key=lambda k: abs(_rate(items[k]) - _rate(items[i])))
        a, b = sorted((i, j))
        items[a:b + 1] = [combine(items[a], items[b])]
    while len(items) > max_bins:
        losses = [_iv(items[i], totals) + _iv(items[i + 1], totals) - _iv(combine(items[i], items[i + 1]), totals)
                  for i in range(len(items) - 1)]
        i = int(np.argmin(losses))
        items[i:i + 2] = [combine(items[i], items[i + 1])]
    return items


def _rate(item: dict) -> float:
    return (item["g"] + 0.5) / (item["n"] + 1)


def _iv(item: dict, totals: tuple[int, int]) -> float:
    n, g = totals
    good_share, other_share = (item["g"] + 0.5) / g, (item["n"] - item["g"] + 0.5) / (n - g)
    return (good_share - other_share) * math.log(good_share / other_share)


def _number_bins(name: str, kind: str, table: dict, cuts: list[float], integer: bool, totals: tuple[int, int],
                 min_n: int, max_bins: int) -> list[dict]:
    edges = [None, *cuts, None]
    items = [{"lo": edges[i], "hi": edges[i + 1], "n": table.get(i, (0, 0, 0))[0], "g": table.get(i, (0, 0, 0))[1]}
             for i in range(len(cuts) + 1)]
    while len(items) > 1 and (empty := [i for i, item in enumerate(items) if item["n"] == 0]):
        i = empty[0]
        j = i + 1 if i + 1 < len(items) else i - 1
        a, b = sorted((i, j))
        items[a:b + 1] = [_join_intervals(items[a], items[b])]
    items = _merge(items, totals, min_n, max_bins, _join_intervals)
    bins = []
    for item in items:
        when: dict[str, Any] = {"field": name}
        if item["lo"] is None and item["hi"] is None:
            when["op"] = "not_missing"
        elif item["lo"] is None:
            when.update(op="lte", max=_num(item["hi"]), max_exclusive=True)
        elif item["hi"] is None:
            when.update(op="gte", min=_num(item["lo"]))
        else:
            when.update(op="between", min=_num(item["lo"]), max=_num(item["hi"]), max_exclusive=True)
        if kind == "band" and when["op"] != "not_missing":
            when["on"] = "midpoint"
        bins.append({"when": when, "label": _interval_label(name, item["lo"], item["hi"], integer)})
    return bins + [_missing_bin(name)]


def _join_intervals(a: dict, b: dict) -> dict:
    return {"lo": a["lo"], "hi": b["hi"], "n": a["n"] + b["n"], "g": a["g"] + b["g"]}


def _category_bins(name: str, kind: str, table: dict, totals: tuple[int, int], min_n: int,
                   max_bins: int) -> list[dict]:
    """Values (or true/false) as sets ordered by good rate; values rarer than half a bin pooled as "other"."""
    seen = [(value, n, g) for value, (n, g, _) in table.items() if value is not None]
    items = [{"values": [v], "named": [v], "other": False, "n": n, "g": g} for v, n, g in seen if n >= min_n / 2]
    rare = [(v, n, g) for v, n, g in seen if n < min_n / 2]
    if rare:
        items.append({"values": [v for v, _, _ in rare], "named": [], "other": True,
                      "n": sum(n for _, n, _ in rare), "g": sum(g for _, _, g in rare)})
    items.sort(key=lambda item: (_rate(item), str(item["values"])))
    items = _merge(items, totals, min_n, max_bins,
                   lambda a, b: {"values": a["values"] + b["values"], "named": a["named"] + b["named"],
                                 "other": a["other"] or b["other"], "n": a["n"] + b["n"], "g": a["g"] + b["g"]})
    bins = []
    for item in items:
        shown = [_show(v) for v in sorted(item["named"], key=str)]
        if item["other"]:
            shown.append("other (rare values)")
        more = f" +{len(shown) - 3} more" if len(shown) > 3 else ""
        bins.append({"when": {"field": name, "op": "in", "values": sorted(item["values"], key=str)},
                     "label": f"{name} {', '.join(shown[:3])}{more}", **({"other": True} if item["other"] else {})})
    return bins + [_missing_bin(name)]


def _list_features(con, relation: str, name: str, missing: dict, totals: tuple[int, int], min_n: int,
                   settings: dict) -> tuple[list[dict], list[dict]]:
    """One contains/without feature per element common enough on both sides and informative by its
    presence alone (the missing bin, shared by every element, does not count), best first."""
    n_missing, g_missing, _ = missing.get(True, (0, 0, 0))
    n_present, g_present = totals[0] - n_missing, totals[1] - g_missing
    value = _value_sql(name, "list")
    rows = con.execute(f"SELECT e, count(*), count_if(good)::BIGINT FROM (SELECT good, unnest(list_distinct({value})) "
                       f"AS e FROM {relation}) WHERE e IS NOT NULL GROUP BY e").fetchall()
    scored = []
    for element, n, g in rows:
        iv = _iv({"n": n, "g": g}, totals) + _iv({"n": n_present - n, "g": g_present - g}, totals)
        if min(n, n_present - n) >= min_n and iv >= settings["min_iv"]:
            scored.append((iv, element))
    chosen = sorted(scored, key=lambda s: (-s[0], s[1]))[:settings["max_list_elements"]]
    features = []
    for _, element in chosen:
        bins = [{"when": {"field": name, "op": "contains", "value": element}, "label": f"{name} contains {element}"},
                {"when": {"field": name, "op": "not_contains", "value": element}, "label": f"{name} without {element}"},
                _missing_bin(name)]
        features.append({"name": f"{name}: {element}", "field": name, "kind": "list", "element": element, "bins": bins})
    left = len(rows) - len(chosen)
    excluded = [{"field": name, "reason": f"{left} of its {len(rows)} elements left out: fewer than {min_n} rows with "
                 f"or without them, information value below {settings['min_iv']}, or beyond the "
                 f"{settings['max_list_elements']} most informative"}] if left else []
    return features, excluded


def _missing_bin(name: str) -> dict:
    return {"when": {"field": name, "op": "is_missing"}, "label": f"{name} missing", "missing": True}


def _interval_label(name: str, lo: float | None, hi: float | None, integer: bool) -> str:
    """[lo, hi) in words; on whole numbers [51, 201) reads "51-200"."""
    if lo is None and hi is None:
        return f"{name} known"
    if integer:
        if lo is None:
            return f"{name} up to {_show(hi - 1)}"
        if hi is None:
            return f"{name} {_show(lo)}+"
        return f"{name} {_show(lo)}" if hi - 1 == lo else f"{name} {_show(lo)}-{_show(hi - 1)}"
    if lo is None:
        return f"{name} under {_show(hi)}"
    if hi is None:
        return f"{name} {_show(lo)} or more"
    return f"{name} {_show(lo)} to under {_show(hi)}"


def _show(value: Any) -> str:
    """Values in bin labels: 1001, 10,000, 2,631,947, 0.1234 (no thousands separator in years)."""
    return numbers.number(value, group_from=10_000)


def _num(value: float) -> float | int:
    return int(value) if float(value).is_integer() and abs(value) < 2**53 else float(value)


def _round_half_up(x: float) -> float:
    """The rounding the SQL uses (floor(x + 0.5)), so Python and DuckDB agree on every .5."""
    return math.floor(x + 0.5)


# --- WoE and the model -----------------------------------------------------------------------

def _code_sql(feature: dict, present: set[str] | None) -> str | None:
    """The bin a row falls in: i = bins[i - 1] (the missing bin is last), 0 = unseen value, NULL =
    the column is absent. The missing test comes first so the bins never see a NULL."""
    field, kind = feature["field"], feature["kind"]
    if not _is_present(field, kind, present):
        return None
    bins = feature["bins"]
    missing = f"WHEN {_missing_sql(field, kind)} THEN {len(bins)}"
    if kind == "category":
        # a constant MAP from value to bin (DuckDB would turn each IN list into a join), keyed by the
        # spelling-insensitive key: another file's "Marketing & Advertising" is "Marketing and Advertising"
        keyed: dict[str, int] = {}
        for i, b in enumerate(bins[:-1], 1):
            for v in b["when"]["values"]:
                keyed.setdefault(category_key_text(v), i)  # two spellings of one key: the first bin holds it
        entries = ", ".join(f"{sql_literal(k)}: {i}" for k, i in keyed.items())
        value = category_key(_value_sql(field, kind), markers=False)
        return f"(CASE {missing} ELSE coalesce((MAP {{{entries}}})[{value}], 0) END)"
    if kind == "bool":
        entries = ", ".join(f"{sql_literal(v)}: {i}" for i, b in enumerate(bins[:-1], 1) for v in b["when"]["values"])
        return f"(CASE {missing} ELSE coalesce((MAP {{{entries}}})[{_value_sql(field, kind)}], 0) END)"
    whens = " ".join(f"WHEN {_criterion_sql(b['when'], kind, present)} THEN {i}" for i, b in enumerate(bins[:-1], 1))
    return f"(CASE {missing} {whens} ELSE 0 END)"


def _attach_woe(con, relation: str, features: list[dict], n: int, n_good: int, min_n: int,
                settings: dict) -> tuple[list[dict], list[dict]]:
    """Counts and WoE of the final bins (one SQL pass), information value, and the `min_iv` cut."""
    if not features:
        return [], []
    tables = woe_table(con, relation, [_code_sql(f, None) for f in features], smoothing=settings["smoothing"])
    kept, dropped = [], []
    for feature, table in zip(features, tables):
        iv = 0.0
        for code, b in enumerate(feature["bins"], 1):
            rows, good, woe = table.get(code, (0, 0, 0.0))
            b.update(n=rows, n_good=good, woe=round(woe, 6))
            if b.get("missing") and rows < min_n:
                b.update(woe=0.0, neutral=f"fewer than {min_n} rows with {feature['field']} missing: scored as average")
            elif b.get("missing") and feature["field"] in settings.get("neutral_missing", ()):
                b.update(woe=0.0, neutral=f"{feature['field']} missing is a data-quality finding, not a trait: "
                                          "scored as average")
            iv += ((good / n_good) - (rows - good) / (n - n_good)) * b["woe"]
        feature["iv"] = round(iv, 4)
        informative = sum(1 for b in feature["bins"] if b["n"] > 0 and not b.get("neutral")) > 1
        if not informative or iv < settings["min_iv"]:
            dropped.append({"field": feature["name"], "iv": feature["iv"],
                            "reason": f"information value {feature['iv']} below {settings['min_iv']}"
                            if informative else "a single bin: nothing to tell customers apart"})
        else:
            kept.append(feature)
    return kept, dropped


def _logistic(con, relation: str, features: list[dict], l2: float) -> tuple[float, np.ndarray, bool]:
    """L2-penalised logistic regression of good on WoE, on counts of identical bin patterns."""
    codes = [_code_sql(f, None) for f in features]
    aliases = [f"__icp_c{i}" for i in range(len(codes))]
    data = con.execute(f"SELECT {', '.join(f'{c}::INTEGER AS {a}' for c, a in zip(codes, aliases))}, "
                       f"count(*)::DOUBLE AS n, count_if(good)::DOUBLE AS g FROM {relation} GROUP BY ALL").fetchnumpy()
    x = np.column_stack([np.array([0.0] + [b["woe"] for b in f["bins"]])[np.asarray(data[a], dtype=np.int64)]
                         for f, a in zip(features, aliases)])
    n, g = np.asarray(data["n"], dtype=float), np.asarray(data["g"], dtype=float)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = w[0] + x @ w[1:]
        residual = n * expit(z) - g
        value = float(np.sum(n * np.logaddexp(0, z) - g * z) + 0.5 * l2 * w[1:] @ w[1:])
        return value, np.concatenate([[residual.sum()], x.T @ residual + l2 * w[1:]])

    start = np.zeros(len(features) + 1)
    start[0] = math.log(g.sum() / (n.sum() - g.sum()))
    result = minimize(loss, start, jac=True, method="L-BFGS-B",
                      bounds=[(None, None)] + [(0, None)] * len(features), options={"maxiter": 500})
    return float(result.x[0]), result.x[1:], bool(result.success)


# --- scoring SQL --------------------------------------------------------------------------------

def _score_exprs(card: dict, present: set[str] | None) -> dict[str, str]:
    """The score columns. Fit score, priority and grade are look-ups by points total (`_lookup`),
    so each expression holds the total once and DuckDB plans it quickly."""
    features = card["features"]
    codes = [_code_sql(f, present) for f in features]
    total = f"({card['intercept_points']} + {' + '.join(_points_sql(f, c) for f, c in zip(features, codes))})"
    low, fits = _fit_table(card)
    unseen = [f"CASE WHEN {c} = 0 THEN {sql_literal(f['field'])} END"
              for f, c in zip(features, codes) if c and f["kind"] == "category"]
    fields = {f["field"]: f["kind"] for f in features}
    missing = [f"CASE WHEN {_missing_sql(name, kind) if _is_present(name, kind, present) else 'TRUE'} "
               f"THEN {sql_literal(name)} END" for name, kind in fields.items()]
    return {
        "icp_points": f"CAST({total} AS INTEGER)",
        "icp_fit_score": _lookup(fits, low, total),
        "icp_priority": _lookup([_level(card, "bands", fit) for fit in fits], low, total),
        "icp_grade": _lookup([_level(card, "grades", fit) for fit in fits], low, total),
        "icp_reasons": _reasons_sql(features, codes),
        "icp_unseen": _name_list(unseen),
        "icp_missing_fields": _name_list(missing),
    }


def _lookup(values: list, low: int, total: str) -> str:
    """values[total - low] as SQL: a constant list indexed by the points total."""
    return f"([{', '.join(sql_literal(v) for v in values)}])[greatest(1, least({len(values)}, {total} - ({low}) + 1))]"


def fit_value(card: dict, points: float) -> int:
    """The 0-100 fit score of a points total (the rule in card["fit_score"])."""
    scale = card["fit_score"]
    z = scale["a"] * (points - scale["points_at_average_odds"]) / card["scaling"]["pdo"] + scale["b"]
    return int(math.floor(100 / (1 + math.exp(-max(min(z, 50.0), -50.0))) + 0.5))


def _fit_table(card: dict) -> tuple[int, list[int]]:
    """Fit score of every reachable points total (each feature adds one bin's points, or 0), so the
    SQL looks the score up instead of recomputing exp per row, and agrees with Python exactly."""
    low = high = card["intercept_points"]
    for feature in card["features"]:
        points = [b["points"] for b in feature["bins"]] + [0]
        low, high = low + min(points), high + max(points)
    return low, [fit_value(card, total) for total in range(low, high + 1)]


def _min_points(card: dict, score: int) -> int:
    """The smallest points total whose fit score reaches `score` (one past the top if none does)."""
    low, fits = _fit_table(card)
    return low + next((i for i, fit in enumerate(fits) if fit >= score), len(fits))


def _levels(card: dict, key: str) -> list[tuple[str, int]]:
    """Bands or grades, best first: the scorecard's own thresholds when it has them (so edits count)."""
    name = "priority" if key == "bands" else "grade"
    if card.get(key):
        return sorted(((row[name], row["min_score"]) for row in card[key]), key=lambda level: -level[1])
    return list(PRIORITIES if key == "bands" else GRADES)


def _level(card: dict, key: str, fit: int) -> str:
    levels = _levels(card, key)
    return next((level for level, score in levels if fit >= score), levels[-1][0])


def _points_sql(feature: dict, code: str | None) -> str:
    if code is None:
        return "0"
    whens = " ".join(f"WHEN {i} THEN {b['points']}" for i, b in enumerate(feature["bins"], 1))
    return f"(CASE {code} {whens} ELSE 0 END)"


def _spelled(feature: dict, value: str) -> str:
    """A record's category value in the scorecard's spelling of its key (its bins' values), so a reason reads
    the same whichever file's spelling the record came with; a value the bins never saw keeps its own."""
    spellings: dict[str, str] = {}
    for b in feature["bins"]:
        for v in (b.get("when") or {}).get("values") or []:
            spellings.setdefault(category_key_text(v), str(v))
    if not spellings:
        return value
    entries = ", ".join(f"{sql_literal(k)}: {sql_literal(v)}" for k, v in spellings.items())
    return f"coalesce((MAP {{{entries}}})[{category_key(value, markers=False)}], {value})"


def _reasons_sql(features: list[dict], codes: list[str | None]) -> str:
    """The top fields by absolute points, as "employees 51-200 (+18); industry Marketing (-25)" (the text first:
    a cell starting with a sign reads as a formula in a spreadsheet).

    Each candidate is packed into one integer, ((top - |points|) * positions + position) * codes
    + bin code, so a plain integer sort ranks by size, then position (ties break the same way
    everywhere), and the top three are unpacked into words from constant lists. Integers sort
    and filter far faster per row than structs, and the bin codes appear once, which keeps
    DuckDB's planner quick. A missing list field is one reason (its elements' missing points
    summed), not one per element; an absent column gives none; categories show the record's
    own value ("industry Zoology"), other fields their bin's label.
    """
    shown = [(f, c) for f, c in zip(features, codes) if c is not None]
    points = [[0 if f["kind"] == "list" and b.get("missing") else b["points"] for b in f["bins"]] for f, _ in shown]
    words = [[None if f["kind"] == "category" and not b.get("missing") else b["label"] for b in f["bins"]]
             for f, _ in shown]
    missing_lists: dict[str, int] = {}
    for feature, _ in shown:
        if feature["kind"] == "list":
            missing_lists[feature["field"]] = missing_lists.get(feature["field"], 0) + feature["bins"][-1]["points"]
    extra = [(field, total) for field, total in missing_lists.items() if total != 0]
    points += [[total] for _, total in extra]  # each at its own position, bin 1
    words += [[f"{field} missing"] for field, _ in extra]
    if not points:
        return "NULL::VARCHAR"
    top = max(abs(v) for row in points for v in row) + 1
    positions, codes_base = len(points) + 1, max(len(row) for row in points) + 1

    def key(size: str, position: str, code: str) -> str:
        return f"(({top}::BIGINT - abs({size})) * {positions} + {position}) * {codes_base} + {code}"

    keys = [f"list_transform([{', '.join(c for _, c in shown)}], "
            f"lambda c, j: {key(f'coalesce({_nested(points)}[j][c], 0)', 'j', 'c')})"] if shown else []
    keys += [f"[CASE WHEN {_missing_sql(field, 'list')} THEN {key(str(total), str(len(shown) + i), '1')} "
             f"ELSE {key('0', '0', '0')} END]" for i, (field, total) in enumerate(extra, 1)]
    position, code = f"((v // {codes_base}) % {positions})", f"(v % {codes_base})"
    value = f"{_nested(points)}[{position}][{code}]"
    dynamic = " ".join(f"WHEN {i} THEN {sql_literal(f['field'] + ' ')} || {_spelled(f, _value_sql(f['field'], 'category'))}"
                       for i, (f, _) in enumerate(shown, 1) if f["kind"] == "category")
    text = f"{_nested(words)}[{position}][{code}]"
    if dynamic:
        text = f"coalesce({text}, CASE {position} {dynamic} END)"
    candidates = keys[0] if len(keys) == 1 else f"list_concat({', '.join(keys)})"
    best = f"list_slice(list_sort(list_filter({candidates}, lambda v: v < {key('0', '0', '0')})), 1, {REASONS})"
    return (f"nullif(array_to_string(list_transform({best}, lambda v: {text} || ' (' || CASE WHEN {value} > 0 "
            f"THEN '+' ELSE '' END || {value} || ')'), '; '), '')")


def _nested(rows: list[list]) -> str:
    return "[" + ", ".join("[" + ", ".join(sql_literal(v) for v in row) + "]" for row in rows) + "]"


def _name_list(cases: list[str]) -> str:
    if not cases:
        return "NULL::VARCHAR[]"
    return f"nullif(list_filter([{', '.join(cases)}], lambda x: x IS NOT NULL), [])"


# --- evaluation and bands ---------------------------------------------------------------------

def _evaluate(con, table: str, fields: dict[str, str], time_column: str | None, group_column: str | None,
              holdout_share: float, settings: dict, pdo: float, base_points: float, base_odds: float | None) -> dict:
    """Fit on the older rows, score the newest: AUC, lift by decile and band, calibration."""
    sides = con.execute(f"SELECT __icp_holdout, count(*), count_if(good)::BIGINT, min(__icp_t), max(__icp_t) "
                        f"FROM {table} GROUP BY ALL").fetchall()
    by_side = {holdout: {"n": n, "n_good": g, "n_not_good": n - g,
                         **({"first": str(first), "last": str(last)} if first is not None else {})}
               for holdout, n, g, first, last in sides}
    train = by_side.get(False, {"n": 0, "n_good": 0, "n_not_good": 0})
    holdout = by_side.get(True, {"n": 0, "n_good": 0, "n_not_good": 0})
    dated = time_column is not None and "first" in holdout
    out: dict[str, Any] = {
        "split": "time" if dated else "row_order", "time_column": time_column if dated else None,
        "group_column": group_column, "holdout_share": holdout_share, "train": train, "holdout": holdout,
        "model": "bins, WoE and coefficients fitted on the train rows only; the published points are "
                 "refit on all rows, so these figures describe the procedure on older data",
        "warnings": [],
    }
    if not dated:
        out["warnings"].append("no usable date column: the holdout is the last rows by import order, not the "
                               "newest customers, so it does not show how the score ages")
    if min(holdout["n_good"], holdout["n_not_good"], train["n_good"], train["n_not_good"]) < MIN_HOLDOUT_CLASS:
        out["status"] = "too_small"
        out["reason"] = (f"the holdout needs at least {MIN_HOLDOUT_CLASS} good and {MIN_HOLDOUT_CLASS} not-good rows "
                         f"(and the train side as many); it has {holdout['n_good']} and {holdout['n_not_good']}: "
                         "accuracy is not measured")
        out["warnings"].append(out["reason"])
        return out
    card = _fit(con, f"(SELECT * FROM {table} WHERE NOT __icp_holdout)", fields, settings, pdo, base_points, base_odds)
    if not card["features"]:
        out.update(status="no_signal", reason="no field carried signal on the train rows: every holdout score "
                                              "would be the same")
        out["warnings"].append(out["reason"])
        return out
    scored = f"{table}_holdout"
    try:
        con.execute(f"CREATE TEMP TABLE {scored} AS SELECT _row, good, {_score_exprs(card, None)['icp_points']} AS pts "
                    f"FROM {table} WHERE __icp_holdout")
        out.update(_holdout_figures(con, scored, card, holdout))
    finally:
        con.execute(f"DROP TABLE IF EXISTS {scored}")
    if out["auc"] < 0.6:
        out["warnings"].append(f"holdout AUC {out['auc']:.2f}: the score barely ranks the newest customers better "
                               "than chance")
    return out


def _holdout_figures(con, scored: str, card: dict, holdout: dict) -> dict:
    n, n_good = holdout["n"], holdout["n_good"]
    base_rate = n_good / n
    counts = con.execute(f"SELECT count_if(good)::DOUBLE AS g, count_if(NOT good)::DOUBLE AS b FROM {scored} "
                         "GROUP BY pts ORDER BY pts").fetchnumpy()
    auc = _auc(np.asarray(counts["g"]), np.asarray(counts["b"]))
    scaling = card["scaling"]
    predicted = f"1 / (1 + exp(-(pts - {sql_literal(scaling['offset'])}) / {sql_literal(scaling['factor'])}))"
    deciles = con.execute(f"""
        SELECT decile, count(*), count_if(good)::BIGINT, avg({predicted}), min(pts), max(pts)
        FROM (SELECT *, ntile(10) OVER (ORDER BY pts DESC, _row) AS decile FROM {scored})
        GROUP BY decile ORDER BY decile""").fetchall()
    out: dict[str, Any] = {"status": "ok", "auc": round(auc, 4),
                           "auc_interval": [round(v, 4) for v in _auc_interval(auc, n_good, n - n_good)]}
    out["deciles"] = [{"decile": d, "n": k, "n_good": g, "good_rate": round(g / k, 4),
                       "lift": round(g / k / base_rate, 3), "predicted": round(p, 4), "points": [lo, hi]}
                      for d, k, g, p, lo, hi in deciles]
    out["calibration"] = [{"decile": row["decile"], "predicted": row["predicted"], "observed": row["good_rate"]}
                          for row in out["deciles"]]
    stats = _level_counts(con, scored, "pts", card)
    for key, name, levels in (("bands", "priority", PRIORITIES), ("grades", "grade", GRADES)):
        out[key] = [{name: level, "n": stats[key].get(level, (0, 0))[0],
                     "share": round(stats[key].get(level, (0, 0))[0] / n, 4),
                     "n_good": stats[key].get(level, (0, 0))[1],
                     **_rate_and_lift(*stats[key].get(level, (0, 0)), base_rate)} for level, _ in levels]
    return out


def _level_counts(con, relation: str, points: str, card: dict) -> dict[str, dict[str, tuple[int, int]]]:
    """Rows and good rows per band and per grade, in one pass."""
    low, fits = _fit_table(card)
    bands = _lookup([_level(card, "bands", fit) for fit in fits], low, "p")
    grades = _lookup([_level(card, "grades", fit) for fit in fits], low, "p")
    rows = con.execute(f"""
        SELECT grouping(b), b, g, count(*), count_if(good)::BIGINT
        FROM (SELECT good, {bands} AS b, {grades} AS g FROM (SELECT good, {points} AS p FROM {relation}))
        GROUP BY GROUPING SETS ((b), (g))""").fetchall()
    out: dict[str, dict[str, tuple[int, int]]] = {"bands": {}, "grades": {}}
    for band_grouped_away, band, grade, n, good in rows:
        if band_grouped_away:
            out["grades"][grade] = (n, good)
        else:
            out["bands"][band] = (n, good)
    return out


def _rate_and_lift(n: int, good: int, base_rate: float) -> dict:
    if n == 0:
        return {"good_rate": None, "lift": None}
    return {"good_rate": round(good / n, 4), "lift": round(good / n / base_rate, 3)}


def _auc(good: np.ndarray, not_good: np.ndarray) -> float:
    """Mann-Whitney AUC from counts per score (ascending), ties counted half."""
    below = np.concatenate([[0], np.cumsum(not_good)[:-1]])
    return float(np.sum(good * (below + 0.5 * not_good)) / (good.sum() * not_good.sum()))


def _auc_interval(auc: float, n_good: int, n_not_good: int) -> tuple[float, float]:
    """Hanley & McNeil (1982) 95% interval."""
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    se = math.sqrt(max(auc * (1 - auc) + (n_good - 1) * (q1 - auc * auc) + (n_not_good - 1) * (q2 - auc * auc), 0)
                   / (n_good * n_not_good))
    return max(0.0, auc - 1.96 * se), min(1.0, auc + 1.96 * se)


def _band_tables(con, table: str, card: dict, evaluation: dict) -> tuple[list[dict], list[dict]]:
    """Priority bands and grades: thresholds in score and points, their odds, observed good rates."""
    average = card["fit_score"]["average_odds"]
    n, n_good = con.execute(f"SELECT count(*), count_if(good)::BIGINT FROM {table}").fetchall()[0]
    stats = _level_counts(con, table, _score_exprs(card, None)["icp_points"], card)
    out = []
    for key, name, levels in (("bands", "priority", PRIORITIES), ("grades", "grade", GRADES)):
        holdout = {row[name]: row for row in evaluation.get(key, [])}
        rows = []
        for level, threshold in levels:
            multiple = 2 ** ((math.log(threshold / (100 - threshold)) - FIT_B) / FIT_A) if threshold > 0 else None
            k, g = stats[key].get(level, (0, 0))
            row = {name: level, "min_score": threshold,
                   "min_points": _min_points(card, threshold) if threshold > 0 else None,
                   "odds_vs_average": round(multiple, 3) if multiple else None,
                   "min_probability": round(average * multiple / (1 + average * multiple), 4) if multiple else None,
                   "n": k, "share": round(k / n, 4), "n_good": g, **_rate_and_lift(k, g, n_good / n)}
            if level in holdout:
                row.update(holdout_n=holdout[level]["n"], holdout_good_rate=holdout[level]["good_rate"])
            rows.append(row)
        out.append(rows)
    return out[0], out[1]


def _band_warnings(card: dict) -> list[str]:
    empty = [b["priority"] for b in card["bands"] if b["n"] == 0]
    if not empty:
        return []
    return [f"no customer falls in the {' or '.join(empty)} priority band: the fields available do not single "
            "out such a group (the bands are odds multiples of the average, not quotas)"]
