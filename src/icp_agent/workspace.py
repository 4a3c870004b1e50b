"""The workspace: one DuckDB file holding every import, ICP version and evidence item.

Connections are opened per operation and closed after it, so a CLI run and a running
MCP server can take turns on the same file: DuckDB allows one writing process at a time,
and a process that finds the file locked retries for a while, then says "workspace busy".
A server keeps the file open between calls (`Workspace.held()`): one read-only connection
stays open, each read gets a cursor on it (no file opening, the 13 ms of a cold call), a
write closes it first, and it is let go after HOLD_IDLE_S without a call so that another
process can write.
Every write runs in one transaction, so a failure or a killed process leaves the file as
it was. The schema carries a version and migrations run on open.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any, Self, TypeVar

import duckdb

from icp_agent.errors import UserError, WorkspaceBusy
from icp_agent.locations import DEFAULT_PATH, missing_workspace

SCHEMA_VERSION = 1
T = TypeVar("T")

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


class ReadWriteLock:
    """The process's order on the workspace file: DuckDB will not open a file read-only in a process that holds
    it read-write (or the reverse), so writers are alone while read-only connections share.

    Readers (query_workspace, the read tools) run side by side, so one slow query never holds up another read;
    a writer waits for the readers in flight (each bounded by its timeout), and a waiting writer lets no new
    reader in, so writes are not starved. Writes are reentrant per thread."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._writer: int | None = None
        self._depth = 0
        self._writers_waiting = 0

    def acquire_write(self) -> None:
        """Take the write side (re-entrant for the thread holding it), waiting for readers to finish."""
        me = threading.get_ident()
        with self._cond:
            if self._writer == me:
                self._depth += 1
                return
            self._writers_waiting += 1
            try:
                self._cond.wait_for(lambda: self._writer is None and self._readers == 0)
            finally:
                self._writers_waiting -= 1
            self._writer, self._depth = me, 1

    def held_here(self) -> bool:
        """True when this thread holds the write side (a read from inside a write must reuse it)."""
        return self._writer == threading.get_ident()

    def release_write(self) -> None:
        """Release one level of the write side; the last wakes the waiters."""
        with self._cond:
            self._depth -= 1
            if self._depth == 0:
                self._writer = None
                self._cond.notify_all()

    def acquire_read(self, timeout: float | None = None) -> bool:
        """Take a read side once no writer holds or waits for the lock; False when `timeout` (seconds) passes first."""
        with self._cond:
            return (
                self._cond.wait_for(lambda: self._writer is None and self._writers_waiting == 0, timeout)
                and self._take_read()
            )

    def _take_read(self) -> bool:
        self._readers += 1
        return True

    def release_read(self) -> None:
        """Release a read side; the last reader wakes the waiters."""
        with self._cond:
            self._readers -= 1
            if self._readers == 0:
                self._cond.notify_all()

    def __enter__(self) -> Self:  # `with lock:` is the writer's side, like the RLock it replaced
        self.acquire_write()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release_write()

    @contextmanager
    def reading(self, timeout: float, path: Path) -> Iterator[None]:
        """Shared access; WorkspaceBusy after `timeout` seconds of writes in this process."""
        if not self.acquire_read(timeout):
            raise WorkspaceBusy(
                "workspace busy: this server is writing it",
                file=str(path),
                hint="try again when the write has finished",
            )
        try:
            yield
        finally:
            self.release_read()


process_lock = ReadWriteLock()
_sessions = threading.local()

# A held workspace lets its file go after this many seconds without a call: a read-only connection holds DuckDB's
# shared file lock, which keeps any other process from writing (a CLI import waits up to its busy timeout, 15 s).
HOLD_IDLE_S = 2.0


class _Anchor:
    """The read-only connection a held workspace keeps open, and when it was last used. Guarded by _anchors_lock
    (open, close, generation) and process_lock (closed only with the write side, so never under a reader)."""

    def __init__(self) -> None:
        self.con: duckdb.DuckDBPyConnection | None = None
        self.last_used = time.monotonic()
        self.holders = 0
        self.generation = 0  # counts writes and reopenings: Workspace.remembered keeps values per generation


_remembered: dict[
    tuple[Any, ...], tuple[Any, Any]
] = {}  # (file, name) or ("snapshot", name, state) -> (generation or state, value)
_anchors: dict[str, _Anchor] = {}  # file -> its anchor, while some Workspace.held() is active
_anchors_lock = threading.Lock()


def _release_anchor(key: str) -> None:
    """Close the held read-only connection of a file, if open (the caller holds process_lock's write side: no
    read is in flight). DuckDB keeps one instance per file and configuration in a process, so a read-write
    connection can open only once it is closed."""
    with _anchors_lock:
        anchor = _anchors.get(key)
        if anchor is not None:
            anchor.generation += 1  # a write follows (or the file is let go): what was read may change
            if anchor.con is not None:
                anchor.con.close()
                anchor.con = None


def _idle_closer(key: str, anchor: _Anchor, idle_s: float) -> None:
    """Let the file go when nothing used it for idle_s; stop when the last holder has left."""
    while True:
        time.sleep(idle_s / 4)
        with _anchors_lock:
            if _anchors.get(key) is not anchor:
                return
            idle = anchor.con is not None and time.monotonic() - anchor.last_used >= idle_s
        if idle:
            with process_lock:  # the write side: waits for the reads in flight (each is short or bounded)
                if time.monotonic() - anchor.last_used >= idle_s:
                    _release_anchor(key)


# One configuration for every read-only connection in the process (DuckDB shares one instance per file and
# refuses a second configuration): bounded memory and threads, no files or network, settings locked. (DuckDB's
# progress bar is a per-connection setting that a locked configuration cannot turn off; it draws only on a
# terminal, never on the pipe an MCP stdio server speaks through.)
READ_ONLY_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "memory_limit": "1GB",
    "threads": 1,
    "enable_external_access": False,
    "lock_configuration": True,
}


def default_memory_limit() -> str | None:
    """Half the machine's physical memory (DuckDB's own default is 80%): an import or build beyond it spills to
    `<workspace>.tmp` instead of crowding out everything else. None where the OS does not say."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None
    return f"{max(total // 2 // 2**20, 256)}MB"


class Workspace:
    """A handle on the workspace file; cheap to create, opens connections on demand.

    With create=False (a command that only reads) a missing file is an ArgumentError naming the workspaces
    nearby (locations.missing_workspace) instead of a new empty workspace."""

    def __init__(
        self,
        path: str | Path = DEFAULT_PATH,
        *,
        busy_timeout: float = 15.0,
        memory_limit: str | None = None,
        create: bool = True,
    ):
        self.path = Path(path).expanduser()
        self.create = create
        self.busy_timeout = busy_timeout
        # DuckDB spills to <workspace>.tmp beyond this, so files larger than memory still import
        self.memory_limit = memory_limit or os.environ.get("ICP_AGENT_MEMORY_LIMIT") or default_memory_limit()
        self._migrated = False

    def __repr__(self) -> str:
        return f"Workspace({str(self.path)!r})"

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to the file, migrated, closed on exit; one at a time per process. Inside session() it is
        the session's connection, left open."""
        held = getattr(_sessions, "open", {}).get(self._key())
        if held is not None:
            with self._watch(held):
                yield held
            return
        with process_lock:
            _release_anchor(self._key())
            con = self._open()
            try:
                if not self._migrated:
                    self._migrate(con)
                    self._migrated = True
                with self._watch(con):
                    yield con
            finally:
                con.close()

    @contextmanager
    def watched(self, progress: Callable[..., None] | None, message: str, total: int) -> Iterator[None]:
        """Report `message` with rows done of `total` for the work inside, from DuckDB's progress of the statement
        running on each connection this thread gets from connect() meanwhile (progress.watch): rows for a step
        that runs in code that takes no progress callback (a file writer), where one long statement is most of
        the step. Rows done are the engine's estimate and only grow."""
        if progress is None:
            yield
            return
        previous = getattr(_sessions, "watch", None)
        _sessions.watch = (progress, message, total)
        try:
            yield
        finally:
            _sessions.watch = previous

    def _watch(self, con: duckdb.DuckDBPyConnection) -> AbstractContextManager[None]:
        """progress.watch on `con` inside watched(), else nothing (the request is taken: a nested connect() inside
        the same step does not report it twice)."""
        request = getattr(_sessions, "watch", None)
        if request is None:
            return nullcontext()
        from icp_agent.progress import watch

        _sessions.watch = None
        return _restoring(watch(con, *request), request)

    def _key(self) -> str:
        return str(self.path.resolve())

    @contextmanager
    def session(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One connection held for a whole operation (an import of several files, a run): the file is taken once,
        before any work, so a busy workspace is reported before anything is written and never after a commit,
        and no other process can slip in between the operation's steps. Every connect() of this thread inside
        it reuses the connection; each step still commits in its own transaction."""
        held = getattr(_sessions, "open", None)
        if held is None:
            held = _sessions.open = {}
        key = self._key()
        if key in held:
            yield held[key]
            return
        with self.connect() as con:
            held[key] = con
            try:
                yield con
            finally:
                del held[key]

    @contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection for a look that changes nothing: several run side by side in this process, so
        a read tool is not held up by another client's query. Inside held() it is a cursor on the held
        connection (nothing is opened). Falls back to connect() when the file is new, not yet migrated, or this
        thread already holds it (a read inside a write would wait for itself)."""
        with self._read() as (con, _):
            yield con

    @contextmanager
    def _read(self) -> Iterator[tuple[duckdb.DuckDBPyConnection, int | None]]:
        """read()'s connection, and the held file's generation when it is a cursor on the held connection."""
        held = getattr(_sessions, "open", {}).get(self._key())
        if held is None and not process_lock.held_here() and self.path.is_file() and not self._migrated:
            with self.connect():  # migrates (a server's first call may be a read)
                pass
        if held is not None or process_lock.held_here() or not self.path.is_file():
            with self.connect() as con:
                yield con, None
            return
        with process_lock.reading(self.busy_timeout, self.path):
            cursor, generation = self._held_cursor()
            con = cursor or connect_read_only(self.path, self.busy_timeout)
            try:
                yield con, generation
            finally:
                con.close()

    @contextmanager
    def held(self, idle_s: float | None = None) -> Iterator[None]:
        """Keep the file open between operations while inside (a server, for its lifetime): read() then costs a
        cursor instead of opening the file. Writes still take the file alone (the held connection is closed
        first, and reopened by the next read). After idle_s without a read the file is let go, so another
        process can write; the next read opens it again. Nested and concurrent holders share one connection;
        the last to leave closes it. idle_s defaults to HOLD_IDLE_S."""
        key = self._key()
        idle_s = HOLD_IDLE_S if idle_s is None else idle_s
        with _anchors_lock:
            anchor = _anchors.get(key)
            if anchor is None:
                anchor = _anchors[key] = _Anchor()
                threading.Thread(
                    target=_idle_closer,
                    args=(key, anchor, idle_s),
                    daemon=True,
                    name=f"icp-agent idle closer {self.path.name}",
                ).start()
            anchor.holders += 1
        try:
            yield
        finally:
            with process_lock:  # closed with the write side: no read is using it
                with _anchors_lock:
                    anchor.holders -= 1
                    last = anchor.holders == 0
                if last:
                    _release_anchor(key)
                    with _anchors_lock:
                        del _anchors[key]

    def _held_cursor(self) -> tuple[duckdb.DuckDBPyConnection | None, int | None]:
        """A cursor on the held read-only connection (opened now if it was let go) and the file's generation,
        or (None, None) when not held. The caller holds process_lock's read side."""
        with _anchors_lock:
            anchor = _anchors.get(self._key())
            if anchor is None:
                return None, None
            if anchor.con is None:
                anchor.con = connect_read_only(self.path, self.busy_timeout)
                anchor.generation += 1  # another process may have written while it was let go
            anchor.last_used = time.monotonic()
            return anchor.con.cursor(), anchor.generation

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

    def exists(self) -> bool:
        """True when the workspace file is there (nothing is opened or created)."""
        return self.path.is_file()

    def require_exists(self) -> None:
        """Raise the missing-workspace ArgumentError (with where one is) unless the file is there."""
        if not self.path.exists():
            raise missing_workspace(self.path)

    def _open(self) -> duckdb.DuckDBPyConnection:
        if not self.create:
            self.require_exists()
        if self.path.exists() and self.path.is_dir():
            raise UserError(
                "the workspace path is a directory",
                file=str(self.path),
                hint="pass --workspace with a file name such as icp-workspace.duckdb",
            )
        if not self.path.parent.exists():
            raise UserError(
                "the workspace's folder does not exist",
                file=str(self.path),
                hint="create the folder or pass another --workspace",
            )
        deadline = time.monotonic() + self.busy_timeout
        delay = 0.05
        while True:
            try:
                con = duckdb.connect(str(self.path))
                self._settings(con)
                return con
            except duckdb.IOException as exc:
                message = str(exc)
                if "lock" not in message.lower():
                    raise UserError(
                        f"cannot open the workspace: {message}",
                        file=str(self.path),
                        hint="check the file is a DuckDB workspace created by icp-agent",
                    ) from exc
                if time.monotonic() >= deadline:
                    raise WorkspaceBusy(
                        "workspace busy: another icp-agent process is using it",
                        file=str(self.path),
                        hint="wait for it to finish (or stop the MCP server) and try again",
                    ) from exc
                time.sleep(delay)
                delay = min(delay * 2, 0.5)
            except duckdb.Error as exc:
                raise UserError(
                    f"not a usable DuckDB workspace: {exc}",
                    file=str(self.path),
                    hint="pass --workspace with a new file name",
                ) from exc

    def _settings(self, con: duckdb.DuckDBPyConnection) -> None:
        """The engine's settings on a new connection: no progress bar (the faces report progress), the memory
        limit (`memory_limit`: ICP_AGENT_MEMORY_LIMIT, else half the machine's memory) and spilling beyond it to
        `<workspace>.tmp/`, beside the workspace (DuckDB deletes the files when the connection closes). Raises
        UserError (and closes the connection) when the memory limit is not a size DuckDB reads."""
        con.execute("SET enable_progress_bar = false")
        con.execute("SET temp_directory = ?", [str(self.path.with_name(self.path.name + ".tmp"))])
        if self.memory_limit:
            try:
                con.execute("SET memory_limit = ?", [self.memory_limit])
                # as set, for a step that lowers the limit for a while (ingest.checks.working_memory) to restore
                con.execute("SET VARIABLE icp_memory_limit = ?", [self.memory_limit])
            except duckdb.Error as exc:
                con.close()
                raise UserError(
                    f"memory limit {self.memory_limit!r} is not a size DuckDB understands",
                    hint="use e.g. 2GB or 512MB (ICP_AGENT_MEMORY_LIMIT)",
                ) from exc

    def _migrate(self, con: duckdb.DuckDBPyConnection) -> None:
        con.execute("CREATE TABLE IF NOT EXISTS schema_info (version INTEGER NOT NULL, applied_at TIMESTAMP)")
        current = (con.execute("SELECT coalesce(max(version), 0) FROM schema_info").fetchone() or (0,))[0]
        if current > SCHEMA_VERSION:
            raise UserError(
                f"the workspace has schema version {current}, newer than this icp-agent understands ({SCHEMA_VERSION})",
                file=str(self.path),
                hint="upgrade icp-agent",
            )
        for version in range(current + 1, SCHEMA_VERSION + 1):
            con.execute("BEGIN TRANSACTION")
            for statement in MIGRATIONS[version]:
                con.execute(statement)
            con.execute("INSERT INTO schema_info VALUES (?, now())", [version])
            con.execute("COMMIT")

    def remembered(self, name: str, compute: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """compute(con) on a read connection, or, inside held(), its result from an earlier call when nothing
        can have changed since: a held file cannot be written by another process (the held connection keeps
        DuckDB's shared lock) and every write in this process goes through connect(), which counts a new
        generation, as does every reopening of the file. So a repeated look costs no query at all. Outside
        held() (a CLI command) it always computes. The value is shared: callers must not change it."""
        with self._read() as (con, generation):
            if generation is None:
                return compute(con)
            key = (self._key(), name)
            with _anchors_lock:
                found = _remembered.get(key)
            if found is None or found[0] != generation:
                found = (generation, compute(con))
                with _anchors_lock:
                    _remembered[key] = found
            return found[1]

    def per_snapshot(self, name: str, con: duckdb.DuckDBPyConnection, compute: Callable[[], T]) -> T:
        """compute()'s result, kept for the process per state of the current snapshots (each kind's import id and
        file hash, read with one small query on `con`), for a figure derived from the imported data alone, such
        as the link report (seconds on a large workspace): a new ICP version or a role change does not change
        it. Imports are immutable snapshots and an import's id is derived from its file's hash, kind and mapping, so
        an equal state holds equal data whichever process wrote it, and in whichever workspace file: the key is the
        state alone, so a copy of a workspace (a backup, a test's copy) reuses it. The value is shared: callers
        must not change it."""
        state = tuple(
            con.execute("""SELECT c.kind, c.import_id, i.sha256 FROM current_snapshot c
                                     JOIN imports i USING (import_id) ORDER BY c.kind""").fetchall()
        )
        key = ("snapshot", name, state)
        with _anchors_lock:
            found = _remembered.get(key)
        if found is None or found[0] != state:
            found = (state, compute())
            with _anchors_lock:
                _remembered[key] = found
        return found[1]

    def schema_version(self) -> int:
        """The workspace's schema version (the highest in schema_info)."""
        with self.connect() as con:
            return (con.execute("SELECT max(version) FROM schema_info").fetchone() or (0,))[0]

    def current_table(self, con: duckdb.DuckDBPyConnection, kind: str) -> str | None:
        """The data table of the current snapshot of a kind, or None."""
        row = con.execute(
            """SELECT i.table_name FROM current_snapshot c JOIN imports i USING (import_id)
                             WHERE c.kind = ?""",
            [kind],
        ).fetchone()
        return row[0] if row else None

    def role_overrides(self, con: duckdb.DuckDBPyConnection) -> dict[str, str]:
        """The field roles set with set_field_roles: field -> role."""
        return dict(con.execute("SELECT field, role FROM field_roles").fetchall())


@contextmanager
def _restoring(inner: AbstractContextManager[None], request: tuple[Any, ...]) -> Iterator[None]:
    """`inner`, then the thread's watch request back (the next connect() of the same step is watched too)."""
    try:
        with inner:
            yield
    finally:
        _sessions.watch = request


def connect_read_only(path: Path, busy_timeout: float) -> duckdb.DuckDBPyConnection:
    """A read-only connection with READ_ONLY_CONFIG (the caller holds process_lock's read side). Another process
    writing the file holds its lock: wait for it like the workspace does, then say busy."""
    deadline = time.monotonic() + busy_timeout
    delay = 0.05
    while True:
        try:
            return duckdb.connect(str(path), read_only=True, config=READ_ONLY_CONFIG)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise UserError(f"cannot open the workspace: {str(exc).splitlines()[0]}", file=str(path)) from exc
            if time.monotonic() >= deadline:
                raise WorkspaceBusy(
                    "workspace busy: another icp-agent process is writing it",
                    file=str(path),
                    hint="try again when it has finished",
                ) from exc
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
        except duckdb.Error as exc:
            raise UserError(f"not a usable DuckDB workspace: {str(exc).splitlines()[0]}", file=str(path)) from exc
