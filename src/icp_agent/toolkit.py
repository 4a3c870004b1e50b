"""The public operations of icp-agent: one typed function each.

The CLI, the MCP server, the assistant and Python users all call these and nothing
else; none of them holds logic of its own. Each takes a Workspace first and returns a
pydantic model (or plain JSON-able data), raising UserError for anything a user can fix.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, Field

from icp_agent.errors import ArgumentError, DataShapeError, UserError
from icp_agent.evidence import EvidenceItem
from icp_agent.health.rollup import ROLLUP_KINDS, link_accounts, roll_up
from icp_agent.ingest import links
from icp_agent.ingest.fields import ROLES
from icp_agent.ingest.importer import (
    Mapping,
    detect_kind,
    import_into,
    require_readable,
)
from icp_agent.ingest.interviews import import_interviews_into, interview_files
from icp_agent.ingest.reader import (
    TABLE_SUFFIXES,
    WORKBOOK_SUFFIXES,
    inspect_file,
    peek_headers,
)
from icp_agent.models import (
    DATA_KINDS,
    ICP_SCHEMA_VERSION,
    DraftingRecord,
    HealthSummary,
    IcpDocument,
    ImportReport,
    LinkReport,
    Narrative,
    PatternStat,
    Persona,
    Scorecard,
    SegmentName,
    Theme,
    TierNumber,
    Validation,
    WorkspaceSummary,
    utc_timestamp,
)
from icp_agent.progress import (
    Progress,  # called (message) or (message, rows done, rows total)
)
from icp_agent.sql import columns_of
from icp_agent.workspace import Workspace


class PlannedFile(BaseModel):
    path: str
    kind: str
    reason: str
    read_as: str | None = Field(None, description="format, encoding and delimiter (or sheet) the file is read with")


class SkippedFile(BaseModel):
    path: str
    reason: str = Field(description="why the file was not imported (not an export, not a table)")


class InputPlan(BaseModel):
    files: list[PlannedFile]
    skipped: list[SkippedFile] = Field(default_factory=list)


class ImportResult(BaseModel):
    plan: list[PlannedFile]
    reports: list[ImportReport]
    interviews: dict | None = None
    links: list[LinkReport] = Field(default_factory=list)
    skipped: list[SkippedFile] = Field(default_factory=list, description="files in the folders that were not "
                                                                          "exports, each with the reason")


T = TypeVar("T")


def _holding_workspace(operation: Callable[..., T]) -> Callable[..., T]:
    """Run a multi-step operation inside Workspace.session(): the file is taken once, before any work, so a busy
    workspace is reported before anything is written, never after a commit (an import used to commit, then
    fail "busy" when its link report opened the file again beside a server)."""
    @functools.wraps(operation)
    def held(ws: Workspace, *args: Any, **kwargs: Any) -> T:
        with ws.session():
            return operation(ws, *args, **kwargs)
    return held


# Suffixes whose files may be something else than an export (notes, configs, logs): in a folder,
# one that does not read as a table is skipped with a note. A .csv or .xlsx that fails is an error.
MAYBE_TABULAR = {".txt", ".json", ".tab"}
Paths = str | Path | list[str | Path] | tuple[str | Path, ...] | None


def _read_as(source) -> str:
    if source.format == "xlsx":
        return f"Excel workbook, sheet {source.sheet!r}"
    if source.format != "csv":
        return source.format
    names = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
    delimiter = names.get(source.delimiter, repr(source.delimiter))
    count = sum(1 for line in source.title_lines if line)
    titles = f", {count} title line(s) above the header" if count else ""
    return f"{source.encoding.upper()}, {delimiter}-delimited{titles}"


def plan_import(paths: Paths = None, *, customers=None, deals=None, contacts=None, prospects=None,
                interviews=None, subscriptions=None, tickets=None, events=None, mapping: Mapping | None = None,
                sheet: str | int | None = None, has_accounts: bool = False) -> InputPlan:
    """Decide which file is which: flags win, the rest is recognised from headers and contents.

    `paths` is any mix of files and folders. A folder's tabular files are recognised, a
    subfolder of .md/.txt notes is the interviews; anything else in a folder (a README, a
    log, an image, a text file that is not a table) is skipped with the reason. A file named
    directly must read, or it is an error. `sheet` picks the worksheet of every workbook.

    subscriptions, tickets and events are per-account tables (a SaaS export beside its accounts
    file); they are rolled up per account into health inputs when the ICP is built. With
    `has_accounts` (the workspace already holds customers or deals), a plan without them is fine:
    a newer snapshot of one table.
    """
    named = {"customers": customers, "deals": deals, "contacts": contacts, "prospects": prospects,
             "interviews": interviews, "subscriptions": subscriptions, "tickets": tickets, "events": events}
    plan = [PlannedFile(path=str(p), kind=k, reason="named with --" + k) for k, p in named.items() if p]
    taken = {Path(p.path).expanduser().resolve() for p in plan}
    skipped: list[SkippedFile] = []
    if isinstance(paths, (str, Path)):
        paths = [paths]
    guessed: list[PlannedFile] = []
    deferred: list[PlannedFile] = []  # companies files without outcomes while --prospects names another file

    def recognise(entry: Path, in_folder: bool) -> None:
        suffix = entry.suffix.lower()
        if in_folder and suffix not in TABLE_SUFFIXES:
            skipped.append(SkippedFile(path=str(entry), reason=f"not a tabular export ({suffix or 'no suffix'})"))
            return
        try:
            source = inspect_file(entry, sheet=sheet if suffix in WORKBOOK_SUFFIXES else None)
            headers = peek_headers(source)
        except UserError as exc:
            if in_folder and suffix in MAYBE_TABULAR:
                skipped.append(SkippedFile(path=str(entry), reason=f"not a table: {exc.reason}"))
                return
            raise
        if in_folder and suffix in MAYBE_TABULAR and len(headers) < 2:
            skipped.append(SkippedFile(path=str(entry), reason="not a table: one column of text (name the file "
                                                               "to import it as a one-column list)"))
            return
        kind, reason = detect_kind(headers, mapping, entry.name)
        if kind == "prospects" and named["prospects"] and not named["customers"]:
            # the user named the prospects: a companies file without outcomes may still be the customers
            # (the "only companies file" rule below decides; otherwise it is skipped)
            deferred.append(PlannedFile(path=str(entry), kind=kind, reason=reason, read_as=_read_as(source)))
            return
        if named.get(kind):
            skipped.append(SkippedFile(path=str(entry), reason=f"looks like {kind}, but --{kind} names another file"))
            return
        guessed.append(PlannedFile(path=str(entry), kind=kind, reason=reason, read_as=_read_as(source)))

    for given in paths or []:
        folder = Path(given).expanduser()
        if not folder.exists():
            raise UserError("no such folder or file", file=str(folder),
                            hint="check the path (relative paths start from the current directory)")
        if folder.is_file():
            if folder.resolve() not in taken:
                taken.add(folder.resolve())
                recognise(folder, in_folder=False)
            continue
        found = len(guessed)
        for entry in sorted(folder.iterdir()):
            if entry.resolve() in taken or entry.name.startswith("."):
                continue
            taken.add(entry.resolve())
            if entry.is_dir():
                if not named["interviews"] and interview_files(entry):
                    guessed.append(PlannedFile(path=str(entry), kind="interviews",
                                               reason="a folder of .md/.txt notes"))
                else:
                    skipped.append(SkippedFile(path=str(entry), reason="a subfolder without interview notes "
                                                                       "(pass it as a PATH to import its files)"))
            elif entry.is_file():
                recognise(entry, in_folder=True)
        if len(guessed) == found and not plan and not deferred:
            raise UserError("no CSV, Excel, Parquet or JSON-lines exports in this folder", file=str(folder),
                            hint="pass the folder holding your exports, or name each file with --customers etc.")
    companies = [p for p in guessed + deferred if p.kind in ("customers", "prospects")]
    if not customers and companies and not any(p.kind == "customers" for p in companies) and len(companies) == 1:
        companies[0].kind, companies[0].reason = "customers", "the only companies file (no outcomes: " \
                                                              "good customers come from won deals)"
    for item in deferred:
        if item.kind == "customers":
            guessed.append(item)
        else:
            skipped.append(SkippedFile(path=item.path, reason="looks like prospects, but --prospects names another "
                                                              "file"))
    plan += guessed
    for kind in DATA_KINDS:
        files = [p for p in plan if p.kind == kind]
        if len(files) > 1:
            raise UserError(f"{len(files)} files look like {kind}: {', '.join(Path(p.path).name for p in files)}",
                            hint=f"name the right one with --{kind} (and the others with their own flags)")
    if not has_accounts and not any(p.kind in ("customers", "deals") for p in plan):
        tables = sorted(p.kind for p in plan if p.kind in ROLLUP_KINDS)
        if tables:
            raise UserError(f"{' and '.join(tables)} need an accounts file to roll up into (one row per account, "
                            f"with its firmographics and, if you have it, a churn flag)",
                            hint="add the accounts export to the folder, or name it with --customers FILE")
        raise UserError("no customers file found (companies with lifecycle, revenue or outcome fields)",
                        hint="name it with --customers FILE")
    return InputPlan(files=plan, skipped=skipped)


def plan_inputs(data_dir: Paths = None, *, customers=None, deals=None, contacts=None,
                prospects=None, interviews=None, subscriptions=None, tickets=None, events=None,
                mapping: Mapping | None = None, sheet: str | int | None = None,
                has_accounts: bool = False) -> list[PlannedFile]:
    """The files `plan_import` would import (without the skipped ones)."""
    return plan_import(data_dir, customers=customers, deals=deals, contacts=contacts, prospects=prospects,
                       interviews=interviews, subscriptions=subscriptions, tickets=tickets, events=events,
                       mapping=mapping, sheet=sheet, has_accounts=has_accounts).files


@_holding_workspace
def import_data(ws: Workspace, data_dir: Paths = None, *, customers=None, deals=None, contacts=None,
                prospects=None, interviews=None, subscriptions=None, tickets=None, events=None,
                mapping_file: str | Path | None = None, lenient: bool = False,
                sheet: str | int | None = None, fx_file: str | Path | None = None,
                progress: Progress | None = None) -> ImportResult:
    """Import every input as a new snapshot of its kind, then report how the files link.

    `data_dir` is a folder, a file, or a list of both. All or nothing: the files are
    imported in one transaction, so when one fails (UserError naming it) nothing from
    this call stays in the workspace. `fx_file`: exchange rates (CSV currency,rate: units of the
    reporting currency per unit) that convert money columns holding several currencies; without
    them only the reporting currency is comparable. The workspace is held from the first step to the
    last (Workspace.session): WorkspaceBusy comes before anything is imported.
    """
    mapping = Mapping.load(mapping_file)
    if fx_file:
        mapping.load_fx(fx_file)
    has_accounts = False
    if ws.path.exists():
        with ws.connect() as con:
            has_accounts = bool(ws.current_table(con, "customers") or ws.current_table(con, "deals"))
    planned = plan_import(data_dir, customers=customers, deals=deals, contacts=contacts, prospects=prospects,
                          interviews=interviews, subscriptions=subscriptions, tickets=tickets, events=events,
                          mapping=mapping, sheet=sheet, has_accounts=has_accounts)
    order = {k: i for i, k in enumerate(("customers", "prospects", "deals", "contacts", *ROLLUP_KINDS,
                                         "interviews"))}
    if mapping.columns or mapping.files:  # an entry that applies to no file is a typo: say so before importing
        mapping.check_files({Path(p.path).name: peek_headers(inspect_file(
            p.path, lenient=lenient, sheet=sheet if Path(p.path).suffix.lower() in WORKBOOK_SUFFIXES else None))
            for p in planned.files if p.kind != "interviews"})
    reports, notes = [], None
    with ws.transaction() as con:
        for item in sorted(planned.files, key=lambda p: order[p.kind]):
            if progress:
                progress(f"importing {Path(item.path).name} as {item.kind}")
            if item.kind == "interviews":
                notes = import_interviews_into(con, item.path)
            else:
                workbook = Path(item.path).suffix.lower() in WORKBOOK_SUFFIXES
                reports.append(import_into(con, item.path, item.kind, mapping=mapping, lenient=lenient,
                                           progress=progress, reason=item.reason, sheet=sheet if workbook else None,
                                           scratch_dir=ws.path.parent))
    return ImportResult(plan=planned.files, reports=reports, interviews=notes, links=link_report(ws),
                        skipped=planned.skipped)



def link_report(ws: Workspace, con=None) -> list[LinkReport]:
    """How the current deals and contacts link to the current companies (the key chosen by value overlap)."""
    if con is None:
        with ws.connect() as own:
            return link_report(ws, own)
    customers = ws.current_table(con, "customers")
    deals = ws.current_table(con, "deals")
    contacts = ws.current_table(con, "contacts")
    result = []
    if deals and customers:
        result.append(links.link_deals(con, deals, customers))
    if contacts and (deals or customers):
        result.append(links.link_contacts(con, contacts, deals, customers))
    for kind in ROLLUP_KINDS:
        table = ws.current_table(con, kind)
        if table and customers:
            result.append(link_accounts(con, kind, table, customers).report())
    return result


def check_links(reports: list[LinkReport], allow_unlinked: bool) -> list[str]:
    """Stop (UserError) when half or fewer of the deals or contacts link; with allow_unlinked, mark the
    reports and return the warnings that say how much was left out."""
    warnings = []
    for link in reports:
        usable = link.linked + link.standalone
        if not link.rows or usable > links.MIN_LINKED_SHARE * link.rows:
            continue
        share = f"{link.linked:,} of {link.rows:,} {link.kind} ({100 * link.linked / link.rows:.0f}%)"
        own = f"; {link.standalone:,} more carry their own firmographics" if link.standalone else ""
        if not allow_unlinked:
            raise UserError(f"only {share} link to a company{own}: an ICP built on the rest would leave out "
                            f"{link.unlinked:,} {link.kind}. Likely cause: {link.cause or 'unknown'}",
                            hint="fix the export as the cause says and import it again, or build without them "
                                 "(CLI: --allow-unlinked; MCP tools: allow_unlinked=true)")
        link.allowed_unlinked = True
        warnings.append(f"only {share} link to a company{own}: {link.unlinked:,} {link.kind} were analysed without "
                        f"their company's fields (--allow-unlinked). Likely cause: {link.cause or 'unknown'}")
    return warnings


def inspect_workspace(ws: Workspace) -> WorkspaceSummary:
    """What the workspace holds: the current snapshot of each kind with its report, and field roles. In a server
    it is computed once per state of the workspace (Workspace.remembered), so a repeated look costs no query.
    The summary is shared: do not change it."""
    return ws.remembered("inspect_workspace", lambda con: _inspect_workspace(ws, con))


def _inspect_workspace(ws: Workspace, con) -> WorkspaceSummary:
    version = con.execute("SELECT max(version) FROM schema_info").fetchone()[0]
    current = {kind: ImportReport.model_validate_json(report) for kind, report in con.execute(
        """SELECT i.kind, i.report FROM current_snapshot c JOIN imports i USING (import_id)
           WHERE i.kind <> 'interviews'""").fetchall()}
    snapshots = dict(con.execute("SELECT kind, count(*) FROM imports GROUP BY kind ORDER BY kind").fetchall())
    notes = con.execute("""SELECT count(*) FROM interviews WHERE import_id =
                           (SELECT import_id FROM current_snapshot WHERE kind = 'interviews')""").fetchone()[0]
    roles = field_roles(ws, con)
    linked = ws.per_snapshot("links", con, lambda: link_report(ws, con)) if current else []
    unobserved = []
    if "prospects" in current:  # a field the prospect list also has is evidence a seller can observe it
        in_prospects = {c.field for c in current["prospects"].columns}
        unobserved = sorted(f for f, role in roles.items() if role == "fit" and f not in in_prospects)
    return WorkspaceSummary(workspace=str(ws.path), schema_version=version, current=current, snapshots=snapshots,
                            interviews=notes, links=linked, roles=roles,
                            not_in_prospects=unobserved)


def field_roles(ws: Workspace, con=None) -> dict[str, str]:
    """Role of every field of the current customers snapshot (and deals' firmographics), overrides applied.

    A field that also appears in the prospect list is observable before the sale; an
    inferred 'fit' role is kept for it, the others are shown so the user can check them.
    """
    if con is None:
        with ws.connect() as own:
            return field_roles(ws, own)
    roles: dict[str, str] = {}
    for kind in ("deals", "customers"):
        row = con.execute("""SELECT i.report FROM current_snapshot c JOIN imports i USING (import_id)
                             WHERE c.kind = ?""", [kind]).fetchone()
        if row:
            for column in ImportReport.model_validate_json(row[0]).columns:
                if column.role != "ignore" or column.field not in roles:
                    roles[column.field] = column.role
    roles.update(ws.role_overrides(con))
    return roles


def set_field_roles(ws: Workspace, roles: dict[str, str]) -> dict[str, str]:
    """Override inferred roles (e.g. {"time_zone": "ignore", "lead_source": "fit"}); returns all roles."""
    with ws.transaction() as con:
        known = set(field_roles(ws, con))
        roles = {resolve_field(ws, field, con): role for field, role in roles.items()}  # a header works too
        for field, role in roles.items():
            if role not in ROLES:
                raise UserError(f"role {role!r} for field {field!r} is not one of {list(ROLES)}")
            if known and field not in known:
                raise UserError(f"no field {field!r} in the current imports",
                                hint=f"known fields: {', '.join(sorted(known))}")
            con.execute("INSERT OR REPLACE INTO field_roles VALUES (?, ?, now())", [field, role])
        return field_roles(ws, con)


class AnalysisOptions(BaseModel):
    """How to define a good customer and how hard to search (every face exposes these)."""

    good: Literal["health", "column", "won"] | None = Field(
        None, description="health: composite score; column: a yes/no outcome column; won: won vs lost deals. "
                          "Default: health when the customers have health fields, else won vs lost deals")
    good_column: str | None = Field(None, description="the outcome column when good='column': yes = good (e.g. "
                                                      "activated), or any column with good_value/bad_value")
    good_value: str | None = Field(None, description="the value of the outcome column meaning good, for a "
                                                     "non-yes/no column (e.g. 'P I F' in a loan status)")
    bad_value: str | None = Field(None, description="the value meaning bad (e.g. 'CHGOFF'); default: any other value")
    bad_column: str | None = Field(None, description="a yes/no column where yes = bad (a churn or default flag): "
                                                     "good = no; implies good='column'")
    weights: dict[str, float] | None = Field(None, description="health component weights (retention, nrr, "
                                                               "cac_efficiency, support_burden, nps, referrals, "
                                                               "time_to_close, activity)")
    min_tenure_months: float = Field(6.0, ge=0, le=120, description="younger active customers are censored")
    depth: int = Field(3, ge=1, le=4, description="most criteria combined in one pattern")
    alpha: float = Field(0.05, gt=0, lt=1, description="false discovery rate for Benjamini-Hochberg")
    min_support: int | None = Field(None, ge=1, description="fewest entities a pattern must cover "
                                                            "(default: the smallest segment in which a 1.5x rate would be "
                                                            "significant, at least 10)")
    as_of: str | None = Field(None, description="ISO date the data describes (default: its latest date)")
    revenue_target: float | None = Field(None, gt=0, description="annual new-revenue target, to check Tier 1 "
                                                                 "is big enough (Tier-1 accounts x ACV >= 3x it)")
    allow_unlinked: bool = Field(False, description="build even when half or fewer of the deals or contacts link "
                                                    "to a company (the ICP says how many were left out)")

    def config(self):
        from icp_agent.health.health_score import DEFAULT_WEIGHTS, HealthConfig
        from icp_agent.tiers.analyse import AnalysisConfig

        weights = dict(DEFAULT_WEIGHTS)
        unknown = set(self.weights or {}) - set(weights)
        if unknown:
            raise UserError(f"unknown health component(s) {sorted(unknown)}", hint=f"use {sorted(weights)}")
        weights.update(self.weights or {})
        if self.good == "column" and not (self.good_column or self.bad_column):
            raise ArgumentError("good='column' needs the outcome column", hint="pass good_column (yes = good) or "
                                "bad_column (yes = bad), e.g. --good-column activated")
        if (self.good_value is not None or self.bad_value is not None) and not (self.good_column or self.bad_column):
            raise ArgumentError("good_value/bad_value need the column they are values of",
                                hint="pass --good-column COL --good-value V (or --bad-column COL --bad-value V)")
        if self.good in ("health", "won") and (self.good_column or self.bad_column):
            raise ArgumentError(f"good={self.good!r} does not read an outcome column",
                                hint="drop --good, or use --good column with the column")
        good = "column" if self.good is None and (self.good_column or self.bad_column) else self.good
        return AnalysisConfig(health=HealthConfig(good=good, good_column=self.good_column, good_value=self.good_value,
                                                  bad_value=self.bad_value, bad_column=self.bad_column, weights=weights,
                                                  min_tenure_months=self.min_tenure_months, as_of=self.as_of),
                              depth=self.depth, alpha=self.alpha, min_support=self.min_support)


def resolve_field(ws: Workspace, name: str, con=None) -> str:
    """The stored field a user means by `name`: a field name as is, or a header as written in an imported file
    ("Is Active?" -> is_active, "Churned" -> churned), read from the current import reports. Unknown names are
    returned unchanged (the step that uses them says which fields exist)."""
    if con is None:
        with ws.connect() as own:
            return resolve_field(ws, name, own)
    from icp_agent.ingest.fields import canonical_field, header_key

    columns = []
    for (report_json,) in con.execute("""SELECT i.report FROM current_snapshot c JOIN imports i USING (import_id)
                                         WHERE i.kind <> 'interviews' ORDER BY CASE i.kind WHEN 'customers' THEN 0
                                         WHEN 'deals' THEN 1 WHEN 'contacts' THEN 2 ELSE 3 END""").fetchall():
        columns += ImportReport.model_validate_json(report_json).columns
    fields = {c.field for c in columns}
    if name in fields:
        return name
    for same in (lambda c: c.header == name, lambda c: c.header.strip().casefold() == name.strip().casefold(),
                 lambda c: header_key(c.header) == header_key(name)):
        found = next((c.field for c in columns if same(c)), None)
        if found:
            return found
    canonical = canonical_field(name)
    return canonical if canonical in fields else name


def _resolve_columns(ws: Workspace, options: "AnalysisOptions") -> "AnalysisOptions":
    """Options whose column names (good_column, bad_column) may be written as the file's header, mapped to
    stored fields."""
    named = {name: resolve_field(ws, value) for name in ("good_column", "bad_column")
             if (value := getattr(options, name))}
    return options.model_copy(update=named) if named else options


def _analysis_inputs(ws: Workspace, con, options: "AnalysisOptions"):
    from icp_agent.schema import AnalysisInputs, build_schema
    from icp_agent.tiers.analyse import fingerprint

    customers = ws.current_table(con, "customers")
    deals = ws.current_table(con, "deals")
    if not customers and not deals:
        raise UserError("no customers imported yet", hint="import your exports first: icp-agent import DATA_DIR "
                                                          "(or the import_data tool)")
    per_account = {kind: table for kind in ROLLUP_KINDS if (table := ws.current_table(con, kind))}
    notes: list[str] = []
    if per_account and not customers:
        notes.append(f"{', '.join(per_account)} not used: there is no accounts file to roll them up into")
    elif per_account:
        # the accounts with health inputs aggregated from subscriptions, tickets and events (analysis/rollup.py)
        rolled = roll_up(con, customers, per_account, options.as_of)
        customers, notes = rolled.table, rolled.notes
    roles = field_roles(ws, con)
    imports = []
    reports: dict[str, ImportReport] = {}
    tables: dict[str, str] = {}
    # the columns the chosen definition of good actually reads: the named outcome column alone, nothing of the
    # customers' health fields for won deals, every outcome field of the customers for the health score
    if options.good_column or options.bad_column:
        defining = {options.good_column, options.bad_column} - {None}
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
            imports.append({"kind": kind, "file_name": report.file_name, "sha256": report.sha256,
                            "rows": report.rows_kept, "import_id": report.import_id})
        if kind in ROLLUP_KINDS:
            continue  # rolled up into the customers' health inputs above
        reports[kind], tables[kind] = report, ws.current_table(con, kind)
        if kind in ("customers", "deals"):
            # a column that defines a good customer must be fully readable (exit 2 naming it otherwise)
            require_readable(report, defining if kind == "customers" or options.good_column or options.bad_column
                             else set())
    schema = build_schema(con, reports, tables, roles)
    # the customers' and deals' types (the schema's reconciliation decides which one a shared field has)
    types = {f: t for f, t in schema.types().items() if schema.field(f, "customers") or schema.field(f, "deals")}
    headers = {f: h for f, h in schema.headers().items() if f in types}
    outcome = {options.good_column, options.bad_column}
    fit = {f: types[f] for f, role in roles.items() if role == "fit" and f in types and types[f] not in ("text", "date")
           and f not in outcome}
    return AnalysisInputs(customers=customers, deals=deals, fit_fields=fit, headers=headers, imports=imports,
                          fingerprint=fingerprint(imports), schema=schema, notes=notes,
                          confirmed={f for f, role in ws.role_overrides(con).items() if role == "fit"})


def build_icp(ws: Workspace, options: AnalysisOptions | None = None, progress: Progress | None = None) -> IcpDocument:
    """Phases 1-3: health, patterns, tiers and negative ICP, saved as a new ICP version with its evidence."""
    from icp_agent.tiers.analyse import analyse

    options = _resolve_columns(ws, options or AnalysisOptions())
    config = options.config()
    with ws.transaction() as con:
        inputs = _analysis_inputs(ws, con, options)
        link_reports = link_report(ws, con)
        link_warnings = check_links(link_reports, options.allow_unlinked)
        version_id = f"icp-{datetime.now(timezone.utc):%Y%m%d%H%M%S%f}-{inputs.fingerprint[:6]}"
        icp, ledger = analyse(con, inputs, config, version_id, progress)
        icp.warnings = inputs.notes + icp.warnings
        icp.dataset.links = link_reports
        icp.warnings += link_warnings
        icp.warnings += inputs.schema.warnings() if inputs.schema else []
        _flag_unobservable(icp, inputs)
        if icp.tiers:
            from icp_agent.drafting.offline import draft_offline
            from icp_agent.validation.validate import validate

            def validation():
                icp.validation = validate(con, inputs, config, icp, ws.current_table(con, "prospects"),
                                          options.revenue_target, ledger)
                icp.warnings += icp.validation.market.warnings if icp.validation.market else []
                for metric, reason in (icp.validation.unit_economics.not_measurable
                                       if icp.validation.unit_economics else {}).items():
                    icp.warnings.append(f"validation ({metric.replace('_', ' ')}): not measurable: {reason}")

            def scorecard():
                icp.scorecard = _fit_scorecard(con, icp, inputs, ledger)

            for message, name, step in (("validating the ICP", "validation", validation),
                                        ("fitting the lead-scoring model", "lead score", scorecard),
                                        ("drafting personas and rationale (offline drafter)", "drafting",
                                         lambda: draft_offline(ws, con, icp, ledger))):
                if progress:
                    progress(message)
                _phase(icp, name, step)
            icp.evidence = ledger.all()
        check_icp_document(icp.model_dump(mode="json"))
        ledger.save(con, version_id)
        con.execute("INSERT INTO icp_versions VALUES (?, ?, ?, ?, ?)",
                    [version_id, icp.created_at.replace(tzinfo=None), inputs.fingerprint, icp.status,
                     icp.model_dump_json()])
    return icp


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
    """ICP criteria on fields the prospect list lacks: flagged when the ICP is built (a seller may not see them)."""
    schema = inputs.schema
    if schema is None or "prospects" not in schema.sources:
        return
    fields = {c.field for t in icp.tiers for c in t.criteria} | {c.field for d in icp.negative_icp for c in d.criteria}
    for field in schema.not_in_prospects(fields):
        icp.warnings.append(f"{field}: not observable in the prospect list (the ICP uses it, the prospect file has "
                            f"no such column): prospects cannot be matched on it")


def score_health(ws: Workspace, options: AnalysisOptions | None = None) -> HealthSummary:
    """Phase 1 alone: how good is defined, cohort sizes and metrics, censored customers. Saves nothing."""
    from icp_agent.evidence import Ledger
    from icp_agent.health.health_score import build_frame
    from icp_agent.tiers.analyse import health_summary

    options = _resolve_columns(ws, options or AnalysisOptions())
    config = options.config()
    with ws.scratch() as con:
        inputs = _analysis_inputs(ws, con, options)
        health = build_frame(con, inputs.customers, inputs.deals, "preview_frame", config.health,
                             list(inputs.fit_fields))
        return health_summary(con, health, config, Ledger())


class PatternsResult(BaseModel):
    status: Literal["ok", "no_significant_icp"]
    health: HealthSummary
    patterns: list[PatternStat] = Field(description="best first (by the lower bound of their lift)")
    total: int
    truncated: bool
    note: str = Field(description="how to read the figures")


def find_patterns(ws: Workspace, options: AnalysisOptions | None = None, *,
                  direction: Literal["good", "bad", "both"] = "both", limit: int = 20, offset: int = 0) -> PatternsResult:
    """Phase 2 alone: the traits that over-index among the best or the worst, with their statistics. Saves
    nothing (build_icp saves the version whose evidence ids can be cited)."""
    from icp_agent.tiers.analyse import analyse

    options = _resolve_columns(ws, options or AnalysisOptions())
    with ws.scratch() as con:
        inputs = _analysis_inputs(ws, con, options)
        icp, _ = analyse(con, inputs, options.config(), "preview")
    patterns = [p for p in icp.patterns if direction in ("both", p.direction)]
    return PatternsResult(status=icp.status, health=icp.health, patterns=patterns[offset:offset + limit],
                          total=len(patterns), truncated=offset + limit < len(patterns),
                          note=f"rate = share of the pattern's entities in the target group; lift = rate / base rate; "
                               f"q = Benjamini-Hochberg over every pattern tested; significant when q < {options.alpha}")


SCORECARD_KINDS = {"category": "category", "band": "band", "number": "number", "money": "number",
                   "percent": "number", "list": "list", "bool": "bool"}


def _readable_bin_labels(card: dict, money: set[str]) -> None:
    """Bin labels as sellers read them in a reason ("annual revenue $7.67M-$50.9M"), in place: the SQL that
    writes fit_reasons reads them from the scorecard, so a scored file and the document agree."""
    import re

    from icp_agent.tiers.analyse import amount

    for feature in card.get("features", []):
        field = feature.get("field", "")
        for item in feature.get("bins", []):
            label = item.get("label", "")
            if label.startswith(field):
                label = field.replace("_", " ") + label[len(field):]
            if field in money:
                label = re.sub(r"\d[\d,]*(?:\.\d+)?", lambda m: amount(float(m[0].replace(",", "")), True), label)
            item["label"] = label


def _fit_scorecard(con, icp: IcpDocument, inputs, ledger) -> Scorecard:
    """The points-based fit score over the fit fields, evaluated on the newest entities, with evidence."""
    from icp_agent.evidence import clean
    from icp_agent.scorecard import fit as scorecard_fit

    frame = f"frame_{icp.id.replace('-', '_')}"
    columns = columns_of(con, frame)
    kinds = {f: SCORECARD_KINDS[t] for f, t in inputs.fit_fields.items() if t in SCORECARD_KINDS}
    time_column = next((c for c in ("customer_since", "close_date") if c in columns), None)
    card = clean(scorecard_fit.fit_scorecard(con, frame, kinds, time_column=time_column,
                                             screened=[e.model_dump() for e in icp.excluded_fields],
                                             neutral_missing=[str(d.field) for d in icp.data_quality]))
    _readable_bin_labels(card, {f for f, t in inputs.fit_fields.items() if t == "money"})
    evaluation = card.get("evaluation") or {}
    if card.get("status") == "ok" and evaluation.get("status") == "ok":
        holdout = evaluation["holdout"]
        card["evidence"] = ledger.add(
            "scorecard", icp.health.definition,
            f"Fit score evaluated on the newest {holdout['n']:,} {icp.health.entity}s ({holdout['n_good']:,} good), "
            f"fitted on the older ones: AUC {evaluation['auc']:.2f} (95% CI {evaluation['auc_interval'][0]:.2f}-"
            f"{evaluation['auc_interval'][1]:.2f}).", {"auc": evaluation["auc"], "holdout": holdout,
                                                     "bands": evaluation.get("bands")}, n=holdout["n"])
    else:
        reason = card.get("reason") or evaluation.get("reason") or card.get("status")
        icp.warnings.append(f"lead score: {reason}")
    return Scorecard.model_validate(card)


def icp_schema() -> dict:
    """The published JSON Schema of icp.json."""
    schema = IcpDocument.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://github.com/icp-agent/icp-agent/schemas/icp.schema.json"
    return schema


def check_icp_document(data: dict, source: str = "icp.json") -> None:
    """Validate icp.json data against its schema; the error points at the place."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(icp_schema())
    error = next(iter(sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))), None)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise UserError(f"invalid at {where}: {error.message}", file=source,
                        hint="fix that place or regenerate the file with icp-agent run")


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
        raise UserError(f"schema_version {version!r} is not supported (this icp-agent reads "
                        f"{ICP_SCHEMA_VERSION!r})", file=path.name, hint="rebuild the ICP with this version")
    check_icp_document(data, path.name)
    return IcpDocument.model_validate(data)


def get_icp(ws: Workspace, version: str | None = None) -> IcpDocument:
    """The latest ICP version (or a named one) from the workspace."""
    with ws.read() as con:
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


def list_icp_versions(ws: Workspace) -> list[dict]:
    """Every ICP version, oldest first: version_id, created_at (UTC), dataset_fingerprint, status. In a server it
    is read once per state of the workspace (Workspace.remembered): the list is shared, do not change it."""
    return ws.remembered("list_icp_versions", lambda con: [
        {"version_id": v, "created_at": utc_timestamp(t), "dataset_fingerprint": f, "status": s}
        for v, t, f, s in con.execute("SELECT version_id, created_at, dataset_fingerprint, status "
                                      "FROM icp_versions ORDER BY created_at").fetchall()])


def get_evidence(ws: Workspace, evidence_id: str, version: str | None = None) -> EvidenceItem:
    """One evidence item by id (from the latest version that has it, or a named version)."""
    with ws.read() as con:
        row = con.execute("""SELECT e.evidence_id, e.kind, e.statement, e.metrics, e.n, e.query FROM evidence e
                             JOIN icp_versions v USING (version_id)
                             WHERE e.evidence_id = ? AND (? IS NULL OR e.version_id = ?)
                             ORDER BY v.created_at DESC LIMIT 1""", [evidence_id, version, version]).fetchone()
    if not row:
        raise UserError(f"no evidence item {evidence_id!r}", hint="ids look like E3f9a2c1d; they are listed in icp.json "
                                                                  "and the document's appendix")
    import json

    return EvidenceItem(id=row[0], kind=row[1], statement=row[2], metrics=json.loads(row[3]), n=row[4], query=row[5])


def export_scoring_matrix(ws: Workspace, icp: IcpDocument, path: str | Path) -> int:
    """scoring_matrix.csv: every entity with its fit fields, components, health, cohort and its score columns
    (icp_tier, icp_segment, fit_points, fit_score, priority, grade, fit_reasons, disqualified_by) from the one
    scoring path (`scoring.scored_relation`), so a customer's tier and fit score here equal the CRM files'."""
    from icp_agent.render.tabular import write_table
    from icp_agent.scorecard.scoring import SCORE_COLUMNS, scored_relation

    frame = f"frame_{icp.id.replace('-', '_')}"
    with ws.connect() as con:
        types = {r[0]: r[1] for r in con.execute(f"DESCRIBE {frame}").fetchall()}
        columns = list(types)
        keep = [c for c in columns if c in ("company_id", "company_name", "domain", "deal_id", "health", "cohort",
                                            "censored", "good", "bad", "outcome", "outcome_stage", "tenure_months",
                                            "churned_flag", "nrr_raw", "payback_raw")
                or c.startswith("c_") or c in _fit_columns(icp, columns)]
        scores = ", ".join(name for name in SCORE_COLUMNS if name not in ("unseen_fields", "disqualified",
                                                                           "missing_fields"))
        select = ", ".join(_matrix_column(con, frame, c, types) for c in keep)
        write_table(con, f"SELECT {select}, {scores} FROM {scored_relation(icp, frame, columns)} ORDER BY _row", path,
                    fmt="csv")
        return con.execute(f"SELECT count(*) FROM {frame}").fetchone()[0]


def _matrix_column(con, frame: str, column: str, types: dict[str, str]) -> str:
    """One scoring-matrix column as a person reads it: a band field (`employees` beside `employees_min` and
    `employees_max`) shows its range ("51-200", "10,001+" as 10001+, an exact 250 as 250) instead of an empty
    cell for every range; a number column whose values are all whole is written as integers (51, not 51.0)."""
    from icp_agent.sql import quote_identifier

    name = quote_identifier(column)
    low, high = f"{column}_min", f"{column}_max"
    if low in types and high in types:
        lo, hi = quote_identifier(low), quote_identifier(high)
        text = "CAST(CAST({0} AS BIGINT) AS VARCHAR)"
        whole = "{0} = round({0}) AND abs({0}) < 1e15"
        def show(x: str) -> str:
            return f"CASE WHEN {whole.format(x)} THEN {text.format(x)} ELSE CAST({x} AS VARCHAR) END"
        return (f"CASE WHEN {lo} IS NULL AND {hi} IS NULL THEN NULL WHEN {hi} IS NULL THEN {show(lo)} || '+' "
                f"WHEN {lo} IS NULL THEN 'up to ' || {show(hi)} WHEN {lo} = {hi} THEN {show(lo)} "
                f"ELSE {show(lo)} || '-' || {show(hi)} END AS {name}")
    if types.get(column) in ("DOUBLE", "FLOAT", "REAL") or str(types.get(column, "")).startswith("DECIMAL"):
        whole = con.execute(f"SELECT coalesce(bool_and({name} = round({name}) AND abs({name}) < 1e15), FALSE) "
                            f"FROM {frame}").fetchone()[0]
        if whole:
            return f"CAST({name} AS BIGINT) AS {name}"
    return name


def _fit_columns(icp: IcpDocument, columns: list[str]) -> set[str]:
    fields = {c.field for t in icp.tiers for c in t.criteria} | {c.field for d in icp.negative_icp for c in d.criteria}
    fields |= {c.field for p in icp.patterns for c in p.criteria}
    return {c for c in columns if c in fields or c.rsplit("_", 1)[0] in fields}


class RunResult(BaseModel):
    out_dir: str
    imported: ImportResult
    icp: IcpDocument | None = None
    files: list[str] = Field(default_factory=list, description="files written into out_dir")


@_holding_workspace
def run(ws: Workspace, data_dir: Paths, out_dir: str | Path, *, customers=None, deals=None,
        contacts=None, prospects=None, interviews=None, subscriptions=None, tickets=None, events=None,
        mapping_file=None, lenient: bool = False, sheet: str | int | None = None, fx_file=None,
        options: AnalysisOptions | None = None, progress: Progress | None = None) -> RunResult:
    """The whole job: import (`data_dir`: files and folders, see import_data), analyse, write the report folder."""
    imported = import_data(ws, data_dir, customers=customers, deals=deals, contacts=contacts, prospects=prospects,
                           interviews=interviews, subscriptions=subscriptions, tickets=tickets, events=events,
                           mapping_file=mapping_file, lenient=lenient, sheet=sheet, fx_file=fx_file,
                           progress=progress)
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
    """icp.json (validated), its schema, the scoring matrix and the ICP document (md, html)."""
    import json

    from icp_agent.render.document import document_inputs, render_html, render_markdown

    if progress:
        progress("writing the ICP document")
    written: list[str] = []
    export_scoring_matrix(ws, icp, out / "scoring_matrix.csv")
    written.append("scoring_matrix.csv")
    if icp.status == "ok":
        from icp_agent.render.exports import render_playbook, write_crm_exports

        def crm_files():
            counts, routing = write_crm_exports(ws, icp, out)
            written.extend(counts)
            written.append(_write(out / "playbook.md", render_playbook(icp, routing)))

        _phase(icp, "CRM files", crm_files)  # the document written below says when they could not be
    data = icp.model_dump(mode="json")
    check_icp_document(data)
    written = [_write(out / "icp.json", json.dumps(data, indent=2, ensure_ascii=False)),
               _write(out / "icp.schema.json", json.dumps(icp_schema(), indent=2))] + written
    inputs = document_inputs(ws, icp)  # the imports' currencies, the rows patterns share
    written.append(_write(out / "icp.md", render_markdown(icp, **inputs)))
    written.append(_write(out / "icp.html", render_html(icp, **inputs)))
    return written


def _write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return path.name


def score_prospects(input_path: str | Path, output_path: str | Path, *, icp_path: str | Path | None = None,
                    ws: Workspace | None = None, version: str | None = None, progress=None):
    """Score a prospect file with an icp.json (portable) or the workspace's current ICP.

    The output may not replace the input, the icp.json, the workspace file, or any file (or interview folder)
    the workspace recorded as an import: UserError says which. An unreadable path (too long, no permission)
    is a UserError naming the argument, never a bare OSError."""
    from icp_agent.scorecard.scoring import score_file

    try:
        check_output_path(output_path, [Path(input_path)] + ([Path(icp_path)] if icp_path else []), ws)
        if icp_path is not None:
            icp = load_icp(icp_path)
        elif ws is not None:
            icp = get_icp(ws, version)
        else:
            raise UserError("no ICP to score with", hint="pass --icp icp.json (or a workspace with an ICP built)")
        return score_file(icp, input_path, output_path, progress)
    except OSError as exc:  # a path the OS refuses: say which and why, rather than fail without a message
        raise UserError(f"cannot use the path: {exc.strerror or exc}", file=str(exc.filename or output_path),
                        hint="check the path's length, spelling and permissions") from exc


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
            for kind, name, path in con.execute("SELECT DISTINCT kind, file_name, path FROM imports "
                                                "WHERE path IS NOT NULL").fetchall():
                protected.append((Path(path), f"the imported {kind} export {name!r}", kind == "interviews"))
    for path, what, folder in protected:
        resolved = path.resolve()
        same = target == resolved or (folder and target.is_relative_to(resolved)) or \
            (output.exists() and path.exists() and not folder and os.path.samefile(output, path))
        if same:
            raise UserError(f"the scored file would replace {what} ({resolved})", file=str(output),
                            hint="write it to a new file name; sources and the workspace are never overwritten")
    return target


def diff_icp_versions(ws: Workspace, old: str | None = None, new: str | None = None) -> dict:
    """Compare two ICP versions (default: the last two): migration, PSI, patterns, backtest, recommendation."""
    from icp_agent.drift.versions import diff
    from icp_agent.evidence import Ledger

    versions = [v["version_id"] for v in list_icp_versions(ws)]
    if len(versions) < 2 and not (old and new):
        raise UserError(f"{'only one ICP version' if versions else 'no ICP version'} so far: nothing to compare",
                        hint="import a newer snapshot with icp-agent refresh, or build again after changes")
    new = new or versions[-1]
    old = old or versions[versions.index(new) - 1]
    old_icp, new_icp = get_icp(ws, old), get_icp(ws, new)
    ledger = Ledger()
    with ws.transaction() as con:
        fields = _analysis_inputs(ws, con, AnalysisOptions()).fit_fields
        result = diff(con, old_icp, new_icp, fields, ledger)
        con.execute("DELETE FROM evidence WHERE version_id = ? AND list_contains(?, evidence_id)",
                    [new, [i.id for i in ledger.all()]])
        ledger.save(con, new)
    from icp_agent.evidence import clean

    return clean(result)


class RefreshResult(BaseModel):
    imported: ImportResult
    icp: IcpDocument
    diff: dict | None = None
    files: list[str] = Field(default_factory=list)


@_holding_workspace
def refresh(ws: Workspace, data_dir: Paths, out_dir: str | Path, *, customers=None, deals=None,
            contacts=None, prospects=None, interviews=None, subscriptions=None, tickets=None, events=None,
            mapping_file=None, lenient: bool = False, sheet: str | int | None = None, fx_file=None,
            options: AnalysisOptions | None = None, progress: Progress | None = None) -> RefreshResult:
    """Import a newer snapshot, rebuild the ICP as a new version, and compare it with the previous one."""
    import json

    had_icp = bool(list_icp_versions(ws))
    imported = import_data(ws, data_dir, customers=customers, deals=deals, contacts=contacts, prospects=prospects,
                           interviews=interviews, subscriptions=subscriptions, tickets=tickets, events=events,
                           mapping_file=mapping_file, lenient=lenient, sheet=sheet, fx_file=fx_file,
                           progress=progress)
    icp = build_icp(ws, options, progress)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = write_icp_outputs(ws, icp, out, progress)
    result = diff_icp_versions(ws) if had_icp else None
    if result is not None:
        files.append(_write(out / "drift.json", json.dumps(result, indent=2, default=str)))
    return RefreshResult(imported=imported, icp=icp, diff=result, files=files)


def get_persona_evidence(ws: Workspace, segment: str = "ICP 1", tier: int = 1, version: str | None = None) -> dict:
    """Titles, seniority, departments per buying role on a tier's won deals, and its interview quotes.

    Every count and quote becomes an evidence item of the version, so drafts can cite them.
    """
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
        _store_evidence(con, icp, ledger)
    return result


def _store_evidence(con, icp: IcpDocument, ledger) -> None:
    """Add items to a version's ledger (the table and icp.json's evidence list), replacing same ids."""
    ids = [i.id for i in ledger.all()]
    if not ids:
        return
    con.execute("DELETE FROM evidence WHERE version_id = ? AND list_contains(?, evidence_id)", [icp.id, ids])
    ledger.save(con, icp.id)
    icp.evidence = [e for e in icp.evidence if e.id not in set(ids)] + ledger.all()
    con.execute("UPDATE icp_versions SET icp = ? WHERE version_id = ?", [icp.model_dump_json(), icp.id])


def version_evidence(ws: Workspace, version: str | None = None) -> dict[str, EvidenceItem]:
    """Every evidence item of a version, by id (what the grounding checker checks against)."""
    import json

    icp = get_icp(ws, version)
    with ws.connect() as con:
        rows = con.execute("SELECT evidence_id, kind, statement, metrics, n, query FROM evidence WHERE version_id = ?",
                           [icp.id]).fetchall()
    return {r[0]: EvidenceItem(id=r[0], kind=r[1], statement=r[2], metrics=json.loads(r[3]), n=r[4], query=r[5])
            for r in rows}


class DraftClaim(BaseModel):
    section: str = Field("", description="who / goals / pains / objections / how_they_buy / where_they_research / "
                                         "rationale / narrative / theme")
    text: str = Field(description="one statement")
    evidence: list[str] = Field(default_factory=list, description="the evidence ids it rests on")


class DraftPersona(BaseModel):
    segment: SegmentName = Field(description="ICP 1, ICP 2, ...")
    tier: TierNumber
    role: Literal["champion", "economic buyer", "technical buyer", "end user", "blocker"]
    title_patterns: list[str] = Field(default_factory=list)
    claims: list[DraftClaim]


class DraftRationale(BaseModel):
    disqualifier: str = Field(description="the disqualifier's criteria as shown in the ICP, e.g. "
                                          "'industry = Marketing and Advertising'")
    claims: list[DraftClaim]


class SaveDraftsResult(BaseModel):
    saved: bool
    version: str
    problems: list[dict] = Field(default_factory=list, description="every claim refused and why")
    personas_saved: int = 0
    rationales_saved: int = 0


def save_drafts(ws: Workspace, *, personas: list[DraftPersona] | None = None,
                rationales: list[DraftRationale] | None = None, drafter: str = "client", model: str | None = None,
                version: str | None = None) -> SaveDraftsResult:
    """Save drafted personas / negative-ICP rationale into the ICP version, only if every claim is grounded.

    A draft with any claim that cites nothing, cites an unknown id, misquotes a number or
    a quote is refused whole, with the list of offending claims, so the writer can fix it.
    Scores, tiers, criteria and disqualifiers are never touched.
    """
    from icp_agent.drafting.grounding import Claim, check_claims

    icp = get_icp(ws, version)
    evidence = version_evidence(ws, icp.id)
    personas, rationales = personas or [], rationales or []
    claims = [c for p in personas for c in p.claims] + [c for r in rationales for c in r.claims]
    problems = check_claims([Claim(text=c.text, evidence=c.evidence) for c in claims], evidence)
    known = {" AND ".join(c.label for c in d.criteria): d for d in icp.negative_icp}
    problems_out = [p.model_dump() for p in problems]
    for r in rationales:
        if r.disqualifier not in known:
            problems_out.append({"claim": r.disqualifier, "problem": "not a disqualifier of this ICP; known: "
                                                                     + "; ".join(known)})
    tiers = {(t.segment, t.tier) for t in icp.tiers}
    for p in personas:
        if (p.segment, p.tier) not in tiers:
            problems_out.append({"claim": f"{p.segment} Tier {p.tier}", "problem": "no such tier in this ICP"})
    if problems_out:
        return SaveDraftsResult(saved=False, version=icp.id, problems=problems_out)
    for p in personas:
        icp.personas = [x for x in icp.personas if (x.segment, x.tier, x.role) != (p.segment, p.tier, p.role)]
        icp.personas.append(Persona.model_validate({**p.model_dump(), "tier_name": f"{p.segment} Tier {p.tier}",
                                                    "drafter": drafter, "model": model, "gaps": []}))
    for r in rationales:
        known[r.disqualifier].rationale = " ".join(c.text for c in r.claims)
    icp.drafting = DraftingRecord.model_validate({**icp.drafting.model_dump(), "last_saved_by": drafter, "model": model})
    check_icp_document(icp.model_dump(mode="json"))
    with ws.transaction() as con:
        con.execute("UPDATE icp_versions SET icp = ? WHERE version_id = ?", [icp.model_dump_json(), icp.id])
    return SaveDraftsResult(saved=True, version=icp.id, personas_saved=len(personas), rationales_saved=len(rationales))


def record_drafting(ws: Workspace, version: str, *, drafter: str, model: str | None,
                    narratives: list[dict] | None = None, themes: list[dict] | None = None,
                    persona_gaps: dict[tuple[str, int, str], list[str]] | None = None,
                    record: dict | None = None) -> None:
    """Save an assistant's tier narratives and interview themes (grounded, or refused), mark its personas
    with their drafter and known gaps, and keep the drafting record (model, prompt versions, run status)."""
    from icp_agent.drafting.grounding import Claim, check_claims

    icp = get_icp(ws, version)
    narratives, themes = narratives or [], themes or []
    claims = [c for draft in narratives + themes for c in draft["claims"]]
    problems = check_claims([Claim(text=c["text"], evidence=c["evidence"]) for c in claims], version_evidence(ws, icp.id))
    if problems:
        raise UserError(f"{len(problems)} drafted claim(s) are not grounded: "
                        + "; ".join(f"{p.claim[:80]!r}: {p.problem}" for p in problems[:5]),
                        hint="check each claim with the grounding checker before recording it")
    drafted = {n["tier_name"] for n in narratives}
    icp.narratives = [n for n in icp.narratives if n.tier_name not in drafted] + [Narrative.model_validate(n)
                                                                                   for n in narratives]
    if themes:
        icp.themes = [Theme.model_validate({**t, "drafter": drafter, "model": model}) for t in themes]
    for persona in icp.personas:
        key = (persona.segment, persona.tier, persona.role)
        if persona_gaps and key in persona_gaps:
            persona.drafter, persona.model, persona.gaps = drafter, model, persona_gaps[key]
    icp.drafting = DraftingRecord.model_validate({**icp.drafting.model_dump(), **(record or {}), "drafter": drafter,
                                                  "model": model})
    check_icp_document(icp.model_dump(mode="json"))
    with ws.transaction() as con:
        con.execute("UPDATE icp_versions SET icp = ? WHERE version_id = ?", [icp.model_dump_json(), icp.id])


def validate_icp(ws: Workspace, version: str | None = None, revenue_target: float | None = None) -> dict:
    """Re-run phase 5's validation of an ICP version (e.g. with a revenue target given after the build).

    Tiers, criteria and scores do not change; the version's validation and its evidence are updated.
    """
    from icp_agent.evidence import Ledger
    from icp_agent.validation.validate import validate

    icp = get_icp(ws, version)
    if not icp.tiers:
        raise UserError(f"ICP {icp.id} has no tiers to validate ({icp.status})",
                        hint="validation needs a significant ICP; see no_icp_reason")
    options = AnalysisOptions(revenue_target=revenue_target)
    ledger = Ledger()
    with ws.transaction() as con:
        inputs = _analysis_inputs(ws, con, options)
        icp.validation = validate(con, inputs, options.config(), icp, ws.current_table(con, "prospects"),
                                  revenue_target, ledger)
        _store_evidence(con, icp, ledger)
    return icp.validation.model_dump(mode="json")


def fit_scorecard(ws: Workspace, version: str | None = None) -> dict:
    """Fit the lead-scoring model again on an ICP version's scored entities (e.g. after changing field roles)."""
    from icp_agent.evidence import Ledger

    icp = get_icp(ws, version)
    if not icp.tiers:
        raise UserError(f"ICP {icp.id} has no tiers ({icp.status}): a fit score would have nothing to stand on",
                        hint="build an ICP on data with a significant segment first")
    ledger = Ledger()
    with ws.transaction() as con:
        inputs = _analysis_inputs(ws, con, AnalysisOptions())
        icp.scorecard = _fit_scorecard(con, icp, inputs, ledger)
        _store_evidence(con, icp, ledger)
    return icp.scorecard.model_dump(mode="json")
