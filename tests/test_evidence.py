"""evidence.py: ids that depend on what an item measures, figures that are JSON-safe, and a ledger that stores
every item of a version."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from icp_agent.evidence import EvidenceItem, Ledger, clean, evidence_id


def test_an_id_depends_on_kind_and_key_only():
    assert evidence_id("tier", "ICP 1|1") == evidence_id("tier", "ICP 1|1")
    assert evidence_id("tier", "ICP 1|1") != evidence_id("tier", "ICP 1|2")
    assert evidence_id("tier", "x") != evidence_id("pattern", "x")
    assert evidence_id("a|b", "c") == evidence_id("a", "b|c")  # one string hashed: the separator is not escaped
    assert all(
        len(i) == 9 and i[0] == "E" and int(i[1:], 16) >= 0 for i in (evidence_id("k", str(n)) for n in range(50))
    )


def test_clean_makes_figures_json_safe():
    raw = {
        "rate": np.float64(0.123456789),
        "n": np.int64(42),
        "nan": float("nan"),
        "inf": np.float32("inf"),
        "nested": [(1.0 / 3, "text"), {"flag": np.bool_(True)}],
        "small": 1.23456789e-12,
        "none": None,
    }
    cleaned = clean(raw)
    assert cleaned == {
        "rate": 0.123457,
        "n": 42,
        "nan": None,
        "inf": None,
        "nested": [[0.333333, "text"], {"flag": True}],
        "small": 1.23457e-12,
        "none": None,
    }
    assert type(cleaned["n"]) is int and type(cleaned["nested"][1]["flag"]) is bool
    json.dumps(cleaned, allow_nan=False)  # no NaN, no numpy scalar left


@pytest.mark.parametrize("value", [12345678.9, 0.1 + 0.2, -math.pi, 1e21])
def test_clean_keeps_six_significant_digits(value):
    assert clean(value) == float(f"{value:.6g}")


def test_the_ledger_keys_items_by_id_and_the_last_add_wins(ws):
    ledger = Ledger()
    first = ledger.add(
        "tier",
        "ICP 1|1",
        "Tier 1: 476 customers",
        {"share": np.float64(0.0952)},
        n=476,
        query="SELECT count(*) FROM customers",
    )
    again = ledger.add("tier", "ICP 1|1", "Tier 1: 477 customers", {"share": 0.0954}, n=477)
    other = ledger.add("pattern", "industry=Retail", "Retail: lift 2.1", {"lift": 2.1})
    assert first == again != other
    assert [i.id for i in ledger.all()] == [first, other]
    assert ledger.get(first) == EvidenceItem(
        id=first, kind="tier", statement="Tier 1: 477 customers", metrics={"share": 0.0954}, n=477, query=None
    )
    with pytest.raises(KeyError):
        ledger.get("E00000000")
    with ws.transaction() as con:
        ledger.save(con, "icp-test")
    with ws.connect() as con:
        saved = con.execute(
            "SELECT version_id, evidence_id, kind, statement, metrics, n, query FROM evidence ORDER BY kind DESC"
        ).fetchall()
    assert saved[0][:4] == ("icp-test", first, "tier", "Tier 1: 477 customers")
    assert json.loads(saved[0][4]) == {"share": 0.0954} and saved[0][5] == 477 and saved[0][6] is None
    assert saved[1][1:3] == (other, "pattern")
