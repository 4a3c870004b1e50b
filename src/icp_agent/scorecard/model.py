"""Step 3-4 of the scorecard: the L2 logistic regression on the WoE features and the points scaling
(points to double the odds)."""

from __future__ import annotations

import math
import uuid

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit

from icp_agent import numbers
from icp_agent.errors import UserError
from icp_agent.scorecard.binning import attach_woe, bin_fields
from icp_agent.scorecard.emit import code_sql
from icp_agent.scorecard.scale import FIT_A, FIT_B
from icp_agent.sql import quote_identifier as _q

# A field is nested in another when this share of its rows (both known) holds the other's commonest value for its own
NESTED_PURITY = 0.95


def nested_fields(con, relation: str, names: list[str]) -> dict[str, list[str]]:
    """finer field -> the coarser category fields of `names` its values lie within: for at least NESTED_PURITY of
    the rows where both are known, a value of the finer field goes with one value of the coarser one (a city with
    its region, a zip code with its city), and the finer field has more distinct values (of two fields with as
    many, each determining the other, the later one is the finer: a copy). Among several levels of one place every
    finer level maps to every coarser one, so the caller can keep the coarsest informative level alone.

    One query for the distinct counts, one grouped query per pair with more values on one side; a field with
    nearly one row per value looks nested in anything, and leaving it out beside a coarser informative field is
    right too (high-cardinality location fields must not all enter)."""
    if len(names) < 2:
        return {}
    quoted = {name: '"' + name.replace('"', '""') + '"' for name in names}
    counts = con.execute(
        f"SELECT {', '.join(f'count(DISTINCT {quoted[m]})' for m in names)} FROM {relation}"
    ).fetchone()
    distinct = dict(zip(names, counts))
    pairs = [
        (a, b)
        for i, a in enumerate(names)
        for j, b in enumerate(names)
        if a != b and distinct[b] >= 2 and (distinct[a] > distinct[b] or (distinct[a] == distinct[b] and i > j))
    ]
    if not pairs:
        return {}
    parts = [
        f"(SELECT {k} AS pair, sum(top)::DOUBLE / sum(total) AS purity FROM (SELECT max(c) AS top, sum(c) AS total "
        f"FROM (SELECT {quoted[a]} AS a, {quoted[b]} AS b, count(*) AS c FROM {relation} WHERE {quoted[a]} IS NOT NULL "
        f"AND {quoted[b]} IS NOT NULL GROUP BY ALL) GROUP BY a))"
        for k, (a, b) in enumerate(pairs)
    ]
    nested: dict[str, list[str]] = {}
    # in pair order: a field nested in two equally coarse fields names the first (UNION ALL's order varies with threads)
    for k, purity in con.execute(" UNION ALL ".join(parts) + " ORDER BY pair").fetchall():
        if purity is not None and purity >= NESTED_PURITY:
            a, b = pairs[k]
            nested.setdefault(a, []).append(b)
    for coarser in nested.values():
        coarser.sort(key=lambda b: distinct[b])  # the coarsest first
    return nested


def points_scaling(pdo: float, base_points: float, base_odds: float) -> dict[str, float]:
    """optbinning's "points to double the odds" constants: points = offset + factor * ln(odds)."""
    if pdo <= 0 or base_odds <= 0:
        raise UserError(f"pdo ({pdo}) and base_odds ({base_odds}) must be positive")
    factor = pdo / math.log(2)
    return {
        "pdo": pdo,
        "base_points": base_points,
        "base_odds": base_odds,
        "factor": factor,
        "offset": base_points - factor * math.log(base_odds),
    }


def learn_scorecard(
    con, relation: str, fields: dict[str, str], settings: dict, pdo: float, base_points: float, base_odds: float | None
) -> dict:
    """Bins, WoE, coefficients and points learned on `relation` (a subquery of the temp table)."""
    n, n_good = con.execute(f"SELECT count(*), count_if(good)::BIGINT FROM {relation}").fetchall()[0]
    min_n = max(math.ceil(settings["min_bin_share"] * n), 1)
    features, excluded = bin_fields(con, relation, fields, n, n_good, min_n, settings)
    nested = nested_fields(con, relation, [f["name"] for f in features if f["kind"] == "category"])
    # every row's final bins are computed once, into a small table of the distinct bin patterns with their counts:
    # the WoE and the regression both read it instead of the rows (each pass over them normalised every category)
    patterns = f"__icp_patterns_{uuid.uuid4().hex[:12]}"
    codes = [f"__icp_c{i}" for i in range(len(features))]
    if features:
        con.execute(f"CREATE TEMP TABLE {patterns} AS {patterns_sql(relation, features, codes)}")
    try:
        return _fit_patterns(
            con,
            patterns,
            features,
            codes,
            fields,
            excluded,
            n,
            n_good,
            min_n,
            settings,
            pdo,
            base_points,
            base_odds,
            nested,
        )
    finally:
        con.execute(f"DROP TABLE IF EXISTS {patterns}")


def patterns_sql(relation: str, features: list[dict], codes: list[str]) -> str:
    """The distinct bin patterns of `relation`'s rows with their counts: a row per combination of the features' bins
    (`codes` its columns, in the features' order), n rows and g good rows.

    A category's or a list's bin reads its spelling-insensitive key (a regular expression per value), so the rows
    are first grouped by those columns' raw values and the other features' bins, and each key is worked out once per
    group, not once per row: at a million customers with three category fields the keys were 90% of this query."""
    keyed = {f["field"]: None for f in features if f["kind"] in ("category", "list")}
    inner = [_q(field) for field in keyed] + [
        f"{code_sql(f, None)}::INTEGER AS {c}" for f, c in zip(features, codes) if f["field"] not in keyed
    ]
    outer = [f"{code_sql(f, None) if f['field'] in keyed else c}::INTEGER AS {c}" for f, c in zip(features, codes)]
    return (
        f"SELECT {', '.join(outer)}, sum(n)::BIGINT AS n, sum(g)::BIGINT AS g FROM (SELECT {', '.join(inner)}, "
        f"count(*) AS n, count_if(good) AS g FROM {relation} GROUP BY ALL) GROUP BY ALL"
    )


def _fit_patterns(
    con,
    patterns: str,
    features: list[dict],
    codes: list[str],
    fields: dict[str, str],
    excluded: list[dict],
    n: int,
    n_good: int,
    min_n: int,
    settings: dict,
    pdo: float,
    base_points: float,
    base_odds: float | None,
    nested: dict[str, list[str]] | None = None,
) -> dict:
    """learn_scorecard from the binned features and the table of their bin patterns (`codes` its columns, n and g its counts).
    `nested`: finer field -> the coarser fields its values lie within (`nested_fields`)."""
    code_of = {id(f): c for f, c in zip(features, codes)}
    features, dropped = attach_woe(con, patterns, features, n, n_good, min_n, settings, codes=codes, counts=("n", "g"))
    excluded += dropped
    informative = {f["name"] for f in features}
    coarser = {f["name"]: [c for c in (nested or {}).get(f["name"], []) if c in informative] for f in features}
    # one place counted once: a field whose values lie within an informative coarser field's (zip in city in
    # region in country, sub-industry in industry) is left out, so the coarsest informative level scores alone
    excluded += [
        {
            "field": f["name"],
            "iv": f["iv"],
            "reason": f"nested in {coarser[f['name']][0]} (each of its values lies within one of "
            f"{coarser[f['name']][0]}'s): counted once, at the coarser level",
        }
        for f in features
        if coarser[f["name"]]
    ]
    features = [f for f in features if not coarser[f["name"]]]
    average_odds = n_good / (n - n_good)
    scaling = points_scaling(pdo, base_points, base_odds or average_odds)
    warnings = []
    intercept = math.log(average_odds)
    if features:
        intercept, coefficients, converged = _logistic(
            con, patterns, features, settings["l2"], [code_of[id(f)] for f in features]
        )
        if not converged:
            warnings.append("the logistic regression did not fully converge; points may shift slightly on a refit")
        kept = []
        for feature, beta in zip(features, coefficients):
            if beta <= 1e-6:
                excluded.append(
                    {
                        "field": feature["name"],
                        "iv": feature["iv"],
                        "reason": "adds nothing once the other fields are known (coefficient 0)",
                    }
                )
                continue
            feature["coefficient"] = round(float(beta), 4)
            for b in feature["bins"]:
                b["points"] = 0 if b.get("neutral") else int(_round_half_up(scaling["factor"] * beta * b["woe"]))
            kept.append(feature)
        features = kept
    for feature in features:
        if feature["iv"] > 0.5:
            warnings.append(
                f"{feature['name']} separates good from not-good suspiciously well (information value "
                f"{numbers.divergence(feature['iv'])}): check that a seller knows it before the sale"
            )
    points_at_average = scaling["offset"] + scaling["factor"] * math.log(average_odds)
    return {
        "method": "WoE binning + L2 logistic regression, points to double the odds (optbinning's scorecard)",
        "target": "good",
        "field_kinds": dict(fields),
        "scaling": scaling,
        "intercept_points": int(_round_half_up(scaling["offset"] + scaling["factor"] * intercept)),
        "fit_score": {
            "rule": "fit = round(100 / (1 + exp(-(a * (points - points_at_average_odds) / pdo + b)))): "
            "40 at the data's average odds of being good, 70 at twice them, 89 at 4x, 16 at half",
            "a": FIT_A,
            "b": FIT_B,
            "average_odds": average_odds,
            "points_at_average_odds": points_at_average,
        },
        "features": features,
        "excluded": excluded,
        "warnings": warnings,
    }


def _round_half_up(x: float) -> float:
    """The rounding the SQL uses (floor(x + 0.5)), so Python and DuckDB agree on every .5."""
    return math.floor(x + 0.5)


def _logistic(con, patterns: str, features: list[dict], l2: float, codes: list[str]) -> tuple[float, np.ndarray, bool]:
    """L2-penalised logistic regression of good on WoE, on counts of identical bin patterns.

    `patterns`: learn_scorecard's table of bin patterns, `codes` its column holding each feature's bin, n and g its counts
    (rows, good rows), grouped again on these features' columns alone (the dropped ones no longer split it)."""
    aliases = [f"__icp_x{i}" for i in range(len(features))]
    data = con.execute(
        f"SELECT {', '.join(f'{c} AS {a}' for c, a in zip(codes, aliases))}, "
        f"sum(n)::DOUBLE AS n, sum(g)::DOUBLE AS g FROM {patterns} GROUP BY ALL ORDER BY ALL"
    ).fetchnumpy()  # ordered: the fit's float sums (and so its last digits) must not vary with the row order
    x = np.column_stack(
        [
            np.array([0.0] + [b["woe"] for b in f["bins"]])[np.asarray(data[a], dtype=np.int64)]
            for f, a in zip(features, aliases)
        ]
    )
    n, g = np.asarray(data["n"], dtype=float), np.asarray(data["g"], dtype=float)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = w[0] + x @ w[1:]
        residual = n * expit(z) - g
        value = float(np.sum(n * np.logaddexp(0, z) - g * z) + 0.5 * l2 * w[1:] @ w[1:])
        return value, np.concatenate([[residual.sum()], x.T @ residual + l2 * w[1:]])

    start = np.zeros(len(features) + 1)
    start[0] = math.log(g.sum() / (n.sum() - g.sum()))
    result = minimize(
        loss,
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=[(None, None)] + [(0, None)] * len(features),
        options={"maxiter": 500},
    )
    return float(result.x[0]), result.x[1:], bool(result.success)
