"""Phases 2-3 (moving into modules that each hold one idea; this commit only renames the file so history follows)."""

from icp_agent.tiers.candidates import *  # noqa: F403
