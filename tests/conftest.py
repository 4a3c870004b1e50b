"""Shared test helpers: a fresh workspace, files written on the fly, the CLI in-process, and the demo built once.

The demo (`icp-agent demo`: import, build, every report file) takes half a minute, so one session builds it
once (`built_demo`) for every test that reads it; a test that writes works on its own copy (`demo_copy`,
or `copy_demo` in a module fixture). At the end of the session the shared build is checked unchanged, so a
test that wrote to it without copying fails instead of leaking into the others.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
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


@pytest.fixture(scope="session")
def built_demo(tmp_path_factory) -> Iterator[BuiltDemo]:
    """The demo built once for the session, read-only: a test that writes takes `demo_copy` instead."""
    folder = tmp_path_factory.mktemp("demo-cwd")
    (folder / "fixtures").symlink_to(FIXTURES)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        mp.delenv("ICP_WORKSPACE", raising=False)
        result = CliRunner().invoke(main, ["demo", "--out", DEMO_OUT])
    assert result.exit_code == 0, (result.output, result.exception)
    demo = BuiltDemo(folder, result.stdout)
    before = _fingerprint(demo)
    yield demo
    assert _fingerprint(demo) == before, "a test wrote to the shared demo: give it demo_copy instead of built_demo"


@pytest.fixture
def demo_copy(built_demo, tmp_path) -> BuiltDemo:
    """This test's own copy of the built demo (in tmp_path), free to write."""
    return copy_demo(built_demo, tmp_path / "demo-cwd")
