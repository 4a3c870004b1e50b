"""Unit tests of icp_agent.ingest.lookups: the SQL that turns a planned column's distinct raw values (a
`_dist_<i>` table: raw, c, first_row) into stored values, the decimal mark decided per column and per file, and
a band's unpacking."""

from __future__ import annotations

import duckdb

from icp_agent.ingest import normalize as norm
from icp_agent.ingest.columns import PlannedColumn
from icp_agent.ingest.lookups import (
    LOOKUP_TYPES,
    build_lookup,
    lookup_sql,
    mapped_values,
    read_amounts,
    stored_names,
    typed_exprs,
    unpacked,
)


def _col(name: str, type_: str, **kw) -> PlannedColumn:
    return PlannedColumn(header=name, name=name, canonical=False, type=type_, role="fit", **kw)


def _con(*columns: list[tuple[str | None, int]]) -> duckdb.DuckDBPyConnection:
    """A connection with `_dist_<i>` for each column's (raw value, count) pairs."""
    con = duckdb.connect()
    norm.register_functions(con)
    for i, values in enumerate(columns):
        con.execute(f"CREATE TEMP TABLE _dist_{i} (raw VARCHAR, c BIGINT, first_row BIGINT)")
        con.executemany(f"INSERT INTO _dist_{i} VALUES (?, ?, ?)", [(r, c, k + 1) for k, (r, c) in enumerate(values)])
    return con


def _looked_up(con, column: PlannedColumn, i: int = 0) -> dict:
    names = stored_names(column)
    selected = ", ".join(f'"{n}"' for n in names)
    rows = con.execute(f"SELECT raw, {selected} FROM ({lookup_sql(column, i)})").fetchall()
    return {r[0]: r[1] if len(r) == 2 else r[1:] for r in rows}


def test_categories_take_their_most_frequent_spelling():
    con = _con([("SaaS", 5), ("saas", 2), (" SAAS ", 1), ("Retail", 1), (None, 3)])
    got = _looked_up(con, _col("industry", "category"))
    # one key, case and spaces folded; "SaaS" is written most often
    assert got == {"SaaS": "SaaS", "saas": "SaaS", " SAAS ": "SaaS", "Retail": "Retail", None: None}


def test_list_elements_are_split_spelled_and_sorted():
    con = _con([("Salesforce; HubSpot", 2), ("hubspot", 1), ("", 1)])
    got = _looked_up(con, _col("technologies", "list"))
    assert got["Salesforce; HubSpot"] == ["HubSpot", "Salesforce"]
    assert got["hubspot"] == ["HubSpot"] and got[""] is None


def test_list_spellings_weigh_every_value_an_element_appears_in():
    """An element's spelling is chosen over all the rows it appears in, summed across the distinct values holding
    it: "Slack" (2 + 3 rows) outweighs "SLACK" (4 rows), though no single value holds it as often; an element
    written only carelessly is shown in its readable form; a marker element stays out."""
    con = _con([("Slack;Zoom", 2), ("Slack, Wix", 3), ("SLACK", 4), ("google workspace|n/a", 1), ("n/a", 2)])
    got = _looked_up(con, _col("technologies", "list"))
    assert got == {
        "Slack;Zoom": ["Slack", "Zoom"],
        "Slack, Wix": ["Slack", "Wix"],
        "SLACK": ["Slack"],
        "google workspace|n/a": ["Google Workspace"],
        "n/a": None,
    }


def test_numbers_with_the_columns_decimal_mark():
    con = _con([("1.234,5", 1), ("12,5", 1), ("3", 1)])
    column = _col("employees", "number")
    read_amounts(con, [column])
    assert column.mark == ","
    assert _looked_up(con, column) == {"1.234,5": 1234.5, "12,5": 12.5, "3": 3.0}


def test_money_keeps_the_currency_it_names():
    con = _con([("$1,200", 1), ("€300", 1)])
    column = _col("arr", "money", currencies={"USD": 1, "EUR": 1})
    assert stored_names(column) == ["arr", "arr__parsed_currency"]
    read_amounts(con, [column])
    assert _looked_up(con, column) == {"$1,200": (1200.0, "USD"), "€300": (300.0, "EUR")}
    assert stored_names(_col("arr", "money")) == ["arr"]  # no currency seen: one column


def test_a_column_without_proof_takes_the_files_mark():
    # the first column proves "," (1.320.006,00); the second ("3.200") proves nothing on its own
    con = _con([("1.320.006,00", 1)], [("3.200", 1), ("15", 1)])
    columns = [_col("revenue", "money"), _col("employees", "number")]
    read_amounts(con, columns)
    assert [c.mark for c in columns] == [",", ","]
    assert _looked_up(con, columns[1], 1)["3.200"] == 3200.0


def test_currency_column():
    con = _con([("usd", 1), ("€", 1), ("n/a", 1)])  # codes and symbols (currencies' names are not read)
    got = _looked_up(con, _col("currency", "currency"))
    assert got == {"usd": "USD", "€": "EUR", "n/a": None}


def test_typed_exprs_and_unpacking():
    band = _col("employees", "band")
    [(name, sql)] = typed_exprs(band, "'11-50'")
    assert name == "employees__band"
    got = duckdb.sql(f"SELECT {', '.join(unpacked(band))} FROM (SELECT {sql} AS employees__band)").fetchall()
    assert got == [(None, 11.0, 50.0)]
    [(name, sql)] = typed_exprs(_col("domain", "text"), "'https://www.Acme.com/about'")
    assert name == "domain" and duckdb.sql(f"SELECT {sql}").fetchall()[0][0] == "acme.com"
    [(_, sql)] = typed_exprs(_col("signed", "date", date_order="dmy"), "'31/12/2024'")
    assert str(duckdb.sql(f"SELECT {sql}").fetchall()[0][0]) == "2024-12-31"
    assert unpacked(_col("industry", "category")) == ['"industry"']
    assert "category" in LOOKUP_TYPES and "band" not in LOOKUP_TYPES


def test_a_value_mapping_stores_each_raw_label_as_its_label():
    """[values.sector]: a synonym no spelling rule finds is stored as the label the mapping file gives it, whatever
    its case or spacing; a label's other spellings join it, and it is shown as the mapping file writes it."""
    con = _con([("Financial Technology", 4), ("financial  technology", 1), ("FinTech", 5), ("fin tech", 2),
                ("Payments / FinTech", 3), ("Retail", 7), (None, 2)])
    column = _col("sector", "category", value_map={"Financial Technology": "Fintech", "Payments / FinTech": "Fintech"})
    assert _looked_up(con, column) == {
        "Financial Technology": "Fintech", "financial  technology": "Fintech", "FinTech": "Fintech",
        "fin tech": "Fintech", "Payments / FinTech": "Fintech", "Retail": "Retail", None: None,
    }
    con.execute(f"CREATE TEMP TABLE _lk_0 AS {lookup_sql(column, 0)}")
    assert mapped_values(con, column, 0) == [
        "'Financial Technology' -> 'Fintech': 5 rows", "'Payments / FinTech' -> 'Fintech': 3 rows",
    ]


def test_a_value_mapping_maps_a_lists_elements():
    con = _con([("SFDC; Slack", 3), ("Salesforce", 2), ("slack;sfdc;G Suite", 1)])
    column = _col("stack", "list", value_map={"sfdc": "Salesforce", "G Suite": "Google Workspace"})
    assert _looked_up(con, column) == {
        "SFDC; Slack": ["Salesforce", "Slack"], "Salesforce": ["Salesforce"],
        "slack;sfdc;G Suite": ["Google Workspace", "Salesforce", "Slack"],
    }
    assert mapped_values(con, column, 0) == ["'sfdc' -> 'Salesforce': 4 rows", "'G Suite' -> 'Google Workspace': 1 row"]
    assert mapped_values(con, _col("stack", "list"), 0) == []  # no mapping, nothing to say


def _built(con, column: PlannedColumn, i: int = 0) -> list[tuple]:
    build_lookup(con, column, i)
    return con.execute(f"SELECT * FROM _lk_{i} ORDER BY first_row").fetchall()


def _registered(con) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_functions() WHERE function_name = 'icp_amount'").fetchone()[0])


def test_a_money_lookup_is_built_in_sql_and_its_other_values_by_the_parser_as_in_one_statement():
    """build_lookup reads what SQL can first and the rest with the Python parser: the table is the one `lookup_sql`
    with the parser in it gives (same columns, same rows), and the parser is registered only when a value needs it."""
    values = [("$12,000", 3), ("1,250", 1), ("€1.200,50", 2), ("n/a", 1), (None, 4), ("$10M+", 1), ("12/14/2022", 1)]
    money = _col("arr", "money", currencies={"USD": 4, "EUR": 2})
    plain = duckdb.connect()
    plain.execute("CREATE TEMP TABLE _dist_0 (raw VARCHAR, c BIGINT, first_row BIGINT)")
    plain.executemany("INSERT INTO _dist_0 VALUES (?, ?, ?)", [(r, c, k + 1) for k, (r, c) in enumerate(values)])
    built = _built(plain, money)
    assert _registered(plain)  # "€1.200,50" and "$10M+" need the parser
    assert built == _con(values).execute(f"{lookup_sql(money, 0)} ORDER BY first_row").fetchall()
    by_raw = {row[0]: row[3:] for row in built}
    assert by_raw["€1.200,50"] == (1200.5, "EUR", False) and by_raw["$10M+"] == (1e7, "USD", True)
    assert by_raw["1,250"] == (1250.0, None, False) and by_raw["12/14/2022"] == (None, None, None)

    sql_only = duckdb.connect()
    sql_only.execute(
        "CREATE TEMP TABLE _dist_1 AS SELECT * FROM (VALUES ('42', 2, 1), ('1,250', 1, 2), ('x', 1, 3)) t(raw, c, first_row)"
    )
    built = _built(sql_only, _col("seats", "number"), 1)
    assert built == [("42", 2, 1, 42.0), ("1,250", 1, 2, 1250.0), ("x", 1, 3, None)]
    assert not _registered(sql_only)  # no value needed Python: DuckDB never imported numpy for it


def test_a_band_column_reads_plain_counts_without_the_band_parser_and_gives_what_it_gives():
    """typed_exprs reads a plain count ("1250") as its own band in SQL; every value, plain or not, gets the struct
    norm.band gives it (leading zeros, signs, spaces and counts beyond UBIGINT go to the parser)."""
    values = ["0", "00", "007", "+5", " 5", "5 ", "1250", "18446744073709551615", "18446744073709551616", "51-200"]
    values += ["n/a", "1,250", "10000+", "", None, "Self-employed", "1 employee"] + [str(n) for n in range(0, 5000, 37)]
    [(_, sql)] = typed_exprs(_col("employees", "band"), "raw")
    con = duckdb.connect()
    got = con.execute(f"SELECT raw, {sql}, {norm.band('raw')} FROM unnest(?::VARCHAR[]) t(raw)", [values]).fetchall()
    assert [raw for raw, fast, parsed in got if fast != parsed] == []
    assert {raw: fast for raw, fast, _ in got}["1250"] == {"min": 1250.0, "max": 1250.0, "exact": 1250.0}
