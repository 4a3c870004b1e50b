"""An import killed mid-way leaves the previous workspace readable and unchanged."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import duckdb

from icp_agent import toolkit
from icp_agent.workspace import Workspace
from icp_agent.ingest.importer import import_file

SMALL = "Record ID,Company name,Industry,ARR\n1,Acme,Software,10\n2,Beta,Retail,20\n"


def test_killed_import_leaves_workspace_unchanged(ws, write, tmp_path):
    import_file(ws, write("small.csv", SMALL))
    before = toolkit.inspect_workspace(ws).model_dump()
    big = tmp_path / "big.csv"
    duckdb.connect().execute(
        f"""COPY (SELECT range AS "Record ID", 'Company ' || range AS "Company name",
                  ['Software','Retail','Banking'][range % 3 + 1] AS "Industry", (range % 500) * 10 AS "ARR",
                  (range % 900 + 1)::VARCHAR || '-' || (range % 900 + 50)::VARCHAR AS "Employees"
            FROM range(3000000)) TO '{big}' (HEADER)""")
    process = subprocess.Popen([sys.executable, "-m", "icp_agent.faces.cli", "import-data", "--customers", str(big),
                                "--workspace", str(ws.path), "--quiet"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # the import of 3M rows takes seconds (about 4 s on 2 cores): 1.5 s in, its transaction is open and
    # writing (the WAL appears only at the commit, too late to wait for), so kill it hard there
    time.sleep(1.5)
    assert process.poll() is None, "the import finished before it could be killed: make the file bigger"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    after = toolkit.inspect_workspace(ws).model_dump()
    assert after == before
    with ws.connect() as con:
        assert con.execute("SELECT count(*) FROM imports").fetchone()[0] == 1
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        assert not any(t.startswith("imp_customers_") and t != ws.current_table(con, "customers") for t in tables)
    # and the workspace still takes the next import
    assert import_file(ws, write("next.csv", SMALL + "3,Gamma,Banking,30\n")).rows_kept == 3


def test_a_file_larger_than_the_memory_limit_streams_to_disk(tmp_path, monkeypatch):
    """The workspace spills to disk past its memory limit: an import bigger than memory still completes."""
    big = tmp_path / "big.csv"
    duckdb.connect().execute(f"""COPY (SELECT range AS "Record ID", 'Company ' || range || repeat('x', 120) AS "Company name",
              ['Software','Retail','Banking'][range % 3 + 1] AS "Industry", (range % 500) * 10 AS "ARR"
            FROM range(600000)) TO '{big}' (HEADER)""")
    assert big.stat().st_size > 80 * 2**20
    monkeypatch.setenv("ICP_AGENT_MEMORY_LIMIT", "128MB")
    ws = Workspace(tmp_path / "ws.duckdb")
    report = import_file(ws, big)
    assert report.rows_kept == 600_000
    with ws.connect() as con:
        assert con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0].startswith("12")
