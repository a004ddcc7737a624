"""Reading booking exports onto the ``bookings`` contract."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from ..calendar import FY_START_MONTH
from ..contracts import IngestResult, concat_quarantine, ingest_generic_csv, load_contract
from ..pseudonymise import pseudonymise_column


def booking_date_checks(file_years: Mapping[str, str | None] | None, delivery_years: Sequence[str] | None,
                        start_month: int = FY_START_MONTH):
    """Quarantine rules on each booking's date that the contract cannot state alone:

    * a booking in an export made for one financial year (a ``{fy}`` template) must be dated in that year
      (US dates read day-first, or an export of the wrong year, land here instead of in another year);
    * any other booking must be dated within the configured delivery years (a booking of 2031 or 2012 would
      otherwise be accepted, then left out of every table while the reconciliation said all was well).
    """
    from ..calendar import financial_year_bounds

    file_years = dict(file_years or {})
    years = list(delivery_years or [])
    if not years and not any(file_years.values()):
        return None
    span = (financial_year_bounds(min(years), start_month)[0], financial_year_bounds(max(years), start_month)[1]) \
        if years else None

    def check(df: pl.DataFrame) -> pl.DataFrame:
        parts = []
        for path, fy in file_years.items():
            lo, hi = financial_year_bounds(fy, start_month) if fy else span or (None, None)
            if lo is None:
                continue
            rule = (f"date outside the financial year of its export ({fy}: {lo:%d/%m/%Y} to {hi:%d/%m/%Y})" if fy
                    else f"date outside the delivery years ({min(years)} to {max(years)})")
            bad = df.filter((pl.col("source_file") == str(path)) & pl.col("start_date").is_not_null()
                            & ~pl.col("start_date").is_between(lo, hi))
            parts.append(bad.select(pl.lit("bookings").alias("table"), pl.col("source_file"),
                                    pl.col("source_row").cast(pl.Int64), pl.lit("start_date").alias("column"),
                                    pl.lit(rule).alias("rule"),
                                    pl.col("start_date").dt.strftime("%d/%m/%Y").alias("value")))
        return concat_quarantine(parts)

    return check


def read_bookings(paths: list[str], hash_key: bytes, *, file_years: Mapping[str, str | None] | None = None,
                  delivery_years: Sequence[str] | None = None, start_month: int = FY_START_MONTH,
                  sheets: dict | None = None) -> IngestResult:
    """Read, pseudonymise and validate one or more booking exports.

    Contact names and emails are never read into the result; the CRM contact id becomes a keyed hash.
    ``file_years`` (export -> the financial year it is for, or None) and ``delivery_years`` turn on the date
    checks of :func:`booking_date_checks`; without them every export is checked against nothing but its
    contract (``cpdeval validate`` on a single file).
    """
    contract = load_contract("bookings")
    if file_years is None and delivery_years:
        file_years = {str(p): None for p in paths}
    return ingest_generic_csv(paths, contract,
                              transform=lambda df: pseudonymise_column(df, "participant_id", hash_key),
                              row_checks=booking_date_checks(file_years, delivery_years, start_month),
                              sheets=sheets)


def read_trained_leaders(path: str, hash_key: bytes, sheets: dict | None = None) -> IngestResult:
    """Read the list of staff trained to lead CPD, hashing contact ids with the bookings' key."""
    contract = load_contract("trained_leaders")
    return ingest_generic_csv([path], contract, sheets=sheets,
                              transform=lambda df: pseudonymise_column(df, "participant_id", hash_key))
