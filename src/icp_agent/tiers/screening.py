"""What the field screen found, as icp.json's excluded_fields and data_quality, each with its evidence."""

from __future__ import annotations

from icp_agent import numbers
from icp_agent.evidence import Ledger
from icp_agent.health.health_score import (
    HealthResult,
)
from icp_agent.patterns.screen import Screen
from icp_agent.tiers.candidates import group_words


def screen_findings(screen: Screen, health: HealthResult, ledger: Ledger) -> tuple[list[dict], list[dict]]:
    """icp.json's excluded_fields and data_quality from the screen, each with an evidence id."""
    excluded = []
    for item in screen.excluded:
        figures = {k: v for k, v in item.items() if k not in ("field", "reason", "rule")}
        evidence = ledger.add(
            "excluded_field",
            item["field"],
            f"Excluded from criteria: {item['reason']}.",
            {"rule": item["rule"], **figures},
        )
        excluded.append({**item, "evidence": evidence})
    findings = []
    for item in screen.missingness:
        words = group_words(item["direction"], health)
        statement = (
            f"{item['field']} is missing for {item['n']:,} {health.entity}s, {numbers.percent(item['rate'])} of "
            f"them {words} vs {numbers.percent(item['base_rate'])} overall (q={numbers.p_value(item['q_value'])}); missingness "
            f"marks how records were kept, so it is reported here, never used as a criterion"
        )
        evidence = ledger.add(
            "data_quality",
            f"{item['field']}|{item['direction']}",
            statement + ".",
            {k: v for k, v in item.items() if k != "field"},
            n=item["n"],
        )
        findings.append({**item, "statement": statement, "evidence": evidence})
    return excluded, findings
