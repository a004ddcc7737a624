"""Low-level CSV reading shared by every reader: text in, all-string polars frame out.

:func:`read_text_csv` reads a delimited file exactly as published, every column as text (``pl.Utf8``),
and adds ``source_row``: the 1-based line number where the record starts in the file, the header being
row 1, so that every later message and quarantine row can point an analyst at the line to open.

What it handles (each seen in real DfE/GIAS files or CRM exports):

* a UTF-8 byte order mark (also when another encoding was asked for: a BOM says the file is UTF-8);
* CRLF or LF line ends, and CR alone (old Mac exports: a file with no LF at all), quoted fields, quoted
  fields holding line breaks (rows then still get the line where their record starts);
* Windows-1252 / Latin-1 text when asked (GIAS downloads are Windows-1252);
* blank lines (skipped; they do not shift ``source_row``).

Blank cells (``,,`` and ``,"",``) come back as null; other text is returned untouched (no trimming),
so the contract layer decides what a value means. A row with more fields than the header stops the run
(naming the line); a row with fewer is padded with nulls, which the contract's required-value rules catch.
Every byte is checked before polars parses the file: a UTF-8 file that checks as valid UTF-8 goes to polars as
bytes (only its first lines decoded in Python, for the header checks); any other file is decoded in Python,
so a byte that is not valid in the stated encoding stops the run with an :class:`~cpdeval.errors.InputError`
naming the file and the line of the offending byte, instead of polars' generic error or silent replacement
characters. A file read as Windows-1252 / Latin-1 that is in fact UTF-8 (it decodes as UTF-8 and has
non-ASCII characters) stops too, naming the first such line: read as Windows-1252 it would give silent
mojibake ("Ã©" for "é"). A quote that is never closed stops with the line where its record starts, and a
header that is one column holding ``;``, tab or ``|`` says which delimiter the file seems to use.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
import re
from pathlib import Path
from typing import Callable, Iterable, Iterator

import polars as pl

from ..errors import InputError

_BOM = codecs.BOM_UTF8

__all__ = ["read_text_csv", "read_header", "require_columns", "close_matches", "decode_file"]


def _normalise_encoding(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError as exc:  # a configuration mistake, but name it like an input problem
        raise ValueError(f"unknown text encoding {encoding!r}") from exc


#: A multi-byte UTF-8 character: a file holding one is UTF-8 (a Windows-1252 file almost never does).
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


def detect_encoding(data: bytes) -> str:
    """``auto``: a byte order mark says UTF-8; text that decodes as UTF-8 is UTF-8; text with no UTF-8
    character at all is Windows-1252 (Excel's plain CSV, GIAS and DfE downloads). Text holding UTF-8
    characters that does not decode is damaged UTF-8, left to the decoder to name the line."""
    if data.startswith(_BOM):
        return "utf-8"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "utf-8" if _UTF8_MULTIBYTE.search(data) else "cp1252"


def decode_file(path: str | Path, encoding: str = "utf-8", setting: str | None = None) -> str:
    """The text of ``path`` decoded with ``encoding`` (``auto``: :func:`detect_encoding`); a BOM is removed.

    Raises :class:`InputError` with the (1-based) line of the first undecodable byte; ``setting`` names the
    config key that sets this file's encoding, for the message.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(path, "file not found", rule="the configured input must exist") from None
    except IsADirectoryError:
        raise InputError(path, "is a folder, not a file", rule="the configured input must be a file") from None
    if encoding == "auto":
        encoding = detect_encoding(data)
    enc = _normalise_encoding(encoding)
    start = 0
    if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        raise InputError(path, "the file is UTF-16 (it starts with a UTF-16 byte order mark, as Excel's "
                         "'Unicode text' does); save it as CSV", row=1, rule=f"text encoding {encoding}")
    if data.startswith(_BOM):
        # A UTF-8 byte order mark means the file is UTF-8 whatever we were told.
        enc, start = "utf-8", len(_BOM)
    if enc != "utf-8" and not data.isascii():
        _refuse_utf8_read_as_single_byte(path, data, start, enc, setting)
    try:
        text = data[start:].decode(enc)
    except UnicodeDecodeError as exc:
        pos = start + exc.start
        line = data.count(b"\n", 0, pos) + 1
        bad = data[pos:pos + max(1, exc.end - exc.start)]
        hint = ("the file is not UTF-8, perhaps Windows-1252 (Excel's plain 'CSV'; GIAS downloads): save it as "
                "'CSV UTF-8'" if enc == "utf-8" else "check the file's text encoding")
        if setting:
            hint += f", or set {setting} to the file's encoding (auto detects UTF-8 and Windows-1252)"
        raise InputError(path, f"byte {bad.hex(' ')} at offset {pos} cannot be decoded as {enc} ({hint})",
                         row=line, rule=f"text encoding {enc}") from None
    if "\r" in text and "\n" not in text:  # CR alone ends lines (old Mac exports)
        text = text.replace("\r", "\n")
    return text


def _refuse_utf8_read_as_single_byte(path: Path, data: bytes, start: int, enc: str, setting: str | None) -> None:
    """Stop when a file to be read as a single-byte encoding (cp1252, latin-1) is valid UTF-8 with
    non-ASCII characters: decoding it as asked would turn every accented letter into two wrong ones."""
    try:
        data[start:].decode("utf-8")
    except UnicodeDecodeError:
        return
    pos = next(i for i, b in enumerate(data[start:], start) if b >= 0x80)
    line = data.count(b"\n", 0, pos) + 1
    char = data[pos:pos + 4].decode("utf-8", errors="ignore")[:1]
    raise InputError(path, f"the file is UTF-8 (first non-ASCII character {char!r} at offset {pos}) but is read as "
                     f"{enc}; save it as {enc} or set {setting or 'its encoding'} to utf-8 (or auto) in the config",
                     row=line,
                     rule=f"text encoding {enc}")


def _lines(text: str):
    """The lines of ``text`` with their ends, split as ``io.StringIO(text, newline="")`` splits them (at
    ``\\n``, ``\\r\\n`` or a lone ``\\r``), one at a time: reading the first records of a large export
    then costs no copy of the whole file (a tenth of a second per 40 MB)."""
    start, n = 0, len(text)
    while start < n:
        nl = text.find("\n", start)
        stop = n if nl < 0 else nl + 1
        cr = text.find("\r", start, stop)
        if 0 <= cr < stop - 1 and cr != nl - 1:  # a lone \r ends the line first
            stop = cr + 1
        yield text[start:stop]
        start = stop


def _header_of(text: str) -> list[str]:
    reader = csv.reader(_lines(text))
    for record in reader:
        if record and any(field.strip() for field in record):
            return record
    return []


def read_header(path: str | Path, *, encoding: str = "utf-8", sheet: str | int | None = None) -> list[str]:
    """Column names of a CSV file (first non-blank record) or of an .xlsx sheet (its header row)."""
    from .excel import refuse_if_not_text, sniff

    kind = sniff(path) if Path(path).is_file() else "text"
    if kind == "xlsx":
        from .excel import read_excel_text

        return [c for c in read_excel_text(path, sheet=sheet).columns if c != "source_row"]
    refuse_if_not_text(path, kind)
    return _header_of(_drop_sep_line(decode_file(path, encoding)))


def _first_line(text: str) -> str:
    return text[:text.find("\n") + 1 if "\n" in text else len(text)]


def _is_sep_line(line: str) -> bool:
    """Excel's ``sep=,`` line (the first line of some CSV exports)."""
    return line.strip().lower().startswith("sep=")


def _drop_sep_line(text: str, separator: str = ",") -> str:
    """Excel writes ``sep=,`` on the first line of some CSV exports: honour it when it names the separator
    the file is read with (the line becomes blank, so line numbers stay); otherwise say what the file is."""
    first = _first_line(text)
    if not _is_sep_line(first):
        return text
    sep = first.strip()[4:5]
    if sep != separator:
        raise _SeparatorProblem(sep)
    return "\n" + text[len(first):]


class _SeparatorProblem(Exception):
    def __init__(self, sep: str):
        self.sep = sep


_SEPARATOR_NAMES = {";": "semicolons", "\t": "tabs", "|": "bars"}


def _separator_message(text: str, sep: str) -> str:
    name = _SEPARATOR_NAMES.get(sep, repr(sep))

    decimal_commas = sep == ";" and re.search(r"(^|;)\s*\"?-?\d+,\d+\"?\s*(;|$)", text[:200_000], re.M)
    return (f"the file is separated by {name}" + (" with decimal commas (a European-locale Excel export)"
                                                   if decimal_commas else "")
            + ", not commas: save it from Excel as 'CSV UTF-8 (Comma delimited)'"
            + (" with '.' as the decimal separator" if decimal_commas else ""))


def _title_lines(text: str, header: list[str]) -> int | None:
    """Line of the real header when the first record is a title (one cell) above a wider table."""
    if len([f for f in header if f.strip()]) > 1:
        return None
    reader = csv.reader(_lines(text))
    for i, record in enumerate(reader):
        if i > 20:
            break
        if len([f for f in record if f.strip()]) >= 3:
            return reader.line_num
    return None


def _record_start_lines(text: str) -> tuple[list[int], list[bool]]:
    """Start line (1-based) of every record after the header, and whether the record is blank.

    Exact for quoted fields with line breaks; used only when the fast count says lines != records.
    """
    starts, blank = [], []
    for start, record in _body_records(text, lambda r: any(f.strip() for f in r)):
        starts.append(start)
        blank.append(len(record) == 0)
    return starts, blank


def _body_records(text: str, is_header: Callable[[list[str]], bool]) -> Iterator[tuple[int, list[str]]]:
    """(start line, fields) of every record after the first one ``is_header`` accepts (the csv module's own
    line count, so a quoted field with line breaks keeps the record on its first line)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    prev_end, header_seen = 0, False
    for record in reader:
        start, prev_end = prev_end + 1, reader.line_num
        if header_seen:
            yield start, record
        else:
            header_seen = is_header(record)


def _first_bad_quote(text: str) -> tuple[int | None, str]:
    """Line where the first record with broken quoting starts (an unclosed quote, text after a closing
    quote), and the csv module's description; ``(None, "")`` when the quoting is sound."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    prev_end = 0
    try:
        for _ in reader:
            prev_end = reader.line_num
    except csv.Error as exc:
        return prev_end + 1, str(exc)
    return None, ""


def _refuse_truncated(path: Path, body: str, n_header: int, lead_lines: int) -> None:
    """Stop when the file ends in the middle of a record: no line break at the end and a last record
    with fewer fields than the header and than every other record (an interrupted download or copy; the
    rows after it are lost). Published files whose rows leave out empty trailing fields (DfE tables have
    rows one field short) are not truncated: their last record is no shorter than the others."""
    if not body or body.endswith("\n"):
        return
    last_line = body.rsplit("\n", 1)[-1].rsplit("\r", 1)[-1]   # (a lone CR ends a line too, as for the csv module)
    if not last_line.strip() or len(next(csv.reader([last_line]), [])) >= n_header:
        return
    # the last physical line may continue a quoted field: check the last whole record against the others
    reader = csv.reader(io.StringIO(body, newline=""))
    start, prev_end, last, shortest = None, 0, None, n_header
    for i, record in enumerate(reader):
        if i > 1 and last:  # records between the header and the last one
            shortest = min(shortest, len(last))
        start, prev_end, last = prev_end + 1, reader.line_num, record
    if last is not None and 0 < len(last) < shortest:
        raise InputError(path, f"the file ends in the middle of a record ({len(last)} of {n_header} fields, no "
                         "line break at the end): it looks truncated, so rows after it are missing; get the "
                         "complete file", row=start + lead_lines, rule="a complete file (the last record ends "
                         "with a line break or has every field)")


def _ragged_rows(body: str, n_header: int, lead_lines: int) -> list[int]:
    """Start lines of every record with more fields than the header."""
    reader = csv.reader(io.StringIO(body, newline=""))
    out, prev_end = [], 0
    for i, record in enumerate(reader):
        start, prev_end = prev_end + 1, reader.line_num
        if i and len(record) > n_header:
            out.append(start + lead_lines)
    return out


def _shifted_row(body: str, header: list[str], wanted: list[str]) -> tuple[int, int] | None:
    """The first over-long record whose read fields are not where a regular row has them (line, fields), or
    None when every over-long record only continues the last column: the read columns that hold numbers in
    regular rows still hold numbers (a comma inside an earlier field shifts text into them)."""
    def is_number(v: str) -> bool:
        return v.strip().replace(".", "", 1).isdigit()

    reader = csv.reader(io.StringIO(body, newline=""))
    records, prev_end = [], 0
    for record in reader:
        records.append((prev_end + 1, record))
        prev_end = reader.line_num
    records = records[1:]
    regular = [r for _, r in records if len(r) == len(header)][:200]
    positions = [header.index(c) for c in wanted]
    # read columns whose values in regular rows are all numbers (and not all blank)
    numeric = [p for p in positions if any(r[p].strip() for r in regular)
               and all(is_number(r[p]) for r in regular if r[p].strip())]
    for line, r in records:
        if len(r) > len(header) and (not numeric or any(r[p].strip() and not is_number(r[p]) for p in numeric)):
            return line, len(r)
    return None


def _read_repaired_or_raise(path: Path, exc: Exception, text: str, body: str, header: list[str],
                            wanted: list[str] | None, separator: str, lead_lines: int,
                            repaired: list[int] | None) -> pl.DataFrame:
    """polars could not read the file: repair rows that only overflow into an unread last column (when the
    caller counts repairs), or raise the clearest :class:`InputError` (ragged row, broken quoting)."""
    row, n = _first_ragged_row(text, len(header))
    repairable = repaired is not None and wanted is not None and header[-1] not in wanted
    shifted = _shifted_row(body, header, wanted) if row is not None and repairable else None
    if shifted is not None:   # a row whose read columns moved: name it, not a harmless spill before it
        row, n = shifted[0] + lead_lines, shifted[1]
    elif row is not None and repairable:
        # the extra fields continue the last column (unquoted commas in it), which is not read
        df = pl.read_csv(io.BytesIO(body.encode("utf-8")), infer_schema=False, has_header=True, separator=separator,
                         empty_string_is_null=True, raise_if_empty=False, truncate_ragged_lines=True).select(wanted)
        repaired.extend(_ragged_rows(body, len(header), lead_lines))
        return df
    if row is not None:
        raise InputError(path, f"the record has {n} fields but the header has {len(header)}", row=row,
                         rule="every row has the header's number of fields") from None
    row, why = _first_bad_quote(text)
    if row is not None:
        hint = ": a quote opened and never closed swallows the lines after it" if "end of data" in why else ""
        raise InputError(path, f"broken quoting in the record starting here ({why}){hint}", row=row,
                         rule="a field that starts with a quote ends with one") from None
    raise InputError(path, f"cannot be read as CSV: {str(exc).splitlines()[0]}",
                     rule="comma-separated text with a header row") from None


def _first_ragged_row(text: str, n_header: int) -> tuple[int | None, int]:
    for start, record in _body_records(text, bool):
        if len(record) > n_header:
            return start, len(record)
    return None, 0


#: How much of a plain UTF-8 file is decoded for the header checks (header, title lines, separator): far more
#: than the first 21 records they look at.
HEAD_BYTES = 1 << 20
#: Records the header checks read (:func:`_header_of`, :func:`_title_lines`): the head must hold them whole.
HEAD_RECORDS = 22


def _is_utf8(data: bytes) -> bool:
    """Whether ``data`` is valid UTF-8 (polars' check: a tenth of the time of ``bytes.decode``)."""
    try:
        pl.Series([data], dtype=pl.Binary).cast(pl.Utf8)
    except pl.exceptions.ComputeError:
        return False
    return True


def _plain_utf8(path: Path, encoding: str, separator: str) -> tuple[str, bytes] | None:
    """``(head text, body bytes)`` of a file that can be read without decoding it in Python: read as UTF-8
    (or ``auto``) and valid UTF-8, lines ended by LF or CRLF, no ``sep=`` line and no blank line before
    the header. Anything else (other encodings, damaged text, CR-only line ends, a leading blank or
    ``sep=`` line) returns None, and :func:`_decoded_text` reads the file, naming any problem."""
    try:
        if encoding != "auto" and _normalise_encoding(encoding) != "utf-8":
            return None
    except ValueError:
        return None   # (the decoding reader names an unknown encoding)
    try:
        data = path.read_bytes()
    except OSError:
        return None   # (the decoding reader names a missing file or a folder)
    if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return None
    if data.startswith(_BOM):
        data = data[len(_BOM):]
    if (b"\r" in data and b"\n" not in data) or not _is_utf8(data):
        return None
    cut = len(data) if len(data) <= HEAD_BYTES else data.rfind(b"\n", 0, HEAD_BYTES) + 1
    head = data[:cut].decode("utf-8")
    first = _first_line(head)
    if not first.strip() or _is_sep_line(first):
        return None
    if cut < len(data) and sum(1 for _ in zip(range(HEAD_RECORDS + 1), csv.reader(_lines(head)))) <= HEAD_RECORDS:
        return None   # the records the header checks read do not all end inside the head: decode the whole file
    return head, data


def _decoded_text(path: Path, encoding: str, setting: str | None, separator: str) -> tuple[str, str, int]:
    """``(text, body, lead_lines)``: the file decoded in Python (:func:`decode_file`, which names an undecodable
    byte's line), a ``sep=`` first line honoured, and ``body`` the text from the first non-blank line
    (``lead_lines`` blank lines before it, so that line numbers stay the file's)."""
    text = decode_file(path, encoding, setting)
    try:
        text = _drop_sep_line(text, separator)
    except _SeparatorProblem as exc:
        raise InputError(path, f"the first line says sep={exc.sep}: " + _separator_message(text, exc.sep), row=1,
                         rule="comma-separated text with a header row") from None
    # Blank lines before the header would confuse polars; drop them (keeping line numbers).
    lead_lines, pos = 0, 0
    while True:
        nl = text.find("\n", pos)
        if nl < 0 or text[pos:nl].strip():
            break
        pos, lead_lines = nl + 1, lead_lines + 1
    return text, (text[pos:] if pos else text), lead_lines  # (no copy of the file when nothing precedes the header)


def read_text_csv(path: str | Path, *, encoding: str = "utf-8", columns: Iterable[str] | None = None,
                  separator: str = ",", require: Iterable[str] | None = None,
                  what: str = "input file", sheet: str | int | None = None,
                  encoding_setting: str | None = None, repaired: list[int] | None = None) -> pl.DataFrame:
    """Read a CSV file with every column as text, plus ``source_row`` (line of the record; header = 1).

    An .xlsx workbook is read the same way (:func:`cpdeval.ingest.excel.read_excel_text`, ``sheet`` or the
    first); an .xls, gzip, zip, PDF or other binary file stops with what it is and how to convert it. A first
    line ``sep=,`` (Excel) is skipped; a file separated by semicolons (with decimal commas) or tabs, or with
    title lines above the header, stops saying exactly that.

    ``columns`` restricts the columns returned (faster on wide files); names not in the file are ignored.
    ``require`` names columns that must be in the header: if any is missing, :func:`require_columns` stops
    with one error listing them all, with close matches from the whole header (``what`` names the file's
    kind in the message). Empty files, files with only a header, duplicate column names and rows with more
    fields than the header raise :class:`InputError`.
    """
    from .excel import read_excel_text, refuse_if_not_text, sniff

    path = Path(path)
    kind = sniff(path) if path.is_file() else "text"
    if kind == "xlsx":
        return read_excel_text(path, sheet=sheet, columns=columns, require=require, what=what)
    refuse_if_not_text(path, kind)
    plain = _plain_utf8(path, encoding, separator)
    if plain is not None:
        # a UTF-8 file with nothing before its header: polars reads its bytes as they are, and the header checks
        # below read only its first lines (no decoding of the whole file into Python text and back)
        text, body_bytes = plain
        lead_lines, body = 0, None
    else:
        text, body, lead_lines = _decoded_text(path, encoding, encoding_setting, separator)
        body_bytes = body.encode("utf-8")
    header = _header_of(text)
    if not header:
        raise InputError(path, "the file is empty (no header row)", row=1, rule="a CSV file with a header row")
    data_cols = [h for h in header if h.strip()]
    for sep in (";", "\t", "|"):
        if separator == "," and len(data_cols) == 1 and sep in data_cols[0]:
            raise InputError(path, _separator_message(text, sep), row=1, rule="comma-separated text with a header row")
    title_end = _title_lines(text, header)
    if title_end is not None:
        raise InputError(path, f"the first line(s) are a title, not the header: the table's header seems to be on "
                         f"line {title_end}; delete the lines above it and save the file again", row=1,
                         rule="the header is the first line")
    if require is not None:
        require_columns(header, list(require), path, what)
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise InputError(path, f"the header repeats column name(s) {', '.join(map(repr, dupes))}", row=1,
                         rule="column names must be unique")
    wanted = None
    if columns is not None:
        cols = list(dict.fromkeys(columns))
        wanted = [c for c in cols if c in header]
    drop_after = []
    if wanted is not None and not wanted:  # none of the asked-for columns: read one, return none
        wanted, drop_after = [header[0]], [header[0]]
    try:
        # every column is read, then the wanted ones kept: reading only some, polars does not notice a
        # record with more fields than the header (a misaligned row, e.g. an unquoted comma in a name)
        df = pl.read_csv(io.BytesIO(body_bytes), infer_schema=False, has_header=True,
                         separator=separator, empty_string_is_null=True, raise_if_empty=False)
        if wanted is not None:
            df = df.select(wanted)
    except pl.exceptions.ComputeError as exc:
        if body is None:   # (read as bytes) the whole text is needed to repair rows or to name the problem
            text, body, lead_lines = _decoded_text(path, encoding, encoding_setting, separator)
        df = _read_repaired_or_raise(path, exc, text, body, header, wanted, separator, lead_lines, repaired)
    if df.height == 0:
        raise InputError(path, "the file has a header but no data rows", row=2,
                         rule="at least one data row")
    def body_text() -> str:   # the body as text: decoded here, for the rare checks that need it, when read as bytes
        return body if body is not None else body_bytes.decode("utf-8")

    if not body_bytes.endswith(b"\n"):
        _refuse_truncated(path, body_text(), len(header), lead_lines)
    # Blank cells: polars gives "" for a quoted empty field; make every blank a null.
    df = df.with_columns(pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c)
                         for c in df.columns)
    # Line numbers. Fast path: one physical line per record (no quoted line breaks, no blank lines).
    n_lines = body_bytes.count(b"\n") + (0 if body_bytes.endswith(b"\n") else 1)
    # polars reads a blank line as a row of nulls, so only a frame with such a row can have come from a file with
    # blank lines (searching 40 MB of bytes for them costs 70 ms; most exports have none)
    all_null = pl.all_horizontal([pl.col(c).is_null() for c in df.columns]) if df.width else pl.lit(False)
    has_blank_line = (bool(df.select(all_null.any()).item())
                      and (b"\n\n" in body_bytes or b"\n\r\n" in body_bytes))
    if not has_blank_line and n_lines == df.height + 1:
        rows = pl.int_range(2, df.height + 2, eager=True).alias("source_row") + lead_lines
        df = df.with_columns(rows.cast(pl.Int64).alias("source_row"))
    else:
        starts, blank = _record_start_lines(body_text())
        if len(starts) == df.height:
            df = df.with_columns(pl.Series("source_row", [s + lead_lines for s in starts], dtype=pl.Int64),
                                 pl.Series("__blank", blank, dtype=pl.Boolean))
        else:  # polars and the csv module disagree on records (unusual quoting): fall back to order
            df = df.with_columns(pl.int_range(2, df.height + 2).cast(pl.Int64).alias("source_row"),
                                 all_null.alias("__blank"))
        df = df.filter(~pl.col("__blank")).drop("__blank")
        if df.height == 0:
            raise InputError(path, "the file has a header but no data rows", row=2, rule="at least one data row")
    return df.drop(drop_after)


def close_matches(name: str, candidates: Iterable[str], n: int = 3, cutoff: float = 0.6) -> list[str]:
    """Column names that look like ``name`` (case-insensitive), best first."""
    cands = list(candidates)
    lowered = {c.lower(): c for c in cands}
    hits = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=cutoff)
    return [lowered[h] for h in hits]


def require_columns(df: pl.DataFrame | Iterable[str], required: Iterable[str], path: str | Path,
                    what: str, expected: Iterable[str] | None = None, about: dict[str, str] | None = None) -> None:
    """Stop with one :class:`InputError` listing every required column missing from ``df``.

    ``df`` may be a frame or a list of column names. Each missing name comes with close matches from the
    file's header (a renamed or re-cased column is the usual cause); when ``expected`` (every column the
    contract knows) is given, headers the contract does not know come first, and a lone missing column with
    a lone unknown header is named as a likely rename. ``about`` gives a missing column's meaning (a survey
    item's text) for the message.
    """
    have = list(df.columns) if isinstance(df, pl.DataFrame) else list(df)
    have_set = set(have)
    missing = [c for c in dict.fromkeys(required) if c not in have_set]
    if not missing:
        return
    known = set(expected or ())
    unknown = [h for h in have if known and h not in known and h != "source_row"]
    parts = []
    for m in missing:
        near = list(dict.fromkeys(close_matches(m, unknown, cutoff=0.4) + close_matches(m, have)))[:3]
        if len(missing) == 1 and len(unknown) == 1 and unknown[0] not in near:
            near = [unknown[0], *near][:3]
        meaning = f" ({about[m]})" if about and about.get(m) else ""
        if len(missing) == 1 and len(unknown) == 1 and near and near[0] == unknown[0]:
            parts.append(f"{m!r}{meaning}: the file has {unknown[0]!r} instead, which no rule expects: was the "
                         f"column renamed? (rename it back to {m!r})")
            continue
        parts.append(f"{m!r}{meaning}" + (f" (did you mean {', '.join(map(repr, near))}?)" if near else ""))
    noun = "column" if len(missing) == 1 else "columns"
    data_cols = [c for c in have if c != "source_row"]
    seps = [name for sep, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "bars")) if len(data_cols) == 1
            and sep in data_cols[0]]
    if seps:
        parts.append(f"the header is one column: the file seems to be separated by {seps[0]}, not commas")
    raise InputError(path, f"{what}: required {noun} missing: {'; '.join(parts)}", row=1,
                     column=missing[0], rule=f"the {what} must have columns {', '.join(missing)}")
