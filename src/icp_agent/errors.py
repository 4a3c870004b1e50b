"""Errors a user (or a model calling a tool) can act on.

`UserError` is the only exception faces turn into a message: the CLI prints it and
exits 2, the MCP server raises it as a ToolError. Anything else is a bug (exit 1).
"""

from __future__ import annotations


class UserError(Exception):
    """Something in the input or the arguments is wrong; the message says what and what to do."""

    def __init__(self, message: str, *, file: str | None = None, row: int | None = None,
                 column: str | None = None, hint: str | None = None):
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
        text = (": ".join([", ".join(where), self.reason]) if where else self.reason)
        return f"{text}. {self.hint}" if self.hint else text


class WorkspaceBusy(UserError):
    """Another process holds the workspace file; retrying later is the remedy."""
