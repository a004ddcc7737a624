"""Propensity scores: the logit model, nearest-neighbour matching, inverse probability weighting, balance.

* :func:`propensity_scores` fits P(treated | covariates) by logistic regression (statsmodels ``Logit``).
* :func:`psm_match` matches each treated school to its nearest control(s) on the logit of the score,
  within a caliper, with or without replacement; standard error after Abadie and Imbens (2006).
* :func:`ipw` weights controls (ATT) or both groups (ATE) by the inverse probability; sandwich standard
  error from the stacked estimating equations (propensity model and weighted means; Lunceford and
  Davidian 2004), which accounts for the estimated score.
* :func:`balance_table` shows standardised mean differences before and after matching or weighting.
* :func:`overlap_plot` draws the score distributions of the two groups.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Mapping, Sequence

import numpy as np
import polars as pl

from ._core import (Estimate, as_frame, binary, categories, check_groups, check_rank, cluster_codes, complete_rows,
                    design, make_estimate, numeric, require_columns, sample_sd)
from .small_sample import DEFAULT_SEED, bootstrap_if_few_clusters

__all__ = ["PropensityScores", "propensity_scores", "psm_match", "ipw", "balance_table", "overlap_plot"]


# =========================================================================== the propensity model

@dataclass(frozen=True)
class PropensityScores:
    """A fitted propensity model and its scores, aligned to the rows of the input table.

    ``score`` (probability) and ``logit`` (linear predictor) are NaN for rows left out because the
    treatment or a covariate was missing (``used`` is False there). ``auc`` is the c-statistic (how well
    the covariates separate the groups: 0.5 none, 1 complete). ``warnings`` lists fitting problems
    (non-convergence, perfect or quasi-separation).
    """

    treated_column: str
    covariates: tuple[str, ...]
    categorical: tuple[str, ...]
    score: np.ndarray = field(repr=False, compare=False)
    logit: np.ndarray = field(repr=False, compare=False)
    treated: np.ndarray = field(repr=False, compare=False)
    used: np.ndarray = field(repr=False, compare=False)
    params: Mapping[str, float] = field(compare=False)
    bse: Mapping[str, float] = field(compare=False, repr=False)
    converged: bool = True
    n_used: int = 0
    n_dropped_missing: int = 0
    auc: float = math.nan
    pseudo_r2: float = math.nan
    warnings: tuple[str, ...] = ()

    def __post_init__(self):
        for name in ("score", "logit", "treated", "used"):
            a = np.asarray(getattr(self, name))
            a.setflags(write=False)
            object.__setattr__(self, name, a)
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))
        object.__setattr__(self, "bse", MappingProxyType(dict(self.bse)))

    def to_frame(self) -> pl.DataFrame:
        """Row number, treatment, score and logit (NaN where a row was not used)."""
        return pl.DataFrame({"row": np.arange(self.score.size), "treated": self.treated, "score": self.score,
                             "logit": self.logit, "used": self.used})


def _fit_logit(X: np.ndarray, t: np.ndarray, names: Sequence[str], what: str):
    from statsmodels.discrete.discrete_model import Logit   # not statsmodels.api: see regression._fit

    msgs: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = Logit(t, X).fit(disp=0, method="newton", maxiter=100)
        except np.linalg.LinAlgError as exc:  # pragma: no cover - singular Hessian
            raise ValueError(f"{what}: the propensity model could not be fitted ({exc}); "
                             "a covariate probably predicts treatment perfectly") from exc
    for w in caught:
        text = str(w.message).splitlines()[0]
        if text not in msgs:
            msgs.append(text)
    converged = bool(res.mle_retvals.get("converged", True))
    if not converged and "did not converge" not in " ".join(msgs):
        msgs.append("maximum likelihood did not converge")
    return res, converged, tuple(msgs)


def refuse_failed_model(converged: bool, msgs: Sequence[str], what: str) -> None:
    """Stop an estimate built on a propensity model that did not converge or separates the groups (some
    covariate pattern predicts use perfectly): its scores are 0 or 1 somewhere, matching pairs many treated
    schools with one control and weighting divides by zero, so any number it gave would be wrong."""
    bad = [m for m in msgs if re.search(r"separat|converge|overflow|divide", m, re.I)]
    if not converged or bad:
        raise ValueError(f"{what}: the propensity model failed ({'; '.join(bad) or 'it did not converge'}); "
                         "no estimate is made from it. A covariate probably predicts use perfectly: merge its "
                         "levels or leave it out of the model")


def _auc(score: np.ndarray, t: np.ndarray) -> float:
    from scipy.stats import rankdata

    r = rankdata(score)
    n1, n0 = (t == 1).sum(), (t == 0).sum()
    if n1 == 0 or n0 == 0:
        return math.nan
    return float((r[t == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def propensity_scores(df: pl.DataFrame, treated: str, covariates: Sequence[str] = (),
                      categorical: Sequence[str] = ()) -> PropensityScores:
    """Logistic regression of ``treated`` on numeric ``covariates`` and ``categorical`` dummies.

    Returns scores for every row with complete data (NaN elsewhere). The model is linear in the
    covariates as given: add squares or interactions as columns if balance calls for them.
    """
    what = "propensity_scores"
    df = as_frame(df)
    covariates, categorical = list(covariates), list(categorical)
    require_columns(df, [treated, *covariates, *categorical], what)
    if not covariates and not categorical:
        raise ValueError(f"{what}: give at least one covariate")
    keep = complete_rows(df, [treated, *covariates, *categorical])
    sub = df.filter(pl.Series(keep))
    t = binary(sub[treated], what)
    check_groups(t, what, min_each=2)
    X, names = design(sub, covariates, categorical, what=what)
    check_rank(X, names, what)
    res, converged, msgs = _fit_logit(X, t, names, what)
    lin = X @ np.asarray(res.params)
    p = 1 / (1 + np.exp(-lin))
    n = df.height
    score, logit, tt = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    score[keep], logit[keep], tt[keep] = p, lin, t
    return PropensityScores(treated_column=treated, covariates=tuple(covariates), categorical=tuple(categorical),
                            score=score, logit=logit, treated=tt, used=keep,
                            params=dict(zip(names, map(float, res.params))),
                            bse=dict(zip(names, map(float, res.bse))), converged=converged,
                            n_used=int(keep.sum()), n_dropped_missing=int((~keep).sum()), auc=_auc(p, t),
                            pseudo_r2=float(res.prsquared), warnings=msgs)


def _scores_for(df: pl.DataFrame, treated: str, covariates, categorical, scores, what: str) -> PropensityScores:
    """Fit the model, or wrap given scores (a PropensityScores, or probabilities aligned to the rows)."""
    if scores is None:
        return propensity_scores(df, treated, covariates, categorical)
    if isinstance(scores, PropensityScores):
        if scores.score.size != df.height:
            raise ValueError(f"{what}: the scores have {scores.score.size} rows, the table {df.height}")
        return scores
    p = np.asarray(scores.to_numpy() if isinstance(scores, pl.Series) else scores, dtype=float)
    if p.shape != (df.height,):
        raise ValueError(f"{what}: scores must have one value per row ({df.height}); got shape {p.shape}")
    ok = np.isfinite(p)
    if ((p[ok] <= 0) | (p[ok] >= 1)).any():
        raise ValueError(f"{what}: given propensity scores must lie strictly between 0 and 1")
    lg = np.full(p.size, np.nan)
    lg[ok] = np.log(p[ok] / (1 - p[ok]))
    tt = np.full(p.size, np.nan)
    tk = complete_rows(df, [treated])
    tt[tk] = binary(df[treated].filter(pl.Series(tk)), what)
    return PropensityScores(treated_column=treated, covariates=(), categorical=(), score=p, logit=lg, treated=tt,
                            used=ok & tk, params={}, bse={}, n_used=int((ok & tk).sum()),
                            n_dropped_missing=int((~(ok & tk)).sum()), auc=_auc(p[ok & tk], tt[ok & tk]),
                            warnings=("scores given by the caller (treated as known)",))


# =========================================================================== matching

def _sorted_controls(l0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Controls ordered by logit, ties by row order (deterministic)."""
    order = np.lexsort((np.arange(l0.size), l0))
    return order, l0[order]


def _k_nearest(query: np.ndarray, s: np.ndarray, order: np.ndarray, k: int, exclude_self: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest sorted values to each query: (positions in the original control order, distances).

    Ties in distance go to the control that comes first in the input. In 1-D the k nearest lie within
    k places either side of the insertion point, so only that window is examined.
    """
    n0 = s.size
    pos = np.searchsorted(s, query) if exclude_self is None else exclude_self
    extra = 1 if exclude_self is not None else 0
    offs = np.arange(-k - extra, k + extra)
    cand = pos[:, None] + offs[None, :]
    valid = (cand >= 0) & (cand < n0)
    if exclude_self is not None:
        valid &= cand != pos[:, None]
    cc = np.clip(cand, 0, n0 - 1)
    dist = np.where(valid, np.abs(query[:, None] - s[cc]), np.inf)
    ctrl = np.where(valid, order[cc], np.iinfo(np.int64).max)
    pick = np.lexsort((ctrl, dist), axis=-1)[:, :k]
    return np.take_along_axis(ctrl, pick, 1), np.take_along_axis(dist, pick, 1)


def _within(s: np.ndarray, centre: np.ndarray, radius: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions ``[lo, hi)`` of the sorted scores ``s`` within ``radius`` of each ``centre``, ties included (a
    small tolerance, since equal distances computed either side of a score can differ in the last bit), and that
    tolerance."""
    tol = 1e-12 * np.maximum(1.0, np.abs(centre)) + 1e-15
    return (np.searchsorted(s, centre - radius - tol, side="left"),
            np.searchsorted(s, centre + radius + tol, side="right"), tol)


def _match_with_replacement(l1, l0, k, cal):
    """Each treated unit's ``k`` nearest controls, and every control tied with the k-th (Abadie and Imbens
    2006: the match set may hold more than ``k``, each weighted 1/M_i), so the result does not depend on the
    order of the rows. Controls beyond the caliper are not matched."""
    order, s = _sorted_controls(l0)
    _, dist = _k_nearest(l1, s, order, min(k, l0.size))
    dk = dist[:, -1]                                      # distance of the k-th nearest
    lo, hi, tol = _within(s, l1, dk)
    # every (treated, candidate) pair at once rather than a loop over treated units (some 2,600 of them per
    # measure in a national year): the candidates of treated unit i are the sorted positions lo[i]..hi[i]-1
    matched = np.flatnonzero(dk <= cal)
    n = hi[matched] - lo[matched]
    ti = np.repeat(matched, n).astype(np.int64)
    pos = np.repeat(lo[matched], n) + (np.arange(ti.size) - np.repeat(np.cumsum(n) - n, n))
    tc = order[pos].astype(np.int64)
    td = np.abs(l1[ti] - l0[tc])
    near = td <= (dk + tol)[ti]
    ti, tc, td = ti[near], tc[near], td[near]
    by = np.lexsort((tc, ti))                              # by treated unit, then control row (as the loop did)
    return ti[by], tc[by], td[by]


def _match_without_replacement(l1, l0, k, cal):
    """Greedy nearest-neighbour matching without replacement.

    Treated units are taken in order of decreasing score (the hardest to match choose first; ties by row
    order), ``k`` rounds (each round gives every still-matching treated unit one more control). Each takes the
    nearest unused control; equal distances go to the control that comes first in the input.
    """
    order, s = _sorted_controls(l0)
    n0 = s.size
    nxt = list(range(n0 + 1))        # next free sorted position >= j (n0: none)
    prv = list(range(n0 + 1))        # shifted by one: prv[j + 1] -> previous free position <= j (0: none)
    sl = s.tolist()
    ol = order.tolist()

    def find(parent, j):
        root = j
        while parent[root] != root:
            root = parent[root]
        while parent[j] != root:
            parent[j], j = root, parent[j]
        return root

    pos = np.searchsorted(s, l1).tolist()
    l1l = l1.tolist()
    seq = np.lexsort((np.arange(l1.size), -l1)).tolist()
    ti, tc, td = [], [], []
    active = seq
    for _ in range(k):
        still = []
        for i in active:
            x, p = l1l[i], pos[i]
            a = find(prv, p) - 1       # largest free position <= p - 1
            b = find(nxt, p)           # smallest free position >= p
            da = x - sl[a] if a >= 0 else math.inf
            db = sl[b] - x if b < n0 else math.inf
            if da < db or (da == db and a >= 0 and (b >= n0 or ol[a] < ol[b])):
                j, d = a, da
            else:
                j, d = b, db
            if not d <= cal:
                continue
            ti.append(i), tc.append(ol[j]), td.append(d)
            nxt[j] = j + 1
            prv[j + 1] = j
            still.append(i)
        active = still
    return np.asarray(ti, dtype=np.int64), np.asarray(tc, dtype=np.int64), np.asarray(td, dtype=float)


def _control_variance(y0: np.ndarray, l0: np.ndarray, J: int) -> np.ndarray:
    """Abadie-Imbens conditional variance of each control: M/(M+1) * (y - mean of its M nearest controls)^2,
    M = J, or more when further controls tie with the J-th nearest."""
    return _control_residual(y0, l0, J) ** 2


def _control_residual(y0: np.ndarray, l0: np.ndarray, J: int) -> np.ndarray:
    """Each control's outcome less the mean of its nearest fellow controls, scaled by sqrt(M/(M+1)): a signed
    residual whose square is the Abadie-Imbens conditional variance (not shrunk by an outcome model fitted on
    few controls)."""
    order, s = _sorted_controls(l0)
    n0 = l0.size
    J = min(J, n0 - 1)
    if J < 1:
        return np.zeros(n0)
    inv = np.empty(n0, dtype=np.int64)
    inv[order] = np.arange(n0)
    _, dist = _k_nearest(l0, s, order, J, exclude_self=inv)
    # every fellow control within the J-th distance, ties included (so the row order does not matter)
    lo, hi, _ = _within(s, l0, dist[:, -1])
    cum = np.concatenate([[0.0], np.cumsum(y0[order])])
    m = (hi - lo - 1).astype(float)                  # neighbours, self left out
    mean = (cum[hi] - cum[lo] - y0) / m
    return np.sqrt(m / (m + 1)) * (y0 - mean)


def psm_match(df: pl.DataFrame, outcome: str, treated: str, covariates: Sequence[str] = (),
              categorical: Sequence[str] = (), *, caliper: float | None = 0.2, replace: bool = False, ratio: int = 1,
              scores: PropensityScores | np.ndarray | pl.Series | None = None, bias_adjust: bool = True,
              variance_matches: int = 2, cluster: str | None = None, level: float = 0.95) -> Estimate:
    """Average effect on the treated by nearest-neighbour matching on the logit of the propensity score.

    Each treated row gets its ``ratio`` nearest controls by |difference in logit score|, only those within
    ``caliper`` x the pooled SD of the logit (sqrt of the mean of the two groups' variances; Austin 2011);
    ``caliper=None`` matches without a caliper. Treated rows with no control within the caliper are dropped
    and counted (``diagnostics['n_unmatched_caliper']``): the estimate is then the effect on the matched
    treated. ``replace=True`` lets a control serve several treated rows, and controls tied at the k-th
    distance all count (weighted equally), so the result does not depend on the order of the rows;
    ``replace=False`` uses greedy matching, largest score first, ties to the row that comes first.

    ``bias_adjust`` (default True): the regression bias correction of Abadie and Imbens (2011). Matches on
    the score are never exact, and when controls are scarce where treated rows are dense (a high share of
    users), greedy matching without replacement pairs treated rows with controls of systematically lower
    scores, which biases the plain estimate even inside the caliper. The correction fits a linear model of
    the outcome on the covariates among the matched controls (weighted by their use K_j) and subtracts
    mu0(X_i) - sum_j w_ij mu0(X_j) from each matched difference. The plain estimate is kept in
    ``diagnostics['estimate_unadjusted']``. It needs the covariates (also when ``scores`` are given).

    Standard error: Abadie and Imbens (2006), for the matched treated,
    V = [N1/(N1-1) * sum_i (d_i - tau)^2 + sum_j (K_j^2 - sum_i w_ij^2) * s2_j] / N1^2, where d_i is the
    treated row's outcome minus its matched controls' (weighted) mean, K_j the total weight of control j
    and s2_j its conditional variance from its ``variance_matches`` nearest fellow controls. Without
    replacement K_j^2 = sum_i w_ij^2 and this is the paired (matched-pairs) variance. It treats the
    propensity score as known (Abadie and Imbens 2016 give the correction for an estimated score).
    Interval: t with N1 - 1 degrees of freedom. The propensity model is fitted here unless ``scores`` is
    given. ``weights`` on the result: 1 for matched treated rows, K_j for used controls, 0 otherwise.

    With ``cluster`` (schools sharing a local authority share shocks, and uptake clusters by area) the
    variance is cluster-robust instead. The estimate's error is a sum of unit contributions: for each matched
    treated row its own part, d_i - tau + sum_j w_ij e_j, and for each used control -K_j e_j, where e_j is the
    control's outcome less the mean of its nearest fellow controls (the signed residual behind s2_j). They
    are summed within clusters, V = G/(G-1) * sum_g S_g^2 / N1^2, and the interval uses t with G-1 df. With
    every unit its own cluster this is the variance above in expectation. With one cluster the unclustered
    variance is kept and ``se_method`` says so.
    """
    what = "psm_match"
    df = as_frame(df)
    require_columns(df, [outcome, treated, cluster], what)
    if int(ratio) != ratio or ratio < 1:
        raise ValueError(f"{what}: ratio must be a whole number >= 1; got {ratio!r}")
    if caliper is not None and not caliper > 0:
        raise ValueError(f"{what}: caliper must be positive (in SDs of the logit score) or None; got {caliper!r}")
    covariates, categorical = list(covariates), list(categorical)
    if bias_adjust and not covariates and not categorical:
        raise ValueError(f"{what}: bias_adjust needs the covariates; pass them or set bias_adjust=False")
    ps = _scores_for(df, treated, covariates, categorical, scores, what)
    if scores is None:
        refuse_failed_model(ps.converged, ps.warnings, what)
    keep = complete_rows(df, [outcome, treated] + ((covariates + categorical) if bias_adjust else [])
                         + ([cluster] if cluster else [])) & np.isfinite(ps.logit)
    rows = np.flatnonzero(keep)
    sub = df.filter(pl.Series(keep))
    y = numeric(sub[outcome], what)
    t = binary(sub[treated], what)
    n1_all, n0_all = check_groups(t, what, min_each=2)
    lg = ps.logit[rows]
    i1, i0 = np.flatnonzero(t == 1), np.flatnonzero(t == 0)
    l1, l0, y1, y0 = lg[i1], lg[i0], y[i1], y[i0]
    sd_pool = math.sqrt((np.var(l1, ddof=1) + np.var(l0, ddof=1)) / 2)
    cal = caliper * sd_pool if caliper is not None else math.inf
    if replace:
        ti, tc, dist = _match_with_replacement(l1, l0, int(ratio), cal)
    else:
        ti, tc, dist = _match_without_replacement(l1, l0, int(ratio), cal)
    if ti.size == 0:
        raise ValueError(f"{what}: no treated row has a control within the caliper ({caliper} SD of the logit)")
    m_i = np.bincount(ti, minlength=i1.size)
    w_pair = 1.0 / m_i[ti]
    matched = m_i > 0
    n1 = int(matched.sum())
    yhat0 = np.bincount(ti, weights=w_pair * y0[tc], minlength=i1.size)
    d = (y1 - yhat0)[matched]
    tau_plain = float(d.mean())
    K = np.bincount(tc, weights=w_pair, minlength=i0.size)
    Q = np.bincount(tc, weights=w_pair ** 2, minlength=i0.size)
    if bias_adjust:
        X, xnames = design(sub, covariates, categorical, what=what)
        X1, X0 = X[i1], X[i0]
        use = K > 0
        if np.linalg.matrix_rank(X0[use] * np.sqrt(K[use])[:, None]) < X.shape[1]:
            use = np.ones(i0.size, dtype=bool)          # too few matched controls: fit on every control
            wfit = np.ones(i0.size)
        else:
            wfit = K
        sw = np.sqrt(wfit[use])
        beta = np.linalg.lstsq(X0[use] * sw[:, None], y0[use] * sw, rcond=None)[0]
        mu1, mu0c = X1 @ beta, X0 @ beta
        corr = (mu1 - np.bincount(ti, weights=w_pair * mu0c[tc], minlength=i1.size))[matched]
        d = d - corr
    tau = float(d.mean())
    extra = K ** 2 - Q
    term2 = 0.0
    if (extra > 1e-12).any():
        s2 = _control_variance(y0, l0, int(variance_matches))
        term2 = float((extra * s2).sum())
    term1 = float(((d - tau) ** 2).sum()) * (n1 / (n1 - 1) if n1 > 1 else math.nan)
    se = math.sqrt((term1 + term2) / n1 ** 2)
    dof = float(n1 - 1)
    se_method = ("Abadie-Imbens (2006) matching variance, score treated as known" if replace
                 else "matched-pairs variance (Abadie-Imbens, K_j <= 1), score treated as known")
    codes, fallback = cluster_codes(sub[cluster] if cluster else None, cluster)
    n_clusters = None
    if codes is not None:
        # treated i: d_i - tau with its controls' noise taken out; control j: -K_j times its noise
        eps = _control_residual(y0, l0, int(variance_matches))
        own = d - tau + np.bincount(ti, weights=w_pair * eps[tc], minlength=i1.size)[matched]
        contrib = np.zeros(int(codes.max()) + 1)
        np.add.at(contrib, codes[i1[matched]], own)
        np.add.at(contrib, codes[i0], -K * eps)
        used = np.unique(np.concatenate([codes[i1[matched]], codes[i0[K > 0]]]))
        n_clusters = int(used.size)
        if n_clusters >= 2:
            se = math.sqrt(n_clusters / (n_clusters - 1) * float((contrib[used] ** 2).sum())) / n1
            dof = float(n_clusters - 1)
            se_method = (f"cluster-robust by {cluster} (matched units' contributions summed within clusters), "
                         "t with G-1 df, score treated as known")
        else:
            fallback = f"the matched schools are in one {cluster}, so errors cannot be clustered by it"
    if fallback:
        se_method += f" ({fallback})"
    weights = np.zeros(df.height)
    weights[rows[i1[matched]]] = 1.0
    weights[rows[i0]] = K
    used_c = K > 0
    pairs = pl.DataFrame({"treated_row": rows[i1[ti]], "control_row": rows[i0[tc]], "weight": w_pair,
                          "distance_logit": dist}).sort(["treated_row", "distance_logit", "control_row"])
    diag = {"bias_adjusted": bool(bias_adjust), "estimate_unadjusted": tau_plain, "n_treated_total": n1_all,
            "n_control_total": n0_all, "n_unmatched_caliper": int(n1_all - n1),
            "caliper_sd": caliper, "caliper_logit": cal, "sd_logit_pooled": sd_pool, "replace": bool(replace),
            "ratio": int(ratio), "n_controls_used": int(used_c.sum()),
            "max_control_weight": float(K.max()) if K.size else 0.0,
            "ess_control": float(K.sum() ** 2 / (K ** 2).sum()) if used_c.any() else 0.0,
            "mean_abs_distance_logit": float(dist.mean()), "max_abs_distance_logit": float(dist.max()),
            "ai_control_term_share": term2 / (term1 + term2) if (term1 + term2) > 0 else 0.0,
            "pairs": pairs, "propensity_params": dict(ps.params), "propensity_auc": ps.auc,
            "propensity_warnings": ps.warnings, "n_dropped_missing": int((~keep).sum()),
            "cluster": cluster, "n_clusters": n_clusters}
    label = (f"PSM 1:{int(ratio)} nearest neighbour, {'with' if replace else 'without'} replacement"
             + (f", caliper {caliper:g} SD" if caliper is not None else "")
             + (", bias-adjusted" if bias_adjust else ""))
    return make_estimate(label, outcome, tau, se, df=dof, n_treated=n1, n_control=int(used_c.sum()),
                         sd_outcome=sample_sd(y0), level=level, se_method=se_method, diagnostics=diag,
                         weights=weights)


# =========================================================================== weighting

def ipw(df: pl.DataFrame, outcome: str, treated: str, covariates: Sequence[str] = (),
        categorical: Sequence[str] = (), *, estimand: str = "ATT", trim: tuple[float, float] | None | str = "auto",
        cluster: str | None = None, scores: np.ndarray | pl.Series | None = None, level: float = 0.95,
        few_clusters: int = 0, bootstrap_draws: int = 9999, seed: int = DEFAULT_SEED) -> Estimate:
    """Inverse-probability-weighted difference in means (normalised, Hajek weights).

    ``estimand="ATT"``: treated rows weight 1, controls e/(1-e) (the controls are reweighted to look like
    the treated). ``estimand="ATE"``: treated 1/e, controls 1/(1-e). Rows whose estimated score lies
    outside ``trim`` are dropped (counted in the diagnostics) and the model is refitted on the rest, so the
    estimate is for the population with overlap (Crump et al. 2009). ``trim="auto"`` (default) trims at 0.01
    and 0.99 for the ATE and not at all for the ATT: dropping treated rows would change whose effect is
    estimated, so the ATT keeps every row and reports how concentrated the control weights are
    (``diagnostics['max_weight_share_control']``, ``['ess_control']``). A trim that is applied is named in
    the estimate's label; ``trim=None`` keeps every row.

    Standard error: the sandwich (M-estimation) variance of the stacked estimating equations of the logit
    model and the two weighted means (Lunceford and Davidian 2004), which accounts for estimating the score;
    normal interval. With ``cluster`` (e.g. the local authority) the estimating functions are summed within
    clusters before the outer product (cluster-robust sandwich, factor G/(G-1)) and the interval uses t with
    G-1 degrees of freedom, as :func:`regression_adjusted` does. Below ``few_clusters`` clusters that interval
    is too narrow (with 20 authorities and users in 2-5 of them it covered 86% in simulation): the p-value and
    interval then come from the wild cluster bootstrap of the weighted regression of the outcome on the
    treatment indicator, whose coefficient is this estimate (the weights held at their estimated values).
    With ``scores`` (known probabilities, one
    per row) no model is fitted and the sandwich covers the weighted means only. ``weights`` on the result
    are the row weights (0 for dropped rows).
    """
    what = "ipw"
    df = as_frame(df)
    estimand = estimand.upper()
    if estimand not in ("ATT", "ATE"):
        raise ValueError(f"{what}: estimand must be 'ATT' or 'ATE'; got {estimand!r}")
    if isinstance(trim, str):
        if trim != "auto":
            raise ValueError(f"{what}: trim must be 'auto', None or (low, high); got {trim!r}")
        trim = None if estimand == "ATT" else (0.01, 0.99)
    if trim is not None:
        lo, hi = trim
        if not 0 <= lo < hi <= 1:
            raise ValueError(f"{what}: trim must be (low, high) with 0 <= low < high <= 1; got {trim!r}")
    covariates, categorical = list(covariates), list(categorical)
    require_columns(df, [outcome, treated, *covariates, *categorical, cluster], what)
    known = scores is not None
    if known:
        p_all = np.asarray(scores.to_numpy() if isinstance(scores, pl.Series) else scores, dtype=float)
        if p_all.shape != (df.height,):
            raise ValueError(f"{what}: scores must have one value per row ({df.height}); got shape {p_all.shape}")
        keep = complete_rows(df, [outcome, treated] + ([cluster] if cluster else [])) & np.isfinite(p_all)
        if ((p_all[keep] <= 0) | (p_all[keep] >= 1)).any():
            raise ValueError(f"{what}: given propensity scores must lie strictly between 0 and 1")
    else:
        if not covariates and not categorical:
            raise ValueError(f"{what}: give covariates for the propensity model, or known scores")
        keep = complete_rows(df, [outcome, treated, *covariates, *categorical] + ([cluster] if cluster else []))
    rows = np.flatnonzero(keep)
    sub = df.filter(pl.Series(keep))
    y = numeric(sub[outcome], what)
    t = binary(sub[treated], what)
    check_groups(t, what, min_each=2)
    sd_ref = sample_sd(y[t == 0])              # before trimming, as the other estimators do
    gcodes, fallback = cluster_codes(sub[cluster] if cluster else None, cluster)
    X = names = None
    msgs: tuple[str, ...] = ()
    if known:
        e = p_all[rows]
    else:
        X, names = design(sub, covariates, categorical, what=what)
        check_rank(X, names, what)
        res, ok, msgs = _fit_logit(X, t, names, what)
        refuse_failed_model(ok, msgs, what)
        e = 1 / (1 + np.exp(-(X @ np.asarray(res.params))))
    n_trim1 = n_trim0 = 0
    if trim is not None:
        inside = (e >= trim[0]) & (e <= trim[1])
        n_trim1, n_trim0 = int((~inside & (t == 1)).sum()), int((~inside & (t == 0)).sum())
        if not inside.all():
            rows, y, t, e = rows[inside], y[inside], t[inside], e[inside]
            if gcodes is not None:
                gcodes = gcodes[inside]
            check_groups(t, what + " (after trimming)", min_each=2)
            if not known:
                X = X[inside]
                # dummies of levels with no row left after trimming are dropped, not reported as collinear
                live = [j for j in range(X.shape[1]) if names[j] == "Intercept" or np.ptp(X[:, j]) > 0]
                X, names = X[:, live], [names[j] for j in live]
                check_rank(X, names, what + " (after trimming)")
                res, ok, msgs = _fit_logit(X, t, names, what)
                refuse_failed_model(ok, msgs, what)
                e = 1 / (1 + np.exp(-(X @ np.asarray(res.params))))
    n = y.size
    if estimand == "ATE":
        a, b = t / e, (1 - t) / (1 - e)
    else:
        a, b = t.copy(), (1 - t) * e / (1 - e)
    mu1, mu0 = float((a * y).sum() / a.sum()), float((b * y).sum() / b.sum())
    tau = mu1 - mu0
    r1, r0 = a * (y - mu1), b * (y - mu0)
    if known:
        Psi = np.column_stack([r1, r0])
        A = np.diag([a.sum() / n, b.sum() / n])
        p = 0
    else:
        p = X.shape[1]
        Psi = np.column_stack([X * (t - e)[:, None], r1, r0])
        A = np.zeros((p + 2, p + 2))
        A[:p, :p] = (X * (e * (1 - e))[:, None]).T @ X / n
        if estimand == "ATE":
            A[p, :p] = (t * (1 - e) / e * (y - mu1)) @ X / n
        A[p, p] = a.sum() / n
        A[p + 1, :p] = -((1 - t) * e / (1 - e) * (y - mu0)) @ X / n
        A[p + 1, p + 1] = b.sum() / n
    if gcodes is not None and np.unique(gcodes).size < 2:    # trimming left one cluster
        gcodes, fallback = None, (f"only one value of {cluster} after trimming, so errors cannot be clustered "
                                  "by it: robust errors instead")
    if gcodes is None:
        B = Psi.T @ Psi / n
        G, dof = None, math.inf
    else:
        _, g_idx = np.unique(gcodes, return_inverse=True)
        G = int(g_idx.max()) + 1
        S = np.column_stack([np.bincount(g_idx, weights=Psi[:, j], minlength=G) for j in range(Psi.shape[1])])
        B = S.T @ S / n * (G / (G - 1))
        dof = float(G - 1)
    Ainv = np.linalg.inv(A)
    V = Ainv @ B @ Ainv.T / n
    c = np.zeros(V.shape[0])
    c[p], c[p + 1] = 1.0, -1.0
    se = math.sqrt(float(c @ V @ c))
    w = a + b
    weights = np.zeros(df.height)
    weights[rows] = w
    wc = b[t == 0]
    wt = a[t == 1]
    diag = {"estimand": estimand, "trim": trim, "n_trimmed_treated": n_trim1, "n_trimmed_control": n_trim0,
            "mean_treated_weighted": mu1, "mean_control_weighted": mu0,
            "ess_control": float(wc.sum() ** 2 / (wc ** 2).sum()),
            "ess_treated": float(wt.sum() ** 2 / (wt ** 2).sum()),
            "max_weight_share_control": float(wc.max() / wc.sum()), "score_min": float(e.min()),
            "score_max": float(e.max()), "scores_known": known, "propensity_warnings": msgs,
            "propensity_params": dict(zip(names, map(float, res.params))) if not known else {},
            "n_dropped_missing": int((~keep).sum()), "cluster": cluster, "n_clusters": G,
            "cluster_fallback": fallback}
    se_method = ("sandwich, stacked logit and weighted means (M-estimation)" if not known
                 else "sandwich for weighted means, scores known")
    if G is not None:
        se_method += f", clustered by {cluster}, t with G-1 df"
    elif fallback:
        se_method += f" ({fallback})"
    label = f"IPW ({estimand}" + (f", scores trimmed to {trim[0]:g}-{trim[1]:g}" if trim is not None else "") + ")"
    out = make_estimate(label, outcome, tau, se, df=dof, n_treated=int((t == 1).sum()),
                        n_control=int((t == 0).sum()), sd_outcome=sd_ref, level=level, se_method=se_method,
                        diagnostics=diag, weights=weights)
    return bootstrap_if_few_clusters(out, np.column_stack([np.ones(n), t.astype(float)]), y, gcodes, 1, w,
                                     few_clusters, bootstrap_draws, seed, level)


# =========================================================================== balance

def _weights_from(df: pl.DataFrame, wm, what: str) -> np.ndarray | None:
    if wm is None:
        return None
    if isinstance(wm, Estimate):
        if wm.weights is None:
            raise ValueError(f"{what}: the estimate '{wm.method}' carries no row weights "
                             "(use a psm_match or ipw result)")
        w = np.asarray(wm.weights, dtype=float)
    elif isinstance(wm, str):
        require_columns(df, [wm], what)
        w = df[wm].cast(pl.Float64).to_numpy()      # a missing weight is refused below, not read as 0
    elif isinstance(wm, pl.Series):
        w = wm.cast(pl.Float64).to_numpy()
    else:
        w = np.asarray(wm, dtype=float)
    if w.shape != (df.height,):
        raise ValueError(f"{what}: weights must have one value per row ({df.height}); got shape {w.shape}")
    if (~np.isfinite(w)).any() or (w < 0).any():
        bad = int((~np.isfinite(w)).sum())
        raise ValueError(f"{what}: weights must be finite and non-negative"
                         + (f" ({bad} missing or not a number; give 0 to leave a row out)" if bad else ""))
    return w


def _wmean_var(x, w):
    sw = w.sum()
    m = (w * x).sum() / sw
    return m, (w * (x - m) ** 2).sum() / sw


def balance_table(df: pl.DataFrame, treated: str, covariates: Sequence[str] = (), weights_or_matches=None,
                  categorical: Sequence[str] = (), *, threshold: float = 0.1) -> pl.DataFrame:
    """Standardised mean differences of each covariate before and after matching or weighting.

    ``weights_or_matches``: a :func:`psm_match` or :func:`ipw` result (its row weights), an array or Series
    of weights aligned to the rows, the name of a weight column, or None (before only). Categorical
    covariates are shown level by level (share in each level).

    SMD = (mean treated - mean control) / sqrt((s2_treated + s2_control) / 2), with the *unweighted*
    variances of the full sample in the denominator both before and after, so that a change in the SMD is
    a change in the means only (Stuart 2010; Austin 2011). |SMD| > ``threshold`` (0.1) is flagged.
    ``variance_ratio_after`` is the weighted treated/control variance ratio (near 1 when balanced; 0.5-2
    is the usual tolerance for continuous covariates).
    """
    what = "balance_table"
    df = as_frame(df)
    covariates, categorical = list(covariates), list(categorical)
    require_columns(df, [treated, *covariates, *categorical], what)
    w_all = _weights_from(df, weights_or_matches, what)
    keep = complete_rows(df, [treated, *covariates, *categorical])
    sub = df.filter(pl.Series(keep))
    t = binary(sub[treated], what)
    check_groups(t, what, min_each=1)
    w = w_all[keep] if w_all is not None else None
    cols: list[tuple[str, np.ndarray]] = [(c, numeric(sub[c], what)) for c in covariates]
    for c in categorical:
        codes, levels = categories(sub[c])
        cols += [(f"{c}={lev}", (codes == j).astype(float)) for j, lev in enumerate(levels)]
    rows = []
    for name, x in cols:
        x1, x0 = x[t == 1], x[t == 0]
        m1, m0 = x1.mean(), x0.mean()
        v1 = x1.var(ddof=1) if x1.size > 1 else 0.0
        v0 = x0.var(ddof=1) if x0.size > 1 else 0.0
        sd = math.sqrt((v1 + v0) / 2)
        smd_b = (m1 - m0) / sd if sd > 0 else (0.0 if m1 == m0 else math.inf)
        row = {"covariate": name, "mean_treated": float(m1), "mean_control": float(m0), "smd_before": float(smd_b),
               "mean_treated_after": None, "mean_control_after": None, "smd_after": None,
               "variance_ratio_after": None}
        if w is not None:
            w1, w0 = w[t == 1], w[t == 0]
            if w1.sum() > 0 and w0.sum() > 0:
                a1, s1 = _wmean_var(x1, w1)
                a0, s0 = _wmean_var(x0, w0)
                row["mean_treated_after"], row["mean_control_after"] = float(a1), float(a0)
                row["smd_after"] = float((a1 - a0) / sd) if sd > 0 else (0.0 if a1 == a0 else math.inf)
                row["variance_ratio_after"] = float(s1 / s0) if s0 > 0 else None
        rows.append(row)
    out = pl.DataFrame(rows, schema={"covariate": pl.Utf8, "mean_treated": pl.Float64, "mean_control": pl.Float64,
                                     "smd_before": pl.Float64, "mean_treated_after": pl.Float64,
                                     "mean_control_after": pl.Float64, "smd_after": pl.Float64,
                                     "variance_ratio_after": pl.Float64}, orient="row")
    return out.with_columns(imbalanced_before=pl.col("smd_before").abs() > threshold,
                            imbalanced_after=pl.col("smd_after").abs() > threshold)


# =========================================================================== overlap figure

def overlap_plot(scores: PropensityScores | np.ndarray | pl.Series, treated=None, path: str | Path = "overlap.png", *,
                 title: str | None = None, labels: tuple[str, str] = ("Users", "Non-users"), bins: int = 25,
                 caption: str | None = None, alt_text: str | None = None,
                 source: str = "Propensity model fitted to school characteristics") -> Path:
    """Mirrored histograms of the propensity score: treated above the axis, controls below.

    ``scores`` is a :class:`PropensityScores` (``treated`` then defaults to its treatment) or an array of
    scores with ``treated`` an array of 0/1. The default title states how many treated schools have a
    score inside the range of the controls' scores. Written with the house style and a caption sidecar.
    """
    from cpdeval import display
    from cpdeval.figures import BLUE, GREY, ORANGE, finding_title, new_figure, save_figure

    if isinstance(scores, PropensityScores):
        p = scores.score
        tt = scores.treated if treated is None else np.asarray(treated, dtype=float)
    else:
        p = np.asarray(scores.to_numpy() if isinstance(scores, pl.Series) else scores, dtype=float)
        if treated is None:
            raise ValueError("overlap_plot: give `treated` with an array of scores")
        tt = np.asarray(treated.to_numpy() if isinstance(treated, pl.Series) else treated, dtype=float)
    ok = np.isfinite(p) & np.isfinite(tt)
    p, tt = p[ok], tt[ok]
    p1, p0 = p[tt == 1], p[tt == 0]
    if p1.size == 0 or p0.size == 0:
        raise ValueError("overlap_plot: need scores for both groups")
    inside = float(((p1 >= p0.min()) & (p1 <= p0.max())).mean() * 100)
    edges = np.linspace(0, 1, bins + 1)
    h1, _ = np.histogram(p1, edges)
    h0, _ = np.histogram(p0, edges)
    f1, f0 = h1 / p1.size * 100, h0 / p0.size * 100
    fig, ax = new_figure("bar", height_cm=8.5)
    width = edges[1] - edges[0]
    ax.bar(edges[:-1], f1, width=width, align="edge", color=BLUE,
           label=f"{labels[0]} (n = {display.fmt_count(p1.size)})", edgecolor="white", linewidth=0.4)
    ax.bar(edges[:-1], -f0, width=width, align="edge", color=ORANGE,
           label=f"{labels[1]} (n = {display.fmt_count(p0.size)})", edgecolor="white", linewidth=0.4)
    ax.axhline(0, color=GREY, linewidth=0.8)
    ax.set_xlim(0, 1)
    lim = max(f1.max(), f0.max()) * 1.1
    ax.set_ylim(-lim, lim)
    ax.yaxis.set_major_formatter(lambda v, pos: f"{abs(v):.0f}%")
    ax.set_xlabel("Propensity score (estimated probability of using the programme)")
    ax.set_ylabel(f"Share of schools in group\n{labels[1].lower()} below, {labels[0].lower()} above")
    ax.legend(loc="upper left")
    finding_title(ax, title or (f"{display.fmt_pct(inside)} of {labels[0].lower()} have a propensity score within "
                                f"the range of {labels[1].lower()}"))
    return save_figure(fig, path, alt_text=alt_text or (
        f"Mirrored histograms of propensity scores. {labels[0]} ({display.fmt_count(p1.size)}) above the axis, "
        f"{labels[1].lower()} ({display.fmt_count(p0.size)}) below; {display.fmt_pct(inside)} of "
        f"{labels[0].lower()} lie within the range of {labels[1].lower()}."),
        caption=caption or "Propensity score distributions by group (share of each group in each score band).",
        source=source, n={labels[0]: int(p1.size), labels[1]: int(p0.size)})
