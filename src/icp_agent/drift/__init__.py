"""Refresh: what changed between two ICP versions and whether to keep, recalibrate or rebuild."""
