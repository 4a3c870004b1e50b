"""Buyer personas from contacts, whatever the CRM ties them to (personas/buyers.py).

The files are generated look-alikes of a CRM export (accounts, deals, contacts) in which finance companies win
most of their deals and employ the CFOs. CRMs differ in how a contact reaches a deal: by the deal's id on the
contact, by the contact's id on the deal, or (Zoho, Pipedrive exports without the deal's contact) not at all.
"""

from __future__ import annotations

import csv
import io
import random

import pytest

from icp_agent import toolkit
from icp_agent.personas.buyers import ROLE_UNKNOWN, ROLES
from icp_agent.tiers.criteria import criteria_sql, document_kinds
from icp_agent.workspace import Workspace

INDUSTRIES = ("Finance", "Retail", "Software", "Logistics", "Healthcare", "Media")
OTHER_TITLES = ("Office Manager", "IT Director", "Procurement Manager", "Head of Marketing")


def _csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def export(folder, *, contact_link: str = "none", roles: bool = False, titles: bool = True,
           contacts_at: str = "all", seed: int = 3) -> None:
    """Write Accounts.csv, Deals.csv, Contacts.csv into `folder`.

    Finance wins 75% of its deals, the rest 15%. Each account has two contacts: at finance accounts a CFO and
    a Controller, elsewhere two other titles. contact_link: "none" (contacts name only their account),
    "deal_id" (each contact names a deal of its account), "on_deal" (each deal names a contact by id).
    contacts_at: "all" accounts, or "non_finance" only (no contact at the ICP's accounts)."""
    rng = random.Random(seed)
    accounts, deals, contacts = [], [], []
    for i in range(360):
        industry = INDUSTRIES[i % len(INDUSTRIES)]
        name = f"Acct{i:04d} Ltd"
        accounts.append({"Account Name": name, "Industry": industry, "Employees": rng.randint(10, 900),
                         "Billing Country": rng.choice(("Germany", "France", "Spain"))})
        account_deals = []
        for _ in range(rng.randint(2, 3)):
            won = rng.random() < (0.75 if industry == "Finance" else 0.15)
            deal_id = f"D{len(deals) + 1:05d}"
            account_deals.append((deal_id, won))
            deals.append({"Deal Id": deal_id, "Deal Name": f"{name} deal", "Account Name": name,
                          "Stage": "Closed Won" if won else "Closed Lost", "Amount": rng.randint(5, 60) * 1000,
                          "Closing Date": f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"})
        if contacts_at == "non_finance" and industry == "Finance":
            continue
        titles_here = ("CFO", "Controller") if industry == "Finance" else rng.sample(OTHER_TITLES, 2)
        for j, title in enumerate(titles_here):
            contact_id = f"C{len(contacts) + 1:05d}"
            row = {"Contact Id": contact_id, "First Name": f"P{i}", "Last Name": f"L{j}", "Account Name": name}
            if titles:
                row["Title"] = title
            if roles:
                row["Buying Role"] = "Economic Buyer" if title == "CFO" else "Champion"
            deal_id, won = account_deals[j % len(account_deals)]
            if contact_link == "deal_id":
                row["Deal Id"] = deal_id
            elif contact_link == "on_deal" and j == 0:
                for deal in deals:
                    if deal["Account Name"] == name:
                        deal["Contact Id"] = contact_id
            contacts.append(row)
    if contact_link == "on_deal":
        for deal in deals:
            deal.setdefault("Contact Id", "")
    (folder / "Accounts.csv").write_text(_csv(accounts))
    (folder / "Deals.csv").write_text(_csv(deals))
    (folder / "Contacts.csv").write_text(_csv(contacts))


def _built(tmp_path, **kwargs):
    folder = tmp_path / "export"
    folder.mkdir()
    export(folder, **kwargs)
    ws = Workspace(tmp_path / "ws.duckdb")
    toolkit.import_data(ws, customers=folder / "Accounts.csv", deals=folder / "Deals.csv",
                        contacts=folder / "Contacts.csv")
    icp = toolkit.build_icp(ws)
    tier1 = next(t for t in icp.tiers if t.tier == 1)
    assert any("industry" in c.label and "Finance" in c.label for c in tier1.criteria), tier1.name
    return ws, icp, tier1


def test_contacts_not_tied_to_deals_come_from_the_tiers_won_accounts(tmp_path):
    """No deal id on the contact, no contact on the deal, no buying role (a Zoho export): the titles of the
    contacts at the tier's accounts with a won deal, said to be that, under a role that says it is unknown."""
    ws, icp, tier1 = _built(tmp_path)
    found = toolkit.get_persona_evidence(ws, tier1.segment, tier1.tier)
    assert found["source"] == "accounts with a won deal"
    assert list(found["roles"]) == [ROLE_UNKNOWN]
    summary = found["roles"][ROLE_UNKNOWN]
    # finance accounts with a won deal in Tier 1 each have one CFO and one Controller
    n_accounts = _count(ws, icp, tier1, "count(DISTINCT company_name)", "good")
    assert summary["n"] == 2 * n_accounts
    assert {t["value"]: t["n"] for t in summary["titles"]} == {"CFO": n_accounts, "Controller": n_accounts}
    item, = toolkit.get_evidence(ws, summary["evidence"]).items
    assert "accounts with a won deal (contacts are not tied to deals)" in item.statement
    assert "no buying role" in " ".join(found["notes"])
    # the drafted persona says the same, and the document shows it instead of five empty roles
    persona = [p for p in toolkit.get_icp(ws).personas if p.tier == tier1.tier and p.segment == tier1.segment]
    assert [p.role for p in persona] == [ROLE_UNKNOWN]
    assert persona[0].title_patterns[:2] == ["CFO", "Controller"]
    assert any(c.text.startswith(f"Contacts in {tier1.segment} Tier 1 (buying role not recorded): {summary['n']} "
                                 f"contacts at the tier's accounts with a won deal") for c in persona[0].claims)
    assert any("no buying role" in g for g in persona[0].gaps)


def test_contacts_on_won_deals_keep_their_buying_roles(tmp_path):
    """The contact names its deal and carries a buying role: the five roles, from the won deals only."""
    ws, icp, tier1 = _built(tmp_path, contact_link="deal_id", roles=True)
    found = toolkit.get_persona_evidence(ws, tier1.segment, tier1.tier)
    assert found["source"] == "won deals"
    assert list(found["roles"]) == list(ROLES)
    won_cfos = _count(ws, icp, tier1, "count(*)",
                      f"good AND deal_id IN (SELECT deal_id FROM {_table(ws, 'contacts')} WHERE job_title = 'CFO')")
    assert found["roles"]["economic buyer"]["n"] == won_cfos > 0
    assert found["roles"]["economic buyer"]["titles"][0]["value"] == "CFO"
    assert found["roles"]["blocker"] == {"n": 0}


def test_a_deal_naming_its_contact_ties_the_contact_to_it(tmp_path):
    """The deal carries its contact's id (Zoho's "Contact Name.id", a "Contact Id" column): won deals link."""
    ws, _, tier1 = _built(tmp_path, contact_link="on_deal")
    found = toolkit.get_persona_evidence(ws, tier1.segment, tier1.tier)
    assert found["source"] == "won deals"
    summary = found["roles"][ROLE_UNKNOWN]
    # only the first contact of each account is on its deals: the CFOs, none of the Controllers
    assert [t["value"] for t in summary["titles"]] == ["CFO"]


@pytest.mark.parametrize(("kwargs", "why"), [
    ({"contacts_at": "non_finance"}, "no contact works at one of ICP 1 Tier 1's accounts with a won deal"),
    ({"titles": False}, "the contacts file has no job title column"),
])
def test_no_persona_evidence_says_why(tmp_path, kwargs, why):
    ws, _, tier1 = _built(tmp_path, **kwargs)
    found = toolkit.get_persona_evidence(ws, tier1.segment, tier1.tier)
    assert why in found["why_none"]
    assert why in " ".join(found["notes"])
    assert all(summary == {"n": 0} for summary in found["roles"].values())
    gaps = [g for p in toolkit.get_icp(ws).personas if p.tier == tier1.tier for g in p.gaps]
    assert any(why in g for g in gaps)


def _count(ws: Workspace, icp, tier, what: str, where: str) -> int:
    """`what` over the tier's rows of the version's frame that also meet `where`."""
    with ws.read() as con:
        return con.execute(f"SELECT {what} FROM frame_{icp.id.replace('-', '_')} WHERE "
                           f"{criteria_sql(tier.criteria, document_kinds(icp))} AND {where}").fetchone()[0]


def _table(ws: Workspace, kind: str) -> str:
    with ws.read() as con:
        table = ws.current_table(con, kind)
    assert table
    return table
