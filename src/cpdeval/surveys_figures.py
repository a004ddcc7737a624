"""Figures of the "Impact" chapter's survey results: which to draw (:func:`plan_figures`) and drawing them
(:func:`draw_figures`), each a PNG with a sidecar of title, alt text and source and a manifest of all."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Sequence

import polars as pl

from . import display as d
from .disclosure import count_label, count_value, percent_shown
from .surveys import ALL, NOT_KNOWN, SUBGROUP_NAMES, SUBGROUPS, item_catalogue, level_label, scale_positive

if TYPE_CHECKING:
    from .ingest.surveys import Instrument


#: The survey figures the "Impact" chapter shows (``figure(...)`` in reports/impact.qmd), and so the ones the
#: survey stage draws: :func:`plan_figures` finds every figure the instruments and the data allow (42 on the
#: national synthetic year, each block by every subgroup), and drawing the 30 no report shows took three
#: quarters of the stage's time. A test keeps this list and the chapter's figures the same.
CHAPTER_FIGURES = (
    "participant_impact.overall_impact",
    "participant_impact.participants.agree4",
    "participant_impact.participants.agree4.by_role",
    "participant_impact.participants.agree4.by_phase",
    "participant_impact.colleagues.agree4",
    "participant_impact.pupils.agree4",
    "practitioner_leader.impact_on_leader.agree4",
    "practitioner_leader.deployment.ordered",
    "subject_leader.approach.rating1to4",
    "subject_leader.impact.rating1to4",
    "subject_leader.impact.rating1to4.by_phase",
    "event_feedback.statements.agree4_feedback",
)


@dataclass(frozen=True)
class FigureSpec:
    """One figure the survey stage draws."""

    key: str                 # unique; also the file stem (dots become "__")
    kind: str                # diverging | levels | ordered | multiples
    instrument: str
    block: str
    items: tuple[str, ...]   # item ids in display order
    subgroup: str = ALL

    @property
    def file(self) -> str:
        return self.key.replace(".", "__") + ".png"


def plan_figures(summary: pl.DataFrame, instruments: Mapping[str, "Instrument"], *,
                 subgroups: Sequence[str] = SUBGROUPS, threshold: int) -> list[FigureSpec]:
    """Which figures to draw, from the instrument definitions and the data.

    Per block, items sharing a scale of three or more levels: a **diverging stacked bar** when there are
    several (agreement and 1-4 ratings), **ordered level bars** when there is one (an overall rating, a
    satisfaction rating). Yes/no items and multi-select options: **ordered bars** of % yes / % ticked.
    For each of those, **small multiples** by every subgroup with at least two groups (other than "Not
    known") of ``threshold`` or more respondents.
    """
    specs: list[FigureSpec] = []
    overall = summary.filter(pl.col("subgroup") == ALL)
    present = set(overall.filter(pl.col("respondents") > 0)["instrument"].unique().to_list())
    for name in sorted(instruments):
        if name not in present:
            continue
        inst = instruments[name]
        cat = item_catalogue({name: inst})
        for block in cat["block"].unique(maintain_order=True).to_list():
            part = cat.filter(pl.col("block") == block)
            singles = part.filter(pl.col("kind") == "single")
            main: list[FigureSpec] = []
            small_scale_items: list[str] = []
            for scale in singles["scale"].unique(maintain_order=True).to_list():
                ids = singles.filter(pl.col("scale") == scale)["item_id"].to_list()
                n_levels = len(inst.scales[scale]["levels"])
                if n_levels >= 3 and len(ids) >= 2:
                    main.append(FigureSpec(f"{name}.{block}.{scale}", "diverging", name, block, tuple(ids)))
                elif n_levels >= 3:
                    main.append(FigureSpec(f"{name}.{ids[0]}", "levels", name, block, tuple(ids)))
                else:
                    small_scale_items += ids
            small_scale_items += part.filter(pl.col("kind") == "multi")["item_id"].to_list()
            if small_scale_items:
                main.append(FigureSpec(f"{name}.{block}.ordered", "ordered", name, block, tuple(small_scale_items)))
            for spec in main:
                has = overall.filter((pl.col("instrument") == name) & pl.col("item_id").is_in(list(spec.items))
                                     & (pl.col("respondents") > 0))
                if not has.height:
                    continue
                specs.append(spec)
                for s in subgroups:
                    sub = summary.filter((pl.col("instrument") == name) & (pl.col("subgroup") == s)
                                         & (pl.col("group") != NOT_KNOWN) & pl.col("item_id").is_in(list(spec.items)))
                    reportable = sub.group_by("group").agg(pl.col("n_substantive").max()) \
                        .filter(pl.col("n_substantive") >= threshold)
                    if reportable.height >= 2:
                        specs.append(FigureSpec(f"{spec.key}.by_{s}", "multiples", name, block, spec.items, s))
    return specs


_POS_COLOURS = ("#0072B2", "#56B4E9", "#A9D6F5", "#D6ECFA")   # strongest first (Okabe-Ito blue family)
_NEG_COLOURS = ("#D55E00", "#E69F00", "#F3C77A", "#F7DDB0")   # strongest first (vermillion, orange)


def _wrap(text: str, width: int = 44) -> str:
    return "\n".join(textwrap.wrap(text, width)) or text


def _levels_of(inst: "Instrument", item_id: str) -> tuple[list[str], list[str], list[str]]:
    item = next(it for it in inst.items if it["id"] == item_id)
    scale = inst.scale(item)
    return ([str(x) for x in scale["levels"]], scale_positive(scale), [str(x) for x in scale.get("not_substantive") or []])


def _positive_phrase(scale: dict) -> str:
    """The positive answers as words: "strongly agree or agree", "1 or 2"."""
    pos = [level_label(scale, p) for p in scale_positive(scale)]
    return " or ".join(p if p.isdigit() else p.lower() for p in pos)


def _answered(scale: dict) -> str:
    """Verb phrase for giving a positive answer: "answered strongly agree or agree", "gave a rating of 1 or 2"."""
    pos = [level_label(scale, p) for p in scale_positive(scale)]
    if pos and all(p.isdigit() for p in pos):
        return "gave a rating of " + _positive_phrase(scale)
    return "answered " + _positive_phrase(scale)


class _FigureRows:
    """The summary and answer rows the figures read, indexed once for all figures (filtering the tables
    again for every item of every figure took a tenth of the drawing time)."""

    def __init__(self, summary: pl.DataFrame, levels: pl.DataFrame):
        #: (instrument, item_id) -> the item's overall summary row
        self.overall: dict[tuple[str, str], dict] = {}
        for r in summary.filter(pl.col("subgroup") == ALL).iter_rows(named=True):
            self.overall.setdefault((r["instrument"], r["item_id"]), r)
        #: (instrument, subgroup) -> summary rows of its groups other than "Not known", in table order
        self.grouped: dict[tuple[str, str], list[dict]] = {}
        for r in summary.filter((pl.col("subgroup") != ALL) & (pl.col("group") != NOT_KNOWN)).iter_rows(named=True):
            self.grouped.setdefault((r["instrument"], r["subgroup"]), []).append(r)
        #: (instrument, item_id) -> overall rows of its substantive answers, in scale order
        self.answers: dict[tuple[str, str], list[dict]] = {}
        for r in (levels.filter((pl.col("subgroup") == ALL) & pl.col("substantive"))
                  .sort("level_order", maintain_order=True).iter_rows(named=True)):
            self.answers.setdefault((r["instrument"], r["item_id"]), []).append(r)


def _draw_diverging(spec: FigureSpec, inst: "Instrument", data: _FigureRows, threshold, source):
    from . import figures as F

    lv_all, positive, _ = _levels_of(inst, spec.items[0])
    scale = inst.scale(next(it for it in inst.items if it["id"] == spec.items[0]))
    pos_levels = [lv for lv in lv_all if lv in positive]
    neg_levels = [lv for lv in lv_all if lv not in positive]
    items = list(spec.items)
    fig, ax = F.new_figure("barh", height_cm=2.2 + 1.35 * len(items))
    ylabels, n_info, alt_parts = [], {}, []
    shown_rows = []
    for y, iid in enumerate(items):
        s = data.overall.get((spec.instrument, iid))
        pct = {r["response"]: r["pct_of_substantive"] for r in data.answers.get((spec.instrument, iid), [])}
        n = s["n_substantive"] if s else 0
        n_info[iid] = n
        ns_txt = ""
        ns_codes = _levels_of(inst, iid)[2]
        if s and ns_codes and s["n_not_substantive"] and s["respondents"] >= threshold:
            ns_txt = f"; {ns_codes[0].lower()} {d.fmt_pct(s['pct_not_substantive'])}"
        ylabels.append(f"{_wrap(s['item_text'] if s else iid)}\n(n = {count_label(n, threshold)}{ns_txt})")
        if n < threshold:
            ax.text(0, y, "c: too few answers to show", ha="center", va="center", fontsize=8, color=F.GREY)
            alt_parts.append(f"{s['item_text'] if s else iid}: suppressed")
            continue
        left = 0.0
        for k, lv in enumerate(reversed(pos_levels)):             # weakest positive next to zero
            w = pct.get(lv) or 0.0
            colour = _POS_COLOURS[len(pos_levels) - 1 - k] if len(pos_levels) - 1 - k < len(_POS_COLOURS) else _POS_COLOURS[-1]
            ax.barh(y, w, left=left, color=colour, height=0.62, label=level_label(scale, lv) if y == 0 else None)
            if w >= 7 and percent_shown(w, n, threshold):
                ax.text(left + w / 2, y, d.fmt_pct(w), ha="center", va="center",
                        color="white" if k == len(pos_levels) - 1 else "black")
            left += w
        ax.text(left + 1.5, y, d.fmt_pct(s["pct_positive"]) if percent_shown(s["pct_positive"], n, threshold)
                else d.SUPPRESSED, ha="left", va="center", fontweight="bold")
        right = 0.0
        for k, lv in enumerate(neg_levels):                       # mildest negative next to zero
            w = pct.get(lv) or 0.0
            colour = _NEG_COLOURS[len(neg_levels) - 1 - k] if len(neg_levels) - 1 - k < len(_NEG_COLOURS) else _NEG_COLOURS[-1]
            ax.barh(y, -w, left=-right, color=colour, height=0.62, label=level_label(scale, lv) if y == 0 else None)
            if w >= 7 and percent_shown(w, n, threshold):
                ax.text(-right - w / 2, y, d.fmt_pct(w), ha="center", va="center")
            right += w
        shown_rows.append(s)
        alt_parts.append(f"{s['item_text']}: {d.fmt_pct(s['pct_positive'])} {_answered(scale)} (n = {n})")
    ax.set_yticks(range(len(items)), ylabels, fontsize=8)
    ax.invert_yaxis()
    ax.axvline(0, color="#444444", linewidth=0.8)
    worst = max([0.0] + [r["pct_positive"] is not None and 100 - r["pct_positive"] for r in shown_rows])
    left = 25 * max(1, -(-int(worst + 1) // 25))
    ax.set_xlim(-left, 114)
    ticks = [t for t in (-100, -75, -50, -25, 0, 25, 50, 75, 100) if t >= -left]
    ax.set_xticks(ticks, [f"{abs(t)}%" for t in ticks])
    ax.set_xlabel("% of substantive answers (not-substantive answers excluded)")
    handles, labels_ = ax.get_legend_handles_labels()
    order = [labels_.index(level_label(scale, lv)) for lv in reversed(lv_all) if level_label(scale, lv) in labels_]
    if order:
        digits = all(str(lv).isdigit() for lv in lv_all)
        ax.legend([handles[i] for i in order], [labels_[i] for i in order], loc="upper center",
                  bbox_to_anchor=(0.45, -0.16 - 0.02 * (6 - min(len(items), 6))), ncol=len(order), fontsize=8,
                  title=f"Rating ({lv_all[0]} = best)" if digits else None, title_fontsize=8)
    if shown_rows:
        hi = max(shown_rows, key=lambda r: (r["pct_positive"], -r["item_order"]))
        lo = min(shown_rows, key=lambda r: (r["pct_positive"], r["item_order"]))
        if len(shown_rows) > 1 and d.round_half_away(hi["pct_positive"]) != d.round_half_away(lo["pct_positive"]):
            title = (f"Between {d.fmt_pct(lo['pct_positive'])} and {d.fmt_pct(hi['pct_positive'])} "
                     f"{_answered(scale)}; most for '{hi['item_text'].rstrip('.')}'")
        else:
            title = (f"{d.pct_in_words(hi['pct_positive'], capitalize=True)} {_answered(scale)}"
                     + (" to each statement" if len(shown_rows) > 1 else ""))
    else:
        title = "Too few answers to show"
    F.finding_title(ax, _wrap(title, 70))
    caption = (f"{inst.title}: answers to {len(items)} items ({spec.block.replace('_', ' ')} block), as % of "
               f"substantive answers; the bold figure is the % who {_answered(scale)}. Not-substantive answers "
               f"are excluded from the bars and given beside the n. Source: {source}.")
    alt = "Diverging stacked bar chart. " + "; ".join(alt_parts) + "."
    return fig, title, caption, alt, n_info


def _draw_levels(spec: FigureSpec, inst: "Instrument", data: _FigureRows, threshold, source):
    from . import figures as F

    iid = spec.items[0]
    item = next(it for it in inst.items if it["id"] == iid)
    scale = inst.scale(item)
    s = data.overall.get((spec.instrument, iid))
    dist = data.answers.get((spec.instrument, iid), [])
    pcts = [r["pct_of_substantive"] for r in dist]
    n = s["n_substantive"] if s else 0
    fig, ax = F.new_figure("barh", height_cm=2.5 + 0.9 * len(dist))
    names = [level_label(scale, r["response"]) for r in dist]
    if n >= threshold:
        colours = [F.BLUE if r["positive"] else F.GREY for r in dist]
        bars = ax.barh(range(len(dist)), pcts, color=colours, height=0.62)
        F.label_bars(ax, bars, values=[p if percent_shown(p, n, threshold) else None for p in pcts])
        title = f"{d.pct_in_words(s['pct_positive'], capitalize=True)} {_answered(scale)}"
        alt = (f"Bar chart of answers to '{item['text']}' (n = {n}): "
               + "; ".join(f"{nm} {d.fmt_pct(p)}" for nm, p in zip(names, pcts)) + ".")
    else:
        ax.text(50, (len(dist) - 1) / 2, "c: too few answers to show", ha="center", va="center", color=F.GREY)
        title = "Too few answers to show"
        alt = f"Answers to '{item['text']}' are suppressed (fewer than {threshold})."
    ax.set_yticks(range(len(dist)), names)
    ax.invert_yaxis()
    ax.set_xlim(0, 105)
    ax.set_xlabel(f"% of respondents (n = {count_label(n, threshold)})")
    F.finding_title(ax, _wrap(f"{item['text']}: {title[0].lower() + title[1:]}", 70))
    caption = (f"{inst.title}: {item['text'].rstrip('.')}, % of respondents giving each answer "
               f"(n = {count_label(n, threshold)}). Source: {source}.")
    return fig, title, caption, alt, {iid: n}


def _draw_ordered(spec: FigureSpec, inst: "Instrument", data: _FigureRows, threshold, source):
    from . import figures as F

    rows = [r for r in (data.overall.get((spec.instrument, iid)) for iid in spec.items) if r]
    # questions in questionnaire order, answers within a question by % (descending)
    by_q: dict[str, list[dict]] = {}
    for r in rows:
        by_q.setdefault(r["question_id"], []).append(r)
    ordered = []
    for q, rs in by_q.items():
        ordered += sorted(rs, key=lambda r: (-(r["pct_positive"] or -1), r["item_order"]))
    fig, ax = F.new_figure("barh", height_cm=2.5 + 0.95 * len(ordered))
    labels_, alt_parts, n_info = [], [], {}
    for y, r in enumerate(ordered):
        n = r["n_substantive"]
        n_info[r["item_id"]] = n
        text = r["item_text"] if r["kind"] == "multi" else f"{r['item_text']} (yes)"
        labels_.append(f"{_wrap(text, 46)}\n(n = {count_label(n, threshold)})")
        if n >= threshold:
            colour = F.BLUE if r["kind"] == "multi" else F.BLUISH_GREEN
            ax.barh(y, r["pct_positive"], color=colour, height=0.62)
            lo, hi = r["pct_positive_lower"], r["pct_positive_upper"]
            ax.plot([lo, hi], [y, y], color="#333333", linewidth=1)
            ax.text(max(hi, r["pct_positive"]) + 1.5, y, d.fmt_pct(r["pct_positive"])
                    if percent_shown(r["pct_positive"], n, threshold) else d.SUPPRESSED, va="center")
            alt_parts.append(f"{text}: {d.fmt_pct(r['pct_positive'])} (n = {n})")
        else:
            ax.text(2, y, "c", va="center", color=F.GREY)
            alt_parts.append(f"{text}: suppressed")
    ax.set_yticks(range(len(ordered)), labels_, fontsize=8)
    ax.set_ylim(len(ordered) - 0.5, -0.5)
    ax.set_xlim(0, 110)
    ax.set_xlabel("% of respondents to the question (lines: 95% confidence intervals)")
    multi = [r for r in ordered if r["kind"] == "multi" and r["n_substantive"] >= threshold]
    pick = max(multi or [r for r in ordered if r["n_substantive"] >= threshold] or [None],
               key=lambda r: -1 if r is None else r["pct_positive"])
    lead = "Most often ticked" if multi else "Most common yes"
    title = (f"{lead}: {pick['item_text'].rstrip('.?')[0].lower()}{pick['item_text'].rstrip('.?')[1:]} "
             f"({d.fmt_pct(pick['pct_positive'])})" if pick else "Too few answers to show")
    F.finding_title(ax, _wrap(title, 70))
    caption = (f"{inst.title}: % answering yes, and % ticking each option of a tick-all-that-apply question "
               f"(over respondents to that question, so options do not add up to 100). Source: {source}.")
    alt = "Horizontal bar chart. " + "; ".join(alt_parts) + "."
    return fig, title, caption, alt, n_info


def _draw_multiples(spec: FigureSpec, inst: "Instrument", data: _FigureRows, threshold, source):
    import matplotlib.pyplot as plt

    from . import figures as F

    by_item: dict[str, list[dict]] = {iid: [] for iid in spec.items}
    for r in data.grouped.get((spec.instrument, spec.subgroup), []):
        if r["item_id"] in by_item:
            by_item[r["item_id"]].append(r)
    groups = [g for _, g in sorted({(r["group_order"], r["group"]) for rs in by_item.values() for r in rs
                                    if r["n_substantive"] >= threshold})]
    items = list(spec.items)
    ncols = 1 if len(items) == 1 else 2
    nrows = -(-len(items) // ncols)
    F.apply_house_style()
    axis_cm, gap_cm = 0.3 + 0.5 * len(groups), 1.3
    top_cm, bottom_cm = 1.9, 1.1
    height_cm = top_cm + bottom_cm + nrows * axis_cm + (nrows - 1) * gap_cm
    fig, axes = plt.subplots(nrows, ncols, figsize=(F.REPORT_WIDTH_CM * F.CM, height_cm * F.CM),
                             sharex=True, sharey=True, squeeze=False)
    # fixed margins instead of tight_layout (which draws the figure an extra time)
    fig.subplots_adjust(left=0.22, right=0.98, top=1 - top_cm / height_cm, bottom=bottom_cm / height_cm,
                        hspace=gap_cm / axis_cm, wspace=0.12)
    best_gap, alt_parts, n_info = None, [], {}
    for idx, iid in enumerate(items):
        ax = axes[idx // ncols][idx % ncols]
        ax.grid(False, axis="y")
        ax.tick_params(axis="y", length=0, labelsize=7.5)
        ax.tick_params(axis="x", labelsize=7.5)
        rows = {r["group"]: r for r in by_item[iid]}
        text = next(iter(rows.values()))["item_text"] if rows else iid
        # y=1.0 fixes the panel title where matplotlib's automatic placement puts it (no ticks above the
        # panel) without it measuring the y tick labels again at every draw
        ax.set_title(_wrap(text, 40 if ncols == 2 else 84), fontsize=8, loc="left", fontweight="normal", y=1.0)
        shown, shown_y = [], []
        for y, g in enumerate(groups):
            r = rows.get(g)
            n = r["n_substantive"] if r else 0
            n_info[f"{iid}|{g}"] = n
            if r and n >= threshold and percent_shown(r["pct_positive"], n, threshold):
                ax.text(104, y, f"{d.fmt_pct(r['pct_positive'])} ({d.fmt_count(n)})", va="center")
                shown.append(r)
                shown_y.append(y)
            else:
                ax.text(104, y, d.SUPPRESSED, va="center", color=F.GREY)
        if shown:
            # a panel's intervals as one line broken between groups, and its points as one marker line: the
            # same pixels as a line and a point per group (groups are a row apart), for a fifth of the artists
            ci_x = [v for r in shown for v in (r["pct_positive_lower"], r["pct_positive_upper"], float("nan"))]
            ci_y = [v for y in shown_y for v in (y, y, float("nan"))]
            ax.plot(ci_x, ci_y, color=F.GREY, linewidth=1.2)
            ax.plot([r["pct_positive"] for r in shown], shown_y, "o", color=F.BLUE, markersize=4.5)
        if len(shown) >= 2:
            hi = max(shown, key=lambda r: r["pct_positive"])
            lo = min(shown, key=lambda r: r["pct_positive"])
            gap = hi["pct_positive"] - lo["pct_positive"]
            if best_gap is None or gap > best_gap[0]:
                best_gap = (gap, text, hi, lo)
        alt_parts.append(text + ": " + ", ".join(f"{r['group']} {d.fmt_pct(r['pct_positive'])}" for r in shown))
    axes[0][0].set_yticks(range(len(groups)), [_wrap(g, 22) for g in groups])
    axes[0][0].set_ylim(len(groups) - 0.5, -0.5)
    axes[0][0].set_xlim(0, 135)
    axes[0][0].set_xticks([0, 50, 100])
    for idx in range(len(items), nrows * ncols):
        axes[idx // ncols][idx % ncols].set_visible(False)
        if idx - ncols >= 0:
            axes[(idx - ncols) // ncols][(idx - ncols) % ncols].tick_params(labelbottom=True)
    last = axes[(len(items) - 1) // ncols][(len(items) - 1) % ncols]
    last.set_xlabel("% positive, 95% CI (n)", fontsize=8)
    what = SUBGROUP_NAMES.get(spec.subgroup, spec.subgroup)
    if best_gap and d.round_half_away(best_gap[0]) >= 1:
        gap, text, hi, lo = best_gap
        title = (f"Largest gap by {what}: {hi['group']} {d.fmt_pct(hi['pct_positive'])} against "
                 f"{lo['group']} {d.fmt_pct(lo['pct_positive'])} ({text.rstrip('.')})")
    elif best_gap:
        title = f"Every {what} group gave the same rounded percentage"
    else:
        title = f"Answers by {what}"
    fig.suptitle(_wrap(title, 84), x=0.01, y=1 - 0.25 / height_cm, ha="left", va="top", fontsize=10,
                 fontweight="bold")
    caption = (f"{inst.title}: % positive by {what}, with Wilson 95% confidence intervals and n in brackets; "
               f"groups with fewer than {threshold} answers to every item and '{NOT_KNOWN}' are not shown, and "
               f"'{d.SUPPRESSED}' marks an item with fewer than {threshold} answers in a group. Source: {source}.")
    alt = f"Small multiples, one panel per item, by {what}. " + "; ".join(alt_parts) + "."
    return fig, title, caption, alt, n_info


_DRAW = {"diverging": _draw_diverging, "levels": _draw_levels, "ordered": _draw_ordered,
         "multiples": _draw_multiples}


def draw_figures(specs: Sequence[FigureSpec], summary: pl.DataFrame, levels: pl.DataFrame,
                 instruments: Mapping[str, "Instrument"], out_dir: str | Path, *, threshold: int,
                 year: str = "") -> list[dict]:
    """Draw every planned figure into ``out_dir`` (PNG + sidecar via :func:`cpdeval.figures.save_figure`).

    Returns the manifest: one dict per figure with key, kind, instrument, block, subgroup, items, file,
    title, caption, alt_text and n.
    """
    from . import figures as F

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = []
    data = _FigureRows(summary, levels)
    for spec in specs:
        inst = instruments[spec.instrument]
        source = f"{inst.title}, {year}".rstrip(", ") if year else inst.title
        fig, title, caption, alt, n_info = _DRAW[spec.kind](spec, inst, data, threshold, source)
        path = F.save_figure(fig, out_dir / spec.file, alt_text=alt, caption=caption, source=source,
                             n={k: count_value(v, threshold) for k, v in n_info.items()})
        manifest.append({"key": spec.key, "kind": spec.kind, "instrument": spec.instrument, "block": spec.block,
                         "subgroup": spec.subgroup, "items": list(spec.items), "file": path.name, "title": title,
                         "caption": caption, "alt_text": alt})
    return manifest
