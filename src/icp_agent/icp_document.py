"""The ICP as data: icp.json, section by section, as pydantic models.

`IcpDocument` is the whole document; its JSON Schema is published as icp.schema.json, and every section (tiers,
criteria, the scorecard, validation, drafted prose, the search's settings, the evidence) is a model here, so the
schema describes it field by field. What an import reports is in icp_agent.models; argument shapes in
icp_agent.shapes.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    ValidatorFunctionWrapHandler,
    WithJsonSchema,
    model_serializer,
    model_validator,
)

from icp_agent.evidence import EvidenceItem
from icp_agent.models import LinkReport
from icp_agent.shapes import UtcDateTime

# --- the ICP as data (icp.json) ------------------------------------------------------------------------------

ICP_SCHEMA_VERSION: Final = "1.0"
Op = Literal["eq", "in", "between", "gte", "lte", "contains", "is_missing"]


class Criterion(BaseModel):
    """One checkable condition on a fit field: something a seller can verify about a prospect."""

    model_config = ConfigDict(extra="forbid", defer_build=True)
    field: str = Field(description="canonical field name (see `icp-agent fields`)")
    op: Op
    value: str | float | bool | None = None
    values: list[str] | None = None
    min: float | None = None
    max: float | None = None
    max_exclusive: bool | None = Field(None, description="true when max is excluded (quantile bins)")
    kind: Literal["band", "number", "category", "list", "bool"] | None = Field(
        None,
        description="the field's kind in the build's schema; decides the columns the criterion reads "
        "(band: <field>_min/<field>_max, a range inside [min, max])",
    )
    header: str | None = Field(None, description="the column header this field came from")
    label: str = Field(description="the criterion in words")


# A number as the analysis wrote it: an int stays an int and a float a float (a plain `float` field would turn
# 600 into 600.0 and change the JSON on disk).
Number = Annotated[int | float, WithJsonSchema({"type": "number"})]


class Section(BaseModel):
    """A part of icp.json whose keys are exactly the ones its producer wrote, in the order it wrote them.

    Sections are typed field by field (the published schema describes them), but a key the producer left
    out stays out of the JSON (no `"reason": null` appears where there was no reason), and keys keep their
    order, so an icp.json written before the sections were typed loads and writes back byte for byte.
    Keys the model does not declare (written by an older or newer icp-agent) are kept as they are.
    """

    model_config = ConfigDict(extra="allow", defer_build=True)
    _order: list[str] = PrivateAttr(default_factory=list)

    @model_validator(mode="wrap")
    @classmethod
    def _remember_key_order(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        section = handler(data)
        if isinstance(data, dict) and isinstance(section, Section):
            section._order = list(data)
        return section

    @model_serializer(mode="wrap")
    def _given_keys_only(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        given = self.model_fields_set | set(self.__pydantic_extra__ or {})
        keys = [k for k in self._order if k in given and k in data]
        keys += [k for k in data if k in given and k not in self._order]  # set after loading: appended
        return {k: data[k] for k in keys}


class CohortMetrics(Section):
    """Observed outcomes of one health cohort (top, middle, bottom); each present when the data has it."""

    n: int | None = Field(None, description="entities in the cohort")
    health_mean: Number | None = Field(None, description="mean health score, 0-100")
    churn_rate: Number | None = Field(None, description="share that churned, 0-1")
    nrr_median: Number | None = Field(None, description="median net revenue retention (1.0 = flat)")
    acv_median: Any = Field(None, description="median deal amount, in the deals' currency")


class HealthSummary(Section):
    """Good and bad entities: definition, counts, cohorts (icp.json health, score_health)."""

    definition: Literal["health", "column", "won"]
    entity: Literal["customer", "deal"]
    description: str
    n: int
    n_good: int
    n_bad: int
    components: list[str] = Field(default_factory=list)
    weights: dict[str, float] = Field(default_factory=dict)
    censored: int = 0
    not_customers: int = Field(0, description="accounts left out as not customers (not in n)")
    min_tenure_months: float | None = None
    as_of: str | None = None
    good_column: str | None = None
    good_words: str | None = Field(None, description="what a good entity is, read after 'are': won, retained, ...")
    bad_words: str | None = Field(None, description="what a bad entity is, read after 'are': lost, churned, ...")
    cohort_sizes: dict[str, int] = Field(default_factory=dict)
    cohort_metrics: dict[str, CohortMetrics] = Field(
        default_factory=dict, description="per cohort: mean health, churn rate, NRR, ..."
    )
    histogram: dict[str, list[int]] = Field(
        default_factory=dict, description="per cohort: entities per 10-point health bin (0-10 ... 90-100)"
    )
    evidence: list[str] = Field(default_factory=list)


class RetentionCurve(BaseModel):
    """Kaplan-Meier retention: churn is the event, active customers are censored."""

    model_config = ConfigDict(defer_build=True)  # built on first use: the import command never uses it

    group: str = Field(description="a cohort (top/middle/bottom) or a tier")
    kind: Literal["cohort", "tier"]
    n: int
    events: int
    points: list[tuple[float, float]] = Field(description="(months, share still a customer), a step function")
    evidence: str | None = None


class PatternStat(Section):
    """A trait over-indexing among the best or worst; Wilson interval, BH q-value (icp.json patterns)."""

    direction: Literal["good", "bad"]
    label: str
    criteria: list[Criterion]
    n: int = Field(description="entities matching the pattern")
    k: int = Field(description="of which in the target group (best or worst)")
    rate: float
    base_rate: float
    lift: float
    wracc: float
    ci_low: float
    ci_high: float
    p_value: float
    q_value: float
    evidence: str
    companies: int | None = Field(
        None,
        description="deal level: distinct companies behind the matching deals",
    )
    design_effect: float | None = Field(
        None,
        description="deal level: Rao-Scott design effect (>= 1) for a company's deals sharing their outcome; "
        "p_value allows for it",
    )


class TierMetrics(Section):
    """Observed figures of a tier's entities (each counted in its best tier only); a figure the data cannot
    give is left out."""

    n: int | None = Field(None, description="entities in the tier")
    n_good: int | None = None
    n_bad: int | None = None
    health_mean: Number | None = Field(None, description="mean health score, 0-100")
    churn_rate: Number | None = Field(None, description="share that churned, 0-1")
    nrr_median: Number | None = Field(None, description="median net revenue retention (1.0 = flat)")
    annual_churn: Number | None = Field(None, description="churned customers per customer-year")
    cac_median: Any = Field(None, description="median customer acquisition cost, in the data's currency")
    arr_median: Any = Field(None, description="median ARR, in the data's currency")
    starting_arr_median: Any = Field(None, description="median starting ARR, in the data's currency")
    amount_median: Any = Field(None, description="median deal amount, in the data's currency")
    companies: int | None = Field(None, description="deal level: distinct companies behind the tier's deals")
    customers: int | None = Field(None, description="deal level: companies with a won deal")
    share: Number | None = Field(None, description="share of all entities with a verdict, 0-1")
    good_rate: Number | None = Field(None, description="share of the tier's entities that are good, 0-1")
    ltv_cac: Number | None = Field(None, description="lifetime value over CAC (lifetime capped at 10 years)")
    win_rate: Number | None = Field(None, description="won / closed deals matching the criteria, 0-1")
    win_rate_n: int | None = Field(None, description="closed deals the win rate is over")
    win_rate_note: str | None = Field(None, description="why the win rate is not measurable")


class Tier(BaseModel):
    """One ICP tier: its segment, criteria, observed metrics and evidence ids (icp.json tiers)."""

    model_config = ConfigDict(defer_build=True)  # built on first use: the import command never uses it

    tier: Literal[1, 2, 3]
    segment: str = Field(description="which ICP segment this tier refines (ICP 1, ICP 2, ...)")
    name: str
    criteria: list[Criterion]
    metrics: TierMetrics = Field(default_factory=TierMetrics)
    flags: list[str] = Field(default_factory=list, description="too_broad / too_narrow warnings")
    evidence: list[str] = Field(default_factory=list)


class PatternMetrics(Section):
    """A disqualifier's pattern statistics (as in patterns[])."""

    n: int | None = Field(None, description="entities matching")
    k: int | None = Field(None, description="of which in the target group")
    rate: Number | None = None
    base_rate: Number | None = None
    lift: Number | None = None
    ci_low: Number | None = Field(None, description="95% interval of the rate, low end")
    ci_high: Number | None = Field(None, description="95% interval of the rate, high end")
    p_value: Number | None = None
    q_value: Number | None = Field(None, description="Benjamini-Hochberg adjusted p-value")
    companies: int | None = Field(None, description="deal level: distinct companies behind the matching deals")


class Disqualifier(BaseModel):
    """A negative-ICP rule: criteria, reason, pattern figures and drafted rationale (icp.json negative_icp)."""

    model_config = ConfigDict(defer_build=True)  # built on first use: the import command never uses it

    criteria: list[Criterion]
    reason: str
    metrics: PatternMetrics = Field(default_factory=PatternMetrics)
    evidence: list[str] = Field(default_factory=list)
    rationale: str | None = Field(None, description="drafted prose (offline drafter or Claude), cited")


class DatasetImport(Section):
    """One import the version was built from."""

    kind: str | None = None
    file_name: str | None = None
    sha256: str | None = None
    rows: int | None = Field(None, description="rows kept by the import")
    import_id: str | None = None


def _build_options_schema(schema: dict[str, Any]) -> None:
    """dataset.options in the published schema: the fields of the build options (icp_agent.options.AnalysisOptions),
    read when the schema is generated (options.py imports this module). Keys of an older or newer icp-agent are
    allowed, as in the sections."""
    from icp_agent.options import AnalysisOptions

    schema["properties"] = AnalysisOptions.model_json_schema()["properties"]


class DatasetInfo(BaseModel):
    """The inputs and build options an ICP version was built from (icp.json dataset)."""

    model_config = ConfigDict(defer_build=True)  # built on first use: the import command never uses it

    fingerprint: str
    imports: list[DatasetImport] = Field(default_factory=list)
    links: list[LinkReport] = Field(
        default_factory=list, description="how deals and contacts linked to the companies when this version was built"
    )
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="the build options this version was built "
        "with (build_icp's options, every field); "
        "validate_icp, fit_scorecard and "
        "diff_icp_versions use them again",
        json_schema_extra=_build_options_schema,
    )

    @model_serializer(mode="wrap")
    def _options_when_given(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # a version built before the options were stored has none: its icp.json is written back as it was read
        data = handler(self)
        if "options" not in self.model_fields_set:
            data.pop("options", None)
        return data


# --- drafted prose: personas, narratives, themes ----------------------------------------------------------------


class CitedClaim(Section):
    """One drafted statement with the evidence ids it rests on (checked by the grounding check)."""

    section: str | None = Field(
        None,
        description="who / goals / pains / objections / how_they_buy / "
        "where_they_research / rationale / narrative / theme",
    )
    text: str | None = None
    evidence: list[str] = Field(default_factory=list)


class Persona(Section):
    """A buying role in one tier: who they are, with cited claims and the known gaps."""

    segment: str | None = Field(None, description="ICP 1, ICP 2, ...")
    tier: int | str | None = Field(None, description="the tier's number (1-3); a drafter may have written its name")
    tier_name: str | None = None
    role: str | None = Field(None, description="champion, economic buyer, technical buyer, end user, blocker")
    title_patterns: list[str] = Field(default_factory=list)
    claims: list[CitedClaim] = Field(default_factory=list)
    gaps: list[str] = Field(default_factory=list, description="what the evidence does not say about them")
    drafter: str | None = None
    model: str | None = None


class Narrative(Section):
    """Drafted, cited prose for one tier."""

    tier_name: str | None = None
    claims: list[CitedClaim] = Field(default_factory=list)
    drafter: str | None = None
    model: str | None = None


class Theme(Section):
    """An interview theme with verbatim quotes, each cited."""

    theme: str | None = None
    claims: list[CitedClaim] = Field(default_factory=list)
    drafter: str | None = None
    model: str | None = None


class DroppedClaim(Section):
    """A drafted claim the grounding check refused, and why."""

    claim: str | None = None
    problem: str | None = None
    drafter: str | None = Field(None, description="the drafter that wrote it, when an assistant's run recorded it")


class DraftingRecord(Section):
    """Who wrote the prose: the drafter (and model), claims the grounding check dropped, notes that contained
    instructions; an assistant's run adds its own record (prompt versions, run status)."""

    drafter: str | None = None
    version: str | None = None
    model: str | None = None
    dropped_claims: list[DroppedClaim] = Field(default_factory=list)
    notes_with_instructions: list[str] = Field(default_factory=list, description="interview notes that address an AI")
    last_saved_by: str | None = None


# --- the lead score ----------------------------------------------------------------------------------------------


class BinCondition(Section):
    """When a scorecard bin applies: a criterion on the field (ops as in criteria, plus not_missing and
    not_contains)."""

    field: str | None = None
    op: str | None = None
    value: str | Number | bool | None = None
    values: list[str | Number | bool | None] | None = None
    min: Number | None = None
    max: Number | None = None
    max_exclusive: bool | None = None
    on: str | None = Field(None, description="band fields: the value compared (midpoint)")


class ScorecardBin(Section):
    """One bin of a scorecard feature: its condition, counts, WoE and points (icp.json scorecard)."""

    when: BinCondition | None = None
    label: str | None = Field(None, description="the bin in words, as a reason shows it")
    other: bool | None = Field(None, description="true when the bin pools rare values")
    missing: bool | None = Field(None, description="true for the bin of rows without a value")
    n: int | None = None
    n_good: int | None = None
    woe: Number | None = Field(None, description="weight of evidence, ln(good share / not-good share)")
    neutral: str | None = Field(None, description="why the bin scores as average (0 points)")
    points: int | None = None


class ScorecardFeature(Section):
    """One scorecard feature: its bins, information value and coefficient (icp.json scorecard.features)."""

    name: str | None = Field(None, description="the field, or field: element for a list element")
    field: str | None = None
    kind: str | None = Field(None, description="category, band, number, list, bool")
    element: str | None = Field(None, description="list fields: the element this feature is about")
    bins: list[ScorecardBin] = Field(default_factory=list)
    iv: Number | None = Field(None, description="information value")
    coefficient: Number | None = None


class ScorecardExclusion(Section):
    """A field left out of the scorecard and why (icp.json scorecard.excluded)."""

    field: str | None = None
    iv: Number | None = None
    reason: str | None = None


class PointsScaling(Section):
    """How log-odds become points: points to double the odds, base points and odds (icp.json scorecard.scaling)."""

    pdo: Number | None = Field(None, description="points to double the odds")
    base_points: Number | None = None
    base_odds: Number | None = None
    factor: Number | None = None
    offset: Number | None = None


class FitScoreRule(Section):
    """How points map to the 0-100 fit score (icp.json scorecard.fit_score)."""

    rule: str | None = None
    a: Number | None = None
    b: Number | None = None
    average_odds: Number | None = None
    points_at_average_odds: Number | None = None


class ScoreLevel(Section):
    """A priority band or a grade: its threshold and the rows in it (all rows, or the holdout's)."""

    priority: str | None = None
    grade: str | None = None
    min_score: Number | None = Field(None, description="lowest fit score (0-100) in the level")
    min_points: Number | None = None
    odds_vs_average: Number | None = None
    min_probability: Number | None = None
    n: int | None = None
    share: Number | None = None
    n_good: int | None = None
    good_rate: Number | None = None
    lift: Number | None = None
    holdout_n: int | None = None
    holdout_good_rate: Number | None = None


class SplitCounts(Section):
    """Rows, good and not-good on one side of the holdout split, with its date range (icp.json scorecard.evaluation)."""

    n: int | None = None
    n_good: int | None = None
    n_not_good: int | None = None
    first: str | None = Field(None, description="earliest date on this side of the split")
    last: str | None = None


class ScoreDecile(Section):
    """One holdout score decile: rows, good rate (0-1), lift and predicted rate (icp.json scorecard.evaluation)."""

    decile: int | None = None
    n: int | None = None
    n_good: int | None = None
    good_rate: Number | None = None
    lift: Number | None = None
    predicted: Number | None = None
    points: list[Number] = Field(default_factory=list, description="[lowest, highest] points in the decile")


class CalibrationRow(Section):
    """Predicted against observed good rate (0-1) in one holdout decile (icp.json scorecard.evaluation.calibration)."""

    decile: int | None = None
    predicted: Number | None = None
    observed: Number | None = None


class ScorecardEvaluation(Section):
    """The fitting procedure on the older rows, scored on the newest (the holdout)."""

    split: str | None = Field(None, description="time or row_order")
    time_column: str | None = None
    group_column: str | None = None
    holdout_share: Number | None = None
    train: SplitCounts | None = None
    holdout: SplitCounts | None = None
    model: str | None = None
    warnings: list[str] = Field(default_factory=list)
    status: str | None = Field(None, description="ok, too_small, no_signal")
    reason: str | None = None
    auc: Number | None = None
    auc_interval: list[Number] = Field(default_factory=list)
    deciles: list[ScoreDecile] = Field(default_factory=list)
    calibration: list[CalibrationRow] = Field(default_factory=list)
    bands: list[ScoreLevel] = Field(default_factory=list)
    grades: list[ScoreLevel] = Field(default_factory=list)


class ScorecardSettings(Section):
    """The settings the scorecard was fitted with: binning, IV floor, L2 penalty (icp.json scorecard.settings)."""

    max_bins: int | None = None
    min_bin_share: Number | None = None
    min_iv: Number | None = None
    max_list_elements: int | None = None
    l2: Number | None = None
    smoothing: Number | None = None
    neutral_missing: list[str] = Field(default_factory=list)


class Scorecard(Section):
    """The points-based lead score: bins, WoE, coefficients, points, bands, grades and its evaluation.
    status is ok, insufficient_data, no_signal or "not measurable" (with a reason)."""

    status: str | None = None
    n: int | None = None
    n_good: int | None = None
    n_not_good: int | None = None
    min_good: int | None = None
    min_bad: int | None = None
    method: str | None = None
    target: str | None = None
    field_kinds: dict[str, str] = Field(default_factory=dict)
    scaling: PointsScaling | None = None
    intercept_points: Number | None = None
    fit_score: FitScoreRule | None = None
    features: list[ScorecardFeature] = Field(default_factory=list)
    excluded: list[ScorecardExclusion] = Field(default_factory=list)
    bands: list[ScoreLevel] = Field(default_factory=list)
    grades: list[ScoreLevel] = Field(default_factory=list)
    separates: bool | None = Field(
        None,
        description="whether the score ranks good above not-good on the holdout (AUC interval above 0.5, band good "
        "rates rising); false: not to be used to rank, and priority ignores the fit score",
    )
    evaluation: ScorecardEvaluation | None = None
    settings: ScorecardSettings | None = None
    warnings: list[str] = Field(default_factory=list)
    reason: str | None = None
    evidence: str | None = None


# --- phase 5: validation -----------------------------------------------------------------------------------------


class GroupFigures(Section):
    """A rate (n, k, rate) or a mean (n, mean, median) of one group, with its 95% interval."""

    n: int | None = None
    k: int | None = None
    mean: Number | None = None
    rate: Number | None = None
    ci_low: Number | None = None
    ci_high: Number | None = None
    median: Number | None = None


class TargetCheck(Section):
    """One unit-economics target, Tier 1 against the rest: met, not met or not measurable (icp.json validation)."""

    metric: str | None = None
    target: str | None = None
    status: str | None = Field(None, description="met, not met, not measurable")
    reason: str | None = None
    segment: str | None = Field(None, description="the ICP segment compared on its own (else Tier 1 pooled)")
    icp: Number | None = Field(None, description="Tier 1's value")
    non_icp: Number | None = None
    ratio: Number | None = None
    evidence: str | None = None


class UnitEconomics(Section):
    """Tier 1 against non-ICP per measurable metric, with the target checks (icp.json validation.unit_economics)."""

    status: str | None = Field(None, description="present only when not measurable")
    reason: str | None = None
    comparisons: dict[str, dict[str, GroupFigures]] = Field(
        default_factory=dict, description="per metric: icp and non_icp figures"
    )
    targets: list[TargetCheck] = Field(default_factory=list)
    not_measurable: dict[str, str] = Field(default_factory=dict, description="metric: why it is not measurable")
    win_rate_note: str | None = None
    churn_evidence: str | None = None


class Backtest(Section):
    """Whether Tier 1 of an ICP built before a cutoff held on the entities that came after it (icp.json validation.backtest)."""

    status: str | None = Field(None, description="held, did not hold, not measurable")
    reason: str | None = None
    cutoff: str | None = None
    old_tier1: list[str] = Field(default_factory=list, description="Tier 1 criteria of the ICP built before cutoff")
    new_in_tier1: GroupFigures | None = None
    new_outside: GroupFigures | None = None
    p_value: Number | None = None
    evidence: str | None = None


class MarketTier(Section):
    """Prospects and customers in one tier and its penetration (icp.json validation.market.tiers)."""

    tier: str | None = None
    status: str | None = None
    prospects: int | None = None
    share: Number | None = None
    customers: int | None = None
    already_customers: int | None = None
    penetration: Number | None = None
    evidence: str | None = None


class RevenueCheck(Section):
    """Tier-1 accounts x median ACV against 3x the revenue target (icp.json validation.market.revenue_check)."""

    revenue_target: Number | None = None
    tier1_accounts: int | None = None
    median_tier1_acv: Any = None
    potential: Any = None
    status: str | None = None
    evidence: str | None = None


class OpenPipeline(Section):
    """Open deals and the share (0-1) inside Tier 1 (icp.json validation.market.open_pipeline)."""

    open_deals: int | None = None
    in_tier1: int | None = None
    share: Number | None = None
    status: str | None = None
    evidence: str | None = None


class MarketSize(Section):
    """The prospect list sized per tier, a revenue check and the open pipeline (icp.json validation.market)."""

    status: str | None = Field(None, description="present only when not measurable")
    reason: str | None = None
    tiers: list[MarketTier] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    prospects: int | None = None
    revenue_check: RevenueCheck | None = None
    open_pipeline: OpenPipeline | None = None


class Validation(Section):
    """Phase 5: unit economics, a backtest and market size; or status "not measurable" with a reason."""

    unit_economics: UnitEconomics | None = None
    backtest: Backtest | None = None
    market: MarketSize | None = None
    status: str | None = None
    reason: str | None = None


# --- the search's settings and screen -----------------------------------------------------------------------------


class MinSupport(Section):
    """The fewest entities a pattern needed and how it was chosen (icp.json min_support)."""

    rows: int | None = Field(None, description="the fewest entities a pattern needed")
    chosen_by: str | None = Field(None, description="detectable effect | option")
    detectable_lift: Number | None = None
    alpha: Number | None = None
    power: Number | None = None
    n: int | None = None
    companies: int | None = Field(
        None,
        description="deal level: the fewest distinct companies a pattern needed",
    )
    n_companies: int | None = Field(None, description="deal level: distinct companies behind the n deals")
    reason: str | None = None


class ExcludedField(Section):
    """A fit field kept out of every criterion and the scorecard (figures vary by rule)."""

    field: str | None = None
    rule: str | None = Field(None, description="leakage | identifier")
    reason: str | None = None
    evidence: str | None = None


class DataQualityFinding(Section):
    """Missingness that over-indexes among the good or the bad."""

    field: str | None = None
    direction: str | None = None
    n: int | None = None
    k: int | None = None
    rate: Number | None = None
    base_rate: Number | None = None
    lift: Number | None = None
    ci_low: Number | None = None
    ci_high: Number | None = None
    p_value: Number | None = None
    q_value: Number | None = None
    statement: str | None = None
    evidence: str | None = None


class IcpDocument(BaseModel):
    """icp.json: the machine-readable ICP. Its JSON Schema is published as icp.schema.json."""

    model_config = ConfigDict(extra="forbid", defer_build=True)
    schema_version: Literal["1.0"] = ICP_SCHEMA_VERSION
    id: str
    created_at: UtcDateTime
    status: Literal["ok", "no_significant_icp"]
    dataset: DatasetInfo
    health: HealthSummary
    statement: str = Field(description="the ICP statement in the method's template")
    no_icp_reason: str | None = None
    tiers: list[Tier] = Field(default_factory=list)
    negative_icp: list[Disqualifier] = Field(default_factory=list)
    patterns: list[PatternStat] = Field(default_factory=list)
    retention: list[RetentionCurve] = Field(default_factory=list)
    personas: list[Persona] = Field(
        default_factory=list, description="per tier and buying role: claims with evidence ids, and known gaps"
    )
    narratives: list[Narrative] = Field(default_factory=list, description="per tier: drafted, cited prose")
    themes: list[Theme] = Field(default_factory=list, description="interview themes with verbatim quotes")
    drafting: DraftingRecord = Field(
        default_factory=DraftingRecord,
        description="which drafter wrote the prose (and model), claims dropped by the "
        "grounding check, notes that contained instructions",
    )
    scorecard: Scorecard | None = None
    validation: Validation | None = None
    warnings: list[str] = Field(default_factory=list)
    min_support: MinSupport | None = Field(
        None, description="the minimum support the search used: rows, chosen_by (detectable effect | option), reason"
    )
    excluded_fields: list[ExcludedField] = Field(
        default_factory=list,
        description="fit fields kept out of every criterion and the scorecard: field, rule "
        "(leakage | identifier), reason, figures, evidence",
    )
    data_quality: list[DataQualityFinding] = Field(
        default_factory=list,
        description="missingness that over-indexes among the good or the bad: field, "
        "direction, n, k, rate, base_rate, p_value, q_value, statement, evidence",
    )
    evidence: list[EvidenceItem] = Field(default_factory=list)
