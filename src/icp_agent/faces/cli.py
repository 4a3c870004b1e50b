"""The `icp-agent` command line: thin wrappers over the toolkit.

Every command takes --workspace and --json (results and errors as JSON); user mistakes exit 2 with one
clear line, bugs exit 1. Progress goes to stderr (only on a terminal, never with --quiet), so stdout
carries the result alone. Commands that only read a workspace never create one: a missing file is an
error that says where a workspace is. Listings are tables fitted to the terminal; piped (stdout not a
terminal) they are plain tab-separated lines, a header line then one record per line (a tab, newline or
backslash inside a value is written \\t, \\n, \\\\), with the notes beside them on stderr.

Start-up stays light: the toolkit (and with it duckdb and pydantic) and rich are imported by the commands
that use them, so `icp-agent --help` loads none of them and `icp-agent fields` only rich.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from functools import wraps
from inspect import signature
from pathlib import Path
from typing import TYPE_CHECKING

import click

from icp_agent import __version__
from icp_agent.errors import ArgumentError, UserError, bug_report, describe
from icp_agent.faces.transports import serve_options  # light: click only; one set of options with icp-agent-mcp
from icp_agent.locations import DEFAULT_PATH, DEMO_WORKSPACE, missing_workspace, shown

if TYPE_CHECKING:
    from icp_agent import toolkit
    from icp_agent.workspace import Workspace


class _LazyConsole:
    """A rich Console made on first use, so commands that print nothing rich never import rich."""

    def __init__(self, **options) -> None:
        self._options = options
        self._console = None

    def real(self):
        """The rich Console itself (made now if need be), for rich objects that draw on it."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return self._console

    def __getattr__(self, name: str):
        return getattr(self.real(), name)


# markup and emoji off: text from the data ("[bold]x", ":smile:") prints literally
err = _LazyConsole(stderr=True, soft_wrap=True, markup=False, emoji=False, highlight=False)
out = _LazyConsole(highlight=False, soft_wrap=True, markup=False, emoji=False)


def is_terminal() -> bool:
    """True when stdout is a terminal: tables are drawn; otherwise they are tab-separated lines."""
    return bool(out.is_terminal)


def note(text: str) -> None:
    """A line about a listing (a title, a count, what to do next): beside the table on a terminal, on stderr
    when piped so stdout holds the records alone."""
    (out if is_terminal() else err).print(text)


def _cell(value) -> str:
    text = "" if value is None else str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def print_table(columns: Sequence[str], rows: Sequence[Sequence], *, title: str | None = None,
                truncate: Sequence[str] = ()) -> None:
    """Print a listing: on a terminal a rich table fitted to its width (long values fold onto more lines,
    columns named in `truncate` end in an ellipsis instead); piped, a header line and one tab-separated line
    per row, values escaped (see the module's docstring) and never truncated. `title` is a note."""
    if not is_terminal():
        if title:
            note(title)
        click.echo("\t".join(columns))
        for row in rows:
            click.echo("\t".join(_cell(v) for v in row))
        return
    if not rows:  # the caller says why there is nothing; an empty frame would say nothing
        return
    from rich import box
    from rich.table import Table

    # no vertical rules: the width goes to the values
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    for name in columns:
        if name in truncate:  # at most a quarter of the width, so the columns that name things stay readable
            table.add_column(name, overflow="ellipsis", no_wrap=True, max_width=max(16, out.width // 4))
        else:
            table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    out.print(table)


PLAIN_EVERY = 2.0  # seconds between two plain progress lines of one step (piped stderr)


class Ctx:
    """A command's context: its workspace (made on first use), --json and --quiet.

    create=False is for commands that only read: a missing workspace file is an ArgumentError naming the
    workspaces nearby, raised here before anything is opened, and the Workspace will not create one either."""

    def __init__(self, workspace: str, as_json: bool, quiet: bool, *, create: bool = True):
        self.workspace_path = workspace
        self.as_json = as_json
        self.quiet = quiet
        self.create = create
        self._workspace: Workspace | None = None
        if not create and not Path(workspace).expanduser().exists():
            raise missing_workspace(workspace)

    @property
    def workspace(self) -> Workspace:
        if self._workspace is None:
            from icp_agent.workspace import Workspace

            self._workspace = Workspace(self.workspace_path, create=self.create)
        return self._workspace

    @contextmanager
    def progress(self):
        """Progress on stderr, fed by the toolkit's callback (message) or (message, rows done, rows total).

        On a terminal: a rich bar per step with rows done and the time left; piped: a plain line per step and
        at most one every PLAIN_EVERY seconds within it; nothing under --quiet.
        """
        if self.quiet:
            yield lambda message, done=None, total=None: None
            return
        if not sys.stderr.isatty():
            from icp_agent.progress import Eta

            eta, last = Eta(), {"step": None, "at": 0.0}

            def plain(message, done=None, total=None):
                now = time.monotonic()
                line = eta.line(message, done, total)
                if message != last["step"] or now - last["at"] >= PLAIN_EVERY or (total and done == total):
                    last.update(step=message, at=now)
                    print(line, file=sys.stderr, flush=True)
            yield plain
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeRemainingColumn,
        )

        with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeRemainingColumn(), console=err.real(), transient=True) as bar:
            tasks: dict[str, object] = {}

            def show(message, done=None, total=None):
                task = tasks.get(message)
                if task is None:
                    for other in tasks.values():
                        bar.update(other, visible=False)
                    task = tasks[message] = bar.add_task(message, total=total or None)
                bar.update(task, completed=done or 0, total=total or None)
            yield show

    def emit(self, result, human: Callable[[], None]) -> None:
        if self.as_json:
            data = result.model_dump(mode="json") if hasattr(result, "model_dump") else result
            click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
        else:
            human()


def handle_errors(func):
    """The CLI's error boundary: a user or data problem exits 2 with its message (plain text, or JSON
    under --json); anything else is a bug: one line naming the file holding the full traceback, exit 1."""
    @wraps(func)
    def wrapper(*args, **kwargs):
        as_json = bool(kwargs.get("as_json"))
        try:
            return func(*args, **kwargs)
        except UserError as exc:
            _fail(describe(exc), as_json, 2)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, KeyboardInterrupt):
            raise
        except BrokenPipeError:
            _stop_on_broken_pipe()
        except Exception as exc:  # noqa: BLE001 - the boundary: a bug, reported with its traceback file
            info = describe(exc)
            path = bug_report(exc, kwargs.get("workspace"))
            info["traceback"] = str(path)
            info["message"] = f"internal error ({info['message']}); full traceback in {path}"
            _fail(info, as_json, 1)
    return wrapper


def _stop_on_broken_pipe() -> None:
    """The reader of a pipe stopped early (`icp-agent inspect | head`): not a bug; exit quietly with the
    status a shell gives a process SIGPIPE ends (128 + 13), stdout pointed at devnull so the interpreter's
    last flush does not fail again (the recipe of Python's signal module docs)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is no file (captured): nothing will be flushed to a closed pipe
        pass
    sys.exit(141)


def _fail(info: dict, as_json: bool, code: int) -> None:
    if as_json:
        click.echo(json.dumps({"error": info}, ensure_ascii=False, default=str))
    else:
        click.echo(f"error: {info['message']}", err=True)
    sys.exit(code)


class _Group(click.Group):
    """Click's usage errors (unknown option, bad choice, out-of-range value) exit 2 like every user
    problem, printed as JSON when --json is on the command line."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        argv = list(sys.argv[1:] if args is None else args)
        try:
            result = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        except click.ClickException as exc:
            if "--json" not in argv:
                exc.show()
                sys.exit(exc.exit_code)
            info = ArgumentError(exc.format_message()).as_dict()
            if isinstance(exc, click.BadParameter) and exc.param is not None:
                info["hint"] = f"see icp-agent {argv[0] if argv else ''} --help".replace("  ", " ")
            _fail(info, True, exc.exit_code if exc.exit_code == 2 else 2)
        except click.exceptions.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        if not standalone_mode:
            return result
        sys.exit(result if isinstance(result, int) else 0)


common = [
    click.option("--workspace", "-w", default=DEFAULT_PATH, show_default=True, envvar="ICP_WORKSPACE",
                 help="the DuckDB workspace file"),
    click.option("--json", "as_json", is_flag=True, help="print the result as JSON"),
    click.option("--quiet", "-q", is_flag=True, help="no progress output"),
]


def with_common(func):
    for option in reversed(common):
        func = option(func)
    return func


server_options_list = [
    click.option("--server", metavar="URL", help="talk to a running icp-agent MCP server (`icp-agent serve --http`, "
                                                 "e.g. http://host:8000/mcp) instead of one in this process"),
    click.option("--token-env", default="ICP_AGENT_TOKEN", show_default=True, metavar="NAME",
                 help="with --server: the environment variable holding the server's bearer token"),
]


def server_options(func):
    for option in reversed(server_options_list):
        func = option(func)
    return func


def remote_server(url: str | None, token_env: str):
    """--server URL as the assistant's RemoteServer (its token from the variable --token-env names), or None."""
    if not url:
        return None
    from icp_agent.faces.assistant.connection import RemoteServer

    return RemoteServer.from_env(url, token_env)


input_options = [
    click.option("--customers", type=click.Path(), help="the customers/companies file"),
    click.option("--deals", type=click.Path(), help="the deals/opportunities file"),
    click.option("--contacts", type=click.Path(), help="the contacts file (job titles, buying roles)"),
    click.option("--prospects", type=click.Path(), help="the prospect list (the TAM, no outcomes)"),
    click.option("--interviews", type=click.Path(), help="a folder of interview notes (.md/.txt)"),
    click.option("--subscriptions", type=click.Path(), help="subscriptions (a row each: account, plan, MRR or ARR, "
                                                            "start and end), rolled up per account"),
    click.option("--tickets", type=click.Path(), help="support tickets (a row each: account, created date, status or "
                                                      "priority), rolled up per account"),
    click.option("--events", type=click.Path(), help="product and churn events (a row each: account, event, time), "
                                                     "rolled up per account"),
    click.option("--mapping", "mapping_file", type=click.Path(), help="a TOML mapping file overriding headers, "
                                                                      "roles, types and date order"),
    click.option("--lenient", is_flag=True, help="reject malformed rows (reported) instead of failing the import"),
    click.option("--sheet", help="the worksheet of an Excel workbook to read: its name or 0-based index "
                                 "(default: the first)"),
    click.option("--fx", "fx_file", type=click.Path(), help="exchange rates, a CSV with columns currency,rate (units "
                                                            "of the reporting currency per unit; the reporting "
                                                            "currency has rate 1)"),
]


def with_inputs(func):
    for option in reversed(input_options):
        func = option(func)
    return func


analysis_options = [
    click.option("--good", type=click.Choice(["health", "column", "won"]),
                 help="what a good customer is: the health score, an outcome column, or won vs lost deals "
                      "(default: health when the data has health fields, else won deals)"),
    click.option("--good-column", help="the outcome column that defines a good customer, by field name or by its "
                                       "header in the file (implies --good column): yes = good, or any column "
                                       "with --good-value/--bad-value"),
    click.option("--good-value", help="the value of the outcome column that means good (e.g. 'P I F')"),
    click.option("--bad-value", help="the value that means bad (e.g. CHGOFF); default: every other value"),
    click.option("--bad-column", help="a yes/no column where yes = bad, e.g. a churn flag (implies --good column)"),
    click.option("--weight", "weights", multiple=True, metavar="COMPONENT=W",
                 help="health component weight, e.g. --weight nps=20 (retention, nrr, cac_efficiency, "
                      "support_burden, nps, referrals, time_to_close, activity)"),
    click.option("--min-tenure-months", type=float, default=6.0, show_default=True,
                 help="active customers younger than this are left out of retention"),
    click.option("--depth", type=click.IntRange(1, 4), default=3, show_default=True,
                 help="most criteria combined in one pattern"),
    click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.05,
                 show_default=True, help="false discovery rate (Benjamini-Hochberg)"),
    click.option("--min-support", type=click.IntRange(1), help="fewest entities a pattern must cover"),
    click.option("--revenue-target", type=click.FloatRange(0, min_open=True),
                 help="annual new-revenue target: warns when Tier 1 is too small to reach it"),
    click.option("--allow-unlinked", is_flag=True,
                 help="build even when half or fewer of the deals/contacts link to a company (reported in the ICP)"),
]


report_folder = click.option("--out", "out_dir", default="icp-out", show_default=True, type=click.Path(),
                             help="folder for the report files")


def out_folder(out_dir: str) -> Path:
    """--out as a folder path; an existing file there is an ArgumentError (checked before any work)."""
    path = Path(out_dir).expanduser()
    if path.exists() and not path.is_dir():
        raise ArgumentError(f"--out {out_dir} is a file, not a folder", hint="pass a folder for the report files")
    return path


def with_analysis(func):
    for option in reversed(analysis_options):
        func = option(func)
    return func


def split_options(given: dict) -> tuple[toolkit.AnalysisOptions, dict]:
    """A command's --good/--weight/... options as AnalysisOptions, and its input file options as they came."""
    options = make_options(**{name: given.pop(name) for name in signature(make_options).parameters})
    return options, given


def make_options(good, good_column, good_value, bad_value, bad_column, weights, min_tenure_months, depth, alpha,
                 min_support, revenue_target, allow_unlinked=False) -> toolkit.AnalysisOptions:
    from icp_agent import toolkit

    parsed = {}
    for item in weights:
        name, sep, value = item.partition("=")
        try:
            parsed[name.strip()] = float(value)
        except ValueError:
            raise ArgumentError(f"--weight {item!r} is not COMPONENT=NUMBER", hint="e.g. --weight nps=20") from None
        if not sep:
            raise ArgumentError(f"--weight {item!r} is not COMPONENT=NUMBER", hint="e.g. --weight nps=20")
    if good == "column" and not (good_column or bad_column):
        raise ArgumentError("--good column needs --good-column NAME (or --bad-column NAME)",
                            hint="e.g. --good-column activated")
    options = toolkit.AnalysisOptions(good=good, good_column=good_column, good_value=good_value, bad_value=bad_value,
                                      bad_column=bad_column, weights=parsed or None,
                                      min_tenure_months=min_tenure_months, depth=depth, alpha=alpha,
                                      min_support=min_support, revenue_target=revenue_target,
                                      allow_unlinked=allow_unlinked)
    options.config()  # option combinations are checked before anything is imported
    return options


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="icp-agent")
def main() -> None:
    """A data-backed Ideal Customer Profile from your own CRM exports."""


@main.command("import")
@click.argument("paths", nargs=-1, type=click.Path())
@with_inputs
@with_common
@handle_errors
def import_cmd(paths, customers, deals, contacts, prospects, interviews, subscriptions, tickets, events,
               mapping_file, lenient, sheet, fx_file, workspace, as_json, quiet):
    """Import CRM exports (PATH...: any mix of files and folders, or files named with flags) into the workspace.

    All or nothing: if one file cannot be read, nothing from this import is kept."""
    from icp_agent import toolkit

    ctx = Ctx(workspace, as_json, quiet)
    with ctx.progress() as progress:
        result = toolkit.import_data(ctx.workspace, list(paths) or None, customers=customers, deals=deals,
                                     contacts=contacts, prospects=prospects, interviews=interviews,
                                     subscriptions=subscriptions, tickets=tickets, events=events,
                                     mapping_file=mapping_file, lenient=lenient, sheet=sheet, fx_file=fx_file,
                                     progress=progress)
    ctx.emit(result, lambda: print_import(result))


def print_import(result: toolkit.ImportResult) -> None:
    for item in result.plan:
        read_as = f"; read as {item.read_as}" if item.read_as else ""
        out.print(f"{Path(item.path).name}: {item.kind} ({item.reason}{read_as})", markup=False)
    for item in result.skipped:
        out.print(f"{Path(item.path).name}: skipped ({item.reason})", markup=False)
    for report in result.reports:
        state = "already imported, unchanged" if report.already_imported else (
            f"{report.rows_read:,} rows read, {report.rows_kept:,} kept, {report.rows_rejected:,} rejected, "
            f"{report.duplicates_dropped:,} exact duplicates dropped")
        out.print(f"  {report.kind}: {state}")
        if not report.already_imported:
            for rejected in report.rejected[:3]:
                raw = f": {rejected.raw[:80]!r}" if rejected.raw else ""
                out.print(f"  rejected row {rejected.row}: {rejected.reason}{raw}", markup=False)
            if report.rows_rejected > 3:
                out.print(f"  ... {report.rows_rejected - 3:,} more rejected rows (icp-agent inspect)")
        if report.furniture_dropped and not report.already_imported:
            shown = "; ".join(f"{f.kind}" + (f" {f.raw!r}" if f.raw else "") for f in report.furniture[:3])
            out.print(f"  {report.kind}: {report.furniture_dropped:,} lines of report furniture dropped "
                      f"(not records, not rejected): {shown}", markup=False)
        for warning in report.warnings:
            out.print(f"  warning: {warning}")
        for column in report.columns:  # no value becomes missing silently
            if column.unparsed:
                out.print(f"  {column.header!r}: {column.unparsed:,} value(s) could not be read as {column.type} "
                          f"(e.g. {'; '.join(column.unparsed_examples)}): stored as missing", markup=False)
            if len(column.currencies) > 1:
                out.print(f"  {column.header!r}: currencies " + ", ".join(f"{c} {n:,}" for c, n in
                                                                           column.currencies.items())
                          + (f" ({column.note})" if column.note else ""), markup=False)
    if result.interviews:
        out.print(f"  interviews: {result.interviews['documents']} notes")
        for name in result.interviews["contains_instructions"]:
            out.print(f"  note: {name} contains text addressed to an AI; it is treated as data, never obeyed")
    for link in result.links:
        if link.accounts is not None:  # subscriptions, tickets, events: rows per account
            out.print(f"  {link.kind} linked by {link.linked_by or 'nothing shared'}: {link.linked:,} of {link.rows:,}"
                      f" rows; {link.unlinked_accounts:,} of {link.accounts:,} accounts not in the accounts file"
                      + (f" (e.g. {', '.join(str(e['account']) for e in link.unlinked_examples[:3])})"
                         if link.unlinked_accounts else ""))
            continue
        out.print(f"  {link.kind} linked by {link.method or link.linked_by or 'nothing shared'}: {link.linked:,} of "
                  f"{link.rows:,} ({link.standalone:,} carry their own firmographics, {link.unlinked:,} link to nothing)")
        for note in link.notes + ([f"likely cause: {link.cause}"] if link.cause else []):
            out.print(f"    {note}")


@main.command()
@click.option("--kind", type=click.Choice(["customers", "deals", "contacts", "prospects", "subscriptions", "tickets",
                                           "events"]),
              help="show one kind only")
@with_common
@handle_errors
def inspect(kind, workspace, as_json, quiet):
    """Show what the workspace holds: per column the mapped field, role, type, % missing, examples.

    Piped, one line per column: kind, header, field, role, type, % missing, examples, unparsed."""
    from icp_agent import toolkit

    ctx = Ctx(workspace, as_json, quiet, create=False)
    summary = toolkit.inspect_workspace(ctx.workspace)
    if kind:
        if kind not in summary.current:
            held = ", ".join(summary.current) or "nothing yet"
            raise ArgumentError(f"no {kind} imported in this workspace (it holds {held})",
                                file=str(ctx.workspace.path),
                                hint=f"import them with `icp-agent import --{kind} FILE`, or drop --kind")
        summary.current = {k: v for k, v in summary.current.items() if k == kind}
    ctx.emit(summary, lambda: print_summary(summary))


INSPECT_COLUMNS = ("header", "field", "role", "type", "% missing", "examples", "unparsed")


def print_summary(summary) -> None:
    """inspect's listing: a table per kind on a terminal; piped, one table with the kind as first column."""
    note(f"workspace {summary.workspace} (schema v{summary.schema_version})")
    if not summary.current:
        note("it holds no imports yet: run `icp-agent import DATA_DIR` (or `icp-agent run DATA_DIR`)")
    tty = is_terminal()
    records = []
    for kind, report in summary.current.items():
        rows = [[c.header, c.field, summary.roles.get(c.field, c.role), c.type, f"{c.pct_missing:.1f}",
                 ", ".join(c.examples), f"{c.unparsed:,}" if c.unparsed else ""] for c in report.columns]
        title = (f"{kind}: {report.file_name} ({report.rows_kept:,} rows, {report.rows_rejected:,} rejected, "
                 f"{report.duplicates_dropped:,} duplicates dropped)")
        if tty:
            print_table(INSPECT_COLUMNS, rows, title=title, truncate=("examples",))
        else:
            note(title)
            records += [[kind, *row] for row in rows]
        for r in report.rejected[:10]:
            note(f"  {kind}: rejected row {r.row}: {r.reason}")
        if report.rows_rejected > 10:
            note(f"  {kind}: ... {report.rows_rejected - 10:,} more rejected rows (see --json)")
    if not tty and summary.current:
        print_table(("kind", *INSPECT_COLUMNS), records)
    if summary.interviews:
        note(f"interviews: {summary.interviews} notes")
    if summary.not_in_prospects:
        note(f"fit fields the prospect list lacks (check a seller knows them before the sale, or set their "
             f"role with `icp-agent roles`): {', '.join(summary.not_in_prospects)}")


@main.command()
@click.argument("assignments", nargs=-1, required=True)
@with_common
@handle_errors
def roles(assignments, workspace, as_json, quiet):
    """Override field roles: icp-agent roles time_zone=ignore lead_source=fit."""
    from icp_agent import toolkit

    ctx = Ctx(workspace, as_json, quiet)
    pairs = {}
    for item in assignments:
        field, sep, role = item.partition("=")
        if not sep:
            raise ArgumentError(f"{item!r} is not FIELD=ROLE", hint="e.g. icp-agent roles time_zone=ignore")
        pairs[field.strip()] = role.strip()
    result = toolkit.set_field_roles(ctx.workspace, pairs)
    ctx.emit(result, lambda: print_table(("field", "role"), sorted(result.items())))


@main.command()
@click.option("--markdown", is_flag=True, help="print the reference table (docs/fields.md) as markdown")
@with_common
@handle_errors
def fields(markdown, workspace, as_json, quiet):
    """List the canonical fields, their types, default roles and the header spellings recognised.

    Needs no workspace (--workspace is accepted and unused)."""
    from icp_agent.ingest.fields import FIELDS, fields_markdown

    ctx = Ctx(workspace, as_json, quiet)
    if markdown:
        ctx.emit({"markdown": fields_markdown()}, lambda: click.echo(fields_markdown(), nl=False))
        return
    data = [{"field": f.name, "type": f.type, "role": f.role, "description": f.description,
             "synonyms": list(f.synonyms)} for f in FIELDS]
    ctx.emit(data, lambda: print_table(("field", "type", "role", "description", "headers"),
                                       [[f["field"], f["type"], f["role"], f["description"], ", ".join(f["synonyms"])]
                                        for f in data]))


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@with_inputs
@with_analysis
@report_folder
@click.option("--assistant", is_flag=True, help="let Claude run the phases and draft the prose "
                                                "(needs ANTHROPIC_API_KEY; offline templates otherwise)")
@click.option("--model", envvar="ICP_AGENT_MODEL", help="the Claude model id (default: a current Sonnet)")
@click.option("--budget", type=click.IntRange(1, 200), default=40, show_default=True,
              help="most tool calls the assistant may make")
@server_options
@with_common
@handle_errors
def run(paths, out_dir, assistant, model, budget, server, token_env, workspace, as_json, quiet, **given):
    """Import the exports (PATH...: files and folders) and build everything: the ICP, its evidence, the
    document and the scoring matrix.

    Offline by default (prose from templates). With --assistant and ANTHROPIC_API_KEY set, Claude runs the
    method's phases through the same tools and drafts the prose; every claim is checked against the evidence."""
    from icp_agent import toolkit

    ctx = Ctx(workspace, as_json, quiet)
    options, inputs = split_options(given)
    out_folder(out_dir)
    data_dir = list(paths) or None
    if server and not assistant:
        raise ArgumentError("--server drives a running MCP server with the assistant", hint="add --assistant")
    if assistant:
        if data_dir and len(data_dir) > 1:
            raise ArgumentError("--assistant reads one folder: pass a single DATA_DIR",
                                hint="put the exports in one folder; the model imports it with import_data")
        return run_with_assistant(ctx, data_dir[0] if data_dir else None, out_dir, model, budget, options, inputs,
                                  remote_server(server, token_env))
    if data_dir is None and not any(inputs[k] for k in ("customers", "deals", "subscriptions", "tickets", "events")):
        raise ArgumentError("nothing to import", hint="pass PATH (files or folders), or name the files with "
                                                      "--customers/--deals ...")
    with ctx.progress() as progress:
        result = toolkit.run(ctx.workspace, data_dir, out_dir, options=options, progress=progress, **inputs)
    ctx.emit(result, lambda: print_run(result))


def run_with_assistant(ctx: Ctx, data_dir, out_dir, model, budget, options, inputs, server=None) -> None:
    from icp_agent.faces.assistant.orchestrator import run_assisted

    named = [f"--{name.replace('_file', '').replace('_', '-')}" for name, value in inputs.items() if value]
    if server is not None and data_dir is not None:
        raise ArgumentError("with --server the server imports from its own data folder: pass no DATA_DIR",
                            hint="start the server in the folder of exports (or with --data-root DIR)")
    if named or (data_dir is None and server is None):
        raise ArgumentError("--assistant reads a whole folder: pass DATA_DIR" + (f" instead of {', '.join(named)}"
                                                                            if named else ""),
                        hint="put the exports in one folder; the model imports it with import_data")
    with ctx.progress() as progress:
        result = run_assisted(None if server else ctx.workspace, data_dir, out_dir, server=server, model=model,
                              budget=budget, options=options, progress=progress)

    def human():
        out.print(f"assisted run with {result.model}: {result.status}"
                  + (f" ({result.error})" if result.error else ""))
        out.print(f"  {result.tool_calls} tool calls; tokens: " + ", ".join(f"{k} {v:,}" for k, v in result.usage.items()))
        if result.dropped_claims:
            out.print(f"  {result.dropped_claims} drafted claims failed the grounding check and were dropped "
                      f"(listed in the document)")
        out.print(f"report: {Path(result.out_dir).resolve()}")
        for name in result.files:
            out.print(f"  {name}")
    ctx.emit(result, human)
    if result.status != "ok":
        sys.exit(1)


def print_run(result) -> None:
    print_import(result.imported)
    if result.icp:
        print_icp(result.icp)
        for warning in result.icp.warnings:
            if warning.startswith("CRM files:"):
                out.print(f"  warning: {warning}")
    out.print(f"report: {Path(result.out_dir).resolve()}")
    for name in result.files:
        out.print(f"  {name}")


def print_icp(icp) -> None:
    out.print("")
    out.print(f"ICP {icp.id}: {icp.status}")
    out.print(icp.statement)
    for tier in icp.tiers:
        m = tier.metrics
        extra = f", churn {100 * m.churn_rate:.1f}%" if m.churn_rate is not None else ""
        out.print(f"  {tier.name}: {m.n or 0:,} ({100 * (m.share or 0):.1f}%){extra}"
                  f"{' [' + '; '.join(tier.flags) + ']' if tier.flags else ''}")
    for d in icp.negative_icp:
        out.print(f"  exclude {' AND '.join(c.label for c in d.criteria)}: {d.reason}")
    if icp.min_support:
        out.print(f"  minimum support: {icp.min_support.reason}")


@main.command()
@with_analysis
@report_folder
@with_common
@handle_errors
def build(out_dir, workspace, as_json, quiet, **given):
    """Rebuild the ICP from what the workspace holds (a new version; earlier ones are kept)."""
    from icp_agent import toolkit

    options, _ = split_options(given)
    out_path = out_folder(out_dir)
    ctx = Ctx(workspace, as_json, quiet, create=False)
    with ctx.progress() as progress:
        icp = toolkit.build_icp(ctx.workspace, options, progress)
        out_path.mkdir(parents=True, exist_ok=True)
        files = toolkit.write_icp_outputs(ctx.workspace, icp, out_path, progress)
    ctx.emit(icp, lambda: (print_icp(icp), out.print(f"report: {out_path.resolve()} ({', '.join(files)})")))


@main.command()
@click.argument("evidence_ids", nargs=-1, required=True)
@click.option("--version", help="an ICP version id (default: the latest that has the item)")
@with_common
@handle_errors
def evidence(evidence_ids, version, workspace, as_json, quiet):
    """Show evidence items by id: the statement, the figures and the query behind them.

    Piped, one line per item: id, kind, n, statement, figures (JSON), query."""
    from icp_agent import toolkit

    ctx = Ctx(workspace, as_json, quiet, create=False)
    items = [toolkit.get_evidence(ctx.workspace, i, version) for i in evidence_ids]

    def figures(item) -> str:
        return json.dumps(item.metrics, ensure_ascii=False, default=str) if item.metrics else ""

    def human():
        if not is_terminal():
            print_table(("id", "kind", "n", "statement", "figures", "query"),
                        [[i.id, i.kind, i.n, i.statement, figures(i), i.query] for i in items])
            return
        for item in items:
            out.print(f"{item.id} ({item.kind}): {item.statement}")
            if item.metrics:
                out.print(f"  figures: {figures(item)}")
            if item.query:
                out.print(f"  query: {item.query}")
    ctx.emit([i.model_dump() for i in items], human)


@main.command()
@click.argument("prospects", type=click.Path())
@click.option("--icp", "icp_path", type=click.Path(), help="the icp.json to score with (default: the workspace's "
                                                           "current ICP)")
@click.option("--out", "out_path", required=True, type=click.Path(), help="scored.csv or scored.parquet")
@with_common
@handle_errors
def score(prospects, icp_path, out_path, workspace, as_json, quiet):
    """Score a prospect list: every row kept, with icp_tier, fit_score, priority, fit_reasons, disqualified_by."""
    from icp_agent import toolkit

    has_workspace = Path(workspace).expanduser().exists()
    if icp_path is None and not has_workspace:
        raise missing_workspace(workspace, also="or score with a saved ICP: --icp icp.json")
    # with --icp a missing workspace is fine (nothing is read from it) and is never created
    ctx = Ctx(workspace, as_json, quiet, create=False) if has_workspace else Ctx(workspace, as_json, quiet)
    with ctx.progress() as progress:
        progress(f"scoring {Path(prospects).name}")
        result = toolkit.score_prospects(prospects, out_path, icp_path=icp_path,
                                         ws=ctx.workspace if has_workspace else None, progress=progress)

    def human():
        out.print(f"scored {result.rows:,} rows into {result.output}")
        out.print("  " + ", ".join(f"{k}: {v:,}" for k, v in result.by_tier.items()))
        out.print(f"  disqualified: {result.disqualified:,}")
        if result.missing_fields:
            out.print(f"  the file lacks {', '.join(result.missing_fields)}: those criteria cannot match "
                      f"(listed per row in missing_fields)")
    ctx.emit(result, human)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@with_inputs
@with_analysis
@report_folder
@with_common
@handle_errors
def refresh(paths, out_dir, workspace, as_json, quiet, **given):
    """Import a newer snapshot, rebuild the ICP as a new version and compare it with the previous one."""
    from icp_agent import toolkit

    ctx = Ctx(workspace, as_json, quiet)
    options, inputs = split_options(given)
    out_folder(out_dir)
    with ctx.progress() as progress:
        result = toolkit.refresh(ctx.workspace, list(paths) or None, out_dir, options=options, progress=progress, **inputs)

    def human():
        print_import(result.imported)
        print_icp(result.icp)
        if result.diff:
            print_diff(result.diff)
        out.print(f"report: {Path(out_dir).resolve()} ({', '.join(result.files)})")
    ctx.emit(result, human)


def print_diff(d: dict) -> None:
    out.print("")
    out.print(f"{d['old']} -> {d['new']}: {d['recommendation'].upper()} ({d['why']})")
    moved = d.get("migration", {})
    if "in_both" in moved or "customers_in_both" in moved:
        both = moved.get("in_both", moved.get("customers_in_both"))
        out.print(f"  {both:,} {moved.get('entity', 'customers')} in both; {moved['changed_tier']:,} changed tier")
    for field, v in d["fields"].items():
        if v["status"] != "stable":
            out.print(f"  {field}: PSI {v['psi']:.3f} ({v['status']})")
    if "fit_score_psi" in d:
        out.print(f"  fit score: PSI {d['fit_score_psi']['psi']:.3f} ({d['fit_score_psi']['status']})")
    for kind in ("weakened", "vanished", "appeared"):
        for p in d["patterns"][kind]:
            out.print(f"  {kind}: {p['pattern']} ({p['direction']})")
    backtest = d.get("old_icp_on_new_customers", {})
    out.print(f"  old ICP on new customers: {backtest.get('status')}")


@main.command("diff")
@click.argument("old", required=False)
@click.argument("new", required=False)
@with_common
@handle_errors
def diff_cmd(old, new, workspace, as_json, quiet):
    """Compare two ICP versions (default: the last two): tier migration, PSI, patterns, a recommendation."""
    from icp_agent import toolkit

    ctx = Ctx(workspace, as_json, quiet, create=False)
    result = toolkit.diff_icp_versions(ctx.workspace, old, new)
    ctx.emit(result, lambda: print_diff(result))


@main.command()
@click.option("--out", "out_dir", default="icp-out", show_default=True, type=click.Path(),
              help="folder /save writes the document to")
@click.option("--model", envvar="ICP_AGENT_MODEL", help="the Claude model id (default: a current Sonnet)")
@click.option("--workspace", "-w", default=DEFAULT_PATH, show_default=True, envvar="ICP_WORKSPACE",
              help="the DuckDB workspace file")
@server_options
@handle_errors
def chat(out_dir, model, workspace, server, token_env):
    """Talk to your ICP in the terminal ("which customers should we stop selling to?"); needs ANTHROPIC_API_KEY."""
    from icp_agent.faces.assistant.chat import chat_main
    from icp_agent.workspace import Workspace

    remote = remote_server(server, token_env)
    ws = None if remote else Workspace(workspace, create=False)
    sys.exit(chat_main(ws, out_dir=out_dir, model=model, server=remote))


@main.command()
@serve_options
def serve(**options):
    """Run the MCP server (stdio by default; --http for streamable HTTP at /mcp): the options of icp-agent-mcp."""
    from icp_agent.faces.transports import run

    run(**options)


@main.command()
@with_common
@handle_errors
def versions(workspace, as_json, quiet):
    """List the ICP versions in the workspace (none is ever overwritten)."""
    from icp_agent import toolkit

    ctx = Ctx(workspace, as_json, quiet, create=False)
    rows = toolkit.list_icp_versions(ctx.workspace)

    def human():
        print_table(("version_id", "created_at", "status", "dataset_fingerprint"),
                    [[r["version_id"], r["created_at"], r["status"], r["dataset_fingerprint"]] for r in rows])
        if not rows:
            note(f"no ICP versions in {ctx.workspace.path} yet: build one with `icp-agent build` (after "
                 f"`icp-agent import DATA_DIR`) or `icp-agent run DATA_DIR`")
    ctx.emit(rows, human)


@main.command()
@click.option("--out", "out_dir", default="icp-demo", show_default=True, type=click.Path(),
              help="folder for the report files (its workspace is created inside it)")
@with_common
@handle_errors
def demo(out_dir, workspace, as_json, quiet):
    """Run the whole pipeline offline on the bundled demo company (Lumenfold)."""
    from icp_agent import toolkit
    from icp_agent.resources import demo_data_dir

    out_path = out_folder(out_dir)
    out_path.mkdir(parents=True, exist_ok=True)
    ws_path = workspace if workspace != DEFAULT_PATH else str(out_path / DEMO_WORKSPACE)
    ctx = Ctx(ws_path, as_json, quiet)
    with ctx.progress() as progress:
        result = toolkit.run(ctx.workspace, demo_data_dir(), out_dir, progress=progress)

    def human():
        print_run(result)
        out.print(f"open {(out_path / 'icp.html').resolve()} in a browser to read the ICP")
        # the demo's workspace is not the default one: the next commands must name it
        where = shown(ctx.workspace.path)
        out.print(f"its workspace is {where}; the other commands read it with --workspace {where}, e.g.")
        out.print(f"  icp-agent versions --workspace {where}")
        if result.icp and result.icp.evidence:  # icp.json's evidence[]: {"id", "kind", "statement", ...}
            out.print(f"  icp-agent evidence --workspace {where} {result.icp.evidence[0].id}   (any id in icp.md)")
    ctx.emit(result.model_dump(mode="json") | {"workspace": str(ctx.workspace.path)}, human)


if __name__ == "__main__":
    main()
