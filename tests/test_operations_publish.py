"""The tables of the "Operations" chapter (cpdeval.analysis.operations_publish): shaping (joins, rows, status
columns), headers and notes, and disclosure control, on small hand-made tables with known answers."""

from __future__ import annotations

import polars as pl
import pytest

from conftest import published_rows

from cpdeval.analysis import operations_publish as OP

T = 5


pytestmark = pytest.mark.usefixtures("no_links")
rows = published_rows


# -- partnerships ---------------------------------------------------------------------------------------------

def _ptargets():
    recs = []
    for year, pid, name, units, target, parts, schools in (
            ("2017-18", "P02", "Second", 120.5, None, 40, 3),
            ("2017-18", "P01", "First", 300.0, 250.0, 90, 12),
            ("2016-17", "P01", "First", 200.0, 250.0, 70, 10)):
        recs += [
            {"financial_year": year, "partnership_id": pid, "partnership_name": name, "metric": "units",
             "reached": units, "target": target, "pct_of_target": 100 * units / target if target else None,
             "met": units >= target if target else None},
            {"financial_year": year, "partnership_id": pid, "partnership_name": name, "metric": "participants",
             "reached": float(parts), "target": None, "pct_of_target": None, "met": None},
            {"financial_year": year, "partnership_id": pid, "partnership_name": name, "metric": "schools",
             "reached": float(schools), "target": None, "pct_of_target": None, "met": None},
        ]
    return pl.DataFrame(recs)


def test_partnership_wide_one_row_per_partnership():
    w = OP.partnership_wide(_ptargets(), "2017-18")
    assert w.columns == ["partnership_id", "partnership_name", "units", "units_target", "units_pct",
                         "participants", "schools", "t_status", "units_met"]
    assert w.select("partnership_id", "units", "units_target", "participants", "schools", "t_status").rows() == [
        ("P01", 300.0, 250.0, 90.0, 12.0, "ok"), ("P02", 120.5, None, 40.0, 3.0, "z")]
    assert w["units_pct"].to_list() == [120.0, None]


def test_partnerships_published():
    t = OP.publish_partnerships(_ptargets(), "2017-18", threshold=T)
    assert t.headers == ["Partnership", "Name", "Units", "Units target", "% of target", "Met", "Participants",
                         "Schools"]
    # units in full (121, rounded half away from zero); 3 schools suppressed; z where no target was set
    assert rows(t) == [("P01", "First", "300", "250", "120%", "met", "90", "12"),
                       ("P02", "Second", "121", "z", "z", "no target", "40", "c")]
    # a target missed by less than half a percent shows as 100%: the Met column says it was not met
    near = _ptargets().with_columns(pl.when((pl.col("partnership_id") == "P01") & (pl.col("metric") == "units"))
                                    .then(pl.col("target") * 0.996).otherwise(pl.col("reached")).alias("reached"))
    near = near.with_columns((100 * pl.col("reached") / pl.col("target")).alias("pct_of_target"),
                             (pl.col("reached") >= pl.col("target")).alias("met"))
    assert rows(OP.publish_partnerships(near, "2017-18", threshold=T))[0][4:6] == ("100%", "not met")
    assert t.notes[0].startswith("Units are a volume of CPD and are shown in full.")


# -- practitioner-led -----------------------------------------------------------------------------------------

LED = pl.DataFrame({
    "financial_year": ["2017-18"] * 7 + ["2016-17"],
    "scope_type": ["all", "provider", "provider", "provider", "partnership", "partnership", "partnership",
                   "partnership"],
    "scope": ["all", "national", "other", "regional", "P01", "P02", "P03", "P01"],
    "label": ["All delivery", "National centre", "Other providers", "Regional partnerships", "First", "Second",
              "Third", "First"],
    "attendances_known": [200, 80, 20, 100, 60, 37, 3, 50],
    "units_known": [400.0, 160.0, 40.0, 200.0, 120.0, 74.0, 6.0, 100.0],
    "units_led": [60.0, 0.0, 0.0, 60.0, 30.0, 27.0, 3.0, 10.0],
    "pct_units_led": [15.0, 0.0, 0.0, 30.0, 25.0, 36.486, 50.0, 10.0],
})


def test_led_partnerships_quotable_lowest_first():
    lp = OP.led_partnerships(LED, "2017-18", threshold=T)
    # P03 rests on 3 bookings: left out; the 2016-17 row too
    assert lp["scope"].to_list() == ["P01", "P02"]


def test_practitioner_rows_share_status():
    r = OP.practitioner_rows(LED, "2017-18", threshold=T)
    assert r.height == 7
    assert r["share_status"].to_list() == ["ok"] * 6 + ["c"]


def test_practitioner_published():
    t = OP.publish_practitioner(LED, "2017-18", threshold=T)
    assert t.headers == ["Provider or partnership", "Bookings with leader recorded", "Units",
                         "Practitioner-led units", "Practitioner-led share"]
    assert rows(t)[0] == ("All delivery", "200", "400", "60", "15%")
    # 3 bookings for the third partnership: its count and share are suppressed, and one more partnership's
    # count with it (the partnerships add up to the regional partnerships); units stay in full
    third = rows(t)[6]
    assert third == ("Third", "c", "6", "3", "c")
    assert [r[1] for r in rows(t)[4:6]].count("c") == 1
    assert t.notes[0].startswith("Share of units on activities whose leader is recorded")


# -- funnel ---------------------------------------------------------------------------------------------------

FUNNEL = pl.DataFrame({
    "financial_year": ["2017-18"] * 3 + ["2016-17"],
    "activity_type": ["course", "conference", "all", "all"],
    "label": ["Course", "Conference", "All activities", "All activities"],
    "booked": [100, 20, 120, 80],
    "attended": [80, 16, 96, 60],
    "cancelled": [15, 3, 18, 10],
    "no_show": [5, 1, 6, 10],
    "not_cancelled": [85, 17, 102, 70],
    "pct_attended": [80.0, 80.0, 80.0, 75.0],
    "pct_cancelled": [15.0, 15.0, 15.0, 12.5],
    "pct_no_show": [5.0, 5.0, 5.0, 12.5],
    "pct_no_show_of_expected": [5 / 85 * 100, 1 / 17 * 100, 6 / 102 * 100, 10 / 70 * 100],
})


def test_funnel_published_for_the_year():
    t = OP.publish_funnel(FUNNEL, "2017-18", threshold=T)
    assert t.headers == ["Activity type", "Booked", "Attended", "Cancelled", "No-show", "% attended",
                         "% cancelled", "No-show rate"]
    assert [r[0] for r in rows(t)] == ["Course", "Conference", "All activities"]
    # 3 cancelled and 1 no-show at the conference are suppressed; with its booked and attended published they
    # would add up to 4 (both below the threshold), so the whole row goes, and the column totals then take the
    # course row with it; the all-activities row keeps what no longer gives a small count away
    assert rows(t) == [("Course",) + ("c",) * 7, ("Conference",) + ("c",) * 7,
                       ("All activities", "120", "96", "c", "c", "80%", "c", "c")]
    assert t.notes == ("Shares of all bookings; the no-show rate is of bookings not cancelled (attended or "
                       "no-show).",)


def test_funnel_years_all_activities_only():
    t = OP.publish_funnel_years(FUNNEL, threshold=T)
    assert t.headers == ["Year", "Booked", "% attended", "% cancelled", "% no-show"]
    assert rows(t) == [("2017-18", "120", "80%", "15%", "5%"), ("2016-17", "80", "75%", "13%", "13%")]


# -- trained leaders ------------------------------------------------------------------------------------------

LEADERS = pl.DataFrame({
    "question": ["delivered_where"] * 3 + ["delivered_any"],
    "option": ["own_school", "network", "none", "yes"],
    "label": ["In my own school", "Within the network's programme", "Nowhere", "Delivered any CPD"],
    "ticked": [20, 4, 6, 30],
    "respondents": [40, 40, 40, 36],
    "pct": [50.0, 10.0, 15.0, 30 / 36 * 100],
})


def test_leader_share():
    opts = LEADERS.filter(pl.col("question") == "delivered_where")
    assert OP.leader_share(opts, "own_school", 40, threshold=T) == "half (50%)"
    assert OP.leader_share(opts, "network", 40, threshold=T) == "fewer than 5"
    assert OP.leader_share(opts, "intend_not_yet", 40, threshold=T) == "fewer than 5"


def test_leaders_published():
    t = OP.publish_leaders(LEADERS, threshold=T)
    assert t.headers == ["Answer", "Respondents", "Share", "Base"]
    assert rows(t) == [("In my own school", "20", "50%", "40"), ("Within the network's programme", "c", "c", "40"),
                       ("Nowhere", "6", "15%", "40"), ("Delivered any CPD", "30", "83%", "36")]
    assert t.notes[0].startswith("Several answers were allowed")
