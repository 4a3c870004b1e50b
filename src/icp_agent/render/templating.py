"""One jinja2 environment for every document template shipped in render/templates.

Autoescaping is chosen per template: `*.html.j2` escapes everything from the data (company
names and criteria come from customers' files); markdown templates pass every value from the
data through the `md` filter (or `md_cell`, `md_code`, `link_ids_md`), the one markdown escape. The filters
here are the one place numbers are formatted, so every document shows a rate, a lift or
a p-value the same way.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from contextvars import ContextVar
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from jinja2 import Environment, FileSystemBytecodeCache, PackageLoader, StrictUndefined, select_autoescape
from jinja2.bccache import Bucket
from markupsafe import Markup, escape
from pydantic import BaseModel

from icp_agent import numbers

EVIDENCE_ID = re.compile(r"\bE[0-9a-f]{8}\b")
PERCENT_KEYS = {
    "share",
    "rate",
    "base_rate",
    "churn_rate",
    "annual_churn",
    "win_rate",
    "good_rate",
    "nrr_median",
    "retained_12m",
    "detectable_rate",
    "precision",
    "recall",
    "accuracy",
    "penetration",
    "coverage",
}
CI_KEYS = {"ci_low", "ci_high"}
COUNT_KEYS = {"n", "k", "n_good", "n_bad", "win_rate_n", "censored", "events"}
RATIO_KEYS = {"lift", "ltv_cac"}
P_KEYS = {"p_value", "q_value", "p", "q"}
LABELS = {
    "n": "n",
    "k": "of which in the group",
    "share": "share",
    "health_mean": "mean health",
    "churn_rate": "churn rate",
    "annual_churn": "annual churn",
    "nrr_median": "median NRR",
    "cac_median": "median CAC",
    "arr_median": "median ARR",
    "starting_arr_median": "median starting ARR",
    "amount_median": "median deal size",
    "acv_median": "median ACV",
    "ltv_cac": "LTV:CAC",
    "win_rate": "win rate",
    "win_rate_n": "closed deals",
    "good_rate": "good rate",
    "n_good": "good",
    "n_bad": "bad",
    "base_rate": "base rate",
    "ci_low": "95% CI low",
    "ci_high": "95% CI high",
    "p_value": "p",
    "q_value": "q (BH)",
    "retained_12m": "retained at 12 months",
}
ACRONYMS = {"icp", "tam", "nrr", "auc", "cac", "ltv", "acv", "arr", "mrr", "nps", "csat", "id", "roc", "crm"}
METRIC_ORDER = (
    "n",
    "k",
    "share",
    "health_mean",
    "churn_rate",
    "annual_churn",
    "nrr_median",
    "ltv_cac",
    "win_rate",
    "good_rate",
    "rate",
    "base_rate",
    "lift",
    "ci_low",
    "p_value",
    "q_value",
    "cac_median",
    "arr_median",
    "starting_arr_median",
    "amount_median",
    "acv_median",
    "n_good",
    "n_bad",
)


# Money figures by key: the field whose currency they carry (cac_median is in the currency of cac).
MONEY_KEYS = {
    "cac_median": "cac",
    "arr_median": "arr",
    "starting_arr_median": "starting_arr",
    "acv_median": "acv",
    "amount_median": "amount",
    "mrr_median": "mrr",
    "cac": "cac",
    "acv": "acv",
    "arr": "arr",
    "amount": "amount",
    "ltv": "ltv",
    "mrr": "mrr",
}
# The currency symbol per money field while a document renders ("" is the dataset's own currency); set by
# render.document with `currency_symbols`, so every filter formats money the same way without a parameter.
# the default is read-only: a shared mutable default would leak one render's symbols into the next
SYMBOLS: ContextVar[Mapping[str, str]] = ContextVar("currency_symbols", default=MappingProxyType({}))


def symbol(field: str = "") -> str:
    """The currency symbol of a money field: its own, else the dataset's, else "$" (USD or unknown)."""
    table = SYMBOLS.get()
    return table.get(field) or table.get("") or "$"


def money(value: Any, field: str = "") -> str:
    """An amount with its currency: 37773.4 -> "$37,773", 1.2e6 -> "€1.2M" when the field is in EUR."""
    return numbers.money(value, symbol(field))


# the document's filters: icp_agent.numbers under the names the templates use
pct, lift, pval, num = numbers.percent, numbers.ratio, numbers.p_value, numbers.count


def humanize(key: str) -> str:
    """A metrics key in words, acronyms kept upright (win_rate -> win rate, tam_share -> TAM share)."""
    if key in LABELS:
        return LABELS[key]
    return " ".join(word.upper() if word in ACRONYMS else word for word in str(key).split("_"))


def sentence(text: str) -> str:
    """Upper-case the first letter only (jinja's capitalize lower-cases the rest: ICP would become Icp)."""
    return text[:1].upper() + text[1:]


def _rate_interval(context: Mapping[str, Any] | None) -> bool:
    """An interval is around a rate (a percentage) unless its siblings say it is around a mean or median."""
    return context is None or not ({"mean", "median"} & set(context)) or bool({"rate", "base_rate"} & set(context))


def metric(value: Any, key: str = "", context: Mapping[str, Any] | None = None) -> str:
    """Any figure from a metrics dict, formatted by what its key (and, for intervals, its siblings) say it
    measures."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(f"{humanize(k)} {metric(v, k, value)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ("; " if all(isinstance(v, str) for v in value) else ", ").join(metric(v, key) for v in value) or "none"
    if not isinstance(value, (int, float)):
        return str(value)
    if key in P_KEYS:
        return pval(value)
    if key in MONEY_KEYS:
        return money(value, MONEY_KEYS[key])
    if key in CI_KEYS:
        return pct(value) if _rate_interval(context) else metric(value, "mean")
    if key in PERCENT_KEYS or key.endswith("_rate") or key.endswith("_share"):
        return pct(value)
    if key in RATIO_KEYS:
        return lift(value)
    if key in COUNT_KEYS or isinstance(value, int) or value.is_integer():
        return num(value)
    return numbers.figure(value, one_decimal=key == "health_mean")


def _figures(metrics: Mapping[str, Any] | BaseModel) -> Mapping[str, Any]:
    """A metrics section (a tier's or a disqualifier's) as the keys icp.json holds; a plain dict as it is."""
    return metrics.model_dump() if isinstance(metrics, BaseModel) else metrics


def metric_items(metrics: Mapping[str, Any] | BaseModel, labels: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """The figures of a metrics dict or section as (label, text) in a reading order; win rate carries its deal
    count and the interval is one item. Text values are notes, not figures: see metric_notes. `labels` renames
    keys where the section knows better (n is "customers" in a tier)."""
    metrics = _figures(metrics)
    keys = [k for k in METRIC_ORDER if k in metrics] + [k for k in metrics if k not in METRIC_ORDER]
    out = []
    for key in keys:
        value = metrics[key]
        if (
            value is None
            or isinstance(value, str)
            or key == "win_rate_n"
            or (key == "ci_high" and metrics.get("ci_low") is not None)
        ):
            continue
        label, text = (labels or {}).get(key) or humanize(key), metric(value, key, metrics)
        if key == "win_rate" and metrics.get("win_rate_n"):
            label += f" ({num(metrics['win_rate_n'])} deals)"
        if key == "ci_low" and metrics.get("ci_high") is not None:
            label, text = "95% CI", f"{text}–{metric(metrics['ci_high'], key, metrics)}"
        out.append((label, text))
    return out


def metric_notes(metrics: Mapping[str, Any] | BaseModel) -> list[tuple[str, str]]:
    """Text values of a metrics dict or section ("win_rate_note": "not measurable: ..."), shown as sentences."""
    return [(humanize(k.removesuffix("_note")), v) for k, v in _figures(metrics).items() if isinstance(v, str)]


# Characters a markdown renderer (CommonMark, GFM, GitHub's math) gives meaning to inside a line: links and
# images ([ ] !), emphasis (* _ ~), code (`), tables (|), math ($), headings (#), escapes (\\).
MD_SPECIAL = re.compile(r"([\\`*_\[\]!|~$#])")
MD_LINE_START = re.compile(r"^(\s*)(\d*)([-+>=.)])")  # list, quote, setext underline, ordered list ("1.")


def md(text: Any) -> str:
    """Data as inert inline markdown: the one escape every markdown output uses (templates, the playbook).

    What a renderer would act on is shown as text instead: HTML tags (`<` as `&lt;`), images and links
    (`![x](http://...)`, `[click](javascript:...)`: brackets and `!` backslash-escaped), bare addresses that
    GFM turns into links (`http://` and `www.` broken by a backslash), emphasis, code, table pipes, and a
    list, quote or heading marker at the start. Line breaks become spaces: a value stays on its line."""
    text = re.sub(r"[\r\n\u2028\u2029]+", " ", str(text))
    text = MD_SPECIAL.sub(r"\\\1", text)
    text = text.replace("<", "&lt;")
    text = re.sub(r"(?i)\b([a-z][a-z0-9+.-]*):(?=//)", r"\1\\:", text)  # http://x -> http\://x: no autolink
    text = re.sub(r"(?i)\bwww\.", r"www\\.", text)
    return MD_LINE_START.sub(lambda m: m[0] if m[2] and m[3] not in ".)" else f"{m[1]}{m[2]}\\{m[3]}", text)


def md_cell(text: Any) -> str:
    """md() for a table cell (pipes are escaped by md already)."""
    return md(text)


def md_code(text: Any) -> str:
    """Data as inline code (a file name, a path): the backtick run is longer than any inside the text, so
    the value cannot close its own span; line breaks become spaces."""
    value = re.sub(r"[\r\n]+", " ", str(text))
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{ticks}{pad}{value}{pad}{ticks}"


def fence(text: str) -> str:
    """A code fence longer than any backtick run in the text, so a query cannot close its own block."""
    longest = max((len(run) for run in re.findall(r"`+", text or "")), default=0)
    return "`" * max(3, longest + 1)


def anchor_md(evidence_id: str) -> str:
    """The slug markdown renderers give the appendix heading `### E3f9a2c1d`."""
    return "#" + evidence_id.lower()


def link_ids_html(text: Any, known: set[str]) -> Markup:
    """Escaped prose with every known evidence id turned into a link to the appendix."""
    escaped = str(escape(text))
    return Markup(
        EVIDENCE_ID.sub(lambda m: f'<a class="cite" href="#{m[0]}">{m[0]}</a>' if m[0] in known else m[0], escaped)
    )


def link_ids_md(text: Any, known: set[str]) -> str:
    """`text` as Markdown with each known evidence id linked to its anchor; unknown ids stay plain text."""
    return EVIDENCE_ID.sub(lambda m: f"[{m[0]}]({anchor_md(m[0])})" if m[0] in known else m[0], md(text))


class _BytecodeCache(FileSystemBytecodeCache):
    """jinja2's on-disk cache of compiled templates, in its default per-user directory (mode 0700 in the system
    temp folder), keyed by template name and checked against the source's checksum, so an edited or upgraded
    template is compiled again. A cache that cannot be written is skipped: rendering never fails on it."""

    def dump_bytecode(self, bucket: Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def _bytecode_cache() -> FileSystemBytecodeCache | None:
    try:
        return _BytecodeCache()
    except (OSError, RuntimeError):  # no safe per-user temp folder: compile in memory, as without a cache
        return None


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The jinja2 environment of the document templates (cached): strict undefined, HTML templates autoescaped,
    the rendering filters registered. Each template is compiled once per process, and its compiled code is kept
    on disk between processes (`_BytecodeCache`): compiling the ICP document's two templates cost a CLI run
    about 0.2 s of CPU.
    """
    env = Environment(
        bytecode_cache=_bytecode_cache(),
        loader=PackageLoader("icp_agent.render", "templates"),
        undefined=StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
        keep_trailing_newline=True,
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False, default=False),
    )
    env.filters.update(
        money=money,
        pct=pct,
        lift=lift,
        pval=pval,
        num=num,
        humanize=humanize,
        sentence=sentence,
        metric=metric,
        metric_items=metric_items,
        metric_notes=metric_notes,
        md=md,
        md_cell=md_cell,
        md_code=md_code,
        fence=fence,
        anchor_md=anchor_md,
        link_ids_html=link_ids_html,
        link_ids_md=link_ids_md,
    )
    return env
