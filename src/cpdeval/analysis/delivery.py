"""Delivery and reach: the tables and figures of the "Delivery and reach" chapter (seed 000, Figures 1-3).

Everything here is a plain function of the engagement tables (:mod:`cpdeval.engagement`); the stage
function :func:`run_delivery` only reads inputs, calls them and writes outputs.

Definitions
-----------
* **CPD units** per financial year, split by term (in the order the terms fall in the year) and by provider
  (national centre, regional partnerships, other providers).
* **Year-on-year change** is reported two ways (:func:`year_on_year`). The *full-year* change compares the
  two years' totals. The *same-terms* change compares only the terms in which there was delivery in both
  years. When a provider delivered in fewer terms in one year (the 2015-16 report compared the new
  partnerships' two terms of 2013-14 with their full 2014-15 year and said delivery "more than doubled"),
  the full-year change compares unequal windows and the same-terms change is the fair one; when both years
  have delivery in every term, the two agree in window and the full-year change is used.
* **Participants reached**: distinct pseudonymised participants with at least one attended booking in the
  year, by role group (teachers with subject leaders, technicians, other staff; one group per person, from
  their latest booking in the year).
* **Schools reached**: distinct stable school keys with at least one attended booking in the year, each in
  one reach phase (:data:`cpdeval.engagement.REACH_PHASE`), so the phases add up to the total.
  Bookings whose school was not identified count towards units and participants but not schools.
* **Against targets**: the targets input's national targets. Primary and secondary targets are compared
  with the schools *serving* the phase: an all-through school counts towards both the primary and the
  secondary target (it is counted once, as secondary, in the phase breakdown). This is how the 2015-16
  report's phase counts (2,671 + 2,108 + 133 = 4,912, against 4,858 schools in all) can be reproduced;
  the phase breakdown itself adds up. Post-16 counts colleges, sixth-form centres and 16-19 institutions;
  priority schools are schools with at least one attended booking flagged as from a priority school.
* **Penetration**: reached schools as a share of eligible schools, eligible meaning a state-funded school
  of a school phase that was open during the year (:func:`cpdeval.engagement.eligible_schools`); by
  region and phase, and by local authority.
* **New, retained, returning and lapsed schools**: in year Y, a reached school is *new* if Y is its first
  year of use in the data, *retained* if it also used the programme in Y-1, *returning* if it used it
  before Y-1 but not in Y-1; a school is *lapsed* in Y if it used the programme in Y-1 but not in Y. New +
  retained + returning = schools reached in Y; retained + lapsed = schools reached in Y-1. The first year of
  the data has no flows (every school would look new).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, Sequence

import polars as pl

from .. import display as d
from ..jobio import job_required, job_value, write_table
from ..calendar import FY_START_MONTH, TERMS, label_start, term_label, terms_in_year
from ..disclosure import count_label, count_value
from ..engagement import (ELIGIBLE_REACH_PHASES, PROVIDERS, REACH_PHASES, ROLE_GROUPS, eligible_schools)

__all__ = [
    "PROVIDER_LABEL", "PHASE_LABEL", "ROLE_LABEL", "TARGET_METRICS",
    "units_by_term", "units_by_year", "year_on_year", "reach_counts", "participants_by_role",
    "schools_by_phase", "reach_long", "against_targets", "penetration", "school_flows",
    "run_delivery", "DELIVERY_OUTPUTS",
]

PROVIDER_LABEL = {"national": "National centre", "regional": "Regional partnerships", "other": "Other providers"}
PHASE_LABEL = {"primary": "Primary", "secondary": "Secondary (with all-through)", "post16": "Post-16",
               "special": "Special", "other": "Other establishments", "all": "All schools and colleges"}
ROLE_LABEL = {"teachers": "Teachers and subject leaders", "technicians": "Technicians",
              "other_staff": "Other staff", "all": "All participants"}
#: target metric -> (column of :func:`reach_counts`, label). Primary/secondary compare schools serving the phase.
TARGET_METRICS: dict[str, tuple[str, str]] = {
    "units": ("units", "CPD units"),
    "participants": ("participants", "Participants (all roles)"),
    "technicians": ("technicians", "Technicians"),
    "schools_primary": ("schools_serving_primary", "Primary schools"),
    "schools_secondary": ("schools_serving_secondary", "Secondary schools"),
    "post16": ("schools_post16", "Post-16 institutions"),
    "schools_priority": ("schools_priority", "Priority schools"),
    "schools": ("schools", "All schools and colleges"),
}
SOURCE = "Booking system export, attended bookings"


# =========================================================================== units

def units_by_term(engagements: pl.DataFrame, years: Sequence[str], terms: Mapping[str, int] | None = None,
                  start_month: int = FY_START_MONTH) -> pl.DataFrame:
    """Units and attendances per financial year x term x provider, on a complete grid (zeros included)."""
    terms = dict(terms or TERMS)
    order = terms_in_year(terms, start_month)
    grid = pl.DataFrame(
        [(y, i, t, term_label(y, t, terms, start_month), p)
         for y in sorted(years) for i, t in enumerate(order, start=1) for p in PROVIDERS],
        schema={"financial_year": pl.Utf8, "term_index": pl.Int32, "term": pl.Utf8, "term_label": pl.Utf8,
                "provider": pl.Utf8}, orient="row")
    agg = engagements.group_by(["financial_year", "term", "provider"]).agg(
        pl.col("units").sum().alias("units"), pl.len().cast(pl.Int64).alias("attendances"))
    return (grid.join(agg, on=["financial_year", "term", "provider"], how="left")
            .with_columns(pl.col("units").fill_null(0.0), pl.col("attendances").fill_null(0))
            .sort(["financial_year", "term_index", "provider"]))


def units_by_year(by_term: pl.DataFrame) -> pl.DataFrame:
    """Units per financial year: total, by provider, and number of terms with any delivery."""
    prov = by_term.pivot(on="provider", index=["financial_year", "term_index"], values="units",
                         aggregate_function="sum")
    for p in PROVIDERS:
        if p not in prov.columns:
            prov = prov.with_columns(pl.lit(0.0).alias(p))
    return (by_term.group_by("financial_year").agg(
        pl.col("units").sum().alias("units"), pl.col("attendances").sum().alias("attendances"))
        .join(prov.group_by("financial_year").agg([pl.col(p).sum().alias(f"units_{p}") for p in PROVIDERS]),
              on="financial_year")
        .join(by_term.group_by(["financial_year", "term"]).agg(pl.col("units").sum())
              .group_by("financial_year").agg((pl.col("units") > 0).sum().cast(pl.Int32).alias("terms_active")),
              on="financial_year")
        .sort("financial_year"))


def _pct_change(new: pl.Expr, old: pl.Expr) -> pl.Expr:
    return pl.when(old > 0).then(100 * (new - old) / old).otherwise(None)


def year_on_year(by_term: pl.DataFrame) -> pl.DataFrame:
    """Change in units between consecutive years, on the full year and on the same terms.

    One row per (year, scope), scope ``all`` or a provider. ``equal_windows`` is true when the same terms
    had delivery in both years; ``fair_change_pct`` is then the full-year change, otherwise the same-terms
    change (``fair_basis`` says which).
    """
    years = sorted(by_term["financial_year"].unique().to_list())
    scoped = pl.concat([
        by_term.group_by(["financial_year", "term", "term_index"]).agg(pl.col("units").sum())
        .with_columns(pl.lit("all").alias("scope")),
        by_term.select("financial_year", "term", "term_index", "units", pl.col("provider").alias("scope")),
    ], how="diagonal_relaxed")
    order = {t: i for t, i in by_term.select("term", "term_index").unique().iter_rows()}
    rows = []
    for prev, cur in zip(years, years[1:]):
        if label_start(cur) - label_start(prev) != 1:
            continue
        for scope in ("all", *PROVIDERS):
            s = scoped.filter(pl.col("scope") == scope)
            up = dict(s.filter(pl.col("financial_year") == prev).group_by("term").agg(pl.col("units").sum())
                      .iter_rows())
            uc = dict(s.filter(pl.col("financial_year") == cur).group_by("term").agg(pl.col("units").sum())
                      .iter_rows())
            act_p = sorted((t for t, u in up.items() if u > 0), key=order.get)
            act_c = sorted((t for t, u in uc.items() if u > 0), key=order.get)
            common = [t for t in act_p if t in act_c]
            tot_p, tot_c = sum(up.values()), sum(uc.values())
            com_p, com_c = sum(up[t] for t in common), sum(uc[t] for t in common)
            full = 100 * (tot_c - tot_p) / tot_p if tot_p > 0 else None
            same = 100 * (com_c - com_p) / com_p if com_p > 0 else None
            equal = act_p == act_c
            rows.append({
                "financial_year": cur, "previous_year": prev, "scope": scope,
                "units_previous": float(tot_p), "units": float(tot_c),
                "terms_previous": ", ".join(act_p), "terms": ", ".join(act_c),
                "equal_windows": equal, "change_full_pct": full,
                "common_terms": ", ".join(common), "units_previous_common": float(com_p),
                "units_common": float(com_c), "change_same_terms_pct": same,
                "fair_change_pct": full if equal else same,
                "fair_basis": "full year" if equal else (f"same terms ({', '.join(common)})" if common else "none"),
            })
    schema = {"financial_year": pl.Utf8, "previous_year": pl.Utf8, "scope": pl.Utf8, "units_previous": pl.Float64,
              "units": pl.Float64, "terms_previous": pl.Utf8, "terms": pl.Utf8, "equal_windows": pl.Boolean,
              "change_full_pct": pl.Float64, "common_terms": pl.Utf8, "units_previous_common": pl.Float64,
              "units_common": pl.Float64, "change_same_terms_pct": pl.Float64, "fair_change_pct": pl.Float64,
              "fair_basis": pl.Utf8}
    return pl.DataFrame(rows, schema=schema, orient="row")


# =========================================================================== reach

_COUNT_COLS = ["attendances", "attendances_without_school", "participants", *ROLE_GROUPS, "schools",
               *[f"schools_{p}" for p in REACH_PHASES], "schools_all_through", "schools_priority"]


def reach_counts(engagements: pl.DataFrame, by: Sequence[str] = ("financial_year",)) -> pl.DataFrame:
    """Reach per group (by default per financial year), wide: one row per group.

    Columns: units, attendances, attendances_without_school, participants and one column per role group
    (they add up to participants), schools and ``schools_<phase>`` per reach phase (they add up to
    schools), ``schools_all_through`` (included in ``schools_secondary``), ``schools_serving_primary``
    (primary + all-through) and ``schools_serving_secondary`` (= secondary, which includes all-through),
    and ``schools_priority``.
    """
    by = list(by)
    e = engagements
    base = e.group_by(by).agg(
        pl.col("units").sum().alias("units"),
        pl.len().cast(pl.Int64).alias("attendances"),
        pl.col("school_key").is_null().sum().cast(pl.Int64).alias("attendances_without_school"),
        pl.col("participant_id").n_unique().cast(pl.Int64).alias("participants"),
    )
    roles = (e.sort(["start_date", "booking_id"])
             .group_by(by + ["participant_id"], maintain_order=True).agg(pl.col("role_group").last())
             .group_by(by).agg([(pl.col("role_group") == g).sum().cast(pl.Int64).alias(g) for g in ROLE_GROUPS]))
    sch = (e.filter(pl.col("school_key").is_not_null())
           .group_by(by + ["school_key"]).agg(pl.col("reach_phase").first(), pl.col("phase_group").first(),
                                               pl.col("priority_school").fill_null(False).any().alias("_prio")))
    schools = sch.group_by(by).agg(
        pl.len().cast(pl.Int64).alias("schools"),
        *[(pl.col("reach_phase") == p).sum().cast(pl.Int64).alias(f"schools_{p}") for p in REACH_PHASES],
        (pl.col("phase_group") == "all_through").sum().cast(pl.Int64).alias("schools_all_through"),
        pl.col("_prio").sum().cast(pl.Int64).alias("schools_priority"),
    )
    out = base.join(roles, on=by, how="left").join(schools, on=by, how="left")
    out = out.with_columns([pl.col(c).fill_null(0).cast(pl.Int64) for c in _COUNT_COLS])
    return out.with_columns(
        (pl.col("schools_primary") + pl.col("schools_all_through")).alias("schools_serving_primary"),
        pl.col("schools_secondary").alias("schools_serving_secondary"),
    ).sort(by)


def participants_by_role(reach: pl.DataFrame) -> pl.DataFrame:
    """Long: financial_year, role_group (and ``all``), label, participants, share of all participants."""
    long = reach.select("financial_year", *ROLE_GROUPS, pl.col("participants").alias("all")).unpivot(
        index="financial_year", variable_name="role_group", value_name="participants")
    order = {g: i for i, g in enumerate([*ROLE_GROUPS, "all"])}
    return (long.join(reach.select("financial_year", pl.col("participants").alias("base")), on="financial_year")
            .with_columns(pl.col("role_group").replace_strict(ROLE_LABEL, return_dtype=pl.Utf8).alias("label"),
                          (100 * pl.col("participants") / pl.col("base")).alias("pct"),
                          pl.col("role_group").replace_strict(order, return_dtype=pl.Int32).alias("order"))
            .sort(["financial_year", "order"]).drop("order"))


def schools_by_phase(reach: pl.DataFrame) -> pl.DataFrame:
    """Long: financial_year, phase (each reach phase, then ``all``), label, schools, share of all schools.

    ``schools_serving`` is the count used against targets: primary includes all-through schools too (so
    the ``schools_serving`` column does not add up to the total; ``schools`` does).
    """
    cols = [pl.col(f"schools_{p}").alias(p) for p in REACH_PHASES] + [pl.col("schools").alias("all")]
    long = reach.select("financial_year", *cols).unpivot(index="financial_year", variable_name="phase",
                                                         value_name="schools")
    order = {p: i for i, p in enumerate([*REACH_PHASES, "all"])}
    serving = reach.select("financial_year", "schools_all_through")
    return (long.join(reach.select("financial_year", pl.col("schools").alias("base")), on="financial_year")
            .join(serving, on="financial_year")
            .with_columns(
                pl.col("phase").replace_strict(PHASE_LABEL, return_dtype=pl.Utf8).alias("label"),
                (100 * pl.col("schools") / pl.col("base")).alias("pct"),
                pl.when(pl.col("phase") == "primary").then(pl.col("schools") + pl.col("schools_all_through"))
                .when(pl.col("phase").is_in(["all"])).then(None)
                .otherwise(pl.col("schools")).alias("schools_serving"),
                pl.col("phase").replace_strict(order, return_dtype=pl.Int32).alias("order"))
            .sort(["financial_year", "order"]).drop("order", "schools_all_through"))


def reach_long(reach: pl.DataFrame, scope: str | pl.Expr = "national") -> pl.DataFrame:
    """One row per (financial_year, scope, metric) with the reached value of each target metric."""
    scope_expr = pl.lit(scope) if isinstance(scope, str) else scope
    parts = [reach.select("financial_year", scope_expr.alias("scope"), pl.lit(m).alias("metric"),
                          pl.col(c).cast(pl.Float64).alias("reached"))
             for m, (c, _) in TARGET_METRICS.items()]
    return pl.concat(parts)


def against_targets(reached: pl.DataFrame, targets: pl.DataFrame) -> pl.DataFrame:
    """Reached against target per (financial_year, scope, metric): target null where none was set.

    ``pct_of_target`` = 100 x reached / target; ``met`` = reached >= target.
    """
    order = {m: i for i, m in enumerate(TARGET_METRICS)}
    t = targets.select("financial_year", "scope", "metric", pl.col("target").cast(pl.Float64))
    return (reached.join(t, on=["financial_year", "scope", "metric"], how="left")
            .with_columns(
                pl.col("metric").replace_strict({m: lab for m, (_, lab) in TARGET_METRICS.items()},
                                                default=pl.col("metric"), return_dtype=pl.Utf8).alias("label"),
                pl.when(pl.col("target") > 0).then(100 * pl.col("reached") / pl.col("target")).alias("pct_of_target"),
                pl.when(pl.col("target").is_not_null()).then(pl.col("reached") >= pl.col("target")).alias("met"),
                pl.col("metric").replace_strict(order, default=99, return_dtype=pl.Int32).alias("_o"))
            .sort(["financial_year", "scope", "_o"]).drop("_o"))


def penetration(engagements: pl.DataFrame, schools: pl.DataFrame, lineage: pl.DataFrame | None,
                financial_year: str, *, start_month: int = FY_START_MONTH) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Share of eligible schools reached in a year: (by region x phase, by local authority).

    Region table: one row per region and reach phase, plus ``all`` phases per region and ``England``
    rows. LA table: region, la_name, eligible, reached, pct (all eligible phases together). A reached
    school counts only if it is eligible (independent schools, for example, are in neither count).
    """
    elig = eligible_schools(schools, lineage, financial_year, fy_start_month=start_month)
    keys = (engagements.filter((pl.col("financial_year") == financial_year) & pl.col("school_key").is_not_null())
            .select("school_key").unique())
    elig = elig.with_columns(pl.col("school_key").is_in(keys["school_key"].implode()).alias("reached"),
                             pl.col("school_region").fill_null("Region not recorded"),
                             pl.col("la_name").fill_null("LA not recorded"))

    def agg(df: pl.DataFrame, by: list[str]) -> pl.DataFrame:
        return df.group_by(by).agg(pl.len().cast(pl.Int64).alias("eligible"),
                                   pl.col("reached").sum().cast(pl.Int64).alias("reached"))

    phase_order = {p: i for i, p in enumerate([*ELIGIBLE_REACH_PHASES, "all"])}
    by_region = pl.concat([
        agg(elig, ["school_region", "reach_phase"]),
        agg(elig, ["school_region"]).with_columns(pl.lit("all").alias("reach_phase")),
        agg(elig, ["reach_phase"]).with_columns(pl.lit("England").alias("school_region")),
        agg(elig.with_columns(pl.lit(1).alias("_")), ["_"]).drop("_")
        .with_columns(pl.lit("England").alias("school_region"), pl.lit("all").alias("reach_phase")),
    ], how="diagonal_relaxed")
    # complete grid so that every region shows every phase
    regions = sorted(elig["school_region"].unique().to_list())
    grid = pl.DataFrame([(r, p) for r in [*regions, "England"] for p in phase_order],
                        schema={"school_region": pl.Utf8, "reach_phase": pl.Utf8}, orient="row")
    by_region = (grid.join(by_region, on=["school_region", "reach_phase"], how="left")
                 .with_columns(pl.col("eligible").fill_null(0), pl.col("reached").fill_null(0))
                 .with_columns(
                     pl.lit(financial_year).alias("financial_year"),
                     pl.when(pl.col("eligible") > 0).then(100 * pl.col("reached") / pl.col("eligible")).alias("pct"),
                     pl.col("reach_phase").replace_strict(PHASE_LABEL, return_dtype=pl.Utf8).alias("phase_label"),
                     (pl.col("school_region") == "England").cast(pl.Int8).alias("_e"),
                     pl.col("reach_phase").replace_strict(phase_order, return_dtype=pl.Int32).alias("_o"))
                 .sort(["_e", "school_region", "_o"]).drop("_e", "_o")
                 .select("financial_year", pl.col("school_region").alias("region"), "reach_phase", "phase_label",
                         "eligible", "reached", "pct"))
    by_la = (agg(elig, ["school_region", "la_name"])
             .with_columns(pl.lit(financial_year).alias("financial_year"),
                           pl.when(pl.col("eligible") > 0).then(100 * pl.col("reached") / pl.col("eligible"))
                           .alias("pct"))
             .sort(["school_region", "la_name"])
             .select("financial_year", pl.col("school_region").alias("region"), "la_name", "eligible", "reached",
                     "pct"))
    return by_region, by_la


def school_flows(school_year: pl.DataFrame, years: Sequence[str]) -> pl.DataFrame:
    """New, retained, returning and lapsed schools per financial year (see the module docstring).

    The first year has null flows and ``status`` "z" (not applicable: every school would look new).
    """
    years = sorted(years)
    sy = school_year.select("school_key", pl.col("financial_year").str.slice(0, 4).cast(pl.Int32).alias("_fy"))
    first = sy.group_by("school_key").agg(pl.col("_fy").min().alias("_first"))
    prev = sy.with_columns((pl.col("_fy") + 1).alias("_fy"), pl.lit(True).alias("_prev"))
    cur = (sy.join(prev, on=["school_key", "_fy"], how="left").join(first, on="school_key")
           .with_columns(pl.col("_prev").fill_null(False)))
    flows = cur.group_by("_fy").agg(
        pl.len().cast(pl.Int64).alias("reached"),
        (pl.col("_first") == pl.col("_fy")).sum().cast(pl.Int64).alias("new"),
        pl.col("_prev").sum().cast(pl.Int64).alias("retained"),
        (~pl.col("_prev") & (pl.col("_first") < pl.col("_fy"))).sum().cast(pl.Int64).alias("returning"),
    )
    lapsed = (prev.drop("_prev").join(sy, on=["school_key", "_fy"], how="anti")
              .group_by("_fy").agg(pl.len().cast(pl.Int64).alias("lapsed")))
    grid = pl.DataFrame({"financial_year": years,
                         "_fy": [label_start(y) for y in years]}, schema={"financial_year": pl.Utf8, "_fy": pl.Int32})
    out = (grid.join(flows, on="_fy", how="left").join(lapsed, on="_fy", how="left")
           .with_columns([pl.col(c).fill_null(0) for c in ("reached", "new", "retained", "returning", "lapsed")])
           .with_columns(pl.col("reached").shift(1).alias("reached_previous")))
    first_year = pl.col("_fy") == (label_start(years[0]) if years else 0)
    flows_cols = ["new", "retained", "returning", "lapsed", "reached_previous"]
    out = out.with_columns([pl.when(first_year).then(None).otherwise(pl.col(c)).alias(c) for c in flows_cols])
    return (out.with_columns(pl.when(first_year).then(pl.lit("z")).otherwise(pl.lit("ok")).alias("status"),
                             pl.when(pl.col("reached") > 0)
                             .then(100 * (pl.col("retained") + pl.col("returning")) / pl.col("reached"))
                             .alias("pct_used_before"))
            .select("financial_year", "reached", "new", "retained", "returning", "lapsed", "reached_previous",
                    "pct_used_before", "status"))


# =========================================================================== figures

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
    from ..figures import finding_title, new_figure, save_figure

    fig, ax = new_figure("bar", height_cm=9.5)
    years, bottom, totals, hidden = _stacked_counts(ax, parts, "role_group", ROLE_GROUPS, ROLE_LABEL,
                                                    "participants", threshold)
    ax.set_ylabel("Distinct participants")
    ax.yaxis.set_major_formatter(_count_formatter())
    ax.legend(loc="upper left", ncols=3)
    ax.set_ylim(0, max(bottom + [1]) * 1.22)
    tot = dict(zip(years, totals))
    n_rep = tot.get(reporting, 0)
    prev = f"{label_start(reporting) - 1}-{label_start(reporting) % 100:02d}"
    if tot.get(prev):
        title = (f"{d.fmt_count(n_rep)} teachers, technicians and other staff took part in {reporting}, "
                 f"{_change_ratio_words(n_rep, tot[prev])} {prev}")
    else:
        title = f"{d.fmt_count(n_rep)} teachers, technicians and other staff took part in {reporting}"
    finding_title(ax, title)
    alt = ("Stacked bar chart of distinct participants per financial year by role: "
           + "; ".join(f"{y}: {count_label(t, threshold, 'suppressed')}" for y, t in zip(years, totals)) + ".")
    return save_figure(fig, path, alt_text=alt,
                       caption="Distinct teachers, technicians and other staff with at least one attended booking, "
                               "per financial year" + _small_note(hidden, threshold),
                       source=SOURCE, n={y: count_value(t, threshold) for y, t in zip(years, totals)})


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


def _change_ratio_words(new: float, old: float) -> str:
    pct = 100 * (new - old) / old
    if d.round_half_away(pct) == 0:
        return "the same as in"
    return f"{d.fmt_pct(abs(pct))} {'more' if pct > 0 else 'fewer'} than in"


def fig_schools(phases: pl.DataFrame, reporting: str, threshold: int, path: str | Path) -> Path:
    """Figure 3: distinct schools and colleges per financial year, stacked by reach phase."""
    from ..figures import finding_title, new_figure, save_figure

    fig, ax = new_figure("bar", height_cm=9.5)
    years, bottom, totals, hidden = _stacked_counts(ax, phases, "phase", REACH_PHASES, PHASE_LABEL, "schools",
                                                    threshold)
    ax.set_ylabel("Distinct schools and colleges")
    ax.yaxis.set_major_formatter(_count_formatter())
    ax.legend(loc="upper left", ncols=3, fontsize=8)
    ax.set_ylim(0, max(bottom + [1]) * 1.28)
    rep = phases.filter(pl.col("financial_year") == reporting)
    n_all = int(rep.filter(pl.col("phase") == "all")["schools"].sum())
    top = rep.filter(pl.col("phase") != "all").sort(["schools", "phase"], descending=[True, False])
    if n_all and top.height:
        t = top.row(0, named=True)
        title = (f"{d.fmt_count(n_all)} schools and colleges took part in {reporting}; "
                 f"{d.words(t['schools'], n_all)} were {t['label'].split(' (')[0].lower()}")
    else:
        title = f"{d.fmt_count(n_all)} schools and colleges took part in {reporting}"
    finding_title(ax, title)
    alt = ("Stacked bar chart of distinct schools and colleges per financial year by phase: "
           + "; ".join(f"{y}: {count_label(t, threshold, 'suppressed')}" for y, t in zip(years, totals)) + ".")
    return save_figure(fig, path, alt_text=alt,
                       caption="Distinct schools and colleges with at least one attended booking, per financial year, "
                               "by phase (each school in one phase; all-through schools with secondary)"
                               + _small_note(hidden, threshold),
                       source=SOURCE + ", matched to the school register",
                       n={y: count_value(t, threshold) for y, t in zip(years, totals)})


def fig_targets(tgt: pl.DataFrame, reporting: str, threshold: int, path: str | Path) -> Path:
    """Target against actual for the reporting year: % of target per metric, with the 100% line."""
    from ..figures import BLUE, GREY, VERMILLION, finding_title, new_figure, save_figure

    rows = (tgt.filter((pl.col("financial_year") == reporting) & (pl.col("scope") == "national")
                       & pl.col("target").is_not_null())
            .to_dicts())
    fig, ax = new_figure("dot", height_cm=max(5.0, 2.2 + 1.0 * len(rows)))
    labels, shown = [], 0
    for i, r in enumerate(reversed(rows)):
        small = r["metric"] != "units" and r["reached"] < threshold
        labels.append(r["label"])
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
    if rows:
        title = (f"{d.count_in_words(len(met), capitalize=True)} of {d.count_in_words(len(rows))} targets "
                 f"for {reporting} were met")
        if missed and len(missed) <= 2:
            title += "; " + " and ".join(missed) + " fell short"
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


def fig_penetration_la(by_la: pl.DataFrame, by_region: pl.DataFrame, threshold: int, path: str | Path) -> Path:
    """A map-like ranked chart: one row per region (ranked), each local authority a dot at its share reached."""
    from ..figures import BLACK, BLUE, finding_title, new_figure, save_figure

    ok = by_la.filter((pl.col("eligible") >= threshold) & (pl.col("reached") >= threshold))
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
            "reached schools are not shown (disclosure control)." if hidden else "")
    return save_figure(fig, path, alt_text=alt,
                       caption="Share of eligible (open, state-funded) schools reached, by local authority within "
                               "region; dot size shows the number of eligible schools." + note,
                       source=SOURCE + "; school register", n=int(ok.height))


def fig_school_flows(flows: pl.DataFrame, reporting: str, threshold: int, path: str | Path) -> Path:
    """New, retained and returning schools per year (stacked), with lapsed schools below the axis."""
    from ..figures import BLUISH_GREEN, BLUE, GREY, ORANGE, VERMILLION, finding_title, new_figure, save_figure

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


# =========================================================================== stage

#: Output name -> file name under the stage's output directory (rules/engagement.smk uses the same names).
DELIVERY_OUTPUTS = {
    "units_by_term": "units_by_term.parquet",
    "units_by_year": "units_by_year.parquet",
    "units_yoy": "units_yoy.parquet",
    "reach": "reach.parquet",
    "participants": "participants_by_role.parquet",
    "schools_phase": "schools_by_phase.parquet",
    "targets": "reach_targets.parquet",
    "penetration_region": "penetration_region.parquet",
    "penetration_la": "penetration_la.parquet",
    "flows": "school_flows.parquet",
    "summary": "summary.json",
    "fig_units": "figures/units_by_year.png",
    "fig_terms": "figures/units_by_term.png",
    "fig_participants": "figures/participants.png",
    "fig_schools": "figures/schools.png",
    "fig_targets": "figures/targets.png",
    "fig_penetration": "figures/penetration_la.png",
    "fig_flows": "figures/school_flows.png",
}




def delivery_tables(engagements: pl.DataFrame, school_year: pl.DataFrame, schools: pl.DataFrame,
                    lineage: pl.DataFrame | None, targets: pl.DataFrame, *, years: Mapping[str, Any]
                    ) -> dict[str, Any]:
    """Every table of the delivery chapter, from the engagement tables (no I/O)."""
    delivery = sorted(years["delivery"])
    reporting = years.get("reporting") or delivery[-1]
    start_month = int(years.get("financial_year_start_month", FY_START_MONTH))
    terms = years.get("terms") or TERMS
    eng = engagements.filter(pl.col("financial_year").is_in(delivery))
    ubt = units_by_term(eng, delivery, terms, start_month)
    uby = units_by_year(ubt)
    yoy = year_on_year(ubt)
    reach = reach_counts(eng)
    reach = (pl.DataFrame({"financial_year": delivery}).join(reach, on="financial_year", how="left")
             .with_columns([pl.col(c).fill_null(0) for c in reach.columns if c != "financial_year"]))
    tgt = against_targets(reach_long(reach), targets.filter(pl.col("scope") == "national"))
    pen_region, pen_la = penetration(eng, schools, lineage, reporting, start_month=start_month)
    flows = school_flows(school_year.filter(pl.col("financial_year").is_in(delivery)), delivery)
    summary = {
        "reporting_year": reporting, "delivery_years": delivery,
        "attended_bookings": engagements.height,
        "attended_bookings_in_years": eng.height,
        "attended_bookings_outside_years": engagements.height - eng.height,
        "units_in_years": float(eng["units"].sum()),
    }
    return {"units_by_term": ubt, "units_by_year": uby, "units_yoy": yoy, "reach": reach,
            "participants": participants_by_role(reach), "schools_phase": schools_by_phase(reach),
            "targets": tgt, "penetration_region": pen_region, "penetration_la": pen_la, "flows": flows,
            "summary": summary}


def run_delivery(job) -> None:
    """Stage of rule ``delivery_analysis``: read the engagement tables, write the chapter's tables and figures."""
    from ..logs import step

    p = job.params
    years = dict(job_value(p, "years"))
    threshold = int(job_required(p, "disclosure_min_count"))
    inp = job.input
    with step(job.logger, "reading the engagement tables and the register"):
        eng = pl.read_parquet(job_value(inp, "engagements"))
        sy = pl.read_parquet(job_value(inp, "school_year"))
        schools = pl.read_parquet(job_value(inp, "schools"))
        lineage = pl.read_parquet(job_value(inp, "lineage"))
        targets = pl.read_parquet(job_value(inp, "targets"))
    with step(job.logger, f"computing delivery and reach for {len(years['delivery'])} years"):
        t = delivery_tables(eng, sy, schools, lineage, targets, years=years)
    out = job.output
    for name in DELIVERY_OUTPUTS:
        if name.startswith("fig_") or name == "summary":
            continue
        write_table(t[name], job_value(out, name))
    Path(job_value(out, "summary")).write_text(json.dumps(t["summary"], indent=2, sort_keys=True) + "\n", encoding="utf-8")
    rep = t["summary"]["reporting_year"]
    with step(job.logger, "drawing figures"):
        fig_units_by_year(t["units_by_year"], t["units_yoy"], t["targets"], rep, job_value(out, "fig_units"))
        fig_units_by_term(t["units_by_term"], rep, job_value(out, "fig_terms"))
        fig_participants(t["participants"], rep, threshold, job_value(out, "fig_participants"))
        fig_schools(t["schools_phase"], rep, threshold, job_value(out, "fig_schools"))
        fig_targets(t["targets"], rep, threshold, job_value(out, "fig_targets"))
        fig_penetration_la(t["penetration_la"], t["penetration_region"], threshold, job_value(out, "fig_penetration"))
        fig_school_flows(t["flows"], rep, threshold, job_value(out, "fig_flows"))
    if t["summary"]["attended_bookings_outside_years"]:
        job.logger.warning("%d attended bookings fall outside the configured delivery years and are not counted",
                           t["summary"]["attended_bookings_outside_years"])
