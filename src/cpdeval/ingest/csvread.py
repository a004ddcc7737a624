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
(naming the line); a row with fewer is padded with nulls, which the contract's required-value rules catch. The file is decoded in Python first, so a byte that
is not valid in the stated encoding stops the run with an :class:`~cpdeval.errors.InputError` naming the
file and the line of the offending byte, instead of polars' generic error or silent replacement
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
from pathlib import Path
from typing import Iterable

import polars as pl

from ..errors import InputError

_BOM = codecs.BOM_UTF8

__all__ = ["read_text_csv", "read_header", "require_columns", "close_matches", "decode_file"]


def _normalise_encoding(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError as exc:  # a configuration mistake, but name it like an input problem
        raise ValueError(f"unknown text encoding {encoding!r}") from exc


def decode_file(path: str | Path, encoding: str = "utf-8") -> str:
    """The text of ``path`` decoded with ``encoding``; a BOM is removed.

    Raises :class:`InputError` with the (1-based) line of the first undecodable byte.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(path, "file not found", rule="the configured input must exist") from None
    except IsADirectoryError:
        raise InputError(path, "is a folder, not a file", rule="the configured input must be a file") from None
    enc = _normalise_encoding(encoding)
    start = 0
    if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        raise InputError(path, "the file is UTF-16 (it starts with a UTF-16 byte order mark, as Excel's "
                         "'Unicode text' does); save it as CSV", row=1, rule=f"text encoding {encoding}")
    if data.startswith(_BOM):
        # A UTF-8 byte order mark means the file is UTF-8 whatever we were told.
        enc, start = "utf-8", len(_BOM)
    if enc != "utf-8" and not data.isascii():
        _refuse_utf8_read_as_single_byte(path, data, start, enc)
    try:
        text = data[start:].decode(enc)
    except UnicodeDecodeError as exc:
        pos = start + exc.start
        line = data.count(b"\n", 0, pos) + 1
        bad = data[pos:pos + max(1, exc.end - exc.start)]
        hint = ("the file is not UTF-8, perhaps Windows-1252 (Excel's plain 'CSV'; GIAS downloads): save it as "
                "'CSV UTF-8'" if enc == "utf-8" else "check the file's text encoding")
        raise InputError(path, f"byte {bad.hex(' ')} at offset {pos} cannot be decoded as {enc} ({hint})",
                         row=line, rule=f"text encoding {enc}") from None
    if "\r" in text and "\n" not in text:  # CR alone ends lines (old Mac exports)
        text = text.replace("\r", "\n")
    return text


def _refuse_utf8_read_as_single_byte(path: Path, data: bytes, start: int, enc: str) -> None:
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
                     f"{enc}; save it as {enc} or set its encoding to utf-8 in the config", row=line,
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


def read_header(path: str | Path, *, encoding: str = "utf-8") -> list[str]:
    """Column names of a CSV file (first non-blank record)."""
    return _header_of(decode_file(path, encoding))


def _record_start_lines(text: str) -> tuple[list[int], list[bool]]:
    """Start line (1-based) of every record after the header, and whether the record is blank.

    Exact for quoted fields with line breaks; used only when the fast count says lines != records.
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    starts, blank = [], []
    prev_end = 0
    header_seen = False
    for record in reader:
        start = prev_end + 1
        prev_end = reader.line_num
        if not header_seen:
            if record and any(f.strip() for f in record):
                header_seen = True
            continue
        starts.append(start)
        blank.append(len(record) == 0)
    return starts, blank


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
    last_line = body.rsplit("\n", 1)[-1]
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


def _first_ragged_row(text: str, n_header: int) -> tuple[int | None, int]:
    reader = csv.reader(io.StringIO(text, newline=""))
    prev_end = 0
    header_seen = False
    for record in reader:
        start = prev_end + 1
        prev_end = reader.line_num
        if not header_seen:
            header_seen = bool(record)
            continue
        if len(record) > n_header:
            return start, len(record)
    return None, 0


def read_text_csv(path: str | Path, *, encoding: str = "utf-8", columns: Iterable[str] | None = None,
                  separator: str = ",", require: Iterable[str] | None = None,
                  what: str = "input file") -> pl.DataFrame:
    """Read a CSV file with every column as text, plus ``source_row`` (line of the record; header = 1).

    ``columns`` restricts the columns returned (faster on wide files); names not in the file are ignored.
    ``require`` names columns that must be in the header: if any is missing, :func:`require_columns` stops
    with one error listing them all, with close matches from the whole header (``what`` names the file's
    kind in the message). Empty files, files with only a header, duplicate column names and rows with more
    fields than the header raise :class:`InputError`.
    """
    path = Path(path)
    text = decode_file(path, encoding)
    header = _header_of(text)
    if not header:
        raise InputError(path, "the file is empty (no header row)", row=1, rule="a CSV file with a header row")
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
    # Blank lines before the header would confuse polars; drop them (keeping line numbers).
    lead_lines, pos = 0, 0
    while True:
        nl = text.find("\n", pos)
        if nl < 0 or text[pos:nl].strip():
            break
        pos, lead_lines = nl + 1, lead_lines + 1
    body = text[pos:] if pos else text  # (no copy of the file when nothing comes before the header)
    drop_after = []
    if wanted is not None and not wanted:  # none of the asked-for columns: read one, return none
        wanted, drop_after = [header[0]], [header[0]]
    try:
        # every column is read, then the wanted ones kept: reading only some, polars does not notice a
        # record with more fields than the header (a misaligned row, e.g. an unquoted comma in a name)
        df = pl.read_csv(io.BytesIO(body.encode("utf-8")), infer_schema=False, has_header=True,
                         separator=separator, empty_string_is_null=True, raise_if_empty=False)
        if wanted is not None:
            df = df.select(wanted)
    except pl.exceptions.ComputeError as exc:
        row, n = _first_ragged_row(text, len(header))
        if row is not None:
            raise InputError(path, f"the record has {n} fields but the header has {len(header)}", row=row,
                             rule="every row has the header's number of fields") from None
        row, why = _first_bad_quote(text)
        if row is not None:
            hint = (": a quote opened and never closed swallows the lines after it"
                    if "end of data" in why else "")
            raise InputError(path, f"broken quoting in the record starting here ({why}){hint}", row=row,
                             rule="a field that starts with a quote ends with one") from None
        raise InputError(path, f"cannot be read as CSV: {str(exc).splitlines()[0]}",
                         rule="comma-separated text with a header row") from None
    if df.height == 0:
        raise InputError(path, "the file has a header but no data rows", row=2,
                         rule="at least one data row")
    _refuse_truncated(path, body, len(header), lead_lines)
    # Blank cells: polars gives "" for a quoted empty field; make every blank a null.
    df = df.with_columns(pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c)
                         for c in df.columns)
    # Line numbers. Fast path: one physical line per record (no quoted line breaks, no blank lines).
    n_lines = body.count("\n") + (0 if body.endswith("\n") else 1)
    has_blank_line = "\n\n" in body or "\n\r\n" in body
    if not has_blank_line and n_lines == df.height + 1:
        rows = pl.int_range(2, df.height + 2, eager=True).alias("source_row") + lead_lines
        df = df.with_columns(rows.cast(pl.Int64).alias("source_row"))
    else:
        starts, blank = _record_start_lines(body)
        if len(starts) == df.height:
            df = df.with_columns(pl.Series("source_row", [s + lead_lines for s in starts], dtype=pl.Int64),
                                 pl.Series("__blank", blank, dtype=pl.Boolean))
        else:  # polars and the csv module disagree on records (unusual quoting): fall back to order
            all_null = pl.all_horizontal([pl.col(c).is_null() for c in df.columns]) if df.width else pl.lit(False)
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
                    what: str) -> None:
    """Stop with one :class:`InputError` listing every required column missing from ``df``.

    ``df`` may be a frame or a list of column names. Each missing name comes with close matches from the
    file's header (a renamed or re-cased column is the usual cause).
    """
    have = list(df.columns) if isinstance(df, pl.DataFrame) else list(df)
    have_set = set(have)
    missing = [c for c in dict.fromkeys(required) if c not in have_set]
    if not missing:
        return
    parts = []
    for m in missing:
        near = close_matches(m, have)
        parts.append(f"{m!r}" + (f" (did you mean {', '.join(map(repr, near))}?)" if near else ""))
    noun = "column" if len(missing) == 1 else "columns"
    data_cols = [c for c in have if c != "source_row"]
    seps = [name for sep, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "bars")) if len(data_cols) == 1
            and sep in data_cols[0]]
    if seps:
        parts.append(f"the header is one column: the file seems to be separated by {seps[0]}, not commas")
    raise InputError(path, f"{what}: required {noun} missing: {'; '.join(parts)}", row=1,
                     column=missing[0], rule=f"the {what} must have columns {', '.join(missing)}")
