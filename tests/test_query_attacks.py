"""Hostile input to the read-only query and to the path check: each attack is refused and leaves no trace.

"No trace" is checked, not assumed: the workspace file's bytes and tables are unchanged and no file
appeared. The engine-level tests run the attacks on the hardened connection directly, past the
friendly statement check, to show the database itself is what refuses them.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest
from mcp import Client

from icp_agent import toolkit
from icp_agent.errors import UserError, WorkspaceBusy
from icp_agent.query import open_locked_down, run_readonly_query
from icp_agent.faces.server import DataRoots, create_server
from icp_agent.workspace import Workspace, process_lock

CUSTOMERS = """company_id,company_name,industry,employees,customer_since,churn_date,arr,starting_arr
c1,Acme,Software,120,2023-01-05,,12000,10000
c2,Bolt,Retail,40,2022-06-01,2024-02-01,5000,6000
c3,Crane,Software,300,2021-03-15,,30000,20000
"""


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> Path:
    """A workspace with the three customers imported, once for the module (an import takes a third of a second)."""
    data = tmp_path_factory.mktemp("data")
    (data / "customers.csv").write_text(CUSTOMERS, encoding="utf-8")
    ws = Workspace(data / "ws.duckdb")
    toolkit.import_data(ws, customers=data / "customers.csv")
    return ws.path


@pytest.fixture
def workspace(imported, tmp_path) -> Workspace:
    """This test's own copy of the imported workspace (tmp_path/ws.duckdb; the export beside it in tmp_path/data)."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "customers.csv").write_text(CUSTOMERS, encoding="utf-8")
    shutil.copy(imported, tmp_path / "ws.duckdb")
    return Workspace(tmp_path / "ws.duckdb")


def state(ws: Workspace, folder: Path) -> tuple:
    """What an attack could change: the file's bytes, every table's row count, and the files around it."""
    digest = hashlib.sha256(ws.path.read_bytes()).hexdigest()
    with process_lock:
        con = duckdb.connect(str(ws.path), read_only=True)
        try:
            tables = [t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
            counts = {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
            roles = con.execute("SELECT * FROM field_roles ORDER BY field").fetchall()
        finally:
            con.close()
    files = sorted(str(p) for p in folder.rglob("*"))
    return digest, counts, roles, files


def attacks(target: Path) -> list[str]:
    out = str(target)
    return [
        # DDL
        "CREATE TABLE pwned AS SELECT 1",
        "CREATE TEMP TABLE pwned AS SELECT 1",
        "CREATE VIEW pwned AS SELECT 1",
        "DROP TABLE imports",
        "ALTER TABLE imports ADD COLUMN pwned INTEGER",
        # DML
        "INSERT INTO field_roles VALUES ('industry', 'ignore', now())",
        "UPDATE imports SET kind = 'pwned'",
        "DELETE FROM imports",
        "TRUNCATE imports",
        # other databases and files
        f"ATTACH '{out}.duckdb' AS pwned",
        f"COPY imports TO '{out}.csv'",
        f"COPY (SELECT * FROM imports) TO '{out}.parquet' (FORMAT parquet)",
        f"EXPORT DATABASE '{out}_dump'",
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('/etc/passwd')",
        "SELECT * FROM read_blob('/etc/hostname')",
        f"SELECT * FROM read_parquet('{out}.parquet')",
        "SELECT * FROM read_json_auto('/etc/os-release')",
        "SELECT * FROM glob('/etc/*')",
        "WITH x AS (SELECT 1) SELECT * FROM read_text('/etc/passwd')",
        "SELECT (SELECT count(*) FROM read_csv_auto('/etc/passwd')) AS n",
        # settings
        "SET enable_external_access = true",
        "RESET enable_external_access",
        "SET lock_configuration = false",
        "SET GLOBAL access_mode = 'read_write'",
        "PRAGMA enable_profiling",
        "PRAGMA table_info('imports')",
        "CALL pragma_version()",
        "CHECKPOINT",
        "BEGIN TRANSACTION",
        # stacked statements and comment tricks
        "SELECT 1; DROP TABLE imports",
        "SELECT 1 --\n; DROP TABLE imports",
        "SELECT 1 /* */; DROP TABLE imports",
        "/* SELECT 1 */ DROP TABLE imports",
        "-- SELECT 1\nDELETE FROM imports",
        "SELECT 1 /* ; */ ; UPDATE imports SET kind = 'pwned' --",
        # extensions
        "INSTALL httpfs",
        "LOAD httpfs",
        "FORCE INSTALL httpfs",
    ]


def test_every_attack_is_refused_and_leaves_no_trace(workspace, tmp_path):
    target = tmp_path / "stolen"
    before = state(workspace, tmp_path)
    for sql in attacks(target):
        with pytest.raises(UserError) as refused:
            run_readonly_query(workspace.path, sql)
        assert str(refused.value), sql
        assert state(workspace, tmp_path) == before, f"{sql!r} changed something"
    assert not list(tmp_path.glob("stolen*"))


@pytest.mark.parametrize("sql", [
    "CREATE TABLE pwned AS SELECT 1",
    "DROP TABLE imports",
    "INSERT INTO field_roles VALUES ('industry', 'ignore', now())",
    "SET enable_external_access = true",
    "RESET enable_external_access",
    "SET lock_configuration = false",
    "ATTACH '{out}.duckdb' AS pwned",
    "COPY imports TO '{out}.csv'",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('/etc/passwd')",
    "INSTALL httpfs",
    "LOAD httpfs",
])
def test_the_engine_itself_refuses(workspace, tmp_path, sql):
    """Past the statement check: the read-only, locked-down connection is the safety."""
    before = state(workspace, tmp_path)
    with process_lock:
        con = open_locked_down(workspace.path)
        try:
            with pytest.raises(duckdb.Error):
                con.execute(sql.format(out=tmp_path / "stolen"))
            assert con.execute("SELECT current_setting('enable_external_access')").fetchone()[0] is False
        finally:
            con.close()
    assert state(workspace, tmp_path) == before
    assert not list(tmp_path.glob("stolen*"))


def test_the_messages_say_what_to_do(workspace):
    cases = {
        "SELECT 1; DROP TABLE imports": "exactly one SELECT",
        "DROP TABLE imports": "only SELECT",
        "SELECT * FROM read_text('/etc/passwd')": "workspace's own tables",
        "SELECT * FROM no_such_table": "duckdb_tables()",
        "SELEC 1": "not valid SQL",
    }
    for sql, expected in cases.items():
        with pytest.raises(UserError, match=expected.replace("(", r"\(").replace(")", r"\)")):
            run_readonly_query(workspace.path, sql)


def test_a_runaway_query_hits_the_timeout(workspace):
    started = time.monotonic()
    with pytest.raises(UserError, match="longer than 2 s"):
        run_readonly_query(workspace.path, "SELECT count(*) FROM range(10000000) a CROSS JOIN range(10000000) b",
                           timeout_s=2)
    assert time.monotonic() - started < 8
    assert run_readonly_query(workspace.path, "SELECT 42 AS answer").rows == [[42]]


def test_results_are_capped_and_say_so(workspace):
    rows = run_readonly_query(workspace.path, "SELECT * FROM range(1000)", max_rows=10)
    assert (rows.row_count_returned, rows.truncated) == (10, True) and "more than 10 rows" in rows.truncated_reason
    chars = run_readonly_query(workspace.path, "SELECT repeat('x', 900) AS s FROM range(100)", max_chars=5000)
    assert chars.truncated and 0 < chars.row_count_returned < 6 and "5000 characters" in chars.truncated_reason
    long = run_readonly_query(workspace.path, "SELECT repeat('x', 5000) AS s")
    assert long.truncated and len(long.rows[0][0]) == 1001 and "substr" in long.truncated_reason
    whole = run_readonly_query(workspace.path, "SELECT * FROM customers ORDER BY company_id")
    assert (whole.row_count_returned, whole.truncated, whole.truncated_reason) == (3, False, None)


def test_values_are_json_safe(workspace):
    result = run_readonly_query(workspace.path, """
        SELECT 1.5::DECIMAL(10, 2) AS d, DATE '2024-01-01' AS day, TIMESTAMP '2024-01-01 10:00' AS ts,
               INTERVAL 3 DAY AS iv, 'ab'::BLOB AS b, [1, 2] AS l, {'a': 1} AS s, 'nan'::DOUBLE AS n,
               MAP {'k': 1} AS m, TIME '10:00' AS t, gen_random_uuid() AS u""")
    row = json.loads(json.dumps(result.rows))[0]
    assert row[:4] == [1.5, "2024-01-01", "2024-01-01T10:00:00", "3 days, 0:00:00"]
    # nested values arrive as JSON text, so every cell of the output schema is a scalar
    assert [json.loads(row[5]), json.loads(row[6]), row[7], json.loads(row[8]), row[9]] == \
        [[1, 2], {"a": 1}, None, {"k": 1}, "10:00:00"]


def test_queries_wait_for_writes_in_this_process(workspace):
    """A read-only open while this process holds the file read-write would fail: the process lock orders them."""
    holding = threading.Event()

    def write_slowly():
        with workspace.transaction() as con:
            holding.set()
            time.sleep(0.5)
            con.execute("INSERT INTO field_roles VALUES ('industry', 'ignore', now())")

    writer = threading.Thread(target=write_slowly)
    writer.start()
    holding.wait()
    result = run_readonly_query(workspace.path, "SELECT role FROM field_roles WHERE field = 'industry'")
    writer.join()
    assert result.rows == [["ignore"]]
    toolkit.set_field_roles(workspace, {"industry": "fit"})
    assert run_readonly_query(workspace.path, "SELECT role FROM field_roles").rows == [["fit"]]


def test_a_writer_in_another_process_gives_a_clear_busy_error(workspace):
    holder = subprocess.Popen([sys.executable, "-c", (
        "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('open', flush=True); time.sleep(20)"),
        str(workspace.path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(WorkspaceBusy, match="workspace busy"):
            run_readonly_query(workspace.path, "SELECT 1", busy_timeout=0.5)
    finally:
        holder.kill()
        holder.wait()
    assert run_readonly_query(workspace.path, "SELECT 1").rows == [[1]]


# --- paths ---------------------------------------------------------------------------------------------------


@pytest.fixture
def tree(tmp_path):
    """root/ with exports inside, and a secret folder beside it that tools must not reach."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "exports").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.csv").write_text(CUSTOMERS, encoding="utf-8")
    (root / "exports" / "customers.csv").write_text(CUSTOMERS, encoding="utf-8")
    return root, outside


def test_paths_inside_the_roots_resolve(tree):
    root, _ = tree
    roots = DataRoots([root])
    assert roots.resolve("exports/customers.csv", "customers") == root / "exports" / "customers.csv"
    assert roots.resolve(str(root / "exports"), "data_dir") == root / "exports"
    assert roots.resolve("exports/../exports/customers.csv", "customers") == root / "exports" / "customers.csv"


@pytest.mark.parametrize("make", [
    lambda root, outside: "../outside/secret.csv",
    lambda root, outside: "exports/../../outside/secret.csv",
    lambda root, outside: str(outside / "secret.csv"),
    lambda root, outside: "/etc/passwd",
    lambda root, outside: "/",
    lambda root, outside: _link(root / "exports" / "link.csv", outside / "secret.csv", name="exports/link.csv"),
    lambda root, outside: _link(root / "linked_dir", outside, name="linked_dir"),
    lambda root, outside: _link(root / "exports" / "sneaky.csv", outside / "secret.csv", name="exports"),
    lambda root, outside: _link(root / "exports" / "notes", outside, name="exports"),
    lambda root, outside: "exports/\0customers.csv",
], ids=["dotdot", "nested-dotdot", "absolute-outside", "etc-passwd", "filesystem-root", "symlinked-file",
        "symlinked-folder", "folder-holding-a-link-out", "folder-holding-a-linked-subfolder", "nul-byte"])
def test_paths_outside_the_roots_are_refused(tree, make):
    root, outside = tree
    with pytest.raises(UserError, match="outside the folders|not a usable path"):
        DataRoots([root]).resolve(make(root, outside), "data_dir")


def _link(link: Path, target: Path, *, name: str) -> str:
    link.symlink_to(target)
    return name


@pytest.mark.anyio
async def test_import_data_refuses_a_link_out_and_imports_nothing(tree, tmp_path):
    root, outside = tree
    (root / "exports" / "deals.csv").symlink_to(outside / "secret.csv")
    ws = Workspace(tmp_path / "ws.duckdb")
    async with Client(create_server(ws, [root])) as client:
        for args in ({"data_dir": "exports"}, {"customers": "exports/deals.csv"},
                     {"customers": "../outside/secret.csv"}, {"data_dir": "exports", "mapping_file": "/etc/passwd"}):
            result = await client.call_tool("import_data", args)
            assert result.is_error and "outside the folders this server may read" in result.content[0].text, args
    assert not ws.path.exists()
