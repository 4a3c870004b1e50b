"""How a number reads, everywhere: criteria labels, scorecard bins, evidence statements, charts and the document.

One module, so "$1.2M", "62.0%", "1,287", "2.50" (a lift), "0.83" (an AUC) and "3.1e-59" are spelled the same
in icp.md, icp.html, the playbook, the CLI and the labels and statements icp.json stores. Each function takes
a plain number (None reads as MISSING) and returns text; none of them knows a currency: the caller passes the
symbol (render.templating.symbol knows the document's). Pick the function by what the figure measures: a 0-1
rate is a percent, a lift or multiple a ratio, a p or q value a p_value, an AUC an auc, a PSI or an information value a divergence, a count a
count, an amount money, a setting echoed back a number, anything else a figure.
"""

from __future__ import annotations

from typing import Any

MISSING = "—"  # a figure the data does not have
_SUFFIXES = ((1e9, "B"), (1e6, "M"), (1e3, "k"))


def money(value: Any, symbol: str = "$", *, short_from: float = 1e6) -> str:
    """An amount: whole units with thousands separators ("$37,773"), and from `short_from` on three
    significant digits with k, M or B ("$1.2M", "$7.67M"). The sign goes before the symbol ("-$1.2M").
    Criteria labels shorten from a thousand ("$50k"); the document from a million."""
    if value is None:
        return MISSING
    value = float(value)
    sign = "-" if value < 0 else ""
    for size, suffix in _SUFFIXES:
        if size >= short_from and abs(value) >= size:
            return f"{sign}{symbol}{abs(value) / size:.3g}{suffix}"
    return f"{sign}{symbol}{abs(value):,.0f}"


def number(value: Any, *, group_from: float = 1000) -> str:
    """A value as a label shows it: whole numbers (and anything from a thousand up) rounded to the unit, with
    thousands separators from `group_from` ("1,000", "12,346"); smaller fractions to four significant digits
    ("0.1234", "2.5"); true/false as words; text as it is. Scorecard bins pass group_from=10,000 so years read
    "2019"."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, (int, float)):
        return str(value)
    value = float(value)
    if abs(value) >= 1000 or value.is_integer():
        whole = round(value)
        return f"{whole:,}" if abs(whole) >= group_from else str(whole)
    return f"{value:.4g}"


def count(value: Any) -> str:
    """A count or a mean of counts: "1,287"; a fraction keeps one decimal ("12.5")."""
    if value is None:
        return MISSING
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def percent(value: Any, decimals: int = 1) -> str:
    """A 0-1 rate as a percentage: 0.0546 -> "5.5%"."""
    return MISSING if value is None else f"{100 * float(value):.{decimals}f}%"


def percent_range(low: Any, high: Any, decimals: int = 1) -> str:
    """An interval of 0-1 rates with one percent sign: (0.102, 0.153) -> "10.2-15.3%"."""
    if low is None or high is None:
        return MISSING
    return f"{100 * float(low):.{decimals}f}-{percent(high, decimals)}"


def ratio(value: Any) -> str:
    """A lift or a multiple (LTV:CAC) with two decimals: "2.50"."""
    return MISSING if value is None else f"{float(value):.2f}"


def auc(value: Any) -> str:
    """An area under the ROC curve (0.5 is chance, 1 a perfect ranking) with two decimals: "0.83"."""
    return MISSING if value is None else f"{float(value):.2f}"


def divergence(value: Any) -> str:
    """A population stability index or an information value (the same sum of (a - b) * ln(a / b) over bins)
    with three decimals ("0.034"), enough to read against the thresholds: PSI 0.1 and 0.25, IV 0.02 and 0.5."""
    return MISSING if value is None else f"{float(value):.3f}"


def p_value(value: Any) -> str:
    """p and q values: three decimals, scientific below 0.001 where three decimals would read as zero
    ("3.1e-59")."""
    if value is None:
        return MISSING
    value = float(value)
    if value == 0:
        return "0"
    if value < 0.001:
        mantissa, exponent = f"{value:.1e}".split("e")
        return f"{mantissa}e{int(exponent)}"
    return f"{value:.3f}"


def figure(value: float, *, one_decimal: bool = False) -> str:
    """A figure of no known kind, with the precision its size deserves: "37,773", "74.3", "1.27", "0.0546".
    one_decimal: keep one decimal below ten as well (a mean health score)."""
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10 or one_decimal:
        return f"{value:.1f}"
    return f"{value:.2f}" if abs(value) >= 1 else f"{value:.3g}"
