"""Phase 1: who is a good customer (health score, cohorts, the Customer Scoring Matrix, SaaS roll-ups, retention)."""
