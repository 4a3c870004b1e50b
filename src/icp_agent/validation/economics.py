"""Unit economics of ICP (Tier 1) vs non-ICP entities, each with a 95% interval, against the method's
targets (win rate >= 2x, CAC >= 30% lower, NRR >= 20% higher, sales cycle >= 30% faster)."""

from __future__ import annotations

import math

from icp_agent import numbers
from icp_agent.errors import NotMeasurable
from icp_agent.evidence import Ledger
from icp_agent.icp_document import IcpDocument
from icp_agent.patterns.stats import wilson_interval
from icp_agent.sql import columns_of
from icp_agent.sql import quote_identifier as _q
from icp_agent.validation.tier1 import tier1_columns, tier1_sql, unknown_tier1_fields

TARGETS = {
    "win_rate": ("higher", 2.0, "Tier 1 win rate at least 2x non-ICP"),
    "cac": ("lower", 0.7, "Tier 1 CAC at least 30% lower"),
    "nrr": ("higher", 1.2, "Tier 1 NRR at least 20% higher"),
    "sales_cycle_days": ("lower", 0.7, "Tier 1 sales cycle at least 30% faster"),
}


def _mean_summary(n: int, mean: float | None, std: float | None, median: float | None) -> dict:
    """A mean with its 95% t-interval: {n, mean, ci_low, ci_high, median} from the aggregates (n, mean, sample
    standard deviation, median); {n, mean} alone under two values (no interval)."""
    if n < 2 or mean is None or std is None:
        return {"n": n, "mean": mean if n else None}
    from scipy import stats  # where it is used: see patterns/stats.py

    half = float(stats.t.ppf(0.975, n - 1) * std / math.sqrt(n))
    return {"n": n, "mean": mean, "ci_low": mean - half, "ci_high": mean + half, "median": median}


def _means_by_tier1(con, relation: str, value: str, in_icp: str, where: str = "TRUE") -> dict:
    """{"icp": _mean_ci, "non_icp": _mean_ci} of the SQL expression `value` over the rows of `relation` matching
    `where`, split by the Tier-1 predicate (NULL = outside): one GROUP BY in DuckDB, never the rows in Python."""
    found = {
        flag: (n, mean, std, median)
        for flag, n, mean, std, median in con.execute(
            f"SELECT coalesce(({in_icp}), FALSE), count(*), avg(__value), stddev_samp(__value), median(__value) "
            f"FROM (SELECT {value}::DOUBLE AS __value, * FROM {relation} WHERE {where}) "
            f"WHERE __value IS NOT NULL AND NOT isnan(__value) GROUP BY ALL"
        ).fetchall()
    }
    return {
        label: _mean_summary(*found.get(flag, (0, None, None, None)))
        for label, flag in (("icp", True), ("non_icp", False))
    }


def rate_ci(k: int, n: int) -> dict:
    """k of n as a rate with its Wilson 95% interval: {n, k, rate (None when n is 0), ci_low, ci_high}."""
    low, high = wilson_interval(k, n)
    return {"n": n, "k": k, "rate": k / n if n else None, "ci_low": low, "ci_high": high}


def unit_economics(con, frame: str, deals_frame: str | None, icp: IcpDocument, ledger: Ledger) -> dict:
    """Tier 1 vs non-ICP: churn, NRR, CAC (from customers), win rate, cycle, ACV (from deals)."""
    out: dict = {"comparisons": {}, "targets": [], "not_measurable": {}}
    columns = columns_of(con, frame)
    in_icp = tier1_sql(icp, columns, f"the {icp.health.entity}s")
    if not in_icp:
        return out
    comparisons = out["comparisons"]
    if "churned_flag" in columns:
        # the Tier-1 predicate on each distinct combination of the columns it reads, weighted by its rows and churned
        # rows: the same counts as on every row, without a list field's keys (a regular expression per element)
        # computed for each of a million rows
        read = "".join(f"{_q(c)}, " for c in tier1_columns(icp))
        rows = con.execute(
            f"SELECT ({in_icp}) AS icp, sum(__icp_n)::BIGINT, sum(__icp_k)::BIGINT FROM (SELECT {read}"
            f"count(*) AS __icp_n, count_if(churned_flag) AS __icp_k FROM {frame} "
            f"WHERE NOT coalesce(censored, FALSE) GROUP BY ALL) GROUP BY ALL ORDER BY 1"  # icp.json's order
        ).fetchall()
        comparisons["churn"] = {("icp" if icp_flag else "non_icp"): rate_ci(k, n) for icp_flag, n, k in rows}
    for metric, column in (("nrr", "nrr_raw"), ("cac", "cac"), ("sales_cycle_days", "days_to_close")):
        if column in columns:
            comparisons[metric] = _means_by_tier1(con, frame, _q(column), in_icp)
    deal_metrics = ("win_rate", "acv", "sales_cycle_days")
    if deals_frame:
        deal_columns = columns_of(con, deals_frame)
        try:
            # the Tier 1 found above, compiled for the deals' columns (never None: the same tiers)
            in_icp = tier1_sql(icp, deal_columns, "the deals") or "FALSE"
        except NotMeasurable as exc:
            # the deals carry none of some Tier-1 field (their firmographics are named differently, or
            # they link to no customer): win rate, ACV and cycle cannot be split by Tier 1
            for metric in deal_metrics:
                out["not_measurable"].setdefault(metric, f"the deals have no {', '.join(exc.fields)}")
            deal_columns = set()
        unknown = unknown_tier1_fields(con, deals_frame, icp, "bad") if deal_columns else []
        if unknown:
            out["win_rate_note"] = f"not measurable: lost deals carry no {', '.join(unknown)}"
            out["not_measurable"]["win_rate"] = f"lost deals carry no {', '.join(unknown)}"
        elif deal_columns:
            rows = con.execute(
                f"SELECT coalesce(({in_icp}), FALSE), count(*), count_if(good) FROM {deals_frame} "
                f"WHERE good OR bad GROUP BY ALL ORDER BY 1"  # as the churn's: non_icp, icp
            ).fetchall()
            comparisons["win_rate"] = {("icp" if f else "non_icp"): rate_ci(k, n) for f, n, k in rows}
        if "amount" in deal_columns:
            comparisons["acv"] = _means_by_tier1(con, deals_frame, "amount", in_icp, "good")
        if {"close_date", "deal_created_date"} <= deal_columns and "sales_cycle_days" not in comparisons:
            comparisons["sales_cycle_days"] = _means_by_tier1(
                con, deals_frame, "date_diff('day', deal_created_date, close_date)", in_icp, "good"
            )
    for metric, (direction, threshold, text) in TARGETS.items():
        pair = comparisons.get(metric, {})
        icp_value = _value(pair.get("icp"))
        other = _value(pair.get("non_icp"))
        if icp_value is None or other is None or other == 0:
            reason = out["not_measurable"].get(metric) or (
                "no data for this metric" if not pair else "one side (Tier 1 or non-ICP) has no value"
            )
            out["targets"].append({"metric": metric, "target": text, "status": "not measurable", "reason": reason})
            continue
        ratio = icp_value / other
        met = ratio >= threshold if direction == "higher" else ratio <= threshold
        evidence = ledger.add(
            "validation_target",
            metric,
            f"{text}: Tier 1 {_show(metric, icp_value)} vs non-ICP {_show(metric, other)} "
            f"(ratio {numbers.ratio(ratio)}): {'met' if met else 'not met'}.",
            {"icp": pair["icp"], "non_icp": pair["non_icp"], "ratio": ratio, "threshold": threshold},
            n=(pair["icp"].get("n") or 0) + (pair["non_icp"].get("n") or 0),
        )
        out["targets"].append(
            {
                "metric": metric,
                "target": text,
                "status": "met" if met else "not met",
                "icp": icp_value,
                "non_icp": other,
                "ratio": round(ratio, 3),
                "evidence": evidence,
            }
        )
    if "churn" in comparisons and {"icp", "non_icp"} <= set(comparisons["churn"]):
        a, b = comparisons["churn"]["icp"], comparisons["churn"]["non_icp"]
        out["churn_evidence"] = ledger.add(
            "validation_churn",
            "tier1",
            f"Churn: Tier 1 {numbers.percent(a['rate'])} (95% CI {numbers.percent_range(a['ci_low'], a['ci_high'])}, "
            f"n={a['n']:,}) vs non-ICP {numbers.percent(b['rate'])} ({numbers.percent_range(b['ci_low'], b['ci_high'])}, "
            f"n={b['n']:,}).",
            {"icp": a, "non_icp": b},
            n=a["n"] + b["n"],
        )
    return out


def _value(summary: dict | None) -> float | None:
    if not summary:
        return None
    return summary.get("rate") if "rate" in summary else summary.get("mean")


def _show(metric: str, value: float) -> str:
    if metric in ("win_rate", "nrr"):
        return numbers.percent(value)
    if metric == "sales_cycle_days":
        return f"{numbers.count(round(value))} days"
    return numbers.count(round(value))
