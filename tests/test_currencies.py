"""Unit tests of icp_agent.ingest.currencies: counting a money column's currencies from its lookup, pairing a
currency column with the money column it qualifies, and making each money column comparable (converted with
the user's rates or the file's own rate column, else NULL with a warning, the amount as written kept)."""

from __future__ import annotations

import duckdb
import pytest

from icp_agent.ingest.columns import PlannedColumn
from icp_agent.ingest.currencies import apply_currencies, count_currencies, format_currency, pair_currency_columns
from icp_agent.ingest.mapping import Mapping
from icp_agent.ingest.normalize import code_or_symbol, currency_code, register_functions


def _col(header: str, type_: str, name: str | None = None, **kw) -> PlannedColumn:
    return PlannedColumn(header=header, name=name or header.lower().replace(" ", "_"), canonical=False, type=type_,
                         role="fit", **kw)  # fmt: skip


def test_count_currencies_from_the_lookup():
    con = duckdb.connect()
    con.execute("""CREATE TABLE lk AS SELECT * FROM (VALUES
        ('$10', 3, 'USD', false), ('€5', 2, 'EUR', false), ('$10M+', 1, 'USD', true), ('7', 4, NULL, false),
        (NULL, 9, NULL, false)) t(raw, c, arr__parsed_currency, _open)""")
    column = _col("ARR", "money")
    count_currencies(con, column, "lk")
    assert column.currencies == {"USD": 4, "EUR": 2} and column.open_values == 1


def test_pair_currency_columns_by_prefix():
    amount, arr, code = _col("Amount", "money"), _col("ARR", "money"), _col("Amount Currency", "currency")
    pair_currency_columns([amount, arr, code])
    assert amount.currency_source == "amount_currency" and arr.currency_source is None
    assert code.role == "ignore" and code.note == "the currency of Amount"


def test_a_currency_column_without_a_matching_prefix_qualifies_every_money_column():
    amount, iso = _col("Amount", "money"), _col("CurrencyIsoCode", "currency")
    pair_currency_columns([amount, iso])
    assert amount.currency_source == "currencyisocode"


def _table(con, rows, extra: str = "") -> None:
    con.execute(f"CREATE TABLE t (amount DOUBLE, amount__parsed_currency VARCHAR{extra})")
    con.executemany(f"INSERT INTO t VALUES ({', '.join('?' * len(rows[0]))})", rows)


def test_one_currency_gets_a_currency_column_and_nothing_converted():
    con = duckdb.connect()
    _table(con, [(100.0, "USD"), (50.0, None)])
    column, warnings = _col("Amount", "money", currencies={"USD": 1}), []
    apply_currencies(con, "t", [column], Mapping(), "d.csv", warnings)
    # the unmarked 50 is in the column's own currency
    assert con.execute("SELECT amount, amount_currency FROM t ORDER BY amount").fetchall() == [
        (50.0, "USD"),
        (100.0, "USD"),
    ]
    assert column.currencies == {"USD": 2} and warnings == []
    assert "amount_original" not in {r[0] for r in con.execute("DESCRIBE t").fetchall()}


def test_other_currencies_converted_with_the_users_rates_or_left_null():
    con = duckdb.connect()
    _table(con, [(100.0, "USD"), (100.0, "USD"), (10.0, "EUR"), (1000.0, "JPY")])
    column, warnings = _col("Amount", "money", currencies={"USD": 2, "EUR": 1, "JPY": 1}), []
    apply_currencies(con, "t", [column], Mapping(fx={"EUR": 1.1}), "d.csv", warnings)
    got = con.execute("SELECT amount_original, amount, amount_currency FROM t ORDER BY amount_original").fetchall()
    # USD is the reporting currency (the commonest); 10 EUR x 1.1 = 11 USD; JPY has no rate: NULL
    assert got == [(10.0, 11.0, "EUR"), (100.0, 100.0, "USD"), (100.0, 100.0, "USD"), (1000.0, None, "JPY")]
    # prose numbers are another module's (numbers.py): the currencies named, not the count's wording
    assert len(warnings) == 1 and "JPY not comparable with USD" in warnings[0]
    assert "converted to USD with the given rates" in column.note


def test_the_files_own_rate_column_converts_when_the_reporting_rows_carry_one():
    con = duckdb.connect()
    # USD is the commonest, so the reporting currency; its rows carry rate 1
    _table(con, [(100.0, "USD", 1.0), (200.0, "USD", 1.0), (10.0, "EUR", 1.2)], ", exchange_rate DOUBLE")
    column, rate = _col("Amount", "money", currencies={"USD": 2, "EUR": 1}), _col("Exchange Rate", "number")
    warnings: list[str] = []
    apply_currencies(con, "t", [column, rate], Mapping(), "d.csv", warnings)
    assert con.execute("SELECT amount FROM t ORDER BY amount_original").fetchall() == [(12.0,), (100.0,), (200.0,)]
    assert "with the file's own column 'Exchange Rate'" in warnings[0]


def test_an_existing_column_with_the_currency_name_is_kept():
    con = duckdb.connect()
    _table(con, [(5.0, "USD", "keep me")], ", amount_currency VARCHAR")
    column = _col("Amount", "money", currencies={"USD": 1})
    apply_currencies(con, "t", [column], Mapping(), "d.csv", [])
    assert con.execute("SELECT amount_currency, amount_currency_2 FROM t").fetchall() == [("keep me", "USD")]
    assert "'amount_currency_2'" in column.note


def test_a_bare_currency_column_never_qualifies_an_amount_already_converted():
    # HubSpot-like: "Amount" in the deal's currency beside "Amount in company currency" and "Deal Currency Code"
    amount, home = _col("Amount", "money"), _col("Amount in company currency", "money", name="amount_home")
    code = _col("Currency", "currency")
    pair_currency_columns([amount, home, code])
    assert amount.currency_source == "currency" and home.currency_source is None
    assert "already in the home currency" in home.note and "'Currency'" in home.note
    # a currency column named after the converted one still qualifies it
    home2, code2 = _col("Amount (converted)", "money", name="amount"), _col("Amount Currency", "currency")
    pair_currency_columns([home2, code2])
    assert home2.currency_source == "amount_currency"


def test_a_values_own_currency_wins_over_a_disagreeing_currency_column():
    con = duckdb.connect()
    # row 1: "£40" beside code SEK: pounds; row 2: "$30" beside CAD: the bare $ is the Canadian dollar's sign;
    # row 3: "12" beside SEK: the column's; row 4: "¥900" beside CNY: the yuan's sign too
    _table(con, [(40.0, "GBP", "SEK"), (30.0, "USD", "CAD"), (12.0, None, "SEK"), (900.0, "JPY", "CNY")],
           ", deal_currency VARCHAR")  # fmt: skip
    column, code = _col("Amount", "money", currency_source="deal_currency"), _col("Deal Currency", "currency")
    warnings: list[str] = []
    rates = {"SEK": 0.1, "GBP": 1.25, "CAD": 0.75, "CNY": 0.14}
    apply_currencies(con, "t", [column, code], Mapping(fx=rates, fx_currency="USD"), "d.csv", warnings)
    got = con.execute(
        "SELECT amount_original, amount_currency, round(amount, 6) FROM t ORDER BY amount_original"
    ).fetchall()
    assert got == [(12.0, "SEK", 1.2), (30.0, "CAD", 22.5), (40.0, "GBP", 50.0), (900.0, "CNY", 126.0)]
    assert len(warnings) == 1 and warnings[0].startswith("d.csv: column 'Amount': 1 amounts carry their own")
    assert "'Deal Currency'" in warnings[0]


# --- currencies named in words, and shown by Excel number formats ---


@pytest.mark.parametrize("raw,code", [
    ("Euro", "EUR"), ("US Dollar", "USD"), ("Pound Sterling", "GBP"), ("Swiss Franc", "CHF"),  # ISO 4217 names
    ("Japanese Yen", "JPY"), ("British Pound", "GBP"), ("euros", "EUR"), ("U.S. dollars", "USD"),  # CLDR English
    ("Pfund Sterling", "GBP"), ("Schweizer Franken", "CHF"), ("US-Dollar", "USD"),  # a German export
    ("Dollar américain", "USD"), ("livre sterling", "GBP"), ("Franc suisse", "CHF"),  # a French one
    ("Schwedische Krone", "SEK"), ("corona sueca", "SEK"), ("Türkische Lira", "TRY"),  # TRY, not the former TRL
    ("EUR - Euro", "EUR"), ("Swiss Franc (CHF)", "CHF"), ("US Dollar ($)", "USD"),
    ("Bitcoin", None), ("Euro (USD)", None), ("Franc", None), ("n/a", None), ("", None),
])  # fmt: skip
def test_currency_names_in_any_language_are_read_as_iso_codes(raw, code):
    assert currency_code(raw) == code


def test_an_exchange_rate_file_names_currencies_by_code_only():
    assert code_or_symbol("Euro") is None and code_or_symbol("eur") == "EUR" and code_or_symbol("€") == "EUR"


@pytest.mark.parametrize("fmt,shown", [
    ('"€"#,##0.00', "€"), ("[$€-407] #,##0.00", "€"), ("#,##0.00 [$€-407]", "€"), ('#,##0.00\\ "€"', "€"),
    ("#,##0.00 [$EUR]", "EUR"), ("_-* #,##0.00 €_-;-* #,##0.00 €_-;_-* \"-\"?? €_-;_-@_-", "€"),
    ('"$"#,##0.00', "$"), ("[$$-409]#,##0.00", "$"), ('_("$"* #,##0.00_);_("$"* \\(#,##0.00\\);_("$"* "-"??_);_(@_)', "$"),
    ("[$$-1009]#,##0.00", "CAD"), ("[$$-C09]#,##0.00", "AUD"), ("[$kr-41D] #,##0", "SEK"), ("[$¥-804]#,##0", "CNY"),
    ("[$£-809]#,##0.00", "£"), ('#,##0.00 "CHF"', "CHF"), ("[$CHF-807] #,##0.00", "CHF"), ("\\€#,##0", "€"),
    ("[$€-x-euro2] #,##0.00", "€"), ("[$kr-414] #,##0.00", "NOK"), ("[$R-1C09]#,##0.00", "ZAR"),
    ("[$USD-409] #,##0.00", "USD"), ("#,##0.00\\ [$€-1];[Red]-#,##0.00\\ [$€-1]", "€"),
    ("General", None), ("0.00", None), ("#,##0", None), ("0%", None), ("m/d/yyyy", None), ("[$-407]dd.mm.yyyy", None),
    ('#,##0 "units"', None), ("[Red]#,##0.00;[Blue]-#,##0.00", None), ('#,##0 "kr"', None),  # kr of which country?
])  # fmt: skip
def test_the_currency_an_excel_number_format_shows(fmt, shown):
    assert format_currency(fmt) == shown


def _lookup_tables(con, currencies: list[str | None]) -> None:
    """The staged rows (`_dedup`) and the currency column's lookup (`_lk_1`) the importer leaves for
    apply_currencies, for a file with columns Amount and Currency."""
    con.execute('CREATE TABLE _dedup (_row BIGINT, "Currency" VARCHAR)')
    con.executemany("INSERT INTO _dedup VALUES (?, ?)", list(enumerate(currencies, start=1)))
    con.execute(
        'CREATE TABLE _lk_1 AS SELECT "Currency" AS raw, count(*) AS c, min(_row) AS first_row, '
        'icp_currency("Currency") AS currency FROM _dedup GROUP BY 1'
    )


def test_amounts_whose_currency_column_names_no_currency_are_set_aside():
    con = duckdb.connect()
    register_functions(con)
    values = ["Euro", "US Dollar", "Bitcoin", None, "Euro"]
    _lookup_tables(con, values)
    con.execute("CREATE TABLE t (_row BIGINT, amount DOUBLE, amount__parsed_currency VARCHAR, currency VARCHAR)")
    con.executemany(
        "INSERT INTO t VALUES (?, ?, NULL, icp_currency(?))",
        [(i, a, v) for i, (a, v) in enumerate(zip([100.0, 200.0, 300.0, 400.0, 50.0], values, strict=True), 1)],
    )
    amount, code = _col("Amount", "money", currency_source="currency"), _col("Currency", "currency")
    warnings: list[str] = []
    apply_currencies(con, "t", [amount, code], Mapping(fx={"USD": 0.9}, fx_currency="EUR"), "d.xlsx", warnings)
    got = con.execute("SELECT _row, amount, amount_original, amount_currency FROM t ORDER BY _row").fetchall()
    # the Bitcoin row is not assumed to be in euros; the blank one is (the column's own currency)
    assert got == [(1, 100.0, 100.0, "EUR"), (2, 180.0, 200.0, "USD"), (3, None, 300.0, None),
                   (4, 400.0, 400.0, "EUR"), (5, 50.0, 50.0, "EUR")]  # fmt: skip
    assert amount.currencies == {"EUR": 3, "USD": 1}
    assert any("1 amounts stored as missing" in w and "'Bitcoin'" in w for w in warnings)


def test_amounts_with_no_currency_anywhere_are_in_the_reporting_currency_the_user_named():
    con = duckdb.connect()
    con.execute("CREATE TABLE t (acv DOUBLE)")
    con.execute("INSERT INTO t VALUES (10), (20), (NULL)")
    column = _col("ACV", "money")
    apply_currencies(con, "t", [column], Mapping(fx={"USD": 0.9}, fx_currency="EUR"), "d.csv", [])
    assert column.currencies == {"EUR": 2} and "read as EUR" in column.note
    assert con.execute("SELECT sum(acv) FROM t").fetchone() == (30.0,)  # nothing converted
    bare = _col("ACV", "money")
    apply_currencies(con, "t", [bare], Mapping(), "d.csv", [])
    assert bare.currencies == {}  # no reporting currency named: the currency stays unknown


def test_each_money_columns_currency_lands_where_adding_it_would_put_it():
    # the importer writes the parsed currencies last; a column with no currency column of the file has its parsed
    # currency renamed (no UPDATE of every row) only where that gives the order adding a column gives: after the
    # currencies of the money columns before it
    con = duckdb.connect()
    con.execute("""CREATE TABLE t AS SELECT * FROM (VALUES (1.0, 2.0, 3.0, 'EUR', 'USD', 'USD', 'GBP'))
                   x(a, b, c, code, a__parsed_currency, b__parsed_currency, c__parsed_currency)""")
    a, b, c = (_col(n.upper(), "money", currencies={"USD": 1}) for n in "abc")
    b.currency_source, code = "code", _col("Code", "currency")  # b's currency comes from the file's column
    apply_currencies(con, "t", [a, b, c, code], Mapping(), "d.csv", [])
    names = [r[0] for r in con.execute("DESCRIBE t").fetchall()]
    assert names == ["a", "b", "c", "code", "a_currency", "b_currency", "c_currency"]
    # b's own "$" wins over the column's EUR; a and c keep their parsed currencies
    assert con.execute("SELECT a_currency, b_currency, c_currency FROM t").fetchall() == [("USD", "USD", "GBP")]
