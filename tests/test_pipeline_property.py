"""A property over the whole pipeline: whatever shape the exports take, a run completes or stops with exit 2
and a message naming the cause; never a traceback, never exit 1.

Hypothesis renames, drops and retypes columns of every input (companies, deals, prospects) and drops the
optional files, on small generated look-alikes of a HubSpot export (tests/test_schema_criteria.py).
"""

from __future__ import annotations

import csv
import json
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_schema_criteria import company_export

from icp_agent.faces.cli import main

ODD_HEADERS = ["Zeta", "Qty", "Größe", "Segment Code", "Account Type", "Notes", "ID", "Status"]
RETYPES = ["words", "numbers", "blank", "mixed"]

mutation = st.tuples(st.sampled_from(["rename", "drop", "retype"]), st.integers(0, 50), st.sampled_from(ODD_HEADERS),
                     st.sampled_from(RETYPES))
shape = st.fixed_dictionaries({
    "companies": st.lists(mutation, max_size=3),
    "deals": st.one_of(st.none(), st.lists(mutation, max_size=3)),  # None: the deals file is dropped
    "prospects": st.one_of(st.none(), st.lists(mutation, max_size=2)),
    "shared_attribute": st.booleans(),
    "churn_only": st.booleans(),
})


def mutate(path: Path, mutations: list[tuple[str, int, str, str]]) -> None:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    for op, index, new_name, retype in mutations:
        if len(header) <= 1:
            break
        i = index % len(header)
        if op == "rename" and new_name not in header:
            header[i] = new_name
        elif op == "drop":
            del header[i]
            for row in body:
                del row[i]
        elif op == "retype":
            for n, row in enumerate(body):
                row[i] = {"words": f"value {n % 7}", "numbers": str(n % 13), "blank": "",
                          "mixed": str(n) if n % 2 else f"n/a {row[i]}"}[retype]
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *body])


@pytest.mark.slow
@settings(max_examples=7, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(shape)
def test_any_export_shape_completes_or_exits_2_naming_the_cause(case):
    with tempfile.TemporaryDirectory() as tmp:
        folder = company_export(Path(tmp) / "data", n=120, deals="hubspot" if case["deals"] is not None else None,
                                prospects=case["prospects"] is not None, shared_attribute=case["shared_attribute"],
                                churn_only=case["churn_only"])
        mutate(folder / "companies.csv", case["companies"])
        if case["deals"] is not None:
            mutate(folder / "deals.csv", case["deals"])
        if case["prospects"] is not None:
            mutate(folder / "prospects.csv", case["prospects"])
        result = CliRunner().invoke(main, ["run", str(folder), "--out", str(Path(tmp) / "out"), "--workspace",
                                           str(Path(tmp) / "ws.duckdb"), "--json"])
        assert "Traceback" not in result.output
        assert result.exit_code in (0, 2), (case, result.output)
        data = json.loads(result.stdout)
        if result.exit_code == 2:
            error = data["error"]
            assert error["kind"] != "bug" and len(error["message"]) > 20, error
        else:
            assert (Path(tmp) / "out" / "icp.json").exists() and (Path(tmp) / "out" / "icp.md").exists()
            assert data["icp"]["status"] in ("ok", "no_significant_icp")
