"""Phase 5 validation: does the ICP pay off, does it hold on new customers, is the market big enough?

- unit economics of ICP (Tier 1) vs non-ICP entities, each with a 95% interval, against
  the method's targets (win rate >= 2x, CAC >= 30% lower, NRR >= 20% higher, sales cycle
  >= 30% faster): met / not met / not measurable;
- a backtest: the ICP rebuilt without the customers acquired in the data's last 12 months,
  then asked whether its Tier 1 held the best of those new customers;
- the market: share of the prospect universe per tier (too broad above half of it, too
  narrow when Tier-1 accounts x median Tier-1 ACV is under 3x the revenue target),
  penetration per tier, and the share of open pipeline in Tier 1 (under 40% = a
  targeting problem).
Every figure becomes an evidence item.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
from scipy import stats

from icp_agent import numbers
from icp_agent.errors import DataShapeError, NotMeasurable
from icp_agent.evidence import Ledger, clean
from icp_agent.health.health_score import build_deals_frame
from icp_agent.models import IcpDocument, Validation
from icp_agent.patterns.stats import fisher_exact, wilson_interval
from icp_agent.sql import columns_of
from icp_agent.sql import quote_identifier as _q
from icp_agent.tiers.analyse import AnalysisConfig, AnalysisInputs, analyse
from icp_agent.tiers.criteria import (
    columns_needed,
    criteria_sql,
    document_kinds,
    missing_fields,
    resolve_kind,
)

TARGETS = {"win_rate": ("higher", 2.0, "Tier 1 win rate at least 2x non-ICP"),
           "cac": ("lower", 0.7, "Tier 1 CAC at least 30% lower"),
           "nrr": ("higher", 1.2, "Tier 1 NRR at least 20% higher"),
           "sales_cycle_days": ("lower", 0.7, "Tier 1 sales cycle at least 30% faster")}



def tier1_sql(icp: IcpDocument, columns: set[str] | None = None, table: str | None = None) -> str | None:
    """SQL: the row is in a Tier 1 (any segment); None without a Tier 1. With `columns`, raises NotMeasurable
    when the relation lacks a Tier-1 field (the criteria compiler's check)."""
    tier1 = [t for t in icp.tiers if t.tier == 1]
    kinds = document_kinds(icp)
    return " OR ".join(f"({criteria_sql(t.criteria, kinds, columns, table=table)})" for t in tier1) or None


def _mean_ci(values: np.ndarray) -> dict:
    values = values[~np.isnan(values)]
    if values.size < 2:
        return {"n": int(values.size), "mean": float(values.mean()) if values.size else None}
    mean = float(values.mean())
    half = float(stats.t.ppf(0.975, values.size - 1) * values.std(ddof=1) / math.sqrt(values.size))
    return {"n": int(values.size), "mean": mean, "ci_low": mean - half, "ci_high": mean + half,
            "median": float(np.median(values))}


def _rate_ci(k: int, n: int) -> dict:
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
        rows = con.execute(f"SELECT ({in_icp}) AS icp, count(*), count_if(churned_flag) FROM {frame} "
                           f"WHERE NOT coalesce(censored, FALSE) GROUP BY ALL").fetchall()
        comparisons["churn"] = {("icp" if icp_flag else "non_icp"): _rate_ci(k, n) for icp_flag, n, k in rows}
    for metric, column in (("nrr", "nrr_raw"), ("cac", "cac"), ("sales_cycle_days", "days_to_close")):
        if column in columns:
            comparisons[metric] = {
                label: _mean_ci(np.array([r[0] for r in con.execute(
                    f"SELECT {_q(column)}::DOUBLE FROM {frame} WHERE {'' if flag else 'NOT '}coalesce(({in_icp}), FALSE) "
                    f"AND {_q(column)} IS NOT NULL").fetchall()], dtype=float))
                for label, flag in (("icp", True), ("non_icp", False))}
    deal_metrics = ("win_rate", "acv", "sales_cycle_days")
    if deals_frame:
        deal_columns = columns_of(con, deals_frame)
        try:
            in_icp = tier1_sql(icp, deal_columns, "the deals")
        except NotMeasurable as exc:
            # the deals carry none of some Tier-1 field (their firmographics are named differently, or
            # they link to no customer): win rate, ACV and cycle cannot be split by Tier 1
            for metric in deal_metrics:
                out["not_measurable"].setdefault(metric, f"the deals have no {', '.join(exc.fields)}")
            deal_columns = set()
        unknown = _unknown_tier1_fields(con, deals_frame, icp, "bad") if deal_columns else []
        if unknown:
            out["win_rate_note"] = f"not measurable: lost deals carry no {', '.join(unknown)}"
            out["not_measurable"]["win_rate"] = f"lost deals carry no {', '.join(unknown)}"
        elif deal_columns:
            rows = con.execute(f"SELECT coalesce(({in_icp}), FALSE), count(*), count_if(good) FROM {deals_frame} "
                               f"WHERE good OR bad GROUP BY ALL").fetchall()
            comparisons["win_rate"] = {("icp" if f else "non_icp"): _rate_ci(k, n) for f, n, k in rows}
        if "amount" in deal_columns:
            comparisons["acv"] = {label: _mean_ci(np.array([r[0] for r in con.execute(
                f"SELECT amount::DOUBLE FROM {deals_frame} WHERE good AND {'' if flag else 'NOT '}coalesce(({in_icp}), FALSE) "
                f"AND amount IS NOT NULL").fetchall()], dtype=float)) for label, flag in (("icp", True), ("non_icp", False))}
        if {"close_date", "deal_created_date"} <= deal_columns and "sales_cycle_days" not in comparisons:
            comparisons["sales_cycle_days"] = {label: _mean_ci(np.array([r[0] for r in con.execute(
                f"SELECT date_diff('day', deal_created_date, close_date)::DOUBLE FROM {deals_frame} WHERE good AND "
                f"{'' if flag else 'NOT '}coalesce(({in_icp}), FALSE) AND close_date IS NOT NULL AND "
                f"deal_created_date IS NOT NULL").fetchall()], dtype=float)) for label, flag in (("icp", True), ("non_icp", False))}
    for metric, (direction, threshold, text) in TARGETS.items():
        pair = comparisons.get(metric, {})
        icp_value = _value(pair.get("icp"))
        other = _value(pair.get("non_icp"))
        if icp_value is None or other in (None, 0):
            reason = out["not_measurable"].get(metric) or (
                "no data for this metric" if not pair else "one side (Tier 1 or non-ICP) has no value")
            out["targets"].append({"metric": metric, "target": text, "status": "not measurable", "reason": reason})
            continue
        ratio = icp_value / other
        met = ratio >= threshold if direction == "higher" else ratio <= threshold
        evidence = ledger.add("validation_target", metric,
                              f"{text}: Tier 1 {_show(metric, icp_value)} vs non-ICP {_show(metric, other)} "
                              f"(ratio {ratio:.2f}): {'met' if met else 'not met'}.",
                              {"icp": pair["icp"], "non_icp": pair["non_icp"], "ratio": ratio, "threshold": threshold},
                              n=(pair["icp"].get("n") or 0) + (pair["non_icp"].get("n") or 0))
        out["targets"].append({"metric": metric, "target": text, "status": "met" if met else "not met",
                               "icp": icp_value, "non_icp": other, "ratio": round(ratio, 3), "evidence": evidence})
    if "churn" in comparisons and {"icp", "non_icp"} <= set(comparisons["churn"]):
        a, b = comparisons["churn"]["icp"], comparisons["churn"]["non_icp"]
        out["churn_evidence"] = ledger.add(
            "validation_churn", "tier1",
            f"Churn: Tier 1 {100 * a['rate']:.1f}% (95% CI {100 * a['ci_low']:.1f}-{100 * a['ci_high']:.1f}%, "
            f"n={a['n']:,}) vs non-ICP {100 * b['rate']:.1f}% ({100 * b['ci_low']:.1f}-{100 * b['ci_high']:.1f}%, "
            f"n={b['n']:,}).", {"icp": a, "non_icp": b}, n=a["n"] + b["n"])
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


def backtest(con, inputs: AnalysisInputs, config: AnalysisConfig, icp: IcpDocument, frame: str,
             ledger: Ledger) -> dict:
    """Rebuild the ICP without the newest 12 months of customers; did its Tier 1 hold the best of them?"""
    if not inputs.customers or icp.health.definition != "health":
        return {"status": "not measurable", "reason": "needs customers with a start date and a health score"}
    columns = columns_of(con, inputs.customers)
    if "customer_since" not in columns:
        return {"status": "not measurable", "reason": "the customers have no start date (customer_since)"}
    # a day (DATE), not a midnight timestamp: icp.json shows it as 2025-10-30, never "2025-10-30 00:00:00"
    cutoff = con.execute(f"SELECT CAST(max(customer_since) - INTERVAL 12 MONTH AS DATE) "
                         f"FROM {inputs.customers}").fetchall()[0][0]
    older = f"{frame}_backtest_src"
    con.execute(f"CREATE OR REPLACE TEMP VIEW {older} AS SELECT * FROM {inputs.customers} WHERE customer_since < "
                f"DATE '{cutoff:%Y-%m-%d}'")
    old_inputs = replace(inputs, customers=older, deals=None)
    try:
        old_icp, _ = analyse(con, old_inputs, config, f"{icp.id}-backtest")
    except DataShapeError as exc:
        return {"status": "not measurable", "reason": f"the older customers alone: {exc.reason}", "cutoff": str(cutoff)}
    finally:
        con.execute(f"DROP TABLE IF EXISTS frame_{icp.id.replace('-', '_')}_backtest")
    in_tier1 = tier1_sql(old_icp, columns_of(con, frame), "the newer customers")
    if not in_tier1:
        return {"status": "not measurable", "reason": "no significant ICP in the older customers alone",
                "cutoff": str(cutoff)}
    rows = dict(((flag, (n, k)) for flag, n, k in con.execute(
        f"SELECT coalesce(({in_tier1}), FALSE), count(*), count_if(good) FROM {frame} "
        f"WHERE customer_since >= DATE '{cutoff:%Y-%m-%d}' AND cohort IS NOT NULL GROUP BY ALL").fetchall()))
    (n1, k1), (n0, k0) = rows.get(True, (0, 0)), rows.get(False, (0, 0))
    if not n1 or not n0:
        return {"status": "not measurable", "reason": "no new customers on one side of the old Tier 1",
                "cutoff": str(cutoff)}
    _, p = fisher_exact(k1, n1, k1 + k0, n1 + n0)
    held = k1 / n1 > k0 / n0 and p < 0.05
    result = {"status": "held" if held else "did not hold", "cutoff": str(cutoff),
              "old_tier1": [" AND ".join(c.label for c in t.criteria) for t in old_icp.tiers if t.tier == 1],
              "new_in_tier1": _rate_ci(k1, n1), "new_outside": _rate_ci(k0, n0), "p_value": p}
    result["evidence"] = ledger.add(
        "backtest", str(cutoff),
        f"Backtest: an ICP built only from customers acquired before {cutoff:%Y-%m-%d} put {n1:,} of the newer "
        f"customers in Tier 1; {100 * k1 / n1:.1f}% of them are now in the top 20% by health vs "
        f"{100 * k0 / n0:.1f}% of the other {n0:,} (p={p:.2g}): the ICP {result['status']}.",
        {k: v for k, v in result.items() if k != "old_tier1"}, n=n1 + n0)
    return result


def _prospects_already_customers(con, prospects: str, icp: IcpDocument, tier) -> int:
    """Matching prospects that are already customers of the tier (same domain or name): a prospect list may or may
    not include the customers, so penetration = customers / (customers + matching prospects not yet customers)."""
    frame = f"frame_{icp.id.replace('-', '_')}"
    if not con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [frame]).fetchone()[0]:
        return 0  # no frame for this version: no overlap can be measured
    frame_columns = columns_of(con, frame)
    keys = [k for k in ("domain", "company_name") if k in frame_columns and k in columns_of(con, prospects)]
    if not keys:
        return 0
    kinds = document_kinds(icp)
    try:
        in_frame = criteria_sql(tier.criteria, kinds, frame_columns)
        in_prospects = criteria_sql(tier.criteria, kinds, columns_of(con, prospects))
    except NotMeasurable:
        return 0
    customer = "good" if icp.health.entity == "deal" else "TRUE"
    match = " OR ".join(f"lower(CAST(p.{_q(k)} AS VARCHAR)) IN (SELECT lower(CAST({_q(k)} AS VARCHAR)) FROM {frame} "
                        f"WHERE {customer} AND cohort IS NOT NULL AND {_q(k)} IS NOT NULL AND ({in_frame}))"
                        for k in keys)
    return con.execute(f"SELECT count(*) FROM {prospects} p WHERE ({in_prospects}) AND ({match})").fetchall()[0][0]


def market(con, prospects: str | None, icp: IcpDocument, ledger: Ledger,
           revenue_target: float | None, deals_frame: str | None) -> dict:
    """Tier shares of the prospect universe, penetration, the revenue-target check, open pipeline in Tier 1."""
    out: dict = {"tiers": [], "warnings": []}
    if prospects:
        total = con.execute(f"SELECT count(*) FROM {prospects}").fetchall()[0][0]
        out["prospects"] = total
        columns = columns_of(con, prospects)
        for tier in icp.tiers:
            absent = missing_fields(tier.criteria, document_kinds(icp), columns)
            if absent:
                out["tiers"].append({"tier": tier.name, "status": "not measurable: the prospect list lacks "
                                     + ", ".join(absent)})
                continue
            matched = con.execute(f"SELECT count(*) FROM {prospects} WHERE {criteria_sql(tier.criteria, document_kinds(icp))}"
                                  ).fetchall()[0][0]
            # customers, not entities: at deal level a tier's n counts closed deals (lost ones too), so its
            # companies with a won deal are what penetrates the prospect universe
            customers = tier.metrics.customers if tier.metrics.customers is not None else (tier.metrics.n or 0)
            share = matched / total if total else 0
            already = _prospects_already_customers(con, prospects, icp, tier)
            universe = customers + matched - min(already, customers, matched)
            row = {"tier": tier.name, "prospects": matched, "share": share, "customers": customers,
                   "already_customers": already, "penetration": customers / universe if universe else None}
            row["evidence"] = ledger.add("market_share", tier.name,
                                         f"{tier.name}: {matched:,} of {total:,} prospects ({100 * share:.1f}%) match; "
                                         f"penetration {customers:,} customers / {universe:,} accounts (the customers "
                                         f"plus the matching prospects that are not customers yet).",
                                         row.copy(), n=total)
            out["tiers"].append(row)
            if share > 0.5:
                out["warnings"].append(f"{tier.name} matches {100 * share:.0f}% of the prospect universe: too broad")
        tier1 = [t for t in out["tiers"] if t.get("prospects") is not None and t["tier"].split(" Tier ")[1].startswith("1")]
        acv = _tier1_acv(con, deals_frame, icp)
        if revenue_target is not None:
            accounts = sum(t["prospects"] for t in tier1)
            potential = accounts * acv if acv else None
            check = {"revenue_target": revenue_target, "tier1_accounts": accounts, "median_tier1_acv": acv,
                     "potential": potential}
            if potential is None:
                check["status"] = "not measurable: no Tier 1 ACV (deals with amounts) to size the market"
            else:
                check["status"] = "too narrow" if potential < 3 * revenue_target else "large enough"
                check["evidence"] = ledger.add(
                    "revenue_target", str(revenue_target),
                    f"{accounts:,} Tier-1 prospect accounts x median Tier-1 ACV {acv:,.0f} = {potential:,.0f}, "
                    f"{potential / revenue_target:.1f}x the revenue target of {revenue_target:,.0f} "
                    f"(at least 3x needed): {check['status']}.", check.copy(), n=accounts)
                if check["status"] == "too narrow":
                    out["warnings"].append("Tier 1 is too narrow for the revenue target")
            out["revenue_check"] = check
    unknown = _unknown_tier1_fields(con, deals_frame, icp, "cohort = 'open'") if deals_frame else []
    if deals_frame and unknown:
        out["open_pipeline"] = {"status": f"not measurable: open deals carry no {', '.join(unknown)}"}
    elif deals_frame:
        in_tier1 = tier1_sql(icp, columns_of(con, deals_frame), "the deals")
        row = con.execute(f"SELECT count(*), count_if(coalesce(({in_tier1 or 'FALSE'}), FALSE)) FROM {deals_frame} "
                          f"WHERE cohort = 'open'").fetchall()[0]
        if row[0]:
            share = row[1] / row[0]
            out["open_pipeline"] = {"open_deals": row[0], "in_tier1": row[1], "share": share,
                                    "status": "targeting problem" if share < 0.4 else "ok"}
            out["open_pipeline"]["evidence"] = ledger.add(
                "open_pipeline", "tier1", f"{row[1]:,} of {row[0]:,} open deals ({100 * share:.1f}%) are Tier 1 "
                f"({'below 40%: a targeting problem' if share < 0.4 else 'at least 40%'}).",
                out["open_pipeline"].copy(), n=row[0])
            if share < 0.4:
                out["warnings"].append(f"only {100 * share:.0f}% of open pipeline is Tier 1 (under 40%): a targeting "
                                       f"problem")
    return out


def _unknown_tier1_fields(con, deals_frame: str, icp: IcpDocument, where: str) -> list[str]:
    """Tier-1 fields that most of these deals lack: matching on them would be an artefact."""
    columns = columns_of(con, deals_frame)
    unknown = []
    known = document_kinds(icp)
    kinds = {c.field: resolve_kind(c, known) for t in icp.tiers if t.tier == 1 for c in t.criteria}
    for field in sorted(kinds):
        column = columns_needed(field, kinds[field])[0]
        if column not in columns:
            unknown.append(field)
            continue
        known = con.execute(f"SELECT avg(({_q(column)} IS NOT NULL)::INT) FROM {deals_frame} WHERE {where}"
                            ).fetchall()[0][0]
        if known is not None and known < 0.5:
            unknown.append(field)
    return unknown


def _tier1_acv(con, deals_frame: str | None, icp: IcpDocument) -> float | None:
    if not deals_frame:
        return None
    columns = columns_of(con, deals_frame)
    if missing_fields([c for t in icp.tiers if t.tier == 1 for c in t.criteria], document_kinds(icp), columns):
        return None
    in_tier1 = tier1_sql(icp, columns)
    if not in_tier1 or "amount" not in columns:
        return None
    value = con.execute(f"SELECT median(amount) FROM {deals_frame} WHERE good AND coalesce(({in_tier1}), FALSE)"
                        ).fetchall()[0][0]
    return float(value) if value is not None else None


def validate(con, inputs: AnalysisInputs, config: AnalysisConfig, icp: IcpDocument, prospects: str | None,
             revenue_target: float | None, ledger: Ledger) -> Validation:
    """Unit economics, backtest and market (icp.json's validation); each part runs or says "not measurable:
    <reason>". Figures are made JSON-safe (evidence.clean: NaN as null, 6 significant digits).

    Only a data shape the step cannot use (DataShapeError, NotMeasurable) becomes "not measurable";
    any other exception is a bug and propagates.
    """
    frame = f"frame_{icp.id.replace('-', '_')}"
    deals_frame, deals_note = None, None
    if inputs.deals:
        deals_frame = f"{frame}_alldeals"
        try:
            build_deals_frame(con, inputs.customers, inputs.deals, deals_frame, list(inputs.fit_fields),
                              stages=("won", "lost", "open"), schema=inputs.schema)
        except DataShapeError as exc:
            deals_frame, deals_note = None, exc.reason
    out = {}
    for name, step in (("unit_economics", lambda: unit_economics(con, frame, deals_frame, icp, ledger)),
                       ("backtest", lambda: backtest(con, inputs, config, icp, frame, ledger)),
                       ("market", lambda: market(con, prospects, icp, ledger, revenue_target, deals_frame))):
        try:
            out[name] = step()
        except DataShapeError as exc:
            out[name] = {"status": "not measurable", "reason": exc.reason, "comparisons": {}, "targets": [],
                         "tiers": [], "warnings": [f"{name.replace('_', ' ')}: not measurable: {exc.reason}"]}
    if deals_note:
        out["unit_economics"].setdefault("not_measurable", {})["deals"] = deals_note
    return Validation.model_validate(clean(out))
