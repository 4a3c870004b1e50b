"""Reading a file into a staging table: format, encoding, delimiter and report furniture.

DuckDB's readers do the parsing (streaming, any size). What Python does here is look at
the first bytes and the header line, so that every malformed file gets a message that
names the file, the row and what to do, instead of a parser error.

Encodings: a BOM is unambiguous (UTF-8, UTF-16 LE/BE, UTF-32); without one a file is
UTF-8 when it all decodes as UTF-8, else Windows-1252 when every byte is defined there
(its curly quotes, euro sign and dashes live in 0x80-0x9F, which Latin-1 leaves to
control characters no export contains), else Latin-1. A statistical detector was tried and
left out: on CRM-sized samples charset-normalizer 3.5 read Western text as cp1250 and Polish
cp1250 as cp1252, while this rule is exact for the Western exports it covers. DuckDB reads UTF-8 and Latin-1
itself; anything else, and Excel workbooks (read with python-calamine), is streamed
into a UTF-8 CSV beside the workspace first and read from there. A workbook's amounts keep the currency
their number format shows ("€1000"), as a CSV saved from the sheet would (`_currency_cells`).

Report furniture (what a CRM's report export adds around the table: titles above the
header, "Total"/"Subtotal" rows, "Grand Totals (24 records)", confidentiality and
copyright lines, blank and delimiter-only rows) is recognised, dropped and counted,
never stored as records and never reported as rejected data.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import os
import re
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from typing import TypeVar

import duckdb

from icp_agent.errors import UserError
from icp_agent.ingest.fields import canonical_field
from icp_agent.sql import one, quote_identifier, sql_literal

SAMPLE_BYTES = 256 * 1024
SAMPLE_SHEET_ROWS = 500
DELIMITERS = (",", ";", "\t", "|")
CSV_SUFFIXES = {".csv", ".tsv", ".txt", ".tab"}
JSON_SUFFIXES = {".jsonl", ".ndjson", ".json"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"}
TABLE_SUFFIXES = CSV_SUFFIXES | JSON_SUFFIXES | PARQUET_SUFFIXES | WORKBOOK_SUFFIXES
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
DUCKDB_ENCODINGS = {"utf-8", "latin-1"}  # read natively; others are transcoded to UTF-8 first
MAX_FURNITURE_EXAMPLES = 10

# A footer line: one cell of report boilerplate (Salesforce, HubSpot, Dynamics, spreadsheet reports).
FOOTER_PATTERN = (
    r"^\s*(grand\s+totals?\b|(sub)?totals?\b.*\brecords?\b|\d[\d,.]*\s+(records?|rows?)\b|"
    r"confidential|proprietary|do not distribute|internal use only|copyright\b|©|\(c\)\s*\d{4}|"
    r".*all rights reserved|(report\s+)?(generated|exported|printed|created|run)\s+(by|on|at)\b|"
    r"filtered by\b|filters?\s*:|sorted by\b|grouped by\b|as of\s+\d|powered by\b)"
)
FOOTER = re.compile(FOOTER_PATTERN, re.IGNORECASE)
# The label of a total row's cell: "Total", "Subtotal", "Grand Total (24 records)", "Sum", "Total:", and the
# words spreadsheets in other languages use: "Summe", "Gesamt", "Gesamtsumme", "Zwischensumme" (de),
# "Total général", "Sous-total" (fr), "Totale" (it), "Suma", "Suma total" (es, pl), "Totaal" (nl), "Totalt" (sv).
TOTAL_WORDS = (
    r"totals?|sums?|subtotals?|summe|zwischensumme|gesamt|gesamtsumme|endsumme|totale|totaal|totalt|"
    r"suma(\s+total)?|total\s+g[ée]n[ée]ral|sous[ -]total|subtotaal|totale\s+generale|summa"
)
TOTAL_LABEL = rf"(?i)\s*((grand|sub)[ -]?)?({TOTAL_WORDS})\s*(\(.*\)|:.*)?\s*"
# The other cells of a total row are empty or figures ("1500000.00", "$1,200", "1.234,56 €", "USD 3"), a
# count with its unit ("600 Kunden", "24 records"), or, in a sheet saved with its formulas rather than their
# values (a CSV downloaded from Google Sheets, a workbook never recalculated), the formula ("=SUM(F2:F269)",
# "=SUBTOTAL(9,C2:C40)") or the error it left ("#REF!", "#VALUE!", "#DIV/0!", "#N/A").
FIGURE = (
    r"[\s\d.,'()%+\-$€£¥]*([A-Za-z]{3})?[\s\d.,'()%+\-$€£¥]*"
    r"|\s*\d[\d.,']*\s+[^\W\d_]{2,20}\.?\s*"
    r"|\s*=\s*[A-Za-z_.]+\s*\(.*\)\s*|\s*#(?:REF!|VALUE!|DIV/0!|N/A|NAME\?|NUM!|NULL!|ERROR!)\s*"
)
ID_FIELDS = {"company_id", "deal_id", "contact_id"}
# A section heading a hand-kept sheet puts between its blocks of rows: its first cell only, set off by rules
# ("=== EMEA ===", "--- Americas ---", "— Imported from old board —", "## 2024 ##"); or the first cell alone
# and plain, a region, country or status ("EMEA", "Germany", "Churned"), when such rows are few (SECTION_SHARE).
SECTION_RULED = r"\s*([=\-–—~#*_+|<>\[\]]+)\s*\S.{0,78}?\s*[=\-–—~#*_+|<>\[\]]+\s*"
SECTION_SHARE = 0.02


@dataclass
class SourceFile:
    """What we learned about a file before parsing it."""

    path: Path
    format: str  # csv | parquet | json | xlsx
    sha256: str
    size: int
    encoding: str = "utf-8"
    delimiter: str | None = None
    headers: list[str] = field(default_factory=list)
    sheet: str | None = None  # the worksheet read, for a workbook
    skip_lines: int = 0  # report title lines above the header
    title_lines: list[str] = field(default_factory=list)
    furniture: list[dict] = field(default_factory=list)  # {row, kind, raw}: dropped, never records
    furniture_count: int = 0
    mixed_newlines: bool = False  # \r\n and \n (or \r) in one file: normalised to \n in a UTF-8 copy
    empty_lines: bool | None = None  # an empty line below the title lines (a CSV read as is); None: not searched
    # what `inspect_file(..., wait=False)` left reading in threads: `sha256` is "" until `digest()` waits for it,
    # `empty_lines` None until `has_empty_lines()` does
    pending_sha256: Future[str] | None = field(default=None, repr=False, compare=False)
    pending_empty_lines: Callable[[], bool] | None = field(default=None, repr=False, compare=False)

    def digest(self) -> str:
        """The file's SHA-256 (`sha256`), once a digest still being read in its thread has ended; its error raised."""
        if self.pending_sha256 is not None:
            self.sha256 = self.pending_sha256.result()
            self.pending_sha256 = None
        return self.sha256

    def has_empty_lines(self) -> bool | None:
        """`empty_lines`, once a search for them still running in its thread has ended."""
        if self.pending_empty_lines is not None:
            self.empty_lines = self.pending_empty_lines()
            self.pending_empty_lines = None
        return self.empty_lines

    @property
    def name(self) -> str:
        """The file's name without its folder."""
        return self.path.name

    @property
    def csv_delimiter(self) -> str:
        """The sniffed delimiter of a CSV (or a workbook's CSV copy); only Parquet and JSON files have none."""
        if self.delimiter is None:
            raise RuntimeError(f"{self.name}: a {self.format} file has no delimiter (it is not read as CSV)")
        return self.delimiter

    @property
    def needs_conversion(self) -> bool:
        """True when DuckDB cannot read the file itself: a workbook, an encoding it lacks, or mixed line endings
        (DuckDB takes one line ending per file and then finds no rows, or stops in an invalid parser state)."""
        return self.format == "xlsx" or (
            self.format == "csv" and (self.encoding not in DUCKDB_ENCODINGS or self.mixed_newlines)
        )


def file_digest(path: Path) -> str:
    """The file's SHA-256 as hex, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def inspect_file(
    path: str | Path,
    *,
    lenient: bool = False,
    sheet: str | int | None = None,
    digest: bool = True,
    wait: bool = True,
) -> SourceFile:
    """Check a path is a readable tabular file and learn its format, encoding, delimiter and header.

    `sheet` picks a workbook's worksheet by name or 0-based index (default: the first). The sha256
    (the import id) is skipped when `digest` is False: reading every byte costs 1.7 s per GB; so is a text file's
    search for an empty line. With `wait` False both are left reading the file in their threads (a 150 MB CSV: 0.12-
    0.19 s and 0.08 s), beside what the caller does next (the staging): `SourceFile.digest()` and
    `SourceFile.has_empty_lines()` wait for them where they are needed (a workbook's digest is read before this
    returns: its sheet's is). Raises UserError naming the file (and row) for anything unreadable.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise UserError(
            "no such file", file=str(path), hint="check the path (relative paths start from the current directory)"
        )
    if path.is_dir():
        raise UserError(
            "is a folder, not a file",
            file=str(path),
            hint="pass the file itself, or the folder as a PATH to `icp-agent import-data` / `run`",
        )
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(SAMPLE_BYTES)
    bom_encoding = next((encoding for bom, encoding in BOMS if head.startswith(bom)), None) or _bomless_utf16(head)
    if not head.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise UserError(
            "the file is empty",
            file=path.name,
            hint="export the data again; a CRM export has a header line and at least one row",
        )
    suffix = path.suffix.lower()
    # the digest reads every byte in a thread of its own (hashlib lets go of the GIL) while the checks below read
    # the file too. A text file's search for an empty line takes a second thread, beside the encoding check and the
    # sniffer (`_BlankSearch`); without `wait`, beside the staging too (DuckDB lets go of the GIL)
    hashing = _in_thread(file_digest, path) if digest else None
    searching = _BlankSearch(path, early=wait) if digest else None
    try:
        source = _inspect_body(path, head, size, suffix, bom_encoding, lenient, sheet, hashing, searching)
    except BaseException:
        if searching is not None:
            searching.cancel()  # a result not taken is not needed
        raise
    if searching is not None and source.pending_empty_lines is None:
        searching.cancel()  # not searched, or not needed (another format, a conversion)
    if hashing is not None and not source.sha256:  # a workbook's digest is its sheet's, read above
        source.pending_sha256 = hashing
    if wait:
        source.digest()
        source.has_empty_lines()
    return source


_T = TypeVar("_T")


def _in_thread(work: Callable[..., _T], *args: object) -> Future[_T]:
    """`work(*args)` run in a daemon thread of its own (one that outlives its caller's return, and never holds up the
    interpreter's exit after an error); its future, which raises the work's error again."""
    future: Future[_T] = Future()

    def run() -> None:
        try:
            future.set_result(work(*args))
        except BaseException as error:
            future.set_exception(error)

    threading.Thread(target=run, name=f"icp-agent {getattr(work, '__name__', 'reader')}", daemon=True).start()
    return future


class _BlankSearch:
    """The search of a text file for its first empty line (`_first_blank_line`), run in a thread of its own. 0.08 s of
    a 150 MB file. When its result is waited for before the staging (`early`), it starts (`start_early`) while the
    caller reads the file's format, beside the encoding check and the sniffer (0.07 s) instead of after them;
    else it starts once they are done (`start`: both hold the GIL, and the search then runs beside the staging)."""

    def __init__(self, path: Path, early: bool = True) -> None:
        self._path, self._early = path, early
        self._stop = threading.Event()
        self._found: Future[int | None] | None = None

    def start_early(self) -> None:
        """Begin the search now if its result is waited for before the staging."""
        if self._early:
            self.start()

    def start(self) -> Future[int | None]:
        """Begin the search (once); its future."""
        if self._found is None:
            self._found = _in_thread(_first_blank_line, self._path, self._stop)
        return self._found

    def has_empty_line(self, skip_lines: int) -> bool:
        """`_has_empty_line(path, skip_lines)`, from the search's first empty line when it lies below the first
        `skip_lines` lines (or there is none); else that function searches on from there."""
        first = self.start().result()
        if first is None:
            return False
        below = 0
        if skip_lines:
            with self._path.open("rb") as handle:
                for _ in range(skip_lines):
                    handle.readline()
                below = handle.tell()
        return first >= below or _has_empty_line(self._path, skip_lines)

    def cancel(self) -> None:
        """Stop a search whose result will not be asked for."""
        self._stop.set()


def _first_blank_line(path: Path, stop: threading.Event | None = None, skip_lines: int = 0) -> int | None:
    """The byte offset where the file's first empty line below its first `skip_lines` lines starts (where
    ANY_BLANK_LINE first matches), or None when it has none; None too once `stop` is set (the caller no longer asks)."""
    tail = b""
    with path.open("rb") as handle:
        for _ in range(skip_lines):
            handle.readline()
        offset = handle.tell()
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            if stop is not None and stop.is_set():
                return None
            found = ANY_BLANK_LINE.search(tail + chunk)
            if found:
                return offset - len(tail) + found.start()
            offset += len(chunk)
            tail = chunk[-2:]
    return None


def _inspect_body(
    path: Path,
    head: bytes,
    size: int,
    suffix: str,
    bom_encoding: str | None,
    lenient: bool,
    sheet: str | int | None,
    hashing: Future[str] | None,
    searching: _BlankSearch | None = None,
) -> SourceFile:
    """`inspect_file` from the file's first bytes on; `hashing` gives the file's digest (None: not taken),
    `searching` a text file's empty lines (None: not searched)."""
    source = SourceFile(path=path, format="csv", sha256="", size=size)
    if head.startswith(b"PAR1") or suffix in PARQUET_SUFFIXES:
        if not head.startswith(b"PAR1"):
            raise UserError(
                "the file is named .parquet but is not a Parquet file",
                file=path.name,
                hint="re-export it as Parquet or CSV",
            )
        source.format = "parquet"
        return source
    if suffix in WORKBOOK_SUFFIXES or (head.startswith(b"PK\x03\x04") and b"xl/" in head[:4096]):
        source.format, source.delimiter = "xlsx", ","
        text = _sheet_sample(source, sheet)
        # one workbook holds several tables: the snapshot's identity is the file and the sheet
        digest = hashing.result() if hashing else ""
        source.sha256 = hashlib.sha256(f"{digest}\0{source.sheet}".encode()).hexdigest()
        _sniff_into(source, text, lenient, csv_dialect_delimiters=(",",))
        return source
    if sheet is not None:
        raise UserError(f"--sheet {sheet!r} applies to workbooks (.xlsx) only", file=path.name)
    if bom_encoding in (None, "utf-8") and (
        suffix in JSON_SUFFIXES or head.removeprefix(codecs.BOM_UTF8).lstrip().startswith((b"{", b"["))
    ):
        source.format = "json"
        return source
    if bom_encoding in (None, "utf-8") and (b"\x00" in head or _looks_binary(head)):
        raise UserError(
            "this is a binary or non-tabular file, not a CSV/Parquet/JSON-lines/Excel export",
            file=path.name,
            hint="export the data from your CRM as CSV or .xlsx",
        )
    if searching is not None and bom_encoding in (None, "utf-8"):  # else the file is converted before it is read
        searching.start_early()
    _read_text_format(source, head, bom_encoding, lenient)
    if searching is not None and not source.needs_conversion:  # an import: its stage counts the blank lines
        source.pending_empty_lines = partial(searching.has_empty_line, source.skip_lines)
        searching.start()
    return source


# The text formats learned of the files read in this process: a file is inspected once by the plan (its kind) and
# again by its import, and each time the encoding check reads every byte (0.05 s of a 1M-row import, each)
_TEXT_FORMATS: dict[tuple, tuple] = {}
_TEXT_FORMAT_FIELDS = ("encoding", "mixed_newlines", "delimiter", "headers", "skip_lines", "title_lines")


def _read_text_format(source: SourceFile, head: bytes, bom_encoding: str | None, lenient: bool) -> None:
    """Set a CSV's encoding, line endings, delimiter, headers and title lines, from the file (its first bytes `head`)
    or from an earlier inspection of the same file: its path, size, modification time and first bytes unchanged.

    A result sniffed without `lenient` holds with it too (lenient only turns a disagreeing delimiter from an error
    into rejected rows), not the other way round.
    """
    stat = source.path.stat()
    key = (str(source.path.resolve()), stat.st_size, stat.st_mtime_ns, head)
    known = _TEXT_FORMATS.get(key + (lenient,)) or (_TEXT_FORMATS.get(key + (False,)) if lenient else None)
    if known is not None:
        for name, value in zip(_TEXT_FORMAT_FIELDS, known, strict=True):
            setattr(source, name, list(value) if isinstance(value, tuple) else value)
        return
    source.encoding = bom_encoding or _detect_encoding(source.path)
    text = _decode_sample(head, source.encoding)
    styles = _newline_styles(text) | (
        _newline_styles(_tail_text(source.path, source.encoding)) if source.size > SAMPLE_BYTES else set()
    )
    source.mixed_newlines = len(styles) > 1
    _sniff_into(source, text, lenient)
    if len(_TEXT_FORMATS) >= 8:  # a few files per command: the oldest goes
        del _TEXT_FORMATS[next(iter(_TEXT_FORMATS))]
    _TEXT_FORMATS[key + (lenient,)] = tuple(
        tuple(v) if isinstance(v, list) else v for v in (getattr(source, name) for name in _TEXT_FORMAT_FIELDS)
    )


def _sniff_into(source: SourceFile, text: str, lenient: bool, csv_dialect_delimiters=DELIMITERS) -> None:
    source.delimiter, source.headers, source.skip_lines, source.title_lines = _sniff_delimiter(
        text, source.name, lenient, csv_dialect_delimiters
    )
    source.headers = [h.strip() if h.strip() else h for h in source.headers]
    _check_headers(source.headers, source.name)


TAIL_BYTES = 64 * 1024


def _newline_styles(text: str) -> set[str]:
    """The line endings (\r\n, \n, \r) a text uses. More than one in a file means it was edited by hand on two
    systems or had rows appended by another tool. Excel's line breaks inside a quoted cell (\n in a \r\n file)
    count too; normalising those to \n is harmless."""
    crlf = text.count("\r\n")
    counts = {"\r\n": crlf, "\n": text.count("\n") - crlf, "\r": text.count("\r") - crlf}
    return {style for style, n in counts.items() if n > 0}


def _tail_text(path: Path, encoding: str) -> str:
    """The file's last whole lines as text (rows appended at the end often carry another line ending).

    The window starts at a byte offset, which may fall between a line's \r and its \n: the partial first
    line is dropped, else that lone \n would read as a second line ending and a clean CRLF file as mixed.
    """
    if encoding.startswith(("utf-16", "utf-32")):
        return ""  # the head decides for wide encodings (a cut code unit would decode as garbage)
    size = path.stat().st_size
    with path.open("rb") as handle:
        handle.seek(max(0, size - TAIL_BYTES))
        tail = handle.read()
    if size > TAIL_BYTES:
        tail = tail[tail.find(b"\n") + 1 :]  # \n is one byte in every encoding read here (UTF-8, cp1252, Latin-1)
    return tail.decode("utf-8" if encoding == "utf-8" else encoding, errors="ignore")


def _bomless_utf16(head: bytes) -> str | None:
    """utf-16-le/-be for UTF-16 text saved without a BOM: text whose every other byte is NUL.

    In ASCII-heavy UTF-16 (headers, ids, numbers) the high byte of nearly every code unit is
    0, on odd offsets for little-endian and even ones for big-endian; no binary format or
    single-byte text has that pattern.
    """
    sample = head[:8192]
    sample = sample[: len(sample) - len(sample) % 2]
    if len(sample) < 8:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    units = len(sample) // 2
    if odd > 0.7 * units and even < 0.05 * units:
        return "utf-16-le"
    if even > 0.7 * units and odd < 0.05 * units:
        return "utf-16-be"
    return None


def _looks_binary(head: bytes) -> bool:
    control = sum(1 for b in head[:8192] if b < 9 or 13 < b < 32)
    return control > max(4, len(head[:8192]) // 100)


CP1252_UNDEFINED = frozenset(b"\x81\x8d\x8f\x90\x9d")


def _detect_encoding(path: Path) -> str:
    """utf-8 when the whole file decodes; cp1252 or latin-1 when it clearly is a single-byte file.

    A file that is mostly valid UTF-8 but has some undecodable bytes is a broken export:
    we say where instead of guessing, since a guess would corrupt names.

    A chunk of ASCII is valid UTF-8 and is not decoded (`isascii` runs in C at some 30 GB/s; decoding and counting
    the lines of every chunk took 0.1 s per 150 MB): the line of an undecodable byte is counted only when there is one.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    saw_multibyte = False
    offset = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            ascii_only = chunk.isascii()
            try:
                if not ascii_only or decoder.getstate()[0]:  # a multibyte character may be cut at the chunk's start
                    decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                bad_line = _lines_before(path, offset) + 1 + chunk[: exc.start].count(b"\n")
                if saw_multibyte or _has_utf8_multibyte(chunk[: exc.start]):
                    raise UserError(
                        "undecodable bytes: the file mixes UTF-8 with another encoding",
                        file=path.name,
                        row=max(bad_line - 1, 1),
                        hint="re-save the file as UTF-8",
                    ) from exc
                return _single_byte_encoding(path)
            saw_multibyte = saw_multibyte or not ascii_only
            offset += len(chunk)
    return "utf-8"


def _lines_before(path: Path, offset: int) -> int:
    """The line breaks (\\n) in the first `offset` bytes of a file."""
    lines = 0
    with path.open("rb") as handle:
        while offset > 0 and (chunk := handle.read(min(offset, 1 << 20))):
            lines += chunk.count(b"\n")
            offset -= len(chunk)
    return lines


def _single_byte_encoding(path: Path) -> str:
    """cp1252 when the file uses its 0x80-0x9F letters (“ ” € – …) and none it leaves undefined."""
    uses_c1 = False
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            c1 = set(chunk.translate(None, bytes(range(0x80))).translate(None, bytes(range(0xA0, 0x100))))
            if c1 & CP1252_UNDEFINED:
                return "latin-1"
            uses_c1 = uses_c1 or bool(c1)
    return "cp1252" if uses_c1 else "latin-1"


def _has_utf8_multibyte(data: bytes) -> bool:
    # in bytes that decoded as UTF-8 any non-ASCII byte belongs to a multibyte character; isascii() runs in C
    # (max() walked every byte in Python: 1.3 s per 130 MB)
    return not data.isascii()


def _decode_sample(head: bytes, encoding: str) -> str:
    if encoding.startswith(("utf-16", "utf-32")):
        # cut at a whole code unit so the sample decodes; the BOM (or the name) tells the byte order
        unit = 2 if encoding.startswith("utf-16") else 4
        head = head[: len(head) - len(head) % unit]
    text = head.decode("utf-8-sig" if encoding == "utf-8" else encoding, errors="ignore")
    if len(head) >= SAMPLE_BYTES - 4:  # drop the cut-off last line
        text = text[: text.rfind("\n") + 1] or text
    return text


def _nonempty(row: list[str]) -> list[str]:
    return [cell for cell in row if cell.strip()]


def _filled(row: list[str]) -> int:
    """The row's non-empty cells, counted up to two (0, 1 or 2): what the sniffer's tests need, without a list."""
    n = 0
    for cell in row:
        if cell.strip():
            n += 1
            if n == 2:
                break
    return n


def _footer(row: list[str], filled: int) -> bool:
    """`is_footer_line(row)`, knowing the row's `_filled` count."""
    return filled == 1 and is_footer_line(row)


def is_footer_line(cells: list[str]) -> bool:
    """A report's boilerplate line: one non-empty cell such as 'Grand Totals (24 records)' or a copyright."""
    filled = _nonempty(cells)
    return len(filled) == 1 and bool(FOOTER.match(filled[0]))


def _sniff_delimiter(
    text: str, name: str, lenient: bool, delimiters=DELIMITERS
) -> tuple[str, list[str], int, list[str]]:
    """The delimiter under which the header and the sample rows agree on a column count.

    Returns (delimiter, header, title lines to skip, their text). Report title lines above
    the header (one non-empty cell each, or blank) are skipped; footer and blank lines do
    not count against agreement. Rows that still disagree are left to the reader, which
    names each one (rejected with --lenient, an error without).
    """
    best: tuple[float, int, str, list[str], int, list[str]] | None = None
    rows_by_delimiter: dict[str, list[list[str]]] = {}
    for delimiter in delimiters:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        lines: list[tuple[int, list[str]]] = []
        try:
            for row in reader:
                lines.append((reader.line_num, row))
        except csv.Error:
            pass
        # each row's filled cells (0, 1, or 2 for two or more) counted once: the tests below read them per row
        filled = [_filled(r) for _, r in lines]
        rows = [r for (_, r), n in zip(lines, filled) if n]
        rows_by_delimiter[delimiter] = rows
        if not rows:
            continue
        # the header is the first row as wide as most of the rows after it (a row of one cell, as every line is
        # under a delimiter the file does not use, is never the header: no footer test for it)
        widths = [len(r) for (_, r), n in zip(lines, filled) if n and len(r) >= 2 and not _footer(r, n)]
        if not widths:
            continue
        modal = max(set(widths), key=lambda w: (widths.count(w), w))
        start = next((i for i, ((_, r), n) in enumerate(zip(lines, filled)) if len(r) == modal and n >= 2), None)
        if start is None:
            continue
        titles = lines[:start]
        if any(not _is_title(r, delimiter, modal) for _, r in titles):
            start, titles = next(i for i, (_, r) in enumerate(lines) if _nonempty(r)), []
        skip = lines[start - 1][0] if start else 0  # physical lines before the header
        header = lines[start][1]
        body = [r for (_, r), n in zip(lines[start + 1 :], filled[start + 1 :]) if n and not _footer(r, n)] or [header]
        width = len(header)
        agreement = sum(len(r) == width for r in body) / len(body)
        candidate = (agreement, width, delimiter, header, skip, [" ".join(_nonempty(r)) for _, r in titles])
        if best is None or (candidate[0], candidate[1], -skip) > (best[0], best[1], -best[4]):
            best = candidate
    if best is None:
        first = rows_by_delimiter.get(",") or []
        header = first[0] if first else []
        if len(header) == 1 and header[0].strip():
            return ",", header, 0, []  # a one-column list (e.g. domains) is still a table
        raise UserError(
            "no delimiter found: this does not look like a table", file=name, hint="export as CSV with a header line"
        )
    agreement, width, delimiter, header, skip, title_text = best
    if agreement < 0.5 and not lenient:
        rows = [r for r in rows_by_delimiter[delimiter] if not is_footer_line(r)]
        start = next((i for i, r in enumerate(rows) if r == header), 0)
        bad = next((i for i, r in enumerate(rows[start + 1 :], start=1) if len(r) != width), 1)
        row = rows[start + bad] if start + bad < len(rows) else []
        others = [d for d in DELIMITERS if d != delimiter and d in "".join(row)]
        if others:  # otherwise the reader names each ragged row and its column
            raise UserError(
                f"rows disagree on the number of columns: the header has {width} columns split on "
                f"{delimiter!r}, most rows do not (this one has {len(row)} and also contains "
                f"{', '.join(repr(d) for d in others)}: wrong or mixed delimiter?)",
                file=name,
                row=bad,
                hint="re-export with one delimiter and quoted fields, or pass --lenient to import "
                "the rows that fit and report the others",
            )
    return delimiter, header, skip, title_text


def _is_title(row: list[str], delimiter: str, width: int) -> bool:
    """A report title line above the header: at most one cell, whatever the delimiter.

    A line that another delimiter splits into as many cells as the header is a row of a
    differently delimited table, not a title.
    """
    if len(_nonempty(row)) > 1:
        return False
    text = delimiter.join(row)
    return all(len(next(csv.reader([text], delimiter=other), [])) < width for other in DELIMITERS if other != delimiter)


def _sheet_sample(source: SourceFile, sheet: str | int | None) -> str:
    """The first rows of a workbook's sheet as CSV text (for the header and the sniffer)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for i, row in enumerate(_sheet_rows(source, sheet)):
        if i >= SAMPLE_SHEET_ROWS:
            break
        writer.writerow(row)
    if not buffer.getvalue().strip(",\n"):
        raise UserError(
            f"the worksheet {source.sheet!r} is empty",
            file=source.name,
            hint="pick the sheet holding the data with --sheet NAME",
        )
    return buffer.getvalue()


def _sheet_rows(source: SourceFile, sheet: str | int | None):
    """Each row of the worksheet as text cells, shown as a spreadsheet shows them.

    python-calamine (Rust's calamine) reads the workbook; numbers come back as floats, so
    whole numbers are written without '.0' (an id stays 1042, not 1042.0), dates as ISO
    8601 and booleans as TRUE/FALSE, the way Excel's own CSV export writes them.
    """
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(source.path))
    except (CalamineError, OSError, ValueError) as exc:
        raise UserError(
            f"cannot read the workbook: {exc}",
            file=source.name,
            hint="open it in a spreadsheet and save it again as .xlsx, or export CSV",
        ) from exc
    names = list(workbook.sheet_names)
    if sheet is None or sheet == "":
        chosen = names[0] if names else None
    else:  # a sheet's name first (a sheet may be called "2024"), then its 0-based index
        chosen = next((n for n in names if n == str(sheet)), None) or next(
            (n for n in names if n.strip().lower() == str(sheet).strip().lower()), None
        )
        if chosen is None and str(sheet).strip().isdigit() and int(sheet) < len(names):
            chosen = names[int(sheet)]
    if chosen is None:
        raise UserError(
            f"no sheet {sheet!r} in the workbook; its sheets are: {', '.join(names) or 'none'}",
            file=source.name,
            hint="pass --sheet with one of these names, or its 0-based index",
        )
    source.sheet = chosen
    sheet_data = workbook.get_sheet_by_name(chosen)
    marked = _currency_cells(source.path, chosen)
    if marked is None:
        for row in sheet_data.iter_rows():
            yield [_cell_text(value) for value in row]
        return
    # iter_rows yields the sheet's rows from its first (blank ones included) and its cells from the first
    # used column: a cell of row r (1-based), column c (0-based) is row r's item c - start column
    first_column = (sheet_data.start or (0, 0))[1]
    pending = next(marked, None)
    for number, row in enumerate(sheet_data.iter_rows(), start=1):
        texts = [_cell_text(value) for value in row]
        while pending is not None and pending[0] <= number:
            if pending[0] == number and 0 <= pending[1] - first_column < len(row):
                value = row[pending[1] - first_column]
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    texts[pending[1] - first_column] = _with_currency(pending[2], texts[pending[1] - first_column])
            pending = next(marked, None)
        yield texts


def _with_currency(sign: str, number: str) -> str:
    """A number with the currency its cell's format shows, the way the sheet writes it: "€1000", "-€12.5",
    "CAD 1000" (a code is set off by a space, as in "1.000,00 EUR")."""
    body, minus = (number[1:], "-") if number.startswith("-") else (number, "")
    return f"{minus}{sign} {body}" if sign.isalpha() else f"{minus}{sign}{body}"


# a cell's tag from its start: <c r="M2" s="7" t="n"> (a namespace prefix allowed: <x:c ...>)
_CELL_REF = re.compile(rb'<(?:\w+:)?c\s[^>]*?(?<=\s)r="([A-Z]{1,3})([0-9]+)"')
_CELL_START = re.compile(rb"<(?:\w+:)?c\s")


def _currency_cells(path: Path, sheet: str):
    """(row 1-based, column 0-based, the currency text to write before its number) of each cell of `sheet`
    whose number format shows a currency, in the sheet's order; None when no cell can (no such format in the
    workbook, or not an Office Open XML workbook: .xls, .xlsb and .ods keep their numbers bare).

    openpyxl reads the workbook's styles and finds the sheet's part; each distinct format is read once
    (`currencies.format_currency`). python-calamine gives values only, so the cells are found in the sheet's
    XML (a second decompression of the part calamine read), streamed in 1 MiB pieces: a cell names its style
    by index (s="7") and its place (r="M2"). Measured (CPU, 200,000 rows x 8 columns, two currency columns):
    the sheet's CSV took 2.2 s against 1.4 s without formats; a workbook without a currency format costs
    only the styles' parse.
    """
    import warnings
    import zipfile

    from openpyxl.reader.excel import ExcelReader
    from openpyxl.styles.numbers import BUILTIN_FORMATS, BUILTIN_FORMATS_MAX_SIZE
    from openpyxl.styles.stylesheet import Stylesheet
    from openpyxl.utils.exceptions import InvalidFileException
    from openpyxl.xml.functions import fromstring

    from icp_agent.ingest.currencies import format_currency

    if path.suffix.lower() not in (".xlsx", ".xlsm") or not zipfile.is_zipfile(path):
        return None
    archive = None
    try:
        with warnings.catch_warnings():  # openpyxl's notes on parts it does not need here (data validation, ...)
            warnings.simplefilter("ignore")
            reader = ExcelReader(str(path), read_only=True)
            archive = reader.archive
            reader.read_manifest()
            reader.read_workbook()
            part = next((rel.target for found, rel in reader.parser.find_sheets() if found.name == sheet), None)
            styles = Stylesheet.from_tree(fromstring(archive.read("xl/styles.xml")))
        custom = list(styles.number_formats)
        signs: dict[bytes, str] = {}
        for index, style in enumerate(styles.cell_styles):
            number = style.numFmtId
            code = custom[number - BUILTIN_FORMATS_MAX_SIZE] if number >= BUILTIN_FORMATS_MAX_SIZE else None
            sign = format_currency(code or BUILTIN_FORMATS.get(number, ""))
            if sign:
                signs[str(index).encode()] = sign
    except (
        KeyError,
        ValueError,
        TypeError,
        IndexError,
        AttributeError,
        SyntaxError,
        OSError,
        zipfile.BadZipFile,
        InvalidFileException,
    ):
        signs, part = {}, None  # styles openpyxl cannot read: the numbers stay as calamine gives them
    if not signs or part is None:
        if archive is not None:
            archive.close()
        return None
    return _scan_cells(archive, part, signs)


def _scan_cells(archive, part: str, signs: dict[bytes, str]):
    """The generator behind `_currency_cells`: it closes the workbook when done (or when dropped).

    Every writer seen (Excel, openpyxl, XlsxWriter, LibreOffice) writes a cell as <c r="M2" s="7" t="n">: one
    `findall` of `r="M2" s="7"` (a currency style) gives the places in C, 0.5 s per 80 MB of sheet XML, where
    a pattern reading each cell's tag took 1.7 s. A piece where that finds fewer than the literal ` s="7"`
    occurs (another attribute order, a prefix, a row's own style <row r="5" s="7">) is read tag by tag."""
    ids = b"|".join(re.escape(k) for k in signs)
    styled = re.compile(rb' s="(' + ids + rb')"')
    adjacent = re.compile(rb'\sr="([A-Z]{1,3})([0-9]+)" s="(' + ids + rb')"')
    carry = b""
    try:
        with archive.open(part) as xml:
            while True:
                chunk = xml.read(1 << 20)
                data = carry + chunk
                cut = data.rfind(b"<") if chunk else len(data)
                cut = len(data) if cut < 0 else cut
                hits = adjacent.findall(data, 0, cut)
                if len(hits) == len(styled.findall(data, 0, cut)):
                    yield from [(int(row), _column_index(letters), signs[style]) for letters, row, style in hits]
                else:
                    for found in styled.finditer(data, 0, cut):
                        tag = data.rfind(b"<", 0, found.start())
                        ref = _CELL_REF.match(data, tag, data.find(b">", found.end()) + 1)
                        if ref is None:
                            if _CELL_START.match(data, tag):
                                return  # a cell without its place (r=): the rest cannot be placed, left bare
                            continue  # a row's style, not a cell's
                        yield int(ref.group(2)), _column_index(ref.group(1)), signs[found.group(1)]
                carry = data[cut:]
                if not chunk:
                    return
    finally:
        archive.close()


@lru_cache(maxsize=4096)
def _column_index(letters: bytes) -> int:
    """0-based index of a column's letters (b"A" 0, b"AA" 26)."""
    index = 0
    for letter in letters:
        index = index * 26 + letter - 64
    return index - 1


def _cell_text(value) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        # the 15 significant digits a spreadsheet keeps and shows: 0.1 + 0.2 is 0.3, and an id
        # that a spreadsheet already turned into a float stays visibly so (1.23456789012346e+17)
        return format(value, ".15g")
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    return str(value)


def _check_headers(headers: list[str], name: str) -> None:
    seen: dict[str, int] = {}
    for position, header in enumerate(headers, start=1):
        key = header.strip().lower()
        if not key:
            continue
        if key in seen:
            raise UserError(
                f"duplicate header {header.strip()!r} (columns {seen[key]} and {position})",
                file=name,
                column=header.strip(),
                hint="rename one of them, or map them with a mapping file",
            )
        seen[key] = position


def read_source_sql(
    source: SourceFile,
    *,
    lenient: bool = False,
    path: Path | None = None,
    collect_rejects: bool = False,
    types: dict[str, str] | None = None,
    buffer_size: int | None = None,
) -> str:
    """The DuckDB table function that reads the file (every CSV value as VARCHAR, except the columns `types`
    gives another type: scoring reads a column as an ENUM of the values it holds).

    `path` is the UTF-8 CSV copy `convert_to_csv` made of a workbook or a file in an encoding
    DuckDB lacks; without it such a file is a UserError (read it through `stage`). With
    `collect_rejects` (what `stage` uses) malformed rows never stop the scan: DuckDB stores
    them in `_rejects`, and `stage` sorts them into furniture, rejected rows or an error.
    Otherwise the scan is strict and fails on the first malformed row (`lenient` skips them).
    `buffer_size` is read_csv's, in bytes (None: DuckDB's own); `stage` passes `csv_buffer_size`'s.
    """
    if source.needs_conversion and path is None:
        raise UserError(
            f"this {'workbook' if source.format == 'xlsx' else source.encoding + ' file'} has to be converted first",
            file=source.name,
            hint="import it, or save it as a UTF-8 CSV",
        )
    read_path = str(path or source.path).replace("'", "''")
    if source.format == "parquet":
        return f"read_parquet('{read_path}')"
    if source.format == "json":
        return f"read_json('{read_path}', format='auto', records=true, sample_size=-1)"
    delimiter = source.csv_delimiter.replace("'", "''")
    encoding = "latin-1" if path is None and source.encoding == "latin-1" else "utf-8"
    errors = (
        ", store_rejects=true, rejects_table='_rejects', rejects_scan='_rejects_scan', ignore_errors=true"
        if collect_rejects
        else (", ignore_errors=true" if lenient else "")
    )
    return (
        f"read_csv('{read_path}', delim='{delimiter}', quote='\"', escape='\"', header=true, "
        f"skip={source.skip_lines}, all_varchar=true, encoding='{encoding}', auto_detect=false, "
        f"strict_mode=true, columns={_columns_struct(source.headers, types or {})}"
        f"{'' if buffer_size is None else f', buffer_size={buffer_size}'}{errors})"
    )


def _columns_struct(headers: list[str], types: dict[str, str]) -> str:
    parts = []
    for position, header in enumerate(headers, start=1):
        name = header.strip() or f"column{position}"
        sql_type = types.get(name, "VARCHAR").replace("'", "''")
        parts.append("'" + name.replace("'", "''") + f"': '{sql_type}'")
    return "{" + ", ".join(parts) + "}"


def convert_to_csv(source: SourceFile, folder: Path | None = None) -> Path:
    """Stream a workbook sheet or a non-UTF-8/Latin-1 text file into a UTF-8 CSV in `folder`.

    Memory stays bounded (1 MiB chunks of text; a workbook row at a time once calamine
    has read the sheet). The caller deletes the file. `folder` is the workspace's folder,
    which has room for a copy of the data; the system temp folder when None.
    """
    handle, name = tempfile.mkstemp(prefix=".icp-agent-stage-", suffix=".csv", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            if source.format == "xlsx":
                writer = csv.writer(out, lineterminator="\n")
                for row in _sheet_rows(source, source.sheet):
                    writer.writerow(row)
            else:
                # universal newlines: \r\n and \r become \n, so a file mixing them reads as one table
                with source.path.open(
                    "r", encoding=_python_codec(source.encoding), errors="strict", newline=None
                ) as text:
                    while chunk := text.read(1 << 20):
                        out.write(chunk)
    except UnicodeDecodeError as exc:
        Path(name).unlink(missing_ok=True)
        raise UserError(
            f"undecodable bytes for its {source.encoding} encoding", file=source.name, hint="re-save the file as UTF-8"
        ) from exc
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


# The stage's CREATE TABLE AS from read_csv keeps the file's order: each of the reader's buffers is a batch, and
# batches of fewer rows than a row group (122,880 rows) are merged into full ones on one core. read_csv's own buffer
# held some 57k rows of a 147-byte-a-row export and staged 1M rows in 0.58-0.62 s against 0.34-0.38 s with buffers
# of more than a row group. A batch is written as whole row groups and its rest: a rest under half a row group leaves
# short row groups side by side that DuckDB's checkpoint then rewrites into full ones (0.4-0.7 s at 1M rows, at this
# command's close or the next write's). Buffers of 1.75 row groups leave rests of about 3/4 of one: no two of them
# fill a single row group, so the checkpoint keeps them, while the line length measured may be 14% off either way.
# Scoring's ordered COPY to a file keeps DuckDB's own buffer: it holds batches awaiting their turn, and with these
# its peak at 10M rows went from 0.43 to 1.37 GB.
DUCKDB_ROW_GROUP_ROWS = 122_880
CSV_BUFFER_ROWS = DUCKDB_ROW_GROUP_ROWS * 7 // 4
CSV_BUFFER_MIN, CSV_BUFFER_MAX = 8 << 20, 64 << 20
LINE_SAMPLES, LINE_SAMPLE_BYTES = 8, 64 << 10


def csv_buffer_size(source: SourceFile) -> int | None:
    """read_csv's buffer_size (bytes) for `source` read as is: room for CSV_BUFFER_ROWS of its lines, their length
    measured at LINE_SAMPLES places spread over the file. None (DuckDB's own buffer) for a file under CSV_BUFFER_MIN,
    or when the lengths measured leave a buffer outside 8-64 MiB (lines of under 39 or over 312 bytes)."""
    if source.size < CSV_BUFFER_MIN:
        return None
    line_bytes = _mean_line_bytes(source.path, source.size)
    if line_bytes is None:
        return None
    buffer = int(CSV_BUFFER_ROWS * line_bytes)
    return buffer if CSV_BUFFER_MIN <= buffer <= CSV_BUFFER_MAX else None


def _mean_line_bytes(path: Path, size: int) -> float | None:
    """The mean length in bytes of the whole lines in LINE_SAMPLES stretches of LINE_SAMPLE_BYTES spread evenly over
    the file (its line ending included: \\n, or \\r for a file without one); None when a stretch holds no whole line."""
    spans = lines = 0
    with path.open("rb") as handle:
        for sample in range(LINE_SAMPLES):
            handle.seek(max(0, (size - LINE_SAMPLE_BYTES) * sample // (LINE_SAMPLES - 1)))
            chunk = handle.read(LINE_SAMPLE_BYTES)
            ending = b"\n" if b"\n" in chunk else b"\r"
            first, last = chunk.find(ending), chunk.rfind(ending)
            if first == last:
                return None
            spans += last - first
            lines += chunk.count(ending, first + 1, last + 1)
    return spans / lines


def _python_codec(encoding: str) -> str:
    # the BOM-aware codecs read the byte order from the BOM and drop it
    return {"utf-8": "utf-8-sig", "utf-16": "utf-16", "utf-32": "utf-32"}.get(encoding, encoding)


def stage(
    con: duckdb.DuckDBPyConnection, source: SourceFile, *, lenient: bool = False, scratch_dir: Path | None = None
) -> list[dict]:
    """Load the file into TEMP table _stage (its columns as read); return rows the reader rejected.

    Report furniture is dropped and recorded on `source` (furniture_count, furniture
    examples as {row, kind, raw}). Without `lenient` a malformed row is a UserError naming
    the file, the row and the column; with it, it is returned as {row, column, reason, raw}.
    """
    drop_stage(con)
    # DuckDB appends to the rejects tables: another file read on this connection must not leave its own
    con.execute("DROP TABLE IF EXISTS _rejects")
    con.execute("DROP TABLE IF EXISTS _rejects_scan")
    converted = convert_to_csv(source, scratch_dir) if source.needs_conversion else None
    try:
        # a converted copy's lines are not the lengths measured in the original
        buffer = csv_buffer_size(source) if converted is None and source.format == "csv" else None
        reader = read_source_sql(source, lenient=lenient, path=converted, collect_rejects=True, buffer_size=buffer)
        try:
            if source.format == "parquet":
                # a view, not a copy: Parquet is columnar, so each later pass reads only the columns it needs
                # straight from the file; the file's own row number stands in for rowid
                con.execute(f"CREATE TEMP VIEW _stage AS SELECT * FROM {reader[:-1]}, file_row_number = true)")
                con.execute("SELECT * FROM _stage LIMIT 1").fetchall()  # an unreadable file fails here
            else:
                # rows keep the file's order (DuckDB preserves insertion order): rowid + 1 is the data row number
                con.execute(f"CREATE TEMP TABLE _stage AS SELECT * FROM {reader}")
        except duckdb.Error as exc:
            raise _reader_error(exc, source) from exc
        source.furniture, source.furniture_count = [], 0
        for title in source.title_lines:
            _add_furniture(source, None, "title above the header" if title else "blank line above the header", title)
        rejected: list[dict] = []
        if source.format in ("csv", "xlsx"):
            # inspect_file searched the file (maybe still while the rows were read)
            searched = converted is None and source.has_empty_lines() is not None
            blank = (
                0 if searched and not source.empty_lines else _blank_lines(converted or source.path, source.skip_lines)
            )
            if blank:
                source.furniture_count += blank
                source.furniture.append({"row": None, "kind": f"{blank} blank line(s)", "raw": ""})
            rejected = _sort_rejects(con, source)
            _drop_furniture_rows(con, source)
            if rejected and not lenient:
                first = rejected[0]
                more = f" ({len(rejected) - 1} more rows like it)" if len(rejected) > 1 else ""
                raise UserError(
                    f"{first['reason']}{more}",
                    file=source.name,
                    row=first["row"],
                    column=first["column"],
                    hint="fix the file, or pass --lenient to import the other rows and report these as rejected",
                )
    finally:
        if converted is not None:
            converted.unlink(missing_ok=True)
    count = one(con, "SELECT count(*) FROM _stage")
    if (
        count == 0
        and source.format == "csv"
        and (_lines_below_header(source) > source.furniture_count - len(source.title_lines))
    ):
        raise UserError(
            "the reader found no rows below the header, though the file has more lines (an unclosed "
            "quote, or line endings it could not follow)",
            file=source.name,
            hint="re-save the file as CSV (UTF-8) from a spreadsheet and import again",
        )
    if count == 0:
        raise UserError(
            "the file has a header but no data rows", file=source.name, hint="export again with the records included"
        )
    if source.format not in ("csv", "xlsx"):
        source.headers = [
            d[0]
            for d in con.execute("SELECT * FROM _stage LIMIT 0").description
            if not (source.format == "parquet" and d[0] == PARQUET_ROW)
        ]
        _check_headers(source.headers, source.name)
    return rejected


PARQUET_ROW = "file_row_number"  # the column a Parquet _stage view numbers its rows with (from 0)


def stage_is_view(con: duckdb.DuckDBPyConnection) -> bool:
    """True when _stage is a view over a Parquet file (its rows numbered by PARQUET_ROW), not a table."""
    found = con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = '_stage' AND temporary").fetchone()
    return bool(found and found[0])


def drop_stage(con: duckdb.DuckDBPyConnection) -> None:
    """Drop _stage, a table or a view."""
    con.execute("DROP VIEW IF EXISTS _stage" if stage_is_view(con) else "DROP TABLE IF EXISTS _stage")


def _lines_below_header(source: SourceFile) -> int:
    """Non-blank lines after the header in the file's first bytes (a sanity check when the reader found none)."""
    with source.path.open("rb") as handle:
        head = handle.read(SAMPLE_BYTES)
    text = _decode_sample(head, source.encoding)
    lines = [line for line in re.split(r"\r\n|\n|\r", text) if line.strip(" \t" + (source.delimiter or ""))]
    return max(0, len(lines) - sum(1 for t in source.title_lines if t) - 1)


def _add_furniture(source: SourceFile, row: int | None, kind: str, raw: str) -> None:
    source.furniture_count += 1
    if len(source.furniture) < MAX_FURNITURE_EXAMPLES:
        source.furniture.append({"row": row, "kind": kind, "raw": raw.strip()[:200]})


BLANK_LINE = re.compile(rb"\n\r?(?=\n)")
# the same lines, for a search that only asks whether there is one: a regular expression without the lookahead
# finds the first faster (0.08 s against 0.12 s per 150 MB)
ANY_BLANK_LINE = re.compile(rb"\n\r?\n")


def _blank_lines(path: Path, skip_lines: int = 0) -> int:
    """Empty lines outside quoted fields (DuckDB skips them without a trace), counted as furniture.

    A byte scan, no parsing: an empty line counts only when the quotes before it are
    balanced, so an empty line inside a quoted note is not counted. A file with no empty line at all (most
    exports) is told by a search alone, without counting its quotes (0.05 s against 0.12 s per 150 MB).
    """
    if not _has_empty_line(path, skip_lines):
        return 0
    blank, quotes, tail = 0, 0, b""
    with path.open("rb") as handle:
        for _ in range(skip_lines):  # the title lines above the header are counted as titles
            handle.readline()
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            data, position = tail + chunk, 0
            for match in BLANK_LINE.finditer(data):
                quotes += data.count(b'"', position, match.start())
                position = match.start()
                blank += quotes % 2 == 0
            quotes += data.count(b'"', position, len(data) - 1)
            tail = data[-1:]
    return blank


def _has_empty_line(path: Path, skip_lines: int = 0) -> bool:
    """True when a line below the first `skip_lines` is empty, inside a quoted field or not."""
    return _first_blank_line(path, skip_lines=skip_lines) is not None


FAILURES = {
    "MISSING COLUMNS": "missing columns: a ragged row with {found} fields where the header has {width}",
    "TOO MANY COLUMNS": "too many columns: a ragged row with {found} fields where the header has {width}",
    "UNQUOTED VALUE": "unbalanced quotes: a quoted field is not closed where it should be",
    "INVALID ENCODING": "undecodable bytes",
    "LINE SIZE OVER MAXIMUM": "a line longer than the reader's maximum (an unclosed quote?)",
}


def _sort_rejects(con: duckdb.DuckDBPyConnection, source: SourceFile) -> list[dict]:
    """Split the rows DuckDB could not parse into report furniture and rejected rows.

    A footer line (one cell of boilerplate, see FOOTER), a blank or delimiter-only line, and
    any one-cell line after a footer has started, is furniture; anything else is a rejected
    row with its data row number, the first column it broke and its raw text.
    """
    width = len(source.headers)
    lines = con.execute("""
        SELECT line, arg_min(column_name, column_idx), arg_min(CAST(error_type AS VARCHAR), column_idx),
               arg_min(error_message, column_idx), arg_min(csv_line, column_idx)
        FROM _rejects GROUP BY line ORDER BY line""").fetchall()
    rejected, in_footer = [], False
    for line, column, kind, message, raw in lines:
        raw = raw or ""
        row = int(line) - 1 - source.skip_lines
        try:
            cells = next(csv.reader(io.StringIO(raw.strip("\r\n")), delimiter=source.csv_delimiter), [])
        except csv.Error:
            cells = [raw]
        filled = _nonempty(cells)
        if kind in ("MISSING COLUMNS", "TOO MANY COLUMNS") and (
            not filled or is_footer_line(cells) or (in_footer and len(filled) == 1)
        ):
            in_footer = in_footer or bool(filled)
            _add_furniture(
                source, row, "report footer" if filled else "blank or delimiter-only line", filled[0] if filled else raw
            )
            continue
        reason = FAILURES.get(kind, (message or kind or "unreadable row").strip()).format(width=width, found=len(cells))
        rejected.append({"row": row, "column": column, "reason": reason, "raw": raw.strip("\r\n")[:1000]})
    return rejected


def _drop_furniture_rows(con: duckdb.DuckDBPyConnection, source: SourceFile) -> None:
    """Delete total/subtotal rows and rows with every cell empty from _stage, recording them.

    A total row has a cell that is only a total label ("Total", "Subtotal", "Grand Total (24
    records)", "Sum:"), no other cell but figures, and its id columns empty (or the label):
    a real account named "Total Energies" with an industry is never one.
    """
    columns = [d[0] for d in con.execute("SELECT * FROM _stage LIMIT 0").description]
    if not columns:
        return
    cells = [quote_identifier(c) for c in columns]
    empty = [f"coalesce(trim({c}), '') = ''" for c in cells]
    label = [f"regexp_full_match(coalesce({c}, ''), {sql_literal(TOTAL_LABEL)})" for c in cells]
    figure = [f"regexp_full_match(coalesce({c}, ''), {sql_literal(FIGURE)})" for c in cells]
    ids = [cell for cell, header in zip(cells, columns) if canonical_field(header) in ID_FIELDS]
    all_empty = " AND ".join(empty)
    # a footer line a workbook pads to the full width: one cell of boilerplate, the others empty
    filled = " + ".join(f"(NOT {e})::INT" for e in empty)
    text = f"concat_ws('', {', '.join(cells)})"
    footer = f"({filled} = 1 AND regexp_matches({text}, {sql_literal('(?i)' + FOOTER_PATTERN)}))"
    total = (
        f"(({' OR '.join(label)}) AND {' AND '.join(f'({f} OR {lab})' for f, lab in zip(figure, label))}"
        + "".join(f" AND (coalesce(trim({c}), '') = '' OR regexp_full_match({c}, '{TOTAL_LABEL}'))" for c in ids)
        + ")"
    ).replace(f"'{TOTAL_LABEL}'", sql_literal(TOTAL_LABEL))
    first = one(con, "SELECT min(rowid) FROM _stage") or 0
    # cheap first cut on two cells, the exact per-cell tests on the few rows left: a blank line or a footer has
    # at most one filled cell (so one of any two is empty); in a total row every cell is a figure or a label.
    # The cut reads those two cells only (a filter beside the row's other cells read every cell of every row),
    # in its own statement (else the optimiser merges the two filters and may run the exact tests, a trim of
    # every cell and a regular expression over the row's text, on every row); most exports stop there
    candidates = "_stage"
    if len(cells) >= 2:
        a, b = _cut_cells(con, cells)
        cut = f"{_maybe_empty(a)} OR {_maybe_empty(b)} OR ({_figure_or_label(a)} AND {_figure_or_label(b)})"
        con.execute(f"CREATE OR REPLACE TEMP TABLE _furniture_cut AS SELECT rowid AS _rid FROM _stage WHERE {cut}")
        candidates = "_stage WHERE rowid IN (SELECT _rid FROM _furniture_cut)"
        if not one(con, "SELECT count(*) FROM _furniture_cut"):
            con.execute("DROP TABLE _furniture_cut")
            return
    section = _section_rows(con, cells, empty, filled, footer, candidates)
    furniture = f"({all_empty}) OR {footer} OR {total} OR {section}"
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _furniture AS
                    SELECT _rid - {first} + 1 AS row, {all_empty} AS blank, {footer} AS footer, {section} AS section,
                           concat_ws(' | ', {", ".join(f"nullif(trim({c}), '')" for c in cells)}) AS text, _rid
                    FROM (SELECT rowid AS _rid, * FROM {candidates}) WHERE {furniture}""")
    con.execute("DROP TABLE IF EXISTS _furniture_cut")
    count = one(con, "SELECT count(*) FROM _furniture")
    if count:
        for row, blank, is_footer, is_section, text in con.execute(
            f"SELECT row, blank, footer, section, text FROM _furniture ORDER BY row LIMIT {MAX_FURNITURE_EXAMPLES}"
        ).fetchall():
            kind = (
                "blank or delimiter-only line"
                if blank
                else "report footer"
                if is_footer
                else "section heading row"
                if is_section
                else "total or subtotal row"
            )
            _add_furniture(source, int(row), kind, text or "")
        source.furniture_count += count - min(count, MAX_FURNITURE_EXAMPLES)
        con.execute("DELETE FROM _stage WHERE rowid IN (SELECT _rid FROM _furniture)")
    con.execute("DROP TABLE _furniture")


def _section_rows(
    con: duckdb.DuckDBPyConnection, cells: list[str], empty: list[str], filled: str, footer: str, candidates: str
) -> str:
    """SQL: the row is a section heading of a hand-kept sheet: its first cell filled, every other cell empty, in a
    file of three columns or more, the cell set off by rules (SECTION_RULED) or a plain heading (`_plain_heading`:
    a region, a country, a status, or a label ending in ":") when such rows are at most SECTION_SHARE of the rows
    (found among the furniture cut's `candidates`). A company row with any other cell filled is never one,
    nor a lone company name."""
    if len(cells) < 3:
        return "false"
    lone = f"({filled} = 1 AND NOT ({empty[0]}) AND NOT {footer})"
    ruled = f"regexp_full_match({cells[0]}, {sql_literal(SECTION_RULED)})"
    plain = con.execute(
        f"SELECT trim({cells[0]}) AS v, count(*) FROM {candidates} AND {lone} AND NOT {ruled} "
        f"AND length(trim({cells[0]})) <= 60 GROUP BY v"
    ).fetchall()
    rows = one(con, "SELECT count(*) FROM _stage")
    found = [(v, n) for v, n in plain if _plain_heading(v)]
    headings = [v for v, _ in found] if sum(n for _, n in found) <= SECTION_SHARE * rows else []
    named = f" OR trim({cells[0]}) IN ({', '.join(sql_literal(v) for v in headings)})" if headings else ""
    return f"({lone} AND ({ruled}{named}))"


# Plain words a sheet heads a block of rows with: regions and markets, and the state of the accounts below
SECTION_WORDS = re.compile(
    r"(?i)(emea|apac|amer|americas|latam|mena|dach|nordics|benelux|anz|uk ?& ?i|north america|south america|"
    r"latin america|europe|asia|asia[- ]pacific|africa|middle east|oceania|rest of world|row|international|domestic|"
    r"active|inactive|churned|lost|won|paused|trial|trials|prospects|customers|clients|archive|archived|other|misc)"
    r"( (accounts|customers|clients|region))?"
)


def _plain_heading(value: str) -> bool:
    """A lone first cell that reads as a heading: a region or status word (SECTION_WORDS), a country, or a label
    ending in ":" ("Key accounts:")."""
    from icp_agent.ingest.normalize import country_name

    text = value.strip()
    return text.endswith(":") or bool(SECTION_WORDS.fullmatch(text)) or country_name(text) is not None


# a figure or a total label, as one pattern (one call per cell instead of two)
FIGURE_OR_LABEL = f"(?:{FIGURE})|(?i:{TOTAL_LABEL.removeprefix('(?i)')})"


def _figure_or_label(cell: str) -> str:
    """SQL: the cell is empty, a figure or a total label (what every cell of a total row is)."""
    return f"regexp_full_match(coalesce({cell}, ''), {sql_literal(FIGURE_OR_LABEL)})"


def _maybe_empty(cell: str) -> str:
    """SQL: `coalesce(trim(cell), '') = ''`, with trim (a copy of the text) left out when the first character is
    printable ASCII, which trim never strips: 0.25 s to 0.08 s for two cells of 1M rows. That first character is
    tested as a range of strings (from "!" up to, not including, chr(127)), which DuckDB compares on the stored
    prefix, and skips a block of rows whose smallest and largest values both lie in it: the two cells' tests took
    0.054 s of CPU at 1M rows with ascii(), next to nothing so."""
    return f"({cell} IS NULL OR NOT ({cell} >= '!' AND {cell} < chr(127)) AND trim({cell}) = '')"


def _cut_cells(con: duckdb.DuckDBPyConnection, cells: list[str]) -> tuple[str, str]:
    """The two cells (quoted column names) the furniture cut tests on every row: those that are least often a
    figure or a label in the first rows, so that the regular expression of the second is rarely run (a total
    row needs both to be one). Any two give the same rows; in a CRM export ids and amounts are figures, names
    are not."""
    counts = one(
        con, f"SELECT {', '.join(f'count_if({_figure_or_label(c)})' for c in cells)} FROM (FROM _stage LIMIT 1000)"
    )
    counts = counts if isinstance(counts, tuple) else (counts,)
    order = sorted(range(len(cells)), key=lambda k: (counts[k], k))
    return cells[order[0]], cells[order[1]]


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
    if "state machine" in str(exc).lower():
        return UserError(
            "the reader lost track of the rows (a line ending or quote it could not follow)",
            file=source.name,
            row=line,
            hint="re-save the file as CSV (UTF-8) from a spreadsheet, so that every line ends the "
            "same way and every quote is closed",
        )
    return UserError(
        f"cannot read the file: {first}",
        file=source.name,
        row=line,
        hint="check it is a valid CSV / Parquet / JSON-lines export",
    )


def peek_headers(source: SourceFile) -> list[str]:
    """Column names of a Parquet/JSON file without loading it (CSV and workbook headers are known already)."""
    if source.format in ("csv", "xlsx"):
        return source.headers
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    try:
        source.headers = [
            r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {read_source_sql(source, lenient=False)}").fetchall()
        ]
    except duckdb.Error as exc:
        raise _reader_error(exc, source) from exc
    finally:
        con.close()
    return source.headers
