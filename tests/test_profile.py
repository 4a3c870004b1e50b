"""Unit tests of icp_agent.ingest.profile: the per-column profile over distinct values, and the type and role
inferred from it for columns no synonym named (the importer calls these; they are tested here directly)."""

from __future__ import annotations

import duckdb
import pytest

from icp_agent.ingest import normalize as norm
from icp_agent.ingest.columns import PlannedColumn
from icp_agent.ingest.profile import (
    TYPE_ONLY_KEYS,
    _name_tokens,
    _reads_as_date,
    distinct_values,
    infer_role,
    infer_type,
    profile_columns,
    profile_known,
)


def _profiles(
    columns: dict[str, list[str | None]], known: set[str] = frozenset(), typed: set[str] | None = None
) -> dict[str, dict[str, int]]:
    """Profile text columns given as lists of values (row order), as the importer does over its _dedup table."""
    con = duckdb.connect()
    norm.register_functions(con)
    n = len(next(iter(columns.values())))
    names = list(columns)
    rows = [[i + 1, *(columns[c][i] for c in names)] for i in range(n)]
    declared = ", ".join(f'"{c}" VARCHAR' for c in names)
    con.execute(f"CREATE TEMP TABLE _dedup (_row BIGINT, {declared})")
    con.executemany(f"INSERT INTO _dedup VALUES ({', '.join('?' * (len(names) + 1))})", rows)
    texts = {c: f'"{c}"' for c in names}
    index = {c: i for i, c in enumerate(names)}
    distinct_values(con, texts, index)
    return profile_columns(con, texts, set(known), index, typed)


def test_profile_counts_present_values_weighted_by_occurrence():
    p = _profiles({"c": ["10", "10", "20", None, ""]})["c"]
    # 3 values present (None and "" are missing), all numbers, 2 distinct keys, 3 distinct raw values + NULL
    assert (p["present"], p["sampled"], p["number"], p["rows"]) == (3, 3, 3, 5)
    assert p["digits"] == 3 and (p["int_min"], p["int_max"]) == (10, 20)


def test_typed_columns_skip_only_the_type_evidence():
    # a band or a date whose type a synonym fixed needs its role's and date order's figures, not the types' parsers:
    # those keys are 0, every other key as profiled without `typed`, and an untyped column beside it unchanged
    columns = {
        "Closed": ["01/31/2024", "02/13/2024", "13.02.2024", None, "", "02/03/2024"],
        "Size": ["51-200", "1,250", "10001+", "51-200", "Self-employed", None],
        "Amount": ["$1,200", "$300", None, "$1,200", "n/a", "$5"],
        "Flag": ["yes", "no", "yes;no", "1", "x", "no"],
    }
    every = _profiles(columns)
    some = _profiles(columns, typed={"Closed", "Size"})
    for name in ("Closed", "Size"):
        assert {k: some[name][k] for k in TYPE_ONLY_KEYS} == dict.fromkeys(TYPE_ONLY_KEYS, 0)
        assert {k: v for k, v in some[name].items() if k not in TYPE_ONLY_KEYS} == {
            k: v for k, v in every[name].items() if k not in TYPE_ONLY_KEYS
        }
    assert (every["Closed"]["date"], every["Size"]["number"], some["Size"]["range"]) == (4, 1, 3)
    assert (some["Closed"]["mdy"], some["Closed"]["slashed"], some["Closed"]["dotted"]) == (2, 4, 1)
    assert some["Amount"] == every["Amount"] and some["Amount"]["amount"] == 4
    assert some["Flag"] == every["Flag"] and some["Flag"]["semicolon"] == 1


def test_known_columns_get_presence_only():
    p = _profiles({"c": ["a", None, "b"]}, known={"c"})["c"]
    assert (p["present"], p["rows"], p["number"]) == (2, 3, 0)


def test_columns_profiled_together_as_each_alone():
    # one statement profiles every column (a union of their distinct values, grouped by column): no column's
    # counts may leak into another's, and a currency code is read only in the column named like one
    columns = {
        "Amount": ["$1,200", "$300", None, "$1,200", "n/a", "$5"],
        "Currency": ["USD", "EUR", "USD", None, "GBP", "USD"],
        "Closed": ["01/31/2024", "2024-02-01", "13.02.2024", None, "", "02/03/2024"],
        "Size": ["51-200", "1,250", "10001+", "51-200", "Self-employed", None],
        "Region": ["EMEA", "EMEA", "emea", "AMER", "APAC", "AMER"],
        "Seq": ["1", "2", "3", "4", "5", "6"],
    }
    together = _profiles(columns, known={"Region"})
    assert list(together) == list(columns)
    for name in columns:
        assert together[name] == _profiles({name: columns[name]}, known={"Region"} & {name})[name], name
    assert together["Currency"]["currency_code"] == 5 and together["Amount"]["currency_code"] == 0
    assert (together["Amount"]["amount"], together["Amount"]["currency_seen"]) == (4, 4)
    assert (together["Seq"]["int_min"], together["Seq"]["int_max"], together["Seq"]["distinct_raw"]) == (1, 6, 6)
    assert (together["Region"]["present"], together["Region"]["distinct_raw"]) == (6, 4)


def test_date_evidence_counts_values_read_in_either_order():
    # a slashed value counts when either order reads it; any other value when the order-free forms read it
    values = ["01/31/2024", "31/01/2024", "2024-02-01", "May 1, 2023", "51-200", "12", "44927", "13/13/2024", None]
    p = _profiles({"c": values})["c"]
    assert (p["date"], p["slashed"], p["mdy"], p["dmy"], p["sampled"]) == (5, 3, 2, 2, 8)


def test_profile_known_one_pass():
    con = duckdb.connect()
    con.execute(
        "CREATE TEMP TABLE _dedup AS SELECT range + 1 AS _row, CASE WHEN range % 2 = 0 THEN 'x' END AS c FROM range(6)"
    )
    p = profile_known(con, {"c": "c"}, {"c"})["c"]
    assert (p["present"], p["rows"], p["distinct_raw"]) == (3, 6, 1)
    assert profile_known(con, {"c": "c"}, set()) == {}


TYPE_CASES = [
    (["yes", "no", "yes", "no"], "col", "bool"),
    (["12", "7", "3.5", "100"], "col", "number"),
    (["$1,200", "$300", "$45", "$9"], "col", "money"),
    (["2024-01-05", "2023-11-30", "2022-02-01"], "col", "date"),
    (["1-10", "11-50", "51-200", "11-50"], "col", "band"),
    (["a;b", "b;c", "a"], "col", "list"),
    (["02134", "00501", "10001", "02134"] * 3, "col", "category"),  # leading zeros: a code, not a number
    (["94105", "10001", "60601", "94105"] * 3, "zip", "category"),  # named like a code
    (["Paris", "Lyon", "Paris", "Nice", "Paris", "Lyon", "Paris"], "col", "category"),  # 3 distinct < half of 7
    (["Paris", "Lyon", "Nice"], "col", "text"),  # every value different: no category
    (["line one\nline two", "x", "y"], "col", "text"),  # multi-line: free text
    ([None, None], "col", "text"),  # nothing present
    (["yes", "no"] * 30 + ["kinda"], "col", "bool"),  # a stray value in a yes/no column keeps it yes/no
]


@pytest.fixture(scope="module")
def type_profiles():
    """Every case profiled in one pass (a column each, padded with missing values, which no count includes)."""
    longest = max(len(v) for v, _, _ in TYPE_CASES)
    columns = {
        f"{name}{k}": values + [None] * (longest - len(values)) for k, (values, name, _) in enumerate(TYPE_CASES)
    }
    return _profiles(columns)


@pytest.mark.parametrize("k", range(len(TYPE_CASES)))
def test_infer_type(type_profiles, k):
    values, name, expected = TYPE_CASES[k]
    assert infer_type(type_profiles[f"{name}{k}"], name) == expected, values


def _column(header: str, type_: str) -> PlannedColumn:
    return PlannedColumn(header=header, name=header.lower().replace(" ", "_"), canonical=False, type=type_, role="auto")


def _role(header: str, type_: str, values: list[str | None]) -> tuple[str, str | None]:
    column = _column(header, type_)
    profile = _profiles({column.name: values})[column.name]
    return infer_role(column, profile), column.note


def test_infer_role():
    cities = ["Paris", "Lyon", "Nice"] * 5
    assert _role("City Tier", "category", cities)[0] == "fit"
    assert _role("Last Login Date", "date", ["2024-01-01"] * 3)[0] == "post_sale"
    assert _role("Usage Score", "number", ["1", "2", "3"])[0] == "post_sale"
    role, note = _role("Account Owner", "category", ["Ann", "Bob", "Ann"])
    assert role == "ignore" and "person's name" in note
    role, note = _role("Ref", "category", [f"R{i}" for i in range(12)])  # unique in every row
    assert role == "ignore" and "identifies a row" in note
    assert _role("Empty", "category", [None, None])[0] == "ignore"
    assert _role("Currency", "currency", ["USD", "EUR"])[0] == "ignore"


def test_a_role_already_decided_is_kept():
    column = _column("Industry", "category")
    column.role = "fit"
    assert infer_role(column, {}) == "fit"


def test_name_tokens_split_camel_case():
    assert _name_tokens("LastLoginDate") == "last_login_date"
    assert _name_tokens("NPS score") == "nps_score"


DATE_LIKE = [
    "2021-03-04",
    "03/04/2021",
    "13/02/2020",
    "02/13/2020",
    "4.3.2021",
    "May 1, 2023",
    "1-May-23",
    "44197",
    "1617235200",
    "soon",
    "n/a",
    "",
    "  12/31/99 ",
    "31/12/99",
    "2021-03-04T10:00:00Z",
    "51-200",
    None,
    "N/A",
    "a very long value that is not a date at all",
    "00/00/0000",
    "7",
]


def test_reads_as_date_is_either_order_of_norm_date():
    # the evidence binds the cleaned value once (profile._reads_as_date): the same answer as both orders read in full
    con = duckdb.connect()
    reference = f"coalesce({norm.date('x', 'mdy')}, {norm.date('x', 'dmy')}) IS NOT NULL"
    got = con.execute(
        f"SELECT x, {_reads_as_date('x')}, {reference} FROM (SELECT unnest(?::VARCHAR[]) AS x)", [DATE_LIKE]
    ).fetchall()
    assert [r[1] for r in got] == [r[2] for r in got]
    read = {r[0]: r[1] for r in got}
    assert read["03/04/2021"] and read["May 1, 2023"] and not read["soon"] and not read["51-200"]
