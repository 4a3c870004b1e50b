"""The ICP document people read: markdown and a self-contained HTML report.

Both formats come from one context built here, so they always hold the same sections and
cite the same evidence ids; the templates only lay it out. The HTML adds the SVG charts
(render/charts.py) and must open offline: no scripts, fonts or images from anywhere.
Free-form dicts (personas, scorecard, validation) are rendered generically, because their
shape belongs to the phases that produce them and grows with them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..models import IcpDocument, PatternStat, Tier
from . import charts
from .templating import EVIDENCE_ID, environment, humanize, metric


@dataclass
class Cell:
    text: str
    cites: list[str] = field(default_factory=list)
    numeric: bool = False


def _cell(value: Any, key: str, context: dict[str, Any] | None = None) -> Cell:
    return Cell(metric(value, key, context), numeric=isinstance(value, (int, float)) and not isinstance(value, bool))


@dataclass
class Block:
    """One piece of a generically rendered dict: a heading, key-value pairs or a table."""

    kind: str  # heading | pairs | table
    title: str = ""
    level: int = 3
    columns: list[str] = field(default_factory=list)
    rows: list[list[Cell]] = field(default_factory=list)

    def numeric(self, column: int) -> bool:
        """Right-align a column whose every filled cell is a number."""
        cells = [row[column] for row in self.rows if row[column].text not in ("", "—")]
        return bool(cells) and all(c.numeric for c in cells)


def _ids(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value or []]


def evidence_ids(value: Any) -> list[str]:
    """The ids in a value that holds evidence ids only (E3f9a2c1d or a list of them), else nothing: an id is
    recognised by its shape, whatever its key is called (evidence, churn_evidence, ...)."""
    items = [value] if isinstance(value, str) else list(value) if isinstance(value, (list, tuple)) else []
    return items if items and all(isinstance(i, str) and EVIDENCE_ID.fullmatch(i) for i in items) else []


def _flat(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and not any(isinstance(v, (dict, list, tuple)) and
                                                               not evidence_ids(v) for v in value.values())


def _row_table(title: str, level: int, rows: list[tuple[str, dict]]) -> Block:
    """Dicts of figures as a table: one row each, the union of their keys as columns, evidence ids last."""
    keys = list(dict.fromkeys(k for _, row in rows for k in row))
    cited = [k for k in keys if all(evidence_ids(row[k]) for _, row in rows if row.get(k) is not None)]
    keys = [k for k in keys if k not in cited]
    label = [""] if any(name for name, _ in rows) else []
    table = Block("table", title, level, label + [humanize(k) for k in keys] + (["evidence"] if cited else []))
    for name, row in rows:
        cells = ([Cell(humanize(name))] if label else []) + [_cell(row.get(k), k, row) for k in keys]
        if cited:
            cells.append(Cell("", [i for k in cited for i in evidence_ids(row.get(k))]))
        table.rows.append(cells)
    return table


def blocks(data: dict[str, Any], level: int = 3) -> list[Block]:
    """A free-form dict as readable blocks: scalars as a key-value table, sibling dicts of figures and
    lists of dicts as tables, other nested dicts as subsections (keys become headings)."""
    pairs = Block("pairs", level=level, columns=["", ""])
    nested: list[Block] = []
    alike: dict[frozenset, list[str]] = {}  # sibling dicts of the same figures (icp / non_icp) make one table
    for key, value in data.items():
        if _flat(value):
            alike.setdefault(frozenset(value), []).append(key)
    tables = {keys[0]: keys for keys in alike.values() if len(keys) > 1}
    grouped = {k for keys in tables.values() for k in keys}
    for key, value in data.items():
        if evidence_ids(value):
            pairs.rows.append([Cell(humanize(key)), Cell("", evidence_ids(value))])
        elif key in grouped:
            if key in tables:
                nested.append(_row_table("", level, [(k, data[k]) for k in tables[key]]))
        elif isinstance(value, dict) and value:
            nested += [Block("heading", humanize(key), level)] + blocks(value, min(level + 1, 5))
        elif isinstance(value, (list, tuple)) and value and all(isinstance(v, dict) for v in value):
            nested.append(_row_table(humanize(key), level, [("", v) for v in value]))
        else:
            pairs.rows.append([Cell(humanize(key)), _cell(value, key, data)])
    return ([pairs] if pairs.rows else []) + nested


@dataclass
class Persona:
    heading: str
    drafter: str
    sections: list[tuple[str, list[Cell]]]
    details: list[tuple[str, str]]
    evidence: list[str]


PERSONA_KEYS = {"role", "name", "segment", "tier", "tier_name", "drafter", "model", "claims"}


def _persona(data: dict[str, Any]) -> Persona:
    """A drafted persona, whatever keys its drafter used: role as heading, claims grouped by their section."""
    sections: dict[str, list[Cell]] = {}
    for claim in data.get("claims") or []:
        if isinstance(claim, dict):
            sections.setdefault(str(claim.get("section") or ""), []).append(
                Cell(str(claim.get("text", "")), _ids(claim.get("evidence"))))
        else:
            sections.setdefault("", []).append(Cell(str(claim)))
    drafter = str(data.get("drafter") or "") + (f" ({data['model']})" if data.get("model") else "")
    rest = {k: v for k, v in data.items() if k not in PERSONA_KEYS and v not in (None, [], {}, "")}
    return Persona(heading=str(data.get("role") or data.get("name") or "Persona"), drafter=drafter,
                   sections=[(humanize(k), cells) for k, cells in sections.items()],
                   details=[(humanize(k), metric(v, k)) for k, v in rest.items() if not evidence_ids(v)],
                   evidence=[i for v in rest.values() for i in evidence_ids(v)])


def _persona_groups(personas: list[dict[str, Any]]) -> list[tuple[str, list[Persona]]]:
    """Personas per tier, in the order the drafter wrote them."""
    groups: dict[str, list[Persona]] = {}
    for data in personas:
        tier = data.get("tier_name") or (f"{data['segment']} Tier {data['tier']}" if data.get("segment") and
                                         data.get("tier") is not None else data.get("tier"))
        groups.setdefault(str(tier or ""), []).append(_persona(data))
    return list(groups.items())


def _segments(tiers: list[Tier]) -> list[tuple[str, list[Tier]]]:
    out: dict[str, list[Tier]] = {}
    for tier in sorted(tiers, key=lambda t: (t.segment, t.tier)):
        out.setdefault(tier.segment, []).append(tier)
    return list(out.items())


def _evidence_of_kind(icp: IcpDocument, ids: list[str], kind: str) -> list[dict[str, Any]]:
    index = {e.get("id"): e for e in icp.evidence}
    return [index[i] for i in ids if i in index and index[i].get("kind") == kind]


def _cohorts(icp: IcpDocument) -> list[dict[str, Any]]:
    """Cohort rows with their evidence id. The model keeps cohort evidence as a flat list, so the item is
    found by its statement ("Cohort top: ...")."""
    health = icp.health
    items = _evidence_of_kind(icp, health.evidence, "cohort")
    names = charts.cohort_order(set(health.cohort_sizes) | set(health.cohort_metrics))
    rows = []
    for name in names:
        found = next((e["id"] for e in items if str(e.get("statement", "")).startswith(f"Cohort {name}:")), None)
        figures = {k: v for k, v in health.cohort_metrics.get(name, {}).items() if k != "n"}
        rows.append({"name": name, "n": health.cohort_sizes.get(name, health.cohort_metrics.get(name, {}).get("n")),
                     "metrics": figures, "evidence": [found] if found else []})
    return rows


def _group_words(icp: IcpDocument) -> tuple[str, str]:
    """The good and the bad group as a heading names them ("won deals", "retained customers")."""
    health = icp.health
    if health.definition == "won":
        return "won deals", "lost deals"
    if health.definition == "column":
        good, bad = health.good_words or "good", health.bad_words or "bad"
        if any(" = " in w or " other than " in w for w in (good, bad)):
            return f"customers with {good}", f"customers with {bad}"
        return f"{good} customers", f"{bad} customers"
    return "the top cohort by health", "the bottom cohort by health"


def _retention_rows(icp: IcpDocument) -> list[dict[str, Any]]:
    return [{"curve": c, "at12": charts.survival_at(c.points, 12), "at24": charts.survival_at(c.points, 24)}
            for c in icp.retention]


GLANCE = (("health_mean", "mean health"), ("churn_rate", "churn"), ("nrr_median", "median NRR"),
          ("win_rate", "win rate"), ("ltv_cac", "LTV:CAC"))


def _glance_columns(tiers: list[Tier]) -> list[tuple[str, str]]:
    """The outcome columns of the summary table: only those some tier actually has."""
    return [(key, label) for key, label in GLANCE if any(t.metrics.get(key) is not None for t in tiers)]


def _patterns(icp: IcpDocument, direction: str) -> list[PatternStat]:
    return [p for p in icp.patterns if p.direction == direction]


def _no_icp_reason(icp: IcpDocument) -> str:
    """The reason without its own "No significant ICP in this data:" lead, which the documents show as a title."""
    reason = (icp.no_icp_reason or icp.statement).strip()
    for lead in ("No significant ICP in this data:", "No significant ICP in this data."):
        reason = reason.removeprefix(lead).strip()
    return reason[:1].upper() + reason[1:]


def context(icp: IcpDocument) -> dict[str, Any]:
    """Everything both templates show, computed once so markdown and HTML cannot disagree."""
    good_words, bad_words = _group_words(icp)
    personas = _persona_groups(icp.personas)
    return {
        "icp": icp,
        "health": icp.health,
        "known": {str(e.get("id")) for e in icp.evidence},
        "definition_evidence": [e["id"] for e in _evidence_of_kind(icp, icp.health.evidence, "health_definition")]
                               or icp.health.evidence[:1],
        "no_icp_reason": _no_icp_reason(icp),
        "no_icp_evidence": [str(e.get("id")) for e in icp.evidence if e.get("kind") == "no_significant_icp"],
        "cohorts": _cohorts(icp),
        "bins": [f"{10 * i}–{10 * (i + 1)}" for i in range(max(map(len, icp.health.histogram.values()), default=10))],
        "good_words": good_words,
        "bad_words": bad_words,
        "good_patterns": _patterns(icp, "good"),
        "bad_patterns": _patterns(icp, "bad"),
        "segments": _segments(icp.tiers),
        "glance": _glance_columns(icp.tiers),
        "retention_rows": _retention_rows(icp),
        "personas": personas,
        "drafters": sorted({p.drafter for _, group in personas for p in group if p.drafter}),
        "scorecard": blocks(icp.scorecard) if icp.scorecard else None,
        "validation": blocks(icp.validation) if icp.validation else None,
    }


def render_markdown(icp: IcpDocument) -> str:
    return environment().get_template("icp.md.j2").render(**context(icp))


def render_html(icp: IcpDocument) -> str:
    figures = {
        "health": charts.health_histogram(icp.health) if any(map(any, icp.health.histogram.values())) else "",
        "lift": charts.lift_chart(icp.patterns) if icp.patterns else "",
        "tiers": charts.tier_chart(icp.tiers, icp.health.entity) if icp.tiers else "",
        "retention_cohort": charts.retention_chart(icp.retention, "cohort", "chart-retention-cohort")
        if any(c.kind == "cohort" for c in icp.retention) else "",
        "retention_tier": charts.retention_chart(icp.retention, "tier", "chart-retention-tier")
        if any(c.kind == "tier" for c in icp.retention) else "",
    }
    return environment().get_template("icp.html.j2").render(charts=figures, **context(icp))
