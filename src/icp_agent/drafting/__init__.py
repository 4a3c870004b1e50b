"""Prose from evidence: the grounding checker and the offline drafter (no model needed)."""
