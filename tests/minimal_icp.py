"""A minimal ICP document built in memory, for unit tests of the modules that read one (validation, drift,
render): tiers from plain criterion dicts, a health summary and a dataset with no imports."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from icp_agent.icp_document import DatasetInfo, HealthSummary, IcpDocument, Tier


def tier(number: int, criteria: list[dict[str, Any]], segment: str = "ICP 1", **metrics: Any) -> Tier:
    """One tier named as the analysis names it ("ICP 1 Tier 1"); each criterion dict gets a label."""
    return Tier(
        tier=number,  # type: ignore[arg-type]
        segment=segment,
        name=f"{segment} Tier {number}",
        criteria=[{"label": _label(c), **c} for c in criteria],  # type: ignore[misc]
        metrics=metrics,  # type: ignore[arg-type]
    )


def _label(c: dict[str, Any]) -> str:
    """ "industry = Software", "employees >= 100": enough to tell criteria apart."""
    op = {"eq": "=", "gte": ">=", "lte": "<="}.get(c["op"], c["op"])
    return f"{c['field']} {op} {c.get('value', c.get('values', c.get('min', c.get('max'))))}"


def icp(
    tiers: list[Tier] | None = None,
    *,
    id: str = "icp-test",
    entity: str = "customer",
    definition: str = "health",
    **fields: Any,
) -> IcpDocument:
    """An IcpDocument with the given tiers (none: status no_significant_icp)."""
    tiers = tiers or []
    return IcpDocument(
        id=id,
        created_at=datetime(2026, 11, 1, 12, tzinfo=UTC),
        status="ok" if tiers else "no_significant_icp",
        dataset=DatasetInfo(fingerprint="0" * 16),
        health=HealthSummary(
            definition=definition,  # type: ignore[arg-type]
            entity=entity,  # type: ignore[arg-type]
            description="top 20% by health",
            n=10,
            n_good=2,
            n_bad=2,
        ),
        tiers=tiers,
        **{"statement": "ICP: test", **fields},
    )
