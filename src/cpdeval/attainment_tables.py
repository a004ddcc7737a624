"""The published tables of the attainment chapter; the table of each comparison is shared with its figure.

One function shapes a comparison (levels with both weightings, the difference from the reference group, the
change over the window) into the table the chapter shows, with its disclosure structure: when the groups share
no school they add up to "All these schools", measure by measure, so secondary suppression protects any small
group. The figure of the comparison draws only the groups whose count the table shows, so a chart never gives
away a count the table hides.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

import polars as pl

from .attainment import KEY_STAGE_LABEL, MEASURE_LABEL
from .disclosure import count_text
from .display import count_in_words, fmt_count, fmt_number, in_sentence, join_words, p_in_text, sentence_start

ALL_LABEL = "All these schools"

#: The adjusted estimators (``method_key`` of the estimates table) -> their name in the tables.
METHOD_LABEL = {"naive_schools": "Naive difference (mean of schools)",
                "naive_pupils": "Naive difference (pupil-weighted)",
                "regression": "Regression with controls", "psm": "Propensity-score matching (with replacement)",
                "psm_no_replacement": "Propensity-score matching (without replacement)",
                "ipw_att": "Inverse probability weighting", "did_twfe": "Difference-in-differences (TWFE)",
                "did_etwfe": "Difference-in-differences (extended TWFE)"}
#: The characteristics of the balance table.
COVARIATE_LABEL = {"ks2_aps": "Prior attainment (KS2 APS)", "pct_fsm": "% FSM", "log_pupils": "Size (log pupils)",
                   "urban": "Urban", "good_ofsted": "Ofsted good or outstanding"}
#: The adjustments of the balance table.
ADJUSTMENT_LABEL = {"ipw_att": "Weighting", "psm": "Matching", "none": "No adjustment (model not fitted)"}


def groups_disjoint(membership: pl.DataFrame, comparison: Mapping[str, Any]) -> bool:
    """Whether a comparison's groups share no school (then they add up to all these schools)."""
    m = membership.filter((pl.col("key_stage") == comparison["key_stage"])
                          & pl.col("group").is_in(list(comparison["groups"])))
    return not m["school_key"].is_duplicated().any()


def comparison_table(rows: pl.DataFrame, comparison: Mapping[str, Any], labels: Mapping[str, str],
                     membership: pl.DataFrame, *, outcome_year: str, base_year: str, window: Sequence[str],
                     threshold: int, source_text: str, record: bool = True):
    """The published table of one comparison (``rows``: its rows of the comparisons table)."""
    from .tables import ColumnSum, publish_table

    c = comparison
    wide = None
    for stat in ("level", "change"):
        for w in ("schools", "pupils"):
            part = (rows.filter((pl.col("stat") == stat) & (pl.col("weighting") == w))
                    .select("measure", "group",
                            *([pl.col("n_schools").alias(f"n_{stat}")] if w == "schools" else []),
                            *([pl.col("diff").alias(f"diff_{stat}"), pl.col("diff_ci_low").alias(f"diff_{stat}_lo"),
                               pl.col("diff_ci_high").alias(f"diff_{stat}_hi")] if w == "schools" else []),
                            pl.col("mean").alias(f"{stat}_{w}"), pl.col("ci_low").alias(f"{stat}_{w}_lo"),
                            pl.col("ci_high").alias(f"{stat}_{w}_hi")))
            wide = part if wide is None else wide.join(part, on=["measure", "group"], how="left")
    ref_n = wide.filter(pl.col("group") == c["reference"]).select("measure", pl.col("n_level").alias("ref_n"))
    order = {g: i for i, g in enumerate([*c["groups"], "all"])}
    morder = {m: i for i, m in enumerate(c["measures"])}
    wide = (wide.join(ref_n, on="measure", how="left")
            .with_columns(n_diff=pl.min_horizontal("n_level", "ref_n"),
                          label=pl.col("group").replace_strict({**labels, "all": ALL_LABEL}, default=pl.col("group")),
                          mlab=pl.col("measure").replace_strict(MEASURE_LABEL, default=pl.col("measure")),
                          o=pl.col("group").replace_strict(order, default=99, return_dtype=pl.Int64),
                          mo=pl.col("measure").replace_strict(morder, default=99, return_dtype=pl.Int64))
            .sort("mo", "o"))
    oy, base = outcome_year, base_year
    reference = in_sentence(labels.get(c["reference"], c["reference"]))
    cols = {"mlab": {"kind": "label", "header": "Measure"},
            "label": {"kind": "label", "header": "Group"},
            "n_level": {"kind": "count", "header": "Schools"},
            "level_schools": {"kind": "number", "decimals": 1, "base": "n_level", "header": f"{oy} (mean of schools)"},
            "level_schools_ci": {"kind": "ci", "lower": "level_schools_lo", "upper": "level_schools_hi",
                                 "base": "n_level", "decimals": 1, "header": "95% CI"},
            "level_pupils": {"kind": "number", "decimals": 1, "base": "n_level", "header": f"{oy} (pupil-weighted)"},
            # (numerator: a difference is suppressed with its group's count, or it would give the mean away)
            "diff_level": {"kind": "number", "decimals": 1, "base": "n_diff", "numerator": "n_level",
                           "header": f"Difference from {reference}"},
            "diff_level_ci": {"kind": "ci", "lower": "diff_level_lo", "upper": "diff_level_hi", "base": "n_diff",
                              "numerator": "n_level", "decimals": 1, "header": "95% CI of difference"},
            "n_change": {"kind": "count", "header": f"Schools with every year {base} to {oy}"},
            "change_schools": {"kind": "number", "decimals": 1, "base": "n_change",
                               "header": f"Change since {base} (mean of schools)"},
            "change_schools_ci": {"kind": "ci", "lower": "change_schools_lo", "upper": "change_schools_hi",
                                  "base": "n_change", "decimals": 1, "header": "95% CI of change"},
            "change_pupils": {"kind": "number", "decimals": 1, "base": "n_change",
                              "header": f"Change since {base} (pupil-weighted)"}}
    # the reference group has no difference from itself, nor the row of all schools: not applicable, not missing
    wide = wide.with_columns(pl.when(pl.col("group").is_in([c["reference"], "all"])).then(pl.lit("z"))
                             .otherwise(pl.lit("ok")).alias("ref_status"))
    for k in ("diff_level", "diff_level_ci"):
        cols[k]["status"] = "ref_status"
    # a measure with a break in comparability between the two years has no change: "b", and a note says why
    breaks = change_breaks(rows)
    wide = wide.with_columns(pl.when(pl.col("measure").is_in(list(breaks))).then(pl.lit("b")).otherwise(pl.lit("ok"))
                             .alias("change_status"))
    for k in ("n_change", "change_schools", "change_schools_ci", "change_pupils"):
        cols[k]["status"] = "change_status"
    sums = ([ColumnSum("label", ALL_LABEL, within="mlab", columns=("n_level", "n_change"))]
            if groups_disjoint(membership, c) else [])
    return publish_table(wide, columns=cols, threshold=threshold, sums=sums, record=record, notes=[
        f"{sentence_start(KEY_STAGE_LABEL[c['key_stage']])} schools; groups from use of the programme in the "
        f"financial years {', '.join(window)}"
        + ("; a school can be in more than one group" if not sums else "; each school is in one group")
        + ". Percentages in % of pupils, differences and changes in percentage points; scores in points. "
        f"Change: {oy} minus {base}, schools with the measure in every year between. Plain averages, as "
        f"published: no adjustment for differences between schools. The comparison follows {source_text}.",
        *(break_note(m, why, base, oy) for m, why in breaks.items())])


def change_breaks(rows: pl.DataFrame) -> dict[str, str]:
    """Measure -> why its change is not computed (a break in comparability in the window), from rows of the
    comparisons table; empty when every measure's change is comparable."""
    if "not_comparable" not in rows.columns:
        return {}
    b = rows.filter(pl.col("not_comparable").is_not_null()).unique("measure", keep="first", maintain_order=True)
    return dict(zip(b["measure"], b["not_comparable"]))


def break_note(measure: str, why: str, base_year: str, outcome_year: str) -> str:
    """The note under a table (or the sentence in a chapter) that says why a measure's change is not shown."""
    return (f"b: {measure_name(measure)} cannot be compared between {base_year} and {outcome_year}, so no change "
            f"is computed: {why}.")


def shown_groups(table, measure_label: str) -> dict[str, str]:
    """Group label -> the "Schools" cell the published table shows for one measure ("c" where hidden)."""
    d = table.data
    return {g: n for m, g, n in zip(d["Measure"], d["Group"], d["Schools"]) if m == measure_label}


def level_highlight(rows: pl.DataFrame, comparison: Mapping[str, Any], labels: Mapping[str, str], table):
    """The rows the chapter quotes of one comparison: the reference group's level on the first measure and the
    highest other group's, as ``(reference, highest)`` rows of the comparisons table (mean of schools); None
    when either is missing or its count is hidden in ``table`` (the comparison's published table), so that
    the text never gives away a count the table hides."""
    c = comparison
    m = c["measures"][0]

    def level(group):
        r = rows.filter((pl.col("measure") == m) & (pl.col("stat") == "level") & (pl.col("group") == group)
                        & (pl.col("weighting") == "schools"))
        return r.row(0, named=True) if r.height else None

    t = table.data
    shown = {(a, b) for a, b, n in zip(t["Measure"], t["Group"], t["Schools"]) if n != "c"}

    def ok(o):
        return bool(o) and (MEASURE_LABEL.get(m, m), labels.get(o["group"], o["group"])) in shown \
            and o["mean"] is not None

    ref = level(c["reference"])
    others = [o for o in (level(g) for g in c["groups"] if g != c["reference"]) if ok(o)]
    if not ok(ref) or not others:
        return None
    return ref, max(others, key=lambda o: o["mean"])


def group_identities(gc: pl.DataFrame, comparisons: Sequence[Sequence[str]], columns: Sequence[str] = ("ks4", "ks2")):
    """Equations a reader can use between the group sizes: in each phase column, a group whose size is the sum
    of some groups of one comparison (at least one course = partnership lead schools + other users; no
    programme CPD = no attendances), as :class:`~cpdeval.tables.CellSum` on the ``group`` column.

    Found by the sizes themselves, so every true identity among a comparison's groups is found; a sum that
    matches by chance only hides a cell more than needed."""
    from itertools import combinations

    from .tables import CellSum

    ids = gc["group"].to_list()
    sums = []
    for col in columns:
        n = dict(zip(ids, gc[col].to_list()))
        seen = set()
        for groups in comparisons:
            members = [g for g in dict.fromkeys(groups) if g in n and n[g]]
            for k in range(1, len(members) + 1):
                for parts in combinations(members, k):
                    total = sum(n[g] for g in parts)
                    for g in ids:
                        key = (g, frozenset(parts))
                        if g not in parts and n[g] == total and key not in seen:
                            seen.add(key)
                            sums.append(CellSum("group", (g, col), tuple((p, col) for p in parts)))
    return sums


def group_counts_table(counts: pl.DataFrame, *, providers: Sequence[str], window: Sequence[str], threshold: int,
                       comparisons: Sequence[Sequence[str]] = ()):
    """The user groups with their rule and number of schools by phase (``counts``: the group counts table, one
    row per group and phase; a group with no school in a phase counts zero). ``comparisons`` (each a list of
    group ids) give the sums a reader can form (:func:`group_identities`): a group hidden in one is not left
    the difference of two that are shown."""
    from .tables import publish_table

    gc = (counts.pivot(on="phase", index=["group", "label", "rule"], values="n_schools")
          .with_columns(pl.col("ks4", "ks2").fill_null(0)))
    return publish_table(gc, sums=group_identities(gc, comparisons), columns={
        "label": {"kind": "label", "header": "Group"},
        "rule": {"kind": "label", "header": "Rule (use in the window)"},
        "ks4": {"kind": "count", "header": "Secondary (KS4)"},
        "ks2": {"kind": "count", "header": "Primary (KS2)"},
    }, threshold=threshold, notes=["Metrics count attended CPD from the programme's providers "
                                   f"({', '.join(providers)}) in the financial years {', '.join(window)}. Courses: "
                                   "distinct activities; attendances: bookings attended; staff: distinct "
                                   "participants; years: financial years with any attendance. Quartiles are of "
                                   "users' attendances. The strategic score exists only for the schools "
                                   "interviewed."])


def exclusions_table(exclusions: pl.DataFrame, *, threshold: int):
    """The schools left out of the comparisons, by phase, year, measure and reason (reasons with no school
    are not listed; a row with no measure is about all measures)."""
    from .tables import publish_table

    ex = exclusions.filter(pl.col("n_schools") > 0).with_columns(
        ks=pl.col("key_stage").replace_strict(KEY_STAGE_LABEL, default=pl.col("key_stage")).map_elements(
            sentence_start, return_dtype=pl.Utf8),
        mlab=pl.col("measure").replace_strict(MEASURE_LABEL, default="All measures"))
    return publish_table(ex, columns={
        "ks": {"kind": "label", "header": "Phase"},
        "academic_year": {"kind": "label", "header": "Year"},
        "mlab": {"kind": "label", "header": "Measure"},
        "reason": {"kind": "label", "header": "Reason"},
        "n_schools": {"kind": "count", "header": "Schools"},
    }, threshold=threshold, notes=["Reasons with no school are not listed. Independent schools are outside the "
                                   "evaluation in every year."])


def bootstrapped_methods(est: pl.DataFrame) -> list[str]:
    """The estimators whose errors came from a wild cluster bootstrap (their ``se_method`` says so)."""
    if not est.height:
        return []
    return (est.filter(pl.col("se_method").str.contains("wild cluster bootstrap"))["method_key"]
            .unique(maintain_order=True).to_list())


def estimates_table(est: pl.DataFrame, *, headline: str, panel_years: Sequence[str], first_measure: str,
                    threshold: int, unmatched_users: Mapping[str, Mapping[str, int]] | None = None,
                    n_local_authorities: int = 0):
    """The naive and adjusted differences between users and non-users (``est``: the estimates table).

    The headline estimate and the naive differences are outside the family whose p-values Holm adjusts, so
    their "p (Holm)" is not applicable. The notes name the users matching left out (``unmatched_users``, from
    the run's summary: method -> users, unmatched), the estimators whose errors were bootstrapped with so few
    (``n_local_authorities``) local authorities, and the placebo tests of difference-in-differences."""
    from .tables import publish_table

    def n_text(n):
        return count_text(n, threshold, count_in_words)

    def method(k):
        return in_sentence(METHOD_LABEL.get(k, k))

    unmatched = {k: u for k, u in (unmatched_users or {}).items() if u["unmatched"] > 0}
    bootstrapped = bootstrapped_methods(est)
    e = (est.with_columns(label=pl.col("method_key").replace_strict(METHOD_LABEL, default=pl.col("method_key")),
                          measure_label=pl.col("measure").replace_strict(MEASURE_LABEL, default=pl.col("measure")),
                          n_all=pl.col("n_treated") + pl.col("n_control")))
    e = e.with_columns(holm_status=pl.when(pl.col("method_key").str.starts_with("naive")
                                           | (pl.col("method_key") == headline))
                       .then(pl.lit("z")).otherwise(pl.lit("ok")))
    notes = ["Percentages: differences in percentage points. Matching: the matched users and the distinct "
             "non-users used. Difference-in-differences: schools in the panel of "
             f"{', '.join(panel_years)}. An estimator that could not be fitted is left out.",
             "What each method estimates: the regression, an average of school-level effects weighted by how much "
             "use varies among similar schools; matching and weighting, the effect on the schools that used the "
             "programme; difference-in-differences, the effect on users after their first use (the extended TWFE "
             "without the weighting problems of TWFE when effects differ by "
             f"cohort). {sentence_start(method(headline))} was chosen as the headline before the results were "
             "seen; p (Holm) adjusts the p-values of every other adjusted estimate in the table together, for the "
             "number of tests."]
    if unmatched:
        m0 = MEASURE_LABEL.get(first_measure, first_measure)
        notes.append("Matching found no non-user close enough in propensity for "
                     + " and ".join(f"{n_text(u['unmatched'])} of {n_text(u['users'])} users "
                                    f"({'with' if k == 'psm' else 'without'} replacement)"
                                    for k, u in unmatched.items())
                     + f" on {in_sentence(m0)}: matching estimates the effect on the matched users only.")
    if bootstrapped:
        notes.append(f"With {fmt_count(n_local_authorities)} local authorities, too few for clustered errors alone, "
                     f"the intervals and p-values of {join_words([method(k) for k in bootstrapped])} come from a "
                     "wild cluster bootstrap.")
    if e["p_placebo"].drop_nulls().len():
        notes.append("With few users in the panel, difference-in-differences is also tested by placebo: "
                     + "; ".join(f"{in_sentence(METHOD_LABEL[k])} {p_in_text(p)}"
                                 for k, p in zip(e["method_key"], e["p_placebo"]) if p is not None)
                     + " (the share of schools given the users' start dates at random whose estimate is as large).")
    return publish_table(e, columns={
        "measure_label": {"kind": "label", "header": "Measure"},
        "label": {"kind": "label", "header": "Method"},
        "n_treated": {"kind": "count", "header": "User schools"},
        "n_control": {"kind": "count", "header": "Non-user schools"},
        "estimate": {"kind": "number", "decimals": 2, "base": "n_control", "header": "Difference"},
        "ci": {"kind": "ci", "lower": "ci_low", "upper": "ci_high", "base": "n_control", "decimals": 2,
               "header": "95% CI"},
        "smd": {"kind": "number", "decimals": 2, "base": "n_control", "header": "Standardised"},
        "smd_ci": {"kind": "ci", "lower": "smd_ci_low", "upper": "smd_ci_high", "base": "n_control", "decimals": 2,
                   "header": "95% CI (standardised)"},
        "p_holm": {"kind": "number", "decimals": 3, "base": "n_control", "header": "p (Holm)", "p_value": True,
                   "status": "holm_status"},
    }, threshold=threshold, notes=notes)


def balance_table(bal: pl.DataFrame, *, threshold: int):
    """Standardised mean differences of each characteristic before and after each adjustment (``bal``: the
    balance table), with an absolute SMD above 0.1 flagged."""
    from .tables import publish_table

    b = bal.with_columns(cov=pl.col("covariate").replace_strict(COVARIATE_LABEL, default=pl.col("covariate")),
                         adj=pl.col("adjustment").replace_strict(ADJUSTMENT_LABEL, default=pl.col("adjustment")),
                         flag_before=pl.when(pl.col("imbalanced_before")).then(pl.lit("yes")).otherwise(pl.lit("no")),
                         flag_after=pl.when(pl.col("imbalanced_after")).then(pl.lit("yes")).otherwise(pl.lit("no")))
    return publish_table(b, columns={
        "adj": {"kind": "label", "header": "Adjustment"},
        "cov": {"kind": "label", "header": "Characteristic"},
        "smd_before": {"kind": "number", "decimals": 2, "header": "SMD before"},
        "flag_before": {"kind": "label", "header": "|SMD| > 0.1 before"},
        "smd_after": {"kind": "number", "decimals": 2, "header": "SMD after"},
        "flag_after": {"kind": "label", "header": "|SMD| > 0.1 after"},
    }, threshold=threshold, notes=["SMD: difference in means divided by the pooled SD of the unadjusted sample, "
                                   "so before and after are on one scale. Balance speaks to measured "
                                   "characteristics only."])


def dose_table(dose: pl.DataFrame, labels: Mapping[str, str], *, outcome_year: str, min_schools: int,
               threshold: int):
    """Adjusted differences by band of use against the reference band (``dose``: the dose-response table).
    A difference is suppressed with the smaller of its band's and the reference band's counts."""
    from .tables import publish_table

    dd = dose.with_columns(label=pl.col("band").replace_strict(labels, default=pl.col("band")),
                           mlab=pl.col("measure").replace_strict(MEASURE_LABEL, default=pl.col("measure")),
                           ref_n=pl.col("n").filter(pl.col("is_reference")).first().over("measure"))
    dd = dd.with_columns(n_diff=pl.min_horizontal("n", "ref_n"),
                         ref_status=pl.when(pl.col("is_reference")).then(pl.lit("z")).otherwise(pl.lit("ok")))
    return publish_table(dd, columns={
        "mlab": {"kind": "label", "header": "Measure"},
        "label": {"kind": "label", "header": "Band of use"},
        "n": {"kind": "count", "header": "Schools"},
        "mean": {"kind": "number", "decimals": 1, "base": "n", "header": f"{outcome_year} (mean, unadjusted)"},
        "estimate": {"kind": "number", "decimals": 2, "base": "n_diff", "header": "Adjusted difference",
                     "status": "ref_status"},
        "ci": {"kind": "ci", "lower": "ci_low", "upper": "ci_high", "base": "n_diff", "decimals": 2,
               "header": "95% CI", "status": "ref_status"},
        "smd": {"kind": "number", "decimals": 2, "base": "n_diff", "header": "Standardised", "status": "ref_status"},
        "equal_p": {"kind": "number", "decimals": 3, "base": "n", "header": "p: bands of use equal", "p_value": True},
    }, threshold=threshold, notes=["Bands: quartiles of attendances among users (as in the published comparison). "
                                   "The last column tests whether the bands of use differ from each other (Wald "
                                   "test), i.e. whether the amount of CPD matters beyond any use. z: the band every "
                                   "other is compared with.",
                                   f"A band of fewer than {min_schools} schools gets no estimate (x): so few "
                                   "schools cannot support an interval"])


def confounding_table(confounding: pl.DataFrame, *, method: str | None, first_measure: str, threshold: int,
                      headline: str | None = None):
    """The strength of an unmeasured confounder needed to explain the headline estimate (of ``method``, on
    ``first_measure``) away, or to move its interval to include no effect (``confounding``: the curve). Given the
    configured ``headline`` and a ``method`` that is not it (the headline could not be made), the note says so."""
    from .tables import publish_table

    def txt(v):
        return fmt_number(v, 2)

    what, instead = "Headline estimate:", ""
    if headline and method and method != headline:
        what = "Estimate shown:"
        instead = (f" (the headline estimate, {in_sentence(METHOD_LABEL.get(headline, headline))}, could not be "
                   "made)")
    cf = confounding.with_columns(
        est_txt=pl.when(pl.col("rr_ud_estimate").is_infinite()).then(pl.lit("not possible"))
        .otherwise(pl.col("rr_ud_estimate").map_elements(txt, return_dtype=pl.Utf8)),
        ci_txt=pl.when(pl.col("rr_ud_ci").is_null()).then(pl.lit("-"))
        .when(pl.col("rr_ud_ci").is_infinite()).then(pl.lit("not possible"))
        .otherwise(pl.col("rr_ud_ci").map_elements(txt, return_dtype=pl.Utf8)))
    return publish_table(cf, columns={
        "rr_eu": {"kind": "number", "decimals": 2, "header": "Confounder's risk ratio with use"},
        "est_txt": {"kind": "label", "header": "Risk ratio with results needed to explain the estimate away"},
        "ci_txt": {"kind": "label", "header": "... to move the interval to include no effect"},
    }, threshold=threshold, notes=[f"{what} {in_sentence(METHOD_LABEL.get(method, 'none'))} "
                                   f"for {in_sentence(MEASURE_LABEL.get(first_measure, first_measure))}"
                                   f"{instead}, "
                                   "converted to a risk ratio from its standardised difference (RR = exp(0.91 d)). "
                                   "\"Not possible\": no confounder that weakly linked with use could do it."])


def year_before(academic_year: str) -> str:
    """The academic year before ``academic_year`` ("2018-19" -> "2017-18")."""
    from .calendar import label_start, year_label

    return year_label(label_start(academic_year) - 1)


def breaks_text(change_breaks: Mapping[str, Mapping[str, str]], base_year: str, outcome_year: str) -> str:
    """The chapter's sentences (each starting with a space) on the measures whose change over the window is not
    computed because of a break in comparability (``change_breaks``: key stage -> measure -> why)."""
    out = [f" {sentence_start(measure_name(m))} cannot be compared between {base_year} and {outcome_year}: {why}. "
           "The tables show no change for it (b) and the figures leave its change out."
           for by_measure in change_breaks.values() for m, why in by_measure.items()]
    return "".join(out)


def measure_name(measure: str) -> str:
    """A measure's name inside a sentence, without its unit ("EBacc two sciences", "Attainment 8")."""
    return in_sentence(re.sub(r"\s*\([^)]*\)$", "", MEASURE_LABEL.get(measure, measure)))


def panel_breaks_text(panel_breaks: Mapping[str, str], panel_years: Sequence[str], outcome_year: str) -> str:
    """The limitation on breaks in comparability within the panel years of the adjusted estimates, as a list
    item (``panel_breaks``: measure -> why)."""
    first = min(panel_years) if panel_years else outcome_year
    if not panel_breaks:
        return (f"- **Changes in measures.** None of the measures of the adjusted estimates changed definition or "
                f"grade scale between {first} and {outcome_year}.")
    named = "; ".join(f"{measure_name(m)}: {why}" for m, why in panel_breaks.items())
    return (f"- **Changes in measures.** The panel of the adjusted estimates runs from {first} to {outcome_year}, "
            f"across breaks in comparability ({named}). The year effects of the difference-in-differences absorb a change that moves every "
            "school alike, but not one that moves some schools more than others (a new grade boundary falls "
            "differently in high- and low-attaining schools), so those estimates are less secure than the "
            "single-year comparisons.")
