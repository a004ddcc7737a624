"""Estimators of the effect of using the programme on school outcomes, on plain polars tables of schools.

Every estimator returns a frozen :class:`Estimate`: ``estimate``, ``std_error``, ``ci_low``, ``ci_high``,
``p_value``, ``n_treated``, ``n_control``, ``method``, ``se_method``, the effect in standardised units
(``smd`` = estimate / SD of the outcome among controls, with ``smd_ci_low``/``smd_ci_high``) and
estimator-specific ``diagnostics``. :func:`results_frame` stacks several into one table.

Cross-section (one row per school):

* :func:`naive_difference`: difference in means (school mean or pupil-weighted), Welch interval.
* :func:`regression_adjusted`: OLS with controls, cluster-robust errors (statsmodels).
* :func:`propensity_scores`, :func:`psm_match`, :func:`ipw`: propensity-score matching and weighting;
  :func:`balance_table` (standardised mean differences before/after), :func:`overlap_plot`.
* :func:`dose_response`: adjusted differences by intensity band against a reference band.

Panel (one row per school and year):

* :func:`did_panel`: difference-in-differences with school and year fixed effects (TWFE, or the
  heterogeneity-robust extended TWFE), errors clustered by school.
* :func:`event_study`, :func:`event_study_plot`: effects by year relative to first use, pre-trends.

Few clusters or few treated units: :func:`wild_cluster_bootstrap` (used by the regression and dose-response
below ``few_clusters`` clusters) and :func:`placebo_p_value` (``did_panel(..., placebo_draws=...)``).

Sensitivity: :func:`e_value`, :func:`e_value_from_estimate`, :func:`confounding_table`, :func:`sensitivity_plot`.

What each assumes and how its standard error is computed: ``docs/statistics.md``. statsmodels and scipy are
imported only when an estimator runs.
"""

from ._core import Estimate, results_frame
from .panel import EventStudy, did_panel, event_study, event_study_plot
from .propensity import PropensityScores, balance_table, ipw, overlap_plot, propensity_scores, psm_match
from .regression import DoseResponse, dose_response, naive_difference, regression_adjusted
from .small_sample import placebo_p_value, wild_cluster_bootstrap
from .sensitivity import EValue, bias_factor, confounding_table, e_value, e_value_from_estimate, sensitivity_plot

__all__ = [
    "Estimate", "results_frame",
    "naive_difference", "regression_adjusted", "dose_response", "DoseResponse",
    "PropensityScores", "propensity_scores", "psm_match", "ipw", "balance_table", "overlap_plot",
    "did_panel", "event_study", "EventStudy", "event_study_plot",
    "wild_cluster_bootstrap", "placebo_p_value",
    "EValue", "e_value", "e_value_from_estimate", "bias_factor", "confounding_table", "sensitivity_plot",
]
