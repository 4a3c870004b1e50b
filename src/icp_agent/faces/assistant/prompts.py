"""The assistant's prompts: jinja2 templates in prompts/, each with a version in its front matter.

The versions used are recorded in the run log and in icp.json (`drafting.prompt_versions`), so a document says
which wording drafted it.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from jinja2 import Environment, StrictUndefined

from icp_agent.resources import prompts_dir

FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.DOTALL)


@cache
def load_prompt(name: str) -> tuple[str, dict[str, str]]:
    """A template's body and its front matter (`key: value` lines); every template must state a version."""
    path = prompts_dir() / f"{name}.md.j2"
    text = path.read_text(encoding="utf-8")
    match = FRONT_MATTER.match(text)
    lines = match.group(1).splitlines() if match else []
    meta = {key.strip(): value.strip() for key, value in (line.split(":", 1) for line in lines if ":" in line)}
    if match is None or "version" not in meta:
        raise ValueError(f"{path} has no version in its front matter")
    return text[match.end() :], meta


class Prompts:
    """Renders the prompt templates and remembers the version of each one used (for the run log)."""

    def __init__(self) -> None:
        self.env = Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
        self.versions: dict[str, str] = {}

    def render(self, name: str, **context: Any) -> str:
        """The template `name` (prompts/NAME.md.j2) rendered with `context`, front matter removed."""
        body, meta = load_prompt(name)
        self.versions[name] = meta["version"]
        return self.env.from_string(body).render(**context).strip()
