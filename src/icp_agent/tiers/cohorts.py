"""Phase 1 in icp.json: how good was defined, the cohorts' sizes and outcomes, the health histogram, with evidence."""

from __future__ import annotations

from typing import TYPE_CHECKING

from icp_agent import numbers
from icp_agent.evidence import Ledger
from icp_agent.health.health_score import (
    COMPONENT_TEXT,
    HealthResult,
)
from icp_agent.icp_document import CohortMetrics, HealthSummary
from icp_agent.sql import columns_of
from icp_agent.tiers.metrics import outcome_columns

if TYPE_CHECKING:
    from icp_agent.tiers.analyse import AnalysisConfig


def health_summary(con, health: HealthResult, config: AnalysisConfig, ledger: Ledger) -> HealthSummary:
    """icp.json's health section from the health frame: the definition in words, counts, cohort sizes and metrics,
    histograms, with evidence recorded in `ledger`.
    """
    frame = health.frame
    if health.definition == "health":
        description = (
            f"a 0-100 health score from {', '.join(COMPONENT_TEXT[c].split(':')[0] for c in health.components)} "
            f"(weights {', '.join(f'{c} {numbers.number(w)}' for c, w in health.weights.items())}; each percentile-ranked, a "
            f"missing component re-weighted away); good = top {numbers.percent(config.health.top_share, 0)}, "
            f"bad = bottom {numbers.percent(config.health.bottom_share, 0)}"
            + (f" ({health.note})" if health.note else "")
            + (f"; {health.cohort_note}" if health.cohort_note else "")
            + (f"; {health.churn_note}" if health.churn_note else "")
            + (
                f". {health.not_customers_note[0].upper()}{health.not_customers_note[1:]}"
                if health.not_customers_note
                else ""
            )
        )
    elif health.definition == "column":
        description = (
            f"good and bad by the outcome column {health.good_column!r}: {health.outcome}"
            if health.outcome
            else f"good = the outcome column {health.good_column!r} is true, bad = it is false"
        )
    else:
        description = "good = won deals, bad = lost deals (each deal with its company's fit fields)" + (
            f"; {health.note}" if health.note else ""
        )
    columns = columns_of(con, frame)
    metrics_sql = ["count(*) AS n", *outcome_columns(columns)]
    if "amount" in columns:
        metrics_sql.append("round(median(amount), 2) AS acv_median")
    query = (
        f"SELECT cohort, {', '.join(metrics_sql)} FROM {frame} WHERE cohort IS NOT NULL GROUP BY cohort ORDER BY cohort"
    )
    cursor = con.execute(query)
    names = [d[0] for d in cursor.description]
    cohort_metrics = {row[0]: dict(zip(names[1:], row[1:])) for row in cursor.fetchall()}
    histogram: dict[str, list[int]] = {}
    if "health" in columns:
        for cohort, bin_, count in con.execute(
            f"SELECT cohort, least(floor(health / 10), 9)::INT, count(*) FROM {frame} WHERE health IS NOT NULL "
            f"GROUP BY ALL ORDER BY ALL"
        ).fetchall():
            histogram.setdefault(cohort, [0] * 10)[bin_] = count
    ids = [
        ledger.add(
            "health_definition",
            health.definition,
            f"Good is defined as: {description}. {health.n:,} {health.entity}s were scored: "
            f"{health.n_good:,} good ({health.words[0]}) and {health.n_bad:,} bad ({health.words[1]})"
            + (
                f"; {health.censored:,} customers younger than {numbers.number(config.health.min_tenure_months)} months "
                f"were left out of retention"
                if health.censored
                else ""
            )
            + ".",
            {
                "n": health.n,
                "n_good": health.n_good,
                "n_bad": health.n_bad,
                "censored": health.censored,
                "weights": health.weights,
                "as_of": health.as_of,
            },
            n=health.n,
            query=health.queries.get("frame"),
        )
    ]
    for cohort, metrics in cohort_metrics.items():
        parts = [f"{metrics['n']:,} {health.entity}s"]
        if metrics.get("health_mean") is not None:
            parts.append(f"mean health {numbers.figure(metrics['health_mean'], one_decimal=True)}")
        if metrics.get("churn_rate") is not None:
            parts.append(f"churn {numbers.percent(metrics['churn_rate'])}")
        if metrics.get("nrr_median") is not None:
            parts.append(f"median NRR {numbers.percent(metrics['nrr_median'])}")
        ids.append(
            ledger.add(
                "cohort",
                f"{health.definition}:{cohort}",
                f"Cohort {cohort}: {', '.join(parts)}.",
                metrics,
                n=metrics["n"],
                query=" ".join(query.split()),
            )
        )
    return HealthSummary(
        definition=health.definition,
        entity=health.entity,
        description=description,
        n=health.n,
        n_good=health.n_good,
        n_bad=health.n_bad,
        components=health.components,
        weights=health.weights,
        censored=health.censored,
        not_customers=health.not_customers,
        min_tenure_months=config.health.min_tenure_months if health.definition == "health" else None,
        as_of=health.as_of,
        good_column=health.good_column,
        good_words=health.words[0],
        bad_words=health.words[1],
        cohort_sizes=health.cohort_sizes,
        cohort_metrics={cohort: CohortMetrics.model_validate(metrics) for cohort, metrics in cohort_metrics.items()},
        histogram=histogram,
        evidence=ids,
    )
