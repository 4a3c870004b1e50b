"""Which selectors the fit fields give: the bands numbers are cut into, the selector spec per field, and
the icp.json criterion and seller's label of a selector."""

from __future__ import annotations

from typing import cast

from icp_agent.icp_document import Criterion
from icp_agent.patterns.selectors import (
    FieldSpec,
    Kind,
    Selector,
)
from icp_agent.sql import quote_identifier as _q
from icp_agent.tiers.criteria import (
    criterion_label,
)

# LinkedIn/HubSpot ranges (so exported ranges such as "51-200" fall inside one), plus the wider business
# bands sellers use (small business, mid-market, enterprise).
EMPLOYEE_BANDS = (
    (1, 10),
    (11, 50),
    (51, 200),
    (201, 500),
    (501, 1000),
    (1001, 5000),
    (5001, 10000),
    (10001, None),
    (1, 50),
    (50, 250),
    (201, 1000),
    (1000, None),
)


REVENUE_BANDS = ((0, 1e6), (1e6, 1e7), (1e7, 5e7), (5e7, 1e8), (1e8, 1e9), (1e9, None), (1e8, None))


NUMERIC_TYPES = {"number", "money", "percent"}


def field_specs(fit_fields: dict[str, str]) -> list[FieldSpec]:
    """Selector specs from the fit fields and their import types."""
    specs = []
    for name, kind in sorted(fit_fields.items()):
        if kind == "band":
            specs.append(FieldSpec(name, "band", bands=EMPLOYEE_BANDS, snap_to_ranges=True))
        elif kind in NUMERIC_TYPES:
            bands = REVENUE_BANDS if name == "annual_revenue" else None
            specs.append(FieldSpec(name, "number", bands=bands, round_cuts=True))
        elif kind in ("category", "list", "bool"):
            specs.append(FieldSpec(name, cast(Kind, kind)))
    return specs


def display_label(selector: Selector, types: dict[str, str]) -> str:
    """A criterion as a seller reads it: "annual revenue $10M-$50M", "employees 51-200", "founded year < 1999"."""
    return criterion_label(selector, types)


def criterion(selector: Selector, headers: dict[str, str]) -> Criterion:
    """The icp.json criterion of a selector, carrying its field's kind from the schema (see criteria.py)."""
    data = selector.criterion()
    return Criterion(**data, kind=selector.kind, header=headers.get(selector.field), label=selector.label)


def with_values(con, frame: str, specs: list[FieldSpec]) -> list[FieldSpec]:
    """The specs whose field takes more than one distinct value in `frame` (a band field by its lower bound):
    a field with one value cannot tell customers apart. One scan of the frame counts every field."""
    if not specs:
        return []
    columns = [_q(f"{s.name}_min" if s.kind == "band" else s.name) for s in specs]
    varied = con.execute(f"SELECT {', '.join(f'count(DISTINCT {c}) > 1' for c in columns)} FROM {frame}").fetchall()[0]
    return [s for s, more in zip(specs, varied) if more]
