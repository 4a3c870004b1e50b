"""Value normalisers: table-driven examples and hypothesis properties, evaluated in DuckDB."""

from datetime import date

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icp_agent.ingest import normalize as norm

con = duckdb.connect()


def sql(expr_fn, value, *args):
    return con.execute(f"SELECT {expr_fn('x', *args)} FROM (SELECT ?::VARCHAR AS x)", [value]).fetchone()[0]


def sql_rows(exprs: list[str], **columns: list) -> list[tuple]:
    """Each of `exprs` (SQL over the columns named) on every row of the columns' values (lists of one length, as
    text), in one query, in the lists' order. Binding a normaliser's expression is what takes the time (up to 15 ms),
    not the rows, so each property below checks a list of values per example rather than one."""
    unnests = ", ".join(f"unnest(?::VARCHAR[]) AS {name}" for name in columns)
    count = len(next(iter(columns.values())))
    query = f"SELECT {', '.join(exprs)} FROM (SELECT {unnests}, unnest(range({count})) AS _i) ORDER BY _i"
    return con.execute(query, list(columns.values())).fetchall()


# a list of 10 to 30 values per example (about 20): with a tenth of the examples, as many values checked or more
def some(strategy):
    return st.lists(strategy, min_size=10, max_size=30)


@pytest.mark.parametrize("raw,expected", [
    ("$1,200.00", 1200.0), ("1,250", 1250.0), ("1250", 1250.0), ("€1.200,50", 1200.5), ("$5k", 5000.0),
    ("1.5M", 1_500_000.0), ("(300)", -300.0), ("USD 1,000", 1000.0), ("-42.5", -42.5), ("0", 0.0),
    ("n/a", None), ("-", None), ("", None), ("N/A", None), ("12 employees", None), ("abc", None),
])
def test_number(raw, expected):
    assert sql(norm.number, raw) == expected


@pytest.mark.parametrize("raw,low,high", [
    ("51-200", 51, 200), ("10001+", 10001, None), ("1,001-5,000", 1001, 5000), ("10,000+", 10000, None),
    ("<10", 0, 10), ("1 to 10", 1, 10), ("1,250", 1250, 1250), ("42", 42, 42), ("n/a", None, None),
])
def test_band_keeps_explicit_bounds(raw, low, high):
    assert sql(norm.band_min, raw) == low
    assert sql(norm.band_max, raw) == high


@pytest.mark.parametrize("raw,low,high,exact", [
    ("~55", 55, 55, 55), ("≈ 1,200", 1200, 1200, 1200), ("approx. 40 employees", 40, 40, 40), ("Ca. 7", 7, 7, 7),
    ("about 50-100", 50, 100, None), ("around 2k", 2000, 2000, 2000), ("etwa 300 Mitarbeiter", 300, 300, 300),
    ("approximately 90+", 90, None, None), ("~", None, None, None), ("ca.", None, None, None),
])
def test_an_approximate_count_reads_as_its_figure_or_band(raw, low, high, exact):
    assert sql(norm.band, raw) == {"min": low, "max": high, "exact": exact}


@pytest.mark.parametrize("raw,expected", [
    ("~55", 55.0), ("approx. 1.5M", 1_500_000.0), ("ca. $50k", 50_000.0), ("about 12", 12.0), ("est. 300", 300.0),
    ("CA$50", None), ("cable", None), ("~ lots", None),
])
def test_an_approximate_number_reads_as_its_figure(raw, expected):
    assert sql(norm.number, raw) == expected
    parsed = norm.parse_amount(raw)
    if raw != "CA$50":  # Canadian dollars for the parser that knows currencies
        assert (parsed and parsed["value"]) == expected
    else:
        assert parsed == {"value": 50.0, "currency": "CAD", "open": False}


def test_an_approximate_amount_keeps_its_currency():
    assert norm.parse_amount("€ ca. 50.000") == {"value": 50_000.0, "currency": "EUR", "open": False}
    assert norm.parse_amount("~$1.2M+") == {"value": 1_200_000.0, "currency": "USD", "open": True}


@pytest.mark.parametrize("raw,expected", [
    ("yes", True), ("No", False), ("TRUE", True), ("false", False), ("1", True), ("0", False), ("y", True),
    ("maybe", None), ("n/a", None),
])
def test_boolean(raw, expected):
    assert sql(norm.boolean, raw) == expected


@pytest.mark.parametrize("raw,checkbox,expected", [
    ("x", False, True), ("X", False, True), ("✓", False, True), ("✔", False, True), ("☑", False, True),
    ("*", False, True), (" x ", True, True), ("", True, False), (None, True, False), ("", False, None),
    ("no", True, False), ("maybe", True, None),
])
def test_a_ticked_box_is_yes_and_a_blank_is_no_in_a_checkbox_column(raw, checkbox, expected):
    assert sql(lambda e: norm.boolean(e, blank_is_no=checkbox), raw) == expected


@pytest.mark.parametrize("values,expected", [
    (["x", None, "✓", ""], True), (["*", "*"], True), (["x", "no"], False), (["", None], False), (["yes", ""], False),
])
def test_a_checkbox_column_holds_only_ticks_and_blanks(values, expected):
    assert con.execute(norm.is_checkbox("SELECT unnest(?::VARCHAR[]) AS raw"), [values]).fetchone()[0] is expected


@pytest.mark.parametrize("raw,order,expected", [
    ("3/25/24", "mdy", date(2024, 3, 25)), ("25/3/99", "dmy", date(1999, 3, 25)), ("1/2/68", "mdy", date(2068, 1, 2)),
    ("3/25/245", "mdy", None), ("04/01/2026", "dmy+mdy", date(2026, 1, 4)), ("04/01/2026", "mdy+dmy", date(2026, 4, 1)),
    ("04/13/2026", "dmy+mdy", date(2026, 4, 13)), ("13/04/2026", "mdy+dmy", date(2026, 4, 13)),
    ("05.03.2024", "mdy+dmy", date(2024, 3, 5)), ("2024-03-05", "mdy+dmy", date(2024, 3, 5)),
    ("March 5, 2024", "dmy+mdy", date(2024, 3, 5)), ("5 Mar 2024", "mdy+dmy", date(2024, 3, 5)),
    ("13/13/2024", "dmy+mdy", None),
])
def test_dates_with_two_digit_years_and_in_a_column_typed_in_both_orders(raw, order, expected):
    assert sql(norm.date, raw, order) == expected


def test_relabel_applies_a_mapping_files_labels_whatever_the_spelling():
    labels = {"Ex-Customer": "yes", "still paying": "no"}
    relabelled = lambda e: norm.boolean(norm.relabel(e, labels))  # noqa: E731
    assert [sql(relabelled, v) for v in ("ex customer", "Still Paying", "y", "other")] == [True, False, True, None]


@pytest.mark.parametrize("raw,order,expected", [
    ("2024-03-05", None, date(2024, 3, 5)), ("2024-03-05 10:11:12", None, date(2024, 3, 5)),
    ("03/25/2024", "mdy", date(2024, 3, 25)), ("25/03/2024", "dmy", date(2024, 3, 25)),
    ("25.03.2024", "dmy", date(2024, 3, 25)), ("2/3/2024", "mdy", date(2024, 2, 3)),
    ("2/3/2024", "dmy", date(2024, 3, 2)), ("not a date", "mdy", None), ("02/30/2024", "mdy", None),
])
def test_dates(raw, order, expected):
    assert sql(norm.date, raw, order) == expected


@pytest.mark.parametrize("spelling", ["COMPUTER_SOFTWARE", "Computer Software", "computer software",
                                      "  Computer   Software ", "Computer_Software"])
def test_enum_spellings_unify(spelling):
    assert sql(norm.category, spelling) == "Computer Software"


@pytest.mark.parametrize("spellings", [
    ["Fin Tech", "FinTech", "Fintech", "fin-tech", "FIN_TECH"],
    ["Health Care", "Healthcare", "health  care", "Health-care"],
    ["E-commerce", "eCommerce", "E commerce"],
])
def test_spacing_and_hyphens_never_split_a_category(spellings):
    keys = {sql(norm.category_key, s) for s in spellings}
    assert len(keys) == 1 and keys == {norm.category_key_text(s) for s in spellings}


def test_punctuation_that_means_something_keeps_categories_apart():
    assert len({sql(norm.category_key, s) for s in ["C", "C++", "C#", ".NET", "NET"]}) == 5
    assert sql(norm.category, "health care") == "Health Care"  # the words stay words when shown


def test_ampersand_and_and_unify():
    assert sql(norm.category, "Marketing & Advertising") == sql(norm.category, "MARKETING_AND_ADVERTISING") \
        == "Marketing and Advertising"


@pytest.mark.parametrize("raw,expected", [
    ("Salesforce;Slack;Google Workspace", ["Google Workspace", "Salesforce", "Slack"]),
    ("salesforce, slack", ["Salesforce", "Slack"]), ("Salesforce; ;Slack;Slack", ["Salesforce", "Slack"]),
    ("n/a", None),
])
def test_lists(raw, expected):
    assert sql(norm.text_list, raw) == expected


@pytest.mark.parametrize("raw,expected", [("15%", 0.15), ("0.15", 0.15), ("115", 1.15), ("120 %", 1.2)])
def test_percent(raw, expected):
    assert sql(norm.percent, raw) == pytest.approx(expected)


@pytest.mark.parametrize("raw,expected", [("https://www.Acme.com/about", "acme.com"), ("acme.io", "acme.io"),
                                          ("jane@acme.com", "acme.com"), ("http://acme.co.uk:8080", "acme.co.uk")])
def test_domain(raw, expected):
    assert sql(norm.domain, raw) == expected


# --- properties -------------------------------------------------------------------------------------------

@settings(max_examples=15, deadline=None)
@given(some(st.integers(min_value=-(10**12), max_value=10**12)))
def test_number_round_trips_every_us_formatting(ns):
    expected = [(text, n) for n in ns for text in (str(n), f"{n:,}", f"${n:,}.00" if n >= 0 else f"-${-n:,}.00")]
    got = sql_rows([norm.number("x")], x=[text for text, _ in expected])
    assert [(text, value) for (text, _), (value,) in zip(expected, got)] == expected


@settings(max_examples=15, deadline=None)
@given(some(st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False)))
def test_number_parses_decimals(ds):
    texts = [f"{d:,.2f}" for d in ds]
    got = [value for (value,) in sql_rows([norm.number("x")], x=texts)]
    assert list(zip(texts, got)) == [(text, pytest.approx(float(d))) for text, d in zip(texts, ds)]


@settings(max_examples=10, deadline=None)
@given(some(st.tuples(st.integers(min_value=0, max_value=10**7), st.integers(min_value=0, max_value=10**7))))
def test_band_bounds_are_ordered_and_exact(pairs):
    bands = [(min(a, b), max(a, b)) for a, b in pairs]
    ranges, opens = [f"{low:,}-{high:,}" for low, high in bands], [f"{low}+" for low, _ in bands]
    got = sql_rows([norm.band_min("x"), norm.band_max("x"), norm.band_min("y"), norm.band_max("y")], x=ranges, y=opens)
    assert list(zip(ranges, got)) == [(raw, (low, high, low, None)) for raw, (low, high) in zip(ranges, bands)]


PHRASES = st.lists(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéèêëüöäâñçÉÈÜÖÄÑÇ", min_size=1, max_size=8),
    min_size=1,
    max_size=4,
)


@settings(max_examples=10, deadline=None)
@given(some(PHRASES))
def test_category_is_spelling_insensitive(phrases):
    spaced = [" ".join(words) for words in phrases]
    variants = {
        "a": spaced,
        "b": [s.upper().replace(" ", "_") for s in spaced],
        "c": [s.lower() for s in spaced],
        "d": [f"  {s}  " for s in spaced],
    }
    canon = sql_rows([norm.category(name) for name in variants], **variants)
    assert [(s, len(set(row))) for s, row in zip(spaced, canon)] == [(s, 1) for s in spaced]


@settings(max_examples=10, deadline=None)
@given(some(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))))
def test_dates_in_every_order(ds):
    got = sql_rows(
        [norm.date("iso", None), norm.date("us", "mdy"), norm.date("eu", "dmy")],
        iso=[d.isoformat() for d in ds],
        us=[f"{d.month:02d}/{d.day:02d}/{d.year}" for d in ds],
        eu=[f"{d.day}.{d.month}.{d.year}" for d in ds],
    )
    assert list(zip(ds, got)) == [(d, (d, d, d)) for d in ds]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(norm.MISSING_MARKERS), st.sampled_from(["number", "category", "text", "list", "bool",
                                                                "percent", "band"]))
def test_missing_markers_are_missing_in_every_type(marker, kind):
    assert sql(lambda e: norm.typed(kind, e), marker) is None


OLD_DOMAIN_STEPS = ("^[^@/]*@", "^[a-z]+://", "^www\\d?\\.", "[/?#:].*$")  # the four replacements domain() fuses


@pytest.mark.parametrize("raw", ["https://www.Acme.com/about", "jo@mail.acme.co.uk", "mailto:jo@acme.com", "www2.x.io:8080",
                                 "ftp://a/b@c.com", "http://jo@acme.com/x", "WWW.acme.com?q=1#top", "https://", "@",
                                 "a/b@c", "www.", " acme.com ", "n/a", "", "wwwx.com", "x://www.y.z", "é.fr/ü",
                                 # no @ : / ? #: "www." is dropped by position, not by the expression
                                 "www.acme.com", "WWW2.Acme.com", "www23.acme.com", "www2x.com", "www9.", "wwwé.com",
                                 "www1.é", "www.www.acme.com", "ww.acme.com",
                                 # a scheme and a bare host: read by position, not by the expression
                                 "https://www.acme.com", "HTTP://Acme.com", "https://www2.acme.com", "https://wwwacme.com",
                                 "https://www.", "http://", "http://www.acme.com:8080", "https://jo@acme.com",
                                 "https://www.acme.com?x", "https://www.acme.com#y", "https://acme.com/", "http://www.www.a",
                                 "https://https://acme.com", "https:/acme.com", "xhttps://acme.com", "https://www.é.fr"])
def test_domain_is_the_four_replacements_in_one(raw):
    assert sql(norm.domain, raw) == sql(_domain_in_four_steps, raw)


@settings(max_examples=30, deadline=None)
@given(some(st.one_of(st.text(alphabet="aw.:/@?#-2 Xé", max_size=16), st.text(alphabet="w.2a", max_size=8))))
def test_domain_is_the_four_replacements_in_one_on_any_text(raws):
    got = sql_rows([norm.domain("x"), _domain_in_four_steps("x")], x=raws)
    assert [(raw, fused) for raw, (fused, _) in zip(raws, got)] == [(raw, steps) for raw, (_, steps) in zip(raws, got)]


_URL_PARTS = ("https://", "http://", "www.", "www2.", "www", "acme", ".com", "/", "?", "#", ":", "@", "jo", "é", " ")


@settings(max_examples=40, deadline=None)
@given(some(st.lists(st.sampled_from(_URL_PARTS), max_size=6).map("".join)))
def test_domain_is_the_four_replacements_in_one_on_urls(raws):
    got = sql_rows([norm.domain("x"), _domain_in_four_steps("x")], x=raws)
    assert [(raw, fused) for raw, (fused, _) in zip(raws, got)] == [(raw, steps) for raw, (_, steps) in zip(raws, got)]


def _domain_in_four_steps(expr: str) -> str:
    v = f"lower({norm.null_if_missing(expr)})"
    for step in OLD_DOMAIN_STEPS:
        v = f"regexp_replace({v}, '{step}', '')"
    return f"nullif({v}, '')"


@settings(max_examples=30, deadline=None)
@given(some(st.one_of(st.none(), st.text(alphabet=" \t\naB-/n", max_size=8))))
def test_text_collapses_runs_only_where_there_are_runs(raws):
    # the fast path (no two spaces, no tab) returns what the regular expression would
    got = sql_rows([norm.text("x"), f"regexp_replace({norm.null_if_missing('x')}, '[ \\t]+', ' ', 'g')"], x=raws)
    assert [(raw, fast) for raw, (fast, _) in zip(raws, got)] == [(raw, slow) for raw, (_, slow) in zip(raws, got)]


@settings(max_examples=40, deadline=None)
@given(
    some(
        st.one_of(
            st.sampled_from([*norm.MISSING_MARKERS, " NOT AVAILABLE ", "Not Available!", "\tN/A\t", "unknownx"]),
            st.text(alphabet=" \tnN/A-aotvilbeİẞ", max_size=18),
        )
    )
)
def test_null_if_missing_skips_the_markers_only_for_values_longer_than_all_of_them(raws):
    # the length guard returns what comparing every value with every marker returns
    every = f"(CASE WHEN {norm.one_of('lower(trim(x))', norm.MISSING_MARKERS)} THEN NULL ELSE trim(x) END)"
    got = sql_rows([norm.null_if_missing("x"), every], x=raws)
    assert [(raw, fast) for raw, (fast, _) in zip(raws, got)] == [(raw, slow) for raw, (_, slow) in zip(raws, got)]
    assert (
        sql(norm.null_if_missing, "  Not Available ") is None
        and sql(norm.null_if_missing, " Acme Corp ") == "Acme Corp"
    )


# every character DuckDB's trim removes (the space separators) or keeps (tabs, line breaks, a zero-width space)
_EDGES = " \u00a0\u1680\u2000\u200a\u202f\u205f\u3000\t\n\u200b\ufeffaé"


@settings(max_examples=40, deadline=None)
@given(some(st.one_of(st.none(), st.text(alphabet=_EDGES, max_size=6), st.text(alphabet="ab ", max_size=6))))
def test_trimmed_is_trim(raws):
    # the guard skips trim only where trim would return the value unchanged
    got = sql_rows([norm.trimmed("x"), "trim(x)"], x=raws)
    assert [(raw, fast) for raw, (fast, _) in zip(raws, got)] == [(raw, slow) for raw, (_, slow) in zip(raws, got)]
    assert [sql(norm.trimmed, v) for v in ("\u00a0Acme\u3000", " Acme ", "\tAcme\n", "Acme")] == [
        "Acme",
        "Acme",
        "\tAcme\n",
        "Acme",
    ]


@settings(max_examples=30, deadline=None)
@given(some(st.one_of(st.none(), st.text(alphabet=" \u00a0\t\naw.:/@?#-Xé", max_size=14), st.sampled_from(["n/a", " - "]))))
def test_per_row_parts_are_text_and_domain_in_two_steps(raws):
    # the value computed in an inner projection and the body over it outside give what text() and domain() give
    exprs = [norm.text("x"), norm.domain("x")]
    inner = []
    for k, kind in enumerate(("text", "domain")):
        value, body = norm.per_row_parts(kind, "x")
        inner.append((f"{value} AS v{k}", body.replace("_icp_v", f"v{k}")))
    query = (
        f"SELECT {', '.join(b for _, b in inner)}, {', '.join(exprs)} FROM (SELECT {', '.join(v for v, _ in inner)}, x, "
        f"_i FROM (SELECT unnest(?::VARCHAR[]) AS x, unnest(range({len(raws)})) AS _i)) ORDER BY _i"
    )
    got = con.execute(query, [raws]).fetchall()
    assert [(raw, r[0], r[1]) for raw, r in zip(raws, got)] == [(raw, r[2], r[3]) for raw, r in zip(raws, got)]


def _marks_in_sql(columns: list[list[tuple[str, int]]]) -> dict[int, str | None]:
    local = duckdb.connect()
    for i, values in enumerate(columns):
        local.execute(f"CREATE TABLE d{i} (raw VARCHAR, c BIGINT)")
        if values:
            local.executemany(f"INSERT INTO d{i} VALUES (?, ?)", values)
    return norm.decimal_marks(local, {i: f"d{i}" for i in range(len(columns))})


def test_decimal_marks_are_decided_in_sql_as_decimal_mark_decides_them():
    columns = [
        [("1.320.006,00 €", 1), ("3.200", 2)],  # ","
        [("0.25", 3), ("3.200", 1), (None, 4)],  # "."
        [("22,500,000", 1), ("€24.000", 1)],  # no proof
        [("12,5", 2), ("1,234.56", 1), ("7", 9)],  # "," by its counts
        [("\u0661\u0662\u066b\u0665", 1), ("\u0663,\u0665", 1)],  # Arabic-Indic digits are digits to both
        [],
    ]
    assert _marks_in_sql(columns) == {i: norm.decimal_mark(values) for i, values in enumerate(columns)}
    assert list(_marks_in_sql(columns).values())[:4] == [",", ".", None, ","]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.tuples(st.text(alphabet="0123456789.,٣ €$-ab", max_size=12), st.integers(1, 5)),
                         max_size=8, unique_by=lambda v: v[0]), min_size=1, max_size=4))
def test_decimal_marks_agree_with_decimal_mark_on_any_values(columns):
    assert _marks_in_sql(columns) == {i: norm.decimal_mark(values) for i, values in enumerate(columns)}
