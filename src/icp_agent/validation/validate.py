"""Phase 5 validation: does the ICP pay off, does it hold on new customers, is the market big enough?

- unit economics of ICP (Tier 1) vs non-ICP entities, each with a 95% interval, against
  the method's targets (win rate >= 2x, CAC >= 30% lower, NRR >= 20% higher, sales cycle
  >= 30% faster): met / not met / not measurable;
- a backtest: the ICP rebuilt without the customers acquired in the data's last 12 months,
  then asked whether its Tier 1 held the best of those new customers;
- the market: share of the prospect universe per tier (too broad above half of it, too
  narrow when Tier-1 accounts x median Tier-1 ACV is under 3x the revenue target),
  penetration per tier, and the share of open pipeline in Tier 1 (under 40% = a
  targeting problem).
Every figure becomes an evidence item.
"""

from __future__ import annotations

from collections.abc import Callable

from icp_agent.errors import DataShapeError
from icp_agent.evidence import Ledger, clean
from icp_agent.health.health_score import build_deals_frame
from icp_agent.icp_document import IcpDocument, Validation
from icp_agent.progress import Parts
from icp_agent.schema import AnalysisInputs
from icp_agent.tiers.analyse import TIER1_STEPS, AnalysisConfig
from icp_agent.validation.backtest import OlderTier1, backtest
from icp_agent.validation.economics import unit_economics
from icp_agent.validation.market import market


def validate(
    con,
    inputs: AnalysisInputs,
    config: AnalysisConfig,
    icp: IcpDocument,
    prospects: str | None,
    revenue_target: float | None,
    ledger: Ledger,
    checks: Parts | None = None,
    older: Callable[[], OlderTier1] | None = None,
) -> Validation:
    """Unit economics, backtest and market (icp.json's validation); each part runs or says "not measurable:
    <reason>". Figures are made JSON-safe (evidence.clean: NaN as null, 6 significant digits).

    Only a data shape the step cannot use (DataShapeError, NotMeasurable) becomes "not measurable";
    any other exception is a bug and propagates.

    `checks` counts the parts as they finish (progress): the deals frame, the unit economics, each step of the
    backtest's rebuild (analyse.TIER1_STEPS) and the market; a part that ends early jumps ahead. `older`: the
    backtest's analysis of the older customers, when the caller started it ahead (backtest.older_tier1): its
    steps are then counted at once, when the backtest has its result.
    """
    checks = checks or Parts(None, "", "")
    checks.expect(bool(inputs.deals) + 1 + TIER1_STEPS + 1)
    frame = f"frame_{icp.id.replace('-', '_')}"
    deals_frame, deals_note = None, None
    if inputs.deals:
        deals_frame = f"{frame}_alldeals"
        try:
            build_deals_frame(
                con,
                inputs.customers,
                inputs.deals,
                deals_frame,
                list(inputs.fit_fields),
                stages=("won", "lost", "open"),
                schema=inputs.schema,
            )
        except DataShapeError as exc:
            deals_frame, deals_note = None, exc.reason
        checks.advance()
    out = {}
    for name, parts, step in (
        ("unit_economics", 1, lambda: unit_economics(con, frame, deals_frame, icp, ledger)),
        ("backtest", TIER1_STEPS, lambda: backtest(con, inputs, config, icp, frame, ledger, checks.child(), older)),
        ("market", 1, lambda: market(con, prospects, icp, ledger, revenue_target, deals_frame)),
    ):
        first = checks.done
        try:
            out[name] = step()
        except DataShapeError as exc:
            out[name] = {
                "status": "not measurable",
                "reason": exc.reason,
                "comparisons": {},
                "targets": [],
                "tiers": [],
                "warnings": [f"{name.replace('_', ' ')}: not measurable: {exc.reason}"],
            }
        checks.reach(first + parts)
    if deals_note:
        out["unit_economics"].setdefault("not_measurable", {})["deals"] = deals_note
    return Validation.model_validate(clean(out))
