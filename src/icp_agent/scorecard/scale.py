"""Step 5 of the scorecard: the fit score 0-100 from the points, and the priority bands and grades it falls in,
as lookup tables over every reachable points total (so Python and DuckDB agree to the digit)."""

from __future__ import annotations

import math

from icp_agent.sql import sql_literal

# The 0-100 fit score is 100 * sigmoid(FIT_A * log2(odds / average odds) + FIT_B): 40 at the data's
# average odds of being good, 70 at twice them (so the method's bands keep a meaning), and it
# never saturates, so the best prospects stay ranked.
FIT_B = math.log(40 / 60)


FIT_A = math.log(70 / 30) - FIT_B


PRIORITIES = (("high", 70), ("medium", 40), ("low", 0))


GRADES = (("A", 70), ("B", 55), ("C", 40), ("D", 0))


def points_lookup_sql(values: list, low: int, total: str) -> str:
    """values[total - low] as SQL: a constant list indexed by the points total."""
    return f"([{', '.join(sql_literal(v) for v in values)}])[greatest(1, least({len(values)}, {total} - ({low}) + 1))]"


def fit_value(card: dict, points: float) -> int:
    """The 0-100 fit score of a points total (the rule in card["fit_score"])."""
    scale = card["fit_score"]
    z = scale["a"] * (points - scale["points_at_average_odds"]) / card["scaling"]["pdo"] + scale["b"]
    return math.floor(100 / (1 + math.exp(-max(min(z, 50.0), -50.0))) + 0.5)


def fit_table(card: dict) -> tuple[int, list[int]]:
    """Fit score of every reachable points total (each feature adds one bin's points, or 0), so the
    SQL looks the score up instead of recomputing exp per row, and agrees with Python exactly."""
    low = high = card["intercept_points"]
    for feature in card["features"]:
        points = [b["points"] for b in feature["bins"]] + [0]
        low, high = low + min(points), high + max(points)
    return low, [fit_value(card, total) for total in range(low, high + 1)]


def min_points_for(card: dict, score: int) -> int:
    """The smallest points total whose fit score reaches `score` (one past the top if none does)."""
    low, fits = fit_table(card)
    return low + next((i for i, fit in enumerate(fits) if fit >= score), len(fits))


def _levels(card: dict, key: str) -> list[tuple[str, int]]:
    """Bands or grades, best first: the scorecard's own thresholds when it has them (so edits count)."""
    name = "priority" if key == "bands" else "grade"
    if card.get(key):
        return sorted(((row[name], row["min_score"]) for row in card[key]), key=lambda level: -level[1])
    return list(PRIORITIES if key == "bands" else GRADES)


def level_of(card: dict, key: str, fit: int) -> str:
    """The priority band (key "bands") or grade (key "grades") a fit score 0-100 falls in: the first level whose
    threshold it reaches, else the lowest."""
    levels = _levels(card, key)
    return next((level for level, score in levels if fit >= score), levels[-1][0])
