"""Unit tests of icp_agent.ingest.roles: every field's role (the import's inference, deals' and customers'
merged, the user's overrides on top) and the stored field a user means by a name or a header."""

from __future__ import annotations

import shutil

import pytest

from icp_agent.ingest.importer import import_file
from icp_agent.ingest.roles import field_roles, resolve_field
from icp_agent.workspace import Workspace

CUSTOMERS = (
    "Record ID,Company Name,Industry,Is Active?,Churned,Owner\nc1,Acme,Software,yes,no,Ann\nc2,Bolt,Retail,no,yes,Bob\n"
)
DEALS = "deal_id,company_id,stage,amount,Lead Source\nd1,c1,Closed Won,10,Web\nd2,c2,Closed Lost,20,Event\n"


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Workspace:
    folder = tmp_path_factory.mktemp("roles")
    ws = Workspace(folder / "ws.duckdb")
    for kind, text in (("customers", CUSTOMERS), ("deals", DEALS)):
        (folder / f"{kind}.csv").write_text(text, encoding="utf-8")
        import_file(ws, folder / f"{kind}.csv", kind)
    return ws


@pytest.fixture
def workspace(template, tmp_path) -> Workspace:
    shutil.copy(template.path, tmp_path / "ws.duckdb")
    return Workspace(tmp_path / "ws.duckdb")


def test_field_roles_merge_deals_and_customers(workspace):
    roles = field_roles(workspace)
    assert roles["company_id"] == "id" and roles["industry"] == "fit" and roles["churned"] == "outcome"
    assert roles["owner"] == "ignore"  # a person's name
    assert "lead_source" in roles and "deal_stage" in roles  # the deals' fields too


def test_overrides_win(workspace):
    with workspace.transaction() as con:
        con.execute("INSERT INTO field_roles VALUES ('industry', 'ignore', now()), ('owner', 'fit', now())")
    roles = field_roles(workspace)
    assert (roles["industry"], roles["owner"]) == ("ignore", "fit")


def test_empty_workspace_has_no_roles(ws):
    assert field_roles(ws) == {}


@pytest.mark.parametrize(
    "name, field",
    [
        ("industry", "industry"),  # a field name as it is
        ("Is Active?", "is_active"),  # a header as written
        ("is active?", "is_active"),  # case-folded
        ("IsActive", "is_active"),  # punctuation and spaces ignored
        ("Record ID", "company_id"),
        ("Account ID", "company_id"),  # a synonym of a stored canonical field
        ("colour", "colour"),  # unknown: returned unchanged
    ],
)
def test_resolve_field(template, name, field):
    assert resolve_field(template, name) == field


def test_what_a_customer_bought_or_uses_defaults_to_post_sale(tmp_path):
    # a Recurly-style accounts file with Mixpanel usage columns: the plan, seats, licences, edition, pricing tier
    # and active users are known once someone is a customer, never on a prospect list (as the canonical plan);
    # the firmographics stay fit. A role in the mapping or set_field_roles still overrides these.
    header = "Account Code,Company,Industry,Employees,Plan,Seat Count,Licences,Edition,Pricing Tier,MAU,WAU,Country"
    rows = [
        f"a{i},Co {i},{('Retail', 'Software')[i % 2]},{20 + 10 * (i % 4)},{('Pro', 'Team')[i % 2]},{3 + i % 5},"
        f"{2 + i % 3},{('Plus', 'Enterprise')[i % 2]},{('Gold', 'Silver')[i % 2]},{40 + i % 7},{10 + i % 3},FR"
        for i in range(24)
    ]
    (tmp_path / "accounts.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    ws = Workspace(tmp_path / "ws.duckdb")
    import_file(ws, tmp_path / "accounts.csv", "customers")
    roles = field_roles(ws)
    bought = ("plan", "seat_count", "licences", "edition", "pricing_tier", "mau", "wau")
    assert {f: roles[f] for f in bought} == dict.fromkeys(bought, "post_sale")
    assert (roles["industry"], roles["employees"], roles["country"]) == ("fit", "fit", "fit")
