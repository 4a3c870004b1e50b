"""Unit tests of icp_agent.views: paging, the ICP view's sections and budget, briefs, and the drafts outcome.

The ICP is the stored tests/data/icp_before_typed_sections.json (3 tiers, 2 patterns, 3 disqualifiers)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from icp_agent import views
from icp_agent.drafting.store import SaveDraftsResult
from icp_agent.icp_document import IcpDocument
from icp_agent.models import ColumnReport, ImportReport, RejectedRow, WorkspaceSummary
from icp_agent.options import DraftClaim, DraftPersona, DraftRationale
from icp_agent.toolkit import EvidenceBrief, EvidenceListing
from icp_agent.views import (
    BuildSummary,
    DatasetBrief,
    compact_json,
    drafts_outcome,
    evidence_list,
    icp_view,
    paginate,
    persona_evidence,
    version_list,
    workspace_view,
)

ICP_FILE = Path(__file__).parent / "data" / "icp_before_typed_sections.json"


@pytest.fixture(scope="module")
def icp() -> IcpDocument:
    return IcpDocument.model_validate(json.loads(ICP_FILE.read_text(encoding="utf-8")))


# --- paginate ------------------------------------------------------------------------------------------------


def test_paginate_first_middle_last_and_past_the_end():
    items = list(range(5))
    assert paginate(items, 2, 0) == ([0, 1], views.Page(total=5, offset=0, limit=2, truncated=True, next_offset=2))
    chunk, page = paginate(items, 2, 2)
    assert chunk == [2, 3] and page.next_offset == 4
    chunk, page = paginate(items, 2, 4)
    assert chunk == [4] and not page.truncated and page.next_offset is None
    chunk, page = paginate(items, 2, 9)
    assert chunk == [] and not page.truncated and page.total == 5


def test_paginate_empty():
    chunk, page = paginate([], 10, 0)
    assert chunk == [] and page.total == 0 and not page.truncated


# --- the ICP view --------------------------------------------------------------------------------------------


def test_icp_view_default_sections(icp):
    v = icp_view(icp, None, limit=50, offset=0)
    assert v.sections == list(views.DEFAULT_SECTIONS) and v.omitted_sections == []
    assert v.id == icp.id and v.dataset.fingerprint == icp.dataset.fingerprint
    assert len(v.tiers) == 3 and len(v.negative_icp) == 3
    assert v.patterns is None  # not asked for
    assert v.pages["tiers"].total == 3 and not v.truncated


def test_icp_view_pages_list_sections(icp):
    v = icp_view(icp, ["tiers", "tiers"], limit=2, offset=0)  # a repeated name counts once
    assert v.sections == ["tiers"] and [t["tier"] for t in v.tiers] == [t.tier for t in icp.tiers[:2]]
    assert v.pages["tiers"].truncated and v.pages["tiers"].next_offset == 2 and v.truncated


def test_icp_view_leaves_out_a_section_past_the_budget(icp, monkeypatch):
    health = len(json.dumps(icp.health.model_dump(mode="json")))
    monkeypatch.setattr(views, "ICP_VIEW_MAX_CHARS", health + 10)
    v = icp_view(icp, ["health", "tiers"], limit=50, offset=0)
    assert v.sections == ["health"] and v.omitted_sections == ["tiers"] and v.tiers is None and v.truncated


def test_build_summary(icp):
    s = BuildSummary.of(icp, top_patterns=1)
    assert s.version_id == icp.id and s.patterns_total == 2 and len(s.top_patterns) == 1
    top, first = s.top_patterns[0], icp.patterns[0]
    assert (top.label, top.n, top.lift, top.evidence) == (first.label, first.n, first.lift, first.evidence)
    assert s.health.n == icp.health.n and s.health.n_good == icp.health.n_good
    assert [t.criteria for t in s.tiers] == [[c.label for c in t.criteria] for t in icp.tiers]
    assert s.evidence_ids == [e.id for e in icp.evidence] and len(s.evidence_ids) == 12


def test_dataset_brief(icp):
    d = DatasetBrief.of(icp.dataset)
    assert [link.kind for link in d.links] == ["deals", "contacts"]
    assert [(b.rows, b.linked) for b in d.links] == [(link.rows, link.linked) for link in icp.dataset.links]


# --- lists ---------------------------------------------------------------------------------------------------


def test_version_list_is_newest_first():
    made = [
        views.VersionInfo(version_id=f"v{i}", created_at=datetime(2026, 1, i), dataset_fingerprint="f", status="ok")
        for i in (1, 2, 3)
    ]
    out = version_list(made, limit=2, offset=0)
    assert [v.version_id for v in out.versions] == ["v3", "v2"] and out.page.next_offset == 2


def test_evidence_list_pages():
    items = [EvidenceBrief(id=f"E{i}", kind="pattern", statement="s", n=i) for i in range(3)]
    out = evidence_list(EvidenceListing(version_id="v", kinds=["pattern"], items=items), limit=2, offset=2)
    assert [i.id for i in out.items] == ["E2"] and out.page.total == 3 and not out.page.truncated


def test_persona_evidence_pages_quotes_and_keeps_the_rest():
    found = {"tier": "ICP 1 Tier 1", "roles": {"champion": {"n": 4}}, "quotes": [{"q": i} for i in range(3)], "x": 1}
    out = persona_evidence(found, limit=1, offset=1)
    assert out.quotes == [{"q": 1}] and out.quotes_page.next_offset == 2 and out.roles["champion"]["n"] == 4
    assert out.model_dump()["x"] == 1
    assert len(found["quotes"]) == 3  # the caller's dict is left as it was


def test_workspace_view_pages_columns_and_applies_roles():
    report = ImportReport(
        import_id="i1",
        kind="customers",
        file_name="c.csv",
        path="/c.csv",
        sha256="0",
        format="csv",
        rows_read=3,
        rows_kept=2,
        rows_rejected=1,
        duplicates_dropped=0,
        imported_at=datetime(2026, 1, 1),
        columns=[
            ColumnReport(header=h, field=h, canonical=True, role="fit", type="category", pct_missing=0)
            for h in ("a", "b", "c")
        ],
        rejected=[RejectedRow(row=i, reason="bad") for i in range(7)],
    )
    summary = WorkspaceSummary(
        workspace="w",
        schema_version=1,
        current={"customers": report},
        snapshots={"customers": 2},
        roles={"b": "ignore"},
    )
    v = workspace_view(summary, None, limit=2, offset=1)
    (kind,) = v.kinds
    assert [(c.field, c.role) for c in kind.columns] == [("b", "ignore"), ("c", "fit")]
    assert kind.snapshots == 2 and len(kind.rejected_examples) == 5 and kind.columns_page.total == 3
    assert report.columns[1].role == "fit"  # the report itself is not changed
    assert workspace_view(summary, "deals", 10, 0).kinds == []


# --- drafts --------------------------------------------------------------------------------------------------


def test_drafts_outcome_places_each_refused_claim():
    persona = DraftPersona(
        segment="ICP 1",
        tier=1,
        role="champion",
        claims=[DraftClaim(section="pains", text="They hate spreadsheets", evidence=["E1"])],
    )
    rationale = DraftRationale(disqualifier="industry = Retail", claims=[DraftClaim(text="Retail churns", evidence=[])])
    result = SaveDraftsResult(
        saved=False,
        version="v1",
        problems=[
            {"claim": "They hate spreadsheets", "problem": "E1 does not say it"},
            {"claim": "Retail churns", "problem": "cites no evidence"},
            {"claim": "ICP 1 Tier 1", "problem": "no such tier"},
            {"claim": "unknown text", "problem": "?"},
        ],
    )
    out = drafts_outcome(result, [persona], [rationale])
    assert out.status == "refused" and not out.saved and out.next_step
    got = [(p.draft, p.section, p.evidence) for p in out.problems]
    assert got == [
        ("persona ICP 1 Tier 1 champion", "pains", ["E1"]),
        ("rationale industry = Retail", None, []),
        ("persona ICP 1 Tier 1 champion", None, []),
        ("unknown text", None, []),
    ]


def test_drafts_outcome_saved():
    out = drafts_outcome(SaveDraftsResult(saved=True, version="v", personas_saved=2), None, None)
    assert (out.status, out.personas_saved, out.problems, out.next_step) == ("saved", 2, [], None)


def test_compact_json():
    assert compact_json({"a": [1, "é"]}) == '{"a":[1,"é"]}'
