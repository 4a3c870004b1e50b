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
  base rate would be significant at `alpha` with 80% power (`detectable_support`), at least 10; in a
  small book, where that is more than 5% of the entities, it is 5% of them, and no less than the
  segment a rate twice the base rate needs (support.default_min_support: 643 customers at 20% needed
  216 for 1.5x, and a segment of 74 churning at 2.9x went unseen);
- when the entities are deals, one company's deals (renewals, several opportunities) are not independent:
  a pattern must also hold a minimum of distinct companies (the deal minimum at the data's mean deals per
  company, support.min_companies), and its p-value allows for the clustering (Rao-Scott design effect, clusters.py);
  each tier says its deals and companies, and a tier resting on few companies is flagged;
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
import functools
import hashlib
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import duckdb
import numpy as np

from icp_agent.evidence import Ledger
from icp_agent.health.deal_kinds import deal_terms
from icp_agent.health.health_score import (
    HealthConfig,
    build_frame,
    in_row_order,
    stage_class,
)
from icp_agent.icp_document import (
    DataQualityFinding,
    DatasetImport,
    DatasetInfo,
    ExcludedField,
    HealthSummary,
    IcpDocument,
    MinSupport,
    Tier,
)
from icp_agent.patterns.screen import known_rows, screen_fields
from icp_agent.patterns.selectors import (
    build_selectors,
)
from icp_agent.progress import Parts, Step, watch, watcher
from icp_agent.schema import AnalysisInputs  # callers import it from here too
from icp_agent.sql import columns_of
from icp_agent.sql import quote_identifier as _q
from icp_agent.tiers.candidates import (
    Candidate,
    find_candidates,
    pattern_stat,
)
from icp_agent.tiers.clusters import company_clusters
from icp_agent.tiers.cohorts import health_summary
from icp_agent.tiers.metrics import company_key_sql
from icp_agent.tiers.prose import explain_no_icp, icp_statement
from icp_agent.tiers.retention import retention_curves
from icp_agent.tiers.screening import screen_findings
from icp_agent.tiers.segments import (
    build_disqualifiers,
    build_tiers,
    choose_segments,
    overlap_with,
    pick_greedy,
    tier_members,
)
from icp_agent.tiers.specs import (
    criterion,
    display_label,
    field_specs,
    with_values,
)
from icp_agent.tiers.support import (
    default_min_support,
    few_companies_flag,
    min_companies,
    min_support_note,
    strong_below_support,
)


@dataclass
class AnalysisConfig:
    """The analysis settings: health definition, search depth, alpha, minimum support and its power, tier and disqualifier limits."""

    health: HealthConfig = field(default_factory=HealthConfig)
    depth: int = 3
    alpha: float = 0.05
    min_support: int | None = None  # default: detectable_support (what the data can detect), at least 10
    detectable_lift: float = 1.5  # the effect the default minimum support is sized to detect
    support_share: float = 0.05  # ... unless that segment is larger than this share of the entities (a small book)
    strong_lift: float = 2.0  # ... when the minimum is then no smaller than the segment this effect needs
    power: float = 0.8
    max_segments: int = 3
    max_disqualifiers: int = 5
    max_segment_overlap: float = 0.2
    top_k: int = 40
    too_broad_share: float = 0.5
    too_narrow_share: float = 0.01


# the steps a tier1_only analysis reports (health, screen, selectors, search): validation counts them as its checks
TIER1_STEPS = 4


def analyse(
    con: duckdb.DuckDBPyConnection,
    inputs: AnalysisInputs,
    config: AnalysisConfig,
    version_id: str,
    progress=None,
    *,
    keep_frame: bool = True,
    tier1_only: bool = False,
) -> tuple[IcpDocument, Ledger]:
    """Build an ICP version from the imported data: health frame, field screen, pattern search, tiers and
    disqualifiers; returns the icp.json document and the evidence ledger behind it.

    The frame (`frame_<version id>`) is a table of the workspace, read later by the evidence queries, the scoring
    matrix and version diffs; with keep_frame=False (a throwaway analysis, the backtest's) it is a TEMP table the
    caller drops, never written to the workspace file (at a million customers, writing it cost a second of CPU).
    With tier1_only=True (the backtest's, which reads only Tier 1's criteria) it stops once the segments are found:
    the document holds the Tier 1s alone, without the broader tiers, their metrics, the disqualifiers, retention and
    patterns (at a million customers these cost as much as the search). The Tier 1s are the full analysis's.
    """
    say = progress or (lambda _m: None)
    ledger = Ledger()
    frame = f"frame_{version_id.replace('-', '_')}"
    # each step over a second at a million customers counts what tracks its time (progress.py): the customers
    # scored, the fields screened, the searches run, the rows the tiers are measured on; nothing without a callback
    scoring = Step("scoring customer health", "customers")
    say(scoring)
    scored = watcher(con, progress, scoring, f"SELECT count(*) FROM {inputs.customers}") if inputs.customers else None
    health = build_frame(
        con,
        inputs.customers,
        inputs.deals,
        frame,
        config.health,
        list(inputs.fit_fields),
        schema=inputs.schema,
        temporary=not keep_frame,
        watched=scored or nullcontext,
        lean=tier1_only,  # the Tier 1s read the fit fields and the verdicts alone
    )
    summary = health_summary(con, health, config, ledger)
    present = columns_of(con, frame)
    specs = with_values(con, frame, [s for s in field_specs(inputs.fit_fields) if s.name in present])
    # entities with a verdict, in _row order, as the screen's, the selectors' and the targets' queries read them:
    # only the columns those read (the specs' columns in FieldSpec's layout, good and bad). A frame stored in _row
    # order is read in place, through a view (a filtered scan keeps its order): copied into a temporary table first,
    # as before, the screen and the selectors took 1.25-1.30 s of CPU at 1M customers against 0.83-0.85 s. A frame
    # stored in another order is copied once, sorted: as a subquery, its ORDER BY sorted every row again for each
    # of those queries
    relation = "__icp_entities"
    needed = ["_row", "good", "bad"] + [
        column for s in specs for column in (s.name, f"{s.name}_min", f"{s.name}_max") if column in present
    ]
    in_place = in_row_order(con, frame)
    kind = "VIEW" if in_place else "TABLE"
    con.execute(
        f"CREATE OR REPLACE TEMP {kind} {relation} AS SELECT {', '.join(_q(c) for c in dict.fromkeys(needed))} "
        f"FROM {frame} WHERE cohort IS NOT NULL{'' if in_place else ' ORDER BY _row'}"
    )
    n_rows, n_good, n_bad = con.execute(f"SELECT count(*), count_if(good), count_if(bad) FROM {relation}").fetchall()[0]
    min_support = config.min_support or default_min_support(n_rows, n_good, n_bad, config)
    # deal level: a company's deals are not independent (tiers/clusters.py); support is also counted in companies
    clusters = (
        company_clusters(con, f"(SELECT * FROM {frame} WHERE cohort IS NOT NULL)", company_key_sql(con, frame))
        if health.entity == "deal"
        else None
    )
    least_companies = min_companies(min_support, clusters.count, n_rows) if clusters is not None else 0
    support = min_support_note(
        min_support,
        config,
        health,
        n_rows,
        n_good,
        n_bad,
        companies=(least_companies, clusters.count) if clusters is not None else None,
    )
    screening = Parts(progress, f"screening {len(specs)} fit fields", "fields")
    screening.expect(len(specs))
    screen = screen_fields(
        con,
        relation,
        specs,
        types=inputs.fit_fields,
        confirmed=inputs.confirmed,
        min_count=min_support,
        alpha=config.alpha,
        headers=inputs.headers,
        entity=health.entity,
        words=health.words,
        screened=screening.advance,
    )
    excluded_fields, data_quality = screen_findings(screen, health, ledger)
    selecting = Parts(progress, f"building selectors over {len(screen.kept)} fit fields", "fields")
    selecting.expect(len(screen.kept))
    # is-missing traits are never criteria; the outcome class (good 2, middle 1, bad 0) groups categories
    selset = build_selectors(
        con,
        relation,
        screen.kept,
        min_count=min_support,
        include_missing=False,
        outcome="CASE WHEN good THEN 2 WHEN bad THEN 0 ELSE 1 END",
        built=selecting.advance,
        in_place=True,  # a table, or the view of one in its stored order
    )
    selset.selectors[:] = [
        dataclasses.replace(sel, label=display_label(sel, inputs.fit_fields)) for sel in selset.selectors
    ]
    # a NULL verdict reads as False, as bool(None) did
    targets = con.execute(
        f"SELECT coalesce(good, FALSE) AS good, coalesce(bad, FALSE) AS bad FROM {relation}"
    ).fetchnumpy()
    good, bad = (np.asarray(targets[c], dtype=bool) for c in ("good", "bad"))
    # a search per round of segments (at most max_segments, fewer when a round adds none) and one for the bad rows
    searching = Parts(progress, "searching for over-indexing traits", "searches")
    searching.expect(config.max_segments + (0 if tier1_only else 1))
    known = known_rows(con, relation, screen.kept, {d["field"] for d in data_quality})
    con.execute(f"DROP {kind} {relation}")
    segments, good_candidates = choose_segments(
        selset,
        good,
        config,
        min_support,
        health,
        ledger,
        known,
        clusters=clusters,
        min_companies=least_companies,
        searched=searching.advance,
    )
    searching.reach(config.max_segments)
    if tier1_only:
        return _tier1_document(version_id, segments, inputs, summary), ledger
    bad_candidates, _ = find_candidates(
        selset,
        bad,
        "bad",
        config,
        min_support,
        health,
        ledger,
        known=known,
        clusters=clusters,
        min_companies=least_companies,
    )
    searching.advance()
    measuring = Step("measuring the tiers", "customers" if health.entity != "deal" else "deals")
    if segments:
        say(measuring)
    tiers = build_tiers(
        con,
        frame,
        segments,
        selset,
        good,
        config,
        health,
        inputs,
        ledger,
        min_support,
        clusters=clusters,
        min_companies=least_companies,
        watched=functools.partial(watch, con, progress, measuring, n_rows) if progress and segments else nullcontext,
    )
    for t in tiers:  # a tier's own deals (those of no better tier) can still rest on few companies
        flag = few_companies_flag(t.metrics.n, t.metrics.companies, least_companies, health.entity)
        if flag:
            t.flags.append(flag)
    tier_rows = tier_members(selset, segments)
    significant_bad = [c for c in bad_candidates if c.q < config.alpha and overlap_with(c, tier_rows, selset) < 0.3]
    disqualifiers = build_disqualifiers(
        pick_greedy(significant_bad, selset, config.max_disqualifiers, 0.5, max_depth=2), health, inputs, ledger
    )
    retention = retention_curves(con, frame, tiers, ledger)
    patterns = [
        pattern_stat(c, inputs.headers, good if c.direction == "good" else bad)
        for c in good_candidates[:15] + bad_candidates[:15]
    ]
    status: Literal["ok", "no_significant_icp"] = "ok" if tiers else "no_significant_icp"
    below = None
    if not tiers:  # a strong effect the minimum support kept out must not read as "the data is too small"
        categories = [s.name for s in screen.kept if s.kind == "category"]
        below = strong_below_support(
            con, f"(SELECT * FROM {frame} WHERE cohort IS NOT NULL)", categories, min_support, config.alpha
        )
    reason = (
        None if tiers else explain_no_icp(good_candidates, health, config, ledger, excluded_fields, below, min_support)
    )
    warnings = [f"{t.name}: {flag}" for t in tiers for flag in t.flags]
    warnings += [f"health: {health.not_customers_note}"] if health.not_customers_note else []
    warnings += [f"excluded from criteria: {e['reason']}" for e in excluded_fields]
    warnings += [f"data quality: {d['statement']}" for d in data_quality]
    if inputs.deals and "deal_stage" in columns_of(con, inputs.deals):  # what win rates and ACV counted
        warnings += [f"deals: {note}" for note in deal_terms(con, inputs.deals, stage_class("d.deal_stage")).notes]
    icp = IcpDocument(
        id=version_id,
        created_at=datetime.now(UTC),
        status=status,
        dataset=DatasetInfo(
            fingerprint=inputs.fingerprint, imports=[DatasetImport.model_validate(i) for i in inputs.imports]
        ),
        health=summary,
        statement=icp_statement(tiers, disqualifiers, reason),
        no_icp_reason=reason,
        tiers=tiers,
        negative_icp=disqualifiers,
        patterns=patterns,
        retention=retention,
        warnings=warnings,
        excluded_fields=[ExcludedField.model_validate(e) for e in excluded_fields],
        data_quality=[DataQualityFinding.model_validate(d) for d in data_quality],
        min_support=MinSupport.model_validate(support),
    )
    icp.evidence = ledger.all()
    return icp, ledger


def _tier1_document(
    version_id: str, segments: list[Candidate], inputs: AnalysisInputs, summary: HealthSummary
) -> IcpDocument:
    """The Tier 1 of each segment as build_tiers names and orders it, in a document with nothing else (tier1_only)."""
    tiers = [
        Tier(
            tier=1,
            segment=f"ICP {number}",
            name=f"ICP {number} Tier 1: " + " AND ".join(s.label for s in segment.pattern.selectors),
            criteria=[criterion(s, inputs.headers) for s in segment.pattern.selectors],
        )
        for number, segment in enumerate(segments, start=1)
    ]
    tiers.sort(key=lambda t: (t.tier, t.segment))
    return IcpDocument(
        id=version_id,
        created_at=datetime.now(UTC),
        status="ok" if tiers else "no_significant_icp",
        dataset=DatasetInfo(fingerprint=inputs.fingerprint, imports=[]),
        health=summary,
        statement="Tier 1 only: the analysis stopped once the segments were found (tier1_only)",
        tiers=tiers,
    )


def fingerprint(imports: list[dict]) -> str:
    """The dataset's fingerprint: the first 16 hex digits of sha256 over the imports' kinds and file hashes, sorted."""
    digest = hashlib.sha256("|".join(sorted(f"{i['kind']}:{i['sha256']}" for i in imports)).encode())
    return digest.hexdigest()[:16]
