"""Files shipped with the package: prompts and the demo data.

In a wheel they live inside the package (hatch force-include); in a source checkout they
are at the repository's top level. Both layouts resolve here, so nothing else cares.
"""

from __future__ import annotations

import base64
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
    return _first_existing(PACKAGE_DIR / "prompts", REPO_DIR / "prompts")


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
    return _first_existing(PACKAGE_DIR / "demo_data", REPO_DIR / "fixtures" / "demo")
