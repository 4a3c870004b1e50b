"""Phase 5 validation (moving into modules that each hold one idea; this commit only renames the file so history
follows)."""

from icp_agent.validation.economics import *  # noqa: F403
