"""Targeted programme (seed 002): Ofsted change, STEM maturity, self-assessment and outcomes by audience.

Plain functions on polars DataFrames, one per table of the "Targeted programme" chapter. Reading the inputs
and the codebook: :mod:`cpdeval.ingest.targeted`; figures: :mod:`cpdeval.targeted_figures`; the rule's stage:
:mod:`cpdeval.stages.targeted`.

Definitions
-----------
* **Targeted schools** are the schools on the programme's list; Ofsted tables use the *active* ones
  (status ``active`` or blank), as the seed does (191 of 206 recruited).
* **Rating before**: the overall effectiveness grade of the school's latest graded inspection dated
  *before* its engagement start. A school with none is a *new school* when its history has a
  ``new_school`` row, otherwise *not inspected*.
* **Inspected since**: the school has a graded inspection dated *on or after* its engagement start; the
  rating since is the grade of the latest one, and ``days_after`` is its date minus the engagement start.
  Monitoring visits carry no grade and do not count.
* **Direction** (lower grades are better): *improved* when the rating since is lower than the rating
  before, *same* when equal, *declined* when higher. Only schools with both ratings have a direction.
* **At least N days after**: the rule is exact, ``days_after >= N`` with N = ``targeted.min_days_after_start``
  (default 365). A school inspected 364 days after it began does not meet a 365-day rule; one inspected
  365 days after does.
* **Self-assessment means** (1 outstanding ... 4 inadequate) are available-case: each subject x criterion
  mean is over the schools that gave that cell a score, with its own n. A subject's mean is the mean of
  its four criterion means; the STEM mean of a criterion is the mean of the five STEM subjects' means (not
  a pooled mean over schools), and the overall STEM mean is the mean of the STEM subjects' means. The n of
  a derived mean is the smallest n among the cells it is built from (its disclosure base).
* **Before and after** (self-assessment and maturity) compare each school with itself: only schools with
  both a start and an end value for the cell count (``n_paired``).
* **Maturity change** = end level minus start level (1 beginning ... 5 exemplar). Per aspect: mean change
  over schools with both ratings; the overall mean is the mean of the aspect means; the mode is over every
  school x aspect change (the smallest mode on a tie). The *typical path* is the most common start -> end
  pair (ties joined by "or"), with how many schools followed it.
* **CPD units per school**: attended bookings of the school (followed across URN changes through the
  school lineage) that started on or after its engagement start; hours = units x 5.
* **CPD-unit bands** from ``targeted.unit_bands`` (default [10, 20]): below the first bound; between
  bounds, including the lower bound (the last middle band includes its upper bound too); above the last
  bound. With [10, 20]: <10, 10-20 (10 <= units <= 20), >20.
* **Case schools** are schools with case evidence (the ``evidence`` column) or at least one coded outcome;
  outcomes per school are averaged over them, counting schools with no outcome as zero.
* **Phase groups**: infant, junior and primary schools are primary; middle, secondary and all-through
  schools are secondary ("middle deemed secondary").

Names: derived tables identify case schools by their case code. A ``school_name`` column is added only when
the run config sets ``render.allow_names: true`` (internal drafts).
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Mapping, Sequence

import polars as pl

from .config import schema_default
from .ingest.targeted import codebook_types, load_codebook

__all__ = [
    "DEFAULT_MIN_DAYS", "DEFAULT_UNIT_BANDS", "HOURS_PER_UNIT",
    "RATING_LABEL", "MATURITY_LEVEL", "ASPECTS", "SUBJECTS", "STEM_SUBJECTS", "CRITERIA",
    "active_schools", "phase_group_expr", "ofsted_status", "ofsted_by_pre_rating", "ofsted_transitions",
    "ofsted_direction", "ofsted_funnel", "ofsted_cases",
    "self_assessment_means", "criterion_ranks", "self_assessment_change", "self_assessment_cell_counts",
    "maturity_change", "outcomes_by_type", "outcomes_by_audience", "outcomes_by_domain",
    "BOOKING_COLUMNS", "cpd_units_by_school", "unit_band_labels", "unit_band_expr", "school_outcomes",
    "outcomes_by_group",
    "monitoring_table", "monitoring_checks", "data_checks", "targeted_tables",
]

DEFAULT_MIN_DAYS = schema_default("targeted.min_days_after_start")
DEFAULT_UNIT_BANDS = tuple(schema_default("targeted.unit_bands"))
HOURS_PER_UNIT = 5
SOURCE = "Targeted programme records"

RATING_LABEL = {1: "Outstanding", 2: "Good", 3: "Requires improvement", 4: "Inadequate"}
MATURITY_LEVEL = {1: "Beginning", 2: "Early progress", 3: "Results", 4: "Maturity", 5: "Exemplar"}
ASPECTS = {
    "cpd_for_teachers": "CPD for STEM teachers",
    "enrichment": "STEM enrichment",
    "collaboration": "Collaboration with other schools",
    "stem_teaching": "Quality of STEM teaching",
    "subject_leadership": "Quality of subject leadership",
    "careers_education": "STEM careers education",
}
SUBJECTS = {
    "science": "Science",
    "design_technology": "Design and technology",
    "maths": "Maths",
    "computer_science": "Computer science",
    "engineering": "Engineering",
    "non_stem": "Non-STEM subjects",
}
STEM_SUBJECTS = ["science", "design_technology", "maths", "computer_science", "engineering"]
CRITERIA = {
    "quality_of_teaching": "Quality of teaching",
    "pupil_learning": "Pupil learning",
    "subject_leading": "Quality of subject leading",
    "careers_education": "STEM careers education",
}
PHASE_GROUP = {"primary": "primary", "infant": "primary", "junior": "primary", "middle": "secondary",
               "secondary": "secondary", "all_through": "secondary"}
EVIDENCE_LABEL = {"complete_journey": "Complete journey", "partial_journey": "Partial journey",
                  "ofsted_case": "Ofsted case analysis", "self_case_study": "School's own case study",
                  "el_case_study": "Educational lead's case study"}
MONITORING_MEASURES = {"slt": "Senior leaders", "teachers": "Teachers (including senior leaders)",
                       "specialism": "Teachers by subject specialism", "cpd_events": "CPD events by subject area",
                       "community_events": "Community events"}
DIRECTIONS = ("improved", "same", "declined")


# =============================================================================================
# Schools and Ofsted
# =============================================================================================

def active_schools(schools: pl.DataFrame) -> pl.DataFrame:
    """Schools whose status is active (or blank)."""
    if "status" not in schools.columns:
        return schools
    return schools.filter(pl.col("status").is_null() | (pl.col("status") == "active"))


def phase_group_expr(col: str = "phase") -> pl.Expr:
    return pl.col(col).replace_strict(PHASE_GROUP, default=None, return_dtype=pl.Utf8).alias("phase_group")


def _rating_label(col: str) -> pl.Expr:
    return pl.col(col).replace_strict({k: v for k, v in RATING_LABEL.items()}, default=None, return_dtype=pl.Utf8)


def ofsted_status(schools: pl.DataFrame, ofsted: pl.DataFrame, min_days: int = DEFAULT_MIN_DAYS) -> pl.DataFrame:
    """One row per school: rating before, rating since, days after engagement, direction, rule met.

    Columns: urn, engagement_start, pre_rating, pre_date, pre_status (rated / new_school / not_inspected),
    post_rating, post_date, post_type, days_after, inspected_since, direction (improved / same / declined,
    null without both ratings), meets_min_days (``days_after >= min_days``).
    """
    s = schools.select("urn", "engagement_start").unique(subset=["urn"], keep="first", maintain_order=True)
    graded = ofsted.filter((pl.col("status") == "inspected") & pl.col("overall_effectiveness").is_not_null()
                           & pl.col("inspection_date").is_not_null())
    j = (graded.join(s, on="urn", how="inner")
         .with_columns((pl.col("inspection_date") - pl.col("engagement_start")).dt.total_days().alias("days"))
         .sort(["urn", "inspection_date", "inspection_type", "overall_effectiveness"]))
    pre = (j.filter(pl.col("days") < 0).group_by("urn", maintain_order=True).last()
           .select("urn", pl.col("overall_effectiveness").alias("pre_rating"), pl.col("inspection_date").alias("pre_date")))
    post = (j.filter(pl.col("days") >= 0).group_by("urn", maintain_order=True).last()
            .select("urn", pl.col("overall_effectiveness").alias("post_rating"),
                    pl.col("inspection_date").alias("post_date"), pl.col("inspection_type").alias("post_type"),
                    pl.col("days").alias("days_after")))
    new = ofsted.filter(pl.col("status") == "new_school").select("urn").unique().with_columns(pl.lit(True).alias("_new"))
    out = (s.join(pre, on="urn", how="left").join(post, on="urn", how="left").join(new, on="urn", how="left")
           .with_columns(
               pl.when(pl.col("pre_rating").is_not_null()).then(pl.lit("rated"))
               .when(pl.col("_new").fill_null(False)).then(pl.lit("new_school"))
               .otherwise(pl.lit("not_inspected")).alias("pre_status"),
               pl.col("post_rating").is_not_null().alias("inspected_since"))
           .with_columns(
               pl.when(pl.col("pre_rating").is_null() | pl.col("post_rating").is_null()).then(None)
               .when(pl.col("post_rating") < pl.col("pre_rating")).then(pl.lit("improved"))
               .when(pl.col("post_rating") == pl.col("pre_rating")).then(pl.lit("same"))
               .otherwise(pl.lit("declined")).alias("direction"),
               (pl.col("inspected_since") & (pl.col("days_after") >= int(min_days))).fill_null(False)
               .alias("meets_min_days"))
           .drop("_new").sort("urn"))
    return out.with_columns(pl.col("days_after").cast(pl.Int64))


_PRE_GROUPS = [("4", "4 Inadequate"), ("3", "3 Requires improvement"), ("2", "2 Good"), ("1", "1 Outstanding"),
               ("new_school", "New school"), ("not_inspected", "Not inspected before")]


def _pre_group(status: pl.DataFrame) -> pl.DataFrame:
    return status.with_columns(
        pl.when(pl.col("pre_status") == "rated").then(pl.col("pre_rating").cast(pl.Utf8))
        .otherwise(pl.col("pre_status")).alias("pre_group"))


def ofsted_by_pre_rating(status: pl.DataFrame) -> pl.DataFrame:
    """Seed Table 1: schools by rating before, how many were inspected since, how many improved.

    Rows 4, 3, 2, 1, new school, not inspected before (shown only when there is one), and the total. An
    outstanding school cannot improve and a school with no rating before has no direction: those cells
    carry status ``z`` (not applicable). Percentages: inspected since over schools; improved over
    inspected since.
    """
    g = _pre_group(status)
    rows = []
    for order, (key, label) in enumerate(_PRE_GROUPS):
        sub = g.filter(pl.col("pre_group") == key)
        if key == "not_inspected" and not sub.height:
            continue
        rated = key not in ("new_school", "not_inspected")
        insp = int(sub["inspected_since"].sum()) if rated else None
        impr = int((sub["direction"] == "improved").sum()) if rated and key != "1" else None
        rows.append({"order": order, "pre_group": key, "label": label, "schools": sub.height,
                     "inspected_since": insp, "improved": impr,
                     "inspected_status": None if rated else "z",
                     "improved_status": None if (rated and key != "1") else "z"})
    rated = g.filter(pl.col("pre_status") == "rated")
    rows.append({"order": len(_PRE_GROUPS), "pre_group": "total", "label": "Total", "schools": g.height,
                 "inspected_since": int(rated["inspected_since"].sum()),
                 "improved": int((rated["direction"] == "improved").sum()), "inspected_status": None,
                 "improved_status": None})
    df = pl.DataFrame(rows, schema={"order": pl.Int64, "pre_group": pl.Utf8, "label": pl.Utf8, "schools": pl.Int64,
                                    "inspected_since": pl.Int64, "improved": pl.Int64, "inspected_status": pl.Utf8,
                                    "improved_status": pl.Utf8})
    return df.with_columns(
        (100 * pl.col("inspected_since") / pl.col("schools")).alias("pct_inspected"),
        (100 * pl.col("improved") / pl.col("inspected_since")).alias("pct_improved"))


def ofsted_transitions(status: pl.DataFrame, min_days: int | None = None) -> pl.DataFrame:
    """Rating before x rating since, every cell of the 4 x 4 grid (zeros included).

    Schools with both ratings; with ``min_days``, only those whose latest inspection since was at least
    that many days after they began (``days_after >= min_days``).
    """
    s = status.filter(pl.col("direction").is_not_null())
    if min_days is not None:
        s = s.filter(pl.col("days_after") >= int(min_days))
    counts = s.group_by("pre_rating", "post_rating").len()
    grid = pl.DataFrame({"pre_rating": [p for p in (4, 3, 2, 1) for _ in range(4)],
                         "post_rating": [q for _ in range(4) for q in (1, 2, 3, 4)]},
                        schema={"pre_rating": pl.Int64, "post_rating": pl.Int64})
    out = (grid.join(counts.with_columns(pl.col("pre_rating").cast(pl.Int64), pl.col("post_rating").cast(pl.Int64)),
                     on=["pre_rating", "post_rating"], how="left")
           .with_columns(pl.col("len").fill_null(0).cast(pl.Int64).alias("n"))
           .drop("len")
           .with_columns(
               pl.when(pl.col("post_rating") < pl.col("pre_rating")).then(pl.lit("improved"))
               .when(pl.col("post_rating") == pl.col("pre_rating")).then(pl.lit("same"))
               .otherwise(pl.lit("declined")).alias("direction"),
               _rating_label("pre_rating").alias("pre_label"), _rating_label("post_rating").alias("post_label")))
    return out


def ofsted_direction(status: pl.DataFrame, min_days: int | None = None) -> pl.DataFrame:
    """Improved / same / declined counts and shares of the schools with both ratings (plus a total row).

    ``scope`` is ``since_engagement`` (any graded inspection since) or ``min_days`` (latest inspection at
    least N days after).
    """
    s = status.filter(pl.col("direction").is_not_null())
    scope = "since_engagement"
    if min_days is not None:
        s = s.filter(pl.col("days_after") >= int(min_days))
        scope = "min_days"
    base = s.height
    rows = [{"scope": scope, "order": i, "direction": k, "n": int((s["direction"] == k).sum()), "base": base}
            for i, k in enumerate(DIRECTIONS)]
    rows.append({"scope": scope, "order": len(DIRECTIONS), "direction": "total", "n": base, "base": base})
    df = pl.DataFrame(rows, schema={"scope": pl.Utf8, "order": pl.Int64, "direction": pl.Utf8, "n": pl.Int64,
                                    "base": pl.Int64})
    return df.with_columns(pl.when(pl.col("base") > 0).then(100 * pl.col("n") / pl.col("base")).otherwise(None)
                           .alias("pct"))


def ofsted_funnel(schools: pl.DataFrame, status: pl.DataFrame, min_days: int) -> pl.DataFrame:
    """From targeted schools to the Ofsted case analyses (seed: 206 -> 191 -> 82 -> 39 -> 6)."""
    act = active_schools(schools)
    st = status.join(act.select("urn"), on="urn", how="semi")
    both = st.filter(pl.col("direction").is_not_null())
    rule = both.filter(pl.col("meets_min_days"))
    ev = pl.col("evidence") == "ofsted_case" if "evidence" in act.columns else pl.lit(False)
    cases = act.filter(ev).select("urn")
    cases_rule = rule.join(cases, on="urn", how="semi")
    rows = [
        ("recruited", "Schools recruited", schools.height),
        ("active", "Active schools", act.height),
        ("inspected_before_and_since", "Rated before and inspected since they began", both.height),
        ("min_days", f"Latest inspection at least {min_days} days after they began", rule.height),
        ("ofsted_cases", "Ofsted case analyses", cases.height),
        ("ofsted_cases_min_days", f"Ofsted case analyses meeting the {min_days}-day rule", cases_rule.height),
    ]
    return pl.DataFrame({"order": list(range(len(rows))), "step": [r[0] for r in rows],
                         "label": [r[1] for r in rows], "schools": [r[2] for r in rows]},
                        schema={"order": pl.Int64, "step": pl.Utf8, "label": pl.Utf8, "schools": pl.Int64})


def _names(schools: pl.DataFrame, allow_names: bool) -> list[str]:
    return ["school_name"] if allow_names and "school_name" in schools.columns else []


def ofsted_cases(schools: pl.DataFrame, status: pl.DataFrame, *, allow_names: bool = False) -> pl.DataFrame:
    """Seed Table 12: the Ofsted case-analysis schools by case code, with their ratings and days after."""
    if "evidence" not in schools.columns:
        return pl.DataFrame(schema={"case_code": pl.Utf8})
    cases = schools.filter(pl.col("evidence") == "ofsted_case").select("urn", "case_code", *_names(schools, allow_names))
    return (cases.join(status, on="urn", how="left")
            .with_columns(_rating_label("pre_rating").alias("pre_label"), _rating_label("post_rating").alias("post_label"))
            .select("case_code", *_names(schools, allow_names), "pre_rating", "pre_label", "post_rating", "post_label",
                    "direction", "days_after", "meets_min_days")
            .sort("case_code"))


# =============================================================================================
# Self-assessment
# =============================================================================================

def _grid(values: Mapping[str, str], name: str) -> pl.DataFrame:
    return pl.DataFrame({name: list(values), f"{name}_label": list(values.values()),
                         f"{name}_order": list(range(len(values)))},
                        schema={name: pl.Utf8, f"{name}_label": pl.Utf8, f"{name}_order": pl.Int64})


def _mean_of(values: list) -> float | None:
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def _min_n(values: list) -> int:
    return min(values) if values else 0


def _add_derived_means(cells: pl.DataFrame, mean_cols: Sequence[str], n_cols: Sequence[str]) -> pl.DataFrame:
    """Add subject-mean rows (criterion ``subject_mean``) and STEM-mean rows (subject ``stem_mean``).

    Means of means, as defined in the module docstring; the n of a derived row is the smallest n of its
    component cells.
    """
    rows = cells.to_dicts()
    idx = {(r["subject"], r["criterion"]): r for r in rows}
    out = list(rows)
    subj_rows = {}
    for s in SUBJECTS:
        comp = [idx[(s, c)] for c in CRITERIA if (s, c) in idx]
        r = {"subject": s, "criterion": "subject_mean", "kind": "subject_mean"}
        for m in mean_cols:
            r[m] = _mean_of([x[m] for x in comp])
        for n in n_cols:
            r[n] = _min_n([x[n] for x in comp if x[n]]) if any(x[n] for x in comp) else 0
        subj_rows[s] = r
        out.append(r)
    for c in list(CRITERIA) + ["subject_mean"]:
        comp = [idx[(s, c)] if c != "subject_mean" else subj_rows[s] for s in STEM_SUBJECTS
                if (c == "subject_mean" or (s, c) in idx)]
        r = {"subject": "stem_mean", "criterion": c, "kind": "stem_mean"}
        for m in mean_cols:
            r[m] = _mean_of([x[m] for x in comp])
        for n in n_cols:
            present = [x[n] for x in comp if x[n]]
            r[n] = _min_n(present) if present else 0
        out.append(r)
    schema = cells.schema
    df = pl.DataFrame([{k: r.get(k) for k in schema} for r in out], schema=schema)
    subj = _grid({**SUBJECTS, "stem_mean": "STEM mean"}, "subject")
    crit = _grid({**CRITERIA, "subject_mean": "Subject mean"}, "criterion")
    return (df.drop([c for c in df.columns if c.endswith("_label") or c.endswith("_order")])
            .join(subj, on="subject", how="left").join(crit, on="criterion", how="left")
            .sort(["criterion_order", "subject_order"]))


def self_assessment_means(sa: pl.DataFrame, timepoint: str = "start") -> pl.DataFrame:
    """Seed Table 2: mean score per subject x criterion (available cases, with n), subject means, STEM means.

    Columns: subject, criterion (+ labels and orders), kind (cell / subject_mean / stem_mean), n (schools
    with a score; for a derived mean, its smallest component n), mean. Lower is better.
    """
    x = sa.filter((pl.col("timepoint") == timepoint) & pl.col("score").is_not_null())
    agg = x.group_by("subject", "criterion").agg(pl.len().cast(pl.Int64).alias("n"),
                                                 pl.col("score").cast(pl.Float64).mean().alias("mean"))
    grid = _grid(SUBJECTS, "subject").join(_grid(CRITERIA, "criterion"), how="cross")
    cells = (grid.join(agg, on=["subject", "criterion"], how="left")
             .with_columns(pl.col("n").fill_null(0), pl.lit("cell").alias("kind"))
             .select("subject", "criterion", "kind", "n", "mean"))
    return _add_derived_means(cells, ["mean"], ["n"]).select(
        "subject", "subject_label", "subject_order", "criterion", "criterion_label", "criterion_order", "kind", "n",
        "mean")


def criterion_ranks(means: pl.DataFrame) -> pl.DataFrame:
    """Seed Table 3: criteria ranked by mean (lower is better, "min" ties), for the STEM mean and non-STEM."""
    parts = []
    for group, label in (("stem_mean", "STEM subjects"), ("non_stem", "Non-STEM subjects")):
        g = means.filter((pl.col("subject") == group) & (pl.col("criterion") != "subject_mean")
                         & pl.col("mean").is_not_null())
        parts.append(g.with_columns(pl.lit(group).alias("group"), pl.lit(label).alias("group_label"),
                                    pl.col("mean").rank(method="min").cast(pl.Int64).alias("rank"))
                     .select("group", "group_label", "criterion", "criterion_label", "n", "mean", "rank"))
    return pl.concat(parts).sort(["group", "rank", "criterion"], descending=[True, False, False])


def self_assessment_change(sa: pl.DataFrame, urns: Sequence[int] | None = None) -> pl.DataFrame:
    """Seed Table 14, for every school with a re-assessment: start and end means per cell, paired.

    Per subject x criterion: n_start / mean_start over every start score; n_end / mean_end over every end
    score; n_paired schools with both, their mean_start_paired, mean_end_paired and mean_change (end minus
    start: negative is an improvement). Subject-mean and STEM-mean rows are means of these means.
    """
    x = sa.filter(pl.col("score").is_not_null())
    if urns is not None:
        x = x.filter(pl.col("urn").is_in(list(urns)))
    key = ["urn", "subject", "criterion"]
    start = x.filter(pl.col("timepoint") == "start").select(*key, pl.col("score").cast(pl.Float64).alias("s"))
    end = x.filter(pl.col("timepoint") == "end").select(*key, pl.col("score").cast(pl.Float64).alias("e"))
    paired = start.join(end, on=key, how="inner")
    a = start.group_by("subject", "criterion").agg(pl.len().cast(pl.Int64).alias("n_start"), pl.col("s").mean().alias("mean_start"))
    b = end.group_by("subject", "criterion").agg(pl.len().cast(pl.Int64).alias("n_end"), pl.col("e").mean().alias("mean_end"))
    c = paired.group_by("subject", "criterion").agg(pl.len().cast(pl.Int64).alias("n_paired"),
                                                    pl.col("s").mean().alias("mean_start_paired"),
                                                    pl.col("e").mean().alias("mean_end_paired"))
    grid = _grid(SUBJECTS, "subject").join(_grid(CRITERIA, "criterion"), how="cross").select("subject", "criterion")
    cells = (grid.join(a, on=["subject", "criterion"], how="left").join(b, on=["subject", "criterion"], how="left")
             .join(c, on=["subject", "criterion"], how="left")
             .with_columns([pl.col(n).fill_null(0) for n in ("n_start", "n_end", "n_paired")])
             .with_columns(pl.lit("cell").alias("kind")))
    means = ["mean_start", "mean_end", "mean_start_paired", "mean_end_paired"]
    out = _add_derived_means(cells.select("subject", "criterion", "kind", "n_start", "mean_start", "n_end", "mean_end",
                                          "n_paired", "mean_start_paired", "mean_end_paired"),
                             means, ["n_start", "n_end", "n_paired"])
    return out.with_columns((pl.col("mean_end_paired") - pl.col("mean_start_paired")).alias("mean_change")).select(
        "subject", "subject_label", "subject_order", "criterion", "criterion_label", "criterion_order", "kind",
        "n_start", "mean_start", "n_end", "mean_end", "n_paired", "mean_start_paired", "mean_end_paired", "mean_change")


def self_assessment_cell_counts(sa: pl.DataFrame) -> pl.DataFrame:
    """Per school with a re-assessment: STEM cells rated at both times, how many were 3 or 4 at the start,
    1 at the end, and 3 or 4 at the end (the seed's "15 of 16" / "13 of 16" statements)."""
    x = sa.filter(pl.col("score").is_not_null() & pl.col("subject").is_in(STEM_SUBJECTS))
    key = ["urn", "subject", "criterion"]
    s = x.filter(pl.col("timepoint") == "start").select(*key, pl.col("score").alias("s"))
    e = x.filter(pl.col("timepoint") == "end").select(*key, pl.col("score").alias("e"))
    return (s.join(e, on=key, how="inner").group_by("urn")
            .agg(pl.len().cast(pl.Int64).alias("cells"), (pl.col("s") >= 3).sum().cast(pl.Int64).alias("start_3_or_4"),
                 (pl.col("e") == 1).sum().cast(pl.Int64).alias("end_1"),
                 (pl.col("e") >= 3).sum().cast(pl.Int64).alias("end_3_or_4"))
            .sort("urn"))


# =============================================================================================
# Maturity
# =============================================================================================

def _path_text(pairs: list[tuple[int, int]]) -> str:
    return " or ".join(f"{MATURITY_LEVEL[a]} to {MATURITY_LEVEL[b]}" for a, b in pairs)


def _mode(values: list[int]) -> tuple[int | None, list[int]]:
    if not values:
        return None, []
    c = Counter(values)
    top = max(c.values())
    modes = sorted(v for v, k in c.items() if k == top)
    return modes[0], modes


def _typical(pairs: list[tuple[int, int]]) -> tuple[str | None, int]:
    if not pairs:
        return None, 0
    c = Counter(pairs)
    top = max(c.values())
    modal = sorted(p for p, k in c.items() if k == top)
    return _path_text(modal), top


def maturity_change(mat: pl.DataFrame) -> pl.DataFrame:
    """Seed Table 13: change in STEM maturity per aspect, and overall.

    Per aspect: n_start (schools with a start rating), n_paired (start and end), n_no_end, mean_start and
    mean_end (paired schools), mean_change, mode_change (smallest mode), modes (all, as text),
    typical_path (most common start -> end, ties joined by "or"), typical_n. The overall row: mean_change
    is the mean of the aspect means (as are mean_start and mean_end); the mode and typical path are over
    every school x aspect pair; n_paired is the smallest aspect n_paired (its disclosure base). Sorted by
    mean change, largest first, overall last.
    """
    rated = mat.filter(pl.col("level").is_not_null())
    s = rated.filter(pl.col("timepoint") == "start").select("urn", "aspect", pl.col("level").alias("start"))
    e = rated.filter(pl.col("timepoint") == "end").select("urn", "aspect", pl.col("level").alias("end"))
    both = s.join(e, on=["urn", "aspect"], how="left").sort(["aspect", "urn"])
    rows, all_changes, all_pairs = [], [], []
    for order, (aspect, label) in enumerate(ASPECTS.items()):
        sub = both.filter(pl.col("aspect") == aspect)
        pr = sub.filter(pl.col("end").is_not_null())
        pairs = list(zip(pr["start"].to_list(), pr["end"].to_list()))
        changes = [b - a for a, b in pairs]
        all_changes += changes
        all_pairs += pairs
        mode, modes = _mode(changes)
        typ, typ_n = _typical(pairs)
        n = len(pairs)
        rows.append({"aspect": aspect, "label": label, "aspect_order": order, "n_start": sub.height, "n_paired": n,
                     "n_no_end": sub.height - n,
                     "mean_start": sum(a for a, _ in pairs) / n if n else None,
                     "mean_end": sum(b for _, b in pairs) / n if n else None,
                     "mean_change": sum(changes) / n if n else None,
                     "mode_change": mode, "modes": ", ".join(map(str, modes)) or None,
                     "typical_path": typ, "typical_n": typ_n})
    with_data = [r for r in rows if r["n_paired"]]
    mode, modes = _mode(all_changes)
    typ, typ_n = _typical(all_pairs)
    overall = {"aspect": "overall", "label": "Overall", "aspect_order": len(ASPECTS),
               "n_start": both.select("urn").n_unique(),
               "n_paired": min((r["n_paired"] for r in with_data), default=0),
               "n_no_end": both.filter(pl.col("end").is_null()).select("urn").n_unique(),
               "mean_start": _mean_of([r["mean_start"] for r in with_data]),
               "mean_end": _mean_of([r["mean_end"] for r in with_data]),
               "mean_change": _mean_of([r["mean_change"] for r in with_data]),
               "mode_change": mode, "modes": ", ".join(map(str, modes)) or None,
               "typical_path": typ, "typical_n": typ_n}
    schema = {"aspect": pl.Utf8, "label": pl.Utf8, "aspect_order": pl.Int64, "n_start": pl.Int64, "n_paired": pl.Int64,
              "n_no_end": pl.Int64, "mean_start": pl.Float64, "mean_end": pl.Float64, "mean_change": pl.Float64,
              "mode_change": pl.Int64, "modes": pl.Utf8, "typical_path": pl.Utf8, "typical_n": pl.Int64}
    df = pl.DataFrame(rows, schema=schema).sort(["mean_change", "aspect_order"], descending=[True, False],
                                                nulls_last=True)
    return pl.concat([df, pl.DataFrame([overall], schema=schema)]).with_columns(
        pl.when(pl.col("n_paired") > 0).then(pl.col("typical_n") > pl.col("n_paired") / 2).otherwise(None)
        .alias("typical_majority"))


# =============================================================================================
# Outcomes
# =============================================================================================

def outcomes_by_type(outcomes: pl.DataFrame, codebook: Mapping[str, Any]) -> pl.DataFrame:
    """Seed Table 11: outcomes per outcome type, every type of the codebook (zeros included)."""
    types = codebook_types(codebook)
    n = outcomes.group_by("outcome_type").agg(pl.len().cast(pl.Int64).alias("n"),
                                              pl.col("urn").n_unique().cast(pl.Int64).alias("schools"))
    return (types.join(n, on="outcome_type", how="left")
            .with_columns(pl.col("n").fill_null(0), pl.col("schools").fill_null(0))
            .sort(["audience_order", "n", "type_order"], descending=[False, True, False]))


def outcomes_by_audience(outcomes: pl.DataFrame, codebook: Mapping[str, Any]) -> pl.DataFrame:
    """Outcomes per audience: n, share of all outcomes, schools with at least one, types observed."""
    aud = pl.DataFrame([{"audience": a["id"], "audience_label": a["label"], "audience_order": i}
                        for i, a in enumerate(codebook["audiences"])])
    total = outcomes.height
    g = outcomes.group_by("audience").agg(pl.len().cast(pl.Int64).alias("n"),
                                          pl.col("urn").n_unique().cast(pl.Int64).alias("schools"),
                                          pl.col("outcome_type").n_unique().cast(pl.Int64).alias("types_observed"))
    out = (aud.join(g, on="audience", how="left")
           .with_columns([pl.col(c).fill_null(0) for c in ("n", "schools", "types_observed")])
           .with_columns(pl.lit(total, dtype=pl.Int64).alias("total"))
           .with_columns(pl.when(pl.col("total") > 0).then(100 * pl.col("n") / pl.col("total")).otherwise(None)
                         .alias("pct")))
    tot = pl.DataFrame([{"audience": "total", "audience_label": "All audiences", "audience_order": aud.height,
                         "n": total, "schools": outcomes.select("urn").n_unique(),
                         "types_observed": outcomes.select("outcome_type").n_unique(), "total": total,
                         "pct": 100.0 if total else None}], schema=out.schema)
    return pl.concat([out.sort("audience_order"), tot])


def outcomes_by_domain(outcomes: pl.DataFrame, codebook: Mapping[str, Any]) -> pl.DataFrame:
    """Outcomes per audience x domain (zeros included), with the audience total as base of the share."""
    aud = pl.DataFrame([{"audience": a["id"], "audience_label": a["label"], "audience_order": i}
                        for i, a in enumerate(codebook["audiences"])] +
                       [{"audience": "total", "audience_label": "All audiences", "audience_order": len(codebook["audiences"])}])
    dom = pl.DataFrame([{"domain": x["id"], "domain_label": x["label"], "domain_order": i}
                        for i, x in enumerate(codebook["domains"])])
    o = pl.concat([outcomes.select("audience", "domain"),
                   outcomes.select(pl.lit("total").alias("audience"), "domain")])
    n = o.group_by("audience", "domain").len()
    base = o.group_by("audience").len().rename({"len": "base"})
    return (aud.join(dom, how="cross").join(n, on=["audience", "domain"], how="left")
            .join(base, on="audience", how="left")
            .with_columns(pl.col("len").fill_null(0).cast(pl.Int64).alias("n"),
                          pl.col("base").fill_null(0).cast(pl.Int64))
            .drop("len")
            .with_columns(pl.when(pl.col("base") > 0).then(100 * pl.col("n") / pl.col("base")).otherwise(None)
                          .alias("pct"))
            .sort(["audience_order", "domain_order"]))


def _school_keys(schools: pl.DataFrame, lineage: pl.DataFrame | None) -> pl.DataFrame:
    s = schools.select("urn", "engagement_start")
    if lineage is None or not lineage.height:
        return s.with_columns(pl.col("urn").alias("school_key"))
    return (s.join(lineage.select("urn", "school_key"), on="urn", how="left")
            .with_columns(pl.col("school_key").fill_null(pl.col("urn"))))


#: The linked bookings' columns :func:`cpd_units_by_school` uses (the stage reads only these).
BOOKING_COLUMNS = ("status", "urn", "school_key", "units", "start_date", "activity_id")


def cpd_units_by_school(schools: pl.DataFrame, bookings: pl.DataFrame,
                        lineage: pl.DataFrame | None = None) -> pl.DataFrame:
    """CPD units of each targeted school since its engagement start (attended bookings, across URN changes).

    Columns: urn, units, hours (units x 5), bookings, activities (distinct). Schools with none get 0.
    """
    keys = _school_keys(schools, lineage)
    key_col = "school_key" if "school_key" in bookings.columns else "urn"
    b = bookings.filter((pl.col("status") == "attended") & pl.col(key_col).is_not_null()).select(
        pl.col(key_col).alias("school_key"), "units", "start_date", "activity_id" if "activity_id" in bookings.columns
        else pl.lit(None, dtype=pl.Utf8).alias("activity_id"))
    j = (keys.join(b, on="school_key", how="inner").filter(pl.col("start_date") >= pl.col("engagement_start"))
         .group_by("urn").agg(pl.col("units").sum().alias("units"), pl.len().cast(pl.Int64).alias("bookings"),
                              pl.col("activity_id").n_unique().cast(pl.Int64).alias("activities")))
    return (keys.select("urn").join(j, on="urn", how="left")
            .with_columns(pl.col("units").fill_null(0.0), pl.col("bookings").fill_null(0),
                          pl.col("activities").fill_null(0))
            .with_columns((pl.col("units") * HOURS_PER_UNIT).alias("hours"))
            .select("urn", "units", "hours", "bookings", "activities").sort("urn"))


def _bound_text(b: float) -> str:
    return f"{b:g}"


def unit_band_labels(bounds: Sequence[float]) -> list[str]:
    """Labels of the CPD-unit bands: [10, 20] -> ["<10", "10–20", ">20"] (see the module docstring)."""
    b = sorted(float(x) for x in bounds)
    if not b:
        raise ValueError("unit_bands needs at least one bound")
    if len(b) == 1:
        return [f"<{_bound_text(b[0])}", f"{_bound_text(b[0])} or more"]
    labels = [f"<{_bound_text(b[0])}"]
    for i in range(len(b) - 1):
        last = i == len(b) - 2
        labels.append(f"{_bound_text(b[i])}–{_bound_text(b[i + 1])}" if last
                      else f"{_bound_text(b[i])} to under {_bound_text(b[i + 1])}")
    labels.append(f">{_bound_text(b[-1])}")
    return labels


def unit_band_expr(col: str, bounds: Sequence[float]) -> tuple[pl.Expr, pl.Expr]:
    """(band label, band order) expressions for a units column."""
    b = sorted(float(x) for x in bounds)
    labels = unit_band_labels(b)
    u = pl.col(col)
    if len(b) == 1:
        order = pl.when(u < b[0]).then(0).otherwise(1)
    else:
        order = pl.when(u < b[0]).then(0)
        for i in range(len(b) - 1):
            upper_ok = (u <= b[i + 1]) if i == len(b) - 2 else (u < b[i + 1])
            order = order.when(upper_ok).then(i + 1)
        order = order.otherwise(len(b))
    order = pl.when(u.is_null()).then(None).otherwise(order).cast(pl.Int64)
    label = order.replace_strict(dict(enumerate(labels)), default=None, return_dtype=pl.Utf8)
    return label.alias("unit_band"), order.alias("band_order")


def school_outcomes(schools: pl.DataFrame, outcomes: pl.DataFrame, units: pl.DataFrame,
                    bounds: Sequence[float] = DEFAULT_UNIT_BANDS, *, allow_names: bool = False) -> pl.DataFrame:
    """One row per case school: case code, evidence, phase group, cohort, CPD units and band, outcomes."""
    has_ev = "evidence" in schools.columns
    per = outcomes.group_by("urn").agg(pl.len().cast(pl.Int64).alias("n_outcomes"))
    per_aud = (outcomes.group_by("urn", "audience").len().sort(["audience", "urn"])
               .pivot(on="audience", index="urn", values="len", sort_columns=True) if outcomes.height else None)
    keep = pl.col("evidence").is_not_null() if has_ev else pl.lit(False)
    case = schools.filter(keep | pl.col("urn").is_in(per["urn"].implode()))
    cols = ["urn"] + [c for c in ("case_code", "evidence", "phase", "cohort", "partnership") if c in schools.columns]
    out = (case.select(*cols, *_names(schools, allow_names))
           .join(units.select("urn", "units", "hours"), on="urn", how="left")
           .with_columns(pl.col("units").fill_null(0.0), pl.col("hours").fill_null(0.0))
           .join(per, on="urn", how="left").with_columns(pl.col("n_outcomes").fill_null(0)))
    for c in ("case_code", "evidence", "phase", "partnership"):
        if c not in out.columns:
            out = out.with_columns(pl.lit(None, dtype=pl.Utf8).alias(c))
    if "cohort" not in out.columns:
        out = out.with_columns(pl.lit(None, dtype=pl.Int64).alias("cohort"))
    band, order = unit_band_expr("units", bounds)
    out = out.with_columns(band, order, phase_group_expr("phase"))
    if per_aud is not None:
        out = out.join(per_aud.rename({c: f"n_{c}" for c in per_aud.columns if c != "urn"}), on="urn", how="left")
    return out.sort(["case_code", "urn"], nulls_last=True)


def outcomes_by_group(school_out: pl.DataFrame, bounds: Sequence[float] = DEFAULT_UNIT_BANDS) -> pl.DataFrame:
    """Case schools, outcomes and outcomes per school by CPD-unit band, phase group, cohort and evidence.

    Every band of the configuration is listed (zero schools where none fall in it).
    """
    parts = []

    def agg(by: str, grouping: str, order_expr: pl.Expr, label_expr: pl.Expr):
        g = (school_out.filter(pl.col(by).is_not_null())
             .group_by(by).agg(pl.len().cast(pl.Int64).alias("schools"),
                               pl.col("n_outcomes").sum().cast(pl.Int64).alias("outcomes"),
                               pl.col("units").sum().alias("units"))
             .with_columns(pl.lit(grouping).alias("grouping"), label_expr.alias("group"),
                           order_expr.cast(pl.Int64).alias("group_order")))
        parts.append(g.select("grouping", "group", "group_order", "schools", "outcomes", "units"))

    labels = unit_band_labels(bounds)
    bands = pl.DataFrame({"grouping": ["unit_band"] * len(labels), "group": labels,
                          "group_order": list(range(len(labels)))},
                         schema={"grouping": pl.Utf8, "group": pl.Utf8, "group_order": pl.Int64})
    b = (school_out.group_by("unit_band").agg(pl.len().cast(pl.Int64).alias("schools"),
                                              pl.col("n_outcomes").sum().cast(pl.Int64).alias("outcomes"),
                                              pl.col("units").sum().alias("units")))
    parts.append(bands.join(b.rename({"unit_band": "group"}), on="group", how="left")
                 .with_columns(pl.col("schools").fill_null(0), pl.col("outcomes").fill_null(0),
                               pl.col("units").fill_null(0.0))
                 .select("grouping", "group", "group_order", "schools", "outcomes", "units"))
    agg("phase_group", "phase", pl.col("phase_group").replace_strict({"primary": 0, "secondary": 1}, default=2),
        pl.col("phase_group").str.to_titlecase())
    agg("cohort", "cohort", pl.col("cohort"), pl.lit("Cohort ") + pl.col("cohort").cast(pl.Utf8))
    ev_order = {k: i for i, k in enumerate(EVIDENCE_LABEL)}
    agg("evidence", "evidence", pl.col("evidence").replace_strict(ev_order, default=len(ev_order)),
        pl.col("evidence").replace_strict(EVIDENCE_LABEL, default=None, return_dtype=pl.Utf8).fill_null(pl.col("evidence")))
    allrow = pl.DataFrame([{"grouping": "all", "group": "All case schools", "group_order": 0,
                            "schools": school_out.height, "outcomes": int(school_out["n_outcomes"].sum()),
                            "units": float(school_out["units"].sum())}],
                          schema={"grouping": pl.Utf8, "group": pl.Utf8, "group_order": pl.Int64, "schools": pl.Int64,
                                  "outcomes": pl.Int64, "units": pl.Float64})
    parts.append(allrow)
    gorder = {"all": 0, "unit_band": 1, "phase": 2, "cohort": 3, "evidence": 4}
    out = pl.concat(parts).with_columns(
        pl.when(pl.col("schools") > 0).then(pl.col("outcomes") / pl.col("schools")).otherwise(None)
        .alias("mean_outcomes"),
        pl.when(pl.col("schools") > 0).then(pl.col("units") / pl.col("schools")).otherwise(None).alias("mean_units"),
        pl.col("grouping").replace_strict(gorder, default=9).cast(pl.Int64).alias("grouping_order"))
    return out.sort(["grouping_order", "group_order"]).drop("grouping_order")


# =============================================================================================
# Monitoring
# =============================================================================================

def monitoring_table(mon: pl.DataFrame) -> pl.DataFrame:
    """Monitoring counts, one row per measure x category, one column per cohort x phase, and the total.

    Column ``c<cohort>_<phase>`` holds each count (null where the return has none: community events are
    per cohort, phase ``all``); ``total`` their sum.
    """
    if not mon.height:
        return pl.DataFrame(schema={"measure": pl.Utf8, "measure_label": pl.Utf8, "category": pl.Utf8,
                                    "order": pl.Int64, "total": pl.Int64})
    m = mon.with_columns((pl.lit("c") + pl.col("cohort").cast(pl.Utf8) + pl.lit("_") + pl.col("phase")).alias("col"))
    cols = m.select("cohort", "phase", "col").unique().sort(
        ["cohort", pl.col("phase").replace_strict({"primary": 0, "secondary": 1, "all": 2}, default=3)])["col"].to_list()
    # the contract's key makes each cell unique; combinations not returned stay null (not zero)
    wide = m.pivot(on="col", index=["measure", "category"], values="count", aggregate_function="first")
    for c in cols:
        if c not in wide.columns:
            wide = wide.with_columns(pl.lit(None, dtype=pl.Int64).alias(c))
    morder = {k: i for i, k in enumerate(MONITORING_MEASURES)}
    return (wide.with_columns(pl.sum_horizontal([pl.col(c) for c in cols]).cast(pl.Int64).alias("total"),
                              pl.col("measure").replace_strict(MONITORING_MEASURES, default=None,
                                                               return_dtype=pl.Utf8).alias("measure_label"),
                              pl.col("measure").replace_strict(morder, default=len(morder)).cast(pl.Int64)
                              .alias("_m"))
            .sort(["_m", "total", "category"], descending=[False, True, False])
            .with_columns(pl.int_range(pl.len()).cast(pl.Int64).alias("order"))
            .select("measure", "measure_label", "category", "order", *cols, "total"))


def monitoring_checks(mon: pl.DataFrame) -> list[dict]:
    """Internal checks of the monitoring return: specialisms add up to teachers in every cohort x phase."""
    out = []
    if not mon.height:
        return out
    t = mon.filter(pl.col("measure") == "teachers").group_by("cohort", "phase").agg(pl.col("count").sum().alias("teachers"))
    s = mon.filter(pl.col("measure") == "specialism").group_by("cohort", "phase").agg(pl.col("count").sum().alias("specialisms"))
    for r in t.join(s, on=["cohort", "phase"], how="inner").sort(["cohort", "phase"]).iter_rows(named=True):
        out.append({"check": "specialisms add up to teachers", "where": f"cohort {r['cohort']} {r['phase']}",
                    "expected": r["teachers"], "found": r["specialisms"], "ok": r["teachers"] == r["specialisms"]})
    return out


# =============================================================================================
# Data checks across the inputs
# =============================================================================================

def data_checks(schools: pl.DataFrame, ofsted: pl.DataFrame, maturity: pl.DataFrame, sa: pl.DataFrame,
                outcomes: pl.DataFrame, mon: pl.DataFrame) -> list[dict]:
    """Facts the chapter reports about the inputs' consistency (nothing is dropped here)."""
    checks = []
    listed = schools.select("urn")
    for name, df in (("Ofsted history", ofsted), ("maturity ratings", maturity), ("self-assessment", sa),
                     ("case outcomes", outcomes)):
        extra = df.select("urn").unique().join(listed, on="urn", how="anti").height if df.height else 0
        checks.append({"check": f"schools in the {name} that are not on the targeted list", "found": extra,
                       "ok": extra == 0})
    if "cohort" in schools.columns and schools.height:
        mixed = (schools.filter(pl.col("cohort").is_not_null()).group_by("partnership")
                 .agg(pl.col("cohort").n_unique().alias("k")).filter(pl.col("k") > 1).height)
        checks.append({"check": "partnerships whose schools are in more than one cohort", "found": mixed,
                       "ok": mixed == 0})
    for c in monitoring_checks(mon):
        checks.append({"check": f"{c['check']} ({c['where']})", "found": c["found"], "expected": c["expected"],
                       "ok": c["ok"]})
    return checks


# =============================================================================================
# All tables
# =============================================================================================

def targeted_tables(schools: pl.DataFrame, ofsted: pl.DataFrame, maturity: pl.DataFrame, sa: pl.DataFrame,
                    outcomes: pl.DataFrame, mon: pl.DataFrame, bookings: pl.DataFrame,
                    lineage: pl.DataFrame | None = None, *, codebook: Mapping[str, Any] | None = None,
                    min_days: int = DEFAULT_MIN_DAYS, unit_bands: Sequence[float] = DEFAULT_UNIT_BANDS,
                    allow_names: bool = False) -> dict[str, Any]:
    """Every table of the chapter from the ingested inputs (no I/O). Values are DataFrames, plus ``summary``."""
    cb = codebook or load_codebook()
    status = ofsted_status(schools, ofsted, min_days)
    act = active_schools(schools)
    st_act = status.join(act.select("urn"), on="urn", how="semi")
    units = cpd_units_by_school(schools, bookings, lineage)
    so = school_outcomes(schools, outcomes, units, unit_bands, allow_names=allow_names)
    t = {
        "ofsted_by_pre": ofsted_by_pre_rating(st_act),
        "ofsted_transitions": pl.concat([
            ofsted_transitions(st_act).with_columns(pl.lit("since_engagement").alias("scope")),
            ofsted_transitions(st_act, min_days).with_columns(pl.lit("min_days").alias("scope"))]),
        "ofsted_direction": pl.concat([ofsted_direction(st_act), ofsted_direction(st_act, min_days)]),
        "ofsted_funnel": ofsted_funnel(schools, status, min_days),
        "ofsted_cases": ofsted_cases(act, status, allow_names=allow_names),
        "sa_baseline": self_assessment_means(sa, "start"),
        "sa_change": self_assessment_change(sa),
        "maturity": maturity_change(maturity),
        "outcomes_type": outcomes_by_type(outcomes, cb),
        "outcomes_audience": outcomes_by_audience(outcomes, cb),
        "outcomes_domain": outcomes_by_domain(outcomes, cb),
        "outcomes_group": outcomes_by_group(so, unit_bands),
        "monitoring": monitoring_table(mon),
    }
    t["sa_ranks"] = criterion_ranks(t["sa_baseline"])
    cells = self_assessment_cell_counts(sa)
    pre = _pre_group(st_act)
    ri = pre.filter(pl.col("pre_rating").is_in([3, 4]))
    sa_start = sa.filter((pl.col("timepoint") == "start") & pl.col("score").is_not_null())
    sa_end = sa.filter((pl.col("timepoint") == "end") & pl.col("score").is_not_null())
    t["summary"] = {
        "settings": {"min_days_after_start": int(min_days), "unit_bands": [float(b) for b in unit_bands],
                     "unit_band_labels": unit_band_labels(unit_bands), "hours_per_unit": HOURS_PER_UNIT,
                     "codebook_version": cb["version"], "allow_names": bool(allow_names)},
        "schools": {"recruited": schools.height, "active": act.height,
                    "by_status": dict(sorted(Counter(schools["status"].fill_null("active").to_list()).items()))
                    if "status" in schools.columns else {"active": schools.height},
                    "partnerships": schools.select("partnership").n_unique() if schools.height else 0},
        "ofsted": {
            "active": st_act.height,
            "rated_before": int((st_act["pre_status"] == "rated").sum()),
            "new_school": int((st_act["pre_status"] == "new_school").sum()),
            "not_inspected_before": int((st_act["pre_status"] == "not_inspected").sum()),
            "inspected_since": int(st_act.filter(pl.col("pre_status") == "rated")["inspected_since"].sum()),
            "ri_or_inadequate": {"schools": ri.height, "inspected_since": int(ri["inspected_since"].sum()),
                                 "improved": int((ri["direction"] == "improved").sum())},
            "min_days": int(st_act["meets_min_days"].sum() if st_act.height else 0),
            "min_days_with_both": int(st_act.filter(pl.col("direction").is_not_null())["meets_min_days"].sum()),
            "just_below_rule": int(st_act.filter(pl.col("direction").is_not_null()
                                                 & (pl.col("days_after") == int(min_days) - 1)).height),
        },
        "self_assessment": {"schools_start": sa_start.select("urn").n_unique(),
                            "schools_end": sa_end.select("urn").n_unique(),
                            "schools_paired": int(cells.height),
                            "cells_paired": int(cells["cells"].sum()) if cells.height else 0,
                            "cells_start_3_or_4": int(cells["start_3_or_4"].sum()) if cells.height else 0,
                            "cells_end_1": int(cells["end_1"].sum()) if cells.height else 0},
        "maturity": {"schools": maturity.select("urn").n_unique() if maturity.height else 0,
                     "schools_no_end": int(t["maturity"].filter(pl.col("aspect") == "overall")["n_no_end"][0])},
        "outcomes": {"outcomes": outcomes.height, "case_schools": so.height,
                     "schools_with_outcomes": int((so["n_outcomes"] > 0).sum()) if so.height else 0,
                     "types_in_codebook": len(cb["outcome_types"]),
                     "types_observed": int((t["outcomes_type"]["n"] > 0).sum()),
                     "units_case_schools": float(so["units"].sum()) if so.height else 0.0},
        "checks": data_checks(schools, ofsted, maturity, sa, outcomes, mon),
    }
    return t
