"""Value normalisers, as DuckDB SQL expressions over a VARCHAR column.

Every normaliser is SQL so a million-row import never materialises Python objects per
row. Each function takes a SQL expression and returns one; `null_if_missing` runs first
everywhere, so "n/a", "-", "" and friends are missing in every type. A value that is
present but does not parse becomes NULL and is reported by the importer (it never
silently turns into zero).
"""

from __future__ import annotations

from ..sql import sql_literal

MISSING_MARKERS = ("", "n/a", "na", "n.a.", "-", "--", "—", "null", "none", "nan", "#n/a", "?", "unknown",
                   "not available")
_MARKERS_SQL = ", ".join("'" + m.replace("'", "''") + "'" for m in MISSING_MARKERS)
SMALL_WORDS = ("and", "of", "the", "for", "in", "on", "at", "to", "a", "an", "or", "with", "by")
_SMALL_SQL = ", ".join(f"'{w}'" for w in SMALL_WORDS)
TRUE_TOKENS = ("true", "yes", "y", "t", "1")
FALSE_TOKENS = ("false", "no", "n", "f", "0")


def null_if_missing(expr: str) -> str:
    return f"(CASE WHEN lower(trim({expr})) IN ({_MARKERS_SQL}) THEN NULL ELSE trim({expr}) END)"


def text(expr: str) -> str:
    return f"regexp_replace({null_if_missing(expr)}, '\\s+', ' ', 'g')"


def category_key(expr: str) -> str:
    """Spelling-insensitive key: "COMPUTER_SOFTWARE" = "Computer Software" = "computer  software"."""
    cleaned = f"lower(replace(replace({null_if_missing(expr)}, '_', ' '), '&', ' and '))"
    return f"trim(regexp_replace({cleaned}, '\\s+', ' ', 'g'))"


ACRONYMS = ("usa", "uk", "us", "uae", "eu", "it", "hr", "ai", "saas", "b2b", "b2c", "crm", "erp", "aws", "gcp",
            "seo", "cpg", "ngo", "emea", "apac", "latam", "hq", "llc", "gmbh", "nyc")
_ACRONYMS_SQL = ", ".join(f"'{a}'" for a in ACRONYMS)


def category(expr: str) -> str:
    """Canonical display form derived from the key alone, so every file agrees on it.

    Words are capitalised, joining words stay lower case, known acronyms upper case:
    "COMPUTER_SOFTWARE" and "computer software" both become "Computer Software".
    """
    key = category_key(expr)
    word = ("CASE WHEN i > 1 AND w IN (" + _SMALL_SQL + ") THEN w "
            "WHEN w IN (" + _ACRONYMS_SQL + ") THEN upper(w) "
            "ELSE upper(w[1]) || w[2:] END")
    return (f"(CASE WHEN {key} IS NULL OR {key} = '' THEN NULL ELSE "
            f"array_to_string(list_transform(string_split({key}, ' '), lambda w, i: {word}), ' ') END)")


def _number_core(expr: str) -> str:
    """Digits, sign and decimal point of a money/number string, with k/m/b multipliers applied."""
    raw = f"lower({null_if_missing(expr)})"
    stripped = f"regexp_replace({raw}, '[\\s$€£¥]|usd|eur|gbp|chf', '', 'g')"
    negative = f"regexp_matches({stripped}, '^\\(.*\\)$')"
    unwrapped = f"regexp_replace({stripped}, '^\\((.*)\\)$', '\\1')"
    multiplier = (f"(CASE WHEN regexp_matches({unwrapped}, '(bn|b)$') THEN 1e9 "
                  f"WHEN regexp_matches({unwrapped}, '(mm|m)$') THEN 1e6 "
                  f"WHEN regexp_matches({unwrapped}, 'k$') THEN 1e3 ELSE 1 END)")
    body = f"regexp_replace({unwrapped}, '(bn|mm|b|m|k)$', '')"
    european = f"regexp_matches({body}, '^-?\\d{{1,3}}(\\.\\d{{3}})+(,\\d+)?$|^-?\\d+,\\d{{1,2}}$')"
    digits = (f"(CASE WHEN {european} THEN replace(replace({body}, '.', ''), ',', '.') "
              f"ELSE replace({body}, ',', '') END)")
    value = f"TRY_CAST({digits} AS DOUBLE)"
    return f"(CASE WHEN {negative} THEN -1 ELSE 1 END) * {multiplier} * {value}"


def number(expr: str) -> str:
    """"1,250" -> 1250, "$1,200.00" -> 1200, "€1.200,50" -> 1200.5, "$5k" -> 5000, "(300)" -> -300."""
    pattern = ("^\\(?[-+]?[\\s$€£¥]*[\\d.,]+\\s*(k|m|mm|b|bn)?\\)?$|^(usd|eur|gbp|chf)\\s*[\\d.,]+$"
               "|^[\\d.,]+\\s*(usd|eur|gbp|chf)$")
    body = f"CASE WHEN regexp_matches(lower(num_v), {sql_literal(pattern)}) THEN {_number_core('num_v')} ELSE NULL END"
    return _let(f"trim({expr})", "num_v", body)


def _let(value: str, var: str, body: str) -> str:
    """Evaluate `value` once and use it as `var` in `body` (SQL has no local variables; a lambda is one)."""
    return f"list_transform([{value}], lambda {var}: {body})[1]"


def percent(expr: str) -> str:
    """"15%" -> 0.15; a bare number above 3 is read as percent points (115 -> 1.15)."""
    body = ("CASE WHEN contains(pct_raw, '%') THEN pct_num / 100 WHEN abs(pct_num) > 3 THEN pct_num / 100 "
            "ELSE pct_num END")
    inner = _let(number("replace(pct_raw, '%', '')"), "pct_num", body)
    return _let(null_if_missing(expr), "pct_raw", inner)


_RANGE = "^([\\d.,]+\\s*[km]?)\\s*(?:-|–|to)\\s*([\\d.,]+\\s*[km]?)$"
_OPEN_UP = "^(?:>=?|over|more than)?\\s*([\\d.,]+\\s*[km]?)\\s*(?:\\+|or more|and above)$"
_OPEN_UP_WORDS = "^(?:>=?|over|more than)\\s*([\\d.,]+\\s*[km]?)$"
_OPEN_DOWN = "^(?:<=?|under|less than|fewer than|up to)\\s*([\\d.,]+\\s*[km]?)$"


def _band_bounds(expr: str, body: str) -> str:
    """Bind `band_lo` / `band_hi` (text, '' when absent, NULL when missing) and evaluate `body`."""
    bounds = (f"CASE WHEN regexp_matches(band_v, {sql_literal(_RANGE)}) THEN "
              f"[regexp_replace(band_v, {sql_literal(_RANGE)}, '\\1'), regexp_replace(band_v, {sql_literal(_RANGE)}, '\\2')] "
              f"WHEN regexp_matches(band_v, {sql_literal(_OPEN_UP)}) THEN [regexp_replace(band_v, {sql_literal(_OPEN_UP)}, '\\1'), ''] "
              f"WHEN regexp_matches(band_v, {sql_literal(_OPEN_UP_WORDS)}) THEN "
              f"[regexp_replace(band_v, {sql_literal(_OPEN_UP_WORDS)}, '\\1'), ''] "
              f"WHEN regexp_matches(band_v, {sql_literal(_OPEN_DOWN)}) THEN ['0', regexp_replace(band_v, {sql_literal(_OPEN_DOWN)}, '\\1')] "
              f"ELSE [band_v, band_v] END")
    return _let(f"lower({null_if_missing(expr)})", "band_v", _let(bounds, "band_b", body))


def band_min(expr: str) -> str:
    """Lower bound of a value that may be a range ("51-200" -> 51, "10001+" -> 10001, "<10" -> 0)."""
    return _band_bounds(expr, number("band_b[1]"))


def band_max(expr: str) -> str:
    """Upper bound (NULL when open-ended, as in "10001+")."""
    return _band_bounds(expr, number("band_b[2]"))


def band(expr: str) -> str:
    """All of a band at once, {min, max, exact}: one regex pass instead of three."""
    body = (f"list_transform([[{number('band_b[1]')}, {number('band_b[2]')}]], lambda band_n: "
            f"struct_pack(min := band_n[1], max := band_n[2], "
            f"exact := CASE WHEN band_b[1] = band_b[2] THEN band_n[1] END))[1]")
    return _band_bounds(expr, body)


def band_is_range(expr: str) -> str:
    return _band_bounds(expr, "band_b[1] <> band_b[2]")


def boolean(expr: str) -> str:
    v = f"lower({null_if_missing(expr)})"
    trues = ", ".join(f"'{t}'" for t in TRUE_TOKENS)
    falses = ", ".join(f"'{t}'" for t in FALSE_TOKENS)
    return f"(CASE WHEN {v} IN ({trues}) THEN TRUE WHEN {v} IN ({falses}) THEN FALSE ELSE NULL END)"


DATE_ORDERS = ("ymd", "mdy", "dmy")
_SLASHED = "^\\s*(\\d{1,2})[/.-](\\d{1,2})[/.-](\\d{4})"


def date(expr: str, order: str | None) -> str:
    """ISO dates always parse; d/m/y or m/d/y strings need the column's detected or declared order."""
    v = null_if_missing(expr)
    iso = f"TRY_CAST(TRY_CAST(regexp_replace({v}, '^(\\d{{4}})[/.](\\d{{1,2}})[/.](\\d{{1,2}})', '\\1-\\2-\\3') AS TIMESTAMP) AS DATE)"
    if order not in ("mdy", "dmy"):
        return iso
    month, day = (1, 2) if order == "mdy" else (2, 1)
    slashed = (f"TRY_CAST(regexp_extract({v}, {sql_literal(_SLASHED)}, 3) || '-' || lpad(regexp_extract({v}, {sql_literal(_SLASHED)}, "
               f"{month}), 2, '0') || '-' || lpad(regexp_extract({v}, {sql_literal(_SLASHED)}, {day}), 2, '0') AS DATE)")
    return f"(CASE WHEN regexp_matches({v}, {sql_literal(_SLASHED)}) THEN {slashed} ELSE {iso} END)"


def date_order_evidence(expr: str) -> tuple[str, str, str]:
    """SQL counts of values proving m/d/y (second part > 12), d/m/y (first part > 12), and slashed values."""
    v = null_if_missing(expr)
    first = f"TRY_CAST(regexp_extract({v}, {sql_literal(_SLASHED)}, 1) AS INTEGER)"
    second = f"TRY_CAST(regexp_extract({v}, {sql_literal(_SLASHED)}, 2) AS INTEGER)"
    return (f"count_if({second} > 12)", f"count_if({first} > 12)", f"count_if(regexp_matches({v}, {sql_literal(_SLASHED)}))")


def text_list(expr: str) -> str:
    """"Salesforce;Slack" or "salesforce, slack" -> ['Salesforce', 'Slack'] (each element a category)."""
    v = null_if_missing(expr)
    sep = f"(CASE WHEN contains({v}, ';') THEN ';' WHEN contains({v}, '|') THEN '|' ELSE ',' END)"
    element = category("x")
    return (f"(CASE WHEN {v} IS NULL THEN NULL ELSE list_sort(list_distinct(list_filter(list_transform("
            f"string_split({v}, {sep}), lambda x: {element}), lambda x: x IS NOT NULL))) END)")


def domain(expr: str) -> str:
    """"https://www.Acme.com/about" -> "acme.com"; an email keeps only its domain."""
    v = f"lower({null_if_missing(expr)})"
    no_mail = f"regexp_replace({v}, '^[^@/]*@', '')"
    no_scheme = f"regexp_replace({no_mail}, '^[a-z]+://', '')"
    no_www = f"regexp_replace({no_scheme}, '^www\\d?\\.', '')"
    return f"nullif(regexp_replace({no_www}, '[/?#:].*$', ''), '')"





TYPES = frozenset({"text", "category", "number", "money", "band", "percent", "bool", "date", "list"})


def typed(kind: str, expr: str) -> str:
    """The normaliser for a field type (band and date need more than one expression: see the importer)."""
    return {
        "text": text, "category": category, "number": number, "money": number, "percent": percent,
        "bool": boolean, "list": text_list, "date": lambda e: date(e, None), "band": number,
    }[kind](expr)
