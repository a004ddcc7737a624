"""Known answers for the attainment groups: window metrics and group membership on hand-built engagement,
partnership, training, interview and registration records, reproducing the definitions of seed 001 (none,
at least one course, four or more, four or more regularly over two years, 2-10 staff) and seed 000 (lead
schools, schools with trained leaders), quartile bands and the strategic-use score."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from cpdeval.attainment_groups import (group_counts, group_membership, parse_group_rules, quartile_band,
                                       quartile_cuts, window_dates, window_metrics)
from cpdeval.config import load_yaml
from cpdeval.errors import ConfigError

WINDOW = ["2016-17", "2017-18", "2018-19"]
RULES = parse_group_rules(load_yaml("config/attainment_groups.yaml")["groups"])


def eng(rows):
    """Engagements: (school_key, participant, activity, financial_year, provider[, units])."""
    out = []
    for r in rows:
        key, person, act, fy, prov, *units = r
        out.append({"school_key": key, "participant_id": person, "activity_id": act, "financial_year": fy,
                    "provider": prov, "units": float(units[0]) if units else 1.0})
    return pl.DataFrame(out, schema={"school_key": pl.Int64, "participant_id": pl.Utf8, "activity_id": pl.Utf8,
                                     "financial_year": pl.Utf8, "provider": pl.Utf8, "units": pl.Float64})


# school 1: no engagement; 2: one course; 3: four courses in one year by one person; 4: four courses over two
# years by three people; 5: four courses, 12 people; 6: five courses but only before the window; 7: four
# courses from an "other" provider only; 8: the same course four times (one distinct course)
ENGAGEMENTS = eng([
    (2, "a", "C1", "2017-18", "regional"),
    *[(3, "b", f"C{i}", "2018-19", "national") for i in range(1, 5)],
    (4, "c", "C1", "2016-17", "regional"), (4, "d", "C2", "2016-17", "regional"),
    (4, "e", "C3", "2018-19", "national"), (4, "c", "C4", "2018-19", "regional"),
    *[(5, f"p{i}", f"C{i % 4}", "2017-18", "regional") for i in range(12)],
    *[(6, "f", f"C{i}", "2015-16", "national") for i in range(5)],
    *[(7, "g", f"C{i}", "2017-18", "other") for i in range(4)],
    *[(8, f"h{i}", "C9", "2018-19", "regional") for i in range(4)],
    (None, "x", "C1", "2017-18", "regional"),                       # no school: never counted
])
KEYS = list(range(1, 9))


def members(metrics, names):
    mem = group_membership(metrics, RULES, names)
    return {g: sorted(mem.filter(pl.col("group") == g)["school_key"].to_list()) for g in names}


def test_window_dates_cover_the_financial_years():
    assert window_dates(WINDOW) == (dt.date(2016, 4, 1), dt.date(2019, 3, 31))


def test_window_metrics_known_answer():
    m = window_metrics(KEYS, ENGAGEMENTS, WINDOW)
    got = {r["school_key"]: r for r in m.iter_rows(named=True)}
    assert [got[k]["courses"] for k in KEYS] == [0, 1, 4, 4, 4, 0, 0, 1]
    assert [got[k]["attendances"] for k in KEYS] == [0, 1, 4, 4, 12, 0, 0, 4]
    assert [got[k]["participants"] for k in KEYS] == [0, 1, 1, 3, 12, 0, 0, 4]
    assert [got[k]["years_active"] for k in KEYS] == [0, 1, 1, 2, 1, 0, 0, 1]
    assert got[4]["units_national"] == 1.0 and got[4]["units_regional"] == 3.0
    assert got[1]["strategic_score"] is None and got[1]["partnership_lead"] is False


def test_seed_001_nested_groups_exactly():
    m = window_metrics(KEYS, ENGAGEMENTS, WINDOW)
    got = members(m, ["none", "any_course", "four_courses", "four_regular", "staff_2_10"])
    assert got == {"none": [1, 6, 7], "any_course": [2, 3, 4, 5, 8], "four_courses": [3, 4, 5],
                   "four_regular": [4], "staff_2_10": [4]}
    # nested, as in the report: each group lies inside the one before
    assert set(got["four_regular"]) <= set(got["four_courses"]) <= set(got["any_course"])
    counts = group_counts(group_membership(m, RULES), RULES, "ks4")
    n = dict(zip(counts["group"], counts["n_schools"]))
    assert (n["none"], n["any_course"], n["four_courses"], n["four_regular"], n["staff_2_10"]) == (3, 5, 3, 1, 1)
    assert set(counts["group"]) == set(RULES)


def test_providers_count_only_when_configured():
    m = window_metrics(KEYS, ENGAGEMENTS, WINDOW, providers=["national", "regional", "other"])
    assert members(m, ["four_courses"])["four_courses"] == [3, 4, 5, 7]


def test_partnership_leads_are_time_varying_and_follow_the_lineage():
    partnerships = pl.DataFrame({
        "partnership_id": ["P01", "P02", "P03", "P04"],
        "lead_urn": [900002, 900003, 900004, None],
        "lead_from": [dt.date(2013, 9, 1), dt.date(2019, 4, 1), dt.date(2012, 9, 1), dt.date(2013, 9, 1)],
        "lead_to": [None, None, dt.date(2016, 3, 31), None]})
    lineage = pl.DataFrame({"urn": [900002, 900003, 900004], "school_key": [2, 3, 4]})
    m = window_metrics(KEYS, ENGAGEMENTS, WINDOW, lineage=lineage, partnerships=partnerships)
    # 2 leads throughout; 3 starts after the window; 4 stopped before it: only 2 is a lead for 2018-19
    assert members(m, ["partnership_lead", "other_users_not_lead"]) == {
        "partnership_lead": [2], "other_users_not_lead": [3, 4, 5, 8]}
    # for an earlier outcome year (window FY 2013-14 to 2015-16) school 4 was a lead
    early = window_metrics(KEYS, ENGAGEMENTS, ["2013-14", "2014-15", "2015-16"], lineage=lineage,
                           partnerships=partnerships)
    assert members(early, ["partnership_lead"])["partnership_lead"] == [2, 4]


def test_trained_leaders_registrations_and_strategic_score():
    trained = pl.DataFrame({"participant_id": ["a", "b"], "urn": [2, 3],
                            "completed_on": [dt.date(2018, 6, 1), dt.date(2019, 5, 1)]})
    regs = pl.DataFrame({"urn": [1, 2, 6], "registered_on": [dt.date(2010, 1, 1), dt.date(2017, 1, 1),
                                                            dt.date(2020, 1, 1)]})
    judg = pl.DataFrame({"urn": [2, 3, 4, 4], "interviewed_on": [dt.date(2018, 11, 1)] * 3 + [dt.date(2019, 2, 1)],
                         "planning": [1, 2, 1, 3], "embedding": [2, 2, 1, 3], "evaluating": [2, 2, 1, 3]})
    m = window_metrics(KEYS, ENGAGEMENTS, WINDOW, trained_leaders=trained, registrations=regs, judgements=judg)
    score = dict(zip(m["school_key"], m["strategic_score"]))
    assert (score[2], score[3], score[4], score[1]) == (5, 6, 9, None)    # school 4: its latest interview
    got = members(m, ["trained_leader", "strategic", "other_interviewed", "cpd_and_resources", "cpd_only",
                      "resources_only", "neither"])
    assert got == {"trained_leader": [2], "strategic": [2], "other_interviewed": [3, 4],
                   "cpd_and_resources": [2], "cpd_only": [3, 4, 5, 8], "resources_only": [1], "neither": [6, 7]}


def test_quartile_bands_put_ties_on_a_cut_in_the_lower_band():
    vals = np.array([1, 3, 4, 5, 8], dtype=float)
    cuts = quartile_cuts(vals)
    assert list(cuts) == [3.0, 4.0, 5.0]
    assert list(quartile_band(vals, cuts)) == [1, 1, 2, 3, 4]
    m = window_metrics(KEYS, ENGAGEMENTS, WINDOW)
    # users' attendances: 2 -> 1, 3 -> 4, 4 -> 4, 5 -> 12, 8 -> 4; cuts 4, 4, 4
    assert members(m, ["att_q1", "att_q2", "att_q3", "att_q4"]) == {
        "att_q1": [2, 3, 4, 8], "att_q2": [], "att_q3": [], "att_q4": [5]}


@pytest.mark.parametrize("spec, message", [
    ({"g": {"where": {"course": {"min": 1}}}}, "unknown metric"),
    ({"g": {"where": {"courses": {"atleast": 1}}}}, "operators"),
    ({"g": {"where": {"partnership_lead": 1}}}, "true or false"),
    ({"g": {"where": {"courses": {"min": "four"}}}}, "expected a number"),
    ({"g": {"quartile": 5, "of": "attendances", "among": "g"}}, "1, 2, 3 or 4"),
    ({"g": {"quartile": 1, "of": "attendances", "among": "h"}}, "no group named 'h'"),
    ({"g": {"label": "G"}}, "at least one condition"),
    ({"g": {"where": {"courses": {"min": 1}}, "colour": "red"}}, "unknown key"),
])
def test_bad_group_rules_name_the_group_and_key(spec, message):
    with pytest.raises(ConfigError, match=message) as err:
        parse_group_rules(spec)
    assert "attainment.groups.g" in str(err.value)


def test_a_comparison_naming_an_undefined_group_stops():
    with pytest.raises(ConfigError, match="does not define"):
        group_membership(window_metrics(KEYS, ENGAGEMENTS, WINDOW), RULES, ["no_such_group"])
