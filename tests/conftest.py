"""Shared test helpers: a fresh workspace, files written on the fly, the CLI in-process, and the demo built once.

The demo (`icp-agent demo`: import, build, every report file) takes half a minute, so one run builds it
once (`built_demo`) for every test that reads it: under pytest-xdist the first worker to ask builds it and
the others wait for it, and each worker reads its own copy (no DuckDB file is opened by two processes). A
test that writes works on its own copy (`demo_copy`, or `copy_demo` in a module fixture). At the end of the
session each worker's copy is checked unchanged, so a test that wrote to it without copying fails instead of
leaking into the others.

The test files run longest first (`pytest_collection_modifyitems`), so that with `--dist loadfile` no long
file starts last and keeps one worker busy after the other has finished.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from icp_agent.faces.cli import main
from icp_agent.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
DEMO = FIXTURES / "demo"
SHARED = Path(os.environ.get("ICP_SHARED_DIR", REPO.parent / "shared")) / "datasets"
DEMO_OUT = "icp-demo"  # as `make demo` names it, so the README's commands after it hold as written


@pytest.fixture
def ws(tmp_path) -> Workspace:
    return Workspace(tmp_path / "ws.duckdb")


@pytest.fixture
def write(tmp_path):
    """write("name.csv", text or bytes) -> path"""
    def _write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path
    return _write


class Cli:
    def __init__(self, workspace: Path):
        self.workspace = workspace
        self.runner = CliRunner()

    def __call__(self, *args: str, expect: int | None = 0):
        result = self.runner.invoke(main, [*args[:1], "--workspace", str(self.workspace), *args[1:]]
                                    if args and args[0] not in ("--help", "--version") else list(args))
        if expect is not None:
            assert result.exit_code == expect, (result.exit_code, result.output, result.exception)
        return result

    def json(self, *args: str):
        return json.loads(self(*args, "--json").stdout)


@pytest.fixture
def cli(tmp_path) -> Cli:
    return Cli(tmp_path / "ws.duckdb")


def rows(ws: Workspace, kind: str) -> list[dict]:
    """The current snapshot of `kind` as dicts, in the file's row order."""
    with ws.connect() as con:
        table = ws.current_table(con, kind)
        cursor = con.execute(f"SELECT * FROM {table} ORDER BY _row")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, r)) for r in cursor.fetchall()]


def shared_dataset(name: str) -> Path:
    path = SHARED / name
    if not path.exists():
        pytest.skip(f"../shared/datasets/{name} is not beside the repository (licensed data stays there)")
    return path


# --- the demo, built once per session ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BuiltDemo:
    """`icp-agent demo --out icp-demo` run in `folder` (with fixtures/ linked beside it, as from the repository's
    root): the report files in `out`, its workspace in `out / "workspace.duckdb"`, and what the command printed."""

    folder: Path
    stdout: str

    @property
    def out(self) -> Path:
        return self.folder / DEMO_OUT

    @property
    def workspace_path(self) -> Path:
        return self.out / "workspace.duckdb"

    def workspace(self) -> Workspace:
        return Workspace(self.workspace_path)

    def icp(self):
        """The built ICP (an IcpDocument), as icp.json holds it."""
        from icp_agent import toolkit

        return toolkit.get_icp(self.workspace())


def copy_demo(demo: BuiltDemo, folder: Path) -> BuiltDemo:
    """The demo copied into `folder` (workspace and report files; fixtures/ linked): for tests that write."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(demo.out, folder / DEMO_OUT)
    if not (folder / "fixtures").exists():
        (folder / "fixtures").symlink_to(FIXTURES)
    return replace(demo, folder=folder)


def _fingerprint(demo: BuiltDemo) -> dict:
    """What a test must not change in the shared demo: its report files, its ICP versions and its tables."""
    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(demo.out.iterdir())
             if p.is_file() and not p.name.startswith("workspace.duckdb")}
    with demo.workspace().read() as con:
        versions = con.execute("SELECT version_id FROM icp_versions ORDER BY created_at").fetchall()
        tables = con.execute("SELECT table_name, estimated_size FROM duckdb_tables() ORDER BY 1").fetchall()
    return {"files": files, "versions": versions, "tables": tables}


def _build_demo(folder: Path) -> BuiltDemo:
    """`icp-agent demo --out icp-demo` run in `folder` (fixtures/ linked beside it)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "fixtures").symlink_to(FIXTURES)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        mp.delenv("ICP_WORKSPACE", raising=False)
        result = CliRunner().invoke(main, ["demo", "--out", DEMO_OUT])
    assert result.exit_code == 0, (result.output, result.exception)
    return BuiltDemo(folder, result.stdout)


DEMO_WAIT_S = 1800  # how long a worker waits for another worker's build of the demo before giving up


def _shared_demo(shared: Path) -> BuiltDemo:
    """The demo built once for all pytest-xdist workers under `shared` (a folder they all see): the first worker to
    ask builds it (taking `shared`/claimed, which only one mkdir can create), the others wait for its `built.json`
    (or `failed.txt`, which fails them too, with the builder's error)."""
    shared.mkdir(exist_ok=True)
    done, failed = shared / "built.json", shared / "failed.txt"
    try:
        (shared / "claimed").mkdir()
    except FileExistsError:
        deadline = time.monotonic() + DEMO_WAIT_S
        while not done.exists():
            if failed.exists():
                pytest.fail(f"another worker's build of the demo failed:\n{failed.read_text(encoding='utf-8')}")
            if time.monotonic() > deadline:
                pytest.fail(f"no worker finished building the demo in {DEMO_WAIT_S} s ({shared})")
            time.sleep(0.2)
        return BuiltDemo(shared / "demo-cwd", json.loads(done.read_text(encoding="utf-8"))["stdout"])
    try:
        demo = _build_demo(shared / "demo-cwd")
    except BaseException as error:
        failed.write_text(repr(error), encoding="utf-8")
        raise
    (shared / "built.tmp").write_text(json.dumps({"stdout": demo.stdout}), encoding="utf-8")
    (shared / "built.tmp").replace(done)  # whole or not at all: a waiting worker never reads half a file
    return demo


@pytest.fixture(scope="session")
def built_demo(tmp_path_factory) -> Iterator[BuiltDemo]:
    """The demo built once for the run, read-only: a test that writes takes `demo_copy` instead. Under pytest-xdist
    every worker shares one build (in the folder above the workers' own) and reads its own copy of it."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = _shared_demo(tmp_path_factory.getbasetemp().parent / "built-demo")
        demo = copy_demo(shared, tmp_path_factory.mktemp("demo-cwd"))
    else:
        demo = _build_demo(tmp_path_factory.mktemp("demo-cwd"))
    before = _fingerprint(demo)
    yield demo
    assert _fingerprint(demo) == before, "a test wrote to the shared demo: give it demo_copy instead of built_demo"


@pytest.fixture
def demo_copy(built_demo, tmp_path) -> BuiltDemo:
    """This test's own copy of the built demo (in tmp_path), free to write."""
    return copy_demo(built_demo, tmp_path / "demo-cwd")


# --- the order the files run in ------------------------------------------------------------------------------------

# The test files, longest first: `--dist loadfile` hands each pytest-xdist worker one file at a time in collection
# order (`--no-loadscope-reorder` keeps xdist from putting the files with most tests first instead, which left the
# few long end-to-end files to the end, one worker busy with them while the other idled). Ranked by each file's
# time, its tests' setup and calls summed, subprocesses' waits included (`pytest --durations=0` lists them);
# the slow files `make test` adds come first.
# A file not listed counts as quick and runs after these, in collection order. Only the order changes.
LONGEST_FIRST = (
    # slow only (`make test`): a wheel and a venv built, Node tools, property runs over the whole pipeline
    "test_wheel.py",
    "test_plugin.py",
    "test_pipeline_property.py",
    # the default run. The first file needs the demo and builds it; the second does not, so the other worker
    # imports files meanwhile instead of waiting for the build.
    "test_assistant.py",
    "test_ingest.py",
    "test_security.py",
    "test_server.py",
    "test_operationalise.py",
    "test_server_transports.py",
    "test_newuser_findings.py",
    "test_scoring_path.py",
    "test_first_run.py",
    "test_links.py",
    "test_mcp_contract.py",
    "test_values.py",
    "test_cli.py",
    "test_schema_criteria.py",
    "test_formats.py",
    "test_saas_export.py",
    "test_query_attacks.py",
    "test_search.py",
    "test_personas.py",
    "test_analysis.py",
    "test_chat.py",
    "test_crash_safety.py",
    "test_reader.py",
    "test_noise.py",
    "test_normalize.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The listed files first, longest first; within a file, and among the files not listed, collection order
    (the sort is stable). Every worker sorts the same collection the same way, as pytest-xdist requires."""
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
