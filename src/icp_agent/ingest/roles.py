"""Field roles: the role each imported field has (fit, outcome, post_sale, id, ignore), the user's overrides
merged over the import's inference, and the stored field a user means by a name or a file header."""

from __future__ import annotations

from icp_agent.models import ImportReport
from icp_agent.workspace import Workspace


def field_roles(ws: Workspace, con=None) -> dict[str, str]:
    """Role of every field of the current customers snapshot (and deals' firmographics), overrides applied.

    A field that also appears in the prospect list is observable before the sale; an
    inferred 'fit' role is kept for it, the others are shown so the user can check them.
    """
    if con is None:
        with ws.connect() as own:
            return field_roles(ws, own)
    roles: dict[str, str] = {}
    for kind in ("deals", "customers"):
        row = con.execute(
            """SELECT i.report FROM current_snapshot c JOIN imports i USING (import_id)
                             WHERE c.kind = ?""",
            [kind],
        ).fetchone()
        if row:
            for column in ImportReport.model_validate_json(row[0]).columns:
                if column.role != "ignore" or column.field not in roles:
                    roles[column.field] = column.role
    roles.update(ws.role_overrides(con))
    return roles


def resolve_field(ws: Workspace, name: str, con=None) -> str:
    """The stored field a user means by `name`: a field name as is, or a header as written in an imported file
    ("Is Active?" -> is_active, "Churned" -> churned), read from the current import reports. Unknown names are
    returned unchanged (the step that uses them says which fields exist)."""
    if con is None:
        with ws.connect() as own:
            return resolve_field(ws, name, own)
    from icp_agent.ingest.fields import canonical_field, header_key

    columns = []
    for (report_json,) in con.execute("""SELECT i.report FROM current_snapshot c JOIN imports i USING (import_id)
                                         WHERE i.kind <> 'interviews' ORDER BY CASE i.kind WHEN 'customers' THEN 0
                                         WHEN 'deals' THEN 1 WHEN 'contacts' THEN 2 ELSE 3 END""").fetchall():
        columns += ImportReport.model_validate_json(report_json).columns
    fields = {c.field for c in columns}
    if name in fields:
        return name
    for same in (
        lambda c: c.header == name,
        lambda c: c.header.strip().casefold() == name.strip().casefold(),
        lambda c: header_key(c.header) == header_key(name),
    ):
        found = next((c.field for c in columns if same(c)), None)
        if found:
            return found
    canonical = canonical_field(name)
    return canonical if canonical in fields else name
