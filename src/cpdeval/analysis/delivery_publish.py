"""What the "Delivery and reach" chapter prints from the delivery tables: published tables (suppressed and
rounded by the display rules) and the small helpers its sentences share.

One ``publish_*`` function per table of the chapter. Each takes the derived table(s) of
:mod:`cpdeval.analysis.delivery` as the chapter reads them, reshapes them for the page (pivots, rows, labels)
and returns a :class:`cpdeval.tables.PublishedTable` with the chapter's headers, notes and sums. The chapter
keeps the prose and calls these in the same order as before: the participants, schools and targets tables
share disclosure state (``link="reach"``), so their order matters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

import polars as pl

from .. import display as d
from ..display import fmt_pct, words
from .delivery import PROVIDER_LABEL

if TYPE_CHECKING:
    from ..tables import PublishedTable

__all__ = [
    "PHASE_NAMES", "TARGET_LINK_ROWS",
    "share_text", "change_text", "terms_words", "unequal_comparisons", "reached_text", "shown_reach",
    "units_wide", "yoy_rows", "role_wide", "phase_wide", "target_rows", "penetration_wide",
    "publish_units_by_year", "publish_yoy", "publish_participants", "publish_schools", "publish_targets",
    "publish_penetration", "publish_penetration_la", "la_shares_shown", "publish_flows",
]

#: Phases of the share-reached table, in column order, with their headers.
PHASE_NAMES = {"primary": "Primary", "secondary": "Secondary", "post16": "Post-16", "special": "Special",
               "all": "All"}

#: Target rows that repeat a count of the participants or schools tables (same definition), by the
#: ``link_row`` key those tables give the count.
TARGET_LINK_ROWS = {"participants": "participants:all", "technicians": "participants:technicians",
                    "post16": "schools:post16", "schools": "schools:all", "schools_secondary": "schools:secondary"}

_SCOPE_ORDER = {"all": 0, "national": 1, "regional": 2, "other": 3}


# -- sentences ------------------------------------------------------------------------------------------------

def share_text(k: int, n: int, *, threshold: int) -> str:
    """k of n in words, or a note that the base is too small to quote."""
    return words(k, n) if n >= threshold and k >= threshold else "too few to quote a share"


def change_text(row: Mapping[str, Any] | None) -> str:
    """A year-on-year change in words, with the comparison it rests on."""
    if row is None or row["fair_change_pct"] is None:
        return "no comparison with the previous year is possible"
    pct = row["fair_change_pct"]
    verb = "up" if pct > 0 else "down"
    return f"{verb} {fmt_pct(abs(pct))} on {row['previous_year']} ({row['fair_basis']})"


def terms_words(text: str) -> str:
    """'autumn, spring' -> 'autumn and spring terms'."""
    t = text.split(", ")
    return (", ".join(t[:-1]) + " and " + t[-1] if len(t) > 1 else t[0]) + (" terms" if len(t) > 1 else " term")


def unequal_comparisons(yoy: pl.DataFrame) -> pl.DataFrame:
    """The year-on-year comparisons over unequal windows (different terms in the two years) that have both a
    full-year and a same-terms change, latest year first, all providers before each provider."""
    return (yoy.filter(~pl.col("equal_windows") & pl.col("change_full_pct").is_not_null()
                       & pl.col("change_same_terms_pct").is_not_null())
            .sort(["financial_year", "scope"], descending=[True, False]))


def shown_reach(targets_table: "PublishedTable", year: str) -> dict[str, str]:
    """Each target row's reach as the targets table shows it, by measure."""
    return dict(zip(targets_table.data["Measure"], targets_table.data[f"Reached {year}"]))


def reached_text(m: Mapping[str, Any], shown: Mapping[str, str], *, threshold: int) -> str:
    """A target row's reach as the table shows it (a suppressed cell is not given away by the text)."""
    cell = shown.get(m["label"], "c")
    return (f"fewer than {threshold}" if cell == "c" and 0 < m["reached"] < threshold
            else ("a number not shown" if cell == "c" else cell))


# -- delivery volume ------------------------------------------------------------------------------------------

def units_wide(uby: pl.DataFrame, ubt: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    """Units per financial year by provider (from ``uby``) beside the units of each term (all providers, from
    ``ubt``), sorted by year; and the terms in the order they fall in the financial year."""
    term_cols = (ubt.group_by(["financial_year", "term_index", "term"]).agg(pl.col("units").sum())
                 .sort(["financial_year", "term_index"]))
    terms = term_cols.select("term_index", "term").unique().sort("term_index")["term"].to_list()
    wide = uby.join(term_cols.pivot(on="term", index="financial_year", values="units"), on="financial_year")
    return wide.sort("financial_year"), terms


def publish_units_by_year(uby: pl.DataFrame, ubt: pl.DataFrame, *, threshold: int) -> "PublishedTable":
    """CPD units delivered per financial year, by provider and by term."""
    from ..tables import publish_table

    wide, terms = units_wide(uby, ubt)
    cols: dict[str, Any] = {"financial_year": {"kind": "label", "header": "Financial year"}}
    cols |= {f"units_{p}": {"kind": "number", "decimals": 0, "header": PROVIDER_LABEL[p]}
             for p in ("national", "regional", "other")}
    cols |= {t: {"kind": "number", "decimals": 0, "header": f"{t.capitalize()} term"} for t in terms}
    cols |= {"units": {"kind": "number", "decimals": 0, "header": "All units"}}
    groups = {"providers": [f"units_{p}" for p in ("national", "regional", "other")], "terms": terms}
    off = [name for name, parts in groups.items()
           if not all(d.adds_up_as_shown(r[:-1], r[-1]) for r in wide.select(*parts, "units").iter_rows())]
    return publish_table(wide, columns=cols, threshold=threshold,
                         notes=["Units are a volume of CPD, not a count of people, so they are shown in full. "
                                "Terms are in the order they fall in the financial year."
                                + (f" A unit can be a fraction and each figure is rounded to whole units on its "
                                   f"own, so the {d.join_words(off)} may not add up to the total exactly."
                                   if off else "")])


def yoy_rows(yoy: pl.DataFrame) -> pl.DataFrame:
    """The year-on-year table's rows: latest year first, all providers then each provider; with the provider's
    label (``who``), "yes"/"no" for equal windows (``equal``) and ``fair_status`` ("x" where there is no fair
    change)."""
    return (yoy.with_columns(
                pl.col("scope").replace_strict({"all": "All providers", **PROVIDER_LABEL},
                                               return_dtype=pl.Utf8).alias("who"),
                pl.when(pl.col("equal_windows")).then(pl.lit("yes")).otherwise(pl.lit("no")).alias("equal"),
                pl.when(pl.col("fair_change_pct").is_null()).then(pl.lit("x")).otherwise(pl.lit("ok"))
                .alias("fair_status"),
                pl.col("scope").replace_strict(_SCOPE_ORDER, default=9, return_dtype=pl.Int32).alias("order"))
            .sort(["financial_year", "order"], descending=[True, False]))


def publish_yoy(yoy: pl.DataFrame, *, threshold: int) -> "PublishedTable":
    """Year-on-year change in CPD units: full year and same terms."""
    from ..tables import publish_table

    return publish_table(yoy_rows(yoy), columns={
        "financial_year": {"kind": "label", "header": "Year"},
        "previous_year": {"kind": "label", "header": "Compared with"},
        "who": {"kind": "label", "header": "Provider"},
        "units_previous": {"kind": "number", "decimals": 0, "header": "Units before"},
        "units": {"kind": "number", "decimals": 0, "header": "Units"},
        "change_full_pct": {"kind": "number", "decimals": 0, "suffix": "%", "header": "Full-year change"},
        "equal": {"kind": "label", "header": "Same terms in both years"},
        "change_same_terms_pct": {"kind": "number", "decimals": 0, "suffix": "%", "header": "Same-terms change"},
        "fair_change_pct": {"kind": "number", "decimals": 0, "suffix": "%", "header": "Fair change",
                            "status": "fair_status"},
        "fair_basis": {"kind": "label", "header": "Fair change compares"},
    }, threshold=threshold, notes=["Full-year change compares the two years' totals. Same-terms change compares "
                                   "only the terms in which the provider delivered in both years. Fair change is "
                                   "the full-year change when the terms are the same, otherwise the same-terms "
                                   "change."])


# -- participants and schools ---------------------------------------------------------------------------------

def role_wide(parts: pl.DataFrame) -> pl.DataFrame:
    """Participants by role (rows, in input order) and financial year (columns), with the ``link_row`` key
    ("participants:<role>") the targets table shares."""
    return (parts.pivot(on="financial_year", index=["role_group", "label"], values="participants",
                        maintain_order=True)
            .with_columns(("participants:" + pl.col("role_group")).alias("link_row")))


def publish_participants(parts: pl.DataFrame, years: Sequence[str], *, threshold: int) -> "PublishedTable":
    """Distinct participants per financial year, by role (linked to the other reach tables)."""
    from ..tables import ColumnSum, publish_table

    return publish_table(role_wide(parts), columns={"label": {"kind": "label", "header": "Role"}}
                         | {y: {"kind": "count", "header": y} for y in years}, threshold=threshold,
                         sums=[ColumnSum("label", "All participants")], link="reach", row_key="link_row")


def phase_wide(phases: pl.DataFrame) -> pl.DataFrame:
    """Schools by phase (rows, in input order) and financial year (columns), with the ``link_row`` key
    ("schools:<phase>") the targets table shares."""
    return (phases.pivot(on="financial_year", index=["phase", "label"], values="schools", maintain_order=True)
            .with_columns(("schools:" + pl.col("phase")).alias("link_row")))


def publish_schools(phases: pl.DataFrame, years: Sequence[str], *, threshold: int) -> "PublishedTable":
    """Distinct schools and colleges per financial year, by phase (linked to the other reach tables)."""
    from ..tables import ColumnSum, publish_table

    return publish_table(phase_wide(phases), columns={"label": {"kind": "label", "header": "Phase"}}
                         | {y: {"kind": "count", "header": y} for y in years}, threshold=threshold,
                         sums=[ColumnSum("label", "All schools and colleges")], link="reach", row_key="link_row",
                         notes=["All-through schools are counted as secondary; the phases add up to the total."])


# -- targets --------------------------------------------------------------------------------------------------

def met_text(target: str = "target", reached: str = "reached", met: str = "met") -> pl.Expr:
    """"met", "not met", "no target" or "not available", from the ``met`` flag of
    :func:`~cpdeval.analysis.delivery.against_targets` (decided on the counts, never on a rounded %: 3,583 of
    3,600 shows as 100% of its target but is not met)."""
    return (pl.when(pl.col(target).is_null()).then(pl.lit("no target"))
            .when(pl.col(reached).is_null()).then(pl.lit("not available"))
            .when(pl.col(met)).then(pl.lit("met")).otherwise(pl.lit("not met")))


def target_rows(targets: pl.DataFrame, year: str) -> pl.DataFrame:
    """The year's target rows, with ``t_status`` ("z" where no target was set), the ``link_row`` key of the
    rows that repeat a count of the participants or schools tables, and ``met_text`` (met, not met, no
    target)."""
    return (targets.filter(pl.col("financial_year") == year)
            .with_columns(pl.when(pl.col("target").is_null()).then(pl.lit("z")).otherwise(pl.lit("ok"))
                          .alias("t_status"),
                          pl.col("metric").replace(TARGET_LINK_ROWS).alias("link_row"),
                          met_text().alias("met_text")))


def targets_met_text(targets: pl.DataFrame, year: str) -> str | None:
    """How many of the year's national targets were met, as a clause ("Two of the three national targets for
    2015-16 were met"), counting only targets whose reach the data can say; those it cannot (a booking export
    without the priority-school flag) are named as not assessed. None when no target was set."""
    from ..display import count_in_words, join_words

    tg = targets.filter((pl.col("financial_year") == year) & (pl.col("scope") == "national")
                        & pl.col("target").is_not_null())
    if not tg.height:
        return None
    known = tg.filter(pl.col("reached").is_not_null())
    unknown = [lab.lower() for lab in tg.filter(pl.col("reached").is_null())["label"]]
    if not known.height:
        return (f"No national target for {year} could be assessed ({join_words(unknown)}: not available in this "
                "year's data)")
    n_met = int(known["met"].sum())
    if known.height == 1:
        text = f"The {'one assessed' if unknown else 'one'} national target for {year} was {'' if n_met else 'not '}met"
    else:
        text = (f"{count_in_words(n_met, capitalize=True)} of the {count_in_words(known.height)} national targets "
                f"for {year} were met")
    if unknown:
        text += f"; the {join_words(unknown)} target{'s' if len(unknown) > 1 else ''} could not be assessed " \
                "(not available in this year's data)"
    return text


#: How priority schools were identified (the engagement stage's ``priority_basis``), as the tables and the
#: definitions say it.
PRIORITY_BASIS_TEXT = {
    "list": "schools on the programme's list of priority schools for the financial year (followed across academy "
            "conversions) with at least one attended booking",
    "bookings": "schools with at least one attended booking flagged as from a priority school",
    "none": "not available: this year's booking export has no priority-school flag and no list of priority "
            "schools was supplied",
}


def publish_targets(targets: pl.DataFrame, year: str, *, threshold: int,
                    priority_basis: str = "bookings") -> "PublishedTable":
    """Reach and delivery against the national targets in ``year`` (linked to the other reach tables);
    ``priority_basis`` says how priority schools were identified (:data:`PRIORITY_BASIS_TEXT`)."""
    from ..tables import publish_table

    return publish_table(target_rows(targets, year), columns={
        "label": {"kind": "label", "header": "Measure"},
        "reached": {"kind": "count", "header": f"Reached {year}", "key": year},
        "target": {"kind": "target", "header": "Target", "status": "t_status"},
        "pct_of_target": {"kind": "percent", "base": "target", "numerator": "reached", "header": "% of target",
                          "status": "t_status"},
        "met_text": {"kind": "label", "header": "Met"},
    }, threshold=threshold, link="reach", row_key="link_row",
        caption="Reach and delivery against the national targets",
        notes=["Primary and secondary schools: schools serving the phase (an all-through school counts "
               "towards both). Post-16: colleges, sixth-form centres and 16-19 institutions. Priority schools: "
               f"{PRIORITY_BASIS_TEXT[priority_basis]}."])


# -- share of eligible schools reached ------------------------------------------------------------------------

def penetration_wide(pen_region: pl.DataFrame) -> pl.DataFrame:
    """One row per region (in input order): ``eligible_<phase>``, ``reached_<phase>``, ``pct_<phase>`` and
    ``status_<phase>`` ("z" where no school of the phase was eligible) for each phase of :data:`PHASE_NAMES`."""
    w = pen_region.pivot(on="reach_phase", index="region", values=["eligible", "reached", "pct"],
                         maintain_order=True)
    return w.with_columns([pl.when(pl.col(f"eligible_{p}") == 0).then(pl.lit("z")).otherwise(pl.lit("ok"))
                           .alias(f"status_{p}") for p in PHASE_NAMES])


def publish_penetration(pen_region: pl.DataFrame, *, threshold: int, record: bool = True) -> "PublishedTable":
    """Share of eligible schools and colleges reached, by region and phase, with England as the total."""
    from ..tables import ColumnSum, publish_table

    cols: dict[str, Any] = {"region": {"kind": "label", "header": "Region"}}
    for p, name in PHASE_NAMES.items():
        cols[f"pct_{p}"] = {"kind": "percent", "base": f"eligible_{p}", "numerator": f"reached_{p}",
                            "header": f"{name} %", "status": f"status_{p}"}
    cols["eligible_all"] = {"kind": "count", "header": "Eligible schools"}
    cols["reached_all"] = {"kind": "count", "header": "Schools reached"}
    return publish_table(penetration_wide(pen_region), columns=cols, threshold=threshold,
                         sums=[ColumnSum("region", "England")], link="penetration", record=record,
                         notes=["Secondary includes all-through schools. A share is suppressed (c) when fewer than "
                                f"{threshold} schools were eligible or reached; z: no eligible schools of the "
                                "phase."])


def publish_penetration_la(pen_la: pl.DataFrame, *, threshold: int, record: bool = True) -> "PublishedTable":
    """Share of eligible schools and colleges reached, by local authority (sorted by region and name).

    The authorities of a region add up to the region's totals, which the table by region and phase
    (:func:`publish_penetration`, published first) shows: the two are linked, so an authority hidden here is not
    left the one unknown of its region (London less its other boroughs would give the City of London back)."""
    from ..tables import ColumnSum, publish_table

    return publish_table(pen_la.sort(["region", "la_name"]), columns={
        "region": {"kind": "label", "header": "Region"},
        "la_name": {"kind": "label", "header": "Local authority"},
        "eligible": {"kind": "count", "header": "Eligible", "key": "Eligible schools"},
        "reached": {"kind": "count", "header": "Reached", "key": "Schools reached"},
        "pct": {"kind": "percent", "base": "eligible", "numerator": "reached", "header": "Share reached"},
    }, threshold=threshold, sums=[ColumnSum("la_name", "All", within="region")], link="penetration",
        record=record)


def la_shares_shown(pen_region: pl.DataFrame, pen_la: pl.DataFrame, *, threshold: int) -> set[tuple[str, str]]:
    """The (region, local authority) pairs whose share the chapter's table by local authority shows: not those
    below the threshold, nor those hidden so that no such count can be worked out from the region's totals.
    Worked out as the chapter publishes the two tables (region first), so that the dot chart of the same
    shares hides the same authorities: a dot at a hidden authority's share would help give its counts back."""
    from ..display import SUPPRESSED
    from ..tables import separate_links

    with separate_links():
        publish_penetration(pen_region, threshold=threshold, record=False)
        la = publish_penetration_la(pen_la, threshold=threshold, record=False)
    rows = pen_la.sort(["region", "la_name"]).select("region", "la_name").rows()
    return {r for r, share in zip(rows, la.data["Share reached"]) if share != SUPPRESSED}


# -- new, returning and lapsed schools ------------------------------------------------------------------------

def publish_flows(flows: pl.DataFrame, *, threshold: int) -> "PublishedTable":
    """Schools reached each year: new, retained, returning and lapsed. New, retained and returning add up to
    the year's schools reached; retained and lapsed add up to the schools reached the year before."""
    from ..tables import CellSum, RowSum, publish_table

    years = flows["financial_year"]
    return publish_table(flows, columns={
        "financial_year": {"kind": "label", "header": "Year"},
        "reached": {"kind": "count", "header": "Reached"},
        "new": {"kind": "count", "header": "New", "status": "status"},
        "retained": {"kind": "count", "header": "Retained", "status": "status"},
        "returning": {"kind": "count", "header": "Returning", "status": "status"},
        "lapsed": {"kind": "count", "header": "Lapsed", "status": "status"},
    }, threshold=threshold, sums=[RowSum("reached", ["new", "retained", "returning"])]
        + [CellSum("financial_year", (a, "reached"), ((b, "retained"), (b, "lapsed")))
           for a, b in zip(years, years[1:])],
        notes=["z: not applicable (the first year of the data has nothing to compare with)."])
