"""Figures of the attainment chapter, drawn from the tables of :func:`cpdeval.attainment.attainment_tables`.

One figure per configured comparison (the published charts: level in the outcome year and change over the
window, by group, mean of schools with 95% intervals), the top-quartile scatter (seed 001 Fig 13), and the
figures of the adjusted section (event study, overlap, dose-response, sensitivity). Groups with fewer schools
than the disclosure threshold are not drawn: their row says so.
"""

from __future__ import annotations

import math
import textwrap
from typing import Any, Mapping

import numpy as np
import polars as pl

from . import display
from .attainment import MEASURE_LABEL, SOURCE, SOURCE_KS
from .calendar import label_start, year_label
from .disclosure import count_value

SHORT_LABEL = {"pct_ebacc_2sci": "EBacc two sciences (%)", "pct_5em": "5+ incl. English and maths (%)",
               "sci_va": "Science value added", "att8": "Attainment 8", "p8": "Progress 8",
               "pct_triple_sci_entry": "Triple science entry (%)", "pct_sci_ta_exp": "KS2 science TA (%)",
               "pct_rwm_exp": "KS2 RWM expected (%)", "read_progress": "KS2 reading progress",
               "mat_progress": "KS2 maths progress"}


def _placeholder(path, text: str) -> None:
    from .figures import new_figure, save_figure

    fig, ax = new_figure("bar", height_cm=4.0)
    ax.axis("off")
    ax.text(0.5, 0.5, textwrap.fill(text, 80), ha="center", va="center")
    save_figure(fig, path, alt_text=text, caption=text, source=SOURCE, n=None)


def _fmt(m: str, v: float | None) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return display.SUPPRESSED
    return display.fmt_number(v, 1 if m.startswith("pct_") else 2)


def comparison_figure(table: pl.DataFrame, comparison: Mapping[str, Any], labels: Mapping[str, str],
                      summary: Mapping[str, Any], path, *, threshold: int, membership: pl.DataFrame) -> None:
    """Bars by group for each measure (rows) and for the level and the change (columns). A group is drawn only
    where the comparison's published table shows its count (:mod:`cpdeval.attainment_tables`), so the chart
    never gives away a count the table hides."""
    import matplotlib.pyplot as plt
    from matplotlib.layout_engine import TightLayoutEngine
    from matplotlib.ticker import MaxNLocator

    from .attainment_tables import change_breaks, comparison_table, shown_groups
    from .citations import cite
    from .figures import BLUE, GREY, LIGHT_GREY, ORANGE, CM, REPORT_WIDTH_CM, apply_house_style, save_figure

    apply_house_style()
    measures = [m for m in comparison["measures"] if m in table["measure"].unique().to_list()]
    if not measures:
        _placeholder(path, f"No results for the measures of '{comparison['title']}' in this year.")
        return
    groups = list(comparison["groups"])
    oy, base = summary["outcome_year"], summary["base_year"]
    source_text = cite(comparison["source"])
    published = comparison_table(table, comparison, labels, membership, outcome_year=oy, base_year=base,
                                 window=summary["window_financial_years"], threshold=threshold,
                                 source_text=source_text, record=False)
    height = 1.8 + len(measures) * (1.6 + 1.05 * len(groups))
    fig, axes = plt.subplots(len(measures), 2, figsize=(REPORT_WIDTH_CM * CM, height * CM), squeeze=False)
    n_shown: dict[str, str] = {}
    breaks = change_breaks(table)
    for i, m in enumerate(measures):
        shown = shown_groups(published, MEASURE_LABEL.get(m, m))
        for j, stat in enumerate(("level", "change")):
            ax = axes[i][j]
            if stat == "change" and m in breaks:
                # a break in the series between the two years: no change to draw, and the panel says so
                ax.text(0.5, 0.5, textwrap.fill(f"No change: not comparable between {base} and {oy} (a break in "
                                                "the series)", 24),
                        ha="center", va="center", transform=ax.transAxes, color=GREY)
                ax.set_xticks([])
                ax.set_yticks([])
                for side in ("left", "bottom"):
                    ax.spines[side].set_visible(False)
                ax.set_xlabel(f"Change since {base}")
                continue
            d = table.filter((pl.col("measure") == m) & (pl.col("stat") == stat) & (pl.col("weighting") == "schools"))
            by = {r["group"]: r for r in d.iter_rows(named=True)}
            ypos = np.arange(len(groups))[::-1]
            bars: dict[bool, list] = {True: [], False: []}    # with an interval or without: y, mean, colour, err
            for y, g in zip(ypos, groups):
                r = by.get(g)
                cell = shown.get(labels.get(g, g), display.SUPPRESSED)
                if stat == "level" and i == 0:
                    n_shown[labels.get(g, g)] = cell
                if r is None or r["mean"] is None or cell == display.SUPPRESSED:
                    if j == 0:
                        ax.text(0, y, " not shown: too few schools", va="center", color=GREY)
                    continue
                colour = ORANGE if g == comparison["reference"] else BLUE
                err = None
                if r["ci_low"] is not None and r["ci_high"] is not None:
                    err = (r["mean"] - r["ci_low"], r["ci_high"] - r["mean"])
                bars[err is not None].append((y, r["mean"], colour, err))
                # the value sits beyond the interval, on the bar's side of zero
                if r["mean"] >= 0:
                    ax.text(r["ci_high"] if err else r["mean"], y, f"  {_fmt(m, r['mean'])}", va="center", ha="left")
                else:
                    ax.text(r["ci_low"] if err else r["mean"], y, f"{_fmt(m, r['mean'])}  ", va="center", ha="right")
            # one barh call per panel (bars with an interval, then any without), not one per group: one container
            # and one set of error-bar lines per panel instead of one per bar is less to build and to draw, and as
            # no two bars overlap the PNG bytes are the same
            for with_err, rows in bars.items():
                if rows:
                    ys, means, colours, errs = zip(*rows)
                    ax.barh(ys, means, color=colours, height=0.6, ecolor=GREY, capsize=2,
                            xerr=np.array(errs).T if with_err else None)
            ax.axvline(0, color=LIGHT_GREY, linewidth=0.8)
            ax.set_yticks(ypos)
            if j == 0:
                ax.set_yticklabels([textwrap.fill(f"{labels.get(g, g)}"
                                                  + (f" (n={shown[labels.get(g, g)]})"
                                                     if shown.get(labels.get(g, g), "c") != display.SUPPRESSED else ""),
                                                  24) for g in groups])
                ax.set_title(SHORT_LABEL.get(m, m), loc="left", fontweight="bold")
            else:
                ax.set_yticklabels([])
            ax.margins(x=0.3)
            ax.set_ylim(-0.7, len(groups) - 0.3)
            ax.xaxis.set_major_locator(MaxNLocator(4))
            ax.grid(False, axis="y")
            ax.tick_params(axis="y", length=0)
            ax.set_xlabel(oy if stat == "level" else f"Change since {base}")
    # lay the panels out tightly once, as fig.tight_layout() would, but leave no layout engine on the figure:
    # tight_layout() leaves a placeholder engine behind, and savefig draws the whole figure an extra time for
    # any figure with an engine; without one, save_figure measures the crop box itself (same bytes, one draw
    # fewer per comparison)
    TightLayoutEngine().execute(fig)
    caption = (f"{comparison['title']}, as in {source_text}: mean of schools in {oy} and change since {base}, "
               f"with 95% intervals; the reference group ({labels.get(comparison['reference'])}) in orange. "
               f"{KS_PHASE[comparison['key_stage']]}"
               + "".join(f" No change is shown for {SHORT_LABEL.get(m, m)}: it cannot be compared between {base} and "
                         f"{oy} ({breaks[m]})." for m in measures if m in breaks))
    alt = (f"Bar charts of {', '.join(SHORT_LABEL.get(m, m) for m in measures)} by group "
           f"({', '.join(labels.get(g, g) for g in groups)}), level in {oy} and change since {base}.")
    save_figure(fig, path, alt_text=alt, caption=caption, source=SOURCE_KS[comparison["key_stage"]], n=n_shown)


KS_PHASE = {"ks4": "Secondary schools with KS4 results.", "ks2": "Primary schools with KS2 results."}


def top_quartile_figure(panel: pl.DataFrame, membership: pl.DataFrame, spec: Mapping[str, Any],
                        labels: Mapping[str, str], summary: Mapping[str, Any], path, *, threshold: int) -> int:
    """Seed 001 Fig 13, aggregated: the group's schools in bands of their level in the outcome year (each band at
    least ``threshold`` schools), each band's median one-year change with the range of its middle 80%. One
    point per school is not published: beside the public performance tables, a point gives a school's results
    away. Returns the number of schools summarised (none when fewer than the threshold)."""
    from .figures import BLUE, GREY, finding_title, new_figure, save_figure

    if not spec:
        _placeholder(path, "No top-quartile comparison is configured.")
        return 0
    m, ks, grp = spec["measure"], spec.get("key_stage", "ks4"), spec["group"]
    y0 = label_start(summary["outcome_year"])
    crossed = summary.get("top_quartile_break")
    if crossed:
        _placeholder(path, f"No one-year change of {SHORT_LABEL.get(m, m)} is shown: the measure cannot be compared "
                           f"between {year_label(y0 - 1)} and {summary['outcome_year']} ({crossed}).")
        return 0
    p = panel.filter(pl.col("key_stage") == ks)
    keys = membership.filter((pl.col("key_stage") == ks) & (pl.col("group") == grp))["school_key"]
    cur = p.filter((pl.col("year") == y0) & pl.col("school_key").is_in(keys.implode())).select("school_key", pl.col(m).alias("y1"))
    prev = p.filter(pl.col("year") == y0 - 1).select("school_key", pl.col(m).alias("y0"))
    d = cur.join(prev, on="school_key", how="inner").drop_nulls().filter(pl.col("y1").is_not_nan() & pl.col("y0").is_not_nan())
    if d.height < threshold:
        _placeholder(path, f"Fewer than {threshold} schools of the group had {SHORT_LABEL.get(m, m)} in both years.")
        return 0
    level, change = d["y1"].to_numpy(), (d["y1"] - d["y0"]).to_numpy()
    order = np.argsort(level, kind="stable")
    n_bands = int(max(1, min(5, d.height // threshold)))
    bands = np.array_split(order, n_bands)              # equal-sized bands, each of at least `threshold` schools
    mid = [float(np.median(level[b])) for b in bands]
    med = [float(np.median(change[b])) for b in bands]
    lo = [float(np.percentile(change[b], 10)) for b in bands]
    hi = [float(np.percentile(change[b], 90)) for b in bands]
    fig, ax = new_figure("scatter", height_cm=9.0)
    ax.vlines(mid, lo, hi, color=BLUE, linewidth=2, alpha=0.5)
    ax.plot(mid, med, "o", color=BLUE, markersize=6)
    ax.axhline(0, color=GREY, linewidth=0.7)
    ax.set_xlabel(f"{SHORT_LABEL.get(m, m)}, {summary['outcome_year']}")
    ax.set_ylabel(f"Change since {year_label(y0 - 1)}")
    spread = float(np.percentile(change, 90) - np.percentile(change, 10))
    finding_title(ax, textwrap.fill(f"Among the heaviest users, the middle 80% of one-year changes span "
                                    f"{_fmt(m, spread)} {'percentage points' if m.startswith('pct_') else 'points'}",
                                    60))
    save_figure(fig, path, alt_text=(f"{d.height} schools in {labels.get(grp, grp)} in {n_bands} bands of their "
                                     f"{SHORT_LABEL.get(m, m)}: each band's median one-year change and the range of "
                                     "its middle 80%."),
                caption=(f"{labels.get(grp, grp)}: {MEASURE_LABEL.get(m, m)} in {summary['outcome_year']} and its "
                         f"change over the last year, in {n_bands} equal-sized bands of schools (median change, and "
                         "the middle 80% of changes)."),
                source=SOURCE_KS[ks], n=int(d.height))
    return int(d.height)


def dose_response_figure(dose: pl.DataFrame, labels: Mapping[str, str], measure: str | None, path, *,
                         threshold: int) -> None:
    """Adjusted difference of each band of use from the reference band, with 95% intervals."""
    from .figures import BLUE, GREY, ORANGE, finding_title, new_figure, save_figure

    d = dose.filter(pl.col("measure") == measure) if measure else dose.clear()
    if not d.height:
        _placeholder(path, "The dose-response regression could not be estimated for this year.")
        return
    fig, ax = new_figure("dot", height_cm=2.5 + 0.9 * d.height)
    rows = list(d.iter_rows(named=True))
    ypos = np.arange(len(rows))[::-1]
    for y, r in zip(ypos, rows):
        if r["n"] < threshold:
            ax.text(0, y, f" fewer than {threshold} schools", va="center", fontsize=7.5, color=GREY)
            continue
        if r["is_reference"]:
            ax.plot([0], [y], marker="s", color=ORANGE)
            continue
        if r["estimate"] is None or r["ci_low"] is None:       # too few schools for an estimate
            ax.text(0, y, " no estimate: too few schools", va="center", color=GREY)
            continue
        ax.errorbar(r["estimate"], y, xerr=[[r["estimate"] - r["ci_low"]], [r["ci_high"] - r["estimate"]]],
                    fmt="o", color=BLUE, ecolor=BLUE, capsize=2)
    ax.axvline(0, color=GREY, linewidth=0.8)
    ax.set_yticks(ypos)
    ax.set_yticklabels([f"{labels.get(r['band'], r['band'])} (n={display.fmt_count(r['n'])})" if r["n"] >= threshold
                        else labels.get(r["band"], r["band"]) for r in rows])
    unit = "percentage points" if measure.startswith("pct_") else "points"
    ax.set_xlabel(f"Adjusted difference from {display.in_sentence(labels.get(rows[0]['band'], rows[0]['band']))} "
                  f"({unit})")
    p_eq = rows[0]["equal_p"]
    finding_title(ax, "More CPD goes with no clear further gain" if p_eq is None or p_eq >= 0.05
                  else "The adjusted difference changes with the amount of CPD")
    save_figure(fig, path, alt_text=f"Adjusted differences in {SHORT_LABEL.get(measure, measure)} by band of use.",
                caption=(f"Dose-response: {MEASURE_LABEL.get(measure, measure)} by band of use, each against the "
                         "reference band, from one regression with the chapter's controls (errors clustered by local "
                         "authority), 95% intervals."),
                source=SOURCE, n={labels.get(r["band"], r["band"]): count_value(r["n"], threshold)
                                  for r in rows})


def draw_all(t: Mapping[str, Any], cfg: Mapping[str, Any], out: Mapping[str, Any], *, threshold: int) -> None:
    """Every figure of the rule ``attainment_analysis`` (``out``: output name -> path)."""
    from . import estimators as est

    summary, fitted = t["summary"], t["fitted"]
    labels = summary["group_labels"]
    for c in cfg["comparisons"]:
        comparison_figure(t["comparisons"].filter(pl.col("comparison") == c["id"]), c, labels, summary,
                          out[f"fig_{c['id']}"], threshold=threshold, membership=t["membership"])
    top_quartile_figure(t["panel"], t["membership"], cfg["top_quartile"], labels, summary, out["fig_top_quartile"],
                        threshold=threshold)
    dose_labels = {**labels, **{g: labels.get(g, g) for g in (cfg["dose_response"] or {}).get("groups", [])}}
    dose_response_figure(t["dose_response"], dose_labels, summary.get("first_measure"), out["fig_dose_response"],
                         threshold=threshold)
    es = t["event_study_result"]
    if es is not None:
        m = fitted["measure"]
        est.event_study_plot(es, out["fig_event_study"], units="pp" if m.startswith("pct_") else "",
                             label=MEASURE_LABEL.get(m, m),
                             caption=f"Event study: {MEASURE_LABEL.get(m, m)} by year relative to the first academic "
                                     "year after first use, against the year before (school and year fixed effects, "
                                     "95% intervals clustered by school).", source=SOURCE)
    else:
        _placeholder(out["fig_event_study"], "The event study could not be estimated for this year.")
    ps = fitted.get("scores") if fitted else None
    if ps is not None:
        est.overlap_plot(ps, path=out["fig_overlap"],
                         caption="Propensity of using the programme in the window, from school characteristics: "
                                 "users above the axis, non-users below.",
                         source="Propensity model fitted to school characteristics (GIAS register, KS2)")
    else:
        _placeholder(out["fig_overlap"], "The propensity model could not be fitted.")
    head = t["e_value_result"]
    if head is not None:
        key, ev = head
        what = "difference-in-differences" if key == "did_etwfe" else "regression" if key == "regression" else "weighting"
        est.sensitivity_plot(ev, out["fig_sensitivity"],
                             caption=(f"Sensitivity of the {what} estimate for {MEASURE_LABEL.get(fitted['measure'])} "
                                      "to an unmeasured confounder: any confounder whose associations with use and "
                                      "with results lie above a curve could explain the estimate away (blue) or move "
                                      "its interval to include no effect (orange)."))
    else:
        _placeholder(out["fig_sensitivity"], "No estimate was available for the sensitivity analysis.")
