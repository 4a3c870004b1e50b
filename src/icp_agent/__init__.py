"""icp-agent: a data-backed Ideal Customer Profile from a company's own CRM exports."""

__version__ = "0.1.0"
