"""Refresh and drift: what changed between two ICP versions, and whether to keep, recalibrate or rebuild.

Both versions stay in the workspace with their scoring frames, so a diff compares what
each version saw: the tier each customer had then and has now, how the distribution of
every fit field moved (population stability index, 0.1 / 0.25 thresholds), which patterns
weakened, vanished or appeared, and how the old ICP did on the customers that arrived since.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from icp_agent.errors import NotMeasurable
from icp_agent.evidence import Ledger
from icp_agent.icp_document import IcpDocument
from icp_agent.patterns.stats import fisher_exact, wilson_interval
from icp_agent.sql import columns_of
from icp_agent.sql import quote_identifier as _q
from icp_agent.tiers.criteria import (
    columns_needed,
    criteria_sql,
    document_kinds,
    kind_of_type,
    tier_case_sql,
)

PSI_WATCH, PSI_ACT = 0.1, 0.25
KEYS = ("company_id", "domain", "company_name", "deal_id")


def frame_of(icp: IcpDocument) -> str:
    """The name of an ICP version's frame table (one row per entity, its tiers and fit score)."""
    return f"frame_{icp.id.replace('-', '_')}"


def psi(expected: Sequence[float], actual: Sequence[float], floor: float = 1e-4) -> float:
    """Population stability index between two distributions over the same bins."""
    total_e, total_a = sum(expected) or 1, sum(actual) or 1
    value = 0.0
    for e, a in zip(expected, actual):
        pe, pa = max(e / total_e, floor), max(a / total_a, floor)
        value += (pa - pe) * math.log(pa / pe)
    return value


def _bins_sql(con, old: str, column: str, kind: str) -> str:
    """A bin label per row: the value for categories (top 20, rest 'other'), deciles of the old frame for numbers."""
    if kind == "number":
        cuts = (
            con.execute(
                f"SELECT quantile_cont({_q(column)}, [0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9]) FROM {old}"
            ).fetchall()[0][0]
            or []
        )
        cuts = sorted({c for c in cuts if c is not None})
        cases = " ".join(f"WHEN {_q(column)} <= {c!r} THEN 'q{i}'" for i, c in enumerate(cuts))
        return f"CASE WHEN {_q(column)} IS NULL THEN 'missing' {cases} ELSE 'q{len(cuts)}' END"
    if kind == "list":  # one count per element: a company using Salesforce and Slack counts in both bins
        return f"unnest(CASE WHEN len(coalesce({_q(column)}, [])) = 0 THEN ['missing'] ELSE {_q(column)} END)"
    top = [
        r[0]
        for r in con.execute(
            f"SELECT CAST({_q(column)} AS VARCHAR) v FROM {old} WHERE {_q(column)} IS NOT NULL "
            f"GROUP BY v ORDER BY count(*) DESC, v LIMIT 20"
        ).fetchall()
    ]
    listed = ", ".join("'" + v.replace("'", "''") + "'" for v in top) or "NULL"
    return (
        f"CASE WHEN {_q(column)} IS NULL THEN 'missing' WHEN CAST({_q(column)} AS VARCHAR) IN ({listed}) "
        f"THEN CAST({_q(column)} AS VARCHAR) ELSE 'other' END"
    )


def field_psi(con, old: str, new: str, fields: dict[str, str]) -> dict[str, dict]:
    """Per fit field (field -> import type) present in both frames: {psi, status (stable < 0.1 <= watch < 0.25 <=
    shifted), bins}. A band is binned on its lower bound; fields missing from either frame are left out.
    """
    out = {}
    old_cols = columns_of(con, old)
    new_cols = columns_of(con, new)
    for field, kind in sorted(fields.items()):
        # the field's kind (fields: field -> import type, from the schema) decides the column: a band is
        # binned on its lower bound
        kind = kind_of_type(kind) or "category"
        column = columns_needed(field, kind)[0]
        if column not in old_cols or column not in new_cols:
            continue
        bins = _bins_sql(con, old, column, "number" if kind in ("band", "number") else kind)
        rows = con.execute(f"""SELECT b, sum(o), sum(n) FROM (
                                 SELECT {bins} AS b, 1 AS o, 0 AS n FROM {old}
                                 UNION ALL SELECT {bins} AS b, 0, 1 FROM {new}) GROUP BY b ORDER BY b""").fetchall()
        value = psi([r[1] for r in rows], [r[2] for r in rows])
        out[field] = {"psi": round(value, 4), "status": _psi_status(value), "bins": len(rows)}
    return out


def _psi_status(value: float) -> str:
    return "stable" if value < PSI_WATCH else ("watch" if value < PSI_ACT else "shifted")


def _key(con, old: str, new: str) -> str | None:
    old_cols = columns_of(con, old)
    new_cols = columns_of(con, new)
    return next((k for k in KEYS if k in old_cols and k in new_cols), None)


def migration(con, old_icp: IcpDocument, new_icp: IcpDocument, key: str) -> dict:
    """Entities in both versions, counted once each by `key`: their tier then vs now.

    A deal-level frame (good = won deals) holds one row per deal, so a company with three deals
    would count three times (and nine in a join of two snapshots); each key is one company there,
    placed in the best tier any of its deals reaches. `entity` says what was counted: "customers"
    (one row per customer), "companies" (deal-level, by a company key) or "deals" (by deal id).
    """
    old, new = frame_of(old_icp), frame_of(new_icp)

    def per_key(icp: IcpDocument, frame: str) -> str:
        tier = tier_case_sql(icp.tiers, document_kinds(icp), columns_of(con, frame))
        return f"SELECT {_q(key)} AS k, min({tier}) AS tier FROM {frame} WHERE {_q(key)} IS NOT NULL GROUP BY k"

    rows = con.execute(f"""
        SELECT coalesce(CAST(o.tier AS VARCHAR), 'none'), coalesce(CAST(n.tier AS VARCHAR), 'none'), count(*)
        FROM ({per_key(old_icp, old)}) o JOIN ({per_key(new_icp, new)}) n USING (k)
        GROUP BY ALL ORDER BY ALL""").fetchall()
    matrix: dict[str, dict[str, int]] = {}
    for before, after, count in rows:
        matrix.setdefault(before, {})[after] = count
    both = sum(r[2] for r in rows)
    moved = sum(r[2] for r in rows if r[0] != r[1])
    deal_level = "deal" in (old_icp.health.entity, new_icp.health.entity)
    entity = ("deals" if key == "deal_id" else "companies") if deal_level else "customers"
    out = {"key": key, "entity": entity, "in_both": both, "changed_tier": moved, "matrix": matrix}
    if entity == "customers":
        out["customers_in_both"] = both
    return out


def pattern_changes(old_icp: IcpDocument, new_icp: IcpDocument, alpha: float = 0.05) -> dict:
    """Patterns significant in the old ICP (BH q < alpha) that weakened or vanished in the new one, and those
    newly significant: {weakened, vanished, appeared}, each with label, direction and lift.
    """
    old = {p.label + "|" + p.direction: p for p in old_icp.patterns if p.q_value < alpha}
    new = {p.label + "|" + p.direction: p for p in new_icp.patterns}
    significant_new = {k for k, p in new.items() if p.q_value < alpha}
    weakened, vanished = [], []
    for key, before in old.items():
        after = new.get(key)
        if after is None or after.q_value >= alpha:
            vanished.append(
                {
                    "pattern": before.label,
                    "direction": before.direction,
                    "lift_before": before.lift,
                    "lift_after": after.lift if after else None,
                }
            )
        elif after.lift < before.lift * 0.85:
            weakened.append(
                {
                    "pattern": before.label,
                    "direction": before.direction,
                    "lift_before": before.lift,
                    "lift_after": after.lift,
                }
            )
    appeared = [
        {"pattern": new[k].label, "direction": new[k].direction, "lift": new[k].lift}
        for k in sorted(significant_new - set(old))
    ]
    return {"weakened": weakened, "vanished": vanished, "appeared": appeared}


def old_icp_on_new_customers(con, old_icp: IcpDocument, new_icp: IcpDocument, key: str) -> dict:
    """The old ICP's Tier 1 applied to the customers that arrived since: are they the good ones?"""
    old, new = frame_of(old_icp), frame_of(new_icp)
    try:
        tier1 = " OR ".join(
            f"({criteria_sql(t.criteria, document_kinds(old_icp), columns_of(con, new), table='the new snapshot')})"
            for t in old_icp.tiers
            if t.tier == 1
        )
    except NotMeasurable as exc:
        return {
            "status": "not measurable",
            "reason": f"the old Tier 1 reads {', '.join(exc.fields)}, which the new snapshot lacks",
        }
    if not tier1:
        return {"status": "not measurable", "reason": "the old version had no Tier 1"}
    rows = {
        flag: (n, k)
        for flag, n, k in con.execute(
            f"SELECT coalesce(({tier1}), FALSE), count(*), count_if(good) FROM {new} "
            f"WHERE cohort IS NOT NULL AND {_q(key)} NOT IN (SELECT {_q(key)} FROM {old} WHERE {_q(key)} IS NOT NULL) "
            f"GROUP BY ALL"
        ).fetchall()
    }
    (n1, k1), (n0, k0) = rows.get(True, (0, 0)), rows.get(False, (0, 0))
    if not n1 or not n0:
        return {
            "status": "not measurable",
            "reason": f"{n1 + n0} new {new_icp.health.entity}s, not enough on both sides of Tier 1",
        }
    _, p = fisher_exact(k1, n1, k1 + k0, n1 + n0)
    held = k1 / n1 > k0 / n0 and p < 0.05
    return {
        "status": "held" if held else "did not hold",
        "new_in_tier1": {"n": n1, "good": k1, "rate": k1 / n1, "ci": wilson_interval(k1, n1)},
        "new_outside": {"n": n0, "good": k0, "rate": k0 / n0},
        "p_value": p,
    }


def diff(con, old_icp: IcpDocument, new_icp: IcpDocument, fit_fields: dict[str, str], ledger: Ledger) -> dict:
    """diff_icp_versions' comparison as a dict: same data or not, per-field PSI (screened fields left out), fit-score PSI,
    tier migration, pattern changes, the old Tier 1 on the new customers, a recommendation with why, and its evidence id.
    """
    old, new = frame_of(old_icp), frame_of(new_icp)
    key = _key(con, old, new)
    result: dict = {
        "old": old_icp.id,
        "new": new_icp.id,
        "same_data": old_icp.dataset.fingerprint == new_icp.dataset.fingerprint,
    }
    # a field the screen kept out of every criterion (leakage, an id) cannot move the ICP: its PSI is not reported
    screened = {e.field for icp in (old_icp, new_icp) for e in icp.excluded_fields}
    result["fields"] = field_psi(con, old, new, {f: t for f, t in fit_fields.items() if f not in screened})
    score_psi = _score_psi(con, old_icp, new_icp)
    if score_psi is not None:
        result["fit_score_psi"] = {"psi": round(score_psi, 4), "status": _psi_status(score_psi)}
    result["migration"] = migration(con, old_icp, new_icp, key) if key else {"status": "no shared key"}
    result["patterns"] = pattern_changes(old_icp, new_icp)
    result["old_icp_on_new_customers"] = (
        old_icp_on_new_customers(con, old_icp, new_icp, key) if key else {"status": "not measurable"}
    )
    result["recommendation"], result["why"] = _recommend(result, old_icp, new_icp)
    result["evidence"] = ledger.add(
        "drift",
        f"{old_icp.id}->{new_icp.id}",
        f"Drift from {old_icp.id} to {new_icp.id}: {result['recommendation']} ({result['why']}).",
        {k: v for k, v in result.items() if k in ("fields", "fit_score_psi", "recommendation")},
    )
    return result


def _score_psi(con, old_icp: IcpDocument, new_icp: IcpDocument) -> float | None:
    if old_icp.scorecard is None or old_icp.scorecard.status != "ok":
        return None
    card = old_icp.scorecard.model_dump()  # the SQL is written from icp.json's data
    from icp_agent.scorecard.emit import scorecard_select_sql

    def scores(frame: str) -> list[int]:
        present = columns_of(con, frame)
        expr = dict(scorecard_select_sql(card, None, present_columns=present))["icp_fit_score"]
        rows = dict(
            con.execute(f"SELECT least(floor(({expr}) / 10), 9)::INT AS b, count(*) FROM {frame} GROUP BY b").fetchall()
        )
        return [rows.get(i, 0) for i in range(10)]

    return psi(scores(frame_of(old_icp)), scores(frame_of(new_icp)))


def _recommend(result: dict, old_icp: IcpDocument, new_icp: IcpDocument) -> tuple[str, str]:
    old_tier1 = {" AND ".join(sorted(c.label for c in t.criteria)) for t in old_icp.tiers if t.tier == 1}
    new_tier1 = {" AND ".join(sorted(c.label for c in t.criteria)) for t in new_icp.tiers if t.tier == 1}
    vanished_tier1 = old_tier1 - new_tier1
    shifted = [f for f, v in result["fields"].items() if v["status"] == "shifted"]
    watch = [f for f, v in result["fields"].items() if v["status"] == "watch"]
    backtest = result["old_icp_on_new_customers"].get("status")
    if vanished_tier1 or backtest == "did not hold" or new_icp.status != old_icp.status:
        reasons = []
        if vanished_tier1:
            reasons.append(f"Tier 1 changed ({'; '.join(sorted(vanished_tier1))} no longer holds)")
        if backtest == "did not hold":
            reasons.append("the old Tier 1 did not hold the best new customers")
        if new_icp.status != old_icp.status:
            reasons.append(f"status went from {old_icp.status} to {new_icp.status}")
        return "rebuild the ICP", "; ".join(reasons)
    score = result.get("fit_score_psi", {}).get("status")
    if shifted or score in ("watch", "shifted"):
        fields = ", ".join(shifted) or "the fit score"
        return (
            "recalibrate the scorecard",
            f"the distribution of {fields} moved (PSI >= {PSI_ACT if shifted else PSI_WATCH})",
        )
    if watch:
        return "keep", f"the tiers hold; watch {', '.join(watch)} (PSI {PSI_WATCH}-{PSI_ACT})"
    return "keep", f"the tiers hold and no field moved beyond PSI {PSI_WATCH}"
