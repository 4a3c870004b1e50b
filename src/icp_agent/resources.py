"""Files shipped with the package: prompts and the demo data.

In a wheel they live inside the package (hatch force-include); in a source checkout they
are at the repository's top level. Both layouts resolve here, so nothing else cares.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent.parent


def _first_existing(*candidates: Path) -> Path:
    for candidate in candidates:
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"none of {', '.join(map(str, candidates))} exists: is the package installed whole?")


def prompts_dir() -> Path:
    return _first_existing(PACKAGE_DIR / "prompts", REPO_DIR / "prompts")


def demo_data_dir() -> Path:
    return _first_existing(PACKAGE_DIR / "demo_data", REPO_DIR / "fixtures" / "demo")
