"""How deals and contacts link to companies: by id, domain or name, whichever the files share."""

from __future__ import annotations

import duckdb

from ..models import LinkReport
from ..sql import columns_of

COMPANY_KEYS = ("company_id", "domain", "company_name")
FIRMOGRAPHIC_COLUMNS = ("industry", "employees_min", "country", "annual_revenue")


def company_key(con: duckdb.DuckDBPyConnection, table: str, companies: str) -> str | None:
    """The first key both tables carry (ids beat domains beat names)."""
    shared = columns_of(con, table) & columns_of(con, companies)
    return next((k for k in COMPANY_KEYS if k in shared), None)


def key_expr(key: str, alias: str) -> str:
    return f"lower(trim({alias}.{key}))" if key == "company_name" else f"{alias}.{key}"


def link_deals(con: duckdb.DuckDBPyConnection, deals: str, customers: str) -> LinkReport:
    key = company_key(con, deals, customers)
    columns = columns_of(con, deals)
    own = [c for c in FIRMOGRAPHIC_COLUMNS if c in columns]
    has_own = " OR ".join(f"d.{c} IS NOT NULL" for c in own) or "FALSE"
    matched = (f"EXISTS (SELECT 1 FROM {customers} c WHERE {key_expr(key, 'c')} = {key_expr(key, 'd')})"
               if key else "FALSE")
    label = ", ".join(f"d.{c}" for c in ("deal_id", "company_id", "company_name", "domain") if c in columns)
    rows, linked, standalone = con.execute(
        f"SELECT count(*), count_if({matched}), count_if(NOT ({matched}) AND ({has_own})) FROM {deals} d").fetchone()
    examples = con.execute(f"SELECT d._row, {label or 'NULL'} FROM {deals} d WHERE NOT ({matched}) "
                           f"AND NOT ({has_own}) ORDER BY d._row LIMIT 10").fetchall()
    names = ["row", *[c.split('.')[1] for c in label.split(", ")]] if label else ["row"]
    return LinkReport(kind="deals", linked_by=key, rows=rows, linked=linked, standalone=standalone,
                      unlinked=rows - linked - standalone,
                      unlinked_examples=[dict(zip(names, r)) for r in examples])


def link_contacts(con: duckdb.DuckDBPyConnection, contacts: str, deals: str | None,
                  customers: str | None) -> LinkReport:
    columns = columns_of(con, contacts)
    conditions, linked_by = [], []
    if deals and "deal_id" in columns and "deal_id" in columns_of(con, deals):
        conditions.append(f"EXISTS (SELECT 1 FROM {deals} d WHERE d.deal_id = p.deal_id)")
        linked_by.append("deal_id")
    if customers:
        key = company_key(con, contacts, customers)
        if key:
            conditions.append(f"EXISTS (SELECT 1 FROM {customers} c WHERE {key_expr(key, 'c')} = {key_expr(key, 'p')})")
            linked_by.append(key)
    matched = " OR ".join(conditions) or "FALSE"
    rows, linked = con.execute(f"SELECT count(*), count_if({matched}) FROM {contacts} p").fetchone()
    label = [c for c in ("deal_id", "company_name", "domain", "job_title") if c in columns]
    examples = con.execute(f"SELECT p._row{''.join(', p.' + c for c in label)} FROM {contacts} p "
                           f"WHERE NOT ({matched}) ORDER BY p._row LIMIT 10").fetchall()
    return LinkReport(kind="contacts", linked_by=" or ".join(linked_by) or None, rows=rows, linked=linked,
                      unlinked=rows - linked, unlinked_examples=[dict(zip(["row", *label], r)) for r in examples])
