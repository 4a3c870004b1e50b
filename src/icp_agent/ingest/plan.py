"""Which file is which: the import plan (files named with a flag, the rest recognised from headers and contents).

`plan_import` decides before anything is read into the workspace; toolkit.import_data imports the plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb
from pydantic import BaseModel, Field

from icp_agent.errors import UserError
from icp_agent.health.rollup import ROLLUP_KINDS
from icp_agent.ingest.columns import detect_kind
from icp_agent.ingest.combine import COMBINED_KINDS
from icp_agent.ingest.interviews import interview_files
from icp_agent.ingest.linking import link_report
from icp_agent.ingest.mapping import Mapping
from icp_agent.ingest.reader import (
    TABLE_SUFFIXES,
    WORKBOOK_SUFFIXES,
    inspect_file,
    peek_headers,
)
from icp_agent.shapes import DATA_KINDS
from icp_agent.workspace import Workspace


class PlannedFile(BaseModel):
    """One input file, the kind it will be read as and why (import_data's plan)."""

    path: str
    kind: str
    reason: str
    read_as: str | None = Field(None, description="format, encoding and delimiter (or sheet) the file is read with")


class SkippedFile(BaseModel):
    """A file in a folder that was not imported, and why (import_data's skipped)."""

    path: str
    reason: str = Field(description="why the file was not imported (not an export, not a table)")


class InputPlan(BaseModel):
    """The files to import with their kinds, and the files skipped."""

    files: list[PlannedFile]
    skipped: list[SkippedFile] = Field(default_factory=list)


# Suffixes whose files may be something else than an export (notes, configs, logs): in a folder,
# one that does not read as a table is skipped with a note. A .csv or .xlsx that fails is an error.
MAYBE_TABULAR = {".txt", ".json", ".tab"}
Paths = str | Path | Sequence[str | Path] | None


# The files `icp-agent run` (and render_document) writes into its output folder. A folder holding one of the
# MARKERS is an earlier run's output: re-importing the data folder it sits in must not read its notes (icp.md,
# playbook.md) as interviews nor its CSV files (the scoring matrix, the CRM files) as exports.
OUTPUT_MARKERS = ("icp.json", "import_report.json", "scoring_matrix.csv", "crm_scores.csv")
OUTPUT_FILES = (
    *OUTPUT_MARKERS,
    "icp.schema.json",
    "icp.md",
    "icp.html",
    "import_report.md",
    "hubspot_companies.csv",
    "salesforce_accounts.csv",
    "routing.csv",
    "playbook.md",
)


def written_outputs(folder: Path) -> list[str]:
    """The names of the files in `folder` that icp-agent wrote (OUTPUT_FILES), when it holds one of OUTPUT_MARKERS:
    an earlier run's output. Empty for any other folder (a routing.csv alone is not taken for ours)."""
    names = [name for name in OUTPUT_FILES if (folder / name).is_file()]
    return names if any(name in OUTPUT_MARKERS for name in names) else []


def _output_reason(names: list[str], inside: bool = False) -> str:
    """The skip line of an earlier run's output: a subfolder of it, or (`inside`) its files in the folder given."""
    shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
    return f"{'the files' if inside else 'the folder'} icp-agent wrote in an earlier run: {shown}; not exports"


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


# Reasons of detect_kind and of the plan that rest on no column of the kind: a file name, the absence of
# outcome fields, being the only companies file. The import output says such a kind is a guess.
WEAK_GUESSES = ("companies without lifecycle", "the file name says", "the only companies file")
KIND_FLAGS = "--customers, --prospects, --deals, --contacts, --subscriptions, --tickets or --events"


def weak_guess(kind: str) -> str:
    """The words added to the reason of a kind guessed without a column of its kind: a guess, and how to change it."""
    return f"a guess, no column says {kind}: if the file is something else, name it with {KIND_FLAGS} FILE"


def _events_shape(path: Path, mapping: Mapping | None, sheet: str | int | None) -> str:
    """Which shape a named events file's headers have: a row per event, or usage counted per account and period."""
    source = inspect_file(path, sheet=sheet if path.suffix.lower() in WORKBOOK_SUFFIXES else None, digest=False)
    kind, reason = detect_kind(peek_headers(source), mapping, path.name)
    if kind == "events":
        return reason
    return "read as events: it needs an event name and time (a row per event) or a period and a usage count"


def plan_import(
    paths: Paths = None,
    *,
    customers=None,
    deals=None,
    contacts=None,
    prospects=None,
    interviews=None,
    subscriptions=None,
    tickets=None,
    events=None,
    mapping: Mapping | None = None,
    sheet: str | int | None = None,
    has_accounts: bool = False,
) -> InputPlan:
    """Decide which file is which: flags win, the rest is recognised from headers and contents.

    `paths` is any mix of files and folders. A folder's tabular files are recognised, a
    subfolder of .md/.txt notes is the interviews; anything else in a folder (a README, a
    log, an image, a text file that is not a table) is skipped with the reason, and so is an earlier run's output
    (`written_outputs`: a subfolder such as out/, or those files in the folder itself), in one line. A file named
    directly must read, or it is an error. `sheet` picks the worksheet of every workbook.

    subscriptions, tickets and events are per-account tables (a SaaS export beside its accounts
    file); they are rolled up per account into health inputs when the ICP is built. With
    `has_accounts` (the workspace already holds customers or deals), a plan without them is fine:
    a newer snapshot of one table.
    """
    named = {
        "customers": customers,
        "deals": deals,
        "contacts": contacts,
        "prospects": prospects,
        "interviews": interviews,
        "subscriptions": subscriptions,
        "tickets": tickets,
        "events": events,
    }
    # a flag may name several files (a list): more rows of its kind, combined (ingest/combine.py)
    plan = [
        PlannedFile(path=str(p), kind=k, reason="named with --" + k, read_as=None)
        for k, given in named.items()
        for p in (given if isinstance(given, (list, tuple)) else [given])
        if p
    ]
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
            # only the header and the format decide the kind: the digest (a read of every byte) is the import's
            source = inspect_file(entry, sheet=sheet if suffix in WORKBOOK_SUFFIXES else None, digest=False)
            headers = peek_headers(source)
        except UserError as exc:
            if in_folder and suffix in MAYBE_TABULAR:
                skipped.append(SkippedFile(path=str(entry), reason=f"not a table: {exc.reason}"))
                return
            raise
        if in_folder and suffix in MAYBE_TABULAR and len(headers) < 2:
            skipped.append(
                SkippedFile(
                    path=str(entry),
                    reason="not a table: one column of text (name the file to import it as a one-column list)",
                )
            )
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
            raise UserError(
                "no such folder or file",
                file=str(folder),
                hint="check the path (relative paths start from the current directory)",
            )
        if folder.is_file():
            if folder.resolve() not in taken:
                taken.add(folder.resolve())
                recognise(folder, in_folder=False)
            continue
        found = len(guessed)
        # an earlier run's output written into this folder: its files skipped, in one line
        ours = [name for name in written_outputs(folder) if (folder / name).resolve() not in taken]
        if ours:
            skipped.append(SkippedFile(path=str(folder), reason=_output_reason(ours, inside=True)))
        for entry in sorted(folder.iterdir()):
            if entry.resolve() in taken or entry.name.startswith(".") or entry.name in ours:
                continue
            taken.add(entry.resolve())
            if entry.is_dir():
                outputs = written_outputs(entry)
                if outputs:  # an out/ folder: its notes (icp.md, playbook.md) are no interviews
                    skipped.append(SkippedFile(path=str(entry), reason=_output_reason(outputs)))
                elif not named["interviews"] and interview_files(entry):
                    guessed.append(
                        PlannedFile(
                            path=str(entry), kind="interviews", reason="a folder of .md/.txt notes", read_as=None
                        )
                    )
                else:
                    skipped.append(
                        SkippedFile(
                            path=str(entry),
                            reason="a subfolder without interview notes (pass it as a PATH to import its files)",
                        )
                    )
            elif entry.is_file():
                recognise(entry, in_folder=True)
        if len(guessed) == found and not plan and not deferred:
            raise UserError(
                "no CSV, Excel, Parquet or JSON-lines exports in this folder"
                + (f" (it holds {_output_reason(ours, inside=True)})" if ours else ""),
                file=str(folder),
                hint="pass the folder holding your exports, or name each file with --customers etc.",
            )
    companies = [p for p in guessed + deferred if p.kind in ("customers", "prospects")]
    if not customers and companies and not any(p.kind == "customers" for p in companies) and len(companies) == 1:
        companies[0].kind, companies[0].reason = (
            "customers",
            ("the only companies file (no outcomes: good customers come from won deals)"),
        )
    for item in deferred:
        if item.kind == "customers":
            guessed.append(item)
        else:
            skipped.append(
                SkippedFile(path=item.path, reason="looks like prospects, but --prospects names another file")
            )
    for item in guessed:
        if item.reason.startswith(WEAK_GUESSES):
            item.reason += "; " + weak_guess(item.kind)
    for item in plan:  # a named events file: say which shape its rows have, as a recognised one does
        if item.kind == "events":
            item.reason += "; " + _events_shape(Path(item.path), mapping, sheet)
    plan += guessed
    for kind in DATA_KINDS:
        files = [p for p in plan if p.kind == kind]
        if len(files) > 1 and kind in COMBINED_KINDS:  # more rows of the kind: combined once imported
            for p in files:
                p.reason += f"; one of {len(files)} {kind} files, their rows combined"
        elif len(files) > 1:
            named_here = all(p.reason == "named with --" + kind for p in files)
            raise UserError(
                f"{len(files)} files {'named with --' + kind if named_here else 'look like ' + kind}: "
                f"{', '.join(Path(p.path).name for p in files)}; an import takes one {kind} file",
                hint=f"name the right one with --{kind} (and the others with their own flags: --prospects for a "
                "list of companies to score)",
            )
    if not has_accounts and not any(p.kind in ("customers", "deals") for p in plan):
        tables = sorted(p.kind for p in plan if p.kind in ROLLUP_KINDS)
        if tables:
            raise UserError(
                f"{' and '.join(tables)} need an accounts file to roll up into (one row per account, "
                f"with its firmographics and, if you have it, a churn flag)",
                hint="add the accounts export to the folder, or name it with --customers FILE",
            )
        raise UserError(
            "no customers file found (companies with lifecycle, revenue or outcome fields)",
            hint="name it with --customers FILE",
        )
    return InputPlan(files=plan, skipped=skipped)


# An inferred companies file that would leave the stored deals or contacts with fewer than this share of the
# links the current accounts give them is not a new accounts snapshot (import_data checks before committing).
KEPT_LINKS_SHARE = 0.5


def guarded_accounts(plan: InputPlan) -> PlannedFile | None:
    """The file to check before it replaces the stored accounts: a customers file whose kind was inferred (not
    named with --customers), in an import that brings no deals or contacts of its own (whose links would be the
    new files' own)."""
    if any(p.kind in ("deals", "contacts") for p in plan.files):
        return None
    return next((p for p in plan.files if p.kind == "customers" and p.reason != "named with --customers"), None)


class AccountLinks(BaseModel):
    """The current accounts snapshot and how many of the stored deals and contacts link to it."""

    import_id: str | None = None
    file_name: str | None = None
    links: dict[str, tuple[int, int]] = Field(default_factory=dict, description="kind -> (linked, rows)")


def company_links(con: duckdb.DuckDBPyConnection, ws: Workspace) -> AccountLinks:
    """The current accounts' import id and file name, and the links of the current deals and contacts to them."""
    customers = ws.current_table(con, "customers")
    if not customers:
        return AccountLinks()
    import_id, name = con.execute(
        "SELECT i.import_id, i.file_name FROM current_snapshot c JOIN imports i USING (import_id) "
        "WHERE c.kind = 'customers'"
    ).fetchall()[0]
    # the link report import_data shows, kept per state of the imports: the state before this import is
    # usually computed already, and the one after it is the one import_data reports next
    counts: dict[str, tuple[int, int]] = {
        r.kind: (r.linked, r.rows) for r in link_report(ws, con) if r.kind in ("deals", "contacts")
    }
    return AccountLinks(import_id=import_id, file_name=name, links=counts)


def check_replaced_accounts(
    con: duckdb.DuckDBPyConnection,
    ws: Workspace,
    item: PlannedFile,
    before: AccountLinks,
    *,
    mapping: Mapping | None = None,
    sheet: str | int | None = None,
    prospects_taken: bool = False,
) -> str | None:
    """Nothing stored is lost silently: run after `item` (a customers file whose kind was inferred,
    `guarded_accounts`) was imported in `con`'s transaction, with `before` the links the replaced accounts gave
    (`company_links`). None when the deals and contacts keep at least KEPT_LINKS_SHARE of their links. Else:

    - a companies file without outcome fields (`detect_kind` says prospects: only the "only companies file"
      rule made it customers) is a prospect list: returns the reason to import it as prospects instead
      (unless this import already names or finds a prospects file);
    - otherwise UserError naming the file, the links lost and the flags that settle its kind.
    """
    new = company_links(con, ws).links
    lost = {
        kind: (linked, rows, new.get(kind, (0, rows))[0])
        for kind, (linked, rows) in before.links.items()
        if linked and new.get(kind, (0, rows))[0] < KEPT_LINKS_SHARE * linked
    }
    if not lost:
        return None
    name = Path(item.path).name
    accounts = before.file_name or "the current accounts"
    detail = "; ".join(
        f"{kind}: {now:,} of {rows:,} link to it, {linked:,} to {accounts}"
        for kind, (linked, rows, now) in lost.items()
    )
    path = Path(item.path)
    source = inspect_file(path, sheet=sheet if path.suffix.lower() in WORKBOOK_SUFFIXES else None, digest=False)
    kind, _ = detect_kind(peek_headers(source), mapping, name)
    if kind == "prospects" and not prospects_taken:
        return (
            f"a companies list without outcomes that the stored deals and contacts hardly link to ({detail}): "
            "a prospect list, not new accounts (--customers FILE would replace the accounts)"
        )
    raise UserError(
        f"its kind was inferred as customers ({item.reason}), but as the new accounts it would leave the stored "
        f"deals and contacts unlinked: {detail}. Nothing was imported",
        file=name,
        hint=f"name its kind: --prospects {name} for a list of companies to score, or --customers {name} to "
        "replace the accounts anyway",
    )


def plan_inputs(
    data_dir: Paths = None,
    *,
    customers=None,
    deals=None,
    contacts=None,
    prospects=None,
    interviews=None,
    subscriptions=None,
    tickets=None,
    events=None,
    mapping: Mapping | None = None,
    sheet: str | int | None = None,
    has_accounts: bool = False,
) -> list[PlannedFile]:
    """The files `plan_import` would import (without the skipped ones)."""
    return plan_import(
        data_dir,
        customers=customers,
        deals=deals,
        contacts=contacts,
        prospects=prospects,
        interviews=interviews,
        subscriptions=subscriptions,
        tickets=tickets,
        events=events,
        mapping=mapping,
        sheet=sheet,
        has_accounts=has_accounts,
    ).files
