"""The import report as markdown: what every column became and every row that was rejected."""

from __future__ import annotations

from ..models import WorkspaceSummary
from .templating import environment


def render_import_report(summary: WorkspaceSummary) -> str:
    return environment().get_template("import_report.md.j2").render(s=summary)
