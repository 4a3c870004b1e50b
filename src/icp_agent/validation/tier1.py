"""Tier 1 as a predicate over any table (customers, deals, prospects), and the Tier-1 fields a set of deals
lacks, so a comparison is never made on rows that cannot match."""

from __future__ import annotations

from icp_agent.icp_document import IcpDocument
from icp_agent.sql import columns_of
from icp_agent.sql import quote_identifier as _q
from icp_agent.tiers.criteria import (
    columns_needed,
    criteria_sql,
    document_kinds,
    resolve_kind,
)


def tier1_sql(icp: IcpDocument, columns: set[str] | None = None, table: str | None = None) -> str | None:
    """SQL: the row is in a Tier 1 (any segment); None without a Tier 1. With `columns`, raises NotMeasurable
    when the relation lacks a Tier-1 field (the criteria compiler's check)."""
    tier1 = [t for t in icp.tiers if t.tier == 1]
    kinds = document_kinds(icp)
    return " OR ".join(f"({criteria_sql(t.criteria, kinds, columns, table=table)})" for t in tier1) or None


def tier1_columns(icp: IcpDocument) -> list[str]:
    """The columns tier1_sql's predicate reads (sorted): a band field's bounds, any other field's own column. The
    predicate is a function of these alone, so it may be evaluated once per distinct combination of them."""
    kinds = document_kinds(icp)
    return sorted(
        {
            name
            for t in icp.tiers
            if t.tier == 1
            for c in t.criteria
            for name in columns_needed(c.field, resolve_kind(c, kinds))
        }
    )


def unknown_tier1_fields(con, deals_frame: str, icp: IcpDocument, where: str) -> list[str]:
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
        known = con.execute(f"SELECT avg(({_q(column)} IS NOT NULL)::INT) FROM {deals_frame} WHERE {where}").fetchall()[
            0
        ][0]
        if known is not None and known < 0.5:
            unknown.append(field)
    return unknown
