"""Value normalisers, as DuckDB SQL expressions over a VARCHAR column.

Every normaliser is SQL so a million-row import never materialises Python objects per
row. Each function takes a SQL expression and returns one; `null_if_missing` runs first
everywhere, so "n/a", "-", "" and friends are missing in every type. A value that is
present but does not parse becomes NULL and is reported by the importer (it never
silently turns into zero). Amounts with currencies, scales and locale separators are the
exception: `parse_amount` reads them in Python, registered as a DuckDB UDF and applied to
each column's distinct values only (see the amount section below).
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import weakref
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from icp_agent.sql import sql_literal

MISSING_MARKERS = (
    "",
    "n/a",
    "na",
    "n.a.",
    "-",
    "--",
    "—",
    "null",
    "none",
    "nan",
    "#n/a",
    "?",
    "??",
    "???",
    "unknown",
    "not available",
)
_MARKERS_SQL = ", ".join("'" + m.replace("'", "''") + "'" for m in MISSING_MARKERS)
SMALL_WORDS = ("and", "of", "the", "for", "in", "on", "at", "to", "a", "an", "or", "with", "by")
_SMALL_SQL = ", ".join(f"'{w}'" for w in SMALL_WORDS)
# Booleans in the languages exports come in (English, German, French, Spanish, Italian, Dutch, Portuguese).
TRUE_TOKENS = (
    "true",
    "yes",
    "y",
    "t",
    "1",
    "ja",
    "j",
    "wahr",
    "oui",
    "vrai",
    "sí",
    "si",
    "sì",
    "verdadero",
    "vero",
    "sim",
    "waar",
)
# A ticked box as people type or sheets export it: yes. In a column of only marks and blanks (a checkbox column,
# `is_checkbox`) a blank is an unticked box, no; elsewhere a blank stays missing.
CHECK_MARKS = ("x", "✓", "✔", "☑", "✅", "☒", "*")
FALSE_TOKENS = ("false", "no", "n", "f", "0", "nein", "falsch", "non", "faux", "falso", "não", "nao", "nee", "onwaar")
# Spellings that mean "no value" in every type. Words such as "unknown" are missing in a category but
# *unreadable* in a number, date or yes/no column: the importer counts them there (STRICT_MISSING). A "?" is
# someone saying they do not know: missing everywhere.
STRICT_MISSING = tuple(m for m in MISSING_MARKERS if m != "unknown")
_STRICT_SQL = ", ".join("'" + m.replace("'", "''") + "'" for m in STRICT_MISSING)


def one_of(expr: str, values: Iterable[str]) -> str:
    """SQL: TRUE when `expr` equals one of the constant `values`, else FALSE (NULL too, unlike IN).

    Written as `list_position` over a constant list. Not `IN (...)` nor `list_contains`, which DuckDB rewrites into
    it: an IN list of more than a few constants becomes a hash (mark) join, which costs more than the comparisons and
    does not keep the rows' order, so a statement that must keep the file's order would need a full sort after it.
    Nor `CASE expr WHEN ...`: DuckDB evaluates `expr` again for each WHEN (0.24 s of CPU per 1M short values for the
    16 missing markers, against 0.02 s this way)."""
    listed = ", ".join(sql_literal(v) for v in values)
    return f"(list_position([{listed}], {expr}) IS NOT NULL)"


# No marker is longer than this (in characters): a longer value is no marker, and skips the comparisons. lower()
# maps each character to one character, so the trimmed value's length is its lower-cased form's.
_LONGEST_MARKER = max(len(m) for m in MISSING_MARKERS)


def trimmed(expr: str) -> str:
    """`trim(expr)` (spaces and the other Unicode space separators off both ends), calling trim only where it can
    change the value: DuckDB's trim copies every value, 0.05 s of CPU per 1M values against 0.02 s for the test.

    A value of ASCII characters only (as many bytes as characters) that neither starts nor ends with a space is
    returned as it is: the space is the one ASCII character trim removes (tabs and line breaks stay)."""
    return (
        f"(CASE WHEN starts_with({expr}, ' ') OR ends_with({expr}, ' ') OR strlen({expr}) <> length({expr}) "
        f"THEN trim({expr}) ELSE {expr} END)"
    )


def null_if_missing(expr: str) -> str:
    """Trimmed text, NULL for a blank or a missing marker ("n/a", "-", "null", "unknown", ...).

    A value longer than every marker (a name, a website) is kept with no comparison: 0.11 against 0.07 s of CPU
    per 1M such values."""
    return _null_if_missing(expr, f"trim({expr})")


def _null_if_missing(expr: str, trimmed_expr: str) -> str:
    """`null_if_missing` given the SQL of `expr` trimmed (`trim(...)`, or `trimmed` in a statement over every row)."""
    markers = one_of(f"lower({trimmed_expr})", MISSING_MARKERS)
    return (
        f"(CASE WHEN length({trimmed_expr}) > {_LONGEST_MARKER} THEN {trimmed_expr} "
        f"WHEN {markers} THEN NULL ELSE {trimmed_expr} END)"
    )


def strictly_missing(expr: str) -> str:
    """True when a value is blank or a blank-like marker ("n/a", "-", "null"), not a word like "unknown"."""
    return f"({one_of(f'lower(trim({expr}))', STRICT_MISSING)} OR {expr} IS NULL)"


def _bound(value: str, body: str) -> str:
    """`body` over `value` computed once: `_icp_v` in `body` names it (a one-element list_transform binds it)."""
    return f"list_transform([{value}], lambda _icp_v: {body})[1]"


_TEXT_BODY = (
    "CASE WHEN contains(_icp_v, '  ') OR contains(_icp_v, chr(9)) "
    "THEN regexp_replace(_icp_v, '[ \\t]+', ' ', 'g') ELSE _icp_v END"
)


def text(expr: str) -> str:
    """Trimmed text with runs of spaces and tabs collapsed; line breaks and letter case are kept (notes stay intact).

    The regular expression runs only on values with two spaces or a tab (the rest are already collapsed).
    """
    return _bound(null_if_missing(expr), _TEXT_BODY)


def _spaced_key(expr: str, *, markers: bool = True) -> str:
    """The key's words: lower case, "_" a space, "&" "and", runs of spaces one ("computer software")."""
    value = null_if_missing(expr) if markers else f"CAST({expr} AS VARCHAR)"
    cleaned = f"lower(replace(replace({value}, '_', ' '), '&', ' and '))"
    return f"trim(regexp_replace({cleaned}, '\\s+', ' ', 'g'))"


# What a category's key ignores besides letter case: spaces, underscores and hyphens ("Fin Tech" = "FinTech",
# "Health Care" = "Healthcare", "E-commerce" = "eCommerce", "Non-profit" = "Nonprofit"). Other punctuation
# stays: "C++" and "C#" are not "C".
_KEY_GAPS = "[\\s_-]+"


def category_key(expr: str, *, markers: bool = True) -> str:
    """Spelling-insensitive key: "COMPUTER_SOFTWARE" = "Computer Software" = "computer  software" =
    "ComputerSoftware", "Fin Tech" = "FinTech", "Marketing & Advertising" = "marketing and advertising" (case,
    spaces, underscores and hyphens aside). `markers=False` skips turning "n/a" and the like into NULL (a
    criterion's comparison, where such a value can never equal a criterion value)."""
    value = null_if_missing(expr) if markers else f"CAST({expr} AS VARCHAR)"
    return f"regexp_replace(lower(replace({value}, '&', ' and ')), {sql_literal(_KEY_GAPS)}, '', 'g')"


def category_key_text(value: object) -> str:
    """`category_key` in Python, for a constant (a scorecard bin's value as a MAP key)."""
    return re.sub(_KEY_GAPS, "", str(value).replace("&", " and ").lower())


ACRONYMS = (
    "usa",
    "uk",
    "us",
    "uae",
    "eu",
    "it",
    "hr",
    "ai",
    "saas",
    "b2b",
    "b2c",
    "crm",
    "erp",
    "aws",
    "gcp",
    "seo",
    "cpg",
    "ngo",
    "emea",
    "apac",
    "latam",
    "hq",
    "llc",
    "gmbh",
    "nyc",
)
_ACRONYMS_SQL = ", ".join(f"'{a}'" for a in ACRONYMS)


def category(expr: str, shown: Iterable[str] = ()) -> str:
    """Readable display form derived from the key alone, so every file agrees on it.

    Words are capitalised, joining words stay lower case, known acronyms upper case:
    "COMPUTER_SOFTWARE" and "computer software" both become "Computer Software". `shown`: spellings
    already in use (an ICP's criterion values, as the import stored them): a value with the same key
    takes that spelling, so "hubspot" in a scored file matches the criterion value "HubSpot".
    """
    key = category_key(expr)
    words = _spaced_key(expr)
    word = (
        "CASE WHEN i > 1 AND w IN (" + _SMALL_SQL + ") THEN w "
        "WHEN w IN (" + _ACRONYMS_SQL + ") THEN upper(w) "
        "ELSE upper(w[1]) || w[2:] END"
    )
    readable = (
        f"(CASE WHEN {key} IS NULL OR {key} = '' THEN NULL ELSE "
        f"array_to_string(list_transform(string_split({words}, ' '), lambda w, i: {word}), ' ') END)"
    )
    known = sorted({str(v) for v in shown if v is not None})
    if not known:
        return readable
    cases = " ".join(f"WHEN {category_key(sql_literal(v))} THEN {sql_literal(v)}" for v in known)
    return f"(CASE {key} {cases} ELSE {readable} END)"


# An approximate figure is read as the figure ("~55", "≈ 55", "approx. 55", "ca. 55", "about 55", "etwa 55",
# "environ 55", "aprox. 55"): a count or amount written loosely is still the best value there is. A word needs a dot
# or a space after it, so that "CA$50" stays Canadian dollars. One pattern for Python and DuckDB's RE2.
APPROXIMATE = (
    "(?i)^\\s*(?:~|≈|(?:approx|approximately|appr|ca|circa|about|around|roughly|est|estimated|etwa|ungefähr|rund"
    "|environ|env|aprox|aproximadamente)(?:\\.|\\s))\\s*"
)
_APPROXIMATE_RE = re.compile(APPROXIMATE)
# ... or after it, as people type it in a sheet: "5ish", "5-ish", "20 ish" (only right after a figure)
APPROXIMATE_AFTER = "(?i)(\\d(?:\\s*(?:k|mm|m|bn|b))?)\\s*-?\\s*ish\\s*$"
_APPROXIMATE_AFTER_RE = re.compile(APPROXIMATE_AFTER)


def without_approximation(expr: str) -> str:
    """SQL: the text of `expr` without a leading or trailing approximation ("~55" -> "55", "ca. 1,200" -> "1,200",
    "5ish" -> "5")."""
    leading = f"regexp_replace({expr}, {sql_literal(APPROXIMATE)}, '')"
    return f"regexp_replace({leading}, {sql_literal(APPROXIMATE_AFTER)}, '\\1')"


def _number_core(expr: str) -> str:
    """Digits, sign and decimal point of a money/number string, with k/m/b multipliers applied.

    Each step's text is bound once (`_let`) and read by name in the next: this runs inside lambdas (`number`,
    `band`), where DuckDB does not share repeated subexpressions, and written out in full the steps repeated
    their inputs' regular expressions up to seven times per value."""
    raw = f"lower({null_if_missing(expr)})"
    stripped = f"regexp_replace({raw}, '[\\s$€£¥]|usd|eur|gbp|chf', '', 'g')"
    negative = "regexp_matches(num_s, '^\\(.*\\)$')"
    unwrapped = "regexp_replace(num_s, '^\\((.*)\\)$', '\\1')"
    multiplier = (
        "(CASE WHEN regexp_matches(num_u, '(bn|b)$') THEN 1e9 "
        "WHEN regexp_matches(num_u, '(mm|m)$') THEN 1e6 "
        "WHEN regexp_matches(num_u, 'k$') THEN 1e3 ELSE 1 END)"
    )
    body = "regexp_replace(num_u, '(bn|mm|b|m|k)$', '')"
    european = "regexp_matches(num_b, '^-?\\d{1,3}(\\.\\d{3})+(,\\d+)?$|^-?\\d+,\\d{1,2}$')"
    digits = f"(CASE WHEN {european} THEN replace(replace(num_b, '.', ''), ',', '.') ELSE replace(num_b, ',', '') END)"
    value = _let(body, "num_b", f"TRY_CAST({digits} AS DOUBLE)")
    scaled = _let(unwrapped, "num_u", f"{multiplier} * {value}")
    return _let(stripped, "num_s", f"(CASE WHEN {negative} THEN -1 ELSE 1 END) * {scaled}")


def number(expr: str) -> str:
    """ "1,250" -> 1250, "$1,200.00" -> 1200, "€1.200,50" -> 1200.5, "$5k" -> 5000, "(300)" -> -300."""
    pattern = (
        "^\\(?[-+]?[\\s$€£¥]*[\\d.,]+\\s*(k|m|mm|b|bn)?\\)?$|^(usd|eur|gbp|chf)\\s*[\\d.,]+$"
        "|^[\\d.,]+\\s*(usd|eur|gbp|chf)$"
    )
    body = f"CASE WHEN regexp_matches(lower(num_v), {sql_literal(pattern)}) THEN {_number_core('num_v')} ELSE NULL END"
    return _let(f"trim({without_approximation(expr)})", "num_v", body)


def _let(value: str, var: str, body: str) -> str:
    """Evaluate `value` once and use it as `var` in `body` (SQL has no local variables; a lambda is one)."""
    return f"list_transform([{value}], lambda {var}: {body})[1]"


def percent(expr: str) -> str:
    """ "15%" -> 0.15; a bare number above 3 is read as percent points (115 -> 1.15)."""
    body = (
        "CASE WHEN contains(pct_raw, '%') THEN pct_num / 100 WHEN abs(pct_num) > 3 THEN pct_num / 100 ELSE pct_num END"
    )
    inner = _let(number("replace(pct_raw, '%', '')"), "pct_num", body)
    return _let(null_if_missing(expr), "pct_raw", inner)


_RANGE = "^([\\d.,]+\\s*[km]?)\\s*(?:-|–|to)\\s*([\\d.,]+\\s*[km]?)$"
_OPEN_UP = "^(?:>=?|over|more than)?\\s*([\\d.,]+\\s*[km]?)\\s*(?:\\+|or more|and above)$"
_OPEN_UP_WORDS = "^(?:>=?|over|more than)\\s*([\\d.,]+\\s*[km]?)$"
_OPEN_DOWN = "^(?:<=?|under|less than|fewer than|up to)\\s*([\\d.,]+\\s*[km]?)$"


def _band_bounds(expr: str, body: str) -> str:
    """Bind `band_lo` / `band_hi` (text, '' when absent, NULL when missing) and evaluate `body`."""
    bounds = (
        f"CASE WHEN regexp_matches(band_v, {sql_literal(_RANGE)}) THEN "
        f"[regexp_replace(band_v, {sql_literal(_RANGE)}, '\\1'), regexp_replace(band_v, {sql_literal(_RANGE)}, '\\2')] "
        f"WHEN regexp_matches(band_v, {sql_literal(_OPEN_UP)}) THEN [regexp_replace(band_v, {sql_literal(_OPEN_UP)}, '\\1'), ''] "
        f"WHEN regexp_matches(band_v, {sql_literal(_OPEN_UP_WORDS)}) THEN "
        f"[regexp_replace(band_v, {sql_literal(_OPEN_UP_WORDS)}, '\\1'), ''] "
        f"WHEN regexp_matches(band_v, {sql_literal(_OPEN_DOWN)}) THEN ['0', regexp_replace(band_v, {sql_literal(_OPEN_DOWN)}, '\\1')] "
        f"ELSE [band_v, band_v] END"
    )
    return _let(_band_text(expr), "band_v", _let(bounds, "band_b", body))


# "10,001+ employees", "201-500 Mitarbeiter": the unit word says nothing the field name does not
_BAND_UNIT = "\\s*(employees?|emps?|staff|people|persons|mitarbeiter(innen)?|salari[ée]s|empleados|dipendenti)$"
_ONE_PERSON = "^(self[- ]?employed|sole (proprietor|trader)|freelancer?|solo|just me|1 person)$"


def _band_text(expr: str) -> str:
    """Lower-cased band text without its unit word or an approximation ("~55 employees" -> "55"); a one-person
    company ("Self-employed") reads as 1."""
    v = f"lower({null_if_missing(expr)})"
    unitless = f"regexp_replace({v}, {sql_literal(_BAND_UNIT)}, '')"
    return (
        f"(CASE WHEN regexp_matches({v}, {sql_literal(_ONE_PERSON)}) THEN '1' "
        f"ELSE trim({without_approximation(unitless)}) END)"
    )


def band_min(expr: str) -> str:
    """Lower bound of a value that may be a range ("51-200" -> 51, "10001+" -> 10001, "<10" -> 0)."""
    return _band_bounds(expr, number("band_b[1]"))


def band_max(expr: str) -> str:
    """Upper bound (NULL when open-ended, as in "10001+")."""
    return _band_bounds(expr, number("band_b[2]"))


def band(expr: str) -> str:
    """All of a band at once, {min, max, exact}: one regex pass instead of three."""
    # a negative size is unreadable (NULL, counted by the importer), not a band
    low, high = (
        f"(CASE WHEN starts_with(band_v, '-') THEN NULL ELSE {number(b)} END)" for b in ("band_b[1]", "band_b[2]")
    )
    body = (
        f"list_transform([[{low}, {high}]], lambda band_n: "
        f"struct_pack(min := band_n[1], max := band_n[2], "
        f"exact := CASE WHEN band_b[1] = band_b[2] THEN band_n[1] END))[1]"
    )
    return _band_bounds(expr, body)


def band_is_range(expr: str) -> str:
    """SQL: true when a band value's low and high bounds differ (a range, not a single value)."""
    return _band_bounds(expr, "band_b[1] <> band_b[2]")


def boolean(expr: str, *, blank_is_no: bool = False) -> str:
    """yes/no in the languages exports come in (TRUE_TOKENS, FALSE_TOKENS) and ticked boxes (CHECK_MARKS: yes);
    anything else is NULL. With `blank_is_no` (a checkbox column) a blank value is FALSE."""
    # one CASE over the value bound once (an IN list would become a join: see one_of)
    whens = " ".join(
        [f"WHEN {sql_literal(t)} THEN TRUE" for t in (*TRUE_TOKENS, *CHECK_MARKS)]
        + [f"WHEN {sql_literal(t)} THEN FALSE" for t in FALSE_TOKENS]
    )
    read = _bound(f"lower({null_if_missing(expr)})", f"CASE _icp_v {whens} ELSE NULL END")
    return f"(CASE WHEN coalesce(trim({expr}), '') = '' THEN FALSE ELSE {read} END)" if blank_is_no else read


def relabel(expr: str, labels: dict[str, str]) -> str:
    """SQL: `expr` with the mapping file's labels applied (`[values.FIELD]`: raw label -> stored label, matched by
    category_key), other values as they are; for the types read per value (yes/no)."""
    if not labels:
        return expr
    whens = " ".join(f"WHEN {sql_literal(category_key_text(k))} THEN {sql_literal(v)}" for k, v in labels.items())
    return f"(CASE {category_key(expr, markers=False)} {whens} ELSE {expr} END)"


def is_checkbox(values_sql: str) -> str:
    """SQL over `values_sql` (rows with a VARCHAR `raw`): TRUE when its present values are all CHECK_MARKS (at least
    one), so a blank means an unticked box."""
    mark = one_of("lower(trim(raw))", CHECK_MARKS)
    return (
        f"SELECT count(*) FILTER ({mark}) > 0 AND count(*) FILTER (coalesce(trim(raw), '') <> '' AND NOT {mark}) = 0 "
        f"FROM ({values_sql})"
    )


DATE_ORDERS = ("ymd", "mdy", "dmy")
# day, month and year in either order, the year in four digits or two ("3/5/24", Excel's US short date; 00-68 are
# 2000-2068, 69-99 1969-1999, as Python's %y reads them)
_SLASHED = "^\\s*(\\d{1,2})[/.-](\\d{1,2})[/.-](\\d{4}|\\d{2})(?:\\D|$)"
# A column whose values prove both orders (people typed it): the majority's order, then the other where a value
# can only be read so ("17/05/2025" in a month-first column). `date` takes these as its order.
MIXED_ORDERS = {"dmy": "dmy+mdy", "mdy": "mdy+dmy"}


_MONTH_FORMATS = (
    "%B %d, %Y",
    "%b %d, %Y",
    "%B %d %Y",
    "%b %d %Y",
    "%d %B %Y",
    "%d %b %Y",
    "%d-%b-%y",
    "%d-%b-%Y",
    "%d-%B-%Y",
    "%d %b %y",
    "%b %d, %y",
    "%a, %d %b %Y",
    "%A, %B %d, %Y",
)
_FORMATS_SQL = "[" + ", ".join(sql_literal(f) for f in _MONTH_FORMATS) + "]"
SERIAL_RANGE = (20000, 60000)  # spreadsheet day numbers: 1954-10-03 .. 2064-04-08


def date(expr: str, order: str | None, *, cleaned: bool = False) -> str:
    """A date from the forms exports use; d/m/y or m/d/y strings need the column's detected or declared order
    ("mdy", "dmy", or MIXED_ORDERS' "dmy+mdy": day first, month first where only that reads).

    ISO dates (with a time and a zone too: the date as written is kept), month names (`May 1, 2023`,
    `1-May-23`, `01 May 2023`), epoch seconds (9-10 digits) and milliseconds (12-13 digits), and
    spreadsheet serial day numbers (20000-60000, days since 1899-12-30, the 1900 date system as Excel
    and Google Sheets write it). Numbers are only read as dates here, in a column already typed date.
    `cleaned`: `expr` is already `null_if_missing`'s value (a variable `_bound` binds it to), not cleaned again.
    """
    v = expr if cleaned else null_if_missing(expr)
    iso_part = f"regexp_extract({v}, '^(\\d{{4}})[-/.](\\d{{1,2}})[-/.](\\d{{1,2}})([T ]\\d|$)', ['y', 'm', 'd'])"
    iso = (
        f"list_transform([{iso_part}], lambda p: CASE WHEN p.y = '' THEN NULL ELSE "
        f"TRY_CAST(p.y || '-' || lpad(p.m, 2, '0') || '-' || lpad(p.d, 2, '0') AS DATE) END)[1]"
    )
    digits = (
        f"TRY_CAST(CASE WHEN regexp_matches({v}, '^\\d{{5}}$|^\\d{{9,10}}$|^\\d{{12,13}}$') THEN {v} END AS BIGINT)"
    )
    numeric = (
        f"list_transform([{digits}], lambda n: CASE "
        f"WHEN n BETWEEN {SERIAL_RANGE[0]} AND {SERIAL_RANGE[1]} THEN DATE '1899-12-30' + CAST(n AS INTEGER) "
        f"WHEN n BETWEEN 100000000 AND 9999999999 THEN CAST(make_timestamp(n * 1000000) AS DATE) "
        f"WHEN n BETWEEN 100000000000 AND 9999999999999 THEN CAST(make_timestamp(n * 1000) AS DATE) END)[1]"
    )
    words = f"CAST(try_strptime(regexp_replace({v}, '(\\d)(st|nd|rd|th)\\b', '\\1'), {_FORMATS_SQL}) AS DATE)"
    base = f"coalesce({iso}, {numeric}, {words})"
    orders = order.split("+") if order else []
    if not orders or not set(orders) <= {"mdy", "dmy"}:
        return base
    part = lambda k: f"regexp_extract({v}, {sql_literal(_SLASHED)}, {k})"  # noqa: E731 - a local shorthand
    year = (
        f"(CASE WHEN length({part(3)}) = 2 THEN CAST(CAST({part(3)} AS INTEGER) + "
        f"CASE WHEN CAST({part(3)} AS INTEGER) < 69 THEN 2000 ELSE 1900 END AS VARCHAR) ELSE {part(3)} END)"
    )
    reading = {
        o: f"TRY_CAST({year} || '-' || lpad({part(month)}, 2, '0') || '-' || lpad({part(day)}, 2, '0') AS DATE)"
        for o, (month, day) in (("mdy", (1, 2)), ("dmy", (2, 1)))
        if o in orders
    }
    slashed = reading[orders[0]]
    if len(orders) > 1:  # a mixed column; a dotted value in it is day first, as dots are wherever they separate a date
        dotted = f"regexp_matches({v}, '^\\s*\\d{{1,2}}\\.\\d{{1,2}}\\.')"
        slashed = (
            f"(CASE WHEN {dotted} THEN coalesce({reading['dmy']}, {reading['mdy']}) "
            f"ELSE coalesce({reading[orders[0]]}, {reading[orders[1]]}) END)"
        )
    return f"(CASE WHEN regexp_matches({v}, {sql_literal(_SLASHED)}) THEN {slashed} ELSE {base} END)"


def date_order_evidence(expr: str) -> tuple[str, str, str]:
    """SQL counts of values proving m/d/y (second part > 12), d/m/y (first part > 12), and slashed values."""
    v = null_if_missing(expr)
    first = f"TRY_CAST(regexp_extract({v}, {sql_literal(_SLASHED)}, 1) AS INTEGER)"
    second = f"TRY_CAST(regexp_extract({v}, {sql_literal(_SLASHED)}, 2) AS INTEGER)"
    return (
        f"count_if({second} > 12)",
        f"count_if({first} > 12)",
        f"count_if(regexp_matches({v}, {sql_literal(_SLASHED)}))",
    )


def text_list(expr: str, shown: Iterable[str] = ()) -> str:
    """ "Salesforce;Slack" or "salesforce, slack" -> ['Salesforce', 'Slack'] (each element a category;
    `shown` as in `category`)."""
    v = null_if_missing(expr)
    sep = f"(CASE WHEN contains({v}, ';') THEN ';' WHEN contains({v}, '|') THEN '|' ELSE ',' END)"
    element = category("x", shown)
    return (
        f"(CASE WHEN {v} IS NULL THEN NULL ELSE list_sort(list_distinct(list_filter(list_transform("
        f"string_split({v}, {sep}), lambda x: {element}), lambda x: x IS NOT NULL))) END)"
    )


# one regular expression, the four steps in order (same result as four replacements): skip a mail box ("jo@"),
# then a scheme, then "www."/"www2.", and keep what comes before the first / ? # or :. The value is bound once.
# Only a value with @ : / ? or # needs it: a plain "www.acme.com" loses its "www." by position (websites are
# unique per row, so this runs per row: 0.56 s of CPU per 1M "www." websites with the expression, 0.2 without)
# The prefix is dropped by regexp_replace and the host read as a whole match, not as a capture group: the same
# result at half the cost (RE2 finds a match's bounds with its fast automaton; a group needs the slow one).
_DOMAIN_PREFIX = "'^(?:[^@/]*@)?(?:[a-z]+://)?(?:www\\d?\\.)?'"
_DOMAIN_REGEX = f"regexp_extract(regexp_replace(_icp_v, {_DOMAIN_PREFIX}, ''), '^[^/?#:]*')"


def _bare_after(scheme: str) -> str:
    """SQL (a WHEN of a CASE over `_icp_v`): a website that is `scheme` and a host with no mail box, port, path, query
    or fragment ("https://www.acme.com") keeps the host, its "www." cut, by position: what _DOMAIN_REGEX gives it
    (a "www2." or "wwwx" host goes to the expression), for a third of its CPU (1M such URLs: 0.10 s against 0.17)."""
    n = len(scheme)
    host = f"substr(_icp_v, {n + 1})"
    marked = " OR ".join([f"contains({host}, '{c}')" for c in ":/"] + [f"contains(_icp_v, '{c}')" for c in "@?#"])
    www = f"starts_with(_icp_v, '{scheme}www.')"
    return (
        f"WHEN starts_with(_icp_v, '{scheme}') AND NOT ({marked}) AND ({www} OR NOT starts_with(_icp_v, '{scheme}www')) "
        f"THEN substr(_icp_v, CASE WHEN {www} THEN {n + 5} ELSE {n + 1} END) "
    )


_DOMAIN_BODY = (
    "CASE WHEN " + " OR ".join(f"contains(_icp_v, '{c}')" for c in "@:/?#") + " THEN "
    f"CASE {_bare_after('https://')}{_bare_after('http://')}ELSE {_DOMAIN_REGEX} END "
    "WHEN NOT starts_with(_icp_v, 'www') THEN _icp_v "
    "WHEN starts_with(_icp_v, 'www.') THEN substr(_icp_v, 5) "
    "WHEN _icp_v[5] = '.' AND _icp_v[4] BETWEEN '0' AND '9' THEN substr(_icp_v, 6) ELSE _icp_v END"
)


def domain(expr: str) -> str:
    """ "https://www.Acme.com/about" -> "acme.com"; an email keeps only its domain."""
    return f"nullif({_bound(f'lower({null_if_missing(expr)})', _DOMAIN_BODY)}, '')"


def per_row_parts(kind: str, expr: str) -> tuple[str, str]:
    """`text(expr)` (kind "text") or `domain(expr)` (kind "domain") in two steps for a statement that normalises
    every row: (value, body), the value computed in one projection and the body reading it as `_icp_v` in the
    next, so the value is computed once per row with no list and lambda (`_bound`) per row, and trimmed only
    where trim can change it (`trimmed`). 10M Parquet rows: names 1.2 -> 0.5 s of CPU, websites 2.05 -> 1.4 s.
    Written out in one expression instead, the value's text repeated in the body took 80 ms to plan per statement.
    """
    missing = _null_if_missing(expr, trimmed(expr))
    if kind == "domain":
        return f"lower({missing})", f"nullif({_DOMAIN_BODY}, '')"
    return missing, _TEXT_BODY


TYPES = frozenset({"text", "category", "number", "money", "band", "percent", "bool", "date", "list", "currency"})


def typed(kind: str, expr: str) -> str:
    """The normaliser for a field type (band and date need more than one expression: see the importer)."""
    return {
        "text": text,
        "category": category,
        "number": number,
        "money": number,
        "percent": percent,
        "bool": boolean,
        "list": text_list,
        "date": lambda e: date(e, None),
        "band": number,
        "currency": lambda e: f"icp_currency({e})",
    }[kind](expr)


# --- Amounts: numbers and money in the formats people export, parsed in Python once per DISTINCT value ---
#
# SQL regexes cannot decide "is 3.200 three thousand two hundred or three point two?" from one value; the
# answer is in the column (1.320.006,00 elsewhere in it) or the file. So amounts are parsed by
# `parse_amount` with the column's decimal mark (`decimal_mark`), registered in DuckDB as a UDF and run over
# the distinct values only. Currency codes and symbols come from the CLDR data in `babel` (ISO 4217 codes
# and their English symbols: "$", "€", "CA$", "CN¥", ...), not from a hand-kept table.


@lru_cache(maxsize=1)
def _currencies() -> tuple[frozenset[str], tuple[tuple[str, str], ...]]:
    """(ISO 4217 codes, (symbol, code) pairs longest symbol first) from babel's CLDR data."""
    from babel.numbers import get_currency_symbol, list_currencies

    codes = frozenset(list_currencies())
    symbols: dict[str, str] = {}
    for code in sorted(codes):
        symbol = get_currency_symbol(code, "en")
        if symbol != code and not symbol.isalpha():
            symbols.setdefault(symbol, code)
    # the bare symbols CLDR gives to the most used currency, plus spellings exports use that CLDR lacks
    symbols.update(
        {
            "$": "USD",
            "€": "EUR",
            "£": "GBP",
            "¥": "JPY",
            "US$": "USD",
            "C$": "CAD",
            "AU$": "AUD",
            "S$": "SGD",
            "Fr.": "CHF",
            "SFr.": "CHF",
            "RMB": "CNY",
            "zł": "PLN",
            "Kč": "CZK",
        }
    )
    return codes, tuple(sorted(symbols.items(), key=lambda kv: -len(kv[0])))


def currency_code(raw: str | None) -> str | None:
    """ISO 4217 code for a code, symbol or name as a currency column holds it ("usd", "€", "EUR", "Euro", "US
    Dollar", "Pfund Sterling"), else None. Names: `currencies.currency_by_name`."""
    found = code_or_symbol(raw)
    if found or raw is None or not raw.strip():
        return found
    from icp_agent.ingest.currencies import currency_by_name  # imported here: currencies imports this module

    return currency_by_name(raw)


def code_or_symbol(raw: str | None) -> str | None:
    """ISO 4217 code for a code or symbol ("usd", "€", "EUR"), else None (an exchange-rate file names codes)."""
    if raw is None:
        return None
    value = raw.strip()
    codes, symbols = _currencies()
    if value.upper() in codes:
        return value.upper()
    return dict(symbols).get(value)


_SPACES = "\u00a0\u202f\u2009\u2007 \t"
_SCALES = (
    ("thousand", 1e3),
    ("million", 1e6),
    ("millions", 1e6),
    ("billion", 1e9),
    ("billions", 1e9),
    ("trillion", 1e12),
    ("mio", 1e6),
    ("mrd", 1e9),
    ("tsd", 1e3),
    ("bn", 1e9),
    ("mm", 1e6),
    ("mn", 1e6),
    ("k", 1e3),
    ("m", 1e6),
    ("b", 1e9),
)
_SCALE_RE = re.compile(r"(?i)(?<=[\d.\s])(" + "|".join(w for w, _ in _SCALES) + r")\.?$")
_BODY_RE = re.compile(r"\d[\d.,'’]*")


@lru_cache(maxsize=1)
def _currency_patterns() -> tuple[re.Pattern, re.Pattern]:
    """One compiled alternation of every symbol, leading and trailing (longest symbols first)."""
    alternation = "|".join(re.escape(symbol) for symbol, _ in _currencies()[1])
    return (
        re.compile(r"^([-−(]?)\s*(" + alternation + r")\s*(.*)$", re.S),
        re.compile(r"^(.*?)\s*(" + alternation + r")\s*(\)?)$", re.S),
    )


_CODE_FIRST = re.compile(r"^([-−(]?)\s*([A-Za-z]{3})(?![A-Za-z])\s*(.*)$", re.S)
_CODE_LAST = re.compile(r"^(.*?)\s*(?<![A-Za-z])([A-Za-z]{3})$", re.S)
_PLAIN = re.compile(r"^[-−(+]?[\d.,'’\s\u00a0\u202f\u2009\u2007]*\)?\+?$")


def _strip_currency(text: str) -> tuple[str, str | None]:
    """Remove one currency code or symbol at either end (or right after a sign); return (rest, ISO code)."""
    if _PLAIN.match(text):  # the common case: nothing but digits, separators and signs
        return text, None
    codes, symbols = _currencies()
    for pattern in (_CODE_FIRST, _CODE_LAST):
        match = pattern.match(text)
        if match and match.group(2).upper() in codes:
            rest = match.group(1) + (match.group(3) if pattern is _CODE_FIRST else "")
            return rest.strip(), match.group(2).upper()
    by_symbol = dict(symbols)
    lead, trail = _currency_patterns()
    m = lead.match(text)
    if m:
        return (m.group(1) + m.group(3)).strip(), by_symbol[m.group(2)]
    m = trail.match(text)
    if m and (m.group(2)[-1] in "$€£¥₹₩₽₺₪₫฿₱" or not text[:1].isalpha()):
        return (m.group(1) + m.group(3)).strip(), by_symbol[m.group(2)]
    return text, None


def _body_value(body: str, mark: str | None) -> float | None:
    """Digits with group separators and a decimal mark ('.' or ','; None = decide from this value alone)."""
    for ch in "'’":
        if ch in body:  # Swiss 1'234.50: the apostrophe only ever groups thousands
            if not re.fullmatch(r"\d{1,3}(" + ch + r"\d{3})+([.,]\d+)?", body):
                return None
            body = body.replace(ch, "")
    dots, commas = body.count("."), body.count(",")
    if dots and commas:
        decimal = "." if body.rfind(".") > body.rfind(",") else ","
    elif dots > 1 or commas > 1:
        decimal = "," if dots > 1 else "."
    elif dots or commas:
        sep = "." if dots else ","
        three = len(body.split(sep)[1]) == 3
        # a single mark before exactly three digits groups thousands unless the column says it is decimal
        decimal = mark if mark else (("," if sep == "." else ".") if three else sep)
    else:
        decimal = "."
    group = "," if decimal == "." else "."
    whole, _, fraction = body.partition(decimal)
    if group in fraction or decimal in fraction or (not whole) or (decimal in body and not fraction):
        return None
    if group in whole and not re.fullmatch(r"\d{1,3}(" + re.escape(group) + r"\d{3})+", whole):
        return None
    return float(whole.replace(group, "") + ("." + fraction if fraction else ""))


@lru_cache(maxsize=1 << 18)  # the importer reads a column's distinct values twice (evidence, then the UDF)
def parse_amount(raw: str | None, mark: str | None = None) -> dict | None:
    """One exported number or amount -> {value, currency, open}, or None when it cannot be read.

    Reads `1.234,56 €`, `1 234,56` (also with no-break or narrow no-break spaces), `CHF 1'234.50`,
    `(1,234)` and `-1,234` (negative), `$1.5B`, `$500K`, `$1MM`, `USD 3.2 million`, `$10M+` (open: the
    value is a lower bound), `¥22,500,000`, and approximations as their figure (`~55`, `ca. €50k`, `5ish`). `mark` is the column's decimal mark ("." or ",", from
    `decimal_mark`); without it a lone separator before exactly three digits groups thousands. The
    currency is an ISO 4217 code or None. Blank-like markers ("n/a", "-") give None; so does anything
    non-finite or with letters left over ("lots", "1e400", "12 employees").
    """
    if raw is None:
        return None
    text = raw.strip(_SPACES)
    if text.lower() in MISSING_MARKERS:
        return None
    text, currency = _strip_currency(_APPROXIMATE_AFTER_RE.sub(r"\1", _APPROXIMATE_RE.sub("", text, count=1)))
    text = _APPROXIMATE_RE.sub("", text, count=1) if currency else text  # "€ ca. 50.000"
    negative = False
    if text.startswith("(") and text.endswith(")"):
        negative, text = True, text[1:-1].strip(_SPACES)
        text, inner = _strip_currency(text)
        currency = currency or inner
    if text[:1] in "-−":
        negative, text = True, text[1:].strip(_SPACES)
        text, inner = _strip_currency(text)
        currency = currency or inner
    elif text[:1] == "+":
        text = text[1:].strip(_SPACES)
    open_band = text.endswith("+")
    if open_band:
        text = text[:-1].strip(_SPACES)
        text, inner = _strip_currency(text)
        currency = currency or inner
    scale = 1.0
    found = _SCALE_RE.search(text)
    if found:
        scale = dict(_SCALES)[found.group(1).lower()]
        text = text[: found.start()].strip(_SPACES)
    if currency is None:
        text, currency = _strip_currency(text)
    # spaces group thousands ("1 234 567,89"), but only between digit groups of three
    if any(ch in text for ch in _SPACES):
        if not re.fullmatch(r"\d{1,3}([" + _SPACES + r"]\d{3})+([.,]\d+)?", text):
            return None
        text = re.sub("[" + _SPACES + "]", "", text)
    if not _BODY_RE.fullmatch(text):
        return None
    value = _body_value(text, mark)
    if value is None or not math.isfinite(value * scale):
        return None
    value = round(value * scale, 6) if scale != 1.0 else value
    return {"value": -value if negative else value, "currency": currency, "open": open_band}


_NOT_NUMERIC = re.compile(r"[^\d.,]")
_LONE_DECIMAL = re.compile(r"\d[.,](\d{1,2}|\d{4,})$")


def decimal_mark(values: list[tuple[str, int]]) -> str | None:
    """The decimal mark of a column ("." or ","), decided from all its distinct values with their counts.

    Only proof of a decimal mark counts: `1.234,56` says ",", `1,234.56` says ".", and a lone mark
    before one, two or four+ digits (`12,5`, `0.25`) is a decimal mark. Grouping alone (`1.320.006`,
    `22,500,000`, `3.200`) proves nothing about the other mark, and the default for a lone mark before
    three digits is already "groups thousands". None when the column has no proof (or as much for both).
    """
    votes = {".": 0, ",": 0}
    for raw, count in values:
        if raw is None or ("." not in raw and "," not in raw):
            continue
        body = _NOT_NUMERIC.sub("", raw)
        dots, commas = body.count("."), body.count(",")
        if dots and commas:
            votes["." if body.rfind(".") > body.rfind(",") else ","] += count
        elif dots + commas == 1 and _LONE_DECIMAL.search(body):
            votes["." if dots else ","] += count
    if votes["."] == votes[","]:
        return None
    return "." if votes["."] > votes[","] else ","


def decimal_marks(con, tables: dict[int, str]) -> dict[int, str | None]:
    """`decimal_mark` of several columns in one SQL statement over their distinct values: `tables` maps a key to a
    table of (raw, c) rows (the importer's `_dist_<i>`), the result maps each key to "." or "," or None.

    The same rule as `decimal_mark` (tests/test_values.py checks both agree), read in DuckDB: the values fetched
    into Python and voted on one by one took a 1M-row import 0.12 s for 4 columns of 94,000 distinct amounts.
    `\\p{Nd}` is any decimal digit, as Python's `\\d` is.
    """
    if not tables:
        return {}
    union = " UNION ALL ".join(
        f"SELECT {key} AS i, raw, c FROM {table} WHERE contains(raw, '.') OR contains(raw, ',')"
        for key, table in tables.items()
    )
    rows = con.execute(f"""
        WITH b AS (SELECT i, c, regexp_replace(raw, '[^\\p{{Nd}}.,]', '', 'g') AS body FROM ({union})),
        m AS (SELECT i, c, body, strlen(body) - strlen(replace(body, '.', '')) AS dots,
                     strlen(body) - strlen(replace(body, ',', '')) AS commas FROM b),
        v AS (SELECT i, c, CASE
                WHEN dots > 0 AND commas > 0 THEN
                    CASE WHEN strpos(reverse(body), '.') < strpos(reverse(body), ',') THEN '.' ELSE ',' END
                WHEN dots + commas = 1 AND regexp_matches(body, '\\p{{Nd}}[.,](\\p{{Nd}}{{1,2}}|\\p{{Nd}}{{4,}})$')
                    THEN CASE WHEN dots > 0 THEN '.' ELSE ',' END
              END AS vote FROM m)
        SELECT i, coalesce(sum(c) FILTER (vote = '.'), 0), coalesce(sum(c) FILTER (vote = ','), 0) FROM v GROUP BY i
    """).fetchall()
    marks: dict[int, str | None] = dict.fromkeys(tables)
    for key, dots, commas in rows:
        marks[key] = None if dots == commas else "." if dots > commas else ","
    return marks


# the connections `register_functions` registered the UDFs on (`functions_for` registers them once per connection)
_REGISTERED: weakref.WeakSet = weakref.WeakSet()


def functions_for(con, sql: str) -> str:
    """`sql`, once the UDFs it calls (`icp_amount`, `icp_currency`) are registered on `con`.

    Registered only when a statement calls one: DuckDB imports numpy to register a Python function (0.05 s of a
    1M-row import none of whose values needs Python).
    """
    if con not in _REGISTERED and ("icp_amount(" in sql or "icp_currency(" in sql):
        register_functions(con)
    return sql


def register_functions(con) -> None:
    """Register `icp_amount(raw, mark)` and `icp_currency(raw)` on a DuckDB connection (idempotent)."""
    import duckdb
    from duckdb.sqltypes import BOOLEAN, DOUBLE, VARCHAR

    amount_type = duckdb.struct_type({"value": DOUBLE, "currency": VARCHAR, "open": BOOLEAN})
    con.complete()  # DuckDB refuses to register functions while an earlier result is still open
    for name, fn, args, result in (
        ("icp_amount", parse_amount, [VARCHAR, VARCHAR], amount_type),
        ("icp_currency", currency_code, [VARCHAR], VARCHAR),
    ):
        with contextlib.suppress(duckdb.InvalidInputException):  # not registered on this connection yet
            con.remove_function(name)
        con.create_function(name, fn, args, result, null_handling="special", side_effects=False)
    _REGISTERED.add(con)


# Plain numbers need no Python: digits with an optional decimal part that is not a lone three-digit group
PLAIN_NUMBER = r"^\s*-?\d+(\.(\d{1,2}|\d{4,}))?\s*$"
PLAIN_INTEGER = r"^\s*-?\d+\s*$"


# US dollars as CRMs export them ("$12,000", "$1,200,000.00", "$950"): read in SQL when "." is the decimal mark
DOLLARS = r"^\$(\d{1,3}(,\d{3})+|\d+)(\.\d{1,2})?$"
# numbers grouped by commas ("1,250", "12,000,000.50"), read in SQL when "." is the decimal mark: what parse_amount
# gives them with the mark "." or undecided (a lone comma before three digits groups thousands)
GROUPED = r"^\d{1,3}(,\d{3})+(\.\d{1,2})?$"
# dollar amounts with a scale letter ("$190.3M", "$500k", "$1.5B"), as revenue columns of prospect lists carry them,
# read in SQL when "," is not the decimal mark: the figure times the scale, rounded to a whole number, is what
# parse_amount gives (its figure times the scale rounded to 6 decimals) for every value of these shapes, checked one by
# one (tests/test_values.py). Past about 8e9 the two roundings part (the product's last bit), so the billions stop at 7
SCALED_DOLLARS = r"^\$(\d{1,4}(\.\d{1,2})?[kK]|\d{1,3}(\.\d{1,2})?[mM]|[0-7](\.\d{1,2})?[bB])$"


# Values `parse_amount` never reads, told in SQL so they cost no Python call (dates, ranges, words: 20 ms of the type
# evidence of a 1M-row import with a d/m/y and an ISO date column). parse_amount only cuts pieces off a value's ends
# (signs, currencies, approximations, scales, "+", parentheses), none of which holds "/" or a digit, and then needs
# digits and separators alone, starting with a digit: a "/" anywhere (a missing marker such as "n/a" gives None too),
# a "-" between two digits, is left in the body and fails it, and so does a value with no digit at all (told by
# having no character beyond ASCII and no 0-9 in it: Python's digits are all of Unicode's). tests/test_values.py
# checks both agree.
NOT_AN_AMOUNT = (
    "(contains({0}, '/') OR regexp_matches({0}, '\\d-\\d') OR NOT regexp_matches({0}, '[0-9]|[^\\x00-\\x7F]'))"
)


def _sql_readings(expr: str, mark: str | None) -> list[tuple[str, str]]:
    """(condition, amount struct) pairs, tried in order, of the values `amount` reads in SQL; NULL for those
    `parse_amount` never reads (NOT_AN_AMOUNT)."""
    plain = PLAIN_INTEGER if mark == "," else PLAIN_NUMBER
    readings = [
        (
            f"regexp_matches({expr}, {sql_literal(plain)})",
            f"struct_pack(value := TRY_CAST(trim({expr}) AS DOUBLE), currency := NULL::VARCHAR, open := false)",
        )
    ]
    if mark != ",":
        readings.append(
            (
                f"regexp_matches(trim({expr}), {sql_literal(DOLLARS)})",
                f"struct_pack(value := CAST(replace(substr(trim({expr}), 2), ',', '') AS DOUBLE), currency := 'USD', "
                "open := false)",
            )
        )
        scaled = f"trim({expr})"
        readings.append(
            (
                f"regexp_matches({scaled}, {sql_literal(SCALED_DOLLARS)})",
                f"struct_pack(value := round(CAST(substr({scaled}, 2, strlen({scaled}) - 2) AS DOUBLE) * "
                f"CASE lower(right({scaled}, 1)) WHEN 'k' THEN 1e3 WHEN 'm' THEN 1e6 ELSE 1e9 END), "
                "currency := 'USD', open := false)",
            )
        )
        readings.append(
            (
                f"regexp_matches(trim({expr}), {sql_literal(GROUPED)})",
                f"struct_pack(value := CAST(replace(trim({expr}), ',', '') AS DOUBLE), currency := NULL::VARCHAR, "
                "open := false)",
            )
        )
    return readings + [(NOT_AN_AMOUNT.format(expr), "NULL")]


# what `amount(..., python=False)` gives a value only the Python parser reads: not NULL, no value (no SQL reading
# gives that), so `left_for_python` tells it from a value read as nothing
LEFT_FOR_PYTHON = "struct_pack(value := NULL::DOUBLE, currency := NULL::VARCHAR, open := NULL::BOOLEAN)"


def amount(expr: str, mark: str | None = None, python: bool = True) -> str:
    """SQL for the amount struct {value, currency, open} of a value (see `parse_amount`).

    Plain numbers, and dollar amounts, scaled dollar amounts and comma-grouped numbers (DOLLARS, SCALED_DOLLARS,
    GROUPED) when the column's decimal mark is not ",", are read in SQL (the result `parse_amount` gives them: tests/test_values.py checks both agree), values it never
    reads (NOT_AN_AMOUNT) are NULL; anything else goes to the `icp_amount` UDF (`register_functions`), a Python call
    per value, or with `python` False is LEFT_FOR_PYTHON (`left_for_python` finds it, to be read later).
    """
    whens = " ".join(f"WHEN {condition} THEN {value}" for condition, value in _sql_readings(expr, mark))
    rest = f"icp_amount({expr}, {sql_literal(mark) if mark else 'NULL'})" if python else LEFT_FOR_PYTHON
    return f"(CASE {whens} ELSE {rest} END)"


def left_for_python(expr: str, amount_sql: str) -> str:
    """SQL: `amount_sql` (`amount(expr, mark, python=False)`) of the value `expr` is one only Python reads."""
    return f"({expr} IS NOT NULL AND {amount_sql} IS NOT NULL AND ({amount_sql}).value IS NULL)"


def needs_python(expr: str, mark: str | None = None) -> str:
    """SQL: `amount` of the value calls the Python parser (no SQL reading applies, and it is not NULL)."""
    conditions = " OR ".join(condition for condition, _ in _sql_readings(expr, mark))
    return f"({expr} IS NOT NULL AND NOT coalesce({conditions}, false))"


# --- Categories: compared by key, shown in their most frequent original spelling ---

_MACHINE_ENUM = "^[A-Z0-9]+(_[A-Z0-9]+)+$"


def spelling(expr: str) -> str:
    """The spelling of one raw category value as it may be shown: trimmed, inner spaces collapsed.

    A machine enum (`COMPUTER_SOFTWARE`, as HubSpot exports its dropdowns) and an all-lower-case
    value (`marketing & advertising`, typed without care) are shown in the readable form `category`
    gives ("Computer Software"); every other value keeps its own letter case (`HubSpot`, `VA`, `CFO`).
    """
    v = null_if_missing(expr)
    return f"(CASE WHEN {_careless(v)} THEN {category(expr)} ELSE regexp_replace({v}, '\\s+', ' ', 'g') END)"


def _careless(v: str) -> str:
    """SQL: a spelling nobody chose the letter case of (a machine enum, or all lower case)."""
    return f"(regexp_matches({v}, '{_MACHINE_ENUM}') OR {v} = lower({v}))"


def display_spellings(values_sql: str) -> str:
    """SQL of a (key, display) table from a query of (value, weight) rows: per case- and spacing-folded
    key, its most frequent spelling as written (`spelling`); a spelling someone chose the letter case of
    wins over machine and all-lower-case ones, and ties go to the alphabetically first, so runs agree."""
    return (
        f"SELECT key, first(sp ORDER BY written DESC, w DESC, sp) AS display FROM ("
        f"SELECT {category_key('value')} AS key, {spelling('value')} AS sp, "
        f"NOT {_careless('trim(value)')} AS written, sum(weight) AS w "
        f"FROM ({values_sql}) WHERE {category_key('value')} <> '' GROUP BY 1, 2, 3) GROUP BY 1"
    )


def list_elements(expr: str) -> str:
    """The raw elements of a ";", "|" or ","-separated list value (SQL list of VARCHAR)."""
    v = null_if_missing(expr)
    sep = f"(CASE WHEN contains({v}, ';') THEN ';' WHEN contains({v}, '|') THEN '|' ELSE ',' END)"
    return f"string_split({v}, {sep})"


# --- Countries: one name per country, from CLDR (babel) ---
#
# "UK", "United Kingdom", "GBR"; "USA", "U.S.", "United States", "Vereinigte Staaten"; "Deutschland", "DE",
# "Germany": one country each, shown by its English CLDR name. The index holds every ISO 3166 alpha-2 code,
# CLDR's territory aliases (alpha-3 codes, "UK"), pycountry's ISO 3166 names ("United States of America",
# "Korea, Republic of", "Czech Republic") and CLDR's territory names in the languages exports come in.
# Regions ("Europe", "EMEA"), numeric codes and unknown spellings are not countries here: they stay as written.

COUNTRY_LOCALES = ("en", "de", "fr", "es", "it", "nl", "pt", "sv", "da", "nb", "fi", "pl", "cs")
# English names a country field holds that neither CLDR's main names nor ISO 3166 give: CLDR's short and variant
# names (which babel does not ship: "Ivory Coast", "Turkey", "East Timor"), common and former names ("Great Britain",
# "Holland", "Swaziland", "UAE"). The UK's constituent countries (England, Scotland, Wales: ISO 3166-2 subdivisions
# of type "Country"; Northern Ireland) are read as the United Kingdom: a CRM country field holding them means a UK
# company, and kept apart they would split the UK's accounts into four small markets; the region or city field
# keeps where in the UK.
COUNTRY_ALIASES = {
    "Great Britain": "GB",
    "Britain": "GB",
    "Northern Ireland": "GB",
    "Holland": "NL",
    "Ivory Coast": "CI",
    "Turkey": "TR",
    "Swaziland": "SZ",
    "Macedonia": "MK",
    "East Timor": "TL",
    "Burma": "MM",
    "Macau": "MO",
    "Vatican": "VA",
    "Palestine": "PS",
    "UAE": "AE",
    "KSA": "SA",
    "Republic of Ireland": "IE",
    "Eire": "IE",
    "DR Congo": "CD",
    "DRC": "CD",
    "Bosnia": "BA",
    "Korea, South": "KR",
}
# The three-letter codes of sports (IOC, and FIFA's for the UK's nations) where they differ from ISO 3166 alpha-3:
# people type them in a sheet ("GER", "SUI", "NED", "RSA"). An ISO code or a country's name spelled the same
# wins (the index's first entry): "BUR" stays Burma's old ISO code, not IOC's Burkina Faso.
_SPORTS = (
    "ALG=DZ ANG=AO ANT=AG ARU=AW ASA=AS BAH=BS BAN=BD BAR=BB BER=BM BHU=BT BIZ=BZ BOT=BW BRU=BN BUL=BG CAM=KH "
    "CAY=KY CGO=CG CHA=TD CHI=CL CRC=CR CRO=HR DEN=DK ESA=SV FIJ=FJ GAM=GM GBS=GW GEQ=GQ GER=DE GRE=GR GRN=GD "
    "GUA=GT GUI=GN HAI=HT HON=HN INA=ID IRI=IR ISV=VI IVB=VG KSA=SA KUW=KW LAT=LV LBA=LY LES=LS LIB=LB MAD=MG "
    "MAS=MY MAW=MW MGL=MN MON=MC MRI=MU MTN=MR MYA=MM NCA=NI NED=NL NEP=NP NGR=NG NIG=NE OMA=OM PAR=PY PHI=PH "
    "PLE=PS POR=PT PUR=PR RSA=ZA SAM=WS SEY=SC SIN=SG SKN=KN SLE=SL SLO=SI SOL=SB SRI=LK SUD=SD SUI=CH TAN=TZ "
    "TGA=TO TOG=TG TPE=TW TRI=TT UAE=AE URU=UY VAN=VU VIE=VN VIN=VC ZAM=ZM ZIM=ZW ENG=GB SCO=GB WAL=GB NIR=GB"
)
SPORTS_CODES = dict(pair.split("=") for pair in _SPORTS.split())
_NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "QO", "ZZ", "XA", "XB"})  # CLDR groupings and pseudo-territories


def _country_key(raw: str) -> str:
    import unicodedata

    plain = "".join(ch for ch in unicodedata.normalize("NFKD", raw) if not unicodedata.combining(ch))
    words = re.sub(r"[^a-z0-9]+", " ", plain.lower().replace("&", " and ").replace(".", "")).strip()
    return re.sub(r"^the ", "", words)


COUNTRY_ASSET = Path(__file__).resolve().parent.parent / "assets" / "countries.json"


@lru_cache(maxsize=1)
def _country_index() -> tuple[dict[str, str], dict[str, str]]:
    """(spelling key -> alpha-2 code, alpha-2 code -> English name), as `build_country_index` gives them, read from
    the generated asset (assets/countries.json, `python tools/gen_countries.py`): building them from babel and
    pycountry took every process 0.13-0.17 s (every locale's territory names), for the few values a column holds.
    tests/test_countries.py checks the asset against `build_country_index`, so it cannot drift from the data."""
    data = json.loads(COUNTRY_ASSET.read_text(encoding="utf-8"))
    return data["index"], data["english"]


def build_country_index() -> tuple[dict[str, str], dict[str, str]]:
    """(spelling key -> alpha-2 code, alpha-2 code -> English name), from babel's CLDR data and pycountry's
    ISO 3166 names: the contents of assets/countries.json (`_country_index` reads that)."""
    from babel import Locale
    from babel.core import get_global

    english = {
        code: name
        for code, name in Locale("en").territories.items()
        if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES
    }
    index: dict[str, str] = {}
    for code in english:
        index.setdefault(_country_key(code), code)
    for alias, targets in get_global("territory_aliases").items():
        if alias.isalpha() and len(targets) == 1 and targets[0] in english:  # USA, DEU, GBR, UK; not "840"
            index.setdefault(_country_key(alias), targets[0])
    import pycountry

    for country in pycountry.countries:  # ISO 3166 names as CRM picklists hold them: "Korea, Republic of"
        if country.alpha_2 in english:
            for attribute in ("name", "official_name", "common_name"):
                if getattr(country, attribute, None):
                    index.setdefault(_country_key(getattr(country, attribute)), country.alpha_2)
    for locale in COUNTRY_LOCALES:  # English first: a name another language gives a different country loses
        for code, name in Locale.parse(locale).territories.items():
            if code in english:
                index.setdefault(_country_key(name), code)
    for alias, code in (COUNTRY_ALIASES | SPORTS_CODES).items():
        index.setdefault(_country_key(alias), code)
    for part in pycountry.subdivisions:  # England, Scotland, Wales (GB); not a country of their own
        if part.type == "Country" and part.country_code in english:
            index.setdefault(_country_key(part.name.split("[")[0]), part.country_code)
    return index, english


def country_name(raw: str | None) -> str | None:
    """The English CLDR name of the country `raw` spells ("UK" -> "United Kingdom", "Deutschland" -> "Germany",
    "U.S.A." -> "United States"); None when it names no country (a region, a typo: kept as written)."""
    if raw is None:
        return None
    index, english = _country_index()
    code = index.get(_country_key(str(raw)))
    return english[code] if code else None


def canonical_countries(con, table: str, column: str = "country") -> int:
    """Rewrite `column` of `table` (a lookup of distinct values: the importer's `_lk_<i>`, scoring's
    `_icp_lk_<i>`) to one name per country (`country_name`), each distinct value read once in Python.
    Values that name no country stay. Returns how many distinct values changed."""
    return rewrite_distinct(con, table, column, country_name)


def rewrite_distinct(con, table: str, column: str, translate: Callable[[Any], str | None]) -> int:
    """Rewrite `column` of `table` (a lookup of distinct values) through `translate`, called once per distinct value
    in Python (None or the same value: left as it is), the new values set in one UPDATE. Returns how many distinct
    values changed."""
    from icp_agent.sql import quote_identifier

    col = quote_identifier(column)
    values = [r[0] for r in con.execute(f"SELECT DISTINCT {col} FROM {table} WHERE {col} IS NOT NULL").fetchall()]
    pairs = [(v, new) for v in values if (new := translate(v)) is not None and new != v]
    if pairs:
        con.execute("CREATE OR REPLACE TEMP TABLE _icp_rewrite (raw VARCHAR, new VARCHAR)")
        con.executemany("INSERT INTO _icp_rewrite VALUES (?, ?)", pairs)
        con.execute(f"UPDATE {table} SET {col} = m.new FROM _icp_rewrite m WHERE {table}.{col} = m.raw")
        con.execute("DROP TABLE _icp_rewrite")
    return len(pairs)
