"""Unit tests of scorecard/labels.py: bin labels as sellers read them, and field kinds."""

from __future__ import annotations

from icp_agent.scorecard.labels import SCORECARD_KINDS, readable_bin_labels
from icp_agent.tiers.criteria import amount


def test_kinds():
    assert SCORECARD_KINDS["money"] == "number" and SCORECARD_KINDS["percent"] == "number"
    assert SCORECARD_KINDS["band"] == "band" and "text" not in SCORECARD_KINDS


def test_labels_read_as_words_and_money():
    card = {
        "features": [
            {
                "field": "annual_revenue",
                "bins": [
                    {"label": "annual_revenue 7,670,000 to under 50,900,000"},
                    {"label": "annual_revenue missing"},
                ],
            },
            {"field": "employee_count", "bins": [{"label": "employee_count 51-200"}, {"label": "other 1,000"}]},
        ]
    }
    readable_bin_labels(card, {"annual_revenue"})
    revenue = [b["label"] for b in card["features"][0]["bins"]]
    # the field's name in words; each amount in the money formatter's form (whatever that form is)
    assert revenue == [
        f"annual revenue {amount(7_670_000, True)} to under {amount(50_900_000, True)}",
        "annual revenue missing",
    ]
    # a field that is not money keeps its figures; a label not starting with the field is left as it is
    assert [b["label"] for b in card["features"][1]["bins"]] == ["employee count 51-200", "other 1,000"]


def test_empty_card():
    card: dict = {}
    readable_bin_labels(card, set())
    assert card == {}


def test_field_label_is_the_one_field_formatter():
    from icp_agent.scorecard.labels import field_label
    from icp_agent.tiers.criteria import criterion_label

    assert field_label("custom_lead_source") == "custom lead source"
    # criteria labels (icp.json, the document) use it too
    assert criterion_label({"field": "custom_lead_source", "op": "eq", "value": "Referral"}) == (
        "custom lead source = Referral"
    )
