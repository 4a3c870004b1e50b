"""Phase 3: tiers and the negative ICP, and the one criteria compiler that evaluates them."""
