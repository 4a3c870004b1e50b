"""Benchmark: scoring a prospect list, first as a user does it, then the scorecard alone.

1. The CLI's path: `icp-agent score` (in a child process, through the CLI's own entry point) on N raw
   Apollo-style prospects (strings as exported: "51-200", "$1.2M", "Computer Software") -> Parquet with
   the demo's ICP, beside the floor: DuckDB's own `COPY (SELECT * FROM read_csv(...)) TO` of the same
   file (tools/bench.py's `score` task; `python tools/bench.py all score` runs it as medians of 3).
2. The scorecard alone, on rows already normalised (what the CLI's path computes once per distinct value
   and combination): a scorecard is fitted once on 20k synthetic customers (9 fit fields: categories, an employee
band, a technology list, numbers, a flag). Then N synthetic prospects are written to Parquet
with DuckDB's COPY, and scored Parquet to Parquet:

- DuckDB: `COPY (SELECT *, <scorecard_select_sql> FROM read_parquet(...)) TO ...`, with
  preserve_insertion_order=false, on 1 thread and on 2;
- pandas: read_parquet, map every field to its bin, sum the points, look up fit score, band
  and grade, pick the top-3 reasons with numpy, to_parquet.

Each run is a fresh process, so its peak RSS (getrusage) is its own. The two outputs must agree
on points, fit score, priority, grade and reasons for a sample of rows. The DuckDB side also
computes the unseen/missing-field lists and the disqualifier flag, which pandas skips.

    python tools/bench_scoring.py                  # 1M and 10M rows (pandas at 1M only)
    python tools/bench_scoring.py --rows 1000000
    python tools/bench_scoring.py --pandas-10m     # also pandas at 10M (needs several GB)
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

FIELDS = {
    "industry": "category",
    "employees": "band",
    "technologies": "list",
    "revenue": "number",
    "is_public": "bool",
    "country": "category",
    "funding_stage": "category",
    "founded_year": "number",
    "crm": "category",
}
NEGATIVE_ICP = [
    {
        "criteria": [
            {
                "field": "industry",
                "op": "in",
                "values": ["Marketing and Advertising"],
                "label": "industry = Marketing and Advertising",
            }
        ],
        "reason": "churns early",
    }
]
CUSTOMERS = 20_000
BIG_PANDAS = 10_000_000  # opt in with --pandas-10m
COMPARED = ("icp_points", "icp_fit_score", "icp_priority", "icp_grade", "icp_reasons")


def _u(k: int, seed: int) -> str:
    return f"((hash(range + {seed}, {k}) % 10000) / 10000.0)"


def _companies_sql(n_rows: int, seed: int, *, with_outcome: bool) -> str:
    """Deterministic synthetic companies; prospects (another seed) include unseen industries."""

    def u(k: int) -> str:
        return _u(k, seed)

    industries = [
        "Computer Software",
        "Internet",
        "Financial Services",
        "Retail",
        "Marketing and Advertising",
        "Health Care",
        "Education",
        "Manufacturing",
        "Logistics",
        "Real Estate",
        "Media",
        "Telecom",
    ]
    industry = " ".join(f"WHEN {u(1)} < {0.07 * (i + 1):.2f} THEN '{name}'" for i, name in enumerate(industries))
    unseen = "" if with_outcome else f"WHEN {u(13)} < 0.01 THEN 'Zoology' "
    countries = ", ".join(f"'C{i:02d}'" for i in range(20))
    technologies = ", ".join(f"'{t}'" for t in ("Salesforce", "Slack", "HubSpot", "Zendesk", "Snowflake", "Jira"))
    columns = f"""
        range AS _row,
        CASE {unseen}{industry} WHEN {u(1)} < 0.97 THEN 'Rare ' || (hash(range + {seed}, 11) % 60) END AS industry,
        CASE WHEN {u(2)} < 0.15 THEN [1, 10] WHEN {u(2)} < 0.35 THEN [11, 50] WHEN {u(2)} < 0.60 THEN [51, 200]
             WHEN {u(2)} < 0.75 THEN [201, 500] WHEN {u(2)} < 0.85 THEN [501, 1000] WHEN {u(2)} < 0.92 THEN [1001, 5000]
             WHEN {u(2)} < 0.97 THEN [CAST(hash(range + {seed}, 12) % 300 AS INTEGER) + 1,
                                      CAST(hash(range + {seed}, 12) % 300 AS INTEGER) + 1] END AS emp,
        CASE WHEN {u(3)} < 0.05 THEN NULL
             ELSE list_filter([{technologies}], lambda t: hash(range + {seed}, t) % 10 < 3) END AS technologies,
        CASE WHEN {u(4)} < 0.1 THEN NULL ELSE exp(12 + 4 * {u(5)}) END AS revenue,
        CASE WHEN {u(6)} < 0.05 THEN NULL ELSE {u(6)} < 0.3 END AS is_public,
        ([{countries}])[1 + CAST(hash(range + {seed}, 14) % 20 AS INTEGER)] AS country,
        (['Seed', 'Series A', 'Series B', 'Series C', 'Public', 'Bootstrapped'])
            [1 + CAST(hash(range + {seed}, 15) % 6 AS INTEGER)] AS funding_stage,
        1950 + CAST(hash(range + {seed}, 16) % 75 AS INTEGER) AS founded_year,
        CASE WHEN {u(7)} < 0.2 THEN NULL ELSE (['Salesforce', 'HubSpot', 'Pipedrive', 'Zoho', 'Dynamics', 'Close',
            'Copper', 'Other'])[1 + CAST(hash(range + {seed}, 17) % 8 AS INTEGER)] END AS crm,
        {u(8)} AS draw"""
    outcome = (
        f""", draw < 1 / (1 + exp(-(-2.0 + 2.0 * coalesce(industry = 'Computer Software', FALSE)::INT
                  + 0.7 * coalesce(industry = 'Internet', FALSE)::INT
                  - 1.2 * coalesce(industry = 'Marketing and Advertising', FALSE)::INT
                  + 0.9 * coalesce((emp[1] + emp[2]) / 2 BETWEEN 51 AND 200, FALSE)::INT
                  + 0.8 * coalesce(list_contains(technologies, 'Salesforce'), FALSE)::INT
                  + 0.6 * (funding_stage = 'Series B')::INT + 0.4 * coalesce(crm = 'HubSpot', FALSE)::INT
                  + 0.5 * coalesce(list_contains(technologies, 'Snowflake'), FALSE)::INT
                  + 0.3 * coalesce(list_contains(technologies, 'Slack'), FALSE)::INT
                  + 0.5 * coalesce(revenue > exp(14), FALSE)::INT - 0.4 * coalesce(is_public, FALSE)::INT
                  + 0.4 * (founded_year > 2005)::INT + 0.4 * (country < 'C05')::INT))) AS good,
                  DATE '2018-01-01' + CAST(_row * 2000 // {n_rows} AS INTEGER) AS customer_since"""
        if with_outcome
        else ""
    )
    return (
        f"SELECT * EXCLUDE (emp, draw), emp[1]::DOUBLE AS employees_min, emp[2]::DOUBLE AS employees_max"
        f"{outcome} FROM (SELECT {columns} FROM range({n_rows}))"
    )


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _duckdb(card_path: str, source: str, target: str, threads: int) -> dict:
    import duckdb

    from icp_agent.scorecard.emit import scorecard_select_sql

    card = json.loads(Path(card_path).read_text())
    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    con.execute("SET preserve_insertion_order = false")
    started = time.perf_counter()
    relation = f"read_parquet('{source}')"
    present = set(con.sql(f"SELECT * FROM {relation} LIMIT 0").columns)
    exprs = ", ".join(
        f"{sql} AS {name}" for name, sql in scorecard_select_sql(card, NEGATIVE_ICP, present_columns=present)
    )
    con.execute(f"COPY (SELECT *, {exprs} FROM {relation}) TO '{target}' (FORMAT parquet)")
    return {"seconds": time.perf_counter() - started, "peak_rss_mb": _peak_rss_mb()}


def _pandas(card_path: str, source: str, target: str) -> dict:
    """The same scorecard the obvious pandas way: one vectorised bin mapping per field."""
    import numpy as np
    import pandas as pd

    from icp_agent.scorecard.scale import fit_value

    card = json.loads(Path(card_path).read_text())
    started = time.perf_counter()
    frame = pd.read_parquet(source)
    n = len(frame)
    total = np.full(n, card["intercept_points"], dtype=np.int64)
    reason_points, words = [], []
    missing_points: dict[str, int] = {}  # per list field: its elements' missing-bin points, one reason
    missing_rows: dict[str, np.ndarray] = {}  # per list field: rows where the list is NULL or empty
    for feature in card["features"]:
        field, kind, bins = feature["field"], feature["kind"], feature["bins"]
        code = _pandas_codes(frame, feature, missing_rows)
        points = np.array([0] + [b["points"] for b in bins])[code]
        total += points
        labels = np.array([""] + [b["label"] for b in bins], dtype=object)[code]
        if kind == "category":
            values = frame[field].fillna("").astype(str).to_numpy(dtype=object)
            labels = np.where(code == len(bins), labels, (field + " ") + values)
        if kind == "list":
            missing_points[field] = missing_points.get(field, 0) + bins[-1]["points"]
            points = np.where(code == len(bins), 0, points)
        reason_points.append(points)
        words.append(labels)
    for field, points in missing_points.items():
        if points != 0:
            reason_points.append(np.where(missing_rows[field], points, 0))
            words.append(np.full(n, f"{field} missing", dtype=object))
    totals, index = np.unique(total, return_inverse=True)  # the fit curve once per distinct total
    fit = np.array([fit_value(card, int(t)) for t in totals])[index]
    frame["icp_points"] = total
    frame["icp_fit_score"] = fit
    for column, key, name in (("icp_priority", "bands", "priority"), ("icp_grade", "grades", "grade")):
        levels = sorted(card[key], key=lambda level: -level["min_score"])
        frame[column] = np.select(
            [fit >= level["min_score"] for level in levels], [level[name] for level in levels], default=levels[-1][name]
        )
    matrix, texts = np.column_stack(reason_points), np.column_stack(words)
    order = np.argsort(-np.abs(matrix), axis=1, kind="stable")[:, :3]
    rows = np.arange(n)[:, None]
    top_points, top_words = matrix[rows, order], texts[rows, order]
    reasons = pd.Series([""] * n, dtype=object)
    for slot in range(3):
        p = top_points[:, slot]
        text = pd.Series(np.where(p > 0, "+", "")) + pd.Series(p).astype(str) + " " + pd.Series(top_words[:, slot])
        text = text.where(p != 0, "")
        reasons = reasons.where(text == "", reasons.where(reasons == "", reasons + "; ") + text)
    frame["icp_reasons"] = reasons.where(reasons != "", None)
    frame.to_parquet(target)
    return {"seconds": time.perf_counter() - started, "peak_rss_mb": _peak_rss_mb()}


def _pandas_codes(frame, feature: dict, missing_rows: dict):
    """Bin code per row as the SQL defines it: i for bins[i - 1], the missing bin last, 0 unseen."""
    import numpy as np

    field, kind, bins = feature["field"], feature["kind"], feature["bins"]
    missing_code = len(bins)
    if kind == "band":
        low, high = frame[f"{field}_min"].to_numpy(), frame[f"{field}_max"].to_numpy()
        value = np.where(np.isnan(low) | np.isnan(high), np.where(np.isnan(low), high, low), (low + high) / 2)
        missing = np.isnan(value)
    elif kind == "number":
        value = frame[field].to_numpy(dtype=float)
        missing = np.isnan(value)
    elif kind == "list":
        if field not in missing_rows:
            missing_rows[field] = frame[field].map(lambda items: items is None or len(items) == 0).to_numpy(dtype=bool)
        element = feature["element"]
        contains = frame[field].map(lambda items: items is not None and element in items).to_numpy(dtype=bool)
        return np.where(missing_rows[field], missing_code, np.where(contains, 1, 2))
    else:
        mapping = {value: i for i, b in enumerate(bins[:-1], 1) for value in b["when"]["values"]}
        series = frame[field]
        return np.where(series.isna().to_numpy(), missing_code, series.map(mapping).fillna(0).to_numpy(dtype=np.int64))
    cuts = [b["when"]["min"] for b in bins[:-1] if "min" in b["when"]]
    return np.where(missing, missing_code, np.searchsorted(cuts, np.nan_to_num(value), side="right") + 1)


def _in_fresh_process(function, *args) -> dict:
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(function, args)


def _prepare(workdir: Path, n_rows: int) -> tuple[Path, Path, dict]:
    import duckdb

    from icp_agent.scorecard.fit import fit_scorecard

    con = duckdb.connect()
    con.execute(f"CREATE TABLE customers AS {_companies_sql(CUSTOMERS, 0, with_outcome=True)}")
    card = fit_scorecard(con, "customers", FIELDS, time_column="customer_since")
    card_path = workdir / "scorecard.json"
    card_path.write_text(json.dumps(card))
    source = workdir / f"prospects_{n_rows}.parquet"
    con.execute("SET preserve_insertion_order = false")
    con.execute(f"COPY ({_companies_sql(n_rows, 7_777_777, with_outcome=False)}) TO '{source}' (FORMAT parquet)")
    return card_path, source, card


def _agree(outputs: dict[str, Path], n_rows: int) -> bool:
    """Same scores on every 997th row in every output."""
    import duckdb

    con = duckdb.connect()
    columns = ", ".join(COMPARED)
    samples = [
        con.execute(f"SELECT _row, {columns} FROM read_parquet('{path}') WHERE _row % 997 = 0 ORDER BY _row").fetchall()
        for path in outputs.values()
    ]
    return all(sample == samples[0] for sample in samples) and len(samples[0]) == len(range(0, n_rows, 997))


def run_cli(n_rows: int, *, workdir: str | None = None) -> dict:
    """`icp-agent score` through the CLI on n_rows raw prospects beside the floor, one run each (bench.py's task)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import bench

    with tempfile.TemporaryDirectory(dir=workdir) as scratch:
        return bench.measure(bench.task_score(Path(scratch), False, n_rows), repeats=1)


def run(n_rows: int, *, pandas: bool = True, workdir: str | None = None) -> dict:
    """One benchmark point: the CLI's path beside its floor (`run_cli`), then the scorecard alone: seconds,
    rows/s and peak RSS per engine, and whether the scores agree."""
    cli = run_cli(n_rows, workdir=workdir)
    with tempfile.TemporaryDirectory(dir=workdir) as scratch:
        folder = Path(scratch)
        card_path, source, card = _prepare(folder, n_rows)
        row: dict = {
            "rows": n_rows,
            "cli": cli,
            "features": len(card["features"]),
            "auc": card["evaluation"].get("auc"),
        }
        outputs = {}
        for threads in (1, 2):
            outputs[f"duckdb_{threads}t"] = folder / f"duckdb_{threads}.parquet"
            target = outputs[f"duckdb_{threads}t"]
            row[f"duckdb_{threads}t"] = _figures(
                _in_fresh_process(_duckdb, str(card_path), str(source), str(target), threads), n_rows
            )
        if pandas:
            outputs["pandas"] = folder / "pandas.parquet"
            row["pandas"] = _figures(
                _in_fresh_process(_pandas, str(card_path), str(source), str(outputs["pandas"])), n_rows
            )
        row["agree_on_sample"] = _agree(outputs, n_rows)
    return row


def _figures(result: dict, n_rows: int) -> dict:
    return {
        "seconds": round(result["seconds"], 2),
        "rows_per_s": round(n_rows / result["seconds"]),
        "peak_rss_mb": round(result["peak_rss_mb"]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, action="append", help="rows (repeatable; default 1000000 and 10000000)")
    parser.add_argument("--pandas-10m", action="store_true", help="also run pandas at 10M rows (several GB of RAM)")
    parser.add_argument("--workdir", help="folder for the Parquet files (default: the system temp folder)")
    parser.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    args = parser.parse_args(argv)
    results = []
    for n_rows in args.rows or [1_000_000, 10_000_000]:
        results.append(run(n_rows, pandas=n_rows < BIG_PANDAS or args.pandas_10m, workdir=args.workdir))
        print(json.dumps(results[-1]) if args.json else _format(results[-1]), flush=True)
    return 0 if all(r["agree_on_sample"] for r in results) else 1


def _format(row: dict) -> str:
    cli = row["cli"]
    line = (
        f"{row['rows']:>11,} rows  icp-agent score (CLI) {cli.get('icp-agent')}  floor {cli.get('floor')}  "
        f"time / floor {cli.get('time_vs_floor')}  memory / floor {cli.get('memory_vs_floor')}\n"
    )
    parts = [f"{line}{'':>11} the scorecard alone ({row['features']} features, holdout AUC {row['auc']})"]
    for engine in ("duckdb_1t", "duckdb_2t", "pandas"):
        if engine in row:
            figures = row[engine]
            parts.append(
                f"{engine} {figures['seconds']:7.2f} s {figures['rows_per_s']:>10,} rows/s "
                f"{figures['peak_rss_mb']:>6,} MB"
            )
    parts.append(f"agree on sample: {row['agree_on_sample']}")
    return "  ".join(parts)


if __name__ == "__main__":
    sys.exit(main())
