"""render/import_report.py: the import report in markdown names every column, what it became, and every rejected
row, with the file's own text kept inert."""

from __future__ import annotations

import re

from icp_agent import toolkit
from icp_agent.render.import_report import render_import_report

CUSTOMERS = (
    "Record ID,Company name,Industry,Lifecycle Stage,Notes | internal\n"
    "1,Acme,Retail,customer,a\n1,Acme,Software,customer,b\n2,Globex,Retail,customer,c\n"
    "2,Globex,Retail,customer,c\n3,*Initech*,Retail,customer,d\n"
)


def cells(line: str) -> list[str]:
    """A markdown table row's cells, split on the pipes that are not escaped."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def test_counts_columns_and_rejected_rows(ws, write):
    toolkit.import_data(ws, customers=write("c.csv", CUSTOMERS))
    text = render_import_report(toolkit.inspect_workspace(ws))
    assert "## customers: c.csv" in text
    assert "5 rows read, 3 kept, 1 rejected, 1 exact duplicates dropped, 1 id conflicts." in text
    rows = [cells(line) for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows[0] == ["header", "field", "role", "type", "% missing", "examples", "unparsed"]
    table = {r[0]: r[1:] for r in rows[1:]}
    assert all(len(r) == 7 for r in rows)  # a pipe in a header is escaped, not a new column
    assert table["Record ID"][:4] == ["company\\_id", "id", "text", "0.0%"]
    assert table["Industry"][:3] == ["industry", "fit", "category"]
    assert table["Lifecycle Stage"][1] == "post\\_sale"
    assert table["Notes \\| internal"][1] == "ignore"
    assert "\\*Initech\\*" in table["Company name"][4]  # the file's text is shown, never rendered as markdown
    rejected = [line for line in text.splitlines() if line.startswith("- row ")]
    assert rejected == [
        "- row 2 (company\\_id): id conflict: company\\_id '1' also on row 1 with different values (kept row 1)"
    ]


def test_a_role_set_by_the_user_shows_in_place_of_the_detected_one(ws, write):
    toolkit.import_data(ws, customers=write("c.csv", CUSTOMERS))
    toolkit.set_field_roles(ws, {"industry": "ignore"})
    text = render_import_report(toolkit.inspect_workspace(ws))
    line = next(line for line in text.splitlines() if line.startswith("| Industry |"))
    assert cells(line)[2] == "ignore"


def test_the_demo_report_lists_every_file_and_the_links(built_demo):
    text = (built_demo.out / "import_report.md").read_text(encoding="utf-8")
    again = render_import_report(toolkit.inspect_workspace(built_demo.workspace()))
    assert text.split("\n", 3)[3] == again.split("\n", 3)[3]  # the same after the workspace's path (relative there)
    for kind, name in (
        ("customers", "customers.csv"),
        ("deals", "deals.csv"),
        ("contacts", "contacts.csv"),
        ("prospects", "prospects.csv"),
    ):
        assert f"## {kind}: {name}" in text
    assert "5,028 rows read, 5,000 kept, 3 rejected, 25 exact duplicates dropped" in text
    assert "## Links between files" in text and "Interview notes: 12." in text
