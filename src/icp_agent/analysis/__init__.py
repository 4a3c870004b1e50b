"""Analysis: pure functions over the workspace (health, selectors, subgroup search, statistics, ICP)."""
