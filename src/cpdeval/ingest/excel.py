"""Excel workbooks (.xlsx) read like CSV exports: every column as text, with the sheet's own row numbers.

Booking and survey exports often arrive as workbooks. :func:`read_excel_text` gives the same frame as
:func:`cpdeval.ingest.csvread.read_text_csv` (all ``pl.Utf8`` plus ``source_row``, the Excel row number), so
the contracts, quarantine and reconciliation treat a workbook exactly like its CSV. It reads the first sheet
unless one is named, finds the header row below any title lines (the first row holding every required column,
else the first row as wide as the table), and gives dates and numbers as the text Excel would export
(``2018-04-02 00:00:00``, ``106676``, ``1.5``), which the contract layer reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import polars as pl

from ..errors import InputError

#: The first bytes of each kind of file that is not a text export (what to tell the analyst).
SIGNATURES = {
    b"PK\x03\x04": "zip",                    # .xlsx (a zip of XML parts) or a plain zip
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1": "xls",  # the old binary Excel format (and .doc)
    b"\x1f\x8b": "gzip",
    b"%PDF": "pdf",
}


def sniff(path: str | Path) -> str:
    """'xlsx', 'xls', 'gzip', 'zip', 'pdf' or 'text', from the file's first bytes."""
    with Path(path).open("rb") as fh:
        head = fh.read(4096)
    for magic, kind in SIGNATURES.items():
        if head.startswith(magic):
            if kind == "zip":
                with Path(path).open("rb") as fh:
                    return "xlsx" if b"xl/" in fh.read(1 << 16) else "zip"
            return kind
    return "text"   # (a NUL byte in text is quarantined or named by the CSV reader, with its row)


NOT_TEXT = {
    "xls": "an Excel 97-2003 workbook (.xls), which cannot be read directly: open it in Excel and save it as "
           "'Excel Workbook (.xlsx)' or 'CSV UTF-8'",
    "gzip": "gzip-compressed: decompress it first (gunzip, or 7-Zip on Windows) and point the config at the "
            "file inside",
    "zip": "a zip archive: extract the export from it and point the config at that file",
    "pdf": "a PDF document, not a data export: ask for the CSV or Excel export",
}


def refuse_if_not_text(path: str | Path, kind: str) -> None:
    if kind in NOT_TEXT:
        raise InputError(path, f"the file is {NOT_TEXT[kind]}", rule="a CSV text export or an .xlsx workbook")


def _header_row(rows: pl.DataFrame, require: list[str]) -> int:
    """Index of the header row: the first holding every required name, else the first as wide as the widest
    of the first rows (title lines above a table have one or two cells)."""
    head = rows.head(50)
    cells = [[v for v in r if v is not None and str(v).strip()] for r in head.iter_rows()]
    if require:
        for i, values in enumerate(cells):
            if set(require) <= {str(v).strip() for v in values}:
                return i
    widest = max((len(c) for c in cells), default=0)
    return next((i for i, c in enumerate(cells) if widest and len(c) >= max(2, widest * 0.6)), 0)


def read_excel_text(path: str | Path, *, sheet: str | int | None = None, columns: Iterable[str] | None = None,
                    require: Iterable[str] | None = None, what: str = "input file") -> pl.DataFrame:
    """A workbook sheet as an all-text frame with ``source_row`` (the Excel row number)."""
    import fastexcel

    from .csvread import require_columns

    path = Path(path)
    try:
        book = fastexcel.read_excel(str(path))
    except Exception as exc:   # fastexcel raises its own error types for damaged workbooks
        raise InputError(path, f"the workbook cannot be opened ({str(exc).splitlines()[0]}): save it again "
                         "from Excel, or export the sheet as 'CSV UTF-8'", rule="a readable .xlsx workbook") from None
    names = list(book.sheet_names)
    chosen = names[0] if sheet is None else sheet
    if (isinstance(chosen, int) and not 0 <= chosen < len(names)) or (isinstance(chosen, str) and chosen not in names):
        raise InputError(path, f"the workbook has no sheet {chosen!r} (its sheets: {', '.join(names)})",
                         rule="the configured sheet exists")
    grid = book.load_sheet(chosen, header_row=None, skip_rows=0, dtypes="string").to_polars()
    if grid.height == 0:
        raise InputError(path, f"sheet {chosen!r} is empty (no header row)", row=1, rule="a sheet with a header row")
    required = list(require or [])
    h = _header_row(grid, required)
    header = [("" if v is None else str(v).strip()) for v in grid.row(h)]
    while header and not header[-1]:
        header.pop()
    if require is not None:
        require_columns([c for c in header if c], required, path, what)
    dupes = sorted({c for c in header if c and header.count(c) > 1})
    if dupes:
        raise InputError(path, f"the header repeats column name(s) {', '.join(map(repr, dupes))}", row=h + 1,
                         rule="column names must be unique")
    body = grid.slice(h + 1).select(grid.columns[:len(header)])
    body = body.rename({old: (new or f"(column {i + 1})") for i, (old, new) in enumerate(zip(body.columns, header))})
    blank = pl.all_horizontal([pl.col(c).is_null() | (pl.col(c).str.strip_chars() == "") for c in body.columns])
    body = (body.with_columns(pl.int_range(h + 2, h + 2 + body.height, dtype=pl.Int64).alias("source_row"))
            .filter(~blank)
            .with_columns(pl.when(pl.col(c).str.strip_chars() == "").then(None).otherwise(pl.col(c)).alias(c)
                          for c in body.columns))
    if body.height == 0:
        raise InputError(path, "the sheet has a header but no data rows", row=h + 2, rule="at least one data row")
    if columns is not None:
        body = body.select([c for c in dict.fromkeys(columns) if c in body.columns] + ["source_row"])
    return body
