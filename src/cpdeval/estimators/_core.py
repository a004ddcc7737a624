"""Shared pieces of the estimators: the result record, column checks, design matrices, intervals.

Nothing here imports statsmodels or scipy at module level (together they cost about 1.5 s to import);
the functions that need them import them when called.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import polars as pl

__all__ = ["Estimate", "results_frame", "critical_value"]

#: columns of :meth:`Estimate.as_row` (and of :func:`results_frame`), in order
ROW_FIELDS = ("method", "outcome", "estimate", "std_error", "ci_low", "ci_high", "p_value", "n_treated",
              "n_control", "sd_outcome", "smd", "smd_ci_low", "smd_ci_high", "level", "df", "se_method")


@dataclass(frozen=True)
class Estimate:
    """One effect estimate with its uncertainty, in outcome units and in standardised units.

    ``estimate`` is in the outcome's own units (percentage points for a percentage). ``smd`` is the same
    estimate divided by ``sd_outcome``, the standard deviation of the outcome among the comparison
    (control) units, with its interval ``smd_ci_low``..``smd_ci_high`` (the outcome interval divided by
    the same SD, which is treated as known). ``df`` is the degrees of freedom of the t distribution
    behind the interval and p-value (``inf``: normal). ``diagnostics`` holds estimator-specific extras
    (coefficients, unmatched counts, effective sample sizes, ...); ``weights`` holds, for the
    matching and weighting estimators, one weight per input row (0 for rows not used), which
    :func:`cpdeval.estimators.balance_table` reads.
    """

    method: str
    outcome: str
    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    p_value: float
    n_treated: int
    n_control: int
    sd_outcome: float
    smd: float
    smd_ci_low: float
    smd_ci_high: float
    level: float
    df: float
    se_method: str
    diagnostics: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)
    weights: np.ndarray | None = field(default=None, compare=False, hash=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "diagnostics", MappingProxyType(dict(self.diagnostics)))
        if self.weights is not None:
            w = np.asarray(self.weights, dtype=float)
            w.setflags(write=False)
            object.__setattr__(self, "weights", w)

    def as_row(self) -> dict[str, Any]:
        """The scalar fields as a flat dict (no diagnostics, no weights), for a results table."""
        return {k: getattr(self, k) for k in ROW_FIELDS}

    def covers(self, value: float) -> bool:
        """Whether the interval contains ``value``."""
        return bool(self.ci_low <= value <= self.ci_high)

    def __str__(self) -> str:  # pragma: no cover - convenience
        return (f"{self.method}: {self.estimate:.3f} (SE {self.std_error:.3f}; {self.level:.0%} CI "
                f"{self.ci_low:.3f} to {self.ci_high:.3f}); d = {self.smd:.3f}; "
                f"n = {self.n_treated} treated, {self.n_control} control")


def results_frame(results: Iterable[Estimate]) -> pl.DataFrame:
    """Stack estimates into one tidy table, one row per estimate (columns :data:`ROW_FIELDS`)."""
    rows = [r.as_row() for r in results]
    schema = {"method": pl.Utf8, "outcome": pl.Utf8, "estimate": pl.Float64, "std_error": pl.Float64,
              "ci_low": pl.Float64, "ci_high": pl.Float64, "p_value": pl.Float64, "n_treated": pl.Int64,
              "n_control": pl.Int64, "sd_outcome": pl.Float64, "smd": pl.Float64, "smd_ci_low": pl.Float64,
              "smd_ci_high": pl.Float64, "level": pl.Float64, "df": pl.Float64, "se_method": pl.Utf8}
    return pl.DataFrame(rows, schema=schema, orient="row")


# --------------------------------------------------------------------------- intervals

def critical_value(level: float, df: float = math.inf) -> float:
    """Two-sided critical value: t with ``df`` degrees of freedom, or normal when ``df`` is infinite."""
    _check_level(level)
    from scipy import stats

    q = 1 - (1 - level) / 2
    return float(stats.norm.ppf(q) if not math.isfinite(df) else stats.t.ppf(q, df))


def p_value(z: float, df: float = math.inf) -> float:
    from scipy import stats

    if not math.isfinite(z):
        return 0.0 if abs(z) == math.inf else math.nan
    return float(2 * (stats.norm.sf(abs(z)) if not math.isfinite(df) else stats.t.sf(abs(z), df)))


def _check_level(level: float) -> None:
    if not (isinstance(level, (int, float)) and 0 < level < 1):
        raise ValueError(f"level must be between 0 and 1 (e.g. 0.95); got {level!r}")


def make_estimate(method: str, outcome: str, est: float, se: float, *, df: float, n_treated: int, n_control: int,
                  sd_outcome: float, level: float, se_method: str, diagnostics: Mapping[str, Any] | None = None,
                  weights: np.ndarray | None = None) -> Estimate:
    """Build an :class:`Estimate`: interval, p-value and standardised effect from estimate and SE."""
    crit = critical_value(level, df)
    lo, hi = est - crit * se, est + crit * se
    p = p_value(est / se, df) if se > 0 else math.nan
    sd = float(sd_outcome)
    ok = math.isfinite(sd) and sd > 0
    return Estimate(method=method, outcome=outcome, estimate=float(est), std_error=float(se), ci_low=float(lo),
                    ci_high=float(hi), p_value=float(p), n_treated=int(n_treated), n_control=int(n_control),
                    sd_outcome=sd, smd=float(est / sd) if ok else math.nan,
                    smd_ci_low=float(lo / sd) if ok else math.nan, smd_ci_high=float(hi / sd) if ok else math.nan,
                    level=float(level), df=float(df), se_method=se_method, diagnostics=diagnostics or {},
                    weights=weights)


def with_interval(e: Estimate, lo: float, hi: float, p: float, se_method: str, **diagnostics: Any) -> Estimate:
    """``e`` with its interval and p-value replaced (by a resampling method, say), the standardised interval to
    match; the analytic ones are kept in ``diagnostics['analytic']``."""
    from dataclasses import replace

    sd = e.sd_outcome
    ok = math.isfinite(sd) and sd > 0
    diag = dict(e.diagnostics)
    diag["analytic"] = {"ci_low": e.ci_low, "ci_high": e.ci_high, "p_value": e.p_value, "se_method": e.se_method}
    diag.update(diagnostics)
    return replace(e, ci_low=float(lo), ci_high=float(hi), p_value=float(p), se_method=se_method,
                   smd_ci_low=float(lo / sd) if ok else math.nan, smd_ci_high=float(hi / sd) if ok else math.nan,
                   diagnostics=diag)


# --------------------------------------------------------------------------- columns and rows

def as_frame(df) -> pl.DataFrame:
    if isinstance(df, pl.LazyFrame):
        return df.collect()
    if isinstance(df, pl.DataFrame):
        return df
    raise TypeError(f"expected a polars DataFrame, got {type(df).__name__}")


def require_columns(df: pl.DataFrame, cols: Iterable[str | None], what: str) -> None:
    missing = [c for c in cols if c is not None and c not in df.columns]
    if missing:
        raise ValueError(f"{what}: column(s) {', '.join(map(repr, missing))} not in the table "
                         f"(it has {', '.join(df.columns[:20])}{', ...' if len(df.columns) > 20 else ''})")


def complete_rows(df: pl.DataFrame, cols: Sequence[str]) -> np.ndarray:
    """Boolean mask of rows with no null (and no NaN, for float columns) in ``cols``."""
    if not cols:
        return np.ones(df.height, dtype=bool)
    conds = []
    for c in dict.fromkeys(cols):
        e = pl.col(c).is_not_null()
        if df.schema[c] in (pl.Float32, pl.Float64):
            e = e & pl.col(c).is_not_nan()
        conds.append(e)
    return df.select(pl.all_horizontal(conds)).to_series().to_numpy().astype(bool)


def numeric(series: pl.Series, what: str) -> np.ndarray:
    s = series
    if s.dtype == pl.Boolean:
        s = s.cast(pl.Float64)
    if not s.dtype.is_numeric():
        raise ValueError(f"{what}: column {series.name!r} must be numeric (got {series.dtype})")
    return s.cast(pl.Float64).to_numpy()


def binary(series: pl.Series, what: str) -> np.ndarray:
    """0/1 floats from a boolean or 0/1 column; anything else is an error naming the column."""
    x = numeric(series, what)
    bad = ~np.isin(x, (0.0, 1.0))
    if bad.any():
        vals = sorted(set(np.asarray(x[bad]).tolist()))[:5]
        raise ValueError(f"{what}: treatment column {series.name!r} must be boolean or 0/1; found {vals}")
    return x


def check_groups(t: np.ndarray, what: str, min_each: int = 1) -> tuple[int, int]:
    n1, n0 = int((t == 1).sum()), int((t == 0).sum())
    if n1 < min_each or n0 < min_each:
        raise ValueError(f"{what}: need at least {min_each} treated and {min_each} control rows with complete data; "
                         f"have {n1} treated and {n0} control")
    return n1, n0


def sample_sd(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=float)
    return float(np.std(x, ddof=1)) if x.size > 1 else math.nan


# --------------------------------------------------------------------------- design matrices

def design(frame: pl.DataFrame, numeric_cols: Sequence[str], categorical: Sequence[str], *, what: str,
           intercept: bool = True, leading: Sequence[tuple[str, np.ndarray]] = ()) -> tuple[np.ndarray, list[str]]:
    """Design matrix with patsy-style names: ``Intercept``, leading columns, numerics, ``cat[T.level]`` dummies.

    Categorical levels are the sorted distinct values as text; the first is the reference (as patsy and
    statsmodels formulas do).
    """
    cols: list[np.ndarray] = []
    names: list[str] = []
    n = frame.height
    if intercept:
        cols.append(np.ones(n))
        names.append("Intercept")
    for name, arr in leading:
        cols.append(np.asarray(arr, dtype=float))
        names.append(name)
    for c in numeric_cols:
        cols.append(numeric(frame[c], what))
        names.append(c)
    for c in categorical:
        codes, levels = categories(frame[c])
        for j, lev in enumerate(levels[1:], start=1):
            cols.append((codes == j).astype(float))
            names.append(f"{c}[T.{lev}]")
    X = np.column_stack(cols) if cols else np.empty((n, 0))
    return X, names


def categories(series: pl.Series) -> tuple[np.ndarray, list[str]]:
    """Integer codes and sorted level labels of a column, compared as text."""
    s = series.cast(pl.Utf8)
    vals = np.asarray(s.to_list(), dtype=object)
    levels = sorted(set(vals.tolist()))
    lookup = {v: i for i, v in enumerate(levels)}
    return np.fromiter((lookup[v] for v in vals), dtype=np.int64, count=len(vals)), levels


def cluster_codes(series: pl.Series | None, cluster: str | None) -> tuple[np.ndarray | None, str | None]:
    """Integer cluster codes, or ``None`` with the reason when the errors cannot be clustered.

    A cluster-robust covariance needs at least two clusters (with one, G/(G-1) divides by zero and every
    residual sum is the same cluster's): a year from a single local authority falls back to
    heteroskedasticity-robust (HC1) errors, and the returned sentence says so.
    """
    if cluster is None or series is None:
        return None, None
    codes = categories(series)[0]
    if np.unique(codes).size < 2:
        return None, (f"only one value of {cluster} in the data, so errors cannot be clustered by it: "
                      "heteroskedasticity-robust (HC1) errors instead")
    return codes, None


def _scaled(X: np.ndarray) -> np.ndarray:
    """Columns divided by their largest absolute value, so that the rank does not depend on their units (a
    cubed income in dollars next to a dummy is well posed, but unscaled its singular values span 1e15)."""
    size = np.abs(X).max(axis=0)
    return X / np.where(size > 0, size, 1.0)


def check_rank(X: np.ndarray, names: Sequence[str], what: str) -> None:
    if X.shape[0] <= X.shape[1]:
        raise ValueError(f"{what}: {X.shape[0]} complete rows for {X.shape[1]} parameters; too few to estimate")
    Xs = _scaled(np.asarray(X, dtype=float))
    rank = np.linalg.matrix_rank(Xs)
    if rank < X.shape[1]:
        # name the columns that are linear combinations of earlier ones
        bad, keep = [], []
        for j in range(X.shape[1]):
            if np.linalg.matrix_rank(Xs[:, keep + [j]]) == len(keep) + 1:
                keep.append(j)
            else:
                bad.append(names[j])
        raise ValueError(f"{what}: the design is collinear; drop or merge {', '.join(map(repr, bad))} "
                         "(a level with no rows, a constant column, or a control that repeats another)")


# --------------------------------------------------------------------------- periods

_YEAR = re.compile(r"^\s*(\d{4})(?:\s*[-/]\s*\d{2,4}|\d{2})?\s*$")     # 2016, 2016-17, 2016/2017, 201617
_QUARTER = re.compile(r"^\s*(?:[Qq]([1-4])\s*[-/ ]?\s*(\d{4})|(\d{4})\s*[-/ ]?\s*[Qq]([1-4]))\s*$")


def period_numbers(series: pl.Series, what: str) -> tuple[np.ndarray, str]:
    """Periods as numbers, and their kind (``"number"``, ``"year"`` or ``"quarter"``).

    Numeric columns stay as they are; dates give their year; labels such as ``2016-17`` (an academic or
    financial year) or ``2016`` give the year; quarter labels (``Q42010``, ``2010Q4``, ``2010-Q4``, ``Q4 2010``)
    give a running quarter number, 4 x year + quarter - 1, so consecutive quarters are one apart. Nulls
    become NaN (for a first-treated column: never treated in the panel). A column mixing years and
    quarters, or any other label, is refused with the label named.
    """
    if series.dtype.is_numeric() or series.dtype == pl.Boolean:
        return series.cast(pl.Float64).fill_null(float("nan")).to_numpy(), "number"
    if series.dtype in (pl.Date, pl.Datetime):
        return series.dt.year().cast(pl.Float64).fill_null(float("nan")).to_numpy(), "year"
    out = np.full(series.len(), np.nan)
    kinds: dict[str, str] = {}
    for i, v in enumerate(series.cast(pl.Utf8).to_list()):
        if v is None or v.strip() == "":
            continue
        m = _YEAR.match(v)
        if m:
            out[i] = float(m.group(1))
            kinds.setdefault("year", v)
            continue
        q = _QUARTER.match(v)
        if q:
            quarter, year = (q.group(1), q.group(2)) if q.group(1) else (q.group(4), q.group(3))
            out[i] = 4.0 * int(year) + int(quarter) - 1
            kinds.setdefault("quarter", v)
            continue
        raise ValueError(f"{what}: period {v!r} in column {series.name!r} is not a period this panel can order: "
                         "give a number, a year label ('2016' or '2016-17') or a quarter label ('Q42010' or "
                         "'2010Q4')")
    if len(kinds) > 1:
        raise ValueError(f"{what}: column {series.name!r} mixes years ({kinds['year']!r}) and quarters "
                         f"({kinds['quarter']!r}); give every period in one form")
    return out, next(iter(kinds), "year")


# --------------------------------------------------------------------------- cluster-robust OLS (numpy)

def cluster_ols(X: np.ndarray, y: np.ndarray, groups: np.ndarray, *, k_absorbed: int = 0
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """OLS with a cluster-robust (CR1) covariance: coefficients, covariance, residuals, number of clusters.

    The small-sample factor is G/(G-1) * (N-1)/(N-K), with K the columns of X plus ``k_absorbed``
    (fixed effects partialled out that are *not* nested in the clusters; pass 0 for unit fixed effects
    when clustering by unit, as Stata's ``xtreg, fe`` and ``reghdfe`` do).
    """
    n, k = X.shape
    xtx = X.T @ X
    xtx_inv = np.linalg.inv(xtx)
    beta = xtx_inv @ (X.T @ y)
    u = y - X @ beta
    codes, g_idx = np.unique(groups, return_inverse=True)
    G = len(codes)
    S = X * u[:, None]
    sums = np.empty((G, k))
    for j in range(k):
        sums[:, j] = np.bincount(g_idx, weights=S[:, j], minlength=G)
    meat = sums.T @ sums
    kk = k + k_absorbed
    c = (G / (G - 1)) * ((n - 1) / (n - kk)) if G > 1 and n > kk else math.nan
    V = c * xtx_inv @ meat @ xtx_inv
    return beta, V, u, G


def demean_within(codes: np.ndarray, M: np.ndarray) -> np.ndarray:
    """Subtract group means (by integer ``codes``) from each column of ``M`` (1-D or 2-D)."""
    counts = np.bincount(codes).astype(float)
    if M.ndim == 1:
        return M - (np.bincount(codes, weights=M) / counts)[codes]
    out = np.empty_like(M, dtype=float)
    for j in range(M.shape[1]):
        out[:, j] = M[:, j] - (np.bincount(codes, weights=M[:, j]) / counts)[codes]
    return out
