"""The attainment chapter's tables (cpdeval.attainment_tables): known-answer tests on small hand-made tables.

Each function shapes one derived table into the table the chapter shows; these tests check the published
cells (headers, values, order), the notes, and that a count below the threshold is suppressed with every
statistic built on it."""

from __future__ import annotations

import math
from types import SimpleNamespace as NS

import polars as pl
import pytest

from cpdeval import attainment_tables as AT

T = 5
EB = "pct_ebacc_2sci"
EB_LABEL = "EBacc two sciences (% of pupils)"
P8 = "p8"
P8_LABEL = "Progress 8 (score)"


# --------------------------------------------------------------------------------------------- group counts

def _counts(rows):
    return pl.DataFrame(rows, schema={"phase": pl.String, "group": pl.String, "label": pl.String,
                                      "rule": pl.String, "n_schools": pl.Int64}, orient="row")


def test_group_counts_pivot_phases_fill_zero_and_suppress_small_counts():
    counts = _counts([("ks4", "users", "Users", "One or more courses", 57),
                      ("ks4", "none", "No programme CPD", "No courses", 3),
                      ("ks2", "users", "Users", "One or more courses", 1234),
                      ("ks2", "lead", "Partnership leads", "Led a partnership", 6)])
    t = AT.group_counts_table(counts, providers=["national", "regional"], window=["2016-17", "2017-18"],
                              threshold=T, )
    assert t.headers == ["Group", "Rule (use in the window)", "Secondary (KS4)", "Primary (KS2)"]
    assert t.data.rows() == [("Users", "One or more courses", "57", "1,234"),
                             ("No programme CPD", "No courses", "c", "0"),     # 3 < 5: suppressed; no KS2 row: 0
                             ("Partnership leads", "Led a partnership", "0", "6")]
    assert t.notes == ("Metrics count attended CPD from the programme's providers (national, regional) in the "
                       "financial years 2016-17, 2017-18. Courses: distinct activities; attendances: bookings "
                       "attended; staff: distinct participants; years: financial years with any attendance. "
                       "Quartiles are of users' attendances. The strategic score exists only for the schools "
                       "interviewed.",)


# --------------------------------------------------------------------------------------------- exclusions

def test_exclusions_drop_empty_reasons_label_phase_and_measure_and_suppress():
    ex = pl.DataFrame({"key_stage": ["ks4", "ks4", "ks2", "ks2"],
                       "academic_year": ["2017-18", "2017-18", "2018-19", "2018-19"],
                       "measure": [None, EB, "read_progress", P8],
                       "reason": ["independent school", "no result", "no result", "gap in the series"],
                       "n_schools": [22, 0, 2, 9]})
    t = AT.exclusions_table(ex, threshold=T)
    assert t.headers == ["Phase", "Year", "Measure", "Reason", "Schools"]
    assert t.data.rows() == [("Secondary (KS4)", "2017-18", "All measures", "independent school", "22"),
                             ("Primary (KS2)", "2018-19", "KS2 reading progress (score)", "no result", "c"),
                             ("Primary (KS2)", "2018-19", P8_LABEL, "gap in the series", "9")]
    assert t.notes == ("Reasons with no school are not listed. Independent schools are outside the evaluation in "
                       "every year.",)


# --------------------------------------------------------------------------------------------- estimates

def _est(rows):
    cols = ["measure", "method_key", "estimate", "ci_low", "ci_high", "n_treated", "n_control", "smd", "smd_ci_low",
            "smd_ci_high", "se_method", "p_placebo", "p_holm"]
    schema = {c: (pl.String if c in ("measure", "method_key", "se_method") else
                  pl.Int64 if c.startswith("n_") else pl.Float64) for c in cols}
    return pl.DataFrame(rows, schema=schema, orient="row")


CR = "cluster-robust by la_code"
WB = "wild cluster bootstrap (restricted)"
EST = _est([
    (EB, "naive_schools", 8.707, -0.724, 17.413, 86, 14, 0.563, -0.047, 1.126, WB, None, None),
    (EB, "regression", 0.5299, -3.8375, 5.0644, 86, 14, 0.0343, -0.2481, 0.3274, WB, None, 0.8),
    (EB, "psm", -3.278, -18.72, 12.17, 55, 3, -0.212, -1.21, 0.787, CR, None, 1.0),
    (EB, "did_twfe", 1.25, -1.0, 3.5, 80, 14, 0.08, -0.06, 0.23, WB, 0.4321, None),
    (EB, "did_etwfe", 1.5, -1.2, 4.2, 80, 14, 0.1, -0.08, 0.27, CR, 0.05, 0.0456),
])
BASE_NOTES = (
    "Percentages: differences in percentage points. Matching: the matched users and the distinct non-users used. "
    "Difference-in-differences: schools in the panel of 2014-15, 2015-16. An estimator that could not be fitted is "
    "left out.",
    "What each method estimates: the regression, an average of school-level effects weighted by how much use "
    "varies among similar schools; matching and weighting, the effect on the schools that used the programme; "
    "difference-in-differences, the effect on users after their first use (the extended TWFE without the "
    "weighting problems of TWFE when effects differ by cohort). Difference-in-differences (TWFE) was chosen as "
    "the headline before the results were seen; p (Holm) adjusts the p-values of every other adjusted estimate in "
    "the table together, for the number of tests.")


def test_estimates_cells_order_holm_status_and_suppression():
    t = AT.estimates_table(EST, headline="did_twfe", panel_years=["2014-15", "2015-16"], first_measure=EB,
                           threshold=T, unmatched_users={"psm": {"unmatched": 0, "users": 86}},
                           n_local_authorities=12)
    assert t.headers == ["Measure", "Method", "User schools", "Non-user schools", "Difference", "95% CI",
                         "Standardised", "95% CI (standardised)", "p (Holm)"]
    assert t.data.rows() == [
        (EB_LABEL, "Naive difference (mean of schools)", "86", "14", "8.71", "-0.72 to 17.41", "0.56",
         "-0.05 to 1.13", "z"),                                        # naive: outside the Holm family
        (EB_LABEL, "Regression with controls", "86", "14", "0.53", "-3.84 to 5.06", "0.03", "-0.25 to 0.33",
         "0.800"),
        # 3 non-users: the count and every statistic on it are suppressed
        (EB_LABEL, "Propensity-score matching (with replacement)", "55", "c", "c", "c", "c", "c", "c"),
        (EB_LABEL, "Difference-in-differences (TWFE)", "80", "14", "1.25", "-1.00 to 3.50", "0.08",
         "-0.06 to 0.23", "z"),                                        # the headline: outside the family too
        (EB_LABEL, "Difference-in-differences (extended TWFE)", "80", "14", "1.50", "-1.20 to 4.20", "0.10",
         "-0.08 to 0.27", "0.046")]
    # no users left unmatched (the note goes); two estimators bootstrapped; two placebo tests
    assert t.notes == BASE_NOTES + (
        "With 12 local authorities, too few for clustered errors alone, the intervals and p-values of naive "
        "difference (mean of schools), regression with controls and difference-in-differences (TWFE) come from a "
        "wild cluster bootstrap.",
        "With few users in the panel, difference-in-differences is also tested by placebo: "
        "difference-in-differences (TWFE) p = 0.432; difference-in-differences (extended TWFE) p = 0.050 (the share "
        "of schools given the users' start dates at random whose estimate is as large).")


def test_estimates_notes_unmatched_users_and_nothing_optional():
    est = EST.with_columns(se_method=pl.lit(CR), p_placebo=pl.lit(None, dtype=pl.Float64))
    t = AT.estimates_table(est, headline="did_twfe", panel_years=["2014-15", "2015-16"], first_measure=EB,
                           threshold=T, unmatched_users={"psm": {"unmatched": 3, "users": 86},
                                                         "psm_no_replacement": {"unmatched": 72, "users": 86}})
    assert t.notes == BASE_NOTES + (
        "Matching found no non-user close enough in propensity for fewer than 5 of 86 users (with replacement) and "
        "72 of 86 users (without replacement) on EBacc two sciences (% of pupils): matching estimates the effect "
        "on the matched users only.",)
    assert AT.estimates_table(est, headline="did_twfe", panel_years=["2014-15", "2015-16"], first_measure=EB,
                              threshold=T).notes == BASE_NOTES
    # another headline: its p (Holm) is not applicable, the TWFE's is shown
    t2 = AT.estimates_table(est, headline="regression", panel_years=["2014-15", "2015-16"], first_measure=EB,
                            threshold=T)
    assert t2.data["p (Holm)"].to_list() == ["z", "z", "c", "x", "0.046"]
    assert "Regression with controls was chosen as the headline" in t2.notes[1]


def test_bootstrapped_methods_in_order_once_each():
    assert AT.bootstrapped_methods(EST) == ["naive_schools", "regression", "did_twfe"]
    assert AT.bootstrapped_methods(pl.concat([EST, EST])) == ["naive_schools", "regression", "did_twfe"]
    assert AT.bootstrapped_methods(EST.clear()) == []


# --------------------------------------------------------------------------------------------- balance

def test_balance_labels_flags_and_smd():
    bal = pl.DataFrame({"covariate": ["ks2_aps", "pct_fsm", "region_x"], "smd_before": [0.68954, -0.523979, 0.05],
                        "smd_after": [0.21511, -0.0412, None], "imbalanced_before": [True, True, False],
                        "imbalanced_after": [True, False, False], "adjustment": ["ipw_att", "psm", "none"]})
    t = AT.balance_table(bal, threshold=T)
    assert t.headers == ["Adjustment", "Characteristic", "SMD before", "|SMD| > 0.1 before", "SMD after",
                         "|SMD| > 0.1 after"]
    assert t.data.rows() == [("Weighting", "Prior attainment (KS2 APS)", "0.69", "yes", "0.22", "yes"),
                             ("Matching", "% FSM", "-0.52", "yes", "-0.04", "no"),
                             ("No adjustment (model not fitted)", "region_x", "0.05", "no", "x", "no")]
    assert t.notes == ("SMD: difference in means divided by the pooled SD of the unadjusted sample, so before and "
                       "after are on one scale. Balance speaks to measured characteristics only.",)


# --------------------------------------------------------------------------------------------- dose-response

def test_dose_bands_labels_and_suppression_with_the_reference_band():
    dose = pl.DataFrame({
        "measure": [EB, EB, EB, P8, P8],
        "band": ["none", "att_q1", "att_q2", "none", "att_q1"],
        "n": [14, 23, 4, 3, 30],
        "mean": [55.0714, 54.4348, 65.3158, -0.1, 0.2],
        "estimate": [0.0, -0.202743, 0.399399, 0.0, 0.15],
        "ci_low": [None, -4.032897, -4.162629, None, 0.01],
        "ci_high": [None, 4.419357, 5.847024, None, 0.29],
        "smd": [0.0, -0.013106, 0.025819, 0.0, 0.3],
        "is_reference": [True, False, False, True, False],
        "equal_p": [0.698721, 0.698721, 0.698721, 0.0412, 0.0412]})
    t = AT.dose_table(dose, {"none": "No programme CPD", "att_q1": "Lowest quarter"}, outcome_year="2018-19",
                      min_schools=10, threshold=T)
    assert t.headers == ["Measure", "Band of use", "Schools", "2018-19 (mean, unadjusted)", "Adjusted difference",
                         "95% CI", "Standardised", "p: bands of use equal"]
    assert t.data.rows() == [
        (EB_LABEL, "No programme CPD", "14", "55.1", "z", "z", "z", "0.699"),   # the reference: no difference
        (EB_LABEL, "Lowest quarter", "23", "54.4", "-0.20", "-4.03 to 4.42", "-0.01", "0.699"),
        (EB_LABEL, "att_q2", "c", "c", "c", "c", "c", "c"),            # 4 schools: suppressed
        # a reference band of 3: its count and mean go, and so does every difference from it
        (P8_LABEL, "No programme CPD", "c", "c", "z", "z", "z", "c"),
        (P8_LABEL, "Lowest quarter", "30", "0.2", "c", "c", "c", "0.041")]
    assert t.notes[1] == ("A band of fewer than 10 schools gets no estimate (x): so few schools cannot support an "
                          "interval")
    assert t.notes[0].startswith("Bands: quartiles of attendances among users (as in the published comparison). "
                                 "The last column tests")


# --------------------------------------------------------------------------------------------- confounding

def test_confounding_not_possible_and_missing_interval():
    cf = pl.DataFrame({"method_key": ["did_etwfe"] * 4, "rr_eu": [1.1, 1.25, 1.5, 2.0],
                       "rr_ud_estimate": [math.inf, math.inf, 2.920845, 1.780697],
                       "rr_ud_ci": [38.378573, None, 1.361695, math.inf]})
    t = AT.confounding_table(cf, method="did_etwfe", first_measure=EB, threshold=T)
    assert t.headers == ["Confounder's risk ratio with use",
                         "Risk ratio with results needed to explain the estimate away",
                         "... to move the interval to include no effect"]
    assert t.data.rows() == [("1.10", "not possible", "38.38"), ("1.25", "not possible", "-"),
                             ("1.50", "2.92", "1.36"), ("2.00", "1.78", "not possible")]
    assert t.notes == ("Headline estimate: difference-in-differences (extended TWFE) for EBacc two sciences (% of "
                       "pupils), converted to a risk ratio from its standardised difference (RR = exp(0.91 d)). "
                       "\"Not possible\": no confounder that weakly linked with use could do it.",)
    assert AT.confounding_table(cf, method=None, first_measure=P8, threshold=T).notes[0].startswith(
        "Headline estimate: none for Progress 8 (score), converted")


# --------------------------------------------------------------------------------------------- level highlight

COMPARISON = {"id": "providers_ks4", "key_stage": "ks4", "groups": ["both", "national", "regional", "none"],
              "reference": "none", "measures": [EB, P8]}
LABELS = {"both": "Both", "national": "National only", "regional": "Regional only", "none": "No programme CPD"}


def _rows(levels):
    """Comparison rows: ``levels`` is group -> (mean of schools, schools) on the first measure; each row gets a
    pupil-weighted twin and a change row with other (higher) means, which the highlight must ignore."""
    rows = []
    for g, (mean, n) in levels.items():
        rows += [("providers_ks4", EB, "level", g, "schools", mean, n),
                 ("providers_ks4", EB, "level", g, "pupils", None if mean is None else mean + 50, n),
                 ("providers_ks4", EB, "change", g, "schools", 99.0, n),
                 ("providers_ks4", P8, "level", g, "schools", 98.0, n)]
    return pl.DataFrame(rows, schema={"comparison": pl.String, "measure": pl.String, "stat": pl.String,
                                      "group": pl.String, "weighting": pl.String, "mean": pl.Float64,
                                      "n_schools": pl.Int64}, orient="row")


def _shown(schools):
    """A stand-in for the published table: group label -> its "Schools" cell on the first measure."""
    return NS(data=pl.DataFrame({"Measure": [EB_LABEL] * len(schools) + [P8_LABEL],
                                 "Group": [*schools, "National only"], "Schools": [*schools.values(), "40"]}))


def test_level_highlight_reference_against_the_highest_shown_group():
    rows = _rows({"both": (60.0, 57), "national": (70.0, 6), "regional": (65.0, 27), "none": (55.0, 14)})
    table = _shown({"Both": "57", "National only": "6", "Regional only": "27", "No programme CPD": "14"})
    ref, hi = AT.level_highlight(rows, COMPARISON, LABELS, table)
    assert (ref["group"], ref["mean"], ref["n_schools"]) == ("none", 55.0, 14)
    assert (hi["group"], hi["mean"], hi["n_schools"]) == ("national", 70.0, 6)
    # the highest group's count is hidden in the table: the next highest shown group is quoted instead
    table = _shown({"Both": "57", "National only": "c", "Regional only": "27", "No programme CPD": "14"})
    assert AT.level_highlight(rows, COMPARISON, LABELS, table)[1]["group"] == "regional"


def test_level_highlight_none_when_the_reference_or_every_other_group_is_hidden_or_missing():
    rows = _rows({"both": (60.0, 57), "national": (70.0, 6), "regional": (None, 27), "none": (55.0, 3)})
    hidden_ref = _shown({"Both": "57", "National only": "6", "Regional only": "27", "No programme CPD": "c"})
    assert AT.level_highlight(rows, COMPARISON, LABELS, hidden_ref) is None
    only_ref = _shown({"Both": "c", "National only": "c", "Regional only": "27", "No programme CPD": "14"})
    assert AT.level_highlight(rows, COMPARISON, LABELS, only_ref) is None     # regional has no mean
    no_ref = rows.filter(pl.col("group") != "none")
    shown = _shown({"Both": "57", "National only": "6", "Regional only": "27", "No programme CPD": "14"})
    assert AT.level_highlight(no_ref, COMPARISON, LABELS, shown) is None


@pytest.mark.parametrize("fn", [AT.group_counts_table, AT.exclusions_table, AT.estimates_table, AT.balance_table,
                                AT.dose_table, AT.confounding_table])
def test_table_functions_take_a_keyword_threshold(fn):
    import inspect

    assert inspect.signature(fn).parameters["threshold"].kind is inspect.Parameter.KEYWORD_ONLY


def test_module_imports_no_plotting_models_or_numpy():
    """The chapter and the assembled report's key findings read these modules' labels and tables: they import
    no plotting, no models and no numpy (about 0.1 s a process, in the report job at the end of every run)."""
    import subprocess
    import sys

    code = ("import sys, cpdeval.attainment_tables, cpdeval.findings; "
            "print(sorted(m for m in ('matplotlib', 'statsmodels', 'numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_sensitivity_is_of_the_configured_headline_estimate():
    """The confounding table and figure are of the estimate the key findings quote (attainment.headline), not
    of whichever DiD the chapter happens to fit: a reader found the table's note naming the extended TWFE while
    the key findings quoted the TWFE."""
    from cpdeval.attainment import sensitivity
    from cpdeval.estimators import e_value

    fitted = {"measure": EB, "regression": NS(smd=0.05, smd_ci_low=0.01, smd_ci_high=0.09),
              "did_twfe": NS(smd=0.20, smd_ci_low=0.15, smd_ci_high=0.25),
              "did_etwfe": NS(smd=0.30, smd_ci_low=0.20, smd_ci_high=0.40)}
    evalues, conf, (method, ev) = sensitivity(fitted, headline="did_twfe")
    assert method == "did_twfe" and set(conf["method_key"]) == {"did_twfe"}
    assert ev.e_value == pytest.approx(e_value(0.20, 0.15, 0.25, scale="smd").e_value)
    assert evalues["method_key"].to_list() == ["regression", "did_etwfe", "did_twfe"]   # the headline's added
    # a headline that could not be made falls back to the extended TWFE, and the method says so
    assert sensitivity({k: v for k, v in fitted.items() if k != "did_twfe"}, headline="did_twfe")[2][0] == "did_etwfe"
    assert sensitivity(fitted, headline="regression")[2][0] == "regression"
    cf = conf.with_columns(pl.lit("did_etwfe").alias("method_key"))
    note = AT.confounding_table(cf, method="did_etwfe", headline="did_twfe", first_measure=EB, threshold=T).notes[0]
    assert note.startswith("Estimate shown: difference-in-differences (extended TWFE) for EBacc two sciences (% of "
                           "pupils) (the headline estimate, difference-in-differences (TWFE), could not be made), "
                           "converted to a risk ratio")


def test_group_sizes_do_not_give_away_a_hidden_group_by_difference():
    """At least one course = partnership lead schools + other users (a reader's review found 6,156 - 6,152 = 4
    giving back the c of primary lead schools): the sums within a comparison's groups are equations."""
    counts = pl.DataFrame({"phase": ["ks2"] * 4 + ["ks4"] * 4,
                           "group": ["any_course", "lead", "other", "none"] * 2,
                           "label": ["At least one course", "Lead schools", "Other users", "No CPD"] * 2,
                           "rule": ["r1", "r2", "r3", "r4"] * 2,
                           "n_schools": [20, 3, 17, 10, 40, 12, 28, 9]})
    alone = AT.group_counts_table(counts, providers=["national"], window=["2018-19"], threshold=T)
    assert [r[3] for r in alone.data.rows()] == ["20", "c", "17", "10"]            # 20 - 17 gives the 3
    t = AT.group_counts_table(counts, providers=["national"], window=["2018-19"], threshold=T,
                              comparisons=[["lead", "other", "none"]])
    assert [r[3] for r in t.data.rows()] == ["20", "c", "c", "10"]
    assert [r[2] for r in t.data.rows()] == ["40", "12", "28", "9"]                # nothing small in KS4
