"""How deals and contacts link to companies: by the key whose values actually match.

A column both files carry is only a candidate. Each candidate key is normalised and the
rows whose value finds a company are counted; the key that links the most rows wins (ties
go to the stronger key: id, then domain, then name). When keys link about as many rows
(within ABOUT_AS_MANY of the best), a key none of whose values fits several companies wins
over one with such ambiguous values: an id over names that "Irondata" and "Irondata GmbH" share
once normalised, even when the name links a few more rows; the choice and why are noted.
The same `LinkKey.expr` is what the analysis joins on (analysis/health.py,
analysis/personas.py), so the analysis joins exactly what the link report counted.

When the chosen key leaves rows unlinked (a value no company has, such as a personal e-mail's domain, or a
blank), the candidate key in another column linking the most of those rows is its fallback (`LinkKey.fallback`,
`_with_fallback`): those rows only link by it, a row whose first key fits several companies stays unlinked, and
the rows each key linked are noted. `expr`/`company_expr` are then one combined value, so the joins above follow.

Normalisation of each key (in SQL, once per query, never per row in Python):

- id: trimmed; a cell holding several ids (`9100;9101`, a HubSpot deal tied to two
  companies) keeps the first; `9100.0` (a spreadsheet's float) is `9100`; an id in
  scientific notation (`1.23457E+17`) lost its digits and matches nothing.
- Salesforce ids: when both columns hold 15/18-character Salesforce-shaped ids and the
  first 15 characters still identify one company, the first 15 characters (case-sensitive)
  are the key, so the 18-character id of an account matches the 15-character id of the
  same account in a report, while `...Ab005` and `...AB005` stay two accounts. Salesforce
  documents the 18-character form as the 15-character id plus a 3-character case checksum.
- domain: lower-cased, without scheme, `www.`, e-mail local part, path, port or trailing dot.
- e-mail (contacts without a company column): the domain of a work address matches the company's.
- name: lower-cased, accents and punctuation dropped, `&` read as `and`, and legal suffixes
  (Inc, LLC, Ltd, GmbH, AG, S.A., SAS, BV, NV, Pty Ltd, PLC, Corp, Co, Limited ...) removed: the
  stem. When several companies share a stem ("Pinewerk GmbH", "Pinewerk Co."), a name still links
  to the one company whose full name it is (the same normalisation with the suffix kept), else to
  the one company written exactly so (case and spacing aside: "Bergwave Ltd." beside "Bergwave
  Ltd"). A lookup exported as its company's name (Dynamics' "Potential Customer", a report's
  "Account Name") is written as the company is, so it links however many companies share its stem.

A domain links only where exactly one company has its normalised key, a name where exactly one
company has its stem, full name or written name (in that order). Two domains can be shared by
distinct companies, and a name can fit several by its stem and none by its full name ("Irondata
GmbH" beside "Irondata" and "Irondata LLC"); a row naming such a key is *ambiguous*: left
unlinked (never joined to whichever company comes first) and reported with the key and its
candidate companies. Companies
are told apart by their id when the file has one, else by their name as written (case and outer
spaces aside), else by the key's value as written. The report and the analysis agree because
both read the same company keys (`LinkKey.company_keys`): the report joins the distinct raw
values of the linking table to them once, and `LinkKey.company_expr` is NULL for a shared key
(for a name, the same expression as `LinkKey.expr`), so the analysis' joins
(health/health_score.py, personas/buyers.py) skip exactly those rows.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import threading
from dataclasses import dataclass

import duckdb

from icp_agent import numbers
from icp_agent.ingest import normalize as norm
from icp_agent.models import AmbiguousKey, LinkReport
from icp_agent.sql import columns_of, one

COMPANY_KEYS = ("company_id", "domain", "company_name")
METHOD = {"company_id": "id", "domain": "domain", "company_name": "name"}
FIRMOGRAPHIC_COLUMNS = ("industry", "employees_min", "country", "annual_revenue")
SCIENTIFIC = r"[0-9](\.[0-9]+)?[eE]\+?[0-9]+"
SF_SHAPE = r"[a-zA-Z0-9]{15}([A-Z0-5]{3})?"
LEGAL_SUFFIXES = (
    "inc",
    "incorporated",
    "llc",
    "l l c",
    "ltd",
    "limited",
    "gmbh",
    "ag",
    "sa",
    "s a",
    "sas",
    "s a s",
    "sarl",
    "sl",
    "s l",
    "slu",
    "bv",
    "b v",
    "nv",
    "n v",
    "pty",
    "plc",
    "corp",
    "corporation",
    "co",
    "company",
    "srl",
    "spa",
    "s p a",
    "oy",
    "ab",
    "kg",
    "kgaa",
    "pte",
    "lp",
    "llp",
    "ulc",
    "se",
)
MIN_LINKED_SHARE = 0.5
# Keys linking within this share of the best key's rows link "about as many": ambiguity decides between them.
ABOUT_AS_MANY = 0.05
# An imported table's name (importer: imp_<kind>_<first 12 hex digits of import_key>) names its content: the key
# hashes the file's bytes, the kind and every setting that changes what is stored, and the table is never changed
# once its import is recorded. A frame, a temp table or a query names no fixed content.
IMPORTED_TABLE = re.compile(r"imp_[a-z_]+_[0-9a-f]{12}")
_choices: dict[tuple[str, str], KeyChoice] = {}
_choices_lock = threading.Lock()


def _first_id(column: str) -> str:
    """The first id of a cell ("9100;9101" -> "9100"), "9100.0" read as "9100"."""
    first = f"trim(split_part(CAST({column} AS VARCHAR), ';', 1))"
    return f"nullif(regexp_replace({first}, '^([0-9]+)\\.0+$', '\\1'), '')"


def id_key(column: str, salesforce: bool = False) -> str:
    """SQL of an id link key: the cell's first id ("9100;9101" -> "9100", "9100.0" -> "9100"), its first 15 characters
    for Salesforce ids; NULL for a value in scientific notation (a spreadsheet's mangled id).
    """
    v = _first_id(column)
    key = f"left({v}, 15)" if salesforce else v
    return f"(CASE WHEN regexp_full_match({v}, '{SCIENTIFIC}') THEN NULL ELSE {key} END)"


def domain_key(column: str) -> str:
    """SQL of a domain link key: the normalised domain without a trailing dot, NULL when empty."""
    return f"nullif(rtrim({norm.domain(f'CAST({column} AS VARCHAR)')}, '.'), '')"


def _full_name(column: str) -> str:
    """`full_name_key` without the NULL for an empty name (an empty string): nullif repeats its argument in the
    plan, and these run on every row."""
    words = f"lower(strip_accents(replace(trim(CAST({column} AS VARCHAR)), '&', ' and ')))"
    return f"trim(regexp_replace({words}, '[^a-z0-9]+', ' ', 'g'))"


def _stem(column: str) -> str:
    """`name_key` without the NULL for an empty name."""
    suffixes = "|".join(LEGAL_SUFFIXES)
    return f"regexp_replace({_full_name(column)}, '( ({suffixes}))+$', '')"


def _written_name(column: str) -> str:
    """`written_name_key` without the NULL for an empty name."""
    return f"lower(trim(regexp_replace(CAST({column} AS VARCHAR), '\\s+', ' ', 'g')))"


def full_name_key(column: str) -> str:
    """SQL of a company's full name as a key: lower case, accents stripped, & as "and", each run of punctuation and
    spaces as one space, legal suffixes kept ("Pinewerk GmbH" -> "pinewerk gmbh"); NULL when nothing is left.
    """
    return f"nullif({_full_name(column)}, '')"


def written_name_key(column: str) -> str:
    """SQL of a company's name as written, case and spacing aside ("Bergwave  Ltd." -> "bergwave ltd."); NULL when
    empty."""
    return f"nullif({_written_name(column)}, '')"


def name_key(column: str) -> str:
    """SQL of a company-name link key (the name's stem): `full_name_key` with its trailing legal suffixes (Inc, LLC,
    GmbH, ...) removed ("Pinewerk GmbH" -> "pinewerk"); NULL when nothing is left.
    """
    return f"nullif({_stem(column)}, '')"


LOOKUP_BUCKETS = 1 << 16


def hashed_lookup(pairs: str, value: str) -> str:
    """SQL: the k of the row of `pairs` (a query of distinct f -> k) whose f is `value`, NULL when none. The pairs
    become one constant per query: a list of LOOKUP_BUCKETS small maps by hash(f), so each row's lookup reads one
    bucket (a single DuckDB map is searched entry by entry: 300,000 lookups in 200,000 pairs took 8 s, bucketed
    0.4 s) and no per-row subquery runs."""
    buckets = (
        f"(SELECT list(g.m ORDER BY r.range) FROM range({LOOKUP_BUCKETS}) r LEFT JOIN (SELECT b, map(list(f), "
        f"list(k)) AS m FROM (SELECT CAST(hash(f) % {LOOKUP_BUCKETS} AS BIGINT) AS b, f, k FROM ({pairs})) "
        f"GROUP BY b) g ON g.b = r.range)"
    )
    return f"{buckets}[CAST(hash({value}) % {LOOKUP_BUCKETS} AS BIGINT) + 1][{value}]"


@dataclass(frozen=True)
class LinkKey:
    """The chosen key: a column of the linking table, the companies' column it matches, and how values are
    normalised. The companies' column is the same field except for an e-mail, which matches the domain.

    `companies` (the companies' table) and `identity` (its columns among company_id, company_name) are set for
    a name or domain key chosen by `choose_key`: they say which normalised keys several companies share."""

    field: str  # company_id | domain | company_name | email (the linking table's column)
    method: str  # id | salesforce_id | domain | name | email domain
    companies: str | None = None
    identity: tuple[str, ...] = ()
    # the linking table's column when it is not `field`: a column chosen by its values (a Close "lead_id" holding
    # the companies' record ids), `field` then says which of the companies' keys its values are
    column: str | None = None
    header: str | None = None  # `column`'s header in the file, as the user knows it
    # the key tried for the rows this one leaves unlinked (no match, or blank): a Stripe row with a gmail address
    # still names its company; set by `choose_key`, with `companies` set on both
    fallback: LinkKey | None = None

    @property
    def first(self) -> LinkKey:
        """This key without its fallback: the key the first rows link by."""
        return dataclasses.replace(self, fallback=None) if self.fallback else self

    def value(self, alias: str) -> str:
        """SQL of the raw value(s) the key reads of a row: its column, or with a fallback a row of both keys'
        values (what `_matches` groups on, and joins back on with IS NOT DISTINCT FROM)."""
        if self.fallback is None:
            return f"{alias}.{self.source}"
        return f"row({self.first.value(alias)}, {self.fallback.value(alias)})"

    def columns(self) -> list[str]:
        """The linking table's columns the key reads, as SQL."""
        return [self.source, *(self.fallback.columns() if self.fallback else [])]

    def ambiguous(self, alias: str) -> str:
        """SQL: the row's value fits several companies by this key (without its fallback), so it stays unlinked."""
        if not self.resolves:
            return "FALSE"
        shared = f"(SELECT k FROM {self.company_keys()} WHERE companies > 1)"
        if self.field == "company_name":
            return f"({self.expr(alias)} IS NULL AND {name_key(f'{alias}.{self.source}')} IN {shared})"
        return f"coalesce({self._plain(f'{alias}.{self.source}')} IN {shared}, FALSE)"

    @property
    def source(self) -> str:
        """The linking table's column holding the key, as SQL (quoted unless a plain snake_case name)."""
        name = self.column or self.field
        return name if re.fullmatch(r"[a-z_][a-z0-9_]*", name) else _quoted(name)

    @property
    def company_field(self) -> str:
        """The companies' field the key matches: domain for an email key, else the key's own field."""
        return "domain" if self.field == "email" else self.field

    @property
    def resolves(self) -> bool:
        """True for a name or domain key checked for companies sharing it (ids are one company each)."""
        return self.field != "company_id" and self.companies is not None

    def expr(self, alias: str) -> str:
        """SQL of the normalised key of a deal's or contact's row (`alias` is the table or its alias).

        With a fallback: the first key's value when it links the row; NULL when it fits several companies (kept
        out, as with one key); else `company_expr` of the one company the fallback's value names (looked up in
        `hashed_lookup`, once per query, not per row), NULL when none."""
        if self.fallback is None:
            return self._normalised(f"{alias}.{self.source}")
        first, second = self.first, self.fallback
        own = first.expr(alias)
        if first.field == "company_name" and first.resolves:  # a name's key is NULL unless it links
            linked = f"{own} IS NOT NULL"
        elif first.resolves:
            linked = f"{own} IN (SELECT k FROM {first.company_keys()} WHERE companies = 1)"
        else:
            linked = f"{own} IN (SELECT {first.company_expr('c__')} FROM {self.companies} c__)"
        pairs = (
            f"SELECT f, min(k) AS k FROM (SELECT {second.company_expr('c__')} AS f, {self.company_expr('c__')} AS k "
            f"FROM {self.companies} c__) WHERE f IS NOT NULL AND k IS NOT NULL GROUP BY f HAVING count(DISTINCT k) = 1"
        )
        return (
            f"(CASE WHEN {linked} THEN {own} WHEN {first.ambiguous(alias)} THEN NULL "
            f"ELSE {hashed_lookup(pairs, second.expr(alias))} END)"
        )

    def company_expr(self, alias: str) -> str:
        """SQL of the normalised key of a company's row, comparable with `expr`; NULL when several companies
        share the key (so a join on it never picks one of them). A name key is the same expression on both sides
        (`_name_link`), NULL already where neither the stem nor the full name is one company's. With a fallback:
        the first key's, else the fallback's marked (chr(1)) so the two kinds never collide."""
        if self.fallback is not None:
            return f"coalesce({self.first.company_expr(alias)}, chr(1) || {self.fallback.company_expr(alias)})"
        key = self._normalised(f"{alias}.{self.company_field}")
        if not self.resolves or self.field == "company_name":
            return key
        shared = f"(SELECT k FROM {self.company_keys()} WHERE companies > 1)"
        return f"(CASE WHEN {key} IN {shared} THEN NULL ELSE {key} END)"

    def company_keys(self, name_form: str = "stem") -> str:
        """SQL: one row per normalised key of the companies (k), how many distinct companies have it (companies)
        and up to three of them as written (names, sorted). For a name key, k is the name's stem (`name_key`), or
        with `name_form` "full" its full name (`full_name_key`), "written" its name as written
        (`written_name_key`)."""
        if self.companies is None:
            raise ValueError(f"the {self.method} key was made without its companies' table")
        raw = f"CAST(c.{self.company_field} AS VARCHAR)"
        label = f"coalesce(CAST(c.company_name AS VARCHAR), {raw})" if "company_name" in self.identity else raw
        names = "list(DISTINCT label ORDER BY label) FILTER (label IS NOT NULL)[1:3]"
        column = f"c.{self.company_field}"
        forms = {"full": full_name_key, "written": written_name_key}
        key = forms[name_form](column) if name_form in forms else self._plain(column)
        return (
            f"(SELECT k, count(DISTINCT ident) AS companies, {names} AS names FROM "
            f"(SELECT {key} AS k, {self._identity('c')} AS ident, "
            f"{label} AS label FROM {self.companies} c) WHERE k IS NOT NULL GROUP BY k)"
        )

    def _identity(self, alias: str) -> str:
        """SQL telling two companies apart: the id when the file has one, else the name as written (case and outer
        spaces aside), else the key column as written."""
        parts = [id_key(f"{alias}.company_id")] if "company_id" in self.identity else []
        columns = (["company_name"] if "company_name" in self.identity else []) + [self.company_field]
        parts += [f"nullif(lower(trim(CAST({alias}.{c} AS VARCHAR))), '')" for c in dict.fromkeys(columns)]
        return parts[0] if len(parts) == 1 else f"coalesce({', '.join(parts)})"

    def _normalised(self, column: str) -> str:
        if self.field == "company_name" and self.resolves:
            return self._name_link(column)
        return self._plain(column)

    def _plain(self, column: str) -> str:
        """SQL of the value's key before any lookup: the id, domain or name stem."""
        if self.field == "company_id":
            return id_key(column, self.method == "salesforce_id")
        return name_key(column) if self.field == "company_name" else domain_key(column)

    def _name_link(self, column: str) -> str:
        """SQL of a name's link key, the same for a deal's or contact's name and a company's: the stem when exactly
        one company has it; else the full name (legal suffix kept, punctuation aside) when exactly one company has
        that ("Pinewerk GmbH" links to Pinewerk GmbH beside a Pinewerk Co.); else the name as written (case and
        spacing aside) when exactly one company is written so ("Bergwave Ltd." beside a "Bergwave Ltd"); else NULL
        (the name fits several companies, or none).

        The three kinds of key never collide: each is a coarser form's input, so a name whose written form equals
        another company's unique full name or stem has that full name or stem itself and links at that level
        first. Uncorrelated subqueries over the companies' distinct keys: no per-row lookup."""
        parts = []
        for sql in (_stem, _full_name, _written_name):  # an empty key is never one company's
            one = (
                f"(SELECT k FROM (SELECT {sql(f'c.{self.company_field}')} AS k, {self._identity('c')} AS ident "
                f"FROM {self.companies} c) WHERE k <> '' GROUP BY k HAVING count(DISTINCT ident) = 1)"
            )
            parts.append(f"WHEN {sql(column)} IN {one} THEN {sql(column)}")
        return f"(CASE {' '.join(parts)} END)"

    @property
    def label(self) -> str:
        """The matching method in words, as LinkReport.method shows it."""
        if self.fallback is not None:
            return f"{self.first.label}, then {self.fallback.label} for the rows it leaves unlinked"
        words = "Salesforce id (first 15 characters)" if self.method == "salesforce_id" else self.method
        return f"{words} in column {self.header or self.column!r}" if self.column else words


@dataclass
class KeyChoice:
    """The link key chosen (None when none links), rows each candidate would link, and notes for the report."""

    key: LinkKey | None
    tried: dict[str, int]  # method -> rows linked
    notes: list[str]


def _salesforce_shaped(con, table: str, companies: str) -> bool:
    """Both columns hold Salesforce-shaped ids and the first 15 characters still tell the companies apart."""
    rows = []
    for t in (table, companies):
        v = _first_id(f"{t}.company_id")
        rows.append(
            con.execute(
                f"SELECT count({v}), count_if(regexp_full_match({v}, '{SF_SHAPE}')), "
                f"count_if(length({v}) = 18), count(DISTINCT {v}), count(DISTINCT left({v}, 15)) "
                f"FROM {t}"
            ).fetchone()
        )
    (n1, shaped1, long1, *_), (n2, shaped2, long2, distinct, distinct15) = rows
    return bool(
        n1
        and n2
        and shaped1 == n1
        and shaped2 == n2
        and (long1 or long2)
        and distinct == distinct15
        and (long1 < n1 or long2 < n2)
    )


def _checksum_ok(v: str) -> str:
    """SQL: an 18-character Salesforce id whose last 3 characters are the case checksum of its first 15
    (per 5-character chunk, bit i set when character i is upper-case, read in 'A'..'Z','0'..'5')."""
    table = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
    chunks = []
    for j in range(3):
        bits = " + ".join(
            f"(CASE WHEN ascii(substr({v}, {5 * j + i + 1}, 1)) BETWEEN 65 AND 90 THEN {1 << i} ELSE 0 END)"
            for i in range(5)
        )
        chunks.append(f"substr('{table}', {bits} + 1, 1) = substr({v}, {16 + j}, 1)")
    return "(" + " AND ".join(chunks) + ")"


def _bad_checksums(con, tables: tuple[str, ...]) -> tuple[int, int]:
    """(18-character ids, of which with a checksum that does not match) over the tables' company_id."""
    long = bad = 0
    for t in tables:
        v = _first_id(f"{t}.company_id")
        n, wrong = con.execute(
            f"SELECT count_if(length({v}) = 18), count_if(length({v}) = 18 AND NOT {_checksum_ok(v)}) FROM {t}"
        ).fetchone()
        long, bad = long + n, bad + wrong
    return long, bad


def _matches(table: str, companies: str, key: LinkKey) -> str:
    """SQL: each distinct raw key value of `table` (column v), how many rows carry it (n), its normalised key (k),
    how many companies have that key (companies), whether it finds exactly one (ok) and whether it fits several
    (ambiguous). One join of the distinct values to the companies' distinct keys: normalising distinct values,
    not rows, is what keeps this cheap on big exports."""
    if key.fallback is not None:
        # v is the row of both keys' raw values; a value fitting several companies by the first key stays out
        cols = ", ".join(dict.fromkeys(key.columns()))
        return (
            f"SELECT x.v, x.n, x.k, CASE WHEN x.k IS NOT NULL THEN 1 ELSE 0 END AS companies, x.k IS NOT NULL AS ok, "
            f"x.k IS NULL AND x.a AS ambiguous, []::VARCHAR[] AS names FROM (SELECT {key.value('y')} AS v, n, "
            f"{key.expr('y')} AS k, {key.first.ambiguous('y')} AS a FROM (SELECT {cols}, count(*) AS n FROM {table} "
            f"GROUP BY ALL) y) x"
        )
    if key.field == "company_name" and key.resolves:
        return _name_matches(table, key)
    keys = (
        key.company_keys()
        if key.resolves
        else (
            f"(SELECT {key.company_expr('c')} AS k, 1 AS companies, []::VARCHAR[] AS names FROM {companies} c "
            f"GROUP BY ALL)"
        )
    )
    return (
        f"SELECT x.v, x.n, x.k, coalesce(ck.companies, 0) AS companies, coalesce(ck.companies = 1, FALSE) AS ok, "
        f"coalesce(ck.companies > 1, FALSE) AS ambiguous, ck.names FROM (SELECT y.{key.source} AS v, n, "
        f"{key.expr('y')} AS k FROM (SELECT {key.source}, count(*) AS n FROM {table} GROUP BY ALL) y) x "
        f"LEFT JOIN {keys} ck ON ck.k = x.k"
    )


def _name_matches(table: str, key: LinkKey) -> str:
    """`_matches` for a name key: a value links when its `LinkKey._name_link` key is set (its stem or its full name
    is one company's); it is ambiguous when it does not and its stem fits several companies, which `names` lists
    and k (the stem) shows."""
    return (
        f"SELECT x.v, x.n, coalesce(x.r, x.s) AS k, CASE WHEN x.r IS NOT NULL THEN 1 "
        f"ELSE coalesce(ck.companies, 0) END AS companies, x.r IS NOT NULL AS ok, "
        f"x.r IS NULL AND coalesce(ck.companies > 1, FALSE) AS ambiguous, ck.names FROM (SELECT y.{key.source} AS v, "
        f"n, {key.expr('y')} AS r, {name_key(f'y.{key.source}')} AS s FROM (SELECT {key.source}, count(*) AS n "
        f"FROM {table} GROUP BY ALL) y) x LEFT JOIN {key.company_keys()} ck ON ck.k = x.s"
    )


def _count_linked(con, table: str, companies: str, key: LinkKey) -> tuple[int, int]:
    """(rows the key links, rows left unlinked because their value fits several companies)."""
    linked, ambiguous = con.execute(
        f"SELECT coalesce(sum(n) FILTER (ok), 0), coalesce(sum(n) FILTER (ambiguous), 0) "
        f"FROM ({_matches(table, companies, key)})"
    ).fetchone()
    return int(linked), int(ambiguous)


def _pick(counts: list[tuple[LinkKey, int, int]]) -> tuple[LinkKey | None, str | None]:
    """The key to link by among (key, rows linked, rows ambiguous), strongest key first, and why when ambiguity
    (not the count alone) decided: keys within ABOUT_AS_MANY of the most rows linked count as equal, and among
    them one with no ambiguous value wins; then the most rows; then the stronger key."""
    if not counts:
        return None, None
    most = max(n for _, n, _ in counts)
    by_count = next(k for k, n, _ in counts if n == most)
    near = [(k, n, a) for k, n, a in counts if n >= most - ABOUT_AS_MANY * most]
    clean = [c for c in near if c[2] == 0]
    pool = clean or near
    best = max(pool, key=lambda c: c[1])  # max keeps the first (the stronger key) on a tie
    others = [(k, n, a) for k, n, a in counts if k is not best[0] and a]
    if not others or best[2]:
        return best[0], None
    shown = "; ".join(f"{k.label} would link {n:,} and leaves {a:,} fitting several companies" for k, n, a in others)
    why = f"linked by {best[0].label}: {best[1]:,} rows, none of its values fits several companies ({shown})" + (
        ""
        if best[0] is by_count
        else f"; about as many rows (within {numbers.percent(ABOUT_AS_MANY, 0)}), so the key with no ambiguous value wins"
    )
    return best[0], why


def choose_key(con: duckdb.DuckDBPyConnection, table: str, companies: str) -> KeyChoice:
    """The key that links the most rows of `table` to `companies` (among keys linking about as many, one with no
    ambiguous value: `_pick`), with the count of every key tried and, in `notes`, why when ambiguity decided.

    Between two imported tables (IMPORTED_TABLE: their names fix their content) the choice is made once per
    process: the link report, the health frame and the customer filter each ask for it, and each choice counts
    every candidate key over both tables. Each caller gets its own copy."""
    pair = (table, companies)
    if not all(IMPORTED_TABLE.fullmatch(name) for name in pair):
        return _choose_key(con, table, companies)
    with _choices_lock:
        found = _choices.get(pair)
    if found is None:
        found = _choose_key(con, table, companies)
        with _choices_lock:
            _choices[pair] = found
    return copy.deepcopy(found)


def _choose_key(con: duckdb.DuckDBPyConnection, table: str, companies: str) -> KeyChoice:
    own, theirs = columns_of(con, table), columns_of(con, companies)
    shared = own & theirs
    identity = tuple(c for c in ("company_id", "company_name") if c in theirs)
    candidates = []
    for field in COMPANY_KEYS:
        if field not in shared:
            continue
        if field == "company_id" and _salesforce_shaped(con, table, companies):
            candidates.append(LinkKey(field, "salesforce_id"))
        candidates.append(
            LinkKey(field, METHOD[field])
            if field == "company_id"
            else LinkKey(field, METHOD[field], companies, identity)
        )
    if "email" in own and "domain" in theirs and "domain" not in own:  # a contact's work e-mail names its company
        candidates.append(LinkKey("email", "email domain", companies, identity))
    tried, counts = {}, []
    for key in candidates:
        n, ambiguous = _count_linked(con, table, companies, key)
        tried[key.method] = n
        counts.append((key, n, ambiguous))
    rows = _one(con, f"SELECT count(*) FROM {table}")
    most = max((n for _, n, _ in counts), default=0)
    named = next(((n, a) for k, n, a in counts if k is _pick(counts)[0]), (0, 0))
    by_values: list[tuple[LinkKey, int, int]] = []
    if rows and (named[0] < (1 - ABOUT_AS_MANY) * rows or named[1]):
        # the named keys leave rows unlinked: a column named otherwise may hold the companies' keys (Close's
        # lead_id, read as nothing or as a contact id, holds the leads' ids)
        for key in _keys_by_values(con, table, companies, identity):
            n, ambiguous = _count_linked(con, table, companies, key)
            tried[key.label] = n
            if n >= MIN_LINKED_SHARE * rows:  # screened on a sample of a big table: counted over every row here
                by_values.append((key, n, ambiguous))
    best, why = _pick(counts + by_values)
    notes = [why] if why else []
    chosen = next(((n, a) for k, n, a in by_values if k is best), None)
    if best is not None and chosen is not None:
        others = f"{most:,} by the best key named as one" if counts else "no column named as a company key"
        notes.append(
            f"linked by the values of column {best.header or best.column!r}: {chosen[0]:,} of {rows:,} rows hold a "
            f"company's {best.method if best.method != 'id' else 'record id'} ({others}); to link otherwise, map a column to "
            f"company_id, domain or company_name in a mapping file"
        )
    if best is not None:
        best = _with_fallback(con, table, companies, best, counts + by_values, notes)
    if best and best.method == "salesforce_id":
        long, bad = _bad_checksums(con, (table, companies))
        if bad:
            notes.append(
                f"{bad:,} of {long:,} 18-character ids carry a checksum that does not fit their first 15 "
                f"characters (edited or hand-made ids?): matched on the first 15 characters all the same"
            )
    return KeyChoice(best, tried, notes)


def _with_fallback(
    con: duckdb.DuckDBPyConnection,
    table: str,
    companies: str,
    best: LinkKey,
    candidates: list[tuple[LinkKey, int, int]],
    notes: list[str],
) -> LinkKey:
    """`best`, or `best` with a fallback: for the rows it leaves unlinked (a value no company has, or a blank;
    never a value fitting several companies), the candidate key in another column linking the most of them.
    The rows each key links go to `notes`. One count per candidate, over the distinct pairs of values."""
    linked = next(n for k, n, _ in candidates if k is best)
    rows = _one(con, f"SELECT count(*) FROM {table}")
    if linked >= rows:
        return best
    first = dataclasses.replace(best, companies=companies)
    chosen, most = None, linked
    for key, n, _ in candidates:
        if key.source == best.source or not n:
            continue
        second = dataclasses.replace(key, companies=companies)
        if not _may_add(con, table, companies, first, second):
            continue
        trial = dataclasses.replace(first, fallback=second)
        total, _ = _count_linked(con, table, companies, trial)
        if total > most:
            chosen, most = trial, total
    if chosen is None or chosen.fallback is None:
        return best
    notes.append(
        f"linked by {best.label}: {linked:,} of {rows:,} rows; by {chosen.fallback.label} for the rows the "
        f"{best.label} leaves unlinked: {most - linked:,} more"
    )
    return chosen


def _may_add(con: duckdb.DuckDBPyConnection, table: str, companies: str, first: LinkKey, second: LinkKey) -> bool:
    """Whether `second` links by itself some row `first` leaves unlinked without fitting several companies: each
    key's `_matches` (one join of distinct values) over the distinct pairs of the two columns. The exact count of the
    fallback's lookup runs only then: on the demo's deals and contacts every trial added nothing and cost 0.2-0.35 s."""
    found = con.execute(
        f"SELECT count(*) FROM (SELECT {first.source} AS a, {second.source} AS b FROM {table} GROUP BY ALL) p "
        f"LEFT JOIN ({_matches(table, companies, first)}) f ON f.v IS NOT DISTINCT FROM p.a "
        f"JOIN ({_matches(table, companies, second)}) s ON s.v IS NOT DISTINCT FROM p.b AND s.ok "
        f"WHERE NOT coalesce(f.ok, FALSE) AND NOT coalesce(f.ambiguous, FALSE)"
    ).fetchone()
    return bool(found and found[0])


# A table's own record id: never a link to the companies, whatever its values (numeric ids of two objects collide).
OWN_ID = {"deals": "deal_id", "contacts": "contact_id"}
BY_VALUE_TYPES = ("VARCHAR", "BIGINT", "INTEGER", "HUGEINT", "UBIGINT")
BY_VALUE_SAMPLE = 50_000  # rows a big table's columns are screened on


def _keys_by_values(
    con: duckdb.DuckDBPyConnection, table: str, companies: str, identity: tuple[str, ...]
) -> list[LinkKey]:
    """Keys in columns of `table` not named as a company key whose values are the companies' ids, domains or names:
    each (column, company key) whose distinct values match at least MIN_LINKED_SHARE of the rows. One scan of `table` (its text and integer columns unpivoted to distinct
    (column, value) pairs) and one join of those pairs to each key's distinct company values: each distinct value is
    normalised once."""
    kind = table.split("_")[1] if IMPORTED_TABLE.fullmatch(table) else None
    own = {OWN_ID[kind]} if kind in OWN_ID else set(OWN_ID.values())
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {table})").fetchall())
    columns = [
        c
        for c, t in types.items()
        if t in BY_VALUE_TYPES and not c.startswith("_") and c not in (*COMPANY_KEYS, "email", *own)
    ]
    theirs = columns_of(con, companies)
    forms = [
        (f, sql)
        for f, sql in (("company_id", id_key), ("domain", domain_key), ("company_name", name_key))
        if f in theirs
    ]
    if not columns or not forms:
        return []
    rows = _one(con, f"SELECT count(*) FROM {table}")
    cast = ", ".join(f"CAST({_quoted(c)} AS VARCHAR) AS {_quoted(c)}" for c in columns)
    # a big table is screened on every step-th row (export order, deterministic): the share a column matches is
    # estimated, and the caller counts the columns kept over every row (`_count_linked`)
    step = rows // BY_VALUE_SAMPLE if rows > 2 * BY_VALUE_SAMPLE and "_row" in types else 1
    sample = f"{table} WHERE _row % {step} = 0" if step > 1 else table
    if step > 1:
        rows = _one(con, f"SELECT count(*) FROM {sample}")
    pairs = (
        f"SELECT col, val, count(*) AS n FROM (UNPIVOT (SELECT {cast} FROM {sample}) ON "
        f"{', '.join(_quoted(c) for c in columns)} INTO NAME col VALUE val) GROUP BY ALL"
    )
    # on a sample, a little below the share: the count over every row decides
    least = MIN_LINKED_SHARE * rows * (0.8 if step > 1 else 1)
    found = " UNION ALL ".join(
        f"(SELECT '{field}' AS field, p.col, sum(p.n) AS n FROM pairs p JOIN (SELECT DISTINCT {sql('c.' + field)} AS k "
        f"FROM {companies} c) i ON i.k = {sql('p.val')} GROUP BY p.col HAVING sum(p.n) >= {least!r})"
        for field, sql in forms
    )
    headers = _source(con, table)[1]
    keys = []
    for field, column, _ in sorted(con.execute(f"WITH pairs AS MATERIALIZED ({pairs}) {found}").fetchall()):
        keys.append(
            LinkKey(field, METHOD[field], column=column, header=headers.get(column, column))
            if field == "company_id"
            else LinkKey(field, METHOD[field], companies, identity, column, headers.get(column, column))
        )
    order = {f: i for i, f in enumerate(COMPANY_KEYS)}
    return sorted(keys, key=lambda k: order[k.field])  # the stronger key first: `_pick` keeps it on a tie


def company_key(con: duckdb.DuckDBPyConnection, table: str, companies: str) -> LinkKey | None:
    """The key the analysis joins `table` to `companies` on (the one the link report counted)."""
    return choose_key(con, table, companies).key


def key_expr(key: LinkKey | str, alias: str) -> str:
    """The normalised key of a row (kept for callers written before LinkKey; prefer key.expr/company_expr)."""
    if isinstance(key, str):
        key = LinkKey(key, METHOD.get(key, key))
    return key.expr(alias)


def _scientific_ids(con, table: str) -> int:
    if "company_id" not in columns_of(con, table):
        return 0
    return con.execute(
        f"SELECT count_if(regexp_full_match({_first_id('company_id')}, '{SCIENTIFIC}')) FROM {table}"
    ).fetchone()[0]


def _multiple(con, table: str) -> int:
    if "company_id" not in columns_of(con, table):
        return 0
    return con.execute(
        f"SELECT count_if(len(list_filter(string_split(CAST(company_id AS VARCHAR), ';'), "
        f"lambda x: trim(x) <> '')) > 1) FROM {table}"
    ).fetchone()[0]


def _cause(
    con,
    kind: str,
    table: str,
    companies: str,
    choice: KeyChoice,
    rows: int,
    usable: int,
    ambiguous: tuple[int, list[AmbiguousKey]] = (0, []),
) -> str | None:
    """The likely reason few rows link, in words a user can act on (None when enough link)."""
    if rows == 0 or usable > MIN_LINKED_SHARE * rows:
        return None
    if ambiguous[0] and choice.key and ambiguous[0] + usable > MIN_LINKED_SHARE * rows:
        shown = "; ".join(f"{e['value']!r} fits {' / '.join(e['companies'])}" for e in ambiguous[1][:3])
        return (
            f"{ambiguous[0]:,} {kind} name a {choice.key.label} several companies share once normalised (e.g. "
            f"{shown}): {id_mapping_hint(con, kind, table, companies)}"
        )
    sci_companies, sci_rows = _scientific_ids(con, companies), _scientific_ids(con, table)
    if sci_companies or sci_rows:
        where = " and ".join(
            f"{n:,} in the {what} file" for n, what in ((sci_companies, "companies"), (sci_rows, kind)) if n
        )
        return (
            f"ids in scientific notation lost their digits ({where}, e.g. 1.23457E+17): re-export the id "
            f"column as text, or link by domain or name"
        )
    if choice.key is None:
        return f"the {kind} and the companies share no key column (a company id, domain or name): " + key_mapping_hint(
            con, kind, table, companies
        )
    columns = columns_of(con, table) & columns_of(con, companies)
    if "company_id" in columns:
        lengths = [
            {
                r[0]
                for r in con.execute(
                    f"SELECT DISTINCT length({_first_id(f'{t}.company_id')}) "
                    f"FROM {t} WHERE company_id IS NOT NULL LIMIT 5"
                ).fetchall()
            }
            for t in (table, companies)
        ]
        if {15, 18} <= lengths[0] | lengths[1] and lengths[0] != lengths[1]:
            return (
                "15- and 18-character ids that do not share their first 15 characters: check both files "
                "come from the same Salesforce org"
            )
    best = max(choice.tried.values(), default=0)
    return (
        f"the {kind}' {', '.join(choice.tried)} values hardly match the companies' ({best:,} of {rows:,} at "
        f"best): the files may come from different systems or exports; map a shared key with a mapping file"
    )


def link_deals(con: duckdb.DuckDBPyConnection, deals: str, customers: str) -> LinkReport:
    """How the deals link to the companies: the key chosen, linked / standalone / unlinked counts, the cause."""
    choice = choose_key(con, deals, customers)
    key = choice.key
    columns = columns_of(con, deals)
    own = [c for c in FIRMOGRAPHIC_COLUMNS if c in columns]
    has_own = " OR ".join(f"d.{c} IS NOT NULL" for c in own) or "FALSE"
    join = (
        f"LEFT JOIN ({_matches(deals, customers, key)}) m ON m.v IS NOT DISTINCT FROM {key.value('d')}" if key else ""
    )
    matched = "coalesce(m.ok, FALSE)" if key else "FALSE"
    label = ", ".join(f"d.{c}" for c in ("deal_id", "company_id", "company_name", "domain") if c in columns)
    rows, linked, standalone = one(
        con, f"SELECT count(*), count_if({matched}), count_if(NOT ({matched}) AND ({has_own})) FROM {deals} d {join}"
    )
    examples = con.execute(
        f"SELECT d._row, {label or 'NULL'} FROM {deals} d {join} WHERE NOT ({matched}) "
        f"AND NOT ({has_own}) ORDER BY d._row LIMIT 10"
    ).fetchall()
    names = ["row", *[c.split(".")[1] for c in label.split(", ")]] if label else ["row"]
    return _report(
        "deals",
        deals,
        customers,
        con,
        choice,
        rows,
        linked,
        standalone,
        [dict(zip(names, r)) for r in examples],
        ambiguity(con, deals, choice.key),
    )


def ambiguity(
    con: duckdb.DuckDBPyConnection, table: str, key: LinkKey | None, linked_otherwise: str | None = None, limit: int = 5
) -> tuple[int, list[AmbiguousKey]]:
    """Rows of `table` left unlinked because their name or domain fits several companies, and the commonest such
    values: (rows, [{"value": "Irondata LLC", "key": "irondata", "rows": 12, "companies": ["Irondata",
    "Irondata LLC"]}]), the companies as the companies' file names them (at most three).

    `linked_otherwise` is SQL over the rows (alias `p`) true where another key links the row (a contact's deal
    id): those rows are not counted."""
    if key is not None and key.fallback is not None:
        # the rows the first key leaves out as ambiguous, and of the rest those the fallback leaves out so
        first, examples = ambiguity(con, table, key.first, linked_otherwise, limit)
        settled = f"{key.expr('p')} IS NOT NULL OR {key.first.ambiguous('p')}"
        if linked_otherwise:
            settled = f"coalesce({linked_otherwise}, FALSE) OR {settled}"
        second, more = ambiguity(con, table, key.fallback, settled, limit)
        return first + second, sorted(examples + more, key=lambda e: -e["rows"])[:limit]
    if key is None or not key.resolves:
        return 0, []
    matches = f"SELECT v, k, n, names FROM ({_matches(table, key.companies or '', key)}) WHERE ambiguous"
    if linked_otherwise:  # count the rows, not the distinct values: some of a value's rows may link otherwise
        matches = (
            f"SELECT m.v, m.k, count(*) AS n, any_value(m.names) AS names FROM {table} p JOIN ({matches}) m "
            f"ON m.v IS NOT DISTINCT FROM p.{key.source} WHERE NOT coalesce({linked_otherwise}, FALSE) "
            f"GROUP BY m.v, m.k"
        )
    found = con.execute(
        f"SELECT CAST(v AS VARCHAR), k, n, names, sum(n) OVER () FROM ({matches}) "
        f"ORDER BY n DESC, k, 1 LIMIT {int(limit)}"
    ).fetchall()
    if not found:
        return 0, []
    examples = [AmbiguousKey(value=v, key=k, rows=n, companies=list(names)) for v, k, n, names, _ in found]
    return int(found[0][4]), examples


def _source(con, table: str) -> tuple[str | None, dict[str, str]]:
    """The file a workspace table was imported from and its stored column -> header (empty outside a workspace)."""
    try:
        row = con.execute(
            "SELECT file_name, CAST(report AS VARCHAR) FROM imports WHERE table_name = ?", [table]
        ).fetchone()
    except duckdb.Error:  # a bare table (no workspace around it)
        return None, {}
    if not row:
        return None, {}
    columns = json.loads(row[1] or "{}").get("columns", [])
    return row[0], {c["field"]: c["header"] for c in columns if "field" in c and "header" in c}


def id_mapping_hint(con: duckdb.DuckDBPyConnection, kind: str, table: str, companies: str | None) -> str:
    """How to link `table` to the companies by id instead: the mapping-file lines to write, naming the column of
    `table` whose values are the companies' record ids when one is found (the column matching the most rows,
    at least half of them), else a placeholder for it."""
    if not companies or "company_id" not in columns_of(con, companies):
        return (
            f"give the {kind} a domain column, or export the companies with their record id and the {kind} "
            f"with their company's id"
        )
    file_name, headers = _source(con, table)
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {table})").fetchall())
    candidates = [
        c
        for c, t in types.items()
        if t == "VARCHAR" and not c.startswith("_") and c not in ("company_id", "company_name", "domain", "email")
    ]
    ids = f"(SELECT DISTINCT {id_key('c.company_id')} AS k FROM {companies} c)"
    rows = _one(con, f"SELECT count(*) FROM {table}")
    best, best_n = None, 0
    for column in candidates:
        n = _one(
            con,
            f"SELECT coalesce(sum(y.n), 0) FROM (SELECT {id_key(_quoted(column))} AS k, count(*) AS n "
            f"FROM {table} GROUP BY ALL) y JOIN {ids} i ON i.k = y.k",
        )
        if n > best_n:
            best, best_n = column, n
    header = headers.get(best, best) if best and best_n >= MIN_LINKED_SHARE * rows else None
    section = f'[files."{file_name or "NAME"}".columns]'
    if header:
        return (
            f"link them by id: column {header!r} holds the companies' record ids ({best_n:,} of {rows:,} rows "
            f'match one); write {section} and under it "{header}" = "company_id" in a mapping file '
            f"(--mapping) and import again"
        )
    return (
        f'link them by id: write {section} and under it "<the column holding the company\'s record id>" = '
        f'"company_id" in a mapping file (--mapping), or give the {kind} a domain column'
    )


def key_mapping_hint(con: duckdb.DuckDBPyConnection, kind: str, table: str, companies: str | None) -> str:
    """The mapping-file line that links `table` to the companies when no column of it was read as a company key:
    the text column whose values match the most companies' names (`name_key`), ids (`id_key`) or domains, at
    least half of its rows ("column 'Accounts' holds the companies' names (3,990 of 4,000 rows match one): write
    [files."contacts.csv".columns] and under it "Accounts" = "company_name" ..."), else what to write with a
    placeholder. One GROUP BY per candidate column, run only when a file does not link."""
    file_name, headers = _source(con, table)
    section = f'[files."{file_name or "NAME"}".columns]'
    fallback = (
        f'map the column naming each row\'s company with a mapping file: {section} and under it "<header>" = '
        f'"company_name" (or "company_id", "domain"), then import again'
    )
    if not companies:
        return fallback
    company_columns = columns_of(con, companies)
    keys = [
        (field, what, sql)
        for field, what, sql in (
            ("company_name", "names", name_key),
            ("company_id", "record ids", id_key),
            ("domain", "domains", domain_key),
        )
        if field in company_columns
    ]
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {table})").fetchall())
    candidates = [c for c, t in types.items() if t == "VARCHAR" and not c.startswith("_") and c != "email"]
    rows = _one(con, f"SELECT count(*) FROM {table}")
    best: tuple[int, str, str, str] | None = None
    for field, what, sql in keys:
        known = f"(SELECT DISTINCT {sql(f'c.{field}')} AS k FROM {companies} c)"
        for column in candidates:
            n = _one(
                con,
                f"SELECT coalesce(sum(y.n), 0) FROM (SELECT {sql(_quoted(column))} AS k, count(*) AS n "
                f"FROM {table} GROUP BY ALL) y JOIN {known} i ON i.k = y.k",
            )
            if n and (best is None or n > best[0]):
                best = (n, column, field, what)
    if best is None or best[0] < MIN_LINKED_SHARE * rows:
        return fallback
    n, column, field, what = best
    header = headers.get(column, column)
    return (
        f"column {header!r} holds the companies' {what} ({n:,} of {rows:,} rows match one): write {section} and "
        f'under it "{header}" = "{field}" in a mapping file (--mapping) and import again'
    )


def _one(con: duckdb.DuckDBPyConnection, query: str) -> int:
    """The one number a query returns (0 for none)."""
    row = con.execute(query).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _ambiguity_note(kind: str, key: LinkKey, rows: int, examples: list[AmbiguousKey], hint: str) -> str:
    shown = "; ".join(
        f"{e['value']!r} ({e['rows']:,}, key {e['key']!r}) fits {' / '.join(e['companies'])}" for e in examples[:3]
    )
    # with a fallback, a row is ambiguous by its first key, or by the fallback when the first does not link it
    words = f"{key.first.label} or {key.fallback.label}" if key.fallback else key.label
    full = " and none by its full name" if key.field == "company_name" else ""
    # a CRM that exports its lookups as names only (Dynamics 365) has no id or domain to give: the name is the fix
    by_name = (
        f"; or name each company in the {kind} exactly as the companies' file does (a full name one company has "
        f"links to it, whatever its stem)"
        if key.field == "company_name"
        else ""
    )
    return (
        f"{rows:,} {kind} are not linked because their {words} fits several companies once normalised{full}, "
        f"e.g. {shown}: {hint}{by_name}"
    )


def _report(
    kind,
    table,
    companies,
    con,
    choice: KeyChoice,
    rows,
    linked,
    standalone,
    examples,
    ambiguous: tuple[int, list[AmbiguousKey]],
) -> LinkReport:
    multiple = _multiple(con, table)
    notes = list(choice.notes)
    key = choice.key
    if ambiguous[0] and key:
        notes.append(_ambiguity_note(kind, key, *ambiguous, id_mapping_hint(con, kind, table, companies)))
    if multiple:
        notes.append(f"{multiple:,} {kind} name several companies: each is linked to the first")
    sci = _scientific_ids(con, companies)
    if sci:
        notes.append(f"{sci:,} company ids in the companies file are in scientific notation and match nothing")
    return LinkReport(
        kind=kind,
        linked_by=(key.column or key.field) if key else None,
        method=key.label if key else None,
        rows=rows,
        linked=linked,
        standalone=standalone,
        unlinked=rows - linked - standalone,
        unlinked_examples=examples,
        tried=choice.tried,
        multiple_companies=multiple,
        ambiguous=ambiguous[0],
        ambiguous_examples=ambiguous[1],
        cause=_cause(con, kind, table, companies, choice, rows, linked + standalone, ambiguous),
        notes=notes,
    )


def link_contacts(
    con: duckdb.DuckDBPyConnection, contacts: str, deals: str | None, customers: str | None
) -> LinkReport:
    """How the contacts link: to a deal by deal id, or to a company by the key chosen as for deals."""
    columns = columns_of(con, contacts)
    conditions, linked_by = [], []
    if deals and "deal_id" in columns and "deal_id" in columns_of(con, deals):
        conditions.append(f"p.deal_id IN (SELECT d.deal_id FROM {deals} d)")
        linked_by.append("deal_id")
    choice, join = KeyChoice(None, {}, []), ""
    if customers:
        choice = choose_key(con, contacts, customers)
        if choice.key:
            join = (
                f"LEFT JOIN ({_matches(contacts, customers, choice.key)}) m "
                f"ON m.v IS NOT DISTINCT FROM {choice.key.value('p')}"
            )
            conditions.append("m.ok")
            linked_by.append(choice.key.column or choice.key.field)
    matched = " OR ".join(f"coalesce({c}, FALSE)" for c in conditions) or "FALSE"
    rows, linked = one(con, f"SELECT count(*), count_if({matched}) FROM {contacts} p {join}")
    label = [c for c in ("deal_id", "company_name", "domain", "job_title") if c in columns]
    examples = con.execute(
        f"SELECT p._row{''.join(', p.' + c for c in label)} FROM {contacts} p {join} "
        f"WHERE NOT ({matched}) ORDER BY p._row LIMIT 10"
    ).fetchall()
    multiple = _multiple(con, contacts)
    key = choice.key
    method = " or ".join(filter(None, ["deal id" if "deal_id" in linked_by else None, key.label if key else None]))
    # a contact its deal id links is not ambiguous, whatever its company name says
    ambiguous = ambiguity(con, contacts, key, conditions[0] if "deal_id" in linked_by else None)
    notes = list(choice.notes)
    if multiple:
        notes.append(f"{multiple:,} contacts name several companies: each is linked to the first")
    if ambiguous[0] and key:
        notes.append(
            _ambiguity_note("contacts", key, *ambiguous, id_mapping_hint(con, "contacts", contacts, customers))
        )
    cause = None
    if rows and linked <= MIN_LINKED_SHARE * rows:
        cause = (
            _cause(con, "contacts", contacts, customers, choice, rows, linked, ambiguous)
            if customers and key
            else "the contacts share no deal id or company key with the deals and companies: "
            + key_mapping_hint(con, "contacts", contacts, customers)
        )
    return LinkReport(
        kind="contacts",
        linked_by=" or ".join(linked_by) or None,
        method=method or None,
        rows=rows,
        linked=linked,
        unlinked=rows - linked,
        unlinked_examples=[dict(zip(["row", *label], r)) for r in examples],
        tried=choice.tried,
        multiple_companies=multiple,
        ambiguous=ambiguous[0],
        ambiguous_examples=ambiguous[1],
        cause=cause,
        notes=notes,
    )
