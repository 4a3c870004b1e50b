"""icp_agent.numbers: each kind of figure spelled one way, and the prose that quotes figures spelling them so."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from icp_agent import numbers

SRC = Path(numbers.__file__).resolve().parent


@pytest.mark.parametrize(
    ("value", "decimals", "text"),
    [(0.0546, 1, "5.5%"), (0.5, 1, "50.0%"), (1, 1, "100.0%"), (0.204, 0, "20%"), (0.12345, 2, "12.35%")],
)
def test_percent(value, decimals, text):
    assert numbers.percent(value, decimals) == text


def test_percent_range_puts_one_sign_after_the_interval():
    assert numbers.percent_range(0.102, 0.1534) == "10.2-15.3%"
    assert numbers.percent_range(0.05, 0.25, 0) == "5-25%"
    assert numbers.percent_range(None, 0.2) == numbers.MISSING


@pytest.mark.parametrize(("value", "text"), [(2.5, "2.50"), (6.8181, "6.82"), (1, "1.00"), (0.333, "0.33")])
def test_ratio_has_two_decimals(value, text):
    assert numbers.ratio(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.5, "0.500"), (0.0312, "0.031"), (0.001, "0.001"), (0.00012, "1.2e-4"), (3.14e-59, "3.1e-59"), (0, "0")],
)
def test_p_value_is_three_decimals_or_scientific_below_a_thousandth(value, text):
    assert numbers.p_value(value) == text


@pytest.mark.parametrize(("value", "text"), [(0.8312, "0.83"), (0.5, "0.50"), (0.996, "1.00")])
def test_auc_has_two_decimals(value, text):
    assert numbers.auc(value) == text


@pytest.mark.parametrize(("value", "text"), [(0.0342, "0.034"), (0.25, "0.250"), (1.5, "1.500")])
def test_divergence_has_three_decimals(value, text):
    assert numbers.divergence(value) == text


@pytest.mark.parametrize(("value", "text"), [(1287, "1,287"), (12.5, "12.5"), (3.0, "3"), (0, "0")])
def test_count(value, text):
    assert numbers.count(value) == text


@pytest.mark.parametrize(
    ("value", "kwargs", "text"),
    [
        (37773.4, {}, "$37,773"),
        (1.2e6, {}, "$1.2M"),
        (-1.2e6, {}, "-$1.2M"),
        (50_000, {"short_from": 1e3}, "$50k"),
        (7_670_000, {"symbol": ""}, "7.67M"),
        (2.5e9, {"symbol": "€"}, "€2.5B"),
    ],
)
def test_money(value, kwargs, text):
    assert numbers.money(value, **kwargs) == text


@pytest.mark.parametrize(
    ("value", "text"), [(1.5, "1.5"), (0.05, "0.05"), (12.0, "12"), (2019, "2,019"), (True, "true"), ("x", "x")]
)
def test_number_echoes_a_setting_without_padding(value, text):
    assert numbers.number(value) == text


def test_number_groups_from_the_threshold_it_is_given():
    assert numbers.number(2019, group_from=10_000) == "2019"


@pytest.mark.parametrize(
    ("value", "kwargs", "text"),
    [
        (37773.0, {}, "37,773"),
        (74.31, {}, "74.3"),
        (1.271, {}, "1.27"),
        (0.05462, {}, "0.0546"),
        (7.25, {"one_decimal": True}, "7.2"),
    ],
)
def test_figure_takes_the_precision_its_size_deserves(value, kwargs, text):
    assert numbers.figure(value, **kwargs) == text


@pytest.mark.parametrize(
    "kind",
    [
        numbers.percent,
        numbers.ratio,
        numbers.p_value,
        numbers.auc,
        numbers.divergence,
        numbers.count,
        numbers.money,
        numbers.number,
    ],
)
def test_a_missing_figure_reads_as_a_dash(kind):
    assert kind(None) == numbers.MISSING


# --- no module spells a figure by hand ------------------------------------------------------------------------------

# A format spec that rounds a figure (.1f, .2g, .0%, ,.0f, :g): the kinds above are the only place for one. A
# bare thousands separator ({n:,}) is left alone: on a whole number it spells what numbers.count does.
HAND_FORMAT = re.compile(r"^[,_]?(\.\d+)?[fgde%]$")
# Not figures a person reads: a float rounded for storage; the chat's own telemetry (size and time of a call).
EXEMPT = {"numbers.py", "evidence.py", "faces/assistant/chat.py"}
# In the charts, a format inside an SVG attribute (x="{...}", a path's M/H/V, a rotation) is geometry.
SVG_GEOMETRY = re.compile(r'[a-z0-9-]+="\{|="[^"]*\{[^"]*"|rotate\(| [HVM]\{|"M\{')


def _hand_formats(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FormattedValue) and isinstance(node.format_spec, ast.JoinedStr):
            spec = "".join(str(v.value) for v in node.format_spec.values if isinstance(v, ast.Constant))
            if HAND_FORMAT.match(spec):
                found.append((node.lineno, spec))
    return found


def test_prose_quotes_figures_through_numbers_only():
    found = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if rel in EXEMPT:
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        for lineno, spec in _hand_formats(path):
            if rel == "render/charts.py" and SVG_GEOMETRY.search(lines[lineno - 1]):
                continue
            found.append(f"{rel}:{lineno}: {{...:{spec}}} {lines[lineno - 1].strip()}")
    assert found == []


def test_the_check_sees_a_hand_format(tmp_path):
    path = tmp_path / "m.py"
    path.write_text('x = 0.5\ntext = f"lift {x:.2f}, share {x:.0%}, n {x:,}, {x:g}"\n', encoding="utf-8")
    assert [spec for _, spec in _hand_formats(path)] == [".2f", ".0%", "g"]


def test_the_templates_format_figures_with_the_filters():
    """The document's and the offline drafter's templates use the numbers filters (pct, lift, num, ...), never
    a Python format of their own (a signed score's "%+d" is not a figure of these kinds)."""
    templates = [*SRC.glob("render/templates/*.j2"), *SRC.glob("drafting/templates/*.j2")]
    assert templates
    for path in templates:
        text = path.read_text(encoding="utf-8")
        assert not re.findall(r'"%\.\d[fg%]"|"\{:[,.\d]*[fg%]?\}"\.format', text), path.name
