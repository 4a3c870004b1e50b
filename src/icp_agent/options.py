"""The options of every operation: one pydantic model each, read by every face.

A model's fields are an operation's parameters with their types, defaults, bounds and descriptions. The
toolkit's functions take them (`toolkit.build_icp(ws, AnalysisOptions(...))`, or the same fields as keywords);
the CLI generates its commands' options from them (faces/cli_options.py) and the MCP server its tools'
parameters (faces/server.py), so no face re-declares an option, its default or its bounds, and a rule that
parses an option ("field=role", "component=weight") lives here once. `operations.OPERATIONS` lists which
model belongs to which operation.

Only pydantic and shapes.py are imported here: the CLI reads these models without loading the analysis or
the ICP document's models.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)

from icp_agent.errors import ArgumentError
from icp_agent.shapes import (
    DataKindName,
    IdText,
    RoleName,
    SegmentName,
    TierNumber,
    choice_text,
    one_or_many,
)


@dataclass(frozen=True)
class Cli:
    """How a field appears on the command line when its default form (`--field-name VALUE`) does not fit:
    `argument` makes it positional (a list field takes any number), `flags` are the option's names (the first
    is the main one; the generated `--field-name` is kept as well), `metavar` names the value in --help.
    Pydantic ignores this marker; the CLI generator reads it from the field's metadata."""

    argument: bool = False
    flags: tuple[str, ...] = ()
    metavar: str | None = None
    required: bool = False


def pairs(text_name: str, value_kind: str) -> Any:
    """A BeforeValidator reading "NAME=VALUE" strings (as a command line gives them: --weight nps=20, or
    time_zone=ignore) into a dict; a dict passes unchanged. A string without "=" is a ValueError naming it."""

    def parse(value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)):
            return value
        parsed: dict[str, str] = {}
        for item in value:
            name, sep, given = str(item).partition("=")
            if not sep or not name.strip() or not given.strip():
                raise ValueError(
                    f"{item!r} is not {text_name}={value_kind} (e.g. {'nps=20' if value_kind == 'W' else 'time_zone=ignore'})"
                )
            parsed[name.strip()] = given.strip()
        return parsed

    return BeforeValidator(parse)


def _iso_date(value: Any) -> Any:
    """as_of: an ISO date (2026-06-30); a datetime's date part is accepted. Anything else is a ValueError."""
    if isinstance(value, datetime):  # a datetime is a date too: keep its date part only
        value = value.date()
    if value is None or isinstance(value, date):
        return value.isoformat() if isinstance(value, date) else value
    try:
        return date.fromisoformat(str(value).strip()[:10]).isoformat()
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO date (YYYY-MM-DD)") from None


def _path_text(value: Any) -> Any:
    """A path given as a pathlib.Path (the Python API) is read as its text; lists element by element."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (list, tuple)):
        return [os.fspath(v) if isinstance(v, os.PathLike) else v for v in value]
    return value


Path = Annotated[str, BeforeValidator(_path_text), Field(min_length=1)]
OptionalPath = Annotated[str | None, BeforeValidator(_path_text)]
Version = Annotated[IdText | None, Field(description="ICP version id (list_icp_versions; default: the latest)")]


# Every model here builds its validator when first used, not when this module is imported: the CLI imports all of
# them to show one command's --help, and building them all (with pydantic's plugin loader) was most of its start-up.
# The objects nested in an argument (a drafted persona, a claim) refuse unknown keys too: a claim sent with
# "evidence_ids" instead of "evidence" would otherwise lose its citations without a word and be refused as uncited.
_DEFERRED = ConfigDict(extra="forbid", defer_build=True)


class Options(BaseModel):
    """The base of every operation's options: unknown names are an error (a typo is never ignored)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)


# --- analysis: health (phase 1) < patterns (phase 2) < build (phases 1-5) ---------------------------------


class HealthOptions(Options):
    """What a good customer is (score_health reads these)."""

    good: Annotated[Literal["health", "column", "won"] | None, BeforeValidator(choice_text)] = Field(
        None,
        description="health (composite score), column (a yes/no outcome column) or won (won vs lost deals); "
        "default: health when the customers have health fields, else won",
    )
    good_column: str | None = Field(
        None,
        description="the outcome column for good='column' (field name or header): yes = good, or any "
        "column with good_value/bad_value",
    )
    good_value: str | None = Field(
        None,
        description="the outcome column's value meaning good (a non-yes/no column, e.g. 'P I F')",
    )
    bad_value: str | None = Field(None, description="the value meaning bad (e.g. 'CHGOFF'); default: any other value")
    bad_column: str | None = Field(
        None, description="a yes/no column where yes = bad (a churn or default flag): good = no; implies good='column'"
    )
    weights: Annotated[
        dict[str, float] | None, pairs("COMPONENT", "W"), Cli(flags=("--weight",), metavar="COMPONENT=W")
    ] = Field(
        None,
        description="health component weights, e.g. nps=20 (retention, nrr, cac_efficiency, support_burden, "
        "nps, referrals, time_to_close, activity)",
    )
    min_tenure_months: float = Field(
        6.0, ge=0, le=120, description="active customers younger than this are left out of retention (censored)"
    )
    as_of: Annotated[str | None, BeforeValidator(_iso_date)] = Field(
        None, description="ISO date the data describes (default: its latest date)"
    )

    def analysis(self) -> AnalysisOptions:
        """These options as build options (the fields this model lacks keep their defaults)."""
        return AnalysisOptions.model_validate(self.model_dump(include=set(AnalysisOptions.model_fields)))

    def config(self) -> Any:
        """The analysis configuration; the rules between options are checked here (ArgumentError naming them),
        so every face checks them the same way, before anything is imported or built."""
        from icp_agent.health.health_score import DEFAULT_WEIGHTS, HealthConfig
        from icp_agent.tiers.analyse import AnalysisConfig

        options = self.analysis()
        weights = dict(DEFAULT_WEIGHTS)
        unknown = set(options.weights or {}) - set(weights)
        if unknown:
            raise ArgumentError(f"unknown health component(s) {sorted(unknown)}", hint=f"use {sorted(weights)}")
        weights.update(options.weights or {})
        if options.good == "column" and not (options.good_column or options.bad_column):
            raise ArgumentError(
                "good='column' needs the outcome column",
                hint="pass good_column (yes = good) or bad_column (yes = bad), e.g. --good-column activated",
            )
        if (options.good_value is not None or options.bad_value is not None) and not (
            options.good_column or options.bad_column
        ):
            raise ArgumentError(
                "good_value/bad_value need the column they are values of",
                hint="pass --good-column COL --good-value V (or --bad-column COL --bad-value V)",
            )
        if options.good in ("health", "won") and (options.good_column or options.bad_column):
            raise ArgumentError(
                f"good={options.good!r} does not read an outcome column",
                hint="drop --good, or use --good column with the column",
            )
        good = "column" if options.good is None and (options.good_column or options.bad_column) else options.good
        return AnalysisConfig(
            health=HealthConfig(
                good=good,
                good_column=options.good_column,
                good_value=options.good_value,
                bad_value=options.bad_value,
                bad_column=options.bad_column,
                weights=weights,
                min_tenure_months=options.min_tenure_months,
                as_of=options.as_of,
            ),
            depth=options.depth,
            alpha=options.alpha,
            min_support=options.min_support,
        )


class PatternOptions(HealthOptions):
    """How hard to search (find_patterns reads these and the health options)."""

    depth: int = Field(3, ge=1, le=4, description="most criteria combined in one pattern")
    alpha: float = Field(0.05, gt=0, lt=1, description="false discovery rate (Benjamini-Hochberg)")
    min_support: int | None = Field(
        None,
        ge=1,
        description="fewest entities a pattern must cover (default: where a 1.5x rate is significant; "
        "in a small book at most 5 percent of it, enough for 2x; at least 10)",
    )


class AnalysisOptions(PatternOptions):
    """Every option of a build (build_icp, run, refresh); stored with the version it built, so validate_icp,
    fit_scorecard and diff_icp_versions use them again."""

    revenue_target: float | None = Field(
        None,
        gt=0,
        description="annual new-revenue target, to check Tier 1 is big enough (Tier-1 accounts x ACV >= 3x it)",
    )
    allow_unlinked: bool = Field(
        False,
        description="build even when half or fewer of the deals or contacts link "
        "to a company (the ICP says how many were left out)",
    )


class FindPatternsOptions(PatternOptions):
    """find_patterns' options: the search's options plus direction and paging."""

    direction: Annotated[Literal["good", "bad", "both"], BeforeValidator(choice_text)] = Field(
        "both", description="good: traits over-indexing among the best; bad: among the worst"
    )
    limit: int = Field(20, ge=1, le=1000, description="most patterns to return")
    offset: int = Field(0, ge=0, description="patterns to skip (a previous page's end)")


# --- import ---------------------------------------------------------------------------------------------------


def _file(what: str) -> Any:
    return Field(None, description=what)


class ImportOptions(Options):
    """The files to import and how to read them (import_data, run, refresh)."""

    data_dir: Annotated[
        list[str] | None,
        BeforeValidator(one_or_many),
        BeforeValidator(_path_text),
        Cli(argument=True, metavar="PATH..."),
    ] = Field(
        None,
        description="files and folders of exports (CSV, Excel, Parquet, JSON lines; a subfolder of "
        ".md/.txt interview notes); each file's kind is recognised from its headers",
    )
    customers: OptionalPath = _file("the customers/companies file")
    deals: OptionalPath = _file("the deals/opportunities file")
    contacts: OptionalPath = _file("the contacts file (job titles, buying roles)")
    prospects: OptionalPath = _file("the prospect list (companies without outcomes: the TAM)")
    interviews: OptionalPath = _file("a folder of interview notes (.md/.txt)")
    subscriptions: OptionalPath = _file(
        "subscriptions (a row each: account, plan, MRR or ARR, start and end), rolled up per account"
    )
    tickets: OptionalPath = _file(
        "support tickets (a row each: account, created date, status or priority), rolled up per account"
    )
    events: OptionalPath = _file("product and churn events (a row each: account, event, time), rolled up per account")
    mapping_file: Annotated[OptionalPath, Cli(flags=("--mapping",))] = _file(
        "a TOML mapping file overriding headers, roles, types and date order"
    )
    lenient: bool = Field(False, description="reject malformed rows (each is reported) instead of failing the import")
    sheet: str | int | None = Field(
        None, description="the worksheet of an Excel workbook to read: its name or 0-based index (default: the first)"
    )
    fx_file: Annotated[OptionalPath, Cli(flags=("--fx",))] = _file(
        "exchange rates, a CSV with columns currency,rate (units of the reporting currency per unit; the reporting "
        "currency has rate 1)"
    )

    def files(self) -> dict[str, Any]:
        """The fields as import_data's keywords."""
        return {name: getattr(self, name) for name in type(self).model_fields}


# --- the other operations ---------------------------------------------------------------------------------------


class NoOptions(Options):
    """An operation without options."""


class InspectOptions(Options):
    """inspect_workspace's options."""

    kind: DataKindName | None = Field(None, description="one kind only (default: all)")


class SetFieldRolesOptions(Options):
    """set_field_roles' options: field -> role overrides."""

    roles: Annotated[
        # choice_text on each role after pairs() read "field=role" text (a field_validator ran before it)
        dict[str, Annotated[RoleName, BeforeValidator(choice_text)]],
        pairs("FIELD", "ROLE"),
        Cli(argument=True, metavar="FIELD=ROLE...", required=True),
    ] = Field(
        min_length=1,
        description='field -> role, e.g. {"time_zone": "ignore", "lead_source": "fit"} (on the '
        "command line time_zone=ignore lead_source=fit); a field may be named by its "
        "header. fit: observable before the sale, used for the ICP; outcome: defines a "
        "good customer; post_sale: known only after the sale; id; ignore",
    )


class VersionOptions(Options):
    """Options naming an ICP version (default: the latest)."""

    version: Version = None


class ValidateOptions(VersionOptions):
    """validate_icp's options."""

    revenue_target: float | None = Field(
        None,
        gt=0,
        description="annual new-revenue target: checks that Tier-1 "
        "accounts x median ACV >= 3x it (default: the one "
        "the version was built with)",
    )


class EvidenceOptions(Options):
    """get_evidence's options: up to 20 evidence ids."""

    ids: Annotated[list[IdText], BeforeValidator(one_or_many), Cli(argument=True, metavar="ID...", required=True)] = (
        Field(min_length=1, max_length=20, description='evidence ids, e.g. ["E3f9a2c1d"] (at most 20 a call)')
    )
    version: Version = None


class ListEvidenceOptions(Options):
    """list_evidence's options."""

    kind: str | None = Field(None, description="only this kind (e.g. pattern, tier, cohort)")
    version: Version = None


class PersonaEvidenceOptions(Options):
    """get_persona_evidence's options: the segment and tier."""

    segment: SegmentName = Field("ICP 1", description="the ICP segment: ICP 1, ICP 2, ...")
    tier: TierNumber = Field(1, description="the tier within the segment")
    version: Version = None


class DiffOptions(Options):
    """diff_icp_versions' options: the two version ids."""

    old: Annotated[IdText | None, Cli(argument=True)] = Field(
        None, description="the earlier version id (default: the one before new)"
    )
    new: Annotated[IdText | None, Cli(argument=True)] = Field(
        None, description="the later version id (default: the latest)"
    )


class ScoreOptions(Options):
    """score_prospects' options: the prospect file, the output file and the ICP to score with."""

    input_path: Annotated[Path, Cli(argument=True, metavar="PROSPECTS")] = Field(
        description="the prospect file (CSV, Parquet or JSON lines)"
    )
    output_path: Annotated[Path, Cli(flags=("--out",), required=True)] = Field(
        description="the scored file to write (.csv or .parquet), every input row kept with its tier, fit score "
        "and reasons; never one of the sources or the workspace"
    )
    icp_path: Annotated[OptionalPath, Cli(flags=("--icp",))] = Field(
        None, description="an icp.json to score with (default: the workspace's ICP)"
    )
    version: Version = None


class QueryOptions(Options):
    """query_workspace's options: one read-only DuckDB query and a row cap."""

    sql: Annotated[str, Cli(argument=True, metavar="SQL")] = Field(
        min_length=1,
        max_length=20000,
        description="one DuckDB SELECT (WITH, VALUES, FROM-first, DESCRIBE and "
        "SUMMARIZE work too). Views customers, deals, contacts, prospects "
        "hold the current snapshots; tables: imports, interviews, "
        "evidence, icp_versions, field_roles",
    )
    max_rows: int = Field(200, ge=1, le=1000, description="most rows to return")


class RenderOptions(VersionOptions):
    """render_document's options: the version and the output folder."""

    out_dir: Annotated[OptionalPath, Cli(flags=("--out",))] = Field(
        None, description="folder for the files (default: icp-out); existing report files there are replaced"
    )


# --- drafts (save_drafts): claims that cite evidence ids ----------------------------------------------------


class DraftClaim(BaseModel):
    """One drafted statement and the evidence ids it rests on."""

    model_config = _DEFERRED

    section: str = Field(
        "",
        description="who / goals / pains / objections / how_they_buy / where_they_research / "
        "rationale / narrative / theme",
    )
    text: str = Field(description="one statement")
    evidence: list[str] = Field(default_factory=list, description="the evidence ids it rests on")


class DraftPersona(BaseModel):
    """One drafted persona (save_drafts)."""

    model_config = _DEFERRED

    segment: SegmentName = Field(description="ICP 1, ICP 2, ...")
    tier: TierNumber
    role: Literal["champion", "economic buyer", "technical buyer", "end user", "blocker"]
    title_patterns: list[str] = Field(default_factory=list)
    claims: list[DraftClaim]


class DraftRationale(BaseModel):
    """One disqualifier's drafted rationale (save_drafts)."""

    model_config = _DEFERRED

    disqualifier: str = Field(
        description="the disqualifier's criteria as shown in the ICP, e.g. 'industry = Marketing and Advertising'"
    )
    claims: list[DraftClaim]


class SaveDraftsOptions(Options):
    """save_drafts' options: personas and rationales, and who drafted them."""

    personas: list[DraftPersona] | None = Field(
        None, description="personas, one per segment, tier and buying role; each claim cites evidence ids"
    )
    rationales: list[DraftRationale] | None = Field(
        None, description="negative-ICP rationale, one per disqualifier; each claim cites evidence ids"
    )
    drafter: str = Field("client", description="who drafted them (client, claude, offline)")
    model: str | None = Field(None, description="the model that wrote the drafts, kept with them")
    version: Version = None


# --- the drafting record (record_drafting): what a drafter writes besides personas and rationale ---------------


class DraftNarrative(BaseModel):
    """The narrative of one tier: a few cited claims."""

    model_config = _DEFERRED

    tier_name: str = Field(description="the tier's name as get_icp gives it")
    claims: list[DraftClaim]


class DraftTheme(BaseModel):
    """One interview theme: its name and the cited quotes or claims that carry it."""

    model_config = _DEFERRED

    theme: str = Field(description="a short name, e.g. 'Pipeline visibility'")
    claims: list[DraftClaim]


class PersonaGaps(BaseModel):
    """What the evidence does not say about one saved persona (e.g. 'pains: no interview says')."""

    model_config = _DEFERRED

    segment: str = Field(description="ICP 1, ICP 2, ...")
    tier: int = Field(ge=1, le=3)
    role: str = Field(description="the buying role: champion, economic buyer, technical buyer, end user, blocker")
    gaps: list[str] = Field(default_factory=list)


class RecordDraftingOptions(Options):
    """record_drafting's options: tier narratives, interview themes, persona gaps and who drafted them."""

    drafter: str = Field(min_length=1, max_length=80, description="who drafted: e.g. claude")
    model: str | None = Field(None, description="the model that wrote the drafts, kept with them")
    narratives: list[DraftNarrative] | None = Field(
        None, description="tier narratives, each replacing the earlier one of its tier; every claim cites evidence ids"
    )
    themes: list[DraftTheme] | None = Field(
        None, description="interview themes, replacing the earlier list; every claim cites evidence ids"
    )
    persona_gaps: list[PersonaGaps] | None = Field(
        None,
        description="for personas saved with save_drafts: what the "
        "evidence does not say (marks them with this "
        "drafter and model)",
    )
    record: dict[str, Any] | None = Field(
        None,
        description="kept in icp.json's drafting section: prompt versions, summaries, dropped claims, the run's status",
    )
    version: Version = None


def parse(model: type[Options], values: dict[str, Any], *, spelled: Any = None) -> Any:
    """`values` as `model`, a validation failure an ArgumentError naming the argument (as `spelled(name)` writes
    it: --good-column on the command line) and what is wrong with it."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "options"
        name = spelled(str(first["loc"][0])) if spelled and first["loc"] else where
        if spelled and len(first["loc"]) > 1:
            name += " " + ".".join(str(p) for p in first["loc"][1:])
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "literal_error":  # a choice: say what was given and what the choices are
            message = f"{first['input']!r} is not one of {first['ctx']['expected']}"
        elif first.get("input") is not None and first["type"] not in ("extra_forbidden", "value_error"):
            message += f" (got {first['input']!r})"
        raise ArgumentError(
            f"{name}: {message}", hint=f"{len(exc.errors())} problem(s) in all" if len(exc.errors()) > 1 else None
        ) from None
