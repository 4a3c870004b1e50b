"""One schema per build: every source's fields, their types, roles and columns, reconciled once.

`build_schema` reads the current snapshot's import reports (the type each column was
normalised to) and checks them against the tables DuckDB holds: a field's type is never
guessed from its name or from a `_min` suffix. For each source (customers, deals, contacts,
prospects) it lists every field with its import type, criterion kind, role, original header
and the table columns holding it (a band: `<name>`, `<name>_min`, `<name>_max`).

Reconciliation: a field present in two sources (customers and deals share firmographics; a
deal fills in a lost prospect's fields) must mean one thing. Only a company's own field (a
firmographic, its id, name or domain, or a deal's column named as its company's: "Company
Segment") is one thing in both: a field that only shares its name (Close's `status_label` is a
lead's status in the leads and an opportunity's in the opportunities; a custom "Type", "Owner",
"Notes") describes two different records and is kept apart. Of the company's fields, same kind:
merged; both numeric (number, money, percent): merged as DOUBLE; otherwise (text vs number, a
band vs a category): kept apart. Kept apart, the customers' field is the one the analysis uses
and the deals' copy does not fill it in; the choice is listed in `Schema.reconciliation` and
reported in icp.json's warnings. Every SQL builder asks the schema (`kinds()`, `columns_of(source)`, `merge_with_deals`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from icp_agent.ingest.fields import COMPANY_FIELDS, COMPANY_PREFIX
from icp_agent.models import ImportReport
from icp_agent.sql import columns_of
from icp_agent.tiers.criteria import kind_of_type

SOURCES = ("customers", "deals", "contacts", "prospects")
NUMERIC = {"number", "money", "percent"}


@dataclass
class AnalysisInputs:
    """What one build reads: the current tables, the fit fields with their import types, and the schema."""

    customers: str | None
    deals: str | None
    fit_fields: dict[str, str]  # field -> import type
    headers: dict[str, str]  # field -> original header
    imports: list[dict]
    fingerprint: str
    schema: Schema | None = None
    notes: list[str] = field(default_factory=list)  # what rolling up subscriptions/tickets/events did
    confirmed: set[str] = field(default_factory=set)  # fields the user set to "fit" explicitly: never screened out


@dataclass(frozen=True)
class FieldInfo:
    """One field of one source: its import type, criterion kind (None for text/date/id), role, header, columns."""

    name: str
    source: str
    type: str
    kind: str | None
    role: str
    header: str
    columns: tuple[str, ...]


@dataclass
class Schema:
    """The build's fields per source, and how the ones shared by customers and deals were reconciled."""

    sources: dict[str, dict[str, FieldInfo]] = field(default_factory=dict)
    tables: dict[str, str] = field(default_factory=dict)
    reconciliation: list[dict] = field(default_factory=list)

    def field(self, name: str, source: str | None = None) -> FieldInfo | None:
        """A field's info in a source, or in the first source holding it (customers, deals, ...)."""
        for kind in [source] if source else SOURCES:
            info = self.sources.get(kind, {}).get(name)
            if info:
                return info
        return None

    def _first(self, attribute: str) -> dict[str, str]:
        """field -> `attribute` of its FieldInfo in the first source holding it (customers win)."""
        out: dict[str, str] = {}
        for kind in SOURCES:
            for name, info in self.sources.get(kind, {}).items():
                out.setdefault(name, getattr(info, attribute))
        return out

    def types(self) -> dict[str, str]:
        """field -> import type, the customers' type winning (what the analysis uses)."""
        return self._first("type")

    def kinds(self) -> dict[str, str]:
        """field -> criterion kind (band, number, category, list, bool) for the criteria compiler."""
        return {name: kind for name, kind in ((n, kind_of_type(t)) for n, t in self.types().items()) if kind}

    def has(self, name: str, source: str) -> bool:
        """True when the field `name` comes from the `source` kind."""
        return name in self.sources.get(source, {})

    def merge_with_deals(self, name: str) -> bool:
        """True when a deal's copy of a customers' field may fill it in (same kind, or both numeric)."""
        return not any(r["field"] == name and r["choice"] == "kept apart" for r in self.reconciliation)

    def headers(self) -> dict[str, str]:
        """field -> the header it was imported from, the customers' winning."""
        return self._first("header")

    def not_in_prospects(self, fields) -> list[str]:
        """Of `fields`, those the prospect list lacks (empty when there is no prospect list)."""
        if "prospects" not in self.sources:
            return []
        return sorted({f for f in fields if f not in self.sources["prospects"]})

    def warnings(self) -> list[str]:
        """The reconciliation statements (fields the customers and deals files give differently), one per field."""
        return [r["statement"] for r in self.reconciliation if r["statement"]]


def build_schema(
    con, reports: dict[str, ImportReport], tables: dict[str, str], roles: dict[str, str] | None = None
) -> Schema:
    """The schema of the current snapshot.

    reports: source kind -> its ImportReport; tables: source kind -> its DuckDB table; roles:
    field -> role after the user's overrides (else the report's inferred role). A column the
    report names but the table lacks is left out (the table is the truth of what SQL can read).
    """
    schema = Schema(tables=dict(tables))
    for kind in SOURCES:
        report = reports.get(kind)
        if report is None or kind not in tables:
            continue
        present = columns_of(con, tables[kind])
        fields: dict[str, FieldInfo] = {}
        for column in report.columns:
            columns = (
                (column.field, f"{column.field}_min", f"{column.field}_max")
                if column.type == "band"
                else (column.field,)
            )
            needed = columns[1:] if column.type == "band" else columns
            if not set(needed) <= present or column.field in fields:
                continue
            fields[column.field] = FieldInfo(
                name=column.field,
                source=kind,
                type=column.type,
                kind=kind_of_type(column.type),
                role=(roles or {}).get(column.field, column.role),
                header=column.header,
                columns=columns,
            )
        schema.sources[kind] = fields
    _reconcile(schema)
    return schema


def _reconcile(schema: Schema) -> None:
    customers, deals = schema.sources.get("customers", {}), schema.sources.get("deals", {})
    for name in sorted(set(customers) & set(deals)):
        a, b = customers[name], deals[name]
        if name not in COMPANY_FIELDS and not COMPANY_PREFIX.match(b.header or ""):
            schema.reconciliation.append(
                {
                    "field": name,
                    "types": {"customers": a.type, "deals": b.type},
                    "choice": "kept apart",
                    # said only of a field the analysis may read (a fit field): created dates, notes and owners
                    # of both files are kept apart without a word
                    "statement": (
                        (
                            f"{name} is a column of both the customers ({a.header!r}) and the deals ({b.header!r})"
                            if a.type == b.type
                            else f"{name} is {a.type} in the customers ({a.header!r}) but {b.type} in the deals "
                            f"({b.header!r})"
                        )
                        + f", and a deal's {name} is not its company's: kept apart, the customers' {name} is used and "
                        f"the deals' column does not fill it in"
                    )
                    if "fit" in (a.role, b.role)
                    else "",
                }
            )
            continue
        if a.type == b.type:
            continue
        if a.type in NUMERIC and b.type in NUMERIC:
            choice, statement = (
                "cast to number",
                (f"{name} is {a.type} in the customers and {b.type} in the deals: both read as numbers"),
            )
        elif a.kind is not None and a.kind == b.kind:
            continue
        else:
            choice, statement = (
                "kept apart",
                (
                    f"{name} is {a.type} in the customers ({a.header!r}) but {b.type} in the deals ({b.header!r}): "
                    f"kept apart, the customers' {name} is used and the deals' column does not fill it in"
                ),
            )
        schema.reconciliation.append(
            {"field": name, "types": {"customers": a.type, "deals": b.type}, "choice": choice, "statement": statement}
        )
