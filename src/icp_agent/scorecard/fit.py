"""The lead scorecard (moving into modules that each hold one idea; this commit only renames the file so history
follows)."""

from icp_agent.scorecard.binning import *  # noqa: F403
from icp_agent.scorecard.binning import (  # noqa: F401
    REASONS,
    _code_sql,
    _fit_table,
    _interval_label,
    _level,
    _lookup,
    _missing_sql,
    _points_sql,
    _prepare,
    _spelled,
    _value_sql,
)
