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

from typing import Any, Mapping

import polars as pl

from ..calendar import FY_START_MONTH, financial_year_expr, with_date_columns
from .delivery import against_targets, reach_counts, reach_long

__all__ = [
    "ENGAGEMENT_COLUMNS", "BOOKING_COLUMNS", "SURVEY_COLUMNS", "ACTIVITY_LABEL", "partnership_names",
    "partnership_delivery", "practitioner_led", "booking_funnel",
    "leader_delivery", "operations_tables",
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

# The columns :func:`operations_tables` reads from each large input (the stage reads only these: the full
# engagements, linked bookings and survey export are some 400 MB in memory for a national year, and each filter
# of a whole table copied every column).
#: engagements: partnership reach (:func:`~cpdeval.analysis.delivery.reach_counts`) and the practitioner-led share
ENGAGEMENT_COLUMNS = ("financial_year", "provider", "partnership_id", "booking_id", "start_date", "participant_id",
                      "role_group", "school_key", "reach_phase", "phase_group", "priority_school", "units",
                      "led_by_practitioner")
#: linked bookings: the booking funnel
BOOKING_COLUMNS = ("start_date", "activity_type", "status")
#: survey responses: where trained leaders delivered
SURVEY_COLUMNS = ("instrument", "respondent_id", "item_id", "response", "response_kind")


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
    fy = financial_year_expr("start_date", start_month).alias("financial_year")
    b = with_date_columns(bookings, "start_date", fy).filter(pl.col("financial_year").is_in(years))

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
