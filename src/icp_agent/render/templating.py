"""One jinja2 environment for every document template shipped in render/templates."""

from __future__ import annotations

from functools import lru_cache

from jinja2 import Environment, PackageLoader, StrictUndefined


@lru_cache(maxsize=1)
def environment() -> Environment:
    return Environment(loader=PackageLoader("icp_agent.render", "templates"), undefined=StrictUndefined,
                       trim_blocks=False, lstrip_blocks=False, keep_trailing_newline=True, autoescape=False)
