"""The backtest: the ICP rebuilt without the customers acquired in the data's last 12 months, then asked
whether its Tier 1 held the best of those new customers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date

from icp_agent import numbers
from icp_agent.errors import DataShapeError
from icp_agent.evidence import Ledger
from icp_agent.icp_document import IcpDocument
from icp_agent.patterns.stats import fisher_exact
from icp_agent.progress import Progress
from icp_agent.schema import AnalysisInputs
from icp_agent.sql import columns_of
from icp_agent.sql import quote_identifier as _q
from icp_agent.tiers.analyse import AnalysisConfig, analyse
from icp_agent.validation.economics import rate_ci
from icp_agent.validation.tier1 import tier1_columns, tier1_sql


@dataclass(frozen=True)
class OlderTier1:
    """The backtest's analysis of the customers acquired before `cutoff`: its ICP (Tier 1s only), or None with the
    reason the older customers alone could not be analysed (DataShapeError's)."""

    cutoff: date
    icp: IcpDocument | None
    reason: str | None = None


def older_tier1(
    con, inputs: AnalysisInputs, config: AnalysisConfig, version_id: str, progress: Progress | None = None
) -> OlderTier1:
    """The ICP of the customers acquired before the last 12 months of the data (`inputs.customers` with a
    `customer_since` column), analysed on `con` as far as Tier 1; its frame is a TEMP table, dropped here. Reads
    only the customers' table and writes nothing to the workspace, so it may run on a second connection.
    `progress` gets the analysis' steps (analyse's, tier1_only)."""
    # a day (DATE), not a midnight timestamp: icp.json shows it as 2025-10-30, never "2025-10-30 00:00:00"
    cutoff = con.execute(
        f"SELECT CAST(max(customer_since) - INTERVAL 12 MONTH AS DATE) FROM {inputs.customers}"
    ).fetchall()[0][0]
    older = f"frame_{version_id.replace('-', '_')}_backtest_src"
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {older} AS SELECT * FROM {inputs.customers} WHERE customer_since < "
        f"DATE '{cutoff:%Y-%m-%d}'"
    )
    old_inputs = replace(inputs, customers=older, deals=None)
    try:
        # only Tier 1 is compared: the analysis stops once the segments are found
        old_icp, _ = analyse(
            con, old_inputs, config, f"{version_id}-backtest", progress, keep_frame=False, tier1_only=True
        )
    except DataShapeError as exc:
        return OlderTier1(cutoff, None, exc.reason)
    finally:
        con.execute(f"DROP TABLE IF EXISTS frame_{version_id.replace('-', '_')}_backtest")
    return OlderTier1(cutoff, old_icp)


def backtest(
    con,
    inputs: AnalysisInputs,
    config: AnalysisConfig,
    icp: IcpDocument,
    frame: str,
    ledger: Ledger,
    progress: Progress | None = None,
    older: Callable[[], OlderTier1] | None = None,
) -> dict:
    """Rebuild the ICP without the newest 12 months of customers; did its Tier 1 hold the best of them?
    `progress` gets the rebuild's steps (analyse's, tier1_only) when it runs here.

    `older`: the older customers' analysis (`older_tier1`) when the caller started it ahead, on a connection of its
    own (the build runs it beside its own analysis); by default it runs here, on `con`."""
    if not inputs.customers or icp.health.definition != "health":
        return {"status": "not measurable", "reason": "needs customers with a start date and a health score"}
    columns = columns_of(con, inputs.customers)
    if "customer_since" not in columns:
        return {"status": "not measurable", "reason": "the customers have no start date (customer_since)"}
    ran = older() if older is not None else older_tier1(con, inputs, config, icp.id, progress)
    cutoff, old_icp = ran.cutoff, ran.icp
    if old_icp is None:
        return {"status": "not measurable", "reason": f"the older customers alone: {ran.reason}", "cutoff": str(cutoff)}
    in_tier1 = tier1_sql(old_icp, columns_of(con, frame), "the newer customers")
    if not in_tier1:
        return {
            "status": "not measurable",
            "reason": "no significant ICP in the older customers alone",
            "cutoff": str(cutoff),
        }
    # the old Tier 1 on each distinct combination of the columns it reads, weighted by its newer customers and good
    # ones: the same counts as on every row (validation.tier1.tier1_columns)
    read = "".join(f"{_q(c)}, " for c in tier1_columns(old_icp))
    rows = {
        flag: (n, k)
        for flag, n, k in con.execute(
            f"SELECT coalesce(({in_tier1}), FALSE), sum(__icp_n)::BIGINT, sum(__icp_k)::BIGINT FROM (SELECT {read}"
            f"count(*) AS __icp_n, count_if(good) AS __icp_k FROM {frame} "
            f"WHERE customer_since >= DATE '{cutoff:%Y-%m-%d}' AND cohort IS NOT NULL GROUP BY ALL) GROUP BY ALL"
        ).fetchall()
    }
    (n1, k1), (n0, k0) = rows.get(True, (0, 0)), rows.get(False, (0, 0))
    if not n1 or not n0:
        return {
            "status": "not measurable",
            "reason": "no new customers on one side of the old Tier 1",
            "cutoff": str(cutoff),
        }
    _, p = fisher_exact(k1, n1, k1 + k0, n1 + n0)
    held = k1 / n1 > k0 / n0 and p < 0.05
    result = {
        "status": "held" if held else "did not hold",
        "cutoff": str(cutoff),
        "old_tier1": [" AND ".join(c.label for c in t.criteria) for t in old_icp.tiers if t.tier == 1],
        "new_in_tier1": rate_ci(k1, n1),
        "new_outside": rate_ci(k0, n0),
        "p_value": p,
    }
    result["evidence"] = ledger.add(
        "backtest",
        str(cutoff),
        f"Backtest: an ICP built only from customers acquired before {cutoff:%Y-%m-%d} put {n1:,} of the newer "
        f"customers in Tier 1; {numbers.percent(k1 / n1)} of them are now in the top 20% by health vs "
        f"{numbers.percent(k0 / n0)} of the other {n0:,} (p={numbers.p_value(p)}): the ICP {result['status']}.",
        {k: v for k, v in result.items() if k != "old_tier1"},
        n=n1 + n0,
    )
    return result
