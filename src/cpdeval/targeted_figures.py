"""Figures of the "Targeted programme" chapter (PNG with a sidecar of title, alt text and source)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import polars as pl

from . import display as d
from .disclosure import count_label
from .display import SUPPRESSED
from .targeted import MATURITY_LEVEL, SOURCE

__all__ = ["fig_outcomes_by_audience", "fig_outcome_types", "fig_maturity"]



def _no_data(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def _with_shown(df: pl.DataFrame, shown: Sequence[bool]) -> pl.DataFrame:
    if len(shown) != df.height:
        raise ValueError(f"shown has {len(shown)} flags for a table of {df.height} rows")
    return df.with_columns(pl.Series("__shown", list(shown), dtype=pl.Boolean))


def fig_outcomes_by_audience(by_audience: pl.DataFrame, threshold: int, path: str | Path,
                             shown: Sequence[bool]) -> Path:
    """Outcomes per audience (horizontal bars). A count the chapter's table hides (``shown``, one flag per row,
    from :func:`cpdeval.targeted_publish.outcome_counts_shown`: below the threshold, or hidden to protect one
    that is) is not drawn and marked c."""
    from .figures import BLUE, finding_title, new_figure, save_figure

    a = _with_shown(by_audience, shown).filter(pl.col("audience") != "total").sort("audience_order", descending=True)
    total = int(by_audience.filter(pl.col("audience") == "total")["n"].sum()) if by_audience.height else 0
    fig, ax = new_figure("barh", height_cm=7.5)
    bars_of = [(r["audience_label"], r["n"] if r["__shown"] else None) for r in a.iter_rows(named=True)]
    if total:
        bars = ax.barh([lab for lab, _ in bars_of], [n or 0 for _, n in bars_of], color=BLUE)
        ax.bar_label(bars, labels=[SUPPRESSED if n is None else count_label(n, threshold) for _, n in bars_of],
                     padding=2, fontsize=8.5)
        ax.set_xlabel("Outcomes coded")
        top = max(bars_of, key=lambda x: (x[1] or 0, x[0]))
        title = (f"{top[0]} were the audience with the most outcomes" if (top[1] or 0) >= threshold
                 else "Few outcomes were coded for any one audience")
    else:
        _no_data(ax, "No outcomes were coded")
        title = "No outcomes were coded from the case evidence"
    finding_title(ax, title)
    hidden = sum(1 for (_, n), r in zip(bars_of, a.iter_rows(named=True)) if n is None and r["n"] > 0)
    note = (f" Audiences with fewer than {threshold} outcomes, or hidden so that such a count cannot be worked "
            "out from the total, are not shown (c)." if hidden else "")
    alt = "Horizontal bar chart of coded outcomes by audience: " + "; ".join(
        f"{lab} {'suppressed' if n is None else count_label(n, threshold, 'suppressed')}"
        for lab, n in reversed(bars_of)) + "."
    return save_figure(fig, path, alt_text=alt,
                       caption=f"Outcomes coded from case evidence, by audience (each outcome coded once).{note} "
                               f"Source: {SOURCE}, coded case outcomes. n = {d.fmt_count(total)} outcomes.",
                       source=f"{SOURCE}, coded case outcomes", n=total)


def fig_outcome_types(by_type: pl.DataFrame, threshold: int, path: str | Path, shown: Sequence[bool]) -> Path:
    """Outcome types grouped by audience (the seed's lost charts): those whose count the chapter's table shows
    (``shown``, one flag per row, from :func:`cpdeval.targeted_publish.outcome_counts_shown`), so that no type
    hidden there, below the threshold or to protect one that is, is drawn here."""
    from matplotlib.patches import Patch

    from .figures import PALETTE, finding_title, new_figure, save_figure

    flagged = _with_shown(by_type, shown)
    t = flagged.filter(pl.col("__shown") & (pl.col("n") >= threshold)).sort(
        ["audience_order", "n", "type_order"], descending=[False, True, False])
    small = flagged.filter((pl.col("n") > 0) & ~(pl.col("__shown") & (pl.col("n") >= threshold))).height
    total = int(by_type["n"].sum())
    height = max(6.0, 1.6 + 0.55 * max(t.height, 1))
    fig, ax = new_figure("barh", height_cm=height)
    if t.height:
        rows = list(t.iter_rows(named=True))[::-1]
        labels = [r["label"] if len(r["label"]) <= 52 else r["label"][:49].rstrip(" ,") + "..." for r in rows]
        colours = [PALETTE[r["audience_order"] % len(PALETTE)] for r in rows]
        bars = ax.barh(range(len(rows)), [r["n"] for r in rows], color=colours)
        ax.set_yticks(range(len(rows)), labels, fontsize=7.5)
        ax.bar_label(bars, labels=[d.fmt_count(r["n"]) for r in rows], padding=2, fontsize=8)
        ax.set_xlabel("Outcomes coded")
        seen = {}
        for r in t.iter_rows(named=True):
            seen.setdefault(r["audience_label"], PALETTE[r["audience_order"] % len(PALETTE)])
        ax.legend(handles=[Patch(color=c, label=a) for a, c in seen.items()], loc="lower right", fontsize=7.5)
        top = max(rows, key=lambda r: (r["n"], -r["type_order"]))
        title = f"{top['audience_label']}: {top['label'][0].lower() + top['label'][1:]} was the most frequent outcome"
        if len(title) > 75:
            title = f"The most frequent outcome type was one for {top['audience_label'].lower()}"
    else:
        _no_data(ax, f"No outcome type has {threshold} or more outcomes")
        title = f"No single outcome type reached {threshold} outcomes"
    finding_title(ax, title)
    note = (f" {d.count_in_words(small, capitalize=True)} other type{'s' if small != 1 else ''} with fewer than "
            f"{threshold} outcomes, or hidden so that such a count cannot be worked out from the audience's total, "
            f"{'are' if small != 1 else 'is'} not shown." if small else "")
    alt = ("Horizontal bar chart of outcome types whose count is published: " +
           "; ".join(f"{r['audience_label']}, {r['label']}: {r['n']}" for r in t.iter_rows(named=True)) + ".")
    return save_figure(fig, path, alt_text=alt,
                       caption=f"Outcome types observed in the case evidence, coloured by audience.{note} "
                               f"Source: {SOURCE}, coded case outcomes. n = {d.fmt_count(total)} outcomes.",
                       source=f"{SOURCE}, coded case outcomes", n=total)


def fig_maturity(mat: pl.DataFrame, threshold: int, path: str | Path) -> Path:
    """Dumbbell chart: mean maturity level at the start and the end, per aspect (schools with both)."""
    from .figures import BLUE, GREY, LIGHT_GREY, finding_title, new_figure, save_figure

    a = mat.filter((pl.col("aspect") != "overall") & (pl.col("n_paired") >= threshold)
                   & pl.col("mean_change").is_not_null()).sort(["mean_change", "aspect_order"], descending=[False, True])
    hidden = mat.filter((pl.col("aspect") != "overall") & (pl.col("n_paired") > 0)
                        & (pl.col("n_paired") < threshold)).height
    fig, ax = new_figure("dot", height_cm=7.5)
    rows = list(a.iter_rows(named=True))
    if rows:
        for i, r in enumerate(rows):
            ax.plot([r["mean_start"], r["mean_end"]], [i, i], color=LIGHT_GREY, linewidth=4, zorder=1)
            ax.scatter([r["mean_start"]], [i], color=GREY, zorder=2, s=30, label="Start" if i == 0 else None)
            ax.scatter([r["mean_end"]], [i], color=BLUE, zorder=3, s=36, label="End" if i == 0 else None)
            ax.annotate(f"{d.fmt_number(r['mean_change'], 1, signed=True)}", (r["mean_end"], i),
                        xytext=(6, -3), textcoords="offset points", fontsize=8.5)
        ax.set_yticks(range(len(rows)), [r["label"] for r in rows])
        ax.set_xlim(0.8, 5.4)
        ax.set_xticks(list(MATURITY_LEVEL), [f"{k}\n{v}" for k, v in MATURITY_LEVEL.items()], fontsize=7.5)
        ax.legend(loc="lower right")
        top = rows[-1]
        title = f"{top['label']} moved furthest, {d.fmt_number(top['mean_change'], 1)} levels on average"
        n = int(min(r["n_paired"] for r in rows))
    else:
        _no_data(ax, f"Fewer than {threshold} schools rated maturity at both times")
        title = "Too few schools rated their maturity at the start and the end to show"
        n = 0
    finding_title(ax, title)
    note = (f" {d.count_in_words(hidden, capitalize=True)} aspect{'s' if hidden != 1 else ''} rated by fewer than "
            f"{threshold} schools {'are' if hidden != 1 else 'is'} not shown." if hidden else "")
    alt = ("Dot chart of the mean STEM maturity level (1 beginning to 5 exemplar) at the start and the end of the "
           "programme: " + "; ".join(f"{r['label']} from {d.fmt_number(r['mean_start'], 1)} to "
                                      f"{d.fmt_number(r['mean_end'], 1)}" for r in reversed(rows)) + ".")
    return save_figure(fig, path, alt_text=alt,
                       caption=f"Mean STEM maturity level at the start and the end of the programme, schools rating "
                               f"both times (retrospective self-ratings at interview).{note} "
                               f"Source: {SOURCE}, maturity ratings. n = {d.fmt_count(n)} schools or more per aspect.",
                       source=f"{SOURCE}, maturity ratings", n=n)
