"""Figures of the "Operations" chapter (PNG with a sidecar of title, alt text and source; counts below
the disclosure threshold are not drawn)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from .. import display as d
from ..disclosure import count_label, count_value
from .delivery import SOURCE
from .operations import ACTIVITY_PHRASE, LEADER_PHRASE


def fig_partnership_targets(pt: pl.DataFrame, reporting: str, path: str | Path) -> Path:
    """Ranked dot chart: each partnership's units as a % of its units target in the reporting year."""
    from ..figures import BLUE, GREY, VERMILLION, finding_title, new_figure, save_figure

    rows = (pt.filter((pl.col("financial_year") == reporting) & (pl.col("metric") == "units")
                      & pl.col("pct_of_target").is_not_null())
            .sort(["pct_of_target", "partnership_id"]))
    n = rows.height
    fig, ax = new_figure("dot", height_cm=max(6.0, 2.5 + 0.38 * n))
    for i, r in enumerate(rows.iter_rows(named=True)):
        colour = BLUE if r["met"] else VERMILLION
        ax.hlines(i, 0, r["pct_of_target"], color=colour, linewidth=1.5, alpha=0.7)
        ax.plot([r["pct_of_target"]], [i], "o", color=colour, markersize=5)
    ax.axvline(100, color=GREY, linestyle="--", linewidth=1)
    ax.set_yticks(range(n), [f"{nm} ({i})" for nm, i in zip(rows["partnership_name"], rows["partnership_id"])],
                  fontsize=7 if n > 25 else 8.5)
    ax.set_xlabel("Units delivered as a percentage of the partnership's units target (dashed line: target)")
    ax.set_xlim(0, max(rows["pct_of_target"].to_list() + [100]) * 1.12)
    met = int(rows["met"].sum()) if n else 0
    title = (f"{d.count_in_words(met, capitalize=True)} of {d.count_in_words(n)} partnerships met their units target "
             f"in {reporting}" if n else f"No partnership units targets were set for {reporting}")
    finding_title(ax, title)
    alt = (f"Dot chart ranking {n} partnerships by units delivered as a percentage of their target in {reporting}"
           + (f", from {d.fmt_pct(rows['pct_of_target'][0])} to {d.fmt_pct(rows['pct_of_target'][-1])}." if n else "."))
    return save_figure(fig, path, alt_text=alt,
                       caption=f"CPD units delivered by each partnership against its units target, {reporting}",
                       source=SOURCE + "; targets input", n=n)


def fig_practitioner_led(pl_tbl: pl.DataFrame, reporting: str, threshold: int, path: str | Path) -> Path:
    """Ranked bars: share of each partnership's units led by practitioner leaders, with the all-delivery line."""
    from ..figures import BLACK, BLUE, finding_title, new_figure, save_figure

    rep = pl_tbl.filter(pl.col("financial_year") == reporting)
    parts = (rep.filter((pl.col("scope_type") == "partnership") & (pl.col("attendances_known") >= threshold)
                        & pl.col("pct_units_led").is_not_null())
             .sort(["pct_units_led", "scope"]))
    hidden = rep.filter(pl.col("scope_type") == "partnership").height - parts.height
    n = parts.height
    fig, ax = new_figure("barh", height_cm=max(6.0, 2.5 + 0.38 * n))
    ax.barh(range(n), parts["pct_units_led"].to_list(), color=BLUE, height=0.7)
    ax.set_yticks(range(n), parts["label"].to_list(), fontsize=7 if n > 25 else 8.5)
    overall = rep.filter((pl.col("scope_type") == "provider") & (pl.col("scope") == "regional"))
    if overall.height and overall["pct_units_led"][0] is not None:
        ax.axvline(overall["pct_units_led"][0], color=BLACK, linewidth=1.2, linestyle="--",
                   label=f"All partnerships together: {d.fmt_pct(overall['pct_units_led'][0])}")
        ax.legend(loc="lower right")
    ax.set_xlabel("Share of units on activities led by practitioner leaders (%)")
    ax.set_xlim(0, 100)
    if n:
        title = (f"Practitioner leaders led between {d.fmt_pct(parts['pct_units_led'][0])} and "
                 f"{d.fmt_pct(parts['pct_units_led'][-1])} of partnerships' CPD units in {reporting}")
    else:
        title = f"No partnership recorded who led its CPD in {reporting}"
    finding_title(ax, title)
    note = (f" {d.count_in_words(hidden, capitalize=True)} partnerships with fewer than {threshold} bookings with a "
            "recorded leader are not shown." if hidden else "")
    alt = (f"Horizontal bar chart of the practitioner-led share of units for {n} partnerships in {reporting}"
           + (f", ranging from {d.fmt_pct(parts['pct_units_led'][0])} to {d.fmt_pct(parts['pct_units_led'][-1])}." if n else "."))
    return save_figure(fig, path, alt_text=alt,
                       caption=f"Share of each partnership's CPD units on activities led by trained practitioner "
                               f"leaders, {reporting}." + note, source=SOURCE, n=n)


def fig_funnel(funnel: pl.DataFrame, reporting: str, threshold: int, path: str | Path) -> Path:
    """Stacked horizontal bars: attended, no-show and cancelled shares of bookings by activity type."""
    from ..figures import (
        BLUE,
        ORANGE,
        VERMILLION,
        finding_title,
        new_figure,
        save_figure,
    )

    rep = funnel.filter((pl.col("financial_year") == reporting) & (pl.col("booked") >= threshold))
    rep = pl.concat([rep.filter(pl.col("activity_type") != "all").sort(["pct_attended", "activity_type"]),
                     rep.filter(pl.col("activity_type") == "all")])
    n = rep.height
    fig, ax = new_figure("barh", height_cm=max(5.5, 2.8 + 0.75 * n))
    left = [0.0] * n
    for col, colour, lab in (("pct_attended", BLUE, "Attended"), ("pct_no_show", ORANGE, "No-show"),
                             ("pct_cancelled", VERMILLION, "Cancelled")):
        vals = rep[col].to_list()
        bars = ax.barh(range(n), vals, left=left, color=colour, label=lab, height=0.65)
        for b, v, l0 in zip(bars, vals, left):
            if v >= 6:
                ax.annotate(d.fmt_pct(v), (l0 + v / 2, b.get_y() + b.get_height() / 2), ha="center", va="center",
                            fontsize=7.5, color="white")
        left = [a + v for a, v in zip(left, vals)]
    ax.set_yticks(range(n), [f"{lab} ({d.fmt_count(b)})" for lab, b in zip(rep["label"], rep["booked"])])
    ax.set_xlim(0, 100)
    ax.set_xlabel("Share of bookings (%); number of bookings in brackets")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncols=3)
    allr = rep.filter(pl.col("activity_type") == "all")
    types = rep.filter(pl.col("activity_type") != "all")
    if allr.height and types.height:
        a = allr.row(0, named=True)
        worst = types.sort(["pct_no_show", "activity_type"], descending=[True, False]).row(0, named=True)
        title = (f"{d.words(a['attended'], a['booked'], capitalize=True)} of bookings in {reporting} were attended; "
                 f"no-shows were most frequent on "
                 f"{ACTIVITY_PHRASE.get(worst['activity_type'], worst['label'])} ({d.fmt_pct(worst['pct_no_show'])})")
    else:
        title = f"No bookings were recorded in {reporting}"
    finding_title(ax, title)
    alt = ("Stacked horizontal bars of the share of bookings attended, not attended (no-show) and cancelled, by "
           "activity type: " + "; ".join(f"{lab}: {d.fmt_pct(p)} attended" for lab, p in zip(rep["label"], rep["pct_attended"])) + ".")
    return save_figure(fig, path, alt_text=alt,
                       caption=f"Bookings by outcome and activity type, {reporting}",
                       source="Booking system export, all bookings",
                       n={lab: int(b) for lab, b in zip(rep["label"], rep["booked"])})


def fig_leader_delivery(ld: pl.DataFrame, threshold: int, path: str | Path) -> Path:
    """Bars: share of trained leaders who delivered CPD in each place (multi-select, does not sum to 100)."""
    from ..figures import BLUE, GREY, finding_title, label_bars, new_figure, save_figure

    opts = ld.filter(pl.col("question") != "delivered_any")
    base = int(opts["respondents"].max() or 0) if opts.height else 0
    fig, ax = new_figure("barh", height_cm=max(5.0, 2.5 + 0.9 * opts.height))
    if base >= threshold:
        rows = opts.reverse()
        vals = [p if t >= threshold else 0.0 for p, t in zip(rows["pct"], rows["ticked"])]
        bars = ax.barh(range(rows.height), vals, color=BLUE, height=0.65)
        label_bars(ax, bars, values=[p if t >= threshold else None for p, t in zip(rows["pct"], rows["ticked"])])
        ax.set_yticks(range(rows.height), rows["label"].to_list())
        top = opts.filter(~pl.col("option").is_in(["none", "intend_not_yet"])).sort(["pct", "option"],
                                                                                     descending=[True, False])
        if top.height and top["ticked"][0] >= threshold:
            t = top.row(0, named=True)
            where = LEADER_PHRASE.get(t["option"], f"'{t['label']}'")
            title = f"{d.pct_in_words(t['pct'], capitalize=True)} of trained leaders had delivered CPD {where}"
        else:
            title = "Too few answers to say where trained leaders delivered CPD"
    else:
        ax.annotate(f"Fewer than {threshold} respondents", (0.5, 0.5), xycoords="axes fraction", ha="center",
                    color=GREY)
        ax.set_yticks([])
        title = "Too few answers to say where trained leaders delivered CPD"
    ax.set_xlim(0, 100)
    ax.set_xlabel("Share of respondents (%); respondents could tick several options, so shares do not add up to 100%")
    finding_title(ax, title)
    alt = (f"Horizontal bar chart of where {base} respondents trained to lead CPD had delivered it (several answers "
           "allowed): " + "; ".join(f"{lab} {d.fmt_pct(p) if t >= threshold else 'suppressed'}"
                                    for lab, p, t in zip(opts["label"], opts["pct"], opts["ticked"])) + ".")
    return save_figure(fig, path, alt_text=alt,
                       caption=f"Where staff trained to lead CPD had delivered it since their training (n = "
                               f"{count_label(base, threshold)}; respondents could tick "
                               "several options, so the shares do not add up to 100%)",
                       source="Practitioner-leader survey", n=count_value(base, threshold))
