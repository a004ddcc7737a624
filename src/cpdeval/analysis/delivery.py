"""Delivery and reach: the tables and figures of the "Delivery and reach" chapter (seed 000, Figures 1-3).

Everything here is a plain function of the engagement tables (:mod:`cpdeval.engagement`); the figures are in
:mod:`cpdeval.analysis.delivery_figures`, and the rule's stage (:mod:`cpdeval.stages.delivery`) only reads
inputs, calls them and writes outputs.

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

from typing import Any, Mapping, Sequence

import polars as pl

from ..calendar import FY_START_MONTH, TERMS, label_start, term_label, terms_in_year
from ..engagement import (ELIGIBLE_REACH_PHASES, PROVIDERS, REACH_PHASES, ROLE_GROUPS, eligible_schools)

__all__ = [
    "ENGAGEMENT_COLUMNS", "PROVIDER_LABEL", "PHASE_LABEL", "ROLE_LABEL", "TARGET_METRICS",
    "units_by_term", "units_by_year", "year_on_year", "reach_counts", "participants_by_role",
    "schools_by_phase", "reach_long", "against_targets", "penetration", "school_flows",
    "delivery_tables",
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
    and ``schools_priority`` (null, not 0, for a group whose bookings carry no priority-school flag at all:
    an export without the column cannot say how many priority schools took part).
    """
    by = list(by)
    e = engagements
    base = e.group_by(by).agg(
        pl.col("units").sum().alias("units"),
        pl.len().cast(pl.Int64).alias("attendances"),
        pl.col("school_key").is_null().sum().cast(pl.Int64).alias("attendances_without_school"),
        pl.col("participant_id").n_unique().cast(pl.Int64).alias("participants"),
        # an export without the priority-school flag says nothing about priority schools: not available, not 0
        pl.col("priority_school").is_not_null().any().alias("_prio_known"),
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
    out = out.with_columns(pl.when(pl.col("_prio_known")).then(pl.col("schools_priority"))
                           .alias("schools_priority")).drop("_prio_known")
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

    ``pct_of_target`` = 100 x reached / target; ``met`` = reached >= target (null where either is unknown).
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


#: The engagement columns the delivery tables use (the stage reads only these; a function that needs another
#: fails with polars' missing-column error, never quietly).
ENGAGEMENT_COLUMNS = ("booking_id", "participant_id", "role_group", "provider", "start_date", "financial_year",
                      "term", "units", "priority_school", "school_key", "phase_group", "reach_phase")


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
    # a delivery year without a booking reached nobody (zeros); a null within a year with bookings stays null
    reach = (pl.DataFrame({"financial_year": delivery})
             .join(reach.with_columns(pl.lit(True).alias("_booked")), on="financial_year", how="left")
             .with_columns([pl.when(pl.col("_booked")).then(pl.col(c)).otherwise(pl.col(c).fill_null(0)).alias(c)
                            for c in reach.columns if c != "financial_year"])
             .drop("_booked"))
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
