"""Errors a user (or a model calling a tool) can act on, and the one boundary every face uses.

Kinds (each face turns them into its own form; only a bug is exit 1 in the CLI):
- InputError: a file, row or column of the input is wrong (names where, says what to do);
- ArgumentError: an argument or option value is wrong;
- DataShapeError: the data cannot support the operation asked for (no outcome, no overlap, ...);
- ServiceError: an outside service (the Claude API, an MCP server) failed;
- anything else is a bug.
`UserError` is the common base of the four, so existing `raise UserError(...)` keep working
(kind "input" unless a subclass says otherwise). `describe` turns any exception into the
dictionary faces print as JSON: {"kind", "message", "file", "row", "column", "hint"}.
"""

from __future__ import annotations

import difflib
import os
import re
import tempfile
import traceback
from collections.abc import Collection, Iterable
from datetime import UTC, datetime
from pathlib import Path


class UserError(Exception):
    """Something in the input or the arguments is wrong; the message says what and what to do."""

    kind = "input"

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
        hint: str | None = None,
    ):
        self.file, self.row, self.column, self.hint = file, row, column, hint
        self.reason = message
        super().__init__(self._compose())

    def _compose(self) -> str:
        where = []
        if self.file:
            where.append(str(self.file))
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column!r}")
        text = ": ".join([", ".join(where), self.reason]) if where else self.reason
        return f"{text}. {self.hint}" if self.hint else text

    def as_dict(self) -> dict:
        """The error as faces print it under --json / return it to a model."""
        return {
            "kind": self.kind,
            "message": str(self),
            "file": self.file,
            "row": self.row,
            "column": self.column,
            "hint": self.hint,
        }


class InputError(UserError):
    """A file, row or column of the input is wrong."""

    kind = "input"


class ArgumentError(UserError):
    """An argument or option value is wrong (the option's name is the `column`-free `hint` target)."""

    kind = "argument"


class DataShapeError(UserError):
    """The data cannot support the operation (e.g. no outcome to compare, no field a step needs)."""

    kind = "data_shape"


class ServiceError(UserError):
    """An outside service failed (the Claude API, a remote MCP server); retrying or a setting fixes it."""

    kind = "service"


class WorkspaceBusy(UserError):
    """Another process holds the workspace file; retrying later is the remedy."""

    kind = "input"


class NotMeasurable(DataShapeError):
    """A criterion or step cannot be evaluated on a table: a field it reads is absent there.

    Raised by the criteria compiler (analysis/criteria.py); callers catch it and record
    "not measurable: <reason>" for the step instead of running SQL that would fail.
    """

    def __init__(self, message: str, *, fields: list[str] | None = None, table: str | None = None):
        self.fields = list(fields or [])
        self.table = table
        super().__init__(message)


def _spelling(name: str) -> str:
    """A name as the options spell theirs: `--input-path`, `inputPath` and `Input Path` become `input_path`."""
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip().lstrip("-"))
    return re.sub(r"[\s\-.]+", "_", name).lower()


def close_names(given: str, names: Iterable[str], *, prefer: Collection[str] = ()) -> list[str]:
    """The names among `names` that `given` was probably meant as (a did-you-mean), best first, at most three.

    The same name spelled differently (`inputPath`, `--input-path`) is the one answer; then names close in spelling
    (difflib's ratio at least 0.75: `limt` -> `limit`, `buld_icp` -> `build_icp`); failing those, names that share
    a word with it (`path` -> `input_path`, `icp_path`). Any of these in `prefer` (say the required arguments not
    given) come before all others and alone: `path` beside a missing `input_path` means `input_path`."""
    candidates = list(dict.fromkeys(names))
    wanted = _spelling(given)
    same = [name for name in candidates if _spelling(name) == wanted]
    if same:
        return same[:1]
    words = set(wanted.split("_")) - {""}
    ratio = {name: difflib.SequenceMatcher(None, wanted, _spelling(name)).ratio() for name in candidates}
    by_ratio = sorted(candidates, key=lambda name: -ratio[name])
    close = [name for name in by_ratio if ratio[name] >= 0.75]
    sharing = [name for name in by_ratio if words & set(_spelling(name).split("_"))]
    preferred = [name for name in dict.fromkeys(close + sharing) if name in prefer]
    return (preferred or close or sharing)[:3]


def bug_report(exc: BaseException, workspace: str | os.PathLike | None = None) -> Path:
    """Write the full traceback of an unexpected exception to a file; returns its path.

    The file goes under the temp dir (beside the workspace when the temp dir is not writable),
    named icp-agent-crash-<UTC timestamp>.txt, so the one line the user sees can point to it.
    """
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    folders = [Path(tempfile.gettempdir())]
    if workspace:
        folders.append(Path(workspace).expanduser().resolve().parent)
    for folder in folders:
        try:
            path = folder / f"icp-agent-crash-{stamp}.txt"
            path.write_text(text, encoding="utf-8")
            return path
        except OSError:
            continue
    raise exc


def describe(exc: BaseException) -> dict:
    """Any exception as the error dictionary faces print (a non-UserError is kind "bug")."""
    if isinstance(exc, UserError):
        return exc.as_dict()
    first = (str(exc).splitlines() or [""])[0]
    return {
        "kind": "bug",
        "message": f"{type(exc).__name__}: {first}",
        "file": None,
        "row": None,
        "column": None,
        "hint": "this is a bug in icp-agent; please report it with the traceback file",
    }
