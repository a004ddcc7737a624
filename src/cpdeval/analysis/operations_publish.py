"""What the "Operations" chapter prints from the operations tables: published tables (suppressed and rounded by
the display rules) and the small helpers its sentences share.

One ``publish_*`` function per table of the chapter. Each takes the derived table(s) of
:mod:`cpdeval.analysis.operations` as the chapter reads them, reshapes them for the page and returns a
:class:`cpdeval.tables.PublishedTable` with the chapter's headers, notes and sums. The chapter keeps the prose
and calls these in the same order as before, so the publication log sees the same tables.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from ..display import words
from .delivery_publish import met_text

if TYPE_CHECKING:
    from ..tables import PublishedTable

__all__ = [
    "partnership_wide", "practitioner_rows", "led_partnerships", "leader_share",
    "publish_partnerships", "publish_practitioner", "publish_funnel", "publish_funnel_years", "publish_leaders",
]


# -- partnerships against their targets -----------------------------------------------------------------------

def partnership_wide(ptargets: pl.DataFrame, year: str) -> pl.DataFrame:
    """One row per partnership (sorted by id) for ``year``: its units, units target and % of target, with its
    participants and schools beside them, ``t_status`` ("z" where no units target was set) and ``units_met``
    (met, not met, no target)."""
    rep = ptargets.filter(pl.col("financial_year") == year)
    return (rep.filter(pl.col("metric") == "units")
            .select("partnership_id", "partnership_name", pl.col("reached").alias("units"),
                    pl.col("target").alias("units_target"), pl.col("pct_of_target").alias("units_pct"),
                    pl.col("met").alias("_met"))
            .join(rep.filter(pl.col("metric") == "participants")
                  .select("partnership_id", pl.col("reached").alias("participants")),
                  on="partnership_id", how="left")
            .join(rep.filter(pl.col("metric") == "schools")
                  .select("partnership_id", pl.col("reached").alias("schools")),
                  on="partnership_id", how="left")
            .with_columns(pl.when(pl.col("units_target").is_null()).then(pl.lit("z")).otherwise(pl.lit("ok"))
                          .alias("t_status"),
                          met_text("units_target", "units", "_met").alias("units_met"))
            .drop("_met")
            .sort("partnership_id"))


def publish_partnerships(ptargets: pl.DataFrame, year: str, *, threshold: int) -> "PublishedTable":
    """Delivery by partnership against its targets in ``year``."""
    from ..tables import publish_table

    return publish_table(partnership_wide(ptargets, year), columns={
        "partnership_id": {"kind": "label", "header": "Partnership"},
        "partnership_name": {"kind": "label", "header": "Name"},
        "units": {"kind": "number", "decimals": 0, "header": "Units"},
        "units_target": {"kind": "number", "decimals": 0, "header": "Units target", "status": "t_status"},
        "units_pct": {"kind": "number", "decimals": 0, "suffix": "%", "header": "% of target",
                      "status": "t_status"},
        "units_met": {"kind": "label", "header": "Met"},
        "participants": {"kind": "count", "header": "Participants"},
        "schools": {"kind": "count", "header": "Schools"},
    }, threshold=threshold, notes=["Units are a volume of CPD and are shown in full. A participant or school "
                                   "served by two partnerships counts in both. z: no target set."])


# -- practitioner-led CPD -------------------------------------------------------------------------------------

def led_partnerships(led: pl.DataFrame, year: str, *, threshold: int) -> pl.DataFrame:
    """The partnerships of ``year`` whose practitioner-led share can be quoted (at least ``threshold`` bookings
    with the leader recorded, and a share), lowest share first."""
    return (led.filter((pl.col("financial_year") == year) & (pl.col("scope_type") == "partnership")
                       & (pl.col("attendances_known") >= threshold) & pl.col("pct_units_led").is_not_null())
            .sort("pct_units_led"))


def practitioner_rows(led: pl.DataFrame, year: str, *, threshold: int) -> pl.DataFrame:
    """The rows of ``year``, in input order, with ``share_status``: "c" where the share rests on fewer than
    ``threshold`` bookings with the leader recorded (a share of units, suppressed with the bookings it rests
    on)."""
    return (led.filter(pl.col("financial_year") == year)
            .with_columns(pl.when(pl.col("attendances_known") < threshold).then(pl.lit("c")).otherwise(pl.lit("ok"))
                          .alias("share_status")))


def publish_practitioner(led: pl.DataFrame, year: str, *, threshold: int) -> "PublishedTable":
    """Share of CPD units led by practitioner leaders in ``year``, by provider and partnership. The providers add
    up to all delivery, the partnerships to the regional partnerships."""
    from ..tables import ColumnSum, publish_table

    rows = practitioner_rows(led, year, threshold=threshold)
    return publish_table(rows, columns={
        "label": {"kind": "label", "header": "Provider or partnership"},
        "attendances_known": {"kind": "count", "header": "Bookings with leader recorded"},
        "units_known": {"kind": "number", "decimals": 0, "header": "Units"},
        "units_led": {"kind": "number", "decimals": 0, "header": "Practitioner-led units"},
        "pct_units_led": {"kind": "number", "decimals": 0, "suffix": "%", "header": "Practitioner-led share",
                          "status": "share_status"},
    }, threshold=threshold, sums=[
        ColumnSum("label", "All delivery", members=("National centre", "Other providers", "Regional partnerships")),
        ColumnSum("label", "Regional partnerships",
                  members=tuple(rows.filter(pl.col("scope_type") == "partnership")["label"]))],
        notes=["Share of units on activities whose leader is recorded; bookings with no record are left out "
               "of the base."])


# -- booking funnel -------------------------------------------------------------------------------------------

def publish_funnel(funnel: pl.DataFrame, year: str, *, threshold: int) -> "PublishedTable":
    """Bookings, attendance, cancellations and no-shows in ``year`` by activity type."""
    from ..tables import ColumnSum, RowSum, publish_table

    return publish_table(funnel.filter(pl.col("financial_year") == year), columns={
        "label": {"kind": "label", "header": "Activity type"},
        "booked": {"kind": "count", "header": "Booked"},
        "attended": {"kind": "count", "header": "Attended"},
        "cancelled": {"kind": "count", "header": "Cancelled"},
        "no_show": {"kind": "count", "header": "No-show"},
        "pct_attended": {"kind": "percent", "base": "booked", "numerator": "attended", "header": "% attended"},
        "pct_cancelled": {"kind": "percent", "base": "booked", "numerator": "cancelled", "header": "% cancelled"},
        "pct_no_show_of_expected": {"kind": "percent", "base": "not_cancelled", "numerator": "no_show",
                                    "header": "No-show rate"},
    }, threshold=threshold, sums=[RowSum("booked", ["attended", "cancelled", "no_show"]),
                                  ColumnSum("label", "All activities")],
        notes=["Shares of all bookings; the no-show rate is of bookings not cancelled (attended or no-show)."])


def publish_funnel_years(funnel: pl.DataFrame, *, threshold: int) -> "PublishedTable":
    """Bookings (all activity types) and their outcome by financial year."""
    from ..tables import RowSum, publish_table

    return publish_table(funnel.filter(pl.col("activity_type") == "all"), columns={
        "financial_year": {"kind": "label", "header": "Year"},
        "booked": {"kind": "count", "header": "Booked"},
        "pct_attended": {"kind": "percent", "base": "booked", "numerator": "attended", "header": "% attended"},
        "pct_cancelled": {"kind": "percent", "base": "booked", "numerator": "cancelled", "header": "% cancelled"},
        "pct_no_show": {"kind": "percent", "base": "booked", "numerator": "no_show", "header": "% no-show"},
    }, threshold=threshold, sums=[RowSum("booked", ["attended", "cancelled", "no_show"])])


# -- where trained leaders delivered --------------------------------------------------------------------------

def leader_share(opts: pl.DataFrame, option: str, base: int, *, threshold: int) -> str:
    """The share of ``base`` respondents who ticked ``option``, in words, or "fewer than T" when fewer than
    ``threshold`` ticked it (or the option is absent)."""
    row = opts.filter(pl.col("option") == option)
    return (words(int(row["ticked"][0]), base, threshold=threshold) if row.height and row["ticked"][0] >= threshold
            else f"fewer than {threshold}")


def publish_leaders(leaders: pl.DataFrame, *, threshold: int) -> "PublishedTable":
    """Where staff trained to lead CPD had delivered it (several answers allowed)."""
    from ..tables import publish_table

    return publish_table(leaders, columns={
        "label": {"kind": "label", "header": "Answer"},
        "ticked": {"kind": "count", "header": "Respondents"},
        "pct": {"kind": "percent", "base": "respondents", "numerator": "ticked", "header": "Share"},
        "respondents": {"kind": "count", "header": "Base"},
    }, threshold=threshold, notes=["Several answers were allowed, so the shares do not add up to 100%. Base: "
                                   "respondents who answered the question (for 'Delivered any CPD since training': "
                                   "those answering yes or no)."])
