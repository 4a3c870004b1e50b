"""Pydantic models shared by every face (CLI, MCP server, Python API, assistant).

icp.json's JSON Schema is generated from `IcpDocument`; the MCP tools' output schemas
come from the result models here, so one definition documents all faces.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Kind = Literal["customers", "deals", "contacts", "prospects", "interviews"]
DATA_KINDS: tuple[str, ...] = ("customers", "deals", "contacts", "prospects")
RoleName = Literal["id", "fit", "outcome", "post_sale", "ignore"]


class ColumnReport(BaseModel):
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


class RejectedRow(BaseModel):
    row: int | None = Field(description="data row number in the file (1 = first row after the header)")
    column: str | None = None
    reason: str
    raw: str | None = None


class ImportReport(BaseModel):
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
    imported_at: datetime
    detected_as: str | None = Field(None, description="why this kind was chosen")
    columns: list[ColumnReport] = Field(default_factory=list)
    rejected: list[RejectedRow] = Field(default_factory=list, description="first rejected rows (all are in the "
                                                                            "workspace)")
    warnings: list[str] = Field(default_factory=list)


class LinkReport(BaseModel):
    kind: Literal["deals", "contacts"]
    linked_by: str | None = Field(description="the key shared with the target: company_id, domain, company_name "
                                              "or deal_id")
    rows: int
    linked: int
    standalone: int = Field(0, description="rows that link to no customer but carry their own firmographics")
    unlinked: int
    unlinked_examples: list[dict[str, Any]] = Field(default_factory=list)


class WorkspaceSummary(BaseModel):
    model_config = ConfigDict(extra="forbid")
    workspace: str
    schema_version: int
    current: dict[str, ImportReport] = Field(default_factory=dict, description="current snapshot per kind")
    snapshots: dict[str, int] = Field(default_factory=dict, description="how many snapshots per kind")
    interviews: int = 0
    links: list[LinkReport] = Field(default_factory=list)
    roles: dict[str, str] = Field(default_factory=dict, description="role of every customer field")
