"""Year on year (issue #19): this reporting year beside earlier runs' published results.

Known answers on hand-made runs (a planted survey change is flagged, a small one is not; a revision of last year's
reach is found; a grade-scale break blocks the attainment difference), the published tables' disclosure, the
config rules, and end to end: two consecutive synthetic years built with one command, the second year's trends
chapter matching the first year's derived tables."""

from __future__ import annotations

import html
import json
import math

import polars as pl
import pytest

from cpdeval import continuity as C
from cpdeval import continuity_publish as CP
from cpdeval.config import load_yaml, validate_config
from cpdeval.errors import ConfigError
from cpdeval.stats import wilson_interval

from conftest import ROOT, readme_commands, sh, as_written

T = 5


def _summary(items: dict[str, tuple[int, int]]) -> pl.DataFrame:
    """A survey item summary (all respondents) from item -> (positive, substantive)."""
    rows = []
    for i, (item, (k, n)) in enumerate(items.items()):
        lo, hi = wilson_interval(k, n)
        rows.append({"instrument": "participant_impact", "item_id": item, "item_text": item.title(), "item_order": i,
                     "subgroup": "all", "n_substantive": n, "n_positive": k, "pct_positive": 100 * k / n,
                     "pct_positive_lower": 100 * lo, "pct_positive_upper": 100 * hi})
    return pl.DataFrame(rows)


def _reach(rows: dict[str, dict[str, float]]) -> pl.DataFrame:
    return pl.DataFrame([{"financial_year": fy, **{m: float(v.get(m, 0)) for m in C.DELIVERY_METRICS}}
                         for fy, v in rows.items()])


def _comparisons(means: dict[str, tuple[float, float, float, int]], measure="pct_5em") -> pl.DataFrame:
    return pl.DataFrame([{"comparison": "providers_ks4", "key_stage": "ks4", "measure": measure, "stat": "level",
                          "group": g, "weighting": "schools", "n_schools": n, "mean": m, "ci_low": lo, "ci_high": hi}
                         for g, (m, lo, hi, n) in means.items()])


def _targets(year, rows: dict[str, tuple[float, float, bool | None]]) -> pl.DataFrame:
    return pl.DataFrame([{"financial_year": year, "scope": "national", "metric": m, "label": m.title(), "target": t,
                          "reached": r, "met": met} for m, (t, r, met) in rows.items()],
                        schema={"financial_year": pl.Utf8, "scope": pl.Utf8, "metric": pl.Utf8, "label": pl.Utf8,
                                "target": pl.Float64, "reached": pl.Float64, "met": pl.Boolean})


def _run(year, outcome, reach, items, means, measure="pct_5em", targets=None):
    return {"delivery_summary": {"reporting_year": year}, "reach": _reach(reach), "survey_summary": _summary(items),
            "attainment_summary": {"outcome_year": outcome}, "comparisons": _comparisons(means, measure),
            "targets": _targets(year, targets or {})}


LAST = _run("2017-18", "2017-18", {"2016-17": {"participants": 900}, "2017-18": {"participants": 1000, "schools": 200}},
            {"career": (60, 100), "confidence": (90, 100)}, {"none": (50.0, 46.0, 54.0, 40), "both": (60.0, 58.0, 62.0, 90)},
            targets={"participants": (950.0, 1000.0, True), "schools_priority": (10.0, 3.0, False)})
THIS = _run("2018-19", "2018-19", {"2017-18": {"participants": 1012, "schools": 200},
                                   "2018-19": {"participants": 1100, "schools": 230}},
            {"career": (80, 100), "confidence": (92, 100), "new_item": (5, 10)},
            {"none": (51.0, 47.0, 55.0, 38), "both": (66.0, 64.0, 68.0, 95)},
            targets={"participants": (1200.0, 1100.0, False), "schools_priority": (10.0, None, None)})


def test_newcombe_interval_known_answer():
    """Newcombe (1998), Table II, example (a): 56/70 - 48/80, method 10: 0.0524 to 0.3339."""
    (l1, h1), (l2, h2) = wilson_interval(56, 70), wilson_interval(48, 80)
    d, lo, hi = C.newcombe_difference(56 / 70, l1, h1, 48 / 80, l2, h2)
    assert d == pytest.approx(0.2) and lo == pytest.approx(0.0524, abs=5e-5) and hi == pytest.approx(0.3339, abs=5e-5)


def test_delivery_published_then_and_counted_now():
    d = C.delivery_year_on_year(THIS, [LAST])
    part = {(r["reporting_year"], r["metric"]): r for r in d.iter_rows(named=True)}
    last = part[("2017-18", "participants")]
    assert (last["published"], last["now"], last["revised"], last["current"]) == (1000, 1012, True, False)
    assert part[("2017-18", "schools")]["revised"] is False
    this = part[("2018-19", "participants")]
    assert (this["published"], this["now"], this["revised"], this["current"]) == (1100, 1100, False, True)
    # a year this run's data do not reach back to: nothing to compare with
    old = _run("2013-14", "2013-14", {"2013-14": {"participants": 700}}, {"career": (1, 2)}, {"none": (1, 0, 2, 9)})
    early = C.delivery_year_on_year(THIS, [old]).filter(pl.col("reporting_year") == "2013-14")
    assert early["now"].is_null().all() and early["revised"].is_null().all()


def test_a_planted_survey_change_is_flagged_and_a_small_one_is_not():
    trend, change = C.surveys_year_on_year(THIS, [LAST])
    assert trend.filter(pl.col("item_id") == "career")["reporting_year"].to_list() == ["2017-18", "2018-19"]
    by = {r["item_id"]: r for r in change.iter_rows(named=True)}
    assert set(by) == {"career", "confidence"}                     # the new item has no earlier year
    assert by["career"]["diff"] == pytest.approx(20.0) and by["career"]["changed"] is True
    assert by["career"]["diff_lower"] > 0
    assert by["confidence"]["diff"] == pytest.approx(2.0) and by["confidence"]["changed"] is False
    assert CP.survey_change_text(change).startswith("Of the 2 survey items asked in both 2017-18 and this year, "
                                                    "1 higher")


def test_attainment_levels_beside_last_years_with_a_normal_interval():
    a = C.attainment_year_on_year(THIS, [LAST], breaks={})
    both = a.filter(pl.col("group") == "both").row(0, named=True)
    se = math.hypot(4 / (2 * C.Z95), 4 / (2 * C.Z95))
    assert both["diff"] == pytest.approx(6.0) and both["diff_lower"] == pytest.approx(6 - C.Z95 * se)
    assert both["changed"] is True and both["not_comparable"] is None
    assert a.filter(pl.col("group") == "none")["changed"].to_list() == [False]


def test_attainment_across_the_2017_science_break_is_not_a_difference():
    """EBacc two sciences, outcome 2016-17 then 2017-18: the shipped map's 9-to-1 science grades break the series."""
    from cpdeval.attainment import settings

    breaks = settings(None, ["2016-17", "2017-18"])["breaks"]
    last = _run("2016-17", "2016-17", {"2016-17": {}}, {"career": (1, 2)}, {"none": (50.0, 46.0, 54.0, 40)},
                measure="pct_ebacc_2sci")
    this = _run("2017-18", "2017-18", {"2017-18": {}}, {"career": (1, 2)}, {"none": (40.0, 36.0, 44.0, 40)},
                measure="pct_ebacc_2sci")
    a = C.attainment_year_on_year(this, [last], breaks).row(0, named=True)
    assert a["diff"] is None and a["changed"] is None and "science GCSEs were first graded 9 to 1" in a["not_comparable"]
    assert (a["last_mean"], a["this_mean"]) == (50.0, 40.0)
    t = CP.publish_attainment(C.attainment_year_on_year(this, [last], breaks), {"none": "No CPD"},
                              {"pct_ebacc_2sci": "EBacc two sciences (% of pupils)"}, {}, threshold=T)
    assert t.data["Difference"].to_list() == ["b"] and t.data["Clear change?"].to_list() == ["b"]
    assert any(n.startswith("b: EBacc two sciences (% of pupils) cannot be compared between 2016-17 and 2017-18")
               for n in t.notes)


def test_published_tables_hide_small_counts_and_the_changes_built_on_them():
    small = _run("2018-19", "2018-19", {"2018-19": {"participants": 3, "schools": 40}},
                 {"career": (2, 3)}, {"none": (1.0, 0.0, 2.0, 3)})
    prev = _run("2017-18", "2017-18", {"2017-18": {"participants": 4, "schools": 41}}, {"career": (1, 3)},
                {"none": (1.0, 0.0, 2.0, 3)})
    t = CP.publish_delivery(C.delivery_year_on_year(small, [prev]), threshold=T)
    rows = {(m, y): (p, n, r) for m, y, p, n, r in t.data.rows()}
    assert rows[("Participants (all roles)", "2017-18")] == ("c", "x", "x")
    assert rows[("Schools", "2018-19 (this year)")] == ("40", "40", "as published")
    s = CP.publish_survey_change(C.surveys_year_on_year(small, [prev])[1], {}, threshold=T)
    assert set(s.data.row(0)[2:]) == {"c"}


def test_previous_years_rules():
    cfg = load_yaml(ROOT / "config" / "config.yaml")
    cfg["render"]["chapters"] = [*cfg["render"]["chapters"], "trends"]
    with pytest.raises(ConfigError, match="name their derived folders in previous_years"):
        validate_config(cfg, "test", ROOT)
    cfg["previous_years"] = ["data/derived/never-run"]
    validate_config(cfg, "test", ROOT)                               # a config may be written ahead of time
    from cpdeval.config import RunConfig

    with pytest.raises(ConfigError, match="never-run hold.s. no finished run"):
        RunConfig.from_dict(cfg, root=ROOT)
    with pytest.raises(ConfigError, match="is not the derived folder of a finished run"):
        C.previous_files(ROOT / "data" / "derived" / "never-run")


def test_new_year_links_last_years_run():
    from cpdeval.config import safe_yaml
    from cpdeval.newyear import next_year

    new = next_year((ROOT / "config" / "synthetic-2017-18.yaml").read_text(encoding="utf-8"), "2018-19", root=ROOT)
    cfg = safe_yaml(new.text)
    assert cfg["previous_years"] == ["data/derived/synthetic-2017-18"] and cfg["year"] == "synthetic-2018-19"
    assert cfg["render"]["chapters"][-1] == "trends"
    shipped = safe_yaml((ROOT / "config" / "synthetic-2018-19.yaml").read_text(encoding="utf-8"))
    assert {k: v for k, v in shipped.items()} == cfg                 # the shipped second year is exactly that
    again = safe_yaml(next_year(new.text, "2019-20", root=ROOT).text)
    assert again["previous_years"] == ["data/derived/synthetic-2017-18", "data/derived/synthetic-2018-19"]
    assert again["render"]["chapters"].count("trends") == 1


@pytest.mark.e2e
def test_two_consecutive_synthetic_years_in_one_command(tmp_path):
    """The README's command as written; the second year's trends chapter shows the first year's published reach,
    survey items and attainment levels as the first run's derived tables hold them."""
    from cpdeval.workspace import copy_project

    project = copy_project(tmp_path / "proj")
    command = next(c for c in readme_commands() if "cpdeval run-years" in c)
    done = sh(as_written(command), project)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    first, second = (project / "data" / "derived" / y for y in ("synthetic-2017-18", "synthetic-2018-19"))
    reach = pl.read_parquet(first / "delivery" / "reach.parquet").filter(pl.col("financial_year") == "2017-18")
    yoy = pl.read_parquet(second / "continuity" / "delivery.parquet").filter(pl.col("reporting_year") == "2017-18")
    for r in yoy.iter_rows(named=True):
        assert r["published"] == reach[r["metric"]][0], r["metric"]
    items = pl.read_parquet(first / "surveys" / "survey_item_summary.parquet").filter(pl.col("subgroup") == "all")
    change = pl.read_parquet(second / "continuity" / "survey_change.parquet")
    assert change.height > 20
    for r in change.head(10).iter_rows(named=True):
        then = items.filter((pl.col("instrument") == r["instrument"]) & (pl.col("item_id") == r["item_id"]))
        assert (r["last_n"], r["last_pct"]) == (then["n_substantive"][0], then["pct_positive"][0])
    att = pl.read_parquet(second / "continuity" / "attainment.parquet")
    levels = pl.read_parquet(first / "attainment" / "comparisons.parquet").filter(
        (pl.col("stat") == "level") & (pl.col("weighting") == "schools"))
    r = att.filter(pl.col("not_comparable").is_null()).row(0, named=True)
    then = levels.filter((pl.col("comparison") == r["comparison"]) & (pl.col("measure") == r["measure"])
                         & (pl.col("group") == r["group"]))
    assert r["last_mean"] == then["mean"][0]
    # EBacc two sciences, 2017-18 to 2018-19: both on the 9-4 basis, comparable; 5+ incl. English and maths too
    summary = json.loads((second / "continuity" / "summary.json").read_text())
    assert summary["previous_years"] == ["2017-18"] and summary["previous_outcome_year"] == "2017-18"
    trends = (project / "reports" / "synthetic-2018-19" / "trends.html").read_text(encoding="utf-8")
    published = f"{int(yoy.filter(pl.col('metric') == 'schools')['published'][0]):,}"
    assert "Reach in each reporting year" in trends and published in trends
    assert (project / "reports" / "synthetic-2018-19" / "report.html").exists()
    # the chapters of the second year set it beside the first, in words and tables; the first year's do not
    for chapter, table in (("delivery", "National targets this year and in earlier years"),
                           ("impact", "Survey items asked this year and last year"),
                           ("attainment", "levels this outcome year and in the earlier report")):
        assert table in (project / "reports" / "synthetic-2018-19" / f"{chapter}.html").read_text("utf-8"), chapter
        assert table not in (project / "reports" / "synthetic-2017-18" / f"{chapter}.html").read_text("utf-8")
    for chapter, words in (("delivery", "Last year’s report gave"), ("impact", "survey items asked in both 2017-18"),
                           ("attainment", "Against 2017-18,")):
        text = html.unescape((project / "reports" / "synthetic-2018-19" / f"{chapter}.html").read_text("utf-8"))
        assert words in text.replace("'", "’"), chapter
        earlier = (project / "reports" / "synthetic-2017-18" / f"{chapter}.html").read_text(encoding="utf-8")
        assert "trends.html" not in earlier, chapter


def test_the_chapters_words_about_last_year():
    d = C.delivery_year_on_year(THIS, [LAST])
    text = CP.delivery_pointer(d, threshold=T)
    assert text == (" Last year's report gave 1,000 participants and 200 schools for 2017-18; this year's booking "
                    "exports revise its participant count (the [Year on year chapter](trends.html) sets every "
                    "measure beside this year's).")
    small = d.with_columns(pl.when(pl.col("metric") == "schools").then(3.0).otherwise(pl.col("published"))
                           .alias("published"))
    assert "and fewer than 5 schools for 2017-18" in CP.delivery_pointer(small, threshold=T)
    assert CP.delivery_pointer(None, threshold=T) == "" and CP.attainment_pointer(None) == ""
    a = C.attainment_year_on_year(THIS, [LAST], breaks={})
    assert CP.attainment_pointer(a) == (" Against 2017-18, 1 of the 2 group levels that can be compared changed by "
                                        "more than chance; the [Year on year chapter](trends.html) lists them.")


def test_targets_as_each_year_published_them():
    t = C.targets_year_on_year(THIS, [LAST])
    assert t.select("metric", "reporting_year", "met").rows() == [
        ("participants", "2017-18", True), ("schools_priority", "2017-18", False),
        ("participants", "2018-19", False), ("schools_priority", "2018-19", None)]
    table = CP.publish_targets(t, threshold=T)
    assert table.data.rows() == [("Participants", "2017-18", "950", "1,000", "met"),
                                 ("Participants", "2018-19 (this year)", "1,200", "1,100", "not met"),
                                 ("Schools_Priority", "2017-18", "10", "c", "not met"),
                                 ("Schools_Priority", "2018-19 (this year)", "10", "x", "not available")]


def test_survey_trend_has_a_column_per_year():
    trend, _ = C.surveys_year_on_year(THIS, [LAST])
    t = CP.publish_survey_trend(trend, {"participant_impact": "Participant survey"}, threshold=T)
    assert t.headers == ["Survey", "Item", "% positive 2017-18", "% positive 2018-19"]
    rows = {r[1]: r[2:] for r in t.data.rows()}
    assert rows == {"Career": ("60%", "80%"), "Confidence": ("90%", "92%"), "New_Item": ("x", "50%")}
