"""Difference in means, regression adjustment and dose-response (adjusted differences by intensity band)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping, Sequence

import numpy as np
import polars as pl

from ._core import (Estimate, as_frame, binary, check_groups, check_rank, cluster_codes, complete_rows, design,
                    make_estimate, numeric, require_columns, sample_sd)
from .small_sample import DEFAULT_SEED, bootstrap_if_few_clusters

__all__ = ["naive_difference", "regression_adjusted", "dose_response", "DoseResponse"]


# =========================================================================== naive difference

def _weighted_mean_var(y: np.ndarray, w: np.ndarray | None) -> tuple[float, float]:
    """Mean and the variance of that mean, schools as the sampling units.

    Unweighted: mean and s^2/n. Weighted (e.g. by pupils): the ratio mean sum(w*y)/sum(w) and its
    linearisation variance n/(n-1) * sum(w^2 (y - m)^2) / sum(w)^2, which is s^2/n when all weights are equal.
    """
    n = y.size
    if w is None:
        return float(y.mean()), float(y.var(ddof=1) / n) if n > 1 else math.nan
    sw = w.sum()
    m = float((w * y).sum() / sw)
    v = float(n / (n - 1) * (w ** 2 * (y - m) ** 2).sum() / sw ** 2) if n > 1 else math.nan
    return m, v


def naive_difference(df: pl.DataFrame, outcome: str, treated: str, weight: str | None = None, *,
                     cluster: str | None = None, level: float = 0.95, few_clusters: int = 0,
                     bootstrap_draws: int = 9999, seed: int = DEFAULT_SEED) -> Estimate:
    """Unadjusted difference in mean ``outcome`` between treated and control rows.

    Without ``weight`` each school counts once (mean of schools); with ``weight`` (e.g. pupils) the means are
    weighted (pupil-pooled). Without ``cluster`` the standard error treats schools as the sampling units:
    Welch's sqrt(v1 + v0) with each group's variance of the mean (see :func:`_weighted_mean_var`), and the
    interval uses a t distribution with Welch-Satterthwaite degrees of freedom. With ``cluster`` (e.g. the
    local authority: schools in one area share more than the programme) the difference is the coefficient of
    a regression of the outcome on the treatment indicator alone (weighted by ``weight``), which is the same
    number, with CR1 cluster-robust errors and t on G-1 df; below ``few_clusters`` clusters the p-value and
    interval come from the wild cluster bootstrap, as in :func:`regression_adjusted`. Rows with a missing
    outcome, treatment, weight or cluster are left out (counted in ``diagnostics['n_dropped_missing']``).
    """
    df = as_frame(df)
    what = "naive_difference"
    require_columns(df, [outcome, treated, weight, cluster], what)
    keep = complete_rows(df, [c for c in (outcome, treated, weight, cluster) if c is not None])
    sub = df.filter(pl.Series(keep))
    y = numeric(sub[outcome], what)
    t = binary(sub[treated], what)
    n1, n0 = check_groups(t, what, min_each=2)
    w = None
    if weight:
        w = numeric(sub[weight], what)
        if (w < 0).any() or not np.isfinite(w).all():
            raise ValueError(f"{what}: weights in {weight!r} must be finite and non-negative")
    m1, v1 = _weighted_mean_var(y[t == 1], None if w is None else w[t == 1])
    m0, v0 = _weighted_mean_var(y[t == 0], None if w is None else w[t == 0])
    est = m1 - m0
    codes, fallback = cluster_codes(sub[cluster] if cluster else None, cluster)
    diag = {"mean_treated": m1, "mean_control": m0, "weighted": weight is not None, "weight": weight,
            "n_dropped_missing": int((~keep).sum()), "cluster": cluster, "cluster_fallback": fallback,
            "n_clusters": int(np.unique(codes).size) if codes is not None else None}
    label = "naive difference" + (" (weighted)" if weight else "")
    if codes is None:
        se = math.sqrt(v1 + v0)
        dof = (v1 + v0) ** 2 / (v1 ** 2 / (n1 - 1) + v0 ** 2 / (n0 - 1)) if (v1 + v0) > 0 else math.inf
        se_method = ("Welch (schools as units" + (", linearised weighted means)" if weight else ")")
                     + (f" ({fallback})" if fallback else ""))
        return make_estimate(label, outcome, est, se, df=dof, n_treated=n1, n_control=n0,
                             sd_outcome=sample_sd(y[t == 0]), level=level, se_method=se_method, diagnostics=diag)
    X = np.column_stack([np.ones_like(y), t.astype(float)])
    res, dof = _fit(y, X, ["Intercept", treated], codes, w, True)
    e = make_estimate(label, outcome, est, float(res.bse[1]), df=dof, n_treated=n1, n_control=n0,
                      sd_outcome=sample_sd(y[t == 0]), level=level,
                      se_method=f"cluster-robust by {cluster} (CR1), t with G-1 df", diagnostics=diag)
    return bootstrap_if_few_clusters(e, X, y, codes, 1, w, few_clusters, bootstrap_draws, seed, level)


# =========================================================================== regression

def _fit(y, X, names, cluster_codes, w, use_t):
    # the module that defines OLS and WLS, not statsmodels.api (which also loads the formula interface, pandas
    # plotting helpers and datasets): about 0.35 s less at a job's start
    from statsmodels.regression.linear_model import OLS, WLS

    model = WLS(y, X, weights=w) if w is not None else OLS(y, X)
    if cluster_codes is not None:
        res = model.fit(cov_type="cluster", cov_kwds={"groups": cluster_codes}, use_t=use_t)
        df = float(res.df_resid_inference) if use_t else math.inf
    else:
        res = model.fit(cov_type="HC1", use_t=use_t)
        df = float(res.df_resid) if use_t else math.inf
    return res, df


def _prepare(df, outcome, cols_needed, what):
    df = as_frame(df)
    require_columns(df, cols_needed, what)
    keep = complete_rows(df, [c for c in cols_needed if c is not None])
    return df.filter(pl.Series(keep)), keep


def regression_adjusted(df: pl.DataFrame, outcome: str, treated: str, controls: Sequence[str] = (),
                        categorical: Sequence[str] = (), cluster: str | None = None, weight: str | None = None, *,
                        level: float = 0.95, use_t: bool = True, few_clusters: int = 0,
                        bootstrap_draws: int = 9999, seed: int = DEFAULT_SEED) -> Estimate:
    """OLS of ``outcome`` on the treatment indicator, numeric ``controls`` and ``categorical`` dummies.

    The estimate is the treatment coefficient. Standard errors are cluster-robust by ``cluster`` (for
    example the local authority) through statsmodels' ``cov_type="cluster"`` (CR1 small-sample factor
    G/(G-1)*(N-1)/(N-K)); with ``use_t`` the interval uses t with G-1 degrees of freedom. Without
    ``cluster`` the errors are heteroskedasticity-robust (HC1) with t on N-K degrees of freedom. With
    ``weight`` the fit is weighted least squares (e.g. pupil weights). Categorical controls are dummy
    coded with the first sorted level as reference and named as statsmodels formulas name them
    (``region[T.London]``), so ``diagnostics['params']`` and ``['bse']`` line up with a formula fit.
    Rows with any needed value missing are left out and counted.

    With fewer than ``few_clusters`` clusters (and at least two) CR1 intervals are too narrow even on G-1
    degrees of freedom (Cameron and Miller 2015): the p-value and interval then come from the restricted wild
    cluster bootstrap (:func:`cpdeval.estimators.wild_cluster_bootstrap`, ``bootstrap_draws`` draws from
    ``seed``); the analytic ones stay in ``diagnostics['analytic']`` and ``se_method`` says which is which.
    """
    what = "regression_adjusted"
    controls, categorical = list(controls), list(categorical)
    needed = [outcome, treated, *controls, *categorical, cluster, weight]
    sub, keep = _prepare(df, outcome, needed, what)
    y = numeric(sub[outcome], what)
    t = binary(sub[treated], what)
    n1, n0 = check_groups(t, what, min_each=1)
    X, names = design(sub, controls, categorical, what=what, leading=[(treated, t)])
    check_rank(X, names, what)
    codes, fallback = cluster_codes(sub[cluster] if cluster else None, cluster)
    w = numeric(sub[weight], what) if weight else None
    res, dof = _fit(y, X, names, codes, w, use_t)
    j = names.index(treated)
    est, se = float(res.params[j]), float(res.bse[j])
    diag = {"params": dict(zip(names, map(float, res.params))), "bse": dict(zip(names, map(float, res.bse))),
            "r_squared": float(res.rsquared), "n_obs": int(res.nobs), "n_dropped_missing": int((~keep).sum()),
            "n_clusters": int(len(np.unique(codes))) if codes is not None else None, "cluster": cluster,
            "weight": weight, "controls": controls, "categorical": categorical, "cluster_fallback": fallback}
    se_method = (f"cluster-robust by {cluster} (CR1), t with G-1 df" if codes is not None
                 else "HC1 robust" + (f" ({fallback})" if fallback else ""))
    e = make_estimate("regression adjusted" + (" (weighted)" if weight else ""), outcome, est, se, df=dof,
                      n_treated=n1, n_control=n0, sd_outcome=sample_sd(y[t == 0]), level=level,
                      se_method=se_method, diagnostics=diag)
    return bootstrap_if_few_clusters(e, X, y, codes, j, w, few_clusters, bootstrap_draws, seed, level)


# =========================================================================== dose-response

@dataclass(frozen=True)
class DoseResponse:
    """Adjusted differences of each intensity band from the reference band, from one regression.

    ``table`` has one row per band (reference first): band, n, unadjusted mean, adjusted difference from
    the reference with SE, interval and standardised difference. ``joint_p`` tests that every band equals
    the reference; ``equal_p`` tests that the non-reference bands equal each other (does intensity matter
    beyond any use?). Both are Wald tests with the model's cluster-robust covariance (F with G-1
    denominator degrees of freedom when t is used).
    """

    outcome: str
    band: str
    reference_band: str
    estimates: tuple[Estimate, ...]
    table: pl.DataFrame
    joint_p: float
    equal_p: float
    diagnostics: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "diagnostics", MappingProxyType(dict(self.diagnostics)))


def _wald_p(b: np.ndarray, V: np.ndarray, R: np.ndarray, dof: float) -> float:
    from scipy import stats

    if R.shape[0] == 0:
        return math.nan
    r = R @ b
    W = float(r @ np.linalg.solve(R @ V @ R.T, r))
    q = R.shape[0]
    return float(stats.f.sf(W / q, q, dof) if math.isfinite(dof) else stats.chi2.sf(W, q))


def dose_response(df: pl.DataFrame, outcome: str, band: str, controls: Sequence[str] = (),
                  reference_band: Any = None, categorical: Sequence[str] = (), cluster: str | None = None,
                  weight: str | None = None, *, order: Sequence[Any] | None = None, level: float = 0.95,
                  use_t: bool = True, few_clusters: int = 0, bootstrap_draws: int = 9999,
                  seed: int = DEFAULT_SEED) -> DoseResponse:
    """Adjusted differences in ``outcome`` by intensity ``band``, each against ``reference_band``.

    One OLS of the outcome on band dummies (reference left out), numeric ``controls`` and ``categorical``
    dummies; cluster-robust errors as in :func:`regression_adjusted`. ``order`` fixes the order of the
    bands in the output (default: reference first, then the others sorted as text). With fewer than
    ``few_clusters`` clusters each band's p-value and interval come from the wild cluster bootstrap, as in
    :func:`regression_adjusted`; the joint Wald tests stay analytic (F on G-1 denominator df).
    """
    what = "dose_response"
    if reference_band is None:
        raise ValueError(f"{what}: give reference_band (e.g. 'none' for schools that did not use the programme)")
    controls, categorical = list(controls), list(categorical)
    needed = [outcome, band, *controls, *categorical, cluster, weight]
    sub, keep = _prepare(df, outcome, needed, what)
    y = numeric(sub[outcome], what)
    bands = np.asarray(sub[band].cast(pl.Utf8).to_list(), dtype=object)
    ref = str(reference_band)
    present = sorted(set(bands.tolist()))
    if ref not in present:
        raise ValueError(f"{what}: reference band {ref!r} has no complete rows; bands present: {present}")
    if order is not None:
        order = [str(o) for o in order]
        missing = [b for b in present if b not in order]
        if missing:
            raise ValueError(f"{what}: bands {missing} are not in `order`")
        levels = [ref] + [b for b in order if b != ref and b in present]
    else:
        levels = [ref] + [b for b in present if b != ref]
    others = levels[1:]
    if not others:
        raise ValueError(f"{what}: only the reference band has data")
    leading = [(f"{band}[T.{b}]", (bands == b).astype(float)) for b in others]
    X, names = design(sub, controls, categorical, what=what, leading=leading)
    check_rank(X, names, what)
    codes, fallback = cluster_codes(sub[cluster] if cluster else None, cluster)
    w = numeric(sub[weight], what) if weight else None
    res, dof = _fit(y, X, names, codes, w, use_t)
    b = np.asarray(res.params)
    V = np.asarray(res.cov_params())
    sd_ref = sample_sd(y[bands == ref])
    n_ref = int((bands == ref).sum())
    ests = []
    for k, lev in enumerate(others, start=1):
        j = k  # leading columns follow the intercept
        e = make_estimate(f"dose-response: {lev} vs {ref}", outcome, float(b[j]), float(math.sqrt(V[j, j])),
                          df=dof, n_treated=int((bands == lev).sum()), n_control=n_ref, sd_outcome=sd_ref,
                          level=level, se_method=(f"cluster-robust by {cluster} (CR1)" if codes is not None
                                                  else "HC1 robust" + (f" ({fallback})" if fallback else "")),
                          diagnostics={"band": lev, "reference_band": ref})
        ests.append(bootstrap_if_few_clusters(e, X, y, codes, j, w, few_clusters, bootstrap_draws, seed, level))
    kk = len(others)
    R_joint = np.zeros((kk, len(b)))
    R_joint[np.arange(kk), np.arange(1, kk + 1)] = 1
    R_eq = np.zeros((max(kk - 1, 0), len(b)))
    for i in range(kk - 1):
        R_eq[i, i + 1], R_eq[i, i + 2] = 1, -1
    rows = [{"band": ref, "n": n_ref, "mean": float(y[bands == ref].mean()), "estimate": 0.0, "std_error": None,
             "ci_low": None, "ci_high": None, "p_value": None, "smd": 0.0, "smd_ci_low": None, "smd_ci_high": None,
             "is_reference": True}]
    for lev, e in zip(others, ests):
        rows.append({"band": lev, "n": e.n_treated, "mean": float(y[bands == lev].mean()), "estimate": e.estimate,
                     "std_error": e.std_error, "ci_low": e.ci_low, "ci_high": e.ci_high, "p_value": e.p_value,
                     "smd": e.smd, "smd_ci_low": e.smd_ci_low, "smd_ci_high": e.smd_ci_high, "is_reference": False})
    table = pl.DataFrame(rows, schema={"band": pl.Utf8, "n": pl.Int64, "mean": pl.Float64, "estimate": pl.Float64,
                                       "std_error": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64,
                                       "p_value": pl.Float64, "smd": pl.Float64, "smd_ci_low": pl.Float64,
                                       "smd_ci_high": pl.Float64, "is_reference": pl.Boolean}, orient="row")
    diag = {"params": dict(zip(names, map(float, b))), "bse": dict(zip(names, map(float, res.bse))),
            "n_obs": int(res.nobs), "n_dropped_missing": int((~keep).sum()), "df": dof,
            "n_clusters": int(len(np.unique(codes))) if codes is not None else None, "cluster_fallback": fallback}
    return DoseResponse(outcome=outcome, band=band, reference_band=ref, estimates=tuple(ests), table=table,
                        joint_p=_wald_p(b, V, R_joint, dof), equal_p=_wald_p(b, V, R_eq, dof), diagnostics=diag)

