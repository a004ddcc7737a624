"""Operations: the tables and figures of the "Operations" chapter (seed 000, Chapter 3 and Figure 14).

Definitions
-----------
* **Partnership delivery against targets**: attended engagements delivered by each regional partnership
  (the booking's ``partnership_id``), counted with the same rules as national reach
  (:func:`cpdeval.analysis.delivery.reach_counts`), against the targets input's rows whose scope is the
  partnership. A participant or school served by two partnerships counts in both.
* **Practitioner-led share**: units of attended engagements on activities led by a trained practitioner
  leader, as a share of units whose leader is recorded (bookings with a blank flag are left out of the
  base, and counted in ``attendances_unknown``).
* **Booking funnel**: every accepted booking of the year (attended, cancelled, no-show) by activity type.
  Attended, cancelled and no-show shares are of all bookings; the no-show rate is also given over
  bookings not cancelled (attended + no-show), the share of expected attendees who did not come.
* **Where trained leaders delivered**: the practitioner-leader survey's multi-select question
  ``delivered_where`` (item ids ``delivered_where:<option>``). The base is respondents who answered the
  question (ticked at least one option); a respondent can tick several options, so the shares do not add
  up to 100%. All responses in the survey export are used. ``delivered_any`` (yes/no) is reported over
  respondents giving a yes or no answer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

import polars as pl

from .. import display as d
from ..calendar import FY_START_MONTH, financial_year_expr
from ..disclosure import count_label, count_value
from ..jobio import job_required, job_value, write_table
from .delivery import SOURCE, against_targets, reach_counts, reach_long

__all__ = [
    "ACTIVITY_LABEL", "partnership_names", "partnership_delivery", "practitioner_led", "booking_funnel",
    "leader_delivery", "run_operations", "OPERATIONS_OUTPUTS",
]

ACTIVITY_LABEL = {"course": "Course", "bespoke": "Bespoke / in-school", "network_meeting": "Network meeting",
                  "conference": "Conference", "leading_cpd": "Leading CPD training", "online_course": "Online course",
                  "all": "All activities"}
ACTIVITY_PHRASE = {"course": "courses", "bespoke": "bespoke and in-school CPD", "network_meeting": "network meetings",
                   "conference": "conferences", "leading_cpd": "leading-CPD training", "online_course": "online courses"}
#: How a finding names each place of delivery (options of the practitioner-leader survey's delivered_where).
LEADER_PHRASE = {"own_school": "in their own school", "network": "within the network's programme",
                 "other_partnerships": "in other partnerships or networks"}
STATUSES = ("attended", "cancelled", "no_show")


def partnership_names(partnerships: pl.DataFrame) -> pl.DataFrame:
    """One row per partnership id: name and region (the first row of the id; joint leads share them)."""
    return (partnerships.sort(["partnership_id", "lead_from"])
            .unique(subset=["partnership_id"], keep="first", maintain_order=True)
            .select("partnership_id", "partnership_name", pl.col("region").alias("partnership_region")))


def partnership_delivery(engagements: pl.DataFrame, targets: pl.DataFrame, partnerships: pl.DataFrame,
                         years: list[str]) -> pl.DataFrame:
    """Per financial year x partnership x metric: reached, target, % of target, met.

    Every metric with a partnership target is listed, plus units, participants and schools always.
    """
    e = engagements.filter(pl.col("partnership_id").is_not_null() & pl.col("financial_year").is_in(years))
    reach = reach_counts(e, by=["financial_year", "partnership_id"])
    reached = reach_long(reach, scope=pl.col("partnership_id"))
    t = targets.filter(pl.col("scope") != "national")
    out = against_targets(reached, t)
    keep = pl.col("target").is_not_null() | pl.col("metric").is_in(["units", "participants", "schools"])
    names = partnership_names(partnerships)
    return (out.filter(keep).rename({"scope": "partnership_id"})
            .join(names, on="partnership_id", how="left")
            .with_columns(pl.col("partnership_name").fill_null(pl.col("partnership_id")))
            .select("financial_year", "partnership_id", "partnership_name", "partnership_region", "metric", "label",
                    "reached", "target", "pct_of_target", "met")
            .sort(["financial_year", "partnership_id", "metric"]))


def practitioner_led(engagements: pl.DataFrame, partnerships: pl.DataFrame | None = None) -> pl.DataFrame:
    """Share of units led by practitioner leaders per financial year: all delivery, each provider, each
    partnership (``scope_type`` all / provider / partnership)."""
    e = engagements.with_columns(pl.col("led_by_practitioner").is_not_null().alias("_known"),
                                 pl.col("led_by_practitioner").fill_null(False).alias("_led"))

    def agg(df: pl.DataFrame, by: list[str]) -> pl.DataFrame:
        return df.group_by(by).agg(
            pl.len().cast(pl.Int64).alias("attendances"),
            pl.col("_known").sum().cast(pl.Int64).alias("attendances_known"),
            (~pl.col("_known")).sum().cast(pl.Int64).alias("attendances_unknown"),
            pl.col("_led").sum().cast(pl.Int64).alias("attendances_led"),
            pl.col("units").sum().alias("units"),
            pl.col("units").filter(pl.col("_known")).sum().alias("units_known"),
            pl.col("units").filter(pl.col("_led")).sum().alias("units_led"),
        )

    parts = [
        agg(e, ["financial_year"]).with_columns(pl.lit("all").alias("scope_type"), pl.lit("all").alias("scope")),
        agg(e, ["financial_year", "provider"]).with_columns(pl.lit("provider").alias("scope_type"))
        .rename({"provider": "scope"}),
        agg(e.filter(pl.col("partnership_id").is_not_null()), ["financial_year", "partnership_id"])
        .with_columns(pl.lit("partnership").alias("scope_type")).rename({"partnership_id": "scope"}),
    ]
    out = pl.concat(parts, how="diagonal_relaxed")
    names = partnership_names(partnerships) if partnerships is not None and partnerships.height else None
    label = pl.when(pl.col("scope_type") == "all").then(pl.lit("All delivery"))
    label = label.when(pl.col("scope_type") == "provider").then(
        pl.col("scope").replace_strict({"national": "National centre", "regional": "Regional partnerships",
                                        "other": "Other providers"}, default=pl.col("scope"), return_dtype=pl.Utf8))
    if names is not None:
        out = out.join(names.select("partnership_id", "partnership_name"), left_on="scope", right_on="partnership_id",
                       how="left")
        label = label.otherwise(pl.col("partnership_name").fill_null(pl.col("scope")) + pl.lit(" (") + pl.col("scope")
                                + pl.lit(")"))
    else:
        label = label.otherwise(pl.col("scope"))
    order = pl.col("scope_type").replace_strict({"all": 0, "provider": 1, "partnership": 2}, return_dtype=pl.Int8)
    return (out.with_columns(label.alias("label"), order.alias("_o"),
                             pl.when(pl.col("units_known") > 0).then(100 * pl.col("units_led") / pl.col("units_known"))
                             .alias("pct_units_led"))
            .sort(["financial_year", "_o", "scope"])
            .select("financial_year", "scope_type", "scope", "label", "attendances", "attendances_known",
                    "attendances_unknown", "attendances_led", "units", "units_known", "units_led", "pct_units_led"))


def booking_funnel(bookings: pl.DataFrame, years: list[str], start_month: int = FY_START_MONTH) -> pl.DataFrame:
    """Booked -> attended per financial year and activity type (and ``all``), with cancellations and no-shows.

    The financial year is derived from the start date with :mod:`cpdeval.calendar`, as for engagements.
    """
    b = (bookings.with_columns(financial_year_expr("start_date", start_month).alias("financial_year"))
         .filter(pl.col("financial_year").is_in(years)))

    def agg(df: pl.DataFrame, by: list[str]) -> pl.DataFrame:
        return df.group_by(by).agg(pl.len().cast(pl.Int64).alias("booked"),
                                   *[(pl.col("status") == s).sum().cast(pl.Int64).alias(s) for s in STATUSES])

    out = pl.concat([agg(b, ["financial_year", "activity_type"]),
                     agg(b, ["financial_year"]).with_columns(pl.lit("all").alias("activity_type"))],
                    how="diagonal_relaxed")
    order = {k: i for i, k in enumerate(ACTIVITY_LABEL)}
    return (out.with_columns(
        pl.col("activity_type").replace_strict(ACTIVITY_LABEL, default=pl.col("activity_type"),
                                               return_dtype=pl.Utf8).alias("label"),
        (100 * pl.col("attended") / pl.col("booked")).alias("pct_attended"),
        (100 * pl.col("cancelled") / pl.col("booked")).alias("pct_cancelled"),
        (100 * pl.col("no_show") / pl.col("booked")).alias("pct_no_show"),
        (pl.col("attended") + pl.col("no_show")).alias("not_cancelled"),
        pl.col("activity_type").replace_strict(order, default=50, return_dtype=pl.Int32).alias("_o"))
        .with_columns(pl.when(pl.col("not_cancelled") > 0)
                      .then(100 * pl.col("no_show") / pl.col("not_cancelled")).alias("pct_no_show_of_expected"))
        .sort(["financial_year", "_o"]).drop("_o")
        .select("financial_year", "activity_type", "label", "booked", "attended", "cancelled", "no_show",
                "not_cancelled", "pct_attended", "pct_cancelled", "pct_no_show", "pct_no_show_of_expected"))


#: Answers counted as "yes" (the survey reader may give YAML's boolean spelling of Yes).
YES = ("Yes", "yes", "Y", "True", "true")


def leader_delivery(survey: pl.DataFrame, instrument: Mapping[str, Any] | None = None,
                    question: str = "delivered_where", yes: tuple[str, ...] = YES) -> pl.DataFrame:
    """Where staff trained to lead CPD delivered it (multi-select), plus whether they delivered any.

    One row per option of ``question`` (base: respondents who answered the question) and one row for
    ``delivered_any`` = yes (base: substantive answers; ``yes`` lists the answers counted as yes). Shares
    of a multi-select question do not add up to 100.
    """
    s = survey.filter(pl.col("instrument") == "practitioner_leader")
    texts: dict[str, str] = {}
    option_order: list[str] = []
    any_text = "Delivered any CPD since training"
    if instrument:
        for q in instrument.get("multi_select") or []:
            if q["id"] == question:
                for o in q["options"]:
                    texts[o["id"]] = o["text"]
                    option_order.append(o["id"])
    ms = s.filter(pl.col("item_id").str.starts_with(f"{question}:")).with_columns(
        pl.col("item_id").str.split_exact(":", 1).struct.field("field_1").alias("option"))
    respondents = ms["respondent_id"].n_unique()
    found = sorted(set(ms["option"].to_list()))
    options = option_order + [o for o in found if o not in option_order]
    ticked = dict(ms.filter(pl.col("response_kind") == "ticked").group_by("option").len().iter_rows())
    rows = [{"question": question, "option": o, "label": texts.get(o, o.replace("_", " ").capitalize()),
             "ticked": int(ticked.get(o, 0)), "respondents": respondents} for o in options]
    anyq = s.filter((pl.col("item_id") == "delivered_any") & (pl.col("response_kind") == "substantive"))
    if anyq.height:
        rows.append({"question": "delivered_any", "option": "yes", "label": any_text,
                     "ticked": int(anyq["response"].is_in(list(yes)).sum()),
                     "respondents": anyq["respondent_id"].n_unique()})
    schema = {"question": pl.Utf8, "option": pl.Utf8, "label": pl.Utf8, "ticked": pl.Int64, "respondents": pl.Int64}
    out = pl.DataFrame(rows, schema=schema, orient="row")
    return out.with_columns(pl.when(pl.col("respondents") > 0)
                            .then(100 * pl.col("ticked") / pl.col("respondents")).alias("pct"))


# =========================================================================== figures

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
    from ..figures import BLUE, ORANGE, VERMILLION, finding_title, new_figure, save_figure

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


# =========================================================================== stage

OPERATIONS_OUTPUTS = {
    "partnership_targets": "partnership_targets.parquet",
    "practitioner_led": "practitioner_led.parquet",
    "funnel": "booking_funnel.parquet",
    "leader_delivery": "leader_delivery.parquet",
    "summary": "summary.json",
    "fig_partnerships": "figures/partnership_targets.png",
    "fig_practitioner": "figures/practitioner_led.png",
    "fig_funnel": "figures/booking_funnel.png",
    "fig_leaders": "figures/leader_delivery.png",
}


def operations_tables(engagements: pl.DataFrame, bookings: pl.DataFrame, targets: pl.DataFrame,
                      partnerships: pl.DataFrame, survey: pl.DataFrame, *, years: Mapping[str, Any],
                      instrument: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Every table of the operations chapter (no I/O)."""
    delivery = sorted(years["delivery"])
    reporting = years.get("reporting") or delivery[-1]
    eng = engagements.filter(pl.col("financial_year").is_in(delivery))
    ld = leader_delivery(survey, instrument)
    return {
        "partnership_targets": partnership_delivery(eng, targets, partnerships, delivery),
        "practitioner_led": practitioner_led(eng, partnerships),
        "funnel": booking_funnel(bookings, delivery, int(years.get("financial_year_start_month", FY_START_MONTH))),
        "leader_delivery": ld,
        "summary": {"reporting_year": reporting, "delivery_years": delivery,
                    "survey_respondents": int(ld.filter(pl.col("question") != "delivered_any")["respondents"].max() or 0)
                    if ld.height else 0},
    }


def run_operations(job) -> None:
    """Stage of rule ``operations_analysis``: partnerships, practitioner-led share, funnel, trained leaders."""
    from ..ingest.surveys import load_instrument
    from ..logs import step

    p = job.params
    years = dict(job_value(p, "years"))
    threshold = int(job_required(p, "disclosure_min_count"))
    inp = job.input
    with step(job.logger, "reading engagements, bookings, targets, partnerships and survey responses"):
        eng = pl.read_parquet(job_value(inp, "engagements"))
        bookings = pl.read_parquet(job_value(inp, "bookings"))
        targets = pl.read_parquet(job_value(inp, "targets"))
        partnerships = pl.read_parquet(job_value(inp, "partnerships"))
        survey = pl.read_parquet(job_value(inp, "survey_responses"))
    try:
        instrument = load_instrument("practitioner_leader").definition
    except KeyError:
        instrument = None
    with step(job.logger, "computing the operations tables"):
        t = operations_tables(eng, bookings, targets, partnerships, survey, years=years, instrument=instrument)
    out = job.output
    for name in OPERATIONS_OUTPUTS:
        if name.startswith("fig_") or name == "summary":
            continue
        write_table(t[name], job_value(out, name))
    Path(job_value(out, "summary")).write_text(json.dumps(t["summary"], indent=2, sort_keys=True) + "\n", encoding="utf-8")
    rep = t["summary"]["reporting_year"]
    with step(job.logger, "drawing figures"):
        fig_partnership_targets(t["partnership_targets"], rep, job_value(out, "fig_partnerships"))
        fig_practitioner_led(t["practitioner_led"], rep, threshold, job_value(out, "fig_practitioner"))
        fig_funnel(t["funnel"], rep, threshold, job_value(out, "fig_funnel"))
        fig_leader_delivery(t["leader_delivery"], threshold, job_value(out, "fig_leaders"))
