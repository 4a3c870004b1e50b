"""Unit tests of icp_agent.ingest.reader: what inspect_file learns about a file (format, encoding, delimiter,
header, title lines), stage's loading of rows and furniture, and the errors each unreadable file gives."""

from __future__ import annotations

import codecs
import hashlib

import duckdb
import pytest

from icp_agent.errors import UserError
from icp_agent.ingest.reader import (
    file_digest,
    inspect_file,
    is_footer_line,
    peek_headers,
    read_source_sql,
    stage,
)


def _staged(source, **kw):
    con = duckdb.connect()
    rejected = stage(con, source, **kw)
    rows = con.execute("SELECT * FROM _stage ORDER BY rowid").fetchall()
    return rows, rejected


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters(write, delimiter):
    path = write("c.csv", delimiter.join(["id", "name", "city"]) + "\n" + delimiter.join(["1", "Acme", "Paris"]) + "\n")
    source = inspect_file(path)
    assert (source.format, source.delimiter, source.headers) == ("csv", delimiter, ["id", "name", "city"])
    assert source.sha256 == hashlib.sha256(path.read_bytes()).hexdigest() == file_digest(path)


def test_a_comma_inside_quotes_does_not_split(write):
    source = inspect_file(write("c.csv", 'id;name\n1;"Acme, Inc."\n2;Bolt\n'))
    assert source.delimiter == ";"
    assert _staged(source)[0] == [("1", "Acme, Inc."), ("2", "Bolt")]


def test_encodings(write):
    assert inspect_file(write("a.csv", codecs.BOM_UTF8 + "id,name\n1,Zoë\n".encode())).encoding == "utf-8"
    latin = inspect_file(write("b.csv", "id,name\n1,Zoë Café\n".encode("latin-1")))
    assert latin.encoding in ("latin-1", "cp1252")
    utf16 = inspect_file(write("c.csv", "id,name\n1,Zoë\n".encode("utf-16")))
    assert utf16.encoding.startswith("utf-16") and utf16.headers == ["id", "name"] and utf16.needs_conversion
    assert _staged(utf16)[0] == [("1", "Zoë")]
    assert _staged(latin)[0] == [("1", "Zoë Café")]


def test_title_lines_above_the_header_are_skipped_and_reported(write):
    source = inspect_file(write("r.csv", "Pipeline report\nExported 2026-01-01\nid,name\n1,Acme\n2,Bolt\n"))
    assert source.headers == ["id", "name"] and source.skip_lines == 2
    rows, rejected = _staged(source)
    assert rows == [("1", "Acme"), ("2", "Bolt")] and rejected == []
    assert source.furniture_count >= 2 and [f["raw"] for f in source.furniture[:2]] == [
        "Pipeline report",
        "Exported 2026-01-01",
    ]


def test_footer_and_total_rows_are_dropped_not_rejected(write):
    text = "id,name,amount\n1,Acme,10\n2,Bolt,20\nTotal,,30\nGrand Totals (2 records)\n"
    source = inspect_file(write("r.csv", text))
    rows, rejected = _staged(source)
    assert rows == [("1", "Acme", "10"), ("2", "Bolt", "20")] and rejected == []
    assert source.furniture_count == 2


@pytest.mark.parametrize(
    "total",
    [
        ',,Grand Total,=SUM(D2:D4),"=SUBTOTAL(9,E2:E4)",',  # the label in the name column, the sheet's formulas kept
        "SUM,,,1460,#REF!,",  # the label in the id column, a broken formula's error
        ",,TOTAL (3 accounts),1460,300 seats,",
    ],
)
def test_a_spreadsheets_total_row_is_furniture_wherever_its_label_sits(write, total):
    text = (
        "Account Id,Domain,Account Name,ARR,Seats,Industry\n"
        "A-1,total.com,Total,1000,120,Energy\n"  # a real company named Total: its domain and industry are no figures
        "A-2,,TotalEnergies,400,100,\n"
        "A-3,,Total,60,80,\n"  # named Total, figures only, but its own record id: a record
        f"{total}\n"
    )
    source = inspect_file(write("accounts.csv", text))
    rows, rejected = _staged(source)
    assert [r[2] for r in rows] == ["Total", "TotalEnergies", "Total"] and rejected == []
    assert source.furniture_count == 1
    assert source.furniture[0]["kind"] == "total or subtotal row" and source.furniture[0]["row"] == 4


def test_a_hand_kept_sheets_section_headings_are_furniture_and_companies_survive(write):
    """Rows a person types between blocks of a sheet ("--- Americas ---", "## Lost ##", a plain "APAC" alone in the
    first cell) are dropped as section headings; a company with any other cell filled is a record."""
    body = "".join(f"Co{k},co{k}.com,{k},Retail\n" for k in range(120))
    text = (
        "Customer,Web,Seats,Sector\n--- Americas ---,,,\nGlobex,globex.com,,\n"
        f"{body}APAC,,,\nEMEA,,12,\n## Lost ##,,,\n— imported from Trello —,,,\nGermany,,,\nInitech,,,\n"
    )
    source = inspect_file(write("book.csv", text))
    rows, rejected = _staged(source)
    names = [r[0] for r in rows]
    # a company with a seat count, and a lone company name (no region, country or status), are records
    assert names[0] == "Globex" and "EMEA" in names and names[-1] == "Initech" and len(rows) == 123
    assert rejected == []
    assert [(f["row"], f["kind"], f["raw"]) for f in source.furniture] == [
        (1, "section heading row", "--- Americas ---"),
        (123, "section heading row", "APAC"),
        (125, "section heading row", "## Lost ##"),
        (126, "section heading row", "— imported from Trello —"),
        (127, "section heading row", "Germany"),
    ]


def test_a_list_of_names_alone_keeps_every_name(write):
    """Rows with only their first cell filled are section headings only when few: here they are the list (countries'
    names too, as companies may be called)."""
    text = "Company,Domain,Owner\n" + "".join(f"Name {k},,\nChile,,\n" for k in range(20)) + "Acme,acme.com,Jo\n"
    rows, _ = _staged(inspect_file(write("names.csv", text)))
    assert len(rows) == 41


def test_is_footer_line():
    assert is_footer_line(["Grand Totals (24 records)", "", ""])
    assert is_footer_line(["Confidential Information - Do Not Distribute"])
    assert not is_footer_line(["Acme", "Software"])
    assert not is_footer_line(["", ""])


def test_a_malformed_row_names_the_row_or_is_rejected_when_lenient(write):
    path = write("bad.csv", 'id,name\n1,Acme\n2,"Bolt\n3,Crane\n')
    with pytest.raises(UserError) as err:
        _staged(inspect_file(path))
    assert err.value.file == "bad.csv"
    path = write("wide.csv", "id,name\n1,Acme\n2,Bolt,extra,cells\n3,Crane\n")
    with pytest.raises(UserError) as err:
        _staged(inspect_file(path))
    assert err.value.file == "wide.csv" and err.value.row == 2
    rows, rejected = _staged(inspect_file(path, lenient=True), lenient=True)
    assert rows == [("1", "Acme"), ("3", "Crane")] and [r["row"] for r in rejected] == [2]


@pytest.mark.parametrize(
    "name, content, said",
    [
        ("empty.csv", "", "the file is empty"),
        ("blank.csv", "\n \n", "the file is empty"),
        ("fake.parquet", "id,name\n1,a\n", "not a Parquet file"),
        ("bin.csv", bytes(range(256)) * 4, "binary"),
        ("dup.csv", "id,Name,name\n1,a,b\n", "duplicate header 'name'"),
    ],
)
def test_unreadable_files_name_the_file(write, name, content, said):
    with pytest.raises(UserError, match=said) as err:
        inspect_file(write(name, content))
    assert name in (err.value.file or "")


def test_missing_path_and_folder(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        inspect_file(tmp_path / "nope.csv")
    with pytest.raises(UserError, match="is a folder"):
        inspect_file(tmp_path)


def test_sheet_applies_to_workbooks_only(write):
    with pytest.raises(UserError, match="--sheet 'Deals' applies to workbooks"):
        inspect_file(write("c.csv", "id\n1\n"), sheet="Deals")


def test_header_without_rows(write):
    with pytest.raises(UserError, match="no data rows"):
        _staged(inspect_file(write("h.csv", "id,name\n")))


def test_duplicate_header_names_the_column(write):
    with pytest.raises(UserError) as err:
        inspect_file(write("d.csv", "id,Email,email \n1,a,b\n"))
    assert err.value.column == "email" or err.value.column == "Email"
    assert "columns 2 and 3" in str(err.value)


def test_json_lines_and_parquet(write, tmp_path):
    source = inspect_file(write("d.jsonl", '{"id": 1, "name": "Acme"}\n{"id": 2, "name": "Bolt"}\n'))
    assert source.format == "json" and source.delimiter is None
    assert peek_headers(source) == ["id", "name"]
    rows, _ = _staged(source)
    assert rows == [(1, "Acme"), (2, "Bolt")]
    parquet = tmp_path / "d.parquet"
    duckdb.sql(f"COPY (SELECT 1 AS id, 'Acme' AS name) TO '{parquet}' (FORMAT parquet)")
    source = inspect_file(parquet)
    assert source.format == "parquet" and peek_headers(source) == ["id", "name"]
    con = duckdb.connect()
    stage(con, source)
    assert con.execute("SELECT id, name FROM _stage").fetchall() == [(1, "Acme")]
    assert source.headers == ["id", "name"]  # the row-number column is not a header
    with pytest.raises(RuntimeError):
        source.csv_delimiter  # noqa: B018 - a Parquet file has no delimiter


def test_read_source_sql_refuses_a_file_that_needs_converting(write):
    source = inspect_file(write("u.csv", "id,name\n1,Zoë\n".encode("utf-16")))
    with pytest.raises(UserError, match="converted first"):
        read_source_sql(source)


def test_read_source_sql_reads_every_value_as_text(write):
    source = inspect_file(write("c.csv", "id,amount\n007,1.50\n"))
    assert duckdb.sql(f"SELECT * FROM {read_source_sql(source)}").fetchall() == [("007", "1.50")]


def test_digest_can_be_skipped(write):
    assert inspect_file(write("c.csv", "id\n1\n"), digest=False).sha256 == ""


def _crlf_file_cut_between_cr_and_lf(where: str) -> bytes:
    """A ';'-delimited UTF-8 contact list with CRLF line endings, non-ASCII cities throughout (2-byte letters
    shift every byte offset), one row padded so that the reader's head sample ends, or its tail window starts,
    between a line's \\r and its \\n."""
    from icp_agent.ingest.reader import SAMPLE_BYTES, TAIL_BYTES

    cities = ("São Paulo", "Zürich", "Łódź", "Reykjavík", "Leeds")
    lines = [b"Contact ID;Full name;City\r\n"]
    if where == "head":  # the row at the cut: its last byte before \n sits at SAMPLE_BYTES - 1
        size = sum(map(len, lines))
        while size < SAMPLE_BYTES - 200:
            lines.append(f"C{len(lines)};Person {len(lines)};{cities[len(lines) % 5]}\r\n".encode())
            size += len(lines[-1])
        prefix = f"C{len(lines)};Person {len(lines)} ".encode()
        end = ";Łódź\r\n".encode()
        lines.append(prefix + b"x" * (SAMPLE_BYTES + 1 - size - len(prefix) - len(end)) + end)
    while sum(map(len, lines)) < SAMPLE_BYTES + 2 * TAIL_BYTES:
        lines.append(f"C{len(lines)};Person {len(lines)};{cities[len(lines) % 5]}\r\n".encode())
    body = b"".join(lines)
    if where == "tail":  # the last row's length puts size - TAIL_BYTES on some row's \n
        newline = body.index(b"\n", len(body) + 40 - TAIL_BYTES)
        prefix = f"C{len(lines)};Person {len(lines)} ".encode()
        end = ";São Paulo\r\n".encode()
        body += prefix + b"x" * (newline + TAIL_BYTES - len(body) - len(prefix) - len(end)) + end
    return body


@pytest.mark.parametrize("where", ["head", "tail"])
def test_a_crlf_file_cut_between_cr_and_lf_by_a_sample_is_not_mixed(write, where):
    """A clean UTF-8 CRLF file is read by DuckDB itself, wherever the head sample or the tail window cuts it (a
    window starting at the \\n of a \\r\\n read as a bare \\n made it 'mixed' and scoring refuse it)."""
    from icp_agent.ingest.reader import SAMPLE_BYTES, TAIL_BYTES

    data = _crlf_file_cut_between_cr_and_lf(where)
    cut = SAMPLE_BYTES if where == "head" else len(data) - TAIL_BYTES
    assert data[cut - 1 : cut + 1] == b"\r\n"  # the case is hit
    source = inspect_file(write("contacts.csv", data))
    assert (source.encoding, source.delimiter, source.mixed_newlines) == ("utf-8", ";", False)
    assert not source.needs_conversion
    rows = duckdb.sql(f"SELECT * FROM {read_source_sql(source)}").fetchall()
    assert len(rows) == data.count(b"\n") - 1
    assert {r[2] for r in rows} == {"São Paulo", "Zürich", "Łódź", "Reykjavík", "Leeds"}  # no stray \r
    assert rows[1] == ("C2", "Person 2", "Łódź") and rows[-1][0] == f"C{len(rows)}"


def test_lf_rows_appended_to_a_crlf_file_are_still_mixed(write):
    """The tail window still sees rows another tool appended with bare \\n after the CRLF rows."""
    data = _crlf_file_cut_between_cr_and_lf("tail") + "C0;Appended Person;Győr\n".encode() * 50
    source = inspect_file(write("contacts.csv", data))
    assert source.mixed_newlines and source.needs_conversion


def test_undecodable_byte_past_the_first_chunk_names_its_row(write):
    # the lines before a chunk are counted only once a byte fails: the row must still be the file's
    rows = [f"{n},Company {n} with a long enough name to fill the chunk" for n in range(1, 30_001)]
    rows[10] = "11,Café"  # UTF-8 before the bad byte: a broken export, not a single-byte file
    body = ("Record ID,Company name\n" + "\n".join(rows) + "\n").encode()
    assert len(body) > 1 << 20
    path = write("mixed.csv", body + b"30001,Caf\xe9\n")
    with pytest.raises(UserError, match="mixes UTF-8") as caught:
        inspect_file(path)
    assert caught.value.row == 30_001


def test_the_furniture_cuts_empty_test_is_trim_to_nothing():
    """`_maybe_empty` (a shortcut on the first character, then trim) is `coalesce(trim(x), '') = ''` on any text:
    blanks, spaces, tabs and other whitespace trim keeps, control characters, the ends of printable ASCII,
    non-ASCII letters; in a table of many rows too (where DuckDB may answer the shortcut from a block's bounds)."""
    from icp_agent.ingest.reader import _maybe_empty

    values = [
        "",
        " ",
        "   ",
        "  x",
        "x  ",
        "!",
        "~",
        "\x7f",
        "\x7fa",
        " !",
        "\t",
        "\t\t",
        "\n",
        "\x00",
        "\u00a0",
        "\u3000x",
        "é",
        "Ärger",
        "a",
        "Z9",
        "0",
        None,
    ]
    con = duckdb.connect()
    con.execute("CREATE TABLE v AS SELECT unnest(?) AS x", [values])
    con.execute("INSERT INTO v SELECT 'Company ' || range FROM range(300000)")
    con.execute("INSERT INTO v SELECT ' ' FROM range(3)")
    differ = f"SELECT x FROM v WHERE ({_maybe_empty('x')}) IS DISTINCT FROM (coalesce(trim(x), '') = '')"
    assert con.execute(differ).fetchall() == []
    # the blanks, the spaces and the three rows of a space among the companies at least
    assert con.execute(f"SELECT count(*) FROM v WHERE {_maybe_empty('x')}").fetchone()[0] >= 7


@pytest.mark.parametrize("below", [False, True])
def test_an_empty_line_among_the_title_lines_is_no_blank_row(write, below):
    """The search for empty lines (beside the digest) starts at the file's first byte: one among the title lines
    above the header is the title's, not a blank row; one below the header still is."""
    text = "Pipeline report\n\nid,name\n1,Acme\n" + ("\n" if below else "") + "2,Bolt\n"
    source = inspect_file(write("t.csv", text))
    assert source.skip_lines == 2 and source.empty_lines == below
    staged, _ = _staged(source)
    assert len(staged) == 2
    assert sum(f["kind"] == "1 blank line(s)" for f in source.furniture) == below


@pytest.mark.parametrize("where", ["first", "boundary", "none", "crlf", "crlf boundary", "crlf none"])
def test_blank_lines_counted_anywhere_in_a_big_file(write, where):
    # a file without an empty line skips the quote count; one with an empty line (here at a chunk's edge too) counts it
    rows = [f'{n},"Company {n}, a name quoted for its comma"' for n in range(1, 25_001)]
    newline = "\r\n" if where.startswith("crlf") else "\n"
    text = "id,name" + newline + newline.join(rows) + newline
    if where in ("first", "crlf"):
        text = text.replace(f"{newline}2,", f"{newline}{newline}2,", 1)
    elif where.endswith("boundary"):  # near the end of the first 1 MiB chunk
        cut = text.index("\n", (1 << 20) - 1) + 1 - len(newline)
        text = text[:cut] + newline + text[cut:]
    source = inspect_file(write("b.csv", text))
    # searched beside the digest: the stage need not scan again
    assert source.empty_lines == (not where.endswith("none"))
    staged, _ = _staged(source)
    assert len(staged) == 25_000
    assert source.furniture_count == (0 if where.endswith("none") else 1)
    unsearched = inspect_file(source.path, digest=False)  # no digest, no search: the stage scans the file itself
    assert unsearched.empty_lines is None
    _staged(unsearched)
    assert unsearched.furniture_count == source.furniture_count


@pytest.mark.parametrize("blank", [False, True])
def test_the_digest_and_the_empty_line_search_can_be_left_reading(write, blank):
    """`wait=False` leaves both reading in their threads: `digest()` and `has_empty_lines()` wait for what a waiting
    inspect_file gives, and the stage asks for the empty lines itself."""
    text = "id,name\n" + "".join(f"{n},Company {n}\n" + ("\n" if blank and n == 7_000 else "") for n in range(20_000))
    path = write("w.csv", text)
    waited = inspect_file(path)
    left = inspect_file(path, wait=False)
    assert left.sha256 == ""  # until asked for
    assert left.digest() == left.sha256 == waited.sha256 == file_digest(path)
    assert left.has_empty_lines() == waited.empty_lines == blank
    staged, _ = _staged(inspect_file(path, wait=False))
    assert len(staged) == 20_000


def test_furniture_found_in_any_column_order(write):
    # the cut tests two cells, picked from the first rows; a total row or a padded footer is found whichever they are
    rows = [f"Company {n},{n},Software,${n},Germany" for n in range(1, 1201)]
    text = "name,id,industry,amount,country\n" + "\n".join(rows) + "\n"
    text += ',,,"$720,600",Total\n' + "Confidential,,,,\n" + ",,,,\n"
    rows_kept, rejected = _staged(source := inspect_file(write("r.csv", text)))
    assert len(rows_kept) == 1200 and rejected == []
    assert source.furniture_count == 3
    assert [f["kind"] for f in source.furniture] == [
        "total or subtotal row",
        "report footer",
        "blank or delimiter-only line",
    ]
    assert [f["row"] for f in source.furniture] == [1201, 1202, 1203]


def test_a_file_inspected_again_is_not_read_again_until_it_changes(tmp_path, monkeypatch):
    """The plan and the import inspect a file each: the second inspection takes the first one's text format (the
    encoding check reads every byte) while the file is unchanged, and reads the file again once it changes."""
    import icp_agent.ingest.reader as reader

    path = tmp_path / "accounts.csv"
    path.write_text("Title line\n\ncompany;country\nAcme;DE\n", encoding="utf-8")
    reads = []
    real = reader._detect_encoding
    monkeypatch.setattr(reader, "_detect_encoding", lambda p: reads.append(p) or real(p))
    first = inspect_file(path, digest=False)
    again = inspect_file(path, lenient=True)  # a result found without --lenient holds with it
    assert len(reads) == 1
    for source in (first, again):
        assert (source.delimiter, source.headers, source.skip_lines) == (";", ["company", "country"], 2)
        assert source.title_lines == ["Title line", ""]
    again.headers.append("changed by a caller")
    assert inspect_file(path).headers == ["company", "country"]  # each inspection gets its own lists
    assert len(reads) == 1
    path.write_text("company,country,industry\nAcme,DE,Software\n", encoding="utf-8")
    changed = inspect_file(path)
    assert len(reads) == 2
    assert (changed.delimiter, changed.headers, changed.skip_lines) == (",", ["company", "country", "industry"], 0)


def _buffer_module():
    from icp_agent.ingest import reader

    return reader


def test_the_mean_line_length_is_measured_over_the_whole_file(tmp_path):
    reader = _buffer_module()
    # lines of 20 bytes in the first half, 60 in the second: the head alone would say 20, the file's mean is 30
    path = tmp_path / "c.csv"
    path.write_bytes(b"id,name\n" + b"1234567890,abcdefgh\n" * 40_000 + (b"x" * 59 + b"\n") * 13_333)
    assert reader._mean_line_bytes(path, path.stat().st_size) == pytest.approx(30, rel=0.01)
    # a stretch with no whole line (one line longer than a sample): no length
    long = tmp_path / "long.csv"
    long.write_bytes(b"id\n" + b"x" * (reader.LINE_SAMPLE_BYTES * 9) + b"\n")
    assert reader._mean_line_bytes(long, long.stat().st_size) is None
    # \r line endings count as lines
    mac = tmp_path / "mac.csv"
    mac.write_bytes(b"id,name\r" + b"1234567890,abcdefgh\r" * 40_000)
    assert reader._mean_line_bytes(mac, mac.stat().st_size) == 20


def test_the_csv_buffer_holds_one_and_three_quarter_row_groups_of_lines(tmp_path, monkeypatch):
    reader = _buffer_module()
    path = tmp_path / "c.csv"
    path.write_bytes(b"id,name\n" + b"1234567890,abcdefgh\n" * 300_000)  # 6 MB of 20-byte lines
    source = inspect_file(path)
    assert reader.csv_buffer_size(source) is None  # a file under the smallest buffer: DuckDB's own
    monkeypatch.setattr(reader, "CSV_BUFFER_MIN", 5 << 20)
    assert reader.csv_buffer_size(source) is None  # its lines make a buffer (4.3 MB) under the smallest: DuckDB's own
    monkeypatch.setattr(reader, "CSV_BUFFER_MIN", 1 << 16)
    assert reader.csv_buffer_size(source) == 122_880 * 7 // 4 * 20
    assert "buffer_size" not in read_source_sql(source)  # scoring's reads keep DuckDB's own
    assert f"buffer_size={122_880 * 7 // 4 * 20}" in read_source_sql(source, buffer_size=122_880 * 7 // 4 * 20)
    monkeypatch.setattr(reader, "CSV_BUFFER_MAX", 1 << 20)
    assert reader.csv_buffer_size(source) is None


def test_a_buffer_sized_read_stages_what_duckdbs_own_buffer_stages(tmp_path, monkeypatch):
    """Quoted values with line breaks, ragged rows, blank lines and title lines fall across the buffers' edges: the
    rows staged, their order and the rows rejected are the same as with read_csv's own buffer."""
    reader = _buffer_module()
    lines = ["Customer export", "", "id,name,notes"]
    for i in range(30_000):
        if i % 97 == 0:
            lines.append(f'{i},"Acme {i}","first line\nsecond, with a comma\nthird ""quoted"""')
        elif i % 1009 == 0:
            lines.append(f"{i},Ragged {i},a,b")
        elif i % 2003 == 0:
            lines.append("")
        else:
            lines.append(f"{i},Company {i},{'n' * (i % 40)}")
    path = tmp_path / "c.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    source = inspect_file(path)
    plain = _staged(source, lenient=True)
    monkeypatch.setattr(reader, "CSV_BUFFER_MIN", 1 << 10)
    monkeypatch.setattr(reader, "CSV_BUFFER_ROWS", 1_000)  # buffers of ~40 KB: some 25 edges in the rows
    read = reader.read_source_sql
    sizes = []
    monkeypatch.setattr(reader, "read_source_sql", lambda *a, **kw: sizes.append(kw.get("buffer_size")) or read(*a, **kw))
    source = inspect_file(path)
    assert _staged(source, lenient=True) == plain
    assert sizes and 20_000 < sizes[0] < 60_000  # the stage read it in buffers of ~1,000 lines
    assert len(plain[0]) > 29_000 and plain[1]
