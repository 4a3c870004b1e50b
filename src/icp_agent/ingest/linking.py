"""How the current snapshots link: deals and contacts to the companies, per-account tables to the accounts
(the report import_data and inspect_workspace show), and the check build_icp makes before it uses them."""

from __future__ import annotations

from typing import Any

from icp_agent import numbers
from icp_agent.errors import UserError
from icp_agent.health.rollup import ROLLUP_KINDS, link_accounts
from icp_agent.ingest import links
from icp_agent.models import LinkReport
from icp_agent.workspace import Workspace


def link_report(ws: Workspace, con: Any = None) -> list[LinkReport]:
    """How the current deals and contacts link to the current companies (the key chosen by value overlap).

    Computed once per state of the current snapshots (Workspace.per_snapshot: seconds on a large workspace,
    and import_data, inspect_workspace and build_icp each ask for it); each caller gets its own copy, since
    check_links marks the reports it lets through."""
    if con is None:
        with ws.connect() as own:
            return link_report(ws, own)
    reports = ws.per_snapshot("links", con, lambda: _link_report(ws, con))
    return [report.model_copy(deep=True) for report in reports]


def _link_report(ws: Workspace, con: Any) -> list[LinkReport]:
    customers = ws.current_table(con, "customers")
    deals = ws.current_table(con, "deals")
    contacts = ws.current_table(con, "contacts")
    result = []
    if deals and customers:
        result.append(links.link_deals(con, deals, customers))
    if contacts and (deals or customers):
        result.append(links.link_contacts(con, contacts, deals, customers))
    for kind in ROLLUP_KINDS:
        table = ws.current_table(con, kind)
        if table and customers:
            result.append(link_accounts(con, kind, table, customers).report())
    return result


def check_links(reports: list[LinkReport], allow_unlinked: bool) -> list[str]:
    """Stop (UserError) when half or fewer of the deals or contacts link; with allow_unlinked, mark the
    reports and return the warnings that say how much was left out. When more than half of the deals link but
    some link to no company and carry no company fields of their own, one warning counts them (they enter the
    overall won/lost rates but no segment, and the missingness screen leaves them out, patterns/screen.py)."""
    warnings = []
    for link in reports:
        usable = link.linked + link.standalone
        if not link.rows or usable > links.MIN_LINKED_SHARE * link.rows:
            if link.kind == "deals" and link.unlinked > 0 and link.rows:
                warnings.append(_unlinked_deals(link))
            continue
        share = f"{link.linked:,} of {link.rows:,} {link.kind} ({numbers.percent(link.linked / link.rows, 0)})"
        own = f"; {link.standalone:,} more carry their own firmographics" if link.standalone else ""
        if not allow_unlinked:
            raise UserError(
                f"only {share} link to a company{own}: an ICP built on the rest would leave out "
                f"{link.unlinked:,} {link.kind}. Likely cause: {link.cause or 'unknown'}",
                hint="fix the export as the cause says and import it again, or build without them "
                "(CLI: --allow-unlinked; MCP tools: allow_unlinked=true)",
            )
        link.allowed_unlinked = True
        warnings.append(
            f"only {share} link to a company{own}: {link.unlinked:,} {link.kind} were analysed without "
            f"their company's fields (--allow-unlinked). Likely cause: {link.cause or 'unknown'}"
        )
    return warnings


def _unlinked_deals(link: LinkReport) -> str:
    """The one warning for the deals that link to no company while most do, with the commonest reason."""
    share = f"{link.unlinked:,} of {link.rows:,} deals ({numbers.percent(link.unlinked / link.rows, 0)})"
    if link.ambiguous:
        shown = "; ".join(f"{e['value']!r} fits {' / '.join(e['companies'])}" for e in link.ambiguous_examples[:2])
        why = f"{link.ambiguous:,} name a {link.method} several companies share (e.g. {shown})"
    else:
        why = f"their {link.method or 'company key'} matches no company in the companies file"
    return (
        f"{share} link to no company and carry no company fields of their own: they count in the overall won and "
        f"lost rates but fall in no segment, and the data-quality screen leaves them out; {why}"
    )
