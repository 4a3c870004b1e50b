"""Phase 2: the traits that over-index (selectors, the leakage screen, subgroup search, statistics)."""
