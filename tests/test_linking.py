"""Unit tests of icp_agent.ingest.linking: the link report of the current snapshots (deals and contacts to the
companies), served once per state of the imports, and check_links' stop or warning when too few link."""

from __future__ import annotations

import pytest

from icp_agent.errors import UserError
from icp_agent.ingest import links
from icp_agent.ingest.importer import import_file
from icp_agent.ingest.linking import check_links, link_report
from icp_agent.models import LinkReport
from icp_agent.workspace import Workspace

CUSTOMERS = "company_id,company_name,industry,arr\nc1,Acme,Software,100\nc2,Bolt,Retail,200\nc3,Crane,Software,300\n"
# three of four deals name a known company
DEALS = "deal_id,company_id,stage,amount\nd1,c1,Closed Won,10\nd2,c2,Closed Lost,20\nd3,c3,Closed Won,30\nd4,c9,Closed Won,40\n"
CONTACTS = "contact_id,company_id,email,job title\nk1,c1,a@acme.com,CFO\nk2,c2,b@bolt.io,CTO\n"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Workspace:
    folder = tmp_path_factory.mktemp("linking")
    ws = Workspace(folder / "ws.duckdb")
    for kind, text in (("customers", CUSTOMERS), ("deals", DEALS), ("contacts", CONTACTS)):
        (folder / f"{kind}.csv").write_text(text, encoding="utf-8")
        import_file(ws, folder / f"{kind}.csv", kind)
    return ws


def test_link_report(workspace):
    deals, contacts = link_report(workspace)
    assert (deals.kind, deals.linked_by, deals.rows, deals.linked, deals.unlinked) == ("deals", "company_id", 4, 3, 1)
    assert (contacts.kind, contacts.rows, contacts.linked) == ("contacts", 2, 2)


def test_each_caller_gets_its_own_copy(workspace):
    first = link_report(workspace)
    first[0].allowed_unlinked = True
    first[0].notes.append("changed by a caller")
    again = link_report(workspace)
    assert not again[0].allowed_unlinked and "changed by a caller" not in again[0].notes


def test_no_customers_no_links(ws, write):
    import_file(ws, write("deals.csv", DEALS), "deals")
    assert link_report(ws) == []


def _link(rows: int, linked: int, standalone: int = 0) -> LinkReport:
    return LinkReport(kind="deals", linked_by="company_id", rows=rows, linked=linked, standalone=standalone,
                      unlinked=rows - linked - standalone, cause="the ids differ")  # fmt: skip


def test_check_links_passes_when_more_than_half_link():
    assert links.MIN_LINKED_SHARE == 0.5
    assert check_links([_link(10, 10), _link(0, 0)], allow_unlinked=False) == []
    assert check_links([_link(10, 3, standalone=7)], allow_unlinked=False) == []  # own firmographics count
    assert len(check_links([_link(10, 6)], allow_unlinked=False)) == 1  # the 4 left: one warning, no stop


def test_check_links_stops_at_half_or_fewer():
    with pytest.raises(UserError, match="link to a company") as err:  # exactly half is not enough
        check_links([_link(10, 5)], allow_unlinked=False)
    assert "the ids differ" in str(err.value) and "--allow-unlinked" in err.value.hint


def test_check_links_with_allow_unlinked_marks_and_warns():
    report = _link(10, 2)
    [warning] = check_links([report], allow_unlinked=True)
    assert report.allowed_unlinked and report.unlinked == 8
    assert "were analysed without their company's fields" in warning


def test_check_links_counts_the_deals_linking_to_no_company_once():
    """More than half link, so the build goes on; the rest count in the overall rates but in no segment: one
    warning with how many and why (the screen no longer reports each of their blank fields)."""
    report = _link(10, 7)
    report.ambiguous, report.method = 2, "name"
    report.ambiguous_examples = [{"value": "Pinewerk AG", "key": "pinewerk", "rows": 2,
                                  "companies": ["Pinewerk Co.", "Pinewerk GmbH"]}]  # fmt: skip
    [warning] = check_links([report, _link(0, 0)], allow_unlinked=False)
    assert warning.startswith("3 of 10 deals (30%) link to no company and carry no company fields")
    assert "2 name a name several companies share (e.g. 'Pinewerk AG' fits Pinewerk Co. / Pinewerk GmbH)" in warning
    assert not report.allowed_unlinked
    contacts = _link(10, 7).model_copy(update={"kind": "contacts"})
    assert check_links([contacts, _link(10, 10)], allow_unlinked=False) == []  # contacts are no deal statistics


def test_a_chargebee_subscription_without_an_email_links_by_its_customer_company(tmp_path):
    # Chargebee's export: the customer's e-mail and company. One paid from a personal address, one has no e-mail:
    # kept (the company names the account) and linked by the company, the rest by the e-mail's domain
    (tmp_path / "accounts.csv").write_text(
        "Company,Website,Industry\nDorvane,dorvane.es,Retail\nKestrel Labs,kestrel.io,SaaS\n"
        "Morrow GmbH,morrow.de,SaaS\n",
        encoding="utf-8",
    )
    (tmp_path / "subs.csv").write_text(
        "Subscription Id,Customer Email,Customer Company,Status,Started At\n"
        "S1,a@dorvane.es,Dorvane,active,2024-01-01\nS2,b@kestrel.io,Kestrel Labs,active,2024-01-01\n"
        "S3,c@morrow.de,Morrow,cancelled,2024-01-01\nS4,x@outlook.com,Dorvane S.L.,active,2024-03-01\n"
        "S5,,MORROW GMBH,active,2024-02-01\n",
        encoding="utf-8",
    )
    ws = Workspace(tmp_path / "ws.duckdb")
    import_file(ws, tmp_path / "accounts.csv", "customers")
    import_file(ws, tmp_path / "subs.csv", "subscriptions")
    (report,) = [r for r in link_report(ws) if r.kind == "subscriptions"]
    assert (report.rows, report.linked, report.unlinked_accounts) == (5, 5, 0)
    assert report.linked_by == "domain, then company_name"
    assert report.tried == {"domain": 3, "company_name": 2}
