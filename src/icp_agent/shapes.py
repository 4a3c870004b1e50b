"""The argument shapes every face reads: the kinds of export, field roles, and the forms a model or a person
naturally sends for an id, a tier, a segment or a kind ("Tier 1", 3, "ICP-2", "Accounts"), with the one text form
of a timestamp.

Only pydantic is imported here: the CLI's options (icp_agent.options) are built from these without loading the
ICP document's models (icp_agent.icp_document)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, PlainSerializer, WithJsonSchema

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
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


# A datetime field whose JSON is always utc_timestamp's form. Python values are left as given (a naive UTC
# value stays naive for DuckDB's TIMESTAMP columns); only their JSON gets the zone.
UtcDateTime = Annotated[
    datetime,
    PlainSerializer(utc_timestamp, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


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
KIND_SYNONYMS = {
    "company": "customers",
    "companies": "customers",
    "account": "customers",
    "accounts": "customers",
    "opportunity": "deals",
    "opportunities": "deals",
}


def _data_kind(value: Any) -> Any:
    """ "Deals", "deal", "Companies", "accounts", "opportunities" -> the kind's name (deals, customers, ...)."""
    value = choice_text(value)
    if not isinstance(value, str):
        return value
    if value in KIND_SYNONYMS:
        return KIND_SYNONYMS[value]
    return f"{value}s" if f"{value}s" in DATA_KINDS else value


IdText = Annotated[str, BeforeValidator(_number_as_text)]
DataKindName = Annotated[
    Literal["customers", "deals", "contacts", "prospects", "subscriptions", "tickets", "events"],
    BeforeValidator(_data_kind),
]
SegmentName = Annotated[str, BeforeValidator(_segment_name)]
# the bounds before the validator: after one, pydantic publishes them as "ge"/"le" instead of minimum/maximum
TierNumber = Annotated[int, Field(ge=1, le=3), BeforeValidator(_tier_number)]
