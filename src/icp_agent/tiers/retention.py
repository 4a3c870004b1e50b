"""Kaplan-Meier retention curves per cohort and per Tier 1, with evidence."""

from __future__ import annotations

from typing import Literal

import numpy as np

from icp_agent import numbers
from icp_agent.evidence import Ledger
from icp_agent.health.survival import kaplan_meier
from icp_agent.icp_document import RetentionCurve, Tier
from icp_agent.sql import columns_of
from icp_agent.tiers.metrics import criteria_sql


def retention_curves(con, frame: str, tiers: list[Tier], ledger: Ledger) -> list[RetentionCurve]:
    """Kaplan-Meier retention per cohort and for Tier 1 (tenure in months, churn the event), each with its evidence;
    none when the frame has no churn flag or tenure."""
    columns = columns_of(con, frame)
    if not {"churned_flag", "tenure_months"} <= columns:
        return []
    groups: list[tuple[Literal["cohort", "tier"], str, str]] = [
        ("cohort", c, f"cohort = '{c}'") for c in ("top", "middle", "bottom")
    ]
    groups += [("tier", t.name, criteria_sql(t.criteria)) for t in tiers if t.tier == 1]
    curves = []
    for kind, name, predicate in groups:
        query = f"SELECT tenure_months, churned_flag FROM {frame} WHERE tenure_months IS NOT NULL AND {predicate}"
        # read as arrays, not a Python tuple per customer; a missing churn flag reads as not churned
        data = con.execute(query).fetchnumpy()
        if not len(data["tenure_months"]):
            continue
        months = np.asarray(data["tenure_months"], dtype=float)
        churned = np.ma.filled(data["churned_flag"], False).astype(bool)
        points = kaplan_meier(months, churned)
        at12 = next((s for t, s in reversed(points) if t <= 12), 1.0)
        evidence = ledger.add(
            "retention_curve",
            f"{kind}|{name}",
            f"Retention of {name} ({len(months):,} customers, {int(churned.sum()):,} churned): "
            f"{numbers.percent(at12)} still customers after 12 months (Kaplan-Meier).",
            {"n": len(months), "events": int(churned.sum()), "retained_12m": at12},
            n=len(months),
            query=" ".join(query.split()),
        )
        curves.append(
            RetentionCurve(
                group=name, kind=kind, n=len(months), events=int(churned.sum()), points=points, evidence=evidence
            )
        )
    return curves
