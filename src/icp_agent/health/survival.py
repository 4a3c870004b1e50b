"""Kaplan-Meier retention curves: churn is the event, active customers are censored.

scipy's `ecdf` on CensoredData is the Kaplan-Meier estimator; we only thin the steps
to what a chart and an evidence item need.
"""

from __future__ import annotations

import numpy as np


def kaplan_meier(months: np.ndarray, churned: np.ndarray, max_points: int = 60) -> list[tuple[float, float]]:
    """(months, share still a customer) at each step, starting at (0, 1)."""
    from scipy import stats  # where it is used: see patterns/stats.py

    months = np.asarray(months, dtype=float)
    churned = np.asarray(churned, dtype=bool)
    keep = ~np.isnan(months)
    months, churned = np.clip(months[keep], 0, None), churned[keep]
    if months.size == 0 or not churned.any():
        return [(0.0, 1.0), (float(months.max()) if months.size else 0.0, 1.0)]
    data = stats.CensoredData(uncensored=months[churned], right=months[~churned])
    sf = stats.ecdf(data).sf
    times, survival = sf.quantiles, sf.probabilities
    if times.size > max_points:
        pick = np.unique(np.linspace(0, times.size - 1, max_points).round().astype(int))
        times, survival = times[pick], survival[pick]
    points = [(0.0, 1.0)] + [(round(float(t), 2), round(float(s), 4)) for t, s in zip(times, survival)]
    horizon = float(months.max())
    if horizon > points[-1][0]:
        points.append((round(horizon, 2), points[-1][1]))
    return points
