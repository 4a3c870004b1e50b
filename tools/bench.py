"""icp-agent benchmarks: every figure is a ratio against a baseline measured in the same run.

    python tools/bench.py all             # the scale table: every task beside its floor and pandas (~30 min)
    python tools/bench.py all build       # one task of it; --quick for small sizes, --repeats N
    python tools/bench.py build           # the same (a task with no older benchmark of its name)
    python tools/bench.py import-csv --baseline ../main   # a task alone (`all` implied), beside another checkout
    python tools/bench.py all --repeats 5 --idle 0.5      # medians of 5, each task started on an idle machine
    python tools/bench.py                 # the older benchmarks below, at full size (several minutes)
    python tools/bench.py --quick         # smaller sizes, a smoke run
    python tools/bench.py import search   # some of them

- all: one table, every task run through the CLI in a child process per measurement (peak RSS is
  its own), the sides interleaved, medians of 3 (`--baseline DIR` adds a side running the same command
  on DIR/src, another checkout: before and after a change in one interleaved run): import-csv (1M messy customers CSV) and
  import-parquet (10M messy prospects Parquet, every column a raw string) beside the floor
  `CREATE TABLE t AS SELECT * FROM read_csv/read_parquet(...)` into a database file and pandas;
  build (`icp-agent build` on 1M imported customers whose health depends on their traits, so every phase runs;
  the row says which ran; a fresh copy of the workspace per run); build-demo (the same on the demo's workspace:
  5,000 customers, 25k deals, 37k contacts);
  search (depth 3 at 1M, selector building included); score (`icp-agent score-prospects` on 10M raw Apollo-style
  prospects -> Parquet beside DuckDB's COPY of the same file).

- import: a 1M-row customers CSV and a 10M-row prospects Parquet through `icp-agent import`,
  rows/s and peak RSS, against pandas.read_csv of the same CSV (each in its own process).
- search: pattern extraction at depth 2 and 3 over 100k and 1M customers x 20 fields,
  against a straightforward pandas search (tools/bench_search.py).
- scoring: `icp-agent score` through the CLI beside the floor, then the scorecard alone on normalised rows
  (DuckDB SQL against pandas) at 1M and 10M (tools/bench_scoring.py).
- score: `icp-agent score-prospects` (the CLI, in a child process: the whole wait, imports included) on 1M
  and 10M raw Apollo-style prospects (strings as exported: "51-200", "$1.2M", "Computer Software") ->
  Parquet, against the floor `COPY (SELECT * FROM read_csv(...)) TO '...parquet'` on the same file,
  interleaved, medians of `--repeats` (3), each run in its own process (peak RSS is its own, VmHWM); the
  ICP is the demo's. `--rows` picks the sizes: `python tools/bench.py score --rows 10000000`; `--baseline DIR`
  adds the CLI run from another checkout's src (before/after in one interleaved run).
- mcp: round-trip latency of a cheap tool and of build_icp on the demo workspace, in-process
  and over stdio, p50 / p95.
- assistant: tokens and tool calls of a full assisted run from the cassettes, and the offline
  run's wall time (tools/bench_assistant.py).
Figures go to stdout as JSON lines; nothing here is asserted by the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
# How long `--idle` waits for the machine to quieten before it measures anyway (the row says the load it found)
IDLE_PATIENCE_S = 180.0
sys.path.insert(0, str(TOOLS))


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


def bench_score(quick: bool, sizes: list[int] | None = None, repeats: int = 3, before: str | None = None) -> list[dict]:
    """`icp-agent score-prospects` through the CLI beside the DuckDB floor on the same raw file, at each size:
    the `all` table's score task (a child process per run, its own peak RSS, interleaved, medians). `before`
    (another checkout's src folder) adds a side "before": the same CLI run from that code, interleaved too."""
    results = []
    for rows in sizes or ([200_000] if quick else [1_000_000, 10_000_000]):
        with tempfile.TemporaryDirectory(dir="/tmp", prefix="icp-bench-score-") as tmp:
            task = task_score(Path(tmp), quick, rows)
            if before:
                task.commands = {"floor": task.commands["floor"], "before": task.commands["icp-agent"], **task.commands}
                task.setup["before"] = f"import sys; sys.path.insert(0, {str(Path(before).resolve())!r})\n"
            row = measure(task, repeats)
            floor = row.get("floor", {})
            for side in ("before", "icp-agent"):
                if "seconds" in row.get(side, {}) and "seconds" in floor:
                    row[f"{side}_vs_floor"] = {
                        "time": round(row[side]["seconds"] / floor["seconds"], 2),
                        "cpu": round(row[side]["cpu_s"] / floor["cpu_s"], 2),
                        "memory": round(row[side]["peak_rss_mb"] / floor["peak_rss_mb"], 2),
                    }
            results.append(row)
    print(table(results) if not before else _before_after_table(results), file=sys.stderr, flush=True)
    return results


def _before_after_table(results: list[dict]) -> str:
    """| rows | before | after | floor | ratios to the floor (wall, CPU, peak memory) |, one line per size."""

    def cell(side: dict) -> str:
        if "error" in side:
            return f"error: {side['error'][:60]}"
        return f"{side['seconds']:.1f} s ({side['cpu_s']:.1f} s CPU), {side['peak_rss_mb'] / 1024:.2f} GB"

    def ratios(row: dict, side: str) -> str:
        r = row.get(f"{side}_vs_floor")
        return f"{r['time']}x / {r['cpu']}x / {r['memory']}x" if r else "-"

    lines = [
        "| rows | before | after | the floor, same run | before / floor (wall / CPU / memory) | after / floor |",
        "|---|---|---|---|---|---|",
    ]
    for row in results:
        sides = [cell(row[s]) if s in row else "-" for s in ("before", "icp-agent", "floor")]
        lines.append(
            f"| {row['rows']:,} | {' | '.join(sides)} | {ratios(row, 'before')} | {ratios(row, 'icp-agent')} |"
        )
    return "\n".join(lines)


# --- `all`: each task beside its floor (the plain DuckDB statement on the same file) and pandas -------------------
#
# A task is registered with `register(name)`: a function (folder, quick) -> Task that makes its input files once and
# returns the commands to time. Each command is a child process (its peak RSS is its own), run interleaved with the
# others, `repeats` times; the figures are medians. Other benchmarks plug in the same way (`score` is H8's slot).

CHILD_PROLOGUE = """
import json, resource, sys, time
started = time.perf_counter()
"""
CHILD_EPILOGUE = """
usage = resource.getrusage(resource.RUSAGE_SELF)
# VmHWM is this process's own peak; ru_maxrss would keep the parent's size at fork (Linux carries it over exec)
try:
    peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
except (OSError, StopIteration):
    peak_kb = usage.ru_maxrss
print(json.dumps({"rows": rows, "seconds": time.perf_counter() - started, "cpu_s": usage.ru_utime + usage.ru_stime,
                  "peak_rss_mb": peak_kb / 1024, **globals().get("extra", {})}))
"""


@dataclass
class Task:
    """One row of the table: `commands` maps a side ("icp-agent", "floor", "pandas") to (child code, argv)."""

    name: str
    rows: int
    commands: dict[str, tuple[str, list[str]]]
    note: str = ""
    setup: dict[str, str] = field(default_factory=dict)  # side -> code run in the child before the clock starts
    sources: dict[str, str] = field(default_factory=dict)  # side -> the src folder it imports (default: ours)
    after: Callable[[], dict] | None = None  # what the last run did (read from its outputs), added to the row


TASKS: dict[str, Callable[[Path, bool], Task]] = {}


def register(name: str):
    """Add a task to `bench.py all` (the decorated function makes the inputs and returns a Task)."""

    def decorate(make: Callable[[Path, bool], Task]):
        TASKS[name] = make
        return make

    return decorate


def _run_child(code: str, args: list[str], setup: str = "", src: str | None = None) -> dict:
    """Run `code` in a fresh interpreter on `src` (default: this checkout's src); the clock starts after `setup`
    (copying a workspace, say)."""
    program = setup + CHILD_PROLOGUE + code + CHILD_EPILOGUE
    done = subprocess.run(
        [sys.executable, "-c", program, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": src or str(TOOLS.parent / "src")},
    )
    if done.returncode:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(task: Task, repeats: int) -> dict:
    """Interleaved runs of every side of `task`, medians of `repeats`, ratios against the floor."""
    runs: dict[str, list[dict]] = {side: [] for side in task.commands}
    for _ in range(repeats):
        for side, (code, args) in task.commands.items():
            runs[side].append(_run_child(code, args, task.setup.get(side, ""), task.sources.get(side)))
    row: dict = {"bench": task.name, "rows": task.rows}
    for side, results in runs.items():
        good = [r for r in results if "error" in r] or results
        if any("error" in r for r in results):
            row[side] = {"error": next(r["error"] for r in results if "error" in r)}
            continue
        # cpu_s (user + system of the child, setup included) tells a slow machine from a slow program
        row[side] = {
            "seconds": round(_median([r["seconds"] for r in good]), 2),
            "cpu_s": round(_median([r["cpu_s"] for r in good]), 2),
            "peak_rss_mb": round(_median([r["peak_rss_mb"] for r in good])),
            "runs_s": [round(r["seconds"], 2) for r in good],
        }
        if all("phases_s" in r for r in good):  # the build's steps: medians of each step's seconds
            row[side]["phases_s"] = {
                step: round(_median([r["phases_s"].get(step, 0.0) for r in good]), 2) for step in good[0]["phases_s"]
            }
    ours, floor = row.get("icp-agent", {}), row.get("floor", {})
    if "seconds" in ours and "seconds" in floor:
        row["time_vs_floor"] = round(ours["seconds"] / floor["seconds"], 2)
        row["memory_vs_floor"] = round(ours["peak_rss_mb"] / floor["peak_rss_mb"], 2)
        row["cpu_vs_floor"] = round(ours["cpu_s"] / floor["cpu_s"], 2)
    base = row.get("baseline", {})
    if "seconds" in base and "seconds" in floor:
        row["baseline_time_vs_floor"] = round(base["seconds"] / floor["seconds"], 2)
        row["baseline_memory_vs_floor"] = round(base["peak_rss_mb"] / floor["peak_rss_mb"], 2)
        row["baseline_cpu_vs_floor"] = round(base["cpu_s"] / floor["cpu_s"], 2)
    if task.after:
        row.update(task.after())
    if task.note:
        row["note"] = task.note
    return row


# argv: rows, the setup's arguments, "--", the CLI's arguments (its output is swallowed: the user's wait is timed)
CLI_CHILD = """
import contextlib, io
from icp_agent.faces.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    main(sys.argv[sys.argv.index("--") + 1:], standalone_mode=False)
rows = int(sys.argv[1])
"""
# the build's run, as CLI_CHILD's, with its progress lines (stderr, piped: a line as each step starts) timed: a step
# lasts from its first line to the next new step's (steps that overlap, such as the scoring matrix written beside
# the CRM files, show when each started); `phases_s` in the child's result
BUILD_CHILD = """
import contextlib, io
from icp_agent.faces.cli import main
class _Steps(io.StringIO):
    started = {}
    def write(self, text):  # click writes bytes here when it finds no binary stream (a note)
        for line in (text.decode() if isinstance(text, bytes) else text).splitlines():
            step = line.split(":")[0].split(" (")[0].strip()
            if step and not step.startswith("note") and step not in self.started:
                self.started[step] = time.perf_counter()
        return len(text)
steps = _Steps()
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(steps):
    main(sys.argv[sys.argv.index("--") + 1:], standalone_mode=False)
rows = int(sys.argv[1])
marks = list(steps.started.items()) + [("end", time.perf_counter())]
extra = {"phases_s": {"start": marks[0][1] - started} | {a: b2 - b1 for (a, b1), (_, b2) in zip(marks, marks[1:])}}
"""
CTAS_CHILD = """
import duckdb
con = duckdb.connect(sys.argv[1])
con.execute("SET enable_progress_bar = false")
reader = "read_csv" if sys.argv[2].endswith(".csv") else "read_parquet"
con.execute(f"CREATE OR REPLACE TABLE t AS SELECT * FROM {reader}('{sys.argv[2]}')")
rows = con.execute("SELECT count(*) FROM t").fetchone()[0]
con.close()
"""
PANDAS_READ_CHILD = """
import pandas as pd
frame = pd.read_csv(sys.argv[1], dtype=str) if sys.argv[1].endswith('.csv') else pd.read_parquet(sys.argv[1])
rows = len(frame)
"""
FRESH_WORKSPACE = """
import pathlib, shutil, sys
for p in pathlib.Path(sys.argv[2]).parent.glob(pathlib.Path(sys.argv[2]).name + "*"):
    shutil.rmtree(p) if p.is_dir() else p.unlink()
"""


def make_messy_customers_csv(path: Path, rows: int, planted: bool = False) -> None:
    """Customers as a CRM export carries them: "$1,200.00" and "n/a" revenue, "51-200" beside "1,250" employees,
    mixed-case industries, US dates, ";"-separated technologies, blank churn dates.

    `planted`: the health fields (churn, ARR, NPS, tickets) depend on the fit traits, as a real book does: software
    companies (any spelling) on Salesforce and with 51-200 employees are retained, pay more, score higher and raise
    fewer tickets 75% of the time against 35% for the rest (a milder lift for software or Salesforce alone). Without
    it every column is independent noise: the build finds no segment and stops before validation, the scorecard and
    the CRM files, which is not the build a user waits for."""
    import duckdb

    # u = a uniform draw in [0, 100) per row; `good` decides the health fields when `planted`
    chance = (
        "(35 + 20 * (ind < 3)::INT + 10 * (tech IN (0, 3))::INT + 10 * (ind < 3 AND tech IN (0, 3) AND emp = 0)::INT)"
        if planted
        else "50"
    )
    good = f"(hash(range * 43) % 100 < {chance})"
    churned = (
        f"CASE WHEN {good} THEN hash(range * 23) % 10 = 0 ELSE hash(range * 23) % 2 = 0 END"
        if planted
        else ("hash(range * 23) % 4 = 0")
    )
    arr = (
        f"(hash(range * 29) % 30000 + CASE WHEN {good} THEN 60000 ELSE 0 END)"
        if planted
        else "(hash(range * 29) % 90000)"
    )
    nps = f"(hash(range * 31) % 5 + CASE WHEN {good} THEN 6 ELSE 0 END)" if planted else "(hash(range * 31) % 11)"
    tickets = f"(hash(range * 37) % 20 + CASE WHEN {good} THEN 0 ELSE 20 END)" if planted else "(hash(range * 37) % 40)"
    # planted: a churned customer leaves 30-530 days after it joined (the plain file keeps its independent dates)
    churn_date = (
        "DATE '2020-01-01' + INTERVAL ((hash(range * 19) % 2000 + 30 + hash(range) % 500)::BIGINT) DAY"
        if planted
        else "DATE '2024-01-01' + INTERVAL ((hash(range) % 500)::BIGINT) DAY"
    )
    duckdb.connect().execute(f"""COPY (SELECT range AS "Record ID", 'Company ' || range AS "Company name",
        'https://www.company' || range || '.com' AS "Company Domain Name",
        ['COMPUTER_SOFTWARE', 'Computer Software', 'computer software', 'Financial Services', 'FINANCIAL SERVICES',
         'Marketing & Advertising', 'retail', 'Hospital & Health Care', 'n/a'][ind + 1] AS "Industry",
        ['51-200', '11-50', '1,250', CAST(hash(range * 3) % 5000 + 1 AS VARCHAR), 'n/a', ''][emp + 1]
            AS "Number of Employees",
        CASE hash(range * 7) % 4 WHEN 0 THEN 'n/a'
             WHEN 1 THEN '$' || format('{{:,}}', (hash(range * 11) % 5000)::BIGINT * 1000) || '.00'
             ELSE '$' || CAST((hash(range * 11) % 5000)::BIGINT * 1000 AS VARCHAR) END AS "Annual Revenue",
        ['United States', 'United Kingdom', 'Germany', 'France', 'n/a'][(hash(range * 13) % 5)::BIGINT + 1]
            AS "Country/Region",
        ['Salesforce;Slack', 'HubSpot', 'Wix;Zoom', 'Salesforce;Microsoft 365', ''][tech + 1] AS "Technologies",
        'customer' AS "Lifecycle Stage",
        strftime(DATE '2020-01-01' + INTERVAL ((hash(range * 19) % 2000)::BIGINT) DAY, '%m/%d/%Y')
            AS "Became a Customer Date",
        CASE WHEN {churned} THEN strftime({churn_date}, '%Y-%m-%d') END AS "Churn Date",
        '$' || format('{{:,}}', {arr}::BIGINT) AS "ARR",
        CAST({nps} AS VARCHAR) AS "NPS Score",
        CAST({tickets} AS VARCHAR) AS "Number of Support Tickets", 'UTC' AS "Time Zone"
        FROM (SELECT range, (hash(range) % 9)::BIGINT AS ind, (hash(range * 5) % 6)::BIGINT AS emp,
                     (hash(range * 17) % 5)::BIGINT AS tech FROM range({rows}))
        ORDER BY range) TO '{path}' (HEADER)""")


def make_messy_prospects_parquet(path: Path, rows: int) -> None:
    """Prospects as a data vendor ships them in Parquet: every column a string, "51-200" and "10001+" employee
    ranges beside counts, revenue as "$1.2M", "$120,000.00" or "n/a", display-case industries with "&"."""
    import duckdb

    duckdb.connect().execute(f"""COPY (SELECT 'Prospect ' || range AS "Company Name", 'www.p' || range || '.com' AS "Website",
        ['1-10', '11-50', '51-200', '201-500', '501-1000', '1001-5000', '5001-10000', '10001+',
         CAST(hash(range) % 20000 AS VARCHAR), ''][(hash(range * 7) % 10)::BIGINT + 1] AS "# Employees",
        ['Computer Software', 'computer software', 'Financial Services', 'Marketing & Advertising', 'Retail', 'RETAIL',
         'Information Technology & Services', 'Staffing & Recruiting', 'Internet', 'Insurance',
         'Hospital & Health Care', 'Telecommunications', 'n/a'][(hash(range * 3) % 13)::BIGINT + 1] AS "Industry",
        CASE hash(range * 19) % 3 WHEN 0 THEN '$' || format('{{:,}}', (hash(range * 5) % 5000)::BIGINT * 1000) || '.00'
             WHEN 1 THEN '$' || CAST(round((hash(range * 5) % 5000)::BIGINT / 10.0, 1) AS VARCHAR) || 'M'
             ELSE 'n/a' END AS "Annual Revenue",
        ['United States', 'Germany', 'United Kingdom', 'France', 'Canada', 'n/a'][(hash(range * 11) % 6)::BIGINT + 1]
            AS "Country",
        ['Salesforce, Slack', 'HubSpot', 'Wix', 'Salesforce, Zoom, Microsoft 365', 'Google Workspace, Slack']
            [(hash(range * 13) % 5)::BIGINT + 1] AS "Technologies",
        CAST(1950 + (hash(range * 17) % 75)::BIGINT AS VARCHAR) AS "Founded Year"
        FROM range({rows})) TO '{path}' (FORMAT parquet)""")


SEEDED_WORKSPACE = (
    FRESH_WORKSPACE
    + """
shutil.copy(sys.argv[3], sys.argv[2])
"""
)


def _import_task(name: str, kind: str, path: Path, rows: int, folder: Path) -> Task:
    workspace = str(folder / f"{name}.duckdb")
    floor_db = str(folder / f"{name}_floor.duckdb")
    setup, extra = FRESH_WORKSPACE, []
    if kind == "prospects":
        # `icp-agent import --prospects` needs the accounts first: each run starts from a workspace holding 100
        # customers (not timed), as a user adding a prospect list to a workspace would
        sys.path.insert(0, str(TOOLS.parent / "src"))
        from icp_agent.ingest.importer import import_file
        from icp_agent.workspace import Workspace

        seed_csv, seed = folder / "seed_customers.csv", folder / "seed.duckdb"
        make_messy_customers_csv(seed_csv, 100)
        import_file(Workspace(seed), seed_csv, "customers")
        setup, extra = SEEDED_WORKSPACE, [str(seed)]
    return Task(
        name=name,
        rows=rows,
        commands={
            "icp-agent": (
                CLI_CHILD,
                [
                    str(rows),
                    workspace,
                    *extra,
                    "--",
                    "import",
                    f"--{kind}",
                    str(path),
                    "--workspace",
                    workspace,
                    "--quiet",
                ],
            ),
            "floor": (CTAS_CHILD, [floor_db, str(path)]),
            "pandas": (PANDAS_READ_CHILD, [str(path)]),
        },
        setup={"icp-agent": setup, "floor": FRESH_WORKSPACE.replace("sys.argv[2]", "sys.argv[1]")},
        note="icp-agent maps, types, normalises, dedups and reports; the floor and pandas only parse",
    )


@register("import-csv")
def task_import_csv(folder: Path, quick: bool) -> Task:
    rows = 100_000 if quick else 1_000_000
    path = folder / "customers.csv"
    make_messy_customers_csv(path, rows)
    return _import_task("import-csv", "customers", path, rows, folder)


@register("import-parquet")
def task_import_parquet(folder: Path, quick: bool) -> Task:
    rows = 1_000_000 if quick else 10_000_000
    path = folder / "prospects.parquet"
    make_messy_prospects_parquet(path, rows)
    return _import_task("import-parquet", "prospects", path, rows, folder)


BUILD_SETUP = """
import shutil, sys
shutil.copy(sys.argv[2], sys.argv[3])
shutil.rmtree(sys.argv[3] + ".out", ignore_errors=True)
"""


@register("build")
def task_build(folder: Path, quick: bool) -> Task:
    """`icp-agent build` on a workspace holding the messy customers (imported once; each run gets a fresh copy)."""
    rows = 100_000 if quick else 1_000_000
    path = folder / "build_customers.csv"
    make_messy_customers_csv(path, rows, planted=True)
    sys.path.insert(0, str(TOOLS.parent / "src"))
    from icp_agent.ingest.importer import import_file
    from icp_agent.workspace import Workspace

    source = folder / "build_source.duckdb"
    import_file(Workspace(source), path, "customers")
    path.unlink()
    return _build_task(
        "build",
        rows,
        source,
        folder / "build.duckdb",
        "the whole build: health, screen, selectors, search, tiers, validation, scorecard, documents and CRM files",
    )


def _build_task(name: str, rows: int, source: Path, target: Path, note: str) -> Task:
    """`icp-agent build` through the CLI in a child process, on a fresh copy of the imported workspace `source`."""
    out = Path(str(target) + ".out")
    command = [str(rows), str(source), str(target), "--", "build", "--workspace", str(target), "--out", str(out)]
    return Task(
        name=name,
        rows=rows,
        setup={"icp-agent": BUILD_SETUP},
        commands={"icp-agent": (BUILD_CHILD, command)},
        after=lambda: {"phases": build_phases(out)},
        note=note,
    )


@register("build-demo")
def task_build_demo(folder: Path, quick: bool) -> Task:
    """`icp-agent build` on the demo's workspace (5,000 customers, 25k deals, 37k contacts, prospects and interview
    notes, imported once by `icp-agent demo`; each run gets a fresh copy): the small build a first run and the
    test suite make again and again, where fixed costs per step (link keys, per-tier queries) show."""
    demo = folder / "demo"
    subprocess.run(
        [sys.executable, "-m", "icp_agent.faces.cli", "demo", "--out", str(demo)],
        check=True,
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(TOOLS.parent / "src")},
    )
    return _build_task(
        "build-demo",
        5_000,
        demo / "workspace.duckdb",
        folder / "build-demo.duckdb",
        "the whole build on the demo's workspace, as the CLI runs it (imports of the modules included)",
    )


def build_phases(out: Path) -> dict:
    """Which phases the last timed build ran, read from what it wrote: a build that found no segment stops after
    the search, and its time says nothing about validation, the scorecard or the CRM files."""
    try:
        icp = json.loads((out / "icp.json").read_text())
    except (OSError, ValueError) as exc:
        return {"error": f"no icp.json in {out}: {exc}"}
    validation, scorecard = icp.get("validation") or {}, icp.get("scorecard") or {}
    return {
        "status": icp.get("status"),
        "tiers": len(icp.get("tiers") or []),
        # each part of validation: its status ("ran" when it has none: a part says only when it could not run)
        "validation": validation.get("status")
        or {
            part: (validation.get(part) or {}).get("status") or "ran"
            for part in ("unit_economics", "backtest", "market")
        }
        if validation
        else "not run",
        "scorecard": scorecard.get("status", "not run"),
        "crm_files": sorted(p.name for p in out.glob("*.csv") if p.name != "scoring_matrix.csv"),
    }


SEARCH_CHILD = """
sys.path.insert(0, sys.argv[3])
import bench_search
result = bench_search._ours(int(sys.argv[1]), int(sys.argv[2]))
rows = int(sys.argv[1])
# the clock covers building the selectors and searching, not generating the synthetic table
started = time.perf_counter() - result.get("selectors_s", 0.0) - result["search_s"]
"""
SEARCH_PANDAS_CHILD = SEARCH_CHILD.replace("_ours", "_pandas")


@register("search")
def task_search(folder: Path, quick: bool) -> Task:
    """Depth-3 subgroup search with its selector building, against the obvious pandas search (tools/bench_search.py)."""
    rows = 100_000 if quick else 1_000_000
    args = [str(rows), "3", str(TOOLS)]
    commands = {"icp-agent": (SEARCH_CHILD, args)}
    if quick:  # pandas at 1M and depth 3 takes minutes: see bench_search.py --pandas-1m-depth3
        commands["pandas"] = (SEARCH_PANDAS_CHILD, args)
    return Task(
        name="search",
        rows=rows,
        commands=commands,
        note="times: building the selectors and the search (not generating the table); CPU includes it",
    )


@register("score")
def task_score(folder: Path, quick: bool, rows: int | None = None) -> Task:
    """`icp-agent score-prospects` (the CLI, in a child process) on raw Apollo-style prospects -> Parquet, beside the floor:
    DuckDB's own `COPY (SELECT * FROM read_csv(...)) TO '...parquet'` of the same file. The ICP is the demo's."""
    rows = rows or (200_000 if quick else 10_000_000)
    sys.path.insert(0, str(TOOLS.parent / "src"))
    from icp_agent import toolkit
    from icp_agent.workspace import Workspace

    toolkit.run(Workspace(folder / "demo.duckdb"), TOOLS.parent / "fixtures" / "demo", folder / "icp")
    source = folder / "apollo.csv"
    make_apollo_prospects_csv(source, rows)
    return Task(
        name="score",
        rows=rows,
        commands={
            "icp-agent": (
                CLI_CHILD,
                [
                    str(rows),
                    "--",
                    "score-prospects",
                    str(source),
                    "--icp",
                    str(folder / "icp" / "icp.json"),
                    "--out",
                    str(folder / "scored.parquet"),
                    "--quiet",
                ],
            ),
            "floor": (SCORE_FLOOR_CHILD, [str(source), str(folder / "floor.parquet")]),
        },
        note="every input row and column kept in order, 12 score columns appended; the floor only converts",
    )


SCORE_FLOOR_CHILD = """
import duckdb
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
rows = con.execute(f"COPY (SELECT * FROM read_csv('{sys.argv[1]}', header=true, all_varchar=true)) "
                   f"TO '{sys.argv[2]}' (FORMAT parquet)").fetchall()[0][0]
"""


def source_folder(checkout: Path | None) -> str | None:
    """The src folder of a checkout given by its folder or by its src folder (None stays None)."""
    if checkout is None:
        return None
    checkout = checkout.resolve()
    return str(checkout / "src" if (checkout / "src" / "icp_agent").is_dir() else checkout)


def compiled(*folders: Path) -> None:
    """Write the bytecode of every module under `folders` before anything is timed, as installing the package does:
    with PYTHONDONTWRITEBYTECODE set (some environments set it) each child would otherwise compile every module it
    imports, 0.1-0.25 s that no installed icp-agent pays."""
    import compileall

    for folder in folders:
        compileall.compile_dir(str(folder), quiet=1)


def wait_for_idle(load: float | None, patience: float = IDLE_PATIENCE_S) -> float:
    """Wait until the machine's 1-minute load average is at most `load` (None: no wait), for at most `patience`
    seconds; returns the load average when the wait ends. Another process's CPU stretches every wall time measured
    (the floor's too, but not by the same amount): the runs start on an idle machine, or say they did not."""
    started = time.monotonic()
    while load is not None and os.getloadavg()[0] > load and time.monotonic() - started < patience:
        time.sleep(2)
    return round(os.getloadavg()[0], 2)


def bench_all(
    quick: bool,
    only: list[str] | None = None,
    repeats: int = 3,
    baseline: Path | None = None,
    idle: float | None = None,
) -> list[dict]:
    """Every registered task (or `only` those), one at a time: inputs made, sides interleaved, medians.

    `baseline` (a checkout's folder) adds the side "baseline": the same command as icp-agent's on its src. `idle`: the
    load average each task waits for before its runs (`wait_for_idle`), reported as `load_at_start`."""
    results = []
    compiled(TOOLS.parent / "src", *([Path(source_folder(baseline) or "")] if baseline is not None else []))
    for name in only or list(TASKS):
        # in TMPDIR when set (a roomier disk than /tmp's: the build task's inputs and outputs take a gigabyte)
        with tempfile.TemporaryDirectory(prefix=f"icp-bench-{name}-") as tmp:
            task = TASKS[name](Path(tmp), quick)
            if baseline is not None and "icp-agent" in task.commands:
                task.commands["baseline"] = task.commands["icp-agent"]
                task.setup["baseline"] = task.setup.get("icp-agent", "")
                task.sources["baseline"] = source_folder(baseline)
            load = wait_for_idle(idle)
            row = measure(task, repeats) | {"load_at_start": load}
            print(json.dumps(row), flush=True)
            results.append(row)
    print(table(results), flush=True)
    return results


def table(results: list[dict]) -> str:
    """The issue's table: task | icp-agent | the floor, same run | pandas | ratio."""

    def cell(side: dict | None) -> str:
        if not side:
            return "-"
        if "error" in side:
            return f"error: {side['error'][:60]}"
        return f"{side['seconds']:.2f} s ({side['cpu_s']:.1f} s CPU), {side['peak_rss_mb'] / 1024:.2f} GB"

    based = any("baseline" in row for row in results)
    lines = [
        "| task | rows | icp-agent | the floor, same run | pandas | time / floor | CPU / floor | memory / floor |"
        + (" baseline | baseline time / CPU / memory vs floor |" if based else ""),
        "|---|---|---|---|---|---|---|---|" + ("---|---|" if based else ""),
    ]
    for row in results:
        lines.append(
            f"| {row['bench']} | {row['rows']:,} | {cell(row.get('icp-agent'))} | {cell(row.get('floor'))} | "
            f"{cell(row.get('pandas'))} | {row.get('time_vs_floor', '-')} | {row.get('cpu_vs_floor', '-')} | "
            f"{row.get('memory_vs_floor', '-')} |"
            + (
                f" {cell(row.get('baseline'))} | {row.get('baseline_time_vs_floor', '-')} / "
                f"{row.get('baseline_cpu_vs_floor', '-')} / {row.get('baseline_memory_vs_floor', '-')} |"
                if based
                else ""
            )
        )
    return "\n".join(lines)


def bench_import(quick: bool) -> list[dict]:
    return bench_all(quick, ["import-csv", "import-parquet"], repeats=1)


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


BENCHES = {
    "import": bench_import,
    "search": bench_search,
    "scoring": bench_scoring,
    "score": bench_score,
    "mcp": bench_mcp,
    "assistant": bench_assistant,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "benches",
        nargs="*",
        help=f"`all` [{', '.join(TASKS)}] (each beside its floor and pandas, "
        f"interleaved, medians), or the older {', '.join(BENCHES)}",
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument("--repeats", type=int, default=3, help="all: runs per side (the median is reported)")
    parser.add_argument(
        "--rows",
        type=lambda text: [int(n) for n in text.split(",")],
        default=None,
        help="score: the sizes to measure, e.g. 1000000 or 1000000,10000000",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="also run the icp-agent side from another checkout (its folder or its src folder), interleaved: "
        "before and after a change in one run (all tasks and score)",
    )
    parser.add_argument(
        "--idle",
        type=float,
        default=None,
        metavar="LOAD",
        help=f"all: before each task, wait (up to {IDLE_PATIENCE_S:.0f} s) for the 1-minute load average to fall to "
        "LOAD (e.g. 0.5); each row reports load_at_start",
    )
    args = parser.parse_intermixed_args(argv)
    unknown = set(args.benches) - set(BENCHES) - set(TASKS) - {"all"}
    if unknown:
        parser.error(f"unknown benchmark(s) {sorted(unknown)}: choose from {', '.join(BENCHES)}")
    # a task of the table named alone (`bench.py import-csv`) is `all import-csv`; "score" names the older one
    tasks = [n for n in args.benches if n in TASKS and (n not in BENCHES or "all" in args.benches)]
    if "all" in args.benches or (tasks and len(tasks) == len(args.benches)):
        bench_all(args.quick, tasks or None, args.repeats, args.baseline, args.idle)
        return
    # a task of the scale table with no older benchmark of its name (build, import-csv, ...) runs as `all <task>`
    table_only = [n for n in args.benches if n in TASKS and n not in BENCHES]
    if table_only:
        bench_all(args.quick, table_only, args.repeats, idle=args.idle)
        args.benches = [n for n in args.benches if n not in table_only]
        if not args.benches:
            return
    for name in args.benches or list(BENCHES):
        started = time.perf_counter()
        try:
            rows = (
                BENCHES[name](args.quick, args.rows, args.repeats, source_folder(args.baseline))
                if name == "score"
                else BENCHES[name](args.quick)
            )
        except ModuleNotFoundError as exc:
            rows = [{"bench": name, "skipped": f"missing module: {exc.name}"}]
        for row in rows:
            print(json.dumps(row), flush=True)
        print(
            json.dumps(
                {
                    "bench": name,
                    "wall_s": round(time.perf_counter() - started, 1),
                    "peak_rss_children_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
