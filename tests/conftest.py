"""Shared test helpers: a fresh workspace, files written on the fly, the CLI in-process."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from icp_agent.faces.cli import main
from icp_agent.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
DEMO = FIXTURES / "demo"
SHARED = Path(os.environ.get("ICP_SHARED_DIR", REPO.parent / "shared")) / "datasets"


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
