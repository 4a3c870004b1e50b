"""The public operations of icp-agent: one typed function each, listed in `icp_agent.operations`.

The CLI, the MCP server, the assistant and Python users all call these and nothing else; none of them holds
logic of its own. Each takes a Workspace first and its options model (`icp_agent.options`; the same fields as
keywords work too) and returns a pydantic model (or JSON-able data), raising UserError for anything a user can
fix. Helpers that are not operations live in the module of their idea (ingest/plan.py, ingest/roles.py,
scorecard/labels.py, evidence.py, drafting/store.py) and are re-exported here for older callers.
"""

from __future__ import annotations

import functools
import gc
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import wait
from contextlib import ExitStack, contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from icp_agent import evidence as evidence_store
from icp_agent import numbers
from icp_agent.drafting.records import DraftingRecorded
from icp_agent.drafting.store import (  # noqa: F401 - re-exported: the draft models
    DraftClaim,
    DraftPersona,
    DraftRationale,
    SaveDraftsResult,
)
from icp_agent.errors import ArgumentError, DataShapeError, UserError
from icp_agent.evidence import EvidenceItem
from icp_agent.health.rollup import ROLLUP_KINDS, roll_up
from icp_agent.icp_document import ICP_SCHEMA_VERSION, HealthSummary, IcpDocument, PatternStat, Scorecard, Validation
from icp_agent.ingest.column_reports import require_readable
from icp_agent.ingest.combine import COMBINED_KINDS, combine_imports, current_imports, replace_parts, replaced_note
from icp_agent.ingest.fields import ROLES
from icp_agent.ingest.importer import import_into, withdraw_import, workspace_value_maps
from icp_agent.ingest.linking import check_links, link_report
from icp_agent.ingest.mapping import Mapping
from icp_agent.ingest.plan import (  # noqa: F401 - re-exported for callers of the planning step
    InputPlan,
    Paths,
    PlannedFile,
    SkippedFile,
    check_replaced_accounts,
    company_links,
    guarded_accounts,
    plan_import,
    plan_inputs,
)
from icp_agent.ingest.reader import WORKBOOK_SUFFIXES, inspect_file, peek_headers
from icp_agent.ingest.roles import field_roles, resolve_field
from icp_agent.models import ImportReport, LinkReport, WorkspaceSummary
from icp_agent.operations import operation
from icp_agent.options import (
    AnalysisOptions,
    DiffOptions,
    EvidenceOptions,
    FindPatternsOptions,
    HealthOptions,
    ImportOptions,
    InspectOptions,
    ListEvidenceOptions,
    NoOptions,
    PersonaEvidenceOptions,
    QueryOptions,
    RecordDraftingOptions,
    RenderOptions,
    SaveDraftsOptions,
    ScoreOptions,
    SetFieldRolesOptions,
    ValidateOptions,
    VersionOptions,
)
from icp_agent.progress import (
    Parts,
    Progress,  # called (message) or (message, rows done, rows total)
    Step,
    watcher,
)
from icp_agent.scorecard.labels import SCORECARD_KINDS, readable_bin_labels
from icp_agent.shapes import utc_timestamp
from icp_agent.sql import columns_of
from icp_agent.sql import quote_identifier as _sql_name
from icp_agent.workspace import Workspace


class ImportResult(BaseModel):
    """What import_data read and how: the plan, a report per file, interviews, links, skipped files."""

    plan: list[PlannedFile]
    reports: list[ImportReport]
    interviews: dict | None = None
    links: list[LinkReport] = Field(default_factory=list)
    skipped: list[SkippedFile] = Field(
        default_factory=list, description="files in the folders that were not exports, each with the reason"
    )


T = TypeVar("T")


def _one(con: Any, sql: str) -> Any:
    """The one value an aggregate query returns."""
    row = con.execute(sql).fetchone()
    return row[0] if row else None


def _holding_workspace(fn: Callable[..., T]) -> Callable[..., T]:
    """Run a multi-step operation inside Workspace.session(): the file is taken once, before any work, so a busy
    workspace is reported before anything is written, never after a commit (an import used to commit, then
    fail "busy" when its link report opened the file again beside a server)."""

    @functools.wraps(fn)
    def held(ws: Workspace, *args: Any, **kwargs: Any) -> T:
        with ws.session():
            return fn(ws, *args, **kwargs)

    return held


@operation(ImportOptions, positional=("data_dir",))
def import_data(ws: Workspace, params: ImportOptions, progress: Progress | None = None) -> ImportResult:
    """Import every input as a new snapshot of its kind, then report how the files link.

    `data_dir` is a folder, a file, or a list of both. All or nothing: the files are
    imported in one transaction, so when one fails (UserError naming it) nothing from
    this call stays in the workspace. `fx_file`: exchange rates (CSV currency,rate: units of the
    reporting currency per unit) that convert money columns holding several currencies; without
    them only the reporting currency is comparable. The workspace is held from the first step to the
    last (Workspace.session): WorkspaceBusy comes before anything is imported.
    """
    with ws.session():
        return _import(ws, params, progress)


def _import(ws: Workspace, params: ImportOptions, progress: Progress | None) -> ImportResult:
    mapping = Mapping.load(params.mapping_file)
    if params.fx_file:
        mapping.load_fx(params.fx_file)
    has_accounts = False
    if ws.path.exists():
        with ws.connect() as con:
            has_accounts = bool(ws.current_table(con, "customers") or ws.current_table(con, "deals"))
    sheet, lenient = params.sheet, params.lenient
    planned = plan_import(
        params.data_dir,
        customers=params.customers,
        deals=params.deals,
        contacts=params.contacts,
        prospects=params.prospects,
        interviews=params.interviews,
        subscriptions=params.subscriptions,
        tickets=params.tickets,
        events=params.events,
        mapping=mapping,
        sheet=sheet,
        has_accounts=has_accounts,
    )
    order = {k: i for i, k in enumerate(("customers", "prospects", "deals", "contacts", *ROLLUP_KINDS, "interviews"))}
    if mapping.columns or mapping.files:  # an entry that applies to no file is a typo: say so before importing
        mapping.check_files(
            {
                Path(p.path).name: peek_headers(
                    inspect_file(
                        p.path,
                        lenient=lenient,
                        sheet=sheet if Path(p.path).suffix.lower() in WORKBOOK_SUFFIXES else None,
                    )
                )
                for p in planned.files
                if p.kind != "interviews"
            }
        )
    # an inferred customers file must not silently replace the accounts the stored deals and contacts link to
    guarded = guarded_accounts(planned) if has_accounts else None
    reports, notes = [], None
    with ws.transaction() as con:
        before = company_links(con, ws) if guarded else None
        current = current_imports(con)  # what each kind's snapshot was: a replaced one is said (ingest/combine.py)
        for item in sorted(planned.files, key=lambda p: order[p.kind]):
            if progress:
                progress(f"importing {Path(item.path).name} as {item.kind}")
            if item.kind == "interviews":
                from icp_agent.ingest.interviews import import_interviews_into  # an interviews folder only

                notes = import_interviews_into(con, item.path)
                continue
            workbook = Path(item.path).suffix.lower() in WORKBOOK_SUFFIXES

            def read(item: PlannedFile = item, workbook: bool = workbook) -> ImportReport:
                return import_into(
                    con,
                    item.path,
                    item.kind,
                    mapping=mapping,
                    lenient=lenient,
                    progress=progress,
                    reason=item.reason,
                    sheet=sheet if workbook else None,
                    scratch_dir=ws.path.parent,
                )

            report = read()
            if item is guarded and before is not None:
                prospects = any(p.kind == "prospects" for p in planned.files)
                reason = check_replaced_accounts(
                    con, ws, item, before, mapping=mapping, sheet=sheet, prospects_taken=prospects
                )
                if reason:  # a prospect list: the accounts stay, the file is read as prospects
                    withdraw_import(con, report, before.import_id)
                    item.kind, item.reason = "prospects", reason
                    if progress:
                        progress(f"{Path(item.path).name} is no new accounts file: importing it as prospects")
                    report = read()
            reports.append(report)
        mapping.check_values([(c.field, c.type) for r in reports for c in r.columns])  # before the commit
        for kind in COMBINED_KINDS:  # several files of a kind: more rows of it, one snapshot
            parts = [r for r in reports if r.kind == kind]
            if len(parts) > 1:
                if progress:
                    progress(f"combining {len(parts)} {kind} files")
                reports = replace_parts(reports, combine_imports(con, parts, kind))
        for kind in {r.kind for r in reports}:
            last = [r for r in reports if r.kind == kind][-1]
            replaced = replaced_note(last, current.get(kind))
            if replaced:
                last.warnings.append(replaced)
        if progress:  # the commit writes the new tables to the file: seconds for a large import
            progress("saving the import")
    if progress:
        progress("checking how the files link")
    links = link_report(ws)
    return ImportResult(plan=planned.files, reports=reports, interviews=notes, links=links, skipped=planned.skipped)


@operation(InspectOptions, positional=("kind",))
def inspect_workspace(ws: Workspace, params: InspectOptions) -> WorkspaceSummary:
    """What the workspace holds: the current snapshot of each kind with its report, and field roles.

    With `kind`, that kind only; a kind the workspace does not hold is an ArgumentError saying what it holds.
    In a server it is computed once per state of the workspace (Workspace.remembered), so a repeated look costs
    no query. The summary is shared: do not change it."""
    summary = ws.remembered("inspect_workspace", lambda con: _inspect_workspace(ws, con))
    if params.kind:
        if params.kind not in summary.current:
            raise ArgumentError(
                f"no {params.kind} imported in this workspace (it holds {', '.join(summary.current) or 'nothing yet'})",
                file=str(ws.path),
                hint=f"import them with import_data (icp-agent import-data --{params.kind} FILE), "
                f"or ask for every kind",
            )
        summary = summary.model_copy(update={"current": {params.kind: summary.current[params.kind]}})
    return summary


def _inspect_workspace(ws: Workspace, con) -> WorkspaceSummary:
    version = _one(con, "SELECT max(version) FROM schema_info")
    current = {
        kind: ImportReport.model_validate_json(report)
        for kind, report in con.execute(
            """SELECT i.kind, i.report FROM current_snapshot c JOIN imports i USING (import_id)
           WHERE i.kind <> 'interviews'"""
        ).fetchall()
    }
    snapshots = dict(con.execute("SELECT kind, count(*) FROM imports GROUP BY kind ORDER BY kind").fetchall())
    notes = _one(
        con,
        """SELECT count(*) FROM interviews WHERE import_id =
                         (SELECT import_id FROM current_snapshot WHERE kind = 'interviews')""",
    )
    roles = field_roles(ws, con)
    linked = link_report(ws, con) if current else []
    unobserved = []
    if "prospects" in current:  # a field the prospect list also has is evidence a seller can observe it
        in_prospects = {c.field for c in current["prospects"].columns}
        unobserved = sorted(f for f, role in roles.items() if role == "fit" and f not in in_prospects)
    return WorkspaceSummary(
        workspace=str(ws.path),
        schema_version=version,
        current=current,
        snapshots=snapshots,
        interviews=notes,
        links=linked,
        roles=roles,
        not_in_prospects=unobserved,
    )


@operation(SetFieldRolesOptions, positional=("roles",))
def set_field_roles(ws: Workspace, params: SetFieldRolesOptions) -> dict[str, str]:
    """Override inferred roles (e.g. {"time_zone": "ignore", "lead_source": "fit"}, or on the command line
    time_zone=ignore lead_source=fit); a field may be named by its header. Returns every field's role."""
    with ws.transaction() as con:
        known = set(field_roles(ws, con))
        roles = {resolve_field(ws, field, con): role for field, role in params.roles.items()}  # a header works too
        for field, role in roles.items():
            if role not in ROLES:
                raise UserError(f"role {role!r} for field {field!r} is not one of {list(ROLES)}")
            if known and field not in known:
                raise UserError(
                    f"no field {field!r} in the current imports", hint=f"known fields: {', '.join(sorted(known))}"
                )
            con.execute("INSERT OR REPLACE INTO field_roles VALUES (?, ?, now())", [field, role])
        return field_roles(ws, con)


def _resolve_columns(ws: Workspace, options: AnalysisOptions) -> AnalysisOptions:
    """Options whose column names (good_column, bad_column) may be written as the file's header, mapped to
    stored fields."""
    named = {
        name: resolve_field(ws, value) for name in ("good_column", "bad_column") if (value := getattr(options, name))
    }
    return options.model_copy(update=named) if named else options


def _analysis_inputs(ws: Workspace, con, options: HealthOptions):
    from icp_agent.schema import AnalysisInputs, build_schema
    from icp_agent.tiers.analyse import fingerprint

    customers = ws.current_table(con, "customers")
    deals = ws.current_table(con, "deals")
    if not customers and not deals:
        raise UserError(
            "no customers imported yet",
            hint="import your exports first: icp-agent import-data DATA_DIR (or the import_data tool)",
        )
    per_account = {kind: table for kind in ROLLUP_KINDS if (table := ws.current_table(con, kind))}
    notes: list[str] = []
    if per_account and not customers:
        notes.append(f"{', '.join(per_account)} not used: there is no accounts file to roll them up into")
    elif per_account and customers:
        # the accounts with health inputs aggregated from subscriptions, tickets and events (analysis/rollup.py)
        rolled = roll_up(con, customers, per_account, options.as_of)
        customers, notes = rolled.table, rolled.notes
    if customers and deals and options.good != "won":  # no churn data: renewals lost and won tell retention
        from icp_agent.health.deal_kinds import renewal_retention
        from icp_agent.health.health_score import stage_class

        retention = renewal_retention(con, customers, deals, stage_class("d.deal_stage"))
        if retention:
            customers = retention[0]
            notes.append(retention[1])
    roles = field_roles(ws, con)
    imports = []
    reports: dict[str, ImportReport] = {}
    tables: dict[str, str] = {}
    # the columns the chosen definition of good actually reads: the named outcome column alone, nothing of the
    # customers' health fields for won deals, every outcome field of the customers for the health score
    if options.good_column or options.bad_column:
        defining: set[str] = {c for c in (options.good_column, options.bad_column) if c}
    elif options.good == "won":
        defining = set()
    else:
        defining = {f for f, role in roles.items() if role == "outcome"}
    for kind, report_json in con.execute("""SELECT i.kind, i.report FROM current_snapshot c JOIN imports i
                                            USING (import_id) WHERE i.kind IN ('customers', 'deals', 'contacts',
                                            'prospects', 'subscriptions', 'tickets', 'events')
                                            ORDER BY CASE i.kind WHEN 'customers' THEN 0 WHEN 'deals' THEN 1
                                                     WHEN 'prospects' THEN 2 ELSE 3 END, i.kind""").fetchall():
        report = ImportReport.model_validate_json(report_json)
        if kind != "contacts":
            imports.append(
                {
                    "kind": kind,
                    "file_name": report.file_name,
                    "sha256": report.sha256,
                    "rows": report.rows_kept,
                    "import_id": report.import_id,
                }
            )
        if kind in ROLLUP_KINDS:
            continue  # rolled up into the customers' health inputs above
        reports[kind], tables[kind] = report, ws.current_table(con, kind) or ""
        if kind in ("customers", "deals"):
            # a column that defines a good customer must be fully readable (exit 2 naming it otherwise)
            require_readable(
                report, defining if kind == "customers" or options.good_column or options.bad_column else set()
            )
    schema = build_schema(con, reports, tables, roles)
    # the customers' and deals' types (the schema's reconciliation decides which one a shared field has)
    types = {f: t for f, t in schema.types().items() if schema.field(f, "customers") or schema.field(f, "deals")}
    headers = {f: h for f, h in schema.headers().items() if f in types}
    outcome = {options.good_column, options.bad_column}
    fit = {
        f: types[f]
        for f, role in roles.items()
        if role == "fit" and f in types and types[f] not in ("text", "date") and f not in outcome
    }
    # labels write a money field's amounts in the currency its import recorded (tiers.criteria.money_sign), for
    # this operation only: operations run in a copy of their caller's context (operations.operation)
    from icp_agent.ingest.currencies import currencies_of, currency_symbols
    from icp_agent.tiers.criteria import MONEY_SIGNS

    MONEY_SIGNS.set({f: sign for f, sign in currency_symbols(currencies_of(reports)).items() if sign != "$"})
    return AnalysisInputs(
        customers=customers,
        deals=deals,
        fit_fields=fit,
        headers=headers,
        imports=imports,
        fingerprint=fingerprint(imports),
        schema=schema,
        notes=notes,
        confirmed={f for f, role in ws.role_overrides(con).items() if role == "fit"},
    )


# the steps build_icp reports, in order (a build that finds no ICP stops after the search): reading the inputs,
# health, screen, selectors, search, tiers, validation, lead score, drafting, saving. MCP progress notifications
# carry them as their total
BUILD_STEPS = 10


@operation(AnalysisOptions)
def build_icp(ws: Workspace, options: AnalysisOptions, progress: Progress | None = None) -> IcpDocument:
    """Phases 1-5: health, patterns, tiers and negative ICP, validation, lead score and offline drafts, saved as a
    new ICP version with its evidence and the options it was built with (icp.json's dataset.options).

    `progress` gets BUILD_STEPS steps; each long one counts what tracks its time (customers scored, fields
    screened, searches, validation's checks, the lead score's stages: progress.Step names the unit)."""
    with _cyclic_gc_paused():
        return _build_icp(ws, options, progress)


def _build_icp(ws: Workspace, options: AnalysisOptions, progress: Progress | None) -> IcpDocument:
    if progress:  # the analysis' imports (scipy) and the inputs' schema take seconds before the first phase
        progress("reading the workspace")
    _import_ahead("scipy.stats")  # loaded while the health score's SQL runs; the patterns' tests need it next
    from icp_agent.tiers.analyse import analyse

    options = _resolve_columns(ws, options)
    config = options.config()
    with ws.transaction() as con, ExitStack() as stack:
        inputs = _analysis_inputs(ws, con, options)
        link_reports = link_report(ws, con)
        link_warnings = check_links(link_reports, options.allow_unlinked)
        version_id = f"icp-{datetime.now(UTC):%Y%m%d%H%M%S%f}-{inputs.fingerprint[:6]}"
        # the backtest analyses the older customers on a second connection meanwhile; joined before the commit
        older = stack.enter_context(_backtest_ahead(ws, con, inputs, config, version_id))
        icp, ledger = analyse(con, inputs, config, version_id, progress)
        icp.warnings = inputs.notes + icp.warnings
        icp.dataset.links = link_reports
        icp.dataset.options = options.model_dump(mode="json")
        icp.warnings += link_warnings
        icp.warnings += inputs.schema.warnings() if inputs.schema else []
        _flag_unobservable(icp, inputs)
        if icp.tiers:
            from icp_agent.drafting.offline import draft_offline
            from icp_agent.validation.validate import validate

            def validation():
                icp.validation = validate(
                    con,
                    inputs,
                    config,
                    icp,
                    ws.current_table(con, "prospects"),
                    options.revenue_target,
                    ledger,
                    Parts(progress, "validating the ICP", "checks"),
                    older,
                )
                icp.warnings += icp.validation.market.warnings if icp.validation.market else []
                for metric, reason in (
                    icp.validation.unit_economics.not_measurable if icp.validation.unit_economics else {}
                ).items():
                    icp.warnings.append(f"validation ({metric.replace('_', ' ')}): not measurable: {reason}")

            def drafting():
                tiers = Parts(progress, "drafting personas and rationale (offline drafter)", "tiers")
                tiers.expect(len(icp.tiers))
                draft_offline(ws, con, icp, ledger, tiers.advance)

            def scorecard():
                icp.scorecard = _fit_scorecard(
                    con, icp, inputs, ledger, Parts(progress, "fitting the lead-scoring model", "stages")
                )

            for message, name, step in (
                ("validating the ICP", "validation", validation),
                ("fitting the lead-scoring model", "lead score", scorecard),
                ("drafting personas and rationale (offline drafter)", "drafting", drafting),
            ):
                if progress:
                    progress(message)
                _phase(icp, name, step)
            icp.evidence = ledger.all()
        if progress:  # the checks and the commit (the frame written to the file) take a second at 1M rows
            progress("saving the ICP version")
        check_icp_document(icp.model_dump(mode="json"))
        ledger.save(con, version_id)
        con.execute(
            "INSERT INTO icp_versions VALUES (?, ?, ?, ?, ?)",
            [version_id, icp.created_at.replace(tzinfo=None), inputs.fingerprint, icp.status, icp.model_dump_json()],
        )
    return icp


_gc_lock = threading.Lock()
_gc_pauses = 0  # the _cyclic_gc_paused() blocks running now, in any thread
_gc_resume = False  # whether the collector was on when the first of them began


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the while (reference counting still frees nearly every object),
    back as it was when the last of the blocks running at once, in any thread, ends.

    Why: a build allocates objects by the hundred thousand (imports, query results, pydantic models), so the
    collector ran about 500 times per 1M-customer build, three of them full passes over every object (0.06-0.13 s
    each): 0.4-0.5 s holding the GIL, half of it on the main thread between statements, the rest stalling the
    searches' and the backtest's threads. A whole build leaves about 9,500 objects in cycles (gc.collect() after
    one), freed by the collector's next pass after; the build's peak memory is the same with or without it."""
    global _gc_pauses, _gc_resume
    with _gc_lock:
        if not _gc_pauses:
            _gc_resume = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if not _gc_pauses and _gc_resume:
                gc.enable()


def _import_ahead(*modules: str) -> Any:
    """Import `modules` on a daemon thread of their own (returned; None when all are imported already): Python runs
    an import while the main thread waits on DuckDB (which releases the GIL), so a module a later step needs
    (scipy.stats: 0.3-0.4 s) costs no wall time. A step that needs it sooner waits for the import to finish
    (Python's import lock)."""
    import importlib
    import sys

    missing = [m for m in modules if m not in sys.modules]
    if not missing:
        return None
    thread = threading.Thread(
        target=lambda: [importlib.import_module(m) for m in missing], name="icp-agent imports", daemon=True
    )
    thread.start()
    return thread


@contextmanager
def _backtest_ahead(ws: Workspace, con: Any, inputs: Any, config: Any, version_id: str) -> Iterator[Any]:
    """The backtest's analysis of the older customers (validation.backtest.older_tier1) started now, on a cursor
    (a second connection) in a second thread, while the build runs its own analysis: it reads only the imported
    customers' table, committed before this build, and writes only TEMP tables of its own connection. Yields the
    call that waits for it (validation's backtest makes it), or None when the backtest would not run it here: the
    customers have no start date, good is not the health score, or the customers are a table of this transaction
    (rolled up from subscriptions). Left unasked (no tier found, validation failed), it is interrupted."""
    from concurrent.futures import ThreadPoolExecutor
    from contextvars import copy_context

    from icp_agent.validation.backtest import older_tier1

    health = config.health
    customers = inputs.customers
    if (
        not customers
        or customers != ws.current_table(con, "customers")
        or health.good not in (None, "health")
        or (health.good is None and (health.good_column or health.bad_column))
        or "customer_since" not in columns_of(con, customers)
    ):
        yield None
        return
    cursor = con.cursor()
    cursor.execute("SET enable_progress_bar = false")  # a new cursor starts with DuckDB's default (on)
    asked = False

    def result() -> Any:
        nonlocal asked
        asked = True
        return future.result()

    # copy_context: the labels it writes use this operation's money signs (tiers.criteria.MONEY_SIGNS)
    with ThreadPoolExecutor(1, thread_name_prefix="icp-agent backtest") as pool:
        future = pool.submit(copy_context().run, older_tier1, cursor, inputs, config, version_id)
        try:
            yield result
        finally:
            if not asked:
                cursor.interrupt()
                wait([future])
            cursor.close()


def built_with(icp: IcpDocument) -> AnalysisOptions:
    """The options a version was built with (defaults for a version built before they were stored)."""
    return AnalysisOptions.model_validate(icp.dataset.options or {})


def _phase(icp: IcpDocument, name: str, step: Callable[[], None]) -> None:
    """Run one phase; when the data cannot support it (DataShapeError), say so in icp.json and the document.

    Only a data-shape problem is turned into "not measurable": a bug still stops the run (no swallowing).
    """
    try:
        step()
    except DataShapeError as exc:
        icp.warnings.append(f"{name}: not measurable: {exc.reason}")
        if name == "validation":
            icp.validation = Validation(status="not measurable", reason=exc.reason)
        elif name == "lead score":
            icp.scorecard = Scorecard(status="not measurable", reason=exc.reason)


def _flag_unobservable(icp: IcpDocument, inputs) -> None:
    """ICP criteria a seller cannot apply to prospects, flagged when the ICP is built: per field the prospect list
    lacks (when one is imported), and per tier or avoid rule naming the fields no prospect can be matched on. A
    rule's criteria all hold at once, so one such field keeps every prospect out of it ("plan = Annual" is a
    customer's plan: score-prospects then puts every prospect in no tier). Without a prospect list, the fields
    such lists usually carry are the firmographics (ingest/fields.py FIRMOGRAPHIC: industry, employees, revenue,
    country, technologies, ...)."""
    from icp_agent.ingest.fields import FIRMOGRAPHIC

    schema = inputs.schema
    prospects = schema is not None and "prospects" in schema.sources
    fields = {c.field for t in icp.tiers for c in t.criteria} | {c.field for d in icp.negative_icp for c in d.criteria}
    if prospects:
        lacking = set(schema.not_in_prospects(fields))
        for field in sorted(lacking):
            icp.warnings.append(
                f"{field}: not observable in the prospect list (the ICP uses it, the prospect file has "
                f"no such column): prospects cannot be matched on it"
            )
    else:
        lacking = {f for f in fields if f not in FIRMOGRAPHIC}
    rules = [(repr(t.name), t.criteria) for t in icp.tiers] + [
        (f"avoid rule '{' AND '.join(c.label for c in d.criteria)}'", d.criteria) for d in icp.negative_icp
    ]
    where = (
        "the prospect list has no such column"
        if prospects
        else "prospect lists such as Apollo or ZoomInfo exports usually carry firmographics only: industry, "
        "employees, annual revenue, country, technologies"
    )
    for name, criteria in rules:
        missing = sorted({c.field for c in criteria} & lacking)
        if missing:
            icp.warnings.append(
                f"{name} cannot rank prospects: it uses {', '.join(missing)} ({where}), so no prospect matches it; "
                f"it still describes your customers. For tiers a seller can use on prospects, mark fields only "
                f"customers have post_sale (set-field-roles {missing[0]}=post_sale) and build again"
            )


@operation(HealthOptions)
def score_health(ws: Workspace, params: HealthOptions, progress: Progress | None = None) -> HealthSummary:
    """Phase 1 alone: how good is defined, cohort sizes and metrics, censored customers. Saves nothing."""
    from icp_agent.evidence import Ledger
    from icp_agent.health.health_score import build_frame
    from icp_agent.tiers.cohorts import health_summary

    options = _resolve_columns(ws, params.analysis())
    scoring = Step("scoring customer health", "customers")  # the rows of the statement that scores them
    if progress:
        progress(scoring)
    config = options.config()
    with ws.scratch() as con:
        inputs = _analysis_inputs(ws, con, options)
        health = build_frame(
            con,
            inputs.customers,
            inputs.deals,
            "preview_frame",
            config.health,
            list(inputs.fit_fields),
            watched=watcher(con, progress, scoring, f"SELECT count(*) FROM {inputs.customers}")
            if inputs.customers
            else nullcontext,
        )
        return health_summary(con, health, config, Ledger())


class PatternsResult(BaseModel):
    """find_patterns' page of patterns with the health definition they were found under."""

    model_config = ConfigDict(defer_build=True)  # built on first use: the import command never uses it
    status: Literal["ok", "no_significant_icp"]
    health: HealthSummary
    patterns: list[PatternStat] = Field(description="best first (by the lower bound of their lift)")
    total: int
    truncated: bool
    note: str = Field(description="how to read the figures")


@operation(FindPatternsOptions)
def find_patterns(ws: Workspace, params: FindPatternsOptions, progress: Progress | None = None) -> PatternsResult:
    """Phase 2 alone: the traits that over-index among the best or the worst, with their statistics, `limit` of
    them from `offset`. Saves nothing (build_icp saves the version whose evidence ids can be cited)."""
    from icp_agent.tiers.analyse import analyse

    options = _resolve_columns(ws, params.analysis())
    direction, limit, offset = params.direction, params.limit, params.offset
    with ws.scratch() as con:
        inputs = _analysis_inputs(ws, con, options)
        icp, _ = analyse(con, inputs, options.config(), "preview", progress)
    patterns = [p for p in icp.patterns if direction in ("both", p.direction)]
    return PatternsResult(
        status=icp.status,
        health=icp.health,
        patterns=patterns[offset : offset + limit],
        total=len(patterns),
        truncated=offset + limit < len(patterns),
        note=f"rate = share of the pattern's entities in the target group; lift = rate / base rate; "
        f"q = Benjamini-Hochberg over every pattern tested; significant when q < {options.alpha}",
    )


def _fit_scorecard(con, icp: IcpDocument, inputs, ledger, stages: Parts | None = None) -> Scorecard:
    """The points-based fit score over the fit fields, evaluated on the newest entities, with evidence (`stages`:
    its progress, scorecard.fit)."""
    from icp_agent.evidence import clean
    from icp_agent.scorecard import fit as scorecard_fit

    frame = f"frame_{icp.id.replace('-', '_')}"
    columns = columns_of(con, frame)
    kinds = {f: SCORECARD_KINDS[t] for f, t in inputs.fit_fields.items() if t in SCORECARD_KINDS}
    time_column = next((c for c in ("customer_since", "close_date") if c in columns), None)
    card = clean(
        scorecard_fit.fit_scorecard(
            con,
            frame,
            kinds,
            time_column=time_column,
            screened=[e.model_dump() for e in icp.excluded_fields],
            neutral_missing=[str(d.field) for d in icp.data_quality],
            stages=stages,
        )
    )
    readable_bin_labels(card, {f for f, t in inputs.fit_fields.items() if t == "money"})
    evaluation = card.get("evaluation") or {}
    if card.get("status") == "ok" and evaluation.get("status") == "ok":
        holdout = evaluation["holdout"]
        card["evidence"] = ledger.add(
            "scorecard",
            icp.health.definition,
            f"Fit score evaluated on the newest {holdout['n']:,} {icp.health.entity}s ({holdout['n_good']:,} good), "
            f"fitted on the older ones: AUC {numbers.auc(evaluation['auc'])} (95% CI {numbers.auc(evaluation['auc_interval'][0])}-"
            f"{numbers.auc(evaluation['auc_interval'][1])}).",
            {"auc": evaluation["auc"], "holdout": holdout, "bands": evaluation.get("bands")},
            n=holdout["n"],
        )
    else:
        reason = card.get("reason") or evaluation.get("reason") or card.get("status")
        icp.warnings.append(f"lead score: {reason}")
    return Scorecard.model_validate(card)


def icp_schema() -> dict:
    """The published JSON Schema of icp.json (a fresh copy: the caller may change it)."""
    import copy

    return copy.deepcopy(_icp_schema())


@functools.cache
def _icp_schema() -> dict:
    # generated once per process: pydantic takes a quarter of a second for it, and a build asks three times
    schema = IcpDocument.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://github.com/icp-agent/icp-agent/schemas/icp.schema.json"
    return schema


@functools.cache
def _icp_validator() -> Any:
    import jsonschema

    return jsonschema.Draft202012Validator(_icp_schema())


def check_icp_document(data: dict, source: str = "icp.json") -> None:
    """Validate icp.json data against its schema; the error points at the place."""
    validator = _icp_validator()
    error = next(iter(sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))), None)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise UserError(
            f"invalid at {where}: {error.message}",
            file=source,
            hint="fix that place or regenerate the file with icp-agent run",
        )


def load_icp(path: str | Path) -> IcpDocument:
    """Read and validate an icp.json written by icp-agent (or edited by hand)."""
    import json

    path = Path(path)
    if not path.is_file():
        raise UserError("no such file", file=str(path), hint="pass the icp.json written by icp-agent run")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"not valid JSON: {exc}", file=path.name) from exc
    if not isinstance(data, dict):
        raise UserError("not an icp.json object", file=path.name)
    version = data.get("schema_version")
    if version != ICP_SCHEMA_VERSION:
        raise UserError(
            f"schema_version {version!r} is not supported (this icp-agent reads {ICP_SCHEMA_VERSION!r})",
            file=path.name,
            hint="rebuild the ICP with this version",
        )
    check_icp_document(data, path.name)
    return IcpDocument.model_validate(data)


@operation(VersionOptions, positional=("version",))
def get_icp(ws: Workspace, params: VersionOptions) -> IcpDocument:
    """The latest ICP version (or a named one) from the workspace."""
    with ws.read() as con:
        return icp_version(con, params.version)


def icp_version(con: Any, version: str | None) -> IcpDocument:
    """ICP version `version` (None: the latest) read on `con`; UserError naming the versions when there is none."""
    if version:
        row = con.execute("SELECT icp FROM icp_versions WHERE version_id = ?", [version]).fetchone()
        if not row:
            known = [r[0] for r in con.execute("SELECT version_id FROM icp_versions ORDER BY created_at").fetchall()]
            raise UserError(f"no ICP version {version!r}", hint=f"versions: {', '.join(known) or 'none yet'}")
    else:
        row = con.execute("SELECT icp FROM icp_versions ORDER BY created_at DESC LIMIT 1").fetchone()
        if not row:
            raise UserError("no ICP built yet", hint="run icp-agent run (or the build_icp tool) first")
    return IcpDocument.model_validate_json(row[0])


class IcpVersionInfo(BaseModel):
    """One ICP version of the workspace (list_icp_versions)."""

    version_id: str
    created_at: str = Field(description="when it was built: UTC, ISO 8601 (utc_timestamp)")
    dataset_fingerprint: str = Field(description="the imports it was built from (same data, same fingerprint)")
    status: str = Field(description="ok, or no_significant_icp")


@operation(NoOptions)
def list_icp_versions(ws: Workspace, params: NoOptions) -> list[IcpVersionInfo]:
    """Every ICP version, oldest first. In a server it is read once per state of the workspace
    (Workspace.remembered): the list is shared, do not change it."""
    return ws.remembered(
        "list_icp_versions",
        lambda con: [
            IcpVersionInfo(version_id=v, created_at=utc_timestamp(t), dataset_fingerprint=f, status=s)
            for v, t, f, s in con.execute(
                "SELECT version_id, created_at, dataset_fingerprint, status FROM icp_versions ORDER BY created_at"
            ).fetchall()
        ],
    )


class EvidenceItems(BaseModel):
    """The evidence items asked for, in the order asked (get_evidence)."""

    items: list[EvidenceItem]


@operation(EvidenceOptions, positional=("ids", "version"))
def get_evidence(ws: Workspace, params: EvidenceOptions) -> EvidenceItems:
    """Evidence items by id (each from the latest version that has it, or from `version`), in the order asked,
    each id once. An unknown id is a UserError naming it."""
    items = []
    with ws.read() as con:
        for evidence_id in dict.fromkeys(params.ids):
            item = evidence_store.read_item(con, evidence_id, params.version)
            if item is None:
                raise UserError(
                    f"no evidence item {evidence_id!r}" + (f" in ICP {params.version}" if params.version else ""),
                    hint="ids look like E3f9a2c1d; they are listed in icp.json and the document's appendix",
                )
            items.append(item)
    return EvidenceItems(items=items)


class EvidenceBrief(BaseModel):
    """An evidence item without its figures and query (list_evidence)."""

    id: str
    kind: str
    statement: str
    n: int | None = None


class EvidenceListing(BaseModel):
    """A version's evidence items, of one kind or all (list_evidence)."""

    version_id: str
    kinds: list[str] = Field(description="the kinds of evidence this version holds")
    items: list[EvidenceBrief]


@operation(ListEvidenceOptions)
def list_evidence(ws: Workspace, params: ListEvidenceOptions) -> EvidenceListing:
    """The evidence items of an ICP version (of one kind, or all): id, kind, statement and n."""
    icp = get_icp(ws, params.version)
    items = [
        EvidenceBrief.model_validate({k: getattr(e, k) for k in EvidenceBrief.model_fields})
        for e in icp.evidence
        if params.kind is None or e.kind == params.kind
    ]
    return EvidenceListing(version_id=icp.id, kinds=sorted({e.kind for e in icp.evidence}), items=items)


class RunResult(BaseModel):
    """What run imported, the ICP it built and the files it wrote."""

    model_config = ConfigDict(defer_build=True)  # built on first use: the import command never uses it
    out_dir: str
    imported: ImportResult
    icp: IcpDocument | None = None
    files: list[str] = Field(default_factory=list, description="files written into out_dir")


@_holding_workspace
def run(
    ws: Workspace,
    data_dir: Paths,
    out_dir: str | Path,
    *,
    customers=None,
    deals=None,
    contacts=None,
    prospects=None,
    interviews=None,
    subscriptions=None,
    tickets=None,
    events=None,
    mapping_file=None,
    lenient: bool = False,
    sheet: str | int | None = None,
    fx_file=None,
    options: AnalysisOptions | None = None,
    progress: Progress | None = None,
) -> RunResult:
    """The whole job: import (`data_dir`: files and folders, see import_data), analyse, write the report folder."""
    imported = import_data(
        ws,
        data_dir,
        customers=customers,
        deals=deals,
        contacts=contacts,
        prospects=prospects,
        interviews=interviews,
        subscriptions=subscriptions,
        tickets=tickets,
        events=events,
        mapping_file=mapping_file,
        lenient=lenient,
        sheet=sheet,
        fx_file=fx_file,
        progress=progress,
    )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = inspect_workspace(ws)
    written = [_write(out / "import_report.json", summary.model_dump_json(indent=2))]
    from icp_agent.render.import_report import render_import_report

    written.append(_write(out / "import_report.md", render_import_report(summary)))
    icp = build_icp(ws, options, progress)
    written += write_icp_outputs(ws, icp, out, progress)
    return RunResult(out_dir=str(out), imported=imported, icp=icp, files=written)


def write_icp_outputs(ws: Workspace, icp: IcpDocument, out: Path, progress: Progress | None = None) -> list[str]:
    """icp.json (validated), its schema, the scoring matrix and the ICP document (md, html).

    scoring_matrix.csv is written on a cursor of the workspace's connection, in a second thread, while the CRM
    files and icp.json are made: each CSV writer runs on about one core (DuckDB keeps the rows' order), and the
    matrix needs nothing the others change (the CRM files add warnings to icp.json and the document). The
    document's scan of the frame (the rows patterns share: render.document.pattern_overlaps) runs beside them too,
    on a cursor in a second thread, started once the CRM files' check of the frame's rows has run (both are scans
    of the frame; beside each other they delayed the CRM table the three CRM writers wait for): at 1M customers
    the writers end waiting on the disk (about 1 GB of CSV written back, 0.3-0.4 s with both cores idle), and that
    scan, run after them, took 0.3-0.4 s more."""
    with _cyclic_gc_paused():
        return _write_icp_outputs(ws, icp, out, progress)


def _write_icp_outputs(ws: Workspace, icp: IcpDocument, out: Path, progress: Progress | None) -> list[str]:
    from concurrent.futures import ThreadPoolExecutor

    from icp_agent.render.tabular import one_thread_each

    written: list[str] = []
    # the row writes report rows done (the engine's progress of each COPY: progress.watch, ws.watched); at 1M rows
    # they are most of this step
    frame = f"frame_{icp.id.replace('-', '_')}"
    rows = _count(ws, f"SELECT count(*) FROM {frame}") if progress else 0
    # the frame's rows are scored once (on every thread) for the matrix and the customers' CRM rows; then the matrix
    # and the CRM files run side by side, each on one thread (one_thread_each). The check
    # that lets the CRM files reuse the frame's scores (a positional scan, on one thread whatever the setting) runs
    # once the matrix has started beside it, not before, while the second core waited
    with ws.connect() as con, _scratch(con) as scratch:
        if progress:
            progress("scoring the analysed rows for scoring_matrix.csv and the CRM files")
        scores = _score_frame_once(con, icp, frame, scratch)

        def customers() -> tuple[str, set[str]] | None:
            return _scored_customers(ws, con, icp, frame, scores) if scores else None

        with one_thread_each(con), ThreadPoolExecutor(2, thread_name_prefix="icp-agent outputs") as pool:
            files, document, overlaps = _write_outputs(ws, con, pool, icp, out, progress, rows, scores, customers)
        written += files + _write_document(ws, icp, out, progress, rows, document, overlaps)
    return written


@contextmanager
def _scratch(con: Any) -> Iterator[str]:
    """An in-memory database attached for the while (its name): tables every cursor of `con` sees, unlike TEMP
    tables, and that never reach the workspace's file."""
    from uuid import uuid4

    name = f"_icp_scratch_{uuid4().hex[:12]}"
    con.execute(f"ATTACH ':memory:' AS {name}")
    try:
        yield name
    finally:
        con.execute(f"DETACH {name}")


def _score_frame_once(con: Any, icp: IcpDocument, frame: str, scratch: str) -> str | None:
    """The frame's scores stored in `scratch`, for the matrix (scoring.store_scores) and, through _scored_customers,
    the CRM files; None when the version has no frame (the matrix then says so)."""
    from icp_agent.scorecard.scoring import store_scores

    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND table_name = ?", [frame]
    ).fetchone()
    if not exists or not exists[0]:
        return None
    scores = f"{scratch}.scores"
    store_scores(con, icp, frame, scores)
    return scores


def _scored_customers(
    ws: Workspace, con: Any, icp: IcpDocument, frame: str, scores: str
) -> tuple[str, set[str]] | None:
    """The current customers scored, for the CRM files (write_crm_exports' `customers`): the frame with its stored
    `scores` when the frame holds exactly the customers' rows (a customer-level build on the imported table: the
    same rows, keys and ICP fields, checked row by row in one scan), else None (the CRM files score the table
    themselves)."""
    from icp_agent.scorecard.scoring import icp_fields, same_scores

    customers = ws.current_table(con, "customers")
    if icp.status != "ok" or icp.health.entity != "customer" or not customers:
        return None
    ours, theirs = columns_of(con, frame), columns_of(con, customers)
    if "_row" not in theirs or not same_scores(icp, ours, theirs):
        return None
    fields = {c for f in icp_fields(icp) for c in (f, f"{f}_min", f"{f}_max")}
    compared = sorted(c for c in ours & theirs if c in fields | {"_row", "company_id", "company_name", "domain"})
    differ = " OR ".join(f"f.{_sql_name(c)} IS DISTINCT FROM c.{_sql_name(c)}" for c in compared)
    rows = con.execute(f"SELECT count(*) FROM {frame}").fetchone()
    other = con.execute(f"SELECT count(*) FROM {customers}").fetchone()
    if rows != other or con.execute(
        f"SELECT count(*) FROM (SELECT {', '.join(map(_sql_name, compared))} FROM {frame}) f "
        f"POSITIONAL JOIN (SELECT {', '.join(map(_sql_name, compared))} FROM {customers}) c WHERE {differ}"
    ).fetchone() != (0,):
        return None
    return f"(SELECT f.*, s.* EXCLUDE (_row) FROM {frame} f POSITIONAL JOIN {scores} s)", ours


def _write_outputs(
    ws: Workspace,
    con: Any,
    pool: Any,
    icp: IcpDocument,
    out: Path,
    progress: Progress | None,
    rows: int,
    scores: str | None,
    customers: Callable[[], tuple[str, set[str]] | None],
) -> tuple[list[str], Step, Any]:
    """write_icp_outputs' files but the document (icp.md, icp.html: _write_document, given the step and the
    future of the patterns' shared rows returned), the matrix on a cursor in one of `pool`'s threads and the shared
    rows on another (see write_icp_outputs); `customers()` gives the CRM files the customers already scored
    (_scored_customers), called once the matrix has started."""
    import json

    written: list[str] = []
    cursor = con.cursor()
    matrix = pool.submit(_write_matrix, cursor, icp, out / "scoring_matrix.csv", progress, rows, scores)
    overlaps = None  # the patterns' shared rows: counted beside the CRM files' writers (write_icp_outputs)
    try:
        written.append("scoring_matrix.csv")
        if icp.status == "ok":
            from icp_agent.render.exports import render_playbook, write_crm_exports

            def crm_files():
                scored = _count(
                    ws,
                    """SELECT sum(i.rows_kept) FROM current_snapshot c JOIN imports i USING (import_id)
                       WHERE c.kind IN ('customers', 'prospects')""",
                )
                nonlocal overlaps
                with ws.watched(progress, "writing the CRM files", scored):
                    # the customers' check (a scan of the frame) first, then the shared rows beside the writers
                    scored_customers = customers()
                    overlaps = pool.submit(_pattern_overlaps, con.cursor(), icp)
                    counts, routing = write_crm_exports(ws, icp, out, scored_customers)
                written.extend(counts)
                written.append(_write(out / "playbook.md", render_playbook(icp, routing)))

            _phase(icp, "CRM files", crm_files)  # the document written below says when they could not be
        if overlaps is None:  # no CRM files (no ICP, or they failed first): counted now, beside the matrix
            overlaps = pool.submit(_pattern_overlaps, con.cursor(), icp)
        document = Step("writing the ICP document", "rows")
        if progress:
            progress(document)
        data = icp.model_dump(mode="json")
        check_icp_document(data)
        written = [
            _write(out / "icp.json", json.dumps(data, indent=2, ensure_ascii=False)),
            _write(out / "icp.schema.json", json.dumps(icp_schema(), indent=2)),
        ] + written
    finally:
        try:
            matrix.result()  # its error, if any, is raised here (after the others' own)
        finally:
            cursor.close()
    return written, document, overlaps


def _pattern_overlaps(cursor: Any, icp: IcpDocument) -> Any:
    """render.document.pattern_overlaps on `cursor` (closed here), its progress bar off."""
    from icp_agent.render.document import pattern_overlaps

    try:
        cursor.execute("SET enable_progress_bar = false")  # a new cursor starts with DuckDB's default (on)
        return pattern_overlaps(cursor, icp)
    finally:
        cursor.close()


def _write_document(
    ws: Workspace, icp: IcpDocument, out: Path, progress: Progress | None, rows: int, document: Step, overlaps: Any
) -> list[str]:
    """icp.md and icp.html: the imports' currencies and the rows patterns share (`overlaps`: the future of
    pattern_overlaps, run beside the writers; waited for in the step `document`)."""
    from icp_agent.render.document import document_inputs, render_html, render_markdown

    with ws.watched(progress, document, rows):
        inputs = document_inputs(ws, icp, overlaps.result())
    return [
        _write(out / "icp.md", render_markdown(icp, **inputs)),
        _write(out / "icp.html", render_html(icp, **inputs)),
    ]


def _write_matrix(
    con, icp: IcpDocument, path: Path, progress: Progress | None, rows: int, scores: str | None = None
) -> None:
    """scoring_matrix.csv on `con` (a cursor: its own connection settings), reporting rows done; `scores`: the
    frame's scores stored already (write_scoring_matrix)."""
    from icp_agent.progress import watch
    from icp_agent.render.matrix import write_scoring_matrix

    con.execute("SET enable_progress_bar = false")  # a new cursor starts with DuckDB's default (on)
    with watch(con, progress, "writing scoring_matrix.csv", rows):
        write_scoring_matrix(con, icp, path, scores)


def _count(ws: Workspace, sql: str) -> int:
    """The one number `sql` (a count) gives on the workspace, 0 when it gives none: a step's rows, for progress."""
    with ws.read() as con:
        return int((con.execute(sql).fetchone() or (0,))[0] or 0)


def _write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return path.name


@operation(ScoreOptions, positional=("input_path", "output_path"))
def _score_prospects(ws: Workspace | None, params: ScoreOptions, progress: Progress | None = None) -> Any:
    """Score a prospect file with an icp.json (portable) or the workspace's ICP (`version`, default the latest).

    The output may not replace the input, the icp.json, the workspace file, or any file (or interview folder)
    the workspace recorded as an import: UserError says which. An unreadable path (too long, no permission)
    is a UserError naming the argument, never a bare OSError.

    Labels are translated as the workspace's current snapshots were imported (their mapping's `[values.FIELD]`
    tables, `stored_value_maps`), then by `mapping_file`'s tables (a prospect file from another tool), whose
    lines win; a mapping file is read and checked as import_data reads it."""
    from icp_agent.scorecard.scoring import score_file

    input_path, output_path, icp_path = params.input_path, params.output_path, params.icp_path
    try:
        extra = [Path(p) for p in (icp_path, params.mapping_file) if p]
        check_output_path(output_path, [Path(input_path), *extra], ws)
        mapping = Mapping.load(params.mapping_file) if params.mapping_file else None
        stored = stored_value_maps(ws) if ws is not None and ws.path.exists() else {}
        if icp_path is not None:
            icp = load_icp(icp_path)
        elif ws is not None:
            icp = get_icp(ws, params.version)
        else:
            raise UserError("no ICP to score with", hint="pass --icp icp.json (or a workspace with an ICP built)")
        return score_file(icp, input_path, output_path, progress, stored_values=stored, mapping=mapping)
    except OSError as exc:  # a path the OS refuses: say which and why, rather than fail without a message
        raise UserError(
            f"cannot use the path: {exc.strerror or exc}",
            file=str(exc.filename or output_path),
            hint="check the path's length, spelling and permissions",
        ) from exc


def stored_value_maps(ws: Workspace) -> dict[str, dict[str, str]]:
    """The `[values.FIELD]` tables the workspace's current snapshots were imported with (each import report's
    value_map): field -> {raw label -> stored label}; where two snapshots map one label, the later import wins."""
    with ws.read() as con:
        return workspace_value_maps(con)


def score_prospects(*args: Any, ws: Workspace | None = None, **fields: Any) -> Any:
    """Score a prospect file: `score_prospects(ws, ScoreOptions(...))`, or `score_prospects(input_path,
    output_path, icp_path=..., ws=..., version=...)` (no workspace is needed with an icp.json); `progress=`
    receives rows done and the total as the file is scored. Returns the
    ScoreResult: rows, counts per tier and priority, disqualified rows, fields the file lacks."""
    if args and (args[0] is None or isinstance(args[0], Workspace)):
        ws, args = args[0], args[1:]
    return _score_prospects(ws, *args, **fields)


score_prospects.options = ScoreOptions  # type: ignore[attr-defined]


def check_output_path(output_path: str | Path, inputs: list[Path], ws: Workspace | None = None) -> Path:
    """Refuse an output that would replace one of `inputs`, the workspace file or anything the workspace recorded
    as imported (a source export, or a file under an imported interview folder). Symlinks and hard links are
    followed: the comparison is on the resolved path and, for files that exist, on the file's identity."""
    output = Path(output_path).expanduser()
    target = output.resolve()
    protected: list[tuple[Path, str, bool]] = [(Path(p).expanduser(), "the input file", False) for p in inputs]
    if ws is not None and ws.path.exists():
        protected.append((ws.path, "the workspace file", False))
        with ws.read() as con:
            for kind, name, path in con.execute(
                "SELECT DISTINCT kind, file_name, path FROM imports WHERE path IS NOT NULL"
            ).fetchall():
                protected.append((Path(path), f"the imported {kind} export {name!r}", kind == "interviews"))
    for path, what, folder in protected:
        resolved = path.resolve()
        same = (
            target == resolved
            or (folder and target.is_relative_to(resolved))
            or (output.exists() and path.exists() and not folder and os.path.samefile(output, path))
        )
        if same:
            raise UserError(
                f"the scored file would replace {what} ({resolved})",
                file=str(output),
                hint="write it to a new file name; sources and the workspace are never overwritten",
            )
    return target


@operation(DiffOptions, positional=("old", "new"))
def diff_icp_versions(ws: Workspace, params: DiffOptions) -> dict:
    """Compare two ICP versions (default: the last two): migration, PSI, patterns, backtest, recommendation.
    The fit fields compared are those of the newer version's build options (a good/bad column is no fit field)."""
    from icp_agent.drift.versions import diff
    from icp_agent.evidence import Ledger

    old, new = params.old, params.new
    versions = [v.version_id for v in list_icp_versions(ws)]
    if len(versions) < 2 and not (old and new):
        raise UserError(
            f"{'only one ICP version' if versions else 'no ICP version'} so far: nothing to compare",
            hint="import a newer snapshot with icp-agent refresh, or build again after changes",
        )
    new = new or versions[-1]
    old = old or versions[versions.index(new) - 1]
    old_icp, new_icp = get_icp(ws, old), get_icp(ws, new)
    ledger = Ledger()
    with ws.transaction() as con:
        fields = _analysis_inputs(ws, con, built_with(new_icp)).fit_fields
        result = diff(con, old_icp, new_icp, fields, ledger)
        con.execute(
            "DELETE FROM evidence WHERE version_id = ? AND list_contains(?, evidence_id)",
            [new, [i.id for i in ledger.all()]],
        )
        ledger.save(con, new)
    from icp_agent.evidence import clean

    return clean(result)


class RefreshResult(BaseModel):
    """What refresh imported, the ICP it built, its comparison with the previous version, the files."""

    model_config = ConfigDict(defer_build=True)  # built on first use: the import command never uses it
    imported: ImportResult
    icp: IcpDocument
    diff: dict | None = None
    files: list[str] = Field(default_factory=list)


@_holding_workspace
def refresh(
    ws: Workspace,
    data_dir: Paths,
    out_dir: str | Path,
    *,
    customers=None,
    deals=None,
    contacts=None,
    prospects=None,
    interviews=None,
    subscriptions=None,
    tickets=None,
    events=None,
    mapping_file=None,
    lenient: bool = False,
    sheet: str | int | None = None,
    fx_file=None,
    options: AnalysisOptions | None = None,
    progress: Progress | None = None,
) -> RefreshResult:
    """Import a newer snapshot, rebuild the ICP as a new version, and compare it with the previous one.

    The build uses the options the previous version was built with; the options set in `options` (its
    model_fields_set) replace those."""
    import json

    had_icp = bool(list_icp_versions(ws))
    if had_icp:
        previous = built_with(get_icp(ws))
        given = options.model_dump(include=options.model_fields_set) if options is not None else {}
        options = AnalysisOptions.model_validate({**previous.model_dump(exclude_unset=False), **given})
    imported = import_data(
        ws,
        data_dir,
        customers=customers,
        deals=deals,
        contacts=contacts,
        prospects=prospects,
        interviews=interviews,
        subscriptions=subscriptions,
        tickets=tickets,
        events=events,
        mapping_file=mapping_file,
        lenient=lenient,
        sheet=sheet,
        fx_file=fx_file,
        progress=progress,
    )
    icp = build_icp(ws, options, progress)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = write_icp_outputs(ws, icp, out, progress)
    result = diff_icp_versions(ws) if had_icp else None
    if result is not None:
        files.append(_write(out / "drift.json", json.dumps(result, indent=2, default=str)))
    return RefreshResult(imported=imported, icp=icp, diff=result, files=files)


@operation(PersonaEvidenceOptions, positional=("segment", "tier", "version"))
def get_persona_evidence(ws: Workspace, params: PersonaEvidenceOptions) -> dict:
    """Titles, seniority, departments per buying role on a tier's won deals, and its interview quotes.

    Every count and quote becomes an evidence item of the version, so drafts can cite them.
    """
    segment, tier, version = params.segment, params.tier, params.version
    from icp_agent.drafting.offline import tier_tables
    from icp_agent.evidence import Ledger
    from icp_agent.personas.buyers import persona_evidence

    icp = get_icp(ws, version)
    if not any(t.segment == segment and t.tier == tier for t in icp.tiers):
        known = ", ".join(f"{t.segment} Tier {t.tier}" for t in icp.tiers) or "none (no significant ICP)"
        raise UserError(f"no {segment} Tier {tier} in ICP {icp.id}", hint=f"tiers: {known}")
    ledger = Ledger()
    with ws.transaction() as con:
        result = persona_evidence(con, icp, segment, tier, tier_tables(ws, con, icp), ledger)
        evidence_store.store(con, icp, ledger)
    return result


@operation(SaveDraftsOptions)
def save_drafts(ws: Workspace, params: SaveDraftsOptions) -> SaveDraftsResult:
    """Save drafted personas / negative-ICP rationale into the ICP version, only if every claim is grounded.

    A draft with any claim that cites nothing, cites an unknown id, misquotes a number or
    a quote is refused whole (saved=false), with the list of offending claims, so the writer can fix it.
    Scores, tiers, criteria and disqualifiers are never touched.
    """
    from icp_agent.drafting import store

    if not (params.personas or params.rationales):
        raise ArgumentError("nothing to save", hint="pass personas and/or rationales")
    return store.save_drafts(
        ws,
        get_icp(ws, params.version),
        params.personas or [],
        params.rationales or [],
        drafter=params.drafter,
        model=params.model,
    )


@operation(RecordDraftingOptions, positional=("version",))
def record_drafting(ws: Workspace, params: RecordDraftingOptions) -> DraftingRecorded:
    """Save a drafter's tier narratives and interview themes into the ICP version, mark its saved personas with
    their drafter and known gaps, and merge its drafting record (model, prompt versions, run status). All or
    nothing: a claim that is not grounded is a UserError naming it (drafting/store.py)."""
    from icp_agent.drafting import store

    return store.record_drafting(ws, get_icp(ws, params.version), params)


@operation(ValidateOptions, positional=("version", "revenue_target"))
def validate_icp(ws: Workspace, params: ValidateOptions) -> Validation:
    """Re-run phase 5's validation of an ICP version, with the options it was built with (a revenue target given
    here replaces the version's). Tiers, criteria and scores do not change; the version's validation and its
    evidence are updated. Returns the new validation (icp.json's validation section)."""
    from icp_agent.evidence import Ledger
    from icp_agent.validation.validate import validate

    icp = get_icp(ws, params.version)
    if not icp.tiers:
        raise UserError(
            f"ICP {icp.id} has no tiers to validate ({icp.status})",
            hint="validation needs a significant ICP; see no_icp_reason",
        )
    options = built_with(icp)
    if params.revenue_target is not None:
        options = options.model_copy(update={"revenue_target": params.revenue_target})
    ledger = Ledger()
    with ws.transaction() as con:
        inputs = _analysis_inputs(ws, con, options)
        validation = validate(
            con, inputs, options.config(), icp, ws.current_table(con, "prospects"), options.revenue_target, ledger
        )
        icp.validation = validation
        icp.dataset.options = options.model_dump(mode="json")
        evidence_store.store(con, icp, ledger)
        _save_version(con, icp)
    return validation


@operation(VersionOptions, positional=("version",))
def fit_scorecard(ws: Workspace, params: VersionOptions) -> Scorecard:
    """Fit the lead-scoring model again on an ICP version's scored entities (e.g. after changing field roles),
    with the fit fields of the options the version was built with. Returns the new scorecard (icp.json's)."""
    from icp_agent.evidence import Ledger

    icp = get_icp(ws, params.version)
    if not icp.tiers:
        raise UserError(
            f"ICP {icp.id} has no tiers ({icp.status}): a fit score would have nothing to stand on",
            hint="build an ICP on data with a significant segment first",
        )
    ledger = Ledger()
    with ws.transaction() as con:
        inputs = _analysis_inputs(ws, con, built_with(icp))
        card = _fit_scorecard(con, icp, inputs, ledger)
        icp.scorecard = card
        evidence_store.store(con, icp, ledger)
        _save_version(con, icp)
    return card


def _save_version(con: Any, icp: IcpDocument) -> None:
    """Write a changed version's icp.json back (its id, tiers and scores never change)."""
    con.execute("UPDATE icp_versions SET icp = ? WHERE version_id = ?", [icp.model_dump_json(), icp.id])


class RenderResult(BaseModel):
    """The report files render_document wrote."""

    version_id: str
    out_dir: str
    files: list[str] = Field(description="the files written (absolute paths)")


@operation(RenderOptions, positional=("version",))
def render_document(ws: Workspace, params: RenderOptions, progress: Progress | None = None) -> RenderResult:
    """Write an ICP version's document (icp.md, icp.html), icp.json with its schema, the scoring matrix and, for a
    significant ICP, the CRM files and playbook into `out_dir` (default icp-out), replacing earlier ones there."""
    icp = get_icp(ws, params.version)
    out = Path(params.out_dir or "icp-out").expanduser()
    if out.exists() and not out.is_dir():
        raise ArgumentError(f"out_dir {out} is a file, not a folder", hint="pass a folder for the report files")
    out.mkdir(parents=True, exist_ok=True)
    files = write_icp_outputs(ws, icp, out, progress)
    return RenderResult(version_id=icp.id, out_dir=str(out.resolve()), files=[str(out.resolve() / f) for f in files])


QUERY_TIMEOUT_S = 10
QUERY_MAX_CHARS = 20000


@operation(QueryOptions, positional=("sql",))
def query_workspace(ws: Workspace, params: QueryOptions) -> Any:
    """One read-only SQL query over the workspace (query.run_readonly_query): rows capped at max_rows, text at
    QUERY_MAX_CHARS, time at QUERY_TIMEOUT_S seconds, each flagged truncated. Returns a QueryResult."""
    from icp_agent.query import run_readonly_query

    return run_readonly_query(
        ws.path,
        params.sql,
        max_rows=params.max_rows,
        max_chars=QUERY_MAX_CHARS,
        timeout_s=QUERY_TIMEOUT_S,
        busy_timeout=ws.busy_timeout,
    )
