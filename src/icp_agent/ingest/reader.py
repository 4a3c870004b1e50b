"""Reading a file into a staging table: format, encoding and delimiter, checked up front.

DuckDB's readers do the parsing (streaming, any size). What Python does here is look at
the first bytes and the header line, so that every malformed file gets a message that
names the file, the row and what to do, instead of a parser error.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from ..errors import UserError

SAMPLE_BYTES = 256 * 1024
DELIMITERS = (",", ";", "\t", "|")
CSV_SUFFIXES = {".csv", ".tsv", ".txt", ".tab"}
JSON_SUFFIXES = {".jsonl", ".ndjson", ".json"}
PARQUET_SUFFIXES = {".parquet", ".pq"}


@dataclass
class SourceFile:
    """What we learned about a file before parsing it."""

    path: Path
    format: str  # csv | parquet | json
    sha256: str
    size: int
    encoding: str = "utf-8"
    delimiter: str | None = None
    headers: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def inspect_file(path: str | Path, *, lenient: bool = False, digest: bool = True) -> SourceFile:
    """Check a path is a readable tabular file and learn its format, encoding and delimiter (and its sha256
    unless `digest` is False: reading every byte for an import id costs 1.7 s per GB)."""
    path = Path(path).expanduser()
    if not path.exists():
        raise UserError("no such file", file=str(path), hint="check the path (relative paths start from "
                                                               "the current directory)")
    if path.is_dir():
        raise UserError("is a folder, not a file", file=str(path),
                        hint="pass the file itself, or the folder as DATA_DIR to `icp-agent run`")
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(SAMPLE_BYTES)
    if not head.strip(b" \t\r\n\x00\xef\xbb\xbf"):
        raise UserError("the file is empty", file=path.name, hint="export the data again; a CRM export has a "
                                                                  "header line and at least one row")
    suffix = path.suffix.lower()
    source = SourceFile(path=path, format="csv", sha256=file_digest(path) if digest else "", size=size)
    if head.startswith(b"PAR1") or suffix in PARQUET_SUFFIXES:
        if not head.startswith(b"PAR1"):
            raise UserError("the file is named .parquet but is not a Parquet file", file=path.name,
                            hint="re-export it as Parquet or CSV")
        source.format = "parquet"
        return source
    if suffix in JSON_SUFFIXES or head.lstrip().startswith((b"{", b"[")):
        source.format = "json"
        return source
    if b"\x00" in head or _looks_binary(head):
        raise UserError("this is a binary or non-tabular file, not a CSV/Parquet/JSON-lines export",
                        file=path.name, hint="export the data from your CRM as CSV")
    source.encoding = _detect_encoding(path)
    text = _decode_sample(head, source.encoding)
    source.delimiter, source.headers = _sniff_delimiter(text, path.name, 0.5 if lenient else 0.98)
    _check_headers(source.headers, path.name)
    return source


def _looks_binary(head: bytes) -> bool:
    control = sum(1 for b in head[:8192] if b < 9 or 13 < b < 32)
    return control > max(4, len(head[:8192]) // 100)


def _detect_encoding(path: Path) -> str:
    """utf-8 (with or without BOM) when the whole file decodes, latin-1 when it clearly is latin-1.

    A file that is mostly valid UTF-8 but has some undecodable bytes is a broken export:
    we say where instead of guessing, since a guess would corrupt names.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    saw_multibyte = False
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                bad_line = line + chunk[: exc.start].count(b"\n")
                if saw_multibyte or _has_utf8_multibyte(chunk[: exc.start]):
                    raise UserError("undecodable bytes: the file mixes UTF-8 with another encoding",
                                    file=path.name, row=max(bad_line - 1, 1),
                                    hint="re-save the file as UTF-8") from exc
                return "latin-1"
            saw_multibyte = saw_multibyte or _has_utf8_multibyte(chunk)
            line += chunk.count(b"\n")
    return "utf-8"


def _has_utf8_multibyte(data: bytes) -> bool:
    # in bytes that decoded as UTF-8 any non-ASCII byte belongs to a multibyte character; isascii() runs in C
    # (max() walked every byte in Python: 1.3 s per 130 MB)
    return not data.isascii()


def _decode_sample(head: bytes, encoding: str) -> str:
    text = head.decode("utf-8-sig" if encoding == "utf-8" else encoding, errors="ignore")
    if len(head) == SAMPLE_BYTES:  # drop the cut-off last line
        text = text[: text.rfind("\n") + 1] or text
    return text


def _sniff_delimiter(text: str, name: str, required_agreement: float) -> tuple[str, list[str]]:
    """The delimiter under which the header and the sample rows agree on a column count."""
    best: tuple[float, int, str, list[str]] | None = None
    rows_by_delimiter: dict[str, list[list[str]]] = {}
    for delimiter in DELIMITERS:
        rows = [r for r in csv.reader(io.StringIO(text), delimiter=delimiter) if r]
        rows_by_delimiter[delimiter] = rows
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        body = rows[1:] or rows
        agreement = sum(len(r) == width for r in body) / len(body)
        candidate = (agreement, width, delimiter, rows[0])
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    if best is None:
        header = rows_by_delimiter[","][0] if rows_by_delimiter[","] else []
        if len(header) == 1 and header[0].strip():
            return ",", header  # a one-column list (e.g. domains) is still a table
        raise UserError("no delimiter found: this does not look like a table", file=name,
                        hint="export as CSV with a header line")
    agreement, width, delimiter, header = best
    if agreement < required_agreement:
        rows = rows_by_delimiter[delimiter]
        bad = next(i for i, r in enumerate(rows[1:], start=2) if len(r) != width)
        others = [d for d in DELIMITERS if d != delimiter and d in "".join(rows[bad - 1])]
        mixed = f" (it also contains {', '.join(repr(d) for d in others)}: wrong or mixed delimiter?)" if others else ""
        raise UserError(f"rows disagree on the number of columns: the header has {width} columns "
                        f"split on {delimiter!r}, this row has {len(rows[bad - 1])}{mixed}",
                        file=name, row=bad - 1,
                        hint="fix the row, or re-export with one delimiter and quoted fields")
    return delimiter, header


def _check_headers(headers: list[str], name: str) -> None:
    seen: dict[str, int] = {}
    for position, header in enumerate(headers, start=1):
        key = header.strip().lower()
        if not key:
            continue
        if key in seen:
            raise UserError(f"duplicate header {header.strip()!r} (columns {seen[key]} and {position})",
                            file=name, column=header.strip(),
                            hint="rename one of them, or map them with a mapping file")
        seen[key] = position


def read_source_sql(source: SourceFile, *, lenient: bool) -> str:
    """The DuckDB table function that reads the file (every CSV value as VARCHAR)."""
    path = str(source.path).replace("'", "''")
    if source.format == "parquet":
        return f"read_parquet('{path}')"
    if source.format == "json":
        return f"read_json('{path}', format='auto', records=true, sample_size=-1)"
    delimiter = source.delimiter.replace("'", "''")
    encoding = "latin-1" if source.encoding == "latin-1" else "utf-8"
    return (f"read_csv('{path}', delim='{delimiter}', quote='\"', escape='\"', header=true, "
            f"all_varchar=true, encoding='{encoding}', auto_detect=false, strict_mode=true, "
            f"columns={_columns_struct(source.headers)}, store_rejects=true, "
            f"rejects_table='_rejects', rejects_scan='_rejects_scan'"
            + (", ignore_errors=true" if lenient else "") + ")")


def _columns_struct(headers: list[str]) -> str:
    parts = []
    for position, header in enumerate(headers, start=1):
        name = header.strip() or f"column{position}"
        parts.append("'" + name.replace("'", "''") + "': 'VARCHAR'")
    return "{" + ", ".join(parts) + "}"


def stage(con: duckdb.DuckDBPyConnection, source: SourceFile, *, lenient: bool = False) -> list[dict]:
    """Load the file into TEMP table _stage (its columns as read); return rows the reader rejected."""
    con.execute("DROP TABLE IF EXISTS _stage")
    reader = read_source_sql(source, lenient=lenient)
    try:
        # rows keep the file's order (DuckDB preserves insertion order): rowid + 1 is the data row number
        con.execute(f"CREATE TEMP TABLE _stage AS SELECT * FROM {reader}")
    except duckdb.Error as exc:
        raise _reader_error(exc, source) from exc
    rejected: list[dict] = []
    if source.format == "csv":
        rejected = [
            {"row": line - 1, "column": column, "reason": f"{kind.lower()}: {message}", "raw": raw}
            for line, column, kind, message, raw in con.execute(
                "SELECT line, column_name, error_type, error_message, csv_line FROM _rejects ORDER BY line"
            ).fetchall()
        ]
        if rejected and not lenient:
            first = rejected[0]
            more = f" ({len(rejected) - 1} more rows like it)" if len(rejected) > 1 else ""
            raise UserError(f"{first['reason']}{more}", file=source.name, row=first["row"],
                            hint="fix the file, or pass --lenient to import the other rows and report "
                                 "these as rejected")
    count = con.execute("SELECT count(*) FROM _stage").fetchone()[0]
    if count == 0:
        raise UserError("the file has a header but no data rows", file=source.name,
                        hint="export again with the records included")
    if source.format != "csv":
        source.headers = [d[0] for d in con.execute("SELECT * FROM _stage LIMIT 0").description]
        _check_headers(source.headers, source.name)
    return rejected


def _reader_error(exc: duckdb.Error, source: SourceFile) -> UserError:
    message = str(exc).split("\n")
    first = message[0].replace("Invalid Input Error: ", "").replace("Conversion Error: ", "")
    line = None
    for part in message:
        if "Line:" in part:
            digits = "".join(ch for ch in part.split("Line:")[1] if ch.isdigit())
            line = int(digits) - 1 if digits else None
            break
    if "unicode" in str(exc).lower():
        return UserError("undecodable bytes", file=source.name, row=line, hint="re-save the file as UTF-8")
    return UserError(f"cannot read the file: {first}", file=source.name, row=line,
                     hint="check it is a valid CSV / Parquet / JSON-lines export")


def peek_headers(source: SourceFile) -> list[str]:
    """Column names of a Parquet/JSON file without loading it (CSV headers are known already)."""
    if source.format == "csv":
        return source.headers
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    try:
        source.headers = [r[0] for r in con.execute(
            f"DESCRIBE SELECT * FROM {read_source_sql(source, lenient=False)}").fetchall()]
    except duckdb.Error as exc:
        raise _reader_error(exc, source) from exc
    finally:
        con.close()
    return source.headers
