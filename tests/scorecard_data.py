"""A small synthetic frame for the scorecard/ unit tests (test_fit, test_evaluation, test_model, test_binning).

800 entities, deterministic: `u` is a pseudo-uniform number from the row (a multiplicative hash mod the
prime 997); good = u below a rate set by industry (Software 0.6, Retail and Media 0.3, Health 0.1) plus
0.05 per employee band level (0-4); tools (crm / erp / none) and region carry no signal. `signup` runs one
day per row from 2020-01-01, so the newest quarter is the last 200 rows.
"""

from __future__ import annotations

import duckdb

FIELDS = {"industry": "category", "employees": "band", "tools": "list", "region": "category"}


def make_frame(con: duckdb.DuckDBPyConnection, table: str = "frame", rows: int = 800) -> None:
    """Create `table` (see the module doc)."""
    con.execute(f"""CREATE OR REPLACE TABLE {table} AS
        WITH base AS (
            SELECT range AS _row, ((range * 7919 + 13) % 997) / 997.0 AS u,
                   ['Software', 'Retail', 'Media', 'Health'][range % 4 + 1] AS industry,
                   (range // 4) % 5 AS level,
                   CASE range % 3 WHEN 0 THEN ['crm'] WHEN 1 THEN ['erp'] ELSE []::VARCHAR[] END AS tools,
                   ['north', 'south'][(range // 7) % 2 + 1] AS region,
                   DATE '2020-01-01' + range::INTEGER AS signup
            FROM range({rows}))
        SELECT _row, industry, tools, region, signup,
               [1, 11, 51, 201, 1001][level + 1]::DOUBLE AS employees_min,
               [10, 50, 200, 1000, 5000][level + 1]::DOUBLE AS employees_max,
               u < [0.6, 0.3, 0.3, 0.1][list_position(['Software', 'Retail', 'Media', 'Health'], industry)]
                   + 0.05 * level AS good,
               'x' AS cohort
        FROM base ORDER BY _row""")
