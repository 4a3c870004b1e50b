"""Unit tests of icp_agent.ingest.currencies: counting a money column's currencies from its lookup, pairing a
currency column with the money column it qualifies, and making each money column comparable (converted with
the user's rates or the file's own rate column, else NULL with a warning, the amount as written kept)."""

from __future__ import annotations

import duckdb

from icp_agent.ingest.columns import PlannedColumn
from icp_agent.ingest.currencies import apply_currencies, count_currencies, pair_currency_columns
from icp_agent.ingest.mapping import Mapping


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
