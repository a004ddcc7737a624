"""Attainment chapter (issue #7): KS4 outcomes of schools that used the programme and schools that did not.

Two parts, as in the chapter:

* **as published** (seed 000 §3.4, Fig 5): four user groups (national only, regional only, both, none) by the
  providers a school used in the window; the level of each outcome in the outcome year and its change over
  the window, by group, pupil-weighted and as a mean of schools, with counts and 95% intervals;
* **beyond the published method** (seed 000 §8.8): the naive user/non-user difference against adjusted
  estimates (regression with controls, propensity-score matching and weighting, difference-in-differences on
  the school panel), a balance table, an event study and an overlap figure.

The window rule (``window_financial_years``): for outcome academic year ``Y0-Y1`` (exams in summer ``Y1``) the
window is the ``window_years`` financial years that *end* (31 March ``Y1`` at the latest) before the outcome
year's exams, i.e. FY ``Y0-Y1`` and the ``window_years - 1`` before it. For 2018-19 with 3 years:
FY 2016-17, 2017-18, 2018-19. The change is the outcome year minus the academic year ``window_years - 1``
earlier (2018-19 minus 2016-17), over schools with both years (a consistent series).

For the panel, a school is treated from the academic year that starts after its first financial year of
attended use (FY 2015-16 -> from 2016-17), as in :mod:`cpdeval.estimators`.

Schools: state-funded mainstream KS4 rows (``rectype`` 1) not in the independent type group, followed by the
lineage's ``school_key`` so an academy conversion keeps one series.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import polars as pl

from .jobio import job_value, write_table

DEFAULT_MEASURES = ["pct_ebacc_2sci", "pct_5em", "sci_va"]
MEASURE_LABEL = {"pct_ebacc_2sci": "EBacc two sciences (% of pupils)",
                 "pct_5em": "5+ good GCSEs incl. English and maths (% of pupils)",
                 "sci_va": "Science value added (score)"}
GROUPS = ["both", "national_only", "regional_only", "none"]
BANDS = ["none", "Q1", "Q2", "Q3", "Q4"]
GROUP_LABEL = {"both": "Both national and regional", "national_only": "National only",
               "regional_only": "Regional only", "none": "No programme CPD"}
CONTROLS = ["ks2_aps", "pct_fsm", "log_pupils", "urban"]
CATEGORICAL = ["ofsted", "region", "type_group"]
# the propensity model (matching, weighting, balance) uses numeric covariates only: with about a hundred
# secondaries a year in the small synthetic year, region and type dummies leave empty cells after trimming
PS_COVARIATES = ["ks2_aps", "pct_fsm", "log_pupils", "urban", "good_ofsted"]
SOURCE = "DfE KS4 performance tables; GIAS register; programme booking records"

OUTPUT_TABLES = ("panel", "groups", "descriptive", "descriptive_intensity", "estimates", "balance", "event_study", "evalues")


def _fy_start(label: str) -> int:
    return int(str(label)[:4])


def _fy_label(start: int) -> str:
    return f"{start}-{str(start + 1)[-2:]}"


def window_financial_years(outcome_year: str, window_years: int = 3) -> list[str]:
    """Financial years of the window for an outcome academic year (see the module docstring)."""
    y0 = _fy_start(outcome_year)
    return [_fy_label(s) for s in range(y0 - window_years + 1, y0 + 1)]


def settings(cfg: Mapping[str, Any] | None, attainment_years: Sequence[str]) -> dict:
    """The ``attainment:`` config section with its defaults filled in."""
    cfg = dict(cfg or {})
    years = sorted(attainment_years)
    return {"outcome_year": cfg.get("outcome_year") or years[-1],
            "window_years": int(cfg.get("window_years", 3)),
            "measures": list(cfg.get("measures") or DEFAULT_MEASURES)}


# --------------------------------------------------------------------------- the school panel

def school_panel(attainment: pl.DataFrame, register: pl.DataFrame, lineage: pl.DataFrame | None,
                 measures: Sequence[str] = DEFAULT_MEASURES) -> pl.DataFrame:
    """One row per school_key and academic year: the measures (estimates with status ok), pupils, ks2_aps and
    the register controls. Where two URNs of one key report in the same year, the one with more pupils wins.
    """
    keep = sorted(set(measures) | {"pupils", "ks2_aps"})
    a = attainment.filter((pl.col("key_stage") == "ks4") & (pl.col("rectype") == 1)
                          & (pl.col("bound") == "estimate") & (pl.col("status") == "ok")
                          & pl.col("measure").is_in(keep) & pl.col("value").is_not_null())
    wide = (a.group_by(["urn", "academic_year", "measure"]).agg(pl.col("value").first())
            .pivot(on="measure", index=["urn", "academic_year"], values="value"))
    for m in keep:
        if m not in wide.columns:
            wide = wide.with_columns(pl.lit(None, dtype=pl.Float64).alias(m))
    reg = register.select("urn", "la_code", "pct_fsm", pl.col("pupils").alias("pupils_register"), "urban_rural",
                          "ofsted_rating", "region", "type_group", "status")
    indep = reg.filter(pl.col("type_group").fill_null("").str.contains("(?i)independent"))["urn"]
    wide = wide.filter(~pl.col("urn").is_in(indep.implode()))
    if lineage is not None and lineage.height:
        wide = wide.join(lineage.select("urn", "school_key"), on="urn", how="left")
        wide = wide.with_columns(pl.coalesce("school_key", "urn").alias("school_key"))
    else:
        wide = wide.with_columns(school_key=pl.col("urn"))
    wide = (wide.sort(["school_key", "academic_year", "pupils", "urn"], descending=[False, False, True, False],
                      nulls_last=True)
            .unique(["school_key", "academic_year"], keep="first", maintain_order=True))
    # register controls: one row per key, preferring an open establishment, then the newest URN
    if lineage is not None and lineage.height:
        reg = reg.join(lineage.select("urn", "school_key"), on="urn", how="left")
        reg = reg.with_columns(pl.coalesce("school_key", "urn").alias("school_key"))
    else:
        reg = reg.with_columns(school_key=pl.col("urn"))
    reg = (reg.with_columns(_open=(pl.col("status") == "open"))
           .sort(["school_key", "_open", "urn"], descending=[False, True, True])
           .unique("school_key", keep="first", maintain_order=True)
           .select("school_key", "la_code", "pct_fsm", "pupils_register", "urban_rural", "ofsted_rating", "region",
                   "type_group"))
    panel = wide.drop("urn").join(reg, on="school_key", how="left")
    pupils = pl.coalesce(pl.col("pupils"), pl.col("pupils_register").cast(pl.Float64))
    return (panel.with_columns(
        year=pl.col("academic_year").str.slice(0, 4).cast(pl.Int64),
        log_pupils=pl.when(pupils > 0).then(pupils.log()).otherwise(None),
        urban=pl.when(pl.col("urban_rural").is_null()).then(None)
        .otherwise((pl.col("urban_rural") == "urban").cast(pl.Float64)),
        ofsted=pl.col("ofsted_rating").cast(pl.Utf8).fill_null("none"),
        good_ofsted=pl.when(pl.col("ofsted_rating").is_null()).then(None)
        .otherwise((pl.col("ofsted_rating") <= 2).cast(pl.Float64)),
        region=pl.col("region").fill_null("unknown"),
        type_group=pl.col("type_group").fill_null("unknown"))
        .sort(["school_key", "academic_year"]))


# --------------------------------------------------------------------------- groups

def user_groups(school_year: pl.DataFrame, schools: pl.DataFrame | Sequence[int], outcome_year: str,
                window_years: int = 3) -> pl.DataFrame:
    """User group and intensity band of each school for the window before ``outcome_year``.

    ``schools``: the school keys to classify (a frame with ``school_key`` or a list). Group: ``both`` (units
    from the national and the regional parts in the window), ``national_only``, ``regional_only``, ``none``
    (no national or regional units; other providers only count as none). ``units_window``: all attended units
    in the window. ``intensity``: quartile of ``units_window`` among users (Q1 lowest; cut points at the 25th,
    50th and 75th percentiles of users, linear interpolation; a value on a cut point goes to the lower band),
    ``none`` for non-users. ``first_use_fy``/``treated_from``: first financial year of use in the data and the
    academic year (start year) from which the school counts as treated in the panel.
    """
    keys = schools["school_key"] if isinstance(schools, pl.DataFrame) else pl.Series("school_key", list(schools))
    keys = pl.DataFrame({"school_key": keys.unique().sort().cast(pl.Int64)})
    win = window_financial_years(outcome_year, window_years)
    sy = school_year.filter(pl.col("financial_year").is_in(win))
    agg = sy.group_by("school_key").agg(units_national=pl.col("units_national").sum(),
                                        units_regional=pl.col("units_regional").sum(),
                                        units_window=pl.col("units").sum())
    first = (school_year.filter(pl.col("units") > 0).group_by("school_key")
             .agg(first_use_fy=pl.col("financial_year").min()))
    g = (keys.join(agg, on="school_key", how="left").join(first, on="school_key", how="left")
         .with_columns(pl.col("units_national", "units_regional", "units_window").fill_null(0.0)))
    nat, regl = pl.col("units_national") > 0, pl.col("units_regional") > 0
    g = g.with_columns(group=pl.when(nat & regl).then(pl.lit("both")).when(nat).then(pl.lit("national_only"))
                       .when(regl).then(pl.lit("regional_only")).otherwise(pl.lit("none")))
    g = g.with_columns(user=pl.col("group") != "none",
                       treated_from=pl.col("first_use_fy").str.slice(0, 4).cast(pl.Int64) + 1)
    used = g.filter(pl.col("user"))["units_window"].to_numpy()
    if used.size:
        cuts = np.quantile(used, [0.25, 0.5, 0.75])
        band = np.searchsorted(cuts, g["units_window"].to_numpy(), side="left") + 1
        g = g.with_columns(intensity=pl.when(pl.col("user")).then(pl.Series([f"Q{b}" for b in band]))
                           .otherwise(pl.lit("none")))
    else:
        g = g.with_columns(intensity=pl.lit("none"))
    return g.select("school_key", "group", "user", "units_national", "units_regional", "units_window",
                    "intensity", "first_use_fy", "treated_from")


# --------------------------------------------------------------------------- descriptive comparison

def _mean_ci(y: np.ndarray, w: np.ndarray | None, level: float = 0.95) -> tuple[float, float, float]:
    """Mean (weighted when w is given) and a t interval on n-1 df; linearised variance for the weighted mean."""
    from scipy import stats

    n = y.size
    if n == 0:
        return math.nan, math.nan, math.nan
    if w is None:
        m = float(y.mean())
        se = float(y.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    else:
        m = float(np.sum(w * y) / np.sum(w))
        se = float(math.sqrt(n / (n - 1) * np.sum(w ** 2 * (y - m) ** 2) / np.sum(w) ** 2)) if n > 1 else math.nan
    if not math.isfinite(se):
        return m, math.nan, math.nan
    t = float(stats.t.ppf(0.5 + level / 2, n - 1))
    return m, m - t * se, m + t * se


def descriptive_comparison(panel: pl.DataFrame, groups: pl.DataFrame, outcome_year: str, window_years: int = 3,
                           measures: Sequence[str] = DEFAULT_MEASURES, *, by: str = "group") -> pl.DataFrame:
    """Level in the outcome year and change over the window, by group and overall ("all"), per measure.

    ``by``: ``group`` (the four user groups) or ``intensity`` (none and the quartiles of units among users, as
    in seed 001 Fig 11); the output column is ``group`` either way, and differences are from ``none``.

    One row per measure x stat (``level``/``change``) x group x weighting (``schools``: mean of schools;
    ``pupils``: pupil-weighted by the outcome year's KS4 pupils). ``n_schools``, ``n_pupils``, ``mean`` with a
    95% t interval, and for user groups the difference from ``none`` (``diff``, ``diff_ci_low/high``, Welch
    interval from :func:`cpdeval.estimators.naive_difference`). The change uses the schools with the measure
    in both the outcome year and the base year (``window_years - 1`` earlier).
    """
    from .estimators import naive_difference

    y0 = _fy_start(outcome_year)
    base_year = y0 - (window_years - 1)
    cur = panel.filter(pl.col("year") == y0)
    base = panel.filter(pl.col("year") == base_year)
    rows = []
    for m in measures:
        if m not in panel.columns:
            continue
        lvl = cur.select("school_key", "pupils", pl.col(m).alias("y"))
        chg = (cur.select("school_key", "pupils", pl.col(m).alias("y1"))
               .join(base.select("school_key", pl.col(m).alias("y0")), on="school_key", how="inner")
               .select("school_key", "pupils", (pl.col("y1") - pl.col("y0")).alias("y")))
        for stat, frame in (("level", lvl), ("change", chg)):
            f = (frame.join(groups.select("school_key", pl.col(by).alias("group")), on="school_key", how="inner")
                 .filter(pl.col("y").is_not_null() & pl.col("y").is_not_nan() & pl.col("pupils").is_not_null()
                         & (pl.col("pupils") > 0)))
            for grp in (GROUPS if by == "group" else BANDS) + ["all"]:
                sub = f if grp == "all" else f.filter(pl.col("group") == grp)
                y, w = sub["y"].to_numpy().astype(float), sub["pupils"].to_numpy().astype(float)
                for weighting in ("schools", "pupils"):
                    mean, lo, hi = _mean_ci(y, w if weighting == "pupils" else None)
                    d = (math.nan, math.nan, math.nan)
                    if grp not in ("none", "all"):
                        pair = f.filter(pl.col("group").is_in([grp, "none"])).with_columns(
                            t=pl.col("group") == grp)
                        n1 = int(pair["t"].sum())
                        if n1 >= 2 and pair.height - n1 >= 2:
                            r = naive_difference(pair, "y", "t", weight="pupils" if weighting == "pupils" else None)
                            d = (r.estimate, r.ci_low, r.ci_high)
                    rows.append({"measure": m, "stat": stat, "group": grp, "weighting": weighting,
                                 "n_schools": int(sub.height), "n_pupils": int(w.sum()) if w.size else 0,
                                 "mean": mean, "ci_low": lo, "ci_high": hi,
                                 "diff": d[0], "diff_ci_low": d[1], "diff_ci_high": d[2]})
    schema = {"measure": pl.Utf8, "stat": pl.Utf8, "group": pl.Utf8, "weighting": pl.Utf8, "n_schools": pl.Int64,
              "n_pupils": pl.Int64, "mean": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64,
              "diff": pl.Float64, "diff_ci_low": pl.Float64, "diff_ci_high": pl.Float64}
    out = pl.DataFrame(rows, schema=schema, orient="row")
    return out.with_columns(pl.col(c).fill_nan(None) for c in ("mean", "ci_low", "ci_high", "diff", "diff_ci_low",
                                                                "diff_ci_high"))


# --------------------------------------------------------------------------- adjusted estimates

def cross_section(panel: pl.DataFrame, groups: pl.DataFrame, outcome_year: str) -> pl.DataFrame:
    """The outcome year's schools with their group, user flag and controls (complete cases on the controls)."""
    y0 = _fy_start(outcome_year)
    need = sorted(set(CONTROLS) | set(PS_COVARIATES) | set(CATEGORICAL))
    return (panel.filter(pl.col("year") == y0).drop_nulls(need)
            .join(groups.select("school_key", "group", "user", "intensity", "units_window"), on="school_key",
                  how="inner")
            .with_columns(user=pl.col("user").cast(pl.Int64)))


def _safe(log, what, f):
    try:
        return f()
    except Exception as exc:  # an estimator that cannot run on this year's data is reported, not fatal
        if log is not None:
            log.warning("%s not estimated: %s", what, exc)
        return None


def adjusted_estimates(panel: pl.DataFrame, groups: pl.DataFrame, outcome_year: str,
                       measures: Sequence[str] = DEFAULT_MEASURES, *, controls: Sequence[str] = CONTROLS,
                       categorical: Sequence[str] = CATEGORICAL, logger=None) -> tuple[pl.DataFrame, dict]:
    """Naive and adjusted user/non-user estimates per measure (one results_frame row each, plus ``measure``
    and ``method_key``), and the fitted objects of the first measure for the balance table and figures.
    """
    from . import estimators as est

    cs = cross_section(panel, groups, outcome_year)
    pan = panel.join(groups.select("school_key", "treated_from"), on="school_key", how="inner")
    y_last = _fy_start(outcome_year)
    pan = pan.filter(pl.col("year") <= y_last)
    frames, fitted = [], {}
    for m in measures:
        if m not in cs.columns:
            continue
        runs = {
            "naive_schools": lambda: est.naive_difference(cs, m, "user"),
            "naive_pupils": lambda: est.naive_difference(cs, m, "user", weight="pupils"),
            "regression": lambda: est.regression_adjusted(cs, m, "user", list(controls), list(categorical),
                                                          cluster="la_code"),
            "psm": lambda: est.psm_match(cs, m, "user", PS_COVARIATES, replace=True),
            "ipw_att": lambda: est.ipw(cs, m, "user", PS_COVARIATES, estimand="ATT"),
            "did_twfe": lambda: est.did_panel(pan, m, "school_key", "year", "treated_from", method="twfe"),
            "did_etwfe": lambda: est.did_panel(pan, m, "school_key", "year", "treated_from", method="etwfe"),
        }
        results = {}
        for key, f in runs.items():
            r = _safe(logger, f"{key} for {m}", f)
            if r is not None:
                results[key] = r
        if not results:
            continue
        keys = list(results)
        frames.append(est.results_frame([results[k] for k in keys])
                      .with_columns(measure=pl.lit(m), method_key=pl.Series(keys)))
        if not fitted:
            fitted = {"measure": m, "cross_section": cs, "panel": pan, **results}
    cols = ["measure", "method_key", "method", "outcome", "estimate", "std_error", "ci_low", "ci_high", "p_value",
            "n_treated", "n_control", "sd_outcome", "smd", "smd_ci_low", "smd_ci_high", "level", "df", "se_method"]
    table = pl.concat(frames).select(cols) if frames else pl.DataFrame(schema={c: pl.Utf8 for c in cols})
    return table, fitted


def balance(fitted: Mapping[str, Any], controls: Sequence[str] = PS_COVARIATES,
            categorical: Sequence[str] = ()) -> pl.DataFrame:
    """Balance table (SMD before and after IPW ATT weighting, and after PSM) for the first measure's sample."""
    from . import estimators as est

    cs = fitted.get("cross_section")
    if cs is None:
        return pl.DataFrame()
    frames = []
    for key in ("ipw_att", "psm"):
        r = fitted.get(key)
        if r is None or r.weights is None or len(r.weights) != cs.height:
            continue
        frames.append(est.balance_table(cs, "user", list(controls), r, list(categorical)).with_columns(
            adjustment=pl.lit(key)))
    if not frames:
        frames.append(est.balance_table(cs, "user", list(controls), None, list(categorical))
                      .with_columns(adjustment=pl.lit("none")))
    return pl.concat(frames, how="diagonal_relaxed")


# --------------------------------------------------------------------------- stage

def attainment_tables(attainment: pl.DataFrame, register: pl.DataFrame, lineage: pl.DataFrame | None,
                      school_year: pl.DataFrame, cfg: Mapping[str, Any], *, logger=None) -> dict:
    """Every table of the chapter (see :data:`OUTPUT_TABLES`) plus the fitted objects and a summary."""
    from . import estimators as est

    s = cfg
    panel = school_panel(attainment, register, lineage, s["measures"])
    groups = user_groups(school_year, panel, s["outcome_year"], s["window_years"])
    desc = descriptive_comparison(panel, groups, s["outcome_year"], s["window_years"], s["measures"])
    desc_int = descriptive_comparison(panel, groups, s["outcome_year"], s["window_years"], s["measures"],
                                      by="intensity")
    estimates, fitted = adjusted_estimates(panel, groups, s["outcome_year"], s["measures"], logger=logger)
    bal = _safe(logger, "balance table", lambda: balance(fitted)) if fitted else None
    es = None
    if fitted:
        m = fitted["measure"]
        es = _safe(logger, "event study", lambda: est.event_study(fitted["panel"], m, "school_key", "year",
                                                                   "treated_from", window=(-3, 3)))
    es_table = pl.DataFrame()
    if es is not None:
        es_table = es.table if isinstance(getattr(es, "table", None), pl.DataFrame) else pl.DataFrame()
    ev_rows = []
    for key in ("regression", "ipw_att", "did_etwfe"):
        r = fitted.get(key) if fitted else None
        if r is None:
            continue
        ev = _safe(logger, f"E-value for {key}", lambda: est.e_value_from_estimate(r))
        if ev is not None:
            ev_rows.append({"measure": fitted["measure"], "method_key": key, "e_value": float(ev.e_value),
                            "e_value_ci": float(ev.e_value_ci)})
    evalues = pl.DataFrame(ev_rows, schema={"measure": pl.Utf8, "method_key": pl.Utf8, "e_value": pl.Float64,
                                            "e_value_ci": pl.Float64})
    g_out = groups.join(panel.filter(pl.col("year") == _fy_start(s["outcome_year"]))
                        .select("school_key", pl.lit(True).alias("in_outcome_year")), on="school_key", how="left")
    summary = {"outcome_year": s["outcome_year"], "window_years": s["window_years"],
               "window_financial_years": window_financial_years(s["outcome_year"], s["window_years"]),
               "base_year": _fy_label(_fy_start(s["outcome_year"]) - (s["window_years"] - 1)),
               "measures": s["measures"], "first_measure": fitted.get("measure") if fitted else None,
               "n_schools_panel": int(panel["school_key"].n_unique()),
               "n_schools_outcome_year": int(g_out["in_outcome_year"].fill_null(False).sum()),
               "panel_years": sorted(panel["academic_year"].unique().to_list()),
               "propensity_auc": None, "pretrend_p": None}
    if es is not None:
        summary["pretrend_p"] = getattr(es, "pretrend_p", None)
    if fitted:
        ps = _safe(logger, "propensity scores",
                   lambda: est.propensity_scores(fitted["cross_section"], "user", PS_COVARIATES))
        fitted["scores"] = ps
        if ps is not None:
            summary["propensity_auc"] = float(ps.auc)
    return {"panel": panel, "groups": groups, "descriptive": desc, "descriptive_intensity": desc_int,
            "estimates": estimates,
            "balance": bal if bal is not None else pl.DataFrame(), "event_study": es_table, "evalues": evalues,
            "summary": summary, "fitted": fitted, "event_study_result": es}


def _placeholder_figure(path, text: str) -> None:
    from .figures import new_figure, save_figure

    fig, ax = new_figure("bar", height_cm=4.0)
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center")
    save_figure(fig, path, alt_text=text, caption=text, source=SOURCE, n=None)


def run_attainment(job) -> None:
    """Stage of rule ``attainment_analysis``: tables (parquet), summary (json) and figures (PNG + sidecar)."""
    from . import estimators as est
    from .logs import step

    p, inp, out = job.params, job.input, job.output
    years = dict(job_value(p, "years"))
    cfg = settings(job_value(p, "attainment"), years.get("attainment") or [])
    with step(job.logger, "reading attainment, register, lineage and school-year engagement"):
        att = pl.read_parquet(job_value(inp, "attainment"))
        reg = pl.read_parquet(job_value(inp, "schools"))
        lin = pl.read_parquet(job_value(inp, "lineage"))
        sy = pl.read_parquet(job_value(inp, "school_year"))
    with step(job.logger, f"attainment comparisons for {cfg['outcome_year']}"):
        t = attainment_tables(att, reg, lin, sy, cfg, logger=job.logger)
    for name in OUTPUT_TABLES:
        write_table(t[name], job_value(out, name))
    Path(job_value(out, "summary")).write_text(json.dumps(t["summary"], indent=2, sort_keys=True, default=str) + "\n",
                                          encoding="utf-8")
    fitted = t["fitted"]
    with step(job.logger, "drawing figures"):
        es = t["event_study_result"]
        if es is not None:
            m = fitted["measure"]
            est.event_study_plot(es, job_value(out, "fig_event_study"),
                                 units="pp" if m.startswith("pct_") else "",
                                 caption=f"Event study: {MEASURE_LABEL.get(m, m)} by year relative to the first "
                                         "academic year after first use, against the year before (school and year "
                                         "fixed effects, 95% intervals clustered by school).",
                                 source=SOURCE)
        else:
            _placeholder_figure(job_value(out, "fig_event_study"), "The event study could not be estimated for this year.")
        ps = fitted.get("scores") if fitted else None
        if ps is not None:
            est.overlap_plot(ps, path=job_value(out, "fig_overlap"),
                             caption="Propensity of using the programme in the window, from school "
                                     "characteristics: users above the axis, non-users below.",
                             source="Propensity model fitted to school characteristics (GIAS register, KS2)")
        else:
            _placeholder_figure(job_value(out, "fig_overlap"), "The propensity model could not be fitted.")
