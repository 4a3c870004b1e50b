"""Files shipped with the package: prompts and the demo data.

In a wheel they live inside the package (hatch force-include); in a source checkout they
are at the repository's top level. Both layouts resolve here, so nothing else cares.
"""

from __future__ import annotations

import base64
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mcp.types import Icon

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent.parent


def _first_existing(*candidates: Path) -> Path:
    for candidate in candidates:
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"none of {', '.join(map(str, candidates))} exists: is the package installed whole?")


def prompts_dir() -> Path:
    """The prompts folder, installed with the package or in the source checkout (FileNotFoundError when neither exists)."""
    return _first_existing(PACKAGE_DIR / "prompts", REPO_DIR / "prompts")


FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.DOTALL)


@cache
def prompt_template(name: str) -> tuple[str, dict[str, str]]:
    """The prompt template `prompts/<name>.md.j2`: its jinja2 body and its front matter (`key: value` lines).
    Every template states a version (recorded where the prompt is used); ValueError when one does not."""
    path = prompts_dir() / f"{name}.md.j2"
    text = path.read_text(encoding="utf-8")
    match = FRONT_MATTER.match(text)
    if match is None:
        raise ValueError(f"{path} has no front matter")
    meta = {
        key.strip(): value.strip()
        for key, value in (line.split(":", 1) for line in match.group(1).splitlines() if ":" in line)
    }
    if "version" not in meta:
        raise ValueError(f"{path} has no version in its front matter")
    return text[match.end() :], meta


def render_prompt(name: str, /, **context: object) -> str:
    """The template `name` rendered with `context` (a missing variable is an error, never an empty string); `name`
    is positional-only, so a template may use a variable called name."""
    from jinja2 import Environment, StrictUndefined

    body, _ = prompt_template(name)
    return (
        Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
        .from_string(body)
        .render(**context)
    )


def icons() -> list[Icon]:
    """The server's icon (MCP `serverInfo.icons`) as data URIs: PNG, which every client must
    accept, and the SVG it is drawn from (tools/make_icon.py)."""
    # only the server needs it: the CLI starts without the MCP SDK
    from mcp.types import Icon

    found = []
    for name, mime in (("icon.png", "image/png"), ("icon.svg", "image/svg+xml")):
        data = base64.b64encode((PACKAGE_DIR / "assets" / name).read_bytes()).decode("ascii")
        found.append(
            Icon(
                src=f"data:{mime};base64,{data}", mime_type=mime, sizes=["128x128"] if mime == "image/png" else ["any"]
            )
        )
    return found


def demo_data_dir() -> Path:
    """The demo data folder, installed with the package or fixtures/demo in the checkout (FileNotFoundError when neither)."""
    return _first_existing(PACKAGE_DIR / "demo_data", REPO_DIR / "fixtures" / "demo")
