"""Figures of the "Delivery and reach" chapter (PNG with a sidecar of title, alt text and source; counts below
the disclosure threshold are not drawn)."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import polars as pl

from .. import display as d
from ..calendar import label_start
from ..disclosure import count_label, count_value
from ..engagement import PROVIDERS, REACH_PHASES, ROLE_GROUPS
from .delivery import PHASE_LABEL, PROVIDER_LABEL, ROLE_LABEL, SOURCE


def _suppress_small(values: Sequence[float], threshold: int) -> tuple[list[float], int]:
    """Counts below the threshold (but above zero) drawn as zero; returns the values and how many."""
    out, n = [], 0
    for v in values:
        if v is not None and 0 < v < threshold:
            out.append(0.0)
            n += 1
        else:
            out.append(float(v or 0))
    return out, n


def _small_note(n: int, threshold: int) -> str:
    return (f" Counts below {threshold} are not drawn (disclosure control)." if n else "")


def _change_words(pct: float | None) -> str:
    if pct is None:
        return "could not be compared"
    if d.round_half_away(pct) == 0:
        return "was unchanged"
    return f"{'rose' if pct > 0 else 'fell'} by {d.fmt_pct(abs(pct))}"


def fig_units_by_year(by_year: pl.DataFrame, yoy: pl.DataFrame, targets: pl.DataFrame, reporting: str,
                      path: str | Path) -> Path:
    """Figure 1: units per financial year, stacked by provider, with the units target where set."""
    from ..figures import PALETTE, finding_title, new_figure, save_figure

    fig, ax = new_figure("bar", height_cm=9.5)
    years = by_year["financial_year"].to_list()
    bottom = [0.0] * len(years)
    for p, colour in zip(PROVIDERS, PALETTE):
        vals = by_year[f"units_{p}"].to_list()
        ax.bar(years, vals, bottom=bottom, color=colour, label=PROVIDER_LABEL[p], width=0.65)
        bottom = [b + v for b, v in zip(bottom, vals)]
    for x, total in zip(years, bottom):
        ax.annotate(d.fmt_count(total), (x, total), ha="center", va="bottom", fontsize=8.5,
                    xytext=(0, 2), textcoords="offset points")
    tgt = targets.filter((pl.col("metric") == "units") & pl.col("target").is_not_null())
    tgt_map = dict(tgt.select("financial_year", "target").iter_rows())
    if tgt_map:
        xs = [i for i, y in enumerate(years) if y in tgt_map]
        ax.scatter(xs, [tgt_map[years[i]] for i in xs], marker="_", s=900, color="black", linewidths=2,
                   label="Target", zorder=3)
    ax.set_ylabel("CPD units (1 unit is about 5 hours)")
    ax.yaxis.set_major_formatter(_count_formatter())
    ax.legend(loc="upper left", ncols=2)
    ax.set_ylim(0, max(bottom + list(tgt_map.values()) + [1]) * 1.22)
    rep = by_year.filter(pl.col("financial_year") == reporting)
    units = float(rep["units"].sum()) if rep.height else 0.0
    ch = yoy.filter((pl.col("financial_year") == reporting) & (pl.col("scope") == "all"))
    if ch.height and ch["fair_change_pct"][0] is not None:
        title = f"CPD delivery {_change_words(ch['fair_change_pct'][0])} in {reporting}, to {d.fmt_count(units)} units"
    else:
        title = f"{d.fmt_count(units)} CPD units were delivered in {reporting}"
    finding_title(ax, title)
    alt = (f"Stacked bar chart of CPD units per financial year from {years[0]} to {years[-1]}, split by provider. "
           + "; ".join(f"{y}: {d.fmt_count(t)} units" for y, t in zip(years, bottom)) + ".")
    return save_figure(fig, path, alt_text=alt,
                       caption=f"CPD units delivered per financial year (April to March), by provider, {years[0]} to "
                               f"{years[-1]}" + (", with the units target" if tgt_map else ""),
                       source=SOURCE, n={y: d.fmt_count(t) for y, t in zip(years, bottom)})


def fig_units_by_term(by_term: pl.DataFrame, reporting: str, path: str | Path) -> Path:
    """Units per term, in date order and grouped by financial year, stacked by provider."""
    import matplotlib.transforms as mtransforms

    from ..figures import PALETTE, finding_title, new_figure, save_figure

    terms = (by_term.group_by(["financial_year", "term_index", "term_label"]).agg(pl.col("units").sum())
             .sort(["financial_year", "term_index"]))
    years = sorted(terms["financial_year"].unique().to_list())
    n_terms = int(terms["term_index"].max() or 1)
    pos = [years.index(y) * (n_terms + 1) + i - 1 for y, i in zip(terms["financial_year"], terms["term_index"])]
    fig, ax = new_figure("bar", height_cm=9.5)
    bottom = [0.0] * len(pos)
    for p, colour in zip(PROVIDERS, PALETTE):
        vals = (by_term.filter(pl.col("provider") == p).sort(["financial_year", "term_index"])["units"].to_list())
        ax.bar(pos, vals, bottom=bottom, color=colour, label=PROVIDER_LABEL[p], width=0.8)
        bottom = [b + v for b, v in zip(bottom, vals)]
    # two letters per term (Su, Au, Sp) fit under a bar at the smallest readable size; the caption spells them
    ax.set_xticks(pos, [t.split(" ")[0][:2].capitalize() for t in terms["term_label"]])
    trans = mtransforms.blended_transform_factory(ax.transData, ax.transAxes)
    for k, y in enumerate(years):
        ax.text(k * (n_terms + 1) + (n_terms - 1) / 2, -0.12, y, transform=trans, ha="center", va="top")
    ax.set_ylabel("CPD units")
    ax.yaxis.set_major_formatter(_count_formatter())
    ax.legend(loc="upper left", ncols=3)
    ax.set_ylim(0, max(bottom + [1]) * 1.2)
    rep = terms.filter(pl.col("financial_year") == reporting)
    if rep.height and rep["units"].sum() > 0:
        top = rep.sort(["units", "term_index"], descending=[True, False]).row(0, named=True)
        share = 100 * top["units"] / rep["units"].sum()
        title = f"The {top['term_label'].split(' ')[0]} term carried {d.pct_in_words(share)} of delivery in {reporting}"
    else:
        title = f"No delivery was recorded in {reporting}"
    finding_title(ax, title)
    alt = ("Stacked bar chart of CPD units per school term in date order, split by provider: "
           + "; ".join(f"{t}: {d.fmt_count(u)}" for t, u in zip(terms["term_label"], bottom)) + ".")
    return save_figure(fig, path, alt_text=alt,
                       caption="CPD units delivered per term (Su summer, Au autumn and Sp spring terms of each "
                               "financial year), by provider", source=SOURCE,
                       n={t: d.fmt_count(u) for t, u in zip(terms["term_label"], bottom)})


def fig_participants(parts: pl.DataFrame, reporting: str, threshold: int, path: str | Path) -> Path:
    """Figure 2: distinct participants per financial year, stacked by role group."""
    fig, ax, years, totals, hidden = _stacked_figure(parts, "role_group", ROLE_GROUPS, ROLE_LABEL, "participants",
                                                     threshold, ylabel="Distinct participants", headroom=1.22)
    tot = dict(zip(years, totals))
    n_rep = tot.get(reporting, 0)
    prev = f"{label_start(reporting) - 1}-{label_start(reporting) % 100:02d}"
    if tot.get(prev):
        title = (f"{d.fmt_count(n_rep)} teachers, technicians and other staff took part in {reporting}, "
                 f"{_change_ratio_words(n_rep, tot[prev])} {prev}")
    else:
        title = f"{d.fmt_count(n_rep)} teachers, technicians and other staff took part in {reporting}"
    return _save_stacked(fig, ax, path, title, "distinct participants per financial year by role", years, totals,
                         threshold, caption="Distinct teachers, technicians and other staff with at least one "
                                            "attended booking, per financial year" + _small_note(hidden, threshold),
                         source=SOURCE)


def _stacked_counts(ax, frame: pl.DataFrame, group_col: str, groups: Sequence[str], labels: Mapping[str, str],
                    value_col: str, threshold: int) -> tuple[list, list, list, int]:
    """Stacked bars of a count per financial year by group, each year's total (group "all") written on top.

    Counts below the threshold are drawn as zero (and counted in ``hidden``); a total below it shows "c".
    Returns the years, the bar tops, the totals and the number of hidden segments.
    """
    from ..figures import PALETTE

    years = sorted(frame["financial_year"].unique().to_list())
    bottom = [0.0] * len(years)
    hidden = 0

    def count(y, g):
        return frame.filter((pl.col("financial_year") == y) & (pl.col(group_col) == g))[value_col].sum()

    for g, colour in zip(groups, PALETTE):
        vals, n = _suppress_small([count(y, g) for y in years], threshold)
        hidden += n
        ax.bar(years, vals, bottom=bottom, color=colour, label=labels[g], width=0.65)
        bottom = [b + v for b, v in zip(bottom, vals)]
    totals = [count(y, "all") for y in years]
    for x, b, t in zip(years, bottom, totals):
        ax.annotate(count_label(t, threshold), (x, b), ha="center", va="bottom",
                    fontsize=8.5, xytext=(0, 2), textcoords="offset points")
    return years, bottom, totals, hidden


def _stacked_figure(frame: pl.DataFrame, group_col: str, groups: Sequence[str], labels: Mapping[str, str],
                    value: str, threshold: int, *, ylabel: str, headroom: float, legend: Mapping | None = None):
    """A bar chart of counts per financial year stacked by group: the figure, its axes, the years, their totals
    and how many small counts were not drawn."""
    from ..figures import new_figure

    fig, ax = new_figure("bar", height_cm=9.5)
    years, bottom, totals, hidden = _stacked_counts(ax, frame, group_col, groups, labels, value, threshold)
    ax.set_ylabel(ylabel)
    ax.yaxis.set_major_formatter(_count_formatter())
    ax.legend(loc="upper left", ncols=3, **(legend or {}))
    ax.set_ylim(0, max(bottom + [1]) * headroom)
    return fig, ax, years, totals, hidden


def _save_stacked(fig, ax, path: str | Path, title: str, what: str, years: Sequence[str], totals: Sequence[int],
                  threshold: int, *, caption: str, source: str) -> Path:
    """Title, alt text (each year's total, or "suppressed") and the saved figure of :func:`_stacked_figure`."""
    from ..figures import finding_title, save_figure

    finding_title(ax, title)
    alt = (f"Stacked bar chart of {what}: "
           + "; ".join(f"{y}: {count_label(t, threshold, 'suppressed')}" for y, t in zip(years, totals)) + ".")
    return save_figure(fig, path, alt_text=alt, caption=caption, source=source,
                       n={y: count_value(t, threshold) for y, t in zip(years, totals)})


def _change_ratio_words(new: float, old: float) -> str:
    pct = 100 * (new - old) / old
    if d.round_half_away(pct) == 0:
        return "the same as in"
    return f"{d.fmt_pct(abs(pct))} {'more' if pct > 0 else 'fewer'} than in"


def fig_schools(phases: pl.DataFrame, reporting: str, threshold: int, path: str | Path) -> Path:
    """Figure 3: distinct schools and colleges per financial year, stacked by reach phase."""
    fig, ax, years, totals, hidden = _stacked_figure(phases, "phase", REACH_PHASES, PHASE_LABEL, "schools", threshold,
                                                     ylabel="Distinct schools and colleges", headroom=1.28,
                                                     legend={"fontsize": 8})
    rep = phases.filter(pl.col("financial_year") == reporting)
    n_all = int(rep.filter(pl.col("phase") == "all")["schools"].sum())
    top = rep.filter(pl.col("phase") != "all").sort(["schools", "phase"], descending=[True, False])
    if n_all and top.height:
        t = top.row(0, named=True)
        title = (f"{d.fmt_count(n_all)} schools and colleges took part in {reporting}; "
                 f"{d.words(t['schools'], n_all)} were {t['label'].split(' (')[0].lower()}")
    else:
        title = f"{d.fmt_count(n_all)} schools and colleges took part in {reporting}"
    return _save_stacked(fig, ax, path, title, "distinct schools and colleges per financial year by phase", years,
                         totals, threshold,
                         caption="Distinct schools and colleges with at least one attended booking, per financial "
                                 "year, by phase (each school in one phase; all-through schools with secondary)"
                                 + _small_note(hidden, threshold),
                         source=SOURCE + ", matched to the school register")


def fig_targets(tgt: pl.DataFrame, reporting: str, threshold: int, path: str | Path) -> Path:
    """Target against actual for the reporting year: % of target per metric, with the 100% line."""
    from ..figures import BLUE, GREY, VERMILLION, finding_title, new_figure, save_figure

    rows = (tgt.filter((pl.col("financial_year") == reporting) & (pl.col("scope") == "national")
                       & pl.col("target").is_not_null())
            .to_dicts())
    fig, ax = new_figure("dot", height_cm=max(5.0, 2.2 + 1.0 * len(rows)))
    labels, shown = [], 0
    for i, r in enumerate(reversed(rows)):
        labels.append(r["label"])
        if r["reached"] is None:   # not in this year's data (an export without the priority-school flag)
            ax.annotate(d.NOT_AVAILABLE, (0, i), va="center", fontsize=8.5)
            continue
        small = r["metric"] != "units" and r["reached"] < threshold
        if small or r["pct_of_target"] is None:
            ax.annotate(d.SUPPRESSED, (0, i), va="center", fontsize=8.5)
            continue
        shown += 1
        colour = BLUE if r["met"] else VERMILLION
        ax.hlines(i, 0, r["pct_of_target"], color=colour, linewidth=2.5)
        ax.plot([r["pct_of_target"]], [i], "o", color=colour, markersize=7)
        ax.annotate(f"{d.fmt_pct(r['pct_of_target'])}  "
                    f"({d.fmt_count(r['reached'])} against {d.fmt_count(r['target'])})",
                    (r["pct_of_target"], i), xytext=(6, 0), textcoords="offset points", va="center", fontsize=8)
    ax.axvline(100, color=GREY, linewidth=1, linestyle="--")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_ylim(-0.6, len(labels) - 0.4)
    top = max([r["pct_of_target"] or 0 for r in rows] + [100])
    ax.set_xlim(0, top * 1.55)
    ax.set_xlabel("Reached as a percentage of the target (dashed line: target)")
    met = [r for r in rows if r["met"]]
    missed = [r["label"].lower() for r in rows if r["met"] is False]
    assessed = [r for r in rows if r["reached"] is not None]
    if assessed:
        title = (f"{d.count_in_words(len(met), capitalize=True)} of {d.count_in_words(len(assessed))} targets "
                 f"for {reporting} were met")
        if missed and len(missed) <= 2:
            title += "; " + " and ".join(missed) + " fell short"
    elif rows:
        title = f"No target for {reporting} could be assessed from this year's data"
    else:
        title = f"No targets were set for {reporting}"
    finding_title(ax, title)
    alt = ("Dot chart of each target's achievement in " + reporting + ": "
           + "; ".join(f"{r['label']} {d.fmt_pct(r['pct_of_target']) if r['pct_of_target'] is not None else 'n/a'}"
                       for r in rows) + ".")
    return save_figure(fig, path, alt_text=alt,
                       caption=f"Reach and delivery against the national targets, {reporting} (primary and secondary "
                               "targets count all-through schools under both phases)",
                       source=SOURCE + "; targets input", n=len(rows))


def fig_penetration_la(by_la: pl.DataFrame, by_region: pl.DataFrame, threshold: int, path: str | Path,
                       shown: set[tuple[str, str]]) -> Path:
    """A map-like ranked chart: one row per region (ranked), each local authority a dot at its share reached.

    Only the authorities in ``shown`` (region, name), those whose share the table by local authority shows
    (:func:`cpdeval.analysis.delivery_publish.la_shares_shown`), get a dot."""
    from ..figures import BLACK, BLUE, finding_title, new_figure, save_figure

    keep = pl.DataFrame(sorted(shown), schema={"region": pl.String, "la_name": pl.String}, orient="row")
    ok = (by_la.filter((pl.col("eligible") >= threshold) & (pl.col("reached") >= threshold))
          .join(keep, on=["region", "la_name"], how="semi", maintain_order="left"))
    hidden = by_la.height - ok.height
    reg = (by_region.filter((pl.col("reach_phase") == "all") & (pl.col("region") != "England"))
           .sort(["pct", "region"], descending=[False, True], nulls_last=False))
    regions = reg["region"].to_list()
    fig, ax = new_figure("dot", height_cm=max(6.0, 2.5 + 0.9 * len(regions)))
    for i, r in enumerate(regions):
        vals = ok.filter(pl.col("region") == r)
        ax.scatter(vals["pct"].to_list(), [i] * vals.height, s=[max(8, min(80, e / 4)) for e in vals["eligible"]],
                   color=BLUE, alpha=0.55, edgecolors="none")
        rp = reg.filter(pl.col("region") == r).row(0, named=True)
        if rp["pct"] is not None and rp["eligible"] >= threshold and rp["reached"] >= threshold:
            ax.plot([rp["pct"], rp["pct"]], [i - 0.32, i + 0.32], color=BLACK, linewidth=2)
    ax.set_yticks(range(len(regions)), regions)
    ax.set_xlabel("Share of eligible schools reached (%); dots are local authorities, bars the region")
    ax.set_xlim(0, max(ok["pct"].to_list() + [10]) * 1.1)
    if ok.height:
        lo, hi = ok.sort(["pct", "la_name"]).row(0, named=True), ok.sort(["pct", "la_name"]).row(-1, named=True)
        title = (f"The share of eligible schools reached ranged from {d.fmt_pct(lo['pct'])} to {d.fmt_pct(hi['pct'])} "
                 "across local authorities")
    else:
        title = "Too few schools per local authority to compare reach"
    finding_title(ax, title)
    alt = ("Dot chart of the share of eligible schools reached in each local authority, grouped by region: "
           + "; ".join(f"{r}: {d.fmt_pct(p) if p is not None else 'n/a'}" for r, p in zip(reg["region"], reg["pct"])) + ".")
    note = (f" {d.count_in_words(hidden, capitalize=True)} local authorities with fewer than {threshold} eligible or "
            "reached schools, or hidden to protect one, are not shown (disclosure control)." if hidden else "")
    return save_figure(fig, path, alt_text=alt,
                       caption="Share of eligible (open, state-funded) schools reached, by local authority within "
                               "region; dot size shows the number of eligible schools." + note,
                       source=SOURCE + "; school register", n=int(ok.height))


def fig_school_flows(flows: pl.DataFrame, reporting: str, threshold: int, path: str | Path) -> Path:
    """New, retained and returning schools per year (stacked), with lapsed schools below the axis."""
    from ..figures import (
        BLUE,
        BLUISH_GREEN,
        GREY,
        ORANGE,
        VERMILLION,
        finding_title,
        new_figure,
        save_figure,
    )

    f = flows.filter(pl.col("status") != "z")
    years = f["financial_year"].to_list()
    fig, ax = new_figure("bar", height_cm=9.5)
    bottom = [0.0] * len(years)
    hidden = 0
    for col, colour, lab in (("retained", BLUE, "Retained (also used the year before)"),
                             ("returning", BLUISH_GREEN, "Returning (after a gap)"),
                             ("new", ORANGE, "New (first use)")):
        vals, n = _suppress_small(f[col].to_list(), threshold)
        hidden += n
        ax.bar(years, vals, bottom=bottom, color=colour, label=lab, width=0.65)
        bottom = [b + v for b, v in zip(bottom, vals)]
    lapsed, n = _suppress_small(f["lapsed"].to_list(), threshold)
    hidden += n
    ax.bar(years, [-v for v in lapsed], color=VERMILLION, label="Lapsed (used the year before, not this year)",
           width=0.65)
    ax.axhline(0, color=GREY, linewidth=0.8)
    ax.set_ylabel("Schools and colleges")
    ax.yaxis.set_major_formatter(_count_formatter(absolute=True))
    ax.legend(loc="upper left", ncols=2, fontsize=8)
    ax.set_ylim(-max(lapsed + [1]) * 1.3, max(bottom + [1]) * 1.45)
    rep = f.filter(pl.col("financial_year") == reporting)
    if rep.height and rep["reached"][0]:
        r = rep.row(0, named=True)
        title = (f"{d.words(r['retained'] + r['returning'], r['reached'], capitalize=True)} of the schools reached in "
                 f"{reporting} had taken part before")
    else:
        title = f"No year-on-year flows for {reporting}"
    finding_title(ax, title)
    alt = ("Bar chart per financial year of schools reached split into retained, returning and new, with lapsed "
           "schools shown below the axis: " + "; ".join(
               f"{y}: {d.fmt_count(rc)} reached, {d.fmt_count(nw)} new, {d.fmt_count(lp)} lapsed"
               for y, rc, nw, lp in zip(years, f["reached"], f["new"], f["lapsed"])) + ".")
    return save_figure(fig, path, alt_text=alt,
                       caption="Schools and colleges reached each year: new, retained and returning, and schools "
                               "that lapsed (the first year of the data has no comparison)"
                               + _small_note(hidden, threshold),
                       source=SOURCE + ", matched to the school register",
                       n={y: int(v) for y, v in zip(years, f["reached"])})


def _count_formatter(absolute: bool = False):
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _: d.fmt_count(abs(v) if absolute else v))
