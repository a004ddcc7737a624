"""Tests of cpdeval.attainment: known answers for the user groups and the descriptive comparison on hand-built
tables, and the chapter's estimates on the small synthetic year (from the shared workflow run)."""

from __future__ import annotations

import json
import math

import polars as pl
import pytest
from scipy import stats

from cpdeval.attainment import compare_groups, consistent_series, series_exclusions, settings, user_groups, window_financial_years
from cpdeval.config import load_yaml
from cpdeval.errors import ConfigError


def test_window_is_the_financial_years_ending_before_the_exams():
    assert window_financial_years("2018-19", 3) == ["2016-17", "2017-18", "2018-19"]
    assert window_financial_years("2015-16", 1) == ["2015-16"]
    s = settings(None, ["2016-17", "2018-19", "2017-18"])
    assert s["outcome_year"] == "2018-19" and s["window_years"] == 3
    assert s["measures"] == ["pct_ebacc_2sci", "pct_5em", "sci_va"]
    assert s["providers"] == ["national", "regional"] and s["comparisons"] == []


def test_the_shipped_groups_file_parses_and_names_the_source_figures():
    from cpdeval.citations import cite

    s = settings(None, ["2018-19"], load_yaml("config/attainment_groups.yaml"))
    sources = {c["source"] for c in s["comparisons"]}
    assert {f"stem_network_2015_16, Figure {n}" for n in (5, 9, 11)} <= sources
    assert {f"science_network_impact, Figure {n}" for n in (8, 9, 10, 11, 12, 14)} <= sources
    assert cite("stem_network_2015_16, Figure 5") == "the 2015-16 evaluation of the regional programme (Figure 5)"
    assert s["top_quartile"]["group"] == "att_q4" and s["dose_response"]["reference"] == "none"


@pytest.mark.parametrize("defs, message", [
    ({"groups": {"a": {"where": {"courses": {"min": 1}}}},
      "comparisons": [{"id": "x", "key_stage": "ks4", "groups": ["a", "b"], "reference": "a",
                       "measures": ["pct_5em"]}]}, "['b'] not defined"),
    ({"groups": {"a": {"where": {"courses": {"min": 1}}}, "b": {"where": {"courses": {"max": 0}}}},
      "comparisons": [{"id": "x", "key_stage": "ks3", "groups": ["a", "b"], "reference": "a",
                       "measures": ["pct_5em"]}]}, "key_stage"),
    ({"groups": {"a": {"where": {"courses": {"min": 1}}}, "b": {"where": {"courses": {"max": 0}}}},
      "comparisons": [{"id": "x", "key_stage": "ks4", "groups": ["a", "b"], "reference": "c",
                       "measures": ["pct_5em"]}]}, "reference"),
    ({"groups": {"a": {"where": {"courses": {"min": 1}}}, "b": {"where": {"courses": {"max": 0}}}},
      "comparisons": [{"id": "x", "key_stage": "ks4", "groups": ["a", "b"], "reference": "a",
                       "measures": ["pct_5emm"]}]}, "measures"),
])
def test_bad_comparisons_stop_with_the_key(defs, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        settings(None, ["2018-19"], defs)


def _sy(rows):
    df = pl.DataFrame(rows, schema=["school_key", "financial_year", "units_national", "units_regional", "units_other"],
                      orient="row")
    return df.with_columns(units=pl.col("units_national") + pl.col("units_regional") + pl.col("units_other"))


def test_user_groups_known_answer():
    sy = _sy([
        (101, "2017-18", 2.0, 0.0, 0.0), (101, "2018-19", 0.0, 3.0, 0.0),   # both, 5 units
        (102, "2016-17", 4.0, 0.0, 0.0),                                     # national only, 4
        (103, "2018-19", 0.0, 1.0, 0.0),                                     # regional only, 1
        (104, "2015-16", 6.0, 0.0, 0.0),                                     # used before the window only: none
        (106, "2017-18", 0.0, 0.0, 2.0),                                     # other providers only: none
        (107, "2016-17", 0.0, 8.0, 0.0), (107, "2019-20", 2.0, 0.0, 0.0),   # regional only in the window, 8
        (108, "2018-19", 3.0, 0.0, 0.0),                                     # national only, 3
    ])
    g = user_groups(sy, [101, 102, 103, 104, 105, 106, 107, 108], "2018-19", 3)
    got = {r["school_key"]: r for r in g.iter_rows(named=True)}
    assert {k: v["group"] for k, v in got.items()} == {
        101: "both", 102: "national_only", 103: "regional_only", 104: "none", 105: "none", 106: "none",
        107: "regional_only", 108: "national_only"}
    assert got[107]["units_window"] == 8.0 and got[105]["units_window"] == 0.0
    assert got[104]["first_use_fy"] == "2015-16" and got[104]["treated_from"] == 2016
    assert got[107]["treated_from"] == 2017 and got[105]["treated_from"] is None
    assert g["user"].sum() == 5
    # counting the other providers too makes school 106 (other providers only) a user
    g3 = user_groups(sy, [101, 102, 103, 104, 105, 106, 107, 108], "2018-19", 3, ["national", "regional", "other"])
    assert sorted(g3.filter(pl.col("user"))["school_key"].to_list()) == [101, 102, 103, 106, 107, 108]


def test_descriptive_comparison_known_answer():
    panel = pl.DataFrame({                                     # 2017 rows make the 2016-2018 series consistent
        "school_key": [1, 2, 3, 4, 1, 2, 3, 5, 1, 2, 3],
        "year": [2018, 2018, 2018, 2018, 2016, 2016, 2016, 2018, 2017, 2017, 2017],
        "pupils": [100.0, 300.0, 200.0, 200.0, 90.0, 280.0, 210.0, None, 1.0, 1.0, 1.0],
        "pct_ebacc_2sci": [60.0, 70.0, 50.0, 40.0, 58.0, 66.0, 52.0, 99.0, 0.0, 0.0, 0.0],
    })
    groups = pl.DataFrame({"school_key": [1, 2, 3, 4, 5], "group": ["both", "both", "none", "none", "none"]})
    d = compare_groups(panel, groups, "2018-19", 3, ["pct_ebacc_2sci"])

    def cell(stat, group, weighting):
        r = d.filter((pl.col("stat") == stat) & (pl.col("group") == group) & (pl.col("weighting") == weighting))
        assert r.height == 1
        return r.row(0, named=True)

    b = cell("level", "both", "schools")
    assert (b["n_schools"], b["n_pupils"], b["mean"]) == (2, 400, pytest.approx(65.0))
    half = stats.t.ppf(0.975, 1) * 5.0                        # sd 7.071 / sqrt(2) = 5
    assert b["ci_low"] == pytest.approx(65 - half) and b["ci_high"] == pytest.approx(65 + half)
    assert b["diff"] == pytest.approx(20.0)                   # 65 - 45
    assert cell("level", "both", "pupils")["mean"] == pytest.approx(67.5)      # (6000 + 21000) / 400
    n = cell("level", "none", "schools")                       # school 5 has no pupils: left out
    assert (n["n_schools"], n["mean"], n["diff"]) == (2, pytest.approx(45.0), None)
    assert cell("level", "all", "schools")["mean"] == pytest.approx(55.0)
    c = cell("change", "both", "schools")                      # 60-58, 70-66
    assert (c["n_schools"], c["mean"]) == (2, pytest.approx(3.0))
    assert cell("change", "both", "pupils")["mean"] == pytest.approx((2 * 100 + 4 * 300) / 400)
    cn = cell("change", "none", "schools")                     # only school 3 has both years: 50 - 52
    assert (cn["n_schools"], cn["mean"], cn["ci_low"]) == (1, pytest.approx(-2.0), None)
    assert set(d["group"]) == {"both", "national_only", "regional_only", "none", "all"}
    empty = cell("level", "national_only", "schools")
    assert empty["n_schools"] == 0 and empty["mean"] is None


def _realised(truth: dict) -> float:
    re_ = truth["realised_effect"]["ks4"]["pct_ebacc_2sci"]
    items = [v for v in re_.values() if v["n_treated_school_rows"]]
    return sum(v["n_treated_school_rows"] * v["mean_written_minus_counterfactual"] for v in items) / \
        sum(v["n_treated_school_rows"] for v in items)


def test_synthetic_year_naive_exceeds_did_and_did_covers_the_realised_effect(synthetic_run):
    """On the small synthetic year (about 100 KS4 schools, some 15 non-users) the naive gap is inflated by
    selection; the panel DiD interval covers the mean realised effect over treated school-years. The
    cross-section adjusted estimators have wide intervals here and are only checked for being present."""
    derived = synthetic_run / "data" / "derived" / "synthetic" / "attainment"
    truth = json.loads((synthetic_run / "data" / "raw" / "synthetic" / "truth.json").read_text())
    est = pl.read_parquet(derived / "estimates.parquet").filter(pl.col("measure") == "pct_ebacc_2sci")
    by = {r["method_key"]: r for r in est.iter_rows(named=True)}
    assert {"naive_schools", "naive_pupils", "regression", "did_twfe", "did_etwfe"} <= set(by)
    effect = _realised(truth)
    for key in ("did_twfe", "did_etwfe"):
        assert by["naive_schools"]["estimate"] > by[key]["estimate"], (key, by[key])
        assert by[key]["ci_low"] <= effect <= by[key]["ci_high"], (key, effect, by[key])
    summary = json.loads((derived / "summary.json").read_text())
    assert summary["window_financial_years"] == ["2016-17", "2017-18", "2018-19"]
    # the sensitivity analysis is of the estimate the key findings quote
    assert summary["sensitivity_method"] == summary["headline"] == "did_twfe"
    for fig in ("event_study", "overlap", "dose_response", "sensitivity", "top_quartile"):
        assert (derived / "figures" / f"{fig}.png.json").exists()
    html = (synthetic_run / "reports" / "synthetic" / "attainment.html").read_text()
    assert "beyond the published method" in html and math.isfinite(effect)


def test_synthetic_year_reproduces_every_configured_comparison(synthetic_run):
    """Every comparison of the groups file has its rows, its figure and its section in the chapter; the group
    counts add up within each partition; the dose-response and the sensitivity table are filled."""
    derived = synthetic_run / "data" / "derived" / "synthetic" / "attainment"
    summary = json.loads((derived / "summary.json").read_text())
    cmp = pl.read_parquet(derived / "comparisons.parquet")
    for c in summary["comparisons"]:
        rows = cmp.filter(pl.col("comparison") == c["id"])
        assert set(rows["group"]) == {*c["groups"], "all"}, c["id"]
        assert set(rows["measure"]) <= set(c["measures"]) and rows.height, c["id"]
        assert (derived / "figures" / f"{c['id']}.png.json").exists()
    counts = pl.read_parquet(derived / "group_counts.parquet")
    for phase in ("ks4", "ks2"):
        n = dict(counts.filter(pl.col("phase") == phase).select("group", "n_schools").iter_rows())
        users = n["any_course"]
        assert n["both"] + n["national_only"] + n["regional_only"] == users
        assert n["att_q1"] + n["att_q2"] + n["att_q3"] + n["att_q4"] == users
        assert n["partnership_lead"] + n["other_users_not_lead"] == users
        assert n["cpd_and_resources"] + n["cpd_only"] == users
        assert sum(n[f"att_{b}"] for b in ("1_9", "10_24", "25_49", "50_99", "100_up")) == users
        assert n["four_regular"] <= n["four_courses"] <= users and n["none"] + users == n["att_0"] + users
    dose = pl.read_parquet(derived / "dose_response.parquet")
    assert dose.filter(pl.col("is_reference"))["band"].unique().to_list() == ["none"]
    assert pl.read_parquet(derived / "confounding.parquet").height == 8
    html = (synthetic_run / "reports" / "synthetic" / "attainment.html").read_text()
    for sec in ("sec-leads", "sec-trained", "sec-primary", "sec-resources", "sec-bands", "sec-quartiles",
                "sec-secondary", "sec-top", "sec-strategic", "sec-dose", "sec-sensitivity"):
        assert f'id="{sec}"' in html, sec
    assert html.count("<img") >= len(summary["comparisons"]) + 5


def test_nested_groups_count_a_school_in_each_and_once_in_all():
    panel = pl.DataFrame({"school_key": [1, 2, 3, 4], "year": [2018] * 4, "pupils": [100.0] * 4,
                          "pct_5em": [70.0, 60.0, 80.0, 50.0]})
    # school 3 is in both nested groups; school 4 is the reference
    mem = pl.DataFrame({"school_key": [1, 2, 3, 3, 4], "group": ["any", "any", "any", "four", "none"]})
    d = compare_groups(panel, mem, "2018-19", 3, ["pct_5em"], order=["none", "any", "four"], reference="none")
    lv = d.filter((pl.col("stat") == "level") & (pl.col("weighting") == "schools"))
    got = {r["group"]: (r["n_schools"], r["mean"], r["diff"]) for r in lv.iter_rows(named=True)}
    assert got["any"] == (3, pytest.approx(70.0), None)         # the reference has one school: no difference
    assert got["four"] == (1, pytest.approx(80.0), None)
    assert got["all"] == (4, pytest.approx(65.0), None)          # school 3 once
    assert got["none"] == (1, pytest.approx(50.0), None)
    mem2 = pl.concat([mem, pl.DataFrame({"school_key": [2], "group": ["none"]})])
    d2 = compare_groups(panel, mem2, "2018-19", 3, ["pct_5em"], order=["none", "any"], reference="none")
    r = d2.filter((pl.col("stat") == "level") & (pl.col("weighting") == "schools") & (pl.col("group") == "any"))
    assert r["diff"][0] == pytest.approx(70.0 - 55.0)          # [70, 60, 80] against [60, 50]


def test_change_needs_a_consistent_series_over_the_window():
    """School 1 has every year; school 2 misses the middle year; school 3 misses the base year; school 4 has no
    outcome: only school 1 enters the change, as in seed 001's consistent-series rule."""
    panel = pl.DataFrame({"school_key": [1, 1, 1, 2, 2, 3, 3, 4],
                          "year": [2016, 2017, 2018, 2016, 2018, 2017, 2018, 2016],
                          "pupils": [10.0] * 8, "sci_va": [0.0, 0.5, 0.3, 0.1, 0.4, 0.2, 0.6, 0.1]})
    assert consistent_series(panel, "sci_va", 2016, 2018).to_list() == [1]
    mem = pl.DataFrame({"school_key": [1, 2, 3, 4], "group": ["a", "a", "a", "a"]})
    d = compare_groups(panel, mem, "2018-19", 3, ["sci_va"], order=["a"], reference="a")
    chg = d.filter((pl.col("stat") == "change") & (pl.col("group") == "a") & (pl.col("weighting") == "schools"))
    assert (chg["n_schools"][0], chg["mean"][0]) == (1, pytest.approx(0.3))
    rows = {r["reason"].split(":")[0]: r["n_schools"] for r in series_exclusions(panel, "2018-19", 3, ["sci_va"], "ks4")}
    assert rows == {"no result in 2018-19 (suppressed, not published or not applicable)": 0,
                    "no pupil count in the outcome year": 0,
                    "a year from 2016-17 to 2018-19 without a result": 2}   # in words: no measure codes
