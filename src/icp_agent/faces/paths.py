"""Where a tool may read and write: the data roots a path argument must resolve into, and the output rule.

A face that takes file paths from a client it does not trust (the MCP server) checks each one here before the
toolkit sees it: resolved with symlinks followed, inside a data root, a folder's entries too; an existing file
is replaced only in the output folder or when it is an earlier scored file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from icp_agent.errors import UserError
from icp_agent.sql import sql_literal


class DataRoots:
    """The folders a tool argument may point into: a path is resolved (symlinks followed) and must lie under one
    of them. A folder is also refused when an entry it would be read from links outside the roots."""

    def __init__(self, roots: list[Path]):
        if not roots:
            raise ValueError("at least one data root is needed")
        self.roots = [Path(root).expanduser().resolve() for root in roots]

    def resolve(self, value: str, argument: str) -> Path:
        """`value` (relative to the first root) as an absolute path inside the allowed roots, with every entry of a folder checked.
        Raises UserError naming `argument` for an unusable path, one outside the roots, or one that cannot be read.
        """
        try:
            given = Path(value).expanduser()
            path = (given if given.is_absolute() else self.roots[0] / given).resolve()
        except (OSError, ValueError, RuntimeError) as exc:
            raise UserError(f"{argument}: {value!r} is not a usable path ({exc})") from exc
        self._check_inside(path, argument, value)
        try:
            path.stat()
        except FileNotFoundError:
            pass  # a file still to be written
        except OSError as exc:  # too long, no permission, ...: say so (an OSError would reach the model empty)
            raise UserError(
                f"{argument}: {value[:200]!r} cannot be used: {exc.strerror or exc}",
                hint="pass a shorter path to a file you can read",
            ) from exc
        if path.is_dir():
            for entry in self._entries_read_from(path):
                self._check_inside(entry.resolve(), argument, f"{value} (entry {entry.relative_to(path)})")
        return path

    def _check_inside(self, path: Path, argument: str, shown: str) -> None:
        if not any(path.is_relative_to(root) for root in self.roots):
            raise UserError(
                f"{argument}: {shown!r} resolves to {path}, outside the folders this server may read",
                hint=f"use a path under {', '.join(map(str, self.roots))} (the server's data roots; "
                "--data-root adds more)",
            )

    @staticmethod
    def _entries_read_from(folder: Path) -> Iterator[Path]:
        """The folder's entries and those of its subfolders: where the importer looks for exports and notes."""
        for entry in folder.iterdir():
            yield entry
            if entry.is_dir():
                yield from entry.iterdir()


SCORED_COLUMNS = ("icp_tier", "fit_score", "priority")  # scoring.SCORE_COLUMNS that mark a scored file


def replaceable_output(output: Path, out_dir: Path) -> None:
    """A tool may write a new file under a data root, but replace an existing one only in the server's output
    folder or when it is an earlier scored file (its header has icp_tier, fit_score and priority): a model cannot
    overwrite the user's own exports, whatever it names. The toolkit adds the workspace's recorded imports."""
    if not output.exists() or output.resolve().is_relative_to(out_dir.resolve()):
        return
    if output.is_file():
        try:
            import duckdb

            reader = "read_parquet" if output.suffix.lower() in (".parquet", ".pq") else "read_csv"
            with duckdb.connect() as con:
                columns = {
                    r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {reader}({sql_literal(str(output))})").fetchall()
                }
        except Exception:  # unreadable means "not a scored file", which is refused below
            columns = set()
        if set(SCORED_COLUMNS) <= columns:
            return
    raise UserError(
        f"output_path: {output} exists and is not a scored file; this tool replaces existing files only "
        f"in the output folder ({out_dir}) or earlier scored files",
        hint="pick a new file name, or a path under the output folder",
    )
