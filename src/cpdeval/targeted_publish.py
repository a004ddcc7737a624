"""What the "Targeted programme" chapter prints from the targeted tables: published tables (suppressed and
rounded by the display rules) and the small look-ups its sentences share.

One ``publish_*`` function per table of the chapter. Each takes the derived table(s) of
:mod:`cpdeval.targeted` as the chapter reads them, reshapes them for the page (pivots, rows, labels) and
returns a :class:`cpdeval.tables.PublishedTable` with the chapter's headers, notes and sums. The chapter keeps
the prose and calls these in the same order as before, so linked tables and the publication log see the same
tables.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import polars as pl

from .display import fmt_count, words

if TYPE_CHECKING:
    from .tables import PublishedTable

__all__ = [
    "one", "share", "SA_SUBJECTS",
    "direction_rows", "transitions_wide", "transition_sums", "sa_wide", "sa_change_rows", "domain_wide", "feedback_rows",
    "feedback_wide", "monitoring_matrix", "monitoring_cohorts", "community_rows",
    "publish_ofsted_by_pre", "publish_ofsted_direction", "publish_ofsted_transitions", "publish_ofsted_funnel",
    "publish_ofsted_cases", "publish_sa_baseline", "publish_sa_n", "publish_sa_ranks", "publish_sa_change",
    "publish_maturity", "publish_outcomes_audience", "publish_outcomes_type", "publish_outcomes_domain",
    "outcome_counts_shown",
    "publish_dose", "publish_feedback_role", "publish_monitoring", "publish_community",
]

#: Subjects of the self-assessment tables, in column order (five STEM subjects, STEM mean, non-STEM).
SA_SUBJECTS = ["science", "design_technology", "maths", "computer_science", "engineering", "stem_mean", "non_stem"]

_DIRECTION_ROWS = (("improved", "Better grade"), ("same", "Same grade"), ("declined", "Worse grade"),
                   ("total", "All"))
#: Identity of the change table's days-rule counts, which the transition table's cells add up to
_RULE_KEY = "schools inspected at least the set number of days after"
_GROUPING_LABEL = {"all": "All", "unit_band": "CPD units", "phase": "Phase", "cohort": "Cohort",
                   "evidence": "Evidence"}


# -- look-ups shared by the sentences -----------------------------------------------------------------------

def one(df: pl.DataFrame, **eq: Any) -> dict | None:
    """The first row of ``df`` whose columns equal ``eq``, as a dict (None when there is none)."""
    for k, v in eq.items():
        df = df.filter(pl.col(k) == v)
    return df.row(0, named=True) if df.height else None


def share(k: int, n: int, *, threshold: int, **kw: Any) -> str:
    """k of n in words, or "fewer than T" when a table would suppress it (the base or k below the threshold)."""
    if n < threshold:
        return "a share that is not published (too few schools)"
    if k < threshold:
        return f"fewer than {threshold}"
    return words(k, n, threshold=threshold, **kw)


# -- inspection ratings ---------------------------------------------------------------------------------------

def publish_ofsted_by_pre(by_pre: pl.DataFrame, *, threshold: int) -> "PublishedTable":
    """Active schools by grade before joining: inspected since and improved, with their percentages."""
    from .tables import ColumnSum, publish_table

    return publish_table(by_pre, columns={
        "label": {"kind": "label", "header": "Grade before joining"},
        "schools": {"kind": "count", "header": "Schools"},
        "inspected_since": {"kind": "count", "header": "Inspected since", "status": "inspected_status"},
        "pct_inspected": {"kind": "percent", "header": "% inspected since", "base": "schools",
                          "numerator": "inspected_since", "status": "inspected_status"},
        "improved": {"kind": "count", "header": "Improved", "status": "improved_status"},
        "pct_improved": {"kind": "percent", "header": "% of inspected that improved", "base": "inspected_since",
                         "numerator": "improved", "status": "improved_status"},
    }, threshold=threshold, sums=[ColumnSum("label", "Total")], notes=[
        "Grades: 1 outstanding, 2 good, 3 requires improvement, 4 inadequate; a lower grade is better. The grade "
        "before is the latest graded inspection before the school's start date; inspected since means a graded "
        "inspection on or after it (monitoring visits carry no grade). z: not applicable (an outstanding school "
        "cannot improve; a school with no grade before has no change)."])


def direction_rows(direction: pl.DataFrame) -> pl.DataFrame:
    """One row per change (better, same, worse, all), with the count, base and % of each scope side by side:
    ``*_all`` any time since joining, ``*_rule`` at least the set number of days after."""
    by = {scope: {r["direction"]: r for r in direction.filter(pl.col("scope") == scope).iter_rows(named=True)}
          for scope in ("since_engagement", "min_days")}
    rows = []
    for k, lab in _DIRECTION_ROWS:
        a, b = by["since_engagement"].get(k), by["min_days"].get(k)
        rows.append({"label": lab, "n_all": a["n"], "base_all": a["base"], "pct_all": a["pct"],
                     "n_rule": b["n"], "base_rule": b["base"], "pct_rule": b["pct"]})
    return pl.DataFrame(rows)


def publish_ofsted_direction(direction: pl.DataFrame, *, min_days: int, threshold: int) -> "PublishedTable":
    """Change in grade at the latest inspection since joining: all reinspected schools, and those inspected at
    least ``min_days`` after they began."""
    from .tables import ColumnSum, publish_table

    return publish_table(direction_rows(direction), columns={
        "label": {"kind": "label", "header": "Change"},
        "n_all": {"kind": "count", "header": "Any time since: schools"},
        "pct_all": {"kind": "percent", "header": "Any time since: %", "base": "base_all", "numerator": "n_all"},
        "n_rule": {"kind": "count", "header": f"At least {min_days} days after: schools", "key": _RULE_KEY},
        "pct_rule": {"kind": "percent", "header": f"At least {min_days} days after: %", "base": "base_rule",
                     "numerator": "n_rule"},
    }, threshold=threshold, sums=[ColumnSum("label", "All")], link="ofsted", notes=[
        f"The second pair of columns keeps schools whose latest inspection was at least {min_days} days after "
        f"their start date ({fmt_count(min_days)} days or more, exactly, as set for this evaluation). Schools with "
        "a grade both before and since."])


def transitions_wide(transitions: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Grade before (rows, worst first) by grade since (columns "1" to "4"), schools meeting the days rule,
    and the column specs of the table."""
    tr = transitions.filter(pl.col("scope") == "min_days")
    wide = (tr.pivot(on="post_rating", index=["pre_rating", "pre_label"], values="n")
            .sort("pre_rating", descending=True)
            .with_columns((pl.col("pre_rating").cast(pl.Utf8) + pl.lit(" ") + pl.col("pre_label")).alias("before")))
    cols: dict[str, Any] = {"before": {"kind": "label", "header": "Grade before"}}
    for g in ("1", "2", "3", "4"):
        lab = one(tr, post_rating=int(g))["post_label"]
        cols[g] = {"kind": "count", "header": f"{g} {lab}"}
    return wide, cols


def transition_sums(wide: pl.DataFrame) -> list:
    """The counts of the change table (:func:`publish_ofsted_direction`, days-rule columns) that the transition
    table's cells add up to: below the diagonal a better grade, on it the same, above it a worse one, and all
    of them the total. Declared so that a cell hidden in the transition table is not the one unknown of its
    group once the change table's counts are read beside it."""
    from .tables import LinkedSum

    groups: dict[str, list[tuple[str, str]]] = {lab: [] for _, lab in _DIRECTION_ROWS}
    for before, pre in zip(wide["before"], wide["pre_rating"]):
        for g in ("1", "2", "3", "4"):
            if g in wide.columns:
                k = "improved" if int(g) < pre else "same" if int(g) == pre else "declined"
                groups[dict(_DIRECTION_ROWS)[k]].append((before, g))
                groups[dict(_DIRECTION_ROWS)["total"]].append((before, g))
    return [LinkedSum(lab, _RULE_KEY, "before", parts) for lab, parts in groups.items() if parts]


def publish_ofsted_transitions(transitions: pl.DataFrame, *, min_days: int, threshold: int) -> "PublishedTable":
    """Grade before joining by grade at the latest inspection at least ``min_days`` after."""
    from .tables import publish_table

    from .disclosure import CannotProtect

    wide, cols = transitions_wide(transitions)
    try:
        return publish_table(wide, columns=cols, threshold=threshold, sums=transition_sums(wide), link="ofsted",
                             notes=[f"Schools graded both before and at least {min_days} days after they began; "
                                    "cells count schools."])
    except CannotProtect:   # so few schools that, beside the change table, any hidden count could be narrowed
        return publish_table(pl.DataFrame({"note": [
            f"Too few schools were graded both before and at least {min_days} days after they began to show their "
            f"grades one by one: beside the change in grade above, a count below {threshold} could be worked out."]}),
            columns={"note": {"kind": "label", "header": "Note"}}, threshold=threshold)


def publish_ofsted_funnel(funnel: pl.DataFrame, *, threshold: int) -> "PublishedTable":
    """From schools recruited to the Ofsted case analyses."""
    from .tables import publish_table

    return publish_table(funnel, columns={
        "label": {"kind": "label", "header": "Schools"},
        "schools": {"kind": "count", "header": "Number"},
    }, threshold=threshold)


def publish_ofsted_cases(cases: pl.DataFrame, *, min_days: int, threshold: int) -> "PublishedTable":
    """Schools chosen for an Ofsted case analysis, by case code (and name, in an internal draft)."""
    from .tables import publish_table

    cs = cases.with_columns(
        pl.when(pl.col("meets_min_days")).then(pl.lit("yes")).otherwise(pl.lit("no")).alias("rule"),
        pl.col("direction").fill_null("no change measured").alias("direction"))
    ccols: dict[str, Any] = {"case_code": {"kind": "label", "header": "Case"}}
    if "school_name" in cs.columns:
        ccols["school_name"] = {"kind": "label", "header": "School (internal draft)"}
    ccols.update({
        "days_after": {"kind": "number", "decimals": 0, "header": "Days after start"},
        "rule": {"kind": "label", "header": f"At least {min_days} days"},
    })
    return publish_table(cs, columns=ccols, threshold=threshold, notes=[
        "Case schools are identified by code only, and their grades are not listed: beside the transition table "
        "and the public inspection reports, a school's grades before and since could single it out. The factors "
        "behind each school's change come from reading its inspection reports and are kept with the case "
        "evidence."])


# -- self-assessment ------------------------------------------------------------------------------------------

def sa_wide(baseline: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, str]]:
    """One row per criterion (in criterion order): each subject's mean under the subject's key and its number
    of schools under ``n_<subject>``; and the subjects' labels."""
    def wide_of(value: str) -> pl.DataFrame:
        w = baseline.pivot(on="subject", index=["criterion", "criterion_label", "criterion_order"], values=value)
        return w.sort("criterion_order")

    mw = wide_of("mean").join(wide_of("n").rename({s: f"n_{s}" for s in SA_SUBJECTS}),
                              on=["criterion", "criterion_label", "criterion_order"])
    labels = {r["subject"]: r["subject_label"] for r in baseline.iter_rows(named=True)}
    return mw, labels


def publish_sa_baseline(baseline: pl.DataFrame, *, threshold: int) -> "PublishedTable":
    """Average self-assessment score at the start, by criterion (rows) and subject (columns)."""
    from .tables import publish_table

    mw, labels = sa_wide(baseline)
    scols: dict[str, Any] = {"criterion_label": {"kind": "label", "header": "Criterion"}}
    for s in SA_SUBJECTS:
        scols[s] = {"kind": "number", "decimals": 2, "header": labels[s], "base": f"n_{s}"}
    return publish_table(mw, columns=scols, threshold=threshold, notes=[
        "Means over the schools that gave a score. Subject mean: the mean of the four criterion means. STEM mean: "
        "the mean of the five STEM subjects' means (each subject counts equally, whatever its number of schools). "
        "A derived mean is suppressed when any cell it is built from rests on fewer schools than the threshold."])


def publish_sa_n(baseline: pl.DataFrame, *, threshold: int) -> "PublishedTable":
    """The number of schools behind each average of :func:`publish_sa_baseline`."""
    from .tables import publish_table

    mw, labels = sa_wide(baseline)
    ncols: dict[str, Any] = {"criterion_label": {"kind": "label", "header": "Criterion"}}
    for s in SA_SUBJECTS:
        ncols[f"n_{s}"] = {"kind": "count", "header": labels[s]}
    return publish_table(mw, columns=ncols, threshold=threshold, notes=[
        "For a derived mean (subject mean, STEM mean) the smallest number among the cells it is built from."])


def publish_sa_ranks(ranks: pl.DataFrame, *, threshold: int) -> "PublishedTable":
    """Criteria ranked from best to worst rated, STEM and non-STEM subjects side by side."""
    from .tables import publish_table

    rk = (ranks.select("group", "rank", "criterion_label", "mean", "n")
          .pivot(on="group", index="rank", values=["criterion_label", "mean", "n"], aggregate_function="first")
          .sort("rank"))
    rcols: dict[str, Any] = {"rank_label": {"kind": "label", "header": "Rank"}}
    for g, lab in (("stem_mean", "STEM subjects"), ("non_stem", "Non-STEM subjects")):
        if f"criterion_label_{g}" in rk.columns:
            rcols[f"criterion_label_{g}"] = {"kind": "label", "header": lab}
            rcols[f"mean_{g}"] = {"kind": "number", "decimals": 2, "header": f"{lab}: mean", "base": f"n_{g}"}
    rk = rk.with_columns(pl.col("rank").cast(pl.Utf8).alias("rank_label"))
    return publish_table(rk, columns=rcols, threshold=threshold,
                         notes=["Rank 1 is the best rated (lowest mean); ties share a rank."])


def sa_change_rows(change: pl.DataFrame) -> pl.DataFrame:
    """The rows of the before-and-after table: STEM mean by criterion first (then all STEM subjects), then
    each subject's mean, labelled in ``row``."""
    keep = ((pl.col("subject") == "stem_mean") | (pl.col("criterion") == "subject_mean"))
    return (change.filter(keep)
            .with_columns(pl.when(pl.col("subject") == "stem_mean")
                          .then(pl.when(pl.col("criterion") == "subject_mean").then(pl.lit("All STEM subjects"))
                                .otherwise(pl.lit("STEM mean: ") + pl.col("criterion_label")))
                          .otherwise(pl.col("subject_label")).alias("row"),
                          pl.when(pl.col("subject") == "stem_mean").then(0).otherwise(1).alias("_g"))
            .sort(["_g", "criterion_order", "subject_order"]))


def publish_sa_change(change: pl.DataFrame, *, threshold: int) -> "PublishedTable":
    """Self-assessment at the start and the end, schools rating both times."""
    from .tables import publish_table

    return publish_table(sa_change_rows(change), columns={
        "row": {"kind": "label", "header": "Subject or criterion"},
        "n_paired": {"kind": "count", "header": "Schools"},
        "mean_start_paired": {"kind": "number", "decimals": 2, "header": "Start", "base": "n_paired"},
        "mean_end_paired": {"kind": "number", "decimals": 2, "header": "End", "base": "n_paired"},
        "mean_change": {"kind": "number", "decimals": 2, "header": "Change", "base": "n_paired"},
    }, threshold=threshold, notes=[
        "Means over schools with a score at both times; 1 outstanding to 4 inadequate, so a negative change is an "
        "improvement. For a derived row, Schools is the smallest number among the cells it is built from."])


# -- maturity -------------------------------------------------------------------------------------------------

def publish_maturity(maturity: pl.DataFrame, *, threshold: int) -> "PublishedTable":
    """Change in STEM maturity by aspect; a typical path followed by fewer schools than the threshold reads c."""
    from .tables import publish_table

    mt = maturity.with_columns(
        pl.when(pl.col("typical_n") >= threshold).then(pl.col("typical_path")).otherwise(pl.lit("c")).alias("path"))
    return publish_table(mt, columns={
        "label": {"kind": "label", "header": "Aspect"},
        "n_paired": {"kind": "count", "header": "Schools"},
        "mean_start": {"kind": "number", "decimals": 1, "header": "Start (mean level)", "base": "n_paired"},
        "mean_end": {"kind": "number", "decimals": 1, "header": "End (mean level)", "base": "n_paired"},
        "mean_change": {"kind": "number", "decimals": 1, "header": "Average change", "base": "n_paired"},
        "path": {"kind": "label", "header": "Most common path"},
        "typical_n": {"kind": "count", "header": "Schools on that path"},
    }, threshold=threshold, notes=[
        "Levels: 1 beginning, 2 early progress, 3 results, 4 maturity, 5 exemplar. Overall: the mean of the "
        "aspects' averages; its path is the most common over every school and aspect, and Schools is the smallest "
        "number behind an aspect. A path followed by fewer schools than the threshold is not shown (c)."])


# -- outcomes -------------------------------------------------------------------------------------------------

def publish_outcomes_audience(by_audience: pl.DataFrame, *, threshold: int, record: bool = True) -> "PublishedTable":
    """Outcomes coded from case evidence, by audience (linked to the other outcome tables)."""
    from .tables import ColumnSum, publish_table

    return publish_table(by_audience, columns={
        "audience_label": {"kind": "label", "header": "Audience"},
        "n": {"kind": "count", "header": "Outcomes"},
        "pct": {"kind": "percent", "header": "% of outcomes", "base": "total", "numerator": "n"},
        "schools": {"kind": "count", "header": "Schools with one or more"},
    }, threshold=threshold, sums=[ColumnSum("audience_label", "All audiences", columns=("n",))], link="outcomes",
        record=record)


def publish_outcomes_type(by_type: pl.DataFrame, *, threshold: int, record: bool = True) -> "PublishedTable":
    """Outcomes by audience and type (every type of the codebook)."""
    from .tables import ColumnSum, publish_table

    return publish_table(by_type, columns={
        "audience_label": {"kind": "label", "header": "Audience"},
        "label": {"kind": "label", "header": "Outcome type"},
        "n": {"kind": "count", "header": "Outcomes"},
    }, threshold=threshold, sums=[ColumnSum("label", "All", within="audience_label")], link="outcomes",
        notes=["Every type of the codebook is listed, including those not observed."], record=record)


def outcome_counts_shown(by_audience: pl.DataFrame, by_type: pl.DataFrame, *, threshold: int
                         ) -> tuple[list[bool], list[bool]]:
    """For each row of ``by_audience`` and of ``by_type``, whether the chapter's outcome tables show its count
    (False where they print c: below the threshold, or hidden so that such a count cannot be worked out from
    the totals). Worked out as the chapter publishes them, the audience table first, so that the figures of the
    same counts hide the same cells: a figure drawing a count its table hides would give the hidden one away."""
    from .display import SUPPRESSED
    from .tables import separate_links

    with separate_links():
        audience = publish_outcomes_audience(by_audience, threshold=threshold, record=False)
        types = publish_outcomes_type(by_type, threshold=threshold, record=False)
    return ([v != SUPPRESSED for v in audience.data["Outcomes"]], [v != SUPPRESSED for v in types.data["Outcomes"]])


def domain_wide(by_domain: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Audience (rows, in audience order) by domain (columns, in domain order) with ``base`` the audience's
    outcomes over all domains; and the column specs of the table."""
    dw = (by_domain.pivot(on="domain", index=["audience", "audience_label", "audience_order", "base"], values="n")
          .sort("audience_order"))
    dcols: dict[str, Any] = {"audience_label": {"kind": "label", "header": "Audience"}}
    for r in (by_domain.select("domain", "domain_label", "domain_order").unique().sort("domain_order")
              .iter_rows(named=True)):
        dcols[r["domain"]] = {"kind": "count", "header": r["domain_label"]}
    dcols["base"] = {"kind": "count", "header": "All domains", "key": "Outcomes"}
    return dw, dcols


def publish_outcomes_domain(by_domain: pl.DataFrame, *, threshold: int) -> "PublishedTable":
    """Outcomes by audience and domain, each row adding up to the audience's outcomes."""
    from .tables import ColumnSum, RowSum, publish_table

    dw, dcols = domain_wide(by_domain)
    return publish_table(dw, columns=dcols, threshold=threshold, link="outcomes",
                         sums=[RowSum("base", [k for k in dcols if k not in ("audience_label", "base")]),
                               ColumnSum("audience_label", "All audiences")], notes=[
        "Cognitive: knowledge and understanding; affective: attitudes, confidence and motivation; skills; "
        "behavioural: practice that changed."])


def publish_dose(by_group: pl.DataFrame, *, band_labels: Sequence[str], threshold: int) -> "PublishedTable":
    """Case schools, outcomes and outcomes per school by CPD-unit band, phase, cohort and kind of evidence."""
    from .tables import ColumnSum, publish_table

    bg = by_group.with_columns(pl.col("grouping").replace_strict(_GROUPING_LABEL, default=None)
                               .alias("grouping_label"))
    return publish_table(bg, columns={
        "grouping_label": {"kind": "label", "header": "Grouped by"},
        "group": {"kind": "label", "header": "Group"},
        "schools": {"kind": "count", "header": "Case schools"},
        "outcomes": {"kind": "count", "header": "Outcomes"},
        "mean_outcomes": {"kind": "number", "decimals": 1, "header": "Outcomes per school", "base": "schools"},
        "mean_units": {"kind": "number", "decimals": 1, "header": "CPD units per school", "base": "schools"},
    }, threshold=threshold, sums=[ColumnSum("group", "All case schools", within="grouping_label",
                                            blocks=("CPD units", "Phase", "Cohort", "Evidence"))], notes=[
        f"Bands of CPD units: {', '.join(band_labels)} (a school on a bound falls in the middle band). "
        "Phase: middle schools count as secondary. Schools with no outcome count as zero."])


# -- feedback -------------------------------------------------------------------------------------------------

def feedback_rows(survey: pl.DataFrame) -> pl.DataFrame:
    """Satisfaction and quality on the post-event feedback form, overall and by role."""
    return survey.filter((pl.col("instrument") == "event_feedback")
                         & pl.col("item_id").is_in(["satisfaction", "quality"])
                         & pl.col("subgroup").is_in(["all", "role"]))


def feedback_wide(survey: pl.DataFrame) -> pl.DataFrame:
    """One row per role (all respondents first): satisfaction (``s_*``) and quality (``q_*``) side by side."""
    fb = feedback_rows(survey)
    if not fb.height:
        return pl.DataFrame(schema={"group": pl.Utf8,
                                    **{c: pl.Int64 for c in ("s_n", "s_pos", "s_top", "q_n", "q_pos", "q_top")},
                                    **{c: pl.Float64 for c in ("s_pct", "s_pct_top", "q_pct", "q_pct_top")}})

    def item(i: str, prefix: str) -> pl.DataFrame:
        return (fb.filter(pl.col("item_id") == i)
                .select("group", "group_order", "subgroup",
                        pl.col("n_substantive").alias(f"{prefix}_n"), pl.col("n_positive").alias(f"{prefix}_pos"),
                        pl.col("pct_positive").alias(f"{prefix}_pct"), pl.col("n_top").alias(f"{prefix}_top"),
                        pl.col("pct_top").alias(f"{prefix}_pct_top")))

    return (item("satisfaction", "s").join(item("quality", "q"), on=["group", "group_order", "subgroup"],
                                           how="full", coalesce=True)
            .with_columns(pl.when(pl.col("subgroup") == "all").then(0).otherwise(1).alias("_s"))
            .sort(["_s", "group_order"]))


def publish_feedback_role(survey: pl.DataFrame, *, threshold: int) -> "PublishedTable":
    """Satisfaction and quality ratings of CPD events, by participant's role.

    The Impact chapter's quality-by-role table shows the same numbers answering the quality question for each
    known role. Replayed first (unrecorded) under the same link, it makes this table hide what it hides and not
    take a role it shows as a complement: its total less those roles would otherwise give a hidden one back."""
    from .surveys_publish import FEEDBACK_ROLE_LINK, answers_key, publish_group_bases
    from .tables import ColumnSum, publish_table

    publish_group_bases(survey, "event_feedback", "quality", subgroup="role", threshold=threshold,
                        link=FEEDBACK_ROLE_LINK)
    return publish_table(feedback_wide(survey), columns={
        "group": {"kind": "label", "header": "Role"},
        "s_n": {"kind": "count", "header": "Satisfaction: respondents", "key": answers_key("satisfaction")},
        "s_pct": {"kind": "percent", "header": "Good or better", "base": "s_n", "numerator": "s_pos"},
        "s_pct_top": {"kind": "percent", "header": "Excellent", "base": "s_n", "numerator": "s_top"},
        "q_n": {"kind": "count", "header": "Quality: respondents", "key": answers_key("quality")},
        "q_pct": {"kind": "percent", "header": "Good or very good", "base": "q_n", "numerator": "q_pos"},
        "q_pct_top": {"kind": "percent", "header": "Very good", "base": "q_n", "numerator": "q_top"},
    }, threshold=threshold, sums=[ColumnSum("group", "All respondents")], link=FEEDBACK_ROLE_LINK,
        notes=["Role as the respondent gave it; Not known where it was left blank."])


# -- monitoring -----------------------------------------------------------------------------------------------

def _is_cell_column(c: str) -> bool:
    """A cohort-by-phase column of the monitoring table (``c1_primary``, ``c2_all``)."""
    return c.startswith("c") and "_" in c and c[1:c.index("_")].isdigit()


def monitoring_matrix(monitoring: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Participants and CPD events (community events left out) with readable categories, and the column specs:
    every cohort-by-phase column that holds a value, then the total."""
    matrix = monitoring.filter(pl.col("measure") != "community_events")
    mcols: dict[str, Any] = {"measure_label": {"kind": "label", "header": "Measure"},
                             "category": {"kind": "label", "header": "Category"}}
    for c in matrix.columns:
        if _is_cell_column(c) and matrix[c].drop_nulls().len():
            coh, ph = c[1:].split("_", 1)
            mcols[c] = {"kind": "count", "header": f"Cohort {coh} {ph}"}
    mcols["total"] = {"kind": "count", "header": "Total"}
    matrix = matrix.with_columns(pl.when(pl.col("category") == "all").then(pl.lit("All"))
                                 .otherwise(pl.col("category").str.replace_all("_", " ").str.to_titlecase())
                                 .alias("category"))
    return matrix, mcols


def publish_monitoring(monitoring: pl.DataFrame, *, threshold: int) -> "PublishedTable":
    """Participants and CPD events by cohort and phase, as the programme returned them."""
    from .tables import ColumnSum, RowSum, publish_table

    matrix, mcols = monitoring_matrix(monitoring)
    parts = [c for c in mcols if c not in ("measure_label", "category", "total")]
    return publish_table(matrix, columns=mcols, threshold=threshold, notes=["As returned by the programme."],
                         sums=[RowSum("total", parts),
                               ColumnSum("measure_label", "Teachers (including senior leaders)",
                                         members=("Teachers by subject specialism",))])


def monitoring_cohorts(monitoring: pl.DataFrame) -> list[str]:
    """The cohorts of the monitoring table's columns, in numeric order ("1", "2", ...)."""
    return sorted({c[1:].split("_")[0] for c in monitoring.columns
                   if c.startswith("c") and c[1:].split("_")[0].isdigit()}, key=int)


def community_rows(monitoring: pl.DataFrame) -> pl.DataFrame:
    """Community events of each cohort (None where the return gives none)."""
    crow = one(monitoring, measure="community_events") or {}
    cohorts = monitoring_cohorts(monitoring)
    return pl.DataFrame({"label": [f"Cohort {k}" for k in cohorts],
                         "events": [crow.get(f"c{k}_all") for k in cohorts]},
                        schema={"label": pl.Utf8, "events": pl.Int64})


def publish_community(monitoring: pl.DataFrame, *, threshold: int) -> "PublishedTable":
    """Community events by cohort."""
    from .tables import publish_table

    return publish_table(community_rows(monitoring), columns={"label": {"kind": "label", "header": "Cohort"},
                                                              "events": {"kind": "count",
                                                                         "header": "Community events"}},
                         threshold=threshold)
