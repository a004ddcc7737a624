"""Financial years, academic years and terms: derived in one place, from the config's ``years`` section.

Delivery is reported by financial year (April-March by default), attainment by academic year
(September-August), and terms are autumn (from September), spring (from January) and summer (from April)
unless the config says otherwise.
"""

from __future__ import annotations

from types import MappingProxyType

import polars as pl

from .config import schema_default

#: The first month of the financial year and of each term when the config does not say (the config schema's
#: defaults: April, the UK government's year; autumn from September, spring January, summer April).
FY_START_MONTH: int = schema_default("years.financial_year_start_month")
TERMS = MappingProxyType(schema_default("years.terms"))


def with_date_columns(df: pl.DataFrame, date_col: str, *exprs: pl.Expr) -> pl.DataFrame:
    """``df.with_columns(*exprs)`` for expressions of ``date_col`` alone (such as :func:`financial_year_expr`),
    each computed once per distinct date and joined back in row order (a column of the same name is replaced,
    as ``with_columns`` replaces it).

    A table of bookings repeats a few hundred dates a year, so this is several times faster than evaluating the
    expressions on every row (national linked bookings, 755,630 rows: financial year 0.10 -> 0.02 s)."""
    dates = df.select(date_col).unique().with_columns(*exprs)
    added = [c for c in dates.columns if c != date_col]
    values = df.select(date_col).join(dates, on=date_col, how="left", maintain_order="left")
    return df.with_columns(values.get_column(c) for c in added)


def _year_label(start: pl.Expr) -> pl.Expr:
    return start.cast(pl.Utf8) + pl.lit("-") + ((start + 1) % 100).cast(pl.Utf8).str.zfill(2)


def financial_year_expr(date_col: str, start_month: int = FY_START_MONTH) -> pl.Expr:
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
    terms = terms or TERMS
    month = pl.col(date_col).dt.month()
    ordered = sorted(terms.items(), key=lambda kv: kv[1])  # by first month within the calendar year
    # months before the first term's start belong to the last term of the previous calendar year
    expr = pl.lit(ordered[-1][0])
    for name, first_month in ordered:
        expr = pl.when(month >= first_month).then(pl.lit(name)).otherwise(expr)
    return expr


# -- year labels, financial-year windows and term order (used by the engagement model) ---------------------

def year_label(start: int) -> str:
    """``2018`` -> ``"2018-19"`` (financial or academic year starting in calendar year ``start``)."""
    return f"{start}-{(start + 1) % 100:02d}"


def label_start(label: str) -> int:
    """``"2018-19"`` -> 2018."""
    return int(str(label)[:4])


def financial_year_bounds(label: str, start_month: int = FY_START_MONTH):
    """First and last day of a financial year: ``("2015-16", 4)`` -> (2015-04-01, 2016-03-31)."""
    import datetime as dt

    start = dt.date(label_start(label), start_month, 1)
    return start, dt.date(start.year + 1, start_month, 1) - dt.timedelta(days=1)


def last_years(label: str, n: int) -> list[str]:
    """The ``n`` year labels ending with ``label``, oldest first: ``("2018-19", 3)`` -> 2016-17 .. 2018-19."""
    s = label_start(label)
    return [year_label(y) for y in range(s - n + 1, s + 1)]


def term_of_month(month: int, terms: dict[str, int] | None = None) -> str:
    """Term a calendar month falls in (the scalar form of :func:`term_expr`)."""
    terms = terms or TERMS
    ordered = sorted(terms.items(), key=lambda kv: kv[1])
    name = ordered[-1][0]
    for term, first_month in ordered:
        if month >= first_month:
            name = term
    return name


def terms_in_year(terms: dict[str, int] | None = None, start_month: int = FY_START_MONTH) -> list[str]:
    """Terms in the order they occur within a year starting in ``start_month``.

    With the default terms and April-March financial years: ``["summer", "autumn", "spring"]`` (summer
    term 2013, autumn term 2013 and spring term 2014 make up 2013-14).
    """
    out: list[str] = []
    for k in range(12):
        t = term_of_month((start_month - 1 + k) % 12 + 1, terms)
        if t not in out:
            out.append(t)
    return out


def term_index_expr(date_col: str, terms: dict[str, int] | None = None, start_month: int = FY_START_MONTH) -> pl.Expr:
    """Position (1, 2, 3 ...) of a date's term within its financial year (order of :func:`terms_in_year`)."""
    order = terms_in_year(terms, start_month)
    expr = pl.lit(None, dtype=pl.Int32)
    t = term_expr(date_col, terms)
    for i, name in enumerate(order, start=1):
        expr = pl.when(t == name).then(pl.lit(i, dtype=pl.Int32)).otherwise(expr)
    return expr


def term_label_expr(date_col: str, terms: dict[str, int] | None = None) -> pl.Expr:
    """Term and the calendar year it starts in, e.g. ``"autumn 2013"``, ``"spring 2014"``, ``"summer 2013"``.

    A date in a month before its term's first month (a term that runs over the new year) belongs to the
    term that started the previous calendar year.
    """
    terms = terms or TERMS
    d = pl.col(date_col)
    t = term_expr(date_col, terms)
    first = pl.lit(None, dtype=pl.Int32)
    for name, m in terms.items():
        first = pl.when(t == name).then(pl.lit(m, dtype=pl.Int32)).otherwise(first)
    year = pl.when(d.dt.month() >= first).then(d.dt.year()).otherwise(d.dt.year() - 1)
    return t + pl.lit(" ") + year.cast(pl.Utf8)


def term_label(year: str, term: str, terms: dict[str, int] | None = None, start_month: int = FY_START_MONTH) -> str:
    """Label of a term of a financial year: ``("2013-14", "spring")`` -> ``"spring 2014"``.

    The term's calendar year is the year's first calendar year when the term starts on or after the
    year's first month, else the next one.
    """
    terms = terms or TERMS
    start = label_start(year)
    return f"{term} {start if terms[term] >= start_month else start + 1}"
