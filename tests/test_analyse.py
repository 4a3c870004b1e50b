"""Unit tests of tiers/analyse.py: the whole analysis on a small synthetic table (tests/tiers_data.py)."""

from __future__ import annotations

import hashlib

import duckdb
import pytest

from icp_agent.errors import UserError
from icp_agent.tiers.analyse import AnalysisConfig, analyse, fingerprint
from icp_agent.tiers.support import detectable_support
from tiers_data import config, inputs, make_customers, run


@pytest.fixture
def con():
    c = duckdb.connect()
    yield c
    c.close()


def _fields(criteria) -> list[tuple]:
    return [(c.field, c.op, c.value if c.op == "eq" else c.min) for c in criteria]


def test_tiers_and_disqualifiers_match_the_design(con):
    icp, _ = run(con)
    assert icp.status == "ok" and icp.no_icp_reason is None
    # 410 of 1,200 converted: Software 144 + 56, Retail and Media 90 each, Health 30 (tiers_data's design)
    assert (icp.health.n, icp.health.n_good, icp.health.n_bad) == (1200, 410, 790)
    tier1 = [t for t in icp.tiers if t.tier == 1]
    # the two top headcount bins within Software (60 rows each, 90% converted) are two distinct segments
    assert [(_fields(t.criteria), t.metrics.n, t.metrics.n_good) for t in tier1] == [
        ([("headcount", "gte", 500), ("industry", "eq", "Software")], 60, 54),
        ([("headcount", "between", 400), ("industry", "eq", "Software")], 60, 54),
    ]
    # Tier 2 is Software judged on the rows the Tier 1s leave: 300 - 120 rows, 200 - 108 converted
    tier2 = [t for t in icp.tiers if t.tier == 2]
    assert [(_fields(t.criteria), t.metrics.n, t.metrics.n_good) for t in tier2] == [
        ([("industry", "eq", "Software")], 180, 92)
    ]
    assert tier2[0].criteria[0].header == "Industry"
    # Health (10% converted vs 34%) is the first disqualifier: 270 of its 300 are not converted
    first = icp.negative_icp[0]
    assert (_fields(first.criteria), first.metrics.n, first.metrics.k) == ([("industry", "eq", "Health")], 300, 270)
    assert first.metrics.base_rate == pytest.approx(790 / 1200)


def test_every_figure_has_its_evidence(con):
    icp, ledger = run(con)
    ids = {e.id for e in icp.evidence}
    cited = [e for t in icp.tiers for e in t.evidence] + [e for d in icp.negative_icp for e in d.evidence]
    cited += icp.health.evidence + [p.evidence for p in icp.patterns]
    assert cited and set(cited) <= ids
    assert ledger.get(icp.tiers[0].evidence[0]).metrics["n"] == icp.tiers[0].metrics.n


def test_the_analysis_is_deterministic(con):
    first, _ = run(con)
    second, _ = analyse(con, inputs(), config(), "v1")
    assert [t.name for t in first.tiers] == [t.name for t in second.tiers]
    assert [e.id for e in first.evidence] == [e.id for e in second.evidence]


def test_min_support_default_and_option(con):
    icp, _ = run(con)
    # the smaller of what the good and the bad rates can detect, at least 10
    expected = max(10, min(detectable_support(1200, 410 / 1200), detectable_support(1200, 790 / 1200)))
    assert (icp.min_support.rows, icp.min_support.chosen_by) == (expected, "detectable effect")
    # a minimum support above every good segment's size leaves no ICP, and says why
    icp, _ = run(con, min_support=400)
    assert (icp.min_support.rows, icp.min_support.chosen_by) == (400, "option")
    assert icp.status == "no_significant_icp" and icp.tiers == []
    assert icp.statement == icp.no_icp_reason
    assert [e for e in icp.evidence if e.kind == "no_significant_icp"]


def test_max_segments(con):
    icp, _ = run(con, max_segments=1)
    assert {t.segment for t in icp.tiers} == {"ICP 1"}


def test_no_way_to_tell_good_from_bad(con):
    make_customers(con)
    con.execute("ALTER TABLE customers DROP COLUMN converted")
    # no outcome column named, no health fields, no deals
    with pytest.raises(UserError, match="no way to tell good customers from bad"):
        analyse(con, inputs(), AnalysisConfig(), "v1")


def test_fingerprint():
    imports = [{"kind": "deals", "sha256": "b"}, {"kind": "customers", "sha256": "a"}]
    # sorted "kind:sha" joined by "|", sha256, first 16 hex digits; the order of the imports does not matter
    assert fingerprint(imports) == hashlib.sha256(b"customers:a|deals:b").hexdigest()[:16]
    assert fingerprint(imports[::-1]) == fingerprint(imports)


def test_the_entities_are_read_in_place_when_the_frame_is_in_row_order(con, monkeypatch):
    """The screen, the selectors and the targets read the frame's entities through a view when the frame is stored
    in _row order (no copy), and from a copy sorted by _row when it is not: the same ICP either way."""
    from icp_agent.tiers import analyse as module

    made = []

    class Spy:
        def __getattr__(self, name):
            return getattr(con, name)

        def execute(self, sql, *args):
            if "__icp_entities AS" in sql:
                made.append(sql.split(" __icp_entities")[0])
            return con.execute(sql, *args)

    make_customers(con)
    in_place, _ = analyse(Spy(), inputs(), config(), "v1")
    monkeypatch.setattr(module, "in_row_order", lambda con, table: False)  # as a frame stored in another order
    copied, _ = analyse(Spy(), inputs(), config(), "v2")
    assert made == ["CREATE OR REPLACE TEMP VIEW", "CREATE OR REPLACE TEMP TABLE"]
    assert [(t.name, t.metrics.n, t.metrics.n_good) for t in in_place.tiers] == [
        (t.name, t.metrics.n, t.metrics.n_good) for t in copied.tiers
    ]
    assert [(p.label, p.n, p.k, p.p_value) for p in in_place.patterns] == [
        (p.label, p.n, p.k, p.p_value) for p in copied.patterns
    ]
    assert con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = '__icp_entities'").fetchone() == (0,)
