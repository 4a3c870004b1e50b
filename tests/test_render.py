"""The ICP document: every section present, every cited id in the appendix, offline HTML, escaping, charts."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone
from html.parser import HTMLParser
from typing import Any

import pytest

from icp_agent.evidence import EvidenceItem
from icp_agent.icp_document import (
    Criterion,
    DatasetInfo,
    Disqualifier,
    HealthSummary,
    IcpDocument,
    PatternStat,
    RetentionCurve,
    Scorecard,
    Tier,
    Validation,
)
from icp_agent.render import charts
from icp_agent.render.document import blocks, render_html, render_markdown
from icp_agent.render.templating import fence, md, metric_items, metric_notes, pval

EVIL = '<script>alert(1)</script> & "Co"'


class Evidence:
    """A tiny ledger for the fixture: ids derived from kind and key like the real one."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, kind: str, key: str, statement: str, metrics: dict[str, Any], n: int | None = None,
            query: str | None = "SELECT count(*) FROM frame") -> str:
        item_id = "E" + hashlib.sha256(f"{kind}|{key}".encode()).hexdigest()[:8]
        self.items.append({"id": item_id, "kind": kind, "statement": statement, "metrics": metrics, "n": n,
                           "query": query})
        return item_id


def crit(field: str, label: str, **kwargs) -> Criterion:
    return Criterion(field=field, op=kwargs.pop("op", "eq"), label=label, **kwargs)


def km(n: int, monthly_churn: float, months: int = 36) -> list[tuple[float, float]]:
    return [(float(m), round((1 - monthly_churn) ** m, 4)) for m in range(1, months + 1, 2)]


def make_icp(evil: str | None = None) -> IcpDocument:
    """A realistic ICP: two segments, tiers 1-3, two disqualifiers, ten patterns, KM curves, personas,
    a scorecard and a validation. `evil` replaces one criterion label and one evidence statement."""
    ev = Evidence()
    weights = {"retention": 0.4, "nrr": 0.4, "support": 0.2}
    health_id = ev.add("health_definition", "health",
                       "Good is defined as: a 0-100 health score from retention, NRR, support burden; good = top 20%. "
                       "1,200 customers were scored: 240 good and 240 bad; 87 customers younger than 6 months were "
                       "left out of retention.",
                       {"n": 1200, "n_good": 240, "n_bad": 240, "censored": 87, "weights": weights}, n=1200,
                       query="CREATE TABLE frame AS SELECT ... -- health ```fenced``` inside")
    cohort_metrics = {"top": {"n": 240, "health_mean": 88.2, "churn_rate": 0.021, "nrr_median": 1.18},
                      "middle": {"n": 720, "health_mean": 52.4, "churn_rate": 0.094, "nrr_median": 1.01},
                      "bottom": {"n": 240, "health_mean": 14.9, "churn_rate": 0.412, "nrr_median": 0.84}}
    cohort_ids = [ev.add("cohort", f"health:{c}", f"Cohort {c}: {m['n']} customers, churn "
                         f"{100 * m['churn_rate']:.1f}%.", m, n=m["n"]) for c, m in cohort_metrics.items()]
    health = HealthSummary(
        definition="health", entity="customer", description="a 0-100 health score from retention, NRR and support "
        "burden (weights retention 0.4, nrr 0.4, support 0.2); good = top 20%, bad = bottom 20%", n=1200, n_good=240,
        n_bad=240, components=list(weights), weights=weights, censored=87, min_tenure_months=6, as_of="2026-10-31",
        cohort_sizes={c: m["n"] for c, m in cohort_metrics.items()}, cohort_metrics=cohort_metrics,
        histogram={"top": [0, 0, 0, 0, 0, 0, 0, 31, 118, 91], "middle": [0, 0, 0, 42, 188, 236, 207, 47, 0, 0],
                   "bottom": [39, 96, 88, 17, 0, 0, 0, 0, 0, 0]},
        evidence=[health_id, *cohort_ids])

    specs = [  # direction, label, criteria, n, k, base
        ("good", "industry = Computer Software AND employees 51-200",
         [crit("industry", "industry = Computer Software"), crit("employees", "employees 51-200", op="between",
                                                                  min=51, max=200)], 180, 97, 0.2),
        ("good", "industry = Computer Software", [crit("industry", "industry = Computer Software")], 330, 131, 0.2),
        ("good", "uses Salesforce AND region = North America",
         [crit("technologies", "uses Salesforce", op="contains", value="Salesforce"),
          crit("region", "region = North America")], 150, 71, 0.2),
        ("good", "uses Salesforce", [crit("technologies", "uses Salesforce", op="contains", value="Salesforce")],
         420, 128, 0.2),
        ("good", "lead source = Referral", [crit("lead_source", "lead source = Referral")], 140, 44, 0.2),
        ("good", "industry = Computer & Network Security \"Tier-A\"",
         [crit("industry", "industry = Computer & Network Security \"Tier-A\"")], 60, 19, 0.2),
        ("bad", "employees <50 AND lead source = Paid Social",
         [crit("employees", "employees <50", op="lte", max=50), crit("lead_source", "lead source = Paid Social")],
         110, 69, 0.2),
        ("bad", "industry = Retail", [crit("industry", "industry = Retail")], 160, 78, 0.2),
        ("bad", "employees <50", [crit("employees", "employees <50", op="lte", max=50)], 300, 103, 0.2),
        ("bad", "region = APAC", [crit("region", "region = APAC")], 90, 24, 0.2),
    ]
    patterns = []
    for i, (direction, label, criteria, n, k, base) in enumerate(specs):
        rate = k / n
        low, high = rate - 1.96 * (rate * (1 - rate) / n) ** 0.5, rate + 1.96 * (rate * (1 - rate) / n) ** 0.5
        p = 10 ** -(12 - i) if i < 8 else 0.004 * i
        eid = ev.add("pattern", f"{direction}|{label}", f"{label}: {k} of {n} customers ({100 * rate:.1f}%) are in the "
                     f"{'top' if direction == 'good' else 'bottom'} 20% vs {100 * base:.1f}% overall.",
                     {"n": n, "k": k, "rate": rate, "base_rate": base, "lift": rate / base, "ci_low": low,
                      "ci_high": high, "p_value": p, "q_value": min(1.0, p * 30), "direction": direction}, n=n,
                     query=f"SELECT count(*) AS n FROM frame WHERE {label!r} -- pattern {i}")
        patterns.append(PatternStat(direction=direction, label=label, criteria=criteria, n=n, k=k, rate=rate,
                                    base_rate=base, lift=rate / base, wracc=n / 1200 * (rate - base), ci_low=low,
                                    ci_high=high, p_value=p, q_value=min(1.0, p * 30), evidence=eid))

    def tier(segment: str, number: int, criteria: list[Criterion], metrics: dict[str, Any],
             flags: list[str] | None = None) -> Tier:
        name = f"{segment} Tier {number}: " + " AND ".join(c.label for c in criteria)
        eid = ev.add("tier", f"health|{name}", f"{name}: {metrics['n']} customers.", metrics, n=metrics["n"])
        return Tier(tier=number, segment=segment, name=name, criteria=criteria, metrics=metrics, flags=flags or [],
                    evidence=[eid])

    software = patterns[0].criteria
    sf_na = patterns[2].criteria
    tiers = [
        tier("ICP 1", 1, software, {"n": 180, "n_good": 97, "n_bad": 6, "health_mean": 78.5, "churn_rate": 0.031,
                                    "nrr_median": 1.22, "cac_median": 8400.0, "ltv_cac": 5.1, "share": 0.15,
                                    "good_rate": 0.539, "win_rate": 0.41, "win_rate_n": 212}),
        tier("ICP 1", 2, software[:1], {"n": 150, "n_good": 34, "n_bad": 19, "health_mean": 61.0, "churn_rate": 0.07,
                                        "nrr_median": 1.08, "share": 0.125, "ltv_cac": 3.2, "win_rate": 0.29,
                                        "win_rate_n": 160}),
        tier("ICP 1", 3, software[1:], {"n": 410, "n_good": 70, "n_bad": 80, "health_mean": 50.2, "churn_rate": 0.11,
                                        "share": 0.62, "win_rate": 0.22, "win_rate_n": 390},
             ["too broad: matches 62% of customers (over 50%)"]),
        tier("ICP 2", 1, sf_na, {"n": 150, "n_good": 71, "n_bad": 9, "health_mean": 74.0, "churn_rate": 0.04,
                                 "nrr_median": 1.15, "share": 0.125, "ltv_cac": 4.4}),
        tier("ICP 2", 2, sf_na[:1], {"n": 8, "n_good": 2, "n_bad": 1, "health_mean": 58.0, "share": 0.007},
             ["too narrow: 8 customers, too few to act on"]),
    ]
    if evil:
        tiers[0].criteria[0] = crit("company_name", evil)
        ev.items[0]["statement"] = evil + " " + ev.items[0]["statement"]
    negative = []
    for p, rationale in ((patterns[6], "Small companies from paid social churn early"), (patterns[7], None)):
        negative.append(Disqualifier(
            criteria=p.criteria, reason=f"{100 * p.rate:.0f}% of these customers are in the bottom 20% vs 20% overall "
            f"({p.lift:.1f}x, n={p.n}, q={p.q_value:.2g})",
            metrics={"n": p.n, "k": p.k, "rate": p.rate, "base_rate": p.base_rate, "lift": p.lift, "ci_low": p.ci_low,
                     "ci_high": p.ci_high, "p_value": p.p_value, "q_value": p.q_value},
            evidence=[p.evidence], rationale=rationale and f"{rationale} ({p.evidence})."))
    retention = []
    for group, kind, n, churn in (("top", "cohort", 240, 0.002), ("middle", "cohort", 720, 0.008),
                                  ("bottom", "cohort", 240, 0.03), (tiers[0].name, "tier", 180, 0.003),
                                  (tiers[3].name, "tier", 150, 0.004)):
        points = km(n, churn)
        events = int(n * churn * 20)
        eid = ev.add("retention_curve", f"{kind}|{group}", f"Retention of {group}.", {"n": n, "events": events}, n=n)
        retention.append(RetentionCurve(group=group, kind=kind, n=n, events=events, points=points, evidence=eid))
    personas = [
        {"segment": "ICP 1", "tier": 1, "tier_name": "ICP 1 Tier 1", "role": "champion",
         "title_patterns": ["Head of Revenue Operations", "RevOps Manager"],
         "claims": [{"section": "who", "text": "Signed 38% of won deals in this tier.",
                     "evidence": [tiers[0].evidence[0]]},
                    {"section": "pains", "evidence": [patterns[3].evidence],
                     "text": f"Interviews name Salesforce hygiene as the pain ({patterns[3].evidence})."}],
         "gaps": ["no interview evidence on objections yet"], "drafter": "offline-templates", "model": None},
        {"tier": "ICP 1 Tier 1", "role": "Economic buyer: CFO", "drafter": "offline-templates", "seniority": "C-level",
         "claims": [{"text": "Approves deals above 20k ACV.", "evidence": [tiers[0].evidence[0]]}]},
    ]
    scorecard = make_scorecard(ev.add("scorecard", "scorecard", "Lead scorecard: 8 bins over 4 attributes.",
                                      {"n": 1200, "auc": 0.78}, n=1200))
    quote = ev.add("interview_quote", "note-1|Not at our size", "Not at our size. The question was compliance.",
                   {"file": "acme-cfo.md", "company": "Acme", "speaker": "Dana, CFO", "tier": "ICP 1 Tier 1",
                    "question": "Was price a concern?"}, query="interview note acme-cfo.md")
    personas[1]["claims"].append({"section": "goals", "text": 'Dana, CFO at Acme said: "Not at our size. The '
                                  'question was compliance."', "evidence": [quote]})
    validation = make_validation(tiers, ev)
    return IcpDocument(
        id="icp-20261101120000000000-ab12cd", created_at=datetime(2026, 11, 1, 12, tzinfo=timezone.utc), status="ok",
        dataset=DatasetInfo(fingerprint="ab12cd34ef56ab78", imports=[
            {"kind": "customers", "file_name": "customers.csv", "rows": 1287, "sha256": "0" * 64},
            {"kind": "deals", "file_name": "deals.csv", "rows": 4120, "sha256": "1" * 64}]),
        health=health, statement="ICP: ICP 1: companies with industry = Computer Software and employees 51-200; "
        "ICP 2: companies with uses Salesforce and region = North America. We deliberately exclude: employees <50 and "
        "lead source = Paid Social; industry = Retail.", tiers=tiers, negative_icp=negative, patterns=patterns,
        retention=retention, personas=personas, scorecard=scorecard, validation=validation,
        warnings=[f"{t.name}: {f}" for t in tiers for f in t.flags], evidence=ev.items)


def make_scorecard(evidence: str) -> dict[str, Any]:
    """The scorecard's shape as analysis/scorecard.py writes it: features of bins (a `when` criterion, a label,
    n, n_good, WoE, points), a pooled "other" bin, a money attribute, a neutral and an empty missing bin."""
    cities = ["Amsterdam", "Austin", "Barcelona", "London", "Miami", "New York", "Oslo"]

    def b(when: dict, label: str, n: int, good: int, woe: float, points: int, **extra) -> dict:
        return {"when": when, "label": label, "n": n, "n_good": good, "woe": woe, "points": points, **extra}

    features = [
        {"name": "industry", "field": "industry", "kind": "category", "iv": 0.61, "coefficient": 0.84, "bins": [
            b({"field": "industry", "op": "in", "values": ["Retail"]}, "industry Retail", 160, 9, -1.4, -38),
            b({"field": "industry", "op": "in", "values": ["Insurance", "Banking"]}, "industry Insurance, Banking",
              400, 70, -0.2, -4),
            b({"field": "industry", "op": "in", "values": ["Computer Software"]}, "industry Computer Software", 330,
              131, 0.9, 27),
            b({"field": "industry", "op": "is_missing"}, "industry missing", 0, 0, 0.0, 0, missing=True,
              neutral="fewer than 250 rows with industry missing: scored as average")]},
        {"name": "city", "field": "city", "kind": "category", "iv": 0.03, "coefficient": 0.5, "bins": [
            b({"field": "city", "op": "in", "values": cities}, "city Miami, other (rare values)", 700, 120, -0.1, -2,
              other=True),
            b({"field": "city", "op": "in", "values": ["Boston"]}, "city Boston", 500, 120, 0.1, 2)]},
        {"name": "annual_revenue", "field": "annual_revenue", "kind": "number", "iv": 0.3, "coefficient": 0.7, "bins": [
            b({"field": "annual_revenue", "op": "lte", "max": 1994000, "max_exclusive": True},
              "annual revenue up to $1.99M", 300, 20, -1.2, -15),
            b({"field": "annual_revenue", "op": "between", "min": 7673000, "max": 50899000, "max_exclusive": True},
              "annual revenue $7.67M-$50.9M", 800, 190, 0.2, 2),
            b({"field": "annual_revenue", "op": "is_missing"}, "annual revenue missing", 100, 30, 0.0, 0,
              missing=True, neutral="fewer than 250 rows with annual revenue missing: scored as average")]},
        {"name": "technologies: Salesforce", "field": "technologies", "kind": "list", "iv": 0.28, "coefficient": 1.0,
         "bins": [b({"field": "technologies", "op": "contains", "value": "Salesforce"},
                    "technologies contains Salesforce", 420, 128, 0.6, 10),
                  b({"field": "technologies", "op": "not_contains", "value": "Salesforce"},
                    "technologies without Salesforce", 780, 112, -0.6, -10)]},
    ]
    deciles = [{"decile": d, "n": 30, "n_good": good, "good_rate": good / 30, "predicted": predicted}
               for d, good, predicted in ((1, 17, 0.56), (2, 12, 0.40), (3, 3, 0.35), (4, 2, 0.25), (5, 0, 0.01))]
    return {"status": "ok", "n": 1200, "n_good": 240, "method": "WoE binning + L2 logistic regression",
            "field_kinds": {"industry": "category", "city": "category", "annual_revenue": "number",
                            "technologies": "list"},
            "scaling": {"pdo": 20, "base_points": 600, "base_odds": 0.25, "factor": 28.85, "offset": 640.07},
            "intercept_points": 600, "features": features,
            "bands": [{"priority": "high", "min_score": 70, "n": 300, "share": 0.25, "n_good": 150, "good_rate": 0.5,
                       "holdout_good_rate": 0.39},
                      {"priority": "low", "min_score": 0, "n": 900, "share": 0.75, "n_good": 90, "good_rate": 0.1,
                       "holdout_good_rate": 0.04}],
            "evaluation": {"status": "ok", "auc": 0.78, "deciles": deciles},
            "warnings": ["industry separates good from not-good suspiciously well (information value 0.61)"],
            "evidence": evidence}


def make_validation(tiers: list[Tier], ev: Evidence) -> dict[str, Any]:
    """validation as analysis/validate.py writes it: comparisons, targets met / not met / not measurable, market."""
    cac = ev.add("validation", "cac", "Tier 1 CAC vs non-ICP.", {"n": 330})
    nrr = ev.add("validation", "nrr", "Tier 1 NRR vs non-ICP.", {"n": 330})
    market = ev.add("market", "t1", "Tier 1 prospects.", {"n": 900})
    return {
        "unit_economics": {
            "comparisons": {"cac": {"icp": {"n": 330, "mean": 37773.4, "ci_low": 35041.6, "ci_high": 40505.3},
                                    "non_icp": {"n": 870, "mean": 17552.3, "ci_low": 17102.2, "ci_high": 18002.4}},
                            "nrr": {"icp": {"n": 330, "mean": 1.27, "ci_low": 1.26, "ci_high": 1.29},
                                    "non_icp": {"n": 870, "mean": 1.02, "ci_low": 1.01, "ci_high": 1.02}}},
            "targets": [{"metric": "win_rate", "target": "Tier 1 win rate at least 2x non-ICP",
                         "status": "not measurable", "reason": "lost deals carry no technologies"},
                        {"metric": "cac", "target": "Tier 1 CAC at least 30% lower", "status": "not met",
                         "icp": 37773.4, "non_icp": 17552.3, "ratio": 2.152, "evidence": cac},
                        {"metric": "nrr", "target": "Tier 1 NRR at least 20% higher", "status": "met",
                         "icp": 1.27, "non_icp": 1.02, "ratio": 1.245, "evidence": nrr}]},
        "market": {"tiers": [{"tier": tiers[0].name, "prospects": 900, "share": 0.18, "customers": 180,
                              "penetration": 0.167, "evidence": market}], "prospects": 5000, "warnings": []}}


def make_no_icp() -> IcpDocument:
    base = make_icp()
    ev = Evidence()
    reason = ("No significant ICP in this data: the strongest trait, region = APAC, has 26.7% good vs 20.0% overall "
              "(lift 1.33, n=90, p=0.036) but q=0.41 after correcting for every pattern tested.")
    ev.add("no_significant_icp", "health", reason, {"n": 1200, "base_rate": 0.2, "detectable_rate": 0.31})
    evidence = [e for e in base.evidence if e.kind in ("health_definition", "cohort")] + \
        [EvidenceItem.model_validate(i) for i in ev.items]
    return base.model_copy(update={"status": "no_significant_icp", "statement": reason, "no_icp_reason": reason,
                                   "tiers": [], "negative_icp": [], "patterns": [], "retention": [], "personas": [],
                                   "scorecard": None, "validation": None, "warnings": [], "evidence": evidence})


class Page(HTMLParser):
    """Collects what the offline and citation checks need: ids, links, sources, svg and script tags."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.hrefs: list[str] = []
        self.sources: list[str] = []
        self.tags: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(values["id"])
        for name in ("href", "xlink:href"):
            if values.get(name) is not None:
                self.hrefs.append(values[name])
        for name in ("src", "srcset", "data", "poster", "action"):
            if values.get(name) is not None:
                self.sources.append(values[name])
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


def appendix_md(markdown: str) -> str:
    return markdown.split("## Appendix: evidence", 1)[1]


@pytest.fixture(scope="module")
def icp() -> IcpDocument:
    return make_icp()


def test_markdown_has_every_section_and_every_evidence_id(icp):
    text = render_markdown(icp)
    for heading in ("# Ideal Customer Profile", "## Summary", "## How a good customer was defined",
                    "### Health score distribution", "## Traits that over-index", "## ICP tiers",
                    "## Negative ICP: who to avoid", "## Retention", "## Buyer personas", "## Lead scorecard",
                    "## Validation", "## Warnings", "## Appendix: evidence"):
        assert f"\n{heading}\n" in "\n" + text, heading
    appendix = appendix_md(text)
    for item in icp.evidence:
        assert f"\n### {item.id}\n" in appendix
    body = text.split("## Appendix: evidence", 1)[0]
    cited = set(re.findall(r"\]\(#(e[0-9a-f]{8})\)", body))
    assert cited and cited <= {e.id.lower() for e in icp.evidence}
    assert "87 customers younger than 6 months were left out of retention" in text
    assert "too broad: matches 62%" in text and "too narrow" in text
    assert "Drafted by the offline-templates drafter" in text
    assert "### ICP 1 Tier 1\n\n#### Champion\n" in text and "**Pains**" in text and "Gaps: no interview" in text


def test_markdown_formats_numbers_and_fences_queries(icp):
    text = render_markdown(icp)
    p = icp.patterns[0]
    row = next(line for line in text.splitlines() if line.startswith(f"| {p.label} |"))
    assert f"| {100 * p.rate:.1f}% | 20.0% | {p.lift:.2f} |" in row
    assert "1.0e-12" in row and p.evidence in row
    assert "````sql\nCREATE TABLE frame AS SELECT ... -- health ```fenced``` inside\n````" in text
    assert "employees <50" in text  # a comparison stays readable ...
    assert md("<script>x</script>") == "&lt;script>x&lt;/script>"  # ... a tag does not survive


def test_markdown_without_icp_says_so():
    text = render_markdown(make_no_icp())
    assert "**No significant ICP in this data.**" in text
    assert "q=0.41 after correcting" in text
    assert "## Negative ICP" in text and "## Lead scorecard" not in text and "## Validation" not in text
    for item in make_no_icp().evidence:
        assert f"### {item.id}" in text


def test_html_is_offline_and_every_citation_resolves(icp):
    html = render_html(icp)
    page = parse(html)
    assert all(h.startswith("#") for h in page.hrefs), [h for h in page.hrefs if not h.startswith("#")]
    assert not page.sources and "script" not in page.tags
    assert not re.search(r"url\(|@import|https?://(?!www\.w3\.org/2000/svg\")", html)
    cited = {h[1:] for h in page.hrefs}
    assert cited - page.ids == set()
    assert {e.id for e in icp.evidence} <= page.ids
    assert {p.evidence for p in icp.patterns} <= cited
    assert {i for t in icp.tiers for i in t.evidence} <= cited


def test_html_has_a_chart_per_figure(icp):
    html = render_html(icp)
    ids = ("chart-health", "chart-lift", "chart-tiers", "chart-retention-cohort", "chart-retention-tier",
           "chart-scorecard", "chart-targets", "chart-market")
    for chart_id in ids:
        assert re.search(rf'<svg [^>]*id="{chart_id}"', html), chart_id
    assert html.count("<title id=") == len(ids)
    assert "<details" in html and "No significant ICP" not in html


def test_html_escapes_data():
    evil = make_icp(EVIL)
    html = render_html(evil)
    assert "<script>" not in html and "alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;Co&#34;" in html or \
           "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Co&quot;" in html
    assert "script" not in parse(html).tags
    text = render_markdown(evil)
    assert "<script>" not in text and "&lt;script>alert(1)&lt;/script>" in text


def test_html_without_icp_is_prominent():
    html = render_html(make_no_icp())
    page = parse(html)
    assert "No significant ICP in this data" in html
    assert {h[1:] for h in page.hrefs} <= page.ids
    assert 'id="chart-health"' in html and 'id="chart-lift"' not in html


def test_charts_handle_empty_input(icp):
    empty_health = icp.health.model_copy(update={"histogram": {}, "cohort_sizes": {}})
    for svg in (charts.health_histogram(empty_health), charts.lift_chart([]), charts.tier_chart([]),
                charts.retention_chart([]),
                charts.retention_chart([c for c in icp.retention if c.kind == "cohort"], "tier")):
        assert svg.startswith("<svg") and "<title" in svg and "No data" in svg
        parse(svg)


def test_charts_escape_and_scale(icp):
    evil = icp.patterns[0].model_copy(update={"label": EVIL})
    svg = charts.lift_chart([evil])
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    page = parse(svg)
    assert page.tags.count("svg") == 1 and "title" in page.tags
    numbers = [float(v) for v in re.findall(r'\b[xy][12]?="(-?[\d.]+)"', charts.lift_chart(icp.patterns))]
    assert numbers and min(numbers) >= 0 and max(numbers) <= charts.WIDTH


def test_generic_blocks_make_tables():
    made = blocks({"model": "points", "points": [{"criterion": "a", "points": 3, "evidence": "Eabcdef12"}],
                   "economics": {"icp": {"win_rate": 0.3}, "non_icp": {"win_rate": 0.1}},
                   "holdout": {"auc": 0.7, "churn_evidence": "E12345678", "split": {"train": 10}}})
    assert [(b.kind, b.title) for b in made] == [
        ("pairs", ""), ("table", "points"), ("heading", "economics"), ("table", ""), ("heading", "holdout"),
        ("pairs", ""), ("heading", "split"), ("pairs", "")]
    assert made[1].columns == ["criterion", "points", "evidence"] and made[1].rows[0][-1].cites == ["Eabcdef12"]
    assert [c.text for c in made[3].rows[0]] == ["ICP", "30.0%"] and made[3].numeric(1)
    assert made[5].rows[1][1].cites == ["E12345678"]
    unlike = blocks({"thresholds": {"A": 70, "B": 40}, "holdout": {"auc": 0.74}})
    assert [(b.kind, b.title) for b in unlike] == [("heading", "thresholds"), ("pairs", ""), ("heading", "holdout"),
                                                   ("pairs", "")]


def test_intervals_follow_what_they_bound():
    rate = {"n": 10, "rate": 0.5, "ci_low": 0.2, "ci_high": 0.8}
    mean = {"n": 10, "mean": 37773.4, "ci_low": 35041.6, "ci_high": 40505.3}
    assert ("95% CI", "20.0%–80.0%") in metric_items(rate)
    assert ("95% CI", "35,042–40,505") in metric_items(mean)
    assert metric_notes({"n": 3, "win_rate_note": "not measurable"}) == [("win rate", "not measurable")]


def test_number_formats():
    assert pval(0.0004) == "4.0e-4" and pval(0.0123) == "0.012" and pval(None) == "—"
    assert metric_items({"win_rate": 0.41, "win_rate_n": 212, "n": 180, "ci_low": 0.1, "ci_high": 0.2}) == [
        ("n", "180"), ("win rate (212 deals)", "41.0%"), ("95% CI", "10.0%–20.0%")]
    assert fence("a ```` b") == "`````"


# --- issue 11: a report a marketer reads to the end ----------------------------------------------------------------

def section_md(text: str, heading: str) -> str:
    """The markdown between `## heading` and the next level-2 heading."""
    return text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def table_rows_md(section: str) -> list[list[str]]:
    lines = [line for line in section.splitlines() if line.startswith("|")]
    return [[c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]] for line in lines[2:] if "---" not in line]


def test_scorecard_section_is_one_points_table(icp):
    bins = [b for f in icp.scorecard.features for b in f.bins if b.n]
    text = render_markdown(icp)
    section = section_md(text, "Lead scorecard")
    tables = [t for t in section.split("\n\n") if t.lstrip().startswith("| attribute | value band")]
    assert len(tables) == 1
    rows = table_rows_md(tables[0])
    assert len(rows) == len(bins) == 10  # one row per bin that holds a row; the empty "industry missing" is left out
    for row in rows:
        assert not any(mark in cell for cell in row for mark in ("{", "'field':", "when", "woe", "iv")), row
    assert ["city", "other: Amsterdam, Austin, Barcelona and 4 more", "-2", "17.1%", "700"] in rows
    assert ["annual revenue", "up to \\$1.99M", "-15", "6.7%", "300"] in rows
    assert ["", "contains Salesforce", "+10", "30.5%", "420"] not in rows  # its own attribute, not under another
    assert ["technologies: Salesforce", "contains Salesforce", "+10", "30.5%", "420"] in rows
    assert "counted as average" in section  # the neutral missing bin says why it scores 0
    assert "pdo" not in section.lower() and "offset" not in section.lower()  # internals live in the appendix
    appendix = section_md(text, "Appendix: lead scorecard internals")
    assert "| pdo | 20 |" in appendix and "WoE" in appendix and "covers Amsterdam, Austin" in appendix

    html = render_html(icp)
    points = html.split('<table class="points">', 1)[1].split("</table>", 1)[0]
    cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", points.split("<tbody>", 1)[1], flags=re.S)
    assert points.count("<tr") == 1 + len(bins)  # the head row and one row per bin
    assert not any("{" in c or "&#39;field&#39;" in c or "woe" in c.lower() for c in cells)
    assert re.search(r'<svg [^>]*id="chart-scorecard"', html)


def test_money_carries_the_imports_currency(icp):
    extra = icp.patterns[0].model_copy(update={
        "label": "annual revenue $10M-$50M", "criteria": [crit("annual_revenue", "annual revenue $10M-$50M",
                                                                op="between", min=1e7, max=5e7, kind="number")]})
    rich = icp.model_copy(update={"patterns": [*icp.patterns, extra]})
    euro = render_markdown(rich, {"annual_revenue": "EUR", "cac": "EUR", "": "EUR"})
    assert "annual revenue €10M-€50M" in euro and "up to €1.99M" in euro and "€37,773" in euro
    assert "\\$1.99M" not in euro and "\\$10M" not in euro and "\\$37,773" not in euro
    pound = render_html(rich, {"annual_revenue": "GBP"})  # the other money fields follow no known currency: $
    assert "annual revenue £10M-£50M" in pound and "£7.67M-£50.9M" in pound and "$37,773" in pound
    assert "annual revenue $10M-$50M" in render_html(rich)  # USD or unknown: the dollar
    assert "up to CHF 1.99M" in render_markdown(rich, {"annual_revenue": "CHF"})  # no symbol: the code


def test_headline_names_the_targets_met_and_failed(icp):
    text = render_markdown(icp)
    first = text.split("\n## How a good", 1)[0]
    assert "status **ICP found · 1 of 2 measurable targets met**" in first
    assert "**Validation (Tier 1 of ICP 1 and ICP 2 together):** met: NRR (1.25x)" in first
    assert "not met: CAC (2.15x)" in first and "not measurable: win rate" in first
    warnings = section_md(text, "Warnings")
    assert "Validation target not met (Tier 1 of ICP 1 and ICP 2 together): Tier 1 CAC at least 30% lower" in warnings
    assert "over-predicts in deciles 3, 4 (3.50-3.75x the observed good rate)" in warnings
    assert "Lead scorecard: industry separates good from not-good suspiciously well" in warnings
    html = render_html(icp)
    assert '<span class="badge none">ICP found · 1 of 2 measurable targets met</span>' in html
    assert re.search(r'<svg [^>]*id="chart-targets"', html) and re.search(r'<svg [^>]*id="chart-market"', html)
    # all targets met: the badge says so, in the "ok" colour
    validation = icp.validation.model_copy(deep=True)
    for t in validation.unit_economics.targets:
        if t.status == "not met":
            t.status = "met"
    good = icp.model_copy(update={"validation": validation})
    assert '<span class="badge ok">ICP found · 2 of 2 measurable targets met</span>' in render_html(good)


def test_calibration_flags_only_deciles_the_data_contradicts():
    from icp_agent.render.document import calibration_problems

    deciles = [{"decile": 1, "n": 125, "n_good": 69, "predicted": 0.565},  # 55.2% observed: fine
               {"decile": 3, "n": 125, "n_good": 13, "predicted": 0.349},  # 10.4% observed: 3.4x over
               {"decile": 10, "n": 125, "n_good": 0, "predicted": 0.012},  # 0 of 125 agrees with 1.2%
               {"decile": 9, "n": 125, "n_good": 40, "predicted": 0.1}]    # 32% where 10% predicted: under
    found = calibration_problems(Scorecard.model_validate({"evaluation": {"deciles": deciles}}))
    assert [(p["decile"], round(p["ratio"], 2)) for p in found] == [(3, 3.36), (9, 0.31)]


def test_near_duplicate_traits_fold_under_the_better_one(icp):
    from icp_agent.render.document import collapse_patterns

    software = icp.patterns[1]  # industry = Computer Software, n=330
    narrower = icp.patterns[0].model_copy(update={"n": 300, "lift": software.lift + 0.3})  # nested, 91% of its rows
    small = icp.patterns[0]  # nested too, but 180 of 330 rows: a segment of its own
    folded = collapse_patterns([software, narrower, small])
    assert [(p.n, [c.n for c in under]) for p, under in folded] == [(300, [330]), (180, [])]
    bad = icp.patterns[8].model_copy(update={"direction": "bad"})  # another direction never folds
    assert len(collapse_patterns([software, narrower, bad])) == 2
    text = render_markdown(icp.model_copy(update={"patterns": [software, narrower, small]}))
    assert "(near-duplicates folded in: industry = Computer Software)" in section_md(text, "Traits that over-index")
    # the rows the workspace says two patterns share decide over their criteria
    apart = {frozenset((software.evidence, narrower.evidence)): 200}  # 200 of 330: not a near-duplicate
    assert [len(under) for _, under in collapse_patterns([software, narrower, small], apart)] == [0, 0, 0]
    shared = {frozenset((small.evidence, icp.patterns[3].evidence)): 400}  # criteria unrelated, rows shared
    sf = icp.patterns[3]  # uses Salesforce, n=420, lift below small's
    assert [(p.n, [c.n for c in under]) for p, under in collapse_patterns([small, sf], shared)] == [(180, [420])]


def test_quotes_keep_the_question_they_answer():
    from icp_agent.personas.buyers import note_passages

    note = ('# Interview: Echo Lending — CFO\nInterviewer: Lumenfold research\n\n**Q: Was price a concern?**\n\n'
            'A: "Not at our size. The question was compliance review."\n\n**Q: Who signed "the final contract"?**\n\n'
            'A: "Our general counsel, after two rounds of redlines."\n')
    assert note_passages(note) == [
        ("Not at our size. The question was compliance review.", None, "Was price a concern?"),
        ("Our general counsel, after two rounds of redlines.", None, 'Who signed "the final contract"?')]
    transcript = "Interviewer: What hurts most?\nCustomer: Chasing reps for updates every Friday.\n"
    assert note_passages(transcript) == [("Chasing reps for updates every Friday.", None, "What hurts most?")]
    headed = "## Why did you switch?\n- The old tool lost our forecast twice\n## Team\n- Finance owns the budget line\n"
    assert note_passages(headed) == [("The old tool lost our forecast twice", None, "Why did you switch?"),
                                     ("Finance owns the budget line", None, None)]


def test_a_quoted_answer_shows_its_question(icp):
    quote = next(e.id for e in icp.evidence if e.kind == "interview_quote")
    icp = icp.model_copy(update={"themes": [{"theme": "Compliance first", "claims": [
        {"text": '"Not at our size. The question was compliance."', "evidence": [quote]}]}]})
    text = render_markdown(icp)
    assert '**Compliance first**\n\n- _Q: Was price a concern?_ — "Not at our size.' in text
    assert '- _Q: Was price a concern?_ — Dana, CFO at Acme said: "Not at our size.' in text
    html = render_html(icp)
    assert '<div class="question">Q: Was price a concern?</div>Dana, CFO at Acme said:' in html.replace("&#34;", '"')


def test_new_charts_escape_and_handle_empty_input(icp):
    for svg in (charts.scorecard_chart([]), charts.targets_chart([]), charts.market_chart([])):
        assert svg.startswith("<svg") and "<title" in svg
        parse(svg)
    svg = charts.scorecard_chart([{"attribute": EVIL, "bands": [{"band": EVIL, "points": -5},
                                                                {"band": "b", "points": 7}]}])
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    numbers = [float(v) for v in re.findall(r'\b(?:x|x1|x2|width)="(-?[\d.]+)"', svg)]
    assert min(numbers) >= 0 and max(numbers) <= charts.WIDTH


# --- on the demo: the whole run, as a marketer opens it ------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_report(built_demo):
    """The report folder of the session's built demo (conftest.built_demo), read only."""
    return built_demo.out


def test_demo_report_headline_scorecard_and_quotes(demo_report):
    import json

    data = json.loads((demo_report / "icp.json").read_text())
    text = (demo_report / "icp.md").read_text()
    head = text.split("\n## How a good", 1)[0]
    targets = data["validation"]["unit_economics"]["targets"]
    assert "ICP found" in head and "measurable targets met" in head
    line = next(line for line in head.splitlines() if line.startswith("**Validation"))
    outcomes = dict(re.findall(r"(?:^|\. |\*\* )(met|not met|not measurable): (.*?)(?=\. (?:met|not met|not "
                               r"measurable|See)|\.$)", line))
    for t in targets:  # every target is named under its outcome in the headline
        name = {"win_rate": "win rate", "cac": "CAC", "nrr": "NRR", "sales_cycle_days": "sales cycle"}[t["metric"]]
        assert name in outcomes.get(t["status"], ""), (t, outcomes)
    if any(t["status"] == "not met" for t in targets):
        assert "Validation target not met" in section_md(text, "Warnings")
    rows = table_rows_md(section_md(text, "Lead scorecard").split("\n\n| priority")[0])
    bins = [b for f in data["scorecard"]["features"] for b in f["bins"] if b["n"]]
    assert 0 < len(rows) <= len(bins)
    assert not any("{" in c or "'field':" in c for row in rows for c in row)
    questions = [e for e in data["evidence"] if e["kind"] == "interview_quote" and e["metrics"].get("question")]
    assert questions and all(q["metrics"]["question"].endswith("?") for q in questions)


def test_demo_report_in_a_headless_browser(demo_report, tmp_path):
    """Chromium renders the demo's report with every chart (skipped where Chromium is not installed: CI)."""
    import shutil
    import subprocess

    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if not browser:
        pytest.skip("no Chromium (Debian: apt-get install -y chromium)")
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", f"--user-data-dir={tmp_path}",
             "--disable-background-networking", "--disable-component-update"]
    url = (demo_report / "icp.html").resolve().as_uri()
    dom = subprocess.run(flags + ["--dump-dom", url], capture_output=True, text=True, timeout=120).stdout
    for chart_id in ("chart-health", "chart-lift", "chart-tiers", "chart-scorecard", "chart-targets", "chart-market"):
        assert f'id="{chart_id}"' in dom, chart_id
    shot = tmp_path / "shot.png"
    subprocess.run(flags + ["--window-size=1200,3000", f"--screenshot={shot}", url], capture_output=True, timeout=120)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000


def test_scorecard_band_labels_say_what_a_bin_holds():
    from icp_agent.render.document import scorecard_rows

    profile = {"name": "lead_behaviour_profile", "field": "lead_behaviour_profile", "kind": "category", "bins": [
        {"when": {"field": "lead_behaviour_profile", "op": "in", "values": ["cat, wolf", "eagle, cat"]},
         "label": "lead behaviour profile cat, wolf, eagle, cat", "n": 40, "n_good": 10, "points": 3, "other": True},
        {"when": {"field": "lead_behaviour_profile", "op": "in", "values": ["cat"]},
         "label": "lead behaviour profile cat", "n": 300, "n_good": 150, "points": 0}]}
    employees = {"name": "employees", "field": "employees", "kind": "band", "bins": [
        {"when": {"field": "employees", "op": "gte", "min": 1002}, "label": "employees 1002+", "n": 5, "n_good": 2,
         "points": 10}]}
    rows = scorecard_rows(Scorecard.model_validate({"features": [profile, employees], "field_kinds": {"employees": "band"}}))
    assert [(r["attribute"], [b["band"] for b in r["bands"]]) for r in rows] == [
        ("lead behaviour profile", ["other: cat, wolf; eagle, cat", "cat"]), ("employees", ["1002+"])]
    assert rows[1]["bands"][0]["good_rate"] == pytest.approx(0.4)


def test_targets_per_icp_when_the_validation_compares_each(icp):
    targets = [{"metric": "nrr", "target": "Tier 1 NRR at least 20% higher", "status": "met", "ratio": 1.3,
                "segment": "ICP 1"},
               {"metric": "nrr", "target": "Tier 1 NRR at least 20% higher", "status": "not met", "ratio": 1.05,
                "segment": "ICP 2"}]
    split = icp.model_copy(update={"validation": Validation.model_validate({"unit_economics": {"targets": targets}})})
    head = render_markdown(split).split("\n## How a good", 1)[0]
    assert "**Validation (ICP 1):** met: NRR (1.30x)." in head and "**Validation (ICP 2):** not met: NRR (1.05x)." in head
    assert "status **ICP found · 1 of 2 measurable targets met**" in head


def test_one_number_formatter_spells_each_kind_of_figure_the_same_everywhere():
    from icp_agent import numbers
    from icp_agent.render import templating
    from icp_agent.scorecard.binning import interval_label
    from icp_agent.tiers.criteria import amount

    assert numbers.money(37773.4) == templating.money(37773.4) == "$37,773"
    assert numbers.money(7_670_000) == "$7.67M" and amount(7_670_000, True) == "$7.67M"
    assert amount(50_000, True) == "$50k" and numbers.money(50_000) == "$50,000"  # labels shorten from a thousand
    # a negative amount puts its sign before the symbol (criteria labels wrote "$-1.2M")
    assert amount(-1_200_000, True) == "-$1.2M" == numbers.money(-1_200_000)
    # a fraction from ten thousand up reads as a whole number (criteria labels wrote "1.235e+04")
    assert amount(12_345.6, False) == "12,346" and amount(1000, False) == "1,000" and amount(0.125, False) == "0.125"
    assert interval_label("founded_year", 2019, None, True) == "founded_year 2019+"  # years without a separator
    assert interval_label("employees", 10_000, None, True) == "employees 10,000+"
    assert (templating.pct(0.0546), templating.lift(2.5), templating.pval(3.09e-59), templating.num(1287)) == \
        ("5.5%", "2.50", "3.1e-59", "1,287")
    assert templating.metric(74.31, "health_mean") == "74.3" and templating.metric(1.27408, "nrr") == "1.27"
    assert numbers.number(None) == numbers.money(None) == numbers.MISSING == "—"
