"""The ICP document people read: markdown and a self-contained HTML report.

Both formats come from one context built here, so they always hold the same sections and
cite the same evidence ids; the templates only lay it out. The HTML adds the SVG charts
(render/charts.py) and must open offline: no scripts, fonts or images from anywhere.
Free-form dicts (personas, validation) are rendered generically, because their shape belongs to
the phases that produce them and grows with them. The scorecard and the validation targets are
read for a marketer instead: one points table with a chart, the targets met or not in the
headline, the model's internals in an appendix.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from icp_agent import numbers
from icp_agent.evidence import EvidenceItem
from icp_agent.icp_document import (
    BinCondition,
    Criterion,
    GroupFigures,
    IcpDocument,
    PatternStat,
    Scorecard,
    ScorecardBin,
    Tier,
    UnitEconomics,
    Validation,
)
from icp_agent.icp_document import Persona as PersonaData
from icp_agent.ingest.currencies import currencies_of, currency_symbols
from icp_agent.render import charts
from icp_agent.render.templating import (
    EVIDENCE_ID,
    MONEY_KEYS,
    SYMBOLS,
    environment,
    humanize,
    metric,
    money,
    pct,
    symbol,
)
from icp_agent.scorecard.labels import field_label


@dataclass
class Cell:
    """A table cell of the rendered document: its text, the evidence ids it cites, and whether it is a number."""

    text: str
    cites: list[str] = field(default_factory=list)
    numeric: bool = False
    question: str = ""  # an interview quote's question, shown above it


# keys of a money comparison ({"n": .., "mean": .., "ci_low": ..}) that are amounts, not counts
AMOUNT_KEYS = {"mean", "median", "ci_low", "ci_high", "icp", "non_icp", "p25", "p75"}


def _cell(value: Any, key: str, context: dict[str, Any] | None = None, currency: str | None = None) -> Cell:
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    if currency is not None and numeric and key in AMOUNT_KEYS:
        return Cell(money(value, currency), numeric=True)
    return Cell(metric(value, key, context), numeric=numeric)


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
    return (
        isinstance(value, dict)
        and bool(value)
        and not any(isinstance(v, (dict, list, tuple)) and not evidence_ids(v) for v in value.values())
    )


def _row_table(title: str, level: int, rows: list[tuple[str, dict]], currency: str | None = None) -> Block:
    """Dicts of figures as a table: one row each, the union of their keys as columns, evidence ids last."""
    keys = list(dict.fromkeys(k for _, row in rows for k in row))
    cited = [k for k in keys if all(evidence_ids(row[k]) for _, row in rows if row.get(k) is not None)]
    keys = [k for k in keys if k not in cited]
    label = [""] if any(name for name, _ in rows) else []
    table = Block("table", title, level, label + [humanize(k) for k in keys] + (["evidence"] if cited else []))
    for name, row in rows:
        cells = ([Cell(humanize(name))] if label else []) + [_cell(row.get(k), k, row, currency) for k in keys]
        if cited:
            cells.append(Cell("", [i for k in cited for i in evidence_ids(row.get(k))]))
        table.rows.append(cells)
    return table


def blocks(data: dict[str, Any], level: int = 3, currency: str | None = None) -> list[Block]:
    """A free-form dict as readable blocks: scalars as a key-value table, sibling dicts of figures and
    lists of dicts as tables, other nested dicts as subsections (keys become headings). Under a money key
    (cac, acv, ...) amounts carry that field's currency (`currency` is the field)."""
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
                nested.append(_row_table("", level, [(k, data[k]) for k in tables[key]], currency))
        elif isinstance(value, dict) and value:
            inner = MONEY_KEYS.get(key, currency)
            nested += [Block("heading", humanize(key), level)] + blocks(value, min(level + 1, 5), inner)
        elif isinstance(value, (list, tuple)) and value and all(isinstance(v, dict) for v in value):
            nested.append(_row_table(humanize(key), level, [("", v) for v in value], currency))
        else:
            pairs.rows.append([Cell(humanize(key)), _cell(value, key, data, currency)])
    return ([pairs] if pairs.rows else []) + nested


@dataclass
class Persona:
    """A persona as the document shows it: heading, drafter, claims per section, details and evidence ids."""

    heading: str
    drafter: str
    sections: list[tuple[str, list[Cell]]]
    details: list[tuple[str, str]]
    evidence: list[str]


PERSONA_KEYS = {"role", "name", "segment", "tier", "tier_name", "drafter", "model", "claims"}


def _persona(data: PersonaData, questions: Mapping[str, str] | None = None) -> Persona:
    """A drafted persona: role as heading, claims grouped by their section, and any other key its drafter
    wrote (gaps, title patterns, ...) as details. A claim that cites an interview quote shows the question the
    quote answers (`questions`: evidence id -> question), so an answer never reads as a statement of its own."""
    sections: dict[str, list[Cell]] = {}
    for claim in data.claims:
        ids = _ids(claim.evidence)
        asked = list(dict.fromkeys(q for i in ids if (q := (questions or {}).get(i))))
        sections.setdefault(str(claim.section or ""), []).append(
            Cell(str(claim.text or ""), ids, question=" / ".join(asked))
        )
    drafter = str(data.drafter or "") + (f" ({data.model})" if data.model else "")
    rest = {k: v for k, v in data.model_dump().items() if k not in PERSONA_KEYS and v not in (None, [], {}, "")}
    name = (data.model_extra or {}).get("name")
    return Persona(
        heading=str(data.role or name or "Persona"),
        drafter=drafter,
        sections=[(humanize(k), cells) for k, cells in sections.items()],
        details=[(humanize(k), metric(v, k)) for k, v in rest.items() if not evidence_ids(v)],
        evidence=[i for v in rest.values() for i in evidence_ids(v)],
    )


def _questions(icp: IcpDocument) -> dict[str, str]:
    """Evidence id -> the interview question its quote answers (analysis/personas.note_passages)."""
    return {
        e.id: str(e.metrics["question"])
        for e in icp.evidence
        if e.kind == "interview_quote" and e.metrics.get("question")
    }


def _persona_groups(
    personas: list[PersonaData], questions: Mapping[str, str] | None = None
) -> list[tuple[str, list[Persona]]]:
    """Personas per tier, in the order the drafter wrote them."""
    groups: dict[str, list[Persona]] = {}
    for data in personas:
        tier = data.tier_name or (
            f"{data.segment} Tier {data.tier}" if data.segment and data.tier is not None else data.tier
        )
        groups.setdefault(str(tier or ""), []).append(_persona(data, questions))
    return list(groups.items())


def _segments(tiers: list[Tier]) -> list[tuple[str, list[Tier]]]:
    out: dict[str, list[Tier]] = {}
    for tier in sorted(tiers, key=lambda t: (t.segment, t.tier)):
        out.setdefault(tier.segment, []).append(tier)
    return list(out.items())


def _evidence_of_kind(icp: IcpDocument, ids: list[str], kind: str) -> list[EvidenceItem]:
    index = {e.id: e for e in icp.evidence}
    return [index[i] for i in ids if i in index and index[i].kind == kind]


def _cohorts(icp: IcpDocument) -> list[dict[str, Any]]:
    """Cohort rows with their evidence id. The model keeps cohort evidence as a flat list, so the item is
    found by its statement ("Cohort top: ...")."""
    health = icp.health
    items = _evidence_of_kind(icp, health.evidence, "cohort")
    names = charts.cohort_order(set(health.cohort_sizes) | set(health.cohort_metrics))
    rows = []
    for name in names:
        found = next((e.id for e in items if e.statement.startswith(f"Cohort {name}:")), None)
        metrics = health.cohort_metrics.get(name)
        figures = {k: v for k, v in (metrics.model_dump() if metrics else {}).items() if k != "n"}
        rows.append(
            {
                "name": name,
                "n": health.cohort_sizes.get(name, metrics.n if metrics else None),
                "metrics": figures,
                "evidence": [found] if found else [],
            }
        )
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
    return [
        {"curve": c, "at12": charts.survival_at(c.points, 12), "at24": charts.survival_at(c.points, 24)}
        for c in icp.retention
    ]


GLANCE = (
    ("health_mean", "mean health"),
    ("churn_rate", "churn"),
    ("nrr_median", "median NRR"),
    ("win_rate", "win rate"),
    ("ltv_cac", "LTV:CAC"),
)


def _glance_columns(tiers: list[Tier]) -> list[tuple[str, str]]:
    """The outcome columns of the summary table: only those some tier actually has."""
    return [(key, label) for key, label in GLANCE if any(getattr(t.metrics, key) is not None for t in tiers)]


def _patterns(icp: IcpDocument, direction: str) -> list[PatternStat]:
    return [p for p in icp.patterns if p.direction == direction]


def _no_icp_reason(icp: IcpDocument) -> str:
    """The reason without its own "No significant ICP in this data:" lead, which the documents show as a title."""
    reason = (icp.no_icp_reason or icp.statement).strip()
    for lead in ("No significant ICP in this data:", "No significant ICP in this data."):
        reason = reason.removeprefix(lead).strip()
    return reason[:1].upper() + reason[1:]


# --- currency -----------------------------------------------------------------------------------------------------


@contextmanager
def _currency(symbols: Mapping[str, str]) -> Iterator[None]:
    token = SYMBOLS.set(dict(symbols))
    try:
        yield
    finally:
        SYMBOLS.reset(token)


def _relabel(icp: IcpDocument, symbols: Mapping[str, str]) -> IcpDocument:
    """The document with money criteria in their own currency: analysis labels amounts with "$"
    (criteria.amount); where the import knew the field's currency is not USD, each such label, and the prose
    that quotes it (statement, tier names, reasons, market rows, evidence statements, narratives), is rewritten
    once here."""
    swaps: dict[str, str] = {}
    criteria: list[Criterion] = (
        [c for t in icp.tiers for c in t.criteria]
        + [c for d in icp.negative_icp for c in d.criteria]
        + [c for p in icp.patterns for c in p.criteria]
    )
    for c in criteria:
        sym = symbols.get(c.field) or symbols.get("")
        if sym and sym != "$" and "$" in c.label and c.kind in (None, "number"):
            swaps[c.label] = _dollars_as(c.label, sym)
    if not swaps:
        return icp
    pattern = re.compile("|".join(re.escape(k) for k in sorted(swaps, key=len, reverse=True)))

    def fix(value: Any) -> Any:
        if isinstance(value, str):
            return pattern.sub(lambda m: swaps[m[0]], value)
        if isinstance(value, list):
            return [fix(v) for v in value]
        if isinstance(value, dict):
            return {k: fix(v) for k, v in value.items()}
        return value

    data = icp.model_dump(mode="python")
    # the evidence appendix and the tier narratives quote the same labels (customers' interview words are left be)
    keys = ("statement", "no_icp_reason", "tiers", "negative_icp", "patterns", "validation", "warnings", "evidence",
            "narratives")  # fmt: skip
    for key in keys:
        data[key] = fix(data[key])
    return IcpDocument.model_validate(data)


# --- lead scorecard -----------------------------------------------------------------------------------------------


def _band(label: str, name: str, b: ScorecardBin, money_field: str | None) -> str:
    """What a bin holds, without the attribute's name: "Computer Software", "51-178", "contains Salesforce",
    a pooled bin as "other: Amsterdam, Austin and 41 more", amounts in their currency."""
    when = b.when or BinCondition()
    values = [str(v) for v in when.values or []]
    sep = "; " if any("," in v for v in values) else ", "  # values such as "cat, wolf" stay one value each
    if b.other and values:
        shown = sep.join(values[:3]) + (f" and {len(values) - 3} more" if len(values) > 3 else "")
        return f"other: {shown}"
    if when.op == "in" and len(values) > 1:
        return sep.join(values[:4]) + (f" and {len(values) - 4} more" if len(values) > 4 else "")
    text = label[len(name) :].strip() if label.lower().startswith(name.lower()) else label
    text = text.removeprefix(":").strip()
    if money_field:
        sym = symbol(money_field)
        text = re.sub(r"\$(?=-?\d)", lambda _: sym, text)
    return text or label


def scorecard_rows(scorecard: Scorecard) -> list[dict[str, Any]]:
    """The lead scorecard as a marketer reads it: per attribute, one row per value band with its points, the
    observed good rate and n. Bins that hold no row are left out (they score 0 and nothing falls in them); a
    neutral bin (too few rows to score) says so.

    Returns [{"attribute", "field", "bands": [{"band", "points", "good_rate", "n", "note"}]}]: `points` is
    what a lead in the band adds to the score, `good_rate` is n_good / n on the scored data."""
    out = []
    kinds = scorecard.field_kinds
    for feature in scorecard.features:
        fld = str(feature.field or feature.name or "")
        name = field_label(fld)
        attribute = field_label(str(feature.name or fld))
        money_field = fld if kinds.get(fld) == "number" and any("$" in (b.label or "") for b in feature.bins) else None
        bands = []
        for b in feature.bins:
            n = b.n or 0
            if not n:
                continue
            bands.append(
                {
                    "band": _band(b.label or "", name, b, money_field),
                    "points": int(b.points or 0),
                    "n": n,
                    "good_rate": (b.n_good or 0) / n,
                    "note": "too few rows to score: counted as average" if b.neutral else "",
                }
            )
        if bands:
            out.append({"attribute": attribute, "field": fld, "bands": bands})
    return out


def scorecard_bands(scorecard: Scorecard) -> list[dict[str, Any]]:
    """Priority bands (high / medium / low) with their fit-score floor, share and observed good rates."""
    return [
        {
            "priority": b.priority,
            "min_score": b.min_score,
            "share": b.share,
            "good_rate": b.good_rate,
            "holdout_good_rate": b.holdout_good_rate,
            "n": b.n,
        }
        for b in scorecard.bands
    ]


def _dollars_as(text: str, sign: str) -> str:
    """`text` with each "$" written before a number replaced by `sign` (taken as written, no regex escapes)."""
    return re.sub(r"\$(?=-?\d)", lambda _: sign, text)


def scorecard_internals(scorecard: Scorecard) -> list[Block]:
    """Everything the points table leaves out, for the appendix: scaling (PDO, factor, offset), the fit-score
    rule, WoE, information value and coefficient per attribute, the holdout evaluation and the settings."""
    features = Block("table", "Attributes", 3, ["attribute", "kind", "information value", "coefficient"])
    woe = Block("table", "Bins: weight of evidence", 3, ["attribute", "bin", "n", "good", "WoE", "points"])
    for f in scorecard.features:
        features.rows.append(
            [Cell(str(f.name)), Cell(str(f.kind or "")), _cell(f.iv, "iv"), _cell(f.coefficient, "coefficient")]
        )
        for b in f.bins:
            covers = ", ".join(str(v) for v in b.when.values or []) if b.other and b.when else ""
            label = str(b.label or "")
            if scorecard.field_kinds.get(str(f.field)) == "number":
                label = _dollars_as(label, symbol(str(f.field)))
            woe.rows.append(
                [
                    Cell(str(f.name)),
                    Cell(label + (f" (covers {covers})" if covers else "")),
                    _cell(b.n, "n"),
                    _cell(b.n_good, "n_good"),
                    _cell(b.woe, "woe"),
                    _cell(b.points, "points"),
                ]
            )
    # the rest (scaling, rule, evaluation, settings, ...) is shown key by key as icp.json holds it
    rest = {k: v for k, v in scorecard.model_dump().items() if k not in ("features", "field_kinds")}
    return blocks(rest) + [features, woe]


# --- validation targets -------------------------------------------------------------------------------------------

# The method's targets for Tier 1 vs non-ICP: (ratio of ICP to non-ICP that meets it, the direction that is better)
TARGET_GOALS = {
    "win_rate": (2.0, "higher"),
    "cac": (0.7, "lower"),
    "nrr": (1.2, "higher"),
    "sales_cycle_days": (0.7, "lower"),
}
TARGET_NAMES = {"win_rate": "win rate", "cac": "CAC", "nrr": "NRR", "sales_cycle_days": "sales cycle"}


def _ratio_interval(comparison: Mapping[str, GroupFigures] | None) -> tuple[float | None, float | None]:
    """The range of ICP / non-ICP the two 95% intervals allow (low of one over high of the other)."""
    icp, other = (comparison or {}).get("icp"), (comparison or {}).get("non_icp")
    if icp is None or other is None:
        return None, None
    a_low, a_high, b_low, b_high = icp.ci_low, icp.ci_high, other.ci_low, other.ci_high
    if a_low is None or a_high is None or not b_low or not b_high:  # a missing bound (or a zero): no interval
        return None, None
    low, high = a_low / b_high, a_high / b_low
    return (low, high) if math.isfinite(low) and math.isfinite(high) else (None, None)


def validation_targets(validation: Validation, segments: list[str]) -> list[dict[str, Any]]:
    """Each validation target with its outcome, per ICP where the validation compares each ICP on its own
    (a `segment` on the target), else for all ICPs' Tier 1 pooled, which the scope says.

    Returns [{"scope", "metric", "label", "target", "status" ("met" | "not met" | "not measurable"), "ratio",
    "low", "high", "goal", "better", "reason", "evidence"}]."""
    economics = validation.unit_economics or UnitEconomics()
    comparisons = economics.comparisons
    pooled = (
        "Tier 1 of " + " and ".join(segments) + " together"
        if len(segments) > 1
        else (f"{segments[0]} Tier 1" if segments else "ICP Tier 1")
    )
    out = []
    for t in economics.targets:
        metric_name = str(t.metric or "")
        goal, better = TARGET_GOALS.get(metric_name, (None, None))
        low, high = _ratio_interval(comparisons.get(metric_name) if not t.segment else None)
        status = str(t.status or "not measurable")
        out.append(
            {
                "scope": str(t.segment or pooled),
                "metric": metric_name,
                "label": TARGET_NAMES.get(metric_name, humanize(metric_name)),
                "target": str(t.target or ""),
                "status": status,
                "ratio": t.ratio,
                "low": low,
                "high": high,
                "goal": goal,
                "better": better,
                "reason": str(t.reason or ""),
                "evidence": _ids(t.evidence),
            }
        )
    return out


def _targets_by_scope(targets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    scopes: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for t in targets:
        scopes.setdefault(t["scope"], {"met": [], "not met": [], "not measurable": []}).setdefault(
            t["status"], []
        ).append(t)
    return [{"scope": scope, **groups} for scope, groups in scopes.items()]


def _target_warnings(targets: list[dict[str, Any]]) -> list[str]:
    return [
        f"Validation target not met ({t['scope']}): {t['target'] or t['label']}"
        + (f"; the ICP's figure is {numbers.ratio(t['ratio'])}x non-ICP" if t.get("ratio") is not None else "")
        + "."
        for t in targets
        if t["status"] == "not met"
    ]


def calibration_problems(scorecard: Scorecard) -> list[dict[str, Any]]:
    """Holdout deciles whose predicted good rate the observed one contradicts: the prediction lies outside
    the observed rate's 95% Wilson interval. The ratio predicted / observed is reported beside it; it is not
    a test by itself, because at 0 good rows any prediction is "infinitely" off while the data agrees with it.

    Returns [{"decile", "n", "predicted", "observed", "low", "high", "ratio"}] (rates 0-1)."""
    from icp_agent.patterns.stats import wilson_interval

    out: list[dict[str, Any]] = []
    for d in scorecard.evaluation.deciles if scorecard.evaluation else []:
        n, k, predicted = d.n, d.n_good, d.predicted
        if not n or k is None or predicted is None:
            continue
        low, high = wilson_interval(int(k), int(n))
        if low <= predicted <= high:
            continue
        observed = k / n
        out.append(
            {
                "decile": d.decile,
                "n": n,
                "predicted": predicted,
                "observed": observed,
                "low": low,
                "high": high,
                "ratio": predicted / observed if observed else None,
            }
        )
    return out


def _calibration_warning(problems: list[dict[str, Any]]) -> list[str]:
    if not problems:
        return []
    over = [p for p in problems if p["predicted"] > p["high"]]
    under = [p for p in problems if p["predicted"] < p["low"]]
    parts = []
    for rows, word in ((over, "over-predicts"), (under, "under-predicts")):
        if rows:
            ratios = [p["ratio"] for p in rows if p["ratio"]]
            scale = (
                f" ({numbers.ratio(min(ratios))}-{numbers.ratio(max(ratios))}x the observed good rate)"
                if ratios and word == "over-predicts"
                else f" (observed {pct(min(p['observed'] for p in rows))}-"
                f"{pct(max(p['observed'] for p in rows))} where "
                f"{pct(min(p['predicted'] for p in rows))}-"
                f"{pct(max(p['predicted'] for p in rows))} was predicted)"
            )
            parts.append(
                f"{word} in decile{'s' if len(rows) > 1 else ''} {', '.join(str(p['decile']) for p in rows)}{scale}"
            )
    return [
        "Lead-score calibration on the holdout: the model " + "; ".join(parts) + ". The predicted good rates "
        "fall outside the observed rates' 95% intervals: read fit scores as a ranking, not as probabilities."
    ]


# --- traits --------------------------------------------------------------------------------------------------------


def _implies(a: Criterion, b: Criterion) -> bool:
    """Every row that meets a meets b (same field): a's values are among b's, a's range lies in b's."""
    if a.field != b.field:
        return False
    if a.model_dump(exclude={"header", "kind"}) == b.model_dump(exclude={"header", "kind"}):
        return True
    values_a, values_b = _listed_values(a), _listed_values(b)
    if a.op in ("eq", "in") and b.op in ("eq", "in"):
        return bool(values_a) and values_a <= values_b
    if a.op == "contains" and b.op == "contains":
        return a.value == b.value
    range_a, range_b = _bounds(a), _bounds(b)
    if range_a is not None and range_b is not None:
        return range_b[0] <= range_a[0] and range_a[1] <= range_b[1]
    return False


def _listed_values(c: Criterion) -> set[str | float | bool]:
    """The values an eq/in criterion lists (its `values`, else an eq's `value`); empty for other criteria."""
    if c.values:
        return set(c.values)
    return {c.value} if c.op == "eq" and c.value is not None else set()


def _bounds(c: Criterion) -> tuple[float, float] | None:
    """(lo, hi) of a between/gte/lte criterion, an open side infinite; None for other ops or a missing bound."""
    if c.op not in ("between", "gte", "lte"):
        return None
    lo = c.min if c.op in ("between", "gte") else -math.inf
    hi = c.max if c.op in ("between", "lte") else math.inf
    return None if lo is None or hi is None else (lo, hi)


def _within(inner: PatternStat, outer: PatternStat) -> bool:
    """inner's rows are a subset of outer's: each of outer's criteria is implied by one of inner's."""
    return all(any(_implies(a, b) for a in inner.criteria) for b in outer.criteria)


REDUNDANT_SHARE = 0.8


def pattern_overlaps(con: Any, icp: IcpDocument) -> dict[frozenset[str], int]:
    """Rows shared by each pair of same-direction patterns, counted in one query over the build's frame
    (`frame_<icp id>`): {frozenset({evidence a, evidence b}): rows matching both}. Empty when the frame is gone
    or a criterion is not measurable on it (the document then falls back to criteria that nest).

    Each pattern's criteria are evaluated once per row: the rows are grouped by which patterns they match (a few
    dozen combinations), and each pair's count is summed over those groups. Writing each pair's two conjunctions
    into its own FILTER evaluated every pattern once per pair it is in (26 patterns: 160 pairs, 3.9 s CPU at 1M
    rows, against 0.5 s grouped). The criteria are evaluated on each distinct combination of the columns they read,
    weighted by its rows, not on every row: the same counts (a criterion is a function of those columns), with a
    list field's keys (a regular expression per element) computed per combination instead of per row (1M rows:
    0.29 s of CPU against 0.45 s)."""
    import duckdb

    from icp_agent.errors import NotMeasurable
    from icp_agent.sql import quote_identifier
    from icp_agent.tiers.criteria import columns_needed, criteria_sql, resolve_kind

    frame = f"frame_{icp.id.replace('-', '_')}"
    pairs = [(p, q) for i, p in enumerate(icp.patterns) for q in icp.patterns[i + 1 :] if p.direction == q.direction]
    if not pairs:
        return {}
    try:
        columns = {r[0] for r in con.execute(f"DESCRIBE {frame}").fetchall()}
        index = {id(p): i for i, p in enumerate(icp.patterns)}
        flags = ", ".join(f"({criteria_sql(p.criteria, columns=columns)}) AS m{index[id(p)]}" for p in icp.patterns)
        sums = [f"coalesce(sum(n) FILTER (WHERE m{index[id(p)]} AND m{index[id(q)]}), 0)" for p, q in pairs]
        names = ", ".join(f"m{i}" for i in range(len(icp.patterns)))
        read = sorted(
            {name for p in icp.patterns for c in p.criteria for name in columns_needed(c.field, resolve_kind(c, None))}
        )
        values = f"(SELECT {', '.join(map(quote_identifier, read))}, count(*) AS __icp_n FROM {frame} GROUP BY ALL)"
        counts = con.execute(
            f"""WITH combos AS MATERIALIZED (SELECT {names}, sum(__icp_n) AS n FROM (SELECT {flags}, __icp_n
                                                                               FROM {values}) GROUP BY ALL)
                SELECT {", ".join(sums)} FROM combos"""
        ).fetchone()
    except (NotMeasurable, duckdb.Error):  # no frame (an older version) or a field it lacks: fall back
        return {}
    return {frozenset((p.evidence, q.evidence)): int(n) for (p, q), n in zip(pairs, counts)}


def collapse_patterns(
    patterns: list[PatternStat], overlaps: Mapping[frozenset[str], int] | None = None
) -> list[tuple[PatternStat, list[PatternStat]]]:
    """Traits with their near-duplicates folded under them: a pattern at least 80% of whose rows are also the
    rows of a better pattern in the same direction (better = higher lift, then more rows) adds nothing a reader
    can act on. The shared rows come from `overlaps` (pattern_overlaps); without them, only patterns whose
    criteria nest are compared (one's criteria imply the other's: the shared rows are the smaller n).
    Returns [(kept pattern, [folded patterns])] in the input order."""
    ranked = sorted(patterns, key=lambda p: (-p.lift, -p.n))
    parent: dict[int, PatternStat] = {}
    kept: list[PatternStat] = []
    for p in ranked:
        home = None
        for q in kept:
            if q.direction != p.direction:
                continue
            shared = (overlaps or {}).get(frozenset((p.evidence, q.evidence)))
            if shared is None and (_within(p, q) or _within(q, p)):
                shared = min(p.n, q.n)
            if shared is not None and p.n and shared >= REDUNDANT_SHARE * p.n:
                home = q
                break
        if home is None:
            kept.append(p)
        else:
            parent[id(p)] = home
    order = [p for p in patterns if id(p) not in parent]
    return [(p, [c for c in patterns if parent.get(id(c)) is p]) for p in order]


def document_inputs(ws: Any, icp: IcpDocument, overlaps: dict[frozenset[str], int] | None = None) -> dict[str, Any]:
    """What the document needs from the workspace beyond icp.json: the money fields' currencies (from the
    import reports) and the rows shared by the patterns (`overlaps` when the caller counted them already:
    pattern_overlaps). Pass as keyword arguments to render_markdown/html."""
    from icp_agent.toolkit import inspect_workspace

    if overlaps is None:
        with ws.connect() as con:
            overlaps = pattern_overlaps(con, icp)
    return {"currencies": currencies_of(inspect_workspace(ws).current), "overlaps": overlaps}


# --- the headline ---------------------------------------------------------------------------------------------------


def _badge(icp: IcpDocument, targets: list[dict[str, Any]]) -> str:
    """The status as a reader takes it in: never "ICP found" without how validation went."""
    if icp.status != "ok":
        return "No significant ICP"
    measured = [t for t in targets if t["status"] in ("met", "not met")]
    if not targets:
        return "ICP found · not validated"
    if not measured:
        return "ICP found · no target measurable"
    met = sum(t["status"] == "met" for t in measured)
    return f"ICP found · {met} of {len(measured)} measurable targets met"


def context(icp: IcpDocument, overlaps: Mapping[frozenset[str], int] | None = None) -> dict[str, Any]:
    """Everything both templates show, computed once so markdown and HTML cannot disagree. Call inside the
    currency of the document (render_markdown / render_html set it)."""
    good_words, bad_words = _group_words(icp)
    sc = icp.scorecard
    questions = _questions(icp)
    personas = _persona_groups(icp.personas, questions)
    segments = _segments(icp.tiers)
    targets = validation_targets(icp.validation, [name for name, _ in segments]) if icp.validation else []
    calibration = calibration_problems(sc) if sc else []
    # the validation's parts are shown key by key as icp.json holds them
    validation_rest = icp.validation.model_dump() if icp.validation else {}
    if isinstance(validation_rest.get("unit_economics"), dict):  # the targets have their own table and chart
        validation_rest["unit_economics"] = {
            k: v for k, v in validation_rest["unit_economics"].items() if k not in ("targets", "not_measurable")
        }
    # the scorecard's own warnings (a suspiciously strong field, a thin holdout) move up from its appendix
    scorecard_warnings = [
        f"Lead scorecard: {w}"
        for w in [*(sc.warnings if sc else []), *(sc.evaluation.warnings if sc and sc.evaluation else [])]
    ]
    warnings = list(
        dict.fromkeys(
            [*icp.warnings, *_target_warnings(targets), *_calibration_warning(calibration), *scorecard_warnings]
        )
    )
    return {
        "icp": icp,
        "health": icp.health,
        "known": {e.id for e in icp.evidence},
        "definition_evidence": [e.id for e in _evidence_of_kind(icp, icp.health.evidence, "health_definition")]
        or icp.health.evidence[:1],
        "no_icp_reason": _no_icp_reason(icp),
        "no_icp_evidence": [e.id for e in icp.evidence if e.kind == "no_significant_icp"],
        "cohorts": _cohorts(icp),
        "bins": [f"{10 * i}–{10 * (i + 1)}" for i in range(max(map(len, icp.health.histogram.values()), default=10))],
        "good_words": good_words,
        "bad_words": bad_words,
        "good_patterns": collapse_patterns(_patterns(icp, "good"), overlaps),
        "bad_patterns": collapse_patterns(_patterns(icp, "bad"), overlaps),
        "segments": segments,
        "glance": _glance_columns(icp.tiers),
        "retention_rows": _retention_rows(icp),
        "personas": personas,
        # the question(s) an interview quote cited by these evidence ids answers, for theme quotes
        "question_of": lambda ids: " / ".join(dict.fromkeys(q for i in _ids(ids) if (q := questions.get(i)))),
        "drafters": sorted({p.drafter for _, group in personas for p in group if p.drafter}),
        "scorecard": scorecard_rows(sc) if sc and sc.features else None,
        "scorecard_evidence": evidence_ids(sc.evidence if sc else None),
        "scorecard_bands": scorecard_bands(sc) if sc else [],
        "scorecard_status": (sc.status or "no points table") if sc else None,
        "scorecard_reason": str(sc.reason or "") if sc else "",
        "scorecard_auc": sc.evaluation.auc if sc and sc.evaluation else None,
        # said plainly where the holdout shows the score does not rank good above not-good (scorecard "separates")
        "scorecard_untrusted": next(
            (w for w in sc.warnings if w.startswith("the fit score does not separate")),
            "the fit score does not separate good from not-good on held-out data: do not use it to rank prospects",
        )
        if sc and sc.separates is False
        else None,
        "scorecard_internals": scorecard_internals(sc) if sc else None,
        "targets": targets,
        "target_scopes": _targets_by_scope(targets),
        "badge": _badge(icp, targets),
        # green only for an ICP whose measurable targets all held; unvalidated or failing reads as a caution
        "badge_ok": icp.status == "ok"
        and any(t["status"] == "met" for t in targets)
        and not any(t["status"] == "not met" for t in targets),
        "calibration": calibration,
        "warnings": warnings,
        "validation": blocks(validation_rest) if validation_rest else None,
    }


def _render(
    icp: IcpDocument,
    currencies: Mapping[str, str] | None,
    overlaps: Mapping[frozenset[str], int] | None,
    template: str,
    html: bool,
) -> str:
    symbols = currency_symbols(currencies)
    with _currency(symbols):
        icp = _relabel(icp, symbols)
        ctx = context(icp, overlaps)
        figures: dict[str, str] = {}
        if html:
            market = icp.validation.market.tiers if icp.validation and icp.validation.market else []
            figures = {
                "health": charts.health_histogram(icp.health) if any(map(any, icp.health.histogram.values())) else "",
                "lift": charts.lift_chart([p for p, _ in ctx["good_patterns"] + ctx["bad_patterns"]])
                if icp.patterns
                else "",
                "tiers": charts.tier_chart(icp.tiers, icp.health.entity) if icp.tiers else "",
                "retention_cohort": charts.retention_chart(icp.retention, "cohort", "chart-retention-cohort")
                if any(c.kind == "cohort" for c in icp.retention)
                else "",
                "retention_tier": charts.retention_chart(icp.retention, "tier", "chart-retention-tier")
                if any(c.kind == "tier" for c in icp.retention)
                else "",
                "scorecard": charts.scorecard_chart(ctx["scorecard"]) if ctx["scorecard"] else "",
                "targets": charts.targets_chart(ctx["targets"])
                if any(t["ratio"] is not None for t in ctx["targets"])
                else "",
                "market": charts.market_chart(market) if market else "",
            }
        return environment().get_template(template).render(charts=figures, **ctx)


def render_markdown(
    icp: IcpDocument, currencies: Mapping[str, str] | None = None, overlaps: Mapping[frozenset[str], int] | None = None
) -> str:
    """The ICP document as markdown. currencies: money field -> ISO 4217 code (ingest.currencies.currencies_of), "$"
    where it is unknown; overlaps: rows shared by pairs of patterns (pattern_overlaps), to fold near-duplicate
    traits. document_inputs(ws, icp) gives both."""
    return _render(icp, currencies, overlaps, "icp.md.j2", html=False)


def render_html(
    icp: IcpDocument, currencies: Mapping[str, str] | None = None, overlaps: Mapping[frozenset[str], int] | None = None
) -> str:
    """The ICP document as one self-contained HTML file with inline SVG charts (see render_markdown)."""
    return _render(icp, currencies, overlaps, "icp.html.j2", html=True)
