"""Unit and end-to-end tests of tiers/clusters.py.

Deals are not independent companies: a company's renewals must not make a trait, a real segment must stay found.

The data is generated with a known answer. 300 companies with 1-3 deals each; their win rate is their own (a
company's deals share its propensity). A real segment (industry = Robotics, 60 companies, 1-3 deals each) wins
far more often. A trait with no effect (city = Springfield) is held by 6 companies drawn like any other, 4 of
them with a dozen won renewals: a draw chance gives (4 or more of 6 when 40% of companies are loyal: p ~ 0.18),
which counted as 54 independent deals looks like a certainty.
"""

from __future__ import annotations

import csv

import numpy as np
import pytest
from scipy.stats import fisher_exact

from icp_agent import toolkit
from icp_agent.tiers.clusters import Clusters, _design_effect, intra_company_correlation
from icp_agent.workspace import Workspace

INDUSTRIES = ["Retail", "Banking", "Media", "Logistics", "Education"]
CITIES = ["Leeds", "Lyon", "Porto", "Graz", "Turin", "Ghent", "Malmo"]


def _write(tmp_path):
    rng = np.random.default_rng(7)
    companies, deals = [], []

    def company(name, industry, city, deal_count, propensity):
        domain = f"{name.lower().replace(' ', '')}.example"
        companies.append([name, domain, industry, int(rng.integers(20, 2000)), "United Kingdom", city])
        for _ in range(deal_count):
            stage = "Closed Won" if rng.random() < propensity else "Closed Lost"
            deals.append([f"D{len(deals) + 1:05d}", name, domain, stage, int(rng.integers(5, 80)) * 1000])

    for i in range(300):  # the population: 40% loyal companies (most deals won), the rest rarely won
        loyal = rng.random() < 0.4
        company(f"Acme {i}", INDUSTRIES[i % 5], CITIES[i % 7], int(rng.integers(1, 4)), 0.7 if loyal else 0.15)
    for i in range(60):  # the real segment, spread over many companies
        company(f"Robo {i}", "Robotics", CITIES[i % 7], int(rng.integers(1, 4)), 0.85)
    for i in range(6):  # no real effect: 4 loyal companies with a dozen renewals, 2 like the rest
        company(f"Spring {i}", INDUSTRIES[i % 5], "Springfield", 12 if i < 4 else 2, 1.0 if i < 4 else 0.15)
    rng.shuffle(deals)
    customers_csv, deals_csv = tmp_path / "accounts.csv", tmp_path / "opportunities.csv"
    with customers_csv.open("w", newline="") as f:
        csv.writer(f).writerows(
            [["Company name", "Company Domain Name", "Industry", "Number of Employees", "Country/Region", "City"]]
            + companies
        )
    with deals_csv.open("w", newline="") as f:
        csv.writer(f).writerows([["Opportunity ID", "Account Name", "Website", "Stage", "Amount"]] + deals)
    return customers_csv, deals_csv, deals


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("clusters")
    customers, deals_csv, deals = _write(tmp_path)
    ws = Workspace(tmp_path / "ws.duckdb")
    toolkit.import_data(ws, customers=customers, deals=deals_csv)
    return toolkit.build_icp(ws), deals


def test_the_renewals_would_fool_a_count_of_deals(built):
    """The test data can fail: counted as independent deals, Springfield is a near-certain trait."""
    _, deals = built
    spring = [d[3] == "Closed Won" for d in deals if d[1].startswith("Spring")]
    rest = [d[3] == "Closed Won" for d in deals if not d[1].startswith("Spring")]
    table = [[sum(spring), len(spring) - sum(spring)], [sum(rest), len(rest) - sum(rest)]]
    assert len(spring) == 52 and fisher_exact(table)[1] < 1e-10


def test_renewals_of_few_companies_make_no_tier_and_no_trait(built):
    icp, _ = built
    labels = [c.label for t in icp.tiers for c in t.criteria] + [c.label for p in icp.patterns for c in p.criteria]
    assert not any("Springfield" in label for label in labels)


def test_a_segment_spread_over_many_companies_is_found_with_its_companies(built):
    icp, deals = built
    tier1 = next(t for t in icp.tiers if t.tier == 1 and t.segment == "ICP 1")
    assert [c.label for c in tier1.criteria] == ["industry = Robotics"]
    robo = [d for d in deals if d[1].startswith("Robo")]
    assert tier1.metrics.n == len(robo) and tier1.metrics.companies == 60
    # icp.json says the company minimum and the companies behind the deals
    companies = len({d[1] for d in deals})
    assert icp.min_support.n_companies == companies == 366
    assert 10 <= icp.min_support.companies <= icp.min_support.rows
    assert f"from {companies:,} companies" in icp.min_support.reason
    robotics = next(p for p in icp.patterns if p.label == "industry = Robotics")
    assert robotics.companies == 60 and robotics.design_effect >= 1


def test_rao_scott_design_effect_by_hand():
    # 4 companies of 5 deals, each all won or all lost: p = 0.5, sum (y_j - p n_j)^2 = 4 * 2.5^2 = 25,
    # v = 4/3 * 25 / 20^2 = 1/12, d = 20 * v / 0.25 = 20/3 (5 deals per company, plus the small-m factor 4/3)
    assert _design_effect(np.array([5, 5, 5, 5]), np.array([5, 5, 0, 0])) == pytest.approx(20 / 3)
    # one deal per company: d = m / (m - 1), the small-sample factor alone
    assert _design_effect(np.ones(20, dtype=int), np.array([1] * 10 + [0] * 10)) == pytest.approx(20 / 19)
    # mixed outcomes within each company: floored at 1 (the adjustment never makes a test bolder)
    assert _design_effect(np.array([4, 4, 4, 4]), np.array([2, 2, 2, 2])) == 1.0
    assert _design_effect(np.array([6]), np.array([3])) == 6.0  # one company: one observation


def test_intra_company_correlation():
    # every company's deals share one outcome: rho = 1; each company split evenly: below chance, clipped to 0
    assert intra_company_correlation(np.array([5, 5, 5, 5]), np.array([5, 5, 0, 0])) == pytest.approx(1.0)
    assert intra_company_correlation(np.array([4, 4, 4, 4]), np.array([2, 2, 2, 2])) == 0.0
    assert intra_company_correlation(np.ones(10, dtype=int), np.array([1] * 5 + [0] * 5)) == 0.0  # no repeats
    # two companies of 2 deals (2 won; 1 won) and two of 2 (0 won; 1 won): MSB = 1/3, MSW = 1/4, n0 = 2
    assert intra_company_correlation(np.array([2, 2, 2, 2]), np.array([2, 1, 0, 1])) == pytest.approx(1 / 7)


def test_adjusted_pvalues_penalise_repeated_companies_only():
    # 40 rows: rows 0-9 are one company with every deal won, the other 30 are companies of their own
    target = np.array([True] * 10 + [True, False, False] * 10)
    codes = np.array([0] * 10 + list(range(1, 31)))
    clusters = Clusters(codes=codes, count=31)
    assert clusters.repeated and clusters.companies(np.arange(40) < 12) == 3
    p, effects = clusters.adjusted_pvalues([np.arange(40) < 10], target)
    # all won, so Rao-Scott's own estimate is undefined; the data's correlation (rho = 1 here) gives 1 + 9 * 1
    assert effects[0] == pytest.approx(10.0) and p[0] > 0.05  # a single company is one observation
    assert fisher_exact([[10, 0], [10, 20]])[1] < 0.001  # while the deal count says otherwise
    independent = Clusters(codes=np.arange(40), count=40)
    p_ind, effects_ind = independent.adjusted_pvalues([np.arange(40) < 10], target)
    assert effects_ind[0] == 1.0 and p_ind[0] < 0.001


def test_min_companies_is_the_deal_minimum_at_the_mean_deals_per_company():
    from icp_agent.tiers.analyse import AnalysisConfig
    from icp_agent.tiers.support import min_companies, min_support_note
    from tiers_data import won_lost_health

    config = AnalysisConfig()
    # one deal per company: the same minimum as the deals'
    assert min_companies(35, 2739, 2739) == 35
    # 1,401 companies behind 2,739 deals (1.96 each): 35 deals are ceil(35 x 1401 / 2739) = 18 companies' worth
    assert min_companies(35, 1401, 2739) == 18
    # at least 10, never above the deals' minimum
    assert min_companies(35, 300, 2739) == 10 and min_companies(12, 300, 2739) == 10
    assert min_companies(8, 300, 2739) == 8
    note = min_support_note(35, config, won_lost_health(2739, 1243, 1496), 2739, 1243, 1496, companies=(30, 1401))
    assert (note["companies"], note["n_companies"]) == (30, 1401)
    assert "at least 30 distinct companies" in note["reason"] and "from 1,401 companies (2.0 each)" in note["reason"]


def test_a_tier_resting_on_few_companies_is_flagged():
    from icp_agent.tiers.support import few_companies_flag

    assert few_companies_flag(51, 13, 30) == (
        "few companies: its 51 deals are from 13 companies (a pattern needs 30); one company's repeat deals "
        "weigh heavily in its figures"
    )
    assert few_companies_flag(51, 30, 30) is None and few_companies_flag(51, None, 30) is None
    assert few_companies_flag(0, 0, 30) is None
