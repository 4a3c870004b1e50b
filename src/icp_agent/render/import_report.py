"""The import report as markdown: what every column became and every row that was rejected."""

from __future__ import annotations

from icp_agent.models import WorkspaceSummary
from icp_agent.render.templating import environment


def render_import_report(summary: WorkspaceSummary) -> str:
    """The import report (Markdown) of a workspace summary: per kind its counts, columns and rejected rows."""
    return environment().get_template("import_report.md.j2").render(s=summary)
