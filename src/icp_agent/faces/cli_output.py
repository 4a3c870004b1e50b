"""What the `icp-agent` commands print for a person (faces/cli.py holds the commands): one printer per
operation's result, the composite commands' reports, and the console helpers they share. Results go to
stdout and notes, progress and errors to stderr, through two rich Consoles made on first use (markup and
emoji off, so text from the data prints literally). Listings are tables fitted to the terminal; piped
(stdout not a terminal) they are plain tab-separated lines, a header line then one record per line (a tab,
newline or backslash inside a value is written \\t, \\n, \\\\), with the notes beside them on stderr. Only
click is imported here; rich when something is first printed, and the result models only for type checking,
so importing this module keeps `icp-agent --help` light.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from icp_agent import numbers

if TYPE_CHECKING:
    from icp_agent import toolkit


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

    def print(self, *objects, **options) -> None:
        """`Console.print`. A line of plain text to a stream that is no terminal is written as rich writes it
        (`write_plain`), without making the console: an import's summary, piped, cost 15-25 ms of rich's import."""
        stream = sys.stderr if self._options.get("stderr") else sys.stdout
        if self._console is None and write_plain(stream, objects, options):
            return
        self.real().print(*objects, **options)

    def __getattr__(self, name: str):
        return getattr(self.real(), name)


# settings with which rich takes a stream for a terminal whatever it is (https://force-color.org/)
_TERMINAL_SETTINGS = ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")


def write_plain(stream, objects: tuple, options: dict) -> bool:
    """Write `objects` to `stream` as the consoles here (markup, emoji and highlighting off, soft wrap) print them,
    when that is the text and a line break: one string of printable characters (no tab, line break or control
    character, which rich expands or strips) not ending in a space (rich strips that past the width), to a stream
    that is no terminal (rich draws no style there) with no setting that makes rich take it for one. Returns False,
    having written nothing, for anything else (the caller prints it through rich)."""
    if len(objects) != 1 or not isinstance(objects[0], str) or set(options) - {"markup"} or options.get("markup"):
        return False
    text = objects[0]
    if not text.isprintable() or text.endswith(" ") or "IPython" in sys.modules:
        return False
    if any(os.environ.get(name) is not None for name in _TERMINAL_SETTINGS):
        return False
    try:
        if stream.isatty():
            return False
    except (AttributeError, ValueError):
        return False
    stream.write(text + "\n")
    stream.flush()
    return True


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


def print_table(
    columns: Sequence[str], rows: Sequence[Sequence], *, title: str | None = None, truncate: Sequence[str] = ()
) -> None:
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


def print_icp(icp) -> None:
    """An ICP version for a reader: statement, tiers with their criteria and figures, disqualifiers."""
    out.print("")
    out.print(f"ICP {icp.id}: {icp.status}")
    out.print(icp.statement)
    for tier in icp.tiers:
        m = tier.metrics
        extra = f", churn {numbers.percent(m.churn_rate)}" if m.churn_rate is not None else ""
        out.print(
            f"  {tier.name}: {m.n or 0:,} ({numbers.percent(m.share or 0)}){extra}"
            f"{' [' + '; '.join(tier.flags) + ']' if tier.flags else ''}"
        )
    for d in icp.negative_icp:
        out.print(f"  exclude {' AND '.join(c.label for c in d.criteria)}: {d.reason}")
    if icp.min_support:
        out.print(f"  minimum support: {icp.min_support.reason}")


def print_roles(roles: dict[str, str]) -> None:
    """Every field and its role in force (fit, outcome, post_sale, id, ignore)."""
    print_table(("field", "role"), sorted(roles.items()))


def print_versions(rows: list) -> None:
    """The ICP versions as a table, oldest first: id, built at (UTC), data fingerprint, status."""
    print_table(
        ("version_id", "created_at", "status", "dataset_fingerprint"),
        [[r.version_id, r.created_at, r.status, r.dataset_fingerprint] for r in rows],
    )
    if not rows:
        note(
            "no ICP versions in this workspace yet: build one with `icp-agent build-icp` (after "
            "`icp-agent import-data DATA_DIR`) or `icp-agent run DATA_DIR`"
        )


def print_evidence(result) -> None:
    """get-evidence: per item its statement, figures and query; piped, one line per item: id, kind, n,
    statement, figures (JSON), query."""

    def figures(item) -> str:
        return json.dumps(item.metrics, ensure_ascii=False, default=str) if item.metrics else ""

    if not is_terminal():
        print_table(
            ("id", "kind", "n", "statement", "figures", "query"),
            [[i.id, i.kind, i.n, i.statement, figures(i), i.query] for i in result.items],
        )
        return
    for item in result.items:
        out.print(f"{item.id} ({item.kind}): {item.statement}")
        if item.metrics:
            out.print(f"  figures: {figures(item)}")
        if item.query:
            out.print(f"  query: {item.query}")


def print_evidence_list(result) -> None:
    """An ICP version's evidence items in brief: id, kind, n and statement."""
    note(f"ICP {result.version_id}: {len(result.items):,} evidence items (kinds: {', '.join(result.kinds)})")
    print_table(
        ("id", "kind", "n", "statement"),
        [[i.id, i.kind, i.n, i.statement] for i in result.items],
        truncate=("statement",),
    )


def print_health(health) -> None:
    """Phase 1: how good was defined, the cohorts and their figures."""
    out.print(f"good customers by {health.definition} ({health.entity}s): {health.description}")
    out.print(f"  {health.n:,} in all: {health.n_good:,} good, {health.n_bad:,} bad, {health.censored:,} censored")
    if health.cohort_sizes:
        out.print("  cohorts: " + ", ".join(f"{k} {v:,}" for k, v in health.cohort_sizes.items()))


def print_patterns(result) -> None:
    """Phase 2: the traits that over-index, with n, rate vs base, lift and q."""
    print_health(result.health)
    print_table(
        ("direction", "pattern", "n", "rate", "base rate", "lift", "q", "evidence"),
        [
            [
                p.direction,
                p.label,
                f"{p.n:,}",
                numbers.percent(p.rate),
                numbers.percent(p.base_rate),
                numbers.ratio(p.lift),
                numbers.p_value(p.q_value),
                p.evidence,
            ]
            for p in result.patterns
        ],
    )
    note(f"{len(result.patterns)} of {result.total} patterns ({result.status}); {result.note}")


def print_scorecard(card) -> None:
    """fit-scorecard: the status, the holdout AUC and each feature's points per bin (an icp_document.Scorecard)."""
    evaluation = card.evaluation
    auc = f", holdout AUC {numbers.auc(evaluation.auc)}" if evaluation and evaluation.auc is not None else ""
    out.print(f"lead score: {card.status}{auc}" + (f" ({card.reason})" if card.reason else ""))
    for feature in card.features:
        points = ", ".join(f"{b.label} {b.points:+g}" for b in feature.bins if isinstance(b.points, (int, float)))
        out.print(f"  {feature.name}: {points}")


def print_json(result) -> None:
    """A result as indented JSON on stdout (for results that have no table of their own)."""
    data = result.model_dump(mode="json") if hasattr(result, "model_dump") else result
    out.print(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def print_validation(result) -> None:
    """validate-icp: each unit-economics target (met / not met / not measurable), the backtest, the revenue
    check (an icp_document.Validation); the figures are in --json."""
    for target in result.unit_economics.targets if result.unit_economics else []:
        why = f" ({target.reason})" if target.reason else ""
        out.print(f"{target.target or target.metric}: {target.status}{why}")
    out.print(f"backtest on the newest customers: {result.backtest.status if result.backtest else None}")
    revenue = result.market.revenue_check if result.market else None
    if revenue and revenue.revenue_target is not None:
        out.print(f"revenue target {numbers.money(revenue.revenue_target, '')}: {revenue.status}")
    for warning in result.market.warnings if result.market else []:
        out.print(f"  warning: {warning}")
    note("the figures are in --json")


def print_query(result) -> None:
    """query-workspace's rows as a table, and whether they were cut at the row or size limit."""
    print_table(result.columns, result.rows)
    if result.truncated:
        note(f"truncated: {result.truncated_reason}")


def print_scored(result) -> None:
    """score-prospects' output file, its counts per tier and priority, and its warnings (values the ICP never saw,
    once per field)."""
    out.print(f"scored {result.rows:,} rows into {result.output}")
    out.print("  " + ", ".join(f"{k}: {v:,}" for k, v in result.by_tier.items()))
    out.print(f"  disqualified: {result.disqualified:,}")
    if result.missing_fields:
        out.print(
            f"  the file lacks {', '.join(result.missing_fields)}: those criteria cannot match "
            f"(listed per row in missing_fields)"
        )
    for line in getattr(result, "notes", None) or []:  # how a column was read: chosen, multi-valued, a location
        out.print(f"  {line}")
    for warning in getattr(result, "warnings", None) or []:  # once per field with values the ICP never saw
        out.print(f"  warning: {warning}")


def print_rendered(result) -> None:
    """The files render-document wrote."""
    out.print(f"ICP {result.version_id}: report in {result.out_dir}")
    for name in result.files:
        out.print(f"  {Path(name).name}")


def print_run(result) -> None:
    """run/refresh/demo: the import, the ICP and the files written."""
    print_import(result.imported)
    if result.icp:
        print_icp(result.icp)
        for warning in result.icp.warnings:
            if warning.startswith("CRM files:"):
                out.print(f"  warning: {warning}")
    out.print(f"report: {Path(result.out_dir).resolve()}")
    for name in result.files:
        out.print(f"  {name}")


def print_diff(d: dict) -> None:
    """Two versions compared: tier migration, PSI per field, patterns gained and lost, the recommendation."""
    out.print("")
    out.print(f"{d['old']} -> {d['new']}: {d['recommendation'].upper()} ({d['why']})")
    moved = d.get("migration", {})
    if "in_both" in moved or "customers_in_both" in moved:
        both = moved.get("in_both", moved.get("customers_in_both"))
        out.print(f"  {both:,} {moved.get('entity', 'customers')} in both; {moved['changed_tier']:,} changed tier")
    for field, v in d["fields"].items():
        if v["status"] != "stable":
            out.print(f"  {field}: PSI {numbers.divergence(v['psi'])} ({v['status']})")
    if "fit_score_psi" in d:
        out.print(f"  fit score: PSI {numbers.divergence(d['fit_score_psi']['psi'])} ({d['fit_score_psi']['status']})")
    for kind in ("weakened", "vanished", "appeared"):
        for p in d["patterns"][kind]:
            out.print(f"  {kind}: {p['pattern']} ({p['direction']})")
    backtest = d.get("old_icp_on_new_customers", {})
    out.print(f"  old ICP on new customers: {backtest.get('status')}")


def print_import(result: toolkit.ImportResult) -> None:
    """What an import did per file: kind, rows kept and rejected, furniture dropped, unreadable values, links."""
    for item in result.plan:
        read_as = f"; read as {item.read_as}" if item.read_as else ""
        out.print(f"{Path(item.path).name}: {item.kind} ({item.reason}{read_as})", markup=False)
    for skipped in result.skipped:
        out.print(f"{Path(skipped.path).name}: skipped ({skipped.reason})", markup=False)
    for report in result.reports:
        state = (
            "already imported, unchanged"
            if report.already_imported
            else (
                f"{report.rows_read:,} rows read, {report.rows_kept:,} kept, {report.rows_rejected:,} rejected, "
                f"{report.duplicates_dropped:,} exact duplicates dropped"
            )
        )
        out.print(f"  {report.kind}: {state}")
        if not report.already_imported:
            for rejected in report.rejected[:3]:
                raw = f": {rejected.raw[:80]!r}" if rejected.raw else ""
                out.print(f"  rejected row {rejected.row}: {rejected.reason}{raw}", markup=False)
            if report.rows_rejected > 3:
                out.print(f"  ... {report.rows_rejected - 3:,} more rejected rows (icp-agent inspect-workspace)")
        if report.furniture_dropped and not report.already_imported:
            shown = "; ".join(f"{f.kind}" + (f" {f.raw!r}" if f.raw else "") for f in report.furniture[:4])
            if len(report.furniture) > 4:  # the rest are in the stored report
                shown += f"; ... {len(report.furniture) - 4:,} more (icp-agent inspect-workspace --json)"
            out.print(
                f"  {report.kind}: {report.furniture_dropped:,} lines of report furniture dropped "
                f"(not records, not rejected): {shown}",
                markup=False,
            )
        for warning in report.warnings:
            out.print(f"  warning: {warning}")
        for column in report.columns:  # no value becomes missing silently
            if column.unparsed:
                out.print(
                    f"  {column.header!r}: {column.unparsed:,} value(s) could not be read as {column.type} "
                    f"(e.g. {'; '.join(column.unparsed_examples)}): stored as missing",
                    markup=False,
                )
            if column.mapped_values:
                out.print(
                    f"  {column.header!r}: labels stored as the mapping file's [values.{column.field}] says: "
                    + "; ".join(column.mapped_values),
                    markup=False,
                )
            if len(column.currencies) > 1:
                out.print(
                    f"  {column.header!r}: currencies "
                    + ", ".join(f"{c} {n:,}" for c, n in column.currencies.items())
                    + (f" ({column.note})" if column.note else ""),
                    markup=False,
                )
    if result.interviews:
        out.print(f"  interviews: {result.interviews['documents']} notes")
        for name in result.interviews["contains_instructions"]:
            out.print(f"  note: {name} contains text addressed to an AI; it is treated as data, never obeyed")
    for link in result.links:
        if link.accounts is not None:  # subscriptions, tickets, events: rows per account
            out.print(
                f"  {link.kind} linked by {link.linked_by or 'nothing shared'}: {link.linked:,} of {link.rows:,} rows"
                # a second key links the rows the first left unlinked: rows per key
                + (f" ({', '.join(f'{n:,} by {k}' for k, n in link.tried.items())})" if len(link.tried) > 1 else "")
                + f"; {link.unlinked_accounts:,} of {link.accounts:,} accounts not in the accounts file"
                + (
                    f" (e.g. {', '.join(str(e['account']) for e in link.unlinked_examples[:3])})"
                    if link.unlinked_accounts
                    else ""
                )
            )
            continue
        out.print(
            f"  {link.kind} linked by {link.method or link.linked_by or 'nothing shared'}: {link.linked:,} of "
            f"{link.rows:,} ({link.standalone:,} carry their own firmographics, {link.unlinked:,} link to nothing)"
        )
        for note in link.notes + ([f"likely cause: {link.cause}"] if link.cause else []):
            out.print(f"    {note}")


INSPECT_COLUMNS = ("header", "field", "role", "type", "% missing", "examples", "unparsed")


def print_summary(summary) -> None:
    """inspect's listing: a table per kind on a terminal; piped, one table with the kind as first column."""
    note(f"workspace {summary.workspace} (schema v{summary.schema_version})")
    if not summary.current:
        note("it holds no imports yet: run `icp-agent import-data DATA_DIR` (or `icp-agent run DATA_DIR`)")
    tty = is_terminal()
    records = []
    for kind, report in summary.current.items():
        rows = [
            [
                c.header,
                c.field,
                summary.roles.get(c.field, c.role),
                c.type,
                numbers.percent(c.pct_missing / 100),
                ", ".join(c.examples),
                f"{c.unparsed:,}" if c.unparsed else "",
            ]
            for c in report.columns
        ]
        title = (
            f"{kind}: {report.file_name} ({report.rows_kept:,} rows, {report.rows_rejected:,} rejected, "
            f"{report.duplicates_dropped:,} duplicates dropped)"
        )
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
        note(
            f"fit fields the prospect list lacks (check a seller knows them before the sale, or set their "
            f"role with `icp-agent set-field-roles`): {', '.join(summary.not_in_prospects)}"
        )
