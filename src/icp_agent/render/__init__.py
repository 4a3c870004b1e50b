"""Rendering: the documents people read (markdown, self-contained HTML) and CRM exports."""
