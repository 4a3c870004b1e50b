"""The public operations of icp-agent: one typed function each.

The CLI, the MCP server, the assistant and Python users all call these and nothing
else; none of them holds logic of its own. Each takes a Workspace first and returns a
pydantic model (or plain JSON-able data), raising UserError for anything a user can fix.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, Field

from .errors import UserError
from .ingest import links
from .ingest.fields import ROLES
from .ingest.importer import Mapping, detect_kind, import_file
from .ingest.interviews import SUFFIXES as NOTE_SUFFIXES
from .ingest.interviews import import_interviews, interview_files
from .ingest.reader import CSV_SUFFIXES, JSON_SUFFIXES, PARQUET_SUFFIXES, inspect_file, peek_headers
from .models import DATA_KINDS, ImportReport, LinkReport, WorkspaceSummary
from .workspace import Workspace

Progress = Callable[[str], None]
TABLE_SUFFIXES = CSV_SUFFIXES | JSON_SUFFIXES | PARQUET_SUFFIXES


class PlannedFile(BaseModel):
    path: str
    kind: str
    reason: str


class ImportResult(BaseModel):
    plan: list[PlannedFile]
    reports: list[ImportReport]
    interviews: dict | None = None
    links: list[LinkReport] = Field(default_factory=list)


def plan_inputs(data_dir: str | Path | None = None, *, customers=None, deals=None, contacts=None,
                prospects=None, interviews=None, mapping: Mapping | None = None) -> list[PlannedFile]:
    """Decide which file is which: flags win, the rest is recognised from headers and contents."""
    named = {"customers": customers, "deals": deals, "contacts": contacts, "prospects": prospects,
             "interviews": interviews}
    plan = [PlannedFile(path=str(p), kind=k, reason="named with --" + k) for k, p in named.items() if p]
    taken = {Path(p.path).resolve() for p in plan}
    if data_dir is not None:
        folder = Path(data_dir).expanduser()
        if not folder.is_dir():
            raise UserError("DATA_DIR is not a folder" if folder.exists() else "no such folder", file=str(folder),
                            hint="pass the folder holding your exports, or name each file with --customers etc.")
        guessed: list[PlannedFile] = []
        for entry in sorted(folder.iterdir()):
            if entry.resolve() in taken or entry.name.startswith("."):
                continue
            if entry.is_dir() and not named["interviews"] and interview_files(entry):
                guessed.append(PlannedFile(path=str(entry), kind="interviews", reason="a folder of .md/.txt notes"))
            elif entry.is_file() and entry.suffix.lower() in TABLE_SUFFIXES:
                source = inspect_file(entry)
                kind, reason = detect_kind(peek_headers(source), mapping)
                if named.get(kind):
                    continue  # the user named the file of that kind explicitly
                guessed.append(PlannedFile(path=str(entry), kind=kind, reason=reason))
        companies = [p for p in guessed if p.kind in ("customers", "prospects")]
        if not customers and companies and not any(p.kind == "customers" for p in companies):
            if len(companies) == 1:
                companies[0].kind, companies[0].reason = "customers", "the only companies file (no outcomes: " \
                                                                      "good customers come from won deals)"
        plan += guessed
        if not plan:
            raise UserError("no CSV, Parquet or JSON-lines files in this folder", file=str(folder))
    for kind in DATA_KINDS:
        files = [p for p in plan if p.kind == kind]
        if len(files) > 1:
            raise UserError(f"{len(files)} files look like {kind}: {', '.join(Path(p.path).name for p in files)}",
                            hint=f"name the right one with --{kind} (and the others with their own flags)")
    if not any(p.kind in ("customers", "deals") for p in plan):
        raise UserError("no customers file found (companies with lifecycle, revenue or outcome fields)",
                        hint="name it with --customers FILE")
    return plan


def import_data(ws: Workspace, data_dir: str | Path | None = None, *, customers=None, deals=None, contacts=None,
                prospects=None, interviews=None, mapping_file: str | Path | None = None, lenient: bool = False,
                progress: Progress | None = None) -> ImportResult:
    """Import every input as a new snapshot of its kind, then report how the files link."""
    mapping = Mapping.load(mapping_file)
    plan = plan_inputs(data_dir, customers=customers, deals=deals, contacts=contacts, prospects=prospects,
                       interviews=interviews, mapping=mapping)
    order = {k: i for i, k in enumerate(("customers", "prospects", "deals", "contacts", "interviews"))}
    reports, notes = [], None
    for item in sorted(plan, key=lambda p: order[p.kind]):
        if progress:
            progress(f"importing {Path(item.path).name} as {item.kind}")
        if item.kind == "interviews":
            notes = import_interviews(ws, item.path)
        else:
            report = import_file(ws, item.path, item.kind, mapping=mapping, lenient=lenient, progress=progress,
                                 reason=item.reason)
            reports.append(report)
    return ImportResult(plan=plan, reports=reports, interviews=notes, links=link_report(ws))


def link_report(ws: Workspace) -> list[LinkReport]:
    with ws.connect() as con:
        customers = ws.current_table(con, "customers")
        deals = ws.current_table(con, "deals")
        contacts = ws.current_table(con, "contacts")
        result = []
        if deals and customers:
            result.append(links.link_deals(con, deals, customers))
        if contacts and (deals or customers):
            result.append(links.link_contacts(con, contacts, deals, customers))
        return result


def inspect_workspace(ws: Workspace) -> WorkspaceSummary:
    """What the workspace holds: the current snapshot of each kind with its report, and field roles."""
    with ws.connect() as con:
        version = con.execute("SELECT max(version) FROM schema_info").fetchone()[0]
        current = {kind: ImportReport.model_validate_json(report) for kind, report in con.execute(
            """SELECT i.kind, i.report FROM current_snapshot c JOIN imports i USING (import_id)
               WHERE i.kind <> 'interviews'""").fetchall()}
        snapshots = dict(con.execute("SELECT kind, count(*) FROM imports GROUP BY kind ORDER BY kind").fetchall())
        notes = con.execute("""SELECT count(*) FROM interviews WHERE import_id =
                               (SELECT import_id FROM current_snapshot WHERE kind = 'interviews')""").fetchone()[0]
        roles = field_roles(ws, con)
    return WorkspaceSummary(workspace=str(ws.path), schema_version=version, current=current, snapshots=snapshots,
                            interviews=notes, links=link_report(ws) if current else [], roles=roles)


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
        for field, role in roles.items():
            if role not in ROLES:
                raise UserError(f"role {role!r} for field {field!r} is not one of {list(ROLES)}")
            if known and field not in known:
                raise UserError(f"no field {field!r} in the current imports",
                                hint=f"known fields: {', '.join(sorted(known))}")
            con.execute("INSERT OR REPLACE INTO field_roles VALUES (?, ?, now())", [field, role])
        return field_roles(ws, con)


class RunResult(BaseModel):
    out_dir: str
    imported: ImportResult
    files: list[str] = Field(default_factory=list, description="files written into out_dir")


def run(ws: Workspace, data_dir: str | Path | None, out_dir: str | Path, *, customers=None, deals=None,
        contacts=None, prospects=None, interviews=None, mapping_file=None, lenient: bool = False,
        progress: Progress | None = None) -> RunResult:
    """The whole job: import, analyse, and write the report folder."""
    imported = import_data(ws, data_dir, customers=customers, deals=deals, contacts=contacts, prospects=prospects,
                           interviews=interviews, mapping_file=mapping_file, lenient=lenient, progress=progress)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = inspect_workspace(ws)
    written = [_write(out / "import_report.json", summary.model_dump_json(indent=2))]
    from .render.import_report import render_import_report

    written.append(_write(out / "import_report.md", render_import_report(summary)))
    return RunResult(out_dir=str(out), imported=imported, files=written)


def _write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return path.name
