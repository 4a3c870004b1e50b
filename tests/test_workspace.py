"""Unit tests of icp_agent.workspace: opening and migrating the file, transactions, the per-process lock, the
read paths and the caches (remembered, per_snapshot), and the errors a bad path or file gives."""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb
import pytest

from icp_agent.errors import ArgumentError, UserError, WorkspaceBusy
from icp_agent.workspace import SCHEMA_VERSION, ReadWriteLock, Workspace, default_memory_limit


def _tables(ws: Workspace) -> set[str]:
    with ws.connect() as con:
        return {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}


def test_a_new_workspace_is_created_and_migrated(tmp_path):
    ws = Workspace(tmp_path / "w.duckdb")
    assert not ws.exists()
    assert {"imports", "current_snapshot", "field_roles", "icp_versions", "evidence", "schema_info"} <= _tables(ws)
    assert ws.exists() and ws.schema_version() == SCHEMA_VERSION == 1
    # opening again does not migrate twice
    with ws.connect() as con:
        assert con.execute("SELECT count(*) FROM schema_info").fetchone()[0] == 1


def test_create_false_and_missing_file_is_an_argument_error(tmp_path):
    ws = Workspace(tmp_path / "none.duckdb", create=False)
    with pytest.raises(ArgumentError, match=r"none\.duckdb"), ws.connect():
        pass
    assert not ws.exists()
    with pytest.raises(ArgumentError):
        ws.require_exists()


def test_a_directory_or_a_missing_folder_is_a_user_error_naming_the_path(tmp_path):
    with pytest.raises(UserError, match="is a directory") as err, Workspace(tmp_path).connect():
        pass
    assert err.value.file == str(tmp_path)
    with pytest.raises(UserError, match="folder does not exist"), Workspace(tmp_path / "nope" / "w.duckdb").connect():
        pass


def test_a_file_that_is_not_duckdb_is_a_user_error(tmp_path):
    path = tmp_path / "notes.duckdb"
    path.write_text("hello, not a database\n" * 100)
    with pytest.raises(UserError) as err, Workspace(path).connect():
        pass
    assert err.value.file == str(path)
    assert path.read_text().startswith("hello")  # nothing stored is lost


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_info (version INTEGER NOT NULL, applied_at TIMESTAMP)")
    con.execute("INSERT INTO schema_info VALUES (?, now())", [SCHEMA_VERSION + 1])
    con.close()
    with pytest.raises(UserError, match=f"schema version {SCHEMA_VERSION + 1}"), Workspace(path).connect():
        pass


def test_bad_memory_limit_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="'lots'"), Workspace(tmp_path / "w.duckdb", memory_limit="lots").connect():
        pass


def test_default_memory_limit_is_a_size():
    limit = default_memory_limit()
    assert limit is None or (limit.endswith("MB") and int(limit[:-2]) >= 256)


def test_transaction_commits_or_rolls_back(ws):
    with ws.transaction() as con:
        con.execute("INSERT INTO field_roles VALUES ('a', 'fit', now())")
    with pytest.raises(RuntimeError), ws.transaction() as con:
        con.execute("INSERT INTO field_roles VALUES ('b', 'ignore', now())")
        raise RuntimeError("boom")
    with ws.scratch() as con:
        con.execute("INSERT INTO field_roles VALUES ('c', 'id', now())")
        assert con.execute("SELECT count(*) FROM field_roles").fetchone()[0] == 2
    with ws.read() as con:
        assert ws.role_overrides(con) == {"a": "fit"}


def test_current_table(ws):
    with ws.transaction() as con:
        con.execute(
            "INSERT INTO imports (import_id, kind, file_name, sha256, table_name, imported_at)"
            " VALUES ('i1', 'customers', 'c.csv', 'h', 'customers_i1', now())"
        )
        con.execute("INSERT INTO current_snapshot VALUES ('customers', 'i1')")
    with ws.read() as con:
        assert ws.current_table(con, "customers") == "customers_i1"
        assert ws.current_table(con, "deals") is None


def test_session_reuses_one_connection(ws):
    with ws.session() as outer, ws.connect() as inner, ws.session() as again:
        assert inner is outer and again is outer


def test_remembered_computes_each_time_outside_held_and_once_inside(ws):
    ws.schema_version()  # create the file
    calls = []

    def compute(con):
        calls.append(1)
        return con.execute("SELECT count(*) FROM field_roles").fetchone()[0]

    assert ws.remembered("n", compute) == 0 and ws.remembered("n", compute) == 0
    assert len(calls) == 2
    with ws.held(idle_s=60):
        assert ws.remembered("n", compute) == 0 and ws.remembered("n", compute) == 0
        assert len(calls) == 3
        with ws.transaction() as con:  # a write: a new generation
            con.execute("INSERT INTO field_roles VALUES ('a', 'fit', now())")
        assert ws.remembered("n", compute) == 1
        assert len(calls) == 4


def test_per_snapshot_recomputes_when_the_snapshot_changes(ws):
    calls = []
    with ws.connect() as con:
        assert ws.per_snapshot("x", con, lambda: calls.append(1) or len(calls)) == 1
        assert ws.per_snapshot("x", con, lambda: calls.append(1) or len(calls)) == 1
        con.execute(
            "INSERT INTO imports (import_id, kind, file_name, sha256, imported_at)"
            " VALUES ('i1', 'customers', 'c.csv', 'h', now())"
        )
        con.execute("INSERT INTO current_snapshot VALUES ('customers', 'i1')")
        assert ws.per_snapshot("x", con, lambda: calls.append(1) or len(calls)) == 2


# --- the lock ----------------------------------------------------------------------------------------------------


def test_lock_write_is_reentrant_and_held_here():
    lock = ReadWriteLock()
    assert not lock.held_here()
    with lock, lock:
        assert lock.held_here()
    assert not lock.held_here()


def test_lock_readers_share_and_a_writer_blocks_readers():
    lock = ReadWriteLock()
    assert lock.acquire_read(0.1) and lock.acquire_read(0.1)  # two readers side by side
    lock.release_read()
    lock.release_read()
    taken, release = threading.Event(), threading.Event()

    def writer():
        with lock:
            taken.set()
            release.wait(5)

    t = threading.Thread(target=writer)
    t.start()
    assert taken.wait(5)
    assert not lock.acquire_read(0.05)
    with pytest.raises(WorkspaceBusy, match="busy"), lock.reading(0.05, Path("w.duckdb")):
        pass
    release.set()
    t.join(5)
    assert lock.acquire_read(0.5)
    lock.release_read()
