"""Phases 2-3: the traits that over-index among the best and the worst, the tiers, the negative ICP.

`analyse` runs the whole analysis on the workspace's current snapshot and returns an
IcpDocument plus its evidence ledger. Everything here is deterministic: the same data
gives the same tiers, figures and evidence ids.

How tiers are built (documented in the ICP document too):
- fit fields are screened first (screen.py): outcome-derived fields (single-field AUC >= 0.95, a
  name that counts or describes outcomes such as "Won deals" or "Lost reason", or a value holding
  >= 5% of rows that is ~100% one outcome), identifier-like fields and free text are excluded and
  named with the reason; the minimum support used and why is recorded (icp.json min_support); "is missing" is
  never a criterion, and missingness that over-indexes is a data-quality finding;
- the minimum support is what the data can detect: the smallest segment in which a rate 1.5x the
  base rate would be significant at `alpha` with 80% power (`detectable_support`), at least 10;
- category values rarer than the minimum support are pooled, and values whose outcome mix cannot
  be told apart are grouped into one `in` criterion (selectors.group_categories);
- candidates are patterns (conjunctions of up to `depth` fit criteria) that over-index
  among the good entities, survive Benjamini-Hochberg at `alpha` over every pattern tested,
  and reach the minimum support; a combination must also beat each of its parts significantly
  (one-sided Fisher on the part's rows in vs out of the combination, Holm-adjusted over the
  combinations tested), and near-duplicates (the same criteria but for overlapping bands
  covering nearly the same rows) are collapsed to the best one;
- ICP segments are picked greedily by the lower bound of their 95% interval (a lift that is
  both large and well-measured), each overlapping little with those already chosen, and searched
  again on the rows no chosen segment covers (sequential covering): several distinct strong
  segments (each after the first with a lift lower bound >= `detectable_lift`) make a multi-ICP;
- per segment, Tier 1 is the whole conjunction, Tier 2 its best significant part one
  criterion shorter, Tier 3 its best single criterion with lift above 1;
- disqualifiers are patterns that over-index among the worst, chosen the same way.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone

import duckdb
import numpy as np

from icp_agent.errors import DataShapeError
from icp_agent.evidence import Ledger
from icp_agent.health.health_score import (
    COMPONENT_TEXT,
    HealthConfig,
    HealthResult,
    build_deals_frame,
    build_frame,
)
from icp_agent.health.survival import kaplan_meier
from icp_agent.models import (
    Criterion,
    DatasetInfo,
    Disqualifier,
    HealthSummary,
    IcpDocument,
    PatternStat,
    RetentionCurve,
    Tier,
)
from icp_agent.patterns.screen import Screen, known_rows, screen_fields
from icp_agent.patterns.search import Pattern, evaluate, part_test_pvalue, search
from icp_agent.patterns.selectors import (
    FieldSpec,
    Selector,
    SelectorSet,
    build_selectors,
)
from icp_agent.patterns.stats import (
    benjamini_hochberg,
    fisher_exact_many,
    fisher_greater_many,
    wilson_interval,
)
from icp_agent.schema import AnalysisInputs  # noqa: F401 - re-exported (moved to inputs.py)
from icp_agent.sql import columns_of
from icp_agent.sql import quote_identifier as _q
from icp_agent.tiers.criteria import (  # noqa: F401 - re-exported
    amount,
    columns_needed,
    criterion_label,
    implied_kind,
    missing_fields,
    resolve_kind,
    tier_case_sql,
)
from icp_agent.tiers.criteria import criteria_sql as _criteria_sql
from icp_agent.tiers.criteria import criterion_sql as _criterion_sql

# LinkedIn/HubSpot ranges (so exported ranges such as "51-200" fall inside one), plus the wider business
# bands sellers use (small business, mid-market, enterprise).
EMPLOYEE_BANDS = ((1, 10), (11, 50), (51, 200), (201, 500), (501, 1000), (1001, 5000), (5001, 10000), (10001, None),
                  (1, 50), (50, 250), (201, 1000), (1000, None))
REVENUE_BANDS = ((0, 1e6), (1e6, 1e7), (1e7, 5e7), (5e7, 1e8), (1e8, 1e9), (1e9, None), (1e8, None))
NUMERIC_TYPES = {"number", "money", "percent"}


@dataclass
class AnalysisConfig:
    health: HealthConfig = field(default_factory=HealthConfig)
    depth: int = 3
    alpha: float = 0.05
    min_support: int | None = None  # default: detectable_support (what the data can detect), at least 10
    detectable_lift: float = 1.5  # the effect the default minimum support is sized to detect
    power: float = 0.8
    max_segments: int = 3
    max_disqualifiers: int = 5
    max_segment_overlap: float = 0.2
    top_k: int = 40
    too_broad_share: float = 0.5
    too_narrow_share: float = 0.01


@dataclass
class Candidate:
    pattern: Pattern
    direction: str
    p: float = 1.0
    q: float = 1.0
    evidence: str = ""
    # when the test among the rows where a field is known decided p (screen.py missingness): fields, n, base_rate
    within_known: dict | None = None

    @property
    def n(self) -> int:
        return self.pattern.n

    @property
    def k(self) -> int:
        return self.pattern.k



def field_specs(fit_fields: dict[str, str]) -> list[FieldSpec]:
    """Selector specs from the fit fields and their import types."""
    specs = []
    for name, kind in sorted(fit_fields.items()):
        if kind == "band":
            specs.append(FieldSpec(name, "band", bands=EMPLOYEE_BANDS, snap_to_ranges=True))
        elif kind in NUMERIC_TYPES:
            bands = REVENUE_BANDS if name == "annual_revenue" else None
            specs.append(FieldSpec(name, "number", bands=bands, round_cuts=True))
        elif kind in ("category", "list", "bool"):
            specs.append(FieldSpec(name, kind))
    return specs


def display_label(selector: Selector, types: dict[str, str]) -> str:
    """A criterion as a seller reads it: "annual revenue $10M-$50M", "employees 51-200", "founded year < 1999"."""
    return criterion_label(selector, types)


def criterion(selector: Selector, headers: dict[str, str]) -> Criterion:
    """The icp.json criterion of a selector, carrying its field's kind from the schema (see criteria.py)."""
    data = selector.criterion()
    return Criterion(**data, kind=selector.kind, header=headers.get(selector.field), label=selector.label)


def analyse(con: duckdb.DuckDBPyConnection, inputs: AnalysisInputs, config: AnalysisConfig, version_id: str,
            progress=None) -> tuple[IcpDocument, Ledger]:
    say = progress or (lambda _m: None)
    ledger = Ledger()
    frame = f"frame_{version_id.replace('-', '_')}"
    say("scoring customer health")
    health = build_frame(con, inputs.customers, inputs.deals, frame, config.health, list(inputs.fit_fields),
                         schema=inputs.schema)
    summary = health_summary(con, health, config, ledger)
    present = columns_of(con, frame)
    specs = [s for s in field_specs(inputs.fit_fields) if s.name in present and _has_values(con, frame, s)]
    # entities with a verdict, read into a temporary table once: as a subquery, its ORDER BY sorted every row again
    # for each of the screen's, the selectors' and the targets' queries
    relation = "__icp_entities"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {relation} AS SELECT * FROM {frame} WHERE cohort IS NOT NULL ORDER BY _row")
    n_rows, n_good, n_bad = con.execute(f"SELECT count(*), count_if(good), count_if(bad) FROM {relation}").fetchall()[0]
    min_support = config.min_support or max(10, min(
        detectable_support(n_rows, n_good / max(n_rows, 1), config.alpha, config.power, config.detectable_lift),
        detectable_support(n_rows, n_bad / max(n_rows, 1), config.alpha, config.power, config.detectable_lift)))
    support = _min_support_note(min_support, config, health, n_rows, n_good, n_bad)
    say(f"screening {len(specs)} fit fields")
    screen = screen_fields(con, relation, specs, types=inputs.fit_fields, confirmed=inputs.confirmed,
                           min_count=min_support, alpha=config.alpha, headers=inputs.headers, entity=health.entity,
                           words=health.words)
    excluded_fields, data_quality = _screen_findings(screen, health, ledger)
    say(f"building selectors over {len(screen.kept)} fit fields")
    # is-missing traits are never criteria; the outcome class (good 2, middle 1, bad 0) groups categories
    selset = build_selectors(con, relation, screen.kept, min_count=min_support, include_missing=False,
                             outcome="CASE WHEN good THEN 2 WHEN bad THEN 0 ELSE 1 END")
    selset.selectors[:] = [dataclasses.replace(sel, label=display_label(sel, inputs.fit_fields))
                           for sel in selset.selectors]
    good, bad = (np.array([r[0] for r in con.execute(f"SELECT {c} FROM {relation}").fetchall()], dtype=bool)
                 for c in ("good", "bad"))
    say("searching for over-indexing traits")
    known = known_rows(con, relation, screen.kept, {d["field"] for d in data_quality})
    con.execute(f"DROP TABLE {relation}")
    segments, good_candidates = _segments(selset, good, config, min_support, health, ledger, known)
    bad_candidates, _ = _candidates(selset, bad, "bad", config, min_support, health, ledger, known=known)
    tiers = _tiers(con, frame, segments, selset, good, config, health, inputs, ledger, min_support)
    tier_rows = _tier_members(selset, segments)
    significant_bad = [c for c in bad_candidates if c.q < config.alpha and _overlap_with(c, tier_rows, selset) < 0.3]
    disqualifiers = _disqualifiers(_pick(significant_bad, selset, config.max_disqualifiers, 0.5, max_depth=2),
                                   health, inputs, ledger)
    retention = _retention(con, frame, tiers, ledger)
    patterns = [_pattern_stat(c, inputs.headers, good if c.direction == "good" else bad)
                for c in good_candidates[:15] + bad_candidates[:15]]
    status = "ok" if tiers else "no_significant_icp"
    reason = None if tiers else _no_icp_reason(good_candidates, health, config, ledger, excluded_fields)
    warnings = [f"{t.name}: {flag}" for t in tiers for flag in t.flags]
    warnings += [f"excluded from criteria: {e['reason']}" for e in excluded_fields]
    warnings += [f"data quality: {d['statement']}" for d in data_quality]
    icp = IcpDocument(
        id=version_id, created_at=datetime.now(timezone.utc), status=status,
        dataset=DatasetInfo(fingerprint=inputs.fingerprint, imports=inputs.imports), health=summary,
        statement=_statement(tiers, disqualifiers, reason), no_icp_reason=reason, tiers=tiers,
        negative_icp=disqualifiers, patterns=patterns, retention=retention, warnings=warnings,
        excluded_fields=excluded_fields, data_quality=data_quality, min_support=support)
    icp.evidence = [item.model_dump() for item in ledger.all()]
    return icp, ledger


def _min_support_note(min_support: int, config: AnalysisConfig, health: HealthResult, n: int, n_good: int,
                      n_bad: int) -> dict:
    """icp.json's min_support: the rows a pattern needed, how that was chosen and why (shown in icp.md and the CLI)."""
    entity = f"{health.entity}s"
    if config.min_support:
        return {"rows": min_support, "chosen_by": "option",
                "reason": f"a pattern needs at least {min_support:,} {entity} (set with --min-support)"}
    reason = (f"a pattern needs at least {min_support:,} {entity}: the smallest segment in which a rate "
              f"{config.detectable_lift:g}x the base rate ({100 * n_good / max(n, 1):.1f}% {health.words[0]}, "
              f"{100 * n_bad / max(n, 1):.1f}% {health.words[1]}) would be detected among {n:,} {entity} "
              f"(two-sided alpha {config.alpha:g}, {100 * config.power:.0f}% power; at least 10); smaller segments "
              f"cannot be told from chance")
    return {"rows": min_support, "chosen_by": "detectable effect", "detectable_lift": config.detectable_lift,
            "alpha": config.alpha, "power": config.power, "n": n, "reason": reason}


def detectable_support(n: int, base_rate: float, alpha: float = 0.05, power: float = 0.8, lift: float = 1.5) -> int:
    """The smallest segment (rows) in which a rate `lift` x the base rate could be told from the rest.

    Two-proportion z-test (two-sided `alpha`, `power`) of a segment with rate
    p1 = min(lift * p0, (1 + p0) / 2) against the other n - m rows at p0 (`_sample_size`), searched
    by bisection over m <= n / 2. The minimum support follows n and the base rate instead of a fixed
    share: at n = 22,000 and p0 = 21% it is 130 rows, so a 335-row sector at 32.5% is tested. When
    the data is too small to show that effect in any segment, the size that could show a strong one
    (p1 halfway from p0 to 1) is used, and 1 when not even that is detectable (callers floor it).
    """
    if n <= 3 or not 0 < base_rate < 1:
        return 1
    z_alpha = _normal_quantile(1 - alpha / 2)
    z_power = _normal_quantile(power)
    for p1 in (min(lift * base_rate, (1 + base_rate) / 2), (1 + base_rate) / 2):
        def enough(m: int, p1: float = p1) -> bool:
            return _sample_size(base_rate, p1, m / n, power_z=z_power, alpha_z=z_alpha) <= n

        low, high = 1, n // 2
        if not enough(high):
            continue
        while low < high:  # the total needed falls as the segment grows towards half of n
            middle = (low + high) // 2
            if enough(middle):
                high = middle
            else:
                low = middle + 1
        return low
    return 1


def _normal_quantile(q: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(q))


def _screen_findings(screen: Screen, health: HealthResult, ledger: Ledger) -> tuple[list[dict], list[dict]]:
    """icp.json's excluded_fields and data_quality from the screen, each with an evidence id."""
    excluded = []
    for item in screen.excluded:
        figures = {k: v for k, v in item.items() if k not in ("field", "reason", "rule")}
        evidence = ledger.add("excluded_field", item["field"], f"Excluded from criteria: {item['reason']}.",
                              {"rule": item["rule"], **figures})
        excluded.append({**item, "evidence": evidence})
    findings = []
    for item in screen.missingness:
        words = _group_words(item["direction"], health)
        statement = (f"{item['field']} is missing for {item['n']:,} {health.entity}s, {100 * item['rate']:.1f}% of "
                     f"them {words} vs {100 * item['base_rate']:.1f}% overall (q={item['q_value']:.2g}); missingness "
                     f"marks how records were kept, so it is reported here, never used as a criterion")
        evidence = ledger.add("data_quality", f"{item['field']}|{item['direction']}", statement + ".",
                              {k: v for k, v in item.items() if k != "field"}, n=item["n"])
        findings.append({**item, "statement": statement, "evidence": evidence})
    return excluded, findings


def _has_values(con, frame: str, spec: FieldSpec) -> bool:
    column = f"{spec.name}_min" if spec.kind == "band" else spec.name
    return bool(con.execute(f"SELECT count(DISTINCT {_q(column)}) > 1 FROM {frame}").fetchall()[0][0])


def health_summary(con, health: HealthResult, config: AnalysisConfig, ledger: Ledger) -> HealthSummary:
    frame = health.frame
    if health.definition == "health":
        description = (f"a 0-100 health score from {', '.join(COMPONENT_TEXT[c].split(':')[0] for c in health.components)} "
                       f"(weights {', '.join(f'{c} {w:g}' for c, w in health.weights.items())}; each percentile-ranked, a "
                       f"missing component re-weighted away); good = top {config.health.top_share:.0%}, "
                       f"bad = bottom {config.health.bottom_share:.0%}"
                       + (f" ({health.note})" if health.note else ""))
    elif health.definition == "column":
        description = (f"good and bad by the outcome column {health.good_column!r}: {health.outcome}"
                       if health.outcome else f"good = the outcome column {health.good_column!r} is true, bad = it is false")
    else:
        description = "good = won deals, bad = lost deals (each deal with its company's fit fields)"
    columns = columns_of(con, frame)
    metrics_sql = ["count(*) AS n", *_outcome_columns(columns)]
    if "amount" in columns:
        metrics_sql.append("round(median(amount), 2) AS acv_median")
    query = f"SELECT cohort, {', '.join(metrics_sql)} FROM {frame} WHERE cohort IS NOT NULL GROUP BY cohort ORDER BY cohort"
    cursor = con.execute(query)
    names = [d[0] for d in cursor.description]
    cohort_metrics = {row[0]: dict(zip(names[1:], row[1:])) for row in cursor.fetchall()}
    histogram: dict[str, list[int]] = {}
    if "health" in columns:
        for cohort, bin_, count in con.execute(
                f"SELECT cohort, least(floor(health / 10), 9)::INT, count(*) FROM {frame} WHERE health IS NOT NULL "
                f"GROUP BY ALL ORDER BY ALL").fetchall():
            histogram.setdefault(cohort, [0] * 10)[bin_] = count
    ids = [ledger.add("health_definition", health.definition,
                      f"Good is defined as: {description}. {health.n:,} {health.entity}s were scored: "
                      f"{health.n_good:,} good ({health.words[0]}) and {health.n_bad:,} bad ({health.words[1]})"
                      + (f"; {health.censored:,} customers younger than {config.health.min_tenure_months:g} months "
                         f"were left out of retention" if health.censored else "") + ".",
                      {"n": health.n, "n_good": health.n_good, "n_bad": health.n_bad, "censored": health.censored,
                       "weights": health.weights, "as_of": health.as_of}, n=health.n,
                      query=health.queries.get("frame"))]
    for cohort, metrics in cohort_metrics.items():
        parts = [f"{metrics['n']:,} {health.entity}s"]
        if metrics.get("health_mean") is not None:
            parts.append(f"mean health {metrics['health_mean']:.1f}")
        if metrics.get("churn_rate") is not None:
            parts.append(f"churn {100 * metrics['churn_rate']:.1f}%")
        if metrics.get("nrr_median") is not None:
            parts.append(f"median NRR {100 * metrics['nrr_median']:.1f}%")
        ids.append(ledger.add("cohort", f"{health.definition}:{cohort}", f"Cohort {cohort}: {', '.join(parts)}.",
                              metrics, n=metrics["n"], query=" ".join(query.split())))
    return HealthSummary(definition=health.definition, entity=health.entity, description=description, n=health.n,
                         n_good=health.n_good, n_bad=health.n_bad, components=health.components,
                         weights=health.weights, censored=health.censored,
                         min_tenure_months=config.health.min_tenure_months if health.definition == "health" else None,
                         as_of=health.as_of, good_column=health.good_column, good_words=health.words[0],
                         bad_words=health.words[1], cohort_sizes=health.cohort_sizes,
                         cohort_metrics=cohort_metrics, histogram=histogram, evidence=ids)


def _candidates(selset: SelectorSet, target: np.ndarray, direction: str, config: AnalysisConfig,
                min_support: int, health: HealthResult, ledger: Ledger, *, outside: np.ndarray | None = None,
                tested_before: int = 0, known: dict[str, np.ndarray] | None = None) -> tuple[list[Candidate], int]:
    """Patterns over-indexing on `target` by WRAcc and by lift, with Fisher p and BH q over all tested.

    With `outside` (a row mask), the search runs on those rows only (the rows no chosen segment
    covers, to find the next distinct segment), while every figure is measured on all rows and
    the BH family is every pattern tested so far (`tested_before` plus this search's).
    `known`: for fields whose missingness over-indexes (a data-quality finding), the rows where the
    field is known; a pattern on such a field must also be significant against those rows alone
    (its p-value is the larger of the two), so its values do not inherit the outcome of the era or
    source in which the field was left blank.
    Returns the candidates, best first, and the number of patterns tested.
    """
    subset, positives = selset, target
    if outside is not None:
        subset = dataclasses.replace(selset, n=int(outside.sum()), codes=np.ascontiguousarray(selset.codes[:, outside]))
        positives = target[outside]
        if positives.all() or not positives.any():
            return [], 0
    found: dict[tuple, Pattern] = {}
    tested = 0
    for quality in ("wracc", "lift"):
        result = search(subset, positives, depth=config.depth, min_support=min_support, quality=quality,
                        top_k=config.top_k)
        tested += result.tested
        for p in result.patterns:
            found.setdefault(p.selectors, p)
    if outside is not None:  # measure on every row
        sizes, hits = evaluate(selset, target, [p.selectors for p in found.values()])
        found = {key: dataclasses.replace(p, n=int(n), k=int(k)) for (key, p), n, k in zip(found.items(), sizes, hits)}
        subset, positives = selset, target
    patterns = _distinct_rows(subset, [p for p in found.values()
                                       if p.n >= min_support and p.k * len(positives) > p.n * positives.sum()])
    if not patterns:
        return [], tested
    n_sg = np.array([p.n for p in patterns])
    k_sg = np.array([p.k for p in patterns])
    pvalues = fisher_exact_many(k_sg, n_sg, int(positives.sum()), len(positives))
    within_known: dict[int, dict] = {}
    for i, p in enumerate(patterns):
        fields = [s.field for s in p.selectors if known and s.field in known]
        if fields:
            present = np.logical_and.reduce([known[f] for f in fields])
            k_known, n_known = int(positives[present].sum()), int(present.sum())
            # one-sided: the pattern must over-index among the known rows too; a two-sided test would let a
            # pattern pass that under-indexes there, and all-one-outcome known rows give p = 1 (no evidence)
            within = float(fisher_greater_many(k_sg[i:i + 1], n_sg[i:i + 1], k_known, n_known)[0])
            if within > pvalues[i]:
                within_known[i] = {"fields": sorted(set(fields)), "n": n_known,
                                   "base_rate": k_known / n_known if n_known else None, "p_value": within}
            pvalues[i] = max(pvalues[i], within)
    qvalues = benjamini_hochberg(pvalues, n_tests=max(tested + tested_before, len(patterns)))
    candidates = [Candidate(p, direction, float(pv), float(qv), within_known=within_known.get(i))
                  for i, (p, pv, qv) in enumerate(zip(patterns, pvalues, qvalues))]
    candidates = _clearly_beats_parts(candidates, subset, positives, config.alpha)
    base = positives.mean()
    candidates.sort(key=lambda c: (-wilson_interval(c.k, c.n)[0] / base, -c.n, c.pattern.label))
    candidates = _collapse_near_duplicates(candidates, subset)
    for c in candidates:
        c.evidence = _pattern_evidence(c, base, health, ledger)
    return candidates, tested


def _segments(selset: SelectorSet, good: np.ndarray, config: AnalysisConfig, min_support: int, health: HealthResult,
              ledger: Ledger, known: dict[str, np.ndarray] | None = None) -> tuple[list[Candidate], list[Candidate]]:
    """The ICP segments (sequential covering) and every good candidate found on the way, best first.

    A top-k search fills up with variants of the strongest segment (the same segment with one more
    or one different criterion), so a second, weaker but distinct segment may never be listed. After
    each pick the search is run again on the rows no chosen segment covers, until `max_segments` are
    chosen or a round adds none; the BH family grows with every round's tests.

    ICP 1 is the best significant segment, however modest; a further ICP must also be strong: the
    lower bound of its lift at least `detectable_lift` (the effect the minimum support is sized
    for), so "not the worst sizes" does not become an ICP of its own next to a real segment.
    """
    base = good.mean()

    def choose(candidates: list[Candidate]) -> list[Candidate]:
        significant = [c for c in candidates if c.q < config.alpha]
        first = significant[:1]
        strong = [c for c in significant[1:] if wilson_interval(c.k, c.n)[0] / base >= config.detectable_lift]
        return _pick(first + strong, selset, config.max_segments, config.max_segment_overlap)

    candidates, tested = _candidates(selset, good, "good", config, min_support, health, ledger, known=known)
    segments = choose(candidates)
    while segments and len(segments) < config.max_segments:
        covered = _tier_members(selset, segments)
        more, more_tested = _candidates(selset, good, "good", config, min_support, health, ledger,
                                        outside=~covered, tested_before=tested, known=known)
        tested += more_tested
        known = {c.pattern.selectors for c in candidates}
        more = [c for c in more if c.pattern.selectors not in known]
        if not more:
            break
        candidates = sorted(candidates + more,
                            key=lambda c: (-wilson_interval(c.k, c.n)[0] / base, -c.n, c.pattern.label))
        chosen = choose(candidates)
        if len(chosen) <= len(segments):
            break
        segments = chosen
    return segments, candidates


def _clearly_beats_parts(candidates: list[Candidate], selset: SelectorSet, target: np.ndarray,
                         alpha: float) -> list[Candidate]:
    """The candidates, less every combination that does not beat each of its parts significantly.

    search.part_test_pvalue tests a combination against each proper part (one-sided Fisher on the
    part's rows in vs out of the combination, the largest p kept); Holm's step-down adjustment
    over all combinations tested here controls the chance that any kept combination is a noise
    criterion riding on a strong part (e.g. a city of a dozen next to a size band that is a
    disqualifier on its own). Single criteria pass unchanged.
    """
    combos = [i for i, c in enumerate(candidates) if len(c.pattern.selectors) > 1]
    if not combos:
        return candidates
    p = np.array([part_test_pvalue(candidates[i].pattern, target, selset) for i in combos])
    adjusted = holm(p)
    dropped = {i for i, a in zip(combos, adjusted) if a >= alpha}
    return [c for i, c in enumerate(candidates) if i not in dropped]


def holm(p: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error), in the input order."""
    p = np.asarray(p, dtype=float)
    order = np.argsort(p, kind="stable")
    m = len(p)
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(stepped, 1.0)
    return adjusted


RANGE_OPS = ("between", "gte", "lte")


def _collapse_near_duplicates(candidates: list[Candidate], selset: SelectorSet,
                              min_jaccard: float = 0.8) -> list[Candidate]:
    """Keep one of each family of near-duplicates, the first (best) in the given order.

    Two patterns are near-duplicates when they have the same criteria except for overlapping
    ranges on the same numeric fields ("employees 50-250" next to "employees 51-200", with the same
    rest) and cover nearly the same rows (Jaccard >= `min_jaccard`): reporting both says one thing
    twice and can make one segment look like two.
    """
    kept: list[tuple[Candidate, np.ndarray]] = []
    for c in candidates:
        rows = _rows(selset, c.pattern.selectors)
        duplicate = False
        for other, other_rows in kept:
            if not _same_but_ranges(c.pattern.selectors, other.pattern.selectors):
                continue
            union = int((rows | other_rows).sum())
            if union and (rows & other_rows).sum() / union >= min_jaccard:
                duplicate = True
                break
        if not duplicate:
            kept.append((c, rows))
    return [c for c, _ in kept]


def _same_but_ranges(a: tuple[Selector, ...], b: tuple[Selector, ...]) -> bool:
    if len(a) != len(b) or a == b:
        return False
    by_field = {s.field: s for s in b}
    if set(by_field) != {s.field for s in a}:
        return False
    return all(s == by_field[s.field] or (s.op in RANGE_OPS and by_field[s.field].op in RANGE_OPS) for s in a)


def _distinct_rows(selset: SelectorSet, patterns: list[Pattern]) -> list[Pattern]:
    """One pattern per set of covered rows: overlapping bands can describe the same entities twice."""
    seen: set[bytes] = set()
    kept = []
    for p in sorted(patterns, key=lambda p: (len(p.selectors), -p.quality, p.label)):
        key = hashlib.sha1(np.packbits(_rows(selset, p.selectors)).tobytes()).digest()
        if key not in seen:
            seen.add(key)
            kept.append(p)
    return kept


def _group_words(direction: str, health: HealthResult) -> str:
    """What the entities of a direction are, read after "are" ("won", "churned"): health.words."""
    return health.words[0] if direction == "good" else health.words[1]


def _pattern_evidence(c: Candidate, base: float, health: HealthResult, ledger: Ledger) -> str:
    rate = c.k / c.n
    low, high = wilson_interval(c.k, c.n)
    label = c.pattern.label
    words = _group_words(c.direction, health)
    statement = (f"{label}: {c.k:,} of {c.n:,} {health.entity}s ({100 * rate:.1f}%) are "
                 f"{words} vs {100 * base:.1f}% overall, lift {rate / base:.2f} "
                 f"(95% CI {100 * low:.1f}-{100 * high:.1f}%, p={c.p:.2g}, q={c.q:.2g}).")
    if c.within_known and c.within_known["base_rate"] is not None:
        w = c.within_known
        statement += (f" p is the test among the {w['n']:,} {health.entity}s whose {' and '.join(w['fields'])} "
                      f"{'is' if len(w['fields']) == 1 else 'are'} known, {100 * w['base_rate']:.1f}% of them {words}: "
                      f"that field's missingness over-indexes, so a value must also beat the rows where it is known.")
    predicate = " AND ".join(s.sql() for s in c.pattern.selectors)
    target = "good" if c.direction == "good" else "bad"
    query = (f"SELECT count(*) AS n, count_if({target}) AS k FROM {health.frame} WHERE cohort IS NOT NULL AND {predicate}")
    return ledger.add("pattern", f"{c.direction}|{health.definition}|{label}", statement,
                      {"n": c.n, "k": c.k, "rate": rate, "base_rate": base, "lift": rate / base, "ci_low": low,
                       "ci_high": high, "p_value": c.p, "q_value": c.q, "direction": c.direction,
                       **({"known_rows": c.within_known} if c.within_known else {})}, n=c.n, query=query)


def _pattern_stat(c: Candidate, headers: dict[str, str], target: np.ndarray) -> PatternStat:
    base = float(target.mean())
    rate = c.k / c.n
    low, high = wilson_interval(c.k, c.n)
    n_total = len(target)
    return PatternStat(direction=c.direction, label=c.pattern.label,
                       criteria=[criterion(s, headers) for s in c.pattern.selectors], n=c.n, k=c.k, rate=rate,
                       base_rate=base, lift=rate / base, wracc=c.n / n_total * (rate - base), ci_low=low, ci_high=high,
                       p_value=c.p, q_value=c.q, evidence=c.evidence)


def _rows(selset: SelectorSet, selectors) -> np.ndarray:
    covered = np.ones(selset.n, dtype=bool)
    for s in selectors:
        covered &= selset.mask(s)
    return covered


def _pick(candidates: list[Candidate], selset: SelectorSet, limit: int, max_overlap: float,
          max_depth: int | None = None) -> list[Candidate]:
    """Greedy: best first, skipping any that overlaps an earlier pick by more than max_overlap.

    Overlap is the overlap coefficient |A and B| / min(|A|, |B|): a pattern nested in another
    (Reseller AND Online Big inside Reseller) is the same segment, not a second one.
    """
    chosen: list[tuple[Candidate, np.ndarray]] = []
    for c in candidates:
        if max_depth and len(c.pattern.selectors) > max_depth:
            continue
        rows = _rows(selset, c.pattern.selectors)
        if all((rows & other).sum() / max(min(rows.sum(), other.sum()), 1) <= max_overlap for _, other in chosen):
            chosen.append((c, rows))
        if len(chosen) == limit:
            break
    return [c for c, _ in chosen]


def _tiers(con, frame: str, segments: list[Candidate], selset: SelectorSet, good: np.ndarray,
           config: AnalysisConfig, health: HealthResult, inputs: AnalysisInputs, ledger: Ledger,
           min_support: int = 10) -> list[Tier]:
    """Tier 1 is each segment; Tiers 2 and 3 are its broader parts that still do at least as well as average.

    A part is judged on the entities it adds (those not already in a better tier), so a
    Tier 2 or 3 never borrows its figures from the Tier 1 entities inside it.
    """
    tiers: list[Tier] = []
    base = good.mean()
    taken = np.zeros(selset.n, dtype=bool)
    for segment in segments:
        taken |= _rows(selset, segment.pattern.selectors)
    for number, segment in enumerate(segments, start=1):
        name = f"ICP {number}"
        chosen = [tuple(segment.pattern.selectors)]
        parts = [tuple(p) for size in range(len(chosen[0]) - 1, 0, -1)
                 for p in itertools.combinations(chosen[0], size)]
        for _ in (2, 3):
            pick = _best_part([p for p in parts if len(p) <= len(chosen[-1]) and p not in chosen], selset, good,
                              base, taken, min_support)
            if pick is None:
                break
            chosen.append(pick)
            taken |= _rows(selset, pick)
        for tier_number, selectors in enumerate(chosen, start=1):
            tiers.append(Tier(tier=tier_number, segment=name,
                              name=f"{name} Tier {tier_number}: " + " AND ".join(s.label for s in selectors),
                              criteria=[criterion(s, inputs.headers) for s in selectors]))
    tiers.sort(key=lambda t: (t.tier, t.segment))
    _tier_metrics(con, frame, tiers, health, config, inputs, ledger)
    return tiers


def _best_part(options: list[tuple[Selector, ...]], selset: SelectorSet, good: np.ndarray, base: float,
               taken: np.ndarray, min_n: int) -> tuple[Selector, ...] | None:
    """The option whose new entities (outside `taken`) have the best lower-bound good rate, at least average."""
    best, best_low = None, -1.0
    for option in options:
        rows = _rows(selset, option) & ~taken
        n, k = int(rows.sum()), int((rows & good).sum())
        if n < min_n or k / n < base:
            continue
        low = wilson_interval(k, n)[0]
        if low > best_low:
            best, best_low = option, low
    return best


def criteria_sql(criteria: list[Criterion], band_fields: set[str] | None = None) -> str:
    """A conjunction of icp.json criteria as a DuckDB predicate (the compiler in criteria.py; NULL-safe).
    band_fields: fields known to be bands when a criterion does not carry its kind (an old icp.json)."""
    return _criteria_sql(criteria, {f: "band" for f in band_fields or ()})


def criterion_sql(c: Criterion, band_fields: set[str] | None = None) -> str:
    """One criterion as SQL (the compiler in criteria.py)."""
    return _criterion_sql(c, {f: "band" for f in band_fields or ()})


criterion_kind = implied_kind  # the old name, kept for callers


def _tier_members(selset: SelectorSet, segments: list[Candidate]) -> np.ndarray:
    rows = np.zeros(selset.n, dtype=bool)
    for segment in segments:
        rows |= _rows(selset, segment.pattern.selectors)
    return rows


def _overlap_with(c: Candidate, tier_rows: np.ndarray, selset: SelectorSet) -> float:
    rows = _rows(selset, c.pattern.selectors)
    return float((rows & tier_rows).sum() / max(rows.sum(), 1))


def _outcome_columns(columns: set[str]) -> list[str]:
    """Mean health, churn rate and median NRR of a group, for the outcomes the frame has (cohorts and tiers)."""
    out = []
    if "health" in columns:
        out.append("round(avg(health), 1) AS health_mean")
    if "churned_flag" in columns:
        out.append("round(avg(churned_flag::INT), 4) AS churn_rate")
    if "nrr_raw" in columns:
        out.append("round(median(nrr_raw), 4) AS nrr_median")
    return out


def _metric_columns(columns: set[str]) -> list[str]:
    out = ["count(*) AS n", "count_if(good) AS n_good", "count_if(bad) AS n_bad", *_outcome_columns(columns)]
    if {"churned_flag", "tenure_months"} <= columns:
        out.append("sum(churned_flag::INT) / nullif(sum(tenure_months) / 12, 0) AS annual_churn")
    for name in ("cac", "arr", "starting_arr", "amount"):
        if name in columns:
            out.append(f"round(median({name}), 2) AS {name}_median")
            out.append(f"avg({name}) AS {name}_mean")
    return out


def _tier_metrics(con, frame: str, tiers: list[Tier], health: HealthResult,
                  config: AnalysisConfig, inputs: AnalysisInputs, ledger: Ledger) -> None:
    """Observed metrics per tier (each entity counted in its best tier only), with evidence."""
    if not tiers:
        return
    columns = columns_of(con, frame)
    total = con.execute(f"SELECT count(*) FROM {frame} WHERE cohort IS NOT NULL").fetchall()[0][0]
    deals_frame = _deals_frame(con, frame, health, inputs, list(inputs.fit_fields))
    for tier in tiers:
        better = [t for t in tiers if (t.tier, t.segment) < (tier.tier, tier.segment)]
        exclude = " AND ".join(f"NOT ({criteria_sql(t.criteria)})" for t in better) or "TRUE"
        predicate = f"{criteria_sql(tier.criteria)} AND {exclude}"
        company = company_key_sql(con, frame) if health.entity == "deal" else None
        # deal-level: the companies behind the tier's deals, and the customers (companies with a won deal) among them
        counted = [f"count(DISTINCT {company}) AS companies", f"count(DISTINCT {company}) FILTER (WHERE good) AS customers"
                   ] if company else []
        query = (f"SELECT {', '.join(_metric_columns(columns) + counted)} FROM {frame} "
                 f"WHERE cohort IS NOT NULL AND {predicate}")
        cursor = con.execute(query)
        metrics = dict(zip([d[0] for d in cursor.description], cursor.fetchall()[0]))
        metrics["share"] = metrics["n"] / total if total else None
        metrics["good_rate"] = metrics["n_good"] / metrics["n"] if metrics["n"] else None
        if metrics.get("annual_churn") and metrics.get("cac_mean"):
            revenue = metrics.get("starting_arr_mean") or metrics.get("arr_mean")
            if revenue:
                lifetime = min(1 / metrics["annual_churn"], 10.0)
                metrics["ltv_cac"] = round(revenue * lifetime / metrics["cac_mean"], 2)
        if deals_frame:
            metrics.update(_win_rate(con, deals_frame, tier.criteria))
        tier.metrics = {k: v for k, v in metrics.items() if not k.endswith("_mean") and v is not None}
        tier.metrics = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in tier.metrics.items()}
        if metrics["share"] is not None and metrics["share"] > config.too_broad_share:
            tier.flags.append(f"too broad: matches {100 * metrics['share']:.0f}% of {health.entity}s (over "
                              f"{100 * config.too_broad_share:.0f}%)")
        if metrics["n"] < max(10, config.too_narrow_share * total):
            tier.flags.append(f"too narrow: {metrics['n']} {health.entity}s, too few to act on")
        tier.evidence.append(ledger.add("tier", f"{health.definition}|{tier.name}", _tier_statement(tier, health),
                                        tier.metrics, n=metrics["n"], query=" ".join(query.split())))


def _win_rate(con, deals_frame: str, criteria: list[Criterion]) -> dict:
    """Win rate of the closed deals matching the criteria, when lost deals carry those fields.

    Lost deals are often with companies we know little about; a criterion on a field they
    lack would match only won deals and show a 100% win rate. Then it is not measurable.
    """
    columns = columns_of(con, deals_frame)
    absent = missing_fields(criteria, None, columns)
    if absent:
        return {"win_rate_note": f"not measurable: the deals have no {', '.join(absent)}"}
    for c in criteria:
        column = columns_needed(c.field, resolve_kind(c, None))[0]
        coverage = con.execute(f"SELECT avg(({_q(column)} IS NOT NULL)::INT) FROM {deals_frame} WHERE bad").fetchall()[0][0]
        if not coverage or coverage < 0.5:
            return {"win_rate_note": f"not measurable: lost deals carry no {c.field}"}
    won, lost = con.execute(f"SELECT count_if(good), count_if(bad) FROM {deals_frame} WHERE "
                            f"{criteria_sql(criteria)}").fetchall()[0]
    if not won + lost:
        return {}
    return {"win_rate": won / (won + lost), "win_rate_n": won + lost}


def company_key_sql(con, frame: str) -> str | None:
    """The column naming a deal's company in a deal-level frame (company_id, domain or company_name: the one
    filled on most rows), so deals are counted as companies; None when the frame has none."""
    present = [c for c in ("company_id", "domain", "company_name") if c in columns_of(con, frame)]
    if not present:
        return None
    filled = con.execute("SELECT " + ", ".join(f"count({_q(c)})" for c in present) + f" FROM {frame}").fetchall()[0]
    best = max(range(len(present)), key=lambda i: (filled[i], -i))
    return _q(present[best]) if filled[best] else None


def _tier_statement(tier: Tier, health: HealthResult) -> str:
    m = tier.metrics
    parts = [f"{m['n']:,} {health.entity}s ({100 * m['share']:.1f}% of all)"]
    if m.get("companies") is not None:
        parts.append(f"{m['companies']:,} companies, {m.get('customers', 0):,} of them customers (a won deal)")
    if m.get("health_mean") is not None:
        parts.append(f"mean health {m['health_mean']:.1f}")
    if m.get("churn_rate") is not None:
        parts.append(f"churn {100 * m['churn_rate']:.1f}%")
    if m.get("nrr_median") is not None:
        parts.append(f"median NRR {100 * m['nrr_median']:.1f}%")
    if m.get("ltv_cac") is not None:
        parts.append(f"LTV:CAC {m['ltv_cac']:.1f}")
    if m.get("win_rate") is not None:
        parts.append(f"win rate {100 * m['win_rate']:.1f}% of {m['win_rate_n']:,} closed deals")
    if health.definition != "health" and m.get("good_rate") is not None:
        parts.append(f"{100 * m['good_rate']:.1f}% {health.words[0]}")
    return f"{tier.name}: {', '.join(parts)}."


def _deals_frame(con, frame: str, health: HealthResult, inputs: AnalysisInputs, fit_fields: list[str]) -> str | None:
    """Won/lost deals with fit fields, to measure win rate per tier (the frame itself when deals define good)."""
    if health.definition == "won":
        return frame
    if not inputs.deals:
        return None
    deals_table = f"{frame}_deals"
    try:
        build_deals_frame(con, inputs.customers, inputs.deals, deals_table, fit_fields, schema=inputs.schema)
    except DataShapeError:  # deals without won/lost give no win rate, which is reported as absent
        return None
    return deals_table


def _disqualifiers(picks: list[Candidate], health: HealthResult, inputs: AnalysisInputs,
                   ledger: Ledger) -> list[Disqualifier]:
    out = []
    for c in picks:
        metrics = ledger.get(c.evidence).metrics
        rate, base = c.k / c.n, metrics["base_rate"]
        reason = (f"{100 * rate:.0f}% of these {health.entity}s are {_group_words('bad', health)} vs "
                  f"{100 * base:.0f}% overall ({rate / base:.1f}x, n={c.n:,}, q={c.q:.2g})")
        out.append(Disqualifier(criteria=[criterion(s, inputs.headers) for s in c.pattern.selectors], reason=reason,
                                metrics={k: metrics[k] for k in ("n", "k", "rate", "base_rate", "lift", "ci_low",
                                                                 "ci_high", "p_value", "q_value")},
                                evidence=[c.evidence]))
    return out


def _retention(con, frame: str, tiers: list[Tier], ledger: Ledger) -> list[RetentionCurve]:
    columns = columns_of(con, frame)
    if not {"churned_flag", "tenure_months"} <= columns:
        return []
    groups = [("cohort", c, f"cohort = '{c}'") for c in ("top", "middle", "bottom")]
    groups += [("tier", t.name, criteria_sql(t.criteria)) for t in tiers if t.tier == 1]
    curves = []
    for kind, name, predicate in groups:
        query = f"SELECT tenure_months, churned_flag FROM {frame} WHERE tenure_months IS NOT NULL AND {predicate}"
        data = con.execute(query).fetchall()
        if not data:
            continue
        months = np.array([r[0] for r in data], dtype=float)
        churned = np.array([r[1] for r in data], dtype=bool)
        points = kaplan_meier(months, churned)
        at12 = next((s for t, s in reversed(points) if t <= 12), 1.0)
        evidence = ledger.add("retention_curve", f"{kind}|{name}",
                              f"Retention of {name} ({len(months):,} customers, {int(churned.sum()):,} churned): "
                              f"{100 * at12:.1f}% still customers after 12 months (Kaplan-Meier).",
                              {"n": len(months), "events": int(churned.sum()), "retained_12m": at12},
                              n=len(months), query=" ".join(query.split()))
        curves.append(RetentionCurve(group=name, kind=kind, n=len(months), events=int(churned.sum()), points=points,
                                     evidence=evidence))
    return curves


def _no_icp_reason(candidates: list[Candidate], health: HealthResult, config: AnalysisConfig,
                   ledger: Ledger, excluded_fields: list[dict] | None = None) -> str:
    """Why nothing survived, and what data would help, from the figures (and which fields were screened out)."""
    base = health.n_good / max(health.n, 1)
    detectable = _detectable_rate(base, 0.1, health.n)
    if candidates:
        best = min(candidates, key=lambda c: c.p)
        lead = (f"the strongest trait, {best.pattern.label}, has {100 * best.k / best.n:.1f}% good vs "
                f"{100 * base:.1f}% overall (lift {best.k / best.n / base:.2f}, n={best.n:,}, p={best.p:.2g}) but "
                f"q={best.q:.2g} after correcting for every pattern tested")
    else:
        lead = "no trait over-indexes among the good at all"
    size = (f"a segment of 10% of them would need a good rate of about {100 * detectable:.1f}% to be detected "
            f"reliably (80% power, before the correction)" if detectable else
            "even a segment of 10% of them that was always good could not be detected reliably")
    reason = (f"No significant ICP in this data: {lead}. With {health.n:,} {health.entity}s and a {100 * base:.1f}% "
              f"good rate, {size}: the differences seen are smaller, so they may be chance. More closed deals, a real "
              f"outcome (churn, expansion), or more fit fields (technologies, funding, growth) would help.")
    if excluded_fields:
        reason += (" Kept out of the criteria: " + ", ".join(f"{e['field']} ({e['rule']})" for e in excluded_fields)
                   + "; see excluded_fields for why.")
    ledger.add("no_significant_icp", health.definition, reason,
               {"n": health.n, "base_rate": base, "detectable_rate": detectable, "alpha": config.alpha}, n=health.n)
    return reason


def _detectable_rate(p0: float, share: float, n: int) -> float | None:
    """The smallest good rate a segment of `share` of n entities needs to be told from the rest at p0."""
    for step in range(1, 200):
        p1 = p0 + (1 - p0) * step / 200
        if _sample_size(p0, p1, share) <= n:
            return p1
    return None


def _sample_size(p0: float, p1: float, share: float, power_z: float = 0.8416, alpha_z: float = 1.96) -> int:
    """Entities needed to tell a segment (a `share` of all) with rate p1 from the rest at p0."""
    p_bar = share * p1 + (1 - share) * p0
    numerator = (alpha_z * math.sqrt(p_bar * (1 - p_bar) * (1 / share + 1 / (1 - share)))
                 + power_z * math.sqrt(p1 * (1 - p1) / share + p0 * (1 - p0) / (1 - share))) ** 2
    return int(math.ceil(numerator / (p1 - p0) ** 2))


def _statement(tiers: list[Tier], disqualifiers: list[Disqualifier], reason: str | None) -> str:
    if not tiers:
        return reason or "No significant ICP in this data."
    tier1 = [t for t in tiers if t.tier == 1]
    segments = "; or ".join(f"companies with {_and(c.label for c in t.criteria)} ({t.segment})" for t in tier1)
    signals = sorted({c.label for t in tiers for c in t.criteria})
    excluded = "; ".join(_and(c.label for c in d.criteria) for d in disqualifiers) or \
        "nothing yet (no trait over-indexes significantly among the worst)"
    return f"ICP: {segments}. We recognize a fit by: {', '.join(signals)}. We deliberately exclude: {excluded}."


def _and(labels) -> str:
    labels = list(labels)
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def fingerprint(imports: list[dict]) -> str:
    digest = hashlib.sha256("|".join(sorted(f"{i['kind']}:{i['sha256']}" for i in imports)).encode())
    return digest.hexdigest()[:16]
