"""Ingest: read CRM exports, map their headers, normalise their values, report every problem."""
