"""Financial years, academic years and terms: derived in one place, from the config's ``years`` section.

Delivery is reported by financial year (April-March by default), attainment by academic year
(September-August), and terms are autumn (from September), spring (from January) and summer (from April)
unless the config says otherwise.
"""

from __future__ import annotations

import polars as pl


def _year_label(start: pl.Expr) -> pl.Expr:
    return start.cast(pl.Utf8) + pl.lit("-") + ((start + 1) % 100).cast(pl.Utf8).str.zfill(2)


def financial_year_expr(date_col: str, start_month: int = 4) -> pl.Expr:
    """Financial year label ("2018-19") of a date column, for years starting in ``start_month``."""
    d = pl.col(date_col)
    start = pl.when(d.dt.month() >= start_month).then(d.dt.year()).otherwise(d.dt.year() - 1)
    return _year_label(start)


def academic_year_expr(date_col: str, start_month: int = 9) -> pl.Expr:
    """Academic year label ("2018-19") of a date column (September-August by default)."""
    return financial_year_expr(date_col, start_month)


def term_expr(date_col: str, terms: dict[str, int] | None = None) -> pl.Expr:
    """Term name of a date: the latest term whose first month is on or before the date's month.

    ``terms`` maps term name to its first month, e.g. ``{"autumn": 9, "spring": 1, "summer": 4}``.
    """
    terms = terms or {"autumn": 9, "spring": 1, "summer": 4}
    month = pl.col(date_col).dt.month()
    ordered = sorted(terms.items(), key=lambda kv: kv[1])  # by first month within the calendar year
    # months before the first term's start belong to the last term of the previous calendar year
    expr = pl.lit(ordered[-1][0])
    for name, first_month in ordered:
        expr = pl.when(month >= first_month).then(pl.lit(name)).otherwise(expr)
    return expr
