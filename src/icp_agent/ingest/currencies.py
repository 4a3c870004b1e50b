"""Currencies of money columns: the currencies a money column's values name (counted from its
lookup), the currency column that qualifies a money column (`Amount Currency`, `CurrencyIsoCode`), and one
comparable currency per money column: amounts in other currencies are converted with the user's rates,
else the file's own exchange-rate column, else stored as NULL with a warning, the amount as written kept
in `<field>_original`. Also what text names a currency: currency names in any language (`currency_by_name`)
and the currency an Excel number format shows (`format_currency`)."""

from __future__ import annotations

import re
import typing
from functools import lru_cache
from pathlib import Path

import duckdb

from icp_agent.ingest.columns import PlannedColumn, join_note
from icp_agent.ingest.fields import header_key, is_converted
from icp_agent.ingest.mapping import Mapping
from icp_agent.sql import quote_identifier as _q
from icp_agent.sql import sql_literal

if typing.TYPE_CHECKING:
    from icp_agent.models import ImportReport


def count_currencies(con: duckdb.DuckDBPyConnection, column: PlannedColumn, lookup: str) -> None:
    """A money column's currencies (ISO code -> rows) and open bands ("$10M+": rows), from its lookup table:
    each distinct value was parsed once there, so nothing is parsed again."""
    parsed = _q(f"{column.name}__parsed_currency")
    for code, rows, open_rows in con.execute(
        f"SELECT {parsed}, sum(c), sum(c) FILTER (_open) FROM {lookup} WHERE raw IS NOT NULL "
        f"GROUP BY 1 ORDER BY 2 DESC, 1"
    ).fetchall():
        if code is not None:
            column.currencies[code] = int(rows)
        column.open_values += int(open_rows or 0)


def pair_currency_columns(columns: list[PlannedColumn]) -> None:
    """Tie a currency column (`Amount Currency`, `CurrencyIsoCode`) to the money column(s) it qualifies.

    A currency column named after a money column (`Amount Currency`) qualifies that one; a bare `Currency`
    qualifies every money column but those whose header says they are already converted to the home currency
    ("Deal value in base currency", "Amount (converted)": fields.is_converted), which the row's own currency
    would convert a second time."""
    money = [c for c in columns if c.type == "money"]
    for currency in (c for c in columns if c.type == "currency"):
        prefix = header_key(currency.header)
        for suffix in ("currencyisocode", "currencycode", "isocode", "currency", "ccy"):
            if prefix.endswith(suffix):
                prefix = prefix[: -len(suffix)]
                break
        targets = [m for m in money if prefix and prefix in (header_key(m.header), header_key(m.name))] or [
            m for m in money if not is_converted(m.header)
        ]
        for converted in (m for m in money if m not in targets and is_converted(m.header)):
            converted.note = join_note(
                converted.note,
                f"already in the home currency (its header says so): not converted with column {currency.header!r}",
            )
        for target in targets:
            target.currency_source = currency.name
        currency.role = "ignore"
        currency.note = currency.note or (
            f"the currency of {', '.join(t.header for t in targets)}" if targets else "currency codes"
        )


@lru_cache(maxsize=1)
def _shared_symbol_pairs() -> str:
    """SQL list of 'READ/CODE' strings where a bare symbol read as the first may mean the second: "$" is read
    as USD but is the sign of every dollar, peso and real, "¥" of the yuan too, "£" of every pound (from CLDR's
    English symbols and names in babel)."""
    from babel.numbers import get_currency_name, get_currency_symbol, list_currencies

    shared = {"USD": ("$", ("Dollar", "Peso", "Real")), "JPY": ("¥", ("Yen", "Yuan")), "GBP": ("£", ("Pound",))}
    pairs = [
        (read, code)
        for read, (sign, names) in shared.items()
        for code in sorted(list_currencies())
        if code != read
        and (sign in get_currency_symbol(code, "en") or any(n in get_currency_name(code, locale="en") for n in names))
    ]
    return ", ".join(sql_literal(f"{a}/{b}") for a, b in pairs)


def _name_key(text: str) -> str:
    """A currency name as it is looked up: case-folded, dots dropped ("U.S. Dollar"), spaces collapsed."""
    return " ".join(text.casefold().replace(".", "").split())


def _unambiguous(candidates: dict[str, set[str]]) -> dict[str, str]:
    """Name -> code where the name names one code, or one code in use among former ones ("Türkische Lira" is
    TRY, not the TRL it replaced: pycountry's ISO 4217 list holds the codes in use); other names are dropped."""
    import pycountry

    current = {c.alpha_3 for c in pycountry.currencies}
    out = {}
    for name, codes in candidates.items():
        live = codes & current if len(codes) > 1 else codes
        if len(live) == 1:
            out[name] = next(iter(live))
    return out


@lru_cache(maxsize=1)
def _iso_names() -> dict[str, str]:
    """ISO 4217's own names ("Pound Sterling", "US Dollar": what Dynamics 365 and SAP write in a currency
    column) in English and in every language pycountry translates them to ("Pfund Sterling", "Dollar
    américain"), plus CLDR's English display names and plural forms from babel ("British Pound", "euros")."""
    import gettext

    import pycountry
    from babel import Locale

    candidates: dict[str, set[str]] = {}
    english = Locale.parse("en")
    for code, name in english.currencies.items():
        candidates.setdefault(_name_key(name), set()).add(code)
    for code, forms in english._data["currency_names_plural"].items():
        for name in forms.values():
            candidates.setdefault(_name_key(name), set()).add(code)
    folder = Path(pycountry.LOCALES_DIR)
    languages = sorted(p.parent.parent.name for p in folder.glob("*/LC_MESSAGES/iso4217.mo"))
    translations = [gettext.translation("iso4217", str(folder), languages=[lang]) for lang in languages]
    for currency in pycountry.currencies:
        for translate in [gettext.NullTranslations(), *translations]:
            candidates.setdefault(_name_key(translate.gettext(currency.name)), set()).add(currency.alpha_3)
    return _unambiguous(candidates)


@lru_cache(maxsize=1)
def _cldr_names() -> dict[str, str]:
    """CLDR's currency display names and plural forms in every language babel knows ("Schweizer Franken",
    "dollar des États-Unis", "franchi svizzeri"), one locale per language (territory variants share them).
    Built only when a value is not an ISO name: about 1.3 s, once per process."""
    from babel import Locale, localedata

    candidates: dict[str, set[str]] = {}
    for identifier in localedata.locale_identifiers():
        if "_" in identifier:
            continue
        locale = Locale.parse(identifier)
        for code, name in locale.currencies.items():
            candidates.setdefault(_name_key(name), set()).add(code)
        for code, forms in locale._data["currency_names_plural"].items():
            for name in forms.values():
                candidates.setdefault(_name_key(name), set()).add(code)
    return _unambiguous(candidates)


_NAME_PARTS = re.compile(r"\s*(?:[()\[\],/|:]|\s[-–]\s)\s*")


def currency_by_name(text: str) -> str | None:
    """ISO 4217 code for a currency's name in any language ("Euro", "US Dollar", "Pound Sterling", "Schweizer
    Franken", "livre sterling", "euros"), or a name and its code together ("EUR - Euro", "Euro (EUR)", "US
    Dollar ($)"), else None. Names come from ISO 4217 (pycountry, with its translations) and CLDR (babel);
    a name shared by currencies in use ("Dollar" aside, which CLDR gives to USD alone) is not read.
    Called once per distinct value of a currency column (the `icp_currency` lookup)."""
    from icp_agent.ingest.normalize import currency_code

    key = _name_key(text)
    if not key:
        return None
    code = _iso_names().get(key) or _cldr_names().get(key)
    if code:
        return code
    parts = [p for p in _NAME_PARTS.split(text) if p.strip()]
    if len(parts) < 2:
        return None
    codes = set()
    for part in parts:
        found = currency_code(part)  # a code, a symbol or a name
        if found is None:
            return None
        codes.add(found)
    return codes.pop() if len(codes) == 1 else None


def scalar(con: duckdb.DuckDBPyConnection, query: str) -> int:
    """The one number a query returns."""
    row = con.execute(query).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def apply_currencies(
    con, table: str, columns: list[PlannedColumn], mapping: Mapping, file_name: str, warnings: list[str]
) -> None:
    """Give every money column with currencies `<field>_currency`, and one comparable currency.

    When its amounts are in more than one currency (or in one other than the reporting currency the
    user named), `<field>_original` keeps the amount as the file wrote it and `<field>` holds it in the
    reporting currency: converted with the user's rates (`--fx` or `[fx]` in the mapping file: units of
    the reporting currency per unit), or NULL when no rate was given, so that no mean, median, ACV or
    revenue check downstream mixes currencies. Without rates the reporting currency is the column's
    most frequent one. Amounts whose currency column names no currency are set aside (NULL, the amount kept
    in `<field>_original`); a column whose amounts name no currency at all is in the reporting currency the
    user named, if any. Each step is reported in `warnings` and the column's note.
    """
    for column in columns:
        if column.type != "money":
            continue
        if not (column.currencies or column.currency_source):
            _in_reporting_currency(con, table, column, mapping, None)
            continue
        existing = {r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()}
        own = f"{column.name}_currency"
        if own in existing and own != column.currency_source:
            # another column of the file already holds that name: the parsed currency goes beside it
            taken = own
            while own in existing:
                own = f"{own}_2"
            column.note = join_note(
                column.note, f"its currency is stored as {own!r} ({taken!r} is another column of the file)"
            )
        name, currency, parsed = _q(column.name), _q(own), _q(f"{column.name}__parsed_currency")
        given = currency
        renamed = not column.currency_source and _last_but_parsed(con, table, f"{column.name}__parsed_currency")
        if renamed:
            # the currency is the parsed one: the column is renamed, not copied into a new one by an UPDATE of
            # every row (10M rows: 0.2 s), and it lands where the new column would (see `_last_but_parsed`)
            con.execute(f"ALTER TABLE {table} RENAME COLUMN {parsed} TO {currency}")
        elif own != column.currency_source:  # one UPDATE fills the new column (each rewrites every row)
            con.execute(f"ALTER TABLE {table} ADD COLUMN {currency} VARCHAR")
            given = _q(column.currency_source) if column.currency_source else "NULL"
        if column.currency_source:
            # the value's own symbol or code wins over the row's currency column when they disagree ("$11,376"
            # beside Currency=EUR is dollars); a bare "$", "¥" or "£" agrees with any currency it is written for
            clash = (
                f"{parsed} IS NOT NULL AND {given} IS NOT NULL AND {parsed} <> {given} "
                f"AND {parsed} || '/' || {given} NOT IN ({_shared_symbol_pairs()})"
            )
            clashes = scalar(con, f"SELECT count(*) FROM {table} WHERE {name} IS NOT NULL AND {clash}")
            con.execute(
                f"UPDATE {table} SET {currency} = CASE WHEN {clash} THEN {parsed} ELSE coalesce({given}, {parsed}) END"
            )
            if clashes:
                source = next((c.header for c in columns if c.name == column.currency_source), column.currency_source)
                message = (
                    f"{clashes:,} amounts carry their own currency, not the one column {source!r} gives: "
                    f"each is read in its own currency"
                )
                column.note = join_note(column.note, message)
                warnings.append(f"{file_name}: column {column.header!r}: {message}")
            con.execute(f"ALTER TABLE {table} DROP COLUMN {parsed}")
        elif not renamed:
            con.execute(f"UPDATE {table} SET {currency} = coalesce({given}, {parsed})")
            con.execute(f"ALTER TABLE {table} DROP COLUMN {parsed}")
        if column.currency_source:
            _unknown_currencies(con, table, columns, column, currency, file_name, warnings)
        # the amounts per currency, most first, and (the NULL group) those naming none: one scan
        per_currency = con.execute(
            f"SELECT {currency}, count(*) FROM {table} WHERE {name} IS NOT NULL GROUP BY 1"
        ).fetchall()
        counts = {c: n for c, n in sorted(per_currency, key=lambda cn: (-cn[1], cn[0] or "")) if c is not None}
        column.currencies = counts
        if not counts:
            _in_reporting_currency(con, table, column, mapping, currency)
            continue
        dominant = next(iter(counts))
        unmarked = next((n for c, n in per_currency if c is None), 0)
        if unmarked:  # "12000" beside "$12,000": the column's own currency
            con.execute(
                f"UPDATE {table} SET {currency} = ? WHERE {name} IS NOT NULL AND {currency} IS NULL", [dominant]
            )
            counts[dominant] += unmarked
        reporting = mapping.fx_currency or dominant
        others = sorted(set(counts) - {reporting})
        column.stored_currency = reporting  # converted to it, or kept only where already in it
        if column.open_values:
            column.note = join_note(
                column.note, f"{column.open_values} open band(s) such as $10M+ stored as their lower bound"
            )
        if not others:
            continue
        rates = {reporting: 1.0} | {c: r for c, r in mapping.fx.items() if c != reporting}
        _keep_original(con, table, column)
        cases = " ".join(f"WHEN {sql_literal(c)} THEN {name} * {float(r)!r}" for c, r in rates.items())
        per_row = _row_rates(con, table, columns, currency, reporting, [c for c in others if c not in rates])
        if per_row:  # the file's own rate, row by row, where the user gave none for the currency
            cases += " " + " ".join(
                f"WHEN {sql_literal(c)} THEN CASE WHEN {per_row[1]} > 0 THEN {name} * {per_row[1]} END"
                for c in per_row[2]
            )
        con.execute(f"UPDATE {table} SET {name} = CASE {currency} {cases} ELSE NULL END")
        converted = [c for c in others if c in rates]
        missing = [c for c in others if c not in rates and c not in (per_row[2] if per_row else [])]
        if converted:
            column.note = join_note(
                column.note,
                f"{sum(counts[c] for c in converted):,} amounts in "
                f"{', '.join(converted)} converted to {reporting} with the given rates",
            )
        if per_row:
            done = scalar(
                con,
                f"SELECT count(*) FROM {table} WHERE {currency} IN "
                f"({', '.join(sql_literal(c) for c in per_row[2])}) AND {name} IS NOT NULL",
            )
            message = (
                f"{done:,} amounts in {', '.join(per_row[2])} converted to {reporting} with the file's own "
                f"column {per_row[0]!r} (read as units of {reporting} per unit, as the rows in {reporting} "
                f"carry 1; if the CRM gives the inverse, pass --fx rates, which win)"
            )
            column.note = join_note(column.note, message)
            warnings.append(f"{file_name}: column {column.header!r}: {message}")
        if missing:
            message = (
                f"{sum(counts[c] for c in missing):,} amounts in {', '.join(missing)} not comparable with "
                f"{reporting}: give --fx rates (a CSV with columns currency,rate) or an fx table in the "
                f"mapping file"
            )
            home = [c.header for c in columns if c.type == "money" and c.canonical and is_converted(c.header)]
            if home and not column.canonical:  # the field it would be is read from the converted column already
                message += f" (column {home[0]!r} already gives amounts in the home currency)"
            column.note = join_note(column.note, message)
            warnings.append(f"{file_name}: column {column.header!r}: {message}")


def _keep_original(con: duckdb.DuckDBPyConnection, table: str, column: PlannedColumn) -> None:
    """`<field>_original`: the amounts as the file wrote them, before any is converted or set aside (once)."""
    original = column.name + "_original"
    if original not in {r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()}:
        con.execute(f"ALTER TABLE {table} ADD COLUMN {_q(original)} DOUBLE")
        con.execute(f"UPDATE {table} SET {_q(original)} = {_q(column.name)}")


def _unknown_currencies(
    con: duckdb.DuckDBPyConnection,
    table: str,
    columns: list[PlannedColumn],
    column: PlannedColumn,
    currency: str,
    file_name: str,
    warnings: list[str],
) -> None:
    """Set aside the amounts whose currency column names something that is no currency ("Bitcoin", "Euro?"):
    their currency is unknown, so they are neither assumed to be in the column's usual currency nor mixed into
    its means and medians. The amount becomes NULL, `<field>_original` keeps it, and a warning says so.

    The unreadable values come from the currency column's lookup `_lk_<i>` (i = its place in `columns`), the
    rows from the staged file `_dedup` (its raw text by `_row`)."""
    from icp_agent.ingest.normalize import strictly_missing

    index = next((i for i, c in enumerate(columns) if c.name == column.currency_source), None)
    if index is None:
        return
    source = columns[index]
    unread = f"FROM _lk_{index} WHERE {_q(source.name)} IS NULL AND NOT {strictly_missing('raw')}"
    try:
        examples = [r[0] for r in con.execute(f"SELECT raw {unread} ORDER BY c DESC, raw LIMIT 3").fetchall()]
    except duckdb.CatalogException:  # the column was not looked up (read inline): nothing to tell apart
        return
    if not examples:
        return
    rows = f"_row IN (SELECT _row FROM _dedup WHERE CAST({_q(source.header)} AS VARCHAR) IN (SELECT raw {unread}))"
    where = f"{_q(column.name)} IS NOT NULL AND {currency} IS NULL AND {rows}"
    count = scalar(con, f"SELECT count(*) FROM {table} WHERE {where}")
    if not count:
        return
    _keep_original(con, table, column)
    con.execute(f"UPDATE {table} SET {_q(column.name)} = NULL WHERE {where}")
    message = (
        f"{count:,} amounts stored as missing: their currency in column {source.header!r} is not a currency "
        f"(e.g. {', '.join(repr(e) for e in examples)}), so they cannot be compared with the others; the amounts "
        f"as written are in {column.name + '_original'!r}. Write ISO codes (EUR) or currency names there and "
        f"import again"
    )
    column.note = join_note(column.note, message)
    warnings.append(f"{file_name}: column {column.header!r}: {message}")


def _last_but_parsed(con: duckdb.DuckDBPyConnection, table: str, parsed: str) -> bool:
    """True when only other money columns' parsed currencies (`<field>__parsed_currency`) follow the column
    `parsed` in `table`: renamed in place, it then takes the place the ADD COLUMN the other path makes would
    give it (after the columns the earlier money columns added), so the stored columns' order is the same."""
    names = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
    after = names[names.index(parsed) + 1 :] if parsed in names else [""]
    return all(n.endswith("__parsed_currency") for n in after)


def _in_reporting_currency(
    con: duckdb.DuckDBPyConnection, table: str, column: PlannedColumn, mapping: Mapping, currency: str | None
) -> None:
    """A money column whose amounts name no currency at all (no symbol, no code, no currency column value) is in
    the reporting currency the user named (`[fx] currency`, or the rate-1 row of `--fx`): the document shows it
    in that currency, not as "$". Without a named reporting currency nothing changes: the currency is unknown.
    `currency` is the column's `<field>_currency` when it has one (filled for its amounts)."""
    if not mapping.fx_currency:
        return
    name = _q(column.name)
    amounts = scalar(con, f"SELECT count(*) FROM {table} WHERE {name} IS NOT NULL")
    if not amounts:
        return
    if currency is not None:
        con.execute(f"UPDATE {table} SET {currency} = ? WHERE {name} IS NOT NULL", [mapping.fx_currency])
    column.currencies = {mapping.fx_currency: amounts}
    column.stored_currency = mapping.fx_currency
    column.note = join_note(
        column.note,
        f"no amount names its currency: read as {mapping.fx_currency}, the reporting currency the mapping or "
        f"--fx names",
    )


def _row_rates(
    con: duckdb.DuckDBPyConnection,
    table: str,
    columns: list[PlannedColumn],
    currency: str,
    reporting: str,
    wanted: list[str],
) -> tuple[str, str, list[str]] | None:
    """The file's exchange-rate column to convert the currencies in `wanted` with, row by row: (its header, its
    quoted stored name, the currencies it converts), or None.

    Zoho's deals carry "Currency" and "Exchange Rate" on every row; the rate is the record currency's rate to
    the CRM's home currency. It is used only when every row in the reporting currency that has a rate has 1 (the
    rates are relative to that currency) and only for currencies whose rows all have a positive rate; it is read
    as units of the reporting currency per unit (HubSpot's documented conversionRate, and the --fx convention)."""
    rate = next((c for c in columns if c.name == "exchange_rate" and c.type == "number"), None)
    if rate is None or not wanted:
        return None
    r = _q(rate.name)
    off_one = scalar(
        con,
        f"SELECT count(*) FROM {table} WHERE {currency} = {sql_literal(reporting)} AND {r} IS NOT NULL AND {r} <> 1",
    )
    if off_one or not scalar(
        con, f"SELECT count(*) FROM {table} WHERE {currency} = {sql_literal(reporting)} AND {r} = 1"
    ):
        return None
    usable = [
        c
        for c in wanted
        if not scalar(
            con, f"SELECT count(*) FROM {table} WHERE {currency} = {sql_literal(c)} AND coalesce({r}, 0) <= 0"
        )
    ]
    return (rate.header, r, usable) if usable else None


# --- Excel number formats that show a currency ---
# A workbook cell holds a number; its number format decides what the sheet (and a CSV saved from it) shows:
# "€"#,##0.00, [$€-407] #,##0.00, #,##0.00 [$EUR], _-* #,##0.00 €_-, [$$-1009]#,##0.00. openpyxl reads the
# formats (workbooks' styles); the grammar below is Excel's ("Review guidelines for customizing a number
# format", ECMA-376 Part 1 §18.8.31): "..." and \x are literal text, [$SYM-LCID] a currency symbol with the
# Windows locale it is written for, _x a space as wide as x, *x a fill with x, [...] otherwise a colour or
# a condition. Bare "$" and non-ASCII signs (€, £, ¥) are literal too.


def _format_sections(code: str) -> list[str]:
    """The ;-separated sections of a number format (positive; negative; zero; text), quotes and brackets kept."""
    sections: list[str] = []
    current: list[str] = []
    quoted = bracket = escaped = False
    for char in code:
        if escaped:
            escaped = False
        elif char == "\\" and not quoted:
            escaped = True
        elif char == '"' and not bracket:
            quoted = not quoted
        elif char == "[" and not quoted:
            bracket = True
        elif char == "]" and not quoted:
            bracket = False
        elif char == ";" and not quoted and not bracket:
            sections.append("".join(current))
            current = []
            continue
        current.append(char)
    sections.append("".join(current))
    return sections


def _format_literals(section: str) -> list[tuple[str, int | None]]:
    """The texts a format section shows around the number, each with the Windows LCID of a [$SYM-LCID]."""
    out: list[tuple[str, int | None]] = []
    run: list[str] = []
    i = 0

    def flush() -> None:
        if "".join(run).strip():
            out.append(("".join(run), None))
        run.clear()

    while i < len(section):
        char = section[i]
        if char == '"':
            end = section.find('"', i + 1)
            end = len(section) if end < 0 else end
            run.append(section[i + 1 : end])
            i = end + 1
            continue
        if char == "\\" and i + 1 < len(section):
            run.append(section[i + 1])
            i += 2
            continue
        if char in "_*":  # a space as wide as the next character, or a fill with it: neither shows the sign
            flush()
            i += 2
            continue
        if char == "[":
            flush()
            end = section.find("]", i + 1)
            end = len(section) if end < 0 else end
            inner = section[i + 1 : end]
            if inner.startswith("$"):
                symbol, _, lcid = inner[1:].partition("-")
                try:
                    out.append((symbol, int(lcid, 16) if lcid else None))
                except ValueError:
                    out.append((symbol, None))
            i = end + 1
            continue
        if char == "$" or ord(char) > 127 or (char == " " and run):
            run.append(char)
        else:
            flush()
        i += 1
    flush()
    return out


@lru_cache(maxsize=256)
def format_currency(code: str) -> str | None:
    """What a cell written in the Excel number format `code` shows of its currency, as text our amount parser
    reads: the symbol as the format writes it ("€", "$", "CHF") when it names that currency, else the ISO 4217
    code the format's locale gives it ("[$$-1009]" is Canadian English: "CAD"; "[$kr-41D]" Swedish: "SEK");
    None for a format without a currency (General, 0.00, dates, percentages, "units").

    A bare "$" stays "$" (read as USD, and agreeing with any dollar a currency column names). The symbol's
    currency comes from babel's CLDR data: the currencies of the locale's territory whose symbol it is there.
    Cached per format code: a workbook has a few formats, whatever its size."""
    import locale as system_locale

    from openpyxl.styles.numbers import is_date_format

    from icp_agent.ingest.normalize import currency_code

    if not code or code.strip().lower() == "general" or is_date_format(code):
        return None
    for section in _format_sections(code)[:3]:  # the text section (4th) shows no number
        for text, lcid in _format_literals(section):
            symbol = " ".join(text.split())
            if not symbol:
                continue
            read = currency_code(symbol)
            territory_code = _locale_currency(symbol, system_locale.windows_locale.get(lcid & 0xFFFF)) if lcid else None
            if territory_code and territory_code != read:
                return territory_code
            if read:
                return symbol
    return None


def _locale_currency(symbol: str, locale_name: str | None) -> str | None:
    """The currency of the locale's territory whose symbol (there or in English) or code is `symbol`, else None."""
    from babel import Locale, UnknownLocaleError
    from babel.numbers import get_currency_symbol, get_territory_currencies

    if not locale_name:
        return None
    try:
        locale = Locale.parse(locale_name)
    except (UnknownLocaleError, ValueError):
        return None
    if not locale.territory:
        return None
    for currency in get_territory_currencies(locale.territory):
        if symbol in (currency, get_currency_symbol(currency, locale), get_currency_symbol(currency, "en")):
            return currency
    return None


# --- the currency a money field is shown in --------------------------------------------------------------------


def currencies_of(reports: typing.Mapping[str, ImportReport]) -> dict[str, str]:
    """Money field -> ISO 4217 code, from the current import reports (kind -> report): the currency
    the stored amounts are in (ColumnReport.currency), else (reports of earlier imports) the most frequent of
    ColumnReport.currencies. "" maps to the dataset's currency when every money column that names one names the
    same, so a column whose amounts carried no symbol (arr, cac) is shown in it too. Labels (tiers.criteria) and
    the document (render.document) write money with these."""
    counts: dict[str, dict[str, int]] = {}
    for report in reports.values():
        for column in report.columns:
            if column.currency:  # the amounts were converted to it (the reporting currency), whatever they were
                counts.setdefault(column.field, {}).setdefault(column.currency, 0)
                counts[column.field][column.currency] += sum(column.currencies.values())
                continue
            for code, n in column.currencies.items():
                counts.setdefault(column.field, {}).setdefault(code, 0)
                counts[column.field][code] += n
    out = {f: max(codes, key=lambda code: codes[code]) for f, codes in counts.items() if codes}
    if len(set(out.values())) == 1:
        out[""] = next(iter(out.values()))
    return out


def currency_symbols(currencies: typing.Mapping[str, str] | None) -> dict[str, str]:
    """Field -> symbol a reader knows (USD $, EUR €, GBP £, BRL R$, CAD CA$), by babel's English names; a code
    without a symbol (CHF) is written as the code and a space: "CHF 1.2M"."""
    from babel.numbers import get_currency_symbol

    out = {}
    for f, code in (currencies or {}).items():
        sym = get_currency_symbol(code, locale="en")
        out[f] = f"{sym} " if sym.isalpha() else sym
    return out
