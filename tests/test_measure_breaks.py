"""Breaks in comparability (issue #19): the measure map records when a measure changed scale, point scores,
definition or framework, and no change is computed across such a break: the comparisons table marks it, the
published table shows ``b`` with a note, the exclusions say why, and the chapter's words follow.

Known answers on hand-made panels and maps; the 2017-18 EBacc science break is taken from the shipped map."""

from __future__ import annotations

import polars as pl
import pytest

from cpdeval import attainment_tables as AT
from cpdeval.attainment import compare_groups, series_exclusions, settings
from cpdeval.display import BREAK
from cpdeval.errors import InputError
from cpdeval.ingest.performance import breaks_within, load_measure_map, measure_breaks
from cpdeval.tables import ColumnSum, publish_table

T = 3


def _panel(measure="pct_ebacc_2sci"):
    """Six schools with results 2016-17 to 2018-19 (start years 2016..2018); three used the programme."""
    rows = []
    for k in range(1, 7):
        for year, v in ((2016, 50.0 + k), (2017, 52.0 + k), (2018, 55.0 + 2 * k)):
            rows.append({"school_key": k, "year": year, "pupils": 100.0, measure: v})
    return pl.DataFrame(rows)


MEMBERSHIP = pl.DataFrame({"school_key": [1, 2, 3, 4, 5, 6],
                           "group": ["users", "users", "users", "none", "none", "none"]})


def _write_map(tmp_path, measure_block: str, no_results: str = "") -> str:
    p = tmp_path / "measures.yaml"
    p.write_text("version: 1\nks4:\n  id_columns: {urn: URN, la: LEA, estab: ESTAB, rectype: RECTYPE}\n"
                 "  school_rectypes: [1]\n" + no_results + "  measures:\n" + measure_block, encoding="utf-8")
    return str(p)


# --------------------------------------------------------------------------- the measure map

def test_shipped_map_marks_the_grade_scale_breaks():
    mm = load_measure_map()
    eb = measure_breaks(mm, "ks4", "pct_ebacc_2sci")
    assert "9 to 1" in eb["2017-18"] and "2016-17" not in eb
    assert "9 to 1" in measure_breaks(mm, "ks4", "pct_5em")["2016-17"]
    assert "point scores" in measure_breaks(mm, "ks4", "att8")["2016-17"]
    # the years without results (cancelled exams) break every series, the relative measures included
    for ks, m in (("ks4", "sci_va"), ("ks4", "p8"), ("ks2", "read_progress")):
        b = measure_breaks(mm, ks, m)
        assert {"2019-20", "2020-21"} <= set(b) and "cancelled" in b["2019-20"]


def test_every_basis_change_of_the_shipped_map_is_a_break():
    mm = load_measure_map()
    for ks in ("ks4", "ks2"):
        for name, m in mm[ks]["measures"].items():
            years = sorted(m["basis"])
            for a, b in zip(years, years[1:]):
                if m["basis"][a] != m["basis"][b]:
                    assert breaks_within(m["breaks"], a, b), (ks, name, a, b)


def test_a_basis_change_without_a_break_is_refused(tmp_path):
    path = _write_map(tmp_path, "    pct_x:\n      columns: {2016-17: A, 2017-18: B}\n"
                                "      basis: {2016-17: \"A*-C\", 2017-18: \"9-4\"}\n")
    with pytest.raises(InputError) as e:
        load_measure_map(path)
    msg = str(e.value)
    assert "pct_x" in msg and "A*-C in 2016-17 to 9-4 in 2017-18" in msg and "breaks" in msg


@pytest.mark.parametrize("block, problem", [
    ("      breaks: {2017/18: new scale}\n", "is not written like 2016-17"),
    ("      breaks: {2017-18: \"\"}\n", "needs a reason"),
    ("      breaks: [2017-18]\n", "mapping of year -> reason"),
])
def test_malformed_breaks_name_the_measure(tmp_path, block, problem):
    path = _write_map(tmp_path, "    pct_x:\n      columns: {2016-17: A, 2017-18: B}\n" + block)
    with pytest.raises(InputError, match=problem) as e:
        load_measure_map(path)
    assert "pct_x" in str(e.value)


def test_breaks_within_takes_breaks_after_the_first_year_up_to_the_last():
    b = {"2016-17": "a", "2017-18": "b", "2019-20": "none"}
    assert breaks_within(b, "2016-17", "2018-19") == {"2017-18": "b"}      # a 2016-17 break precedes the base
    assert breaks_within(b, "2015-16", "2016-17") == {"2016-17": "a"}
    assert breaks_within(b, "2017-18", "2018-19") == {}
    assert breaks_within(b, "2018-19", "2021-22") == {"2019-20": "none"}
    assert breaks_within(b, "2018-19", "2016-17") == {"2017-18": "b"}      # either order


def test_map_no_results_are_breaks_of_every_measure(tmp_path):
    path = _write_map(tmp_path, "    pct_x:\n      columns: {2018-19: A, 2021-22: A}\n"
                                "      breaks: {2021-22: new grading}\n",
                      no_results="  no_results: {2019-20: exams cancelled, 2020-21: exams cancelled}\n")
    assert measure_breaks(load_measure_map(path), "ks4", "pct_x") == {
        "2019-20": "exams cancelled", "2020-21": "exams cancelled", "2021-22": "new grading"}


# --------------------------------------------------------------------------- the comparison

def test_change_across_the_2017_grade_scale_break_is_marked_not_computed():
    """The shipped map's EBacc science break (9 to 1 grades from 2017-18) lies inside the 2016-17 to 2018-19
    window: the change is not a plain difference of the two years but a marked gap; the level is unaffected."""
    breaks = settings(None, ["2016-17", "2017-18", "2018-19"])["breaks"]["ks4"]
    panel = _panel()
    d = compare_groups(panel, MEMBERSHIP, "2018-19", 3, ["pct_ebacc_2sci"], order=["users", "none"],
                       reference="none", breaks=breaks)
    change = d.filter(pl.col("stat") == "change")
    assert change.height == 6                                             # 3 groups x 2 weightings
    assert change["mean"].is_null().all() and change["diff"].is_null().all()
    assert (change["n_schools"] == 0).all()
    assert change["not_comparable"].str.contains("in 2017-18 science GCSEs were first graded 9 to 1").all()
    level = d.filter(pl.col("stat") == "level")
    assert level["not_comparable"].is_null().all()
    users = level.filter((pl.col("group") == "users") & (pl.col("weighting") == "schools")).row(0, named=True)
    assert users["mean"] == pytest.approx(55.0 + 2 * 2) and users["n_schools"] == 3

    # the same panel without the break: the plain difference (2018 minus 2016 = 5 + k), as before
    plain = compare_groups(panel, MEMBERSHIP, "2018-19", 3, ["pct_ebacc_2sci"], order=["users", "none"],
                           reference="none")
    u = plain.filter((pl.col("stat") == "change") & (pl.col("group") == "users")
                     & (pl.col("weighting") == "schools")).row(0, named=True)
    assert u["mean"] == pytest.approx(5.0 + 2.0) and u["not_comparable"] is None


def test_a_window_after_the_break_is_computed():
    """Outcome 2018-19 with a two-year window: base 2017-18, both on the 9-4 basis, so the change is computed."""
    breaks = settings(None, ["2017-18", "2018-19"])["breaks"]["ks4"]
    d = compare_groups(_panel(), MEMBERSHIP, "2018-19", 2, ["pct_ebacc_2sci"], order=["users", "none"],
                       reference="none", breaks=breaks)
    c = d.filter((pl.col("stat") == "change") & (pl.col("group") == "users") & (pl.col("weighting") == "schools"))
    assert c["mean"][0] == pytest.approx(3.0 + 2.0) and c["not_comparable"][0] is None   # (55+2k) - (52+k)


def test_exclusions_say_why_no_school_has_a_change():
    breaks = {"pct_ebacc_2sci": {"2017-18": "science GCSEs graded 9 to 1"}}
    rows = series_exclusions(_panel(), "2018-19", 3, ["pct_ebacc_2sci"], "ks4", breaks)
    why = [r for r in rows if "cannot be compared" in r["reason"]]
    assert len(why) == 1 and why[0]["n_schools"] == 6
    assert "between 2016-17 and 2018-19: in 2017-18 science GCSEs graded 9 to 1" in why[0]["reason"]
    assert not any("no consistent series" in r["reason"] for r in rows)


def test_published_table_shows_b_and_says_why():
    breaks = {"pct_ebacc_2sci": {"2017-18": "science GCSEs graded 9 to 1"}}
    comparison = {"id": "c", "key_stage": "ks4", "groups": ["users", "none"], "reference": "none",
                  "measures": ["pct_ebacc_2sci", "sci_va"]}
    panel = _panel().join(_panel("sci_va").select("school_key", "year", "sci_va"), on=["school_key", "year"])
    rows = compare_groups(panel, MEMBERSHIP, "2018-19", 3, comparison["measures"], order=["users", "none"],
                          reference="none", breaks=breaks)
    t = AT.comparison_table(rows, comparison, {"users": "Users", "none": "Non-users"},
                            MEMBERSHIP.with_columns(key_stage=pl.lit("ks4")), outcome_year="2018-19",
                            base_year="2016-17", window=["2016-17", "2017-18", "2018-19"], threshold=T,
                            source_text="a report", record=False)
    data = t.data
    eb = [i for i, m in enumerate(data["Measure"]) if m.startswith("EBacc")]
    va = [i for i, m in enumerate(data["Measure"]) if m.startswith("Science")]
    change_cols = [h for h in data.columns if h.startswith("Change") or "of change" in h or h.startswith("Schools with")]
    assert len(change_cols) == 4
    for h in change_cols:
        assert all(data[h][i] == BREAK for i in eb), h
        assert all(data[h][i] != BREAK for i in va), h                    # sci_va has no break in the map given
    assert all(data["Schools"][i] not in (BREAK, "x") for i in eb)         # the level is published as usual
    assert any(n.startswith("b: EBacc two sciences cannot be compared between 2016-17 and 2018-19") for n in t.notes)
    assert AT.change_breaks(rows) == {"pct_ebacc_2sci": "in 2017-18 science GCSEs graded 9 to 1"}


def test_a_break_cell_counts_nothing_in_a_sum():
    """A count shown as b is not a number a reader can subtract: it must not protect, or be protected, like one."""
    df = pl.DataFrame({"g": ["a", "b", "All"], "n": [5, 2, 7], "st": ["ok", "b", "ok"]})
    t = publish_table(df, columns={"g": {"kind": "label"}, "n": {"kind": "count", "status": "st"}}, threshold=T,
                      sums=[ColumnSum("g", "All")], record=False)
    assert t.data["n"].to_list() == ["5", BREAK, "7"]


def test_chapter_words_for_breaks():
    assert AT.breaks_text({"ks4": {}}, "2016-17", "2018-19") == ""
    s = AT.breaks_text({"ks4": {"att8": "in 2016-17 new point scores"}}, "2015-16", "2017-18")
    assert s == (" Attainment 8 cannot be compared between 2015-16 and 2017-18: in 2016-17 new point scores. "
                 "The tables show no change for it (b) and the figures leave its change out.")
    none = AT.panel_breaks_text({}, ["2017-18", "2018-19"], "2018-19")
    assert "None of the measures" in none and "2017-18 and 2018-19" in none
    some = AT.panel_breaks_text({"pct_5em": "in 2016-17 English and maths GCSEs graded 9 to 1"},
                                ["2014-15", "2018-19"], "2018-19")
    assert "from 2014-15 to 2018-19" in some and "5+ good GCSEs incl. English and maths: in 2016-17" in some
    assert AT.year_before("2018-19") == "2017-18"
