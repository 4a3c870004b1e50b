"""The market: each tier's share of the prospect universe and penetration, the revenue-target check (Tier-1
accounts x median Tier-1 ACV) and the share of open pipeline in Tier 1."""

from __future__ import annotations

from icp_agent import numbers
from icp_agent.errors import NotMeasurable
from icp_agent.evidence import Ledger
from icp_agent.icp_document import IcpDocument
from icp_agent.sql import columns_of, table_exists
from icp_agent.sql import quote_identifier as _q
from icp_agent.tiers.criteria import (
    criteria_sql,
    document_kinds,
    missing_fields,
)
from icp_agent.validation.tier1 import tier1_sql, unknown_tier1_fields


def _prospects_already_customers(con, prospects: str, icp: IcpDocument, tier) -> int:
    """Matching prospects that are already customers of the tier (same domain or name): a prospect list may or may
    not include the customers, so penetration = customers / (customers + matching prospects not yet customers)."""
    frame = f"frame_{icp.id.replace('-', '_')}"
    if not table_exists(con, frame):
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
    match = " OR ".join(
        f"lower(CAST(p.{_q(k)} AS VARCHAR)) IN (SELECT lower(CAST({_q(k)} AS VARCHAR)) FROM {frame} "
        f"WHERE {customer} AND cohort IS NOT NULL AND {_q(k)} IS NOT NULL AND ({in_frame}))"
        for k in keys
    )
    return con.execute(f"SELECT count(*) FROM {prospects} p WHERE ({in_prospects}) AND ({match})").fetchall()[0][0]


def market(
    con, prospects: str | None, icp: IcpDocument, ledger: Ledger, revenue_target: float | None, deals_frame: str | None
) -> dict:
    """Tier shares of the prospect universe, penetration, the revenue-target check, open pipeline in Tier 1."""
    out: dict = {"tiers": [], "warnings": []}
    if prospects:
        total = con.execute(f"SELECT count(*) FROM {prospects}").fetchall()[0][0]
        out["prospects"] = total
        columns = columns_of(con, prospects)
        for tier in icp.tiers:
            absent = missing_fields(tier.criteria, document_kinds(icp), columns)
            if absent:
                out["tiers"].append(
                    {"tier": tier.name, "status": "not measurable: the prospect list lacks " + ", ".join(absent)}
                )
                continue
            matched = con.execute(
                f"SELECT count(*) FROM {prospects} WHERE {criteria_sql(tier.criteria, document_kinds(icp))}"
            ).fetchall()[0][0]
            # customers, not entities: at deal level a tier's n counts closed deals (lost ones too), so its
            # companies with a won deal are what penetrates the prospect universe
            customers = tier.metrics.customers if tier.metrics.customers is not None else (tier.metrics.n or 0)
            share = matched / total if total else 0
            already = _prospects_already_customers(con, prospects, icp, tier)
            universe = customers + matched - min(already, customers, matched)
            row = {
                "tier": tier.name,
                "prospects": matched,
                "share": share,
                "customers": customers,
                "already_customers": already,
                "penetration": customers / universe if universe else None,
            }
            row["evidence"] = ledger.add(
                "market_share",
                tier.name,
                f"{tier.name}: {matched:,} of {total:,} prospects ({numbers.percent(share)}) match; "
                f"penetration {customers:,} customers / {universe:,} accounts (the customers "
                f"plus the matching prospects that are not customers yet).",
                row.copy(),
                n=total,
            )
            out["tiers"].append(row)
            if share > 0.5:
                out["warnings"].append(
                    f"{tier.name} matches {numbers.percent(share, 0)} of the prospect universe: too broad"
                )
        tier1 = [
            t for t in out["tiers"] if t.get("prospects") is not None and t["tier"].split(" Tier ")[1].startswith("1")
        ]
        acv = _tier1_acv(con, deals_frame, icp)
        if revenue_target is not None:
            accounts = sum(t["prospects"] for t in tier1)
            potential = accounts * acv if acv else None
            check = {
                "revenue_target": revenue_target,
                "tier1_accounts": accounts,
                "median_tier1_acv": acv,
                "potential": potential,
            }
            if potential is None:
                check["status"] = "not measurable: no Tier 1 ACV (deals with amounts) to size the market"
            else:
                check["status"] = "too narrow" if potential < 3 * revenue_target else "large enough"
                check["evidence"] = ledger.add(
                    "revenue_target",
                    str(revenue_target),
                    f"{accounts:,} Tier-1 prospect accounts x median Tier-1 ACV {numbers.money(acv, '')} = "
                    f"{numbers.money(potential, '')}, "
                    f"{numbers.ratio(potential / revenue_target)}x the revenue target of "
                    f"{numbers.money(revenue_target, '')} "
                    f"(at least 3x needed): {check['status']}.",
                    check.copy(),
                    n=accounts,
                )
                if check["status"] == "too narrow":
                    out["warnings"].append("Tier 1 is too narrow for the revenue target")
            out["revenue_check"] = check
    unknown = unknown_tier1_fields(con, deals_frame, icp, "cohort = 'open'") if deals_frame else []
    if deals_frame and unknown:
        out["open_pipeline"] = {"status": f"not measurable: open deals carry no {', '.join(unknown)}"}
    elif deals_frame:
        in_tier1 = tier1_sql(icp, columns_of(con, deals_frame), "the deals")
        row = con.execute(
            f"SELECT count(*), count_if(coalesce(({in_tier1 or 'FALSE'}), FALSE)) FROM {deals_frame} "
            f"WHERE cohort = 'open'"
        ).fetchall()[0]
        if row[0]:
            share = row[1] / row[0]
            out["open_pipeline"] = {
                "open_deals": row[0],
                "in_tier1": row[1],
                "share": share,
                "status": "targeting problem" if share < 0.4 else "ok",
            }
            out["open_pipeline"]["evidence"] = ledger.add(
                "open_pipeline",
                "tier1",
                f"{row[1]:,} of {row[0]:,} open deals ({numbers.percent(share)}) are Tier 1 "
                f"({'below 40%: a targeting problem' if share < 0.4 else 'at least 40%'}).",
                out["open_pipeline"].copy(),
                n=row[0],
            )
            if share < 0.4:
                out["warnings"].append(
                    f"only {numbers.percent(share, 0)} of open pipeline is Tier 1 (under 40%): a targeting problem"
                )
    return out


def _tier1_acv(con, deals_frame: str | None, icp: IcpDocument) -> float | None:
    if not deals_frame:
        return None
    columns = columns_of(con, deals_frame)
    if missing_fields([c for t in icp.tiers if t.tier == 1 for c in t.criteria], document_kinds(icp), columns):
        return None
    in_tier1 = tier1_sql(icp, columns)
    if not in_tier1 or "amount" not in columns:
        return None
    value = con.execute(
        f"SELECT median(amount) FROM {deals_frame} WHERE good AND coalesce(({in_tier1}), FALSE)"
    ).fetchall()[0][0]
    return float(value) if value is not None else None
