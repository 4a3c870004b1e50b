"""Pydantic models shared by every face (CLI, MCP server, Python API, assistant).

icp.json's JSON Schema is generated from `IcpDocument`; the MCP tools' output schemas
come from the result models here, so one definition documents all faces.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)

Kind = Literal["customers", "deals", "contacts", "prospects", "subscriptions", "tickets", "events", "interviews"]
DATA_KINDS: tuple[str, ...] = ("customers", "deals", "contacts", "prospects", "subscriptions", "tickets", "events")
RoleName = Literal["id", "fit", "outcome", "post_sale", "ignore"]


# --- timestamps and the argument shapes a model naturally sends ---------------------------------------------


def utc_timestamp(value: datetime) -> str:
    """The one text form of a timestamp on every face: ISO 8601 / RFC 3339 in UTC with `Z`, e.g.
    2026-11-29T11:20:58.123456Z (fractional seconds only when there are any).

    A naive value is taken as UTC: the workspace's TIMESTAMP columns hold UTC without a zone (DuckDB
    TIMESTAMP), and a timestamp without a zone fails a strict `date-time` check (RFC 3339 requires one)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


# A datetime field whose JSON is always utc_timestamp's form. Python values are left as given (a naive UTC
# value stays naive for DuckDB's TIMESTAMP columns); only their JSON gets the zone.
UtcDateTime = Annotated[datetime, PlainSerializer(utc_timestamp, return_type=str, when_used="json"),
                        WithJsonSchema({"type": "string", "format": "date-time"})]


def _number_as_text(value: Any) -> Any:
    """A JSON number where an id is expected (version 3, evidence id 12) is read as its text; bools stay as they
    are (true is no id). A float is used only when it is a whole number."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value


def _segment_name(value: Any) -> Any:
    """ICP segments are named "ICP 1", "ICP 2", ...; a model also sends 1, "1", "icp1" or "ICP-2"."""
    value = _number_as_text(value)
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(?:icp[\s_-]*)?(\d+)\s*", value, flags=re.IGNORECASE)
        if match:
            return f"ICP {int(match[1])}"
    return value


def _tier_number(value: Any) -> Any:
    """Tiers are 1, 2, 3; a model also sends "1", "Tier 1" or "tier-2". true/false is no tier (pydantic alone
    would read true as 1)."""
    if isinstance(value, bool):
        raise ValueError("a tier is 1, 2 or 3, not true or false")
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(?:tier[\s_-]*)?(\d+)\s*", value, flags=re.IGNORECASE)
        if match:
            return int(match[1])
    return value


def one_or_many(value: Any) -> Any:
    """One value where a list is expected (ids="E3f9a2c1d") is a list of one."""
    return [value] if isinstance(value, (str, int, float)) and not isinstance(value, bool) else value


def choice_text(value: Any) -> Any:
    """A choice as a model may write it ("Negative ICP", " Tiers", "post-sale") in the form the choices use:
    lower case, words joined by underscores."""
    return re.sub(r"[\s-]+", "_", value.strip()).lower() if isinstance(value, str) else value


# what a model or a CRM user calls a kind of export, beside the kinds' own names (singular or plural)
KIND_SYNONYMS = {"company": "customers", "companies": "customers", "account": "customers", "accounts": "customers",
                 "opportunity": "deals", "opportunities": "deals"}


def _data_kind(value: Any) -> Any:
    """"Deals", "deal", "Companies", "accounts", "opportunities" -> the kind's name (deals, customers, ...)."""
    value = choice_text(value)
    if not isinstance(value, str):
        return value
    if value in KIND_SYNONYMS:
        return KIND_SYNONYMS[value]
    return f"{value}s" if f"{value}s" in DATA_KINDS else value


IdText = Annotated[str, BeforeValidator(_number_as_text)]
DataKindName = Annotated[Literal["customers", "deals", "contacts", "prospects", "subscriptions", "tickets",
                                 "events"], BeforeValidator(_data_kind)]
SegmentName = Annotated[str, BeforeValidator(_segment_name)]
# the bounds before the validator: after one, pydantic publishes them as "ge"/"le" instead of minimum/maximum
TierNumber = Annotated[int, Field(ge=1, le=3), BeforeValidator(_tier_number)]


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
    currencies: dict[str, int] = Field(default_factory=dict, description="money columns: amounts per ISO 4217 "
                                                                          "currency as the file wrote them")


class RejectedRow(BaseModel):
    row: int | None = Field(description="data row number in the file (1 = first row after the header)")
    column: str | None = None
    reason: str
    raw: str | None = None


class FurnitureRow(BaseModel):
    row: int | None = Field(None, description="data row number (None for title lines above the header)")
    kind: str
    raw: str


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
    imported_at: UtcDateTime
    detected_as: str | None = Field(None, description="why this kind was chosen")
    columns: list[ColumnReport] = Field(default_factory=list)
    rejected: list[RejectedRow] = Field(default_factory=list, description="first rejected rows (all are in the "
                                                                            "workspace)")
    warnings: list[str] = Field(default_factory=list)
    furniture_dropped: int = Field(0, description="report furniture dropped: titles, total/subtotal rows, footers "
                                                  "(grand totals, confidentiality, copyright), blank lines")
    furniture: list[FurnitureRow] = Field(default_factory=list, description="the first furniture lines dropped")
    sheet: str | None = Field(None, description="the worksheet read, for an Excel workbook")


class LinkReport(BaseModel):
    kind: Literal["deals", "contacts", "subscriptions", "tickets", "events"]
    linked_by: str | None = Field(description="the key column: company_id, domain, company_name, email "
                                              "or deal_id")
    rows: int
    linked: int
    standalone: int = Field(0, description="rows that link to no customer but carry their own firmographics")
    unlinked: int
    unlinked_examples: list[dict[str, Any]] = Field(default_factory=list)
    accounts: int | None = Field(None, description="subscriptions/tickets/events: distinct accounts named")
    unlinked_accounts: int | None = Field(None, description="subscriptions/tickets/events: accounts not in the "
                                                            "accounts (customers) file, left out of health")
    method: str | None = Field(None, description="how the key's values were matched: id, Salesforce id (first 15 "
                                                 "characters), domain or name (normalised)")
    tried: dict[str, int] = Field(default_factory=dict, description="rows each candidate key would link; the "
                                                                    "one that links most is chosen")
    multiple_companies: int = Field(0, description="rows naming several companies (id;id), linked to the first")
    cause: str | None = Field(None, description="when half or fewer link: the likely cause and what to do")
    notes: list[str] = Field(default_factory=list)
    allowed_unlinked: bool = Field(False, description="too few linked and the run went on (--allow-unlinked): "
                                                      "the unlinked rows were analysed without their company")


class WorkspaceSummary(BaseModel):
    model_config = ConfigDict(extra="forbid")
    workspace: str
    schema_version: int
    current: dict[str, ImportReport] = Field(default_factory=dict, description="current snapshot per kind")
    snapshots: dict[str, int] = Field(default_factory=dict, description="how many snapshots per kind")
    interviews: int = 0
    links: list[LinkReport] = Field(default_factory=list)
    roles: dict[str, str] = Field(default_factory=dict, description="role of every customer field")
    not_in_prospects: list[str] = Field(default_factory=list, description="fit fields the prospect list lacks: "
                                                                         "check a seller can know them before the sale")


# --- the ICP as data (icp.json) ------------------------------------------------------------------------------

ICP_SCHEMA_VERSION = "1.0"
Op = Literal["eq", "in", "between", "gte", "lte", "contains", "is_missing"]


class Criterion(BaseModel):
    """One checkable condition on a fit field: something a seller can verify about a prospect."""

    model_config = ConfigDict(extra="forbid")
    field: str = Field(description="canonical field name (see `icp-agent fields`)")
    op: Op
    value: str | float | bool | None = None
    values: list[str] | None = None
    min: float | None = None
    max: float | None = None
    max_exclusive: bool | None = Field(None, description="true when max is excluded (quantile bins)")
    kind: Literal["band", "number", "category", "list", "bool"] | None = Field(
        None, description="the field's kind in the build's schema; decides the columns the criterion reads "
                          "(band: <field>_min/<field>_max, a range inside [min, max])")
    header: str | None = Field(None, description="the column header this field came from")
    label: str = Field(description="the criterion in words")


class HealthSummary(BaseModel):
    definition: Literal["health", "column", "won"]
    entity: Literal["customer", "deal"]
    description: str
    n: int
    n_good: int
    n_bad: int
    components: list[str] = Field(default_factory=list)
    weights: dict[str, float] = Field(default_factory=dict)
    censored: int = 0
    min_tenure_months: float | None = None
    as_of: str | None = None
    good_column: str | None = None
    good_words: str | None = Field(None, description="what a good entity is, read after 'are': won, retained, ...")
    bad_words: str | None = Field(None, description="what a bad entity is, read after 'are': lost, churned, ...")
    cohort_sizes: dict[str, int] = Field(default_factory=dict)
    cohort_metrics: dict[str, dict[str, Any]] = Field(default_factory=dict,
                                                      description="per cohort: mean health, churn rate, NRR, ...")
    histogram: dict[str, list[int]] = Field(default_factory=dict,
                                            description="per cohort: entities per 10-point health bin (0-10 ... 90-100)")
    evidence: list[str] = Field(default_factory=list)


class RetentionCurve(BaseModel):
    """Kaplan-Meier retention: churn is the event, active customers are censored."""

    group: str = Field(description="a cohort (top/middle/bottom) or a tier")
    kind: Literal["cohort", "tier"]
    n: int
    events: int
    points: list[tuple[float, float]] = Field(description="(months, share still a customer), a step function")
    evidence: str | None = None


class PatternStat(BaseModel):
    direction: Literal["good", "bad"]
    label: str
    criteria: list[Criterion]
    n: int = Field(description="entities matching the pattern")
    k: int = Field(description="of which in the target group (best or worst)")
    rate: float
    base_rate: float
    lift: float
    wracc: float
    ci_low: float
    ci_high: float
    p_value: float
    q_value: float
    evidence: str


class Tier(BaseModel):
    tier: Literal[1, 2, 3]
    segment: str = Field(description="which ICP segment this tier refines (ICP 1, ICP 2, ...)")
    name: str
    criteria: list[Criterion]
    metrics: dict[str, Any] = Field(default_factory=dict)
    flags: list[str] = Field(default_factory=list, description="too_broad / too_narrow warnings")
    evidence: list[str] = Field(default_factory=list)


class Disqualifier(BaseModel):
    criteria: list[Criterion]
    reason: str
    metrics: dict[str, Any] = Field(default_factory=dict)
    evidence: list[str] = Field(default_factory=list)
    rationale: str | None = Field(None, description="drafted prose (offline drafter or Claude), cited")


class DatasetInfo(BaseModel):
    fingerprint: str
    imports: list[dict[str, Any]] = Field(default_factory=list)
    links: list[LinkReport] = Field(default_factory=list, description="how deals and contacts linked to the "
                                                                      "companies when this version was built")
    options: dict[str, Any] = Field(default_factory=dict, description="the build options this version was built "
                                                                      "with (build_icp's options, every field); "
                                                                      "validate_icp, fit_scorecard and "
                                                                      "diff_icp_versions use them again")


class IcpDocument(BaseModel):
    """icp.json: the machine-readable ICP. Its JSON Schema is published as icp.schema.json."""

    model_config = ConfigDict(extra="forbid")
    schema_version: Literal["1.0"] = ICP_SCHEMA_VERSION
    id: str
    created_at: UtcDateTime
    status: Literal["ok", "no_significant_icp"]
    dataset: DatasetInfo
    health: HealthSummary
    statement: str = Field(description="the ICP statement in the method's template")
    no_icp_reason: str | None = None
    tiers: list[Tier] = Field(default_factory=list)
    negative_icp: list[Disqualifier] = Field(default_factory=list)
    patterns: list[PatternStat] = Field(default_factory=list)
    retention: list[RetentionCurve] = Field(default_factory=list)
    personas: list[dict[str, Any]] = Field(default_factory=list, description="per tier and buying role: claims "
                                                                            "with evidence ids, and known gaps")
    narratives: list[dict[str, Any]] = Field(default_factory=list, description="per tier: drafted, cited prose")
    themes: list[dict[str, Any]] = Field(default_factory=list, description="interview themes with verbatim quotes")
    drafting: dict[str, Any] = Field(default_factory=dict, description="which drafter wrote the prose (and model), "
                                                                       "claims dropped by the grounding check, notes "
                                                                       "that contained instructions")
    scorecard: dict[str, Any] | None = None
    validation: dict[str, Any] | None = None
    warnings: list[str] = Field(default_factory=list)
    min_support: dict[str, Any] | None = Field(
        None, description="the minimum support the search used: rows, chosen_by (detectable effect | option), reason")
    excluded_fields: list[dict[str, Any]] = Field(
        default_factory=list, description="fit fields kept out of every criterion and the scorecard: field, rule "
                                          "(leakage | identifier), reason, figures, evidence")
    data_quality: list[dict[str, Any]] = Field(
        default_factory=list, description="missingness that over-indexes among the good or the bad: field, "
                                          "direction, n, k, rate, base_rate, p_value, q_value, statement, evidence")
    evidence: list[dict[str, Any]] = Field(default_factory=list)
