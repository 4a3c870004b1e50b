"""The workspace: one DuckDB file holding every import, ICP version and evidence item.

Connections are opened per operation and closed after it, so a CLI run and a running
MCP server can take turns on the same file: DuckDB allows one writing process at a time,
and a process that finds the file locked retries for a while, then says "workspace busy".
Every write runs in one transaction, so a failure or a killed process leaves the file as
it was. The schema carries a version and migrations run on open.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from .errors import UserError, WorkspaceBusy

SCHEMA_VERSION = 1
DEFAULT_PATH = "icp-workspace.duckdb"

MIGRATIONS: dict[int, list[str]] = {
    1: [
        """CREATE TABLE imports (
            import_id VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, file_name VARCHAR NOT NULL,
            path VARCHAR, sha256 VARCHAR NOT NULL, format VARCHAR, encoding VARCHAR, delimiter VARCHAR,
            rows_read BIGINT, rows_kept BIGINT, rows_rejected BIGINT, duplicates_dropped BIGINT,
            table_name VARCHAR, imported_at TIMESTAMP NOT NULL, report JSON)""",
        "CREATE TABLE current_snapshot (kind VARCHAR PRIMARY KEY, import_id VARCHAR NOT NULL)",
        """CREATE TABLE import_rejects (import_id VARCHAR, row_number BIGINT, column_name VARCHAR,
            reason VARCHAR, raw VARCHAR)""",
        "CREATE TABLE field_roles (field VARCHAR PRIMARY KEY, role VARCHAR NOT NULL, set_at TIMESTAMP)",
        """CREATE TABLE interviews (import_id VARCHAR, doc_id VARCHAR, file_name VARCHAR, title VARCHAR,
            body VARCHAR)""",
        """CREATE TABLE icp_versions (version_id VARCHAR PRIMARY KEY, created_at TIMESTAMP NOT NULL,
            dataset_fingerprint VARCHAR, status VARCHAR, icp JSON)""",
        """CREATE TABLE evidence (version_id VARCHAR, evidence_id VARCHAR, kind VARCHAR, statement VARCHAR,
            metrics JSON, n BIGINT, query VARCHAR, PRIMARY KEY (version_id, evidence_id))""",
    ],
}

_process_lock = threading.RLock()


class Workspace:
    """A handle on the workspace file; cheap to create, opens connections on demand."""

    def __init__(self, path: str | Path = DEFAULT_PATH, *, busy_timeout: float = 15.0,
                 memory_limit: str | None = None):
        self.path = Path(path).expanduser()
        self.busy_timeout = busy_timeout
        # DuckDB spills to <workspace>.tmp beyond this, so files larger than memory still import
        self.memory_limit = memory_limit or os.environ.get("ICP_AGENT_MEMORY_LIMIT")
        self._migrated = False

    def __repr__(self) -> str:
        return f"Workspace({str(self.path)!r})"

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to the file, migrated, closed on exit; one at a time per process."""
        with _process_lock:
            con = self._open()
            try:
                if not self._migrated:
                    self._migrate(con)
                    self._migrated = True
                yield con
            finally:
                con.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection inside BEGIN/COMMIT; any exception rolls everything back."""
        with self.connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    @contextmanager
    def scratch(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection inside a transaction that is always rolled back: a look that changes nothing."""
        with self.connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            finally:
                con.execute("ROLLBACK")

    def _open(self) -> duckdb.DuckDBPyConnection:
        if self.path.exists() and self.path.is_dir():
            raise UserError("the workspace path is a directory", file=str(self.path),
                            hint="pass --workspace with a file name such as icp-workspace.duckdb")
        if not self.path.parent.exists():
            raise UserError("the workspace's folder does not exist", file=str(self.path),
                            hint="create the folder or pass another --workspace")
        deadline = time.monotonic() + self.busy_timeout
        delay = 0.05
        while True:
            try:
                con = duckdb.connect(str(self.path))
                con.execute("SET enable_progress_bar = false")
                if self.memory_limit:
                    try:
                        con.execute("SET memory_limit = ?", [self.memory_limit])
                    except duckdb.Error as exc:
                        con.close()
                        raise UserError(f"memory limit {self.memory_limit!r} is not a size DuckDB understands",
                                        hint="use e.g. 2GB or 512MB (ICP_AGENT_MEMORY_LIMIT)") from exc
                return con
            except duckdb.IOException as exc:
                message = str(exc)
                if "lock" not in message.lower():
                    raise UserError(f"cannot open the workspace: {message}", file=str(self.path),
                                    hint="check the file is a DuckDB workspace created by icp-agent") from exc
                if time.monotonic() >= deadline:
                    raise WorkspaceBusy("workspace busy: another icp-agent process is using it",
                                        file=str(self.path),
                                        hint="wait for it to finish (or stop the MCP server) and try again") from exc
                time.sleep(delay)
                delay = min(delay * 2, 0.5)
            except duckdb.Error as exc:
                raise UserError(f"not a usable DuckDB workspace: {exc}", file=str(self.path),
                                hint="pass --workspace with a new file name") from exc

    def _migrate(self, con: duckdb.DuckDBPyConnection) -> None:
        con.execute("CREATE TABLE IF NOT EXISTS schema_info (version INTEGER NOT NULL, applied_at TIMESTAMP)")
        current = con.execute("SELECT coalesce(max(version), 0) FROM schema_info").fetchone()[0]
        if current > SCHEMA_VERSION:
            raise UserError(f"the workspace has schema version {current}, newer than this icp-agent "
                            f"understands ({SCHEMA_VERSION})", file=str(self.path),
                            hint="upgrade icp-agent")
        for version in range(current + 1, SCHEMA_VERSION + 1):
            con.execute("BEGIN TRANSACTION")
            for statement in MIGRATIONS[version]:
                con.execute(statement)
            con.execute("INSERT INTO schema_info VALUES (?, now())", [version])
            con.execute("COMMIT")

    def schema_version(self) -> int:
        with self.connect() as con:
            return con.execute("SELECT max(version) FROM schema_info").fetchone()[0]

    def table_exists(self, con: duckdb.DuckDBPyConnection, name: str) -> bool:
        return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]).fetchone()[0])

    def current_table(self, con: duckdb.DuckDBPyConnection, kind: str) -> str | None:
        """The data table of the current snapshot of a kind, or None."""
        row = con.execute("""SELECT i.table_name FROM current_snapshot c JOIN imports i USING (import_id)
                             WHERE c.kind = ?""", [kind]).fetchone()
        return row[0] if row else None

    def role_overrides(self, con: duckdb.DuckDBPyConnection) -> dict[str, str]:
        return dict(con.execute("SELECT field, role FROM field_roles").fetchall())


def to_json(value: object) -> str:
    """JSON for DuckDB's JSON columns (dates and decimals as strings/floats)."""
    return json.dumps(value, default=str, ensure_ascii=False)
