"""The evidence ledger: every number a person or a model sees, with its id and its query.

Ids are derived from what an item measures (its kind and key), not from the order it
was produced in, so the same data gives the same ids on every run, and a document or
a drafted persona that cites `E3f9a2c1d` can always be traced back to its figures.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

from pydantic import BaseModel, Field


class EvidenceItem(BaseModel):
    """One figure-bearing statement an ICP cites by id, with the SQL behind it (icp.json evidence, get_evidence)."""

    id: str = Field(description="stable id, e.g. E3f9a2c1d")
    kind: str = Field(description="what it measures: health_definition, cohort, pattern, tier, disqualifier, ...")
    statement: str = Field(description="one sentence stating the figures")
    metrics: dict[str, Any] = Field(default_factory=dict)
    n: int | None = None
    query: str | None = Field(None, description="the SQL (or computation) that produced the figures")


def evidence_id(kind: str, key: str) -> str:
    """Stable id of an evidence item: "E" + the first 8 hex digits of sha256("kind|key"); the same finding keeps its id."""
    return "E" + hashlib.sha256(f"{kind}|{key}".encode()).hexdigest()[:8]


def clean(value: Any) -> Any:
    """JSON-safe figures: NaN/inf become None, numpy scalars plain Python, floats rounded sensibly."""
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        return float(f"{value:.6g}")
    return value


class Ledger:
    """Collects evidence items during an analysis run."""

    def __init__(self) -> None:
        self.items: dict[str, EvidenceItem] = {}

    def add(
        self,
        kind: str,
        key: str,
        statement: str,
        metrics: dict[str, Any],
        *,
        n: int | None = None,
        query: str | None = None,
    ) -> str:
        """Record an item (metrics made JSON-safe by `clean`) and return its id; the same kind and key replace the earlier item."""
        item = EvidenceItem(
            id=evidence_id(kind, key), kind=kind, statement=statement, metrics=clean(metrics), n=n, query=query
        )
        self.items[item.id] = item
        return item.id

    def get(self, item_id: str) -> EvidenceItem:
        """The item with this id (KeyError when there is none)."""
        return self.items[item_id]

    def all(self) -> list[EvidenceItem]:
        """Every item, in the order first added."""
        return list(self.items.values())

    def save(self, con, version_id: str) -> None:
        """Insert every item into the workspace's evidence table under `version_id`."""
        con.executemany(
            "INSERT INTO evidence VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(version_id, i.id, i.kind, i.statement, json.dumps(i.metrics), i.n, i.query) for i in self.items.values()],
        )


# --- the evidence table of the workspace (one row per item and version) ---------------------------------------

ITEM_COLUMNS = "evidence_id, kind, statement, metrics, n, query"


def _item(row: tuple) -> EvidenceItem:
    return EvidenceItem(id=row[0], kind=row[1], statement=row[2], metrics=json.loads(row[3]), n=row[4], query=row[5])


def read_item(con: Any, evidence_id: str, version: str | None = None) -> EvidenceItem | None:
    """One item by id: of `version`, or of the latest version that has it; None when there is none."""
    row = con.execute(
        f"""SELECT {", ".join("e." + c.strip() for c in ITEM_COLUMNS.split(","))} FROM evidence e
                          JOIN icp_versions v USING (version_id)
                          WHERE e.evidence_id = ? AND (? IS NULL OR e.version_id = ?)
                          ORDER BY v.created_at DESC LIMIT 1""",
        [evidence_id, version, version],
    ).fetchone()
    return _item(row) if row else None


def version_items(ws: Any, version_id: str) -> dict[str, EvidenceItem]:
    """Every evidence item of a version, by id (what the grounding checker checks against)."""
    with ws.connect() as con:
        rows = con.execute(f"SELECT {ITEM_COLUMNS} FROM evidence WHERE version_id = ?", [version_id]).fetchall()
    return {r[0]: _item(r) for r in rows}


def store(con: Any, icp: Any, ledger: Ledger) -> None:
    """Add a ledger's items to a version (the evidence table and icp.json's evidence list), replacing the items
    with the same ids, and save the version's icp.json."""
    ids = [i.id for i in ledger.all()]
    if not ids:
        return
    con.execute("DELETE FROM evidence WHERE version_id = ? AND list_contains(?, evidence_id)", [icp.id, ids])
    ledger.save(con, icp.id)
    icp.evidence = [e for e in icp.evidence if e.id not in set(ids)] + ledger.all()
    con.execute("UPDATE icp_versions SET icp = ? WHERE version_id = ?", [icp.model_dump_json(), icp.id])
