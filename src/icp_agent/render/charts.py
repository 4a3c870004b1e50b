"""Inline SVG charts for the ICP document, in pure Python.

The HTML report must open offline and print well, so charts are plain SVG strings: no
scripts, no external fonts, black text, the Okabe-Ito colour-blind-safe palette, and a
second cue besides colour (marker shape, dash pattern) so they survive greyscale print.
Every chart carries a <title> and <desc> for screen readers; every text drawn from the
data is escaped here, because callers insert the SVG as-is.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from html import escape

from icp_agent import numbers
from icp_agent.icp_document import HealthSummary, MarketTier, PatternStat, RetentionCurve, Tier

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
TEXT = "#111111"
MUTED = "#555555"
GRID = "#dddddd"
BLUE, VERMILLION, SKY, GREEN, ORANGE, PURPLE = "#0072B2", "#D55E00", "#56B4E9", "#009E73", "#E69F00", "#CC79A7"
GOOD, BAD = BLUE, VERMILLION
COHORT_COLOURS = {"top": BLUE, "middle": "#A6A6A6", "bottom": VERMILLION}
SERIES = (BLUE, VERMILLION, GREEN, ORANGE, PURPLE, SKY, "#000000")
DASHES = ("", "7 4", "2 3", "9 3 2 3", "4 2", "1 2")
TIER_COLOURS = {1: BLUE, 2: SKY, 3: "#B9DDF3"}
WIDTH = 900


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _svg(chart_id: str, height: float, title: str, desc: str, body: Iterable[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{_e(chart_id)}" '
        f'viewBox="0 0 {WIDTH} {height:.0f}" width="{WIDTH}" height="{height:.0f}" role="img" '
        f'aria-labelledby="{_e(chart_id)}-title {_e(chart_id)}-desc" font-family="{_e(FONT)}" font-size="14" '
        f'fill="{TEXT}">'
        f'<title id="{_e(chart_id)}-title">{_e(title)}</title><desc id="{_e(chart_id)}-desc">{_e(desc)}</desc>'
        f'<rect width="{WIDTH}" height="{height:.0f}" fill="#ffffff"/>' + "".join(body) + "</svg>"
    )


def empty_chart(chart_id: str, title: str, message: str = "No data to chart.") -> str:
    """A short placeholder, so a caller never has to special-case a missing chart."""
    return _svg(
        chart_id,
        44,
        title,
        message,
        [f'<text x="12" y="27" fill="{MUTED}" font-style="italic">{_e(title)}: {_e(message)}</text>'],
    )


def _text(
    x: float,
    y: float,
    text: str,
    *,
    anchor: str = "start",
    size: float | None = None,
    weight: str = "",
    fill: str = "",
    extra: str = "",
) -> str:
    attrs = f'x="{x:.1f}" y="{y:.1f}"'
    if anchor != "start":
        attrs += f' text-anchor="{anchor}"'
    if size:
        attrs += f' font-size="{size:g}"'
    if weight:
        attrs += f' font-weight="{weight}"'
    if fill:
        attrs += f' fill="{fill}"'
    return f"<text {attrs}{extra}>{_e(text)}</text>"


def _nice_step(span: float, count: int) -> float:
    """A 1-2-5 step giving about `count` ticks over span: axis labels people read at a glance."""
    raw = max(span, 1e-9) / count
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)


def _ticks(top: float, count: int = 5) -> list[float]:
    step = _nice_step(top, count)
    return [i * step for i in range(math.ceil(top / step - 1e-9) + 1)]


def _fmt_tick(value: float) -> str:
    return numbers.number(value)


def _wrap(text: str, chars: int, lines: int = 2) -> list[str]:
    """Greedy word wrap into at most `lines` lines of about `chars` characters, cut with an ellipsis: SVG text
    does not wrap by itself."""
    out: list[str] = []
    for word in text.split():
        if out and len(out[-1]) + 1 + len(word) <= chars:
            out[-1] += " " + word
        else:
            out.append(word)
    if len(out) > lines:
        out = out[: lines - 1] + [" ".join(out[lines - 1 :])]
    return [line if len(line) <= chars else line[: chars - 1].rstrip() + "…" for line in out]


def _lines(x: float, y: float, lines: Sequence[str], size: float, **kwargs) -> str:
    """Multi-line text centred vertically on y."""
    first = y - (len(lines) - 1) * size * 0.6 + size * 0.35
    return "".join(_text(x, first + i * size * 1.2, line, size=size, **kwargs) for i, line in enumerate(lines))


def cohort_order(names: Iterable[str]) -> list[str]:
    """Top, middle, bottom first (the order people read cohorts in), any other name after."""
    known = [c for c in ("top", "middle", "bottom") if c in names]
    return known + sorted(set(names) - set(known))


def _colour(name: str, index: int) -> str:
    return COHORT_COLOURS.get(name, SERIES[index % len(SERIES)])


def health_histogram(health: HealthSummary, chart_id: str = "chart-health") -> str:
    """Entities per 10-point health bin, stacked by cohort: shows how cleanly the cohorts separate."""
    title = "Health score distribution by cohort"
    cohorts = cohort_order([c for c, counts in health.histogram.items() if any(counts)])
    if not cohorts:
        return empty_chart(chart_id, title)
    bins = max(len(health.histogram[c]) for c in cohorts)
    totals = [sum(health.histogram[c][i] for c in cohorts if i < len(health.histogram[c])) for i in range(bins)]
    height, left, right, top, bottom = 340, 64, 20, 52, 58
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    ticks = _ticks(max(totals))
    ymax = ticks[-1]

    def y(value: float) -> float:
        return top + plot_h * (1 - value / ymax)

    body = []
    for tick in ticks:
        body.append(f'<line x1="{left}" x2="{WIDTH - right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="{GRID}"/>')
        body.append(_text(left - 8, y(tick) + 4, _fmt_tick(tick), anchor="end", size=13, fill=MUTED))
    step = plot_w / bins
    for i in range(bins):
        x = left + i * step + step * 0.12
        base = 0
        for index, cohort in enumerate(reversed(cohorts)):
            counts = health.histogram[cohort]
            value = counts[i] if i < len(counts) else 0
            if not value:
                continue
            colour = _colour(cohort, len(cohorts) - 1 - index)
            body.append(
                f'<rect x="{x:.1f}" y="{y(base + value):.1f}" width="{step * 0.76:.1f}" '
                f'height="{y(base) - y(base + value):.1f}" fill="{colour}" stroke="#ffffff" stroke-width="0.5">'
                f"<title>{_e(cohort)}, health {i * 100 // bins}-{(i + 1) * 100 // bins}: {value:,} "
                f"{_e(health.entity)}s</title></rect>"
            )
            base += value
        if totals[i]:
            body.append(_text(x + step * 0.38, y(totals[i]) - 5, f"{totals[i]:,}", anchor="middle", size=12.5))
        body.append(
            _text(
                left + (i + 0.5) * step,
                top + plot_h + 18,
                f"{i * 100 // bins}–{(i + 1) * 100 // bins}",
                anchor="middle",
                size=13,
            )
        )
    body.append(f'<line x1="{left}" x2="{WIDTH - right}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="{TEXT}"/>')
    body.append(_text(left + plot_w / 2, height - 10, "Health score (0–100)", anchor="middle", size=14))
    body.append(
        _text(
            16,
            top + plot_h / 2,
            f"{health.entity}s",
            anchor="middle",
            size=14,
            extra=f' transform="rotate(-90 16 {top + plot_h / 2:.1f})"',
        )
    )
    x = left
    for index, cohort in enumerate(cohorts):
        label = f"{cohort.capitalize()} cohort ({health.cohort_sizes.get(cohort, sum(health.histogram[cohort])):,})"
        body.append(f'<rect x="{x}" y="16" width="14" height="14" fill="{_colour(cohort, index)}"/>')
        body.append(_text(x + 20, 28, label, size=14))
        x += 44 + len(label) * 7.8
    desc = "; ".join(f"{c}: " + ", ".join(str(v) for v in health.histogram[c]) for c in cohorts)
    return _svg(chart_id, height, title, f"Entities per 10-point health bin, stacked by cohort. {desc}", body)


def lift_chart(patterns: Sequence[PatternStat], limit: int = 8, chart_id: str = "chart-lift") -> str:
    """Lift with its 95% Wilson interval per trait: a dot right of the line at 1 over-indexes, and a
    whisker that crosses it means the data cannot tell the trait from the base rate."""
    title = "Traits that over-index among the best and the worst (lift, 95% interval)"
    groups: list[tuple[str, list[tuple[PatternStat, list[str], int]]]] = []
    for direction in ("good", "bad"):
        wrapped = [(p, _wrap(p.label, 48, 3)) for p in patterns if p.direction == direction and p.base_rate > 0]
        if wrapped[:limit]:
            groups.append((direction, [(p, lines, max(38, 17 * len(lines) + 12)) for p, lines in wrapped[:limit]]))
    if not groups:
        return empty_chart(chart_id, title)
    header_h, top, left, plot_l, plot_r = 32, 38, 12, 372, 776
    shown = [p for _, rows in groups for p, _, _ in rows]
    height = top + sum(h for _, rows in groups for _, _, h in rows) + len(groups) * header_h + 58
    ticks = _ticks(max(1.2, *(p.ci_high / p.base_rate for p in shown), *(p.lift for p in shown)) * 1.02, 6)

    def x(value: float) -> float:
        return plot_l + (plot_r - plot_l) * value / ticks[-1]

    plot_bottom = height - 58
    body = [f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top}" y2="{plot_bottom}" stroke="{GRID}"/>' for t in ticks]
    body += [_text(x(t), plot_bottom + 18, _fmt_tick(t) + "×", anchor="middle", size=13, fill=MUTED) for t in ticks]
    body.append(
        f'<line x1="{x(1):.1f}" x2="{x(1):.1f}" y1="{top - 8}" y2="{plot_bottom}" stroke="{TEXT}" '
        f'stroke-dasharray="5 3" stroke-width="1.3"/>'
    )
    body.append(_text(x(1) + 5, top - 12, "1× = base rate", size=13))
    body.append(
        _text(
            (plot_l + plot_r) / 2,
            height - 14,
            "Lift: rate with the trait ÷ base rate (dot), 95% Wilson interval (whisker)",
            anchor="middle",
            size=14,
        )
    )
    cy = top
    for direction, rows in groups:
        colour = GOOD if direction == "good" else BAD
        heading = "Over-index among the best" if direction == "good" else "Over-index among the worst"
        body.append(_text(left, cy + 20, heading, weight="600", fill=colour, size=14.5))
        cy += header_h
        for p, lines, row_h in rows:
            mid = cy + row_h / 2
            lo, hi, lift = p.ci_low / p.base_rate, p.ci_high / p.base_rate, p.lift
            marker = (
                f'<circle cx="{x(lift):.1f}" cy="{mid:.1f}" r="5.5" fill="{colour}"/>'
                if direction == "good"
                else f'<rect x="{x(lift) - 5:.1f}" y="{mid - 5:.1f}" width="10" height="10" fill="{colour}"/>'
            )
            tip = (
                f"{p.label}: lift {numbers.ratio(lift)} (95% interval {numbers.ratio(lo)}-{numbers.ratio(hi)}), "
                f"n={p.n:,}, {p.evidence}"
            )
            body.append(
                f'<a href="#{_e(p.evidence)}"><g><title>{_e(tip)}</title>'
                f'<line x1="{left}" x2="{WIDTH - 12}" y1="{cy + row_h:.1f}" y2="{cy + row_h:.1f}" stroke="#f0f0f0"/>'
                + _lines(left + 6, mid, lines, 13.5)
                + f'<line x1="{x(lo):.1f}" x2="{x(hi):.1f}" y1="{mid:.1f}" y2="{mid:.1f}" stroke="{colour}" '
                f'stroke-width="2"/>'
                + "".join(
                    f'<line x1="{x(v):.1f}" x2="{x(v):.1f}" y1="{mid - 6:.1f}" y2="{mid + 6:.1f}" '
                    f'stroke="{colour}" stroke-width="2"/>'
                    for v in (lo, hi)
                )
                + marker
                + _text(plot_r + 14, mid + 5, f"{numbers.ratio(lift)}×", weight="600", size=14)
                + _text(plot_r + 66, mid + 5, f"n={p.n:,}", size=12.5, fill=MUTED)
                + "</g></a>"
            )
            cy += row_h
    desc = "; ".join(f"{p.direction}: {p.label} lift {numbers.ratio(p.lift)}" for p in shown)
    return _svg(chart_id, height, title, desc, body)


def tier_chart(tiers: Sequence[Tier], entity: str = "customer", chart_id: str = "chart-tiers") -> str:
    """Size of each tier with its outcomes, so a seller sees how many accounts each tier really is."""
    title = "ICP tiers: size and outcomes"
    tiers = sorted((t for t in tiers if isinstance(t.metrics.n, (int, float))), key=lambda t: (t.segment, t.tier))
    if not tiers:
        return empty_chart(chart_id, title)
    row_h, top, bar_l, bar_max = 50, 12, 96, 350
    height = top + row_h * len(tiers) + 8
    nmax = max(t.metrics.n or 0 for t in tiers) or 1
    body = []
    for i, t in enumerate(tiers):
        m = t.metrics
        mid = top + i * row_h + row_h / 2
        n = m.n or 0
        width = max(bar_max * n / nmax, 2)
        body.append(_lines(12, mid, [t.segment, f"Tier {t.tier}"], 14, weight="600"))
        body.append(
            f'<rect x="{bar_l}" y="{mid - 15:.1f}" width="{width:.1f}" height="30" '
            f'fill="{TIER_COLOURS.get(t.tier, SKY)}" stroke="{BLUE}" stroke-width="0.8">'
            f"<title>{_e(t.name)}</title></rect>"
        )
        headline = f"{int(n):,} {entity}s" + (f" ({numbers.percent(m.share)} of all)" if m.share is not None else "")
        outcomes = []
        if m.health_mean is not None:
            outcomes.append(f"mean health {numbers.figure(m.health_mean, one_decimal=True)}")
        if m.churn_rate is not None:
            outcomes.append(f"churn {numbers.percent(m.churn_rate)}")
        if m.win_rate is not None:
            outcomes.append(f"win rate {numbers.percent(m.win_rate)}")
        if m.ltv_cac is not None:
            outcomes.append(f"LTV:CAC {numbers.ratio(m.ltv_cac)}")
        tx = bar_l + width + 10
        body.append(_text(tx, mid - 3, headline, weight="600", size=14.5))
        body.append(_text(tx, mid + 15, " · ".join(outcomes), size=13, fill=MUTED))
        flags = [f.split(":")[0] for f in t.flags]
        if flags:
            body.append(
                _text(
                    tx + len(headline) * 8.2 + 12,
                    mid - 3,
                    "⚠ " + ", ".join(flags),
                    size=14,
                    fill=VERMILLION,
                    weight="600",
                )
            )
    desc = "; ".join(f"{t.segment} Tier {t.tier}: {t.metrics.n} {entity}s" for t in tiers)
    return _svg(chart_id, height, title, desc, body)


def survival_at(points: Sequence[tuple[float, float]], months: float) -> float | None:
    """The Kaplan-Meier estimate at `months` (None past the last observation: the curve says nothing there)."""
    if not points or months > points[-1][0]:
        return None
    return next((s for t, s in reversed(points) if t <= months), 1.0)


def retention_chart(
    curves: Sequence[RetentionCurve], kind: str | None = None, chart_id: str = "chart-retention"
) -> str:
    """Kaplan-Meier step lines: the share still a customer after each month, churn as the event.

    The y axis starts at the nearest 10% below the lowest curve (labelled), because retention curves of
    good segments sit close together near the top and a 0-100% axis would flatten their difference."""
    title = {"cohort": "Retention by health cohort (Kaplan-Meier)", "tier": "Retention by ICP tier (Kaplan-Meier)"}.get(
        kind or "", "Retention (Kaplan-Meier)"
    )
    curves = [c for c in curves if (kind is None or c.kind == kind) and c.points]
    if not curves:
        return empty_chart(chart_id, title)
    legends = [_wrap(f"{c.group} ({c.n:,} customers, {c.events:,} churned)", 100) for c in curves]
    left, right, top, plot_h, line_h = 70, 24, 20, 260, 19
    height = top + plot_h + 56 + sum(line_h * len(lines) + 6 for lines in legends) + 4
    plot_w = WIDTH - left - right
    last = max(t for c in curves for t, _ in c.points) or 1
    step = next((m for m in (1, 2, 3, 6, 12, 24, 36, 60, 120) if last / m <= 10), _nice_step(last, 8))
    ticks = [i * step for i in range(math.ceil(last / step - 1e-9) + 1)]
    floor = min(0.8, max(0.0, math.floor(10 * min(s for c in curves for _, s in c.points) - 0.5) / 10))
    grid_step = 0.05 if floor >= 0.7 else 0.1 if floor >= 0.4 else 0.2

    def x(months: float) -> float:
        return left + plot_w * months / ticks[-1]

    def y(share: float) -> float:
        return top + plot_h * (1 - (share - floor) / (1 - floor))

    body = []
    for i in range(round((1 - floor) / grid_step) + 1):
        s = floor + i * grid_step
        body.append(f'<line x1="{left}" x2="{WIDTH - right}" y1="{y(s):.1f}" y2="{y(s):.1f}" stroke="{GRID}"/>')
        body.append(_text(left - 8, y(s) + 4, numbers.percent(s, 0), anchor="end", size=13, fill=MUTED))
    for t in ticks:
        body.append(_text(x(t), top + plot_h + 18, _fmt_tick(t), anchor="middle", size=13, fill=MUTED))
    body.append(f'<line x1="{left}" x2="{WIDTH - right}" y1="{y(floor):.1f}" y2="{y(floor):.1f}" stroke="{TEXT}"/>')
    body.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{y(floor):.1f}" stroke="{TEXT}"/>')
    body.append(_text(left + plot_w / 2, top + plot_h + 40, "Months as a customer", anchor="middle", size=14))
    body.append(
        _text(
            16,
            top + plot_h / 2,
            "still a customer",
            anchor="middle",
            size=14,
            extra=f' transform="rotate(-90 16 {top + plot_h / 2:.1f})"',
        )
    )
    ly = top + plot_h + 62
    for i, (c, lines) in enumerate(zip(curves, legends)):
        colour = _colour(c.group, i) if kind == "cohort" else SERIES[i % len(SERIES)]
        dash = DASHES[i % len(DASHES)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        path = f"M{x(0):.1f},{y(1):.1f}" + "".join(f" H{x(t):.1f} V{y(s):.1f}" for t, s in c.points)
        body.append(
            f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="2.5"{dash_attr}>'
            f"<title>{_e(c.group)}</title></path>"
        )
        body.append(
            f'<line x1="{left}" x2="{left + 36}" y1="{ly:.1f}" y2="{ly:.1f}" stroke="{colour}" '
            f'stroke-width="3"{dash_attr}/>'
        )
        body += [_text(left + 46, ly + 5 + j * line_h, line, size=14) for j, line in enumerate(lines)]
        ly += line_h * len(lines) + 6
    desc = "; ".join(f"{c.group}: n={c.n}, {c.events} churned" for c in curves)
    return _svg(chart_id, height, title, desc, body)


def scorecard_chart(features: Sequence[dict], chart_id: str = "chart-scorecard") -> str:
    """Points per attribute: one row per attribute, a dot per value band on a shared points axis, the range
    between its lowest and highest band drawn as a bar. The wider the range, the more the attribute moves a
    lead's score; the labels at both ends name the worst and the best band.

    features: [{"attribute": str, "bands": [{"band": str, "points": int}, ...]}], from document.scorecard_rows.
    """
    title = "Lead scorecard: points per attribute"
    rows = [f for f in features if f.get("bands")]
    if not rows:
        return empty_chart(chart_id, title)
    # attribute | its worst band (right-aligned) | the points axis | its best band: labels never cross the dots
    row_h, top, plot_l, plot_r = 40, 40, 340, WIDTH - 190
    height = top + row_h * len(rows) + 46
    points = [b["points"] for f in rows for b in f["bands"]] + [0]
    lo, hi = min(points), max(points)
    span = max(hi - lo, 1)
    step = _nice_step(span, 6)
    lo, hi = step * math.floor(lo / step), step * math.ceil(hi / step)

    def x(value: float) -> float:
        return plot_l + (plot_r - plot_l) * (value - lo) / max(hi - lo, 1e-9)

    body = []
    tick = lo
    while tick <= hi + 1e-9:
        body.append(f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{top - 6}" y2="{height - 40}" stroke="{GRID}"/>')
        body.append(_text(x(tick), height - 24, f"{tick:+,.0f}" if tick else "0", anchor="middle", size=13, fill=MUTED))
        tick += step
    body.append(
        f'<line x1="{x(0):.1f}" x2="{x(0):.1f}" y1="{top - 10}" y2="{height - 40}" stroke="{TEXT}" '
        f'stroke-dasharray="5 3" stroke-width="1.3"/>'
    )
    body.append(_text(x(0) + 5, top - 14, "0 = average", size=13))
    body.append(
        _text(
            (plot_l + plot_r) / 2,
            height - 6,
            "Points a lead gets for the band it falls in (dot per band; square = below average)",
            anchor="middle",
            size=13.5,
        )
    )
    for i, feature in enumerate(rows):
        mid = top + i * row_h + row_h / 2
        bands = sorted(feature["bands"], key=lambda b: b["points"])
        worst, best = bands[0], bands[-1]
        body.append(_lines(12, mid, _wrap(str(feature["attribute"]), 20, 2), 13.5, weight="600"))
        body.append(
            f'<line x1="{x(worst["points"]):.1f}" x2="{x(best["points"]):.1f}" y1="{mid:.1f}" y2="{mid:.1f}" '
            f'stroke="{GRID}" stroke-width="8" stroke-linecap="round"/>'
        )
        for band in bands:
            value = band["points"]
            tip = f"{feature['attribute']}: {band['band']}, {value:+d} points"
            shape = (
                f'<circle cx="{x(value):.1f}" cy="{mid:.1f}" r="5.5" fill="{GOOD}"/>'
                if value >= 0
                else f'<rect x="{x(value) - 5:.1f}" y="{mid - 5:.1f}" width="10" height="10" fill="{BAD}"/>'
            )
            body.append(f"<g><title>{_e(tip)}</title>{shape}</g>")
        if worst["points"] < 0:
            body.append(
                _text(
                    plot_l - 10,
                    mid + 4,
                    f"{_short(worst['band'])} {worst['points']:+d}",
                    anchor="end",
                    size=12,
                    fill=BAD,
                )
            )
        if best["points"] > 0:
            body.append(_text(plot_r + 10, mid + 4, f"{best['points']:+d} {_short(best['band'])}", size=12, fill=GOOD))
    desc = "; ".join(
        f"{f['attribute']}: " + ", ".join(f"{b['band']} {b['points']:+d}" for b in f["bands"]) for f in rows
    )
    return _svg(chart_id, height, title, desc, body)


def _short(text: str, chars: int = 24) -> str:
    return text if len(text) <= chars else text[: chars - 1].rstrip() + "…"


STATUS_COLOURS = {"met": GREEN, "not met": VERMILLION}


def targets_chart(targets: Sequence[dict], chart_id: str = "chart-targets") -> str:
    """Each validation target as a dot-and-whisker: the ICP's figure as a ratio to non-ICP (dot), the range
    the two 95% intervals allow (whisker), and the target as a dashed line with the side that meets it shaded.

    targets: [{"label": str, "ratio": float, "low": float | None, "high": float | None, "goal": float | None,
    "better": "higher" | "lower", "status": "met" | "not met"}], from document.validation_targets.
    """
    title = "Validation targets: ICP vs non-ICP (ratio, 95% interval) against each target"
    rows = [t for t in targets if t.get("ratio") is not None]
    if not rows:
        return empty_chart(chart_id, title, "no target was measurable")
    row_h, top, plot_l, plot_r = 54, 30, 250, WIDTH - 150
    height = top + row_h * len(rows) + 50
    values = [v for t in rows for v in (t["ratio"], t.get("low"), t.get("high"), t.get("goal")) if v is not None]
    top_tick = _ticks(max(max(values) * 1.05, 1.2), 6)[-1]

    def x(value: float) -> float:
        return plot_l + (plot_r - plot_l) * min(max(value, 0), top_tick) / top_tick

    body = []
    for tick in _ticks(top_tick, 6):
        body.append(f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{top - 4}" y2="{height - 44}" stroke="{GRID}"/>')
        body.append(_text(x(tick), height - 28, _fmt_tick(tick) + "×", anchor="middle", size=13, fill=MUTED))
    body.append(
        f'<line x1="{x(1):.1f}" x2="{x(1):.1f}" y1="{top - 8}" y2="{height - 44}" stroke="{MUTED}" stroke-width="1"/>'
    )
    body.append(_text(x(1) + 4, top - 12, "1× = same as non-ICP", size=12.5, fill=MUTED))
    body.append(
        _text(
            (plot_l + plot_r) / 2,
            height - 8,
            "ICP figure ÷ non-ICP figure (dot), 95% interval (whisker), target (dashed line; shaded side meets it)",
            anchor="middle",
            size=13,
        )
    )
    for i, t in enumerate(rows):
        y0 = top + i * row_h
        mid = y0 + row_h / 2
        colour = STATUS_COLOURS.get(t.get("status", ""), MUTED)
        goal = t.get("goal")
        if goal is not None:
            a, b = (x(goal), plot_r) if t.get("better") == "higher" else (plot_l, x(goal))
            body.append(
                f'<rect x="{a:.1f}" y="{y0 + 6:.1f}" width="{max(b - a, 0):.1f}" height="{row_h - 12}" '
                f'fill="{GREEN}" fill-opacity="0.09"/>'
            )
            body.append(
                f'<line x1="{x(goal):.1f}" x2="{x(goal):.1f}" y1="{y0 + 4:.1f}" y2="{y0 + row_h - 4:.1f}" '
                f'stroke="{TEXT}" stroke-dasharray="4 3" stroke-width="1.5"/>'
            )
        body.append(_lines(12, mid, _wrap(str(t["label"]), 32, 2), 13.5, weight="600"))
        if t.get("low") is not None and t.get("high") is not None:
            body.append(
                f'<line x1="{x(t["low"]):.1f}" x2="{x(t["high"]):.1f}" y1="{mid:.1f}" y2="{mid:.1f}" '
                f'stroke="{colour}" stroke-width="2"/>'
            )
            body += [
                f'<line x1="{x(v):.1f}" x2="{x(v):.1f}" y1="{mid - 6:.1f}" y2="{mid + 6:.1f}" stroke="{colour}" '
                f'stroke-width="2"/>'
                for v in (t["low"], t["high"])
            ]
        marker = (
            f'<circle cx="{x(t["ratio"]):.1f}" cy="{mid:.1f}" r="6" fill="{colour}"/>'
            if t.get("status") == "met"
            else f'<rect x="{x(t["ratio"]) - 5.5:.1f}" y="{mid - 5.5:.1f}" width="11" height="11" fill="{colour}"/>'
        )
        tip = f"{t['label']}: {numbers.ratio(t['ratio'])}× ({t.get('status', '')})"
        body.append(f"<g><title>{_e(tip)}</title>{marker}</g>")
        body.append(_text(plot_r + 14, mid - 2, f"{numbers.ratio(t['ratio'])}×", weight="600", size=14))
        body.append(_text(plot_r + 14, mid + 15, str(t.get("status", "")), size=12.5, fill=colour, weight="600"))
    desc = "; ".join(f"{t['label']}: {numbers.ratio(t['ratio'])}x, {t.get('status', '')}" for t in rows)
    return _svg(chart_id, height, title, desc, body)


def market_chart(rows: Sequence[MarketTier], chart_id: str = "chart-market") -> str:
    """Per tier, its share of the prospect universe and its penetration (customers ÷ customers + prospects
    matching it): where the room to grow is. rows: validation.market.tiers of icp.json (shares 0-1).
    """
    title = "Market per tier: share of the prospect list and penetration"
    rows = [r for r in rows if r.share is not None or r.penetration is not None]
    if not rows:
        return empty_chart(chart_id, title)
    row_h, top, plot_l, plot_r = 58, 40, 300, WIDTH - 90
    height = top + row_h * len(rows) + 34
    top_tick = _ticks(max(0.05, *(v or 0 for r in rows for v in (r.share, r.penetration))) * 1.05, 5)[-1]

    def x(value: float) -> float:
        return plot_l + (plot_r - plot_l) * value / top_tick

    body = []
    for tick in _ticks(top_tick, 5):
        body.append(f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{top - 4}" y2="{height - 30}" stroke="{GRID}"/>')
        body.append(_text(x(tick), height - 14, f"{numbers.number(100 * tick)}%", anchor="middle", size=13, fill=MUTED))
    for j, (_key, label, colour) in enumerate(
        (("share", "share of prospects", BLUE), ("penetration", "penetration (already customers)", ORANGE))
    ):
        lx = plot_l + j * 240
        body.append(f'<rect x="{lx}" y="10" width="14" height="14" fill="{colour}"/>')
        body.append(_text(lx + 20, 22, label, size=13.5))
    for i, r in enumerate(rows):
        y0 = top + i * row_h
        body.append(_lines(12, y0 + row_h / 2, _wrap(str(r.tier), 40, 3), 12.5))
        for j, (key, value, colour) in enumerate((("share", r.share, BLUE), ("penetration", r.penetration, ORANGE))):
            if value is None:
                continue
            by = y0 + 8 + j * 21
            body.append(
                f'<rect x="{plot_l}" y="{by:.1f}" width="{max(x(value) - plot_l, 1.5):.1f}" height="17" '
                f'fill="{colour}"><title>{_e(r.tier)}: {key} {numbers.percent(value)}</title></rect>'
            )
            body.append(_text(x(value) + 6, by + 13, f"{numbers.percent(value)}", size=12.5, weight="600"))
    desc = "; ".join(f"{r.tier}: share {r.share}, penetration {r.penetration}" for r in rows)
    return _svg(chart_id, height, title, desc, body)
