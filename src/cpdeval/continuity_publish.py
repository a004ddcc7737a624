"""The published tables of the "Year on year" chapter (tables of :mod:`cpdeval.continuity`), and their words.

Counts below the disclosure threshold are hidden as everywhere (a count an earlier report hid stays hidden); a
change is shown only where both years' figures are, and flagged as a change only where its 95% interval
excludes zero; across a break in a measure the difference is ``b``.
"""

from __future__ import annotations

from typing import Mapping

import polars as pl

from .display import fmt_number, join_words, sentence_start


def _note(text: str, threshold: int):
    """A one-cell table that says why there is nothing to show."""
    from .tables import publish_table

    return publish_table(pl.DataFrame({"note": [text]}), columns={"note": {"kind": "label", "header": "Note"}},
                         threshold=threshold)


def publish_delivery(delivery: pl.DataFrame, *, threshold: int):
    """Reach in each reporting year as published then, and as this year's data give it (the same financial
    year), with whether it has been revised (CPD units are in the words, not the table: they are not a count)."""
    from .tables import publish_table

    rows = (delivery.filter(pl.col("metric") != "units").sort("metric_order", "reporting_year")
            .with_columns(
                pl.when(pl.col("current")).then(pl.col("reporting_year") + " (this year)")
                .otherwise(pl.col("reporting_year")).alias("year_label"),
                pl.when(pl.col("revised").is_null()).then(pl.lit("x"))
                .when(((pl.col("published") > 0) & (pl.col("published") < threshold))
                      | ((pl.col("now") > 0) & (pl.col("now") < threshold))).then(pl.lit("c"))
                .otherwise(pl.lit("ok")).alias("rev_status"),
                pl.when(pl.col("revised")).then(pl.lit("revised")).otherwise(pl.lit("as published"))
                .alias("revised_text")))
    return publish_table(rows, columns={
        "label": {"kind": "label", "header": "Measure"},
        "year_label": {"kind": "label", "header": "Reporting year"},
        "published": {"kind": "count", "header": "As published"},
        "now": {"kind": "count", "header": "From this year's data"},
        "revised_text": {"kind": "label", "header": "Since publication", "status": "rev_status"},
    }, threshold=threshold, notes=[
        "Each reporting year's own financial year. As published: the figure that year's report gave. From this "
        "year's data: the same financial year counted from this year's booking exports, which can include late "
        "or corrected bookings."])


def delivery_text(delivery: pl.DataFrame) -> str:
    """One sentence on CPD units: each year's as published, and any revision of an earlier year's figure."""
    units = delivery.filter(pl.col("metric") == "units").sort("reporting_year")
    if not units.height:
        return ""
    parts = [f"{fmt_number(r['published'], 1)} in {r['reporting_year']}" for r in units.iter_rows(named=True)
             if r["published"] is not None]
    revised = [f"{r['reporting_year']} (now {fmt_number(r['now'], 1)})" for r in units.iter_rows(named=True)
               if r["revised"] and not r["current"]]
    text = f"CPD units delivered, as published: {join_words(parts)}." if parts else ""
    if revised:
        text += " This year's data revise the earlier figure for " + ", ".join(revised) + "."
    return text


def _changed_text(changed, diff) -> str | None:
    if changed is None:
        return None
    return ("higher" if diff > 0 else "lower") if changed else "no clear change"


def publish_survey_change(change: pl.DataFrame, instrument_titles: Mapping[str, str], *, threshold: int):
    """Each item asked in both years: % positive then and now (with bases), the change in percentage points and
    its 95% interval, and whether it is a clear change (the interval excludes zero)."""
    from .tables import publish_table

    if not change.height:
        return _note("No survey item was asked in both years.", threshold)
    last, this = change["last_year"][0], change["this_year"][0]
    rows = change.with_columns(
        pl.col("instrument").replace_strict(dict(instrument_titles), default=pl.col("instrument")).alias("survey"),
        pl.min_horizontal("last_n", "this_n").alias("min_n"),
        pl.struct("changed", "diff").map_elements(lambda s: _changed_text(s["changed"], s["diff"]),
                                                  return_dtype=pl.Utf8).alias("verdict"),
        pl.when((pl.min_horizontal("last_n", "this_n") < threshold)).then(pl.lit("c")).otherwise(pl.lit("ok"))
        .alias("verdict_status"))
    return publish_table(rows, columns={
        "survey": {"kind": "label", "header": "Survey"},
        "item_text": {"kind": "label", "header": "Item"},
        "last_n": {"kind": "count", "header": f"Base {last}"},
        "last_pct": {"kind": "percent", "base": "last_n", "numerator": "last_k", "header": f"% positive {last}"},
        "this_n": {"kind": "count", "header": f"Base {this}"},
        "this_pct": {"kind": "percent", "base": "this_n", "numerator": "this_k", "header": f"% positive {this}"},
        "diff": {"kind": "number", "decimals": 1, "base": "min_n", "header": "Change (points)"},
        "diff_ci": {"kind": "ci", "lower": "diff_lower", "upper": "diff_upper", "decimals": 1, "base": "min_n",
                    "header": "95% CI of change"},
        "verdict": {"kind": "label", "header": "Clear change?", "status": "verdict_status"},
    }, threshold=threshold, notes=[
        f"% positive among those giving an answer on the scale, all respondents, {last} and {this}. A change is "
        "called clear only when its 95% interval (Newcombe's, from the two years' Wilson intervals) excludes zero; "
        "the respondents differ from year to year, so a small change is within what different samples give."])


def survey_change_text(change: pl.DataFrame) -> str:
    """How many items changed clearly, and in which direction."""
    if not change.height:
        return "No survey item was asked both this year and in the latest earlier year."
    up = change.filter(pl.col("changed") & (pl.col("diff") > 0)).height
    down = change.filter(pl.col("changed") & (pl.col("diff") < 0)).height
    n = change.height
    last = change["last_year"][0]
    if not up and not down:
        return (f"None of the {n} survey items asked in both {last} and this year changed by more than the "
                "play of chance between two samples of respondents.")
    parts = ([f"{up} higher"] if up else []) + ([f"{down} lower"] if down else [])
    return (f"Of the {n} survey items asked in both {last} and this year, {' and '.join(parts)} than in {last} "
            f"beyond the play of chance; the other {n - up - down} did not change clearly.")


def publish_attainment(att: pl.DataFrame, labels: Mapping[str, str], measure_labels: Mapping[str, str],
                       titles: Mapping[str, str], *, threshold: int):
    """Each published comparison's group levels (mean of schools) in the two outcome years, with the difference
    and its interval; ``b`` where the measure cannot be compared between the years."""
    from .tables import publish_table

    if not att.height:
        return _note("No earlier outcome year to compare with.", threshold)
    last, this = att["last_year"][0], att["this_year"][0]
    rows = att.with_columns(
        pl.col("comparison").replace_strict(dict(titles), default=pl.col("comparison")).alias("title"),
        pl.col("measure").replace_strict(dict(measure_labels), default=pl.col("measure")).alias("mlab"),
        pl.col("group").replace_strict(dict(labels), default=pl.col("group")).alias("glab"),
        pl.min_horizontal("last_n", "this_n").alias("min_n"),
        pl.when(pl.col("not_comparable").is_not_null()).then(pl.lit("b")).otherwise(pl.lit("ok")).alias("b_status"),
        pl.struct("changed", "diff").map_elements(lambda s: _changed_text(s["changed"], s["diff"]),
                                                  return_dtype=pl.Utf8).alias("verdict"))
    rows = rows.with_columns(pl.when(pl.col("b_status") == "b").then(pl.lit("b"))
                             .when(pl.col("min_n") < threshold).then(pl.lit("c")).otherwise(pl.lit("ok"))
                             .alias("verdict_status"))
    breaks = rows.filter(pl.col("not_comparable").is_not_null()).unique("measure", keep="first",
                                                                         maintain_order=True)
    return publish_table(rows, columns={
        "title": {"kind": "label", "header": "Comparison"},
        "mlab": {"kind": "label", "header": "Measure"},
        "glab": {"kind": "label", "header": "Group"},
        "last_n": {"kind": "count", "header": f"Schools {last}"},
        "last_mean": {"kind": "number", "decimals": 1, "base": "last_n", "header": f"{last} (mean of schools)"},
        "this_n": {"kind": "count", "header": f"Schools {this}"},
        "this_mean": {"kind": "number", "decimals": 1, "base": "this_n", "header": f"{this} (mean of schools)"},
        "diff": {"kind": "number", "decimals": 1, "base": "min_n", "status": "b_status", "header": "Difference"},
        "diff_ci": {"kind": "ci", "lower": "diff_lower", "upper": "diff_upper", "decimals": 1, "base": "min_n",
                    "status": "b_status", "header": "95% CI"},
        "verdict": {"kind": "label", "header": "Clear change?", "status": "verdict_status"},
    }, threshold=threshold, notes=[
        "Group levels in each year's outcome year, as that year's comparison published them; the groups are "
        "re-formed each year from that year's window of use, so they are not the same schools. A change is called "
        "clear only when its 95% interval excludes zero.",
        *(f"b: {sentence_start(measure_labels.get(r['measure'], r['measure']))} cannot be compared between {last} "
          f"and {this}: {r['not_comparable']}." for r in breaks.iter_rows(named=True))])


#: Where the chapters point for the full comparison (the Year on year chapter).
TRENDS_LINK = "[Year on year chapter](trends.html)"


def delivery_pointer(delivery: pl.DataFrame | None, *, threshold: int) -> str:
    """The delivery chapter's sentence on last year: participants and schools as last year's report gave them
    (counts below the threshold in words), and whether this year's data revise them. Empty without earlier years."""
    from .disclosure import count_text

    if delivery is None or not delivery.filter(~pl.col("current")).height:
        return ""
    last = delivery.filter(~pl.col("current")).sort("reporting_year")["reporting_year"][-1]

    def cell(metric, column):
        r = delivery.filter((pl.col("metric") == metric) & (pl.col("reporting_year") == last))
        return r[column][0] if r.height else None

    revised = [DELIVERY_WORDS[m] for m in ("participants", "schools") if cell(m, "revised")]
    return (f" Last year's report gave {count_text(cell('participants', 'published'), threshold)} participants and "
            f"{count_text(cell('schools', 'published'), threshold)} schools for {last}"
            + (f"; this year's booking exports revise its {join_words(revised)}" if revised else "")
            + f" (the {TRENDS_LINK} sets every measure beside this year's).")


DELIVERY_WORDS = {"participants": "participant count", "schools": "school count"}


def attainment_pointer(att: pl.DataFrame | None) -> str:
    """The attainment chapter's sentence on the earlier outcome year: how many group levels changed clearly, and
    the measures that cannot be compared. Empty without an earlier outcome year."""
    if att is None or not att.height:
        return ""
    last = att["last_year"][0]
    known = att.filter(pl.col("changed").is_not_null())
    n_changed = known.filter(pl.col("changed")).height
    broken = sorted(att.filter(pl.col("not_comparable").is_not_null())["measure"].unique().to_list())
    text = (f" Against {last}, {n_changed} of the {known.height} group levels that can be compared changed by more "
            "than chance" + (f" ({len(broken)} measure{'s' if len(broken) > 1 else ''} cannot be compared across "
                             "the years)" if broken else "") + f"; the {TRENDS_LINK} lists them.")
    return text


def publish_targets(targets: pl.DataFrame, *, threshold: int):
    """Each year's national targets as published: target, reached and whether it was met, the reporting years
    side by side (earliest first); a reached count below the threshold is hidden as it was then."""
    from .tables import publish_table

    if not targets.height:
        return _note("No national targets were set in these years.", threshold)
    rows = (targets.sort("reporting_year")
            .with_columns(pl.when(pl.col("current")).then(pl.col("reporting_year") + " (this year)")
                          .otherwise(pl.col("reporting_year")).alias("year_label"),
                          pl.when(pl.col("met").is_null()).then(pl.lit("not available"))
                          .when(pl.col("met")).then(pl.lit("met")).otherwise(pl.lit("not met")).alias("met_text")))
    order = {m: i for i, m in enumerate(dict.fromkeys(rows["metric"].to_list()))}
    rows = rows.with_columns(pl.col("metric").replace_strict(order, return_dtype=pl.Int64).alias("_o")).sort(
        "_o", "reporting_year")
    return publish_table(rows, columns={
        "label": {"kind": "label", "header": "Measure"},
        "year_label": {"kind": "label", "header": "Reporting year"},
        "target": {"kind": "target", "header": "Target"},
        "reached": {"kind": "count", "header": "Reached"},
        "met_text": {"kind": "label", "header": "Met"},
    }, threshold=threshold, notes=["As each year's report published them (its own data and its own targets)."])


def publish_survey_trend(trend: pl.DataFrame, instrument_titles: Mapping[str, str], *, threshold: int):
    """Each survey item's % positive in every reporting year it was asked (years as columns, earliest first);
    a percentage on fewer than ``threshold`` answers is hidden."""
    from .tables import publish_table

    years = sorted(trend["reporting_year"].unique().to_list())
    wide = None
    for y in years:
        part = trend.filter(pl.col("reporting_year") == y).select(
            "instrument", "item_id", "item_text", "item_order", pl.col("n_substantive").alias(f"n_{y}"),
            pl.col("n_positive").alias(f"k_{y}"), pl.col("pct_positive").alias(f"p_{y}"))
        wide = part if wide is None else wide.join(part, on=["instrument", "item_id", "item_text", "item_order"],
                                                   how="full", coalesce=True)
    wide = wide.with_columns(pl.col("instrument").replace_strict(dict(instrument_titles), default=pl.col("instrument"))
                             .alias("survey")).sort("instrument", "item_order")
    columns = {"survey": {"kind": "label", "header": "Survey"}, "item_text": {"kind": "label", "header": "Item"}}
    for y in years:
        columns[f"p_{y}"] = {"kind": "percent", "base": f"n_{y}", "numerator": f"k_{y}", "header": f"% positive {y}"}
    return publish_table(wide, columns=columns, threshold=threshold, notes=[
        "% positive among those giving an answer on the scale, all respondents, as each year's report published "
        "it; x where the item was not asked that year."])
