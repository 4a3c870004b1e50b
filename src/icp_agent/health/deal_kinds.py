"""Which deals count, and at what value: new business vs renewals, and a deal's amount per year (ACV).

Kinds: a renewal, expansion or upsell is won from a company that already buys; counted as a win it inflates the
win rate and makes "good = won" partly "good = already a customer". A deal is a renewal or expansion when its
type (`deal_type`: "Renewal", "Upsell", "Existing Business") or its pipeline (`deal_pipeline`: "Renewals &
Expansion") matches RENEWAL, or its yes/no `renewal_flag` ("Renewal?", "Is Renewal") says yes; every other deal
is new business. When the deals hold both, and new business alone has won and lost deals, the deals frame
(`health_score.build_deals_frame`) keeps new business only: win rates, `--good won` and ACV count new-business
deals, and `DealTerms.notes` say how many of each kind were left out.

ACV: the frame's `amount` is the deal's amount per year. By the first of: the amount's period column
(`amount_period`, when ingest/amounts.PERIOD_SHARE of its values are periods: monthly x12, quarterly x4, annual
x1; a one-time amount is not recurring revenue and has no ACV, NULL; a blank or unknown period leaves the amount as
written); the CRM's own annualised amount (`annualized_amount`: Close's annualized_value, HubSpot's ARR); 12 x
the deal's MRR (`deal_mrr`); else the amount as written.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import duckdb

from icp_agent import numbers
from icp_agent.ingest.amounts import PERIOD_SHARE, period_factor_sql, period_share
from icp_agent.sql import columns_of
from icp_agent.sql import quote_identifier as _q

# a renewal, expansion or upsell, in a deal's type or pipeline (lower case)
RENEWAL = (
    r"renew|expan|upsell|up-sell|up sell|cross-sell|cross sell|crosssell|existing|add-on|add on|addon|upgrade"
    r"|retention|extension|install(ed)? base|account management|customer success"
)
KIND_FIELDS = ("deal_type", "deal_pipeline")  # and the yes/no renewal_flag ("Renewal?", "Is Renewal")


@dataclass
class DealTerms:
    """How a deals table's rows are counted: `acv` (SQL of a deal's amount per year over alias `d`, or None without
    an amount), `renewal` (SQL, true for a renewal or expansion, or None when no column tells), `new_only` (the
    frame keeps new business only) and `notes` (what was counted, for the document)."""

    acv: str | None
    renewal: str | None
    new_only: bool
    notes: list[str] = field(default_factory=list)


def renewal_sql(columns: set[str], alias: str = "d") -> str | None:
    """SQL true for a renewal or expansion deal (its deal_type or deal_pipeline matches RENEWAL, or its yes/no
    renewal_flag says yes), or None when no column tells."""
    kinds = [c for c in KIND_FIELDS if c in columns]
    tests = [f"coalesce(regexp_matches(lower({alias}.{_q(c)}::VARCHAR), '{RENEWAL}'), FALSE)" for c in kinds]
    if "renewal_flag" in columns:
        tests.append(f"coalesce(TRY_CAST({alias}.renewal_flag AS BOOLEAN), FALSE)")
    return "(" + " OR ".join(tests) + ")" if tests else None


def acv_sql(con: duckdb.DuckDBPyConnection, deals: str, columns: set[str], alias: str = "d") -> tuple[str | None, str]:
    """(SQL of a deal's amount per year over `alias`, how it is computed in words); (None, ...) without amounts."""
    amount = f"{alias}.amount" if "amount" in columns else None
    if amount and "amount_period" in columns and period_share(con, deals, "amount_period")[0] >= PERIOD_SHARE:
        factor = period_factor_sql(f"{alias}.amount_period")
        return (
            f"(CASE WHEN {factor} = 0 THEN NULL ELSE {amount} * coalesce({factor}, 1) END)",
            "the amount annualised by its period",
        )
    if "annualized_amount" in columns:
        return (f"coalesce({alias}.annualized_amount, {amount})" if amount else f"{alias}.annualized_amount"), (
            "the CRM's annualised amount"
        )
    if "deal_mrr" in columns:
        return (
            f"coalesce(12 * {alias}.deal_mrr, {amount})" if amount else f"12 * {alias}.deal_mrr"
        ), "12 x the deal's MRR"
    return amount, "the amount as written"


def deal_terms(con: duckdb.DuckDBPyConnection, deals: str, stage: str) -> DealTerms:
    """How the deals table `deals` is counted (DealTerms). `stage` is SQL over alias `d` giving 'won' / 'lost' /
    'open' (health_score.stage_class). Counts the kinds and periods once (a few GROUP BYs over the deals)."""
    columns = columns_of(con, deals)
    acv, how = acv_sql(con, deals, columns)
    renewal = renewal_sql(columns)
    terms = DealTerms(acv=acv, renewal=renewal, new_only=False)
    if renewal is not None:
        counts = {
            (renewed, kind): n
            for renewed, kind, n in con.execute(
                f"SELECT {renewal} AS renewal, {stage} AS stage, count(*) FROM {deals} d GROUP BY ALL"
            ).fetchall()
        }
        renewals = {s: counts.get((True, s), 0) for s in ("won", "lost")}
        new = {s: counts.get((False, s), 0) for s in ("won", "lost")}
        if renewals["won"] + renewals["lost"]:
            kinds = " and ".join(c for c in (*KIND_FIELDS, "renewal_flag") if c in columns)
            left = (
                f"{renewals['won'] + renewals['lost']:,} closed renewal and expansion deals ({renewals['won']:,} won, "
                f"{renewals['lost']:,} lost; by {kinds})"
            )
            if new["won"] and new["lost"]:
                terms.new_only = True
                terms.notes.append(
                    f"win rates, won vs lost and ACV count new-business deals only ({new['won']:,} won, "
                    f"{new['lost']:,} lost): {left} are left out, as a renewal is won from a company that already buys"
                )
            else:
                terms.notes.append(
                    f"{left} are counted with new business: new business alone has {new['won']:,} won and "
                    f"{new['lost']:,} lost deals, too few to compare"
                )
    if acv is not None and how != "the amount as written":
        where = f"WHERE NOT {renewal}" if terms.new_only and renewal else ""
        if how == "the amount annualised by its period":
            factor = period_factor_sql("d.amount_period")
            monthly, quarterly, annual, once, once_median = con.execute(
                f"SELECT count_if({factor} = 12), count_if({factor} = 4), count_if({factor} = 1), "
                f"count_if({factor} = 0), median(d.amount) FILTER (WHERE {factor} = 0) FROM {deals} d {where}"
            ).fetchall()[0]
            parts = [
                f"{n:,} {word}"
                for n, word in ((monthly, "monthly x12"), (quarterly, "quarterly x4"), (annual, "annual"))
                if n
            ]
            text = f"ACV is each deal's amount per year: {', '.join(parts) or 'no recurring amounts'}"
            if once:
                text += (
                    f"; {once:,} one-time amounts (median {numbers.money(once_median, '')}) are not recurring revenue "
                    f"and are left out of ACV"
                )
            terms.notes.append(text)
        else:
            terms.notes.append(f"ACV is {how}")
    return terms


RETENTION_FIELDS = {"churn_date", "churned"}


def renewal_retention(con: duckdb.DuckDBPyConnection, customers: str, deals: str, stage: str) -> tuple[str, str] | None:
    """The customers with retention read from their renewal deals, when they have no retention data of their own.

    Applies when the customers table has neither `churn_date` nor `churned` and the deals tell renewals
    (`renewal_sql`) with some closed one. A company whose latest closed renewal or expansion (by close date, then
    row) was lost churned on that deal's close date; one whose latest was won is retained; a company without a
    closed renewal is not known to have churned (as the health score reads a blank churn flag). `customer_since`,
    when absent, is the company's first won deal's close date, so tenure is measured. `stage` is SQL over alias `d`
    giving 'won' / 'lost' / 'open'. Writes table `renewals_<digest of the two tables' names>` (the customers'
    columns plus those; a stored table, as health/rollup.py's, so the evidence queries naming it run again) and
    returns (its name, a note saying what was read), else None.
    """
    from icp_agent.ingest.links import company_key

    own, dcols = columns_of(con, customers), columns_of(con, deals)
    renewal = renewal_sql(dcols)
    if RETENTION_FIELDS & own or renewal is None or "deal_stage" not in dcols:
        return None
    key = company_key(con, deals, customers)
    if key is None:
        return None
    closed = "d.close_date" if "close_date" in dcols else "NULL::DATE"
    renewals = (
        f"SELECT {key.expr('d')} AS k, {stage} AS stage, {closed} AS closed FROM {deals} d "
        f"WHERE {renewal} AND {stage} IN ('won', 'lost') "
        f"QUALIFY row_number() OVER (PARTITION BY k ORDER BY {closed} DESC NULLS LAST, d._row DESC) = 1"
    )
    since = ""
    if "customer_since" not in own and "close_date" in dcols:
        since = (
            f", (SELECT min(d.close_date) FROM {deals} d WHERE {stage} = 'won' AND {key.expr('d')} = "
            f"{key.company_expr('c')}) AS customer_since"
        )
    table = "renewals_" + hashlib.sha256(f"{customers}\0{deals}".encode()).hexdigest()[:12]
    con.execute(
        f"CREATE OR REPLACE TABLE {table} AS SELECT c.*, r.stage = 'lost' AS churned, "
        f"CASE WHEN r.stage = 'lost' THEN r.closed END AS churn_date{since} "
        f"FROM {customers} c LEFT JOIN ({renewals}) r ON r.k = {key.company_expr('c')} ORDER BY c._row"
    )
    retained, churned = con.execute(f"SELECT count_if(NOT churned), count_if(churned) FROM {table}").fetchall()[0]
    if not retained + churned:
        con.execute(f"DROP TABLE {table}")
        return None
    return table, (
        f"retention read from renewal deals (the customers have no churn date): {churned:,} companies whose last "
        f"renewal or expansion was lost count as churned, {retained:,} whose last was won as retained"
        + ("; customer since = the first won deal" if since else "")
    )
