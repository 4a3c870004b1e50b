"""Where workspaces are: the default file name, the demo's, and the workspace files near a folder.

Kept free of duckdb (and of everything but the standard library and errors.py) so the CLI can name
a workspace, and say where one is, without loading the database engine.
"""

from __future__ import annotations

import os
from pathlib import Path

from icp_agent.errors import ArgumentError

DEFAULT_PATH = "icp-workspace.duckdb"
# `icp-agent demo --out DIR` keeps its workspace inside DIR (`make demo`: icp-demo/workspace.duckdb)
DEMO_WORKSPACE = "workspace.duckdb"
# A DuckDB database file carries this magic at bytes 8-11 (after an 8-byte checksum) in every storage version.
_MAGIC, _MAGIC_AT = b"DUCK", 8
_MAX_FOLDERS = 200  # subfolders looked into per folder: a home folder with thousands stays quick


def is_duckdb_file(path: str | os.PathLike) -> bool:
    """True when `path` is a regular file that starts like a DuckDB database (reads 12 bytes)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(_MAGIC_AT + len(_MAGIC))
    except OSError:
        return False
    return head[_MAGIC_AT:] == _MAGIC


def nearby_workspaces(*folders: str | os.PathLike, limit: int = 3) -> list[Path]:
    """DuckDB files in each folder and one level below it (hidden folders skipped), newest first, at most
    `limit`; default folder: the current one. `make demo`'s icp-demo/workspace.duckdb is found from the
    repository's root. Only the file's magic bytes are read, never the database."""
    found: dict[Path, float] = {}
    for folder in folders or (Path.cwd(),):
        folder = Path(folder)
        candidates = list(folder.glob("*.duckdb"))
        try:
            subfolders = [e for e in os.scandir(folder) if e.is_dir() and not e.name.startswith(".")]
        except OSError:
            subfolders = []
        for entry in sorted(subfolders, key=lambda e: e.name)[:_MAX_FOLDERS]:
            candidates.extend(Path(entry.path).glob("*.duckdb"))
        for path in candidates:
            if is_duckdb_file(path):
                try:
                    found[path.resolve()] = path.stat().st_mtime
                except OSError:
                    continue
    return sorted(found, key=lambda p: (-found[p], str(p)))[:limit]


def shown(path: Path) -> str:
    """A path as a user would type it from the current folder: relative below it, else absolute."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path.resolve())


def missing_workspace(path: str | os.PathLike, also: str | None = None) -> ArgumentError:
    """The error for a command that reads a workspace when `path` is no file: it names the workspace files
    found near the current folder and near `path` (e.g. the demo's), or says how to create one; `also` is
    one more way out the command has (e.g. score's --icp)."""
    path = Path(path).expanduser()
    folders = {Path.cwd().resolve()}
    if path.parent.is_dir():
        folders.add(path.parent.resolve())
    others = [p for p in nearby_workspaces(*sorted(folders)) if p != path.resolve()]
    if len(others) == 1:
        hint = f"a workspace is at {shown(others[0])}: pass --workspace {shown(others[0])} (or set ICP_WORKSPACE)"
    elif others:
        hint = (
            f"workspaces found here: {', '.join(shown(p) for p in others)}: pass --workspace with one of "
            f"them (or set ICP_WORKSPACE)"
        )
    else:
        hint = (
            "create one with `icp-agent run DATA_DIR` (or `icp-agent import-data DATA_DIR`, or `icp-agent demo`), "
            "or pass --workspace PATH"
        )
    if also:
        hint = f"{hint}; {also}"
    return ArgumentError(
        "no such workspace (this command only reads one, it never creates one)", file=str(path), hint=hint
    )
