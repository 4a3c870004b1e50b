"""Phase 4 evidence: who buys in each tier (buyer roles, job titles, interview notes)."""
