"""Performance tables through their contract: the long attainment table, quarantine and reconciliation.

:mod:`cpdeval.ingest.performance` reads the published files; this module accounts for every published row.
Rows that are not school records by design (local-authority and national totals) are *set aside* with
their reason; school rows that cannot be used (no URN, a URN that is not a number, a URN repeated in one
file) are quarantined with the reason; the rest are validated against ``schemas/attainment.yaml``.
A published number that cannot be true (a percentage outside 0-100, a negative count of pupils)
quarantines its school row too, naming the published column.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ..contracts import IngestResult, Reconciliation, concat_quarantine, empty_quarantine, load_contract, validate
from .csvread import read_header, read_text_csv
from .performance import load_measure_map, read_performance_tables

SET_ASIDE_PREFIX = "not a school record"


def impossible_values(long: pl.DataFrame, table: str) -> pl.DataFrame:
    """Quarantine rows for numbers no measure of their kind can take (percentages outside 0-100,
    negative counts); the column named is the published one."""
    value = pl.col("value")
    rule = (pl.when((pl.col("kind") == "percent") & ((value < 0) | (value > 100)))
            .then(pl.lit("impossible value: a percentage outside 0-100"))
            .when((pl.col("kind") == "count") & (value < 0)).then(pl.lit("impossible value: a negative count")))
    bad = long.with_columns(rule.alias("__rule")).filter(pl.col("__rule").is_not_null())
    return bad.select(
        pl.lit(table).alias("table"), pl.col("source_file"), pl.col("source_row").cast(pl.Int64),
        pl.col("source_column").alias("column"), pl.col("__rule").alias("rule"),
        pl.col("raw_value").alias("value"), (pl.lit("measure ") + pl.col("measure")).alias("detail"))


def count_rows(path: str) -> int:
    """Data rows in a CSV file, counted independently of the reader (first column only)."""
    first = read_header(path)[:1]
    return read_text_csv(path, columns=first).height


def ingest_attainment(paths_by_year: dict[str, str], key_stage: str,
                      measures_path: str | Path | None = None) -> IngestResult:
    measure_map = load_measure_map(measures_path)
    long, dropped = read_performance_tables(paths_by_year, key_stage, measure_map)
    contract = load_contract("attainment")
    aside = dropped.filter(pl.col("reason").str.starts_with(SET_ASIDE_PREFIX))
    unusable = dropped.filter(~pl.col("reason").str.starts_with(SET_ASIDE_PREFIX))
    pre_q = unusable.select(
        pl.lit(contract.name).alias("table"), pl.col("source_file"), pl.col("source_row").cast(pl.Int64),
        pl.lit("URN").alias("column"),
        pl.col("reason").str.split(":").list.first().alias("rule"),
        pl.col("urn").cast(pl.Utf8).alias("value"),
        pl.col("reason").str.splitn(":", 2).struct.field("field_1").str.strip_chars().alias("detail"),
    ) if unusable.height else empty_quarantine()
    pre_q = concat_quarantine([pre_q, impossible_values(long, contract.name)])
    accepted, quarantine = validate(long, contract, pre_quarantine=pre_q)
    recs = []
    files = {str(p) for p in paths_by_year.values()}
    for f in sorted(files):
        school_rows = long.filter(pl.col("source_file") == f).select(pl.col("source_row").n_unique()).item()
        n_aside = aside.filter(pl.col("source_file") == f).height
        n_unusable = unusable.filter(pl.col("source_file") == f).height
        acc = accepted.filter(pl.col("source_file") == f).select(pl.col("source_row").n_unique()).item()
        q = quarantine.filter(pl.col("source_file") == f).select(pl.col("source_row").n_unique()).item()
        rows_in = count_rows(f)
        if rows_in != school_rows + n_aside + n_unusable:
            raise RuntimeError(f"{f}: {rows_in} rows in the file but the reader accounted for "
                               f"{school_rows + n_aside + n_unusable}")
        recs.append(Reconciliation(
            table=f"attainment_{key_stage}", source_file=f, rows_in=rows_in,
            rows_accepted=acc, rows_quarantined=q, rows_set_aside=n_aside,
            set_aside_reason="local-authority and national total rows (RECTYPE not a school)" if n_aside else "",
        ))
    result = IngestResult(accepted, quarantine, recs)
    result.check_balanced()
    return result
