"""Inference for designs where the usual large-sample intervals mislead: few clusters, few treated units.

* :func:`wild_cluster_bootstrap`: the restricted wild cluster bootstrap (WCR; Cameron, Gelbach and Miller
  2008; MacKinnon and Webb 2017) for one coefficient of a linear regression with errors clustered in few
  groups. The null is imposed when the bootstrap samples are built, the statistic is the CR1 t-statistic,
  and the interval is the set of values the test does not reject (found by bisection with the same draws
  for every candidate value). Rademacher weights from 12 clusters on, Webb's six-point weights below (with
  two-point weights there are too few distinct samples: 2^G). Computation follows the closed form of
  Roodman, MacKinnon, Nielsen and Webb (2019): after one pass over the data everything is a G x G problem,
  so 9,999 draws take a fraction of a second.
* :func:`placebo_p_value`: randomisation inference for a panel with few treated units (placebo in space;
  Abadie, Diamond and Hainmueller 2010; MacKinnon and Webb 2020). The treated units' first-treated periods
  are given to other units, the estimate is recomputed, and the p-value is the share of placebo estimates at
  least as far from zero as the real one. Exact (every assignment) when there are few enough assignments.

Both are deterministic: the draws come from a fixed seed, so a rerun prints the same numbers.
"""

from __future__ import annotations

import math
from itertools import combinations
from typing import Callable

import numpy as np

__all__ = ["wild_cluster_bootstrap", "placebo_p_value", "bootstrap_if_few_clusters", "WEBB_BELOW", "DEFAULT_SEED"]

#: fewer clusters than this: Webb's six-point weights instead of Rademacher's two
WEBB_BELOW = 12
#: the seed of every resampling draw (a published number must not change between runs)
DEFAULT_SEED = 20181


def _weights(kind: str, G: int, draws: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "rademacher":
        return rng.choice(np.array([-1.0, 1.0]), size=(G, draws))
    if kind == "webb":
        pts = np.sqrt(np.array([0.5, 1.0, 1.5]))
        return rng.choice(np.concatenate([-pts, pts]), size=(G, draws))
    raise ValueError(f"bootstrap weights must be 'rademacher' or 'webb'; got {kind!r}")


def wild_cluster_bootstrap(X: np.ndarray, y: np.ndarray, groups: np.ndarray, column: int, *,
                           weights: np.ndarray | None = None, draws: int = 9999, seed: int = DEFAULT_SEED,
                           level: float = 0.95, kind: str = "auto") -> dict:
    """Restricted wild cluster bootstrap p-value and interval for coefficient ``column`` of OLS (or WLS).

    Returns ``p_value`` (for the coefficient being zero), ``ci_low``/``ci_high`` (the values not rejected at
    ``1 - level``), ``draws``, ``kind`` (the weight distribution) and ``n_clusters``. The studentising
    covariance is CR1 (G/(G-1) * (N-1)/(N-K)), as in the analytic fit, so the bootstrap corrects the
    reference distribution, not the standard error. An interval end the search cannot find within 1,000
    standard errors is infinite (the data cannot bound the effect).
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if weights is not None:
        sw = np.sqrt(np.asarray(weights, dtype=float))
        X, y = X * sw[:, None], y * sw
    n, k = X.shape
    _, g = np.unique(groups, return_inverse=True)
    G = int(g.max()) + 1
    if G < 2:
        raise ValueError("wild cluster bootstrap: needs at least two clusters")
    if kind == "auto":
        kind = "webb" if G < WEBB_BELOW else "rademacher"
    V = _weights(kind, G, int(draws), np.random.default_rng(seed))
    A = np.linalg.inv(X.T @ X)
    a = A[column]
    beta = A @ (X.T @ y)
    u = y - X @ beta
    cr1 = G / (G - 1) * (n - 1) / (n - k)

    def cluster_sum(M):
        out = np.zeros((G,) + M.shape[1:])
        np.add.at(out, g, M)
        return out

    score = cluster_sum(X * u[:, None]) @ a
    se_hat = math.sqrt(cr1 * float(score @ score))
    # restricted residuals: u(tau0) = ua - tau0 * ub (y - tau0 x_j and x_j, each on the other columns)
    others = np.delete(X, column, axis=1)
    proj = np.linalg.lstsq(others, np.column_stack([y, X[:, column]]), rcond=None)[0]
    res = np.column_stack([y, X[:, column]]) - others @ proj
    XtU = cluster_sum(np.einsum("ni,nj->nij", X, res))          # G x k x 2: X_g' [ua_g, ub_g]
    # r_g = a' X_g'X_g; M(tau0)[g, h] = r_g . A X_h' u_h(tau0); d(tau0)_g = a' X_g' u_g(tau0)
    R = np.einsum("i,gij->gj", a, cluster_sum(np.einsum("ni,nj->nij", X, X)))
    C = np.einsum("ij,gjc->gic", A, XtU)                       # G x k x 2
    Ma, Mb = R @ C[:, :, 0].T, R @ C[:, :, 1].T
    da, db = XtU[:, :, 0] @ a, XtU[:, :, 1] @ a
    b_hat = float(beta[column])

    def p_at(tau0: float) -> float:
        d = da - tau0 * db
        M = Ma - tau0 * Mb
        num = d @ V
        q = (np.diag(d) - M) @ V
        se = np.sqrt(cr1 * (q ** 2).sum(axis=0))
        with np.errstate(divide="ignore", invalid="ignore"):
            t_star = np.abs(num / se)
        t_obs = abs(b_hat - tau0) / se_hat
        return float(np.mean(t_star >= t_obs - 1e-12 * max(1.0, t_obs)))

    alpha = 1 - level

    def end(sign: int) -> float:
        inside, step = b_hat, max(se_hat, 1e-12)
        outside = b_hat + sign * step
        while p_at(outside) > alpha:
            inside, step = outside, step * 2
            outside = b_hat + sign * step
            if step > 1000 * max(se_hat, 1e-12):
                return sign * math.inf
        for _ in range(60):
            mid = (inside + outside) / 2
            if p_at(mid) > alpha:
                inside = mid
            else:
                outside = mid
            if abs(outside - inside) < 1e-6 * max(se_hat, 1e-12):
                break
        return (inside + outside) / 2

    return {"p_value": p_at(0.0), "ci_low": end(-1), "ci_high": end(+1), "draws": int(draws), "kind": kind,
            "n_clusters": G, "se_cr1": se_hat, "estimate": b_hat}


def bootstrap_if_few_clusters(e, X, y, codes, column: int, weights, few_clusters: int, draws: int, seed: int,
                              level: float):
    """The estimate ``e`` (fitted as coefficient ``column`` of a regression of ``y`` on ``X``, weighted by
    ``weights``) with its p-value and interval from :func:`wild_cluster_bootstrap` when its clusters (``codes``)
    number fewer than ``few_clusters``; ``e`` unchanged when there is no clustering or enough clusters. The
    analytic answer stays in ``diagnostics['analytic']`` and ``se_method`` names the bootstrap."""
    if codes is None or not few_clusters:
        return e
    G = int(len(np.unique(codes)))
    if G >= few_clusters:
        return e
    from ._core import with_interval

    b = wild_cluster_bootstrap(X, y, codes, column, weights=weights, draws=draws, seed=seed, level=level)
    return with_interval(e, b["ci_low"], b["ci_high"], b["p_value"],
                         f"wild cluster bootstrap (restricted, {b['kind']} weights, {draws:,} draws; {G} clusters, "
                         f"fewer than {few_clusters}), CR1-studentised", wild_bootstrap=b)


def placebo_p_value(estimate_for: Callable[[np.ndarray], float], first_treated: np.ndarray, *, draws: int = 999,
                    seed: int = DEFAULT_SEED) -> dict:
    """Randomisation-inference p-value: how unusual is the real estimate among placebo assignments?

    ``first_treated`` has one value per unit (NaN: never treated); ``estimate_for(assignment)`` returns the
    estimate when units get ``assignment`` instead. Each placebo gives the treated units' first-treated
    periods to a random set of units (every unit may be drawn, the treated ones too). When the number of
    distinct assignments (units choose treated, all treated sharing one period) is at most ``draws`` every
    assignment is used once and the p-value is exact; otherwise ``draws`` random ones plus the real one:
    p = (1 + #{|placebo| >= |real|}) / (1 + draws). Valid when, absent an effect, which units were treated is
    exchangeable (as if assigned at random given the fixed effects): with one treated unit the smallest
    possible p-value is 1 / units.
    """
    g = np.asarray(first_treated, dtype=float)
    n = g.size
    treated = np.flatnonzero(~np.isnan(g))
    n1 = treated.size
    if n1 == 0 or n1 == n:
        raise ValueError("placebo p-value: needs treated and untreated units")
    real = float(estimate_for(g))
    cohorts = g[treated]
    single_cohort = np.unique(cohorts).size == 1
    total = math.comb(n, n1) if single_cohort else math.inf
    placebos = []
    if total <= draws:
        for chosen in combinations(range(n), n1):
            a = np.full(n, np.nan)
            a[list(chosen)] = cohorts[0]
            placebos.append(estimate_for(a))
        exact = True
    else:
        rng = np.random.default_rng(seed)
        for _ in range(int(draws)):
            a = np.full(n, np.nan)
            a[rng.choice(n, n1, replace=False)] = rng.permutation(cohorts)
            placebos.append(estimate_for(a))
        exact = False
    pl_ = np.abs(np.asarray(placebos, dtype=float))
    tol = 1e-12 * max(1.0, abs(real))
    if exact:
        p = float(np.mean(pl_ >= abs(real) - tol))     # the real assignment is one of them
    else:
        p = float((1 + np.sum(pl_ >= abs(real) - tol)) / (1 + pl_.size))
    return {"p_value": p, "estimate": real, "n_placebos": int(pl_.size), "exact": exact, "n_units": int(n),
            "n_treated_units": int(n1)}
