"""Phase 5: does the ICP pay off, hold on new customers, and cover a big enough market."""
