"""Profiling and type/role inference: counts over each column's distinct raw values (`_dist_<i>`,
weighted by how often each occurs) that decide what a column no synonym named is: its type (`infer_type`:
codes, free text, yes/no, dates, money, numbers, bands, currencies, lists, categories) and its role
(`infer_role`: a fit criterion, or post-sale, or ignored as a person's name, a row's id or free text),
with what the column's name says (the hint patterns) weighed beside its values."""

from __future__ import annotations

import re

import duckdb

from icp_agent.ingest import normalize as norm
from icp_agent.ingest.columns import PlannedColumn
from icp_agent.ingest.fields import attribute_name
from icp_agent.sql import one, sql_literal

# Words in a column's name (snake_case, camelCase split) that make it post-sale or outcome-derived, never a
# criterion: usage and account health, and what a deal's outcome determines (won/lost/open deal counts, lost
# reasons, probabilities, weighted values, activities logged). Whole words only: "carrier" is no ARR. What a
# customer bought is post-sale as the canonical `plan` is (ingest/fields.py): seats, licences, an edition or
# pricing tier, monthly/weekly/daily active users; no prospect list carries them, so they could rank no prospect.
POST_SALE_HINTS = re.compile(
    r"(?:^|_)(?:last|usage|logins?|tickets?|health|renew\w*|churn\w*|cancel\w*|arr|mrr|nps|csat|active_users|"
    r"seats?|licen[cs]es?|editions?|(?:pricing|price|billing|subscription|plan)_(?:tiers?|plans?|levels?)|"
    r"[mwd]au|expansions?|invoices?|invoiced|paid|balance|activity|activities|modified|updated?|"
    r"(?:won|lost|open|closed)_deals?|deals?_(?:won|lost|open|closed)|(?:won|lost|win|loss)_reasons?|"
    r"weighted_(?:value|amount)|probability|win_probability|next_activity\w*|done_activities|"
    r"email_messages(?:_count)?|emails?_(?:sent|received)|deals?_count|revenue_won)(?=_|$)"
)
# A person's name (a rep, a contact, whoever created the record): never a trait of the company.
PERSON_HINTS = re.compile(
    r"(?:^|_)(?:owner(?:_name)?|contact_person|creator|created_by|modified_by|updated_by|assigned_to|assignee|"
    r"sales_?rep|rep|account_(?:manager|executive)|csm|sdr|bdr|ansprechpartner|betreuer|vertriebler|"
    r"responsible)(?=_|$)"
)


MAX_CATEGORY_DISTINCT = 60


def _name_tokens(header: str) -> str:
    """A header as snake_case words, camelCase split: "LastLoginDate" -> "last_login_date"."""
    return attribute_name(re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", header))


PROFILE_ROWS = 50_000


def distinct_values(con: duckdb.DuckDBPyConnection, texts: dict[str, str], index: dict[str, int]) -> None:
    """`_dist_<i>` (i = `index[header]`): each column's distinct raw values with their count and first row.

    Real exports repeat themselves (industries, countries, ranges, dates): normalising and
    profiling each distinct value once, then joining back, is what keeps a million-row
    import fast.
    """
    for header in texts:
        i = index[header]
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _dist_{i} AS SELECT {texts[header]} AS raw, count(*) AS c, "
            f"min(_row) AS first_row FROM _dedup GROUP BY 1"
        )


_PROFILE_KEYS = (
    "present",
    "rows",
    "sampled",
    "number",
    "amount",
    "currency_seen",
    "currency_code",
    "bool",
    "date",
    "range",
    "semicolon",
    "distinct",
    "mark_kinds",
    "mdy",
    "dmy",
    "slashed",
    "dotted",
    "digits",
    "leading_zero",
    "multiline",
    "long",
    "avg_len",
    "present_distinct",
    "int_min",
    "int_max",
)


def profile_known(
    con: duckdb.DuckDBPyConnection, texts: dict[str, str], known: set[str], head: str = f"_row <= {PROFILE_ROWS}"
) -> dict[str, dict[str, int]]:
    """The profile of text columns whose type and role a synonym or the mapping fixed, from the first
    PROFILE_ROWS rows: `rows` (rows read), `present` (rows with a value) and `distinct_raw` (their distinct
    values, by HyperLogLog, a few % off), which only decide whether the column is worth a lookup table.

    A column with no value in those rows has its presence counted over every row, so `present` is 0 exactly
    when the column is empty. (Counted over every row, these took a 10M-row import 2.2 s of CPU, a scan of
    the columns most expensive to read: names and websites, unique per row. The reports count what they
    need from the stored rows.) `head` is the SQL condition picking those rows (the importer's names the staged
    row number, whose range the scan skips to).
    """
    headers = [h for h in texts if h in known]
    if not headers:
        return {}
    present = [f"count(*) FILTER ({norm.null_if_missing(texts[h])} IS NOT NULL)" for h in headers]
    parts = [f"{p}, approx_count_distinct({texts[h]})" for p, h in zip(present, headers)]
    row = one(con, f"SELECT count(*), {', '.join(parts)} FROM _dedup WHERE {head}")
    profiles = {
        h: dict.fromkeys(_PROFILE_KEYS, 0)
        | {
            "present": int(row[1 + 2 * k]),
            "sampled": int(row[1 + 2 * k]),
            "rows": int(row[0]),
            "distinct_raw": int(row[2 + 2 * k]),
        }
        for k, h in enumerate(headers)
    }
    empty = [k for k, h in enumerate(headers) if not profiles[h]["present"]]
    if empty:  # none in the first rows: the whole column decides
        counts = one(con, f"SELECT {', '.join(present[k] for k in empty)} FROM _dedup")
        for k, n in zip(empty, counts if isinstance(counts, tuple) else (counts,)):
            profiles[headers[k]]["present"] = int(n)
    return profiles


def profile_columns(
    con: duckdb.DuckDBPyConnection,
    texts: dict[str, str],
    known: set[str],
    index: dict[str, int] | None = None,
    typed: set[str] | None = None,
) -> dict[str, dict[str, int]]:
    """Counts per column that decide an unknown column's type and role, and a date column's order.

    Presence is counted over every row; the type evidence over the distinct values seen in
    the first PROFILE_ROWS rows, weighted by how often they occur. Columns in `known`
    (a recognised field whose type needs no evidence) only get their presence counted.
    Registers the Python UDFs on `con` when a value needs one (`norm.functions_for`). Columns in `typed` have
    their type already (a band, a date: their role and date order still need their values): the keys only
    `infer_type` reads (TYPE_ONLY_KEYS) are 0 for them, not read (their parsers: most of the statement's CPU).

    One statement profiles every unknown column (and one every known column): the `_dist_<i>` tables are read
    as one union grouped by column. The SQL of the evidence is some 30 kB, which DuckDB took 30-60 ms to plan
    however few the values: a statement per column cost 0.3 s of a 1M-row import, most of it planning.
    """
    index = index or {h: i for i, h in enumerate(texts)}
    profiles: dict[str, dict[str, int]] = {}
    presence = [h for h in texts if h in known]
    if presence:
        for i, present, rows, distinct_raw in con.execute(
            f"SELECT i, coalesce(sum(c) FILTER ({norm.null_if_missing('raw')} IS NOT NULL), 0), "
            f"coalesce(sum(c) FILTER (first_row <= {PROFILE_ROWS}), 0), count(*) FROM ({_dist_union(presence, index)}) "
            "GROUP BY i"
        ).fetchall():
            profiles[presence[i]] = dict.fromkeys(_PROFILE_KEYS, 0) | {
                "present": int(present),
                "sampled": int(present),
                "rows": int(rows),
                "distinct_raw": int(distinct_raw),
            }
    evidence = [h for h in texts if h not in known]
    if evidence:
        profiles |= _evidence(con, evidence, index, typed or set())
    empty = dict.fromkeys(_PROFILE_KEYS, 0) | {"distinct_raw": 0}  # a `_dist` table without rows has no group
    return {h: profiles.get(h, empty.copy()) for h in texts}


# The profile keys only `infer_type` reads: a column whose type is known (`profile_columns`' `typed`) gets 0
TYPE_ONLY_KEYS = (
    "number",
    "amount",
    "currency_seen",
    "currency_code",
    "bool",
    "date",
    "semicolon",
    "mark_kinds",
    "leading_zero",
    "long",
)


def _evidence(
    con: duckdb.DuckDBPyConnection, evidence: list[str], index: dict[str, int], typed: set[str]
) -> dict[str, dict[str, int]]:
    """The type evidence of each column of `evidence` (the `profile_columns` keys), in one statement; the
    TYPE_ONLY_KEYS of the columns in `typed` are 0."""
    v = "raw"
    untyped = [k for k, h in enumerate(evidence) if h not in typed]
    # each of the types' parsers runs on the values of the columns whose type is to be inferred: behind a CASE,
    # which evaluates its branch on the rows it selects only (DuckDB evaluates every operand of an AND in an
    # aggregate's FILTER on every row: the date parser took 0.03 s of CPU over 5,000 employee bands it skipped)
    guessed = "true" if len(untyped) == len(evidence) else _among(untyped)
    guessing = lambda expr: expr if guessed == "true" else f"(CASE WHEN {guessed} THEN {expr} ELSE false END)"  # noqa: E731
    # a currency code is read only in the columns named like one (`icp_currency` is a Python call per value)
    currency_named = [k for k in untyped if CURRENCY_HINTS.search(attribute_name(evidence[k]))]
    maybe_currency = _among(currency_named)
    # the sampled rows' cleaned value is a column of their own (`_n`), not written out in each of their aggregates
    sample = f"first_row <= {PROFILE_ROWS} AND _n IS NOT NULL"
    mdy, dmy, slashed = (part.replace("count_if(", "sum(c) FILTER (") for part in norm.date_order_evidence(v))
    weighted = lambda expr: f"coalesce(sum(c) FILTER ({expr}), 0)"  # noqa: E731 - a local shorthand
    digits = f"regexp_matches(trim({v}), '^\\d+$')"
    dotted = f"{sample} AND regexp_matches({v}, '^\\s*\\d{{1,2}}\\.\\d{{1,2}}\\.\\d{{4}}')"
    leading_zero = f"{sample} AND regexp_matches(trim({v}), '^0\\d+$')"
    semicolon = f"contains({v}, ';')"
    # the evidence of the sampled rows is read from those rows alone (a filter, then the aggregates): a FILTER per
    # aggregate evaluated its parse on every distinct value, 8 s of an import of 1M rows whose two unrecognised
    # columns (notes, references) are unique per row. Presence, distinct counts, integer ranges and the date
    # order's proofs are over every value, as before.
    # a value only the Python parser reads as an amount (`norm.amount`) makes the statement call it; without one, the
    # parser is not registered (`norm.functions_for`), nor is the currency reader without a column named like one
    python = bool(untyped) and bool(
        one(
            con,
            f"SELECT count(*) FROM ({_dist_union(evidence, index)}) WHERE first_row <= {PROFILE_ROWS} "
            f"AND {guessed} AND {norm.needs_python(v)}",
        )
    )
    # behind a CASE: in a FILTER the Python call would read every sampled value of every column
    currency_code = (
        f"(CASE WHEN {maybe_currency} THEN {sample} AND icp_currency({v}) IS NOT NULL ELSE false END)"
        if currency_named
        else "false"
    )
    # the sampled rows' aggregates read their cleaned value `_n`, not `null_if_missing` written out again (a smaller
    # statement to plan, and each value cleaned once)
    sampled = f"""{weighted("TRUE")} AS rows,
            {weighted(sample)} AS sampled,
            {weighted(f"{sample} AND {guessing(f'{norm.number(v)} IS NOT NULL')}")} AS number,
            {weighted(f"{sample} AND _a IS NOT NULL")} AS amount,
            {weighted(f"{sample} AND _a.currency IS NOT NULL")} AS currency_seen,
            {weighted(currency_code)} AS currency_code,
            {weighted(f"{sample} AND {guessing(f'{norm.boolean(v)} IS NOT NULL')}")} AS bool,
            {weighted(f"{sample} AND {guessing(_reads_as_date(v))}")} AS date,
            {weighted(f"{sample} AND {norm.band_is_range(v)}")} AS range,
            {weighted(f"{sample} AND {guessing(semicolon)}")} AS semicolon,
            count(DISTINCT {norm.category_key(v)}) AS distinct,
            count(DISTINCT lower(trim({v}))) FILTER ({sample} AND
                {guessing(norm.one_of(f"lower(trim({v}))", norm.CHECK_MARKS))}) AS mark_kinds,
            {weighted(dotted)} AS dotted,
            {weighted(f"{sample} AND {digits}")} AS digits,
            {weighted(guessing(leading_zero))} AS leading_zero,
            {weighted(f"{sample} AND contains({v}, chr(10))")} AS multiline,
            {weighted(f"{sample} AND {guessing(f'length(trim({v})) > 80')}")} AS long,
            coalesce(sum(length(trim({v})) * c) FILTER ({sample}) / nullif(sum(c) FILTER ({sample}), 0), 0) AS avg_len""".replace(
        norm.null_if_missing(v), "_n"
    )
    # the amount read only where the type is guessed (a CASE evaluates its branch on those rows alone)
    amount = norm.amount(v, python=python)
    amount = amount if guessed == "true" else f"CASE WHEN {guessed} THEN {amount} END"
    # every value's figures, its cleaned value too a column of its own (`_n`) read by them
    whole = f"""{weighted(f"{norm.null_if_missing(v)} IS NOT NULL")} AS present,
            coalesce({mdy}, 0) AS mdy, coalesce({dmy}, 0) AS dmy, coalesce({slashed}, 0) AS slashed,
            count(*) FILTER ({norm.null_if_missing(v)} IS NOT NULL) AS present_distinct,
            min(TRY_CAST(trim({v}) AS HUGEINT)) FILTER ({digits}) AS int_min,
            max(TRY_CAST(trim({v}) AS HUGEINT)) FILTER ({digits}) AS int_max,
            count(*) AS distinct_raw""".replace(norm.null_if_missing(v), "_n")
    sql = f"""WITH u AS MATERIALIZED ({_dist_union(evidence, index)}),
        whole AS (SELECT i,
            {whole}
            FROM (SELECT *, {norm.null_if_missing(v)} AS _n FROM u) GROUP BY i),
        sampled AS (SELECT i,
            {sampled}
            FROM (SELECT *, {amount} AS _a, {norm.null_if_missing(v)} AS _n FROM u
                  WHERE first_row <= {PROFILE_ROWS}) GROUP BY i)
        SELECT whole.*, sampled.* EXCLUDE (i)
        FROM whole LEFT JOIN sampled USING (i)"""
    result = con.execute(norm.functions_for(con, sql))
    names = [d[0] for d in result.description][1:]
    return {evidence[i]: dict(zip(names, (int(x or 0) for x in row))) for i, *row in result.fetchall()}


def _among(positions: list[int]) -> str:
    """SQL: the union's column `i` is one of `positions` ("false" for none)."""
    return f"i IN ({', '.join(str(k) for k in positions)})" if positions else "false"


def _reads_as_date(v: str) -> str:
    """SQL: `coalesce(norm.date(v, 'mdy'), norm.date(v, 'dmy')) IS NOT NULL`, with the order-free forms tried once.

    Both orders read a value that is not d/m/y or m/d/y the same way (ISO, month names, serials): coalesce tried
    them twice on every value that is not a date, some 10 us each (50 ms of CPU per 5,000 distinct employee counts).
    """
    slashed = f"regexp_matches(_icp_v, {sql_literal(norm._SLASHED)})"
    either = f"coalesce({norm.date('_icp_v', 'mdy', cleaned=True)}, {norm.date('_icp_v', 'dmy', cleaned=True)})"
    read = f"(CASE WHEN {slashed} THEN {either} ELSE {norm.date('_icp_v', None, cleaned=True)} END)"
    # the cleaned value bound once: written out in every use, the evidence statement's SQL took DuckDB as long to
    # parse and plan as to run (0.1 s of 0.2 s in a 1M-row import)
    return f"{norm._bound(norm.null_if_missing(v), read)} IS NOT NULL"


def _dist_union(headers: list[str], index: dict[str, int]) -> str:
    """SQL: the rows of the `_dist_<index[h]>` tables of `headers` as one relation (i, raw, c, first_row), i the
    position of the header in `headers`."""
    return " UNION ALL ".join(
        f"SELECT {k} AS i, raw, c, first_row FROM _dist_{index[h]}" for k, h in enumerate(headers)
    )


# Column names that say "a code, not a quantity" (postal codes, industry codes, phone numbers).
CODE_HINTS = re.compile(
    r"(?:^|_)(zip|zipcode|postal|postcode|plz|cep|naics|sic|phone|telephone|tel|fax|mobile|"
    r"cell|duns|ein|vat|iban|isin|fips|sku|ean|upc|isbn|code|codes)(?:_|$)"
)
FREE_TEXT_HINTS = re.compile(
    r"(?:^|_)(notes?|comments?|descriptions?|summary|remarks?|memo|feedback|details|"
    r"about|bio|message|body|transcript)(?:_|$)"
)
DATE_HINTS = re.compile(
    r"(?:^|_)(date|datum|day|time|timestamp|at|since|created|updated|modified|closed|signed)"
    r"(?:_|$)"
)
# the same, inside headers written without separators (BillingPostalCode, CallNotes, CloseDateTime)
CODE_WORDS = ("zip", "postal", "postcode", "naics", "phone", "telephone", "fax", "duns", "iban")
FREE_TEXT_WORDS = ("notes", "comment", "description", "remarks", "memo", "feedback", "transcript")


def _named(name: str, hints: re.Pattern, words: tuple[str, ...] = (), suffixes: tuple[str, ...] = ()) -> bool:
    """Does a column's name say what it is: a token (`postal_code`) or a word inside a joined header?"""
    joined = name.replace("_", "")
    return bool(hints.search(name)) or any(w in joined for w in words) or joined.endswith(suffixes)


ID_HINTS = re.compile(r"(?:^|_)(id|ids|key|uuid|guid|no|nr|num|number|ref|reference|row)$")
CURRENCY_HINTS = re.compile(r"(?:^|_)(currency|currency_code|currency_iso_code|currencyisocode|iso_code|ccy)$")


def infer_type(profile: dict[str, int], name: str = "") -> str:
    """The type of a column no synonym named, from its values (and what its name says it is).

    Codes (leading zeros, or named zip/postal/NAICS/SIC/phone/...code) stay text or category,
    never a number. Free text (line breaks, long values, or named notes/description/comment with
    long or mostly distinct values) is text. Numbers named like a date (`created_at`: epoch
    seconds, spreadsheet serials) are dates. A number with a currency is money.
    """
    present = profile["sampled"]
    if present == 0:
        return "text"
    small = profile["distinct"] <= max(MAX_CATEGORY_DISTINCT, present // 50) and profile["distinct"] < 0.5 * present
    if _named(name, CODE_HINTS, CODE_WORDS, ("code", "codes")) or (
        profile["leading_zero"] and profile["digits"] >= 0.98 * present
    ):
        return "category" if small else "text"
    if (
        profile["multiline"]
        or profile["long"] >= 0.3 * present
        or (
            _named(name, FREE_TEXT_HINTS, FREE_TEXT_WORDS)
            and (profile["avg_len"] >= 30 or profile["distinct"] >= 0.5 * present)
        )
    ):
        return "text"
    if profile["bool"] == present and profile["distinct"] - profile.get("mark_kinds", 0) <= 2:
        return "bool"  # yes/no, or ticks ("x", "✓") with blanks or with yes/no
    stray = present - profile["bool"]
    if 0 < stray <= max(1, 0.02 * present) and profile["number"] < present and profile["distinct"] <= 2 + stray:
        return "bool"  # yes/no with a stray "kinda": read as yes/no and the stray value reported unreadable
    if (
        _named(name, DATE_HINTS, suffixes=("date", "datetime", "timestamp"))
        and profile["digits"] >= 0.98 * present
        and profile["date"] >= 0.98 * present
    ):
        return "date"
    if profile["amount"] >= 0.98 * present:
        return "money" if profile["currency_seen"] else "number"
    if profile["range"] > 0 and profile["range"] + profile["number"] >= 0.98 * present:
        return "band"
    if profile["date"] >= 0.98 * present:
        return "date"
    if _named(name, DATE_HINTS, suffixes=("date", "datetime", "timestamp")) and profile["date"] >= 0.8 * present:
        return "date"  # a hand-kept date column with a few values typed loosely: those are reported unreadable
    if CURRENCY_HINTS.search(name) and profile["currency_code"] >= 0.9 * present:
        return "currency"
    if profile["semicolon"] >= 0.3 * present:
        return "list"
    if small:
        return "category"
    return "text"


def _identifies_rows(column: PlannedColumn, profile: dict[str, int]) -> bool:
    """True for a column that names each row: unique in every row (a running number too), never a trait."""
    present = profile["present"]
    if present < 10 or profile["present_distinct"] < present:
        return False
    if column.type not in ("number", "money", "percent"):
        return True
    running = profile["digits"] == profile["sampled"] and profile["int_max"] - profile["int_min"] + 1 == present
    return running or bool(ID_HINTS.search(column.name))


def infer_role(column: PlannedColumn, profile: dict[str, int], kind: str | None = None) -> str:
    """A column's role when the mapping gives none: "ignore" for empty, currency, person-name, free-text and
    row-identifying columns, "post_sale" for dates, for what is known only after the sale and for a deals
    file's money columns (a deal's value, discount or fee exists once there is a deal: no prospect list has
    it), else "fit". May set the column's note to say why it is ignored."""
    if column.role != "auto":
        return column.role
    if profile["present"] == 0:
        return "ignore"
    if column.type == "currency":
        return "ignore"
    words = _name_tokens(column.header)
    if column.type != "date" and PERSON_HINTS.search(words):
        column.note = column.note or "a person's name (a rep or a contact): never a trait of the company"
        return "ignore"
    if column.type == "date" or POST_SALE_HINTS.search(words) or POST_SALE_HINTS.search(column.name):
        return "post_sale"
    if kind == "deals" and column.type == "money":
        column.note = column.note or "a deal's money: known once there is a deal, never on a prospect list"
        return "post_sale"
    if column.type == "text":
        if profile["multiline"] or profile["avg_len"] >= 30:
            column.note = column.note or "free text: kept as written, never a category or a criterion"
        return "ignore"
    if _identifies_rows(column, profile):
        column.note = column.note or "identifies a row (a different value in every row): never a trait"
        return "ignore"
    if column.type not in ("number", "money", "percent") and profile["distinct"] > 0.9 * profile["rows"]:
        return "ignore"
    return "fit"
