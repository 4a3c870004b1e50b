"""Step 6 of the scorecard: fit on the older rows, score the newest (the holdout): AUC with its interval,
lift by decile, band and grade, calibration; and the band tables with their observed good rates."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from icp_agent import numbers
from icp_agent.scorecard.emit import points_sql, score_exprs
from icp_agent.scorecard.model import learn_scorecard, patterns_sql
from icp_agent.scorecard.scale import (
    FIT_A,
    FIT_B,
    GRADES,
    PRIORITIES,
    fit_table,
    level_of,
    min_points_for,
    points_lookup_sql,
)
from icp_agent.sql import sql_literal

MIN_HOLDOUT_CLASS = 10  # good and not-good rows the holdout needs before its AUC means anything


def evaluate(
    con,
    table: str,
    fields: dict[str, str],
    time_column: str | None,
    group_column: str | None,
    holdout_share: float,
    settings: dict,
    pdo: float,
    base_points: float,
    base_odds: float | None,
) -> dict:
    """Fit on the older rows, score the newest: AUC, lift by decile and band, calibration."""
    sides = con.execute(
        f"SELECT __icp_holdout, count(*), count_if(good)::BIGINT, min(__icp_t), max(__icp_t) FROM {table} GROUP BY ALL"
    ).fetchall()
    by_side = {
        holdout: {
            "n": n,
            "n_good": g,
            "n_not_good": n - g,
            **({"first": str(first), "last": str(last)} if first is not None else {}),
        }
        for holdout, n, g, first, last in sides
    }
    train = by_side.get(False, {"n": 0, "n_good": 0, "n_not_good": 0})
    holdout = by_side.get(True, {"n": 0, "n_good": 0, "n_not_good": 0})
    dated = time_column is not None and "first" in holdout
    out: dict[str, Any] = {
        "split": "time" if dated else "row_order",
        "time_column": time_column if dated else None,
        "group_column": group_column,
        "holdout_share": holdout_share,
        "train": train,
        "holdout": holdout,
        "model": "bins, WoE and coefficients fitted on the train rows only; the published points are "
        "refit on all rows, so these figures describe the procedure on older data",
        "warnings": [],
    }
    if not dated:
        out["warnings"].append(
            "no usable date column: the holdout is the last rows by import order, not the "
            "newest customers, so it does not show how the score ages"
        )
    if min(holdout["n_good"], holdout["n_not_good"], train["n_good"], train["n_not_good"]) < MIN_HOLDOUT_CLASS:
        out["status"] = "too_small"
        out["reason"] = (
            f"the holdout needs at least {MIN_HOLDOUT_CLASS} good and {MIN_HOLDOUT_CLASS} not-good rows "
            f"(and the train side as many); it has {holdout['n_good']} and {holdout['n_not_good']}: "
            "accuracy is not measured"
        )
        out["warnings"].append(out["reason"])
        return out
    card = learn_scorecard(
        con, f"(SELECT * FROM {table} WHERE NOT __icp_holdout)", fields, settings, pdo, base_points, base_odds
    )
    if not card["features"]:
        out.update(
            status="no_signal",
            reason="no field carried signal on the train rows: every holdout score would be the same",
        )
        out["warnings"].append(out["reason"])
        return out
    scored = f"{table}_holdout"
    try:
        con.execute(
            f"CREATE TEMP TABLE {scored} AS SELECT _row, good, {score_exprs(card, None)['icp_points']} AS pts "
            f"FROM {table} WHERE __icp_holdout"
        )
        out.update(_holdout_figures(con, scored, card, holdout))
    finally:
        con.execute(f"DROP TABLE IF EXISTS {scored}")
    if out["auc"] < 0.6:
        out["warnings"].append(
            f"holdout AUC {numbers.auc(out['auc'])}: the score barely ranks the newest customers better than chance"
        )
    return out


def _holdout_figures(con, scored: str, card: dict, holdout: dict) -> dict:
    n, n_good = holdout["n"], holdout["n_good"]
    base_rate = n_good / n
    counts = con.execute(
        f"SELECT count_if(good)::DOUBLE AS g, count_if(NOT good)::DOUBLE AS b FROM {scored} GROUP BY pts ORDER BY pts"
    ).fetchnumpy()
    auc = _auc(np.asarray(counts["g"]), np.asarray(counts["b"]))
    scaling = card["scaling"]
    predicted = f"1 / (1 + exp(-(pts - {sql_literal(scaling['offset'])}) / {sql_literal(scaling['factor'])}))"
    deciles = con.execute(f"""
        SELECT decile, count(*), count_if(good)::BIGINT, avg({predicted}), min(pts), max(pts)
        FROM (SELECT *, ntile(10) OVER (ORDER BY pts DESC, _row) AS decile FROM {scored})
        GROUP BY decile ORDER BY decile""").fetchall()
    out: dict[str, Any] = {
        "status": "ok",
        "auc": round(auc, 4),
        "auc_interval": [round(v, 4) for v in _auc_interval(auc, n_good, n - n_good)],
    }
    out["deciles"] = [
        {
            "decile": d,
            "n": k,
            "n_good": g,
            "good_rate": round(g / k, 4),
            "lift": round(g / k / base_rate, 3),
            "predicted": round(p, 4),
            "points": [lo, hi],
        }
        for d, k, g, p, lo, hi in deciles
    ]
    out["calibration"] = [
        {"decile": row["decile"], "predicted": row["predicted"], "observed": row["good_rate"]} for row in out["deciles"]
    ]
    stats = _level_counts(con, scored, "pts", card)
    for key, name, levels in (("bands", "priority", PRIORITIES), ("grades", "grade", GRADES)):
        out[key] = [
            {
                name: level,
                "n": stats[key].get(level, (0, 0))[0],
                "share": round(stats[key].get(level, (0, 0))[0] / n, 4),
                "n_good": stats[key].get(level, (0, 0))[1],
                **_rate_and_lift(*stats[key].get(level, (0, 0)), base_rate),
            }
            for level, _ in levels
        ]
    return out


def _level_counts(
    con, relation: str, points: str, card: dict, *, grouped: bool = False
) -> dict[str, dict[str, tuple[int, int]]]:
    """Rows and good rows per band and per grade, in one pass. `grouped`: `relation` holds groups of rows, their
    rows in __icp_n and good rows in __icp_g (band_tables' bin patterns), instead of one row per entity with `good`."""
    low, fits = fit_table(card)
    bands = points_lookup_sql([level_of(card, "bands", fit) for fit in fits], low, "p")
    grades = points_lookup_sql([level_of(card, "grades", fit) for fit in fits], low, "p")
    carried, counts = (
        ("__icp_n, __icp_g", "sum(__icp_n)::BIGINT, sum(__icp_g)::BIGINT")
        if grouped
        else ("good", "count(*), count_if(good)::BIGINT")
    )
    rows = con.execute(f"""
        SELECT grouping(b), b, g, {counts}
        FROM (SELECT {carried}, {bands} AS b, {grades} AS g FROM (SELECT {carried}, {points} AS p FROM {relation}))
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
    se = math.sqrt(
        max(auc * (1 - auc) + (n_good - 1) * (q1 - auc * auc) + (n_not_good - 1) * (q2 - auc * auc), 0)
        / (n_good * n_not_good)
    )
    return max(0.0, auc - 1.96 * se), min(1.0, auc + 1.96 * se)


def band_tables(con, table: str, card: dict, evaluation: dict) -> tuple[list[dict], list[dict]]:
    """Priority bands and grades: thresholds in score and points, their odds, observed good rates."""
    average = card["fit_score"]["average_odds"]
    n, n_good = con.execute(f"SELECT count(*), count_if(good)::BIGINT FROM {table}").fetchall()[0]
    # the points are score_exprs' icp_points over the rows' bin patterns (model.patterns_sql: each category or list
    # spelling keyed once per group of rows, not once per row), counted with the rows each pattern stands for
    features = card["features"]
    codes = [f"__icp_c{i}" for i in range(len(features))]
    points = f"CAST(({card['intercept_points']} + {' + '.join(points_sql(f, c) for f, c in zip(features, codes))}) AS INTEGER)"
    patterns = f"(SELECT *, n AS __icp_n, g AS __icp_g FROM ({patterns_sql(table, features, codes)}))"
    stats = _level_counts(con, patterns, points, card, grouped=True)
    out = []
    for key, name, levels in (("bands", "priority", PRIORITIES), ("grades", "grade", GRADES)):
        holdout = {row[name]: row for row in evaluation.get(key, [])}
        rows = []
        for level, threshold in levels:
            multiple = 2 ** ((math.log(threshold / (100 - threshold)) - FIT_B) / FIT_A) if threshold > 0 else None
            k, g = stats[key].get(level, (0, 0))
            row = {
                name: level,
                "min_score": threshold,
                "min_points": min_points_for(card, threshold) if threshold > 0 else None,
                "odds_vs_average": round(multiple, 3) if multiple else None,
                "min_probability": round(average * multiple / (1 + average * multiple), 4) if multiple else None,
                "n": k,
                "share": round(k / n, 4),
                "n_good": g,
                **_rate_and_lift(k, g, n_good / n),
            }
            if level in holdout:
                row.update(holdout_n=holdout[level]["n"], holdout_good_rate=holdout[level]["good_rate"])
            rows.append(row)
        out.append(rows)
    return out[0], out[1]


def band_warnings(card: dict) -> list[str]:
    """The warning for each priority band no fitted customer falls in (the bands are odds multiples, not quotas)."""
    empty = [b["priority"] for b in card["bands"] if b["n"] == 0]
    if not empty:
        return []
    return [
        f"no customer falls in the {' or '.join(empty)} priority band: the fields available do not single "
        "out such a group (the bands are odds multiples of the average, not quotas)"
    ]


MIN_BAND_ROWS = 10  # holdout rows a priority band needs before its good rate is compared


def separation(evaluation: dict) -> tuple[bool | None, str | None]:
    """Whether the score separates good from not-good on the holdout, and if not, the plain statement why.

    It does when the holdout AUC's 95% interval lies above 0.5 (chance) and the priority bands' good rates rise
    from low to high (each band with at least MIN_BAND_ROWS holdout rows at least the one below it, and high above
    low). (None, None) when the holdout was not measured (too small, no signal): its own reason says so."""
    if evaluation.get("status") != "ok" or not evaluation.get("auc_interval"):
        return None, None
    low, high = evaluation["auc_interval"]
    problems = []
    if low <= 0.5:
        problems.append(
            f"holdout AUC {numbers.auc(evaluation['auc'])}, 95% interval {numbers.auc(low)}-{numbers.auc(high)}, "
            "includes 0.5, the rate of chance"
        )
    bands = [b for b in reversed(evaluation.get("bands") or []) if b.get("n", 0) >= MIN_BAND_ROWS]  # low -> high
    rates = [b["good_rate"] for b in bands]
    if len(rates) >= 2 and (any(b < a for a, b in itertools.pairwise(rates)) or rates[-1] <= rates[0]):
        problems.append(
            "the good rate does not rise from the low band to the high one ("
            + ", ".join(f"{b['priority']} {numbers.percent(b['good_rate'])}" for b in bands)
            + " on the holdout)"
        )
    if not problems:
        return True, None
    return False, (
        f"the fit score does not separate good from not-good customers on held-out data ({'; '.join(problems)}): "
        "do not use it to rank prospects; priority follows the ICP's tiers alone"
    )
