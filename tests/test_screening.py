"""Unit tests of tiers/screening.py: the field screen as icp.json's excluded_fields and data_quality."""

from __future__ import annotations

from icp_agent.evidence import Ledger
from icp_agent.health.health_score import HealthResult
from icp_agent.patterns.screen import Screen
from icp_agent.tiers.screening import screen_findings
from tiers_data import won_lost_health


def _health() -> HealthResult:
    return won_lost_health(n=200, n_good=100, n_bad=100)


def test_findings_carry_their_figures_and_evidence():
    screen = Screen(
        kept=[],
        excluded=[
            {"field": "deal_ref", "rule": "identifier", "distinct": 200, "rows": 200, "reason": "an id"},
            {"field": "lost_reason", "rule": "leakage", "basis": "name", "reason": "an outcome"},
        ],
        missingness=[
            {
                "field": "phone",
                "direction": "bad",
                "n": 20,
                "k": 20,
                "rate": 1.0,
                "base_rate": 0.5,
                "p_value": 1e-6,
                "q_value": 2e-6,
            }
        ],
    )
    ledger = Ledger()
    excluded, findings = screen_findings(screen, _health(), ledger)
    assert [(e["field"], e["rule"]) for e in excluded] == [("deal_ref", "identifier"), ("lost_reason", "leakage")]
    first = ledger.get(excluded[0]["evidence"])
    assert first.metrics == {"rule": "identifier", "distinct": 200, "rows": 200}
    assert first.statement == "Excluded from criteria: an id."
    assert ledger.get(excluded[1]["evidence"]).metrics == {"rule": "leakage", "basis": "name"}
    (finding,) = findings
    # the finding keeps the screen's figures; the statement words the bad side as the health's word
    assert {k: finding[k] for k in ("field", "direction", "n", "k", "rate", "base_rate")} == {
        "field": "phone",
        "direction": "bad",
        "n": 20,
        "k": 20,
        "rate": 1.0,
        "base_rate": 0.5,
    }
    assert finding["statement"].startswith("phone is missing for 20 deals") and " lost vs " in finding["statement"]
    item = ledger.get(finding["evidence"])
    assert (item.kind, item.metrics["k"], item.metrics["q_value"]) == ("data_quality", 20, 2e-6)
    assert "field" not in item.metrics


def test_nothing_screened():
    assert screen_findings(Screen(kept=[]), _health(), Ledger()) == ([], [])
