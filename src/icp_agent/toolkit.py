"""The public operations of icp-agent: one typed function each.

The CLI, the MCP server, the assistant and Python users all call these and nothing
else; none of them holds logic of its own. Each takes a Workspace first and returns a
pydantic model (or plain JSON-able data), raising UserError for anything a user can fix.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from .errors import UserError
from .evidence import EvidenceItem
from .ingest import links
from .ingest.fields import ROLES
from .ingest.importer import Mapping, detect_kind, import_file
from .ingest.interviews import import_interviews, interview_files
from .ingest.reader import CSV_SUFFIXES, JSON_SUFFIXES, PARQUET_SUFFIXES, inspect_file, peek_headers
from .models import (
    DATA_KINDS,
    ICP_SCHEMA_VERSION,
    HealthSummary,
    IcpDocument,
    ImportReport,
    LinkReport,
    PatternStat,
    WorkspaceSummary,
)
from .sql import columns_of
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
    unobserved = []
    if "prospects" in current:  # a field the prospect list also has is evidence a seller can observe it
        in_prospects = {c.field for c in current["prospects"].columns}
        unobserved = sorted(f for f, role in roles.items() if role == "fit" and f not in in_prospects)
    return WorkspaceSummary(workspace=str(ws.path), schema_version=version, current=current, snapshots=snapshots,
                            interviews=notes, links=link_report(ws) if current else [], roles=roles,
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
    good_column: str | None = Field(None, description="the outcome column when good='column' (e.g. activated)")
    weights: dict[str, float] | None = Field(None, description="health component weights (retention, nrr, "
                                                               "cac_efficiency, support_burden, nps, referrals, "
                                                               "time_to_close)")
    min_tenure_months: float = Field(6.0, ge=0, le=120, description="younger active customers are censored")
    depth: int = Field(3, ge=1, le=4, description="most criteria combined in one pattern")
    alpha: float = Field(0.05, gt=0, lt=1, description="false discovery rate for Benjamini-Hochberg")
    min_support: int | None = Field(None, ge=1, description="fewest entities a pattern must cover "
                                                            "(default 2% of them, at least 10)")
    as_of: str | None = Field(None, description="ISO date the data describes (default: its latest date)")
    revenue_target: float | None = Field(None, gt=0, description="annual new-revenue target, to check Tier 1 "
                                                                 "is big enough (Tier-1 accounts x ACV >= 3x it)")

    def config(self):
        from .analysis.health import DEFAULT_WEIGHTS, HealthConfig
        from .analysis.icp import AnalysisConfig

        weights = dict(DEFAULT_WEIGHTS)
        unknown = set(self.weights or {}) - set(weights)
        if unknown:
            raise UserError(f"unknown health component(s) {sorted(unknown)}", hint=f"use {sorted(weights)}")
        weights.update(self.weights or {})
        return AnalysisConfig(health=HealthConfig(good=self.good, good_column=self.good_column, weights=weights,
                                                  min_tenure_months=self.min_tenure_months, as_of=self.as_of),
                              depth=self.depth, alpha=self.alpha, min_support=self.min_support)


def _analysis_inputs(ws: Workspace, con, options: "AnalysisOptions"):
    from .analysis.icp import AnalysisInputs, fingerprint

    customers = ws.current_table(con, "customers")
    deals = ws.current_table(con, "deals")
    if not customers and not deals:
        raise UserError("no customers imported yet", hint="import your exports first: icp-agent import DATA_DIR "
                                                          "(or the import_data tool)")
    roles = field_roles(ws, con)
    types: dict[str, str] = {}
    headers: dict[str, str] = {}
    imports = []
    for kind, report_json in con.execute("""SELECT i.kind, i.report FROM current_snapshot c JOIN imports i
                                            USING (import_id) WHERE i.kind IN ('customers', 'deals', 'prospects')
                                            ORDER BY CASE i.kind WHEN 'customers' THEN 0 WHEN 'deals' THEN 1
                                                     ELSE 2 END""").fetchall():
        report = ImportReport.model_validate_json(report_json)
        imports.append({"kind": kind, "file_name": report.file_name, "sha256": report.sha256,
                        "rows": report.rows_kept, "import_id": report.import_id})
        if kind == "prospects":
            continue
        for column in report.columns:
            types.setdefault(column.field, column.type)
            headers.setdefault(column.field, column.header)
    fit = {f: types[f] for f, role in roles.items() if role == "fit" and f in types and types[f] not in ("text", "date")
           and f != options.good_column}
    return AnalysisInputs(customers=customers, deals=deals, fit_fields=fit, headers=headers, imports=imports,
                          fingerprint=fingerprint(imports))


def build_icp(ws: Workspace, options: AnalysisOptions | None = None, progress: Progress | None = None) -> IcpDocument:
    """Phases 1-3: health, patterns, tiers and negative ICP, saved as a new ICP version with its evidence."""
    from .analysis.icp import analyse

    options = options or AnalysisOptions()
    config = options.config()
    with ws.transaction() as con:
        inputs = _analysis_inputs(ws, con, options)
        version_id = f"icp-{datetime.now(timezone.utc):%Y%m%d%H%M%S%f}-{inputs.fingerprint[:6]}"
        icp, ledger = analyse(con, inputs, config, version_id, progress)
        if icp.tiers:
            if progress:
                progress("validating the ICP")
            from .analysis.validate import validate
            from .evidence import clean

            icp.validation = clean(validate(con, inputs, config, icp, ws.current_table(con, "prospects"),
                                            options.revenue_target, ledger))
            icp.warnings += icp.validation["market"]["warnings"]
            if progress:
                progress("fitting the lead-scoring model")
            icp.scorecard = _fit_scorecard(con, icp, inputs, ledger)
            if progress:
                progress("drafting personas and rationale (offline drafter)")
            from .assistant.offline import draft_offline

            draft_offline(ws, con, icp, ledger)
            icp.evidence = [item.model_dump() for item in ledger.all()]
        validate_icp(icp.model_dump(mode="json"))
        ledger.save(con, version_id)
        con.execute("INSERT INTO icp_versions VALUES (?, ?, ?, ?, ?)",
                    [version_id, icp.created_at.replace(tzinfo=None), inputs.fingerprint, icp.status,
                     icp.model_dump_json()])
    return icp


def preview_health(ws: Workspace, options: AnalysisOptions | None = None) -> HealthSummary:
    """Phase 1 alone: how good is defined, cohort sizes and metrics, censored customers. Saves nothing."""
    from .analysis.health import build_frame
    from .analysis.icp import health_summary
    from .evidence import Ledger

    options = options or AnalysisOptions()
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
    from .analysis.icp import analyse

    options = options or AnalysisOptions()
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

    from .analysis.icp import amount

    for feature in card.get("features", []):
        field = feature.get("field", "")
        for item in feature.get("bins", []):
            label = item.get("label", "")
            if label.startswith(field):
                label = field.replace("_", " ") + label[len(field):]
            if field in money:
                label = re.sub(r"\d[\d,]*(?:\.\d+)?", lambda m: amount(float(m[0].replace(",", "")), True), label)
            item["label"] = label


def _fit_scorecard(con, icp: IcpDocument, inputs, ledger) -> dict:
    """The points-based fit score over the fit fields, evaluated on the newest entities, with evidence."""
    from .analysis.scorecard import fit_scorecard
    from .evidence import clean

    frame = f"frame_{icp.id.replace('-', '_')}"
    columns = columns_of(con, frame)
    kinds = {f: SCORECARD_KINDS[t] for f, t in inputs.fit_fields.items() if t in SCORECARD_KINDS}
    time_column = next((c for c in ("customer_since", "close_date") if c in columns), None)
    card = clean(fit_scorecard(con, frame, kinds, time_column=time_column))
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
    return card


def icp_schema() -> dict:
    """The published JSON Schema of icp.json."""
    schema = IcpDocument.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://github.com/icp-agent/icp-agent/schemas/icp.schema.json"
    return schema


def validate_icp(data: dict, source: str = "icp.json") -> None:
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
    validate_icp(data, path.name)
    return IcpDocument.model_validate(data)


def current_icp(ws: Workspace, version: str | None = None) -> IcpDocument:
    """The latest ICP version (or a named one) from the workspace."""
    with ws.connect() as con:
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


def list_versions(ws: Workspace) -> list[dict]:
    with ws.connect() as con:
        return [{"version_id": v, "created_at": str(t), "dataset_fingerprint": f, "status": s}
                for v, t, f, s in con.execute("SELECT version_id, created_at, dataset_fingerprint, status "
                                              "FROM icp_versions ORDER BY created_at").fetchall()]


def get_evidence(ws: Workspace, evidence_id: str, version: str | None = None) -> EvidenceItem:
    """One evidence item by id (from the latest version that has it, or a named version)."""
    with ws.connect() as con:
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
    from .scoring import SCORE_COLUMNS, scored_relation

    frame = f"frame_{icp.id.replace('-', '_')}"
    with ws.connect() as con:
        columns = [r[0] for r in con.execute(f"DESCRIBE {frame}").fetchall()]
        keep = [c for c in columns if c in ("company_id", "company_name", "domain", "deal_id", "health", "cohort",
                                            "censored", "good", "bad", "outcome", "outcome_stage", "tenure_months",
                                            "churned_flag", "nrr_raw", "payback_raw")
                or c.startswith("c_") or c in _fit_columns(icp, columns)]
        scores = ", ".join(name for name in SCORE_COLUMNS if name not in ("unseen_fields", "disqualified",
                                                                           "missing_fields"))
        select = ", ".join(f'"{c}"' for c in keep)
        con.execute(f"COPY (SELECT {select}, {scores} FROM {scored_relation(icp, frame, columns)} ORDER BY _row) "
                    f"TO '{str(Path(path)).replace(chr(39), chr(39) * 2)}' (HEADER, DELIMITER ',')")
        return con.execute(f"SELECT count(*) FROM {frame}").fetchone()[0]


def _fit_columns(icp: IcpDocument, columns: list[str]) -> set[str]:
    fields = {c.field for t in icp.tiers for c in t.criteria} | {c.field for d in icp.negative_icp for c in d.criteria}
    fields |= {c.field for p in icp.patterns for c in p.criteria}
    return {c for c in columns if c in fields or c.rsplit("_", 1)[0] in fields}


class RunResult(BaseModel):
    out_dir: str
    imported: ImportResult
    icp: IcpDocument | None = None
    files: list[str] = Field(default_factory=list, description="files written into out_dir")


def run(ws: Workspace, data_dir: str | Path | None, out_dir: str | Path, *, customers=None, deals=None,
        contacts=None, prospects=None, interviews=None, mapping_file=None, lenient: bool = False,
        options: AnalysisOptions | None = None, progress: Progress | None = None) -> RunResult:
    """The whole job: import, analyse, and write the report folder."""
    imported = import_data(ws, data_dir, customers=customers, deals=deals, contacts=contacts, prospects=prospects,
                           interviews=interviews, mapping_file=mapping_file, lenient=lenient, progress=progress)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = inspect_workspace(ws)
    written = [_write(out / "import_report.json", summary.model_dump_json(indent=2))]
    from .render.import_report import render_import_report

    written.append(_write(out / "import_report.md", render_import_report(summary)))
    icp = build_icp(ws, options, progress)
    written += write_icp_outputs(ws, icp, out, progress)
    return RunResult(out_dir=str(out), imported=imported, icp=icp, files=written)


def write_icp_outputs(ws: Workspace, icp: IcpDocument, out: Path, progress: Progress | None = None) -> list[str]:
    """icp.json (validated), its schema, the scoring matrix and the ICP document (md, html)."""
    import json

    from .render.document import render_html, render_markdown

    if progress:
        progress("writing the ICP document")
    data = icp.model_dump(mode="json")
    validate_icp(data)
    written = [_write(out / "icp.json", json.dumps(data, indent=2, ensure_ascii=False)),
               _write(out / "icp.schema.json", json.dumps(icp_schema(), indent=2))]
    export_scoring_matrix(ws, icp, out / "scoring_matrix.csv")
    written.append("scoring_matrix.csv")
    written.append(_write(out / "icp.md", render_markdown(icp)))
    written.append(_write(out / "icp.html", render_html(icp)))
    if icp.status == "ok":
        from .render.exports import render_playbook, write_crm_exports

        counts, routing = write_crm_exports(ws, icp, out)
        written += list(counts)
        written.append(_write(out / "playbook.md", render_playbook(icp, routing)))
    return written


def _write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return path.name


def score_prospects(input_path: str | Path, output_path: str | Path, *, icp_path: str | Path | None = None,
                    ws: Workspace | None = None, version: str | None = None):
    """Score a prospect file with an icp.json (portable) or the workspace's current ICP."""
    from .scoring import score_file

    if icp_path is not None:
        icp = load_icp(icp_path)
    elif ws is not None:
        icp = current_icp(ws, version)
    else:
        raise UserError("no ICP to score with", hint="pass --icp icp.json (or a workspace with an ICP built)")
    return score_file(icp, input_path, output_path)


def diff_versions(ws: Workspace, old: str | None = None, new: str | None = None) -> dict:
    """Compare two ICP versions (default: the last two): migration, PSI, patterns, backtest, recommendation."""
    from .analysis.drift import diff
    from .evidence import Ledger

    versions = [v["version_id"] for v in list_versions(ws)]
    if len(versions) < 2 and not (old and new):
        raise UserError("only one ICP version so far: nothing to compare",
                        hint="import a newer snapshot with icp-agent refresh, or build again after changes")
    new = new or versions[-1]
    old = old or versions[versions.index(new) - 1]
    old_icp, new_icp = current_icp(ws, old), current_icp(ws, new)
    ledger = Ledger()
    with ws.transaction() as con:
        fields = _analysis_inputs(ws, con, AnalysisOptions()).fit_fields
        result = diff(con, old_icp, new_icp, fields, ledger)
        con.execute("DELETE FROM evidence WHERE version_id = ? AND list_contains(?, evidence_id)",
                    [new, [i.id for i in ledger.all()]])
        ledger.save(con, new)
    from .evidence import clean

    return clean(result)


class RefreshResult(BaseModel):
    imported: ImportResult
    icp: IcpDocument
    diff: dict | None = None
    files: list[str] = Field(default_factory=list)


def refresh(ws: Workspace, data_dir: str | Path | None, out_dir: str | Path, *, customers=None, deals=None,
            contacts=None, prospects=None, interviews=None, mapping_file=None, lenient: bool = False,
            options: AnalysisOptions | None = None, progress: Progress | None = None) -> RefreshResult:
    """Import a newer snapshot, rebuild the ICP as a new version, and compare it with the previous one."""
    import json

    had_icp = bool(list_versions(ws))
    imported = import_data(ws, data_dir, customers=customers, deals=deals, contacts=contacts, prospects=prospects,
                           interviews=interviews, mapping_file=mapping_file, lenient=lenient, progress=progress)
    icp = build_icp(ws, options, progress)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = write_icp_outputs(ws, icp, out, progress)
    result = diff_versions(ws) if had_icp else None
    if result is not None:
        files.append(_write(out / "drift.json", json.dumps(result, indent=2, default=str)))
    return RefreshResult(imported=imported, icp=icp, diff=result, files=files)


def get_persona_evidence(ws: Workspace, segment: str = "ICP 1", tier: int = 1, version: str | None = None) -> dict:
    """Titles, seniority, departments per buying role on a tier's won deals, and its interview quotes.

    Every count and quote becomes an evidence item of the version, so drafts can cite them.
    """
    from .analysis.personas import persona_evidence
    from .assistant.offline import tier_tables
    from .evidence import Ledger

    icp = current_icp(ws, version)
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
    icp.evidence = [e for e in icp.evidence if e["id"] not in set(ids)] + [i.model_dump() for i in ledger.all()]
    con.execute("UPDATE icp_versions SET icp = ? WHERE version_id = ?", [icp.model_dump_json(), icp.id])


def version_evidence(ws: Workspace, version: str | None = None) -> dict[str, EvidenceItem]:
    """Every evidence item of a version, by id (what the grounding checker checks against)."""
    import json

    icp = current_icp(ws, version)
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
    segment: str = Field(description="ICP 1, ICP 2, ...")
    tier: int = Field(ge=1, le=3)
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
    from .assistant.grounding import Claim, check_claims

    icp = current_icp(ws, version)
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
        icp.personas = [x for x in icp.personas if (x["segment"], x["tier"], x["role"]) != (p.segment, p.tier, p.role)]
        icp.personas.append({**p.model_dump(), "tier_name": f"{p.segment} Tier {p.tier}", "drafter": drafter,
                             "model": model, "gaps": []})
    for r in rationales:
        known[r.disqualifier].rationale = " ".join(c.text for c in r.claims)
    icp.drafting = {**icp.drafting, "last_saved_by": drafter, "model": model}
    validate_icp(icp.model_dump(mode="json"))
    with ws.transaction() as con:
        con.execute("UPDATE icp_versions SET icp = ? WHERE version_id = ?", [icp.model_dump_json(), icp.id])
    return SaveDraftsResult(saved=True, version=icp.id, personas_saved=len(personas), rationales_saved=len(rationales))


def record_drafting(ws: Workspace, version: str, *, drafter: str, model: str | None,
                    narratives: list[dict] | None = None, themes: list[dict] | None = None,
                    persona_gaps: dict[tuple[str, int, str], list[str]] | None = None,
                    record: dict | None = None) -> None:
    """Save an assistant's tier narratives and interview themes (grounded, or refused), mark its personas
    with their drafter and known gaps, and keep the drafting record (model, prompt versions, run status)."""
    from .assistant.grounding import Claim, check_claims

    icp = current_icp(ws, version)
    narratives, themes = narratives or [], themes or []
    claims = [c for draft in narratives + themes for c in draft["claims"]]
    problems = check_claims([Claim(text=c["text"], evidence=c["evidence"]) for c in claims], version_evidence(ws, icp.id))
    if problems:
        raise UserError(f"{len(problems)} drafted claim(s) are not grounded: "
                        + "; ".join(f"{p.claim[:80]!r}: {p.problem}" for p in problems[:5]),
                        hint="check each claim with the grounding checker before recording it")
    drafted = {n["tier_name"] for n in narratives}
    icp.narratives = [n for n in icp.narratives if n.get("tier_name") not in drafted] + narratives
    if themes:
        icp.themes = [{**t, "drafter": drafter, "model": model} for t in themes]
    for persona in icp.personas:
        key = (persona["segment"], persona["tier"], persona["role"])
        if persona_gaps and key in persona_gaps:
            persona.update(drafter=drafter, model=model, gaps=persona_gaps[key])
    icp.drafting = {**icp.drafting, **(record or {}), "drafter": drafter, "model": model}
    validate_icp(icp.model_dump(mode="json"))
    with ws.transaction() as con:
        con.execute("UPDATE icp_versions SET icp = ? WHERE version_id = ?", [icp.model_dump_json(), icp.id])


def revalidate(ws: Workspace, version: str | None = None, revenue_target: float | None = None) -> dict:
    """Re-run phase 5's validation of an ICP version (e.g. with a revenue target given after the build).

    Tiers, criteria and scores do not change; the version's validation and its evidence are updated.
    """
    from .analysis.validate import validate
    from .evidence import Ledger, clean

    icp = current_icp(ws, version)
    if not icp.tiers:
        raise UserError(f"ICP {icp.id} has no tiers to validate ({icp.status})",
                        hint="validation needs a significant ICP; see no_icp_reason")
    options = AnalysisOptions(revenue_target=revenue_target)
    ledger = Ledger()
    with ws.transaction() as con:
        inputs = _analysis_inputs(ws, con, options)
        icp.validation = clean(validate(con, inputs, options.config(), icp, ws.current_table(con, "prospects"),
                                        revenue_target, ledger))
        _store_evidence(con, icp, ledger)
    return icp.validation


def refit_scorecard(ws: Workspace, version: str | None = None) -> dict:
    """Fit the lead-scoring model again on an ICP version's scored entities (e.g. after changing field roles)."""
    from .evidence import Ledger

    icp = current_icp(ws, version)
    if not icp.tiers:
        raise UserError(f"ICP {icp.id} has no tiers ({icp.status}): a fit score would have nothing to stand on",
                        hint="build an ICP on data with a significant segment first")
    ledger = Ledger()
    with ws.transaction() as con:
        inputs = _analysis_inputs(ws, con, AnalysisOptions())
        icp.scorecard = _fit_scorecard(con, icp, inputs, ledger)
        _store_evidence(con, icp, ledger)
    return icp.scorecard
