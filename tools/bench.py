"""icp-agent benchmarks: every figure is a ratio against a baseline measured in the same run.

    python tools/bench.py                 # all benchmarks at full size (several minutes)
    python tools/bench.py --quick         # smaller sizes, a smoke run
    python tools/bench.py import search   # some of them

- import: a 1M-row customers CSV and a 10M-row prospects Parquet through `icp-agent import`,
  rows/s and peak RSS, against pandas.read_csv of the same CSV (each in its own process).
- search: pattern extraction at depth 2 and 3 over 100k and 1M customers x 20 fields,
  against a straightforward pandas search (tools/bench_search.py).
- scoring: scoring 1M and 10M prospects Parquet to Parquet, against pandas (tools/bench_scoring.py).
- score: `icp-agent score` (toolkit.score_prospects, the CLI's own path) on 1M and 10M raw Apollo-style
  prospects (strings as exported: "51-200", "$1.2M", "Computer Software") -> Parquet, against the floor
  `COPY (SELECT * FROM read_csv(...)) TO '...parquet'` on the same file, interleaved, medians of 3, each
  run in its own process (peak RSS is its own); the ICP is the demo's. `--rows` picks the sizes.
- mcp: round-trip latency of a cheap tool and of build_icp on the demo workspace, in-process
  and over stdio, p50 / p95.
- assistant: tokens and tool calls of a full assisted run from the cassettes, and the offline
  run's wall time (tools/bench_assistant.py).
Figures go to stdout as JSON lines; nothing here is asserted by the test suite.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
sys.path.insert(0, str(TOOLS))

IMPORT_CHILD = """
import resource, sys, time
from icp_agent.workspace import Workspace
from icp_agent.ingest.importer import import_file
start = time.perf_counter()
report = import_file(Workspace(sys.argv[1]), sys.argv[2], sys.argv[3])
seconds = time.perf_counter() - start
print(report.rows_kept, seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
PANDAS_CHILD = """
import resource, sys, time
import pandas as pd
start = time.perf_counter()
frame = pd.read_csv(sys.argv[1]) if sys.argv[1].endswith('.csv') else pd.read_parquet(sys.argv[1])
seconds = time.perf_counter() - start
print(len(frame), seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _child(code: str, *args: str) -> tuple[int, float, float]:
    out = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True, text=True).stdout
    rows, seconds, rss_kb = out.split()[-3:]
    return int(rows), float(seconds), int(rss_kb) / 1024


def make_customers_csv(path: Path, rows: int) -> None:
    import duckdb

    duckdb.connect().execute(f"""COPY (SELECT range AS "Record ID", 'Company ' || range AS "Company name",
        'company' || range || '.com' AS "Company Domain Name",
        ['COMPUTER_SOFTWARE', 'Financial Services', 'Marketing & Advertising', 'retail', 'Hospital & Health Care']
            [range % 5 + 1] AS "Industry",
        CASE WHEN range % 7 = 0 THEN '51-200' ELSE CAST(range % 5000 + 1 AS VARCHAR) END AS "Number of Employees",
        '$' || CAST((range % 1000) * 1000 AS VARCHAR) || '.00' AS "Annual Revenue",
        ['United States', 'United Kingdom', 'Germany', 'France'][range % 4 + 1] AS "Country/Region",
        ['Salesforce;Slack', 'HubSpot', 'Wix;Zoom', 'Salesforce;Microsoft 365'][range % 4 + 1] AS "Technologies",
        'customer' AS "Lifecycle Stage", strftime(DATE '2020-01-01' + INTERVAL (range % 2000) DAY, '%m/%d/%Y')
            AS "Became a Customer Date",
        CASE WHEN range % 4 = 0 THEN strftime(DATE '2024-01-01' + INTERVAL (range % 500) DAY, '%Y-%m-%d') END
            AS "Churn Date",
        CAST(range % 90000 AS VARCHAR) AS "ARR", CAST(range % 11 AS VARCHAR) AS "NPS Score",
        CAST(range % 40 AS VARCHAR) AS "Number of Support Tickets", 'UTC' AS "Time Zone"
        FROM range({rows})) TO '{path}' (HEADER)""")


def make_prospects_parquet(path: Path, rows: int) -> None:
    import duckdb

    duckdb.connect().execute(f"""COPY (SELECT 'Prospect ' || range AS "Company Name", 'p' || range || '.com' AS "Website",
        CAST(range % 5000 + 1 AS VARCHAR) AS "# Employees",
        ['computer software', 'financial services', 'marketing & advertising', 'retail'][range % 4 + 1] AS "Industry",
        ['United States', 'Germany'][range % 2 + 1] AS "Country",
        ['Salesforce, Slack', 'HubSpot', 'Wix'][range % 3 + 1] AS "Technologies"
        FROM range({rows})) TO '{path}' (FORMAT parquet)""")


SCORE_CHILD = """
import resource, sys, time
from icp_agent import toolkit
start = time.perf_counter()
result = toolkit.score_prospects(sys.argv[1], sys.argv[2], icp_path=sys.argv[3])
seconds = time.perf_counter() - start
print(result.rows, seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
FLOOR_CHILD = """
import resource, sys, time
import duckdb
start = time.perf_counter()
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
rows = con.execute(f"COPY (SELECT * FROM read_csv('{sys.argv[1]}', header=true, all_varchar=true)) "
                   f"TO '{sys.argv[2]}' (FORMAT parquet)").fetchall()[0][0]
seconds = time.perf_counter() - start
print(rows, seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def make_apollo_prospects_csv(path: Path, rows: int) -> None:
    """Raw prospects as an Apollo-style export carries them: employee ranges mixed with counts and blanks,
    revenue as "$1.2M", industries in display case with "&", "n/a" countries, comma-separated technologies."""
    import duckdb

    duckdb.connect().execute(f"""COPY (SELECT 'Prospect ' || range AS "Company", 'www.p' || range || '.com' AS "Website",
        ['1-10', '11-50', '51-200', '201-500', '501-1000', '1001-5000', '5001-10000', '10001+',
         CAST(hash(range) % 20000 AS VARCHAR), ''][(hash(range * 7) % 10)::BIGINT + 1] AS "# Employees",
        ['Computer Software', 'Financial Services', 'Marketing & Advertising', 'Retail',
         'Information Technology & Services', 'Staffing & Recruiting', 'Internet', 'Insurance',
         'Hospital & Health Care', 'Telecommunications'][(hash(range * 3) % 10)::BIGINT + 1] AS "Industry",
        '$' || CAST(round((hash(range * 5) % 5000)::BIGINT / 10.0, 1) AS VARCHAR) || 'M' AS "Annual Revenue",
        ['United States', 'Germany', 'United Kingdom', 'France', 'Canada', 'n/a'][(hash(range * 11) % 6)::BIGINT + 1]
            AS "Country",
        ['Salesforce, Slack', 'HubSpot', 'Wix', 'Salesforce, Zoom, Microsoft 365', 'Google Workspace, Slack']
            [(hash(range * 13) % 5)::BIGINT + 1] AS "Technologies",
        CAST(1950 + (hash(range * 17) % 75)::BIGINT AS VARCHAR) AS "Founded Year",
        'A company that does things number ' || (range % 1000) AS "Short Description"
        FROM range({rows})) TO '{path}' (HEADER)""")


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def bench_score(quick: bool, sizes: list[int] | None = None, repeats: int = 3) -> list[dict]:
    """`icp-agent score` against the DuckDB floor on the same raw file, interleaved, medians of `repeats`."""
    sys.path.insert(0, str(TOOLS.parent / "src"))
    from icp_agent import toolkit
    from icp_agent.workspace import Workspace

    results = []
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        folder = Path(tmp)
        demo = TOOLS.parent / "fixtures" / "demo"
        toolkit.run(Workspace(folder / "demo.duckdb"), demo, folder / "icp")
        icp = folder / "icp" / "icp.json"
        for rows in sizes or ([200_000] if quick else [1_000_000, 10_000_000]):
            source = folder / f"apollo_{rows}.csv"
            make_apollo_prospects_csv(source, rows)
            runs: dict[str, list[tuple[int, float, float]]] = {"score": [], "floor": []}
            for _ in range(repeats):
                runs["score"].append(_child(SCORE_CHILD, str(source), str(folder / "scored.parquet"), str(icp)))
                runs["floor"].append(_child(FLOOR_CHILD, str(source), str(folder / "floor.parquet")))
            score_s, floor_s = (_median([r[1] for r in runs[k]]) for k in ("score", "floor"))
            score_mb, floor_mb = (_median([r[2] for r in runs[k]]) for k in ("score", "floor"))
            results.append({"bench": "score", "rows": rows, "file_mb": round(source.stat().st_size / 2**20, 1),
                            "seconds": round(score_s, 2), "peak_rss_mb": round(score_mb),
                            "floor_seconds": round(floor_s, 2), "floor_peak_rss_mb": round(floor_mb),
                            "time_vs_floor": round(score_s / floor_s, 2), "memory_vs_floor": round(score_mb / floor_mb, 2),
                            "runs_s": [round(r[1], 2) for r in runs["score"]],
                            "floor_runs_s": [round(r[1], 2) for r in runs["floor"]]})
            source.unlink()
    return results


def bench_import(quick: bool) -> list[dict]:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        csv_rows = 100_000 if quick else 1_000_000
        parquet_rows = 1_000_000 if quick else 10_000_000
        customers = folder / "customers.csv"
        make_customers_csv(customers, csv_rows)
        prospects = folder / "prospects.parquet"
        make_prospects_parquet(prospects, parquet_rows)
        for kind, path, rows in (("customers", customers, csv_rows), ("prospects", prospects, parquet_rows)):
            kept, seconds, rss = _child(IMPORT_CHILD, str(folder / f"{kind}.duckdb"), str(path), kind)
            base_rows, base_seconds, base_rss = _child(PANDAS_CHILD, str(path))
            results.append({"bench": "import", "kind": kind, "rows": rows, "file_mb": round(path.stat().st_size / 2**20, 1),
                            "seconds": round(seconds, 2), "rows_per_s": round(kept / seconds),
                            "peak_rss_mb": round(rss), "pandas_seconds": round(base_seconds, 2),
                            "pandas_rows_per_s": round(base_rows / base_seconds), "pandas_peak_rss_mb": round(base_rss),
                            "time_vs_pandas": round(seconds / base_seconds, 2),
                            "note": "icp-agent also types, normalises, dedups and reports; pandas only parses"})
    return results


def bench_search(quick: bool) -> list[dict]:
    import bench_search

    sizes = (20_000, 100_000) if quick else (100_000, 1_000_000)
    return [{"bench": "search", **bench_search.run(n, depth)} for n in sizes for depth in (2, 3)]


def bench_scoring(quick: bool) -> list[dict]:
    import bench_scoring

    sizes = (200_000,) if quick else (1_000_000, 10_000_000)
    return [{"bench": "scoring", **bench_scoring.run(n)} for n in sizes]


def bench_mcp(quick: bool) -> list[dict]:
    import bench_mcp

    return [{"bench": "mcp", **row} for row in bench_mcp.run(repeats=5 if quick else 30)]


def bench_assistant(quick: bool) -> list[dict]:
    import bench_assistant

    return [{"bench": "assistant", **bench_assistant.run()}]


BENCHES = {"import": bench_import, "search": bench_search, "scoring": bench_scoring, "score": bench_score,
           "mcp": bench_mcp, "assistant": bench_assistant}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("benches", nargs="*", help=f"which of {', '.join(BENCHES)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument("--rows", type=lambda text: [int(n) for n in text.split(",")], default=None,
                        help="score: the sizes to measure, e.g. 1000000 or 1000000,10000000")
    args = parser.parse_args(argv)
    unknown = set(args.benches) - set(BENCHES)
    if unknown:
        parser.error(f"unknown benchmark(s) {sorted(unknown)}: choose from {', '.join(BENCHES)}")
    for name in args.benches or list(BENCHES):
        started = time.perf_counter()
        try:
            rows = BENCHES[name](args.quick, args.rows) if name == "score" else BENCHES[name](args.quick)
        except ModuleNotFoundError as exc:
            rows = [{"bench": name, "skipped": f"missing module: {exc.name}"}]
        for row in rows:
            print(json.dumps(row), flush=True)
        print(json.dumps({"bench": name, "wall_s": round(time.perf_counter() - started, 1),
                          "peak_rss_children_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)}),
              flush=True)


if __name__ == "__main__":
    main()
