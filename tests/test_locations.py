"""locations.py: finding workspace files near a folder by their magic bytes, and the error that names them."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from icp_agent.errors import ArgumentError
from icp_agent.locations import is_duckdb_file, missing_workspace, nearby_workspaces, shown


def make_db(path: Path, mtime: float | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    duckdb.connect(str(path)).close()
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def test_a_duckdb_file_is_told_by_its_magic_not_its_name(tmp_path):
    real = make_db(tmp_path / "real.db")
    fake = tmp_path / "fake.duckdb"
    fake.write_text("Company,Industry\nAcme,Retail\n")
    short = tmp_path / "short.duckdb"
    short.write_bytes(b"DUCK")
    assert is_duckdb_file(real)
    assert not is_duckdb_file(fake) and not is_duckdb_file(short)
    assert not is_duckdb_file(tmp_path / "missing.duckdb") and not is_duckdb_file(tmp_path)


def test_nearby_workspaces_looks_one_level_down_newest_first(tmp_path):
    old = make_db(tmp_path / "old.duckdb", mtime=1_000_000)
    demo = make_db(tmp_path / "icp-demo" / "workspace.duckdb", mtime=3_000_000)
    middle = make_db(tmp_path / "b" / "ws.duckdb", mtime=2_000_000)
    make_db(tmp_path / ".hidden" / "ws.duckdb", mtime=4_000_000)  # hidden folders are skipped
    make_db(tmp_path / "a" / "deep" / "ws.duckdb", mtime=5_000_000)  # two levels down: not looked at
    (tmp_path / "notes.duckdb").write_text("not a database")
    assert nearby_workspaces(tmp_path) == [demo.resolve(), middle.resolve(), old.resolve()]
    assert nearby_workspaces(tmp_path, limit=1) == [demo.resolve()]
    assert nearby_workspaces(tmp_path / "nowhere") == []


def test_nearby_workspaces_defaults_to_the_current_folder(tmp_path, monkeypatch):
    found = make_db(tmp_path / "here.duckdb")
    monkeypatch.chdir(tmp_path)
    assert nearby_workspaces() == [found.resolve()]


def test_shown_is_relative_below_the_current_folder_else_absolute(tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    assert shown(tmp_path / "sub" / "icp-demo" / "workspace.duckdb") == os.path.join("icp-demo", "workspace.duckdb")
    assert shown(tmp_path / "elsewhere.duckdb") == str((tmp_path / "elsewhere.duckdb").resolve())


def test_missing_workspace_names_the_one_workspace_found(tmp_path, monkeypatch):
    make_db(tmp_path / "icp-demo" / "workspace.duckdb")
    monkeypatch.chdir(tmp_path)
    error = missing_workspace("icp-workspace.duckdb", also="or score with --icp icp.json")
    assert isinstance(error, ArgumentError) and error.file == "icp-workspace.duckdb"
    assert "never creates one" in str(error)
    assert error.hint == (
        "a workspace is at icp-demo/workspace.duckdb: pass --workspace icp-demo/workspace.duckdb "
        "(or set ICP_WORKSPACE); or score with --icp icp.json"
    )


def test_missing_workspace_lists_several_and_skips_the_path_asked_for(tmp_path, monkeypatch):
    make_db(tmp_path / "a.duckdb", mtime=1_000_000)
    make_db(tmp_path / "b.duckdb", mtime=2_000_000)
    monkeypatch.chdir(tmp_path)
    hint = missing_workspace(tmp_path / "gone" / "ws.duckdb").hint
    assert hint.startswith("workspaces found here: b.duckdb, a.duckdb: pass --workspace with one of them")


def test_missing_workspace_says_how_to_make_one_when_none_is_near(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    hint = missing_workspace("ws.duckdb").hint
    assert "icp-agent run DATA_DIR" in hint and "icp-agent demo" in hint and "--workspace PATH" in hint


@pytest.mark.parametrize("name", ["ws.duckdb", "~/ws.duckdb"])
def test_missing_workspace_never_creates_the_file(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    missing_workspace(name)
    assert not list(tmp_path.rglob("*.duckdb"))
