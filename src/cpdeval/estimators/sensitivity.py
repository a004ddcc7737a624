"""Sensitivity to unmeasured confounding: the E-value (VanderWeele and Ding 2017).

The E-value is the minimum strength of association, on the risk-ratio scale, that an unmeasured
confounder would need to have with both the treatment and the outcome, conditional on the measured
covariates, to fully explain away an observed association. For a risk ratio RR > 1,
E = RR + sqrt(RR * (RR - 1)); for RR < 1 the same formula is applied to 1/RR. The E-value for the
confidence interval uses the limit closer to the null, and is 1 when the interval includes the null.

A standardised mean difference d is first converted to an approximate risk ratio RR = exp(0.91 d)
(VanderWeele and Ding 2017, after Hasselblad and Hedges 1995), and its interval limits likewise.

A confounder with risk ratios RR_EU (with the treatment) and RR_UD (with the outcome) can shift the
estimate by at most the bias factor B = RR_EU * RR_UD / (RR_EU + RR_UD - 1) (Ding and VanderWeele 2016);
:func:`confounding_table` lists, for given RR_EU, the RR_UD needed for B to reach the estimate (and its
interval limit), and :func:`sensitivity_plot` draws those curves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import polars as pl

from ._core import Estimate

__all__ = ["EValue", "e_value", "e_value_from_estimate", "bias_factor", "confounding_table", "sensitivity_plot",
           "SMD_TO_LOG_RR"]

#: log risk ratio per unit of standardised mean difference (VanderWeele and Ding 2017)
SMD_TO_LOG_RR = 0.91


@dataclass(frozen=True)
class EValue:
    """E-values for an estimate and its interval.

    ``rr``, ``rr_ci_low``, ``rr_ci_high``: the estimate and interval on the risk-ratio scale (after
    conversion). ``e_value``: for the estimate. ``e_value_ci``: for the interval limit nearer to 1
    (1.0 when the interval includes 1: no confounding is needed to move it to the null).
    """

    scale: str
    estimate: float
    ci_low: float | None
    ci_high: float | None
    rr: float
    rr_ci_low: float | None
    rr_ci_high: float | None
    e_value: float
    e_value_ci: float | None

    def as_row(self) -> dict:
        return {k: getattr(self, k) for k in ("scale", "estimate", "ci_low", "ci_high", "rr", "rr_ci_low",
                                              "rr_ci_high", "e_value", "e_value_ci")}


def _e(rr: float) -> float:
    if not (rr > 0 and math.isfinite(rr)):
        raise ValueError(f"a risk ratio must be positive and finite; got {rr!r}")
    r = rr if rr >= 1 else 1 / rr
    return r + math.sqrt(r * (r - 1))


def _to_rr(x: float | None, scale: str, rare: bool) -> float | None:
    if x is None:
        return None
    x = float(x)
    if scale == "rr":
        return x
    if scale == "smd":
        return math.exp(SMD_TO_LOG_RR * x)
    if scale == "or":
        return x if rare else math.sqrt(x)
    raise ValueError(f"scale must be 'rr', 'smd' or 'or'; got {scale!r}")


def e_value(estimate: float, ci_low: float | None = None, ci_high: float | None = None, *, scale: str = "rr",
            rare: bool = False) -> EValue:
    """E-value of an estimate (and of its confidence interval when a limit is given).

    ``scale``: ``"rr"`` risk ratio; ``"smd"`` standardised mean difference (converted by RR = exp(0.91 d));
    ``"or"`` odds ratio (taken as a risk ratio when ``rare`` outcomes, else converted by its square root,
    as VanderWeele and Ding advise for common outcomes).
    """
    scale = scale.lower()
    rr = _to_rr(estimate, scale, rare)
    lo, hi = _to_rr(ci_low, scale, rare), _to_rr(ci_high, scale, rare)
    for v, name in ((lo, "ci_low"), (hi, "ci_high")):
        if v is not None and not (v > 0 and math.isfinite(v)):
            raise ValueError(f"{name} gives a risk ratio that is not positive and finite")
    if lo is not None and hi is not None and lo > hi:
        raise ValueError("ci_low is above ci_high")
    if lo is not None and lo > rr or hi is not None and hi < rr:
        raise ValueError("the interval does not contain the estimate")
    e_ci = None
    if rr >= 1 and lo is not None:
        e_ci = 1.0 if lo <= 1 else _e(lo)
    elif rr < 1 and hi is not None:
        e_ci = 1.0 if hi >= 1 else _e(hi)
    elif lo is not None or hi is not None:
        # only the far limit given: it cannot tell whether the interval crosses 1
        e_ci = None
    return EValue(scale=scale, estimate=float(estimate), ci_low=None if ci_low is None else float(ci_low),
                  ci_high=None if ci_high is None else float(ci_high), rr=rr, rr_ci_low=lo, rr_ci_high=hi,
                  e_value=_e(rr), e_value_ci=e_ci)


def e_value_from_estimate(est: Estimate) -> EValue:
    """E-value of an :class:`Estimate` through its standardised difference and interval."""
    return e_value(est.smd, est.smd_ci_low, est.smd_ci_high, scale="smd")


def bias_factor(rr_eu: float | np.ndarray, rr_ud: float | np.ndarray):
    """Largest factor by which a confounder with these risk ratios can move a risk ratio (Ding and VanderWeele 2016)."""
    return rr_eu * rr_ud / (rr_eu + rr_ud - 1)


def _needed_ud(target: float, rr_eu: float) -> float:
    """RR_UD at which the bias factor with RR_EU reaches ``target`` (inf if RR_EU is not above the target)."""
    if target <= 1:
        return 1.0
    if rr_eu <= target:
        return math.inf
    return target * (rr_eu - 1) / (rr_eu - target)


def confounding_table(ev: EValue, rr_eu: Sequence[float] = (1.1, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0)
                      ) -> pl.DataFrame:
    """For each treatment-confounder risk ratio, the confounder-outcome risk ratio needed to explain away
    the estimate (``rr_ud_estimate``) and to move the interval to include the null (``rr_ud_ci``).

    ``inf`` means no confounder that weak with the treatment could do it, however strong its link with the
    outcome. The row where both ratios are equal is the E-value.
    """
    target = ev.rr if ev.rr >= 1 else 1 / ev.rr
    lim = ev.rr_ci_low if ev.rr >= 1 else (None if ev.rr_ci_high is None else 1 / ev.rr_ci_high)
    rows = []
    for a in rr_eu:
        rows.append({"rr_eu": float(a), "rr_ud_estimate": _needed_ud(target, a),
                     "rr_ud_ci": None if lim is None else _needed_ud(lim, a)})
    return pl.DataFrame(rows, schema={"rr_eu": pl.Float64, "rr_ud_estimate": pl.Float64, "rr_ud_ci": pl.Float64},
                        orient="row")


def sensitivity_plot(ev: EValue, path: str | Path, *, title: str | None = None, caption: str | None = None,
                     alt_text: str | None = None, source: str = "E-value calculation (VanderWeele and Ding 2017)",
                     max_rr: float | None = None) -> Path:
    """Curves of the confounder strengths (RR_EU, RR_UD) that would explain away the estimate and the CI limit.

    Any confounder above a curve could account for the estimate (or move the interval to the null); the
    marked point on each curve is the E-value.
    """
    from cpdeval import display
    from cpdeval.figures import BLUE, GREY, ORANGE, finding_title, new_figure, save_figure

    target = ev.rr if ev.rr >= 1 else 1 / ev.rr
    lim = ev.rr_ci_low if ev.rr >= 1 else (None if ev.rr_ci_high is None else 1 / ev.rr_ci_high)
    top = max_rr or max(3.0, math.ceil(ev.e_value * 2.5))
    fig, ax = new_figure("scatter", height_cm=9.0)
    curves = [(target, ev.e_value, BLUE, "Explains away the estimate")]
    if lim is not None and lim > 1:
        curves.append((lim, ev.e_value_ci, ORANGE, "Moves the interval to include no effect"))
    for tgt, e, colour, label in curves:
        a = np.linspace(tgt * 1.0005, top, 400)
        b = tgt * (a - 1) / (a - tgt)
        m = b <= top
        ax.plot(a[m], b[m], color=colour, label=f"{label} (E-value {display.fmt_number(e, 2)})")
        ax.plot([e], [e], marker="o", color=colour)
    ax.plot([1, top], [1, top], color=GREY, linewidth=0.6, linestyle=":")
    ax.set_xlim(1, top)
    ax.set_ylim(1, top)
    ax.set_xlabel("Confounder's association with using the programme (risk ratio)")
    ax.set_ylabel("Confounder's association with the outcome (risk ratio)")
    ax.legend(loc="upper right")
    if title is None:
        title = (f"An unmeasured confounder would need risk ratios of {display.fmt_number(ev.e_value, 1)} with both "
                 "use and outcome to explain the estimate away")
    finding_title(ax, title)
    return save_figure(fig, path, alt_text=alt_text or (
        f"Curves of confounder strengths that would explain away the estimate (E-value {ev.e_value:.2f})"
        + (f" and move its interval to include no effect (E-value {ev.e_value_ci:.2f})" if ev.e_value_ci else "") + "."),
        caption=caption or ("Sensitivity to unmeasured confounding: combinations of confounder strength above a curve "
                            "could account for the estimate."), source=source, n=None)
