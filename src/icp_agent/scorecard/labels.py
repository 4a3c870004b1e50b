"""Scorecard bin labels as sellers read them, and the scorecard kind of each field type."""

from __future__ import annotations

import re

SCORECARD_KINDS = {
    "category": "category",
    "band": "band",
    "number": "number",
    "money": "number",
    "percent": "number",
    "list": "list",
    "bool": "bool",
}


def field_label(field: str) -> str:
    """A field's name as the document, icp.json's labels and a scored file's fit_reasons write it: the stored
    name's underscores as spaces ("custom_lead_source" -> "custom lead source", "annual_revenue" -> "annual
    revenue"). The one formatter: criteria labels, scorecard bin labels and reasons all use it."""
    return field.replace("_", " ")


def readable_bin_labels(card: dict, money: set[str]) -> None:
    """Bin labels as sellers read them in a reason ("annual revenue $7.67M-$50.9M"), in place: the SQL that
    writes fit_reasons reads them from the scorecard, so a scored file and the document agree."""
    from icp_agent.tiers.criteria import money_sign

    for feature in card.get("features", []):
        field = feature.get("field", "")
        for item in feature.get("bins", []):
            label = item.get("label", "")
            if label.startswith(field):
                label = field_label(field) + label[len(field) :]
            if field in money:
                label = _amounts_in(label, money_sign(field))
            item["label"] = label


def _amounts_in(label: str, sign: str) -> str:
    """Each number of a money bin's label written as an amount with `sign` ("10000000-50000000" -> "€10M-€50M")."""
    from icp_agent.tiers.criteria import amount

    return re.sub(r"\d[\d,]*(?:\.\d+)?", lambda m: amount(float(m[0].replace(",", "")), True, sign), label)
