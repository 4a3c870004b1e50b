"""What an import reports and what the workspace holds: the models import_data and inspect_workspace return
(column reports, rejected rows, the link report, the workspace summary), shared by every face.

The ICP itself (icp.json) is modelled in icp_agent.icp_document; argument shapes are in icp_agent.shapes.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
)
from typing_extensions import TypedDict  # pydantic needs it on Python < 3.12

from icp_agent.shapes import (
    Kind,
    RoleName,
    UtcDateTime,
)


class ColumnReport(BaseModel):
    """One column of an imported file (ImportReport.columns)."""

    header: str = Field(description="the column's header in the file")
    field: str = Field(description="the canonical field or attribute name it was stored as")
    canonical: bool = Field(description="true when the header was recognised as a known field")
    role: RoleName
    type: str
    pct_missing: float = Field(description="share of rows with no value, 0-100")
    examples: list[str] = Field(default_factory=list)
    unparsed: int = Field(0, description="values present in the file that did not parse as the type")
    unparsed_examples: list[str] = Field(default_factory=list)
    note: str | None = None
    mapped_values: list[str] = Field(
        default_factory=list,
        description="labels the mapping file's [values.FIELD] stored as another: \"'raw' -> 'stored': N rows\"",
    )
    currencies: dict[str, int] = Field(
        default_factory=dict, description="money columns: amounts per ISO 4217 currency as the file wrote them"
    )
    currency: str | None = Field(
        None, description="money columns: the ISO 4217 currency the stored amounts are in (after conversion)"
    )


class RejectedRow(BaseModel):
    """A row an import rejected, and why."""

    row: int | None = Field(description="data row number in the file (1 = first row after the header)")
    column: str | None = None
    reason: str
    raw: str | None = None


class FurnitureRow(BaseModel):
    """A report-furniture line an import dropped: title, total row, footer or blank (ImportReport.furniture)."""

    row: int | None = Field(None, description="data row number (None for title lines above the header)")
    kind: str
    raw: str


class ImportReport(BaseModel):
    """What importing one file did: format, rows read/kept/rejected, columns, warnings (import_data, inspect_workspace)."""

    import_id: str
    kind: Kind
    file_name: str
    path: str
    sha256: str
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    rows_read: int
    rows_kept: int
    rows_rejected: int
    duplicates_dropped: int
    conflicts: int = 0
    already_imported: bool = False
    imported_at: UtcDateTime
    detected_as: str | None = Field(None, description="why this kind was chosen")
    columns: list[ColumnReport] = Field(default_factory=list)
    rejected: list[RejectedRow] = Field(
        default_factory=list, description="first rejected rows (all are in the workspace)"
    )
    warnings: list[str] = Field(default_factory=list)
    furniture_dropped: int = Field(
        0,
        description="report furniture dropped: titles, total/subtotal rows, footers "
        "(grand totals, confidentiality, copyright), blank lines",
    )
    furniture: list[FurnitureRow] = Field(default_factory=list, description="the first furniture lines dropped")
    sheet: str | None = Field(None, description="the worksheet read, for an Excel workbook")


class AmbiguousKey(TypedDict):
    """A name or domain several companies share once normalised: the rows naming it stay unlinked."""

    value: str  # as the linking file wrote it
    key: str  # normalised
    rows: int
    companies: list[str]  # as the companies' file names them, at most three


class LinkReport(BaseModel):
    """How one kind's rows linked to the customers (inspect_workspace, icp.json dataset)."""

    kind: Literal["deals", "contacts", "subscriptions", "tickets", "events"]
    linked_by: str | None = Field(description="the key column: company_id, domain, company_name, email or deal_id")
    rows: int
    linked: int
    standalone: int = Field(0, description="rows that link to no customer but carry their own firmographics")
    unlinked: int
    unlinked_examples: list[dict[str, Any]] = Field(default_factory=list)
    accounts: int | None = Field(None, description="subscriptions/tickets/events: distinct accounts named")
    unlinked_accounts: int | None = Field(
        None,
        description="subscriptions/tickets/events: accounts not in the accounts (customers) file, left out of health",
    )
    method: str | None = Field(
        None,
        description="how the key's values were matched: id, Salesforce id (first 15 "
        "characters), domain or name (normalised)",
    )
    tried: dict[str, int] = Field(
        default_factory=dict, description="rows each candidate key would link; the one that links most is chosen"
    )
    multiple_companies: int = Field(0, description="rows naming several companies (id;id), linked to the first")
    # absent (not 0 / []) when nothing was ambiguous: reports written before the check load and write back as they were
    ambiguous: int = Field(
        0,
        exclude_if=lambda n: n == 0,
        description="rows not linked because their name or domain fits several companies once "
        'normalised ("Irondata" and "Irondata LLC"); part of standalone/unlinked',
    )
    ambiguous_examples: list[AmbiguousKey] = Field(
        default_factory=list, exclude_if=lambda examples: not examples, description="the commonest ambiguous values"
    )
    cause: str | None = Field(None, description="when half or fewer link: the likely cause and what to do")
    notes: list[str] = Field(default_factory=list)
    allowed_unlinked: bool = Field(
        False,
        description="too few linked and the run went on (--allow-unlinked): "
        "the unlinked rows were analysed without their company",
    )


class WorkspaceSummary(BaseModel):
    """The workspace's current imports, snapshot counts, links and field roles (toolkit.inspect_workspace)."""

    model_config = ConfigDict(extra="forbid")
    workspace: str
    schema_version: int
    current: dict[str, ImportReport] = Field(default_factory=dict, description="current snapshot per kind")
    snapshots: dict[str, int] = Field(default_factory=dict, description="how many snapshots per kind")
    interviews: int = 0
    links: list[LinkReport] = Field(default_factory=list)
    roles: dict[str, str] = Field(default_factory=dict, description="role of every customer field")
    not_in_prospects: list[str] = Field(
        default_factory=list,
        description="fit fields the prospect list lacks: check a seller can know them before the sale",
    )
