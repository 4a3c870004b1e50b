"""How deals and contacts link to companies: by the key whose values actually match.

A column both files carry is only a candidate. Each candidate key is normalised and the
rows whose value finds a company are counted; the key that links the most rows wins (ties
go to the stronger key: id, then domain, then name). The same `LinkKey.expr` is what the
analysis joins on (analysis/health.py, analysis/personas.py), so the analysis joins
exactly what the link report counted.

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
  (Inc, LLC, Ltd, GmbH, AG, S.A., SAS, BV, NV, Pty Ltd, PLC, Corp, Co, Limited ...) removed.

Names and domains link in passes, each only where it names one company. "Irondata" and
"Irondata LLC" can be two companies, so a loose key that merges them must not pick one:

1. exact: case- and space-insensitive (`name_exact_key`);
2. punctuation- and accent-insensitive, legal suffixes kept (`name_spaced_key`);
3. legal suffixes dropped (`name_key`).

A row takes the first pass whose key some company has. If that key belongs to one company the
row links to it; if several companies share it the row is *ambiguous*: not linked, counted and
shown with its candidates in the LinkReport. Each pass's key is a function of the previous one's,
so a key ambiguous in one pass stays ambiguous in the next. A domain (or a contact's e-mail
domain) has one pass; a domain several companies share is ambiguous the same way. Companies are
told apart by their id when the file has one, else by their exact name (else they are one). `LinkKey.expr` is the
company's exact key (NULL when nothing or several fit), so the analysis joins link exactly the
rows the report counted.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from ..models import LinkReport
from ..sql import columns_of
from . import normalize as norm

COMPANY_KEYS = ("company_id", "domain", "company_name")
METHOD = {"company_id": "id", "domain": "domain", "company_name": "name"}
FIRMOGRAPHIC_COLUMNS = ("industry", "employees_min", "country", "annual_revenue")
SCIENTIFIC = r"[0-9](\.[0-9]+)?[eE]\+?[0-9]+"
SF_SHAPE = r"[a-zA-Z0-9]{15}([A-Z0-5]{3})?"
LEGAL_SUFFIXES = ("inc", "incorporated", "llc", "l l c", "ltd", "limited", "gmbh", "ag", "sa", "s a", "sas",
                  "s a s", "sarl", "bv", "b v", "nv", "n v", "pty", "plc", "corp", "corporation", "co", "company",
                  "srl", "spa", "s p a", "oy", "ab", "kg", "kgaa", "pte", "lp", "llp", "ulc", "se")
MIN_LINKED_SHARE = 0.5


def _first_id(column: str) -> str:
    """The first id of a cell ("9100;9101" -> "9100"), "9100.0" read as "9100"."""
    first = f"trim(split_part(CAST({column} AS VARCHAR), ';', 1))"
    return f"nullif(regexp_replace({first}, '^([0-9]+)\\.0+$', '\\1'), '')"


def id_key(column: str, salesforce: bool = False) -> str:
    v = _first_id(column)
    key = f"left({v}, 15)" if salesforce else v
    return f"(CASE WHEN regexp_full_match({v}, '{SCIENTIFIC}') THEN NULL ELSE {key} END)"


def domain_key(column: str) -> str:
    return f"nullif(rtrim({norm.domain(f'CAST({column} AS VARCHAR)')}, '.'), '')"


def name_exact_key(column: str) -> str:
    """A name compared case- and space-insensitively ("ACME  Inc" = "Acme Inc", not "Acme, Inc.")."""
    return f"nullif(regexp_replace(lower(trim(nfc_normalize(CAST({column} AS VARCHAR)))), '\\s+', ' ', 'g'), '')"


def _spaced(column: str) -> str:
    words = f"lower(strip_accents(replace(trim(CAST({column} AS VARCHAR)), '&', ' and ')))"
    return f"trim(regexp_replace({words}, '[^a-z0-9]+', ' ', 'g'))"


def name_spaced_key(column: str) -> str:
    """A name without case, accents or punctuation, `&` read as `and`; legal suffixes kept."""
    return f"nullif({_spaced(column)}, '')"


def name_key(column: str) -> str:
    """A name without case, accents, punctuation or trailing legal suffixes ("Acme, Inc." -> "acme")."""
    suffixes = "|".join(LEGAL_SUFFIXES)
    stripped = f"regexp_replace({_spaced(column)}, '( ({suffixes}))+$', '')"
    return f"nullif({stripped}, '')"


@dataclass(frozen=True)
class LinkKey:
    """The chosen key: a column of the linking table, the companies' column it matches, and how values are
    normalised. The companies' column is the same field except for an e-mail, which matches the domain."""

    field: str  # company_id | domain | company_name | email (the linking table's column)
    method: str  # id | salesforce_id | domain | name | email domain
    companies: str | None = None  # the companies' table a name or domain is resolved against (see module doc)
    identity: tuple[str, ...] = ()  # the companies' columns that tell two companies apart: company_id, company_name

    @property
    def company_field(self) -> str:
        return "domain" if self.field == "email" else self.field

    @property
    def passes(self) -> tuple:
        """The key functions tried in order (several only for names)."""
        if self.field == "company_name":
            return (name_exact_key, name_spaced_key, name_key)
        return (domain_key,)

    def expr(self, alias: str) -> str:
        """SQL of the key of a deal's or contact's row (`alias` is the table or its alias): for an id the
        normalised id; for a name or domain the exact key of the one company it resolves to, NULL when no
        company or several fit."""
        if self.field == "company_id":
            return id_key(f"{alias}.{self.field}", self.method == "salesforce_id")
        return f"({self._resolve(alias)}).target"

    def ambiguous(self, alias: str) -> str:
        """SQL: TRUE when the row's name or domain fits several companies (so it is not linked)."""
        if self.field == "company_id":
            return "FALSE"
        return f"coalesce(({self._resolve(alias)}).companies > 1, FALSE)"

    def company_expr(self, alias: str) -> str:
        """SQL of the key of a company's row, comparable with `expr`."""
        column = f"{alias}.{self.company_field}"
        if self.field == "company_id":
            return id_key(column, self.method == "salesforce_id")
        return self.passes[0](column)

    def _identity(self, alias: str) -> str:
        """SQL telling companies apart: the id when the file has one, else the exact name (else the key)."""
        parts = [f"nullif(trim(CAST({alias}.company_id AS VARCHAR)), '')"] if "company_id" in self.identity else []
        if "company_name" in self.identity:
            parts.append(name_exact_key(f"{alias}.company_name"))
        parts.append(self.company_expr(alias))
        return f"coalesce({', '.join(parts)})"

    def lookup(self) -> str:
        """SQL: one row per pass and company key: (pass_no, k, companies, target); target is the company's
        exact key when one company has k, else NULL."""
        if self.companies is None:
            raise ValueError(f"a {self.method} key needs the companies' table to resolve against")
        parts = []
        for n, key in enumerate(self.passes):
            parts.append(f"SELECT {n} AS pass_no, {key(f'_lk.{self.company_field}')} AS k, "
                         f"count(DISTINCT {self._identity('_lk')}) AS companies, CASE WHEN count(DISTINCT "
                         f"{self._identity('_lk')}) = 1 THEN min({self.company_expr('_lk')}) END AS target "
                         f"FROM {self.companies} _lk WHERE k IS NOT NULL GROUP BY k")
        return "(" + " UNION ALL ".join(parts) + ")"

    def _resolve(self, alias: str) -> str:
        """SQL: the struct (pass_no, companies, target) of the first pass whose key some company has."""
        column = f"{alias}.{self.field}"
        found = [f"(SELECT {{'pass_no': _l.pass_no, 'companies': _l.companies, 'target': _l.target}} "
                 f"FROM {self.lookup()} _l WHERE _l.pass_no = {n} AND _l.k = {key(column)})"
                 for n, key in enumerate(self.passes)]
        return found[0] if len(found) == 1 else f"coalesce({', '.join(found)})"

    @property
    def label(self) -> str:
        return "Salesforce id (first 15 characters)" if self.method == "salesforce_id" else self.method


@dataclass
class KeyChoice:
    key: LinkKey | None
    tried: dict[str, int]  # method -> rows linked
    notes: list[str]


def _salesforce_shaped(con, table: str, companies: str) -> bool:
    """Both columns hold Salesforce-shaped ids and the first 15 characters still tell the companies apart."""
    rows = []
    for t in (table, companies):
        v = _first_id(f"{t}.company_id")
        rows.append(con.execute(f"SELECT count({v}), count_if(regexp_full_match({v}, '{SF_SHAPE}')), "
                                f"count_if(length({v}) = 18), count(DISTINCT {v}), count(DISTINCT left({v}, 15)) "
                                f"FROM {t}").fetchone())
    (n1, shaped1, long1, *_), (n2, shaped2, long2, distinct, distinct15) = rows
    return bool(n1 and n2 and shaped1 == n1 and shaped2 == n2 and (long1 or long2) and distinct == distinct15
                and (long1 < n1 or long2 < n2))


def _checksum_ok(v: str) -> str:
    """SQL: an 18-character Salesforce id whose last 3 characters are the case checksum of its first 15
    (per 5-character chunk, bit i set when character i is upper-case, read in 'A'..'Z','0'..'5')."""
    table = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
    chunks = []
    for j in range(3):
        bits = " + ".join(f"(CASE WHEN ascii(substr({v}, {5 * j + i + 1}, 1)) BETWEEN 65 AND 90 THEN {1 << i} ELSE 0 END)"
                          for i in range(5))
        chunks.append(f"substr('{table}', {bits} + 1, 1) = substr({v}, {16 + j}, 1)")
    return "(" + " AND ".join(chunks) + ")"


def _bad_checksums(con, tables: tuple[str, ...]) -> tuple[int, int]:
    """(18-character ids, of which with a checksum that does not match) over the tables' company_id."""
    long = bad = 0
    for t in tables:
        v = _first_id(f"{t}.company_id")
        n, wrong = con.execute(f"SELECT count_if(length({v}) = 18), count_if(length({v}) = 18 AND NOT "
                               f"{_checksum_ok(v)}) FROM {t}").fetchone()
        long, bad = long + n, bad + wrong
    return long, bad


def _matches(table: str, companies: str, key: LinkKey) -> str:
    """SQL: each distinct raw key value of `table` (column v), how many rows carry it (n), whether it finds one
    company (ok) and whether it fits several (ambiguous). Normalising distinct values, not rows, is what keeps
    this cheap on big exports."""
    return (f"SELECT x.{key.field} AS v, x.n, coalesce({key.expr('x')} IN (SELECT {key.company_expr('c')} "
            f"FROM {companies} c), FALSE) AS ok, {key.ambiguous('x')} AS ambiguous "
            f"FROM (SELECT {key.field}, count(*) AS n FROM {table} GROUP BY ALL) x")


def _count_linked(con, table: str, companies: str, key: LinkKey) -> int:
    return con.execute(f"SELECT coalesce(sum(n) FILTER (ok), 0) FROM ({_matches(table, companies, key)})"
                       ).fetchone()[0]


def choose_key(con: duckdb.DuckDBPyConnection, table: str, companies: str) -> KeyChoice:
    """The key that links the most rows of `table` to `companies`, with the count of every key tried."""
    own, theirs = columns_of(con, table), columns_of(con, companies)
    shared = own & theirs
    ids = tuple(c for c in ("company_id", "company_name") if c in theirs)
    candidates = []
    for field in COMPANY_KEYS:
        if field not in shared:
            continue
        if field == "company_id" and _salesforce_shaped(con, table, companies):
            candidates.append(LinkKey(field, "salesforce_id", companies, ids))
        candidates.append(LinkKey(field, METHOD[field], companies, ids))
    if "email" in own and "domain" in theirs and "domain" not in own:  # a contact's work e-mail names its company
        candidates.append(LinkKey("email", "email domain", companies, ids))
    tried, best, best_n = {}, None, -1
    for key in candidates:
        n = _count_linked(con, table, companies, key)
        tried[key.method] = n
        if n > best_n:
            best, best_n = key, n
    notes = []
    if best and best.method == "salesforce_id":
        long, bad = _bad_checksums(con, (table, companies))
        if bad:
            notes.append(f"{bad:,} of {long:,} 18-character ids carry a checksum that does not fit their first 15 "
                         f"characters (edited or hand-made ids?): matched on the first 15 characters all the same")
    return KeyChoice(best, tried, notes)


def company_key(con: duckdb.DuckDBPyConnection, table: str, companies: str) -> LinkKey | None:
    """The key the analysis joins `table` to `companies` on (the one the link report counted)."""
    return choose_key(con, table, companies).key


def ambiguity(con: duckdb.DuckDBPyConnection, table: str, key: LinkKey | None,
              limit: int = 5) -> tuple[int, list[dict]]:
    """(rows of `table` whose name or domain fits several companies, the commonest such values with their
    candidate companies): [{"value": "Irondata Inc.", "rows": 12, "companies": ["Irondata", "Irondata LLC"]}]."""
    if key is None or key.field == "company_id":
        return 0, []
    matches = _matches(table, key.companies, key)
    found = con.execute(f"SELECT v, n, sum(n) OVER () FROM ({matches}) WHERE ambiguous ORDER BY n DESC, v "
                        f"LIMIT {limit}").fetchall()
    if not found:
        return 0, []
    rows, values = found[0][2], [(v, n) for v, n, _ in found]
    company_columns = columns_of(con, key.companies)
    label = "company_name" if "company_name" in company_columns else key.company_field
    ident = "company_id" if "company_id" in company_columns else label
    # the pass that found each value decides which companies it fits
    candidates = {}
    for number, k in enumerate(key.passes):
        for value, name, ident_value in con.execute(
                f"SELECT y.{key.field}, CAST(_c.{label} AS VARCHAR), CAST(_c.{ident} AS VARCHAR) "
                f"FROM (SELECT x.{key.field}, ({key._resolve('x')}).pass_no AS pass_no FROM "
                f"(SELECT unnest(?::VARCHAR[]) AS {key.field}) x) y "
                f"JOIN {key.companies} _c ON {k(f'_c.{key.company_field}')} = {k(f'y.{key.field}')} "
                f"WHERE y.pass_no = {number}", [[str(v) for v, _ in values]]).fetchall():
            candidates.setdefault(value, set()).add((name, ident_value))
    examples = []
    for value, n in values:
        found = sorted(candidates.get(str(value), ()), key=lambda c: (str(c[0]), str(c[1])))
        names = [c[0] for c in found]
        # two companies of one name are told apart by their id
        shown = [f"{name} (id {i})" if names.count(name) > 1 and ident != label else str(name) for name, i in found]
        examples.append({"value": value, "rows": n, "companies": shown[:5]})
    return rows, examples


def _scientific_ids(con, table: str) -> int:
    if "company_id" not in columns_of(con, table):
        return 0
    return con.execute(f"SELECT count_if(regexp_full_match({_first_id('company_id')}, '{SCIENTIFIC}')) "
                       f"FROM {table}").fetchone()[0]


def _multiple(con, table: str) -> int:
    if "company_id" not in columns_of(con, table):
        return 0
    return con.execute(f"SELECT count_if(len(list_filter(string_split(CAST(company_id AS VARCHAR), ';'), "
                       f"lambda x: trim(x) <> '')) > 1) FROM {table}").fetchone()[0]


def _cause(con, kind: str, table: str, companies: str, choice: KeyChoice, rows: int, usable: int) -> str | None:
    """The likely reason few rows link, in words a user can act on (None when enough link)."""
    if rows == 0 or usable > MIN_LINKED_SHARE * rows:
        return None
    sci_companies, sci_rows = _scientific_ids(con, companies), _scientific_ids(con, table)
    if sci_companies or sci_rows:
        where = " and ".join(f"{n:,} in the {what} file" for n, what in ((sci_companies, "companies"),
                                                                         (sci_rows, kind)) if n)
        return (f"ids in scientific notation lost their digits ({where}, e.g. 1.23457E+17): re-export the id "
                f"column as text, or link by domain or name")
    ambiguous, examples = ambiguity(con, table, choice.key, limit=3)
    if ambiguous and ambiguous + usable > MIN_LINKED_SHARE * rows:
        shown = "; ".join(f"{e['value']!r} fits {', '.join(map(str, e['companies']))}" for e in examples)
        return (f"{ambiguous:,} {kind} name a company several companies' {choice.key.label}s fit (e.g. {shown}): "
                f"give the {kind} a company id or domain column, or make the companies' names unique")
    if choice.key is None:
        return (f"the {kind} and the companies share no key column (a company id, domain or name): map one "
                f"with a mapping file ([files.\"NAME\".columns] \"Header\" = \"company_id\")")
    columns = columns_of(con, table) & columns_of(con, companies)
    if "company_id" in columns:
        lengths = [set(r[0] for r in con.execute(f"SELECT DISTINCT length({_first_id(f'{t}.company_id')}) "
                                                  f"FROM {t} WHERE company_id IS NOT NULL LIMIT 5").fetchall())
                   for t in (table, companies)]
        if {15, 18} <= lengths[0] | lengths[1] and lengths[0] != lengths[1]:
            return ("15- and 18-character ids that do not share their first 15 characters: check both files "
                    "come from the same Salesforce org")
    best = max(choice.tried.values(), default=0)
    return (f"the {kind}' {', '.join(choice.tried)} values hardly match the companies' ({best:,} of {rows:,} at "
            f"best): the files may come from different systems or exports; map a shared key with a mapping file")


def link_deals(con: duckdb.DuckDBPyConnection, deals: str, customers: str) -> LinkReport:
    """How the deals link to the companies: the key chosen, linked / standalone / unlinked counts, the cause."""
    choice = choose_key(con, deals, customers)
    key = choice.key
    columns = columns_of(con, deals)
    own = [c for c in FIRMOGRAPHIC_COLUMNS if c in columns]
    has_own = " OR ".join(f"d.{c} IS NOT NULL" for c in own) or "FALSE"
    join = (f"LEFT JOIN ({_matches(deals, customers, key)}) m ON m.v IS NOT DISTINCT FROM d.{key.field}"
            if key else "")
    matched = "coalesce(m.ok, FALSE)" if key else "FALSE"
    label = ", ".join(f"d.{c}" for c in ("deal_id", "company_id", "company_name", "domain") if c in columns)
    rows, linked, standalone = con.execute(
        f"SELECT count(*), count_if({matched}), count_if(NOT ({matched}) AND ({has_own})) FROM {deals} d {join}"
    ).fetchone()
    examples = con.execute(f"SELECT d._row, {label or 'NULL'} FROM {deals} d {join} WHERE NOT ({matched}) "
                           f"AND NOT ({has_own}) ORDER BY d._row LIMIT 10").fetchall()
    names = ["row", *[c.split('.')[1] for c in label.split(", ")]] if label else ["row"]
    return _report("deals", deals, customers, con, choice, rows, linked, standalone,
                   [dict(zip(names, r)) for r in examples])


def _ambiguity_note(kind: str, key: LinkKey, rows: int, examples: list[dict]) -> str:
    shown = "; ".join(f"{e['value']!r} ({e['rows']:,}) fits {', '.join(map(str, e['companies']))}" for e in examples)
    return (f"{rows:,} {kind} are not linked because their {key.label} fits several companies, e.g. {shown}: "
            f"add a company id or domain to the {kind}, or make the companies' names unique")


def _report(kind, table, companies, con, choice: KeyChoice, rows, linked, standalone, examples) -> LinkReport:
    multiple = _multiple(con, table)
    notes = list(choice.notes)
    ambiguous, ambiguous_examples = ambiguity(con, table, choice.key)
    if ambiguous:
        notes.append(_ambiguity_note(kind, choice.key, ambiguous, ambiguous_examples[:3]))
    if multiple:
        notes.append(f"{multiple:,} {kind} name several companies: each is linked to the first")
    sci = _scientific_ids(con, companies)
    if sci:
        notes.append(f"{sci:,} company ids in the companies file are in scientific notation and match nothing")
    key = choice.key
    return LinkReport(kind=kind, linked_by=key.field if key else None, method=key.label if key else None,
                      rows=rows, linked=linked, standalone=standalone, unlinked=rows - linked - standalone,
                      unlinked_examples=examples, tried=choice.tried, multiple_companies=multiple,
                      ambiguous=ambiguous, ambiguous_examples=ambiguous_examples,
                      cause=_cause(con, kind, table, companies, choice, rows, linked + standalone), notes=notes)


def link_contacts(con: duckdb.DuckDBPyConnection, contacts: str, deals: str | None,
                  customers: str | None) -> LinkReport:
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
            join = (f"LEFT JOIN ({_matches(contacts, customers, choice.key)}) m "
                    f"ON m.v IS NOT DISTINCT FROM p.{choice.key.field}")
            conditions.append("m.ok")
            linked_by.append(choice.key.field)
    matched = " OR ".join(f"coalesce({c}, FALSE)" for c in conditions) or "FALSE"
    rows, linked = con.execute(f"SELECT count(*), count_if({matched}) FROM {contacts} p {join}").fetchone()
    label = [c for c in ("deal_id", "company_name", "domain", "job_title") if c in columns]
    examples = con.execute(f"SELECT p._row{''.join(', p.' + c for c in label)} FROM {contacts} p {join} "
                           f"WHERE NOT ({matched}) ORDER BY p._row LIMIT 10").fetchall()
    multiple = _multiple(con, contacts)
    key = choice.key
    method = " or ".join(filter(None, ["deal id" if "deal_id" in linked_by else None, key.label if key else None]))
    # contacts a deal id links are not ambiguous, whatever their company name says
    by_deal = conditions[0] if "deal_id" in linked_by else "FALSE"
    ambiguous, ambiguous_examples = 0, []
    if key and key.field != "company_id":
        ambiguous = con.execute(f"SELECT count_if(coalesce(m.ambiguous, FALSE) AND NOT coalesce({by_deal}, FALSE)) "
                                f"FROM {contacts} p {join}").fetchone()[0]
        ambiguous_examples = ambiguity(con, contacts, key)[1] if ambiguous else []
    notes = [f"{multiple:,} contacts name several companies: each is linked to the first"] if multiple else []
    if ambiguous:
        notes.append(_ambiguity_note("contacts", key, ambiguous, ambiguous_examples[:3]))
    cause = None
    if rows and linked <= MIN_LINKED_SHARE * rows:
        cause = (_cause(con, "contacts", contacts, customers, choice, rows, linked) if customers and key
                 else "the contacts share no deal id or company key with the deals and companies")
    return LinkReport(kind="contacts", linked_by=" or ".join(linked_by) or None, method=method or None, rows=rows,
                      linked=linked, unlinked=rows - linked, unlinked_examples=[dict(zip(["row", *label], r))
                                                                                for r in examples],
                      tried=choice.tried, multiple_companies=multiple, cause=cause, ambiguous=ambiguous,
                      ambiguous_examples=ambiguous_examples, notes=notes)
