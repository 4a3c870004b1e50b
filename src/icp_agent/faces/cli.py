"""The `icp-agent` command line: one command per operation (icp_agent.operations), its name with dashes and
its options generated from the operation's options model (faces/cli_options.py), plus the composite commands
run, refresh, demo, chat, serve and fields. The names used before (import, build, score, ...) still work,
hidden, with a note naming the new command. What they print for a person is in faces/cli_output.py.

Every command takes --workspace and --json (results and errors as JSON); user mistakes exit 2 with one
clear line, bugs exit 1. Progress goes to stderr (only on a terminal, never with --quiet), so stdout
carries the result alone. Commands that only read a workspace never create one: a missing file is an
error that says where a workspace is. Listings are tables fitted to the terminal; piped (stdout not a
terminal) they are plain tab-separated lines, a header line then one record per line (a tab, newline or
backslash inside a value is written \\t, \\n, \\\\), with the notes beside them on stderr.

Start-up stays light: the command list comes from the registry (no pydantic, no duckdb); a command's options
model (pydantic) is loaded when it is run or its --help shown, the toolkit (duckdb, the analysis) and rich only
by the commands that use them, so `icp-agent --help` loads none of them and `icp-agent fields` only rich.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from icp_agent import __version__
from icp_agent.errors import ArgumentError, UserError, bug_report, describe
from icp_agent.faces.cli_output import (
    err,
    out,
    print_diff,
    print_evidence,
    print_evidence_list,
    print_health,
    print_icp,
    print_import,
    print_json,
    print_patterns,
    print_query,
    print_rendered,
    print_roles,
    print_run,
    print_scorecard,
    print_scored,
    print_summary,
    print_table,
    print_validation,
    print_versions,
)
from icp_agent.faces.transports import workspace_option  # click only, like this module
from icp_agent.locations import DEFAULT_PATH, DEMO_WORKSPACE, missing_workspace, shown
from icp_agent.operations import OPERATIONS, Operation

if TYPE_CHECKING:
    from icp_agent.workspace import Workspace


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
        """The workspace named by --workspace, opened on first use (a missing one is created only where the command may create it)."""
        if self._workspace is None:
            from icp_agent.workspace import Workspace

            self._workspace = Workspace(self.workspace_path, create=self.create)
        return self._workspace

    @contextmanager
    def progress(self) -> Iterator[Callable[..., None]]:
        """Progress on stderr, fed by the toolkit's callback (message) or (message, rows done, rows total).

        On a terminal: a rich bar per step with rows done, the time so far and the time left; piped: a plain line
        per step and at most one every PLAIN_EVERY seconds within it (with the time so far of a step that counts
        no rows: progress.pulsing repeats its report); nothing under --quiet.
        """
        if self.quiet:
            yield lambda message, done=None, total=None: None
            return
        from icp_agent.progress import pulsing

        with self._progress_display() as show, pulsing(show) as report:
            yield report

    @contextmanager
    def _progress_display(self) -> Iterator[Callable[..., None]]:
        """The callback that draws progress on stderr: plain lines when piped, a rich bar on a terminal."""
        if not sys.stderr.isatty():
            from icp_agent.progress import Eta

            eta = Eta()
            last: dict[str, Any] = {"step": None, "at": 0.0, "line": None}

            def plain(message: str, done: int | None = None, total: int | None = None) -> None:
                now = time.monotonic()
                line = eta.line(message, done, total)
                if line == last["line"]:  # a repeated report (progress.pulsing) that changes nothing shown
                    return
                if message != last["step"] or now - last["at"] >= PLAIN_EVERY or (total and done == total):
                    last.update(step=message, at=now, line=line)
                    print(line, file=sys.stderr, flush=True)

            yield plain
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TaskID,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        from icp_agent.progress import unit_of

        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[unit]}"),  # what the step counts: rows, checks, ... (progress.Step)
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=err.real(),
            transient=True,
        ) as bar:
            tasks: dict[str, TaskID] = {}

            def show(message: str, done: int | None = None, total: int | None = None) -> None:
                task = tasks.get(message)
                if task is None:
                    for other in tasks.values():
                        bar.update(other, visible=False)
                    task = tasks[message] = bar.add_task(message, total=total or None, unit="")
                bar.update(task, completed=done or 0, total=total or None, unit=unit_of(message) if total else "")

            yield show

    def emit(self, result, human: Callable[[], None]) -> None:
        """Print a result: as JSON with --json (models dumped, paths as text), else by calling `human` (quiet with -q)."""
        if self.as_json:

            def plain(value):
                return value.model_dump(mode="json") if hasattr(value, "model_dump") else value

            data = [plain(item) for item in result] if isinstance(result, list) else plain(result)
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
        except Exception as exc:
            info = describe(exc)
            path = bug_report(exc, kwargs.get("workspace"))
            info["traceback"] = str(path)
            info["message"] = f"internal error ({info['message']}); full traceback in {path}"
            _fail(info, as_json, 1)

    return wrapper


def _stop_on_broken_pipe() -> None:
    """The reader of a pipe stopped early (`icp-agent inspect-workspace | head`): not a bug; exit quietly with the
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
    workspace_option,
    click.option("--json", "as_json", is_flag=True, help="print the result as JSON"),
    click.option("--quiet", "-q", is_flag=True, help="no progress output"),
]


def with_common(func):
    """Add the options every command takes (--workspace, --json, --quiet) to a click command function."""
    for option in reversed(common):
        func = option(func)
    return func


server_options_list = [
    click.option(
        "--server",
        metavar="URL",
        help="talk to a running icp-agent MCP server (`icp-agent serve --http`, "
        "e.g. http://host:8000/mcp) instead of one in this process",
    ),
    click.option(
        "--token-env",
        default="ICP_AGENT_TOKEN",
        show_default=True,
        metavar="NAME",
        help="with --server: the environment variable holding the server's bearer token",
    ),
]


def server_options(func):
    """Add --server URL and --token-env to a command that can talk to a running MCP server (run, chat)."""
    for option in reversed(server_options_list):
        func = option(func)
    return func


def _server_parameters() -> list[click.Parameter]:
    """--server and --token-env as parameters of a command built without decorators (run)."""

    def holder() -> None:
        """Only carries the server options."""

    return list(reversed(server_options(holder).__click_params__))


def remote_server(url: str | None, token_env: str):
    """--server URL as the assistant's RemoteServer (its token from the variable --token-env names), or None."""
    if not url:
        return None
    from icp_agent.faces.assistant.connection import RemoteServer

    return RemoteServer.from_env(url, token_env)


def out_folder(out_dir: str) -> Path:
    """--out as a folder path; an existing file there is an ArgumentError (checked before any work)."""
    path = Path(out_dir).expanduser()
    if path.exists() and not path.is_dir():
        raise ArgumentError(f"--out {out_dir} is a file, not a folder", hint="pass a folder for the report files")
    return path


def report_folder(default: str = "icp-out", help_text: str = "folder for the report files") -> click.Option:
    """The --out option of the commands that write the document and the CRM files."""
    return click.Option(["--out", "out_dir"], default=default, show_default=True, type=click.Path(), help=help_text)


# --- one command per operation, generated from its options model (icp_agent.options) ------------------------


@dataclass
class Spec:
    """How the CLI shows one operation: what it prints for a person (`human(result)`; --json prints the result
    itself), options it adds (a report folder), whether it may create the workspace, and a runner when the
    command does more than call the operation (build-icp also writes the report folder)."""

    human: Callable[[Any], None] | None = None
    extra: Callable[[], list[click.Parameter]] = dataclass_field(default=list)
    create: bool = False
    run: Callable[..., Any] | None = None
    help: str = ""


def _call(ctx: Ctx, op: Operation, params: Any, extras: dict[str, Any]) -> Any:
    with ctx.progress() as progress:
        return op.function()(ctx.workspace, params, progress=progress)


def _build(ctx: Ctx, op: Operation, params: Any, extras: dict[str, Any]) -> Any:
    from icp_agent import toolkit

    out_path = out_folder(extras["out_dir"])
    with ctx.progress() as progress:
        icp = toolkit.build_icp(ctx.workspace, params, progress=progress)
        out_path.mkdir(parents=True, exist_ok=True)
        files = toolkit.write_icp_outputs(ctx.workspace, icp, out_path, progress)
    extras["report"] = f"report: {out_path.resolve()} ({', '.join(files)})"
    return icp


def _score(ctx: Ctx, op: Operation, params: Any, extras: dict[str, Any]) -> Any:
    from icp_agent import toolkit

    with ctx.progress() as progress:
        progress(f"scoring {Path(params.input_path).name}")
        return toolkit.score_prospects(ctx.workspace if extras["has_workspace"] else None, params, progress=progress)


SPECS: dict[str, Spec] = {
    "import_data": Spec(
        human=lambda r: print_import(r),
        create=True,
        help="PATH...: any mix of files and folders, or files named with flags. All or nothing: if "
        "one file cannot be read, nothing from this import is kept.",
    ),
    "inspect_workspace": Spec(
        human=lambda r: print_summary(r),
        help="Piped, one line per column: kind, header, field, role, type, % missing, examples, unparsed.",
    ),
    "set_field_roles": Spec(human=print_roles),
    "score_health": Spec(human=print_health),
    "find_patterns": Spec(human=print_patterns),
    "build_icp": Spec(
        human=lambda icp: print_icp(icp),
        extra=lambda: [report_folder()],
        run=_build,
        help="Earlier versions are kept; the report folder gets icp.json, the document and the scoring matrix.",
    ),
    "get_icp": Spec(human=lambda icp: print_icp(icp), help="--json prints the whole icp.json."),
    "list_icp_versions": Spec(human=print_versions),
    "get_evidence": Spec(
        human=print_evidence, help="Piped, one line per item: id, kind, n, statement, figures (JSON), query."
    ),
    "list_evidence": Spec(human=print_evidence_list),
    "get_persona_evidence": Spec(human=print_json),
    "fit_scorecard": Spec(human=print_scorecard),
    "validate_icp": Spec(human=print_validation),
    "score_prospects": Spec(
        human=print_scored,
        run=_score,
        help="Every row kept, with icp_tier, fit_score, priority, fit_reasons, disqualified_by.",
    ),
    "diff_icp_versions": Spec(human=lambda d: print_diff(d)),
    "query_workspace": Spec(human=print_query),
    "render_document": Spec(human=print_rendered),
}


def _common_parameters() -> list[click.Parameter]:
    def holder() -> None:
        """Only carries the common options."""

    return list(reversed(with_common(holder).__click_params__))


def operation_command(op: Operation) -> click.Command:
    """The command of one operation: its options generated from the operation's model, --workspace, --json and
    --quiet, the error boundary (exit 2 for a user problem, 1 for a bug)."""
    from icp_agent.faces import cli_options

    model = op.model()
    spec = SPECS.get(op.name, Spec())
    generated = cli_options.parameters(model)
    extra = spec.extra()

    @handle_errors
    def callback(workspace: str, as_json: bool, quiet: bool, **values: Any) -> None:
        context = click.get_current_context()
        extras = {p.name: values.pop(p.name) for p in extra if p.name}
        params = cli_options.given(model, values, context)
        if hasattr(params, "config"):
            params.config()  # the rules between analysis options: checked before anything is read
        if op.name == "score_prospects":
            has_workspace = Path(workspace).expanduser().exists()
            if params.icp_path is None and not has_workspace:
                raise missing_workspace(workspace, also="or score with a saved ICP: --icp icp.json")
            extras["has_workspace"] = has_workspace
            # with --icp a missing workspace is fine (nothing is read from it) and is never created
            ctx = Ctx(workspace, as_json, quiet, create=not has_workspace)
        else:
            ctx = Ctx(workspace, as_json, quiet, create=spec.create)
        result = (spec.run or _call)(ctx, op, params, extras)

        def human() -> None:
            (spec.human or print_json)(result)
            if extras.get("report"):
                out.print(extras["report"])

        ctx.emit(result, human)

    help_text = (
        op.summary
        + (f"\n\n{spec.help}" if spec.help else "")
        + f"\n\nThe {op.name} operation (the same name in the MCP server and the Python API)."
    )
    return click.Command(
        op.command,
        callback=callback,
        params=generated + extra + _common_parameters(),
        help=help_text,
        short_help=op.summary,
    )


# --- composite commands: several operations in one go -----------------------------------------------------------


def _run_parameters() -> list[click.Parameter]:
    """run and refresh: the import's options and the build's (generated from their models) and --out."""
    from icp_agent.faces import cli_options
    from icp_agent.options import AnalysisOptions, ImportOptions

    return cli_options.parameters(ImportOptions) + cli_options.parameters(AnalysisOptions) + [report_folder()]


def _run_inputs(values: dict[str, Any]) -> tuple[Any, Any]:
    """The import options and the build options a run or refresh was given (only those the user set)."""
    from icp_agent.faces import cli_options
    from icp_agent.options import AnalysisOptions, ImportOptions

    context = click.get_current_context()
    inputs = cli_options.given(ImportOptions, {k: values[k] for k in ImportOptions.model_fields}, context)
    options = cli_options.given(AnalysisOptions, {k: values[k] for k in AnalysisOptions.model_fields}, context)
    options.config()  # option combinations are checked before anything is imported
    return inputs, options


def _files(inputs: Any) -> dict[str, Any]:
    return {k: v for k, v in inputs.files().items() if k != "data_dir"}


def run_command() -> click.Command:
    """The click command `run: import the exports and build everything` (made when it is run, so --help stays light)."""

    @handle_errors
    def run(out_dir, assistant, model, budget, server, token_env, workspace, as_json, quiet, **values):
        from icp_agent import toolkit

        ctx = Ctx(workspace, as_json, quiet)
        inputs, options = _run_inputs(values)
        out_folder(out_dir)
        data_dir = inputs.data_dir
        if server and not assistant:
            raise ArgumentError("--server drives a running MCP server with the assistant", hint="add --assistant")
        if assistant:
            if data_dir and len(data_dir) > 1:
                raise ArgumentError(
                    "--assistant reads one folder: pass a single DATA_DIR",
                    hint="put the exports in one folder; the model imports it with import_data",
                )
            return run_with_assistant(
                ctx,
                data_dir[0] if data_dir else None,
                out_dir,
                model,
                budget,
                options,
                _files(inputs),
                remote_server(server, token_env),
            )
        if data_dir is None and not any(
            getattr(inputs, k) for k in ("customers", "deals", "subscriptions", "tickets", "events")
        ):
            raise ArgumentError(
                "nothing to import", hint="pass PATH (files or folders), or name the files with --customers/--deals ..."
            )
        with ctx.progress() as progress:
            result = toolkit.run(ctx.workspace, data_dir, out_dir, options=options, progress=progress, **_files(inputs))
        ctx.emit(result, lambda: print_run(result))

    params = (
        _run_parameters()
        + [
            click.Option(
                ["--assistant"],
                is_flag=True,
                help="let Claude run the phases and draft the prose (needs "
                "ANTHROPIC_API_KEY; offline templates otherwise)",
            ),
            click.Option(["--model"], envvar="ICP_AGENT_MODEL", help="the Claude model id (default: a current Sonnet)"),
            click.Option(
                ["--budget"],
                type=click.IntRange(1, 200),
                default=40,
                show_default=True,
                help="most tool calls the assistant may make",
            ),
            *_server_parameters(),
        ]
        + _common_parameters()
    )
    return click.Command(
        "run",
        callback=run,
        params=params,
        short_help=COMPOSITES["run"],
        help=(
            "Import the exports (PATH...: files and folders) and build everything: the ICP, its evidence, the document "
            "and the scoring matrix.\n\nOffline by default (prose from templates). With --assistant and "
            "ANTHROPIC_API_KEY set, Claude runs the method's phases through the same tools and drafts the prose; "
            "every claim is checked against the evidence."
        ),
    )


def run_with_assistant(ctx: Ctx, data_dir, out_dir, model, budget, options, inputs, server=None) -> None:
    """`run --assistant`: Claude drives the phases over the MCP server (in process, or --server); exits 2 on a user error."""
    from icp_agent.faces.assistant.orchestrator import run_assisted

    named = [f"--{name.replace('_file', '').replace('_', '-')}" for name, value in inputs.items() if value]
    if server is not None and data_dir is not None:
        raise ArgumentError(
            "with --server the server imports from its own data folder: pass no DATA_DIR",
            hint="start the server in the folder of exports (or with --data-root DIR)",
        )
    if named or (data_dir is None and server is None):
        raise ArgumentError(
            "--assistant reads a whole folder: pass DATA_DIR" + (f" instead of {', '.join(named)}" if named else ""),
            hint="put the exports in one folder; the model imports it with import_data",
        )
    with ctx.progress() as progress:
        result = run_assisted(
            None if server else ctx.workspace,
            data_dir,
            out_dir,
            server=server,
            model=model,
            budget=budget,
            options=options,
            progress=progress,
        )

    def human():
        out.print(f"assisted run with {result.model}: {result.status}" + (f" ({result.error})" if result.error else ""))
        out.print(
            f"  {result.tool_calls} tool calls; tokens: " + ", ".join(f"{k} {v:,}" for k, v in result.usage.items())
        )
        if result.dropped_claims:
            out.print(
                f"  {result.dropped_claims} drafted claims failed the grounding check and were dropped "
                f"(listed in the document)"
            )
        out.print(f"report: {Path(result.out_dir).resolve()}")
        for name in result.files:
            out.print(f"  {name}")

    ctx.emit(result, human)
    if result.status != "ok":
        sys.exit(1)


def refresh_command() -> click.Command:
    """The click command `refresh: import a newer snapshot, rebuild, compare` (made when it is run, so --help stays light)."""

    @handle_errors
    def refresh(out_dir, workspace, as_json, quiet, **values):
        from icp_agent import toolkit

        ctx = Ctx(workspace, as_json, quiet)
        inputs, options = _run_inputs(values)
        out_folder(out_dir)
        with ctx.progress() as progress:
            result = toolkit.refresh(
                ctx.workspace, inputs.data_dir, out_dir, options=options, progress=progress, **_files(inputs)
            )

        def human():
            print_import(result.imported)
            print_icp(result.icp)
            if result.diff:
                print_diff(result.diff)
            out.print(f"report: {Path(out_dir).resolve()} ({', '.join(result.files)})")

        ctx.emit(result, human)

    return click.Command(
        "refresh",
        callback=refresh,
        params=_run_parameters() + _common_parameters(),
        short_help=COMPOSITES["refresh"],
        help=(
            "Import a newer snapshot, rebuild the ICP as a new version and compare it with the previous one.\n\n"
            "The build uses the options the previous version was built with; the options given here replace them."
        ),
    )


def fields_command() -> click.Command:
    """The click command `fields: the canonical fields and their spellings` (made when it is run, so --help stays light)."""

    @click.command("fields", short_help=COMPOSITES["fields"])
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
        data = [
            {
                "field": f.name,
                "type": f.type,
                "role": f.role,
                "description": f.description,
                "synonyms": list(f.synonyms),
            }
            for f in FIELDS
        ]
        ctx.emit(
            data,
            lambda: print_table(
                ("field", "type", "role", "description", "headers"),
                [[f["field"], f["type"], f["role"], f["description"], ", ".join(f["synonyms"])] for f in data],
            ),
        )

    return fields


def chat_command() -> click.Command:
    """The click command `chat: talk to the ICP with Claude` (made when it is run, so --help stays light)."""

    @click.command("chat", short_help=COMPOSITES["chat"])
    @click.option(
        "--out",
        "out_dir",
        default="icp-out",
        show_default=True,
        type=click.Path(),
        help="folder /save writes the document to",
    )
    @click.option("--model", envvar="ICP_AGENT_MODEL", help="the Claude model id (default: a current Sonnet)")
    @workspace_option
    @server_options
    @handle_errors
    def chat(out_dir, model, workspace, server, token_env):
        """Talk to your ICP in the terminal ("which customers should we stop selling to?"); needs
        ANTHROPIC_API_KEY."""
        from icp_agent.faces.assistant.chat import chat_main
        from icp_agent.workspace import Workspace

        remote = remote_server(server, token_env)
        ws = None if remote else Workspace(workspace, create=False)
        sys.exit(chat_main(ws, out_dir=out_dir, model=model, server=remote))

    return chat


def serve_command() -> click.Command:
    """The click command `serve: the MCP server, with icp-agent-mcp's options` (made when it is run, so --help stays light)."""
    from icp_agent.faces.transports import serve_options  # click only: one set of options with icp-agent-mcp

    @click.command("serve", short_help=COMPOSITES["serve"])
    @serve_options
    def serve(**options):
        """Run the MCP server (stdio by default; --http for streamable HTTP at /mcp): the options of icp-agent-mcp."""
        from icp_agent.faces.transports import run

        run(**options)

    return serve


def demo_command() -> click.Command:
    """The click command `demo: the whole pipeline on the bundled demo company` (made when it is run, so --help stays light)."""

    @click.command("demo", short_help=COMPOSITES["demo"])
    @click.option(
        "--out",
        "out_dir",
        default="icp-demo",
        show_default=True,
        type=click.Path(),
        help="folder for the report files (its workspace is created inside it)",
    )
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
            out.print(f"  icp-agent list-icp-versions --workspace {where}")
            if result.icp and result.icp.evidence:  # icp.json's evidence[]: {"id", "kind", "statement", ...}
                out.print(
                    f"  icp-agent get-evidence --workspace {where} {result.icp.evidence[0].id}   (any id in icp.md)"
                )

        ctx.emit(result.model_dump(mode="json") | {"workspace": str(ctx.workspace.path)}, human)

    return demo


# --- the group: commands made when they are run (so `icp-agent --help` loads no analysis) --------------------

COMPOSITES = {
    "run": "Import the exports and build everything: ICP, evidence, document, scoring matrix.",
    "refresh": "Import a newer snapshot, rebuild the ICP and compare it with the previous version.",
    "demo": "Run the whole pipeline offline on the bundled demo company.",
    "chat": "Talk to your ICP in the terminal (needs ANTHROPIC_API_KEY).",
    "serve": "Run the MCP server (stdio, or --http).",
    "fields": "List the canonical fields, their types, roles and header spellings.",
}
COMPOSITE_COMMANDS: dict[str, Callable[[], click.Command]] = {
    "run": run_command,
    "refresh": refresh_command,
    "demo": demo_command,
    "chat": chat_command,
    "serve": serve_command,
    "fields": fields_command,
}
# the names before the operations had one name on every face: hidden, they say the new name and run it
RENAMED = {
    "import": "import-data",
    "inspect": "inspect-workspace",
    "roles": "set-field-roles",
    "build": "build-icp",
    "score": "score-prospects",
    "diff": "diff-icp-versions",
    "versions": "list-icp-versions",
    "evidence": "get-evidence",
}


class _Commands(_Group):
    """The commands: one per operation of `icp_agent.operations` (its name with dashes), then the composite
    ones. The list and `--help` come from the registry alone; a command is built (its options generated from
    the operation's model) only when it is run or its help is asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [op.command for op in OPERATIONS if op.cli] + list(COMPOSITES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in RENAMED:
            click.echo(
                f"note: `icp-agent {cmd_name}` is renamed `icp-agent {RENAMED[cmd_name]}` (the old name still works)",
                err=True,
            )
            cmd_name = RENAMED[cmd_name]
        op = next((op for op in OPERATIONS if op.cli and op.command == cmd_name), None)
        if op is not None:
            return operation_command(op)
        make = COMPOSITE_COMMANDS.get(cmd_name)
        return make() if make else None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Operations (the same names as the MCP tools, with dashes)"):
            formatter.write_dl([(op.command, op.summary) for op in OPERATIONS if op.cli])
        with formatter.section("Commands"):
            formatter.write_dl(list(COMPOSITES.items()))


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="icp-agent")
def main() -> None:
    """A data-backed Ideal Customer Profile from your own CRM exports."""


if __name__ == "__main__":
    main()
