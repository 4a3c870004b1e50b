"""render/charts.py: inline SVG charts. Each chart is parsed as XML: its marks are counted and placed (a bar's
width in proportion to its value, a dot at its value on the axis), text from the data is escaped, and empty
input gives the placeholder."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from icp_agent.icp_document import HealthSummary, MarketTier, PatternStat, RetentionCurve
from icp_agent.render import charts
from minimal_icp import tier

NS = "{http://www.w3.org/2000/svg}"
EVIL = '<script>alert("x")</script> & Co'


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # fails on any unescaped markup


def titles(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(NS + "title")]


def test_nice_steps_and_ticks():
    assert charts._nice_step(100, 5) == 20  # 1-2-5 steps
    assert charts._nice_step(7, 5) == 2
    assert charts._nice_step(0.9, 6) == pytest.approx(0.2)
    assert charts._ticks(95) == [0, 20, 40, 60, 80, 100]
    assert charts._ticks(100) == [0, 20, 40, 60, 80, 100]  # the top itself is a tick


def test_wrap():
    assert charts._wrap("industry = Computer Software", 14) == [
        "industry =",
        "Computer Soft…",
    ]  # the rest joined, then cut
    assert charts._wrap("a b c", 10) == ["a b c"]
    assert charts._wrap("one two three four", 3, lines=3) == ["one", "two", "th…"]
    assert charts._wrap("", 10) == []


def test_cohort_order():
    assert charts.cohort_order(["bottom", "zeta", "top", "alpha"]) == ["top", "bottom", "alpha", "zeta"]


def test_empty_chart_is_valid_svg_with_its_message():
    root = parse(charts.empty_chart("c1", "A & B", "none <yet>"))
    assert root.get("id") == "c1" and root.get("height") == "44"
    assert titles(root) == ["A & B"] and root.find(NS + "desc").text == "none <yet>"


def health(histogram: dict[str, list[int]]) -> HealthSummary:
    return HealthSummary(definition="health", entity="customer", description="d", n=10, n_good=2, n_bad=2,
                         histogram=histogram, cohort_sizes={"top": 5})  # fmt: skip


def test_health_histogram_stacks_cohorts():
    root = parse(charts.health_histogram(health({"top": [0, 3], "bottom": [4, 1], "middle": [0, 0]})))
    bars = [r for r in root.iter(NS + "rect") if r.find(NS + "title") is not None]
    # one bar per non-zero count; the empty middle cohort is left out
    assert sorted(r.find(NS + "title").text for r in bars) == [
        "bottom, health 0-50: 4 customers", "bottom, health 50-100: 1 customers", "top, health 50-100: 3 customers"]  # fmt: skip
    heights = {r.find(NS + "title").text: float(r.get("height")) for r in bars}
    assert heights["bottom, health 0-50: 4 customers"] == pytest.approx(
        4 * heights["bottom, health 50-100: 1 customers"], abs=0.2
    )
    assert "Top cohort (5)" in "".join(root.itertext())
    assert charts.health_histogram(health({})) == charts.empty_chart(
        "chart-health", "Health score distribution by cohort"
    )


def pattern(label: str, direction: str, lift: float, base: float = 0.2) -> PatternStat:
    return PatternStat(direction=direction, label=label, criteria=[], n=50, k=20, rate=lift * base, base_rate=base,
                       lift=lift, wracc=0.1, ci_low=base, ci_high=lift * base * 1.2, p_value=0.01, q_value=0.01,
                       evidence="Eabc")  # fmt: skip


def test_lift_chart_places_each_trait_at_its_lift():
    svg = charts.lift_chart([pattern("good one", "good", 2.0), pattern(EVIL, "bad", 3.0),
                             pattern("no base", "good", 2.0, base=0.0)])  # fmt: skip
    root = parse(svg)
    assert "<script>" not in svg
    dots = list(root.iter(NS + "circle"))
    squares = [r for r in root.iter(NS + "rect") if r.get("width") == "10"]
    assert len(dots) == 1 and len(squares) == 1  # the trait with a zero base rate is left out
    # x is linear from 372 at 0: the 1x line and the dots at 2x and 3x sit in proportion
    one = float(next(ln for ln in root.iter(NS + "line") if ln.get("stroke-dasharray") == "5 3").get("x1"))
    scale = (one - 372) / 1.0
    assert float(dots[0].get("cx")) == pytest.approx(372 + 2.0 * scale, abs=0.1)
    assert float(squares[0].get("x")) + 5 == pytest.approx(372 + 3.0 * scale, abs=0.1)
    assert any(EVIL in t for t in titles(root))
    assert charts.lift_chart([]).startswith("<svg") and "No data to chart." in charts.lift_chart([])


def test_tier_chart_bars_in_proportion():
    t1, t2 = tier(1, [], n=200, churn_rate=0.05), tier(2, [], n=50)
    t2.flags = ["too_broad: half the customers"]
    root = parse(charts.tier_chart([t2, t1, tier(3, [])]))  # a tier without n is left out
    bars = [r for r in root.iter(NS + "rect") if r.find(NS + "title") is not None]
    assert [b.find(NS + "title").text for b in bars] == ["ICP 1 Tier 1", "ICP 1 Tier 2"]
    assert float(bars[0].get("width")) == pytest.approx(350) and float(bars[1].get("width")) == pytest.approx(87.5)
    assert "⚠ too_broad" in "".join(root.itertext())
    assert "No data to chart." in charts.tier_chart([])


def test_retention_chart_draws_one_step_path_per_curve():
    curves = [
        RetentionCurve(group="top", kind="cohort", n=100, events=5, points=[(6.0, 0.98), (12.0, 0.95)]),
        RetentionCurve(group=EVIL, kind="cohort", n=80, events=20, points=[(6.0, 0.9), (12.0, 0.75)]),
        RetentionCurve(group="ICP 1 Tier 1", kind="tier", n=30, events=1, points=[(3.0, 0.97)]),
    ]
    root = parse(charts.retention_chart(curves, kind="cohort"))
    paths = list(root.iter(NS + "path"))
    assert [p.find(NS + "title").text for p in paths] == ["top", EVIL]
    assert paths[0].get("d").count(" H") == 2  # one step per point
    # the lowest share is 0.75, so the axis starts at 70% (its lowest percentage label)
    labels = [t.text for t in root.iter(NS + "text") if t.text and t.text.endswith("%")]
    assert min(float(label.rstrip("%")) for label in labels) == 70
    assert len(list(parse(charts.retention_chart(curves)).iter(NS + "path"))) == 3
    assert "No data to chart." in charts.retention_chart(curves[:1], kind="tier")


def test_scorecard_chart_squares_below_average():
    features = [{"attribute": "industry", "bands": [{"band": "Retail", "points": -38}, {"band": "Software", "points": 27}]},
                {"attribute": "empty", "bands": []}]  # fmt: skip
    root = parse(charts.scorecard_chart(features))
    tips = titles(root)[1:]
    assert [t.split(",")[0] for t in tips] == ["industry: Retail", "industry: Software"]
    assert [int(t.split(", ")[1].split()[0]) for t in tips] == [-38, 27]
    assert (
        len(list(root.iter(NS + "circle"))) == 1
        and len([r for r in root.iter(NS + "rect") if r.get("width") == "10"]) == 1
    )
    assert "No data to chart." in charts.scorecard_chart([{"attribute": "x", "bands": []}])


def test_targets_chart_marks_met_and_not_met():
    targets = [
        {"label": "Win rate", "ratio": 2.5, "low": 1.8, "high": 3.1, "goal": 2.0, "better": "higher", "status": "met"},
        {"label": "CAC", "ratio": 0.9, "low": None, "high": None, "goal": 0.7, "better": "lower", "status": "not met"},
        {"label": "NRR", "ratio": None},
    ]
    root = parse(charts.targets_chart(targets))
    assert len(list(root.iter(NS + "circle"))) == 1  # met: a dot; not met: a square
    tips = titles(root)[1:]
    assert [t.split(":")[0] for t in tips] == ["Win rate", "CAC"]
    assert [float(t.split(": ")[1].split("×")[0]) for t in tips] == [2.5, 0.9]
    assert [t.endswith(s) for t, s in zip(tips, ("(met)", "(not met)"))] == [True, True]
    assert "no target was measurable" in charts.targets_chart([{"label": "NRR", "ratio": None}])


def test_market_chart_bars_per_tier():
    rows = [MarketTier(tier="ICP 1 Tier 1", share=0.2, penetration=0.1), MarketTier(tier="x", share=None)]
    root = parse(charts.market_chart(rows))
    bars = [r for r in root.iter(NS + "rect") if r.find(NS + "title") is not None]
    assert len(bars) == 2
    assert float(bars[0].get("width")) == pytest.approx(2 * float(bars[1].get("width")), abs=0.1)
    assert "No data to chart." in charts.market_chart([])
