"""The assistant's prompts: jinja2 templates in prompts/, each with a version in its front matter.

The versions used are recorded in the run log and in icp.json (`drafting.prompt_versions`), so a document says
which wording drafted it.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, StrictUndefined

from icp_agent.resources import prompt_template


class Prompts:
    """Renders the prompt templates and remembers the version of each one used (for the run log)."""

    def __init__(self) -> None:
        self.env = Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
        self.versions: dict[str, str] = {}

    def render(self, name: str, /, **context: Any) -> str:
        """The template `name` (prompts/NAME.md.j2, read by resources.prompt_template) rendered with `context`,
        front matter removed; `name` is positional-only, so a template may use a variable called name."""
        body, meta = prompt_template(name)
        self.versions[name] = meta["version"]
        return self.env.from_string(body).render(**context).strip()
