"""A small synthetic customers table for the tiers/ unit tests (test_analyse, test_segments, test_candidates, ...).

1,200 customers, deterministic: industry cycles Software / Retail / Media / Health; headcount 40, 80, ..., 600
in blocks of 40 rows, so every level holds each industry and outcome decile alike (big = headcount > 300);
region north / south alternating by block (a noise field).
`converted` (the outcome) by design:
- Software and big: 9 in 10 (row groups of ten);
- Software and small: 4 in 10;
- Retail and Media: 3 in 10;
- Health: 1 in 10 (a disqualifier).
So Tier 1 should be "industry = Software AND headcount >= ...", and Health the worst.
"""

from __future__ import annotations

import duckdb

from icp_agent.health.health_score import HealthConfig, HealthResult
from icp_agent.schema import AnalysisInputs
from icp_agent.tiers.analyse import AnalysisConfig, analyse

FIT_FIELDS = {"industry": "category", "region": "category", "headcount": "number"}


def make_customers(con: duckdb.DuckDBPyConnection, table: str = "customers") -> None:
    """Create `table` (see the module doc)."""
    con.execute(f"""CREATE OR REPLACE TABLE {table} AS
        SELECT range AS _row, 'co' || range AS company_name,
               ['Software', 'Retail', 'Media', 'Health'][range % 4 + 1] AS industry,
               ['north', 'south'][(range // 40) % 2 + 1] AS region,
               (((range // 40) % 15 + 1) * 40)::DOUBLE AS headcount,
               (range // 4) % 10 AS decile
        FROM range(1200)""")
    con.execute(f"""CREATE OR REPLACE TABLE {table} AS SELECT * EXCLUDE (decile),
        CASE WHEN industry = 'Software' AND headcount > 300 THEN decile < 9
             WHEN industry = 'Software' THEN decile < 4
             WHEN industry = 'Health' THEN decile = 0
             ELSE decile < 3 END AS converted
        FROM {table} ORDER BY _row""")


# 600 customers, one a day from 2024-01-01 (validation's backtest needs start dates): industry cycles Software /
# Retail / Banking; Software ones score NPS 9 six times in ten, the others two in ten. Good = the health score.
DATED_INPUTS = AnalysisInputs("customers", None, {"industry": "category"}, {"industry": "Industry"}, [], "x")


def make_dated_customers(con: duckdb.DuckDBPyConnection) -> None:
    """Create `customers` (see DATED_INPUTS): company_id, domain, industry, nps and customer_since."""
    con.execute(
        """CREATE TABLE customers AS SELECT i AS _row, i AS company_id, 'c' || i || '.com' AS domain,
           CASE i % 3 WHEN 0 THEN 'Software' WHEN 1 THEN 'Retail' ELSE 'Banking' END AS industry,
           CASE WHEN (i * 37) % 10 < (CASE WHEN i % 3 = 0 THEN 6 ELSE 2 END) THEN 9 ELSE (i * 13) % 7 END AS nps,
           DATE '2024-01-01' + INTERVAL (i) DAY AS customer_since
           FROM range(600) t(i)"""
    )


def inputs(table: str = "customers") -> AnalysisInputs:
    """The analysis inputs over `table`, outcome column `converted`."""
    return AnalysisInputs(
        customers=table,
        deals=None,
        fit_fields=dict(FIT_FIELDS),
        headers={"industry": "Industry"},
        imports=[],
        fingerprint="fp",
    )


def config(**kwargs) -> AnalysisConfig:
    """An AnalysisConfig with good = the `converted` column."""
    return AnalysisConfig(health=HealthConfig(good_column="converted"), **kwargs)


def run(con: duckdb.DuckDBPyConnection, **kwargs):
    """(icp, ledger) of the analysis on a fresh synthetic table."""
    make_customers(con)
    return analyse(con, inputs(), config(**kwargs), "v1")


def prepared(con: duckdb.DuckDBPyConnection):
    """(health, selset, good, bad) over a fresh synthetic table, as `analyse` prepares them (no screen).

    The frame is the table `frame`; selectors cover at least 10 rows, no "is missing" selectors."""
    import numpy as np

    from icp_agent.health.health_score import build_frame
    from icp_agent.patterns.selectors import build_selectors
    from icp_agent.tiers.specs import field_specs

    make_customers(con)
    health = build_frame(con, "customers", None, "frame", HealthConfig(good_column="converted"), list(FIT_FIELDS))
    relation = "(SELECT * FROM frame ORDER BY _row)"
    selset = build_selectors(con, relation, field_specs(FIT_FIELDS), include_missing=False, min_count=10)
    good, bad = (
        np.array([r[0] for r in con.execute(f"SELECT {c} FROM {relation}").fetchall()], dtype=bool)
        for c in ("good", "bad")
    )
    return health, selset, good, bad


def won_lost_health(n: int, n_good: int, n_bad: int) -> HealthResult:
    """A won/lost analysis of `n` deals (no health components), for the modules that only read its counts and
    words: the tiers' support, screening findings and prose."""
    return HealthResult(
        definition="won",
        entity="deal",
        frame="f",
        n=n,
        n_good=n_good,
        n_bad=n_bad,
        components=[],
        weights={},
        words=("won", "lost"),
    )
