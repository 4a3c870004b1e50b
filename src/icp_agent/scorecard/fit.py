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

import uuid

import duckdb

from icp_agent import numbers
from icp_agent.errors import UserError
from icp_agent.progress import Parts
from icp_agent.scorecard.emit import (
    KINDS,
    is_present,
    value_sql,
)
from icp_agent.scorecard.evaluation import band_tables, band_warnings, evaluate, separation
from icp_agent.scorecard.model import (
    learn_scorecard,
)
from icp_agent.sql import quote_identifier as _q


def fit_scorecard(
    con: duckdb.DuckDBPyConnection,
    frame: str,
    fields: dict[str, str],
    *,
    time_column: str | None,
    group_column: str | None = None,
    where: str | None = None,
    holdout_share: float = 0.25,
    min_good: int = 30,
    min_bad: int = 30,
    pdo: float = 20,
    base_points: float = 600,
    base_odds: float | None = None,
    max_bins: int = 6,
    min_bin_share: float = 0.05,
    min_iv: float = 0.02,
    max_list_elements: int = 8,
    l2: float = 1.0,
    smoothing: float = 0.5,
    screened: list[dict] | None = None,
    neutral_missing: list[str] | None = None,
    stages: Parts | None = None,
) -> dict:
    """The scorecard for icp.json ("scorecard"): bins, WoE, coefficients, points, bands, evaluation.

    `frame` has one row per entity, `_row`, boolean `good` and the fit fields in the layout of
    `fields` (module doc). Rows modelled: `where` if given, else those with a `cohort` (a verdict)
    when the frame has that column, else all. `min_bad` counts rows that are not good. `base_odds`
    defaults to the data's odds of being good, so `base_points` is the average customer's points.
    Returns status "insufficient_data" (with the counts and minimums) instead of an untrustworthy
    model, and "no_signal" when no field separates good from not-good customers. With status "ok", "separates"
    (when the holdout was measured) says whether the score ranks good above not-good on it
    (evaluation.separation); False comes with the plain statement first among the warnings, and the priority
    of a scored record then ignores the fit score (scoring.py).
    `screened`: fields the ICP's screen kept out of every criterion (icp.json's excluded_fields:
    outcome-derived or identifier-like); they are left out here too, listed in "excluded" with
    their reason, so the lead score never rests on an outcome in disguise. `neutral_missing`: fields
    whose missingness is a data-quality finding (icp.json's data_quality); their missing bin scores
    as average, since a blank marks how records were kept, not what a company is. `stages` counts the four
    stages as they finish (progress): the modelled rows, the fit on the older rows and its holdout figures, the
    fit on every row, the bands.
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
    usable = {
        name: kind for name, kind in fields.items() if is_present(name, kind, columns) and name not in screened_out
    }
    excluded = [
        {"field": name, "reason": screened_out.get(name, "not in the data")} for name in fields if name not in usable
    ]
    settings = {
        "max_bins": max_bins,
        "min_bin_share": min_bin_share,
        "min_iv": min_iv,
        "max_list_elements": max_list_elements,
        "l2": l2,
        "smoothing": smoothing,
        "neutral_missing": sorted(set(neutral_missing or [])),
    }
    table = f"__icp_scorecard_{uuid.uuid4().hex[:12]}"
    if where is None:
        where = "cohort IS NOT NULL" if "cohort" in columns else "TRUE"
    stages = stages or Parts(None, "", "")
    stages.expect(4)
    try:
        _prepare(con, frame, table, usable, time_column, group_column, where, holdout_share)
        stages.advance()
        n, n_good = con.execute(f"SELECT count(*), count_if(good)::BIGINT FROM {table}").fetchall()[0]
        counts = {"n": n, "n_good": n_good, "n_not_good": n - n_good, "min_good": min_good, "min_bad": min_bad}
        if n_good < min_good or n - n_good < min_bad:
            return {
                "status": "insufficient_data",
                **counts,
                "reason": f"{n_good} good and {n - n_good} not-good rows; the scorecard needs at least "
                f"{min_good} good and {min_bad} not-good before its scores can be trusted",
            }
        evaluation = evaluate(
            con, table, usable, time_column, group_column, holdout_share, settings, pdo, base_points, base_odds
        )
        stages.advance()
        card = learn_scorecard(con, f"(SELECT * FROM {table})", usable, settings, pdo, base_points, base_odds)
        stages.advance()
        card["excluded"] = excluded + card["excluded"]
        if not card["features"]:
            best = max(card["excluded"], key=lambda e: e.get("iv", -1), default=None)
            return {
                "status": "no_signal",
                **counts,
                "excluded": card["excluded"],
                "reason": "no fit field separates good from not-good customers"
                + (
                    f" (the strongest, {best['field']}, has information value {numbers.divergence(best['iv'])})"
                    if best and "iv" in best
                    else ""
                ),
            }
        card["bands"], card["grades"] = band_tables(con, table, card, evaluation)
        stages.advance()
        separates, statement = separation(evaluation)
        warnings = [statement] if statement else []
        warnings += card.pop("warnings") + evaluation["warnings"] + band_warnings(card)
        judged = {} if separates is None else {"separates": separates}
        return {
            "status": "ok",
            **counts,
            **card,
            **judged,
            "evaluation": evaluation,
            "settings": settings,
            "warnings": warnings,
        }
    finally:
        con.execute(f"DROP TABLE IF EXISTS {table}")


def _prepare(
    con,
    frame: str,
    table: str,
    fields: dict[str, str],
    time_column: str | None,
    group_column: str | None,
    where: str,
    holdout_share: float,
) -> None:
    """A temp table of the modelled rows, typed like the scoring SQL reads them, with the split."""
    typed = []
    for name, kind in fields.items():
        if kind == "band":
            typed += [f"TRY_CAST({_q(name + suffix)} AS DOUBLE) AS {_q(name + suffix)}" for suffix in ("_min", "_max")]
        else:
            typed.append(f"{value_sql(name, kind)} AS {_q(name)}")
    time = _q(time_column) if time_column else "NULL"
    if group_column is None:
        # each row is its own group (of one row, its own first date and row number): a row is held out when its
        # place in (date, row) order, counted from 0, is at least share * rows, i.e. from the row at place
        # cut = ceil(share * rows) on. That row is found from the rows per date (a few thousand dates: a running
        # sum over them), then by row number within its date, instead of numbering every row in a window over a
        # sort of all of them (1M rows: 0.8 s of CPU against 0.5 s). The rows are stored as the scan gives them,
        # unsorted: every reader aggregates them (counts per bin, quantiles, a window with its own ORDER BY), and
        # sorting them by (date, row) took 0.35 s more at 1M rows
        share = f"{1 - holdout_share!r}"
        con.execute(f"""
            CREATE TEMP TABLE {table} AS
            WITH base AS (SELECT _row, good, {time} AS __icp_t{"".join(", " + t for t in typed)}
                          FROM {frame} WHERE ({where}) AND good IS NOT NULL),
            dates AS (SELECT __icp_t, n, sum(n) OVER (ORDER BY __icp_t ASC NULLS FIRST ROWS UNBOUNDED PRECEDING)
                                         - n AS before, ceil({share} * sum(n) OVER ()) AS cut
                      FROM (SELECT __icp_t, count(*) AS n FROM base GROUP BY __icp_t)),
            cut_date AS (SELECT __icp_t, cut - before AS i FROM dates WHERE before <= cut AND cut < before + n),
            cut_row AS (SELECT any_value(__icp_t) AS t, min(_row) AS r, count(*) AS found FROM (
                          SELECT b.__icp_t, b._row FROM base b JOIN cut_date c ON b.__icp_t IS NOT DISTINCT FROM c.__icp_t
                          QUALIFY row_number() OVER (ORDER BY b._row) - 1 = any_value(c.i) OVER ()))
            SELECT base.*, CASE WHEN found = 0 THEN FALSE
                                WHEN t IS NULL THEN __icp_t IS NOT NULL OR _row >= r
                                ELSE coalesce(__icp_t > t OR (__icp_t = t AND _row >= r), FALSE) END AS __icp_holdout
            FROM base, cut_row""")
        return
    group = f"coalesce(CAST({_q(group_column)} AS VARCHAR), '#' || _row)"
    con.execute(f"""
        CREATE TEMP TABLE {table} AS
        WITH base AS (SELECT _row, good, {time} AS __icp_t, {group} AS __icp_g{"".join(", " + t for t in typed)}
                      FROM {frame} WHERE ({where}) AND good IS NOT NULL),
        groups AS (SELECT __icp_g, min(__icp_t) AS t, min(_row) AS r, count(*) AS n FROM base GROUP BY __icp_g),
        ordered AS (SELECT __icp_g, sum(n) OVER (ORDER BY t ASC NULLS FIRST, r ROWS UNBOUNDED PRECEDING) - n AS before,
                           sum(n) OVER () AS total FROM groups)
        SELECT base.* EXCLUDE (__icp_g), ordered.before >= {1 - holdout_share!r} * ordered.total AS __icp_holdout
        FROM base JOIN ordered USING (__icp_g)""")
