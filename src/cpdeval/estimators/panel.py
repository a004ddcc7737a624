"""Difference-in-differences on a school x year panel with staggered first use, and the event-study view.

* :func:`did_panel` estimates the average effect on treated school-years with unit and period fixed effects:
  ``method="twfe"`` (the two-way fixed-effects regression on a treated-from indicator) or
  ``method="etwfe"`` (Wooldridge's 2021 extended TWFE: one coefficient per first-treated cohort x period,
  averaged over the treated observations; numerically the imputation estimator of Borusyak, Jaravel and
  Spiess 2024, and robust to effects that differ by cohort or grow with exposure, where TWFE is not:
  Goodman-Bacon 2021, de Chaisemartin and D'Haultfoeuille 2020).
* :func:`event_study` estimates effects by period relative to first treatment, with the period before as
  reference, so pre-trends can be seen; :func:`event_study_plot` draws it.

Both absorb the unit fixed effects by demeaning within unit (exact for unbalanced panels, by the
Frisch-Waugh-Lovell theorem, because period effects enter as dummies) and cluster standard errors by unit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping, Sequence

import numpy as np
import polars as pl

from ._core import (Estimate, as_frame, check_rank, cluster_ols, complete_rows, critical_value, demean_within,
                    make_estimate, numeric, p_value, period_numbers, require_columns)
from .small_sample import DEFAULT_SEED

__all__ = ["did_panel", "event_study", "EventStudy", "event_study_plot"]


@dataclass
class _Panel:
    y: np.ndarray
    unit: np.ndarray        # integer codes
    t: np.ndarray           # period numbers
    g: np.ndarray           # first treated period (NaN: never within the data)
    Z: np.ndarray           # controls (n x k)
    n_dropped_missing: int
    n_singletons: int
    unit_labels: np.ndarray


def _panel(panel, outcome, unit, time, first, controls, what) -> _Panel:
    df = as_frame(panel)
    controls = list(controls)
    require_columns(df, [outcome, unit, time, first, *controls], what)
    keep = complete_rows(df, [outcome, unit, time, *controls])
    sub = df.filter(pl.Series(keep))
    y = numeric(sub[outcome], what)
    t, t_kind = period_numbers(sub[time], what + " (time)")
    g, g_kind = period_numbers(sub[first], what + " (first treated period)")
    if "quarter" in (t_kind, g_kind) and t_kind != g_kind and not np.isnan(g).all():
        raise ValueError(f"{what}: {time!r} and {first!r} must count periods the same way, but one is in "
                         f"quarters and the other in {g_kind if t_kind == 'quarter' else t_kind}s: give the "
                         "first treated period as a quarter label too (such as 'Q32011')")
    if np.isnan(t).any():
        raise ValueError(f"{what}: time column {time!r} has missing periods")
    ucodes, ulabels = _codes(sub[unit])
    # one row per unit and period
    if np.unique(np.column_stack([ucodes.astype(float), t]), axis=0).shape[0] != t.size:
        raise ValueError(f"{what}: more than one row for some {unit!r} x {time!r}; aggregate to one row per unit "
                         "and period first")
    # the first-treated period must be constant within a unit
    gg = np.where(np.isnan(g), -1e18, g)
    lo = np.full(ulabels.size, np.inf)
    hi = np.full(ulabels.size, -np.inf)
    np.minimum.at(lo, ucodes, gg)
    np.maximum.at(hi, ucodes, gg)
    if (lo != hi).any():
        bad = ulabels[np.flatnonzero(lo != hi)[:3]].tolist()
        raise ValueError(f"{what}: {first!r} differs between rows of the same unit (e.g. {bad})")
    Z = np.column_stack([numeric(sub[c], what) for c in controls]) if controls else np.empty((y.size, 0))
    counts = np.bincount(ucodes)
    single = counts[ucodes] < 2
    n_single = int((counts == 1).sum())
    if single.any():
        y, t, g, Z, ucodes = y[~single], t[~single], g[~single], Z[~single], ucodes[~single]
        ucodes, inv = np.unique(ucodes, return_inverse=True)
        ulabels = ulabels[ucodes]
        ucodes = inv
    return _Panel(y=y, unit=ucodes, t=t, g=g, Z=Z, n_dropped_missing=int((~keep).sum()), n_singletons=n_single,
                  unit_labels=ulabels)


def _codes(s: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    vals = s.to_numpy() if s.dtype.is_numeric() else np.asarray(s.cast(pl.Utf8).to_list(), dtype=object)
    labels, codes = np.unique(vals, return_inverse=True)
    return codes, labels


def _period_dummies(t: np.ndarray, periods: np.ndarray) -> tuple[np.ndarray, list[str]]:
    cols = [(t == p).astype(float) for p in periods[1:]]
    return (np.column_stack(cols) if cols else np.empty((t.size, 0))), [f"period[{p:g}]" for p in periods[1:]]


def _pooled_sd(y: np.ndarray, t: np.ndarray, mask: np.ndarray) -> float:
    """SD of the outcome among untreated observations, pooled within periods (period means removed)."""
    ss, dof = 0.0, 0
    for p in np.unique(t[mask]):
        v = y[mask & (t == p)]
        if v.size > 1:
            ss += float(((v - v.mean()) ** 2).sum())
            dof += v.size - 1
    return math.sqrt(ss / dof) if dof > 0 else math.nan


def _fit_fe(P: _Panel, X: np.ndarray, names: list[str], what: str):
    Xd = demean_within(P.unit, X)
    yd = demean_within(P.unit, P.y)
    check_rank(Xd, names, what)
    beta, V, u, G = cluster_ols(Xd, yd, P.unit)
    return beta, V, G


def did_panel(panel: pl.DataFrame, outcome: str, unit: str, time: str, treated_from: str, *,
              controls: Sequence[str] = (), method: str = "twfe", level: float = 0.95, placebo_draws: int = 0,
              seed: int = DEFAULT_SEED) -> Estimate:
    """Difference-in-differences with unit and period fixed effects on a panel with staggered adoption.

    ``panel`` has one row per unit and period. ``time`` is the period (a number, or a label such as
    ``2016-17`` read as its first year); ``treated_from`` the first period in which the unit counts as
    treated (same scale; null for units never treated in the data). A unit-period is treated when
    ``time >= treated_from``. ``controls`` are time-varying covariates (optional).

    ``method="twfe"``: y_it = a_i + b_t + tau * D_it (+ controls) + e_it. Under parallel trends and an effect
    that is the same for every cohort and period, tau is the average effect on the treated. With staggered
    adoption and effects that vary by cohort or with time since first use, tau is a weighted average of
    cohort-period effects with possibly negative weights (Goodman-Bacon 2021): use ``method="etwfe"``.
    Units treated from before their first observed period (always treated) have no untreated period;
    TWFE keeps them (they inform the period effects), ETWFE drops them.

    ``method="etwfe"`` (Wooldridge 2021): one dummy per treated cohort x period cell; the estimate is the
    average of the cell effects weighted by treated observations, that is the mean effect over treated
    unit-periods. Its comparisons are the never-treated and not-yet-treated units, so it is unbiased under
    parallel trends whatever the effect heterogeneity. Periods in which no unit is untreated cannot be
    compared and are dropped. ``diagnostics['cells']`` lists the cell effects.

    Standard errors are clustered by unit (CR1 with the absorbed unit effects not counted, as they are
    nested in the clusters) with a t interval on G-1 degrees of freedom. The standardised effect divides by
    the SD of the outcome among untreated unit-periods, pooled within periods.

    With few treated units the clustered interval is far too narrow (two treated schools: TWFE covered 62%,
    ETWFE 33%). ``placebo_draws`` > 0 adds a randomisation-inference p-value (placebo in space,
    :func:`cpdeval.estimators.placebo_p_value`) in ``diagnostics['placebo']``: the treated units' first-treated
    periods are given to other units and the estimate recomputed, exactly over every assignment when
    there are at most ``placebo_draws`` of them.
    """
    what = "did_panel"
    method = method.lower()
    if method not in ("twfe", "etwfe"):
        raise ValueError(f"{what}: method must be 'twfe' or 'etwfe'; got {method!r}")
    P0 = _panel(panel, outcome, unit, time, treated_from, controls, what)
    est, se, G, diag, P, D = _did_fit(P0, method, list(controls), level, what)
    treated_units = np.unique(P.unit[D])
    ever = np.unique(P.unit[~np.isnan(P.g)])
    never = np.setdiff1d(np.unique(P.unit), ever)
    periods = np.unique(P.t)
    diag.update({"n_obs": int(P.y.size), "n_units": int(np.unique(P.unit).size), "n_clusters": int(G),
                 "n_treated_obs": int(D.sum()), "periods": [float(p) for p in periods],
                 "cohorts": sorted({float(x) for x in P.g[~np.isnan(P.g)]}),
                 "n_never_treated_units": int(never.size)})
    if placebo_draws:
        diag["placebo"] = _placebo(P0, method, list(controls), level, what, int(placebo_draws), seed)
    label = ("DiD, two-way fixed effects" if method == "twfe"
             else "DiD, extended TWFE (cohort x period effects; Wooldridge 2021)")
    return make_estimate(label, outcome, est, se, df=float(G - 1), n_treated=int(treated_units.size),
                         n_control=int(never.size), sd_outcome=_pooled_sd(P.y, P.t, ~D), level=level,
                         se_method="cluster-robust by unit (CR1), t with G-1 df", diagnostics=diag)


def _placebo(P0: _Panel, method: str, controls: list[str], level: float, what: str, draws: int, seed: int) -> dict:
    """Placebo-in-space p-value of a DiD estimate: the treated units' first-treated periods given to other units."""
    from .small_sample import placebo_p_value

    n_units = int(P0.unit.max()) + 1
    g_unit = np.full(n_units, np.nan)
    g_unit[P0.unit] = P0.g

    def estimate_for(assignment: np.ndarray) -> float:
        Pp = _Panel(y=P0.y, unit=P0.unit, t=P0.t, g=assignment[P0.unit], Z=P0.Z,
                    n_dropped_missing=P0.n_dropped_missing, n_singletons=P0.n_singletons, unit_labels=P0.unit_labels)
        try:
            return _did_fit(Pp, method, controls, level, what)[0]
        except ValueError:        # a placebo assignment with no comparison: it cannot be more extreme
            return 0.0

    return placebo_p_value(estimate_for, g_unit, draws=draws, seed=seed)


def _did_fit(P: _Panel, method: str, ctrl_names: list[str], level: float, what: str):
    """The DiD estimate on a parsed panel: estimate, SE, clusters, diagnostics, and the panel and treatment
    indicator actually used (ETWFE drops always-treated units and periods without comparison)."""
    periods = np.unique(P.t)
    if periods.size < 2:
        raise ValueError(f"{what}: the panel has a single period")
    D = (~np.isnan(P.g)) & (P.t >= np.where(np.isnan(P.g), np.inf, P.g))
    diag: dict[str, Any] = {"method": method, "n_dropped_missing": P.n_dropped_missing,
                            "n_singleton_units": P.n_singletons}
    n_always = int(np.unique(P.unit[(~np.isnan(P.g)) & (P.g <= periods[0])]).size)
    if method == "twfe":
        T, tnames = _period_dummies(P.t, periods)
        X = np.column_stack([D.astype(float), T, P.Z])
        names = ["treated", *tnames, *ctrl_names]
        beta, V, G = _fit_fe(P, X, names, what)
        est, se = float(beta[0]), math.sqrt(V[0, 0])
        diag["n_always_treated_units"] = n_always
        diag["controls"] = dict(zip(ctrl_names, map(float, beta[1 + T.shape[1]:])))
        used = np.ones(P.y.size, dtype=bool)
    else:
        # drop always-treated units and periods with no untreated unit
        always = (~np.isnan(P.g)) & (P.g <= periods[0])
        untreated_periods = np.unique(P.t[~D & ~always])
        used = ~always & np.isin(P.t, untreated_periods)
        dropped_periods = sorted(set(periods.tolist()) - set(untreated_periods.tolist()))
        P = _Panel(y=P.y[used], unit=P.unit[used], t=P.t[used], g=P.g[used], Z=P.Z[used],
                   n_dropped_missing=P.n_dropped_missing, n_singletons=P.n_singletons, unit_labels=P.unit_labels)
        # re-code units and drop new singletons
        codes, inv = np.unique(P.unit, return_inverse=True)
        cnt = np.bincount(inv)
        ok = cnt[inv] >= 2
        P = _Panel(y=P.y[ok], unit=np.unique(inv[ok], return_inverse=True)[1], t=P.t[ok], g=P.g[ok], Z=P.Z[ok],
                   n_dropped_missing=P.n_dropped_missing, n_singletons=P.n_singletons, unit_labels=P.unit_labels)
        D = (~np.isnan(P.g)) & (P.t >= np.where(np.isnan(P.g), np.inf, P.g))
        periods = np.unique(P.t)
        cells = sorted({(float(a), float(b)) for a, b in zip(P.g[D], P.t[D])})
        if not cells:
            raise ValueError(f"{what}: no treated unit-periods with an untreated comparison")
        C = np.column_stack([((P.g == a) & (P.t == b)).astype(float) for a, b in cells])
        T, tnames = _period_dummies(P.t, periods)
        X = np.column_stack([C, T, P.Z])
        names = [f"cell[{a:g},{b:g}]" for a, b in cells] + tnames + ctrl_names
        beta, V, G = _fit_fe(P, X, names, what)
        k = len(cells)
        n_cell = C.sum(axis=0)
        wts = n_cell / n_cell.sum()
        est = float(wts @ beta[:k])
        se = math.sqrt(float(wts @ V[:k, :k] @ wts))
        sds = np.sqrt(np.diag(V)[:k])
        crit = critical_value(level, G - 1)
        diag["cells"] = pl.DataFrame({"cohort": [a for a, _ in cells], "period": [b for _, b in cells],
                                      "n": n_cell.astype(np.int64), "weight": wts, "estimate": beta[:k],
                                      "std_error": sds, "ci_low": beta[:k] - crit * sds,
                                      "ci_high": beta[:k] + crit * sds})
        diag["n_always_treated_units_dropped"] = n_always
        diag["dropped_periods"] = dropped_periods
        diag["controls"] = dict(zip(ctrl_names, map(float, beta[k + T.shape[1]:])))
    return est, se, G, diag, P, D


# =========================================================================== event study

@dataclass(frozen=True)
class EventStudy:
    """Effects by period relative to first treatment (0 = first treated period), reference period = 0 by construction.

    ``table``: rel_time, estimate, std_error, ci_low, ci_high, n_obs (treated-cohort observations in the
    bin), is_reference, binned (the end bins include everything beyond them). ``pretrend_p``: Wald test that
    every pre-period coefficient (other than the reference) is zero (F with G-1 denominator df); a small
    p-value warns that treated and comparison schools were already diverging. ``post_average``: the
    equally weighted mean of the coefficients from period 0 on.
    """

    outcome: str
    reference: int
    window: tuple[int, int]
    table: pl.DataFrame
    pretrend_f: float
    pretrend_df: tuple[int, int]
    pretrend_p: float
    post_average: Estimate
    sd_outcome: float
    level: float
    diagnostics: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "diagnostics", MappingProxyType(dict(self.diagnostics)))

    def coefficient(self, rel_time: int) -> dict[str, Any]:
        rows = self.table.filter(pl.col("rel_time") == rel_time).to_dicts()
        if not rows:
            raise KeyError(f"no relative period {rel_time} in the event study (window {self.window})")
        return rows[0]


def event_study(panel: pl.DataFrame, outcome: str, unit: str, time: str, first_treated: str,
                window: tuple[int, int] = (-3, 3), reference: int = -1, *, bin_endpoints: bool = True,
                controls: Sequence[str] = (), level: float = 0.95) -> EventStudy:
    """Event-study regression: unit and period fixed effects plus one dummy per relative period.

    Relative period r = time - first_treated (in periods; ``2016-17`` labels count in years). Dummies for
    every r in ``window`` except ``reference`` (default -1, the last period before first treatment); with
    ``bin_endpoints`` the end dummies also take every observation beyond the window (r <= low, r >= high),
    so the model stays a complete description of treated units (Schmidheiny and Siegloch 2023); without,
    treated-unit observations outside the window are dropped. Never-treated units have every dummy 0
    and anchor the period effects, as do not-yet-treated ones. Clustered by unit; t on G-1 df.

    Caveat: with staggered adoption and effects that differ by cohort, TWFE event-study coefficients can mix
    effects from other periods (Sun and Abraham 2021); with a common effect path they are unbiased.
    """
    what = "event_study"
    lo, hi = int(window[0]), int(window[1])
    if not lo < 0 <= hi:
        raise ValueError(f"{what}: window must run from a negative period to zero or later; got {window!r}")
    if not lo <= reference < 0:
        raise ValueError(f"{what}: reference must be a pre-period inside the window; got {reference!r}")
    P = _panel(panel, outcome, unit, time, first_treated, controls, what)
    ever = ~np.isnan(P.g)
    rel = np.where(ever, P.t - np.where(ever, P.g, 0), np.nan)
    if not bin_endpoints:
        inside = ~ever | ((rel >= lo) & (rel <= hi))
        P = _Panel(y=P.y[inside], unit=np.unique(P.unit[inside], return_inverse=True)[1], t=P.t[inside],
                   g=P.g[inside], Z=P.Z[inside], n_dropped_missing=P.n_dropped_missing,
                   n_singletons=P.n_singletons, unit_labels=P.unit_labels)
        ever = ~np.isnan(P.g)
        rel = np.where(ever, P.t - np.where(ever, P.g, 0), np.nan)
    relb = np.where(ever, np.clip(rel, lo, hi), np.nan)
    rs = [r for r in range(lo, hi + 1) if r != reference]
    R = np.column_stack([(relb == r).astype(float) for r in rs])
    periods = np.unique(P.t)
    T, tnames = _period_dummies(P.t, periods)
    X = np.column_stack([R, T, P.Z])
    names = [f"rel[{r}]" for r in rs] + tnames + list(controls)
    try:
        beta, V, G = _fit_fe(P, X, names, what)
    except ValueError as exc:
        raise ValueError(f"{exc}. Without never-treated units an event study cannot identify every relative "
                         "period; narrow the window or add never-treated units") from None
    k = len(rs)
    b, se = beta[:k], np.sqrt(np.diag(V)[:k])
    dof = float(G - 1)
    crit = critical_value(level, dof)
    n_bin = [int((relb == r).sum()) for r in range(lo, hi + 1)]
    rows = []
    for r, n_r in zip(range(lo, hi + 1), n_bin):
        binned = bin_endpoints and (r == lo or r == hi)
        if r == reference:
            rows.append((r, 0.0, None, None, None, None, n_r, True, binned))
        else:
            j = rs.index(r)
            rows.append((r, float(b[j]), float(se[j]), float(b[j] - crit * se[j]), float(b[j] + crit * se[j]),
                         p_value(float(b[j] / se[j]), dof) if se[j] > 0 else math.nan, n_r, False, binned))
    table = pl.DataFrame(rows, schema={"rel_time": pl.Int64, "estimate": pl.Float64, "std_error": pl.Float64,
                                       "ci_low": pl.Float64, "ci_high": pl.Float64, "p_value": pl.Float64,
                                       "n_obs": pl.Int64, "is_reference": pl.Boolean, "binned": pl.Boolean},
                         orient="row")
    from scipy import stats

    pre = [rs.index(r) for r in rs if r < 0]
    if pre:
        bp, Vp = b[pre], V[np.ix_(pre, pre)]
        F = float(bp @ np.linalg.solve(Vp, bp)) / len(pre)
        pf = float(stats.f.sf(F, len(pre), dof))
    else:
        F, pf = math.nan, math.nan
    post = [rs.index(r) for r in rs if r >= 0]
    c = np.zeros(len(beta))
    c[post] = 1 / len(post)
    D = ever & (rel >= 0)
    sd = _pooled_sd(P.y, P.t, ~D)
    post_avg = make_estimate("event study: mean of post-period coefficients", outcome, float(c @ beta),
                             math.sqrt(float(c @ V @ c)), df=dof, n_treated=int(np.unique(P.unit[ever]).size),
                             n_control=int(np.unique(P.unit[~ever]).size), sd_outcome=sd, level=level,
                             se_method="cluster-robust by unit (CR1), t with G-1 df")
    diag = {"n_obs": int(P.y.size), "n_units": int(np.unique(P.unit).size), "n_clusters": int(G),
            "periods": [float(p) for p in periods], "n_dropped_missing": P.n_dropped_missing,
            "n_singleton_units": P.n_singletons, "bin_endpoints": bin_endpoints}
    return EventStudy(outcome=outcome, reference=reference, window=(lo, hi), table=table, pretrend_f=F,
                      pretrend_df=(len(pre), int(dof)), pretrend_p=pf, post_average=post_avg, sd_outcome=sd,
                      level=level, diagnostics=diag)


def pretrend_words(result: EventStudy) -> str:
    """What the pre-period estimates say, in words that never contradict the table: "no sign" only when the
    joint test does not reject and no single pre-period interval excludes zero."""
    pre = result.table.filter((pl.col("rel_time") < 0) & ~pl.col("is_reference"))
    any_off = bool(pre.height) and bool(((pre["ci_low"] > 0) | (pre["ci_high"] < 0)).any())
    if result.pretrend_p < 0.05:
        return "treated schools were already diverging before first use"
    if any_off:
        return "some years before first use already differ from zero, so earlier trends may not have been parallel"
    return "no sign of diverging trends before first use"


def event_study_plot(result: EventStudy, path: str | Path, *, title: str | None = None, units: str = "",
                     caption: str | None = None, alt_text: str | None = None, label: str | None = None,
                     source: str = "School performance tables; programme booking records",
                     xlabel: str = "Years relative to the first year after first use") -> Path:
    """Coefficients with their intervals by relative period; the reference period drawn hollow at zero.

    The default title states the finding: whether the pre-period coefficients are jointly
    distinguishable from zero and the average post-period effect.
    """
    from cpdeval import display
    from cpdeval.figures import BLUE, GREY, finding_title, new_figure, save_figure

    tab = result.table
    fig, ax = new_figure("line", height_cm=8.5)
    est = tab.filter(~pl.col("is_reference"))
    x = est["rel_time"].to_numpy()
    yv = est["estimate"].to_numpy()
    lo, hi = est["ci_low"].to_numpy(), est["ci_high"].to_numpy()
    ax.axhline(0, color=GREY, linewidth=0.8)
    ax.axvline(-0.5, color=GREY, linewidth=0.8, linestyle="--")
    ax.errorbar(x, yv, yerr=[yv - lo, hi - yv], fmt="o", color=BLUE, ecolor=BLUE, elinewidth=1.5, capsize=3,
                markersize=5, label=f"Estimate with {result.level:.0%} confidence interval")
    ax.plot([result.reference], [0], marker="o", markersize=6, markerfacecolor="white", markeredgecolor=BLUE,
            linestyle="none", label="Reference period")
    ticks = tab["rel_time"].to_list()
    labels = []
    for r, binned in zip(ticks, tab["binned"].to_list()):
        labels.append((f"≤{r}" if r < 0 else f"≥{r}") if binned else str(r))
    ax.set_xticks(ticks, labels)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"Difference from reference period{(' (' + units + ')') if units else ''}")
    ax.legend(loc="upper left", bbox_to_anchor=(0, -0.18), ncol=3)   # below the axes: never over the data
    pa = result.post_average
    if title is None:
        pre = pretrend_words(result)
        title = (f"Event study: {pre}; average effect afterwards "
                 f"{display.fmt_number(pa.estimate, 2, signed=True)}{(' ' + units) if units else ''}")
    finding_title(ax, title)
    return save_figure(fig, path, alt_text=alt_text or (
        f"Event-study coefficients for {label or result.outcome} from {result.window[0]} to {result.window[1]} periods around "
        f"first treatment, with {result.level:.0%} intervals; pre-trend test p = {result.pretrend_p:.2f}; mean "
        f"post-period effect {pa.estimate:.2f} ({pa.ci_low:.2f} to {pa.ci_high:.2f})."),
        caption=caption or ("Event study: difference between treated and comparison schools by year relative to "
                            "treatment, unit and year fixed effects, standard errors clustered by school."),
        source=source, n={"units": result.diagnostics["n_units"], "observations": result.diagnostics["n_obs"]})
