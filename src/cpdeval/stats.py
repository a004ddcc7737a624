"""Small statistics shared by the analysis modules: Wilson intervals, competition ranks, count checks.

Only :mod:`math` and :mod:`fractions` at import time (scipy.stats costs 1.6 s to import and none of this
needs it); polars is imported inside the functions that build expressions.

* :func:`wilson_interval` / :func:`wilson_exprs`: the Wilson score interval for a proportion k/n
  (Wilson 1927; Newcombe 1998, method 3), without continuity correction. It stays inside [0, 1], is
  sensible at k = 0 and k = n, and has close to nominal coverage for small n, unlike the Wald interval.
* :func:`competition_rank`, :func:`ordinal`, :func:`rank_labels`: "1224" (standard competition, "min")
  ranking, with ties written "4th=" as seed 002, Table 8 does.
* :func:`counts_giving`: which whole counts k of n give a published percentage under the house rounding
  rule (half away from zero), to test whether a published figure can have arisen from its stated base.
"""

from __future__ import annotations

import math
from fractions import Fraction
from numbers import Real
from typing import TYPE_CHECKING, Iterable, Sequence

if TYPE_CHECKING:  # polars is imported lazily
    import polars as pl

__all__ = ["Z95", "wilson_interval", "wilson_exprs", "competition_rank", "ordinal", "rank_labels",
           "rank_label_expr", "counts_giving", "rounds_to"]

#: Two-sided 95% normal quantile, as published tables use it.
Z95 = 1.96


def _check_kn(k, n) -> None:
    for name, v in (("k", k), ("n", n)):
        if isinstance(v, bool) or not isinstance(v, Real) or v != int(v):
            raise ValueError(f"wilson_interval needs whole counts; got {name}={v!r}")
    if n < 0 or k < 0 or k > n:
        raise ValueError(f"wilson_interval needs 0 <= k <= n; got k={k!r}, n={n!r}")


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for the proportion ``k / n``, as (lower, upper) proportions in [0, 1].

    ``z`` is the normal quantile (1.96 for 95%).  With ``n == 0`` there is no estimate and both bounds
    are NaN.  The bounds are exactly 0 when ``k == 0`` and exactly 1 when ``k == n``.

    >>> lo, hi = wilson_interval(81, 263)          # Newcombe (1998), Table I: 0.2553 to 0.3662
    >>> round(lo, 4), round(hi, 4)
    (0.2553, 0.3662)
    >>> wilson_interval(0, 20)[0], round(wilson_interval(0, 20)[1], 4)
    (0.0, 0.1611)
    """
    _check_kn(k, n)
    if z <= 0 or not math.isfinite(z):
        raise ValueError(f"z must be a positive number, got {z!r}")
    if n == 0:
        return (math.nan, math.nan)
    p = k / n
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    lo = 0.0 if k == 0 else min(max(centre - half, 0.0), 1.0)
    hi = 1.0 if k == n else min(max(centre + half, 0.0), 1.0)
    return (lo, hi)


def wilson_exprs(k: "str | pl.Expr", n: "str | pl.Expr", z: float = Z95, *, scale: float = 1.0
                 ) -> tuple["pl.Expr", "pl.Expr"]:
    """Vectorised :func:`wilson_interval`: (lower, upper) polars expressions.

    ``scale=100`` gives percentages.  Rows with ``n == 0`` (or null) get null bounds.
    """
    import polars as pl

    ke = (pl.col(k) if isinstance(k, str) else k).cast(pl.Float64)
    ne = (pl.col(n) if isinstance(n, str) else n).cast(pl.Float64)
    z2 = z * z
    p = ke / ne
    denom = 1 + z2 / ne
    centre = (p + z2 / (2 * ne)) / denom
    half = z * ((p * (1 - p) / ne + z2 / (4 * ne * ne)).sqrt()) / denom
    ok = ne > 0
    lo = (pl.when(~ok).then(None).when(ke == 0).then(0.0)
          .otherwise((centre - half).clip(0.0, 1.0)) * scale)
    hi = (pl.when(~ok).then(None).when(ke == ne).then(1.0)
          .otherwise((centre + half).clip(0.0, 1.0)) * scale)
    return lo, hi


# --------------------------------------------------------------------------- ranking

def competition_rank(values: Sequence[float | None], *, descending: bool = True) -> list[int | None]:
    """Standard competition ("1224", pandas' ``method="min"``) ranks; ``None``/NaN get ``None``.

    >>> competition_rank([68, 66, 65, 60, 60, 59, 56])
    [1, 2, 3, 4, 4, 6, 7]
    """
    def missing(v):
        return v is None or (isinstance(v, float) and math.isnan(v))

    present = [v for v in values if not missing(v)]
    out: list[int | None] = []
    for v in values:
        if missing(v):
            out.append(None)
        else:
            better = sum(1 for w in present if (w > v if descending else w < v))
            out.append(better + 1)
    return out


def ordinal(n: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``4th``, ``11th``, ``12th``, ``13th``, ``21st``, ``102nd``."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"ordinal needs a non-negative int, got {n!r}")
    if 10 <= n % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def rank_labels(ranks: Iterable[int | None]) -> list[str | None]:
    """Labels of competition ranks, tied ranks marked "=" on every tied item: ``4th=``, ``4th=``, ``6th``.

    (Seed 002, Table 8 prints the first of a tie as "4th=" and the second as "4th"; this helper marks
    both, which is the usual convention and the one the pipeline publishes.)
    """
    ranks = list(ranks)
    counts: dict[int, int] = {}
    for r in ranks:
        if r is not None:
            counts[r] = counts.get(r, 0) + 1
    return [None if r is None else ordinal(r) + ("=" if counts[r] > 1 else "") for r in ranks]


def rank_label_expr(rank: "str | pl.Expr", over: Sequence[str]) -> "pl.Expr":
    """Polars expression: the :func:`rank_labels` text of an integer competition-rank column."""
    import polars as pl

    r = pl.col(rank) if isinstance(rank, str) else rank
    mod100 = r % 100
    mod10 = r % 10
    suffix = (pl.when((mod100 >= 10) & (mod100 <= 20)).then(pl.lit("th"))
              .when(mod10 == 1).then(pl.lit("st"))
              .when(mod10 == 2).then(pl.lit("nd"))
              .when(mod10 == 3).then(pl.lit("rd"))
              .otherwise(pl.lit("th")))
    tied = pl.len().over([*over, r]) > 1 if over else pl.len().over(r) > 1
    text = r.cast(pl.Utf8) + suffix + pl.when(tied).then(pl.lit("=")).otherwise(pl.lit(""))
    out = pl.when(r.is_null()).then(None).otherwise(text)
    return out.alias(rank) if isinstance(rank, str) else out


# --------------------------------------------------------------------------- published figures

def _half_away(x: Fraction, ndigits: int) -> Fraction:
    """Exact rounding half away from zero of a rational number to ``ndigits`` places."""
    scale = Fraction(10) ** ndigits
    y = abs(x) * scale
    r = math.floor(y + Fraction(1, 2))
    return Fraction(r if x >= 0 else -r) / scale


def rounds_to(k: int, n: int, pct: float | int | str, ndigits: int = 0) -> bool:
    """Whether ``100 k / n`` rounds (half away from zero, exactly) to the published ``pct``."""
    if n <= 0:
        raise ValueError(f"rounds_to needs a positive base, got n={n!r}")
    target = Fraction(str(pct))
    return _half_away(Fraction(100 * k, n), ndigits) == target


def counts_giving(pct: float | int | str, n: int, ndigits: int = 0) -> list[int]:
    """Every whole count ``k`` in 0..n whose percentage of ``n`` rounds to the published ``pct``.

    Rounding is half away from zero on the exact value (the house rule, :mod:`cpdeval.display`), so an
    empty list means the figure cannot have arisen from ``n`` with that rule.

    >>> counts_giving(93, 95)        # seed 000, Fig 4: 88/95 = 92.6%
    [88]
    >>> counts_giving(95, 45)        # seed 000, Fig 10: 42/45 = 93.3%, 43/45 = 95.6%
    []
    """
    if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
        raise ValueError(f"counts_giving needs a positive whole base, got n={n!r}")
    target = Fraction(str(pct))
    # a count that rounds to pct lies within n/100 (half a point either side) of pct * n / 100
    centre = int(target * n / 100)
    width = n // 100 + 2
    lo, hi = max(0, centre - width), min(n, centre + width)
    return [k for k in range(lo, hi + 1) if _half_away(Fraction(100 * k, n), ndigits) == target]


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjustment of a family of p-values (missing ones stay missing and do not count).

    Sorted ascending, the i-th smallest of m becomes max over j <= i of min(1, (m - j + 1) p_(j)); the
    family-wise error rate is then controlled at the nominal level without assuming independence.
    ``holm([0.01, 0.04, 0.03]) == [0.03, 0.06, 0.06]``.
    """
    present = [(p, i) for i, p in enumerate(p_values) if p is not None and p == p]
    m = len(present)
    out: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(sorted(present)):
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out
